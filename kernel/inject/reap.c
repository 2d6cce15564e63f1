// SPDX-License-Identifier: MIT
/*
 * Reaping another process's zombie children by injecting wait4() into it:
 * how a snapshot child (dump/snapshot.c) is reaped after the dump, and how
 * the next command reaps those a dead dumper left behind
 * (container/recover.c).  Those children have no exit signal, so their
 * parent never learns of them and only wait(__WALL) in the parent sees them.
 */
#define LOG_PREFIX "inject: "
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject/inject.h"
#include "lib/log.h"
#include "lib/util.h"

#define REAP_WAIT_MS 5000

/*
 * Seize @pid and wait for its stop; -ESRCH if it is gone.  With @exitkill
 * the kernel kills it should we die while its registers are ours (an
 * unguarded injection).
 */
static int reap_seize_parent(pid_t pid, bool exitkill)
{
	double deadline = now_ms() + REAP_WAIT_MS;
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

/* True if /proc/@pid/status shows a seccomp filter. */
static bool reap_is_filtered(pid_t pid)
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
int inj_reap_children(pid_t parent, const pid_t *pids, int nr)
{
	struct inj_text it;
	struct inj_ctx inj;
	int ret, reaped = 0;

	ret = inj_find_text(parent, &it);
	if (ret)
		return ret;
	/* its seccomp filter must not see our wait4 */
	if (reap_is_filtered(parent))
		it.extra_options = PTRACE_O_SUSPEND_SECCOMP;
	ret = reap_seize_parent(parent, !it.sigreturn_ip || !it.syscall_ret_ip);
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

/* The pid of host process @pid in its own (innermost) pid namespace, 0 if unknown. */
static pid_t reap_ns_pid(pid_t pid)
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
static bool reap_is_stray(pid_t pid, pid_t parent)
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

int inj_reap_strays(pid_t pid)
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
		if (reap_is_stray((pid_t)child, pid) && (strays[nr] = reap_ns_pid((pid_t)child)))
			nr++;
	}
	free(text);
	return nr ? inj_reap_children(pid, strays, nr) : 0;
}
