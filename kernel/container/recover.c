// SPDX-License-Identifier: MIT
/*
 * Repair after a command that died holding a container's lock (see lock.h):
 * the next command finds the dead holder's "pid N WHAT" line still in the
 * lock file and calls ct_recover() before doing its own work.
 *
 * What a SIGKILLed dump can leave, and what is done here:
 *   - the cgroup frozen (killed while seizing): thawed.  Its threads were
 *     detached by the kernel when the tracer died;
 *   - a process it was injecting system calls into: guarded injections
 *     (inject/guard.c) return it to its own state by itself.  Only where
 *     no guard was possible ("phase inject PID") did the kernel kill that
 *     process with the tracer (PTRACE_O_EXITKILL, since resuming it with
 *     half-injected registers would corrupt it silently); reported;
 *   - snapshot children (dump/snapshot.h, reaped by inject/reap.c) the kernel killed with it: they
 *     stay zombies of the container's processes (no exit signal, so only
 *     wait(__WALL) would see them) and are reaped here;
 *   - swap.idx.tmp or ckpt-N.meta.tmp half written: removed.  The swap
 *     area itself needs nothing: blocks of an uncommitted generation are
 *     free in its map and are punched by the next commit.
 * A dead restore is treated the same way (frozen cgroup thawed, files
 * cleaned); restore kills what it half built with PTRACE_O_EXITKILL.
 */
#define LOG_PREFIX "recover: "
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/container.h"
#include "container/lock.h"
#include "freezer/cgroup.h"
#include "freezer/freezer.h"
#include "inject/inject.h"
#include "lib/log.h"
#include "lib/util.h"

/* True for the half-written files a dead dump or restore may leave. */
static bool recover_is_partial(const char *file)
{
	size_t len = strlen(file);

	if (len < 5 || strcmp(file + len - 4, ".tmp"))
		return false;
	if (!strcmp(file, "swap.idx.tmp"))
		return true;
	return !strncmp(file, "ckpt-", 5) && len > 9 && !strncmp(file + len - 9, ".meta.tmp", 9);
}

/* Remove half-written files from STORE/NAME. */
static void recover_partial_files(const char *store_dir, const char *name)
{
	char dir[4096], path[4400];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", store_dir, name);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!recover_is_partial(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			pr_warn("%s: removed half-written %s", name, de->d_name);
		else
			pr_warn("%s: cannot remove half-written %s: %m", name, path);
	}
	closedir(d);
}

/* Thaw the cgroup a dead dump or restore left frozen. */
static void recover_thaw(const char *store_dir, const char *name, const char *what, int pid)
{
	struct ct_cgroup *cg;
	bool frozen = false;

	if (ct_cg_open(store_dir, name, &cg))
		return;
	if (freezer_state(cg, &frozen) == 0 && frozen) {
		if (freezer_thaw(cg) == 0)
			pr_warn("%s: thawed the container (left frozen by the dead %s, pid %d)",
				name, what, pid);
		else
			pr_warn("%s: cannot thaw the container left frozen by the dead %s",
				name, what);
	}
	cg_close(cg);
}

/* Reap the snapshot children a dead dump left as zombies in the container's processes. */
static void recover_snapshot_strays(const char *store_dir, const char *name, int pid)
{
	struct ct_cgroup *cg;
	pid_t *pids = NULL;
	size_t nr = 0;
	int reaped = 0;

	if (ct_cg_open(store_dir, name, &cg))
		return;
	if (cg_procs(cg, &pids, &nr) == 0)
		for (size_t i = 0; i < nr; i++) {
			int r = inj_reap_strays(pids[i]);

			reaped += r > 0 ? r : 0;
		}
	free(pids);
	cg_close(cg);
	if (reaped)
		pr_warn("%s: reaped %d snapshot child%s left by the dead dump (pid %d)", name, reaped,
			reaped == 1 ? "" : "ren", pid);
}

/* Repair after the dead lock holder whose lock file text is @holder. */
void ct_recover(const char *store_dir, const char *name, const char *holder)
{
	char what[64] = "command", phase[64] = "";
	const char *line2;
	int pid = 0;
	long arg = 0;

	if (sscanf(holder, "pid %d %63s", &pid, what) < 1)
		pid = 0;
	line2 = strchr(holder, '\n');
	if (line2 && sscanf(line2 + 1, "phase %63s %ld", phase, &arg) < 1)
		phase[0] = '\0';
	pr_warn("%s: %s by pid %d did not finish (killed?): recovering", name, what, pid);
	if (!strcmp(what, "dump") || !strcmp(what, "restore"))
		recover_thaw(store_dir, name, what, pid);
	if (!strcmp(what, "dump"))
		recover_snapshot_strays(store_dir, name, pid);
	if (!strcmp(phase, "inject"))
		pr_warn("%s: the dead %s was changing the registers of host pid %ld: the kernel killed that process with it; the last checkpoint is intact",
			name, what, arg);
	recover_partial_files(store_dir, name);
}
