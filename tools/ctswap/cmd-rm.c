// SPDX-License-Identifier: MIT
/* ctswap rm NAME [--force] */
#include <string.h>

#include "builtin.h"

int cmd_rm(struct cli *cli)
{
	const struct cmd *self = cli_find_cmd("rm");
	struct ctswap_store *store;
	const char *name = NULL;
	bool force = false;
	int ret;

	for (int i = 1; i < cli->argc; i++) {
		if (!strcmp(cli->argv[i], "--force") || !strcmp(cli->argv[i], "-f"))
			force = true;
		else if (cli->argv[i][0] == '-')
			return cli_usage_error(self, "%s: unknown option", cli->argv[i]);
		else if (!name)
			name = cli->argv[i];
		else
			return cli_usage_error(self, "%s: unexpected argument", cli->argv[i]);
	}
	if (!name)
		return cli_usage_error(self, "rm: missing container name");
	if (cli_check_name(name) || cli_open_store(cli, &store))
		return CLI_FAIL;
	ret = ctswap_rm(store, name, force);
	ctswap_store_close(store);
	return ret ? cli_fail(ret, name) : CLI_OK;
}
