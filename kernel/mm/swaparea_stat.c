// SPDX-License-Identifier: MIT
/* What a swap area holds, page by page, and a full verification of it (ctswap inspect). */
#define LOG_PREFIX "swaparea: "
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* fallocate, preadv: also when CFLAGS is overridden */
#endif
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctswap.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mm/swaparea_int.h"

_Static_assert(SWP_MAX_GENS == CTSWAP_MAX_GENS, "generation limits agree");

/* Add the counts of one extent to @row. */
static void row_add(struct swp_area *sa, const struct swp_gen *g, const struct swp_extent *e,
		    struct ctswap_swap_row *row)
{
	for (size_t i = e->first; i < e->first + e->npages; i++) {
		uint64_t r = g->ent[i].ref;
		uint64_t s;

		row->pages++;
		if (!r) {
			row->zero++;
			continue;
		}
		row->stored++;
		s = ref_type(r) == SWP_REF_CLUSTER ? ref_head(r) : ref_slot(r);
		if (ref_type(r) == SWP_REF_CLUSTER)
			row->compressed++;
		if (sa->map[s].count > 1)
			row->shared++;
	}
}

/* One row per (generation, task, mapping), from the sorted extents. */
static int stat_rows(struct swp_area *sa, struct ctswap_swap_info *st)
{
	size_t cap = 0;

	for (size_t gi = 0; gi < sa->nr_gens; gi++) {
		const struct swp_gen *g = sa->gens[gi];

		st->gens[gi] = g->gen;
		st->gen_pages[gi] = g->nr_ent;
		for (size_t x = 0; x < g->nr_ext; x++) {
			const struct swp_extent *e = &g->ext[x];
			struct ctswap_swap_row *row = st->nr_rows ? &st->rows[st->nr_rows - 1] : NULL;

			if (!row || row->gen != g->gen || row->task != e->task || row->mapping != e->mapping) {
				if (xgrow(&st->rows, &cap, st->nr_rows + 1, sizeof(*st->rows)))
					return -ENOMEM;
				row = &st->rows[st->nr_rows++];
				*row = (struct ctswap_swap_row){ .gen = g->gen, .task = e->task,
								 .mapping = e->mapping };
			}
			row_add(sa, g, e, row);
		}
	}
	return 0;
}

/* Read back every page of every kept generation; swp_read checks hashes and cluster checksums. */
static int stat_verify(struct swp_area *sa, struct ctswap_swap_info *st)
{
	uint8_t *buf, state[256];
	int ret = 0;

	buf = xmalloc(ARRAY_SIZE(state) * SWP_PAGE);
	if (!buf)
		return -ENOMEM;
	for (size_t gi = 0; gi < sa->nr_gens && !ret; gi++) {
		struct swp_gen_reader *r = NULL;
		const struct swp_gen *g = sa->gens[gi];

		ret = swp_gen_open(sa, g->gen, &r);
		for (size_t x = 0; x < g->nr_ext && !ret; x++) {
			const struct swp_extent *e = &g->ext[x];

			for (size_t done = 0; done < e->npages && !ret; done += ARRAY_SIZE(state)) {
				size_t n = min_t(size_t, e->npages - done, ARRAY_SIZE(state));

				ret = swp_read(r, e->task, e->addr + done * SWP_PAGE, n, buf, state);
				st->verified_pages += ret ? 0 : n;
			}
		}
		if (r)
			swp_gen_close(r);
	}
	free(buf);
	return ret;
}

/* Describe an open area; see swaparea.h. */
int swp_stat(struct swp_area *sa, bool verify, struct ctswap_swap_info *st)
{
	struct stat sb;
	int ret;

	memset(st, 0, sizeof(*st));
	/* the rows below follow every reference: check them all first */
	ret = swp_read_only(sa) ? swp_check(sa) : 0;
	if (ret)
		return ret;
	st->cur_gen = sa->cur_gen;
	st->nr_gens = sa->nr_gens;
	st->slots = sa->nr_slots;
	for (uint64_t s = 0; s < sa->nr_slots; s++) {
		st->slots_used += sa->map[s].info != SWP_SLOT_FREE;
		st->clusters += slot_type(&sa->map[s]) == SWP_SLOT_CLUSTER;
	}
	if (fstat(sa->fd, &sb) == 0) {
		st->data_bytes = (uint64_t)sb.st_blocks * 512;
		st->data_size = sb.st_size;
	}
	st->meta_bytes = sa->idx_size;
	ret = stat_rows(sa, st);
	if (!ret && verify)
		ret = stat_verify(sa, st);
	if (ret) {
		swp_info_free(st);
		return ret;
	}
	return 0;
}

/* Free what swp_stat allocated. */
void swp_info_free(struct ctswap_swap_info *info)
{
	if (!info)
		return;
	free(info->rows);
	info->rows = NULL;
	info->nr_rows = 0;
}
