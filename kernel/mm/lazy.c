// SPDX-License-Identifier: MIT
/*
 * The lazy swap-in server (see lazy.h for what it promises).
 *
 * Threads and locks: the main thread reads every uffd message and answers
 * faults; the prefetch thread copies the remaining pages in large batches.
 * Each address space has a mutex (lz_mm.lock) protecting its region list and
 * todo bitmaps.  The main thread holds it while it reads messages and while
 * it handles them; the prefetch thread holds it for each small chunk it
 * copies.  Why around the read: a REMOVE (madvise DONTNEED) lets the kernel
 * zap the pages as soon as its event is read, so a prefetch copy whose
 * "still to do" check came before that read would put swap data back into
 * memory that must read zero.  With the lock, no prefetch copy is in flight
 * while an event is read, and the event is applied before the next check.
 * Events still queued (not read) make UFFDIO_COPY fail with EAGAIN.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define LOG_PREFIX "lazy: "

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/ioprio.h>
#include <linux/userfaultfd.h>

#include "freezer/cgroup.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mm/lazy.h"
#include "mm/swaparea.h"
#include "mm/wset.h"
#include "lib/state.h"

#define LZ_FEATURES (UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | \
		     UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP)
#define LZ_RA_MAX	32	/* pages copied for one fault at most (sequential faults) */
#define LZ_PF_BATCH	1024	/* pages read from the source per prefetch batch (4 MiB) */
#define LZ_WSET_GAP	16	/* working-set pages this close are read together */
#define LZ_WSET_HINT	65536	/* working-set pages read ahead at once at most (256 MiB) */
#define LZ_WARM_PAGES	16384	/* working-set pages the restorer reads for the server (64 MiB) */
#define LZ_PF_CHUNK	64	/* pages copied per prefetch ioctl, lock held (256 KiB) */
#define LZ_EAGER_CHUNK	1024	/* pages per ioctl in eager mode (no one else is running) */
#define LZ_MSGS		16	/* uffd messages read at once */
#define LZ_STATE_MS	200	/* progress file period */

/* A registered range of one address space, as the server tracks it. */
struct lz_region {
	uint64_t start, end;	/* current addresses */
	uint64_t dump_start;	/* address of @start at dump: the swap key of its page */
	uint64_t *todo;		/* bit per page: stored, not resident yet */
	size_t nr_todo;		/* bits set in @todo */
};

/* One address space being served. */
struct lz_mm {
	int uffd;
	pid_t pid;		/* for logs; 0 for a forked child (unknown) */
	uint32_t task_key;
	bool dead;		/* its mm is gone (ESRCH): nothing more to do */
	pthread_mutex_t lock;	/* regions, todo bits, dead; held around uffd reads */
	size_t nr, cap;
	struct lz_region *regions;	/* sorted */
	/* main thread only: */
	uint64_t next_seq;	/* the page a sequential fault would hit next */
	unsigned ra;		/* pages copied on the last fault */
	size_t nr_pending, cap_pending;
	uint64_t *pending;	/* faults to retry (their copy met EAGAIN) */
};

/* The whole server (also used, threadless, by eager mode). */
#define LZ_GATE_TIMEOUT_MS 5000	/* prefetch starts anyway after this */
#define LZ_WD_KILL_TIMEOUT_MS 5000	/* the watchdog's wait for the container to be gone */

struct lz_server {
	struct lazy_opts opts;
	struct page_source src;
	struct swp_area *sa;	/* when we opened the swap area (no opts.source) */
	struct swp_gen_reader *rd;
	pthread_mutex_t lock;	/* mms, nr_mms, stop, work_cond */
	pthread_cond_t work_cond;	/* signalled when new work arrives or on stop */
	struct lz_mm **mms;
	size_t nr_mms, cap_mms;
	bool stop;
	uint64_t outstanding;	/* todo pages of live mms (atomic) */
	uint64_t resident;	/* pages we filled (atomic) */
	uint64_t total;		/* resident + outstanding + dropped after start (atomic) */
	int wd_sock;		/* to the watchdog: 'F'+fd, 'D' = done */
	int wake_fd;		/* eventfd: prefetch tells main it ran out of work */
	int gate_fd;		/* read end: EOF = the tasks run, prefetch may start; -1 none */
	void *fault_buf;	/* LZ_RA_MAX pages, main thread */
	uint8_t fault_state[LZ_RA_MAX];
	/* main thread: the working set being recorded (wset.h) */
	struct wset_page *rec;
	size_t nr_rec, cap_rec;
	uint64_t sync_faults;	/* faults that waited for data from the swap area */
	uint64_t wset_faults;	/* of them, on pages of the working set (not prefetched yet) */
	/*
	 * The working set recorded at an earlier restore: the prefetch thread
	 * loads it, then only reads it; the main thread looks in wset_sorted
	 * once wset_loaded is set.
	 */
	struct wset_page *wset;		/* in first-fault order */
	struct wset_page *wset_sorted;	/* by (task, addr) */
	size_t nr_wset;
	bool wset_loaded;
	struct lazy_warm *warm;		/* what the restorer read of it (opts.warm), or NULL */
	/* prefetch thread: */
	uint64_t wset_pages;	/* recorded pages prefetched first; nonzero: not recording */
	double t_start;		/* now_ms() when the server started (the tasks run right after) */
	double wset_ms;		/* the working set's prefetch ended this long after t_start */
};

/* ---------------------------------------------------------------- source */

/* Open the page source: the caller's, or the swap area's generation. */
static int lz_source_open(struct lz_server *srv)
{
	int ret;

	if (srv->opts.source) {
		srv->src = *srv->opts.source;
		return 0;
	}
	if (srv->opts.reader) {	/* the caller's, not ours to close */
		srv->src = swp_page_source(srv->opts.reader);
		return 0;
	}
	if (!srv->opts.swap_path)
		return ct_err(-EINVAL, "lazy restore: no swap area given");
	ret = swp_open(srv->opts.swap_path, NULL, 0, &srv->sa);
	if (ret)
		return ret;
	ret = swp_gen_open(srv->sa, srv->opts.generation, &srv->rd);
	if (ret) {
		swp_close(srv->sa);
		srv->sa = NULL;
		return ret;
	}
	srv->src = swp_page_source(srv->rd);
	return 0;
}

/* The source will be read whole: start reading its index (swp_gen_read_ahead). */
static void lz_source_read_ahead(struct lz_server *srv)
{
	struct swp_gen_reader *rd = srv->opts.reader ? srv->opts.reader : srv->rd;

	if (!srv->opts.source && rd)
		swp_gen_read_ahead(rd);
}

/* Close what lz_source_open opened. */
static void lz_source_close(struct lz_server *srv)
{
	if (srv->rd)
		swp_gen_close(srv->rd);
	if (srv->sa)
		swp_close(srv->sa);
	srv->rd = NULL;
	srv->sa = NULL;
}

/* --------------------------------------------------------------- regions */

/* Is page @i of @r still to be copied? */
static bool lz_todo(const struct lz_region *r, uint64_t i)
{
	return r->todo[i / 64] & (1ULL << (i % 64));
}

/* Mark page @i of @r done. */
static void lz_todo_clear(struct lz_region *r, uint64_t i)
{
	if (lz_todo(r, i)) {
		r->todo[i / 64] &= ~(1ULL << (i % 64));
		r->nr_todo--;
	}
}

/* Mark page @i of @r to be copied. */
static void lz_todo_set(struct lz_region *r, uint64_t i)
{
	if (!lz_todo(r, i)) {
		r->todo[i / 64] |= 1ULL << (i % 64);
		r->nr_todo++;
	}
}

/* Mark pages [@i, @i + @n) of @r to be copied: a word at a time, not a page. */
static void lz_todo_set_range(struct lz_region *r, uint64_t i, uint64_t n)
{
	while (n) {
		unsigned bit = i % 64, k = n < 64 - bit ? n : 64 - bit;
		uint64_t mask = (k == 64 ? ~0ULL : ((1ULL << k) - 1)) << bit;

		r->nr_todo += __builtin_popcountll(mask & ~r->todo[i / 64]);
		r->todo[i / 64] |= mask;
		i += k;
		n -= k;
	}
}

/* Pages in @r. */
static uint64_t lz_pages(const struct lz_region *r)
{
	return (r->end - r->start) / PAGE_SIZE;
}

/* The region of @mm holding @addr, or NULL. */
static struct lz_region *lz_find(struct lz_mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct lz_region *r = &mm->regions[mid];

		if (addr < r->start)
			hi = mid;
		else if (addr >= r->end)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* Fill @out with [a, b) of @r (bits copied); @out->todo is new. */
static int lz_region_sub(const struct lz_region *r, uint64_t a, uint64_t b, struct lz_region *out)
{
	uint64_t first = (a - r->start) / PAGE_SIZE, n = (b - a) / PAGE_SIZE, i;

	out->start = a;
	out->end = b;
	out->dump_start = r->dump_start + (a - r->start);
	out->nr_todo = 0;
	out->todo = xzalloc((n + 63) / 64 * 8 + 8);
	if (!out->todo)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (lz_todo(r, first + i))
			lz_todo_set(out, i);
	return 0;
}

/* Insert @r into @mm's sorted region list (@r must not overlap). */
static int lz_insert(struct lz_mm *mm, const struct lz_region *r)
{
	size_t i;

	if (xgrow(&mm->regions, &mm->cap, mm->nr + 1, sizeof(*r)))
		return -ENOMEM;
	for (i = mm->nr; i > 0 && mm->regions[i - 1].start > r->start; i--)
		mm->regions[i] = mm->regions[i - 1];
	mm->regions[i] = *r;
	mm->nr++;
	return 0;
}

/*
 * Take [start, end) out of @mm's regions.  The pieces removed go to *@out
 * (an array the caller frees, with their bitmaps) when @out is given, else
 * they are dropped.  Pages dropped no longer count as outstanding.
 */
static int lz_cut(struct lz_server *srv, struct lz_mm *mm, uint64_t start, uint64_t end,
		  struct lz_region **out, size_t *nr_out)
{
	struct lz_region *keep = NULL, *cut = NULL, piece;
	size_t nr_keep = 0, cap_keep = 0, nr_cut = 0, cap_cut = 0, i;
	uint64_t dropped = 0;

	for (i = 0; i < mm->nr; i++) {
		struct lz_region *r = &mm->regions[i];
		uint64_t s = max_t(uint64_t, r->start, start), e = min_t(uint64_t, r->end, end);

		if (s >= e) {
			if (xgrow(&keep, &cap_keep, nr_keep + 1, sizeof(*r)))
				goto out_nomem;
			keep[nr_keep++] = *r;
			r->todo = NULL;
			continue;
		}
		if (r->start < s) {
			if (lz_region_sub(r, r->start, s, &piece) ||
			    xgrow(&keep, &cap_keep, nr_keep + 1, sizeof(piece)))
				goto out_nomem;
			keep[nr_keep++] = piece;
		}
		if (lz_region_sub(r, s, e, &piece))
			goto out_nomem;
		if (out) {
			if (xgrow(&cut, &cap_cut, nr_cut + 1, sizeof(piece))) {
				free(piece.todo);
				goto out_nomem;
			}
			cut[nr_cut++] = piece;
		} else {
			dropped += piece.nr_todo;
			free(piece.todo);
		}
		if (e < r->end) {
			if (lz_region_sub(r, e, r->end, &piece) ||
			    xgrow(&keep, &cap_keep, nr_keep + 1, sizeof(piece)))
				goto out_nomem;
			keep[nr_keep++] = piece;
		}
		free(r->todo);
		r->todo = NULL;
	}
	free(mm->regions);
	mm->regions = keep;
	mm->nr = nr_keep;
	mm->cap = cap_keep;
	__atomic_sub_fetch(&srv->outstanding, dropped, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&srv->total, dropped, __ATOMIC_SEQ_CST);
	if (out) {
		*out = cut;
		*nr_out = nr_cut;
	}
	return 0;

out_nomem:
	/* Out of memory in the middle of an event: we cannot keep a correct view. */
	pr_err("out of memory updating the regions of pid %d", mm->pid);
	return -ENOMEM;
}

/* Free every region of @mm. */
static void lz_mm_free(struct lz_mm *mm)
{
	size_t i;

	for (i = 0; i < mm->nr; i++)
		free(mm->regions[i].todo);
	free(mm->regions);
	free(mm->pending);
	pthread_mutex_destroy(&mm->lock);
	free(mm);
}

/* A new, empty address space of @srv served through @uffd. */
static struct lz_mm *lz_mm_new(struct lz_server *srv, int uffd, pid_t pid, uint32_t key)
{
	struct lz_mm *mm = xzalloc(sizeof(*mm));

	if (!mm)
		return NULL;
	mm->uffd = uffd;
	mm->pid = pid;
	mm->task_key = key;
	pthread_mutex_init(&mm->lock, NULL);
	pthread_mutex_lock(&srv->lock);
	if (xgrow(&srv->mms, &srv->cap_mms, srv->nr_mms + 1, sizeof(mm))) {
		pthread_mutex_unlock(&srv->lock);
		lz_mm_free(mm);
		return NULL;
	}
	srv->mms[srv->nr_mms++] = mm;
	pthread_mutex_unlock(&srv->lock);
	return mm;
}

/* swp_for_each_run callback: mark the run's pages of one address space todo. */
static int lz_mark_run(uint32_t task, uint64_t mapping, uint64_t addr, size_t nr, void *arg)
{
	struct lz_mm *mm = arg;
	uint64_t end = addr + nr * PAGE_SIZE, a;

	(void)task;
	(void)mapping;
	/* one region lookup per region the run crosses, not per page */
	for (a = addr; a < end;) {
		struct lz_region *r = lz_find(mm, a);
		uint64_t stop;

		if (!r) {
			a += PAGE_SIZE;
			continue;
		}
		stop = min_t(uint64_t, end, r->end);
		lz_todo_set_range(r, (a - r->start) / PAGE_SIZE, (stop - a) / PAGE_SIZE);
		a = stop;
	}
	return 0;
}

/* Take @m's regions and mark every stored page todo. */
static int lz_mm_load(struct lz_server *srv, struct lz_mm *mm, const struct lazy_mm *m)
{
	uint64_t todo = 0;
	size_t i;
	int ret;

	for (i = 0; i < m->nr_regions; i++) {
		const struct lazy_region *lr = &m->regions[i];
		struct lz_region r = { .start = lr->start, .end = lr->end, .dump_start = lr->start };

		if (lr->start % PAGE_SIZE || lr->end % PAGE_SIZE || lr->end <= lr->start)
			return ct_err(-EINVAL, "pid %d: bad lazy region %#lx-%#lx", m->host_pid,
				      (unsigned long)lr->start, (unsigned long)lr->end);
		r.todo = xzalloc((lz_pages(&r) + 63) / 64 * 8 + 8);
		if (!r.todo)
			return -ENOMEM;
		ret = lz_insert(mm, &r);
		if (ret) {
			free(r.todo);
			return ret;
		}
	}
	ret = srv->src.for_each_run(srv->src.arg, m->task_key, lz_mark_run, mm);
	if (ret)
		return ret;
	for (i = 0; i < mm->nr; i++)
		todo += mm->regions[i].nr_todo;
	__atomic_add_fetch(&srv->outstanding, todo, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&srv->total, todo, __ATOMIC_SEQ_CST);
	return 0;
}

/* ------------------------------------------------------------- copying */

/* Mark @mm dead: its address space is gone, its todo pages are dropped. */
static void lz_mm_dead(struct lz_server *srv, struct lz_mm *mm)
{
	uint64_t dropped = 0;
	size_t i;

	if (mm->dead)
		return;
	for (i = 0; i < mm->nr; i++) {
		dropped += mm->regions[i].nr_todo;
		memset(mm->regions[i].todo, 0, (lz_pages(&mm->regions[i]) + 63) / 64 * 8);
		mm->regions[i].nr_todo = 0;
	}
	__atomic_store_n(&mm->dead, true, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&srv->outstanding, dropped, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&srv->total, dropped, __ATOMIC_SEQ_CST);
	pr_info("pid %d (key %u): address space gone", mm->pid, mm->task_key);
}

/*
 * Copy @n pages from @buf to @addr of @mm, all todo in region @r (lock
 * held).  Pages found already there are marked done.  Returns 0, -EAGAIN
 * (an event is queued: retry after reading it), or another -errno.
 */
static int lz_copy(struct lz_server *srv, struct lz_mm *mm, struct lz_region *r, uint64_t addr,
		   const char *buf, size_t n, bool wake)
{
	size_t done = 0;

	while (done < n) {
		struct uffdio_copy c = {
			.dst = addr + done * PAGE_SIZE,
			.src = (uint64_t)(uintptr_t)(buf + done * PAGE_SIZE),
			.len = (n - done) * PAGE_SIZE,
			.mode = wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE,
		};
		size_t got, i, first = (c.dst - r->start) / PAGE_SIZE;
		int err = 0;

		if (ioctl(mm->uffd, UFFDIO_COPY, &c))
			err = errno;
		got = c.copy > 0 ? (size_t)c.copy / PAGE_SIZE : 0;
		if (!err)
			got = n - done;
		for (i = 0; i < got; i++)
			lz_todo_clear(r, first + i);
		__atomic_sub_fetch(&srv->outstanding, got, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&srv->resident, got, __ATOMIC_SEQ_CST);
		done += got;
		if (!err)
			break;
		if (err == EEXIST) {
			/* someone put the page there: it is resident, skip it */
			lz_todo_clear(r, first + got);
			__atomic_sub_fetch(&srv->outstanding, 1, __ATOMIC_SEQ_CST);
			__atomic_add_fetch(&srv->resident, 1, __ATOMIC_SEQ_CST);
			done++;
			continue;
		}
		if (err == ESRCH) {
			lz_mm_dead(srv, mm);
			return -ESRCH;
		}
		if (err == EAGAIN && got)
			continue;
		return -err;
	}
	return 0;
}

/* Wake whoever waits on the page at @addr. */
static void lz_wake(struct lz_mm *mm, uint64_t addr)
{
	struct uffdio_range w = { .start = addr, .len = PAGE_SIZE };

	ioctl(mm->uffd, UFFDIO_WAKE, &w);
}

/* Answer a fault at a page nothing is stored for (or dropped): a zero page. */
static int lz_zeropage(struct lz_server *srv, struct lz_mm *mm, uint64_t page)
{
	struct uffdio_zeropage z = { .range = { .start = page, .len = PAGE_SIZE } };

	if (!ioctl(mm->uffd, UFFDIO_ZEROPAGE, &z))
		return 0;
	switch (errno) {
	case EEXIST:
		lz_wake(mm, page);
		return 0;
	case ESRCH:
		lz_mm_dead(srv, mm);
		return 0;
	case ENOENT:
		/* unmapped or moved meanwhile: wake the thread, its retry finds out */
		lz_wake(mm, page);
		return 0;
	default:
		return -errno;
	}
}

/* Remember a fault to answer after the queued events are read. */
static void lz_defer(struct lz_mm *mm, uint64_t page)
{
	if (!xgrow(&mm->pending, &mm->cap_pending, mm->nr_pending + 1, sizeof(page)))
		mm->pending[mm->nr_pending++] = page;
}

/*
 * Remember pages a fault fetched, in fault order, for the working-set file
 * (main thread).  Recording stops quietly at WSET_MAX_PAGES or without memory:
 * the file is only a hint.
 */
static void lz_record(struct lz_server *srv, uint32_t task, uint64_t dump_addr, size_t n)
{
	if (!srv->opts.wset_path || srv->nr_rec + n > WSET_MAX_PAGES ||
	    xgrow(&srv->rec, &srv->cap_rec, srv->nr_rec + n, sizeof(*srv->rec)))
		return;
	for (size_t i = 0; i < n; i++)
		srv->rec[srv->nr_rec++] = (struct wset_page){ .task = task,
							      .addr = dump_addr + i * PAGE_SIZE };
}

/*
 * Log why reading @n pages at @addr of @mm from the source failed (a page
 * or an index chunk that fails its check names itself in ct_err_msg);
 * returns @ret.
 */
static int lz_read_failed(const struct lz_mm *mm, size_t n, uint64_t addr, int ret)
{
	pr_err("pid %d: reading %zu pages at %#lx from the swap area failed: %s", mm->pid, n,
	       (unsigned long)addr, ct_err_msg() ?: strerror(-ret));
	return ret;
}

/*
 * Answer a fault at @addr (lock held): the faulting page and, when faults
 * run sequentially, the todo pages after it, in one UFFDIO_COPY.
 */
static int lz_fault(struct lz_server *srv, struct lz_mm *mm, uint64_t addr)
{
	uint64_t page = addr & ~(PAGE_SIZE - 1), first;
	struct lz_region *r = lz_find(mm, page);
	size_t n, max;
	int ret;

	if (mm->dead)
		return 0;
	if (!r || !lz_todo(r, (page - r->start) / PAGE_SIZE)) {
		ret = lz_zeropage(srv, mm, page);
		if (ret == -EAGAIN) {
			lz_defer(mm, page);
			ret = 0;
		}
		return ret;
	}
	/* read ahead only while the faults look sequential */
	mm->ra = page == mm->next_seq ? min_t(unsigned, mm->ra * 2, LZ_RA_MAX) : 1;
	first = (page - r->start) / PAGE_SIZE;
	max = min_t(uint64_t, mm->ra, lz_pages(r) - first);
	for (n = 1; n < max && lz_todo(r, first + n); n++)
		;
	ret = srv->src.read(srv->src.arg, mm->task_key, r->dump_start + (page - r->start), n,
			    srv->fault_buf, srv->fault_state);
	if (ret)
		return lz_read_failed(mm, n, page, ret);
	mm->next_seq = page + n * PAGE_SIZE;
	srv->sync_faults++;
	if (__atomic_load_n(&srv->wset_loaded, __ATOMIC_ACQUIRE) &&
	    wset_has(srv->wset_sorted, srv->nr_wset, mm->task_key, r->dump_start + (page - r->start)))
		srv->wset_faults++;
	lz_record(srv, mm->task_key, r->dump_start + (page - r->start), n);
	ret = lz_copy(srv, mm, r, page, srv->fault_buf, n, true);
	if (ret == -EAGAIN) {
		lz_defer(mm, page);
		ret = 0;
	}
	if (ret == -ENOENT)
		lz_wake(mm, page);
	if (ret == -ENOENT || ret == -ESRCH)
		ret = 0;
	return ret;
}

/* Retry the faults that met EAGAIN (lock held). */
static int lz_retry_pending(struct lz_server *srv, struct lz_mm *mm)
{
	size_t nr = mm->nr_pending, i;
	uint64_t *p = mm->pending;
	int ret = 0;

	if (!nr)
		return 0;
	mm->pending = NULL;
	mm->nr_pending = mm->cap_pending = 0;
	for (i = 0; i < nr && !ret; i++)
		ret = lz_fault(srv, mm, p[i]);
	free(p);
	return ret;
}

/* --------------------------------------------------------------- events */

/* Tell the watchdog about a new uffd so it holds a copy too. */
static void lz_wd_send_fd(struct lz_server *srv, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char tag = 'F';
	struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	if (srv->wd_sock < 0)
		return;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(srv->wd_sock, &mh, MSG_NOSIGNAL) != 1)
		pr_perror("cannot pass uffd %d to the watchdog", fd);
}

/* EVENT_FORK: serve the child's new uffd with a copy of the parent's state. */
static int lz_event_fork(struct lz_server *srv, struct lz_mm *parent, int ufd)
{
	struct lz_mm *child;
	uint64_t todo = 0;
	size_t i;

	fcntl(ufd, F_SETFL, fcntl(ufd, F_GETFL) | O_NONBLOCK);
	lz_wd_send_fd(srv, ufd);
	child = lz_mm_new(srv, ufd, 0, parent->task_key);
	if (!child)
		return -ENOMEM;
	/* Pages resident in the parent were copied into the child at fork. */
	for (i = 0; i < parent->nr; i++) {
		struct lz_region r;
		struct lz_region *p = &parent->regions[i];

		if (lz_region_sub(p, p->start, p->end, &r))
			return -ENOMEM;
		if (lz_insert(child, &r)) {
			free(r.todo);
			return -ENOMEM;
		}
		todo += r.nr_todo;
	}
	child->dead = parent->dead;
	__atomic_add_fetch(&srv->outstanding, todo, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&srv->total, todo, __ATOMIC_SEQ_CST);
	pr_info("pid %d forked: serving the child's uffd %d (%lu pages to do)", parent->pid, ufd,
		(unsigned long)todo);
	pthread_mutex_lock(&srv->lock);
	pthread_cond_broadcast(&srv->work_cond);
	pthread_mutex_unlock(&srv->lock);
	return 0;
}

/* EVENT_REMAP: the pages of [from, from + len) now live at @to. */
static int lz_event_remap(struct lz_server *srv, struct lz_mm *mm, uint64_t from, uint64_t to,
			  uint64_t len)
{
	struct lz_region *moved = NULL;
	size_t nr = 0, i;
	int ret;

	/* whatever was mapped at the destination is gone */
	ret = lz_cut(srv, mm, to, to + len, NULL, NULL);
	if (!ret)
		ret = lz_cut(srv, mm, from, from + len, &moved, &nr);
	for (i = 0; i < nr; i++) {
		moved[i].start = moved[i].start - from + to;
		moved[i].end = moved[i].end - from + to;
		if (!ret)
			ret = lz_insert(mm, &moved[i]);
		if (ret)
			free(moved[i].todo);
	}
	free(moved);
	/* a thread may fault at the old address: it gets zeros, as the kernel would */
	return ret;
}

/* Handle one message read from @mm's uffd (lock held). */
static int lz_handle(struct lz_server *srv, struct lz_mm *mm, const struct uffd_msg *m)
{
	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		return lz_fault(srv, mm, m->arg.pagefault.address);
	case UFFD_EVENT_FORK:
		return lz_event_fork(srv, mm, (int)m->arg.fork.ufd);
	case UFFD_EVENT_REMAP:
		pr_debug("pid %d: remap %#llx -> %#llx (%llu bytes)", mm->pid, m->arg.remap.from,
			 m->arg.remap.to, m->arg.remap.len);
		return lz_event_remap(srv, mm, m->arg.remap.from, m->arg.remap.to,
				      m->arg.remap.len);
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		/* Removed pages read zero from now on, unmapped ones are gone: either
		 * way, never copy swap data there again. */
		pr_debug("pid %d: %s %#llx-%#llx", mm->pid,
			 m->event == UFFD_EVENT_REMOVE ? "remove" : "unmap",
			 m->arg.remove.start, m->arg.remove.end);
		return lz_cut(srv, mm, m->arg.remove.start, m->arg.remove.end, NULL, NULL);
	default:
		pr_warn("pid %d: unexpected uffd event %u", mm->pid, m->event);
		return 0;
	}
}

/* Read and handle every queued message of @mm; 0 or -errno (fatal). */
static int lz_drain(struct lz_server *srv, struct lz_mm *mm)
{
	struct uffd_msg msgs[LZ_MSGS];
	int ret = 0;

	pthread_mutex_lock(&mm->lock);
	for (;;) {
		ssize_t n = read(mm->uffd, msgs, sizeof(msgs));
		ssize_t i;

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				pr_perror("pid %d: reading uffd %d", mm->pid, mm->uffd);
				ret = -errno;
			}
			break;
		}
		n /= (ssize_t)sizeof(msgs[0]);
		/*
		 * Events first: a fault read together with a later REMOVE of its
		 * page must get a zero page, not swap data (the kernel zaps as
		 * soon as the event is read, maybe before our copy).
		 */
		for (i = 0; i < n && !ret; i++)
			if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
				ret = lz_handle(srv, mm, &msgs[i]);
		for (i = 0; i < n && !ret; i++)
			if (msgs[i].event == UFFD_EVENT_PAGEFAULT)
				ret = lz_handle(srv, mm, &msgs[i]);
		if (ret)
			break;
	}
	if (!ret)
		ret = lz_retry_pending(srv, mm);
	pthread_mutex_unlock(&mm->lock);
	return ret;
}

/* ------------------------------------------------------------- prefetch */

/* One batch the prefetcher chose. */
struct lz_batch {
	struct lz_mm *mm;
	uint64_t addr;		/* current address of the first page */
	uint64_t dump;		/* its swap key address */
	size_t n;
};

/* Find the next run of todo pages in @mm, at most @max long (lock held). */
static bool lz_pick_in(struct lz_mm *mm, size_t max, struct lz_batch *b)
{
	size_t i;

	if (mm->dead)
		return false;
	for (i = 0; i < mm->nr; i++) {
		struct lz_region *r = &mm->regions[i];
		uint64_t pages = lz_pages(r), p, w, n;

		if (!r->nr_todo)
			continue;
		for (w = 0; w * 64 < pages && !r->todo[w]; w++)
			;
		for (p = w * 64; p < pages && !lz_todo(r, p); p++)
			;
		if (p >= pages)
			continue;
		for (n = 1; p + n < pages && n < max && lz_todo(r, p + n); n++)
			;
		b->mm = mm;
		b->addr = r->start + p * PAGE_SIZE;
		b->dump = r->dump_start + p * PAGE_SIZE;
		b->n = n;
		return true;
	}
	return false;
}

/* Choose the next batch among all address spaces; false when none is left. */
static bool lz_pick(struct lz_server *srv, size_t max, struct lz_batch *b)
{
	size_t i, nr;

	pthread_mutex_lock(&srv->lock);
	nr = srv->nr_mms;
	pthread_mutex_unlock(&srv->lock);
	for (i = 0; i < nr; i++) {
		struct lz_mm *mm;
		bool found;

		pthread_mutex_lock(&srv->lock);
		mm = srv->mms[i];
		pthread_mutex_unlock(&srv->lock);
		pthread_mutex_lock(&mm->lock);
		found = lz_pick_in(mm, max, b);
		pthread_mutex_unlock(&mm->lock);
		if (found)
			return true;
	}
	return false;
}

/*
 * Copy the pages of @b read into @buf, @chunk pages per ioctl, each chunk
 * under the lock and only where the pages are still todo at the same swap
 * address (the region may have moved or been cut since the pick).
 */
static int lz_fill(struct lz_server *srv, const struct lz_batch *b, const char *buf, size_t chunk)
{
	struct lz_mm *mm = b->mm;
	size_t i = 0;
	int ret = 0;

	while (i < b->n && !ret) {
		size_t end = min_t(size_t, b->n, i + chunk);

		pthread_mutex_lock(&mm->lock);
		while (i < end && !mm->dead) {
			uint64_t a = b->addr + i * PAGE_SIZE, first;
			struct lz_region *r = lz_find(mm, a);
			size_t n;

			first = r ? (a - r->start) / PAGE_SIZE : 0;
			if (!r || r->dump_start + (a - r->start) != b->dump + i * PAGE_SIZE ||
			    !lz_todo(r, first)) {
				i++;
				continue;
			}
			for (n = 1; i + n < end && first + n < lz_pages(r) && lz_todo(r, first + n); n++)
				;
			ret = lz_copy(srv, mm, r, a, buf + i * PAGE_SIZE, n, true);
			if (ret == -ENOENT || ret == -ESRCH)
				ret = 0;	/* gone meanwhile: the events will tell */
			if (ret)
				break;
			i += n;
		}
		if (mm->dead)
			i = b->n;
		pthread_mutex_unlock(&mm->lock);
	}
	return ret;
}

/* Prefetch batches until nothing is left (or stop); 0 or -errno. */
static int lz_prefetch_all(struct lz_server *srv, size_t chunk)
{
	uint8_t *state = xmalloc(LZ_PF_BATCH);
	void *buf = mmap(NULL, LZ_PF_BATCH * PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct lz_batch b;
	int ret = 0;

	if (!state || buf == MAP_FAILED) {
		free(state);
		if (buf != MAP_FAILED)
			munmap(buf, LZ_PF_BATCH * PAGE_SIZE);
		return -ENOMEM;
	}
	while (!ret && !__atomic_load_n(&srv->stop, __ATOMIC_SEQ_CST) && lz_pick(srv, LZ_PF_BATCH, &b)) {
		ret = srv->src.read(srv->src.arg, b.mm->task_key, b.dump, b.n, buf, state);
		if (ret) {
			lz_read_failed(b.mm, b.n, b.addr, ret);
			break;
		}
		ret = lz_fill(srv, &b, buf, chunk);
		if (ret == -EAGAIN) {
			/* an event is queued: let the main thread read it first */
			usleep(200);
			ret = 0;
		}
		if (ret) {
			pr_err("pid %d: copying %zu pages at %#lx failed: %s", b.mm->pid, b.n,
			       (unsigned long)b.addr, strerror(-ret));
			break;
		}
	}
	munmap(buf, LZ_PF_BATCH * PAGE_SIZE);
	free(state);
	return ret;
}

/*
 * Turn @n recorded pages of one task from @p (consecutive at dump) into a
 * batch at their current addresses, cut at the end of their region; false
 * if no address space or region holds the first page any more, or it is
 * resident already.
 */
static bool lz_wset_batch(struct lz_server *srv, const struct wset_page *p, size_t n, struct lz_batch *b)
{
	struct lz_mm *mm = NULL;
	bool found = false;
	size_t i, nr;

	pthread_mutex_lock(&srv->lock);
	nr = srv->nr_mms;
	for (i = 0; i < nr && !mm; i++)
		if (srv->mms[i]->task_key == p->task)
			mm = srv->mms[i];	/* the first: forked children come later */
	pthread_mutex_unlock(&srv->lock);
	if (!mm)
		return false;
	pthread_mutex_lock(&mm->lock);
	for (i = 0; i < mm->nr && !mm->dead && !found; i++) {
		const struct lz_region *r = &mm->regions[i];
		uint64_t len = r->end - r->start;

		if (p->addr < r->dump_start || p->addr - r->dump_start >= len)
			continue;
		if (!lz_todo(r, (p->addr - r->dump_start) / PAGE_SIZE))
			break;	/* resident already (faulted in, or in an earlier batch) */
		b->mm = mm;
		b->dump = p->addr;
		b->addr = r->start + (p->addr - r->dump_start);
		b->n = min_t(uint64_t, n, (len - (p->addr - r->dump_start)) / PAGE_SIZE);
		found = true;
	}
	pthread_mutex_unlock(&mm->lock);
	return found;
}

/*
 * The end of the group of working-set pages starting at @i of @p (@nr): the
 * pages after it, in fault order, while they climb in address by at most
 * LZ_WSET_GAP pages at a time within one batch.  A group is read with one
 * call (a random read costs about as much as 64 KiB in a row here), the
 * pages between coming with it.
 */
static size_t lz_wset_group(const struct wset_page *p, size_t i, size_t nr)
{
	size_t j = i + 1;

	while (j < nr && p[j].task == p[i].task && p[j].addr > p[j - 1].addr &&
	       p[j].addr - p[j - 1].addr <= LZ_WSET_GAP * PAGE_SIZE &&
	       (p[j].addr - p[i].addr) / PAGE_SIZE < LZ_PF_BATCH)
		j++;
	return j;
}

/* Pages from @p[i] to @p[j - 1] (a group, or its tail), the ones between included. */
static size_t lz_wset_span(const struct wset_page *p, size_t i, size_t j)
{
	return (p[j - 1].addr - p[i].addr) / PAGE_SIZE + 1;
}

/* Start reading the first LZ_WSET_HINT pages of working set @p (@nr) from @src, group by group. */
static void lz_wset_hint(const struct page_source *src, const struct wset_page *p, size_t nr)
{
	size_t i, j, hinted = 0;

	for (i = 0; src->read_ahead && i < nr && hinted < LZ_WSET_HINT; i = j) {
		j = lz_wset_group(p, i, nr);
		/* only a hint: a damaged index chunk is the read's to report */
		src->read_ahead(src->arg, p[i].task, p[i].addr, lz_wset_span(p, i, j));
		hinted += j - i;
	}
}

/*
 * The working set read ahead by the restorer (lazy_warm_start): its pages
 * in first-fault order and, group by group (lz_wset_group) in that order,
 * the data of the first groups, read while the restorer rebuilt the tasks.
 * The server, a fork of the restorer, finds it all in its own memory.
 */
struct lazy_warm {
	pthread_t thread;
	bool stop;			/* lazy_warm_stop asked: read no further group */
	char path[4096];
	unsigned generation;
	struct swp_gen_reader *rd;
	int ret;			/* wset_read's: 0, or why there is none to use */
	char why[512];			/* its reason, for the server's log */
	struct wset_page *wset, *sorted;
	size_t nr;
	size_t *group_off;		/* where group g's data starts in @data, in pages */
	size_t nr_groups;		/* groups read in full (atomic) */
	size_t read_pages;		/* their pages */
	size_t cap_groups;		/* groups @data has room for */
	char *data;			/* mmap'd, @data_pages */
	size_t data_pages;
};

/* Room for the first groups of @w's working set, up to LZ_WARM_PAGES pages. */
static int lz_warm_alloc(struct lazy_warm *w)
{
	size_t i, j, pages = 0, n = 0;

	for (i = 0; i < w->nr; i = j, n++) {
		size_t span;

		j = lz_wset_group(w->wset, i, w->nr);
		span = lz_wset_span(w->wset, i, j);
		if (pages + span > LZ_WARM_PAGES)
			break;
		pages += span;
	}
	if (!n)
		return 0;
	w->group_off = xmalloc(n * sizeof(*w->group_off));
	if (!w->group_off)
		return -ENOMEM;
	w->data = mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (w->data == MAP_FAILED) {
		w->data = NULL;
		return -ENOMEM;
	}
	w->cap_groups = n;
	w->data_pages = pages;
	return 0;
}

/*
 * The restorer's reading thread: the working set's file, then every read
 * requested at once, then the first groups' data in fault order until
 * there is no more room or lazy_warm_stop.  A failed read stops it quietly:
 * the server reads those pages itself and reports.
 */
static void *lz_warm_thread(void *arg)
{
	struct lazy_warm *w = arg;
	struct page_source src = swp_page_source(w->rd);
	uint8_t state[LZ_PF_BATCH];
	size_t i, j, g, off = 0;

	/*
	 * The idle I/O class: with a cold cache the restorer reads the
	 * checkpoint and the programs' files meanwhile, and those must not
	 * wait behind us (only a hint if the scheduler has no classes).
	 */
	syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int)gettid(),
		IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
	w->ret = wset_read(w->path, w->generation, &w->wset, &w->sorted, &w->nr);
	if (w->ret) {
		snprintf(w->why, sizeof(w->why), "%s", ct_err_msg() ?: strerror(-w->ret));
		return NULL;
	}
	lz_wset_hint(&src, w->wset, w->nr);
	if (lz_warm_alloc(w))
		return NULL;
	for (i = 0, g = 0; g < w->cap_groups && !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE); i = j, g++) {
		size_t span;

		j = lz_wset_group(w->wset, i, w->nr);
		span = lz_wset_span(w->wset, i, j);
		if (swp_read(w->rd, w->wset[i].task, w->wset[i].addr, span, w->data + off * PAGE_SIZE,
			     state))
			break;
		w->group_off[g] = off;
		off += span;
		w->read_pages = off;
		__atomic_store_n(&w->nr_groups, g + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

int lazy_warm_start(const char *wset_path, unsigned generation, struct swp_gen_reader *rd,
		    struct lazy_warm **out)
{
	struct lazy_warm *w = xzalloc(sizeof(*w));
	int ret;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	if (snprintf(w->path, sizeof(w->path), "%s", wset_path) >= (int)sizeof(w->path)) {
		free(w);
		return -ENAMETOOLONG;
	}
	w->generation = generation;
	w->rd = rd;
	ret = -pthread_create(&w->thread, NULL, lz_warm_thread, w);
	if (ret) {
		free(w);
		return ret;
	}
	*out = w;
	return 0;
}

void lazy_warm_stop(struct lazy_warm *w)
{
	double t0;

	if (!w || !w->rd)
		return;
	t0 = now_ms();
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
	pthread_join(w->thread, NULL);
	w->rd = NULL;	/* joined: the server (a fork) must never join it */
	pr_info("working set: %zu pages read ahead (%zu groups), the reading stopped in %.1f ms",
		w->read_pages, w->nr_groups, now_ms() - t0);
}

void lazy_warm_free(struct lazy_warm *w)
{
	if (!w)
		return;
	lazy_warm_stop(w);
	free(w->wset);
	free(w->sorted);
	free(w->group_off);
	if (w->data)
		munmap(w->data, w->data_pages * PAGE_SIZE);
	free(w);
}

/* The data of group @g of the working set if the restorer read it, else NULL. */
static const char *lz_warm_group(const struct lz_server *srv, size_t g)
{
	const struct lazy_warm *w = srv->warm;

	return w && g < w->nr_groups ? w->data + w->group_off[g] * PAGE_SIZE : NULL;
}

/*
 * Load the working set recorded at the last restore of this generation
 * (wset.h): from what the restorer read ahead (opts.warm), else from its
 * file, then start reading its pages in the order they are wanted, many
 * requests at once, where reading them one after the other would wait for
 * each (about 0.1 ms a random read with a cold cache, while the tasks
 * fault).  False if there is none to use (nothing to do, or a missing,
 * stale or damaged file: that only costs the order).
 */
static bool lz_wset_load(struct lz_server *srv)
{
	struct lazy_warm *w = srv->opts.warm;
	const char *why;
	int ret;

	if (!srv->opts.wset_path)
		return false;
	if (w) {
		srv->warm = w;	/* this process's copy of it, the server's now */
		ret = w->ret;
		why = w->why;
		srv->wset = w->wset;
		srv->wset_sorted = w->sorted;
		srv->nr_wset = w->nr;
		w->wset = w->sorted = NULL;
	} else {
		ret = wset_read(srv->opts.wset_path, srv->opts.generation, &srv->wset,
				&srv->wset_sorted, &srv->nr_wset);
		why = ct_err_msg() ?: strerror(-ret);
	}
	if (ret == -ESTALE || ret == -ENOENT)
		return false;	/* recorded on another generation, or never: record anew */
	if (ret) {
		pr_warn("working set ignored: %s", why);
		return false;
	}
	__atomic_store_n(&srv->wset_pages, srv->nr_wset ? srv->nr_wset : 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&srv->wset_loaded, true, __ATOMIC_RELEASE);
	if (!w)
		lz_wset_hint(&srv->src, srv->wset, srv->nr_wset);
	return true;
}

/*
 * Copy the pages of the working set's group [@i, @j) of @p still to do:
 * from @data when the restorer read the group, else read into @buf.
 */
static int lz_prefetch_group(struct lz_server *srv, const struct wset_page *p, size_t i, size_t j,
			     const char *data, void *buf, uint8_t *state)
{
	size_t k = i;
	int ret = 0;

	while (k < j && !ret) {
		struct lz_batch b;
		const char *from = buf;

		if (!lz_wset_batch(srv, &p[k], lz_wset_span(p, k, j), &b)) {
			k++;
			continue;
		}
		if (data)
			from = data + (p[k].addr - p[i].addr);
		else
			ret = srv->src.read(srv->src.arg, b.mm->task_key, b.dump, b.n, buf, state);
		if (!ret)
			ret = lz_fill(srv, &b, from, LZ_PF_CHUNK);
		if (ret == -EAGAIN)
			ret = 0;	/* the rest of the run comes with the full prefetch */
		/* a batch cut at its region's end: the pages after it start the next one */
		while (k < j && p[k].addr < b.dump + b.n * PAGE_SIZE)
			k++;
	}
	return ret;
}

/*
 * Prefetch the working set lz_wset_load loaded, in first-fault order: the
 * tasks want its pages in about that order again.  A buffer to read into
 * only for groups the restorer did not read.  0 or -errno.
 */
static int lz_prefetch_wset(struct lz_server *srv)
{
	uint8_t *state = NULL;
	void *buf = NULL;
	size_t i, j, g;
	int ret = 0;

	for (i = 0, g = 0; i < srv->nr_wset && !ret && !__atomic_load_n(&srv->stop, __ATOMIC_SEQ_CST);
	     i = j, g++) {
		const char *data = lz_warm_group(srv, g);

		if (!data && !buf) {
			buf = xmalloc(LZ_PF_BATCH * PAGE_SIZE);
			state = xmalloc(LZ_PF_BATCH);
			if (!buf || !state) {
				ret = -ENOMEM;
				break;
			}
		}
		j = lz_wset_group(srv->wset, i, srv->nr_wset);
		ret = lz_prefetch_group(srv, srv->wset, i, j, data, buf, state);
	}
	free(buf);
	free(state);
	srv->wset_ms = now_ms() - srv->t_start;
	return ret;
}

/* Wait until the restorer closes the gate (bounded: a stuck restorer must not stall us). */
static void lz_gate_wait(struct lz_server *srv)
{
	struct pollfd pfd = { .fd = srv->gate_fd, .events = POLLIN };

	if (srv->gate_fd < 0)
		return;
	if (poll(&pfd, 1, LZ_GATE_TIMEOUT_MS) == 0)
		pr_warn("the restorer did not release prefetch in %d ms; starting anyway",
			LZ_GATE_TIMEOUT_MS);
	close(srv->gate_fd);
	srv->gate_fd = -1;
}

/* The prefetch thread: prefetch, then wait for new work (a fork) or stop. */
static void *lz_prefetch_thread(void *arg)
{
	struct lz_server *srv = arg;
	uint64_t one = 1;

	/*
	 * The working set before the gate: the tasks want it first, and the
	 * restorer has little left to do (it read most of it ahead for us).
	 */
	if (!srv->opts.wset_fill && lz_wset_load(srv) && lz_prefetch_wset(srv)) {
		pr_err("prefetch failed: the server gives up");
		_exit(3);
	}
	lz_gate_wait(srv);
	lz_source_read_ahead(srv);
	for (;;) {
		if (lz_prefetch_all(srv, LZ_PF_CHUNK)) {
			/* a broken swap area: die, the watchdog kills the container */
			pr_err("prefetch failed: the server gives up");
			_exit(3);
		}
		if (write(srv->wake_fd, &one, sizeof(one)) < 0)
			pr_perror("eventfd");
		pthread_mutex_lock(&srv->lock);
		if (!srv->stop) {
			struct timespec ts = deadline_after_ms(100);

			pthread_cond_timedwait(&srv->work_cond, &srv->lock, &ts);
		}
		if (srv->stop) {
			pthread_mutex_unlock(&srv->lock);
			return NULL;
		}
		pthread_mutex_unlock(&srv->lock);
	}
}

/* ------------------------------------------------------- progress, state */

/*
 * Write the progress file in the state-file format (lib/state.h),
 * aside then renamed so readers see whole files.  No fsync: it matters only
 * while we run, and the main thread must not stall on the disk.
 */
static void lz_state_write(struct lz_server *srv)
{
	struct ct_state *st;
	char tmp[4096], *buf = NULL;
	size_t len;
	int fd;

	if (!srv->opts.state_path ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", srv->opts.state_path) >= (int)sizeof(tmp))
		return;
	st = state_new();
	if (!st)
		return;
	if (state_set_ll(st, "resident", __atomic_load_n(&srv->resident, __ATOMIC_SEQ_CST)) ||
	    state_set_ll(st, "total", __atomic_load_n(&srv->total, __ATOMIC_SEQ_CST)) ||
	    state_set_ll(st, "pid", getpid()) || state_format(st, &buf, &len))
		goto out_free;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out_free;
	if (write_all(fd, buf, len) || rename(tmp, srv->opts.state_path))
		pr_perror("%s: cannot write progress", srv->opts.state_path);
	close(fd);
out_free:
	free(buf);
	state_free(st);
}

/* Read a progress file written by a server. */
int lazy_progress_read(const char *path, struct lazy_progress *p)
{
	struct ct_state *st;
	long long res, total, pid;
	int ret;

	ret = state_read(path, &st);
	if (ret)
		return ret;
	if (state_get_ll(st, "resident", &res) || state_get_ll(st, "total", &total) ||
	    state_get_ll(st, "pid", &pid))
		ret = ct_err(-EBADMSG, "%s: not a lazy progress file", path);
	else {
		p->resident = res;
		p->total = total;
		p->pid = pid;
	}
	state_free(st);
	return ret;
}

/* --------------------------------------------------------------- watchdog */

/*
 * The watchdog: holds copies of the uffds (so faulting tasks keep waiting
 * instead of reading zero pages) until the server says done; on EOF without
 * done it kills the container.
 */
static void lz_watchdog(int sock, const struct lazy_opts *opts, pid_t server)
{
	int ret;

	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))], tag;
		struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 1 && tag == 'D')
			_exit(0);
		if (n == 1 && tag == 'F')
			continue;	/* keep the passed fd open: that is the point */
		break;
	}
	pr_err("watchdog: lazy server (pid %d) died before every page was resident", server);
	if (!opts->cgroup)
		pr_err("watchdog: no cgroup to kill");
	else if ((ret = cg_kill(opts->cgroup, LZ_WD_KILL_TIMEOUT_MS)))
		pr_err("watchdog: cannot kill cgroup %s: %s", cg_name(opts->cgroup),
		       ct_err_msg() ?: strerror(-ret));
	else
		pr_err("watchdog: killed every task of cgroup %s", cg_name(opts->cgroup));
	_exit(1);
}

/* --------------------------------------------------------------- server */

/* Close every fd except those in @keep (sorted or not). */
static void lz_close_fds_except(const int *keep, size_t nr)
{
	DIR *d = opendir("/proc/self/fd");
	int *fds = NULL;
	size_t nr_fds = 0, cap = 0, i, j;
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dirfd(d))
			continue;
		for (j = 0; j < nr && keep[j] != fd; j++)
			;
		if (j == nr && !xgrow(&fds, &cap, nr_fds + 1, sizeof(int)))
			fds[nr_fds++] = fd;
	}
	closedir(d);
	for (i = 0; i < nr_fds; i++)
		close(fds[i]);
	free(fds);
}

/* Total pages outstanding: zero means the server is done. */
static uint64_t lz_outstanding(struct lz_server *srv)
{
	return __atomic_load_n(&srv->outstanding, __ATOMIC_SEQ_CST);
}

/* Unregister and close every uffd. */
static void lz_release(struct lz_server *srv)
{
	size_t i, j;

	for (i = 0; i < srv->nr_mms; i++) {
		struct lz_mm *mm = srv->mms[i];

		for (j = 0; j < mm->nr && !mm->dead; j++) {
			struct uffdio_range r = { .start = mm->regions[j].start,
						  .len = mm->regions[j].end - mm->regions[j].start };

			if (ioctl(mm->uffd, UFFDIO_UNREGISTER, &r) && errno != ENOMEM)
				pr_debug("unregister %#llx: %m", r.start);
		}
		close(mm->uffd);
	}
}

/* Free the server's state (in the process that built it). */
static void lz_server_free(struct lz_server *srv)
{
	size_t i;

	for (i = 0; i < srv->nr_mms; i++)
		lz_mm_free(srv->mms[i]);
	free(srv->mms);
	free(srv->fault_buf);
	free(srv->rec);
	free(srv->wset);
	free(srv->wset_sorted);
	lazy_warm_free(srv->warm);
	lz_source_close(srv);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->work_cond);
}

/* Set up @srv over @mms (source open, todo bitmaps built). */
static int lz_server_init(struct lz_server *srv, const struct lazy_opts *opts,
			  struct lazy_mm *mms, size_t nr)
{
	size_t i;
	int ret;

	memset(srv, 0, sizeof(*srv));
	srv->opts = *opts;
	srv->wd_sock = srv->wake_fd = srv->gate_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->work_cond, NULL);
	srv->fault_buf = xmalloc(LZ_RA_MAX * PAGE_SIZE);
	if (!srv->fault_buf)
		return -ENOMEM;
	ret = lz_source_open(srv);
	if (ret)
		return ret;
	for (i = 0; i < nr; i++) {
		struct lz_mm *mm = lz_mm_new(srv, mms[i].uffd, mms[i].host_pid, mms[i].task_key);

		if (!mm)
			return -ENOMEM;
		ret = lz_mm_load(srv, mm, &mms[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The server's main loop: serve until every page is resident. */
static int lz_serve(struct lz_server *srv)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0;
	double last_state = now_ms();
	int ret = 0;

	while (lz_outstanding(srv) && !ret) {
		size_t i, nr;
		int n;

		pthread_mutex_lock(&srv->lock);
		nr = srv->nr_mms;
		pthread_mutex_unlock(&srv->lock);
		if (xgrow(&pfd, &cap, nr + 1, sizeof(*pfd)))
			return -ENOMEM;
		for (i = 0; i < nr; i++) {
			pfd[i].fd = __atomic_load_n(&srv->mms[i]->dead, __ATOMIC_RELAXED) ? -1 :
				    srv->mms[i]->uffd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		pfd[nr].fd = srv->wake_fd;
		pfd[nr].events = POLLIN;
		pfd[nr].revents = 0;
		n = poll(pfd, nr + 1, LZ_STATE_MS);
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		for (i = 0; i < nr && !ret; i++)
			if (pfd[i].revents & (POLLIN | POLLERR))
				ret = lz_drain(srv, srv->mms[i]);
		if (pfd[nr].revents & POLLIN) {
			uint64_t v;

			if (read(srv->wake_fd, &v, sizeof(v)) < 0)
				pr_perror("eventfd");
		}
		if (now_ms() - last_state >= LZ_STATE_MS) {
			lz_state_write(srv);
			last_state = now_ms();
		}
	}
	free(pfd);
	return ret;
}

/* What the server tells lazy_start through the ready pipe, in one write. */
struct lz_ready_msg {
	uint32_t magic;
	int ret;		/* 0: serving */
	pid_t pid;		/* the server */
};
#define LZ_READY_MAGIC 0x6c617a79	/* "lazy" */

/* Report the start result @ret to lazy_start. */
static int lz_ready(int fd, int ret)
{
	struct lz_ready_msg m = { .magic = LZ_READY_MAGIC, .ret = ret, .pid = getpid() };

	return write(fd, &m, sizeof(m)) == sizeof(m) ? 0 : -EPIPE;
}

/*
 * Keep the pages this restore faulted in as the working set of its
 * generation, unless a recorded one was used (its faults are then only
 * what the prefetch missed, not the working set).
 */
static void lz_wset_save(struct lz_server *srv)
{
	if (!srv->opts.wset_path || !srv->opts.generation || srv->wset_pages || !srv->nr_rec)
		return;
	if (wset_write(srv->opts.wset_path, srv->opts.generation, srv->rec, srv->nr_rec))
		pr_warn("working set not kept: %s", ct_err_msg());
	else
		pr_info("working set of %zu pages kept in %s", srv->nr_rec, srv->opts.wset_path);
}

/* The server process: never returns. */
static void lz_server_main(struct lz_server *srv, int ready_fd)
{
	pthread_t thread;
	int sv[2], ret, status = 0;
	double t0 = now_ms();
	pid_t wd;

	srv->t_start = t0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		goto out_report;
	}
	wd = fork();
	if (wd < 0) {
		ret = -errno;
		goto out_report;
	}
	if (wd == 0) {
		close(ready_fd);
		close(sv[0]);
		lz_watchdog(sv[1], &srv->opts, getppid());
	}
	close(sv[1]);
	srv->wd_sock = sv[0];
	srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->wake_fd < 0) {
		ret = -errno;
		goto out_report;
	}
	/* REAP's way: the working set in place before the tasks run (stopped until we are ready) */
	ret = 0;
	if (srv->opts.wset_fill && lz_wset_load(srv)) {
		ret = lz_prefetch_wset(srv);
		pr_info("working set filled before the resume in %.1f ms", now_ms() - t0);
	}
	if (!ret)
		ret = srv->opts.no_prefetch ? 0 :
		      -pthread_create(&thread, NULL, lz_prefetch_thread, srv);
out_report:
	lz_state_write(srv);
	if (lz_ready(ready_fd, ret))
		ret = -EPIPE;
	close(ready_fd);
	if (ret) {
		if (srv->wd_sock >= 0 && send(srv->wd_sock, "D", 1, MSG_NOSIGNAL) != 1)
			pr_perror("watchdog");
		_exit(2);
	}
	pr_info("serving %lu pages of %zu address spaces", (unsigned long)lz_outstanding(srv),
		srv->nr_mms);
	ret = lz_serve(srv);
	if (ret) {
		/* leave the watchdog to kill the container: never run on wrong pages */
		pr_err("server failed: %s", strerror(-ret));
		_exit(1);
	}
	pthread_mutex_lock(&srv->lock);
	srv->stop = true;
	pthread_cond_broadcast(&srv->work_cond);
	pthread_mutex_unlock(&srv->lock);
	if (!srv->opts.no_prefetch)
		pthread_join(thread, NULL);
	lz_release(srv);
	if (srv->opts.state_path)
		unlink(srv->opts.state_path);
	if (send(srv->wd_sock, "D", 1, MSG_NOSIGNAL) != 1)
		status = 1;
	pr_info("done: %lu pages made resident in %.1f ms; %llu synchronous faults (%zu pages), "
		"%llu pages of the working set prefetched first",
		(unsigned long)__atomic_load_n(&srv->resident, __ATOMIC_SEQ_CST), now_ms() - t0,
		(unsigned long long)srv->sync_faults, srv->nr_rec,
		(unsigned long long)srv->wset_pages);
	if (srv->wset_pages)
		pr_info("working set: %zu of its pages read ahead by the restorer; its prefetch "
			"ended %.1f ms after the server started; %llu of the synchronous faults were on its "
			"pages (not prefetched yet)",
			srv->warm ? srv->warm->read_pages : 0,
			srv->wset_ms, (unsigned long long)srv->wset_faults);
	lz_wset_save(srv);
	_exit(status);
}

/* In the forked child: detach, set up, become the server.  Never returns. */
static void lz_server_child(const struct lazy_opts *opts, struct lazy_mm *mms, size_t nr,
			    int ready_fd, int gate_fd)
{
	struct lz_server srv;
	int *keep, null, logfd = -1, ret;
	size_t i;

	setsid();
	signal(SIGPIPE, SIG_IGN);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	keep = xmalloc((nr + 6) * sizeof(int));
	if (!keep)
		_exit(2);
	keep[nr + 5] = opts->reader ? swp_reader_fd(opts->reader) : -1;
	for (i = 0; i < nr; i++)
		keep[i] = mms[i].uffd;
	keep[nr] = ready_fd;
	keep[nr + 1] = 0;
	keep[nr + 2] = 1;
	keep[nr + 3] = 2;
	keep[nr + 4] = gate_fd;
	/* the restorer's files (pipe ends of the container...) must not stay open here */
	lz_close_fds_except(keep, nr + 6);
	free(keep);
	if (opts->log_path) {
		logfd = open(opts->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (logfd >= 0) {
			ct_log_set_fd(logfd);
			if (ct_log_get_level() < CT_LOG_INFO)
				ct_log_set_level(CT_LOG_INFO);
		}
	}
	ret = lz_server_init(&srv, opts, mms, nr);
	srv.gate_fd = gate_fd;
	if (ret) {
		pr_err("cannot start: %s", ct_err_msg() ? ct_err_msg() : strerror(-ret));
		lz_ready(ready_fd, ret);
		_exit(2);
	}
	lz_server_main(&srv, ready_fd);
}

/* Eager mode: copy every stored page now, then release the uffds. */
static int lz_eager(const struct lazy_opts *opts, struct lazy_mm *mms, size_t nr)
{
	struct lz_server srv;
	double t0 = now_ms();
	int ret;

	ret = lz_server_init(&srv, opts, mms, nr);
	if (!ret) {
		lz_source_read_ahead(&srv);
		ret = lz_prefetch_all(&srv, LZ_EAGER_CHUNK);
	}
	if (!ret && lz_outstanding(&srv))
		ret = ct_err(-EAGAIN, "eager restore: %lu pages could not be copied",
			     (unsigned long)lz_outstanding(&srv));
	if (!ret) {
		pr_info("eager: %lu pages copied in %.1f ms",
			(unsigned long)srv.resident, now_ms() - t0);
		lz_release(&srv);
		for (size_t i = 0; i < nr; i++)
			mms[i].uffd = -1;
	}
	lz_server_free(&srv);
	return ret;
}

int lazy_uffd_setup(int uffd, const struct lazy_region *regions, size_t nr)
{
	struct uffdio_api api = { .api = UFFD_API, .features = LZ_FEATURES };
	size_t i;
	int fl;

	fl = fcntl(uffd, F_GETFL);
	if (fl < 0 || fcntl(uffd, F_SETFL, fl | O_NONBLOCK))
		return ct_err(-errno, "uffd %d: cannot set O_NONBLOCK: %m", uffd);
	if (ioctl(uffd, UFFDIO_API, &api))
		return ct_err(-errno, "uffd %d: UFFDIO_API: %m", uffd);
	if ((api.features & LZ_FEATURES) != LZ_FEATURES)
		return ct_err(-ENOTSUP, "uffd %d: kernel lacks fork/remap/remove/unmap events", uffd);
	for (i = 0; i < nr; i++) {
		struct uffdio_register reg = {
			.range = { .start = regions[i].start, .len = regions[i].end - regions[i].start },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			return ct_err(-errno, "uffd %d: register %#lx-%#lx: %m", uffd,
				      (unsigned long)regions[i].start, (unsigned long)regions[i].end);
	}
	return 0;
}

int lazy_start(const struct lazy_opts *opts, struct lazy_mm *mms, size_t nr, pid_t *server_pid)
{
	int pfd[2], gate[2] = { -1, -1 }, ret, status;
	pid_t mid, server = 0;
	size_t i;

	*server_pid = 0;
	if (opts->prefetch_gate)
		*opts->prefetch_gate = -1;
	lazy_warm_stop(opts->warm);	/* its thread must not run while we fork */
	if (opts->eager)
		return lz_eager(opts, mms, nr);
	if (pipe2(pfd, O_CLOEXEC))
		return ct_err(-errno, "lazy server: pipe: %m");
	if (opts->prefetch_gate && pipe2(gate, O_CLOEXEC)) {
		ret = ct_err(-errno, "lazy server: pipe: %m");
		gate[0] = gate[1] = -1;
		goto out_close;
	}
	/* fork twice so the server is nobody's child here and outlives us */
	mid = fork();
	if (mid < 0) {
		ret = ct_err(-errno, "lazy server: fork: %m");
		goto out_close;
	}
	if (mid == 0) {
		pid_t s;

		close(pfd[0]);
		if (gate[1] >= 0)
			close(gate[1]);
		s = fork();
		if (s == 0)
			lz_server_child(opts, mms, nr, pfd[1], gate[0]);
		_exit(s < 0 ? 1 : 0);
	}
	close(pfd[1]);
	pfd[1] = -1;
	waitpid(mid, &status, 0);
	/* the server writes its start result and pid in one message */
	{
		struct lz_ready_msg m;
		ssize_t n = read(pfd[0], &m, sizeof(m));

		if (n != sizeof(m) || m.magic != LZ_READY_MAGIC) {
			ret = ct_err(-ECHILD, "lazy server died while starting (got %zd bytes%s; see %s)",
				     n, n == sizeof(m) ? ", garbage" : "",
				     opts->log_path ? opts->log_path : "its log");
			if (n > 0)
				pr_err("ready message: %.*s", (int)n, (char *)&m);
			goto out_close;
		}
		if (m.ret) {
			ret = ct_err(m.ret, "lazy server cannot start: %s (see %s)", strerror(-m.ret),
				     opts->log_path ? opts->log_path : "its log");
			goto out_close;
		}
		server = m.pid;
	}
	for (i = 0; i < nr; i++) {
		close(mms[i].uffd);
		mms[i].uffd = -1;
	}
	*server_pid = server;
	if (opts->prefetch_gate) {
		*opts->prefetch_gate = gate[1];
		gate[1] = -1;
	}
	ret = 0;
out_close:
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (gate[0] >= 0)
		close(gate[0]);
	if (gate[1] >= 0)
		close(gate[1]);
	return ret;
}
