/* SPDX-License-Identifier: MIT */
/*
 * refused_fd: holds one descriptor of a kind a dump refuses, at fd 100, and
 * counts on.  KIND is one of
 *
 *   io_uring    io_uring_setup
 *   fanotify    fanotify_init
 *   bpf-map     bpf(BPF_MAP_CREATE), a one-entry array
 *   perf-event  perf_event_open, a software clock of this process
 *   userfaultfd userfaultfd
 *   netlink     socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)
 *   packet      socket(AF_PACKET, SOCK_DGRAM, 0) (protocol 0: it receives nothing)
 *   raw-inet    socket(AF_INET, SOCK_RAW, IPPROTO_UDP), unbound
 *   nsfs        /proc/self/ns/uts
 *
 * DIR/status is rewritten every 10 ms (so the test sees the process run on
 * after a refused dump):
 *
 *   pid=P fd=100 beats=N ok      (or "BAD <what>" and exit 1 if the fd cannot be made)
 *
 *   refused_fd --out DIR --kind KIND
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HELD_FD 100

struct io_uring_params_min {	/* struct io_uring_params: 120 bytes, all zero asks for defaults */
	unsigned char bytes[120];
};

/* A new descriptor of @kind, -1 (errno set) if it cannot be made or the kind is unknown. */
static int make_fd(const char *kind)
{
	if (!strcmp(kind, "io_uring")) {
		struct io_uring_params_min p;

		memset(&p, 0, sizeof(p));
		return (int)syscall(SYS_io_uring_setup, 4, &p);
	}
	if (!strcmp(kind, "fanotify"))
		return (int)syscall(SYS_fanotify_init, 0 /* FAN_CLASS_NOTIF */, O_RDONLY);
	if (!strcmp(kind, "bpf-map")) {
		union bpf_attr a;

		memset(&a, 0, sizeof(a));
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.key_size = 4;
		a.value_size = 8;
		a.max_entries = 1;
		return (int)syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	}
	if (!strcmp(kind, "perf-event")) {
		struct perf_event_attr a;

		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_TASK_CLOCK;
		return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	}
	if (!strcmp(kind, "userfaultfd"))
		return (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (!strcmp(kind, "netlink"))
		return socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (!strcmp(kind, "packet"))
		return socket(AF_PACKET, SOCK_DGRAM, 0);
	if (!strcmp(kind, "raw-inet"))
		return socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
	if (!strcmp(kind, "nsfs"))
		return open("/proc/self/ns/uts", O_RDONLY);
	errno = EINVAL;
	return -1;
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	char status[4096], tmp[4096];
	unsigned long beats = 0;
	int fd;

	if (argc != 5 || strcmp(argv[1], "--out") || strcmp(argv[3], "--kind")) {
		fprintf(stderr, "usage: refused_fd --out DIR --kind KIND\n");
		return 2;
	}
	snprintf(status, sizeof(status), "%s/status", argv[2]);
	snprintf(tmp, sizeof(tmp), "%s/status.tmp", argv[2]);
	fd = make_fd(argv[4]);
	if (fd < 0 || dup2(fd, HELD_FD) != HELD_FD) {
		FILE *f = fopen(status, "w");

		if (f) {
			fprintf(f, "pid=%d BAD %s: %s\n", getpid(), argv[4], strerror(errno));
			fclose(f);
		}
		return 1;
	}
	if (fd != HELD_FD)
		close(fd);
	for (;;) {
		FILE *f = fopen(tmp, "w");

		if (f) {
			fprintf(f, "pid=%d fd=%d beats=%lu ok\n", getpid(), HELD_FD, ++beats);
			fclose(f);
			rename(tmp, status);
		}
		nanosleep(&tick, NULL);
	}
}
