// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * memfd descriptors.  A memfd is a shared memory object like the ones
 * processes map: dump records which object (mm/shm.c stores it whole, once,
 * with its name, mode and seals, whether it is held by fds, mappings or
 * both), and restore opens a new description of the object restore/shm.c
 * made again, so fds and mappings of one memfd still share its pages.  The
 * description keeps its access mode, status flags and position.
 */
#define LOG_PREFIX "memfd: "
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

/* Flags that belong to the fd or to opening, not to the description. */
#define MEMFD_OPEN_ONLY_FLAGS (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)

static bool memfd_match(const struct fd_dump *d)
{
	return !strncmp(d->link, "/memfd:", 7) && S_ISREG(d->st->st_mode);
}

/* The object behind the fd: found or added among the dump's shared memory objects. */
static int memfd_dump(const struct fd_dump *d, struct ct_file *f)
{
	struct statfs sfs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", d->pid, d->fd);
	if (statfs(path, &sfs) < 0)
		return ct_err(-errno, "pid %d: fd %d (%s): cannot stat: %m", d->pid, d->fd, d->link);
	if (sfs.f_type == HUGETLBFS_MAGIC)
		return ct_err(-EOPNOTSUPP, "pid %d: fd %d: %s: a hugetlbfs memfd is not supported",
			      d->pid, d->fd, d->link);
	if (!d->tc->shm_key)
		return ct_err(-EOPNOTSUPP, "pid %d: fd %d: %s: memfd outside a dump", d->pid, d->fd,
			      d->link);
	return d->tc->shm_key(d->tc->shm_arg, d->pid, d->link, path, d->st, &f->shm_key);
}

static void memfd_encode(struct wbuf *w, const struct ct_file *f)
{
	size_t at = w_begin(w, REC_FILE_MEMFD);

	w_u32(w, f->shm_key);
	w_end(w, at);
}

static void memfd_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag == REC_FILE_MEMFD)
		f->shm_key = r_u32(r);
}

/* It names a memfd object of the image. */
static bool memfd_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	const struct ct_shm *o = image_find_shm(img, f->shm_key);

	return o && o->kind == CT_SHM_MEMFD;
}

/* A new description of the object restore/shm.c made, with the dumped flags and position. */
static int memfd_open(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	int obj = rs->shm ? rs->shm->fd_of(rs->shm->arg, f->shm_key) : -1;
	char path[64];
	int fd;

	if (obj < 0)
		return ct_err(-EINVAL, "file %u: memfd object %#x not prepared", i, f->shm_key);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", obj);
	fd = open(path, (int)(f->flags & ~MEMFD_OPEN_ONLY_FLAGS) | O_CLOEXEC);
	if (fd < 0)
		return ct_err(-errno, "memfd object %#x: cannot open it again: %m", f->shm_key);
	if (f->pos && lseek(fd, (off_t)f->pos, SEEK_SET) < 0) {
		close(fd);
		return ct_err(-errno, "memfd object %#x: cannot set position %llu: %m", f->shm_key,
			      (unsigned long long)f->pos);
	}
	rs->ft->fds[i] = file_place_high(fd, rs->base, rs->ft);
	return rs->ft->fds[i] < 0 ? rs->ft->fds[i] : 0;
}

const struct fd_kind fd_kind_memfd = {
	.kind = CT_FILE_MEMFD,
	.fmt = {
		.name = "memfd",
		.encode = memfd_encode,
		.decode = memfd_decode,
		.is_sane = memfd_is_sane,
	},
	.match = memfd_match,
	.dump = memfd_dump,
	.open = memfd_open,
};
