// SPDX-License-Identifier: MIT
/*
 * Rebuilding independent processes at the same time, one thread per CPU.
 *
 * A process is rebuilt by a string of injected calls, each a ptrace round
 * trip in which either we or the tracee waits for the other: with one
 * restorer thread a second CPU stays idle.  Here each thread drives its own
 * share of the processes, step by step as restore.c orders them; a step is
 * done by every thread before the next begins, so an order restore.c needs
 * between processes (POSIX locks once every fd is in place, release once
 * all are rebuilt) holds as before.
 *
 * Ptrace answers only the tracer thread, and every task was created by
 * injected clone3 from the caller's thread: a worker takes its processes
 * over first (inj_handover, inj_adopt), and the threads it creates in them
 * are its own tracees from birth.  A process sharing its descriptor table
 * or fs with its parent goes to its parent's thread, after it in image
 * order as before: one's closing of fds never races the other's opens.
 */
#define LOG_PREFIX "restore-par: "
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "restore/rst.h"

#define PAR_MIN_PROCS 2		/* a thread for one process would not pay for the handover */

struct par_worker {
	struct rst_pool *pool;
	pthread_t thread;
	unsigned id;			/* 1..: the caller is 0 */
	int ret;			/* of its share of the last step */
	char err[512];			/* its ct_err() message: ct_err is per thread */
};

struct rst_pool {
	struct rst_proc *procs;
	size_t nr;
	unsigned *owner;		/* thread of each process: 0 the caller */
	unsigned nr_threads;
	struct par_worker *workers;	/* nr_threads - 1 */
	long ptrace_opts;		/* what a worker seizes its processes with */
	const struct rst_cpus *cpus;	/* worker k and its processes run on CPU k */
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	unsigned long step;		/* counts the steps handed out */
	unsigned busy;			/* workers not done with the step */
	bool quit;
	rst_each_fn *fn;
	void *arg;
};

/*
 * A ptrace round trip is two wake-ups, tracer to tracee and back; across
 * CPUs each is an interprocessor interrupt, on this kind of virtual machine
 * costlier than the system call it carries.  So each restoring thread and
 * the tasks it drives share one CPU while it injects, and every task gets
 * the mask it inherited back before it runs (rst_cpu_unpin).
 */
void rst_cpu_begin(struct rst_cpus *cpus, pid_t init)
{
	int here = sched_getcpu();

	memset(cpus, 0, sizeof(*cpus));
	if (sched_getaffinity(init, sizeof(cpus->orig), &cpus->orig) ||
	    sched_getaffinity(0, sizeof(cpus->self_orig), &cpus->self_orig))
		return;
	/* the CPU we run on first: the tree is built there */
	if (here >= 0 && CPU_ISSET(here, &cpus->orig))
		cpus->cpu[cpus->nr++] = here;
	for (int i = 0; i < CPU_SETSIZE && cpus->nr < RST_MAX_THREADS; i++)
		if (CPU_ISSET(i, &cpus->orig) && i != here)
			cpus->cpu[cpus->nr++] = i;
	if (!cpus->nr)
		return;
	cpus->self_pinned = !rst_cpu_pin(cpus, 0, 0);
	cpus->pinned = !rst_cpu_pin(cpus, init, 0);	/* its children inherit it */
}

int rst_cpu_pin(const struct rst_cpus *cpus, pid_t tid, unsigned k)
{
	cpu_set_t one;

	if (!cpus->nr)
		return -ENOENT;
	CPU_ZERO(&one);
	CPU_SET(cpus->cpu[k % cpus->nr], &one);
	if (sched_setaffinity(tid, sizeof(one), &one) < 0) {
		int err = errno;

		/* refused (a cpuset), it only costs speed */
		pr_debug("tid %d: cannot run on CPU %d while rebuilt: %m", tid, cpus->cpu[k % cpus->nr]);
		return -err;
	}
	return 0;
}

int rst_cpu_unpin(const struct rst_cpus *cpus, pid_t tid)
{
	if (!cpus->pinned)
		return 0;
	if (sched_setaffinity(tid, sizeof(cpus->orig), &cpus->orig) < 0)
		return ct_err(-errno, "tid %d: cannot give its CPU mask back: %m", tid);
	return 0;
}

void rst_cpu_end(struct rst_cpus *cpus)
{
	if (cpus->self_pinned && sched_setaffinity(0, sizeof(cpus->self_orig), &cpus->self_orig) < 0)
		pr_warn("cannot give the restoring thread its CPU mask back: %m");
	cpus->self_pinned = false;
}

/* How many threads: @want at most, one per CPU we may run on (taskset, cpuset), none idle for want of processes. */
static unsigned par_threads(const struct rst_cpus *cpus, size_t nr, unsigned want)
{
	unsigned n = min_t(unsigned, max_t(unsigned, cpus->nr, 1), max_t(unsigned, want, 1));

	return max_t(unsigned, 1, min_t(size_t, n, nr / PAR_MIN_PROCS));
}

/* Share the processes out: round-robin, a process sharing with its parent on the parent's thread. */
static void par_assign(struct rst_pool *pl)
{
	unsigned next = 0;

	for (size_t i = 0; i < pl->nr; i++) {
		const struct ct_task *t = pl->procs[i].t;
		size_t parent = pl->nr;

		for (size_t k = 0; k < i && t->share_parent; k++)
			if (pl->procs[k].t->pid == t->ppid)
				parent = k;
		if (parent < pl->nr) {
			pl->owner[i] = pl->owner[parent];
			continue;
		}
		pl->owner[i] = next;
		next = (next + 1) % pl->nr_threads;
	}
}

/* Run @fn on every process of thread @id, in image order; the first failure stops it. */
static int par_share(struct rst_pool *pl, unsigned id, rst_each_fn *fn, void *arg)
{
	int ret = 0;

	for (size_t i = 0; i < pl->nr && !ret; i++)
		if (pl->owner[i] == id)
			ret = fn(arg, &pl->procs[i]);
	return ret;
}

static void *par_worker_main(void *arg)
{
	struct par_worker *w = arg;
	struct rst_pool *pl = w->pool;
	unsigned long seen = 0;
	sigset_t all;

	/* the caller's signals stay the caller's: handlers run where they always ran */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	rst_cpu_pin(pl->cpus, 0, w->id);	/* refused, it only costs speed */
	pthread_mutex_lock(&pl->lock);
	for (;;) {
		while (pl->step == seen && !pl->quit)
			pthread_cond_wait(&pl->go, &pl->lock);
		if (pl->step == seen)	/* quit, and no step left */
			break;
		seen = pl->step;
		pthread_mutex_unlock(&pl->lock);
		ct_err_clear();
		w->ret = par_share(pl, w->id, pl->fn, pl->arg);
		if (w->ret && ct_err_msg())
			snprintf(w->err, sizeof(w->err), "%s", ct_err_msg());
		pthread_mutex_lock(&pl->lock);
		if (--pl->busy == 0)
			pthread_cond_signal(&pl->done);
	}
	pthread_mutex_unlock(&pl->lock);
	return NULL;
}

int rst_pool_each(struct rst_pool *pl, size_t nr, struct rst_proc *procs, rst_each_fn *fn, void *arg)
{
	int ret;

	if (!pl) {
		ret = 0;
		for (size_t i = 0; i < nr && !ret; i++)
			ret = fn(arg, &procs[i]);
		return ret;
	}
	pthread_mutex_lock(&pl->lock);
	pl->fn = fn;
	pl->arg = arg;
	pl->busy = pl->nr_threads - 1;
	for (unsigned w = 0; w < pl->nr_threads - 1; w++) {
		pl->workers[w].ret = 0;
		pl->workers[w].err[0] = '\0';
	}
	pl->step++;
	pthread_cond_broadcast(&pl->go);
	pthread_mutex_unlock(&pl->lock);
	ret = par_share(pl, 0, fn, arg);
	pthread_mutex_lock(&pl->lock);
	while (pl->busy)
		pthread_cond_wait(&pl->done, &pl->lock);
	pthread_mutex_unlock(&pl->lock);
	/* ours first, then the workers' in order: each message as its thread set it */
	for (unsigned w = 0; w < pl->nr_threads - 1 && !ret; w++) {
		ret = pl->workers[w].ret;
		if (ret && pl->workers[w].err[0])
			ct_err(ret, "%s", pl->workers[w].err);
	}
	return ret;
}

/* A worker's first step: become the tracer of its processes, parked by the caller. */
static int par_adopt(void *arg, struct rst_proc *p)
{
	const struct rst_pool *pl = arg;

	unsigned id = pl->owner[p - pl->procs];

	if (!id)	/* the caller's: traced by it all along */
		return 0;
	/* parked: moved to our CPU before it runs again (refused, it only costs speed) */
	if (pl->cpus->pinned)
		rst_cpu_pin(pl->cpus, p->host_pid, id);
	return inj_adopt(&p->threads[0].inj, pl->ptrace_opts);
}

/* Stop and join the workers started so far. */
static void par_join(struct rst_pool *pl, unsigned started)
{
	pthread_mutex_lock(&pl->lock);
	pl->quit = true;
	pthread_cond_broadcast(&pl->go);
	pthread_mutex_unlock(&pl->lock);
	for (unsigned w = 0; w < started; w++)
		pthread_join(pl->workers[w].thread, NULL);
}

static void par_free(struct rst_pool *pl)
{
	pthread_mutex_destroy(&pl->lock);
	pthread_cond_destroy(&pl->go);
	pthread_cond_destroy(&pl->done);
	free(pl->workers);
	free(pl->owner);
	free(pl);
}

/* Park every process a worker is to drive: from here on only it may inject into them. */
static int par_hand_over(struct rst_pool *pl)
{
	int ret = 0;

	for (size_t i = 0; i < pl->nr && !ret; i++)
		if (pl->owner[i])
			ret = inj_handover(&pl->procs[i].threads[0].inj);
	return ret;
}

int rst_pool_start(struct rst_pool **out, struct rst_proc *procs, size_t nr, long ptrace_opts,
		   const struct rst_cpus *cpus, unsigned want)
{
	unsigned threads = par_threads(cpus, nr, want), started = 0;
	struct rst_pool *pl;
	int ret = 0;

	*out = NULL;
	for (size_t i = 0; i < nr; i++)	/* they are created in the rebuild, by the tracer of their leader */
		if (procs[i].t->nr_threads > 1 && procs[i].threads[1].host_tid)
			return ct_err(-EINVAL, "pid %d: threads exist before the rebuild", procs[i].t->pid);
	if (threads < 2)
		return 0;
	pl = xzalloc(sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	pl->procs = procs;
	pl->nr = nr;
	pl->nr_threads = threads;
	pl->ptrace_opts = ptrace_opts;
	pl->cpus = cpus;
	pl->owner = xzalloc(sizeof(*pl->owner) * nr);
	pl->workers = xzalloc(sizeof(*pl->workers) * (threads - 1));
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->go, NULL);
	pthread_cond_init(&pl->done, NULL);
	if (!pl->owner || !pl->workers) {
		par_free(pl);
		return -ENOMEM;
	}
	par_assign(pl);
	for (; started < threads - 1 && !ret; started++) {
		pl->workers[started].pool = pl;
		pl->workers[started].id = started + 1;
		ret = -pthread_create(&pl->workers[started].thread, NULL, par_worker_main,
				      &pl->workers[started]);
		if (ret) {
			ct_err(ret, "cannot start a restore thread: %s", strerror(-ret));
			break;
		}
	}
	if (!ret)
		ret = par_hand_over(pl);
	*out = pl;	/* from here its processes are the workers' */
	if (!ret)
		ret = rst_pool_each(pl, nr, procs, par_adopt, pl);
	if (ret && started < threads - 1) {	/* no worker owns anything yet */
		par_join(pl, started);
		par_free(pl);
		*out = NULL;
	}
	if (!ret)
		pr_info("%zu processes rebuilt by %u threads at once", nr, threads);
	return ret;
}

/*
 * Let the workers go.  A tracer thread that ends takes its tracees with it
 * (PTRACE_O_EXITKILL): call this once they are detached, or killed.
 */
void rst_pool_stop(struct rst_pool *pl)
{
	if (!pl)
		return;
	par_join(pl, pl->nr_threads - 1);
	par_free(pl);
}
