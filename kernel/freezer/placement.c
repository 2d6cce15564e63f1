// SPDX-License-Identifier: MIT
/*
 * A process's cgroup placement: the directory of its group in every
 * mounted hierarchy (v1 controllers, named v1 hierarchies, v2), read from
 * /proc/PID/cgroup and /proc/self/mountinfo.  A container runtime (runc)
 * makes a container's groups and places the engine in them before a
 * restore; ctswap_attach() records that placement, puts the restored init
 * in it, and moves the engine's own long-lived helpers elsewhere.
 */
#define LOG_PREFIX "cgroup: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freezer/cgroup.h"
#include "freezer/mountinfo.h"
#include "lib/log.h"
#include "lib/util.h"

/* True if every controller of the comma list @ctrls is in the mount options @opts. */
static bool opts_have_all(const char *opts, const char *ctrls)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", ctrls);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!mount_opts_has(opts, tok))
			return false;
	return true;
}

/* The mount point of the hierarchy of @ctrls ("" : v2) in @mountinfo, or NULL. */
static char *hierarchy_mount(const char *mountinfo, const char *ctrls)
{
	char *text = xstrdup(mountinfo), *line, *save = NULL, *found = NULL;

	if (!text)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		struct mountinfo_entry e;

		if (mountinfo_parse_line(line, &e) || strcmp(e.root, "/"))
			continue;
		if (!ctrls[0] ? !strcmp(e.fstype, "cgroup2") :
		    !strcmp(e.fstype, "cgroup") && opts_have_all(e.super_opts, ctrls))
			found = xstrdup(e.mount_point);
	}
	free(text);
	return found;
}

/* Add "MNT/PATH" of one /proc/PID/cgroup line to @p; the freezer's (or v2's) is noted. */
static int placement_add(struct cg_placement *p, const char *mountinfo, char *line)
{
	char *ctrls, *path, *mnt, *dir;

	ctrls = strchr(line, ':');
	path = ctrls ? strchr(ctrls + 1, ':') : NULL;
	if (!path)
		return -EINVAL;
	*ctrls++ = '\0';
	*path++ = '\0';
	mnt = hierarchy_mount(mountinfo, ctrls);
	if (!mnt)
		return 0;	/* a hierarchy not mounted here: nothing to enter */
	dir = xasprintf("%s%s", mnt, strcmp(path, "/") ? path : "");
	free(mnt);
	if (!dir || xgrow(&p->dirs, &p->cap, p->nr + 1, sizeof(*p->dirs))) {
		free(dir);
		return -ENOMEM;
	}
	if (mount_opts_has(ctrls, "freezer") || (!ctrls[0] && p->freezer < 0))
		p->freezer = (int)p->nr;
	p->dirs[p->nr++] = dir;
	return 0;
}

/* Read @pid's placement. */
int cg_placement_of(pid_t pid, struct cg_placement *p)
{
	char path[64], *text = NULL, *mountinfo = NULL, *line, *save = NULL;
	int ret;

	memset(p, 0, sizeof(*p));
	p->freezer = -1;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ct_err(ret == -ENOENT ? -ESRCH : ret, "pid %d: cannot read its cgroups: %s",
			      pid, strerror(-ret));
	ret = read_whole_file("/proc/self/mountinfo", &mountinfo, NULL);
	for (line = strtok_r(text, "\n", &save); line && !ret; line = strtok_r(NULL, "\n", &save))
		ret = placement_add(p, mountinfo, line);
	free(text);
	free(mountinfo);
	if (ret) {
		cg_placement_free(p);
		return ct_err(ret, "pid %d: cannot read its cgroups: %s", pid, strerror(-ret));
	}
	return 0;
}

/* Move @pid (the whole process) into every group of @p. */
int cg_placement_enter(const struct cg_placement *p, pid_t pid)
{
	char path[4200], val[32];
	int ret;

	snprintf(val, sizeof(val), "%d", pid);
	for (size_t i = 0; i < p->nr; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", p->dirs[i]);
		ret = write_small_file(path, val);
		if (ret)
			return ct_err(ret, "pid %d: cannot move into cgroup %s: %s", pid, p->dirs[i],
				      strerror(-ret));
	}
	return 0;
}

/* Free what cg_placement_of() filled in. */
void cg_placement_free(struct cg_placement *p)
{
	for (size_t i = 0; i < p->nr; i++)
		free(p->dirs[i]);
	free(p->dirs);
	memset(p, 0, sizeof(*p));
	p->freezer = -1;
}
