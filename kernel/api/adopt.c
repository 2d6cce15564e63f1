// SPDX-License-Identifier: MIT
/*
 * ctswap_adopt(): make a container of processes that already run.  Used by
 * ckpt_create() for P_PID/P_PGID/P_SID/P_HID targets.  The container has
 * no supervisor and no pid namespace of its own; its init is the first
 * process given.
 */
#define LOG_PREFIX "adopt: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctswap.h"
#include "api/api.h"
#include "container/container.h"
#include "container/lock.h"
#include "lib/state.h"
#include "container/store.h"
#include "freezer/cgroup.h"
#include "lib/log.h"
#include "lib/util.h"

/* The ctswap container @pid's v2 (or v1 freezer) cgroup names, "" if none. */
int api_pid_container(pid_t pid, char *name, size_t size)
{
	char path[64], *buf = NULL, *line, *save = NULL;
	size_t len;
	int ret;

	name[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	ret = read_whole_file(path, &buf, &len);
	if (ret)
		return ct_err(ret == -ENOENT ? -ESRCH : ret, "pid %d: no such process", pid);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, ":/ctswap/");

		if (!p)
			continue;
		p += strlen(":/ctswap/");
		p[strcspn(p, "/")] = '\0';
		snprintf(name, size, "%s", p);
		break;
	}
	free(buf);
	return 0;
}

/* The command name of @pid, for the state file. */
static void adopt_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small_file(path, buf, size))
		snprintf(buf, size, "pid %d", pid);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Write STORE/NAME/state for an adopted container (ckpt_type 0: not from ckpt_create). */
static int adopt_write_state(struct ctswap_store *store, const char *name, pid_t init,
			     long long ckpt_id, unsigned long ckpt_type)
{
	struct ct_state *st = state_new();
	char path[4096], comm[64];
	int ret;

	if (!st)
		return -ENOMEM;
	adopt_comm(init, comm, sizeof(comm));
	store_path(store, name, "state", path, sizeof(path));
	ret = state_set(st, "name", name) ?:
	      state_set(st, "cmd", comm) ?:
	      state_set_ll(st, "created_at", time(NULL)) ?:
	      state_set(st, "status", "running") ?:
	      state_set(st, "adopted", "1") ?:
	      state_set_ll(st, "init_pid", init);
	if (!ret && ckpt_type)
		ret = state_set_ll(st, "ckpt_id", ckpt_id) ?:
		      state_set_ll(st, "ckpt_type", (long long)ckpt_type);
	if (!ret)
		ret = state_write(path, st);
	state_free(st);
	return ret;
}

/* Refuse processes that are gone or already in a ctswap container. */
static int adopt_check_pids(const pid_t *pids, size_t nr)
{
	char other[CTSWAP_NAME_MAX + 1];
	int ret;

	for (size_t i = 0; i < nr; i++) {
		ret = api_pid_container(pids[i], other, sizeof(other));
		if (ret)
			return ret;
		if (other[0])
			return ct_err(-EBUSY, "pid %d: already in container %s", pids[i], other);
	}
	return 0;
}

/* Make a container @name of running processes, recording the ckpt_create() target. */
int api_adopt(struct ctswap_store *store, const char *name, const pid_t *pids, size_t nr,
	      long long ckpt_id, unsigned long ckpt_type)
{
	struct ct_cgroup *cg = NULL;
	char dir[4096];
	int ret, lock = -1;

	ret = ct_check_name(name);
	if (ret)
		return ret;
	if (!nr)
		return ct_err(-ESRCH, "%s: no processes to adopt", name);
	ret = adopt_check_pids(pids, nr);
	if (ret)
		return ret;
	if (store_path(store, name, NULL, dir, sizeof(dir)))
		return ct_err(-ENAMETOOLONG, "%s: store path too long", name);
	if (mkdir(dir, 0700) < 0)
		return errno == EEXIST ? ct_err(-EEXIST, "%s: container already exists", name)
				       : ct_err(-errno, "%s: cannot create: %m", dir);
	ret = ct_lock(store->path, name, "adopt", &lock);
	if (ret)
		goto out_rmdir;
	ret = adopt_write_state(store, name, pids[0], ckpt_id, ckpt_type);
	if (ret)
		goto out_rmdir;
	ret = cg_create(name, &cg);
	if (ret)
		goto out_rmdir;
	for (size_t i = 0; i < nr; i++) {
		ret = cg_attach(cg, pids[i]);
		if (ret) {
			ct_err(ret, "pid %d: cannot move into container %s: %s", pids[i], name,
			       strerror(-ret));
			goto out_cgroup;
		}
	}
	pr_info("%s: adopted %zu processes, init %d", name, nr, pids[0]);
	cg_close(cg);
	ct_unlock(lock);
	return 0;
out_cgroup:
	/* Put the ones already moved back where the caller's processes live: the root. */
	api_cgroup_leave_all(cg);
	cg_destroy(cg);
	cg_close(cg);
out_rmdir:
	remove_tree(dir);
	ct_unlock(lock);
	return ret;
}

/* Make a container @name of running processes (see include/ctswap.h). */
int ctswap_adopt(struct ctswap_store *store, const char *name, const pid_t *pids, size_t nr)
{
	ct_err_clear();
	return api_adopt(store, name, pids, nr, 0, 0);
}
