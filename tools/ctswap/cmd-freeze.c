// SPDX-License-Identifier: MIT
/* ctswap freeze NAME [--timeout SEC] */
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

#define FREEZE_DEFAULT_TIMEOUT_S 10.0

int cmd_freeze(struct cli *cli)
{
	const struct cmd *self = cli_find_cmd("freeze");
	double timeout = FREEZE_DEFAULT_TIMEOUT_S;
	struct ctswap_store *store;
	const char *name = NULL;
	char *end;
	int ret;

	for (int i = 1; i < cli->argc; i++) {
		if (!strcmp(cli->argv[i], "--timeout") && i + 1 < cli->argc) {
			timeout = strtod(cli->argv[++i], &end);
			if (*end || end == cli->argv[i] || timeout < 0 || timeout > 86400)
				return cli_usage_error(self, "%s: bad timeout (seconds)", cli->argv[i]);
		} else if (cli->argv[i][0] == '-') {
			return cli_usage_error(self, "%s: unknown option", cli->argv[i]);
		} else if (!name) {
			name = cli->argv[i];
		} else {
			return cli_usage_error(self, "%s: unexpected argument", cli->argv[i]);
		}
	}
	if (!name)
		return cli_usage_error(self, "freeze: missing container name");
	if (cli_check_name(name) || cli_open_store(cli, &store))
		return CLI_FAIL;
	ret = ctswap_freeze(store, name, (int)(timeout * 1000));
	ctswap_store_close(store);
	return ret ? cli_fail(ret, name) : CLI_OK;
}
