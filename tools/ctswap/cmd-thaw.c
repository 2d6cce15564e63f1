// SPDX-License-Identifier: MIT
/* ctswap thaw NAME */
#include "builtin.h"

int cmd_thaw(struct cli *cli)
{
	const struct cmd *self = cli_find_cmd("thaw");
	struct ctswap_store *store;
	const char *name;
	int ret;

	if (cli->argc != 2 || cli->argv[1][0] == '-')
		return cli_usage_error(self, "thaw: want exactly one container name");
	name = cli->argv[1];
	if (cli_check_name(name) || cli_open_store(cli, &store))
		return CLI_FAIL;
	ret = ctswap_thaw(store, name);
	ctswap_store_close(store);
	return ret ? cli_fail(ret, name) : CLI_OK;
}
