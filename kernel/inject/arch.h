/* SPDX-License-Identifier: MIT */
/*
 * The one seam of the injection room to the machine: registers, the
 * system call instruction, the signal frame.  inject.c and guard.c say
 * what to do; arch-ARCH.c says how on this architecture (x86-64 today).
 * Only kernel/inject/ includes this.
 */
#ifndef CT_INJECT_ARCH_H
#define CT_INJECT_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* Where the instruction pointer is after the system call instruction ran. */
unsigned long inj_arch_after_syscall(unsigned long syscall_ip);
/* The instruction pointer, stack pointer and system call result of @r. */
unsigned long inj_arch_ip(const struct user_regs_struct *r);
unsigned long inj_arch_sp(const struct user_regs_struct *r);
long inj_arch_retval(const struct user_regs_struct *r);
/*
 * Make @r resume at @ip with stack @sp (0: its own) outside any system
 * call, so that the kernel's syscall-restart logic stays out of the way.
 */
void inj_arch_set_resume(struct user_regs_struct *r, unsigned long ip, unsigned long sp);
/* The same, loaded to run system call @nr with arguments @a at @ip. */
void inj_arch_set_call(struct user_regs_struct *r, unsigned long ip, unsigned long sp, long nr,
		       const unsigned long a[6]);

/* Offset of an rt_sigreturn restorer (libc's __restore_rt) in @buf, -1 if none. */
long inj_arch_find_restorer(const unsigned char *buf, size_t len);

/* Apply to @r the kernel's syscall-restart fix-up of a task resumed by a signal return. */
void inj_arch_restart_fixup(struct user_regs_struct *r);
/* The FPU state of @tid as a signal frame holds it (*@out: xmalloc'd, *@len bytes). */
int inj_arch_read_fpstate(pid_t tid, uint8_t **out, size_t *len);
/* Where a signal frame with @extra bytes of FPU state goes below @sp (*@fpstate: that state). */
unsigned long inj_arch_place_frame(unsigned long sp, size_t extra, unsigned long *fpstate);
/*
 * Write at @frame of @tid the signal frame that returns through @pretcode
 * to registers @r and blocked mask @mask, with FPU state @fp at @fpstate
 * (@fp NULL: none, the kernel then resets the FPU).
 */
int inj_arch_write_frame(pid_t tid, unsigned long frame, const struct user_regs_struct *r,
			 uint64_t mask, unsigned long pretcode, unsigned long fpstate,
			 const uint8_t *fp, size_t fp_len);

/*
 * The batch routine (batch.c): position-independent code that runs a table
 * of system calls and stops once.  *@len is its size in bytes.
 */
const unsigned char *inj_arch_batch_code(size_t *len);
/*
 * Make @r run the routine at @code over @nr table entries at @table; with
 * @guard_frame (not 0) on that frame, returning into it at the end.
 */
void inj_arch_set_batch(struct user_regs_struct *r, unsigned long code, unsigned long table,
			size_t nr, unsigned long guard_frame);
/* Entries the routine had not finished when it stopped with registers @r. */
size_t inj_arch_batch_left(const struct user_regs_struct *r);

#endif
