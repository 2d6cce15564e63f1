/* SPDX-License-Identifier: MIT */
/*
 * Between files.c and the rooms of the other kinds of open files (unix.c,
 * inet.c, epoll.c, anonfd.c, inotify.c): each kind has a dump function that
 * fills a struct ct_file from a live fd of a seized task, and an open
 * function that rebuilds the description in the restorer.
 */
#ifndef CT_TASK_FDKINDS_H
#define CT_TASK_FDKINDS_H

#include <sys/stat.h>

#include "task/task.h"

/* What a kind's dumper gets: the fd of a seized task and what files.c already read. */
struct fd_dump {
	const struct task_ctx *tc;
	const struct ct_image *img;
	pid_t pid;			/* host pid */
	int fd;
	const char *link;		/* readlink of /proc/PID/fd/FD */
	const struct stat *st;
};

/* files.c: helpers for the rooms */
/* A duplicate of fd @fd of @pid in this process (pidfd_getfd), O_CLOEXEC; -errno. */
int fd_grab(pid_t pid, int fd);
/* /proc/PID/fdinfo/FD into a malloc'd string. */
int fd_read_fdinfo(pid_t pid, int fd, char **buf);
/* Set O_NONBLOCK, O_APPEND... of a rebuilt description as recorded. */
void file_set_status(int fd, const struct ct_file *f);
/* Move @fd above @base into the transport range of @ft; closes the original. */
int file_place_high(int fd, int base, struct file_table *ft);

/* unix.c */
int unix_dump(const struct fd_dump *d, int sk, struct ct_file *f);
/* Does file @i connect to a name bound by another file (opened in the second pass)? */
bool unix_open_late(const struct ct_image *img, uint32_t i);
/* Open file @i (and its pair's other end, if it is one) into @ft. */
int unix_open(const struct ct_image *img, uint32_t i, int base, struct file_table *ft);

/* inet.c */
int inet_dump(const struct fd_dump *d, int sk, struct ct_file *f);
int inet_open(const struct ct_file *f);
/* "addr:port" or "[addr]:port" of a recorded socket address, into @buf. */
const char *inet_name(const uint8_t *addr, uint64_t len, char *buf, size_t size);
/* Set the recorded options (reuse flags, nodelay, keepalive, buffer sizes) on a new socket. */
void inet_set_opts(int sk, const struct ct_file *f);

/* tcprepair.c: established TCP connections restored alive (--tcp-established) */
/* Put @sk in repair mode (held in d->tc->tcp_repair until the dump ends) and record it. */
int tcp_repair_dump(const struct fd_dump *d, int sk, struct ct_file *f);
/* Rebuild a recorded connection (CT_SKOPT_REPAIR); the old socket must be gone. */
int tcp_repair_open(const struct ct_file *f);

/* epoll.c */
int epoll_dump(const struct fd_dump *d, struct ct_file *f);
/* After every fd of @t is recorded: name the targets of epolls new since file @first. */
int epoll_dump_resolve(struct ct_image *img, const struct ct_task *t, uint32_t first);
int epoll_open(const struct ct_file *f);
/* Add the interest lists of @t's epoll fds by injection (targets must be in place). */
int epoll_restore_task(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft);

/* anonfd.c: eventfd, signalfd, timerfd */
int eventfd_dump(const struct fd_dump *d, struct ct_file *f);
int eventfd_open(const struct ct_file *f);
int signalfd_dump(const struct fd_dump *d, struct ct_file *f);
int signalfd_open(const struct ct_file *f);
int timerfd_dump(const struct fd_dump *d, struct ct_file *f);
int timerfd_open(const struct ct_file *f);

/* tty.c: is @st a terminal of ours (pty slave, /dev/tty)? */
bool tty_is_console(const struct stat *st);
int tty_dump(const struct fd_dump *d, struct ct_file *f);
/* Open file @i, creating the console pty on the first one (ft->tty_master). */
int tty_open(const struct ct_image *img, uint32_t i, int base, struct file_table *ft);

/* changed.c: may description @f, open again at @fd, be restored although its file changed? */
int file_check_changed(const struct ct_file *f, int fd, bool allow_changed);

/*
 * deleted.c: a file whose fd names it "... (deleted)" although it has links
 * (an O_TMPFILE file given a name by linkat): find that name in the same
 * directory for f->path, or refuse.
 */
int deleted_find_name(const struct fd_dump *d, struct ct_file *f);
/* deleted.c: open deleted description @i, sharing the inode an earlier one of it recreated */
int deleted_open(const struct ct_image *img, uint32_t i, const struct file_table *ft);

/* inotify.c */
int inotify_dump(const struct fd_dump *d, struct ct_file *f);
int inotify_open(const struct ct_file *f);

#endif
