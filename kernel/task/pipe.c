// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Pipes and FIFOs (named pipes).
 *
 * Dump copies the unread bytes with tee(2), which leaves them unread, once
 * per pipe (on the first end recorded); both ends of a pipe get the same
 * pipe id.  Restore creates each pipe once, refills it and opens every end
 * recorded; a FIFO is opened by path, with a holder description that keeps
 * it open (and refilled) until the tasks hold their ends.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

/* ---- dump ---- */

/*
 * Copy the unread bytes of a pipe or FIFO without consuming them: open a
 * readable end through /proc (a duplicated write end cannot be tee'd) and
 * tee it into a pipe of our own of the same size.
 */
static int pipe_peek(pid_t pid, int fd, struct ct_file *f)
{
	int rfd, tmp[2] = { -1, -1 }, ret = 0, size;
	ssize_t n, got = 0;

	rfd = fd_reopen(pid, fd, O_RDONLY | O_NONBLOCK);
	if (rfd < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot open the pipe to read its contents: %m",
			      pid, fd);
	size = fcntl(rfd, F_GETPIPE_SZ);
	if (size < 0 || pipe2(tmp, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		goto out_close;
	}
	f->pipe_size = size;
	if (fcntl(tmp[1], F_SETPIPE_SZ, size) < 0) {
		ret = ct_err(-errno, "pid %d: fd %d: cannot size a pipe to %d bytes: %m", pid, fd, size);
		goto out_close;
	}
	n = tee(rfd, tmp[1], INT_MAX, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN) {
		ret = ct_err(-errno, "pid %d: fd %d: tee of the pipe failed: %m", pid, fd);
		goto out_close;
	}
	if (n <= 0)
		goto out_close;
	f->pipe_data = xmalloc(n);
	if (!f->pipe_data) {
		ret = -ENOMEM;
		goto out_close;
	}
	while (got < n) {
		ssize_t r = read(tmp[0], f->pipe_data + got, n - got);

		if (r <= 0) {
			ret = ct_err(-EIO, "pid %d: fd %d: short read of pipe contents", pid, fd);
			goto out_close;
		}
		got += r;
	}
	f->pipe_data_len = n;
out_close:
	if (tmp[0] >= 0) {
		close(tmp[0]);
		close(tmp[1]);
	}
	close(rfd);
	return ret;
}

/* Has a pipe or FIFO with this inode already got its contents stored? */
static const struct ct_file *pipe_find(const struct ct_image *img, uint32_t kind, const struct stat *st)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];

		if (f->kind == kind && f->id.dev == (uint64_t)st->st_dev && f->id.ino == (uint64_t)st->st_ino)
			return f;
	}
	return NULL;
}

/* Next free pipe id of the image. */
static uint32_t pipe_next_id(const struct ct_image *img)
{
	uint32_t id = 0;

	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == CT_FILE_PIPE && img->files[i].pipe_id >= id)
			id = img->files[i].pipe_id + 1;
	return id;
}

static bool pipe_match(const struct fd_dump *d)
{
	return S_ISFIFO(d->st->st_mode) && !strncmp(d->link, "pipe:[", 6);
}

/* One end of a pipe: its pipe id, and the contents if the pipe is new. */
static int pipe_dump(const struct fd_dump *d, struct ct_file *f)
{
	const struct ct_file *same = pipe_find(d->img, CT_FILE_PIPE, d->st);

	f->pipe_id = same ? same->pipe_id : pipe_next_id(d->img);
	f->pipe_size = same ? same->pipe_size : 0;
	return same ? 0 : pipe_peek(d->pid, d->fd, f);
}

static bool fifo_match(const struct fd_dump *d)
{
	return S_ISFIFO(d->st->st_mode) && d->link[0] == '/' && strncmp(d->link, "/memfd:", 7);
}

/* A FIFO by path, with its contents if no other description of it was recorded. */
static int fifo_dump(const struct fd_dump *d, struct ct_file *f)
{
	const struct ct_file *same = pipe_find(d->img, CT_FILE_FIFO, d->st);

	f->path = xstrdup(d->link);
	if (!f->path)
		return -ENOMEM;
	f->pipe_size = same ? same->pipe_size : 0;
	return same ? 0 : pipe_peek(d->pid, d->fd, f);
}

/* ---- blob ---- */

static void pipe_encode(struct wbuf *w, const struct ct_file *f)
{
	size_t at = w_begin(w, REC_FILE_PIPE);

	w_u32(w, f->pipe_id);
	w_bytes(w, f->pipe_data, f->pipe_data_len);
	w_u32(w, f->pipe_size);
	w_end(w, at);
}

static void pipe_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag != REC_FILE_PIPE || f->pipe_data)
		return;
	f->pipe_id = r_u32(r);
	f->pipe_data = r_bytes(r, &f->pipe_data_len, 1 << 24);
	f->pipe_size = r_u32(r);
}

static void pipe_free(struct ct_file *f)
{
	free(f->pipe_data);
}

/* ---- restore ---- */

/* Put @len bytes back into a pipe through its write end @wfd (which must not block). */
int pipe_refill(int wfd, uint32_t size, const uint8_t *data, uint64_t len, const char *what)
{
	int fl = fcntl(wfd, F_GETFL);
	ssize_t n;

	if (size && fcntl(wfd, F_SETPIPE_SZ, size) < 0)
		pr_warn("%s: cannot size the pipe to %u bytes: %m", what, size);
	if (!len)
		return 0;
	fcntl(wfd, F_SETFL, fl | O_NONBLOCK);
	n = write(wfd, data, len);
	fcntl(wfd, F_SETFL, fl);
	if (n != (ssize_t)len)
		return ct_err(n < 0 ? -errno : -ENOSPC, "%s: cannot refill %llu bytes of pipe contents",
			      what, (unsigned long long)len);
	return 0;
}

/*
 * A pipe the caller hands over (a runtime's stdout/stderr pipe, CRIU's
 * inherit_fd "pipe:[INODE]"): every description of the dumped one is opened
 * from it, the first of an end as the given description itself.  Its other
 * end and its contents are the caller's.
 */
static int pipe_open_inherited(struct fd_restore *rs, uint32_t first)
{
	const struct ct_image *img = rs->img;
	const struct ct_file *f0 = &img->files[first];
	bool used = false;
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", f0->pipe_inherit_fd);
	for (uint32_t i = first; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];
		int fd, ret;

		if (f->kind != CT_FILE_PIPE || f->pipe_id != f0->pipe_id)
			continue;
		if (!used) {
			fd = fcntl(f0->pipe_inherit_fd, F_DUPFD_CLOEXEC, 0);
			used = true;
		} else {
			fd = open(self, (f->flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
		}
		if (fd < 0)
			return ct_err(-errno, "pipe %u: cannot open the inherited fd %d: %m", f0->pipe_id,
				      f0->pipe_inherit_fd);
		ret = fd_restore_place(rs, i, fd);
		if (ret)
			return ret;
	}
	return 0;
}

/* Create pipe @pipe_id of file @first once and open every description of it listed in the image. */
static int pipe_open(struct fd_restore *rs, uint32_t first)
{
	const struct ct_image *img = rs->img;
	const struct ct_file *f0 = &img->files[first];
	struct file_table *ft = rs->ft;
	char what[32], self[64];
	int p[2], ret = 0;
	bool used[2] = { false, false };

	if (f0->pipe_inherited)
		return pipe_open_inherited(rs, first);
	snprintf(what, sizeof(what), "pipe %u", f0->pipe_id);
	if (pipe2(p, O_CLOEXEC) < 0)
		return ct_err(-errno, "%s: cannot create: %m", what);
	for (uint32_t i = first; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];

		if (f->kind != CT_FILE_PIPE || f->pipe_id != f0->pipe_id)
			continue;
		if (f->pipe_data_len || f->pipe_size) {
			ret = pipe_refill(p[1], f->pipe_size, f->pipe_data, f->pipe_data_len, what);
			if (ret)
				goto out_close;
		}
	}
	for (uint32_t i = first; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];
		int acc = f->flags & O_ACCMODE, end = acc == O_WRONLY ? 1 : 0, fd;

		if (f->kind != CT_FILE_PIPE || f->pipe_id != f0->pipe_id)
			continue;
		if (!used[end] && acc != O_RDWR) {
			fd = fcntl(p[end], F_DUPFD_CLOEXEC, 0);
			used[end] = true;
		} else {
			snprintf(self, sizeof(self), "/proc/self/fd/%d", p[end]);
			fd = open(self, acc | O_NONBLOCK | O_CLOEXEC);
		}
		if (fd < 0) {
			ret = ct_err(-errno, "%s: cannot open an end: %m", what);
			goto out_close;
		}
		ret = fd_restore_place(rs, i, fd);
		if (ret)
			goto out_close;
	}
	/* keep an end nobody holds open until the tasks have theirs */
	if (!used[0] || !used[1])
		ft->peer_fds[first] = file_place_high(fcntl(p[used[0] ? 1 : 0], F_DUPFD_CLOEXEC, 0),
						   rs->base, ft);
out_close:
	close(p[0]);
	close(p[1]);
	return ret;
}

/* Open a FIFO by path without blocking, with a holder that keeps it open and refills it. */
static int fifo_open(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	int holder, fd, ret, queued = 0;

	holder = open(f->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (holder < 0)
		return ct_err(-errno, "%s: cannot open the fifo: %m", f->path);
	ret = rs->allow_changed ? 0 : file_check_id(f, holder, false);
	if (!ret && ioctl(holder, FIONREAD, &queued) == 0 && queued > 0) {
		/* someone outside kept it open: its data is still there */
		pr_warn("%s: fifo still holds %d bytes; not refilled", f->path, queued);
	} else if (!ret) {
		ret = pipe_refill(holder, f->pipe_size, f->pipe_data, f->pipe_data_len, f->path);
	}
	if (ret) {
		close(holder);
		return ret;
	}
	fd = open(f->path, (f->flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = ct_err(-errno, "%s: cannot open the fifo: %m", f->path);
		close(holder);
		return ret;
	}
	rs->ft->peer_fds[i] = file_place_high(holder, rs->base, rs->ft);
	return fd_restore_place(rs, i, fd);
}

const struct fd_kind fd_kind_pipe = {
	.kind = CT_FILE_PIPE,
	.fmt = {
		.name = "pipe",
		.encode = pipe_encode,
		.decode = pipe_decode,
		.free = pipe_free,
	},
	.match = pipe_match,
	.dump = pipe_dump,
	.open = pipe_open,
};

const struct fd_kind fd_kind_fifo = {
	.kind = CT_FILE_FIFO,
	.fmt = {
		.name = "fifo",
		.encode = pipe_encode,
		.decode = pipe_decode,
		.is_sane = file_has_path,
		.free = pipe_free,
	},
	.match = fifo_match,
	.dump = fifo_dump,
	.open = fifo_open,
};
