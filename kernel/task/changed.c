// SPDX-License-Identifier: MIT
/*
 * Files that changed between the dump and the restore: which changes a
 * restore accepts for a description opened again by path.
 *
 * A file is restored by opening its path again, so the path must still
 * lead to the same inode: a file replaced (renamed over, rotated away and
 * created anew) would give the program another file, and is refused.  The
 * same inode may have changed since (after a --leave-running dump the
 * program goes on writing it).  One rule for every regular file held open:
 *
 *  - a file that only grew is accepted: its first bytes, as many as it had
 *    at the dump, are what they were.  The description is put back at its
 *    dumped position (O_APPEND writes go to the end anyway): a log, or a
 *    file read as it grows.
 *  - anything else is refused, naming the file and what changed: truncated
 *    (below the restored position, the program's next write would leave a
 *    hole), shrunk, or modified in place.  The program holds in memory what
 *    it read or wrote of the old contents: a database whose pages were
 *    written after the dump would come back with memory from before and
 *    files from after, silently inconsistent.
 *
 * "Only grew" is established by content, not by timestamps: the dump
 * checksums (XXH3-64) the whole file, and restore checksums the same
 * prefix again.  The dump reads while the container is stopped, so the
 * cost is frozen time (PostgreSQL: its open relation files and the WAL
 * segment); a file larger than --max-checked-size (task_ctx) is not read,
 * and then any change of its size, mtime or ctime refuses it.
 *
 * Mapped files and executables (restore/mm.c opens them again) accept no
 * change at all, since their pages would mix old and new contents: the
 * same size, and the same contents.  The dump checksums each file mapped
 * (libraries, executables, a database's mapped files) up to the same
 * limit, once per file version (inode, size, mtime, ctime) in a dump
 * however many processes map it, and before the freeze where it can
 * (map_change_prehash(): a version whose size, mtime and ctime stayed as
 * they were while it was read; the frozen dump finds it done if the file
 * is still that version, else reads it again); restore reads a file again only if its
 * size, mtime or ctime changed (a file rewritten in place keeps neither
 * its ctime nor, unless it is a copy of the same bytes, its checksum),
 * and each changed version once.  A file over the limit, or a checkpoint
 * of an older ctswap with no checksum, is refused on any such change.
 *
 * --allow-changed-files (allow_changed) accepts every change.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

/* Files held open are checksummed up to this size by default (bytes). */
#define CHANGE_MAX_CHECKED_DEFAULT (256ULL << 20)
/* Read this much at a time to checksum. */
#define CHANGE_CHUNK (1U << 20)

/* XXH3-64 of the first @len bytes of @fd into @hash; -errno (-ENODATA: shorter than @len). */
static int change_hash_prefix(int fd, uint64_t len, uint64_t *hash)
{
	XXH3_state_t *state = XXH3_createState();
	uint8_t *buf = xmalloc(CHANGE_CHUNK);
	uint64_t off = 0;
	int ret = 0;

	if (!state || !buf) {
		ret = -ENOMEM;
		goto out;
	}
	XXH3_64bits_reset(state);
	while (off < len) {
		size_t want = len - off < CHANGE_CHUNK ? (size_t)(len - off) : CHANGE_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -ENODATA;
			goto out;
		}
		XXH3_64bits_update(state, buf, (size_t)n);
		off += (uint64_t)n;
	}
	*hash = XXH3_64bits_digest(state);
out:
	free(buf);
	XXH3_freeState(state);
	return ret;
}

/* An earlier regular file of @img on inode @id, with what the dump recorded of it; NULL if none. */
static const struct ct_file *change_same_inode(const struct ct_image *img, const struct ct_file_id *id)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct ct_file *o = &img->files[i];

		if (o->kind == CT_FILE_REG && !o->deleted && o->change.flags && o->id.dev == id->dev &&
		    o->id.ino == id->ino && o->id.size == id->size)
			return o;
	}
	return NULL;
}

/*
 * Dump: record what restore needs to tell whether regular file @f (fd
 * d->fd of the stopped task, not deleted) only grew: its ctime, and the
 * checksum of its contents if it is not larger than the dump's limit.
 * Each inode is read once, however many descriptions it has.
 */
int file_change_dump(const struct fd_dump *d, struct ct_file *f)
{
	uint64_t max = d->tc && d->tc->max_checked_size ? d->tc->max_checked_size : CHANGE_MAX_CHECKED_DEFAULT;
	const struct ct_file *same = change_same_inode(d->img, &f->id);
	double start = now_ms();
	int fd, ret;

	f->change.flags = CT_CHANGE_CTIME;
	f->change.ctime_sec = d->st->st_ctim.tv_sec;
	f->change.ctime_nsec = d->st->st_ctim.tv_nsec;
	if (same) {
		f->change = same->change;
		return 0;
	}
	if (f->id.size > max) {
		pr_debug("%s: %llu bytes, over the %llu checksummed: any change will refuse the restore",
			 f->path, (unsigned long long)f->id.size, (unsigned long long)max);
		return 0;
	}
	fd = fd_reopen(d->pid, d->fd, O_RDONLY);
	if (fd < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot read %s to checksum it: %m", d->pid, d->fd,
			      f->path);
	ret = change_hash_prefix(fd, f->id.size, &f->change.prefix_hash);
	close(fd);
	if (ret == -ENODATA) {
		/* shrunk by a process outside while we read: no checksum, any change refuses */
		pr_debug("%s: shrank while read: not checksummed", f->path);
		return 0;
	}
	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read %s to checksum it: %s", d->pid, d->fd,
			      f->path, strerror(-ret));
	f->change.flags |= CT_CHANGE_HASHED;
	pr_debug("%s: %llu bytes checksummed in %.1f ms", f->path, (unsigned long long)f->id.size,
		 now_ms() - start);
	return 0;
}

/* Restore: are the first f->id.size bytes of the file at @fd those of the dump? */
static int change_prefix_same(const struct ct_file *f, int fd, bool *same)
{
	double start = now_ms();
	char path[64];
	uint64_t hash;
	int rfd, ret;

	/* @fd may be write-only: read through a new description */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		return ct_err(-errno, "%s: cannot read it to compare with the dump: %m", f->path);
	ret = change_hash_prefix(rfd, f->id.size, &hash);
	close(rfd);
	if (ret)
		return ct_err(ret, "%s: cannot read it to compare with the dump: %s", f->path, strerror(-ret));
	*same = hash == f->change.prefix_hash;
	pr_debug("%s: %llu bytes compared with the dump in %.1f ms", f->path, (unsigned long long)f->id.size,
		 now_ms() - start);
	return 0;
}

/* Did anything of the file of @st change since the dump, by size and timestamps? */
static bool change_stat_differs(const struct ct_file *f, const struct stat *st)
{
	return (uint64_t)st->st_size != f->id.size || st->st_mtim.tv_sec != f->id.mtime_sec ||
	       st->st_mtim.tv_nsec != f->id.mtime_nsec ||
	       ((f->change.flags & CT_CHANGE_CTIME) &&
		(st->st_ctim.tv_sec != f->change.ctime_sec || st->st_ctim.tv_nsec != f->change.ctime_nsec));
}

/*
 * A regular file @f of size @st that did not shrink: did it only grow?
 * @compared: an earlier description of the inode was compared already.
 */
static int file_check_grown(const struct ct_file *f, int fd, const struct stat *st, bool compared)
{
	bool same = false;
	int ret;

	if (!(f->change.flags & CT_CHANGE_HASHED)) {
		if (!change_stat_differs(f, st))
			return 0;
		if (!f->change.flags)	/* a blob of an older ctswap */
			return ct_err(-ESTALE, "%s: modified since the dump (the checkpoint holds no checksum of it); use --allow-changed-files",
				      f->path);
		return ct_err(-ESTALE, "%s: modified since the dump, and at %llu bytes then it was too large to check that it only grew (--max-checked-size); use --allow-changed-files",
			      f->path, (unsigned long long)f->id.size);
	}
	if (compared)
		return 0;
	ret = change_prefix_same(f, fd, &same);
	if (ret)
		return ret;
	if (!same)
		return ct_err(-ESTALE, "%s: modified since the dump; use --allow-changed-files", f->path);
	return 0;
}

/* May description @f, open again at @fd, be restored although its file changed? */
static int file_check(const struct ct_file *f, int fd, bool allow_changed, bool compared)
{
	bool writable = (f->flags & O_ACCMODE) != O_RDONLY;
	uint64_t size;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return ct_err(-errno, "%s: cannot stat: %m", f->path);
	if (allow_changed)
		return 0;
	if ((uint64_t)st.st_dev != f->id.dev || (uint64_t)st.st_ino != f->id.ino)
		return ct_err(-ESTALE, "%s: replaced since the dump (inode %llu -> %llu); use --allow-changed-files",
			      f->path, (unsigned long long)f->id.ino, (unsigned long long)st.st_ino);
	if (!S_ISREG(st.st_mode) || f->kind != CT_FILE_REG)
		return 0;	/* directories change with their entries: inode is enough */
	size = (uint64_t)st.st_size;
	if (writable && size < f->pos)
		return ct_err(-ESTALE, "%s: truncated since the dump to %llu bytes, below the position %llu it is restored at; use --allow-changed-files",
			      f->path, (unsigned long long)size, (unsigned long long)f->pos);
	if (size < f->id.size)
		return ct_err(-ESTALE, "%s: %s since the dump (size %llu -> %llu); use --allow-changed-files",
			      f->path, writable ? "truncated" : "shrank", (unsigned long long)f->id.size,
			      (unsigned long long)size);
	return file_check_grown(f, fd, &st, compared);
}

/* May description @f, open again at @fd, be restored although its file changed? */
int file_check_id(const struct ct_file *f, int fd, bool allow_changed)
{
	return file_check(f, fd, allow_changed, false);
}

/*
 * Was the inode of regular file @i compared with the dump already in this
 * restore, through an earlier description of it that passed?  PostgreSQL's
 * backends each open the same relation files: read each one once.
 */
static bool change_compared_before(const struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];

	for (uint32_t j = 0; j < i; j++) {
		const struct ct_file *o = &rs->img->files[j];

		if (o->kind == CT_FILE_REG && !o->deleted && rs->ft->fds[j] >= 0 &&
		    (o->change.flags & CT_CHANGE_HASHED) && o->change.prefix_hash == f->change.prefix_hash &&
		    !memcmp(&o->id, &f->id, sizeof(f->id)))
			return true;
	}
	return false;
}

/* file_check_id for regular file @i of a restore, its contents compared once per inode. */
int file_check_restore(const struct fd_restore *rs, uint32_t i, int fd)
{
	const struct ct_file *f = &rs->img->files[i];

	return file_check(f, fd, rs->allow_changed,
			  (f->change.flags & CT_CHANGE_HASHED) && change_compared_before(rs, i));
}

/* ---- mapped files ---- */

/* A file version read whole: its identity, ctime and checksum. */
struct change_seen {
	struct ct_file_id id;
	int64_t ctime_sec, ctime_nsec;
	uint64_t hash;
};

/* The file versions checksummed so far in one dump or restore (threads may share it). */
struct change_cache {
	pthread_mutex_t lock;		/* protects seen, nr, cap */
	struct change_seen *seen;
	size_t nr, cap;
};

struct change_cache *change_cache_new(void)
{
	struct change_cache *c = xzalloc(sizeof(*c));

	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void change_cache_free(struct change_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->seen);
	free(c);
}

/* Is @s the version of @id with ctime @ch? */
static bool change_seen_is(const struct change_seen *s, const struct ct_file_id *id, const struct ct_file_change *ch)
{
	return !memcmp(&s->id, id, sizeof(*id)) && s->ctime_sec == ch->ctime_sec && s->ctime_nsec == ch->ctime_nsec;
}

/* The checksum of version @id, @ch of a file from @c into @hash; false if not read yet. */
static bool change_cache_get(struct change_cache *c, const struct ct_file_id *id, const struct ct_file_change *ch,
			     uint64_t *hash)
{
	bool found = false;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nr && !found; i++) {
		if (change_seen_is(&c->seen[i], id, ch)) {
			*hash = c->seen[i].hash;
			found = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

/* Remember the checksum of version @id, @ch (a failed allocation only costs a read later). */
static void change_cache_put(struct change_cache *c, const struct ct_file_id *id, const struct ct_file_change *ch,
			     uint64_t hash)
{
	pthread_mutex_lock(&c->lock);
	if (c->nr == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct change_seen *n = xrealloc(c->seen, cap * sizeof(*n));

		if (!n)
			goto out;
		c->seen = n;
		c->cap = cap;
	}
	c->seen[c->nr++] = (struct change_seen){ .id = *id, .ctime_sec = ch->ctime_sec,
						  .ctime_nsec = ch->ctime_nsec, .hash = hash };
out:
	pthread_mutex_unlock(&c->lock);
}

/* The checksum of the whole file @name open at @path, version @id, @ch: from @c, or read once. */
static int change_hash_file(struct change_cache *c, const char *path, const char *name, const struct ct_file_id *id,
			    const struct ct_file_change *ch, uint64_t *hash)
{
	double start = now_ms();
	int fd, ret;

	if (c && change_cache_get(c, id, ch, hash))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = change_hash_prefix(fd, id->size, hash);
	close(fd);
	if (ret)
		return ret;
	if (c)
		change_cache_put(c, id, ch, *hash);
	pr_debug("%s: %llu bytes checksummed in %.1f ms", name, (unsigned long long)id->size, now_ms() - start);
	return 0;
}

/*
 * Dump: remember the checksums of the files @img (an earlier checkpoint)
 * mapped: a version seen then (inode, size, mtime, ctime) is not read again.
 */
void map_change_seed(struct change_cache *c, const struct ct_image *img)
{
	for (uint32_t i = 0; i < img->nr_tasks; i++) {
		const struct ct_mm *mm = &img->tasks[i].mm;

		for (uint32_t k = 0; k < mm->nr_vmas; k++)
			if (mm->vmas[k].change.flags & CT_CHANGE_HASHED)
				change_cache_put(c, &mm->vmas[k].file, &mm->vmas[k].change,
						 mm->vmas[k].change.prefix_hash);
		if (mm->exe_change.flags & CT_CHANGE_HASHED)
			change_cache_put(c, &mm->exe_id, &mm->exe_change, mm->exe_change.prefix_hash);
	}
}

/* The identity and ctime the dump records of the file of @st (vma_identify_file(), mm_read_exe()). */
static void change_id_of(const struct stat *st, struct ct_file_id *id, struct ct_file_change *ch)
{
	memset(id, 0, sizeof(*id));
	memset(ch, 0, sizeof(*ch));
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime_sec = st->st_mtim.tv_sec;
	id->mtime_nsec = st->st_mtim.tv_nsec;
	ch->flags = CT_CHANGE_CTIME;
	ch->ctime_sec = st->st_ctim.tv_sec;
	ch->ctime_nsec = st->st_ctim.tv_nsec;
}

/* Did size, mtime or ctime differ between @a and @b, two stats of one file? */
static bool change_stats_differ(const struct stat *a, const struct stat *b)
{
	return a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	       a->st_mtim.tv_nsec != b->st_mtim.tv_nsec || a->st_ctim.tv_sec != b->st_ctim.tv_sec ||
	       a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

/*
 * Checksum ahead the file open at @fd into @c, if a regular file within
 * @max bytes not checksummed yet; kept only if nothing of its identity
 * moved while it was read.  How many bytes it read.
 */
static uint64_t change_prehash_fd(struct change_cache *c, int fd, uint64_t max)
{
	struct stat before, after;
	struct ct_file_change ch;
	struct ct_file_id id;
	uint64_t hash;

	if (fstat(fd, &before) < 0 || !S_ISREG(before.st_mode) || (uint64_t)before.st_size > max)
		return 0;
	change_id_of(&before, &id, &ch);
	if (change_cache_get(c, &id, &ch, &hash))
		return 0;
	if (change_hash_prefix(fd, id.size, &hash) || fstat(fd, &after) < 0 ||
	    change_stats_differ(&before, &after))
		return 0;
	change_cache_put(c, &id, &ch, hash);
	return id.size;
}

/* A file mapping of a /proc/PID/maps line, as map_change_prehash() looks at them. */
struct prehash_map {
	pid_t pid;
	unsigned long start, end;
	unsigned int maj, min;
	unsigned long long ino;
	bool shared_write;		/* mapped shared and writable: written through memory */
};

/* The file mappings of /proc/@pid/maps into @maps (grown), but deleted files. */
static int prehash_read_maps(pid_t pid, struct prehash_map **maps, size_t *nr, size_t *cap)
{
	static const char deleted[] = " (deleted)";
	char path[64], *text, *line, *next;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ret;
	for (line = text; line && *line && !ret; line = next) {
		struct prehash_map m = { .pid = pid };
		char perms[8], *name;
		size_t len;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		name = strchr(line, '/');
		len = name ? strlen(name) : 0;
		if (!name || (len >= sizeof(deleted) - 1 && !strcmp(name + len - (sizeof(deleted) - 1), deleted)) ||
		    sscanf(line, "%lx-%lx %7s %*x %x:%x %llu", &m.start, &m.end, perms, &m.maj, &m.min, &m.ino) != 6 ||
		    !m.ino)
			continue;
		m.shared_write = perms[1] == 'w' && perms[3] == 's';
		ret = xgrow(maps, cap, *nr + 1, sizeof(**maps));
		if (!ret)
			(*maps)[(*nr)++] = m;
	}
	free(text);
	return ret;
}

/* qsort order of mappings by file (device, inode). */
static int prehash_order(const void *a, const void *b)
{
	const struct prehash_map *x = a, *y = b;

	if (x->maj != y->maj)
		return x->maj < y->maj ? -1 : 1;
	if (x->min != y->min)
		return x->min < y->min ? -1 : 1;
	return (x->ino > y->ino) - (x->ino < y->ino);
}

/* Checksum ahead the file of mapping @m into @c; the bytes read. */
static uint64_t prehash_file_of(struct change_cache *c, const struct prehash_map *m, uint64_t max)
{
	char path[96];
	uint64_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", m->pid, m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = change_prehash_fd(c, fd, max);
	close(fd);
	return n;
}

void map_change_prehash(const pid_t *pids, size_t nr_pids, uint64_t max_size, struct change_cache *c,
			size_t *files, uint64_t *bytes)
{
	uint64_t max = max_size ? max_size : CHANGE_MAX_CHECKED_DEFAULT;
	struct prehash_map *maps = NULL;
	size_t nr = 0, cap = 0;

	*files = 0;
	*bytes = 0;
	/* a process gone, or no memory: its files are read in the window, as before */
	for (size_t p = 0; p < nr_pids; p++)
		prehash_read_maps(pids[p], &maps, &nr, &cap);
	if (nr)
		qsort(maps, nr, sizeof(*maps), prehash_order);
	/* one file at a time (its executable is one of its mappings): the first of its mappings */
	for (size_t i = 0, end; i < nr; i = end) {
		bool written = false;
		uint64_t n;

		for (end = i; end < nr && !prehash_order(&maps[i], &maps[end]); end++)
			written |= maps[end].shared_write;
		if (written)
			continue;
		n = prehash_file_of(c, &maps[i], max);
		*files += n > 0;
		*bytes += n;
	}
	free(maps);
}

/* Dump: checksum the file mapped through @path (its ctime recorded in @ch) if within @max bytes. */
static int map_change_dump_one(pid_t pid, const char *path, const char *name, const struct ct_file_id *id,
			       struct ct_file_change *ch, uint64_t max, struct change_cache *c)
{
	int ret;

	if (!(ch->flags & CT_CHANGE_CTIME) || id->size > max)
		return 0;	/* no identity recorded, or too large: any change refuses */
	ret = change_hash_file(c, path, name, id, ch, &ch->prefix_hash);
	if (ret == -ENODATA) {
		pr_debug("pid %d: %s: shrank while read: not checksummed", pid, name);
		return 0;
	}
	if (ret)
		return ct_err(ret, "pid %d: cannot read %s to checksum it: %s", pid, name, strerror(-ret));
	ch->flags |= CT_CHANGE_HASHED;
	return 0;
}

/* Is mapping @v a file opened again by path at restore (not deleted, not shared memory)? */
static bool map_is_reopened(const struct ct_vma *v)
{
	static const char deleted[] = " (deleted)";
	size_t len = v->path ? strlen(v->path) : 0;

	if (v->kind != CT_VMA_FILE_PRIVATE && v->kind != CT_VMA_FILE_SHARED)
		return false;
	return len && !(len >= sizeof(deleted) - 1 && !strcmp(v->path + len - (sizeof(deleted) - 1), deleted));
}

/*
 * Dump: checksum the files the mappings of @mm (process @pid, stopped)
 * open again at restore, and its executable, up to @max_size bytes each
 * (0: the default), through @c once per file version.
 */
int map_change_dump(pid_t pid, struct ct_mm *mm, uint64_t max_size, struct change_cache *c)
{
	uint64_t max = max_size ? max_size : CHANGE_MAX_CHECKED_DEFAULT;
	char path[96];
	int ret = 0;

	for (uint32_t i = 0; i < mm->nr_vmas && !ret; i++) {
		struct ct_vma *v = &mm->vmas[i];

		if (!map_is_reopened(v))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid, (unsigned long long)v->start,
			 (unsigned long long)v->end);
		ret = map_change_dump_one(pid, path, v->path, &v->file, &v->change, max, c);
	}
	if (ret || !mm->exe_path)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return map_change_dump_one(pid, path, mm->exe_path, &mm->exe_id, &mm->exe_change, max, c);
}

/* Did the size, mtime or (if recorded) ctime of the file of @st change since the dump? */
static bool map_stat_differs(const struct ct_file_id *id, const struct ct_file_change *ch, const struct stat *st)
{
	return (uint64_t)st->st_size != id->size || st->st_mtim.tv_sec != id->mtime_sec ||
	       st->st_mtim.tv_nsec != id->mtime_nsec ||
	       ((ch->flags & CT_CHANGE_CTIME) &&
		(st->st_ctim.tv_sec != ch->ctime_sec || st->st_ctim.tv_nsec != ch->ctime_nsec));
}

/*
 * Restore: may the file open at @open_path (@st: it is the inode of the
 * dump, or its copy in a given root) be mapped again as @path of process
 * @pid?  Only with the same size and contents: read it again if its size,
 * mtime or ctime changed, each changed version once through @c.
 */
int map_change_check(pid_t pid, const char *path, const char *open_path, const struct stat *st,
		     const struct ct_file_id *id, const struct ct_file_change *ch, struct change_cache *c)
{
	struct ct_file_id now = { .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
				  .mtime_sec = st->st_mtim.tv_sec, .mtime_nsec = st->st_mtim.tv_nsec };
	struct ct_file_change now_ch = { .ctime_sec = st->st_ctim.tv_sec, .ctime_nsec = st->st_ctim.tv_nsec };
	uint64_t hash;
	int ret;

	if (!map_stat_differs(id, ch, st))
		return 0;
	if (now.size == id->size && (ch->flags & CT_CHANGE_HASHED)) {
		ret = change_hash_file(c, open_path, path, &now, &now_ch, &hash);
		if (ret && ret != -ENODATA)
			return ct_err(ret, "pid %d: %s: cannot read it to compare with the dump: %s", pid, path,
				      strerror(-ret));
		if (!ret && hash == ch->prefix_hash) {
			pr_debug("pid %d: %s: touched since the dump, contents unchanged", pid, path);
			return 0;
		}
	}
	if ((ch->flags & CT_CHANGE_CTIME) && !(ch->flags & CT_CHANGE_HASHED) && now.size == id->size)
		return ct_err(-ESTALE, "pid %d: %s: file changed since the dump, and at %llu bytes then it was too large to compare by contents (--max-checked-size); --allow-changed-files to map it anyway",
			      pid, path, (unsigned long long)id->size);
	return ct_err(-ESTALE, "pid %d: %s: file changed since the dump (--allow-changed-files to map it anyway)",
		      pid, path);
}
