// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * pidfds of processes inside the container.
 *
 * fdinfo names the process ("Pid:" in the reader's pid namespace, so the
 * host pid here, -1 once it has been reaped); dump records it as the pid it
 * has inside the container, and refuses a pidfd of any process that is not
 * in the checkpoint.
 *
 * The process does not exist yet when the restorer opens the files, so the
 * restorer opens a stand-in (/dev/null) that the tasks inherit; once a task
 * holding the pidfd has its fds in place, pidfd_open(pid) is injected into
 * it (the pid is resolved in the task's own pid namespace, where the
 * restored process has its old pid) and the new pidfd replaces the stand-in.
 * Each task thus gets a pidfd of its own for a description that fork had
 * shared: a pidfd holds no state beyond its flags, so nothing observable
 * changes.  A pidfd whose process was already reaped comes back as a pidfd
 * of a process of ours that has exited and been reaped (POLLIN, ECHILD).
 */
#define LOG_PREFIX "pidfd: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static bool pidfd_match(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[pidfd]");
}

/* The task of the image whose host pid is @host, NULL if none. */
static const struct ct_task *pidfd_task_of(const struct ct_image *img, pid_t host)
{
	for (uint32_t i = 0; i < img->nr_tasks; i++)
		if (img->tasks[i].host_pid == host)
			return &img->tasks[i];
	return NULL;
}

/* The process a pidfd names, as its pid inside the container (0: reaped). */
static int pidfd_dump(const struct fd_dump *d, struct ct_file *f)
{
	const struct ct_task *t;
	char *buf, *p;
	int host, ret = fd_read_fdinfo(d->pid, d->fd, &buf);

	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read fdinfo", d->pid, d->fd);
	p = strstr(buf, "\nPid:");
	ret = p && sscanf(p + 5, "%d", &host) == 1 ? 0 : -EINVAL;
	free(buf);
	if (ret)
		return ct_err(ret, "pid %d: fd %d: no Pid: in the pidfd's fdinfo", d->pid, d->fd);
	if (host <= 0)
		return 0;	/* reaped already */
	t = pidfd_task_of(d->img, host);
	if (!t)
		return ct_err(-ENOTSUP, "pid %d: fd %d: pidfd of pid %d, a process outside the container",
			      d->pid, d->fd, host);
	f->pidfd_pid = t->pid;
	return 0;
}

/* ---- blob ---- */

static void pidfd_encode(struct wbuf *w, const struct ct_file *f)
{
	size_t at = w_begin(w, REC_FILE_PIDFD);

	w_u32(w, (uint32_t)f->pidfd_pid);
	w_end(w, at);
}

static void pidfd_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag == REC_FILE_PIDFD)
		f->pidfd_pid = r_i32(r);
}

/* A live target is a process of the image. */
static bool pidfd_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	return f->pidfd_pid == 0 || (f->pidfd_pid > 0 && image_find_task(img, f->pidfd_pid));
}

/* ---- restore ---- */

/* A pidfd of a child of ours that has exited and been reaped. */
static int pidfd_of_reaped(void)
{
	pid_t pid = fork();
	int fd, err;

	if (pid < 0)
		return ct_err(-errno, "cannot fork: %m");
	if (pid == 0)
		_exit(0);
	fd = (int)syscall(__NR_pidfd_open, pid, 0);
	err = errno;
	waitpid(pid, NULL, 0);
	if (fd < 0)
		return ct_err(-err, "pidfd_open: %s", strerror(err));
	return fd;
}

/* The stand-in the tasks inherit (or, for a reaped process, the pidfd itself). */
static int pidfd_open_file(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	int fd = f->pidfd_pid ? open("/dev/null", O_RDONLY | O_CLOEXEC) : pidfd_of_reaped();

	if (fd < 0 && f->pidfd_pid)
		return ct_err(-errno, "pidfd of pid %d: cannot open a stand-in: %m", f->pidfd_pid);
	return fd_restore_place(rs, i, fd);
}

/* In task @t: a pidfd of the restored process in place of the stand-in at @fd. */
static int pidfd_install(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft,
			 uint32_t i, int fd)
{
	const struct ct_file *f = &ft->files[i];
	bool cloexec = false;
	long pfd, ret;

	if (!f->pidfd_pid)
		return 0;
	for (uint32_t k = 0; k < t->nr_fds; k++)
		if (t->fds[k].fd == fd)
			cloexec = t->fds[k].cloexec;
	pfd = inj_syscall(tc->inj, __NR_pidfd_open, f->pidfd_pid, f->flags & PIDFD_NONBLOCK, 0, 0, 0, 0);
	if (pfd < 0)
		return ct_err((int)pfd, "pid %d: fd %d: pidfd_open(%d): %s", t->pid, fd, f->pidfd_pid,
			      strerror((int)-pfd));
	ret = inj_syscall(tc->inj, __NR_dup3, pfd, fd, cloexec ? O_CLOEXEC : 0, 0, 0, 0);
	inj_syscall(tc->inj, __NR_close, pfd, 0, 0, 0, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: fd %d: cannot install the pidfd: %s", t->pid, fd,
			      strerror((int)-ret));
	return 0;
}

const struct fd_kind fd_kind_pidfd = {
	.kind = CT_FILE_PIDFD,
	.fmt = {
		.name = "pidfd",
		.encode = pidfd_encode,
		.decode = pidfd_decode,
		.is_sane = pidfd_is_sane,
	},
	.match = pidfd_match,
	.dump = pidfd_dump,
	.open = pidfd_open_file,
	.install = pidfd_install,
};
