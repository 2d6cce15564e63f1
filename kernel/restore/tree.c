// SPDX-License-Identifier: MIT
/*
 * The process tree: every task but the init is created by an injected
 * clone3 in its parent-to-be, with set_tid asking for its pid, so pids,
 * parents and exit signals are the dumped ones.  Sessions and process
 * groups are made afterwards by injected setsid()/setpgid().
 */
#define LOG_PREFIX "restore-tree: "
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "restore/rst.h"

#define CLONE_ARGS_OFF (3 * PAGE_SIZE)	/* scratch offset of struct clone_args */

/* Initialise @p for task @t. */
int rst_proc_init(struct rst_proc *p, const struct ct_task *t)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->pidfd = -1;
	p->uffd = -1;
	p->threads = xzalloc(sizeof(*p->threads) * max_t(uint32_t, t->nr_threads, 1));
	if (!p->threads)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nr_threads; i++)
		p->threads[i].th = &t->threads[i];
	return 0;
}

/* Free what rst_proc_init allocated, and the fds we hold. */
void rst_proc_free(struct rst_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->uffd >= 0)
		close(p->uffd);
	free(p->threads);
	free(p->regions);
	p->threads = NULL;
	p->regions = NULL;
	p->pidfd = p->uffd = -1;
}

/* Wait for the first ptrace-stop of an auto-attached child or thread. */
int rst_wait_new(pid_t pid)
{
	int status;

	for (;;) {
		if (waitpid(pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return ct_err(-errno, "pid %d: cannot wait for the new task: %m", pid);
		}
		if (!WIFSTOPPED(status))
			return ct_err(-ESRCH, "pid %d: new task died before it stopped", pid);
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* a signal-delivery-stop: keep it pending until we detach */
		if (ptrace(PTRACE_LISTEN, pid, NULL, NULL) < 0 &&
		    ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0)
			return ct_err(-errno, "pid %d: cannot stop the new task: %m", pid);
	}
}

/* Seize a task we created, stop it, and trace its forks and clones. */
int rst_seize(pid_t pid, unsigned long options)
{
	int status;

	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)options) < 0)
		return ct_err(-errno, "pid %d: cannot seize: %m", pid);
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0)
		return ct_err(-errno, "pid %d: cannot interrupt: %m", pid);
	for (;;) {
		if (waitpid(pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return ct_err(-errno, "pid %d: cannot wait for it to stop: %m", pid);
		}
		if (!WIFSTOPPED(status))
			return ct_err(-ESRCH, "pid %d: died before it could be rebuilt", pid);
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* a signal arrived first: let it through, the interrupt still comes */
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(status)) < 0)
			return ct_err(-errno, "pid %d: cannot continue to the stop: %m", pid);
	}
}

/* Create child @c of @parent with injected clone3 and set_tid = its pid. */
int rst_tree_fork(struct rst_proc *parent, struct rst_proc *c)
{
	pid_t tid = c->t->pid;
	struct clone_args ca = {
		.flags = 0,
		.exit_signal = c->t->exit_signal > 0 ? (uint64_t)c->t->exit_signal : SIGCHLD,
		.set_tid_size = 1,
	};
	unsigned long tid_addr, ca_addr;
	long ret;

	ret = rst_scratch_put(parent, CLONE_ARGS_OFF + 128, &tid, sizeof(tid), &tid_addr);
	if (ret)
		return ret;
	ca.set_tid = tid_addr;
	ret = rst_scratch_put(parent, CLONE_ARGS_OFF, &ca, sizeof(ca), &ca_addr);
	if (ret)
		return ret;
	ret = rst_syscall(parent, __NR_clone3, ca_addr, sizeof(ca), 0, 0, 0, 0);
	if (ret == -EEXIST)
		return ct_err(-EEXIST, "pid %d: pid is taken by another process, cannot restore it "
			      "(parent %d)", tid, parent->t->pid);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: clone3 in parent %d failed: %s", tid,
			      parent->t->pid, strerror((int)-ret));
	if (!parent->threads[0].inj.event_child)
		return ct_err(-ECHILD, "pid %d: created, but ptrace did not report it", tid);
	c->host_pid = parent->threads[0].inj.event_child;
	c->threads[0].host_tid = c->host_pid;
	if (ret != tid)
		pr_warn("pid %d: clone3 returned %ld", tid, ret);
	ret = rst_wait_new(c->host_pid);
	if (ret)
		return ret;
	c->pidfd = (int)syscall(SYS_pidfd_open, c->host_pid, 0);
	if (c->pidfd < 0)
		return ct_err(-errno, "pid %d: pidfd_open: %m", tid);
	return 0;
}

/* Make @p a session leader when the image says so (before it has children). */
int rst_tree_setsid(struct rst_proc *p)
{
	long ret;

	if (p->t->sid != p->t->pid)
		return 0;
	ret = rst_syscall(p, __NR_setsid, 0, 0, 0, 0, 0, 0);
	if (ret == -EPERM && rst_syscall(p, __NR_getsid, 0, 0, 0, 0, 0, 0) == p->t->pid)
		return 0;	/* already one */
	if (ret < 0)
		return ct_err((int)ret, "pid %d: setsid: %s", p->t->pid, strerror((int)-ret));
	return 0;
}

/* Join group @pgid if not in it yet. */
static int set_pgid(struct rst_proc *p)
{
	long ret, cur = rst_syscall(p, __NR_getpgid, 0, 0, 0, 0, 0, 0);

	if (cur == p->t->pgid || p->t->pgid <= 0)
		return 0;
	ret = rst_syscall(p, __NR_setpgid, 0, p->t->pgid, 0, 0, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: setpgid(%d): %s", p->t->pid, p->t->pgid,
			      strerror((int)-ret));
	return 0;
}

/* Make process groups what the image says: leaders first, then members. */
int rst_tree_sessions(struct rst_proc *procs, size_t nr)
{
	int ret;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nr; i++) {
			struct rst_proc *p = &procs[i];
			bool leader = p->t->pgid == p->t->pid;

			if (leader != (pass == 0))
				continue;
			ret = set_pgid(p);
			if (ret)
				return ret;
		}
	}
	for (size_t i = 0; i < nr; i++) {
		long sid = rst_syscall(&procs[i], __NR_getsid, 0, 0, 0, 0, 0, 0);

		if (procs[i].t->sid > 0 && sid != procs[i].t->sid)
			pr_warn("pid %d: session %ld, the dump had %d", procs[i].t->pid, sid,
				procs[i].t->sid);
	}
	return 0;
}
