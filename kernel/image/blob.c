// SPDX-License-Identifier: MIT
/*
 * Encoding and decoding of the metadata blob.  The payload is a sequence of
 * records { u32 tag, u32 len, fields... }; a record may hold nested records.
 * All integers are little-endian as the CPU stores them (x86_64 only).
 */
#define LOG_PREFIX "blob: "
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#include "image/blob.h"
#include "image/record.h"
#include "lib/log.h"
#include "lib/util.h"

/* On-disk record tags: fixed numbers, never reused (apart from enums in memory). */
enum {
	REC_IMAGE = 1,		/* image-wide fields */
	REC_TASK = 2,		/* nested: the records below */
	REC_FILE_V1 = 3,	/* format 1: one open file description, every kind's fields flat */
	REC_SECCOMP = 4,	/* one seccomp filter program */
	REC_FILE = 5,		/* nested: one open file description (record.h: REC_FILE_*) */
	REC_ZOMBIE = 6,		/* one zombie process (an old reader skips it: no zombie restored) */
	REC_SHM = 7,		/* one shared memory object */
	REC_LOCK = 8,		/* one file lock */
	REC_DELETED = 9,	/* a deleted file or working directory */
	REC_SHAPE = 30,		/* namespaces and limits of the container */
	REC_IPC = 31,		/* one SysV semaphore set or message queue */
	REC_MOUNT = 32,		/* one mount of the container's mount namespace */
	REC_TMPFS = 33,		/* one file of one of its tmpfs mounts */
	REC_IPC_LIMITS = 34,	/* the SysV limits of its IPC namespace */
	REC_MQUEUE = 36,	/* one POSIX message queue */
	REC_CGROUP = 37,	/* one cgroup the container made below its own */
	REC_TASK_INFO = 10,
	REC_THREAD = 11,
	REC_MM = 12,
	REC_VMA = 13,
	REC_FD = 14,
	REC_SIGACTIONS = 15,
	REC_SHARED_PENDING = 16,
	REC_CREDS = 17,
	REC_RLIMITS = 18,
	REC_PATHS = 19,
	REC_ITIMERS = 20,
	REC_TIMER = 21,
};

struct blob_hdr {
	char magic[8];
	uint32_t version;
	uint32_t flags;
	uint64_t raw_len;	/* payload bytes after decompression */
	uint64_t xz_len;	/* compressed bytes after the header */
	uint64_t raw_crc64;	/* lzma_crc64 of the payload */
	uint32_t reserved;
	uint32_t hdr_crc32;	/* lzma_crc32 of the bytes above */
};

/* ---- records: one writer and one reader per struct, side by side ---- */

static void write_thread(struct wbuf *w, const struct ct_thread *th)
{
	size_t at = w_begin(w, REC_THREAD);

	w_u32(w, (uint32_t)th->tid);
	w_u32(w, (uint32_t)th->host_tid);
	w_bytes(w, &th->regs, sizeof(th->regs));
	w_bytes(w, th->xstate, th->xstate_len);
	w_u64(w, th->blocked);
	w_bytes(w, th->pending, (uint64_t)th->nr_pending * sizeof(struct ct_siginfo));
	w_u64(w, (uint64_t)(uintptr_t)th->altstack.ss_sp);
	w_u32(w, (uint32_t)th->altstack.ss_flags);
	w_u64(w, th->altstack.ss_size);
	w_u64(w, th->rseq_abi);
	w_u64(w, th->rseq_len);
	w_u32(w, th->rseq_sig);
	w_u64(w, th->robust_list);
	w_u64(w, th->robust_len);
	w_u64(w, th->clear_child_tid);
	w_bytes(w, th->comm, sizeof(th->comm));
	/* appended for seccomp: a reader that predates it reads them as zero (BLOB.md) */
	w_u32(w, th->seccomp_mode);
	w_bytes(w, th->seccomp, (uint64_t)th->nr_seccomp * sizeof(uint32_t));
	w_end(w, at);
}

static void read_thread(struct rbuf *r, struct ct_thread *th)
{
	uint64_t n;

	th->tid = r_i32(r);
	th->host_tid = r_i32(r);
	r_fixed(r, &th->regs, sizeof(th->regs));
	th->xstate = r_bytes(r, &n, 1 << 16);
	th->xstate_len = (uint32_t)n;
	th->blocked = r_u64(r);
	th->pending = r_bytes(r, &n, 4096 * sizeof(struct ct_siginfo));
	if (n % sizeof(struct ct_siginfo))
		*r->err = -EBADMSG;
	th->nr_pending = (uint32_t)(n / sizeof(struct ct_siginfo));
	th->altstack.ss_sp = (void *)(uintptr_t)r_u64(r);
	th->altstack.ss_flags = r_i32(r);
	th->altstack.ss_size = r_u64(r);
	th->rseq_abi = r_u64(r);
	th->rseq_len = r_u64(r);
	th->rseq_sig = r_u32(r);
	th->robust_list = r_u64(r);
	th->robust_len = r_u64(r);
	th->clear_child_tid = r_u64(r);
	r_fixed(r, th->comm, sizeof(th->comm));
	th->comm[sizeof(th->comm) - 1] = '\0';
	th->seccomp_mode = r_u32(r);
	th->seccomp = r_bytes(r, &n, CT_SECCOMP_MAX_PATH / 5 * sizeof(uint32_t));
	if (n % sizeof(uint32_t))
		*r->err = -EBADMSG;
	th->nr_seccomp = (uint32_t)(n / sizeof(uint32_t));
}

static void write_vma(struct wbuf *w, const struct ct_vma *v)
{
	size_t at = w_begin(w, REC_VMA);

	w_u64(w, v->start);
	w_u64(w, v->end);
	w_u64(w, v->pgoff);
	w_u32(w, v->prot);
	w_u32(w, v->flags);
	w_u32(w, v->kind);
	w_u32(w, v->madv);
	w_str(w, v->path);
	w_file_id(w, &v->file);
	w_u32(w, v->shm_key);
	w_u64(w, v->nr_pages);
	w_file_change(w, &v->change);
	w_end(w, at);
}

static void read_vma(struct rbuf *r, struct ct_vma *v)
{
	v->start = r_u64(r);
	v->end = r_u64(r);
	v->pgoff = r_u64(r);
	v->prot = r_u32(r);
	v->flags = r_u32(r);
	v->kind = r_u32(r);
	v->madv = r_u32(r);
	v->path = r_str(r);
	r_file_id(r, &v->file);
	v->shm_key = r_u32(r);
	v->nr_pages = r_u64(r);
	r_file_change(r, &v->change);
}

static void write_mm(struct wbuf *w, const struct ct_mm *mm)
{
	size_t at = w_begin(w, REC_MM);

	w_u64(w, mm->start_code);
	w_u64(w, mm->end_code);
	w_u64(w, mm->start_data);
	w_u64(w, mm->end_data);
	w_u64(w, mm->start_brk);
	w_u64(w, mm->brk);
	w_u64(w, mm->start_stack);
	w_u64(w, mm->arg_start);
	w_u64(w, mm->arg_end);
	w_u64(w, mm->env_start);
	w_u64(w, mm->env_end);
	w_bytes(w, mm->auxv, (uint64_t)mm->auxv_len * sizeof(uint64_t));
	w_str(w, mm->exe_path);
	w_file_id(w, &mm->exe_id);
	w_u32(w, mm->mlockall);
	w_file_change(w, &mm->exe_change);
	w_end(w, at);
	for (uint32_t i = 0; i < mm->nr_vmas; i++)
		write_vma(w, &mm->vmas[i]);
}

static void read_mm(struct rbuf *r, struct ct_mm *mm)
{
	uint64_t n;

	mm->start_code = r_u64(r);
	mm->end_code = r_u64(r);
	mm->start_data = r_u64(r);
	mm->end_data = r_u64(r);
	mm->start_brk = r_u64(r);
	mm->brk = r_u64(r);
	mm->start_stack = r_u64(r);
	mm->arg_start = r_u64(r);
	mm->arg_end = r_u64(r);
	mm->env_start = r_u64(r);
	mm->env_end = r_u64(r);
	mm->auxv = r_bytes(r, &n, 512 * sizeof(uint64_t));
	if (n % sizeof(uint64_t))
		*r->err = -EBADMSG;
	mm->auxv_len = (uint32_t)(n / sizeof(uint64_t));
	mm->exe_path = r_str(r);
	r_file_id(r, &mm->exe_id);
	mm->mlockall = r_u32(r);
	r_file_change(r, &mm->exe_change);
}

static void write_creds(struct wbuf *w, const struct ct_creds *c)
{
	size_t at = w_begin(w, REC_CREDS);

	w_u32(w, c->uid);
	w_u32(w, c->euid);
	w_u32(w, c->suid);
	w_u32(w, c->fsuid);
	w_u32(w, c->gid);
	w_u32(w, c->egid);
	w_u32(w, c->sgid);
	w_u32(w, c->fsgid);
	w_bytes(w, c->groups, (uint64_t)c->nr_groups * sizeof(uint32_t));
	w_u64(w, c->cap_inh);
	w_u64(w, c->cap_prm);
	w_u64(w, c->cap_eff);
	w_u64(w, c->cap_bnd);
	w_u64(w, c->cap_amb);
	w_u32(w, c->securebits);
	w_u32(w, c->no_new_privs);
	w_end(w, at);
}

static void read_creds(struct rbuf *r, struct ct_creds *c)
{
	uint64_t n;

	c->uid = r_u32(r);
	c->euid = r_u32(r);
	c->suid = r_u32(r);
	c->fsuid = r_u32(r);
	c->gid = r_u32(r);
	c->egid = r_u32(r);
	c->sgid = r_u32(r);
	c->fsgid = r_u32(r);
	free(c->groups);
	c->groups = r_bytes(r, &n, 65536 * sizeof(uint32_t));
	if (n % sizeof(uint32_t))
		*r->err = -EBADMSG;
	c->nr_groups = (uint32_t)(n / sizeof(uint32_t));
	c->cap_inh = r_u64(r);
	c->cap_prm = r_u64(r);
	c->cap_eff = r_u64(r);
	c->cap_bnd = r_u64(r);
	c->cap_amb = r_u64(r);
	c->securebits = r_u32(r);
	c->no_new_privs = r_u32(r) != 0;
}

static void write_timer(struct wbuf *w, const struct ct_posix_timer *t)
{
	size_t at = w_begin(w, REC_TIMER);

	w_u32(w, (uint32_t)t->id);
	w_u32(w, (uint32_t)t->clock);
	w_u32(w, (uint32_t)t->notify);
	w_u32(w, (uint32_t)t->signo);
	w_u64(w, t->sigval);
	w_u32(w, (uint32_t)t->notify_tid);
	w_u64(w, (uint64_t)t->interval_nsec);
	w_u64(w, (uint64_t)t->value_nsec);
	w_u32(w, (uint32_t)t->overrun);
	w_end(w, at);
}

static void read_timer(struct rbuf *r, struct ct_posix_timer *t)
{
	t->id = r_i32(r);
	t->clock = r_i32(r);
	t->notify = r_i32(r);
	t->signo = r_i32(r);
	t->sigval = r_u64(r);
	t->notify_tid = r_i32(r);
	t->interval_nsec = (int64_t)r_u64(r);
	t->value_nsec = (int64_t)r_u64(r);
	t->overrun = r_i32(r);
}

/* The scalar per-process fields, in one record. */
static void write_task_info(struct wbuf *w, const struct ct_task *t)
{
	size_t at = w_begin(w, REC_TASK_INFO);

	w_u32(w, (uint32_t)t->pid);
	w_u32(w, (uint32_t)t->ppid);
	w_u32(w, (uint32_t)t->pgid);
	w_u32(w, (uint32_t)t->sid);
	w_u32(w, (uint32_t)t->host_pid);
	w_u32(w, t->nr_nspid);
	w_bytes(w, t->comm, sizeof(t->comm));
	w_u32(w, t->umask);
	w_u32(w, t->personality);
	w_u32(w, (uint32_t)t->nice);
	w_u32(w, (uint32_t)t->sched_policy);
	w_u32(w, (uint32_t)t->sched_priority);
	w_u32(w, (uint32_t)t->exit_signal);
	w_u32(w, (uint32_t)t->pdeath_signal);
	w_u32(w, t->share_parent);
	w_end(w, at);
}

static void read_task_info(struct rbuf *r, struct ct_task *t)
{
	t->pid = r_i32(r);
	t->ppid = r_i32(r);
	t->pgid = r_i32(r);
	t->sid = r_i32(r);
	t->host_pid = r_i32(r);
	t->nr_nspid = r_u32(r);
	r_fixed(r, t->comm, sizeof(t->comm));
	t->comm[sizeof(t->comm) - 1] = '\0';
	t->umask = r_u32(r);
	t->personality = r_u32(r);
	t->nice = r_i32(r);
	t->sched_policy = r_i32(r);
	t->sched_priority = r_i32(r);
	t->exit_signal = r_i32(r);
	t->pdeath_signal = r_i32(r);
	t->share_parent = r_u32(r);
}

static void write_task(struct wbuf *w, const struct ct_task *t)
{
	size_t at = w_begin(w, REC_TASK), sub;

	write_task_info(w, t);
	for (uint32_t i = 0; i < t->nr_threads; i++)
		write_thread(w, &t->threads[i]);
	write_mm(w, &t->mm);
	for (uint32_t i = 0; i < t->nr_fds; i++) {
		sub = w_begin(w, REC_FD);
		w_u32(w, (uint32_t)t->fds[i].fd);
		w_u32(w, t->fds[i].file);
		w_u32(w, t->fds[i].cloexec);
		w_end(w, sub);
	}
	sub = w_begin(w, REC_SIGACTIONS);
	w_put(w, t->sigactions, sizeof(t->sigactions));
	w_end(w, sub);
	sub = w_begin(w, REC_SHARED_PENDING);
	w_bytes(w, t->shared_pending, (uint64_t)t->nr_shared_pending * sizeof(struct ct_siginfo));
	w_end(w, sub);
	write_creds(w, &t->creds);
	sub = w_begin(w, REC_RLIMITS);
	for (int i = 0; i < RLIM_NLIMITS; i++) {
		w_u64(w, t->rlimits[i].rlim_cur);
		w_u64(w, t->rlimits[i].rlim_max);
	}
	w_end(w, sub);
	sub = w_begin(w, REC_PATHS);
	w_str(w, t->cwd);
	w_str(w, t->root);
	w_end(w, sub);
	sub = w_begin(w, REC_ITIMERS);
	for (int i = 0; i < 3; i++) {
		w_u64(w, (uint64_t)t->itimers[i].interval_usec);
		w_u64(w, (uint64_t)t->itimers[i].value_usec);
	}
	w_end(w, sub);
	for (uint32_t i = 0; i < t->nr_timers; i++)
		write_timer(w, &t->timers[i]);
	w_end(w, at);
}

/* The small fixed-size records of a task. */
static void read_task_fixed(struct rbuf *body, uint32_t tag, struct ct_task *t)
{
	uint64_t n;

	switch (tag) {
	case REC_SIGACTIONS:
		r_get(body, t->sigactions, sizeof(t->sigactions));
		break;
	case REC_SHARED_PENDING:
		free(t->shared_pending);
		t->shared_pending = r_bytes(body, &n, 4096 * sizeof(struct ct_siginfo));
		if (n % sizeof(struct ct_siginfo))
			*body->err = -EBADMSG;
		t->nr_shared_pending = (uint32_t)(n / sizeof(struct ct_siginfo));
		break;
	case REC_RLIMITS:
		for (int i = 0; i < RLIM_NLIMITS; i++) {
			t->rlimits[i].rlim_cur = r_u64(body);
			t->rlimits[i].rlim_max = r_u64(body);
		}
		break;
	case REC_PATHS:
		free(t->cwd);
		free(t->root);
		t->cwd = r_str(body);
		t->root = r_str(body);
		break;
	case REC_ITIMERS:
		for (int i = 0; i < 3; i++) {
			t->itimers[i].interval_usec = (int64_t)r_u64(body);
			t->itimers[i].value_usec = (int64_t)r_u64(body);
		}
		break;
	default:
		break;	/* a newer writer's record: skip it */
	}
}

static void read_task(struct rbuf *r, struct ct_task *t)
{
	struct rbuf body;
	uint32_t tag;
	void *p;

	while (r_next(r, &tag, &body)) {
		switch (tag) {
		case REC_TASK_INFO:
			read_task_info(&body, t);
			break;
		case REC_THREAD:
			p = r_push(r, &t->threads, &t->nr_threads, sizeof(*t->threads), 65536);
			if (p)
				read_thread(&body, p);
			break;
		case REC_MM:
			read_mm(&body, &t->mm);
			break;
		case REC_VMA:
			p = r_push(r, &t->mm.vmas, &t->mm.nr_vmas, sizeof(*t->mm.vmas), 1 << 20);
			if (p)
				read_vma(&body, p);
			break;
		case REC_FD:
			p = r_push(r, &t->fds, &t->nr_fds, sizeof(*t->fds), 1 << 20);
			if (p) {
				struct ct_fd *fd = p;

				fd->fd = r_i32(&body);
				fd->file = r_u32(&body);
				fd->cloexec = r_u32(&body) != 0;
			}
			break;
		case REC_CREDS:
			read_creds(&body, &t->creds);
			break;
		case REC_TIMER:
			p = r_push(r, &t->timers, &t->nr_timers, sizeof(*t->timers), 65536);
			if (p)
				read_timer(&body, p);
			break;
		default:
			read_task_fixed(&body, tag, t);
			break;
		}
	}
}

/*
 * One open file description: a FILE record holding the common part, then
 * the records of its kind, written and read by the kind (ct_file_format_of).
 */
static void write_file(struct wbuf *w, const struct ct_file *f)
{
	const struct ct_file_format *k = ct_file_format_of(f->kind);
	size_t at = w_begin(w, REC_FILE), sub;

	sub = w_begin(w, REC_FILE_COMMON);
	w_u32(w, f->kind);
	w_u32(w, f->flags);
	w_u64(w, f->pos);
	w_str(w, f->path);
	w_file_id(w, &f->id);
	w_u32(w, f->outside);
	w_end(w, sub);
	if (k && k->encode)
		k->encode(w, f);
	w_end(w, at);
}

static void read_file(struct rbuf *r, struct ct_file *f)
{
	const struct ct_file_format *k = NULL;
	struct rbuf body;
	uint32_t tag;

	while (r_next(r, &tag, &body)) {
		if (tag == REC_FILE_COMMON && !k) {
			f->kind = r_u32(&body);
			f->flags = r_u32(&body);
			f->pos = r_u64(&body);
			f->path = r_str(&body);
			r_file_id(&body, &f->id);
			f->outside = r_u32(&body);
			k = ct_file_format_of(f->kind);
			if (!k)
				return;	/* the validator names the unknown kind */
		} else if (k && k->decode) {
			k->decode(tag, &body, f);
		}
	}
}

/* One seccomp filter: flags, then its instructions. */
static void write_seccomp(struct wbuf *w, const struct ct_seccomp_filter *f)
{
	size_t at = w_begin(w, REC_SECCOMP);

	w_u32(w, f->flags);
	w_bytes(w, f->insns, (uint64_t)f->len * sizeof(uint64_t));
	w_end(w, at);
}

static void read_seccomp(struct rbuf *r, struct ct_seccomp_filter *f)
{
	uint64_t n;

	f->flags = r_u32(r);
	f->insns = r_bytes(r, &n, CT_BPF_MAXINSNS * sizeof(uint64_t));
	if (n % sizeof(uint64_t))
		*r->err = -EBADMSG;
	f->len = (uint32_t)(n / sizeof(uint64_t));
}

/* One shared memory object: key, kind, size, seals, mode, owner, path, pages stored. */
static void write_shm(struct wbuf *w, const struct ct_shm *o)
{
	size_t at = w_begin(w, REC_SHM);

	w_u32(w, o->key);
	w_u32(w, o->kind);
	w_u64(w, o->size);
	w_u32(w, o->seals);
	w_u32(w, o->mode);
	w_u32(w, o->uid);
	w_u32(w, o->gid);
	w_str(w, o->path);
	w_u64(w, o->nr_pages);
	w_u32(w, (uint32_t)o->sysv_key);
	w_u32(w, (uint32_t)o->sysv_id);
	w_u32(w, o->sysv_flags);
	w_end(w, at);
}

static void read_shm(struct rbuf *r, struct ct_shm *o)
{
	o->key = r_u32(r);
	o->kind = r_u32(r);
	o->size = r_u64(r);
	o->seals = r_u32(r);
	o->mode = r_u32(r);
	o->uid = r_u32(r);
	o->gid = r_u32(r);
	o->path = r_str(r);
	o->nr_pages = r_u64(r);
	o->sysv_key = (int32_t)r_u32(r);
	o->sysv_id = (int32_t)r_u32(r);
	o->sysv_flags = r_u32(r);
}

/* The container's shape (image.h: struct ct_shape_rec). */
static void write_shape(struct wbuf *w, const struct ct_shape_rec *s)
{
	size_t at = w_begin(w, REC_SHAPE);

	w_u32(w, s->flags);
	w_u32(w, s->net);
	w_str(w, s->hostname);
	w_str(w, s->domainname);
	w_u64(w, s->limit_memory);
	w_u64(w, s->limit_pids);
	w_u64(w, s->limit_cpu_millis);
	w_u64(w, (uint64_t)s->mono_ns);
	w_u64(w, (uint64_t)s->boot_ns);
	w_u32(w, s->mq_limits.msg_max);
	w_u32(w, s->mq_limits.msgsize_max);
	w_u32(w, s->mq_limits.queues_max);
	w_u32(w, s->mq_limits.msg_default);
	w_u32(w, s->mq_limits.msgsize_default);
	w_end(w, at);
}

/* A string of at most @size - 1 bytes into @dst. */
static void r_str_into(struct rbuf *r, char *dst, size_t size)
{
	char *v = r_str(r);

	if (v && strlen(v) < size)
		strcpy(dst, v);
	else if (v)
		*r->err = -EBADMSG;
	free(v);
}

static void read_shape(struct rbuf *r, struct ct_shape_rec *s)
{
	s->flags = r_u32(r);
	s->net = r_u32(r);
	r_str_into(r, s->hostname, sizeof(s->hostname));
	r_str_into(r, s->domainname, sizeof(s->domainname));
	s->limit_memory = r_u64(r);
	s->limit_pids = r_u64(r);
	s->limit_cpu_millis = r_u64(r);
	s->mono_ns = (int64_t)r_u64(r);
	s->boot_ns = (int64_t)r_u64(r);
	s->mq_limits.msg_max = r_u32(r);
	s->mq_limits.msgsize_max = r_u32(r);
	s->mq_limits.queues_max = r_u32(r);
	s->mq_limits.msg_default = r_u32(r);
	s->mq_limits.msgsize_default = r_u32(r);
}

/* One SysV object of the container's IPC namespace. */
static void write_ipc(struct wbuf *w, const struct ct_ipc_obj *o)
{
	size_t at = w_begin(w, REC_IPC);

	w_u32(w, o->kind);
	w_u32(w, (uint32_t)o->key);
	w_u32(w, (uint32_t)o->id);
	w_u32(w, o->mode);
	w_u32(w, o->uid);
	w_u32(w, o->gid);
	w_u32(w, o->nsems);
	w_u64(w, o->qbytes);
	w_bytes(w, o->data, o->data_len);
	w_end(w, at);
}

static void read_ipc(struct rbuf *r, struct ct_ipc_obj *o)
{
	o->kind = r_u32(r);
	o->key = (int32_t)r_u32(r);
	o->id = (int32_t)r_u32(r);
	o->mode = r_u32(r);
	o->uid = r_u32(r);
	o->gid = r_u32(r);
	o->nsems = r_u32(r);
	o->qbytes = r_u64(r);
	o->data = r_bytes(r, &o->data_len, 64ULL << 20);
}

/* One mount of the container's tree. */
static void write_mount(struct wbuf *w, const struct ct_mount *m)
{
	size_t at = w_begin(w, REC_MOUNT);

	w_u32(w, m->kind);
	w_u32(w, m->parent);
	w_u32(w, m->flags);
	w_u32(w, m->unbindable);
	w_u32(w, m->is_dir);
	w_u32(w, m->bind_of);
	w_str(w, m->mountpoint);
	w_str(w, m->fstype);
	w_str(w, m->source);
	w_str(w, m->data);
	w_str(w, m->root);
	w_str(w, m->ext_id);
	w_str(w, m->host_path);
	w_u32(w, m->rank);
	w_end(w, at);
}

static void read_mount(struct rbuf *r, struct ct_mount *m)
{
	m->kind = r_u32(r);
	m->parent = r_u32(r);
	m->flags = r_u32(r);
	m->unbindable = r_u32(r);
	m->is_dir = r_u32(r);
	m->bind_of = r_u32(r);
	m->mountpoint = r_str(r);
	m->fstype = r_str(r);
	m->source = r_str(r);
	m->data = r_str(r);
	m->root = r_str(r);
	m->ext_id = r_str(r);
	m->host_path = r_str(r);
	m->rank = r_u32(r);
}

/* One file of a tmpfs of the container. */
static void write_tmpfs(struct wbuf *w, const struct ct_tmpfs_node *n)
{
	size_t at = w_begin(w, REC_TMPFS);

	w_u32(w, n->mount);
	w_bytes(w, n->path, strlen(n->path) + 1);	/* "" (the mount's root) is not absent */
	w_u32(w, n->mode);
	w_u32(w, n->uid);
	w_u32(w, n->gid);
	w_u64(w, n->rdev);
	w_u64(w, (uint64_t)n->mtime_sec);
	w_u64(w, (uint64_t)n->mtime_nsec);
	w_u32(w, n->link_to);
	w_u64(w, n->size);
	w_bytes(w, n->data, n->data_len);
	w_u64(w, (uint64_t)n->atime_sec);
	w_u64(w, (uint64_t)n->atime_nsec);
	w_end(w, at);
}

static void read_tmpfs(struct rbuf *r, struct ct_tmpfs_node *n)
{
	n->mount = r_u32(r);
	n->path = r_str(r);
	n->mode = r_u32(r);
	n->uid = r_u32(r);
	n->gid = r_u32(r);
	n->rdev = r_u64(r);
	n->mtime_sec = (int64_t)r_u64(r);
	n->mtime_nsec = (int64_t)r_u64(r);
	n->link_to = r_u32(r);
	n->size = r_u64(r);
	n->data = r_bytes(r, &n->data_len, 1ULL << 30);
	n->atime_sec = (int64_t)r_u64(r);
	n->atime_nsec = (int64_t)r_u64(r);
}

/* The SysV limits of the container's IPC namespace, if recorded. */
static void write_ipc_limits(struct wbuf *w, char *const *limits)
{
	size_t at;

	if (!limits[0])
		return;
	at = w_begin(w, REC_IPC_LIMITS);
	for (int i = 0; i < CT_IPC_NR_LIMITS; i++)
		w_str(w, limits[i]);
	w_end(w, at);
}

static void read_ipc_limits(struct rbuf *r, char **limits)
{
	for (int i = 0; i < CT_IPC_NR_LIMITS; i++) {
		free(limits[i]);	/* a second record: the last counts */
		limits[i] = r_str(r);
	}
}

/* One POSIX message queue with its messages. */
static void write_mqueue(struct wbuf *w, const struct ct_mqueue *q)
{
	size_t at = w_begin(w, REC_MQUEUE);

	w_str(w, q->name);
	w_u32(w, q->mode);
	w_u32(w, q->uid);
	w_u32(w, q->gid);
	w_u64(w, q->maxmsg);
	w_u64(w, q->msgsize);
	w_bytes(w, q->data, q->data_len);
	w_end(w, at);
}

static void read_mqueue(struct rbuf *r, struct ct_mqueue *q)
{
	q->name = r_str(r);
	q->mode = r_u32(r);
	q->uid = r_u32(r);
	q->gid = r_u32(r);
	q->maxmsg = r_u64(r);
	q->msgsize = r_u64(r);
	q->data = r_bytes(r, &q->data_len, 1ULL << 30);
}

/* A cgroup below the container's own: hierarchy, path, limits, member processes. */
static void write_cgroup(struct wbuf *w, const struct ct_cgroup_rec *g)
{
	size_t at = w_begin(w, REC_CGROUP);

	w_u32(w, g->hier);
	w_str(w, g->path);
	w_u64(w, g->limit_memory);
	w_u64(w, g->limit_pids);
	w_u64(w, g->limit_cpu_millis);
	w_bytes(w, g->members, sizeof(*g->members) * (uint64_t)g->nr_members);
	w_end(w, at);
}

static void read_cgroup(struct rbuf *r, struct ct_cgroup_rec *g)
{
	uint64_t n = 0;

	g->hier = r_u32(r);
	g->path = r_str(r);
	g->limit_memory = r_u64(r);
	g->limit_pids = r_u64(r);
	g->limit_cpu_millis = r_u64(r);
	g->members = r_bytes(r, &n, 4ULL << 20);
	if (n % sizeof(*g->members))
		*r->err = -EBADMSG;
	g->nr_members = (uint32_t)(n / sizeof(*g->members));
}

/* A zombie: who it is, and what its parent's wait will read. */
static void write_zombie(struct wbuf *w, const struct ct_zombie *z)
{
	size_t at = w_begin(w, REC_ZOMBIE);

	w_u32(w, (uint32_t)z->pid);
	w_u32(w, (uint32_t)z->ppid);
	w_u32(w, (uint32_t)z->pgid);
	w_u32(w, (uint32_t)z->sid);
	w_u32(w, (uint32_t)z->host_pid);
	w_u32(w, (uint32_t)z->exit_signal);
	w_u32(w, z->status);
	w_bytes(w, z->comm, sizeof(z->comm));
	w_end(w, at);
}

static void read_zombie(struct rbuf *r, struct ct_zombie *z)
{
	z->pid = r_i32(r);
	z->ppid = r_i32(r);
	z->pgid = r_i32(r);
	z->sid = r_i32(r);
	z->host_pid = r_i32(r);
	z->exit_signal = r_i32(r);
	z->status = r_u32(r);
	r_fixed(r, z->comm, sizeof(z->comm));
	z->comm[sizeof(z->comm) - 1] = '\0';
}

/* One file lock: kind, type, range, the task and fd that take it again, its description. */
static void write_lock(struct wbuf *w, const struct ct_lock *l)
{
	size_t at = w_begin(w, REC_LOCK);

	w_u32(w, l->kind);
	w_u32(w, l->type);
	w_u64(w, l->start);
	w_u64(w, l->end);
	w_u32(w, (uint32_t)l->pid);
	w_u32(w, (uint32_t)l->fd);
	w_u32(w, l->file);
	w_end(w, at);
}

static void read_lock(struct rbuf *r, struct ct_lock *l)
{
	l->kind = r_u32(r);
	l->type = r_u32(r);
	l->start = r_u64(r);
	l->end = r_u64(r);
	l->pid = r_i32(r);
	l->fd = r_i32(r);
	l->file = r_u32(r);
}

/* A deleted file or cwd: what, index, mode, uid, gid, size, path. */
static void write_deleted(struct wbuf *w, const struct ct_deleted *d)
{
	size_t at = w_begin(w, REC_DELETED);

	w_u32(w, d->what);
	w_u32(w, d->index);
	w_u32(w, d->mode);
	w_u32(w, d->uid);
	w_u32(w, d->gid);
	w_u64(w, d->size);
	w_str(w, d->path);
	w_end(w, at);
}

static void read_deleted(struct rbuf *r, struct ct_deleted *d)
{
	d->what = r_u32(r);
	d->index = r_u32(r);
	d->mode = r_u32(r);
	d->uid = r_u32(r);
	d->gid = r_u32(r);
	d->size = r_u64(r);
	d->path = r_str(r);
}

static void write_image(struct wbuf *w, const struct ct_image *img)
{
	size_t at = w_begin(w, REC_IMAGE);

	w_str(w, img->name);
	w_u32(w, img->generation);
	w_u32(w, img->own_pidns);
	w_u32(w, img->own_mntns);
	for (int i = 0; i < 8; i++)
		w_u64(w, img->ns_ino[i]);
	w_u64(w, (uint64_t)img->dump_time_ns);
	w_u64(w, (uint64_t)img->dump_mono_ns);
	w_end(w, at);
	write_shape(w, &img->shape);
	for (uint32_t i = 0; i < img->nr_mounts; i++)
		write_mount(w, &img->mounts[i]);
	for (uint32_t i = 0; i < img->nr_tmpfs; i++)
		write_tmpfs(w, &img->tmpfs[i]);
	for (uint32_t i = 0; i < img->nr_ipc; i++)
		write_ipc(w, &img->ipc[i]);
	write_ipc_limits(w, img->ipc_limits);
	for (uint32_t i = 0; i < img->nr_mqueues; i++)
		write_mqueue(w, &img->mqueues[i]);
	for (uint32_t i = 0; i < img->nr_cgroups; i++)
		write_cgroup(w, &img->cgroups[i]);
	for (uint32_t i = 0; i < img->nr_files; i++)
		write_file(w, &img->files[i]);
	for (uint32_t i = 0; i < img->nr_seccomp; i++)
		write_seccomp(w, &img->seccomp[i]);
	for (uint32_t i = 0; i < img->nr_shm; i++)
		write_shm(w, &img->shm[i]);
	for (uint32_t i = 0; i < img->nr_tasks; i++)
		write_task(w, &img->tasks[i]);
	for (uint32_t i = 0; i < img->nr_zombies; i++)
		write_zombie(w, &img->zombies[i]);
	for (uint32_t i = 0; i < img->nr_locks; i++)
		write_lock(w, &img->locks[i]);
	for (uint32_t i = 0; i < img->nr_deleted; i++)
		write_deleted(w, &img->deleted[i]);
}

static void read_image_info(struct rbuf *r, struct ct_image *img)
{
	r_str_into(r, img->name, sizeof(img->name));
	img->generation = r_u32(r);
	img->own_pidns = r_u32(r) != 0;
	img->own_mntns = r_u32(r) != 0;
	for (int i = 0; i < 8; i++)
		img->ns_ino[i] = r_u64(r);
	img->dump_time_ns = (int64_t)r_u64(r);
	img->dump_mono_ns = (int64_t)r_u64(r);
}

static void read_image(struct rbuf *r, struct ct_image *img)
{
	struct rbuf body;
	uint32_t tag;
	void *p;

	while (r_next(r, &tag, &body)) {
		switch (tag) {
		case REC_IMAGE:
			read_image_info(&body, img);
			break;
		case REC_FILE:
			p = r_push(r, &img->files, &img->nr_files, sizeof(*img->files), 1 << 20);
			if (p)
				read_file(&body, p);
			break;
		case REC_SHAPE:
			read_shape(&body, &img->shape);
			break;
		case REC_IPC:
			p = r_push(r, &img->ipc, &img->nr_ipc, sizeof(*img->ipc), 65536);
			if (p)
				read_ipc(&body, p);
			break;
		case REC_IPC_LIMITS:
			read_ipc_limits(&body, img->ipc_limits);
			break;
		case REC_MOUNT:
			p = r_push(r, &img->mounts, &img->nr_mounts, sizeof(*img->mounts), 4096);
			if (p)
				read_mount(&body, p);
			break;
		case REC_TMPFS:
			p = r_push(r, &img->tmpfs, &img->nr_tmpfs, sizeof(*img->tmpfs), 1 << 20);
			if (p)
				read_tmpfs(&body, p);
			break;
		case REC_MQUEUE:
			p = r_push(r, &img->mqueues, &img->nr_mqueues, sizeof(*img->mqueues), 65536);
			if (p)
				read_mqueue(&body, p);
			break;
		case REC_CGROUP:
			p = r_push(r, &img->cgroups, &img->nr_cgroups, sizeof(*img->cgroups), 4096);
			if (p)
				read_cgroup(&body, p);
			break;
		case REC_FILE_V1:
			p = r_push(r, &img->files, &img->nr_files, sizeof(*img->files), 1 << 20);
			if (p)
				blob_read_file_v1(&body, p);
			break;
		case REC_SECCOMP:
			p = r_push(r, &img->seccomp, &img->nr_seccomp, sizeof(*img->seccomp), 65536);
			if (p)
				read_seccomp(&body, p);
			break;
		case REC_SHM:
			p = r_push(r, &img->shm, &img->nr_shm, sizeof(*img->shm), 65536);
			if (p)
				read_shm(&body, p);
			break;
		case REC_TASK:
			p = r_push(r, &img->tasks, &img->nr_tasks, sizeof(*img->tasks), 65536);
			if (p)
				read_task(&body, p);
			break;
		case REC_ZOMBIE:
			p = r_push(r, &img->zombies, &img->nr_zombies, sizeof(*img->zombies), 65536);
			if (p)
				read_zombie(&body, p);
			break;
		case REC_LOCK:
			p = r_push(r, &img->locks, &img->nr_locks, sizeof(*img->locks), 1 << 20);
			if (p)
				read_lock(&body, p);
			break;
		case REC_DELETED:
			p = r_push(r, &img->deleted, &img->nr_deleted, sizeof(*img->deleted), 1 << 20);
			if (p)
				read_deleted(&body, p);
			break;
		default:
			break;
		}
	}
}

/* ---- whole blob ---- */

/*
 * The xz preset of the blob.  The payload is small and very repetitive (a
 * 100-process container: 1.1 MB raw, 38 KB at preset 0, 36 KB at preset
 * 6), and it is written while the container is frozen: preset 6 took
 * 120-180 ms there, preset 0 takes 8-13 ms.  Any reader reads any preset.
 */
#define BLOB_XZ_PRESET 0

/* Compress @raw and prepend the header. */
static int pack(const uint8_t *raw, size_t raw_len, uint8_t **out, size_t *out_len)
{
	size_t bound = lzma_stream_buffer_bound(raw_len), xz_len = 0;
	struct blob_hdr hdr = { 0 };
	uint8_t *buf;
	lzma_ret lr;

	buf = xmalloc(sizeof(hdr) + bound);
	if (!buf)
		return -ENOMEM;
	lr = lzma_easy_buffer_encode(BLOB_XZ_PRESET, LZMA_CHECK_NONE, NULL, raw, raw_len,
				     buf + sizeof(hdr), &xz_len, bound);
	if (lr != LZMA_OK) {
		free(buf);
		return ct_err(-EIO, "metadata: compression failed (lzma error %d)", lr);
	}
	memcpy(hdr.magic, BLOB_MAGIC, 8);
	hdr.version = BLOB_VERSION;
	hdr.raw_len = raw_len;
	hdr.xz_len = xz_len;
	hdr.raw_crc64 = lzma_crc64(raw, raw_len, 0);
	hdr.hdr_crc32 = lzma_crc32((const uint8_t *)&hdr, offsetof(struct blob_hdr, hdr_crc32), 0);
	memcpy(buf, &hdr, sizeof(hdr));
	*out = buf;
	*out_len = sizeof(hdr) + xz_len;
	return 0;
}

/* Encode the image into a compressed blob. */
int blob_encode(const struct ct_image *img, uint8_t **out, size_t *out_len)
{
	struct wbuf w = { 0 };
	int ret;

	write_image(&w, img);
	if (w.err) {
		free(w.data);
		return w.err;
	}
	ret = pack(w.data, w.len, out, out_len);
	free(w.data);
	return ret;
}

/* Check the header and inflate the payload. */
static int unpack(const uint8_t *buf, size_t len, const char *what, uint8_t **raw, size_t *raw_len)
{
	uint64_t memlimit = UINT64_MAX;
	size_t in_pos = 0, out_pos = 0;
	struct blob_hdr hdr;
	uint8_t *data;
	lzma_ret lr;

	if (len < sizeof(hdr))
		return ct_err(-EBADMSG, "%s: truncated (%zu bytes)", what, len);
	memcpy(&hdr, buf, sizeof(hdr));
	if (memcmp(hdr.magic, BLOB_MAGIC, 8))
		return ct_err(-EBADMSG, "%s: not a ctswap checkpoint (bad magic)", what);
	if (hdr.hdr_crc32 != lzma_crc32(buf, offsetof(struct blob_hdr, hdr_crc32), 0))
		return ct_err(-EBADMSG, "%s: header checksum mismatch", what);
	if (hdr.version > BLOB_VERSION)
		return ct_err(-EPROTONOSUPPORT, "%s: format version %u is newer than this ctswap (%u)",
			      what, hdr.version, BLOB_VERSION);
	if (hdr.version == 0)
		return ct_err(-EBADMSG, "%s: format version 0 is invalid", what);
	if (hdr.xz_len != len - sizeof(hdr))
		return ct_err(-EBADMSG, "%s: size %zu does not match its header", what, len);
	if (hdr.raw_len > BLOB_MAX_RAW)
		return ct_err(-EFBIG, "%s: payload of %llu bytes is too large", what,
			      (unsigned long long)hdr.raw_len);
	data = xmalloc(hdr.raw_len);
	if (!data)
		return -ENOMEM;
	lr = lzma_stream_buffer_decode(&memlimit, 0, NULL, buf + sizeof(hdr), &in_pos,
				       hdr.xz_len, data, &out_pos, hdr.raw_len);
	if (lr != LZMA_OK || out_pos != hdr.raw_len || in_pos != hdr.xz_len) {
		free(data);
		return ct_err(-EBADMSG, "%s: corrupt compressed data (lzma error %d)", what, lr);
	}
	if (lzma_crc64(data, out_pos, 0) != hdr.raw_crc64) {
		free(data);
		return ct_err(-EBADMSG, "%s: payload checksum mismatch", what);
	}
	*raw = data;
	*raw_len = out_pos;
	return 0;
}

/* Decode and validate a blob in memory. */
int blob_decode(const uint8_t *buf, size_t len, const char *what, struct ct_image **out)
{
	struct ct_image *img;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int ret, err = 0;
	struct rbuf r;

	ret = unpack(buf, len, what, &raw, &raw_len);
	if (ret)
		return ret;
	img = xzalloc(sizeof(*img));
	if (!img) {
		free(raw);
		return -ENOMEM;
	}
	r = (struct rbuf){ .p = raw, .len = raw_len, .err = &err };
	read_image(&r, img);
	free(raw);
	if (err) {
		image_free(img);
		return ct_err(err, "%s: malformed record (%s)", what, strerror(-err));
	}
	img->version = ((const struct blob_hdr *)buf)->version;
	ret = image_validate(img, what);
	if (ret) {
		image_free(img);
		return ret;
	}
	*out = img;
	return 0;
}

/* Write the image to @path atomically. */
int blob_write(const char *path, const struct ct_image *img, uint64_t *bytes)
{
	uint8_t *buf;
	size_t len;
	int ret;

	ret = blob_encode(img, &buf, &len);
	if (ret)
		return ret;
	ret = write_file_atomic(path, buf, len, 0600);
	free(buf);
	if (ret)
		return ct_err(ret, "%s: cannot write checkpoint: %s", path, strerror(-ret));
	if (bytes)
		*bytes = len;
	return 0;
}

/* Read and decode @path. */
int blob_read(const char *path, struct ct_image **img)
{
	char *buf;
	size_t len;
	int ret;

	ret = read_whole_file(path, &buf, &len);
	if (ret)
		return ct_err(ret, "%s: cannot read checkpoint: %s", path, strerror(-ret));
	ret = blob_decode((const uint8_t *)buf, len, path, img);
	free(buf);
	return ret;
}
