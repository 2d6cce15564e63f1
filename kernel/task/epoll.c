// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * epoll instances and their interest lists.
 *
 * Dump reads the list from /proc/PID/fdinfo (one "tfd: events: data: ino:"
 * line per target) and, once every fd of the task is recorded, names each
 * target by the file record its fd number holds in that task.
 *
 * Restore creates an empty instance in the restorer; the items are added by
 * epoll_ctl injected into a task holding the instance, after its fds are in
 * place, because the kernel keys each item by (file, fd number) and the fd
 * numbers must be the task's.  An instance shared by several tasks gets its
 * items from the first of them that holds every target (EEXIST afterwards).
 */
#define LOG_PREFIX "epoll: "
#include <errno.h>
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
		e->tfd = tfd;
		e->events = events;
		e->data = data;
		e->file = (uint32_t)ino;	/* resolved by epoll_dump_resolve() */
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

/* Name the targets of epoll file @f, found in @t, by their file records. */
static int epoll_resolve_one(struct ct_image *img, const struct ct_task *t, int epfd, struct ct_file *f)
{
	for (uint32_t k = 0; k < f->nr_epoll_tgts; k++) {
		struct ct_epoll_tgt *e = &f->epoll_tgts[k];
		int idx = task_fd_file(t, e->tfd);

		/* the fd number the item was added with must still hold that file */
		if (idx < 0 || img->files[idx].id.ino != e->file)
			return ct_err(-ENOTSUP, "pid %d: fd %d: epoll target fd %d was closed or replaced",
				      t->host_pid, epfd, e->tfd);
		e->file = (uint32_t)idx;
	}
	return 0;
}

/* Once every fd of @t is recorded: name the targets of epoll file @i, held at @fd, by their records. */
static int epoll_dump_resolve(struct task_ctx *tc, struct ct_image *img, const struct ct_task *t,
			      uint32_t i, int fd)
{
	(void)tc;
	return epoll_resolve_one(img, t, fd, &img->files[i]);
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

/* Does @t hold every target of @f at the fd number it was added with? */
static bool epoll_task_has_targets(const struct ct_task *t, const struct ct_file *f)
{
	for (uint32_t k = 0; k < f->nr_epoll_tgts; k++)
		if (task_fd_file(t, f->epoll_tgts[k].tfd) != (int)f->epoll_tgts[k].file)
			return false;
	return true;
}

/* Add the items of epoll fd @epfd of the task, through one epoll_event in scratch memory. */
static int epoll_add_items(struct task_ctx *tc, const struct ct_task *t, int epfd, const struct ct_file *f)
{
	for (uint32_t k = 0; k < f->nr_epoll_tgts; k++) {
		const struct ct_epoll_tgt *e = &f->epoll_tgts[k];
		struct epoll_event ev = { .events = e->events, .data.u64 = e->data };
		long ret;

		ret = inj_write_mem(tc->inj->tid, tc->scratch, &ev, sizeof(ev));
		if (ret)
			return ct_err((int)ret, "pid %d: cannot write to scratch memory", t->pid);
		ret = inj_syscall(tc->inj, __NR_epoll_ctl, epfd, EPOLL_CTL_ADD, e->tfd, tc->scratch, 0, 0);
		if (ret == -EEXIST)
			return 0;	/* a task restored earlier shares this instance */
		if (ret < 0)
			return ct_err((int)ret, "pid %d: fd %d: epoll_ctl add of fd %d: %s", t->pid, epfd,
				      e->tfd, strerror((int)-ret));
	}
	return 0;
}

/* In task @t, its fds in place: add the items of epoll file @i held at @fd, if @t holds the targets. */
static int epoll_install(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft,
			 uint32_t i, int fd)
{
	const struct ct_file *f = &ft->files[i];

	if (!f->nr_epoll_tgts || !epoll_task_has_targets(t, f))
		return 0;
	return epoll_add_items(tc, t, fd, f);
}

const struct fd_kind fd_kind_epoll = {
	.kind = CT_FILE_EPOLL,
	.name = "epoll",
	.match = epoll_match,
	.dump = epoll_dump,
	.dump_resolve = epoll_dump_resolve,
	.encode = epoll_encode,
	.decode = epoll_decode,
	.is_sane = epoll_is_sane,
	.open = epoll_open,
	.install = epoll_install,
	.free = epoll_free,
};
