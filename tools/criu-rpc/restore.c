// SPDX-License-Identifier: MIT
/*
 * RESTORE: restart the tree a DUMP left in the images dir.
 *
 * The runtime made the container's cgroups and placed us in them: that
 * placement is recorded for the new init (ctswap_attach()), and we move to
 * the caller's own cgroups before anything is started, so that what stays
 * running after the reply (ctswap's supervisor, the lazy swap-in server)
 * is outside the container's groups.  Memory comes back lazily: the reply
 * is sent once every task runs, before the memory is resident; progress
 * shows in `ctswap --store IMAGES/ctswap ps`.
 *
 * Notifications in CRIU's order: pre-restore before anything is made;
 * setup-namespaces, post-setup-namespaces, orphan-pts-master for a -t
 * container, post-restore, network-unlock and pre-resume once every task
 * is rebuilt and still stopped (the engine calls back before it lets them
 * go); post-resume once they run.  A caller that fails one gets the tree
 * killed.
 *
 * orphan-pts-master: the container's terminal (podman -t) was a pty whose
 * master the runtime held; the engine made a new one of the same index in
 * the container's new devpts and gives us its master, which goes to the
 * caller with the notification, attached by SCM_RIGHTS (runc passes it on
 * to conmon through the console socket).  Until conmon reads it, what the
 * tasks write waits in the pty (a full one blocks the writer, as on any
 * terminal nobody reads).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crpc.h"
#include "ctswap.h"

#define NET_KEY "extRootNetNS"

/*
 * inherit_fd: the network namespace to restore into (extRootNetNS) and the
 * pipes that replace dumped ones by inode ("pipe:[INODE]": the runtime's
 * stdout and stderr); anything else is refused.  The fds are ours.
 */
static int restore_inherited(struct crpc_conn *c, const Crpc__Options *o, char *net_ns,
			     size_t size, struct ctswap_inherit_pipe *pipes, size_t *nr_pipes)
{
	net_ns[0] = '\0';
	*nr_pipes = 0;
	for (size_t i = 0; i < o->n_inherit_fd; i++) {
		const Crpc__InheritedFd *f = o->inherit_fd[i];
		unsigned long long ino;
		int len = -1;

		if (fcntl(f->fd, F_GETFD) < 0)
			return crpc_fail(c, EBADF, "RESTORE: inherit_fd %s: fd %d is not open", f->key,
					 f->fd);
		if (!strcmp(f->key, NET_KEY)) {
			snprintf(net_ns, size, "/proc/self/fd/%d", f->fd);
		} else if (sscanf(f->key, "pipe:[%llu]%n", &ino, &len) == 1 && len > 0 && !f->key[len]) {
			pipes[*nr_pipes].ino = ino;
			pipes[(*nr_pipes)++].fd = f->fd;
		} else {
			return crpc_fail(c, EOPNOTSUPP, "RESTORE: inherit_fd %s: only %s and pipe:[INODE] are supported",
					 f->key, NET_KEY);
		}
	}
	return 0;
}

static int restore_write_stats(struct crpc_conn *c, struct crpc_job *job,
			       const struct ctswap_restore_stats *rs)
{
	Crpc__RestoreStats r = CRPC__RESTORE_STATS__INIT;
	Crpc__Stats st = CRPC__STATS__INIT;

	r.restore_time = (uint32_t)(rs->running_ms * 1000);
	r.forking_time = r.restore_time;
	r.has_pages_restored = true;
	r.pages_restored = rs->pages_total;	/* handed to the lazy server */
	st.restore = &r;
	return crpc_write_stats(c, job, "stats-restore", &st);
}

/*
 * Every task is rebuilt and stopped: the notifications CRIU sends before
 * the tasks run, in its order, each answered before the next (runc runs
 * its hooks on setup-namespaces, passes a terminal's master to conmon on
 * orphan-pts-master, writes its state on post-restore).  Failing one kills
 * the tree.  post-resume follows once they run.
 */
static int restore_notify_stopped(const struct ctswap_restore_stats *rs, void *arg)
{
	struct crpc_conn *c = arg;
	pid_t pid = rs->init_pid;

	return crpc_notify(c, "setup-namespaces", pid) ?:
	       crpc_notify(c, "post-setup-namespaces", 0) ?:
	       (rs->pts_master >= 0 ? crpc_notify_fd(c, "orphan-pts-master", 0, rs->pts_master) : 0) ?:
	       crpc_notify(c, "post-restore", pid) ?:
	       crpc_notify(c, "network-unlock", 0) ?:
	       crpc_notify(c, "pre-resume", 0);
}

/* Serve RESTORE: the reply is sent here on success. */
int crpc_restore(struct crpc_conn *c, const Crpc__Request *req)
{
	const Crpc__Options *o = req->opts;
	struct ctswap_attach_opts ao = { 0 };
	struct ctswap_restore_opts ropts = { 0 };
	struct ctswap_restore_stats rs = { 0 };
	Crpc__Response resp = CRPC__RESPONSE__INIT;
	Crpc__RestoreReply rr = CRPC__RESTORE_REPLY__INIT;
	struct ctswap_ext_mount *ext = NULL;
	struct ctswap_inherit_pipe *pipes = NULL;
	size_t nr_pipes = 0;
	char net_ns[64];
	struct crpc_job job;
	int ret;

	ret = crpc_job_open(c, req, &job);
	if (ret)
		goto out;
	pipes = calloc(o->n_inherit_fd + 1, sizeof(*pipes));
	if (!pipes) {
		ret = crpc_fail(c, ENOMEM, "RESTORE: out of memory");
		goto out;
	}
	ret = crpc_ext_mounts(c, o, &ext) ?:
	      restore_inherited(c, o, net_ns, sizeof(net_ns), pipes, &nr_pipes);
	if (ret)
		goto out;
	if (faccessat(job.images_fd, "ctswap/" CRPC_CT_NAME "/state", F_OK, 0)) {
		ret = crpc_fail(c, ENOENT, "RESTORE: %s holds no ctswap checkpoint", job.images_dir);
		goto out;
	}
	ret = crpc_notify(c, "pre-restore", 0);
	if (ret)
		goto out;
	ao.cgroups_of = getpid();
	ao.leave_to = c->peer;
	ao.net_external = net_ns[0] != '\0';
	ret = ctswap_attach(job.store, CRPC_CT_NAME, &ao);
	if (ret) {
		ret = crpc_engine_fail(c, ret, "RESTORE");
		goto out;
	}
	ropts.net_ns = net_ns[0] ? net_ns : NULL;
	ropts.root = o->root && o->root[0] ? o->root : NULL;
	ropts.ext_mounts = ext;
	ropts.nr_ext_mounts = o->n_ext_mnt;
	ropts.ext_mounts_unused_ok = true;	/* runc maps device binds it may not have made */
	ropts.inherit_pipes = pipes;
	ropts.nr_inherit_pipes = nr_pipes;
	/* rst_sibling: the runtime's subreaper (conmon) becomes the init's parent */
	ropts.sibling = o->has_rst_sibling && o->rst_sibling;
	ropts.take_pts_master = o->has_orphan_pts_master && o->orphan_pts_master;
	ropts.before_resume = restore_notify_stopped;
	ropts.before_resume_arg = c;
	ret = ctswap_restore(job.store, CRPC_CT_NAME, &ropts, &rs);
	if (ret) {
		/* a failed notification already says why */
		if (!c->errmsg[0])
			ret = crpc_engine_fail(c, ret, "RESTORE");
		goto out;
	}
	if (rs.pts_master >= 0)
		close(rs.pts_master);	/* the caller has its own since orphan-pts-master */
	ret = crpc_notify(c, "post-resume", 0) ?: restore_write_stats(c, &job, &rs);
	if (ret) {
		ctswap_kill(job.store, CRPC_CT_NAME);
		goto out;
	}
	resp.type = CRPC__REQ_TYPE__RESTORE;
	resp.success = true;
	rr.pid = rs.init_pid;
	resp.restore = &rr;
	ret = crpc_send(c, &resp);
out:
	free(pipes);
	free(ext);
	crpc_job_close(&job);
	return ret;
}
