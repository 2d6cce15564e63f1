/* SPDX-License-Identifier: MIT */
/*
 * ctswap: checkpoint/restart for Linux containers through a per-container
 * swap area.  This is the public API; the CLI is built on it alone.
 *
 * Conventions: every call returns 0 or a negative errno value.  On failure
 * ctswap_last_error() gives one line "what: why" naming the object and the
 * cause (valid until the next call from the same thread).  Nothing here
 * prints to stdout or exits the process.
 */
#ifndef CTSWAP_H
#define CTSWAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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
void ctswap_store_close(struct ctswap_store *store);
const char *ctswap_store_path(const struct ctswap_store *store);

/* True if @name is [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
bool ctswap_name_valid(const char *name);

/* ---- lifecycle ---- */

struct ctswap_run_opts {
	char *const *argv;	/* command and arguments, NULL-terminated */
	bool no_pidns;		/* stay in the host pid namespace */
	const char *log_path;	/* console file; NULL: STORE/NAME/console.log */
};

/* Start @opts->argv in a new container @name; *@init_pid is its host pid. */
int ctswap_run(struct ctswap_store *store, const char *name,
	       const struct ctswap_run_opts *opts, pid_t *init_pid);
/* Freeze and wait until the kernel reports the cgroup frozen. */
int ctswap_freeze(struct ctswap_store *store, const char *name, int timeout_ms);
int ctswap_thaw(struct ctswap_store *store, const char *name);
/* Kill every task and wait until the cgroup is empty. */
int ctswap_kill(struct ctswap_store *store, const char *name);
/* Remove cgroup and store entry; a live container needs @force. */
int ctswap_rm(struct ctswap_store *store, const char *name, bool force);

enum ctswap_state {
	CTSWAP_STOPPED = 0,
	CTSWAP_RUNNING,
	CTSWAP_FROZEN,
	CTSWAP_CHECKPOINTED,
};
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
};
int ctswap_info(struct ctswap_store *store, const char *name, struct ctswap_info *info);
/* Call @fn for every container in the store, in name order. */
int ctswap_list(struct ctswap_store *store,
		int (*fn)(const struct ctswap_info *info, void *arg), void *arg);

/* ---- checkpoint and restart ---- */

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
};

struct ctswap_dump_stats {
	unsigned int generation;
	unsigned int tasks, threads;
	uint64_t pages_total;		/* present pages found */
	uint64_t pages_written;		/* pages that took new slots */
	uint64_t pages_zero, pages_shared;
	uint64_t bytes_written;		/* swap area and metadata */
	uint64_t meta_bytes;		/* the metadata blob on disk */
	double frozen_ms, total_ms;
	bool snapshot;			/* pages came from copy-on-write snapshots */
	bool pre;			/* a pre-copy generation, not a checkpoint */
	uint64_t pages_frozen;		/* pages copied while stopped (shared, dontfork...) */
};
int ctswap_dump(struct ctswap_store *store, const char *name,
		const struct ctswap_dump_opts *opts, struct ctswap_dump_stats *stats);

struct ctswap_restore_opts {
	bool eager;			/* fill memory before resuming */
	unsigned int generation;	/* 0: the newest */
	bool allow_changed_files;
};

struct ctswap_restore_stats {
	pid_t init_pid;
	unsigned int tasks, threads;
	uint64_t pages_total;		/* pages to swap in */
	double running_ms;		/* until every task runs again */
};
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

struct ctswap_ckpt {
	unsigned int generation;
	uint64_t meta_bytes;		/* size of the blob file */
	bool own_pidns;
	unsigned int nr_tasks;
	struct ctswap_ckpt_task *tasks;	/* parents first; tasks[0] is the init */
	void *priv;
};
/* Read checkpoint @gen (0: the newest) of @name. Free with ctswap_ckpt_free(). */
int ctswap_ckpt_read(struct ctswap_store *store, const char *name, unsigned int gen,
		     struct ctswap_ckpt **out);
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

#ifdef __cplusplus
}
#endif
#endif
