/* SPDX-License-Identifier: MIT */
/*
 * The checkpoint image in memory: what dump records and restore rebuilds.
 *
 * Dump fills a struct ct_image from the seized container; the blob module
 * (image/blob.h) writes it to STORE/NAME/ckpt-GEN.meta and reads it back;
 * restore rebuilds the container from it.  Page contents are not here: they
 * live in the swap area (mm/swaparea.h), keyed by (task key, vma start,
 * page address), where the task key is ct_task.pid (the pid inside the
 * container's pid namespace) and shared memory objects use keys from
 * CT_SHM_KEY_BASE up.
 *
 * Every pid here is as seen inside the container's pid namespace unless the
 * field name says host_.  Arrays are malloc'd; image_free() frees it all.
 */
#ifndef CT_IMAGE_H
#define CT_IMAGE_H

#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/user.h>

#define CT_SHM_KEY_BASE 0x80000000u	/* swap-area task keys for shared memory */
#define CT_SHM_MAX_SIZE (1ULL << 46)	/* a shared memory object's size, at most */
#define CT_NSIG 64
#define CT_MAX_PIDNS_LEVEL 32

/* ---- memory ---- */

enum ct_vma_kind {
	CT_VMA_ANON = 0,	/* private anonymous (heap, stack, malloc arenas) */
	CT_VMA_FILE_PRIVATE,	/* private file mapping; COW'd pages are dumped */
	CT_VMA_FILE_SHARED,	/* shared file mapping: the file is the store */
	CT_VMA_SHMEM,		/* shared memory object (struct ct_shm): stored whole, once */
	CT_VMA_VDSO,		/* [vdso] */
	CT_VMA_VVAR,		/* [vvar] */
	CT_VMA_VVAR_VCLOCK,	/* [vvar_vclock] */
	CT_VMA_VSYSCALL,	/* [vsyscall]: fixed by the kernel, not restored */
};

/* Identity of a file, to notice that it changed between dump and restore. */
struct ct_file_id {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec;
};

/*
 * What a regular file held open was at dump beyond its identity, so that
 * restore can tell a file that only grew from one changed in place
 * (task/changed.c).  flags 0: nothing recorded (a directory, an old blob).
 */
struct ct_file_change {
	uint32_t flags;			/* CT_CHANGE_* */
	int64_t ctime_sec, ctime_nsec;	/* st_ctim: no write leaves it as it was */
	uint64_t prefix_hash;		/* CT_CHANGE_HASHED: XXH3-64 of its first id.size bytes */
};

/*
 * A pty slave's node, /dev/pts/N: owner, permissions and times, which the
 * program can change (mesg, grantpt, a chown) and a new pty would not have.
 * mode 0: not recorded (an old blob).  ctime cannot be set from user space.
 */
struct ct_pty_node {
	uint32_t mode, uid, gid;	/* st_mode (S_IFCHR and the permission bits) */
	int64_t atime_sec, mtime_sec;
	uint32_t atime_nsec, mtime_nsec;
};

#define CT_CHANGE_CTIME		1	/* ctime_sec, ctime_nsec recorded */
#define CT_CHANGE_HASHED	2	/* prefix_hash covers the whole file as dumped */
#define CT_CHANGE_KNOWN		(CT_CHANGE_CTIME | CT_CHANGE_HASHED)

/* Are @c's flags known, a checksum only with the ctime, and the ctime a time? */
static inline bool ct_file_change_is_sane(const struct ct_file_change *c)
{
	if (c->flags & ~CT_CHANGE_KNOWN)
		return false;
	return !c->flags || ((c->flags & CT_CHANGE_CTIME) && c->ctime_nsec >= 0 && c->ctime_nsec < 1000000000);
}

struct ct_vma {
	uint64_t start, end;		/* [start, end) */
	uint64_t pgoff;			/* file offset in bytes */
	uint32_t prot;			/* PROT_* */
	uint32_t flags;			/* MAP_PRIVATE/MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN */
	uint32_t kind;			/* enum ct_vma_kind */
	uint32_t madv;			/* CT_MADV_* flags from smaps VmFlags */
	char *path;			/* file path for file and shmem mappings, NULL otherwise */
	struct ct_file_id file;		/* identity of that file at dump time */
	struct ct_file_change change;	/* file mappings: its ctime and checksum (task/changed.c) */
	uint32_t shm_key;		/* CT_VMA_SHMEM: swap-area key of the object */
	uint64_t nr_pages;		/* pages stored in the swap area for this vma */
};

#define CT_MADV_DONTFORK	(1u << 0)	/* VmFlags dc */
#define CT_MADV_WIPEONFORK	(1u << 1)	/* VmFlags wf */
#define CT_MADV_HUGEPAGE	(1u << 2)	/* VmFlags hg */
#define CT_MADV_NOHUGEPAGE	(1u << 3)	/* VmFlags nh */
#define CT_MADV_DONTDUMP	(1u << 4)	/* VmFlags dd */
#define CT_MADV_LOCKED		(1u << 5)	/* VmFlags lo */
#define CT_MADV_MERGEABLE	(1u << 6)	/* VmFlags mg */
#define CT_MADV_LOCKONFAULT	(1u << 7)	/* VmFlags lf: mlock2(MLOCK_ONFAULT) */
#define CT_MADV_SEALED		(1u << 8)	/* VmFlags sl: mseal() */

/*
 * A shared memory object: what CT_VMA_SHMEM mappings map (by key).  Its
 * contents are stored whole, every page the object holds whether or not a
 * process maps it, under task key @key, mapping 0, address = offset.
 */
enum ct_shm_kind {
	CT_SHM_ANON = 0,	/* MAP_SHARED|MAP_ANONYMOUS ("/dev/zero (deleted)") */
	CT_SHM_SYSV,		/* a SysV segment ("/SYSV%08x"): with its identity if sysv_flags say so */
	CT_SHM_MEMFD,		/* memfd_create(): name in @path, seals */
	CT_SHM_TMPFS,		/* a file on tmpfs mapped shared: @path, written back at restore */
	CT_SHM_TMPFS_DELETED,	/* the same, unlinked: an unlinked file in @path's directory */
	CT_SHM_NR_KINDS,
};

struct ct_shm {
	uint32_t key;			/* CT_SHM_KEY_BASE + n, unique in the image */
	uint32_t kind;			/* enum ct_shm_kind */
	uint64_t size;			/* the object's size (st_size) at dump */
	uint32_t seals;			/* memfd: F_GET_SEALS */
	uint32_t mode, uid, gid;	/* st_mode & 07777, owner */
	char *path;			/* memfd: its name; tmpfs: the file; NULL otherwise */
	uint64_t nr_pages;		/* pages stored for it */
	/* CT_SHM_SYSV of an own IPC namespace: made again as that segment (restore/shm.c) */
	int32_t sysv_key, sysv_id;	/* its key (0: IPC_PRIVATE or removed) and id */
	uint32_t sysv_flags;		/* CT_SHM_SYSV_*; 0: a memfd with its contents only */
};

#define CT_SHM_SYSV_IDENTITY	0x1	/* key, id, mode and owner kept: a SysV segment again */
#define CT_SHM_SYSV_DEST	0x2	/* marked for removal (IPC_RMID while attached) */
#define CT_SHM_SYSV_LOCKED	0x4	/* SHM_LOCK */
#define CT_SHM_SYSV_KNOWN	0x7

/* The mm fields prctl(PR_SET_MM_MAP) sets, and what goes with them. */
struct ct_mm {
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t *auxv;			/* pairs, terminated by AT_NULL */
	uint32_t auxv_len;		/* number of uint64_t in auxv */
	char *exe_path;			/* /proc/PID/exe at dump */
	struct ct_file_id exe_id;
	struct ct_file_change exe_change;	/* its ctime and checksum (task/changed.c) */
	uint32_t mlockall;		/* MCL_FUTURE [| MCL_ONFAULT] in force, 0 if none */
	uint32_t nr_vmas;
	struct ct_vma *vmas;		/* sorted by start */
};

/* ---- threads ---- */

struct ct_siginfo {
	uint8_t data[128];		/* siginfo_t as PTRACE_PEEKSIGINFO returns it */
};

struct ct_thread {
	pid_t tid;			/* innermost pid namespace */
	pid_t host_tid;			/* at dump, for messages */
	struct user_regs_struct regs;	/* includes fs_base, gs_base, orig_rax */
	uint8_t *xstate;		/* NT_X86_XSTATE as read, xstate_len bytes */
	uint32_t xstate_len;
	uint64_t blocked;		/* blocked signal mask */
	uint32_t nr_pending;		/* per-thread pending signals */
	struct ct_siginfo *pending;
	stack_t altstack;		/* sigaltstack */
	uint64_t rseq_abi, rseq_len;	/* rseq registration, 0 if none */
	uint32_t rseq_sig;
	uint64_t robust_list, robust_len;
	uint64_t clear_child_tid;
	char comm[16];			/* thread name (/proc/PID/task/TID/comm), "" if unknown */
	uint32_t seccomp_mode;		/* SECCOMP_MODE_DISABLED (0) or _FILTER (2) */
	uint32_t nr_seccomp;		/* filters of its chain ... */
	uint32_t *seccomp;		/* ... as indexes into ct_image.seccomp, oldest first */
};

/*
 * One seccomp filter program (classic BPF).  Threads that have the same
 * program (inherited, or installed with TSYNC) name the same entry.
 */
struct ct_seccomp_filter {
	uint32_t flags;			/* CT_SECCOMP_* it was installed with, as far as visible */
	uint32_t len;			/* instructions, 1..CT_BPF_MAXINSNS */
	uint64_t *insns;		/* struct sock_filter (8 bytes each) */
};

#define CT_BPF_MAXINSNS		4096	/* the kernel's BPF_MAXINSNS */
#define CT_SECCOMP_MAX_PATH	32768	/* the kernel's MAX_INSNS_PER_PATH: sum of (len + 4) per chain */
#define CT_SECCOMP_LOG		(1u << 1)	/* SECCOMP_FILTER_FLAG_LOG */

/* ---- signals, credentials, misc per-process state ---- */

struct ct_sigaction {
	uint64_t handler, flags, restorer, mask;	/* kernel struct sigaction */
};

struct ct_creds {
	uint32_t uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
	uint32_t nr_groups;
	uint32_t *groups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t securebits;
	bool no_new_privs;
};

struct ct_itimer {
	int64_t interval_usec, value_usec;
};

struct ct_posix_timer {
	int32_t id;			/* timer id as the process knows it */
	int32_t clock;
	int32_t notify;			/* sigev_notify */
	int32_t signo;
	uint64_t sigval;
	pid_t notify_tid;		/* SIGEV_THREAD_ID target */
	int64_t interval_nsec, value_nsec;
	int32_t overrun;
};

/* ---- files ---- */

enum ct_file_kind {
	CT_FILE_REG = 0,	/* regular file or directory opened by path */
	CT_FILE_PIPE,		/* one end of a pipe (pipe_id names the pipe) */
	CT_FILE_FIFO,		/* a named pipe opened by path */
	CT_FILE_CHR,		/* /dev/null, /dev/zero, /dev/urandom, ... by path */
	CT_FILE_UNIX,		/* AF_UNIX socket (sk_* fields) */
	CT_FILE_INET,		/* TCP or UDP socket over IPv4/IPv6 (sk_* fields) */
	CT_FILE_EPOLL,		/* epoll instance (epoll_tgts) */
	CT_FILE_EVENTFD,	/* eventfd (count, efd_flags) */
	CT_FILE_SIGNALFD,	/* signalfd (sigmask) */
	CT_FILE_TIMERFD,	/* timerfd (clock, timer values, count = ticks) */
	CT_FILE_INOTIFY,	/* inotify instance (watches) */
	CT_FILE_TTY,		/* the container's console: a pty slave, or /dev/tty naming it (tty_*) */
	CT_FILE_PIDFD,		/* pidfd of a process of the container (pidfd_pid) */
	CT_FILE_MEMFD,		/* a memfd: the shared memory object shm_key (image.shm) */
	CT_FILE_MQUEUE,		/* a POSIX message queue descriptor: path is the queue's name */
	CT_FILE_PTY,		/* a pty of the container's own devpts, master or slave (tty_*, pty_*) */
};

/* Socket states (ct_file.sk_state), the kernel's TCP_* numbers for the ones used. */
#define CT_SK_ESTABLISHED	1	/* connected */
#define CT_SK_CLOSE		7	/* unconnected (maybe bound) */
#define CT_SK_LISTEN		10

/* Socket options kept as booleans (ct_file.sk_opts). */
#define CT_SKOPT_REUSEADDR	(1u << 0)
#define CT_SKOPT_REUSEPORT	(1u << 1)
#define CT_SKOPT_NODELAY	(1u << 2)
#define CT_SKOPT_KEEPALIVE	(1u << 3)
#define CT_SKOPT_BROADCAST	(1u << 4)
#define CT_SKOPT_V6ONLY		(1u << 5)
#define CT_SKOPT_PASSCRED	(1u << 6)
#define CT_SKOPT_SNDBUF_LOCK	(1u << 7)	/* the program fixed SO_SNDBUF (SOCK_SNDBUF_LOCK) */
#define CT_SKOPT_RCVBUF_LOCK	(1u << 8)	/* ... SO_RCVBUF (SOCK_RCVBUF_LOCK): no autotuning */
#define CT_SKOPT_BUF_LOCKS	(1u << 9)	/* the two above were recorded (SO_BUF_LOCK), and
						   sk_rcvbuf/sk_sndbuf are the sizes as they were */
#define CT_SKOPT_RESET		(1u << 16)	/* INET: restore as a reset connection (--tcp-close);
						   UNIX: restore with its peer gone (--unix-close) */
#define CT_SKOPT_REPAIR		(1u << 17)	/* INET: restore alive through TCP_REPAIR (ct_file.tcp) */

/*
 * An established TCP connection as TCP_REPAIR reads it (--tcp-established).
 * The send queue holds sndq_len bytes ending at snd_seq, the last unsent of
 * them never sent; the receive queue holds rcvq_len unread bytes ending at
 * rcv_seq.
 */
struct ct_tcp {
	uint32_t snd_seq;		/* write_seq: after the last byte queued to send */
	uint32_t rcv_seq;		/* rcv_nxt: after the last byte received */
	uint32_t unsent;		/* bytes at the end of sndq not yet sent (SIOCOUTQNSD) */
	uint32_t mss;			/* TCP_MAXSEG */
	uint32_t opts;			/* TCPI_OPT_* of tcp_info (SACK, WSCALE, TIMESTAMPS) */
	uint32_t snd_wscale, rcv_wscale;
	uint32_t timestamp;		/* TCP_TIMESTAMP */
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;	/* TCP_REPAIR_WINDOW */
	uint8_t *sndq;			/* unacknowledged + unsent bytes */
	uint64_t sndq_len;
	uint8_t *rcvq;			/* received, unread bytes */
	uint64_t rcvq_len;
};

/* One entry of an epoll interest list, as /proc/PID/fdinfo shows it. */
struct ct_epoll_tgt {
	int32_t tfd;			/* fd number the target was added with */
	uint32_t events;		/* EPOLL* including EPOLLET/ONESHOT/EXCLUSIVE */
	uint64_t data;			/* epoll_data as the program set it */
	uint32_t file;			/* index into ct_image.files of the target */
	/* dump only, not stored: how the kernel names the item */
	uint64_t ino;			/* the target's inode (fdinfo) */
	uint32_t toff;			/* items before it added with the same fd number */
};

/* One inotify watch. */
struct ct_inotify_watch {
	int32_t wd;			/* watch descriptor the program knows */
	uint32_t mask;			/* IN_* mask and flags */
	char *path;			/* path of the watched inode at dump, NULL if deleted: */
	uint32_t file;			/* ... the deleted file's record, held open by a task */
	/* dump only, not stored: the watched inode, as fdinfo names it */
	uint64_t ino, dev;
};

#define CT_TTY_NCCS 19			/* the kernel's termios2 c_cc[] */

/*
 * One open file description; fds share it by index (as dup and fork do).
 * The common part comes first; the rest is the payload of its kind, one
 * member of the union per kind (kernel/task/fdkinds.h: each kind reads,
 * writes, checks, opens and frees only its own member).
 */
struct ct_file {
	uint32_t kind;			/* enum ct_file_kind */
	uint32_t flags;			/* open flags (O_ACCMODE, O_APPEND, O_NONBLOCK, ...) */
	uint64_t pos;
	char *path;			/* opened by path (REG, FIFO, CHR); NULL otherwise */
	uint32_t outside;		/* 1: @path is in the dumper's tree, not the container's own root */
	struct ct_file_id id;		/* the inode at dump (finds descriptions shared between fds) */
	union {
		struct {		/* REG */
			bool deleted;		/* its path is gone: contents below */
			uint8_t *contents;	/* deleted file contents */
			uint64_t contents_len;
			struct ct_file_change change;	/* did it only grow? (task/changed.c) */
		};
		struct {		/* PIPE, FIFO */
			uint32_t pipe_id;	/* PIPE: same id = same pipe (both ends) */
			uint8_t *pipe_data;	/* unread bytes, stored once per pipe (on one end) */
			uint64_t pipe_data_len;
			uint32_t pipe_size;	/* F_GETPIPE_SZ */
			/* restore only, never in the blob: the caller's pipe stands in */
			bool pipe_inherited;
			int pipe_inherit_fd;	/* ... open in the restorer */
		};
		struct {		/* UNIX, INET */
			uint32_t sk_family, sk_type, sk_proto;	/* socket(2) arguments */
			uint32_t sk_state;		/* CT_SK_* */
			uint32_t sk_backlog;		/* CT_SK_LISTEN: listen(2) backlog */
			uint32_t sk_shutdown;		/* 1 = receive, 2 = send side shut down */
			uint64_t sk_ino;		/* socket inode at dump (peer matching) */
			uint64_t sk_peer_ino;		/* UNIX: inode of the peer, 0 none or gone */
			uint8_t *sk_addr;		/* getsockname(), sk_addr_len bytes */
			uint64_t sk_addr_len;
			uint8_t *sk_peer_addr;		/* getpeername(), sk_peer_addr_len bytes */
			uint64_t sk_peer_addr_len;
			uint32_t sk_opts;		/* CT_SKOPT_* */
			uint32_t sk_rcvbuf, sk_sndbuf;	/* SO_RCVBUF/SO_SNDBUF as read (doubled); 0 = default */
			uint8_t *sk_queue;		/* UNIX: unread messages, each u32 length + bytes */
			uint64_t sk_queue_len;
			struct ct_tcp tcp;		/* INET with CT_SKOPT_REPAIR */
			uint32_t sk_file_mode;		/* UNIX bound to a path: its socket file's mode, 0 unknown */
			uint32_t sk_file_uid, sk_file_gid;	/* ... and owner */
		};
		struct {		/* EVENTFD, SIGNALFD, TIMERFD */
			uint64_t count;			/* EVENTFD: counter; TIMERFD: expirations not read */
			uint32_t efd_flags;		/* EVENTFD: EFD_SEMAPHORE */
			uint64_t sigmask;		/* SIGNALFD: bit (sig - 1) */
			int32_t clock;			/* TIMERFD: clock id */
			int64_t value_nsec, interval_nsec;	/* TIMERFD: remaining time at dump, period */
		};
		struct {		/* EPOLL */
			uint32_t nr_epoll_tgts;
			struct ct_epoll_tgt *epoll_tgts;
		};
		struct {		/* INOTIFY */
			uint32_t nr_watches;
			struct ct_inotify_watch *watches;
		};
		struct {		/* TTY: the terminal's settings, shared by every description of it */
			uint32_t tty_flags;		/* CT_TTY_* */
			uint32_t tty_dev;		/* device number (as /proc/PID/stat tty_nr) at dump */
			uint32_t tty_iflag, tty_oflag, tty_cflag, tty_lflag;	/* termios2 */
			uint32_t tty_line, tty_ispeed, tty_ospeed;
			uint8_t tty_cc[CT_TTY_NCCS];
			uint32_t tty_rows, tty_cols, tty_xpixel, tty_ypixel;	/* TIOCGWINSZ */
			int32_t tty_sid;		/* session whose controlling terminal it is, 0 none */
			int32_t tty_fg_pgrp;		/* its foreground process group, 0 none */
			/* PTY only (its master's record holds the settings above) */
			uint32_t pty_index;		/* N of /dev/pts/N */
			uint32_t pty_flags;		/* CT_PTY_* */
			uint8_t *pty_outq;		/* MASTER: written on the slave side, unread */
			uint64_t pty_outq_len;
			struct ct_pty_node pty_node;	/* MASTER, ORPHAN, the console's slave: the node */
		};
		struct {		/* PIDFD */
			int32_t pidfd_pid;		/* its process, pid inside the container; 0 reaped */
		};
		struct {		/* MEMFD */
			uint32_t shm_key;		/* its object, stored whole (ct_shm) */
		};
	};
};

/* Where the kind's payload of a struct ct_file starts (the union after the common part). */
#define CT_FILE_PAYLOAD offsetof(struct ct_file, deleted)

#define CT_TTY_DEVTTY		(1u << 0)	/* opened as /dev/tty: reopened as the new slave */

#define CT_PTY_MASTER		(1u << 0)	/* the master (/dev/ptmx); else a slave /dev/pts/N */
#define CT_PTY_LOCKED		(1u << 1)	/* MASTER: TIOCGPTLCK */
#define CT_PTY_PACKET		(1u << 2)	/* MASTER: packet mode (TIOCGPKT) */
#define CT_PTY_EXCL		(1u << 3)	/* TIOCGEXCL of this side */
#define CT_PTY_ORPHAN		(1u << 4)	/* a slave whose master was outside the container (a TTY record too) */
#define CT_PTY_FLAGS		0x1fu
#define CT_PTY_MAX_INDEX	(1u << 20)	/* the kernel's pty limit, far below */

struct ct_fd {
	int32_t fd;
	uint32_t file;			/* index into ct_image.files */
	bool cloexec;
};

/* ---- file locks ---- */

enum ct_lock_kind {
	CT_LOCK_POSIX = 1,	/* fcntl F_SETLK: owned by the process */
	CT_LOCK_OFD,		/* fcntl F_OFD_SETLK: owned by the open file description */
	CT_LOCK_FLOCK,		/* flock(2): owned by the open file description */
	CT_LOCK_KIND_MAX = CT_LOCK_FLOCK,
};

enum { CT_LOCK_READ = 1, CT_LOCK_WRITE = 2 };
#define CT_LOCK_EOF UINT64_MAX	/* end of a lock that reaches the end of the file */

/*
 * One lock the container holds, taken again at restore by task @pid
 * through its fd @fd (the owner for POSIX locks; for OFD and flock locks
 * any task holding the description).
 */
struct ct_lock {
	uint32_t kind;			/* enum ct_lock_kind */
	uint32_t type;			/* CT_LOCK_READ or CT_LOCK_WRITE */
	uint64_t start, end;		/* bytes [start, end]; end CT_LOCK_EOF; 0, EOF for flock */
	pid_t pid;			/* task that takes it again */
	int32_t fd;			/* its fd on the locked description */
	uint32_t file;			/* index into ct_image.files of that description */
};

/* ---- deleted files and directories ---- */

enum { CT_DELETED_FILE = 1, CT_DELETED_CWD = 2 };

/*
 * What the restore gives a file or directory it recreates unlinked: a
 * deleted description (ct_file.deleted, contents in the FILE record) or a
 * task's deleted working directory (ct_task.cwd is then NULL).
 */
struct ct_deleted {
	uint32_t what;			/* CT_DELETED_* */
	uint32_t index;			/* FILE: index into ct_image.files; CWD: the task's pid */
	uint32_t mode;			/* st_mode: type and permission bits */
	uint32_t uid, gid;
	uint64_t size;			/* FILE: st_size */
	char *path;			/* CWD: where it was */
};

/* ---- the mount tree (task/mounts.c, task/tmpfs.c) ---- */

/* ct_mount.kind: how restore makes the mount again */
enum {
	CT_MNT_ROOT = 1,	/* the container's /: the directory restore is given (or the dumped one) */
	CT_MNT_EXTERNAL,	/* a bind of something outside the container, by id: host path at restore */
	CT_MNT_BIND,		/* a bind of part of an earlier mount of the container (bind_of, root) */
	CT_MNT_PROC,		/* a new instance of its type, with its options: */
	CT_MNT_SYSFS,
	CT_MNT_DEVPTS,
	CT_MNT_MQUEUE,
	CT_MNT_TMPFS,		/* ... and its contents (TMPFS records) */
	CT_MNT_KNOWN,
};

/*
 * ct_mount.flags: the per-mount flags of mountinfo, as mount(2)'s MS_*
 * values (MS_RDONLY, NOSUID, NODEV, NOEXEC, NOSYMFOLLOW, NOATIME,
 * NODIRATIME, RELATIME, STRICTATIME; numbers, since <sys/mount.h> and
 * <linux/mount.h> do not mix).
 */
#define CT_MNT_FLAGS_KNOWN 0x1200d0fu

/* One mount of the container's mount namespace, in mountinfo order (parents first). */
struct ct_mount {
	uint32_t kind;			/* CT_MNT_* */
	uint32_t parent;		/* index of the mount it is mounted on (the root: 0, itself) */
	uint32_t flags;			/* CT_MNT_FLAGS_KNOWN bits */
	uint32_t unbindable;		/* MS_UNBINDABLE propagation (otherwise private) */
	uint32_t is_dir;		/* the mount's root is a directory (0: a file) */
	uint32_t bind_of;		/* CT_MNT_BIND: index of the earlier mount it binds from */
	char *mountpoint;		/* inside the container, absolute */
	char *fstype;			/* as mountinfo shows it */
	char *source;			/* mountinfo's source field */
	char *data;			/* superblock options to make it again (no rw/ro) */
	char *root;			/* its root inside its file system (BIND: below bind_of's) */
	char *ext_id;			/* EXTERNAL: the id restore maps (the mountpoint by default) */
	char *host_path;		/* ROOT, EXTERNAL: where the dumper's namespace had it (NULL: unknown) */
	uint32_t rank;			/* its place in the mountinfo listing: the order the mounts
					   were made in (older blobs: 0 for all, made in record order) */
};

/* One file of a tmpfs mount of the container, parents before children. */
struct ct_tmpfs_node {
	uint32_t mount;			/* index of its CT_MNT_TMPFS mount */
	char *path;			/* relative to the mount's root ("" for the root itself) */
	uint32_t mode, uid, gid;	/* st_mode with the type bits */
	uint64_t rdev;			/* device nodes */
	int64_t mtime_sec, mtime_nsec;	/* kept for regular files, directories, symlinks */
	int64_t atime_sec, atime_nsec;	/* the same (older blobs: 0 and 0, not recorded) */
	uint32_t link_to;		/* 1 + index of the node it is a hard link of (0: none) */
	uint8_t *data;			/* regular file: contents; symlink: target (no NUL) */
	uint64_t data_len;
	uint64_t size;			/* regular file: st_size (holes past the data read as zero) */
};

/* ---- processes ---- */

struct ct_task {
	pid_t pid;			/* innermost namespace: the key everywhere */
	pid_t ppid, pgid, sid;		/* innermost namespace; ppid 0 for the init */
	pid_t host_pid;			/* at dump, for messages */
	uint32_t nr_nspid;		/* NSpid levels from the container's pidns down */
	char comm[16];
	uint32_t nr_threads;
	struct ct_thread *threads;	/* threads[0] is the leader (tid == pid) */
	struct ct_mm mm;
	uint32_t nr_fds;
	struct ct_fd *fds;		/* sorted by fd */
	struct ct_sigaction sigactions[CT_NSIG];	/* index = signo - 1 */
	uint32_t nr_shared_pending;
	struct ct_siginfo *shared_pending;
	struct ct_creds creds;
	struct rlimit rlimits[RLIM_NLIMITS];
	uint32_t umask;
	uint32_t personality;
	int32_t nice;
	int32_t sched_policy, sched_priority;
	char *cwd, *root;
	struct ct_itimer itimers[3];	/* ITIMER_REAL, _VIRTUAL, _PROF */
	uint32_t nr_timers;
	struct ct_posix_timer *timers;
	int32_t exit_signal;		/* signal the parent gets at exit (SIGCHLD) */
	int32_t pdeath_signal;
	uint32_t share_parent;		/* CT_SHARE_*: what it shares with its parent (CLONE_FILES/FS) */
};

#define CT_SHARE_FILES	(1u << 0)	/* one descriptor table with its parent */
#define CT_SHARE_FS	(1u << 1)	/* one cwd, root and umask with its parent */
#define CT_SHARE_ALL	(CT_SHARE_FILES | CT_SHARE_FS)

/*
 * A process that has exited and not been waited for.  The cgroup lists no
 * zombie: they are found among the children of the dumped processes, and
 * restored as zombies of the same parent, so its wait sees what it would
 * have seen.
 */
struct ct_zombie {
	pid_t pid, ppid, pgid, sid;	/* innermost namespace; ppid is a task of the image */
	pid_t host_pid;			/* at dump, for messages */
	int32_t exit_signal;		/* signal its parent got at its exit (SIGCHLD), 0 none */
	uint32_t status;		/* the wait status its parent will read (stat exit_code) */
	char comm[16];
};

/* A SysV semaphore set or message queue of the container's own IPC namespace (task/sysvipc.c). */
enum { CT_IPC_SEM = 1, CT_IPC_MSG = 2 };
struct ct_ipc_obj {
	uint32_t kind;			/* CT_IPC_* */
	int32_t key, id;		/* its identity: restored as they were */
	uint32_t mode;			/* permission bits */
	uint32_t uid, gid;		/* owner */
	uint32_t nsems;			/* CT_IPC_SEM: semaphores in the set */
	uint64_t qbytes;		/* CT_IPC_MSG: msg_qbytes */
	uint8_t *data;			/* SEM: nsems x u32 values; MSG: messages, each u64 mtype, u32 len, bytes */
	uint64_t data_len;
};

/* A POSIX message queue of the container's own IPC namespace (task/mqueue.c). */
struct ct_mqueue {
	char *name;			/* "/name", as mq_open takes it */
	uint32_t mode, uid, gid;	/* its file in the mqueue filesystem */
	uint64_t maxmsg, msgsize;	/* mq_attr */
	uint8_t *data;			/* messages as mq_receive gave them: u32 prio, u32 len, bytes */
	uint64_t data_len;
	uint64_t dev, ino;		/* dump only: its inode, which mqueue descriptors name */
};

/* The mqueue limits of an own IPC namespace (/proc/sys/fs/mqueue), 0: not recorded. */
struct ct_mq_limits {
	uint32_t msg_max, msgsize_max, queues_max, msg_default, msgsize_default;
};

/*
 * The SysV limits of an own IPC namespace, as its /proc/sys/kernel files
 * show them (task/sysvipc.c), in this order; NULL: not recorded.
 */
enum { CT_IPC_LIM_SHMMAX, CT_IPC_LIM_SHMALL, CT_IPC_LIM_SHMMNI, CT_IPC_LIM_MSGMAX, CT_IPC_LIM_MSGMNB,
       CT_IPC_LIM_MSGMNI, CT_IPC_LIM_SEM, CT_IPC_NR_LIMITS };

/* ct_shape_rec.flags */
#define CT_SHAPE_OWN_UTS	0x1	/* own UTS namespace: hostname, domainname */
#define CT_SHAPE_OWN_IPC	0x2	/* own IPC namespace: its objects in ipc, shm, mqueues */
#define CT_SHAPE_LO_UP		0x4	/* CT_NET_LO: lo was up */
#define CT_SHAPE_OWN_TIME	0x8	/* own time namespace (restore --time-ns made it) */
#define CT_SHAPE_OWN_ROOT	0x10	/* own root filesystem and mount tree: MOUNT records */
#define CT_SHAPE_FLAGS_KNOWN	0x1f

/* ct_shape_rec.net */
enum {
	CT_NET_HOST = 0,	/* the dumper's network namespace */
	CT_NET_LO,		/* its own, holding only lo with its default addresses: made again */
	CT_NET_EXTERNAL,	/* one it joined (run --net ns:PATH): restore --net ns:PATH gives it */
	CT_NET_KNOWN,
};

/* The container's shape beyond its pid and mount namespaces. */
struct ct_shape_rec {
	uint32_t flags;			/* CT_SHAPE_* */
	uint32_t net;			/* CT_NET_* */
	char hostname[65], domainname[65];	/* with CT_SHAPE_OWN_UTS */
	uint64_t limit_memory;		/* cgroup limits, 0: none (struct ctswap_limits) */
	uint64_t limit_pids;
	uint64_t limit_cpu_millis;
	int64_t mono_ns, boot_ns;	/* CLOCK_MONOTONIC, CLOCK_BOOTTIME inside the container at the freeze */
	struct ct_mq_limits mq_limits;	/* own IPC namespace: its mqueue limits */
};

/* The hierarchies a container's cgroup is in (ct_cgroup_rec.hier). */
enum { CT_CG_V2 = 0, CT_CG_V1_FREEZER, CT_CG_V1_MEMORY, CT_CG_V1_PIDS, CT_CG_V1_CPU, CT_CG_NR_HIER };

/* A cgroup the container made below its own (freezer/cgroup.c, dump/shape.c). */
struct ct_cgroup_rec {
	uint32_t hier;			/* CT_CG_* */
	char *path;			/* relative to the container's group: "a", "a/b" */
	uint64_t limit_memory, limit_pids, limit_cpu_millis;	/* its own limits, 0: none */
	uint32_t nr_members;
	int32_t *members;		/* pids (inside) of the processes in it, not below it */
};

struct ct_image {
	uint32_t version;		/* blob format version it was read from */
	char name[65];			/* container name */
	uint32_t generation;		/* swap-area generation holding its pages */
	bool own_pidns;			/* the container has its own pid namespace */
	bool own_mntns;
	uint64_t ns_ino[8];		/* identities of ns links (CT_NS_*) at dump */
	int64_t dump_time_ns;		/* CLOCK_REALTIME at the freeze */
	int64_t dump_mono_ns;		/* CLOCK_MONOTONIC at the freeze (timers) */
	uint32_t nr_tasks;
	struct ct_task *tasks;		/* parents before children; tasks[0] is the init */
	uint32_t nr_files;
	struct ct_file *files;
	uint32_t nr_seccomp;
	struct ct_seccomp_filter *seccomp;	/* filters, each stored once (ct_thread.seccomp) */
	uint32_t nr_shm;
	struct ct_shm *shm;		/* shared memory objects (empty in blobs before them) */
	struct ct_shape_rec shape;	/* namespaces and limits beyond pid and mount (dump/shape.c) */
	uint32_t nr_ipc;
	struct ct_ipc_obj *ipc;		/* SysV objects of its own IPC namespace */
	uint32_t nr_mqueues;
	struct ct_mqueue *mqueues;	/* its POSIX message queues */
	char *ipc_limits[CT_IPC_NR_LIMITS];	/* its SysV limits ("32000", "250 32000 32 128") */
	uint32_t nr_cgroups;
	struct ct_cgroup_rec *cgroups;	/* cgroups below its own, parents first */
	uint32_t nr_zombies;
	struct ct_zombie *zombies;	/* children of tasks, exited and not waited for */
	uint32_t nr_locks;
	struct ct_lock *locks;		/* file locks held by the container */
	uint32_t nr_deleted;
	struct ct_deleted *deleted;	/* deleted files and working directories */
	uint32_t nr_mounts;
	struct ct_mount *mounts;	/* with CT_SHAPE_OWN_ROOT: mounts[0] is the root */
	uint32_t nr_tmpfs;
	struct ct_tmpfs_node *tmpfs;	/* contents of its tmpfs mounts */
};

enum { CT_NS_PID = 0, CT_NS_MNT, CT_NS_NET, CT_NS_UTS, CT_NS_IPC, CT_NS_USER, CT_NS_CGROUP, CT_NS_TIME };

/*
 * How the blob (blob.c) and the validator (validate.c) handle the payload of
 * one kind of file: the kinds define it (task/fdkinds.h: each kind's record
 * encoding, checks and freeing live in its own file), image/ only calls it.
 */
struct wbuf;
struct rbuf;
struct ct_file_format {
	const char *name;		/* in messages: "pipe", "epoll" */
	/* write the nested records of @f; read one of them (unknown tags are skipped) */
	void (*encode)(struct wbuf *w, const struct ct_file *f);
	void (*decode)(uint32_t tag, struct rbuf *body, struct ct_file *f);
	/* is the payload of file @f of @img sane (untrusted input)? */
	bool (*is_sane)(const struct ct_image *img, const struct ct_file *f);
	void (*free)(struct ct_file *f);	/* what the payload holds */
};
/* The format of file kind @kind, NULL if no kind has that number (defined in task/fdkinds.c). */
const struct ct_file_format *ct_file_format_of(uint32_t kind);

/* Free everything an image holds, and the image itself. */
void image_free(struct ct_image *img);
/* Free what a mount record holds (not the record). */
void image_mount_free(struct ct_mount *m);
/* Free what one file record holds (not the record itself). */
void image_file_free(struct ct_file *f);
/* The shared memory object with swap-area key @key, NULL if none. */
struct ct_shm *image_find_shm(const struct ct_image *img, uint32_t key);
/* Is @path absolute with no ".." component? (image/validate.c) */
bool image_path_is_sane(const char *path);
/* Find a task by its in-container pid, NULL if none. */
struct ct_task *image_find_task(const struct ct_image *img, pid_t pid);

#endif
