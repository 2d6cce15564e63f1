// SPDX-License-Identifier: MIT
/*
 * The console (see console.h): the supervisor's relay between the pty
 * master and one client on STORE/NAME/console.sock, and the client calls of
 * the public API (ctswap_console_*), which `ctswap attach` is built on.
 */
#define LOG_PREFIX "console: "
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctswap.h"
#include "container/console.h"
#include "container/container.h"
#include "lib/state.h"
#include "container/store.h"
#include "lib/log.h"
#include "lib/util.h"

#define CONSOLE_CONNECT_TIMEOUT_MS 5000

/* Fill a unix address with @path; -ENAMETOOLONG if it does not fit. */
static int console_addr(const char *path, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path))
		return -ENAMETOOLONG;
	memcpy(addr->sun_path, path, strlen(path));
	return 0;
}

/* Bind and listen on the console socket, 0600, replacing a stale one. */
int console_listen(struct console_srv *cs, const char *sock_path)
{
	struct sockaddr_un addr;
	int fd;

	memset(cs, 0, sizeof(*cs));
	cs->master = cs->listen_fd = cs->client = cs->log_fd = -1;
	if (console_addr(sock_path, &addr))
		return ct_err(-ENAMETOOLONG, "%s: console socket path too long", sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ct_err(-errno, "console: socket: %m");
	unlink(sock_path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || chmod(sock_path, 0600) < 0 ||
	    listen(fd, 4) < 0) {
		int err = -errno;

		close(fd);
		unlink(sock_path);
		return ct_err(err, "%s: cannot listen: %s", sock_path, strerror(-err));
	}
	cs->sock_path = xstrdup(sock_path);
	cs->listen_fd = fd;
	return 0;
}

/* Drop the attached client. */
static void console_drop_client(struct console_srv *cs)
{
	if (cs->client >= 0)
		close(cs->client);
	cs->client = -1;
	cs->in_len = 0;
	cs->out_off = cs->out_len = 0;
}

/* Accept a client: the first is served, the others are told it is busy. */
static void console_accept(struct console_srv *cs)
{
	char status = cs->client < 0 && !cs->master_gone ? CONSOLE_ACCEPT : CONSOLE_BUSY;
	int fd = accept4(cs->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (send(fd, &status, 1, MSG_NOSIGNAL) != 1 || status == CONSOLE_BUSY) {
		close(fd);
		return;
	}
	cs->client = fd;
	pr_info("client attached");
}

/* Take complete frames out of cs->in: input for the terminal, window sizes. */
static void console_frames(struct console_srv *cs)
{
	struct console_hdr h;
	size_t at = 0;

	while (cs->in_len - at >= sizeof(h) && !cs->tm_len) {
		memcpy(&h, cs->in + at, sizeof(h));
		if (h.len > CONSOLE_FRAME_MAX) {
			pr_warn("client sent a frame of %u bytes: dropped", h.len);
			console_drop_client(cs);
			return;
		}
		if (cs->in_len - at < sizeof(h) + h.len)
			break;
		if (h.type == CONSOLE_DATA) {
			memcpy(cs->to_master, cs->in + at + sizeof(h), h.len);
			cs->tm_off = 0;
			cs->tm_len = h.len;
		} else if (h.type == CONSOLE_WINSZ && h.len == sizeof(struct console_winsz)) {
			struct console_winsz wz;
			struct winsize ws = { 0 };

			memcpy(&wz, cs->in + at + sizeof(h), sizeof(wz));
			ws.ws_row = wz.rows;
			ws.ws_col = wz.cols;
			if (ioctl(cs->master, TIOCSWINSZ, &ws) < 0)
				pr_warn("cannot set the window size: %m");
		}
		at += sizeof(h) + h.len;
	}
	memmove(cs->in, cs->in + at, cs->in_len - at);
	cs->in_len -= at;
}

/* Read what the client sent. */
static void console_client_in(struct console_srv *cs)
{
	ssize_t n = read(cs->client, cs->in + cs->in_len, sizeof(cs->in) - cs->in_len);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		pr_info("client detached");
		console_drop_client(cs);
		return;
	}
	if (n > 0) {
		cs->in_len += n;
		console_frames(cs);
	}
}

/* Give the terminal the pending input. */
static void console_master_out(struct console_srv *cs)
{
	ssize_t n = write(cs->master, cs->to_master + cs->tm_off, cs->tm_len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		pr_warn("input lost: %m");
		n = (ssize_t)cs->tm_len;
	}
	cs->tm_off += n;
	cs->tm_len -= n;
	if (!cs->tm_len && cs->client >= 0)
		console_frames(cs);	/* frames that waited for room */
}

/* Send the client the pending output. */
static void console_client_out(struct console_srv *cs)
{
	ssize_t n = send(cs->client, cs->out + cs->out_off, cs->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		console_drop_client(cs);
		return;
	}
	cs->out_off += n;
	cs->out_len -= n;
}

/* Read the terminal's output: into the log, and to the client if one is attached. */
static void console_master_in(struct console_srv *cs)
{
	ssize_t n = read(cs->master, cs->out, sizeof(cs->out));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EIO: no slave is open any more (the container is gone) */
		cs->master_gone = true;
		console_drop_client(cs);
		return;
	}
	if (cs->log_fd >= 0 && write(cs->log_fd, cs->out, n) < 0)
		pr_warn("console.log: %m");
	cs->out_off = 0;
	cs->out_len = cs->client >= 0 ? (size_t)n : 0;
	if (cs->out_len)
		console_client_out(cs);
}

/* Serve until @wake_fd is readable or @timeout_ms passed. */
void console_poll(struct console_srv *cs, int wake_fd, int timeout_ms)
{
	struct pollfd p[4];
	int n = 0, i_wake, i_listen, i_master = -1, i_client = -1;

	p[n] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
	i_wake = n++;
	p[n] = (struct pollfd){ .fd = cs->listen_fd, .events = POLLIN };
	i_listen = n++;
	if (!cs->master_gone) {
		/* no new output while the client has not taken the last */
		p[n] = (struct pollfd){ .fd = cs->master,
					.events = (cs->out_len ? 0 : POLLIN) | (cs->tm_len ? POLLOUT : 0) };
		i_master = n++;
	}
	if (cs->client >= 0) {
		p[n] = (struct pollfd){ .fd = cs->client,
					.events = (cs->tm_len ? 0 : POLLIN) | (cs->out_len ? POLLOUT : 0) };
		i_client = n++;
	}
	if (poll(p, n, timeout_ms) <= 0)
		return;
	if (p[i_listen].revents & POLLIN)
		console_accept(cs);
	if (i_master >= 0 && (p[i_master].revents & (POLLIN | POLLHUP | POLLERR)) && !cs->out_len)
		console_master_in(cs);
	if (i_master >= 0 && !cs->master_gone && (p[i_master].revents & POLLOUT) && cs->tm_len)
		console_master_out(cs);
	if (i_client >= 0 && cs->client >= 0 && (p[i_client].revents & POLLOUT) && cs->out_len)
		console_client_out(cs);
	if (i_client >= 0 && cs->client >= 0 && (p[i_client].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    !cs->tm_len)
		console_client_in(cs);
	(void)i_wake;
}

/* Close the console and remove its socket. */
void console_close(struct console_srv *cs)
{
	console_drop_client(cs);
	if (cs->listen_fd >= 0)
		close(cs->listen_fd);
	if (cs->sock_path)
		unlink(cs->sock_path);
	free(cs->sock_path);
	cs->sock_path = NULL;
	cs->listen_fd = -1;
}

/* ---- the client side: public API ---- */

/* Write all of @len bytes to the connection. */
static int console_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* Send one frame. */
static int console_send_frame(int fd, int type, const void *buf, size_t len)
{
	uint8_t frame[sizeof(struct console_hdr) + CONSOLE_FRAME_MAX];
	struct console_hdr h = { .type = (uint8_t)type, .len = (uint16_t)len };

	memcpy(frame, &h, sizeof(h));
	memcpy(frame + sizeof(h), buf, len);
	return console_send_all(fd, frame, sizeof(h) + len);
}

/* Did the supervisor record that it serves a terminal? */
static bool console_expected(struct ctswap_store *store, const char *name)
{
	struct ct_state *st = NULL;
	long long tty = 0;

	if (ct_read_state(store, name, &st) || !st)
		return false;
	state_get_ll(st, "tty", &tty);
	state_free(st);
	return tty != 0;
}

/* Connect to the console of a running container. */
int console_open(struct ctswap_store *store, const char *name, int *out)
{
	struct ctswap_info info;
	struct sockaddr_un addr;
	struct pollfd pfd;
	char path[4096], status = 0;
	int fd, ret;

	ret = ct_info(store, name, &info);
	if (ret)
		return ret;
	if (info.state != CTSWAP_RUNNING && info.state != CTSWAP_FROZEN)
		return ct_err(-ESRCH, "%s: container is not running (%s)", name,
			      ct_state_name(info.state));
	if (store_path(store, name, CONSOLE_SOCK, path, sizeof(path)) || console_addr(path, &addr))
		return ct_err(-ENAMETOOLONG, "%s: console socket path too long", name);
	if (access(path, F_OK)) {
		if (console_expected(store, name))
			return ct_err(-ENOTCONN, "%s: console socket %s is gone", name, path);
		return ct_err(-ENOTTY, "%s: container has no console (start it with 'ctswap run --tty')",
			      name);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ct_err(-errno, "%s: socket: %m", name);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		close(fd);
		if (ret == -ECONNREFUSED || ret == -ENOENT)
			return ct_err(-ENOTCONN, "%s: console is not served (its supervisor is gone)", name);
		return ct_err(ret, "%s: cannot connect to the console: %s", name, strerror(-ret));
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, CONSOLE_CONNECT_TIMEOUT_MS) <= 0 || read(fd, &status, 1) != 1) {
		close(fd);
		return ct_err(-ENOTCONN, "%s: console is not served (no answer from its supervisor)", name);
	}
	if (status == CONSOLE_BUSY) {
		close(fd);
		return ct_err(-EBUSY, "%s: console is already attached elsewhere (one attach at a time)",
			      name);
	}
	if (status != CONSOLE_ACCEPT) {
		close(fd);
		return ct_err(-EPROTO, "%s: console answered %#x", name, (unsigned char)status);
	}
	*out = fd;
	return 0;
}

/* Send @len bytes of input to the terminal. */
int console_input(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int ret;

	while (len) {
		size_t n = min_t(size_t, len, CONSOLE_FRAME_MAX);

		ret = console_send_frame(fd, CONSOLE_DATA, p, n);
		if (ret)
			return ct_err(ret, "console: cannot send input: %s", strerror(-ret));
		p += n;
		len -= n;
	}
	return 0;
}

/* Set the terminal's window size. */
int console_resize(int fd, unsigned short rows, unsigned short cols)
{
	struct console_winsz wz = { .rows = rows, .cols = cols };
	int ret = console_send_frame(fd, CONSOLE_WINSZ, &wz, sizeof(wz));

	if (ret)
		return ct_err(ret, "console: cannot send the window size: %s", strerror(-ret));
	return 0;
}
