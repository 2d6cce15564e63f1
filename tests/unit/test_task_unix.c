// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Round trip of unix sockets between two live processes (kernel/task/unix.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "test_task_common.h"
#include "lib/util.h"
#include "task/fdkinds.h"

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

static char tdir[64], tsock[128], tabs[64];

/* A sockaddr_un for @path ("@x" = abstract). */
static socklen_t un_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	strcpy(sa->sun_path, path);
	if (path[0] == '@')
		sa->sun_path[0] = '\0';
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + (path[0] != '@');
}

/* Place a new pair of @type at @a and @b. */
static int pair_at(int type, int a, int b)
{
	int sv[2];

	if (socketpair(AF_UNIX, type, 0, sv))
		return -1;
	tt_place(sv[0], a);
	tt_place(sv[1], b);
	return 0;
}

/* Child 1: a bit of every kind of unix socket at chosen fds, with data queued. */
static int unix_setup(void *arg, int go_fd)
{
	struct sockaddr_un sa;
	socklen_t len;
	int sk;

	(void)arg;
	if (pair_at(SOCK_STREAM, 10, 11) || pair_at(SOCK_DGRAM, 12, 13) || pair_at(SOCK_SEQPACKET, 14, 15))
		return 1;
	if (write(10, "to11", 4) != 4 || write(11, "to10 data", 9) != 9)
		return 2;
	if (send(12, "a", 1, 0) != 1 || send(12, "bb", 2, 0) != 2 || send(12, "ccc", 3, 0) != 3 ||
	    send(13, "x", 1, 0) != 1)
		return 3;
	if (send(14, "m1", 2, 0) != 2 || send(14, "m22", 3, 0) != 3)
		return 4;
	/* a listener with one client waiting and one accepted */
	len = un_addr(&sa, tsock);
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(sk, (struct sockaddr *)&sa, len) || listen(sk, 5))
		return 5;
	tt_place(sk, 16);
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(sk, (struct sockaddr *)&sa, len))
		return 6;
	tt_place(sk, 18);
	tt_place(accept(16, NULL, NULL), 19);
	if (write(18, "hi", 2) != 2)
		return 7;
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(sk, (struct sockaddr *)&sa, len))
		return 8;
	tt_place(sk, 17);
	/* a named abstract dgram socket with a connected client and a queued datagram */
	len = un_addr(&sa, tabs);
	sk = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (bind(sk, (struct sockaddr *)&sa, len))
		return 9;
	tt_place(sk, 20);
	sk = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (connect(sk, (struct sockaddr *)&sa, len) || send(sk, "dgram", 5, 0) != 5)
		return 10;
	tt_place(sk, 21);
	/* a stream whose peer said bye and left */
	if (pair_at(SOCK_STREAM, 22, 30) || write(30, "bye", 3) != 3)
		return 11;
	close(30);
	dup2(10, 23);
	fcntl(11, F_SETFL, O_NONBLOCK);
	tt_wait_go(go_fd);
	return 0;
}

/* Receive one message from @sk (non-blocking) and compare it with @want. */
static void expect_msg(int sk, const char *want)
{
	char buf[64];
	ssize_t n = recv(sk, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static int make_fixture(void **state)
{
	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/ctswap-unix-XXXXXX");
	assert_non_null(mkdtemp(tdir));
	snprintf(tsock, sizeof(tsock), "%s/listen.sock", tdir);
	snprintf(tabs, sizeof(tabs), "@ctswap-test-unix-%d", getpid());
	return 0;
}

static int remove_fixture(void **state)
{
	(void)state;
	remove_tree(tdir);
	return 0;
}

/* What dump recorded for child 1. */
static void check_dumped(const struct ct_image *img, const struct ct_task *t)
{
	const struct ct_file *f = tt_file_of(img, t, 16);

	assert_int_equal(f->kind, CT_FILE_UNIX);
	assert_int_equal(f->sk_state, CT_SK_LISTEN);
	assert_int_equal(f->sk_backlog, 5);
	f = tt_file_of(img, t, 13);
	assert_int_equal(f->sk_type, SOCK_DGRAM);
	assert_int_equal(f->sk_queue_len, 3 * 4 + 6);
	assert_int_equal(tt_file_of(img, t, 10)->sk_peer_ino, tt_file_of(img, t, 11)->sk_ino);
	assert_ptr_equal(tt_file_of(img, t, 10), tt_file_of(img, t, 23));
	assert_int_equal(tt_file_of(img, t, 22)->sk_peer_ino, 0);
}

/* Check child 2's sockets through duplicates of them. */
static void check_restored(pid_t pid)
{
	int s[32] = { 0 }, v = 0, fl;
	socklen_t len = sizeof(v);
	char buf[16];
	struct sockaddr_un sa;

	for (int fd = 10; fd <= 23; fd++)
		s[fd] = fd_grab(pid, fd);
	for (int fd = 10; fd <= 23; fd++)
		assert_true(s[fd] >= 0);
	/* the stream pair, its queues both ways and the flag on one end */
	expect_msg(s[11], "to11");
	expect_msg(s[10], "to10 data");
	assert_int_equal(send(s[23], "new", 3, 0), 3);
	expect_msg(s[11], "new");
	fl = fcntl(s[11], F_GETFL);
	assert_true(fl & O_NONBLOCK);
	assert_false(fcntl(s[10], F_GETFL) & O_NONBLOCK);
	assert_int_equal(syscall(SYS_kcmp, pid, pid, 0, 10, 23), 0);
	/* datagram boundaries */
	expect_msg(s[13], "a");
	expect_msg(s[13], "bb");
	expect_msg(s[13], "ccc");
	expect_msg(s[12], "x");
	expect_msg(s[15], "m1");
	expect_msg(s[15], "m22");
	/* the listener: its name, listening, and the client that was waiting */
	assert_int_equal(getsockopt(s[16], SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
	assert_int_equal(v, 1);
	len = sizeof(sa);
	assert_int_equal(getsockname(s[16], (struct sockaddr *)&sa, &len), 0);
	assert_string_equal(sa.sun_path, tsock);
	fcntl(s[16], F_SETFL, O_NONBLOCK);
	v = accept4(s[16], NULL, NULL, SOCK_NONBLOCK);
	assert_true(v >= 0);
	assert_int_equal(send(s[17], "late", 4, 0), 4);
	expect_msg(v, "late");
	close(v);
	expect_msg(s[19], "hi");
	assert_int_equal(send(s[19], "back", 4, 0), 4);
	expect_msg(s[18], "back");
	/* the named dgram socket and its client */
	expect_msg(s[20], "dgram");
	assert_int_equal(send(s[21], "more", 4, 0), 4);
	expect_msg(s[20], "more");
	/* the stream whose peer left: its data, then end of stream */
	expect_msg(s[22], "bye");
	assert_int_equal(recv(s[22], buf, sizeof(buf), MSG_DONTWAIT), 0);
	for (int fd = 10; fd <= 23; fd++)
		close(s[fd]);
}

/* Dump child 1's sockets, kill it, restore them into a fresh process. */
static void test_unix_roundtrip(void **state)
{
	struct ct_image *img;
	struct tt_child c1, c2;
	int sk, off = 0;
	socklen_t len = sizeof(off);

	(void)state;
	img = tt_one_task(&c1, unix_setup, NULL);
	if (dump_task_files(&c1.tc, img, &img->tasks[0]))
		fail_msg("dump: %s", ct_err_msg());
	check_dumped(img, &img->tasks[0]);
	tt_release(&c1);
	/* the walk of the queue left the peek offset and the data as they were */
	sk = fd_grab(c1.pid, 13);
	assert_int_equal(getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, &len), 0);
	assert_int_equal(off, -1);
	expect_msg(sk, "a");
	close(sk);
	tt_kill(&c1);
	/* dumped with "a" still queued: the image has it */

	tt_restore_into_idle(img, &c2, false);
	check_restored(c2.pid);
	tt_kill(&c2);
	image_free(img);
}

/* Child 1 for the refusal: a socket with an fd in flight at fd 20. */
static int passing_setup(void *arg, int go_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { "f", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fd = open("/dev/null", O_RDONLY);

	(void)arg;
	if (pair_at(SOCK_STREAM, 20, 21))
		return 1;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(21, &mh, 0) != 1)
		return 2;
	close(fd);
	tt_wait_go(go_fd);
	return 0;
}

static void test_unix_fds_in_flight_refused(void **state)
{
	struct ct_image *img;
	struct tt_child c1;
	char want[128];

	(void)state;
	img = tt_one_task(&c1, passing_setup, NULL);
	ct_err_clear();
	assert_int_equal(dump_task_files(&c1.tc, img, &img->tasks[0]), -ENOTSUP);
	snprintf(want, sizeof(want), "pid %d: fd 20: unix socket has file descriptors in flight", c1.pid);
	assert_string_equal(ct_err_msg(), want);
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);
	image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix_roundtrip),
		cmocka_unit_test(test_unix_fds_in_flight_refused),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, make_fixture, remove_fixture);
}
