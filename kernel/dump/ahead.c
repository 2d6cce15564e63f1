// SPDX-License-Identifier: MIT
/*
 * Reading ahead what /proc shows of the processes to collect (dump.h,
 * struct dump_ahead).
 *
 * The kernel's walk behind /proc/PID/smaps is the largest part of what a
 * process costs the dump besides its round trips, and it needs nothing of
 * ours: the tasks are stopped and their mappings stay as they are until
 * their own turn.  So a thread reads the smaps of the processes in the
 * order they are collected, on the other CPU, while the dump's thread
 * parses and injects; and with it the mm fields of stat, auxv and exe
 * (mm_collect()) and the status text (credentials, umask), which depend on
 * nothing shared either and do not change while the process is stopped.  It only reads: every decision, every error message
 * and everything shared stays on the dump's thread, which reads a file
 * itself whenever the thread could not.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump/dump.h"
#include "lib/log.h"
#include "lib/util.h"

/* Free what mm_collect() put in @mm. */
static void ahead_free_mm(struct ct_mm *mm)
{
	free(mm->auxv);
	free(mm->exe_path);
	memset(mm, 0, sizeof(*mm));
}

/* The thread: each process's smaps in turn, until the end or told to stop. */
static void *ahead_run(void *arg)
{
	struct dump_ahead *a = arg;

	for (uint32_t i = 0; i < a->nr; i++) {
		char path[64], *text = NULL, *status;
		bool stop;

		pthread_mutex_lock(&a->lock);
		stop = a->stop;
		pthread_mutex_unlock(&a->lock);
		if (stop)
			break;
		snprintf(path, sizeof(path), "/proc/%d/smaps", a->pids[i]);
		if (read_whole_file(path, &text, NULL))
			text = NULL;	/* the dump's thread reads it again and says why */
		/* the same for the mm fields: a failure is the dump's thread's to name */
		if (mm_collect(a->pids[i], &a->mm[i]))
			ahead_free_mm(&a->mm[i]);
		snprintf(path, sizeof(path), "/proc/%d/status", a->pids[i]);
		if (read_whole_file(path, &status, NULL))
			status = NULL;
		pthread_mutex_lock(&a->lock);
		a->smaps[i] = text;
		a->status[i] = status;
		a->mm_read[i] = a->mm[i].exe_path != NULL;
		a->done = i + 1;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_lock(&a->lock);
	a->done = a->nr;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int dump_ahead_start(struct dump_ahead *a, const struct ct_image *img)
{
	memset(a, 0, sizeof(*a));
	a->nr = img->nr_tasks;
	a->pids = xmalloc(sizeof(*a->pids) * (a->nr + 1));
	a->smaps = xzalloc(sizeof(*a->smaps) * (a->nr + 1));
	a->mm = xzalloc(sizeof(*a->mm) * (a->nr + 1));
	a->mm_read = xzalloc(sizeof(*a->mm_read) * (a->nr + 1));
	a->status = xzalloc(sizeof(*a->status) * (a->nr + 1));
	if (!a->pids || !a->smaps || !a->mm || !a->mm_read || !a->status) {
		dump_ahead_stop(a);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < a->nr; i++)
		a->pids[i] = img->tasks[i].host_pid;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->inited = true;
	/* without the thread every file is read where it is needed, as before */
	if (a->nr > 1 && pthread_create(&a->thread, NULL, ahead_run, a) == 0)
		a->running = true;
	return 0;
}

char *dump_ahead_smaps(struct dump_ahead *a, uint32_t idx)
{
	char *text;

	if (!a->running || idx >= a->nr)
		return NULL;
	pthread_mutex_lock(&a->lock);
	while (a->done <= idx)
		pthread_cond_wait(&a->cond, &a->lock);
	text = a->smaps[idx];
	a->smaps[idx] = NULL;
	pthread_mutex_unlock(&a->lock);
	return text;
}

char *dump_ahead_status(struct dump_ahead *a, uint32_t idx)
{
	char *text;

	/* dump_ahead_smaps() of @idx came first: the thread is through with it */
	if (!a->running || idx >= a->nr)
		return NULL;
	text = a->status[idx];
	a->status[idx] = NULL;
	return text;
}

bool dump_ahead_mm(struct dump_ahead *a, uint32_t idx, struct ct_mm *mm)
{
	struct ct_mm *got;

	/* dump_ahead_smaps() of @idx came first: the thread is through with it */
	if (!a->running || idx >= a->nr || !a->mm_read[idx])
		return false;
	got = &a->mm[idx];
	got->nr_vmas = mm->nr_vmas;
	got->vmas = mm->vmas;
	*mm = *got;
	memset(got, 0, sizeof(*got));
	a->mm_read[idx] = false;
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
	free(a->smaps);
	free(a->mm);
	free(a->mm_read);
	free(a->pids);
	memset(a, 0, sizeof(*a));
}
