// SPDX-License-Identifier: MIT
/* ctswap_ckpt_read(): what a checkpoint's metadata blob holds, for inspect. */
#define LOG_PREFIX "ckpt: "
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "container/store.h"
#include "ctswap.h"
#include "image/blob.h"
#include "lib/log.h"
#include "lib/util.h"

/* The name of a vma kind as inspect shows it. */
static const char *ckpt_kind_name(uint32_t kind)
{
	static const char *names[] = {
		[CT_VMA_ANON] = "anon", [CT_VMA_FILE_PRIVATE] = "file",
		[CT_VMA_FILE_SHARED] = "file-shared", [CT_VMA_SHMEM] = "shmem",
		[CT_VMA_VDSO] = "vdso", [CT_VMA_VVAR] = "vvar",
		[CT_VMA_VVAR_VCLOCK] = "vvar_vclock", [CT_VMA_VSYSCALL] = "vsyscall",
	};

	return kind < ARRAY_SIZE(names) && names[kind] ? names[kind] : "?";
}

/* Fill the public view of one task. */
static int ckpt_fill_task(struct ctswap_ckpt_task *out, const struct ct_task *t)
{
	struct ctswap_ckpt_vma *vmas;
	pid_t *tids;

	out->pid = t->pid;
	out->ppid = t->ppid;
	out->pgid = t->pgid;
	out->sid = t->sid;
	memcpy(out->comm, t->comm, sizeof(out->comm));
	out->comm[sizeof(out->comm) - 1] = '\0';
	out->nr_fds = t->nr_fds;
	tids = xzalloc(sizeof(*tids) * (t->nr_threads + 1));
	vmas = xzalloc(sizeof(*vmas) * (t->mm.nr_vmas + 1));
	if (!tids || !vmas) {
		free(tids);
		free(vmas);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < t->nr_threads; i++)
		tids[i] = t->threads[i].tid;
	for (uint32_t i = 0; i < t->mm.nr_vmas; i++) {
		const struct ct_vma *v = &t->mm.vmas[i];

		vmas[i].start = v->start;
		vmas[i].end = v->end;
		vmas[i].prot = v->prot;
		vmas[i].kind = ckpt_kind_name(v->kind);
		vmas[i].pages = v->nr_pages;
		vmas[i].path = v->path;
		/* anonymous mappings carry no path in the image: name the two /proc names */
		if (v->kind == CT_VMA_ANON && v->start >= t->mm.start_brk && v->end <= t->mm.brk &&
		    t->mm.brk > t->mm.start_brk)
			vmas[i].path = "[heap]";
		else if (v->kind == CT_VMA_ANON && v->start <= t->mm.start_stack &&
			 t->mm.start_stack < v->end)
			vmas[i].path = "[stack]";
	}
	out->nr_threads = t->nr_threads;
	out->tids = tids;
	out->nr_vmas = t->mm.nr_vmas;
	out->vmas = vmas;
	return 0;
}

/* The mount tree of @img (its strings stay in @img, freed with it). */
static int ckpt_fill_mounts(struct ctswap_ckpt *c, const struct ct_image *img)
{
	static const char *const kinds[CT_MNT_KNOWN] = {
		[CT_MNT_ROOT] = "root", [CT_MNT_EXTERNAL] = "external", [CT_MNT_BIND] = "bind",
		[CT_MNT_PROC] = "proc", [CT_MNT_SYSFS] = "sysfs", [CT_MNT_DEVPTS] = "devpts",
		[CT_MNT_MQUEUE] = "mqueue", [CT_MNT_TMPFS] = "tmpfs",
	};

	if (!img->nr_mounts)
		return 0;
	c->mounts = xzalloc(sizeof(*c->mounts) * img->nr_mounts);
	if (!c->mounts)
		return -ENOMEM;
	for (uint32_t i = 0; i < img->nr_mounts; i++) {
		const struct ct_mount *m = &img->mounts[i];
		struct ctswap_ckpt_mount *o = &c->mounts[i];

		*o = (struct ctswap_ckpt_mount) { .mountpoint = m->mountpoint, .fstype = m->fstype,
						  .kind = kinds[m->kind], .ext_id = m->ext_id,
						  .host_path = m->host_path };
		for (uint32_t k = 0; k < img->nr_tmpfs; k++)
			o->tmpfs_files += img->tmpfs[k].mount == i;
	}
	c->nr_mounts = img->nr_mounts;
	return 0;
}

/* Read checkpoint @gen (0: newest) of @name. */
int ctswap_ckpt_read(struct ctswap_store *store, const char *name, unsigned gen,
		     struct ctswap_ckpt **out)
{
	char dir[4096], file[64], path[4096];
	struct ctswap_ckpt *c;
	struct ct_image *img;
	struct stat st;
	int ret;

	ct_err_clear();
	ret = store_path(store, name, NULL, dir, sizeof(dir));
	if (ret)
		return ret;
	if (!gen)
		gen = store_newest_ckpt(dir);
	if (!gen)
		return ct_err(-ENOENT, "%s: no checkpoint", name);
	snprintf(file, sizeof(file), "ckpt-%u.meta", gen);
	ret = store_path(store, name, file, path, sizeof(path));
	if (ret)
		return ret;
	ret = blob_read(path, &img);
	if (ret)
		return ret;
	c = xzalloc(sizeof(*c));
	if (!c)
		goto out_nomem;
	c->priv = img;
	c->generation = img->generation;
	c->own_pidns = img->own_pidns;
	c->meta_bytes = stat(path, &st) ? 0 : (uint64_t)st.st_size;
	c->tasks = xzalloc(sizeof(*c->tasks) * (img->nr_tasks + 1));
	if (!c->tasks)
		goto out_nomem;
	for (uint32_t i = 0; i < img->nr_tasks; i++) {
		if (ckpt_fill_task(&c->tasks[i], &img->tasks[i]))
			goto out_nomem;
		c->nr_tasks++;
	}
	if (ckpt_fill_mounts(c, img))
		goto out_nomem;
	*out = c;
	return 0;
out_nomem:
	if (c)
		ctswap_ckpt_free(c);
	else
		image_free(img);
	return -ENOMEM;
}

void ctswap_ckpt_free(struct ctswap_ckpt *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nr_tasks; i++) {
		free((void *)c->tasks[i].tids);
		free((void *)c->tasks[i].vmas);
	}
	free(c->tasks);
	free(c->mounts);
	image_free(c->priv);
	free(c);
}
