// SPDX-License-Identifier: MIT
/*
 * The socket record shared by the unix and inet kinds (unix.c, inet.c):
 * socket(2) arguments, state, names, options and the unread queue; and
 * the buffer sizes of both kinds, with their locks.
 *
 * A socket's buffers are the program's when it set them (SO_SNDBUF,
 * SO_RCVBUF: the kernel then sets SOCK_SNDBUF_LOCK/SOCK_RCVBUF_LOCK and
 * stops resizing them), else the kernel's: TCP grows them with traffic
 * (autotuning).  Setting a size at restore sets its lock too, so the
 * locks are recorded (SO_BUF_LOCK, Linux 5.14) and put back as they were
 * after the sizes: an autotuned socket keeps its size and goes on growing.
 */
#define LOG_PREFIX "socket: "
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "task/fdkinds.h"

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72		/* include/uapi/asm-generic/socket.h */
#endif
#define SOCK_SNDBUF_LOCK 1	/* the kernel's bits (include/net/sock.h) */
#define SOCK_RCVBUF_LOCK 2

/* An int socket option of @sk into @v; false if it cannot be read. */
static bool sock_get_int(int sk, int level, int name, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(sk, level, name, v, &len) == 0;
}

/*
 * Record the buffer sizes of @sk and which of them the program fixed.
 * Without SO_BUF_LOCK (older kernels) only sizes that differ from a fresh
 * socket's are kept, as the program's own.
 */
void sock_dump_bufs(int sk, struct ct_file *f)
{
	int rcv = 0, snd = 0, locks, fresh, v;

	sock_get_int(sk, SOL_SOCKET, SO_RCVBUF, &rcv);
	sock_get_int(sk, SOL_SOCKET, SO_SNDBUF, &snd);
	f->sk_rcvbuf = (uint32_t)rcv;
	f->sk_sndbuf = (uint32_t)snd;
	if (sock_get_int(sk, SOL_SOCKET, SO_BUF_LOCK, &locks)) {
		f->sk_opts |= CT_SKOPT_BUF_LOCKS;
		if (locks & SOCK_SNDBUF_LOCK)
			f->sk_opts |= CT_SKOPT_SNDBUF_LOCK;
		if (locks & SOCK_RCVBUF_LOCK)
			f->sk_opts |= CT_SKOPT_RCVBUF_LOCK;
		return;
	}
	fresh = socket((int)f->sk_family, (int)f->sk_type | SOCK_CLOEXEC, (int)f->sk_proto);
	if (fresh < 0)
		return;
	if (sock_get_int(fresh, SOL_SOCKET, SO_RCVBUF, &v) && v == rcv)
		f->sk_rcvbuf = 0;
	if (sock_get_int(fresh, SOL_SOCKET, SO_SNDBUF, &v) && v == snd)
		f->sk_sndbuf = 0;
	close(fresh);
}

/* Give buffer @name of @sk @size bytes as read (the kernel doubles what it is given). */
static void sock_set_buf(int sk, int name, int force, uint32_t size, const struct ct_file *f)
{
	int v = (int)(size / 2);

	if (!v)
		return;
	/* an autotuned size may pass the limit of SO_*BUF: the FORCE variants (CAP_NET_ADMIN) do not */
	if (setsockopt(sk, SOL_SOCKET, force, &v, sizeof(v)) < 0 &&
	    setsockopt(sk, SOL_SOCKET, name, &v, sizeof(v)) < 0)
		pr_warn("socket %llu: cannot set buffer size %u: %m", (unsigned long long)f->sk_ino, size);
}

/* Give @sk the recorded buffer sizes, then the program's locks as they were. */
void sock_restore_bufs(int sk, const struct ct_file *f)
{
	int locks = 0;

	sock_set_buf(sk, SO_RCVBUF, SO_RCVBUFFORCE, f->sk_rcvbuf, f);
	sock_set_buf(sk, SO_SNDBUF, SO_SNDBUFFORCE, f->sk_sndbuf, f);
	if (!(f->sk_opts & CT_SKOPT_BUF_LOCKS))
		return;		/* an older dump: the sizes it kept were the program's */
	if (f->sk_opts & CT_SKOPT_SNDBUF_LOCK)
		locks |= SOCK_SNDBUF_LOCK;
	if (f->sk_opts & CT_SKOPT_RCVBUF_LOCK)
		locks |= SOCK_RCVBUF_LOCK;
	if (setsockopt(sk, SOL_SOCKET, SO_BUF_LOCK, &locks, sizeof(locks)) < 0)
		pr_warn("socket %llu: cannot set SO_BUF_LOCK %d: %m", (unsigned long long)f->sk_ino, locks);
}

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
