// SPDX-License-Identifier: MIT
/*
 * shmem: a parent and a child sharing MAP_SHARED|MAP_ANONYMOUS memory.
 *
 *   shmem --mib N --out DIR
 *
 * Both bump their own counter in the shared region and check, every
 * 0.1 s, that the other's counter moved (so the memory is still shared,
 * not two private copies) and that the seeded pattern filling the rest of
 * the region is intact.  Each writes DIR/status-parent or DIR/status-child:
 *   pid=P counter=C peer=C2 ok        or        ... BAD <what>
 * BAD is sticky.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

struct shared {
	volatile uint64_t counter[2];	/* 0: parent, 1: child */
	uint64_t words[];		/* the pattern */
};

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void write_status(const char *dir, const char *who, uint64_t mine, uint64_t peer,
			 const char *bad)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/status-%s", dir, who);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "pid=%d counter=%llu peer=%llu %s\n", getpid(), (unsigned long long)mine,
		(unsigned long long)peer, bad[0] ? bad : "ok");
	fclose(f);
	rename(tmp, path);
}

/* Bump counter @me, check the other and the pattern; never returns. */
static void run(struct shared *sh, size_t words, int me, const char *dir)
{
	const char *who = me ? "child" : "parent";
	uint64_t last_peer = sh->counter[!me];
	int stuck = 0;
	char bad[256] = "";
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		struct timespec now;

		sh->counter[me]++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec < next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec < next.tv_nsec)) {
			usleep(1000);
			continue;
		}
		next = now;
		next.tv_nsec += 100 * 1000 * 1000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		for (size_t i = 0; i < words && !bad[0]; i++)
			if (sh->words[i] != mix(i))
				snprintf(bad, sizeof(bad), "BAD pattern word %zu", i);
		if (sh->counter[!me] == last_peer)
			stuck++;
		else
			stuck = 0;
		last_peer = sh->counter[!me];
		/* 2 s without the peer moving: the memory is no longer shared */
		if (stuck > 20 && !bad[0])
			snprintf(bad, sizeof(bad), "BAD peer counter stuck at %llu",
				 (unsigned long long)last_peer);
		write_status(dir, who, sh->counter[me], last_peer, bad);
	}
}

int main(int argc, char **argv)
{
	size_t mib = 4, len, words;
	const char *dir = NULL;
	struct shared *sh;
	pid_t child;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mib"))
			mib = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--out"))
			dir = argv[i + 1];
	}
	if (!dir || !mib) {
		fprintf(stderr, "usage: shmem --mib N --out DIR\n");
		return 2;
	}
	len = mib << 20;
	sh = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	words = (len - sizeof(*sh)) / sizeof(uint64_t);
	for (size_t i = 0; i < words; i++)
		sh->words[i] = mix(i);
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		run(sh, words, 1, dir);
	}
	run(sh, words, 0, dir);
	return 0;
}
