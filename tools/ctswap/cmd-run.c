// SPDX-License-Identifier: MIT
/* ctswap run NAME [--no-pidns] [--tty] [--log FILE] -- CMD [ARG...] */
#include <stdio.h>
#include <string.h>

#include "builtin.h"

int cmd_run(struct cli *cli)
{
	const struct cmd *self = cli_find_cmd("run");
	struct ctswap_run_opts opts = { 0 };
	struct ctswap_store *store;
	const char *name = NULL;
	pid_t pid;
	int i, ret;

	for (i = 1; i < cli->argc && strcmp(cli->argv[i], "--"); i++) {
		if (!strcmp(cli->argv[i], "--no-pidns"))
			opts.no_pidns = true;
		else if (!strcmp(cli->argv[i], "--tty") || !strcmp(cli->argv[i], "-t"))
			opts.tty = true;
		else if (!strcmp(cli->argv[i], "--log") && i + 1 < cli->argc)
			opts.log_path = cli->argv[++i];
		else if (cli->argv[i][0] == '-')
			return cli_usage_error(self, "%s: unknown option", cli->argv[i]);
		else if (!name)
			name = cli->argv[i];
		else
			return cli_usage_error(self, "run: missing '--' before the command '%s'",
					       cli->argv[i]);
	}
	if (!name)
		return cli_usage_error(self, "run: missing container name");
	if (i == cli->argc)
		return cli_usage_error(self, "run: missing '--' before the command");
	if (i + 1 == cli->argc)
		return cli_usage_error(self, "run: missing command after '--'");
	if (cli_check_name(name))
		return CLI_FAIL;
	opts.argv = cli->argv + i + 1;
	if (cli_open_store(cli, &store))
		return CLI_FAIL;
	ret = ctswap_run(store, name, &opts, &pid);
	ctswap_store_close(store);
	if (ret)
		return cli_fail(ret, name);
	printf("%d\n", pid);
	return CLI_OK;
}
