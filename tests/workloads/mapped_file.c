// SPDX-License-Identifier: MIT
/*
 * A file only mapped, with no descriptor left open on it.
 *
 *   mapped_file FILE DIR
 *
 * Maps FILE shared and read-only, closes the descriptor, keeps a copy of
 * its bytes in its own memory, and every 50 ms compares the mapping with
 * the copy, writing "n=N ok" (or "n=N differs", then exits 1) to
 * DIR/status.  After a restore the mapping is of the file again: it must
 * hold the bytes of the dump.
 */
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "common.h"

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	struct stat st;
	char line[64];
	unsigned char *map, *copy;
	unsigned long n = 0;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: mapped_file FILE DIR\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !st.st_size)
		return 1;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	copy = malloc((size_t)st.st_size);
	if (map == MAP_FAILED || !copy)
		return 1;
	memcpy(copy, map, (size_t)st.st_size);
	for (;;) {
		bool same = !memcmp(map, copy, (size_t)st.st_size);

		snprintf(line, sizeof(line), "n=%lu %s\n", ++n, same ? "ok" : "differs");
		put_file(argv[2], "status", line);
		if (!same)
			return 1;
		nanosleep(&tick, NULL);
	}
}
