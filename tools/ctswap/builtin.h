/* SPDX-License-Identifier: MIT */
/* The CLI's subcommands and the helpers they share. */
#ifndef CTSWAP_BUILTIN_H
#define CTSWAP_BUILTIN_H

#include "ctswap.h"

/* What every subcommand gets: its arguments (argv[0] is its name) and the store. */
struct cli {
	int argc;
	char **argv;
	const char *store_dir;	/* --store, $CTSWAP_STORE or the default */
	int verbose;
};

struct cmd {
	const char *name;
	int (*fn)(struct cli *cli);
	const char *usage;	/* one line, shown by help and on usage errors */
	const char *summary;
};

/* Exit codes: 0 ok, 1 failure, 2 usage error. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Print "ctswap: <what>: <why>" for a failed API call and return CLI_FAIL. */
int cli_fail(int err, const char *what);
/* Print "ctswap: <msg>" and return CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "ctswap: <msg>" plus the usage of @cmd and return CLI_USAGE. */
int cli_usage_error(const struct cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help before any "--"; prints the usage. */
bool cli_wants_help(struct cli *cli, const struct cmd *cmd);
/* Open the store named by the global options, reporting failure. */
int cli_open_store(struct cli *cli, struct ctswap_store **store);
/* Check a container name argument, reporting a bad one. */
int cli_check_name(const char *name);
const struct cmd *cli_find_cmd(const char *name);

int cmd_help(struct cli *cli);
int cmd_version(struct cli *cli);
int cmd_inspect(struct cli *cli);
int cmd_dump(struct cli *cli);
int cmd_restore(struct cli *cli);

/* inspect-ckpt.c: the checkpoint part of inspect (tasks, threads, mappings of the blob) */
#include <jansson.h>
void inspect_ckpt_text(const struct ctswap_ckpt *c);
json_t *inspect_ckpt_json(const struct ctswap_ckpt *c);
int cmd_run(struct cli *cli);
int cmd_attach(struct cli *cli);
int cmd_freeze(struct cli *cli);
int cmd_thaw(struct cli *cli);
int cmd_kill(struct cli *cli);
int cmd_rm(struct cli *cli);
int cmd_ps(struct cli *cli);
int cmd_check(struct cli *cli);

#endif
