// SPDX-License-Identifier: MIT
/*
 * The container's shape at dump: its namespaces, root filesystem and
 * cgroup limits.  What a restore cannot give back is refused here, naming
 * the process and the resource, before anything is written.
 *
 * Every process must share the init's namespaces (a process that made one
 * of its own is refused), and the init may own a pid and a mount
 * namespace on the host's root: that is what restore rebuilds.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "dump/dump.h"
#include "freezer/cgroup.h"
#include "lib/log.h"
#include "lib/util.h"

/* The namespace kinds, as /proc/PID/ns names them, in CT_NS_* order. */
static const char *const shape_ns_names[] = { "pid", "mnt", "net", "uts", "ipc", "user", "cgroup",
					      "time" };
/* How a refusal calls them. */
static const char *const shape_ns_what[] = { "pid", "mount", "network", "UTS (hostname)", "IPC",
					     "user", "cgroup", "time" };

/* The inode of /proc/@pid/ns/@name (0: unreadable). */
static uint64_t shape_ns_ino(pid_t pid, const char *name)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* Every process in the init's namespaces. */
static int shape_check_same_ns(const struct ct_image *img)
{
	for (uint32_t i = 1; i < img->nr_tasks; i++) {
		const struct ct_task *t = &img->tasks[i];

		for (size_t k = 0; k < ARRAY_SIZE(shape_ns_names); k++) {
			uint64_t ino = shape_ns_ino(t->host_pid, shape_ns_names[k]);

			if (ino && img->ns_ino[k] && ino != img->ns_ino[k])
				return ct_err(-EOPNOTSUPP, "pid %d: a %s namespace of its own (not the container's): not supported",
					      t->pid, shape_ns_what[k]);
		}
	}
	return 0;
}

/* The init's namespaces beyond pid and mount are the dumper's. */
static int shape_check_init_ns(const struct ct_image *img, pid_t init)
{
	for (size_t k = CT_NS_NET; k < ARRAY_SIZE(shape_ns_names); k++) {
		uint64_t ours = shape_ns_ino(getpid(), shape_ns_names[k]);

		if (ours && img->ns_ino[k] && ours != img->ns_ino[k])
			return ct_err(-EOPNOTSUPP, "pid %d: the container's own %s namespace: not supported",
				      init, shape_ns_what[k]);
	}
	return 0;
}

/* The init's root is the host's. */
static int shape_check_root(pid_t host_pid, pid_t pid)
{
	struct stat ours, theirs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/root/", host_pid);
	if (stat("/", &ours) < 0 || stat(path, &theirs) < 0)
		return ct_err(-errno, "pid %d: cannot read its root directory: %m", pid);
	if (ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino)
		return ct_err(-EOPNOTSUPP, "pid %d: a root filesystem of its own (run --rootfs): not supported",
			      pid);
	return 0;
}

/* No cgroup limit that a restore would drop. */
static int shape_check_limits(struct dump_ctx *d)
{
	struct ctswap_limits lim;
	int ret = cg_get_limits(d->cg, &lim);

	if (ret)
		return ret;
	if (lim.memory || lim.pids || lim.cpu_millis)
		return ct_err(-EOPNOTSUPP, "%s: cgroup limits (run --memory, --pids, --cpus): not supported",
			      d->name);
	return 0;
}

/* Refuse what of the container's shape a restore could not give back. */
int dump_check_shape(struct dump_ctx *d)
{
	const struct ct_task *init = &d->img->tasks[0];

	return shape_check_same_ns(d->img) ?:
	       shape_check_init_ns(d->img, init->pid) ?:
	       shape_check_root(init->host_pid, init->pid) ?:
	       shape_check_limits(d);
}
