/* SPDX-License-Identifier: MIT */
/*
 * sleepers: threads that spend their life inside the system calls the
 * kernel restarts through a restart block when interrupted: poll with a
 * timeout, nanosleep, clock_nanosleep (relative) and a futex wait with a
 * timeout.  No signal is ever sent to the process and no handler is
 * installed, so none of these calls may return EINTR, and nanosleep always
 * completes (returns 0).  A dump and restore catches every thread inside
 * its call; a restore that resumes them with EINTR (the restart block is
 * lost with the old task) is what this checks.  Each thread counts its
 * completed calls; the status is appended every 100 ms:
 *
 *   pid=P poll=N sleep=N clock=N futex=N ok       (or "BAD <what>", sticky)
 *
 *   sleepers --out DIR
 */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char *dir;
static char bad[160];
static atomic_ulong nr_poll, nr_sleep, nr_clock, nr_futex;
static int never_ready[2];	/* a pipe nobody writes: poll only times out */
static uint32_t futex_word;	/* nobody wakes it: the wait only times out */

static void fail(const char *what, int err)
{
	if (!bad[0])
		snprintf(bad, sizeof(bad), "BAD %s: %s", what, strerror(err));
}

static void *poll_loop(void *arg)
{
	struct pollfd pfd = { .fd = never_ready[0], .events = POLLIN };

	(void)arg;
	for (;;) {
		int n = poll(&pfd, 1, 700);

		if (n != 0)
			fail("poll", n < 0 ? errno : EEXIST);
		nr_poll++;
	}
	return NULL;
}

static void *sleep_loop(void *arg)
{
	struct timespec req = { 0, 600 * 1000 * 1000 }, rem;

	(void)arg;
	for (;;) {
		if (nanosleep(&req, &rem))
			fail("nanosleep", errno);
		nr_sleep++;
	}
	return NULL;
}

static void *clock_loop(void *arg)
{
	struct timespec req = { 0, 500 * 1000 * 1000 }, rem;

	(void)arg;
	for (;;) {
		int err = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);

		if (err)
			fail("clock_nanosleep", err);
		nr_clock++;
	}
	return NULL;
}

static void *futex_loop(void *arg)
{
	struct timespec timeout = { 0, 800 * 1000 * 1000 };

	(void)arg;
	for (;;) {
		long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &timeout, NULL, 0);

		/* a futex wait may wake spuriously (futex(2)), but never with EINTR unasked */
		if (r == 0 || (r < 0 && errno != ETIMEDOUT && errno != EAGAIN))
			fail("futex wait", r == 0 ? EEXIST : errno);
		nr_futex++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	void *(*loops[])(void *) = { poll_loop, sleep_loop, clock_loop, futex_loop };
	pthread_t t;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: sleepers --out DIR\n");
		return 2;
	}
	dir = argv[2];
	if (pipe(never_ready))
		return 1;
	for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++)
		if (pthread_create(&t, NULL, loops[i], NULL))
			return 1;
	for (;;) {
		struct timespec tick = { 0, 100 * 1000 * 1000 };

		status_append(dir, "pid=%d poll=%lu sleep=%lu clock=%lu futex=%lu %s\n", getpid(),
			      nr_poll, nr_sleep, nr_clock, nr_futex, bad[0] ? bad : "ok");
		while (nanosleep(&tick, &tick) && errno == EINTR)
			;
	}
}
