// SPDX-License-Identifier: MIT
/* ctswap dump NAME [options]: checkpoint a container (options in dump_opts) */
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

/* --keep K: how many generations to keep, 1 to CTSWAP_MAX_GENS. */
static int dump_parse_keep(const char *value, void *dst, char *err, size_t errlen)
{
	unsigned long k;

	if (!value) {
		snprintf(err, errlen, "--keep needs a number");
		return -1;
	}
	if (!cli_parse_ulong(value, 1, CTSWAP_MAX_GENS, &k)) {
		snprintf(err, errlen, "--keep %s: want 1 to %d", value, CTSWAP_MAX_GENS);
		return -1;
	}
	*(unsigned int *)dst = (unsigned int)k;
	return 0;
}

/* A size option @opt BYTES: "123", "64M", "2G" (binary units), more than 0. */
static int dump_parse_size(const char *opt, const char *value, void *dst, char *err, size_t errlen)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!value || !*value || *value == '-')
		goto bad;
	v = strtoull(value, &end, 10);
	if (*end && end[1])
		goto bad;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	else if (*end)
		goto bad;
	if (!v || v > (UINT64_MAX >> shift))
		goto bad;
	*(uint64_t *)dst = (uint64_t)v << shift;
	return 0;
bad:
	snprintf(err, errlen, "%s %s: want a size in bytes (K, M, G suffixes allowed)", opt,
		 value ? value : "");
	return -1;
}

/* --max-deleted-size BYTES */
static int dump_parse_deleted_size(const char *value, void *dst, char *err, size_t errlen)
{
	return dump_parse_size("--max-deleted-size", value, dst, err, errlen);
}

/* --max-checked-size BYTES */
static int dump_parse_checked_size(const char *value, void *dst, char *err, size_t errlen)
{
	return dump_parse_size("--max-checked-size", value, dst, err, errlen);
}

const struct cli_opt dump_opts[] = {
	OPT_FLAG("--leave-running", NULL, struct dump_args, opts.leave_running, true,
		 "checkpoint, then let the container go on"),
	OPT_FLAG("--snapshot", NULL, struct dump_args, opts.no_snapshot, false, NULL),
	OPT_FLAG("--no-snapshot", NULL, struct dump_args, opts.no_snapshot, true,
		 "with --leave-running: keep it stopped until every page is pushed"),
	OPT_FLAG("--pre", NULL, struct dump_args, opts.pre, true,
		 "pre-copy: push the pages, leave it running, write no blob"),
	OPT_FLAG("--compress", NULL, struct dump_args, opts.compress, true,
		 "lzma-compress the pages in the swap area"),
	OPT_CALL("--keep", "K", struct dump_args, opts.keep, dump_parse_keep,
		 "keep K generations (default 2)"),
	OPT_SET("--tcp-close", struct dump_args, opts.tcp, CTSWAP_TCP_CLOSE,
		"restore established TCP connections as reset"),
	OPT_SET("--tcp-established", struct dump_args, opts.tcp, CTSWAP_TCP_ESTABLISHED,
		"restore established TCP connections alive (TCP_REPAIR)"),
	OPT_FLAG("--unix-close", NULL, struct dump_args, opts.unix_close, true,
		 "restore unix sockets connected outside the container as closed"),
	OPT_CALL("--max-deleted-size", "BYTES", struct dump_args, opts.max_deleted_size,
		 dump_parse_deleted_size, "store deleted files up to BYTES each (default 64M)"),
	OPT_CALL("--max-checked-size", "BYTES", struct dump_args, opts.max_checked_size,
		 dump_parse_checked_size, "checksum open files up to BYTES each (default 256M)"),
	OPT_LAST,
};

/* ctswap dump: checkpoint a container into its swap area. */
int cmd_dump(struct cli *cli)
{
	struct ctswap_dump_opts opts = ((struct dump_args *)cli->args)->opts;
	struct ctswap_dump_stats st;
	const char *name = cli->name;
	bool tty = isatty(STDERR_FILENO);
	int ret;

	if (opts.pre)
		opts.leave_running = true;
	/* Log lines and the progress line would mix: progress only when quiet. */
	if (tty && !cli->verbose) {
		opts.progress = dump_show_progress;
		opts.progress_arg = (void *)name;
	}
	ret = ctswap_dump(cli->store, name, &opts, &st);
	if (opts.progress)
		fputs("\r\033[K", stderr);
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
