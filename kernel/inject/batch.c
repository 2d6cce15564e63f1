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

int inj_batch_init(struct inj_batch *b, unsigned long code, unsigned long area, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->code = code;
	b->area = area;
	/* half the area for the table, half for data (sigactions, rlimits, paths) */
	b->max = len / 2 / sizeof(struct inj_call);
	b->data_len = len - b->max * sizeof(struct inj_call);
	b->calls = xzalloc(b->max * sizeof(*b->calls));
	b->tags = xzalloc(b->max * sizeof(*b->tags));
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

/* Resume the tracee into the routine and wait for its one trap. */
static int batch_wait_trap(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
		return -errno;
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0)
			return -errno;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return ct_err(-ESRCH, "pid %d: died during an injected batch", tid);
		if (!WIFSTOPPED(status))
			continue;
		/* the trap is dropped here: the next resume passes no signal */
		if (!(status >> 16) && WSTOPSIG(status) == SIGTRAP)
			return 0;
		/* only unblockable signals get here (all others are blocked): dropped */
		pr_debug("pid %d: stop %#x during a batch, dropped", tid, status);
		if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
			return -errno;
	}
}

int inj_batch_run(struct inj_batch *b, struct inj_ctx *ctx)
{
	struct user_regs_struct regs = ctx->saved_regs;
	double t0 = now_ms();
	size_t done;
	int ret;

	b->failed = b->nr;
	if (!b->nr)
		return 0;
	if (ctx->frame)
		return ct_err(-ENOTSUP, "pid %d: no batch on a guarded injection", ctx->tid);
	ret = batch_write(b, ctx->tid);
	if (ret)
		return ct_err(ret, "pid %d: cannot write the batch: %s", ctx->tid, strerror(-ret));
	inj_arch_set_batch(&regs, b->code, b->area, b->nr);
	if (ptrace(PTRACE_SETREGS, ctx->tid, NULL, &regs) < 0)
		return ct_err(-errno, "pid %d: cannot set registers: %m", ctx->tid);
	ret = batch_wait_trap(ctx->tid);
	if (ret)
		return ret;
	if (ptrace(PTRACE_GETREGS, ctx->tid, NULL, &regs) < 0)
		return ct_err(-errno, "pid %d: cannot read registers: %m", ctx->tid);
	done = b->nr - min_t(size_t, inj_arch_batch_left(&regs), b->nr);
	/* the entries run, and the one that stopped it */
	ret = inj_read_mem(ctx->tid, b->area, b->calls,
			   min_t(size_t, done + 1, b->nr) * sizeof(struct inj_call));
	if (ret)
		return ct_err(ret, "pid %d: cannot read the batch's results: %s", ctx->tid,
			      strerror(-ret));
	inj_count(done + (done < b->nr), now_ms() - t0);
	if (done == b->nr)
		return 0;
	b->failed = done;
	return (int)b->calls[done].ret;
}

long inj_batch_ret(const struct inj_batch *b, size_t i)
{
	return i < b->max ? (long)b->calls[i].ret : -EINVAL;
}
