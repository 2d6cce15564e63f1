// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Round trip of an inotify instance (watches by path, mask, same wds) between two live processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>

#include "test_task_common.h"
#include "lib/util.h"
#include "task/fdkinds.h"

static char tdir[64], tsub[128], tfile[128];

/* Child 1: watches 1 (dir), 3 (file, after a removed 2 whose IN_IGNORED it has read). */
static int inotify_setup(void *arg, int go_fd)
{
	int fd = inotify_init1(IN_NONBLOCK), wd;
	char ev[sizeof(struct inotify_event)];

	(void)arg;
	if (inotify_add_watch(fd, tdir, IN_CREATE | IN_DELETE) != 1)
		return 1;
	wd = inotify_add_watch(fd, tsub, IN_ATTRIB);
	if (wd != 2 || inotify_rm_watch(fd, wd) || read(fd, ev, sizeof(ev)) != (ssize_t)sizeof(ev))
		return 2;
	if (inotify_add_watch(fd, tfile, IN_MODIFY | IN_ONESHOT) != 3)
		return 3;
	dup2(fd, 10);
	close(fd);
	tt_wait_go(go_fd);
	return 0;
}

static void test_inotify_roundtrip(void **state)
{
	struct ct_image *img;
	struct tt_child c1, c2;
	const struct ct_file *f;
	char buf[4096], path[160];
	struct inotify_event *ev = (struct inotify_event *)buf;
	int fd;

	(void)state;
	img = tt_one_task(&c1, inotify_setup, NULL);
	if (dump_task_files(&c1.tc, img, &img->tasks[0]))
		fail_msg("dump: %s", ct_err_msg());
	f = NULL;
	for (uint32_t i = 0; i < img->tasks[0].nr_fds; i++)
		if (img->tasks[0].fds[i].fd == 10)
			f = &img->files[img->tasks[0].fds[i].file];
	assert_non_null(f);
	assert_int_equal(f->kind, CT_FILE_INOTIFY);
	assert_int_equal(f->nr_watches, 2);
	assert_string_equal(f->watches[0].path, tdir);
	assert_int_equal(f->watches[1].wd, 3);
	assert_string_equal(f->watches[1].path, tfile);
	tt_release(&c1);
	tt_kill(&c1);

	/* the children's stdout is the test log, which may have grown */
	tt_restore_into_idle(img, &c2, true);
	fd = fd_grab(c2.pid, 10);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	/* a file created in the watched directory is reported under wd 1 (nothing else was queued) */
	snprintf(path, sizeof(path), "%s/new", tdir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	assert_int_equal(ev->wd, 1);
	assert_true(ev->mask & IN_CREATE);
	assert_string_equal(ev->name, "new");
	/* writing the watched file is reported under wd 3 */
	{
		int w = open(tfile, O_WRONLY | O_APPEND);

		assert_int_equal(write(w, "x", 1), 1);
		close(w);
	}
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	assert_int_equal(ev->wd, 3);
	assert_true(ev->mask & IN_MODIFY);
	close(fd);
	tt_kill(&c2);
	image_free(img);
}

static int make_fixture(void **state)
{
	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/ctswap-inotify-XXXXXX");
	assert_non_null(mkdtemp(tdir));
	snprintf(tsub, sizeof(tsub), "%s/sub", tdir);
	snprintf(tfile, sizeof(tfile), "%s/sub/file", tdir);
	assert_int_equal(mkdir(tsub, 0700), 0);
	close(open(tfile, O_CREAT | O_WRONLY, 0600));
	return 0;
}

static int remove_fixture(void **state)
{
	(void)state;
	remove_tree(tdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inotify_roundtrip),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, make_fixture, remove_fixture);
}
