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
 */
#ifndef CT_INJECT_H
#define CT_INJECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct inj_ctx {
	pid_t tid;				/* host tid of the stopped tracee */
	unsigned long syscall_ip;		/* address of a `syscall` in its text */
	struct user_regs_struct saved_regs;	/* registers at inj_begin() */
	uint64_t saved_sigmask;			/* blocked mask at inj_begin() */
	unsigned long event_msg;		/* PTRACE_GETEVENTMSG of the last fork/clone event */
	pid_t event_child;			/* child created by the last injected fork/clone, 0 none */
	bool active;
};

/* Find a `syscall` instruction in @pid's [vdso]; *@ip is its address. */
int inj_find_syscall_insn(pid_t pid, unsigned long *ip);
/* Save registers and mask of stopped tracee @tid and block its signals. */
int inj_begin(struct inj_ctx *ctx, pid_t tid, unsigned long syscall_ip);
/* Run one system call in the tracee; returns its raw result (-errno on failure). */
long inj_syscall(struct inj_ctx *ctx, long nr, unsigned long a1, unsigned long a2,
		 unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6);
/* Put back the registers and mask saved by inj_begin(). */
int inj_end(struct inj_ctx *ctx);

/* Copy memory out of / into the tracee (process_vm_*, falling back to /proc/PID/mem). */
int inj_read_mem(pid_t pid, unsigned long addr, void *buf, size_t len);
/* Writes through /proc/PID/mem, so read-only mappings can be written too. */
int inj_write_mem(pid_t pid, unsigned long addr, const void *buf, size_t len);

/* Map @len bytes of anonymous read-write scratch memory in the tracee. */
int inj_map_scratch(struct inj_ctx *ctx, size_t len, unsigned long *addr);
int inj_unmap_scratch(struct inj_ctx *ctx, unsigned long addr, size_t len);

#endif
