/* SPDX-License-Identifier: MIT */
/*
 * ttyecho: a program on the container's console.  It holds /dev/tty open
 * (a second description of its terminal), reads lines from stdin and answers
 * on stdout:
 *
 *   state      -> "state n=N cols=C rows=R echo=E icanon=I ctty=T fg=F devtty=D"
 *                 (N: lines read so far; T: /dev/tty opens; F: its group is
 *                 the terminal's foreground; D: the held /dev/tty fd answers)
 *   raw        -> switch off ECHO on its terminal, answer "raw ok"
 *   anything   -> "echo:<line>"
 *
 * It starts a background child in its own process group, so the foreground
 * group differs from some process of the session, and prints "ready" once.
 *
 *   ttyecho
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* Print the terminal state as the program sees it. */
static void print_state(unsigned long n, int devtty)
{
	struct winsize ws = { 0 };
	struct termios t = { 0 };
	struct termios dt;
	int fd, ctty = 0;

	ioctl(0, TIOCGWINSZ, &ws);
	tcgetattr(0, &t);
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		ctty = 1;
		close(fd);
	}
	printf("state n=%lu cols=%u rows=%u echo=%d icanon=%d ctty=%d fg=%d devtty=%d\n", n,
	       ws.ws_col, ws.ws_row, !!(t.c_lflag & ECHO), !!(t.c_lflag & ICANON), ctty,
	       tcgetpgrp(0) == getpgrp(), tcgetattr(devtty, &dt) == 0);
}

int main(void)
{
	char line[4096];
	unsigned long n = 0;
	int devtty = open("/dev/tty", O_RDWR);
	pid_t child;

	setvbuf(stdout, NULL, _IOLBF, 0);
	child = fork();
	if (child == 0) {
		/* a background group of the same session: never reads the terminal */
		setpgid(0, 0);
		for (;;)
			pause();
	}
	setpgid(child, child);
	printf("ready pid=%d devtty=%d\n", getpid(), devtty >= 0);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		n++;
		if (!strcmp(line, "state")) {
			print_state(n, devtty);
		} else if (!strcmp(line, "raw")) {
			struct termios t;

			tcgetattr(0, &t);
			t.c_lflag &= ~ECHO;
			tcsetattr(0, TCSANOW, &t);
			printf("raw ok\n");
		} else {
			printf("echo:%s\n", line);
		}
	}
	kill(child, SIGKILL);
	return 0;
}
