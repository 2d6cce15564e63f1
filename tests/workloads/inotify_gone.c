/* SPDX-License-Identifier: MIT */
/*
 * inotify_gone: an inotify watch whose inode is gone, with its last events
 * unread, then read.  Watches DIR/w/a (wd 1), DIR/w/b (wd 2) and DIR/w/c
 * (wd 3) for IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF, then unlinks b, which
 * nothing holds open: the kernel queues IN_ATTRIB, IN_DELETE_SELF and
 * IN_IGNORED under wd 2 and drops the watch.  Status "queued" until
 * DIR/drain appears (the test's dump is refused here), then it reads those
 * three events, exactly and nothing else (a refused dump took none).
 * Then round N: idle with every event read until DIR/w/go-N appears (the
 * test dumps and restores here), then a write to a gives IN_MODIFY under
 * wd 1, a write to c IN_MODIFY under wd 3 (go-N itself is not watched),
 * wd 2 is gone (inotify_rm_watch fails with EINVAL) and nothing else is
 * queued.  DIR/status:
 *
 *   pid=P queued ok             (waiting for DIR/drain)
 *   pid=P rounds=N idle ok      (waiting for go-N; or "BAD <what>", sticky)
 *
 *   inotify_gone --out DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[4000], status_path[4096], tmp_path[4096];	/* dir: DIR/w */
static char bad[200];

#define FAIL(...) do { if (!bad[0]) snprintf(bad, sizeof(bad), "BAD " __VA_ARGS__); } while (0)
#define MASK (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF)

static void write_status(const char *what)
{
	FILE *f = fopen(tmp_path, "w");

	if (!f)
		return;
	fprintf(f, "pid=%d %s %s\n", getpid(), what, bad[0] ? bad : "ok");
	fclose(f);
	rename(tmp_path, status_path);
}

/* Read the next event of @in (waiting up to 5 s) and check its wd and mask. */
static void expect(int in, int wd, uint32_t mask, const char *what)
{
	struct inotify_event ev;
	struct pollfd p = { .fd = in, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1) {
		FAIL("%s: no event", what);
		return;
	}
	/* one event a read: none of these carries a name */
	if (read(in, &ev, sizeof(ev)) != (ssize_t)sizeof(ev)) {
		FAIL("%s: read %d", what, errno);
		return;
	}
	if (ev.wd != wd || ev.mask != mask || ev.len)
		FAIL("%s: event wd %d mask %#x len %u, not wd %d mask %#x", what, ev.wd, ev.mask, ev.len,
		     wd, mask);
}

/* Nothing more is queued on @in. */
static void expect_empty(int in, const char *what)
{
	int queued = -1;

	if (ioctl(in, FIONREAD, &queued) || queued)
		FAIL("%s: %d bytes more queued", what, queued);
}

/* Create DIR/w/@name and watch it; its wd. */
static int watch_new(int in, const char *name)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return inotify_add_watch(in, path, MASK);
}

/* Append to DIR/w/@name. */
static void append(const char *name)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, "x", 1) != 1)
		FAIL("append to %s: %d", name, errno);
	if (fd >= 0)
		close(fd);
}

/* Wait until @path exists. */
static void wait_for(const char *path)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	while (access(path, F_OK) != 0)
		nanosleep(&tick, NULL);
}

int main(int argc, char **argv)
{
	char path[4200], what[64];
	unsigned long rounds = 0;
	int in, wa, wb, wc;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: inotify_gone --out DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/w", argv[2]);
	snprintf(status_path, sizeof(status_path), "%s/status", argv[2]);
	snprintf(tmp_path, sizeof(tmp_path), "%s/status.tmp", argv[2]);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return 1;
	in = inotify_init1(IN_CLOEXEC);
	if (in < 0)
		return 1;
	wa = watch_new(in, "a");
	wb = watch_new(in, "b");
	wc = watch_new(in, "c");
	if (wa != 1 || wb != 2 || wc != 3)
		FAIL("watches got wds %d %d %d", wa, wb, wc);
	snprintf(path, sizeof(path), "%s/b", dir);
	if (unlink(path))
		FAIL("unlink b: %d", errno);
	write_status("queued");
	snprintf(path, sizeof(path), "%s/drain", argv[2]);
	wait_for(path);
	expect(in, wb, IN_ATTRIB, "b unlinked");
	expect(in, wb, IN_DELETE_SELF, "b gone");
	expect(in, wb, IN_IGNORED, "b's watch dropped");
	expect_empty(in, "after b");
	for (;;) {
		snprintf(what, sizeof(what), "rounds=%lu idle", rounds);
		write_status(what);
		/* idle, every event read: the test dumps and restores here */
		snprintf(path, sizeof(path), "%s/go-%lu", dir, rounds);
		wait_for(path);
		append("a");
		expect(in, wa, IN_MODIFY, "write a");
		append("c");
		expect(in, wc, IN_MODIFY, "write c");
		if (inotify_rm_watch(in, wb) == 0 || errno != EINVAL)
			FAIL("round %lu: b's wd %d is there again", rounds, wb);
		expect_empty(in, "round");
		rounds++;
	}
}
