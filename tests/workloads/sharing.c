/* SPDX-License-Identifier: MIT */
/*
 * sharing: processes that share what threads share, made with clone(2):
 *
 *   files   clone(CLONE_FILES): one descriptor table with the parent
 *   fs      clone(CLONE_FS): one cwd, root and umask with the parent
 *   plain   fork(): shares neither (nothing may leak into it)
 *
 * On each DIR/check-N the parent checks, through command pipes:
 *   - an fd the parent opens is in "files", which closes it: the parent
 *     sees it closed; an fd "files" opens is in the parent; none is in
 *     "plain";
 *   - "fs" changes directory and umask: the parent is in the new directory
 *     with the new umask; the parent changes them back: "fs" sees that;
 *     "plain" keeps its own.
 * DIR/status: "ready" once the children run, then "round=N ok" (or
 * "BAD <what>", sticky).
 *
 *   sharing --out DIR
 *
 * With --vm instead, one child made with clone(CLONE_VM) alone shares the
 * parent's address space for good (no vfork, no thread); the parent writes
 * "beat=N" to DIR/status every 20 ms.
 *
 *   sharing --vm DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

enum { FILES, FS, PLAIN, NR_KIDS };

static char dir[2048], sub[2100], mark[2100], bad[200];
static int cmd[NR_KIDS][2], reply[NR_KIDS][2];

/* Write DIR/status atomically: @text, or the first failure once there is one. */
static void report(const char *text)
{
	put_status(dir, "%s\n", bad[0] ? bad : text);
}

static void fail(const char *what, long got)
{
	if (!bad[0])
		snprintf(bad, sizeof(bad), "BAD %s: got %ld", what, got);
}

static void read_all(int fd, void *buf, size_t len)
{
	if (read(fd, buf, len) != (ssize_t)len)
		_exit(3);
}

static void write_all(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		_exit(3);
}

/* Is @fd open, and on the inode of @path? */
static bool fd_is(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino;
}

/* The current umask (set back at once). */
static mode_t get_umask(void)
{
	mode_t m = umask(0);

	umask(m);
	return m;
}

/* True if the cwd is @path. */
static bool cwd_is(const char *path)
{
	char buf[2200];

	return getcwd(buf, sizeof(buf)) && !strcmp(buf, path);
}

/*
 * A child's loop: each command is an int; the answer an int.
 *   > 0  an fd: is it open on DIR/mark?  (files: then close it)
 *   -1   files: open DIR/mark, answer its fd
 *   -2   fs: chdir DIR/sub, umask 027; answer 1
 *   -3   is the cwd DIR with umask 022?
 */
static int child_main(void *arg)
{
	int me = (int)(long)arg, c, r;

	for (;;) {
		read_all(cmd[me][0], &c, sizeof(c));
		if (c > 0) {
			r = fd_is(c, mark);
			if (me == FILES && r)
				close(c);
		} else if (c == -1) {
			r = open(mark, O_RDONLY);
		} else if (c == -2) {
			r = chdir(sub) == 0;
			umask(027);
		} else {
			r = cwd_is(dir) && get_umask() == 022;
		}
		write_all(reply[me][1], &r, sizeof(r));
	}
	return 0;
}

/* Send @c to child @k and return its answer. */
static int ask(int k, int c)
{
	int r;

	write_all(cmd[k][1], &c, sizeof(c));
	read_all(reply[k][0], &r, sizeof(r));
	return r;
}

/* One round of checks (see the header). */
static void check_round(void)
{
	int fd = open(mark, O_RDONLY), r;

	if (fd < 0) {
		fail("open mark", errno);
		return;
	}
	if ((r = ask(PLAIN, fd)))
		fail("plain sees the parent's new fd", r);
	if (!(r = ask(FILES, fd)))
		fail("files does not see the parent's new fd", r);
	if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) {
		fail("files closed an fd, the parent still has it", fd);
		close(fd);
	}
	fd = ask(FILES, -1);
	if (fd < 0 || !fd_is(fd, mark))
		fail("the parent does not see an fd files opened", fd);
	else
		close(fd);
	if (!(r = ask(FS, -2)))
		fail("fs cannot chdir", r);
	if (!cwd_is(sub) || get_umask() != 027)
		fail("fs changed cwd and umask, the parent's umask is", get_umask());
	if (!(r = ask(PLAIN, -3)))
		fail("fs changed plain's cwd or umask", r);
	if (chdir(dir))
		fail("chdir back", errno);
	umask(022);
	if (!(r = ask(FS, -3)))
		fail("the parent changed cwd and umask, fs does not see it", r);
}

/* Start child @k with clone flags @flags. */
static int start_child(int k, int flags)
{
	static char stacks[NR_KIDS][64 * 1024] __attribute__((aligned(16)));

	if (pipe(cmd[k]) || pipe(reply[k]))
		return -1;
	if (clone(child_main, stacks[k] + sizeof(stacks[k]), flags | SIGCHLD, (void *)(long)k) < 0)
		return -1;
	return 0;
}

static bool exists(const char *name)
{
	char path[2200];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static int vm_child(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

/* --vm: a CLONE_VM child, and a heartbeat. */
static int vm_main(void)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	char text[64];

	if (clone(vm_child, stack + sizeof(stack), CLONE_VM | SIGCHLD, NULL) < 0)
		return 1;
	for (long beat = 1;; beat++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		snprintf(text, sizeof(text), "beat=%ld", beat);
		report(text);
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	char name[32], text[64];
	int round = 0, fd;

	if (argc != 3 || (strcmp(argv[1], "--out") && strcmp(argv[1], "--vm"))) {
		fprintf(stderr, "usage: sharing --out|--vm DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	if (!strcmp(argv[1], "--vm"))
		return vm_main();
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(mark, sizeof(mark), "%s/mark", dir);
	mkdir(sub, 0755);
	fd = open(mark, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || chdir(dir))
		return 1;
	close(fd);
	umask(022);
	if (start_child(FILES, CLONE_FILES) || start_child(FS, CLONE_FS) || start_child(PLAIN, 0)) {
		fail("clone", errno);
		report("");
		return 1;
	}
	report("ready");
	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		snprintf(name, sizeof(name), "check-%d", round + 1);
		if (exists(name)) {
			check_round();
			snprintf(text, sizeof(text), "round=%d ok", ++round);
			report(text);
		}
		nanosleep(&ts, NULL);
	}
}
