// SPDX-License-Identifier: MIT
/* ctswap dump NAME [--leave-running] [--no-snapshot] [--pre] [--compress] [--keep K] [--tcp-close | --tcp-established] [--max-deleted-size BYTES] [-v] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"

/* One-line progress on a terminal: tasks, pages pushed of total, MiB/s. */
static void dump_show_progress(const struct ctswap_progress *p, void *arg)
{
	const char *name = arg;
	double mib = p->pages_done * 4096.0 / (1024 * 1024);
	double rate = p->elapsed_ms > 0 ? mib * 1000.0 / p->elapsed_ms : 0;

	fprintf(stderr, "\r\033[Kdump %s: %u tasks, %llu/%llu pages, %.0f MiB/s", name, p->tasks,
		(unsigned long long)p->pages_done, (unsigned long long)p->pages_total, rate);
}

/* "123", "64M", "2G" (binary units) into *@bytes; -1 if it is none of these. */
static int parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!*s || *s == '-')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end && end[1])
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	else if (*end)
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}

/* ctswap dump: checkpoint a container into its swap area. */
int cmd_dump(struct cli *cli)
{
	const struct cmd *cmd = cli_find_cmd("dump");
	struct ctswap_dump_opts opts = { 0 };
	struct ctswap_dump_stats st;
	struct ctswap_store *store;
	const char *name = NULL;
	bool tty = isatty(STDERR_FILENO);
	int ret, verbose = cli->verbose;

	for (int i = 1; i < cli->argc; i++) {
		const char *a = cli->argv[i];

		if (!strcmp(a, "--leave-running"))
			opts.leave_running = true;
		else if (!strcmp(a, "--snapshot"))
			opts.no_snapshot = false;
		else if (!strcmp(a, "--no-snapshot"))
			opts.no_snapshot = true;
		else if (!strcmp(a, "--pre"))
			opts.pre = opts.leave_running = true;
		else if (!strcmp(a, "--compress"))
			opts.compress = true;
		else if (!strcmp(a, "--keep")) {
			char *end;
			unsigned long k;

			if (i + 1 >= cli->argc)
				return cli_usage_error(cmd, "--keep needs a number");
			k = strtoul(cli->argv[++i], &end, 10);
			if (*end || !*cli->argv[i] || k < 1 || k > CTSWAP_MAX_GENS)
				return cli_usage_error(cmd, "--keep %s: want 1 to %d", cli->argv[i],
						       CTSWAP_MAX_GENS);
			opts.keep = (unsigned int)k;
		}
		else if (!strcmp(a, "--max-deleted-size")) {
			if (i + 1 >= cli->argc)
				return cli_usage_error(cmd, "--max-deleted-size needs a size in bytes");
			if (parse_size(cli->argv[++i], &opts.max_deleted_size) || !opts.max_deleted_size)
				return cli_usage_error(cmd, "--max-deleted-size %s: want a size in bytes "
						       "(K, M, G suffixes allowed)", cli->argv[i]);
		}
		else if (!strcmp(a, "--tcp-close"))
			opts.tcp = CTSWAP_TCP_CLOSE;
		else if (!strcmp(a, "--tcp-established"))
			opts.tcp = CTSWAP_TCP_ESTABLISHED;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			verbose++;
		else if (a[0] == '-')
			return cli_usage_error(cmd, "%s: unknown option", a);
		else if (!name)
			name = a;
		else
			return cli_usage_error(cmd, "%s: unexpected argument", a);
	}
	if (!name)
		return cli_usage_error(cmd, "a container name is needed");
	if (cli_check_name(name))
		return CLI_FAIL;
	if (verbose)
		ctswap_set_log_level(1 + verbose);
	/* Log lines and the progress line would mix: progress only when quiet. */
	if (tty && !verbose) {
		opts.progress = dump_show_progress;
		opts.progress_arg = (void *)name;
	}
	if (cli_open_store(cli, &store))
		return CLI_FAIL;
	ret = ctswap_dump(store, name, &opts, &st);
	if (opts.progress)
		fputs("\r\033[K", stderr);
	ctswap_store_close(store);
	if (ret)
		return cli_fail(ret, name);
	printf("dumped %s: generation %u, %u tasks (%u threads), %llu pages "
	       "(%llu written, %llu zero, %llu shared), %llu bytes written (blob %llu), "
	       "frozen %.1f ms, total %.1f ms%s%s%s\n",
	       name, st.generation, st.tasks, st.threads, (unsigned long long)st.pages_total,
	       (unsigned long long)st.pages_written, (unsigned long long)st.pages_zero,
	       (unsigned long long)st.pages_shared, (unsigned long long)st.bytes_written,
	       (unsigned long long)st.meta_bytes, st.frozen_ms, st.total_ms,
	       opts.leave_running ? ", left running" : "",
	       st.snapshot ? ", snapshot" : "", st.pre ? ", pre-copy" : "");
	return CLI_OK;
}
