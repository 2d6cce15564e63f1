// SPDX-License-Identifier: MIT
/* Run system calls inside a stopped tracee by pointing it at a `syscall`. */
#define LOG_PREFIX "inject: "
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
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
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"

#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif

/* Counted for -v profiles; a restore may inject from several threads at once (restore/par.c). */
static struct inj_stats inj_totals;
static pthread_mutex_t inj_totals_lock = PTHREAD_MUTEX_INITIALIZER;

void inj_get_stats(struct inj_stats *st)
{
	pthread_mutex_lock(&inj_totals_lock);
	*st = inj_totals;
	pthread_mutex_unlock(&inj_totals_lock);
}

void inj_count_sequence(void)
{
	pthread_mutex_lock(&inj_totals_lock);
	inj_totals.in_sequence++;
	pthread_mutex_unlock(&inj_totals_lock);
}

void inj_count(unsigned long calls, double ms)
{
	pthread_mutex_lock(&inj_totals_lock);
	inj_totals.calls += calls;
	inj_totals.round_trips++;
	inj_totals.ms += ms;
	pthread_mutex_unlock(&inj_totals_lock);
}

/* Find the [vdso] range of @pid in /proc/PID/maps. */
static int vdso_range(pid_t pid, unsigned long *start, unsigned long *end)
{
	char path[64], line[512];
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vdso]"))
			continue;
		if (sscanf(line, "%lx-%lx", start, end) == 2)
			ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int inj_scan_vdso_at(pid_t pid, unsigned long start, unsigned long end, struct inj_text *it)
{
	unsigned char *text = xmalloc(end - start);
	int ret;

	if (!text)
		return -ENOMEM;
	ret = inj_read_mem_quick(pid, start, text, end - start);
	if (!ret)
		inj_scan_vdso(it, text, end - start, start);
	free(text);
	if (ret)
		return ct_err(ret, "pid %d: cannot read its [vdso]: %s", pid, strerror(-ret));
	if (!it->syscall_ip)
		return ct_err(-ENOENT, "pid %d: no syscall instruction in [vdso]", pid);
	return 0;
}

/* Scan @pid's [vdso] for its `syscall` instructions (guard.c: which ones). */
int inj_scan_own_vdso(pid_t pid, struct inj_text *it)
{
	unsigned long start, end;
	int ret;

	ret = vdso_range(pid, &start, &end);
	if (ret)
		return ct_err(ret, "pid %d: no [vdso] to inject system calls through", pid);
	return inj_scan_vdso_at(pid, start, end, it);
}

/* Find a `syscall` instruction in @pid's [vdso]. */
int inj_find_syscall_insn(pid_t pid, unsigned long *ip)
{
	struct inj_text it = { 0 };
	int ret = inj_scan_own_vdso(pid, &it);

	if (!ret)
		*ip = it.syscall_ip;
	return ret;
}

/*
 * Test hook: "inject-stop:N" (lib/fault.h) stops this process (SIGSTOP) at
 * the N-th step of guarded injection, counted across the run, so that a
 * test can kill -9 us at exactly that point.
 */
void inj_fault_step(void)
{
	static unsigned long step;

	if (fault_at_num("inject-stop", ++step))
		kill(getpid(), SIGSTOP);
}

/* Save the tracee's registers and mask, then block all its signals. */
int inj_begin(struct inj_ctx *ctx, pid_t tid, unsigned long syscall_ip)
{
	uint64_t all = ~0ULL;

	memset(ctx, 0, sizeof(*ctx));
	ctx->tid = tid;
	ctx->syscall_ip = syscall_ip;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &ctx->saved_regs) < 0)
		return ct_err(-errno, "pid %d: cannot read registers: %m", tid);
	if (ptrace(PTRACE_GETSIGMASK, tid, sizeof(uint64_t), &ctx->saved_sigmask) < 0)
		return ct_err(-errno, "pid %d: cannot read signal mask: %m", tid);
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(uint64_t), &all) < 0)
		return ct_err(-errno, "pid %d: cannot block signals: %m", tid);
	ctx->active = true;
	return 0;
}

/* Set the ptrace options of the tracee: ours plus @extra. */
static int inj_set_options(struct inj_ctx *ctx, long extra)
{
	if (ptrace(PTRACE_SETOPTIONS, ctx->tid, NULL, (void *)(ctx->options | extra)) < 0)
		return ct_err(-errno, "pid %d: cannot set ptrace options: %m", ctx->tid);
	return 0;
}

int inj_trace_clones(struct inj_ctx *ctx, bool on)
{
	return inj_set_options(ctx, on ? PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK : 0);
}

/*
 * Registers that, resumed by the kernel without us, return the tracee to
 * its own state through its guard frame: the restorer, on the frame.
 */
static int inj_point_at_frame(struct inj_ctx *ctx)
{
	struct user_regs_struct regs = ctx->saved_regs;

	inj_arch_set_resume(&regs, ctx->sigreturn_ip, ctx->frame + 8);	/* as after a handler's `ret` */
	if (ptrace(PTRACE_SETREGS, ctx->tid, NULL, &regs) < 0)
		return ct_err(-errno, "pid %d: cannot set registers: %m", ctx->tid);
	return 0;
}

int inj_begin_guarded(struct inj_ctx *ctx, pid_t tid, const struct inj_text *it)
{
	uint64_t all = ~0ULL;
	int ret;

	memset(ctx, 0, sizeof(*ctx));
	ctx->tid = tid;
	ctx->options = PTRACE_O_TRACESYSGOOD | it->extra_options;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &ctx->saved_regs) < 0)
		return ct_err(-errno, "pid %d: cannot read registers: %m", tid);
	if (ptrace(PTRACE_GETSIGMASK, tid, sizeof(uint64_t), &ctx->saved_sigmask) < 0)
		return ct_err(-errno, "pid %d: cannot read signal mask: %m", tid);
	ret = inj_guard_frame(ctx, it);
	if (ret)
		return ret;
	/* frame first, then registers, then the mask: each step is safe to die in */
	inj_fault_step();
	ret = inj_set_options(ctx, 0) ?: inj_point_at_frame(ctx);
	if (ret)
		return ret;
	inj_fault_step();
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(uint64_t), &all) < 0)
		return ct_err(-errno, "pid %d: cannot block signals: %m", tid);
	ctx->active = true;
	return 0;
}

bool inj_fault_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE;
}

/* Note the child of a fork/clone event so the caller can adopt it. */
static void note_event(struct inj_ctx *ctx, int event)
{
	unsigned long msg = 0;

	if (ptrace(PTRACE_GETEVENTMSG, ctx->tid, NULL, &msg) < 0)
		return;
	ctx->event_msg = msg;
	if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
	    event == PTRACE_EVENT_CLONE)
		ctx->event_child = (pid_t)msg;
}

/* The ptrace request that runs an injected call on to its next stop. */
static int inj_call_request(const struct inj_ctx *ctx)
{
	return ctx->frame ? PTRACE_SYSCALL : PTRACE_SINGLESTEP;
}

/*
 * Run the tracee through the injected `syscall` instruction.  Unguarded:
 * one single step.  Guarded: from syscall entry to syscall exit, because a
 * dead tracer's pending single-step SIGTRAP would kill the task, while the
 * code of a syscall stop (SIGTRAP | 0x80, TRACESYSGOOD) is no signal the
 * kernel could deliver, and the registers lead to the guard frame.  This
 * resumes it; inj_call_wait() takes each stop.
 */
static int inj_call_resume(struct inj_ctx *ctx)
{
	if (ctx->frame)
		inj_fault_step();
	if (ptrace(inj_call_request(ctx), ctx->tid, NULL, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * Wait for the next stop of the call under way on @ctx: 1 once it has
 * reached its last stop, 0 when resumed towards another, -errno.
 */
static int inj_call_wait(struct inj_ctx *ctx)
{
	int trap = ctx->frame ? SIGTRAP | 0x80 : SIGTRAP;
	int status;

	if (waitpid(ctx->tid, &status, __WALL) < 0)
		return -errno;
	if (WIFEXITED(status) || WIFSIGNALED(status))
		return ct_err(-ESRCH, "pid %d: died during an injected system call", ctx->tid);
	if (!WIFSTOPPED(status))
		return 0;
	if (status >> 16) {
		/* fork/clone/exec event inside the call: the call is not done yet */
		note_event(ctx, status >> 16);
	} else if (WSTOPSIG(status) == trap) {
		if (--ctx->stops_left == 0)
			return 1;
	} else if (inj_fault_signal(WSTOPSIG(status))) {
		/* a fault in the injected code: resumed, it would fault again forever */
		return ct_err(-EFAULT, "pid %d: signal %d in an injected system call at %#lx",
			      ctx->tid, WSTOPSIG(status), ctx->syscall_ip);
	} else {
		/* only unblockable signals get here (all others are blocked): dropped */
		pr_debug("pid %d: signal %d during injection, dropped", ctx->tid, WSTOPSIG(status));
	}
	return inj_call_resume(ctx) ?: 0;
}

/* Registers that run exit_group(0) at the `syscall` at @syscall_ip, on stack @sp (0: their own). */
void inj_set_exit_regs(struct user_regs_struct *regs, unsigned long syscall_ip, unsigned long sp)
{
	static const unsigned long status_zero[6];

	inj_arch_set_call(regs, syscall_ip, sp, __NR_exit_group, status_zero);
}

int inj_syscall_start(struct inj_ctx *ctx, long nr, unsigned long a1, unsigned long a2,
		      unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6)
{
	const unsigned long args[6] = { a1, a2, a3, a4, a5, a6 };
	struct user_regs_struct regs = ctx->saved_regs;

	ctx->call_t0 = now_ms();
	ctx->call_nr = nr;
	ctx->stops_left = 0;
	/* guarded: the stack is the frame, whose `ret` goes to the restorer (guard.c) */
	inj_arch_set_call(&regs, ctx->syscall_ip, ctx->frame, nr, args);
	ctx->event_child = 0;
	if (ptrace(PTRACE_SETREGS, ctx->tid, NULL, &regs) < 0)
		return -errno;
	ctx->stops_left = ctx->frame ? 2 : 1;
	return inj_call_resume(ctx);
}

int inj_syscall_step(struct inj_ctx *ctx, long *result)
{
	struct user_regs_struct regs;
	int ret = inj_call_wait(ctx);

	if (ret <= 0) {
		if (ret < 0)
			ctx->stops_left = 0;
		return ret;
	}
	if (ptrace(PTRACE_GETREGS, ctx->tid, NULL, &regs) < 0)
		return -errno;
	inj_count(1, now_ms() - ctx->call_t0);
	if (inj_arch_ip(&regs) != inj_arch_after_syscall(ctx->syscall_ip))
		pr_warn("pid %d: syscall %ld ended at %lx, not after the instruction",
			ctx->tid, ctx->call_nr, inj_arch_ip(&regs));
	*result = inj_arch_retval(&regs);
	return 1;
}

/* Execute system call @nr with six arguments inside the tracee. */
long inj_syscall(struct inj_ctx *ctx, long nr, unsigned long a1, unsigned long a2,
		 unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6)
{
	long result = 0;
	int ret = inj_syscall_start(ctx, nr, a1, a2, a3, a4, a5, a6);

	while (!ret)
		ret = inj_syscall_step(ctx, &result);
	inj_count_sequence();
	return ret < 0 ? ret : result;
}

int inj_syscall_wave(struct inj_ctx *const *ctxs, size_t n, long nr,
		     const unsigned long (*args)[6], long *results)
{
	size_t running = 0;
	int first = 0;

	for (size_t i = 0; i < n; i++) {
		const unsigned long *a = args[i];

		results[i] = inj_syscall_start(ctxs[i], nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (ctxs[i]->stops_left)
			running++;
		else if (!first)
			first = (int)results[i];
	}
	inj_count_sequence();
	/* each pass takes one stop of every call under way: the others run meanwhile */
	while (running) {
		for (size_t i = 0; i < n; i++) {
			int r;

			if (!ctxs[i]->stops_left)
				continue;
			r = inj_syscall_step(ctxs[i], &results[i]);
			if (r == 0)
				continue;
			running--;
			if (r < 0) {
				results[i] = r;
				first = first ?: r;
			}
		}
	}
	return first;
}

/*
 * Guarded: bring the tracee from a syscall-exit stop to a
 * PTRACE_EVENT_STOP, where it was found, before it runs any instruction.
 * There its own registers can be put back safely: resumed from that stop
 * the kernel applies the syscall-restart fix-up, as it would have.
 */
static int inj_park_start(struct inj_ctx *ctx)
{
	inj_fault_step();
	if (ptrace(PTRACE_INTERRUPT, ctx->tid, NULL, NULL) < 0 ||
	    ptrace(PTRACE_CONT, ctx->tid, NULL, NULL) < 0)
		return ct_err(-errno, "pid %d: cannot stop it after injection: %m", ctx->tid);
	return 0;
}

/* The PTRACE_EVENT_STOP inj_park_start() asked for. */
static int inj_park_wait(struct inj_ctx *ctx)
{
	int status;

	for (;;) {
		if (waitpid(ctx->tid, &status, __WALL) < 0)
			return ct_err(-errno, "pid %d: cannot wait for its stop: %m", ctx->tid);
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return ct_err(-ESRCH, "pid %d: exited after injection", ctx->tid);
		if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		if (ptrace(PTRACE_CONT, ctx->tid, NULL, NULL) < 0)
			return ct_err(-errno, "pid %d: cannot resume it to its stop: %m", ctx->tid);
	}
}

/* Guarded and parked: the mask, then the registers. */
static int inj_end_parked(struct inj_ctx *ctx)
{
	inj_fault_step();
	if (ptrace(PTRACE_SETSIGMASK, ctx->tid, sizeof(uint64_t), &ctx->saved_sigmask) < 0)
		return ct_err(-errno, "pid %d: cannot restore signal mask: %m", ctx->tid);
	inj_fault_step();
	if (ptrace(PTRACE_SETREGS, ctx->tid, NULL, &ctx->saved_regs) < 0)
		return ct_err(-errno, "pid %d: cannot restore registers: %m", ctx->tid);
	ctx->options = 0;
	return inj_set_options(ctx, 0);
}

/* Guarded: park, then the mask (the frame holds it too), then the registers. */
static int inj_end_guarded(struct inj_ctx *ctx)
{
	int ret = inj_park_start(ctx) ?: inj_park_wait(ctx);

	if (ret)
		return ret;
	return inj_end_parked(ctx);
}

int inj_end_start(struct inj_ctx *ctx)
{
	int ret;

	if (!ctx->active || !ctx->frame)
		return 0;
	ret = inj_park_start(ctx);
	if (ret)
		ctx->active = false;
	return ret;
}

int inj_end_finish(struct inj_ctx *ctx)
{
	int ret;

	if (!ctx->active || !ctx->frame)
		return inj_end(ctx);
	ctx->active = false;
	ret = inj_park_wait(ctx);
	return ret ?: inj_end_parked(ctx);
}

/* Put back what inj_begin() saved. */
int inj_end(struct inj_ctx *ctx)
{
	int ret = 0;

	if (!ctx->active)
		return 0;
	if (ctx->frame) {
		ctx->active = false;
		return inj_end_guarded(ctx);
	}
	if (ptrace(PTRACE_SETREGS, ctx->tid, NULL, &ctx->saved_regs) < 0)
		ret = ct_err(-errno, "pid %d: cannot restore registers: %m", ctx->tid);
	if (ptrace(PTRACE_SETSIGMASK, ctx->tid, sizeof(uint64_t), &ctx->saved_sigmask) < 0 && !ret)
		ret = ct_err(-errno, "pid %d: cannot restore signal mask: %m", ctx->tid);
	ctx->active = false;
	return ret;
}

/*
 * Ptrace requests are answered only to the tracer thread, so a task passes
 * from one of our threads to another by detaching and seizing again.  In
 * between it must not run anything of its own: it waits in pause() (every
 * signal blocked since inj_begin(), so only SIGKILL ends it) until the new
 * tracer interrupts it.  Nothing of the call survives: the next injected
 * call sets every register again, with orig_rax -1 (no restart).
 */
int inj_handover(struct inj_ctx *ctx)
{
	static const unsigned long none[6];
	struct user_regs_struct regs = ctx->saved_regs;

	if (!ctx->active || ctx->frame)
		return ct_err(-EINVAL, "pid %d: only an unguarded injection is handed over", ctx->tid);
	inj_arch_set_call(&regs, ctx->syscall_ip, 0, __NR_pause, none);
	if (ptrace(PTRACE_SETREGS, ctx->tid, NULL, &regs) < 0)
		return ct_err(-errno, "pid %d: cannot set registers: %m", ctx->tid);
	if (ptrace(PTRACE_DETACH, ctx->tid, NULL, NULL) < 0)
		return ct_err(-errno, "pid %d: cannot hand it over (detach): %m", ctx->tid);
	return 0;
}

int inj_adopt(struct inj_ctx *ctx, long options)
{
	int status;

	if (ptrace(PTRACE_SEIZE, ctx->tid, NULL, (void *)options) < 0)
		return ct_err(-errno, "pid %d: cannot take it over (seize): %m", ctx->tid);
	if (ptrace(PTRACE_INTERRUPT, ctx->tid, NULL, NULL) < 0)
		return ct_err(-errno, "pid %d: cannot interrupt: %m", ctx->tid);
	for (;;) {
		if (waitpid(ctx->tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return ct_err(-errno, "pid %d: cannot wait for it to stop: %m", ctx->tid);
		}
		if (!WIFSTOPPED(status))
			return ct_err(-ESRCH, "pid %d: died while handed over", ctx->tid);
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* only an unblockable signal gets here: let it through, the interrupt still comes */
		if (ptrace(PTRACE_CONT, ctx->tid, NULL, (void *)(long)WSTOPSIG(status)) < 0)
			return ct_err(-errno, "pid %d: cannot continue to the stop: %m", ctx->tid);
	}
}

/* Read tracee memory through /proc/PID/mem (no COW breaking, any protection). */
int inj_read_mem(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = pread_all(fd, buf, len, (off_t)addr);
	close(fd);
	return ret;
}

int inj_read_mem_quick(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	return inj_read_mem(pid, addr, buf, len);
}

/* Write tracee memory through /proc/PID/mem (works on read-only mappings). */
int inj_write_mem(pid_t pid, unsigned long addr, const void *buf, size_t len)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = pwrite_all(fd, buf, len, (off_t)addr);
	close(fd);
	return ret;
}

/* mmap anonymous scratch memory inside the tracee. */
int inj_map_scratch(struct inj_ctx *ctx, size_t len, unsigned long *addr)
{
	long ret = inj_syscall(ctx, __NR_mmap, 0, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (ret < 0 && ret > -4096)
		return ct_err((int)ret, "pid %d: cannot map scratch memory: %s", ctx->tid,
			      strerror((int)-ret));
	*addr = (unsigned long)ret;
	return 0;
}

/* munmap scratch memory inside the tracee. */
int inj_unmap_scratch(struct inj_ctx *ctx, unsigned long addr, size_t len)
{
	long ret = inj_syscall(ctx, __NR_munmap, addr, len, 0, 0, 0, 0);

	return ret < 0 ? (int)ret : 0;
}
