// SPDX-License-Identifier: MIT
/*
 * bench/spawnlimit: the floor under "restore until every task runs" — the
 * time to clone3 the same number of processes into a new pid namespace and
 * mmap the same mappings in each, with nothing else (no state, no memory
 * contents).  Median of 7 runs.
 *
 *   spawnlimit                  CSV rows for 1, 10 and 100 processes of 20 mappings
 *   spawnlimit PROCS MAPS MIB   one number: ms for PROCS processes, each with
 *                               MAPS private anonymous mappings of MIB MiB in all
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 7

static void die(const char *what)
{
	fprintf(stderr, "spawnlimit: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Map @maps mappings of @mib MiB in all (not touched), then say so on @fd and wait to be killed. */
static void become_task(int fd, int maps, size_t mib)
{
	size_t each = (mib << 20) / maps;

	each = (each + 4095) & ~4095ul;
	if (!each)
		each = 4096;
	for (int i = 0; i < maps; i++)
		if (mmap(NULL, each, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
			_exit(2);
	if (write(fd, "x", 1) != 1)
		_exit(2);
	for (;;)
		pause();
}

/* One run: ms until @procs tasks in a new pid namespace have mapped their memory. */
static double one_run(int procs, int maps, size_t mib)
{
	struct clone_args ca = { .flags = CLONE_NEWPID, .exit_signal = SIGCHLD };
	int p[2], got = 0;
	double t0;
	pid_t init;
	char buf[128];

	if (pipe(p))
		die("pipe");
	t0 = now_ms();
	init = syscall(SYS_clone3, &ca, sizeof(ca));
	if (init < 0)
		die("clone3");
	if (init == 0) {
		close(p[0]);
		for (int i = 1; i < procs; i++) {
			struct clone_args cc = { .exit_signal = SIGCHLD };
			pid_t c = syscall(SYS_clone3, &cc, sizeof(cc));

			if (c == 0)
				become_task(p[1], maps, mib);
			if (c < 0)
				_exit(2);
		}
		become_task(p[1], maps, mib);
	}
	close(p[1]);
	while (got < procs) {
		ssize_t n = read(p[0], buf, sizeof(buf));

		if (n <= 0)
			die("read");
		got += n;
	}
	t0 = now_ms() - t0;
	close(p[0]);
	kill(init, SIGKILL);	/* the namespace's init: every task goes with it */
	waitpid(init, NULL, 0);
	return t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_ms(int procs, int maps, size_t mib)
{
	double v[RUNS];

	for (int i = 0; i < RUNS; i++)
		v[i] = one_run(procs, maps, mib);
	qsort(v, RUNS, sizeof(v[0]), cmp_double);
	return v[RUNS / 2];
}

int main(int argc, char **argv)
{
	static const int procs[] = { 1, 10, 100 };

	if (argc == 4) {
		printf("%.2f\n", median_ms(atoi(argv[1]), atoi(argv[2]), strtoull(argv[3], NULL, 10)));
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: spawnlimit [PROCS MAPS MIB]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
		printf("limits,spawn_%d_procs,%.2f,ms,,\n", procs[i], median_ms(procs[i], 20, 1));
	return 0;
}
