/* SPDX-License-Identifier: MIT */
/*
 * unix_pingpong: a parent listens on DIR/sock, a child connects, and they
 * bounce a counter over the accepted connection (the parent sends N, the
 * child answers N + 1), plus a datagram pair carrying the same numbers
 * the other way.  The parent checks every answer and rewrites DIR/status
 * atomically every 0.1 s:
 *
 *   pids=P,C rounds=N ok          (or "BAD <what>", sticky)
 *
 *   unix_pingpong --out DIR
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Exactly @len bytes or exit (the other side is gone). */
static void xrecv(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(3);
		got += n;
	}
}

static void xsend(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len)
		exit(4);
}

/* The child: answer every number on the stream with N + 1 and echo it on the dgram socket. */
static void child(const struct sockaddr_un *sa, socklen_t len, int dg)
{
	int sk = socket(AF_UNIX, SOCK_STREAM, 0);
	uint64_t v;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (connect(sk, (const struct sockaddr *)sa, len) < 0)
		usleep(1000);
	for (;;) {
		xrecv(sk, &v, sizeof(v));
		v++;
		xsend(sk, &v, sizeof(v));
		xsend(dg, &v, sizeof(v));
	}
}

int main(int argc, char **argv)
{
	char status[4096], tmp[4096], bad[128] = "";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	uint64_t v = 0, w, d, rounds = 0;
	struct timespec last = { 0 }, now;
	int lsk, sk, dg[2];
	pid_t pid;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: unix_pingpong --out DIR\n");
		return 2;
	}
	snprintf(status, sizeof(status), "%s/status", argv[2]);
	snprintf(tmp, sizeof(tmp), "%s/status.tmp", argv[2]);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", argv[2]);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(sa.sun_path) + 1;
	unlink(sa.sun_path);
	lsk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(lsk, (struct sockaddr *)&sa, len) || listen(lsk, 4) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(dg[0]);
		child(&sa, len, dg[1]);
	}
	close(dg[1]);
	sk = accept(lsk, NULL, NULL);
	if (sk < 0)
		return 1;
	for (;;) {
		xsend(sk, &v, sizeof(v));
		xrecv(sk, &w, sizeof(w));
		xrecv(dg[0], &d, sizeof(d));
		if ((w != v + 1 || d != w) && !bad[0])
			snprintf(bad, sizeof(bad), "BAD sent %llu got %llu and %llu", (unsigned long long)v,
				 (unsigned long long)w, (unsigned long long)d);
		v = w;
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec * 10 + now.tv_nsec / 100000000 != last.tv_sec * 10 + last.tv_nsec / 100000000) {
			FILE *f = fopen(tmp, "w");

			if (f) {
				fprintf(f, "pids=%d,%d rounds=%llu %s\n", getpid(), pid,
					(unsigned long long)rounds, bad[0] ? bad : "ok");
				fclose(f);
				rename(tmp, status);
			}
			last = now;
		}
		usleep(500);
	}
}
