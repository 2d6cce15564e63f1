// SPDX-License-Identifier: MIT
/* The checkpoint part of ctswap inspect: tasks, threads and mappings of the newest blob. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "builtin.h"

/* "rwx" of a PROT_* value. */
static const char *prot_str(uint32_t prot, char *buf)
{
	buf[0] = prot & PROT_READ ? 'r' : '-';
	buf[1] = prot & PROT_WRITE ? 'w' : '-';
	buf[2] = prot & PROT_EXEC ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

/* The mount tree of a container with a root of its own: kind, and what restore needs for it. */
static void inspect_mounts_text(const struct ctswap_ckpt *c)
{
	for (unsigned i = 0; i < c->nr_mounts; i++) {
		const struct ctswap_ckpt_mount *m = &c->mounts[i];

		if (!i)
			printf("mounts: %u\n", c->nr_mounts);
		printf("  %-24s %-8s %-10s", m->mountpoint, m->kind, m->fstype);
		if (m->ext_id)
			printf(" id %s", m->ext_id);
		if (m->host_path)
			printf(" from %s", m->host_path);
		if (!strcmp(m->kind, "tmpfs"))
			printf(" %u files", m->tmpfs_files);
		printf("\n");
	}
}

void inspect_ckpt_text(const struct ctswap_ckpt *c)
{
	char prot[4];

	printf("\ncheckpoint: generation %u, %u tasks, blob %" PRIu64 " bytes%s\n", c->generation,
	       c->nr_tasks, c->meta_bytes, c->own_pidns ? ", own pid namespace" : "");
	for (unsigned i = 0; i < c->nr_tasks; i++) {
		const struct ctswap_ckpt_task *t = &c->tasks[i];
		uint64_t pages = 0;

		for (unsigned j = 0; j < t->nr_vmas; j++)
			pages += t->vmas[j].pages;
		printf("task %d ppid %d pgid %d sid %d %s: threads %u (", t->pid, t->ppid, t->pgid,
		       t->sid, t->comm, t->nr_threads);
		for (unsigned j = 0; j < t->nr_threads; j++)
			printf("%s%d", j ? "," : "", t->tids[j]);
		printf("), %u mappings, %" PRIu64 " pages, %u fds\n", t->nr_vmas, pages, t->nr_fds);
		for (unsigned j = 0; j < t->nr_vmas; j++) {
			const struct ctswap_ckpt_vma *v = &t->vmas[j];

			printf("  %12" PRIx64 "-%-12" PRIx64 " %s %-11s %8" PRIu64 " %s\n", v->start,
			       v->end, prot_str(v->prot, prot), v->kind, v->pages, v->path ? v->path : "");
		}
	}
	inspect_mounts_text(c);
}

json_t *inspect_ckpt_json(const struct ctswap_ckpt *c)
{
	json_t *o = json_object(), *tasks = json_array(), *mounts = NULL;
	char prot[4], addr[32];

	for (unsigned i = 0; i < c->nr_tasks; i++) {
		const struct ctswap_ckpt_task *t = &c->tasks[i];
		json_t *tids = json_array(), *vmas = json_array();

		for (unsigned j = 0; j < t->nr_threads; j++)
			json_array_append_new(tids, json_integer(t->tids[j]));
		for (unsigned j = 0; j < t->nr_vmas; j++) {
			const struct ctswap_ckpt_vma *v = &t->vmas[j];

			snprintf(addr, sizeof(addr), "%#" PRIx64, v->start);
			json_array_append_new(vmas, json_pack("{s:s,s:I,s:s,s:s,s:I,s:s?}",
				"start", addr, "size", (json_int_t)(v->end - v->start),
				"prot", prot_str(v->prot, prot), "kind", v->kind,
				"pages", (json_int_t)v->pages, "path", v->path));
		}
		json_array_append_new(tasks, json_pack("{s:i,s:i,s:i,s:i,s:s,s:o,s:i,s:o}",
			"pid", t->pid, "ppid", t->ppid, "pgid", t->pgid, "sid", t->sid,
			"comm", t->comm, "threads", tids, "fds", (int)t->nr_fds, "mappings", vmas));
	}
	json_object_set_new(o, "generation", json_integer(c->generation));
	json_object_set_new(o, "meta_bytes", json_integer((json_int_t)c->meta_bytes));
	json_object_set_new(o, "own_pidns", json_boolean(c->own_pidns));
	json_object_set_new(o, "tasks", tasks);
	for (unsigned i = 0; i < c->nr_mounts; i++) {
		const struct ctswap_ckpt_mount *m = &c->mounts[i];

		if (!i)
			json_object_set_new(o, "mounts", mounts = json_array());
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:i}",
			"mountpoint", m->mountpoint, "fstype", m->fstype, "kind", m->kind,
			"ext_id", m->ext_id, "host_path", m->host_path, "tmpfs_files",
			(int)m->tmpfs_files));
	}
	return o;
}
