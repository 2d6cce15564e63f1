/* SPDX-License-Identifier: MIT */
/*
 * The working set of a checkpoint (STORE/NAME/wset): the pages a lazy
 * restore of it had to fetch on demand, recorded by the lazy server and
 * prefetched first at the next restore of the same swap generation, so the
 * program becomes useful before the rest of its memory arrives (the idea of
 * REAP, "record and prefetch").  Only a hint: a missing, stale or damaged
 * file loses the prefetch order, never a restore.  Format: wset.c.
 */
#ifndef CT_MM_WSET_H
#define CT_MM_WSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One recorded page: the swap-area key of the page (task key, address at dump). */
struct wset_page {
	uint32_t task;
	uint32_t zero;		/* 0 */
	uint64_t addr;
};

#define WSET_MAX_PAGES (1u << 22)	/* 16 GiB of memory: more is not recorded */

/* Write @nr pages recorded on swap generation @gen to @path (aside, fsync, rename). */
int wset_write(const char *path, unsigned gen, const struct wset_page *pages, size_t nr);

/*
 * Read the working set at @path recorded on generation @gen into *@pages
 * (free()), in the order the pages were first faulted, without duplicates;
 * and, when @sorted is given, the same pages sorted by (task, addr) into
 * *@sorted (free(); for wset_has).  -ENOENT if there is none, -ESTALE if it
 * belongs to another generation, -EUCLEAN (logged) if damaged.
 */
int wset_read(const char *path, unsigned gen, struct wset_page **pages, struct wset_page **sorted,
	      size_t *nr);

/* Is page @addr of @task among the @nr pages of @sorted (wset_read)? */
bool wset_has(const struct wset_page *sorted, size_t nr, uint32_t task, uint64_t addr);

#endif
