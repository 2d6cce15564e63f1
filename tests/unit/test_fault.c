// SPDX-License-Identifier: MIT
/* Unit tests for the $CTSWAP_FAULT parser (kernel/lib/fault.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fault.h"
#include "lib/log.h"

static int clear_env(void **state)
{
	(void)state;
	unsetenv("CTSWAP_FAULT");
	ct_err_clear();
	return 0;
}

/* No variable, or an empty one: nothing is armed. */
static void test_unset(void **state)
{
	(void)state;
	assert_false(fault_at("dump", "commit"));
	assert_int_equal(fault_fail("dump", "commit"), 0);
	setenv("CTSWAP_FAULT", "", 1);
	assert_false(fault_at("dump", "commit"));
	assert_false(fault_at_num("swap-commit", 1));
}

/* The spellings the tests use, alone and combined in one list. */
static void test_items(void **state)
{
	(void)state;
	setenv("CTSWAP_FAULT", "dump:commit", 1);
	assert_true(fault_at("dump", "commit"));
	assert_false(fault_at("dump", "commi"));
	assert_false(fault_at("dump", "commit2"));
	assert_false(fault_at("dump-stop", "commit"));

	setenv("CTSWAP_FAULT", "dump-stop:pages,swap-commit:5,inject-stop:12,restore-stop:locked", 1);
	assert_true(fault_at("dump-stop", "pages"));
	assert_true(fault_at_num("swap-commit", 5));
	assert_false(fault_at_num("swap-commit", 4));
	assert_false(fault_at_num("swap-commit", 55));
	assert_true(fault_at_num("inject-stop", 12));
	assert_false(fault_at_num("inject-stop", 1));
	assert_true(fault_at("restore-stop", "locked"));
	assert_false(fault_at("dump", "pages"));
}

/* Numbers compare as numbers; text does not. */
static void test_numbers(void **state)
{
	(void)state;
	setenv("CTSWAP_FAULT", "swap-commit:05", 1);
	assert_true(fault_at_num("swap-commit", 5));
	assert_true(fault_at("swap-commit", "5"));
	setenv("CTSWAP_FAULT", "swap-commit:5x", 1);
	assert_false(fault_at_num("swap-commit", 5));
}

/* A new value is parsed again; the old one's items are gone. */
static void test_reparse(void **state)
{
	(void)state;
	setenv("CTSWAP_FAULT", "swap-commit:1", 1);
	assert_true(fault_at_num("swap-commit", 1));
	setenv("CTSWAP_FAULT", "swap-commit:2", 1);
	assert_false(fault_at_num("swap-commit", 1));
	assert_true(fault_at_num("swap-commit", 2));
	unsetenv("CTSWAP_FAULT");
	assert_false(fault_at_num("swap-commit", 2));
}

/* A failing point reports itself through ct_err. */
static void test_fail_message(void **state)
{
	(void)state;
	setenv("CTSWAP_FAULT", "dump:blob", 1);
	assert_int_equal(fault_fail("dump", "blob"), -EIO);
	assert_string_equal(ct_err_msg(), "fault injected at dump:blob");
}

/* Bad items: refused by the checker, skipped (not fatal) by queries. */
static void test_malformed(void **state)
{
	(void)state;
	assert_int_equal(fault_parse_check("dump:commit,swap-commit:3"), 2);
	assert_int_equal(fault_parse_check(",dump:commit,,"), 1);
	assert_int_equal(fault_parse_check(""), 0);
	assert_int_equal(fault_parse_check("nosuch:1"), -EINVAL);
	assert_int_equal(fault_parse_check(":1"), -EINVAL);
	assert_int_equal(fault_parse_check("dump:"), -EINVAL);
	assert_int_equal(fault_parse_check("dump:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
			 -EINVAL);
	assert_int_equal(fault_parse_check("dump:a,dump:b,dump:c,dump:d,dump:e,dump:f,dump:g,dump:h,"
					   "dump:i,dump:j,dump:k,dump:l,dump:m,dump:n,dump:o,dump:p,dump:q"),
			 -EINVAL);

	ct_log_set_level(-1);	/* the warnings about the bad items are expected */
	setenv("CTSWAP_FAULT", "swap-commit:,typo:2,dump:seize", 1);
	assert_true(fault_at("dump", "seize"));
	assert_false(fault_at_num("swap-commit", 0));
	assert_false(fault_at("typo", "2"));
	ct_log_set_level(CT_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_unset, clear_env),
		cmocka_unit_test_setup(test_items, clear_env),
		cmocka_unit_test_setup(test_numbers, clear_env),
		cmocka_unit_test_setup(test_reparse, clear_env),
		cmocka_unit_test_setup(test_fail_message, clear_env),
		cmocka_unit_test_setup(test_malformed, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
