// SPDX-License-Identifier: MIT
/*
 * ctswap's entry point: global options, then the subcommand from the table.
 * The dispatcher does for every command what its flags ask (builtin.h):
 * options, container name, -v, -h, store; the command does the rest.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

#define NAME_STORE	(CMD_NEEDS_NAME | CMD_NEEDS_STORE)

static const struct cmd commands[] = {
	{ "run", cmd_run, NAME_STORE | CMD_CMDLINE, run_opts, sizeof(struct run_args), NULL, NULL,
	  "start CMD in a new container (--tty: on a terminal to attach to)" },
	{ "attach", cmd_attach, NAME_STORE, attach_opts, sizeof(struct attach_args), &attach_defaults,
	  NULL, "connect to the terminal of a container run with --tty; Ctrl-] detaches" },
	{ "ps", cmd_ps, CMD_OPT_NAME | CMD_NEEDS_STORE, ps_opts, sizeof(struct show_args), NULL, NULL,
	  "list containers and their state" },
	{ "freeze", cmd_freeze, NAME_STORE, freeze_opts, sizeof(struct freeze_args), &freeze_defaults,
	  NULL, "freeze a container and wait until it is frozen" },
	{ "thaw", cmd_thaw, NAME_STORE, NULL, 0, NULL, NULL, "thaw a frozen container" },
	{ "dump", cmd_dump, NAME_STORE | CMD_VERBOSE, dump_opts, sizeof(struct dump_args), NULL, NULL,
	  "checkpoint a container into its swap area" },
	{ "restore", cmd_restore, NAME_STORE | CMD_VERBOSE, restore_opts, sizeof(struct restore_args),
	  NULL, NULL, "restart a checkpointed container; its memory comes back lazily from the swap area" },
	{ "inspect", cmd_inspect, NAME_STORE, inspect_opts, sizeof(struct show_args), NULL, NULL,
	  "show what a container's swap area holds; --verify checks every checksum" },
	{ "kill", cmd_kill, NAME_STORE, NULL, 0, NULL, NULL, "kill every task of a container" },
	{ "rm", cmd_rm, NAME_STORE, rm_opts, sizeof(struct rm_args), NULL, NULL,
	  "remove a container (--force: even a live one)" },
	{ "lazy-status", cmd_lazy_status, CMD_RAW, NULL, 0, NULL, "IMAGES_DIR",
	  "show the lazy server a criu-compatible restore from IMAGES_DIR started" },
	{ "check", cmd_check, 0, NULL, 0, NULL, NULL, "probe the kernel features ctswap relies on" },
	{ "help", cmd_help, CMD_RAW, NULL, 0, NULL, "[COMMAND]", "show help for ctswap or one command" },
	{ "version", cmd_version, CMD_RAW, NULL, 0, NULL, "", "print the version" },
};

/* Look a subcommand up by name. */
static const struct cmd *cli_find_cmd(const char *name)
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

/* The one usage line of @cmd, generated from its flags and options: "ctswap dump NAME [--pre] ...". */
static void print_usage_line(FILE *out, const struct cmd *cmd)
{
	fprintf(out, "usage: ctswap %s", cmd->name);
	if (cmd->flags & CMD_RAW)
		fprintf(out, "%s%s", cmd->operands[0] ? " " : "", cmd->operands);
	if (cmd->flags & CMD_NEEDS_NAME)
		fputs(" NAME", out);
	if (cmd->flags & CMD_OPT_NAME)
		fputs(" [NAME]", out);
	for (const struct cli_opt *o = cmd->opts; o && o->type != OPT_END; o++)
		if (o->help)
			fprintf(out, " [%s%s%s]", o->name, o->value ? " " : "", o->value ? o->value : "");
	if (cmd->flags & CMD_VERBOSE)
		fputs(" [-v]", out);
	if (cmd->flags & CMD_CMDLINE)
		fputs(" -- CMD [ARG...]", out);
	fputc('\n', out);
}

/* --help of one command: usage, summary, one line per option. */
static void print_cmd_help(const struct cmd *cmd)
{
	char left[64];

	print_usage_line(stdout, cmd);
	printf("\n%s\n", cmd->summary);
	if (!cmd->opts)
		return;
	printf("\noptions:\n");
	for (const struct cli_opt *o = cmd->opts; o->type != OPT_END; o++) {
		if (!o->help)
			continue;
		snprintf(left, sizeof(left), "%s%s%s%s%s", o->alias ? o->alias : "",
			 o->alias ? ", " : "", o->name, o->value ? " " : "", o->value ? o->value : "");
		printf("  %-24s %s\n", left, o->help);
	}
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
	print_cmd_help(cmd);
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
	fputc('\n', stderr);
	print_usage_line(stderr, cmd);
	return CLI_USAGE;
}

bool cli_parse_ulong(const char *value, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (!value || !*value)
		return false;
	errno = 0;
	*out = strtoul(value, &end, 10);
	return !*end && !errno && *out >= min && *out <= max;
}

/* True if argv holds -h or --help before any "--". */
static bool cli_wants_help(const struct cli *cli)
{
	for (int i = 1; i < cli->argc && strcmp(cli->argv[i], "--"); i++)
		if (!strcmp(cli->argv[i], "-h") || !strcmp(cli->argv[i], "--help"))
			return true;
	return false;
}

/* The option of @cmd that @arg names ("--keep", "--keep=3", "-f"); *@value gets what follows '='. */
static const struct cli_opt *opt_find(const struct cmd *cmd, const char *arg, const char **value)
{
	*value = NULL;
	for (const struct cli_opt *o = cmd->opts; o && o->type != OPT_END; o++) {
		size_t len = strlen(o->name);

		if (!strncmp(arg, o->name, len) && (arg[len] == '\0' || arg[len] == '=')) {
			if (arg[len] == '=')
				*value = arg + len + 1;
			return o;
		}
		if (o->alias && !strcmp(arg, o->alias))
			return o;
	}
	return NULL;
}

/* Store what option @o was given (@value, NULL if none) where it goes in @args. */
static int opt_apply(const struct cmd *cmd, const struct cli_opt *o, const char *value, void *args)
{
	char *dst = (char *)args + o->off;
	char err[256];

	if (!o->value && value)
		return cli_usage_error(cmd, "%s: takes no value", o->name);
	switch (o->type) {
	case OPT_BOOL:
		*(bool *)dst = o->val;
		return 0;
	case OPT_INT:
		*(int *)dst = o->val;
		return 0;
	case OPT_STRING:
		if (!value)
			return cli_usage_error(cmd, "%s needs a value", o->name);
		*(const char **)dst = value;
		return 0;
	case OPT_PARSE:
		if (o->parse(value, dst, err, sizeof(err)))
			return cli_usage_error(cmd, "%s", err);
		return 0;
	case OPT_END:
		break;
	}
	return cli_usage_error(cmd, "%s: unknown option", o->name);
}

/* The operands of a CMD_CMDLINE command: "--" then at least the command; argv[@i] is "--" or the end. */
static int cli_parse_cmdline(const struct cmd *cmd, struct cli *cli, int i)
{
	if (i == cli->argc)
		return cli_usage_error(cmd, "%s: missing '--' before the command", cmd->name);
	if (i + 1 == cli->argc)
		return cli_usage_error(cmd, "%s: missing command after '--'", cmd->name);
	cli->cmdline = cli->argv + i + 1;
	return 0;
}

/* Parse the arguments of @cmd as its flags and option table say. */
static int cli_parse(const struct cmd *cmd, struct cli *cli)
{
	bool cmdline = cmd->flags & CMD_CMDLINE;
	int i, ret;

	for (i = 1; i < cli->argc; i++) {
		const char *a = cli->argv[i], *value;
		const struct cli_opt *o;

		if (cmdline && !strcmp(a, "--"))
			break;
		if ((cmd->flags & CMD_VERBOSE) && (!strcmp(a, "-v") || !strcmp(a, "--verbose"))) {
			cli->verbose++;
		} else if (a[0] == '-') {
			o = opt_find(cmd, a, &value);
			if (!o)
				return cli_usage_error(cmd, "%s: unknown option", a);
			if (o->value && !value && i + 1 < cli->argc)
				value = cli->argv[++i];
			ret = opt_apply(cmd, o, value, cli->args);
			if (ret)
				return ret;
		} else if (!cli->name && (cmd->flags & (CMD_NEEDS_NAME | CMD_OPT_NAME))) {
			cli->name = a;
		} else if (cmdline) {
			return cli_usage_error(cmd, "%s: missing '--' before the command '%s'", cmd->name, a);
		} else {
			return cli_usage_error(cmd, "%s: unexpected argument", a);
		}
	}
	if ((cmd->flags & CMD_NEEDS_NAME) && !cli->name)
		return cli_usage_error(cmd, "%s: missing container name", cmd->name);
	return cmdline ? cli_parse_cmdline(cmd, cli, i) : 0;
}

/* Check the container name argument, reporting a bad one. */
static int cli_check_name(const char *name)
{
	if (ctswap_name_valid(name))
		return 0;
	return cli_error("%s: invalid container name (want [A-Za-z0-9][A-Za-z0-9_.-]{0,63})", name);
}

/* Open the store named by the global options, reporting failure. */
static int cli_open_store(struct cli *cli)
{
	int ret = ctswap_store_open(cli->store_dir, &cli->store);

	return ret ? cli_fail(ret, cli->store_dir ? cli->store_dir : CTSWAP_DEFAULT_STORE) : 0;
}

/* Run @cmd: parse, check the name, open the store, call it, clean up. */
static int cli_run(const struct cmd *cmd, struct cli *cli)
{
	int ret;

	if (cmd->flags & CMD_RAW)
		return cmd->fn(cli);
	if (cmd->args_size) {
		cli->args = calloc(1, cmd->args_size);
		if (!cli->args)
			return cli_error("out of memory");
		if (cmd->args_default)
			memcpy(cli->args, cmd->args_default, cmd->args_size);
	}
	ret = cli_parse(cmd, cli);
	if (!ret && cli->name)
		ret = cli_check_name(cli->name);
	if (!ret && cli->verbose)
		ctswap_set_log_level(1 + cli->verbose);
	if (!ret && (cmd->flags & CMD_NEEDS_STORE))
		ret = cli_open_store(cli);
	if (!ret)
		ret = cmd->fn(cli);
	if (cli->store)
		ctswap_store_close(cli->store);
	free(cli->args);
	return ret;
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
	if (cli_wants_help(&cli)) {
		print_cmd_help(cmd);
		return CLI_OK;
	}
	return cli_run(cmd, &cli);
}
