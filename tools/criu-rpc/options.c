// SPDX-License-Identifier: MIT
/*
 * Options a request may carry that ctswap cannot honour.  A runtime that
 * sets one of them expects CRIU's behaviour; ignoring it would hand back a
 * checkpoint or a restore that is not what was asked.  So each is refused
 * by name, with the reason, before anything is touched.  What is honoured,
 * and how, is in tools/criu-rpc/README.md.
 */
#include <errno.h>
#include <string.h>

#include "crpc.h"

#define FOR_DUMP	(1u << 0)	/* DUMP and PRE_DUMP */
#define FOR_RESTORE	(1u << 1)

/* One option that is refused when @set says it was given. */
struct refused_opt {
	const char *name;
	unsigned int when;		/* FOR_* */
	bool (*set)(const Crpc__Options *o);
	const char *why;
};

static bool ps_set(const Crpc__Options *o) { return o->ps != NULL; }
static bool link_remap_set(const Crpc__Options *o) { return o->has_link_remap && o->link_remap; }
static bool veths_set(const Crpc__Options *o) { return o->n_veths > 0; }
static bool exec_set(const Crpc__Options *o) { return o->n_exec_cmd > 0; }
static bool shell_job_set(const Crpc__Options *o) { return o->has_shell_job && o->shell_job; }
static bool ext_unix_set(const Crpc__Options *o) { return o->has_ext_unix_sk && o->ext_unix_sk; }
static bool unix_ino_set(const Crpc__Options *o) { return o->n_unix_sk_ino > 0; }
static bool skip_mnt_set(const Crpc__Options *o) { return o->n_skip_mnt > 0; }
static bool enable_fs_set(const Crpc__Options *o) { return o->n_enable_fs > 0; }
static bool auto_ext_set(const Crpc__Options *o) { return o->has_auto_ext_mnt && o->auto_ext_mnt; }
static bool ext_share_set(const Crpc__Options *o)
{
	return (o->has_ext_sharing && o->ext_sharing) || (o->has_ext_masters && o->ext_masters);
}
static bool join_ns_set(const Crpc__Options *o) { return o->n_join_ns > 0; }
static bool irmap_set(const Crpc__Options *o)
{
	return o->n_irmap_scan_paths > 0 || (o->has_force_irmap && o->force_irmap);
}
static bool cg_props_set(const Crpc__Options *o)
{
	return o->cgroup_props || o->cgroup_props_file || o->n_cgroup_dump_controller > 0;
}
static bool lazy_set(const Crpc__Options *o) { return o->has_lazy_pages && o->lazy_pages; }
static bool status_fd_set(const Crpc__Options *o) { return o->has_status_fd; }
static bool in_flight_set(const Crpc__Options *o)
{
	return o->has_tcp_skip_in_flight && o->tcp_skip_in_flight;
}
static bool lsm_set(const Crpc__Options *o) { return o->lsm_profile && o->lsm_profile[0]; }
static bool cg_mode_strict(const Crpc__Options *o)
{
	return o->has_manage_cgroups_mode &&
	       (o->manage_cgroups_mode == CRPC__CGROUP_MODE__CG_FULL ||
		o->manage_cgroups_mode == CRPC__CGROUP_MODE__CG_STRICT);
}

static const struct refused_opt refused[] = {
	{ "ps", FOR_DUMP | FOR_RESTORE, ps_set,
	  "page server: ctswap writes pages to the swap area in the images dir" },
	{ "link_remap", FOR_DUMP, link_remap_set,
	  "ctswap stores deleted files whole instead of linking them back" },
	{ "veths", FOR_RESTORE, veths_set, "veth pairs are not recreated; pass the namespace" },
	{ "exec_cmd", FOR_RESTORE, exec_set, "running a command after restore is not supported" },
	{ "shell_job", FOR_DUMP | FOR_RESTORE, shell_job_set,
	  "a session or process group led outside the tree is not supported" },
	{ "ext_unix_sk", FOR_DUMP | FOR_RESTORE, ext_unix_set,
	  "unix connections to processes outside cannot be kept (they would come back closed)" },
	{ "unix_sk_ino", FOR_DUMP | FOR_RESTORE, unix_ino_set,
	  "external unix sockets by inode are not supported" },
	{ "skip_mnt", FOR_DUMP, skip_mnt_set, "skipping mounts is not supported" },
	{ "enable_fs", FOR_DUMP, enable_fs_set, "extra file systems are not supported" },
	{ "auto_ext_mnt", FOR_DUMP, auto_ext_set, "automatic external mounts are not supported" },
	{ "ext_sharing", FOR_DUMP | FOR_RESTORE, ext_share_set,
	  "shared or slave external mounts are not supported" },
	{ "join_ns", FOR_RESTORE, join_ns_set, "joining namespaces by path is not supported" },
	{ "irmap_scan_paths", FOR_DUMP, irmap_set, "inotify paths are found without an irmap" },
	{ "cgroup_props", FOR_DUMP | FOR_RESTORE, cg_props_set,
	  "cgroup properties are not dumped or set" },
	{ "lazy_pages", FOR_DUMP, lazy_set,
	  "a dump always writes every page; the restore is lazy by itself" },
	{ "status_fd", FOR_DUMP | FOR_RESTORE, status_fd_set,
	  "a lazy-pages status fd is not supported" },
	{ "tcp_skip_in_flight", FOR_DUMP, in_flight_set,
	  "connections being set up are not skipped" },
	{ "lsm_profile", FOR_RESTORE, lsm_set, "setting an LSM profile is not supported" },
	{ "manage_cgroups_mode", FOR_RESTORE, cg_mode_strict,
	  "full or strict cgroup restore (properties) is not supported" },
};

/* Refuse @type's options that cannot be honoured; 0 if none is set. */
int crpc_check_options(struct crpc_conn *c, Crpc__ReqType type, const Crpc__Options *o)
{
	unsigned int when = type == CRPC__REQ_TYPE__RESTORE ? FOR_RESTORE : FOR_DUMP;

	if (!o)
		return crpc_fail(c, EINVAL, "%s: the request has no options", crpc_type_name(type));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const struct refused_opt *r = &refused[i];

		if ((r->when & when) && r->set(o))
			return crpc_fail(c, EOPNOTSUPP, "%s: option %s: %s", crpc_type_name(type),
					 r->name, r->why);
	}
	return 0;
}
