/* SPDX-License-Identifier: MIT */
/*
 * Descriptor kinds: one table entry per kind of open file description, each
 * kind's whole life in its own file of kernel/task/ (regfile.c, pipe.c,
 * unix.c, inet.c, epoll.c, anonfd.c, inotify.c, tty.c, pty.c):
 *
 *   match, dump          dump: is this fd ours, and fill a struct ct_file from it
 *   dump_resolve         dump: once every fd of the task is recorded (epoll targets)
 *   dump_finish          dump: once every task is recorded
 *   fmt.encode, .decode  blob: the kind's nested records inside a FILE record
 *   fmt.is_sane          validate: the kind's payload of an untrusted image
 *   open, open_late      restore: rebuild the description in the restorer
 *   install              restore: once the task's fds are in place (epoll items)
 *   fmt.free             what the kind's payload holds
 *
 * The fmt part is what image/ (blob, validator) calls, through
 * ct_file_format_of(): image/ includes nothing of task/.
 *
 * files.c walks the table in order for each fd (so a more specific kind
 * comes before a general one) and keeps what all kinds share: the fd list,
 * descriptions shared between fds, the transport fds of the restore.
 * A new kind is one new file plus its line in fd_kinds[] (fdkinds.c), one
 * CT_FILE_* number (image/image.h) and the tags of its records (record.h).
 */
#ifndef CT_TASK_FDKINDS_H
#define CT_TASK_FDKINDS_H

#include <sys/stat.h>

#include "image/record.h"
#include "task/task.h"

/* What a kind's dumper gets: the fd of a seized task and what files.c already read. */
struct fd_dump {
	const struct task_ctx *tc;
	const struct ct_image *img;
	pid_t pid;			/* host pid */
	int fd;
	const char *link;		/* readlink of /proc/PID/fd/FD */
	const struct stat *st;
	int sk;				/* sockets: a duplicate of the fd in this process, else -1 */
	int sk_family;			/* sockets: SO_DOMAIN, else -1 */
};

/* What a kind's opener gets: the image, where transport fds go, the policy. */
struct fd_restore {
	const struct ct_image *img;
	struct file_table *ft;
	int base;			/* transport fds go at or above this number */
	bool allow_changed;		/* --allow-changed-files */
	const struct shm_fds *shm;	/* the shared memory objects (memfds), NULL if none */
	int host_root;			/* the dumper's / when we run in the container's root; -1 */
};

struct fd_kind {
	uint32_t kind;			/* CT_FILE_* */
	struct ct_file_format fmt;	/* name, blob records, checks, free (image/image.h) */
	/* dump */
	bool (*match)(const struct fd_dump *d);
	int (*dump)(const struct fd_dump *d, struct ct_file *f);
	/* after every fd of @t is recorded: file @i, new in @t, held at fd @fd (may add files) */
	int (*dump_resolve)(struct task_ctx *tc, struct ct_image *img, const struct ct_task *t,
			    uint32_t i, int fd);
	/* after every task is recorded (dump_files_finish): file @i, the dump's @policy */
	int (*dump_finish)(struct ct_image *img, uint32_t i, const struct task_ctx *policy);
	/* restore: open file @i into rs->ft->fds[i] (and whatever else it opens with it) */
	int (*open)(struct fd_restore *rs, uint32_t i);
	/* open @i in the second pass, once every other file is open? */
	bool (*open_late)(const struct ct_image *img, uint32_t i);
	/* in task @t, its fds in place: finish file @i held at fd @fd */
	int (*install)(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft,
		       uint32_t i, int fd);
};

/* fdkinds.c: the table */
/* The kind with number @kind, NULL if none. */
const struct fd_kind *fd_kind_of(uint32_t kind);
/* The first kind of the table whose match() takes this fd, NULL if none. */
const struct fd_kind *fd_kind_match(const struct fd_dump *d);

/* files.c: helpers for the kinds */
/* A duplicate of fd @fd of @pid in this process (pidfd_getfd), O_CLOEXEC; -errno. */
int fd_grab(pid_t pid, int fd);
/* /proc/PID/fdinfo/FD into a malloc'd string. */
int fd_read_fdinfo(pid_t pid, int fd, char **buf);
/* Open /proc/PID/fd/FD again: a new description of the same file. */
int fd_reopen(pid_t pid, int fd, int flags);
/* Set O_NONBLOCK, O_APPEND... of a rebuilt description as recorded. */
void file_set_status(int fd, const struct ct_file *f);
/* Move @fd above @base into the transport range of @ft; closes the original. */
int file_place_high(int fd, int base, struct file_table *ft);
/* Set the status flags of @fd (unless -errno) and make it the transport fd of file @i. */
int fd_restore_place(struct fd_restore *rs, uint32_t i, int fd);
/* Open the path of @f (ct_file.outside: from rs->host_root). */
int file_open_path(const struct fd_restore *rs, const struct ct_file *f, int flags);
/* changed.c: may description @f, open again at @fd, be restored although its file changed? */
int file_check_id(const struct ct_file *f, int fd, bool allow_changed);
/* changed.c: the same for regular file @i of a restore, each inode's contents compared once. */
int file_check_restore(const struct fd_restore *rs, uint32_t i, int fd);
/* changed.c: record what tells at restore whether regular file @f only grew (ctime, checksum). */
int file_change_dump(const struct fd_dump *d, struct ct_file *f);
/* The "unsupported file type" refusal for fd @d, naming it; -ENOTSUP. */
int fd_refuse(const struct fd_dump *d);

/* regfile.c */
/* is_sane of the kinds opened by path: they have one. */
bool file_has_path(const struct ct_image *img, const struct ct_file *f);
/* Is @path one of the character devices reopened by path? */
bool chr_is_allowed(const char *path);

/* pipe.c: put @len bytes back into a pipe through its write end @wfd */
int pipe_refill(int wfd, uint32_t size, const uint8_t *data, uint64_t len, const char *what);

/* socket.c: the socket record of the unix and inet kinds */
void sock_encode(struct wbuf *w, const struct ct_file *f);
void sock_decode(uint32_t tag, struct rbuf *r, struct ct_file *f);
void sock_free(struct ct_file *f);
/* Its fields alone (the format-1 FILE record holds them inline). */
void sock_decode_fields(struct rbuf *r, struct ct_file *f);
/* Record the buffer sizes of @sk and their locks (SO_BUF_LOCK). */
void sock_dump_bufs(int sk, struct ct_file *f);
/* Set the recorded buffer sizes on @sk, then put their locks back as they were. */
void sock_restore_bufs(int sk, const struct ct_file *f);

/* unix.c */
/* Does file @i connect to a name bound by another file (opened in the second pass)? */
bool unix_open_late(const struct ct_image *img, uint32_t i);

/* inet.c */
/* "addr:port" or "[addr]:port" of a recorded socket address, into @buf. */
const char *inet_name(const uint8_t *addr, uint64_t len, char *buf, size_t size);
/* Set the recorded options (reuse flags, nodelay, keepalive, buffer sizes) on a new socket. */
void inet_set_opts(int sk, const struct ct_file *f);

/* tcprepair.c: established TCP connections restored alive (--tcp-established) */
/* Put @sk in repair mode (held in d->tc->tcp_repair until the dump ends) and record it. */
int tcp_repair_dump(const struct fd_dump *d, int sk, struct ct_file *f);
/* Rebuild a recorded connection (CT_SKOPT_REPAIR), left in repair mode; the old socket must be gone. */
int tcp_repair_open(const struct ct_file *f);
/* The TCP_REPAIR state as a nested record of a FILE, and back. */
void tcp_repair_encode(struct wbuf *w, const struct ct_tcp *t);
void tcp_repair_decode(struct rbuf *r, struct ct_tcp *t);
/* Once every file of @img is open in @ft: the rebuilt connections leave repair mode. */
int tcp_repair_finish(const struct ct_image *img, const struct file_table *ft);

/* fdkinds_v1.c: blob_read_file_v1 (image/blob.h) reads format-1 FILE records */

/* tty.c: is @st a terminal of ours (pty slave, /dev/tty)? */
bool tty_is_console(const struct stat *st);
/* The terminal's fields (the format-1 FILE record ends with them). */
void tty_decode_fields(struct rbuf *r, struct ct_file *f);
/* The terminal's settings as a TTY record nested in a FILE. */
void tty_encode(struct wbuf *w, const struct ct_file *f);
/* Flags, window size and owner of a terminal's record within bounds? */
bool tty_settings_are_sane(const struct ct_file *f);
/* Read termios2 and the window size of terminal @fd (dump @d's) into @f. */
int tty_read_settings(const struct fd_dump *d, int fd, struct ct_file *f);
/* A terminal's node (/dev/pts/N): from its stat, as two timespecs, in a record, sane? */
void tty_node_read(const struct stat *st, struct ct_pty_node *n);
void tty_node_times(const struct ct_pty_node *n, struct timespec ts[2]);
/* Give node @name (at @dirfd, a link followed) @n's owner, permissions and times (mode 0: nothing); -errno, errno set. */
int tty_node_apply_at(int dirfd, const char *name, const struct ct_pty_node *n);
void tty_node_encode(struct wbuf *w, const struct ct_pty_node *n);
void tty_node_decode(struct rbuf *r, struct ct_pty_node *n);
bool tty_node_is_sane(const struct ct_pty_node *n);
/* Refuse terminal fd @fd (of dump @d) if it holds input the program has not read. */
int tty_check_unread_input(const struct fd_dump *d, int fd);
/* Set @f's termios2 and window size on terminal @fd (a pty master sets its slave's). */
int tty_apply(int fd, const struct ct_file *f);
/* A new slave description of pty @master's (TIOCGPTPEER), close-on-exec in this process. */
int tty_peer(int master, int flags);
/* The in-container id of host process group @host_pgrp (session @host_sid); 0 if no task has it. */
pid_t tty_ns_pgrp(const struct ct_image *img, int host_pgrp);
pid_t tty_ns_sid(const struct ct_image *img, int host_sid);
/* /proc/PID/stat's tty_nr of device @dev. */
uint32_t tty_encode_dev(dev_t dev);
/* The session of @img whose controlling terminal is @dev (tty_nr) and its foreground group, into @f. */
void tty_find_owner(const struct ct_image *img, uint32_t dev, struct ct_file *f);

/* pty.c: the transport fd's file index of a slave of the pty whose master is file @master; -1 none */
int pty_slave_of(const struct ct_image *img, const struct file_table *ft, uint32_t master);

/*
 * deleted.c: a file whose fd names it "... (deleted)" although it has links
 * (an O_TMPFILE file given a name by linkat): find that name in the same
 * directory for f->path, or refuse.
 */
int deleted_find_name(const struct fd_dump *d, struct ct_file *f);
/* deleted.c: open deleted description @i, sharing the inode an earlier one of it recreated */
int deleted_open(const struct ct_image *img, uint32_t i, const struct file_table *ft);

#endif
