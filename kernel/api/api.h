/* SPDX-License-Identifier: MIT */
/* Internals shared by the ckpt_* API (ckpt.c) and ctswap_adopt() (adopt.c). */
#ifndef CT_API_H
#define CT_API_H

#include <stddef.h>
#include <sys/types.h>

struct ct_cgroup;
struct ctswap_store;

/* The ctswap container @pid is in, in @name ("" when none); -ESRCH if gone. */
int api_pid_container(pid_t pid, char *name, size_t size);
/* Move @pid back to the root of the v2 and v1 freezer hierarchies. */
int api_cgroup_leave(pid_t pid);
/* Move every process of @cg back to the hierarchy roots (undoing an adopt). */
void api_cgroup_leave_all(struct ct_cgroup *cg);

/* ctswap_adopt() that also records ckpt_id/ckpt_type in the state (type 0: none). */
int api_adopt(struct ctswap_store *store, const char *name, const pid_t *pids, size_t nr,
	      long long ckpt_id, unsigned long ckpt_type);

#endif
