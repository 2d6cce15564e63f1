// SPDX-License-Identifier: MIT
/* Mappings from /proc/PID/smaps, mm fields, and present pages from the page tables. */
#define LOG_PREFIX "vma: "
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mm/vma.h"

/* PAGEMAP_SCAN (Linux 6.7): Debian's headers are from 6.1. */
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#endif

#define PM_PRESENT (1ULL << 63)	/* /proc/PID/pagemap entry bits */
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61)
#define SCAN_VEC 1024		/* regions per PAGEMAP_SCAN call */
#define PAGEMAP_CHUNK 4096	/* entries per pagemap read */

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

/* The vma being parsed, with what smaps says beyond the header. */
struct smaps_entry {
	struct ct_vma vma;
	unsigned int maj, min;		/* device ... */
	uint64_t inode;			/* ... and inode, as smaps shows them */
	bool shared;
	bool maywrite;			/* VmFlags mw: writable now or after mprotect */
};

/* True if pages of @vma go into the swap area from the page tables (shmem: mm/shm.c). */
bool vma_stores_pages(const struct ct_vma *vma)
{
	return vma->kind == CT_VMA_ANON || vma->kind == CT_VMA_FILE_PRIVATE;
}

/* True if the child of a fork holds a copy-on-write snapshot of @vma's stored pages. */
bool vma_fork_snapshots(const struct ct_vma *vma)
{
	if (vma->kind != CT_VMA_ANON && vma->kind != CT_VMA_FILE_PRIVATE)
		return false;
	return !(vma->madv & (CT_MADV_DONTFORK | CT_MADV_WIPEONFORK));
}

/* Find the shared object with key @key. */
struct vma_shm_obj *vma_shm_find(struct vma_shm_table *shm, uint32_t key)
{
	for (size_t i = 0; i < shm->nr; i++)
		if (shm->objs[i].key == key)
			return &shm->objs[i];
	return NULL;
}

/* The kind of the shmem object behind a shared mapping whose smaps path is @path. */
static uint32_t vma_shm_kind(const char *path, const struct stat *st)
{
	if (path && !strncmp(path, "/dev/zero", 9))
		return CT_SHM_ANON;
	if (path && !strncmp(path, "/SYSV", 5))
		return CT_SHM_SYSV;
	if (path && !strncmp(path, "/memfd:", 7))
		return CT_SHM_MEMFD;
	return st->st_nlink ? CT_SHM_TMPFS : CT_SHM_TMPFS_DELETED;
}

/* The object's name or path as restore needs it: memfd name, tmpfs path without " (deleted)". */
static char *vma_shm_path(const char *path, uint32_t kind)
{
	static const char deleted[] = " (deleted)";
	size_t len;

	if (!path || kind == CT_SHM_ANON || kind == CT_SHM_SYSV)
		return NULL;
	if (kind == CT_SHM_MEMFD)
		path += 7;
	len = strlen(path);
	if (len >= sizeof(deleted) - 1 && !strcmp(path + len - (sizeof(deleted) - 1), deleted))
		len -= sizeof(deleted) - 1;
	return strndup(path, len);
}

/*
 * Restore opens a tmpfs file by its path from outside the container: the
 * path must lead there to this very file (not so in a tmpfs the container
 * mounted for itself, which dies with it).
 */
static int vma_shm_reachable(pid_t pid, const struct vma_shm_obj *o)
{
	struct stat st;

	if (stat(o->path, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino)
		return 0;
	return ct_err(-EOPNOTSUPP, "pid %d: tmpfs file %s mapped shared is not that file "
		      "at that path outside the container (a mount of its own?): not supported", pid,
		      o->path);
}

/* Record a new shared object @name (as /proc shows it) of @pid: open it, note what restore needs. */
static int vma_shm_add(struct vma_shm_table *shm, pid_t pid, const char *name,
		       const char *open_path, const struct stat *st, struct vma_shm_obj **out)
{
	struct vma_shm_obj *o;
	int ret;

	ret = xgrow(&shm->objs, &shm->cap, shm->nr + 1, sizeof(*shm->objs));
	if (ret)
		return ret;
	o = &shm->objs[shm->nr];
	memset(o, 0, sizeof(*o));
	o->fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0)
		return ct_err(-errno, "pid %d: shared memory %s: cannot open %s: %m", pid,
			      name ? name : "?", open_path);
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	o->key = CT_SHM_KEY_BASE + (uint32_t)shm->nr;
	o->kind = vma_shm_kind(name, st);
	o->pid = pid;
	o->size = st->st_size;
	o->mode = st->st_mode & 07777;
	o->uid = st->st_uid;
	o->gid = st->st_gid;
	o->path = vma_shm_path(name, o->kind);
	shm->nr++;
	if (o->kind != CT_SHM_ANON && o->kind != CT_SHM_SYSV && !o->path)
		return -ENOMEM;
	*out = o;
	return o->kind == CT_SHM_TMPFS ? vma_shm_reachable(pid, o) : 0;
}

/* The key of shared memory object @st (named @name, opened through @open_path if new). */
int vma_shm_object(struct vma_shm_table *shm, pid_t pid, const char *name, const char *open_path,
		   const struct stat *st, uint32_t *key)
{
	struct vma_shm_obj *o = NULL;
	int ret;

	for (size_t i = 0; i < shm->nr && !o; i++)
		if (shm->objs[i].dev == st->st_dev && shm->objs[i].ino == st->st_ino)
			o = &shm->objs[i];
	if (!o) {
		ret = vma_shm_add(shm, pid, name, open_path, st, &o);
		if (ret)
			return ret;
	}
	*key = o->key;
	return 0;
}

/* Close the objects and free the table. */
void vma_shm_table_free(struct vma_shm_table *shm)
{
	for (size_t i = 0; i < shm->nr; i++) {
		if (shm->objs[i].fd >= 0)
			close(shm->objs[i].fd);
		free(shm->objs[i].path);
	}
	free(shm->objs);
	free(shm->seen);
	memset(shm, 0, sizeof(*shm));
}

/* Translate the VmFlags letters into CT_MADV_* and MAP_GROWSDOWN. */
static void vma_parse_vmflags(const char *s, struct ct_vma *vma)
{
	static const struct { const char *name; uint32_t madv; } map[] = {
		{ "dc", CT_MADV_DONTFORK }, { "wf", CT_MADV_WIPEONFORK },
		{ "hg", CT_MADV_HUGEPAGE }, { "nh", CT_MADV_NOHUGEPAGE },
		{ "dd", CT_MADV_DONTDUMP }, { "lo", CT_MADV_LOCKED }, { "mg", CT_MADV_MERGEABLE },
		{ "lf", CT_MADV_LOCKONFAULT }, { "sl", CT_MADV_SEALED },
	};

	/* by hand: a sscanf() a word cost more than the rest of the dump's parsing of smaps */
	for (;;) {
		size_t len;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		len = strcspn(s, " \t\n");
		if (!len)
			break;
		if (len == 2 && s[0] == 'g' && s[1] == 'd')
			vma->flags |= MAP_GROWSDOWN;
		for (size_t i = 0; len == 2 && i < ARRAY_SIZE(map); i++)
			if (s[0] == map[i].name[0] && s[1] == map[i].name[1])
				vma->madv |= map[i].madv;
		s += len;
	}
}

/* True if the VmFlags letters @s hold @flag. */
static bool vmflags_has(const char *s, const char *flag)
{
	size_t len = strlen(flag);

	for (const char *p = strstr(s, flag); p; p = strstr(p + 1, flag))
		if (p[-1] == ' ' && (p[len] == ' ' || p[len] == '\0' || p[len] == '\n'))
			return true;
	return false;
}

/* True if @path names memory that only lives in the kernel (shared anon, SysV, memfd). */
static bool vma_path_is_shmem(const char *path)
{
	return !strncmp(path, "/dev/zero", 9) || !strncmp(path, "/SYSV", 5) ||
	       !strncmp(path, "/memfd:", 7);
}

/* The file of private mapping @e if stat'ed before in this dump, or NULL. */
static const struct vma_file_seen *vma_seen_find(const struct vma_shm_table *shm,
						 const struct smaps_entry *e)
{
	for (size_t i = 0; i < shm->nr_seen; i++) {
		const struct vma_file_seen *s = &shm->seen[i];

		if (s->ino == e->inode && s->maj == e->maj && s->min == e->min)
			return s;
	}
	return NULL;
}

/* Note the file of private mapping @e, identified (best effort: a miss only costs a stat). */
static void vma_seen_add(struct vma_shm_table *shm, const struct smaps_entry *e)
{
	if (xgrow(&shm->seen, &shm->cap_seen, shm->nr_seen + 1, sizeof(*shm->seen))) {
		ct_err_clear();
		return;
	}
	shm->seen[shm->nr_seen++] = (struct vma_file_seen){
		.maj = e->maj, .min = e->min, .ino = e->inode, .file = e->vma.file,
	};
}

/* Identify the file behind a mapping through /proc/PID/map_files; sets kind and file id. */
static int vma_identify_file(pid_t pid, struct smaps_entry *e, struct vma_shm_table *shm)
{
	const struct vma_file_seen *seen = e->shared ? NULL : vma_seen_find(shm, e);
	struct ct_vma *vma = &e->vma;
	struct statfs sfs;
	struct stat st;
	char path[96];
	bool shmem;
	int fd, ret;

	if (seen) {
		vma->file = seen->file;
		vma->kind = CT_VMA_FILE_PRIVATE;
		return 0;
	}

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)vma->start, (unsigned long long)vma->end);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_PATH);
	if (fd < 0)
		return ct_err(-errno, "pid %d: mapping %llx-%llx (%s): cannot open: %m", pid,
			      (unsigned long long)vma->start, (unsigned long long)vma->end,
			      vma->path ? vma->path : "?");
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		ret = -errno;
		close(fd);
		return ct_err(ret, "pid %d: %s: cannot stat: %s", pid, path, strerror(-ret));
	}
	close(fd);
	vma->file.dev = st.st_dev;
	vma->file.ino = st.st_ino;
	vma->file.size = st.st_size;
	vma->file.mtime_sec = st.st_mtim.tv_sec;
	vma->file.mtime_nsec = st.st_mtim.tv_nsec;
	vma->change = (struct ct_file_change){ .flags = CT_CHANGE_CTIME, .ctime_sec = st.st_ctim.tv_sec,
					       .ctime_nsec = st.st_ctim.tv_nsec };
	if (sfs.f_type == HUGETLBFS_MAGIC)
		return ct_err(-EOPNOTSUPP, "pid %d: mapping %llx-%llx: hugetlbfs is not supported",
			      pid, (unsigned long long)vma->start, (unsigned long long)vma->end);
	shmem = sfs.f_type == TMPFS_MAGIC || (vma->path && vma_path_is_shmem(vma->path));
	if (!e->shared) {
		vma->kind = CT_VMA_FILE_PRIVATE;
		vma_seen_add(shm, e);
		return 0;
	}
	/*
	 * A tmpfs file mapped shared but never writable through the mapping is
	 * not changed by the container that way: map the file again, as any
	 * shared file mapping (its identity is checked at restore), rather than
	 * put back its contents over what its owner may have written since.
	 */
	if (!shmem || (!e->maywrite && st.st_nlink && !vma_path_is_shmem(vma->path ?: ""))) {
		vma->kind = CT_VMA_FILE_SHARED;
		return 0;
	}
	vma->kind = CT_VMA_SHMEM;
	if (vma->path && !strncmp(vma->path, "/dev/zero", 9))
		vma->flags |= MAP_ANONYMOUS;
	return vma_shm_object(shm, pid, vma->path, path, &st, &vma->shm_key);
}

/*
 * The number in base @base at *@p, which must end at @stop (a space: any
 * run of blanks), into @v; *@p moves past it.  False if there is none.
 */
static bool vma_parse_num(const char **p, int base, char stop, unsigned long long *v)
{
	char *end;

	if (!isxdigit((unsigned char)**p))
		return false;
	errno = 0;
	*v = strtoull(*p, &end, base);
	if (errno || end == *p || *end != stop)
		return false;
	while (stop == ' ' && *end == ' ')
		end++;
	*p = stop == ' ' ? end : end + 1;
	return true;
}

/*
 * Parse one smaps header line into @e; false if it is not a header.  By
 * hand: "START-END PERMS OFFSET MAJ:MIN INODE   PATH" (sscanf() was the
 * larger part of parsing smaps).
 */
static bool vma_parse_header(const char *line, struct smaps_entry *e)
{
	unsigned long long start, end, pgoff, ino, maj, min;
	const char *p = line;
	char perms[8], *after;
	size_t plen;

	if (!vma_parse_num(&p, 16, '-', &start) || !vma_parse_num(&p, 16, ' ', &end))
		return false;
	plen = strcspn(p, " \t\n");
	if (!plen || plen >= sizeof(perms) || p[plen] != ' ')
		return false;
	memcpy(perms, p, plen);
	memset(perms + plen, 0, sizeof(perms) - plen);
	p += plen;
	while (*p == ' ')
		p++;
	if (!vma_parse_num(&p, 16, ' ', &pgoff) || !vma_parse_num(&p, 16, ':', &maj) ||
	    !vma_parse_num(&p, 16, ' ', &min) || maj > UINT_MAX || min > UINT_MAX)
		return false;
	/* the inode, then blanks or the end */
	if (!(*p >= '0' && *p <= '9'))
		return false;
	errno = 0;
	ino = strtoull(p, &after, 10);
	if (errno || (*after && *after != ' ' && *after != '\t' && *after != '\n'))
		return false;
	for (p = after; *p == ' ' || *p == '\t'; p++)
		;
	memset(e, 0, sizeof(*e));
	e->vma.start = start;
	e->vma.end = end;
	e->vma.pgoff = pgoff;
	e->maj = maj;
	e->min = min;
	e->inode = ino;
	e->shared = perms[3] == 's';
	e->vma.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		      (perms[2] == 'x' ? PROT_EXEC : 0);
	e->vma.flags = e->shared ? MAP_SHARED : MAP_PRIVATE;
	if (*p && *p != '\n') {
		size_t len = strcspn(p, "\n");

		e->vma.path = strndup(p, len);
	}
	return true;
}

/* Decide the kind of a parsed mapping. */
static int vma_classify(pid_t pid, struct smaps_entry *e, struct vma_shm_table *shm)
{
	struct ct_vma *vma = &e->vma;
	static const struct { const char *name; uint32_t kind; } special[] = {
		{ "[vdso]", CT_VMA_VDSO }, { "[vvar]", CT_VMA_VVAR },
		{ "[vvar_vclock]", CT_VMA_VVAR_VCLOCK }, { "[vsyscall]", CT_VMA_VSYSCALL },
	};

	for (size_t i = 0; vma->path && i < ARRAY_SIZE(special); i++) {
		if (!strcmp(vma->path, special[i].name)) {
			vma->kind = special[i].kind;
			return 0;
		}
	}
	/* a SysV segment's inode number is its id: segment 0 shows inode 0 */
	if (!e->inode && !(e->shared && vma->path && !strncmp(vma->path, "/SYSV", 5))) {
		/* heap, stack, [anon:...], plain anonymous memory */
		vma->kind = CT_VMA_ANON;
		vma->flags |= MAP_ANONYMOUS;
		if (e->shared)
			return ct_err(-EOPNOTSUPP, "pid %d: mapping %llx-%llx: shared without a file",
				      pid, (unsigned long long)vma->start,
				      (unsigned long long)vma->end);
		free(vma->path);
		vma->path = NULL;
		return 0;
	}
	return vma_identify_file(pid, e, shm);
}

/* Append the finished entry @e to @mm's vmas. */
static int vma_add(struct ct_mm *mm, size_t *cap, struct smaps_entry *e)
{
	int ret = xgrow(&mm->vmas, cap, mm->nr_vmas + 1, sizeof(*mm->vmas));

	if (ret)
		return ret;
	mm->vmas[mm->nr_vmas++] = e->vma;
	memset(&e->vma, 0, sizeof(e->vma));
	return 0;
}

/* Read /proc/@pid/smaps whole into a malloc'd string. */
static int smaps_read(pid_t pid, char **text)
{
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	ret = read_whole_file(path, text, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read smaps: %s", pid, strerror(-ret));
	return 0;
}

/* Parse /proc/PID/smaps: one ct_vma per mapping, kinds and madvise flags. */
int vma_collect(pid_t pid, struct vma_shm_table *shm, struct ct_mm *mm)
{
	char *text;
	int ret = smaps_read(pid, &text);

	return ret ?: vma_collect_text(pid, text, shm, mm);
}

int vma_collect_text(pid_t pid, char *text, struct vma_shm_table *shm, struct ct_mm *mm)
{
	struct smaps_entry e;
	bool have = false;
	char *line, *next;
	size_t cap = 0;
	int ret = 0;

	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncmp(line, "VmFlags:", 8)) {
			if (have) {
				vma_parse_vmflags(line + 8, &e.vma);
				e.maywrite = vmflags_has(line + 8, "mw");
			}
			continue;
		}
		if (!(line[0] >= '0' && line[0] <= '9') && !(line[0] >= 'a' && line[0] <= 'f'))
			continue;	/* "Rss:" and friends start with a capital */
		if (have) {
			ret = vma_classify(pid, &e, shm) ?: vma_add(mm, &cap, &e);
			if (ret)
				goto out;
		}
		have = vma_parse_header(line, &e);
	}
	if (have)
		ret = vma_classify(pid, &e, shm) ?: vma_add(mm, &cap, &e);
out:
	if (ret)
		free(e.vma.path);
	free(text);
	return ret;
}

/* The CT_MADV_* flags of the mapping of @pid that holds @addr (0 if none). */
int vma_flags_at(pid_t pid, uint64_t addr, uint32_t *madv)
{
	char *text, *line, *next;
	bool in = false;
	int ret;

	*madv = 0;
	ret = smaps_read(pid, &text);
	if (ret)
		return ret;
	for (line = text; line && *line; line = next) {
		struct smaps_entry e;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (in && !strncmp(line, "VmFlags:", 8)) {
			struct ct_vma v = { 0 };

			vma_parse_vmflags(line + 8, &v);
			*madv = v.madv;
			break;
		}
		if (vma_parse_header(line, &e)) {
			in = e.vma.start <= addr && addr < e.vma.end;
			free(e.vma.path);
		}
	}
	free(text);
	return 0;
}

/* Take stat fields 26..28 and 45..51 (1-based) into the mm. */
static int mm_parse_stat(pid_t pid, struct ct_mm *mm)
{
	unsigned long long f[53] = { 0 };
	char path[64], *text, *p;
	int ret, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read stat: %s", pid, strerror(-ret));
	p = strrchr(text, ')');
	if (!p) {
		free(text);
		return ct_err(-EINVAL, "pid %d: malformed stat", pid);
	}
	p += 2;				/* field 3, the state */
	for (i = 3; i <= 52 && *p; i++) {
		char *end;

		if (i == 3) {
			p = strchr(p, ' ');
			if (!p)
				break;
			p++;
			continue;
		}
		f[i] = strtoull(p, &end, 10);
		if (end == p)
			break;
		p = end + (*end == ' ');
	}
	free(text);
	if (i <= 51)
		return ct_err(-EINVAL, "pid %d: stat has %d fields, want 51", pid, i - 1);
	mm->start_code = f[26];
	mm->end_code = f[27];
	mm->start_stack = f[28];
	mm->start_data = f[45];
	mm->end_data = f[46];
	mm->start_brk = f[47];
	mm->arg_start = f[48];
	mm->arg_end = f[49];
	mm->env_start = f[50];
	mm->env_end = f[51];
	return 0;
}

/* Copy /proc/PID/auxv, up to and including AT_NULL. */
static int mm_read_auxv(pid_t pid, struct ct_mm *mm)
{
	char path[64], *buf;
	size_t len, n;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	ret = read_whole_file(path, &buf, &len);
	if (ret)
		return ct_err(ret, "pid %d: cannot read auxv: %s", pid, strerror(-ret));
	n = len / sizeof(uint64_t);
	for (size_t i = 0; i + 1 < n; i += 2)
		if (((uint64_t *)buf)[i] == 0) {
			n = i + 2;
			break;
		}
	mm->auxv = xmalloc(n * sizeof(uint64_t) + 1);
	if (!mm->auxv) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(mm->auxv, buf, n * sizeof(uint64_t));
	mm->auxv_len = (uint32_t)n;
	free(buf);
	return 0;
}

/* Record /proc/PID/exe: its path and the identity of the file. */
static int mm_read_exe(pid_t pid, struct ct_mm *mm)
{
	char path[64], target[4096];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return ct_err(-errno, "pid %d: cannot read exe link: %m", pid);
	target[n] = '\0';
	if (stat(path, &st) < 0)
		return ct_err(-errno, "pid %d: cannot stat exe: %m", pid);
	mm->exe_path = xstrdup(target);
	if (!mm->exe_path)
		return -ENOMEM;
	mm->exe_id.dev = st.st_dev;
	mm->exe_id.ino = st.st_ino;
	mm->exe_id.size = st.st_size;
	mm->exe_id.mtime_sec = st.st_mtim.tv_sec;
	mm->exe_id.mtime_nsec = st.st_mtim.tv_nsec;
	mm->exe_change = (struct ct_file_change){ .flags = CT_CHANGE_CTIME, .ctime_sec = st.st_ctim.tv_sec,
						  .ctime_nsec = st.st_ctim.tv_nsec };
	return 0;
}

/* The mm fields /proc shows; brk itself comes from an injected brk(0). */
int mm_collect(pid_t pid, struct ct_mm *mm)
{
	return mm_parse_stat(pid, mm) ?: mm_read_auxv(pid, mm) ?: mm_read_exe(pid, mm);
}

/* Open /proc/@pid/pagemap for PAGEMAP_SCAN or plain reads. */
int pagemap_open(pid_t pid, struct pagemap *pm)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm->pid = pid;
	pm->no_scan = getenv("CTSWAP_NO_PAGEMAP_SCAN") != NULL;
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->fd < 0)
		return ct_err(-errno, "pid %d: cannot open pagemap: %m", pid);
	return 0;
}

void pagemap_close(struct pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
}

/* Append [start, start + nr pages) to the runs, merging with the last one. */
static int runs_add(struct page_run **runs, size_t *nr, size_t *cap, uint64_t start, uint64_t n)
{
	int ret;

	if (*nr && (*runs)[*nr - 1].start + (*runs)[*nr - 1].nr * PAGE_SIZE == start) {
		(*runs)[*nr - 1].nr += n;
		return 0;
	}
	ret = xgrow(runs, cap, *nr + 1, sizeof(**runs));
	if (ret)
		return ret;
	(*runs)[*nr].start = start;
	(*runs)[*nr].nr = n;
	(*nr)++;
	return 0;
}

/* Runs of stored pages through the PAGEMAP_SCAN ioctl; -ENOTTY when it is missing. */
static int pagemap_scan_runs(struct pagemap *pm, const struct ct_vma *vma,
			     struct page_run **runs, size_t *nr, size_t *cap)
{
	struct page_region vec[SCAN_VEC];
	struct pm_scan_arg arg;
	uint64_t pos = vma->start;
	int ret;

	/* valgrind does not know PAGEMAP_SCAN fills vec: keep it defined for it */
	memset(vec, 0, sizeof(vec));
	while (pos < vma->end) {
		long n;

		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.start = pos;
		arg.end = vma->end;
		arg.vec = (uintptr_t)vec;
		arg.vec_len = SCAN_VEC;
		arg.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		arg.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_FILE;
		if (vma->kind == CT_VMA_FILE_PRIVATE) {
			/* only the anonymous (COW'd) pages of a private file mapping */
			arg.category_inverted = PAGE_IS_FILE;
			arg.category_mask = PAGE_IS_FILE;
		}
		n = ioctl(pm->fd, PAGEMAP_SCAN, &arg);
		if (n < 0) {
			if (errno == ENOTTY || errno == EINVAL)
				return -ENOTTY;
			return ct_err(-errno, "pid %d: PAGEMAP_SCAN at %llx: %m", pm->pid,
				      (unsigned long long)pos);
		}
		for (long i = 0; i < n; i++) {
			ret = runs_add(runs, nr, cap, vec[i].start,
				       (vec[i].end - vec[i].start) / PAGE_SIZE);
			if (ret)
				return ret;
		}
		if (arg.walk_end <= pos)
			break;
		pos = arg.walk_end;
	}
	return 0;
}

/* Runs of stored pages from /proc/PID/pagemap entries. */
static int pagemap_read_runs(struct pagemap *pm, const struct ct_vma *vma,
			     struct page_run **runs, size_t *nr, size_t *cap)
{
	uint64_t ent[PAGEMAP_CHUNK];
	uint64_t addr = vma->start;
	int ret;

	while (addr < vma->end) {
		size_t n = min_t(uint64_t, PAGEMAP_CHUNK, (vma->end - addr) / PAGE_SIZE);

		ret = pread_all(pm->fd, ent, n * sizeof(uint64_t), (off_t)(addr / PAGE_SIZE * 8));
		if (ret)
			return ct_err(ret, "pid %d: cannot read pagemap at %llx: %s", pm->pid,
				      (unsigned long long)addr, strerror(-ret));
		for (size_t i = 0; i < n; i++, addr += PAGE_SIZE) {
			if (!(ent[i] & (PM_PRESENT | PM_SWAPPED)))
				continue;
			if (vma->kind == CT_VMA_FILE_PRIVATE && (ent[i] & PM_FILE))
				continue;
			ret = runs_add(runs, nr, cap, addr, 1);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* The pages of @vma to store, as runs. */
int pagemap_stored_runs(struct pagemap *pm, const struct ct_vma *vma, struct page_run **runs,
			size_t *nr_runs, uint64_t *nr_pages)
{
	size_t cap = 0;
	int ret = -ENOTTY;

	*runs = NULL;
	*nr_runs = 0;
	*nr_pages = 0;
	if (!vma_stores_pages(vma))
		return 0;
	if (!pm->no_scan) {
		ret = pagemap_scan_runs(pm, vma, runs, nr_runs, &cap);
		if (ret == -ENOTTY) {
			pr_info("PAGEMAP_SCAN unavailable, reading pagemap entries");
			pm->no_scan = true;
			*nr_runs = 0;
		}
	}
	if (pm->no_scan)
		ret = pagemap_read_runs(pm, vma, runs, nr_runs, &cap);
	if (ret) {
		free(*runs);
		*runs = NULL;
		*nr_runs = 0;
		return ret;
	}
	for (size_t i = 0; i < *nr_runs; i++)
		*nr_pages += (*runs)[i].nr;
	return 0;
}
