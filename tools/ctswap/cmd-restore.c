// SPDX-License-Identifier: MIT
/* ctswap restore NAME [options]: restart a checkpointed container (options in restore_opts) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

/* --gen N: a positive generation number. */
static int restore_parse_gen(const char *value, void *dst, char *err, size_t errlen)
{
	unsigned long gen;

	if (!cli_parse_ulong(value, 1, 0xffffffffUL, &gen)) {
		snprintf(err, errlen, "--gen: want a generation number, not '%s'", value ? value : "");
		return -1;
	}
	*(unsigned int *)dst = (unsigned int)gen;
	return 0;
}

const struct cli_opt restore_opts[] = {
	OPT_FLAG("--eager", NULL, struct restore_args, opts.eager, true,
		 "fill every page before the container resumes"),
	OPT_CALL("--gen", "N", struct restore_args, opts.generation, restore_parse_gen,
		 "restore generation N instead of the newest"),
	OPT_FLAG("--allow-changed-files", NULL, struct restore_args, opts.allow_changed_files, true,
		 "accept mapped files that changed since the dump"),
	OPT_LAST,
};

/* ctswap restore: restart a checkpointed container; memory comes back lazily. */
int cmd_restore(struct cli *cli)
{
	const struct ctswap_restore_opts *opts = &((struct restore_args *)cli->args)->opts;
	struct ctswap_restore_stats st;
	const char *name = cli->name;
	int ret;

	ret = ctswap_restore(cli->store, name, opts, &st);
	if (ret)
		return cli_fail(ret, name);
	printf("%d\n", st.init_pid);
	printf("restored %s: %u tasks (%u threads), %llu pages to swap in%s, running after %.1f ms\n",
	       name, st.tasks, st.threads, (unsigned long long)st.pages_total,
	       opts->eager ? " (filled before resuming)" : " lazily", st.running_ms);
	return CLI_OK;
}
