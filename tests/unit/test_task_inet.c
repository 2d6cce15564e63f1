// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Round trip of TCP and UDP sockets over IPv4 and IPv6 between two live processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "test_task_common.h"
#include "lib/util.h"
#include "task/fdkinds.h"

static int one = 1;

/* An IPv4 loopback address with @port. */
static struct sockaddr_in lo4(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* Child 1: listeners v4 and v6, UDP bound and connected, and an established TCP pair. */
static int inet_setup(void *arg, int go_fd)
{
	struct sockaddr_in a = lo4(0);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(a);
	int sk, rcv = 65536;

	(void)arg;
	sk = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(sk, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(sk, (struct sockaddr *)&a, sizeof(a)) || listen(sk, 7))
		return 1;
	tt_place(sk, 10);
	sk = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(sk, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	setsockopt(sk, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(sk, (struct sockaddr *)&a6, sizeof(a6)) || listen(sk, 3))
		return 2;
	tt_place(sk, 11);
	sk = socket(AF_INET, SOCK_DGRAM, 0);
	if (bind(sk, (struct sockaddr *)&a, sizeof(a)) || getsockname(sk, (struct sockaddr *)&a, &len))
		return 3;
	tt_place(sk, 12);
	sk = socket(AF_INET, SOCK_DGRAM, 0);
	if (connect(sk, (struct sockaddr *)&a, sizeof(a)))
		return 4;
	tt_place(sk, 13);
	/* an established connection between two sockets of its own */
	len = sizeof(a);
	if (getsockname(10, (struct sockaddr *)&a, &len))
		return 5;
	sk = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(sk, (struct sockaddr *)&a, sizeof(a)))
		return 6;
	tt_place(sk, 14);
	usleep(10000);
	tt_place(accept(10, NULL, NULL), 15);
	tt_wait_go(go_fd);
	return 0;
}

/* An int option of @sk. */
static int opt(int sk, int level, int name)
{
	socklen_t len = sizeof(int);
	int v = -1;

	assert_int_equal(getsockopt(sk, level, name, &v, &len), 0);
	return v;
}

/* Check child 2's sockets against what child 1 had (@img). */
static void check_restored(pid_t pid, const struct ct_image *img, const struct ct_task *t)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[8];
	int s[16];

	for (int fd = 10; fd <= 15; fd++) {
		s[fd] = fd_grab(pid, fd);
		assert_true(s[fd] >= 0);
	}
	for (int fd = 10; fd <= 13; fd++) {
		const struct ct_file *f = tt_file_of(img, t, fd);

		len = sizeof(ss);
		assert_int_equal(getsockname(s[fd], (struct sockaddr *)&ss, &len), 0);
		if (fd != 13) {
			assert_int_equal(len, f->sk_addr_len);
			assert_memory_equal(&ss, f->sk_addr, len);
		}
	}
	assert_int_equal(opt(s[10], SOL_SOCKET, SO_ACCEPTCONN), 1);
	assert_int_equal(opt(s[10], SOL_SOCKET, SO_REUSEADDR), 1);
	assert_int_equal(opt(s[10], IPPROTO_TCP, TCP_NODELAY), 1);
	assert_int_equal(opt(s[10], SOL_SOCKET, SO_RCVBUF), 131072);
	assert_true(fcntl(s[10], F_GETFL) & O_NONBLOCK);
	assert_int_equal(opt(s[11], SOL_SOCKET, SO_ACCEPTCONN), 1);
	assert_int_equal(opt(s[11], IPPROTO_IPV6, IPV6_V6ONLY), 1);
	assert_int_equal(opt(s[11], SOL_SOCKET, SO_REUSEPORT), 1);
	assert_int_equal(opt(s[11], SOL_SOCKET, SO_REUSEADDR), 0);
	/* a client reaches the restored listener on its old port */
	{
		int c = socket(AF_INET, SOCK_STREAM, 0), a;

		assert_int_equal(connect(c, (struct sockaddr *)tt_file_of(img, t, 10)->sk_addr,
					 (socklen_t)tt_file_of(img, t, 10)->sk_addr_len), 0);
		a = accept(s[10], NULL, NULL);
		assert_true(a >= 0);
		close(a);
		close(c);
	}
	/* the connected UDP socket still talks to the bound one */
	assert_int_equal(send(s[13], "udp", 3, 0), 3);
	assert_int_equal(recv(s[12], buf, sizeof(buf), 0), 3);
	/* the established connections were reset (--tcp-close) */
	assert_int_equal(recv(s[14], buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(recv(s[15], buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, ECONNRESET);
	for (int fd = 10; fd <= 15; fd++)
		close(s[fd]);
}

static void test_inet_roundtrip_tcp_close(void **state)
{
	struct ct_image *img;
	struct tt_child c1, c2;

	(void)state;
	img = tt_one_task(&c1, inet_setup, NULL);
	c1.tc.tcp_mode = CT_TCP_CLOSE;
	if (dump_task_files(&c1.tc, img, &img->tasks[0]))
		fail_msg("dump: %s", ct_err_msg());
	assert_int_equal(tt_file_of(img, &img->tasks[0], 10)->sk_backlog, 7);
	assert_int_equal(tt_file_of(img, &img->tasks[0], 11)->sk_family, AF_INET6);
	assert_true(tt_file_of(img, &img->tasks[0], 14)->sk_opts & CT_SKOPT_RESET);
	tt_release(&c1);
	tt_kill(&c1);

	tt_restore_into_idle(img, &c2, false);
	check_restored(c2.pid, img, &img->tasks[0]);
	tt_kill(&c2);
	image_free(img);
}

static void test_inet_established_refused(void **state)
{
	struct ct_image *img;
	struct tt_child c1;
	char want[128];

	(void)state;
	img = tt_one_task(&c1, inet_setup, NULL);
	ct_err_clear();
	assert_int_equal(dump_task_files(&c1.tc, img, &img->tasks[0]), -ENOTSUP);
	snprintf(want, sizeof(want), "pid %d: fd 14: established TCP connection 127.0.0.1:", c1.pid);
	assert_non_null(strstr(ct_err_msg(), want));
	assert_non_null(strstr(ct_err_msg(), " -> 127.0.0.1:"));
	assert_non_null(strstr(ct_err_msg(), "; use --tcp-close to restore it reset"));
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);
	image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inet_roundtrip_tcp_close),
		cmocka_unit_test(test_inet_established_refused),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
