/* SPDX-License-Identifier: MIT */
/*
 * vforker: vforks without end, as a shell runs its commands, but the child
 * sleeps --child-ms before it execs /bin/true (even rounds) or _exits (odd
 * rounds).  So at almost any moment the parent sleeps in vfork until its
 * child leaves, the state a dump must get through (the parent cannot stop
 * until the child execs or exits).  DIR/status is rewritten atomically
 * after every round:
 *
 *   pid=P rounds=N ok          (or "BAD <what>", sticky)
 *
 *   vforker --out DIR [--child-ms MS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static const char *dir;
static char bad[128];
static unsigned long rounds;	/* static: the vfork child must not see it clobbered */

/* Write the status line through a temporary file and a rename. */
static void write_status(void)
{
	put_status(dir, "pid=%d rounds=%lu %s\n", getpid(), rounds, bad[0] ? bad : "ok");
}

int main(int argc, char **argv)
{
	long child_ms = 100;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--out"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "--child-ms"))
			child_ms = atol(argv[i + 1]);
	}
	if (!dir) {
		fprintf(stderr, "usage: vforker --out DIR [--child-ms MS]\n");
		return 2;
	}
	for (;;) {
		struct timespec ts = { child_ms / 1000, (child_ms % 1000) * 1000000 };
		char *const args[] = { "true", NULL };
		int status;
		pid_t pid;

		pid = vfork();
		if (pid == 0) {
			/* only system calls here: the child runs on the parent's memory */
			syscall(SYS_nanosleep, &ts, NULL);
			if (rounds % 2 == 0)
				execve("/bin/true", args, NULL);
			_exit(0);
		}
		if (pid < 0) {
			snprintf(bad, sizeof(bad), "BAD vfork: %s", strerror(errno));
		} else if (waitpid(pid, &status, 0) != pid) {
			snprintf(bad, sizeof(bad), "BAD waitpid: %s", strerror(errno));
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			if (!bad[0])
				snprintf(bad, sizeof(bad), "BAD child status 0x%x", status);
		}
		rounds++;
		write_status();
	}
}
