// SPDX-License-Identifier: MIT
/* ctswap restore NAME [--eager] [--gen N] [--allow-changed-files] [--net ns:PATH] [--time-ns] [-v] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

/* Parse --gen's value: a positive generation number. */
static int parse_gen(const char *s, unsigned int *gen)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || !v || v > 0xffffffffUL)
		return -1;
	*gen = (unsigned int)v;
	return 0;
}

/* ctswap restore: restart a checkpointed container; memory comes back lazily. */
int cmd_restore(struct cli *cli)
{
	const struct cmd *cmd = cli_find_cmd("restore");
	struct ctswap_restore_opts opts = { 0 };
	struct ctswap_restore_stats st;
	struct ctswap_store *store;
	const char *name = NULL;
	int ret, verbose = cli->verbose;

	for (int i = 1; i < cli->argc; i++) {
		const char *a = cli->argv[i];

		if (!strcmp(a, "--eager"))
			opts.eager = true;
		else if (!strcmp(a, "--allow-changed-files"))
			opts.allow_changed_files = true;
		else if (!strcmp(a, "--gen") || !strncmp(a, "--gen=", 6)) {
			const char *v = a[5] == '=' ? a + 6 : (i + 1 < cli->argc ? cli->argv[++i] : "");

			if (parse_gen(v, &opts.generation))
				return cli_usage_error(cmd, "--gen: want a generation number, not '%s'", v);
		} else if (!strcmp(a, "--time-ns")) {
			opts.time_ns = true;
		} else if (!strcmp(a, "--net")) {
			const char *v = i + 1 < cli->argc ? cli->argv[++i] : "";

			if (strncmp(v, "ns:", 3) || !v[3])
				return cli_usage_error(cmd, "--net %s: want ns:PATH", v);
			opts.net_ns = v + 3;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
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
	if (cli_open_store(cli, &store))
		return CLI_FAIL;
	ret = ctswap_restore(store, name, &opts, &st);
	ctswap_store_close(store);
	if (ret)
		return cli_fail(ret, name);
	printf("%d\n", st.init_pid);
	printf("restored %s: %u tasks (%u threads), %llu pages to swap in%s, running after %.1f ms\n",
	       name, st.tasks, st.threads, (unsigned long long)st.pages_total,
	       opts.eager ? " (filled before resuming)" : " lazily", st.running_ms);
	return CLI_OK;
}
