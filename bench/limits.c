// SPDX-License-Identifier: MIT
/*
 * bench/limits: the machine's own limits, measured in the same run as the
 * checkpoint/restore figures so those can be given as ratios to them.
 *   memcpy       copying between two buffers already in use (MiB/s)
 *   fresh_write  memset into newly mmapped memory: first touch of every page
 *   seq_write    writing a file sequentially in the store's directory,
 *                fdatasync included (what a dump's pages go through)
 *   seq_read     reading that file back after dropping the page cache
 * A bare UFFDIO_COPY round trip is measured by bench/restore_fault.
 * Prints CSV rows "bench,metric,value,unit,ratio_to,ratio".
 * BENCH_STORE is the store directory (default /var/tmp/ctswap-bench);
 * BENCH_LIMIT_MIB the size of the file (default 1024).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB		(1024UL * 1024UL)
#define MEM_MIB		256	/* buffer size for the memory figures */
#define ROUNDS		5
#define IO_CHUNK	(1 * MIB)

/* Fatal error: say what failed and stop. */
static void die(const char *what)
{
	fprintf(stderr, "limits: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Seconds on CLOCK_MONOTONIC. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One CSV row; limits are the base of other ratios, so they have none. */
static void row(const char *metric, double value, const char *unit)
{
	printf("limits,%s,%.1f,%s,,\n", metric, value, unit);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @n values (sorted in place). */
static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Map @len bytes of private anonymous memory. */
static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* MiB/s of memcpy between two buffers whose pages are all present. */
static double memcpy_rate(void)
{
	size_t len = MEM_MIB * MIB;
	char *a = map_anon(len), *b = map_anon(len);
	double r[ROUNDS];
	int i;

	memset(a, 0x5a, len);
	memset(b, 0xa5, len);
	for (i = 0; i < ROUNDS; i++) {
		double t0 = now_s();

		memcpy(i & 1 ? a : b, i & 1 ? b : a, len);
		r[i] = MEM_MIB / (now_s() - t0);
	}
	munmap(a, len);
	munmap(b, len);
	return median(r, ROUNDS);
}

/* MiB/s of memset into memory mapped just before: every page is a first touch. */
static double fresh_write_rate(void)
{
	size_t len = MEM_MIB * MIB;
	double r[ROUNDS];
	int i;

	for (i = 0; i < ROUNDS; i++) {
		char *p = map_anon(len);
		double t0 = now_s();

		memset(p, 1, len);
		r[i] = MEM_MIB / (now_s() - t0);
		munmap(p, len);
	}
	return median(r, ROUNDS);
}

/* Fill @buf with non-repeating bytes (no layer below may shrink them). */
static void fill_random(uint64_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;

	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = x;
	}
}

/* MiB/s of writing @mib MiB to @path in 1 MiB writes, fdatasync included. */
static double seq_write_rate(const char *path, size_t mib)
{
	uint64_t *buf = map_anon(IO_CHUNK);
	double t0, t;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(path);
	t0 = now_s();
	for (size_t i = 0; i < mib; i++) {
		fill_random(buf, IO_CHUNK, i + 1);
		if (write(fd, buf, IO_CHUNK) != (ssize_t)IO_CHUNK)
			die("write");
	}
	if (fdatasync(fd))
		die("fdatasync");
	t = now_s() - t0;
	close(fd);
	munmap(buf, IO_CHUNK);
	return mib / t;
}

/* Drop clean page cache so the next read comes from the disk; false if not allowed. */
static bool drop_caches(void)
{
	int fd;
	bool ok;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = write(fd, "3", 1) == 1;
	close(fd);
	return ok;
}

/* MiB/s of reading @path sequentially in 1 MiB reads. */
static double seq_read_rate(const char *path)
{
	char *buf = map_anon(IO_CHUNK);
	size_t total = 0;
	double t0, t;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	t0 = now_s();
	while ((n = read(fd, buf, IO_CHUNK)) > 0)
		total += n;
	if (n < 0)
		die("read");
	t = now_s() - t0;
	close(fd);
	munmap(buf, IO_CHUNK);
	return total / (double)MIB / t;
}

int main(void)
{
	const char *store = getenv("BENCH_STORE") ? getenv("BENCH_STORE") : "/var/tmp/ctswap-bench";
	size_t mib = getenv("BENCH_LIMIT_MIB") ? strtoul(getenv("BENCH_LIMIT_MIB"), NULL, 10) : 1024;
	char path[4096];
	bool dropped;

	if (!mib)
		mib = 1024;
	if (mkdir(store, 0700) && errno != EEXIST)
		die(store);
	snprintf(path, sizeof(path), "%s/limits-seq.tmp", store);
	row("memcpy", memcpy_rate(), "MiB/s");
	row("fresh_write", fresh_write_rate(), "MiB/s");
	row("seq_write", seq_write_rate(path, mib), "MiB/s");
	dropped = drop_caches();
	if (!dropped)
		printf("# limits: cannot drop the page cache (not root?): seq_read is from the cache\n");
	row(dropped ? "seq_read" : "seq_read_cached", seq_read_rate(path), "MiB/s");
	printf("# limits: memory %d MiB x %d rounds (median), store file %zu MiB in %s\n",
	       MEM_MIB, ROUNDS, mib, store);
	unlink(path);
	return 0;
}
