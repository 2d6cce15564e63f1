// SPDX-License-Identifier: MIT
/*
 * Shared memory on restore: shared anonymous mappings, SysV segments,
 * memfds and tmpfs files mapped shared (dump: mm/shm.c).  The dump stored
 * each object whole, once, under its own swap-area key (CT_SHM_KEY_BASE +
 * n, mapping 0, address = offset in the object).  Here every object is made
 * again and filled by the restorer, and handed to the tasks with the other
 * transport fds, so every process that mapped it maps the same pages again:
 *   shared anonymous   a MAP_SHARED|MAP_ANONYMOUS object of the restorer,
 *                      reopened through /proc/self/map_files (the tasks'
 *                      maps say "/dev/zero (deleted)" as before);
 *   memfd              memfd_create() with its name, mode and seals (see
 *                      shm_seal() for when);
 *   tmpfs file         the file itself, opened (created again, with its
 *                      mode and owner, if it is gone) and put back as it
 *                      was at the dump: a tmpfs file is memory, and the
 *                      processes' state goes with its contents;
 *   deleted tmpfs file an unlinked file in the same directory (O_TMPFILE);
 *   SysV segment       in a container with its own IPC namespace (made
 *                      beforehand, this thread in it): the segment again,
 *                      same key, id, size, mode, owner, lock, made with
 *                      shmget and opened through an attachment of ours
 *                      that is gone before the tasks attach it themselves
 *                      (rst_shm_attach: nattch counts their mappings);
 *                      otherwise a memfd: pages and sharing, no identity.
 *
 * The contents are filled before the tasks run (not lazily): userfaultfd
 * on shared memory would need one registration per mapping process, and
 * every page of the object must be there, mapped by a process or not.
 */
#define LOG_PREFIX "restore: shm: "
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/swaparea.h"
#include "restore/rst.h"
#include "task/sysvipc.h"

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_WRITE 0x0008
#endif

#define SHM_CHUNK 1024	/* pages per swap-area read (4 MiB) */

/* The object with @key in @set, NULL if none. */
static struct rst_shm *shm_find(struct rst_shm_set *set, uint32_t key)
{
	for (size_t i = 0; i < set->nr; i++)
		if (set->objs[i].key == key)
			return &set->objs[i];
	return NULL;
}

/* Add an object of key @key to @set (empty, not made yet). */
static struct rst_shm *shm_add(struct rst_shm_set *set, size_t *cap, uint32_t key)
{
	struct rst_shm *o;

	if (xgrow(&set->objs, cap, set->nr + 1, sizeof(*set->objs)))
		return NULL;
	o = &set->objs[set->nr++];
	*o = (struct rst_shm){ .key = key, .fd = -1, .task_fd = -1 };
	return o;
}

/*
 * Collect every shared memory object of the image: its SHM records (those
 * only a descriptor holds too), or in blobs before them every object the
 * mappings name, sized by the furthest mapping.
 */
static int shm_collect(struct rst_shm_set *set, const struct ct_image *img)
{
	size_t cap = 0;

	for (uint32_t i = 0; i < img->nr_shm; i++) {
		struct rst_shm *o = shm_add(set, &cap, img->shm[i].key);

		if (!o)
			return -ENOMEM;
		o->rec = &img->shm[i];
		o->size = o->rec->size;
	}
	for (uint32_t i = 0; i < img->nr_tasks && !img->nr_shm; i++) {
		const struct ct_mm *mm = &img->tasks[i].mm;

		for (uint32_t k = 0; k < mm->nr_vmas; k++) {
			const struct ct_vma *v = &mm->vmas[k];
			struct rst_shm *o;

			if (v->kind != CT_VMA_SHMEM)
				continue;
			o = shm_find(set, v->shm_key) ?: shm_add(set, &cap, v->shm_key);
			if (!o)
				return -ENOMEM;
			o->size = max_t(uint64_t, o->size, v->pgoff + (v->end - v->start));
		}
	}
	return 0;
}

/* Write the DATA pages of @n read at offset @off, each run of them in one pwrite. */
static int shm_write_pages(struct rst_shm_fill *f, uint64_t off, size_t n, const uint8_t *state)
{
	const struct rst_shm *o = f->o;
	int ret = 0;

	for (size_t i = 0, j; i < n && !ret; i = j + 1) {
		uint64_t from = off + i * PAGE_SIZE, len;

		/* the object reads zero where nothing is written */
		for (j = i; j < n && state[j] == SWP_PAGE_DATA; j++)
			;
		if (j == i || from >= o->size)
			continue;
		len = min_t(uint64_t, (j - i) * PAGE_SIZE, o->size - from);
		ret = pwrite_all(o->fd, f->buf + i * PAGE_SIZE, len, from);
	}
	return ret;
}

/* Write the stored pages of one run of object @o (swp_for_each_run callback). */
static int shm_fill_run(uint32_t key, uint64_t mapping, uint64_t addr, size_t nr, void *arg)
{
	struct rst_shm_fill *f = arg;
	uint8_t state[SHM_CHUNK];
	int ret = 0;

	(void)key;
	(void)mapping;
	for (size_t done = 0; done < nr && !ret; done += SHM_CHUNK) {
		size_t n = min_t(size_t, SHM_CHUNK, nr - done);
		uint64_t off = addr + done * PAGE_SIZE;

		ret = swp_read(f->rd, f->o->key, off, n, f->buf, state) ?:
		      shm_write_pages(f, off, n, state);
	}
	if (ret)
		ct_err(ret, "shared memory object %#x: cannot fill: %s", f->o->key, strerror(-ret));
	return ret;
}

/* Copy the object's stored pages from the swap area into it. */
static int shm_fill(struct rst_shm *o, struct swp_gen_reader *rd)
{
	struct rst_shm_fill f = { .o = o, .rd = rd };
	int ret;

	f.buf = xmalloc(SHM_CHUNK * PAGE_SIZE);
	if (!f.buf)
		return -ENOMEM;
	ret = swp_for_each_run(rd, o->key, shm_fill_run, &f);
	free(f.buf);
	return ret;
}

/* A shared anonymous object of @size bytes: mapped here, reopened through map_files. */
static int shm_make_anon(struct rst_shm *o)
{
	char path[96];
	size_t len = PAGE_ALIGN(o->size ? o->size : PAGE_SIZE);
	void *p;

	p = mmap(NULL, len, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return ct_err(-errno, "shared memory object %#x: cannot map %zu bytes: %m", o->key, len);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + len);
	o->fd = open(path, O_RDWR | O_CLOEXEC);
	if (o->fd < 0)
		ct_err(-errno, "shared memory object %#x: cannot open %s: %m", o->key, path);
	munmap(p, len);
	return o->fd < 0 ? -errno : 0;
}

/* A memfd with the dumped name (SysV segments and old blobs: "ctswap-shm"). */
static int shm_make_memfd(struct rst_shm *o)
{
	const struct ct_shm *r = o->rec;
	unsigned flags = MFD_CLOEXEC;

	/* a memfd made without MFD_ALLOW_SEALING shows just F_SEAL_SEAL */
	if (r && r->kind == CT_SHM_MEMFD && r->seals != F_SEAL_SEAL)
		flags |= MFD_ALLOW_SEALING;
	o->fd = memfd_create(r && r->kind == CT_SHM_MEMFD && r->path ? r->path : "ctswap-shm", flags);
	if (o->fd < 0)
		return ct_err(-errno, "shared memory object %#x: memfd_create: %m", o->key);
	if (r && r->kind == CT_SHM_MEMFD && fchmod(o->fd, r->mode) < 0)
		return ct_err(-errno, "memfd %s: cannot set mode %o: %m", r->path, r->mode);
	return 0;
}

/* The tmpfs file @r->path as it was at the dump: reopened, or created again. */
static int shm_make_tmpfs(struct rst_shm *o)
{
	const struct ct_shm *r = o->rec;

	o->fd = open(r->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (o->fd < 0 && errno == ENOENT) {
		o->fd = open(r->path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, r->mode);
		if (o->fd >= 0 && (fchown(o->fd, r->uid, r->gid) < 0 || fchmod(o->fd, r->mode) < 0))
			return ct_err(-errno, "%s: cannot give it back its owner and mode: %m", r->path);
		if (o->fd >= 0)
			pr_info("%s: gone since the dump, created again", r->path);
	}
	if (o->fd < 0)
		return ct_err(-errno, "%s: cannot open the file mapped shared: %m", r->path);
	/* its contents are the checkpoint's: drop what it holds now, then fill */
	if (ftruncate(o->fd, 0) < 0)
		return ct_err(-errno, "%s: cannot reset it to its dumped contents: %m", r->path);
	return 0;
}

/* A deleted tmpfs file: an unlinked file in the same directory, with its mode and owner. */
static int shm_make_deleted(struct rst_shm *o)
{
	const struct ct_shm *r = o->rec;
	char *dir = xstrdup(r->path);

	if (!dir)
		return -ENOMEM;
	o->fd = open(dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, r->mode);
	free(dir);
	if (o->fd < 0)
		return ct_err(-errno, "%s (deleted, mapped shared): cannot make an unlinked file in its directory: %m",
			      r->path);
	if (fchown(o->fd, r->uid, r->gid) < 0 || fchmod(o->fd, r->mode) < 0)
		return ct_err(-errno, "%s (deleted): cannot give it back its owner and mode: %m", r->path);
	return 0;
}

/* True if @o comes back as a SysV segment with its identity. */
static bool shm_is_sysv(const struct rst_shm *o)
{
	return o->rec && o->rec->kind == CT_SHM_SYSV && (o->rec->sysv_flags & CT_SHM_SYSV_IDENTITY);
}

/* Open segment @id's object through a moment's attachment of ours. */
static int shm_open_sysv(struct rst_shm *o, int id)
{
	char path[96];
	void *at = shmat(id, NULL, 0);

	if (at == (void *)-1)
		return ct_err(-errno, "SysV segment %d: cannot attach it to fill it: %m", id);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)at,
		 (unsigned long)at + PAGE_ALIGN(o->size));
	o->fd = open(path, O_RDWR | O_CLOEXEC);
	if (o->fd < 0)
		ct_err(-errno, "SysV segment %d: cannot open %s: %m", id, path);
	shmdt(at);
	return o->fd < 0 ? -EIO : 0;
}

/* In the container's new IPC namespace: segment @o with its key, id, size, mode, owner, lock. */
static int shm_make_sysv(struct rst_shm *o)
{
	const struct ct_shm *r = o->rec;
	struct shmid_ds ds = { 0 };
	int id, ret;

	ret = sysvipc_next_id("shm", r->sysv_id);
	if (ret)
		return ret;
	id = shmget(r->sysv_key, o->size, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		return ct_err(-errno, "SysV segment %d (key %#x, %llu bytes): cannot make it again: %m",
			      r->sysv_id, r->sysv_key, (unsigned long long)o->size);
	if (id != r->sysv_id)
		return ct_err(-EEXIST, "SysV segment %d: came back as %d", r->sysv_id, id);
	ds.shm_perm.uid = r->uid;
	ds.shm_perm.gid = r->gid;
	ds.shm_perm.mode = (unsigned short)r->mode;
	if (shmctl(id, IPC_SET, &ds) < 0)
		return ct_err(-errno, "SysV segment %d: IPC_SET: %m", id);
	if ((r->sysv_flags & CT_SHM_SYSV_LOCKED) && shmctl(id, SHM_LOCK, NULL) < 0)
		return ct_err(-errno, "SysV segment %d: cannot lock it again (SHM_LOCK): %m", id);
	return shm_open_sysv(o, id);
}

/* Make object @o again, empty, of its dumped size. */
static int shm_make(struct rst_shm *o)
{
	uint32_t kind = o->rec ? o->rec->kind : CT_SHM_SYSV;
	int ret;

	if (shm_is_sysv(o))
		return shm_make_sysv(o);	/* shmget gave it its size */
	switch (kind) {
	case CT_SHM_ANON:
		ret = shm_make_anon(o);
		break;
	case CT_SHM_TMPFS:
		ret = shm_make_tmpfs(o);
		break;
	case CT_SHM_TMPFS_DELETED:
		ret = shm_make_deleted(o);
		break;
	default:
		ret = shm_make_memfd(o);
		break;
	}
	if (!ret && ftruncate(o->fd, o->size) < 0)
		ret = ct_err(-errno, "shared memory object %#x: cannot size it to %llu bytes: %m",
			     o->key, (unsigned long long)o->size);
	return ret;
}

/*
 * Seal object @o again if it was sealed and @before_mapping says it is
 * time: a memfd sealed against writing (F_SEAL_WRITE) must be sealed
 * before the tasks map it (a mapping made before keeps it writable, and
 * the seal is refused), any other seal after (F_SEAL_FUTURE_WRITE refuses
 * the writable mappings the tasks had).
 */
static int shm_seal(const struct rst_shm *o, bool before_mapping)
{
	const struct ct_shm *r = o->rec;

	if (!r || r->kind != CT_SHM_MEMFD || !r->seals || r->seals == F_SEAL_SEAL)
		return 0;
	if (!!(r->seals & F_SEAL_WRITE) != before_mapping)
		return 0;
	if (fcntl(o->fd, F_ADD_SEALS, (int)r->seals) < 0)
		return ct_err(-errno, "memfd %s: cannot seal it again (%#x): %m", r->path, r->seals);
	return 0;
}

/* Create and fill one object per shared memory object of @img. */
int rst_shm_open(struct rst_shm_set *set, const struct ct_image *img, struct swp_gen_reader *rd)
{
	int ret;

	memset(set, 0, sizeof(*set));
	ret = shm_collect(set, img);
	for (size_t i = 0; i < set->nr && !ret; i++)
		ret = shm_make(&set->objs[i]) ?: shm_fill(&set->objs[i], rd) ?:
		      shm_seal(&set->objs[i], true);
	if (!ret && set->nr)
		pr_info("%zu shared memory objects filled", set->nr);
	return ret;
}

/* Seal the memfds that were sealed, now that every task has mapped them. */
int rst_shm_seal(const struct rst_shm_set *set)
{
	int ret = 0;

	for (size_t i = 0; i < set->nr && !ret; i++)
		ret = shm_seal(&set->objs[i], false);
	return ret;
}

/*
 * Segments marked for removal at the dump: removed again, now that every
 * task has attached them (in the container's IPC namespace).
 */
int rst_shm_sysv_remove(const struct rst_shm_set *set)
{
	for (size_t i = 0; i < set->nr; i++) {
		const struct rst_shm *o = &set->objs[i];

		if (!shm_is_sysv(o) || !(o->rec->sysv_flags & CT_SHM_SYSV_DEST))
			continue;
		if (shmctl(o->rec->sysv_id, IPC_RMID, NULL) < 0)
			return ct_err(-errno, "SysV segment %d: cannot mark it removed again: %m",
				      o->rec->sysv_id);
	}
	return 0;
}

/* True if a segment of @set is to be removed again once attached. */
bool rst_shm_sysv_dest(const struct rst_shm_set *set)
{
	for (size_t i = 0; i < set->nr; i++)
		if (shm_is_sysv(&set->objs[i]) && (set->objs[i].rec->sysv_flags & CT_SHM_SYSV_DEST))
			return true;
	return false;
}

/*
 * Attachment @v of SysV segment @o in @p: an injected shmat at its address
 * for the part at offset 0 (the kernel's attachment: shmdt, nattch and
 * IPC_STAT see it), writable if any part of it was, then each part's
 * protection as it was.
 */
static int shm_attach(struct rst_proc *p, const struct ct_vma *v, const struct rst_shm *o)
{
	const struct ct_mm *mm = &p->t->mm;
	uint64_t end = v->start + PAGE_ALIGN(o->size);
	uint32_t prot = 0, got = PROT_READ;
	long ret;

	if (v->pgoff == 0) {
		for (uint32_t i = 0; i < mm->nr_vmas; i++)
			if (mm->vmas[i].shm_key == o->key && mm->vmas[i].start >= v->start &&
			    mm->vmas[i].end <= end)
				prot |= mm->vmas[i].prot;
		got |= prot & (PROT_WRITE | PROT_EXEC);
		ret = rst_syscall(p, __NR_shmat, (unsigned long)o->rec->sysv_id, v->start,
				  (prot & PROT_WRITE ? 0 : SHM_RDONLY) | (prot & PROT_EXEC ? SHM_EXEC : 0),
				  0, 0, 0);
		if (ret < 0 && ret > -4096)
			return ct_err((int)ret, "pid %d: cannot attach SysV segment %d at %#lx: %s",
				      p->t->pid, o->rec->sysv_id, (unsigned long)v->start,
				      strerror((int)-ret));
		if ((uint64_t)ret != v->start)
			return ct_err(-EFAULT, "pid %d: SysV segment %d attached at %#lx, not %#lx",
				      p->t->pid, o->rec->sysv_id, (unsigned long)ret,
				      (unsigned long)v->start);
	} else {
		got = ~0u;	/* a later part: attached with the first */
	}
	if (got == v->prot)
		return 0;
	ret = rst_syscall(p, __NR_mprotect, v->start, v->end - v->start, v->prot, 0, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: SysV segment %d at %#lx: mprotect: %s", p->t->pid,
			      o->rec->sysv_id, (unsigned long)v->start, strerror((int)-ret));
	return 0;
}

bool rst_shm_sysv(const struct rst_shm_set *set, uint32_t key)
{
	for (size_t i = 0; set && i < set->nr; i++)
		if (set->objs[i].key == key)
			return shm_is_sysv(&set->objs[i]);
	return false;
}

/* Map @v if it is a SysV segment made again: 1 done, 0 not one, -errno. */
int rst_shm_attach(struct rst_proc *p, const struct ct_vma *v, const struct rst_shm_set *set)
{
	for (size_t i = 0; set && i < set->nr; i++)
		if (set->objs[i].key == v->shm_key)
			return shm_is_sysv(&set->objs[i]) ? shm_attach(p, v, &set->objs[i]) ?: 1 : 0;
	return 0;
}

/* Close the restorer's descriptors (the tasks' mappings keep the memory). */
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

/* The restorer's fd of object @key (struct shm_fds for memfd descriptions), -1 if unknown. */
int rst_shm_fd(const void *arg, uint32_t key)
{
	const struct rst_shm_set *set = arg;

	for (size_t i = 0; i < set->nr; i++)
		if (set->objs[i].key == key)
			return set->objs[i].fd;
	return -1;
}
