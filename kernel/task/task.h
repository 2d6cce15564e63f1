/* SPDX-License-Identifier: MIT */
/*
 * Per-task resources: for each one, its dump and its restore side by side
 * in one file of kernel/task/ (files.c, signals.c, creds.c, misc.c, regs.c).
 *
 * Dump side: the task is seized and in a ptrace-stop, the cgroup thawed
 * (doc/KERNEL-FACTS.md, "Freezing"), and @tc->inj is an active injection context on the
 * thread being dumped, with @tc->scratch a read-write page range mapped in
 * the tracee for passing structures to injected calls.
 *
 * Restore side: the task has been created by the restorer and is stopped
 * under ptrace; @tc is the same kind of context.  Restore functions are
 * called in this order by kernel/restore/: files, misc, signals, seccomp,
 * creds (last: it may drop the privileges the others need), then registers.
 *
 * The blocked signal mask is special: inj_begin() saves it and inj_end()
 * writes the saved value back, so restore of the mask sets
 * tc->inj->saved_sigmask and dump reads it from there.
 */
#ifndef CT_TASK_H
#define CT_TASK_H

#include <pthread.h>
#include <sys/stat.h>

#include "inject/inject.h"
#include "image/image.h"

struct task_ctx {
	struct inj_ctx *inj;		/* active injection on the thread at hand */
	pid_t host_pid;			/* host pid of the process (thread group) */
	unsigned long scratch;		/* scratch memory in the tracee ... */
	size_t scratch_len;		/* ... of this many bytes (>= 2 pages) */
	struct inj_batch *batch;	/* dump and restore: many calls in one round trip (inject.h) */
	uint32_t tcp_mode;		/* dump: CT_TCP_* for established TCP connections */
	bool unix_close;		/* dump: restore unix sockets with a peer outside closed */
	bool orphan_pts;		/* dump: record a pty slave whose master is outside (pty.c) */
	uint64_t max_checked_size;	/* dump: regular files up to this size are checksummed */
	struct tcp_repair_set *tcp_repair;	/* dump: sockets put in repair mode (CT_TCP_ESTABLISHED) */
	/*
	 * dump: the swap-area key of the shared memory object @st (named @name,
	 * opened through @open_path if new) among the dump's objects: memfds
	 * held by fds are stored whole with the mapped ones (mm/shm.c).
	 */
	int (*shm_key)(void *arg, pid_t pid, const char *name, const char *open_path,
		       const struct stat *st, uint32_t *key);
	void *shm_arg;
	struct dump_reads *reads;	/* dump: the process's reads, run in one batch (below); NULL: inject each */
	struct fd_holders *holders;	/* dump: descriptions in kcmp order (files.c); NULL: compare each */
	const char *status;		/* dump: /proc/PID/status of the stopped process, read ahead; NULL: read it */
	/*
	 * restore: the capability bounding set the task holds until its
	 * credentials are set (every task inherits the init's), read once for
	 * all; NULL: read from its /proc status.
	 */
	const uint64_t *cap_bnd_now;
};

/*
 * dump (files.c): one fd of each description recorded so far, in the order
 * kcmp(KCMP_FILE) gives descriptions, so that the one an fd shares is found
 * in log n calls.  Zero-initialised is empty; broken once kcmp gave no order.
 */
struct fd_holder {
	pid_t pid;
	int fd;
	uint32_t file;			/* index into ct_image.files */
};
struct fd_holders {
	struct fd_holder *h;
	size_t nr, cap;
	bool broken;			/* compare with every description instead */
};
void fd_holders_free(struct fd_holders *hs);

/*
 * dump (reads.c): what only injected calls can read of a process and its
 * leader thread, queued by each module into the process's batch and run
 * at once: one round trip where each call took one (a guarded call is two
 * stops, and on a loaded machine each waits for the scheduler).  The
 * modules then take their results from here.  Every call may fail: the
 * module names the failure as it did when it called alone.
 */
struct dump_read {
	long idx;			/* its first entry in the batch */
	uint32_t nr;			/* entries queued, 0: not queued */
	unsigned long out;		/* what the calls write in the tracee, 0 none ... */
	size_t len;			/* ... this many bytes */
};
struct dump_reads {
	struct dump_read brk, sigactions, securebits, itimers, pdeath;	/* the process */
	struct dump_read altstack, tid_address;				/* its leader thread */
	unsigned long lo, hi;		/* the outputs' span in the tracee ... */
	uint8_t *copy;			/* ... read back after the run */
	long *rets;			/* each entry's result, kept from the run */
	size_t nr_rets;
};
/* Room for @len bytes of output (@init, its first contents) for @r; its address in the tracee, 0 if full. */
unsigned long dump_read_out(struct task_ctx *tc, struct dump_read *r, const void *init, size_t len);
/* Queue one more call for @r; -E2BIG when the batch is full. */
int dump_read_add(struct task_ctx *tc, struct dump_read *r, long nr, unsigned long a1,
		  unsigned long a2, unsigned long a3, unsigned long a4);
/* Run the queued reads, then copy their outputs back. */
int dump_reads_run(struct task_ctx *tc);
/*
 * The same in two halves, so that many processes run their reads at once:
 * start resumes the tracee into the batch; finish, called after every
 * start (failed or not), waits for it and copies the outputs back.
 */
int dump_reads_start(struct task_ctx *tc);
int dump_reads_finish(struct task_ctx *tc);
/* The result of call @k of @r (-errno, or -ENOEXEC if not run); its output (r->len bytes) into @buf. */
long dump_read_take(const struct task_ctx *tc, const struct dump_read *r, uint32_t k, void *buf);
void dump_reads_free(struct dump_reads *reads);

/* What dump does with an established TCP connection (task_ctx.tcp_mode). */
#define CT_TCP_REFUSE		0	/* fail the dump naming the connection */
#define CT_TCP_CLOSE		1	/* restore it as a reset connection */
#define CT_TCP_ESTABLISHED	2	/* restore it alive (TCP_REPAIR) */

/*
 * tcprepair.c: the sockets a dump put in TCP repair mode, each a duplicate
 * held until the dump ends.  Zero-initialised is empty.
 */
struct tcp_repair_set {
	struct tcp_repaired *sks;
	uint32_t nr;
};
/*
 * End of a dump.  @resume (failed dump, or the tasks left running): take
 * repair mode off so the connections go on.  Otherwise the tasks are dead:
 * closing the duplicates closes the connections silently (no FIN, no RST).
 */
void tcp_repair_end(struct tcp_repair_set *rs, bool resume);
/* rm: end the connections of @img still held for its restore (FIN to the peer); how many. */
int tcp_hold_drop(const struct ct_image *img);

/*
 * files.c: fds and the open file descriptions behind them; each kind of
 * description (regular file, pipe, socket, epoll...) lives in its own file,
 * found through the table of fdkinds.h.
 */
int dump_task_files(struct task_ctx *tc, struct ct_image *img, struct ct_task *t);
/*
 * After dump_task_files of every task (all still seized): what needs them
 * all (epoll targets, unix peers); @policy carries the dump's choices
 * (tcp_mode, unix_close).
 */
int dump_files_finish(struct ct_image *img, const struct task_ctx *policy);
/*
 * The restorer opens every open file description of the image in its own
 * process, at fd numbers above every fd of the image (so the tasks it forks
 * inherit them and shared descriptions stay shared), refills pipes and sets
 * positions.  Each restored task then dup3()s its fds into place and closes
 * the transport fds (restore_task_files).
 */
struct file_table {
	uint32_t nr;
	int *fds;			/* restorer-side fd for each ct_image.files[i] */
	int *peer_fds;			/* PIPE: the other end, kept so pipes stay open; -1 */
	int lowest, highest;		/* range of transport fds, to close them in tasks */
	const struct ct_file *files;	/* the image's files (epoll targets); copy it along */
	int tty_master;			/* restorer: master of the new console pty, -1 none */
	int devpts;			/* restorer: the container's new devpts instance (pty.c), -1 none */
	int pts_master;			/* restorer: master of the pty whose master was outside (pty.c), -1 none */
};

/*
 * pty.c: the index of the pty whose slave the tasks held with its master
 * outside the container (CT_PTY_ORPHAN), -1 if none.  Its new master is
 * ft->pts_master after restore_files_open, for the caller to take.
 */
int pty_orphan_index(const struct ct_image *img);
/*
 * pty.c, at dump once the files and mounts are recorded: a bind of a pty
 * of the container's devpts (a runtime's /dev/console) needs that pty in
 * the image, or restore could not bind it again: refused, naming the mount.
 */
int pty_check_binds(const struct ct_image *img);

/* The options of a container's own devpts instance (container/shape.c, pty.c). */
#define PTY_DEVPTS_OPTS "newinstance,ptmxmode=0666,mode=0620"

int restore_files_open(const struct ct_image *img, bool allow_changed, struct file_table *ft);
/*
 * The shared memory objects' descriptors in the restorer, made before the
 * files (restore/shm.c): memfd descriptions are opened from them.
 */
struct shm_fds {
	int (*fd_of)(const void *arg, uint32_t key);	/* the object's fd, -1 if unknown */
	const void *arg;
};
/*
 * restore_files_open, with the shared memory objects memfd descriptions open
 * again; @host_root (-1: none) is the dumper's / for the descriptions whose
 * path is outside the container's root (ct_file.outside) when the caller
 * runs chrooted into that root.
 */
int restore_files_open_shm(const struct ct_image *img, bool allow_changed, const struct shm_fds *shm,
			   struct file_table *ft, int host_root);
void restore_files_close(struct file_table *ft);
int restore_task_files(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft);

/*
 * Restore in one injected batch: several modules' calls queued into
 * tc->batch one after another (each *_queue), run once by the caller, then
 * each *_check in the same order with the entries [@first, @end) its queue
 * took: it names the call that stopped the run if it was one of its own,
 * returns 0 if the run stopped before its entries, and otherwise finishes
 * as its one-batch function would (results, follow-up calls).
 *
 * Files: only when no kind needs the fds in place before the transport fds
 * close (restore_task_files_queueable).
 */
bool restore_task_files_queueable(const struct ct_task *t, const struct file_table *ft);
int restore_task_files_queue(struct task_ctx *tc, const struct ct_task *t, const struct file_table *ft);
int restore_task_files_check(struct task_ctx *tc, const struct ct_task *t, size_t first, size_t end);

/*
 * tty.c: the console.  The slave descriptions are opened by restore_files_open
 * (ft->tty_master is the new pty's master, for the supervisor to serve).
 * tty_restore_ctty: in session leader @t, right after its setsid and before
 * it forks, make the console its controlling terminal again (TIOCSCTTY on
 * the transport fd of @ft, so the tasks it forks inherit it).
 * tty_restore_fg: in that leader, once every process group exists, set the
 * recorded foreground group (TIOCSPGRP).  Both do nothing for other tasks.
 */
int tty_restore_ctty(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t,
		     const struct file_table *ft);
int tty_restore_fg(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t,
		   const struct file_table *ft);

/*
 * locks.c: POSIX, OFD and flock locks.  dump_locks: once every task's fds
 * are recorded, with the tasks stopped; refuses a lock held (or awaited) by
 * a process outside the container on a file it has open.  It works from
 * @lt, the system's lock table read while the tasks were stopped: reading
 * /proc/locks waits for an RCU grace period (the kernel write-locks a
 * per-cpu rwsem: 8-16 ms here) unless it was read less than a grace period
 * ago, so lock_table_warm() reads it before the freeze and keeps reading it
 * until lock_table_start()'s thread has read it with the tasks stopped.
 * restore_task_locks: after restore_task_files of every task, before any
 * runs; takes the locks task @t took, without waiting.
 */
struct lock_line;
struct lock_table {
	struct lock_line *lines;
	size_t nr;
	int err;			/* reading it failed: -errno */
	bool whole;			/* read at one moment (else in pieces: locks.c) */
	pthread_t thread;
	bool reading;			/* the thread is to be joined */
	pthread_t warm_thread;
	bool warming;			/* the warm thread is to be stopped and joined */
	bool warm_stop;			/* ... told to stop (under warm_lock) */
	bool warm;			/* ... has read it once (under warm_lock) */
	pthread_mutex_t warm_lock;
	pthread_cond_t warm_cond;
};
/* Keep reading /proc/locks on a thread until the read of lock_table_start() is done (zero @lt first). */
void lock_table_warm(struct lock_table *lt);
/* Wait up to @ms for lock_table_warm()'s first read: the grace period it waits for. */
void lock_table_warm_wait(struct lock_table *lt, unsigned ms);
/* Read /proc/locks into @lt, on a thread if one can be started. */
void lock_table_start(struct lock_table *lt);
/* Wait for the reads (if any) and free the table. */
void lock_table_free(struct lock_table *lt);
int dump_locks(struct ct_image *img, struct lock_table *lt);
int restore_task_locks(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t);

/*
 * deleted.c: deleted files and removed working directories.  dump_deleted:
 * after dump_task_files of every task, with the tasks stopped; stores the
 * contents of each deleted inode once, refusing one beyond @max_size bytes
 * (0: CT_DELETED_MAX_DEFAULT).  restore_deleted_cwd: after restore_task_misc.
 */
#define CT_DELETED_MAX_DEFAULT (64ULL << 20)
int dump_deleted(struct ct_image *img, uint64_t max_size);
/* Had task @t a removed working directory (restore_deleted_cwd has work)? */
bool deleted_cwd_of(const struct ct_image *img, const struct ct_task *t);
int restore_deleted_cwd(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t);
/* The tasks' fd (in @ft, the tasks' numbers) to map deleted file mapping @v from; -1 if none. */
int deleted_map_fd(const struct ct_image *img, const struct file_table *ft, const struct ct_vma *v);

/*
 * changed.c: mapped files (and executables) compared by contents with the
 * dump; each file version (inode, size, mtime, ctime) is read once per dump
 * or restore, through a cache its processes share.
 */
struct change_cache;
struct change_cache *change_cache_new(void);
void change_cache_free(struct change_cache *c);
/* Dump: take the checksums of mapped files from @img, an earlier checkpoint of the container. */
void map_change_seed(struct change_cache *c, const struct ct_image *img);
/* Dump: checksum the files @mm of stopped process @pid maps, and its executable (0: default limit). */
int map_change_dump(pid_t pid, struct ct_mm *mm, uint64_t max_size, struct change_cache *c);
/*
 * Dump, before the freeze: checksum into @c the files the running
 * processes @pids map (and their executables), so that the frozen dump
 * finds them there.  A version is kept only if its size, mtime and ctime
 * did not move while it was read, and the dump uses it only for that same
 * version (inode, size, mtime, ctime), as it uses an earlier checkpoint's
 * (map_change_seed); a file some mapping writes through memory (shared and
 * writable) is left to the window.  Best effort: *@files, *@bytes read.
 */
void map_change_prehash(const pid_t *pids, size_t nr_pids, uint64_t max_size, struct change_cache *c,
			size_t *files, uint64_t *bytes);
/* Restore: may the file open at @open_path (@st) be mapped again as @path, unchanged since the dump? */
int map_change_check(pid_t pid, const char *path, const char *open_path, const struct stat *st,
		     const struct ct_file_id *id, const struct ct_file_change *ch, struct change_cache *c);

/*
 * Run the calls a restore_*_queue function put in tc->batch: -errno only when
 * the tracee could not run them; a call that failed is left to the module's
 * restore_*_check, which names it.
 */
static inline int task_batch_run(struct task_ctx *tc)
{
	int ret = inj_batch_run(tc->batch, tc->inj);

	return ret && tc->batch->failed >= tc->batch->nr ? ret : 0;
}

/* signals.c: handlers, masks, pending signals, sigaltstack */
int dump_task_signals_queue(struct task_ctx *tc);
int dump_thread_signals_queue(struct task_ctx *tc);
int dump_task_signals(struct task_ctx *tc, struct ct_task *t);
int dump_thread_signals(struct task_ctx *tc, struct ct_thread *th);
int restore_task_signals(struct task_ctx *tc, const struct ct_task *t);
int restore_thread_signals(struct task_ctx *tc, const struct ct_thread *th);
int restore_task_signals_queue(struct task_ctx *tc, const struct ct_task *t);
int restore_task_signals_check(struct task_ctx *tc, const struct ct_task *t, size_t first, size_t end);
int restore_thread_signals_queue(struct task_ctx *tc, const struct ct_thread *th);
int restore_thread_signals_check(struct task_ctx *tc, const struct ct_thread *th, size_t first,
				 size_t end);

/* creds.c: uids, gids, groups, capabilities, securebits, no_new_privs */
int dump_task_creds_queue(struct task_ctx *tc);
int dump_task_creds(struct task_ctx *tc, struct ct_task *t);
int restore_task_creds(struct task_ctx *tc, const struct ct_task *t);
/* The capability bounding set thread @tid holds now, read from outside. */
int creds_bounding_of(pid_t tid, uint64_t *bnd);
int restore_task_creds_queue(struct task_ctx *tc, const struct ct_task *t);
int restore_task_creds_check(struct task_ctx *tc, size_t first, size_t end);

/* misc.c: rlimits, umask, personality, nice, scheduling, cwd, root, comm, itimers, POSIX timers, pdeath signal */
int dump_task_misc_queue(struct task_ctx *tc);
int dump_task_misc(struct task_ctx *tc, struct ct_task *t);
int restore_task_misc(struct task_ctx *tc, const struct ct_task *t);
int restore_task_misc_queue(struct task_ctx *tc, const struct ct_task *t);
int restore_task_misc_check(struct task_ctx *tc, const struct ct_task *t, size_t first, size_t end);
/* robust list, clear_child_tid: per thread */
int dump_thread_misc_queue(struct task_ctx *tc);
int dump_thread_misc(struct task_ctx *tc, struct ct_thread *th);
int restore_thread_misc(struct task_ctx *tc, const struct ct_thread *th);
int restore_thread_misc_queue(struct task_ctx *tc, const struct ct_thread *th);
int restore_thread_misc_check(struct task_ctx *tc, size_t first, size_t end);

/*
 * seccomp.c: seccomp filters.  dump_task_seccomp reads every thread's chain
 * by ptrace (no injection: call it before injecting, and set
 * PTRACE_O_SUSPEND_SECCOMP in inj_text.extra_options when
 * seccomp_task_filtered); programs go once into @img->seccomp.  Refuses
 * strict mode and user-notification filters.  restore_thread_seccomp
 * installs the filters of thread @i (call it for i = 0 first: the leader
 * installs the ones all threads share, with TSYNC), before the creds, with
 * the tasks seized with PTRACE_O_SUSPEND_SECCOMP.
 */
int dump_task_seccomp(struct ct_image *img, struct ct_task *t);
/* Fail clearly ("@what: seccomp filters: ...") unless we may read and suspend filters. */
int seccomp_check_tracer(const char *what);
bool seccomp_task_filtered(const struct ct_task *t);
int restore_thread_seccomp(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t,
			   uint32_t i);

/* regs.c: general registers, xstate (translated by CPUID 0xD), rseq */
int dump_thread_regs(struct task_ctx *tc, struct ct_thread *th);
int restore_thread_regs(struct task_ctx *tc, const struct ct_thread *th);
/* Queue registering the dumped rseq area when none is (restore_thread_regs then finds it done). */
int restore_thread_rseq_queue(struct task_ctx *tc, const struct ct_thread *th);
int restore_thread_rseq_check(struct task_ctx *tc, const struct ct_thread *th, size_t first,
			      size_t end);

#endif
