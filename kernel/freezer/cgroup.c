// SPDX-License-Identifier: MIT
/*
 * Container cgroups through libcgroup.
 *
 * libcgroup 2.0.2 reaches the v2 hierarchy only under the controller name
 * "hugetlb" (doc/KERNEL-FACTS.md), and always names groups from the hierarchy root.
 * It is used to create, attach, delete and list processes.  Files libcgroup
 * has no call for (cgroup.threads, cgroup.kill, cgroup.events) are read or
 * written directly.
 */
#define LOG_PREFIX "cgroup: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcgroup.h>

#include "ctswap.h"
#include "freezer/cgroup.h"
#include "freezer/freezer.h"
#include "freezer/mountinfo.h"
#include "lib/log.h"
#include "lib/util.h"

#define CG_PARENT "ctswap"
/* The name libcgroup knows the v2 hierarchy by here (see above). */
#define CG_V2_CONTROLLER "hugetlb"
#define CG_V1_CONTROLLER "freezer"

/* The controllers that carry limits, indexed CG_LIM_*. */
enum { CG_LIM_MEMORY, CG_LIM_PIDS, CG_LIM_CPU, CG_NR_LIM };
static const char *const cg_lim_ctl[CG_NR_LIM] = { "memory", "pids", "cpu" };

struct ct_cgroup {
	char *name;		/* "ctswap/NAME", relative to each hierarchy root */
	char *v2_path;		/* absolute v2 directory, NULL without v2 */
	char *v1_path;		/* absolute v1 freezer directory, NULL unless used */
	struct cgroup *lc;	/* libcgroup handle with one controller per hierarchy used */
	bool lim_v1[CG_NR_LIM];	/* ctswap/NAME exists in that v1 hierarchy (and lc has it) */
	char *label;		/* external: the container name for messages */
	char *attach;		/* external: ':'-separated groups a process is moved into */
	bool external;		/* a runtime's group (cg_open_dir()): never removed */
};

static struct cg_mounts cg_mnt;
static int cg_init_ret;
static pthread_once_t cg_once = PTHREAD_ONCE_INIT;

/* Read mountinfo and start libcgroup, once per process. */
static void cg_do_init(void)
{
	char *text;
	int ret;

	ret = read_whole_file("/proc/self/mountinfo", &text, NULL);
	if (ret) {
		cg_init_ret = ct_err(ret, "/proc/self/mountinfo: cannot read: %s", strerror(-ret));
		return;
	}
	ret = mountinfo_find_cgroups(text, &cg_mnt);
	free(text);
	if (ret) {
		cg_init_ret = ct_err(ret, "/proc/self/mountinfo: cannot parse: %s", strerror(-ret));
		return;
	}
	if (!cg_mnt.v2[0] && !cg_mnt.freezer[0]) {
		cg_init_ret = ct_err(-ENOENT, "cgroups: neither cgroup v2 nor the v1 freezer is mounted");
		return;
	}
	ret = cgroup_init();
	if (ret)
		cg_init_ret = ct_err(-ENODEV, "libcgroup: cannot initialise: %s", cgroup_strerror(ret));
}

/* Initialise once; returns the outcome of the first attempt. */
static int cg_init(void)
{
	pthread_once(&cg_once, cg_do_init);
	if (cg_init_ret)
		ct_err(cg_init_ret, "cgroups: cannot initialise");
	return cg_init_ret;
}

/* Mount points of the hierarchies. */
int cg_mounts(const char **v2, const char **freezer)
{
	int ret = cg_init();

	if (ret)
		return ret;
	*v2 = cg_mnt.v2;
	*freezer = cg_mnt.freezer;
	return 0;
}

/* Map a libcgroup error to an errno value. */
static int cg_errno(int lc_ret)
{
	if (lc_ret == ECGOTHER)
		return -cgroup_get_last_errno() ?: -EIO;
	if (lc_ret == ECGROUPNOTEXIST)
		return -ENOENT;
	return -EIO;
}

/* True if the v1 freezer must be used for new groups. */
static bool cg_want_v1(void)
{
	const char *env = getenv("CTSWAP_FREEZER");
	char probe[4200];

	if (!cg_mnt.freezer[0])
		return false;
	if (!cg_mnt.v2[0] || (env && !strcmp(env, "v1")))
		return true;
	/* cgroup.freeze exists in every non-root v2 group of kernels >= 5.2 */
	snprintf(probe, sizeof(probe), "%s/%s/cgroup.freeze", cg_mnt.v2, CG_PARENT);
	return access(probe, F_OK) < 0;
}

/* The v1 mount point of limit controller @k, "" when it has none. */
static const char *cg_lim_mount(int k)
{
	static const char *const none = "";

	if (k == CG_LIM_MEMORY)
		return cg_mnt.memory;
	if (k == CG_LIM_PIDS)
		return cg_mnt.pids;
	if (k == CG_LIM_CPU)
		return cg_mnt.cpu;
	return none;
}

/* Add to @cg's handle the v1 limit groups that exist (made by cg_set_limits()). */
static int cg_open_limit_groups(struct ct_cgroup *cg)
{
	char path[4200];
	struct stat st;

	for (int k = 0; k < CG_NR_LIM; k++) {
		if (!cg_lim_mount(k)[0])
			continue;
		snprintf(path, sizeof(path), "%s/%s", cg_lim_mount(k), cg->name);
		if (stat(path, &st) < 0)
			continue;
		if (!cgroup_add_controller(cg->lc, cg_lim_ctl[k]))
			return -ENOMEM;
		cg->lim_v1[k] = true;
	}
	return 0;
}

/* Allocate a handle for ctswap/@name; @v1 says whether the freezer group is used. */
static int cg_alloc(const char *name, bool v1, struct ct_cgroup **out)
{
	struct ct_cgroup *cg = xzalloc(sizeof(*cg));

	if (!cg)
		return -ENOMEM;
	cg->name = xasprintf("%s/%s", CG_PARENT, name);
	if (cg_mnt.v2[0])
		cg->v2_path = xasprintf("%s/%s", cg_mnt.v2, cg->name);
	if (v1)
		cg->v1_path = xasprintf("%s/%s", cg_mnt.freezer, cg->name);
	cg->lc = cg->name ? cgroup_new_cgroup(cg->name) : NULL;
	if (!cg->name || (cg_mnt.v2[0] && !cg->v2_path) || (v1 && !cg->v1_path) || !cg->lc)
		goto out_free;
	if (cg->v2_path && !cgroup_add_controller(cg->lc, CG_V2_CONTROLLER))
		goto out_free;
	if (cg->v1_path && !cgroup_add_controller(cg->lc, CG_V1_CONTROLLER))
		goto out_free;
	if (cg_open_limit_groups(cg))
		goto out_free;
	*out = cg;
	return 0;
out_free:
	cg_close(cg);
	return ct_err(-ENOMEM, "%s: cannot set up a libcgroup handle", name);
}

/* True if the "ctswap" parent group exists in the hierarchy mounted at @mount. */
static bool cg_parent_exists(const char *mount)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", mount, CG_PARENT);
	return stat(path, &st) == 0;
}

/*
 * Create the "ctswap" parent group in the hierarchies @cg uses, unless it is
 * there: libcgroup "creates" an existing group by chowning everything below
 * it, every other container's cgroup files included (hundreds of calls a
 * restore on a host with a few dozen containers).
 */
static int cg_create_parent(const struct ct_cgroup *cg)
{
	struct cgroup *parent;
	int ret = -ENOMEM;

	if ((!cg->v2_path || cg_parent_exists(cg_mnt.v2)) &&
	    (!cg->v1_path || cg_parent_exists(cg_mnt.freezer)))
		return 0;
	parent = cgroup_new_cgroup(CG_PARENT);
	if (!parent)
		return ret;
	if (cg->v2_path && !cgroup_add_controller(parent, CG_V2_CONTROLLER))
		goto out_free;
	if (cg->v1_path && !cgroup_add_controller(parent, CG_V1_CONTROLLER))
		goto out_free;
	/* libcgroup succeeds on a group that exists already */
	ret = cgroup_create_cgroup(parent, 0);
	if (ret)
		ret = ct_err(cg_errno(ret), "%s: cannot create cgroup: %s", CG_PARENT,
			     cgroup_strerror(ret));
out_free:
	cgroup_free(&parent);
	return ret;
}

/* Create ctswap/@name. */
int cg_create(const char *name, struct ct_cgroup **out)
{
	struct ct_cgroup *cg;
	struct stat st;
	int ret;

	ret = cg_init();
	if (ret)
		return ret;
	ret = cg_alloc(name, cg_want_v1(), &cg);
	if (ret)
		return ret;
	/* libcgroup does not fail on an existing group: check first */
	if ((cg->v2_path && stat(cg->v2_path, &st) == 0) ||
	    (cg->v1_path && stat(cg->v1_path, &st) == 0)) {
		ret = ct_err(-EEXIST, "%s: cgroup %s already exists", name, cg->name);
		goto out_close;
	}
	ret = cg_create_parent(cg);
	if (ret)
		goto out_close;
	ret = cgroup_create_cgroup(cg->lc, 0);
	if (ret) {
		ret = ct_err(cg_errno(ret), "%s: cannot create cgroup %s: %s", name, cg->name,
			     cgroup_strerror(ret));
		goto out_close;
	}
	pr_debug("created %s (%s)", cg->name, cg->v1_path ? "v1 freezer" : "v2");
	*out = cg;
	return 0;
out_close:
	cg_close(cg);
	return ret;
}

/* Open ctswap/@name if it exists. */
int cg_open(const char *name, struct ct_cgroup **out)
{
	char path[4200];
	struct stat st;
	bool v1 = false;
	int ret;

	ret = cg_init();
	if (ret)
		return ret;
	if (cg_mnt.freezer[0]) {
		snprintf(path, sizeof(path), "%s/%s/%s", cg_mnt.freezer, CG_PARENT, name);
		v1 = stat(path, &st) == 0;
	}
	if (!v1) {
		if (!cg_mnt.v2[0])
			return -ENOENT;
		snprintf(path, sizeof(path), "%s/%s/%s", cg_mnt.v2, CG_PARENT, name);
		if (stat(path, &st) < 0)
			return -ENOENT;
	}
	return cg_alloc(name, v1, out);
}

/* @path below mount point @mnt: the part after "MNT/", or NULL. */
static const char *cg_below(const char *path, const char *mnt)
{
	size_t len = strlen(mnt);

	if (!len || strncmp(path, mnt, len) || path[len] != '/' || !path[len + 1])
		return NULL;
	return path + len + 1;
}

/*
 * Open the existing group at absolute directory @dir of the v1 freezer or
 * the v2 hierarchy, made by someone else (a container runtime): freezing,
 * listing and killing act on it, attach moves into it, cg_destroy() leaves
 * it in place.  @label names it in messages (the container's name); @attach
 * lists the groups (':'-separated) a process joins in every hierarchy.
 */
int cg_open_dir(const char *label, const char *dir, const char *attach, struct ct_cgroup **out)
{
	const char *rel_v1, *rel_v2;
	struct ct_cgroup *cg;
	struct stat st;
	int ret;

	ret = cg_init();
	if (ret)
		return ret;
	rel_v1 = cg_below(dir, cg_mnt.freezer);
	rel_v2 = cg_below(dir, cg_mnt.v2);
	if (!rel_v1 && !rel_v2)
		return ct_err(-EINVAL, "%s: cgroup %s is in neither the v1 freezer nor the v2 hierarchy",
			      label, dir);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ct_err(-ENOENT, "%s: cgroup %s: no such group", label, dir);
	cg = xzalloc(sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	cg->external = true;
	cg->label = xstrdup(label);
	cg->attach = xstrdup(attach ? attach : dir);
	cg->name = xstrdup(rel_v1 ? rel_v1 : rel_v2);
	if (rel_v1)
		cg->v1_path = xstrdup(dir);
	else
		cg->v2_path = xstrdup(dir);
	cg->lc = cg->name ? cgroup_new_cgroup(cg->name) : NULL;
	if (!cg->label || !cg->attach || !cg->name || !(cg->v1_path || cg->v2_path) || !cg->lc ||
	    !cgroup_add_controller(cg->lc, rel_v1 ? CG_V1_CONTROLLER : CG_V2_CONTROLLER)) {
		cg_close(cg);
		return ct_err(-ENOMEM, "%s: cannot set up a libcgroup handle", label);
	}
	*out = cg;
	return 0;
}

/* Free a handle. */
void cg_close(struct ct_cgroup *cg)
{
	if (!cg)
		return;
	if (cg->lc)
		cgroup_free(&cg->lc);
	free(cg->label);
	free(cg->attach);
	free(cg->name);
	free(cg->v2_path);
	free(cg->v1_path);
	free(cg);
}

/* Remove an empty group, and the groups made below it, from every hierarchy it is in. */
int cg_destroy(struct ct_cgroup *cg)
{
	size_t nr = 0;
	pid_t *pids;
	int ret;

	ret = cg_procs(cg, &pids, &nr);	/* those below it too */
	if (ret)
		return ret;
	free(pids);
	if (nr)
		return ct_err(-EBUSY, "%s: cgroup still has %zu processes", cg->name, nr);
	if (cg->external)
		return 0;	/* the runtime's, not ours to remove */
	ret = cgroup_delete_cgroup_ext(cg->lc, CGFLAG_DELETE_IGNORE_MIGRATION | CGFLAG_DELETE_RECURSIVE);
	if (ret && ret != ECGROUPNOTEXIST)
		return ct_err(cg_errno(ret), "%s: cannot remove cgroup: %s", cg->name,
			      cgroup_strerror(ret));
	return 0;
}

/* Move @pid into each of the ':'-separated groups @dirs. */
static int cg_attach_dirs(const struct ct_cgroup *cg, const char *dirs, pid_t pid)
{
	char path[4200], val[32];
	const char *p = dirs, *end;
	int ret;

	snprintf(val, sizeof(val), "%d", pid);
	for (; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ":");
		snprintf(path, sizeof(path), "%.*s/cgroup.procs", (int)(end - p), p);
		ret = write_small_file(path, val);
		if (ret)
			return ct_err(ret, "%s: cannot move pid %d into cgroup %.*s: %s", cg_name(cg),
				      pid, (int)(end - p), p, strerror(-ret));
	}
	return 0;
}

/* Move @pid into the group in every hierarchy. */
int cg_attach(struct ct_cgroup *cg, pid_t pid)
{
	int ret;

	if (cg->external)
		return cg_attach_dirs(cg, cg->attach, pid);
	ret = cgroup_attach_task_pid(cg->lc, pid);

	if (ret)
		return ct_err(cg_errno(ret), "%s: cannot move pid %d into cgroup: %s", cg->name,
			      pid, cgroup_strerror(ret));
	return 0;
}

int cg_v2_open(const struct ct_cgroup *cg)
{
	return cg->v2_path ? open(cg->v2_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
}

/* Write @pid into @dir/cgroup.procs. */
static int cg_procs_write(const struct ct_cgroup *cg, const char *dir, pid_t pid)
{
	char path[4200], text[16];
	int fd, len, ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	len = snprintf(text, sizeof(text), "%d", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, (size_t)len) != len)
		ret = ct_err(-errno, "%s: cannot move pid %d into %s: %m", cg->name, pid, dir);
	if (fd >= 0)
		close(fd);
	return ret;
}

int cg_attach_v1(struct ct_cgroup *cg, pid_t pid)
{
	char dir[4200];
	int ret = 0;

	if (cg->v1_path)
		ret = cg_procs_write(cg, cg->v1_path, pid);
	for (int k = 0; k < CG_NR_LIM && !ret; k++) {
		if (!cg->lim_v1[k])
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", cg_lim_mount(k), cg->name);
		ret = cg_procs_write(cg, dir, pid);
	}
	return ret;
}

/* Append the decimal ids, one a line, of the file @path to @arr (@n of @cap used). */
static int cg_append_ids(const char *path, pid_t **arr, size_t *n, size_t *cap)
{
	char *text, *p, *end;
	int ret;

	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ret;
	for (p = text; *p && !ret; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		ret = xgrow(arr, cap, *n + 1, sizeof(**arr));
		if (!ret)
			(*arr)[(*n)++] = (pid_t)v;
	}
	free(text);
	return ret;
}

/* Parse a list of decimal ids, one a line, from the file @path. */
static int cg_read_ids(const char *path, pid_t **ids, size_t *nr)
{
	size_t cap = 0, n = 0;
	pid_t *arr = NULL;
	int ret = cg_append_ids(path, &arr, &n, &cap);

	if (ret) {
		free(arr);
		return ret;
	}
	*ids = arr;
	*nr = n;
	return 0;
}

/*
 * Append the ids of file @name of every cgroup below @dir (not @dir's own):
 * the groups a container made below its own hold its processes too.
 */
static int cg_append_ids_below(const char *dir, const char *name, pid_t **arr, size_t *n,
			       size_t *cap)
{
	char path[4200];
	struct dirent *de;
	int ret = 0;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", dir, de->d_name, name);
		ret = cg_append_ids(path, arr, n, cap);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = ret == -ENOENT ? 0 : ret ?: cg_append_ids_below(path, name, arr, n, cap);
	}
	closedir(d);
	return ret;
}

/* The processes in the group and in the groups below it. */
int cg_procs(struct ct_cgroup *cg, pid_t **pids, size_t *nr)
{
	const char *controller = cg->v2_path ? CG_V2_CONTROLLER : CG_V1_CONTROLLER;
	int ret, size = 0;
	size_t n, cap;

	*pids = NULL;
	ret = cgroup_get_procs(cg->name, (char *)controller, pids, &size);
	if (ret == ECGOTHER && cgroup_get_last_errno() == ENOENT)
		return ct_err(-ENOENT, "%s: cgroup has disappeared", cg->name);
	if (ret)
		return ct_err(cg_errno(ret), "%s: cannot list processes: %s", cg->name,
			      cgroup_strerror(ret));
	n = cap = (size_t)size;
	ret = cg_append_ids_below(cg->v2_path ? cg->v2_path : cg->v1_path, "cgroup.procs", pids, &n,
				  &cap);
	if (ret) {
		free(*pids);
		*pids = NULL;
		return ct_err(ret, "%s: cannot list the processes of the groups below it: %s", cg->name,
			      strerror(-ret));
	}
	*nr = n;
	return 0;
}

/* Every thread in the group and below it (libcgroup has no call for cgroup.threads). */
int cg_threads(struct ct_cgroup *cg, pid_t **tids, size_t *nr)
{
	const char *dir = cg->v2_path ? cg->v2_path : cg->v1_path;
	const char *file = cg->v2_path ? "cgroup.threads" : "tasks";
	size_t cap = 0;
	char path[4200];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	*tids = NULL;
	*nr = 0;
	ret = cg_append_ids(path, tids, nr, &cap) ?: cg_append_ids_below(dir, file, tids, nr, &cap);
	if (ret) {
		free(*tids);
		*tids = NULL;
		return ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
	}
	return 0;
}

/* The container's name (ctswap/NAME without the prefix). */
const char *cg_name(const struct ct_cgroup *cg)
{
	if (cg->label)
		return cg->label;
	return cg->name + sizeof(CG_PARENT);
}

/* The group that freezing acts on. */
const char *cg_path(const struct ct_cgroup *cg)
{
	return cg->v1_path ? cg->v1_path : cg->v2_path;
}

/* The v2 group, if any. */
const char *cg_v2_path(const struct ct_cgroup *cg)
{
	return cg->v2_path;
}

/* True if the group uses the v1 freezer. */
bool cg_is_v1(const struct ct_cgroup *cg)
{
	return cg->v1_path != NULL;
}

/* Send SIGKILL to every thread listed now; cgroup.kill where the kernel has it. */
static int cg_kill_once(struct ct_cgroup *cg)
{
	char path[4200];
	pid_t *tids;
	size_t nr;
	int ret;

	if (cg->v2_path) {
		/* cgroup.kill (5.14+) kills atomically, forks included: no libcgroup call */
		snprintf(path, sizeof(path), "%s/cgroup.kill", cg->v2_path);
		if (write_small_file(path, "1") == 0)
			return 0;
	}
	ret = cg_threads(cg, &tids, &nr);
	if (ret)
		return ret;
	for (size_t i = 0; i < nr; i++)
		kill(tids[i], SIGKILL);
	free(tids);
	return 0;
}

/* Kill everything in the group and wait for it to be empty. */
int cg_kill(struct ct_cgroup *cg, int timeout_ms)
{
	double deadline = now_ms() + timeout_ms;
	unsigned int delay_us = 1000;
	pid_t *pids;
	size_t nr;
	int ret;

	for (;;) {
		ret = cg_procs(cg, &pids, &nr);
		if (ret)
			return ret;
		free(pids);
		if (!nr)
			return 0;
		if (now_ms() > deadline)
			return ct_err(-ETIMEDOUT, "%s: %zu processes left after SIGKILL", cg->name, nr);
		ret = cg_kill_once(cg);
		if (ret)
			return ret;
		/* v1 frozen tasks sleep in the refrigerator until thawed, SIGKILL or not */
		if (cg->v1_path)
			freezer_thaw(cg);
		usleep(delay_us);
		if (delay_us < 20000)
			delay_us *= 2;
	}
}

/* ---- limits: memory, pids, cpu ---- */

#define CG_CPU_PERIOD_US 100000

/* True if the v2 hierarchy offers controller @ctl (not the case on hybrid hosts like ours). */
static bool cg_v2_has(const char *ctl)
{
	char path[4200], buf[512];
	char *tok, *save = NULL;

	if (!cg_mnt.v2[0])
		return false;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", cg_mnt.v2);
	if (read_small_file(path, buf, sizeof(buf)))
		return false;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, ctl))
			return true;
	return false;
}

/* Limit @k as its v2 file wants it: "memory.max", "pids.max", "cpu.max". */
static void cg_v2_limit_text(int k, uint64_t v, char *buf, size_t size)
{
	if (k == CG_LIM_CPU)
		snprintf(buf, size, "%llu %d", (unsigned long long)v * CG_CPU_PERIOD_US / 1000,
			 CG_CPU_PERIOD_US);
	else
		snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* v2: enable @k for the children of the root and of ctswap/, then write its limit. */
static int cg_v2_set_limit(struct ct_cgroup *cg, int k, uint64_t v)
{
	char path[4200], val[64], enable[32];
	int ret;

	snprintf(enable, sizeof(enable), "+%s", cg_lim_ctl[k]);
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cg_mnt.v2);
	write_small_file(path, enable);		/* may be on already; the next write tells */
	snprintf(path, sizeof(path), "%s/%s/cgroup.subtree_control", cg_mnt.v2, CG_PARENT);
	ret = write_small_file(path, enable);
	if (ret)
		return ct_err(ret, "%s: cannot enable the %s controller: %s", path, cg_lim_ctl[k],
			      strerror(-ret));
	snprintf(path, sizeof(path), "%s/%s.max", cg->v2_path, cg_lim_ctl[k]);
	cg_v2_limit_text(k, v, val, sizeof(val));
	ret = write_small_file(path, val);
	if (ret)
		return ct_err(ret, "%s: cannot write %s: %s", path, val, strerror(-ret));
	return 0;
}

/* The v1 files and values of limit @k. */
static int cg_v1_add_values(struct cgroup_controller *ctl, int k, uint64_t v)
{
	if (k == CG_LIM_MEMORY)
		return cgroup_add_value_uint64(ctl, "memory.limit_in_bytes", v);
	if (k == CG_LIM_PIDS)
		return cgroup_add_value_uint64(ctl, "pids.max", v);
	return cgroup_add_value_int64(ctl, "cpu.cfs_period_us", CG_CPU_PERIOD_US) ?:
	       cgroup_add_value_int64(ctl, "cpu.cfs_quota_us", (int64_t)(v * CG_CPU_PERIOD_US / 1000));
}

/* v1: create ctswap/NAME in @k's hierarchy with the limit, and attach through it from now on. */
static int cg_v1_set_limit(struct ct_cgroup *cg, int k, uint64_t v)
{
	struct cgroup *parent = cgroup_new_cgroup(CG_PARENT), *g = cgroup_new_cgroup(cg->name);
	struct cgroup_controller *ctl;
	int ret = -ENOMEM;

	if (!cg_lim_mount(k)[0]) {
		ret = ct_err(-EOPNOTSUPP, "%s: no cgroup %s controller for the limit", cg_name(cg),
			     cg_lim_ctl[k]);
		goto out;
	}
	if (!parent || !g || !cgroup_add_controller(parent, cg_lim_ctl[k]))
		goto out;
	ctl = cgroup_add_controller(g, cg_lim_ctl[k]);
	if (!ctl || cg_v1_add_values(ctl, k, v))
		goto out;
	/* an existing parent is left alone: see cg_create_parent() */
	ret = cg_parent_exists(cg_lim_mount(k)) ? 0 : cgroup_create_cgroup(parent, 0);
	ret = ret ?: cgroup_create_cgroup(g, 0);
	if (ret) {
		ret = ct_err(cg_errno(ret), "%s: cannot set the %s limit of cgroup %s: %s",
			     cg_name(cg), cg_lim_ctl[k], cg->name, cgroup_strerror(ret));
		goto out;
	}
	if (!cg->lim_v1[k]) {	/* cg_destroy() removes it from here on */
		cg->lim_v1[k] = true;
		ret = cgroup_add_controller(cg->lc, cg_lim_ctl[k]) ? 0 : -ENOMEM;
	}
out:
	if (parent)
		cgroup_free(&parent);
	if (g)
		cgroup_free(&g);
	return ret;
}

/* Set the limits of @lim (0: none) on a new, empty group. */
int cg_set_limits(struct ct_cgroup *cg, const struct ctswap_limits *lim)
{
	uint64_t want[CG_NR_LIM] = { lim->memory, lim->pids, lim->cpu_millis };
	int ret = 0;

	if (cg->external)
		return 0;	/* a runtime's group: it sets the limits */

	for (int k = 0; k < CG_NR_LIM && !ret; k++) {
		if (!want[k])
			continue;
		if (cg->v2_path && cg_v2_has(cg_lim_ctl[k]))
			ret = cg_v2_set_limit(cg, k, want[k]);
		else
			ret = cg_v1_set_limit(cg, k, want[k]);
	}
	return ret;
}

/* Parse a limit file's number; "max" and v1's "unlimited" values give 0. */
static uint64_t cg_parse_limit(int k, const char *text, bool v2)
{
	unsigned long long a = 0;
	long long q = -1;

	if (!strncmp(text, "max", 3))
		return 0;
	if (k == CG_LIM_CPU) {
		if (v2 && sscanf(text, "%llu", &a) == 1)
			return a * 1000 / CG_CPU_PERIOD_US;
		if (!v2 && sscanf(text, "%lld", &q) == 1 && q > 0)
			return (uint64_t)q * 1000 / CG_CPU_PERIOD_US;
		return 0;
	}
	if (sscanf(text, "%llu", &a) != 1)
		return 0;
	/* v1 memory: PAGE_COUNTER_MAX pages (rounded) means no limit */
	if (k == CG_LIM_MEMORY && a >= (1ULL << 62))
		return 0;
	return a;
}

/* Read the limits back (0: none). */
int cg_get_limits(struct ct_cgroup *cg, struct ctswap_limits *lim)
{
	static const char *const v1_file[CG_NR_LIM] = {
		"memory.limit_in_bytes", "pids.max", "cpu.cfs_quota_us" };
	uint64_t got[CG_NR_LIM] = { 0 };
	char path[4200], buf[128];

	for (int k = 0; k < CG_NR_LIM; k++) {
		bool v2 = !cg->lim_v1[k];

		if (v2 && !(cg->v2_path && cg_v2_has(cg_lim_ctl[k])))
			continue;
		if (v2)
			snprintf(path, sizeof(path), "%s/%s.max", cg->v2_path, cg_lim_ctl[k]);
		else
			snprintf(path, sizeof(path), "%s/%s/%s", cg_lim_mount(k), cg->name, v1_file[k]);
		if (read_small_file(path, buf, sizeof(buf)))
			continue;	/* a cpu group without CFS, a v2 group without the file */
		got[k] = cg_parse_limit(k, buf, v2);
	}
	lim->memory = got[CG_LIM_MEMORY];
	lim->pids = got[CG_LIM_PIDS];
	lim->cpu_millis = got[CG_LIM_CPU];
	return 0;
}

/* ---- groups the container made below its own ---- */

/* The hierarchy numbers of cgroup.h (CG_HIER_*) as limit controllers, -1 for none. */
static int cg_hier_limit(int hier)
{
	return hier == CG_HIER_V1_MEMORY ? CG_LIM_MEMORY : hier == CG_HIER_V1_PIDS ? CG_LIM_PIDS :
	       hier == CG_HIER_V1_CPU ? CG_LIM_CPU : -1;
}

int cg_hier_dir(const struct ct_cgroup *cg, int hier, char *out, size_t size)
{
	int k = cg_hier_limit(hier);
	const char *dir = hier == CG_HIER_V2 ? cg->v2_path : hier == CG_HIER_V1_FREEZER ? cg->v1_path : NULL;

	if (k >= 0 && cg->lim_v1[k]) {
		snprintf(out, size, "%s/%s", cg_lim_mount(k), cg->name);
		return 0;
	}
	if (!dir)
		return -ENOENT;
	snprintf(out, size, "%s", dir);
	return 0;
}

/* Call @fn for every group below @dir, parents first; @rel is @dir's path below the container's. */
static int cg_walk_dir(int hier, const char *dir, const char *rel,
		       int (*fn)(void *arg, int hier, const char *rel, const char *dir), void *arg)
{
	char sub[4200], sub_rel[2048];
	struct dirent *de;
	int ret = 0;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		snprintf(sub_rel, sizeof(sub_rel), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		ret = fn(arg, hier, sub_rel, sub) ?: cg_walk_dir(hier, sub, sub_rel, fn, arg);
	}
	closedir(d);
	return ret;
}

int cg_walk_below(struct ct_cgroup *cg, int (*fn)(void *arg, int hier, const char *rel, const char *dir),
		  void *arg)
{
	char dir[4200];
	int ret = 0;

	for (int hier = 0; hier < CG_HIER_NR && !ret; hier++)
		if (cg_hier_dir(cg, hier, dir, sizeof(dir)) == 0)
			ret = cg_walk_dir(hier, dir, "", fn, arg);
	return ret;
}

int cg_dir_procs(const char *dir, pid_t **pids, size_t *nr)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	return cg_read_ids(path, pids, nr);
}

/* The file of limit @k in a group of hierarchy @hier ("" if that hierarchy has none of it). */
static const char *cg_dir_limit_file(int hier, int k)
{
	static const char *const v1[CG_NR_LIM] = { "memory.limit_in_bytes", "pids.max", "cpu.cfs_quota_us" };
	static const char *const v2[CG_NR_LIM] = { "memory.max", "pids.max", "cpu.max" };

	if (hier == CG_HIER_V2)
		return v2[k];
	return cg_hier_limit(hier) == k ? v1[k] : "";
}

int cg_dir_get_limits(int hier, const char *dir, struct ctswap_limits *lim)
{
	uint64_t got[CG_NR_LIM] = { 0 };
	char path[4200], buf[128];

	for (int k = 0; k < CG_NR_LIM; k++) {
		const char *file = cg_dir_limit_file(hier, k);

		if (!file[0])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		if (read_small_file(path, buf, sizeof(buf)))
			continue;	/* a v2 group without the controller, a cpu group without CFS */
		got[k] = cg_parse_limit(k, buf, hier == CG_HIER_V2);
	}
	*lim = (struct ctswap_limits){ .memory = got[CG_LIM_MEMORY], .pids = got[CG_LIM_PIDS],
				       .cpu_millis = got[CG_LIM_CPU] };
	return 0;
}

/* Write limit @k (@v, not 0) of group @dir of hierarchy @hier. */
static int cg_dir_set_limit(int hier, const char *dir, int k, uint64_t v)
{
	char path[4200], val[64], enable[32];
	int ret;

	if (hier == CG_HIER_V2) {
		/* the controller must be on for the children of the group above */
		snprintf(enable, sizeof(enable), "+%s", cg_lim_ctl[k]);
		snprintf(path, sizeof(path), "%s/../cgroup.subtree_control", dir);
		write_small_file(path, enable);		/* the limit's write tells */
		cg_v2_limit_text(k, v, val, sizeof(val));
	} else if (k == CG_LIM_CPU) {
		snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
		snprintf(val, sizeof(val), "%d", CG_CPU_PERIOD_US);
		ret = write_small_file(path, val);
		if (ret)
			return ct_err(ret, "%s: cannot write %s: %s", path, val, strerror(-ret));
		snprintf(val, sizeof(val), "%llu", (unsigned long long)(v * CG_CPU_PERIOD_US / 1000));
	} else {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, cg_dir_limit_file(hier, k));
	ret = write_small_file(path, val);
	return ret ? ct_err(ret, "%s: cannot write %s: %s", path, val, strerror(-ret)) : 0;
}

int cg_dir_set_limits(int hier, const char *dir, const struct ctswap_limits *lim)
{
	uint64_t want[CG_NR_LIM] = { lim->memory, lim->pids, lim->cpu_millis };
	int ret = 0;

	for (int k = 0; k < CG_NR_LIM && !ret; k++) {
		if (!want[k])
			continue;
		if (!cg_dir_limit_file(hier, k)[0])
			return ct_err(-EINVAL, "%s: no %s limit in this hierarchy", dir, cg_lim_ctl[k]);
		ret = cg_dir_set_limit(hier, dir, k, want[k]);
	}
	return ret;
}

int cg_dir_move(const char *dir, pid_t pid)
{
	char path[4200], num[16];
	int ret;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(num, sizeof(num), "%d", pid);
	ret = write_small_file(path, num);
	return ret ? ct_err(ret, "%s: cannot move pid %d into it: %s", dir, pid, strerror(-ret)) : 0;
}
