/* SPDX-License-Identifier: MIT */
/*
 * The console of a container started with `run --tty` (or restored with a
 * terminal): the supervisor keeps the pty master and serves it on the unix
 * socket STORE/NAME/console.sock (0600), one client at a time.
 *
 * Protocol.  On accept the supervisor writes one byte: CONSOLE_ACCEPT, or
 * CONSOLE_BUSY (then closes) when another client is attached.  After that,
 * supervisor -> client is the terminal's raw output; client -> supervisor
 * is frames: struct console_hdr, then len bytes: CONSOLE_DATA (input for the
 * terminal) or CONSOLE_WINSZ (struct console_winsz: rows, cols).  Whatever
 * the terminal writes is also appended to STORE/NAME/console.log, attached
 * or not, so a detached container never blocks on its terminal.
 */
#ifndef CT_CONSOLE_H
#define CT_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctswap.h"

#define CONSOLE_SOCK "console.sock"
#define CONSOLE_ACCEPT 'A'
#define CONSOLE_BUSY 'B'
#define CONSOLE_DATA 1
#define CONSOLE_WINSZ 2
#define CONSOLE_FRAME_MAX 4096

struct console_hdr {
	uint8_t type;
	uint8_t pad;
	uint16_t len;			/* bytes following, at most CONSOLE_FRAME_MAX */
};

struct console_winsz {
	uint16_t rows, cols;
};

/* The supervisor's side. */
struct console_srv {
	int master;			/* pty master */
	int listen_fd;			/* console.sock */
	int client;			/* the attached client, -1 none */
	int log_fd;			/* console.log, -1 none */
	char *sock_path;
	uint8_t in[sizeof(struct console_hdr) + CONSOLE_FRAME_MAX];	/* partial frame */
	size_t in_len;
	uint8_t to_master[CONSOLE_FRAME_MAX];	/* input the terminal has not taken yet */
	size_t tm_off, tm_len;
	uint8_t out[CONSOLE_FRAME_MAX];	/* output the client has not taken yet */
	size_t out_off, out_len;
	bool master_gone;		/* every slave closed: nothing more to serve */
};

/* Bind STORE/NAME/console.sock (0600) for @cs; the master is given later. */
int console_listen(struct console_srv *cs, const char *sock_path);
/*
 * Serve for up to @timeout_ms or until @wake_fd (a signalfd) is readable:
 * relay master <-> client, accept or refuse clients.  Non-blocking fds only.
 */
void console_poll(struct console_srv *cs, int wake_fd, int timeout_ms);
/* Close everything and remove the socket. */
void console_close(struct console_srv *cs);

/* The console behind kernel/api/console.c (include/ctswap.h). */
int console_open(struct ctswap_store *store, const char *name, int *out);
int console_input(int fd, const void *buf, size_t len);
int console_resize(int fd, unsigned short rows, unsigned short cols);

#endif
