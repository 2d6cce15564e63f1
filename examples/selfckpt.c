// SPDX-License-Identifier: MIT
/*
 * selfckpt: a program that checkpoints itself with the IRIX-style API of
 * libctswap and continues (CKPT_CHECKPOINT_CONT).
 *
 *   selfckpt --path STORE/NAME --out FILE [--at N] [--ticks N] [--mib N]
 *
 * It fills some memory with a seeded pattern, then every 50 ms bumps a tick
 * counter, checks the pattern and appends "tick N pid P ok" to FILE.  At
 * tick --at (default 5) it calls ckpt_create() on itself and logs
 * "ckpt_create returned 0 at tick N pid P ppid Q".  Restarted later with
 * `ctswap restore NAME` (or ckpt_restart()), it returns from that same
 * ckpt_create() once more, logs the line again with its new parent, and
 * continues from tick N+1 with its memory as it was.
 *
 * Build: cc selfckpt.c $(pkg-config --cflags --libs ctswap)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ctswap.h>

/* A seeded xorshift64 generator for the pattern. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Fill (or, with @check, verify) @n words of the pattern; true if it matched. */
static int pattern(uint64_t *mem, size_t n, int check)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < n; i++) {
		uint64_t v = next_rand(&s);

		if (!check)
			mem[i] = v;
		else if (mem[i] != v)
			return 0;
	}
	return 1;
}

/* Sleep @ms, even across a restore (which turns a sleep into EINTR). */
static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Checkpoint ourselves into @path and continue. */
static int checkpoint_self(const char *path)
{
	unsigned long flags = CKPT_CHECKPOINT_CONT;
	struct ckpt_args a = { CKPT_ARG_FLAGS, &flags };
	struct ckpt_args *args[] = { &a };

	return ckpt_create(path, getpid(), P_PID, args, 1);
}

int main(int argc, char **argv)
{
	const char *path = NULL, *out = NULL;
	long at = 5, ticks = -1, mib = 8;
	uint64_t *mem;
	size_t words;
	int fd;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--path"))
			path = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--at"))
			at = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--ticks"))
			ticks = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--mib"))
			mib = atol(argv[i + 1]);
	}
	if (!path || !out || mib < 1) {
		fprintf(stderr, "usage: selfckpt --path STORE/NAME --out FILE [--at N] [--ticks N] [--mib N]\n");
		return 2;
	}
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(out);
		return 1;
	}
	words = (size_t)mib * 1024 * 1024 / sizeof(uint64_t);
	mem = malloc(words * sizeof(uint64_t));
	if (!mem)
		return 1;
	pattern(mem, words, 0);
	for (long tick = 1; ticks < 0 || tick <= ticks; tick++) {
		dprintf(fd, "tick %ld pid %d %s\n", tick, getpid(),
			pattern(mem, words, 1) ? "ok" : "BAD pattern");
		if (tick == at) {
			if (checkpoint_self(path)) {
				dprintf(fd, "ckpt_create failed: %s\n", ctswap_last_error() ?
					ctswap_last_error() : strerror(errno));
				return 1;
			}
			dprintf(fd, "ckpt_create returned 0 at tick %ld pid %d ppid %d\n", tick,
				getpid(), getppid());
		}
		sleep_ms(50);
	}
	dprintf(fd, "done\n");
	return 0;
}
