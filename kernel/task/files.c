// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Files: every fd of a task and the open file descriptions behind them.
 *
 * Dump reads /proc/PID/fd and /proc/PID/fdinfo from outside.  One
 * ct_file is recorded per open file description: fds that share one (dup,
 * fork) are found with kcmp(KCMP_FILE) among the fds already recorded for
 * the same inode, in this task and in the tasks of the image dumped before.
 * Pipe and FIFO contents are copied with tee(2), which leaves them unread.
 *
 * Restore opens every description in the restorer at fd numbers above all
 * of the image's fds (the restored tasks inherit them), then each task
 * dup3()s its fds into place by injection and closes everything else.
 */
#define LOG_PREFIX "files: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"
#include "task/task.h"

#ifndef KCMP_FILE
#define KCMP_FILE 0
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif

/* Flags that belong to the fd or to opening, not to the description. */
#define FILE_OPEN_ONLY_FLAGS (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC | FILE_TMPFILE_BIT)
/* The kernel's __O_TMPFILE; O_TMPFILE is this bit and O_DIRECTORY. */
#define FILE_TMPFILE_BIT 020000000

/* Character devices restored by opening their path again. */
static const char *const file_chr_allowed[] = {
	"/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full",
};

/* What /proc/PID/fdinfo/N says about one fd. */
struct fd_info {
	uint64_t pos;
	uint32_t flags;		/* includes O_CLOEXEC for the fd */
};

/* Parse pos: and flags: of /proc/PID/fdinfo/FD. */
static int fd_read_info(pid_t pid, int fd, struct fd_info *fi)
{
	char path[64], *buf, *p;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	ret = read_whole_file(path, &buf, NULL);
	if (ret)
		return ret;
	ret = -EINVAL;
	p = strstr(buf, "pos:");
	if (p)
		fi->pos = strtoull(p + 4, NULL, 10);
	p = strstr(buf, "flags:");
	if (p) {
		fi->flags = (uint32_t)strtoul(p + 6, NULL, 8);
		ret = 0;
	}
	free(buf);
	return ret;
}

/* /proc/PID/fdinfo/FD into a malloc'd string. */
int fd_read_fdinfo(pid_t pid, int fd, char **buf)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	return read_whole_file(path, buf, NULL);
}

/* A duplicate of fd @fd of @pid in this process, O_CLOEXEC; -errno with the message. */
int fd_grab(pid_t pid, int fd)
{
	int pidfd, dup, err;

	pidfd = (int)syscall(__NR_pidfd_open, pid, 0);
	if (pidfd < 0)
		return ct_err(-errno, "pid %d: pidfd_open: %m", pid);
	dup = (int)syscall(__NR_pidfd_getfd, pidfd, fd, 0);
	err = errno;
	close(pidfd);
	if (dup < 0)
		return ct_err(-err, "pid %d: fd %d: pidfd_getfd: %s", pid, fd, strerror(err));
	return dup;
}

/* Compare ints for qsort. */
static int fd_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* List the fd numbers of @pid, sorted. */
static int fd_list(pid_t pid, int **fds, uint32_t *nr)
{
	char path[64];
	struct dirent *de;
	size_t cap = 0;
	int *arr = NULL;
	uint32_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return ct_err(-errno, "pid %d: cannot list fds: %m", pid);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (xgrow(&arr, &cap, n + 1, sizeof(*arr))) {
			closedir(d);
			free(arr);
			return -ENOMEM;
		}
		arr[n++] = atoi(de->d_name);
	}
	closedir(d);
	qsort(arr, n, sizeof(*arr), fd_cmp);
	*fds = arr;
	*nr = n;
	return 0;
}

/* A readable name of an fd's type for the refusal message. */
static void fd_type_name(const char *link, char *buf, size_t size)
{
	const char *colon = strchr(link, ':');

	if (link[0] != '/' && colon && strncmp(link, "anon_inode:", 11) != 0)
		snprintf(buf, size, "%.*s", (int)(colon - link), link);
	else if (strncmp(link, "/memfd:", 7) == 0)
		snprintf(buf, size, "memfd");
	else
		snprintf(buf, size, "%s", link);
}

/* Is @path one of the character devices we reopen by path? */
static bool chr_is_allowed(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_chr_allowed); i++)
		if (!strcmp(path, file_chr_allowed[i]))
			return true;
	return false;
}

/* Fill a file identity from stat. */
static void file_id_from_stat(struct ct_file_id *id, const struct stat *st)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime_sec = st->st_mtim.tv_sec;
	id->mtime_nsec = st->st_mtim.tv_nsec;
}

/* Open /proc/PID/fd/FD again, giving a new description of the same file. */
static int fd_reopen(pid_t pid, int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	return open(path, flags | O_CLOEXEC);
}

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

/* Does @fd of @host_pid share description @idx? Asks kcmp against one fd already holding it. */
static bool file_same_description(const struct ct_image *img, const struct ct_task *t, pid_t host_pid,
				  uint32_t idx, int fd)
{
	for (uint32_t k = 0; k <= img->nr_tasks; k++) {
		const struct ct_task *o = k < img->nr_tasks ? &img->tasks[k] : t;
		pid_t opid = o == t ? host_pid : o->host_pid;

		if (k == img->nr_tasks && t >= img->tasks && t < img->tasks + img->nr_tasks)
			break;	/* t was already seen in the array */
		for (uint32_t j = 0; j < o->nr_fds; j++) {
			if (o->fds[j].file != idx)
				continue;
			/* one holder is enough: all its fds share the description */
			return syscall(SYS_kcmp, opid, host_pid, KCMP_FILE, o->fds[j].fd, fd) == 0;
		}
	}
	return false;
}

/* Index of an already recorded description that @fd of @host_pid shares, -1 if none. */
static int file_find_shared(const struct ct_image *img, const struct ct_task *t, pid_t host_pid,
			    int fd, const struct stat *st)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];

		if (f->id.dev != (uint64_t)st->st_dev || f->id.ino != (uint64_t)st->st_ino)
			continue;
		if (file_same_description(img, t, host_pid, i, fd))
			return (int)i;
	}
	return -1;
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

/* A socket: dispatch on its family. */
static int sock_dump(const struct fd_dump *d, struct ct_file *f)
{
	int sk, family = 0, ret;
	socklen_t len = sizeof(family);

	sk = fd_grab(d->pid, d->fd);
	if (sk < 0)
		return sk;
	if (getsockopt(sk, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0)
		family = -1;
	if (family == AF_UNIX)
		ret = unix_dump(d, sk, f);
	else if (family == AF_INET || family == AF_INET6)
		ret = inet_dump(d, sk, f);
	else
		ret = -EAFNOSUPPORT;
	close(sk);
	return ret;
}

/* Anonymous-inode kinds and sockets, by their link; -EAFNOSUPPORT: none of ours. */
static int file_dump_kind(const struct fd_dump *d, struct ct_file *f)
{
	static const struct {
		const char *link;
		int kind;
		int (*dump)(const struct fd_dump *d, struct ct_file *f);
	} kinds[] = {
		{ "anon_inode:[eventfd]", CT_FILE_EVENTFD, eventfd_dump },
		{ "anon_inode:[eventpoll]", CT_FILE_EPOLL, epoll_dump },
		{ "anon_inode:[signalfd]", CT_FILE_SIGNALFD, signalfd_dump },
		{ "anon_inode:[timerfd]", CT_FILE_TIMERFD, timerfd_dump },
		{ "anon_inode:inotify", CT_FILE_INOTIFY, inotify_dump },
	};

	if (S_ISSOCK(d->st->st_mode))
		return sock_dump(d, f);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (strcmp(d->link, kinds[i].link))
			continue;
		f->kind = kinds[i].kind;
		return kinds[i].dump(d, f);
	}
	return -EAFNOSUPPORT;
}

/* Fill @f for fd @fd of @pid; -ENOTSUP (with the message) for what we cannot restore. */
static int file_dump_one(const struct fd_dump *d, const struct fd_info *fi, struct ct_file *f)
{
	const struct ct_image *img = d->img;
	const struct stat *st = d->st;
	const char *link = d->link;
	pid_t pid = d->pid;
	int fd = d->fd, ret;
	char type[PATH_MAX + 32];
	const struct ct_file *same;
	size_t len = strlen(link);

	memset(f, 0, sizeof(*f));
	f->flags = fi->flags & ~O_CLOEXEC;
	f->pos = fi->pos;
	file_id_from_stat(&f->id, st);
	ret = file_dump_kind(d, f);
	if (ret != -EAFNOSUPPORT)
		return ret;
	if (S_ISFIFO(st->st_mode) && !strncmp(link, "pipe:[", 6)) {
		f->kind = CT_FILE_PIPE;
		same = pipe_find(img, CT_FILE_PIPE, st);
		f->pipe_id = same ? same->pipe_id : pipe_next_id(img);
		f->pipe_size = same ? same->pipe_size : 0;
		return same ? 0 : pipe_peek(pid, fd, f);
	}
	if (link[0] != '/' || !strncmp(link, "/memfd:", 7))
		goto unsupported;
	f->path = xstrdup(link);
	if (!f->path)
		return -ENOMEM;
	if (S_ISFIFO(st->st_mode)) {
		f->kind = CT_FILE_FIFO;
		same = pipe_find(img, CT_FILE_FIFO, st);
		f->pipe_size = same ? same->pipe_size : 0;
		return same ? 0 : pipe_peek(pid, fd, f);
	}
	if (S_ISCHR(st->st_mode) && tty_is_console(st)) {
		free(f->path);
		f->path = NULL;
		f->kind = CT_FILE_TTY;
		return tty_dump(d, f);
	}
	if (S_ISCHR(st->st_mode)) {
		if (!chr_is_allowed(link))
			goto unsupported;
		f->kind = CT_FILE_CHR;
		return 0;
	}
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		goto unsupported;
	f->kind = CT_FILE_REG;
	if (st->st_nlink > 0 && len > 10 && !strcmp(link + len - 10, " (deleted)"))
		return deleted_find_name(d, f);	/* linked since, under another name */
	if (st->st_nlink == 0) {
		/* contents, owner and mode: dump_deleted(), once every fd is known */
		f->deleted = true;
		if (len > 10 && !strcmp(link + len - 10, " (deleted)"))
			f->path[len - 10] = '\0';
		if (f->flags & O_PATH)
			goto unsupported;
	}
	return 0;

unsupported:
	free(f->path);
	f->path = NULL;
	fd_type_name(link, type, sizeof(type));
	return ct_err(-ENOTSUP, "pid %d: fd %d: unsupported file type %s", pid, fd, type);
}

/* Append @f to the image's files; returns its index or -ENOMEM. */
static int image_add_file(struct ct_image *img, const struct ct_file *f)
{
	struct ct_file *files = xrealloc(img->files, (img->nr_files + 1) * sizeof(*files));

	if (!files)
		return -ENOMEM;
	img->files = files;
	files[img->nr_files] = *f;
	return (int)img->nr_files++;
}

/* Free what file_dump_one() allocated in @f. */
static void file_release(struct ct_file *f)
{
	image_file_free(f);
}

/* Record one fd of the task: a new description or a share of a recorded one. */
static int fd_dump_one(struct task_ctx *tc, struct ct_image *img, struct ct_task *t, int fd)
{
	pid_t pid = tc->host_pid;
	char path[64], link[PATH_MAX];
	struct fd_info fi = { 0 };
	struct ct_file f;
	struct stat st;
	ssize_t n;
	int idx, ret;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot read the link: %m", pid, fd);
	link[n] = '\0';
	if (stat(path, &st) < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot stat %s: %m", pid, fd, link);
	ret = fd_read_info(pid, fd, &fi);
	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read fdinfo", pid, fd);

	idx = file_find_shared(img, t, pid, fd, &st);
	if (idx < 0) {
		struct fd_dump d = { .tc = tc, .img = img, .pid = pid, .fd = fd, .link = link, .st = &st };

		ret = file_dump_one(&d, &fi, &f);
		if (ret) {
			file_release(&f);
			return ret;
		}
		idx = image_add_file(img, &f);
		if (idx < 0) {
			file_release(&f);
			return idx;
		}
	}
	t->fds[t->nr_fds].fd = fd;
	t->fds[t->nr_fds].file = (uint32_t)idx;
	t->fds[t->nr_fds].cloexec = !!(fi.flags & O_CLOEXEC);
	t->nr_fds++;
	pr_debug("pid %d: fd %d -> file %d (%s)", pid, fd, idx, link);
	return 0;
}

/* Record every fd of the task and the descriptions not seen before in the image. */
int dump_task_files(struct task_ctx *tc, struct ct_image *img, struct ct_task *t)
{
	uint32_t nr = 0, first = img->nr_files;
	int *fds = NULL, ret = 0;

	ret = fd_list(tc->host_pid, &fds, &nr);
	if (ret)
		return ret;
	free(t->fds);
	t->nr_fds = 0;
	t->fds = xzalloc((nr ? nr : 1) * sizeof(*t->fds));
	if (!t->fds) {
		free(fds);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nr && !ret; i++)
		ret = fd_dump_one(tc, img, t, fds[i]);
	free(fds);
	if (!ret)
		ret = epoll_dump_resolve(img, t, first);
	return ret;
}

/* ---- restore ---- */

/* Flags to open a description with again. */
static int file_open_flags(const struct ct_file *f)
{
	int flags = (int)(f->flags & ~FILE_OPEN_ONLY_FLAGS);

	/* an O_TMPFILE file linked since: a plain file */
	if (f->flags & FILE_TMPFILE_BIT)
		flags &= ~O_DIRECTORY;
	return flags | O_CLOEXEC;
}

/* Open a regular file, directory or char device by path and place its position. */
static int file_open_path(const struct ct_file *f, bool allow_changed)
{
	int fd, ret;

	fd = open(f->path, file_open_flags(f));
	if (fd < 0)
		return ct_err(-errno, "%s: cannot open: %m", f->path);
	if (f->kind == CT_FILE_REG) {
		ret = file_check_changed(f, fd, allow_changed);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	if (f->kind == CT_FILE_REG && !(f->flags & O_PATH) && f->pos &&
	    lseek(fd, (off_t)f->pos, SEEK_SET) < 0)
		pr_warn("%s: cannot set position %llu: %m", f->path, (unsigned long long)f->pos);
	return fd;
}

/* Move @fd to the first free number >= @base; closes the original. */
int file_place_high(int fd, int base, struct file_table *ft)
{
	int nfd;

	if (fd < 0)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, base);
	if (nfd < 0) {
		nfd = ct_err(-errno, "cannot place a file at fd >= %d: %m", base);
		close(fd);
		return nfd;
	}
	close(fd);
	if (ft->lowest < 0 || nfd < ft->lowest)
		ft->lowest = nfd;
	if (nfd > ft->highest)
		ft->highest = nfd;
	return nfd;
}

/* Put @len bytes back into a pipe through its write end @wfd (which must not block). */
static int pipe_refill(int wfd, uint32_t size, const uint8_t *data, uint64_t len, const char *what)
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

/* Set the status flags (O_NONBLOCK, O_APPEND...) of a reopened description. */
void file_set_status(int fd, const struct ct_file *f)
{
	int want = (int)(f->flags & (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME));

	if (fcntl(fd, F_SETFL, want) < 0)
		pr_warn("cannot set flags %o on a file: %m", want);
}

/* Create pipe @pipe_id once and open every description of it listed in the image. */
static int pipe_open_all(const struct ct_image *img, uint32_t first, int base, struct file_table *ft)
{
	const struct ct_file *f0 = &img->files[first];
	char what[32], self[64];
	int p[2], ret = 0;
	bool used[2] = { false, false };

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
		file_set_status(fd, f);
		ft->fds[i] = file_place_high(fd, base, ft);
		if (ft->fds[i] < 0) {
			ret = ft->fds[i];
			goto out_close;
		}
	}
	/* keep an end nobody holds open until the tasks have theirs */
	if (!used[0] || !used[1])
		ft->peer_fds[first] = file_place_high(fcntl(p[used[0] ? 1 : 0], F_DUPFD_CLOEXEC, 0),
						   base, ft);
out_close:
	close(p[0]);
	close(p[1]);
	return ret;
}

/* Open a FIFO by path without blocking, with a holder that keeps it open and refills it. */
static int fifo_open(const struct ct_file *f, bool allow_changed, int base, struct file_table *ft,
		     uint32_t i)
{
	int holder, fd, ret, queued = 0;

	holder = open(f->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (holder < 0)
		return ct_err(-errno, "%s: cannot open the fifo: %m", f->path);
	ret = file_check_changed(f, holder, allow_changed);
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
	file_set_status(fd, f);
	ft->peer_fds[i] = file_place_high(holder, base, ft);
	ft->fds[i] = file_place_high(fd, base, ft);
	return ft->fds[i] < 0 ? ft->fds[i] : 0;
}

/* The lowest fd number above every fd of the image. */
static int files_base(const struct ct_image *img)
{
	int base = 3;

	for (uint32_t k = 0; k < img->nr_tasks; k++)
		for (uint32_t j = 0; j < img->tasks[k].nr_fds; j++)
			if (img->tasks[k].fds[j].fd >= base)
				base = img->tasks[k].fds[j].fd + 1;
	return base;
}

static int file_open_kind(const struct ct_image *img, uint32_t i, bool allow_changed, int base,
			  struct file_table *ft);

/* Open every description of the image in the restorer, above the image's fd numbers. */
int restore_files_open(const struct ct_image *img, bool allow_changed, struct file_table *ft)
{
	int base = files_base(img), ret = 0;

	memset(ft, 0, sizeof(*ft));
	ft->lowest = ft->highest = ft->tty_master = -1;
	ft->fds = xmalloc((img->nr_files + 1) * sizeof(int));
	ft->peer_fds = xmalloc((img->nr_files + 1) * sizeof(int));
	if (!ft->fds || !ft->peer_fds) {
		free(ft->fds);
		free(ft->peer_fds);
		return -ENOMEM;
	}
	ft->nr = img->nr_files;
	for (uint32_t i = 0; i < img->nr_files; i++)
		ft->fds[i] = ft->peer_fds[i] = -1;

	ft->files = img->files;
	for (uint32_t i = 0; i < 2 * img->nr_files && !ret; i++) {
		bool late = i >= img->nr_files;
		const struct ct_file *f = &img->files[late ? i - img->nr_files : i];

		if (ft->fds[f - img->files] >= 0)
			continue;
		/* unix clients of names bound in the image connect once every name is bound */
		if (f->kind == CT_FILE_UNIX && unix_open_late(img, f - img->files) != late)
			continue;
		/* live TCP connections after the listeners that share their port */
		if (f->kind == CT_FILE_INET && !!(f->sk_opts & CT_SKOPT_REPAIR) != late)
			continue;
		if (late && f->kind != CT_FILE_UNIX && f->kind != CT_FILE_INET)
			continue;
		ret = file_open_kind(img, f - img->files, allow_changed, base, ft);
	}
	if (ret)
		restore_files_close(ft);
	else
		pr_debug("%u files open at fds %d..%d", ft->nr, ft->lowest, ft->highest);
	return ret;
}

/* Open description @i of the image into @ft by its kind. */
static int file_open_kind(const struct ct_image *img, uint32_t i, bool allow_changed, int base,
			  struct file_table *ft)
{
	const struct ct_file *f = &img->files[i];
	int ret = 0, fd = -1;

	switch (f->kind) {
	case CT_FILE_PIPE:
		return pipe_open_all(img, i, base, ft);
	case CT_FILE_FIFO:
		return fifo_open(f, allow_changed, base, ft, i);
	case CT_FILE_UNIX:
		return unix_open(img, i, base, ft);
	case CT_FILE_TTY:
		return tty_open(img, i, base, ft);
	case CT_FILE_REG:
	case CT_FILE_CHR:
		fd = f->deleted ? deleted_open(img, i, ft) : file_open_path(f, allow_changed);
		break;
	case CT_FILE_INET:
		fd = inet_open(f);
		break;
	case CT_FILE_EPOLL:
		fd = epoll_open(f);
		break;
	case CT_FILE_EVENTFD:
		fd = eventfd_open(f);
		break;
	case CT_FILE_SIGNALFD:
		fd = signalfd_open(f);
		break;
	case CT_FILE_TIMERFD:
		fd = timerfd_open(f);
		break;
	case CT_FILE_INOTIFY:
		fd = inotify_open(f);
		break;
	default:
		return ct_err(-EINVAL, "file %u: unknown kind %u in the image", i, f->kind);
	}
	if (fd >= 0 && f->kind != CT_FILE_REG && f->kind != CT_FILE_CHR)
		file_set_status(fd, f);
	ft->fds[i] = file_place_high(fd, base, ft);
	ret = ft->fds[i] < 0 ? ft->fds[i] : 0;
	return ret;
}

/* Close the restorer's transport fds. */
void restore_files_close(struct file_table *ft)
{
	for (uint32_t i = 0; i < ft->nr; i++) {
		if (ft->fds && ft->fds[i] >= 0)
			close(ft->fds[i]);
		if (ft->peer_fds && ft->peer_fds[i] >= 0)
			close(ft->peer_fds[i]);
	}
	if (ft->tty_master >= 0)
		close(ft->tty_master);
	ft->tty_master = -1;
	free(ft->fds);
	free(ft->peer_fds);
	ft->fds = ft->peer_fds = NULL;
	ft->files = NULL;
	ft->nr = 0;
}

/* Close fds [@lo, @hi] in the tracee. */
static int inj_close_range(struct task_ctx *tc, unsigned int lo, unsigned int hi)
{
	long ret = inj_syscall(tc->inj, __NR_close_range, lo, hi, 0, 0, 0, 0);

	return ret < 0 ? (int)ret : 0;
}

/*
 * In the restored task: dup3 every fd of the image from its transport fd,
 * then close every other fd (the transport range and whatever the task
 * inherited from the restorer), so the task holds exactly its image fds.
 */
int restore_task_files(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft)
{
	long prev = -1, ret;

	for (uint32_t i = 0; i < t->nr_fds; i++) {
		const struct ct_fd *d = &t->fds[i];

		if (d->file >= ft->nr || ft->fds[d->file] < 0)
			return ct_err(-EINVAL, "pid %d: fd %d: file %u not opened", t->pid, d->fd, d->file);
		ret = inj_syscall(tc->inj, __NR_dup3, ft->fds[d->file], d->fd,
				  d->cloexec ? O_CLOEXEC : 0, 0, 0, 0);
		if (ret < 0)
			return ct_err((int)ret, "pid %d: fd %d: cannot install: %s", t->pid, d->fd,
				      strerror((int)-ret));
	}
	for (uint32_t i = 0; i < t->nr_fds; i++) {
		if (t->fds[i].fd > prev + 1) {
			ret = inj_close_range(tc, prev + 1, t->fds[i].fd - 1);
			if (ret)
				return ct_err((int)ret, "pid %d: cannot close fds: %s", t->pid, strerror((int)-ret));
		}
		prev = t->fds[i].fd;
	}
	ret = inj_close_range(tc, prev + 1, ~0U);
	if (ret)
		return ct_err((int)ret, "pid %d: cannot close fds: %s", t->pid, strerror((int)-ret));
	return epoll_restore_task(tc, t, ft);
}
