/* SPDX-License-Identifier: MIT */
/* Helpers shared by the container lifecycle and listing code. */
#ifndef CT_CONTAINER_H
#define CT_CONTAINER_H

struct ctswap_store;
struct ct_state;

/* Refuse a bad container name with ct_err ("NAME: invalid container name ..."). */
int ct_check_name(const char *name);
/* Read STORE/NAME/state; *@st is NULL (and 0 returned) when there is none. */
int ct_read_state(struct ctswap_store *store, const char *name, struct ct_state **st);

/*
 * Refuse @what ("dump", "restore") with -EPERM "WHAT: permission denied:
 * needs CAP_SYS_PTRACE and CAP_CHECKPOINT_RESTORE (run as root)" unless the
 * caller's effective set has CAP_SYS_PTRACE and CAP_CHECKPOINT_RESTORE (or
 * CAP_SYS_ADMIN).  In privilege.c.
 */
int ct_check_cr_privilege(const char *what);

#endif
