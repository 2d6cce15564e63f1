// SPDX-License-Identifier: MIT
/*
 * Rebuild an address space from outside, by system calls injected into a
 * stopped task (doc/DESIGN.md "Restore" step 4): scratch range, unmap all
 * but scratch and the vdso block, move the vdso block to the dumped place,
 * map every VMA, write COW'd pages of private file mappings, userfaultfd on
 * the stored anonymous ranges, PR_SET_MM_MAP.
 */
#define LOG_PREFIX "restore-mm: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/lazy.h"
#include "mm/swaparea.h"
#include "restore/rst.h"
#include "task/task.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#ifndef PR_SET_MM_MAP
#define PR_SET_MM_MAP 14
#endif

#define RSEQ_FLAG_UNREGISTER 1
#define TASK_SIZE_MAX 0x7ffffffff000UL
#define FILL_CHUNK 512		/* pages read from the store per step: 2 MiB */

struct rseq_config {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size, signature, flags, pad;
};

/* prctl(PR_SET_MM, PR_SET_MM_MAP) argument: 104 bytes. */
struct mm_map {
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size, exe_fd;
};

static const char *const vblock_names[3] = { "[vvar]", "[vvar_vclock]", "[vdso]" };

/* Close the block's bounds once its parts are known. */
static int vblock_bounds(struct rst_vblock *b)
{
	b->lo = UINT64_MAX;
	b->hi = 0;
	for (int i = 0; i < 3; i++) {
		if (!b->have[i])
			continue;
		b->lo = min_t(uint64_t, b->lo, b->start[i]);
		b->hi = max_t(uint64_t, b->hi, b->end[i]);
	}
	return b->have[2] ? 0 : -ENOENT;
}

/* Find the vdso block of a live task in /proc/PID/maps. */
static int vblock_of_task(pid_t pid, struct rst_vblock *b)
{
	char path[64], line[512];
	unsigned long s, e;
	FILE *f;

	memset(b, 0, sizeof(*b));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return ct_err(-errno, "pid %d: cannot read maps: %m", pid);
	while (fgets(line, sizeof(line), f)) {
		for (int i = 0; i < 3; i++) {
			size_t n = strlen(vblock_names[i]);
			char *p = strstr(line, vblock_names[i]);

			if (!p || (p[n] != '\n' && p[n] != '\0'))
				continue;
			if (sscanf(line, "%lx-%lx", &s, &e) == 2) {
				b->start[i] = s;
				b->end[i] = e;
				b->have[i] = true;
			}
		}
	}
	fclose(f);
	if (vblock_bounds(b))
		return ct_err(-ENOENT, "pid %d: no [vdso] mapping", pid);
	return 0;
}

/* The vdso block the image recorded. */
static int vblock_of_image(const struct ct_mm *mm, struct rst_vblock *b)
{
	memset(b, 0, sizeof(*b));
	for (uint32_t i = 0; i < mm->nr_vmas; i++) {
		const struct ct_vma *v = &mm->vmas[i];
		int k = v->kind == CT_VMA_VVAR ? 0 : v->kind == CT_VMA_VVAR_VCLOCK ? 1 :
			v->kind == CT_VMA_VDSO ? 2 : -1;

		if (k < 0)
			continue;
		b->start[k] = v->start;
		b->end[k] = v->end;
		b->have[k] = true;
	}
	return vblock_bounds(b);
}

/* True if both blocks have the same parts, sizes and relative layout. */
static bool vblock_same_layout(const struct rst_vblock *a, const struct rst_vblock *b)
{
	for (int i = 0; i < 3; i++) {
		if (a->have[i] != b->have[i])
			return false;
		if (!a->have[i])
			continue;
		if (a->end[i] - a->start[i] != b->end[i] - b->start[i] ||
		    a->start[i] - a->lo != b->start[i] - b->lo)
			return false;
	}
	return true;
}

static bool overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 < e2 && s2 < e1;
}

/* True if [s, e) is clear of every image VMA and of the blocks in @avoid. */
static bool range_clear(const struct ct_mm *mm, const uint64_t (*avoid)[2], int nr_avoid,
			uint64_t s, uint64_t e)
{
	for (uint32_t i = 0; i < mm->nr_vmas; i++)
		if (overlaps(s, e, mm->vmas[i].start, mm->vmas[i].end))
			return false;
	for (int i = 0; i < nr_avoid; i++)
		if (overlaps(s, e, avoid[i][0], avoid[i][1]))
			return false;
	return true;
}

/* Pick an address for @len bytes that no image VMA and nothing in @avoid uses. */
static int find_hole(const struct ct_mm *mm, const uint64_t (*avoid)[2], int nr_avoid,
		     size_t len, uint64_t *addr)
{
	/* 1 TiB up, in 1 GiB steps: far from PIE binaries, heaps and libraries */
	for (uint64_t a = 1ULL << 40; a + len < TASK_SIZE_MAX; a += 1ULL << 30) {
		if (range_clear(mm, avoid, nr_avoid, a, a + len)) {
			*addr = a;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Inject a system call into the leader of @p. */
long rst_syscall(struct rst_proc *p, long nr, unsigned long a1, unsigned long a2,
		 unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6)
{
	return inj_syscall(&p->threads[0].inj, nr, a1, a2, a3, a4, a5, a6);
}

/* Copy @data into the scratch range at @off. */
int rst_scratch_put(struct rst_proc *p, size_t off, const void *data, size_t len,
		    unsigned long *addr)
{
	struct iovec local = { (void *)data, len }, remote = { (void *)(p->scratch + off), len };
	int ret;

	if (off + len > p->scratch_len)
		return ct_err(-E2BIG, "pid %d: %zu bytes do not fit in scratch memory",
			      p->t->pid, len);
	/* scratch is our own writable memory in the tracee: no /proc/PID/mem to open */
	ret = process_vm_writev(p->host_pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 :
	      inj_write_mem(p->host_pid, p->scratch + off, data, len);
	if (ret)
		return ct_err(ret, "pid %d: cannot write scratch memory: %s", p->t->pid,
			      strerror(-ret));
	*addr = p->scratch + off;
	return 0;
}

/* Turn off the rseq registration a fork inherited: its area is about to go. */
static int rseq_unregister(struct rst_proc *p)
{
	struct rseq_config rc = { 0 };
	long ret;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, p->host_pid, sizeof(rc), &rc) < 0)
		return 0;	/* no rseq support: nothing registered */
	if (!rc.rseq_abi_pointer)
		return 0;
	ret = rst_syscall(p, __NR_rseq, rc.rseq_abi_pointer, rc.rseq_abi_size,
			  RSEQ_FLAG_UNREGISTER, rc.signature, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: cannot unregister rseq: %s", p->t->pid,
			      strerror((int)-ret));
	return 0;
}

/*
 * A child forked by injected clone3 holds its parent's scratch range and
 * batch routine at the same place: keep them if the child's image leaves
 * that range free (children of one program mostly do), saving two calls.
 */
static bool scratch_inherited(struct rst_proc *p, const struct rst_proc *parent,
			      const uint64_t (*avoid)[2])
{
	uint64_t len = RST_SCRATCH_LEN + RST_BATCH_LEN;

	if (!parent || !parent->scratch || !parent->batch.code ||
	    !range_clear(&p->t->mm, avoid, 2, parent->scratch, parent->scratch + len))
		return false;
	if (inj_batch_init(&p->batch, parent->batch.code, parent->batch.area,
			   RST_BATCH_LEN - PAGE_SIZE))
		return false;
	p->scratch = parent->scratch;
	p->scratch_len = RST_SCRATCH_LEN;
	return true;
}

/* Start injecting into @p: find a syscall, turn rseq off, map scratch memory and the batch's. */
int rst_mm_begin(struct rst_proc *p, const struct rst_proc *parent)
{
	const struct ct_mm *mm = &p->t->mm;
	struct rst_vblock cur, img;
	uint64_t avoid[2][2], addr;
	unsigned long ip;
	long ret;

	/*
	 * A child forked by injected clone3 has its parent's vdso where the
	 * parent has it (not moved yet: that comes with the rebuild): no need
	 * to read /proc/PID/maps, the costliest part of starting on a process.
	 */
	if (parent && parent->vdso.have[2]) {
		ip = parent->threads[0].inj.syscall_ip;
		cur = parent->vdso;
	} else {
		ret = inj_find_syscall_insn(p->host_pid, &ip) ?: vblock_of_task(p->host_pid, &cur);
		if (ret)
			return ret;
	}
	ret = inj_begin(&p->threads[0].inj, p->host_pid, ip);
	if (ret)
		return ret;
	ret = rseq_unregister(p);
	if (ret)
		return ret;
	if (vblock_of_image(mm, &img))
		return ct_err(-EINVAL, "pid %d: the image has no [vdso] mapping", p->t->pid);
	if (!vblock_same_layout(&cur, &img))
		return ct_err(-EINVAL, "pid %d: [vdso]/[vvar] layout differs from the dump's "
			      "(dumped on another kernel?)", p->t->pid);
	p->vdso = cur;
	avoid[0][0] = cur.lo;
	avoid[0][1] = cur.hi;
	avoid[1][0] = img.lo;
	avoid[1][1] = img.hi;
	if (scratch_inherited(p, parent, (const uint64_t (*)[2])avoid))
		return 0;
	if (find_hole(mm, (const uint64_t (*)[2])avoid, 2, RST_SCRATCH_LEN + RST_BATCH_LEN, &addr))
		return ct_err(-ENOSPC, "pid %d: no free address range for scratch memory",
			      p->t->pid);
	ret = rst_syscall(p, __NR_mmap, addr, RST_SCRATCH_LEN + RST_BATCH_LEN, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (ret < 0 && ret > -4096)
		return ct_err((int)ret, "pid %d: cannot map scratch memory: %s", p->t->pid,
			      strerror((int)-ret));
	p->scratch = addr;
	p->scratch_len = RST_SCRATCH_LEN;
	/* the batch routine's page, then its table and data */
	addr += RST_SCRATCH_LEN;
	ret = inj_batch_place(&p->threads[0].inj, addr);
	if (!ret)
		ret = inj_batch_init(&p->batch, addr, addr + PAGE_SIZE, RST_BATCH_LEN - PAGE_SIZE);
	return (int)ret;
}

/* The whole range rst_mm_begin() mapped: scratch, then the batch's. */
static uint64_t scratch_end(const struct rst_proc *p)
{
	return p->scratch + p->scratch_len + RST_BATCH_LEN;
}

/*
 * The rebuild's system calls go through @p's batch (inject.h): queued here,
 * run when the table is full or the step needs their results, each result
 * checked by mm_flush().  A process is rebuilt in one round trip (unmap,
 * move the vdso, map, advise, PR_SET_MM_MAP, userfaultfd), one more when it
 * maps a file no other process maps (opened first: its fd is needed), where
 * one call each took a round trip of its own.
 */

static const struct { uint32_t flag; int advice; const char *name; } madv_flags[] = {
	{ CT_MADV_DONTFORK, MADV_DONTFORK, "MADV_DONTFORK" },
	{ CT_MADV_WIPEONFORK, MADV_WIPEONFORK, "MADV_WIPEONFORK" },
	{ CT_MADV_HUGEPAGE, MADV_HUGEPAGE, "MADV_HUGEPAGE" },
	{ CT_MADV_NOHUGEPAGE, MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE" },
	{ CT_MADV_DONTDUMP, MADV_DONTDUMP, "MADV_DONTDUMP" },
	{ CT_MADV_MERGEABLE, MADV_MERGEABLE, "MADV_MERGEABLE" },
};

/* The name of madvise advice @advice. */
static const char *madv_name(long advice)
{
	for (size_t i = 0; i < ARRAY_SIZE(madv_flags); i++)
		if (madv_flags[i].advice == advice)
			return madv_flags[i].name;
	return "madvise";
}

/* Say what call @c (tagged @tag) of @p's rebuild was, failed with @err. */
static int mm_call_failed(struct rst_proc *p, const struct inj_call *c, const void *tag, long err)
{
	const struct ct_vma *v = tag;
	const char *why = strerror((int)-err);

	switch ((long)(uint32_t)c->nr_flags) {
	case __NR_openat:
		return ct_err((int)err, "pid %d: %s: cannot open for mapping: %s", p->t->pid,
			      (const char *)tag, why);
	case __NR_munmap:
		return ct_err((int)err, "pid %d: cannot unmap %#lx-%#lx: %s", p->t->pid,
			      (unsigned long)c->a[0], (unsigned long)(c->a[0] + c->a[1]), why);
	case __NR_mremap:
		return ct_err((int)err, "pid %d: cannot move %s: %s", p->t->pid, (const char *)tag, why);
	case __NR_mmap:
		return ct_err((int)err, "pid %d: cannot map %#lx-%#lx%s%s: %s", p->t->pid,
			      (unsigned long)v->start, (unsigned long)v->end, v->path ? " " : "",
			      v->path ? v->path : "", why);
	case __NR_madvise:
		return ct_err((int)err, "pid %d: mapping %#lx: cannot set %s again: %s", p->t->pid,
			      (unsigned long)v->start, madv_name((long)c->a[2]), why);
	case __NR_mlock2:
		return ct_err((int)err, "pid %d: mapping %#lx: cannot lock it again (mlock): %s",
			      p->t->pid, (unsigned long)v->start, why);
	case __NR_userfaultfd:
		return ct_err((int)err, "pid %d: cannot create a userfaultfd: %s", p->t->pid, why);
	case __NR_prctl:
		return ct_err((int)err, "pid %d: prctl(PR_SET_MM_MAP): %s", p->t->pid, why);
	default:
		return ct_err((int)err, "pid %d: system call %lu: %s", p->t->pid,
			      (unsigned long)(uint32_t)c->nr_flags, why);
	}
}

/* Run what is queued in @p's batch and check every result; the batch is empty after. */
static int mm_flush(struct rst_proc *p)
{
	struct inj_batch *b = &p->batch;
	int ret = inj_batch_run(b, &p->threads[0].inj);

	if (ret && b->failed < b->nr)
		ret = mm_call_failed(p, &b->calls[b->failed], b->tags[b->failed], ret);
	for (size_t i = 0; i < b->nr && !ret; i++) {
		const struct inj_call *c = &b->calls[i];
		const struct ct_vma *v = b->tags[i];

		/* MAP_FIXED: anywhere else is a failure too */
		if ((uint32_t)c->nr_flags == __NR_mmap && v && (uint64_t)c->ret != v->start)
			ret = ct_err(-EFAULT, "pid %d: %#lx mapped at %#lx", p->t->pid,
				     (unsigned long)v->start, (unsigned long)c->ret);
	}
	inj_batch_reset(b);
	return ret;
}

/* Queue a call of the rebuild, running the batch first if it is full. */
static int mm_queue(struct rst_proc *p, const void *tag, unsigned long flags, long nr,
		    unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
		    unsigned long a5, unsigned long a6)
{
	int ret = 0;

	if (!inj_batch_fits(&p->batch, 1, 0))
		ret = mm_flush(p);
	if (!ret && inj_batch_add(&p->batch, tag, flags, nr, a1, a2, a3, a4, a5, a6) < 0)
		ret = ct_err(-ENOSPC, "pid %d: injected batch too small", p->t->pid);
	return ret;
}

/* munmap [s, e) in the tracee, if not empty (queued). */
static int unmap_range(struct rst_proc *p, uint64_t s, uint64_t e)
{
	if (s >= e)
		return 0;
	return mm_queue(p, NULL, 0, __NR_munmap, s, e - s, 0, 0, 0, 0);
}

/* Unmap everything but the scratch range and the current vdso block (queued). */
static int unmap_all_but_kept(struct rst_proc *p, const struct rst_vblock *cur)
{
	uint64_t keep[2][2] = { { p->scratch, scratch_end(p) }, { cur->lo, cur->hi } };
	uint64_t at = 0;
	int ret;

	if (keep[0][0] > keep[1][0]) {
		uint64_t t0 = keep[0][0], t1 = keep[0][1];

		keep[0][0] = keep[1][0];
		keep[0][1] = keep[1][1];
		keep[1][0] = t0;
		keep[1][1] = t1;
	}
	for (int i = 0; i < 2; i++) {
		ret = unmap_range(p, at, keep[i][0]);
		if (ret)
			return ret;
		at = keep[i][1];
	}
	return unmap_range(p, at, TASK_SIZE_MAX);
}

/* mremap each part of the vdso block by @delta (new place known to be free; queued). */
static int vblock_shift(struct rst_proc *p, struct rst_vblock *b, int64_t delta)
{
	for (int i = 0; i < 3; i++) {
		uint64_t len = b->end[i] - b->start[i];
		int ret;

		if (!b->have[i])
			continue;
		ret = mm_queue(p, vblock_names[i], 0, __NR_mremap, b->start[i], len, len,
			       MREMAP_MAYMOVE | MREMAP_FIXED, b->start[i] + delta, 0);
		if (ret)
			return ret;
		if (i == 2)	/* the syscall instruction single calls use moves with it */
			p->threads[0].inj.syscall_ip += delta;
		b->start[i] += delta;
		b->end[i] += delta;
	}
	b->lo += delta;
	b->hi += delta;
	return 0;
}

/* Move the vdso block to where the image had it, keeping its layout (queued). */
static int vblock_move(struct rst_proc *p, struct rst_vblock *cur, const struct rst_vblock *img)
{
	const struct ct_mm *mm = &p->t->mm;
	uint64_t avoid[3][2] = {
		{ cur->lo, cur->hi }, { img->lo, img->hi },
		{ p->scratch, scratch_end(p) },
	};
	uint64_t tmp;
	int ret;

	if (cur->lo == img->lo)
		return 0;
	if (overlaps(cur->lo, cur->hi, img->lo, img->hi)) {
		/* parts would land on each other: go through a free place first */
		if (find_hole(mm, (const uint64_t (*)[2])avoid, 3, cur->hi - cur->lo, &tmp))
			return ct_err(-ENOSPC, "pid %d: no room to move [vdso]", p->t->pid);
		ret = vblock_shift(p, cur, (int64_t)(tmp - cur->lo));
		if (ret)
			return ret;
	}
	return vblock_shift(p, cur, (int64_t)(img->lo - cur->lo));
}

/* A file the tracee opens once for all its mappings (and the executable link). */
struct map_file {
	const char *path;
	int flags;
	const struct ct_file_id *id;
	const struct ct_file_change *change;	/* its ctime and checksum at the dump */
	long fd;		/* in the tracee, -1 until opened */
	const struct rst_shared_file *shared;	/* opened and checked by the init, NULL */
};

/* The files opened for @p's mappings. */
struct map_files {
	struct map_file *f;
	size_t nr;
	long exe;		/* index of the executable in f, -1 none */
};

/* True if the tracee's current executable is the file at tracee fd @fd. */
static bool same_exe(struct rst_proc *p, long fd)
{
	char a[64], b[64];
	struct stat s1, s2;

	snprintf(a, sizeof(a), "/proc/%d/exe", p->host_pid);
	snprintf(b, sizeof(b), "/proc/%d/fd/%ld", p->host_pid, fd);
	return !stat(a, &s1) && !stat(b, &s2) && s1.st_dev == s2.st_dev && s1.st_ino == s2.st_ino;
}

/* May the file open at tracee fd @fd be mapped again: the same inode, size and contents? */
static int file_id_check(struct rst_proc *p, long fd, const struct map_file *mf, const struct rst_mm_opts *o)
{
	const struct ct_file_id *id = mf->id;
	char link[64];
	struct stat st;

	if (!id->dev && !id->ino)
		return 0;	/* the dump recorded no identity */
	snprintf(link, sizeof(link), "/proc/%d/fd/%ld", p->host_pid, fd);
	if (stat(link, &st) < 0)
		return ct_err(-errno, "pid %d: %s: cannot stat: %m", p->t->pid, mf->path);
	if (!p->root_given && (st.st_dev != id->dev || st.st_ino != id->ino)) {
		if (o->allow_changed_files)
			goto allowed;
		return ct_err(-ESTALE, "pid %d: %s: file changed since the dump "
			      "(--allow-changed-files to map it anyway)", p->t->pid, mf->path);
	}
	if (!o->allow_changed_files)
		return map_change_check(p->t->pid, mf->path, link, &st, id, mf->change, o->seen);
	if ((uint64_t)st.st_size == id->size && st.st_mtim.tv_sec == id->mtime_sec &&
	    st.st_mtim.tv_nsec == id->mtime_nsec)
		return 0;
allowed:
	pr_warn("pid %d: %s changed since the dump; mapping it anyway", p->t->pid, mf->path);
	return 0;
}

/* The index of @path opened with @flags in @mfs, added if new. */
static size_t map_file_find(struct map_files *mfs, const char *path, int flags,
			    const struct ct_file_id *id, const struct ct_file_change *change)
{
	for (size_t i = 0; i < mfs->nr; i++)
		if (mfs->f[i].flags == flags && !strcmp(mfs->f[i].path, path))
			return i;
	mfs->f[mfs->nr] = (struct map_file){ .path = path, .flags = flags, .id = id, .change = change,
					     .fd = -1 };
	return mfs->nr++;
}

/* How a file mapping @v opens its file; false if it needs no open (not a file, or deleted). */
static bool vma_needs_open(const struct ct_vma *v, const struct rst_mm_opts *o, int *oflags)
{
	if (v->kind != CT_VMA_FILE_PRIVATE && v->kind != CT_VMA_FILE_SHARED)
		return false;
	if (deleted_map_fd(o->img, o->ft, v) >= 0 || !v->path)
		return false;
	*oflags = v->kind == CT_VMA_FILE_SHARED && (v->prot & PROT_WRITE) ? O_RDWR : O_RDONLY;
	return true;
}

/* Open in the tracee, in batches, every file of @mfs not open yet; check each. */
static int map_files_open_all(struct rst_proc *p, struct map_files *mfs, const struct rst_mm_opts *o)
{
	int ret;

	inj_batch_reset(&p->batch);
	for (size_t i = 0; i < mfs->nr; i++) {
		unsigned long path;

		if (mfs->f[i].fd < 0) {
			/* the batch holds only these opens, with room for one more path */
			path = inj_batch_put(&p->batch, mfs->f[i].path, strlen(mfs->f[i].path) + 1);
			if (!path)
				return ct_err(-E2BIG, "pid %d: %s: path too long", p->t->pid,
					      mfs->f[i].path);
			/* the fd numbers come back in the table: read them before the next run */
			inj_batch_add(&p->batch, &mfs->f[i], 0, __NR_openat, AT_FDCWD, path,
				      mfs->f[i].flags | O_CLOEXEC, 0, 0, 0);
		}
		if (p->batch.nr && (i + 1 == mfs->nr || !inj_batch_fits(&p->batch, 1, PATH_MAX))) {
			struct inj_batch *b = &p->batch;

			ret = inj_batch_run(b, &p->threads[0].inj);
			for (size_t k = 0; k < b->failed; k++)
				((struct map_file *)b->tags[k])->fd = inj_batch_ret(b, k);
			if (ret && b->failed < b->nr)
				ret = mm_call_failed(p, &b->calls[b->failed],
						     ((const struct map_file *)b->tags[b->failed])->path, ret);
			inj_batch_reset(b);
			if (ret)
				return ret;
		}
	}
	for (size_t i = 0; i < mfs->nr; i++) {
		if (mfs->f[i].shared)
			continue;	/* checked once, by the init */
		ret = file_id_check(p, mfs->f[i].fd, &mfs->f[i], o);
		if (ret)
			return ret;
	}
	return 0;
}

/* Order files by path, open flags, then the device and inode the dump saw. */
static int file_key_cmp(const char *pa, int fa, const struct ct_file_id *ia,
			const char *pb, int fb, const struct ct_file_id *ib)
{
	int d = strcmp(pa, pb);

	if (d)
		return d;
	if (fa != fb)
		return fa < fb ? -1 : 1;
	if (ia->dev != ib->dev)
		return ia->dev < ib->dev ? -1 : 1;
	return ia->ino < ib->ino ? -1 : ia->ino > ib->ino;
}

/* The shared file @mf is, if the init opened it for every task. */
static const struct rst_shared_file *shared_find(const struct rst_shared_files *sf,
						 const struct map_file *mf)
{
	size_t lo = 0, hi = sf ? sf->nr : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct rst_shared_file *s = &sf->f[mid];
		int d = file_key_cmp(mf->path, mf->flags, mf->id, s->path, s->flags, s->id);

		if (!d)
			return s;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The files the mappings and the exe link of @p need, those of @o->shared already open. */
static int map_files_list(struct rst_proc *p, struct map_files *mfs, const struct rst_mm_opts *o)
{
	const struct ct_mm *mm = &p->t->mm;
	int oflags;

	mfs->f = xzalloc(sizeof(*mfs->f) * (mm->nr_vmas + 1));
	mfs->exe = -1;
	if (!mfs->f)
		return -ENOMEM;
	for (uint32_t i = 0; i < mm->nr_vmas; i++)
		if (vma_needs_open(&mm->vmas[i], o, &oflags))
			map_file_find(mfs, mm->vmas[i].path, oflags, &mm->vmas[i].file,
				      &mm->vmas[i].change);
	if (mm->exe_path)
		mfs->exe = (long)map_file_find(mfs, mm->exe_path, O_RDONLY, &mm->exe_id, &mm->exe_change);
	for (size_t i = 0; i < mfs->nr; i++) {
		mfs->f[i].shared = shared_find(o->shared, &mfs->f[i]);
		if (mfs->f[i].shared)
			mfs->f[i].fd = mfs->f[i].shared->fd;
	}
	return 0;
}

/* Open in the tracee, in one batch, every file the mappings and the exe link need; check them. */
static int map_files_open(struct rst_proc *p, struct map_files *mfs, const struct rst_mm_opts *o)
{
	return map_files_list(p, mfs, o) ?: map_files_open_all(p, mfs, o);
}

/* One mapped file of one process, to find those several map. */
struct file_ref {
	const char *path;
	int flags;
	const struct ct_file_id *id;
	const struct ct_file_change *change;
	size_t proc;		/* index of the process */
	bool exe;		/* its executable */
};

/* Order refs by file. */
static int file_ref_cmp_key(const struct file_ref *x, const struct file_ref *y)
{
	return file_key_cmp(x->path, x->flags, x->id, y->path, y->flags, y->id);
}

/* Then by process. */
static int file_ref_cmp(const void *a, const void *b)
{
	const struct file_ref *x = a, *y = b;
	int d = file_ref_cmp_key(x, y);

	if (d)
		return d;
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

/* Every file each of @procs maps or runs, sorted: *@out (*@n refs). */
static int file_refs_collect(const struct rst_proc *procs, size_t nr, const struct rst_mm_opts *o,
			     struct file_ref **out, size_t *n)
{
	struct file_ref *refs;
	size_t cap = 0;
	int oflags;

	for (size_t i = 0; i < nr; i++)
		cap += procs[i].t->mm.nr_vmas + 1;
	refs = xmalloc(sizeof(*refs) * (cap + 1));
	if (!refs)
		return -ENOMEM;
	*n = 0;
	for (size_t i = 0; i < nr; i++) {
		const struct ct_mm *mm = &procs[i].t->mm;

		for (uint32_t k = 0; k < mm->nr_vmas; k++)
			if (vma_needs_open(&mm->vmas[k], o, &oflags))
				refs[(*n)++] = (struct file_ref){ mm->vmas[k].path, oflags,
					&mm->vmas[k].file, &mm->vmas[k].change, i, false };
		if (mm->exe_path)
			refs[(*n)++] = (struct file_ref){ mm->exe_path, O_RDONLY, &mm->exe_id,
							  &mm->exe_change, i, true };
	}
	qsort(refs, *n, sizeof(*refs), file_ref_cmp);
	*out = refs;
	return 0;
}

#define RST_SHARED_FILES_MAX 256	/* fds every task holds until its own are in place */

/*
 * The files of @refs that more than one process maps, as map_files of the
 * init (*@exe_of[k]: file k is some process's executable).
 */
static int shared_pick(const struct file_ref *refs, size_t n, struct map_files *mfs, bool **exe_of)
{
	mfs->f = xzalloc(sizeof(*mfs->f) * RST_SHARED_FILES_MAX);
	*exe_of = xzalloc(sizeof(**exe_of) * RST_SHARED_FILES_MAX);
	mfs->exe = -1;
	if (!mfs->f || !*exe_of)
		return -ENOMEM;
	for (size_t i = 0, j; i < n && mfs->nr < RST_SHARED_FILES_MAX; i = j) {
		bool several = false, exe = refs[i].exe;

		for (j = i + 1; j < n && !file_ref_cmp_key(&refs[i], &refs[j]); j++) {
			several |= refs[j].proc != refs[i].proc;
			exe |= refs[j].exe;
		}
		if (!several)
			continue;
		(*exe_of)[mfs->nr] = exe;
		mfs->f[mfs->nr++] = (struct map_file){ .path = refs[i].path, .flags = refs[i].flags,
			.id = refs[i].id, .change = refs[i].change, .fd = -1 };
	}
	return 0;
}

int rst_mm_share_files(struct rst_proc *init, const struct rst_proc *procs, size_t nr,
		       const struct rst_mm_opts *o, struct rst_shared_files *sf)
{
	struct map_files mfs = { 0 };
	struct file_ref *refs = NULL;
	bool *exe_of = NULL;
	size_t n = 0;
	int ret;

	memset(sf, 0, sizeof(*sf));
	ret = file_refs_collect(procs, nr, o, &refs, &n) ?: shared_pick(refs, n, &mfs, &exe_of);
	if (!ret && mfs.nr)
		ret = map_files_open_all(init, &mfs, o);
	if (!ret && mfs.nr) {
		sf->f = xzalloc(sizeof(*sf->f) * mfs.nr);
		ret = sf->f ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < mfs.nr && !ret; i++) {
		sf->f[i] = (struct rst_shared_file){ .path = mfs.f[i].path, .flags = mfs.f[i].flags,
			.id = mfs.f[i].id, .fd = mfs.f[i].fd };
		/* every task runs the init's executable until its PR_SET_MM_MAP */
		sf->f[i].exe_now = exe_of[i] && same_exe(init, mfs.f[i].fd);
		sf->nr++;
	}
	if (sf->nr)
		pr_info("%zu mapped files opened once for all %zu processes", sf->nr, nr);
	free(refs);
	free(exe_of);
	free(mfs.f);
	return ret;
}

void rst_shared_files_free(struct rst_shared_files *sf)
{
	free(sf->f);
	sf->f = NULL;
	sf->nr = 0;
}

/*
 * Queue the madvise flags and the mlock smaps showed.  A locked range is
 * locked with MLOCK_ONFAULT here: populating it now would fault every page
 * in before the lazy server runs.  rst_mm_lock() locks it fully later.
 */
static int vma_madvise(struct rst_proc *p, const struct ct_vma *v)
{
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(madv_flags) && !ret; i++)
		if (v->madv & madv_flags[i].flag)
			ret = mm_queue(p, v, 0, __NR_madvise, v->start, v->end - v->start,
				       madv_flags[i].advice, 0, 0, 0);
	if (!ret && (v->madv & CT_MADV_LOCKED))
		ret = mm_queue(p, v, 0, __NR_mlock2, v->start, v->end - v->start, MLOCK_ONFAULT,
			       0, 0, 0);
	return ret;
}

/* Queue mapping one VMA of the image at its address. */
static int map_vma(struct rst_proc *p, const struct ct_vma *v, struct map_files *mfs,
		   const struct rst_mm_opts *o)
{
	int flags = MAP_FIXED | (v->flags & MAP_GROWSDOWN), oflags;
	long fd = -1;
	int ret;

	switch (v->kind) {
	case CT_VMA_ANON:
		/*
		 * NORESERVE: the dump does not record it, and huge sparse
		 * reservations (sanitizer shadows, arenas) would fail commit
		 * accounting here although they were fine in the original.
		 */
		flags |= MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
		break;
	case CT_VMA_FILE_PRIVATE:
	case CT_VMA_FILE_SHARED:
		flags |= v->kind == CT_VMA_FILE_SHARED ? MAP_SHARED : MAP_PRIVATE;
		/* a deleted file: the inode its fds were given again (deleted.c) */
		fd = deleted_map_fd(o->img, o->ft, v);
		if (fd >= 0)
			break;
		if (!vma_needs_open(v, o, &oflags))
			return ct_err(-EINVAL, "pid %d: file mapping at %#lx has no path", p->t->pid,
				      (unsigned long)v->start);
		fd = mfs->f[map_file_find(mfs, v->path, oflags, &v->file, &v->change)].fd;
		break;
	case CT_VMA_SHMEM:
		/* a SysV segment made again: attached (shm.c) by calls of its own, after the queued ones */
		if (rst_shm_sysv(o->shm, v->shm_key)) {
			ret = mm_flush(p) ?: rst_shm_attach(p, v, o->shm);
			if (ret)
				return ret < 0 ? (int)ret : vma_madvise(p, v);
		}
		/* the object's memfd, inherited with the transport fds (shm.c), or a deleted file's */
		fd = deleted_map_fd(o->img, o->ft, v);
		if (fd < 0)
			fd = rst_shm_task_fd(o->shm, v->shm_key);
		if (fd < 0)
			return ct_err(-EINVAL, "pid %d: shared memory at %#lx (%s): object %#x not prepared",
				      p->t->pid, (unsigned long)v->start, v->path ? v->path : "anonymous",
				      v->shm_key);
		flags |= MAP_SHARED;
		break;
	default:
		return 0;	/* vdso block moved as a whole; vsyscall is the kernel's */
	}
	ret = mm_queue(p, v, 0, __NR_mmap, v->start, v->end - v->start, v->prot, flags, fd,
		       v->pgoff);
	return ret ?: vma_madvise(p, v);
}

/*
 * Write the COW'd pages of [@start, @end) (private file mappings) straight
 * into the tracee (@mem: its memory), through @buf of FILL_CHUNK pages.
 */
static int write_cow_range(struct rst_proc *p, int mem, uint64_t start, uint64_t end,
			   const struct page_source *pg, char *buf)
{
	uint8_t state[FILL_CHUNK];
	int ret = 0;

	for (uint64_t a = start; a < end; a += FILL_CHUNK * PAGE_SIZE) {
		size_t nr = min_t(uint64_t, FILL_CHUNK, (end - a) / PAGE_SIZE);

		ret = pg->read(pg->arg, (uint32_t)p->t->pid, a, nr, buf, state);
		if (ret)
			return ret;
		for (size_t i = 0, j; i < nr; i = j) {
			for (j = i; j < nr && state[j] != SWP_PAGE_NONE; j++)
				;
			if (j > i) {
				ret = pwrite_all(mem, buf + i * PAGE_SIZE, (j - i) * PAGE_SIZE,
						 (off_t)(a + i * PAGE_SIZE));
				if (ret)
					return ct_err(ret, "pid %d: cannot write pages at %#lx: %s",
						      p->t->pid, (unsigned long)(a + i * PAGE_SIZE),
						      strerror(-ret));
			}
			for (; j < nr && state[j] == SWP_PAGE_NONE; j++)
				;
		}
	}
	return 0;
}

/* Does private file mapping @i of @mm have COW'd pages to write? */
static bool vma_has_cow(const struct ct_mm *mm, uint32_t i)
{
	return mm->vmas[i].kind == CT_VMA_FILE_PRIVATE && mm->vmas[i].nr_pages;
}

/*
 * Write the COW'd pages of every private file mapping of @p.  Mappings that
 * touch (a library's relro and data) are read and written as one range:
 * their pages mostly lie side by side in the swap area and in the tracee.
 */
static int write_all_cow_pages(struct rst_proc *p, const struct page_source *pg)
{
	const struct ct_mm *mm = &p->t->mm;
	char path[64], *buf = NULL;
	int ret = 0, mem = -1;

	for (uint32_t i = 0, j; i < mm->nr_vmas && !ret; i = j) {
		j = i + 1;
		if (!vma_has_cow(mm, i))
			continue;
		while (j < mm->nr_vmas && vma_has_cow(mm, j) && mm->vmas[j].start == mm->vmas[j - 1].end)
			j++;
		/* /proc/PID/mem writes read-only pages too; opened once for all of them */
		if (mem < 0) {
			snprintf(path, sizeof(path), "/proc/%d/mem", p->host_pid);
			mem = open(path, O_WRONLY | O_CLOEXEC);
			if (mem < 0)
				return ct_err(-errno, "pid %d: cannot open its memory: %m", p->t->pid);
			buf = xmalloc(FILL_CHUNK * PAGE_SIZE);
			if (!buf)
				ret = -ENOMEM;
		}
		if (!ret)
			ret = write_cow_range(p, mem, mm->vmas[i].start, mm->vmas[j - 1].end, pg, buf);
	}
	free(buf);
	if (mem >= 0)
		close(mem);
	return ret;
}

/* The private anonymous ranges that have stored pages: served by userfaultfd. */
static int uffd_regions(struct rst_proc *p)
{
	const struct ct_mm *mm = &p->t->mm;

	p->uffd_pages = 0;
	p->nr_regions = 0;
	free(p->regions);
	p->regions = xzalloc(sizeof(*p->regions) * (mm->nr_vmas + 1));
	if (!p->regions)
		return -ENOMEM;
	for (uint32_t i = 0; i < mm->nr_vmas; i++) {
		const struct ct_vma *v = &mm->vmas[i];

		if (v->kind != CT_VMA_ANON || !v->nr_pages)
			continue;
		p->regions[p->nr_regions].start = v->start;
		p->regions[p->nr_regions].end = v->end;
		p->regions[p->nr_regions].mapping = v->start;
		p->nr_regions++;
		p->uffd_pages += v->nr_pages;
	}
	return 0;
}

/*
 * Take the userfaultfd the tracee created at fd @tfd (the last call of the
 * mapping batch) and register every stored anon range.  @tfd stays open in
 * the tracee, like the files it mapped from, until restore_task_files
 * closes every fd but the task's own (a task sharing its parent's table:
 * the parent's, every address space being rebuilt before any fd is put in
 * place): a close each would cost a round trip.
 */
static int uffd_setup(struct rst_proc *p, long tfd)
{
	int ret = 0;

	p->uffd = (int)syscall(SYS_pidfd_getfd, p->pidfd, (int)tfd, 0);
	if (p->uffd < 0)
		ret = ct_err(-errno, "pid %d: cannot take its userfaultfd: %m", p->t->pid);
	if (!ret) {
		ret = lazy_uffd_setup(p->uffd, p->regions, p->nr_regions);
		if (ret)
			ct_err(ret, "pid %d: cannot register its memory with userfaultfd", p->t->pid);
	}
	return ret;
}

/* Queue prctl(PR_SET_MM_MAP): mm fields, auxv and the executable link (open in @mfs). */
static int set_mm_map(struct rst_proc *p, const struct map_files *mfs)
{
	const struct ct_mm *mm = &p->t->mm;
	struct mm_map map = {
		.start_code = mm->start_code, .end_code = mm->end_code,
		.start_data = mm->start_data, .end_data = mm->end_data,
		.start_brk = mm->start_brk, .brk = mm->brk, .start_stack = mm->start_stack,
		.arg_start = mm->arg_start, .arg_end = mm->arg_end,
		.env_start = mm->env_start, .env_end = mm->env_end,
		.exe_fd = (uint32_t)-1,
	};
	size_t auxv_len = min_t(size_t, mm->auxv_len, 2 * 64) * sizeof(uint64_t);
	unsigned long map_addr;
	int ret = 0;

	if (!inj_batch_fits(&p->batch, 1, sizeof(map) + auxv_len))
		ret = mm_flush(p);
	if (ret)
		return ret;
	if (auxv_len) {
		map.auxv = inj_batch_put(&p->batch, mm->auxv, auxv_len);
		map.auxv_size = auxv_len;
	}
	if (mfs->exe >= 0) {
		const struct map_file *exe = &mfs->f[mfs->exe];

		if (exe->shared ? !exe->shared->exe_now : !same_exe(p, exe->fd))
			map.exe_fd = (uint32_t)exe->fd;
	}
	map_addr = inj_batch_put(&p->batch, &map, sizeof(map));
	if ((auxv_len && !map.auxv) || !map_addr)
		return ct_err(-E2BIG, "pid %d: injected batch too small", p->t->pid);
	return mm_queue(p, NULL, 0, __NR_prctl, PR_SET_MM, PR_SET_MM_MAP, map_addr, sizeof(map), 0, 0);
}

/* Queue the mappings of @p's image, with their advice, after clearing the address space. */
static int mm_queue_maps(struct rst_proc *p, struct map_files *mfs, const struct rst_mm_opts *o)
{
	const struct ct_mm *mm = &p->t->mm;
	struct rst_vblock cur = p->vdso, img;	/* where rst_mm_begin() found it */
	int ret;

	vblock_of_image(mm, &img);
	ret = unmap_all_but_kept(p, &cur) ?: vblock_move(p, &cur, &img);
	for (uint32_t i = 0; i < mm->nr_vmas && !ret; i++)
		ret = map_vma(p, &mm->vmas[i], mfs, o);
	return ret;
}

/*
 * Unmap now all that @p holds but scratch and the vdso block: what the init
 * inherited from the supervisor.  Its children are forked after this, so
 * each clone3 copies almost nothing and no child unmaps it again (they all
 * hung off the init's anon_vma, whose lock their unmaps would share).
 */
int rst_mm_clear(struct rst_proc *p)
{
	int ret;

	inj_batch_reset(&p->batch);
	ret = unmap_all_but_kept(p, &p->vdso);
	return ret ?: mm_flush(p);
}

/*
 * Replace the address space of @p by the image's: one round trip (two when
 * some file it maps is not open in every task already): unmap, move the
 * vdso, map, advise, PR_SET_MM_MAP, and the userfaultfd last (its number
 * is the last result).
 */
int rst_mm_rebuild(struct rst_proc *p, const struct rst_mm_opts *o)
{
	struct map_files mfs = { 0 };
	size_t uffd_at = 0;
	int ret;

	inj_batch_reset(&p->batch);
	ret = map_files_open(p, &mfs, o) ?: mm_queue_maps(p, &mfs, o) ?: uffd_regions(p) ?:
	      set_mm_map(p, &mfs);
	if (!ret && p->nr_regions) {
		ret = mm_queue(p, NULL, 0, __NR_userfaultfd, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0, 0);
		uffd_at = p->batch.nr - 1;
	}
	if (!ret)
		ret = mm_flush(p);
	if (!ret && o->pages)
		ret = write_all_cow_pages(p, o->pages);
	/* a reset batch keeps the results of its last run */
	if (!ret && p->nr_regions)
		ret = uffd_setup(p, inj_batch_ret(&p->batch, uffd_at));
	free(mfs.f);
	return ret;
}

/* UFFDIO_COPY @nr pages from @buf to @addr, retrying while the mm changes. */
static int uffd_copy(struct rst_proc *p, uint64_t addr, const void *buf, size_t nr)
{
	uint64_t done = 0, len = nr * PAGE_SIZE;

	while (done < len) {
		struct uffdio_copy c = {
			.dst = addr + done, .src = (uint64_t)(uintptr_t)buf + done, .len = len - done,
		};

		if (ioctl(p->uffd, UFFDIO_COPY, &c) == 0) {
			done += c.copy;
			continue;
		}
		if (c.copy > 0)
			done += c.copy;
		if (errno == EAGAIN)
			continue;
		if (errno == EEXIST) {	/* already there: skip that page */
			done = (done / PAGE_SIZE + 1) * PAGE_SIZE;
			continue;
		}
		return ct_err(-errno, "pid %d: UFFDIO_COPY at %#lx: %m", p->t->pid,
			      (unsigned long)(addr + done));
	}
	return 0;
}

/* Fill every stored page of the registered ranges now. */
int rst_mm_fill_eager(struct rst_proc *p, const struct page_source *pg, uint64_t *filled)
{
	const struct ct_mm *mm = &p->t->mm;
	uint8_t state[FILL_CHUNK];
	char *buf;
	int ret = 0;

	if (p->uffd < 0)
		return 0;
	buf = xmalloc(FILL_CHUNK * PAGE_SIZE);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < mm->nr_vmas && !ret; i++) {
		const struct ct_vma *v = &mm->vmas[i];

		if (v->kind != CT_VMA_ANON || !v->nr_pages)
			continue;
		for (uint64_t a = v->start; a < v->end && !ret; a += FILL_CHUNK * PAGE_SIZE) {
			size_t nr = min_t(uint64_t, FILL_CHUNK, (v->end - a) / PAGE_SIZE);

			ret = pg->read(pg->arg, (uint32_t)p->t->pid, a, nr, buf, state);
			/* zero and absent pages need nothing: they read as zero once the uffd is gone */
			for (size_t k = 0, j; !ret && k < nr; k = j) {
				for (j = k; j < nr && state[j] == SWP_PAGE_DATA; j++)
					;
				if (j > k) {
					ret = uffd_copy(p, a + k * PAGE_SIZE, buf + k * PAGE_SIZE, j - k);
					if (filled)
						*filled += j - k;
				}
				for (; j < nr && state[j] != SWP_PAGE_DATA; j++)
					;
			}
		}
	}
	free(buf);
	return ret;
}

/*
 * Bring in now the pages of [@addr, @addr + @len) that lie in a registered
 * range: the kernel itself writes some of them while we still inject (the
 * rseq area at registration), and no server answers faults yet.
 */
int rst_mm_populate(struct rst_proc *p, const struct page_source *pg, uint64_t addr, uint64_t len)
{
	uint64_t first = addr & ~(PAGE_SIZE - 1), last = PAGE_ALIGN(addr + len);
	uint8_t state;
	char *buf;
	int ret = 0;

	if (p->uffd < 0 || !len)
		return 0;
	buf = xmalloc(PAGE_SIZE);
	if (!buf)
		return -ENOMEM;
	for (uint64_t a = first; a < last && !ret; a += PAGE_SIZE) {
		bool registered = false;

		for (size_t i = 0; i < p->nr_regions; i++)
			if (a >= p->regions[i].start && a < p->regions[i].end)
				registered = true;
		if (!registered)
			continue;
		ret = pg->read(pg->arg, (uint32_t)p->t->pid, a, 1, buf, &state);
		if (!ret)	/* zero-filled unless stored: what the page would read anyway */
			ret = uffd_copy(p, a, buf, 1);
	}
	free(buf);
	return ret;
}

/* Close our copy of the task's userfaultfd. */
void rst_mm_close_uffd(struct rst_proc *p)
{
	if (p->uffd >= 0)
		close(p->uffd);
	p->uffd = -1;
}

#define RST_NR_MSEAL 462	/* mseal(2), Linux 6.10: Debian's headers are older */

/*
 * Lock what was locked without MLOCK_ONFAULT (its pages come in now, from
 * the lazy server: it must be running), mlockall(MCL_FUTURE) again, and
 * seal what was sealed.
 */
int rst_mm_lock(struct rst_proc *p)
{
	const struct ct_mm *mm = &p->t->mm;
	long ret;

	for (uint32_t i = 0; i < mm->nr_vmas; i++) {
		const struct ct_vma *v = &mm->vmas[i];

		if (!(v->madv & CT_MADV_LOCKED) || (v->madv & CT_MADV_LOCKONFAULT))
			continue;
		ret = rst_syscall(p, __NR_mlock, v->start, v->end - v->start, 0, 0, 0, 0);
		if (ret < 0)
			return ct_err((int)ret, "pid %d: mapping %#lx: cannot lock it again (mlock): %s",
				      p->t->pid, (unsigned long)v->start, strerror((int)-ret));
	}
	if (mm->mlockall) {
		ret = rst_syscall(p, __NR_mlockall, mm->mlockall, 0, 0, 0, 0, 0);
		if (ret < 0)
			return ct_err((int)ret, "pid %d: cannot set mlockall(%#x) again: %s", p->t->pid,
				      mm->mlockall, strerror((int)-ret));
	}
	/* last: a sealed mapping can no longer be changed, by us either */
	for (uint32_t i = 0; i < mm->nr_vmas; i++) {
		const struct ct_vma *v = &mm->vmas[i];

		if (!(v->madv & CT_MADV_SEALED))
			continue;
		ret = rst_syscall(p, RST_NR_MSEAL, v->start, v->end - v->start, 0, 0, 0, 0);
		if (ret < 0)
			return ct_err((int)ret, "pid %d: mapping %#lx: cannot seal it again (mseal): %s",
				      p->t->pid, (unsigned long)v->start, strerror((int)-ret));
	}
	return 0;
}

/* Unmap the scratch range: nothing is injected into @p's mm after this. */
int rst_mm_end(struct rst_proc *p)
{
	long ret;

	if (!p->scratch)
		return 0;
	/* one call of its own: the batch routine cannot unmap itself */
	ret = rst_syscall(p, __NR_munmap, p->scratch, scratch_end(p) - p->scratch, 0, 0, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: cannot unmap its scratch memory: %s", p->t->pid,
			      strerror((int)-ret));
	p->scratch = 0;
	inj_batch_free(&p->batch);
	return 0;
}
