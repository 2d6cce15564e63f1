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
	/* a call started by inj_syscall_start() and not yet finished */
	int stops_left;				/* stops it still has to reach, 0 none */
	long call_nr;				/* its number */
	double call_t0;				/* now_ms() at its start */
};

/* Find a `syscall` instruction in @pid's [vdso]; *@ip is its address. */
int inj_find_syscall_insn(pid_t pid, unsigned long *ip);
/* Find the syscall gadgets of @pid's [vdso] and its rt_sigreturn restorer. */
int inj_find_text(pid_t pid, struct inj_text *it);
int inj_scan_own_vdso(pid_t pid, struct inj_text *it);
/* Scan the [vdso] of @pid at [@start, @end) for its `syscall` instructions. */
int inj_scan_vdso_at(pid_t pid, unsigned long start, unsigned long end, struct inj_text *it);
/* A mapping of a tracee, as /proc/PID/maps shows it (inj_find_text_in()). */
struct inj_map {
	unsigned long start, end, pgoff;
	unsigned long long ino;
	unsigned int maj, min;			/* the file's device */
	const char *path;			/* a file's path, "[vdso]" and the like, or NULL */
	bool exec_file;				/* mapped private, read and execute (r-xp) */
};
/* inj_find_text() from the mappings @maps of @pid the caller has read already. */
int inj_find_text_in(pid_t pid, const struct inj_map *maps, size_t nr, struct inj_text *it);
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
/*
 * Waves: one call on each of many tracees at once (dump), so that their
 * round trips overlap instead of following one another.  Start the call on
 * every tracee, then step each until it is done: each step waits for that
 * tracee's next stop (the others run meanwhile) and resumes it if the call
 * needs another.  inj_syscall() is start and steps in one.
 */
int inj_syscall_start(struct inj_ctx *ctx, long nr, unsigned long a1, unsigned long a2,
		      unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6);
/* 1 with the call's raw result in *@result once it is done, 0 while it runs on, -errno. */
int inj_syscall_step(struct inj_ctx *ctx, long *result);
/*
 * Call @nr with @args[i] on each of the @n tracees of @ctxs at once; each
 * result (or the -errno that kept it from running) in @results[i].  0 once
 * every tracee is stopped again, else the first error of the run itself.
 */
int inj_syscall_wave(struct inj_ctx *const *ctxs, size_t n, long nr,
		     const unsigned long (*args)[6], long *results);
/* inj_end() in two halves, so that many tracees park at once: resume each, then finish each. */
int inj_end_start(struct inj_ctx *ctx);
int inj_end_finish(struct inj_ctx *ctx);
/* Registers that run exit_group(0) at the `syscall` at @syscall_ip, on stack @sp (0: their own). */
void inj_set_exit_regs(struct user_regs_struct *regs, unsigned long syscall_ip, unsigned long sp);
/* Registers @r resume a call interrupted in its restart block by issuing it again. */
void inj_reissue_restart_block(struct user_regs_struct *r);
/* Put back the registers and mask saved by inj_begin(). */
int inj_end(struct inj_ctx *ctx);
/*
 * Pass an unguarded injection to another thread of ours (the tracer is a
 * thread, not a process): inj_handover() parks the tracee in pause() and
 * detaches it; inj_adopt(), in the new tracer thread, seizes it with
 * @options and waits for its stop.  The context goes on as it was.
 */
int inj_handover(struct inj_ctx *ctx);
int inj_adopt(struct inj_ctx *ctx, long options);

/*
 * A batch (batch.c): many system calls run in the tracee by one resume and
 * one stop, instead of one round trip each.  A small position-independent
 * routine (arch-ARCH.c) placed in the tracee walks a table of calls in its
 * memory and stops once, at its end or at the first call that failed.
 * Unguarded (restore), the routine stops early at a failed call and ends
 * with a trap.  Guarded (dump), it runs every call and raises a signal the
 * task discards anyway, then returns into the guard frame: a dead tracer
 * leaves it running on (batch.c).  Calls queued are only run by
 * inj_batch_run().
 */
#define INJ_CALL_MAY_FAIL 1UL	/* go on after this call fails */

/* One table entry, as the routine reads it in the tracee: 64 bytes. */
struct inj_call {
	uint64_t nr_flags;			/* system call number | INJ_CALL_* << 32 */
	uint64_t a[6];				/* arguments */
	int64_t ret;				/* its result once run */
};

struct inj_batch {
	unsigned long code;			/* the routine in the tracee */
	unsigned long area;			/* table, then data, in the tracee */
	size_t max;				/* entries the table holds */
	size_t nr;				/* entries queued */
	struct inj_call *calls;			/* our copy of the table */
	const void **tags;			/* the caller's tag of each entry */
	uint8_t *data;				/* our copy of the data part */
	size_t data_len, data_used;
	size_t failed;				/* entry that stopped the last run, or nr */
	/* between inj_batch_start() and inj_batch_finish() */
	size_t nr_queued;			/* the caller's entries (the stop's come after) */
	int stop_sig;				/* the signal the run stops at */
	bool resumed;				/* the tracee runs the routine: finish waits for it */
	int start_ret;				/* what the start found, for finish to return */
	double t0;
	/*
	 * The tracee's /proc status text the caller read just before
	 * inj_batch_start() (the caller's to free), or NULL: the start
	 * reads it (pending and caught signals pick the stop signal).
	 */
	const char *status;
};

/* Place the routine in the tracee of @ctx at @code (a page it maps there, read and execute). */
int inj_batch_place(struct inj_ctx *ctx, unsigned long code);
/* inj_batch_place() on each of @n tracees at once, the routine at @codes[i] in @ctxs[i]. */
int inj_batch_place_wave(struct inj_ctx *const *ctxs, size_t n, const unsigned long *codes);
/* Map the routine and @len bytes of table and data anywhere free in the tracee; a batch on them. */
int inj_batch_map(struct inj_batch *b, struct inj_ctx *ctx, size_t len);
/* Unmap what inj_batch_map() mapped and free the batch. */
int inj_batch_unmap(struct inj_batch *b, struct inj_ctx *ctx);
/* A batch using the routine at @code and the tracee's writable @len bytes at @area. */
int inj_batch_init(struct inj_batch *b, unsigned long code, unsigned long area, size_t len);
void inj_batch_free(struct inj_batch *b);
/* Queue a call; its index, or -ENOSPC when the table is full (run it first). */
long inj_batch_add(struct inj_batch *b, const void *tag, unsigned long flags, long nr,
		   unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
		   unsigned long a5, unsigned long a6);
/* Copy @len bytes to the batch's data in the tracee; their address there, 0 when full. */
unsigned long inj_batch_put(struct inj_batch *b, const void *data, size_t len);
/* Room for @calls more calls and @bytes more data? */
bool inj_batch_fits(const struct inj_batch *b, size_t calls, size_t bytes);
/*
 * Run the queued calls on the thread of @ctx.  0: all ran (results in
 * b->calls[i].ret); -errno of the call b->failed that stopped the routine;
 * another -errno (b->failed == b->nr) when the tracee could not be run.
 */
int inj_batch_run(struct inj_batch *b, struct inj_ctx *ctx);
/*
 * After a run: the result of the call that stopped it if that call is one of
 * entries [@first, @end), else 0 (see also b->failed: < @first, those
 * entries did not run; >= @end, they all did).
 */
long inj_batch_failure_in(const struct inj_batch *b, size_t first, size_t end);
/* inj_batch_run() in two halves, so that batches run in many tracees at once. */
int inj_batch_start(struct inj_batch *b, struct inj_ctx *ctx);
int inj_batch_finish(struct inj_batch *b, struct inj_ctx *ctx);
/* The result of entry @i of the last run (still there after inj_batch_reset, until the next add). */
long inj_batch_ret(const struct inj_batch *b, size_t i);
/* Forget the queued calls and data: an empty batch again. */
void inj_batch_reset(struct inj_batch *b);

/* Round trips into tracees so far in this process (for -v profiles): stops and calls run. */
struct inj_stats {
	unsigned long round_trips;		/* times a tracee was resumed and waited for */
	unsigned long calls;			/* system calls run in tracees */
	double ms;				/* wall time spent in them (overlapping ones each) */
	unsigned long in_sequence;		/* round trips one after another: a wave counts once */
};
void inj_get_stats(struct inj_stats *st);
/* The injection room counts one round trip that ran @calls calls in @ms. */
void inj_count(unsigned long calls, double ms);
/* ... and one wait of the tracer: a single round trip, or a wave of them at once. */
void inj_count_sequence(void);
/* The injection room's test hook before each guarded step ("inject-stop:N", inject.c). */
void inj_fault_step(void);
/* True for a signal the tracee's own instruction raised (a fault): never dropped and retried. */
bool inj_fault_signal(int sig);

/* Copy memory out of / into the tracee (process_vm_*, falling back to /proc/PID/mem). */
int inj_read_mem(pid_t pid, unsigned long addr, void *buf, size_t len);
/*
 * inj_read_mem() in one call (process_vm_readv) where it can, for memory
 * that is readable and not anonymous memory shared copy-on-write with a
 * child (the pin process_vm_readv takes would copy such a page): scratch
 * memory, [vdso], file text.  Else, or if refused, through /proc/PID/mem.
 */
int inj_read_mem_quick(pid_t pid, unsigned long addr, void *buf, size_t len);
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
