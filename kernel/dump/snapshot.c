// SPDX-License-Identifier: MIT
/* Copy-on-write snapshots of seized processes by an injected fork (see snapshot.h). */
#define LOG_PREFIX "snapshot: "
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump/snapshot.h"
#include "freezer/cgroup.h"
#include "inject/inject.h"
#include "lib/log.h"
#include "lib/util.h"

#ifndef __NR_close_range
#define __NR_close_range 436
#endif

#define SNAP_WAIT_MS 5000
#define SNAP_SCRATCH 4096

/* Wait for the first stop of the auto-attached child @pid. */
static int snap_wait_stop(pid_t pid)
{
	int status;

	for (;;) {
		if (waitpid(pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return ct_err(-errno, "snapshot child %d: cannot wait for it: %m", pid);
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return ct_err(-ESRCH, "snapshot child %d: died before its first stop", pid);
		if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* a signal-delivery-stop cannot come (all signals blocked): suppress it anyway */
		if (ptrace(PTRACE_CONT, pid, NULL, NULL) < 0)
			return ct_err(-errno, "snapshot child %d: cannot resume: %m", pid);
	}
}

/* Make @pid exit at once, without running user code, should it ever be resumed. */
static int snap_arm_exit(pid_t pid, unsigned long syscall_ip)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0)
		return ct_err(-errno, "snapshot child %d: cannot read registers: %m", pid);
	inj_set_exit_regs(&regs, syscall_ip, 0);
	if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) < 0)
		return ct_err(-errno, "snapshot child %d: cannot set registers: %m", pid);
	return 0;
}

/* Note the child the clone under @inj gave (result @r) and make it safe: its stop, its exit. */
static int snap_forked(struct inj_ctx *inj, struct snap_child *sc, long r)
{
	int ret;

	if (r < 0 && r > -4096)
		return ct_err((int)r, "pid %d: snapshot fork failed: %s", inj->tid, strerror((int)-r));
	if (!inj->event_child)
		return ct_err(-ECHILD, "pid %d: snapshot fork gave no traced child", inj->tid);
	sc->pid = inj->event_child;
	sc->ns_pid = (pid_t)r;
	sc->parent = inj->tid;
	sc->syscall_ip = inj->syscall_ip;
	ret = snap_wait_stop(sc->pid);
	if (!ret)
		ret = snap_arm_exit(sc->pid, sc->syscall_ip);
	if (ret) {
		snap_release(sc);
		return ret;
	}
	pr_debug("pid %d: snapshot child %d", sc->parent, sc->pid);
	return 0;
}

/* Before the clone under @inj: the child's stack (guarded), and its clone traced. */
static int snap_prepare(struct inj_ctx *inj, unsigned long *child_sp)
{
	int ret;

	*child_sp = 0;		/* unguarded: the parent's stack, as fork() */
	if (inj->frame) {
		ret = inj_guard_child_frame(inj, child_sp);
		if (ret)
			return ct_err(ret, "pid %d: cannot prepare the snapshot child's stack", inj->tid);
	}
	return inj_trace_clones(inj, true);
}

/* After the clone under @inj: its clones are not traced any more. */
static void snap_untrace(struct inj_ctx *inj, long r)
{
	if (inj_trace_clones(inj, false) && r >= 0)
		pr_warn("pid %d: cannot reset ptrace options", inj->tid);
}

int snap_fork_wave(struct inj_ctx *const *ctxs, size_t n, struct snap_child *scs, int *errs)
{
	struct inj_ctx **run = xmalloc(sizeof(*run) * (n + 1));
	unsigned long (*args)[6] = xzalloc(sizeof(*args) * (n + 1));
	long *results = xmalloc(sizeof(*results) * (n + 1));
	size_t *which = xmalloc(sizeof(*which) * (n + 1)), nr = 0;
	int ret = run && args && results && which ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !ret; i++) {
		memset(&scs[i], 0, sizeof(scs[i]));
		if (errs[i])
			continue;	/* the caller's: no fork for it */
		errs[i] = snap_prepare(ctxs[i], &args[nr][1]);
		if (errs[i])
			continue;
		/* no CLONE_* flag and exit signal 0: a fork the parent's wait() never sees */
		run[nr] = ctxs[i];
		which[nr++] = i;
	}
	if (!ret && nr)
		ret = inj_syscall_wave(run, nr, __NR_clone, (const unsigned long (*)[6])args, results);
	/* every clone that ran: a child it made is recorded (and released by the caller) */
	for (size_t k = 0; k < nr; k++) {
		size_t i = which[k];

		snap_untrace(ctxs[i], results[k]);
		errs[i] = snap_forked(ctxs[i], &scs[i], results[k]);
	}
	free(run);
	free(args);
	free(results);
	free(which);
	return ret;
}

/* Fork a snapshot child of the process under @inj. */
int snap_fork(struct inj_ctx *inj, struct snap_child *sc)
{
	unsigned long child_sp;
	long r;
	int ret;

	memset(sc, 0, sizeof(*sc));
	ret = snap_prepare(inj, &child_sp);
	if (ret)
		return ret;
	r = inj_syscall(inj, __NR_clone, 0, child_sp, 0, 0, 0, 0);
	snap_untrace(inj, r);
	return snap_forked(inj, sc, r);
}

/* Our own group in the hierarchy whose /proc/self/cgroup line starts with @prefix. */
static int snap_own_group(const char *prefix, char *out, size_t size)
{
	char *text, *p;
	int ret;

	ret = read_whole_file("/proc/self/cgroup", &text, NULL);
	if (ret)
		return ret;
	ret = -ENOENT;
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *colon;

		if (!strncmp(p, "0::", 3) && !strcmp(prefix, "0::"))
			colon = p + 2;
		else if (strcmp(prefix, "0::") && (colon = strchr(p, ':')) &&
			 !strncmp(colon + 1, prefix, strlen(prefix)) &&
			 colon[1 + strlen(prefix)] == ':')
			colon += 1 + strlen(prefix);
		else
			continue;
		snprintf(out, size, "%.*s", (int)strcspn(colon + 1, "\n"), colon + 1);
		ret = 0;
		break;
	}
	free(text);
	return ret;
}

/* Move @pid into our own group of the hierarchy mounted at @mnt. */
static int snap_move(const char *mnt, const char *prefix, pid_t pid)
{
	char group[2048], path[4200], num[32];
	int ret;

	ret = snap_own_group(prefix, group, sizeof(group));
	if (ret)
		return ct_err(ret, "cannot find our own cgroup (%s)", prefix);
	snprintf(path, sizeof(path), "%s%s/cgroup.procs", mnt, group);
	snprintf(num, sizeof(num), "%d", pid);
	ret = write_small_file(path, num);
	if (ret)
		return ct_err(ret, "snapshot child %d: cannot move it to %s: %s", pid, path,
			      strerror(-ret));
	return 0;
}

/* Move the child out of the container's groups and close its descriptors. */
int snap_isolate(struct ct_cgroup *cg, struct snap_child *sc)
{
	const char *v2, *freezer;
	struct inj_ctx inj;
	long r;
	int ret;

	ret = cg_mounts(&v2, &freezer);
	if (!ret && cg_v2_path(cg) && v2[0])
		ret = snap_move(v2, "0::", sc->pid);
	if (!ret && cg_is_v1(cg))
		ret = snap_move(freezer, "freezer", sc->pid);
	if (ret)
		return ret;
	/* It would keep pipes and sockets open for as long as the push lasts. */
	ret = inj_begin(&inj, sc->pid, sc->syscall_ip);
	if (ret)
		return ret;
	r = inj_syscall(&inj, __NR_close_range, 0, ~0U, 0, 0, 0, 0);
	ret = inj_end(&inj);
	if (r < 0 && r > -4096)
		return ct_err((int)r, "snapshot child %d: cannot close its files: %s", sc->pid,
			      strerror((int)-r));
	return ret;
}

/* SIGKILL @pid and reap it as its tracer: it stays a zombie for its parent. */
static void snap_kill_reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	while (waitpid(pid, &status, __WALL) >= 0 || errno == EINTR)
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
}

/* Kill and reap the snapshot child. */
void snap_release(struct snap_child *sc)
{
	int ret;

	if (!sc->pid)
		return;
	snap_kill_reap(sc->pid);
	ret = inj_reap_children(sc->parent, &sc->ns_pid, 1);
	if (ret == -ESRCH)
		/* parent gone: the child's new parent is a reaper, which expects strangers */
		pr_debug("pid %d: gone, its snapshot child %d left to the reaper", sc->parent, sc->pid);
	else if (ret != 1)
		pr_warn("pid %d: snapshot child %d not reaped (%s): a zombie only wait(__WALL) sees",
			sc->parent, sc->pid, ret < 0 ? strerror(-ret) : "not a zombie yet");
	sc->pid = 0;
}
