// SPDX-License-Identifier: MIT
/*
 * Test helper: write a small swap area at PATH with GENS generations of
 * two tasks (random, zero and duplicate pages, a quarter changed per
 * generation).  Usage: mkarea PATH GENS [--compress]
 * Built by tests/bats/21-inspect.bats; also made the fuzz seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "mm/swaparea.h"

int main(int argc, char **argv)
{
	static uint8_t buf[64 * 4096];
	struct swp_write_opts o = { 0 };
	struct swp_identity id = { .name = "mkarea", .uuid_lo = 42 };
	struct swp_area *sa;
	int gens;

	if (argc < 3)
		return 2;
	gens = atoi(argv[2]);
	o.compress = argc > 3 && !strcmp(argv[3], "--compress");
	srandom(1);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (i / 4096) % 8 == 0 ? random() : (i / 4096) % 8 == 1 ? "text "[i % 5] : 0;
	if (swp_open(argv[1], &id, SWP_OPEN_CREATE | SWP_OPEN_WRITE, &sa))
		goto fail;
	for (int g = 0; g < gens; g++) {
		struct swp_gen_writer *w;
		unsigned gen;

		for (int k = 0; k < 16; k++)
			buf[(random() % 64) * 4096 + 7] ^= 1;
		if (swp_gen_begin(sa, &o, &w) ||
		    swp_put_pages(w, 100, 0x400000, 0x400000, buf, 48) ||
		    swp_put_pages(w, 100, 0x7f0000000000, 0x7f0000002000, buf + 16 * 4096, 8) ||
		    swp_put_pages(w, 200, 0x400000, 0x401000, buf, 16) ||
		    swp_gen_commit(w, &gen, NULL))
			goto fail;
	}
	swp_close(sa);
	return 0;
fail:
	fprintf(stderr, "mkarea: %s\n", ct_err_msg() ? ct_err_msg() : "failed");
	return 1;
}
