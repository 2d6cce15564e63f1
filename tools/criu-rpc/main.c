// SPDX-License-Identifier: MIT
/*
 * criu: ctswap's stand-in for CRIU as runc, podman (go-criu) and CRI-O run
 * it: `criu swrk FD`.  Installed as PREFIX/lib/ctswap/criu-compat/criu, out
 * of PATH, so that it never shadows a real CRIU unless the runtime's PATH
 * puts that directory first (tools/criu-rpc/README.md).
 *
 * Exit status: 0 when the request succeeded, 1 when it failed (the caller
 * got success=false and the reason), 2 for a usage error.  Our own stdio is
 * left alone: runc records fds 0-2 of this process as the container's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crpc.h"
#include "ctswap.h"

static int usage(void)
{
	fprintf(stderr, "usage: criu swrk FD   (ctswap's criu-compatible RPC front end)\n");
	return 2;
}

/* FD as a number, or -1. */
static int parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1 << 20)
		return -1;
	return (int)v;
}

/* Check that @fd is a SOCK_SEQPACKET socket and learn the caller's pid. */
static int swrk_open(struct crpc_conn *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(int);
	int type;

	c->sk = fd;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		fprintf(stderr, "ctswap: swrk %d: not a socket: %s\n", fd, strerror(errno));
		return -1;
	}
	if (type != SOCK_SEQPACKET) {
		fprintf(stderr, "ctswap: swrk %d: not a SOCK_SEQPACKET socket\n", fd);
		return -1;
	}
	len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0) {
		fprintf(stderr, "ctswap: swrk %d: cannot learn the caller: %s\n", fd, strerror(errno));
		return -1;
	}
	c->peer = cred.pid;
	return 0;
}

int main(int argc, char **argv)
{
	struct crpc_conn conn = { .sk = -1, .log_fd = -1 };
	int fd;

	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		printf("Version: %d.%d\nGitID: ctswap criu-compat\n", CRPC_COMPAT_MAJOR,
		       CRPC_COMPAT_MINOR);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "swrk"))
		return usage();
	fd = parse_fd(argv[2]);
	if (fd < 0) {
		fprintf(stderr, "ctswap: swrk %s: not a file descriptor number\n", argv[2]);
		return 2;
	}
	if (swrk_open(&conn, fd))
		return 1;
	/* A caller that goes away mid-reply must not kill us half-way. */
	signal(SIGPIPE, SIG_IGN);
	if (crpc_serve(&conn))
		return 1;
	return 0;
}
