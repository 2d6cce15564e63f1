/* SPDX-License-Identifier: MIT */
/*
 * SysV semaphore sets and message queues of a container's own IPC
 * namespace: dumped with their identity (key, id, mode, owner), values and
 * messages, and made again with the same ids.  Both sides run in a thread
 * that joined the namespace (container/shape.h: shape_in_ns).
 */
#ifndef CT_SYSVIPC_H
#define CT_SYSVIPC_H

#include <sys/types.h>

struct ct_image;

/*
 * In the container's IPC namespace (of init @pid, for messages): append
 * its limits, semaphore sets and message queues to @img.
 */
int sysvipc_dump(struct ct_image *img, pid_t pid);
/* In the container's new IPC namespace: make @img's objects again. */
int sysvipc_restore(const struct ct_image *img);
/* There, once every object of it is made (limits below them must not stop it): its limits. */
int sysvipc_restore_limits(const struct ct_image *img);

/* In the namespace: make the next object of @kind ("sem", "msg", "shm") get id @id. */
int sysvipc_next_id(const char *kind, int id);

#endif
