/* SPDX-License-Identifier: MIT */
/*
 * The CLI's subcommands and what they share.
 *
 * Each subcommand is a row of the table in ctswap.c: its name, its function,
 * flags saying what the dispatcher does for it (CMD_NEEDS_NAME, ...), and
 * its options, a table of struct cli_opt.  The dispatcher parses every
 * option (--opt VALUE and --opt=VALUE alike), the container name, -v, -h,
 * checks the name and opens the store, then calls the function with the
 * result; the usage line is generated from the table.
 *
 * To add an option: one row in the command's option table (and a field in
 * its argument struct if the value goes somewhere new).
 */
#ifndef CTSWAP_BUILTIN_H
#define CTSWAP_BUILTIN_H

#include <stddef.h>

#include "ctswap.h"

/* What a subcommand gets from the dispatcher. */
struct cli {
	int argc;
	char **argv;		/* argv[0] is the subcommand's name */
	const char *store_dir;	/* --store, $CTSWAP_STORE or NULL (the default) */
	int verbose;		/* -v given before and (CMD_VERBOSE) after the subcommand */
	const char *name;	/* the container name (CMD_NEEDS_NAME, CMD_OPT_NAME) or NULL */
	struct ctswap_store *store;	/* open with CMD_NEEDS_STORE, closed after the command */
	char **cmdline;		/* CMD_CMDLINE: the words after "--", NULL-terminated */
	void *args;		/* the command's argument struct, filled from its options */
};

/* What the dispatcher does for a command. */
#define CMD_NEEDS_NAME	(1u << 0)	/* exactly one container name, checked */
#define CMD_OPT_NAME	(1u << 1)	/* at most one container name, checked */
#define CMD_NEEDS_STORE	(1u << 2)	/* open the store before, close it after */
#define CMD_VERBOSE	(1u << 3)	/* -v/--verbose among its options raises the log level */
#define CMD_CMDLINE	(1u << 4)	/* NAME [options] -- CMD [ARG...] */
#define CMD_RAW		(1u << 5)	/* parses cli->argv itself (help, version) */

/* How an option stores what it was given. */
enum cli_opt_type {
	OPT_END = 0,
	OPT_BOOL,	/* no value: the bool at @off gets @val */
	OPT_INT,	/* no value: the int (or enum) at @off gets @val */
	OPT_STRING,	/* value: the const char * at @off points to it */
	OPT_PARSE,	/* value: @parse(value, args + @off) */
};

/*
 * Parse @value (NULL when the option was last, without one) into @dst;
 * on failure write the one-line reason into @err and return -1.
 */
typedef int cli_parse_fn(const char *value, void *dst, char *err, size_t errlen);

/* One option of a command. */
struct cli_opt {
	const char *name;	/* "--keep" */
	const char *alias;	/* "-f", or NULL */
	const char *value;	/* the value's name in the usage ("K"); NULL: takes none */
	enum cli_opt_type type;
	size_t off;		/* where it goes: offset in the command's argument struct */
	int val;		/* OPT_BOOL, OPT_INT: the value stored */
	cli_parse_fn *parse;	/* OPT_PARSE */
	const char *help;	/* one line for --help; NULL: not shown in the usage either */
};

/* True if @value is a whole number from @min to @max; it goes to *@out. */
bool cli_parse_ulong(const char *value, unsigned long min, unsigned long max, unsigned long *out);

#define OPT_FLAG(n, a, st, field, v, h) \
	{ .name = n, .alias = a, .type = OPT_BOOL, .off = offsetof(st, field), .val = v, .help = h }
#define OPT_SET(n, st, field, v, h) \
	{ .name = n, .type = OPT_INT, .off = offsetof(st, field), .val = v, .help = h }
#define OPT_STR(n, value_name, st, field, h) \
	{ .name = n, .value = value_name, .type = OPT_STRING, .off = offsetof(st, field), .help = h }
#define OPT_CALL(n, value_name, st, field, fn, h) \
	{ .name = n, .value = value_name, .type = OPT_PARSE, .off = offsetof(st, field), \
	  .parse = fn, .help = h }
#define OPT_LAST { .type = OPT_END }

struct cmd {
	const char *name;
	int (*fn)(struct cli *cli);
	unsigned int flags;		/* CMD_* */
	const struct cli_opt *opts;	/* OPT_LAST-terminated, or NULL */
	size_t args_size;		/* the argument struct cli->args points to */
	const void *args_default;	/* its initial value, or NULL (all zero) */
	const char *operands;		/* CMD_RAW: what follows the name in the usage */
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

/* The commands, their argument structs and option tables. */
struct dump_args {
	struct ctswap_dump_opts opts;
};
/* restore --ext-mount ID=HOSTPATH: the map, split from copies of its text. */
#define RESTORE_MAX_EXT 64
struct restore_ext {
	size_t nr;
	struct ctswap_ext_mount map[RESTORE_MAX_EXT];
	char text[RESTORE_MAX_EXT][4096];
};
struct restore_args {
	struct ctswap_restore_opts opts;
	struct restore_ext ext;
};
/* run --mount: the binds, split from copies of their SRC:DST[:ro] text. */
#define RUN_MAX_MOUNTS 32
struct run_mounts {
	size_t nr;
	struct ctswap_mount binds[RUN_MAX_MOUNTS];
	char text[RUN_MAX_MOUNTS][4096];
};
struct run_args {
	struct ctswap_run_opts opts;
	struct run_mounts mounts;
};
struct attach_args {
	int wait_ms;
};
struct freeze_args {
	double timeout_s;
};
struct rm_args {
	bool force;
};
struct show_args {		/* ps, inspect */
	bool json, verify;
};

extern const struct cli_opt dump_opts[], restore_opts[], run_opts[], attach_opts[],
	freeze_opts[], rm_opts[], ps_opts[], inspect_opts[];
extern const struct attach_args attach_defaults;
extern const struct freeze_args freeze_defaults;

int cmd_help(struct cli *cli);
int cmd_version(struct cli *cli);
int cmd_inspect(struct cli *cli);
int cmd_dump(struct cli *cli);
int cmd_restore(struct cli *cli);
int cmd_run(struct cli *cli);
int cmd_attach(struct cli *cli);
int cmd_freeze(struct cli *cli);
int cmd_thaw(struct cli *cli);
int cmd_kill(struct cli *cli);
int cmd_rm(struct cli *cli);
int cmd_ps(struct cli *cli);
int cmd_check(struct cli *cli);
int cmd_lazy_status(struct cli *cli);

/* inspect-ckpt.c: the checkpoint part of inspect (tasks, threads, mappings of the blob) */
#include <jansson.h>
void inspect_ckpt_text(const struct ctswap_ckpt *c);
json_t *inspect_ckpt_json(const struct ctswap_ckpt *c);

#endif
