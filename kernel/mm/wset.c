// SPDX-License-Identifier: MIT
/*
 * The working-set file (see wset.h).  Layout, little-endian:
 *
 *   offset 0   8  magic "CTWSET01"
 *          8   4  version (1)
 *         12   4  generation: the swap generation the pages were recorded on
 *         16   8  nr: pages that follow
 *         24   4  body_crc32: lzma_crc32 of the nr * 16 bytes that follow
 *         28   4  header_crc32: lzma_crc32 of bytes 0..27
 *         32      nr x { u32 task, u32 zero, u64 addr (page aligned) }, in fault order
 *
 * Written aside, fsynced and renamed like every file of the store.
 */
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/wset.h"

#define WSET_MAGIC	"CTWSET01"
#define WSET_VERSION	1u
#define WSET_PAGE	4096u

struct wset_header {
	char magic[8];
	uint32_t version;
	uint32_t generation;
	uint64_t nr;
	uint32_t body_crc32;
	uint32_t header_crc32;
} __attribute__((packed));

_Static_assert(sizeof(struct wset_header) == 32, "wset header size");
_Static_assert(sizeof(struct wset_page) == 16, "wset page size");

int wset_write(const char *path, unsigned gen, const struct wset_page *pages, size_t nr)
{
	struct wset_header h = { .version = WSET_VERSION, .generation = gen, .nr = nr };
	size_t len = sizeof(h) + nr * sizeof(*pages);
	char *buf;
	int ret;

	if (nr > WSET_MAX_PAGES)
		return ct_err(-E2BIG, "%s: %zu pages: too many to record", path, nr);
	buf = xmalloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(h.magic, WSET_MAGIC, 8);
	h.body_crc32 = lzma_crc32((const uint8_t *)pages, nr * sizeof(*pages), 0);
	h.header_crc32 = lzma_crc32((const uint8_t *)&h, offsetof(struct wset_header, header_crc32), 0);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), pages, nr * sizeof(*pages));
	ret = write_file_atomic(path, buf, len, 0600);
	free(buf);
	if (ret)
		return ct_err(ret, "%s: cannot write: %s", path, strerror(-ret));
	return 0;
}

static int page_cmp(const void *a, const void *b)
{
	const struct wset_page *x = a, *y = b;

	if (x->task != y->task)
		return x->task < y->task ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Check the header and every page of a file of @len bytes in @buf. */
static int wset_check(const char *path, const char *buf, size_t len, unsigned gen)
{
	struct wset_header h;
	const struct wset_page *p = (const struct wset_page *)(buf + sizeof(h));

	if (len < sizeof(h))
		return ct_err(-EUCLEAN, "%s: truncated", path);
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, WSET_MAGIC, 8) ||
	    lzma_crc32((const uint8_t *)&h, offsetof(struct wset_header, header_crc32), 0) != h.header_crc32)
		return ct_err(-EUCLEAN, "%s: bad header", path);
	if (h.version != WSET_VERSION)
		return ct_err(-EUCLEAN, "%s: format version %u, this ctswap reads %u", path, h.version,
			      WSET_VERSION);
	if (h.nr > WSET_MAX_PAGES || len != sizeof(h) + h.nr * sizeof(*p))
		return ct_err(-EUCLEAN, "%s: truncated or bad size", path);
	if (lzma_crc32((const uint8_t *)p, h.nr * sizeof(*p), 0) != h.body_crc32)
		return ct_err(-EUCLEAN, "%s: checksum mismatch", path);
	for (uint64_t i = 0; i < h.nr; i++)
		if (p[i].zero || p[i].addr % WSET_PAGE)
			return ct_err(-EUCLEAN, "%s: page %llu: bad entry", path, (unsigned long long)i);
	if (h.generation != gen)
		return -ESTALE;
	return 0;
}

/*
 * Drop the pages of @p (@n) seen earlier in it, keeping the order (a page
 * counts where it was first faulted); @sorted holds each page of @p once
 * (@nr_sorted), sorted, its zero field a "seen" mark here, cleared again.
 * Returns the count left.
 */
static size_t wset_dedup(struct wset_page *p, size_t n, struct wset_page *sorted, size_t nr_sorted)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		struct wset_page *s = bsearch(&p[i], sorted, nr_sorted, sizeof(*p), page_cmp);

		if (s->zero)
			continue;
		s->zero = 1;
		p[out++] = p[i];
	}
	for (size_t i = 0; i < nr_sorted; i++)
		sorted[i].zero = 0;
	return out;
}

int wset_read(const char *path, unsigned gen, struct wset_page **pages, struct wset_page **sorted,
	      size_t *nr)
{
	struct wset_page *p, *s;
	size_t len, n, out = 0;
	char *buf;
	int ret;

	ret = read_whole_file(path, &buf, &len);
	if (ret == -ENOENT)
		return ret;
	if (ret)
		return ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
	ret = wset_check(path, buf, len, gen);
	if (ret) {
		free(buf);
		return ret;
	}
	n = (len - sizeof(struct wset_header)) / sizeof(*p);
	p = xmalloc(n ? n * sizeof(*p) : 1);
	s = xmalloc(n ? n * sizeof(*p) : 1);
	if (!p || !s) {
		free(p);
		free(s);
		free(buf);
		return -ENOMEM;
	}
	memcpy(p, buf + sizeof(struct wset_header), n * sizeof(*p));
	free(buf);
	memcpy(s, p, n * sizeof(*p));
	qsort(s, n, sizeof(*s), page_cmp);
	for (size_t i = 0; i < n; i++)
		if (!out || page_cmp(&s[out - 1], &s[i]))
			s[out++] = s[i];
	n = wset_dedup(p, n, s, out);
	*pages = p;
	*nr = n;
	if (sorted)
		*sorted = s;
	else
		free(s);
	return 0;
}

bool wset_has(const struct wset_page *sorted, size_t nr, uint32_t task, uint64_t addr)
{
	struct wset_page key = { .task = task, .addr = addr };

	return bsearch(&key, sorted, nr, sizeof(key), page_cmp) != NULL;
}
