// SPDX-License-Identifier: MIT
/*
 * Reading the FILE records of format 1 (tag 3), so checkpoints written
 * before the per-kind records (format 2) still restore.  A format-1 record
 * holds the fields of every kind one after the other; each group is read
 * into a scratch record of a kind that owns it, and the group of the
 * record's own kind is kept, the others freed.
 */
#include <string.h>

#include "image/blob.h"
#include "image/record.h"
#include "task/fdkinds.h"

/* The scratch groups of a format-1 record, in their order there. */
enum { V1_REG, V1_PIPE, V1_SOCK, V1_ANON, V1_EPOLL, V1_INOTIFY, V1_TTY, V1_NR };

/* Which group holds the fields of file kind @kind (-1: none). */
static int v1_group_of(uint32_t kind)
{
	switch (kind) {
	case CT_FILE_REG:
		return V1_REG;
	case CT_FILE_PIPE:
	case CT_FILE_FIFO:
		return V1_PIPE;
	case CT_FILE_UNIX:
	case CT_FILE_INET:
		return V1_SOCK;
	case CT_FILE_EVENTFD:
	case CT_FILE_SIGNALFD:
	case CT_FILE_TIMERFD:
		return V1_ANON;
	case CT_FILE_EPOLL:
		return V1_EPOLL;
	case CT_FILE_INOTIFY:
		return V1_INOTIFY;
	case CT_FILE_TTY:
		return V1_TTY;
	default:
		return -1;
	}
}

/* A list of format 1: u32 n, then n entries of at least @min bytes each. */
static uint32_t v1_count(struct rbuf *r, uint32_t min)
{
	uint32_t n = r_u32(r);

	if (n > (r->len - r->pos) / min || n > 1 << 20) {
		if (n)
			*r->err = -EBADMSG;
		return 0;
	}
	return n;
}

/* The epoll interest list and inotify watches of a format-1 record. */
static void v1_read_lists(struct rbuf *r, struct ct_file *ep, struct ct_file *in)
{
	const struct ct_file_format *epoll = &fd_kind_of(CT_FILE_EPOLL)->fmt;
	uint32_t n = v1_count(r, 20);

	/* a target there has the fields of an EPOLL_TGT record, inline */
	for (uint32_t i = 0; i < n && !*r->err; i++)
		epoll->decode(REC_FILE_EPOLL_TGT, r, ep);
	n = v1_count(r, 16);
	for (uint32_t i = 0; i < n; i++) {
		struct ct_inotify_watch *w = r_push(r, &in->watches, &in->nr_watches, sizeof(*w), n);

		if (!w)
			return;
		w->wd = r_i32(r);
		w->mask = r_u32(r);
		w->path = r_str(r);
	}
}

/* Read one format-1 FILE record into @f. */
void blob_read_file_v1(struct rbuf *r, struct ct_file *f)
{
	static const uint32_t owner[V1_NR] = {
		[V1_REG] = CT_FILE_REG, [V1_PIPE] = CT_FILE_PIPE, [V1_SOCK] = CT_FILE_INET,
		[V1_ANON] = CT_FILE_TIMERFD, [V1_EPOLL] = CT_FILE_EPOLL,
		[V1_INOTIFY] = CT_FILE_INOTIFY, [V1_TTY] = CT_FILE_TTY,
	};
	struct ct_file g[V1_NR];
	int keep;

	memset(g, 0, sizeof(g));
	for (int i = 0; i < V1_NR; i++)
		g[i].kind = owner[i];
	f->kind = r_u32(r);
	f->flags = r_u32(r);
	f->pos = r_u64(r);
	f->path = r_str(r);
	r_file_id(r, &f->id);
	g[V1_REG].deleted = r_u32(r) != 0;
	g[V1_REG].contents = r_bytes(r, &g[V1_REG].contents_len, BLOB_MAX_RAW);
	g[V1_PIPE].pipe_id = r_u32(r);
	g[V1_PIPE].pipe_data = r_bytes(r, &g[V1_PIPE].pipe_data_len, 1 << 24);
	g[V1_PIPE].pipe_size = r_u32(r);
	sock_decode_fields(r, &g[V1_SOCK]);
	g[V1_ANON].count = r_u64(r);
	g[V1_ANON].efd_flags = r_u32(r);
	g[V1_ANON].sigmask = r_u64(r);
	g[V1_ANON].clock = r_i32(r);
	g[V1_ANON].value_nsec = (int64_t)r_u64(r);
	g[V1_ANON].interval_nsec = (int64_t)r_u64(r);
	v1_read_lists(r, &g[V1_EPOLL], &g[V1_INOTIFY]);
	tcp_repair_decode(r, &g[V1_SOCK].tcp);
	tty_decode_fields(r, &g[V1_TTY]);

	keep = v1_group_of(f->kind);
	for (int i = 0; i < V1_NR; i++) {
		if (i == keep) {
			/* the kind's payload: everything after the common part */
			memcpy((char *)f + CT_FILE_PAYLOAD, (char *)&g[i] + CT_FILE_PAYLOAD,
			       sizeof(*f) - CT_FILE_PAYLOAD);
			continue;
		}
		image_file_free(&g[i]);
	}
}
