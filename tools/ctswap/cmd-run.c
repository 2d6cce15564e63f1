// SPDX-License-Identifier: MIT
/* ctswap run NAME [options] -- CMD [ARG...]: start CMD in a new container (options in run_opts) */
#include <stdio.h>

#include "builtin.h"

const struct cli_opt run_opts[] = {
	OPT_FLAG("--no-pidns", NULL, struct run_args, opts.no_pidns, true,
		 "stay in the host pid namespace"),
	OPT_FLAG("--tty", "-t", struct run_args, opts.tty, true,
		 "run on a new pseudo-terminal, to attach to"),
	OPT_STR("--log", "FILE", struct run_args, opts.log_path,
		"standard output and error to FILE instead of console.log"),
	OPT_LAST,
};

int cmd_run(struct cli *cli)
{
	struct ctswap_run_opts *opts = &((struct run_args *)cli->args)->opts;
	pid_t pid;
	int ret;

	opts->argv = cli->cmdline;
	ret = ctswap_run(cli->store, cli->name, opts, &pid);
	if (ret)
		return cli_fail(ret, cli->name);
	printf("%d\n", pid);
	return CLI_OK;
}
