/* SPDX-License-Identifier: MIT */
/*
 * Restore internals: rebuilding processes from outside by injected system
 * calls (doc/DESIGN.md "Restore").  Every process being rebuilt is a task we
 * created (a fork of the supervisor, or an injected clone3 in its
 * parent-to-be), PTRACE_SEIZEd and sitting in a ptrace-stop; nothing runs
 * in it but the system calls we inject, until every task is rebuilt and
 * all are detached together.
 *
 * The layers, bottom up: mm.c (an address space), threads.c (the other
 * threads of a process), tree.c (the processes, their pids, sessions and
 * groups), par.c (independent processes rebuilt by threads at once),
 * restore.c (restore_container(): all of it, and cleanup on failure).
 */
#ifndef CT_RESTORE_RST_H
#define CT_RESTORE_RST_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctswap.h"

#include "inject/inject.h"
#include "image/image.h"
#include "mm/lazy.h"

struct page_source;
struct swp_gen_reader;
struct file_table;
struct clone_args;

#define RST_SCRATCH_LEN (16 * 4096UL)	/* clone_args, paths, prctl map, auxv */
/* After the scratch range: the batch routine's page, then its table and data (inject.h). */
#define RST_BATCH_LEN (65 * 4096UL)

/* The [vvar] [vvar_vclock] [vdso] block: index 0, 1, 2. */
struct rst_vblock {
	uint64_t start[3], end[3];
	bool have[3];
	uint64_t lo, hi;	/* the whole block */
};

/* One thread being rebuilt. */
struct rst_thread {
	const struct ct_thread *th;	/* what the image says */
	pid_t host_tid;			/* 0 until created */
	struct inj_ctx inj;		/* active while we own the thread */
};

/* One process being rebuilt. */
struct rst_proc {
	const struct ct_task *t;	/* what the image says */
	pid_t host_pid;			/* 0 until created */
	int pidfd;			/* -1 until opened */
	struct rst_thread *threads;	/* t->nr_threads, [0] the leader */
	unsigned long scratch;		/* scratch range in the tracee, 0 none */
	size_t scratch_len;
	struct inj_batch batch;		/* calls run together, after the scratch range */
	int uffd;			/* restorer's copy of the task's userfaultfd, -1 none */
	uint64_t uffd_pages;		/* pages stored for the registered ranges */
	struct lazy_region *regions;	/* the registered ranges */
	size_t nr_regions;
	struct rst_vblock vdso;		/* the vdso block as rst_mm_begin() found it */
	/*
	 * Its process group and session now, as its pid namespace numbers
	 * them: inherited at the injected fork, changed only by our setsid
	 * and setpgid, so known without reading /proc (tree.c).
	 */
	long pgid_now, sid_now;
	bool ids_known;
	const uint64_t *cap_bnd_now;	/* the bounding set it holds until its creds (task.h) */
	/*
	 * Restored on a root the caller gave (another mount of the same image,
	 * as podman's restore --import makes): a mapped file there has another
	 * device and inode, so its size and mtime say whether it is the same.
	 */
	bool root_given;
};

/* One shared memory object: made and filled by the restorer, handed to the tasks. */
struct rst_shm {
	uint32_t key;			/* swap-area key (ct_vma.shm_key) */
	const struct ct_shm *rec;	/* what the dump recorded; NULL in blobs before it */
	uint64_t size;			/* bytes: rec->size, else the furthest any mapping reaches */
	int fd;				/* the object in the restorer */
	int task_fd;			/* the same object's number in the tasks */
};

/* Filling one object from the swap area. */
struct rst_shm_fill {
	const struct rst_shm *o;
	struct swp_gen_reader *rd;
	uint8_t *buf;
};

struct rst_shm_set {
	size_t nr;
	struct rst_shm *objs;
};

/*
 * Files mapped by several processes (a program, its libraries), opened once
 * by the init before it forks: every task inherits them at the same
 * numbers and maps from them, with no open and no check of its own (mm.c).
 */
struct rst_shared_file {
	const char *path;
	int flags;			/* O_RDONLY or O_RDWR */
	const struct ct_file_id *id;	/* what the dump recorded */
	long fd;			/* in every task, inherited */
	bool exe_now;			/* the tasks' executable already: PR_SET_MM_MAP keeps it */
};

struct rst_shared_files {
	struct rst_shared_file *f;	/* sorted by path, flags, device, inode */
	size_t nr;
};

struct rst_mm_opts {
	bool allow_changed_files;	/* map files whose identity changed */
	const struct page_source *pages;	/* COW'd pages of private file mappings */
	const struct rst_shm_set *shm;	/* shared memory objects, mapped from their memfds */
	const struct ct_image *img;	/* with @ft: deleted files are mapped from their fds */
	const struct file_table *ft;	/* the files at the tasks' transport numbers */
	struct change_cache *seen;	/* changed mapped files read so far (task/changed.c) */
	const struct rst_shared_files *shared;	/* opened by the init for every task; NULL none */
};

/* shm.c */
/* Make and fill every shared memory object of @img (shm.c has how, per kind). */
int rst_shm_open(struct rst_shm_set *set, const struct ct_image *img, struct swp_gen_reader *rd);
/* Put back the seals of sealed memfds: after every task mapped them. */
int rst_shm_seal(const struct rst_shm_set *set);
void rst_shm_close(struct rst_shm_set *set);
/* The restorer's fd of object @key (@arg: the set), -1 if unknown: memfd descriptions. */
int rst_shm_fd(const void *arg, uint32_t key);
/* The tasks' fd number of object @key, -1 if unknown. */
int rst_shm_task_fd(const struct rst_shm_set *set, uint32_t key);
/* Is object @key a SysV segment made again (mapped by rst_shm_attach, not from an fd)? */
bool rst_shm_sysv(const struct rst_shm_set *set, uint32_t key);
/* Map @v in @p if its object is a SysV segment made again (shmat): 1 done, 0 not one, -errno. */
int rst_shm_attach(struct rst_proc *p, const struct ct_vma *v, const struct rst_shm_set *set);
/* Is a SysV segment to be marked removed again once attached? */
bool rst_shm_sysv_dest(const struct rst_shm_set *set);
/* In the container's IPC namespace: mark those segments removed again. */
int rst_shm_sysv_remove(const struct rst_shm_set *set);

/* mm.c */
/* Start injecting into @p's leader: syscall instruction, rseq off, scratch memory (@parent's if it can). */
int rst_mm_begin(struct rst_proc *p, const struct rst_proc *parent);
/* Unmap all of @p but scratch and the vdso block, before it forks children. */
int rst_mm_clear(struct rst_proc *p);
/* Open in @init, before it forks, the files several of @procs map; checked once each. */
int rst_mm_share_files(struct rst_proc *init, const struct rst_proc *procs, size_t nr,
		       const struct rst_mm_opts *o, struct rst_shared_files *sf);
void rst_shared_files_free(struct rst_shared_files *sf);
/* Replace @p's address space by the image's (step 4), uffd registered on stored anon ranges. */
int rst_mm_rebuild(struct rst_proc *p, const struct rst_mm_opts *o);
/* Fill every stored anonymous page through @p->uffd now (UFFDIO_COPY). */
int rst_mm_fill_eager(struct rst_proc *p, const struct page_source *pages, uint64_t *filled);
/* Unmap the scratch range: the last injected call into the process. */
int rst_mm_end(struct rst_proc *p);
/* Lock fully what was mlock()ed, and mlockall(MCL_FUTURE): once the lazy server runs. */
int rst_mm_lock(struct rst_proc *p);
/* Fill now the registered pages of [@addr, +@len) the kernel touches while we inject. */
int rst_mm_populate(struct rst_proc *p, const struct page_source *pg, uint64_t addr, uint64_t len);
/* Close the restorer's uffd of @p (when eager, or after handing it over). */
void rst_mm_close_uffd(struct rst_proc *p);
/* Write @len bytes to the scratch memory of @p at @off; *@addr is its tracee address. */
int rst_scratch_put(struct rst_proc *p, size_t off, const void *data, size_t len,
		    unsigned long *addr);
/* Inject a system call into @p's leader; failures come back as -errno. */
long rst_syscall(struct rst_proc *p, long nr, unsigned long a1, unsigned long a2,
		 unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6);

/* threads.c */
/* Create the non-leader threads of @p with their tids (stopped, attached). */
int rst_threads_create(struct rst_proc *p);

/* par.c */
#define RST_MAX_THREADS 8	/* restoring threads at most: the caller and its workers */

/* The CPUs the restoring threads and their tasks are pinned to while injecting. */
struct rst_cpus {
	cpu_set_t orig;			/* the init's mask: every task's once released */
	cpu_set_t self_orig;		/* the caller's own */
	int cpu[RST_MAX_THREADS];	/* [0] the caller's CPU, then the others of orig */
	unsigned nr;
	bool pinned;			/* the init (so every task) is pinned: unpin each */
	bool self_pinned;
};
/* Note the masks, pin the caller and the init (its children inherit it) to the caller's CPU. */
void rst_cpu_begin(struct rst_cpus *cpus, pid_t init);
/* Pin task @tid (0: the calling thread) to the CPU of restoring thread @k: 0 or -errno, quietly. */
int rst_cpu_pin(const struct rst_cpus *cpus, pid_t tid, unsigned k);
/* Give task @tid the init's first mask back (before it runs on its own). */
int rst_cpu_unpin(const struct rst_cpus *cpus, pid_t tid);
/* Give the caller its own mask back. */
void rst_cpu_end(struct rst_cpus *cpus);

struct rst_pool;
/* One step of the rebuild for process @p (@arg: the caller's). */
typedef int rst_each_fn(void *arg, struct rst_proc *p);
/*
 * Share the rebuild of @procs (all created, none rebuilt yet) among @want threads at most,
 * each the tracer of its share; *@pool stays NULL when one thread is best.
 * @ptrace_opts: what the workers seize with; worker k runs on CPU k of @cpus.  Failing, *@pool may be set
 * all the same: kill the processes, then rst_pool_stop().
 */
int rst_pool_start(struct rst_pool **pool, struct rst_proc *procs, size_t nr, long ptrace_opts,
		   const struct rst_cpus *cpus, unsigned want);
/*
 * Run @fn on each of the @nr @procs, each on the thread that traces it,
 * all at once; back when every thread is done; the first failure.  @pool
 * NULL: in order, in the caller, stopping at the first failure.
 */
int rst_pool_each(struct rst_pool *pool, size_t nr, struct rst_proc *procs, rst_each_fn *fn,
		  void *arg);
/* End the workers: once their processes are detached or dead. */
void rst_pool_stop(struct rst_pool *pool);

/* tree.c */
/* Inject clone3(@ca) into @p with set_tid {@tid}; the raw result. */
long rst_clone3(struct rst_proc *p, struct clone_args *ca, pid_t tid);
/* Create the child @c of @parent by injected clone3 with its pid; attached and stopped. */
int rst_tree_fork(struct rst_proc *parent, struct rst_proc *c);
/* Make @p a session leader if the image says so (before it forks children). */
int rst_tree_setsid(struct rst_proc *p);
/* Make sessions and process groups what the image says. */
int rst_tree_sessions(struct rst_proc *procs, size_t nr);
/* Seize a task we created and wait for its first stop. */
int rst_seize(pid_t pid, unsigned long options);
/* Wait for the auto-attach stop of a new child/thread @pid. */
int rst_wait_new(pid_t pid);
/* Fill @t, the task zombie @z is created as (its threads array is allocated). */
int rst_zombie_task(struct ct_task *t, const struct ct_zombie *z);
/* Start injecting into zombie-to-be @z, a fresh child of @parent. */
int rst_zombie_begin(struct rst_proc *z, const struct rst_proc *parent);
/* Make @z exit so that @parent's wait reads @status; @parent's signal of it is taken back. */
int rst_zombie_exit(struct rst_proc *z, struct rst_proc *parent, uint32_t status);
/* Initialise @p for task @t (no process yet). */
int rst_proc_init(struct rst_proc *p, const struct ct_task *t);
/* Free what rst_proc_init allocated (not the process). */
void rst_proc_free(struct rst_proc *p);

/* The restore behind ctswap_restore() (kernel/api/restore.c). */
int restore_container(struct ctswap_store *store, const char *name,
		      const struct ctswap_restore_opts *opts, struct ctswap_restore_stats *stats);

#endif
