// SPDX-License-Identifier: MIT
/*
 * bench/dumpfloor: the floor under a dump's frozen time, measured on the
 * container the dump is timed on, in the same run:
 *
 *   freeze_seize  freeze its cgroup, seize and stop every thread, as the
 *                 dump does (seize_container())
 *   floor         then the least that must be read of each process while
 *                 it is stopped, on both CPUs at once: /proc/PID/smaps of
 *                 every process (the one place the kernel shows a mapping's
 *                 madvise flags, VmFlags), read by a second thread; on this
 *                 one every thread's registers and one injected system call
 *                 in every process, all started before any is waited for
 *                 (signal handlers, among others, can only be read from
 *                 inside the process), then the smaps the second thread has
 *                 not taken yet
 *
 * Nothing else a dump does is in the floor: no parsing, no file, no
 * descriptor, no page, no checkpoint written.  The text the injection uses
 * is found before the freeze (the dump finds it inside), so the floor is
 * below what a dump that keeps those can reach.  Median of RUNS runs; the container
 * runs on between them and after.
 *
 *   dumpfloor NAME    prints "FREEZE_SEIZE_MS FLOOR_MS" for ctswap's container NAME
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "freezer/cgroup.h"
#include "freezer/seize.h"
#include "inject/inject.h"
#include "lib/util.h"

#define RUNS		5
#define FREEZE_TIMEOUT	10000	/* ms */

static void die(const char *what, int err)
{
	fprintf(stderr, "dumpfloor: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* The processes of a seized set (thread group leaders' host pids). */
struct procs {
	pid_t *pids;
	size_t nr;
	size_t next;		/* the next whose smaps is to be read (atomic) */
};

static void procs_of(const struct seize_set *ss, struct procs *p)
{
	p->pids = calloc(ss->nr, sizeof(*p->pids));
	if (!p->pids)
		die("calloc", ENOMEM);
	p->nr = 0;
	p->next = 0;
	for (size_t i = 0; i < ss->nr; i++)
		if (!ss->threads[i].gone && ss->threads[i].tid == ss->threads[i].tgid)
			p->pids[p->nr++] = ss->threads[i].tgid;
}

/* The smaps of processes not taken yet by the other thread, each read whole. */
static void *read_smaps(void *arg)
{
	struct procs *p = arg;
	static __thread char buf[1 << 16];
	size_t i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < p->nr) {
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/smaps", p->pids[i]);
		f = fopen(path, "re");
		if (!f)
			die(path, errno);
		while (fread(buf, 1, sizeof(buf), f) == sizeof(buf))
			;
		fclose(f);
	}
	return NULL;
}

/* This thread: registers of every thread, one getpid() injected into every process at once. */
static void inject_all(const struct seize_set *ss, const struct procs *p, const unsigned long *ips)
{
	struct inj_ctx *ctxs = calloc(p->nr, sizeof(*ctxs));
	struct inj_ctx **ptrs = calloc(p->nr, sizeof(*ptrs));
	unsigned long (*args)[6] = calloc(p->nr, sizeof(*args));
	long *results = calloc(p->nr, sizeof(*results));
	int ret;

	if (!ctxs || !ptrs || !args || !results)
		die("calloc", ENOMEM);
	for (size_t i = 0; i < ss->nr; i++) {
		struct user_regs_struct regs;

		if (!ss->threads[i].gone && ss->threads[i].tid != ss->threads[i].tgid &&
		    ptrace(PTRACE_GETREGS, ss->threads[i].tid, NULL, &regs) < 0)
			die("PTRACE_GETREGS", errno);
	}
	for (size_t i = 0; i < p->nr; i++) {
		ret = inj_begin(&ctxs[i], p->pids[i], ips[i]);	/* the leader's registers */
		if (ret)
			die("inj_begin", ret);
		ptrs[i] = &ctxs[i];
	}
	ret = inj_syscall_wave(ptrs, p->nr, __NR_getpid, (const unsigned long (*)[6])args, results);
	if (ret)
		die("inj_syscall_wave", ret);
	for (size_t i = 0; i < p->nr; i++) {
		if (results[i] != p->pids[i] && results[i] <= 0)
			die("injected getpid", (int)results[i]);
		ret = inj_end(&ctxs[i]);
		if (ret)
			die("inj_end", ret);
	}
	free(ctxs);
	free(ptrs);
	free(args);
	free(results);
}

/* One run: *@fs the freeze and seize, *@floor what follows it. */
static void one_run(struct ct_cgroup *cg, double *fs, double *floor)
{
	struct seize_set ss = { 0 };
	struct procs p;
	unsigned long *ips;
	pthread_t reader;
	double t0, t1;
	int ret;

	/* the injection's text, before the freeze (a dump finds it inside) */
	ret = seize_container(cg, FREEZE_TIMEOUT, &ss);
	if (ret)
		die("seize", ret);
	procs_of(&ss, &p);
	ips = calloc(p.nr, sizeof(*ips));
	for (size_t i = 0; ips && i < p.nr; i++) {
		ret = inj_find_syscall_insn(p.pids[i], &ips[i]);
		if (ret)
			die("inj_find_syscall_insn", ret);
	}
	if (!ips)
		die("calloc", ENOMEM);
	unseize_container(&ss);
	free(p.pids);

	t0 = now_ms();
	ret = seize_container(cg, FREEZE_TIMEOUT, &ss);
	if (ret)
		die("seize", ret);
	t1 = now_ms();
	procs_of(&ss, &p);
	if (pthread_create(&reader, NULL, read_smaps, &p))
		die("pthread_create", errno);
	inject_all(&ss, &p, ips);
	read_smaps(&p);		/* then help with the rest */
	pthread_join(reader, NULL);
	*floor = now_ms() - t1;
	*fs = t1 - t0;
	unseize_container(&ss);
	free(p.pids);
	free(ips);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double fs[RUNS], floor[RUNS];
	struct ct_cgroup *cg;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: dumpfloor NAME\n");
		return 2;
	}
	ret = cg_open(argv[1], &cg);
	if (ret)
		die(argv[1], ret);
	for (int i = 0; i < RUNS; i++)
		one_run(cg, &fs[i], &floor[i]);
	cg_close(cg);
	qsort(fs, RUNS, sizeof(*fs), cmp_double);
	qsort(floor, RUNS, sizeof(*floor), cmp_double);
	printf("%.1f %.1f\n", fs[RUNS / 2], floor[RUNS / 2]);
	return 0;
}
