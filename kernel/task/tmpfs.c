// SPDX-License-Identifier: MIT
/*
 * The files of the container's tmpfs mounts (mounts.h): a tmpfs lives in
 * memory only, so its files go into the checkpoint and come back whole.
 *
 * Dump walks a private copy of the mount alone (mounts.c opens it with
 * open_tree, so what is mounted on it hides nothing) and records, parents
 * before children: directories, regular files with their contents,
 * symlinks, device nodes, FIFOs and socket files, each with its mode,
 * owner and modification time; a second name of a regular file is a hard
 * link to the first.  Restore makes them again in the fresh tmpfs before
 * anything is mounted on it, then sets each directory's time last
 * (creating its entries moved it).  A file open but deleted is not here:
 * task/deleted.c keeps it with the descriptors that hold it.
 */
#define LOG_PREFIX "tmpfs: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/mounts.h"

#define TMPFS_DEFAULT_MAX (64ULL << 20)
#define TMPFS_MAX_NODES (1 << 20)
#define TMPFS_MAX_TOTAL (512ULL << 20)	/* the blob holds at most 1 GiB */

/* What one tmpfs dump works on. */
struct tmpfs_walk {
	struct ct_image *img;
	uint32_t mount;
	uint64_t max;			/* largest file kept */
	uint64_t total;			/* bytes kept so far, every tmpfs */
	size_t cap;			/* of img->tmpfs */
	uint64_t *inos;			/* inode of each node of img->tmpfs (other mounts' never match) */
	size_t inos_cap;
	const char *where;		/* the mount point, for messages */
	pid_t pid;			/* the container's init, for messages */
};

/* The node recorded for inode @ino of this mount, as 1 + index, or 0. */
static uint32_t tmpfs_find_ino(const struct tmpfs_walk *w, ino_t ino)
{
	for (uint32_t i = 0; i + 1 < w->img->nr_tmpfs; i++)
		if (w->img->tmpfs[i].mount == w->mount && w->inos[i] == ino && !w->img->tmpfs[i].link_to)
			return i + 1;
	return 0;
}

#ifndef __NR_listxattrat
#define __NR_listxattrat 465	/* x86_64, Linux 6.13 */
#endif

/*
 * Does @name (under @dirfd, not a symlink) carry extended attributes
 * (user.*, security.*: not kept)?  listxattrat(); before Linux 6.13, a
 * regular file or directory is opened and asked (the others are not: a
 * device or FIFO is not opened for this).
 */
static bool tmpfs_has_xattrs(int dirfd, const char *name, mode_t mode)
{
	ssize_t n = syscall(__NR_listxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, NULL, 0);
	int fd;

	if (n >= 0 || errno != ENOSYS)
		return n > 0;
	if (!S_ISREG(mode) && !S_ISDIR(mode))
		return false;
	fd = tmpfs_open_noatime(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = flistxattr(fd, NULL, 0);
	close(fd);
	return n > 0;
}

/*
 * openat(2) without touching the file's access time (a read of a file or a
 * directory sets it under relatime): the dump leaves the times it records
 * as they were.  O_NOATIME needs the owner or CAP_FOWNER: else a plain open.
 */
int tmpfs_open_noatime(int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_NOATIME);

	return fd < 0 && errno == EPERM ? openat(dirfd, name, flags) : fd;
}

/* Read the whole regular file @name (under @dirfd) into @n. */
static int tmpfs_read_file(const struct tmpfs_walk *w, int dirfd, const char *name,
			   struct ct_tmpfs_node *n)
{
	int fd = tmpfs_open_noatime(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	uint64_t got = 0;
	ssize_t r;

	if (fd < 0)
		return ct_err(-errno, "%s/%s: cannot read: %m", w->where, n->path);
	n->data = n->size ? xmalloc(n->size) : NULL;
	if (n->size && !n->data) {
		close(fd);
		return -ENOMEM;
	}
	while (got < n->size && (r = pread(fd, n->data + got, n->size - got, (off_t)got)) > 0)
		got += (uint64_t)r;
	close(fd);
	n->data_len = got;	/* shorter if it shrank meanwhile: the rest reads as zeros */
	return 0;
}

/* Record one entry @name of directory @dirfd, at @path. */
static int tmpfs_record(struct tmpfs_walk *w, int dirfd, const char *name,
			const char *path, const struct stat *st)
{
	struct ct_tmpfs_node *n;
	uint32_t link;
	char target[4096];
	ssize_t len;

	if (w->img->nr_tmpfs >= TMPFS_MAX_NODES)
		return ct_err(-EFBIG, "pid %d: tmpfs %s: more than %d files: not supported", w->pid, w->where,
			      TMPFS_MAX_NODES);
	if (xgrow(&w->img->tmpfs, &w->cap, w->img->nr_tmpfs + 1, sizeof(*w->img->tmpfs)) ||
	    xgrow(&w->inos, &w->inos_cap, w->img->nr_tmpfs + 1, sizeof(*w->inos)))
		return -ENOMEM;
	n = &w->img->tmpfs[w->img->nr_tmpfs];
	memset(n, 0, sizeof(*n));
	n->mount = w->mount;
	n->path = xstrdup(path);
	if (!n->path)
		return -ENOMEM;
	w->inos[w->img->nr_tmpfs] = st->st_ino;
	w->img->nr_tmpfs++;
	n->mode = st->st_mode;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->rdev = st->st_rdev;
	n->mtime_sec = st->st_mtim.tv_sec;
	n->mtime_nsec = st->st_mtim.tv_nsec;
	n->atime_sec = st->st_atim.tv_sec;
	n->atime_nsec = st->st_atim.tv_nsec;
	if (S_ISREG(st->st_mode) && st->st_nlink > 1 && (link = tmpfs_find_ino(w, st->st_ino))) {
		n->link_to = link;
		return 0;
	}
	if (!S_ISLNK(st->st_mode) && tmpfs_has_xattrs(dirfd, name, st->st_mode))
		return ct_err(-EOPNOTSUPP, "pid %d: tmpfs %s: file %s has extended attributes: not supported",
			      w->pid, w->where, path);
	if (S_ISREG(st->st_mode)) {
		w->total += (uint64_t)st->st_size;
		if (w->total > TMPFS_MAX_TOTAL)
			return ct_err(-EFBIG, "pid %d: tmpfs %s: more than %llu MiB of files in the container's tmpfs mounts: not supported",
				      w->pid, w->where, TMPFS_MAX_TOTAL >> 20);
		if ((uint64_t)st->st_size > w->max)
			return ct_err(-EFBIG, "pid %d: tmpfs %s: file %s of %lld bytes is above the limit of %llu bytes (--max-deleted-size): not supported",
				      w->pid, w->where, path, (long long)st->st_size, (unsigned long long)w->max);
		n->size = (uint64_t)st->st_size;
		return tmpfs_read_file(w, dirfd, name, n);
	}
	if (S_ISLNK(st->st_mode)) {
		len = readlinkat(dirfd, name, target, sizeof(target));
		if (len <= 0 || len >= (ssize_t)sizeof(target))
			return ct_err(len < 0 ? -errno : -ENAMETOOLONG, "%s/%s: cannot read the link", w->where, path);
		n->data = xmalloc((size_t)len);
		if (!n->data)
			return -ENOMEM;
		memcpy(n->data, target, (size_t)len);
		n->data_len = (uint64_t)len;
	}
	return 0;
}

/* Record directory @dirfd (at @path, "" the root) and everything below it. */
static int tmpfs_walk_dir(struct tmpfs_walk *w, int dirfd, const char *path)
{
	DIR *dir;
	struct dirent *de;
	int ret = 0, fd = dup(dirfd);

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return ct_err(-errno, "%s/%s: cannot list: %m", w->where, path);
	}
	while (!ret && (de = readdir(dir))) {
		struct stat st;
		char *sub;
		int subfd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = ct_err(-errno, "%s/%s/%s: %m", w->where, path, de->d_name);
			break;
		}
		sub = path[0] ? xasprintf("%s/%s", path, de->d_name) : xstrdup(de->d_name);
		ret = sub ? tmpfs_record(w, dirfd, de->d_name, sub, &st) : -ENOMEM;
		if (!ret && S_ISDIR(st.st_mode)) {
			subfd = tmpfs_open_noatime(dirfd, de->d_name,
						   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			ret = subfd < 0 ? ct_err(-errno, "%s/%s: %m", w->where, sub) :
					  tmpfs_walk_dir(w, subfd, sub);
			if (subfd >= 0)
				close(subfd);
		}
		free(sub);
	}
	closedir(dir);
	return ret;
}

int tmpfs_dump(struct ct_image *img, uint32_t mount, int dirfd, uint64_t max_file_size, pid_t pid)
{
	struct tmpfs_walk w = { .img = img, .mount = mount, .cap = img->nr_tmpfs, .pid = pid,
				.max = max_file_size ? max_file_size : TMPFS_DEFAULT_MAX,
				.where = img->mounts[mount].mountpoint };
	struct stat st;
	int ret;

	for (uint32_t i = 0; i < img->nr_tmpfs; i++)	/* the tmpfs mounts recorded before */
		w.total += img->tmpfs[i].data_len;
	if (fstat(dirfd, &st) < 0)
		ret = ct_err(-errno, "tmpfs %s: %m", w.where);
	else
		ret = tmpfs_record(&w, dirfd, ".", "", &st) ?: tmpfs_walk_dir(&w, dirfd, "");
	free(w.inos);
	return ret;
}

/* ---- restore ---- */

/*
 * Owner, mode (after the owner: chown clears set-id bits) and times of the
 * node at @path.  Its ctime is now: no call sets it (utimensat(2) sets
 * the access and modification times only, and the change bumps ctime).
 */
static int tmpfs_set_attrs(int dirfd, const char *path, const struct ct_tmpfs_node *n)
{
	const char *at = path[0] ? path : ".";
	bool atime = n->atime_sec || n->atime_nsec;	/* 0, 0: an older blob, not recorded */
	struct timespec times[2] = { { .tv_sec = n->atime_sec, .tv_nsec = atime ? n->atime_nsec : UTIME_OMIT },
				     { .tv_sec = n->mtime_sec, .tv_nsec = n->mtime_nsec } };

	if (fchownat(dirfd, at, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (!S_ISLNK(n->mode) && fchmodat(dirfd, at, n->mode & 07777, 0) < 0) ||
	    utimensat(dirfd, at, times, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* A regular file with its contents; holes past them read as zeros. */
static int tmpfs_make_file(int dirfd, const struct ct_tmpfs_node *n)
{
	int fd = openat(dirfd, n->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	uint64_t done = 0;
	ssize_t w;

	if (fd < 0)
		return -errno;
	while (done < n->data_len && (w = write(fd, n->data + done, n->data_len - done)) > 0)
		done += (uint64_t)w;
	if (done < n->data_len || ftruncate(fd, (off_t)n->size) < 0) {
		int err = errno ? -errno : -EIO;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

/* Make node @n (its parent exists). */
static int tmpfs_make(const struct ct_image *img, int dirfd, const struct ct_tmpfs_node *n)
{
	char target[4096];

	if (!n->path[0])
		return 0;	/* the mount's root: it exists */
	if (n->link_to)
		return linkat(dirfd, img->tmpfs[n->link_to - 1].path, dirfd, n->path, 0) < 0 ? -errno : 0;
	if (S_ISDIR(n->mode))
		return mkdirat(dirfd, n->path, 0700) < 0 && errno != EEXIST ? -errno : 0;
	if (S_ISREG(n->mode))
		return tmpfs_make_file(dirfd, n);
	if (S_ISLNK(n->mode)) {
		memcpy(target, n->data, n->data_len);
		target[n->data_len] = '\0';
		return symlinkat(target, dirfd, n->path) < 0 ? -errno : 0;
	}
	return mknodat(dirfd, n->path, n->mode, (dev_t)n->rdev) < 0 ? -errno : 0;
}

int tmpfs_fill(const struct ct_image *img, uint32_t mount, int dirfd)
{
	const char *where = img->mounts[mount].mountpoint;
	int ret = 0;

	for (uint32_t i = 0; i < img->nr_tmpfs && !ret; i++) {
		const struct ct_tmpfs_node *n = &img->tmpfs[i];

		if (n->mount != mount)
			continue;
		ret = tmpfs_make(img, dirfd, n);
		if (!ret && !n->link_to && !S_ISDIR(n->mode))
			ret = tmpfs_set_attrs(dirfd, n->path, n);
		if (ret)
			return ct_err(ret, "tmpfs %s: cannot make %s: %s", where, n->path, strerror(-ret));
	}
	/* directories last, deepest first: making their entries changed their times */
	for (uint32_t i = img->nr_tmpfs; i-- > 0 && !ret;) {
		const struct ct_tmpfs_node *n = &img->tmpfs[i];

		if (n->mount == mount && S_ISDIR(n->mode) && (ret = tmpfs_set_attrs(dirfd, n->path, n)))
			return ct_err(ret, "tmpfs %s: cannot set %s/%s: %s", where, where, n->path,
				      strerror(-ret));
	}
	return ret;
}
