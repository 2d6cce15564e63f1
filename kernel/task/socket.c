// SPDX-License-Identifier: MIT
/*
 * The socket record shared by the unix and inet kinds (unix.c, inet.c):
 * socket(2) arguments, state, names, options and the unread queue.
 */
#include <stdlib.h>

#include "task/fdkinds.h"

void sock_encode(struct wbuf *w, const struct ct_file *f)
{
	size_t at = w_begin(w, REC_FILE_SOCKET);

	w_u32(w, f->sk_family);
	w_u32(w, f->sk_type);
	w_u32(w, f->sk_proto);
	w_u32(w, f->sk_state);
	w_u32(w, f->sk_backlog);
	w_u32(w, f->sk_shutdown);
	w_u64(w, f->sk_ino);
	w_u64(w, f->sk_peer_ino);
	w_bytes(w, f->sk_addr, f->sk_addr_len);
	w_bytes(w, f->sk_peer_addr, f->sk_peer_addr_len);
	w_u32(w, f->sk_opts);
	w_u32(w, f->sk_rcvbuf);
	w_u32(w, f->sk_sndbuf);
	w_bytes(w, f->sk_queue, f->sk_queue_len);
	w_u32(w, f->sk_file_mode);
	w_u32(w, f->sk_file_uid);
	w_u32(w, f->sk_file_gid);
	w_end(w, at);
}

/* The fields of the socket record, in their order (also inline in a format-1 FILE record). */
void sock_decode_fields(struct rbuf *r, struct ct_file *f)
{
	f->sk_family = r_u32(r);
	f->sk_type = r_u32(r);
	f->sk_proto = r_u32(r);
	f->sk_state = r_u32(r);
	f->sk_backlog = r_u32(r);
	f->sk_shutdown = r_u32(r);
	f->sk_ino = r_u64(r);
	f->sk_peer_ino = r_u64(r);
	f->sk_addr = r_bytes(r, &f->sk_addr_len, 128);
	f->sk_peer_addr = r_bytes(r, &f->sk_peer_addr_len, 128);
	f->sk_opts = r_u32(r);
	f->sk_rcvbuf = r_u32(r);
	f->sk_sndbuf = r_u32(r);
	f->sk_queue = r_bytes(r, &f->sk_queue_len, 1 << 28);
}

void sock_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	/* a repeated record is ignored: the first one's buffers stay owned */
	if (tag != REC_FILE_SOCKET || f->sk_addr || f->sk_peer_addr || f->sk_queue)
		return;
	sock_decode_fields(r, f);
	f->sk_file_mode = r_u32(r);
	f->sk_file_uid = r_u32(r);
	f->sk_file_gid = r_u32(r);
}

void sock_free(struct ct_file *f)
{
	free(f->sk_addr);
	free(f->sk_peer_addr);
	free(f->sk_queue);
	free(f->tcp.sndq);
	free(f->tcp.rcvq);
}
