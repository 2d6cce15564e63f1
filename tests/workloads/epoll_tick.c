/* SPDX-License-Identifier: MIT */
/*
 * epoll_tick: an epoll loop with a timerfd (every 20 ms) and an eventfd.
 * Each timer expiration is counted and posted to the eventfd; the loop
 * reads the eventfd back through the same epoll and checks that every
 * posted tick came back, once.  DIR/status is rewritten atomically at every
 * tick:
 *
 *   pid=P ticks=N ok          (or "BAD <what>", sticky)
 *
 *   epoll_tick --out DIR
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common.h"

static const char *dir;
static char bad[128];

/* Write the status line through a temporary file and a rename. */
static void write_status(uint64_t ticks)
{
	put_status(dir, "pid=%d ticks=%llu %s\n", getpid(), (unsigned long long)ticks, bad[0] ? bad : "ok");
}

int main(int argc, char **argv)
{
	struct itimerspec its = { { 0, 20000000 }, { 0, 20000000 } };
	struct epoll_event ev;
	uint64_t ticks = 0, posted = 0, back = 0, v;
	int ep, tfd, efd;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: epoll_tick --out DIR\n");
		return 2;
	}
	dir = argv[2];
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	efd = eventfd(0, EFD_NONBLOCK);
	if (ep < 0 || tfd < 0 || efd < 0 || timerfd_settime(tfd, 0, &its, NULL))
		return 1;
	ev.events = EPOLLIN;
	ev.data.u64 = 0x7469636b;	/* "tick" */
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.u64 = 0x6576656e74;	/* "event" */
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	for (;;) {
		int n = epoll_wait(ep, &ev, 1, 1000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			snprintf(bad, sizeof(bad), "BAD epoll_wait %d", errno);
		else if (n == 0)
			snprintf(bad, sizeof(bad), "BAD no tick for 1 s");
		else if (ev.data.u64 == 0x7469636b) {
			if (read(tfd, &v, 8) == 8) {
				ticks += v;
				posted += v;
				if (write(efd, &v, 8) != 8)
					snprintf(bad, sizeof(bad), "BAD eventfd write");
			}
		} else if (ev.data.u64 == 0x6576656e74) {
			if (read(efd, &v, 8) == 8)
				back += v;
			if (back != posted)
				snprintf(bad, sizeof(bad), "BAD eventfd gave %llu of %llu",
					 (unsigned long long)back, (unsigned long long)posted);
		} else {
			snprintf(bad, sizeof(bad), "BAD unknown epoll data %llx", (unsigned long long)ev.data.u64);
		}
		write_status(ticks);
	}
}
