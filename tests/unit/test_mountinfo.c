// SPDX-License-Identifier: MIT
/* Unit tests for the mountinfo parser that finds the cgroup hierarchies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "freezer/mountinfo.h"

/* The hybrid layout of the test machine. */
static const char hybrid[] =
	"22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
	"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
	"39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static void test_hybrid(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(mountinfo_find_cgroups(hybrid, &m), 0);
	assert_string_equal(m.v2, "/sys/fs/cgroup/unified");
	assert_string_equal(m.freezer, "/sys/fs/cgroup/freezer");
}

/* Pure v2, several optional fields, and a co-mounted v1 freezer elsewhere. */
static void test_unified_and_comounted(void **state)
{
	static const char text[] =
		"25 1 0:22 / /sys/fs/cgroup rw,nosuid shared:4 master:1 - cgroup2 cgroup2 rw,nsdelegate\n"
		"50 1 0:40 / /mnt/v1 rw - cgroup none rw,cpu,freezer,memory\n";
	struct cg_mounts m;

	(void)state;
	assert_int_equal(mountinfo_find_cgroups(text, &m), 0);
	assert_string_equal(m.v2, "/sys/fs/cgroup");
	assert_string_equal(m.freezer, "/mnt/v1");
}

/* "freezer" must be a whole option, a bind of a sub-group is skipped, first wins. */
static void test_skips(void **state)
{
	static const char text[] =
		"60 1 0:50 / /a rw - cgroup cgroup rw,name=notfreezer\n"
		"61 1 0:51 /sub /b rw - cgroup2 cgroup2 rw\n"
		"62 1 0:51 / /c rw - cgroup2 cgroup2 rw\n"
		"63 1 0:51 / /d rw - cgroup2 cgroup2 rw\n";
	struct cg_mounts m;

	(void)state;
	assert_int_equal(mountinfo_find_cgroups(text, &m), 0);
	assert_string_equal(m.v2, "/c");
	assert_string_equal(m.freezer, "");
}

/* Octal escapes in mount points are decoded. */
static void test_escapes(void **state)
{
	static const char text[] = "70 1 0:60 / /mnt/my\\040cg\\011x rw - cgroup2 cgroup2 rw\n";
	struct cg_mounts m;

	(void)state;
	assert_int_equal(mountinfo_find_cgroups(text, &m), 0);
	assert_string_equal(m.v2, "/mnt/my cg\tx");
}

static void test_none(void **state)
{
	struct cg_mounts m;

	(void)state;
	assert_int_equal(mountinfo_find_cgroups("", &m), 0);
	assert_string_equal(m.v2, "");
	assert_int_equal(mountinfo_find_cgroups("22 1 0:21 / / rw - ext4 /dev/vda rw\n", &m), 0);
	assert_string_equal(m.v2, "");
	assert_string_equal(m.freezer, "");
}

static void test_malformed(void **state)
{
	struct cg_mounts m;
	char line[64];
	struct mountinfo_entry e;

	(void)state;
	/* no " - " separator */
	assert_int_equal(mountinfo_find_cgroups("40 30 0:37 / /x rw cgroup2 cgroup2 rw\n", &m),
			 -EINVAL);
	/* truncated after the separator */
	strcpy(line, "40 30 0:37 / /x rw - cgroup2");
	assert_int_equal(mountinfo_parse_line(line, &e), -EINVAL);
	strcpy(line, "40 30");
	assert_int_equal(mountinfo_parse_line(line, &e), -EINVAL);
}

static void test_parse_line(void **state)
{
	char line[] = "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime shared:9 - cgroup cg rw,freezer";
	struct mountinfo_entry e;

	(void)state;
	assert_int_equal(mountinfo_parse_line(line, &e), 0);
	assert_string_equal(e.root, "/");
	assert_string_equal(e.mount_point, "/sys/fs/cgroup/freezer");
	assert_string_equal(e.fstype, "cgroup");
	assert_string_equal(e.super_opts, "rw,freezer");
	assert_true(mount_opts_has("rw,freezer", "freezer"));
	assert_true(mount_opts_has("freezer", "freezer"));
	assert_false(mount_opts_has("rw,freezer2", "freezer"));
	assert_false(mount_opts_has("rw,name=freezer", "freezer"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_unified_and_comounted),
		cmocka_unit_test(test_skips),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_parse_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
