// SPDX-License-Identifier: MIT
/*
 * restore_container(): rebuild a checkpointed container (doc/DESIGN.md "Restore").
 *
 *   lock -> blob -> cgroup -> files opened in the restorer -> supervisor
 *   starts the init (which waits) -> seize it -> clone3 every other task in
 *   its parent-to-be -> sessions, groups -> per process: address space,
 *   threads, resources, registers -> memory: lazy server or eager fill ->
 *   detach every thread at once.
 *
 * Nothing of the checkpoint is written: the blob and the swap area are only
 * read, so a failed restore can be tried again and a checkpoint restored
 * many times.  On failure every task created is killed and the cgroup
 * removed.
 */
#define LOG_PREFIX "restore: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctswap.h"
#include "container/container.h"
#include "container/lock.h"
#include "container/shape.h"
#include "container/store.h"
#include "container/supervisor.h"
#include "freezer/cgroup.h"
#include "freezer/freezer.h"
#include "image/blob.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mm/lazy.h"
#include "mm/swaparea.h"
#include "restore/rst.h"
#include "task/mounts.h"
#include "task/mqueue.h"
#include "task/sysvipc.h"
#include "task/task.h"

#define RST_PTRACE_OPTS (PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL)
#define RST_KILL_TIMEOUT_MS 5000

/* Everything one restore holds, for the steps and for cleanup. */
struct rst_ctx {
	const struct ctswap_restore_opts *opts;
	const char *store_dir, *name;
	int lock_fd;
	struct ct_image *img;
	struct swp_area *sa;
	struct swp_gen_reader *rd;
	struct ct_cgroup *cg;
	bool cg_created;
	struct file_table ft;		/* transport fds in the restorer */
	bool ft_open;
	struct file_table ft_task;	/* the same files at their numbers in the tasks */
	struct rst_shm_set shm;		/* shared memory objects, passed like the files */
	struct ct_shape shape;		/* namespaces the init is made in (net_fd: its network) */
	struct mnt_plan *mnt_plan;	/* a root of its own: its mount tree (shape.mnt_fd) */
	int root_fd;			/* that tree's root, open; -1 */
	int host_root;			/* our own /, for files outside the container's root; -1 */
	int ipc_fd;			/* its own IPC namespace, made and filled here; -1 */
	int prefetch_gate;		/* closed once every task runs: the lazy server prefetches */
	struct lazy_warm *warm;		/* the working set, read ahead for the lazy server */
	struct rst_pool *pool;		/* threads rebuilding processes at once (par.c); NULL: ours alone */
	struct rst_cpus cpus;		/* where they and their tasks run while injecting */
	struct rst_shared_files shared;	/* mapped files the init opened for every task */
	struct change_cache *seen;	/* changed mapped files read so far (task/changed.c) */
	uint64_t cap_bnd_now;		/* the init's bounding set: every task's until its creds */
	int pts_master;			/* the new master of the pty whose master was outside, for the caller; -1 */
	struct rst_proc *procs;		/* img->nr_tasks, in image order, then the zombies */
	size_t nr_procs;		/* tasks initialised so far */
	struct ct_task *zombie_tasks;	/* what each zombie is created as (img->nr_zombies) */
	size_t nr_zombies;		/* zombies initialised so far, at procs[img->nr_tasks] */
	char swap_path[4096], state_path[4096], log_path[4096], wset_path[4096];
	uint64_t pages_total;
};

/* Read the checkpoint: blob of the generation asked for, and its swap-area generation. */
static int rst_read_checkpoint(struct rst_ctx *c, struct ctswap_store *store)
{
	char dir[4096], path[4096], file[64];
	unsigned gen = c->opts->generation;
	int ret;

	ret = store_path(store, c->name, NULL, dir, sizeof(dir));
	if (ret)
		return ret;
	if (!gen)
		gen = store_newest_ckpt(dir);
	if (!gen)
		return ct_err(-ENOENT, "%s: no checkpoint to restore", c->name);
	snprintf(file, sizeof(file), "ckpt-%u.meta", gen);
	ret = store_path(store, c->name, file, path, sizeof(path));
	if (ret)
		return ret;
	if (access(path, F_OK))
		return ct_err(-ENOENT, "%s: no checkpoint generation %u", c->name, gen);
	ret = blob_read(path, &c->img);
	if (ret)
		return ret;
	if (!c->img->nr_tasks)
		return ct_err(-EINVAL, "%s: checkpoint %u holds no task", c->name, gen);
	store_path(store, c->name, "swap", c->swap_path, sizeof(c->swap_path));
	store_path(store, c->name, "lazy.state", c->state_path, sizeof(c->state_path));
	store_path(store, c->name, "lazy.log", c->log_path, sizeof(c->log_path));
	store_path(store, c->name, "wset", c->wset_path, sizeof(c->wset_path));
	ret = swp_open(c->swap_path, NULL, 0, &c->sa);
	if (ret)
		return ret;
	ret = swp_gen_open(c->sa, c->img->generation, &c->rd);
	if (ret)
		return ct_err(ret, "%s: swap generation %u of checkpoint %u is gone", c->name,
			      c->img->generation, gen);
	return 0;
}

/* The pipes the caller hands over stand in for the dumped pipes of the same inode. */
static void rst_inherit_pipes(struct rst_ctx *c)
{
	for (size_t k = 0; k < c->opts->nr_inherit_pipes; k++) {
		const struct ctswap_inherit_pipe *ip = &c->opts->inherit_pipes[k];

		for (uint32_t i = 0; i < c->img->nr_files; i++) {
			struct ct_file *f = &c->img->files[i];

			if (f->kind != CT_FILE_PIPE || f->id.ino != ip->ino)
				continue;
			f->pipe_inherited = true;
			f->pipe_inherit_fd = ip->fd;
			pr_info("%s: pipe:[%llu] comes from the caller's fd %d", c->name,
				(unsigned long long)ip->ino, ip->fd);
		}
	}
}

/* Without a pid namespace every pid and tid must be free: check before creating anything. */
static int rst_check_pids_free(struct rst_ctx *c)
{
	char path[64];

	if (c->img->own_pidns)
		return 0;
	for (uint32_t i = 0; i < c->img->nr_tasks; i++) {
		const struct ct_task *t = &c->img->tasks[i];

		for (uint32_t k = 0; k < t->nr_threads; k++) {
			snprintf(path, sizeof(path), "/proc/%d", t->threads[k].tid);
			if (!access(path, F_OK))
				return ct_err(-EEXIST, "%s: pid %d (%s) is in use by another process: "
					      "cannot restore without a pid namespace", c->name,
					      t->threads[k].tid, t->comm);
		}
	}
	for (uint32_t i = 0; i < c->img->nr_zombies; i++) {
		snprintf(path, sizeof(path), "/proc/%d", c->img->zombies[i].pid);
		if (!access(path, F_OK))
			return ct_err(-EEXIST, "%s: pid %d (zombie %s) is in use by another process: "
				      "cannot restore without a pid namespace", c->name,
				      c->img->zombies[i].pid, c->img->zombies[i].comm);
	}
	return 0;
}

/*
 * The namespaces the image asks for: UTS with its names, an empty IPC
 * namespace, and the network: a new lo-only one, or the one @opts->net_ns
 * names (which a container that joined one at run needs).
 */
static int rst_shape(struct rst_ctx *c)
{
	const struct ct_shape_rec *s = &c->img->shape;
	struct ct_shape *sh = &c->shape;

	sh->net_fd = -1;
	if (s->flags & CT_SHAPE_OWN_UTS) {
		sh->new_uts = true;
		sh->hostname = s->hostname;
		sh->domainname = s->domainname;
	}
	if (s->flags & CT_SHAPE_OWN_IPC) {
		int ret = shape_new_ipcns(&c->ipc_fd);	/* filled before the init joins it */

		if (ret)
			return ret;
	}
	if (s->net == CT_NET_HOST && c->opts->net_ns)
		return ct_err(-EINVAL, "%s: the container shared the host's network: --net does not apply",
			      c->name);
	if (s->net == CT_NET_EXTERNAL && !c->opts->net_ns)
		return ct_err(-EINVAL, "%s: the container joined a network namespace at run: restore needs --net ns:PATH",
			      c->name);
	if (s->net == CT_NET_HOST)
		return 0;
	sh->net = CTSWAP_NET_NS;	/* the init joins net_fd */
	if (c->opts->net_ns)
		return shape_open_netns(c->opts->net_ns, &sh->net_fd);
	return shape_new_netns(s->flags & CT_SHAPE_LO_UP, &sh->net_fd);
}

/*
 * A root of its own: the mount tree rebuilt on the root directory (the
 * caller's, or the dumped one) in a new mount namespace, which the init
 * joins and the files are opened in.
 */
/* ext_mounts_unused_ok: the caller's external mounts the checkpoint has (into @out). */
static size_t rst_used_ext_mounts(const struct rst_ctx *c, struct ctswap_ext_mount *out)
{
	size_t n = 0;

	for (size_t k = 0; k < c->opts->nr_ext_mounts; k++) {
		const struct ctswap_ext_mount *e = &c->opts->ext_mounts[k];
		bool found = false;

		for (uint32_t i = 0; i < c->img->nr_mounts && !found; i++)
			found = c->img->mounts[i].kind == CT_MNT_EXTERNAL && e->id &&
				!strcmp(c->img->mounts[i].ext_id, e->id);
		if (found)
			out[n++] = *e;
		else
			pr_info("%s: external mount %s: not in the checkpoint, ignored", c->name,
				e->id ? e->id : "?");
	}
	return n;
}

static int rst_mounts(struct rst_ctx *c)
{
	const struct ctswap_ext_mount *ext = c->opts->ext_mounts;
	size_t nr_ext = c->opts->nr_ext_mounts;
	struct ctswap_ext_mount *used = NULL;
	int ret;

	if (!(c->img->shape.flags & CT_SHAPE_OWN_ROOT))
		return 0;
	if (!c->img->own_pidns)
		return ct_err(-EINVAL, "%s: a root filesystem needs a pid namespace", c->name);
	if (c->opts->ext_mounts_unused_ok && nr_ext) {
		used = xmalloc(nr_ext * sizeof(*used));
		if (!used)
			return -ENOMEM;
		nr_ext = rst_used_ext_mounts(c, used);
		ext = used;
	}
	ret = mnt_plan_make(c->img, c->name, c->opts->root, ext, nr_ext, &c->mnt_plan);
	free(used);
	if (!ret)
		ret = mnt_plan_pidns(c->mnt_plan);
	if (!ret)
		ret = mnt_build(c->mnt_plan, c->shape.net_fd, c->ipc_fd, &c->shape.mnt_fd, &c->root_fd);
	if (ret)
		return ret;
	c->shape.mnt_plan = c->mnt_plan;
	c->host_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return c->host_root < 0 ? ct_err(-errno, "/: %m") : 0;
}

/* Close what rst_mounts() opened (the plan stays: the image's view of it). */
static void rst_mounts_close(struct rst_ctx *c)
{
	if (c->shape.mnt_plan)
		close(c->shape.mnt_fd);
	c->shape.mnt_plan = NULL;
	if (c->root_fd >= 0)
		close(c->root_fd);
	if (c->host_root >= 0)
		close(c->host_root);
	c->root_fd = c->host_root = -1;
}

/* Open the image's files and shared memory objects (in the container's network: sockets). */
static int rst_open_files(void *arg)
{
	struct rst_ctx *c = arg;
	struct shm_fds sf = { .fd_of = rst_shm_fd, .arg = &c->shm };
	int ret;

	if (c->root_fd >= 0)	/* we run in the rebuilt tree: its files are new inodes */
		mounts_rekey(c->img);
	/* shared memory first: memfd descriptions are opened from its objects */
	ret = rst_shm_open(&c->shm, c->img, c->rd);

	if (ret)
		return ret;
	ret = restore_files_open_shm(c->img, c->opts->allow_changed_files, &sf, &c->ft, c->host_root);
	c->ft_open = !ret;
	return ret;
}

/*
 * In the container's new IPC namespace (and its network, if it has one):
 * its SysV objects and POSIX queues first, then the files and shared
 * memory, so SysV segments and mqueue descriptors are made in it.
 */
static int rst_open_files_ipc(void *arg)
{
	struct rst_ctx *c = arg;

	if (c->shape.net_fd >= 0 && setns(c->shape.net_fd, CLONE_NEWNET) < 0)
		return ct_err(-errno, "cannot join the container's network namespace: %m");
	return sysvipc_restore(c->img) ?: mqueue_restore(c->img) ?: rst_open_files(c) ?:
	       sysvipc_restore_limits(c->img);
}

/* In the container's IPC namespace (@arg: the shared memory set). */
static int rst_ipc_remove(void *arg)
{
	return rst_shm_sysv_remove(arg);
}

/* Once every task has attached its SysV segments: those removed at the dump are marked again. */
static int rst_ipc_finish(struct rst_ctx *c)
{
	if (c->ipc_fd < 0 || !rst_shm_sysv_dest(&c->shm))
		return 0;
	return shape_in_ns(c->ipc_fd, CLONE_NEWIPC, rst_ipc_remove, &c->shm);
}

/* Open the files, in the namespaces they belong to. */
static int rst_open_all(struct rst_ctx *c)
{
	/* in a root of its own: from a thread chrooted into the rebuilt tree */
	if (c->root_fd >= 0 && c->ipc_fd >= 0)
		return shape_in_root(c->root_fd, c->ipc_fd, CLONE_NEWIPC, rst_open_files_ipc, c);
	if (c->root_fd >= 0)
		return shape_in_root(c->root_fd, c->shape.net_fd, CLONE_NEWNET, rst_open_files, c);
	if (c->ipc_fd >= 0)
		return shape_in_ns(c->ipc_fd, CLONE_NEWIPC, rst_open_files_ipc, c);
	if (c->shape.net_fd >= 0)
		return shape_in_ns(c->shape.net_fd, CLONE_NEWNET, rst_open_files, c);
	return rst_open_files(c);
}

/* The cgroup: new, or the empty one a dump left behind. */
static int rst_cgroup_get(struct rst_ctx *c)
{
	bool frozen = false;
	pid_t *pids = NULL;
	size_t nr = 0;
	int ret;

	bool external = ct_cg_external(c->store_dir, c->name);

	if (!external) {
		ret = cg_create(c->name, &c->cg);
		if (ret != -EEXIST) {
			c->cg_created = !ret;
			return ret;
		}
		ct_err_clear();
	}
	/* an attached container: the runtime's groups, made for this restore */
	ret = ct_cg_open(c->store_dir, c->name, &c->cg);
	if (ret)
		return ret;
	ret = cg_procs(c->cg, &pids, &nr);
	free(pids);
	if (ret)
		return ret;
	if (nr)
		return ct_err(-EBUSY, "%s: the container is running (%zu processes)", c->name, nr);
	/*
	 * A runtime's group is never ours to remove.  Our own is made again if
	 * it can be: the init is then born in it (supervisor.c), where this
	 * kernel kills what is cloned into a group once emptied by cgroup.kill,
	 * and migrating it instead costs an RCU grace period.
	 */
	if (!external && !cg_destroy(c->cg)) {
		cg_close(c->cg);
		c->cg = NULL;
		ret = cg_create(c->name, &c->cg);
		c->cg_created = !ret;
		return ret;
	}
	ct_err_clear();
	c->cg_created = !external;	/* ours to remove on failure */
	/* the lazy watchdog freezes before it kills: a reused cgroup may be frozen */
	if (freezer_state(c->cg, &frozen) == 0 && frozen) {
		pr_warn("%s: its empty cgroup was left frozen: thawing it", c->name);
		ret = freezer_thaw(c->cg);
	}
	return ret;
}

static int rst_subgroups_make(struct rst_ctx *c);
static struct rst_proc *rst_find(struct rst_ctx *c, pid_t pid);

/* The cgroup: new, or the empty one a dump left behind; then its limits and the groups below. */
static int rst_cgroup(struct rst_ctx *c)
{
	const struct ct_shape_rec *s = &c->img->shape;
	struct ctswap_limits lim = { .memory = s->limit_memory, .pids = s->limit_pids,
				     .cpu_millis = s->limit_cpu_millis };

	return rst_cgroup_get(c) ?: cg_set_limits(c->cg, &lim) ?: rst_subgroups_make(c);
}

/* The directory of group @g below the container's. */
static int rst_subgroup_dir(struct rst_ctx *c, const struct ct_cgroup_rec *g, char *out, size_t size)
{
	char top[4096];
	int ret = cg_hier_dir(c->cg, (int)g->hier, top, sizeof(top));

	if (ret)
		return ct_err(ret, "%s: cgroup %s: the container has no group in its hierarchy",
			      c->name, g->path);
	snprintf(out, size, "%s/%s", top, g->path);
	return 0;
}

/* The cgroups the container had made below its own, parents first, with their limits. */
static int rst_subgroups_make(struct rst_ctx *c)
{
	char dir[8192];
	int ret = 0;

	for (uint32_t i = 0; i < c->img->nr_cgroups && !ret; i++) {
		const struct ct_cgroup_rec *g = &c->img->cgroups[i];
		struct ctswap_limits lim = { .memory = g->limit_memory, .pids = g->limit_pids,
					     .cpu_millis = g->limit_cpu_millis };

		ret = rst_subgroup_dir(c, g, dir, sizeof(dir));
		if (!ret && mkdir(dir, 0755) < 0 && errno != EEXIST)	/* a dump leaves them */
			ret = ct_err(-errno, "%s: cannot make cgroup %s: %m", c->name, dir);
		if (!ret)
			ret = cg_dir_set_limits((int)g->hier, dir, &lim);
	}
	return ret;
}

/* Once the tasks exist: each into the groups below the container's it was in. */
static int rst_subgroups_join(struct rst_ctx *c)
{
	char dir[8192];
	int ret = 0;

	for (uint32_t i = 0; i < c->img->nr_cgroups && !ret; i++) {
		const struct ct_cgroup_rec *g = &c->img->cgroups[i];

		ret = rst_subgroup_dir(c, g, dir, sizeof(dir));
		for (uint32_t k = 0; k < g->nr_members && !ret; k++) {
			const struct rst_proc *p = rst_find(c, g->members[k]);

			ret = p ? cg_dir_move(dir, p->host_pid) :
				  ct_err(-EINVAL, "%s: cgroup %s: pid %d is no task", c->name, g->path,
					 g->members[k]);
		}
	}
	return ret;
}

/*
 * The transport fds (restore_files_open) reach the init through an abstract
 * unix socket: the supervisor closes what it inherits, so the init fetches
 * them before it reports ready.  It puts them above every fd the restorer
 * has (so above the image's fds and the supervisor's few), and the tasks
 * get their fds from those numbers (rst_ctx.ft_task).
 */
struct rst_fd_pass {
	struct sockaddr_un addr;
	socklen_t addr_len;
	int listen_fd;
	int *fds;		/* fd numbers to hand over */
	int nr;
	int base;		/* fds[k] becomes base + k in the init */
	int net_fd;		/* the container's network namespace, joined after the pass; -1 */
	int ipc_fd;		/* the init's number of its IPC namespace (passed last), joined; -1 */
	int sock;		/* the connection, held until the init is seized (rst_init_fn); -1 */
	int result;		/* the sending thread's */
	pthread_t thread;
	bool started;
};

/* The highest fd open in this process. */
static int highest_open_fd(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int best = 2;

	if (!d)
		return 1023;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) > best)
			best = atoi(de->d_name);
	closedir(d);
	return best;
}

/* The init-side number of restorer fd @fd, -1 stays -1. */
static int rst_fd_pass_map(const struct rst_fd_pass *fp, int fd)
{
	for (int k = 0; k < fp->nr && fd >= 0; k++)
		if (fp->fds[k] == fd)
			return fp->base + k;
	return -1;
}

/*
 * List the transport fds of @ft and of the shared memory objects, and make
 * @task_ft, the same file table with init-side numbers (and each object's
 * task_fd).
 */
static int rst_fd_pass_list(struct rst_fd_pass *fp, const struct file_table *ft,
			    struct file_table *task_ft, struct rst_shm_set *shm, int ipc_fd)
{
	fp->fds = xzalloc(sizeof(int) * (2 * ft->nr + shm->nr + 2));
	task_ft->fds = xzalloc(sizeof(int) * (ft->nr + 1));
	task_ft->peer_fds = xzalloc(sizeof(int) * (ft->nr + 1));
	if (!fp->fds || !task_ft->fds || !task_ft->peer_fds)
		return -ENOMEM;
	for (uint32_t i = 0; i < ft->nr; i++) {
		if (ft->fds[i] >= 0)
			fp->fds[fp->nr++] = ft->fds[i];
		if (ft->peer_fds[i] >= 0)
			fp->fds[fp->nr++] = ft->peer_fds[i];
	}
	for (size_t i = 0; i < shm->nr; i++)
		fp->fds[fp->nr++] = shm->objs[i].fd;
	if (ipc_fd >= 0)
		fp->fds[fp->nr++] = ipc_fd;
	fp->base = highest_open_fd() + 16;
	fp->ipc_fd = rst_fd_pass_map(fp, ipc_fd);
	for (size_t i = 0; i < shm->nr; i++)
		shm->objs[i].task_fd = rst_fd_pass_map(fp, shm->objs[i].fd);
	task_ft->nr = ft->nr;
	task_ft->files = ft->files;
	for (uint32_t i = 0; i < ft->nr; i++) {
		task_ft->fds[i] = rst_fd_pass_map(fp, ft->fds[i]);
		task_ft->peer_fds[i] = rst_fd_pass_map(fp, ft->peer_fds[i]);
	}
	task_ft->lowest = fp->nr ? fp->base : -1;
	task_ft->highest = fp->nr ? fp->base + fp->nr - 1 : -1;
	return 0;
}

/* Listen on a fresh abstract address. */
static int rst_fd_pass_listen(struct rst_fd_pass *fp)
{
	int len;

	fp->addr.sun_family = AF_UNIX;
	len = snprintf(fp->addr.sun_path + 1, sizeof(fp->addr.sun_path) - 1,
		       "ctswap-restore-%d-%.0f", getpid(), now_ms() * 1000);
	fp->addr_len = offsetof(struct sockaddr_un, sun_path) + 1 + len;
	fp->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fp->listen_fd < 0)
		return ct_err(-errno, "restore: socket: %m");
	if (bind(fp->listen_fd, (struct sockaddr *)&fp->addr, fp->addr_len) < 0 ||
	    listen(fp->listen_fd, 1) < 0)
		return ct_err(-errno, "restore: cannot listen for the init: %m");
	return 0;
}

#define RST_FDS_PER_MSG 200

/* Send @nr fds in one message (with their count as payload). */
static int rst_send_fds(int sock, const int *fds, int nr)
{
	char cbuf[CMSG_SPACE(sizeof(int) * RST_FDS_PER_MSG)] = { 0 };
	struct iovec iov = { &nr, sizeof(nr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nr) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nr);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nr);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* The restorer's side: accept the init and send every fd, a batch at a time. */
static void *rst_fd_pass_thread(void *arg)
{
	struct rst_fd_pass *fp = arg;
	int sock = accept4(fp->listen_fd, NULL, NULL, SOCK_CLOEXEC), ret = 0;

	if (sock < 0) {
		fp->result = -errno;
		return NULL;
	}
	for (int at = 0; at < fp->nr && !ret; at += RST_FDS_PER_MSG)
		ret = rst_send_fds(sock, fp->fds + at, min_t(int, RST_FDS_PER_MSG, fp->nr - at));
	if (!ret)
		ret = rst_send_fds(sock, NULL, 0);	/* end */
	fp->sock = sock;	/* closed once the init is seized */
	fp->result = ret;
	return NULL;
}

/* In the init: receive the fds and put each at its number (raw calls only); *@sockp: the connection. */
static int rst_fd_pass_receive(struct rst_fd_pass *fp, int *sockp)
{
	char cbuf[CMSG_SPACE(sizeof(int) * RST_FDS_PER_MSG)];
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), at = 0;

	if (sock < 0 || connect(sock, (struct sockaddr *)&fp->addr, fp->addr_len) < 0)
		return -errno;
	for (;;) {
		struct iovec iov;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		int nr = 0;

		iov.iov_base = &nr;
		iov.iov_len = sizeof(nr);
		if (recvmsg(sock, &mh, MSG_WAITALL) != sizeof(nr))
			return -EPIPE;
		if (!nr)
			break;
		cm = CMSG_FIRSTHDR(&mh);
		if (!cm || cm->cmsg_type != SCM_RIGHTS || at + nr > fp->nr)
			return -EPROTO;
		for (int i = 0; i < nr; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got != fp->base + at + i) {
				if (dup2(got, fp->base + at + i) < 0)
					return -errno;
				close(got);
			}
		}
		at += nr;
	}
	*sockp = sock;
	return 0;
}

/*
 * The init fetches the fds, then waits to be taken over and rebuilt from
 * outside: reading its connection to the restorer, which holds the other
 * end until it has seized the init.  Should the restorer die before (a
 * kill -9 while the supervisor reports), the read ends and the init exits,
 * where it used to wait in pause() for ever, untraced: a container that
 * ran nothing.
 */
static int rst_init_fn(void *arg)
{
	struct rst_fd_pass *fp = arg;
	int sock = -1, ret = rst_fd_pass_receive(fp, &sock);
	char c;

	if (ret)
		return ct_err(ret, "restore: init cannot receive the files: %s", strerror(-ret));
	/* after the pass: the restorer's abstract socket is in the network it left */
	if (fp->net_fd >= 0 && setns(fp->net_fd, CLONE_NEWNET) < 0)
		return ct_err(-errno, "restore: init cannot join the container's network: %m");
	/* the IPC namespace the restorer filled: before any task is made in it */
	if (fp->ipc_fd >= 0 && setns(fp->ipc_fd, CLONE_NEWIPC) < 0)
		return ct_err(-errno, "restore: init cannot join the container's IPC namespace: %m");
	if (fp->ipc_fd >= 0)
		close(fp->ipc_fd);
	supervisor_init_ready();
	while (read(sock, &c, 1) < 0 && errno == EINTR)
		;
	return 0;	/* the restorer is gone: exit */
}

/* restore --time-ns: offsets that continue the dumped clocks from now. */
static void rst_time_offsets(const struct rst_ctx *c, struct ct_shape *shape)
{
	struct timespec mono, boot;

	if (!c->opts->time_ns)
		return;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	shape->new_time = true;
	shape->mono_off_ns = c->img->shape.mono_ns - (mono.tv_sec * 1000000000LL + mono.tv_nsec);
	shape->boot_off_ns = c->img->shape.boot_ns - (boot.tv_sec * 1000000000LL + boot.tv_nsec);
}

/* Start the init under the supervisor and seize it. */
static int rst_start_init(struct rst_ctx *c)
{
	const struct ct_task *t = &c->img->tasks[0];
	struct rst_proc *p = &c->procs[0];
	struct ct_shape shape = c->shape;	/* the network is joined by rst_init_fn */
	char console[4096];
	struct supervisor_opts so = {
		.store_dir = c->store_dir, .name = c->name, .cg = c->cg,
		.new_pidns = c->img->own_pidns,
		.set_tid = c->img->own_pidns ? 0 : t->pid,
		.shape = &shape,
		.init_fn = rst_init_fn,
		.tty = c->ft.tty_master >= 0,	/* the console: the supervisor serves the new pty */
		.tty_master = c->ft.tty_master,
		.sibling = c->opts->sibling,
	};
	pid_t pid;
	int ret;

	struct rst_fd_pass fp = { .listen_fd = -1, .net_fd = c->shape.net_fd, .ipc_fd = -1, .sock = -1 };

	shape.net = CTSWAP_NET_HOST;	/* net_fd stays open in the init for rst_init_fn */
	shape.devpts_fd = c->ft.devpts;	/* the ptys' devpts instance, made with them (task/pty.c) */

	snprintf(console, sizeof(console), "%s/%s/console.log", c->store_dir, c->name);
	so.console_path = console;
	so.arg = &fp;
	if (c->img->own_pidns && t->pid != 1)
		return ct_err(-EINVAL, "%s: the init of a pid namespace has pid %d in the image",
			      c->name, t->pid);
	ret = rst_fd_pass_list(&fp, &c->ft, &c->ft_task, &c->shm, c->ipc_fd);
	if (!ret)
		ret = rst_fd_pass_listen(&fp);
	if (!ret) {
		ret = -pthread_create(&fp.thread, NULL, rst_fd_pass_thread, &fp);
		fp.started = !ret;
	}
	if (!ret)
		rst_time_offsets(c, &shape);
	if (!ret)
		ret = supervisor_start(&so, &pid);
	if (fp.started) {
		if (ret)	/* wake the thread if the init never connected */
			shutdown(fp.listen_fd, SHUT_RDWR);
		pthread_join(fp.thread, NULL);
		if (!ret && fp.result)
			ret = ct_err(fp.result, "%s: cannot pass the files to the init: %s", c->name,
				     strerror(-fp.result));
	}
	if (fp.listen_fd >= 0)
		close(fp.listen_fd);
	free(fp.fds);
	if (!ret)
		fault_stop("restore-stop", "init-ready");
	if (!ret) {
		p->host_pid = pid;
		p->threads[0].host_tid = pid;
		/* inherited by every task and thread it makes: our calls pass their filters */
		ret = rst_seize(pid, RST_PTRACE_OPTS | (c->img->nr_seccomp ? PTRACE_O_SUSPEND_SECCOMP : 0));
	}
	/* seized (PTRACE_O_EXITKILL from now on), or failed: the init may stop waiting */
	if (fp.sock >= 0)
		close(fp.sock);
	if (ret)
		return ret;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd < 0)
		return ct_err(-errno, "pid %d: pidfd_open: %m", t->pid);
	return 0;
}

/* The restore process of the image's task with in-container pid @pid. */
static struct rst_proc *rst_find(struct rst_ctx *c, pid_t pid)
{
	for (size_t i = 0; i < c->nr_procs; i++)
		if (c->procs[i].t->pid == pid)
			return &c->procs[i];
	return NULL;
}

static struct task_ctx rst_tc(struct rst_proc *p, uint32_t i);

/* A new session leader gets the console back as controlling terminal, before it forks. */
static int rst_tree_ctty(struct rst_ctx *c, struct rst_proc *p)
{
	struct task_ctx tc = rst_tc(p, 0);

	return tty_restore_ctty(&tc, c->img, p->t, &c->ft_task);
}

/* Every group exists: the console's foreground group is put in front. */
static int rst_tree_tty_fg(struct rst_ctx *c)
{
	int ret = 0;

	for (size_t i = 0; i < c->nr_procs && !ret; i++) {
		struct task_ctx tc = rst_tc(&c->procs[i], 0);

		ret = tty_restore_fg(&tc, c->img, c->procs[i].t, &c->ft_task);
	}
	return ret;
}

/* The zombie procs: after the tasks in c->procs. */
static struct rst_proc *rst_zombie(struct rst_ctx *c, size_t i)
{
	return &c->procs[c->img->nr_tasks + i];
}

/* Create each zombie-to-be in its parent, in its own session if it led one (still alive). */
static int rst_create_zombies(struct rst_ctx *c)
{
	int ret = 0;

	for (size_t i = 0; i < c->nr_zombies && !ret; i++) {
		struct rst_proc *z = rst_zombie(c, i), *parent = rst_find(c, z->t->ppid);

		if (!parent)
			return ct_err(-EINVAL, "zombie %d: parent %d is not in the image", z->t->pid,
				      z->t->ppid);
		ret = rst_tree_fork(parent, z) ?: rst_zombie_begin(z, parent) ?: rst_tree_setsid(z);
	}
	return ret;
}

/* Every group exists: each zombie-to-be exits as the dumped one did. */
static int rst_finish_zombies(struct rst_ctx *c)
{
	int ret = 0;

	for (size_t i = 0; i < c->nr_zombies && !ret; i++) {
		struct rst_proc *z = rst_zombie(c, i);

		ret = rst_zombie_exit(z, rst_find(c, z->t->ppid), c->img->zombies[i].status);
	}
	return ret;
}

/* What the rebuild of every address space needs. */
static struct rst_mm_opts rst_mm_opts_of(struct rst_ctx *c, const struct page_source *pages)
{
	return (struct rst_mm_opts){
		.allow_changed_files = c->opts->allow_changed_files, .pages = pages,
		.shm = &c->shm, .img = c->img, .ft = &c->ft_task, .seen = c->seen,
		.shared = &c->shared,
	};
}

/* The files several processes map: opened by the init before it forks (mm.c). */
static int rst_share_files(struct rst_ctx *c)
{
	struct rst_mm_opts mo;

	c->seen = change_cache_new();
	if (!c->seen)
		return -ENOMEM;
	mo = rst_mm_opts_of(c, NULL);
	return rst_mm_share_files(&c->procs[0], c->procs, c->nr_procs, &mo, &c->shared);
}

/* Create every task: init, then each other one in its parent (image order), then the zombies. */
static int rst_build_tree(struct rst_ctx *c)
{
	int ret;

	ret = rst_start_init(c);
	if (!ret)
		rst_cpu_begin(&c->cpus, c->procs[0].host_pid);
	if (!ret)
		ret = rst_mm_begin(&c->procs[0], NULL) ?: rst_mm_clear(&c->procs[0]) ?:
		      rst_share_files(c);
	if (!ret)
		ret = rst_tree_setsid(&c->procs[0]);
	if (!ret)
		ret = rst_tree_ctty(c, &c->procs[0]);
	for (size_t i = 1; i < c->nr_procs && !ret; i++) {
		struct rst_proc *p = &c->procs[i], *parent = rst_find(c, p->t->ppid);

		if (!parent || parent >= p || !parent->host_pid) {
			pr_warn("pid %d: parent %d is not in the image; created by the init",
				p->t->pid, p->t->ppid);
			parent = &c->procs[0];
		}
		ret = rst_tree_fork(parent, p);
		if (!ret)
			ret = rst_mm_begin(p, parent);
		if (!ret)
			ret = rst_tree_setsid(p);
		if (!ret)
			ret = rst_tree_ctty(c, p);
	}
	if (!ret)
		ret = rst_create_zombies(c);
	/* a zombie may lead a group live tasks are in: it joins before it dies */
	if (!ret)
		ret = rst_tree_sessions(c->procs, c->nr_procs + c->nr_zombies);
	if (!ret)
		ret = rst_finish_zombies(c);
	if (!ret)
		ret = rst_tree_tty_fg(c);
	return ret;
}

/* A task.h context on thread @i of @p. */
static struct task_ctx rst_tc(struct rst_proc *p, uint32_t i)
{
	struct task_ctx tc = {
		.inj = &p->threads[i].inj, .host_pid = p->host_pid,
		.scratch = p->scratch, .scratch_len = p->scratch_len, .batch = &p->batch,
		.cap_bnd_now = p->cap_bnd_now,
	};

	return tc;
}

/*
 * Can the leader of @p take its fds, settings, signals and credentials in
 * one injected batch?  When nothing between them needs a result first: no
 * fd kind finishing with its fds in place, no POSIX timers, no removed cwd,
 * no pending signals to queue again, no seccomp filter (installed before
 * the credentials).  Its other threads then follow, one batch each: what
 * they set is their own, which the leader's new credentials do not forbid.
 */
static bool rst_resources_one_batch(struct rst_ctx *c, const struct rst_proc *p)
{
	const struct ct_task *t = p->t;
	/* its fds' dup3 and close_range, and the rest: 64 actions, 141 credential calls at most... */
	size_t calls = 2 * (size_t)t->nr_fds + 256;
	size_t data = sizeof(t->sigactions) + sizeof(t->rlimits) + t->creds.nr_groups * sizeof(uint32_t) +
		      PAGE_SIZE;

	/* ...all in the table (a process with many fds takes them in batches of their own) */
	if (calls > p->batch.max || data > p->batch.data_len)
		return false;
	for (uint32_t i = 0; i < t->nr_threads; i++)
		if (t->threads[i].nr_pending)
			return false;
	return ((t->share_parent & CT_SHARE_FILES) || restore_task_files_queueable(t, &c->ft_task)) &&
	       !t->nr_timers && !deleted_cwd_of(c->img, t) && !t->nr_shared_pending &&
	       !seccomp_task_filtered(t);
}

/*
 * The leader's resources in task.h order, in one round trip: each module
 * queues its calls, the batch runs once, then each checks its own results
 * in the same order (the first failure is the one named).  Its rseq area
 * is registered last, where restore_thread_regs would have.
 */
static int rst_resources_leader(struct rst_ctx *c, struct rst_proc *p)
{
	const struct ct_task *t = p->t;
	struct task_ctx tc = rst_tc(p, 0);
	size_t at[7];
	int ret = 0, run;

	inj_batch_reset(&p->batch);
	at[0] = p->batch.nr;
	if (!(t->share_parent & CT_SHARE_FILES))
		ret = restore_task_files_queue(&tc, t, &c->ft_task);
	at[1] = p->batch.nr;
	ret = ret ?: restore_task_misc_queue(&tc, t);
	at[2] = p->batch.nr;
	ret = ret ?: restore_task_signals_queue(&tc, t);
	at[3] = p->batch.nr;
	ret = ret ?: restore_thread_signals_queue(&tc, &t->threads[0]);
	at[4] = p->batch.nr;
	ret = ret ?: restore_thread_misc_queue(&tc, &t->threads[0]);
	at[5] = p->batch.nr;
	ret = ret ?: restore_task_creds_queue(&tc, t);
	at[6] = p->batch.nr;
	ret = ret ?: restore_thread_rseq_queue(&tc, &t->threads[0]);
	if (ret)
		return ret;
	run = inj_batch_run(&p->batch, tc.inj);
	if (run && p->batch.failed >= p->batch.nr)
		return run;
	ret = restore_task_files_check(&tc, t, at[0], at[1]) ?:
	      restore_task_misc_check(&tc, t, at[1], at[2]) ?:
	      restore_task_signals_check(&tc, t, at[2], at[3]) ?:
	      restore_thread_signals_check(&tc, &t->threads[0], at[3], at[4]) ?:
	      restore_thread_misc_check(&tc, at[4], at[5]) ?:
	      restore_task_creds_check(&tc, at[5], at[6]) ?:
	      restore_thread_rseq_check(&tc, &t->threads[0], at[6], p->batch.nr);
	return ret ?: run;
}

/* Thread @i of @p (not the leader): signals, settings, credentials and rseq in one round trip. */
static int rst_resources_thread(struct rst_proc *p, uint32_t i)
{
	const struct ct_thread *th = &p->t->threads[i];
	struct task_ctx tc = rst_tc(p, i);
	size_t at[3];
	int ret, run;

	inj_batch_reset(&p->batch);
	ret = restore_thread_signals_queue(&tc, th);
	at[0] = p->batch.nr;
	ret = ret ?: restore_thread_misc_queue(&tc, th);
	at[1] = p->batch.nr;
	ret = ret ?: restore_task_creds_queue(&tc, p->t);
	at[2] = p->batch.nr;
	ret = ret ?: restore_thread_rseq_queue(&tc, th);
	if (ret)
		return ret;
	run = inj_batch_run(&p->batch, tc.inj);
	if (run && p->batch.failed >= p->batch.nr)
		return run;
	ret = restore_thread_signals_check(&tc, th, 0, at[0]) ?:
	      restore_thread_misc_check(&tc, at[0], at[1]) ?:
	      restore_task_creds_check(&tc, at[1], at[2]) ?:
	      restore_thread_rseq_check(&tc, th, at[2], p->batch.nr);
	return ret ?: run;
}

/* Resources of @p in task.h order, then the registers of every thread. */
static int rst_resources(struct rst_ctx *c, struct rst_proc *p)
{
	const struct ct_task *t = p->t;
	struct task_ctx tc = rst_tc(p, 0);
	int ret = 0;

	for (uint32_t i = 0; i < t->nr_threads; i++)	/* the mask until resources set it */
		p->threads[i].inj.saved_sigmask = t->threads[i].blocked;
	if (rst_resources_one_batch(c, p)) {
		ret = rst_resources_leader(c, p);
		for (uint32_t i = 1; i < t->nr_threads && !ret; i++)
			ret = rst_resources_thread(p, i);
		goto regs;
	}
	/* a table shared with the parent was restored with the parent's fds (same table, same fds) */
	if (!(t->share_parent & CT_SHARE_FILES))
		ret = restore_task_files(&tc, t, &c->ft_task);
	if (!ret)
		ret = restore_task_misc(&tc, t) ?: restore_deleted_cwd(&tc, c->img, t);
	if (!ret)
		ret = restore_task_signals(&tc, t);
	for (uint32_t i = 0; i < t->nr_threads && !ret; i++) {
		struct task_ctx ttc = rst_tc(p, i);

		ret = restore_thread_signals(&ttc, &t->threads[i]);
		if (!ret)
			ret = restore_thread_misc(&ttc, &t->threads[i]);
	}
	/* filters before creds: while not no_new_privs, installing needs CAP_SYS_ADMIN */
	for (uint32_t i = 0; i < t->nr_threads && !ret; i++) {
		struct task_ctx ttc = rst_tc(p, i);

		ret = restore_thread_seccomp(&ttc, c->img, t, i);
	}
	/* credentials are per thread, and last: they may drop what the others need */
	for (uint32_t i = 0; i < t->nr_threads && !ret; i++) {
		struct task_ctx ttc = rst_tc(p, i);

		ret = restore_task_creds(&ttc, t);
	}
regs:
	for (uint32_t i = 0; i < t->nr_threads && !ret; i++) {
		struct task_ctx ttc = rst_tc(p, i);

		ret = restore_thread_regs(&ttc, &t->threads[i]);
	}
	return ret;
}

/* What each step of the rebuild needs (rst_pool_each's argument). */
struct rst_build {
	struct rst_ctx *c;
	struct page_source pages;
	struct rst_mm_opts mo;
};

static int rst_step_mm(void *arg, struct rst_proc *p)
{
	struct rst_build *b = arg;

	return rst_mm_rebuild(p, &b->mo) ?: rst_threads_create(p);
}

/* The kernel writes the rseq areas when they are registered: they must be there. */
static int rst_step_rseq_pages(void *arg, struct rst_proc *p)
{
	struct rst_build *b = arg;
	int ret = 0;

	for (uint32_t k = 0; k < p->t->nr_threads && !ret; k++)
		ret = rst_mm_populate(p, &b->pages, p->t->threads[k].rseq_abi, p->t->threads[k].rseq_len);
	return ret;
}

static int rst_step_resources(void *arg, struct rst_proc *p)
{
	struct rst_build *b = arg;

	return rst_resources(b->c, p);
}

/* Every fd of every process in place: closing one no longer drops a POSIX lock taken now. */
static int rst_step_locks(void *arg, struct rst_proc *p)
{
	struct rst_build *b = arg;
	struct task_ctx tc = rst_tc(p, 0);

	return restore_task_locks(&tc, b->c->img, p->t);
}

static int rst_step_mm_end(void *arg, struct rst_proc *p)
{
	(void)arg;
	return rst_mm_end(p);
}

/*
 * Rebuild every process: memory, threads, resources, registers.  Each step
 * is done for every process before the next starts; the processes of one
 * step are rebuilt at once by the pool's threads.
 */
static int rst_build_processes(struct rst_ctx *c)
{
	static rst_each_fn *const steps[] = {
		rst_step_mm, rst_step_rseq_pages, rst_step_resources, rst_step_locks, rst_step_mm_end,
	};
	struct rst_build b = { .c = c, .pages = swp_page_source(c->rd) };
	long opts = RST_PTRACE_OPTS | (c->img->nr_seccomp ? PTRACE_O_SUSPEND_SECCOMP : 0);
	int ret;

	b.mo = rst_mm_opts_of(c, &b.pages);
	/* every task was forked from the init before any credentials changed */
	ret = creds_bounding_of(c->procs[0].host_pid, &c->cap_bnd_now);
	for (size_t i = 0; i < c->nr_procs && !ret; i++)
		c->procs[i].cap_bnd_now = &c->cap_bnd_now;
	ret = ret ?: rst_pool_start(&c->pool, c->procs, c->nr_procs, opts, &c->cpus, c->opts->threads);

	for (size_t i = 0; i < ARRAY_SIZE(steps) && !ret; i++)
		ret = rst_pool_each(c->pool, c->nr_procs, c->procs, steps[i], &b);
	for (size_t i = 0; i < c->nr_procs; i++)
		c->pages_total += c->procs[i].uffd_pages;
	return ret;
}

/* Memory contents: start the lazy server with every uffd, or fill all now. */
static int rst_memory(struct rst_ctx *c)
{
	struct lazy_opts lo = {
		.swap_path = c->swap_path, .generation = c->img->generation,
		.state_path = c->state_path, .log_path = c->log_path, .wset_path = c->wset_path,
		.cgroup = c->cg, .eager = c->opts->eager,
		.prefetch_gate = &c->prefetch_gate, .reader = c->rd, .warm = c->warm,
		.wset_fill = c->opts->fill_working_set,
	};
	struct lazy_mm *mms;
	size_t nr = 0;
	pid_t server = 0;
	int ret;

	mms = xzalloc(sizeof(*mms) * c->nr_procs);
	if (!mms)
		return -ENOMEM;
	for (size_t i = 0; i < c->nr_procs; i++) {
		struct rst_proc *p = &c->procs[i];

		if (p->uffd < 0)
			continue;
		mms[nr].uffd = p->uffd;
		mms[nr].host_pid = p->host_pid;
		mms[nr].task_key = (uint32_t)p->t->pid;
		mms[nr].nr_regions = p->nr_regions;
		mms[nr].regions = p->regions;
		nr++;
		p->uffd = -1;	/* lazy_start owns it now */
	}
	if (nr)
		ret = lazy_start(&lo, mms, nr, &server);
	else
		ret = 0;
	for (size_t i = 0; i < nr; i++)
		if (mms[i].uffd >= 0)
			close(mms[i].uffd);
	free(mms);
	if (!ret && server)
		pr_info("lazy server %d serves %lu pages", server, (unsigned long)c->pages_total);
	return ret;
}

static int rst_step_lock(void *arg, struct rst_proc *p)
{
	(void)arg;
	return rst_mm_lock(p);
}

/* Each thread's own registers, mask and CPUs (@arg: the rst_cpus) back. */
static int rst_step_regs(void *arg, struct rst_proc *p)
{
	int ret = 0;

	for (uint32_t k = 0; k < p->t->nr_threads && !ret; k++)
		ret = rst_cpu_unpin(arg, p->threads[k].host_tid) ?: inj_end(&p->threads[k].inj);
	return ret;
}

static int rst_step_detach(void *arg, struct rst_proc *p)
{
	(void)arg;
	for (uint32_t k = 0; k < p->t->nr_threads; k++)
		if (ptrace(PTRACE_DETACH, p->threads[k].host_tid, NULL, NULL) < 0)
			pr_warn("tid %d: detach: %m", p->threads[k].host_tid);
	return 0;
}

/* Put back every thread's registers and let them all go. */
static int rst_resume(struct rst_ctx *c)
{
	return rst_pool_each(c->pool, c->nr_procs, c->procs, rst_step_regs, &c->cpus) ?:
	       rst_pool_each(c->pool, c->nr_procs, c->procs, rst_step_detach, NULL);
}

/* Is @pid one of the non-leader threads we created? */
static bool rst_is_thread(const struct rst_ctx *c, pid_t pid)
{
	for (size_t i = 0; i < c->nr_procs; i++)
		for (uint32_t k = 1; k < c->procs[i].t->nr_threads; k++)
			if (c->procs[i].threads[k].host_tid == pid)
				return true;
	return false;
}

/*
 * Reap every killed non-leader thread (ours to reap: we trace them), in
 * the order they die, before their leaders.  Not in tid order: the last
 * thread of a dying pid-namespace init waits until every other task of
 * its namespace is reaped, its sibling threads too, so waiting for it
 * while a sibling sat a zombie deadlocked (found by 20-restore's damaged
 * index test, eager).
 */
static void rst_reap_threads(struct rst_ctx *c)
{
	for (;;) {
		siginfo_t si = { 0 };
		size_t alive = 0;

		for (size_t i = 0; i < c->nr_procs; i++)
			for (uint32_t k = 1; k < c->procs[i].t->nr_threads; k++)
				if (c->procs[i].threads[k].host_tid > 0 &&
				    !waitpid(c->procs[i].threads[k].host_tid, NULL, __WALL | WNOHANG))
					alive++;
		if (!alive)
			return;
		/* sleep until any of our children or tracees dies, reaping none */
		if (waitid(P_ALL, 0, &si, WEXITED | __WALL | WNOWAIT) < 0)
			return;
		/* someone else dead (a leader): reap it, or it is reported forever */
		if (si.si_pid > 0 && !rst_is_thread(c, si.si_pid))
			waitpid(si.si_pid, NULL, __WALL);
	}
}

/* Failure: kill what was created, reap our tracees, remove the cgroup. */
static void rst_undo(struct rst_ctx *c)
{
	/* zombies-to-be first: children of the others (a dead one is no longer ours: ECHILD) */
	for (size_t i = 0; i < c->nr_zombies; i++) {
		if (rst_zombie(c, i)->host_pid > 0) {
			kill(rst_zombie(c, i)->host_pid, SIGKILL);
			waitpid(rst_zombie(c, i)->host_pid, NULL, __WALL);
		}
	}
	for (size_t i = 0; i < c->nr_procs; i++)
		if (c->procs[i].host_pid > 0)
			kill(c->procs[i].host_pid, SIGKILL);
	rst_reap_threads(c);
	/*
	 * Children before parents: a dying pid-namespace init waits for every
	 * task of its namespace, and a traced child is gone only once we, its
	 * tracer, reap it (image order here deadlocked: found by the faults suite).
	 */
	for (size_t i = c->nr_procs; i-- > 0;)
		if (c->procs[i].host_pid > 0)
			waitpid(c->procs[i].host_pid, NULL, __WALL);
	if (c->cg) {
		cg_kill(c->cg, RST_KILL_TIMEOUT_MS);
		if (c->cg_created && cg_destroy(c->cg))
			pr_warn("%s: cgroup left behind", c->name);
	}
}

/* Free everything the context holds. */
static void rst_ctx_free(struct rst_ctx *c)
{
	rst_pool_stop(c->pool);	/* its tracees are detached or dead by now */
	rst_cpu_end(&c->cpus);
	for (size_t i = 0; i < c->nr_procs; i++)
		rst_proc_free(&c->procs[i]);
	for (size_t i = 0; i < c->nr_zombies; i++)
		rst_proc_free(rst_zombie(c, i));
	if (c->zombie_tasks)
		for (uint32_t i = 0; i < c->img->nr_zombies; i++)
			free(c->zombie_tasks[i].threads);
	free(c->zombie_tasks);
	free(c->procs);
	rst_shared_files_free(&c->shared);
	if (c->seen)
		change_cache_free(c->seen);
	if (c->ft_open)
		restore_files_close(&c->ft);
	rst_shm_close(&c->shm);
	lazy_warm_free(c->warm);
	if (c->prefetch_gate >= 0)	/* the tasks run (or are gone): prefetch away */
		close(c->prefetch_gate);
	if (c->pts_master >= 0)
		close(c->pts_master);
	free(c->ft_task.fds);
	free(c->ft_task.peer_fds);
	rst_mounts_close(c);
	shape_release(&c->shape);
	mnt_plan_free(c->mnt_plan);
	if (c->ipc_fd >= 0)
		close(c->ipc_fd);
	if (c->cg)
		cg_close(c->cg);
	if (c->rd)
		swp_gen_close(c->rd);
	if (c->sa)
		swp_close(c->sa);
	image_free(c->img);
	ct_unlock(c->lock_fd);
}

/*
 * A terminal whose master was outside the container at the dump (a
 * runtime's console) comes back only to a caller that takes the new
 * master: refused before anything starts otherwise.
 */
static int rst_check_pts(const struct rst_ctx *c, const struct ctswap_restore_stats *stats)
{
	int index = pty_orphan_index(c->img);

	if (index < 0 || (c->opts->take_pts_master && stats))
		return 0;
	return ct_err(-ENOTSUP, "%s: its tasks had /dev/pts/%d with the master outside the container (a runtime's terminal): only a restore that takes the new master can give it back (the criu front end's orphan-pts-master)",
		      c->name, index);
}

/*
 * What the restore made, for the caller (running_ms is set once the tasks
 * run; pts_master stays ours until the restore succeeds).
 */
static void rst_stats(const struct rst_ctx *c, struct ctswap_restore_stats *st)
{
	st->init_pid = c->procs[0].host_pid;
	st->tasks = c->img->nr_tasks;
	for (uint32_t i = 0; i < c->img->nr_tasks; i++)
		st->threads += c->img->tasks[i].nr_threads;
	st->pages_total = c->pages_total;
	st->pts_master = c->pts_master;
}

/* -v: the phase that ended and what injection cost in it. */
static void rst_phase(const char *what, double t0, struct inj_stats *last)
{
	struct inj_stats now;

	inj_get_stats(&now);
	pr_info("%s: %.1f ms (%lu injected calls, %lu round trips, %.1f ms)", what, now_ms() - t0,
		now.calls - last->calls, now.round_trips - last->round_trips, now.ms - last->ms);
	*last = now;
}

int restore_container(struct ctswap_store *store, const char *name,
		      const struct ctswap_restore_opts *opts, struct ctswap_restore_stats *stats)
{
	static const struct ctswap_restore_opts defaults;
	struct rst_ctx c = { .lock_fd = -1, .name = name, .prefetch_gate = -1, .pts_master = -1,
			     .shape.net_fd = -1,
			     .shape.devpts_fd = -1, .root_fd = -1, .host_root = -1, .ipc_fd = -1 };
	struct ctswap_restore_stats st = { 0 };
	struct inj_stats inj;
	double t0 = now_ms();
	int ret;

	inj_get_stats(&inj);
	ct_err_clear();
	c.opts = opts ? opts : &defaults;
	c.store_dir = store_root(store);
	ret = ct_check_cr_privilege("restore");
	if (ret)
		goto out;
	ret = ct_lock(c.store_dir, name, "restore", &c.lock_fd);
	if (ret)
		goto out;
	fault_stop("restore-stop", "locked");
	ret = rst_read_checkpoint(&c, store);
	/*
	 * To fill the working set before the resume, read it while the tasks
	 * are rebuilt.  Not otherwise: with a cold cache that reading slows the
	 * rebuild's own (+7-9 ms to running, python dict); the server reads it
	 * first thing instead.  Only a hint: without it the server reads it all.
	 */
	if (!ret && !c.opts->eager && c.opts->fill_working_set &&
	    lazy_warm_start(c.wset_path, c.img->generation, c.rd, &c.warm))
		pr_debug("working set not read ahead: %s", ct_err_msg() ?: "no thread");
	if (!ret)
		rst_inherit_pipes(&c);
	if (!ret)
		ret = rst_check_pts(&c, stats);
	if (!ret && c.img->nr_seccomp)
		ret = seccomp_check_tracer("restore");
	if (!ret)
		ret = rst_check_pids_free(&c);
	if (ret)
		goto out;
	c.procs = xzalloc(sizeof(*c.procs) * (c.img->nr_tasks + c.img->nr_zombies));
	c.zombie_tasks = xzalloc(sizeof(*c.zombie_tasks) * (c.img->nr_zombies + 1));
	if (!c.procs || !c.zombie_tasks) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < c.img->nr_tasks && !ret; i++) {
		ret = rst_proc_init(&c.procs[i], &c.img->tasks[i]);
		c.procs[i].root_given = c.opts->root != NULL;
		if (!ret)
			c.nr_procs++;
	}
	for (uint32_t i = 0; i < c.img->nr_zombies && !ret; i++) {
		ret = rst_zombie_task(&c.zombie_tasks[i], &c.img->zombies[i]) ?:
		      rst_proc_init(rst_zombie(&c, i), &c.zombie_tasks[i]);
		if (!ret)
			c.nr_zombies++;
	}
	if (!ret)
		ret = rst_shape(&c);
	if (!ret)
		ret = rst_mounts(&c);
	if (!ret)
		ret = rst_cgroup(&c);
	if (!ret)
		ret = rst_open_all(&c);
	pr_info("checkpoint read, files open: %.1f ms", now_ms() - t0);
	if (!ret)
		ret = rst_build_tree(&c) ?: rst_subgroups_join(&c);
	rst_phase("process tree created", t0, &inj);
	if (!ret)
		ret = rst_build_processes(&c) ?: rst_shm_seal(&c.shm) ?: rst_ipc_finish(&c);
	rst_phase("address spaces, threads, resources rebuilt", t0, &inj);
	rst_cpu_end(&c.cpus);	/* before the lazy server is forked from us */
	if (c.ft_open) {	/* the lazy server must not hold pipe ends */
		c.pts_master = c.ft.pts_master;	/* the caller's, once every task runs */
		c.ft.pts_master = -1;
		restore_files_close(&c.ft);
		c.ft_open = false;
	}
	rst_mounts_close(&c);	/* nor the rebuilt tree: the init holds it */
	rst_shm_close(&c.shm);
	if (!ret)
		ret = rst_memory(&c);
	if (!ret)
		ret = rst_pool_each(c.pool, c.nr_procs, c.procs, rst_step_lock, NULL);
	pr_info("memory handed to the %s: %.1f ms", c.opts->eager ? "eager fill" : "lazy server",
		now_ms() - t0);
	if (!ret) {
		rst_stats(&c, &st);
		if (c.opts->before_resume)
			ret = c.opts->before_resume(&st, c.opts->before_resume_arg);
	}
	if (!ret)
		ret = rst_resume(&c);
	if (ret) {
		rst_undo(&c);
		goto out;
	}
	st.running_ms = now_ms() - t0;
	if (stats) {
		*stats = st;
		c.pts_master = -1;	/* the caller's now */
	}
out:
	rst_ctx_free(&c);
	return ret;
}
