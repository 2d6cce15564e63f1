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
#include "freezer/inject.h"
#include "lib/log.h"
#include "lib/util.h"

#ifndef __NR_close_range
#define __NR_close_range 436
#endif

#define SNAP_WAIT_MS 5000
#define SNAP_SCRATCH 4096

/* The kernel's struct sigaction for rt_sigaction on x86_64. */
struct snap_ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

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
	regs.rip = syscall_ip;
	regs.rax = __NR_exit_group;
	regs.orig_rax = -1;
	regs.rdi = 0;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) < 0)
		return ct_err(-errno, "snapshot child %d: cannot set registers: %m", pid);
	return 0;
}

/* Fork a snapshot child of the process under @inj. */
int snap_fork(struct inj_ctx *inj, struct snap_child *sc)
{
	long r;
	int ret;

	memset(sc, 0, sizeof(*sc));
	if (ptrace(PTRACE_SETOPTIONS, inj->tid, NULL, (void *)(long)PTRACE_O_TRACEFORK) < 0)
		return ct_err(-errno, "pid %d: cannot trace its forks: %m", inj->tid);
	r = inj_syscall(inj, __NR_fork, 0, 0, 0, 0, 0, 0);
	if (ptrace(PTRACE_SETOPTIONS, inj->tid, NULL, NULL) < 0 && r >= 0)
		pr_warn("pid %d: cannot reset ptrace options: %m", inj->tid);
	if (r < 0 && r > -4096)
		return ct_err((int)r, "pid %d: snapshot fork failed: %s", inj->tid, strerror((int)-r));
	if (!inj->event_child)
		return ct_err(-ECHILD, "pid %d: snapshot fork gave no traced child", inj->tid);
	sc->pid = inj->event_child;
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

/* Seize @pid and wait for its stop; -ESRCH if it is gone. */
static int snap_seize_parent(pid_t pid)
{
	double deadline = now_ms() + SNAP_WAIT_MS;
	int status;

	/*
	 * EXITKILL: if we die while its registers are ours (snap_quiet_reap),
	 * the kernel kills it rather than let it run on them; the lock phase
	 * lets the next command report it (dump_release_snapshots).
	 */
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)PTRACE_O_EXITKILL) < 0)
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

/* SIGKILL @pid and reap it as its tracer. */
static void snap_kill_reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	while (waitpid(pid, &status, __WALL) >= 0 || errno == EINTR)
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
}

/*
 * With the parent stopped under injection: set SA_NOCLDWAIT on its SIGCHLD
 * action, kill and reap the child (the kernel then reaps it for the
 * parent), put the action back.  Pending signals are kept: the handler
 * does not change, so nothing is flushed.
 */
static int snap_quiet_reap(struct snap_child *sc, struct inj_ctx *inj)
{
	struct snap_ksigaction act;
	unsigned long scratch;
	long r;
	int ret, ret2;

	ret = inj_map_scratch(inj, SNAP_SCRATCH, &scratch);
	if (ret)
		return ret;
	r = inj_syscall(inj, __NR_rt_sigaction, SIGCHLD, 0, scratch, 8, 0, 0);
	ret = r < 0 ? (int)r : inj_read_mem(sc->parent, scratch, &act, sizeof(act));
	if (ret)
		goto out_unmap;
	act.flags |= SA_NOCLDWAIT;
	ret = inj_write_mem(sc->parent, scratch + 64, &act, sizeof(act));
	if (!ret) {
		r = inj_syscall(inj, __NR_rt_sigaction, SIGCHLD, scratch + 64, 0, 8, 0, 0);
		ret = r < 0 ? (int)r : 0;
	}
	if (ret)
		goto out_unmap;
	snap_kill_reap(sc->pid);
	sc->pid = 0;
	r = inj_syscall(inj, __NR_rt_sigaction, SIGCHLD, scratch, 0, 8, 0, 0);
	if (r < 0)
		pr_err("pid %d: cannot put back its SIGCHLD action: %s", sc->parent,
		       strerror((int)-r));
out_unmap:
	ret2 = inj_unmap_scratch(inj, scratch, SNAP_SCRATCH);
	return ret ?: ret2;
}

/* Kill and reap the snapshot child. */
void snap_release(struct snap_child *sc)
{
	struct inj_ctx inj;
	unsigned long ip;
	int ret;

	if (!sc->pid)
		return;
	ret = snap_seize_parent(sc->parent);
	if (ret) {
		/* parent gone: the child's new parent is a reaper, which expects strangers */
		pr_debug("pid %d: cannot stop parent (%s), killing child %d plainly", sc->parent,
			 strerror(-ret), sc->pid);
		snap_kill_reap(sc->pid);
		sc->pid = 0;
		return;
	}
	ret = inj_find_syscall_insn(sc->parent, &ip);
	if (!ret)
		ret = inj_begin(&inj, sc->parent, ip);
	if (!ret) {
		ret = snap_quiet_reap(sc, &inj);
		inj_end(&inj);
	}
	if (ret) {
		pr_warn("pid %d: snapshot child %d reaped plainly: the parent may see it exit",
			sc->parent, sc->pid);
	}
	if (sc->pid)
		snap_kill_reap(sc->pid);
	sc->pid = 0;
	if (ptrace(PTRACE_DETACH, sc->parent, NULL, NULL) < 0)
		pr_perror("pid %d: cannot detach", sc->parent);
}
