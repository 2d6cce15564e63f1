// SPDX-License-Identifier: MIT
/* ctswap check: probe the kernel features ctswap relies on. */
#include <stdio.h>

#include "builtin.h"

/* One line per feature. */
static void check_line(const struct ctswap_check *c, void *arg)
{
	(void)arg;
	printf("%-28s %s%s\n", c->feature, c->ok ? "ok" : c->detail,
	       !c->ok && !c->required ? " (optional)" : "");
	if (c->ok && c->detail[0] && c->detail[0] != 'o')
		printf("%-28s   %s\n", "", c->detail);
}

int cmd_check(struct cli *cli)
{
	int ret;

	(void)cli;
	ret = ctswap_check(check_line, NULL);
	if (ret)
		return cli_fail(ret, "check");
	return CLI_OK;
}
