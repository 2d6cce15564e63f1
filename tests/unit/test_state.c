// SPDX-License-Identifier: MIT
/* Unit tests for the state file and the per-container lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/lock.h"
#include "lib/state.h"
#include "lib/log.h"
#include "lib/util.h"

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/ctswap-unit-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	return remove_tree(tmpdir);
}

/* A state with awkward values. */
static struct ct_state *sample(void)
{
	struct ct_state *st = state_new();

	assert_non_null(st);
	assert_int_equal(state_set(st, "name", "web-1"), 0);
	assert_int_equal(state_set(st, "cmd", "sh -c 'a\\b\nc=d'"), 0);
	assert_int_equal(state_set_ll(st, "init_pid", 1234), 0);
	assert_int_equal(state_set(st, "empty", ""), 0);
	return st;
}

static void test_round_trip(void **state)
{
	struct ct_state *st = sample(), *back;
	char path[128];
	long long v;

	(void)state;
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	assert_int_equal(state_write(path, st), 0);
	assert_int_equal(state_read(path, &back), 0);
	assert_int_equal(state_count(back), 4);
	assert_string_equal(state_get(back, "name"), "web-1");
	assert_string_equal(state_get(back, "cmd"), "sh -c 'a\\b\nc=d'");
	assert_string_equal(state_get(back, "empty"), "");
	assert_int_equal(state_get_ll(back, "init_pid", &v), 0);
	assert_int_equal(v, 1234);
	assert_int_equal(state_get_ll(back, "name", &v), -EINVAL);
	assert_int_equal(state_get_ll(back, "nope", &v), -ENOENT);
	assert_null(state_get(back, "nope"));
	/* order kept, replacing keeps the position */
	assert_string_equal(state_key_at(back, 0), "name");
	assert_int_equal(state_set(back, "name", "other"), 0);
	assert_string_equal(state_key_at(back, 0), "name");
	assert_string_equal(state_val_at(back, 0), "other");
	assert_int_equal(state_count(back), 4);
	state_unset(back, "cmd");
	state_unset(back, "nope");
	assert_int_equal(state_count(back), 3);
	assert_null(state_get(back, "cmd"));
	assert_string_equal(state_key_at(back, 1), "init_pid");
	state_free(back);
	state_free(st);
}

static void test_missing(void **state)
{
	struct ct_state *st;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/absent", tmpdir);
	ct_err_clear();
	assert_int_equal(state_read(path, &st), -ENOENT);
	assert_null(ct_err_msg());
}

static void test_bad_key(void **state)
{
	struct ct_state *st = state_new();

	(void)state;
	assert_int_equal(state_set(st, "Bad Key", "x"), -EINVAL);
	assert_int_equal(state_set(st, "a=b", "x"), -EINVAL);
	assert_int_equal(state_set(st, "", "x"), -EINVAL);
	state_free(st);
}

/* Flipping any single byte must be detected, and the error names the file. */
static void test_every_corrupted_byte(void **state)
{
	struct ct_state *st = sample(), *back;
	size_t len;
	char *buf;

	(void)state;
	assert_int_equal(state_format(st, &buf, &len), 0);
	assert_int_equal(state_parse(buf, len, "good", &back), 0);
	state_free(back);
	for (size_t i = 0; i < len; i++) {
		char saved = buf[i];

		buf[i] ^= 0x04;
		ct_err_clear();
		assert_int_not_equal(state_parse(buf, len, "/s/c/state", &back), 0);
		assert_non_null(ct_err_msg());
		assert_non_null(strstr(ct_err_msg(), "/s/c/state: "));
		buf[i] = saved;
	}
	free(buf);
	state_free(st);
}

static void test_corrupted_file(void **state)
{
	struct ct_state *st = sample(), *back;
	char path[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	assert_int_equal(state_write(path, st), 0);
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 20, SEEK_SET);
	fputc('#', f);
	fclose(f);
	ct_err_clear();
	assert_int_equal(state_read(path, &back), -EBADMSG);
	assert_non_null(strstr(ct_err_msg(), path));
	assert_non_null(strstr(ct_err_msg(), "corrupted state file"));
	state_free(st);
}

static void test_truncated_and_versions(void **state)
{
	struct ct_state *st = sample(), *back;
	char *buf, *newer;
	size_t len;

	(void)state;
	assert_int_equal(state_format(st, &buf, &len), 0);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(state_parse(buf, cut, "t", &back), 0);
	/* a newer version is refused as such, not as corruption */
	newer = strdup(buf);
	newer[strlen("ctswap-state ")] = '9';
	ct_err_clear();
	assert_int_equal(state_parse(newer, len, "t", &back), -EPROTONOSUPPORT);
	assert_non_null(strstr(ct_err_msg(), "version 9"));
	free(newer);
	/* trailing garbage after the end line */
	buf = realloc(buf, len + 4);
	memcpy(buf + len, "x=1\n", 4);
	assert_int_equal(state_parse(buf, len + 4, "t", &back), -EBADMSG);
	free(buf);
	state_free(st);
}

static void test_lock(void **state)
{
	char dir[128];
	int fd1, fd2, fd3;

	(void)state;
	ct_err_clear();
	assert_int_equal(ct_lock(tmpdir, "c1", "dump", &fd1), -ENOENT);
	assert_non_null(strstr(ct_err_msg(), "c1: no such container"));
	snprintf(dir, sizeof(dir), "%s/c1", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(ct_lock(tmpdir, "c1", "dump", &fd1), 0);
	ct_err_clear();
	assert_int_equal(ct_lock(tmpdir, "c1", "rm", &fd2), -EBUSY);
	{
		char want[64];

		snprintf(want, sizeof(want), "c1: busy: pid %d is running dump", getpid());
		assert_string_equal(ct_err_msg(), want);
	}
	ct_unlock(fd1);
	assert_int_equal(ct_lock(tmpdir, "c1", "rm", &fd3), 0);
	ct_unlock(fd3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_bad_key),
		cmocka_unit_test(test_every_corrupted_byte),
		cmocka_unit_test(test_corrupted_file),
		cmocka_unit_test(test_truncated_and_versions),
		cmocka_unit_test(test_lock),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
