// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * TCP and UDP sockets over IPv4 and IPv6.
 *
 * Listening and bound sockets are recreated on the same address and port
 * with their options (reuse flags, TCP_NODELAY, keepalive, broadcast,
 * IPV6_V6ONLY, buffer sizes and their locks: socket.c).  Clients
 * still waiting in a listener's backlog are not kept: they see a reset.
 *
 * An established TCP connection refuses the dump by default, naming it.
 * With CT_TCP_CLOSE (--tcp-close) it is recorded as a reset connection and
 * restored as a socket whose connection was reset: its first read or write
 * fails with ECONNRESET, as after a peer's abort.  With CT_TCP_ESTABLISHED
 * (--tcp-established) it is restored alive through TCP_REPAIR (tcprepair.c).
 */
#define LOG_PREFIX "inet: "
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

/* Boolean options kept, with the level and name to get and set them. */
static const struct {
	uint32_t bit;
	int level, name;
	bool tcp_only, v6_only;
} inet_bool_opts[] = {
	{ CT_SKOPT_REUSEADDR, SOL_SOCKET, SO_REUSEADDR, false, false },
	{ CT_SKOPT_REUSEPORT, SOL_SOCKET, SO_REUSEPORT, false, false },
	{ CT_SKOPT_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE, false, false },
	{ CT_SKOPT_BROADCAST, SOL_SOCKET, SO_BROADCAST, false, false },
	{ CT_SKOPT_NODELAY, IPPROTO_TCP, TCP_NODELAY, true, false },
	{ CT_SKOPT_V6ONLY, IPPROTO_IPV6, IPV6_V6ONLY, false, true },
};

/* An int socket option, 0 if it cannot be read. */
static int sk_get_int(int sk, int level, int name)
{
	socklen_t len = sizeof(int);
	int v = 0;

	if (getsockopt(sk, level, name, &v, &len) < 0)
		return 0;
	return v;
}

/* "addr:port" or "[addr]:port" of a socket address. */
const char *inet_name(const uint8_t *addr, uint64_t len, char *buf, size_t size)
{
	const struct sockaddr *sa = (const struct sockaddr *)addr;
	char host[INET6_ADDRSTRLEN] = "?";

	if (!addr || len < sizeof(struct sockaddr_in)) {
		snprintf(buf, size, "(none)");
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)addr;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)addr;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
	return buf;
}

/* The port of a recorded address, 0 if none. */
static unsigned int inet_port(const uint8_t *addr, uint64_t len)
{
	const struct sockaddr *sa = (const struct sockaddr *)addr;

	if (!addr || len < sizeof(struct sockaddr_in))
		return 0;
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
}

/* Store a socket address of @len bytes. */
static int inet_save_addr(uint8_t **dst, uint64_t *dst_len, const struct sockaddr_storage *ss, socklen_t len)
{
	*dst = xmalloc(len);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, ss, len);
	*dst_len = len;
	return 0;
}

/* Record the options and the buffer sizes with their locks. */
static void inet_dump_opts(int sk, struct ct_file *f)
{
	for (size_t k = 0; k < ARRAY_SIZE(inet_bool_opts); k++) {
		if (inet_bool_opts[k].tcp_only && f->sk_proto != IPPROTO_TCP)
			continue;
		if (inet_bool_opts[k].v6_only && f->sk_family != AF_INET6)
			continue;
		if (sk_get_int(sk, inet_bool_opts[k].level, inet_bool_opts[k].name))
			f->sk_opts |= inet_bool_opts[k].bit;
	}
	sock_dump_bufs(sk, f);
}

/* A TCP connection (any state but listening or closed): refuse, or record it as reset. */
static int inet_dump_conn(const struct fd_dump *d, int sk, struct ct_file *f, int state)
{
	char a[80], b[80];

	if (d->tc && d->tc->tcp_mode == CT_TCP_CLOSE) {
		f->sk_opts |= CT_SKOPT_RESET;
		return 0;
	}
	if (d->tc && d->tc->tcp_mode == CT_TCP_ESTABLISHED && state == CT_SK_ESTABLISHED)
		return tcp_repair_dump(d, sk, f);
	inet_name(f->sk_addr, f->sk_addr_len, a, sizeof(a));
	inet_name(f->sk_peer_addr, f->sk_peer_addr_len, b, sizeof(b));
	if (d->tc && d->tc->tcp_mode == CT_TCP_ESTABLISHED)
		return ct_err(-ENOTSUP, "pid %d: fd %d: closing TCP connection %s -> %s (state %d): only established ones are restored alive; use --tcp-close",
			      d->pid, d->fd, a, b, state);
	return ct_err(-ENOTSUP, "pid %d: fd %d: %s TCP connection %s -> %s; use --tcp-close to restore it reset",
		      d->pid, d->fd, state == CT_SK_ESTABLISHED ? "established" : "closing", a, b);
}

static bool inet_match(const struct fd_dump *d)
{
	return d->sk_family == AF_INET || d->sk_family == AF_INET6;
}

/* Everything about a TCP or UDP socket of a seized task, through its duplicate d->sk. */
static int inet_dump(const struct fd_dump *d, struct ct_file *f)
{
	int sk = d->sk;
	struct sockaddr_storage ss;
	struct tcp_info ti;
	socklen_t len;

	f->sk_ino = d->st->st_ino;
	f->sk_family = (uint32_t)sk_get_int(sk, SOL_SOCKET, SO_DOMAIN);
	f->sk_type = (uint32_t)sk_get_int(sk, SOL_SOCKET, SO_TYPE);
	f->sk_proto = (uint32_t)sk_get_int(sk, SOL_SOCKET, SO_PROTOCOL);
	if (!(f->sk_type == SOCK_STREAM && f->sk_proto == IPPROTO_TCP) &&
	    !(f->sk_type == SOCK_DGRAM && f->sk_proto == IPPROTO_UDP))
		return ct_err(-ENOTSUP, "pid %d: fd %d: unsupported file type socket (%s type %u protocol %u)",
			      d->pid, d->fd, f->sk_family == AF_INET ? "inet" : "inet6", f->sk_type,
			      f->sk_proto);
	len = sizeof(ss);
	if (getsockname(sk, (struct sockaddr *)&ss, &len) == 0 && inet_save_addr(&f->sk_addr, &f->sk_addr_len, &ss, len))
		return -ENOMEM;
	len = sizeof(ss);
	if (getpeername(sk, (struct sockaddr *)&ss, &len) == 0 &&
	    inet_save_addr(&f->sk_peer_addr, &f->sk_peer_addr_len, &ss, len))
		return -ENOMEM;
	inet_dump_opts(sk, f);
	if (f->sk_proto == IPPROTO_UDP) {
		f->sk_state = f->sk_peer_addr ? CT_SK_ESTABLISHED : CT_SK_CLOSE;
		return 0;
	}
	len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(sk, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return ct_err(-errno, "pid %d: fd %d: TCP_INFO: %m", d->pid, d->fd);
	f->sk_state = ti.tcpi_state;
	if (ti.tcpi_state == CT_SK_LISTEN) {
		f->sk_backlog = ti.tcpi_sacked;	/* sk_max_ack_backlog for a listener */
		return 0;
	}
	if (ti.tcpi_state == CT_SK_CLOSE)
		return 0;
	return inet_dump_conn(d, sk, f, ti.tcpi_state);
}

/* ---- restore ---- */

/*
 * A TCP socket whose connection was reset: connect it to a listener of ours
 * on loopback, then abort the accepted end (SO_LINGER 0 + close sends RST).
 */
static int inet_open_reset(const struct ct_file *f)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = f->sk_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	struct linger lg = { 1, 0 };
	int lsk = -1, sk = -1, acc = -1, ret = 0;

	ss.ss_family = (sa_family_t)f->sk_family;
	if (f->sk_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	else
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lsk = socket((int)f->sk_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sk = socket((int)f->sk_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsk < 0 || sk < 0 || bind(lsk, (struct sockaddr *)&ss, len) < 0 || listen(lsk, 1) < 0 ||
	    getsockname(lsk, (struct sockaddr *)&ss, &len) < 0 ||
	    connect(sk, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	acc = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);
	if (acc < 0 || setsockopt(acc, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		goto fail;
	close(acc);
	close(lsk);
	return sk;
fail:
	ret = ct_err(-errno, "tcp socket %llu: cannot make a reset connection: %m", (unsigned long long)f->sk_ino);
	if (acc >= 0)
		close(acc);
	if (lsk >= 0)
		close(lsk);
	if (sk >= 0)
		close(sk);
	return ret;
}

/* Set the recorded options on a new socket (reuse flags before bind). */
void inet_set_opts(int sk, const struct ct_file *f)
{
	int v;

	for (size_t k = 0; k < ARRAY_SIZE(inet_bool_opts); k++) {
		if (inet_bool_opts[k].tcp_only && f->sk_proto != IPPROTO_TCP)
			continue;
		if (inet_bool_opts[k].v6_only && f->sk_family != AF_INET6)
			continue;
		v = !!(f->sk_opts & inet_bool_opts[k].bit);
		if (setsockopt(sk, inet_bool_opts[k].level, inet_bool_opts[k].name, &v, sizeof(v)) < 0)
			pr_warn("socket %llu: cannot set option %d/%d: %m", (unsigned long long)f->sk_ino,
				inet_bool_opts[k].level, inet_bool_opts[k].name);
	}
	sock_restore_bufs(sk, f);
}

/* A new TCP or UDP socket, bound, listening or connected as recorded. */
static int inet_create(const struct ct_file *f)
{
	char name[80];
	int sk, err, one = 1, reuse;

	if (f->sk_opts & CT_SKOPT_RESET)
		return inet_open_reset(f);
	if (f->sk_opts & CT_SKOPT_REPAIR)
		return tcp_repair_open(f);
	sk = socket((int)f->sk_family, (int)f->sk_type | SOCK_CLOEXEC, (int)f->sk_proto);
	if (sk < 0)
		return ct_err(-errno, "socket %llu: cannot create: %m", (unsigned long long)f->sk_ino);
	inet_set_opts(sk, f);
	if (inet_port(f->sk_addr, f->sk_addr_len)) {
		/* the dumped process's connections may linger in TIME_WAIT: bind past them */
		setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(sk, (const struct sockaddr *)f->sk_addr, (socklen_t)f->sk_addr_len) < 0)
			goto fail;
	}
	/* listen checks the port again: old connections held for the restore still use it */
	if (f->sk_state == CT_SK_LISTEN && listen(sk, (int)f->sk_backlog) < 0)
		goto fail;
	reuse = !!(f->sk_opts & CT_SKOPT_REUSEADDR);
	setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
	if (f->sk_proto == IPPROTO_UDP && f->sk_peer_addr &&
	    connect(sk, (const struct sockaddr *)f->sk_peer_addr, (socklen_t)f->sk_peer_addr_len) < 0)
		goto fail;
	return sk;
fail:
	err = -errno;
	close(sk);
	return ct_err(err, "socket %s: cannot bind, listen or connect again: %s",
		      inet_name(f->sk_addr, f->sk_addr_len, name, sizeof(name)), strerror(-err));
}

static int inet_open(struct fd_restore *rs, uint32_t i)
{
	return fd_restore_place(rs, i, inet_create(&rs->img->files[i]));
}

/* Live TCP connections open after the listeners that share their port. */
static bool inet_open_late(const struct ct_image *img, uint32_t i)
{
	return !!(img->files[i].sk_opts & CT_SKOPT_REPAIR);
}

/* Is a socket address of @len bytes a full address of @family? */
static bool inet_addr_is_sane(const uint8_t *addr, uint64_t len, uint32_t family)
{
	sa_family_t fam;

	if (!addr || len != (family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)))
		return false;
	memcpy(&fam, addr, sizeof(fam));
	return fam == family;
}

/* Is an INET record sane, with its TCP_REPAIR state if it has one? */
static bool inet_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	const struct ct_tcp *t = &f->tcp;

	(void)img;
	if (f->sk_family != AF_INET && f->sk_family != AF_INET6)
		return false;
	if (!(f->sk_opts & CT_SKOPT_REPAIR))
		return !t->sndq_len && !t->rcvq_len;
	return f->sk_proto == IPPROTO_TCP && f->sk_type == SOCK_STREAM && !(f->sk_opts & CT_SKOPT_RESET) &&
	       f->sk_state == CT_SK_ESTABLISHED && t->unsent <= t->sndq_len &&
	       t->snd_wscale <= 14 && t->rcv_wscale <= 14 &&
	       inet_addr_is_sane(f->sk_addr, f->sk_addr_len, f->sk_family) &&
	       inet_addr_is_sane(f->sk_peer_addr, f->sk_peer_addr_len, f->sk_family);
}

/* The socket record, and the TCP_REPAIR state of a connection restored alive. */
static void inet_encode(struct wbuf *w, const struct ct_file *f)
{
	sock_encode(w, f);
	if (f->sk_opts & CT_SKOPT_REPAIR)
		tcp_repair_encode(w, &f->tcp);
}

static void inet_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag == REC_FILE_TCP && !f->tcp.sndq && !f->tcp.rcvq)
		tcp_repair_decode(r, &f->tcp);
	else
		sock_decode(tag, r, f);
}

const struct fd_kind fd_kind_inet = {
	.kind = CT_FILE_INET,
	.fmt = {
		.name = "socket",
		.encode = inet_encode,
		.decode = inet_decode,
		.is_sane = inet_is_sane,
		.free = sock_free,
	},
	.match = inet_match,
	.dump = inet_dump,
	.open = inet_open,
	.open_late = inet_open_late,
};
