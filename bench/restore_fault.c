// SPDX-License-Identifier: MIT
/*
 * bench/restore_fault: the lazy server against the limits it works within,
 * measured in the same run.
 *   - per-fault latency (median, p99) seen by a process touching pages that
 *     the server fills from a swap area, against a bare UFFDIO_COPY round
 *     trip between two processes (a minimal server copying a static page);
 *   - prefetch throughput (a process whose region the server fills in the
 *     background, start to server exit) against the rate of writing fresh
 *     memory (memset into newly mmapped memory).
 * Prints CSV rows "bench,metric,value,unit,ratio_to,ratio" (bench/run.sh
 * appends them to bench/results/latest.csv).  BENCH_MIB sets the prefetch
 * size (default 128), BENCH_DIR the scratch directory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/lazy.h"
#include "mm/swaparea.h"

#define FAULTS		2000	/* faults measured per round */
#define STRIDE		64	/* pages between two touched pages: each touch faults */
#define ROUNDS		3
#define KEY_FAULT	1
#define KEY_PREFETCH	2

static char dir[256], swap_path[300], state_path[300], log_path[300];
static uint64_t fregion, pregion;	/* fault and prefetch regions (never touched here) */
static size_t pf_bytes;
static double *lat;			/* shared with the faulting child: µs per touch */

/* Fatal error: say why and stop. */
static void die(const char *what)
{
	fprintf(stderr, "restore_fault: %s: %s\n", what, ct_err_msg() ? ct_err_msg() : strerror(errno));
	exit(1);
}

/* One CSV row. */
static void row(const char *metric, double value, const char *unit, const char *to, double base)
{
	printf("restore_fault,%s,%.2f,%s,%s,%.3f\n", metric, value, unit, to,
	       base > 0 ? value / base : 0);
	fflush(stdout);
}

/* Microseconds on CLOCK_MONOTONIC. */
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Deterministic page content for @addr. */
static void page_fill(uint64_t addr, uint64_t *p)
{
	uint64_t x = addr * 0x9E3779B97F4A7C15ULL + 1;
	size_t i;

	for (i = 0; i < PAGE_SIZE / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
}

/* Write the swap area: one page every STRIDE in the fault region, all of the prefetch region. */
static void make_swap_area(void)
{
	static uint64_t buf[256 * PAGE_SIZE / 8];
	struct swp_gen_writer *w;
	struct swp_area *sa;
	unsigned gen;
	size_t i, j;

	if (swp_open(swap_path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa) ||
	    swp_gen_begin(sa, NULL, &w))
		die("swap area");
	for (i = 0; i < FAULTS; i++) {
		uint64_t a = fregion + i * STRIDE * PAGE_SIZE;

		page_fill(a, buf);
		if (swp_put_pages(w, KEY_FAULT, fregion, a, buf, 1))
			die("swp_put_pages");
	}
	for (i = 0; i < pf_bytes / PAGE_SIZE; i += 256) {
		for (j = 0; j < 256; j++)
			page_fill(pregion + (i + j) * PAGE_SIZE, buf + j * PAGE_SIZE / 8);
		if (swp_put_pages(w, KEY_PREFETCH, pregion, pregion + i * PAGE_SIZE, buf, 256))
			die("swp_put_pages");
	}
	if (swp_gen_commit(w, &gen, NULL))
		die("swp_gen_commit");
	swp_close(sa);
}

/* Send @fd over @sock. */
static void send_fd(int sock, int fd)
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
	if (sendmsg(sock, &mh, 0) != 1)
		_exit(90);
}

/* Receive an fd sent by send_fd. */
static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&mh))
		die("recvmsg");
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	return fd;
}

/* Child: touch one page every STRIDE, timing each touch; check contents (@check). */
static int child_faults(bool check)
{
	uint64_t want[PAGE_SIZE / 8];
	size_t i;

	for (i = 0; i < FAULTS; i++) {
		volatile uint64_t *p = (uint64_t *)(uintptr_t)(fregion + i * STRIDE * PAGE_SIZE);
		double t0 = now_us();

		(void)*p;
		lat[i] = now_us() - t0;
	}
	for (i = 0; check && i < FAULTS; i++) {
		page_fill(fregion + i * STRIDE * PAGE_SIZE, want);
		if (memcmp((void *)(uintptr_t)(fregion + i * STRIDE * PAGE_SIZE), want, PAGE_SIZE))
			return 1;
	}
	return 0;
}

/* Child: wait for the go byte, then the end byte (the server fills meanwhile), then check. */
static int child_prefetch(int sock)
{
	uint64_t want[PAGE_SIZE / 8];
	size_t i;
	char b;

	if (read(sock, &b, 1) != 1)
		return 2;
	for (i = 0; i < pf_bytes / PAGE_SIZE; i++) {
		page_fill(pregion + i * PAGE_SIZE, want);
		if (memcmp((void *)(uintptr_t)(pregion + i * PAGE_SIZE), want, PAGE_SIZE))
			return 1;
	}
	return 0;
}

struct child {
	pid_t pid;
	int sock;
	int uffd;
};

/* Fork a child that registers @len bytes at @addr with a uffd of its own and runs @fn. */
static void child_start(struct child *c, uint64_t addr, uint64_t len, int (*fn)(int), int arg)
{
	struct lazy_region reg = { .start = addr, .end = addr + len, .mapping = addr };
	int sv[2];
	char go;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	c->pid = fork();
	if (c->pid < 0)
		die("fork");
	if (c->pid == 0) {
		int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

		close(sv[0]);
		if (uffd < 0)
			_exit(91);
		send_fd(sv[1], uffd);
		close(uffd);
		if (read(sv[1], &go, 1) != 1)
			_exit(92);
		_exit(fn(arg < 0 ? sv[1] : arg));
	}
	close(sv[1]);
	c->sock = sv[0];
	c->uffd = recv_fd(c->sock);
	if (lazy_uffd_setup(c->uffd, &reg, 1))
		die("lazy_uffd_setup");
}

/* Let the child run. */
static void child_go(struct child *c)
{
	if (write(c->sock, "g", 1) != 1)
		die("go");
}

/* Wait for a child (or the server) and require a clean exit. */
static void child_wait(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "restore_fault: %s failed (status %#x)\n", what, status);
		exit(1);
	}
}

static int run_faults_check(int arg)
{
	return child_faults(arg);
}

/* The bare limit: a minimal server here copying a static page per fault. */
static void round_bare(double *out)
{
	static char page[PAGE_SIZE] __attribute__((aligned(4096)));
	struct child c;
	int done = 0;

	memset(page, 0x5a, sizeof(page));
	child_start(&c, fregion, FAULTS * STRIDE * PAGE_SIZE, run_faults_check, 0);
	child_go(&c);
	while (done < FAULTS) {
		struct pollfd pfd = { .fd = c.uffd, .events = POLLIN };
		struct uffd_msg m;

		if (poll(&pfd, 1, 1000) <= 0)
			die("bare server: no fault");
		if (read(c.uffd, &m, sizeof(m)) != sizeof(m)) {
			if (errno == EAGAIN)
				continue;
			die("bare server: read");
		}
		if (m.event == UFFD_EVENT_PAGEFAULT) {
			struct uffdio_copy cp = {
				.dst = m.arg.pagefault.address & ~(PAGE_SIZE - 1),
				.src = (uint64_t)(uintptr_t)page, .len = PAGE_SIZE,
			};

			if (ioctl(c.uffd, UFFDIO_COPY, &cp))
				die("bare server: UFFDIO_COPY");
			done++;
		}
	}
	child_wait(c.pid, "bare faulting child");
	close(c.uffd);
	close(c.sock);
	memcpy(out, lat, FAULTS * sizeof(double));
}

/* Through the lazy server (faults only: prefetch would answer before the faults). */
static void round_server(double *out)
{
	struct lazy_opts o = { .swap_path = swap_path, .state_path = state_path,
			       .log_path = log_path, .no_prefetch = true };
	struct lazy_region reg = { .start = fregion, .end = fregion + FAULTS * STRIDE * PAGE_SIZE,
				   .mapping = fregion };
	struct lazy_mm mm = { .task_key = KEY_FAULT, .nr_regions = 1, .regions = &reg };
	struct child c;
	pid_t server;

	child_start(&c, fregion, FAULTS * STRIDE * PAGE_SIZE, run_faults_check, 1);
	mm.uffd = c.uffd;
	mm.host_pid = c.pid;
	if (lazy_start(&o, &mm, 1, &server))
		die("lazy_start");
	child_go(&c);
	child_wait(c.pid, "faulting child (wrong page contents?)");
	child_wait(server, "lazy server");
	close(c.sock);
	memcpy(out, lat, FAULTS * sizeof(double));
}

/* MiB/s of memset into newly mmapped memory. */
static double fresh_write_rate(void)
{
	void *p = mmap(NULL, pf_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, t;

	if (p == MAP_FAILED)
		die("mmap");
	t0 = now_us();
	memset(p, 1, pf_bytes);
	t = now_us() - t0;
	munmap(p, pf_bytes);
	return (pf_bytes / 1048576.0) / (t / 1e6);
}

static int run_prefetch_child(int sock)
{
	return child_prefetch(sock);
}

/* MiB/s of the server filling a whole region in the background, start to exit. */
static double prefetch_rate(void)
{
	struct lazy_opts o = { .swap_path = swap_path, .state_path = state_path,
			       .log_path = log_path };
	struct lazy_region reg = { .start = pregion, .end = pregion + pf_bytes, .mapping = pregion };
	struct lazy_mm mm = { .task_key = KEY_PREFETCH, .nr_regions = 1, .regions = &reg };
	struct child c;
	pid_t server;
	double t0, t;

	child_start(&c, pregion, pf_bytes, run_prefetch_child, -1);
	child_go(&c);
	mm.uffd = c.uffd;
	mm.host_pid = c.pid;
	t0 = now_us();
	if (lazy_start(&o, &mm, 1, &server))
		die("lazy_start");
	child_wait(server, "lazy server");
	t = now_us() - t0;
	if (write(c.sock, "e", 1) != 1)
		die("end");
	child_wait(c.pid, "prefetch child (wrong page contents?)");
	close(c.sock);
	return (pf_bytes / 1048576.0) / (t / 1e6);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The @q quantile of @v (sorted in place). */
static double quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(q * (n - 1))];
}

/* Reap leftovers (watchdogs end once their server said done). */
static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	const char *d = getenv("BENCH_DIR");
	size_t mib = getenv("BENCH_MIB") ? strtoul(getenv("BENCH_MIB"), NULL, 10) : 128;
	double *bare = calloc(ROUNDS * FAULTS, sizeof(double));
	double *srv = calloc(ROUNDS * FAULTS, sizeof(double));
	double fresh[ROUNDS], pf[ROUNDS], bm, bp, sm, sp, fm, pm;
	void *p;
	int r;

	if (!bare || !srv)
		die("calloc");
	pf_bytes = mib << 20;
	snprintf(dir, sizeof(dir), "%s", d ? d : "/var/tmp/ctswap-bench-fault");
	remove_tree(dir);
	if (mkdir_p(dir, 0700))
		die(dir);
	snprintf(swap_path, sizeof(swap_path), "%s/swap", dir);
	snprintf(state_path, sizeof(state_path), "%s/lazy.state", dir);
	snprintf(log_path, sizeof(log_path), "%s/lazy.log", dir);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	lat = mmap(NULL, FAULTS * sizeof(double), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p = mmap(NULL, FAULTS * STRIDE * PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (lat == MAP_FAILED || p == MAP_FAILED)
		die("mmap");
	fregion = (uint64_t)(uintptr_t)p;
	p = mmap(NULL, pf_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	pregion = (uint64_t)(uintptr_t)p;
	make_swap_area();

	/* interleave the rounds so both sides see the same machine state */
	for (r = 0; r < ROUNDS; r++) {
		round_bare(bare + r * FAULTS);
		round_server(srv + r * FAULTS);
		reap();
	}
	for (r = 0; r < ROUNDS; r++) {
		fresh[r] = fresh_write_rate();
		pf[r] = prefetch_rate();
		reap();
	}
	bm = quantile(bare, ROUNDS * FAULTS, 0.5);
	bp = quantile(bare, ROUNDS * FAULTS, 0.99);
	sm = quantile(srv, ROUNDS * FAULTS, 0.5);
	sp = quantile(srv, ROUNDS * FAULTS, 0.99);
	fm = quantile(fresh, ROUNDS, 0.5);
	pm = quantile(pf, ROUNDS, 0.5);
	printf("# %d faults x %d rounds, one page every %d; prefetch %zu MiB x %d rounds (medians)\n",
	       FAULTS, ROUNDS, STRIDE, mib, ROUNDS);
	row("fault_bare_median", bm, "us", "", 0);
	row("fault_bare_p99", bp, "us", "", 0);
	row("fault_server_median", sm, "us", "fault_bare_median", bm);
	row("fault_server_p99", sp, "us", "fault_bare_p99", bp);
	row("fresh_write", fm, "MiB/s", "", 0);
	row("prefetch", pm, "MiB/s", "fresh_write", fm);
	remove_tree(dir);
	free(bare);
	free(srv);
	return 0;
}
