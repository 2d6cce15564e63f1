// SPDX-License-Identifier: MIT
// fuzz-sources: kernel/mm/swaparea*.c kernel/lib/*.c
/*
 * libFuzzer target for the swap area's read paths.  The input is one
 * area: a 4-byte little-endian length of swap.idx, swap.idx, then the
 * data file.  Both are written to a scratch directory and opened,
 * listed, read page by page and verified, as `ctswap inspect --verify`
 * and the lazy server would.  Any failure must be a clean error.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/swaparea.h"

static char path[128], idx[140];

/* Write one file of the area. */
static void put(const char *p, const uint8_t *b, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	if (len && write_all(fd, b, len))
		abort();
	close(fd);
}

/* Read every run of a generation back. */
static int read_run(uint32_t task, uint64_t mapping, uint64_t addr, size_t nr, void *arg)
{
	static uint8_t buf[64 * 4096];
	uint8_t state[64];
	struct swp_gen_reader *r = arg;

	(void)mapping;
	for (size_t done = 0; done < nr; done += 64) {
		size_t n = nr - done < 64 ? nr - done : 64;

		if (swp_read(r, task, addr + done * 4096, n, buf, state))
			return 0;	/* an error is fine; go on with the next run */
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctswap_swap_info info;
	struct swp_area *sa;
	unsigned gens[64];
	size_t nr;
	uint32_t ilen;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/dev/shm/fuzz_swaparea.%d", (int)getpid());
		mkdir_p(path, 0700);
		strcat(path, "/swap");
		snprintf(idx, sizeof(idx), "%s.idx", path);
		ct_log_set_level(-1);
	}
	if (size < 4)
		return 0;
	memcpy(&ilen, data, 4);
	data += 4;
	size -= 4;
	if (ilen > size)
		ilen = size;
	put(idx, data, ilen);
	put(path, data + ilen, size - ilen);
	ct_err_clear();
	if (swp_open(path, NULL, 0, &sa))
		return 0;
	swp_generations(sa, gens, 64, &nr);
	for (size_t i = 0; i < nr && i < 64; i++) {
		struct swp_gen_reader *r;

		if (swp_gen_open(sa, gens[i], &r))
			continue;
		swp_for_each_run(r, UINT32_MAX, read_run, r);
		read_run(1, 0, 0x1000, 200, r);
		swp_gen_close(r);
	}
	if (!swp_stat(sa, true, &info))
		swp_info_free(&info);
	swp_close(sa);
	return 0;
}
