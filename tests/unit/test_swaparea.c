// SPDX-License-Identifier: MIT
/* Unit tests for the swap area: round trips, elision, reuse, crashes, damaged files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/swaparea.h"
#include "mm/swaparea_int.h"	/* the index layout, for crafting damaged and old indexes */
#include <lzma.h>

#define PG 4096
#define NPAGES 256		/* pages per task mapping in the model */
#define NTASKS 2
#define MAP_A 0x7f0000000000ull

static char dir[256];
static char path[300];
static uint64_t rng = 88172645463325252ull;

/* xorshift: reproducible random numbers. */
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = rnd();

		memcpy(p + i, &v, 8);
	}
}

static bool page_is_zero(const uint8_t *p)
{
	for (int i = 0; i < PG; i++)
		if (p[i])
			return false;
	return true;
}

/* A model generation: per task NPAGES pages, a present flag per page. */
struct model {
	uint8_t data[NTASKS][NPAGES * PG];
	uint8_t present[NTASKS][NPAGES];
};

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_swaparea.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/swap", dir);
	ct_log_set_level(-1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unsetenv("CTSWAP_FAULT");
	remove_tree(dir);
	return 0;
}

/* Make a generation: random, zero and duplicate pages, some absent. */
static void model_random(struct model *m)
{
	for (int t = 0; t < NTASKS; t++) {
		for (int i = 0; i < NPAGES; i++) {
			uint8_t *p = m->data[t] + (size_t)i * PG;
			int kind = rnd() % 10;

			m->present[t][i] = kind != 0;
			if (kind <= 2)
				memset(p, 0, PG);
			else if (kind <= 4 && i > 0)
				memcpy(p, m->data[t] + (rnd() % i) * PG, PG);
			else if (kind == 5)
				memset(p, 0x5a, PG);	/* the same page everywhere */
			else
				fill_random(p, PG);
		}
	}
}

/* Change a quarter of the pages of @m. */
static void model_mutate(struct model *m)
{
	for (int t = 0; t < NTASKS; t++)
		for (int i = 0; i < NPAGES; i++)
			if (rnd() % 4 == 0) {
				m->present[t][i] = 1;
				fill_random(m->data[t] + (size_t)i * PG, PG);
			}
}

/* Write @m as a generation: present pages in runs, second mapping from page 128. */
static unsigned model_write(struct swp_area *sa, const struct model *m, bool compress, unsigned keep,
			    struct swp_gen_stats *st)
{
	struct swp_write_opts o = { .compress = compress, .keep = keep };
	struct swp_gen_writer *w;
	unsigned gen = 0;

	assert_int_equal(swp_gen_begin(sa, &o, &w), 0);
	for (int t = 0; t < NTASKS; t++) {
		int i = 0;

		while (i < NPAGES) {
			int j = i;

			if (!m->present[t][i]) {
				i++;
				continue;
			}
			while (j < NPAGES && m->present[t][j] && (j != 128 || j == i))
				j++;
			assert_int_equal(swp_put_pages(w, t + 10, MAP_A + (i >= 128 ? 128 * PG : 0),
						       MAP_A + (uint64_t)i * PG, m->data[t] + (size_t)i * PG,
						       j - i), 0);
			i = j;
		}
	}
	assert_int_equal(swp_gen_commit(w, &gen, st), 0);
	return gen;
}

/* Read generation @gen back and compare it with @m bit for bit. */
static void model_check(struct swp_area *sa, unsigned gen, const struct model *m)
{
	struct swp_gen_reader *r;
	static uint8_t buf[NPAGES * PG];
	uint8_t state[NPAGES];

	assert_int_equal(swp_gen_open(sa, gen, &r), 0);
	for (int t = 0; t < NTASKS; t++) {
		assert_int_equal(swp_read(r, t + 10, MAP_A, NPAGES, buf, state), 0);
		for (int i = 0; i < NPAGES; i++) {
			const uint8_t *want = m->data[t] + (size_t)i * PG;

			if (!m->present[t][i]) {
				assert_int_equal(state[i], SWP_PAGE_NONE);
				continue;
			}
			assert_int_not_equal(state[i], SWP_PAGE_NONE);
			assert_memory_equal(buf + (size_t)i * PG, want, PG);
			assert_int_equal(state[i] == SWP_PAGE_ZERO, page_is_zero(want));
		}
		/* a single page, and a range before the mapping, read alone */
		assert_int_equal(swp_read(r, t + 10, MAP_A + 77 * PG, 1, buf, state), 0);
		if (m->present[t][77])
			assert_memory_equal(buf, m->data[t] + 77 * PG, PG);
		assert_int_equal(swp_read(r, t + 10, MAP_A - 4 * PG, 4, buf, state), 0);
		assert_int_equal(state[0] | state[1] | state[2] | state[3], SWP_PAGE_NONE);
	}
	assert_int_equal(swp_read(r, 99, MAP_A, 8, buf, state), 0);
	assert_int_equal(state[0], SWP_PAGE_NONE);
	swp_gen_close(r);
}

/* Count the present pages of a generation through swp_for_each_run. */
static int count_run(uint32_t task, uint64_t mapping, uint64_t addr, size_t nr, void *arg)
{
	size_t *n = arg;

	assert_true(task == 10 || task == 11);
	assert_true(mapping <= addr);
	assert_true(addr + nr * PG <= mapping + 128 * PG || mapping == MAP_A + 128 * PG);
	*n += nr;
	return 0;
}

static size_t model_count(const struct model *m)
{
	size_t n = 0;

	for (int t = 0; t < NTASKS; t++)
		for (int i = 0; i < NPAGES; i++)
			n += m->present[t][i];
	return n;
}

static struct model *models(int n)
{
	struct model *m = calloc(n, sizeof(*m));

	assert_non_null(m);
	return m;
}

/* Several generations, kept and dropped, read back bit for bit, also after reopening. */
static void test_roundtrip(void **state)
{
	struct model *m = models(5);
	struct swp_identity id = { .name = "rt", .uuid_lo = 1, .uuid_hi = 2 };
	struct swp_gen_reader *r;
	struct swp_area *sa;
	unsigned gens[8];
	size_t nr, n;

	(void)state;
	assert_int_equal(swp_open(path, &id, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa), 0);
	assert_int_equal(swp_current_gen(sa), 0);
	assert_int_equal(swp_gen_open(sa, 0, &r), -ENOENT);
	model_random(&m[0]);
	for (int g = 0; g < 5; g++) {
		if (g) {
			memcpy(&m[g], &m[g - 1], sizeof(*m));
			model_mutate(&m[g]);
		}
		assert_int_equal(model_write(sa, &m[g], g % 2, 3, NULL), g + 1);
		for (int k = g > 2 ? g - 2 : 0; k <= g; k++)
			model_check(sa, k + 1, &m[k]);
	}
	assert_int_equal(swp_generations(sa, gens, 8, &nr), 0);
	assert_int_equal(nr, 3);
	assert_int_equal(gens[0], 3);
	assert_int_equal(gens[2], 5);
	assert_int_equal(swp_gen_open(sa, 1, &r), -ENOENT);
	swp_close(sa);

	assert_int_equal(swp_open(path, NULL, 0, &sa), 0);
	assert_string_equal(swp_area_identity(sa)->name, "rt");
	assert_int_equal(swp_current_gen(sa), 5);
	for (int k = 2; k < 5; k++)
		model_check(sa, k + 1, &m[k]);
	assert_int_equal(swp_gen_open(sa, 0, &r), 0);
	n = 0;
	assert_int_equal(swp_for_each_run(r, UINT32_MAX, count_run, &n), 0);
	assert_int_equal(n, model_count(&m[4]));
	swp_gen_close(r);
	/* another container's identity is refused */
	swp_close(sa);
	id.uuid_lo = 7;
	assert_int_equal(swp_open(path, &id, 0, &sa), -EUCLEAN);
	free(m);
}

/* Zero, duplicate and unchanged pages take no slot, and the counts say so. */
static void test_elision(void **state)
{
	static uint8_t buf[300 * PG];
	struct swp_gen_stats st;
	struct swp_gen_writer *w;
	struct swp_area *sa;
	struct stat sb;
	unsigned gen;

	(void)state;
	memset(buf, 0, sizeof(buf));
	fill_random(buf + 100 * PG, 100 * PG);		/* 100 distinct */
	for (int i = 200; i < 300; i++)			/* 100 copies of page 100 */
		memcpy(buf + (size_t)i * PG, buf + 100 * PG, PG);
	assert_int_equal(swp_open(path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa), 0);
	assert_int_equal(swp_gen_begin(sa, NULL, &w), 0);
	assert_int_equal(swp_put_pages(w, 1, 0x10000, 0x10000, buf, 300), 0);
	assert_int_equal(swp_gen_commit(w, &gen, &st), 0);
	assert_int_equal(st.pages, 300);
	assert_int_equal(st.zero, 100);
	assert_int_equal(st.dup, 100);
	assert_int_equal(st.written, 100);
	assert_int_equal(st.unchanged, 0);
	assert_int_equal(fstat(open(path, O_RDONLY | O_CLOEXEC), &sb), 0);
	assert_int_equal(sb.st_size, 101 * PG);	/* header block + 100 slots */

	/* the same memory again, in two calls: nothing new */
	assert_int_equal(swp_gen_begin(sa, NULL, &w), 0);
	assert_int_equal(swp_put_pages(w, 1, 0x10000, 0x10000, buf, 150), 0);
	assert_int_equal(swp_put_pages(w, 1, 0x10000, 0x10000 + 150 * PG, buf + 150 * PG, 150), 0);
	assert_int_equal(swp_gen_commit(w, &gen, &st), 0);
	assert_int_equal(gen, 2);
	assert_int_equal(st.unchanged, 200);
	assert_int_equal(st.written, 0);
	/* a page put twice is refused at commit */
	assert_int_equal(swp_gen_begin(sa, NULL, &w), 0);
	assert_int_equal(swp_put_pages(w, 1, 0x10000, 0x10000, buf, 10), 0);
	assert_int_equal(swp_put_pages(w, 1, 0x10000, 0x10000 + 5 * PG, buf, 10), 0);
	assert_int_equal(swp_gen_commit(w, &gen, &st), -EEXIST);
	assert_int_equal(swp_current_gen(sa), 2);
	/* bad arguments */
	assert_int_equal(swp_gen_begin(sa, NULL, &w), 0);
	assert_int_equal(swp_put_pages(w, 1, 0x10000, 0x10001, buf, 1), -EINVAL);
	swp_gen_abort(w);
	swp_close(sa);
}

/* Compressible pages go into clusters, incompressible ones stay plain; both read back. */
static void test_compress(void **state)
{
	struct model *m = models(2);
	struct swp_gen_stats st;
	struct swp_area *sa;
	struct ctswap_swap_info info;

	(void)state;
	model_random(&m[0]);
	for (int t = 0; t < NTASKS; t++)	/* text-like pages compress */
		for (int i = 0; i < NPAGES; i += 2)
			for (int k = 0; k < PG; k++)
				m[0].data[t][(size_t)i * PG + k] = "lorem ipsum dolor sit amet "[(k + i) % 27];
	assert_int_equal(swp_open(path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa), 0);
	model_write(sa, &m[0], true, 2, &st);
	assert_true(st.compressed > 0);
	assert_true(st.compressed < st.written);
	model_check(sa, 1, &m[0]);
	memcpy(&m[1], &m[0], sizeof(*m));
	model_mutate(&m[1]);
	model_write(sa, &m[1], true, 2, &st);
	assert_true(st.unchanged > 0);
	model_check(sa, 1, &m[0]);
	model_check(sa, 2, &m[1]);
	assert_int_equal(swp_stat(sa, true, &info), 0);
	assert_int_equal(info.nr_gens, 2);
	assert_true(info.clusters > 0);
	assert_int_equal(info.verified_pages, model_count(&m[0]) + model_count(&m[1]));
	ctswap_swap_info_free(&info);
	swp_close(sa);
	free(m);
}

static uint64_t blocks_of(const char *p)
{
	struct stat sb;

	assert_int_equal(stat(p, &sb), 0);
	return sb.st_blocks * 512;
}

/* Slots no kept generation uses are punched out and reused. */
static void test_free_reuse(void **state)
{
	static uint8_t buf[1024 * PG];
	struct swp_gen_stats st;
	struct swp_gen_writer *w;
	struct swp_write_opts o = { .keep = 1 };
	struct swp_area *sa;
	struct ctswap_swap_info info;
	unsigned gen;
	uint64_t b1, b2;

	(void)state;
	assert_int_equal(swp_open(path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa), 0);
	fill_random(buf, sizeof(buf));
	assert_int_equal(swp_gen_begin(sa, &o, &w), 0);
	assert_int_equal(swp_put_pages(w, 1, 0, 0, buf, 1024), 0);
	assert_int_equal(swp_gen_commit(w, &gen, &st), 0);
	b1 = blocks_of(path);
	assert_true(b1 >= 1024 * PG);
	/* generation 2 keeps 64 of the pages: the rest is punched */
	assert_int_equal(swp_gen_begin(sa, &o, &w), 0);
	assert_int_equal(swp_put_pages(w, 1, 0, 512 * PG, buf + 512 * PG, 64), 0);
	assert_int_equal(swp_gen_commit(w, &gen, &st), 0);
	assert_int_equal(st.unchanged, 64);
	b2 = blocks_of(path);
	assert_true(b2 < b1 / 4);
	assert_int_equal(swp_stat(sa, false, &info), 0);
	assert_int_equal(info.slots_used, 64);
	ctswap_swap_info_free(&info);
	/* generation 3 writes 256 new pages: they fill the freed slots, the file does not grow */
	fill_random(buf, 256 * PG);
	assert_int_equal(swp_gen_begin(sa, &o, &w), 0);
	assert_int_equal(swp_put_pages(w, 2, 0, 0, buf, 256), 0);
	assert_int_equal(swp_gen_commit(w, &gen, &st), 0);
	assert_int_equal(st.written, 256);
	assert_int_equal(swp_stat(sa, true, &info), 0);
	assert_int_equal(info.slots, 256);	/* slots 0..255 reused, generation 2's 64 dropped */
	assert_int_equal(info.data_size, 257 * PG);
	ctswap_swap_info_free(&info);
	/* an aborted generation gives its space back */
	fill_random(buf, sizeof(buf));
	assert_int_equal(swp_gen_begin(sa, &o, &w), 0);
	assert_int_equal(swp_put_pages(w, 3, 0, 0, buf, 1024), 0);
	swp_gen_abort(w);
	assert_true(blocks_of(path) <= 300 * PG);
	swp_close(sa);
}

/* A commit stopped at each step leaves the previous generation (or the new one, once renamed) whole. */
static void test_crash(void **state)
{
	struct model *m = models(3);
	struct swp_gen_stats st;
	struct swp_area *sa;

	(void)state;
	model_random(&m[0]);
	memcpy(&m[1], &m[0], sizeof(*m));
	model_mutate(&m[1]);
	memcpy(&m[2], &m[1], sizeof(*m));
	model_mutate(&m[2]);
	for (int step = 1; step <= 7; step++) {
		struct swp_write_opts o = { .compress = step % 2, .keep = 1 };
		struct swp_gen_writer *w;
		unsigned gen, cur;
		char f[32];

		remove_tree(dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		assert_int_equal(swp_open(path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa), 0);
		model_write(sa, &m[0], step % 2, 1, &st);
		assert_int_equal(swp_gen_begin(sa, &o, &w), 0);
		for (int t = 0; t < NTASKS; t++)
			for (int i = 0; i < NPAGES; i++)
				if (m[1].present[t][i])
					assert_int_equal(swp_put_pages(w, t + 10, MAP_A + (i >= 128 ? 128 * PG : 0),
								       MAP_A + (uint64_t)i * PG,
								       m[1].data[t] + (size_t)i * PG, 1), 0);
		snprintf(f, sizeof(f), "swap-commit:%d", step);
		setenv("CTSWAP_FAULT", f, 1);
		assert_int_equal(swp_gen_commit(w, &gen, &st), -EIO);
		unsetenv("CTSWAP_FAULT");
		swp_close(sa);	/* the "crash": nothing more is done in this process */

		assert_int_equal(swp_open(path, NULL, SWP_OPEN_WRITE, &sa), 0);
		cur = swp_current_gen(sa);
		assert_int_equal(cur, step < 5 ? 1 : 2);
		model_check(sa, cur, &m[cur - 1]);
		/* and the area goes on working */
		assert_int_equal(model_write(sa, &m[2], false, 2, &st), cur + 1);
		model_check(sa, cur + 1, &m[2]);
		model_check(sa, cur, &m[cur - 1]);
		swp_close(sa);
	}
	free(m);
}

/* Two writers are excluded with a clear error; readers take no lock. */
static void test_lock(void **state)
{
	struct swp_area *a, *b, *c;
	char want[400];

	(void)state;
	assert_int_equal(swp_open(path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &a), 0);
	ct_err_clear();
	assert_int_equal(swp_open(path, NULL, SWP_OPEN_WRITE, &b), -EBUSY);
	snprintf(want, sizeof(want), "%s: locked by another writer (pid %d)", path, (int)getpid());
	assert_string_equal(ct_err_msg(), want);
	assert_int_equal(swp_open(path, NULL, 0, &c), 0);
	swp_close(c);
	swp_close(a);
	assert_int_equal(swp_open(path, NULL, SWP_OPEN_WRITE, &b), 0);
	swp_close(b);
	ct_err_clear();
	assert_int_equal(swp_open("/nonexistent/dir/swap", NULL, 0, &c), -ENOENT);
	assert_non_null(strstr(ct_err_msg(), "/nonexistent/dir/swap: "));
}

/* Build a small area with two generations, a cluster and plain slots. */
static void small_area(void)
{
	static uint8_t buf[24 * PG];
	struct swp_write_opts o = { .compress = true, .keep = 2 };
	struct swp_gen_writer *w;
	struct swp_area *sa;
	unsigned gen;

	memset(buf, 0, sizeof(buf));
	fill_random(buf, 4 * PG);
	memcpy(buf + 4 * PG, buf, PG);
	for (int k = 0; k < 8 * PG; k++)
		buf[6 * PG + k] = "abcabcd"[k % 7];
	assert_int_equal(swp_open(path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa), 0);
	assert_int_equal(swp_gen_begin(sa, &o, &w), 0);
	assert_int_equal(swp_put_pages(w, 1, 0x1000, 0x1000, buf, 16), 0);
	assert_int_equal(swp_put_pages(w, 2, 0x8000, 0x9000, buf, 4), 0);
	assert_int_equal(swp_gen_commit(w, &gen, NULL), 0);
	o.compress = false;
	fill_random(buf + 2 * PG, PG);
	assert_int_equal(swp_gen_begin(sa, &o, &w), 0);
	assert_int_equal(swp_put_pages(w, 1, 0x1000, 0x1000, buf, 16), 0);
	assert_int_equal(swp_gen_commit(w, &gen, NULL), 0);
	swp_close(sa);
}

/* Open the area and read everything; 0 if all reads agree with @good, else the error. */
static int read_all(const uint8_t good[2][16 * PG])
{
	static uint8_t buf[16 * PG];
	uint8_t state[16];
	struct swp_area *sa;
	struct swp_gen_reader *r;
	int ret;

	ct_err_clear();
	ret = swp_open(path, NULL, 0, &sa);
	if (ret)
		return ret;
	for (unsigned g = 1; g <= 2 && !ret; g++) {
		ret = swp_gen_open(sa, g, &r);
		if (ret)
			break;
		ret = swp_read(r, 1, 0x1000, 16, buf, state);
		if (!ret && good)
			assert_memory_equal(buf, good[g - 1], 16 * PG);
		if (!ret)
			ret = swp_read(r, 2, 0x9000, 4, buf, state);
		swp_gen_close(r);
	}
	swp_close(sa);
	if (ret) {
		/* every failure names the area */
		assert_non_null(ct_err_msg());
		assert_int_equal(strncmp(ct_err_msg(), path, strlen(path)), 0);
	}
	return ret;
}

static uint8_t *slurp(const char *p, size_t *len)
{
	char *b;

	assert_int_equal(read_whole_file(p, &b, len), 0);
	return (uint8_t *)b;
}

static void spit(const char *p, const uint8_t *b, size_t len)
{
	int fd = open(p, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, b, len), 0);
	close(fd);
}

/* Every bit flip in the metadata is detected; flips in the data file are detected or harmless. */
static void test_flip_sweep(void **state)
{
	static uint8_t good[2][16 * PG];
	char idx[320];
	uint8_t *orig;
	size_t len;
	int detected = 0, harmless = 0;

	(void)state;
	small_area();
	snprintf(idx, sizeof(idx), "%s.idx", path);
	{	/* the good contents */
		static uint8_t buf[16 * PG];
		uint8_t st[16];
		struct swp_area *sa;
		struct swp_gen_reader *r;

		assert_int_equal(swp_open(path, NULL, 0, &sa), 0);
		for (unsigned g = 1; g <= 2; g++) {
			assert_int_equal(swp_gen_open(sa, g, &r), 0);
			assert_int_equal(swp_read(r, 1, 0x1000, 16, buf, st), 0);
			memcpy(good[g - 1], buf, sizeof(buf));
			swp_gen_close(r);
		}
		swp_close(sa);
	}
	assert_int_equal(read_all(good), 0);

	orig = slurp(idx, &len);
	for (size_t i = 0; i < len; i++) {
		orig[i] ^= 1u << (i % 8);
		spit(idx, orig, len);
		assert_int_not_equal(read_all(good), 0);
		orig[i] ^= 1u << (i % 8);
	}
	for (size_t cut = 0; cut < len; cut += 37) {	/* truncations */
		spit(idx, orig, cut);
		assert_int_not_equal(read_all(good), 0);
	}
	spit(idx, orig, len);
	free(orig);

	orig = slurp(path, &len);
	for (size_t i = 0; i < len; i += (i < 64 ? 1 : 13)) {
		orig[i] ^= 0x80 >> (i % 8);
		spit(path, orig, len);
		if (read_all(good))
			detected++;
		else
			harmless++;
		orig[i] ^= 0x80 >> (i % 8);
	}
	spit(path, orig, len / 2);
	assert_int_not_equal(read_all(good), 0);
	spit(path, orig, len);
	assert_int_equal(read_all(good), 0);
	free(orig);
	assert_true(detected > 0);
	print_message("# data flips: %d detected, %d harmless\n", detected, harmless);
}

/* Wrong magic, version and page size are named as such. */
static void test_bad_header(void **state)
{
	char idx[320];
	uint8_t *orig;
	size_t len;

	(void)state;
	small_area();
	snprintf(idx, sizeof(idx), "%s.idx", path);
	orig = slurp(idx, &len);
	orig[0] = 'X';
	spit(idx, orig, len);
	assert_int_equal(read_all(NULL), -EUCLEAN);
	assert_non_null(strstr(ct_err_msg(), "bad magic"));
	free(orig);
	orig = slurp(path, &len);
	orig[8] = 9;	/* data file version: caught by its checksum first */
	spit(path, orig, len);
	assert_int_not_equal(read_all(NULL), 0);
	free(orig);
}

#define CHUNK_PAGES 6000	/* an index of three 64 KiB chunks */
#define CHUNK_ADDR 0x100000ull

/* An area of one generation of CHUNK_PAGES distinct pages of task 1; returns them. */
static uint8_t *chunked_area(void)
{
	struct swp_write_opts o = { .keep = 2 };
	struct swp_gen_writer *w;
	struct swp_area *sa;
	uint8_t *buf = malloc((size_t)CHUNK_PAGES * PG);
	unsigned gen;

	assert_non_null(buf);
	fill_random(buf, (size_t)CHUNK_PAGES * PG);
	assert_int_equal(swp_open(path, NULL, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa), 0);
	assert_int_equal(swp_gen_begin(sa, &o, &w), 0);
	assert_int_equal(swp_put_pages(w, 1, CHUNK_ADDR, CHUNK_ADDR, buf, CHUNK_PAGES), 0);
	assert_int_equal(swp_gen_commit(w, &gen, NULL), 0);
	swp_close(sa);
	return buf;
}

/* Read page @i of the chunked area through a fresh read-only open; 0 if it matches. */
static int chunked_read(const uint8_t *good, size_t i)
{
	static uint8_t page[PG];
	struct swp_gen_reader *r;
	struct swp_area *sa;
	uint8_t st;
	int ret;

	ct_err_clear();
	ret = swp_open(path, NULL, 0, &sa);
	if (ret)
		return ret;
	ret = swp_gen_open(sa, 0, &r);
	if (!ret)
		ret = swp_read(r, 1, CHUNK_ADDR + i * PG, 1, page, &st);
	if (!ret)
		assert_memory_equal(page, good + i * PG, PG);
	swp_gen_close(r);
	swp_close(sa);
	return ret;
}

/*
 * Version 2 checks the index per chunk on first use: a damaged chunk of
 * entries fails the reads that use it (and a full check), not the open or
 * reads of other chunks.
 */
static void test_chunk_lazy(void **state)
{
	struct swp_disk_header h;
	struct swp_disk_gen dg;
	struct swp_area *sa;
	char idx[320];
	uint8_t *good, *orig;
	size_t len;

	(void)state;
	good = chunked_area();
	snprintf(idx, sizeof(idx), "%s.idx", path);
	orig = slurp(idx, &len);
	memcpy(&h, orig, sizeof(h));
	assert_int_equal(h.version, 2);
	assert_true(h.nr_chunks >= 3);
	memcpy(&dg, orig + h.gens_off, sizeof(dg));
	/* damage the hash of the last page: its entry lies in the last chunk */
	orig[dg.ent_off + (CHUNK_PAGES - 1) * sizeof(struct swp_entry) + 10] ^= 4;
	spit(idx, orig, len);
	assert_int_equal(chunked_read(good, 0), 0);
	assert_int_equal(chunked_read(good, CHUNK_PAGES - 1), -EUCLEAN);
	assert_non_null(strstr(ct_err_msg(), "index: checksum mismatch"));
	assert_int_equal(swp_open(path, NULL, 0, &sa), 0);
	assert_int_equal(swp_check(sa), -EUCLEAN);
	swp_close(sa);
	/* a writer checks all of it at open */
	assert_int_equal(swp_open(path, NULL, SWP_OPEN_WRITE, &sa), -EUCLEAN);
	free(orig);
	free(good);
}

/* Rewrite the index at @idx as version 1 (one checksum over the body, no chunk table). */
static void index_to_v1(const char *idx)
{
	struct swp_disk_header h;
	uint8_t *b;
	size_t len;

	b = slurp(idx, &len);
	memcpy(&h, b, sizeof(h));
	h.version = 1;
	h.file_size = h.chunk_off;
	h.body_crc64 = lzma_crc64(b + sizeof(h), h.chunk_off - sizeof(h), 0);
	h.chunk_off = h.nr_chunks = 0;
	h.chunk_shift = 0;
	h.header_crc32 = 0;
	h.header_crc32 = lzma_crc32((const uint8_t *)&h, sizeof(h), 0);
	memcpy(b, &h, sizeof(h));
	spit(idx, b, h.file_size);
	free(b);
}

/* Version 1 indexes stay readable (checked whole at open); an unknown version is refused by name. */
static void test_index_versions(void **state)
{
	struct swp_disk_header h;
	char idx[320];
	uint8_t *good, *b;
	size_t len;

	(void)state;
	good = chunked_area();
	snprintf(idx, sizeof(idx), "%s.idx", path);
	index_to_v1(idx);
	assert_int_equal(chunked_read(good, 0), 0);
	assert_int_equal(chunked_read(good, CHUNK_PAGES - 1), 0);
	b = slurp(idx, &len);
	b[len - 5] ^= 1;		/* any damage of a v1 body fails the open */
	spit(idx, b, len);
	assert_int_equal(chunked_read(good, 0), -EUCLEAN);
	b[len - 5] ^= 1;
	memcpy(&h, b, sizeof(h));
	h.version = 3;
	h.header_crc32 = 0;
	h.header_crc32 = lzma_crc32((const uint8_t *)&h, sizeof(h), 0);
	memcpy(b, &h, sizeof(h));
	spit(idx, b, len);
	assert_int_equal(chunked_read(good, 0), -EPROTONOSUPPORT);
	assert_non_null(strstr(ct_err_msg(), "format version 3"));
	free(b);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_lazy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_versions, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
