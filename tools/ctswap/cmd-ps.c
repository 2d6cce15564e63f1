// SPDX-License-Identifier: MIT
/* ctswap ps [NAME] [--json] */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "builtin.h"

/* "12.3M"-style size. */
static void ps_human(uint64_t bytes, char *buf, size_t size)
{
	const char *unit = "KMGT";
	double v = bytes / 1024.0;

	while (v >= 1024 && unit[1]) {
		v /= 1024;
		unit++;
	}
	snprintf(buf, size, "%.1f%c", v, *unit);
}

/* The free-form last column: lazy progress, checkpoint, exit status. */
static void ps_note(const struct ctswap_info *info, char *buf, size_t size)
{
	int st = info->exit_status;
	size_t n = 0;

	buf[0] = '\0';
	if (info->lazy_total)
		n += snprintf(buf + n, size - n, "lazy %" PRIu64 "/%" PRIu64 " ",
			      info->lazy_resident, info->lazy_total);
	if (info->generation && n < size)
		n += snprintf(buf + n, size - n, "gen %u ", info->generation);
	if (info->state == CTSWAP_STOPPED && st >= 0 && n < size) {
		if (WIFEXITED(st))
			snprintf(buf + n, size - n, "exited %d", WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			snprintf(buf + n, size - n, "killed by SIG%s", sigabbrev_np(WTERMSIG(st)) ?: "?");
	}
}

/* One table row. */
static int ps_row(const struct ctswap_info *info, void *arg)
{
	char rss[32], pid[16], note[96];

	(void)arg;
	ps_human(info->rss_bytes, rss, sizeof(rss));
	if (info->init_pid)
		snprintf(pid, sizeof(pid), "%d", info->init_pid);
	else
		strcpy(pid, "-");
	ps_note(info, note, sizeof(note));
	printf("%-20s %-12s %8s %6u %9s %-s%s%s\n", info->name, ctswap_state_name(info->state), pid,
	       info->nr_tasks, rss, info->cgroup[0] ? info->cgroup : "-", note[0] ? "  " : "",
	       note);
	return 0;
}

/* One JSON object on one line. */
static int ps_json(const struct ctswap_info *info, void *arg)
{
	json_t *o, *lazy = json_null();
	char *text;

	(void)arg;
	if (info->lazy_total)
		lazy = json_pack("{s:I, s:I}", "resident", (json_int_t)info->lazy_resident,
				 "total", (json_int_t)info->lazy_total);
	o = json_pack("{s:s, s:s, s:i, s:i, s:I, s:s?, s:i, s:i, s:o}",
		      "name", info->name, "state", ctswap_state_name(info->state),
		      "init_pid", (int)info->init_pid, "tasks", (int)info->nr_tasks,
		      "rss_bytes", (json_int_t)info->rss_bytes,
		      "cgroup", info->cgroup[0] ? info->cgroup : NULL,
		      "exit_status", info->exit_status, "generation", (int)info->generation,
		      "lazy", lazy);
	if (!o)
		return cli_error("ps: cannot build JSON");
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return cli_error("ps: cannot build JSON");
	puts(text);
	free(text);
	return 0;
}

const struct cli_opt ps_opts[] = {
	OPT_FLAG("--json", NULL, struct show_args, json, true, "one JSON object per line"),
	OPT_LAST,
};

int cmd_ps(struct cli *cli)
{
	const struct show_args *args = cli->args;
	int (*fn)(const struct ctswap_info *, void *) = args->json ? ps_json : ps_row;
	struct ctswap_info info;
	const char *name = cli->name;
	int ret;

	if (name)
		ret = ctswap_info(cli->store, name, &info);
	else
		ret = 0;
	if (!ret && fn == ps_row)
		printf("%-20s %-12s %8s %6s %9s %s\n", "NAME", "STATE", "PID", "TASKS", "RSS",
		       "CGROUP");
	if (!ret)
		ret = name ? fn(&info, NULL) : ctswap_list(cli->store, fn, NULL);
	return ret ? cli_fail(ret, name ? name : "ps") : CLI_OK;
}
