// SPDX-License-Identifier: MIT
/*
 * x86-64 side of the injection room (arch.h): which registers carry a
 * system call, the `syscall` instruction (0f 05) and libc's rt_sigreturn
 * restorer as bytes, and the kernel's rt_sigframe with its XSAVE area,
 * written exactly as the kernel would deliver a signal (see guard.c).
 */
#define LOG_PREFIX "inject: "
#include <errno.h>
#include <elf.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "inject/arch.h"
#include "inject/inject.h"
#include "lib/util.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define GUARD_REDZONE 128		/* the x86-64 ABI's red zone below RSP */
#define GUARD_XSTATE_MAX 16384		/* more than any XSAVE area up to AMX */
#define GUARD_SW_BYTES_OFF 464		/* sw_reserved of the legacy FXSAVE area */

#define FP_XSTATE_MAGIC1 0x46505853U
#define FP_XSTATE_MAGIC2 0x46505845U
#define GUARD_UC_FLAGS 0x7		/* UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
#define GUARD_SS_KEEP 3			/* no valid sigaltstack mode: the kernel keeps the old one */

#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* The kernel's struct ucontext on x86-64 (glibc's ucontext_t is larger). */
struct guard_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	stack_t uc_stack;
	struct sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

/* The kernel's struct rt_sigframe: RSP points at pretcode when a handler returns into it. */
struct guard_sigframe {
	uint64_t pretcode;
	struct guard_ucontext uc;
	siginfo_t info;
};

/* The fx_sw_bytes the kernel puts in sw_reserved of a signal frame's FPU state. */
struct guard_fx_sw_bytes {
	uint32_t magic1;
	uint32_t extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size;
	uint32_t padding[7];
};

#define SYSCALL_INSN_LEN 2		/* `syscall`: 0f 05 */

unsigned long inj_arch_after_syscall(unsigned long syscall_ip)
{
	return syscall_ip + SYSCALL_INSN_LEN;
}

unsigned long inj_arch_ip(const struct user_regs_struct *r)
{
	return r->rip;
}

unsigned long inj_arch_sp(const struct user_regs_struct *r)
{
	return r->rsp;
}

long inj_arch_retval(const struct user_regs_struct *r)
{
	return (long)r->rax;
}

void inj_arch_set_resume(struct user_regs_struct *r, unsigned long ip, unsigned long sp)
{
	r->rip = ip;
	if (sp)
		r->rsp = sp;
	r->orig_rax = -1;	/* not inside a syscall: no restart fix-ups */
}

void inj_arch_set_call(struct user_regs_struct *r, unsigned long ip, unsigned long sp, long nr,
		       const unsigned long a[6])
{
	inj_arch_set_resume(r, ip, sp);
	r->rax = nr;
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
}

/* Length of a register-only `xor r32, r32` at @p (with or without REX), 0 if none. */
static int guard_xor_len(const unsigned char *p, size_t left)
{
	if (left >= 2 && p[0] == 0x31 && p[1] >= 0xc0)
		return 2;
	if (left >= 3 && (p[0] & 0xf0) == 0x40 && p[1] == 0x31 && p[2] >= 0xc0)
		return 3;
	return 0;
}

/* True if the `syscall` at @p is followed only by register clears and `ret`. */
static bool guard_syscall_returns(const unsigned char *p, size_t left)
{
	size_t i = SYSCALL_INSN_LEN;
	int len;

	while (i < left && (len = guard_xor_len(p + i, left - i)))
		i += len;
	return i < left && p[i] == 0xc3;
}

/* Scan [vdso] text @text of @len bytes at @start for the syscall gadgets. */
void inj_scan_vdso(struct inj_text *it, const unsigned char *text, size_t len, unsigned long start)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] != 0x0f || text[i + 1] != 0x05)
			continue;
		if (!it->syscall_ip)
			it->syscall_ip = start + i;
		if (guard_syscall_returns(text + i, len - i)) {
			it->syscall_ret_ip = start + i;
			return;
		}
	}
}

/* Find `mov $15, %rax; syscall` (or the `mov $15, %eax` form) in @buf. */
long inj_arch_find_restorer(const unsigned char *buf, size_t len)
{
	static const unsigned char rt64[] = { 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05 };
	static const unsigned char rt32[] = { 0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05 };
	const unsigned char *p = memmem(buf, len, rt64, sizeof(rt64));

	if (!p)
		p = memmem(buf, len, rt32, sizeof(rt32));
	return p ? p - buf : -1;
}

/* The registers a resumed task would run with: the syscall-restart fix-up of the kernel. */
void inj_arch_restart_fixup(struct user_regs_struct *r)
{
	if ((long)r->orig_rax < 0)
		return;
	switch (-(long)r->rax) {
	case ERESTARTSYS:
	case ERESTARTNOINTR:
	case ERESTARTNOHAND:
	case ERESTART_RESTARTBLOCK:
		/*
		 * restart_syscall would answer -EINTR after rt_sigreturn (it resets
		 * the restart block): issue the interrupted call again instead.
		 */
		r->rax = r->orig_rax;
		r->rip -= SYSCALL_INSN_LEN;
		break;
	}
}

/*
 * A thread stopped in a call the kernel restarts through its restart block
 * (nanosleep, poll or futex wait with a timeout) cannot be resumed into
 * restart_syscall: the block went with the old task, and the call would
 * return EINTR that no signal caused (util-linux script(1) then ends its
 * session).  Issue the call again with its first arguments: it waits its
 * whole timeout anew, later than asked, which every such call permits.
 */
void inj_reissue_restart_block(struct user_regs_struct *r)
{
	if ((long)r->orig_rax < 0 || -(long)r->rax != ERESTART_RESTARTBLOCK)
		return;
	r->rax = r->orig_rax;
	r->rip -= SYSCALL_INSN_LEN;
}

/* Fill the sigcontext of @uc from registers @r. */
static void guard_fill_mcontext(struct sigcontext *sc, const struct user_regs_struct *r)
{
	sc->r8 = r->r8;
	sc->r9 = r->r9;
	sc->r10 = r->r10;
	sc->r11 = r->r11;
	sc->r12 = r->r12;
	sc->r13 = r->r13;
	sc->r14 = r->r14;
	sc->r15 = r->r15;
	sc->rdi = r->rdi;
	sc->rsi = r->rsi;
	sc->rbp = r->rbp;
	sc->rbx = r->rbx;
	sc->rdx = r->rdx;
	sc->rax = r->rax;
	sc->rcx = r->rcx;
	sc->rsp = r->rsp;
	sc->rip = r->rip;
	sc->eflags = r->eflags;
	sc->cs = (unsigned short)r->cs;
	sc->__pad0 = (unsigned short)r->ss;	/* the ss slot: UC_SIGCONTEXT_SS */
}

/* Read the xstate of @tid and make it a signal frame's FPU state (sw bytes, magic2). */
int inj_arch_read_fpstate(pid_t tid, uint8_t **out, size_t *len)
{
	struct guard_fx_sw_bytes sw = { .magic1 = FP_XSTATE_MAGIC1 };
	uint32_t magic2 = FP_XSTATE_MAGIC2;
	struct iovec iov;
	uint8_t *x;

	x = xzalloc(GUARD_XSTATE_MAX + sizeof(magic2));
	if (!x)
		return -ENOMEM;
	iov.iov_base = x;
	iov.iov_len = GUARD_XSTATE_MAX;
	if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov) < 0 || iov.iov_len < 576) {
		free(x);
		return -ENOTSUP;
	}
	/* ptrace puts XCR0 in the first sw_reserved bytes; a frame wants fx_sw_bytes there */
	memcpy(&sw.xfeatures, x + GUARD_SW_BYTES_OFF, sizeof(sw.xfeatures));
	sw.xstate_size = (uint32_t)iov.iov_len;
	sw.extended_size = (uint32_t)iov.iov_len + sizeof(magic2);
	memcpy(x + GUARD_SW_BYTES_OFF, &sw, sizeof(sw));
	memcpy(x + iov.iov_len, &magic2, sizeof(magic2));
	*out = x;
	*len = iov.iov_len + sizeof(magic2);
	return 0;
}

/* True if process_vm_writev() wrote all of @a (@alen bytes) at @at and @b (@blen, may be 0) at @bt. */
static bool guard_write_both(pid_t tid, unsigned long at, const void *a, size_t alen, unsigned long bt,
			     const void *b, size_t blen)
{
	struct iovec local[2] = { { (void *)a, alen }, { (void *)b, blen } };
	struct iovec remote[2] = { { (void *)at, alen }, { (void *)bt, blen } };
	unsigned long n = blen ? 2 : 1;

	return process_vm_writev(tid, local, n, remote, n, 0) == (ssize_t)(alen + blen);
}

/*
 * Write at @frame (with its FPU state at @fpstate) the signal frame that
 * returns to registers @r and blocked mask @mask, @fp being the FPU state
 * (@fp NULL: none, the kernel then resets the FPU).
 */
int inj_arch_write_frame(pid_t tid, unsigned long frame, const struct user_regs_struct *r,
			 uint64_t mask, unsigned long pretcode, unsigned long fpstate,
			 const uint8_t *fp, size_t fp_len)
{
	struct guard_sigframe sf;
	int ret;

	memset(&sf, 0, sizeof(sf));
	sf.pretcode = pretcode;
	sf.uc.uc_flags = fp ? GUARD_UC_FLAGS : GUARD_UC_FLAGS & ~1UL;
	sf.uc.uc_stack.ss_flags = GUARD_SS_KEEP;
	guard_fill_mcontext(&sf.uc.uc_mcontext, r);
	sf.uc.uc_mcontext.fpstate = fp ? (struct _fpstate *)fpstate : NULL;
	sf.uc.uc_sigmask = mask;
	/* both in one call (the stack is writable), else through /proc/PID/mem */
	if (guard_write_both(tid, frame, &sf, sizeof(sf), fpstate, fp, fp ? fp_len : 0))
		return 0;
	ret = inj_write_mem(tid, frame, &sf, sizeof(sf));
	if (!ret && fp)
		ret = inj_write_mem(tid, fpstate, fp, fp_len);
	return ret;
}

/* Where a frame of @extra bytes (plus the sigframe) goes below @sp: its FPU state 64-byte aligned. */
unsigned long inj_arch_place_frame(unsigned long sp, size_t extra, unsigned long *fpstate)
{
	sp -= GUARD_REDZONE;
	sp = (sp - extra) & ~63UL;
	*fpstate = sp;
	sp -= sizeof(struct guard_sigframe);
	return (sp & ~15UL) - 8;
}


/*
 * The batch routine, entered with %r12 at the first table entry and %r13
 * the number of entries (batch.c has the entry layout: 64 bytes, number in
 * the low 32 bits of the first word, INJ_CALL_MAY_FAIL in bit 32, six
 * arguments, the result).  It uses no memory but the table: for each
 * entry it loads the registers, runs `syscall`, stores %rax in the entry,
 * and stops early at a failed call (-4095..-1) unless the entry may fail.
 * With %r14 zero it ends with `int3`: the one stop the tracer waits for,
 * where %r13 says how many entries were left.  With %r14 set (guarded) it
 * ends with `ret` into the guard frame at %rsp, back to the task's own
 * state: the tracer stops it before, at a signal its last entry raises
 * (batch.c), so only a task whose tracer died gets there.
 */
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	".hidden inj_x86_batch_start\n"
	".hidden inj_x86_batch_end\n"
	"inj_x86_batch_start:\n"
	"1:	test %r13, %r13\n"
	"	jz 3f\n"
	"	mov (%r12), %eax\n"		/* zero-extends: the system call number */
	"	mov 8(%r12), %rdi\n"
	"	mov 16(%r12), %rsi\n"
	"	mov 24(%r12), %rdx\n"
	"	mov 32(%r12), %r10\n"
	"	mov 40(%r12), %r8\n"
	"	mov 48(%r12), %r9\n"
	"	syscall\n"
	"	mov %rax, 56(%r12)\n"
	"	cmp $-4095, %rax\n"
	"	jb 2f\n"			/* below -4095 unsigned: a success */
	"	testb $1, 4(%r12)\n"		/* INJ_CALL_MAY_FAIL */
	"	jnz 2f\n"
	"	test %r14, %r14\n"		/* guarded: on to the end, whatever failed */
	"	jz 3f\n"
	"2:	add $64, %r12\n"
	"	dec %r13\n"
	"	jmp 1b\n"
	"3:	test %r14, %r14\n"
	"	jz 4f\n"
	"	ret\n"
	"4:	int3\n"
	"inj_x86_batch_end:\n"
	".popsection\n");

extern const unsigned char inj_x86_batch_start[], inj_x86_batch_end[];

const unsigned char *inj_arch_batch_code(size_t *len)
{
	*len = (size_t)(inj_x86_batch_end - inj_x86_batch_start);
	return inj_x86_batch_start;
}

void inj_arch_set_batch(struct user_regs_struct *r, unsigned long code, unsigned long table,
			size_t nr, unsigned long guard_frame)
{
	inj_arch_set_resume(r, code, guard_frame);
	r->r12 = table;
	r->r13 = nr;
	r->r14 = guard_frame != 0;
}

size_t inj_arch_batch_left(const struct user_regs_struct *r)
{
	return (size_t)r->r13;
}
