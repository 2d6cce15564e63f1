// SPDX-License-Identifier: MIT
/*
 * Freeze and thaw.  The control files are used directly rather than through
 * libcgroup: waiting needs poll() on an open cgroup.events, and the write
 * must not cost libcgroup's group lookup inside a dump's frozen window.
 */
#define LOG_PREFIX "freezer: "
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "freezer/cgroup.h"
#include "freezer/freezer.h"
#include "lib/log.h"
#include "lib/util.h"

#define FREEZER_MAX_NAMED 8	/* tasks named in a timeout message */

/* Build @cg's control file @file into @buf. */
static void freezer_file(const struct ct_cgroup *cg, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", cg_path(cg), file);
}

/* Parse "frozen N" out of the text of cgroup.events. */
static bool freezer_events_frozen(const char *text)
{
	const char *p = strstr(text, "frozen ");

	return p && (p == text || p[-1] == '\n') && p[7] == '1';
}

/* Read an open cgroup.events from the start; *@frozen from its "frozen" key. */
static int freezer_read_events(int fd, bool *frozen)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*frozen = freezer_events_frozen(buf);
	return 0;
}

/* Whether the kernel reports the group frozen. */
int freezer_state(struct ct_cgroup *cg, bool *frozen)
{
	char path[4200], buf[64];
	int ret, fd;

	if (cg_is_v1(cg)) {
		freezer_file(cg, "freezer.state", path, sizeof(path));
		ret = read_small_file(path, buf, sizeof(buf));
		if (ret)
			return ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
		*frozen = !strcmp(buf, "FROZEN");
		return 0;
	}
	freezer_file(cg, "cgroup.events", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ct_err(-errno, "%s: cannot open: %m", path);
	ret = freezer_read_events(fd, frozen);
	close(fd);
	if (ret)
		return ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
	return 0;
}

/* Ask the kernel for frozen (@freeze) or thawed. */
static int freezer_write(struct ct_cgroup *cg, bool freeze)
{
	char path[4200];
	int ret;

	if (cg_is_v1(cg)) {
		freezer_file(cg, "freezer.state", path, sizeof(path));
		ret = write_small_file(path, freeze ? "FROZEN" : "THAWED");
	} else {
		freezer_file(cg, "cgroup.freeze", path, sizeof(path));
		ret = write_small_file(path, freeze ? "1" : "0");
	}
	if (ret)
		return ct_err(ret, "%s: cannot write: %s", path, strerror(-ret));
	return 0;
}

/*
 * Wait for v2 "frozen 1" in cgroup.events: woken by POLLPRI, and reread
 * after a short wait that grows from 50 us to 1 ms.  The kernel notifies
 * a cgroup file at most once per 10 ms and defers a later change to a
 * timer, so a group frozen or thawed shortly before wakes poll() 8-16 ms
 * after it froze (KERNEL-FACTS.md, "Freezing"); the reread finds it in
 * about 0.2 ms.
 */
static int freezer_wait_v2(struct ct_cgroup *cg, double deadline)
{
	struct timespec wait = { 0, 50 * 1000 };
	char path[4200];
	bool frozen;
	int fd, ret;

	freezer_file(cg, "cgroup.events", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ct_err(-errno, "%s: cannot open: %m", path);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		double left;

		ret = freezer_read_events(fd, &frozen);
		if (ret) {
			ret = ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
			break;
		}
		if (frozen)
			break;
		left = deadline - now_ms();
		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (ppoll(&pfd, 1, &wait, NULL) < 0 && errno != EINTR) {
			ret = ct_err(-errno, "%s: poll: %m", path);
			break;
		}
		wait.tv_nsec = wait.tv_nsec * 2 > 1000 * 1000 ? 1000 * 1000 : wait.tv_nsec * 2;
	}
	close(fd);
	return ret;
}

/*
 * Wait for v1 freezer.state FROZEN; the v1 file cannot be polled.  The v1
 * freezer visits each task once per write: a task that enters a freezable
 * sleep just after its visit (a vfork parent starting to wait, seen with
 * dash) stays unfrozen and the group stays FREEZING.  Writing FROZEN again
 * visits every task again, so repeat it now and then.
 */
static int freezer_wait_v1(struct ct_cgroup *cg, double deadline)
{
	double rewrite = now_ms() + 20;
	unsigned int delay_us = 200;
	bool frozen;
	int ret;

	for (;;) {
		ret = freezer_state(cg, &frozen);
		if (ret || frozen)
			return ret;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		if (now_ms() > rewrite) {
			ret = freezer_write(cg, true);
			if (ret)
				return ret;
			rewrite = now_ms() + 50;
		}
		usleep(delay_us);
		if (delay_us < 10000)
			delay_us *= 2;
	}
}

/* True if thread @tid looks frozen: in the freezer's sleep, stopped, or dead. */
static bool freezer_task_frozen(const struct ct_cgroup *cg, pid_t tid, char *why, size_t size)
{
	char path[64], stat[512], wchan[64] = "?", comm[32] = "?";
	char *lp, *rp, state = '?';

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	if (read_small_file(path, stat, sizeof(stat)))
		return true;	/* gone */
	lp = strchr(stat, '(');
	rp = strrchr(stat, ')');
	if (lp && rp && rp > lp) {
		snprintf(comm, sizeof(comm), "%.*s", (int)(rp - lp - 1), lp + 1);
		state = rp[1] == ' ' ? rp[2] : '?';
	}
	snprintf(path, sizeof(path), "/proc/%d/wchan", tid);
	read_small_file(path, wchan, sizeof(wchan));
	snprintf(why, size, "%d (%s, state %c in %s)", tid, comm, state, wchan);
	if (strchr("TtZX", state))
		return true;
	/* v1 marks a frozen sleeper TASK_FROZEN in place: state D, any wchan */
	if (cg_is_v1(cg))
		return state == 'D';
	/* v2 freezer: the trap is do_freezer_trap, inlined into get_signal */
	return !strcmp(wchan, "do_freezer_trap") || !strcmp(wchan, "get_signal");
}

/* Record a timeout naming the threads that did not freeze. */
static int freezer_report_timeout(struct ct_cgroup *cg, int timeout_ms)
{
	char msg[1024], why[160];
	size_t len = 0, named = 0, nr;
	pid_t *tids;

	msg[0] = '\0';
	if (cg_threads(cg, &tids, &nr) == 0) {
		for (size_t i = 0; i < nr; i++) {
			if (freezer_task_frozen(cg, tids[i], why, sizeof(why)))
				continue;
			if (named++ < FREEZER_MAX_NAMED && len < sizeof(msg))
				len += snprintf(msg + len, sizeof(msg) - len, "%s%s",
						named > 1 ? ", " : "", why);
		}
		free(tids);
	}
	if (!named)
		snprintf(msg, sizeof(msg), "(no task found stuck; the kernel did not report frozen)");
	else if (named > FREEZER_MAX_NAMED && len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - len, " and %zu more", named - FREEZER_MAX_NAMED);
	return ct_err(-ETIMEDOUT, "%s: freeze timed out after %.1f s, not frozen: %s", cg_name(cg),
		      timeout_ms / 1000.0, msg);
}

/* Freeze and wait until frozen; thaw back on timeout. */
int freezer_freeze(struct ct_cgroup *cg, int timeout_ms)
{
	double deadline = now_ms() + timeout_ms;
	int ret;

	ret = freezer_write(cg, true);
	if (ret)
		return ret;
	if (cg_is_v1(cg))
		ret = freezer_wait_v1(cg, deadline);
	else
		ret = freezer_wait_v2(cg, deadline);
	if (ret == -ETIMEDOUT) {
		/* name the stuck tasks before thawing makes them all look alike */
		ret = freezer_report_timeout(cg, timeout_ms);
		freezer_thaw(cg);
		return ret;
	}
	if (ret)
		freezer_thaw(cg);
	return ret;
}

/* Thaw the group. */
int freezer_thaw(struct ct_cgroup *cg)
{
	return freezer_write(cg, false);
}
