// SPDX-License-Identifier: MIT
/*
 * The guard of an injection: what lets a tracee survive the death of its
 * tracer in the middle of one.
 *
 * While we inject system calls into a task its registers and blocked mask
 * are ours.  If we die then (kill -9, OOM), the kernel detaches the task
 * and resumes it with them.  Instead of killing it then (PTRACE_O_EXITKILL)
 * we make every state we leave it in lead back to its own: before changing
 * anything, a signal frame holding its registers, mask and FPU/xstate is
 * written on its stack below the red zone, exactly as the kernel would
 * deliver a signal, and every register set we give it returns into
 * `rt_sigreturn` on that frame:
 *
 *   between calls:  RIP = a `mov $15, %rax; syscall` in its own text
 *                   (libc's __restore_rt), RSP = frame + 8;
 *   during a call:  RIP = a `syscall` in [vdso] followed only by register
 *                   clears and `ret`, RSP = frame, whose first word (the
 *                   return address of a signal handler) is that restorer.
 *
 * The frame holds the registers with the kernel's syscall-restart fix-up
 * already applied (a task stopped inside an interrupted call resumes by
 * re-issuing it), and an invalid sigaltstack mode so that rt_sigreturn
 * leaves the task's alternate stack as it is (restore_altstack() ignores
 * every error but EFAULT).
 */
#define LOG_PREFIX "inject: "
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "freezer/inject.h"
#include "lib/log.h"
#include "lib/util.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define GUARD_REDZONE 128		/* the x86-64 ABI's red zone below RSP */
#define GUARD_XSTATE_MAX 16384		/* more than any XSAVE area up to AMX */
#define GUARD_SW_BYTES_OFF 464		/* sw_reserved of the legacy FXSAVE area */
#define GUARD_TEXT_MAX (64UL << 20)	/* text scanned for a restorer, at most */

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
	size_t i = 2;
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
static long guard_find_restorer(const unsigned char *buf, size_t len)
{
	static const unsigned char rt64[] = { 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05 };
	static const unsigned char rt32[] = { 0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05 };
	const unsigned char *p = memmem(buf, len, rt64, sizeof(rt64));

	if (!p)
		p = memmem(buf, len, rt32, sizeof(rt32));
	return p ? p - buf : -1;
}

/* Look for a restorer in one executable mapping [@start, @end) of @pid. */
static int guard_scan_mapping(pid_t pid, unsigned long start, unsigned long end, unsigned long *ip)
{
	unsigned char *buf;
	long off;
	int ret;

	buf = xmalloc(end - start);
	if (!buf)
		return -ENOMEM;
	ret = inj_read_mem(pid, start, buf, end - start);
	if (!ret) {
		off = guard_find_restorer(buf, end - start);
		ret = off < 0 ? -ENOENT : 0;
		if (!ret)
			*ip = start + off;
	}
	free(buf);
	return ret;
}

/*
 * Find an rt_sigreturn restorer in the executable file mappings of @pid:
 * libc's first (every glibc and musl process has one), then the others.
 */
static int guard_find_sigreturn(pid_t pid, unsigned long *ip)
{
	unsigned long start, end, scanned = 0;
	char path[64], line[4352], perms[8];
	int pass, ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	for (pass = 0; pass < 2 && ret; pass++) {
		f = fopen(path, "re");
		if (!f)
			return -errno;
		while (ret && scanned < GUARD_TEXT_MAX && fgets(line, sizeof(line), f)) {
			bool libc = strstr(line, "/libc.") || strstr(line, "/libc-") || strstr(line, "ld-musl");
			int r;

			if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 || strcmp(perms, "r-xp") ||
			    !strchr(line, '/') || libc != (pass == 0) || end - start > GUARD_TEXT_MAX)
				continue;
			scanned += end - start;
			r = guard_scan_mapping(pid, start, end, ip);
			if (r != -ENOENT)
				ret = r;
		}
		fclose(f);
	}
	return ret;
}

/* Find in the address space of @pid what a guarded injection needs. */
int inj_find_text(pid_t pid, struct inj_text *it)
{
	int ret;

	memset(it, 0, sizeof(*it));
	ret = inj_scan_own_vdso(pid, it);
	if (ret)
		return ret;
	if (!it->syscall_ret_ip)
		return 0;
	ret = guard_find_sigreturn(pid, &it->sigreturn_ip);
	if (ret == -ENOENT)
		pr_debug("pid %d: no rt_sigreturn restorer in its text", pid);
	return ret == -ENOENT ? 0 : ret;
}

/* The registers a resumed task would run with: the syscall-restart fix-up of the kernel. */
static void guard_restart_fixup(struct user_regs_struct *r)
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
		r->rip -= 2;
		break;
	}
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
static int guard_read_fpstate(pid_t tid, uint8_t **out, size_t *len)
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

/*
 * Write at @frame (with its FPU state at @fpstate) the signal frame that
 * returns to registers @r and blocked mask @mask, @fp being the FPU state
 * (@fp NULL: none, the kernel then resets the FPU).
 */
static int guard_write_frame(pid_t tid, unsigned long frame, const struct user_regs_struct *r,
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
	ret = inj_write_mem(tid, frame, &sf, sizeof(sf));
	if (!ret && fp)
		ret = inj_write_mem(tid, fpstate, fp, fp_len);
	return ret;
}

/* Where a frame of @extra bytes (plus the sigframe) goes below @sp: its FPU state 64-byte aligned. */
static unsigned long guard_place(unsigned long sp, size_t extra, unsigned long *fpstate)
{
	sp -= GUARD_REDZONE;
	sp = (sp - extra) & ~63UL;
	*fpstate = sp;
	sp -= sizeof(struct guard_sigframe);
	return (sp & ~15UL) - 8;
}

/*
 * Write the guard frame of the stopped task under @ctx: everything it
 * needs to get its own state back by itself.  -ENOTSUP if it cannot be
 * guarded (no gadgets, no xstate, no writable stack below RSP).
 */
int inj_guard_frame(struct inj_ctx *ctx, const struct inj_text *it)
{
	struct user_regs_struct own = ctx->saved_regs;
	unsigned long frame, fpstate;
	uint8_t *fp;
	size_t fp_len;
	int ret;

	if (!it->syscall_ret_ip || !it->sigreturn_ip)
		return -ENOTSUP;
	ret = guard_read_fpstate(ctx->tid, &fp, &fp_len);
	if (ret)
		return ret;
	guard_restart_fixup(&own);
	frame = guard_place(own.rsp, fp_len, &fpstate);
	ret = guard_write_frame(ctx->tid, frame, &own, ctx->saved_sigmask, it->sigreturn_ip,
				fpstate, fp, fp_len);
	free(fp);
	if (ret) {
		pr_debug("pid %d: no room for a guard frame below rsp %llx: %s", ctx->tid,
			 own.rsp, strerror(-ret));
		return -ENOTSUP;
	}
	ctx->frame = frame;
	ctx->sigreturn_ip = it->sigreturn_ip;
	ctx->syscall_ip = it->syscall_ret_ip;
	return 0;
}

/*
 * Below the guard frame, a second frame for the child of an injected
 * clone whose stack is @*child_sp: should it ever run on its own (its
 * tracer died during the clone) it returns into exit_group(0), never into
 * the parent's code.
 */
int inj_guard_child_frame(struct inj_ctx *ctx, unsigned long *child_sp)
{
	struct user_regs_struct exit_regs = ctx->saved_regs;
	unsigned long frame, unused;

	frame = guard_place(ctx->frame, 0, &unused);
	exit_regs.rip = ctx->syscall_ip;
	exit_regs.rax = __NR_exit_group;
	exit_regs.rdi = 0;
	exit_regs.rsp = frame;
	exit_regs.orig_rax = -1;
	*child_sp = frame;
	return guard_write_frame(ctx->tid, frame, &exit_regs, ~0ULL, ctx->sigreturn_ip, 0, NULL, 0);
}
