// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Signals: handlers, blocked masks, pending signals and sigaltstack.
 *
 * Handlers and the alternate stack are read and set by injected calls
 * through scratch memory.  Pending signals are read with PTRACE_PEEKSIGINFO
 * (which leaves them queued) and queued again by the task itself with
 * rt_sigqueueinfo / rt_tgsigqueueinfo: the kernel lets a task queue any
 * siginfo to itself, and only to itself.  The blocked mask is what
 * inj_begin() saved; restore sets it there for inj_end() to install.
 */
#define LOG_PREFIX "signals: "
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/task.h"

#ifndef PTRACE_PEEKSIGINFO
#define PTRACE_PEEKSIGINFO 0x4209
#endif
#ifndef PTRACE_PEEKSIGINFO_SHARED
#define PTRACE_PEEKSIGINFO_SHARED 1
#endif

#define SIG_PEEK_BATCH 32

struct sig_peek_args {
	uint64_t off;
	uint32_t flags;
	int32_t nr;
};

/* Kernel signal numbers that have no handler to read or set. */
static bool sig_fixed(int sig)
{
	return sig == SIGKILL || sig == SIGSTOP;
}

/* Error text of a raw injected result. */
static const char *inj_strerror(long ret)
{
	return strerror((int)-ret);
}

/* Copy the queue of pending signals (shared or of @tid) without dequeuing them. */
static int sig_peek_queue(pid_t tid, bool shared, struct ct_siginfo **out, uint32_t *nr)
{
	struct ct_siginfo *arr = NULL;
	size_t cap = 0;
	uint32_t n = 0;

	for (;;) {
		struct sig_peek_args a = {
			.off = n, .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0, .nr = SIG_PEEK_BATCH,
		};
		long got;

		if (xgrow(&arr, &cap, n + SIG_PEEK_BATCH, sizeof(*arr))) {
			free(arr);
			return -ENOMEM;
		}
		got = ptrace(PTRACE_PEEKSIGINFO, tid, &a, arr + n);
		if (got < 0) {
			int err = -errno;

			free(arr);
			return ct_err(err, "pid %d: cannot read pending signals: %m", tid);
		}
		if (got == 0)
			break;
		n += got;
	}
	*out = n ? arr : NULL;
	if (!n)
		free(arr);
	*nr = n;
	return 0;
}

/* Queue the read of every handler (rt_sigaction into the batch's data: tc->reads). */
int dump_task_signals_queue(struct task_ctx *tc)
{
	static const struct ct_sigaction none[CT_NSIG];
	struct dump_read *r = &tc->reads->sigactions;
	unsigned long acts = dump_read_out(tc, r, none, sizeof(none));
	int ret = 0;

	if (!acts)
		return ct_err(-E2BIG, "pid %d: injected batch too small for the signal actions",
			      tc->inj->tid);
	for (int sig = 1; sig <= CT_NSIG && !ret; sig++)
		if (!sig_fixed(sig))
			ret = dump_read_add(tc, r, __NR_rt_sigaction, sig, 0,
					    acts + (sig - 1) * sizeof(struct ct_sigaction), 8);
	return ret;
}

/* Take the handlers read by dump_task_signals_queue() into @t. */
static int dump_take_sigactions(struct task_ctx *tc, struct ct_task *t)
{
	const struct dump_read *r = &tc->reads->sigactions;
	uint32_t k = 0;

	for (int sig = 1; sig <= CT_NSIG; sig++) {
		long ret;

		if (sig_fixed(sig))
			continue;
		ret = dump_read_take(tc, r, k, k ? NULL : t->sigactions);
		k++;
		if (ret < 0 && ret > -4096)
			return ct_err((int)ret, "pid %d: cannot read the action of signal %d: %s",
				      tc->inj->tid, sig, inj_strerror(ret));
	}
	return 0;
}

/*
 * Record every handler (injected rt_sigaction, in the process's batch of
 * reads, or in one of their own) and the shared queue.
 */
int dump_task_signals(struct task_ctx *tc, struct ct_task *t)
{
	struct dump_reads own = { 0 };
	pid_t pid = tc->inj->tid;
	int ret = 0;

	if (!tc->reads) {
		inj_batch_reset(tc->batch);
		tc->reads = &own;
		ret = dump_task_signals_queue(tc) ?: dump_reads_run(tc);
	}
	if (!ret)
		ret = dump_take_sigactions(tc, t);
	if (tc->reads == &own) {
		dump_reads_free(&own);
		tc->reads = NULL;
	}
	if (ret)
		return ret;
	memset(&t->sigactions[SIGKILL - 1], 0, sizeof(struct ct_sigaction));
	memset(&t->sigactions[SIGSTOP - 1], 0, sizeof(struct ct_sigaction));
	free(t->shared_pending);
	t->shared_pending = NULL;
	return sig_peek_queue(pid, true, &t->shared_pending, &t->nr_shared_pending);
}

/* Queue the read of the leader thread's sigaltstack (tc->reads). */
int dump_thread_signals_queue(struct task_ctx *tc)
{
	static const stack_t none;
	struct dump_read *r = &tc->reads->altstack;
	unsigned long out = dump_read_out(tc, r, &none, sizeof(none));

	if (!out)
		return ct_err(-E2BIG, "pid %d: injected batch too small for sigaltstack", tc->inj->tid);
	return dump_read_add(tc, r, __NR_sigaltstack, 0, out, 0, 0);
}

/* Record a thread's blocked mask, pending signals and sigaltstack. */
int dump_thread_signals(struct task_ctx *tc, struct ct_thread *th)
{
	pid_t tid = tc->inj->tid;
	long ret;

	th->blocked = tc->inj->saved_sigmask;
	if (tc->reads) {
		ret = dump_read_take(tc, &tc->reads->altstack, 0, &th->altstack);
		if (ret < 0)
			return ct_err((int)ret, "pid %d: cannot read sigaltstack: %s", tid, inj_strerror(ret));
	} else {
		ret = inj_syscall(tc->inj, __NR_sigaltstack, 0, tc->scratch, 0, 0, 0, 0);
		if (ret < 0)
			return ct_err((int)ret, "pid %d: cannot read sigaltstack: %s", tid, inj_strerror(ret));
		ret = inj_read_mem(tid, tc->scratch, &th->altstack, sizeof(th->altstack));
		if (ret)
			return ct_err((int)ret, "pid %d: cannot read scratch memory", tid);
	}
	free(th->pending);
	th->pending = NULL;
	return sig_peek_queue(tid, false, &th->pending, &th->nr_pending);
}

/* Queue @info to ourselves: the tracee runs rt_sigqueueinfo or rt_tgsigqueueinfo. */
static int sig_requeue(struct task_ctx *tc, pid_t tgid, pid_t tid, const struct ct_siginfo *info)
{
	int signo;
	long ret;

	memcpy(&signo, info->data, sizeof(signo));
	ret = inj_write_mem(tc->inj->tid, tc->scratch, info, sizeof(*info));
	if (ret)
		return ct_err((int)ret, "pid %d: cannot write scratch memory", tc->inj->tid);
	if (tid)
		ret = inj_syscall(tc->inj, __NR_rt_tgsigqueueinfo, tgid, tid, signo, tc->scratch, 0, 0);
	else
		ret = inj_syscall(tc->inj, __NR_rt_sigqueueinfo, tgid, signo, tc->scratch, 0, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: cannot queue pending signal %d again: %s", tc->inj->tid,
			      signo, inj_strerror(ret));
	return 0;
}

int restore_task_signals_queue(struct task_ctx *tc, const struct ct_task *t)
{
	struct inj_batch *b = tc->batch;
	unsigned long acts;

	acts = inj_batch_put(b, t->sigactions, sizeof(t->sigactions));
	if (!acts || !inj_batch_fits(b, CT_NSIG, 0))
		return ct_err(-E2BIG, "pid %d: injected batch too small for the signal actions", t->pid);
	for (int sig = 1; sig <= CT_NSIG; sig++)
		if (!sig_fixed(sig))
			inj_batch_add(b, NULL, 0, __NR_rt_sigaction, sig,
				      acts + (sig - 1) * sizeof(struct ct_sigaction), 0, 8, 0, 0);
	return 0;
}

/* Then queue the shared pending signals again (injected one by one). */
int restore_task_signals_check(struct task_ctx *tc, const struct ct_task *t, size_t first, size_t end)
{
	const struct inj_batch *b = tc->batch;
	long ret = inj_batch_failure_in(b, first, end), tgid;

	if (ret)
		return ct_err((int)ret, "pid %d: cannot set the action of signal %lu: %s", t->pid,
			      (unsigned long)b->calls[b->failed].a[0], inj_strerror(ret));
	if (b->failed < end || !t->nr_shared_pending)
		return 0;
	tgid = inj_syscall(tc->inj, __NR_getpid, 0, 0, 0, 0, 0, 0);
	if (tgid < 0)
		return (int)tgid;
	for (uint32_t i = 0; i < t->nr_shared_pending; i++) {
		ret = sig_requeue(tc, (pid_t)tgid, 0, &t->shared_pending[i]);
		if (ret)
			return (int)ret;
	}
	return 0;
}

/*
 * Set every handler (one injected batch), then queue the shared pending
 * signals again.  Must run on the thread group leader: only the leader may
 * queue a signal with a sender's siginfo to its whole process.
 */
int restore_task_signals(struct task_ctx *tc, const struct ct_task *t)
{
	/* every handler in one batch: 62 calls, one round trip */
	inj_batch_reset(tc->batch);
	return restore_task_signals_queue(tc, t) ?: task_batch_run(tc) ?:
	       restore_task_signals_check(tc, t, 0, tc->batch->nr);
}

/* The sigaltstack as the kernel takes it back: SS_ONSTACK is a state, not a request. */
static stack_t altstack_request(const struct ct_thread *th)
{
	stack_t ss = th->altstack;

	ss.ss_flags &= ~SS_ONSTACK;
	return ss;
}

int restore_thread_signals_queue(struct task_ctx *tc, const struct ct_thread *th)
{
	stack_t ss = altstack_request(th);
	unsigned long addr = inj_batch_put(tc->batch, &ss, sizeof(ss));

	if (!addr || inj_batch_add(tc->batch, NULL, 0, __NR_sigaltstack, addr, 0, 0, 0, 0, 0) < 0)
		return ct_err(-E2BIG, "pid %d: injected batch too small for sigaltstack", th->tid);
	return 0;
}

/* Its pending signals queued again, and (through inj_end) its blocked mask. */
static int thread_signals_finish(struct task_ctx *tc, const struct ct_thread *th)
{
	long ret, tgid, self;

	if (th->nr_pending) {
		tgid = inj_syscall(tc->inj, __NR_getpid, 0, 0, 0, 0, 0, 0);
		self = inj_syscall(tc->inj, __NR_gettid, 0, 0, 0, 0, 0, 0);
		if (tgid < 0 || self < 0)
			return ct_err(-ESRCH, "pid %d: cannot learn its own ids", tc->inj->tid);
		for (uint32_t i = 0; i < th->nr_pending; i++) {
			ret = sig_requeue(tc, (pid_t)tgid, (pid_t)self, &th->pending[i]);
			if (ret)
				return (int)ret;
		}
	}
	tc->inj->saved_sigmask = th->blocked & ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
	return 0;
}

int restore_thread_signals_check(struct task_ctx *tc, const struct ct_thread *th, size_t first,
				 size_t end)
{
	long ret = inj_batch_failure_in(tc->batch, first, end);

	if (ret)
		return ct_err((int)ret, "pid %d: cannot set sigaltstack: %s", th->tid, inj_strerror(ret));
	return tc->batch->failed < end ? 0 : thread_signals_finish(tc, th);
}

/* Set a thread's sigaltstack, pending signals and (through inj_end) its blocked mask. */
int restore_thread_signals(struct task_ctx *tc, const struct ct_thread *th)
{
	pid_t tid = tc->inj->tid;
	stack_t ss = altstack_request(th);
	long ret;

	ret = inj_write_mem(tid, tc->scratch, &ss, sizeof(ss));
	if (ret)
		return ct_err((int)ret, "pid %d: cannot write scratch memory", tid);
	ret = inj_syscall(tc->inj, __NR_sigaltstack, tc->scratch, 0, 0, 0, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: cannot set sigaltstack: %s", th->tid, inj_strerror(ret));
	return thread_signals_finish(tc, th);
}
