/* SPDX-License-Identifier: MIT */
/*
 * A container's cgroup: ctswap/NAME in the cgroup v2 hierarchy, plus
 * ctswap/NAME in the v1 freezer hierarchy when v2 cannot freeze (or when
 * $CTSWAP_FREEZER=v1 asks for it, which tests use).  Hierarchies are found
 * in /proc/self/mountinfo; groups are made through libcgroup.
 *
 * Which freezer a container uses is not recorded anywhere: cg_open() sees it
 * from whether the v1 freezer group exists.
 */
#ifndef CT_CGROUP_H
#define CT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One container's cgroup(s): v2 path, and v1 freezer path when used. */
struct ct_cgroup;

/* Create ctswap/@name (-EEXIST if it is already there). */
int cg_create(const char *name, struct ct_cgroup **out);
/* Open the existing ctswap/@name; -ENOENT if it is absent. */
int cg_open(const char *name, struct ct_cgroup **out);
/*
 * Open a runtime's existing group at absolute directory @dir (v1 freezer or
 * v2 hierarchy); cg_destroy() never removes it.  @label names it in messages.
 * @attach (NULL: @dir alone) lists, ':'-separated, every group cg_attach()
 * moves a process into: the container's place in each hierarchy.
 */
int cg_open_dir(const char *label, const char *dir, const char *attach, struct ct_cgroup **out);

/* Where a process is: its group's directory in every mounted hierarchy (placement.c). */
struct cg_placement {
	char **dirs;		/* absolute directories, one per hierarchy */
	size_t nr, cap;
	int freezer;		/* index of the v1 freezer's (else v2's) directory, -1 none */
};
/* Read the placement of @pid from /proc/PID/cgroup. */
int cg_placement_of(pid_t pid, struct cg_placement *p);
/* Move process @pid into every group of @p. */
int cg_placement_enter(const struct cg_placement *p, pid_t pid);
void cg_placement_free(struct cg_placement *p);
/* Free the handle (the cgroup stays). */
void cg_close(struct ct_cgroup *cg);
/* Remove the group(s) and those below; -EBUSY while a process is inside.  Does not free @cg. */
int cg_destroy(struct ct_cgroup *cg);
/* Move process @pid (all its threads) into the group(s). */
int cg_attach(struct ct_cgroup *cg, pid_t pid);
/*
 * The v2 group's directory opened for clone3(CLONE_INTO_CGROUP), -1 without
 * v2: a child born in the group costs no migration (writing cgroup.procs
 * waits for an RCU grace period, 10-15 ms on this VM).
 */
int cg_v2_open(const struct ct_cgroup *cg);
/* Move @pid into the v1 groups only (freezer, limits): it was cloned into the v2 one. */
int cg_attach_v1(struct ct_cgroup *cg, pid_t pid);
/* The processes inside and in the groups below (cgroup.procs), in a malloc'd array. */
int cg_procs(struct ct_cgroup *cg, pid_t **pids, size_t *nr);
/* Every thread inside and below (v2 cgroup.threads, v1 tasks), in a malloc'd array. */
int cg_threads(struct ct_cgroup *cg, pid_t **tids, size_t *nr);
/* The container name the group was opened or created for. */
const char *cg_name(const struct ct_cgroup *cg);
/* The directory of the group used for freezing (v1 freezer's when used). */
const char *cg_path(const struct ct_cgroup *cg);
/* The v2 directory, or NULL on a v1-only machine. */
const char *cg_v2_path(const struct ct_cgroup *cg);
/* True if freezing goes through the v1 freezer. */
bool cg_is_v1(const struct ct_cgroup *cg);
/* SIGKILL every task, frozen or not; wait up to @timeout_ms until none is left. */
int cg_kill(struct ct_cgroup *cg, int timeout_ms);
struct ctswap_limits;
/*
 * Set memory, pids and cpu limits (0: none) on a new group before anything
 * runs in it: v2 files where the v2 hierarchy has the controller, else
 * ctswap/NAME in the controller's v1 hierarchy (attach and destroy cover it).
 */
int cg_set_limits(struct ct_cgroup *cg, const struct ctswap_limits *lim);
/* Read the limits of the group (0: none). */
int cg_get_limits(struct ct_cgroup *cg, struct ctswap_limits *lim);
/*
 * Groups a container made below its own, in each hierarchy its group is
 * in: v2, the v1 freezer (when it freezes through it), the v1 memory, pids
 * and cpu groups of its limits.  The numbers are image/image.h's CT_CG_*.
 */
enum { CG_HIER_V2, CG_HIER_V1_FREEZER, CG_HIER_V1_MEMORY, CG_HIER_V1_PIDS, CG_HIER_V1_CPU,
       CG_HIER_NR };
/* The container's group directory in hierarchy @hier; -ENOENT if it is not in it. */
int cg_hier_dir(const struct ct_cgroup *cg, int hier, char *out, size_t size);
/* Call @fn for every group below the container's, parents first, @rel its path below it. */
int cg_walk_below(struct ct_cgroup *cg, int (*fn)(void *arg, int hier, const char *rel, const char *dir),
		  void *arg);
/* The processes of group directory @dir alone (not below it). */
int cg_dir_procs(const char *dir, pid_t **pids, size_t *nr);
/* The limits of group directory @dir of hierarchy @hier (0: none). */
int cg_dir_get_limits(int hier, const char *dir, struct ctswap_limits *lim);
/* Set them (0: leave); the group is new and empty. */
int cg_dir_set_limits(int hier, const char *dir, const struct ctswap_limits *lim);
/* Move process @pid (host pid) into group directory @dir. */
int cg_dir_move(const char *dir, pid_t pid);
/* Mount points of the v2 and v1 freezer hierarchies ("" when absent). */
int cg_mounts(const char **v2, const char **freezer);

#endif
