// SPDX-License-Identifier: MIT
/*
 * Writing a generation of the swap area: zero and duplicate elision,
 * unchanged-page detection against the previous generation, slot
 * allocation outside everything committed, lzma clusters, and the commit.
 */
#define LOG_PREFIX "swaparea: "
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* fallocate, preadv: also when CFLAGS is overridden */
#endif
#include <errno.h>
#include <limits.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/swaparea_int.h"

/* One entry of the content table: XXH3-128 of a stored page and where it is. */
struct dd_ent {
	uint64_t lo, hi;
	uint64_t ref;		/* 0: empty bucket (zero pages are never entered) */
	uint32_t batch;		/* put call that wrote it, for an in-memory compare */
	uint32_t idx;		/* its page index in that call */
};

/* A run of free slots the writer may fill. */
struct free_run {
	uint64_t start, len;
};

/* A cluster written by this generation. */
struct new_cluster {
	uint64_t head;
	uint32_t nblocks;
};

#define VCACHE 256	/* pages read back for comparison, direct-mapped by ref */

struct swp_gen_writer {
	struct swp_area *sa;
	unsigned gen;			/* the number it will get */
	unsigned keep;			/* generations kept after commit */
	bool compress;
	int err;			/* first failure of a put: the commit fails with it */
	struct swp_gen *prev;		/* the current generation, or NULL */

	/* the generation being built, in put order until the commit sorts it */
	struct swp_extent *ext;
	size_t nr_ext, cap_ext;
	struct swp_entry *ent;
	size_t nr_ent, cap_ent;

	/* content table of every stored page of kept generations and this one */
	struct dd_ent *dd;
	size_t dd_mask, dd_nr;
	uint32_t batch;			/* number of the current put call */

	/* slot allocation: free runs of the committed map, then the tail */
	struct free_run *fr;
	size_t nr_fr, fr_pos;
	uint64_t tail;
	struct new_cluster *ncl;
	size_t nr_ncl, cap_ncl;

	/* per put call scratch, sized for the largest call so far */
	size_t cap_batch;
	uint8_t *zero, *same;
	XXH128_hash_t *hash;
	const struct swp_entry **pe;
	uint8_t *rbuf;
	struct iovec *wiov;
	uint64_t *wslot;
	size_t nr_w, cap_w;		/* queued writes (held ones stay across puts) */

	/* pages read back from the file for comparisons */
	uint64_t vc_ref[VCACHE];
	uint8_t *vc_mem;

	/* compression: the cluster being filled */
	uint8_t *cl_buf, *cl_out;
	XXH128_hash_t cl_hash[SWP_CLUSTER_PAGES];
	unsigned cl_n;
	lzma_stream enc, dec;		/* reused: set-up dominates the cost for 64 KiB */
	uint8_t *dec_buf;		/* the last own cluster decompressed */
	uint64_t dec_head;
	unsigned dec_n;
	size_t *patch;			/* entries that hold PENDING refs */
	size_t nr_patch, cap_patch;

	struct swp_gen_stats st;
};

/* Bucket of hash @lo in the content table. */
static inline size_t dd_bucket(const struct swp_gen_writer *w, uint64_t lo)
{
	return (lo * 0x9e3779b97f4a7c15ull >> 17) & w->dd_mask;
}

/* Find the entry of a page whose hash is @h, or NULL. */
static struct dd_ent *dd_find(struct swp_gen_writer *w, XXH128_hash_t h)
{
	for (size_t b = dd_bucket(w, h.low64);; b = (b + 1) & w->dd_mask) {
		struct dd_ent *d = &w->dd[b];

		if (!d->ref)
			return NULL;
		if (d->lo == h.low64 && d->hi == h.high64)
			return d;
	}
}

/* Enter a page into the content table without growing it. */
static struct dd_ent *dd_put(struct swp_gen_writer *w, uint64_t lo, uint64_t hi, uint64_t ref)
{
	size_t b = dd_bucket(w, lo);

	while (w->dd[b].ref)
		b = (b + 1) & w->dd_mask;
	w->dd[b] = (struct dd_ent){ .lo = lo, .hi = hi, .ref = ref, .batch = 0 };
	w->dd_nr++;
	return &w->dd[b];
}

/* Size the content table for @need entries at most half full. */
static int dd_reserve(struct swp_gen_writer *w, size_t need)
{
	struct dd_ent *old = w->dd;
	size_t old_size = w->dd ? w->dd_mask + 1 : 0, size = old_size ? old_size : 4096;

	if (need * 2 <= old_size)
		return 0;
	while (size < need * 2)
		size *= 2;
	w->dd = calloc(size, sizeof(*w->dd));
	if (!w->dd) {
		w->dd = old;
		return ct_err(-ENOMEM, "%s: out of memory for the content table", w->sa->path);
	}
	w->dd_mask = size - 1;
	w->dd_nr = 0;
	for (size_t i = 0; i < old_size; i++)
		if (old[i].ref)
			*dd_put(w, old[i].lo, old[i].hi, old[i].ref) = old[i];
	free(old);
	return 0;
}

/* Collect the committed map's free runs for allocation. */
static int alloc_init(struct swp_gen_writer *w)
{
	struct swp_area *sa = w->sa;
	size_t cap = 0;

	for (uint64_t s = 0; s < sa->nr_slots;) {
		uint64_t e = s;

		while (e < sa->nr_slots && sa->map[e].info == SWP_SLOT_FREE)
			e++;
		if (e > s) {
			if (xgrow(&w->fr, &cap, w->nr_fr + 1, sizeof(*w->fr)))
				return -ENOMEM;
			w->fr[w->nr_fr++] = (struct free_run){ s, e - s };
			s = e;
		} else {
			s++;
		}
	}
	w->tail = sa->nr_slots;
	return 0;
}

/* Allocate one slot: the lowest free one, so new pages land in runs. */
static uint64_t alloc_one(struct swp_gen_writer *w)
{
	while (w->fr_pos < w->nr_fr && !w->fr[w->fr_pos].len)
		w->fr_pos++;
	if (w->fr_pos < w->nr_fr) {
		w->fr[w->fr_pos].len--;
		return w->fr[w->fr_pos].start++;
	}
	return w->tail++;
}

/* Allocate @n consecutive slots for a cluster. */
static uint64_t alloc_contig(struct swp_gen_writer *w, uint64_t n)
{
	for (size_t i = w->fr_pos; i < w->nr_fr; i++) {
		if (w->fr[i].len >= n) {
			w->fr[i].len -= n;
			w->fr[i].start += n;
			return w->fr[i].start - n;
		}
	}
	w->tail += n;
	return w->tail - n;
}

/* The fd to write @cnt pages of @iov with: O_DIRECT when every page is page aligned. */
static int write_fd(struct swp_gen_writer *w, const struct iovec *iov, size_t cnt)
{
	if (w->sa->direct_fd < 0)
		return w->sa->fd;
	for (size_t i = 0; i < cnt; i++)
		if ((uintptr_t)iov[i].iov_base % SWP_PAGE)
			return w->sa->fd;
	return w->sa->direct_fd;
}

/* Write @n pages from @iov to consecutive slots, in calls of at most IOV_MAX pages. */
static int write_slots(struct swp_gen_writer *w, uint64_t slot, struct iovec *iov, size_t n)
{
	while (n) {
		size_t cnt = n < IOV_MAX ? n : IOV_MAX;
		int fd = write_fd(w, iov, cnt);
		ssize_t got = pwritev(fd, iov, cnt, slot_off(slot));

		if (got < 0 && errno == EINVAL && fd == w->sa->direct_fd) {
			/* the file system takes O_DIRECT opens but not these writes */
			close(w->sa->direct_fd);
			w->sa->direct_fd = -1;
			continue;
		}
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return ct_err(-errno, "%s: cannot write slots: %m", w->sa->path);
		if ((size_t)got != cnt * SWP_PAGE) {	/* short write: finish it page by page */
			for (size_t i = got / SWP_PAGE; i < cnt; i++) {
				int ret = pwrite_all(w->sa->fd, iov[i].iov_base, SWP_PAGE, slot_off(slot + i));

				if (ret)
					return ct_err(ret, "%s: cannot write slots: %s", w->sa->path,
						      strerror(-ret));
			}
		}
		w->st.bytes_written += cnt * SWP_PAGE;
		slot += cnt;
		iov += cnt;
		n -= cnt;
	}
	return 0;
}

/* Write the queued pages, one pwritev per run of consecutive slots. */
static int wqueue_flush(struct swp_gen_writer *w)
{
	size_t i = 0;
	int ret;

	while (i < w->nr_w) {
		size_t j = i + 1;

		while (j < w->nr_w && w->wslot[j] == w->wslot[i] + (j - i))
			j++;
		ret = write_slots(w, w->wslot[i], w->wiov + i, j - i);
		if (ret)
			return ret;
		i = j;
	}
	w->nr_w = 0;
	return 0;
}

/* Room in the write queue for @nr more pages (queued ones are kept). */
static int wqueue_reserve(struct swp_gen_writer *w, size_t nr)
{
	size_t cap = w->cap_w;

	if (w->nr_w + nr <= w->cap_w)
		return 0;
	if (xgrow(&w->wiov, &cap, w->nr_w + nr, sizeof(*w->wiov)))
		return -ENOMEM;
	cap = w->cap_w;
	if (xgrow(&w->wslot, &cap, w->nr_w + nr, sizeof(*w->wslot)))
		return -ENOMEM;
	w->cap_w = cap;
	return 0;
}

/* A page queued for slot @slot and not written yet (held by the caller), or NULL. */
static const uint8_t *wqueue_find(const struct swp_gen_writer *w, uint64_t slot)
{
	for (size_t i = w->nr_w; i > 0; i--)
		if (w->wslot[i - 1] == slot)
			return w->wiov[i - 1].iov_base;
	return NULL;
}

/* Queue a page for writing into a new slot; returns its slot. */
static uint64_t wqueue_add(struct swp_gen_writer *w, const void *page)
{
	uint64_t s = alloc_one(w);

	w->wslot[w->nr_w] = s;
	w->wiov[w->nr_w].iov_base = (void *)page;
	w->wiov[w->nr_w++].iov_len = SWP_PAGE;
	return s;
}

/* Replace the PENDING refs of the filled cluster by @refs (one per cluster page). */
static void cluster_patch(struct swp_gen_writer *w, const uint64_t *refs)
{
	for (size_t i = 0; i < w->nr_patch; i++) {
		struct swp_entry *e = &w->ent[w->patch[i]];

		e->ref = refs[ref_index(e->ref)];
	}
	w->nr_patch = 0;
	for (unsigned k = 0; k < w->cl_n; k++) {
		struct dd_ent *d = dd_find(w, w->cl_hash[k]);

		if (d && ref_type(d->ref) == SWP_REF_PENDING)
			d->ref = refs[ref_index(d->ref)];
	}
}

/* Compress the filled cluster and write it, or write its pages plain if lzma gains no block. */
static int cluster_flush(struct swp_gen_writer *w)
{
	struct swp_cluster_header ch = { 0 };
	uint64_t refs[SWP_CLUSTER_PAGES];
	size_t in = (size_t)w->cl_n * SWP_PAGE, out_pos = sizeof(ch);
	size_t cap = (SWP_CLUSTER_PAGES + 1) * SWP_PAGE;
	lzma_filter filters[2];
	lzma_options_lzma opt;
	uint64_t nb, head;
	lzma_ret lr;
	int ret;

	if (!w->cl_n)
		return 0;
	swp_lzma_filters(filters, &opt);
	lr = lzma_raw_encoder(&w->enc, filters);
	if (lr == LZMA_OK) {
		w->enc.next_in = w->cl_buf;
		w->enc.avail_in = in;
		w->enc.next_out = w->cl_out + out_pos;
		w->enc.avail_out = cap - out_pos;
		lr = lzma_code(&w->enc, LZMA_FINISH);
		out_pos = cap - w->enc.avail_out;
	}
	if (lr != LZMA_STREAM_END)
		out_pos = cap;	/* did not fit or failed: store plain */
	nb = (out_pos + SWP_PAGE - 1) / SWP_PAGE;
	if (nb >= w->cl_n) {
		struct iovec iov[SWP_CLUSTER_PAGES];

		for (unsigned k = 0; k < w->cl_n; k++) {
			refs[k] = mk_page_ref(alloc_one(w));
			iov[k].iov_base = w->cl_buf + (size_t)k * SWP_PAGE;
			iov[k].iov_len = SWP_PAGE;
		}
		for (unsigned k = 0; k < w->cl_n;) {	/* runs of consecutive slots */
			unsigned j = k + 1;

			while (j < w->cl_n && ref_slot(refs[j]) == ref_slot(refs[k]) + (j - k))
				j++;
			ret = write_slots(w, ref_slot(refs[k]), iov + k, j - k);
			if (ret)
				return ret;
			k = j;
		}
	} else {
		head = alloc_contig(w, nb);
		ch.magic = SWP_CL_MAGIC;
		ch.npages = w->cl_n;
		ch.hdr_size = sizeof(ch);
		ch.clen = out_pos - sizeof(ch);
		ch.data_crc32 = lzma_crc32(w->cl_out + sizeof(ch), ch.clen, 0);
		ch.head = head;
		ch.hdr_crc32 = lzma_crc32((const uint8_t *)&ch, offsetof(struct swp_cluster_header, hdr_crc32), 0);
		memcpy(w->cl_out, &ch, sizeof(ch));
		memset(w->cl_out + out_pos, 0, nb * SWP_PAGE - out_pos);
		ret = pwrite_all(w->sa->fd, w->cl_out, nb * SWP_PAGE, slot_off(head));
		if (ret)
			return ct_err(ret, "%s: cannot write a cluster: %s", w->sa->path, strerror(-ret));
		if (xgrow(&w->ncl, &w->cap_ncl, w->nr_ncl + 1, sizeof(*w->ncl)))
			return -ENOMEM;
		w->ncl[w->nr_ncl++] = (struct new_cluster){ head, nb };
		for (unsigned k = 0; k < w->cl_n; k++)
			refs[k] = mk_cl_ref(head, k);
		w->st.compressed += w->cl_n;
		w->st.bytes_written += nb * SWP_PAGE;
	}
	cluster_patch(w, refs);
	w->cl_n = 0;
	return 0;
}

/* Put a page into the cluster being filled; returns its PENDING ref. */
static int cluster_add(struct swp_gen_writer *w, const void *page, XXH128_hash_t h, uint64_t *ref)
{
	memcpy(w->cl_buf + (size_t)w->cl_n * SWP_PAGE, page, SWP_PAGE);
	w->cl_hash[w->cl_n] = h;
	*ref = mk_pend_ref(w->cl_n);
	w->cl_n++;
	return 0;
}

/* Record that entry @e holds a PENDING ref. */
static int patch_add(struct swp_gen_writer *w, size_t e)
{
	if (xgrow(&w->patch, &w->cap_patch, w->nr_patch + 1, sizeof(*w->patch)))
		return -ENOMEM;
	w->patch[w->nr_patch++] = e;
	return 0;
}

/* True if @head is a cluster of the committed map (else this writer wrote it). */
static bool cluster_committed(const struct swp_area *sa, uint64_t head)
{
	return head < sa->nr_slots && slot_type(&sa->map[head]) == SWP_SLOT_CLUSTER;
}

/* Copy a page of a cluster this writer wrote into @page, decompressing it once. */
static int own_cluster_page(struct swp_gen_writer *w, uint64_t ref, void *page)
{
	uint64_t head = ref_head(ref);
	int ret;

	if (w->dec_head != head) {
		size_t i = w->nr_ncl;

		while (i > 0 && w->ncl[i - 1].head != head)
			i--;
		if (!i)
			return ct_err(-EINVAL, "%s: no cluster at slot %llu", w->sa->path,
				      (unsigned long long)head);
		w->dec_head = UINT64_MAX;
		ret = swp_cluster_load(w->sa, &w->dec, head, w->ncl[i - 1].nblocks, w->dec_buf, &w->dec_n);
		if (ret)
			return ret;
		w->dec_head = head;
	}
	if (ref_index(ref) >= w->dec_n)
		return -EINVAL;
	memcpy(page, w->dec_buf + ref_index(ref) * SWP_PAGE, SWP_PAGE);
	return 0;
}

/* The stored page behind @ref, read back through a small cache; NULL on failure. */
static const uint8_t *stored_page(struct swp_gen_writer *w, uint64_t ref)
{
	size_t b = (ref * 0x9e3779b97f4a7c15ull) >> 56;
	uint8_t *p = w->vc_mem + b * SWP_PAGE;

	if (ref_type(ref) == SWP_REF_PENDING)
		return w->cl_buf + ref_index(ref) * SWP_PAGE;
	/* queued by an earlier held put: not on disk yet */
	if (ref_type(ref) == SWP_REF_PAGE && w->nr_w && wqueue_find(w, ref_slot(ref)))
		return wqueue_find(w, ref_slot(ref));
	if (w->vc_ref[b] == ref)
		return p;
	w->vc_ref[b] = 0;
	if (ref_type(ref) == SWP_REF_CLUSTER && !cluster_committed(w->sa, ref_head(ref))) {
		if (own_cluster_page(w, ref, p))
			return NULL;
	} else if (swp_ref_load(w->sa, ref, p)) {
		return NULL;
	}
	w->vc_ref[b] = ref;
	return p;
}

/* True if the page behind content table entry @d equals @page. */
static bool dd_same(struct swp_gen_writer *w, const struct dd_ent *d, const void *data, const void *page)
{
	const uint8_t *stored;

	if (d->batch == w->batch && ref_type(d->ref) == SWP_REF_PAGE)
		stored = (const uint8_t *)data + (size_t)d->idx * SWP_PAGE;
	else
		stored = stored_page(w, d->ref);
	if (!stored) {
		ct_err_clear();	/* unreadable: store the page again rather than fail */
		return false;
	}
	return !memcmp(stored, page, SWP_PAGE);
}

/* Grow the per-call scratch arrays to @nr pages. */
static int batch_reserve(struct swp_gen_writer *w, size_t nr)
{
	if (nr <= w->cap_batch)
		return 0;
	free(w->zero);
	free(w->same);
	free(w->hash);
	free(w->pe);
	free(w->rbuf);
	w->zero = xmalloc(nr);
	w->same = xmalloc(nr);
	w->hash = xmalloc(nr * sizeof(*w->hash));
	w->pe = xmalloc(nr * sizeof(*w->pe));
	w->rbuf = xmalloc(nr * SWP_PAGE);
	if (!w->zero || !w->same || !w->hash || !w->pe || !w->rbuf) {
		w->cap_batch = 0;
		return -ENOMEM;
	}
	w->cap_batch = nr;
	return 0;
}

/* Append @nr entries at (task, mapping, addr) to the extents, extending the last when it touches. */
static int extent_add(struct swp_gen_writer *w, uint32_t task, uint64_t mapping, uint64_t addr, size_t nr)
{
	struct swp_extent *l = w->nr_ext ? &w->ext[w->nr_ext - 1] : NULL;

	if (l && l->task == task && l->mapping == mapping && l->first + l->npages == w->nr_ent &&
	    l->addr + (uint64_t)l->npages * SWP_PAGE == addr && l->npages + nr <= (1u << 30)) {
		l->npages += nr;
		return 0;
	}
	while (nr) {
		size_t n = nr < (1u << 30) ? nr : (1u << 30);

		if (xgrow(&w->ext, &w->cap_ext, w->nr_ext + 1, sizeof(*w->ext)))
			return -ENOMEM;
		w->ext[w->nr_ext++] = (struct swp_extent){ .task = task, .npages = n, .mapping = mapping,
							   .addr = addr, .first = w->nr_ent };
		addr += n * SWP_PAGE;
		nr -= n;
	}
	return 0;
}

/* Mark in w->same the pages equal to the previous generation's, reading its slots in runs. */
static int find_unchanged(struct swp_gen_writer *w, const uint8_t *data, size_t nr)
{
	size_t i = 0;

	memset(w->same, 0, nr);
	while (i < nr) {
		const struct swp_entry *p = w->pe[i];
		size_t j = i + 1;
		const uint8_t *stored;

		if (!p || !p->ref || w->zero[i] || p->hash_lo != w->hash[i].low64 ||
		    p->hash_hi != w->hash[i].high64) {
			i++;
			continue;
		}
		if (ref_type(p->ref) == SWP_REF_CLUSTER) {
			stored = stored_page(w, p->ref);
			if (!stored)
				ct_err_clear();
			w->same[i] = stored && !memcmp(stored, data + i * SWP_PAGE, SWP_PAGE);
			i++;
			continue;
		}
		while (j < nr && w->pe[j] && ref_type(w->pe[j]->ref) == SWP_REF_PAGE && !w->zero[j] &&
		       ref_slot(w->pe[j]->ref) == ref_slot(p->ref) + (j - i) &&
		       w->pe[j]->hash_lo == w->hash[j].low64 && w->pe[j]->hash_hi == w->hash[j].high64)
			j++;
		if (pread_all(w->sa->fd, w->rbuf, (j - i) * SWP_PAGE, slot_off(ref_slot(p->ref))) == 0)
			for (size_t k = i; k < j; k++)
				w->same[k] = !memcmp(w->rbuf + (k - i) * SWP_PAGE, data + k * SWP_PAGE,
						     SWP_PAGE);
		i = j;
	}
	return 0;
}

/* Decide where one non-zero, changed page goes: a shared slot or a new one. */
static int place_page(struct swp_gen_writer *w, const uint8_t *data, size_t i, struct swp_entry *e)
{
	const uint8_t *page = data + i * SWP_PAGE;
	XXH128_hash_t h = w->hash[i];
	struct dd_ent *d = dd_find(w, h);
	int ret;

	if (d && dd_same(w, d, data, page)) {
		e->ref = d->ref;
		w->st.dup++;
		if (ref_type(d->ref) == SWP_REF_PENDING)
			return patch_add(w, e - w->ent);
		return 0;
	}
	w->st.written++;
	if (w->compress) {
		cluster_add(w, page, h, &e->ref);
		ret = patch_add(w, e - w->ent);
	} else {
		e->ref = mk_page_ref(wqueue_add(w, page));
		ret = 0;
	}
	if (!ret && !d) {	/* a colliding hash keeps its first page in the table */
		ret = dd_reserve(w, w->dd_nr + 1);
		if (!ret) {
			d = dd_put(w, h.low64, h.high64, e->ref);
			d->batch = w->batch;
			d->idx = i;
		}
	}
	if (!ret && w->compress && w->cl_n == SWP_CLUSTER_PAGES)
		ret = cluster_flush(w);
	return ret;
}

/* Store pages; see swaparea.h. */
/* Store pages, their writes queued: see swaparea.h (swp_put_pages, swp_put_pages_held). */
static int put_pages(struct swp_gen_writer *w, uint32_t task, uint64_t mapping, uint64_t addr,
		     const void *data, size_t nr)
{
	const uint8_t *pages = data;
	size_t base;
	int ret;

	if (w->err)
		return w->err;
	if ((addr | mapping) & (SWP_PAGE - 1) || mapping > addr || nr > (UINT64_MAX - addr) / SWP_PAGE)
		return ct_err(-EINVAL, "%s: bad page range %u:%#llx+%zu (mapping %#llx)", w->sa->path, task,
			      (unsigned long long)addr, nr, (unsigned long long)mapping);
	if (!nr)
		return 0;
	ret = batch_reserve(w, nr) ?: wqueue_reserve(w, nr);
	if (!ret && xgrow(&w->ent, &w->cap_ent, w->nr_ent + nr, sizeof(*w->ent)))
		ret = -ENOMEM;
	if (!ret)
		ret = extent_add(w, task, mapping, addr, nr);
	if (ret)
		goto out_fail;
	w->batch++;
	for (size_t i = 0; i < nr; i++) {
		w->zero[i] = swp_page_is_zero(pages + i * SWP_PAGE);
		if (!w->zero[i])
			w->hash[i] = XXH3_128bits(pages + i * SWP_PAGE, SWP_PAGE);
	}
	if (w->prev) {
		swp_lookup_range(w->prev, task, addr, nr, w->pe);
		find_unchanged(w, pages, nr);
	} else {
		memset(w->same, 0, nr);
	}
	base = w->nr_ent;
	w->nr_ent += nr;
	w->st.pages += nr;
	for (size_t i = 0; i < nr; i++) {
		struct swp_entry *e = &w->ent[base + i];

		if (w->zero[i]) {
			*e = (struct swp_entry){ 0 };
			w->st.zero++;
			continue;
		}
		e->hash_lo = w->hash[i].low64;
		e->hash_hi = w->hash[i].high64;
		if (w->same[i]) {
			e->ref = w->pe[i]->ref;
			w->st.unchanged++;
			continue;
		}
		ret = place_page(w, pages, i, e);
		if (ret)
			goto out_fail;
	}
	return 0;

out_fail:
	w->err = ret;
	return ret;
}

int swp_put_pages(struct swp_gen_writer *w, uint32_t task, uint64_t mapping, uint64_t addr,
		  const void *data, size_t nr)
{
	return put_pages(w, task, mapping, addr, data, nr) ?: swp_flush_held(w);
}

int swp_put_pages_held(struct swp_gen_writer *w, uint32_t task, uint64_t mapping, uint64_t addr,
		       const void *data, size_t nr)
{
	return put_pages(w, task, mapping, addr, data, nr);
}

int swp_flush_held(struct swp_gen_writer *w)
{
	int ret = w->err ?: wqueue_flush(w);

	if (ret)
		w->err = ret;
	return ret;
}

/* Start a generation; see swaparea.h. */
int swp_gen_begin(struct swp_area *sa, const struct swp_write_opts *o, struct swp_gen_writer **out)
{
	struct swp_gen_writer *w;
	size_t total = 0;
	int ret = -ENOMEM;

	if (sa->lock_fd < 0)
		return ct_err(-EBADF, "%s: not opened for writing", sa->path);
	if (sa->writer)
		return ct_err(-EBUSY, "%s: a generation is already being written", sa->path);
	if (sa->cur_gen == UINT32_MAX)
		return ct_err(-EOVERFLOW, "%s: generation numbers exhausted", sa->path);
	w = xzalloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->sa = sa;
	w->enc = (lzma_stream)LZMA_STREAM_INIT;
	w->dec = (lzma_stream)LZMA_STREAM_INIT;
	w->gen = sa->cur_gen + 1;
	w->keep = o && o->keep ? o->keep : SWP_DEFAULT_KEEP;
	if (w->keep > SWP_MAX_GENS)
		w->keep = SWP_MAX_GENS;
	w->compress = o && o->compress;
	w->prev = sa->nr_gens ? sa->gens[sa->nr_gens - 1] : NULL;
	w->vc_mem = xmalloc(VCACHE * SWP_PAGE);
	if (!w->vc_mem)
		goto out_free;
	if (w->compress) {
		w->cl_buf = xmalloc(SWP_CLUSTER_PAGES * SWP_PAGE);
		w->cl_out = xmalloc((SWP_CLUSTER_PAGES + 1) * SWP_PAGE);
		w->dec_buf = xmalloc(SWP_CLUSTER_PAGES * SWP_PAGE);
		w->dec_head = UINT64_MAX;
		if (!w->cl_buf || !w->cl_out || !w->dec_buf)
			goto out_free;
	}
	for (size_t i = 0; i < sa->nr_gens; i++)
		total += sa->gens[i]->nr_ent;
	ret = dd_reserve(w, total + 1024);
	if (ret)
		goto out_free;
	for (size_t i = 0; i < sa->nr_gens; i++) {
		const struct swp_gen *g = sa->gens[i];

		for (size_t k = 0; k < g->nr_ent; k++) {
			const struct swp_entry *e = &g->ent[k];
			XXH128_hash_t h = { .low64 = e->hash_lo, .high64 = e->hash_hi };

			if (e->ref && !dd_find(w, h))
				dd_put(w, e->hash_lo, e->hash_hi, e->ref);
		}
	}
	ret = alloc_init(w);
	if (ret)
		goto out_free;
	sa->writer = w;
	*out = w;
	return 0;

out_free:
	sa->writer = w;
	swp_gen_abort(w);
	return ret;
}

/* Free the writer's memory. */
static void writer_free(struct swp_gen_writer *w)
{
	w->sa->writer = NULL;
	free(w->ext);
	free(w->ent);
	free(w->dd);
	free(w->fr);
	free(w->ncl);
	free(w->zero);
	free(w->same);
	free(w->hash);
	free(w->pe);
	free(w->rbuf);
	free(w->wiov);
	free(w->wslot);
	free(w->vc_mem);
	free(w->cl_buf);
	free(w->cl_out);
	free(w->dec_buf);
	lzma_end(&w->enc);
	lzma_end(&w->dec);
	free(w->patch);
	free(w);
}

/* Drop the generation; give back the space of whatever it wrote. */
void swp_gen_abort(struct swp_gen_writer *w)
{
	struct swp_area *sa;

	if (!w)
		return;
	sa = w->sa;
	writer_free(w);
	if (swp_trim(sa))
		ct_err_clear();	/* the space is reclaimed by the next commit */
}

/* Order extents by task, then address. */
static int extent_cmp(const void *a, const void *b)
{
	const struct swp_extent *x = a, *y = b;

	if (x->task != y->task)
		return x->task < y->task ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return 0;
}

/* Turn the writer's extents and entries into a sorted, merged generation. */
static int gen_build(struct swp_gen_writer *w, struct swp_gen **out)
{
	struct swp_gen *g;
	size_t n = 0;

	qsort(w->ext, w->nr_ext, sizeof(*w->ext), extent_cmp);
	g = xzalloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->gen = w->gen;
	g->time = time(NULL);
	g->refs = 1;
	g->ent = xmalloc(w->nr_ent * sizeof(*g->ent));
	g->ext = xmalloc(w->nr_ext * sizeof(*g->ext));
	if (!g->ent || !g->ext) {
		swp_gen_put(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < w->nr_ext; i++) {
		struct swp_extent *e = &w->ext[i];
		struct swp_extent *l = g->nr_ext ? &g->ext[g->nr_ext - 1] : NULL;

		if (l && l->task == e->task && l->addr + (uint64_t)l->npages * SWP_PAGE > e->addr) {
			swp_gen_put(g);
			return ct_err(-EEXIST, "%s: page %u:%#llx stored twice in generation %u", w->sa->path,
				      e->task, (unsigned long long)e->addr, w->gen);
		}
		memcpy(&g->ent[n], &w->ent[e->first], e->npages * sizeof(*g->ent));
		if (l && l->task == e->task && l->mapping == e->mapping &&
		    l->addr + (uint64_t)l->npages * SWP_PAGE == e->addr && l->npages + e->npages <= (1u << 30)) {
			l->npages += e->npages;
		} else {
			g->ext[g->nr_ext] = *e;
			g->ext[g->nr_ext++].first = n;
		}
		n += e->npages;
	}
	g->nr_ent = n;
	*out = g;
	return 0;
}

/* Recount every slot's users over @gens; types and cluster lengths come from @w and the old map. */
static int map_build(struct swp_gen_writer *w, struct swp_gen **gens, size_t nr_gens,
		     struct swp_disk_slot **out, uint64_t *nr_out)
{
	struct swp_area *sa = w->sa;
	uint64_t size = w->tail > sa->nr_slots ? w->tail : sa->nr_slots, last = 0;
	struct swp_disk_slot *map;
	uint32_t *nb;

	map = calloc(size ? size : 1, sizeof(*map));
	nb = calloc(size ? size : 1, sizeof(*nb));
	if (!map || !nb) {
		free(map);
		free(nb);
		return ct_err(-ENOMEM, "%s: out of memory for the slot map", sa->path);
	}
	for (uint64_t s = 0; s < sa->nr_slots; s++)
		if (slot_type(&sa->map[s]) == SWP_SLOT_CLUSTER)
			nb[s] = slot_blocks(&sa->map[s]);
	for (size_t i = 0; i < w->nr_ncl; i++)
		nb[w->ncl[i].head] = w->ncl[i].nblocks;
	for (size_t gi = 0; gi < nr_gens; gi++) {
		const struct swp_gen *g = gens[gi];

		for (size_t i = 0; i < g->nr_ent; i++) {
			uint64_t r = g->ent[i].ref;

			if (ref_type(r) == SWP_REF_PAGE) {
				map[ref_slot(r)].count++;
				map[ref_slot(r)].info = SWP_SLOT_PAGE;
			} else if (ref_type(r) == SWP_REF_CLUSTER) {
				map[ref_head(r)].count++;
				map[ref_head(r)].info = SWP_SLOT_CLUSTER | nb[ref_head(r)] << 8;
			}
		}
	}
	for (uint64_t s = 0; s < size; s++) {
		if (!map[s].count)
			continue;
		last = s + 1;
		if (slot_type(&map[s]) == SWP_SLOT_CLUSTER) {
			for (uint32_t k = 1; k < nb[s]; k++)
				map[s + k].info = SWP_SLOT_CONT;
			last = s + nb[s];
			s += nb[s] - 1;
		}
	}
	free(nb);
	*out = map;
	*nr_out = last;
	return 0;
}

/* Commit; see swaparea.h.  The steps CTSWAP_FAULT can stop are numbered 1 to 7. */
int swp_gen_commit(struct swp_gen_writer *w, unsigned *gen, struct swp_gen_stats *stats)
{
	struct swp_area *sa = w->sa;
	struct swp_gen *g = NULL, *gens[SWP_MAX_GENS];
	struct swp_disk_slot *map = NULL;
	size_t nr_gens = 0, drop;
	uint64_t nr_slots = 0;
	int ret = w->err;

	if (!ret && w->nr_w)
		ret = ct_err(-EINVAL, "%s: %zu held pages not flushed before the commit", sa->path,
			     w->nr_w);
	if (!ret)
		ret = cluster_flush(w);
	if (!ret && swp_fault(1))
		ret = ct_err(-EIO, "%s: fault injected at commit step 1", sa->path);
	if (!ret && fdatasync(sa->fd) < 0)
		ret = ct_err(-errno, "%s: cannot sync: %m", sa->path);
	if (!ret && swp_fault(2))
		ret = ct_err(-EIO, "%s: fault injected at commit step 2", sa->path);
	if (!ret)
		ret = gen_build(w, &g);
	if (ret)
		goto out_free;
	drop = sa->nr_gens + 1 > w->keep ? sa->nr_gens + 1 - w->keep : 0;
	for (size_t i = drop; i < sa->nr_gens; i++)
		gens[nr_gens++] = sa->gens[i];
	gens[nr_gens++] = g;
	ret = map_build(w, gens, nr_gens, &map, &nr_slots);
	if (ret)
		goto out_free;
	if (w->nr_ncl)
		sa->hdr_flags |= SWP_HDR_COMPRESSED;
	ret = swp_idx_write(sa, gens, nr_gens, map, nr_slots, &w->st.bytes_written);
	if (ret)
		goto out_free;

	/* committed: the memory state follows the file */
	for (size_t i = 0; i < drop; i++)
		swp_gen_put(sa->gens[i]);
	memcpy(sa->gens, gens, nr_gens * sizeof(*gens));
	sa->nr_gens = nr_gens;
	sa->cur_gen = g->gen;
	free(sa->map);
	sa->map = map;
	sa->nr_slots = nr_slots;
	map = NULL;
	g = NULL;
	swp_cache_drop(sa);
	*gen = w->gen;
	if (stats)
		*stats = w->st;
	if (swp_fault(5)) {
		ret = ct_err(-EIO, "%s: fault injected at commit step 5", sa->path);
		goto out_free;
	}
	ret = fsync_parent_dir(sa->idx_path);
	if (ret) {
		ct_err(ret, "%s: cannot sync the directory: %s", sa->path, strerror(-ret));
		goto out_free;
	}
	if (swp_fault(6)) {
		ret = ct_err(-EIO, "%s: fault injected at commit step 6", sa->path);
		goto out_free;
	}
	ret = swp_trim(sa);	/* only now may slots the old generations used be punched */
	if (!ret && swp_fault(7))
		ret = ct_err(-EIO, "%s: fault injected at commit step 7", sa->path);
out_free:
	swp_gen_put(g);
	free(map);
	writer_free(w);
	return ret;
}
