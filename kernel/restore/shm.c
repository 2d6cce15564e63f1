// SPDX-License-Identifier: MIT
/*
 * Shared memory on restore: shared anonymous mappings, SysV segments and
 * memfds.  The dump stored each object once, under its own swap-area key
 * (CT_SHM_KEY_BASE + n, mapping 0, address = offset in the object).  Here
 * every object becomes one memfd, created and filled by the restorer and
 * handed to the tasks with the other transport fds, so every process that
 * mapped the object maps the same pages again.
 *
 * The contents are filled before the tasks run (not lazily): userfaultfd
 * on shared memory would need one registration per mapping process, and
 * shared objects are small next to private memory.  A SysV segment comes
 * back as a memfd mapping: its pages and sharing are restored, its SysV
 * identity (shmget key, shmid) is not.
 */
#define LOG_PREFIX "restore: shm: "
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/swaparea.h"
#include "restore/rst.h"

#define SHM_CHUNK 256	/* pages per swap-area read */

/* The object with @key in @set, NULL if none. */
static struct rst_shm *shm_find(struct rst_shm_set *set, uint32_t key)
{
	for (size_t i = 0; i < set->nr; i++)
		if (set->objs[i].key == key)
			return &set->objs[i];
	return NULL;
}

/* Collect every shared object the image maps and the size it must have. */
static int shm_collect(struct rst_shm_set *set, const struct ct_image *img)
{
	size_t cap = 0;

	for (uint32_t i = 0; i < img->nr_tasks; i++) {
		const struct ct_mm *mm = &img->tasks[i].mm;

		for (uint32_t k = 0; k < mm->nr_vmas; k++) {
			const struct ct_vma *v = &mm->vmas[k];
			uint64_t end = v->pgoff + (v->end - v->start);
			struct rst_shm *o;

			if (v->kind != CT_VMA_SHMEM)
				continue;
			o = shm_find(set, v->shm_key);
			if (!o) {
				if (xgrow(&set->objs, &cap, set->nr + 1, sizeof(*set->objs)))
					return -ENOMEM;
				o = &set->objs[set->nr++];
				*o = (struct rst_shm){ .key = v->shm_key, .fd = -1, .task_fd = -1 };
			}
			o->size = max_t(uint64_t, o->size, end);
		}
	}
	return 0;
}

/* Copy the object's stored pages from the swap area into its memfd. */
static int shm_fill(struct rst_shm *o, struct swp_gen_reader *rd)
{
	uint8_t state[SHM_CHUNK];
	char *buf;
	int ret = 0;

	buf = xmalloc(SHM_CHUNK * PAGE_SIZE);
	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < o->size && !ret; off += SHM_CHUNK * PAGE_SIZE) {
		size_t nr = min_t(uint64_t, SHM_CHUNK, (o->size - off) / PAGE_SIZE);

		ret = swp_read(rd, o->key, off, nr, buf, state);
		for (size_t i = 0; i < nr && !ret; i++) {
			/* the memfd reads zero where nothing is written */
			if (state[i] != SWP_PAGE_DATA)
				continue;
			ret = pwrite_all(o->fd, buf + i * PAGE_SIZE, PAGE_SIZE, off + i * PAGE_SIZE);
			if (ret)
				ct_err(ret, "shared memory object %#x: cannot fill: %s", o->key,
				       strerror(-ret));
		}
	}
	free(buf);
	return ret;
}

/* Create and fill one memfd per shared object of @img. */
int rst_shm_open(struct rst_shm_set *set, const struct ct_image *img, struct swp_gen_reader *rd)
{
	int ret;

	memset(set, 0, sizeof(*set));
	ret = shm_collect(set, img);
	for (size_t i = 0; i < set->nr && !ret; i++) {
		struct rst_shm *o = &set->objs[i];

		o->fd = memfd_create("ctswap-shm", MFD_CLOEXEC);
		if (o->fd < 0)
			return ct_err(-errno, "shared memory object %#x: memfd_create: %m", o->key);
		if (ftruncate(o->fd, o->size) < 0)
			return ct_err(-errno, "shared memory object %#x: cannot size it to %llu bytes: %m",
				      o->key, (unsigned long long)o->size);
		ret = shm_fill(o, rd);
	}
	if (!ret && set->nr)
		pr_info("%zu shared memory objects filled", set->nr);
	return ret;
}

/* Close the restorer's memfds (the tasks' mappings keep the memory). */
void rst_shm_close(struct rst_shm_set *set)
{
	for (size_t i = 0; i < set->nr; i++)
		if (set->objs[i].fd >= 0)
			close(set->objs[i].fd);
	free(set->objs);
	memset(set, 0, sizeof(*set));
}

/* The task-side fd of object @key, -1 if unknown. */
int rst_shm_task_fd(const struct rst_shm_set *set, uint32_t key)
{
	for (size_t i = 0; set && i < set->nr; i++)
		if (set->objs[i].key == key)
			return set->objs[i].task_fd;
	return -1;
}
