/* SPDX-License-Identifier: MIT */
/*
 * Record primitives of the metadata blob (kernel/image/BLOB.md), shared by
 * blob.c and the descriptor kinds (kernel/task/fdkinds.h) that encode their
 * own nested records.  A writer appends fields to a growing buffer with a
 * sticky error; a reader is bounds-checked, reads a missing trailing field as
 * zero and sets the decode's shared error on anything malformed.
 */
#ifndef CT_IMAGE_RECORD_H
#define CT_IMAGE_RECORD_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/blob.h"
#include "image/image.h"
#include "lib/util.h"

/*
 * Tags of the records nested in a FILE record (BLOB.md): the common part,
 * then the records of its kind.  Fixed numbers, never reused.
 */
enum {
	REC_FILE_COMMON = 40,	/* kind, flags, pos, path, file id */
	REC_FILE_REG = 41,	/* regular file: deleted, contents */
	REC_FILE_PIPE = 42,	/* pipe or FIFO: pipe id, unread bytes, size */
	REC_FILE_SOCKET = 43,	/* unix or inet socket */
	REC_FILE_TCP = 44,	/* inet: an established connection's TCP_REPAIR state */
	REC_FILE_EVENTFD = 45,
	REC_FILE_SIGNALFD = 46,
	REC_FILE_TIMERFD = 47,
	REC_FILE_EPOLL_TGT = 48,	/* one per item of the interest list */
	REC_FILE_INOTIFY_WATCH = 49,	/* one per watch */
	REC_FILE_TTY = 50,
	REC_FILE_PIDFD = 51,
	REC_FILE_MEMFD = 52,	/* memfd: the key of its shared memory object */
	REC_FILE_PTY = 54,	/* pty of the container's devpts: index, flags, queued output */
	REC_FILE_CHANGE = 56,	/* regular file: ctime, checksum of its contents (did it only grow?) */
};

/* ---- writer ---- */

struct wbuf {
	uint8_t *data;
	size_t len, cap;
	int err;
};

static inline void w_put(struct wbuf *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (xgrow(&w->data, &w->cap, w->len + n, 1)) {
		w->err = -ENOMEM;
		return;
	}
	memcpy(w->data + w->len, p, n);
	w->len += n;
}

static inline void w_u32(struct wbuf *w, uint32_t v) { w_put(w, &v, 4); }
static inline void w_u64(struct wbuf *w, uint64_t v) { w_put(w, &v, 8); }

/* A byte string: u64 length, then the bytes. */
static inline void w_bytes(struct wbuf *w, const void *p, uint64_t n)
{
	w_u64(w, n);
	if (n)
		w_put(w, p, n);
}

static inline void w_str(struct wbuf *w, const char *s)
{
	w_bytes(w, s, s ? strlen(s) + 1 : 0);
}

/* Open a record: returns where its length goes, patched by w_end(). */
static inline size_t w_begin(struct wbuf *w, uint32_t tag)
{
	size_t at;

	w_u32(w, tag);
	at = w->len;
	w_u32(w, 0);
	return at;
}

static inline void w_end(struct wbuf *w, size_t at)
{
	uint32_t len;

	if (w->err)
		return;
	if (w->len - at - 4 > UINT32_MAX) {
		w->err = -EFBIG;
		return;
	}
	len = (uint32_t)(w->len - at - 4);
	memcpy(w->data + at, &len, 4);
}

static inline void w_file_id(struct wbuf *w, const struct ct_file_id *id)
{
	w_u64(w, id->dev);
	w_u64(w, id->ino);
	w_u64(w, id->size);
	w_u64(w, (uint64_t)id->mtime_sec);
	w_u64(w, (uint64_t)id->mtime_nsec);
}

static inline void w_file_change(struct wbuf *w, const struct ct_file_change *c)
{
	w_u32(w, c->flags);
	w_u64(w, (uint64_t)c->ctime_sec);
	w_u64(w, (uint64_t)c->ctime_nsec);
	w_u64(w, c->prefix_hash);
}

/* ---- reader: bounds-checked, a missing trailing field reads as zero ---- */

struct rbuf {
	const uint8_t *p;
	size_t len, pos;
	int *err;		/* shared sticky error of the whole decode */
};

static inline void r_get(struct rbuf *r, void *out, size_t n)
{
	if (r->pos + n > r->len || r->pos + n < r->pos) {
		memset(out, 0, n);
		r->pos = r->len;
		return;
	}
	memcpy(out, r->p + r->pos, n);
	r->pos += n;
}

static inline uint32_t r_u32(struct rbuf *r) { uint32_t v; r_get(r, &v, 4); return v; }
static inline uint64_t r_u64(struct rbuf *r) { uint64_t v; r_get(r, &v, 8); return v; }
static inline int32_t r_i32(struct rbuf *r) { return (int32_t)r_u32(r); }

/* A byte string into a fresh buffer (NULL for empty); @max bounds it. */
static inline void *r_bytes(struct rbuf *r, uint64_t *n, uint64_t max)
{
	uint64_t len = r_u64(r);
	void *p;

	*n = 0;
	if (!len)
		return NULL;
	if (len > max || len > r->len - r->pos) {
		*r->err = -EBADMSG;
		r->pos = r->len;
		return NULL;
	}
	p = xmalloc(len);
	if (!p) {
		*r->err = -ENOMEM;
		return NULL;
	}
	memcpy(p, r->p + r->pos, len);
	r->pos += len;
	*n = len;
	return p;
}

/* A NUL-terminated string of at most 4096 bytes, or NULL. */
static inline char *r_str(struct rbuf *r)
{
	uint64_t n;
	char *s = r_bytes(r, &n, 4096);

	if (s && (s[n - 1] != '\0' || strlen(s) != n - 1)) {
		*r->err = -EBADMSG;
		free(s);
		return NULL;
	}
	return s;
}

/* Copy a byte string into a fixed buffer of exactly @n bytes (absent: zeros). */
static inline void r_fixed(struct rbuf *r, void *out, size_t n)
{
	uint64_t len = r_u64(r);

	memset(out, 0, n);
	if (!len)
		return;
	if (len != n || len > r->len - r->pos) {
		*r->err = -EBADMSG;
		r->pos = r->len;
		return;
	}
	memcpy(out, r->p + r->pos, n);
	r->pos += n;
}

/* Next record of @r: its tag and a reader over its body.  False at the end. */
static inline bool r_next(struct rbuf *r, uint32_t *tag, struct rbuf *body)
{
	uint32_t len;

	if (*r->err || r->pos >= r->len)
		return false;
	if (r->len - r->pos < 8) {
		*r->err = -EBADMSG;
		return false;
	}
	*tag = r_u32(r);
	len = r_u32(r);
	if (len > r->len - r->pos) {
		*r->err = -EBADMSG;
		return false;
	}
	body->p = r->p + r->pos;
	body->len = len;
	body->pos = 0;
	body->err = r->err;
	r->pos += len;
	return true;
}

static inline void r_file_id(struct rbuf *r, struct ct_file_id *id)
{
	id->dev = r_u64(r);
	id->ino = r_u64(r);
	id->size = r_u64(r);
	id->mtime_sec = (int64_t)r_u64(r);
	id->mtime_nsec = (int64_t)r_u64(r);
}

static inline void r_file_change(struct rbuf *r, struct ct_file_change *c)
{
	c->flags = r_u32(r);
	c->ctime_sec = (int64_t)r_u64(r);
	c->ctime_nsec = (int64_t)r_u64(r);
	c->prefix_hash = r_u64(r);
}

/* Append one element to a counted array, bounded by @max elements. */
static inline void *r_push(struct rbuf *r, void *arr, uint32_t *nr, size_t elem, uint32_t max)
{
	void **parr = arr;
	void *p;

	if (*nr >= max) {
		*r->err = -E2BIG;
		return NULL;
	}
	p = xrealloc(*parr, (size_t)(*nr + 1) * elem);
	if (!p) {
		*r->err = -ENOMEM;
		return NULL;
	}
	*parr = p;
	p = (char *)p + (size_t)*nr * elem;
	memset(p, 0, elem);
	(*nr)++;
	return p;
}

#endif
