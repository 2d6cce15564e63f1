// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Round trip of epoll, eventfd, signalfd and timerfd between two live processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

#include "test_task_common.h"
#include "lib/util.h"
#include "task/fdkinds.h"

/* Child 1: an epoll watching an eventfd, a timerfd and a pipe; a signalfd; a semaphore eventfd. */
static int epoll_setup(void *arg, int go_fd)
{
	struct itimerspec its = { { 0, 200000000 }, { 30, 0 } };
	struct epoll_event ev;
	uint64_t one = 7;
	sigset_t set;
	int p[2];

	(void)arg;
	tt_place(eventfd(0, EFD_NONBLOCK), 10);
	if (write(10, &one, 8) != 8)
		return 1;
	tt_place(eventfd(3, EFD_SEMAPHORE), 11);
	tt_place(timerfd_create(CLOCK_MONOTONIC, 0), 12);
	if (timerfd_settime(12, 0, &its, NULL))
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN + 3);
	tt_place(signalfd(-1, &set, SFD_NONBLOCK), 13);
	if (pipe(p))
		return 3;
	tt_place(p[0], 14);
	tt_place(p[1], 15);
	tt_place(epoll_create1(0), 16);
	ev.events = EPOLLIN;
	ev.data.u64 = 0x1122334455667788ULL;
	if (epoll_ctl(16, EPOLL_CTL_ADD, 10, &ev))
		return 4;
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 12;
	if (epoll_ctl(16, EPOLL_CTL_ADD, 12, &ev))
		return 5;
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u64 = 14;
	if (epoll_ctl(16, EPOLL_CTL_ADD, 14, &ev))
		return 6;
	/* a timerfd that already expired twice without being read */
	its = (struct itimerspec){ { 0, 1000000 }, { 0, 1000000 } };
	tt_place(timerfd_create(CLOCK_MONOTONIC, 0), 17);
	if (timerfd_settime(17, 0, &its, NULL))
		return 7;
	usleep(5000);
	its = (struct itimerspec){ { 0, 0 }, { 0, 0 } };
	tt_wait_go(go_fd);
	return 0;
}

/* Read /proc/PID/fdinfo/FD. */
static void fdinfo(pid_t pid, int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = open(path, O_RDONLY);
	assert_true(f >= 0);
	n = read(f, buf, size - 1);
	close(f);
	assert_true(n > 0);
	buf[n] = '\0';
}

static void check_dumped(const struct ct_image *img, const struct ct_task *t)
{
	const struct ct_file *f = tt_file_of(img, t, 10);

	assert_int_equal(f->kind, CT_FILE_EVENTFD);
	assert_int_equal(f->count, 7);
	f = tt_file_of(img, t, 11);
	assert_int_equal(f->efd_flags, EFD_SEMAPHORE);
	f = tt_file_of(img, t, 12);
	assert_int_equal(f->kind, CT_FILE_TIMERFD);
	assert_int_equal(f->interval_nsec, 200000000);
	assert_true(f->value_nsec > 25000000000LL && f->value_nsec <= 30000000000LL);
	f = tt_file_of(img, t, 13);
	assert_int_equal(f->kind, CT_FILE_SIGNALFD);
	assert_int_equal(f->sigmask, (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGRTMIN + 3 - 1)));
	f = tt_file_of(img, t, 16);
	assert_int_equal(f->kind, CT_FILE_EPOLL);
	assert_int_equal(f->nr_epoll_tgts, 3);
	assert_true(tt_file_of(img, t, 17)->count >= 1);	/* fdinfo counts one until a read adds the overruns */
}

/* Check child 2 through duplicates of its fds and its fdinfo. */
static void check_restored(pid_t pid)
{
	struct epoll_event ev[4];
	struct itimerspec its;
	char info[1024], want[64];
	uint64_t v = 0;
	int fd[20];

	for (int i = 10; i <= 17; i++) {
		fd[i] = fd_grab(pid, i);
		assert_true(fd[i] >= 0);
	}
	/* the epoll sees the eventfd ready with the program's data, and only it */
	assert_int_equal(epoll_wait(fd[16], ev, 4, 0), 1);
	assert_int_equal(ev[0].data.u64, 0x1122334455667788ULL);
	fdinfo(pid, 16, info, sizeof(info));
	if (!strstr(info, "tfd:       10 events:       19 data: 1122334455667788"))
		fail_msg("fdinfo: %s", info);
	assert_non_null(strstr(info, "tfd:       12 events: 80000019 data:                c"));
	assert_non_null(strstr(info, "tfd:       14 events: 40000019 data:                e"));
	/* a write into the pipe wakes it through the oneshot item, once */
	assert_int_equal(write(fd[15], "p", 1), 1);
	assert_int_equal(epoll_wait(fd[16], ev, 4, 0), 2);
	/* eventfd counters and modes */
	assert_int_equal(read(fd[10], &v, 8), 8);
	assert_int_equal(v, 7);
	assert_true(fcntl(fd[10], F_GETFL) & O_NONBLOCK);
	assert_int_equal(read(fd[11], &v, 8), 8);
	assert_int_equal(v, 1);	/* semaphore: one at a time */
	fdinfo(pid, 11, info, sizeof(info));
	assert_non_null(strstr(info, "eventfd-count:                2"));
	/* the timer kept its remaining time and period */
	assert_int_equal(timerfd_gettime(fd[12], &its), 0);
	assert_int_equal(its.it_interval.tv_nsec, 200000000);
	assert_true(its.it_value.tv_sec >= 25 && its.it_value.tv_sec < 30);
	fdinfo(pid, 12, info, sizeof(info));
	assert_non_null(strstr(info, "clockid: 1"));
	/* the expired timer's expirations are there to read */
	assert_int_equal(read(fd[17], &v, 8), 8);
	assert_true(v >= 1);
	fdinfo(pid, 13, info, sizeof(info));
	snprintf(want, sizeof(want), "sigmask:\t%016llx",
		 (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGRTMIN + 3 - 1)));
	assert_non_null(strstr(info, want));
	assert_true(fcntl(fd[13], F_GETFL) & O_NONBLOCK);
	for (int i = 10; i <= 17; i++)
		close(fd[i]);
}

static void test_epoll_roundtrip(void **state)
{
	struct ct_image *img;
	struct tt_child c1, c2;

	(void)state;
	img = tt_one_task(&c1, epoll_setup, NULL);
	if (dump_task_files(&c1.tc, img, &img->tasks[0]))
		fail_msg("dump: %s", ct_err_msg());
	check_dumped(img, &img->tasks[0]);
	tt_release(&c1);
	tt_kill(&c1);

	tt_restore_into_idle(img, &c2, false);
	check_restored(c2.pid);
	tt_kill(&c2);
	image_free(img);
}

/* Child 1: an epoll item whose fd number was closed after a dup kept the file. */
static int closed_target_setup(void *arg, int go_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	(void)arg;
	tt_place(eventfd(0, 0), 10);
	tt_place(epoll_create1(0), 11);
	if (epoll_ctl(11, EPOLL_CTL_ADD, 10, &ev))
		return 1;
	dup2(10, 12);
	close(10);
	tt_wait_go(go_fd);
	return 0;
}

static void test_epoll_closed_target_refused(void **state)
{
	struct ct_image *img;
	struct tt_child c1;
	char want[128];

	(void)state;
	img = tt_one_task(&c1, closed_target_setup, NULL);
	ct_err_clear();
	assert_int_equal(dump_task_files(&c1.tc, img, &img->tasks[0]), -ENOTSUP);
	snprintf(want, sizeof(want), "pid %d: fd 11: epoll target fd 10 was closed or replaced", c1.pid);
	assert_string_equal(ct_err_msg(), want);
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);
	image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epoll_roundtrip),
		cmocka_unit_test(test_epoll_closed_target_refused),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
