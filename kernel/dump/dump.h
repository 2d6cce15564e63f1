/* SPDX-License-Identifier: MIT */
/*
 * Internals of ctswap_dump() (include/ctswap.h), shared by dump.c (the
 * orchestration) and tree.c (which processes and threads there are).
 */
#ifndef CT_DUMP_H
#define CT_DUMP_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "ctswap.h"
#include "freezer/seize.h"
#include "image/image.h"
#include "mm/dump_pages.h"
#include "mm/vma.h"
#include "dump/snapshot.h"
#include "task/task.h"

struct ct_cgroup;
struct swp_area;
struct swp_gen_writer;

/*
 * The blob of a dump that copies every page while stopped, encoded on a
 * thread while the pages are pushed and committed (dump.c): the image is
 * final by then but for the generation it names, which is the area's next.
 */
struct dump_blob {
	pthread_t thread;
	bool running;			/* the thread was started and not joined yet */
	const struct ct_image *img;
	unsigned gen;			/* the generation it was encoded for */
	uint8_t *buf;			/* the encoded blob ... */
	size_t len;			/* ... of this many bytes */
	int ret;			/* the encoding's failure (its message is the thread's) */
};

struct dump_ctx {
	struct ctswap_store *store;
	const char *name;
	const struct ctswap_dump_opts *opts;
	struct ctswap_dump_stats *stats;
	int lock_fd;
	struct ct_cgroup *cg;
	struct swp_area *sa;
	struct swp_gen_writer *w;	/* the generation being written, NULL once committed */
	struct seize_set ss;
	bool seized;			/* threads in ss are ours to release */
	struct ct_image *img;
	struct dump_task_pages *tp;	/* one per img->tasks[i] */
	struct vma_shm_table shm;
	bool snapshot;			/* copy-on-write snapshot dump (see snapshot.h) */
	struct snap_child *snaps;	/* one per img->tasks[i] in a snapshot dump */
	uint64_t pages_total;
	double t0;			/* now_ms() at the start */
	double last_progress;		/* now_ms() of the last progress report */
	sigset_t old_mask;		/* caller's mask; we block SIGINT/SIGTERM/SIGHUP */
	struct tcp_repair_set tcp_repair;	/* sockets in TCP repair mode (--tcp-established) */
	struct fd_holders fd_holders;	/* the descriptions recorded, in kcmp order (task.h) */
	struct lock_table locks;	/* /proc/locks, read on a thread once the tasks are stopped */
	pid_t ref_pid;			/* whose namespaces are "the host's" (dump/shape.c) */
	struct change_cache *map_seen;	/* mapped files checksummed so far (task/changed.c) */
	struct dump_blob blob;		/* encoded while the pages are pushed (no snapshot) */
};

/*
 * ahead.c: a thread that reads /proc/PID/smaps of the processes, in the
 * order they are collected, while the dump's thread works on the ones
 * before (the tasks are stopped: nothing changes in between).
 */
struct dump_ahead {
	pthread_t thread;
	bool inited, running;
	uint32_t nr;			/* processes, in the image's order ... */
	pid_t *pids;			/* ... their host pids */
	char **smaps;			/* the text read for each, NULL if not (yet) */
	struct ct_mm *mm;		/* the mm fields read for each (mm_collect()) ... */
	bool *mm_read;			/* ... if read */
	char **status;			/* the /proc/PID/status text read for each, NULL if not */
	uint32_t done;			/* processes the thread is through with */
	bool stop;			/* the dump's thread wants no more */
	pthread_mutex_t lock;		/* protects smaps, done and stop */
	pthread_cond_t cond;		/* done grew */
};
/* Start reading ahead for the tasks of @img (no thread for one: nothing to overlap). */
int dump_ahead_start(struct dump_ahead *a, const struct ct_image *img);
/* The smaps text of task @idx, once read (the caller frees it); NULL: read it yourself. */
char *dump_ahead_smaps(struct dump_ahead *a, uint32_t idx);
/* Move the mm fields of task @idx read ahead into @mm (its vmas kept); false: read them yourself. */
bool dump_ahead_mm(struct dump_ahead *a, uint32_t idx, struct ct_mm *mm);
/* The status text of task @idx read ahead (the caller frees it), after dump_ahead_smaps(); NULL if none. */
char *dump_ahead_status(struct dump_ahead *a, uint32_t idx);
/* Stop the thread and free what it read and nobody took. */
void dump_ahead_stop(struct dump_ahead *a);

/*
 * Fill d->img->tasks from the seized threads: pids at the container's pid
 * namespace level, parents before children (tasks[0] is the init), threads
 * with the leader first, and the image's namespace fields.
 */
int dump_collect_tree(struct dump_ctx *d);

/* shape.c: record namespaces and limits; refuse what a restore would not give back. */
int dump_shape(struct dump_ctx *d);

/* -EINTR with ct_err if SIGINT, SIGTERM or SIGHUP arrived (consuming it). */
int dump_check_interrupt(void);
/* Test hooks at dump step @step: "dump-stop:@step" stops, "dump:@step" gives -EIO (lib/fault.h). */
int dump_fault(const char *step);

/* The dump behind ctswap_dump() (kernel/api/dump.c). */
int dump_container(struct ctswap_store *store, const char *name,
		   const struct ctswap_dump_opts *opts, struct ctswap_dump_stats *stats);

#endif
