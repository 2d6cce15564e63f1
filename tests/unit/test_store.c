// SPDX-License-Identifier: MIT
/* Unit tests for container names and store paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "ctswap.h"
#include "container/store.h"

static void test_names_accepted(void **state)
{
	(void)state;
	assert_true(ctswap_name_valid("a"));
	assert_true(ctswap_name_valid("web-1.prod_x"));
	assert_true(ctswap_name_valid("0abc"));
	/* 64 characters is the limit */
	assert_true(ctswap_name_valid("a123456789012345678901234567890123456789012345678901234567890123"));
}

static void test_names_refused(void **state)
{
	(void)state;
	assert_false(ctswap_name_valid(NULL));
	assert_false(ctswap_name_valid(""));
	assert_false(ctswap_name_valid("../x"));
	assert_false(ctswap_name_valid(".hidden"));
	assert_false(ctswap_name_valid("-x"));
	assert_false(ctswap_name_valid("a/b"));
	assert_false(ctswap_name_valid("a b"));
	assert_false(ctswap_name_valid("caf\xc3\xa9"));
	assert_false(ctswap_name_valid("a1234567890123456789012345678901234567890123456789012345678901234"));
}

static void test_store_path(void **state)
{
	struct ctswap_store store = { .path = "/s" };
	char buf[16];

	(void)state;
	assert_int_equal(store_path(&store, "c1", "swap", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/s/c1/swap");
	assert_int_equal(store_path(&store, "c1", NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/s/c1");
	assert_int_equal(store_path(&store, "c1", "a-very-long-file", buf, sizeof(buf)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_accepted),
		cmocka_unit_test(test_names_refused),
		cmocka_unit_test(test_store_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
