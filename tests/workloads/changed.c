/* SPDX-License-Identifier: MIT */
/*
 * changed: a program whose files change while it runs, as a log writer's
 * and a database's do (zdtm style), for the changed-files policy.
 *
 *   changed --out DIR
 *
 * Every 20 ms, round N: appends "line N" to DIR/log (O_APPEND), writes
 * "record N" at the position its descriptor on DIR/data (O_RDWR) is at,
 * and checks that this position is N records; DIR/grows is held read-only,
 * DIR/map.bin mapped read-only and held open, its first bytes checked.
 * Status, appended every round (workloads/common.h):
 *
 *   n=N ok          (or "n=N BAD", once something did not hold)
 *
 * Lines and records are 18 bytes: "line %012d\n", "record %010d\n".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "common.h"

#define RECORD_LEN 18

/* Open DIR/@name with @flags, or exit. */
static int open_in(const char *dir, const char *name, int flags)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, flags, 0644);
	if (fd < 0) {
		fprintf(stderr, "changed: %s: %s\n", path, strerror(errno));
		exit(3);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 20000000 };
	int log, data, grows, mapped;
	unsigned long n = 0;
	char rec[64];
	const char *dir, *map;
	int ok = 1;

	if (argc != 3 || strcmp(argv[1], "--out")) {
		fprintf(stderr, "usage: changed --out DIR\n");
		return 2;
	}
	dir = argv[2];
	log = open_in(dir, "log", O_WRONLY | O_APPEND | O_CREAT);
	data = open_in(dir, "data", O_RDWR | O_CREAT);
	grows = open_in(dir, "grows", O_RDONLY);
	mapped = open_in(dir, "map.bin", O_RDONLY);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mapped, 0);
	if (map == MAP_FAILED)
		return 3;
	(void)grows;
	for (;;) {
		n++;
		snprintf(rec, sizeof(rec), "line %012lu\n", n);
		ok &= write(log, rec, RECORD_LEN) == RECORD_LEN;
		snprintf(rec, sizeof(rec), "record %010lu\n", n);
		ok &= write(data, rec, RECORD_LEN) == RECORD_LEN;
		ok &= lseek(data, 0, SEEK_CUR) == (off_t)(n * RECORD_LEN);
		ok &= memcmp(map, "mapped", 6) == 0;
		status_append(dir, "n=%010lu %s\n", n, ok ? "ok" : "BAD");
		nanosleep(&ts, NULL);
	}
}
