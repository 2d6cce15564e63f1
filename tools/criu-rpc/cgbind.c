// SPDX-License-Identifier: MIT
/*
 * RESTORE: the host directories of runc's /sys/fs/cgroup/<controller> binds.
 *
 * runc binds the container's own directory of each host v1 hierarchy
 * there, and names it at restore (ext_mnt value) from its own
 * /proc/self/cgroup: at create that was the container's init, at restore
 * it is runc itself, which sits in its caller's cgroups (conmon's
 * /libpod_parent/conmon; the root of name=systemd).  Bound as asked, the
 * restored container would read another group's limits where it read its
 * own.  runc has placed us in the container's new cgroups before the
 * request (README.md "RESTORE"), so a value that is exactly the caller's
 * directory in a host cgroup hierarchy is taken for what runc meant: our
 * directory in that hierarchy.  Any other value is bound as given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crpc.h"
#include "ctswap.h"

/* A host cgroup v1 hierarchy: where it is mounted and its super options. */
struct cg_hier {
	char mountpoint[4096];
	char superopts[512];
};

/* Is every comma-separated item of @ctrls one of @opts's? */
static bool cg_ctrls_in(const char *ctrls, const char *opts)
{
	char want[512], have[520], *w, *save = NULL;

	snprintf(want, sizeof(want), "%s", ctrls);
	snprintf(have, sizeof(have), ",%s,", opts);
	for (w = strtok_r(want, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char item[520];

		snprintf(item, sizeof(item), ",%s,", w);
		if (!strstr(have, item))
			return false;
	}
	return ctrls[0] != '\0';
}

/* The cgroup of @pid ("self" or a number) in hierarchy @h, into @buf; 0 or -ENOENT. */
static int cg_path_of(const char *pid, const struct cg_hier *h, char *buf, size_t size)
{
	char file[64], line[4096];
	int ret = -ENOENT;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%s/cgroup", pid);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		char *ctrls = strchr(line, ':'), *path;

		if (!ctrls || !(path = strchr(++ctrls, ':')))
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (cg_ctrls_in(ctrls, h->superopts) && (size_t)snprintf(buf, size, "%s", path) < size)
			ret = 0;
	}
	fclose(f);
	return ret;
}

/* The host cgroup v1 hierarchy (mounted at its root) whose mount holds @path; 0 or -ENOENT. */
static int cg_hier_of(const char *path, struct cg_hier *h)
{
	char line[8192];
	int ret = -ENOENT;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		char root[4096], mp[4096], fstype[64], opts[512];
		char *sep = strstr(line, " - ");
		size_t len;

		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
		    sscanf(sep + 3, "%63s %*s %511s", fstype, opts) != 2)
			continue;
		len = strlen(mp);
		if (strcmp(fstype, "cgroup") || strcmp(root, "/") || strncmp(path, mp, len) ||
		    (path[len] && path[len] != '/'))
			continue;
		snprintf(h->mountpoint, sizeof(h->mountpoint), "%s", mp);
		snprintf(h->superopts, sizeof(h->superopts), "%s", opts);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/*
 * If @path is the caller's directory in a host cgroup hierarchy, our own
 * directory there, allocated into *@out; else *@out is NULL.
 */
static int cg_rebased(struct crpc_conn *c, const char *path, char **out)
{
	char peer[16], theirs[4096], ours[4096];
	const char *rel;
	struct cg_hier h;

	*out = NULL;
	if (cg_hier_of(path, &h))
		return 0;
	snprintf(peer, sizeof(peer), "%d", (int)c->peer);
	rel = path + strlen(h.mountpoint);
	if (cg_path_of(peer, &h, theirs, sizeof(theirs)) ||
	    strcmp(rel[0] ? rel : "/", theirs) || cg_path_of("self", &h, ours, sizeof(ours)) ||
	    !strcmp(theirs, ours))
		return 0;
	if (asprintf(out, "%s%s", h.mountpoint, strcmp(ours, "/") ? ours : "") < 0) {
		*out = NULL;
		return crpc_fail(c, ENOMEM, "ext_mnt %s: out of memory", path);
	}
	return 0;
}

/*
 * Point the cgroup binds of @ext (@nr) at the container's directories;
 * the new paths go into @owned (@nr slots, NULL where unchanged), which
 * the caller frees.  Call before leaving the container's cgroups.
 */
int crpc_cgroup_binds(struct crpc_conn *c, struct ctswap_ext_mount *ext, size_t nr, char **owned)
{
	for (size_t i = 0; i < nr; i++) {
		int ret = ext[i].path ? cg_rebased(c, ext[i].path, &owned[i]) : 0;

		if (ret)
			return ret;
		if (!owned[i])
			continue;
		if (c->log_fd >= 0)
			dprintf(c->log_fd, "ctswap criu-compat: ext_mnt %s: %s is the caller's cgroup, not the container's: bound from %s\n",
				ext[i].id, ext[i].path, owned[i]);
		ext[i].path = owned[i];
	}
	return 0;
}
