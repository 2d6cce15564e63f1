// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Round trip of handlers, masks, pending signals and sigaltstack between two live processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "test_task_common.h"
#include "lib/util.h"

static char altbuf[65536];
static pid_t sender;		/* child 1's pid: the sender of its queued signals */

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig; (void)si; (void)uc;
}

static void on_hup(int sig)
{
	(void)sig;
}

/* Child 1: handlers, an alternate stack, a mask and pending signals. */
static int signals_setup(void *arg, int go_fd);
/* Both children: check the state set up by child 1; bit N of the result is check N. */
static int signals_check(void)
{
	struct sigaction sa;
	sigset_t set;
	siginfo_t si;
	stack_t ss;
	struct timespec zero = { 0, 0 };
	int fails = 0;

	if (!sender)		/* child 1 is the sender */
		sender = getpid();
	sigaction(SIGUSR1, NULL, &sa);
	TT_CHECK(0, sa.sa_sigaction == on_usr1 && (sa.sa_flags & SA_SIGINFO) && (sa.sa_flags & SA_RESTART) &&
		 sigismember(&sa.sa_mask, SIGTERM) && !sigismember(&sa.sa_mask, SIGINT));
	sigaction(SIGINT, NULL, &sa);
	TT_CHECK(1, sa.sa_handler == SIG_IGN);
	sigaction(SIGHUP, NULL, &sa);
	TT_CHECK(2, sa.sa_handler == on_hup && (sa.sa_flags & SA_ONSTACK) && (sa.sa_flags & SA_NODEFER));
	sigaction(SIGTERM, NULL, &sa);
	TT_CHECK(2, sa.sa_handler == SIG_DFL);
	sigaltstack(NULL, &ss);
	TT_CHECK(3, ss.ss_sp == altbuf && ss.ss_size == sizeof(altbuf) && ss.ss_flags == 0);
	sigprocmask(SIG_BLOCK, NULL, &set);
	TT_CHECK(4, sigismember(&set, SIGUSR1) && sigismember(&set, SIGUSR2) && sigismember(&set, SIGHUP) &&
		 sigismember(&set, SIGRTMIN + 2) && !sigismember(&set, SIGTERM));
	sigpending(&set);
	TT_CHECK(5, sigismember(&set, SIGUSR1) && sigismember(&set, SIGUSR2) && sigismember(&set, SIGRTMIN + 2) &&
		 !sigismember(&set, SIGHUP));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	TT_CHECK(6, sigtimedwait(&set, &si, &zero) == SIGUSR1 && si.si_code == SI_QUEUE &&
		 si.si_value.sival_int == 42 && si.si_pid == sender);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	TT_CHECK(7, sigtimedwait(&set, &si, &zero) == SIGUSR2 && (si.si_code == SI_TKILL || si.si_code == SI_USER) && si.si_pid == sender);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	TT_CHECK(8, sigtimedwait(&set, &si, &zero) == SIGRTMIN + 2 && si.si_value.sival_int == 7);
	TT_CHECK(8, sigtimedwait(&set, &si, &zero) == SIGRTMIN + 2 && si.si_value.sival_int == 8);
	TT_CHECK(9, sigtimedwait(&set, &si, &zero) < 0);
	return fails;
}

static int signals_setup(void *arg, int go_fd)
{
	struct sigaction sa;
	stack_t ss = { .ss_sp = altbuf, .ss_size = sizeof(altbuf), .ss_flags = 0 };
	sigset_t set;

	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGUSR1, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER;
	sigaction(SIGHUP, &sa, NULL);
	sigaltstack(&ss, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGRTMIN + 2);
	sigprocmask(SIG_SETMASK, &set, NULL);
	sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 42 });
	syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
	sigqueue(getpid(), SIGRTMIN + 2, (union sigval){ .sival_int = 7 });
	sigqueue(getpid(), SIGRTMIN + 2, (union sigval){ .sival_int = 8 });
	tt_wait_go(go_fd);
	return signals_check();
}

/* Child 2: fresh; waits, then checks what it was given. */
static int signals_fresh(void *arg, int go_fd)
{
	(void)arg;
	tt_wait_go(go_fd);
	return signals_check();
}

static void test_signals_roundtrip(void **state)
{
	struct ct_task *t = xzalloc(sizeof(*t));
	struct ct_thread *th = xzalloc(sizeof(*th));
	struct tt_child c1, c2;

	(void)state;
	tt_fork(&c1, signals_setup, NULL);
	sender = c1.pid;
	tt_seize(&c1);
	assert_int_equal(dump_task_signals(&c1.tc, t), 0);
	assert_int_equal(dump_thread_signals(&c1.tc, th), 0);
	tt_release(&c1);
	assert_int_equal(t->nr_shared_pending, 3);
	assert_int_equal(th->nr_pending, 1);
	assert_int_equal(t->sigactions[SIGUSR1 - 1].handler, (uint64_t)(uintptr_t)on_usr1);
	assert_int_equal(t->sigactions[SIGINT - 1].handler, (uint64_t)(uintptr_t)SIG_IGN);
	assert_true(th->blocked & (1ULL << (SIGUSR2 - 1)));
	assert_ptr_equal(th->altstack.ss_sp, altbuf);
	/* the dump consumed nothing: child 1 still sees all it set up */
	assert_int_equal(tt_finish(&c1), 0);

	tt_fork(&c2, signals_fresh, NULL);
	tt_seize(&c2);
	if (restore_task_signals(&c2.tc, t) || restore_thread_signals(&c2.tc, th))
		fail_msg("restore: %s", ct_err_msg());
	tt_release(&c2);
	assert_int_equal(tt_finish(&c2), 0);
	free(t->shared_pending);
	free(t);
	free(th->pending);
	free(th);
}

/* ---- a second thread: its own mask, pending signal and altstack ---- */

static char altbuf2[32768];
static volatile int thr_ready, thr_go, thr_result;

/* The second thread: set up (child 1 only), wait, check its own state. */
static void *thread_main(void *arg)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;
	siginfo_t si;
	stack_t ss = { .ss_sp = altbuf2, .ss_size = sizeof(altbuf2) };
	int fails = 0;

	if (arg) {
		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		sigaddset(&set, SIGWINCH);
		pthread_sigmask(SIG_SETMASK, &set, NULL);
		sigaltstack(&ss, NULL);
		/* a signal pending on this thread only */
		syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
	}
	thr_ready = 1;
	while (!thr_go)
		usleep(1000);
	pthread_sigmask(SIG_BLOCK, NULL, &set);
	TT_CHECK(0, sigismember(&set, SIGUSR2) && sigismember(&set, SIGWINCH) && !sigismember(&set, SIGUSR1));
	sigaltstack(NULL, &ss);
	TT_CHECK(1, ss.ss_sp == altbuf2 && ss.ss_size == sizeof(altbuf2));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	TT_CHECK(2, sigtimedwait(&set, &si, &zero) == SIGUSR2 && si.si_pid == sender &&
		 (si.si_code == SI_TKILL || si.si_code == SI_USER));
	TT_CHECK(3, sigtimedwait(&set, &si, &zero) < 0);
	/* not ours to free at thread exit (ASan would try) */
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	thr_result = fails;
	return NULL;
}

/* Both children: a main thread with nothing special and a second thread to check. */
static int threads_child(void *arg, int go_fd)
{
	pthread_t th;
	sigset_t set;
	int fails = 0;

	if (!sender)
		sender = getpid();
	if (pthread_create(&th, NULL, thread_main, arg))
		return 100;
	while (!thr_ready)
		usleep(1000);
	tt_wait_go(go_fd);
	thr_go = 1;
	pthread_join(th, NULL);
	fails = thr_result << 4;
	/* the main thread saw nothing of it */
	sigpending(&set);
	TT_CHECK(0, !sigismember(&set, SIGUSR2));
	return fails;
}

static void test_signals_thread_roundtrip(void **state)
{
	struct ct_thread *th = xzalloc(sizeof(*th));
	struct tt_child c1, c2;
	struct tt_thread t1, t2;

	(void)state;
	sender = 0;
	tt_fork(&c1, threads_child, (void *)1);
	sender = c1.pid;
	tt_seize(&c1);
	tt_seize_thread(&c1, &t1);
	assert_int_equal(dump_thread_signals(&t1.tc, th), 0);
	assert_int_equal(th->nr_pending, 1);
	assert_true(th->blocked & (1ULL << (SIGWINCH - 1)));
	tt_release_thread(&t1);
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);

	tt_fork(&c2, threads_child, NULL);
	tt_seize(&c2);
	tt_seize_thread(&c2, &t2);
	if (restore_thread_signals(&t2.tc, th))
		fail_msg("restore: %s", ct_err_msg());
	tt_release_thread(&t2);
	tt_release(&c2);
	assert_int_equal(tt_finish(&c2), 0);
	free(th->pending);
	free(th);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signals_roundtrip),
		cmocka_unit_test(test_signals_thread_roundtrip),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
