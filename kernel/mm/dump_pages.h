/* SPDX-License-Identifier: MIT */
/*
 * Pushing a seized process's pages into a swap-area generation: present
 * pages only (see mm/vma.h for which ones), read with process_vm_readv in
 * batches of DUMP_PAGES_BATCH bytes, falling back to /proc/PID/mem where a
 * mapping is not readable.  Shared memory objects are not read here but
 * whole from the objects themselves (mm/shm.h).
 */
#ifndef CT_MM_DUMP_PAGES_H
#define CT_MM_DUMP_PAGES_H

#include <stdint.h>
#include <sys/types.h>

#include "image/image.h"
#include "mm/vma.h"

#define DUMP_PAGES_BATCH (4UL << 20)	/* bytes read per process_vm_readv */

struct swp_gen_writer;

/* The runs of pages to store for each mapping of one task, found by pagemap_stored_runs. */
struct dump_task_pages {
	pid_t host_pid;
	struct ct_task *task;		/* the image's task: key t->pid, vmas t->mm.vmas */
	struct page_run **runs;		/* per vma */
	size_t *nr_runs;		/* per vma */
};

struct dump_pages {
	struct swp_gen_writer *w;
	struct vma_shm_table *shm;
	uint8_t *buf;			/* DUMP_PAGES_BATCH bytes */
	uint64_t pages_done;		/* pages pushed so far */
	uint64_t pages_read;		/* of those, pages read from the tasks */
	/* called after each batch; a non-zero return stops the push with it */
	int (*batch_done)(struct dump_pages *dp, void *arg);
	void *arg;
};

/*
 * Which mappings a find or a push covers.  A snapshot dump copies the
 * mappings a fork does not snapshot (vma_fork_snapshots() false) while the
 * container is stopped, then the others from the snapshot child.
 */
enum dump_pages_sel {
	DUMP_PAGES_ALL,		/* every mapping */
	DUMP_PAGES_FROZEN,	/* those a fork does not snapshot */
	DUMP_PAGES_SNAPSHOT,	/* those it does */
	DUMP_PAGES_NONE,	/* none (the caller skips the push) */
};

/* Find the runs of every mapping of @tp->task (sets each vma's nr_pages); *@nr_pages their sum. */
int dump_find_pages(struct dump_task_pages *tp, uint64_t *nr_pages);
/*
 * The same for the mappings @sel covers, reading the page tables of
 * @pid (the process itself, or its snapshot child).
 */
int dump_find_pages_sel(struct dump_task_pages *tp, pid_t pid, enum dump_pages_sel sel,
			uint64_t *nr_pages);
/* Free what dump_find_pages allocated. */
void dump_task_pages_free(struct dump_task_pages *tp);
/* Set up the batch buffer. */
int dump_pages_init(struct dump_pages *dp, struct swp_gen_writer *w, struct vma_shm_table *shm);
void dump_pages_fini(struct dump_pages *dp);
/* Read and push the pages found for one task. */
int dump_push_pages(struct dump_pages *dp, struct dump_task_pages *tp);
/*
 * Push the pages found for the mappings @sel covers, reading them from
 * @pid.  DUMP_PAGES_SNAPSHOT reads only through /proc/PID/mem: on a
 * snapshot child, process_vm_readv would break the copy-on-write sharing.
 */
int dump_push_pages_sel(struct dump_pages *dp, struct dump_task_pages *tp, pid_t pid,
			enum dump_pages_sel sel);

#endif
