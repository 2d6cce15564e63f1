/* SPDX-License-Identifier: MIT */
/* Helpers shared by the container lifecycle and listing code. */
#ifndef CT_CONTAINER_H
#define CT_CONTAINER_H

#include "ctswap.h"

struct ctswap_store;
struct ct_state;

/* Refuse a bad container name with ct_err ("NAME: invalid container name ..."). */
int ct_check_name(const char *name);
/* Read STORE/NAME/state; *@st is NULL (and 0 returned) when there is none. */
int ct_read_state(struct ctswap_store *store, const char *name, struct ct_state **st);
struct ct_cgroup;
/*
 * Open @name's cgroup: the runtime's group STORE_DIR/NAME/state records ("cgroup", set
 * by ctswap_attach()), else ctswap/NAME.  -ENOENT when there is none.
 */
int ct_cg_open(const char *store_dir, const char *name, struct ct_cgroup **cg);
/* True if @name lives in a runtime's cgroup (ctswap_attach()). */
bool ct_cg_external(const char *store_dir, const char *name);

/*
 * Wait (bounded, with a warning) until the supervisor of a container whose
 * tasks are dead has recorded the exit and left: until then it still holds
 * console.sock, which it unlinks on its way out, so a restore started before
 * would lose its new socket.
 */
void ct_wait_supervisor(struct ctswap_store *store, const char *name);

/*
 * Refuse @what ("dump", "restore") with -EPERM "WHAT: permission denied:
 * needs CAP_SYS_PTRACE and CAP_CHECKPOINT_RESTORE (run as root)" unless the
 * caller's effective set has CAP_SYS_PTRACE and CAP_CHECKPOINT_RESTORE (or
 * CAP_SYS_ADMIN).  In privilege.c.
 */
int ct_check_cr_privilege(const char *what);

/* The container life cycle behind kernel/api/container.c (include/ctswap.h). */
int ct_run(struct ctswap_store *store, const char *name, const struct ctswap_run_opts *opts,
	   pid_t *init_pid);
int ct_freeze(struct ctswap_store *store, const char *name, int timeout_ms);
int ct_thaw(struct ctswap_store *store, const char *name);
int ct_kill(struct ctswap_store *store, const char *name);
int ct_rm(struct ctswap_store *store, const char *name, bool force);
const char *ct_state_name(enum ctswap_state state);
int ct_info(struct ctswap_store *store, const char *name, struct ctswap_info *info);
int ct_list(struct ctswap_store *store, int (*fn)(const struct ctswap_info *info, void *arg),
	    void *arg);

#endif
