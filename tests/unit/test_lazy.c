// SPDX-License-Identifier: MIT
/*
 * Unit tests for the lazy swap-in server, with real processes: a child's
 * anonymous region is registered with a userfaultfd the child creates and
 * passes to us; the server fills it from a page source while the child
 * reads every page and checks it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "freezer/cgroup.h"
#include "lib/util.h"
#include "mm/lazy.h"
#include "mm/swaparea.h"
#include "mm/wset.h"

#define REGION_MIB	16
#define REGION_LEN	((uint64_t)REGION_MIB << 20)
#define REGION_PAGES	(REGION_LEN / PAGE_SIZE)
#define TASK_KEY	42

enum { PG_NONE = 0, PG_ZERO = 1, PG_DATA = 2 };	/* SWP_PAGE_* values */

static char tmpdir[256];
static char state_path[300], log_path[300], swap_path[300];
static uint64_t region;		/* the region's address (the same in every child) */

/* ------------------------------------------------------------ page source */

/* What the store holds for the page at @addr: a fixed mix of the three states. */
static int page_kind(uint64_t addr)
{
	uint64_t p = addr / PAGE_SIZE;

	if (p % 7 == 3)
		return PG_NONE;
	if (p % 11 == 5)
		return PG_ZERO;
	return PG_DATA;
}

/* Fill @buf with the content the page at @addr must have once restored. */
static void page_expect(uint32_t key, uint64_t addr, uint64_t *buf)
{
	size_t i;

	if (page_kind(addr) != PG_DATA) {
		memset(buf, 0, PAGE_SIZE);
		return;
	}
	for (i = 0; i < PAGE_SIZE / 8; i++)
		buf[i] = (addr + i * 8) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)key << 40) ^ i;
}

/* page_source.read over the generated store. */
static int src_read(void *arg, uint32_t task, uint64_t addr, size_t nr, void *buf, uint8_t *state)
{
	size_t i;

	(void)arg;
	for (i = 0; i < nr; i++) {
		uint64_t a = addr + i * PAGE_SIZE;

		state[i] = a >= region && a < region + REGION_LEN ? page_kind(a) : PG_NONE;
		page_expect(task, a, (uint64_t *)((char *)buf + i * PAGE_SIZE));
	}
	return 0;
}

/* page_source.for_each_run: runs of stored pages of the region. */
static int src_runs(void *arg, uint32_t task,
		    int (*fn)(uint32_t, uint64_t, uint64_t, size_t, void *), void *fnarg)
{
	uint64_t a = region, end = region + REGION_LEN;

	(void)arg;
	while (a < end) {
		uint64_t s;
		int ret;

		while (a < end && page_kind(a) == PG_NONE)
			a += PAGE_SIZE;
		for (s = a; a < end && page_kind(a) != PG_NONE; a += PAGE_SIZE)
			;
		if (a > s && (ret = fn(task, region, s, (a - s) / PAGE_SIZE, fnarg)))
			return ret;
	}
	return 0;
}

static const struct page_source source = { .read = src_read, .for_each_run = src_runs };

/* Stored pages of the region (what the server's total must be). */
static uint64_t stored_pages(void)
{
	uint64_t a, n = 0;

	for (a = region; a < region + REGION_LEN; a += PAGE_SIZE)
		n += page_kind(a) != PG_NONE;
	return n;
}

/* --------------------------------------------------------------- children */

/* Check the pages [first, first + n) read at @at as the store's pages at @dump. */
static int check_pages(uint64_t at, uint64_t dump, uint64_t n)
{
	uint64_t want[PAGE_SIZE / 8], i;

	for (i = 0; i < n; i++) {
		page_expect(TASK_KEY, dump + i * PAGE_SIZE, want);
		if (memcmp((void *)(uintptr_t)(at + i * PAGE_SIZE), want, PAGE_SIZE)) {
			fprintf(stderr, "pid %d: page %#lx (dump %#lx) differs\n", getpid(),
				(unsigned long)(at + i * PAGE_SIZE),
				(unsigned long)(dump + i * PAGE_SIZE));
			return 1;
		}
	}
	return 0;
}

/* Check that [at, at + n pages) reads zero. */
static int check_zero(uint64_t at, uint64_t n)
{
	static const char zero[PAGE_SIZE];
	uint64_t i;

	for (i = 0; i < n; i++)
		if (memcmp((void *)(uintptr_t)(at + i * PAGE_SIZE), zero, PAGE_SIZE)) {
			fprintf(stderr, "pid %d: page %#lx is not zero\n", getpid(),
				(unsigned long)(at + i * PAGE_SIZE));
			return 1;
		}
	return 0;
}

/* Child: read every page, in order. */
static int child_read_all(void)
{
	return check_pages(region, region, REGION_PAGES);
}

/* Child: fork half-way; both processes must see every page right. */
static int child_fork(void)
{
	int status, ret;
	pid_t pid;

	ret = check_pages(region, region, REGION_PAGES / 4);
	pid = fork();
	if (pid < 0)
		return 10;
	if (pid == 0)
		_exit(check_pages(region, region, REGION_PAGES) ? 11 : 0);
	ret |= check_pages(region, region, REGION_PAGES);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 12;
	return ret;
}

/*
 * Child: DONTNEED ranges never touched and ranges touched; both must read
 * zero afterwards, also once the prefetcher went over them.
 */
static int child_dontneed(void)
{
	uint64_t half = REGION_LEN / 2;
	int ret = 0;

	if (madvise((void *)(uintptr_t)(region + half), half, MADV_DONTNEED))
		return 20;
	ret |= check_zero(region + half, 64);
	ret |= check_pages(region + 64 * PAGE_SIZE, region + 64 * PAGE_SIZE, 64);
	if (madvise((void *)(uintptr_t)(region + 64 * PAGE_SIZE), 64 * PAGE_SIZE, MADV_DONTNEED))
		return 21;
	ret |= check_zero(region + 64 * PAGE_SIZE, 64);
	ret |= check_pages(region + 128 * PAGE_SIZE, region + 128 * PAGE_SIZE,
			   half / PAGE_SIZE - 128);
	usleep(300 * 1000);	/* let prefetch run over the removed half */
	ret |= check_zero(region + half, half / PAGE_SIZE);
	ret |= check_zero(region + 64 * PAGE_SIZE, 64);
	ret |= check_pages(region, region, 64);
	return ret;
}

/* Child: move a quarter of the region elsewhere; its pages follow it. */
static int child_mremap(void)
{
	uint64_t q = REGION_LEN / 4, off = q;
	void *dst = mmap(NULL, q, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *moved;
	int ret = 0;

	if (dst == MAP_FAILED)
		return 30;
	ret |= check_pages(region + off, region + off, 16);
	moved = mremap((void *)(uintptr_t)(region + off), q, q, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (moved != dst)
		return 31;
	ret |= check_pages((uint64_t)(uintptr_t)moved, region + off, q / PAGE_SIZE);
	ret |= check_pages(region, region, off / PAGE_SIZE);
	ret |= check_pages(region + 2 * q, region + 2 * q, 2 * q / PAGE_SIZE);
	return ret;
}

/* Child: read slowly, page by page, forever (the watchdog must kill it). */
static int child_slow(void)
{
	uint64_t i;

	for (i = 0;; i = (i + 1) % REGION_PAGES) {
		if (check_pages(region + i * PAGE_SIZE, region + i * PAGE_SIZE, 1))
			return 40;
		usleep(2000);
	}
}

/* ------------------------------------------------------------------ harness */

/* Send @fd over the unix socket @sock. */
static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, b = 'u';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

/* Receive an fd sent by send_fd. */
static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* Wait for @pid at most @sec seconds; -1 on timeout (then it is killed). */
static int wait_for(pid_t pid, int sec, int *status)
{
	int i;

	for (i = 0; i < sec * 100; i++) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -1;
}

/* Reap every remaining child (the watchdog ends once the server said done). */
static void reap_all(void)
{
	int i, status;

	for (i = 0; i < 500; i++) {
		pid_t r = waitpid(-1, &status, WNOHANG);

		if (r < 0)
			return;
		if (r == 0)
			usleep(10000);
	}
}

struct run {
	int (*child)(void);
	struct ct_cgroup *cgroup;	/* child joins it first, if set */
	bool eager, no_prefetch;
	bool swap;		/* pages from the real swap area at swap_path */
	pid_t child_pid, server;
	int status;		/* the child's */
	int progress_ret;	/* lazy_progress_read before the child ran */
	struct lazy_progress progress;
};

/*
 * Start a child that registers the region with its own uffd and waits;
 * serve it through lazy_start; let it run its check.
 */
static void run_start(struct run *r)
{
	struct lazy_region reg = { .start = region, .end = region + REGION_LEN, .mapping = region };
	struct lazy_mm mm = { .host_pid = 0, .task_key = TASK_KEY, .nr_regions = 1, .regions = &reg };
	struct lazy_opts opts = {
		.state_path = state_path, .log_path = log_path, .cgroup = r->cgroup,
		.eager = r->eager, .source = r->swap ? NULL : &source,
		.no_prefetch = r->no_prefetch, .swap_path = swap_path,
	};
	int sv[2];
	char go = 'g';

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	r->child_pid = fork();
	assert_true(r->child_pid >= 0);
	if (r->child_pid == 0) {
		int uffd;

		close(sv[0]);	/* so a failing test (our end closed) ends us */

		if (r->cgroup && cg_attach(r->cgroup, getpid()))
			_exit(99);
		uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (uffd < 0 || send_fd(sv[1], uffd))
			_exit(98);
		close(uffd);
		if (read(sv[1], &go, 1) != 1)
			_exit(97);
		_exit(r->child());
	}
	close(sv[1]);
	mm.host_pid = r->child_pid;
	mm.uffd = recv_fd(sv[0]);
	assert_true(mm.uffd >= 0);
	assert_int_equal(lazy_uffd_setup(mm.uffd, &reg, 1), 0);
	assert_int_equal(lazy_start(&opts, &mm, 1, &r->server), 0);
	assert_int_equal(mm.uffd, -1);
	if (r->eager)
		assert_int_equal(r->server, 0);
	else
		assert_true(r->server > 0);
	/* no_prefetch: nothing can become resident before the child runs */
	r->progress_ret = lazy_progress_read(state_path, &r->progress);
	assert_int_equal(write(sv[0], &go, 1), 1);
	close(sv[0]);
}

/* Wait for the child and the server; both must end well. */
static void run_finish(struct run *r)
{
	int status;

	assert_int_equal(wait_for(r->child_pid, 60, &r->status), 0);
	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), 0);
	if (r->server) {
		/* we are a subreaper: the detached server is reparented to us */
		assert_int_equal(wait_for(r->server, 30, &status), 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	reap_all();
	assert_int_equal(access(state_path, F_OK), -1);
}

/* ------------------------------------------------------------------- tests */

/* Every page arrives right (data, zero, never stored); progress comes and goes. */
static void test_lazy_all_pages(void **state)
{
	struct run r = { .child = child_read_all };
	char *log;
	size_t len;

	(void)state;
	run_start(&r);
	/* prefetch may already be through (then the file is gone: checked below) */
	if (r.progress_ret != -ENOENT) {
		assert_int_equal(r.progress_ret, 0);
		assert_int_equal(r.progress.pid, r.server);
		assert_int_equal(r.progress.total, stored_pages());
		assert_true(r.progress.resident <= r.progress.total);
	}
	run_finish(&r);
	assert_int_equal(read_whole_file(log_path, &log, &len), 0);
	assert_non_null(strstr(log, "done:"));
	free(log);
}

/* Faults alone (no prefetch) fill everything, and the server still ends. */
static void test_lazy_faults_only(void **state)
{
	struct run r = { .child = child_read_all, .no_prefetch = true };

	(void)state;
	run_start(&r);
	assert_int_equal(r.progress_ret, 0);
	assert_int_equal(r.progress.pid, r.server);
	assert_int_equal(r.progress.resident, 0);
	assert_int_equal(r.progress.total, stored_pages());
	run_finish(&r);
}

/* A fork during lazy restore: the child's uffd is served (EVENT_FORK). */
static void test_lazy_fork(void **state)
{
	struct run r = { .child = child_fork, .no_prefetch = true };
	struct run r2 = { .child = child_fork };

	(void)state;
	run_start(&r);
	run_finish(&r);
	run_start(&r2);
	run_finish(&r2);
}

/* madvise(DONTNEED) pages read zero afterwards, never swap data. */
static void test_lazy_dontneed(void **state)
{
	struct run r = { .child = child_dontneed };
	struct run r2 = { .child = child_dontneed, .no_prefetch = true };

	(void)state;
	run_start(&r);
	run_finish(&r);
	run_start(&r2);
	/* the removed half is never touched again: the server waits for nothing */
	run_finish(&r2);
}

/* mremap moves the pages with the mapping (EVENT_REMAP), also lazily. */
static void test_lazy_mremap(void **state)
{
	struct run r = { .child = child_mremap, .no_prefetch = true };
	struct run r2 = { .child = child_mremap };

	(void)state;
	run_start(&r);
	run_finish(&r);
	run_start(&r2);
	run_finish(&r2);
}

/* Eager: every page is there before the child runs, no server. */
static void test_lazy_eager(void **state)
{
	struct run r = { .child = child_read_all, .eager = true };

	(void)state;
	run_start(&r);
	assert_int_equal(access(state_path, F_OK), -1);
	run_finish(&r);
}

static struct ct_cgroup *cg;

/* Whatever happened in the watchdog test: empty and remove its cgroup. */
static int teardown_cgroup(void **state)
{
	(void)state;
	if (!cg)
		return 0;
	cg_kill(cg, 2000);
	cg_destroy(cg);
	cg_close(cg);
	cg = NULL;
	reap_all();
	return 0;
}

/* kill -9 of the server: the watchdog kills the cgroup, and says why. */
static void test_lazy_watchdog(void **state)
{
	char *log, name[64];
	struct run r = { .child = child_slow, .no_prefetch = true };
	size_t len;
	int status;

	(void)state;
	snprintf(name, sizeof(name), "unit-lazy-%d", getpid());
	assert_int_equal(cg_create(name, &cg), 0);
	r.cgroup = cg;
	run_start(&r);
	usleep(200 * 1000);
	assert_int_equal(kill(r.server, SIGKILL), 0);
	assert_int_equal(wait_for(r.server, 10, &status), 0);
	assert_int_equal(wait_for(r.child_pid, 10, &r.status), 0);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGKILL);
	reap_all();
	assert_int_equal(cg_destroy(cg), 0);
	assert_int_equal(read_whole_file(log_path, &log, &len), 0);
	assert_non_null(strstr(log, "died before every page was resident"));
	assert_non_null(strstr(log, "killed"));
	free(log);
	unlink(state_path);
}

/* swp_for_each_run-style callback: put the run's pages into the generation. */
static int put_run(uint32_t task, uint64_t mapping, uint64_t addr, size_t nr, void *arg)
{
	static uint64_t buf[64 * PAGE_SIZE / 8];
	size_t done, i;
	int ret;

	for (done = 0; done < nr; done += i) {
		for (i = 0; i < 64 && done + i < nr; i++)
			page_expect(task, addr + (done + i) * PAGE_SIZE, buf + i * PAGE_SIZE / 8);
		ret = swp_put_pages(arg, task, mapping, addr + done * PAGE_SIZE, buf, i);
		if (ret)
			return ret;
	}
	return 0;
}

/* The same pages through a real swap area (swp_put_pages, swp_read). */
static void test_lazy_swap_area(void **state)
{
	struct run r = { .child = child_read_all, .swap = true };
	struct run r2 = { .child = child_fork, .swap = true, .no_prefetch = true };
	struct swp_gen_writer *w;
	struct swp_area *sa;
	unsigned gen;

	(void)state;
	assert_int_equal(swp_open(swap_path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa), 0);
	assert_int_equal(swp_gen_begin(sa, NULL, &w), 0);
	assert_int_equal(src_runs(NULL, TASK_KEY, put_run, w), 0);
	assert_int_equal(swp_gen_commit(w, &gen, NULL), 0);
	swp_close(sa);
	run_start(&r);
	run_finish(&r);
	run_start(&r2);
	assert_int_equal(r2.progress_ret, 0);
	assert_int_equal(r2.progress.total, stored_pages());
	run_finish(&r2);
}

/* A swap area that is not there: lazy_start fails and says so. */
static void test_lazy_no_swap_area(void **state)
{
	struct lazy_region reg = { .start = region, .end = region + REGION_LEN, .mapping = region };
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct lazy_mm mm = { .uffd = uffd, .task_key = TASK_KEY, .nr_regions = 1, .regions = &reg };
	struct lazy_opts opts = { .swap_path = "/nonexistent/swap", .log_path = log_path };
	pid_t server;
	char *log;
	size_t len;

	(void)state;
	assert_true(uffd >= 0);
	/* API only: a region of our own registered would make our fork wait for the event */
	assert_int_equal(lazy_uffd_setup(uffd, &reg, 0), 0);
	assert_true(lazy_start(&opts, &mm, 1, &server) < 0);
	assert_int_equal(server, 0);
	assert_int_equal(mm.uffd, uffd);	/* still the caller's */
	close(uffd);
	reap_all();
	assert_int_equal(read_whole_file(log_path, &log, &len), 0);
	assert_non_null(strstr(log, "cannot start"));
	free(log);
}

/*
 * The working-set file gives its pages back in the order they were first
 * faulted, each once (a later fault of a page counts where it came first),
 * and a sorted copy that answers "is this page in it?"; another
 * generation's file is stale.
 */
static void test_wset_order(void **state)
{
	static const struct wset_page rec[] = {
		{ .task = 7, .addr = 0x5000 }, { .task = 3, .addr = 0x9000 },
		{ .task = 7, .addr = 0x1000 }, { .task = 7, .addr = 0x5000 },
		{ .task = 3, .addr = 0x2000 }, { .task = 3, .addr = 0x9000 },
	};
	static const struct wset_page want[] = {
		{ .task = 7, .addr = 0x5000 }, { .task = 3, .addr = 0x9000 },
		{ .task = 7, .addr = 0x1000 }, { .task = 3, .addr = 0x2000 },
	};
	char path[] = "/tmp/test_wset.XXXXXX";
	struct wset_page *p, *sorted;
	size_t nr;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(wset_write(path, 5, rec, sizeof(rec) / sizeof(rec[0])), 0);
	assert_int_equal(wset_read(path, 5, &p, &sorted, &nr), 0);
	assert_int_equal(nr, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(p[i].task, want[i].task);
		assert_int_equal(p[i].addr, want[i].addr);
		assert_true(wset_has(sorted, nr, want[i].task, want[i].addr));
		assert_true(i == 0 || sorted[i - 1].task < sorted[i].task ||
			    (sorted[i - 1].task == sorted[i].task && sorted[i - 1].addr < sorted[i].addr));
	}
	assert_false(wset_has(sorted, nr, 7, 0x9000));
	assert_false(wset_has(sorted, nr, 3, 0x5000));
	free(p);
	free(sorted);
	assert_int_equal(wset_read(path, 6, &p, NULL, &nr), -ESTALE);
	unlink(path);
}

/* Fresh log and state paths per test. */
static int setup(void **state)
{
	(void)state;
	unlink(state_path);
	unlink(log_path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lazy_all_pages, setup),
		cmocka_unit_test_setup(test_lazy_faults_only, setup),
		cmocka_unit_test_setup(test_lazy_fork, setup),
		cmocka_unit_test_setup(test_lazy_dontneed, setup),
		cmocka_unit_test_setup(test_lazy_mremap, setup),
		cmocka_unit_test_setup(test_lazy_eager, setup),
		cmocka_unit_test_setup_teardown(test_lazy_watchdog, setup, teardown_cgroup),
		cmocka_unit_test_setup(test_lazy_swap_area, setup),
		cmocka_unit_test_setup(test_lazy_no_swap_area, setup),
		cmocka_unit_test(test_wset_order),
	};
	void *p;
	int ret;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_lazy.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(state_path, sizeof(state_path), "%s/lazy.state", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/lazy.log", tmpdir);
	snprintf(swap_path, sizeof(swap_path), "%s/swap", tmpdir);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* reserve an address for the region, never touched here, so children fault */
	p = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	region = (uint64_t)(uintptr_t)p;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	remove_tree(tmpdir);
	return ret;
}
