// SPDX-License-Identifier: MIT
/*
 * holdpid PID: start a process that holds pid PID and print its pid; it
 * sleeps until killed.  clone3 with set_tid takes exactly that pid, so a
 * test need not race every other fork on the machine through ns_last_pid.
 * Exit 1 (with the reason) if the pid is taken, 2 on bad usage.
 */
#include <errno.h>
#include <linux/sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct clone_args ca;
	pid_t want, pid;

	if (argc != 2 || (want = atoi(argv[1])) <= 1) {
		fprintf(stderr, "usage: holdpid PID\n");
		return 2;
	}
	memset(&ca, 0, sizeof(ca));
	ca.set_tid = (uint64_t)(uintptr_t)&want;
	ca.set_tid_size = 1;	/* no exit signal: whoever adopts it reaps it */
	fflush(stdout);
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		fprintf(stderr, "holdpid: pid %d: %s\n", want, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		/* let the caller's $(...) end: keep none of its descriptors */
		for (int fd = 0; fd < 3; fd++)
			close(fd);
		for (;;)
			pause();
	}
	printf("%d\n", pid);
	return 0;
}
