// SPDX-License-Identifier: MIT
/* Moving processes out of a container's cgroup, back to the hierarchy roots. */
#define LOG_PREFIX "api: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "freezer/cgroup.h"
#include "lib/log.h"
#include "lib/util.h"

/* Write @pid into ROOT/cgroup.procs of one hierarchy ("" : absent). */
static int leave_one(const char *root, pid_t pid)
{
	char path[4096], val[32];

	if (!root || !*root)
		return 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", root);
	snprintf(val, sizeof(val), "%d", pid);
	return write_small_file(path, val);
}

/* Move @pid back to the roots of the v2 and the v1 freezer hierarchy. */
int api_cgroup_leave(pid_t pid)
{
	const char *v2, *freezer;
	int ret;

	ret = cg_mounts(&v2, &freezer);
	if (ret)
		return ret;
	ret = leave_one(v2, pid) ?: leave_one(freezer, pid);
	if (ret)
		return ct_err(ret, "pid %d: cannot leave its container's cgroup: %s", pid,
			      strerror(-ret));
	return 0;
}

/* Move every process of @cg back to the roots (best effort). */
void api_cgroup_leave_all(struct ct_cgroup *cg)
{
	pid_t *pids;
	size_t nr;

	if (cg_procs(cg, &pids, &nr))
		return;
	for (size_t i = 0; i < nr; i++)
		if (api_cgroup_leave(pids[i]))
			pr_warn("pid %d: stays in cgroup %s", pids[i], cg_path(cg));
	free(pids);
}
