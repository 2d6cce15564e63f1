/* SPDX-License-Identifier: MIT */
/*
 * POSIX message queues of a container's own IPC namespace: dumped with
 * their names, attributes, owners and messages, made again before any task
 * runs; their descriptors are an fd kind (fd_kind_mqueue).  Both sides run
 * in a thread that joined the namespace (container/shape.h: shape_in_ns).
 */
#ifndef CT_TASK_MQUEUE_H
#define CT_TASK_MQUEUE_H

#include <sys/types.h>

struct ct_image;

/*
 * In the container's IPC namespace: append its queues, their messages
 * (taken and given back in order) and the namespace's limits to @img;
 * refuse a queue with an mq_notify registration or a sender waiting on it.
 * @pid (the init, inside) names the container in errors.
 */
int mqueue_dump(struct ct_image *img, pid_t pid);
/* In the container's new IPC namespace: its limits and queues again. */
int mqueue_restore(const struct ct_image *img);

#endif
