// SPDX-License-Identifier: MIT
/* ctswap kill NAME */
#include "builtin.h"

int cmd_kill(struct cli *cli)
{
	int ret = ctswap_kill(cli->store, cli->name);

	return ret ? cli_fail(ret, cli->name) : CLI_OK;
}
