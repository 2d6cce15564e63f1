// SPDX-License-Identifier: MIT
/*
 * Freeze a container's cgroup and bring every thread into a ptrace-stop.
 *
 * The protocol follows doc/KERNEL-FACTS.md "Freezing": on cgroup v2, seized and interrupted
 * threads report PTRACE_EVENT_STOP while the group stays frozen; on the v1
 * freezer they sit in D state until the group is thawed, and only then
 * report their stops.  So: freeze, seize + interrupt everything listed,
 * (v1: thaw), wait for every stop, list again until no thread is new, thaw.
 *
 * A vfork parent sleeps in the kernel until its child execs or exits, and
 * a PTRACE_INTERRUPT cannot stop it there.  Its child, frozen or stopped by
 * us before its exec, would keep the parent from ever stopping (seen with
 * dash, which vforks every command).  So a vfork child is let run, thawed,
 * until its exec (PTRACE_O_TRACEEXEC) or exit, and stopped then; the parent
 * stops on its pending interrupt as soon as vfork returns.  Nothing else
 * runs meanwhile: every other thread listed is seized and interrupted.
 */
#define LOG_PREFIX "seize: "
#include <dirent.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freezer/cgroup.h"
#include "freezer/freezer.h"
#include "freezer/seize.h"
#include "lib/log.h"
#include "lib/util.h"

#define SEIZE_STOP_TIMEOUT_MS 10000	/* a thread must stop within this */
#define SEIZE_MAX_SIGNALS 64		/* signal-delivery-stops let through per thread */
#define SEIZE_MAX_ROUNDS 100		/* listing rounds before giving up on a forking container */

/* What /proc/TID/status says: state letter, thread group, parent and tracer. */
struct seize_proc_status {
	char state;
	pid_t tgid, ppid, tracer;
};

/* Read state, Tgid and TracerPid of @tid; -ENOENT when it is gone. */
static int seize_read_status(pid_t tid, struct seize_proc_status *ps)
{
	char path[64], *text, *p;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ret == -ESRCH ? -ENOENT : ret;
	memset(ps, 0, sizeof(*ps));
	p = strstr(text, "\nState:");
	if (p)
		sscanf(p + 7, " %c", &ps->state);
	p = strstr(text, "\nTgid:");
	if (p)
		ps->tgid = atoi(p + 6);
	p = strstr(text, "\nPPid:");
	if (p)
		ps->ppid = atoi(p + 6);
	p = strstr(text, "\nTracerPid:");
	if (p)
		ps->tracer = atoi(p + 11);
	free(text);
	return 0;
}

/* True if process @pid still shares its mm with its parent @ppid: a vfork child before exec. */
static bool seize_shares_parent_mm(pid_t pid, pid_t ppid)
{
	return ppid > 0 && syscall(SYS_kcmp, pid, ppid, KCMP_VM, 0, 0) == 0;
}

/* True if thread @tid of @pid sits in vfork(), or in clone()/clone3() with CLONE_VFORK. */
static bool seize_thread_in_vfork(pid_t pid, pid_t tid)
{
	unsigned long nr, arg1 = 0;
	uint64_t flags = 0;
	char path[96], text[256];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	if (read_small_file(path, text, sizeof(text)) ||
	    sscanf(text, "%lu %lx", &nr, &arg1) != 2)
		return false;	/* "running", or not in a system call */
	if (nr == __NR_vfork)
		return true;
	if (nr == __NR_clone)
		return arg1 & CLONE_VFORK;
	if (nr == __NR_clone3) {
		struct iovec local = { &flags, sizeof(flags) }, remote = { (void *)arg1, sizeof(flags) };

		return process_vm_readv(pid, &local, 1, &remote, 1, 0) == sizeof(flags) &&
		       (flags & CLONE_VFORK);
	}
	return false;
}

/*
 * True if process @pid is a vfork child: it shares its parent's mm and a
 * thread of the parent waits in vfork.  A child made with CLONE_VM alone
 * shares the mm for good: it is no vfork child (and the dump refuses it).
 */
static bool seize_is_vfork_child(pid_t pid, pid_t ppid)
{
	char path[64];
	struct dirent *de;
	bool found = false;
	DIR *dir;

	if (!seize_shares_parent_mm(pid, ppid))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/task", ppid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!found && (de = readdir(dir)))
		if (de->d_name[0] != '.')
			found = seize_thread_in_vfork(ppid, atoi(de->d_name));
	closedir(dir);
	return found;
}

/* True if some thread of the set is a vfork child still to be let run to its exec. */
static bool seize_has_vfork_child(const struct seize_set *ss)
{
	for (size_t i = 0; i < ss->nr; i++)
		if (ss->threads[i].vfork_parent && !ss->threads[i].gone)
			return true;
	return false;
}

/* Find a thread of the set by host tid. */
struct seized_thread *seize_find(struct seize_set *ss, pid_t tid)
{
	for (size_t i = 0; i < ss->nr; i++)
		if (ss->threads[i].tid == tid)
			return &ss->threads[i];
	return NULL;
}

/* Seize and interrupt @tid; *@added says whether it joined the set. */
static int seize_one(struct seize_set *ss, pid_t tid, bool *added)
{
	struct seize_proc_status ps;
	struct seized_thread *th;
	pid_t vfork_parent = 0;
	int ret;

	*added = false;
	ret = seize_read_status(tid, &ps);
	if (ret == -ENOENT)
		return 0;		/* vanished since the listing */
	if (ret)
		return ct_err(ret, "pid %d: cannot read status: %s", tid, strerror(-ret));
	if (ps.state == 'Z' || ps.state == 'X') {
		pr_debug("tid %d is exiting (state %c), skipped", tid, ps.state);
		return 0;
	}
	if (ps.tracer)
		return ct_err(-EBUSY, "pid %d: already traced by pid %d", tid, ps.tracer);
	/* checked before seizing: the option must be there when it execs */
	if (ps.tgid == tid && seize_is_vfork_child(tid, ps.ppid))
		vfork_parent = ps.ppid;
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)(vfork_parent ? PTRACE_O_TRACEEXEC : 0)) < 0) {
		if (errno == ESRCH)
			return 0;
		return ct_err(-errno, "pid %d: cannot seize: %m", tid);
	}
	ret = xgrow(&ss->threads, &ss->cap, ss->nr + 1, sizeof(*ss->threads));
	if (ret) {
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return ret;
	}
	th = &ss->threads[ss->nr++];
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	th->tgid = ps.tgid;
	th->vfork_parent = vfork_parent;
	if (vfork_parent)
		pr_debug("pid %d is a vfork child of %d: let run to its exec", tid, vfork_parent);
	*added = true;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 && errno != ESRCH)
		return ct_err(-errno, "pid %d: cannot interrupt: %m", tid);
	return 0;
}

/* Seize every thread listed in the cgroup that is not in the set yet; *@nr_new counts them. */
static int seize_listed(struct seize_set *ss, size_t *nr_new)
{
	pid_t *tids;
	size_t nr;
	bool added;
	int ret;

	*nr_new = 0;
	ret = cg_threads(ss->cg, &tids, &nr);
	if (ret)
		return ret;
	for (size_t i = 0; i < nr; i++) {
		if (seize_find(ss, tids[i]))
			continue;
		ret = seize_one(ss, tids[i], &added);
		if (ret)
			break;
		*nr_new += added;
	}
	free(tids);
	return ret;
}

/* Sleep @us microseconds. */
static void seize_sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Resume @th with @sig; a thread that vanished meanwhile is not an error. */
static int seize_cont(struct seized_thread *th, int sig)
{
	if (ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)sig) < 0 && errno != ESRCH)
		return ct_err(-errno, "pid %d: cannot resume: %m", th->tid);
	return 0;
}

/*
 * Handle one wait status of @th: a ptrace-stop ends the wait, an exit marks
 * it gone, a signal-delivery-stop lets the signal through (the pending
 * interrupt stops the thread right after, as CRIU does).  A vfork child is
 * resumed from its interrupt stop while it still shares its parent's mm,
 * and interrupted again at its exec.
 */
static int seize_handle_status(struct seized_thread *th, int status, int *signals)
{
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		pr_debug("tid %d exited while being seized", th->tid);
		th->gone = true;
		return 0;
	}
	if (!WIFSTOPPED(status))
		return 0;
	if ((status >> 16) == PTRACE_EVENT_EXEC) {
		/* stop it as every other thread, in an interrupt stop */
		pr_debug("tid %d: exec'd, stopping it", th->tid);
		th->vfork_parent = 0;
		if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) < 0 && errno != ESRCH)
			return ct_err(-errno, "pid %d: cannot interrupt: %m", th->tid);
		return seize_cont(th, 0);
	}
	if ((status >> 16) == PTRACE_EVENT_STOP) {
		int sig = WSTOPSIG(status);

		if (th->vfork_parent && seize_shares_parent_mm(th->tid, th->vfork_parent))
			return seize_cont(th, 0);	/* on to its exec or exit */
		th->vfork_parent = 0;
		th->stopped = true;
		th->job_stopped = sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
		return 0;
	}
	if (++*signals > SEIZE_MAX_SIGNALS)
		return ct_err(-EAGAIN, "pid %d: keeps receiving signals, cannot stop it", th->tid);
	pr_debug("tid %d: signal %d before its stop, delivered", th->tid, WSTOPSIG(status));
	if (ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)WSTOPSIG(status)) < 0 && errno != ESRCH)
		return ct_err(-errno, "pid %d: cannot resume after signal %d: %m", th->tid,
			      WSTOPSIG(status));
	return 0;
}

/*
 * True if @tid is dead but cannot be waited for: a thread group leader
 * that exited before its other threads stays a zombie its tracer cannot
 * reap and never reports an exit.  It will never stop either.
 */
static bool seize_is_zombie(pid_t tid)
{
	struct seize_proc_status ps;
	int ret = seize_read_status(tid, &ps);

	if (ret)
		return ret == -ENOENT;
	if (ps.state == 'Z' || ps.state == 'X')
		pr_debug("tid %d: exited (state %c) while being seized", tid, ps.state);
	return ps.state == 'Z' || ps.state == 'X';
}

/* Record the timeout of the first thread not stopped, and why if it is known. */
static int seize_report_timeout(struct seize_set *ss)
{
	struct seized_thread *th = NULL;

	for (size_t i = 0; i < ss->nr; i++) {
		struct seized_thread *t = &ss->threads[i];

		if (t->stopped || t->gone)
			continue;
		/* a vfork child that did not exec explains its parent */
		if (!th || t->vfork_parent)
			th = t;
		if (t->vfork_parent)
			break;
	}
	if (!th)
		return 0;
	if (th->vfork_parent)
		return ct_err(-ETIMEDOUT, "pid %d: vfork child of pid %d, did not exec or exit within %d ms",
			      th->tid, th->vfork_parent, SEIZE_STOP_TIMEOUT_MS);
	return ct_err(-ETIMEDOUT, "pid %d: did not stop within %d ms", th->tid, SEIZE_STOP_TIMEOUT_MS);
}

/* Wait until every thread of the set is stopped or gone. */
static int seize_wait_all(struct seize_set *ss)
{
	double deadline = now_ms() + SEIZE_STOP_TIMEOUT_MS;
	long delay = 20;
	int *signals, ret = 0;

	signals = xzalloc(ss->nr * sizeof(*signals) + 1);
	if (!signals)
		return -ENOMEM;
	for (;;) {
		size_t waiting = 0;

		for (size_t i = 0; i < ss->nr && !ret; i++) {
			struct seized_thread *th = &ss->threads[i];
			int status;
			pid_t p;

			if (th->stopped || th->gone)
				continue;
			p = waitpid(th->tid, &status, __WALL | WNOHANG);
			if (p < 0 && errno == ECHILD) {
				th->gone = true;
				continue;
			}
			if (p < 0 && errno != EINTR) {
				ret = ct_err(-errno, "pid %d: cannot wait for its stop: %m", th->tid);
				break;
			}
			if (p == th->tid)
				ret = seize_handle_status(th, status, &signals[i]);
			else if (p == 0 && seize_is_zombie(th->tid)) {
				/* reaped if it exited just now; a leader with live threads cannot be */
				if (waitpid(th->tid, &status, __WALL | WNOHANG) == th->tid)
					ret = seize_handle_status(th, status, &signals[i]);
				else
					th->gone = true;
			}
			if (!th->stopped && !th->gone)
				waiting++;
		}
		if (ret || !waiting)
			break;
		if (now_ms() > deadline) {
			ret = seize_report_timeout(ss);
			break;
		}
		seize_sleep_us(delay);
		if (delay < 5000)
			delay *= 2;
	}
	free(signals);
	return ret;
}

/* Thaw the cgroup if we froze it. */
static int seize_thaw(struct seize_set *ss)
{
	int ret;

	if (!ss->frozen)
		return 0;
	ret = freezer_thaw(ss->cg);
	if (ret == 0)
		ss->frozen = false;
	return ret;
}

/* Freeze, seize and stop every thread of @cg, then thaw it. */
int seize_container(struct ct_cgroup *cg, int timeout_ms, struct seize_set *ss)
{
	size_t nr_new;
	int ret, round;

	memset(ss, 0, sizeof(*ss));
	ss->cg = cg;
	ss->freeze_ms = now_ms();
	ret = freezer_freeze(cg, timeout_ms);
	if (ret)
		return ret;
	ss->frozen = true;
	for (round = 0; round < SEIZE_MAX_ROUNDS; round++) {
		ret = seize_listed(ss, &nr_new);
		if (ret)
			goto out_unseize;
		if (round > 0 && !nr_new)
			break;
		/*
		 * v1 frozen tasks report their stops only once thawed; a vfork
		 * child must run to its exec before its parent can stop.
		 */
		if (cg_is_v1(cg) || seize_has_vfork_child(ss)) {
			ret = seize_thaw(ss);
			if (ret)
				goto out_unseize;
		}
		ret = seize_wait_all(ss);
		if (ret)
			goto out_unseize;
	}
	if (round == SEIZE_MAX_ROUNDS) {
		ret = ct_err(-EAGAIN, "%s: threads keep appearing, cannot seize them all",
			     cg_name(cg));
		goto out_unseize;
	}
	/* Injection needs thawed tasks; they stay in their ptrace-stops. */
	ret = seize_thaw(ss);
	if (ret)
		goto out_unseize;
	pr_info("seized %zu threads in %.1f ms", ss->nr, now_ms() - ss->freeze_ms);
	return 0;

out_unseize:
	unseize_container(ss);
	return ret;
}

/* Detach @th, bringing it into a stop first if it is not in one. */
static void seize_detach_one(struct seized_thread *th)
{
	int status, signals = 0;
	double deadline;

	if (th->gone)
		return;
	th->vfork_parent = 0;	/* detaching: stop it wherever it is */
	if (ptrace(PTRACE_DETACH, th->tid, NULL, NULL) == 0 || errno != ESRCH)
		goto out;
	/* Running (never waited for) or gone: stop it, then detach. */
	if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) < 0)
		goto out;	/* not ours any more */
	deadline = now_ms() + SEIZE_STOP_TIMEOUT_MS;
	th->stopped = false;
	while (!th->stopped && !th->gone && now_ms() < deadline) {
		pid_t p = waitpid(th->tid, &status, __WALL | WNOHANG);

		if (p < 0 && errno != EINTR)
			break;
		if (p == th->tid && seize_handle_status(th, status, &signals))
			break;
		if (p == 0)
			seize_sleep_us(200);
	}
	if (!th->gone && ptrace(PTRACE_DETACH, th->tid, NULL, NULL) < 0)
		pr_perror("tid %d: cannot detach", th->tid);
out:
	th->gone = true;
}

/*
 * True if @th's process waits in vfork for a child of the set that has not
 * exec'd: it cannot stop, so it cannot be detached; it is let go when the
 * tracer exits.
 */
static bool seize_waits_for_vfork(struct seize_set *ss, struct seized_thread *th)
{
	if (th->gone || th->stopped)
		return false;
	for (size_t i = 0; i < ss->nr; i++) {
		struct seized_thread *c = &ss->threads[i];

		if (c->vfork_parent == th->tgid && !c->gone &&
		    seize_shares_parent_mm(c->tid, th->tgid)) {
			pr_warn("pid %d: waits in vfork for pid %d, cannot be detached before it execs",
				th->tid, c->tid);
			return true;
		}
	}
	return false;
}

/* Detach every thread, thaw the cgroup, free the arrays. */
void unseize_container(struct seize_set *ss)
{
	/*
	 * Stopped threads first, then thaw, then the rest: a thread that is
	 * not stopped may wait for one that is (a vfork parent for its child,
	 * which must run to its exec before the parent can stop).
	 */
	for (size_t i = 0; i < ss->nr; i++) {
		struct seized_thread *th = &ss->threads[i];

		if (!th->gone && th->stopped && ptrace(PTRACE_DETACH, th->tid, NULL, NULL) == 0)
			th->gone = true;	/* done with it */
	}
	/* Thaw even if we think it is thawed: a failure must never leave it frozen. */
	if (ss->cg && freezer_thaw(ss->cg))
		pr_err("%s: cannot thaw", cg_name(ss->cg));
	ss->frozen = false;
	for (size_t i = 0; i < ss->nr; i++)
		if (seize_waits_for_vfork(ss, &ss->threads[i]))
			ss->threads[i].gone = true;
	for (size_t i = 0; i < ss->nr; i++)
		seize_detach_one(&ss->threads[i]);
	seize_forget(ss);
}

/* Drop the set without touching the threads (they are dead). */
void seize_forget(struct seize_set *ss)
{
	free(ss->threads);
	ss->threads = NULL;
	ss->nr = ss->cap = 0;
}
