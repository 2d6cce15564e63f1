// SPDX-License-Identifier: MIT
/* Read the present pages of a seized process in large batches and push them into the swap area. */
#define LOG_PREFIX "dump-pages: "
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/dump_pages.h"
#include "mm/swaparea.h"

#define DUMP_MAX_IOV 1024		/* remote iovecs per process_vm_readv (UIO_MAXIOV) */

/* A piece of one batch: pages read from @addr, stored under (key, mapping, key_addr). */
struct piece {
	uint64_t addr;
	uint64_t nr;
	uint32_t key;
	uint64_t mapping;
	uint64_t key_addr;
	bool readable;			/* PROT_READ: process_vm_readv works */
};

/* One batch being filled. */
struct batch {
	struct piece p[DUMP_MAX_IOV];
	size_t nr;
	size_t bytes;
	int mem_fd;			/* /proc/PID/mem, opened when first needed */
	pid_t pid;
	bool mem_only;			/* never process_vm_readv (a snapshot child) */
};

/* True if a push or find selection @sel covers @vma. */
static bool sel_covers(enum dump_pages_sel sel, const struct ct_vma *vma)
{
	if (sel == DUMP_PAGES_ALL)
		return true;
	if (sel == DUMP_PAGES_NONE)
		return false;
	return vma_fork_snapshots(vma) == (sel == DUMP_PAGES_SNAPSHOT);
}

/* Find the runs of every mapping of one task. */
int dump_find_pages(struct dump_task_pages *tp, uint64_t *nr_pages)
{
	return dump_find_pages_sel(tp, tp->host_pid, DUMP_PAGES_ALL, nr_pages);
}

/* Find the runs of the mappings @sel covers in the page tables of @pid. */
int dump_find_pages_sel(struct dump_task_pages *tp, pid_t pid, enum dump_pages_sel sel,
			uint64_t *nr_pages)
{
	struct ct_mm *mm = &tp->task->mm;
	struct pagemap pm;
	int ret = 0;

	*nr_pages = 0;
	if (!tp->runs)
		tp->runs = xzalloc(sizeof(*tp->runs) * (mm->nr_vmas + 1));
	if (!tp->nr_runs)
		tp->nr_runs = xzalloc(sizeof(*tp->nr_runs) * (mm->nr_vmas + 1));
	if (!tp->runs || !tp->nr_runs)
		return -ENOMEM;
	ret = pagemap_open(pid, &pm);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < mm->nr_vmas; i++) {
		if (!sel_covers(sel, &mm->vmas[i]))
			continue;
		free(tp->runs[i]);
		ret = pagemap_stored_runs(&pm, &mm->vmas[i], &tp->runs[i], &tp->nr_runs[i],
					  &mm->vmas[i].nr_pages);
		if (ret)
			break;
		*nr_pages += mm->vmas[i].nr_pages;
	}
	pagemap_close(&pm);
	return ret;
}

void dump_task_pages_free(struct dump_task_pages *tp)
{
	if (tp->runs)
		for (uint32_t i = 0; i < tp->task->mm.nr_vmas; i++)
			free(tp->runs[i]);
	free(tp->runs);
	free(tp->nr_runs);
	tp->runs = NULL;
	tp->nr_runs = NULL;
}

int dump_pages_init(struct dump_pages *dp, struct swp_gen_writer *w, struct vma_shm_table *shm)
{
	memset(dp, 0, sizeof(*dp));
	dp->w = w;
	dp->shm = shm;
	dp->buf = mmap(NULL, DUMP_PAGES_BATCH, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dp->buf == MAP_FAILED) {
		dp->buf = NULL;
		return ct_err(-ENOMEM, "cannot map a %lu MiB read buffer", DUMP_PAGES_BATCH >> 20);
	}
	return 0;
}

void dump_pages_fini(struct dump_pages *dp)
{
	if (dp->buf)
		munmap(dp->buf, DUMP_PAGES_BATCH);
	dp->buf = NULL;
}

/* Read bytes [from, len) of the batch through /proc/PID/mem (unreadable mappings, short reads). */
static int batch_read_mem(struct batch *b, uint8_t *buf, size_t from)
{
	size_t off = 0;
	char path[64];
	int ret;

	if (b->mem_fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/mem", b->pid);
		b->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (b->mem_fd < 0)
			return ct_err(-errno, "pid %d: cannot open memory: %m", b->pid);
	}
	for (size_t i = 0; i < b->nr; i++) {
		size_t len = b->p[i].nr * PAGE_SIZE, skip = 0;

		if (off + len <= from) {
			off += len;
			continue;
		}
		if (off < from)
			skip = from - off;
		ret = pread_all(b->mem_fd, buf + off + skip, len - skip,
				(off_t)(b->p[i].addr + skip));
		if (ret)
			return ct_err(ret, "pid %d: cannot read memory at %llx: %s", b->pid,
				      (unsigned long long)(b->p[i].addr + skip), strerror(-ret));
		off += len;
	}
	return 0;
}

/* Read the whole batch into dp->buf: process_vm_readv for what it can, /proc/PID/mem for the rest. */
static int batch_read(struct dump_pages *dp, struct batch *b)
{
	struct iovec local = { dp->buf, b->bytes }, remote[DUMP_MAX_IOV];
	size_t n = 0, readable_bytes = 0;
	ssize_t got = 0;

	/* Readable pieces come first in a batch (see batch_add); read them in one call. */
	for (; n < b->nr && b->p[n].readable; n++) {
		remote[n].iov_base = (void *)(uintptr_t)b->p[n].addr;
		remote[n].iov_len = b->p[n].nr * PAGE_SIZE;
		readable_bytes += remote[n].iov_len;
	}
	if (n && !b->mem_only) {
		local.iov_len = readable_bytes;
		got = process_vm_readv(b->pid, &local, 1, remote, n, 0);
		if (got < 0) {
			pr_debug("pid %d: process_vm_readv: %m, using /proc/PID/mem", b->pid);
			got = 0;
		}
	}
	if ((size_t)got == b->bytes)
		return 0;
	return batch_read_mem(b, dp->buf, (size_t)got);
}

/* Read the batch and push every piece; empties it. */
static int batch_flush(struct dump_pages *dp, struct batch *b)
{
	size_t off = 0;
	int ret;

	if (!b->nr)
		return 0;
	ret = batch_read(dp, b);
	if (ret)
		return ret;
	/* dp->buf holds every piece until the flush: one write per run of slots */
	for (size_t i = 0; i < b->nr; i++) {
		struct piece *p = &b->p[i];

		ret = swp_put_pages_held(dp->w, p->key, p->mapping, p->key_addr, dp->buf + off, p->nr);
		if (ret)
			return ret;
		off += p->nr * PAGE_SIZE;
		dp->pages_done += p->nr;
	}
	ret = swp_flush_held(dp->w);
	if (ret)
		return ret;
	dp->pages_read += b->bytes / PAGE_SIZE;
	b->nr = 0;
	b->bytes = 0;
	if (dp->batch_done)
		return dp->batch_done(dp, dp->arg);
	return 0;
}

/*
 * Add pages [addr, addr + nr) to the batch, flushing as it fills.
 * Unreadable pieces are flushed on their own so that readable ones stay in
 * one process_vm_readv.
 */
static int batch_add(struct dump_pages *dp, struct batch *b, const struct piece *in)
{
	struct piece p = *in;
	int ret;

	while (p.nr) {
		uint64_t room = (DUMP_PAGES_BATCH - b->bytes) / PAGE_SIZE;
		bool mixed = b->nr && b->p[b->nr - 1].readable != p.readable;

		if (!room || b->nr == DUMP_MAX_IOV || mixed) {
			ret = batch_flush(dp, b);
			if (ret)
				return ret;
			continue;
		}
		b->p[b->nr] = p;
		if (b->p[b->nr].nr > room)
			b->p[b->nr].nr = room;
		b->bytes += b->p[b->nr].nr * PAGE_SIZE;
		p.addr += b->p[b->nr].nr * PAGE_SIZE;
		p.key_addr += b->p[b->nr].nr * PAGE_SIZE;
		p.nr -= b->p[b->nr].nr;
		b->nr++;
	}
	return 0;
}

/* Push every found page of one task. */
int dump_push_pages(struct dump_pages *dp, struct dump_task_pages *tp)
{
	return dump_push_pages_sel(dp, tp, tp->host_pid, DUMP_PAGES_ALL);
}

/* Push the found pages of the mappings @sel covers, read from @pid. */
int dump_push_pages_sel(struct dump_pages *dp, struct dump_task_pages *tp, pid_t pid,
			enum dump_pages_sel sel)
{
	struct ct_mm *mm = &tp->task->mm;
	struct batch *b;
	int ret = 0;

	b = xzalloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->mem_fd = -1;
	b->pid = pid;
	b->mem_only = sel == DUMP_PAGES_SNAPSHOT;
	for (uint32_t i = 0; i < mm->nr_vmas && !ret; i++) {
		const struct ct_vma *vma = &mm->vmas[i];

		if (!sel_covers(sel, vma))
			continue;

		for (size_t j = 0; j < tp->nr_runs[i] && !ret; j++) {
			const struct page_run *r = &tp->runs[i][j];
			struct piece p = {
				.addr = r->start, .nr = r->nr, .key = (uint32_t)tp->task->pid,
				.mapping = vma->start, .key_addr = r->start,
				.readable = vma->prot & PROT_READ,
			};

			ret = batch_add(dp, b, &p);
		}
	}
	if (!ret)
		ret = batch_flush(dp, b);
	if (b->mem_fd >= 0)
		close(b->mem_fd);
	free(b);
	return ret;
}
