// SPDX-License-Identifier: MIT
/*
 * dump: the injected reads of one process in one batch (task.h, struct
 * dump_reads).  Each module queues the calls it needs (brk, its signal
 * actions, securebits, itimers, ...) with room for what they write in the
 * batch's data; one run executes them all, one read brings the outputs
 * back, and each module takes its own.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/task.h"

unsigned long dump_read_out(struct task_ctx *tc, struct dump_read *r, const void *init, size_t len)
{
	struct dump_reads *reads = tc->reads;
	unsigned long addr = inj_batch_put(tc->batch, init, len);

	if (!addr)
		return 0;
	r->out = addr;
	r->len = len;
	if (!reads->lo || addr < reads->lo)
		reads->lo = addr;
	if (addr + len > reads->hi)
		reads->hi = addr + len;
	return addr;
}

int dump_read_add(struct task_ctx *tc, struct dump_read *r, long nr, unsigned long a1,
		  unsigned long a2, unsigned long a3, unsigned long a4)
{
	/* two entries stay free for the stop of a guarded batch (inject/batch.c) */
	long idx = inj_batch_fits(tc->batch, 3, 8) ?
		   inj_batch_add(tc->batch, NULL, INJ_CALL_MAY_FAIL, nr, a1, a2, a3, a4, 0, 0) : -ENOSPC;

	if (idx < 0)
		return ct_err(-E2BIG, "pid %d: injected batch too small for the reads", tc->inj->tid);
	if (!r->nr)
		r->idx = idx;
	r->nr++;
	return 0;
}

int dump_reads_start(struct task_ctx *tc)
{
	return inj_batch_start(tc->batch, tc->inj);
}

int dump_reads_finish(struct task_ctx *tc)
{
	struct dump_reads *reads = tc->reads;
	int ret = inj_batch_finish(tc->batch, tc->inj);

	/* every call may fail: an error here is the run's own */
	if (ret)
		return ct_err(ret, "pid %d: cannot run the injected reads: %s", tc->inj->tid,
			      strerror(-ret));
	/* kept apart: a module may use the batch again before the others take theirs */
	reads->nr_rets = tc->batch->nr;
	reads->rets = xmalloc(sizeof(*reads->rets) * (reads->nr_rets + 1));
	if (!reads->rets)
		return -ENOMEM;
	for (size_t i = 0; i < reads->nr_rets; i++)
		reads->rets[i] = inj_batch_ret(tc->batch, i);
	if (!reads->hi)
		return 0;
	reads->copy = xmalloc(reads->hi - reads->lo);
	if (!reads->copy)
		return -ENOMEM;
	ret = inj_read_mem_quick(tc->inj->tid, reads->lo, reads->copy, reads->hi - reads->lo);
	if (ret)
		return ct_err(ret, "pid %d: cannot read the injected reads' output: %s", tc->inj->tid,
			      strerror(-ret));
	return 0;
}

int dump_reads_run(struct task_ctx *tc)
{
	dump_reads_start(tc);
	return dump_reads_finish(tc);
}

long dump_read_take(const struct task_ctx *tc, const struct dump_read *r, uint32_t k, void *buf)
{
	const struct dump_reads *reads = tc->reads;

	if (k >= r->nr || (size_t)r->idx + k >= reads->nr_rets)
		return -ENOEXEC;
	if (buf && r->len)
		memcpy(buf, reads->copy + (r->out - reads->lo), r->len);
	return reads->rets[r->idx + k];
}

void dump_reads_free(struct dump_reads *reads)
{
	free(reads->rets);
	free(reads->copy);
	memset(reads, 0, sizeof(*reads));
}
