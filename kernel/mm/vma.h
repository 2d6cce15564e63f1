/* SPDX-License-Identifier: MIT */
/*
 * A process's memory as dump sees it: the mappings of /proc/PID/smaps
 * turned into struct ct_vma, the mm fields, and which pages are present.
 *
 * Only present pages are ever read (this kernel has no shared zero page:
 * reading an untouched page allocates it).  Which present pages are stored
 * depends on the kind of the mapping (vma_stores_pages):
 *   CT_VMA_ANON          every present page;
 *   CT_VMA_FILE_PRIVATE  present pages that are anonymous (COW'd copies);
 *   CT_VMA_SHMEM         none from the page tables: the object behind it
 *                        is stored whole, once (mm/shm.c), under task key
 *                        vma->shm_key, mapping 0, address = offset in it;
 *   others               none (the file is the store; vdso/vvar come from
 *                        the kernel).
 */
#ifndef CT_MM_VMA_H
#define CT_MM_VMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "image/image.h"

/*
 * Shared memory objects met so far in one dump, each with its swap-area key
 * and an open descriptor of the object itself: its contents are read whole
 * from there (mm/shm.c), not from the tasks' page tables.
 */
struct vma_shm_obj {
	uint64_t dev, ino;
	uint32_t key;			/* CT_SHM_KEY_BASE + index */
	uint32_t kind;			/* enum ct_shm_kind */
	int fd;				/* the object, opened read-only through map_files */
	pid_t pid;			/* a process mapping it, for messages */
	char *path;			/* memfd name, tmpfs path, NULL otherwise */
	uint64_t size;			/* st_size at first sight */
	uint32_t mode, uid, gid;
	/* a SysV segment of the container's own IPC namespace (mm/shm.c: shm_dump_sysv) */
	int32_t sysv_key, sysv_id;
	uint32_t sysv_flags;		/* CT_SHM_SYSV_* (0: found through a mapping only) */
	bool sysv_attached;		/* some process had it attached (shm_nattch) */
};
/* A file of a private mapping, stat'ed once per dump: by the device and inode smaps shows. */
struct vma_file_seen {
	unsigned int maj, min;
	uint64_t ino;
	struct ct_file_id file;
};
struct vma_shm_table {
	size_t nr, cap;
	struct vma_shm_obj *objs;
	/* the files of private mappings (libc in every process): one open and stat each */
	size_t nr_seen, cap_seen;
	struct vma_file_seen *seen;
};

/* A run of pages [start, start + nr * PAGE_SIZE). */
struct page_run {
	uint64_t start;
	uint64_t nr;
};

/* Parse /proc/@pid/smaps into @mm->vmas (sorted), giving shared objects keys from @shm. */
int vma_collect(pid_t pid, struct vma_shm_table *shm, struct ct_mm *mm);
/* The same from the text of its smaps read already (@text is freed). */
int vma_collect_text(pid_t pid, char *text, struct vma_shm_table *shm, struct ct_mm *mm);
/* The CT_MADV_* flags smaps shows for the mapping of @pid holding @addr (0 if none). */
int vma_flags_at(pid_t pid, uint64_t addr, uint32_t *madv);
/* Fill the mm fields of @mm from /proc/@pid/stat, auxv and exe (brk: see dump). */
int mm_collect(pid_t pid, struct ct_mm *mm);
/*
 * The key of the shared memory object @st (@name as /proc shows it: a
 * mapping's path or an fd's link), adding it, opened through @open_path
 * (/proc/PID/map_files/..., /proc/PID/fd/N), if it is new.
 */
int vma_shm_object(struct vma_shm_table *shm, pid_t pid, const char *name, const char *open_path,
		   const struct stat *st, uint32_t *key);
/* Free the per-object state of @shm. */
void vma_shm_table_free(struct vma_shm_table *shm);
/* The object of a CT_VMA_SHMEM mapping, NULL if unknown. */
struct vma_shm_obj *vma_shm_find(struct vma_shm_table *shm, uint32_t key);

/* True if pages of mappings of this kind go into the swap area. */
bool vma_stores_pages(const struct ct_vma *vma);
/*
 * True if a fork() gives the child a copy-on-write copy of @vma's stored
 * pages: private anonymous and private file mappings, unless marked
 * MADV_DONTFORK (absent in the child) or MADV_WIPEONFORK (empty in the
 * child).  Shared memory is shared, not copied.  mlock()ed pages are
 * copied on write like any other (the child does not inherit the lock);
 * pages pinned for DMA are copied at fork time, which is a snapshot too.
 */
bool vma_fork_snapshots(const struct ct_vma *vma);

/* A reader of one process's page tables (PAGEMAP_SCAN, else /proc/PID/pagemap). */
struct pagemap {
	pid_t pid;
	int fd;
	bool no_scan;			/* PAGEMAP_SCAN unavailable: read entries */
};
int pagemap_open(pid_t pid, struct pagemap *pm);
void pagemap_close(struct pagemap *pm);
/*
 * The pages of @vma that are to be stored, as runs in address order in a
 * malloc'd array; *@nr_pages gets their total.
 */
int pagemap_stored_runs(struct pagemap *pm, const struct ct_vma *vma, struct page_run **runs,
			size_t *nr_runs, uint64_t *nr_pages);

#endif
