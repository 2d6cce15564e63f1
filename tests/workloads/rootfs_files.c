/* SPDX-License-Identifier: MIT */
/*
 * rootfs_files: a workload for a container with a root filesystem of its
 * own, checking its files every 20 ms (zdtm style).
 *
 *   rootfs_files TMP OUT
 *
 * TMP is a tmpfs the container mounted.  In it the workload makes
 * TMP/work/ holding a file (mode 0640, owner 1234:5678, a second name by a
 * hard link, a symlink to it), a FIFO, a device node (1, 3), a directory
 * of mode 0711 with 64 KiB of a pattern in it; a file in TMP it holds open
 * and then deletes; a description of the file with its position at 2; its
 * working directory TMP/work.  OUT is any directory (a bind of the host's
 * in the test): each round rewrites OUT/status in place with "pid=P
 * rounds=N ok" or "BAD what" (the first thing found wrong).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define BIG 65536

static char bad[256];
static const char *tmp;

static void die(const char *what)
{
	fprintf(stderr, "rootfs_files: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* Note the first thing found wrong. */
#define fail(...) note_wrong(bad, sizeof(bad), __VA_ARGS__)

/* TMP/@rel into @buf. */
static const char *at(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", tmp, rel);
	return buf;
}

/* The byte at @i of the 64 KiB pattern. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* Make TMP/work and what is in it; hold TMP/held open, deleted. */
static void setup(int *held, int *pos2)
{
	unsigned char big[BIG];
	char p[4096], q[4096];
	int fd;

	if (mkdir(at(p, sizeof(p), "work"), 0755) < 0 || mkdir(at(p, sizeof(p), "work/sub"), 0711) < 0 ||
	    chmod(p, 0711) < 0)
		die("mkdir");
	fd = open(at(p, sizeof(p), "work/a.txt"), O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (fd < 0 || write(fd, "alpha\n", 6) != 6 || fchown(fd, 1234, 5678) < 0 || fchmod(fd, 0640) < 0)
		die("a.txt");
	close(fd);
	if (link(p, at(q, sizeof(q), "work/a.link")) < 0 || symlink("a.txt", at(q, sizeof(q), "work/s")) < 0 ||
	    mkfifo(at(q, sizeof(q), "work/fifo"), 0620) < 0 ||
	    mknod(at(q, sizeof(q), "work/null"), S_IFCHR | 0666, makedev(1, 3)) < 0)
		die("names");
	for (size_t i = 0; i < BIG; i++)
		big[i] = pattern(i);
	fd = open(at(p, sizeof(p), "work/sub/b.bin"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, big, BIG) != BIG)
		die("b.bin");
	close(fd);
	*held = open(at(p, sizeof(p), "held"), O_RDWR | O_CREAT | O_EXCL, 0600);
	if (*held < 0 || pwrite(*held, "held open, deleted\n", 19, 0) != 19 || unlink(p) < 0)
		die("held");
	*pos2 = open(at(p, sizeof(p), "work/a.txt"), O_RDONLY);
	if (*pos2 < 0 || lseek(*pos2, 2, SEEK_SET) != 2)
		die("a.txt position");
	if (chdir(at(p, sizeof(p), "work")) < 0)
		die("chdir");
}

/* Check @rel (under TMP) has @mode (type and permissions), owner and link count. */
static void check_stat(const char *rel, mode_t mode, uid_t uid, gid_t gid, nlink_t nlink)
{
	char p[4096];
	struct stat st;

	if (lstat(at(p, sizeof(p), rel), &st) < 0)
		fail("%s: %s", rel, strerror(errno));
	else if (st.st_mode != mode || st.st_uid != uid || st.st_gid != gid || st.st_nlink != nlink)
		fail("%s: mode %o owner %d:%d links %d", rel, st.st_mode, (int)st.st_uid, (int)st.st_gid,
		     (int)st.st_nlink);
}

/* One round of checks. */
static void check(int held, int pos2)
{
	unsigned char big[BIG];
	char buf[64], p[4096], cwd[4096];
	struct stat st;
	ssize_t n;
	int fd;

	check_stat("work", S_IFDIR | 0755, 0, 0, 3);
	check_stat("work/a.txt", S_IFREG | 0640, 1234, 5678, 2);
	check_stat("work/fifo", S_IFIFO | 0620, 0, 0, 1);
	check_stat("work/sub", S_IFDIR | 0711, 0, 0, 2);
	n = readlink(at(p, sizeof(p), "work/s"), buf, sizeof(buf));
	if (n != 5 || memcmp(buf, "a.txt", 5))
		fail("work/s: not a link to a.txt");
	if (stat(at(p, sizeof(p), "work/null"), &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		fail("work/null: not the device 1, 3");
	fd = open(at(p, sizeof(p), "work/sub/b.bin"), O_RDONLY);
	if (fd < 0 || read(fd, big, BIG) != BIG)
		fail("b.bin: cannot read it whole");
	for (size_t i = 0; i < BIG && fd >= 0; i++)
		if (big[i] != pattern(i)) {
			fail("b.bin: byte %zu", i);
			break;
		}
	if (fd >= 0)
		close(fd);
	n = pread(held, buf, sizeof(buf), 0);
	if (n != 19 || memcmp(buf, "held open, deleted\n", 19) || fstat(held, &st) < 0 || st.st_nlink)
		fail("held: not the deleted file with its contents");
	if (lseek(pos2, 0, SEEK_CUR) != 2 || pread(pos2, buf, 6, 0) != 6 || memcmp(buf, "alpha\n", 6))
		fail("a.txt: position or contents");
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, at(p, sizeof(p), "work")))
		fail("cwd: %s", cwd);
}

/* Rewrite OUT/status in place (the test reads it from the host). */
static void report(int out, unsigned long rounds)
{
	char line[320];
	int len;

	if (bad[0])
		len = snprintf(line, sizeof(line), "BAD %s\n", bad);
	else
		len = snprintf(line, sizeof(line), "pid=%d rounds=%lu ok\n", (int)getpid(), rounds);
	if (pwrite(out, line, (size_t)len, 0) != len || ftruncate(out, len) < 0)
		die("status");
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	char p[4096];
	unsigned long rounds = 0;
	int held, pos2, out;

	if (argc != 3) {
		fprintf(stderr, "usage: rootfs_files TMP OUT\n");
		return 2;
	}
	tmp = argv[1];
	snprintf(p, sizeof(p), "%s/status", argv[2]);
	out = open(p, O_WRONLY | O_CREAT, 0644);
	if (out < 0)
		die(p);
	umask(0);
	setup(&held, &pos2);
	for (;;) {
		check(held, pos2);
		report(out, ++rounds);
		nanosleep(&tick, NULL);
	}
}
