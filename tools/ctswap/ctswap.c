// SPDX-License-Identifier: MIT
/* ctswap's entry point: global options, then the subcommand from the table. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

static const struct cmd commands[] = {
	{ "run", cmd_run, "ctswap run NAME [--no-pidns] [--tty] [--log FILE] -- CMD [ARG...]", "start CMD in a new container (--tty: on a terminal to attach to)" },
	{ "attach", cmd_attach, "ctswap attach NAME [--wait MS]", "connect to the terminal of a container run with --tty; Ctrl-] detaches" },
	{ "ps", cmd_ps, "ctswap ps [NAME] [--json]", "list containers and their state" },
	{ "freeze", cmd_freeze, "ctswap freeze NAME [--timeout SEC]", "freeze a container and wait until it is frozen" },
	{ "thaw", cmd_thaw, "ctswap thaw NAME", "thaw a frozen container" },
	{ "dump", cmd_dump, "ctswap dump NAME [--leave-running] [--no-snapshot] [--pre] [--compress] [--keep K] [--tcp-close | --tcp-established] [--max-deleted-size BYTES] [-v]", "checkpoint a container into its swap area" },
	{ "restore", cmd_restore, "ctswap restore NAME [--eager] [--gen N] [--allow-changed-files] [-v]", "restart a checkpointed container; its memory comes back lazily from the swap area" },
	{ "inspect", cmd_inspect, "ctswap inspect NAME [--json] [--verify]", "show what a container's swap area holds; --verify checks every checksum" },
	{ "kill", cmd_kill, "ctswap kill NAME", "kill every task of a container" },
	{ "rm", cmd_rm, "ctswap rm NAME [--force]", "remove a container (--force: even a live one)" },
	{ "check", cmd_check, "ctswap check", "probe the kernel features ctswap relies on" },
	{ "help", cmd_help, "ctswap help [COMMAND]", "show help for ctswap or one command" },
	{ "version", cmd_version, "ctswap version", "print the version" },
};

/* Look a subcommand up by name. */
const struct cmd *cli_find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Print the list of commands. */
static void print_overview(FILE *out)
{
	fprintf(out, "usage: ctswap [--store DIR] [-v] COMMAND [ARGS]\n\n"
		     "Checkpoint/restart for Linux containers through a per-container swap area.\n\n"
		     "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nThe store is %s unless --store or $CTSWAP_STORE says otherwise.\n"
		     "'ctswap COMMAND --help' shows the options of one command.\n",
		CTSWAP_DEFAULT_STORE);
}

/* ctswap help [COMMAND] */
int cmd_help(struct cli *cli)
{
	const struct cmd *cmd;

	if (cli->argc < 2) {
		print_overview(stdout);
		return CLI_OK;
	}
	cmd = cli_find_cmd(cli->argv[1]);
	if (!cmd)
		return cli_error("%s: unknown command (see 'ctswap help')", cli->argv[1]);
	printf("usage: %s\n\n%s\n", cmd->usage, cmd->summary);
	return CLI_OK;
}

/* ctswap version */
int cmd_version(struct cli *cli)
{
	(void)cli;
	printf("ctswap 0.1 (abi %d)\n", CTSWAP_ABI_VERSION);
	return CLI_OK;
}

int cli_fail(int err, const char *what)
{
	const char *why = ctswap_last_error();

	if (why)
		fprintf(stderr, "ctswap: %s\n", why);
	else
		fprintf(stderr, "ctswap: %s: %s\n", what, strerror(-err));
	return CLI_FAIL;
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ctswap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

int cli_usage_error(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("ctswap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", cmd->usage);
	return CLI_USAGE;
}

bool cli_wants_help(struct cli *cli, const struct cmd *cmd)
{
	for (int i = 1; i < cli->argc; i++) {
		if (!strcmp(cli->argv[i], "--"))
			break;
		if (!strcmp(cli->argv[i], "-h") || !strcmp(cli->argv[i], "--help")) {
			printf("usage: %s\n\n%s\n", cmd->usage, cmd->summary);
			return true;
		}
	}
	return false;
}

int cli_open_store(struct cli *cli, struct ctswap_store **store)
{
	int ret = ctswap_store_open(cli->store_dir, store);

	return ret ? cli_fail(ret, cli->store_dir ? cli->store_dir : CTSWAP_DEFAULT_STORE) : 0;
}

int cli_check_name(const char *name)
{
	if (ctswap_name_valid(name))
		return 0;
	return cli_error("%s: invalid container name (want [A-Za-z0-9][A-Za-z0-9_.-]{0,63})", name);
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	const struct cmd *cmd;
	int i;

	cli.store_dir = getenv("CTSWAP_STORE");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc) {
			cli.store_dir = argv[++i];
		} else if (!strncmp(argv[i], "--store=", 8)) {
			cli.store_dir = argv[i] + 8;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			cli.verbose++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			print_overview(stdout);
			return CLI_OK;
		} else {
			fprintf(stderr, "ctswap: %s: unknown option\n", argv[i]);
			print_overview(stderr);
			return CLI_USAGE;
		}
	}
	if (i == argc) {
		print_overview(stderr);
		return CLI_USAGE;
	}
	cmd = cli_find_cmd(argv[i]);
	if (!cmd) {
		fprintf(stderr, "ctswap: %s: unknown command (see 'ctswap help')\n", argv[i]);
		return CLI_USAGE;
	}
	cli.argc = argc - i;
	cli.argv = argv + i;
	ctswap_set_log_level(1 + cli.verbose);
	if (cli_wants_help(&cli, cmd))
		return CLI_OK;
	return cmd->fn(&cli);
}
