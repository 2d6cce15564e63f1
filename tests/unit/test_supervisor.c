// SPDX-License-Identifier: MIT
/*
 * The generic supervisor as restore uses it: an init that does not exec but
 * reports readiness, a chosen pid (set_tid), a failing init_fn.  Real
 * processes and a real cgroup (needs root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/state.h"
#include "container/supervisor.h"
#include "freezer/cgroup.h"
#include "lib/log.h"
#include "lib/util.h"

static char store[64];
static char cgname[64];
static struct ct_cgroup *cg;

static int setup(void **state)
{
	char dir[128];

	(void)state;
	strcpy(store, "/tmp/ctswap-sup-XXXXXX");
	if (!mkdtemp(store))
		return -1;
	snprintf(dir, sizeof(dir), "%s/c", store);
	mkdir(dir, 0700);
	snprintf(cgname, sizeof(cgname), ".ut-%d", getpid());
	return cg_create(cgname, &cg);
}

static int teardown(void **state)
{
	(void)state;
	cg_kill(cg, 5000);
	cg_destroy(cg);
	cg_close(cg);
	return remove_tree(store);
}

/* The restore-style init: report ready, then wait to be rebuilt. */
static int init_ready_then_pause(void *arg)
{
	(void)arg;
	supervisor_init_ready();
	for (;;)
		pause();
	return 0;
}

static int init_fails(void *arg)
{
	(void)arg;
	return ct_err(-ENOTSUP, "c: init_fn refused");
}

static struct supervisor_opts opts_for(int (*fn)(void *), bool pidns, pid_t set_tid)
{
	static char console[128];

	snprintf(console, sizeof(console), "%s/c/console.log", store);
	return (struct supervisor_opts) {
		.store_dir = store, .name = "c", .cg = cg, .new_pidns = pidns,
		.set_tid = set_tid, .console_path = console, .init_fn = fn,
	};
}

/* Wait until STORE/c/state records an exit status; returns it. */
static long long wait_exit_status(void)
{
	char path[128];
	long long st = -1;

	snprintf(path, sizeof(path), "%s/c/state", store);
	for (int i = 0; i < 500 && st < 0; i++) {
		struct ct_state *s;

		if (state_read(path, &s) == 0) {
			if (state_get_ll(s, "exit_status", &st))
				st = -1;
			state_free(s);
		}
		if (st < 0)
			usleep(10000);
	}
	return st;
}

/* A free pid: one just released by a reaped child. */
static pid_t free_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static void test_ready_without_exec(void **state)
{
	struct supervisor_opts o = opts_for(init_ready_then_pause, true, 0);
	pid_t init = 0, *pids;
	size_t nr;

	(void)state;
	assert_int_equal(supervisor_start(&o, &init), 0);
	assert_true(init > 0);
	assert_int_equal(kill(init, 0), 0);
	assert_int_equal(cg_procs(cg, &pids, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(pids[0], init);
	free(pids);
	kill(init, SIGKILL);
	assert_int_equal(wait_exit_status(), SIGKILL);
}

static void test_set_tid(void **state)
{
	pid_t want, init = 0;
	struct supervisor_opts o;
	int ret = -EEXIST;

	(void)state;
	for (int i = 0; i < 5 && ret == -EEXIST; i++) {
		want = free_pid();
		o = opts_for(init_ready_then_pause, i % 2, want);
		ct_err_clear();
		ret = supervisor_start(&o, &init);
	}
	assert_int_equal(ret, 0);
	assert_int_equal(init, want);
	/* the previous test's exit status was forgotten at start */
	{
		char path[128];
		struct ct_state *s;

		snprintf(path, sizeof(path), "%s/c/state", store);
		assert_int_equal(state_read(path, &s), 0);
		assert_null(state_get(s, "exit_status"));
		state_free(s);
	}
	kill(init, SIGKILL);
	assert_int_equal(wait_exit_status(), SIGKILL);
}

static void test_init_fn_error(void **state)
{
	struct supervisor_opts o = opts_for(init_fails, false, 0);
	pid_t init = 0;

	(void)state;
	ct_err_clear();
	assert_int_equal(supervisor_start(&o, &init), -ENOTSUP);
	assert_string_equal(ct_err_msg(), "c: init_fn refused");
	/* recorded before supervisor_start returned */
	assert_int_equal(wait_exit_status(), 127 << 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_without_exec),
		cmocka_unit_test(test_set_tid),
		cmocka_unit_test(test_init_fn_error),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
