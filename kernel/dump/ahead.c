// SPDX-License-Identifier: MIT
/*
 * Reading ahead what /proc shows of the processes to collect (dump.h,
 * struct dump_ahead).
 *
 * The kernel's walk behind /proc/PID/smaps is the largest part of what a
 * process costs the dump besides its round trips, and it needs nothing of
 * ours: the tasks are stopped and their mappings stay as they are until
 * their own turn.  So a thread reads the smaps of the processes, on the
 * other CPU, from the moment they are seized: while the dump's thread
 * builds the tree and the container's shape (which it does not wait for),
 * and then while it parses and injects; and with it the mm fields of stat,
 * auxv and exe (mm_collect()) and the status text (credentials, umask),
 * which depend on nothing shared either and do not change while the
 * process is stopped.  It reads them in the order they were seized (the
 * tree's order is not known yet: for a shell and its children the two
 * are much the same).  It only reads: every decision, every error message
 * and everything shared stays on the dump's thread, which reads a file
 * itself whenever the thread could not, or has not begun to: then the two
 * CPUs share the reads, and neither waits for the other.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump/dump.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"

/* Free what mm_collect() put in @mm. */
static void ahead_free_mm(struct ct_mm *mm)
{
	free(mm->auxv);
	free(mm->exe_path);
	memset(mm, 0, sizeof(*mm));
}

/* Who reads what of a process (dump_ahead.state, .fds_state). */
enum ahead_state {
	AHEAD_NOT_YET,			/* nobody yet */
	AHEAD_READING,			/* the thread, now */
	AHEAD_READ,			/* the thread did (what it could not is NULL) */
	AHEAD_FAILED,			/* the thread could not */
	AHEAD_TAKEN,			/* the dump's thread (took it or reads it itself) */
};

/*
 * Claim slot @i of @state for the thread unless the dump's thread came to
 * it first; false also once told to stop.
 */
static bool ahead_claim(struct dump_ahead *a, uint8_t *state, uint32_t i)
{
	bool mine;

	pthread_mutex_lock(&a->lock);
	mine = !a->stop && state[i] == AHEAD_NOT_YET;
	if (mine)
		state[i] = AHEAD_READING;
	pthread_mutex_unlock(&a->lock);
	return mine;
}

/* What the thread read of slot @i of @state is there (@ok) or not: let the dump's thread know. */
static void ahead_done(struct dump_ahead *a, uint8_t *state, uint32_t i, bool ok)
{
	pthread_mutex_lock(&a->lock);
	state[i] = ok ? AHEAD_READ : AHEAD_FAILED;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/*
 * The dump's thread comes to slot @i of @state: wait if the thread is
 * reading it; true if the thread read it, else it is the caller's to read
 * (the thread will not any more).
 */
static bool ahead_take(struct dump_ahead *a, uint8_t *state, uint32_t i)
{
	bool got;

	pthread_mutex_lock(&a->lock);
	if (state[i] == AHEAD_READING) {
		double t0 = now_ms();

		while (state[i] == AHEAD_READING)
			pthread_cond_wait(&a->cond, &a->lock);
		a->waited_ms += now_ms() - t0;
		a->waited = true;
	}
	got = state[i] == AHEAD_READ;
	state[i] = AHEAD_TAKEN;
	pthread_mutex_unlock(&a->lock);
	return got;
}

/*
 * The fds of each process and the files misc.c reads (task.h), those the
 * dump's thread has not come to yet, until told to stop.
 */
static void ahead_read_fds(struct dump_ahead *a, uint32_t nr)
{
	for (uint32_t i = 0; i < nr; i++) {
		if (!ahead_claim(a, a->fds_state, i))
			continue;
		misc_seen_read(a->pids[i], &a->misc[i]);
		ahead_done(a, a->fds_state, i, !fds_seen_read(a->pids[i], &a->fds[i]));
	}
}

/*
 * The thread: each process's smaps, mm fields and status in turn, then
 * their fds, but those the dump's thread came to first, until the end or
 * told to stop.
 */
static void *ahead_run(void *arg)
{
	struct dump_ahead *a = arg;
	/* test hook (doc/FAULTS.md): the thread reads nothing, the dump's thread all */
	uint32_t nr = fault_at("dump", "ahead") ? 0 : a->nr;

	for (uint32_t lo = 0, hi = nr; lo < hi;) {
		char path[64];
		uint32_t i;
		bool behind;

		/*
		 * Once the dump's thread has had to wait for one, it is right
		 * behind: go on from the last one back, and it reads those in
		 * between itself; the two meet half-way instead of in step.
		 */
		pthread_mutex_lock(&a->lock);
		behind = a->waited;
		pthread_mutex_unlock(&a->lock);
		i = behind ? --hi : lo++;
		if (!ahead_claim(a, a->state, i))
			continue;
		/* what fails is read again by the dump's thread, which says why */
		snprintf(path, sizeof(path), "/proc/%d/smaps", a->pids[i]);
		if (read_whole_file(path, &a->smaps[i], NULL))
			a->smaps[i] = NULL;
		if (mm_collect(a->pids[i], &a->mm[i]))
			ahead_free_mm(&a->mm[i]);
		a->mm_read[i] = a->mm[i].exe_path != NULL;
		snprintf(path, sizeof(path), "/proc/%d/status", a->pids[i]);
		if (read_whole_file(path, &a->status[i], NULL))
			a->status[i] = NULL;
		ahead_done(a, a->state, i, true);
	}
	ahead_read_fds(a, nr);
	return NULL;
}

/* qsort_r order of indexes into the pids @arg by pid. */
static int ahead_pid_order(const void *a, const void *b, void *arg)
{
	const pid_t *pids = arg;
	pid_t x = pids[*(const uint32_t *)a], y = pids[*(const uint32_t *)b];

	return (x > y) - (x < y);
}

/* Where the thread reads @pid (its index into a->pids), -1 if it does not. */
static int64_t ahead_slot(const struct dump_ahead *a, pid_t pid)
{
	uint32_t lo = 0, hi = a->nr;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		pid_t got = a->pids[a->by_pid[mid]];

		if (got == pid)
			return a->by_pid[mid];
		if (got < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int dump_ahead_start(struct dump_ahead *a, const struct seize_set *ss)
{
	memset(a, 0, sizeof(*a));
	a->pids = xmalloc(sizeof(*a->pids) * (ss->nr + 1));
	if (!a->pids)
		return -ENOMEM;
	/* a process is its leader thread (one whose leader is gone is refused by the tree) */
	for (size_t i = 0; i < ss->nr; i++)
		if (ss->threads[i].tid == ss->threads[i].tgid && !ss->threads[i].gone)
			a->pids[a->nr++] = ss->threads[i].tgid;
	a->by_pid = xmalloc(sizeof(*a->by_pid) * (a->nr + 1));
	a->smaps = xzalloc(sizeof(*a->smaps) * (a->nr + 1));
	a->mm = xzalloc(sizeof(*a->mm) * (a->nr + 1));
	a->mm_read = xzalloc(sizeof(*a->mm_read) * (a->nr + 1));
	a->status = xzalloc(sizeof(*a->status) * (a->nr + 1));
	a->fds = xzalloc(sizeof(*a->fds) * (a->nr + 1));
	a->misc = xzalloc(sizeof(*a->misc) * (a->nr + 1));
	a->fds_state = xzalloc(sizeof(*a->fds_state) * (a->nr + 1));
	a->state = xzalloc(sizeof(*a->state) * (a->nr + 1));
	if (!a->by_pid || !a->smaps || !a->mm || !a->mm_read || !a->status || !a->fds || !a->misc ||
	    !a->fds_state || !a->state) {
		dump_ahead_stop(a);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < a->nr; i++)
		a->by_pid[i] = i;
	qsort_r(a->by_pid, a->nr, sizeof(*a->by_pid), ahead_pid_order, a->pids);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->inited = true;
	/* without the thread every file is read where it is needed, as before */
	if (a->nr > 1 && pthread_create(&a->thread, NULL, ahead_run, a) == 0)
		a->running = true;
	return 0;
}

char *dump_ahead_smaps(struct dump_ahead *a, pid_t pid)
{
	int64_t slot = a->running ? ahead_slot(a, pid) : -1;
	char *text;

	if (slot < 0 || !ahead_take(a, a->state, (uint32_t)slot))
		return NULL;
	text = a->smaps[slot];
	a->smaps[slot] = NULL;
	return text;
}

char *dump_ahead_status(struct dump_ahead *a, pid_t pid)
{
	/* dump_ahead_smaps() of @pid came first: the thread is through with it */
	int64_t slot = a->running ? ahead_slot(a, pid) : -1;
	char *text;

	if (slot < 0)
		return NULL;
	text = a->status[slot];
	a->status[slot] = NULL;
	return text;
}

bool dump_ahead_mm(struct dump_ahead *a, pid_t pid, struct ct_mm *mm)
{
	/* dump_ahead_smaps() of @pid came first: the thread is through with it */
	int64_t slot = a->running ? ahead_slot(a, pid) : -1;
	struct ct_mm *got;

	if (slot < 0 || !a->mm_read[slot])
		return false;
	got = &a->mm[slot];
	got->nr_vmas = mm->nr_vmas;
	got->vmas = mm->vmas;
	*mm = *got;
	memset(got, 0, sizeof(*got));
	a->mm_read[slot] = false;
	return true;
}

bool dump_ahead_fds(struct dump_ahead *a, pid_t pid, struct fds_seen *fds, struct misc_seen *misc)
{
	int64_t slot = a->running ? ahead_slot(a, pid) : -1;

	memset(misc, 0, sizeof(*misc));
	if (slot < 0 || !ahead_take(a, a->fds_state, (uint32_t)slot))
		return false;
	*fds = a->fds[slot];
	memset(&a->fds[slot], 0, sizeof(a->fds[slot]));
	*misc = a->misc[slot];
	memset(&a->misc[slot], 0, sizeof(a->misc[slot]));
	return true;
}

void dump_ahead_stop(struct dump_ahead *a)
{
	if (a->running) {
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
		a->running = false;
	}
	if (a->inited) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
	}
	for (uint32_t i = 0; a->smaps && i < a->nr; i++)
		free(a->smaps[i]);
	for (uint32_t i = 0; a->status && i < a->nr; i++)
		free(a->status[i]);
	free(a->status);
	for (uint32_t i = 0; a->mm && i < a->nr; i++)
		ahead_free_mm(&a->mm[i]);
	for (uint32_t i = 0; a->fds && i < a->nr; i++)
		fds_seen_free(&a->fds[i]);
	for (uint32_t i = 0; a->misc && i < a->nr; i++)
		misc_seen_free(&a->misc[i]);
	free(a->fds);
	free(a->misc);
	free(a->fds_state);
	free(a->state);
	free(a->smaps);
	free(a->mm);
	free(a->mm_read);
	free(a->pids);
	free(a->by_pid);
	memset(a, 0, sizeof(*a));
}
