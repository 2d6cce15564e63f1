// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Round trip of rlimits, umask, personality, comm, scheduling, cwd, timers, robust list... */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "test_task_common.h"
#include "lib/util.h"

static char tdir[64];
static struct robust_list_head rhead;
static int ctid;

/* Raw timer_create: the kernel's id, not glibc's timer_t. */
static int ktimer(int clock, int notify, int signo, long value, int *id)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = notify;
	sev.sigev_signo = signo;
	sev.sigev_value.sival_ptr = (void *)value;
	if (notify == SIGEV_THREAD_ID)
		sev._sigev_un._tid = gettid();
	return syscall(SYS_timer_create, clock, &sev, id);
}

/* Both children: check what child 1 set up; @nofile_hard is where the hard limit must be. */
static int misc_check(rlim_t nofile_hard)
{
	struct rlimit rl;
	struct itimerval it;
	struct itimerspec ts;
	char name[17] = "", cwd[128], timers[2048], want[256];
	struct robust_list_head *h;
	size_t hlen;
	int *tidaddr = NULL, pdeath = 0, fails = 0;
	mode_t um;
	FILE *f;
	size_t n;

	getrlimit(RLIMIT_NOFILE, &rl);
	TT_CHECK(0, rl.rlim_cur == 100 && rl.rlim_max == nofile_hard);
	getrlimit(RLIMIT_CORE, &rl);
	TT_CHECK(0, rl.rlim_cur == 0 && rl.rlim_max == 4096);
	um = umask(0);
	umask(um);
	TT_CHECK(1, um == 027);
	errno = 0;
	TT_CHECK(2, getpriority(PRIO_PROCESS, 0) == 7 && errno == 0);
	TT_CHECK(3, personality(0xffffffff) == ADDR_NO_RANDOMIZE);
	prctl(PR_GET_NAME, name);
	TT_CHECK(4, !strcmp(name, "misc-one"));
	TT_CHECK(5, getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, tdir));
	getitimer(ITIMER_REAL, &it);
	TT_CHECK(6, it.it_interval.tv_sec == 100 && it.it_value.tv_sec >= 90 && it.it_value.tv_sec < 100);
	f = fopen("/proc/self/timers", "r");
	n = f ? fread(timers, 1, sizeof(timers) - 1, f) : 0;
	if (f)
		fclose(f);
	timers[n] = '\0';
	snprintf(want, sizeof(want), "ID: 0\nsignal: %d/0000000000001234\nnotify: signal/tid.%d\nClockID: 1\n",
		 SIGUSR1, getpid());
	TT_CHECK(7, strstr(timers, want) != NULL);
	TT_CHECK(7, strstr(timers, "ID: 2\nsignal: 14/0000000000000000\nnotify: signal/pid.") != NULL);
	TT_CHECK(7, strstr(timers, "ID: 3\n") != NULL && strstr(timers, "notify: none/pid.") != NULL);
	TT_CHECK(7, strncmp(timers, "ID: 1\n", 6) && !strstr(timers, "\nID: 1\n"));	/* not ClockID */
	TT_CHECK(8, syscall(SYS_timer_gettime, 2, &ts) == 0 && ts.it_interval.tv_sec == 30 &&
		 ts.it_value.tv_sec >= 50 && ts.it_value.tv_sec < 60);
	TT_CHECK(8, syscall(SYS_timer_gettime, 0, &ts) == 0 && ts.it_value.tv_sec == 0 && ts.it_value.tv_nsec == 0);
	prctl(PR_GET_PDEATHSIG, &pdeath);
	TT_CHECK(9, pdeath == SIGUSR2);
	TT_CHECK(10, sched_getscheduler(0) == SCHED_BATCH);
	TT_CHECK(11, syscall(SYS_get_robust_list, 0, &h, &hlen) == 0 && h == &rhead && hlen == sizeof(rhead));
	prctl(PR_GET_TID_ADDRESS, &tidaddr);
	TT_CHECK(12, tidaddr == &ctid);
	return fails;
}

/* Child 1: set every resource away from its default. */
static int misc_setup(void *arg, int go_fd)
{
	struct rlimit nofile = { 100, 200 }, core = { 0, 4096 };
	struct itimerval it = { { 100, 0 }, { 100, 0 } };
	struct itimerspec ts = { { 30, 0 }, { 60, 0 } };
	struct sched_param sp = { 0 };
	int id[4];

	(void)arg;
	if (setrlimit(RLIMIT_NOFILE, &nofile) || setrlimit(RLIMIT_CORE, &core))
		return 101;
	umask(027);
	setpriority(PRIO_PROCESS, 0, 7);
	personality(ADDR_NO_RANDOMIZE);
	prctl(PR_SET_NAME, "misc-one");
	if (chdir(tdir) || setitimer(ITIMER_REAL, &it, NULL))
		return 102;
	if (ktimer(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGUSR1, 0x1234, &id[0]) ||
	    ktimer(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR1, 0, &id[1]) ||
	    ktimer(CLOCK_REALTIME, SIGEV_SIGNAL, SIGALRM, 0, &id[2]) ||
	    ktimer(CLOCK_BOOTTIME, SIGEV_NONE, 0, 0, &id[3]))
		return 103;
	if (id[0] != 0 || id[1] != 1 || id[2] != 2 || id[3] != 3)
		return 104;
	syscall(SYS_timer_delete, 1);
	syscall(SYS_timer_settime, 2, 0, &ts, NULL);
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	if (sched_setscheduler(0, SCHED_BATCH, &sp))
		return 105;
	rhead.list.next = &rhead.list;
	syscall(SYS_set_robust_list, &rhead, sizeof(rhead));
	syscall(SYS_set_tid_address, &ctid);
	tt_wait_go(go_fd);
	return misc_check(200);
}

/* Child 2: fresh, but with a hard NOFILE limit below the image's (restore keeps it, warns). */
static int misc_fresh(void *arg, int go_fd)
{
	struct rlimit nofile = { 100, 150 };

	(void)arg;
	setrlimit(RLIMIT_NOFILE, &nofile);
	tt_wait_go(go_fd);
	return misc_check(150);
}

static void test_misc_roundtrip(void **state)
{
	struct ct_task *t = xzalloc(sizeof(*t));
	struct ct_thread *th = xzalloc(sizeof(*th));
	struct tt_child c1, c2;
	int ret;

	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/ctswap-misc-XXXXXX");
	assert_non_null(mkdtemp(tdir));
	tt_fork(&c1, misc_setup, NULL);
	tt_seize(&c1);
	t->pid = 1;	/* as inside a container: the leader's own pid differs from the host's */
	th->tid = 1;
	th->host_tid = c1.pid;
	t->threads = th;
	t->nr_threads = 1;
	ret = dump_task_misc(&c1.tc, t) ?: dump_thread_misc(&c1.tc, th);
	if (ret)
		fail_msg("dump: %s", ct_err_msg());
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);
	assert_int_equal(t->rlimits[RLIMIT_NOFILE].rlim_max, 200);
	assert_int_equal(t->umask, 027);
	assert_int_equal(t->nice, 7);
	assert_string_equal(t->comm, "misc-one");
	assert_string_equal(t->cwd, tdir);
	assert_string_equal(t->root, "/");
	assert_int_equal(t->exit_signal, SIGCHLD);
	assert_int_equal(t->pdeath_signal, SIGUSR2);
	assert_int_equal(t->nr_timers, 3);
	assert_int_equal(t->timers[0].notify_tid, 1);
	assert_int_equal(t->timers[1].id, 2);
	assert_true(t->timers[1].value_nsec > 50000000000LL);
	assert_int_equal(th->robust_list, (uint64_t)(uintptr_t)&rhead);
	assert_int_equal(th->clear_child_tid, (uint64_t)(uintptr_t)&ctid);
	assert_string_equal(th->comm, "misc-one");
	t->comm[0] = '\0';	/* the thread's own name alone must bring it back */

	tt_fork(&c2, misc_fresh, NULL);
	tt_seize(&c2);
	ret = restore_task_misc(&c2.tc, t) ?: restore_thread_misc(&c2.tc, th);
	if (ret)
		fail_msg("restore: %s", ct_err_msg());
	tt_release(&c2);
	assert_int_equal(tt_finish(&c2), 0);
	rmdir(tdir);
	free(t->cwd);
	free(t->root);
	free(t->timers);
	free(t);
	free(th);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_misc_roundtrip),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
