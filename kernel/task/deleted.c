// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Deleted files and directories: open descriptions of unlinked files
 * (O_TMPFILE, mkstemp + unlink, multiprocessing's heap arenas), of removed
 * directories, and working directories that were removed.
 *
 * Dump, once every task's fds are recorded (files.c marks a description
 * whose inode has no link left as ct_file.deleted, with its path less the
 * " (deleted)"): the contents of each deleted inode are read once, through
 * a task's fd, into the FILE record of its first description, and its
 * mode, owner and size go into a struct ct_deleted.  Contents beyond the
 * dump's limit (CT_DELETED_MAX_DEFAULT unless raised) refuse the dump.  A
 * removed working directory is recorded the same way (the task's cwd is
 * then NULL, so the chdir by path in misc.c is skipped).
 *
 * Restore: the first description of a deleted inode recreates it as an
 * unlinked file (O_TMPFILE in its old directory, else a temporary name
 * unlinked at once, in that directory or /tmp) holding the contents, with
 * its owner and mode; the other descriptions of the same inode reopen that
 * one through /proc/self/fd, so they share the new inode as they shared the
 * old.  A deleted directory is a new directory removed again once opened.
 */
#define LOG_PREFIX "deleted: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"
#include "task/task.h"

#define DELETED_SUFFIX " (deleted)"
#define DELETED_CHUNK 4096

/* Is @f a deleted file or directory?  (ct_file.deleted means it only for CT_FILE_REG.) */
static bool file_is_deleted(const struct ct_file *f)
{
	return f->kind == CT_FILE_REG && f->deleted;
}

/* Append @d to the image's deleted records. */
static int deleted_add(struct ct_image *img, const struct ct_deleted *d)
{
	struct ct_deleted *arr = xrealloc(img->deleted, (img->nr_deleted + 1) * sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	img->deleted = arr;
	arr[img->nr_deleted++] = *d;
	return 0;
}

/* The record of deleted file @i, NULL if none. */
static const struct ct_deleted *deleted_find(const struct ct_image *img, uint32_t what, uint32_t index)
{
	for (uint32_t k = 0; k < img->nr_deleted; k++)
		if (img->deleted[k].what == what && img->deleted[k].index == index)
			return &img->deleted[k];
	return NULL;
}

/* A task fd holding description @i: its task and fd number; false if none. */
static bool deleted_holder(const struct ct_image *img, uint32_t i, const struct ct_task **tp, int *fd)
{
	for (uint32_t k = 0; k < img->nr_tasks; k++)
		for (uint32_t j = 0; j < img->tasks[k].nr_fds; j++)
			if (img->tasks[k].fds[j].file == i) {
				*tp = &img->tasks[k];
				*fd = img->tasks[k].fds[j].fd;
				return true;
			}
	return false;
}

/* An earlier deleted description of the same inode as @i, -1 if none. */
static int deleted_first_of_inode(const struct ct_image *img, uint32_t i)
{
	const struct ct_file *f = &img->files[i];

	for (uint32_t j = 0; j < i; j++)
		if (file_is_deleted(&img->files[j]) && img->files[j].id.dev == f->id.dev &&
		    img->files[j].id.ino == f->id.ino)
			return (int)j;
	return -1;
}

/* Read the contents of deleted regular file @f through @fd of @t, within @max bytes. */
static int deleted_read(const struct ct_task *t, int fd, struct ct_file *f, const struct stat *st,
			uint64_t max)
{
	char path[64];
	int rfd, ret;

	if ((uint64_t)st->st_size > max)
		return ct_err(-EFBIG, "pid %d (%s): fd %d: deleted file %s holds %llu bytes, more than "
			      "the limit of %llu for its stored contents; raise it with --max-deleted-size",
			      t->host_pid, t->comm, fd, f->path, (unsigned long long)st->st_size,
			      (unsigned long long)max);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->host_pid, fd);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot read deleted file %s: %m", t->host_pid, fd,
			      f->path);
	f->contents = xmalloc(st->st_size ? st->st_size : 1);
	ret = f->contents ? pread_all(rfd, f->contents, st->st_size, 0) : -ENOMEM;
	close(rfd);
	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read deleted file %s", t->host_pid, fd, f->path);
	f->contents_len = st->st_size;
	return 0;
}

/* Record deleted description @i: attributes, and contents if it is the inode's first. */
static int deleted_dump_file(struct ct_image *img, uint32_t i, uint64_t max)
{
	struct ct_file *f = &img->files[i];
	const struct ct_task *t;
	struct ct_deleted d = { .what = CT_DELETED_FILE, .index = i };
	char path[64];
	struct stat st;
	int fd, ret;

	if (!deleted_holder(img, i, &t, &fd))
		return 0;	/* only an epoll's target: never restored on its own */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->host_pid, fd);
	if (stat(path, &st) < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot stat deleted file %s: %m", t->host_pid, fd,
			      f->path);
	d.mode = st.st_mode;
	d.uid = st.st_uid;
	d.gid = st.st_gid;
	d.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	if (S_ISREG(st.st_mode) && deleted_first_of_inode(img, i) < 0) {
		ret = deleted_read(t, fd, f, &st, max);
		if (ret)
			return ret;
	}
	return deleted_add(img, &d);
}

/* A removed working directory of @t: record it and clear t->cwd. */
static int deleted_dump_cwd(struct ct_image *img, struct ct_task *t)
{
	struct ct_deleted d = { .what = CT_DELETED_CWD, .index = (uint32_t)t->pid };
	size_t len = t->cwd ? strlen(t->cwd) : 0, slen = strlen(DELETED_SUFFIX);
	char path[64];
	struct stat st;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/cwd", t->host_pid);
	if (!t->cwd || stat(path, &st) < 0 || st.st_nlink > 0)
		return 0;
	if (len <= slen || strcmp(t->cwd + len - slen, DELETED_SUFFIX))
		return ct_err(-ENOTSUP, "pid %d (%s): its working directory %s was removed but is not "
			      "named as such", t->host_pid, t->comm, t->cwd);
	if (t->root && strcmp(t->root, "/"))
		return ct_err(-ENOTSUP, "pid %d (%s): a removed working directory under a changed root "
			      "(%s) is not supported", t->host_pid, t->comm, t->root);
	d.mode = st.st_mode;
	d.uid = st.st_uid;
	d.gid = st.st_gid;
	d.path = strndup(t->cwd, len - slen);
	if (!d.path)
		return -ENOMEM;
	ret = deleted_add(img, &d);
	if (ret) {
		free(d.path);
		return ret;
	}
	free(t->cwd);
	t->cwd = NULL;
	return 0;
}

/* Is mapping @v of a file that was deleted? */
static bool deleted_vma(const struct ct_vma *v)
{
	size_t len = v->path ? strlen(v->path) : 0, slen = strlen(DELETED_SUFFIX);

	return (v->kind == CT_VMA_FILE_PRIVATE || v->kind == CT_VMA_FILE_SHARED ||
		v->kind == CT_VMA_SHMEM) &&
	       len > slen && !strcmp(v->path + len - slen, DELETED_SUFFIX) && v->path[0] == '/';
}

/* The deleted description of the file mapped by @v, -1 if the image holds none. */
static int deleted_file_of_vma(const struct ct_image *img, const struct ct_vma *v)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];

		if (file_is_deleted(f) && f->id.dev == v->file.dev &&
		    f->id.ino == v->file.ino && deleted_find(img, CT_DELETED_FILE, i))
			return (int)i;
	}
	return -1;
}

/* The description mapping @v of @t can be restored from, or refuse the dump. */
static int deleted_check_vma(const struct ct_image *img, const struct ct_task *t, const struct ct_vma *v)
{
	int i = deleted_file_of_vma(img, v);
	uint32_t acc;

	if (i < 0 && v->kind == CT_VMA_SHMEM)
		return 0;	/* shared memory of its own (shm.c) */
	if (i < 0)
		return ct_err(-ENOTSUP, "pid %d (%s): mapping %llx-%llx of deleted file %s: no fd of "
			      "the container holds the file, so its contents cannot be kept",
			      t->host_pid, t->comm, (unsigned long long)v->start,
			      (unsigned long long)v->end, v->path);
	acc = img->files[i].flags & O_ACCMODE;
	if (acc == O_WRONLY || (v->kind != CT_VMA_FILE_PRIVATE && (v->prot & PROT_WRITE) && acc != O_RDWR))
		return ct_err(-ENOTSUP, "pid %d (%s): mapping %llx-%llx of deleted file %s: the fd "
			      "holding it is not open for the mapping's access", t->host_pid, t->comm,
			      (unsigned long long)v->start, (unsigned long long)v->end, v->path);
	return 0;
}

/*
 * The fd names a file "DIR/NAME (deleted)" but the file has links: an
 * O_TMPFILE file linked with linkat(), whose fd keeps its anonymous name.
 * Look for its inode in DIR (where such files are usually linked), to open
 * it by that name at restore; refuse if it is not there.
 */
int deleted_find_name(const struct fd_dump *d, struct ct_file *f)
{
	char dir[PATH_MAX], *slash, *found = NULL;
	struct dirent *de;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s", f->path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	dp = opendir(slash && slash != dir ? dir : "/");
	while (dp && !found && (de = readdir(dp))) {
		char *path;
		struct stat st;

		if (de->d_ino != d->st->st_ino)
			continue;
		path = xasprintf("%s/%s", slash && slash != dir ? dir : "", de->d_name);
		if (path && stat(path, &st) == 0 && st.st_dev == d->st->st_dev &&
		    st.st_ino == d->st->st_ino)
			found = path;
		else
			free(path);
	}
	if (dp)
		closedir(dp);
	if (!found)
		return ct_err(-ENOTSUP, "pid %d: fd %d: %s is linked again but not in its directory: "
			      "cannot name it to reopen it", d->pid, d->fd, f->path);
	free(f->path);
	f->path = found;
	return 0;
}

/* Record every deleted file and working directory of the image. */
int dump_deleted(struct ct_image *img, uint64_t max_size)
{
	int ret = 0;

	if (!max_size)
		max_size = CT_DELETED_MAX_DEFAULT;
	for (uint32_t i = 0; i < img->nr_files && !ret; i++)
		if (file_is_deleted(&img->files[i]))
			ret = deleted_dump_file(img, i, max_size);
	for (uint32_t k = 0; k < img->nr_tasks && !ret; k++) {
		const struct ct_task *t = &img->tasks[k];

		ret = deleted_dump_cwd(img, &img->tasks[k]);
		for (uint32_t j = 0; j < t->mm.nr_vmas && !ret; j++)
			if (deleted_vma(&t->mm.vmas[j]))
				ret = deleted_check_vma(img, t, &t->mm.vmas[j]);
	}
	return ret;
}

/* ---- restore ---- */

/* The directory @path was in, into @dir; "/tmp" if it is gone. */
static void deleted_dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	struct stat st;

	if (slash && slash != path)
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, size, "/");
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		snprintf(dir, size, "/tmp");
}

/* Give a recreated file or directory the owner, then the mode, it had. */
static int deleted_set_attrs(int fd, const struct ct_deleted *d, const char *what)
{
	if (!d)
		return 0;
	if (fchown(fd, d->uid, d->gid) < 0)
		return ct_err(-errno, "%s: cannot give the recreated file owner %u:%u: %m", what, d->uid,
			      d->gid);
	/* after the chown, which clears set-id bits */
	if (fchmod(fd, d->mode & 07777) < 0)
		return ct_err(-errno, "%s: cannot give the recreated file mode %o: %m", what,
			      d->mode & 07777);
	return 0;
}

/* Write @len bytes of @data into @fd, leaving holes where whole blocks are zero. */
static int deleted_fill(int fd, const uint8_t *data, uint64_t len, uint64_t size)
{
	static const uint8_t zero[DELETED_CHUNK];

	for (uint64_t off = 0; off < len; off += DELETED_CHUNK) {
		size_t n = min_t(uint64_t, DELETED_CHUNK, len - off);
		int ret;

		if (!memcmp(data + off, zero, n))
			continue;
		ret = pwrite_all(fd, data + off, n, (off_t)off);
		if (ret)
			return ret;
	}
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

/* A new unlinked regular file in @dir, read-write; -errno. */
static int deleted_new_file(const char *dir)
{
	char *name;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd < 0 ? -errno : fd;
	/* a file system without O_TMPFILE: a temporary name, unlinked at once */
	name = xasprintf("%s/.ctswap-deleted-XXXXXX", dir);
	if (!name)
		return -ENOMEM;
	fd = mkostemp(name, O_CLOEXEC);
	if (fd >= 0)
		unlink(name);
	free(name);
	return fd < 0 ? -errno : fd;
}

/* A new directory near @path, removed again, opened read-only; -errno. */
static int deleted_new_dir(const char *path, char *made, size_t size)
{
	char dir[PATH_MAX];
	int fd, err;

	deleted_dir_of(path, dir, sizeof(dir));
	if (snprintf(made, size, "%s/.ctswap-deleted-XXXXXX", dir) >= (int)size)
		return -ENAMETOOLONG;
	if (!mkdtemp(made))
		return -errno;
	fd = open(made, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	if (fd < 0) {
		rmdir(made);
		return -err;
	}
	return fd;
}

/* Recreate deleted file @i: a new unlinked inode, its contents, owner and mode. */
static int deleted_create(const struct ct_image *img, uint32_t i)
{
	const struct ct_file *f = &img->files[i];
	const struct ct_deleted *d = deleted_find(img, CT_DELETED_FILE, i);
	char dir[PATH_MAX], made[PATH_MAX];
	int fd, ret;

	if (d && S_ISDIR(d->mode)) {
		fd = deleted_new_dir(f->path, made, sizeof(made));
		if (fd >= 0)
			rmdir(made);
	} else {
		deleted_dir_of(f->path, dir, sizeof(dir));
		fd = deleted_new_file(dir);
		if (fd == -ENOENT || fd == -EACCES || fd == -EROFS)
			fd = deleted_new_file("/tmp");
	}
	if (fd < 0)
		return ct_err(fd, "%s: cannot recreate the deleted %s: %s", f->path,
			      d && S_ISDIR(d->mode) ? "directory" : "file", strerror(-fd));
	ret = d && S_ISDIR(d->mode) ? 0 : deleted_fill(fd, f->contents, f->contents_len,
						       d ? d->size : f->contents_len);
	if (ret)
		ret = ct_err(ret, "%s: cannot write the deleted file's contents: %s", f->path,
			     strerror(-ret));
	if (!ret)
		ret = deleted_set_attrs(fd, d, f->path);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * Open deleted description @i of @img: reopen the inode recreated for an
 * earlier description of it (in @ft), or recreate it.  Position and status
 * flags as dumped.
 */
int deleted_open(const struct ct_image *img, uint32_t i, const struct file_table *ft)
{
	const struct ct_file *f = &img->files[i];
	int first = deleted_first_of_inode(img, i), src, fd, flags;
	bool created = first < 0 || ft->fds[first] < 0;
	char self[64];

	src = created ? deleted_create(img, i) : ft->fds[first];
	if (src < 0)
		return src;
	/* not O_DIRECTORY: O_TMPFILE holds it too */
	flags = (int)(f->flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_LARGEFILE |
				  O_SYNC | O_DSYNC));
	snprintf(self, sizeof(self), "/proc/self/fd/%d", src);
	fd = open(self, flags | O_CLOEXEC);
	if (fd < 0)
		fd = ct_err(-errno, "%s: cannot reopen the recreated deleted file: %m", f->path);
	if (created)
		close(src);
	if (fd >= 0 && f->pos && lseek(fd, (off_t)f->pos, SEEK_SET) < 0)
		pr_warn("%s: cannot set position %llu: %m", f->path, (unsigned long long)f->pos);
	return fd;
}

/*
 * The fd, in the restored tasks, of the recreated file mapping @v maps (a
 * transport fd of @ft), so that the mapping and the fds share the inode;
 * -1 if @v maps no deleted file of the image.
 */
int deleted_map_fd(const struct ct_image *img, const struct file_table *ft, const struct ct_vma *v)
{
	int i;

	if (!img || !ft || !ft->fds || !deleted_vma(v))
		return -1;
	i = deleted_file_of_vma(img, v);
	return i < 0 || (uint32_t)i >= ft->nr ? -1 : ft->fds[i];
}

bool deleted_cwd_of(const struct ct_image *img, const struct ct_task *t)
{
	return deleted_find(img, CT_DELETED_CWD, (uint32_t)t->pid) != NULL;
}

/* Give task @t its removed working directory: a new one, entered, then removed. */
int restore_deleted_cwd(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t)
{
	const struct ct_deleted *d = deleted_find(img, CT_DELETED_CWD, (uint32_t)t->pid);
	char made[PATH_MAX];
	long ret;
	int fd;

	if (!d)
		return 0;
	fd = deleted_new_dir(d->path, made, sizeof(made));
	if (fd < 0)
		return ct_err(fd, "pid %d: cannot recreate its removed working directory %s: %s", t->pid,
			      d->path, strerror(-fd));
	ret = deleted_set_attrs(fd, d, d->path);
	close(fd);
	if (!ret)
		ret = inj_write_mem(tc->inj->tid, tc->scratch, made, strlen(made) + 1);
	if (!ret)
		ret = inj_syscall(tc->inj, __NR_chdir, tc->scratch, 0, 0, 0, 0, 0);
	rmdir(made);
	if (ret)
		return ct_err((int)ret, "pid %d: cannot enter its recreated working directory %s: %s",
			      t->pid, d->path, strerror((int)-ret));
	return 0;
}
