// SPDX-License-Identifier: MIT
/*
 * ctswap attach NAME [--wait MS]
 *
 * Relay the user's terminal to the container's console and back.  On a tty:
 * raw mode (restored on exit), the window size sent at start and on every
 * SIGWINCH, Ctrl-] detaches.  Without a tty on stdin (scripts, tests): bytes
 * are relayed as they are; at the end of stdin the output is still relayed
 * until the console has been quiet for --wait MS (default 500), then attach
 * exits.  Either way it exits 0 when the console closes (the container ended).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "builtin.h"

#define ATTACH_DETACH_KEY 0x1d	/* Ctrl-] */
#define ATTACH_WAIT_MS 500

static volatile sig_atomic_t attach_winch = 1;	/* send the size once at start */
static struct termios attach_saved;
static bool attach_raw;

static void attach_on_winch(int sig)
{
	(void)sig;
	attach_winch = 1;
}

/* Put the user's terminal back as it was. */
static void attach_restore_tty(void)
{
	if (attach_raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &attach_saved);
	attach_raw = false;
}

/* Raw mode on the user's terminal, so every key goes to the container. */
static int attach_make_raw(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &attach_saved) < 0)
		return -errno;
	raw = attach_saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0)
		return -errno;
	attach_raw = true;
	atexit(attach_restore_tty);
	return 0;
}

/* Send our window size if it changed (SIGWINCH) or was never sent. */
static int attach_send_winsize(int fd)
{
	struct winsize ws;

	if (!attach_winch)
		return 0;
	attach_winch = 0;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		return 0;
	return ctswap_console_resize(fd, ws.ws_row, ws.ws_col);
}

/* Write all of @buf to stdout. */
static int attach_out(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDOUT_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/* User input: to the console, stopping at the detach key on a tty. 1: detach. */
static int attach_in(int fd, bool tty, bool *eof)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	char *key;
	int ret;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		*eof = true;
		return 0;
	}
	key = tty ? memchr(buf, ATTACH_DETACH_KEY, n) : NULL;
	ret = ctswap_console_input(fd, buf, key ? (size_t)(key - buf) : (size_t)n);
	if (ret)
		return ret;
	return key ? 1 : 0;
}

/* The relay loop; returns CLI_OK or CLI_FAIL. */
static int attach_relay(const char *name, int fd, bool tty, int wait_ms)
{
	bool eof = false;
	char buf[4096];
	int ret;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = eof ? -1 : STDIN_FILENO, .events = POLLIN },
		};

		if (tty && attach_send_winsize(fd))
			return cli_fail(-EPIPE, name);
		ret = poll(p, 2, eof ? wait_ms : -1);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return cli_error("%s: poll: %s", name, strerror(errno));
		if (ret == 0)
			return CLI_OK;	/* stdin ended and the console is quiet */
		if (p[0].revents) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n <= 0)
				return CLI_OK;	/* the console closed: the container ended */
			if (attach_out(buf, n))
				return cli_error("%s: cannot write the output: %s", name, strerror(errno));
		}
		if (p[1].revents) {
			ret = attach_in(fd, tty, &eof);
			if (ret < 0)
				return cli_fail(ret, name);
			if (ret == 1) {
				attach_restore_tty();
				fprintf(stderr, "\nctswap: detached from %s\n", name);
				return CLI_OK;
			}
		}
	}
}

const struct attach_args attach_defaults = { .wait_ms = ATTACH_WAIT_MS };

/* --wait MS: milliseconds, 0 or more. */
static int attach_parse_wait(const char *value, void *dst, char *err, size_t errlen)
{
	unsigned long ms;

	if (!value) {
		snprintf(err, errlen, "--wait needs a value (milliseconds)");
		return -1;
	}
	if (!cli_parse_ulong(value, 0, INT_MAX, &ms)) {
		snprintf(err, errlen, "%s: --wait wants milliseconds", value);
		return -1;
	}
	*(int *)dst = (int)ms;
	return 0;
}

const struct cli_opt attach_opts[] = {
	OPT_CALL("--wait", "MS", struct attach_args, wait_ms, attach_parse_wait,
		 "without a terminal: wait for MS quiet milliseconds after input ends (500)"),
	OPT_LAST,
};

int cmd_attach(struct cli *cli)
{
	const struct attach_args *args = cli->args;
	const char *name = cli->name;
	int fd, ret;
	bool tty;

	ret = ctswap_console_open(cli->store, name, &fd);
	if (ret)
		return cli_fail(ret, name);
	signal(SIGPIPE, SIG_IGN);
	tty = isatty(STDIN_FILENO);
	if (tty) {
		signal(SIGWINCH, attach_on_winch);
		if (attach_make_raw())
			tty = false;
		else
			fprintf(stderr, "ctswap: attached to %s; Ctrl-] detaches\r\n", name);
	}
	ret = attach_relay(name, fd, tty, args->wait_ms);
	attach_restore_tty();
	close(fd);
	return ret;
}
