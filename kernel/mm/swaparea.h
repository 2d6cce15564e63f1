/* SPDX-License-Identifier: MIT */
/*
 * The per-container swap area: a crash-safe page store.
 *
 * A checkpoint pushes every page of a container into STORE/NAME/swap; a
 * restart swaps them back in on fault.  Pages that are all zero take no
 * slot, identical pages share one slot (XXH3-128 then a full compare),
 * generation N+1 keeps the slots of pages unchanged since generation N, and
 * slots no kept generation uses are punched out of the file and reused.
 * A generation becomes visible only by an atomic rename of the metadata
 * file STORE/NAME/swap.idx.  The format is described in kernel/mm/SWAPAREA.md.
 *
 * Every read path treats both files as untrusted: a damaged area gives
 * ct_err "PATH: what is wrong" and a negative errno, never a crash.
 */
#ifndef CT_MM_SWAPAREA_H
#define CT_MM_SWAPAREA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctswap.h"

struct swp_area;		/* an open swap area (the data file + its metadata) */
struct swp_gen_writer;		/* a generation being written */
struct swp_gen_reader;		/* a committed generation opened for reading */

/* Container identity recorded in the header (name NUL-terminated). */
struct swp_identity {
	char name[65];
	uint64_t uuid_lo, uuid_hi;
};

#define SWP_OPEN_CREATE 1	/* create the area if absent */
#define SWP_OPEN_WRITE	2	/* take the writer lock (needed to write generations) */

/*
 * Open the swap area whose data file is @path (STORE/NAME/swap); its
 * metadata is @path.idx, the writer lock @path.lock.  @id may be NULL;
 * when given for an existing area its uuid must match the header (a zero
 * uuid matches any).  WRITE takes the writer lock without blocking and
 * fails with -EBUSY, ct_err "PATH: locked by another writer (pid N)".
 * Read-only opens take no lock and see the last committed generation as
 * it was at open time.  Without CREATE a missing area is -ENOENT.
 */
int swp_open(const char *path, const struct swp_identity *id, unsigned flags,
	     struct swp_area **out);
/* Close the area, releasing the writer lock.  Open readers must be closed first. */
void swp_close(struct swp_area *sa);
/* The newest committed generation; 0 when nothing was committed. */
unsigned swp_current_gen(const struct swp_area *sa);
/* The kept generations, oldest first: up to @max into @gens, the count in *@nr. */
int swp_generations(const struct swp_area *sa, unsigned *gens, size_t max, size_t *nr);
/* The identity recorded in the header. */
const struct swp_identity *swp_area_identity(const struct swp_area *sa);

/* ---- writing one generation (needs SWP_OPEN_WRITE) ---- */

struct swp_write_opts {
	bool compress;		/* pack new pages into lzma clusters */
	unsigned keep;		/* generations kept after commit, 0 = default 2 */
};

/*
 * Start generation swp_current_gen() + 1.  Only one writer per area at a
 * time (-EBUSY otherwise).  Slots of committed generations are never
 * written until the new generation is committed.
 */
int swp_gen_begin(struct swp_area *sa, const struct swp_write_opts *o,
		  struct swp_gen_writer **w);
/*
 * Store @nr consecutive pages starting at the page address @addr of the
 * mapping that starts at @mapping in task @task (an id chosen by the
 * caller).  @data holds nr * 4096 bytes and may be reused on return.
 * Zero, duplicate and unchanged pages take no new slot.  A page stored
 * twice in one generation is -EEXIST at commit.
 */
int swp_put_pages(struct swp_gen_writer *w, uint32_t task, uint64_t mapping, uint64_t addr,
		  const void *data, size_t nr);
/*
 * The same, but @data must stay as it is until swp_flush_held(): the pages
 * of many puts then go out in one write per run of slots, where each put
 * wrote its own (direct I/O: each write waits for the disk).
 */
int swp_put_pages_held(struct swp_gen_writer *w, uint32_t task, uint64_t mapping, uint64_t addr,
		       const void *data, size_t nr);
/* Write what the held puts queued; the caller may reuse their data then. */
int swp_flush_held(struct swp_gen_writer *w);

struct swp_gen_stats {
	uint64_t pages;		/* pages put */
	uint64_t zero;		/* all-zero pages: no slot */
	uint64_t dup;		/* shared a slot with another page of any generation */
	uint64_t unchanged;	/* kept the slot of the same page in the previous generation */
	uint64_t written;	/* pages that took a new slot */
	uint64_t compressed;	/* of those, pages stored in lzma clusters */
	uint64_t bytes_written;	/* bytes written to the data and metadata files */
};
/*
 * Make the generation visible atomically (write slots, fsync, write the
 * metadata aside, fsync, rename, fsync the directory), then drop
 * generations beyond opts.keep and punch their unused slots out of the
 * file.  *@gen gets its number and *@stats (may be NULL) the counts.
 * Frees @w either way; on failure the previous generation stays whole.
 * Fault injection: CTSWAP_FAULT=swap-commit:N fails at step N (1..7; doc/FAULTS.md).
 */
int swp_gen_commit(struct swp_gen_writer *w, unsigned *gen, struct swp_gen_stats *stats);
/* Drop the generation being written; the previous one stays as it was. */
void swp_gen_abort(struct swp_gen_writer *w);

/* ---- reading (the lazy server) ---- */

enum { SWP_PAGE_NONE = 0, SWP_PAGE_ZERO = 1, SWP_PAGE_DATA = 2 };

/* Open committed generation @gen (0 = current) for reading: -ENOENT if not kept. */
int swp_gen_open(struct swp_area *sa, unsigned gen, struct swp_gen_reader **r);
void swp_gen_close(struct swp_gen_reader *r);
/* The generation number a reader reads. */
unsigned swp_gen_number(const struct swp_gen_reader *r);
/*
 * A hint for a reader about to read every page (eager fill, background
 * prefetch): start reading the part of the index it will check, in large
 * requests and without waiting.  An open reads only what it checks, a
 * chunk at a time when first used; this keeps that from costing a small
 * read per chunk.
 */
void swp_gen_read_ahead(const struct swp_gen_reader *r);
/* The data file descriptor a reader reads from (a forked server must keep it open). */
int swp_reader_fd(const struct swp_gen_reader *r);
/*
 * Read pages [addr, addr + nr * 4096) of @task into @buf; @state (nr
 * bytes) gets per page SWP_PAGE_NONE (not in the generation; buf left
 * zero-filled), SWP_PAGE_ZERO (zero-filled) or SWP_PAGE_DATA.  Adjacent
 * slots are read with one preadv; compressed clusters go through a small
 * cache of decompressed clusters.  Safe to call from several threads on
 * the same reader at once.  A page whose data fails its check gives -EIO
 * with ct_err naming the area.
 */
int swp_read(struct swp_gen_reader *r, uint32_t task, uint64_t addr, size_t nr, void *buf,
	     uint8_t *state);
/*
 * A hint that pages [addr, addr + nr * 4096) of @task will be read soon:
 * start reading their slots (posix_fadvise WILLNEED, slots close together
 * in one request) without waiting.  Many hints in a row keep the device
 * busy with many requests at once where reads one after the other would
 * wait for each.  Compressed clusters are left to swp_read.  Safe from
 * several threads, like swp_read; 0 or -errno (a damaged index chunk).
 */
int swp_read_ahead(struct swp_gen_reader *r, uint32_t task, uint64_t addr, size_t nr);
/*
 * Call @fn for each run of consecutive present pages (ZERO or DATA) of
 * @task (UINT32_MAX: all tasks, in task order), in address order; runs do
 * not cross mappings.  A non-zero return from @fn stops the walk and is
 * returned.
 */
int swp_for_each_run(struct swp_gen_reader *r, uint32_t task,
		     int (*fn)(uint32_t task, uint64_t mapping, uint64_t addr, size_t nr, void *arg),
		     void *arg);

/*
 * Where a restore reads page contents from: one swap-area generation
 * (swp_page_source), or, in unit tests and benchmarks, something of their
 * own.  Both calls keep the contracts of swp_read and swp_for_each_run
 * (same SWP_PAGE_* states, safe from two threads at once).  The eager
 * restore uses read only; the lazy server both.
 */
struct page_source {
	void *arg;
	/* Pages [addr, addr + nr * 4096) of @task into @buf; @state gets SWP_PAGE_* per page. */
	int (*read)(void *arg, uint32_t task, uint64_t addr, size_t nr, void *buf, uint8_t *state);
	/* Optional (NULL: no hints): swp_read_ahead. */
	int (*read_ahead)(void *arg, uint32_t task, uint64_t addr, size_t nr);
	/* @fn for every run of stored pages of @task, in address order. */
	int (*for_each_run)(void *arg, uint32_t task,
			    int (*fn)(uint32_t task, uint64_t mapping, uint64_t addr, size_t nr,
				      void *fnarg),
			    void *fnarg);
};

/* The page source that reads generation @r (which must outlive it). */
struct page_source swp_page_source(struct swp_gen_reader *r);

/* ---- statistics and verification (ctswap inspect) ---- */

/*
 * Fill @st (struct ctswap_swap_info of the public API) for the open area:
 * generations, slot use, bytes on disk and per (generation, task, mapping)
 * page counts.  With @verify, read every page of every kept generation and
 * check its hash and every cluster's checksums.  Free with
 * swp_info_free().
 */
int swp_stat(struct swp_area *sa, bool verify, struct ctswap_swap_info *st);

/* Free what swp_stat() filled in (ctswap_swap_info_free()). */
void swp_info_free(struct ctswap_swap_info *info);

#endif
