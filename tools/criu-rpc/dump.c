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
 * leave_running.
 */
#include <dirent.h>
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

/* The first fd of @pid open on a terminal (a pty slave or the console), in @link. */
static int terminal_fd(pid_t pid, char *link, size_t size)
{
	char dir[64], path[320];
	struct dirent *de;
	int found = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d))) {
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = readlink(path, link, size - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (!strncmp(link, "/dev/pts/", 9) || !strcmp(link, "/dev/console") ||
		    !strcmp(link, "/dev/ptmx"))
			found = atoi(de->d_name);
	}
	closedir(d);
	return found;
}

/*
 * A container started with a terminal (podman -t) has fds on a pty whose
 * master the runtime holds; giving it back needs a new pty handed to the
 * runtime (orphan-pts-master), which is not done yet: refuse before anything
 * is frozen.  Walks the tree from @pid through /proc/PID/task/TID/children.
 */
static int refuse_terminals(struct crpc_conn *c, pid_t pid, int depth)
{
	char path[96], link[256], *text = NULL;
	size_t cap = 0;
	FILE *f;
	int fd, ret = 0;

	fd = terminal_fd(pid, link, sizeof(link));
	if (fd >= 0)
		return crpc_fail(c, EOPNOTSUPP, "DUMP: pid %d: fd %d is on a terminal (%s): containers with a terminal (podman -t) are not supported yet",
				 pid, fd, link);
	if (depth > 64)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (getline(&text, &cap, f) > 0) {
		char *tok, *save = NULL;

		for (tok = strtok_r(text, " \n", &save); tok && !ret; tok = strtok_r(NULL, " \n", &save))
			ret = refuse_terminals(c, atoi(tok), depth + 1);
	}
	free(text);
	fclose(f);
	return ret;
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
	      refuse_terminals(c, o->pid, 0) ?: crpc_take_parent(c, req, &job);
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
