// SPDX-License-Identifier: MIT
/*
 * Injected batches (inject.h): a table of system calls in the tracee's
 * memory, run by the routine of arch-ARCH.c with one resume and one stop.
 *
 * Why: each injected call alone is a ptrace round trip (set registers,
 * resume, wait, read registers): two context switches and, on a loaded
 * machine, a scheduler latency each.  Rebuilding a process takes a few
 * hundred calls (its mappings, 64 signal actions, 16 rlimits, its fds);
 * queued into a batch they cost one round trip plus one write of the
 * table and one read of the results.
 *
 * The routine stops with a trap, so a batch runs only on an unguarded
 * injection (restore, where the tracees die with us); guarded ones (dump)
 * keep calling one at a time.
 */
#define LOG_PREFIX "inject: "
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject/arch.h"
#include "inject/inject.h"
#include "lib/log.h"
#include "lib/util.h"

#define BATCH_CODE_LEN 4096UL	/* one page, read and execute */
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((size_t)(a) - 1))

int inj_batch_place(struct inj_ctx *ctx, unsigned long code)
{
	size_t len;
	const unsigned char *text = inj_arch_batch_code(&len);
	long ret;

	ret = inj_syscall(ctx, __NR_mmap, code, BATCH_CODE_LEN, PROT_READ | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (ret < 0 && ret > -4096)
		return ct_err((int)ret, "pid %d: cannot map the batch routine: %s", ctx->tid,
			      strerror((int)-ret));
	/* /proc/PID/mem writes through the missing write permission */
	ret = inj_write_mem(ctx->tid, code, text, len);
	if (ret)
		return ct_err((int)ret, "pid %d: cannot write the batch routine: %s", ctx->tid,
			      strerror((int)-ret));
	return 0;
}

int inj_batch_place_wave(struct inj_ctx *const *ctxs, size_t n, const unsigned long *codes)
{
	unsigned long (*args)[6] = xmalloc(sizeof(*args) * n);
	long *results = xmalloc(sizeof(*results) * n);
	size_t len;
	const unsigned char *text = inj_arch_batch_code(&len);
	int ret = args && results ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !ret; i++) {
		const unsigned long a[6] = { codes[i], BATCH_CODE_LEN, PROT_READ | PROT_EXEC,
					     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (unsigned long)-1, 0 };

		memcpy(args[i], a, sizeof(a));
	}
	ret = ret ?: inj_syscall_wave(ctxs, n, __NR_mmap, (const unsigned long (*)[6])args, results);
	for (size_t i = 0; i < n && !ret; i++) {
		if (results[i] < 0 && results[i] > -4096)
			ret = ct_err((int)results[i], "pid %d: cannot map the batch routine: %s",
				     ctxs[i]->tid, strerror((int)-results[i]));
		/* /proc/PID/mem writes through the missing write permission */
		else if ((ret = inj_write_mem(ctxs[i]->tid, codes[i], text, len)))
			ret = ct_err(ret, "pid %d: cannot write the batch routine: %s", ctxs[i]->tid,
				     strerror(-ret));
	}
	free(args);
	free(results);
	return ret;
}

int inj_batch_map(struct inj_batch *b, struct inj_ctx *ctx, size_t len)
{
	unsigned long addr;
	int ret = inj_map_scratch(ctx, BATCH_CODE_LEN + len, &addr);

	if (ret)
		return ret;
	ret = inj_batch_place(ctx, addr) ?: inj_batch_init(b, addr, addr + BATCH_CODE_LEN, len);
	if (ret)
		inj_unmap_scratch(ctx, addr, BATCH_CODE_LEN + len);
	return ret;
}

int inj_batch_unmap(struct inj_batch *b, struct inj_ctx *ctx)
{
	size_t len = BATCH_CODE_LEN + b->max * sizeof(struct inj_call) + b->data_len;
	int ret = b->code ? inj_unmap_scratch(ctx, b->code, len) : 0;

	inj_batch_free(b);
	return ret;
}

int inj_batch_init(struct inj_batch *b, unsigned long code, unsigned long area, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->code = code;
	b->area = area;
	/* half the area for the table, half for data (sigactions, rlimits, paths) */
	b->max = len / 2 / sizeof(struct inj_call);
	b->data_len = len - b->max * sizeof(struct inj_call);
	/*
	 * Not zeroed: every entry is written when queued, and a restore makes
	 * a batch per process whose few dozen calls touch only the start
	 * (zeroing the whole table each time cost more than the calls).
	 */
	b->calls = xmalloc(b->max * sizeof(*b->calls));
	b->tags = xmalloc(b->max * sizeof(*b->tags));
	b->data = xmalloc(b->data_len);
	if (!b->calls || !b->tags || !b->data) {
		inj_batch_free(b);
		return -ENOMEM;
	}
	return 0;
}

void inj_batch_free(struct inj_batch *b)
{
	free(b->calls);
	free(b->tags);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void inj_batch_reset(struct inj_batch *b)
{
	b->nr = 0;
	b->data_used = 0;
	b->failed = 0;
}

bool inj_batch_fits(const struct inj_batch *b, size_t calls, size_t bytes)
{
	return b->nr + calls <= b->max && b->data_used + ALIGN_UP(bytes, 8) <= b->data_len;
}

long inj_batch_add(struct inj_batch *b, const void *tag, unsigned long flags, long nr,
		   unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
		   unsigned long a5, unsigned long a6)
{
	struct inj_call *c;

	if (b->nr >= b->max)
		return -ENOSPC;
	c = &b->calls[b->nr];
	c->nr_flags = (uint32_t)nr | (uint64_t)flags << 32;
	c->a[0] = a1;
	c->a[1] = a2;
	c->a[2] = a3;
	c->a[3] = a4;
	c->a[4] = a5;
	c->a[5] = a6;
	c->ret = -ENOEXEC;	/* until run */
	b->tags[b->nr] = tag;
	return (long)b->nr++;
}

unsigned long inj_batch_put(struct inj_batch *b, const void *data, size_t len)
{
	size_t at = b->data_used;

	if (!inj_batch_fits(b, 0, len))
		return 0;
	memcpy(b->data + at, data, len);
	b->data_used += ALIGN_UP(len, 8);
	return b->area + b->max * sizeof(struct inj_call) + at;
}

/* Write the queued table and data into the tracee: one system call. */
static int batch_write(struct inj_batch *b, pid_t tid)
{
	struct iovec local[2] = {
		{ b->calls, b->nr * sizeof(struct inj_call) },
		{ b->data, b->data_used },
	};
	struct iovec remote[2] = {
		{ (void *)b->area, local[0].iov_len },
		{ (void *)(b->area + b->max * sizeof(struct inj_call)), local[1].iov_len },
	};
	size_t want = local[0].iov_len + local[1].iov_len;
	ssize_t n = process_vm_writev(tid, local, 2, remote, 2, 0);

	if (n == (ssize_t)want)
		return 0;
	/* process_vm_writev may be refused (a restricting LSM): /proc/PID/mem then */
	return inj_write_mem(tid, b->area, b->calls, local[0].iov_len) ?:
	       inj_write_mem(tid, (unsigned long)remote[1].iov_base, b->data, b->data_used);
}

/* Read back the first @n entries of the table, with their results. */
static int batch_read(struct inj_batch *b, pid_t tid, size_t n)
{
	struct iovec local = { b->calls, n * sizeof(struct inj_call) };
	struct iovec remote = { (void *)b->area, local.iov_len };

	/* the table is the routine's own written memory: no sharing to break */
	if (process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)local.iov_len)
		return 0;
	return inj_read_mem(tid, b->area, b->calls, local.iov_len);
}

/*
 * Wait for the stop that ends the routine the tracee was resumed into:
 * SIGTRAP (its `int3`), or @stop_sig raised by its last entry (guarded).
 */
static int batch_wait_stop(pid_t tid, int stop_sig)
{
	int status;

	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0)
			return -errno;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return ct_err(-ESRCH, "pid %d: died during an injected batch", tid);
		if (!WIFSTOPPED(status))
			continue;
		/* the signal is dropped here: the next resume passes none */
		if (!(status >> 16) && WSTOPSIG(status) == stop_sig)
			return 0;
		if (!(status >> 16) && inj_fault_signal(WSTOPSIG(status)))
			return ct_err(-EFAULT, "pid %d: signal %d in an injected batch", tid,
				      WSTOPSIG(status));
		/* only unblockable signals get here (all others are blocked): dropped */
		pr_debug("pid %d: stop %#x during a batch, dropped", tid, status);
		if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
			return -errno;
	}
}

/* A thread's line @key of /proc/TID/status: its last number (NSpid: the innermost), base @base. */
static unsigned long long status_last(const char *buf, const char *key, int base)
{
	const char *p = strstr(buf, key), *end;
	unsigned long long v = 0;

	if (!p)
		return 0;
	p += strlen(key);
	end = strchr(p, '\n');
	for (char *next; p && (!end || p < end); p = next) {
		unsigned long long x = strtoull(p, &next, base);

		if (next == p)
			break;
		v = x;
	}
	return v;
}

/*
 * The signal that stops a guarded batch: one whose every delivery this task
 * discards anyway (neither caught nor blocked, its default action ignore,
 * not pending), so raising it changes nothing the task could see: traced,
 * we stop at it and drop it; should we have died, the kernel discards it
 * and the routine returns into the guard frame.  0 if none fits; *@tgid and
 * *@tid are the ids the task knows itself by (its pid namespace's).
 */
static int batch_stop_signal(const struct inj_ctx *ctx, const char *status, pid_t *tgid, pid_t *tid)
{
	static const int candidates[] = { SIGURG, SIGWINCH, SIGCHLD };
	unsigned long long busy;
	char path[64], *buf = NULL;

	snprintf(path, sizeof(path), "/proc/%d/status", ctx->tid);
	if (!status && read_whole_file(path, &buf, NULL))
		return 0;
	status = status ?: buf;
	busy = status_last(status, "\nSigCgt:", 16) | status_last(status, "\nSigPnd:", 16) |
	       status_last(status, "\nShdPnd:", 16) | ctx->saved_sigmask;
	*tgid = (pid_t)status_last(status, "\nNStgid:", 10);
	*tid = (pid_t)status_last(status, "\nNSpid:", 10);
	free(buf);
	if (*tgid <= 0 || *tid <= 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
		if (!(busy & (1ULL << (candidates[i] - 1))))
			return candidates[i];
	return 0;
}

/*
 * Guarded: after the table's calls (all run: a failure does not stop the
 * routine, which must reach its end), unblock @sig and raise it.
 */
static int batch_add_stop(struct inj_batch *b, int sig, pid_t tgid, pid_t tid)
{
	uint64_t mask = ~0ULL & ~(1ULL << (sig - 1));
	unsigned long addr;

	if (!inj_batch_fits(b, 2, sizeof(mask)))
		return -ENOSPC;
	addr = inj_batch_put(b, &mask, sizeof(mask));
	inj_batch_add(b, NULL, INJ_CALL_MAY_FAIL, __NR_rt_sigprocmask, SIG_SETMASK, addr, 0, 8, 0, 0);
	inj_batch_add(b, NULL, INJ_CALL_MAY_FAIL, __NR_tgkill, tgid, tid, sig, 0, 0, 0);
	return 0;
}

/* Run the batch's @nr calls, one injected call each: a guarded task we cannot stop otherwise. */
static int batch_run_singly(struct inj_batch *b, struct inj_ctx *ctx)
{
	for (size_t i = 0; i < b->nr; i++) {
		const struct inj_call *c = &b->calls[i];

		b->calls[i].ret = inj_syscall(ctx, (uint32_t)c->nr_flags, c->a[0], c->a[1], c->a[2],
					      c->a[3], c->a[4], c->a[5]);
	}
	return 0;
}

/* The first entry of @b (among @nr) that failed without INJ_CALL_MAY_FAIL, or @nr. */
static size_t batch_first_failure(const struct inj_batch *b, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		const struct inj_call *c = &b->calls[i];

		if ((uint64_t)c->ret >= (uint64_t)-4095 && !((c->nr_flags >> 32) & INJ_CALL_MAY_FAIL))
			return i;
	}
	return nr;
}

/* Resume into the routine on @ctx (started here, stopped in inj_batch_finish()). */
static int batch_resume(struct inj_batch *b, struct inj_ctx *ctx)
{
	struct user_regs_struct regs = ctx->saved_regs;

	inj_arch_set_batch(&regs, b->code, b->area, b->nr, ctx->frame);
	if (ptrace(PTRACE_SETREGS, ctx->tid, NULL, &regs) < 0)
		return ct_err(-errno, "pid %d: cannot set registers: %m", ctx->tid);
	if (ctx->frame)
		inj_fault_step();
	if (ptrace(PTRACE_CONT, ctx->tid, NULL, NULL) < 0)
		return ct_err(-errno, "pid %d: cannot resume it into the batch: %m", ctx->tid);
	b->resumed = true;
	return 0;
}

/* The routine's one stop: *@left, entries it had not finished. */
static int batch_stopped(struct inj_batch *b, struct inj_ctx *ctx, size_t *left)
{
	struct user_regs_struct regs;
	uint64_t all = ~0ULL;
	int ret;

	b->resumed = false;
	ret = batch_wait_stop(ctx->tid, b->stop_sig);
	if (ret)
		return ret;
	if (ptrace(PTRACE_GETREGS, ctx->tid, NULL, &regs) < 0)
		return ct_err(-errno, "pid %d: cannot read registers: %m", ctx->tid);
	*left = min_t(size_t, inj_arch_batch_left(&regs), b->nr);
	/* guarded: the routine unblocked the stop signal; every signal is blocked again */
	if (ctx->frame && ptrace(PTRACE_SETSIGMASK, ctx->tid, sizeof(all), &all) < 0)
		return ct_err(-errno, "pid %d: cannot block signals: %m", ctx->tid);
	return 0;
}

int inj_batch_start(struct inj_batch *b, struct inj_ctx *ctx)
{
	pid_t tgid, tid;
	int ret;

	b->t0 = now_ms();
	b->nr_queued = b->nr;
	b->failed = b->nr;
	b->stop_sig = SIGTRAP;
	b->resumed = false;
	b->start_ret = 0;
	if (!b->nr)
		return 0;
	if (ctx->frame) {
		b->stop_sig = batch_stop_signal(ctx, b->status, &tgid, &tid);
		if (!b->stop_sig || batch_add_stop(b, b->stop_sig, tgid, tid)) {
			/* no stop to end it with: every call alone, now; finish has the results */
			b->stop_sig = 0;
			b->start_ret = batch_write(b, ctx->tid) ?: batch_run_singly(b, ctx);
			return b->start_ret;
		}
	}
	ret = batch_write(b, ctx->tid);
	if (ret)
		ret = ct_err(ret, "pid %d: cannot write the batch: %s", ctx->tid, strerror(-ret));
	ret = ret ?: batch_resume(b, ctx);
	b->start_ret = ret;
	return ret;
}

int inj_batch_finish(struct inj_batch *b, struct inj_ctx *ctx)
{
	size_t nr = b->nr_queued, done, left = 0;
	int ret = b->start_ret;

	if (!nr)
		return 0;
	if (b->stop_sig && !ret && b->resumed) {
		ret = batch_stopped(b, ctx, &left);
		done = b->nr - left;
		/* the entries run, and the one that stopped it */
		if (!ret)
			ret = batch_read(b, ctx->tid, min_t(size_t, done + 1, nr));
		if (ret)
			ret = ct_err(ret, "pid %d: cannot read the batch's results: %s", ctx->tid,
				     strerror(-ret));
		else
			inj_count(min_t(size_t, done + 1, nr), now_ms() - b->t0);
		b->failed = ctx->frame ? nr : min_t(size_t, done, nr);
	}
	b->nr = nr;	/* the stop entries were ours */
	if (ret)
		return ret;
	/* unguarded, the routine stopped at the failure; guarded, every call ran */
	if (ctx->frame)
		b->failed = batch_first_failure(b, nr);
	return b->failed < nr ? (int)b->calls[b->failed].ret : 0;
}

long inj_batch_failure_in(const struct inj_batch *b, size_t first, size_t end)
{
	if (b->failed < first || b->failed >= end || b->failed >= b->nr)
		return 0;
	return (long)b->calls[b->failed].ret;
}

int inj_batch_run(struct inj_batch *b, struct inj_ctx *ctx)
{
	int ret = inj_batch_start(b, ctx);

	inj_count_sequence();
	/* a resumed tracee is waited for even when the start failed after resuming it */
	if (ret && !b->resumed) {
		b->nr = b->nr_queued;
		return ret;
	}
	return inj_batch_finish(b, ctx);
}

long inj_batch_ret(const struct inj_batch *b, size_t i)
{
	return i < b->max ? (long)b->calls[i].ret : -EINVAL;
}
