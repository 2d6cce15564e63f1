// SPDX-License-Identifier: MIT
/*
 * DUMP: checkpoint the tree rooted at opts.pid into the images dir;
 * PRE_DUMP: the same as a pre-copy, the tree left running (predump.c).
 *
 * The tree is what a runtime started in cgroups of its own: it is attached
 * (ctswap_attach(): the runtime's groups recorded, nothing moved) as the
 * container "ct" of the store IMAGES/ctswap, then dumped by ctswap_dump()
 * (a second dump into the same images dir is a new generation: unchanged
 * pages are not written again).  Notifications, each answered by the caller
 * before we go on: pre-dump, network-lock, query-ext-files, then post-dump
 * once the checkpoint is committed and before the tree is killed (a caller
 * that fails it gets the tree back running), and network-unlock with
 * leave_running.  orphan_pts_master (runc always sets it): a terminal whose
 * master the runtime holds (podman -t) is recorded for a restore that hands
 * a new master back (restore.c); without it the engine refuses one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crpc.h"
#include "ctswap.h"

#define NEWNET 0x40000000u	/* CLONE_NEWNET, as empty_ns carries it */

/* The inode of @pid's network namespace, 0 if unknown. */
static unsigned long long netns_ino(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	return stat(path, &st) < 0 ? 0 : (unsigned long long)st.st_ino;
}

/*
 * external entries: only "net[INODE]:KEY", the tree's own network namespace
 * given by the runtime (it passes it back at restore as inherit_fd KEY).
 */
static int dump_externals(struct crpc_conn *c, const Crpc__Options *o, bool *net_external)
{
	*net_external = false;
	for (size_t i = 0; i < o->n_external; i++) {
		const char *e = o->external[i];
		unsigned long long ino;
		char colon;

		if (sscanf(e, "net[%llu]%c", &ino, &colon) != 2 || colon != ':')
			return crpc_fail(c, EOPNOTSUPP, "DUMP: external %s: only net[INODE]:KEY is supported", e);
		if (ino != netns_ino(o->pid))
			return crpc_fail(c, EINVAL, "DUMP: external %s: not the network namespace of pid %d",
					 e, o->pid);
		*net_external = true;
	}
	if (o->has_empty_ns && (o->empty_ns & ~NEWNET))
		return crpc_fail(c, EOPNOTSUPP, "DUMP: empty_ns 0x%x: only CLONE_NEWNET is supported",
				 o->empty_ns);
	return 0;
}

struct dump_run {
	struct crpc_conn *c;
	const Crpc__Options *o;
};

/* The engine committed the checkpoint: the caller's post-dump, before the kill. */
static int dump_committed(void *arg)
{
	struct dump_run *r = arg;

	return crpc_notify(r->c, "post-dump", 0);
}

static int dump_write_stats(struct crpc_conn *c, struct crpc_job *job,
			    const struct ctswap_dump_stats *ds)
{
	Crpc__DumpStats d = CRPC__DUMP_STATS__INIT;
	Crpc__Stats st = CRPC__STATS__INIT;

	d.frozen_time = (uint32_t)(ds->frozen_ms * 1000);
	d.memdump_time = (uint32_t)(ds->total_ms * 1000);
	d.memwrite_time = d.memdump_time;
	d.pages_scanned = ds->pages_total;
	d.pages_written = ds->pages_written;
	/* present pages the swap area already held (unchanged, zero or duplicate) */
	d.pages_skipped_parent = ds->pages_total - ds->pages_written;
	d.pages_lazy = 0;
	st.dump = &d;
	return crpc_write_stats(c, job, "stats-dump", &st);
}

/* The notifications before a dump: CRIU sends none for a pre-dump. */
static int dump_notify_before(struct crpc_conn *c, bool pre)
{
	if (pre)
		return 0;
	return crpc_notify(c, "pre-dump", 0) ?: crpc_notify(c, "network-lock", 0) ?:
	       crpc_notify(c, "query-ext-files", 0);
}

/* Serve DUMP and PRE_DUMP: the reply is sent here on success. */
int crpc_dump(struct crpc_conn *c, const Crpc__Request *req)
{
	bool pre = req->type == CRPC__REQ_TYPE__PRE_DUMP;
	const Crpc__Options *o = req->opts;
	struct ctswap_attach_opts ao = { 0 };
	struct ctswap_dump_opts dopts = { 0 };
	struct ctswap_dump_stats ds;
	struct dump_run run = { c, o };
	Crpc__Response resp = CRPC__RESPONSE__INIT;
	Crpc__DumpReply dr = CRPC__DUMP_REPLY__INIT;
	struct ctswap_ext_mount *ext = NULL;
	struct crpc_job job;
	int ret;

	ret = crpc_job_open(c, req, &job);
	if (ret)
		goto out;
	if (!o->has_pid || o->pid <= 0) {
		ret = crpc_fail(c, EINVAL, "%s: pid: the root of the tree to dump is needed",
				crpc_type_name(req->type));
		goto out;
	}
	ret = crpc_ext_mounts(c, o, &ext) ?: dump_externals(c, o, &ao.net_external) ?:
	      crpc_take_parent(c, req, &job);
	if (ret)
		goto out;
	ao.init_pid = o->pid;
	ao.freeze_dir = o->freeze_cgroup && o->freeze_cgroup[0] ? o->freeze_cgroup : NULL;
	ret = ctswap_attach(job.store, CRPC_CT_NAME, &ao);
	if (ret) {
		ret = crpc_engine_fail(c, ret, crpc_type_name(req->type));
		goto out;
	}
	dopts.pre = pre;
	dopts.leave_running = o->has_leave_running && o->leave_running;
	if (o->has_tcp_established && o->tcp_established)
		dopts.tcp = CTSWAP_TCP_ESTABLISHED;
	else if (o->has_tcp_close && o->tcp_close)
		dopts.tcp = CTSWAP_TCP_CLOSE;
	/* podman -t: the container's terminal, its master held by conmon */
	dopts.orphan_pts = o->has_orphan_pts_master && o->orphan_pts_master;
	if (o->has_ghost_limit)
		dopts.max_deleted_size = o->ghost_limit;
	dopts.ext_mounts = ext;
	dopts.nr_ext_mounts = o->n_ext_mnt;
	if (!pre) {
		dopts.committed = dump_committed;
		dopts.committed_arg = &run;
	}
	ret = dump_notify_before(c, pre);
	if (ret)
		goto out;
	ret = ctswap_dump(job.store, CRPC_CT_NAME, &dopts, &ds);
	if (ret) {
		/* a refused post-dump already says why */
		if (!c->errmsg[0])
			ret = crpc_engine_fail(c, ret, crpc_type_name(req->type));
		goto out;
	}
	if (dopts.leave_running && !pre)
		ret = crpc_notify(c, "network-unlock", 0);
	if (!ret)
		ret = dump_write_stats(c, &job, &ds) ?: crpc_write_inventory(c, &job);
	if (ret)
		goto out;
	resp.type = req->type;
	resp.success = true;
	if (!pre) {
		dr.has_restored = true;
		dr.restored = false;
		resp.dump = &dr;
	}
	ret = crpc_send(c, &resp);
out:
	free(ext);
	crpc_job_close(&job);
	return ret;
}
