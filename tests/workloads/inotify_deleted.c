/* SPDX-License-Identifier: MIT */
/*
 * inotify_deleted: an inotify watch on a file that has been deleted while
 * the program keeps it open.  Round N: create DIR/w/f-N, open it, watch it
 * (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF), unlink it and
 * read the IN_CREATE (on the watch of DIR/w) and IN_ATTRIB the creation and
 * the unlink send.  Then wait,
 * with every event read, until DIR/w/go-N appears (the test dumps and
 * restores in that wait), and check the watch still works: a write gives
 * IN_MODIFY, the file still has no link and holds what was written, and
 * closing it gives IN_CLOSE_WRITE, IN_DELETE_SELF and IN_IGNORED, all under
 * the watch's wd; go-N itself showed up as IN_CREATE on the directory's
 * watch.  DIR/status:
 *
 *   pid=P rounds=N idle ok     (waiting for go-N; or "BAD <what>", sticky)
 *
 *   inotify_deleted --out DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[4000], status_path[4096], tmp_path[4096];	/* dir: DIR/w */
static char bad[200];

#define FAIL(...) do { if (!bad[0]) snprintf(bad, sizeof(bad), "BAD " __VA_ARGS__); } while (0)

static void write_status(unsigned long rounds)
{
	FILE *f = fopen(tmp_path, "w");

	if (!f)
		return;
	fprintf(f, "pid=%d rounds=%lu idle %s\n", getpid(), rounds, bad[0] ? bad : "ok");
	fclose(f);
	rename(tmp_path, status_path);
}

/* Read the next event of @in (waiting up to 5 s) and check its wd and mask. */
static void expect(int in, int wd, uint32_t mask, const char *what)
{
	static char buf[4096] __attribute__((aligned(8)));
	static size_t have, off;
	struct inotify_event *ev;
	struct pollfd p = { .fd = in, .events = POLLIN };

	if (off >= have) {
		ssize_t n;

		if (poll(&p, 1, 5000) != 1) {
			FAIL("%s: no event", what);
			return;
		}
		n = read(in, buf, sizeof(buf));
		if (n <= 0) {
			FAIL("%s: read %d", what, errno);
			return;
		}
		have = (size_t)n;
		off = 0;
	}
	ev = (struct inotify_event *)(buf + off);
	off += sizeof(*ev) + ev->len;
	if (ev->wd != wd || ev->mask != mask)
		FAIL("%s: event wd %d mask %#x, not wd %d mask %#x", what, ev->wd, ev->mask, wd, mask);
}

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	unsigned long rounds = 0;
	char path[4200], go[4200];
	int in, dwd;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: inotify_deleted --out DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/w", argv[2]);
	snprintf(status_path, sizeof(status_path), "%s/status", argv[2]);
	snprintf(tmp_path, sizeof(tmp_path), "%s/status.tmp", argv[2]);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return 1;
	in = inotify_init1(IN_CLOEXEC);
	dwd = in < 0 ? -1 : inotify_add_watch(in, dir, IN_CREATE | IN_ONLYDIR);
	if (dwd < 0)
		return 1;
	for (;;) {
		struct stat st;
		int fd, wd;

		snprintf(path, sizeof(path), "%s/f-%lu", dir, rounds);
		snprintf(go, sizeof(go), "%s/go-%lu", dir, rounds);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		wd = inotify_add_watch(in, path, IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF);
		if (fd < 0 || wd < 0 || unlink(path))
			FAIL("round %lu: setup %d", rounds, errno);
		expect(in, dwd, IN_CREATE, "create");
		expect(in, wd, IN_ATTRIB, "unlink");
		write_status(rounds);
		/* idle, every event read: the test dumps and restores here */
		while (access(go, F_OK) != 0)
			nanosleep(&tick, NULL);
		expect(in, dwd, IN_CREATE, "go file");
		if (write(fd, "abc", 3) != 3)
			FAIL("round %lu: write %d", rounds, errno);
		expect(in, wd, IN_MODIFY, "write");
		if (fstat(fd, &st) || st.st_nlink != 0 || st.st_size != 3)
			FAIL("round %lu: the deleted file has %lu links, %lld bytes", rounds,
			     (unsigned long)st.st_nlink, (long long)st.st_size);
		close(fd);
		expect(in, wd, IN_CLOSE_WRITE, "close");
		expect(in, wd, IN_DELETE_SELF, "delete self");
		expect(in, wd, IN_IGNORED, "ignored");
		unlink(go);
		rounds++;
	}
}
