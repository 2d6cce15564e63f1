// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Round trip of seccomp filters between two live two-threaded processes:
 * filter A on both threads (TSYNC), filter B (with LOG) on the leader only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

#include "test_task_common.h"
#include "lib/util.h"

#define ERR_A 77
#define ERR_B 78

/* Install a filter giving errno @err to system call @nr, allowing the rest. */
static int install(int nr, int err, unsigned long flags)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(insns), .filter = insns };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static volatile int thread_go, thread_fails = -1;

/* True if @ret is -1 with errno @err. */
static bool refused(long ret, int err)
{
	return ret == -1 && errno == err;
}

/* The second thread: A acts, B does not. */
static void *second(void *arg)
{
	struct timespec ts = { 0, 1000 * 1000 };
	int fails = 0;

	(void)arg;
	while (!thread_go)
		nanosleep(&ts, NULL);
	TT_CHECK(0, refused(syscall(SYS_getppid), ERR_A));
	TT_CHECK(1, syscall(SYS_getsid, 0) >= 0);
	thread_fails = fails;
	return NULL;
}

/* Both children: start the thread, set up (child 1), wait, then check. */
static int seccomp_child(void *arg, int go_fd)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };
	bool setup = arg != NULL;
	int fails = 0;
	pthread_t th;

	if (pthread_create(&th, NULL, second, NULL))
		return 100;
	if (setup && (install(SYS_getppid, ERR_A, SECCOMP_FILTER_FLAG_TSYNC) ||
		      install(SYS_getsid, ERR_B, SECCOMP_FILTER_FLAG_LOG)))
		return 101;
	tt_wait_go(go_fd);
	thread_go = 1;
	pthread_join(th, NULL);
	fails = thread_fails << 4;
	TT_CHECK(0, refused(syscall(SYS_getppid), ERR_A));
	TT_CHECK(1, refused(syscall(SYS_getsid, 0), ERR_B));
	TT_CHECK(2, syscall(SYS_getpid) == getpid());
	/* A is one filter shared by both threads again: TSYNC finds the thread's an ancestor */
	TT_CHECK(3, syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) == 0);
	return fails;
}

/* A task of two threads for the image; host ids filled from the child. */
static struct ct_task *task_of(struct tt_child *c, struct tt_thread *t2)
{
	struct ct_task *t = xzalloc(sizeof(*t));

	t->pid = t->host_pid = c->pid;
	t->nr_threads = 2;
	t->threads = xzalloc(2 * sizeof(*t->threads));
	t->threads[0].tid = t->threads[0].host_tid = c->pid;
	t->threads[1].tid = t->threads[1].host_tid = t2->tid;
	return t;
}

static void test_seccomp_roundtrip(void **state)
{
	struct ct_image *img = xzalloc(sizeof(*img));
	struct tt_child c1, c2;
	struct tt_thread t1, t2;
	struct ct_task *t, *fresh;

	(void)state;
	tt_fork(&c1, seccomp_child, (void *)1);
	tt_seize(&c1);
	tt_seize_thread(&c1, &t1);
	t = task_of(&c1, &t1);
	img->nr_tasks = 1;
	img->tasks = t;
	if (dump_task_seccomp(img, t, NULL))
		fail_msg("dump: %s", ct_err_msg());
	assert_true(seccomp_task_filtered(t));
	tt_release_thread(&t1);
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);
	/* A once, B once; the leader [A B], the thread [A] */
	assert_int_equal(img->nr_seccomp, 2);
	assert_int_equal(t->threads[0].seccomp_mode, SECCOMP_MODE_FILTER);
	assert_int_equal(t->threads[0].nr_seccomp, 2);
	assert_int_equal(t->threads[1].nr_seccomp, 1);
	assert_int_equal(t->threads[0].seccomp[0], t->threads[1].seccomp[0]);
	assert_int_equal(img->seccomp[t->threads[0].seccomp[0]].flags, 0);
	assert_int_equal(img->seccomp[t->threads[0].seccomp[1]].flags, CT_SECCOMP_LOG);
	assert_int_equal(img->seccomp[0].len, 4);
	assert_int_equal(img->seccomp[0].insns[1] >> 32, SYS_getppid);	/* A, oldest, first */

	tt_fork(&c2, seccomp_child, NULL);
	tt_seize(&c2);
	tt_seize_thread(&c2, &t2);
	fresh = task_of(&c2, &t2);
	assert_false(seccomp_task_filtered(fresh));
	free(fresh->threads);
	free(fresh);
	if (restore_thread_seccomp(&c2.tc, img, t, 0) || restore_thread_seccomp(&t2.tc, img, t, 1))
		fail_msg("restore: %s", ct_err_msg());
	tt_release_thread(&t2);
	tt_release(&c2);
	assert_int_equal(tt_finish(&c2), 0);
	image_free(img);
}

/* Strict mode is refused, naming the process. */
static int strict_child(void *arg, int go_fd)
{
	char c;

	(void)arg;
	/* ready, and the end closed before strict mode forbids close(): tt_fork waits for EOF */
	if (write(tt_ready_fd, "r", 1) != 1)
		return 99;
	close(tt_ready_fd);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
		return 100;
	if (read(go_fd, &c, 1) < 0)
		syscall(SYS_exit, 1);
	syscall(SYS_exit, 0);
	return 0;
}

/* True once /proc/@pid/status shows seccomp strict mode. */
static bool strict_mode(pid_t pid)
{
	char path[64], line[256];
	bool strict = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		strict |= !strcmp(line, "Seccomp:\t1\n");
	fclose(f);
	return strict;
}

static void test_seccomp_strict_refused(void **state)
{
	struct ct_image *img = xzalloc(sizeof(*img));
	struct tt_child c;
	struct ct_task *t;
	int status;

	(void)state;
	tt_fork(&c, strict_child, NULL);
	while (!strict_mode(c.pid))	/* let it enter strict mode */
		usleep(1000);
	assert_int_equal(ptrace(PTRACE_SEIZE, c.pid, NULL, NULL), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, c.pid, NULL, NULL), 0);
	assert_int_equal(waitpid(c.pid, &status, __WALL), c.pid);
	t = xzalloc(sizeof(*t));
	t->pid = t->host_pid = c.pid;
	t->nr_threads = 1;
	t->threads = xzalloc(sizeof(*t->threads));
	t->threads[0].tid = t->threads[0].host_tid = c.pid;
	img->nr_tasks = 1;
	img->tasks = t;
	ct_err_clear();
	assert_int_equal(dump_task_seccomp(img, t, NULL), -ENOTSUP);
	assert_non_null(strstr(ct_err_msg(), "seccomp strict mode: not supported"));
	assert_int_equal(ptrace(PTRACE_DETACH, c.pid, NULL, NULL), 0);
	tt_kill(&c);
	image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_roundtrip),
		cmocka_unit_test(test_seccomp_strict_refused),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

