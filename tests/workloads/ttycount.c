/* SPDX-License-Identifier: MIT */
/*
 * ttycount: a program on the terminal a runtime gave it (podman run -t).
 *
 *   ttycount DIR
 *
 * At start it checks that fds 0-2 are one terminal, that it is its
 * controlling terminal with its own group in front, switches ECHO off
 * (a setting only a faithful restore keeps) and remembers the settings.
 * Then every 0.1 s it writes "tick N" to the terminal, checks the terminal
 * is still what it was (same settings, still its controlling terminal, its
 * group in front) and appends its status to DIR/status:
 *
 *   pid=P ticks=N lines=L last=WORD ok
 *   pid=P ticks=N lines=L last=WORD BAD <what>
 *
 * Each line typed on the terminal is answered "got:<line>" and counted
 * (last: its first word).  Once BAD, it stays BAD.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common.h"

static char bad[160];

static void fail(const char *what)
{
	if (!bad[0])
		snprintf(bad, sizeof(bad), "%s", what);
}

/* Are @a and @b the same settings (the parts a restore must keep)? */
static int same_termios(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && !memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc));
}

/* The terminal is as it was: settings, controlling terminal, foreground group. */
static void check_terminal(const struct termios *want)
{
	struct termios now;

	if (!isatty(0) || !isatty(1) || !isatty(2))
		fail("fds-0-2-not-a-terminal");
	else if (tcgetattr(0, &now) < 0 || !same_termios(&now, want))
		fail("terminal-settings-changed");
	else if (tcgetsid(0) != getsid(0))
		fail("not-the-controlling-terminal");
	else if (tcgetpgrp(0) != getpgrp())
		fail("not-the-foreground-group");
}

/* Answer one line typed on the terminal. */
static void read_line(unsigned long *lines, char *last, size_t size)
{
	char buf[256];
	ssize_t n = read(0, buf, sizeof(buf) - 1);

	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	(*lines)++;
	snprintf(last, size, "%.*s", (int)strcspn(buf, " "), buf[0] ? buf : "-");
	printf("got:%s\n", buf);
}

int main(int argc, char **argv)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	unsigned long ticks = 0, lines = 0;
	char last[64] = "-";
	struct termios want;

	if (argc != 2) {
		fprintf(stderr, "usage: ttycount DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tcgetattr(0, &want) < 0) {
		fail("no-terminal");
	} else {
		want.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(0, TCSANOW, &want) < 0 || tcgetattr(0, &want) < 0)
			fail("cannot-set-the-terminal");
	}
	for (;;) {
		int r = poll(&pfd, 1, 100);

		if (r > 0 && (pfd.revents & POLLIN)) {
			read_line(&lines, last, sizeof(last));
			continue;
		}
		if (r > 0 && (pfd.revents & (POLLHUP | POLLERR))) {
			fail("terminal-hung-up");
			poll(NULL, 0, 100);	/* it stays hung up: tick at the same pace */
		}
		printf("tick %lu\n", ++ticks);
		if (!bad[0])
			check_terminal(&want);
		status_append(argv[1], "pid=%d ticks=%lu lines=%lu last=%s %s%s\n", getpid(), ticks,
			      lines, last, bad[0] ? "BAD " : "ok", bad);
	}
}
