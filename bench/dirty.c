// SPDX-License-Identifier: MIT
/*
 * Dirty tracking for pre-copy, measured in one process on BENCH_MIB
 * (default 1024) MiB of filled memory of which BENCH_DIRTY_PCT (default 5)
 * percent of the pages are rewritten after the pre-copy:
 *
 *  uffd-wp    userfaultfd write-protect with UFFD_FEATURE_WP_ASYNC (the
 *             kernel has no soft-dirty bits): arm = register + protect the
 *             range; the rewrites then take one write fault per page,
 *             resolved by the kernel; the scan = PAGEMAP_SCAN for
 *             PAGE_IS_WRITTEN (re-protecting what it reports).
 *  hash       what the swap area does without tracking: read every page
 *             (pread of /proc/self/mem, as a snapshot dump does) and hash
 *             it with XXH3-128, to compare with the hashes of the pre-copy.
 *
 * Rows "dirty,metric,value,unit,ratio_to,ratio".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xxhash.h>

#include "lib/util.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#endif

#define PG 4096UL
#define READ_CHUNK (4UL << 20)

static void row(const char *metric, double value, const char *unit, const char *to, double base)
{
	printf("dirty,%s,%.2f,%s,%s,%.3f\n", metric, value, unit, to, base ? value / base : 0);
	fflush(stdout);
}

/* Rewrite every @step-th page of @p (the "workload" after the pre-copy). */
static void rewrite(uint8_t *p, size_t pages, size_t step, uint8_t v)
{
	for (size_t i = 0; i < pages; i += step)
		memset(p + i * PG, v, PG);
}

/* Register @p for async write-protection and protect it all. */
static int uffd_arm(uint8_t *p, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	struct uffdio_register reg = { .range = { (uintptr_t)p, len }, .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { (uintptr_t)p, len },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg) ||
	    ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		perror("dirty: userfaultfd");
		exit(1);
	}
	return fd;
}

/* PAGEMAP_SCAN for written pages of @p, re-protecting them; returns their number. */
static uint64_t scan_written(int pm, uint8_t *p, size_t len)
{
	static struct page_region vec[4096];
	struct pm_scan_arg a;
	uint64_t pos = (uintptr_t)p, end = pos + len, n = 0;

	while (pos < end) {
		long r;

		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
		a.start = pos;
		a.end = end;
		a.vec = (uintptr_t)vec;
		a.vec_len = 4096;
		a.category_mask = PAGE_IS_WRITTEN;
		a.return_mask = PAGE_IS_WRITTEN;
		r = ioctl(pm, PAGEMAP_SCAN, &a);
		if (r < 0) {
			perror("dirty: PAGEMAP_SCAN");
			exit(1);
		}
		for (long i = 0; i < r; i++)
			n += (vec[i].end - vec[i].start) / PG;
		if (a.walk_end <= pos)
			break;
		pos = a.walk_end;
	}
	return n;
}

/* Read all of @p through /proc/self/mem and hash each page. */
static uint64_t read_and_hash(uint8_t *p, size_t len)
{
	uint8_t *buf = malloc(READ_CHUNK);
	int fd = open("/proc/self/mem", O_RDONLY);
	uint64_t acc = 0;

	for (size_t off = 0; off < len; off += READ_CHUNK) {
		size_t n = len - off < READ_CHUNK ? len - off : READ_CHUNK;

		if (pread_all(fd, buf, n, (off_t)(uintptr_t)(p + off))) {
			perror("dirty: pread");
			exit(1);
		}
		for (size_t i = 0; i < n; i += PG)
			acc ^= XXH3_128bits(buf + i, PG).low64;
	}
	close(fd);
	free(buf);
	return acc;
}

int main(void)
{
	size_t mib = getenv("BENCH_MIB") ? strtoul(getenv("BENCH_MIB"), NULL, 0) : 1024;
	size_t pct = getenv("BENCH_DIRTY_PCT") ? strtoul(getenv("BENCH_DIRTY_PCT"), NULL, 0) : 5;
	size_t len = mib << 20, pages = len / PG, step = pct ? 100 / pct : pages;
	double t, arm, scan, plain_w, wp_w, hash;
	uint64_t found;
	uint8_t *p;
	int uffd, pm;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < len; i += 8)
		*(uint64_t *)(p + i) = i * 0x9e3779b97f4a7c15ull;
	pm = open("/proc/self/pagemap", O_RDONLY);

	t = now_ms();
	rewrite(p, pages, step, 1);
	plain_w = now_ms() - t;

	t = now_ms();
	uffd = uffd_arm(p, len);
	arm = now_ms() - t;
	t = now_ms();
	rewrite(p, pages, step, 2);
	wp_w = now_ms() - t;
	t = now_ms();
	found = scan_written(pm, p, len);
	scan = now_ms() - t;
	if (found != (pages + step - 1) / step)
		fprintf(stderr, "dirty: scan found %llu written pages, %zu were\n",
			(unsigned long long)found, (pages + step - 1) / step);

	t = now_ms();
	(void)read_and_hash(p, len);
	hash = now_ms() - t;

	printf("# %zu MiB, %zu%% of the pages rewritten (%llu pages)\n", mib, pct,
	       (unsigned long long)found);
	row("uffd_arm", arm, "ms", "", 0);
	row("rewrite_plain", plain_w, "ms", "", 0);
	row("rewrite_wp", wp_w, "ms", "rewrite_plain", plain_w);
	row("wp_fault_cost", found ? (wp_w - plain_w) * 1000.0 / found : 0, "us/page", "", 0);
	row("uffd_scan", scan, "ms", "hash_all", hash);
	row("hash_all", hash, "ms", "uffd_scan", scan);
	close(uffd);
	close(pm);
	return 0;
}
