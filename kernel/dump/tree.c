// SPDX-License-Identifier: MIT
/*
 * The process tree of a seized container.  /proc shows host pids; the
 * image keeps the pids of the container's pid namespace (NSpid and friends
 * at the init's innermost level) and orders tasks parents first.
 */
#define LOG_PREFIX "dump: "
#include <errno.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/state.h"
#include "container/store.h"
#include "dump/dump.h"
#include "lib/log.h"
#include "lib/util.h"

/* What /proc/PID/status and stat say about one process. */
struct proc_info {
	pid_t host_pid, host_ppid;
	pid_t nspid[CT_MAX_PIDNS_LEVEL];
	pid_t nspgid[CT_MAX_PIDNS_LEVEL];
	pid_t nssid[CT_MAX_PIDNS_LEVEL];
	int levels;			/* entries of NSpid */
	unsigned long long start_time;	/* stat field 22 */
	int exit_signal;		/* stat field 38 */
	char state;			/* stat field 3: 'Z' for a zombie */
	uint32_t exit_code;		/* stat field 52: a zombie's wait status */
	bool placed;
};

/* Parse a "Key:\tA\tB\tC" line of /proc status into @ids; returns the count. */
static int parse_ns_ids(const char *text, const char *key, pid_t *ids)
{
	const char *p = strstr(text, key);
	int n = 0;

	if (!p)
		return 0;
	p += strlen(key);
	while (*p && *p != '\n' && n < CT_MAX_PIDNS_LEVEL) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		ids[n++] = (pid_t)v;
		p = end;
	}
	return n;
}

/*
 * Refuse a thread in seccomp strict mode: it can make none of the calls a
 * restore injects (filters are dumped: task/seccomp.c).  @status is the
 * text of its /proc status.
 */
static int tree_check_seccomp(const char *status, pid_t tgid, pid_t tid)
{
	const char *p = strstr(status, "\nSeccomp:");
	int mode = p ? atoi(p + 9) : 0;

	if (mode != 1)
		return 0;
	if (tid == tgid)
		return ct_err(-ENOTSUP, "pid %d: seccomp strict mode: not supported", tgid);
	return ct_err(-ENOTSUP, "pid %d: thread %d: seccomp strict mode: not supported", tgid, tid);
}

/* Read status and stat of process @pid. */
static int proc_info_read(pid_t pid, struct proc_info *pi)
{
	char path[64], *text, *p;
	int ret;

	memset(pi, 0, sizeof(*pi));
	pi->host_pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read status: %s", pid, strerror(-ret));
	p = strstr(text, "\nPPid:");
	pi->host_ppid = p ? atoi(p + 6) : 0;
	pi->levels = parse_ns_ids(text, "\nNSpid:", pi->nspid);
	parse_ns_ids(text, "\nNSpgid:", pi->nspgid);
	parse_ns_ids(text, "\nNSsid:", pi->nssid);
	ret = tree_check_seccomp(text, pid, pid);
	free(text);
	if (ret)
		return ret;
	if (!pi->levels)
		return ct_err(-EINVAL, "pid %d: no NSpid in status", pid);

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read stat: %s", pid, strerror(-ret));
	p = strrchr(text, ')');
	if (p) {
		/* field 3 starts two characters after ')' */
		p += 2;
		pi->state = *p;
		for (int field = 3; *p && field <= 52; field++) {
			if (field == 52)
				pi->exit_code = (uint32_t)strtoul(p, NULL, 10);
			if (field == 22)
				pi->start_time = strtoull(p, NULL, 10);
			if (field == 38)
				pi->exit_signal = atoi(p);
			p = strchr(p, ' ');
			if (!p)
				break;
			p++;
		}
	}
	free(text);
	return 0;
}

/* The tid of host thread @tid at pid-namespace level @level. */
static int thread_ns_tid(pid_t tgid, pid_t tid, int level, pid_t *out)
{
	pid_t ids[CT_MAX_PIDNS_LEVEL];
	char path[96], *text;
	int n, ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", tgid, tid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read status of thread %d: %s", tgid, tid,
			      strerror(-ret));
	n = parse_ns_ids(text, "\nNSpid:", ids);
	ret = tree_check_seccomp(text, tgid, tid);
	free(text);
	if (ret)
		return ret;
	if (n <= level)
		return ct_err(-EINVAL, "pid %d: thread %d is not in the container's pid namespace",
			      tgid, tid);
	*out = ids[level];
	return 0;
}

/* The init's host pid as the supervisor recorded it, 0 if unknown. */
static pid_t recorded_init(struct dump_ctx *d)
{
	struct ct_state *st;
	char path[4096];
	long long v = 0;

	if (store_path(d->store, d->name, "state", path, sizeof(path)))
		return 0;
	if (state_read(path, &st))
		return 0;
	if (state_get_ll(st, "init_pid", &v))
		v = 0;
	state_free(st);
	return (pid_t)v;
}

/* Pick the init: the recorded one, else pid 1 of the namespace, else the oldest root. */
static struct proc_info *find_init(struct dump_ctx *d, struct proc_info *pi, size_t nr)
{
	pid_t rec = recorded_init(d);
	struct proc_info *best = NULL;

	for (size_t i = 0; i < nr; i++)
		if (pi[i].host_pid == rec)
			return &pi[i];
	for (size_t i = 0; i < nr; i++) {
		bool root = true;

		for (size_t j = 0; j < nr; j++)
			if (pi[j].host_pid == pi[i].host_ppid)
				root = false;
		if (!root)
			continue;
		if (pi[i].nspid[pi[i].levels - 1] == 1)
			return &pi[i];
		if (!best || pi[i].start_time < best->start_time)
			best = &pi[i];
	}
	return best;
}

/* Fill one image task from @p and the seized threads of its group. */
static int fill_task(struct dump_ctx *d, struct ct_task *t, const struct proc_info *p,
		     int level, pid_t ppid)
{
	struct seize_set *ss = &d->ss;
	char path[64];
	uint32_t n = 0;
	int ret;

	if (p->levels - level > 1)
		return ct_err(-EOPNOTSUPP, "pid %d: nested pid namespace not supported", p->host_pid);
	t->pid = p->nspid[level];
	t->ppid = ppid;
	t->pgid = p->nspgid[level];
	t->sid = p->nssid[level];
	t->host_pid = p->host_pid;
	t->nr_nspid = (uint32_t)(p->levels - level);
	t->exit_signal = p->exit_signal;
	snprintf(path, sizeof(path), "/proc/%d/comm", p->host_pid);
	read_small_file(path, t->comm, sizeof(t->comm));

	for (size_t i = 0; i < ss->nr; i++)
		n += ss->threads[i].tgid == p->host_pid && !ss->threads[i].gone;
	if (!seize_find(ss, p->host_pid) || seize_find(ss, p->host_pid)->gone)
		return ct_err(-EOPNOTSUPP, "pid %d: its main thread has exited; not supported",
			      p->host_pid);
	t->threads = xzalloc(sizeof(*t->threads) * n);
	if (!t->threads)
		return -ENOMEM;
	t->threads[0].host_tid = p->host_pid;
	t->threads[0].tid = t->pid;
	t->nr_threads = 1;
	for (size_t i = 0; i < ss->nr; i++) {
		const struct seized_thread *th = &ss->threads[i];
		struct ct_thread *ct;

		if (th->tgid != p->host_pid || th->gone || th->tid == p->host_pid)
			continue;
		ct = &t->threads[t->nr_threads++];
		ct->host_tid = th->tid;
		ret = thread_ns_tid(p->host_pid, th->tid, level, &ct->tid);
		if (ret)
			return ret;
	}
	return 0;
}

/* Record the init's namespaces and which ones the container owns. */
static void collect_namespaces(struct ct_image *img, pid_t init)
{
	static const char *names[] = { "pid", "mnt", "net", "uts", "ipc", "user", "cgroup", "time" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		img->ns_ino[i] = proc_ns_ino(init, names[i]);
	img->own_pidns = img->ns_ino[CT_NS_PID] != proc_ns_ino(getpid(), "pid");
	img->own_mntns = img->ns_ino[CT_NS_MNT] != proc_ns_ino(getpid(), "mnt");
}

/* Append the unplaced descendants of the placed tasks to the image, parents first. */
static int place_children(struct dump_ctx *d, struct proc_info *pi, size_t nr, int level)
{
	struct ct_image *img = d->img;
	int ret;

	/* Breadth first over the tasks already placed: each one's children follow. */
	for (uint32_t k = 0; k < img->nr_tasks; k++) {
		for (size_t i = 0; i < nr; i++) {
			if (pi[i].placed || pi[i].host_ppid != img->tasks[k].host_pid)
				continue;
			pi[i].placed = true;
			/* counted first so that image_free() frees a half-filled task */
			img->nr_tasks++;
			ret = fill_task(d, &img->tasks[img->nr_tasks - 1], &pi[i], level,
					img->tasks[k].pid);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * Record zombie @z, child of task @parent: its parent's wait must see it
 * after the restore.  A core dump cannot be made again faithfully (where it
 * goes is the host's core_pattern): such a zombie is refused.
 */
static int add_zombie(struct dump_ctx *d, const struct proc_info *z, const struct ct_task *parent,
		      int level)
{
	struct ct_image *img = d->img;
	struct ct_zombie *cz;
	char path[64];

	if (z->levels - level != 1)
		return ct_err(-EOPNOTSUPP, "pid %d: zombie in a nested pid namespace: not supported",
			      z->host_pid);
	if ((z->exit_code & 0x7f) && (z->exit_code & 0x80))
		return ct_err(-EOPNOTSUPP, "pid %d: zombie child of pid %d killed by signal %u with a core dump: not supported (wait for it first)",
			      z->nspid[level], parent->pid, z->exit_code & 0x7f);
	cz = xrealloc(img->zombies, (img->nr_zombies + 1) * sizeof(*img->zombies));
	if (!cz)
		return -ENOMEM;
	img->zombies = cz;
	cz = &img->zombies[img->nr_zombies++];
	memset(cz, 0, sizeof(*cz));
	cz->pid = z->nspid[level];
	cz->ppid = parent->pid;
	cz->pgid = z->nspgid[level];
	cz->sid = z->nssid[level];
	cz->host_pid = z->host_pid;
	cz->exit_signal = z->exit_signal;
	cz->status = z->exit_code;
	snprintf(path, sizeof(path), "/proc/%d/comm", z->host_pid);
	read_small_file(path, cz->comm, sizeof(cz->comm));
	pr_info("pid %d (host %d, %s): zombie child of %d, wait status %#x", cz->pid, cz->host_pid,
		cz->comm, cz->ppid, cz->status);
	return 0;
}

/* True if host pid @pid is a task of the image already. */
static bool is_image_task(const struct ct_image *img, pid_t pid)
{
	for (uint32_t i = 0; i < img->nr_tasks; i++)
		if (img->tasks[i].host_pid == pid)
			return true;
	return false;
}

/* Look at the children that thread @tid of task @t lists; zombies among them are recorded. */
static int collect_thread_zombies(struct dump_ctx *d, const struct ct_task *t, pid_t tid, int level)
{
	char path[96], *text, *p, *end;
	struct proc_info z;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", t->host_pid, tid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read its children: %s", t->pid, strerror(-ret));
	for (p = text; !ret; p = end) {
		pid_t child = (pid_t)strtol(p, &end, 10);

		if (end == p)
			break;
		if (is_image_task(d->img, child))
			continue;
		/* a live child is in the cgroup, or not the container's: only zombies are ours */
		if (proc_info_read(child, &z) || z.state != 'Z') {
			ct_err_clear();
			continue;
		}
		ret = add_zombie(d, &z, t, level);
	}
	free(text);
	return ret;
}

/* The cgroup lists no zombie: find them among the children of every task. */
static int collect_zombies(struct dump_ctx *d, int level)
{
	struct ct_image *img = d->img;
	int ret = 0;

	for (uint32_t i = 0; i < img->nr_tasks && !ret; i++)
		for (uint32_t k = 0; k < img->tasks[i].nr_threads && !ret; k++)
			ret = collect_thread_zombies(d, &img->tasks[i], img->tasks[i].threads[k].host_tid,
						     level);
	return ret;
}

/*
 * What processes may share, in the order a pair's refusals are checked.
 * kcmp() orders the kernel objects it compares (0 the same, 1 less, 2
 * greater), so sorting the processes by each finds every group of sharers
 * in n log n calls, where asking every pair took n^2 (20000 calls, 25 ms
 * frozen, for 100 processes).
 */
enum { SHARE_VM, SHARE_SIGHAND, SHARE_FILES, SHARE_FS, NR_SHARE };

static const struct {
	int kcmp;
	uint32_t bit;			/* CT_SHARE_*: restore shares it again with the parent */
	const char *what;
} share_kinds[NR_SHARE] = {
	[SHARE_VM] = { KCMP_VM, 0, "address space" },
	[SHARE_SIGHAND] = { KCMP_SIGHAND, 0, "signal handlers" },
	[SHARE_FILES] = { KCMP_FILES, CT_SHARE_FILES, "descriptor table (CLONE_FILES)" },
	[SHARE_FS] = { KCMP_FS, CT_SHARE_FS, "cwd, root and umask (CLONE_FS)" },
};

/* One sort of the tasks by the object of one kind they hold. */
struct share_sort {
	const struct ct_image *img;
	int kcmp;
	bool unordered;			/* kcmp gave no order (or failed): pairs are asked instead */
};

/* kcmp of tasks @a and @b as a qsort order. */
static int share_order(const void *a, const void *b, void *arg)
{
	struct share_sort *ss = arg;
	const struct ct_task *ta = &ss->img->tasks[*(const uint32_t *)a];
	const struct ct_task *tb = &ss->img->tasks[*(const uint32_t *)b];
	long r = syscall(SYS_kcmp, ta->host_pid, tb->host_pid, ss->kcmp, 0, 0);

	if (r == 0 || r == 1 || r == 2)
		return r == 0 ? 0 : r == 1 ? -1 : 1;
	ss->unordered = true;
	return (ta->host_pid > tb->host_pid) - (ta->host_pid < tb->host_pid);
}

/* True if processes @a and @b (host pids) share resource @type (KCMP_*). */
static bool procs_share(pid_t a, pid_t b, int type)
{
	return syscall(SYS_kcmp, a, b, type, 0, 0) == 0;
}

/*
 * @group[i]: a number the tasks that hold the same object of kind @kind
 * have in common; *@nr_groups: how many different ones there are.
 */
static int share_groups(const struct ct_image *img, int kind, uint32_t *group, uint32_t *nr_groups)
{
	struct share_sort ss = { .img = img, .kcmp = share_kinds[kind].kcmp };
	uint32_t n = img->nr_tasks, *order = xmalloc(sizeof(*order) * n);

	if (!order)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), share_order, &ss);
	*nr_groups = 0;
	for (uint32_t k = 0; k < n && !ss.unordered; k++) {
		group[order[k]] = k && share_order(&order[k - 1], &order[k], &ss) == 0 ?
				  group[order[k - 1]] : k;
		*nr_groups += group[order[k]] == k;
	}
	/* no order to sort by: the first earlier task holding the same object */
	if (ss.unordered)
		*nr_groups = 0;
	for (uint32_t i = 0; i < n && ss.unordered; i++) {
		group[i] = i;
		for (uint32_t j = 0; j < i && group[i] == i; j++)
			if (procs_share(img->tasks[j].host_pid, img->tasks[i].host_pid,
					share_kinds[kind].kcmp))
				group[i] = group[j];
		*nr_groups += group[i] == i;
	}
	free(order);
	return 0;
}

/* The task @t got its shared @bit resource from: up its parents while they share it. */
static const struct ct_task *share_origin(const struct ct_image *img, const struct ct_task *t,
					  uint32_t bit)
{
	const struct ct_task *parent;

	while ((t->share_parent & bit) && (parent = image_find_task(img, t->ppid)))
		t = parent;
	return t;
}

/* Refuse tasks @i and @j (@group: share_groups() of each kind) if they share what restore cannot share again. */
static int check_pair_sharing(const struct ct_image *img, uint32_t *const group[NR_SHARE],
			      uint32_t i, uint32_t j)
{
	const struct ct_task *a = &img->tasks[i], *b = &img->tasks[j];

	if (group[SHARE_VM][i] == group[SHARE_VM][j])
		return ct_err(-EOPNOTSUPP, "pid %d and pid %d share one address space (CLONE_VM without threads): not supported",
			      a->pid, b->pid);
	if (group[SHARE_SIGHAND][i] == group[SHARE_SIGHAND][j])
		return ct_err(-EOPNOTSUPP, "pid %d and pid %d share their signal handlers (CLONE_SIGHAND without threads): not supported",
			      a->pid, b->pid);
	for (int k = SHARE_FILES; k < NR_SHARE; k++)
		if (group[k][i] == group[k][j] &&
		    share_origin(img, a, share_kinds[k].bit) != share_origin(img, b, share_kinds[k].bit))
			return ct_err(-EOPNOTSUPP, "pid %d and pid %d share a %s that neither got from its parent: not supported",
				      a->pid, b->pid, share_kinds[k].what);
	return 0;
}

/* Note what task @i shares with its parent (a descriptor table, fs): restore clones it so again. */
static void note_parent_sharing(struct ct_image *img, uint32_t *const group[NR_SHARE], uint32_t i)
{
	struct ct_task *t = &img->tasks[i];
	const struct ct_task *parent = image_find_task(img, t->ppid);
	uint32_t p = parent ? (uint32_t)(parent - img->tasks) : 0;

	for (int k = SHARE_FILES; parent && k < NR_SHARE; k++)
		if (group[k][i] == group[k][p])
			t->share_parent |= share_kinds[k].bit;
	if (t->share_parent)
		pr_info("pid %d shares with its parent %d:%s%s", t->pid, t->ppid,
			t->share_parent & CT_SHARE_FILES ? " descriptor table" : "",
			t->share_parent & CT_SHARE_FS ? " fs" : "");
}

/*
 * What processes share as threads do.  A descriptor table or fs shared
 * with the parent (clone with CLONE_FILES, CLONE_FS) is recorded: restore
 * clones the child so again.  Anything else shared is refused.
 */
static int collect_sharing(struct dump_ctx *d)
{
	struct ct_image *img = d->img;
	uint32_t n = img->nr_tasks, *group[NR_SHARE], *all = xmalloc(sizeof(*all) * n * NR_SHARE);
	uint32_t nr_groups[NR_SHARE] = { 0 };
	int ret = all ? 0 : -ENOMEM;

	for (int k = 0; k < NR_SHARE && !ret; k++) {
		group[k] = all + (size_t)k * n;
		/*
		 * Signal handlers are shared only with the address space
		 * (clone() wants CLONE_VM with CLONE_SIGHAND; exec unshares
		 * both): no address space shared, no handlers either, and
		 * their n log n kcmp calls are saved.
		 */
		if (k == SHARE_SIGHAND && nr_groups[SHARE_VM] == n) {
			for (uint32_t i = 0; i < n; i++)
				group[k][i] = i;
			continue;
		}
		ret = share_groups(img, k, group[k], &nr_groups[k]);
	}
	for (uint32_t i = 1; i < n && !ret; i++)
		note_parent_sharing(img, group, i);
	for (uint32_t i = 0; i < n && !ret; i++)
		for (uint32_t j = i + 1; j < n && !ret; j++)
			ret = check_pair_sharing(img, group, i, j);
	free(all);
	return ret;
}

/* Build the image's task list from the seized threads. */
int dump_collect_tree(struct dump_ctx *d)
{
	struct seize_set *ss = &d->ss;
	struct ct_image *img = d->img;
	struct proc_info *pi, *init;
	size_t nr = 0;
	int level, ret = 0;

	pi = xzalloc(sizeof(*pi) * (ss->nr + 1));
	if (!pi)
		return -ENOMEM;
	for (size_t i = 0; i < ss->nr; i++) {
		bool seen = false;

		if (ss->threads[i].gone)
			continue;
		for (size_t j = 0; j < nr; j++)
			seen |= pi[j].host_pid == ss->threads[i].tgid;
		if (seen)
			continue;
		ret = proc_info_read(ss->threads[i].tgid, &pi[nr]);
		if (ret)
			goto out;
		nr++;
	}
	init = find_init(d, pi, nr);
	if (!init) {
		ret = ct_err(-ESRCH, "%s: no process to dump", d->name);
		goto out;
	}
	img->tasks = xzalloc(sizeof(*img->tasks) * nr);
	if (!img->tasks) {
		ret = -ENOMEM;
		goto out;
	}
	level = init->levels - 1;
	img->nr_tasks = 1;
	init->placed = true;
	ret = fill_task(d, &img->tasks[0], init, level, 0);
	if (ret)
		goto out;
	ret = place_children(d, pi, nr, level);
	/* Orphans (their parent is outside the container) go under the init, as a subreaper's would. */
	for (size_t i = 0; !ret && i < nr; i++) {
		if (pi[i].placed)
			continue;
		pi[i].placed = true;
		img->nr_tasks++;
		ret = fill_task(d, &img->tasks[img->nr_tasks - 1], &pi[i], level,
				img->tasks[0].pid);
		if (!ret)
			ret = place_children(d, pi, nr, level);
	}
	if (!ret)
		ret = collect_sharing(d);
	if (!ret)
		ret = collect_zombies(d, level);
	if (!ret)
		collect_namespaces(img, init->host_pid);
out:
	free(pi);
	return ret;
}
