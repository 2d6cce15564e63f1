// SPDX-License-Identifier: MIT
/* ctswap freeze NAME [--timeout SEC] */
#include <stdio.h>
#include <stdlib.h>

#include "builtin.h"

const struct freeze_args freeze_defaults = { .timeout_s = 10.0 };

/* --timeout SEC: 0 to a day. */
static int freeze_parse_timeout(const char *value, void *dst, char *err, size_t errlen)
{
	double *timeout = dst;
	char *end;

	if (!value) {
		snprintf(err, errlen, "--timeout needs a value (seconds)");
		return -1;
	}
	*timeout = strtod(value, &end);
	if (*end || end == value || *timeout < 0 || *timeout > 86400) {
		snprintf(err, errlen, "%s: bad timeout (seconds)", value);
		return -1;
	}
	return 0;
}

const struct cli_opt freeze_opts[] = {
	OPT_CALL("--timeout", "SEC", struct freeze_args, timeout_s, freeze_parse_timeout,
		 "give up after SEC seconds (default 10)"),
	OPT_LAST,
};

int cmd_freeze(struct cli *cli)
{
	const struct freeze_args *args = cli->args;
	int ret = ctswap_freeze(cli->store, cli->name, (int)(args->timeout_s * 1000));

	return ret ? cli_fail(ret, cli->name) : CLI_OK;
}
