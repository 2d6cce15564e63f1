/* SPDX-License-Identifier: MIT */
/*
 * Private to kernel/mm/swaparea*.c: the on-disk layout (see SWAPAREA.md)
 * and the in-memory state of an open area.  All on-disk integers are
 * little-endian; the structures are fixed-size and packed by hand.
 */
#ifndef CT_MM_SWAPAREA_INT_H
#define CT_MM_SWAPAREA_INT_H

#include <lzma.h>
#include <pthread.h>
#include <stdint.h>

#include "mm/swaparea.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the swap area format is little-endian; add byte swapping for this host"
#endif

#define SWP_PAGE	4096u
#define SWP_VERSION	1u
#define SWP_IDX_MAGIC	"CTSWPIDX"
#define SWP_DAT_MAGIC	"CTSWPDAT"
#define SWP_CL_MAGIC	0x4c435443u	/* "CTCL" */
#define SWP_MAX_GENS	64u		/* generations kept at most */
#define SWP_DEFAULT_KEEP 2u
#define SWP_CLUSTER_PAGES 16u		/* 64 KiB clusters: see SWAPAREA.md */
#define SWP_LZMA_PRESET	0u		/* see SWAPAREA.md for the measurement */
#define SWP_MAX_SLOTS	(1ull << 40)	/* 4 PiB of slots: refuse anything larger */

/* swap.idx, offset 0: the header (256 bytes). */
struct swp_disk_header {
	char magic[8];		/* "CTSWPIDX" */
	uint32_t version;	/* SWP_VERSION */
	uint32_t page_size;	/* 4096 */
	uint32_t header_size;	/* sizeof(struct swp_disk_header) */
	uint32_t flags;		/* SWP_HDR_* */
	char name[72];		/* container name, NUL-padded */
	uint64_t uuid_lo, uuid_hi;
	uint32_t cur_gen;	/* newest committed generation, 0 none */
	uint32_t nr_gens;	/* entries in the generation table */
	uint64_t nr_slots;	/* entries in the slot map */
	uint64_t map_off;	/* slot map: nr_slots x swp_disk_slot */
	uint64_t gens_off;	/* generation table: nr_gens x swp_disk_gen */
	uint64_t file_size;	/* size of the whole swap.idx */
	uint64_t commit_time;	/* CLOCK_REALTIME seconds of the commit */
	uint64_t body_crc64;	/* lzma_crc64 of [header_size, file_size) */
	uint8_t reserved[84];	/* zero */
	uint32_t header_crc32;	/* lzma_crc32 of the header with this field 0 */
} __attribute__((packed));

#define SWP_HDR_COMPRESSED 1u	/* some cluster is compressed */
#define SWP_HDR_KNOWN	   SWP_HDR_COMPRESSED

/* One slot map entry, per 4 KiB block of the data file after its header. */
struct swp_disk_slot {
	uint32_t count;		/* references from kept generations' pages */
	uint32_t info;		/* type in bits 0-7, cluster length in blocks in bits 8-31 */
} __attribute__((packed));

enum {
	SWP_SLOT_FREE = 0,	/* unused; punched out of the file */
	SWP_SLOT_PAGE = 1,	/* one page, uncompressed */
	SWP_SLOT_CLUSTER = 2,	/* first block of a compressed cluster */
	SWP_SLOT_CONT = 3,	/* a further block of the cluster before it */
};
#define slot_type(s)	((s)->info & 0xff)
#define slot_blocks(s)	((s)->info >> 8)

/* One generation table entry (48 bytes). */
struct swp_disk_gen {
	uint32_t gen;		/* generation number */
	uint32_t flags;		/* zero */
	uint64_t ext_off;	/* extents: nr_ext x swp_extent */
	uint64_t nr_ext;
	uint64_t ent_off;	/* page entries: nr_ent x swp_entry */
	uint64_t nr_ent;
	uint64_t time;		/* CLOCK_REALTIME seconds of its commit */
} __attribute__((packed));

/* A run of present pages of one task and mapping (32 bytes, on disk as is). */
struct swp_extent {
	uint32_t task;
	uint32_t npages;
	uint64_t mapping;	/* start address of the mapping */
	uint64_t addr;		/* first page's address */
	uint64_t first;		/* index of its first entry */
};

/* One present page (24 bytes, on disk as is). */
struct swp_entry {
	uint64_t ref;		/* SWP_REF_* below */
	uint64_t hash_lo, hash_hi;	/* XXH3-128 of the page; 0 for zero pages */
};

/*
 * Page references, like the kernel's swp_entry_t: a type in bits 60-63,
 * the rest by type.  ZERO is 0; PAGE holds a slot number; CLUSTER holds
 * the first slot of a cluster in bits 8-55 and the page's index in it in
 * bits 0-7; PENDING (never on disk) a page waiting in the writer's cluster.
 */
#define SWP_REF_ZERO	0ull
#define SWP_REF_PAGE	1ull
#define SWP_REF_CLUSTER	2ull
#define SWP_REF_PENDING	3ull
#define ref_type(r)	((r) >> 60)
#define ref_slot(r)	((r) & ((1ull << 48) - 1))
#define ref_head(r)	(((r) >> 8) & ((1ull << 48) - 1))
#define ref_index(r)	((r) & 0xff)
#define mk_page_ref(s)	((SWP_REF_PAGE << 60) | (s))
#define mk_cl_ref(h, i)	((SWP_REF_CLUSTER << 60) | ((uint64_t)(h) << 8) | (i))
#define mk_pend_ref(i)	((SWP_REF_PENDING << 60) | (i))

/* The data file's block 0 (its first 64 bytes; the rest of the block is zero). */
struct swp_data_header {
	char magic[8];		/* "CTSWPDAT" */
	uint32_t version;
	uint32_t page_size;
	uint64_t uuid_lo, uuid_hi;
	uint8_t reserved[28];
	uint32_t crc32;		/* lzma_crc32 of the bytes before it */
} __attribute__((packed));

/* The first bytes of a compressed cluster's first block. */
struct swp_cluster_header {
	uint32_t magic;		/* SWP_CL_MAGIC */
	uint16_t npages;	/* pages in the cluster, 1..SWP_CLUSTER_PAGES */
	uint16_t hdr_size;	/* sizeof(struct swp_cluster_header) */
	uint32_t clen;		/* bytes of raw LZMA2 data after the header */
	uint32_t data_crc32;	/* lzma_crc32 of those bytes */
	uint64_t head;		/* the slot it lives in */
	uint32_t reserved;
	uint32_t hdr_crc32;	/* lzma_crc32 of the header bytes before it */
} __attribute__((packed));

/*
 * Checksum comparisons go through this so that a fuzzing build (run.sh
 * defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) reaches the structural
 * checks behind them; every other build checks every sum.
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define sum_ok(a, b) ((void)(a), (void)(b), 1)
#else
#define sum_ok(a, b) ((a) == (b))
#endif

/* Offset of slot @s in the data file: block 0 is the data header. */
static inline uint64_t slot_off(uint64_t s)
{
	return (s + 1) * SWP_PAGE;
}

/* A committed generation in memory; shared by the area and its readers. */
/*
 * swap.idx mapped read-only: generations loaded from disk point into it
 * instead of copying their extents and entries (a copy into fresh memory
 * costs ~11 us per page on this VM, which made opening a 1 GiB area take
 * 0.4 s: restore would not be flat in memory size).
 */
struct swp_idx_map {
	void *addr;
	size_t len;
	int refs;			/* the area + every generation pointing in */
};

struct swp_gen {
	unsigned gen;
	uint64_t time;
	int refs;			/* the area's list + open readers */
	size_t nr_ext, nr_ent;
	struct swp_extent *ext;		/* sorted by (task, addr), no overlap */
	struct swp_entry *ent;
	struct swp_idx_map *backing;	/* ext/ent live in it; NULL: malloc'd */
};

/* One decompressed cluster kept for lazy faults. */
struct swp_cl_cache {
	uint64_t head;			/* its first slot, UINT64_MAX if empty */
	uint64_t stamp;			/* last use, for eviction */
	unsigned npages;
	uint8_t *pages;			/* SWP_CLUSTER_PAGES pages */
};
#define SWP_CL_CACHE 8

struct swp_area {
	char *path;			/* the data file, used in messages */
	char *idx_path, *lock_path;
	int fd;				/* data file */
	/*
	 * The data file again with O_DIRECT, for writers: new slots go to the
	 * disk without passing through the page cache, whose fresh pages cost
	 * as much as the disk on this kind of VM (buffered 1 GiB: 280 MB/s to
	 * 1.2 GB/s depending on how recently the page cache's pages were used;
	 * O_DIRECT: a steady 1 GB/s).  -1 where the file system refuses it.
	 */
	int direct_fd;
	int lock_fd;			/* -1 without SWP_OPEN_WRITE */
	unsigned open_flags;
	struct swp_identity id;
	unsigned cur_gen;
	uint32_t hdr_flags;
	uint64_t idx_size;
	struct swp_idx_map *idx_map;	/* the loaded swap.idx, NULL when created */
	size_t nr_gens;
	struct swp_gen *gens[SWP_MAX_GENS];	/* oldest first */
	uint64_t nr_slots;
	struct swp_disk_slot *map;
	bool map_borrowed;		/* map points into idx_map (read-only opens) */
	struct swp_gen_writer *writer;	/* the generation being written */
	/* cache_lock protects cache[] and cache_clock */
	pthread_mutex_t cache_lock;
	struct swp_cl_cache cache[SWP_CL_CACHE];
	uint64_t cache_clock;
	lzma_stream dec;		/* reused decoder, also under cache_lock */
};

/* swaparea.c */
void swp_gen_put(struct swp_gen *g);
/* True for an area opened without SWP_OPEN_WRITE or SWP_OPEN_CREATE. */
static inline bool swp_read_only(const struct swp_area *sa)
{
	return !(sa->open_flags & (SWP_OPEN_WRITE | SWP_OPEN_CREATE));
}
/* The O(pages) structure checks a read-only open skips: every reference, the slot map. */
int swp_check(struct swp_area *sa);
/* The LZMA2 filter chain of clusters; @opt is filled in. */
void swp_lzma_filters(lzma_filter *filters, lzma_options_lzma *opt);
/*
 * Decompress cluster @head of @nb blocks into @out (SWP_CLUSTER_PAGES
 * pages) with decoder @dec (reused between calls); *@npages its page count.
 */
int swp_cluster_load(struct swp_area *sa, lzma_stream *dec, uint64_t head, uint64_t nb, uint8_t *out,
		     unsigned *npages);
/* Copy the page @ref points to into @page (PAGE or CLUSTER refs), checking nothing else. */
int swp_ref_load(struct swp_area *sa, uint64_t ref, void *page);
/* Serialise the area's state with @gens/@map and replace swap.idx (the commit point). */
int swp_idx_write(struct swp_area *sa, struct swp_gen **gens, size_t nr_gens,
		  const struct swp_disk_slot *map, uint64_t nr_slots, uint64_t *bytes);
/* Punch every free slot out of the data file and cut trailing free slots. */
int swp_trim(struct swp_area *sa);
/* True if $CTSWAP_FAULT lists swap-commit:@step (lib/fault.h, doc/FAULTS.md). */
bool swp_fault(unsigned step);
/* Binary search: index of the first extent of @g not wholly before (task, addr). */
size_t swp_ext_search(const struct swp_gen *g, uint32_t task, uint64_t addr);
/* Find the entries of pages [addr, addr + nr pages) of @task in @g; NULL where absent. */
void swp_lookup_range(const struct swp_gen *g, uint32_t task, uint64_t addr, size_t nr,
		      const struct swp_entry **ents);
/* Empty the cache of decompressed clusters (their slots may be reused). */
void swp_cache_drop(struct swp_area *sa);
/* True if the page is all zero. */
bool swp_page_is_zero(const void *page);

#endif
