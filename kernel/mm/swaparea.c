// SPDX-License-Identifier: MIT
/*
 * The swap area: opening, validating and committing the metadata, and the
 * read path of the lazy server.  The writer is in swaparea_write.c, the
 * statistics in swaparea_stat.c.
 */
#define LOG_PREFIX "swaparea: "
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* fallocate, preadv: also when CFLAGS is overridden */
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mm/swaparea_int.h"

_Static_assert(sizeof(struct swp_disk_header) == 256, "header size");
_Static_assert(sizeof(struct swp_disk_slot) == 8, "slot size");
_Static_assert(sizeof(struct swp_disk_gen) == 48, "gen size");
_Static_assert(sizeof(struct swp_extent) == 32, "extent size");
_Static_assert(sizeof(struct swp_entry) == 24, "entry size");
_Static_assert(sizeof(struct swp_data_header) == 64, "data header size");
_Static_assert(sizeof(struct swp_cluster_header) == 32, "cluster header size");

/* True if $CTSWAP_FAULT lists swap-commit:@step (lib/fault.h). */
bool swp_fault(unsigned step)
{
	return fault_at_num("swap-commit", step);
}

/* True if the page is all zero: a word scan that stops at the first non-zero word. */
bool swp_page_is_zero(const void *page)
{
	const uint64_t *p = page;

	for (size_t i = 0; i < SWP_PAGE / 8; i += 8) {
		if (p[i] | p[i + 1] | p[i + 2] | p[i + 3] | p[i + 4] | p[i + 5] | p[i + 6] | p[i + 7])
			return false;
	}
	return true;
}

/* Drop one reference to a mapped index; unmap it with the last. */
static void idx_map_put(struct swp_idx_map *m)
{
	if (!m || --m->refs > 0)
		return;
	munmap(m->addr, m->len);
	free(m->checked);
	free(m);
}

/*
 * Start reading [@off, @off + @len) of the mapped index in one request.
 * The mapping is MADV_RANDOM (idx_map_open): without that, the first
 * fault read around it by the device's whole readahead window (8 MiB on
 * this VM), so opening a 2 GiB area read half its 16 MiB index from a cold
 * cache before the tasks could run.  A chunk is then one read of 64 KiB,
 * not a fault per page.
 */
static void idx_read_ahead(const struct swp_idx_map *m, uint64_t off, uint64_t len)
{
	uint64_t start = off & ~(uint64_t)(SWP_PAGE - 1);

	/* only a hint: a failure leaves the faults to read it page by page */
	madvise((char *)m->addr + start, off + len - start, MADV_WILLNEED);
}

/* Check chunk @i of a version 2 index against its sum, once. */
static int idx_chunk_verify(const struct swp_area *sa, struct swp_idx_map *m, uint64_t i)
{
	uint64_t start = m->hdr_size + (i << m->chunk_shift);
	uint64_t end = start + (1ull << m->chunk_shift);

	if (__atomic_load_n(&m->checked[i], __ATOMIC_ACQUIRE))
		return 0;
	if (end > m->chunk_off)
		end = m->chunk_off;
	idx_read_ahead(m, start, end - start);
	if (!sum_ok(lzma_crc64((const uint8_t *)m->addr + start, end - start, 0), m->sums[i]))
		return ct_err(-EUCLEAN, "%s: index: checksum mismatch", sa->path);
	/* two threads may both check a chunk: harmless, they agree */
	__atomic_store_n(&m->checked[i], 1, __ATOMIC_RELEASE);
	return 0;
}

/* See swaparea_int.h. */
int swp_idx_verify(const struct swp_area *sa, struct swp_idx_map *m, const void *p, size_t len)
{
	uint64_t off, first, last;
	int ret;

	if (!m || !m->sums || !len)
		return 0;
	off = (const char *)p - (const char *)m->addr;
	/* callers pass memory of the body they found through checked tables */
	if (off < m->hdr_size || off > m->chunk_off || len > m->chunk_off - off)
		return ct_err(-EUCLEAN, "%s: index: reference outside the checked body", sa->path);
	first = (off - m->hdr_size) >> m->chunk_shift;
	last = (off + len - 1 - m->hdr_size) >> m->chunk_shift;
	while (first <= last && __atomic_load_n(&m->checked[first], __ATOMIC_ACQUIRE))
		first++;
	if (first < last) {	/* several chunks to read: one request, not one each */
		uint64_t start = m->hdr_size + (first << m->chunk_shift);
		uint64_t end = m->hdr_size + ((last + 1) << m->chunk_shift);

		idx_read_ahead(m, start, (end < m->chunk_off ? end : m->chunk_off) - start);
	}
	for (uint64_t i = first; i <= last; i++) {
		ret = idx_chunk_verify(sa, m, i);
		if (ret)
			return ret;
	}
	return 0;
}

/* Check every chunk not checked yet (writers, inspect); the index then counts as checked whole. */
static int idx_verify_all(const struct swp_area *sa, struct swp_idx_map *m)
{
	if (!m || !m->sums)
		return 0;
	/* one readahead of all of it instead of one per chunk */
	idx_read_ahead(m, 0, m->len);
	return swp_idx_verify(sa, m, (const char *)m->addr + m->hdr_size, m->chunk_off - m->hdr_size);
}

/* Drop one reference to a generation. */
void swp_gen_put(struct swp_gen *g)
{
	if (!g || --g->refs > 0)
		return;
	if (g->backing) {
		idx_map_put(g->backing);
	} else {
		free(g->ext);
		free(g->ent);
	}
	free(g);
}

/* Binary search the first extent whose end is past (task, addr). */
size_t swp_ext_search(const struct swp_gen *g, uint32_t task, uint64_t addr)
{
	size_t lo = 0, hi = g->nr_ext;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct swp_extent *e = &g->ext[mid];

		if (e->task < task ||
		    (e->task == task && e->addr + (uint64_t)e->npages * SWP_PAGE <= addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Check the byte range [off, off + n * size) lies inside a file of @len bytes. */
static bool range_ok(uint64_t off, uint64_t n, uint64_t size, uint64_t len)
{
	if (off > len)
		return false;
	if (size && n > (len - off) / size)
		return false;
	return true;
}

/* True if page reference @r is well formed and names a slot of the right type. */
static bool ref_ok(const struct swp_area *sa, uint64_t r)
{
	uint64_t s;

	switch (ref_type(r)) {
	case SWP_REF_ZERO:
		return r == 0;
	case SWP_REF_PAGE:
		s = ref_slot(r);
		return r >> 48 == SWP_REF_PAGE << 12 && s < sa->nr_slots &&
		       slot_type(&sa->map[s]) == SWP_SLOT_PAGE;
	case SWP_REF_CLUSTER:
		s = ref_head(r);
		return r >> 56 == SWP_REF_CLUSTER << 4 && s < sa->nr_slots &&
		       slot_type(&sa->map[s]) == SWP_SLOT_CLUSTER && ref_index(r) < SWP_CLUSTER_PAGES;
	default:
		return false;
	}
}

/* Validate the extents of one generation read from disk: O(extents). */
static int gen_check_extents(struct swp_area *sa, struct swp_gen *g)
{
	uint64_t next = 0;

	for (size_t i = 0; i < g->nr_ext; i++) {
		const struct swp_extent *e = &g->ext[i];
		const struct swp_extent *p = i ? &g->ext[i - 1] : NULL;

		if (!e->npages || e->first != next || e->npages > g->nr_ent - next)
			return ct_err(-EUCLEAN, "%s: generation %u: extent %zu: bad page range", sa->path,
				      g->gen, i);
		if ((e->addr | e->mapping) & (SWP_PAGE - 1) || e->mapping > e->addr ||
		    e->addr > UINT64_MAX - (uint64_t)e->npages * SWP_PAGE)
			return ct_err(-EUCLEAN, "%s: generation %u: extent %zu: bad address", sa->path,
				      g->gen, i);
		if (p && (p->task > e->task ||
			  (p->task == e->task && p->addr + (uint64_t)p->npages * SWP_PAGE > e->addr)))
			return ct_err(-EUCLEAN, "%s: generation %u: extent %zu: out of order or overlapping",
				      sa->path, g->gen, i);
		next += e->npages;
	}
	if (next != g->nr_ent)
		return ct_err(-EUCLEAN, "%s: generation %u: %zu entries, extents cover %llu", sa->path,
			      g->gen, g->nr_ent, (unsigned long long)next);
	return 0;
}

/* Validate every page reference of one generation: O(pages). */
static int gen_check_refs(struct swp_area *sa, struct swp_gen *g)
{
	for (size_t i = 0; i < g->nr_ent; i++)
		if (!ref_ok(sa, g->ent[i].ref))
			return ct_err(-EUCLEAN, "%s: generation %u: page %zu: bad slot reference %#llx",
				      sa->path, g->gen, i, (unsigned long long)g->ent[i].ref);
	return 0;
}

/* Check the slot map's shape and that its use counts match the indexes. */
static int map_check(struct swp_area *sa)
{
	uint32_t *count;
	int ret = 0;

	for (uint64_t s = 0; s < sa->nr_slots; s++) {
		const struct swp_disk_slot *m = &sa->map[s];
		uint64_t nb;

		switch (slot_type(m)) {
		case SWP_SLOT_FREE:
		case SWP_SLOT_PAGE:
			if (m->info >> 8)
				goto bad_slot;
			break;
		case SWP_SLOT_CLUSTER:
			nb = slot_blocks(m);
			if (!nb || nb > SWP_CLUSTER_PAGES + 1 || nb > sa->nr_slots - s)
				goto bad_slot;
			for (uint64_t k = 1; k < nb; k++)
				if (sa->map[s + k].info != SWP_SLOT_CONT || sa->map[s + k].count)
					goto bad_slot;
			s += nb - 1;
			break;
		default:	/* a CONT not following its cluster head */
			goto bad_slot;
		}
		if ((slot_type(m) == SWP_SLOT_FREE) != (m->count == 0))
			goto bad_slot;
		continue;
bad_slot:
		return ct_err(-EUCLEAN, "%s: slot map: slot %llu: bad entry %#x/%u", sa->path,
			      (unsigned long long)s, m->info, m->count);
	}
	count = calloc(sa->nr_slots ? sa->nr_slots : 1, sizeof(*count));
	if (!count)
		return ct_err(-ENOMEM, "%s: out of memory checking the slot map", sa->path);
	for (size_t gi = 0; gi < sa->nr_gens; gi++) {
		const struct swp_gen *g = sa->gens[gi];

		for (size_t i = 0; i < g->nr_ent; i++) {
			uint64_t r = g->ent[i].ref;

			if (ref_type(r) == SWP_REF_PAGE)
				count[ref_slot(r)]++;
			else if (ref_type(r) == SWP_REF_CLUSTER)
				count[ref_head(r)]++;
		}
	}
	for (uint64_t s = 0; s < sa->nr_slots; s++) {
		if (count[s] != sa->map[s].count) {
			ret = ct_err(-EUCLEAN, "%s: slot map: slot %llu: use count %u, indexes use it %u times",
				     sa->path, (unsigned long long)s, sa->map[s].count, count[s]);
			break;
		}
	}
	free(count);
	return ret;
}

/* Point one generation into the mapped metadata file and check it. */
static int gen_load(struct swp_area *sa, const char *buf, uint64_t len, const struct swp_disk_gen *dg,
		    unsigned prev)
{
	struct swp_gen *g;
	int ret;

	if (!dg->gen || dg->gen <= prev || dg->flags)
		return ct_err(-EUCLEAN, "%s: generation table: bad generation %u", sa->path, dg->gen);
	if (!range_ok(dg->ext_off, dg->nr_ext, sizeof(struct swp_extent), len) ||
	    !range_ok(dg->ent_off, dg->nr_ent, sizeof(struct swp_entry), len))
		return ct_err(-EUCLEAN, "%s: generation %u: index outside the file", sa->path, dg->gen);
	g = xzalloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->gen = dg->gen;
	g->time = dg->time;
	g->refs = 1;
	g->nr_ext = dg->nr_ext;
	g->nr_ent = dg->nr_ent;
	sa->gens[sa->nr_gens++] = g;
	if (dg->ext_off % 8 || dg->ent_off % 8)
		return ct_err(-EUCLEAN, "%s: generation %u: misaligned index", sa->path, dg->gen);
	g->ext = (struct swp_extent *)(buf + dg->ext_off);
	g->ent = (struct swp_entry *)(buf + dg->ent_off);
	g->backing = sa->idx_map;
	sa->idx_map->refs++;
	/* extents are O(mappings), checked now; entries when a read first uses them */
	ret = swp_idx_verify(sa, sa->idx_map, g->ext, g->nr_ext * sizeof(*g->ext));
	return ret ? ret : gen_check_extents(sa, g);
}

/* Version 1: one checksum over the whole body, checked at open. */
static int idx_sum_v1(struct swp_area *sa, const struct swp_disk_header *h, const char *buf, uint64_t len)
{
	idx_read_ahead(sa->idx_map, 0, len);
	if (!sum_ok(lzma_crc64((const uint8_t *)buf + sizeof(*h), len - sizeof(*h), 0), h->body_crc64))
		return ct_err(-EUCLEAN, "%s: index: checksum mismatch", sa->path);
	return 0;
}

/* Version 2: check the chunk table (the body's chunks are checked on first use). */
static int idx_chunks_load(struct swp_area *sa, const struct swp_disk_header *h, const char *buf,
			   uint64_t len)
{
	struct swp_idx_map *m = sa->idx_map;
	uint64_t body;

	if (h->chunk_shift < 12 || h->chunk_shift > 30 || h->chunk_off < sizeof(*h) ||
	    h->chunk_off % 8 || h->chunk_off > len)
		return ct_err(-EUCLEAN, "%s: index: bad chunk table", sa->path);
	body = h->chunk_off - sizeof(*h);
	if (h->nr_chunks != (body >> h->chunk_shift) + !!(body & ((1ull << h->chunk_shift) - 1)) ||
	    (len - h->chunk_off) / 8 != h->nr_chunks || (len - h->chunk_off) % 8)
		return ct_err(-EUCLEAN, "%s: index: bad chunk table", sa->path);
	idx_read_ahead(m, h->chunk_off, h->nr_chunks * 8);
	if (!sum_ok(lzma_crc64((const uint8_t *)buf + h->chunk_off, h->nr_chunks * 8, 0), h->body_crc64))
		return ct_err(-EUCLEAN, "%s: index: checksum mismatch", sa->path);
	m->checked = xzalloc(h->nr_chunks ? h->nr_chunks : 1);
	if (!m->checked)
		return -ENOMEM;
	m->sums = (const uint64_t *)(buf + h->chunk_off);
	m->hdr_size = sizeof(*h);
	m->chunk_off = h->chunk_off;
	m->nr_chunks = h->nr_chunks;
	m->chunk_shift = h->chunk_shift;
	return 0;
}

/* Parse and validate swap.idx held in @buf. */
static int idx_parse(struct swp_area *sa, const char *buf, uint64_t len)
{
	struct swp_disk_header h;
	const struct swp_disk_gen *dg;
	uint64_t body_end;
	uint32_t crc;
	int ret;

	if (len < sizeof(h))
		return ct_err(-EUCLEAN, "%s: index truncated (%llu bytes)", sa->path, (unsigned long long)len);
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, SWP_IDX_MAGIC, 8))
		return ct_err(-EUCLEAN, "%s: index: bad magic (not a ctswap swap area)", sa->path);
	crc = h.header_crc32;
	h.header_crc32 = 0;
	if (!sum_ok(lzma_crc32((const uint8_t *)&h, sizeof(h), 0), crc))
		return ct_err(-EUCLEAN, "%s: index: header checksum mismatch", sa->path);
	if (h.version != SWP_IDX_VERSION && h.version != SWP_IDX_V1)
		return ct_err(-EPROTONOSUPPORT, "%s: index: format version %u, this ctswap reads %u and %u",
			      sa->path, h.version, SWP_IDX_V1, SWP_IDX_VERSION);
	if (h.page_size != SWP_PAGE)
		return ct_err(-EUCLEAN, "%s: index: page size %u, this machine uses %u", sa->path,
			      h.page_size, SWP_PAGE);
	if (h.header_size != sizeof(h) || h.flags & ~SWP_HDR_KNOWN || h.name[sizeof(h.name) - 1] ||
	    h.name[64])
		return ct_err(-EUCLEAN, "%s: index: bad header fields", sa->path);
	if (h.file_size != len)
		return ct_err(-EUCLEAN, "%s: index truncated: %llu bytes, header says %llu", sa->path,
			      (unsigned long long)len, (unsigned long long)h.file_size);
	ret = h.version == SWP_IDX_V1 ? idx_sum_v1(sa, &h, buf, len) : idx_chunks_load(sa, &h, buf, len);
	if (ret)
		return ret;
	body_end = h.version == SWP_IDX_V1 ? len : h.chunk_off;
	if (h.nr_gens > SWP_MAX_GENS || (h.nr_gens == 0) != (h.cur_gen == 0) ||
	    h.nr_slots > SWP_MAX_SLOTS ||
	    !range_ok(h.map_off, h.nr_slots, sizeof(struct swp_disk_slot), body_end) ||
	    !range_ok(h.gens_off, h.nr_gens, sizeof(struct swp_disk_gen), body_end) ||
	    h.map_off < sizeof(h) || h.gens_off < sizeof(h))
		return ct_err(-EUCLEAN, "%s: index: bad table bounds", sa->path);
	memcpy(sa->id.name, h.name, 65);
	sa->id.uuid_lo = h.uuid_lo;
	sa->id.uuid_hi = h.uuid_hi;
	sa->cur_gen = h.cur_gen;
	sa->hdr_flags = h.flags;
	sa->nr_slots = h.nr_slots;
	if (h.map_off % 8)
		return ct_err(-EUCLEAN, "%s: index: misaligned slot map", sa->path);
	if (swp_read_only(sa)) {
		/* readers never change the map: use it where it lies (checked per use) */
		sa->map = (struct swp_disk_slot *)(buf + h.map_off);
		sa->map_borrowed = true;
	} else {
		/* writers build on all of it: check every chunk now */
		ret = idx_verify_all(sa, sa->idx_map);
		if (ret)
			return ret;
		sa->map = xmalloc(h.nr_slots * sizeof(*sa->map));
		if (!sa->map)
			return -ENOMEM;
		memcpy(sa->map, buf + h.map_off, h.nr_slots * sizeof(*sa->map));
	}
	dg = (const struct swp_disk_gen *)(buf + h.gens_off);
	ret = swp_idx_verify(sa, sa->idx_map, dg, h.nr_gens * sizeof(*dg));
	if (ret)
		return ret;
	for (uint32_t i = 0; i < h.nr_gens; i++) {
		struct swp_disk_gen d;

		memcpy(&d, &dg[i], sizeof(d));
		ret = gen_load(sa, buf, body_end, &d, i ? sa->gens[i - 1]->gen : 0);
		if (ret)
			return ret;
	}
	if (h.nr_gens && sa->gens[h.nr_gens - 1]->gen != h.cur_gen)
		return ct_err(-EUCLEAN, "%s: index: current generation %u is not the newest kept", sa->path,
			      h.cur_gen);
	/*
	 * The O(pages) checks of structure are for writers, which build on the
	 * map; readers check each chunk of the index and each reference when
	 * they use it (swp_read), so that opening an area for a lazy restore
	 * costs the same whatever the memory size.
	 */
	return swp_read_only(sa) ? 0 : swp_check(sa);
}

/* Check every reference and the slot map's use counts; see swaparea_int.h. */
int swp_check(struct swp_area *sa)
{
	int ret;

	ret = idx_verify_all(sa, sa->idx_map);
	if (ret)
		return ret;
	for (size_t i = 0; i < sa->nr_gens; i++) {
		ret = gen_check_refs(sa, sa->gens[i]);
		if (ret)
			return ret;
	}
	return map_check(sa);
}

/* Read and check the data file's header and size. */
static int data_check(struct swp_area *sa)
{
	struct swp_data_header dh;
	struct stat st;
	int ret;

	if (fstat(sa->fd, &st) < 0)
		return ct_err(-errno, "%s: %m", sa->path);
	ret = pread_all(sa->fd, &dh, sizeof(dh), 0);
	if (ret == -EIO)
		return ct_err(-EUCLEAN, "%s: data file truncated (no header)", sa->path);
	if (ret)
		return ct_err(ret, "%s: %s", sa->path, strerror(-ret));
	if (memcmp(dh.magic, SWP_DAT_MAGIC, 8))
		return ct_err(-EUCLEAN, "%s: bad magic (not a ctswap swap area)", sa->path);
	if (!sum_ok(lzma_crc32((const uint8_t *)&dh, offsetof(struct swp_data_header, crc32), 0), dh.crc32))
		return ct_err(-EUCLEAN, "%s: data header checksum mismatch", sa->path);
	if (dh.version != SWP_DAT_VERSION)
		return ct_err(-EPROTONOSUPPORT, "%s: format version %u, this ctswap reads %u", sa->path,
			      dh.version, SWP_DAT_VERSION);
	if (dh.page_size != SWP_PAGE)
		return ct_err(-EUCLEAN, "%s: page size %u, this machine uses %u", sa->path, dh.page_size,
			      SWP_PAGE);
	if (dh.uuid_lo != sa->id.uuid_lo || dh.uuid_hi != sa->id.uuid_hi)
		return ct_err(-EUCLEAN, "%s: data file and index belong to different areas", sa->path);
	if ((uint64_t)st.st_size < slot_off(sa->nr_slots))
		return ct_err(-EUCLEAN, "%s: data file truncated: %llu bytes, slots need %llu", sa->path,
			      (unsigned long long)st.st_size, (unsigned long long)slot_off(sa->nr_slots));
	return 0;
}

/* Fill the chunk table at the end of @buf and the header's sum of it. */
static void idx_chunks_sum(char *buf, struct swp_disk_header *h)
{
	uint64_t *sums = (uint64_t *)(buf + h->chunk_off);
	uint64_t size = 1ull << h->chunk_shift;

	for (uint64_t i = 0; i < h->nr_chunks; i++) {
		uint64_t start = sizeof(*h) + i * size;
		uint64_t n = h->chunk_off - start < size ? h->chunk_off - start : size;

		sums[i] = lzma_crc64((const uint8_t *)buf + start, n, 0);
	}
	h->body_crc64 = lzma_crc64((const uint8_t *)sums, h->nr_chunks * sizeof(*sums), 0);
}

/* Serialise the header, map and generations and replace swap.idx atomically. */
int swp_idx_write(struct swp_area *sa, struct swp_gen **gens, size_t nr_gens,
		  const struct swp_disk_slot *map, uint64_t nr_slots, uint64_t *bytes)
{
	struct swp_disk_header h = { 0 };
	struct swp_disk_gen *dg;
	uint64_t off, len, body;
	char *buf, tmp[PATH_MAX];
	int fd, ret;

	body = nr_slots * sizeof(*map) + nr_gens * sizeof(*dg);
	for (size_t i = 0; i < nr_gens; i++)
		body += gens[i]->nr_ext * sizeof(struct swp_extent) +
			gens[i]->nr_ent * sizeof(struct swp_entry);
	h.chunk_shift = SWP_CHUNK_SHIFT;
	h.chunk_off = sizeof(h) + body;
	h.nr_chunks = (body + (1ull << SWP_CHUNK_SHIFT) - 1) >> SWP_CHUNK_SHIFT;
	len = h.chunk_off + h.nr_chunks * sizeof(uint64_t);
	buf = xzalloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(h.magic, SWP_IDX_MAGIC, 8);
	h.version = SWP_IDX_VERSION;
	h.page_size = SWP_PAGE;
	h.header_size = sizeof(h);
	h.flags = sa->hdr_flags;
	memcpy(h.name, sa->id.name, 65);
	h.uuid_lo = sa->id.uuid_lo;
	h.uuid_hi = sa->id.uuid_hi;
	h.cur_gen = nr_gens ? gens[nr_gens - 1]->gen : 0;
	h.nr_gens = nr_gens;
	h.nr_slots = nr_slots;
	h.map_off = sizeof(h);
	h.gens_off = h.map_off + nr_slots * sizeof(*map);
	h.file_size = len;
	h.commit_time = time(NULL);
	if (nr_slots)
		memcpy(buf + h.map_off, map, nr_slots * sizeof(*map));
	dg = (struct swp_disk_gen *)(buf + h.gens_off);
	off = h.gens_off + nr_gens * sizeof(*dg);
	for (size_t i = 0; i < nr_gens; i++) {
		const struct swp_gen *g = gens[i];

		dg[i].gen = g->gen;
		dg[i].time = g->time;
		dg[i].nr_ext = g->nr_ext;
		dg[i].ext_off = off;
		memcpy(buf + off, g->ext, g->nr_ext * sizeof(*g->ext));
		off += g->nr_ext * sizeof(*g->ext);
		dg[i].nr_ent = g->nr_ent;
		dg[i].ent_off = off;
		memcpy(buf + off, g->ent, g->nr_ent * sizeof(*g->ent));
		off += g->nr_ent * sizeof(*g->ent);
	}
	idx_chunks_sum(buf, &h);
	h.header_crc32 = lzma_crc32((const uint8_t *)&h, sizeof(h), 0);
	memcpy(buf, &h, sizeof(h));

	snprintf(tmp, sizeof(tmp), "%s.tmp", sa->idx_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = ct_err(-errno, "%s: cannot create: %m", tmp);
		goto out_free;
	}
	if (swp_fault(3)) {	/* a torn metadata write: half the file, then the crash */
		ret = write_all(fd, buf, len / 2);
		close(fd);
		ret = ct_err(-EIO, "%s: fault injected at commit step 3", sa->path);
		goto out_free;
	}
	ret = write_all(fd, buf, len);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret) {
		ct_err(ret, "%s: cannot write: %s", tmp, strerror(-ret));
		goto out_unlink;
	}
	if (swp_fault(4)) {
		ret = ct_err(-EIO, "%s: fault injected at commit step 4", sa->path);
		goto out_free;
	}
	if (rename(tmp, sa->idx_path) < 0) {
		ret = ct_err(-errno, "%s: cannot rename into place: %m", tmp);
		goto out_unlink;
	}
	if (bytes)
		*bytes += len;
	sa->idx_size = len;
	free(buf);
	return 0;

out_unlink:
	unlink(tmp);
out_free:
	free(buf);
	return ret;
}

/* Punch a range of free slots out of the data file. */
static int punch(struct swp_area *sa, uint64_t s, uint64_t n)
{
	if (fallocate(sa->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, slot_off(s), n * SWP_PAGE) < 0) {
		if (errno == EOPNOTSUPP)
			return 0;	/* the file system keeps the blocks; correctness is unaffected */
		return ct_err(-errno, "%s: cannot punch free slots: %m", sa->path);
	}
	return 0;
}

/* Return the space of every free slot and of anything past the last slot. */
int swp_trim(struct swp_area *sa)
{
	uint64_t s = 0;
	int ret;

	while (s < sa->nr_slots) {
		uint64_t e = s;

		if (sa->map[s].info != SWP_SLOT_FREE) {
			s++;
			continue;
		}
		while (e < sa->nr_slots && sa->map[e].info == SWP_SLOT_FREE)
			e++;
		ret = punch(sa, s, e - s);
		if (ret)
			return ret;
		s = e;
	}
	if (ftruncate(sa->fd, slot_off(sa->nr_slots)) < 0)
		return ct_err(-errno, "%s: cannot truncate: %m", sa->path);
	return 0;
}

/* Create a fresh area: data header, then an empty index (the area exists once it is renamed). */
static int area_create(struct swp_area *sa, const struct swp_identity *id)
{
	uint8_t block[SWP_PAGE] = { 0 };
	struct swp_data_header *dh = (struct swp_data_header *)block;
	int ret;

	if (id)
		sa->id = *id;
	sa->id.name[64] = '\0';
	memcpy(dh->magic, SWP_DAT_MAGIC, 8);
	dh->version = SWP_DAT_VERSION;
	dh->page_size = SWP_PAGE;
	dh->uuid_lo = sa->id.uuid_lo;
	dh->uuid_hi = sa->id.uuid_hi;
	dh->crc32 = lzma_crc32(block, offsetof(struct swp_data_header, crc32), 0);
	if (ftruncate(sa->fd, 0) < 0)
		return ct_err(-errno, "%s: cannot truncate: %m", sa->path);
	ret = pwrite_all(sa->fd, block, sizeof(block), 0);
	if (!ret && fsync(sa->fd) < 0)
		ret = -errno;
	if (ret)
		return ct_err(ret, "%s: cannot write header: %s", sa->path, strerror(-ret));
	ret = swp_idx_write(sa, NULL, 0, NULL, 0, NULL);
	if (ret)
		return ret;
	return fsync_parent_dir(sa->idx_path);
}

/* Take the writer lock, naming the holder when it is taken. */
static int area_lock(struct swp_area *sa)
{
	char pid[32];
	ssize_t n;

	sa->lock_fd = open(sa->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sa->lock_fd < 0)
		return ct_err(-errno, "%s: cannot open lock file: %m", sa->path);
	if (flock(sa->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return ct_err(-errno, "%s: cannot lock: %m", sa->path);
		n = pread(sa->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		return ct_err(-EBUSY, "%s: locked by another writer (pid %s)", sa->path, *pid ? pid : "?");
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(sa->lock_fd, 0) < 0 || pwrite(sa->lock_fd, pid, n, 0) != n)
		pr_warn("%s: cannot record the lock holder: %m", sa->lock_path);
	return 0;
}

/* Map swap.idx read-only (a private mapping: later writes to the file
 * by rename never show through) and keep it as sa->idx_map. */
static int idx_map_open(struct swp_area *sa)
{
	struct swp_idx_map *m;
	struct stat st;
	int fd, ret = 0;

	fd = open(sa->idx_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return ct_err(-ENOENT, "%s: no swap area (index missing)", sa->path);
	if (fd < 0)
		return ct_err(-errno, "%s: cannot read index: %m", sa->path);
	if (fstat(fd, &st) < 0) {
		ret = ct_err(-errno, "%s: cannot read index: %m", sa->path);
		goto out;
	}
	m = xzalloc(sizeof(*m));
	if (!m) {
		ret = -ENOMEM;
		goto out;
	}
	m->len = st.st_size;
	m->refs = 1;
	/* an empty file still gets a mapping, so parsing reports "truncated" */
	/* not populated: a version 2 index is read only where it is used */
	m->addr = mmap(NULL, m->len ? m->len : 1, PROT_READ, MAP_PRIVATE, m->len ? fd : -1, 0);
	if (m->addr == MAP_FAILED && !m->len)
		m->addr = mmap(NULL, 1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->addr == MAP_FAILED) {
		ret = ct_err(-errno, "%s: cannot map index: %m", sa->path);
		free(m);
		goto out;
	}
	/* a fault reads its page only; what is needed is read ahead by idx_read_ahead */
	madvise(m->addr, m->len ? m->len : 1, MADV_RANDOM);
	sa->idx_size = m->len;
	if (!m->len)
		m->len = 1;
	sa->idx_map = m;
out:
	close(fd);
	return ret;
}

/* Load the committed state from swap.idx. */
static int area_load(struct swp_area *sa)
{
	int ret;

	ret = idx_map_open(sa);
	if (ret)
		return ret;
	return idx_parse(sa, sa->idx_map->addr, sa->idx_size);
}

/* Open the area at @path; see swaparea.h. */
int swp_open(const char *path, const struct swp_identity *id, unsigned flags, struct swp_area **out)
{
	struct swp_area *sa;
	bool create = false;
	int ret = -ENOMEM;

	sa = xzalloc(sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	sa->fd = sa->lock_fd = sa->direct_fd = -1;
	sa->open_flags = flags;
	pthread_mutex_init(&sa->cache_lock, NULL);
	sa->dec = (lzma_stream)LZMA_STREAM_INIT;
	for (int i = 0; i < SWP_CL_CACHE; i++)
		sa->cache[i].head = UINT64_MAX;
	sa->path = xstrdup(path);
	sa->idx_path = xasprintf("%s.idx", path);
	sa->lock_path = xasprintf("%s.lock", path);
	if (!sa->path || !sa->idx_path || !sa->lock_path)
		goto out_close;
	if (flags & (SWP_OPEN_WRITE | SWP_OPEN_CREATE)) {
		ret = area_lock(sa);
		if (ret)
			goto out_close;
	}
	if ((flags & SWP_OPEN_CREATE) && access(sa->idx_path, F_OK) < 0 && errno == ENOENT)
		create = true;
	sa->fd = open(path, ((flags & SWP_OPEN_WRITE) || create ? O_RDWR : O_RDONLY) | O_CLOEXEC |
			  (create ? O_CREAT : 0), 0600);
	if (sa->fd < 0) {
		ret = errno == ENOENT ? ct_err(-ENOENT, "%s: no swap area", path)
				      : ct_err(-errno, "%s: cannot open: %m", path);
		goto out_close;
	}
	if (flags & SWP_OPEN_WRITE)
		sa->direct_fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	ret = create ? area_create(sa, id) : area_load(sa);
	if (ret)
		goto out_close;
	ret = data_check(sa);
	if (ret)
		goto out_close;
	if (id && (id->uuid_lo || id->uuid_hi) &&
	    (id->uuid_lo != sa->id.uuid_lo || id->uuid_hi != sa->id.uuid_hi)) {
		ret = ct_err(-EUCLEAN, "%s: belongs to another container (%s)", path, sa->id.name);
		goto out_close;
	}
	if (!(flags & SWP_OPEN_WRITE) && sa->lock_fd >= 0) {
		close(sa->lock_fd);
		sa->lock_fd = -1;
	}
	*out = sa;
	return 0;

out_close:
	swp_close(sa);
	return ret;
}

/* Close the area and release its lock. */
void swp_close(struct swp_area *sa)
{
	if (!sa)
		return;
	if (sa->writer)
		swp_gen_abort(sa->writer);
	for (size_t i = 0; i < sa->nr_gens; i++)
		swp_gen_put(sa->gens[i]);
	for (int i = 0; i < SWP_CL_CACHE; i++)
		free(sa->cache[i].pages);
	pthread_mutex_destroy(&sa->cache_lock);
	lzma_end(&sa->dec);
	if (!sa->map_borrowed)
		free(sa->map);
	idx_map_put(sa->idx_map);
	if (sa->fd >= 0)
		close(sa->fd);
	if (sa->direct_fd >= 0)
		close(sa->direct_fd);
	if (sa->lock_fd >= 0)
		close(sa->lock_fd);	/* releases the flock */
	free(sa->path);
	free(sa->idx_path);
	free(sa->lock_path);
	free(sa);
}

/* The newest committed generation. */
unsigned swp_current_gen(const struct swp_area *sa)
{
	return sa->cur_gen;
}

/* List the kept generations. */
int swp_generations(const struct swp_area *sa, unsigned *gens, size_t max, size_t *nr)
{
	for (size_t i = 0; i < sa->nr_gens && i < max; i++)
		gens[i] = sa->gens[i]->gen;
	*nr = sa->nr_gens;
	return 0;
}

/* The identity from the header. */
const struct swp_identity *swp_area_identity(const struct swp_area *sa)
{
	return &sa->id;
}

/* ---- reading ---- */

struct swp_gen_reader {
	struct swp_area *sa;
	struct swp_gen *g;
};

/* Open a kept generation for reading. */
int swp_gen_open(struct swp_area *sa, unsigned gen, struct swp_gen_reader **out)
{
	struct swp_gen_reader *r;

	if (!gen)
		gen = sa->cur_gen;
	for (size_t i = 0; i < sa->nr_gens; i++) {
		if (sa->gens[i]->gen != gen)
			continue;
		r = xzalloc(sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->sa = sa;
		r->g = sa->gens[i];
		r->g->refs++;
		*out = r;
		return 0;
	}
	if (!gen)
		return ct_err(-ENOENT, "%s: no generation committed yet", sa->path);
	return ct_err(-ENOENT, "%s: generation %u is not kept", sa->path, gen);
}

/* Close a reader. */
void swp_gen_close(struct swp_gen_reader *r)
{
	if (!r)
		return;
	swp_gen_put(r->g);
	free(r);
}

/* The generation a reader reads. */
unsigned swp_gen_number(const struct swp_gen_reader *r)
{
	return r->g->gen;
}

/* Start reading the index a reader of the whole generation needs; see swaparea.h. */
void swp_gen_read_ahead(const struct swp_gen_reader *r)
{
	const struct swp_gen *g = r->g;
	struct swp_idx_map *m = g->backing;

	if (!m)
		return;
	idx_read_ahead(m, (const char *)g->ent - (const char *)m->addr, g->nr_ent * sizeof(*g->ent));
	if (r->sa->map_borrowed)
		idx_read_ahead(m, (const char *)r->sa->map - (const char *)m->addr,
			       r->sa->nr_slots * sizeof(*r->sa->map));
}

/* The data file a reader reads from. */
int swp_reader_fd(const struct swp_gen_reader *r)
{
	return r->sa->fd;
}

/* The LZMA2 filter chain of clusters: the preset, with a dictionary of one cluster. */
void swp_lzma_filters(lzma_filter *filters, lzma_options_lzma *opt)
{
	lzma_lzma_preset(opt, SWP_LZMA_PRESET);
	opt->dict_size = SWP_CLUSTER_PAGES * SWP_PAGE;	/* larger only costs set-up time */
	filters[0].id = LZMA_FILTER_LZMA2;
	filters[0].options = opt;
	filters[1].id = LZMA_VLI_UNKNOWN;
	filters[1].options = NULL;
}

/* Read and decompress cluster @head; the cluster's own header is checked first. */
int swp_cluster_load(struct swp_area *sa, lzma_stream *dec, uint64_t head, uint64_t nb, uint8_t *out,
		     unsigned *npages)
{
	struct swp_cluster_header ch;
	lzma_filter filters[2];
	lzma_ret lr;
	lzma_options_lzma opt;
	uint8_t *raw;
	int ret;

	raw = xmalloc(nb * SWP_PAGE);
	if (!raw)
		return -ENOMEM;
	ret = pread_all(sa->fd, raw, nb * SWP_PAGE, slot_off(head));
	if (ret) {
		ret = ct_err(ret == -EIO ? -EUCLEAN : ret, "%s: cluster at slot %llu: cannot read: %s",
			     sa->path, (unsigned long long)head, strerror(-ret));
		goto out;
	}
	memcpy(&ch, raw, sizeof(ch));
	if (ch.magic != SWP_CL_MAGIC || ch.hdr_size != sizeof(ch) ||
	    !sum_ok(lzma_crc32(raw, offsetof(struct swp_cluster_header, hdr_crc32), 0), ch.hdr_crc32) ||
	    ch.head != head || !ch.npages || ch.npages > SWP_CLUSTER_PAGES ||
	    ch.clen > nb * SWP_PAGE - sizeof(ch)) {
		ret = ct_err(-EUCLEAN, "%s: cluster at slot %llu: bad header", sa->path,
			     (unsigned long long)head);
		goto out;
	}
	if (!sum_ok(lzma_crc32(raw + sizeof(ch), ch.clen, 0), ch.data_crc32)) {
		ret = ct_err(-EUCLEAN, "%s: cluster at slot %llu: checksum mismatch", sa->path,
			     (unsigned long long)head);
		goto out;
	}
	swp_lzma_filters(filters, &opt);
	lr = lzma_raw_decoder(dec, filters);
	if (lr == LZMA_OK) {
		dec->next_in = raw + sizeof(ch);
		dec->avail_in = ch.clen;
		dec->next_out = out;
		dec->avail_out = (size_t)ch.npages * SWP_PAGE;
		lr = lzma_code(dec, LZMA_FINISH);
	}
	if ((lr != LZMA_STREAM_END && lr != LZMA_OK) || dec->avail_out) {
		ret = ct_err(-EUCLEAN, "%s: cluster at slot %llu: does not decompress", sa->path,
			     (unsigned long long)head);
		goto out;
	}
	*npages = ch.npages;
out:
	free(raw);
	return ret;
}

/* Copy page @idx of cluster @head into @page through the cache of decompressed clusters. */
static int cluster_page(struct swp_area *sa, uint64_t head, unsigned idx, void *page)
{
	struct swp_cl_cache *c = NULL, *victim = &sa->cache[0];
	int ret = 0;

	pthread_mutex_lock(&sa->cache_lock);
	for (int i = 0; i < SWP_CL_CACHE; i++) {
		if (sa->cache[i].head == head)
			c = &sa->cache[i];
		if (sa->cache[i].stamp < victim->stamp)
			victim = &sa->cache[i];
	}
	if (!c) {
		c = victim;
		c->head = UINT64_MAX;
		if (!c->pages)
			c->pages = xmalloc(SWP_CLUSTER_PAGES * SWP_PAGE);
		ret = c->pages ? swp_cluster_load(sa, &sa->dec, head, slot_blocks(&sa->map[head]), c->pages, &c->npages) : -ENOMEM;
		if (!ret)
			c->head = head;
	}
	if (!ret && idx >= c->npages)
		ret = ct_err(-EUCLEAN, "%s: cluster at slot %llu: page %u of %u", sa->path,
			     (unsigned long long)head, idx, c->npages);
	if (!ret) {
		c->stamp = ++sa->cache_clock;
		memcpy(page, c->pages + (size_t)idx * SWP_PAGE, SWP_PAGE);
	}
	pthread_mutex_unlock(&sa->cache_lock);
	return ret;
}

/* Load the page behind @ref (PAGE or CLUSTER) into @page. */
int swp_ref_load(struct swp_area *sa, uint64_t ref, void *page)
{
	int ret;

	if (ref_type(ref) == SWP_REF_CLUSTER)
		return cluster_page(sa, ref_head(ref), ref_index(ref), page);
	ret = pread_all(sa->fd, page, SWP_PAGE, slot_off(ref_slot(ref)));
	if (ret)
		return ct_err(ret == -EIO ? -EUCLEAN : ret, "%s: slot %llu: cannot read: %s", sa->path,
			      (unsigned long long)ref_slot(ref), strerror(-ret));
	return 0;
}

/* Empty the cache of decompressed clusters (their slots may be reused). */
void swp_cache_drop(struct swp_area *sa)
{
	pthread_mutex_lock(&sa->cache_lock);
	for (int i = 0; i < SWP_CL_CACHE; i++)
		sa->cache[i].head = UINT64_MAX;
	pthread_mutex_unlock(&sa->cache_lock);
}

/* A run of consecutive slots being gathered for one preadv. */
struct read_run {
	uint64_t slot;			/* first slot */
	int n;				/* iovecs */
	struct iovec iov[64];
	size_t page[64];		/* page index in the request, for the hash check */
};

/* Read a gathered run and check each page against its hash. */
static int run_flush(struct swp_gen_reader *r, struct read_run *run, const struct swp_entry **ents)
{
	size_t len = (size_t)run->n * SWP_PAGE, done = 0;
	int ret = 0;

	while (done < len) {
		struct iovec iov[64];
		int first = done / SWP_PAGE, cnt = run->n - first;
		ssize_t n;

		memcpy(iov, run->iov + first, cnt * sizeof(*iov));
		iov[0].iov_base = (char *)iov[0].iov_base + done % SWP_PAGE;
		iov[0].iov_len -= done % SWP_PAGE;
		n = preadv(r->sa->fd, iov, cnt, slot_off(run->slot) + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EUCLEAN;
			return ct_err(ret, "%s: slots %llu+%d: cannot read: %s", r->sa->path,
				      (unsigned long long)run->slot, run->n, n < 0 ? strerror(errno) : "truncated");
		}
		done += n;
	}
	for (int i = 0; i < run->n; i++) {
		const struct swp_entry *e = ents[run->page[i]];
		XXH128_hash_t h = XXH3_128bits(run->iov[i].iov_base, SWP_PAGE);

		if (h.low64 != e->hash_lo || h.high64 != e->hash_hi)
			ret = ct_err(-EIO, "%s: slot %llu: data does not match its hash", r->sa->path,
				     (unsigned long long)run->slot + i);
	}
	run->n = 0;
	return ret;
}

/* Find the entries of pages [addr, addr + nr pages) of @task; NULL where absent. */
void swp_lookup_range(const struct swp_gen *g, uint32_t task, uint64_t addr, size_t nr,
			 const struct swp_entry **ents)
{
	size_t x = swp_ext_search(g, task, addr);

	for (size_t i = 0; i < nr; i++) {
		uint64_t a = addr + i * SWP_PAGE;
		const struct swp_extent *e;

		ents[i] = NULL;
		while (x < g->nr_ext && g->ext[x].task == task &&
		       g->ext[x].addr + (uint64_t)g->ext[x].npages * SWP_PAGE <= a)
			x++;
		if (x >= g->nr_ext)
			continue;
		e = &g->ext[x];
		if (e->task != task || a < e->addr)
			continue;
		ents[i] = &g->ent[e->first + (a - e->addr) / SWP_PAGE];
	}
}

/*
 * The entries a read found lie in one stretch of the generation's table
 * (extents are sorted by address, their entries in the same order): check
 * the index chunks of that stretch before using any of them.
 */
static int ents_verify(struct swp_gen_reader *r, const struct swp_entry **ents, size_t nr)
{
	const struct swp_entry *lo = NULL, *hi = NULL;

	for (size_t i = 0; i < nr; i++) {
		if (!ents[i])
			continue;
		if (!lo || ents[i] < lo)
			lo = ents[i];
		if (!hi || ents[i] > hi)
			hi = ents[i];
	}
	if (!lo)
		return 0;
	return swp_idx_verify(r->sa, r->g->backing, lo, (size_t)(hi - lo + 1) * sizeof(*lo));
}

/* Check the index chunk holding the slot map entry a reference names (readers use the map in place). */
static int ref_map_verify(struct swp_area *sa, uint64_t r)
{
	uint64_t s = ref_type(r) == SWP_REF_CLUSTER ? ref_head(r) : ref_slot(r);

	if (!sa->map_borrowed || s >= sa->nr_slots)
		return 0;	/* ref_ok refuses it */
	return swp_idx_verify(sa, sa->idx_map, &sa->map[s], sizeof(sa->map[s]));
}

#define SWP_STACK_ENTS	256	/* entries a read looks up without allocating */

/*
 * The checked entries of pages [addr, addr + nr pages) of @task into
 * *@ents: @stack (SWP_STACK_ENTS of them) if they fit, else allocated
 * (free it when it is not @stack, whatever the result).  0 or -errno (a
 * bad range, a damaged index chunk).
 */
static int ents_get(struct swp_gen_reader *r, uint32_t task, uint64_t addr, size_t nr,
		    const struct swp_entry **stack, const struct swp_entry ***ents)
{
	*ents = stack;
	if (addr & (SWP_PAGE - 1) || nr > (UINT64_MAX - addr) / SWP_PAGE)
		return ct_err(-EINVAL, "%s: bad read range %#llx+%zu", r->sa->path,
			      (unsigned long long)addr, nr);
	if (nr > SWP_STACK_ENTS) {
		*ents = xmalloc(nr * sizeof(**ents));
		if (!*ents) {
			*ents = stack;
			return -ENOMEM;
		}
	}
	swp_lookup_range(r->g, task, addr, nr, *ents);
	return ents_verify(r, *ents, nr);
}

/* Read pages of a task; see swaparea.h. */
int swp_read(struct swp_gen_reader *r, uint32_t task, uint64_t addr, size_t nr, void *buf,
	     uint8_t *state)
{
	const struct swp_entry *stack_ents[SWP_STACK_ENTS], **ents;
	struct read_run run;
	int ret;

	ret = ents_get(r, task, addr, nr, stack_ents, &ents);
	run.n = 0;
	for (size_t i = 0; i < nr && !ret; i++) {
		char *page = (char *)buf + i * SWP_PAGE;
		const struct swp_entry *e = ents[i];

		if (!e || e->ref == SWP_REF_ZERO) {
			memset(page, 0, SWP_PAGE);
			state[i] = e ? SWP_PAGE_ZERO : SWP_PAGE_NONE;
			continue;
		}
		state[i] = SWP_PAGE_DATA;
		ret = ref_map_verify(r->sa, e->ref);
		if (ret)
			break;
		if (!ref_ok(r->sa, e->ref)) {
			ret = ct_err(-EUCLEAN, "%s: page %#llx of task %u: bad slot reference %#llx",
				     r->sa->path, (unsigned long long)(addr + i * SWP_PAGE), task,
				     (unsigned long long)e->ref);
			break;
		}
		if (ref_type(e->ref) == SWP_REF_CLUSTER) {
			ret = cluster_page(r->sa, ref_head(e->ref), ref_index(e->ref), page);
			if (!ret) {
				XXH128_hash_t h = XXH3_128bits(page, SWP_PAGE);

				if (h.low64 != e->hash_lo || h.high64 != e->hash_hi)
					ret = ct_err(-EIO, "%s: cluster at slot %llu: page %llu does not match its hash",
						     r->sa->path, (unsigned long long)ref_head(e->ref),
						     (unsigned long long)ref_index(e->ref));
			}
			continue;
		}
		if (run.n && (run.n == (int)ARRAY_SIZE(run.iov) || ref_slot(e->ref) != run.slot + run.n))
			ret = run_flush(r, &run, ents);
		if (!run.n)
			run.slot = ref_slot(e->ref);
		run.iov[run.n].iov_base = page;
		run.iov[run.n].iov_len = SWP_PAGE;
		run.page[run.n++] = i;
	}
	if (!ret && run.n)
		ret = run_flush(r, &run, ents);
	if (ents != stack_ents)
		free(ents);
	return ret;
}

#define SWP_RA_GAP	16	/* slots this close are read with one request */

/* Start reading @n slots at @slot (a hint: errors are the real read's to report). */
static void slots_read_ahead(const struct swp_area *sa, uint64_t slot, uint64_t n)
{
	posix_fadvise(sa->fd, (off_t)slot_off(slot), (off_t)(n * SWP_PAGE), POSIX_FADV_WILLNEED);
}

/* Hint pages of a task will be read soon; see swaparea.h. */
int swp_read_ahead(struct swp_gen_reader *r, uint32_t task, uint64_t addr, size_t nr)
{
	const struct swp_entry *stack_ents[SWP_STACK_ENTS], **ents;
	uint64_t first = 0, n = 0;
	int ret;

	ret = ents_get(r, task, addr, nr, stack_ents, &ents);
	for (size_t i = 0; i < nr && !ret; i++) {
		const struct swp_entry *e = ents[i];
		uint64_t s;

		/* only a hint: a bad reference is swp_read's to refuse, not read here */
		if (!e || ref_type(e->ref) != SWP_REF_PAGE || ref_slot(e->ref) >= r->sa->nr_slots)
			continue;
		s = ref_slot(e->ref);
		if (n && s >= first && s < first + n + SWP_RA_GAP) {
			n = max_t(uint64_t, n, s - first + 1);
			continue;
		}
		if (n)
			slots_read_ahead(r->sa, first, n);
		first = s;
		n = 1;
	}
	if (!ret && n)
		slots_read_ahead(r->sa, first, n);
	if (ents != stack_ents)
		free(ents);
	return ret;
}

/* Walk the runs of present pages; see swaparea.h. */
int swp_for_each_run(struct swp_gen_reader *r, uint32_t task,
		     int (*fn)(uint32_t task, uint64_t mapping, uint64_t addr, size_t nr, void *arg),
		     void *arg)
{
	const struct swp_gen *g = r->g;
	size_t x = task == UINT32_MAX ? 0 : swp_ext_search(g, task, 0);
	int ret;

	for (; x < g->nr_ext; x++) {
		const struct swp_extent *e = &g->ext[x];
		size_t n = e->npages;

		if (task != UINT32_MAX && e->task != task)
			break;
		/* extents of one mapping that touch were merged at commit; merge anyway */
		while (x + 1 < g->nr_ext && g->ext[x + 1].task == e->task &&
		       g->ext[x + 1].mapping == e->mapping && g->ext[x + 1].addr == e->addr + n * SWP_PAGE)
			n += g->ext[++x].npages;
		ret = fn(e->task, e->mapping, e->addr, n, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* swp_read through the page_source interface. */
static int page_source_swp_read(void *arg, uint32_t task, uint64_t addr, size_t nr, void *buf,
				uint8_t *state)
{
	return swp_read(arg, task, addr, nr, buf, state);
}

/* swp_read_ahead through the page_source interface. */
static int page_source_swp_read_ahead(void *arg, uint32_t task, uint64_t addr, size_t nr)
{
	return swp_read_ahead(arg, task, addr, nr);
}

/* swp_for_each_run through the page_source interface. */
static int page_source_swp_runs(void *arg, uint32_t task,
				int (*fn)(uint32_t, uint64_t, uint64_t, size_t, void *), void *fnarg)
{
	return swp_for_each_run(arg, task, fn, fnarg);
}

struct page_source swp_page_source(struct swp_gen_reader *r)
{
	return (struct page_source){
		.arg = r, .read = page_source_swp_read, .read_ahead = page_source_swp_read_ahead,
		.for_each_run = page_source_swp_runs,
	};
}
