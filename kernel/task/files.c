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
 * What a description holds is read by its kind (fdkinds.h), found by
 * asking each kind of the table in turn.
 *
 * Restore opens every description in the restorer at fd numbers above all
 * of the image's fds (the restored tasks inherit them), each by its kind,
 * then each task dup3()s its fds into place by injection and closes
 * everything else.
 */
#define LOG_PREFIX "files: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
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

/* List the fd numbers of @pid, sorted; -errno without a message. */
static int fd_list_quiet(pid_t pid, int **fds, uint32_t *nr)
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
		return -errno;
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

/* List the fd numbers of @pid, sorted. */
static int fd_list(pid_t pid, int **fds, uint32_t *nr)
{
	int ret = fd_list_quiet(pid, fds, nr);

	if (ret && ret != -ENOMEM)
		return ct_err(ret, "pid %d: cannot list fds: %s", pid, strerror(-ret));
	return ret;
}

/* Link, stat and fdinfo of fd @fd of @pid into @fs; -errno of the first that failed. */
static int fd_seen_read(pid_t pid, int fd, struct fd_seen *fs)
{
	struct fd_info fi = { 0 };
	char path[64], link[PATH_MAX];
	ssize_t n;
	int ret;

	fs->fd = fd;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	if (stat(path, &fs->st) < 0)
		return -errno;
	ret = fd_read_info(pid, fd, &fi);
	if (ret)
		return ret;
	fs->link = xstrdup(link);
	if (!fs->link)
		return -ENOMEM;
	fs->pos = fi.pos;
	fs->flags = fi.flags;
	return 0;
}

int fds_seen_read(pid_t pid, struct fds_seen *out)
{
	int *fds = NULL, ret;
	uint32_t nr = 0;

	memset(out, 0, sizeof(*out));
	ret = fd_list_quiet(pid, &fds, &nr);
	if (ret)
		return ret;
	out->fds = xzalloc(sizeof(*out->fds) * (nr + 1));
	if (!out->fds) {
		free(fds);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nr; i++)
		out->fds[i].err = fd_seen_read(pid, fds[i], &out->fds[i]);
	out->nr = nr;
	free(fds);
	return 0;
}

void fds_seen_free(struct fds_seen *s)
{
	for (uint32_t i = 0; s->fds && i < s->nr; i++)
		free(s->fds[i].link);
	free(s->fds);
	memset(s, 0, sizeof(*s));
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
int fd_reopen(pid_t pid, int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	return open(path, flags | O_CLOEXEC);
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

/*
 * Find the description of @fd of @pid among the holders (a binary search:
 * kcmp orders descriptions).  Its file index, or -1 with *@pos where it
 * goes; -2 if the holders cannot say (none kept, or kcmp gave no order).
 * Asking every recorded description of the same file instead took n^2
 * calls when 100 processes had each opened /dev/null for themselves.
 */
static int holders_find(struct fd_holders *hs, pid_t pid, int fd, size_t *pos)
{
	size_t lo = 0, hi;

	if (!hs || hs->broken)
		return -2;
	hi = hs->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long r = syscall(SYS_kcmp, pid, hs->h[mid].pid, KCMP_FILE, fd, hs->h[mid].fd);

		if (r == 0)
			return (int)hs->h[mid].file;
		if (r == 1)
			hi = mid;
		else if (r == 2)
			lo = mid + 1;
		else {
			hs->broken = true;
			return -2;
		}
	}
	*pos = lo;
	return -1;
}

/* Keep @fd of @pid at @pos as the holder of new description @file. */
static int holders_insert(struct fd_holders *hs, size_t pos, pid_t pid, int fd, uint32_t file)
{
	if (xgrow(&hs->h, &hs->cap, hs->nr + 1, sizeof(*hs->h)))
		return -ENOMEM;
	memmove(&hs->h[pos + 1], &hs->h[pos], (hs->nr - pos) * sizeof(*hs->h));
	hs->h[pos] = (struct fd_holder){ .pid = pid, .fd = fd, .file = file };
	hs->nr++;
	return 0;
}

void fd_holders_free(struct fd_holders *hs)
{
	free(hs->h);
	memset(hs, 0, sizeof(*hs));
}

/* The "unsupported file type" refusal for fd @d, naming the process, the fd and the type. */
int fd_refuse(const struct fd_dump *d)
{
	char type[PATH_MAX + 32];

	fd_type_name(d->link, type, sizeof(type));
	return ct_err(-ENOTSUP, "pid %d: fd %d: unsupported file type %s", d->pid, d->fd, type);
}

/* Fill @f for the fd of @d by its kind; -ENOTSUP (with the message) for what we cannot restore. */
static int file_dump_one(const struct fd_dump *d, const struct fd_info *fi, struct ct_file *f)
{
	const struct fd_kind *k = fd_kind_match(d);

	memset(f, 0, sizeof(*f));
	if (!k)
		return fd_refuse(d);
	f->kind = k->kind;
	f->flags = fi->flags & ~O_CLOEXEC;
	f->pos = fi->pos;
	file_id_from_stat(&f->id, d->st);
	return k->dump(d, f);
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

/* A socket's duplicate and family for the kinds to match on (-1 for other fds). */
static int fd_dump_socket(struct fd_dump *d)
{
	socklen_t len = sizeof(d->sk_family);

	d->sk = d->sk_family = -1;
	if (!S_ISSOCK(d->st->st_mode))
		return 0;
	d->sk = fd_grab(d->pid, d->fd);
	if (d->sk < 0)
		return d->sk;
	if (getsockopt(d->sk, SOL_SOCKET, SO_DOMAIN, &d->sk_family, &len) < 0)
		d->sk_family = -1;
	return 0;
}

/* A new description: record it by its kind and add it to the image; its index or -errno. */
static int fd_dump_new(struct fd_dump *d, struct ct_image *img, const struct fd_info *fi)
{
	struct ct_file f;
	int idx, ret;

	ret = fd_dump_socket(d);
	if (ret)
		return ret;
	ret = file_dump_one(d, fi, &f);
	if (d->sk >= 0)
		close(d->sk);
	if (!ret) {
		idx = image_add_file(img, &f);
		if (idx >= 0)
			return idx;
		ret = idx;
	}
	image_file_free(&f);
	return ret;
}

/* Record one fd of the task: a new description or a share of a recorded one. */
/* Link, stat and fdinfo of fd @fd of @pid into @link, @st and @fi, or each failure named. */
static int fd_read_one(pid_t pid, int fd, char *link, size_t size, struct stat *st, struct fd_info *fi)
{
	char path[64];
	ssize_t n;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, size - 1);
	if (n < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot read the link: %m", pid, fd);
	link[n] = '\0';
	if (stat(path, st) < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot stat %s: %m", pid, fd, link);
	ret = fd_read_info(pid, fd, fi);
	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read fdinfo", pid, fd);
	return 0;
}

/* Record fd @fd of @t; @seen: what /proc showed of it read ahead, or NULL (read it now). */
static int fd_dump_one(struct task_ctx *tc, struct ct_image *img, struct ct_task *t, int fd,
		       const struct fd_seen *seen)
{
	pid_t pid = tc->host_pid;
	char link[PATH_MAX];
	struct fd_info fi = { 0 };
	struct stat st;
	size_t pos = 0;
	int idx, ret;

	if (seen && !seen->err) {
		snprintf(link, sizeof(link), "%s", seen->link);
		st = seen->st;
		fi.pos = seen->pos;
		fi.flags = seen->flags;
	} else {
		ret = fd_read_one(pid, fd, link, sizeof(link), &st, &fi);
		if (ret)
			return ret;
	}

	idx = holders_find(tc->holders, pid, fd, &pos);
	if (idx == -2)
		idx = file_find_shared(img, t, pid, fd, &st);
	if (idx < 0) {
		struct fd_dump d = { .tc = tc, .img = img, .pid = pid, .fd = fd, .link = link, .st = &st };
		bool indexed = tc->holders && !tc->holders->broken;

		idx = fd_dump_new(&d, img, &fi);
		if (idx < 0)
			return idx;
		if (indexed && holders_insert(tc->holders, pos, pid, fd, (uint32_t)idx))
			return -ENOMEM;
	}
	t->fds[t->nr_fds].fd = fd;
	t->fds[t->nr_fds].file = (uint32_t)idx;
	t->fds[t->nr_fds].cloexec = !!(fi.flags & O_CLOEXEC);
	t->nr_fds++;
	pr_debug("pid %d: fd %d -> file %d (%s)", pid, fd, idx, link);
	return 0;
}

/* Let the kinds of the files new since @first finish them, now that every fd of @t is recorded. */
static int fd_dump_resolve(struct task_ctx *tc, struct ct_image *img, const struct ct_task *t,
			   uint32_t first)
{
	uint32_t nr = img->nr_files;	/* files a kind adds here are complete already */
	bool *done;
	int ret = 0;

	if (nr <= first)
		return 0;
	done = xzalloc(nr - first);
	if (!done)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nr_fds && !ret; i++) {
		uint32_t idx = t->fds[i].file;
		const struct fd_kind *k;

		if (idx < first || idx >= nr || done[idx - first])
			continue;
		done[idx - first] = true;
		k = fd_kind_of(img->files[idx].kind);
		if (k && k->dump_resolve)
			ret = k->dump_resolve(tc, img, t, idx, t->fds[i].fd);
	}
	free(done);
	return ret;
}

/* Record every fd of the task and the descriptions not seen before in the image. */
int dump_task_files(struct task_ctx *tc, struct ct_image *img, struct ct_task *t)
{
	const struct fds_seen *seen = tc->fds_seen;
	uint32_t nr = 0, first = img->nr_files;
	int *fds = NULL, ret = 0;

	if (seen)
		nr = seen->nr;
	else
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
		ret = seen ? fd_dump_one(tc, img, t, seen->fds[i].fd, &seen->fds[i]) :
			     fd_dump_one(tc, img, t, fds[i], NULL);
	free(fds);
	return ret ?: fd_dump_resolve(tc, img, t, first);
}

/* Let the kinds finish their files once every task's fds are recorded. */
int dump_files_finish(struct ct_image *img, const struct task_ctx *policy)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct fd_kind *k = fd_kind_of(img->files[i].kind);
		int ret;

		if (!k || !k->dump_finish)
			continue;
		ret = k->dump_finish(img, i, policy);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- restore ---- */

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

/* Set the status flags (O_NONBLOCK, O_APPEND...) of a reopened description. */
void file_set_status(int fd, const struct ct_file *f)
{
	int want = (int)(f->flags & (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME));

	if (fcntl(fd, F_SETFL, want) < 0)
		pr_warn("cannot set flags %o on a file: %m", want);
}

/* Set the status flags of @fd (unless it is -errno) and make it the transport fd of file @i. */
int fd_restore_place(struct fd_restore *rs, uint32_t i, int fd)
{
	if (fd < 0)
		return fd;
	file_set_status(fd, &rs->img->files[i]);
	rs->ft->fds[i] = file_place_high(fd, rs->base, rs->ft);
	return rs->ft->fds[i] < 0 ? rs->ft->fds[i] : 0;
}

/* Open @f's path: in the dumper's tree if it was outside the container's root. */
int file_open_path(const struct fd_restore *rs, const struct ct_file *f, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags, .resolve = RESOLVE_IN_ROOT };

	if (f->outside && rs->host_root >= 0)
		return (int)syscall(SYS_openat2, rs->host_root, f->path, &how, sizeof(how));
	return open(f->path, flags);
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

/* Open description @i of the image by its kind, in the pass it belongs to. */
static int file_open_kind(struct fd_restore *rs, uint32_t i, bool late)
{
	const struct ct_file *f = &rs->img->files[i];
	const struct fd_kind *k = fd_kind_of(f->kind);

	if (!k)
		return ct_err(-EINVAL, "file %u: unknown kind %u in the image", i, f->kind);
	if (rs->ft->fds[i] >= 0 || (k->open_late ? k->open_late(rs->img, i) : false) != late)
		return 0;	/* opened with another one already, or in the other pass */
	return k->open(rs, i);
}

/* Open every description of the image in the restorer, above the image's fd numbers. */
int restore_files_open(const struct ct_image *img, bool allow_changed, struct file_table *ft)
{
	return restore_files_open_shm(img, allow_changed, NULL, ft, -1);
}

/* The same, memfd descriptions opened from the shared memory objects @shm. */
int restore_files_open_shm(const struct ct_image *img, bool allow_changed, const struct shm_fds *shm,
			   struct file_table *ft, int host_root)
{
	struct fd_restore rs = { .img = img, .ft = ft, .base = files_base(img),
				 .allow_changed = allow_changed, .shm = shm, .host_root = host_root };
	int ret = 0;

	memset(ft, 0, sizeof(*ft));
	ft->lowest = ft->highest = ft->tty_master = ft->devpts = ft->pts_master = -1;
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
	/* two passes: what connects to or shares a port with another file opens after it */
	for (uint32_t i = 0; i < 2 * img->nr_files && !ret; i++)
		ret = file_open_kind(&rs, i % img->nr_files, i >= img->nr_files);
	if (!ret)
		ret = tcp_repair_finish(img, ft);
	if (ret)
		restore_files_close(ft);
	else
		pr_debug("%u files open at fds %d..%d", ft->nr, ft->lowest, ft->highest);
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
	if (ft->devpts >= 0)
		close(ft->devpts);
	ft->devpts = -1;
	if (ft->pts_master >= 0)
		close(ft->pts_master);
	ft->pts_master = -1;
	free(ft->fds);
	free(ft->peer_fds);
	ft->fds = ft->peer_fds = NULL;
	ft->files = NULL;
	ft->nr = 0;
}

/* Let the kinds finish the task's descriptions that need its fds in place (epoll items). */
static int restore_task_install(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft)
{
	if (!ft->files) {
		if (t->nr_fds)
			pr_debug("pid %d: no image files in the file table: nothing installed", t->pid);
		return 0;
	}
	for (uint32_t i = 0; i < t->nr_fds; i++) {
		const struct fd_kind *k = fd_kind_of(ft->files[t->fds[i].file].kind);
		int ret;

		if (!k || !k->install)
			continue;
		ret = k->install(tc, t, ft, t->fds[i].file, t->fds[i].fd);
		if (ret)
			return ret;
	}
	return 0;
}

/* Queue the dup3 of every fd of @t from its transport fd. */
static int files_queue_dup3(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft)
{
	for (uint32_t i = 0; i < t->nr_fds; i++) {
		const struct ct_fd *d = &t->fds[i];

		if (d->file >= ft->nr || ft->fds[d->file] < 0)
			return ct_err(-EINVAL, "pid %d: fd %d: file %u not opened", t->pid, d->fd, d->file);
		inj_batch_add(tc->batch, d, 0, __NR_dup3, ft->fds[d->file], d->fd,
			      d->cloexec ? O_CLOEXEC : 0, 0, 0, 0);
	}
	return 0;
}

/* Queue closing every fd that is not one of @t's (its fds are sorted). */
static void files_queue_close(struct task_ctx *tc, const struct ct_task *t)
{
	long prev = -1;

	for (uint32_t i = 0; i < t->nr_fds; i++) {
		if (t->fds[i].fd > prev + 1)
			inj_batch_add(tc->batch, NULL, 0, __NR_close_range, prev + 1, t->fds[i].fd - 1,
				      0, 0, 0, 0);
		prev = t->fds[i].fd;
	}
	inj_batch_add(tc->batch, NULL, 0, __NR_close_range, prev + 1, ~0U, 0, 0, 0, 0);
}

/* Name the call of entries [@first, @end) that stopped the last run, if one did. */
static int files_failed(struct task_ctx *tc, const struct ct_task *t, size_t first, size_t end)
{
	const struct inj_batch *b = tc->batch;
	long ret = inj_batch_failure_in(b, first, end);

	if (!ret)
		return 0;
	if ((uint32_t)b->calls[b->failed].nr_flags == __NR_dup3)
		return ct_err((int)ret, "pid %d: fd %d: cannot install: %s", t->pid,
			      ((const struct ct_fd *)b->tags[b->failed])->fd, strerror((int)-ret));
	return ct_err((int)ret, "pid %d: cannot close fds: %s", t->pid, strerror((int)-ret));
}

/*
 * In the restored task: dup3 every fd of the image from its transport fd,
 * let the kinds finish what needs the fds in place (the transport fds are
 * still there), then close every other fd (the transport range and
 * whatever the task inherited from the restorer), so the task holds
 * exactly its image fds.
 */
int restore_task_files(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft)
{
	struct inj_batch *b = tc->batch;
	long ret;

	/* every dup3 in one batch, then every close_range in another (inject.h) */
	inj_batch_reset(b);
	if (!inj_batch_fits(b, t->nr_fds + 1, 0))
		return ct_err(-E2BIG, "pid %d: %u fds: too many for an injected batch", t->pid, t->nr_fds);
	ret = files_queue_dup3(tc, t, ft);
	if (ret)
		return (int)ret;
	ret = inj_batch_run(b, tc->inj);
	if (ret)
		return files_failed(tc, t, 0, b->nr) ?: (int)ret;
	/* before the transport fds go: a kind may still need them */
	ret = restore_task_install(tc, t, ft);
	if (ret)
		return ret;
	inj_batch_reset(b);
	files_queue_close(tc, t);
	ret = inj_batch_run(b, tc->inj);
	if (ret)
		return files_failed(tc, t, 0, b->nr) ?: (int)ret;
	return 0;
}

bool restore_task_files_queueable(const struct ct_task *t, const struct file_table *ft)
{
	if (!ft->files)
		return true;
	for (uint32_t i = 0; i < t->nr_fds; i++) {
		const struct fd_kind *k;

		if (t->fds[i].file >= ft->nr)
			continue;	/* refused when queued */
		k = fd_kind_of(ft->files[t->fds[i].file].kind);
		if (k && k->install)
			return false;
	}
	return true;
}

int restore_task_files_queue(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft)
{
	if (!inj_batch_fits(tc->batch, 2 * t->nr_fds + 1, 0))
		return ct_err(-E2BIG, "pid %d: %u fds: too many for an injected batch", t->pid, t->nr_fds);
	if (files_queue_dup3(tc, t, ft))
		return -EINVAL;
	files_queue_close(tc, t);
	return 0;
}

int restore_task_files_check(struct task_ctx *tc, const struct ct_task *t, size_t first, size_t end)
{
	return files_failed(tc, t, first, end);
}
