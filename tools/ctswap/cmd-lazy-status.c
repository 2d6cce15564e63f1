// SPDX-License-Identifier: MIT
/*
 * ctswap lazy-status IMAGES_DIR: the lazy server of a restore made through
 * the criu front end (podman, runc), which runs on after the runtime's
 * restore returned.  IMAGES_DIR is the checkpoint dir the runtime gave
 * (podman's userdata/checkpoint); its ctswap store is IMAGES_DIR/ctswap.
 * One line per container of that store:
 *
 *   NAME: none                                  no server reports progress
 *   NAME: PID STATE RESIDENT/TOTAL pages resident, LEFT left
 *
 * STATE is swapping-in, stopped (the server is stopped by a signal, its
 * tasks wait on their faults) or gone (it died with pages left: its
 * watchdog killed the container).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "builtin.h"

/* "swapping-in", "stopped" or "gone": what /proc says of server @pid. */
static const char *lazy_server_state(pid_t pid)
{
	char path[64], state = '?';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return "gone";
	/* "PID (COMM) S ...": the state follows the last ')' */
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = '?';
	fclose(f);
	if (state == 'Z' || state == 'X')
		return "gone";
	return state == 'T' ? "stopped" : "swapping-in";
}

static int lazy_status_row(const struct ctswap_info *info, void *arg)
{
	(void)arg;
	if (!info->lazy_total || !info->lazy_pid) {
		printf("%s: none\n", info->name);
		return 0;
	}
	printf("%s: %d %s %" PRIu64 "/%" PRIu64 " pages resident, %" PRIu64 " left\n", info->name,
	       (int)info->lazy_pid, lazy_server_state(info->lazy_pid), info->lazy_resident,
	       info->lazy_total, info->lazy_total - info->lazy_resident);
	return 0;
}

int cmd_lazy_status(struct cli *cli)
{
	char dir[PATH_MAX];
	struct ctswap_store *store;
	struct stat st;
	int ret;

	if (cli->argc != 2 || cli->argv[1][0] == '-' || !cli->argv[1][0]) {
		fprintf(stderr, "usage: ctswap lazy-status IMAGES_DIR\n");
		return CLI_USAGE;
	}
	if (snprintf(dir, sizeof(dir), "%s/ctswap", cli->argv[1]) >= (int)sizeof(dir))
		return cli_error("%s: path too long", cli->argv[1]);
	/* opening a store creates it: look first */
	if (stat(cli->argv[1], &st) < 0)
		return cli_error("%s: %s", cli->argv[1], strerror(errno));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return cli_error("%s: holds no ctswap checkpoint images", cli->argv[1]);
	ret = ctswap_store_open(dir, &store);
	if (ret)
		return cli_fail(ret, cli->argv[1]);
	ret = ctswap_list(store, lazy_status_row, NULL);
	ctswap_store_close(store);
	return ret ? cli_fail(ret, cli->argv[1]) : CLI_OK;
}
