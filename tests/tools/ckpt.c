// SPDX-License-Identifier: MIT
/*
 * ckpt: the IRIX-style calls of libctswap from the command line, for tests.
 *   ckpt create PATH ID pid|pgid|sid|hid|ctswap [cont] [keep=K]
 *   ckpt stat PATH          one line per process
 *   ckpt restart PATH [gen=N] [eager] [changed]
 *   ckpt remove PATH
 * Exit 0 on success; on failure prints "ckpt: ERRNO-NAME: reason" and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctswap.h"

/* Print why a call failed and return 1. */
static int fail(const char *call)
{
	int err = errno;

	printf("ckpt: %s: %s: %s\n", call, strerrorname_np(err),
	       ctswap_last_error() ? ctswap_last_error() : strerror(err));
	return 1;
}

/* The id type named @s. */
static unsigned long type_of(const char *s)
{
	static const struct { const char *name; unsigned long type; } types[] = {
		{ "pid", P_PID }, { "pgid", P_PGID }, { "sid", P_SID }, { "hid", P_HID },
		{ "ctswap", P_CTSWAP },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(s, types[i].name))
			return types[i].type;
	return strtoul(s, NULL, 0);
}

/* Turn "cont", "eager", "keep=K", "gen=N" words into ckpt_args. */
static size_t parse_args(int argc, char **argv, struct ckpt_args *a, struct ckpt_args **ap,
			 unsigned long *flags, unsigned int *keep, unsigned int *gen)
{
	size_t n = 0;

	*flags = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "cont"))
			*flags |= CKPT_CHECKPOINT_CONT;
		else if (!strcmp(argv[i], "eager"))
			*flags |= CKPT_RESTART_EAGER;
		else if (!strcmp(argv[i], "changed"))
			*flags |= CKPT_RESTART_CHANGED;
		else if (!strncmp(argv[i], "keep=", 5)) {
			*keep = atoi(argv[i] + 5);
			a[n] = (struct ckpt_args){ CKPT_ARG_KEEP, keep };
			ap[n] = &a[n];
			n++;
		} else if (!strncmp(argv[i], "gen=", 4)) {
			*gen = atoi(argv[i] + 4);
			a[n] = (struct ckpt_args){ CKPT_ARG_GEN, gen };
			ap[n] = &a[n];
			n++;
		}
	}
	a[n] = (struct ckpt_args){ CKPT_ARG_FLAGS, flags };
	ap[n] = &a[n];
	return n + 1;
}

int main(int argc, char **argv)
{
	struct ckpt_args a[4], *ap[4];
	unsigned int keep = 0, gen = 0;
	unsigned long flags;
	struct ckpt_stat *sp;
	size_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: ckpt create|stat|restart|remove PATH ...\n");
		return 2;
	}
	if (!strcmp(argv[1], "create") && argc >= 5) {
		n = parse_args(argc - 5, argv + 5, a, ap, &flags, &keep, &gen);
		if (ckpt_create(argv[2], atoll(argv[3]), type_of(argv[4]), ap, n))
			return fail("ckpt_create");
		return 0;
	}
	if (!strcmp(argv[1], "stat")) {
		if (ckpt_stat(argv[2], &sp))
			return fail("ckpt_stat");
		for (struct ckpt_stat *s = sp; s; s = s->cs_next)
			printf("id=%lld type=%lu gen=%u pid=%d ppid=%d pgrp=%d sid=%d threads=%u files=%u comm=%s\n",
			       (long long)s->cs_id, s->cs_type, s->cs_generation, s->cs_pid, s->cs_ppid,
			       s->cs_pgrp, s->cs_sid, s->cs_nthreads, s->cs_nfiles, s->cs_comm);
		ckpt_stat_free(sp);
		return 0;
	}
	if (!strcmp(argv[1], "restart")) {
		ckpt_id_t id;

		n = parse_args(argc - 3, argv + 3, a, ap, &flags, &keep, &gen);
		id = ckpt_restart(argv[2], ap, n);
		if (id < 0)
			return fail("ckpt_restart");
		printf("%lld\n", (long long)id);
		return 0;
	}
	if (!strcmp(argv[1], "remove"))
		return ckpt_remove(argv[2]) ? fail("ckpt_remove") : 0;
	fprintf(stderr, "ckpt: %s: unknown call\n", argv[1]);
	return 2;
}
