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
 *   size C R   -> set its window size (as stty cols C rows R), answer "size ok"
 *   anything   -> "echo:<line>"
 *
 * As a job-control shell runs a job: the session leader forks the worker,
 * which makes its own process group the terminal's foreground group and runs
 * the loop, while the leader waits in the background.  "ready" once.
 *
 *   ttyecho
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/wait.h>
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

/* The leader: wait for the worker in the background, exit as it did. */
static int leader_wait(pid_t worker)
{
	int status = 0;

	while (waitpid(worker, &status, 0) < 0)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(void)
{
	char line[4096];
	unsigned long n = 0;
	int devtty;
	pid_t worker;

	setvbuf(stdout, NULL, _IOLBF, 0);
	worker = fork();
	if (worker > 0)
		return leader_wait(worker);
	/* the worker: its own group in front, as a shell puts a job there */
	signal(SIGTTOU, SIG_IGN);
	setpgid(0, 0);
	tcsetpgrp(0, getpgrp());
	signal(SIGTTOU, SIG_DFL);
	devtty = open("/dev/tty", O_RDWR);
	printf("ready pid=%d devtty=%d fg=%d\n", getpid(), devtty >= 0, tcgetpgrp(0) == getpgrp());
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		n++;
		if (!strcmp(line, "state")) {
			print_state(n, devtty);
		} else if (!strncmp(line, "size ", 5)) {
			struct winsize ws = { 0 };
			unsigned int c = 0, r = 0;

			sscanf(line + 5, "%u %u", &c, &r);
			ws.ws_col = (unsigned short)c;
			ws.ws_row = (unsigned short)r;
			printf("size %s\n", ioctl(0, TIOCSWINSZ, &ws) == 0 ? "ok" : "failed");
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
	return 0;
}
