// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Round trip of fds and open file descriptions between two live processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>

#include "test_task_common.h"
#include "lib/util.h"
#include "task/fdkinds.h"

#define BIG_PIPE (256 * 1024)
#define BIG_DATA 100000

static char tdir[64];
static char big[BIG_DATA];
static char tfile[128], tfifo[128], tgone[128];

/* Child 1: open a bit of everything at chosen fds, then wait. */
static int files_setup(void *arg, int go_fd)
{
	int p[2], fd;

	(void)arg;
	tt_place(open(tfile, O_RDWR), 10);
	lseek(10, 5, SEEK_SET);
	dup2(10, 11);
	tt_place(open(tfile, O_WRONLY | O_APPEND), 12);
	if (pipe(p))
		return 1;
	tt_place(p[0], 20);
	tt_place(p[1], 21);
	dup2(20, 13);
	dup2(21, 14);
	close(20);
	close(21);
	if (write(14, "hello pipe", 10) != 10)
		return 2;
	fcntl(14, F_SETFL, O_NONBLOCK);
	tt_place(open("/dev/null", O_RDONLY), 15);
	fcntl(15, F_SETFD, FD_CLOEXEC);
	tt_place(open(tdir, O_RDONLY | O_DIRECTORY), 16);
	fd = open(tgone, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (write(fd, "gone data", 9) != 9)
		return 3;
	lseek(fd, 2, SEEK_SET);
	unlink(tgone);
	tt_place(fd, 17);
	tt_place(open(tfifo, O_RDWR), 18);
	if (write(18, "fifo data", 9) != 9)
		return 4;
	/* a big pipe of which only the write end is left */
	if (pipe(p) || fcntl(p[1], F_SETPIPE_SZ, BIG_PIPE) < BIG_PIPE)
		return 5;
	if (write(p[1], big, BIG_DATA) != BIG_DATA)
		return 6;
	close(p[0]);
	tt_place(p[1], 19);
	/* a forked child shares every description and has one of its own */
	if (pipe(p))
		return 7;
	if (fork() == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(tt_ready_fd);	/* the parent's EOF on it means child 1 is set up */
		tt_place(open(tfile, O_RDONLY), 22);
		close(p[0]);
		close(p[1]);		/* last: child 1's EOF means this table is settled */
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &fd, 1) != 0)	/* EOF: the child has its fd 22 */
		return 8;
	close(p[0]);
	tt_wait_go(go_fd);
	return 0;
}

/* Child 2: fresh; only waits to be restored into and inspected. */
static int files_idle(void *arg, int go_fd)
{
	(void)arg;
	tt_wait_go(go_fd);
	for (;;)
		pause();
	return 0;
}

/* Read fdinfo pos and flags of @fd in @pid. */
static void fdinfo(pid_t pid, int fd, unsigned long long *pos, unsigned int *flags)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "pos:");
	assert_non_null(p);
	*pos = strtoull(p + 4, NULL, 10);
	p = strstr(buf, "flags:");
	assert_non_null(p);
	*flags = strtoul(p + 6, NULL, 8);
}

/* Readlink /proc/PID/fd/FD into @buf. */
static void fdlink(pid_t pid, int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, buf, size - 1);
	assert_true(n > 0);
	buf[n] = '\0';
}

/* Read what /proc/PID/fd/FD gives when opened for reading (consumes pipe data). */
static void fdread(pid_t pid, int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int rfd;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	n = pread(rfd, buf, size - 1, 0);
	if (n < 0 && errno == ESPIPE)
		n = read(rfd, buf, size - 1);
	close(rfd);
	assert_true(n >= 0);
	buf[n] = '\0';
}

static uint32_t file_idx(const struct ct_task *t, int fd)
{
	for (uint32_t i = 0; i < t->nr_fds; i++)
		if (t->fds[i].fd == fd)
			return t->fds[i].file;
	fail_msg("fd %d not recorded", fd);
	return 0;
}

static int make_fixture(void **state)
{
	FILE *f;

	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/ctswap-files-XXXXXX");
	assert_non_null(mkdtemp(tdir));
	snprintf(tfile, sizeof(tfile), "%s/file", tdir);
	snprintf(tfifo, sizeof(tfifo), "%s/fifo", tdir);
	snprintf(tgone, sizeof(tgone), "%s/gone", tdir);
	f = fopen(tfile, "w");
	fputs("0123456789", f);
	fclose(f);
	assert_int_equal(mkfifo(tfifo, 0600), 0);
	for (int i = 0; i < BIG_DATA; i++)
		big[i] = (char)(i * 7);
	return 0;
}

static int remove_fixture(void **state)
{
	(void)state;
	remove_tree(tdir);
	return 0;
}

/* Check every dumped record against what child 1 set up. */
static void check_dumped(const struct ct_image *img, const struct ct_task *t)
{
	const struct ct_file *f, *r, *w;

	f = tt_file_of(img, t, 10);
	assert_int_equal(f->kind, CT_FILE_REG);
	assert_string_equal(f->path, tfile);
	assert_int_equal(f->pos, 5);
	assert_int_equal(f->flags & O_ACCMODE, O_RDWR);
	assert_int_equal(file_idx(t, 10), file_idx(t, 11));
	assert_int_not_equal(file_idx(t, 10), file_idx(t, 12));
	assert_true(tt_file_of(img, t, 12)->flags & O_APPEND);
	r = tt_file_of(img, t, 13);
	w = tt_file_of(img, t, 14);
	assert_int_equal(r->kind, CT_FILE_PIPE);
	assert_int_equal(w->kind, CT_FILE_PIPE);
	assert_int_equal(r->pipe_id, w->pipe_id);
	assert_int_equal(r->pipe_data_len + w->pipe_data_len, 10);
	assert_memory_equal(r->pipe_data_len ? r->pipe_data : w->pipe_data, "hello pipe", 10);
	assert_true(w->flags & O_NONBLOCK);
	f = tt_file_of(img, t, 15);
	assert_int_equal(f->kind, CT_FILE_CHR);
	assert_string_equal(f->path, "/dev/null");
	for (uint32_t i = 0; i < t->nr_fds; i++)
		if (t->fds[i].fd >= 10)
			assert_int_equal(t->fds[i].cloexec, t->fds[i].fd == 15);
	f = tt_file_of(img, t, 16);
	assert_int_equal(f->kind, CT_FILE_REG);
	assert_string_equal(f->path, tdir);
	f = tt_file_of(img, t, 17);
	assert_true(f->deleted);
	assert_string_equal(f->path, tgone);
	assert_int_equal(f->contents_len, 9);
	assert_memory_equal(f->contents, "gone data", 9);
	assert_int_equal(f->pos, 2);
	f = tt_file_of(img, t, 18);
	assert_int_equal(f->kind, CT_FILE_FIFO);
	assert_int_equal(f->pipe_data_len, 9);
	assert_memory_equal(f->pipe_data, "fifo data", 9);
	f = tt_file_of(img, t, 19);
	assert_int_equal(f->kind, CT_FILE_PIPE);
	assert_int_equal(f->pipe_size, BIG_PIPE);
	assert_int_equal(f->pipe_data_len, BIG_DATA);
	assert_memory_equal(f->pipe_data, big, BIG_DATA);
}

/* Read everything a pipe at /proc/PID/fd/FD holds. */
static size_t pipe_drain(pid_t pid, int fd, char *buf, size_t size)
{
	char path[64];
	size_t got = 0;
	ssize_t n;
	int rfd;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	while (got < size && (n = read(rfd, buf + got, size - got)) > 0)
		got += n;
	close(rfd);
	return got;
}

/* Check child 2's fd table from outside. */
static void check_restored(pid_t pid, const struct ct_task *t)
{
	unsigned long long pos;
	unsigned int flags;
	char buf[256];
	struct stat a, b;
	char pa[64], pb[64];

	fdlink(pid, 10, buf, sizeof(buf));
	assert_string_equal(buf, tfile);
	fdinfo(pid, 10, &pos, &flags);
	assert_int_equal(pos, 5);
	assert_int_equal(flags & O_ACCMODE, O_RDWR);
	assert_false(flags & O_CLOEXEC);
	assert_int_equal(syscall(SYS_kcmp, pid, pid, 0, 10, 11), 0);
	assert_int_not_equal(syscall(SYS_kcmp, pid, pid, 0, 10, 12), 0);
	fdinfo(pid, 12, &pos, &flags);
	assert_true(flags & O_APPEND);
	assert_int_equal(flags & O_ACCMODE, O_WRONLY);
	fdinfo(pid, 14, &pos, &flags);
	assert_true(flags & O_NONBLOCK);
	assert_int_equal(flags & O_ACCMODE, O_WRONLY);
	fdinfo(pid, 13, &pos, &flags);
	assert_false(flags & O_NONBLOCK);
	snprintf(pa, sizeof(pa), "/proc/%d/fd/13", pid);
	snprintf(pb, sizeof(pb), "/proc/%d/fd/14", pid);
	assert_int_equal(stat(pa, &a), 0);
	assert_int_equal(stat(pb, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	fdread(pid, 13, buf, sizeof(buf));
	assert_string_equal(buf, "hello pipe");
	fdlink(pid, 15, buf, sizeof(buf));
	assert_string_equal(buf, "/dev/null");
	fdinfo(pid, 15, &pos, &flags);
	assert_true(flags & O_CLOEXEC);
	fdlink(pid, 16, buf, sizeof(buf));
	assert_string_equal(buf, tdir);
	fdinfo(pid, 17, &pos, &flags);
	assert_int_equal(pos, 2);
	fdread(pid, 17, buf, sizeof(buf));
	assert_string_equal(buf, "gone data");
	fdlink(pid, 17, buf, sizeof(buf));
	assert_non_null(strstr(buf, "(deleted)"));
	fdlink(pid, 18, buf, sizeof(buf));
	assert_string_equal(buf, tfifo);
	fdread(pid, 18, buf, sizeof(buf));
	assert_string_equal(buf, "fifo data");
	{
		static char back[BIG_DATA + 1];

		assert_int_equal(pipe_drain(pid, 19, back, sizeof(back)), BIG_DATA);
		assert_memory_equal(back, big, BIG_DATA);
		fdinfo(pid, 19, &pos, &flags);
		assert_int_equal(flags & O_ACCMODE, O_WRONLY);
	}
	/* exactly the image's fds, nothing inherited from the restorer */
	for (int fd = 0; fd < 64; fd++) {
		bool want = false;

		snprintf(pa, sizeof(pa), "/proc/%d/fd/%d", pid, fd);
		for (uint32_t i = 0; i < t->nr_fds; i++)
			want |= t->fds[i].fd == fd;
		if ((access(pa, F_OK) == 0) != want) {
			char link[256] = "";
			ssize_t n = readlink(pa, link, sizeof(link) - 1);

			if (n > 0)
				link[n] = '\0';
			fail_msg("pid %d: fd %d %s (link '%s')", pid, fd,
				 want ? "missing" : "present but not in the image", link);
		}
	}
}

/* How many fds of @t are >= @lo (the test's own pipes sit below 10). */
static uint32_t count_fds_from(const struct ct_task *t, int lo)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->nr_fds; i++)
		n += t->fds[i].fd >= lo;
	return n;
}

/* The only child of @pid (from /proc/PID/task/PID/children). */
static pid_t only_child(pid_t pid)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	return atoi(buf);
}

/* Seize a process that is not ours to fork (the grandchild). */
static void seize_other(struct tt_child *c, pid_t pid)
{
	unsigned long ip;
	int status;

	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->go[1] = -1;
	assert_int_equal(ptrace(PTRACE_SEIZE, pid, NULL, NULL), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, pid, NULL, NULL), 0);
	assert_int_equal(waitpid(pid, &status, __WALL), pid);
	assert_int_equal(inj_find_syscall_insn(pid, &ip), 0);
	assert_int_equal(inj_begin(&c->inj, pid, ip), 0);
	c->tc.inj = &c->inj;
	c->tc.host_pid = pid;
	c->tc.scratch_len = TT_SCRATCH_LEN;
	assert_int_equal(inj_map_scratch(&c->inj, TT_SCRATCH_LEN, &c->tc.scratch), 0);
	assert_int_equal(inj_batch_map(&c->batch, &c->inj, TT_BATCH_LEN), 0);
	c->tc.batch = &c->batch;
}

/* SIGKILL a process that is not our child and wait until it has let go of its files. */
static void kill_other(pid_t pid)
{
	char path[64], buf[512], *p;

	kill(pid, SIGKILL);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (int i = 0; i < 5000; i++) {
		if (read_small_file(path, buf, sizeof(buf)))
			return;
		p = strrchr(buf, ')');
		if (p && p[2] == 'Z')
			return;
		usleep(1000);
	}
	fail_msg("pid %d does not die", pid);
}

/* Dump a parent and its forked child, restore them into two fresh processes. */
static void test_files_roundtrip(void **state)
{
	struct ct_image *img = xzalloc(sizeof(*img));
	struct ct_task *t0, *t1;
	struct tt_child c1, g1, c2, c3;
	struct file_table ft;
	uint32_t nr_files;
	char buf[64];

	(void)state;
	img->nr_tasks = 2;
	img->tasks = xzalloc(2 * sizeof(*img->tasks));
	t0 = &img->tasks[0];
	t1 = &img->tasks[1];
	tt_fork(&c1, files_setup, NULL);
	tt_seize(&c1);
	seize_other(&g1, only_child(c1.pid));
	t0->host_pid = c1.pid;
	t1->host_pid = g1.pid;
	if (dump_task_files(&c1.tc, img, t0) || dump_deleted(img, 0))
		fail_msg("dump: %s", ct_err_msg());
	check_dumped(img, t0);
	nr_files = img->nr_files;
	assert_int_equal(dump_task_files(&g1.tc, img, t1), 0);
	/* the forked child shares every description but its own fd 22 */
	assert_int_equal(count_fds_from(t1, 10), count_fds_from(t0, 10) + 1);
	for (int fd = 10; fd < 20; fd++)
		assert_int_equal(file_idx(t1, fd), file_idx(t0, fd));
	assert_true(file_idx(t1, 22) >= nr_files);
	tt_release(&g1);
	tt_release(&c1);
	/* dumping did not consume the pipe */
	fdread(c1.pid, 13, buf, sizeof(buf));
	assert_string_equal(buf, "hello pipe");
	tt_kill(&c1);
	kill_other(g1.pid);

	ct_err_clear();
	if (restore_files_open(img, false, &ft))
		fail_msg("restore_files_open: %s", ct_err_msg());
	assert_true(ft.lowest > 22);
	tt_fork(&c2, files_idle, NULL);
	tt_fork(&c3, files_idle, NULL);
	tt_seize(&c2);
	tt_seize(&c3);
	if (restore_task_files(&c2.tc, t0, &ft) || restore_task_files(&c3.tc, t1, &ft))
		fail_msg("restore_task_files: %s", ct_err_msg());
	restore_files_close(&ft);	/* the children hold them now */
	tt_release(&c2);
	tt_release(&c3);
	check_restored(c2.pid, t0);
	/* shared again between the two restored processes */
	assert_int_equal(syscall(SYS_kcmp, c2.pid, c3.pid, 0, 10, 10), 0);
	assert_int_equal(syscall(SYS_kcmp, c2.pid, c3.pid, 0, 12, 12), 0);
	assert_int_equal(syscall(SYS_kcmp, c2.pid, c3.pid, 0, 14, 14), 0);
	fdlink(c3.pid, 22, buf, sizeof(buf));
	assert_string_equal(buf, tfile);
	tt_kill(&c2);
	tt_kill(&c3);
	image_free(img);
}

/* Child 1 for the change test: one file at fd 10. */
static int one_file_setup(void *arg, int go_fd)
{
	(void)arg;
	tt_place(open(tfile, O_RDONLY), 10);
	tt_wait_go(go_fd);
	return 0;
}

static void test_files_changed_refused(void **state)
{
	struct ct_image *img;
	struct file_table ft;
	struct tt_child c1;
	char want[256];
	FILE *f;

	(void)state;
	img = tt_one_task(&c1, one_file_setup, NULL);
	assert_int_equal(dump_task_files(&c1.tc, img, &img->tasks[0]), 0);
	tt_release(&c1);
	tt_kill(&c1);

	/* a read-only file that only grew is restored (changed.c) */
	f = fopen(tfile, "a");
	fputs("abc", f);
	fclose(f);
	assert_int_equal(restore_files_open(img, false, &ft), 0);
	restore_files_close(&ft);
	/* one that shrank is refused, unless allowed */
	assert_int_equal(truncate(tfile, 4), 0);
	ct_err_clear();
	assert_int_equal(restore_files_open(img, false, &ft), -ESTALE);
	snprintf(want, sizeof(want), "%s: shrank since the dump (size 10 -> 4); use --allow-changed-files",
		 tfile);
	assert_string_equal(ct_err_msg(), want);
	assert_int_equal(restore_files_open(img, true, &ft), 0);
	restore_files_close(&ft);
	f = fopen(tfile, "w");
	fputs("0123456789", f);
	fclose(f);
	image_free(img);
}

/*
 * Child 1 for the refusal tests: a netlink socket (a kind not supported) or
 * a pidfd of a process outside the image (its parent, the test) at fd 20.
 */
static int unsupported_setup(void *arg, int go_fd)
{
	if (!strcmp(arg, "socket"))
		tt_place(socket(AF_NETLINK, SOCK_DGRAM, 0), 20);
	else
		tt_place((int)syscall(SYS_pidfd_open, getppid(), 0), 20);
	tt_wait_go(go_fd);
	return 0;
}

/* Dump a child holding @kind and expect the refusal "pid P: fd 20: " + @why. */
static void expect_refused(const char *kind, const char *why)
{
	struct ct_image *img = xzalloc(sizeof(*img));
	struct tt_child c1;
	char want[128];

	img->nr_tasks = 1;
	img->tasks = xzalloc(sizeof(*img->tasks));
	tt_fork(&c1, unsupported_setup, (void *)kind);
	tt_seize(&c1);
	img->tasks[0].host_pid = c1.pid;
	ct_err_clear();
	assert_int_equal(dump_task_files(&c1.tc, img, &img->tasks[0]), -ENOTSUP);
	snprintf(want, sizeof(want), "pid %d: fd 20: %s", c1.pid, why);
	assert_string_equal(ct_err_msg(), want);
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);
	image_free(img);
}

static void test_files_socket_refused(void **state)
{
	(void)state;
	expect_refused("socket", "unsupported file type socket");
}

/* A pidfd of a process that is not in the checkpoint is refused, naming it. */
static void test_files_pidfd_outside_refused(void **state)
{
	char why[128];

	(void)state;
	snprintf(why, sizeof(why), "pidfd of pid %d, a process outside the container", getpid());
	expect_refused("pidfd", why);
}

/* Child 1: at fd 20 a pidfd of a child of its own that has exited and been reaped. */
static int reaped_pidfd_setup(void *arg, int go_fd)
{
	pid_t pid = fork();

	(void)arg;
	if (pid == 0)
		_exit(3);
	tt_place((int)syscall(SYS_pidfd_open, pid, 0), 20);
	waitpid(pid, NULL, 0);
	tt_wait_go(go_fd);
	return 0;
}

/* A pidfd whose process was reaped comes back as one: readable, fdinfo Pid -1. */
static void test_files_reaped_pidfd_roundtrip(void **state)
{
	struct pollfd p = { .events = POLLIN };
	struct tt_child c1, c2;
	struct ct_image *img;
	char path[64], info[256] = "";
	ssize_t n;
	int f;

	(void)state;
	img = tt_one_task(&c1, reaped_pidfd_setup, NULL);
	if (dump_task_files(&c1.tc, img, &img->tasks[0]))
		fail_msg("dump: %s", ct_err_msg());
	assert_int_equal(tt_file_of(img, &img->tasks[0], 20)->kind, CT_FILE_PIDFD);
	assert_int_equal(tt_file_of(img, &img->tasks[0], 20)->pidfd_pid, 0);
	tt_release(&c1);
	tt_kill(&c1);
	tt_restore_into_idle(img, &c2, false);
	p.fd = fd_grab(c2.pid, 20);
	assert_true(p.fd >= 0);
	assert_int_equal(poll(&p, 1, 0), 1);
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/20", c2.pid);
	f = open(path, O_RDONLY);
	n = read(f, info, sizeof(info) - 1);
	close(f);
	assert_true(n > 0);
	assert_non_null(strstr(info, "Pid:\t-1"));
	close(p.fd);
	tt_kill(&c2);
	image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_roundtrip),
		cmocka_unit_test(test_files_changed_refused),
		cmocka_unit_test(test_files_socket_refused),
		cmocka_unit_test(test_files_pidfd_outside_refused),
		cmocka_unit_test(test_files_reaped_pidfd_roundtrip),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, make_fixture, remove_fixture);
}
