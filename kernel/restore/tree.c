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
#include <stddef.h>
#include <sys/prctl.h>
#include <time.h>
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
	inj_batch_free(&p->batch);
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

/*
 * Inject clone3(@ca) into @p with set_tid = {@tid} (innermost namespace),
 * both written to @p's scratch memory; returns the raw result.
 */
long rst_clone3(struct rst_proc *p, struct clone_args *ca, pid_t tid)
{
	/* the arguments and the tid right after them: one write */
	struct { struct clone_args ca; pid_t tid; } arg = { .ca = *ca, .tid = tid };
	unsigned long ca_addr;
	long ret;

	_Static_assert(offsetof(typeof(arg), tid) == sizeof(struct clone_args), "packed clone args");
	arg.ca.set_tid = p->scratch + CLONE_ARGS_OFF + sizeof(struct clone_args);
	arg.ca.set_tid_size = 1;
	ret = rst_scratch_put(p, CLONE_ARGS_OFF, &arg, sizeof(arg), &ca_addr);
	if (ret)
		return ret;
	return rst_syscall(p, __NR_clone3, ca_addr, sizeof(*ca), 0, 0, 0, 0);
}

/* The last (innermost namespace's) number of line @key in @buf, -1 if none. */
static long status_last_id(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	long v = -1;
	char *next;

	if (!p)
		return -1;
	for (p += strlen(key); *p && *p != '\n'; p = next) {
		long x = strtol(p, &next, 10);

		if (next == p)
			break;
		v = x;
	}
	return v;
}

/*
 * The process group and session of @p as its pid namespace numbers them,
 * read from outside (/proc/PID/status), not by injected getpgid/getsid.
 */
static int proc_group_ids(const struct rst_proc *p, long *pgid, long *sid)
{
	char path[64], *buf;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/status", p->host_pid);
	ret = read_whole_file(path, &buf, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read %s: %s", p->t->pid, path, strerror(-ret));
	*pgid = status_last_id(buf, "\nNSpgid:");
	*sid = status_last_id(buf, "\nNSsid:");
	free(buf);
	return 0;
}

/* Know @p's group and session: read once for a task we did not fork (the init). */
static int group_ids_known(struct rst_proc *p)
{
	int ret;

	if (p->ids_known)
		return 0;
	ret = proc_group_ids(p, &p->pgid_now, &p->sid_now);
	p->ids_known = !ret;
	return ret;
}

/*
 * Create child @c of @parent with injected clone3 and set_tid = its pid;
 * sharing the parent's descriptor table or fs if it did (its fds then are
 * the parent's, already restored: restore_task_files skips it).
 */
int rst_tree_fork(struct rst_proc *parent, struct rst_proc *c)
{
	pid_t tid = c->t->pid;
	struct clone_args ca = {
		.flags = (c->t->share_parent & CT_SHARE_FILES ? CLONE_FILES : 0) |
			 (c->t->share_parent & CT_SHARE_FS ? CLONE_FS : 0),
		.exit_signal = c->t->exit_signal > 0 ? (uint64_t)c->t->exit_signal : SIGCHLD,
	};
	long ret;

	/* the child starts in its parent's group and session */
	ret = group_ids_known(parent);
	if (ret)
		return (int)ret;
	c->pgid_now = parent->pgid_now;
	c->sid_now = parent->sid_now;
	c->ids_known = true;
	ret = rst_clone3(parent, &ca, tid);
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
		ret = 0;	/* already one */
	if (ret < 0)
		return ct_err((int)ret, "pid %d: setsid: %s", p->t->pid, strerror((int)-ret));
	p->pgid_now = p->sid_now = p->t->pid;
	p->ids_known = true;
	return 0;
}

/* Join group @pgid if not in it yet. */
static int set_pgid(struct rst_proc *p)
{
	long ret = group_ids_known(p);

	if (ret)
		return (int)ret;
	if (p->pgid_now == p->t->pgid || p->t->pgid <= 0)
		return 0;
	ret = rst_syscall(p, __NR_setpgid, 0, p->t->pgid, 0, 0, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: setpgid(%d): %s", p->t->pid, p->t->pgid,
			      strerror((int)-ret));
	p->pgid_now = p->t->pgid;
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
		ret = group_ids_known(&procs[i]);
		if (ret)
			return ret;
		if (procs[i].t->sid > 0 && procs[i].sid_now != procs[i].t->sid)
			pr_warn("pid %d: session %ld, the dump had %d", procs[i].t->pid,
				procs[i].sid_now, procs[i].t->sid);
	}
	return 0;
}

/* ---- zombies ---- */

#define ZOMBIE_SCRATCH_OFF (CLONE_ARGS_OFF + 256)	/* sigaction, sigset, timespec */

/* The task a zombie is created as: enough for clone3, setsid and setpgid. */
int rst_zombie_task(struct ct_task *t, const struct ct_zombie *z)
{
	memset(t, 0, sizeof(*t));
	t->threads = xzalloc(sizeof(*t->threads));
	if (!t->threads)
		return -ENOMEM;
	t->nr_threads = 1;
	t->threads[0].tid = z->pid;
	t->pid = z->pid;
	t->ppid = z->ppid;
	t->pgid = z->pgid;
	t->sid = z->sid;
	t->host_pid = z->host_pid;
	t->exit_signal = z->exit_signal;
	memcpy(t->comm, z->comm, sizeof(t->comm));
	return 0;
}

/* Start injecting into zombie-to-be @z: a fork of @parent, it has the parent's scratch memory. */
int rst_zombie_begin(struct rst_proc *z, const struct rst_proc *parent)
{
	z->scratch = parent->scratch;
	z->scratch_len = parent->scratch_len;
	return inj_begin(&z->threads[0].inj, z->host_pid, parent->threads[0].inj.syscall_ip);
}

/* Point @z at exit_group(@code) or, for a signal death, send it @sig with the default action. */
static int zombie_arm(struct rst_proc *z, int sig, int code)
{
	struct inj_ctx *inj = &z->threads[0].inj;
	struct user_regs_struct regs = inj->saved_regs;
	static const struct ct_sigaction dfl;	/* SIG_DFL, no flags, empty mask */
	unsigned long act;
	uint64_t none = 0;
	long ret;

	/* the dumped process left no core file (refused at dump otherwise): no new one either */
	ret = rst_syscall(z, __NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "zombie %d: PR_SET_DUMPABLE: %s", z->t->pid, strerror((int)-ret));
	if (!sig) {
		regs.rip = inj->syscall_ip;
		regs.rax = __NR_exit_group;
		regs.rdi = (unsigned long)code;
		regs.orig_rax = -1;
		if (ptrace(PTRACE_SETREGS, inj->tid, NULL, &regs) < 0)
			return ct_err(-errno, "zombie %d: cannot set registers: %m", z->t->pid);
		return 0;
	}
	/* SIGKILL has no action to set */
	ret = sig == SIGKILL ? 0 : rst_scratch_put(z, ZOMBIE_SCRATCH_OFF, &dfl, sizeof(dfl), &act);
	if (!ret && sig != SIGKILL)
		ret = rst_syscall(z, __NR_rt_sigaction, (unsigned long)sig, act, 0, sizeof(uint64_t), 0, 0);
	if (ret)
		return ct_err((int)ret, "zombie %d: cannot reset signal %d: %s", z->t->pid, sig,
			      strerror((int)-ret));
	if (ptrace(PTRACE_SETSIGMASK, inj->tid, sizeof(none), &none) < 0 ||
	    syscall(SYS_tgkill, inj->tid, inj->tid, sig) < 0)
		return ct_err(-errno, "zombie %d: cannot send signal %d: %m", z->t->pid, sig);
	return 0;
}

/* Let @z run to its death; *@status is what the kernel reports to us, its tracer. */
static int zombie_run_to_death(struct rst_proc *z, int sig, int *status)
{
	int resume_sig = 0;

	for (;;) {
		/* ESRCH: SIGKILL needs no resume, it is dying already */
		if (ptrace(PTRACE_CONT, z->host_pid, NULL, (void *)(long)resume_sig) < 0 && errno != ESRCH)
			return ct_err(-errno, "zombie %d: cannot resume it: %m", z->t->pid);
		if (waitpid(z->host_pid, status, __WALL) < 0)
			return ct_err(-errno, "zombie %d: cannot wait for its exit: %m", z->t->pid);
		if (WIFEXITED(*status) || WIFSIGNALED(*status))
			return 0;
		/* its own signal is delivered; a stop of ours (the step trap) is not */
		resume_sig = WIFSTOPPED(*status) && !(*status >> 16) && WSTOPSIG(*status) == sig ? sig : 0;
	}
}

/*
 * Take back from @parent the exit signal @z's death just queued (blocked
 * while we inject): the dumped parent had been told already, and what it
 * had pending at the dump is queued again with its signals.
 */
static int zombie_unsignal_parent(struct rst_proc *parent, const struct rst_proc *z)
{
	/* rst_tree_fork gives a child with no exit signal SIGCHLD */
	int sig = z->t->exit_signal > 0 ? z->t->exit_signal : SIGCHLD;
	uint64_t set = 1ULL << (sig - 1);
	struct timespec now = { 0, 0 };
	unsigned long set_addr, ts_addr;
	long ret;

	ret = rst_scratch_put(parent, ZOMBIE_SCRATCH_OFF, &set, sizeof(set), &set_addr);
	if (!ret)
		ret = rst_scratch_put(parent, ZOMBIE_SCRATCH_OFF + 64, &now, sizeof(now), &ts_addr);
	if (!ret)
		ret = rst_syscall(parent, __NR_rt_sigtimedwait, set_addr, 0, ts_addr, sizeof(set), 0, 0);
	if (ret < 0 && ret != -EAGAIN)
		return ct_err((int)ret, "pid %d: cannot take back signal %d of zombie %d: %s",
			      parent->t->pid, sig, z->t->pid, strerror((int)-ret));
	return 0;
}

/*
 * Make zombie-to-be @z (created, in its session and group, injected into)
 * exit as the dumped process did, so its parent's wait reads @status.
 */
int rst_zombie_exit(struct rst_proc *z, struct rst_proc *parent, uint32_t status)
{
	int sig = (int)(status & 0x7f), got;
	int ret;

	ret = zombie_arm(z, sig, (int)(status >> 8));
	if (ret)
		return ret;
	z->threads[0].inj.active = false;	/* its registers are never given back */
	ret = zombie_run_to_death(z, sig, &got);
	if (ret)
		return ret;
	if ((uint32_t)got != status)
		return ct_err(-EIO, "zombie %d: exited with wait status %#x, not %#x", z->t->pid,
			      (unsigned)got, status);
	return zombie_unsignal_parent(parent, z);
}
