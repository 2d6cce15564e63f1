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
#include <sys/prctl.h>
#include <sys/wait.h>
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

/*
 * Child 1: epoll items whose fd numbers no longer hold their files: an
 * eventfd added at fd 10, kept at 12 by a dup, 10 closed; a pipe's read end
 * added at fd 13, kept at 14, 13 reused for /dev/null.
 */
static int closed_target_setup(void *arg, int go_fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0xaa };
	int p[2];

	(void)arg;
	tt_place(eventfd(0, 0), 10);
	tt_place(epoll_create1(0), 11);
	if (epoll_ctl(11, EPOLL_CTL_ADD, 10, &ev) || pipe(p))
		return 1;
	dup2(10, 12);
	close(10);
	tt_place(p[0], 13);
	tt_place(p[1], 15);
	ev.data.u64 = 0xbb;
	if (epoll_ctl(11, EPOLL_CTL_ADD, 13, &ev))
		return 2;
	dup2(13, 14);
	tt_place(open("/dev/null", O_RDONLY), 13);
	tt_wait_go(go_fd);
	return 0;
}

/* The restored epoll keeps both items under their old fd numbers, and each delivers. */
static void check_closed_restored(pid_t pid)
{
	char info[1024], path[64], link[64] = "";
	struct epoll_event ev;
	int ep = fd_grab(pid, 11), efd = fd_grab(pid, 12), wr = fd_grab(pid, 15);

	assert_true(ep >= 0 && efd >= 0 && wr >= 0);
	snprintf(path, sizeof(path), "/proc/%d/fd/10", pid);
	assert_int_equal(access(path, F_OK), -1);	/* still closed */
	snprintf(path, sizeof(path), "/proc/%d/fd/13", pid);
	assert_true(readlink(path, link, sizeof(link) - 1) > 0);
	assert_string_equal(link, "/dev/null");		/* still the file it was reused for */
	fdinfo(pid, 11, info, sizeof(info));
	if (!strstr(info, "tfd:       10 events:       19 data:               aa") ||
	    !strstr(info, "tfd:       13 events:       19 data:               bb"))
		fail_msg("fdinfo: %s", info);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
	assert_int_equal(eventfd_write(efd, 1), 0);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 1);
	assert_int_equal(ev.data.u64, 0xaa);
	assert_int_equal(eventfd_read(efd, &(eventfd_t){ 0 }), 0);
	assert_int_equal(write(wr, "x", 1), 1);
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 1);
	assert_int_equal(ev.data.u64, 0xbb);
	close(ep);
	close(efd);
	close(wr);
}

static void test_epoll_closed_target_roundtrip(void **state)
{
	struct ct_image *img;
	struct tt_child c1, c2;

	(void)state;
	img = tt_one_task(&c1, closed_target_setup, NULL);
	if (dump_task_files(&c1.tc, img, &img->tasks[0]) || dump_files_finish(img, &c1.tc))
		fail_msg("dump: %s", ct_err_msg());
	tt_release(&c1);
	tt_kill(&c1);
	tt_restore_into_idle(img, &c2, false);
	check_closed_restored(c2.pid);
	tt_kill(&c2);
	image_free(img);
}

/*
 * Child 1: an epoll item whose fd was closed while a process outside the
 * image (a child of its own, not dumped) keeps the file.
 */
static int unreachable_target_setup(void *arg, int go_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	pid_t keeper;

	(void)arg;
	tt_place(eventfd(0, 0), 10);
	tt_place(epoll_create1(0), 11);
	if (epoll_ctl(11, EPOLL_CTL_ADD, 10, &ev))
		return 1;
	keeper = fork();
	if (keeper == 0) {
		/* only the eventfd: the harness waits for EOF on the pipes it gave us */
		syscall(SYS_close_range, 0, 9, 0);
		syscall(SYS_close_range, 11, ~0U, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	close(10);
	tt_wait_go(go_fd);
	kill(keeper, SIGKILL);
	waitpid(keeper, NULL, 0);
	return 0;
}

static void test_epoll_unreachable_target_refused(void **state)
{
	struct ct_image *img;
	struct tt_child c1;
	char want[256];

	(void)state;
	img = tt_one_task(&c1, unreachable_target_setup, NULL);
	ct_err_clear();
	if (dump_task_files(&c1.tc, img, &img->tasks[0]))
		fail_msg("dump: %s", ct_err_msg());
	assert_int_equal(dump_files_finish(img, &c1.tc), -ENOTSUP);
	snprintf(want, sizeof(want), "pid %d: fd 11: epoll target fd 10 (inode %llu) was closed and no fd of the container holds its file (a mapping, a message in flight or a process outside keeps it): the kernel gives no way to reach it",
		 c1.pid, (unsigned long long)tt_file_of(img, &img->tasks[0], 11)->epoll_tgts[0].ino);
	assert_string_equal(ct_err_msg(), want);
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);
	image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epoll_roundtrip),
		cmocka_unit_test(test_epoll_closed_target_roundtrip),
		cmocka_unit_test(test_epoll_unreachable_target_refused),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
