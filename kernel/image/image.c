// SPDX-License-Identifier: MIT
/* Lifetime helpers of the in-memory checkpoint image. */
#include <stdlib.h>

#include "image/image.h"

/* Free one task's arrays. */
static void task_free(struct ct_task *t)
{
	for (uint32_t i = 0; i < t->nr_threads; i++) {
		free(t->threads[i].xstate);
		free(t->threads[i].pending);
		free(t->threads[i].seccomp);
	}
	free(t->threads);
	for (uint32_t i = 0; i < t->mm.nr_vmas; i++)
		free(t->mm.vmas[i].path);
	free(t->mm.vmas);
	free(t->mm.auxv);
	free(t->mm.exe_path);
	free(t->fds);
	free(t->shared_pending);
	free(t->creds.groups);
	free(t->cwd);
	free(t->root);
	free(t->timers);
}

/* Free what one open file description record holds (not the record). */
void image_file_free(struct ct_file *f)
{
	const struct ct_file_format *k = ct_file_format_of(f->kind);

	free(f->path);
	if (k && k->free)
		k->free(f);
}

/* Free the whole image. */
void image_mount_free(struct ct_mount *m)
{
	free(m->mountpoint);
	free(m->fstype);
	free(m->source);
	free(m->data);
	free(m->root);
	free(m->ext_id);
	free(m->host_path);
}

void image_free(struct ct_image *img)
{
	if (!img)
		return;
	for (uint32_t i = 0; i < img->nr_tasks; i++)
		task_free(&img->tasks[i]);
	free(img->tasks);
	for (uint32_t i = 0; i < img->nr_files; i++)
		image_file_free(&img->files[i]);
	free(img->files);
	for (uint32_t i = 0; i < img->nr_seccomp; i++)
		free(img->seccomp[i].insns);
	free(img->seccomp);
	for (uint32_t i = 0; i < img->nr_shm; i++)
		free(img->shm[i].path);
	free(img->shm);
	for (uint32_t i = 0; i < img->nr_ipc; i++)
		free(img->ipc[i].data);
	free(img->ipc);
	for (uint32_t i = 0; i < img->nr_mqueues; i++) {
		free(img->mqueues[i].name);
		free(img->mqueues[i].data);
	}
	free(img->mqueues);
	for (int i = 0; i < CT_IPC_NR_LIMITS; i++)
		free(img->ipc_limits[i]);
	for (uint32_t i = 0; i < img->nr_cgroups; i++) {
		free(img->cgroups[i].path);
		free(img->cgroups[i].members);
	}
	free(img->cgroups);
	free(img->zombies);
	free(img->locks);
	for (uint32_t i = 0; i < img->nr_deleted; i++)
		free(img->deleted[i].path);
	free(img->deleted);
	for (uint32_t i = 0; i < img->nr_mounts; i++)
		image_mount_free(&img->mounts[i]);
	free(img->mounts);
	for (uint32_t i = 0; i < img->nr_tmpfs; i++) {
		free(img->tmpfs[i].path);
		free(img->tmpfs[i].data);
	}
	free(img->tmpfs);
	free(img);
}

/* Find a task by in-container pid. */
struct ct_task *image_find_task(const struct ct_image *img, pid_t pid)
{
	for (uint32_t i = 0; i < img->nr_tasks; i++)
		if (img->tasks[i].pid == pid)
			return &img->tasks[i];
	return NULL;
}

/* Find a shared memory object by its swap-area key. */
struct ct_shm *image_find_shm(const struct ct_image *img, uint32_t key)
{
	for (uint32_t i = 0; i < img->nr_shm; i++)
		if (img->shm[i].key == key)
			return &img->shm[i];
	return NULL;
}
