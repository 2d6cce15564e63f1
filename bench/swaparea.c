// SPDX-License-Identifier: MIT
/*
 * Swap area benchmark: push BENCH_MIB (default 1024) MiB of pages through
 * swp_put_pages in three mixes (random, 50% zero, 50% duplicate) and with
 * --compress on compressible pages, then read them back lazily (random
 * 4 KiB reads, 2 MiB batches) from a cold page cache.  Throughput is
 * printed as CSV rows "bench,metric,value,unit,ratio_to,ratio", each as a
 * ratio to memcpy bandwidth or to the sequential write (or read)
 * bandwidth of the same file system measured in the same run.
 * The area lives in $BENCH_DIR (default /var/tmp/ctswap-bench).
 * `swaparea --lzma-sweep` prints the preset/cluster-size measurement.
 */
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/swaparea.h"

#define PG 4096
#define CHUNK_PAGES 16384		/* 64 MiB source buffer, pushed again and again */
#define CALL_PAGES 256			/* pages per swp_put_pages call */

static char dir[256], path[300];
static uint8_t *src;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double memcpy_mbs, seqw_mbs, seqr_mbs;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void row(const char *metric, double value, const char *unit, const char *to, double base)
{
	printf("swaparea,%s,%.1f,%s,%s,%.3f\n", metric, value, unit, to, base ? value / base : 0);
	fflush(stdout);
}

/* memcpy bandwidth on warm buffers. */
static void measure_memcpy(void)
{
	size_t len = (size_t)CHUNK_PAGES * PG;
	uint8_t *dst = malloc(len);
	double t;

	memset(dst, 1, len);
	memcpy(dst, src, len);
	t = now_ms();
	for (int i = 0; i < 8; i++) {
		src[i] = i;
		memcpy(dst, src, len);
	}
	t = now_ms() - t;
	memcpy_mbs = 8.0 * len / (1 << 20) / (t / 1e3);
	free(dst);
	row("memcpy", memcpy_mbs, "MiB/s", "", 0);
}

/* Plain sequential write of @mib MiB in 1 MiB writes plus fdatasync, then a cold sequential read. */
static void measure_seq(size_t mib)
{
	char p[320];
	double t;
	int fd;

	snprintf(p, sizeof(p), "%s/seq", dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	t = now_ms();
	for (size_t i = 0; i < mib; i++) {
		src[(i * 256) % CHUNK_PAGES * PG] = i;
		if (pwrite_all(fd, src + (i * 256 % CHUNK_PAGES) * PG, 1 << 20, (off_t)i << 20))
			abort();
	}
	fdatasync(fd);
	t = now_ms() - t;
	seqw_mbs = mib / (t / 1e3);
	row("seq_write", seqw_mbs, "MiB/s", "memcpy", memcpy_mbs);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	t = now_ms();
	for (size_t i = 0; i < mib; i++)
		if (pread_all(fd, src, 1 << 20, (off_t)i << 20))
			abort();
	t = now_ms() - t;
	seqr_mbs = mib / (t / 1e3);
	row("seq_read", seqr_mbs, "MiB/s", "memcpy", memcpy_mbs);
	close(fd);
	unlink(p);
}

enum mix { MIX_RANDOM, MIX_ZERO, MIX_DUP, MIX_TEXT };

/* Shape the source buffer for a mix: which pages get stamped per pass. */
static void fill_mix(enum mix mix, uint8_t *stamp)
{
	for (size_t i = 0; i < CHUNK_PAGES; i++) {
		uint8_t *p = src + i * PG;

		stamp[i] = 1;
		if (mix == MIX_ZERO && rnd() % 2) {
			memset(p, 0, PG);
			stamp[i] = 0;
		} else if (mix == MIX_DUP && rnd() % 2) {
			memset(p, 0, PG);	/* one of 64 common pages */
			memset(p, 1 + rnd() % 64, 64);
			stamp[i] = 0;
		} else if (mix == MIX_TEXT) {
			for (int k = 0; k < PG; k++)
				p[k] = "the quick brown fox jumps over the lazy dog; "[(k * 7 + rnd() % 3) % 45];
		} else {
			for (int k = 0; k < PG; k += 8) {
				uint64_t v = rnd();

				memcpy(p + k, &v, 8);
			}
		}
	}
}

/* Lazy-server reads from a cold cache: random single pages, then 2 MiB batches in address order. */
static void read_bench(struct swp_area *sa, size_t pages)
{
	static uint8_t buf[512 * PG], state[512];
	struct swp_gen_reader *r;
	int fd = open(path, O_RDONLY);
	int n = 4096;
	double t;

	if (fd < 0 || swp_gen_open(sa, 0, &r))
		abort();
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	t = now_ms();
	for (int i = 0; i < n; i++)
		if (swp_read(r, 1, (rnd() % pages) * PG, 1, buf, state) || state[0] != SWP_PAGE_DATA)
			abort();
	t = now_ms() - t;
	row("read_4k_random_us", t * 1e3 / n, "us", "", 0);
	row("read_4k_random", n * 4.0 / 1024 / (t / 1e3), "MiB/s", "seq_read", seqr_mbs);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	t = now_ms();
	for (size_t p = 0; p + 512 <= pages; p += 512)
		if (swp_read(r, 1, p * PG, 512, buf, state))
			abort();
	t = now_ms() - t;
	row("read_2m_batch", pages / 256.0 / (t / 1e3), "MiB/s", "seq_read", seqr_mbs);
	swp_gen_close(r);
	close(fd);
}

/* Put @pages pages of the shaped source; with @change, one stamped page in 10 differs. */
static int push_gen(struct swp_gen_writer *w, const uint8_t *stamp, size_t pages, bool change)
{
	size_t done = 0;

	for (uint64_t pass = 0; done < pages; pass++) {
		for (size_t i = 0; i < CHUNK_PAGES; i++) {	/* make every pass's pages new */
			uint64_t v = pass | (change && i % 10 == 0 ? 1ull << 40 : 0);

			if (stamp[i])
				memcpy(src + i * PG, &v, 8);
		}
		for (size_t i = 0; i < CHUNK_PAGES && done < pages; i += CALL_PAGES, done += CALL_PAGES)
			if (swp_put_pages(w, 1, 0, done * PG, src + i * PG, CALL_PAGES))
				return -1;
	}
	return 0;
}

/* Push @mib MiB of the mix as one generation; print throughput. */
static void push(const char *name, enum mix mix, bool compress, size_t mib)
{
	struct swp_write_opts o = { .compress = compress, .keep = 1 };
	struct swp_gen_writer *w;
	struct swp_gen_stats st;
	struct swp_area *sa;
	static uint8_t stamp[CHUNK_PAGES];
	size_t pages = mib * 256;
	char metric[64];
	unsigned gen;
	double t;

	fill_mix(mix, stamp);
	remove_tree(dir);	/* a fresh area for each mix */
	mkdir_p(dir, 0700);
	if (swp_open(path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa) || swp_gen_begin(sa, &o, &w))
		goto fail;
	t = now_ms();
	if (push_gen(w, stamp, pages, false))
		goto fail;
	if (swp_gen_commit(w, &gen, &st))
		goto fail;
	t = now_ms() - t;
	snprintf(metric, sizeof(metric), "push_%s", name);
	row(metric, mib / (t / 1e3), "MiB/s", "seq_write", seqw_mbs);
	snprintf(metric, sizeof(metric), "push_%s_vs_memcpy", name);
	row(metric, mib / (t / 1e3), "MiB/s", "memcpy", memcpy_mbs);
	snprintf(metric, sizeof(metric), "push_%s_disk", name);
	row(metric, st.bytes_written / 1048576.0, "MiB", "input", mib);
	if (mix == MIX_RANDOM && !compress) {
		read_bench(sa, pages);
		/* an incremental generation: one stamped page in ten changed */
		if (swp_gen_begin(sa, &o, &w))
			goto fail;
		t = now_ms();
		if (push_gen(w, stamp, pages, true) || swp_gen_commit(w, &gen, &st))
			goto fail;
		t = now_ms() - t;
		row("push_incremental_10pct", mib / (t / 1e3), "MiB/s", "seq_write", seqw_mbs);
		row("push_incremental_10pct_disk", st.bytes_written / 1048576.0, "MiB", "input", mib);
	}
	swp_close(sa);
	return;
fail:
	fprintf(stderr, "bench: %s\n", ct_err_msg() ? ct_err_msg() : "failed");
	exit(1);
}

/* Compression ratio and speed of lzma presets and cluster sizes on program-like data. */
static void lzma_sweep(void)
{
	static const char *files[] = { "/usr/bin/gdb", "/usr/lib/x86_64-linux-gnu/libc.so.6",
				       "/usr/bin/python3", "/usr/share/common-licenses/GPL-3", NULL };
	size_t len = 0, cap = 64 << 20;
	uint8_t *in = malloc(cap), *out = malloc(1 << 20);

	for (int f = 0; files[f] && len < cap; f++) {
		int fd = open(files[f], O_RDONLY);
		ssize_t n;

		while (fd >= 0 && len < cap && (n = read(fd, in + len, cap - len)) > 0)
			len += n;
		if (fd >= 0)
			close(fd);
	}
	len = len / 262144 * 262144;
	if (len > (16 << 20))
		len = 16 << 20;
	printf("# lzma sweep over %zu MiB of binaries and text\n", len >> 20);
	for (unsigned preset = 0; preset <= 3; preset++) {
		for (size_t cl = 16384; cl <= 262144; cl *= 4) {
			lzma_options_lzma opt;
			lzma_filter flt[2] = { { LZMA_FILTER_LZMA2, &opt }, { LZMA_VLI_UNKNOWN, NULL } };
			size_t total = 0;
			double t, td;

			lzma_stream enc = LZMA_STREAM_INIT, dec = LZMA_STREAM_INIT;

			lzma_lzma_preset(&opt, preset);
			opt.dict_size = cl;	/* a dictionary larger than the cluster only costs set-up time */
			t = now_ms();
			td = 0;
			for (size_t off = 0; off < len; off += cl) {	/* reused streams, as the engine does */
				size_t clen;
				double t0;

				if (lzma_raw_encoder(&enc, flt) != LZMA_OK)
					abort();
				enc.next_in = in + off;
				enc.avail_in = cl;
				enc.next_out = out;
				enc.avail_out = 1 << 20;
				if (lzma_code(&enc, LZMA_FINISH) != LZMA_STREAM_END)
					abort();
				clen = (1 << 20) - enc.avail_out;
				total += (clen + 32 + PG - 1) / PG * PG;	/* whole blocks with the header, as stored */
				t0 = now_ms();
				if (lzma_raw_decoder(&dec, flt) != LZMA_OK)
					abort();
				dec.next_in = out;
				dec.avail_in = clen;
				dec.next_out = src;
				dec.avail_out = cl;
				if (lzma_code(&dec, LZMA_FINISH) == LZMA_DATA_ERROR)
					abort();
				td += now_ms() - t0;
			}
			t = now_ms() - t - td;
			lzma_end(&enc);
			lzma_end(&dec);
			printf("# lzma preset %u cluster %zuk: size ratio %.3f, compress %.1f MiB/s, decompress %.1f MiB/s\n",
			       preset, cl >> 10, (double)total / len, (len >> 20) / (t / 1e3),
			       (len >> 20) / (td / 1e3));
		}
	}
	free(in);
	free(out);
}

int main(int argc, char **argv)
{
	const char *d = getenv("BENCH_DIR");
	size_t mib = getenv("BENCH_MIB") ? strtoul(getenv("BENCH_MIB"), NULL, 10) : 1024;

	src = malloc((size_t)CHUNK_PAGES * PG);
	memset(src, 0, (size_t)CHUNK_PAGES * PG);
	if (argc > 1 && !strcmp(argv[1], "--lzma-sweep")) {
		lzma_sweep();
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", d ? d : "/var/tmp/ctswap-bench");
	mkdir_p(dir, 0700);
	snprintf(path, sizeof(path), "%s/swap", dir);
	measure_memcpy();
	measure_seq(mib);
	push("random", MIX_RANDOM, false, mib);
	push("zero50", MIX_ZERO, false, mib);
	push("dup50", MIX_DUP, false, mib);
	push("text_compress", MIX_TEXT, true, mib / 4);
	push("random_compress", MIX_RANDOM, true, mib / 4);
	remove_tree(dir);
	return 0;
}
