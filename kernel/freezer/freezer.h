/* SPDX-License-Identifier: MIT */
/*
 * Freezing a container's cgroup: v2 cgroup.freeze with cgroup.events, or the
 * v1 freezer's freezer.state.  "Frozen" always means the kernel says so.
 */
#ifndef CT_FREEZER_H
#define CT_FREEZER_H

#include <stdbool.h>

struct ct_cgroup;

/*
 * Freeze @cg and return once the kernel reports it frozen.  After
 * @timeout_ms it thaws the group back, records with ct_err() which tasks did
 * not freeze, and returns -ETIMEDOUT.
 */
int freezer_freeze(struct ct_cgroup *cg, int timeout_ms);
/* Thaw @cg (a thawed group is left as it is). */
int freezer_thaw(struct ct_cgroup *cg);
/* Whether the kernel reports @cg frozen now. */
int freezer_state(struct ct_cgroup *cg, bool *frozen);

#endif
