// SPDX-License-Identifier: MIT
/* The container lifecycle of the public API: run, freeze, thaw, kill, rm. */
#define LOG_PREFIX "container: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctswap.h"
#include "container/container.h"
#include "container/lock.h"
#include "container/shape.h"
#include "lib/state.h"
#include "container/store.h"
#include "container/supervisor.h"
#include "task/task.h"
#include "freezer/cgroup.h"
#include "freezer/freezer.h"
#include "image/blob.h"
#include "lib/log.h"
#include "lib/util.h"

#define CT_KILL_TIMEOUT_MS 10000
#define CT_SUPERVISOR_TIMEOUT_MS 5000

/* What run's init execs. */
struct run_arg {
	const char *name;
	char *const *argv;
};

/* Refuse names that are not [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
int ct_check_name(const char *name)
{
	if (store_name_valid(name))
		return 0;
	return ct_err(-EINVAL, "%s: invalid container name (want [A-Za-z0-9][A-Za-z0-9_.-]{0,63})",
		      name ? name : "(null)");
}

/* Read STORE/NAME/state; *@st is NULL (and 0 returned) when there is none. */
int ct_read_state(struct ctswap_store *store, const char *name, struct ct_state **st)
{
	char path[4096];
	int ret;

	*st = NULL;
	ret = store_path(store, name, "state", path, sizeof(path));
	if (ret)
		return ct_err(ret, "%s: store path too long", name);
	ret = state_read(path, st);
	return ret == -ENOENT ? 0 : ret;
}

/* STORE/NAME/state if it records a runtime's cgroup ("cgroup"), else NULL. */
static struct ct_state *ct_cg_external_state(const char *store_dir, const char *name)
{
	struct ct_state *st = NULL;
	char path[4096];
	const char *dir;

	if (snprintf(path, sizeof(path), "%s/%s/state", store_dir, name) >= (int)sizeof(path) ||
	    state_read(path, &st) || !st)
		return NULL;
	dir = state_get(st, "cgroup");
	if (dir && dir[0] == '/')
		return st;
	state_free(st);
	return NULL;
}

/* Open @name's cgroup: the runtime's one recorded by ctswap_attach(), else ctswap/NAME. */
int ct_cg_open(const char *store_dir, const char *name, struct ct_cgroup **cg)
{
	struct ct_state *st = ct_cg_external_state(store_dir, name);
	int ret;

	if (!st)
		return cg_open(name, cg);
	ret = cg_open_dir(name, state_get(st, "cgroup"), state_get(st, "cgroup_attach"), cg);
	state_free(st);
	return ret;
}

/* True if @name's tasks live in a runtime's cgroup. */
bool ct_cg_external(const char *store_dir, const char *name)
{
	struct ct_state *st = ct_cg_external_state(store_dir, name);

	state_free(st);
	return st != NULL;
}

/* In the init: exec the command. */
static int run_exec(void *arg)
{
	const struct run_arg *ra = arg;

	execvp(ra->argv[0], ra->argv);
	return ct_err(-errno, "%s: cannot run %s: %m", ra->name, ra->argv[0]);
}

/* Write the state the run knows before the supervisor adds its part. */
static int run_write_state(struct ctswap_store *store, const char *name,
			   const struct ctswap_run_opts *opts, const char *console)
{
	struct ct_state *st = state_new();
	char path[4096], *cmd = NULL;
	size_t len = 0;
	int ret = -ENOMEM;

	if (!st)
		return ret;
	for (char *const *a = opts->argv; *a; a++)
		len += strlen(*a) + 1;
	cmd = xzalloc(len + 1);
	if (!cmd)
		goto out;
	for (char *const *a = opts->argv; *a; a++) {
		if (a != opts->argv)
			strcat(cmd, " ");
		strcat(cmd, *a);
	}
	store_path(store, name, "state", path, sizeof(path));
	ret = state_set(st, "name", name) ?:
	      state_set(st, "cmd", cmd) ?:
	      state_set(st, "console", console) ?:
	      state_set(st, "net", opts->net == CTSWAP_NET_NS ? "ns" : opts->net == CTSWAP_NET_NONE ? "none" : "host") ?:
	      state_set_ll(st, "created_at", time(NULL)) ?:
	      state_set(st, "status", "starting") ?:
	      state_write(path, st);
out:
	free(cmd);
	state_free(st);
	return ret;
}

/* Create STORE/NAME, refusing a duplicate. */
static int run_mkdir(struct ctswap_store *store, const char *name, char *dir, size_t size)
{
	if (store_path(store, name, NULL, dir, size))
		return ct_err(-ENAMETOOLONG, "%s: store path too long", name);
	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == EEXIST)
		return ct_err(-EEXIST, "%s: container already exists", name);
	return ct_err(-errno, "%s: cannot create: %m", dir);
}

/* Start a command in a new container. */
int ct_run(struct ctswap_store *store, const char *name, const struct ctswap_run_opts *opts,
	   pid_t *init_pid)
{
	struct run_arg ra = { .name = name, .argv = opts->argv };
	char dir[4096], console[4096];
	struct ct_cgroup *cg = NULL;
	struct supervisor_opts so;
	struct ct_shape shape;
	int ret, lock = -1;

	ct_err_clear();
	ret = ct_check_name(name);
	if (ret)
		return ret;
	if (!opts->argv || !opts->argv[0])
		return ct_err(-EINVAL, "%s: no command to run", name);
	ret = shape_prepare(name, opts, &shape);
	if (!ret)
		ret = run_mkdir(store, name, dir, sizeof(dir));
	if (ret) {
		shape_release(&shape);
		return ret;
	}
	ret = ct_lock(store->path, name, "run", &lock);
	if (ret)
		goto out_rmdir;
	if (opts->log_path)
		snprintf(console, sizeof(console), "%s", opts->log_path);
	else
		store_path(store, name, "console.log", console, sizeof(console));
	ret = run_write_state(store, name, opts, console);
	if (ret)
		goto out_rmdir;
	ret = cg_create(name, &cg);
	if (ret)
		goto out_rmdir;
	ret = cg_set_limits(cg, &opts->limits);
	if (ret)
		goto out_cgroup;
	so = (struct supervisor_opts) {
		.store_dir = store->path,
		.name = name,
		.cg = cg,
		.new_pidns = !opts->no_pidns,
		.shape = &shape,
		.console_path = console,
		.tty = opts->tty,
		.tty_master = -1,
		.init_fn = run_exec,
		.arg = &ra,
	};
	ret = supervisor_start(&so, init_pid);
	if (ret)
		goto out_cgroup;
	pr_info("%s: init %d runs %s", name, *init_pid, opts->argv[0]);
	cg_close(cg);
	ct_unlock(lock);
	shape_release(&shape);
	return 0;
out_cgroup:
	cg_kill(cg, CT_KILL_TIMEOUT_MS);
	cg_destroy(cg);
	cg_close(cg);
out_rmdir:
	remove_tree(dir);
	ct_unlock(lock);
	shape_release(&shape);
	return ret;
}

/* Lock @name for @what and open its cgroup (*@cg NULL when it has none). */
static int ct_begin(struct ctswap_store *store, const char *name, const char *what, int *lock,
		    struct ct_cgroup **cg)
{
	int ret;

	*cg = NULL;
	ret = ct_check_name(name);
	if (ret)
		return ret;
	ret = ct_lock(store->path, name, what, lock);
	if (ret)
		return ret;
	ret = ct_cg_open(store->path, name, cg);
	if (ret == -ENOENT) {
		*cg = NULL;
		ret = 0;
	}
	if (ret)
		ct_unlock(*lock);
	return ret;
}

/* Number of processes in @cg (0 without a cgroup). */
static int ct_nr_procs(struct ct_cgroup *cg, size_t *nr)
{
	pid_t *pids;
	int ret;

	*nr = 0;
	if (!cg)
		return 0;
	ret = cg_procs(cg, &pids, nr);
	if (!ret)
		free(pids);
	return ret;
}

/* Freeze a container and wait for the kernel to report it frozen. */
int ct_freeze(struct ctswap_store *store, const char *name, int timeout_ms)
{
	struct ct_cgroup *cg;
	int ret, lock;
	size_t nr;

	ct_err_clear();
	ret = ct_begin(store, name, "freeze", &lock, &cg);
	if (ret)
		return ret;
	ret = ct_nr_procs(cg, &nr);
	if (!ret && !nr)
		ret = ct_err(-ESRCH, "%s: no tasks to freeze (container is not running)", name);
	if (!ret)
		ret = freezer_freeze(cg, timeout_ms);
	cg_close(cg);
	ct_unlock(lock);
	return ret;
}

/* Thaw a container. */
int ct_thaw(struct ctswap_store *store, const char *name)
{
	struct ct_cgroup *cg;
	int ret, lock;

	ct_err_clear();
	ret = ct_begin(store, name, "thaw", &lock, &cg);
	if (ret)
		return ret;
	if (cg)
		ret = freezer_thaw(cg);
	cg_close(cg);
	ct_unlock(lock);
	return ret;
}

/* Wait until the supervisor has recorded the exit and left; see container.h. */
void ct_wait_supervisor(struct ctswap_store *store, const char *name)
{
	struct ct_state *st;

	if (ct_read_state(store, name, &st) || !st)
		return;
	if (supervisor_wait(st, CT_SUPERVISOR_TIMEOUT_MS))
		pr_warn("%s: supervisor still running after %d ms", name, CT_SUPERVISOR_TIMEOUT_MS);
	state_free(st);
}

/* Kill every task of a container and wait until its cgroup is empty. */
int ct_kill(struct ctswap_store *store, const char *name)
{
	struct ct_cgroup *cg;
	int ret, lock;

	ct_err_clear();
	ret = ct_begin(store, name, "kill", &lock, &cg);
	if (ret)
		return ret;
	if (cg)
		ret = cg_kill(cg, CT_KILL_TIMEOUT_MS);
	if (!ret)
		ct_wait_supervisor(store, name);
	cg_close(cg);
	ct_unlock(lock);
	return ret;
}

/*
 * TCP connections a `--tcp-established` dump left held for the restore of
 * the newest checkpoint (task/tcprepair.c) end with the container.
 */
static void ct_drop_held_connections(struct ctswap_store *store, const char *name)
{
	char dir[4096], file[64], path[4096];
	struct ct_image *img;
	unsigned int gen;
	int dropped;

	if (store_path(store, name, NULL, dir, sizeof(dir)) || !(gen = store_newest_ckpt(dir)))
		return;
	snprintf(file, sizeof(file), "ckpt-%u.meta", gen);
	if (store_path(store, name, file, path, sizeof(path)) || blob_read(path, &img)) {
		ct_err_clear();		/* a bad blob does not stop rm */
		return;
	}
	dropped = tcp_hold_drop(img);
	if (dropped)
		pr_info("%s: closed %d TCP connection%s held for its restore", name, dropped,
			dropped == 1 ? "" : "s");
	image_free(img);
}

/* Remove a container's cgroup and store entry. */
int ct_rm(struct ctswap_store *store, const char *name, bool force)
{
	struct ct_cgroup *cg;
	char dir[4096];
	int ret, lock;
	size_t nr;

	ct_err_clear();
	ret = ct_begin(store, name, "rm", &lock, &cg);
	if (ret)
		return ret;
	ret = ct_nr_procs(cg, &nr);
	if (ret)
		goto out;
	if (nr && !force) {
		ret = ct_err(-EBUSY, "%s: container is running (%zu processes); kill it first or use --force",
			     name, nr);
		goto out;
	}
	if (nr)
		ret = cg_kill(cg, CT_KILL_TIMEOUT_MS);
	if (ret)
		goto out;
	ct_wait_supervisor(store, name);
	if (cg)
		ret = cg_destroy(cg);
	if (ret)
		goto out;
	ct_drop_held_connections(store, name);
	store_path(store, name, NULL, dir, sizeof(dir));
	ret = remove_tree(dir);
	if (ret)
		ret = ct_err(ret, "%s: cannot remove: %s", dir, strerror(-ret));
out:
	cg_close(cg);
	ct_unlock(lock);
	return ret;
}
