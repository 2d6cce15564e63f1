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

/*
 * ahead.c: a thread that reads what /proc shows of each process (smaps,
 * the mm fields, status) from the moment the tasks are stopped, while the
 * dump's thread builds the tree and then works on the processes before
 * (nothing changes in between).  It reads them in the order they were
 * seized, which the tree does not know yet; each is found by its host pid.
 */
struct dump_ahead {
	pthread_t thread;
	bool inited, running;
	uint32_t nr;			/* processes, in the order they are read ... */
	pid_t *pids;			/* ... their host pids */
	uint32_t *by_pid;		/* indexes into pids, sorted by pid */
	char **smaps;			/* the text read for each, NULL if not (yet) */
	struct ct_mm *mm;		/* the mm fields read for each (mm_collect()) ... */
	bool *mm_read;			/* ... if read */
	char **status;			/* the /proc/PID/status text read for each, NULL if not */
	uint8_t *state;			/* who reads smaps, mm and status of each (ahead.c: enum ahead_state) */
	/*
	 * Then, once every process's smaps is read, their fds (task.h:
	 * struct fds_seen).  Each of the two is read by whichever thread
	 * comes to it first: the dump's thread does not wait for one the
	 * thread has not begun.
	 */
	struct fds_seen *fds;
	struct misc_seen *misc;		/* read with the fds */
	uint8_t *fds_state;
	double waited_ms;		/* the dump's thread waited this long for it ... */
	bool waited;			/* ... at least once */
	bool stop;			/* the dump's thread wants no more */
	pthread_mutex_t lock;		/* protects state, fds_state and stop */
	pthread_cond_t cond;		/* a state changed */
};
/* Start reading ahead for the processes of the seized threads of @ss (no thread for one). */
int dump_ahead_start(struct dump_ahead *a, const struct seize_set *ss);
/* The smaps text of host pid @pid, once read (the caller frees it); NULL: read it yourself. */
char *dump_ahead_smaps(struct dump_ahead *a, pid_t pid);
/* Move the mm fields of @pid read ahead into @mm (its vmas kept); false: read them yourself. */
bool dump_ahead_mm(struct dump_ahead *a, pid_t pid, struct ct_mm *mm);
/* The status text of @pid read ahead (the caller frees it), after dump_ahead_smaps(); NULL if none. */
char *dump_ahead_status(struct dump_ahead *a, pid_t pid);
/*
 * The fds of @pid and misc.c's files of it read ahead, moved into @fds and
 * @misc (the caller frees them: fds_seen_free(), misc_seen_free()); false:
 * read them yourself (the thread will not; @misc is empty).
 */
bool dump_ahead_fds(struct dump_ahead *a, pid_t pid, struct fds_seen *fds, struct misc_seen *misc);
/* Stop the thread and free what it read and nobody took (a zeroed one too). */
void dump_ahead_stop(struct dump_ahead *a);

/*
 * Where the frozen time of the collection goes (dump.c: dump_phase()),
 * printed with -v once the state is collected: what stays is named.
 */
enum dump_phase {
	DUMP_PH_TREE, DUMP_PH_SHAPE, DUMP_PH_PROCS, DUMP_PH_MAP, DUMP_PH_READS, DUMP_PH_RESOURCES,
	DUMP_PH_UNMAP, DUMP_PH_SNAPSHOTS, DUMP_PH_END, DUMP_PH_FINISH, DUMP_NR_PH
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
	struct dump_ahead ahead;	/* /proc read ahead from the seize on */
	double phase_ms[DUMP_NR_PH];	/* time spent in each phase so far (dump_phase()) */
	double phase_t;			/* now_ms() when the current phase began */
	double ahead_waited_ms;		/* of DUMP_PH_PROCS, waiting for the reads ahead */
	uint32_t read_self;		/* processes whose smaps were not read ahead */
};


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
