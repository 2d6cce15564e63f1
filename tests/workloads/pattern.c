/* SPDX-License-Identifier: MIT */
/*
 * pattern: a self-checking workload for dump and restore tests.
 *
 *   pattern --mib N --threads T --seed S --out DIR [--dirty-kib K]
 *
 * Fills N MiB of private anonymous memory with a pattern computed from the
 * seed and the word's position (so it is checked without a second copy),
 * plus a zero region (touched, all zero) and a duplicate region (a copy of
 * the pattern's first part).  T threads each bump their own counter in
 * memory, checking before every bump that memory still holds the value
 * they last wrote (kept in a local).  Every 0.1 s the main thread verifies
 * everything and atomically writes DIR/status, one line:
 *
 *   pid=P tids=T0,T1,... counters=C1,C2,... checks=N ok
 *   pid=P tids=... counters=... checks=N BAD <what>
 *
 * Once BAD, it stays BAD.  SIGUSR1 makes it check at once.  --dirty-kib K
 * rewrites the first K KiB of the pattern with its own values each round,
 * which keeps those pages written without changing their content.
 * Only plain files are used (no sockets), so every dumper supports it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MIB (1024UL * 1024UL)
#define MAX_THREADS 64

struct counter {
	volatile uint64_t value;
	char pad[56];			/* one cache line each */
};

static uint64_t *pat;			/* the pattern, pat_words words */
static size_t pat_words;
static uint8_t *zero_region;		/* touched, must stay all zero */
static size_t zero_len;
static uint64_t *dup_region;		/* copy of the pattern's first dup_words */
static size_t dup_words;
static uint64_t seed;
static struct counter *counters;	/* own page, one per thread */
static pid_t tids[MAX_THREADS + 1];
static int nr_threads;
static char bad[256];			/* first failure, sticky */
static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t check_now;

/* splitmix64 finaliser: a good 64-bit mix of one value. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The pattern's word @i: a mixed value per page, varied cheaply per word. */
static inline uint64_t pattern_word(uint64_t page_base, size_t i)
{
	return page_base ^ ((uint64_t)i * 0x2545f4914f6cdd1dULL);
}

/* Remember the first failure; later ones are dropped. */
static void set_bad(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&bad_lock);
	if (!bad[0]) {
		va_start(ap, fmt);
		vsnprintf(bad, sizeof(bad), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&bad_lock);
}

/* Write the pattern into words [from, to) of @buf. */
static void pattern_fill(uint64_t *buf, size_t from, size_t to)
{
	uint64_t base = mix(seed ^ (from / 512));

	for (size_t i = from; i < to; i++) {
		if (i % 512 == 0)
			base = mix(seed ^ (i / 512));
		buf[i] = pattern_word(base, i);
	}
}

/* Check words [0, n) of @buf against the pattern; returns the first bad index or -1. */
static long pattern_check(const uint64_t *buf, size_t n)
{
	for (size_t p = 0; p * 512 < n; p++) {
		uint64_t base = mix(seed ^ p);
		size_t end = (p + 1) * 512 < n ? (p + 1) * 512 : n;

		for (size_t i = p * 512; i < end; i++)
			if (buf[i] != pattern_word(base, i))
				return (long)i;
	}
	return -1;
}

/* Verify the pattern, the zero region and the duplicate region. */
static void check_all(void)
{
	long bad_at;
	size_t i;

	bad_at = pattern_check(pat, pat_words);
	if (bad_at >= 0)
		set_bad("pattern word %ld at %p", bad_at, (void *)&pat[bad_at]);
	bad_at = pattern_check(dup_region, dup_words);
	if (bad_at >= 0)
		set_bad("duplicate word %ld at %p", bad_at, (void *)&dup_region[bad_at]);
	for (i = 0; i < zero_len; i++)
		if (zero_region[i]) {
			set_bad("zero region byte %zu is %u", i, zero_region[i]);
			break;
		}
}

/* Worker: bump our counter, checking memory kept what we wrote. */
static void *worker(void *arg)
{
	int idx = (int)(long)arg;
	struct timespec ts = { 0, 1000000 };	/* 1 ms: sleeps often, so dumps catch it in nanosleep */
	uint64_t mine = 0;

	tids[idx + 1] = (pid_t)syscall(SYS_gettid);
	for (;;) {
		if (counters[idx].value != mine)
			set_bad("thread %d counter %llu, expected %llu", idx,
				(unsigned long long)counters[idx].value,
				(unsigned long long)mine);
		mine++;
		counters[idx].value = mine;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Write DIR/status atomically: a reader sees the old or the new line. */
static void write_status(const char *dir, unsigned long checks)
{
	char line[8192];
	size_t off = 0;
	int i;

	off += snprintf(line + off, sizeof(line) - off, "pid=%d tids=", getpid());
	for (i = 0; i <= nr_threads; i++)
		off += snprintf(line + off, sizeof(line) - off, "%s%d", i ? "," : "", tids[i]);
	off += snprintf(line + off, sizeof(line) - off, " counters=");
	for (i = 0; i < nr_threads; i++)
		off += snprintf(line + off, sizeof(line) - off, "%s%llu", i ? "," : "",
				(unsigned long long)counters[i].value);
	pthread_mutex_lock(&bad_lock);
	off += snprintf(line + off, sizeof(line) - off, " checks=%lu %s%s\n", checks,
			bad[0] ? "BAD " : "ok", bad);
	pthread_mutex_unlock(&bad_lock);
	put_file(dir, "status", line);
}

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

/* Map @len bytes of private anonymous memory or die. */
static void *map_or_die(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("pattern: mmap");
		exit(1);
	}
	return p;
}

static void usage(void)
{
	fprintf(stderr, "usage: pattern --mib N --threads T --seed S --out DIR [--dirty-kib K]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long mib = 16, dirty_kib = 0, checks = 0;
	const char *out = NULL;
	struct sigaction sa;
	pthread_t th;
	int i;

	nr_threads = 2;
	seed = 1;
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--mib"))
			mib = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--threads"))
			nr_threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--out"))
			out = argv[++i];
		else if (!strcmp(argv[i], "--dirty-kib"))
			dirty_kib = strtoul(argv[++i], NULL, 0);
		else
			usage();
	}
	if (!out || mib == 0 || nr_threads < 0 || nr_threads > MAX_THREADS)
		usage();

	pat_words = mib * MIB / 8;
	pat = map_or_die(pat_words * 8);
	pattern_fill(pat, 0, pat_words);
	zero_len = mib * MIB / 8 > MIB ? MIB : mib * MIB / 8;
	if (zero_len < 4096)
		zero_len = 4096;
	zero_region = map_or_die(zero_len);
	memset(zero_region, 0, zero_len);	/* present, but all zero */
	dup_words = zero_len / 8;
	if (dup_words > pat_words)
		dup_words = pat_words;
	dup_region = map_or_die(dup_words * 8);
	memcpy(dup_region, pat, dup_words * 8);
	counters = map_or_die(4096 * ((sizeof(*counters) * MAX_THREADS + 4095) / 4096));
	if (dirty_kib * 1024 / 8 > pat_words)
		dirty_kib = pat_words * 8 / 1024;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	tids[0] = (pid_t)syscall(SYS_gettid);
	for (i = 0; i < nr_threads; i++)
		if (pthread_create(&th, NULL, worker, (void *)(long)i)) {
			fprintf(stderr, "pattern: pthread_create failed\n");
			return 1;
		}
	/* Wait until every worker has published its tid. */
	for (i = 1; i <= nr_threads; i++)
		while (!__atomic_load_n(&tids[i], __ATOMIC_ACQUIRE))
			usleep(1000);

	for (;;) {
		struct timespec ts = { 0, 100000000 };

		if (dirty_kib)
			pattern_fill(pat, 0, dirty_kib * 1024 / 8);
		check_now = 0;
		check_all();
		checks++;
		write_status(out, checks);
		if (!check_now)
			nanosleep(&ts, NULL);
	}
}
