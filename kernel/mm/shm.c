// SPDX-License-Identifier: MIT
/*
 * Shared memory objects on dump: shared anonymous memory, SysV segments,
 * memfds and tmpfs files mapped shared (restore: restore/shm.c).
 *
 * The page tables of the live processes are not enough: a child that wrote
 * into shared memory and exited leaves pages that no process maps yet
 * (PostgreSQL's shared buffers).  So each object is stored whole, read from
 * the object itself: vma_collect() opened it through /proc/PID/map_files,
 * and here SEEK_DATA/SEEK_HOLE find every page it holds.  Only pages found
 * that way are read: this kernel has no shared zero page, and reading a
 * hole of a mapping would allocate it (reading a hole of the file with
 * pread() does not, but is never done either).
 */
#define LOG_PREFIX "shm: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/dump_pages.h"
#include "mm/shm.h"
#include "mm/swaparea.h"

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif

/* Read [@off, @off + @len) of the object into @buf; zeros past its end. */
static int shm_read(const struct vma_shm_obj *o, uint8_t *buf, uint64_t off, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(o->fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ct_err(-errno, "pid %d: shared memory object %#x: cannot read at %llu: %m",
				      o->pid, o->key, (unsigned long long)(off + got));
		if (n == 0)
			break;		/* past the end: the rest of the page reads as zero */
		got += (size_t)n;
	}
	memset(buf + got, 0, len - got);
	return 0;
}

/* A walk over the data of one object, calling @fn for each page-aligned run [start, end). */
struct shm_walk {
	struct dump_pages *dp;
	const struct vma_shm_obj *o;
	uint64_t nr_pages;		/* pages of the runs seen so far */
	int (*fn)(struct shm_walk *w, uint64_t start, uint64_t end);
};

/* Walk every run of pages the object holds below @size, found with SEEK_DATA/SEEK_HOLE. */
static int shm_walk_data(struct shm_walk *w, uint64_t size)
{
	const struct vma_shm_obj *o = w->o;
	uint64_t pos = 0, end = PAGE_ALIGN(size), run_end;
	int ret;

	w->nr_pages = 0;
	while (pos < end) {
		off_t data = lseek(o->fd, (off_t)pos, SEEK_DATA), hole = 0;

		if (data < 0 && errno == ENXIO)
			break;		/* no data from pos on */
		if (data >= 0)
			hole = lseek(o->fd, data, SEEK_HOLE);
		if (data < 0 || hole < 0)
			return ct_err(-errno, "pid %d: shared memory object %#x: cannot find its pages: %m",
				      o->pid, o->key);
		pos = (uint64_t)data & ~(PAGE_SIZE - 1);
		if (pos >= end)
			break;
		run_end = min_t(uint64_t, PAGE_ALIGN((uint64_t)hole), end);
		ret = w->fn ? w->fn(w, pos, run_end) : 0;
		if (ret)
			return ret;
		w->nr_pages += (run_end - pos) / PAGE_SIZE;
		pos = run_end;
	}
	return 0;
}

/* Push the pages of [@start, @end) of the object (a shm_walk callback). */
static int shm_push_range(struct shm_walk *w, uint64_t start, uint64_t end)
{
	struct dump_pages *dp = w->dp;
	int ret = 0;

	for (uint64_t off = start; off < end && !ret; off += DUMP_PAGES_BATCH) {
		size_t len = min_t(uint64_t, DUMP_PAGES_BATCH, end - off);

		ret = shm_read(w->o, dp->buf, off, len) ?:
		      swp_put_pages(dp->w, w->o->key, 0, off, dp->buf, len / PAGE_SIZE);
		dp->pages_done += len / PAGE_SIZE;
		dp->pages_read += len / PAGE_SIZE;
		if (!ret && dp->batch_done)
			ret = dp->batch_done(dp, dp->arg);
	}
	return ret;
}

/* The object's size now; refuses an object too large to describe. */
static int shm_size(const struct vma_shm_obj *o, uint64_t *size)
{
	struct stat st;

	if (fstat(o->fd, &st) < 0)
		return ct_err(-errno, "pid %d: shared memory object %#x: cannot stat: %m", o->pid,
			      o->key);
	if ((uint64_t)st.st_size > CT_SHM_MAX_SIZE)
		return ct_err(-EFBIG, "pid %d: shared memory object %#x: %lld bytes is too large",
			      o->pid, o->key, (long long)st.st_size);
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Count the pages every object of @shm holds (what shm_dump_objects will push). */
int shm_count_pages(const struct vma_shm_table *shm, uint64_t *nr_pages)
{
	int ret = 0;

	*nr_pages = 0;
	for (size_t i = 0; i < shm->nr && !ret; i++) {
		struct shm_walk w = { .o = &shm->objs[i] };
		uint64_t size;

		ret = shm_size(w.o, &size) ?: shm_walk_data(&w, size);
		*nr_pages += w.nr_pages;
	}
	return ret;
}

/* The image record of object @o, @nr_pages stored. */
static int shm_record(struct ct_image *img, const struct vma_shm_obj *o, uint64_t size,
		      uint64_t nr_pages)
{
	struct ct_shm *rec, *grown;
	int seals = 0;

	/* every segment of an own namespace was listed first (shm_dump_sysv) */
	if (o->kind == CT_SHM_SYSV && !o->sysv_flags && (img->shape.flags & CT_SHAPE_OWN_IPC))
		return ct_err(-EOPNOTSUPP, "pid %d: SysV segment %s of another IPC namespace mapped: not supported",
			      o->pid, o->path ? o->path : "?");

	if (o->kind == CT_SHM_MEMFD) {
		seals = fcntl(o->fd, F_GET_SEALS);
		if (seals < 0)
			return ct_err(-errno, "pid %d: memfd %s: cannot read its seals: %m", o->pid,
				      o->path);
	}
	grown = xrealloc(img->shm, sizeof(*img->shm) * (img->nr_shm + 1));
	if (!grown)
		return -ENOMEM;
	img->shm = grown;
	rec = &img->shm[img->nr_shm];
	*rec = (struct ct_shm){
		.key = o->key, .kind = o->kind, .size = size, .seals = (uint32_t)seals,
		.mode = o->mode, .uid = o->uid, .gid = o->gid, .nr_pages = nr_pages,
		.sysv_key = o->sysv_key, .sysv_id = o->sysv_id, .sysv_flags = o->sysv_flags,
	};
	if (o->path) {
		rec->path = xstrdup(o->path);
		if (!rec->path)
			return -ENOMEM;
	}
	img->nr_shm++;
	return 0;
}

/* Store every shared memory object of @dp->shm whole and describe it in @img. */
int shm_dump_objects(struct dump_pages *dp, struct ct_image *img)
{
	uint64_t total = 0;
	int ret = 0;

	/* the tasks are stopped: sizes and contents cannot change under us */
	for (size_t i = 0; i < dp->shm->nr && !ret; i++) {
		struct shm_walk w = { .dp = dp, .o = &dp->shm->objs[i], .fn = shm_push_range };
		uint64_t size;

		ret = shm_size(w.o, &size) ?: shm_walk_data(&w, size) ?:
		      shm_record(img, w.o, size, w.nr_pages);
		total += w.nr_pages;
	}
	if (!ret && dp->shm->nr)
		pr_info("%zu shared memory objects, %llu pages", dp->shm->nr,
			(unsigned long long)total);
	return ret;
}

/* ---- SysV segments of the container's own IPC namespace ---- */

/*
 * Segment @id of this thread's IPC namespace into @shm with its identity:
 * attached read-only here for a moment to open its object through
 * /proc/self/map_files (a segment no process maps has no other door), so
 * the mappings vma_collect() finds later name the same object.
 */
static int shm_dump_one_sysv(struct vma_shm_table *shm, pid_t pid, int id)
{
	struct vma_shm_obj *o = NULL;
	char name[32], path[96];
	struct shmid_ds ds;
	struct stat st;
	uint32_t key;
	void *at;
	int ret;

	if (shmctl(id, IPC_STAT, &ds) < 0)
		return ct_err(-errno, "pid %d: SysV segment %d: IPC_STAT: %m", pid, id);
	at = shmat(id, NULL, SHM_RDONLY);
	if (at == (void *)-1)
		return ct_err(-errno, "pid %d: SysV segment %d: cannot attach it to read it: %m", pid, id);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)at,
		 (unsigned long)at + PAGE_ALIGN(ds.shm_segsz));
	snprintf(name, sizeof(name), "/SYSV%08x", (unsigned)ds.shm_perm.__key);
	ret = stat(path, &st) < 0 ? ct_err(-errno, "pid %d: SysV segment %d: %s: %m", pid, id, path) :
				    vma_shm_object(shm, pid, name, path, &st, &key);
	shmdt(at);
	if (ret)
		return ret;
	o = vma_shm_find(shm, key);
	o->sysv_key = ds.shm_perm.__key;
	o->sysv_id = id;
	o->sysv_flags = CT_SHM_SYSV_IDENTITY | (ds.shm_perm.mode & SHM_DEST ? CT_SHM_SYSV_DEST : 0) |
			(ds.shm_perm.mode & SHM_LOCKED ? CT_SHM_SYSV_LOCKED : 0);
	o->sysv_attached = ds.shm_nattch > 0;
	o->mode = ds.shm_perm.mode & 0777;
	o->uid = ds.shm_perm.uid;
	o->gid = ds.shm_perm.gid;
	return 0;
}

int shm_dump_sysv(struct vma_shm_table *shm, pid_t pid)
{
	char *text, *line, *save = NULL;
	int ret, key, id;

	ret = read_whole_file("/proc/sysvipc/shm", &text, NULL);
	if (ret)
		return ret == -ENOENT ? 0 : ct_err(ret, "/proc/sysvipc/shm: cannot read: %s", strerror(-ret));
	line = strtok_r(text, "\n", &save);	/* the header */
	while (!ret && (line = strtok_r(NULL, "\n", &save)))
		if (sscanf(line, "%d %d", &key, &id) == 2)
			ret = shm_dump_one_sysv(shm, pid, id);
	free(text);
	return ret;
}

bool shm_sysv_attached(const struct vma_shm_table *shm)
{
	for (size_t i = 0; i < shm->nr; i++)
		if (shm->objs[i].sysv_attached)
			return true;
	return false;
}

/* The SysV segment with identity behind key @key of @shm, NULL if none. */
static const struct vma_shm_obj *shm_sysv_of(const struct vma_shm_table *shm, uint32_t key)
{
	for (size_t i = 0; i < shm->nr; i++)
		if (shm->objs[i].key == key)
			return shm->objs[i].sysv_flags ? &shm->objs[i] : NULL;
	return NULL;
}

/* Task @t's mappings of segments with identity: whole attachments, made again by shmat. */
static int shm_check_task_sysv(const struct ct_task *t, const struct vma_shm_table *shm)
{
	const struct ct_mm *mm = &t->mm;

	for (uint32_t i = 0; i < mm->nr_vmas; i++) {
		const struct ct_vma *v = &mm->vmas[i];
		const struct vma_shm_obj *o = v->kind == CT_VMA_SHMEM ? shm_sysv_of(shm, v->shm_key) : NULL;
		uint32_t j = i;

		if (!o)
			continue;
		/* the parts of one attachment follow each other, offsets running on */
		while (v->pgoff == 0 && j + 1 < mm->nr_vmas && mm->vmas[j + 1].shm_key == v->shm_key &&
		       mm->vmas[j + 1].kind == CT_VMA_SHMEM && mm->vmas[j + 1].start == mm->vmas[j].end &&
		       mm->vmas[j + 1].pgoff == mm->vmas[j + 1].start - v->start)
			j++;
		if (v->pgoff || mm->vmas[j].end != v->start + PAGE_ALIGN(o->size))
			return ct_err(-EOPNOTSUPP, "pid %d: SysV segment %d partly unmapped or moved at %#llx: not supported",
				      t->pid, o->sysv_id, (unsigned long long)v->start);
		i = j;
	}
	return 0;
}

int shm_check_sysv(const struct ct_image *img, const struct vma_shm_table *shm)
{
	int ret = 0;

	for (uint32_t i = 0; i < img->nr_tasks && !ret; i++)
		ret = shm_check_task_sysv(&img->tasks[i], shm);
	return ret;
}
