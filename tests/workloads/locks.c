/* SPDX-License-Identifier: MIT */
/*
 * locks: a workload holding file locks of every kind, checking that it
 * still holds them (zdtm style), and a probe to try them from outside.
 *
 *   locks --out DIR
 *   locks --probe FILE posix|ofd|flock START LEN   (exit 0: locked out, 1: got it)
 *   locks --hold FILE posix|ofd|flock START LEN    (take it and sleep)
 *
 * The workload (files in DIR):
 *   posix.db: the parent holds a POSIX write lock on bytes 0-99 and a read
 *     lock on 200-EOF; a child holds a POSIX write lock on 100-199 (another
 *     owner), and a second child waits (F_SETLKW) for bytes 0-99.
 *   ofd.db: an OFD write lock on bytes 0-4095, its description shared with
 *     the first child.
 *   flock.db: flock LOCK_EX.
 * Every 20 ms the parent forks a checker that, as a process of its own with
 * descriptions of its own, tries each lock and must be refused; DIR/status,
 * appended (common.h): "pid=P checks=N ok" (or "BAD ..." with what was not held).  Once
 * DIR/release exists the parent unlocks bytes 0-99: the waiter must get
 * them, and writes DIR/waiter "got"; no check runs until it has.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#ifndef F_OFD_SETLK
#define F_OFD_SETLK 37
#endif

static const char *dir;

static void die(const char *what)
{
	fprintf(stderr, "locks: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* Open DIR/@name (or @name itself if @dir is NULL) read-write. */
static int open_in(const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		die(path);
	return fd;
}

/* Try lock @kind on fd @fd for [@start, +@len) without waiting; 0 or -errno. */
static int try_lock(int fd, const char *kind, short type, off_t start, off_t len, int wait)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	int ret;

	if (!strcmp(kind, "flock"))
		ret = flock(fd, (type == F_WRLCK ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
	else if (!strcmp(kind, "ofd"))
		ret = fcntl(fd, F_OFD_SETLK, &fl);
	else
		ret = fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
	return ret ? -errno : 0;
}

/* The checker: every lock of the workload must refuse us; exit 0 if so. */
static int check_all(void)
{
	static const struct { const char *file, *kind; short type; off_t start, len; } tries[] = {
		{ "posix.db", "posix", F_WRLCK, 0, 100 },	/* the parent's write lock */
		{ "posix.db", "posix", F_RDLCK, 50, 1 },
		{ "posix.db", "posix", F_WRLCK, 150, 1 },	/* the child's */
		{ "posix.db", "posix", F_WRLCK, 300, 1 },	/* the parent's read lock */
		{ "ofd.db", "ofd", F_RDLCK, 10, 1 },
		{ "ofd.db", "posix", F_WRLCK, 4000, 1 },	/* OFD and POSIX locks conflict */
		{ "flock.db", "flock", F_RDLCK, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		int fd = open_in(tries[i].file), ret;

		ret = try_lock(fd, tries[i].kind, tries[i].type, tries[i].start, tries[i].len, 0);
		close(fd);
		if (ret != -EAGAIN && ret != -EACCES && ret != -EWOULDBLOCK)
			return (int)i + 10;
	}
	/* and a read lock beside the parent's read lock is granted */
	{
		int fd = open_in("posix.db"), ret = try_lock(fd, "posix", F_RDLCK, 5000, 1, 0);

		close(fd);
		if (ret)
			return 9;
	}
	return 0;
}

/* First child: a POSIX write lock of its own on 100-199, sharing the OFD description. */
static void child_holder(int ofd_fd)
{
	int fd = open_in("posix.db");

	(void)ofd_fd;
	if (try_lock(fd, "posix", F_WRLCK, 100, 100, 0))
		die("child lock");
	put_file(dir, "child", "locked\n");
	for (;;)
		pause();
}

/* Second child: waits for bytes 0-99, then says so. */
static void child_waiter(void)
{
	int fd = open_in("posix.db");

	if (try_lock(fd, "posix", F_WRLCK, 0, 100, 1))
		die("waiter lock");
	put_file(dir, "waiter", "got\n");
	for (;;)
		pause();
}

/* Wait until DIR/@name exists. */
static void wait_file(const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while (access(path, F_OK))
		usleep(1000);
}

static int workload(void)
{
	int posix = open_in("posix.db"), ofd = open_in("ofd.db"), fl = open_in("flock.db");
	unsigned long checks = 0;
	char release[4096];
	int released = 0;
	pid_t holder, waiter;

	if (try_lock(posix, "posix", F_WRLCK, 0, 100, 0) || try_lock(posix, "posix", F_RDLCK, 200, 0, 0) ||
	    try_lock(ofd, "ofd", F_WRLCK, 0, 4096, 0) || try_lock(fl, "flock", F_WRLCK, 0, 0, 0))
		die("lock");
	holder = fork();
	if (holder == 0)
		child_holder(ofd);
	wait_file("child");
	waiter = fork();
	if (waiter == 0)
		child_waiter();
	snprintf(release, sizeof(release), "%s/release", dir);
	for (;;) {
		struct timespec ts = { 0, 20000000 };
		int status = 0;
		pid_t c = fork();

		if (c == 0)
			_exit(check_all());
		if (c < 0 || waitpid(c, &status, 0) != c)
			die("checker");
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			status_append(dir, "pid=%d checks=%lu BAD check %d\n", getpid(), checks,
				   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			return 1;
		}
		checks++;
		status_append(dir, "pid=%d holder=%d waiter=%d checks=%lu ok\n", getpid(), holder, waiter,
			   checks);
		if (!released && access(release, F_OK) == 0) {
			struct flock un = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };

			fcntl(posix, F_SETLK, &un);
			released = 1;
			/*
			 * The waiter is woken but takes bytes 0-99 only once it
			 * runs: until it says so, a checker would find them free
			 * (under load it did, and the workload reported BAD).
			 */
			wait_file("waiter");
		}
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--out")) {
		dir = argv[2];
		return workload();
	}
	if (argc == 6 && (!strcmp(argv[1], "--probe") || !strcmp(argv[1], "--hold"))) {
		int fd = open_in(argv[2]), ret;

		ret = try_lock(fd, argv[3], F_WRLCK, atoll(argv[4]), atoll(argv[5]), 0);
		if (!strcmp(argv[1], "--probe"))
			return ret == -EAGAIN || ret == -EACCES || ret == -EWOULDBLOCK ? 0 : 1;
		if (ret)
			die("hold");
		printf("held\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	fprintf(stderr, "usage: locks --out DIR | --probe|--hold FILE posix|ofd|flock START LEN\n");
	return 2;
}
