// SPDX-License-Identifier: MIT
/* ctswap thaw NAME */
#include "builtin.h"

int cmd_thaw(struct cli *cli)
{
	int ret = ctswap_thaw(cli->store, cli->name);

	return ret ? cli_fail(ret, cli->name) : CLI_OK;
}
