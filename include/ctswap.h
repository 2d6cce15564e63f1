/* SPDX-License-Identifier: MIT */
/*
 * ctswap: checkpoint/restart for Linux containers through a per-container
 * swap area.  This is the public API; the CLI is built on it alone.
 *
 * Conventions: every ctswap_* call returns 0 or a negative errno value.  On
 * failure ctswap_last_error() gives one line "what: why" naming the object
 * and the cause (valid until the next call from the same thread).  Nothing
 * here prints to stdout or exits the process.  The ckpt_* calls at the end
 * follow the POSIX convention instead: -1 with errno set.
 *
 * ABI: the shared library is libctswap.so.1 (soname); every exported symbol
 * carries the version node CTSWAP_1 (kernel/ctswap.map), engine internals
 * are not exported.  Structs passed in are zero-initialised by callers, so a
 * field added at the end of an options struct defaults to 0.  Build with
 * `pkg-config --cflags --libs ctswap`.
 */
#ifndef CTSWAP_H
#define CTSWAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>	/* P_PID, P_PGID for ckpt_create() */

#ifdef __cplusplus
extern "C" {
#endif

#define CTSWAP_ABI_VERSION 1
#define CTSWAP_DEFAULT_STORE "/var/lib/ctswap"
#define CTSWAP_NAME_MAX 64

/* ---- library ---- */

/* The reason the last failed call from this thread failed, or NULL. */
const char *ctswap_last_error(void);
/* Log level of the engine: 0 errors, 1 warnings (default), 2 info, 3 debug. */
void ctswap_set_log_level(int level);
/* Send engine log lines to @fd instead of stderr (-1: stderr). */
void ctswap_set_log_fd(int fd);

/* A handle on one store directory (default CTSWAP_DEFAULT_STORE). */
struct ctswap_store;
/* Open (creating it 0700 if needed) the store at @dir; NULL means default. */
int ctswap_store_open(const char *dir, struct ctswap_store **out);
/* Release a store handle (NULL is ignored). */
void ctswap_store_close(struct ctswap_store *store);
/* The store's directory as given to ctswap_store_open(). */
const char *ctswap_store_path(const struct ctswap_store *store);
/*
 * Move container @name, with its swap area, checkpoints and pre-copies,
 * from store @from into @store (one rename: both on one file system).
 * -EEXIST if @store has a container of that name, -ENOENT if @from has
 * none, -EBUSY if a command holds it.  A pre-copy made in one directory
 * (a runtime's pre-dump dir) is continued by a dump in another this way.
 */
int ctswap_store_take(struct ctswap_store *store, const char *name, struct ctswap_store *from);

/* True if @name is [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
bool ctswap_name_valid(const char *name);

/* ---- lifecycle ---- */

/* A bind mount of host path @src at @dst inside the container's root (run). */
struct ctswap_mount {
	const char *src;	/* host file or directory */
	const char *dst;	/* absolute path inside the container */
	bool ro;		/* read-only */
};

/*
 * A mount of a container whose source is outside it (a bind of a host file
 * or directory): external.  A checkpoint records it by an id, the mount
 * point inside the container unless the caller names it otherwise (as
 * runc and podman do with CRIU's ext_mnt), and a restore binds it again
 * from the host path the dump found, or from the one the caller maps the
 * id to.
 */
struct ctswap_ext_mount {
	const char *id;
	/* dump: the mount point inside the container; restore: the host path to bind */
	const char *path;
};

/* The container's network: the host's, a new one with only lo, or a given one. */
enum ctswap_net {
	CTSWAP_NET_HOST = 0,	/* share the caller's network namespace */
	CTSWAP_NET_NONE,	/* a new network namespace holding only lo, up */
	CTSWAP_NET_NS,		/* join the namespace file net_ns (ip netns, /proc/PID/ns/net) */
};

/* Resource limits of the container's cgroup; 0 means none. */
struct ctswap_limits {
	uint64_t memory;	/* bytes: v1 memory.limit_in_bytes, v2 memory.max */
	uint64_t pids;		/* v1/v2 pids.max */
	uint64_t cpu_millis;	/* CPUs x 1000: v1 cpu.cfs_quota_us, v2 cpu.max (period 100 ms) */
};

struct ctswap_run_opts {
	char *const *argv;	/* command and arguments, NULL-terminated */
	bool no_pidns;		/* stay in the host pid namespace */
	const char *log_path;	/* console file; NULL: STORE/NAME/console.log */
	bool tty;		/* a pty is the init's stdio and controlling terminal (attach to it) */
	/*
	 * The container's shape.  With rootfs the init runs with that directory
	 * as / (pivot_root) and /proc, /sys (read-only), a tmpfs /dev with the
	 * standard nodes, /dev/pts (new instance), /dev/shm and /dev/mqueue
	 * mounted, then the binds of mounts.  rootfs or hostname give the
	 * container new UTS and IPC namespaces.  rootfs needs a pid namespace.
	 */
	const char *rootfs;
	const char *hostname;
	enum ctswap_net net;
	const char *net_ns;	/* CTSWAP_NET_NS: path of the namespace file */
	const struct ctswap_mount *mounts;	/* only with rootfs */
	size_t nr_mounts;
	struct ctswap_limits limits;
};

/* Start @opts->argv in a new container @name; *@init_pid is its host pid. */
int ctswap_run(struct ctswap_store *store, const char *name,
	       const struct ctswap_run_opts *opts, pid_t *init_pid);
/* Freeze and wait until the kernel reports the cgroup frozen. */
int ctswap_freeze(struct ctswap_store *store, const char *name, int timeout_ms);
/* Thaw a frozen container (a running one is left as it is). */
int ctswap_thaw(struct ctswap_store *store, const char *name);
/* Kill every task and wait until the cgroup is empty. */
int ctswap_kill(struct ctswap_store *store, const char *name);
/* Remove cgroup and store entry; a live container needs @force. */
int ctswap_rm(struct ctswap_store *store, const char *name, bool force);
/*
 * Make a container @name of @nr running processes that are in no ctswap
 * container: creates STORE/NAME (state: init_pid = @pids[0], no
 * supervisor) and the cgroup, and moves each process (all its threads) in.
 * The processes stay in the host pid namespace, so a restore needs their
 * pids free (they are, once a dump without leave_running killed them).
 * -EEXIST if @name exists; -EBUSY if a process is in a ctswap container.
 */
int ctswap_adopt(struct ctswap_store *store, const char *name, const pid_t *pids, size_t nr);

/* A container a runtime started (ctswap_attach()). */
struct ctswap_attach_opts {
	pid_t init_pid;		/* the tree's root, host pid; 0 before a restore */
	pid_t cgroups_of;	/* the process whose cgroups are the container's (0: init_pid) */
	const char *freeze_dir;	/* the group to freeze (v1 freezer or v2 dir); NULL: cgroups_of's */
	bool net_external;	/* its network namespace is the runtime's: a restore is given one */
	pid_t leave_to;		/* then move the caller into this process's cgroups (0: stay) */
};
/*
 * Make (or point again) container @name of @store at a tree a runtime
 * started in cgroups of its own: nothing is moved.  The state records the
 * group of @opts->cgroups_of in every hierarchy and the group that freezes
 * it; a dump freezes, reads and kills through them and never removes them,
 * and a restore puts the new init in them (not in ctswap/NAME) and leaves
 * limits to the runtime.  Before a restore, the runtime has placed the
 * caller in the container's groups: pass cgroups_of = the caller and
 * leave_to = the runtime's pid, so that what the restore leaves running
 * (supervisor, lazy server) is outside them.
 */
int ctswap_attach(struct ctswap_store *store, const char *name,
		  const struct ctswap_attach_opts *opts);

enum ctswap_state {
	CTSWAP_STOPPED = 0,
	CTSWAP_RUNNING,
	CTSWAP_FROZEN,
	CTSWAP_CHECKPOINTED,
};
/* "stopped", "running", "frozen", "checkpointed". */
const char *ctswap_state_name(enum ctswap_state state);

struct ctswap_info {
	char name[CTSWAP_NAME_MAX + 1];
	enum ctswap_state state;
	pid_t init_pid;			/* host pid of the init, 0 if none */
	unsigned int nr_tasks;		/* threads counted once per process */
	uint64_t rss_bytes;		/* resident memory of all tasks */
	char cgroup[512];		/* cgroup path, absolute */
	int exit_status;		/* wait status once stopped, -1 unknown */
	unsigned int generation;	/* newest committed checkpoint, 0 none */
	uint64_t lazy_resident;		/* restore progress: pages in ... */
	uint64_t lazy_total;		/* ... of pages to swap in (0: none) */
	pid_t lazy_pid;			/* the lazy server that reported them, 0: none */
};
/* Describe container @name; -ENOENT if the store has no such entry. */
int ctswap_info(struct ctswap_store *store, const char *name, struct ctswap_info *info);
/* Call @fn for every container in the store, in name order. */
int ctswap_list(struct ctswap_store *store,
		int (*fn)(const struct ctswap_info *info, void *arg), void *arg);

/* ---- console (run --tty) ---- */

/*
 * Connect to the terminal of running container @name (STORE/NAME/console.sock,
 * served by its supervisor).  Read *@fd for the terminal's output; send input
 * with ctswap_console_input().  One connection at a time: -EBUSY while another
 * is attached; -ENOTTY if the container has no terminal.  Close *@fd to detach.
 */
int ctswap_console_open(struct ctswap_store *store, const char *name, int *fd);
/* Send @len bytes of input to the terminal. */
int ctswap_console_input(int fd, const void *buf, size_t len);
/* Set the terminal's window size (the foreground group gets SIGWINCH). */
int ctswap_console_resize(int fd, unsigned short rows, unsigned short cols);

/* ---- checkpoint and restart ---- */

/* What a dump has done so far (passed to ctswap_dump_opts.progress). */
struct ctswap_progress {
	unsigned int tasks;
	uint64_t pages_done, pages_total;
	double elapsed_ms;
};

struct ctswap_dump_opts {
	bool leave_running;	/* thaw instead of kill after the commit */
	bool compress;		/* lzma clusters in the swap area */
	/*
	 * With leave_running, the default is a copy-on-write snapshot: a fork
	 * injected into every process while stopped holds its memory, the
	 * container runs on and the pages are pushed from the snapshot.
	 * no_snapshot keeps the container stopped until every page is pushed.
	 * A dump that kills the container never snapshots: it stays stopped.
	 */
	bool no_snapshot;
	/*
	 * Pre-copy: a snapshot dump (implies leave_running) whose generation
	 * is not a checkpoint (no ckpt-GEN.meta: restore never picks it) but
	 * lets the next dump find unchanged pages without writing them.
	 */
	bool pre;
	/* Called now and then while pages are pushed; may be NULL. */
	void (*progress)(const struct ctswap_progress *p, void *arg);
	void *progress_arg;
	unsigned int keep;	/* generations the swap area keeps, 0: default (2) */
	/* Established TCP connections: refuse the dump (default), restore them reset,
	 * or restore them alive through TCP_REPAIR (CTSWAP_TCP_ESTABLISHED: not with
	 * leave_running or pre, since the restored connection would be the running one). */
	enum { CTSWAP_TCP_REFUSE = 0, CTSWAP_TCP_CLOSE, CTSWAP_TCP_ESTABLISHED } tcp;
	/* A unix stream socket connected to a process outside the container: refuse
	 * the dump (default), or restore it closed (unix_close: it reads end-of-file). */
	bool unix_close;
	/* Deleted (unlinked) files are stored whole in the checkpoint: a larger one
	 * refuses the dump.  Bytes; 0: the default, 64 MiB.  The same bound holds for
	 * each file of a tmpfs mounted in the container (its contents are kept too). */
	uint64_t max_deleted_size;
	/* Mounts to record as external under the given ids, whatever their kind
	 * (CRIU's ext_mnt).  Binds of the host's files are external anyway, with
	 * their mount point as id. */
	const struct ctswap_ext_mount *ext_mounts;
	size_t nr_ext_mounts;
	/* Regular files held open are checksummed up to this size, so that a
	 * restore can accept one that only grew since (a log) and refuse one
	 * changed in place; a larger one refuses the restore if it changed at
	 * all.  Bytes; 0: the default, 256 MiB. */
	uint64_t max_checked_size;
	/*
	 * Called once the checkpoint is committed, before the container is
	 * killed (or left running).  A negative errno fails the dump: the
	 * container runs on, the checkpoint stays.  May be NULL.
	 */
	int (*committed)(void *arg);
	void *committed_arg;
	/*
	 * A pty slave of the container's own devpts whose master a process
	 * outside holds (a runtime's console: podman -t, runc's
	 * orphan_pts_master): refuse the dump (default), or record the slave
	 * side (index, settings, owning session) so that a restore makes a new
	 * pty and hands its master to the caller (ctswap_restore_opts.take_pts_master).
	 */
	bool orphan_pts;
};

struct ctswap_dump_stats {
	unsigned int generation;
	unsigned int tasks, threads;
	uint64_t pages_total;		/* present pages found */
	uint64_t pages_written;		/* pages that took new slots */
	uint64_t pages_zero, pages_shared;
	uint64_t bytes_written;		/* swap area and metadata */
	uint64_t meta_bytes;		/* the metadata blob on disk */
	/* frozen: from the freeze until the tasks ran again, or (killed) until the checkpoint was durable */
	double frozen_ms, total_ms;
	bool snapshot;			/* pages came from copy-on-write snapshots */
	bool pre;			/* a pre-copy generation, not a checkpoint */
	uint64_t pages_frozen;		/* pages copied while stopped (shared, dontfork...) */
};
/*
 * Checkpoint container @name into STORE/NAME/swap (a new generation) and
 * STORE/NAME/ckpt-GEN.meta, then kill it (or leave it running).  On
 * failure the previous generation is untouched and the container runs on.
 * SIGINT, SIGTERM and SIGHUP are blocked in the calling thread meanwhile
 * and abort the dump cleanly.  @opts and @stats may be NULL.
 */
int ctswap_dump(struct ctswap_store *store, const char *name,
		const struct ctswap_dump_opts *opts, struct ctswap_dump_stats *stats);

/* A pipe a restore takes from the caller (ctswap_restore_opts.inherit_pipes). */
struct ctswap_inherit_pipe {
	uint64_t ino;		/* the dumped pipe's inode ("pipe:[INO]") */
	int fd;			/* the caller's descriptor standing in for it */
};

struct ctswap_restore_stats;
struct ctswap_restore_opts {
	bool eager;			/* fill memory before resuming */
	unsigned int generation;	/* 0: the newest */
	bool allow_changed_files;
	/*
	 * A network namespace file to restore into (it may differ from the
	 * one at dump: another host's).  Needed when the container joined one
	 * at run (run --net ns:PATH); without it a container that had its own
	 * lo-only namespace gets a new one.
	 */
	const char *net_ns;
	/*
	 * Restore into a new time namespace whose offsets continue
	 * CLOCK_MONOTONIC and CLOCK_BOOTTIME from their values at the dump,
	 * so the container sees no jump however late (or wherever) it comes back.
	 */
	bool time_ns;
	/*
	 * A container with a root filesystem of its own: the directory to use
	 * as its / (a runtime's rootfs or overlay, mounted again); NULL: the
	 * one it had at the dump.  Its mount tree is rebuilt on it.
	 */
	const char *root;
	/* External mounts bound from other host paths: id -> path (CRIU's ext_mnt). */
	const struct ctswap_ext_mount *ext_mounts;
	size_t nr_ext_mounts;
	/* Ids of ext_mounts the checkpoint does not have are ignored, as CRIU does
	 * (a runtime maps every bind it might have made); default: refused. */
	bool ext_mounts_unused_ok;
	/*
	 * Pipes the caller hands over (CRIU's inherit_fd "pipe:[INODE]", a
	 * runtime's stdout and stderr pipes): every description of the dumped
	 * pipe whose inode was @ino is opened from @fd, an fd of the caller's.
	 */
	const struct ctswap_inherit_pipe *inherit_pipes;
	size_t nr_inherit_pipes;
	/*
	 * The init becomes the caller's sibling (CLONE_PARENT): the caller's
	 * parent (a runtime's subreaper) is its parent and keeps its exit
	 * status; there is no ctswap supervisor, so no console.
	 */
	bool sibling;
	/*
	 * Called once every task is rebuilt and still stopped, memory handed
	 * to the lazy server (whose prefetch waits), just before they are all
	 * let go, with the stats so far (all but running_ms).  A non-zero
	 * return fails the restore: the tree is killed.  May be NULL.  (A
	 * runtime's post-restore and pre-resume hooks run here, as CRIU runs
	 * them.)
	 */
	int (*before_resume)(const struct ctswap_restore_stats *so_far, void *arg);
	void *before_resume_arg;
	/*
	 * Threads rebuilding independent processes at once, each with its
	 * share on a CPU of its own (at most one per CPU the caller may use,
	 * at most 8); 0 or 1: one.  On the 2-vCPU VMs measured a second
	 * thread did not shorten the rebuild (README, "Restart").
	 */
	unsigned int threads;
	/*
	 * A checkpoint made with ctswap_dump_opts.orphan_pts whose tasks had
	 * such a terminal: the restore makes a new pty of that index in the
	 * container's devpts and gives its master to the caller in
	 * ctswap_restore_stats.pts_master (before_resume's stats show it too,
	 * still the restore's: a runtime hands a copy to its console holder).
	 * Without take_pts_master such a checkpoint is refused before anything
	 * starts: nobody would hold the terminal's other end.
	 */
	bool take_pts_master;
	/*
	 * Lazy restores: copy the working set recorded at an earlier restore
	 * of this generation (its pages first faulted) into place before the
	 * tasks run, as REAP does, instead of first thing after.  Its first
	 * faults are then gone; the time to running grows by the copy (read
	 * ahead while the tasks were rebuilt).  Without a working set: nothing.
	 */
	bool fill_working_set;
};

struct ctswap_restore_stats {
	pid_t init_pid;
	unsigned int tasks, threads;
	uint64_t pages_total;		/* pages to swap in */
	double running_ms;		/* until every task runs again */
	int pts_master;			/* take_pts_master: the new master, the caller's to close once the restore succeeded; -1 none */
};
/*
 * Restart container @name from a checkpoint: same pids, memory swapped in
 * lazily from the swap area by a server process of its own (or first, with
 * @opts->eager).  The checkpoint stays as it was and may be restored again.
 */
int ctswap_restore(struct ctswap_store *store, const char *name,
		   const struct ctswap_restore_opts *opts,
		   struct ctswap_restore_stats *stats);

/* ---- swap area ---- */

/* Page counts of one (generation, task, mapping) of a swap area. */
struct ctswap_swap_row {
	unsigned int gen;
	uint32_t task;			/* task id chosen by the dumper */
	uint64_t mapping;		/* start address of the mapping */
	uint64_t pages;			/* present pages */
	uint64_t zero;			/* all-zero pages: no slot */
	uint64_t stored;		/* pages with data in a slot */
	uint64_t shared;		/* of those, in a slot that backs other pages too */
	uint64_t compressed;		/* of those, in lzma clusters */
};

#define CTSWAP_MAX_GENS 64
struct ctswap_swap_info {
	unsigned int cur_gen;		/* newest committed generation, 0 none */
	unsigned int nr_gens;
	unsigned int gens[CTSWAP_MAX_GENS];	/* kept generations, oldest first */
	uint64_t gen_pages[CTSWAP_MAX_GENS];	/* present pages of each */
	uint64_t slots;			/* slots in the slot map */
	uint64_t slots_used;		/* of those, holding a page or part of a cluster */
	uint64_t clusters;		/* compressed clusters */
	uint64_t data_bytes;		/* data file: bytes allocated on disk */
	uint64_t data_size;		/* data file: apparent size */
	uint64_t meta_bytes;		/* metadata file (swap.idx) size */
	uint64_t verified_pages;	/* pages read back and checked (verify) */
	size_t nr_rows;
	struct ctswap_swap_row *rows;	/* by generation, task, mapping */
};
/*
 * Describe the swap area STORE/NAME/swap; with @verify read every page of
 * every kept generation and check every checksum.  Free with
 * ctswap_swap_info_free().
 */
int ctswap_inspect(struct ctswap_store *store, const char *name, bool verify,
		   struct ctswap_swap_info *info);
/* Free what ctswap_inspect() allocated in @info. */
void ctswap_swap_info_free(struct ctswap_swap_info *info);

/* ---- checkpoint contents (the metadata blob STORE/NAME/ckpt-GEN.meta) ---- */

struct ctswap_ckpt_vma {
	uint64_t start, end;
	uint32_t prot;			/* PROT_* */
	const char *kind;		/* anon, file, file-shared, shmem, vdso, vvar, vvar_vclock, vsyscall */
	uint64_t pages;			/* pages stored in the swap area */
	const char *path;		/* file, [heap], [stack], or NULL */
};

struct ctswap_ckpt_task {
	pid_t pid, ppid, pgid, sid;	/* in the container's pid namespace */
	char comm[16];
	unsigned int nr_threads;
	const pid_t *tids;		/* the leader first */
	unsigned int nr_vmas;
	const struct ctswap_ckpt_vma *vmas;
	unsigned int nr_fds;
};

/* A mount of a container with a root filesystem of its own. */
struct ctswap_ckpt_mount {
	const char *mountpoint;		/* inside the container */
	const char *fstype;
	const char *kind;		/* root, external, bind, proc, sysfs, devpts, mqueue, tmpfs */
	const char *ext_id;		/* external: the id restore --ext-mount maps; else NULL */
	const char *host_path;		/* root, external: the host path at the dump, or NULL */
	unsigned int tmpfs_files;	/* tmpfs: files stored */
};

struct ctswap_ckpt {
	unsigned int generation;
	uint64_t meta_bytes;		/* size of the blob file */
	bool own_pidns;
	unsigned int nr_tasks;
	struct ctswap_ckpt_task *tasks;	/* parents first; tasks[0] is the init */
	void *priv;
	unsigned int nr_mounts;		/* 0: the host's root */
	struct ctswap_ckpt_mount *mounts;	/* in mount order, the root first */
};
/* Read checkpoint @gen (0: the newest) of @name. Free with ctswap_ckpt_free(). */
int ctswap_ckpt_read(struct ctswap_store *store, const char *name, unsigned int gen,
		     struct ctswap_ckpt **out);
/* Free a checkpoint description (NULL is ignored). */
void ctswap_ckpt_free(struct ctswap_ckpt *ckpt);

/* ---- diagnostics ---- */

struct ctswap_check {
	const char *feature;
	bool required;
	bool ok;
	char detail[160];	/* "ok" or the reason it is missing */
};
/* Probe the running kernel; calls @fn per feature. Returns -ENOTSUP if a required one is missing. */
int ctswap_check(void (*fn)(const struct ctswap_check *c, void *arg), void *arg);

/* ---- POSIX 1003.1m checkpoint/restart, as SGI IRIX offered it ---- */
/*
 * IRIX's <ckpt.h> calls, mapped onto containers and generations:
 *
 *   path        the directory STORE/NAME: the store is its parent (created
 *               if needed), the container name its last component.  IRIX
 *               made a statefile directory; here it is a ctswap store entry,
 *               so `ctswap ps`, `inspect`, `restore` and `rm` work on it.
 *   id, type    what to checkpoint: P_PID (a process), P_PGID (a process
 *               group), P_SID (a session), P_HID (a process and all its
 *               descendants), P_CTSWAP (the container NAME; id is ignored).
 *               Processes in no container are first adopted into a new
 *               container NAME (ctswap_adopt()); processes already in
 *               container NAME checkpoint that whole container; processes
 *               in another container are refused (EBUSY).  The processes
 *               stay in the host pid namespace.
 *   generations each ckpt_create() on the same path adds a generation (the
 *               swap area keeps 2 unless CKPT_ARG_KEEP says otherwise);
 *               IRIX refused an existing statefile instead.
 *
 * Where the semantics differ from IRIX:
 *   - a restarted process gets the container's supervisor as its parent
 *     (IRIX restored the original parent when it was checkpointed too);
 *   - a restore recreates process groups and sessions only from processes
 *     inside the container: checkpoint a process that leads its own session
 *     (setsid), or the whole session (P_SID), or restore fails with EPERM;
 *   - pids are restored only if free (IRIX had the same rule); there is no
 *     "restart with new pids" (CKPT_RESTART_... pid options do not exist);
 *   - after a P_PID/P_PGID/P_SID/P_HID checkpoint the processes stay in the
 *     container's cgroup: a later ckpt_create() of any of them (or of
 *     P_CTSWAP) checkpoints the whole container;
 *   - unsupported files (a terminal other than one pty slave, a pty master, ...) refuse the checkpoint
 *     (IRIX closed some of them); redirect such descriptors first;
 *   - ckpt_stat() describes the newest generation only.
 *
 * A process may checkpoint itself (or a set it belongs to): the dump then
 * runs in a helper child outside the container's cgroup, since the caller
 * is frozen and seized during the dump.  With CKPT_CHECKPOINT_KILL (the
 * default) the caller does not return from a successful ckpt_create();
 * with CKPT_CHECKPOINT_CONT it returns 0, and after a later ckpt_restart()
 * the restored process returns 0 from the same call once more.
 *
 * All ckpt_* calls return -1 with errno set on failure (ctswap_last_error()
 * gives the reason), and are not async-signal-safe.
 */
typedef int64_t ckpt_id_t;

/* Id types beyond <sys/wait.h>'s P_PID and P_PGID (values as IRIX had none fixed). */
#define P_SID		0x100	/* the session whose id is @id */
#define P_HID		0x101	/* process @id and all its descendants */
#define P_CTSWAP	0x102	/* the container named by the path (ctswap extension) */

/* An argument to ckpt_setup/ckpt_create/ckpt_restart: a type and what it points to. */
struct ckpt_args {
	unsigned long ckpt_type;	/* CKPT_ARG_* */
	void *ckpt_data;		/* points to the value, see each type */
};

#define CKPT_ARG_FLAGS	1	/* ckpt_data: unsigned long *, CKPT_CHECKPOINT_* | CKPT_RESTART_* */
#define CKPT_ARG_GEN	2	/* ckpt_data: unsigned int *, generation to restart (0: newest) */
#define CKPT_ARG_KEEP	3	/* ckpt_data: unsigned int *, generations to keep (0: default 2) */

#define CKPT_CHECKPOINT_KILL	0x0	/* kill the processes after the checkpoint (default) */
#define CKPT_CHECKPOINT_CONT	0x1	/* let them continue after the checkpoint */
#define CKPT_CHECKPOINT_COMPRESS 0x2	/* lzma-compress the pages (ctswap extension) */
#define CKPT_RESTART_EAGER	0x10	/* fill all memory before resuming (ctswap extension) */
#define CKPT_RESTART_CHANGED	0x20	/* allow mapped files that changed since the checkpoint */

/* One process of a checkpoint, as ckpt_stat() lists them (IRIX's ckpt_stat_t). */
struct ckpt_stat {
	struct ckpt_stat *cs_next;	/* the next process, NULL at the end */
	long cs_revision;		/* CKPT_REVISION */
	ckpt_id_t cs_id;		/* the id ckpt_create() was given (init pid for P_CTSWAP) */
	unsigned long cs_type;		/* the type ckpt_create() was given */
	pid_t cs_pid, cs_ppid;		/* pids inside the container's pid namespace */
	pid_t cs_pgrp, cs_sid;
	unsigned int cs_nthreads;
	unsigned int cs_nfiles;		/* open file descriptors */
	unsigned int cs_generation;	/* the generation described */
	char cs_comm[16];		/* command name */
};
typedef struct ckpt_stat ckpt_stat_t;
#define CKPT_REVISION 1

/*
 * Set defaults for this process's later ckpt_create()/ckpt_restart() calls
 * from @args (CKPT_ARG_*); the calls' own args override them.  IRIX used it
 * to prepare the caller; here it only records defaults.  nargs 0 resets.
 */
int ckpt_setup(struct ckpt_args *args[], size_t nargs);
/* Checkpoint what @id and @type name into @path (see above).  0 or -1. */
int ckpt_create(const char *path, ckpt_id_t id, unsigned long type,
		struct ckpt_args *args[], size_t nargs);
/* Restart the checkpoint at @path; returns the restored init's pid, or -1. */
ckpt_id_t ckpt_restart(const char *path, struct ckpt_args *args[], size_t nargs);
/* Remove the checkpoint at @path (it must not be running: ctswap rm). */
int ckpt_remove(const char *path);
/* List the processes of the newest checkpoint at @path; free with ckpt_stat_free(). */
int ckpt_stat(const char *path, struct ckpt_stat **sp);
/* Free a list from ckpt_stat() (each entry is also a single malloc'd block). */
void ckpt_stat_free(struct ckpt_stat *sp);

#ifdef __cplusplus
}
#endif
#endif
