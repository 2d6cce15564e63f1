/* SPDX-License-Identifier: MIT */
/*
 * The shape of a container beyond its pid namespace: root filesystem and
 * the mounts a runtime gives it, hostname, network namespace.  The caller
 * checks and prepares it (shape_prepare), the supervisor clones the init
 * with shape_clone_flags(), and the init sets it up (shape_enter) before it
 * runs anything of the container.
 *
 * Decision: --rootfs and --hostname give the container new UTS and IPC
 * namespaces, as container runtimes do; without them the host's are shared.
 */
#ifndef CT_SHAPE_H
#define CT_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctswap.h"

struct mnt_plan;

struct ct_shape {
	char *rootfs;			/* absolute; NULL: the host's / */
	const char *hostname;		/* NULL: unchanged */
	const char *domainname;		/* NULL: unchanged */
	bool new_uts, new_ipc;		/* own UTS, IPC namespace */
	bool new_time;			/* own time namespace with these offsets: */
	int64_t mono_off_ns, boot_off_ns;
	enum ctswap_net net;
	int net_fd;			/* CTSWAP_NET_NS: the namespace file, open; else -1 */
	const struct ctswap_mount *mounts;	/* binds under rootfs */
	size_t nr_mounts;
	/* restore: a mount tree the holder built (task/mounts.h); the init joins it */
	const struct mnt_plan *mnt_plan;	/* NULL: none (mnt_fd unused) */
	int mnt_fd;			/* its mount namespace, open */
};

/*
 * Check @opts (rootfs a directory, net namespace file a network namespace,
 * binds with existing sources and absolute targets) and fill @s.  Nothing
 * is created; on failure one line names the bad option.  Call
 * shape_release() afterwards whatever it returned.
 */
int shape_prepare(const char *name, const struct ctswap_run_opts *opts, struct ct_shape *s);
/* Close what shape_prepare() opened. */
void shape_release(struct ct_shape *s);
/* The clone3 flags @s needs on top of the pid namespace's (NULL: none). */
unsigned long shape_clone_flags(const struct ct_shape *s);
/*
 * In the init, just cloned (new mount namespace when @new_pidns or a
 * rootfs): join or set up the network, build the root filesystem and
 * pivot into it, or join the mount tree a restore built (mnt_plan), or
 * mount a private /proc over the host's tree for a pid namespace; set the
 * hostname.  @s may be NULL.
 */
int shape_enter(const struct ct_shape *s, bool new_pidns);

/*
 * In the supervisor, before it clones the init: a new time namespace for
 * its children with @s's offsets (the init is made in it).  @s may be NULL.
 */
int shape_time_for_children(const struct ct_shape *s);

/*
 * Run @fn(@arg) in a thread that joined namespace file @fd of type @nstype
 * (CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC); the rest of the process stays
 * where it is.  Returns what @fn returned, its ct_err line carried over.
 */
int shape_in_ns(int fd, int nstype, int (*fn)(void *arg), void *arg);
/*
 * Run @fn(@arg) in a thread chrooted into directory @root_fd (another mount
 * namespace's root: paths resolve in its tree) and, unless @fd is -1, in
 * that namespace of type @nstype.
 */
int shape_in_root(int root_fd, int fd, int nstype, int (*fn)(void *arg), void *arg);
/* The same in namespace @ns ("net", "uts", "ipc") of process @pid. */
int shape_in_pid_ns(pid_t pid, const char *ns, int (*fn)(void *arg), void *arg);
/* Open network namespace file @path (checked to be one) into *@fd. */
int shape_open_netns(const char *path, int *fd);
/* A new network namespace holding only lo (up if @lo_up); *@fd is it, open. */
int shape_new_netns(bool lo_up, int *fd);
/*
 * A new, empty IPC namespace; *@fd is it, open.  Restore fills it
 * (shape_in_ns) before the init joins it, so every IPC object is there
 * before any task runs or opens one.
 */
int shape_new_ipcns(int *fd);

#endif
