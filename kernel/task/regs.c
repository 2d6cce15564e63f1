// SPDX-License-Identifier: MIT
/*
 * Registers of one thread: general purpose (with fs/gs base and orig_rax,
 * which carries the syscall-restart state), the extended FPU state and the
 * rseq registration.
 *
 * xstate is stored as PTRACE_GETREGSET NT_X86_XSTATE returns it: the
 * standard (non-compacted) XSAVE layout, whose first sw_reserved bytes hold
 * the XCR0 of the dumping kernel (as gdb reads it).  Restore never copies it raw: it
 * takes the target's own xstate as a template and moves each component to
 * the offset CPUID leaf 0xD gives for it, so that a feature bit the target
 * does not have is never set (the kernel refuses that with EINVAL).
 * Component offsets of the source are taken from CPUID too: a checkpoint
 * moves between machines of the same CPU family only.
 */
#define LOG_PREFIX "regs: "
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/task.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define CT_PTRACE_GET_RSEQ_CONFIGURATION 0x420f
/* The kernel's struct ptrace_rseq_configuration (6.0+), under our own name. */
struct ct_rseq_config {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

#ifndef RSEQ_FLAG_UNREGISTER
#define RSEQ_FLAG_UNREGISTER 1
#endif

#define XSTATE_MAX 16384		/* more than any XSAVE area up to AMX */
#define XSAVE_SW_BYTES_OFF 464		/* sw_reserved: ptrace puts XCR0 in its first 8 bytes */
#define XSAVE_HDR_OFF 512		/* xstate_bv, xcomp_bv, reserved */
#define XSAVE_EXT_OFF 576		/* first extended component */

/* Read the features the dumping kernel enabled (XCR0) from the sw_reserved bytes. */
static uint64_t xstate_xcr0(const uint8_t *x, uint32_t len)
{
	uint64_t v;

	if (len < XSAVE_SW_BYTES_OFF + 8)
		return 0;
	memcpy(&v, x + XSAVE_SW_BYTES_OFF, sizeof(v));
	return v;
}

/*
 * Standard-format offset and size of component @i (>= 2), from CPUID 0xD,
 * asked once per component: in a virtual machine each CPUID is an exit to
 * the hypervisor, and a restore translates the xstate of every thread.
 * Restoring threads (restore/par.c) may ask at once: each value is stored
 * whole, and the same by whoever stores it.
 */
static void xstate_component(unsigned i, uint32_t *off, uint32_t *size)
{
	static uint64_t known;			/* bit i: offset[i] and length[i] hold CPUID's answer */
	static uint32_t offset[64], length[64];
	unsigned eax, ebx, ecx, edx;

	if (__atomic_load_n(&known, __ATOMIC_ACQUIRE) & (1ULL << i)) {
		*size = __atomic_load_n(&length[i], __ATOMIC_RELAXED);
		*off = __atomic_load_n(&offset[i], __ATOMIC_RELAXED);
		return;
	}
	__cpuid_count(0xd, i, eax, ebx, ecx, edx);
	*size = eax;
	*off = ebx;
	__atomic_store_n(&length[i], eax, __ATOMIC_RELAXED);
	__atomic_store_n(&offset[i], ebx, __ATOMIC_RELAXED);
	__atomic_fetch_or(&known, 1ULL << i, __ATOMIC_RELEASE);
}

/*
 * Build in @dst (the target's own xstate, @dst_len bytes, as a template)
 * the state of @src: legacy area, header, then every component present in
 * both, at this CPU's offsets.
 */
static int xstate_translate(pid_t tid, const uint8_t *src, uint32_t src_len,
			    uint8_t *dst, uint32_t dst_len)
{
	uint64_t src_bv, bv, dst_xcr0 = xstate_xcr0(dst, dst_len), zero = 0;

	if (src_len < XSAVE_EXT_OFF || dst_len < XSAVE_EXT_OFF)
		return ct_err(-EINVAL, "pid %d: xstate of %u bytes is too short", tid, src_len);
	memcpy(&src_bv, src + XSAVE_HDR_OFF, sizeof(src_bv));
	if (src_bv & ~dst_xcr0)
		return ct_err(-EOPNOTSUPP, "pid %d: uses cpu state 0x%llx this machine lacks",
			      tid, (unsigned long long)(src_bv & ~dst_xcr0));
	/* x87 + SSE legacy area; the target keeps its own sw_reserved bytes. */
	memcpy(dst, src, XSAVE_SW_BYTES_OFF);
	bv = src_bv;
	memcpy(dst + XSAVE_HDR_OFF, &bv, sizeof(bv));
	memcpy(dst + XSAVE_HDR_OFF + 8, &zero, sizeof(zero));	/* xcomp_bv: standard */
	for (unsigned i = 2; i < 64; i++) {
		uint32_t off, size;

		if (!(bv & (1ULL << i)))
			continue;
		xstate_component(i, &off, &size);
		if (!size || off + size > src_len || off + size > dst_len)
			return ct_err(-EINVAL, "pid %d: xstate component %u does not fit (%u+%u)",
				      tid, i, off, size);
		memcpy(dst + off, src + off, size);
	}
	return 0;
}

/* Read NT_X86_XSTATE of @tid into a malloc'd buffer. */
static int xstate_get(pid_t tid, uint8_t **buf, uint32_t *len)
{
	/* read on the stack, kept at its size: fresh memory costs a fault a page here */
	uint8_t area[XSTATE_MAX];
	struct iovec iov = { area, sizeof(area) };

	*buf = NULL;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return ct_err(-errno, "pid %d: cannot read xstate: %m", tid);
	*buf = xmalloc(iov.iov_len);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, area, iov.iov_len);
	*len = (uint32_t)iov.iov_len;
	return 0;
}

/* Record registers, xstate and rseq of stopped thread @th->host_tid. */
int dump_thread_regs(struct task_ctx *tc, struct ct_thread *th)
{
	struct ct_rseq_config rc;
	pid_t tid = th->host_tid;
	int ret;

	/* Injection changes the live registers: the saved ones are the thread's. */
	if (tc && tc->inj && tc->inj->active && tc->inj->tid == tid)
		th->regs = tc->inj->saved_regs;
	else if (ptrace(PTRACE_GETREGS, tid, NULL, &th->regs) < 0)
		return ct_err(-errno, "pid %d: cannot read registers: %m", tid);

	free(th->xstate);
	ret = xstate_get(tid, &th->xstate, &th->xstate_len);
	if (ret)
		return ret;

	memset(&rc, 0, sizeof(rc));
	if (ptrace(CT_PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(rc), &rc) < 0) {
		if (errno != EIO && errno != EINVAL)
			return ct_err(-errno, "pid %d: cannot read rseq configuration: %m", tid);
		memset(&rc, 0, sizeof(rc));	/* kernel without it: nothing registered */
	}
	th->rseq_abi = rc.rseq_abi_pointer;
	th->rseq_len = rc.rseq_abi_pointer ? rc.rseq_abi_size : 0;
	th->rseq_sig = rc.signature;
	pr_debug("tid %d: rip %llx rax %lld orig_rax %lld, xstate %u bytes, rseq %llx",
		 tid, th->regs.rip, (long long)th->regs.rax, (long long)th->regs.orig_rax,
		 th->xstate_len, (unsigned long long)th->rseq_abi);
	return 0;
}

/* Write @th's xstate into the thread, translated to this CPU's layout. */
static int restore_xstate(pid_t tid, const struct ct_thread *th)
{
	struct iovec iov;
	uint8_t *dst;
	uint32_t dst_len;
	int ret;

	if (!th->xstate_len)
		return 0;
	ret = xstate_get(tid, &dst, &dst_len);
	if (ret)
		return ret;
	ret = xstate_translate(tid, th->xstate, th->xstate_len, dst, dst_len);
	if (ret)
		goto out_free;
	iov.iov_base = dst;
	iov.iov_len = dst_len;
	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
		ret = ct_err(-errno, "pid %d: cannot write xstate: %m", tid);
out_free:
	free(dst);
	return ret;
}

/*
 * Make the thread's rseq registration the dumped one: drop a different
 * registration it has (a restored task inherits the restorer's by fork),
 * then register the dumped area by an injected rseq(2).
 */
static int restore_rseq(struct task_ctx *tc, const struct ct_thread *th)
{
	pid_t tid = tc->inj->tid;
	struct ct_rseq_config rc;
	long r;

	memset(&rc, 0, sizeof(rc));
	if (ptrace(CT_PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(rc), &rc) < 0)
		memset(&rc, 0, sizeof(rc));
	if (rc.rseq_abi_pointer && rc.rseq_abi_pointer == th->rseq_abi &&
	    rc.rseq_abi_size == th->rseq_len && rc.signature == th->rseq_sig)
		return 0;
	if (rc.rseq_abi_pointer) {
		r = inj_syscall(tc->inj, __NR_rseq, rc.rseq_abi_pointer, rc.rseq_abi_size,
				RSEQ_FLAG_UNREGISTER, rc.signature, 0, 0);
		if (r < 0)
			return ct_err((int)r, "pid %d: cannot unregister rseq at %llx: %s", tid,
				      (unsigned long long)rc.rseq_abi_pointer, strerror((int)-r));
	}
	if (!th->rseq_abi)
		return 0;
	r = inj_syscall(tc->inj, __NR_rseq, th->rseq_abi, th->rseq_len, 0, th->rseq_sig, 0, 0);
	if (r < 0)
		return ct_err((int)r, "pid %d: cannot register rseq at %llx: %s", tid,
			      (unsigned long long)th->rseq_abi, strerror((int)-r));
	return 0;
}

int restore_thread_rseq_queue(struct task_ctx *tc, const struct ct_thread *th)
{
	struct ct_rseq_config rc;

	memset(&rc, 0, sizeof(rc));
	if (!th->rseq_abi ||
	    (ptrace(CT_PTRACE_GET_RSEQ_CONFIGURATION, tc->inj->tid, sizeof(rc), &rc) == 0 &&
	     rc.rseq_abi_pointer))
		return 0;	/* none, or one to drop first: restore_thread_regs does both */
	if (inj_batch_add(tc->batch, th, 0, __NR_rseq, th->rseq_abi, th->rseq_len, 0, th->rseq_sig,
			  0, 0) < 0)
		return ct_err(-E2BIG, "pid %d: injected batch too small for rseq", tc->inj->tid);
	return 0;
}

int restore_thread_rseq_check(struct task_ctx *tc, const struct ct_thread *th, size_t first,
			      size_t end)
{
	long r = inj_batch_failure_in(tc->batch, first, end);

	return r ? ct_err((int)r, "pid %d: cannot register rseq at %llx: %s", tc->inj->tid,
			  (unsigned long long)th->rseq_abi, strerror((int)-r)) : 0;
}

/*
 * Put back xstate and rseq now, and the general registers through the
 * injection context: inj_end() installs tc->inj->saved_regs.
 */
int restore_thread_regs(struct task_ctx *tc, const struct ct_thread *th)
{
	struct user_regs_struct regs = th->regs;
	pid_t tid = tc->inj->tid;
	int ret;

	ret = restore_xstate(tid, th);
	if (ret)
		return ret;
	ret = restore_rseq(tc, th);
	if (ret)
		return ret;
	/*
	 * Other -ERESTART* values are redone by the kernel when the thread
	 * leaves its ptrace-stop; the restart block of RESTARTBLOCK is lost
	 * with the old task, so the call is issued again instead.
	 */
	inj_reissue_restart_block(&regs);
	tc->inj->saved_regs = regs;
	return 0;
}
