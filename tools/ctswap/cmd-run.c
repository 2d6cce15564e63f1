// SPDX-License-Identifier: MIT
/* ctswap run NAME [options] -- CMD [ARG...]: start CMD in a new container (options in run_opts) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

/* --net host|none|ns:PATH */
static int run_parse_net(const char *v, void *dst, char *err, size_t errlen)
{
	struct ctswap_run_opts *o = dst;

	if (v && !strcmp(v, "host"))
		o->net = CTSWAP_NET_HOST;
	else if (v && !strcmp(v, "none"))
		o->net = CTSWAP_NET_NONE;
	else if (v && !strncmp(v, "ns:", 3) && v[3]) {
		o->net = CTSWAP_NET_NS;
		o->net_ns = v + 3;
	} else {
		snprintf(err, errlen, "--net %s: want host, none or ns:PATH", v ? v : "");
		return -1;
	}
	return 0;
}

/* --mount SRC:DST[:ro], repeatable: split into the next of @dst's binds. */
static int run_parse_mount(const char *v, void *dst, char *err, size_t errlen)
{
	struct run_mounts *rm = dst;
	char *spec, *to, *flag;

	if (rm->nr == RUN_MAX_MOUNTS) {
		snprintf(err, errlen, "--mount: at most %d binds", RUN_MAX_MOUNTS);
		return -1;
	}
	spec = rm->text[rm->nr];
	if (!v || strlen(v) >= sizeof(rm->text[0])) {
		snprintf(err, errlen, "--mount: want SRC:DST[:ro]");
		return -1;
	}
	strcpy(spec, v);
	to = strchr(spec, ':');
	flag = to ? strchr(to + 1, ':') : NULL;
	if (to)
		*to++ = '\0';
	if (flag)
		*flag++ = '\0';
	if (!to || !spec[0] || to[0] != '/' || (flag && strcmp(flag, "ro"))) {
		snprintf(err, errlen, "--mount %s: want SRC:DST[:ro] with an absolute DST", v);
		return -1;
	}
	rm->binds[rm->nr++] = (struct ctswap_mount) { .src = spec, .dst = to, .ro = flag != NULL };
	return 0;
}

/* --memory BYTES: a positive number with an optional k, m, g suffix (powers of 1024). */
static int run_parse_size(const char *v, void *dst, char *err, size_t errlen, const char *opt)
{
	unsigned long long n = 0;
	char *end = NULL;

	errno = 0;
	if (v && v[0] != '-')
		n = strtoull(v, &end, 10);
	if (end && end != v && *end && !end[1]) {
		int shift = *end == 'k' || *end == 'K' ? 10 : *end == 'm' || *end == 'M' ? 20 :
			    *end == 'g' || *end == 'G' ? 30 : -1;

		if (shift > 0 && n <= (~0ULL >> shift)) {
			n <<= shift;
			end++;
		}
	}
	if (errno || !end || end == v || *end || !n) {
		snprintf(err, errlen, "%s %s: want a positive number", opt, v ? v : "");
		return -1;
	}
	*(uint64_t *)dst = n;
	return 0;
}

static int run_parse_memory(const char *v, void *dst, char *err, size_t errlen)
{
	return run_parse_size(v, dst, err, errlen, "--memory");
}

static int run_parse_pids(const char *v, void *dst, char *err, size_t errlen)
{
	return run_parse_size(v, dst, err, errlen, "--pids");
}

/* --cpus X: a positive decimal, kept as thousandths. */
static int run_parse_cpus(const char *v, void *dst, char *err, size_t errlen)
{
	char *end = NULL;
	double x = 0;

	errno = 0;
	if (v)
		x = strtod(v, &end);
	if (errno || !end || end == v || *end || !(x >= 0.001) || x > 4096) {
		snprintf(err, errlen, "--cpus %s: want a number of CPUs from 0.001 to 4096", v ? v : "");
		return -1;
	}
	*(uint64_t *)dst = (uint64_t)(x * 1000 + 0.5);
	return 0;
}

const struct cli_opt run_opts[] = {
	OPT_FLAG("--no-pidns", NULL, struct run_args, opts.no_pidns, true,
		 "stay in the host pid namespace"),
	OPT_FLAG("--tty", "-t", struct run_args, opts.tty, true,
		 "run on a new pseudo-terminal, to attach to"),
	OPT_STR("--log", "FILE", struct run_args, opts.log_path,
		"standard output and error to FILE instead of console.log"),
	OPT_STR("--rootfs", "DIR", struct run_args, opts.rootfs,
		"run with DIR as / (pivot_root), /proc, /sys, /dev, own UTS and IPC namespaces"),
	OPT_STR("--hostname", "H", struct run_args, opts.hostname,
		"own UTS and IPC namespaces, hostname H"),
	OPT_CALL("--net", "host|none|ns:PATH", struct run_args, opts, run_parse_net,
		 "the host's network, a new one with only lo, or the namespace file PATH"),
	OPT_CALL("--mount", "SRC:DST[:ro]", struct run_args, mounts, run_parse_mount,
		 "bind the host's SRC at DST inside the rootfs (repeatable)"),
	OPT_CALL("--memory", "BYTES", struct run_args, opts.limits.memory, run_parse_memory,
		 "memory limit of the cgroup (k, m, g suffixes)"),
	OPT_CALL("--pids", "N", struct run_args, opts.limits.pids, run_parse_pids,
		 "at most N tasks in the cgroup"),
	OPT_CALL("--cpus", "X", struct run_args, opts.limits.cpu_millis, run_parse_cpus,
		 "CPU quota of the cgroup, in CPUs (0.5: half of one)"),
	OPT_LAST,
};

int cmd_run(struct cli *cli)
{
	struct run_args *ra = cli->args;
	struct ctswap_run_opts *opts = &ra->opts;
	pid_t pid;
	int ret;

	opts->argv = cli->cmdline;
	opts->mounts = ra->mounts.binds;
	opts->nr_mounts = ra->mounts.nr;
	ret = ctswap_run(cli->store, cli->name, opts, &pid);
	if (ret)
		return cli_fail(ret, cli->name);
	printf("%d\n", pid);
	return CLI_OK;
}
