// SPDX-License-Identifier: MIT
/*
 * Test helper: check that a swap-area generation holds the memory of the
 * seqwrite workload (tests/workloads/seqwrite.c) exactly as it was at one
 * instant: the control page says S steps were complete, every page holds
 * what step < S wrote last, and only page S mod P may be half written
 * (a prefix of S + 1, the rest its value before).
 *
 *   seqcheck SWAP INFO [GEN]     (GEN 0 or absent: the newest)
 *
 * Prints "ok steps=S pages=P" and exits 0, or "BAD ..." and exits 1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "mm/swaparea.h"

#define PG 4096UL
#define WORDS (PG / 8)
#define CHUNK 256

struct region {
	char kind[16];
	uint64_t addr, pages;
};

static struct region regions[8];
static int nr_regions;
static uint64_t total, steps;

/* The value page @n holds once every step before @s is done. */
static uint64_t expected(uint64_t n, uint64_t s)
{
	if (s == 0 || s - 1 < n)
		return ~0ULL;
	return n + total * ((s - 1 - n) / total) + 1;
}

/* Check one page's words; NULL if fine, else what is wrong. */
static const char *check_page(const uint64_t *w, uint64_t n, uint8_t state)
{
	uint64_t want = expected(n, steps);
	size_t i = 0;

	if (state != SWP_PAGE_DATA)
		return state == SWP_PAGE_NONE ? "not stored" : "all zero";
	if (n == steps % total) {
		/* the step in progress: a prefix of the new value, then the old one */
		while (i < WORDS && w[i] == steps + 1)
			i++;
	}
	for (; i < WORDS; i++)
		if (w[i] != want)
			return "wrong word";
	return NULL;
}

int main(int argc, char **argv)
{
	static uint64_t buf[CHUNK * WORDS];
	uint8_t state[CHUNK];
	struct swp_gen_reader *r;
	struct swp_area *sa;
	uint64_t ctl = 0, n = 0;
	uint32_t task = 0;
	char line[256];
	FILE *f;

	if (argc < 3)
		return 2;
	f = fopen(argv[2], "r");
	if (!f)
		return 2;
	while (fgets(line, sizeof(line), f)) {
		struct region *rg = &regions[nr_regions];

		if (sscanf(line, "pid=%" SCNu32 " ctl=%" SCNx64, &task, &ctl) == 2)
			continue;
		if (nr_regions < 8 && sscanf(line, "region %15s %" SCNx64 " %" SCNu64, rg->kind,
					     &rg->addr, &rg->pages) == 3) {
			total += rg->pages;
			nr_regions++;
		}
	}
	fclose(f);
	if (!task || !ctl || !total)
		return printf("BAD %s: no pid, ctl or regions\n", argv[2]), 1;
	if (swp_open(argv[1], NULL, 0, &sa) ||
	    swp_gen_open(sa, argc > 3 ? (unsigned)atoi(argv[3]) : 0, &r))
		return printf("BAD %s: cannot open\n", argv[1]), 1;
	if (swp_read(r, task, ctl, 1, buf, state) || state[0] != SWP_PAGE_DATA)
		return printf("BAD control page not stored\n"), 1;
	steps = buf[0];
	for (int i = 0; i < nr_regions; i++) {
		const struct region *rg = &regions[i];
		bool shm = !strcmp(rg->kind, "shm");

		for (uint64_t p = 0; p < rg->pages; p += CHUNK) {
			size_t nr = rg->pages - p < CHUNK ? rg->pages - p : CHUNK;
			uint64_t addr = shm ? p * PG : rg->addr + p * PG;

			if (swp_read(r, shm ? CT_SHM_KEY_BASE : task, addr, nr, buf, state))
				return printf("BAD %s: read failed\n", rg->kind), 1;
			for (size_t j = 0; j < nr; j++) {
				const char *why = check_page(buf + j * WORDS, n + p + j, state[j]);

				if (why)
					return printf("BAD steps=%" PRIu64 " %s page %" PRIu64
						      " (logical %" PRIu64 "): %s: first word %" PRIu64
						      ", want %" PRIu64 "\n", steps, rg->kind, p + j,
						      n + p + j, why, buf[j * WORDS],
						      expected(n + p + j, steps)), 1;
			}
		}
		n += rg->pages;
	}
	printf("ok steps=%" PRIu64 " pages=%" PRIu64 "\n", steps, total);
	swp_gen_close(r);
	swp_close(sa);
	return 0;
}
