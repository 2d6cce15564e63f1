/* SPDX-License-Identifier: MIT */
/*
 * Copy-on-write snapshots of a seized process: a fork() injected into it
 * while the container is stopped gives a child whose memory is the
 * process's memory at that instant, kept by copy-on-write while the
 * process runs on.  Dump reads the pages from the child afterwards.
 *
 * The child never runs user code: it is auto-attached to us (its first
 * stop is PTRACE_EVENT_STOP) and its registers are set to make an
 * exit_group() at once should it ever be resumed (if the dumper dies, the
 * kernel detaches and resumes it).  It is moved out of the container's
 * cgroup (kill/ps/freeze do not see it) and its descriptors are closed (it
 * holds no pipe or socket open).
 *
 * The fork is a clone() with no exit signal, so the parent never gets a
 * SIGCHLD for it and its plain wait() never returns it (only __WALL sees
 * such a child).  snap_release() kills it and reaps the zombie with a
 * wait4() injected into the parent.  Under a guarded injection the child
 * gets its own stack, a signal frame leading to exit_group(0): should the
 * dumper die during the clone, before the child is ours, it exits without
 * running one instruction of the parent's code.  A zombie left by a dead
 * dumper is reaped by the next command (inj_reap_strays(), inject/reap.c).
 */
#ifndef CT_DUMP_SNAPSHOT_H
#define CT_DUMP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ct_cgroup;
struct inj_ctx;

struct snap_child {
	pid_t pid;			/* host pid of the snapshot child, 0 none */
	pid_t ns_pid;			/* its pid as the parent sees it (its pid namespace) */
	pid_t parent;			/* host pid of the process it snapshots */
	unsigned long syscall_ip;	/* a `syscall` in the (shared) vdso */
};

/* Fork a snapshot of the process whose leader is stopped under injection @inj. */
int snap_fork(struct inj_ctx *inj, struct snap_child *sc);
/*
 * snap_fork() in each of the @n processes under @ctxs at once: their forks
 * overlap.  Each one's failure in @errs[i] (one already there: no fork for
 * it); the return value is a failure of the run itself.
 */
int snap_fork_wave(struct inj_ctx *const *ctxs, size_t n, struct snap_child *scs, int *errs);
/* Once the container runs again: move @sc out of @cg into our own cgroup, close its fds. */
int snap_isolate(struct ct_cgroup *cg, struct snap_child *sc);
/* Kill and reap @sc (its parent must not be seized by us any more). Never fails. */
void snap_release(struct snap_child *sc);

#endif
