/* SPDX-License-Identifier: MIT */
/*
 * Per-container exclusive lock: flock(LOCK_EX|LOCK_NB) on STORE/NAME/lock,
 * which holds "pid N WHAT" of the holder so a refusal can say who.  A lock
 * left by a killed process is free again (flock dies with its file).
 * run, freeze, thaw, kill, rm, dump and restore take it.
 *
 * The holder line doubles as a "command in progress" marker: ct_unlock()
 * empties the file, so a lock that is free but not empty was held by a
 * command that died (kill -9, OOM) before it finished.  The next ct_lock()
 * (and ctswap_info(), through ct_lock_recover_stale()) repairs what such a
 * command can leave behind and says so on the log (warnings):
 *   - a cgroup a dead dump or restore left frozen is thawed;
 *   - half-written files (swap.idx.tmp, ckpt-N.meta.tmp) are removed;
 *   - a "phase inject PID" note means the dead dump was changing PID's
 *     registers; the kernel killed PID with it (PTRACE_O_EXITKILL), which
 *     is reported.
 * The lock file holds, one per line:
 *   pid N WHAT                the holder and its command
 *   phase PHASE [ARG]         optional: what the holder is doing now
 */
#ifndef CT_LOCK_H
#define CT_LOCK_H

#include <stdbool.h>

/*
 * Take @name's lock for @what ("dump", "restore", "rm", ...).  Fails with
 * -ENOENT "NAME: no such container" when STORE/NAME does not exist, and with
 * -EBUSY "NAME: busy: pid 1234 is running dump" when another holds it.
 * Repairs what a dead earlier holder left (see above) before returning.
 */
int ct_lock(const char *store_dir, const char *name, const char *what, int *lock_fd);
/* Release a lock taken with ct_lock (-1 is ignored). */
void ct_unlock(int lock_fd);
/*
 * Record what the holder of @lock_fd is doing now ("phase PHASE ARG"), or
 * clear it with a NULL @phase.  Best effort: a failure is only logged.
 */
void ct_lock_phase(int lock_fd, const char *phase, long arg);
/*
 * If @name's lock is free but names a dead holder, repair as ct_lock()
 * would and empty it.  Never records a ct_err; returns true if it repaired.
 */
bool ct_lock_recover_stale(const char *store_dir, const char *name);

/* In recover.c: repair after the dead holder described by @holder (the lock file's text). */
void ct_recover(const char *store_dir, const char *name, const char *holder);

#endif
