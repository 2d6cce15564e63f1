// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * File locks: POSIX record locks (fcntl F_SETLK), OFD locks (F_OFD_SETLK)
 * and flock(2) locks held by the container.
 *
 * Dump, once every task's fds are recorded and the tasks are still stopped:
 * /proc/locks lists every lock of the system with its inode; for each fd of
 * the container on a locked inode, /proc/PID/fdinfo/FD shows the locks
 * taken through that open file description whose owner is this process (a
 * POSIX lock) or the description itself (OFD, flock).  Each becomes one
 * struct ct_lock.  Every lock of /proc/locks on a file the container has
 * open that is not one of these belongs to a process outside the container:
 * the dump refuses, naming it, since the restore could not take the
 * container's locks back in the same order of events (and the outside
 * process would write a file the restored process believes it holds).
 *
 * Restore, once every task has its fds and before any task runs: each lock
 * is taken again without waiting, by a system call injected into the task
 * named by the record, on its fd: a POSIX lock by its owner (its owner is
 * the process, so it must be that process), an OFD or flock lock by a task
 * holding the description (the owner is the description, shared by all).
 * Taken after restore_task_files, because closing any fd on an inode drops
 * the POSIX locks the process holds on it, and the transport fds are closed
 * there.  A task that was waiting for a lock at the dump sits in its fcntl
 * or flock call: its registers restart the call, so it waits again.
 */
#define LOG_PREFIX "locks: "
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"
#include "task/task.h"

#ifndef F_OFD_SETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#endif

/* One line of /proc/locks or one "lock:" line of fdinfo. */
struct lock_line {
	uint32_t kind;			/* CT_LOCK_*, 0 for leases and the rest */
	uint32_t type;			/* CT_LOCK_READ / _WRITE, 0 otherwise */
	pid_t pid;			/* as /proc shows it: -1 for OFD locks, 0 if gone */
	unsigned int major, minor;
	uint64_t ino;
	uint64_t start, end;		/* end CT_LOCK_EOF */
	bool waiter;			/* "->": blocked, waiting for the lock */
	bool ours;			/* matched to a lock of the container */
	char class[16];			/* POSIX, OFDLCK, FLOCK, LEASE, ... */
};

/* The kind of lock a /proc class name stands for, 0 if not one we restore. */
static uint32_t lock_kind_of(const char *class)
{
	if (!strcmp(class, "POSIX"))
		return CT_LOCK_POSIX;
	if (!strcmp(class, "OFDLCK"))
		return CT_LOCK_OFD;
	if (!strcmp(class, "FLOCK"))
		return CT_LOCK_FLOCK;
	return 0;
}

/*
 * Parse "ID: [-> ]CLASS MODE TYPE PID MAJ:MIN:INO START END|EOF", the
 * format of fs/locks.c lock_get_status(); -EINVAL if it is not that.
 */
static int lock_parse(const char *s, struct lock_line *ll)
{
	char mode[16], type[16], end[32];
	unsigned long long start, ino;
	int n = 0;

	memset(ll, 0, sizeof(*ll));
	s = strchr(s, ':');
	if (!s)
		return -EINVAL;
	s++;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!strncmp(s, "->", 2)) {
		ll->waiter = true;
		s += 2;
	}
	if (sscanf(s, "%15s %15s %15s %d %x:%x:%llu %llu %31s%n", ll->class, mode, type, &ll->pid,
		   &ll->major, &ll->minor, &ino, &start, end, &n) < 9)
		return -EINVAL;
	ll->kind = lock_kind_of(ll->class);
	ll->type = !strcmp(type, "READ") ? CT_LOCK_READ : !strcmp(type, "WRITE") ? CT_LOCK_WRITE : 0;
	ll->ino = ino;
	ll->start = start;
	ll->end = !strcmp(end, "EOF") ? CT_LOCK_EOF : strtoull(end, NULL, 10);
	return 0;
}

/*
 * Room left in the first read of /proc/locks that proves it ended the
 * listing: a line is under 100 bytes (a waiter's a little longer per level
 * of the waiters' tree).
 */
#define LOCKS_LINE_ROOM 1024

/*
 * The text of /proc/locks into *@text (NUL-terminated).  Each read() of it
 * lists under the kernel's lock from where the last one stopped, counted in
 * lines: a lock taken anywhere on the system between two reads shifts the
 * list, and the next read repeats a line (seen here: the container's own
 * lock twice, the copy then taken for a lock held outside), one released
 * skips one.  A first read that leaves room in its page ended the listing:
 * it is the whole table as of one moment, and is all we read.  A larger
 * table takes several reads; *@whole is then false.
 */
static int locks_read_text(char **text, bool *whole)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), cap = 4 * page, n = 0;
	char *buf = xmalloc(cap);
	ssize_t got;
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = open("/proc/locks", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	*whole = true;
	for (;;) {
		if (cap - n < page + 1 && xgrow(&buf, &cap, cap * 2, 1)) {
			close(fd);
			free(buf);
			return -ENOMEM;
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
		if (n == (size_t)got && n + LOCKS_LINE_ROOM <= page)
			break;		/* the first read listed it all */
		*whole = false;
	}
	if (got < 0) {
		int err = -errno;

		close(fd);
		free(buf);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	return 0;
}

/* Every lock of the system from /proc/locks; *@whole as locks_read_text() says. */
static int locks_read_all(struct lock_line **lines, size_t *nr, bool *whole)
{
	char *buf = NULL, *line, *save = NULL;
	size_t cap = 0, n = 0;
	struct lock_line *arr = NULL;
	int ret;

	/* no message here: lock_table_start() runs this on a thread of its own */
	ret = locks_read_text(&buf, whole);
	if (ret)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct lock_line ll;

		if (lock_parse(line, &ll))
			continue;
		if (xgrow(&arr, &cap, n + 1, sizeof(*arr))) {
			ret = -ENOMEM;
			break;
		}
		arr[n++] = ll;
	}
	free(buf);
	if (ret) {
		free(arr);
		return ret;
	}
	*lines = arr;
	*nr = n;
	return 0;
}

/* Is @ll on the inode of @f? */
static bool lock_on_file(const struct lock_line *ll, const struct ct_file *f)
{
	return ll->ino == f->id.ino && ll->major == major(f->id.dev) && ll->minor == minor(f->id.dev);
}

/* Does any line of @lines lie on the inode of @f? */
static bool locks_touch_file(const struct lock_line *lines, size_t nr, const struct ct_file *f)
{
	for (size_t i = 0; i < nr; i++)
		if (lock_on_file(&lines[i], f))
			return true;
	return false;
}

/* "POSIX write lock (bytes 0-EOF)" into @buf. */
static const char *lock_describe(uint32_t kind, uint32_t type, uint64_t start, uint64_t end,
				 char *buf, size_t size)
{
	static const char *const kinds[] = { "", "POSIX", "OFD", "flock" };
	const char *ty = type == CT_LOCK_READ ? "read" : type == CT_LOCK_WRITE ? "write" : "other";
	char last[24];

	if (end == CT_LOCK_EOF)
		snprintf(last, sizeof(last), "EOF");
	else
		snprintf(last, sizeof(last), "%llu", (unsigned long long)end);
	if (kind == CT_LOCK_FLOCK || kind > CT_LOCK_KIND_MAX)
		snprintf(buf, size, "%s %s lock", kind ? kinds[kind] : "lease or other", ty);
	else
		snprintf(buf, size, "%s %s lock (bytes %llu-%s)", kinds[kind], ty,
			 (unsigned long long)start, last);
	return buf;
}

/* The article before lock_describe()'s words. */
static const char *lock_article(uint32_t kind)
{
	return kind == CT_LOCK_OFD ? "an" : "a";
}

/* "pid 123 (comm)" of a host process, or what the kernel says of an unknown owner. */
static const char *lock_owner_name(pid_t pid, char *buf, size_t size)
{
	char path[64], *comm = NULL;

	if (pid <= 0) {
		snprintf(buf, size, "%s", pid < 0 ? "an open file description (OFD lock)" :
			 "a process that has exited");
		return buf;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_whole_file(path, &comm, NULL) == 0)
		comm[strcspn(comm, "\n")] = '\0';
	snprintf(buf, size, "pid %d (%s)", pid, comm ? comm : "?");
	free(comm);
	return buf;
}

/* The index of a recorded lock equal to @l (same owner where it matters), -1 if none. */
static int locks_find(const struct ct_image *img, const struct ct_lock *l)
{
	for (uint32_t i = 0; i < img->nr_locks; i++) {
		const struct ct_lock *o = &img->locks[i];

		if (o->kind == l->kind && o->type == l->type && o->start == l->start &&
		    o->end == l->end && o->file == l->file &&
		    (l->kind != CT_LOCK_POSIX || o->pid == l->pid))
			return (int)i;
	}
	return -1;
}

/* Record one fdinfo lock line of fd @d of task @t, once per owner. */
static int lock_record(struct ct_image *img, const struct ct_task *t, const struct ct_fd *d,
		       const struct lock_line *ll)
{
	const struct ct_file *f = &img->files[d->file];
	struct ct_lock l = {
		.kind = ll->kind, .type = ll->type, .start = ll->start, .end = ll->end,
		.pid = t->pid, .fd = d->fd, .file = d->file,
	};
	struct ct_lock *locks;
	char what[96];

	if (!ll->kind || !ll->type || ll->waiter)
		return ct_err(-ENOTSUP, "pid %d (%s): fd %d: %s %s on %s is not supported", t->host_pid,
			      t->comm, d->fd, ll->class, ll->waiter ? "wait" : "lease or lock",
			      f->path ? f->path : "a file");
	if (f->kind != CT_FILE_REG)
		return ct_err(-ENOTSUP, "pid %d (%s): fd %d: %s on a file that is not a regular file "
			      "or directory is not supported", t->host_pid, t->comm, d->fd,
			      lock_describe(l.kind, l.type, l.start, l.end, what, sizeof(what)));
	if (locks_find(img, &l) >= 0)
		return 0;
	locks = xrealloc(img->locks, (img->nr_locks + 1) * sizeof(*locks));
	if (!locks)
		return -ENOMEM;
	img->locks = locks;
	locks[img->nr_locks++] = l;
	pr_debug("pid %d: fd %d: %s on %s", t->pid, d->fd,
		 lock_describe(l.kind, l.type, l.start, l.end, what, sizeof(what)), f->path);
	return 0;
}

/* Record the locks fdinfo shows for fd @d of task @t. */
static int locks_dump_fd(struct ct_image *img, const struct ct_task *t, const struct ct_fd *d)
{
	char *buf, *p;
	int ret;

	ret = fd_read_fdinfo(t->host_pid, d->fd, &buf);
	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read fdinfo", t->host_pid, d->fd);
	for (p = strstr(buf, "\nlock:"); p && !ret; p = strstr(p + 1, "\nlock:")) {
		struct lock_line ll;

		if (lock_parse(p + 6, &ll) == 0)
			ret = lock_record(img, t, d, &ll);
	}
	free(buf);
	return ret;
}

/* Is host pid @pid one of the container's processes? */
static bool locks_pid_inside(const struct ct_image *img, pid_t pid)
{
	for (uint32_t i = 0; i < img->nr_tasks; i++)
		if (img->tasks[i].host_pid == pid)
			return true;
	return false;
}

/* Mark the /proc/locks line recorded lock @l stands for. */
static void locks_match_line(const struct ct_image *img, const struct ct_lock *l,
			     struct lock_line *lines, size_t nr)
{
	const struct ct_task *t = image_find_task(img, l->pid);

	for (size_t i = 0; i < nr; i++) {
		struct lock_line *ll = &lines[i];

		if (ll->ours || ll->waiter || ll->kind != l->kind || ll->type != l->type ||
		    ll->start != l->start || ll->end != l->end || !lock_on_file(ll, &img->files[l->file]))
			continue;
		if (l->kind == CT_LOCK_POSIX && (!t || ll->pid != t->host_pid))
			continue;
		ll->ours = true;
		return;
	}
}

/*
 * Refuse a lock on a file the container has open that none of its locks
 * accounts for (held outside), or an outside process waiting for one.
 */
static int locks_check_outside(const struct ct_image *img, struct lock_line *lines, size_t nr)
{
	char what[96], who[96];

	for (uint32_t i = 0; i < img->nr_locks; i++)
		locks_match_line(img, &img->locks[i], lines, nr);
	for (size_t i = 0; i < nr; i++) {
		const struct lock_line *ll = &lines[i];

		if (ll->ours || (ll->waiter && (ll->pid <= 0 || locks_pid_inside(img, ll->pid))))
			continue;
		for (uint32_t k = 0; k < img->nr_files; k++) {
			const struct ct_file *f = &img->files[k];

			if (!lock_on_file(ll, f))
				continue;
			lock_owner_name(ll->pid, who, sizeof(who));
			lock_describe(ll->kind, ll->type, ll->start, ll->end, what, sizeof(what));
			if (ll->waiter)
				return ct_err(-EBUSY, "%s: %s outside the container waits for %s %s on "
					      "it: it would take it while the container is "
					      "checkpointed", f->path ? f->path : "a file", who,
					      lock_article(ll->kind), what);
			return ct_err(-EBUSY, "%s: %s outside the container holds %s %s on it",
				      f->path ? f->path : "a file", who, lock_article(ll->kind), what);
		}
	}
	return 0;
}

/*
 * Why lock_table_warm() exists (doc/KERNEL-FACTS.md, "File locks"): a read
 * of /proc/locks waits for an RCU grace period (8-16 ms here) unless
 * another read left less than a grace period ago (0.02-0.04 ms then).  So
 * a thread reads it before the freeze and then every LOCK_WARM_GAP_MS,
 * and the read with the tasks stopped costs microseconds instead of a
 * grace period in the frozen window.  Meanwhile the system's lock calls
 * take a slower path, for the length of a dump.  Nothing depends on it: a
 * missed gap only costs the grace period again.
 */
#define LOCK_WARM_GAP_MS 2

/* CLOCK_REALTIME @ms from now, for pthread_cond_timedwait(). */
static struct timespec lock_warm_deadline(unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return until;
}

/* After a read: say so, and true once lock_table_warm()'s thread is to stop. */
static bool lock_warm_stopping(struct lock_table *lt)
{
	struct timespec until = lock_warm_deadline(LOCK_WARM_GAP_MS);
	bool stop;

	pthread_mutex_lock(&lt->warm_lock);
	if (!lt->warm) {
		lt->warm = true;
		pthread_cond_broadcast(&lt->warm_cond);
	}
	while (!lt->warm_stop &&
	       pthread_cond_timedwait(&lt->warm_cond, &lt->warm_lock, &until) != ETIMEDOUT)
		;
	stop = lt->warm_stop;
	pthread_mutex_unlock(&lt->warm_lock);
	return stop;
}

/* The thread of lock_table_warm(): a short read, a pause, until told to stop. */
static void *lock_table_keep_warm(void *arg)
{
	struct lock_table *lt = arg;
	char line[128];

	do {
		int fd = open("/proc/locks", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			break;
		if (read(fd, line, sizeof(line)) < 0 && errno != EINTR) {
			close(fd);
			break;
		}
		close(fd);
	} while (!lock_warm_stopping(lt));
	/* a failed read ends it too: nobody waits for it then */
	pthread_mutex_lock(&lt->warm_lock);
	lt->warm_stop = true;
	pthread_cond_broadcast(&lt->warm_cond);
	pthread_mutex_unlock(&lt->warm_lock);
	return NULL;
}

void lock_table_warm(struct lock_table *lt)
{
	pthread_mutex_init(&lt->warm_lock, NULL);
	pthread_cond_init(&lt->warm_cond, NULL);
	lt->warming = pthread_create(&lt->warm_thread, NULL, lock_table_keep_warm, lt) == 0;
	if (!lt->warming) {
		pthread_cond_destroy(&lt->warm_cond);
		pthread_mutex_destroy(&lt->warm_lock);
	}
}

void lock_table_warm_wait(struct lock_table *lt, unsigned ms)
{
	struct timespec until = lock_warm_deadline(ms);

	if (!lt->warming)
		return;
	pthread_mutex_lock(&lt->warm_lock);
	while (!lt->warm && !lt->warm_stop &&
	       pthread_cond_timedwait(&lt->warm_cond, &lt->warm_lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&lt->warm_lock);
}

/* Stop the thread of lock_table_warm(), if it runs; it may be joined after. */
static void lock_table_cool(struct lock_table *lt)
{
	if (!lt->warming)
		return;
	pthread_mutex_lock(&lt->warm_lock);
	lt->warm_stop = true;
	pthread_cond_broadcast(&lt->warm_cond);
	pthread_mutex_unlock(&lt->warm_lock);
}

/* The thread of lock_table_start(). */
static void *lock_table_read(void *arg)
{
	struct lock_table *lt = arg;

	lt->err = locks_read_all(&lt->lines, &lt->nr, &lt->whole);
	lock_table_cool(lt);
	return NULL;
}

void lock_table_start(struct lock_table *lt)
{
	if (pthread_create(&lt->thread, NULL, lock_table_read, lt) == 0)
		lt->reading = true;
	else
		lock_table_read(lt);
}

/* Wait for the thread reading @lt, if one is. */
static void lock_table_wait(struct lock_table *lt)
{
	if (lt->reading)
		pthread_join(lt->thread, NULL);
	lt->reading = false;
}

void lock_table_free(struct lock_table *lt)
{
	lock_table_wait(lt);
	if (lt->warming) {
		lock_table_cool(lt);
		pthread_join(lt->warm_thread, NULL);
		pthread_cond_destroy(&lt->warm_cond);
		pthread_mutex_destroy(&lt->warm_lock);
		lt->warming = false;
	}
	free(lt->lines);
	lt->lines = NULL;
	lt->nr = 0;
}

/* Record every lock the container holds; refuse locks of outside processes on its files. */
int dump_locks(struct ct_image *img, struct lock_table *lt)
{
	struct lock_line *lines;
	size_t nr;
	int ret = 0;

	lock_table_wait(lt);
	if (lt->err)
		return ct_err(lt->err, "cannot read /proc/locks: %s", strerror(-lt->err));
	lines = lt->lines;
	nr = lt->nr;
	if (!nr)
		return 0;
	for (uint32_t k = 0; k < img->nr_tasks && !ret; k++) {
		const struct ct_task *t = &img->tasks[k];

		/* a table read in pieces may have skipped a lock of ours: look at every fd */
		for (uint32_t j = 0; j < t->nr_fds && !ret; j++)
			if (!lt->whole || locks_touch_file(lines, nr, &img->files[t->fds[j].file]))
				ret = locks_dump_fd(img, t, &t->fds[j]);
	}
	if (!ret)
		ret = locks_check_outside(img, lines, nr);
	if (!ret && img->nr_locks)
		pr_info("%u file locks", img->nr_locks);
	return ret;
}

/* ---- restore ---- */

/* Name who holds a lock on the inode of fd @fd of @host_pid that conflicts with @l. */
static const char *lock_conflict_name(pid_t host_pid, int fd, const struct ct_lock *l, char *buf,
				      size_t size)
{
	struct lock_line *lines = NULL;
	struct ct_file f = { 0 };
	bool whole;
	char path[64];
	struct stat st;
	size_t nr = 0;

	snprintf(buf, size, "another process");
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", host_pid, fd);
	if (stat(path, &st) || locks_read_all(&lines, &nr, &whole)) {
		ct_err_clear();
		return buf;
	}
	f.id.dev = st.st_dev;
	f.id.ino = st.st_ino;
	for (size_t i = 0; i < nr; i++) {
		const struct lock_line *ll = &lines[i];

		if (ll->waiter || !lock_on_file(ll, &f) || (ll->kind == CT_LOCK_FLOCK) != (l->kind == CT_LOCK_FLOCK) ||
		    (ll->type != CT_LOCK_WRITE && l->type != CT_LOCK_WRITE) ||
		    ll->end < l->start || ll->start > l->end || ll->pid == host_pid)
			continue;
		lock_owner_name(ll->pid, buf, size);
		break;
	}
	free(lines);
	return buf;
}

/* Take lock @l again in the task of @tc, without waiting. */
static int lock_take(struct task_ctx *tc, const struct ct_image *img, const struct ct_lock *l)
{
	struct flock fl = {
		.l_type = l->type == CT_LOCK_WRITE ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)l->start,
		.l_len = l->end == CT_LOCK_EOF ? 0 : (off_t)(l->end - l->start + 1),
	};
	char what[96], who[96];
	long ret;

	if (l->kind == CT_LOCK_FLOCK) {
		ret = inj_syscall(tc->inj, __NR_flock, l->fd,
				  (l->type == CT_LOCK_WRITE ? LOCK_EX : LOCK_SH) | LOCK_NB, 0, 0, 0, 0);
	} else {
		ret = inj_write_mem(tc->inj->tid, tc->scratch, &fl, sizeof(fl));
		if (ret)
			return ct_err((int)ret, "pid %d: cannot write scratch memory", l->pid);
		ret = inj_syscall(tc->inj, __NR_fcntl, l->fd,
				  l->kind == CT_LOCK_OFD ? F_OFD_SETLK : F_SETLK, tc->scratch, 0, 0, 0);
	}
	if (!ret)
		return 0;
	lock_describe(l->kind, l->type, l->start, l->end, what, sizeof(what));
	if (ret == -EAGAIN || ret == -EWOULDBLOCK || ret == -EACCES)
		return ct_err(-EBUSY, "pid %d: cannot take its %s on %s again: %s holds a conflicting lock",
			      l->pid, what, img->files[l->file].path,
			      lock_conflict_name(tc->host_pid, l->fd, l, who, sizeof(who)));
	return ct_err((int)ret, "pid %d: cannot take its %s on %s again: %s", l->pid, what,
		      img->files[l->file].path, strerror((int)-ret));
}

/* Take again every lock task @t takes (its fds are in place). */
int restore_task_locks(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t)
{
	int ret = 0;

	for (uint32_t i = 0; i < img->nr_locks && !ret; i++)
		if (img->locks[i].pid == t->pid)
			ret = lock_take(tc, img, &img->locks[i]);
	return ret;
}
