// SPDX-License-Identifier: MIT
/* What ps shows: one container's state, and the list of all of them. */
#define LOG_PREFIX "info: "
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctswap.h"
#include "container/container.h"
#include "container/lock.h"
#include "lib/state.h"
#include "container/store.h"
#include "freezer/cgroup.h"
#include "freezer/freezer.h"
#include "lib/log.h"
#include "lib/util.h"

/* The name of a state. */
const char *ct_state_name(enum ctswap_state state)
{
	switch (state) {
	case CTSWAP_STOPPED:
		return "stopped";
	case CTSWAP_RUNNING:
		return "running";
	case CTSWAP_FROZEN:
		return "frozen";
	case CTSWAP_CHECKPOINTED:
		return "checkpointed";
	}
	return "unknown";
}

/* Resident bytes of process @pid (statm's second field). */
static uint64_t info_rss(pid_t pid)
{
	unsigned long long size, resident;
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if (read_small_file(path, buf, sizeof(buf)) ||
	    sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return resident * PAGE_SIZE;
}

/* Count processes and memory in the cgroup; set running or frozen. */
static int info_tasks(const char *store_dir, const char *name, struct ctswap_info *info,
		      long long init_pid)
{
	struct ct_cgroup *cg;
	bool frozen = false;
	pid_t *pids;
	size_t nr;
	int ret;

	ret = ct_cg_open(store_dir, name, &cg);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	snprintf(info->cgroup, sizeof(info->cgroup), "%s", cg_path(cg));
	ret = cg_procs(cg, &pids, &nr);
	if (ret)
		goto out_close;
	info->nr_tasks = nr;
	for (size_t i = 0; i < nr; i++) {
		info->rss_bytes += info_rss(pids[i]);
		/* a recorded init pid counts only while it is still inside */
		if (pids[i] == init_pid)
			info->init_pid = pids[i];
	}
	free(pids);
	if (nr) {
		ret = freezer_state(cg, &frozen);
		info->state = frozen ? CTSWAP_FROZEN : CTSWAP_RUNNING;
	}
out_close:
	cg_close(cg);
	return ret;
}

/* Lazy restore progress from STORE/NAME/lazy.state, if the file exists. */
static int info_lazy(struct ctswap_store *store, const char *name, struct ctswap_info *info)
{
	struct ct_state *st;
	long long resident = 0, total = 0, pid = 0;
	char path[4096];
	int ret;

	store_path(store, name, "lazy.state", path, sizeof(path));
	ret = state_read(path, &st);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	state_get_ll(st, "resident", &resident);
	state_get_ll(st, "total", &total);
	state_get_ll(st, "pid", &pid);
	info->lazy_resident = resident;
	info->lazy_total = total;
	info->lazy_pid = (pid_t)pid;
	state_free(st);
	return 0;
}

/* Describe one container. */
int ct_info(struct ctswap_store *store, const char *name, struct ctswap_info *info)
{
	long long init_pid = 0, status = -1;
	struct ct_state *st = NULL;
	char dir[4096];
	struct stat sb;
	int ret;

	ct_err_clear();
	ret = ct_check_name(name);
	if (ret)
		return ret;
	store_path(store, name, NULL, dir, sizeof(dir));
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return ct_err(-ENOENT, "%s: no such container", name);
	/* a command that died holding the lock may have left it frozen */
	ct_lock_recover_stale(store->path, name);
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", name);
	info->state = CTSWAP_STOPPED;
	ret = ct_read_state(store, name, &st);
	if (ret)
		return ret;
	if (st) {
		state_get_ll(st, "init_pid", &init_pid);
		state_get_ll(st, "exit_status", &status);
		state_free(st);
	}
	info->exit_status = (int)status;
	ret = info_tasks(store->path, name, info, init_pid);
	if (ret)
		return ret;
	info->generation = store_newest_ckpt(dir);
	if (info->state == CTSWAP_STOPPED && info->generation)
		info->state = CTSWAP_CHECKPOINTED;
	return info_lazy(store, name, info);
}

/* qsort comparator for names. */
static int info_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The container names in the store, sorted. */
static int info_names(struct ctswap_store *store, char ***names, size_t *nr)
{
	size_t cap = 0, n = 0;
	char **arr = NULL;
	struct dirent *de;
	DIR *d;

	d = opendir(store->path);
	if (!d)
		return ct_err(-errno, "%s: cannot list: %m", store->path);
	while ((de = readdir(d))) {
		if (!store_name_valid(de->d_name) || de->d_type != DT_DIR)
			continue;
		if (xgrow(&arr, &cap, n + 1, sizeof(*arr)) || !(arr[n] = xstrdup(de->d_name))) {
			closedir(d);
			while (n)
				free(arr[--n]);
			free(arr);
			return -ENOMEM;
		}
		n++;
	}
	closedir(d);
	if (n)	/* arr is NULL when the store is empty, and qsort's may not be */
		qsort(arr, n, sizeof(*arr), info_cmp);
	*names = arr;
	*nr = n;
	return 0;
}

/* Call @fn for each container; one that fails is skipped and its error returned at the end. */
int ct_list(struct ctswap_store *store, int (*fn)(const struct ctswap_info *info, void *arg),
	    void *arg)
{
	struct ctswap_info info;
	char *first_err = NULL;
	int ret, err = 0;
	size_t nr = 0, i;
	char **names = NULL;

	ct_err_clear();
	ret = info_names(store, &names, &nr);
	if (ret)
		return ret;
	for (i = 0; i < nr; i++) {
		ret = ct_info(store, names[i], &info);
		if (ret == -ENOENT)
			continue;	/* removed meanwhile */
		if (ret) {
			if (!err) {
				err = ret;
				first_err = ct_err_msg() ? xstrdup(ct_err_msg()) : NULL;
			}
			continue;
		}
		ret = fn(&info, arg);
		if (ret) {
			err = err ?: ret;
			break;
		}
	}
	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
	ct_err_clear();
	if (err && first_err)
		ct_err(err, "%s", first_err);
	free(first_err);
	return err;
}
