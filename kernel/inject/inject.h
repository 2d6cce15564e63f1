/* SPDX-License-Identifier: MIT */
/*
 * System call injection into a stopped tracee: the one mechanism both dump
 * (read what /proc does not show) and restore (rebuild a process from
 * outside) use.
 *
 * The tracee must be ptrace-seized by us and sitting in a ptrace-stop.
 * inj_begin() saves its registers and blocked signal mask, then blocks every
 * signal so that no signal-delivery-stop interrupts an injected call.  Each
 * inj_syscall() points RIP at a `syscall` instruction, loads the arguments,
 * sets orig_rax to -1 (so the kernel's syscall-restart logic stays out of
 * the way) and single-steps.  inj_end() puts the saved registers and mask
 * back, leaving the task as it was found.
 *
 * inj_begin_guarded() does the same for a task that must survive our death
 * at any moment (dump): see guard.c.  Its calls stop at syscall entry and
 * exit (PTRACE_SYSCALL, TRACESYSGOOD) instead of single-stepping, because a
 * single-step SIGTRAP left pending by a dead tracer would kill the task,
 * and inj_end() parks it in a PTRACE_EVENT_STOP before giving its own
 * registers back.
 *
 * This header is the whole interface of kernel/inject/.  What depends on the
 * machine (registers, the `syscall` instruction, the signal frame) is in
 * arch.h and arch-x86_64.c, the one seam for a second architecture.
 */
#ifndef CT_INJECT_H
#define CT_INJECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* What the injection uses in the tracee's text. */
struct inj_text {
	unsigned long syscall_ip;		/* a `syscall` in [vdso] */
	unsigned long syscall_ret_ip;		/* one followed by register clears and `ret`, 0 none */
	unsigned long sigreturn_ip;		/* `mov $15, %rax; syscall` (libc's restorer), 0 none */
	long extra_options;			/* ptrace options kept while injecting (PTRACE_O_SUSPEND_SECCOMP) */
};

struct inj_ctx {
	pid_t tid;				/* host tid of the stopped tracee */
	unsigned long syscall_ip;		/* address of a `syscall` in its text */
	unsigned long frame;			/* guarded: its signal frame (guard.c), else 0 */
	unsigned long sigreturn_ip;		/* guarded: the restorer that frame returns through */
	long options;				/* ptrace options we set while injecting */
	struct user_regs_struct saved_regs;	/* registers at inj_begin() */
	uint64_t saved_sigmask;			/* blocked mask at inj_begin() */
	unsigned long event_msg;		/* PTRACE_GETEVENTMSG of the last fork/clone event */
	pid_t event_child;			/* child created by the last injected fork/clone, 0 none */
	bool active;
};

/* Find a `syscall` instruction in @pid's [vdso]; *@ip is its address. */
int inj_find_syscall_insn(pid_t pid, unsigned long *ip);
/* Find the syscall gadgets of @pid's [vdso] and its rt_sigreturn restorer. */
int inj_find_text(pid_t pid, struct inj_text *it);
int inj_scan_own_vdso(pid_t pid, struct inj_text *it);
void inj_scan_vdso(struct inj_text *it, const unsigned char *text, size_t len, unsigned long start);
/* Save registers and mask of stopped tracee @tid and block its signals. */
int inj_begin(struct inj_ctx *ctx, pid_t tid, unsigned long syscall_ip);
/*
 * The same, guarded: should we die at any point until inj_end(), @tid
 * returns to its own registers, mask and FPU state by itself.  -ENOTSUP
 * (nothing changed) when it cannot be guarded: use inj_begin() then.
 */
int inj_begin_guarded(struct inj_ctx *ctx, pid_t tid, const struct inj_text *it);
/* Trace (or stop tracing) the clones the tracee makes: the next call's child is adopted. */
int inj_trace_clones(struct inj_ctx *ctx, bool on);
/* guard.c: the frame that makes a tracee under injection safe from our death. */
int inj_guard_frame(struct inj_ctx *ctx, const struct inj_text *it);
int inj_guard_child_frame(struct inj_ctx *ctx, unsigned long *child_sp);
/* Run one system call in the tracee; returns its raw result (-errno on failure). */
long inj_syscall(struct inj_ctx *ctx, long nr, unsigned long a1, unsigned long a2,
		 unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6);
/* Registers that run exit_group(0) at the `syscall` at @syscall_ip, on stack @sp (0: their own). */
void inj_set_exit_regs(struct user_regs_struct *regs, unsigned long syscall_ip, unsigned long sp);
/* Registers @r resume a call interrupted in its restart block by issuing it again. */
void inj_reissue_restart_block(struct user_regs_struct *r);
/* Put back the registers and mask saved by inj_begin(). */
int inj_end(struct inj_ctx *ctx);

/* Copy memory out of / into the tracee (process_vm_*, falling back to /proc/PID/mem). */
int inj_read_mem(pid_t pid, unsigned long addr, void *buf, size_t len);
/* Writes through /proc/PID/mem, so read-only mappings can be written too. */
int inj_write_mem(pid_t pid, unsigned long addr, const void *buf, size_t len);

/* Map @len bytes of anonymous read-write scratch memory in the tracee. */
int inj_map_scratch(struct inj_ctx *ctx, size_t len, unsigned long *addr);
int inj_unmap_scratch(struct inj_ctx *ctx, unsigned long addr, size_t len);

/*
 * Stop @parent and inject wait4() for each of its @nr zombie children @pids
 * (as its pid namespace numbers them); how many it reaped, or -errno.
 */
int inj_reap_children(pid_t parent, const pid_t *pids, int nr);
/* Reap the zombie children without exit signal of @pid (snapshot children of a dead dump). */
int inj_reap_strays(pid_t pid);

#endif
