// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Unix sockets: stream, dgram and seqpacket; socketpairs, named (path and
 * abstract) and listening sockets; the unread data of each one.
 *
 * Dump works on a pidfd_getfd duplicate of the task's socket.  Names come
 * from getsockname/getpeername, the state, the peer's inode, the listen
 * backlog and the shutdown bits from sock_diag (NETLINK_SOCK_DIAG, exact
 * inode lookup).  Unread messages are peeked: SO_PEEK_OFF is set to 0 on the
 * shared socket for the walk and put back to what it was before the task
 * runs again (MSG_PEEK alone only ever sees the first datagram).  A message
 * carrying fds (SCM_RIGHTS) refuses the dump.
 *
 * Restore, in the restorer: listening and bound sockets first (a stale
 * socket file at the path is removed), then connected ones.  Two sockets
 * that are each other's peer become one socketpair, and each one's queue is
 * sent from the other end; a socket whose peer is gone gets a pair whose
 * other end is closed after the data; one connected to a name bound in the
 * image (a client not yet accepted, a dgram client of a named socket)
 * connects to that name again.  Shutdown bits are applied last.  A socket
 * bound to a path gets its socket file's mode and owner back.
 *
 * A stream socket whose peer is a socket of no process of the container
 * refuses the dump (checked once every task is recorded), naming both ends;
 * with --unix-close it is restored as if that peer had closed: the queued
 * data, then end-of-file.
 */
#define LOG_PREFIX "unix: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/unix_diag.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

#ifndef INET_DIAG_NOCOOKIE
#define INET_DIAG_NOCOOKIE (~0U)
#endif
#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

#define UNIX_MSG_MAX (8u << 20)		/* largest message we peek */
#define UNIX_QUEUE_MAX (256u << 20)	/* most unread bytes stored per socket */

/* What sock_diag tells about one unix socket. */
struct unix_diag_info {
	uint32_t state;
	uint32_t peer_ino;
	uint32_t backlog;		/* listening: max backlog */
	uint32_t shutdown;
};

/* Parse the attributes of one unix_diag_msg. */
static void unix_diag_parse(struct nlmsghdr *nlh, struct unix_diag_info *ui)
{
	struct unix_diag_msg *m = NLMSG_DATA(nlh);
	struct nlattr *a = (struct nlattr *)(m + 1);
	int len = (int)nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*m));

	ui->state = m->udiag_state;
	while (len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= len) {
		void *data = (char *)a + NLA_HDRLEN;

		if (a->nla_type == UNIX_DIAG_PEER && a->nla_len >= NLA_HDRLEN + 4)
			memcpy(&ui->peer_ino, data, 4);
		else if (a->nla_type == UNIX_DIAG_RQLEN && a->nla_len >= NLA_HDRLEN + 8)
			memcpy(&ui->backlog, (char *)data + 4, 4);	/* { rqueue, wqueue } */
		else if (a->nla_type == UNIX_DIAG_SHUTDOWN && a->nla_len >= NLA_HDRLEN + 1)
			ui->shutdown = *(uint8_t *)data;
		len -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
}

/* Ask sock_diag about the unix socket with inode @ino. */
static int unix_diag_get(uint32_t ino, struct unix_diag_info *ui)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} q = {
		.nlh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0U, .udiag_ino = ino,
			 .udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN,
			 .udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[8192] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	int nl, ret = -ENOENT;
	ssize_t n;

	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	if (sendto(nl, &q, sizeof(q), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out_close;
	}
	n = recv(nl, buf, sizeof(buf), 0);
	if (n < 0) {
		ret = -errno;
		goto out_close;
	}
	if (!NLMSG_OK(nlh, n))
		goto out_close;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(nlh);

		ret = e->error ? e->error : -ENOENT;
		goto out_close;
	}
	if (nlh->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
		memset(ui, 0, sizeof(*ui));
		unix_diag_parse(nlh, ui);
		ret = 0;
	}
out_close:
	close(nl);
	return ret;
}

/* Store a copy of a socket address. */
static int sk_save_addr(uint8_t **dst, uint64_t *dst_len, const struct sockaddr_un *sa, socklen_t len)
{
	if (len <= offsetof(struct sockaddr_un, sun_path))
		return 0;	/* unnamed */
	*dst = xmalloc(len);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, sa, len);
	*dst_len = len;
	return 0;
}

/* Append one message (u32 length + bytes) to the socket's queue record. */
static int unix_queue_add(struct ct_file *f, size_t *cap, const void *data, uint32_t len)
{
	if (f->sk_queue_len + 4 + len > UNIX_QUEUE_MAX)
		return -EFBIG;
	if (xgrow(&f->sk_queue, cap, f->sk_queue_len + 4 + len, 1))
		return -ENOMEM;
	memcpy(f->sk_queue + f->sk_queue_len, &len, 4);
	memcpy(f->sk_queue + f->sk_queue_len + 4, data, len);
	f->sk_queue_len += 4 + len;
	return 0;
}

/* Close fds that a peek with SCM_RIGHTS installed here; true if there were any. */
static bool unix_drop_passed_fds(struct msghdr *mh)
{
	bool any = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		int *fds = (int *)CMSG_DATA(c);
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		any = true;
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
	}
	return any;
}

/* Peek every unread message with the peek offset walking the queue. */
static int unix_peek_all(const struct fd_dump *d, int sk, struct ct_file *f)
{
	char cbuf[CMSG_SPACE(253 * sizeof(int))] __attribute__((aligned(8)));
	size_t cap = 0;
	uint8_t *buf;
	int ret = 0;

	buf = xmalloc(UNIX_MSG_MAX);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct iovec iov = { buf, UNIX_MSG_MAX };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			ret = ct_err(-errno, "pid %d: fd %d: cannot peek the unix socket's queue: %m",
				     d->pid, d->fd);
			break;
		}
		if (unix_drop_passed_fds(&mh)) {
			ret = ct_err(-ENOTSUP, "pid %d: fd %d: unix socket has file descriptors in flight",
				     d->pid, d->fd);
			break;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			ret = ct_err(-EFBIG, "pid %d: fd %d: unix message larger than %u bytes", d->pid,
				     d->fd, UNIX_MSG_MAX);
			break;
		}
		if (n == 0 && f->sk_type == SOCK_STREAM)
			break;	/* end of stream */
		ret = unix_queue_add(f, &cap, buf, (uint32_t)n);
		if (ret) {
			if (ret == -EFBIG)
				ret = ct_err(ret, "pid %d: fd %d: more than %u unread bytes in a unix socket",
					     d->pid, d->fd, UNIX_QUEUE_MAX);
			break;
		}
	}
	free(buf);
	return ret;
}

/* Record the unread data of a connected or bound socket, leaving its peek offset as it was. */
static int unix_dump_queue(const struct fd_dump *d, int sk, struct ct_file *f)
{
	int old = -1, zero = 0, inq = 0, ret;
	socklen_t len = sizeof(old);

	if (ioctl(sk, SIOCINQ, &inq) == 0 && inq == 0 && f->sk_type == SOCK_STREAM)
		return 0;
	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, &len) < 0 ||
	    setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot set the peek offset: %m", d->pid, d->fd);
	ret = unix_peek_all(d, sk, f);
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old)) < 0 && !ret)
		ret = ct_err(-errno, "pid %d: fd %d: cannot put the peek offset back: %m", d->pid, d->fd);
	return ret;
}

static bool unix_match(const struct fd_dump *d)
{
	return d->sk_family == AF_UNIX;
}

/* Does @f bind its name at restore (listening, dgram, or bound and unconnected)? */
static bool unix_owns_name(const struct ct_file *f)
{
	if (!f->sk_addr)
		return false;
	if (f->sk_state == CT_SK_LISTEN || f->sk_type == SOCK_DGRAM)
		return true;
	return f->sk_state != CT_SK_ESTABLISHED;	/* connected streams: accepted ones carry the listener's name */
}

/* Readable form of a socket name for messages. */
static const char *unix_name(const uint8_t *addr, uint64_t len, char *buf, size_t size)
{
	const struct sockaddr_un *sa = (const struct sockaddr_un *)addr;
	size_t plen;

	if (!addr || len <= offsetof(struct sockaddr_un, sun_path))
		return "(unnamed)";
	plen = len - offsetof(struct sockaddr_un, sun_path);
	if (sa->sun_path[0] == '\0')
		snprintf(buf, size, "@%.*s", (int)(plen - 1), sa->sun_path + 1);
	else
		snprintf(buf, size, "%.*s", (int)strnlen(sa->sun_path, plen), sa->sun_path);
	return buf;
}

/* The path a socket is bound to, NULL if abstract or unnamed. */
static const char *unix_path(const struct ct_file *f, char *buf, size_t size)
{
	if (!f->sk_addr || f->sk_addr_len <= offsetof(struct sockaddr_un, sun_path) + 1 ||
	    ((const struct sockaddr_un *)f->sk_addr)->sun_path[0] == '\0')
		return NULL;
	return unix_name(f->sk_addr, f->sk_addr_len, buf, size);
}

/* Mode and owner of the socket file a bound socket made, seen from the task's root. */
static void unix_dump_file_mode(const struct fd_dump *d, struct ct_file *f)
{
	char name[128], path[160];
	struct stat st;

	if (!unix_path(f, name, sizeof(name)))
		return;
	snprintf(path, sizeof(path), "/proc/%d/root%s", d->pid, name);
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;	/* removed or replaced: restore binds it afresh */
	f->sk_file_mode = st.st_mode & 07777;
	f->sk_file_uid = st.st_uid;
	f->sk_file_gid = st.st_gid;
}

/* Everything about a unix socket of a seized task, through its duplicate d->sk. */
static int unix_dump(const struct fd_dump *d, struct ct_file *f)
{
	int sk = d->sk;
	struct sockaddr_un sa;
	struct unix_diag_info ui = { 0 };
	socklen_t len;
	int v = 0, ret;

	f->sk_family = AF_UNIX;
	f->sk_ino = d->st->st_ino;
	len = sizeof(v);
	if (getsockopt(sk, SOL_SOCKET, SO_TYPE, &v, &len) < 0)
		return ct_err(-errno, "pid %d: fd %d: SO_TYPE: %m", d->pid, d->fd);
	f->sk_type = (uint32_t)v;
	len = sizeof(v);
	if (getsockopt(sk, SOL_SOCKET, SO_PASSCRED, &v, &len) == 0 && v)
		f->sk_opts |= CT_SKOPT_PASSCRED;
	sock_dump_bufs(sk, f);
	ret = unix_diag_get((uint32_t)f->sk_ino, &ui);
	if (ret)
		return ct_err(ret, "pid %d: fd %d: sock_diag has no unix socket %llu: %s", d->pid, d->fd,
			      (unsigned long long)f->sk_ino, strerror(-ret));
	f->sk_state = ui.state;
	f->sk_peer_ino = ui.peer_ino;
	f->sk_shutdown = ui.shutdown;
	len = sizeof(sa);
	if (getsockname(sk, (struct sockaddr *)&sa, &len) == 0 &&
	    sk_save_addr(&f->sk_addr, &f->sk_addr_len, &sa, len))
		return -ENOMEM;
	if (unix_owns_name(f))
		unix_dump_file_mode(d, f);
	len = sizeof(sa);
	if (getpeername(sk, (struct sockaddr *)&sa, &len) == 0 &&
	    sk_save_addr(&f->sk_peer_addr, &f->sk_peer_addr_len, &sa, len))
		return -ENOMEM;
	if (f->sk_state == CT_SK_LISTEN) {
		f->sk_backlog = ui.backlog;
		return 0;	/* not-yet-accepted clients connect again from their side */
	}
	return unix_dump_queue(d, sk, f);
}

/* The file of the image whose socket inode is @ino, -1 if none. */
static int unix_find_ino(const struct ct_image *img, uint64_t ino)
{
	for (uint32_t i = 0; ino && i < img->nr_files; i++)
		if (img->files[i].kind == CT_FILE_UNIX && img->files[i].sk_ino == ino)
			return (int)i;
	return -1;
}

/* The host pid and fd of a process holding socket inode @ino, searched in /proc; 0 if none. */
static pid_t unix_find_holder(uint64_t ino, int *fd)
{
	char want[64], path[600], link[64];
	struct dirent *p, *e;
	pid_t found = 0;
	DIR *procs, *fds;

	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)ino);
	procs = opendir("/proc");
	while (procs && !found && (p = readdir(procs))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		while (fds && !found && (e = readdir(fds))) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, e->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (!strcmp(link, want)) {
				found = atoi(p->d_name);
				*fd = atoi(e->d_name);
			}
		}
		if (fds)
			closedir(fds);
	}
	if (procs)
		closedir(procs);
	return found;
}

/* A task and fd of the image holding file @i (for messages); pid 0 if none. */
static pid_t unix_image_holder(const struct ct_image *img, uint32_t i, int *fd)
{
	for (uint32_t k = 0; k < img->nr_tasks; k++)
		for (uint32_t j = 0; j < img->tasks[k].nr_fds; j++)
			if (img->tasks[k].fds[j].file == i) {
				*fd = img->tasks[k].fds[j].fd;
				return img->tasks[k].host_pid;
			}
	*fd = -1;
	return 0;
}

/*
 * Once every task is recorded: a connected stream socket whose peer is no
 * socket of the image is connected to a process outside the container.
 * Refuse, naming both ends, unless the dump restores such sockets closed.
 */
static int unix_dump_finish(struct ct_image *img, uint32_t i, const struct task_ctx *policy)
{
	struct ct_file *f = &img->files[i];
	char name[128], peer[128], who[64] = "no process found";
	int fd, peer_fd = -1;
	pid_t holder, peer_pid;

	if (f->sk_type == SOCK_DGRAM || f->sk_state != CT_SK_ESTABLISHED || !f->sk_peer_ino ||
	    unix_find_ino(img, f->sk_peer_ino) >= 0)
		return 0;
	if (policy && policy->unix_close) {
		f->sk_opts |= CT_SKOPT_RESET;
		return 0;
	}
	holder = unix_image_holder(img, i, &fd);
	peer_pid = unix_find_holder(f->sk_peer_ino, &peer_fd);
	if (peer_pid)
		snprintf(who, sizeof(who), "pid %d fd %d", peer_pid, peer_fd);
	return ct_err(-ENOTSUP, "pid %d: fd %d: unix socket %s (inode %llu) is connected to unix socket %s (inode %llu, %s) outside the container; use --unix-close to restore it closed",
		      holder, fd, unix_name(f->sk_addr, f->sk_addr_len, name, sizeof(name)),
		      (unsigned long long)f->sk_ino,
		      unix_name(f->sk_peer_addr, f->sk_peer_addr_len, peer, sizeof(peer)),
		      (unsigned long long)f->sk_peer_ino, who);
}

/* ---- restore ---- */

/* Do two records carry the same socket address? */
static bool unix_addr_eq(const uint8_t *a, uint64_t alen, const uint8_t *b, uint64_t blen)
{
	return a && b && alen == blen && !memcmp(a, b, alen);
}

/* Is there a listening socket in the image bound to @f's peer name? */
static bool unix_peer_listens(const struct ct_image *img, const struct ct_file *f)
{
	for (uint32_t k = 0; k < img->nr_files; k++) {
		const struct ct_file *o = &img->files[k];

		if (o->kind == CT_FILE_UNIX && o->sk_state == CT_SK_LISTEN &&
		    unix_addr_eq(o->sk_addr, o->sk_addr_len, f->sk_peer_addr, f->sk_peer_addr_len))
			return true;
	}
	return false;
}

/* Are @i and its peer each other's peer (one socketpair at restore)? */
static int unix_mutual_peer(const struct ct_image *img, uint32_t i)
{
	const struct ct_file *f = &img->files[i];
	int p = unix_find_ino(img, f->sk_peer_ino);

	if (p < 0 || (uint32_t)p == i || img->files[p].sk_peer_ino != f->sk_ino)
		return -1;
	return p;
}

/* Connected to a name (not a mutual pair): a client to connect in the second pass? */
bool unix_open_late(const struct ct_image *img, uint32_t i)
{
	const struct ct_file *f = &img->files[i];

	if (!f->sk_peer_addr || f->sk_state == CT_SK_LISTEN || unix_mutual_peer(img, i) >= 0)
		return false;
	if (f->sk_type == SOCK_DGRAM)
		return true;
	/*
	 * A stream client its listener had not accepted yet: its peer sits in
	 * the backlog with no inode of its own (0), and, unlike a peer that is
	 * gone, it has not shut the client down.
	 */
	return !f->sk_peer_ino && (f->sk_shutdown & 3) != 3 && unix_peer_listens(img, f);
}

/* Remove a stale socket file at the path of @sa (only a socket). */
static void unix_unlink_stale(const struct sockaddr_un *sa, socklen_t len)
{
	struct stat st;

	if (len <= offsetof(struct sockaddr_un, sun_path) + 1 || sa->sun_path[0] == '\0')
		return;
	if (lstat(sa->sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(sa->sun_path);
}

/* Send the queued messages of @f into its socket through @from, its peer. */
static int unix_refill(const struct ct_file *f, int from)
{
	uint64_t off = 0;
	int big = 64 << 20;
	uint32_t len;

	if (!f->sk_queue_len)
		return 0;
	/* the queued bytes are charged to the sender: make room for all of them */
	if (setsockopt(from, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		pr_warn("cannot raise a send buffer for refilling: %m");
	while (off + 4 <= f->sk_queue_len) {
		memcpy(&len, f->sk_queue + off, 4);
		if (send(from, f->sk_queue + off + 4, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
			return ct_err(-errno, "unix socket %llu: cannot queue %u bytes again: %m",
				      (unsigned long long)f->sk_ino, len);
		off += 4 + len;
	}
	return 0;
}

/* Queue the datagrams of a named dgram socket again, sent to its name from a socket of ours. */
static int unix_refill_by_name(const struct ct_file *f)
{
	int tmp, ret;

	if (!f->sk_queue_len)
		return 0;
	tmp = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (tmp < 0)
		return ct_err(-errno, "unix socket: cannot create: %m");
	if (connect(tmp, (const struct sockaddr *)f->sk_addr, (socklen_t)f->sk_addr_len) < 0)
		ret = ct_err(-errno, "unix socket %llu: cannot reach its own name: %m",
			     (unsigned long long)f->sk_ino);
	else
		ret = unix_refill(f, tmp);
	close(tmp);
	return ret;
}

/* Apply the recorded shutdown bits of @f to its rebuilt socket. */
static void unix_shutdown(const struct ct_file *f, int sk)
{
	static const int how[4] = { -1, SHUT_RD, SHUT_WR, SHUT_RDWR };
	int h = how[f->sk_shutdown & 3];

	if (h >= 0 && shutdown(sk, h) < 0 && errno != ENOTCONN)
		pr_warn("unix socket %llu: shutdown: %m", (unsigned long long)f->sk_ino);
}

/* Give the socket file just bound the mode and owner it had. */
static void unix_restore_file_mode(const struct ct_file *f)
{
	char path[128];

	if (!f->sk_file_mode || !unix_path(f, path, sizeof(path)))
		return;
	if (lchown(path, f->sk_file_uid, f->sk_file_gid) < 0 || chmod(path, f->sk_file_mode) < 0)
		pr_warn("unix socket %s: cannot set mode %o and owner %u:%u again: %m", path,
			f->sk_file_mode, f->sk_file_uid, f->sk_file_gid);
}

/* A new socket of @f's type, named if it owns its name. */
static int unix_socket_named(const struct ct_image *img, uint32_t i)
{
	const struct ct_file *f = &img->files[i];
	const struct sockaddr_un *sa = (const struct sockaddr_un *)f->sk_addr;
	char name[128];
	int sk, err;

	sk = socket(AF_UNIX, (int)f->sk_type | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return ct_err(-errno, "unix socket: cannot create: %m");
	if (f->sk_opts & CT_SKOPT_PASSCRED)
		setsockopt(sk, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	sock_restore_bufs(sk, f);
	if (!unix_owns_name(f))
		return sk;
	unix_unlink_stale(sa, (socklen_t)f->sk_addr_len);
	if (bind(sk, (const struct sockaddr *)sa, (socklen_t)f->sk_addr_len) < 0)
		goto fail;
	unix_restore_file_mode(f);
	if (f->sk_state == CT_SK_LISTEN && listen(sk, (int)f->sk_backlog) < 0)
		goto fail;
	return sk;
fail:
	err = -errno;
	close(sk);
	return ct_err(err, "unix socket %s: cannot bind or listen: %s",
		      unix_name(f->sk_addr, f->sk_addr_len, name, sizeof(name)), strerror(-err));
}

/* Rebuild a mutual pair, or a socket whose stream peer is gone, as a socketpair. */
static int unix_open_pair(struct fd_restore *rs, uint32_t i, int p)
{
	const struct ct_image *img = rs->img;
	const struct ct_file *f = &img->files[i];
	struct file_table *ft = rs->ft;
	int sv[2], ret;

	if (socketpair(AF_UNIX, (int)f->sk_type | SOCK_CLOEXEC, 0, sv) < 0)
		return ct_err(-errno, "unix socket %llu: socketpair: %m", (unsigned long long)f->sk_ino);
	ret = unix_refill(f, sv[1]);
	if (!ret && p >= 0)
		ret = unix_refill(&img->files[p], sv[0]);
	if (ret) {
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	/* after the refill, which grew the senders' buffers */
	sock_restore_bufs(sv[0], f);
	if (p >= 0)
		sock_restore_bufs(sv[1], &img->files[p]);
	if (f->sk_opts & CT_SKOPT_PASSCRED)
		setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	file_set_status(sv[0], f);
	if (p < 0) {
		close(sv[1]);	/* the peer was gone at the dump: it is gone again */
	} else {
		if (img->files[p].sk_opts & CT_SKOPT_PASSCRED)
			setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
		unix_shutdown(&img->files[p], sv[1]);
		ret = fd_restore_place(rs, (uint32_t)p, sv[1]);
		if (ret) {
			close(sv[0]);
			return ret;
		}
	}
	unix_shutdown(f, sv[0]);
	ft->fds[i] = file_place_high(sv[0], rs->base, ft);
	return ft->fds[i] < 0 ? ft->fds[i] : 0;
}

/* Open unix socket @i of the image (and its pair's other end). */
static int unix_open(struct fd_restore *rs, uint32_t i)
{
	const struct ct_image *img = rs->img;
	const struct ct_file *f = &img->files[i];
	int p = unix_mutual_peer(img, i), sk;
	char name[128];
	bool stream_conn = f->sk_type != SOCK_DGRAM && f->sk_state == CT_SK_ESTABLISHED;
	int ret;

	/* a peer gone at the dump, or outside and --unix-close: a pair whose other end closes */
	if (p >= 0 || (stream_conn && (f->sk_opts & CT_SKOPT_RESET)) ||
	    (stream_conn && !f->sk_peer_ino && !unix_open_late(img, i)))
		return unix_open_pair(rs, i, p);
	if (stream_conn && !unix_open_late(img, i))
		return ct_err(-ENOTSUP, "unix socket %llu: its peer %llu is outside the container",
			      (unsigned long long)f->sk_ino, (unsigned long long)f->sk_peer_ino);
	sk = unix_socket_named(img, i);
	if (sk < 0)
		return sk;
	if (unix_open_late(img, i)) {
		if (connect(sk, (const struct sockaddr *)f->sk_peer_addr, (socklen_t)f->sk_peer_addr_len) < 0) {
			int err = -errno;

			close(sk);
			return ct_err(err, "unix socket %llu: cannot connect to %s again: %s",
				      (unsigned long long)f->sk_ino,
				      unix_name(f->sk_peer_addr, f->sk_peer_addr_len, name, sizeof(name)),
				      strerror(-err));
		}
		if (f->sk_queue_len && f->sk_type != SOCK_DGRAM)
			pr_warn("unix socket %llu: %llu bytes sent by a not yet accepted peer are lost",
				(unsigned long long)f->sk_ino, (unsigned long long)f->sk_queue_len);
	}
	if (f->sk_type == SOCK_DGRAM && unix_owns_name(f)) {
		ret = unix_refill_by_name(f);
		if (ret) {
			close(sk);
			return ret;
		}
	}
	unix_shutdown(f, sk);
	return fd_restore_place(rs, i, sk);
}

/* Is the queue of unread messages a well-formed list of u32 length + bytes? */
static bool unix_queue_is_sane(const struct ct_file *f)
{
	uint64_t off = 0;
	uint32_t len;

	while (off < f->sk_queue_len) {
		if (f->sk_queue_len - off < 4)
			return false;
		memcpy(&len, f->sk_queue + off, 4);
		if (len > f->sk_queue_len - off - 4)
			return false;
		off += 4 + (uint64_t)len;
	}
	return true;
}

static bool unix_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	(void)img;
	return f->sk_family == AF_UNIX && unix_queue_is_sane(f);
}

const struct fd_kind fd_kind_unix = {
	.kind = CT_FILE_UNIX,
	.fmt = {
		.name = "socket",
		.encode = sock_encode,
		.decode = sock_decode,
		.is_sane = unix_is_sane,
		.free = sock_free,
	},
	.match = unix_match,
	.dump = unix_dump,
	.open = unix_open,
	.open_late = unix_open_late,
	.dump_finish = unix_dump_finish,
};
