// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * eventfd, signalfd and timerfd: small anonymous-inode files whose whole
 * state /proc/PID/fdinfo shows (counter, mask, clock and timer values).
 *
 * A timer is restored with the time it had left at the dump, as if the
 * container had been paused for as long as it was checkpointed, and with
 * its unread expirations (TFD_IOC_SET_TICKS).
 */
#define LOG_PREFIX "anonfd: "
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

/* The value after "@key" in an fdinfo text, in @base; false if absent. */
static bool info_u64(const char *buf, const char *key, int base, uint64_t *v)
{
	const char *p = strstr(buf, key);

	if (!p)
		return false;
	*v = strtoull(p + strlen(key), NULL, base);
	return true;
}

/* Read the fdinfo of the dumped fd; -errno with the message. */
static int anon_fdinfo(const struct fd_dump *d, char **buf)
{
	int ret = fd_read_fdinfo(d->pid, d->fd, buf);

	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read fdinfo", d->pid, d->fd);
	return 0;
}

/* Is the fd an anonymous inode of this name ("[eventfd]")? */
static bool anon_is(const struct fd_dump *d, const char *name)
{
	return !strncmp(d->link, "anon_inode:", 11) && !strcmp(d->link + 11, name);
}

/* ---- eventfd ---- */

static bool eventfd_match(const struct fd_dump *d)
{
	return anon_is(d, "[eventfd]");
}

/* Counter and semaphore mode of an eventfd. */
static int eventfd_dump(const struct fd_dump *d, struct ct_file *f)
{
	uint64_t v = 0;
	char *buf;
	int ret = anon_fdinfo(d, &buf);

	if (ret)
		return ret;
	if (!info_u64(buf, "eventfd-count:", 16, &f->count))
		ret = ct_err(-EINVAL, "pid %d: fd %d: no eventfd-count in fdinfo", d->pid, d->fd);
	if (info_u64(buf, "eventfd-semaphore:", 10, &v) && v)
		f->efd_flags |= EFD_SEMAPHORE;
	free(buf);
	return ret;
}

/* A new eventfd holding the dumped counter. */
static int eventfd_new(const struct ct_file *f)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (f->efd_flags & EFD_SEMAPHORE));

	if (fd < 0)
		return ct_err(-errno, "eventfd: cannot create: %m");
	if (f->count && write(fd, &f->count, sizeof(f->count)) != sizeof(f->count)) {
		int err = -errno;

		close(fd);
		return ct_err(err, "eventfd: cannot set the counter to %" PRIu64 ": %s", f->count,
			      strerror(-err));
	}
	return fd;
}

static void eventfd_encode(struct wbuf *w, const struct ct_file *f)
{
	size_t at = w_begin(w, REC_FILE_EVENTFD);

	w_u64(w, f->count);
	w_u32(w, f->efd_flags);
	w_end(w, at);
}

static void eventfd_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag != REC_FILE_EVENTFD)
		return;
	f->count = r_u64(r);
	f->efd_flags = r_u32(r);
}

static int eventfd_open(struct fd_restore *rs, uint32_t i)
{
	return fd_restore_place(rs, i, eventfd_new(&rs->img->files[i]));
}

const struct fd_kind fd_kind_eventfd = {
	.kind = CT_FILE_EVENTFD,
	.fmt = {
		.name = "eventfd",
		.encode = eventfd_encode,
		.decode = eventfd_decode,
	},
	.match = eventfd_match,
	.dump = eventfd_dump,
	.open = eventfd_open,
};

/* ---- signalfd ---- */

static bool signalfd_match(const struct fd_dump *d)
{
	return anon_is(d, "[signalfd]");
}

/* The signal mask of a signalfd. */
static int signalfd_dump(const struct fd_dump *d, struct ct_file *f)
{
	char *buf;
	int ret = anon_fdinfo(d, &buf);

	if (ret)
		return ret;
	/* printed most significant nibble first: reads back as bit (sig - 1) */
	if (!info_u64(buf, "sigmask:", 16, &f->sigmask))
		ret = ct_err(-EINVAL, "pid %d: fd %d: no sigmask in fdinfo", d->pid, d->fd);
	free(buf);
	return ret;
}

/* A new signalfd with the dumped mask. */
static int signalfd_new(const struct ct_file *f)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (int sig = 1; sig <= 64; sig++)
		if (f->sigmask & (1ULL << (sig - 1)))
			sigaddset(&set, sig);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		return ct_err(-errno, "signalfd: cannot create with mask %" PRIx64 ": %m", f->sigmask);
	return fd;
}

static void signalfd_encode(struct wbuf *w, const struct ct_file *f)
{
	size_t at = w_begin(w, REC_FILE_SIGNALFD);

	w_u64(w, f->sigmask);
	w_end(w, at);
}

static void signalfd_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag == REC_FILE_SIGNALFD)
		f->sigmask = r_u64(r);
}

static int signalfd_open(struct fd_restore *rs, uint32_t i)
{
	return fd_restore_place(rs, i, signalfd_new(&rs->img->files[i]));
}

const struct fd_kind fd_kind_signalfd = {
	.kind = CT_FILE_SIGNALFD,
	.fmt = {
		.name = "signalfd",
		.encode = signalfd_encode,
		.decode = signalfd_decode,
	},
	.match = signalfd_match,
	.dump = signalfd_dump,
	.open = signalfd_open,
};

/* ---- timerfd ---- */

static bool timerfd_match(const struct fd_dump *d)
{
	return anon_is(d, "[timerfd]");
}

/* "(sec, nsec)" after @key as nanoseconds. */
static bool info_timespec(const char *buf, const char *key, int64_t *ns)
{
	const char *p = strstr(buf, key);
	long long sec, nsec;

	if (!p || sscanf(p + strlen(key), " (%lld, %lld)", &sec, &nsec) != 2)
		return false;
	*ns = sec * 1000000000LL + nsec;
	return true;
}

/* Clock, remaining time, interval and unread expirations of a timerfd. */
static int timerfd_dump(const struct fd_dump *d, struct ct_file *f)
{
	uint64_t clock = 0;
	char *buf;
	int ret = anon_fdinfo(d, &buf);

	if (ret)
		return ret;
	if (!info_u64(buf, "clockid:", 10, &clock) || !info_u64(buf, "ticks:", 10, &f->count) ||
	    !info_timespec(buf, "it_value:", &f->value_nsec) ||
	    !info_timespec(buf, "it_interval:", &f->interval_nsec))
		ret = ct_err(-EINVAL, "pid %d: fd %d: cannot parse the timerfd's fdinfo", d->pid, d->fd);
	f->clock = (int32_t)clock;
	free(buf);
	return ret;
}

/* Nanoseconds as a timespec. */
static struct timespec ns_to_ts(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };

	return ts;
}

/* A new timerfd armed with the time it had left and its expirations not yet read. */
static int timerfd_new(const struct ct_file *f)
{
	struct itimerspec its = { ns_to_ts(f->interval_nsec), ns_to_ts(f->value_nsec) };
	uint64_t ticks = f->count;
	int fd, err;

	/*
	 * A periodic timer that had just expired shows 0 left; 0 would disarm
	 * it, so it runs one period from now.
	 */
	if (!f->value_nsec && f->interval_nsec)
		its.it_value = its.it_interval;

	fd = timerfd_create(f->clock, TFD_CLOEXEC);
	if (fd < 0)
		return ct_err(-errno, "timerfd: cannot create on clock %d: %m", f->clock);
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		goto fail;
	if (ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return ct_err(err, "timerfd: cannot arm: %s", strerror(-err));
}

static void timerfd_encode(struct wbuf *w, const struct ct_file *f)
{
	size_t at = w_begin(w, REC_FILE_TIMERFD);

	w_u32(w, (uint32_t)f->clock);
	w_u64(w, (uint64_t)f->value_nsec);
	w_u64(w, (uint64_t)f->interval_nsec);
	w_u64(w, f->count);
	w_end(w, at);
}

static void timerfd_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag != REC_FILE_TIMERFD)
		return;
	f->clock = r_i32(r);
	f->value_nsec = (int64_t)r_u64(r);
	f->interval_nsec = (int64_t)r_u64(r);
	f->count = r_u64(r);
}

static int timerfd_open(struct fd_restore *rs, uint32_t i)
{
	return fd_restore_place(rs, i, timerfd_new(&rs->img->files[i]));
}

const struct fd_kind fd_kind_timerfd = {
	.kind = CT_FILE_TIMERFD,
	.fmt = {
		.name = "timerfd",
		.encode = timerfd_encode,
		.decode = timerfd_decode,
	},
	.match = timerfd_match,
	.dump = timerfd_dump,
	.open = timerfd_open,
};
