// SPDX-License-Identifier: MIT
/*
 * ctswap run NAME [--no-pidns] [--tty] [--log FILE] [--rootfs DIR] [--hostname H]
 *            [--net host|none|ns:PATH] [--mount SRC:DST[:ro]]... [--memory BYTES]
 *            [--pids N] [--cpus X] -- CMD [ARG...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

#define RUN_MAX_MOUNTS 64

/* What run's options fill besides the API's options. */
struct run_args {
	struct ctswap_run_opts opts;
	struct ctswap_mount mounts[RUN_MAX_MOUNTS];
	char *mount_specs[RUN_MAX_MOUNTS];	/* copies split in place */
};

/* --net host|none|ns:PATH */
static int run_parse_net(const struct cmd *self, const char *v, struct ctswap_run_opts *o)
{
	if (!strcmp(v, "host"))
		o->net = CTSWAP_NET_HOST;
	else if (!strcmp(v, "none"))
		o->net = CTSWAP_NET_NONE;
	else if (!strncmp(v, "ns:", 3) && v[3]) {
		o->net = CTSWAP_NET_NS;
		o->net_ns = v + 3;
	} else
		return cli_usage_error(self, "--net %s: want host, none or ns:PATH", v);
	return 0;
}

/* --mount SRC:DST[:ro] */
static int run_parse_mount(const struct cmd *self, const char *v, struct run_args *ra)
{
	size_t n = ra->opts.nr_mounts;
	char *spec, *dst, *flag;

	if (n == RUN_MAX_MOUNTS)
		return cli_usage_error(self, "--mount: at most %d binds", RUN_MAX_MOUNTS);
	spec = strdup(v);
	if (!spec)
		return cli_error("out of memory");
	ra->mount_specs[n] = spec;
	dst = strchr(spec, ':');
	flag = dst ? strchr(dst + 1, ':') : NULL;
	if (dst)
		*dst++ = '\0';
	if (flag)
		*flag++ = '\0';
	if (!dst || !spec[0] || dst[0] != '/' || (flag && strcmp(flag, "ro")))
		return cli_usage_error(self, "--mount %s: want SRC:DST[:ro] with an absolute DST", v);
	ra->mounts[n] = (struct ctswap_mount) { .src = spec, .dst = dst, .ro = flag != NULL };
	ra->opts.mounts = ra->mounts;
	ra->opts.nr_mounts = n + 1;
	return 0;
}

/* A positive number with an optional k, m, g suffix (powers of 1024). */
static int run_parse_size(const struct cmd *self, const char *opt, const char *v, uint64_t *out)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (end != v && *end && !end[1]) {
		int shift = *end == 'k' || *end == 'K' ? 10 : *end == 'm' || *end == 'M' ? 20 :
			    *end == 'g' || *end == 'G' ? 30 : -1;

		if (shift > 0 && n <= (~0ULL >> shift)) {
			n <<= shift;
			end++;
		}
	}
	if (errno || end == v || *end || !n || v[0] == '-')
		return cli_usage_error(self, "%s %s: want a positive number", opt, v);
	*out = n;
	return 0;
}

/* --cpus X: a positive decimal, kept as thousandths. */
static int run_parse_cpus(const struct cmd *self, const char *v, uint64_t *millis)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end || !(x >= 0.001) || x > 4096)
		return cli_usage_error(self, "--cpus %s: want a number of CPUs from 0.001 to 4096", v);
	*millis = (uint64_t)(x * 1000 + 0.5);
	return 0;
}

/* Options with a value: 1 consumed (and *@i advanced), 0 not one of them, or an exit code + 2. */
static int run_parse_valued(const struct cmd *self, struct cli *cli, int *i, struct run_args *ra)
{
	struct ctswap_run_opts *o = &ra->opts;
	const char *opt = cli->argv[*i], *v;
	static const char *const valued[] = { "--log", "--rootfs", "--hostname", "--net", "--mount",
					      "--memory", "--pids", "--cpus" };
	size_t k;
	int ret = 0;

	for (k = 0; k < sizeof(valued) / sizeof(valued[0]) && strcmp(opt, valued[k]); k++)
		;
	if (k == sizeof(valued) / sizeof(valued[0]))
		return 0;
	if (*i + 1 >= cli->argc || !strcmp(cli->argv[*i + 1], "--"))
		return 2 + cli_usage_error(self, "%s: missing value", opt);
	v = cli->argv[++*i];
	if (!strcmp(opt, "--log"))
		o->log_path = v;
	else if (!strcmp(opt, "--rootfs"))
		o->rootfs = v;
	else if (!strcmp(opt, "--hostname"))
		o->hostname = v;
	else if (!strcmp(opt, "--net"))
		ret = run_parse_net(self, v, o);
	else if (!strcmp(opt, "--mount"))
		ret = run_parse_mount(self, v, ra);
	else if (!strcmp(opt, "--memory"))
		ret = run_parse_size(self, opt, v, &o->limits.memory);
	else if (!strcmp(opt, "--pids"))
		ret = run_parse_size(self, opt, v, &o->limits.pids);
	else
		ret = run_parse_cpus(self, v, &o->limits.cpu_millis);
	return ret ? 2 + ret : 1;
}

/* Parse everything before "--"; returns the index of "--" or -(exit code). */
static int run_parse(struct cli *cli, struct run_args *ra, const char **name)
{
	const struct cmd *self = cli_find_cmd("run");
	int i, ret;

	for (i = 1; i < cli->argc && strcmp(cli->argv[i], "--"); i++) {
		ret = run_parse_valued(self, cli, &i, ra);
		if (ret > 1)
			return -(ret - 2);
		if (ret)
			continue;
		if (!strcmp(cli->argv[i], "--no-pidns"))
			ra->opts.no_pidns = true;
		else if (!strcmp(cli->argv[i], "--tty") || !strcmp(cli->argv[i], "-t"))
			ra->opts.tty = true;
		else if (cli->argv[i][0] == '-')
			return -cli_usage_error(self, "%s: unknown option", cli->argv[i]);
		else if (!*name)
			*name = cli->argv[i];
		else
			return -cli_usage_error(self, "run: missing '--' before the command '%s'",
						cli->argv[i]);
	}
	if (!*name)
		return -cli_usage_error(self, "run: missing container name");
	if (i == cli->argc)
		return -cli_usage_error(self, "run: missing '--' before the command");
	if (i + 1 == cli->argc)
		return -cli_usage_error(self, "run: missing command after '--'");
	return i;
}

int cmd_run(struct cli *cli)
{
	struct run_args ra = { 0 };
	struct ctswap_store *store;
	const char *name = NULL;
	pid_t pid;
	int at, ret;

	at = run_parse(cli, &ra, &name);
	if (at < 0) {
		ret = -at;
		goto out;
	}
	ret = CLI_FAIL;
	if (cli_check_name(name))
		goto out;
	ra.opts.argv = cli->argv + at + 1;
	if (cli_open_store(cli, &store))
		goto out;
	ret = ctswap_run(store, name, &ra.opts, &pid);
	ctswap_store_close(store);
	if (ret) {
		ret = cli_fail(ret, name);
		goto out;
	}
	printf("%d\n", pid);
	ret = CLI_OK;
out:
	for (size_t k = 0; k < RUN_MAX_MOUNTS; k++)
		free(ra.mount_specs[k]);
	return ret;
}
