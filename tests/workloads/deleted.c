/* SPDX-License-Identifier: MIT */
/*
 * deleted: a workload holding deleted files and directories, checking them
 * every 20 ms (zdtm style).
 *
 *   deleted --out DIR
 *   deleted --mapped-only DIR   (an unlinked file mapped, no fd left: DIR/ready, then sleep)
 *
 * In DIR it makes and keeps:
 *   - an O_TMPFILE file (mode 0640), position 4;
 *   - a mkstemp() file, unlinked, mode 0645, owner 1234:5678, opened twice
 *     (two descriptions of one inode) and shared with a forked child;
 *   - a file opened with O_NOFOLLOW, then unlinked;
 *   - an unlinked file of two pages mapped MAP_SHARED, and the same on
 *     /dev/shm (tmpfs);
 *   - a removed directory held open, and a removed working directory;
 *   - and, not deleted: an O_TMPFILE file linked into DIR, a file opened O_NOFOLLOW.
 * Each round writes a counter through one description or the mapping and
 * reads it back through the other, and checks contents, positions, link
 * counts, modes and owners: status "pid=P rounds=N ok" or "BAD what".
 * The child checks its shared description the same way ("child=N").
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define PG 4096

static const char *dir;
static char bad[256];

static void die(const char *what)
{
	fprintf(stderr, "deleted: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* Note the first thing found wrong. */
#define fail(...) note_wrong(bad, sizeof(bad), __VA_ARGS__)


/* Check that @fd is an unlinked file of @mode (type and bits) and owner. */
static void check_inode(const char *what, int fd, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(fd, &st))
		return fail("%s: fstat: %s", what, strerror(errno));
	if (st.st_nlink != 0)
		fail("%s: %lu links", what, (unsigned long)st.st_nlink);
	if (st.st_mode != mode)
		fail("%s: mode %o, want %o", what, st.st_mode, mode);
	if (st.st_uid != uid || st.st_gid != gid)
		fail("%s: owner %u:%u, want %u:%u", what, st.st_uid, st.st_gid, uid, gid);
}

/* Check @fd holds @want at @off. */
static void check_data(const char *what, int fd, off_t off, const char *want)
{
	char buf[64] = "";
	size_t len = strlen(want);

	if (pread(fd, buf, len, off) != (ssize_t)len || memcmp(buf, want, len))
		fail("%s: \"%.*s\" at %lld, want \"%s\"", what, (int)len, buf, (long long)off, want);
}

/* Check the position of @fd. */
static void check_pos(const char *what, int fd, off_t want)
{
	off_t pos = lseek(fd, 0, SEEK_CUR);

	if (pos != want)
		fail("%s: position %lld, want %lld", what, (long long)pos, (long long)want);
}

/* An unlinked file of two pages in @where, mapped shared; its fd in *@fd. */
static char *map_unlinked(const char *where, int *fd)
{
	char path[4096];
	char *m;

	snprintf(path, sizeof(path), "%s/mapped-XXXXXX", where);
	*fd = mkstemp(path);
	if (*fd < 0 || ftruncate(*fd, 2 * PG) || unlink(path))
		die(path);
	m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	strcpy(m, "mapped");
	return m;
}

/* The child: writes its counter through the shared description, reads it back. */
static void child(int shared)
{
	char line[512], want[32];

	for (unsigned long n = 1;; n++) {
		struct timespec ts = { 0, 20000000 };

		snprintf(want, sizeof(want), "c%08lu", n);
		if (pwrite(shared, want, strlen(want), 200) != (ssize_t)strlen(want))
			fail("child: write: %s", strerror(errno));
		check_data("child", shared, 200, want);
		check_data("child: mkstemp data", shared, 0, "mkstemp data");
		snprintf(line, sizeof(line), "child=%lu %s\n", n, bad[0] ? bad : "ok");
		put_file(dir, "child", line);
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	int tmpf, mk, mk2, nofollow, mfd, sfd, odir, linked, kept;
	char path[4096], cwd[4096], line[512], want[32];
	char *map, *smap;
	pid_t kid;

	if (argc == 3 && !strcmp(argv[1], "--mapped-only")) {
		dir = argv[2];
		map_unlinked(dir, &mfd);
		close(mfd);
		put_file(dir, "ready", "");
		for (;;)
			pause();
	}
	if (argc != 3 || strcmp(argv[1], "--out"))
		return fprintf(stderr, "usage: deleted --out DIR | --mapped-only DIR\n"), 2;
	dir = argv[2];
	umask(022);

	tmpf = open(dir, O_TMPFILE | O_RDWR, 0640);
	if (tmpf < 0 || write(tmpf, "tmpfile data", 12) != 12 || lseek(tmpf, 4, SEEK_SET) != 4)
		die("O_TMPFILE");

	snprintf(path, sizeof(path), "%s/mkstemp-XXXXXX", dir);
	mk = mkstemp(path);
	if (mk < 0 || write(mk, "mkstemp data", 12) != 12 || lseek(mk, 7, SEEK_SET) != 7)
		die("mkstemp");
	mk2 = open(path, O_RDWR | O_APPEND);
	if (mk2 < 0 || unlink(path) || fchown(mk, 1234, 5678) || fchmod(mk, 0645))
		die("mkstemp: second open, unlink, chown, chmod");

	snprintf(path, sizeof(path), "%s/nofollow", dir);
	nofollow = open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
	if (nofollow < 0 || write(nofollow, "nofollow", 8) != 8 || unlink(path))
		die("O_NOFOLLOW");

	linked = open(dir, O_TMPFILE | O_RDWR, 0600);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", linked);
	snprintf(cwd, sizeof(cwd), "%s/linked", dir);
	if (linked < 0 || write(linked, "linked", 6) != 6 ||
	    linkat(AT_FDCWD, path, AT_FDCWD, cwd, AT_SYMLINK_FOLLOW))
		die("linked O_TMPFILE");
	snprintf(path, sizeof(path), "%s/kept", dir);
	kept = open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
	if (kept < 0)
		die("O_NOFOLLOW kept");

	map = map_unlinked(dir, &mfd);
	smap = map_unlinked("/dev/shm", &sfd);

	snprintf(path, sizeof(path), "%s/odir", dir);
	if (mkdir(path, 0751) || (odir = open(path, O_RDONLY | O_DIRECTORY)) < 0 || rmdir(path))
		die("removed directory");
	snprintf(cwd, sizeof(cwd), "%s/cwd", dir);
	if (mkdir(cwd, 0755) || chdir(cwd) || rmdir(cwd))
		die("removed cwd");

	kid = fork();
	if (kid == 0)
		child(mk);
	for (unsigned long n = 1;; n++) {
		struct timespec ts = { 0, 20000000 };
		struct stat st;

		check_inode("O_TMPFILE", tmpf, S_IFREG | 0640, getuid(), getgid());
		check_data("O_TMPFILE", tmpf, 0, "tmpfile data");
		check_pos("O_TMPFILE", tmpf, 4);

		check_inode("mkstemp", mk, S_IFREG | 0645, 1234, 5678);
		check_data("mkstemp", mk, 0, "mkstemp data");
		check_pos("mkstemp", mk, 7);
		snprintf(want, sizeof(want), "%08lu", n);
		if (pwrite(mk, want, 8, 100) != 8)	/* through one description ... */
			fail("mkstemp: write: %s", strerror(errno));
		check_data("mkstemp: second description", mk2, 100, want);	/* ... read by the other */
		if (!(fcntl(mk2, F_GETFL) & O_APPEND))
			fail("mkstemp: second description lost O_APPEND");

		check_inode("O_NOFOLLOW", nofollow, S_IFREG | 0600, getuid(), getgid());
		check_data("O_NOFOLLOW", nofollow, 0, "nofollow");

		memcpy(map + PG, want, 8);		/* through the mapping ... */
		check_data("mapped", mfd, PG, want);	/* ... read by the fd */
		check_data("mapped", mfd, 0, "mapped");
		check_inode("mapped", mfd, S_IFREG | 0600, getuid(), getgid());
		memcpy(smap + PG, want, 8);
		check_data("mapped on tmpfs", sfd, PG, want);
		check_data("mapped on tmpfs", sfd, 0, "mapped");

		if (fstat(linked, &st) || st.st_nlink != 1)
			fail("linked O_TMPFILE: not one link");
		check_data("linked O_TMPFILE", linked, 0, "linked");
		if (!(fcntl(kept, F_GETFL) & O_NOFOLLOW))
			fail("O_NOFOLLOW file lost O_NOFOLLOW");

		check_inode("removed directory", odir, S_IFDIR | 0751, getuid(), getgid());
		if (getcwd(path, sizeof(path)) || errno != ENOENT)
			fail("cwd: getcwd did not fail with ENOENT");
		if (stat(".", &st) || st.st_nlink != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 07777) != 0755)
			fail("cwd: not a removed directory of mode 0755");

		snprintf(line, sizeof(line), "pid=%d rounds=%lu %s\n", getpid(), n, bad[0] ? bad : "ok");
		put_file(dir, "status", line);
		if (bad[0])
			return 1;
		nanosleep(&ts, NULL);
	}
}
