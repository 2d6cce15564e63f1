// SPDX-License-Identifier: MIT
/*
 * Seccomp filters: dumped with PTRACE_SECCOMP_GET_FILTER, restored by an
 * injected seccomp(SECCOMP_SET_MODE_FILTER) per filter, oldest first.
 *
 * Filters are per thread in the kernel, a chain from the newest to the
 * oldest, and threads share the parts they inherited or got by TSYNC.  The
 * image stores each program once (ct_image.seccomp) and gives every thread
 * its chain as indexes into that list, oldest first.  Restore installs the
 * filters every thread of a process has in common from the leader with
 * SECCOMP_FILTER_FLAG_TSYNC (so the threads share them again, and a later
 * TSYNC by the program still works), then each thread's own on it alone.
 *
 * Our own injected calls must not run under the filters: dump sets
 * PTRACE_O_SUSPEND_SECCOMP on filtered processes while it injects
 * (inj_text.extra_options), restore seizes with it when the image has
 * filters.  Both need CAP_SYS_ADMIN; the kernel drops the suspension when
 * we detach.  Restore installs the filters before the credentials: the
 * task still has the restorer's CAP_SYS_ADMIN then, which the kernel asks
 * for when no_new_privs is not set (no_new_privs comes with the creds).
 *
 * Strict mode (SECCOMP_MODE_STRICT) is refused: a task in it can make
 * none of the calls a restore injects.  So are filters that hand system
 * calls to a user-space listener (SECCOMP_RET_USER_NOTIF): the listener's
 * end is not part of the image.
 */
#define LOG_PREFIX "seccomp: "
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/task.h"

/* Mode and filter count from the text of a /proc status. */
static void seccomp_status_parse(const char *text, uint32_t *mode, uint32_t *nr)
{
	const char *p = strstr(text, "\nSeccomp:");

	*mode = p ? (uint32_t)atoi(p + 9) : 0;
	p = strstr(text, "\nSeccomp_filters:");
	*nr = p ? (uint32_t)atoi(p + 17) : 0;
}

/* Mode and filter count of thread @tid of @pid, from its /proc status. */
static int seccomp_status(pid_t pid, pid_t tid, uint32_t *mode, uint32_t *nr)
{
	char path[96], *text;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read status of thread %d: %s", pid, tid,
			      strerror(-ret));
	seccomp_status_parse(text, mode, nr);
	free(text);
	return 0;
}

/*
 * Can we read and suspend other tasks' filters?  The kernel wants
 * CAP_SYS_ADMIN and a tracer with no seccomp of its own; say so once,
 * clearly, instead of a bare EPERM from ptrace.
 */
int seccomp_check_tracer(const char *what)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2];
	uint32_t mode = 0, nr = 0;
	int ret;

	if (syscall(SYS_capget, &hdr, caps) < 0)
		return ct_err(-errno, "%s: cannot read own capabilities: %m", what);
	if (!(caps[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32))))
		return ct_err(-EPERM, "%s: seccomp filters: permission denied: needs CAP_SYS_ADMIN", what);
	ret = seccomp_status(getpid(), (pid_t)syscall(SYS_gettid), &mode, &nr);
	if (ret)
		return ret;
	if (mode != SECCOMP_MODE_DISABLED)
		return ct_err(-EPERM, "%s: seccomp filters: cannot be handled from under seccomp itself", what);
	return 0;
}

/* True if program @f may hand a call to a user-space listener. */
static bool seccomp_notifies(const struct ct_seccomp_filter *f)
{
	for (uint32_t i = 0; i < f->len; i++) {
		struct sock_filter ins;

		memcpy(&ins, &f->insns[i], sizeof(ins));
		if (ins.code == (BPF_RET | BPF_K) &&
		    (ins.k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF)
			return true;
	}
	return false;
}

/*
 * Read filter @idx of stopped tracee @tid: 0 is the oldest, the first
 * installed (the kernel walks back count - 1 - @idx from the newest);
 * -ENOENT past the newest.
 */
static int seccomp_get_filter(pid_t tid, unsigned long idx, struct ct_seccomp_filter *f)
{
	struct __ptrace_seccomp_metadata md = { .filter_off = idx };
	long n, m;

	memset(f, 0, sizeof(*f));
	n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, NULL);
	if (n < 0)
		return -errno;
	if (n == 0 || n > CT_BPF_MAXINSNS)
		return ct_err(-EINVAL, "tid %d: seccomp filter %lu has %ld instructions", tid, idx, n);
	f->insns = xmalloc((size_t)n * sizeof(uint64_t));
	if (!f->insns)
		return -ENOMEM;
	m = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, f->insns);
	if (m != n) {
		free(f->insns);
		f->insns = NULL;
		return ct_err(m < 0 ? -errno : -EIO, "tid %d: cannot read seccomp filter %lu", tid, idx);
	}
	f->len = (uint32_t)n;
	/* flags: only SECCOMP_FILTER_FLAG_LOG is visible; older kernels have no metadata */
	if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, (void *)sizeof(md), &md) == (long)sizeof(md))
		f->flags = (uint32_t)md.flags & CT_SECCOMP_LOG;
	return 0;
}

/* Index of program @f in @img, added if new (then @img owns its instructions). */
static int seccomp_intern(struct ct_image *img, struct ct_seccomp_filter *f, uint32_t *idx)
{
	struct ct_seccomp_filter *arr;

	for (uint32_t i = 0; i < img->nr_seccomp; i++) {
		const struct ct_seccomp_filter *g = &img->seccomp[i];

		if (g->len == f->len && g->flags == f->flags &&
		    !memcmp(g->insns, f->insns, f->len * sizeof(uint64_t))) {
			free(f->insns);
			f->insns = NULL;
			*idx = i;
			return 0;
		}
	}
	arr = xrealloc(img->seccomp, (img->nr_seccomp + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	img->seccomp = arr;
	arr[img->nr_seccomp] = *f;
	f->insns = NULL;
	*idx = img->nr_seccomp++;
	return 0;
}

/* Read the whole chain of thread @th into indexes, oldest first. */
static int dump_thread_seccomp(struct ct_image *img, pid_t pid, struct ct_thread *th, uint32_t nr)
{
	uint32_t *idx, n = 0;
	int ret = 0;

	if (nr == 0 || nr > CT_SECCOMP_MAX_PATH / 5)
		return ct_err(-EINVAL, "pid %d: thread %d: %u seccomp filters", pid, th->tid, nr);
	idx = xzalloc(nr * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (;;) {
		struct ct_seccomp_filter f;

		ret = seccomp_get_filter(th->host_tid, n, &f);
		if (ret == -ENOENT) {
			ret = 0;
			break;
		}
		if (ret == -EPERM || ret == -EACCES)
			ret = ct_err(ret, "pid %d: thread %d: cannot read its seccomp filters: needs CAP_SYS_ADMIN",
				     pid, th->tid);
		else if (ret == -EMEDIUMTYPE || ret == -EINVAL)
			ret = ct_err(ret, "pid %d: thread %d: cannot read its seccomp filters: %s", pid,
				     th->tid, strerror(-ret));
		if (ret)
			break;
		if (n == nr) {
			free(f.insns);
			ret = ct_err(-EAGAIN, "pid %d: thread %d: more seccomp filters than its status shows",
				     pid, th->tid);
			break;
		}
		if (seccomp_notifies(&f)) {
			free(f.insns);
			ret = ct_err(-ENOTSUP, "pid %d: seccomp filter with user notification: not supported",
				     pid);
			break;
		}
		/* the kernel counts from the oldest (verified: 0 is the first installed) */
		ret = seccomp_intern(img, &f, &idx[n]);
		if (ret)
			break;
		n++;
	}
	if (!ret && n != nr)
		ret = ct_err(-EAGAIN, "pid %d: thread %d: %u seccomp filters read, status shows %u", pid,
			     th->tid, n, nr);
	if (ret) {
		free(idx);
		return ret;
	}
	th->seccomp_mode = SECCOMP_MODE_FILTER;
	th->seccomp = idx;
	th->nr_seccomp = nr;
	pr_debug("pid %d: thread %d: %u seccomp filters", pid, th->tid, nr);
	return 0;
}

int dump_task_seccomp(struct ct_image *img, struct ct_task *t, const char *status)
{
	bool checked = false;

	for (uint32_t i = 0; i < t->nr_threads; i++) {
		struct ct_thread *th = &t->threads[i];
		uint32_t mode = 0, nr = 0;
		int ret = 0;

		/* /proc/PID/status shows the leader's, which stay as they are while it is stopped */
		if (i == 0 && status)
			seccomp_status_parse(status, &mode, &nr);
		else
			ret = seccomp_status(t->host_pid, th->host_tid, &mode, &nr);
		if (ret)
			return ret;
		if (mode == SECCOMP_MODE_DISABLED)
			continue;
		if (mode != SECCOMP_MODE_FILTER)
			return ct_err(-ENOTSUP, "pid %d: thread %d: seccomp strict mode: not supported",
				      t->pid, th->tid);
		if (!checked) {
			ret = seccomp_check_tracer("dump");
			if (ret)
				return ret;
			checked = true;
		}
		ret = dump_thread_seccomp(img, t->pid, th, nr);
		if (ret)
			return ret;
	}
	return 0;
}

bool seccomp_task_filtered(const struct ct_task *t)
{
	for (uint32_t i = 0; i < t->nr_threads; i++)
		if (t->threads[i].nr_seccomp)
			return true;
	return false;
}

/* How many filters, oldest first, every thread of @t has in common. */
static uint32_t seccomp_shared(const struct ct_task *t)
{
	const struct ct_thread *lead = &t->threads[0];
	uint32_t n = lead->nr_seccomp;

	for (uint32_t i = 1; i < t->nr_threads; i++) {
		const struct ct_thread *th = &t->threads[i];
		uint32_t k = 0;

		while (k < n && k < th->nr_seccomp && th->seccomp[k] == lead->seccomp[k])
			k++;
		n = k;
	}
	return n;
}

/* Install program @f in the thread of @tc by an injected seccomp(2). */
static int seccomp_install(struct task_ctx *tc, const struct ct_seccomp_filter *f, bool tsync,
			   pid_t pid)
{
	struct sock_fprog prog = { .len = (unsigned short)f->len };
	size_t bytes = (size_t)f->len * sizeof(uint64_t);
	unsigned long flags = tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0;
	long ret;

	if (sizeof(prog) + bytes > tc->scratch_len)
		return ct_err(-E2BIG, "pid %d: seccomp filter of %u instructions does not fit", pid,
			      f->len);
	if (f->flags & CT_SECCOMP_LOG)
		flags |= SECCOMP_FILTER_FLAG_LOG;
	prog.filter = (struct sock_filter *)(tc->scratch + sizeof(prog));
	ret = inj_write_mem(tc->inj->tid, tc->scratch, &prog, sizeof(prog)) ?:
	      inj_write_mem(tc->inj->tid, tc->scratch + sizeof(prog), f->insns, bytes);
	if (ret)
		return ct_err((int)ret, "pid %d: cannot write a seccomp filter into the task", pid);
	ret = inj_syscall(tc->inj, __NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, tc->scratch, 0, 0, 0);
	if (ret > 0)	/* TSYNC: the thread that could not take it */
		return ct_err(-EBUSY, "pid %d: seccomp filter: thread (host %ld) cannot take it", pid, ret);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: cannot install seccomp filter: %s", pid,
			      strerror((int)-ret));
	return 0;
}

int restore_thread_seccomp(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t,
			   uint32_t i)
{
	const struct ct_thread *th = &t->threads[i];
	uint32_t shared = seccomp_shared(t);

	/* the leader installs what all share for all of them, then its own */
	for (uint32_t k = i == 0 ? 0 : shared; k < th->nr_seccomp; k++) {
		int ret = seccomp_install(tc, &img->seccomp[th->seccomp[k]], k < shared, t->pid);

		if (ret)
			return ret;
	}
	return 0;
}
