/* SPDX-License-Identifier: MIT */
/*
 * Per-container exclusive lock: flock(LOCK_EX|LOCK_NB) on STORE/NAME/lock,
 * which holds "pid N WHAT" of the holder so a refusal can say who.  A lock
 * left by a killed process is free again (flock dies with its file).
 * run, freeze, thaw, kill and rm take it; dump and restore should too.
 */
#ifndef CT_LOCK_H
#define CT_LOCK_H

/*
 * Take @name's lock for @what ("dump", "restore", "rm", ...).  Fails with
 * -ENOENT "NAME: no such container" when STORE/NAME does not exist, and with
 * -EBUSY "NAME: busy: pid 1234 is running dump" when another holds it.
 */
int ct_lock(const char *store_dir, const char *name, const char *what, int *lock_fd);
/* Release a lock taken with ct_lock (-1 is ignored). */
void ct_unlock(int lock_fd);

#endif
