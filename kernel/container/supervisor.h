/* SPDX-License-Identifier: MIT */
/*
 * The per-container supervisor: a small process of ours that is the parent
 * of the container's init (so neither the machine's init nor the caller has
 * to reap it), records the init's pids and exit status in STORE/NAME/state,
 * and reaps every orphan re-parented to it (PR_SET_CHILD_SUBREAPER).
 *
 *   caller --fork--> (intermediate, exits) --fork--> supervisor --clone3--> init
 *
 * The supervisor is double-forked: it is never the caller's child, so a
 * long-lived caller (restore, the lazy server) has no zombie to reap.  It
 * runs setsid, with stdin/stdout on /dev/null and stderr on
 * STORE/NAME/supervisor.log, and exits once it has no children left.
 *
 * The init is created with raw clone3 (for set_tid): in it, as after fork()
 * in a threaded program, use only async-signal-safe calls (no stdio, no
 * malloc-heavy library code, no raise/abort) until it execs.
 */
#ifndef CT_SUPERVISOR_H
#define CT_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>

struct ct_cgroup;
struct ct_shape;
struct ct_state;

struct supervisor_opts {
	const char *store_dir, *name;	/* where to record the exit status (NULL: nowhere) */
	struct ct_cgroup *cg;		/* the init is placed in this cgroup before it runs anything */
	bool new_pidns;			/* CLONE_NEWPID|CLONE_NEWNS + private /proc */
	pid_t set_tid;			/* 0: any pid; else clone3 set_tid for the init (host pid) */
	const struct ct_shape *shape;	/* rootfs, hostname, network (shape.h); NULL: none */
	const char *console_path;	/* stdout/stderr of the init; stdin is /dev/null */
	/*
	 * A terminal (needs store_dir and name): the supervisor keeps a pty
	 * master, serves it on STORE/NAME/console.sock and logs its output to
	 * console_path.  tty_master >= 0: serve that master (restore); -1: create
	 * a pty whose slave is the init's stdin/stdout/stderr and controlling
	 * terminal (run).  The caller keeps its copy of tty_master.
	 */
	bool tty;
	int tty_master;
	/*
	 * Runs in the init after namespace setup, cgroup placement, setsid and
	 * stdio redirection, with default signal dispositions and an empty mask.
	 * Success is reported when the init execs (the sync pipe is O_CLOEXEC)
	 * or calls supervisor_init_ready().  Returning a negative errno (with
	 * ct_err() set) reports that failure to supervisor_start()'s caller;
	 * returning 0 makes the init exit with status 0.
	 */
	int (*init_fn)(void *arg);
	void *arg;
	/*
	 * No supervisor: the caller clones the init with CLONE_PARENT, so the
	 * caller's parent (a runtime's subreaper, as runc's rst_sibling asks)
	 * is its parent, reaper and keeper of its exit status.  Not with tty.
	 */
	bool sibling;
};

/*
 * Fork the supervisor, which clones the init.  Returns once init_fn has
 * reported: *@init_pid is the init's host pid.  For run, init_fn execs CMD
 * and success means the exec happened; an exec failure comes back as -errno
 * with ct_err set ("NAME: cannot run CMD: No such file or directory").  On
 * failure the supervisor has reaped the init and finished writing the store
 * before this returns, so the caller may remove the container at once.
 */
int supervisor_start(const struct supervisor_opts *opts, pid_t *init_pid);

/*
 * For an init_fn that does not exec (restore: it blocks, e.g. in pause(),
 * until another process ptrace-seizes and rebuilds it): report readiness
 * now, so supervisor_start() returns 0 in the caller.  Only valid in the
 * init; a second call does nothing.
 */
void supervisor_init_ready(void);

/*
 * Wait up to @timeout_ms for the supervisor recorded in @st (keys
 * supervisor_pid, supervisor_start) to exit, i.e. to have written the exit
 * status.  Returns 0 when it is gone (or was never recorded), -ETIMEDOUT.
 */
int supervisor_wait(const struct ct_state *st, int timeout_ms);

/* Start time of @pid in clock ticks since boot (field 22 of /proc/PID/stat). */
int proc_starttime(pid_t pid, unsigned long long *ticks);

#endif
