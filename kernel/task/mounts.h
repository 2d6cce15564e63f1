/* SPDX-License-Identifier: MIT */
/*
 * The container's mount tree (mounts.c) and the contents of its tmpfs
 * mounts (tmpfs.c): recorded at dump from the init's mountinfo, rebuilt at
 * restore on the root directory the caller gives.
 *
 * Restore builds the tree in two steps, each making its mounts detached
 * in the order the dump saw them made (a mount namespace lists its mounts
 * in that order), then attaching them, parents first.  A short-lived
 * holder process, forked by the restorer, joins the container's network
 * and IPC namespaces, makes a new mount namespace, makes everything but
 * what depends on the container's pid namespace (each tmpfs filled as it
 * is made), attaches the root, pivots into it and attaches the rest; the
 * restorer keeps the namespace and its root open, opens the container's
 * files inside it, and the init joins it (mnt_enter) and makes the rest:
 * the binds of devpts files (the ptys are made after the holder).  Proc
 * instances show the pid namespace the plan made before the holder
 * (mnt_plan_pidns), which the init is born in later, so they are made in
 * their place too.
 */
#ifndef CT_TASK_MOUNTS_H
#define CT_TASK_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctswap.h"
#include "image/image.h"

/* ---- dump ---- */

struct mnt_dump_opts {
	const struct ctswap_ext_mount *ext;	/* mounts the caller names external */
	size_t nr_ext;
	uint64_t max_file_size;			/* a bigger tmpfs file refuses the dump */
};

/*
 * Record the mount tree of the init (@host_pid, @pid inside) in @img->mounts
 * and the files of its tmpfs mounts in @img->tmpfs.  @ref_pid's mountinfo is
 * the host's: a mount whose file system it also has is external.  What
 * cannot be made again is refused with one line naming the mount point.
 */
int mounts_dump(struct ct_image *img, pid_t host_pid, pid_t pid, pid_t ref_pid,
		const struct mnt_dump_opts *o);
/*
 * After the files are recorded: mark each description opened by path whose
 * path leads to its inode in the dumper's tree but not in the container's
 * (a log the supervisor opened before the pivot: ct_file.outside).
 */
int mounts_mark_outside(struct ct_image *img, pid_t host_pid);

/* ---- restore ---- */

/* Make directory @root, a mount point, / of our mount namespace (pivot_root), and go there. */
int mounts_pivot(const char *root);

/* What restore needs to rebuild the tree: the root and each external mount's source. */
struct mnt_plan {
	const struct ct_image *img;
	char *root;			/* host directory of the container's / */
	char **src;			/* per mount: EXTERNAL: the host path to bind; else NULL */
	bool *deferred;			/* per mount: made by the init (mnt_enter), not the holder */
	int pidns_fd;			/* the container's pid namespace, no process yet (-1: none) */
};

/*
 * Check and resolve: the root directory (@root, or the one of the dump),
 * each external mount's source (@ext maps ids to host paths, or the dump's
 * path).  One line names what is missing; nothing is created.
 */
int mnt_plan_make(const struct ct_image *img, const char *name, const char *root,
		  const struct ctswap_ext_mount *ext, size_t nr_ext, struct mnt_plan **plan);
void mnt_plan_free(struct mnt_plan *plan);
/*
 * A new pid namespace for the container, with no process yet, in
 * @plan->pidns_fd: the tree's proc instances show it (made before the
 * init, in their place), and the init is born in it (setns, then clone).
 */
int mnt_plan_pidns(struct mnt_plan *plan);
/*
 * Build the tree (but the deferred mounts) in a new mount namespace, from a
 * holder process that joins network namespace @net_fd and IPC namespace
 * @ipc_fd first (sysfs and mqueue show their mounter's; -1: ours).
 * *@mnt_fd is the namespace, *@root_fd its root.
 */
int mnt_build(const struct mnt_plan *plan, int net_fd, int ipc_fd, int *mnt_fd, int *root_fd);
/*
 * In the init (single-threaded, in its own pid namespace): make the
 * deferred mounts, join mount namespace @mnt_fd, whose root becomes its /,
 * and attach them; @devpts (-1: none) is the restored ptys' devpts
 * instance, a detached mount, put at the container's /dev/pts.
 */
int mnt_enter(const struct mnt_plan *plan, int mnt_fd, int devpts);

/*
 * Running in the rebuilt tree's root (a thread chrooted into it): take each
 * file the image names by path (descriptions, mappings, executables) that
 * is now another inode of the same size and modification time as the same
 * file (tmpfs files were made again; a root given again may be a copy or
 * an overlay mounted anew): its recorded identity becomes the new inode's.
 */
void mounts_rekey(struct ct_image *img);

/* ---- tmpfs.c ---- */

/*
 * Record every file of tmpfs mount @mount, open at directory @dirfd (its
 * root, no submounts); refusals name the container's init @pid.
 */
int tmpfs_dump(struct ct_image *img, uint32_t mount, int dirfd, uint64_t max_file_size, pid_t pid);
/* openat(2) that leaves the access time alone if it can (O_NOATIME). */
int tmpfs_open_noatime(int dirfd, const char *name, int flags);
/* Make the files of tmpfs mount @mount again under @dirfd (its fresh root). */
int tmpfs_fill(const struct ct_image *img, uint32_t mount, int dirfd);

#endif
