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

/* --threads N: restoring threads (the engine takes one per CPU at most). */
static int restore_parse_threads(const char *value, void *dst, char *err, size_t errlen)
{
	unsigned long n;

	if (!cli_parse_ulong(value, 1, 64, &n)) {
		snprintf(err, errlen, "--threads: want a number from 1 to 64, not '%s'", value ? value : "");
		return -1;
	}
	*(unsigned int *)dst = (unsigned int)n;
	return 0;
}

/* --net ns:PATH: the network namespace file to restore into. */
static int restore_parse_net(const char *value, void *dst, char *err, size_t errlen)
{
	if (!value || strncmp(value, "ns:", 3) || !value[3]) {
		snprintf(err, errlen, "--net %s: want ns:PATH", value ? value : "");
		return -1;
	}
	*(const char **)dst = value + 3;
	return 0;
}

/* --ext-mount ID=HOSTPATH, repeatable: bind external mount ID from HOSTPATH. */
static int restore_parse_ext(const char *value, void *dst, char *err, size_t errlen)
{
	struct restore_ext *ext = dst;
	char *text, *eq;

	if (ext->nr == RESTORE_MAX_EXT) {
		snprintf(err, errlen, "--ext-mount: at most %d", RESTORE_MAX_EXT);
		return -1;
	}
	text = ext->text[ext->nr];
	if (!value || strlen(value) >= sizeof(ext->text[0]) || !(eq = strchr(value, '=')) ||
	    eq == value || eq[1] != '/') {
		snprintf(err, errlen, "--ext-mount %s: want ID=HOSTPATH with an absolute HOSTPATH",
			 value ? value : "");
		return -1;
	}
	strcpy(text, value);
	text[eq - value] = '\0';
	ext->map[ext->nr++] = (struct ctswap_ext_mount) { .id = text, .path = text + (eq - value) + 1 };
	return 0;
}

const struct cli_opt restore_opts[] = {
	OPT_FLAG("--eager", NULL, struct restore_args, opts.eager, true,
		 "fill every page before the container resumes"),
	OPT_FLAG("--fill-working-set", NULL, struct restore_args, opts.fill_working_set, true,
		 "copy the recorded working set into place before the container resumes"),
	OPT_CALL("--gen", "N", struct restore_args, opts.generation, restore_parse_gen,
		 "restore generation N instead of the newest"),
	OPT_FLAG("--allow-changed-files", NULL, struct restore_args, opts.allow_changed_files, true,
		 "accept mapped files that changed since the dump"),
	OPT_CALL("--net", "ns:PATH", struct restore_args, opts.net_ns, restore_parse_net,
		 "restore into the network namespace file PATH (needed if run joined one)"),
	OPT_FLAG("--time-ns", NULL, struct restore_args, opts.time_ns, true,
		 "a new time namespace continuing CLOCK_MONOTONIC and CLOCK_BOOTTIME from the dump"),
	OPT_STR("--root", "DIR", struct restore_args, opts.root,
		"rebuild a container's own root filesystem on DIR (default: the dumped one)"),
	OPT_CALL("--ext-mount", "ID=HOSTPATH", struct restore_args, ext, restore_parse_ext,
		 "bind external mount ID from HOSTPATH instead of the dumped one (repeatable)"),
	OPT_CALL("--threads", "N", struct restore_args, opts.threads, restore_parse_threads,
		 "rebuild independent processes with N threads, one per CPU at most (default 1)"),
	OPT_LAST,
};

/* ctswap restore: restart a checkpointed container; memory comes back lazily. */
int cmd_restore(struct cli *cli)
{
	struct restore_args *ra = cli->args;
	struct ctswap_restore_opts *opts = &ra->opts;
	struct ctswap_restore_stats st;
	const char *name = cli->name;
	int ret;

	opts->ext_mounts = ra->ext.map;
	opts->nr_ext_mounts = ra->ext.nr;
	ret = ctswap_restore(cli->store, name, opts, &st);
	if (ret)
		return cli_fail(ret, name);
	printf("%d\n", st.init_pid);
	printf("restored %s: %u tasks (%u threads), %llu pages to swap in%s, running after %.1f ms\n",
	       name, st.tasks, st.threads, (unsigned long long)st.pages_total,
	       opts->eager ? " (filled before resuming)" : " lazily", st.running_ms);
	return CLI_OK;
}
