/* SPDX-License-Identifier: MIT */
/*
 * crowd: many processes that depend on each other, for a restore that
 * rebuilds processes at the same time (kernel/restore/par.c).
 *
 *   crowd --procs N --out DIR          (N from 4 to 256; 24 if not given)
 *
 * The init forks session leaders; each calls setsid() and forks members:
 * the first member leads a process group of its own, the others join it.
 * So the tree has three levels, a session per leader, two groups in each.
 * All N processes form one ring of pipes (created by the init before any
 * fork): a token goes round, each process adds one to it, the init checks
 * it came back plus N - 1.  All share one MAP_SHARED anonymous region: on
 * every pass a process bumps its own slot there, and the init checks after
 * each round that every slot counts exactly the rounds so far (the region
 * is still one memory for all, not private copies).  Each process checks,
 * on every pass, that its pid, parent, session and group are the ones it
 * started with, and that a seeded private buffer is intact; a failure is
 * written into its slot.  The init appends to DIR/status every 0.1 s:
 *
 *   procs=N rounds=R ok          (or "... BAD <what>", sticky)
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MAX_PROCS 256
#define MEMBERS 3		/* per session leader */
#define PRIVATE_WORDS 4096	/* 32 KiB of seeded private memory each */

/* One process's place in the shared region. */
struct slot {
	volatile uint64_t passes;	/* tokens it forwarded */
	volatile int32_t pid;		/* as it saw itself at start */
	volatile char bad[84];		/* what its own check found, "" while fine */
};

static struct slot *slots;
static uint64_t *private_words;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* What process @i started as: its ids, and its private buffer seeded by them. */
struct self {
	int i;
	pid_t pid, ppid, sid, pgid;
};

static void self_note(struct self *s, int i)
{
	s->i = i;
	s->pid = getpid();
	s->ppid = getppid();
	s->sid = getsid(0);
	s->pgid = getpgid(0);
	private_words = malloc(PRIVATE_WORDS * sizeof(*private_words));
	if (!private_words)
		exit(1);
	for (int k = 0; k < PRIVATE_WORDS; k++)
		private_words[k] = mix((uint64_t)i << 32 | (uint64_t)k);
	slots[i].pid = s->pid;
}

/* Its ids and private memory as they were; the first difference goes into its slot. */
static void self_check(const struct self *s)
{
	volatile char *bad = slots[s->i].bad;
	char what[84] = "";

	if (bad[0])
		return;
	if (getpid() != s->pid || getppid() != s->ppid)
		snprintf(what, sizeof(what), "proc %d: pid %d ppid %d, was %d %d", s->i, getpid(),
			 getppid(), s->pid, s->ppid);
	else if (getsid(0) != s->sid || getpgid(0) != s->pgid)
		snprintf(what, sizeof(what), "proc %d: sid %d pgid %d, was %d %d", s->i, getsid(0),
			 getpgid(0), s->sid, s->pgid);
	for (int k = 0; k < PRIVATE_WORDS && !what[0]; k++)
		if (private_words[k] != mix((uint64_t)s->i << 32 | (uint64_t)k))
			snprintf(what, sizeof(what), "proc %d: private word %d changed", s->i, k);
	for (size_t k = 0; what[k]; k++)
		bad[k] = what[k];
}

/* Process @i of the ring: forward every token, plus one, from @in to @out. */
static void ring_member(int i, int in, int out)
{
	struct self s;

	self_note(&s, i);
	for (;;) {
		uint64_t t = get_token(in);

		self_check(&s);
		slots[i].passes++;
		put_token(out, t + 1);
	}
}

/* Close every ring end but process @i's two. */
static void keep_own_ends(int (*fds)[2], int n, int i)
{
	for (int k = 0; k < n; k++) {
		if (k != (i + n - 1) % n)
			close(fds[k][0]);
		if (k != i)
			close(fds[k][1]);
	}
}

/* A session leader (@i) and its members @i+1..@i+@members: a session, two groups. */
static void session(int (*fds)[2], int n, int i, int members)
{
	pid_t group = 0;

	setsid();
	for (int m = 1; m <= members; m++) {
		pid_t p = fork();

		if (p < 0)
			exit(1);
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			setpgid(0, group);	/* the first leads the group, the rest join */
			keep_own_ends(fds, n, i + m);
			ring_member(i + m, fds[(i + m + n - 1) % n][0], fds[i + m][1]);
		}
		if (!group)
			group = p;
		setpgid(p, group);	/* either side may run first */
	}
	keep_own_ends(fds, n, i);
	ring_member(i, fds[i - 1][0], fds[i][1]);
}

int main(int argc, char **argv)
{
	static int fds[MAX_PROCS][2];
	uint64_t token = 0, rounds = 0;
	const char *out = NULL;
	char bad[160] = "";
	struct self s;
	double last = 0;
	int n = 24;

	for (int a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--procs"))
			n = atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "--out"))
			out = argv[a + 1];
	}
	if (!out || n < 4 || n > MAX_PROCS || argc % 2 == 0) {
		fprintf(stderr, "usage: crowd [--procs N] --out DIR  (4 <= N <= %d)\n", MAX_PROCS);
		return 2;
	}
	slots = mmap(NULL, MAX_PROCS * sizeof(*slots), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		perror("crowd: mmap");
		return 1;
	}
	for (int k = 0; k < n; k++)
		if (pipe(fds[k]) < 0) {
			perror("crowd: pipe");
			return 1;
		}
	/* process i reads fds[i-1], writes fds[i]; the init is 0 */
	for (int i = 1; i < n; i += MEMBERS + 1) {
		pid_t p = fork();

		if (p < 0) {
			perror("crowd: fork");
			return 1;
		}
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			session(fds, n, i, i + MEMBERS < n ? MEMBERS : n - 1 - i);
		}
	}
	keep_own_ends(fds, n, 0);
	self_note(&s, 0);
	for (;;) {
		struct timespec ts = { 0, 2000000 }, now;
		uint64_t back;

		put_token(fds[0][1], token);
		back = get_token(fds[n - 1][0]);
		rounds++;
		self_check(&s);
		slots[0].passes++;
		if (back != token + (uint64_t)(n - 1) && !bad[0])
			snprintf(bad, sizeof(bad), "round %llu: sent %llu got %llu",
				 (unsigned long long)rounds, (unsigned long long)token,
				 (unsigned long long)back);
		for (int k = 0; k < n && !bad[0]; k++) {
			if (slots[k].bad[0])
				snprintf(bad, sizeof(bad), "%s", (const char *)slots[k].bad);
			else if (slots[k].passes != rounds)
				snprintf(bad, sizeof(bad), "round %llu: proc %d passed %llu times",
					 (unsigned long long)rounds, k,
					 (unsigned long long)slots[k].passes);
		}
		token = back;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec + now.tv_nsec / 1e9 - last >= 0.1) {
			last = now.tv_sec + now.tv_nsec / 1e9;
			status_append(out, "procs=%d rounds=%llu %s%s\n", n, (unsigned long long)rounds,
				      bad[0] ? "BAD " : "ok", bad);
		}
		nanosleep(&ts, NULL);
	}
}
