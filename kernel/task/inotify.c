// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * inotify instances and their watches.
 *
 * fdinfo gives each watch as (wd, mask, filesystem, inode, file handle);
 * dump opens the handle on a mount of that filesystem (open_by_handle_at)
 * and records the path of the watched inode.  A watched file that has been
 * deleted lives on while an fd holds it (its watch goes only when the
 * inode does, with IN_DELETE_SELF and IN_IGNORED): the watch then names the
 * file record of that fd, found by inode in the image (a deleted file's
 * contents are stored and it comes back as an unlinked file), and restore
 * watches the new file through its transport fd (/proc/self/fd/N), so
 * those inotify instances open in the second pass.  Restore adds the
 * watches again in wd order; the kernel hands out wds one after the other,
 * so a gap in the numbers is skipped by adding and removing a watch on a
 * scratch directory.
 *
 * Events queued but not read yet refuse the dump.  The kernel shows only
 * their size (FIONREAD): reading them is the only way to learn them and
 * takes them from the program, which a refused or --leave-running dump
 * must not do.  (A restore could make some again: a gone inode's
 * IN_ATTRIB, IN_DELETE_SELF and IN_IGNORED by watching and deleting a
 * scratch file under the same wd; but an event under a wd still watched
 * only by acting on the watched file itself, an IN_MODIFY by changing it.)
 * This covers a watch whose inode is gone (deleted, no longer open): the
 * kernel queues IN_DELETE_SELF and IN_IGNORED and drops the watch; once
 * the program has read them the wd is only a gap, skipped at restore.
 */
#define LOG_PREFIX "inotify: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

#define INOTIFY_HANDLE_MAX 128
#define INOTIFY_UNRESOLVED UINT32_MAX	/* ct_inotify_watch.file not found yet */

/* Open a directory of a mounted filesystem with device @dev, -1 if none. */
static int inotify_mount_fd(dev_t dev)
{
	unsigned int maj, min;
	char *text, *line, *save = NULL, mnt[PATH_MAX];
	int fd = -1;

	if (read_whole_file("/proc/self/mountinfo", &text, NULL))
		return -1;
	for (line = strtok_r(text, "\n", &save); line && fd < 0; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    makedev(maj, min) != dev || strchr(mnt, '\\'))
			continue;
		fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);	/* not O_PATH: open_by_handle_at refuses it */
	}
	free(text);
	return fd;
}

/* The path of the inode a file handle names on the filesystem @sdev (kernel encoding). */
static int inotify_handle_path(unsigned long sdev, int type, const char *hex, unsigned int bytes,
			       char **path)
{
	uint64_t hbuf[(sizeof(struct file_handle) + INOTIFY_HANDLE_MAX) / 8 + 1];
	struct file_handle *fh = (struct file_handle *)hbuf;
	unsigned char *hb = (unsigned char *)hbuf + sizeof(*fh);
	char self[64], buf[PATH_MAX];
	int mfd, fd;
	ssize_t n;

	if (bytes > INOTIFY_HANDLE_MAX)
		return -EINVAL;
	fh->handle_bytes = bytes;
	fh->handle_type = type;
	for (unsigned int i = 0; i < bytes; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &hb[i]) != 1)
			return -EINVAL;
	mfd = inotify_mount_fd(makedev(sdev >> 20, sdev & 0xfffff));
	if (mfd < 0)
		return -ENOENT;
	fd = open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return -errno;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	n = readlink(self, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -errno;
	buf[n] = '\0';
	if (strstr(buf, " (deleted)"))
		return -ENOENT;
	*path = xstrdup(buf);
	return *path ? 0 : -ENOMEM;
}

/* Compare watches by wd for qsort. */
static int inotify_wd_cmp(const void *a, const void *b)
{
	const struct ct_inotify_watch *x = a, *y = b;

	return (x->wd > y->wd) - (x->wd < y->wd);
}

/* Refuse an instance with events queued that the program has not read (see the top). */
static int inotify_check_queue(const struct fd_dump *d)
{
	int in = fd_grab(d->pid, d->fd), queued = 0;

	if (in < 0)
		return ct_err(in, "pid %d: fd %d: cannot reach the inotify instance: %s", d->pid, d->fd,
			      strerror(-in));
	if (ioctl(in, FIONREAD, &queued) < 0)
		queued = -errno;
	close(in);
	if (queued < 0)
		return ct_err(queued, "pid %d: fd %d: cannot size the inotify queue: %s", d->pid, d->fd,
			      strerror(-queued));
	if (queued > 0)
		return ct_err(-ENOTSUP, "pid %d: fd %d: inotify instance has %d bytes of events the program has not read (they cannot be kept: dump again once it has read them)",
			      d->pid, d->fd, queued);
	return 0;
}

static bool inotify_match(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:inotify");
}

/* Record every watch of an inotify instance with the path of what it watches. */
static int inotify_dump(const struct fd_dump *d, struct ct_file *f)
{
	char *buf, *p;
	size_t cap = 0;
	int ret = fd_read_fdinfo(d->pid, d->fd, &buf);

	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read fdinfo", d->pid, d->fd);
	for (p = buf; !ret && (p = strstr(p, "inotify wd:")); p++) {
		unsigned int wd, mask, bytes;
		unsigned long sdev;
		int type, off = 0;
		struct ct_inotify_watch *w;

		unsigned long ino;

		if (sscanf(p, "inotify wd:%u ino:%lx sdev:%lx mask:%x ignored_mask:%*x fhandle-bytes:%x fhandle-type:%x f_handle:%n",
			   &wd, &ino, &sdev, &mask, &bytes, &type, &off) != 6 || !off) {
			ret = ct_err(-EINVAL, "pid %d: fd %d: cannot parse inotify fdinfo", d->pid, d->fd);
			break;
		}
		if (xgrow(&f->watches, &cap, f->nr_watches + 1, sizeof(*f->watches))) {
			ret = -ENOMEM;
			break;
		}
		w = &f->watches[f->nr_watches++];
		memset(w, 0, sizeof(*w));
		w->wd = (int32_t)wd;
		w->mask = mask;
		w->ino = ino;
		w->dev = makedev(sdev >> 20, sdev & 0xfffff);
		w->file = INOTIFY_UNRESOLVED;
		ret = inotify_handle_path(sdev, type, p + off, bytes, &w->path);
		if (ret == -ENOENT || ret == -ESTALE)
			ret = 0;	/* deleted: by the fd that holds it (inotify_dump_resolve) */
		else if (ret)
			ret = ct_err(ret, "pid %d: fd %d: inotify watch %u: cannot find the watched file: %s",
				     d->pid, d->fd, wd, strerror(-ret));
	}
	free(buf);
	if (!ret && f->nr_watches)
		qsort(f->watches, f->nr_watches, sizeof(*f->watches), inotify_wd_cmp);
	return ret ? ret : inotify_check_queue(d);
}

/* The regular file of the image held by an fd with inode (@dev, @ino), -1 if none. */
static int inotify_find_file(const struct ct_image *img, uint64_t dev, uint64_t ino)
{
	for (uint32_t k = 0; k < img->nr_tasks; k++)
		for (uint32_t j = 0; j < img->tasks[k].nr_fds; j++) {
			const struct ct_file *o = &img->files[img->tasks[k].fds[j].file];

			if (o->kind == CT_FILE_REG && o->id.ino == ino && o->id.dev == dev)
				return (int)img->tasks[k].fds[j].file;
		}
	return -1;
}

/* Name the deleted files watched by inotify file @f by the records of the fds holding them. */
static void inotify_resolve(const struct ct_image *img, struct ct_file *f)
{
	for (uint32_t k = 0; k < f->nr_watches; k++) {
		struct ct_inotify_watch *w = &f->watches[k];
		int idx;

		if (w->path || w->file != INOTIFY_UNRESOLVED)
			continue;
		idx = inotify_find_file(img, w->dev, w->ino);
		if (idx >= 0)
			w->file = (uint32_t)idx;
	}
}

static int inotify_dump_resolve(struct task_ctx *tc, struct ct_image *img, const struct ct_task *t,
				uint32_t i, int fd)
{
	(void)tc;
	(void)t;
	(void)fd;
	inotify_resolve(img, &img->files[i]);
	return 0;
}

/* Once every task is recorded: refuse a watch on a deleted file no fd of the container holds. */
static int inotify_dump_finish(struct ct_image *img, uint32_t i, const struct task_ctx *policy)
{
	struct ct_file *f = &img->files[i];

	(void)policy;
	inotify_resolve(img, f);
	for (uint32_t k = 0; k < f->nr_watches; k++) {
		const struct ct_inotify_watch *w = &f->watches[k];

		if (!w->path && w->file == INOTIFY_UNRESOLVED)
			return ct_err(-ENOTSUP, "inotify file %u: watch %d: the watched file (inode %llu) was deleted and no fd of the container holds it (a mapping or a process outside keeps it)",
				      i, w->wd, (unsigned long long)w->ino);
	}
	return 0;
}

/* Use up watch descriptors until the next one handed out is @wd. */
static int inotify_skip_to(int fd, int next, int wd)
{
	char dir[] = "/tmp/ctswap-inotify-XXXXXX";
	int got;

	if (!mkdtemp(dir))
		return -errno;
	while (next < wd) {
		got = inotify_add_watch(fd, dir, IN_ATTRIB);
		if (got < 0 || inotify_rm_watch(fd, got) < 0)
			break;
		next = got + 1;
	}
	rmdir(dir);
	/* drop the IN_IGNORED events the removals queued: the program never asked for them */
	{
		char buf[4096];
		int fl = fcntl(fd, F_GETFL);

		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		fcntl(fd, F_SETFL, fl);
	}
	return next == wd ? 0 : -EIO;
}

/* What to watch for @w: its path, or the transport fd of the deleted file (into @buf). */
static const char *inotify_watch_path(const struct ct_inotify_watch *w, const struct file_table *ft,
				      char *buf, size_t size)
{
	if (w->path)
		snprintf(buf, size, "%s", w->path);
	else
		snprintf(buf, size, "/proc/self/fd/%d", ft->fds[w->file]);
	return buf;
}

/* A new inotify instance with the same watches under the same wds. */
static int inotify_create(const struct ct_file *f, const struct file_table *ft)
{
	char self[PATH_MAX + 32];
	int fd, next = 1, got, ret;

	fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0)
		return ct_err(-errno, "inotify: cannot create: %m");
	for (uint32_t i = 0; i < f->nr_watches; i++) {
		const struct ct_inotify_watch *w = &f->watches[i];

		if (w->wd > next) {
			ret = inotify_skip_to(fd, next, w->wd);
			if (ret) {
				ret = ct_err(ret, "inotify: cannot skip to watch %d: %s", w->wd, strerror(-ret));
				goto fail;
			}
		}
		got = inotify_add_watch(fd, inotify_watch_path(w, ft, self, sizeof(self)), w->mask);
		if (got < 0) {
			ret = ct_err(-errno, "inotify: cannot watch %s again: %m", self);
			goto fail;
		}
		if (got != w->wd) {
			ret = ct_err(-EIO, "inotify: %s got watch %d, not %d", self, got, w->wd);
			goto fail;
		}
		next = got + 1;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

static int inotify_open(struct fd_restore *rs, uint32_t i)
{
	return fd_restore_place(rs, i, inotify_create(&rs->img->files[i], rs->ft));
}

/* Watches of deleted files need those files open first. */
static bool inotify_open_late(const struct ct_image *img, uint32_t i)
{
	const struct ct_file *f = &img->files[i];

	for (uint32_t k = 0; k < f->nr_watches; k++)
		if (!f->watches[k].path)
			return true;
	return false;
}

/* ---- blob ---- */

static void inotify_encode(struct wbuf *w, const struct ct_file *f)
{
	for (uint32_t i = 0; i < f->nr_watches; i++) {
		const struct ct_inotify_watch *iw = &f->watches[i];
		size_t at = w_begin(w, REC_FILE_INOTIFY_WATCH);

		w_u32(w, (uint32_t)iw->wd);
		w_u32(w, iw->mask);
		w_str(w, iw->path);
		w_u32(w, iw->path ? 0 : iw->file + 1);
		w_end(w, at);
	}
}

static void inotify_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	struct ct_inotify_watch *iw;

	if (tag != REC_FILE_INOTIFY_WATCH)
		return;
	iw = r_push(r, &f->watches, &f->nr_watches, sizeof(*iw), 1 << 20);
	if (!iw)
		return;
	iw->wd = r_i32(r);
	iw->mask = r_u32(r);
	iw->path = r_str(r);
	iw->file = r_u32(r) - 1;	/* 0 (by path) reads as UINT32_MAX */
}

/* Every watch has a positive wd and an absolute path or a deleted regular file of the image. */
static bool inotify_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	for (uint32_t i = 0; i < f->nr_watches; i++) {
		const struct ct_inotify_watch *w = &f->watches[i];
		bool by_file = !w->path && w->file < img->nr_files && img->files[w->file].kind == CT_FILE_REG;

		if (w->wd <= 0 || !(by_file || image_path_is_sane(w->path)))
			return false;
	}
	return true;
}

static void inotify_free(struct ct_file *f)
{
	for (uint32_t i = 0; i < f->nr_watches; i++)
		free(f->watches[i].path);
	free(f->watches);
}

const struct fd_kind fd_kind_inotify = {
	.kind = CT_FILE_INOTIFY,
	.fmt = {
		.name = "inotify",
		.encode = inotify_encode,
		.decode = inotify_decode,
		.is_sane = inotify_is_sane,
		.free = inotify_free,
	},
	.match = inotify_match,
	.dump = inotify_dump,
	.dump_resolve = inotify_dump_resolve,
	.dump_finish = inotify_dump_finish,
	.open = inotify_open,
	.open_late = inotify_open_late,
};
