// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Established TCP connections restored alive (--tcp-established), through
 * the kernel's TCP repair mode.  Dump and restore side by side.
 *
 * Dump, with the tasks seized: on a duplicate of the socket (repair mode
 * and socket filters belong to the socket, so they apply to the task's fd
 * too) attach a socket filter that drops every incoming packet, turn
 * TCP_REPAIR on, then read the sequence numbers, the send queue (sent but
 * unacknowledged, then unsent bytes), the unread receive queue, the window
 * and the negotiated options.  The duplicate is held until the dump ends:
 * when the tasks are killed the socket, still in repair mode, closes
 * silently (no FIN, no RST) as the duplicates are closed; when the dump
 * fails, repair mode and the filter come off and the connection goes on.
 *
 * Why the filter: repair mode does not stop the receive path.  A segment
 * arriving after the receive queue is read would be acknowledged to the
 * peer, then lost with the old socket.  The filter runs before the TCP
 * state machine (tcp_filter() in tcp_v4_rcv/tcp_v6_rcv), so a dropped
 * segment is never acknowledged: the peer sends it again, and the restored
 * socket gets it.  The peer's acknowledgements are dropped too, so the
 * saved send queue may hold bytes the peer already has; they go out again
 * with their original sequence numbers and the peer discards them.  A
 * membarrier (an RCU grace period) after attaching makes sure no packet
 * that passed the old filter is still on its way to the queues we read.
 * This is CRIU's network lock (which uses netfilter rules) narrowed to the
 * one socket, with nothing to undo on the host.
 *
 * Between dump and restore the old sockets must stay: with no socket for
 * the connection, a segment the peer sends again meets a reset from the
 * kernel and the connection is lost.  So when the dump has killed the
 * tasks, a small detached holder process keeps the duplicates (repair mode,
 * drop filter) and listens on an abstract unix socket named after each
 * old socket's inode; restore asks it to close one right before it binds
 * and connects the new socket.  Only the few microseconds between that
 * close and the connect are uncovered.  The holder gives up after
 * TCP_HOLD_SECONDS (the connections then close silently, and a peer that
 * sends later gets a reset).  `ctswap rm` asks it to end them instead:
 * out of repair mode, their close tells the peer (tcp_hold_drop).
 *
 * Restore (after the old socket is gone: the dump killed its task): a new
 * socket in repair mode, options, the queue sequence numbers, bind to the
 * same local address and port, connect (no SYN in repair mode: the socket
 * is simply established), TCP_REPAIR_OPTIONS and TCP_TIMESTAMP, the
 * receive queue and the sent part of the send queue written in repair mode
 * (queued as received, and as sent), the unsent part written normally
 * with repair mode off, TCP_REPAIR_WINDOW, repair mode off.
 *
 * Not handled: connections in other states (closing, half-closed),
 * urgent data, TCP_MD5SIG, TCP-AO, sockets with a filter of their own.
 */
#define LOG_PREFIX "tcp: "
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

#define TCP_SEND_TIMEOUT_MS 5000	/* restore: wait for room in a send buffer */
#define TCP_HOLD_SECONDS 600		/* how long the holder keeps old sockets for a restore */

/* One socket a dump put in repair mode. */
struct tcp_repaired {
	int fd;				/* our duplicate */
	uint64_t ino;			/* the socket's inode: names it for the holder */
	bool reuse;			/* the program's SO_REUSEADDR (repair mode changes it) */
	bool filtered;			/* our drop-all filter is attached */
	bool repair;			/* TCP_REPAIR is on */
};

/* Turn repair mode on or off (TCP_REPAIR_ON / TCP_REPAIR_OFF). */
static int tcp_repair_set_mode(int sk, int on)
{
	return setsockopt(sk, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0 ? -errno : 0;
}

/* An int socket option of @sk, -1 if it cannot be read. */
static int tcp_get_sockopt(int sk, int name)
{
	socklen_t len = sizeof(int);
	int v;

	return getsockopt(sk, SOL_SOCKET, name, &v, &len) < 0 ? -1 : v;
}

/*
 * Leave repair mode, with the program's SO_REUSEADDR @reuse back (leaving
 * clears it).  Leaving sends a window probe: an old sequence number that
 * makes the peer answer with its window and acknowledgement.  The probe
 * carries our window too, which the peer drops unread (the segment is
 * outside its window) while our socket counts it as advertised: if it
 * is wider than the one the peer saw last, the socket sends no update when
 * its program reads (the kernel sends one when the window at least
 * doubles), and a peer stalled on a zero window waits for its own
 * zero-window probe, seconds after a few backoffs.  So the probe leaves
 * with the smallest receive buffer, which advertises no new room (an
 * advertised window never shrinks), and the buffer and its lock are put
 * back right after.
 */
static int tcp_leave_repair(int sk, int reuse)
{
	int rcvbuf = tcp_get_sockopt(sk, SO_RCVBUF), locks = tcp_get_sockopt(sk, SO_BUF_LOCK);
	int smallest = 0, ret;	/* the kernel makes 0 its minimum */

	if (rcvbuf > 0 && setsockopt(sk, SOL_SOCKET, SO_RCVBUF, &smallest, sizeof(smallest)) < 0)
		rcvbuf = -1;
	ret = tcp_repair_set_mode(sk, TCP_REPAIR_OFF);
	/* the kernel doubles what it is given */
	rcvbuf /= 2;
	if (rcvbuf > 0 && setsockopt(sk, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
	    setsockopt(sk, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
		pr_warn("cannot give the receive buffer back its %d bytes: %m", 2 * rcvbuf);
	if (locks >= 0 && setsockopt(sk, SOL_SOCKET, SO_BUF_LOCK, &locks, sizeof(locks)) < 0)
		pr_warn("cannot give the buffer locks back: %m");
	if (!ret)
		setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
	return ret;
}

/* Take our filter off one socket: it hears its peer again, still in repair mode. */
static void tcp_repair_unfilter(struct tcp_repaired *r)
{
	int unused = 0;

	if (r->filtered && setsockopt(r->fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) < 0)
		pr_warn("fd %d: cannot detach the drop filter: %m", r->fd);
	r->filtered = false;
}

/*
 * Take the filter and repair mode off one socket: its connection goes on.
 * The filter first: leaving repair mode sends a window probe, and the
 * peer's answer (its window) must not meet the filter.
 */
static void tcp_repair_resume(struct tcp_repaired *r)
{
	tcp_repair_unfilter(r);
	if (r->repair && tcp_leave_repair(r->fd, r->reuse))
		pr_warn("fd %d: cannot leave repair mode: %m", r->fd);
}

/* The abstract unix address of the holder of old socket @ino. */
static socklen_t tcp_hold_addr(uint64_t ino, struct sockaddr_un *sun)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "ctswap-tcp-hold-%llu",
		     (unsigned long long)ino);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/*
 * Leave repair mode and drop the filter of a held socket whose container is
 * gone for good: its close then ends the connection properly (FIN, or RST
 * for unread data) instead of leaving the peer waiting on a silent one.
 */
static void tcp_hold_hang_up(int sk)
{
	int off = TCP_REPAIR_OFF;

	setsockopt(sk, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
	setsockopt(sk, SOL_SOCKET, SO_DETACH_FILTER, &off, sizeof(off));
}

/* Send socket @fd with the one-byte answer "k" over @c_fd. */
static int tcp_hold_send_fd(int c_fd, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { "k", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(c_fd, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/*
 * The holder (async-signal-safe calls only: the dump may be threaded): wait
 * for restore to ask for each old socket, hand it over or close it, answer;
 * give up at the deadline.  @lsk[i] listens for @held[i].
 */
static void tcp_hold_serve(const int *lsk, const int *held, uint32_t nr, struct pollfd *pfd)
{
	struct timespec now, end;
	uint32_t left = nr;
	char c;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += TCP_HOLD_SECONDS;
	for (uint32_t i = 0; i < nr; i++)
		pfd[i] = (struct pollfd){ .fd = lsk[i], .events = POLLIN };
	while (left) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= end.tv_sec || poll(pfd, nr, 1000) < 0)
			break;
		for (uint32_t i = 0; i < nr; i++) {
			struct ucred uc;
			socklen_t len = sizeof(uc);
			bool answered;
			int c_fd;

			if (pfd[i].fd < 0 || !(pfd[i].revents & POLLIN))
				continue;
			c_fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c_fd < 0)
				continue;
			/* only root (restore, rm) may end the hold */
			if (getsockopt(c_fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 && uc.uid == 0 &&
			    read(c_fd, &c, 1) == 1) {
				/*
				 * 'g' (restore takes the socket itself), 'r' (restore
				 * rebuilds it): closed silently, in repair mode; 'c' (rm):
				 * tell the peer.
				 */
				/* stop listening before answering: whoever asked finds the name gone */
				close(pfd[i].fd);
				pfd[i].fd = -1;
				if (c == 'c')
					tcp_hold_hang_up(held[i]);
				answered = c == 'g' && !tcp_hold_send_fd(c_fd, held[i]);
				close(held[i]);
				if (!answered && write(c_fd, "k", 1) != 1) {
					/* restore gone: nothing to tell */
				}
				left--;
			}
			close(c_fd);
		}
	}
}

/* Fork the holder of the old sockets of @rs: detached, it outlives the dump. */
static void tcp_hold_spawn(struct tcp_repair_set *rs)
{
	int *lsk = xzalloc(rs->nr * sizeof(int)), *held = xzalloc(rs->nr * sizeof(int));
	struct pollfd *pfd = xzalloc(rs->nr * sizeof(*pfd));
	struct sockaddr_un sun;
	int status, done[2] = { -1, -1 };
	char c;
	pid_t pid;

	if (!lsk || !held || !pfd)
		goto out;
	/* closed by the holder once it has closed what it inherited (the container's lock too) */
	if (pipe2(done, O_CLOEXEC) < 0) {
		pr_warn("cannot start the TCP socket holder: %m");
		goto out;
	}
	for (uint32_t i = 0; i < rs->nr; i++) {
		socklen_t len = tcp_hold_addr(rs->sks[i].ino, &sun);

		held[i] = rs->sks[i].fd;
		lsk[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lsk[i] < 0 || bind(lsk[i], (struct sockaddr *)&sun, len) < 0 || listen(lsk[i], 4) < 0) {
			pr_warn("socket %llu: cannot hold it for the restore: %m", (unsigned long long)rs->sks[i].ino);
			goto out_close;
		}
	}
	pid = fork();
	if (pid < 0) {
		pr_warn("cannot fork the TCP socket holder: %m");
		goto out_close;
	}
	if (pid == 0) {
		sigset_t all;

		setsid();
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);	/* only the deadline ends it */
		if (fork() != 0)
			_exit(0);
		/* keep nothing of the dump's but what it holds */
		for (int fd = 0; fd < 1024; fd++) {
			bool keep = false;

			for (uint32_t i = 0; i < rs->nr && !keep; i++)
				keep = fd == lsk[i] || fd == held[i];
			if (!keep && fd != done[1])
				close(fd);
		}
		close(done[1]);
		tcp_hold_serve(lsk, held, rs->nr, pfd);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* until then it holds the container's lock: a restore right after would find it busy */
	close(done[1]);
	done[1] = -1;
	while (read(done[0], &c, 1) < 0 && errno == EINTR)
		;
	pr_info("%u TCP connections held for the restore", rs->nr);
out_close:
	for (uint32_t i = 0; i < rs->nr; i++)
		if (lsk[i] > 0)
			close(lsk[i]);
	for (int i = 0; i < 2; i++)
		if (done[i] >= 0)
			close(done[i]);
out:
	free(lsk);
	free(held);
	free(pfd);
}

/*
 * Make the holder close old socket @ino now, if it still holds it: @how
 * 'r' silently (restore takes the connection over), 'c' ending the
 * connection (the container is removed).  True if it did.
 */
static bool tcp_hold_release(uint64_t ino, char how)
{
	struct sockaddr_un sun;
	socklen_t len = tcp_hold_addr(ino, &sun);
	int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool done;
	char c;

	if (sk < 0)
		return false;
	done = connect(sk, (struct sockaddr *)&sun, len) == 0 && write(sk, &how, 1) == 1 &&
	       read(sk, &c, 1) == 1;
	if (done)
		pr_debug("socket %llu: the holder closed it", (unsigned long long)ino);
	close(sk);
	return done;
}

/*
 * Take old socket @ino from its holder, -1 if none is held (the holder
 * gave up, or the checkpoint came from elsewhere).  It is the connection
 * itself, still in repair mode behind the drop filter, its queues as the
 * dump read them: nothing to rebuild, and never a moment with no socket
 * for the connection (a segment of the peer then would meet a reset).
 */
static int tcp_hold_take(uint64_t ino)
{
	char cbuf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct sockaddr_un sun;
	socklen_t len = tcp_hold_addr(ino, &sun);
	struct cmsghdr *cm;
	int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd = -1;

	if (sk < 0)
		return -1;
	if (connect(sk, (struct sockaddr *)&sun, len) == 0 && write(sk, "g", 1) == 1 &&
	    recvmsg(sk, &mh, MSG_CMSG_CLOEXEC) == 1) {
		cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	}
	close(sk);
	if (fd >= 0)
		pr_debug("socket %llu: taken over from the holder", (unsigned long long)ino);
	return fd;
}

/* The connections of @img that are held for its restore end now (rm); how many were. */
int tcp_hold_drop(const struct ct_image *img)
{
	int dropped = 0;

	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];

		if (f->kind == CT_FILE_INET && (f->sk_opts & CT_SKOPT_REPAIR))
			dropped += tcp_hold_release(f->sk_ino, 'c');
	}
	return dropped;
}

/* End of a dump: resume the connections, or hold them for the restore (see task.h). */
void tcp_repair_end(struct tcp_repair_set *rs, bool resume)
{
	if (!resume && rs->nr)
		tcp_hold_spawn(rs);
	/* all filters off before any probe: two connections of the container may be each other's peers */
	for (uint32_t i = 0; i < rs->nr && resume; i++)
		tcp_repair_unfilter(&rs->sks[i]);
	for (uint32_t i = 0; i < rs->nr; i++) {
		if (resume)
			tcp_repair_resume(&rs->sks[i]);
		close(rs->sks[i].fd);
	}
	if (rs->nr && resume)
		pr_info("%u TCP connections resumed", rs->nr);
	free(rs->sks);
	rs->sks = NULL;
	rs->nr = 0;
}

/* Wait until no packet that passed the old filter of a socket is still being delivered. */
static void tcp_wait_delivery(void)
{
	/* MEMBARRIER_CMD_GLOBAL waits for an RCU grace period; softirq delivery is a reader */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) < 0)
		usleep(2000);
}

/*
 * Stop the connection of @sk where it is: hold a duplicate in @rs, drop its
 * incoming packets, turn repair mode on.
 */
static int tcp_lock(const struct fd_dump *d, int sk, const struct ct_file *f, struct tcp_repaired **out)
{
	static struct sock_filter drop_all[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { ARRAY_SIZE(drop_all), drop_all };
	struct tcp_repair_set *rs = d->tc->tcp_repair;
	struct tcp_repaired *r;
	socklen_t len = 0;
	int err;

	if (getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, NULL, &len) == 0 && len)
		return ct_err(-ENOTSUP, "pid %d: fd %d: TCP connection with a socket filter of its own: cannot restore it alive; use --tcp-close",
			      d->pid, d->fd);
	r = xrealloc(rs->sks, (rs->nr + 1) * sizeof(*rs->sks));
	if (!r)
		return -ENOMEM;
	rs->sks = r;
	r = &rs->sks[rs->nr];
	memset(r, 0, sizeof(*r));
	r->fd = fcntl(sk, F_DUPFD_CLOEXEC, 3);
	if (r->fd < 0)
		return ct_err(-errno, "pid %d: fd %d: dup: %m", d->pid, d->fd);
	rs->nr++;
	r->ino = f->sk_ino;
	r->reuse = !!(f->sk_opts & CT_SKOPT_REUSEADDR);
	if (setsockopt(sk, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot stop the TCP connection's input: %m", d->pid, d->fd);
	r->filtered = true;
	tcp_wait_delivery();
	err = tcp_repair_set_mode(sk, TCP_REPAIR_ON);
	if (err)
		return ct_err(err, "pid %d: fd %d: TCP_REPAIR: %s", d->pid, d->fd, strerror(-err));
	r->repair = true;
	*out = r;
	return 0;
}

/* The sequence number at the end of queue @q. */
static int tcp_queue_seq(int sk, int q, uint32_t *seq)
{
	socklen_t len = sizeof(*seq);

	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0 ||
	    getsockopt(sk, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &len) < 0)
		return -errno;
	return 0;
}

/* Peek the @len bytes of queue @q into a new buffer. */
static int tcp_peek_queue(int sk, int q, uint32_t len, uint8_t **buf, uint64_t *buf_len)
{
	ssize_t n;

	if (!len)
		return 0;
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0)
		return -errno;
	*buf = xmalloc(len);
	if (!*buf)
		return -ENOMEM;
	n = recv(sk, *buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if ((uint32_t)n != len)
		return -EIO;
	*buf_len = len;
	return 0;
}

/* The window and the options negotiated at connect time. */
static int tcp_read_params(int sk, struct ct_tcp *t)
{
	struct tcp_repair_window w;
	struct tcp_info ti;
	socklen_t len;
	int v;

	len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(sk, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	t->opts = ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	t->snd_wscale = ti.tcpi_snd_wscale;
	t->rcv_wscale = ti.tcpi_rcv_wscale;
	len = sizeof(v);
	if (getsockopt(sk, IPPROTO_TCP, TCP_MAXSEG, &v, &len) < 0)
		return -errno;
	t->mss = (uint32_t)v;
	len = sizeof(v);
	if (getsockopt(sk, IPPROTO_TCP, TCP_TIMESTAMP, &v, &len) < 0)
		return -errno;
	t->timestamp = (uint32_t)v;
	len = sizeof(w);
	if (getsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) < 0)
		return -errno;
	t->snd_wl1 = w.snd_wl1;
	t->snd_wnd = w.snd_wnd;
	t->max_window = w.max_window;
	t->rcv_wnd = w.rcv_wnd;
	t->rcv_wup = w.rcv_wup;
	return 0;
}

/* Everything TCP_REPAIR gives of a socket in repair mode. */
static int tcp_read_state(int sk, struct ct_tcp *t)
{
	int inq, outq, unsent, ret;

	if (ioctl(sk, SIOCINQ, &inq) < 0 || ioctl(sk, SIOCOUTQ, &outq) < 0 ||
	    ioctl(sk, SIOCOUTQNSD, &unsent) < 0)
		return -errno;
	if (inq < 0 || outq < 0 || unsent < 0 || unsent > outq)
		return -EIO;
	t->unsent = (uint32_t)unsent;
	ret = tcp_queue_seq(sk, TCP_RECV_QUEUE, &t->rcv_seq) ?:
	      tcp_queue_seq(sk, TCP_SEND_QUEUE, &t->snd_seq) ?:
	      tcp_peek_queue(sk, TCP_RECV_QUEUE, (uint32_t)inq, &t->rcvq, &t->rcvq_len) ?:
	      tcp_peek_queue(sk, TCP_SEND_QUEUE, (uint32_t)outq, &t->sndq, &t->sndq_len) ?:
	      tcp_read_params(sk, t);
	return ret;
}

/* An established TCP connection of a seized task, to restore alive. */
int tcp_repair_dump(const struct fd_dump *d, int sk, struct ct_file *f)
{
	struct tcp_repaired *r;
	int ret;

	if (!d->tc || !d->tc->tcp_repair)
		return ct_err(-EINVAL, "pid %d: fd %d: TCP repair needs a dump context", d->pid, d->fd);
	ret = tcp_lock(d, sk, f, &r);
	if (ret)
		return ret;
	ret = tcp_read_state(sk, &f->tcp);
	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read the TCP connection in repair mode: %s",
			      d->pid, d->fd, strerror(-ret));
	f->sk_opts |= CT_SKOPT_REPAIR;
	pr_debug("pid %d fd %d: snd %u (%llu queued, %u unsent) rcv %u (%llu unread) mss %u opts %#x",
		 d->pid, d->fd, f->tcp.snd_seq, (unsigned long long)f->tcp.sndq_len, f->tcp.unsent,
		 f->tcp.rcv_seq, (unsigned long long)f->tcp.rcvq_len, f->tcp.mss, f->tcp.opts);
	return 0;
}

/* ---- restore ---- */

/* Select queue @q and set the sequence number of its first byte. */
static int tcp_set_queue_seq(int sk, int q, uint32_t seq)
{
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0 ||
	    setsockopt(sk, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)) < 0)
		return -errno;
	return 0;
}

/* Write all of @buf, waiting for room in the send buffer a while. */
static int tcp_send_all(int sk, const uint8_t *buf, uint64_t len)
{
	struct pollfd pfd = { .fd = sk, .events = POLLOUT };
	uint64_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(sk, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN)
			return n ? -errno : -EIO;
		n = poll(&pfd, 1, TCP_SEND_TIMEOUT_MS);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/*
 * Make buffer @name (SO_SNDBUF/SO_RCVBUF) of @sk hold @len queued bytes.
 * A fresh socket's buffers start small and grow only with traffic, but
 * the queues of a busy connection reach megabytes: writing them would
 * wait for a peer that, inside the container, is not running yet.  The
 * FORCE variants pass the system's maximum (we have CAP_NET_ADMIN).
 */
static int tcp_make_room(int sk, int name, int force, uint64_t len)
{
	socklen_t optlen = sizeof(int);
	int cur = 0, want;

	if (getsockopt(sk, SOL_SOCKET, name, &cur, &optlen) < 0)
		return -errno;
	/* the kernel doubles what it is given; the other half covers skb overhead */
	if (!len || (uint64_t)cur >= 2 * len + 65536 || len > INT32_MAX / 4)
		return len > INT32_MAX / 4 ? -EFBIG : 0;
	want = (int)len + 65536;
	if (setsockopt(sk, SOL_SOCKET, force, &want, sizeof(want)) < 0 &&
	    setsockopt(sk, SOL_SOCKET, name, &want, sizeof(want)) < 0)
		return -errno;
	return 0;
}

/* Refill the receive queue and the sent part of the send queue, in repair mode. */
static int tcp_refill(int sk, const struct ct_tcp *t)
{
	uint64_t sent = t->sndq_len - t->unsent;
	int q, ret;

	ret = tcp_make_room(sk, SO_RCVBUF, SO_RCVBUFFORCE, t->rcvq_len) ?:
	      tcp_make_room(sk, SO_SNDBUF, SO_SNDBUFFORCE, t->sndq_len);
	if (ret)
		return ret;
	q = TCP_RECV_QUEUE;
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0)
		return -errno;
	ret = tcp_send_all(sk, t->rcvq, t->rcvq_len);
	if (ret)
		return ret;
	q = TCP_SEND_QUEUE;
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0)
		return -errno;
	return tcp_send_all(sk, t->sndq, sent);
}

/* The options negotiated at connect time, and the timestamp clock. */
static int tcp_set_options(int sk, const struct ct_tcp *t)
{
	struct tcp_repair_opt opts[4];
	uint32_t n = 0;

	opts[n].opt_code = TCPOPT_MAXSEG;
	opts[n++].opt_val = t->mss;
	if (t->opts & TCPI_OPT_WSCALE) {
		opts[n].opt_code = TCPOPT_WINDOW;
		opts[n++].opt_val = t->snd_wscale | (t->rcv_wscale << 16);
	}
	if (t->opts & TCPI_OPT_SACK) {
		opts[n].opt_code = TCPOPT_SACK_PERMITTED;
		opts[n++].opt_val = 0;
	}
	if (t->opts & TCPI_OPT_TIMESTAMPS) {
		opts[n].opt_code = TCPOPT_TIMESTAMP;
		opts[n++].opt_val = 0;
	}
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, n * sizeof(opts[0])) < 0)
		return -errno;
	if ((t->opts & TCPI_OPT_TIMESTAMPS) &&
	    setsockopt(sk, IPPROTO_TCP, TCP_TIMESTAMP, &t->timestamp, sizeof(t->timestamp)) < 0)
		return -errno;
	return 0;
}

/* The window as it was (after the queues: the kernel checks it against rcv_nxt). */
static int tcp_set_window(int sk, const struct ct_tcp *t)
{
	struct tcp_repair_window w = {
		.snd_wl1 = t->snd_wl1,
		.snd_wnd = t->snd_wnd,
		.max_window = t->max_window,
		.rcv_wnd = t->rcv_wnd,
		.rcv_wup = t->rcv_wup,
	};

	return setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0 ? -errno : 0;
}

/*
 * Rebuild the connection on @sk, left in repair mode: it sends nothing
 * until tcp_repair_finish().  The step that failed in @step.
 */
static int tcp_rebuild(int sk, const struct ct_file *f, const char **step)
{
	const struct ct_tcp *t = &f->tcp;
	int ret;

	*step = "repair mode";
	ret = tcp_repair_set_mode(sk, TCP_REPAIR_ON);
	if (ret)
		return ret;
	*step = "queue sequence numbers";
	ret = tcp_set_queue_seq(sk, TCP_RECV_QUEUE, t->rcv_seq - (uint32_t)t->rcvq_len) ?:
	      tcp_set_queue_seq(sk, TCP_SEND_QUEUE, t->snd_seq - (uint32_t)t->sndq_len);
	if (ret)
		return ret;
	/* from here to connect, nothing guards the connection: be quick */
	tcp_hold_release(f->sk_ino, 'r');
	*step = "bind";
	if (bind(sk, (const struct sockaddr *)f->sk_addr, (socklen_t)f->sk_addr_len) < 0)
		return -errno;
	*step = "connect";
	if (connect(sk, (const struct sockaddr *)f->sk_peer_addr, (socklen_t)f->sk_peer_addr_len) < 0)
		return -errno;
	*step = "options";
	ret = tcp_set_options(sk, t);
	if (ret)
		return ret;
	*step = "queues";
	return tcp_refill(sk, t);
}

/* Take our drop filter off @sk if it is there: a held socket; true if it was. */
static bool tcp_unfilter(int sk)
{
	struct tcp_repaired r = { .fd = sk, .filtered = true };
	socklen_t len = 0;

	/* the old socket itself carries our filter (a program's own is refused at dump) */
	if (getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, NULL, &len) < 0 || !len)
		return false;
	tcp_repair_unfilter(&r);
	return true;
}

/*
 * Leave repair mode on @sk (its filter is off already): the window, then
 * the never-sent bytes written as the program's own write.  Done once
 * every connection of the image is rebuilt: both ends of a connection
 * inside the container are then new sockets, so neither sends to an old
 * one, nor to a port with no socket (which would answer with a reset); the
 * step that failed in @step.
 */
static int tcp_finish(int sk, const struct ct_file *f, bool held, const char **step)
{
	const struct ct_tcp *t = &f->tcp;
	int ret, reuse = !!(f->sk_opts & CT_SKOPT_REUSEADDR);

	if (held) {
		struct tcp_repaired r = { .fd = sk, .reuse = reuse, .repair = true };

		*step = "taking over the held socket";
		tcp_repair_resume(&r);
		return 0;
	}
	*step = "window";
	ret = tcp_set_window(sk, t);
	if (ret)
		return ret;
	*step = "leaving repair mode";
	ret = tcp_leave_repair(sk, reuse);
	if (ret)
		return ret;
	*step = "unsent bytes";
	ret = tcp_send_all(sk, t->sndq + (t->sndq_len - t->unsent), t->unsent);
	/*
	 * Only now the recorded sizes and locks again (a smaller buffer than
	 * what is queued just makes the program wait, as it did): before, the
	 * unsent bytes would not fit (seen with an auto-tuned 4 MiB send
	 * buffer), and tcp_make_room() locked what it grew.
	 */
	sock_restore_bufs(sk, f);
	return ret;
}

/* Name connection @f and the @step of it that failed with @err. */
static int tcp_restore_err(const struct ct_file *f, const char *step, int err)
{
	char a[80], b[80];

	return ct_err(err, "TCP connection %s -> %s: cannot restore it alive: %s: %s",
		      inet_name(f->sk_addr, f->sk_addr_len, a, sizeof(a)),
		      inet_name(f->sk_peer_addr, f->sk_peer_addr_len, b, sizeof(b)), step, strerror(-err));
}

/*
 * A TCP socket of an established connection, still in repair mode: the
 * old one taken from its holder, or a new one rebuilt from the checkpoint.
 */
int tcp_repair_open(const struct ct_file *f)
{
	const char *step = "socket";
	int sk, ret;

	sk = tcp_hold_take(f->sk_ino);
	if (sk >= 0)
		return sk;

	sk = socket((int)f->sk_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (sk < 0) {
		ret = -errno;
		goto fail;
	}
	/* before repair mode, which forces address reuse until it ends */
	inet_set_opts(sk, f);
	ret = tcp_rebuild(sk, f, &step);
	if (ret)
		goto fail;
	return sk;
fail:
	if (sk >= 0)
		close(sk);	/* still in repair mode: closes silently */
	return tcp_restore_err(f, step, ret);
}

/* Is file @i of @img a connection restored alive, open in @ft? */
static bool tcp_is_repaired(const struct ct_image *img, const struct file_table *ft, uint32_t i)
{
	const struct ct_file *f = &img->files[i];

	return f->kind == CT_FILE_INET && (f->sk_opts & CT_SKOPT_REPAIR) && ft->fds[i] >= 0;
}

/*
 * Every file is open: the connections leave repair mode and go on.  First
 * every held socket's drop filter comes off, then every socket leaves
 * repair mode: the window probe each sends then reaches its peer, and the
 * peer's answer reaches it, also between two connections of the image
 * (with the filter of one still on, the other's probe and the answer to
 * its own probe were dropped: it kept a stale view of the peer's window).
 */
int tcp_repair_finish(const struct ct_image *img, const struct file_table *ft)
{
	bool *held = xzalloc(img->nr_files * sizeof(*held) + 1);
	const char *step;
	int ret = 0;

	if (!held)
		return -ENOMEM;
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (tcp_is_repaired(img, ft, i))
			held[i] = tcp_unfilter(ft->fds[i]);
	for (uint32_t i = 0; i < img->nr_files && !ret; i++) {
		if (!tcp_is_repaired(img, ft, i))
			continue;
		ret = tcp_finish(ft->fds[i], &img->files[i], held[i], &step);
		if (ret)
			ret = tcp_restore_err(&img->files[i], step, ret);
	}
	free(held);
	return ret;
}

/* ---- blob ---- */

/* The TCP_REPAIR state as a nested record of the FILE. */
void tcp_repair_encode(struct wbuf *w, const struct ct_tcp *t)
{
	size_t at = w_begin(w, REC_FILE_TCP);

	w_u32(w, t->snd_seq);
	w_u32(w, t->rcv_seq);
	w_u32(w, t->unsent);
	w_u32(w, t->mss);
	w_u32(w, t->opts);
	w_u32(w, t->snd_wscale);
	w_u32(w, t->rcv_wscale);
	w_u32(w, t->timestamp);
	w_u32(w, t->snd_wl1);
	w_u32(w, t->snd_wnd);
	w_u32(w, t->max_window);
	w_u32(w, t->rcv_wnd);
	w_u32(w, t->rcv_wup);
	w_bytes(w, t->sndq, t->sndq_len);
	w_bytes(w, t->rcvq, t->rcvq_len);
	w_end(w, at);
}

/* The TCP_REPAIR state (a format-1 FILE record holds it inline). */
void tcp_repair_decode(struct rbuf *r, struct ct_tcp *t)
{
	t->snd_seq = r_u32(r);
	t->rcv_seq = r_u32(r);
	t->unsent = r_u32(r);
	t->mss = r_u32(r);
	t->opts = r_u32(r);
	t->snd_wscale = r_u32(r);
	t->rcv_wscale = r_u32(r);
	t->timestamp = r_u32(r);
	t->snd_wl1 = r_u32(r);
	t->snd_wnd = r_u32(r);
	t->max_window = r_u32(r);
	t->rcv_wnd = r_u32(r);
	t->rcv_wup = r_u32(r);
	t->sndq = r_bytes(r, &t->sndq_len, 1 << 28);
	t->rcvq = r_bytes(r, &t->rcvq_len, 1 << 28);
}
