/* SPDX-License-Identifier: MIT */
/*
 * Seizing a whole container: freeze its cgroup, PTRACE_SEIZE and
 * PTRACE_INTERRUPT every thread, wait until each sits in its ptrace-stop,
 * and thaw the cgroup again so that system calls can be injected (the
 * tasks stay stopped under ptrace).  Threads that appear while seizing
 * (possible on the v1 freezer, which must be thawed before the stops are
 * reported) are seized too; threads that vanish are dropped.  A vfork child
 * that has not exec'd yet is let run until its exec (or exit): its parent
 * cannot stop before that.
 *
 * unseize_container() is the one way back: it detaches every thread it
 * can find and thaws the cgroup, on success (--leave-running) and on every
 * failure alike.  It never fails half-way: it logs and goes on.
 */
#ifndef CT_SEIZE_H
#define CT_SEIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ct_cgroup;

struct seized_thread {
	pid_t tid;		/* host tid */
	pid_t tgid;		/* host pid of its thread group */
	bool stopped;		/* reported its ptrace-stop to us */
	bool gone;		/* exited while seized: nothing to detach */
	bool job_stopped;	/* was in a group stop (SIGSTOP) when seized */
	pid_t vfork_parent;	/* a vfork child before its exec: the parent whose mm it shares */
};

struct seize_set {
	struct ct_cgroup *cg;
	size_t nr, cap;
	struct seized_thread *threads;	/* in seizing order */
	bool frozen;			/* we froze the cgroup and have not thawed it */
	double freeze_ms;		/* now_ms() when the freeze began */
};

/*
 * Freeze @cg (waiting at most @timeout_ms), seize and stop every thread in
 * it, then thaw it.  On failure everything already seized is released
 * (unseize_container) and the cgroup thawed.
 */
int seize_container(struct ct_cgroup *cg, int timeout_ms, struct seize_set *ss);
/* Detach every seized thread and thaw the cgroup; frees the set's arrays. */
void unseize_container(struct seize_set *ss);
/* Forget the seized threads (they were killed) and free the set's arrays. */
void seize_forget(struct seize_set *ss);
/* The seized thread @tid, or NULL. */
struct seized_thread *seize_find(struct seize_set *ss, pid_t tid);

#endif
