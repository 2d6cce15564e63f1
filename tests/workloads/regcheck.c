// SPDX-License-Identifier: MIT
/*
 * regcheck: threads that keep known values in registers while they spin,
 * and check them afterwards.  A dump (or a dead dumper) that gives a
 * thread back anything but its exact registers — general purpose,
 * SSE/AVX, flags — is caught: the round reports BAD.
 *
 * Each round a thread loads the 16 vector registers (ymm with AVX2, else
 * xmm) and rbx, r12-r15 with values derived from the round number, spins
 * in a loop that touches nothing else, then stores them and compares.
 * Between rounds it sleeps a little (nanosleep: a syscall to be stopped in
 * and restarted).  The main thread writes DIR/status every 100 ms:
 *   "rounds=N ok" or "rounds=N BAD <what>"
 *
 * usage: regcheck --threads N --out DIR
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define SPIN 20000000UL

static volatile unsigned long rounds;
static char bad[256];
static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;

/* 16 vector registers of 32 bytes, then 5 general purpose registers. */
struct regs {
	uint8_t vec[16][32];
	uint64_t gp[5];
};

static void fill(struct regs *r, uint64_t seed)
{
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 32; j++)
			r->vec[i][j] = (uint8_t)(seed * 131 + i * 17 + j * 7 + 1);
	for (int i = 0; i < 5; i++)
		r->gp[i] = seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i;
}

#define GP_SPIN_ASM							\
	"mov 512(%[in]), %%rbx\n\t"					\
	"mov 520(%[in]), %%r12\n\t"					\
	"mov 528(%[in]), %%r13\n\t"					\
	"mov 536(%[in]), %%r14\n\t"					\
	"mov 544(%[in]), %%r15\n\t"					\
	"mov %[spin], %%rcx\n\t"					\
	"1: dec %%rcx\n\t"						\
	"jnz 1b\n\t"							\
	"mov %%rbx, 512(%[out])\n\t"					\
	"mov %%r12, 520(%[out])\n\t"					\
	"mov %%r13, 528(%[out])\n\t"					\
	"mov %%r14, 536(%[out])\n\t"					\
	"mov %%r15, 544(%[out])\n\t"

#define VEC16(op, reg, base) \
	op " %%" reg "0, 0(%[" base "])\n\t" op " %%" reg "1, 32(%[" base "])\n\t" \
	op " %%" reg "2, 64(%[" base "])\n\t" op " %%" reg "3, 96(%[" base "])\n\t" \
	op " %%" reg "4, 128(%[" base "])\n\t" op " %%" reg "5, 160(%[" base "])\n\t" \
	op " %%" reg "6, 192(%[" base "])\n\t" op " %%" reg "7, 224(%[" base "])\n\t" \
	op " %%" reg "8, 256(%[" base "])\n\t" op " %%" reg "9, 288(%[" base "])\n\t" \
	op " %%" reg "10, 320(%[" base "])\n\t" op " %%" reg "11, 352(%[" base "])\n\t" \
	op " %%" reg "12, 384(%[" base "])\n\t" op " %%" reg "13, 416(%[" base "])\n\t" \
	op " %%" reg "14, 448(%[" base "])\n\t" op " %%" reg "15, 480(%[" base "])\n\t"

#define VEC16_LOAD(op, reg) \
	op " 0(%[in]), %%" reg "0\n\t" op " 32(%[in]), %%" reg "1\n\t" \
	op " 64(%[in]), %%" reg "2\n\t" op " 96(%[in]), %%" reg "3\n\t" \
	op " 128(%[in]), %%" reg "4\n\t" op " 160(%[in]), %%" reg "5\n\t" \
	op " 192(%[in]), %%" reg "6\n\t" op " 224(%[in]), %%" reg "7\n\t" \
	op " 256(%[in]), %%" reg "8\n\t" op " 288(%[in]), %%" reg "9\n\t" \
	op " 320(%[in]), %%" reg "10\n\t" op " 352(%[in]), %%" reg "11\n\t" \
	op " 384(%[in]), %%" reg "12\n\t" op " 416(%[in]), %%" reg "13\n\t" \
	op " 448(%[in]), %%" reg "14\n\t" op " 480(%[in]), %%" reg "15\n\t"

#define CLOBBERS "rbx", "rcx", "r12", "r13", "r14", "r15", "memory", "cc", \
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

__attribute__((target("avx2")))
static void spin_avx(const struct regs *in, struct regs *out)
{
	__asm__ volatile(VEC16_LOAD("vmovdqu", "ymm") GP_SPIN_ASM VEC16("vmovdqu", "ymm", "out")
			 "vzeroupper\n\t"
			 : : [in] "r"(in), [out] "r"(out), [spin] "i"(SPIN) : CLOBBERS);
}

static void spin_sse(const struct regs *in, struct regs *out)
{
	__asm__ volatile(VEC16_LOAD("movdqu", "xmm") GP_SPIN_ASM VEC16("movdqu", "xmm", "out")
			 : : [in] "r"(in), [out] "r"(out), [spin] "i"(SPIN) : CLOBBERS);
}

static void note_bad(const char *what, unsigned long round)
{
	pthread_mutex_lock(&bad_lock);
	if (!bad[0])
		snprintf(bad, sizeof(bad), "%s in round %lu", what, round);
	pthread_mutex_unlock(&bad_lock);
}

static void *spinner(void *arg)
{
	int avx = __builtin_cpu_supports("avx2");
	size_t vec_bytes = avx ? 32 : 16;
	struct regs in, out;
	struct timespec nap = { 0, 2000000 };

	(void)arg;
	for (unsigned long round = 1;; round++) {
		fill(&in, round);
		memset(&out, 0, sizeof(out));
		if (avx)
			spin_avx(&in, &out);
		else
			spin_sse(&in, &out);
		for (int i = 0; i < 16; i++)
			if (memcmp(in.vec[i], out.vec[i], vec_bytes))
				note_bad("vector register changed", round);
		if (memcmp(in.gp, out.gp, sizeof(in.gp)))
			note_bad("general register changed", round);
		__atomic_add_fetch(&rounds, 1, __ATOMIC_RELAXED);
		while (nanosleep(&nap, &nap) && errno == EINTR)
			;
	}
	return NULL;
}

/* Write DIR/status atomically. */
static void write_status(const char *dir)
{
	char line[512];

	pthread_mutex_lock(&bad_lock);
	snprintf(line, sizeof(line), "rounds=%lu %s%s\n", rounds, bad[0] ? "BAD " : "ok", bad);
	pthread_mutex_unlock(&bad_lock);
	put_file(dir, "status", line);
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int threads = 2;
	pthread_t t;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--out"))
			dir = argv[i + 1];
	}
	if (!dir || threads < 1) {
		fprintf(stderr, "usage: regcheck --threads N --out DIR\n");
		return 2;
	}
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t, NULL, spinner, NULL)) {
			perror("regcheck: pthread_create");
			return 1;
		}
	for (;;) {
		struct timespec tick = { 0, 100000000 };

		write_status(dir);
		nanosleep(&tick, NULL);
	}
}
