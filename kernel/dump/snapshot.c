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

/* Fork a snapshot child of the process under @inj. */
int snap_fork(struct inj_ctx *inj, struct snap_child *sc)
{
	unsigned long child_sp = 0;	/* unguarded: the parent's stack, as fork() */
	long r;
	int ret;

	memset(sc, 0, sizeof(*sc));
	if (inj->frame) {
		ret = inj_guard_child_frame(inj, &child_sp);
		if (ret)
			return ct_err(ret, "pid %d: cannot prepare the snapshot child's stack", inj->tid);
	}
	ret = inj_trace_clones(inj, true);
	if (ret)
		return ret;
	/* no CLONE_* flag and exit signal 0: a fork the parent's wait() never sees */
	r = inj_syscall(inj, __NR_clone, 0, child_sp, 0, 0, 0, 0);
	if (inj_trace_clones(inj, false) && r >= 0)
		pr_warn("pid %d: cannot reset ptrace options", inj->tid);
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

/*
 * Seize @pid and wait for its stop; -ESRCH if it is gone.  With @exitkill
 * the kernel kills it should we die while its registers are ours (an
 * unguarded injection).
 */
static int snap_seize_parent(pid_t pid, bool exitkill)
{
	double deadline = now_ms() + SNAP_WAIT_MS;
	int status;

	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)(exitkill ? PTRACE_O_EXITKILL : 0)) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0)
		goto out_detach;
	while (now_ms() < deadline) {
		pid_t p = waitpid(pid, &status, __WALL);

		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* a signal on its way: let it through, the interrupt stops it next */
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(status)) < 0)
			break;
	}
out_detach:
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return -ETIMEDOUT;
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

/* True if /proc/@pid/status shows a seccomp filter. */
static bool snap_is_filtered(pid_t pid)
{
	char path[64], *text;
	bool filtered;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_whole_file(path, &text, NULL))
		return false;
	filtered = strstr(text, "\nSeccomp:\t2") != NULL;
	free(text);
	return filtered;
}

/*
 * Stop @parent and inject wait4() for each of its @nr zombie children
 * @pids (as its pid namespace numbers them); how many it reaped.  The injection is guarded where it can be;
 * otherwise the parent has EXITKILL for the instant of the calls.
 */
static int snap_reap_in_parent(pid_t parent, const pid_t *pids, int nr)
{
	struct inj_text it;
	struct inj_ctx inj;
	int ret, reaped = 0;

	ret = inj_find_text(parent, &it);
	if (ret)
		return ret;
	/* its seccomp filter must not see our wait4 */
	if (snap_is_filtered(parent))
		it.extra_options = PTRACE_O_SUSPEND_SECCOMP;
	ret = snap_seize_parent(parent, !it.sigreturn_ip || !it.syscall_ret_ip);
	if (ret)
		return ret;
	ret = inj_begin_guarded(&inj, parent, &it);
	if (ret == -ENOTSUP) {
		ptrace(PTRACE_SETOPTIONS, parent, NULL, (void *)(PTRACE_O_EXITKILL | it.extra_options));
		ret = inj_begin(&inj, parent, it.syscall_ip);
	}
	for (int i = 0; !ret && i < nr; i++) {
		long r = inj_syscall(&inj, __NR_wait4, pids[i], 0, __WALL | WNOHANG, 0, 0, 0);

		pr_debug("pid %d: wait4(%d) = %ld", parent, pids[i], r);
		reaped += r == pids[i];
	}
	if (!ret)
		ret = inj_end(&inj);
	if (ptrace(PTRACE_DETACH, parent, NULL, NULL) < 0)
		pr_perror("pid %d: cannot detach", parent);
	return ret ?: reaped;
}

/* Kill and reap the snapshot child. */
void snap_release(struct snap_child *sc)
{
	int ret;

	if (!sc->pid)
		return;
	snap_kill_reap(sc->pid);
	ret = snap_reap_in_parent(sc->parent, &sc->ns_pid, 1);
	if (ret == -ESRCH)
		/* parent gone: the child's new parent is a reaper, which expects strangers */
		pr_debug("pid %d: gone, its snapshot child %d left to the reaper", sc->parent, sc->pid);
	else if (ret != 1)
		pr_warn("pid %d: snapshot child %d not reaped (%s): a zombie only wait(__WALL) sees",
			sc->parent, sc->pid, ret < 0 ? strerror(-ret) : "not a zombie yet");
	sc->pid = 0;
}

/* The pid of host process @pid in its own (innermost) pid namespace, 0 if unknown. */
static pid_t snap_ns_pid(pid_t pid)
{
	char path[64], *text, *line, *end;
	pid_t ns_pid = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_whole_file(path, &text, NULL))
		return 0;
	line = strstr(text, "\nNSpid:");
	if (line) {
		end = strchr(line + 1, '\n');
		if (end)
			*end = '\0';
		end = strrchr(line, '\t');
		ns_pid = end ? (pid_t)atoi(end + 1) : 0;
	}
	free(text);
	return ns_pid;
}

/* True if /proc/@pid/stat says: a zombie with no exit signal, whose parent is @parent. */
static bool snap_is_stray(pid_t pid, pid_t parent)
{
	char path[64], *text, *p;
	int field = 2, exit_signal = -1, ppid = 0;
	char state = 0;
	bool stray;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_whole_file(path, &text, NULL))
		return false;
	p = strrchr(text, ')');
	for (p = p ? p + 1 : text; p && *p; p = strchr(p + 1, ' ')) {
		field++;
		if (field == 3)
			state = p[1];
		else if (field == 4)
			ppid = atoi(p + 1);
		else if (field == 38)
			exit_signal = atoi(p + 1);
	}
	stray = state == 'Z' && ppid == parent && exit_signal == 0;
	free(text);
	return stray;
}

int snap_reap_strays(pid_t pid)
{
	char path[64], *text, *p, *end;
	pid_t strays[64];
	int nr = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	if (read_whole_file(path, &text, NULL))
		return 0;
	for (p = text; nr < 64; p = end) {
		long child = strtol(p, &end, 10);

		if (end == p)
			break;
		if (snap_is_stray((pid_t)child, pid) && (strays[nr] = snap_ns_pid((pid_t)child)))
			nr++;
	}
	free(text);
	return nr ? snap_reap_in_parent(pid, strays, nr) : 0;
}
