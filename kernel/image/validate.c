// SPDX-License-Identifier: MIT
/*
 * Checks on a decoded image before restore trusts it.  A crafted blob must
 * not make restore map memory or open files that a valid image of the same
 * container could not: every reference, range and path is checked here.
 */
#define LOG_PREFIX "image: "
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "image/blob.h"
#include "lib/log.h"
#include "lib/util.h"

#define USER_ADDR_MAX (1ULL << 56)	/* above any user address with 5-level paging */
#define FD_MAX (1 << 20)

/* True if @path is absolute and has no ".." component. */
bool image_path_is_sane(const char *path)
{
	const char *p;

	if (!path || path[0] != '/')
		return false;
	for (p = path; (p = strstr(p, "..")); p += 2) {
		bool start = p == path || p[-1] == '/';
		bool end = p[2] == '\0' || p[2] == '/';

		if (start && end)
			return false;
	}
	return true;
}

/* True if @path is relative (or empty) with no "." or ".." component and no "//". */
static bool rel_path_is_sane(const char *path)
{
	const char *c = path;

	while (*c) {
		size_t len = strcspn(c, "/");

		if (!len || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += len;
		if (*c == '/' && !*++c)
			return false;	/* a trailing slash */
	}
	return true;
}

/* Check one mapping of task @pid. */
static int validate_vma(const struct ct_vma *v, const struct ct_vma *prev, pid_t pid, const char *what)
{
	if (v->kind > CT_VMA_VSYSCALL)
		return ct_err(-EBADMSG, "%s: pid %d: mapping %llx has unknown kind %u", what, pid,
			      (unsigned long long)v->start, v->kind);
	if (v->kind == CT_VMA_VSYSCALL)
		return 0;
	if (v->start >= v->end || v->start % PAGE_SIZE || v->end % PAGE_SIZE || v->end > USER_ADDR_MAX)
		return ct_err(-EBADMSG, "%s: pid %d: bad mapping range %llx-%llx", what, pid,
			      (unsigned long long)v->start, (unsigned long long)v->end);
	if (prev && prev->kind != CT_VMA_VSYSCALL && v->start < prev->end)
		return ct_err(-EBADMSG, "%s: pid %d: mappings overlap or are unsorted at %llx", what, pid,
			      (unsigned long long)v->start);
	if (v->prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return ct_err(-EBADMSG, "%s: pid %d: mapping %llx has bad protection %#x", what, pid,
			      (unsigned long long)v->start, v->prot);
	if ((v->kind == CT_VMA_FILE_PRIVATE || v->kind == CT_VMA_FILE_SHARED) && !image_path_is_sane(v->path))
		return ct_err(-EBADMSG, "%s: pid %d: mapping %llx has a bad file path", what, pid,
			      (unsigned long long)v->start);
	if (!ct_file_change_is_sane(&v->change))
		return ct_err(-EBADMSG, "%s: pid %d: mapping %llx has a bad file checksum record", what, pid,
			      (unsigned long long)v->start);
	if (v->pgoff % PAGE_SIZE)
		return ct_err(-EBADMSG, "%s: pid %d: mapping %llx has an unaligned offset", what, pid,
			      (unsigned long long)v->start);
	if (v->nr_pages > (v->end - v->start) / PAGE_SIZE)
		return ct_err(-EBADMSG, "%s: pid %d: mapping %llx claims more pages than it spans", what,
			      pid, (unsigned long long)v->start);
	return 0;
}

/* Check the seccomp chain of thread @th: mode, indexes, the kernel's length limit. */
static int validate_thread_seccomp(const struct ct_image *img, const struct ct_thread *th,
				   pid_t pid, const char *what)
{
	uint64_t path = 0;

	if (th->seccomp_mode != 0 && th->seccomp_mode != 2)
		return ct_err(-EBADMSG, "%s: pid %d: thread %d: bad seccomp mode %u", what, pid,
			      th->tid, th->seccomp_mode);
	if ((th->seccomp_mode == 2) != (th->nr_seccomp > 0))
		return ct_err(-EBADMSG, "%s: pid %d: thread %d: seccomp mode and filters disagree", what,
			      pid, th->tid);
	for (uint32_t i = 0; i < th->nr_seccomp; i++) {
		if (th->seccomp[i] >= img->nr_seccomp)
			return ct_err(-EBADMSG, "%s: pid %d: thread %d: bad seccomp filter index %u", what,
				      pid, th->tid, th->seccomp[i]);
		path += img->seccomp[th->seccomp[i]].len + 4;
	}
	if (path > CT_SECCOMP_MAX_PATH)
		return ct_err(-EBADMSG, "%s: pid %d: thread %d: seccomp filters too long", what, pid,
			      th->tid);
	return 0;
}

/* Check the seccomp filter programs: lengths and flags. */
static int validate_seccomp(const struct ct_image *img, const char *what)
{
	for (uint32_t i = 0; i < img->nr_seccomp; i++) {
		const struct ct_seccomp_filter *f = &img->seccomp[i];

		if (f->len == 0 || f->len > CT_BPF_MAXINSNS || !f->insns)
			return ct_err(-EBADMSG, "%s: seccomp filter %u has %u instructions", what, i, f->len);
		if (f->flags & ~CT_SECCOMP_LOG)
			return ct_err(-EBADMSG, "%s: seccomp filter %u has unknown flags %#x", what, i,
				      f->flags);
	}
	return 0;
}

/*
 * A SysV segment made again with its identity: only in an own IPC
 * namespace, an id shmget can give, a size shmget takes, each id once.
 */
static int validate_shm_sysv(const struct ct_image *img, const struct ct_shm *o, const char *what)
{
	if (!o->sysv_flags)
		return 0;
	if (o->kind != CT_SHM_SYSV || !(o->sysv_flags & CT_SHM_SYSV_IDENTITY) ||
	    (o->sysv_flags & ~CT_SHM_SYSV_KNOWN) || !(img->shape.flags & CT_SHAPE_OWN_IPC))
		return ct_err(-EBADMSG, "%s: shared memory object %#x: bad SysV flags %#x", what, o->key,
			      o->sysv_flags);
	if (o->sysv_id < 0 || !o->size || o->mode > 0777)
		return ct_err(-EBADMSG, "%s: SysV segment %d: bad id, size or mode", what, o->sysv_id);
	for (const struct ct_shm *p = img->shm; p < o; p++)
		if (p->sysv_flags && p->sysv_id == o->sysv_id)
			return ct_err(-EBADMSG, "%s: SysV segment %d: twice in the image", what, o->sysv_id);
	return 0;
}

/* Check the shared memory objects: kinds, keys unique, sizes, paths and names. */
static int validate_shm(const struct ct_image *img, const char *what)
{
	for (uint32_t i = 0; i < img->nr_shm; i++) {
		const struct ct_shm *o = &img->shm[i];
		bool tmpfs = o->kind == CT_SHM_TMPFS || o->kind == CT_SHM_TMPFS_DELETED;

		if (o->kind >= CT_SHM_NR_KINDS)
			return ct_err(-EBADMSG, "%s: shared memory object %#x has unknown kind %u", what,
				      o->key, o->kind);
		if (o->key < CT_SHM_KEY_BASE || image_find_shm(img, o->key) != o)
			return ct_err(-EBADMSG, "%s: shared memory object %#x: bad or repeated key", what,
				      o->key);
		if (o->size > CT_SHM_MAX_SIZE || o->nr_pages > (o->size + PAGE_SIZE - 1) / PAGE_SIZE)
			return ct_err(-EBADMSG, "%s: shared memory object %#x: bad size", what, o->key);
		if ((tmpfs && !image_path_is_sane(o->path)) || (o->mode & ~07777u))
			return ct_err(-EBADMSG, "%s: shared memory object %#x: bad path or mode", what,
				      o->key);
		if (validate_shm_sysv(img, o, what))
			return -EBADMSG;
		/* memfd_create() takes at most 249 bytes of name and no '/' */
		if (o->kind == CT_SHM_MEMFD && o->path && (strlen(o->path) > 249 || strchr(o->path, '/')))
			return ct_err(-EBADMSG, "%s: shared memory object %#x: bad memfd name", what,
				      o->key);
	}
	return 0;
}

/* Check a task's threads, mappings and fds. */
static int validate_task(const struct ct_image *img, const struct ct_task *t, const char *what)
{
	int ret;

	if (t->nr_threads == 0 || t->threads[0].tid != t->pid)
		return ct_err(-EBADMSG, "%s: pid %d: no leader thread", what, t->pid);
	for (uint32_t i = 0; i < t->nr_threads; i++) {
		if (t->threads[i].tid <= 0)
			return ct_err(-EBADMSG, "%s: pid %d: bad thread id %d", what, t->pid,
				      t->threads[i].tid);
		ret = validate_thread_seccomp(img, &t->threads[i], t->pid, what);
		if (ret)
			return ret;
	}
	if (t->mm.auxv_len % 2)
		return ct_err(-EBADMSG, "%s: pid %d: odd auxv length", what, t->pid);
	if (!ct_file_change_is_sane(&t->mm.exe_change))
		return ct_err(-EBADMSG, "%s: pid %d: bad checksum record of the executable", what, t->pid);
	for (uint32_t i = 0; i < t->mm.nr_vmas; i++) {
		const struct ct_vma *v = &t->mm.vmas[i];

		ret = validate_vma(v, i ? &t->mm.vmas[i - 1] : NULL, t->pid, what);
		if (ret)
			return ret;
		/* blobs before the SHM records have none: restore sizes by the mappings then */
		if (v->kind == CT_VMA_SHMEM && img->nr_shm && !image_find_shm(img, v->shm_key))
			return ct_err(-EBADMSG, "%s: pid %d: mapping %llx names no shared memory object",
				      what, t->pid, (unsigned long long)v->start);
	}
	for (uint32_t i = 0; i < t->nr_fds; i++) {
		const struct ct_fd *fd = &t->fds[i];

		if (fd->fd < 0 || fd->fd >= FD_MAX || fd->file >= img->nr_files)
			return ct_err(-EBADMSG, "%s: pid %d: bad fd entry %d", what, t->pid, fd->fd);
		if (i && fd->fd <= t->fds[i - 1].fd)
			return ct_err(-EBADMSG, "%s: pid %d: fds unsorted or repeated at %d", what,
				      t->pid, fd->fd);
	}
	if ((t->cwd && !image_path_is_sane(t->cwd)) || (t->root && !image_path_is_sane(t->root)))
		return ct_err(-EBADMSG, "%s: pid %d: bad cwd or root path", what, t->pid);
	return 0;
}

/* Check the process tree: unique pids, an init first, parents before children. */
static int validate_tree(const struct ct_image *img, const char *what)
{
	if (img->nr_tasks == 0)
		return ct_err(-EBADMSG, "%s: no tasks", what);
	for (uint32_t i = 0; i < img->nr_tasks; i++) {
		const struct ct_task *t = &img->tasks[i];
		bool parent_seen = i == 0;

		if (t->pid <= 0)
			return ct_err(-EBADMSG, "%s: bad pid %d", what, t->pid);
		for (uint32_t j = 0; j < i; j++) {
			if (img->tasks[j].pid == t->pid)
				return ct_err(-EBADMSG, "%s: pid %d appears twice", what, t->pid);
			if (img->tasks[j].pid == t->ppid)
				parent_seen = true;
		}
		if (!parent_seen)
			return ct_err(-EBADMSG, "%s: pid %d: parent %d is not restored before it", what,
				      t->pid, t->ppid);
		if ((t->share_parent & ~CT_SHARE_ALL) || (i == 0 && t->share_parent))
			return ct_err(-EBADMSG, "%s: pid %d: bad sharing with its parent %#x", what, t->pid,
				      t->share_parent);
	}
	return 0;
}

/* Is pid @pid used by a task, a thread or one of the first @nr_zombies zombies? */
static bool pid_is_taken(const struct ct_image *img, pid_t pid, uint32_t nr_zombies)
{
	for (uint32_t i = 0; i < img->nr_tasks; i++)
		for (uint32_t k = 0; k < img->tasks[i].nr_threads; k++)
			if (img->tasks[i].threads[k].tid == pid || img->tasks[i].pid == pid)
				return true;
	for (uint32_t i = 0; i < nr_zombies; i++)
		if (img->zombies[i].pid == pid)
			return true;
	return false;
}

/*
 * Is @status a wait status of an exit (code << 8) or of a death by a signal
 * whose default action kills (restore sends it again: one that stops or is
 * ignored would never end the process)?
 */
static bool zombie_status_is_sane(uint32_t status)
{
	uint32_t sig = status & 0x7f;

	if (!sig)
		return status <= 0xff00 && !(status & 0xff);
	if (sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH || sig == SIGSTOP ||
	    sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
		return false;
	return status <= 0xff && sig <= CT_NSIG;
}

/* Check the zombies: own pids, a parent among the tasks, a status a wait can return. */
static int validate_zombies(const struct ct_image *img, const char *what)
{
	for (uint32_t i = 0; i < img->nr_zombies; i++) {
		const struct ct_zombie *z = &img->zombies[i];

		if (z->pid <= 0 || pid_is_taken(img, z->pid, i))
			return ct_err(-EBADMSG, "%s: zombie %d: bad or repeated pid", what, z->pid);
		if (!image_find_task(img, z->ppid))
			return ct_err(-EBADMSG, "%s: zombie %d: parent %d is not in the image", what,
				      z->pid, z->ppid);
		if (!zombie_status_is_sane(z->status) || z->exit_signal < 0 ||
		    z->exit_signal > CT_NSIG || z->pgid < 0 || z->sid < 0)
			return ct_err(-EBADMSG, "%s: zombie %d: bad exit status %#x or signal %d", what,
				      z->pid, z->status, z->exit_signal);
	}
	return 0;
}

/* Check the open file descriptions: a known kind, and what its kind says of its payload. */
static int validate_files(const struct ct_image *img, const char *what)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];
		const struct ct_file_format *k = ct_file_format_of(f->kind);

		if (!k)
			return ct_err(-EBADMSG, "%s: file %u has unknown kind %u", what, i, f->kind);
		if (f->path && !image_path_is_sane(f->path))
			return ct_err(-EBADMSG, "%s: file %u has a bad path", what, i);
		if (k->is_sane && !k->is_sane(img, f))
			return ct_err(-EBADMSG, "%s: file %u: bad %s record", what, i, k->name);
	}
	return 0;
}

/* Check the container's shape: known flags and network kind, names for sethostname. */
static int validate_shape(const struct ct_image *img, const char *what)
{
	const struct ct_shape_rec *s = &img->shape;

	if (s->flags & ~CT_SHAPE_FLAGS_KNOWN)
		return ct_err(-EBADMSG, "%s: unknown container shape flags %#x", what, s->flags);
	if (s->net >= CT_NET_KNOWN)
		return ct_err(-EBADMSG, "%s: unknown network kind %u", what, s->net);
	if ((s->flags & CT_SHAPE_LO_UP) && s->net != CT_NET_LO)
		return ct_err(-EBADMSG, "%s: lo state without a network namespace of its own", what);
	if ((s->hostname[0] || s->domainname[0]) && !(s->flags & CT_SHAPE_OWN_UTS))
		return ct_err(-EBADMSG, "%s: a hostname without a UTS namespace of its own", what);
	if (s->mono_ns < 0 || s->boot_ns < 0)
		return ct_err(-EBADMSG, "%s: negative clock at the dump", what);
	if (s->limit_cpu_millis > 4096 * 1000)
		return ct_err(-EBADMSG, "%s: cpu limit of %llu thousandths", what,
			      (unsigned long long)s->limit_cpu_millis);
	return 0;
}

/* True if @path is relative, of names that are not "." or "..", and not too long. */
static bool cgroup_path_is_sane(const char *path)
{
	size_t len = path ? strlen(path) : 0;

	if (!len || len > 1024 || path[0] == '/' || path[len - 1] == '/' || strstr(path, "//"))
		return false;
	for (const char *p = path; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
		if ((p[0] == '.' && (p[1] == '/' || !p[1])) ||
		    (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2])))
			return false;
	return true;
}

/* Check one cgroup below the container's: hierarchy, path below its parent's record, members. */
static int validate_cgroup(const struct ct_image *img, const struct ct_cgroup_rec *g, const char *what)
{
	const char *slash = g->path ? strrchr(g->path, '/') : NULL;
	bool parent = !slash;

	if (g->hier >= CT_CG_NR_HIER || !cgroup_path_is_sane(g->path))
		return ct_err(-EBADMSG, "%s: bad cgroup record (hierarchy %u)", what, g->hier);
	for (const struct ct_cgroup_rec *p = img->cgroups; p < g; p++) {
		if (p->hier != g->hier)
			continue;
		if (!strcmp(p->path, g->path))
			return ct_err(-EBADMSG, "%s: cgroup %s twice", what, g->path);
		parent |= strlen(p->path) == (size_t)(slash - g->path) &&
			  !strncmp(p->path, g->path, (size_t)(slash - g->path));
	}
	if (!parent)
		return ct_err(-EBADMSG, "%s: cgroup %s before the group above it", what, g->path);
	for (uint32_t k = 0; k < g->nr_members; k++)
		if (!image_find_task(img, g->members[k]))
			return ct_err(-EBADMSG, "%s: cgroup %s: pid %d is no task", what, g->path,
				      g->members[k]);
	return 0;
}

/* The kernel's own ceilings for a queue (ipc/mqueue.c HARD_MSGMAX, HARD_MSGSIZEMAX, MQ_PRIO_MAX). */
#define MQ_HARD_MSGMAX 65536
#define MQ_HARD_MSGSIZEMAX (16 << 20)
#define MQ_PRIO_MAX_ 32768

/* True if @name is "/" and a file name of at most 255 bytes (no "/", not "." or ".."). */
static bool mqueue_name_is_sane(const char *name)
{
	return name && name[0] == '/' && name[1] && strlen(name) <= 256 && !strchr(name + 1, '/') &&
	       strcmp(name, "/.") && strcmp(name, "/..");
}

/* Check one POSIX queue: name once, attributes and messages within the kernel's limits. */
static int validate_mqueue(const struct ct_image *img, const struct ct_mqueue *q, const char *what)
{
	uint64_t at = 0, n = 0;
	uint32_t prio, len;

	if (!mqueue_name_is_sane(q->name) || q->mode > 0777 || !q->maxmsg ||
	    q->maxmsg > MQ_HARD_MSGMAX || !q->msgsize || q->msgsize > MQ_HARD_MSGSIZEMAX)
		return ct_err(-EBADMSG, "%s: bad POSIX message queue %s", what, q->name ? q->name : "?");
	for (const struct ct_mqueue *p = img->mqueues; p < q; p++)
		if (!strcmp(p->name, q->name))
			return ct_err(-EBADMSG, "%s: POSIX message queue %s twice", what, q->name);
	while (at < q->data_len) {
		if (q->data_len - at < 8)
			goto bad_msg;
		memcpy(&prio, q->data + at, 4);
		memcpy(&len, q->data + at + 4, 4);
		at += 8;
		if (prio >= MQ_PRIO_MAX_ || len > q->msgsize || len > q->data_len - at || n >= q->maxmsg)
			goto bad_msg;
		at += len;
		n++;
	}
	return 0;
bad_msg:
	return ct_err(-EBADMSG, "%s: POSIX message queue %s: bad message %llu (from 0)", what, q->name,
		      (unsigned long long)n);
}

/* Check one SysV object: kind, identity, values and messages within the kernel's limits. */
static int validate_ipc(const struct ct_ipc_obj *o, const char *what)
{
	uint64_t at = 0;
	uint32_t len;

	if (o->id < 0 || o->mode > 0777 || (o->kind != CT_IPC_SEM && o->kind != CT_IPC_MSG))
		return ct_err(-EBADMSG, "%s: bad SysV object %d (kind %u, mode %#o)", what, o->id, o->kind,
			      o->mode);
	if (o->kind == CT_IPC_SEM) {
		if (!o->nsems || o->nsems > 32000 || o->data_len != 4ULL * o->nsems)
			return ct_err(-EBADMSG, "%s: semaphore set %d: bad size", what, o->id);
		for (uint32_t i = 0; i < o->nsems; i++)
			if (((const uint32_t *)o->data)[i] > 32767)
				return ct_err(-EBADMSG, "%s: semaphore set %d: bad value", what, o->id);
		return 0;
	}
	while (at < o->data_len) {
		if (o->data_len - at < 12)
			return ct_err(-EBADMSG, "%s: message queue %d: cut message", what, o->id);
		memcpy(&len, o->data + at + 8, 4);
		at += 12;
		if (len > 65536 || o->data_len - at < len)
			return ct_err(-EBADMSG, "%s: message queue %d: bad message length", what, o->id);
		at += len;
	}
	return 0;
}

/* Check the file locks: each names a task's fd on a lockable description. */
static int validate_locks(const struct ct_image *img, const char *what)
{
	for (uint32_t i = 0; i < img->nr_locks; i++) {
		const struct ct_lock *l = &img->locks[i];
		const struct ct_task *t = image_find_task(img, l->pid);
		bool held = false;

		if (l->kind < CT_LOCK_POSIX || l->kind > CT_LOCK_KIND_MAX ||
		    (l->type != CT_LOCK_READ && l->type != CT_LOCK_WRITE) || l->start > l->end ||
		    l->start > INT64_MAX || (l->end != CT_LOCK_EOF && l->end > INT64_MAX))
			return ct_err(-EBADMSG, "%s: lock %u: bad kind, type or range", what, i);
		if (l->file >= img->nr_files || img->files[l->file].kind != CT_FILE_REG)
			return ct_err(-EBADMSG, "%s: lock %u: names no regular file", what, i);
		for (uint32_t j = 0; t && j < t->nr_fds && !held; j++)
			held = t->fds[j].fd == l->fd && t->fds[j].file == l->file;
		if (!held)
			return ct_err(-EBADMSG, "%s: lock %u: pid %d has no fd %d on file %u", what, i,
				      l->pid, l->fd, l->file);
	}
	return 0;
}

/* Check the deleted files and working directories. */
static int validate_deleted(const struct ct_image *img, const char *what)
{
	for (uint32_t i = 0; i < img->nr_deleted; i++) {
		const struct ct_deleted *d = &img->deleted[i];
		bool reg = S_ISREG(d->mode), dir = S_ISDIR(d->mode);

		if (d->what == CT_DELETED_FILE) {
			const struct ct_file *f = d->index < img->nr_files ? &img->files[d->index] : NULL;

			if (!f || f->kind != CT_FILE_REG || !f->deleted || !(reg || dir) ||
			    (dir && f->contents_len) ||
			    f->contents_len > d->size)
				return ct_err(-EBADMSG, "%s: deleted file record %u: bad file, mode or size",
					      what, i);
		} else if (d->what == CT_DELETED_CWD) {
			if (!image_find_task(img, (pid_t)d->index) || !dir || !image_path_is_sane(d->path))
				return ct_err(-EBADMSG, "%s: deleted cwd record %u: bad task, mode or path",
					      what, i);
		} else {
			return ct_err(-EBADMSG, "%s: deleted record %u: unknown kind %u", what, i, d->what);
		}
	}
	return 0;
}

/* Check one mount: kind, parent and bind source earlier, sane paths, known flags, its place. */
static int validate_mount(const struct ct_image *img, uint32_t i, const char *what)
{
	const struct ct_mount *m = &img->mounts[i];
	bool root = m->kind == CT_MNT_ROOT;

	if (!m->kind || m->kind >= CT_MNT_KNOWN || root != (i == 0) || m->flags & ~CT_MNT_FLAGS_KNOWN ||
	    m->unbindable > 1 || m->is_dir > 1)
		return ct_err(-EBADMSG, "%s: mount record %u: bad kind, flags or position", what, i);
	if (!image_path_is_sane(m->mountpoint) || (root && strcmp(m->mountpoint, "/")) ||
	    (i && m->parent >= i) || (m->root && !image_path_is_sane(m->root)))
		return ct_err(-EBADMSG, "%s: mount record %u: bad mount point, parent or root", what, i);
	if (m->kind == CT_MNT_BIND && (m->bind_of >= i || !m->root))
		return ct_err(-EBADMSG, "%s: mount record %u: a bind of no earlier mount", what, i);
	if (m->kind == CT_MNT_EXTERNAL && (!m->ext_id || (m->host_path && !image_path_is_sane(m->host_path))))
		return ct_err(-EBADMSG, "%s: mount record %u: an external mount without a sane id", what, i);
	if (m->kind >= CT_MNT_PROC && m->data && strlen(m->data) >= 1024)
		return ct_err(-EBADMSG, "%s: mount record %u: options too long", what, i);
	if (m->rank >= img->nr_mounts)
		return ct_err(-EBADMSG, "%s: mount record %u: its place in the listing (%u) is past the last mount",
			      what, i, m->rank);
	return 0;
}

/* Check one tmpfs file: of a tmpfs mount, a relative clean path, a known type, links backwards. */
static int validate_tmpfs(const struct ct_image *img, uint32_t i, const char *what)
{
	const struct ct_tmpfs_node *n = &img->tmpfs[i];
	bool reg = S_ISREG(n->mode), lnk = S_ISLNK(n->mode);

	if (n->mount >= img->nr_mounts || img->mounts[n->mount].kind != CT_MNT_TMPFS || !n->path)
		return ct_err(-EBADMSG, "%s: tmpfs record %u: not of a tmpfs mount", what, i);
	if (!rel_path_is_sane(n->path) || (n->mode & ~(S_IFMT | 07777)) ||
	    !(reg || lnk || S_ISDIR(n->mode) || S_ISCHR(n->mode) || S_ISBLK(n->mode) ||
	      S_ISFIFO(n->mode) || S_ISSOCK(n->mode)) || (!n->path[0] && !S_ISDIR(n->mode)))
		return ct_err(-EBADMSG, "%s: tmpfs record %u: bad path or mode", what, i);
	if ((n->data_len && !reg && !lnk) || (reg && n->data_len > n->size) ||
	    (lnk && (!n->data_len || n->data_len >= 4096)) || n->link_to > i ||
	    (n->link_to && (!reg || img->tmpfs[n->link_to - 1].mount != n->mount ||
			    !S_ISREG(img->tmpfs[n->link_to - 1].mode) ||
			    img->tmpfs[n->link_to - 1].link_to || n->data_len)))
		return ct_err(-EBADMSG, "%s: tmpfs record %u: bad contents or link", what, i);
	if (n->mtime_nsec < 0 || n->mtime_nsec >= 1000000000 || n->atime_nsec < 0 ||
	    n->atime_nsec >= 1000000000)
		return ct_err(-EBADMSG, "%s: tmpfs record %u: bad times", what, i);
	return 0;
}

/* The mount tree and the tmpfs contents: only with a root of its own, the root first. */
static int validate_mounts(const struct ct_image *img, const char *what)
{
	bool own = img->shape.flags & CT_SHAPE_OWN_ROOT;
	int ret = 0;

	if (own != (img->nr_mounts > 0) || (img->nr_tmpfs && !own))
		return ct_err(-EBADMSG, "%s: mount records without a root of its own, or none with one", what);
	for (uint32_t i = 0; i < img->nr_mounts && !ret; i++)
		ret = validate_mount(img, i, what);
	for (uint32_t i = 0; i < img->nr_tmpfs && !ret; i++)
		ret = validate_tmpfs(img, i, what);
	return ret;
}

/*
 * The SysV limits: only with an own IPC namespace, all or none, each what
 * its /proc/sys/kernel file takes (digits, the sem file's four separated).
 */
static int validate_ipc_limits(const struct ct_image *img, const char *what)
{
	bool some = false, all = true;

	for (int i = 0; i < CT_IPC_NR_LIMITS; i++) {
		const char *v = img->ipc_limits[i];

		some |= v != NULL;
		all &= v != NULL;
		if (v && (!v[0] || strlen(v) >= 64 || strspn(v, "0123456789 \t") != strlen(v)))
			return ct_err(-EBADMSG, "%s: SysV limit %d: not a number", what, i);
	}
	if (some && (!all || !(img->shape.flags & CT_SHAPE_OWN_IPC)))
		return ct_err(-EBADMSG, "%s: SysV limits without an IPC namespace of its own, or some missing",
			      what);
	return 0;
}

/* Check everything restore relies on. */
int image_validate(const struct ct_image *img, const char *what)
{
	int ret;

	if (img->generation == 0)
		return ct_err(-EBADMSG, "%s: no swap-area generation", what);
	ret = validate_tree(img, what) ?: validate_zombies(img, what);
	if (ret)
		return ret;
	ret = validate_files(img, what) ?: validate_seccomp(img, what) ?: validate_locks(img, what) ?:
	      validate_deleted(img, what) ?: validate_shm(img, what) ?: validate_shape(img, what) ?:
	      validate_mounts(img, what);
	if (ret)
		return ret;
	if (img->nr_ipc && !(img->shape.flags & CT_SHAPE_OWN_IPC))
		return ct_err(-EBADMSG, "%s: SysV objects without an IPC namespace of its own", what);
	ret = validate_ipc_limits(img, what);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < img->nr_ipc; i++) {
		ret = validate_ipc(&img->ipc[i], what);
		if (ret)
			return ret;
	}
	for (uint32_t i = 0; i < img->nr_cgroups; i++) {
		ret = validate_cgroup(img, &img->cgroups[i], what);
		if (ret)
			return ret;
	}
	if ((img->nr_mqueues || img->shape.mq_limits.msg_max) && !(img->shape.flags & CT_SHAPE_OWN_IPC))
		return ct_err(-EBADMSG, "%s: POSIX message queues without an IPC namespace of its own", what);
	for (uint32_t i = 0; i < img->nr_mqueues; i++) {
		ret = validate_mqueue(img, &img->mqueues[i], what);
		if (ret)
			return ret;
	}
	for (uint32_t i = 0; i < img->nr_tasks; i++) {
		ret = validate_task(img, &img->tasks[i], what);
		if (ret)
			return ret;
	}
	return 0;
}
