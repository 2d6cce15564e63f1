// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * epoll instances and their interest lists.
 *
 * Dump reads the list from /proc/PID/fdinfo (one "tfd: events: data: ino:"
 * line per target) and names each target by a file record: the kernel keeps
 * the file of an item even after its fd was closed, so the target is found
 * with kcmp(KCMP_EPOLL_TFD) among every recorded fd of the container with
 * that inode, not only at its old fd number.  Targets not found once the
 * task's fds are recorded are looked for again after every task's
 * (dump_files_finish).  Closing the last fd of a file removes its items,
 * so a target no fd of the container holds is kept alive by something
 * else (a mapping, a message in flight, a process outside the container):
 * user space cannot reach that file through the epoll, and the dump is
 * refused, naming the item.
 *
 * Restore creates an empty instance in the restorer; the items are added by
 * epoll_ctl injected into a task holding the instance, once its fds are in
 * place, because the kernel keys each item by (file, fd number) and the fd
 * numbers must be the task's.  When that fd number does not hold the target
 * in the task (closed, or reused for another file), the target is put there
 * for the epoll_ctl from another fd of the task or its transport fd, and
 * what the number held is put back.  An instance shared by several tasks
 * gets its items from the first of them (EEXIST afterwards).
 */
#define LOG_PREFIX "epoll: "
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

#ifndef KCMP_EPOLL_TFD
#define KCMP_EPOLL_TFD 7
struct kcmp_epoll_slot {
	uint32_t efd, tfd;
	uint64_t toff;
};
#endif

#define EPOLL_UNRESOLVED UINT32_MAX	/* ct_epoll_tgt.file not found yet */

static bool epoll_match(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[eventpoll]");
}

/* Parse the "tfd:" lines of an epoll fdinfo into @f's interest list (file = target inode for now). */
static int epoll_dump(const struct fd_dump *d, struct ct_file *f)
{
	char *buf, *p;
	size_t cap = 0;
	int ret = fd_read_fdinfo(d->pid, d->fd, &buf);

	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read fdinfo", d->pid, d->fd);
	for (p = buf; (p = strstr(p, "tfd:")); p++) {
		struct ct_epoll_tgt *e;
		unsigned long long data, ino;
		unsigned int events;
		int tfd;

		if (sscanf(p, "tfd: %d events: %x data: %llx pos:%*d ino:%llx", &tfd, &events, &data,
			   &ino) != 4) {
			ret = ct_err(-EINVAL, "pid %d: fd %d: cannot parse epoll fdinfo", d->pid, d->fd);
			break;
		}
		if (xgrow(&f->epoll_tgts, &cap, f->nr_epoll_tgts + 1, sizeof(*f->epoll_tgts))) {
			ret = -ENOMEM;
			break;
		}
		e = &f->epoll_tgts[f->nr_epoll_tgts++];
		memset(e, 0, sizeof(*e));
		e->tfd = tfd;
		e->events = events;
		e->data = data;
		e->ino = ino;
		e->file = EPOLL_UNRESOLVED;	/* by epoll_dump_resolve() */
		for (uint32_t k = 0; k + 1 < f->nr_epoll_tgts; k++)
			e->toff += f->epoll_tgts[k].tfd == tfd;
	}
	free(buf);
	return ret;
}

/* The file index behind fd @fd of @t, or -1. */
static int task_fd_file(const struct ct_task *t, int fd)
{
	for (uint32_t i = 0; i < t->nr_fds; i++)
		if (t->fds[i].fd == fd)
			return (int)t->fds[i].file;
	return -1;
}

/*
 * The file record of item @e of the epoll at fd @epfd of host process
 * @holder: the recorded fd, of any task, whose file the kernel says is the
 * item's (KCMP_EPOLL_TFD).  -1 if no fd recorded so far holds it.
 */
static int epoll_find_target(const struct ct_image *img, pid_t holder, int epfd,
			     const struct ct_epoll_tgt *e)
{
	struct kcmp_epoll_slot slot = { .efd = (uint32_t)epfd, .tfd = (uint32_t)e->tfd, .toff = e->toff };

	for (uint32_t k = 0; k < img->nr_tasks; k++) {
		const struct ct_task *o = &img->tasks[k];

		for (uint32_t j = 0; j < o->nr_fds; j++) {
			uint32_t idx = o->fds[j].file;

			if (img->files[idx].id.ino != e->ino)
				continue;
			if (syscall(SYS_kcmp, o->host_pid, holder, KCMP_EPOLL_TFD, o->fds[j].fd, &slot) == 0)
				return (int)idx;
		}
	}
	return -1;
}

/* Name the targets of epoll file @f, held at @epfd by host process @holder, found so far. */
static void epoll_resolve(const struct ct_image *img, pid_t holder, int epfd, struct ct_file *f)
{
	for (uint32_t k = 0; k < f->nr_epoll_tgts; k++) {
		struct ct_epoll_tgt *e = &f->epoll_tgts[k];
		int idx;

		if (e->file != EPOLL_UNRESOLVED)
			continue;
		idx = epoll_find_target(img, holder, epfd, e);
		if (idx >= 0)
			e->file = (uint32_t)idx;
	}
}

/* Once every fd of @t is recorded: name the targets of epoll file @i, held at @fd, by their records. */
static int epoll_dump_resolve(struct task_ctx *tc, struct ct_image *img, const struct ct_task *t,
			      uint32_t i, int fd)
{
	(void)tc;
	epoll_resolve(img, t->host_pid, fd, &img->files[i]);
	return 0;
}

/*
 * Once every task is recorded: name the targets still unresolved, held by a
 * task dumped later; refuse one that no fd of the container holds.
 */
static int epoll_dump_finish(struct ct_image *img, uint32_t i, const struct task_ctx *policy)
{
	struct ct_file *f = &img->files[i];
	pid_t holder = 0;
	int epfd = -1;

	(void)policy;
	for (uint32_t k = 0; k < img->nr_tasks && !holder; k++)
		for (uint32_t j = 0; j < img->tasks[k].nr_fds && !holder; j++)
			if (img->tasks[k].fds[j].file == i) {
				holder = img->tasks[k].host_pid;
				epfd = img->tasks[k].fds[j].fd;
			}
	if (!holder)
		return 0;
	epoll_resolve(img, holder, epfd, f);
	for (uint32_t k = 0; k < f->nr_epoll_tgts; k++) {
		const struct ct_epoll_tgt *e = &f->epoll_tgts[k];

		if (e->file == EPOLL_UNRESOLVED)
			return ct_err(-ENOTSUP, "pid %d: fd %d: epoll target fd %d (inode %llu) was closed and no fd of the container holds its file (a mapping, a message in flight or a process outside keeps it): the kernel gives no way to reach it",
				      holder, epfd, e->tfd, (unsigned long long)e->ino);
	}
	return 0;
}

/* ---- blob ---- */

static void epoll_encode(struct wbuf *w, const struct ct_file *f)
{
	for (uint32_t i = 0; i < f->nr_epoll_tgts; i++) {
		const struct ct_epoll_tgt *e = &f->epoll_tgts[i];
		size_t at = w_begin(w, REC_FILE_EPOLL_TGT);

		w_u32(w, (uint32_t)e->tfd);
		w_u32(w, e->events);
		w_u64(w, e->data);
		w_u32(w, e->file);
		w_end(w, at);
	}
}

static void epoll_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	struct ct_epoll_tgt *e;

	if (tag != REC_FILE_EPOLL_TGT)
		return;
	e = r_push(r, &f->epoll_tgts, &f->nr_epoll_tgts, sizeof(*e), 1 << 20);
	if (!e)
		return;
	e->tfd = r_i32(r);
	e->events = r_u32(r);
	e->data = r_u64(r);
	e->file = r_u32(r);
}

/* Every target names an existing file record by a valid fd number. */
static bool epoll_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	for (uint32_t i = 0; i < f->nr_epoll_tgts; i++)
		if (f->epoll_tgts[i].file >= img->nr_files || f->epoll_tgts[i].tfd < 0)
			return false;
	return true;
}

static void epoll_free(struct ct_file *f)
{
	free(f->epoll_tgts);
}

/* ---- restore ---- */

/* An empty epoll instance; its items are added in the tasks. */
static int epoll_open(struct fd_restore *rs, uint32_t i)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0)
		return ct_err(-errno, "epoll: cannot create: %m");
	return fd_restore_place(rs, i, fd);
}

/* The fd of @t holding file @file, or -1. */
static int task_file_fd(const struct ct_task *t, uint32_t file)
{
	for (uint32_t i = 0; i < t->nr_fds; i++)
		if (t->fds[i].file == file)
			return t->fds[i].fd;
	return -1;
}

/* Inject one call for an item of epoll @epfd; -errno with the message. */
static long epoll_call(struct task_ctx *tc, const struct ct_task *t, int epfd, const char *what, long nr,
		       long a1, long a2, long a3, long a4)
{
	long ret = inj_syscall(tc->inj, nr, a1, a2, a3, a4, 0, 0);

	if (ret < 0 && ret != -EEXIST && !(nr == __NR_fcntl && ret == -EBADF))
		ct_err((int)ret, "pid %d: fd %d: %s: %s", t->pid, epfd, what, strerror((int)-ret));
	return ret;
}

/*
 * Add item @e to epoll @epfd of @t while fd e->tfd does not hold the target:
 * put the target there from @src, add, put back what the number held.
 */
static long epoll_add_moved(struct task_ctx *tc, const struct ct_task *t, int epfd,
			    const struct ct_epoll_tgt *e, int src)
{
	long saved, ret, back = 0;
	bool cloexec = true;	/* a transport fd, or a number the task does not hold */

	for (uint32_t i = 0; i < t->nr_fds; i++)
		if (t->fds[i].fd == e->tfd)
			cloexec = t->fds[i].cloexec;
	saved = epoll_call(tc, t, epfd, "save an fd", __NR_fcntl, e->tfd, F_DUPFD_CLOEXEC, 0, 0);
	if (saved < 0 && saved != -EBADF)
		return saved;
	ret = epoll_call(tc, t, epfd, "place a closed target", __NR_dup3, src, e->tfd, O_CLOEXEC, 0);
	if (ret >= 0)
		ret = epoll_call(tc, t, epfd, "epoll_ctl add", __NR_epoll_ctl, epfd, EPOLL_CTL_ADD, e->tfd,
				 (long)tc->scratch);
	if (saved >= 0) {
		back = epoll_call(tc, t, epfd, "put an fd back", __NR_dup3, saved, e->tfd,
				  cloexec ? O_CLOEXEC : 0, 0);
		inj_syscall(tc->inj, __NR_close, saved, 0, 0, 0, 0, 0);
	} else {
		inj_syscall(tc->inj, __NR_close, e->tfd, 0, 0, 0, 0, 0);
	}
	return ret < 0 ? ret : back;
}

/* Add the items of epoll fd @epfd of the task, through one epoll_event in scratch memory. */
static int epoll_add_items(struct task_ctx *tc, const struct ct_task *t, int epfd, const struct ct_file *f,
			   const struct file_table *ft)
{
	for (uint32_t k = 0; k < f->nr_epoll_tgts; k++) {
		const struct ct_epoll_tgt *e = &f->epoll_tgts[k];
		struct epoll_event ev = { .events = e->events, .data.u64 = e->data };
		int src = task_file_fd(t, e->file);
		long ret;

		ret = inj_write_mem(tc->inj->tid, tc->scratch, &ev, sizeof(ev));
		if (ret)
			return ct_err((int)ret, "pid %d: cannot write to scratch memory", t->pid);
		if (task_fd_file(t, e->tfd) == (int)e->file)
			ret = epoll_call(tc, t, epfd, "epoll_ctl add", __NR_epoll_ctl, epfd, EPOLL_CTL_ADD,
					 e->tfd, (long)tc->scratch);
		else
			ret = epoll_add_moved(tc, t, epfd, e, src >= 0 ? src : ft->fds[e->file]);
		/* EEXIST: a task restored earlier shares this instance */
		if (ret < 0 && ret != -EEXIST)
			return (int)ret;
	}
	return 0;
}

/* In task @t, its fds in place: add the items of epoll file @i held at @fd. */
static int epoll_install(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft,
			 uint32_t i, int fd)
{
	const struct ct_file *f = &ft->files[i];

	if (!f->nr_epoll_tgts)
		return 0;
	return epoll_add_items(tc, t, fd, f, ft);
}

const struct fd_kind fd_kind_epoll = {
	.kind = CT_FILE_EPOLL,
	.fmt = {
		.name = "epoll",
		.encode = epoll_encode,
		.decode = epoll_decode,
		.is_sane = epoll_is_sane,
		.free = epoll_free,
	},
	.match = epoll_match,
	.dump = epoll_dump,
	.dump_resolve = epoll_dump_resolve,
	.dump_finish = epoll_dump_finish,
	.open = epoll_open,
	.install = epoll_install,
};
