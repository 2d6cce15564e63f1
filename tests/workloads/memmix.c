/* SPDX-License-Identifier: MIT */
/*
 * memmix: memory of a chosen mix for swap-area size benchmarks.
 *
 *   memmix --mib N [--zero-pct Z] [--dup-pct D] [--change-pct C] [--seed S] --out DIR
 *
 * Fills N MiB of private anonymous memory page by page: Z% of the pages are
 * touched but all zero, D% are copies of one of the random pages, the rest
 * hold seeded pseudo-random bytes.  The kinds are interleaved (page i's kind
 * comes from (i * 37) % 100), so every stretch of 100 pages has the mix.
 * Then it writes DIR/status and sleeps:
 *
 *   pid=P pages=N zero=Z dup=D random=R round=K changed=M checks=C ok
 *
 * SIGUSR1 starts a new round: C% of the pages (default 1), spread evenly,
 * get new random content (a round number per page says which); SIGUSR2
 * checks every page against what it must hold.  The status is rewritten
 * after each; once BAD it stays BAD.  Only plain files are used.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define PAGE		4096UL
#define WORDS		(PAGE / 8)
#define NR_SOURCES	64	/* random pages that duplicates copy */

enum { KIND_RANDOM, KIND_ZERO, KIND_DUP };

static uint8_t *mem;
static size_t nr_pages;
static uint8_t *round_of;	/* per page: the round that last wrote it */
static unsigned zero_pct, dup_pct, change_pct = 1;
static uint64_t seed = 1;
static size_t counts[3], changed;
static unsigned round_nr;
static unsigned long checks;
static char bad[256];
static volatile sig_atomic_t want_change, want_check;

/* splitmix64 finaliser. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The kind of page @i. */
static int page_kind(size_t i)
{
	unsigned c = (unsigned)((i * 37) % 100);

	if (c < zero_pct)
		return KIND_ZERO;
	if (c < zero_pct + dup_pct)
		return KIND_DUP;
	return KIND_RANDOM;
}

/* Random content of page @i in round @r into @buf. */
static void random_page(size_t i, unsigned r, uint64_t *buf)
{
	uint64_t x = mix(seed ^ (i << 8) ^ r) | 1;

	for (size_t w = 0; w < WORDS; w++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[w] = x;
	}
}

/* What page @i must hold now into @buf. */
static void expected_page(size_t i, uint64_t *buf)
{
	unsigned r = round_of[i];

	if (r) {
		random_page(i, r, buf);
		return;
	}
	switch (page_kind(i)) {
	case KIND_ZERO:
		memset(buf, 0, PAGE);
		break;
	case KIND_DUP:
		random_page(i % NR_SOURCES, 0, buf);	/* a copy of a source's content */
		break;
	default:
		random_page(i, 0, buf);
	}
}

/* Fill every page with its first content. */
static void fill(void)
{
	for (size_t i = 0; i < nr_pages; i++) {
		int k = page_kind(i);

		counts[k]++;
		expected_page(i, (uint64_t *)(mem + i * PAGE));
	}
}

/* A new round: rewrite change_pct% of the pages, spread evenly, with new content. */
static void change_round(void)
{
	size_t step = change_pct ? 100 / change_pct : 0, n = 0;

	if (!step || ++round_nr > 255)
		return;
	for (size_t i = round_nr % step; i < nr_pages; i += step) {
		round_of[i] = (uint8_t)round_nr;
		random_page(i, round_nr, (uint64_t *)(mem + i * PAGE));
		n++;
	}
	changed = n;
}

/* Check every page; remember the first bad one. */
static void check(void)
{
	static uint64_t want[WORDS];

	checks++;
	for (size_t i = 0; i < nr_pages && !bad[0]; i++) {
		expected_page(i, want);
		if (memcmp(mem + i * PAGE, want, PAGE))
			snprintf(bad, sizeof(bad), "page %zu at %p", i, (void *)(mem + i * PAGE));
	}
}

/* Write DIR/status atomically. */
static void write_status(const char *dir)
{
	put_status(dir, "pid=%d pages=%zu zero=%zu dup=%zu random=%zu round=%u changed=%zu checks=%lu %s%s\n",
		   getpid(), nr_pages, counts[KIND_ZERO], counts[KIND_DUP], counts[KIND_RANDOM], round_nr,
		   changed, checks, bad[0] ? "BAD " : "ok", bad);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_change = 1;
	else
		want_check = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: memmix --mib N [--zero-pct Z] [--dup-pct D] [--change-pct C] "
		"[--seed S] --out DIR\n");
	exit(2);
}

/* Map @len bytes of private anonymous memory or die. */
static void *map_or_die(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("memmix: mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	unsigned long mib = 0;
	const char *out = NULL;
	struct sigaction sa;
	int i;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--mib"))
			mib = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--zero-pct"))
			zero_pct = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--dup-pct"))
			dup_pct = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--change-pct"))
			change_pct = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--out"))
			out = argv[++i];
		else
			usage();
	}
	if (!out || !mib || zero_pct + dup_pct > 100 || change_pct > 100)
		usage();

	nr_pages = mib * 1024 * 1024 / PAGE;
	mem = map_or_die(nr_pages * PAGE);
	round_of = map_or_die(nr_pages);
	memset(round_of, 0, nr_pages);
	fill();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	write_status(out);
	for (;;) {
		struct timespec ts = { 0, 100000000 };

		if (want_change) {
			want_change = 0;
			change_round();
			write_status(out);
		}
		if (want_check) {
			want_check = 0;
			check();
			write_status(out);
		}
		nanosleep(&ts, NULL);
	}
}
