/* SPDX-License-Identifier: MIT */
/*
 * Shared memory objects on dump: each stored whole from the object itself,
 * once, under its swap-area key (see mm/shm.c; restore: restore/shm.c).
 */
#ifndef CT_MM_SHM_H
#define CT_MM_SHM_H

#include "image/image.h"

struct dump_pages;
struct vma_shm_table;

/* Count the pages every object of @shm holds, as shm_dump_objects will store them. */
int shm_count_pages(const struct vma_shm_table *shm, uint64_t *nr_pages);

/*
 * Push every page of every object in @dp->shm (found through SEEK_DATA on
 * the object, whether or not any process maps it) and append one struct
 * ct_shm per object to @img.  The tasks must be stopped.
 */
int shm_dump_objects(struct dump_pages *dp, struct ct_image *img);

/*
 * In the container's own IPC namespace (a thread that joined it): add every
 * SysV segment to @shm with its identity (key, id, mode, owner, removed,
 * locked), attached to a process or not; @pid names the container in errors.
 */
int shm_dump_sysv(struct vma_shm_table *shm, pid_t pid);
/*
 * Every mapping of such a segment in @img's tasks is a whole attachment
 * (restore attaches it again with shmat); else refuse, naming it.
 */
int shm_check_sysv(const struct ct_image *img, const struct vma_shm_table *shm);
/* Is a SysV segment of the container's own namespace attached by one of its processes? */
bool shm_sysv_attached(const struct vma_shm_table *shm);

#endif
