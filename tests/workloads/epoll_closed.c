/* SPDX-License-Identifier: MIT */
/*
 * epoll_closed: an epoll whose items' fds were closed while their files
 * live on elsewhere.  Item "efd" (data 1): an eventfd added at one fd,
 * then dup'd and the fd it was added with closed.  Item "pipe" (data 2):
 * the read end of a pipe, added by the parent, handed to a child that
 * keeps it, and closed in the parent.  Each round the parent writes to the
 * eventfd and to the pipe and checks that the epoll reports exactly those
 * items with their data, then clears them (the eventfd by reading its dup,
 * the pipe by asking the child to read one byte) and checks that it reports
 * nothing.  DIR/status is rewritten every round:
 *
 *   pid=P rounds=N ok          (or "BAD <what>", sticky)
 *
 *   epoll_closed --out DIR
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char *dir;
static char bad[160];

#define FAIL(...) do { if (!bad[0]) snprintf(bad, sizeof(bad), "BAD " __VA_ARGS__); } while (0)

static void write_status(unsigned long rounds)
{
	put_status(dir, "pid=%d rounds=%lu %s\n", getpid(), rounds, bad[0] ? bad : "ok");
}

/* The child: holds the pipe's read end; reads one byte of it per token, acknowledges each. */
static void keeper(int rd, int token, int ack)
{
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		if (read(token, &c, 1) != 1)
			_exit(0);
		if (read(rd, &c, 1) != 1)
			_exit(1);
		if (write(ack, &c, 1) != 1)
			_exit(1);
	}
}

/* The set of item data the epoll reports now, as bits (1 << data). */
static unsigned int ready_items(int ep, int timeout_ms)
{
	struct epoll_event ev[4];
	unsigned int set = 0;
	int n;

	do
		n = epoll_wait(ep, ev, 4, timeout_ms);
	while (n < 0 && errno == EINTR);
	for (int i = 0; i < n; i++)
		set |= 1u << ev[i].data.u64;
	return set;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct timespec pause_ts = { 0, 20 * 1000 * 1000 };
	int ep, efd, keep, p[2], tok[2], ack[2];
	unsigned long rounds = 0;
	unsigned int set;
	pid_t child;
	char c;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: epoll_closed --out DIR\n");
		return 2;
	}
	dir = argv[2];
	ep = epoll_create1(EPOLL_CLOEXEC);
	efd = eventfd(0, EFD_NONBLOCK);
	if (ep < 0 || efd < 0 || pipe(p) || pipe(tok) || pipe(ack))
		return 1;
	ev.data.u64 = 1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev))
		return 1;
	keep = dup(efd);
	close(efd);
	ev.data.u64 = 2;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev))
		return 1;
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		close(p[1]);
		close(tok[1]);
		close(ack[0]);
		keeper(p[0], tok[0], ack[1]);
	}
	close(p[0]);
	close(tok[0]);
	close(ack[1]);
	for (;;) {
		if (ready_items(ep, 0))
			FAIL("round %lu: items ready before anything was written", rounds);
		if (eventfd_write(keep, 1) || write(p[1], "x", 1) != 1)
			FAIL("round %lu: write %d", rounds, errno);
		set = ready_items(ep, 5000);
		if (set != 0x6)
			FAIL("round %lu: epoll reported items %#x, not efd and pipe", rounds, set);
		if (eventfd_read(keep, &(eventfd_t){ 0 }))
			FAIL("round %lu: eventfd read %d", rounds, errno);
		if (write(tok[1], "t", 1) != 1 || read(ack[0], &c, 1) != 1)
			FAIL("round %lu: the keeper did not read the pipe", rounds);
		set = ready_items(ep, 0);
		if (set)
			FAIL("round %lu: epoll reported items %#x after they were cleared", rounds, set);
		write_status(++rounds);
		nanosleep(&pause_ts, NULL);
	}
}
