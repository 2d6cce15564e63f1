/* SPDX-License-Identifier: MIT */
/*
 * pipes: a parent and three children passing a token around a ring of
 * pipes (parent -> c1 -> c2 -> c3 -> parent).  Each hop adds one to the
 * token; the parent checks that what comes back is what it sent plus
 * three, and atomically writes DIR/status every 0.1 s:
 *
 *   pids=P,C1,C2,C3 rounds=N ok          (or "BAD <what>", sticky)
 *
 *   pipes --out DIR
 *
 * Uses only pipes and plain files, so every dumper supports it.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define NR_CHILDREN 3

/* A child: forward every token, plus one, from @in to @out. */
static void child_loop(int in, int out)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		put_token(out, get_token(in) + 1);
}

/* Write DIR/status atomically. */
static void write_status(const char *dir, pid_t *pids, unsigned long rounds, const char *bad)
{
	put_status(dir, "pids=%d,%d,%d,%d rounds=%lu %s%s\n", pids[0], pids[1], pids[2], pids[3],
		   rounds, bad[0] ? "BAD " : "ok", bad);
}

int main(int argc, char **argv)
{
	int fds[NR_CHILDREN + 1][2];
	pid_t pids[NR_CHILDREN + 1];
	unsigned long rounds = 0;
	uint64_t token = 0;
	char bad[128] = "";
	double last = 0;
	const char *out;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: pipes --out DIR\n");
		return 2;
	}
	out = argv[2];
	for (int i = 0; i <= NR_CHILDREN; i++)
		if (pipe(fds[i]) < 0) {
			perror("pipes: pipe");
			return 1;
		}
	pids[0] = getpid();
	/* Child i reads fds[i-1] and writes fds[i]; the parent writes fds[0], reads fds[3]. */
	for (int i = 1; i <= NR_CHILDREN; i++) {
		pid_t p = fork();

		if (p < 0) {
			perror("pipes: fork");
			return 1;
		}
		if (p == 0)
			child_loop(fds[i - 1][0], fds[i][1]);
		pids[i] = p;
	}
	for (;;) {
		struct timespec ts = { 0, 2000000 }, now;
		uint64_t back;

		put_token(fds[0][1], token);
		back = get_token(fds[NR_CHILDREN][0]);
		if (back != token + NR_CHILDREN && !bad[0])
			snprintf(bad, sizeof(bad), "round %lu: sent %llu got %llu", rounds,
				 (unsigned long long)token, (unsigned long long)back);
		token = back;
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec + now.tv_nsec / 1e9 - last >= 0.1) {
			last = now.tv_sec + now.tv_nsec / 1e9;
			write_status(out, pids, rounds, bad);
		}
		nanosleep(&ts, NULL);
	}
}
