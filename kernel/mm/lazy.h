/* SPDX-License-Identifier: MIT */
/*
 * The lazy swap-in server: after a restore, the container's private
 * anonymous memory arrives from the swap area on demand.
 *
 * The restorer registers every private anonymous VMA of every restored
 * process with a userfaultfd (lazy_uffd_setup) and hands the descriptors to
 * lazy_start().  In lazy mode that forks a server process of its own
 * (setsid, detached, it survives the restorer) which
 *   - answers each page fault with UFFDIO_COPY from the swap area (a run of
 *     adjacent pages when the faults look sequential), or UFFDIO_ZEROPAGE
 *     for a page the swap area does not hold;
 *   - prefetches every other stored page in the background in large batches;
 *   - follows fork (the child's uffd is served with the parent's task key),
 *     mremap, madvise(DONTNEED) (those pages read zero afterwards, never swap
 *     data) and munmap;
 *   - writes progress to opts->state_path now and then;
 *   - exits when every stored page is resident: it unregisters, closes the
 *     uffds and removes the state file.
 * A watchdog (the server's own child, holding copies of the uffds so the
 * container cannot fall through to zero pages) freezes and kills the
 * container's cgroup if the server dies before it finished, and writes the
 * reason to opts->log_path.
 */
#ifndef CT_MM_LAZY_H
#define CT_MM_LAZY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A registered private anonymous VMA, at the address it had at dump. */
struct lazy_region {
	uint64_t start, end;	/* page-aligned, end exclusive */
	uint64_t mapping;	/* the VMA's start at dump (the swap-area key part) */
};

/* One restored address space. */
struct lazy_mm {
	int uffd;		/* its userfaultfd, set up by lazy_uffd_setup(); lazy_start
				 * takes ownership (closes the caller's copy, sets -1) */
	pid_t host_pid;		/* the process owning it, for logs */
	uint32_t task_key;	/* swap-area task key (ct_task.pid) */
	size_t nr_regions;
	struct lazy_region *regions;	/* sorted by address, not overlapping */
};

struct ct_cgroup;
struct page_source;
struct swp_gen_reader;

struct lazy_opts {
	const char *swap_path;	/* the swap area (STORE/NAME/swap), opened read-only */
	unsigned generation;	/* generation to read; 0 = the newest */
	const char *state_path;	/* STORE/NAME/lazy.state: progress, removed at the end; may be NULL */
	const char *log_path;	/* STORE/NAME/lazy.log: server and watchdog log; may be NULL */
	struct ct_cgroup *cgroup;	/* the container's, killed (cg_kill) if the server dies */
	bool eager;		/* fill every page now, in the caller; no server process */
	/*
	 * Out, optional: an fd the caller closes once the tasks run, to start
	 * the background prefetch then.  Prefetching while the restorer still
	 * rebuilds would compete with it for the CPU and lengthen the time to
	 * running; faults are served from the start either way.  NULL: at once.
	 */
	int *prefetch_gate;
	/*
	 * Optional: the generation, already open in the caller.  The server is
	 * a fork of the caller and serves from its copy, so the swap area is
	 * not opened and checked a second time.  NULL: open swap_path.
	 */
	struct swp_gen_reader *reader;
	/*
	 * Optional: STORE/NAME/wset (mm/wset.h).  The server prefetches the
	 * working set recorded there for this generation before everything
	 * else; without one it records the pages faulted in and writes them
	 * there when done.  NULL: neither.
	 */
	const char *wset_path;
	/*
	 * Optional: the working set of wset_path as the caller read it ahead
	 * (lazy_warm_start) while it rebuilt the tasks: the server takes its
	 * copy of it, the caller still frees its own (lazy_warm_free).
	 */
	struct lazy_warm *warm;
	/*
	 * Copy the working set before the tasks run (lazy_start returns once
	 * it is in place), as REAP does; otherwise the server copies it first
	 * while they already run.  Costs time to the first instruction.
	 */
	bool wset_fill;
	/* Additions for tests and benchmarks: */
	const struct page_source *source;	/* NULL: the swap area at swap_path */
	bool no_prefetch;	/* serve faults only: the server ends once every stored page
				 * was touched (an exited process is noticed by prefetch
				 * alone, so without it the server then waits forever) */
};

/* Progress as written to the state file (keys resident, total, pid). */
struct lazy_progress {
	uint64_t resident;	/* stored pages made resident so far */
	uint64_t total;		/* stored pages to make resident (grows on fork) */
	pid_t pid;		/* the server */
};

/*
 * Prepare @uffd for the restorer: set O_NONBLOCK, UFFDIO_API with
 * EVENT_FORK|EVENT_REMAP|EVENT_REMOVE|EVENT_UNMAP, then UFFDIO_REGISTER
 * (MISSING) on each of the @nr regions.  The uffd must have been created
 * in the target address space and not been API'd yet.
 */
int lazy_uffd_setup(int uffd, const struct lazy_region *regions, size_t nr);

/*
 * Lazy: fork the server process (setsid, detached: it survives the caller),
 * hand it every uffd of @mms (the caller's copies are closed and set to -1),
 * and return its pid in *@server_pid once it is serving.  The server's
 * parent is whatever reaps the caller's orphans (a subreaper, or pid 1).
 * Eager: copy every stored page now (UFFDIO_COPY in large batches) in the
 * calling process, then unregister and close the uffds; *@server_pid = 0.
 * The target tasks should be stopped in eager mode.
 * The caller's own memory must not be registered with any of the uffds:
 * with EVENT_FORK, its fork would wait for a server that is not there yet.
 * On failure the uffds stay the caller's.
 */
int lazy_start(const struct lazy_opts *opts, struct lazy_mm *mms, size_t nr, pid_t *server_pid);

/*
 * Start reading the working set recorded at @wset_path for @generation in
 * the background (a thread of the caller, reading through @rd, which must
 * stay open until lazy_warm_stop): the file, then its pages in first-fault
 * order, up to 64 MiB, into memory a server forked later inherits
 * (lazy_opts.warm).  Pages arrive while the restorer still rebuilds the
 * tasks, so after the resume only the copies into their memory remain.
 * Only a hint: a missing or damaged file is the server's to report.
 */
struct lazy_warm;
int lazy_warm_start(const char *wset_path, unsigned generation, struct swp_gen_reader *rd,
		    struct lazy_warm **out);
/* Stop reading (the groups read so far stay) and wait for the thread: before forking the server. */
void lazy_warm_stop(struct lazy_warm *w);
/* Stop and free @w (NULL: nothing). */
void lazy_warm_free(struct lazy_warm *w);

/* Read the progress file at @path (written by a running server). */
int lazy_progress_read(const char *path, struct lazy_progress *p);

#endif
