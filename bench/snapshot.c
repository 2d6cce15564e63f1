// SPDX-License-Identifier: MIT
/*
 * Snapshot dump benchmark: how long a container stays stopped during
 * `ctswap dump --leave-running`, with and without the copy-on-write
 * snapshot, against the cost of a bare fork() of a process of the same
 * size measured in the same run (the page-table copy is the floor).
 *
 * For each size (256 MiB and 1 GiB; 4 and 8 GiB too unless $CI is set, or
 * the sizes in MiB given as arguments) it starts the pattern workload in a
 * container, dumps once to fill the swap area, then dumps with the
 * snapshot and without it, BENCH_REPS (3) times each, and prints CSV rows
 * "bench,metric,value,unit,ratio_to,ratio" of the medians:
 *   fork_first_M    fork() of a freshly filled process (as a dump meets it)
 *   fork_again_M    fork() of the same process again
 *   frozen_snap_M   frozen time of the snapshot dump
 *   frozen_plain_M  frozen time of the plain dump (pages unchanged: read and compared)
 *   frozen_plain_first_M  the plain dump that filled the swap area (every page written)
 *   goal_snap_M     frozen_snap / (1.5 x fork_first + 5 ms): the goal is <= 1
 *   plain_over_snap_M  frozen_plain / frozen_snap: the goal is >= 20 at 4 GiB
 *   total_snap_M    whole snapshot dump (push after the thaw included)
 * The store lives in $BENCH_DIR (default /var/tmp/ctswap-bench-snap).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctswap.h"
#include "lib/util.h"

#define MIB (1024UL * 1024UL)
#define MAX_REPS 9

static int reps = 3;

/* Print one CSV row. */
static void row(const char *metric, unsigned mib, double value, const char *unit, const char *to,
		double base)
{
	printf("snapshot,%s_%u,%.2f,%s,%s,%.3f\n", metric, mib, value, unit, to,
	       base ? value / base : 0);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Time fork() of this process holding @mib MiB: first fork, and the median of later ones. */
static void measure_fork(unsigned mib, double *first, double *again)
{
	size_t len = (size_t)mib * MIB;
	double t[MAX_REPS];
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("bench: mmap");
		exit(1);
	}
	for (size_t i = 0; i < len; i += 4096)
		p[i] = (uint8_t)i | 1;
	for (int i = 0; i <= reps; i++) {
		double t0 = now_ms();
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (i == 0)
			*first = now_ms() - t0;
		else
			t[i - 1] = now_ms() - t0;
		waitpid(pid, NULL, 0);
	}
	*again = median(t, reps);
	munmap(p, len);
}

/* True once DIR/status says the pattern is filled and checked. */
static bool pattern_ready(const char *dir)
{
	char path[512], line[8192];
	FILE *f;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/status", dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f))
		ok = strstr(line, " ok") != NULL;
	fclose(f);
	return ok;
}

/* One dump; returns its stats or exits. */
static void dump(struct ctswap_store *store, const char *name, bool snapshot,
		 struct ctswap_dump_stats *st)
{
	struct ctswap_dump_opts o = { .leave_running = true, .no_snapshot = !snapshot };

	if (ctswap_dump(store, name, &o, st)) {
		fprintf(stderr, "bench: dump %s: %s\n", name, ctswap_last_error());
		exit(1);
	}
}

/* Measure one size. */
static void bench_size(struct ctswap_store *store, const char *dir, unsigned mib)
{
	char name[64], out[512], mibs[32];
	char *argv[] = { "../tests/workloads/pattern", "--mib", mibs, "--threads", "2",
			 "--seed", "7", "--out", out, NULL };
	struct ctswap_run_opts ro = { .argv = argv };
	double snap[MAX_REPS], plain[MAX_REPS], total[MAX_REPS], fork_first = 0, fork_again = 0;
	struct ctswap_dump_stats st;
	double deadline, first_plain;
	pid_t pid;

	measure_fork(mib, &fork_first, &fork_again);
	snprintf(name, sizeof(name), "bench-snap-%d-%u", getpid(), mib);
	snprintf(out, sizeof(out), "%s/%s.out", dir, name);
	snprintf(mibs, sizeof(mibs), "%u", mib);
	mkdir(out, 0700);
	if (ctswap_run(store, name, &ro, &pid)) {
		fprintf(stderr, "bench: run: %s\n", ctswap_last_error());
		exit(1);
	}
	deadline = now_ms() + 10000.0 + mib * 10.0;	/* first touch: ~3 s/GiB here */
	while (!pattern_ready(out) && now_ms() < deadline)
		usleep(100000);
	if (!pattern_ready(out)) {
		fprintf(stderr, "bench: pattern of %u MiB never got ready\n", mib);
		goto out_rm;
	}
	dump(store, name, false, &st);		/* fills the swap area */
	first_plain = st.frozen_ms;
	for (int i = 0; i < reps; i++) {
		dump(store, name, true, &st);
		snap[i] = st.frozen_ms;
		total[i] = st.total_ms;
		dump(store, name, false, &st);
		plain[i] = st.frozen_ms;
	}
	if (!pattern_ready(out))
		fprintf(stderr, "bench: pattern of %u MiB reports a failure\n", mib);
	row("fork_first", mib, fork_first, "ms", "", 0);
	row("fork_again", mib, fork_again, "ms", "fork_first", fork_first);
	row("frozen_snap", mib, median(snap, reps), "ms", "fork_first", fork_first);
	row("frozen_plain", mib, median(plain, reps), "ms", "fork_first", fork_first);
	row("frozen_plain_first", mib, first_plain, "ms", "frozen_snap", median(snap, reps));
	row("goal_snap", mib, median(snap, reps), "ms", "1.5fork+5ms", 1.5 * fork_first + 5);
	row("plain_over_snap", mib, median(plain, reps), "ms", "frozen_snap", median(snap, reps));
	row("total_snap", mib, median(total, reps), "ms", "frozen_snap", median(snap, reps));
out_rm:
	ctswap_rm(store, name, true);
}

int main(int argc, char **argv)
{
	unsigned sizes[16] = { 256, 1024, 4096, 8192 };
	int nr = getenv("CI") ? 2 : 4;
	const char *dir = getenv("BENCH_DIR") ?: "/var/tmp/ctswap-bench-snap";
	struct ctswap_store *store;

	if (getenv("BENCH_REPS"))
		reps = atoi(getenv("BENCH_REPS"));
	if (reps < 1 || reps > MAX_REPS)
		reps = 3;
	if (argc > 1) {
		nr = 0;
		for (int i = 1; i < argc && nr < 16; i++)
			sizes[nr++] = (unsigned)atoi(argv[i]);
	}
	signal(SIGCHLD, SIG_DFL);
	mkdir(dir, 0700);
	if (ctswap_store_open(dir, &store)) {
		fprintf(stderr, "bench: %s: %s\n", dir, ctswap_last_error());
		return 1;
	}
	for (int i = 0; i < nr; i++)
		bench_size(store, dir, sizes[i]);
	ctswap_store_close(store);
	remove_tree(dir);
	return 0;
}
