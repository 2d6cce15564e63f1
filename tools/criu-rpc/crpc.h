/* SPDX-License-Identifier: MIT */
/*
 * ctswap's criu-compatible front end: what its files share.
 *
 * A runtime runs `criu swrk FD` and speaks over FD, one end of a
 * SOCK_SEQPACKET socketpair: one request in, notifications out (each
 * answered by the caller before we go on), one final reply, then we exit.
 * The front end is a tool like the CLI: it sees include/ctswap.h only.
 */
#ifndef CRPC_H
#define CRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "crpc.pb-c.h"

/* The version we answer VERSION with: what runc and podman check (>= 3.16). */
#define CRPC_COMPAT_MAJOR 3
#define CRPC_COMPAT_MINOR 17
#define CRPC_COMPAT_SUBLEVEL 0
/* A reply larger than this is cut by go-criu's receive buffer. */
#define CRPC_MAX_REPLY 40960
/* A request larger than this is refused (the largest seen is a few KiB). */
#define CRPC_MAX_REQUEST (1 << 20)

/* One connection: the socket and who is on the other end. */
struct crpc_conn {
	int sk;
	pid_t peer;		/* SO_PEERCRED: whose fd numbers images_dir_fd names */
	char errmsg[512];	/* the one-line reason of a failed request */
	int log_fd;		/* the caller's log file, where the reason is written too; -1 */
};

/* wire.c: packets, replies and notifications */
int crpc_recv(struct crpc_conn *c, Crpc__Request **out);
int crpc_send(struct crpc_conn *c, const Crpc__Response *resp);
int crpc_send_error(struct crpc_conn *c, Crpc__ReqType type, int err);
int crpc_notify(struct crpc_conn *c, const char *script, pid_t pid);
int crpc_notify_fd(struct crpc_conn *c, const char *script, pid_t pid, int fd);
int crpc_fail(struct crpc_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int crpc_open_caller_fd(struct crpc_conn *c, const char *what, int nr, int flags);
const char *crpc_type_name(Crpc__ReqType type);

/* job.c: what DUMP and RESTORE share */
#define CRPC_CT_NAME "ct"	/* the container's name in the images dir's store */
struct ctswap_store;
struct crpc_job {
	int images_fd, work_fd, log_fd;
	char images_dir[4096];		/* its real path */
	struct ctswap_store *store;	/* IMAGES/ctswap */
};
int crpc_job_open(struct crpc_conn *c, const Crpc__Request *req, struct crpc_job *job);
void crpc_job_close(struct crpc_job *job);
int crpc_engine_fail(struct crpc_conn *c, int err, const char *what);
int crpc_write_stats(struct crpc_conn *c, struct crpc_job *job, const char *name,
		     const Crpc__Stats *st);
int crpc_write_inventory(struct crpc_conn *c, struct crpc_job *job);
int crpc_dir_path(struct crpc_conn *c, const char *what, int fd, char *buf, size_t size);

/* predump.c: the swap area a pre-dump left in the parent images dir */
int crpc_take_parent(struct crpc_conn *c, const Crpc__Request *req, struct crpc_job *job);

/* dump.c (DUMP and PRE_DUMP), restore.c */
int crpc_dump(struct crpc_conn *c, const Crpc__Request *req);
int crpc_restore(struct crpc_conn *c, const Crpc__Request *req);
struct ctswap_ext_mount;
int crpc_ext_mounts(struct crpc_conn *c, const Crpc__Options *o, struct ctswap_ext_mount **out);

/* options.c: what a request asks that the engine cannot honour */
int crpc_check_options(struct crpc_conn *c, Crpc__ReqType type, const Crpc__Options *o);

/* serve.c */
int crpc_serve(struct crpc_conn *c);

#endif
