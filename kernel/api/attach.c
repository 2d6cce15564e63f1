// SPDX-License-Identifier: MIT
/*
 * ctswap_attach(): a container ctswap did not start.  A runtime (runc under
 * podman) made its cgroups and started its tree; ctswap records where they
 * are instead of moving anything, so that a dump freezes, reads and kills
 * through the runtime's groups, and a restore puts the new init in them.
 */
#define LOG_PREFIX "attach: "
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctswap.h"
#include "container/container.h"
#include "container/lock.h"
#include "container/store.h"
#include "freezer/cgroup.h"
#include "lib/log.h"
#include "lib/state.h"
#include "lib/util.h"

/* The directories of @p joined with ':' (a state value is one line). */
static char *placement_join(const struct cg_placement *p)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < p->nr; i++) {
		if (strpbrk(p->dirs[i], ":\n"))
			return NULL;
		len += strlen(p->dirs[i]) + 1;
	}
	out = xzalloc(len);
	for (size_t i = 0; out && i < p->nr; i++) {
		if (i)
			strcat(out, ":");
		strcat(out, p->dirs[i]);
	}
	return out;
}

/* The group that freezes the container: the one asked for, else the placement's. */
static int attach_freeze_dir(const char *name, const struct ctswap_attach_opts *opts,
			     const struct cg_placement *p, const char **dir)
{
	struct stat st;

	*dir = opts->freeze_dir;
	if (!*dir) {
		if (p->freezer < 0)
			return ct_err(-ENOENT, "%s: pid %d is in no freezer or v2 cgroup", name,
				      opts->cgroups_of);
		*dir = p->dirs[p->freezer];
	}
	if ((*dir)[0] != '/' || stat(*dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ct_err(-ENOENT, "%s: cgroup %s: no such group", name, *dir);
	return 0;
}

/* Write STORE/NAME/state for the tree (the previous one, if any, is replaced). */
static int attach_write_state(struct ctswap_store *store, const char *name,
			      const struct ctswap_attach_opts *opts, const char *freeze_dir,
			      const char *attach)
{
	struct ct_state *st = state_new();
	char path[4096];
	int ret;

	if (!st)
		return -ENOMEM;
	store_path(store, name, "state", path, sizeof(path));
	ret = state_set(st, "name", name) ?:
	      state_set(st, "cmd", "attached") ?:
	      state_set_ll(st, "created_at", time(NULL)) ?:
	      state_set(st, "status", opts->init_pid ? "running" : "stopped") ?:
	      state_set(st, "adopted", "1") ?:
	      state_set(st, "cgroup", freeze_dir) ?:
	      state_set(st, "cgroup_attach", attach);
	if (!ret && opts->init_pid)
		ret = state_set_ll(st, "init_pid", opts->init_pid);
	if (!ret && opts->net_external)
		ret = state_set(st, "net", "ns");	/* as run --net ns:PATH: restore names it */
	if (!ret)
		ret = state_write(path, st);
	state_free(st);
	return ret;
}

/* Record the placement and, if asked, move the caller out of it. */
static int attach_locked(struct ctswap_store *store, const char *name,
			 const struct ctswap_attach_opts *opts)
{
	struct cg_placement here = { .freezer = -1 }, away = { .freezer = -1 };
	const char *freeze_dir;
	char *attach = NULL;
	int ret;

	ret = cg_placement_of(opts->cgroups_of, &here);
	if (ret)
		return ret;
	ret = attach_freeze_dir(name, opts, &here, &freeze_dir);
	if (ret)
		goto out;
	attach = placement_join(&here);
	if (!attach) {
		ret = ct_err(-EINVAL, "%s: a cgroup path holds ':' or a newline", name);
		goto out;
	}
	ret = attach_write_state(store, name, opts, freeze_dir, attach);
	if (ret) {
		ct_err(ret, "%s: cannot write its state: %s", name, strerror(-ret));
		goto out;
	}
	if (opts->leave_to) {
		ret = cg_placement_of(opts->leave_to, &away) ?:
		      cg_placement_enter(&away, getpid());
		if (!ret)
			pr_info("%s: left the container's cgroups for those of pid %d", name,
				opts->leave_to);
	}
out:
	free(attach);
	cg_placement_free(&away);
	cg_placement_free(&here);
	return ret;
}

/* See include/ctswap.h. */
int ctswap_attach(struct ctswap_store *store, const char *name,
		  const struct ctswap_attach_opts *opts)
{
	struct ctswap_attach_opts o = *opts;
	char dir[4096];
	int ret, lock = -1;

	ct_err_clear();
	ret = ct_check_name(name);
	if (ret)
		return ret;
	if (!o.cgroups_of)
		o.cgroups_of = o.init_pid;
	if (o.cgroups_of <= 0)
		return ct_err(-EINVAL, "%s: no process to take the cgroups of", name);
	if (o.init_pid && kill(o.init_pid, 0) < 0)
		return ct_err(-ESRCH, "%s: pid %d: no such process", name, o.init_pid);
	if (store_path(store, name, NULL, dir, sizeof(dir)))
		return ct_err(-ENAMETOOLONG, "%s: store path too long", name);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ct_err(-errno, "%s: cannot create: %m", dir);
	ret = ct_lock(store_root(store), name, "attach", &lock);
	if (ret)
		return ret;
	ret = attach_locked(store, name, &o);
	ct_unlock(lock);
	return ret;
}
