/* SPDX-License-Identifier: MIT */
/*
 * seqwrite: a workload that never stops writing a known sequence into its
 * memory, so that a dump taken while it runs can be checked against the
 * one instant it was frozen at (tests/tools/seqcheck).
 *
 *   seqwrite --mib N --out DIR [--special]
 *
 * Memory is a list of pages: N MiB of private anonymous memory and, with
 * --special, 1 MiB each of shared anonymous memory, MADV_DONTFORK,
 * MADV_WIPEONFORK and mlock()ed memory (what a fork does not snapshot, or
 * snapshots differently).  Every page starts all 0xff.  A writer thread
 * runs steps k = 0, 1, 2, ... without pause: step k writes k + 1 into every
 * word of page k mod P, in order, then stores k + 1 into the control page.
 * So a control value S says: steps < S are complete, step S may be half
 * done (a prefix of its page holds S + 1, the rest the value before).
 *
 * DIR/info (written once): "pid=P ctl=ADDR" and one line per region
 * "region KIND ADDR PAGES" (KIND anon, shm, dontfork, wipeonfork, locked).
 * DIR/status (every 10 ms, atomically): "pid=P steps=S ok".
 *
 * Once DIR/verify exists (create it before a restore), the writer stops at
 * the next step boundary and the whole memory is checked against the
 * control value: status becomes "pid=P steps=S verified ok" or
 * "... verified BAD page N: ...".  Pages not rewritten since the restore
 * still hold what the restore put there, so this checks the restored
 * image (the writer needs a while to go round all pages).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define PG 4096UL
#define WORDS (PG / 8)
#define MAX_REGIONS 5

struct region {
	const char *kind;
	uint8_t *addr;
	size_t pages;
};

static struct region regions[MAX_REGIONS];
static int nr_regions;
static size_t total_pages;
static volatile uint64_t *ctl;
static volatile int pause_req, paused;

/* Map a region of @mib MiB of the given kind, filled with 0xff. */
static void add_region(const char *kind, size_t mib, int flags, int advice, int lock)
{
	size_t len = mib << 20;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("seqwrite: mmap");
		exit(1);
	}
	if (advice && madvise(p, len, advice)) {
		perror("seqwrite: madvise");
		exit(1);
	}
	if (lock && mlock(p, len)) {
		perror("seqwrite: mlock");
		exit(1);
	}
	memset(p, 0xff, len);
	regions[nr_regions++] = (struct region){ kind, p, len / PG };
	total_pages += len / PG;
}

/* The address of logical page @n. */
static volatile uint64_t *page_at(size_t n)
{
	for (int i = 0; i < nr_regions; i++) {
		if (n < regions[i].pages)
			return (volatile uint64_t *)(regions[i].addr + n * PG);
		n -= regions[i].pages;
	}
	abort();
}

/* The writer: step after step, forever. */
static void *writer(void *arg)
{
	(void)arg;
	for (uint64_t k = *ctl;; k++) {
		volatile uint64_t *pg = page_at(k % total_pages);

		if (pause_req) {
			paused = 1;
			for (;;)
				pause();
		}
		for (size_t i = 0; i < WORDS; i++)
			pg[i] = k + 1;
		__atomic_store_n(ctl, k + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* The value page @n holds once every step before @s is done. */
static uint64_t expected(uint64_t n, uint64_t s)
{
	if (s == 0 || s - 1 < n)
		return ~0ULL;
	return n + total_pages * ((s - 1 - n) / total_pages) + 1;
}

/* With the writer paused at a step boundary: check every page; NULL if all fine. */
static const char *verify(char *why, size_t size)
{
	uint64_t s = *ctl;

	for (size_t n = 0; n < total_pages; n++) {
		volatile uint64_t *pg = page_at(n);

		for (size_t i = 0; i < WORDS; i++)
			if (pg[i] != expected(n, s)) {
				snprintf(why, size, "BAD page %zu word %zu: %llu, want %llu", n, i,
					 (unsigned long long)pg[i],
					 (unsigned long long)expected(n, s));
				return why;
			}
	}
	return NULL;
}


int main(int argc, char **argv)
{
	const char *out = NULL;
	size_t mib = 16, off = 0;
	bool special = false;
	char info[4096];
	pthread_t th;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--special"))
			special = true;
		else
			out = NULL, i = argc;
	}
	if (!out || !mib) {
		fprintf(stderr, "usage: seqwrite --mib N --out DIR [--special]\n");
		return 2;
	}
	ctl = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		return 1;
	ctl[0] = 0;
	add_region("anon", mib, MAP_PRIVATE, 0, 0);
	if (special) {
		add_region("shm", 1, MAP_SHARED, 0, 0);
		add_region("dontfork", 1, MAP_PRIVATE, MADV_DONTFORK, 0);
		add_region("wipeonfork", 1, MAP_PRIVATE, MADV_WIPEONFORK, 0);
		add_region("locked", 1, MAP_PRIVATE, 0, 1);
	}
	off += snprintf(info + off, sizeof(info) - off, "pid=%d ctl=%p\n", getpid(), (void *)ctl);
	for (int i = 0; i < nr_regions; i++)
		off += snprintf(info + off, sizeof(info) - off, "region %s %p %zu\n", regions[i].kind,
				(void *)regions[i].addr, regions[i].pages);
	put_file(out, "info", info);
	if (pthread_create(&th, NULL, writer, NULL))
		return 1;
	for (;;) {
		struct timespec ts = { 0, 10000000 };
		char line[512], why[256], vpath[4096];
		const char *verdict = "";

		snprintf(vpath, sizeof(vpath), "%s/verify", out);
		if (!pause_req && access(vpath, F_OK) == 0) {
			pause_req = 1;
			while (!paused)
				usleep(100);
			verdict = verify(why, sizeof(why)) ?: "ok";
			snprintf(line, sizeof(line), "pid=%d steps=%llu verified %s\n", getpid(),
				 (unsigned long long)*ctl, verdict);
			put_file(out, "status", line);
		}
		if (!pause_req) {
			snprintf(line, sizeof(line), "pid=%d steps=%llu ok\n", getpid(),
				 (unsigned long long)__atomic_load_n(ctl, __ATOMIC_ACQUIRE));
			put_file(out, "status", line);
		}
		nanosleep(&ts, NULL);
	}
}
