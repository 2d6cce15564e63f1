// SPDX-License-Identifier: MIT
/*
 * The socket side of `criu swrk`: one protobuf message per SOCK_SEQPACKET
 * packet, replies capped at what go-criu reads, notifications that wait for
 * the caller's answer, and the caller's fd numbers opened through /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crpc.h"

static const char *const type_names[] = {
	[CRPC__REQ_TYPE__EMPTY] = "EMPTY",
	[CRPC__REQ_TYPE__DUMP] = "DUMP",
	[CRPC__REQ_TYPE__RESTORE] = "RESTORE",
	[CRPC__REQ_TYPE__CHECK] = "CHECK",
	[CRPC__REQ_TYPE__PRE_DUMP] = "PRE_DUMP",
	[CRPC__REQ_TYPE__PAGE_SERVER] = "PAGE_SERVER",
	[CRPC__REQ_TYPE__NOTIFY] = "NOTIFY",
	[CRPC__REQ_TYPE__CPUINFO_DUMP] = "CPUINFO_DUMP",
	[CRPC__REQ_TYPE__CPUINFO_CHECK] = "CPUINFO_CHECK",
	[CRPC__REQ_TYPE__FEATURE_CHECK] = "FEATURE_CHECK",
	[CRPC__REQ_TYPE__VERSION] = "VERSION",
	[CRPC__REQ_TYPE__WAIT_PID] = "WAIT_PID",
	[CRPC__REQ_TYPE__PAGE_SERVER_CHLD] = "PAGE_SERVER_CHLD",
};

/* The name of request type @type, or "unknown". */
const char *crpc_type_name(Crpc__ReqType type)
{
	if ((unsigned int)type < sizeof(type_names) / sizeof(type_names[0]) && type_names[type])
		return type_names[type];
	return "unknown";
}

/* Record the one-line reason of a failure in @c; returns -@err (err > 0). */
int crpc_fail(struct crpc_conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	c->errmsg[strcspn(c->errmsg, "\n")] = '\0';
	return -(err > 0 ? err : EINVAL);
}

/* Receive one packet and decode it; -EPIPE when the caller closed. */
int crpc_recv(struct crpc_conn *c, Crpc__Request **out)
{
	uint8_t *buf;
	ssize_t len, got;

	*out = NULL;
	len = recv(c->sk, NULL, 0, MSG_PEEK | MSG_TRUNC);
	if (len < 0)
		return crpc_fail(c, errno, "socket: cannot receive: %s", strerror(errno));
	if (len == 0)
		return crpc_fail(c, EPIPE, "socket: closed by the caller before a request");
	if (len > CRPC_MAX_REQUEST) {
		recv(c->sk, NULL, 0, MSG_TRUNC);
		return crpc_fail(c, EMSGSIZE, "request: %zd bytes, more than %d", len,
				 CRPC_MAX_REQUEST);
	}
	buf = malloc(len);
	if (!buf)
		return crpc_fail(c, ENOMEM, "request: out of memory");
	got = recv(c->sk, buf, len, 0);
	if (got != len) {
		free(buf);
		return crpc_fail(c, EIO, "socket: short receive");
	}
	*out = crpc__request__unpack(NULL, len, buf);
	free(buf);
	if (!*out)
		return crpc_fail(c, EBADMSG, "request: cannot decode %zd bytes (truncated or not a request)", len);
	return 0;
}

/* Encode @resp into one packet, with @fd attached when >= 0. */
static int send_packet(struct crpc_conn *c, const Crpc__Response *resp, int fd)
{
	size_t len = crpc__response__get_packed_size(resp);
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint8_t *buf;
	ssize_t sent;

	if (len > CRPC_MAX_REPLY)
		return crpc_fail(c, EMSGSIZE, "reply: %zu bytes, more than %d", len, CRPC_MAX_REPLY);
	buf = malloc(len ? len : 1);
	if (!buf)
		return crpc_fail(c, ENOMEM, "reply: out of memory");
	crpc__response__pack(resp, buf);
	iov.iov_base = buf;
	iov.iov_len = len;
	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	sent = sendmsg(c->sk, &msg, MSG_NOSIGNAL);
	free(buf);
	if (sent < 0)
		return crpc_fail(c, errno, "socket: cannot send: %s", strerror(errno));
	return 0;
}

/* Send the final (or any) reply. */
int crpc_send(struct crpc_conn *c, const Crpc__Response *resp)
{
	return send_packet(c, resp, -1);
}

/* Reply success=false for @type with the reason recorded in @c (and -@err). */
int crpc_send_error(struct crpc_conn *c, Crpc__ReqType type, int err)
{
	Crpc__Response resp = CRPC__RESPONSE__INIT;

	resp.type = type;
	resp.success = false;
	resp.has_cr_errno = true;
	resp.cr_errno = err < 0 ? -err : err;
	resp.cr_errmsg = c->errmsg[0] ? c->errmsg : "failed";
	return crpc_send(c, &resp);
}

/* Tell the caller @script happened (@fd attached if >= 0) and wait for its answer. */
int crpc_notify_fd(struct crpc_conn *c, const char *script, pid_t pid, int fd)
{
	Crpc__Response resp = CRPC__RESPONSE__INIT;
	Crpc__Notification note = CRPC__NOTIFICATION__INIT;
	Crpc__Request *ans;
	struct timespec t0, t1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	note.script = (char *)script;
	if (pid > 0) {
		note.has_pid = true;
		note.pid = pid;
	}
	resp.type = CRPC__REQ_TYPE__NOTIFY;
	resp.success = true;
	resp.notify = &note;
	ret = send_packet(c, &resp, fd);
	if (ret)
		return ret;
	ret = crpc_recv(c, &ans);
	if (ret) {
		char why[sizeof(c->errmsg)];

		snprintf(why, sizeof(why), "%s", c->errmsg);
		return crpc_fail(c, -ret, "notification %s: no answer: %s", script, why);
	}
	if (ans->type != CRPC__REQ_TYPE__NOTIFY)
		ret = crpc_fail(c, EPROTO, "notification %s: answered with %s", script,
				crpc_type_name(ans->type));
	else if (!ans->has_notify_success || !ans->notify_success)
		ret = crpc_fail(c, ECANCELED, "notification %s: the caller failed it", script);
	crpc__request__free_unpacked(ans, NULL);
	/* what each round trip costs: the restore's are spent with the tasks stopped */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (c->log_fd >= 0)
		dprintf(c->log_fd, "ctswap criu-compat: notification %s answered in %.2f ms\n", script,
			(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return ret;
}

/* crpc_notify_fd() without an fd. */
int crpc_notify(struct crpc_conn *c, const char *script, pid_t pid)
{
	return crpc_notify_fd(c, script, pid, -1);
}

/*
 * Open the caller's fd number @nr (images_dir_fd, work_dir_fd: numbers in
 * the caller's table, not ours) through /proc/PEER/fd/NR.
 */
int crpc_open_caller_fd(struct crpc_conn *c, const char *what, int nr, int flags)
{
	char path[64];
	int fd;

	if (nr < 0)
		return crpc_fail(c, EBADF, "%s %d: not a file descriptor", what, nr);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)c->peer, nr);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return crpc_fail(c, errno == ENOENT ? EBADF : errno, "%s %d: cannot open %s: %s",
				 what, nr, path, strerror(errno));
	return fd;
}
