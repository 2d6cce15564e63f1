/* SPDX-License-Identifier: MIT */
/*
 * pidfd_wait: a parent that watches its children through pidfds.  Each
 * round forks a child that waits for a byte on a pipe and exits with it as
 * its status; the parent holds a pidfd of the child and a second one opened
 * with PIDFD_NONBLOCK.  While the child lives, poll() on either must not
 * report it readable and waitid(P_PIDFD) on the second must say EAGAIN; after
 * the byte, poll() must report POLLIN and waitid(P_PIDFD) must return the
 * child's pid and status.  A sentinel child lives throughout, so every dump
 * holds a pidfd: each round checks that pidfd_send_signal(0) reaches it and
 * that its pidfd is not readable.  DIR/status is rewritten at every round:
 *
 *   pid=P rounds=N ok          (or "BAD <what>", sticky)
 *
 *   pidfd_wait --out DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static const char *dir;
static char bad[160];

static void write_status(unsigned long rounds)
{
	put_status(dir, "pid=%d rounds=%lu %s\n", getpid(), rounds, bad[0] ? bad : "ok");
}

#define FAIL(...) do { if (!bad[0]) snprintf(bad, sizeof(bad), "BAD " __VA_ARGS__); } while (0)

/* Is @pidfd readable right now (the process has exited)? */
static int pidfd_ready(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n > 0 && (p.revents & POLLIN);
}

/* One round: a child alive for a while, watched through two pidfds, then waited for. */
static void one_round(unsigned long round)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int p[2], pidfd, nbfd, code = (int)(round % 200) + 1;
	siginfo_t si;
	pid_t child;

	if (pipe(p)) {
		FAIL("pipe %d", errno);
		return;
	}
	child = fork();
	if (child < 0) {
		FAIL("fork %d", errno);
		return;
	}
	if (child == 0) {
		unsigned char c = 0;

		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(c);
	}
	close(p[0]);
	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	nbfd = (int)syscall(SYS_pidfd_open, child, O_NONBLOCK);	/* PIDFD_NONBLOCK */
	if (pidfd < 0 || nbfd < 0) {
		FAIL("pidfd_open %d", errno);
		return;
	}
	/* alive for 20 ticks: a dump lands here most of the time */
	for (int i = 0; i < 20; i++) {
		if (pidfd_ready(pidfd, 0) || pidfd_ready(nbfd, 0))
			FAIL("round %lu: pidfd readable while child %d lives", round, child);
		memset(&si, 0, sizeof(si));
		if (waitid(P_PIDFD, nbfd, &si, WEXITED) == 0 || errno != EAGAIN)
			FAIL("round %lu: waitid on the nonblocking pidfd: %d (pid %d)", round, errno,
			     si.si_pid);
		nanosleep(&tick, NULL);
	}
	if (write(p[1], &(unsigned char){ (unsigned char)code }, 1) != 1)
		FAIL("write %d", errno);
	close(p[1]);
	if (!pidfd_ready(pidfd, 10000) || !pidfd_ready(nbfd, 0))
		FAIL("round %lu: pidfd not readable after child %d exited", round, child);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, pidfd, &si, WEXITED) < 0)
		FAIL("round %lu: waitid: %d", round, errno);
	else if (si.si_pid != child || si.si_code != CLD_EXITED || si.si_status != code)
		FAIL("round %lu: waitid gave pid %d code %d status %d, not %d exited %d", round,
		     si.si_pid, si.si_code, si.si_status, child, code);
	close(pidfd);
	close(nbfd);
}

/* A child that lives as long as we do, and a pidfd of it. */
static int sentinel_start(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid < 0 ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The sentinel lives: reachable through its pidfd, which is not readable. */
static void sentinel_check(int sfd, unsigned long round)
{
	if (syscall(SYS_pidfd_send_signal, sfd, 0, NULL, 0) < 0)
		FAIL("round %lu: pidfd_send_signal to the sentinel: %d", round, errno);
	if (pidfd_ready(sfd, 0))
		FAIL("round %lu: the sentinel's pidfd is readable", round);
}

int main(int argc, char **argv)
{
	unsigned long rounds = 0;
	int sfd;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: pidfd_wait --out DIR\n");
		return 2;
	}
	dir = argv[2];
	sfd = sentinel_start();
	if (sfd < 0)
		FAIL("sentinel %d", errno);
	for (;;) {
		sentinel_check(sfd, rounds);
		one_round(rounds);
		write_status(++rounds);
	}
}
