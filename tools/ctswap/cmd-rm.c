// SPDX-License-Identifier: MIT
/* ctswap rm NAME [--force] */
#include "builtin.h"

const struct cli_opt rm_opts[] = {
	OPT_FLAG("--force", "-f", struct rm_args, force, true, "kill a live container first"),
	OPT_LAST,
};

int cmd_rm(struct cli *cli)
{
	const struct rm_args *args = cli->args;
	int ret = ctswap_rm(cli->store, cli->name, args->force);

	return ret ? cli_fail(ret, cli->name) : CLI_OK;
}
