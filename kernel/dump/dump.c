// SPDX-License-Identifier: MIT
/*
 * dump_container(): checkpoint a running container into its swap area
 * (doc/DESIGN.md "Dump").
 *
 *   lock -> freeze + seize every thread -> thaw (tasks stay in ptrace-stops)
 *   -> tree -> per process: mappings, mm, present pages, then (by injected
 *      system calls) brk, resources and per-thread state
 *   -> push pages -> commit the swap generation -> write ckpt-GEN.meta
 *   -> kill the container, or (--leave-running) detach and let it go on.
 *
 * A snapshot dump (--leave-running, the default there) also injects a fork
 * into every process while it is stopped (snapshot.h), copies at once what
 * a fork does not snapshot (shared memory, MADV_DONTFORK/WIPEONFORK), lets
 * the container go on, and then finds and pushes the other pages from the
 * snapshot children, which it kills at the end.
 *
 * A blob only ever names a committed generation: the swap commit comes
 * first.  Every failure goes through one exit path that aborts the
 * generation, ends injections, detaches every thread and thaws the cgroup.
 */
#define LOG_PREFIX "dump: "
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/container.h"
#include "container/lock.h"
#include "container/store.h"
#include "dump/dump.h"
#include "freezer/cgroup.h"
#include "inject/inject.h"
#include "image/blob.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mm/lazy.h"
#include "mm/shm.h"
#include "mm/swaparea.h"
#include "task/mounts.h"
#include "task/task.h"

#define DUMP_FREEZE_TIMEOUT_MS 5000
#define DUMP_KILL_TIMEOUT_MS 5000
#define DUMP_SCRATCH_LEN (4 * PAGE_SIZE)
#define DUMP_BATCH_CODE_LEN PAGE_SIZE	/* the batch routine's page (inj_batch_place) */
#define DUMP_BATCH_LEN (8 * PAGE_SIZE)	/* a table of 256 calls and 16 KiB of data (inject.h) */
/* scratch, then the routine, then the table: one mapping */
#define DUMP_INJ_LEN (DUMP_SCRATCH_LEN + DUMP_BATCH_CODE_LEN + DUMP_BATCH_LEN)
#define DUMP_PROGRESS_MS 100

/*
 * Test hooks at @step (lib/fault.h): "dump-stop:@step" stops this process
 * there, so that a test can kill -9 the dump at exactly that point;
 * "dump:@step" fails it with -EIO.
 */
int dump_fault(const char *step)
{
	fault_stop("dump-stop", step);
	return fault_fail("dump", step);
}

/* The signals that mean "stop the dump". */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

/* True if the process ignores @sig (SIG_IGN). */
static bool signal_is_ignored(int sig)
{
	struct sigaction sa;

	return sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

/* Fail with -EINTR if the user asked us to stop (the signal is consumed). */
int dump_check_interrupt(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaddset(&set, stop_signals[i]);
	/*
	 * A blocked signal is queued even when its action is SIG_IGN, so one the
	 * caller chose to ignore (ctswap-periodic does) is consumed, not obeyed.
	 */
	while ((sig = sigtimedwait(&set, NULL, &zero)) > 0)
		if (!signal_is_ignored(sig))
			return ct_err(-EINTR, "dump interrupted by %s", strsignal(sig));
	return 0;
}

/* Report progress to the caller now and then (always when @force). */
static void dump_progress(struct dump_ctx *d, uint64_t done, bool force)
{
	struct ctswap_progress p;
	double now = now_ms();

	if (!d->opts || !d->opts->progress)
		return;
	if (!force && now - d->last_progress < DUMP_PROGRESS_MS)
		return;
	d->last_progress = now;
	p.tasks = d->img ? d->img->nr_tasks : 0;
	p.pages_done = done;
	p.pages_total = d->pages_total;
	p.elapsed_ms = now - d->t0;
	d->opts->progress(&p, d->opts->progress_arg);
}

/* After each batch of pages: progress, and stop if interrupted. */
static int dump_batch_done(struct dump_pages *dp, void *arg)
{
	struct dump_ctx *d = arg;

	dump_progress(d, dp->pages_done, false);
	return dump_check_interrupt();
}

/* brk(0) by injection (in the process's reads): the one mm field /proc does not show. */
static int dump_brk(struct task_ctx *tc, struct ct_task *t)
{
	long r = dump_read_take(tc, &tc->reads->brk, 0, NULL);

	if (r < 0 && r > -4096)
		return ct_err((int)r, "pid %d: brk(0) failed: %s", t->pid, strerror((int)-r));
	t->mm.brk = (uint64_t)r;
	return 0;
}

/*
 * Begin injecting into @tid.  Guarded (inject/guard.c) where its text and
 * stack allow: if we die now (kill -9, OOM) it returns to its own state by
 * itself and runs on.  Otherwise its registers would not be its own when
 * the kernel resumed it, so PTRACE_O_EXITKILL makes the kernel kill it
 * instead, and the lock file's phase note lets the next command say so
 * (container/recover.c).
 */
static int dump_inj_begin(struct dump_ctx *d, struct inj_ctx *inj, pid_t tid,
			  const struct inj_text *it)
{
	int ret = inj_begin_guarded(inj, tid, it);

	if (ret != -ENOTSUP)
		return ret;
	pr_warn("pid %d: cannot guard the injection (no restorer or stack room): it is killed if the dump dies now",
		tid);
	ct_lock_phase(d->lock_fd, "inject", tid);
	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)(PTRACE_O_EXITKILL | it->extra_options)) < 0)
		return ct_err(-errno, "pid %d: cannot set ptrace options: %m", tid);
	ret = inj_begin(inj, tid, it->syscall_ip);
	inj->options = PTRACE_O_EXITKILL | it->extra_options;	/* kept by inj_trace_clones() */
	return ret;
}

/*
 * After an unguarded injection @tid sits in the SIGTRAP signal-delivery-stop
 * of its last single step.  Were we killed now, the kernel would resume it
 * with that SIGTRAP and kill it (seen: exit status 5).  Move it to a plain
 * PTRACE_EVENT_STOP instead: interrupt, resume without the signal, and wait
 * for the stop, which comes before it runs any instruction of its own.
 */
static int dump_park_thread(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 || ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
		return ct_err(-errno, "pid %d: cannot stop it again after injection: %m", tid);
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0)
			return ct_err(-errno, "pid %d: cannot wait for its stop: %m", tid);
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return ct_err(-ESRCH, "pid %d: exited after injection", tid);
		if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* not expected (the trap comes before any signal): pass a signal on */
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)(status >> 16 ? 0 : WSTOPSIG(status))) < 0)
			return ct_err(-errno, "pid %d: cannot resume it to its stop: %m", tid);
	}
}

/* End the injection begun by dump_inj_begin(), leaving @inj's task as it was found. */
static int dump_inj_end(struct dump_ctx *d, struct inj_ctx *inj)
{
	bool guarded = inj->frame != 0;
	int ret = inj_end(inj);

	if (guarded)
		return ret;
	ret = ret ?: dump_park_thread(inj->tid);
	/* on failure keep EXITKILL: registers may not be the task's own */
	if (ret)
		return ret;
	if (ptrace(PTRACE_SETOPTIONS, inj->tid, NULL, NULL) < 0)
		return ct_err(-errno, "pid %d: cannot set ptrace options: %m", inj->tid);
	ct_lock_phase(d->lock_fd, NULL, 0);
	return 0;
}

/* Per-thread state of @th (registers, and its resources) with injection on it. */
static int dump_one_thread(struct task_ctx *tc, struct ct_thread *th)
{
	int ret;

	ret = dump_thread_regs(tc, th);
	if (!ret)
		ret = dump_thread_signals(tc, th);
	if (!ret)
		ret = dump_thread_misc(tc, th);
	return ret;
}

/* The non-leader threads of @t, each under its own injection. */
static int dump_other_threads(struct dump_ctx *d, struct task_ctx *ptc, struct ct_task *t,
			      const struct inj_text *it)
{
	for (uint32_t i = 1; i < t->nr_threads; i++) {
		struct ct_thread *th = &t->threads[i];
		struct task_ctx tc = *ptc;
		struct inj_ctx inj;
		int ret, ret2;

		tc.reads = NULL;	/* the process's reads were its leader's: inject for this one */
		ret = dump_inj_begin(d, &inj, th->host_tid, it);
		if (ret)
			return ret;
		tc.inj = &inj;
		ret = dump_one_thread(&tc, th);
		ret2 = dump_inj_end(d, &inj);
		if (ret || ret2)
			return ret ?: ret2;
	}
	return 0;
}

/*
 * Queue everything of the process and its leader thread that only injected
 * calls read, from each module, to run as one batch (task.h: dump_reads).
 */
static int dump_prefetch_queue(struct task_ctx *tc)
{
	inj_batch_reset(tc->batch);
	return dump_read_add(tc, &tc->reads->brk, __NR_brk, 0, 0, 0, 0) ?:
	       dump_task_signals_queue(tc) ?: dump_task_creds_queue(tc) ?: dump_task_misc_queue(tc) ?:
	       dump_thread_signals_queue(tc) ?: dump_thread_misc_queue(tc);
}

/* The process-wide resources of task.h. */
static int dump_task_resources(struct dump_ctx *d, struct task_ctx *tc, struct ct_task *t)
{
	int ret = dump_brk(tc, t);

	if (!ret)
		ret = dump_task_files(tc, d->img, t);
	if (!ret)
		ret = dump_task_signals(tc, t);
	if (!ret)
		ret = dump_task_creds(tc, t);
	if (!ret)
		ret = dump_task_misc(tc, t);
	return ret;
}

/*
 * After the fork of the snapshot child of task @idx (its failure @ret): if
 * the fork itself failed (a pids limit, no memory), find the rest of its
 * pages now: they are copied while it is stopped, as in a plain dump.
 */
static int dump_snapshot_task(struct dump_ctx *d, uint32_t idx, int ret)
{
	struct ct_task *t = &d->img->tasks[idx];
	uint64_t pages;

	if (ret == -EAGAIN || ret == -ENOMEM) {
		ct_err_clear();		/* not the dump's failure */
		pr_warn("pid %d: snapshot fork failed (%s): its pages are copied while stopped",
			t->pid, strerror(-ret));
		ret = dump_find_pages_sel(&d->tp[idx], t->host_pid, DUMP_PAGES_SNAPSHOT, &pages);
		d->pages_total += pages;
		return ret;
	}
	return ret ?: dump_fault("fork");
}

/* task_ctx.shm_key: a memfd held by an fd joins the shared memory objects. */
static int dump_shm_key(void *arg, pid_t pid, const char *name, const char *open_path,
			const struct stat *st, uint32_t *key)
{
	return vma_shm_object(arg, pid, name, open_path, st, key);
}

/* True if @pid has no locked memory at all ("VmLck: 0 kB"), the scratch mapping included. */
static bool dump_locks_nothing(pid_t pid)
{
	char path[64], *text, *p;
	bool none;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_whole_file(path, &text, NULL))
		return false;
	p = strstr(text, "\nVmLck:");
	none = p && strtoull(p + 7, NULL, 10) == 0;
	free(text);
	return none;
}

/*
 * mlockall(MCL_FUTURE) shows nowhere in /proc but in what it does: the
 * scratch mapping we just made is locked ("lo"), and "lf" with MCL_ONFAULT.
 * Nothing locked at all (the usual case) says as much without reading
 * smaps a second time.
 */
static int dump_mlockall(struct ct_task *t, unsigned long scratch)
{
	uint32_t madv;
	int ret;

	if (dump_locks_nothing(t->host_pid))
		return 0;
	ret = vma_flags_at(t->host_pid, scratch, &madv);
	if (ret || !(madv & CT_MADV_LOCKED))
		return ret;
	t->mm.mlockall = MCL_FUTURE | (madv & CT_MADV_LOCKONFAULT ? MCL_ONFAULT : 0);
	pr_info("pid %d: mlockall(MCL_FUTURE%s) in force", t->pid,
		t->mm.mlockall & MCL_ONFAULT ? " | MCL_ONFAULT" : "");
	return 0;
}

/*
 * A task context carrying the dump's choices for files (TCP, unix peers
 * outside) and its table of shared memory objects (memfds held by fds).
 */
static struct task_ctx dump_policy(struct dump_ctx *d)
{
	struct task_ctx tc = { .tcp_mode = d->opts ? d->opts->tcp : 0,
			       .unix_close = d->opts && d->opts->unix_close, .tcp_repair = &d->tcp_repair,
			       .orphan_pts = d->opts && d->opts->orphan_pts,
			       .max_checked_size = d->opts ? d->opts->max_checked_size : 0,
			       .shm_key = dump_shm_key, .shm_arg = &d->shm,
			       .holders = &d->fd_holders };

	return tc;
}

/*
 * Processes are collected in waves: each step that injects (map the
 * scratch memory, place the batch routine, run the reads, unmap, park) is
 * started in every process of the wave before any is waited for, so that
 * their round trips overlap: a wave of 100 processes costs a few round
 * trips, not a few hundred.  The steps that only read /proc go one process
 * after another, in the image's order, as before.
 */
#define DUMP_LOCKS_WARM_MS 100	/* how long the freeze waits for /proc/locks to be warm */
#define DUMP_WAVE_MAX 128	/* processes collected side by side, at most */

/* One process of a wave: its injection and what is mapped in it. */
struct dump_proc {
	uint32_t idx;			/* into d->img->tasks */
	struct inj_text it;
	struct inj_ctx inj;
	struct inj_batch batch;
	struct dump_reads reads;
	unsigned long scratch;		/* the scratch mapping, 0 when not mapped */
	char *status;			/* its /proc status read ahead (task_ctx.status), NULL none */
	struct task_ctx tc;		/* points into this struct: set up once it stays put */
};

/* The text injection uses in task @t (inject.h), found in the mappings read already. */
static int dump_find_text(const struct ct_task *t, struct inj_text *it)
{
	struct inj_map *maps = xzalloc(sizeof(*maps) * (t->mm.nr_vmas + 1));
	int ret;

	if (!maps)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->mm.nr_vmas; i++) {
		const struct ct_vma *v = &t->mm.vmas[i];

		maps[i] = (struct inj_map){
			.start = v->start, .end = v->end, .pgoff = v->pgoff, .path = v->path,
			.exec_file = v->kind == CT_VMA_FILE_PRIVATE && v->prot == (PROT_READ | PROT_EXEC),
		};
		if (v->kind == CT_VMA_FILE_PRIVATE) {
			maps[i].ino = v->file.ino;
			maps[i].maj = major(v->file.dev);
			maps[i].min = minor(v->file.dev);
		}
	}
	ret = inj_find_text_in(t->host_pid, maps, t->mm.nr_vmas, it);
	free(maps);
	return ret;
}

/*
 * What /proc shows of one process (mappings, mm, present pages, seccomp,
 * the text injection uses); mappings are read before any scratch memory
 * is mapped, so the scratch never enters the image.
 */
static int dump_proc_read(struct dump_ctx *d, struct dump_ahead *ahead, uint32_t idx,
			  struct dump_proc *p)
{
	struct ct_task *t = &d->img->tasks[idx];
	struct dump_task_pages *tp = &d->tp[idx];
	char *smaps = dump_ahead_smaps(ahead, idx);
	uint64_t pages;
	int ret;

	memset(p, 0, sizeof(*p));
	p->idx = idx;
	p->status = dump_ahead_status(ahead, idx);
	pr_info("pid %d (host %d, %s): %u threads", t->pid, t->host_pid, t->comm, t->nr_threads);
	ret = smaps ? vma_collect_text(t->host_pid, smaps, &d->shm, &t->mm) :
		      vma_collect(t->host_pid, &d->shm, &t->mm);
	if (!ret && !dump_ahead_mm(ahead, idx, &t->mm))
		ret = mm_collect(t->host_pid, &t->mm);
	ret = ret ?:
	      map_change_dump(t->host_pid, &t->mm, d->opts ? d->opts->max_checked_size : 0, d->map_seen);
	if (ret)
		return ret;
	tp->host_pid = t->host_pid;
	tp->task = t;
	/* a snapshot dump scans the rest in the snapshot child, after the thaw */
	ret = dump_find_pages_sel(tp, t->host_pid, d->snapshot ? DUMP_PAGES_FROZEN : DUMP_PAGES_ALL,
				  &pages);
	if (ret)
		return ret;
	d->pages_total += pages;
	pr_info("pid %d: %u mappings, %llu pages present", t->pid, t->mm.nr_vmas,
		(unsigned long long)pages);

	ret = dump_task_seccomp(d->img, t) ?: dump_find_text(t, &p->it);
	if (ret)
		return ret;
	/* our injected calls must not meet its filters */
	p->it.extra_options = seccomp_task_filtered(t) ? PTRACE_O_SUSPEND_SECCOMP : 0;
	return 0;
}

/* The injection contexts of the @n processes of @ps (an array the caller frees). */
static struct inj_ctx **dump_wave_ctxs(struct dump_proc *ps, size_t n)
{
	struct inj_ctx **ctxs = xmalloc(sizeof(*ctxs) * n);

	for (size_t i = 0; ctxs && i < n; i++)
		ctxs[i] = &ps[i].inj;
	return ctxs;
}

/*
 * Map the scratch memory and the batch of every process of the wave in
 * one mapping each (one mmap, one munmap); the routine's page is mapped
 * over it read and execute.
 */
static int dump_wave_map(struct dump_proc *ps, size_t n)
{
	static const unsigned long mmap_args[6] = { 0, DUMP_INJ_LEN, PROT_READ | PROT_WRITE,
						    MAP_PRIVATE | MAP_ANONYMOUS, (unsigned long)-1, 0 };
	struct inj_ctx **ctxs = dump_wave_ctxs(ps, n);
	unsigned long (*args)[6] = xmalloc(sizeof(*args) * n), *codes = xmalloc(sizeof(*codes) * n);
	long *results = xmalloc(sizeof(*results) * n);
	int ret = ctxs && args && codes && results ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !ret; i++)
		memcpy(args[i], mmap_args, sizeof(mmap_args));
	ret = ret ?: inj_syscall_wave(ctxs, n, __NR_mmap, (const unsigned long (*)[6])args, results);
	for (size_t i = 0; i < n && !ret; i++) {
		if (results[i] < 0 && results[i] > -4096)
			ret = ct_err((int)results[i], "pid %d: cannot map scratch memory: %s",
				     ps[i].inj.tid, strerror((int)-results[i]));
		else
			ps[i].scratch = (unsigned long)results[i];
		codes[i] = ps[i].scratch + DUMP_SCRATCH_LEN;
	}
	ret = ret ?: inj_batch_place_wave(ctxs, n, codes);
	for (size_t i = 0; i < n && !ret; i++)
		ret = inj_batch_init(&ps[i].batch, codes[i], codes[i] + DUMP_BATCH_CODE_LEN,
				     DUMP_BATCH_LEN);
	free(ctxs);
	free(args);
	free(codes);
	free(results);
	return ret;
}

/* Set up the task context of each process, and run the reads of every one at once. */
static int dump_wave_reads(struct dump_ctx *d, struct dump_proc *ps, size_t n)
{
	size_t started = 0;
	int ret = 0, ret2;

	for (size_t i = 0; i < n; i++) {
		struct dump_proc *p = &ps[i];

		p->tc = dump_policy(d);
		p->tc.host_pid = d->img->tasks[p->idx].host_pid;
		p->tc.inj = &p->inj;
		p->tc.scratch = p->scratch;
		p->tc.scratch_len = DUMP_SCRATCH_LEN;
		p->tc.batch = &p->batch;
		p->tc.reads = &p->reads;
		p->tc.status = p->status;
	}
	for (; started < n && !ret; started++) {
		struct dump_proc *p = &ps[started];

		ret = dump_fault("inject") ?: dump_mlockall(&d->img->tasks[p->idx], p->scratch) ?:
		      dump_prefetch_queue(&p->tc);
		if (ret)
			break;
		dump_reads_start(&p->tc);
	}
	inj_count_sequence();
	/* every started one is waited for, whatever happened to the others */
	for (size_t i = 0; i < started; i++) {
		ret2 = dump_reads_finish(&ps[i].tc);
		ret = ret ?: ret2;
	}
	return ret;
}

/* The resources and threads of each process, one after another, in the image's order. */
static int dump_wave_resources(struct dump_ctx *d, struct dump_proc *ps, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		struct dump_proc *p = &ps[i];
		struct ct_task *t = &d->img->tasks[p->idx];

		ret = dump_task_resources(d, &p->tc, t) ?: dump_one_thread(&p->tc, &t->threads[0]) ?:
		      dump_other_threads(d, &p->tc, t, &p->it) ?: dump_check_interrupt();
		d->stats->threads += t->nr_threads;
	}
	return ret;
}

/* Unmap the scratch memory of the processes of the wave that have it, all at once. */
static int dump_wave_unmap_all(struct dump_ctx *d, struct dump_proc *ps, size_t n)
{
	struct inj_ctx **ctxs = xmalloc(sizeof(*ctxs) * n);
	unsigned long (*args)[6] = xzalloc(sizeof(*args) * n);
	long *results = xmalloc(sizeof(*results) * n);
	size_t nr = 0;
	int ret = ctxs && args && results ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !ret; i++) {
		if (!ps[i].scratch)
			continue;
		ctxs[nr] = &ps[i].inj;
		args[nr][0] = ps[i].scratch;
		args[nr][1] = DUMP_INJ_LEN;
		nr++;
	}
	ret = ret ?: inj_syscall_wave(ctxs, nr, __NR_munmap, (const unsigned long (*)[6])args, results);
	for (size_t i = 0, k = 0; i < n && !ret; i++) {
		if (!ps[i].scratch)
			continue;
		if (results[k++])
			ret = ct_err((int)results[k - 1], "pid %d: cannot unmap scratch memory",
				     d->img->tasks[ps[i].idx].pid);
		else
			ps[i].scratch = 0;
	}
	free(ctxs);
	free(args);
	free(results);
	return ret;
}

/*
 * Unmap the scratch memory of every process of the wave that has it and
 * free the batches; what the wave could not unmap is tried once more alone.
 */
static int dump_wave_unmap(struct dump_ctx *d, struct dump_proc *ps, size_t n)
{
	int ret = dump_wave_unmap_all(d, ps, n);

	for (size_t i = 0; i < n; i++) {
		dump_reads_free(&ps[i].reads);
		inj_batch_free(&ps[i].batch);
		if (ps[i].scratch && ps[i].inj.active && !inj_unmap_scratch(&ps[i].inj, ps[i].scratch, DUMP_INJ_LEN))
			ps[i].scratch = 0;
	}
	return ret;
}

/* Fork the snapshot child of every process of the wave at once. */
static int dump_wave_snapshots(struct dump_ctx *d, struct dump_proc *ps, size_t n)
{
	struct inj_ctx **ctxs = dump_wave_ctxs(ps, n);
	struct snap_child *scs = xzalloc(sizeof(*scs) * n);
	int *errs = xzalloc(sizeof(*errs) * n);
	int ret = ctxs && scs && errs ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !ret; i++)
		errs[i] = dump_fault("fork-fails") ? -EAGAIN : 0;
	ret = ret ?: snap_fork_wave(ctxs, n, scs, errs);
	/* each child is the dump's to release from here, whatever fails */
	for (size_t i = 0; scs && i < n; i++)
		d->snaps[ps[i].idx] = scs[i];
	for (size_t i = 0; i < n && !ret; i++)
		ret = dump_snapshot_task(d, ps[i].idx, errs[i]);
	free(ctxs);
	free(scs);
	free(errs);
	return ret;
}

/* End the injection of every process of the wave: the guarded ones park all at once. */
static int dump_wave_end(struct dump_ctx *d, struct dump_proc *ps, size_t n)
{
	int ret = 0, ret2;

	for (size_t i = 0; i < n; i++) {
		if (!ps[i].inj.frame)
			continue;
		ret2 = inj_end_start(&ps[i].inj);
		ret = ret ?: ret2;
	}
	for (size_t i = 0; i < n; i++) {
		ret2 = ps[i].inj.frame ? inj_end_finish(&ps[i].inj) : dump_inj_end(d, &ps[i].inj);
		ret = ret ?: ret2;
		free(ps[i].status);
		ps[i].status = NULL;
	}
	return ret;
}

/*
 * Collect the @n processes of @ps, whose injections are begun, and leave
 * each as it was found (scratch unmapped, injection ended) whatever fails.
 */
static int dump_wave(struct dump_ctx *d, struct dump_proc *ps, size_t n)
{
	int ret, ret2;

	if (!n)
		return 0;
	ret = dump_wave_map(ps, n) ?: dump_wave_reads(d, ps, n) ?: dump_wave_resources(d, ps, n);
	ret2 = dump_wave_unmap(d, ps, n);
	ret = ret ?: ret2;
	/* last, so that the snapshots hold no scratch memory */
	if (!ret && d->snapshot)
		ret = dump_wave_snapshots(d, ps, n);
	ret2 = dump_wave_end(d, ps, n);
	return ret ?: ret2;
}

/*
 * Everything of every process but page contents, in waves of up to
 * DUMP_WAVE_MAX.  A process whose injection cannot be guarded is
 * collected alone: the lock file names one such process at a time
 * (dump_inj_begin()).
 */
static int dump_collect_procs(struct dump_ctx *d)
{
	uint32_t nr_tasks = d->img->nr_tasks;
	struct dump_proc *ps = xmalloc(sizeof(*ps) * min_t(uint32_t, nr_tasks, DUMP_WAVE_MAX));
	struct dump_ahead ahead;
	size_t n = 0;
	int ret = ps ? dump_ahead_start(&ahead, d->img) : -ENOMEM;

	if (!ps)
		return ret;
	for (uint32_t i = 0; i < nr_tasks && !ret; i++) {
		struct dump_proc *p = &ps[n];

		ret = dump_proc_read(d, &ahead, i, p) ?: dump_check_interrupt() ?:
		      dump_inj_begin(d, &p->inj, d->img->tasks[i].host_pid, &p->it);
		if (ret) {
			free(p->status);
			break;
		}
		n++;
		if (!p->inj.frame) {
			/* the ones before it first, in order; then it alone */
			ret = dump_wave(d, ps, n - 1);
			if (ret) {
				ps[0] = *p;
				n = 1;
				break;
			}
			ps[0] = *p;
			n = 1;
		}
		if (n == DUMP_WAVE_MAX || !ps[n - 1].inj.frame || i + 1 == nr_tasks) {
			ret = dump_wave(d, ps, n);
			n = 0;
		}
	}
	/* a failure before the wave ran: end the injections begun */
	if (ret && n)
		dump_wave_end(d, ps, n);
	dump_ahead_stop(&ahead);
	free(ps);
	return ret;
}

/* Collect the tree and every task's state. */
static int dump_collect(struct dump_ctx *d)
{
	struct task_ctx policy;
	uint64_t pages;
	int ret = dump_collect_tree(d) ?: dump_shape(d);

	if (ret)
		return ret;
	/*
	 * A snapshot child would hold the container's SysV segments attached
	 * while it runs on: its nattch would read high meanwhile.  Copy while
	 * stopped instead.
	 */
	if (d->snapshot && !d->opts->pre && shm_sysv_attached(&d->shm)) {
		pr_info("SysV segments attached: pages are copied while the container is stopped");
		d->snapshot = false;
		d->stats->snapshot = false;
	}
	d->tp = xzalloc(sizeof(*d->tp) * d->img->nr_tasks);
	if (!d->tp)
		return -ENOMEM;
	if (d->snapshot) {
		d->snaps = xzalloc(sizeof(*d->snaps) * d->img->nr_tasks);
		if (!d->snaps)
			return -ENOMEM;
	}
	ret = dump_collect_procs(d);
	if (ret)
		return ret;
	policy = dump_policy(d);
	ret = dump_files_finish(d->img, &policy) ?: pty_check_binds(d->img) ?:
	      dump_locks(d->img, &d->locks) ?:
	      dump_deleted(d->img, d->opts ? d->opts->max_deleted_size : 0);
	if (!ret && (d->img->shape.flags & CT_SHAPE_OWN_ROOT))
		ret = mounts_mark_outside(d->img, d->img->tasks[0].host_pid);
	if (ret)
		return ret;
	/* shared memory objects are stored whole, with the pages copied while stopped */
	ret = shm_check_sysv(d->img, &d->shm) ?: shm_count_pages(&d->shm, &pages);
	if (ret)
		return ret;
	d->pages_total += pages;
	d->stats->tasks = d->img->nr_tasks;
	d->stats->pages_total = d->pages_total;
	return 0;
}

/*
 * Push every task's pages of selection @sel into the generation: read from
 * the tasks themselves, or (DUMP_PAGES_SNAPSHOT) from their snapshot
 * children, whose page tables are scanned first.
 */
static int dump_push(struct dump_ctx *d, enum dump_pages_sel sel)
{
	struct dump_pages dp;
	uint64_t pages;
	int ret;

	for (uint32_t i = 0; i < d->img->nr_tasks && sel == DUMP_PAGES_SNAPSHOT; i++) {
		if (!d->snaps[i].pid)
			continue;	/* no snapshot: all copied while stopped */
		ret = dump_find_pages_sel(&d->tp[i], d->snaps[i].pid, sel, &pages);
		if (ret)
			return ret;
		d->pages_total += pages;
	}
	ret = dump_pages_init(&dp, d->w, &d->shm);
	if (ret)
		return ret;
	dp.batch_done = dump_batch_done;
	dp.arg = d;
	dp.pages_done = d->stats->pages_frozen;
	for (uint32_t i = 0; i < d->img->nr_tasks && !ret; i++) {
		pid_t from = sel == DUMP_PAGES_SNAPSHOT ? d->snaps[i].pid : d->tp[i].host_pid;
		enum dump_pages_sel s = sel;

		/* a task without a snapshot child has all its pages pushed while stopped */
		if (d->snaps && !d->snaps[i].pid)
			s = sel == DUMP_PAGES_FROZEN ? DUMP_PAGES_ALL : DUMP_PAGES_NONE;
		if (s != DUMP_PAGES_NONE)
			ret = dump_push_pages_sel(&dp, &d->tp[i], from, s);
		if (!ret && i == 0 && sel != DUMP_PAGES_FROZEN)
			ret = dump_fault("pages");
	}
	/* shared memory is not in the snapshots: stored whole while the tasks are stopped */
	if (!ret && sel != DUMP_PAGES_SNAPSHOT)
		ret = shm_dump_objects(&dp, d->img);
	dump_progress(d, dp.pages_done, true);
	if (sel == DUMP_PAGES_FROZEN)
		d->stats->pages_frozen = dp.pages_done;
	dump_pages_fini(&dp);
	return ret;
}

/*
 * Snapshot dump, once every process has its snapshot child: copy what the
 * children do not hold, let the container run, push from the children.
 */
static int dump_push_snapshot(struct dump_ctx *d)
{
	int ret = dump_push(d, DUMP_PAGES_FROZEN);

	if (ret)
		return ret;
	unseize_container(&d->ss);
	d->seized = false;
	d->stats->frozen_ms = now_ms() - d->ss.freeze_ms;
	pr_info("%s: running again after %.1f ms; pushing from the snapshots", d->name,
		d->stats->frozen_ms);
	for (uint32_t i = 0; i < d->img->nr_tasks; i++) {
		if (!d->snaps[i].pid)
			continue;
		ret = snap_isolate(d->cg, &d->snaps[i]);
		if (ret)
			return ret;
	}
	ret = dump_fault("thawed") ?: dump_push(d, DUMP_PAGES_SNAPSHOT);
	d->stats->pages_total = d->pages_total;
	return ret;
}

/* Kill and reap every snapshot child. */
static void dump_release_snapshots(struct dump_ctx *d)
{
	if (!d->snaps || !d->img)
		return;
	/* releasing injects wait4() into the parent, guarded: see snapshot.h */
	for (uint32_t i = 0; i < d->img->nr_tasks; i++)
		snap_release(&d->snaps[i]);
}

/* True if generation @gen is a pre-copy: STORE/NAME/pre-GEN exists. */
static bool dump_gen_is_pre(struct dump_ctx *d, unsigned gen)
{
	char file[64], path[4096];

	snprintf(file, sizeof(file), "pre-%u", gen);
	return !store_path(d->store, d->name, file, path, sizeof(path)) && access(path, F_OK) == 0;
}

/*
 * Generations to keep after this commit: the checkpoints asked for (--keep,
 * default two), plus every kept pre-copy and this one if it is a pre-copy,
 * so that pre-copies never push the last checkpoint out.
 */
static unsigned dump_keep(struct dump_ctx *d)
{
	unsigned gens[CTSWAP_MAX_GENS], keep = d->opts && d->opts->keep ? d->opts->keep : 2;
	size_t nr = 0;

	if (d->opts && d->opts->pre)
		keep++;
	if (swp_generations(d->sa, gens, ARRAY_SIZE(gens), &nr))
		return keep;
	for (size_t i = 0; i < nr; i++)
		keep += dump_gen_is_pre(d, gens[i]);
	return keep;
}

/* Open the swap area and begin a generation. */
static int dump_begin_generation(struct dump_ctx *d)
{
	struct swp_write_opts wo = {
		.compress = d->opts && d->opts->compress,
	};
	struct swp_identity id;
	char path[4096];
	int ret;

	memset(&id, 0, sizeof(id));
	snprintf(id.name, sizeof(id.name), "%s", d->name);
	ret = store_path(d->store, d->name, "swap", path, sizeof(path));
	if (ret)
		return ret;
	ret = swp_open(path, &id, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &d->sa);
	if (ret)
		return ret;
	wo.keep = min_t(unsigned, dump_keep(d), CTSWAP_MAX_GENS);
	return swp_gen_begin(d->sa, &wo, &d->w);
}

/*
 * Remove the blobs and pre-copy markers of generations the swap area no
 * longer keeps (best effort).
 */
static void dump_prune_blobs(struct dump_ctx *d)
{
	unsigned gens[CTSWAP_MAX_GENS], g;
	char dir[4096], path[4400], tail[8];
	struct dirent *de;
	size_t nr = 0;
	DIR *dh;

	if (swp_generations(d->sa, gens, ARRAY_SIZE(gens), &nr) || !nr)
		return;
	if (store_path(d->store, d->name, NULL, dir, sizeof(dir)))
		return;
	dh = opendir(dir);
	if (!dh)
		return;
	while ((de = readdir(dh))) {
		if (!(sscanf(de->d_name, "ckpt-%u%7s", &g, tail) == 2 && !strcmp(tail, ".meta")) &&
		    !(sscanf(de->d_name, "pre-%u%1s", &g, tail) == 1))
			continue;
		if (g >= gens[0])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			pr_info("removed %s (generation no longer kept)", path);
	}
	closedir(dh);
}

/* Mark the committed generation as a pre-copy: STORE/NAME/pre-GEN, and no blob. */
static int dump_mark_pre(struct dump_ctx *d, unsigned gen)
{
	char file[64], path[4096], text[64];
	int ret;

	snprintf(file, sizeof(file), "pre-%u", gen);
	ret = store_path(d->store, d->name, file, path, sizeof(path));
	if (ret)
		return ret;
	snprintf(text, sizeof(text), "pre-copy generation %u\n", gen);
	ret = write_file_atomic(path, text, strlen(text), 0600);
	if (ret)
		return ct_err(ret, "%s: cannot write: %s", path, strerror(-ret));
	d->stats->pre = true;
	dump_prune_blobs(d);
	return 0;
}

/* The thread of struct dump_blob. */
static void *dump_blob_run(void *arg)
{
	struct dump_blob *b = arg;

	b->ret = blob_encode(b->img, &b->buf, &b->len);
	return NULL;
}

/*
 * Encode the blob on a thread while the pages are pushed and committed,
 * if it is written right after the commit (no snapshot, no pre-copy) and
 * nothing the push does goes into it (shared memory objects are recorded
 * as they are pushed: then it starts after them).  Without the thread it
 * is encoded after the commit, as it was.
 */
static void dump_blob_start(struct dump_ctx *d)
{
	struct dump_blob *b = &d->blob;

	if (d->snapshot || (d->opts && d->opts->pre) || b->running || b->buf)
		return;
	b->img = d->img;
	b->gen = swp_current_gen(d->sa) + 1;	/* the generation begun: checked at the commit */
	d->img->generation = b->gen;
	b->running = pthread_create(&b->thread, NULL, dump_blob_run, b) == 0;
}

/* Wait for the encoding thread, if any: afterwards the image is ours again. */
static void dump_blob_join(struct dump_blob *b)
{
	if (!b->running)
		return;
	pthread_join(b->thread, NULL);
	b->running = false;
	if (b->ret) {
		free(b->buf);
		b->buf = NULL;
	}
}

/* Write the blob of generation @gen to @path: the one encoded ahead if it names @gen. */
static int dump_blob_write(struct dump_ctx *d, unsigned gen, const char *path, uint64_t *bytes)
{
	struct dump_blob *b = &d->blob;
	int ret;

	if (!b->buf || b->gen != gen)
		return blob_write(path, d->img, bytes);
	ret = write_file_atomic(path, b->buf, b->len, 0600);
	if (ret)
		return ct_err(ret, "%s: cannot write checkpoint: %s", path, strerror(-ret));
	*bytes = b->len;
	return 0;
}

/* Commit the generation, then write the blob naming it. */
static int dump_commit(struct dump_ctx *d)
{
	struct swp_gen_stats st;
	char file[64], path[4096];
	uint64_t bytes = 0;
	unsigned gen;
	int ret;

	ret = dump_fault("commit");
	if (ret)
		return ret;
	ret = swp_gen_commit(d->w, &gen, &st);
	d->w = NULL;		/* freed either way */
	if (ret)
		return ret;
	dump_blob_join(&d->blob);
	d->img->generation = gen;
	d->stats->generation = gen;
	d->stats->pages_written = st.written;
	d->stats->pages_zero = st.zero;
	d->stats->pages_shared = st.dup;
	d->stats->bytes_written = st.bytes_written;
	pr_info("generation %u: %llu pages, %llu written, %llu zero, %llu shared, %llu unchanged",
		gen, (unsigned long long)st.pages, (unsigned long long)st.written,
		(unsigned long long)st.zero, (unsigned long long)st.dup,
		(unsigned long long)st.unchanged);

	if (d->opts && d->opts->pre)
		return dump_mark_pre(d, gen);
	ret = dump_fault("blob");
	if (ret)
		return ret;
	snprintf(file, sizeof(file), "ckpt-%u.meta", gen);
	ret = store_path(d->store, d->name, file, path, sizeof(path));
	if (ret)
		return ret;
	ret = dump_blob_write(d, gen, path, &bytes);
	if (ret)
		return ret;
	d->stats->meta_bytes = bytes;
	d->stats->bytes_written += bytes;
	pr_info("wrote %s (%llu bytes)", path, (unsigned long long)bytes);
	dump_prune_blobs(d);
	return 0;
}

/* Reap the killed threads we traced, so their parents see them exit. */
static void dump_reap_killed(struct dump_ctx *d)
{
	double deadline = now_ms() + DUMP_KILL_TIMEOUT_MS;
	size_t left = d->ss.nr;

	/* Round robin: a group leader is reported only after its other threads. */
	while (left && now_ms() < deadline) {
		left = 0;
		for (size_t i = 0; i < d->ss.nr; i++) {
			struct seized_thread *th = &d->ss.threads[i];
			int status;
			pid_t p;

			if (th->gone)
				continue;
			p = waitpid(th->tid, &status, __WALL | WNOHANG);
			if ((p < 0 && errno != EINTR) ||
			    (p == th->tid && (WIFEXITED(status) || WIFSIGNALED(status))))
				th->gone = true;
			else
				left++;
		}
		if (left)
			usleep(200);
	}
	if (left)
		pr_warn("%s: %zu killed threads not reaped", d->name, left);
}

/* The dump is committed: kill the container, or let it run on. */
static int dump_finish(struct dump_ctx *d)
{
	double t_kill;
	int ret = 0;

	/* the caller's last word (a runtime's post-dump): a refusal resumes the container */
	if (d->opts && d->opts->committed) {
		ret = d->opts->committed(d->opts->committed_arg);
		if (ret)
			return ret < 0 ? ret : -ECANCELED;
	}

	if (d->opts && (d->opts->leave_running || d->opts->pre)) {
		if (d->seized) {
			unseize_container(&d->ss);
			d->seized = false;
			d->stats->frozen_ms = now_ms() - d->ss.freeze_ms;
		}
		dump_release_snapshots(d);
		tcp_repair_end(&d->tcp_repair, true);
		pr_info("%s: left running", d->name);
		return 0;
	}
	/*
	 * The checkpoint is durable: the frozen window ends here.  What follows
	 * only takes down a container that will never run again as it is.
	 */
	t_kill = now_ms();
	d->stats->frozen_ms = t_kill - d->ss.freeze_ms;
	ret = cg_kill(d->cg, DUMP_KILL_TIMEOUT_MS);
	/* dead or not, the old sockets need the repair mode no more */
	tcp_repair_end(&d->tcp_repair, ret != 0);
	if (ret) {
		/* Could not kill: do not leave it traced either. */
		unseize_container(&d->ss);
		d->seized = false;
		return ret;
	}
	dump_reap_killed(d);
	seize_forget(&d->ss);
	d->seized = false;
	ct_wait_supervisor(d->store, d->name);
	pr_info("%s: killed in %.1f ms", d->name, now_ms() - t_kill);
	return 0;
}

/* Block the signals that mean "stop": dump_check_interrupt() polls for them. */
static void dump_block_signals(struct dump_ctx *d)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaddset(&set, stop_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, &d->old_mask);
}

/* Undo everything a failed dump did; the previous generation stays as it was. */
static void dump_undo(struct dump_ctx *d)
{
	tcp_repair_end(&d->tcp_repair, true);
	if (d->w) {
		swp_gen_abort(d->w);
		d->w = NULL;
	}
	if (d->seized) {
		unseize_container(&d->ss);
		d->seized = false;
	}
	/* after the unseize: releasing a child stops its parent for a moment */
	dump_release_snapshots(d);
}

/* Free what the context holds. */
static void dump_release(struct dump_ctx *d)
{
	if (d->tp && d->img)
		for (uint32_t i = 0; i < d->img->nr_tasks; i++)
			if (d->tp[i].task)
				dump_task_pages_free(&d->tp[i]);
	dump_blob_join(&d->blob);
	free(d->blob.buf);
	free(d->tp);
	free(d->snaps);
	vma_shm_table_free(&d->shm);
	change_cache_free(d->map_seen);
	fd_holders_free(&d->fd_holders);
	lock_table_free(&d->locks);
	image_free(d->img);
	if (d->sa)
		swp_close(d->sa);
	if (d->cg)
		cg_close(d->cg);
	ct_unlock(d->lock_fd);
	pthread_sigmask(SIG_SETMASK, &d->old_mask, NULL);
}

/*
 * Before the freeze: checksum the files the processes map (task/changed.c:
 * map_change_prehash()), so that the frozen dump finds them done: on a
 * first dump these reads were frozen time (PostgreSQL's libraries and
 * mapped files).  Best effort: what is not done here is done in the window.
 */
static void dump_prehash(struct dump_ctx *d)
{
	double t0 = now_ms();
	uint64_t bytes;
	size_t nr, files;
	pid_t *pids;

	if (cg_procs(d->cg, &pids, &nr)) {
		ct_err_clear();
		return;
	}
	map_change_prehash(pids, nr, d->opts ? d->opts->max_checked_size : 0, d->map_seen, &files, &bytes);
	free(pids);
	pr_info("%s: %zu mapped files checksummed before the freeze (%llu bytes, %.1f ms)", d->name, files,
		(unsigned long long)bytes, now_ms() - t0);
}

/* The steps between taking the lock and releasing the tasks. */
static int dump_run(struct dump_ctx *d)
{
	struct inj_stats inj0, inj1;
	struct timespec rt, mono;
	int ret;

	ret = ct_cg_open(store_root(d->store), d->name, &d->cg);
	if (ret)
		return ret == -ENOENT ? ct_err(ret, "%s: not running", d->name) : ret;
	ret = dump_begin_generation(d);
	if (ret)
		return ret;
	d->img = xzalloc(sizeof(*d->img));
	if (!d->img)
		return -ENOMEM;
	snprintf(d->img->name, sizeof(d->img->name), "%s", d->name);

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	d->img->dump_time_ns = rt.tv_sec * 1000000000LL + rt.tv_nsec;
	d->img->dump_mono_ns = mono.tv_sec * 1000000000LL + mono.tv_nsec;
	/* the container's clocks at the freeze: dump_shape() adds its time namespace's offsets */
	d->img->shape.mono_ns = d->img->dump_mono_ns;
	clock_gettime(CLOCK_BOOTTIME, &mono);
	d->img->shape.boot_ns = mono.tv_sec * 1000000000LL + mono.tv_nsec;
	/* before the checksums: the first read waits for a grace period (locks.c) */
	lock_table_warm(&d->locks);
	dump_prehash(d);
	ret = dump_fault("prehashed");
	if (ret)
		return ret;
	/* the grace period of the first read of /proc/locks, outside the window */
	lock_table_warm_wait(&d->locks, DUMP_LOCKS_WARM_MS);
	pr_info("%s: freezing and seizing", d->name);
	ret = seize_container(d->cg, DUMP_FREEZE_TIMEOUT_MS, &d->ss);
	if (ret)
		return ret;
	d->seized = true;
	/* the tasks are stopped: their locks are as they will be checkpointed */
	lock_table_start(&d->locks);
	ret = dump_fault("seize") ?: dump_check_interrupt();
	if (ret)
		return ret;
	pr_info("%s: %zu threads seized; collecting state", d->name, d->ss.nr);
	inj_get_stats(&inj0);
	ret = dump_collect(d) ?: dump_fault("collect");
	if (ret)
		return ret;
	inj_get_stats(&inj1);
	pr_info("%s: state collected (%lu injected calls, %lu round trips, %lu of them in sequence, %.1f ms)",
		d->name, inj1.calls - inj0.calls, inj1.round_trips - inj0.round_trips,
		inj1.in_sequence - inj0.in_sequence, inj1.ms - inj0.ms);
	pr_info("%s: pushing %llu pages%s", d->name, (unsigned long long)d->pages_total,
		d->snapshot ? " copied while stopped" : "");
	if (!d->shm.nr)
		dump_blob_start(d);
	ret = d->snapshot ? dump_push_snapshot(d) : dump_push(d, DUMP_PAGES_ALL);
	if (ret)
		return ret;
	dump_blob_start(d);
	ret = dump_commit(d);
	if (ret)
		return ret;
	return dump_finish(d);
}

#define DUMP_LAZY_WAIT_MS 60000	/* how long a dump waits for a lazy restore to finish */

/*
 * A container whose lazy restore is still swapping in has pages that are
 * in no page table yet: a dump now would find them absent and leave them
 * out of the checkpoint.  Wait for the lazy server to finish (it prefetches
 * at disk speed), and refuse if it does not in time.
 */
static int dump_wait_lazy(struct ctswap_store *store, const char *name)
{
	struct lazy_progress p;
	char path[4096];
	double until = now_ms() + DUMP_LAZY_WAIT_MS;

	if (store_path(store, name, "lazy.state", path, sizeof(path)))
		return 0;
	while (!lazy_progress_read(path, &p) && p.pid > 0 && kill(p.pid, 0) == 0) {
		if (now_ms() > until)
			return ct_err(-EBUSY, "%s: lazy restore still swapping in (%llu of %llu pages "
				      "resident); dump again once it is done", name,
				      (unsigned long long)p.resident, (unsigned long long)p.total);
		usleep(20 * 1000);
	}
	return 0;
}

/*
 * The mapped files the newest checkpoint of the container checksummed
 * (libraries, executables): a version it saw is not read again while the
 * container is stopped.  Before the freeze; a missing or bad checkpoint
 * only means reading them.
 */
static struct change_cache *dump_map_cache(struct dump_ctx *d)
{
	struct change_cache *c = change_cache_new();
	char dir[4096], file[64], path[4096];
	struct ct_image *img;
	unsigned int gen;

	if (!c || store_path(d->store, d->name, NULL, dir, sizeof(dir)) || !(gen = store_newest_ckpt(dir)))
		return c;
	snprintf(file, sizeof(file), "ckpt-%u.meta", gen);
	if (store_path(d->store, d->name, file, path, sizeof(path)) || blob_read(path, &img)) {
		ct_err_clear();
		return c;
	}
	map_change_seed(c, img);
	image_free(img);
	return c;
}

/* Checkpoint container @name: ctswap_dump() of include/ctswap.h. */
int dump_container(struct ctswap_store *store, const char *name,
		   const struct ctswap_dump_opts *opts, struct ctswap_dump_stats *stats)
{
	struct ctswap_dump_stats dummy;
	struct dump_ctx d;
	int ret;

	ct_err_clear();
	if (!stats)
		stats = &dummy;
	memset(stats, 0, sizeof(*stats));
	memset(&d, 0, sizeof(d));
	d.store = store;
	d.name = name;
	d.opts = opts;
	d.stats = stats;
	d.lock_fd = -1;
	d.t0 = now_ms();
	d.snapshot = opts && ((opts->leave_running && !opts->no_snapshot) || opts->pre);
	stats->snapshot = d.snapshot;
	if (!store_name_valid(name))
		return ct_err(-EINVAL, "%s: invalid container name", name);
	if (opts && opts->tcp == CTSWAP_TCP_ESTABLISHED && (opts->leave_running || opts->pre))
		return ct_err(-EINVAL, "%s: --tcp-established cannot be used with --leave-running or --pre: a restore would conflict with the connections left running", name);
	ret = ct_check_cr_privilege("dump");
	if (ret)
		return ret;
	dump_block_signals(&d);
	ret = ct_lock(store_root(store), name, "dump", &d.lock_fd);
	if (ret) {
		pthread_sigmask(SIG_SETMASK, &d.old_mask, NULL);
		return ret;
	}
	d.map_seen = dump_map_cache(&d);
	ret = d.map_seen ? dump_wait_lazy(store, name) : -ENOMEM;
	if (!ret)
		ret = dump_run(&d);
	if (ret) {
		dump_undo(&d);
		if (d.ss.freeze_ms)
			stats->frozen_ms = now_ms() - d.ss.freeze_ms;
	}
	stats->total_ms = now_ms() - d.t0;
	if (!ret)
		pr_info("%s: dump done in %.1f ms, frozen %.1f ms", name, stats->total_ms,
			stats->frozen_ms);
	dump_release(&d);
	return ret;
}
