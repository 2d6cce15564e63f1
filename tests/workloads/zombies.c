/* SPDX-License-Identifier: MIT */
/*
 * zombies: children that exited and were not waited for must still be
 * there, with their exit status, after a restore.
 *
 * The parent (SIGCHLD blocked, every SIGCHLD consumed before "ready", so
 * none is pending at a dump) makes four zombies and one live child:
 *
 *   exit7   exit(7)
 *   term    killed by SIGTERM (its own raise)
 *   abrt    abort() with RLIMIT_CORE 0: SIGABRT, no core
 *   leader  its own process group, exit(3); the live child "member" is in
 *           that group, so the group must outlive its leader
 *   killed  SIGKILL from the parent
 *
 * DIR/status: "ready pids=A,B,C,D,E,F" once every zombie exists.  Then, on
 * each DIR/check-N the test creates, the parent looks at every zombie
 * without reaping it (waitid WNOWAIT): right pid, same status, still a
 * zombie; the member alive in the leader's group; no SIGCHLD pending (a
 * restore must not signal the exits again).  It writes "round=N ok" (or
 * "BAD <what>", sticky).  On DIR/final it reaps them all with waitpid,
 * checks the raw status words, that no other child is waitable, and
 * writes "final ok".
 *
 *   zombies --out DIR
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define NR_ZOMBIES 5

struct child {
	const char *name;
	pid_t pid;
	int status;		/* the raw wait status it must report */
};

static struct child zombies[NR_ZOMBIES] = {
	{ "exit7", 0, 7 << 8 },
	{ "term", 0, SIGTERM },
	{ "abrt", 0, SIGABRT },
	{ "leader", 0, 3 << 8 },
	{ "killed", 0, SIGKILL },
};
static pid_t member;
static char dir[4096], bad[160];

/* Write DIR/status atomically: @text, or the first failure once there is one. */
static void report(const char *text)
{
	put_status(dir, "%s\n", bad[0] ? bad : text);
}

/* Note the first failure; the status keeps it. */
static void fail(const char *what, const struct child *c, long got)
{
	if (!bad[0])
		snprintf(bad, sizeof(bad), "BAD %s %s (pid %d): got %#lx", what, c ? c->name : "-",
			 c ? c->pid : 0, got);
}

static void nap(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* True if DIR/@name exists. */
static bool exists(const char *name)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* The body of zombie @i: exit as it must. */
static void zombie_body(int i, int go)
{
	char c;

	if (i == 3) {
		setpgid(0, 0);
		/* wait until the member has joined the group (EOF) */
		if (read(go, &c, 1) < 0)
			_exit(99);
	}
	if (i == 4)
		for (;;)
			pause();
	if (i == 1) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
	}
	if (i == 2) {
		struct rlimit none = { 0, 0 };

		setrlimit(RLIMIT_CORE, &none);
		abort();
	}
	_exit(zombies[i].status >> 8);
}

/* Make the zombies and the member; return once each zombie has exited (not reaped). */
static int make_zombies(void)
{
	int go[2];
	sigset_t chld;

	if (pipe(go))
		return -1;
	for (int i = 0; i < NR_ZOMBIES; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return -1;
		if (pid == 0) {
			sigprocmask(SIG_SETMASK, &(sigset_t){ 0 }, NULL);
			close(go[1]);
			zombie_body(i, go[0]);
		}
		zombies[i].pid = pid;
		if (i == 3)
			setpgid(pid, pid);
	}
	close(go[0]);
	member = fork();
	if (member == 0) {
		close(go[1]);
		setpgid(0, zombies[3].pid);
		for (;;)
			pause();
	}
	if (member < 0 || setpgid(member, zombies[3].pid))
		return -1;
	kill(zombies[4].pid, SIGKILL);
	close(go[1]);	/* the leader exits now */
	for (int i = 0; i < NR_ZOMBIES; i++) {
		siginfo_t si;

		if (waitid(P_PID, zombies[i].pid, &si, WEXITED | WNOWAIT))
			return -1;
	}
	/* every exit has signalled us: none is pending at a dump */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (sigtimedwait(&chld, NULL, &(struct timespec){ 0, 0 }) == SIGCHLD)
		;
	return 0;
}

/* The status word a siginfo of waitid describes. */
static int status_of(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return si->si_status << 8;
	return si->si_status | (si->si_code == CLD_DUMPED ? 0x80 : 0);
}

/* Look at every zombie without reaping it, and at the rest of the family. */
static void check_round(void)
{
	sigset_t pending;

	for (int i = 0; i < NR_ZOMBIES; i++) {
		struct child *c = &zombies[i];
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, c->pid, &si, WEXITED | WNOHANG | WNOWAIT)) {
			fail("waitid", c, errno);
			continue;
		}
		if (si.si_pid != c->pid)
			fail("not exited", c, si.si_pid);
		else if (status_of(&si) != c->status)
			fail("status", c, status_of(&si));
	}
	if (kill(member, 0))
		fail("member gone", NULL, errno);
	else if (getpgid(member) != zombies[3].pid)
		fail("member's group", NULL, getpgid(member));
	if (getpgid(zombies[3].pid) != zombies[3].pid)
		fail("leader's group", &zombies[3], getpgid(zombies[3].pid));
	sigpending(&pending);
	if (sigismember(&pending, SIGCHLD))
		fail("SIGCHLD pending", NULL, 0);
}

/* Reap every zombie, checking the raw status; nothing else may be waitable. */
static void reap_all(void)
{
	int status;

	for (int i = 0; i < NR_ZOMBIES; i++) {
		struct child *c = &zombies[i];
		pid_t got = waitpid(c->pid, &status, WNOHANG);

		if (got != c->pid)
			fail("waitpid", c, got < 0 ? -errno : got);
		else if (status != c->status)
			fail("raw status", c, status);
	}
	status = (int)waitpid(-1, NULL, WNOHANG);
	if (status != 0)
		fail("another child waitable", NULL, status);
}

int main(int argc, char **argv)
{
	char text[160], name[32];
	sigset_t chld;
	int round = 0;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: zombies --out DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (make_zombies()) {
		snprintf(bad, sizeof(bad), "BAD setup: %s", strerror(errno));
		report("");
		return 1;
	}
	snprintf(text, sizeof(text), "ready pids=%d,%d,%d,%d,%d,%d", zombies[0].pid, zombies[1].pid,
		 zombies[2].pid, zombies[3].pid, zombies[4].pid, member);
	report(text);
	for (;;) {
		snprintf(name, sizeof(name), "check-%d", round + 1);
		if (exists(name)) {
			check_round();
			snprintf(text, sizeof(text), "round=%d ok", ++round);
			report(text);
		}
		if (exists("final")) {
			reap_all();
			report("final ok");
			for (;;)
				pause();
		}
		nap();
	}
}
