// SPDX-License-Identifier: MIT
/*
 * The container's shape at dump: its namespaces, root filesystem and
 * cgroup limits.  What a restore cannot give back is refused here, naming
 * the process and the resource, before anything is written.
 *
 * Every process must share the init's namespaces (a process that made one
 * of its own is refused).  The init may own a pid and a mount namespace on
 * the host's root, a UTS namespace (its names are kept), an IPC namespace
 * (its SysV objects and POSIX message queues are kept), and a network
 * namespace that holds only lo with its default addresses (made again at
 * restore, the sockets in it) or that it joined at run (`run --net
 * ns:PATH`: restore joins the one it is given).  The cgroup's limits are
 * kept, and the groups the container made below its own with theirs and
 * their processes.
 */
#define LOG_PREFIX "dump: "
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "container/container.h"
#include "container/shape.h"
#include "container/supervisor.h"
#include "lib/state.h"
#include "dump/dump.h"
#include "freezer/cgroup.h"
#include "lib/log.h"
#include "lib/util.h"
#include "task/mounts.h"
#include "mm/shm.h"
#include "mm/vma.h"
#include "task/mqueue.h"
#include "task/sysvipc.h"

/* The namespace kinds, as /proc/PID/ns names them, in CT_NS_* order. */
static const char *const shape_ns_names[] = { "pid", "mnt", "net", "uts", "ipc", "user", "cgroup",
					      "time" };
/* How a refusal calls them. */
static const char *const shape_ns_what[] = { "pid", "mount", "network", "UTS (hostname)", "IPC",
					     "user", "cgroup", "time" };

/* Every process in the init's namespaces. */
static int shape_check_same_ns(const struct ct_image *img)
{
	for (uint32_t i = 1; i < img->nr_tasks; i++) {
		const struct ct_task *t = &img->tasks[i];

		/* a process put into the container's cgroup (or one below it) from outside */
		if (t->pid <= 0)
			return ct_err(-EOPNOTSUPP, "host pid %d: in the container's cgroup but outside its pid namespace: not supported",
				      t->host_pid);

		for (size_t k = 0; k < ARRAY_SIZE(shape_ns_names); k++) {
			uint64_t ino = proc_ns_ino(t->host_pid, shape_ns_names[k]);

			if (ino && img->ns_ino[k] && ino != img->ns_ino[k])
				return ct_err(-EOPNOTSUPP, "pid %d: a %s namespace of its own (not the container's): not supported",
					      t->pid, shape_ns_what[k]);
		}
	}
	return 0;
}

/* In the container's UTS namespace: its host and domain names. */
static int shape_read_uts(void *arg)
{
	struct ct_shape_rec *s = arg;
	struct utsname u;

	if (uname(&u) < 0)
		return ct_err(-errno, "uname: %m");
	snprintf(s->hostname, sizeof(s->hostname), "%s", u.nodename);
	snprintf(s->domainname, sizeof(s->domainname), "%s", u.domainname);
	return 0;
}

/* What shape_dump_ipc() works on. */
struct shape_ipc {
	struct ct_image *img;
	struct vma_shm_table *shm;	/* the dump's shared memory objects */
	pid_t pid;
};

/*
 * In the container's IPC namespace: its semaphore sets and message queues
 * (task/sysvipc.c), its shared memory segments with their identity
 * (mm/shm.c, stored whole with the other shared memory) and its POSIX
 * message queues (task/mqueue.c).
 */
static int shape_dump_ipc(void *arg)
{
	struct shape_ipc *si = arg;

	return shm_dump_sysv(si->shm, si->pid) ?: mqueue_dump(si->img, si->pid) ?:
	       sysvipc_dump(si->img, si->pid);
}

/* What shape_read_net() looks at. */
struct shape_net {
	struct ct_shape_rec *s;
	pid_t pid;
};

/* True if @a is lo's default address of its family (127.0.0.1/8, ::1/128). */
static bool shape_lo_default(const struct ifaddrs *a)
{
	if (a->ifa_addr->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
		       ((const struct sockaddr_in *)a->ifa_netmask)->sin_addr.s_addr == htonl(0xff000000);
	if (a->ifa_addr->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a->ifa_addr)->sin6_addr);
	return true;	/* AF_PACKET: the link itself */
}

/* In the container's network namespace: only lo, with its default addresses. */
static int shape_read_net(void *arg)
{
	struct shape_net *sn = arg;
	struct ifaddrs *list, *a;
	char addr[INET6_ADDRSTRLEN] = "?";
	int ret = 0;

	if (getifaddrs(&list) < 0)
		return ct_err(-errno, "getifaddrs: %m");
	for (a = list; a && !ret; a = a->ifa_next) {
		if (strcmp(a->ifa_name, "lo")) {
			ret = ct_err(-EOPNOTSUPP, "pid %d: interface %s in the container's own network namespace (only lo is made again; run --net ns:PATH joins one): not supported",
				     sn->pid, a->ifa_name);
			break;
		}
		if (a->ifa_flags & IFF_UP)
			sn->s->flags |= CT_SHAPE_LO_UP;
		if (!a->ifa_addr || shape_lo_default(a))
			continue;
		inet_ntop(a->ifa_addr->sa_family, a->ifa_addr->sa_family == AF_INET ?
			  (const void *)&((const struct sockaddr_in *)a->ifa_addr)->sin_addr :
			  (const void *)&((const struct sockaddr_in6 *)a->ifa_addr)->sin6_addr,
			  addr, sizeof(addr));
		ret = ct_err(-EOPNOTSUPP, "pid %d: address %s on lo of the container's own network namespace: not supported",
			     sn->pid, addr);
	}
	freeifaddrs(list);
	return ret;
}

/* True if `run --net ns:PATH` made the container join its network namespace. */
static bool shape_net_joined(struct dump_ctx *d)
{
	struct ct_state *st;
	const char *net;
	bool joined;

	if (ct_read_state(d->store, d->name, &st) || !st)
		return false;
	net = state_get(st, "net");
	joined = net && !strcmp(net, "ns");
	state_free(st);
	return joined;
}

/* The network namespace: the dumper's, only lo, or joined at run. */
static int shape_dump_net(struct dump_ctx *d, const struct ct_task *init)
{
	struct ct_shape_rec *s = &d->img->shape;
	struct shape_net sn = { .s = s, .pid = init->pid };

	if (!d->img->ns_ino[CT_NS_NET] || d->img->ns_ino[CT_NS_NET] == proc_ns_ino(d->ref_pid, "net")) {
		s->net = CT_NET_HOST;
		return 0;
	}
	if (d->opts && d->opts->tcp == CTSWAP_TCP_ESTABLISHED)
		return ct_err(-EOPNOTSUPP, "pid %d: --tcp-established with the container's own network namespace: not supported",
			      init->pid);
	if (shape_net_joined(d)) {
		s->net = CT_NET_EXTERNAL;
		return 0;
	}
	s->net = CT_NET_LO;
	return shape_in_pid_ns(init->host_pid, "net", shape_read_net, &sn);
}

/* Own UTS and IPC namespaces: names and SysV semaphores and queues kept. */
static int shape_dump_uts_ipc(struct dump_ctx *d, const struct ct_task *init)
{
	struct ct_shape_rec *s = &d->img->shape;
	struct shape_ipc si = { .img = d->img, .shm = &d->shm, .pid = init->pid };
	int ret = 0;

	if (d->img->ns_ino[CT_NS_UTS] && d->img->ns_ino[CT_NS_UTS] != proc_ns_ino(d->ref_pid, "uts")) {
		s->flags |= CT_SHAPE_OWN_UTS;
		ret = shape_in_pid_ns(init->host_pid, "uts", shape_read_uts, s);
	}
	if (!ret && d->img->ns_ino[CT_NS_IPC] && d->img->ns_ino[CT_NS_IPC] != proc_ns_ino(d->ref_pid, "ipc")) {
		s->flags |= CT_SHAPE_OWN_IPC;
		ret = shape_in_pid_ns(init->host_pid, "ipc", shape_dump_ipc, &si);
	}
	return ret;
}

/* Parse /proc/PID/timens_offsets: "monotonic S NS", "boottime S NS". */
static int shape_read_time_offsets(pid_t host_pid, int64_t *mono, int64_t *boot)
{
	char path[64], name[32], *text, *line, *save = NULL;
	long long sec, nsec;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", host_pid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
	*mono = *boot = 0;
	for (line = strtok_r(text, "\n", &save); line && !ret; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%31s %lld %lld", name, &sec, &nsec) != 3)
			ret = ct_err(-EINVAL, "%s: cannot parse '%s'", path, line);
		else if (!strcmp(name, "monotonic") || !strcmp(name, "1"))
			*mono = sec * 1000000000LL + nsec;
		else if (!strcmp(name, "boottime") || !strcmp(name, "7"))
			*boot = sec * 1000000000LL + nsec;
	}
	free(text);
	return ret;
}

/* An own time namespace (a restore --time-ns made it): the clocks as the container sees them. */
static int shape_dump_time(struct dump_ctx *d, const struct ct_task *init)
{
	struct ct_shape_rec *s = &d->img->shape;
	int64_t mono = 0, boot = 0;
	int ret;

	if (!d->img->ns_ino[CT_NS_TIME] || d->img->ns_ino[CT_NS_TIME] == proc_ns_ino(d->ref_pid, "time"))
		return 0;
	if (proc_ns_ino(init->host_pid, "time_for_children") != d->img->ns_ino[CT_NS_TIME])
		return ct_err(-EOPNOTSUPP, "pid %d: a time namespace for its children of its own: not supported",
			      init->pid);
	ret = shape_read_time_offsets(init->host_pid, &mono, &boot);
	if (ret)
		return ret;
	s->flags |= CT_SHAPE_OWN_TIME;
	pr_info("pid %d: time namespace offsets: monotonic %lld ns, boottime %lld ns", init->pid,
		(long long)mono, (long long)boot);
	s->mono_ns += mono;
	s->boot_ns += boot;
	return 0;
}

/* User and cgroup namespaces are those the container was started in. */
static int shape_check_init_ns(const struct ct_image *img, pid_t ref, pid_t init)
{
	static const int kinds[] = { CT_NS_USER, CT_NS_CGROUP };

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		int k = kinds[i];
		uint64_t ours = proc_ns_ino(ref, shape_ns_names[k]);

		if (ours && img->ns_ino[k] && ours != img->ns_ino[k])
			return ct_err(-EOPNOTSUPP, "pid %d: the container's own %s namespace: not supported",
				      init, shape_ns_what[k]);
	}
	return 0;
}

/* The init's root is the host's, or its own with a mount tree recorded (task/mounts.c). */
static int shape_dump_root(struct dump_ctx *d, const struct ct_task *init)
{
	struct mnt_dump_opts mo = { .max_file_size = d->opts ? d->opts->max_deleted_size : 0 };
	struct stat ours, theirs;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/root/", init->host_pid);
	if (stat("/", &ours) < 0 || stat(path, &theirs) < 0)
		return ct_err(-errno, "pid %d: cannot read its root directory: %m", init->pid);
	if (ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino)
		return 0;
	if (!d->img->own_mntns)
		return ct_err(-EOPNOTSUPP, "pid %d: a root directory of its own without a mount namespace of its own (chroot): not supported",
			      init->pid);
	if (d->opts) {
		mo.ext = d->opts->ext_mounts;
		mo.nr_ext = d->opts->nr_ext_mounts;
	}
	ret = mounts_dump(d->img, init->host_pid, init->pid, d->ref_pid, &mo);
	if (!ret)
		d->img->shape.flags |= CT_SHAPE_OWN_ROOT;
	return ret;
}

_Static_assert((int)CG_HIER_V2 == (int)CT_CG_V2 && (int)CG_HIER_V1_CPU == (int)CT_CG_V1_CPU &&
	       (int)CG_HIER_NR == (int)CT_CG_NR_HIER,
	       "cgroup hierarchy numbers of the image and of freezer/cgroup.h");

/* The task of @img whose host pid is @host, NULL if none. */
static const struct ct_task *shape_task_of(const struct ct_image *img, pid_t host)
{
	for (uint32_t i = 0; i < img->nr_tasks; i++)
		if (img->tasks[i].host_pid == host)
			return &img->tasks[i];
	return NULL;
}

/* One group below the container's (cg_walk_below callback): its limits and processes. */
static int shape_dump_subgroup(void *arg, int hier, const char *rel, const char *dir)
{
	struct ct_image *img = arg;
	struct ct_cgroup_rec *g, *grown;
	struct ctswap_limits lim;
	pid_t *pids = NULL;
	size_t nr = 0;
	int ret;

	grown = xrealloc(img->cgroups, sizeof(*grown) * (img->nr_cgroups + 1));
	if (!grown)
		return -ENOMEM;
	img->cgroups = grown;
	g = &grown[img->nr_cgroups];
	memset(g, 0, sizeof(*g));
	g->hier = (uint32_t)hier;
	g->path = xstrdup(rel);
	if (!g->path)
		return -ENOMEM;
	img->nr_cgroups++;
	ret = cg_dir_get_limits(hier, dir, &lim) ?: cg_dir_procs(dir, &pids, &nr);
	if (ret)
		return ct_err(ret, "cgroup %s: cannot read it: %s", dir, strerror(-ret));
	g->limit_memory = lim.memory;
	g->limit_pids = lim.pids;
	g->limit_cpu_millis = lim.cpu_millis;
	g->members = xzalloc(sizeof(*g->members) * (nr + 1));
	for (size_t i = 0; g->members && i < nr && !ret; i++) {
		const struct ct_task *t = shape_task_of(img, pids[i]);

		if (!t)
			ret = ct_err(-EOPNOTSUPP, "host pid %d: in cgroup %s of the container, not one of its processes: not supported",
				     pids[i], dir);
		else
			g->members[g->nr_members++] = t->pid;
	}
	free(pids);
	return g->members ? ret : -ENOMEM;
}

/*
 * The cgroups the container made below its own, in every hierarchy its
 * group is in: path, limits and the processes in each (all of them are the
 * container's: the freezer and the seize count them in).
 */
static int shape_dump_subgroups(struct dump_ctx *d)
{
	return cg_walk_below(d->cg, shape_dump_subgroup, d->img);
}

/* The cgroup's limits. */
static int shape_dump_limits(struct dump_ctx *d)
{
	struct ct_shape_rec *s = &d->img->shape;
	struct ctswap_limits lim;
	int ret = cg_get_limits(d->cg, &lim);

	if (ret)
		return ret;
	s->limit_memory = lim.memory;
	s->limit_pids = lim.pids;
	s->limit_cpu_millis = lim.cpu_millis;
	return 0;
}

/*
 * The process whose namespaces count as "the host's": the container's
 * supervisor, which was started in the namespaces of the run or restore
 * that made it (a dump may run elsewhere, as ctswap-migrate's does), else
 * the dumper (an adopted container has no supervisor).
 */
static pid_t shape_ref_pid(struct dump_ctx *d)
{
	unsigned long long start = 0;
	long long pid = 0, want = -1;
	struct ct_state *st;

	if (ct_read_state(d->store, d->name, &st) || !st)
		return getpid();
	if (state_get_ll(st, "supervisor_pid", &pid) || state_get_ll(st, "supervisor_start", &want) ||
	    proc_starttime((pid_t)pid, &start) || start != (unsigned long long)want)
		pid = 0;
	state_free(st);
	return pid > 0 ? (pid_t)pid : getpid();
}

/* Record the container's shape; refuse what a restore could not give back. */
int dump_shape(struct dump_ctx *d)
{
	const struct ct_task *init = &d->img->tasks[0];

	d->ref_pid = shape_ref_pid(d);

	return shape_check_same_ns(d->img) ?:
	       shape_check_init_ns(d->img, d->ref_pid, init->pid) ?:
	       shape_dump_root(d, init) ?:
	       shape_dump_uts_ipc(d, init) ?:
	       shape_dump_time(d, init) ?:
	       shape_dump_net(d, init) ?:
	       shape_dump_limits(d) ?: shape_dump_subgroups(d);
}
