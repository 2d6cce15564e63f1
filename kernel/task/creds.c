// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Credentials: uids, gids, supplementary groups, capabilities, securebits
 * and no_new_privs.
 *
 * Dump reads /proc/PID/status and asks the task for its securebits.
 * Restore runs in the task by injection, in an order that keeps the
 * privilege each step needs until the last one: securebits that keep
 * capabilities across the uid change first, then groups, bounding set,
 * gids, uids, an intermediate capability set still holding CAP_SETPCAP
 * (for the ambient set and the securebits), and the recorded set last.
 * Nothing is ever granted beyond what was recorded.
 *
 * Credentials are per thread in the kernel: call restore_task_creds() on
 * every thread of the process (it acts on the thread tc->inj is on).
 */
#define LOG_PREFIX "creds: "
#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/task.h"

#define CREDS_MAX_GROUPS 65536

/* Parse "Name:\tv1\tv2..." into up to @nr uint32 values. */
static int status_u32s(const char *buf, const char *name, uint32_t *v, int nr)
{
	const char *p = strstr(buf, name);
	char *end;

	if (!p)
		return -ENOENT;
	p += strlen(name);
	for (int i = 0; i < nr; i++) {
		v[i] = (uint32_t)strtoul(p, &end, 10);
		if (end == p)
			return -EINVAL;
		p = end;
	}
	return 0;
}

/* Parse a hexadecimal capability mask line. */
static int status_cap(const char *buf, const char *name, uint64_t *v)
{
	const char *p = strstr(buf, name);

	if (!p)
		return -ENOENT;
	*v = strtoull(p + strlen(name), NULL, 16);
	return 0;
}

/* Parse the Groups: line. */
static int status_groups(const char *buf, struct ct_creds *c)
{
	const char *p = strstr(buf, "\nGroups:");
	size_t cap = 0;
	char *end;

	free(c->groups);
	c->groups = NULL;
	c->nr_groups = 0;
	if (!p)
		return -ENOENT;
	p += 8;
	for (;;) {
		unsigned long g;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || !*p)
			return 0;
		g = strtoul(p, &end, 10);
		if (end == p)
			return -EINVAL;
		p = end;
		if (xgrow(&c->groups, &cap, c->nr_groups + 1, sizeof(*c->groups)))
			return -ENOMEM;
		c->groups[c->nr_groups++] = (uint32_t)g;
	}
}

/* Record the credentials of the task (as its thread tc->inj->tid has them). */
/* Queue the read of the securebits (tc->reads). */
int dump_task_creds_queue(struct task_ctx *tc)
{
	return dump_read_add(tc, &tc->reads->securebits, __NR_prctl, PR_GET_SECUREBITS, 0, 0, 0);
}

int dump_task_creds(struct task_ctx *tc, struct ct_task *t)
{
	struct ct_creds *c = &t->creds;
	pid_t tid = tc->inj->tid;
	uint32_t ids[4], nnp = 0;
	char path[64], *buf;
	long sb;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	/* credentials do not change while the process is stopped: the text read ahead will do */
	ret = tc->status ? ((buf = xstrdup(tc->status)) ? 0 : -ENOMEM) : read_whole_file(path, &buf, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read %s", tid, path);
	ret = status_u32s(buf, "\nUid:", ids, 4);
	if (!ret) {
		c->uid = ids[0], c->euid = ids[1], c->suid = ids[2], c->fsuid = ids[3];
		ret = status_u32s(buf, "\nGid:", ids, 4);
	}
	if (!ret) {
		c->gid = ids[0], c->egid = ids[1], c->sgid = ids[2], c->fsgid = ids[3];
		ret = status_groups(buf, c);
	}
	if (!ret)
		ret = status_cap(buf, "\nCapInh:", &c->cap_inh) ?: status_cap(buf, "\nCapPrm:", &c->cap_prm) ?:
		      status_cap(buf, "\nCapEff:", &c->cap_eff) ?: status_cap(buf, "\nCapBnd:", &c->cap_bnd) ?:
		      status_cap(buf, "\nCapAmb:", &c->cap_amb) ?: status_u32s(buf, "\nNoNewPrivs:", &nnp, 1);
	free(buf);
	if (ret)
		return ct_err(ret, "pid %d: cannot parse credentials in %s", tid, path);
	c->no_new_privs = nnp;
	sb = tc->reads ? dump_read_take(tc, &tc->reads->securebits, 0, NULL) :
	     inj_syscall(tc->inj, __NR_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0, 0);
	if (sb < 0)
		return ct_err((int)sb, "pid %d: cannot read securebits: %s", tid, strerror((int)-sb));
	c->securebits = (uint32_t)sb;
	return 0;
}

/*
 * The restore's calls are queued into one injected batch (inject.h), each
 * tagged with what to name should it fail, and run in one round trip.
 */
static int creds_queue(struct task_ctx *tc, const char *what, long nr, unsigned long a1,
		       unsigned long a2, unsigned long a3, unsigned long a4)
{
	return inj_batch_add(tc->batch, what, 0, nr, a1, a2, a3, a4, 0, 0) < 0 ? -E2BIG : 0;
}

/* Queue capset(2) with three 64-bit masks. */
static int creds_queue_capset(struct task_ctx *tc, uint64_t inh, uint64_t prm, uint64_t eff)
{
	struct {
		struct __user_cap_header_struct hdr;
		struct __user_cap_data_struct data[2];
	} cs = { .hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 } };
	unsigned long addr;

	for (int i = 0; i < 2; i++) {
		cs.data[i].effective = (uint32_t)(eff >> (32 * i));
		cs.data[i].permitted = (uint32_t)(prm >> (32 * i));
		cs.data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	addr = inj_batch_put(tc->batch, &cs, sizeof(cs));
	if (!addr)
		return -E2BIG;
	return creds_queue(tc, "capset", __NR_capset, addr, addr + sizeof(cs.hdr), 0, 0);
}

/* Highest capability number this kernel knows (read once: it does not change while we run). */
static int cap_last(void)
{
	static int last = -1;	/* restoring threads (restore/par.c) may ask at once */
	int now = __atomic_load_n(&last, __ATOMIC_RELAXED);
	char buf[16];

	if (now >= 0)
		return now;
	if (read_small_file("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)))
		return 40;
	now = atoi(buf);
	__atomic_store_n(&last, now, __ATOMIC_RELAXED);
	return now;
}

/*
 * Queue setfsuid/setfsgid @id, then the same call asking (-1): it returns
 * the old value, not an error, so creds_check_fs() compares the answer.
 */
static int creds_queue_fs(struct task_ctx *tc, long nr, uint32_t id, const char *what)
{
	return creds_queue(tc, what, nr, id, 0, 0, 0) ?:
	       creds_queue(tc, what, nr, (unsigned long)-1, 0, 0, 0);
}

/* After the run: did every setfsuid/setfsgid among entries [@first, @end) take? */
static int creds_check_fs(struct task_ctx *tc, size_t first, size_t end)
{
	const struct inj_batch *b = tc->batch;

	for (size_t i = first; i + 1 < end; i++) {
		uint32_t nr = (uint32_t)b->calls[i].nr_flags;

		if ((nr != __NR_setfsuid && nr != __NR_setfsgid) || b->calls[i + 1].a[0] != (uint64_t)-1 ||
		    (uint32_t)b->calls[i + 1].nr_flags != nr)
			continue;
		if (b->calls[i + 1].ret != (int64_t)b->calls[i].a[0])
			return ct_err(-EPERM, "pid %d: credentials: %s %lu refused (still %ld)",
				      tc->inj->tid, (const char *)b->tags[i], (unsigned long)b->calls[i].a[0],
				      (long)b->calls[i + 1].ret);
		i++;
	}
	return 0;
}

int creds_bounding_of(pid_t tid, uint64_t *bnd)
{
	char path[64], *buf;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	ret = read_whole_file(path, &buf, NULL);
	if (!ret) {
		ret = status_cap(buf, "\nCapBnd:", bnd);
		free(buf);
	}
	return ret ? ct_err(-EIO, "pid %d: cannot read its bounding set", tid) : 0;
}

/* Queue dropping from the bounding set every capability the thread holds there but the dump did not. */
static int creds_queue_bounding(struct task_ctx *tc, uint64_t bnd)
{
	uint64_t held;
	int last = cap_last(), ret = 0;

	/* what the thread holds now, read from outside: no injected PR_CAPBSET_READ each */
	if (tc->cap_bnd_now)
		held = *tc->cap_bnd_now;
	else
		ret = creds_bounding_of(tc->inj->tid, &held);
	if (ret)
		return ret;
	for (int cap = 0; cap <= last && cap < 64 && !ret; cap++)
		if ((held & (1ULL << cap)) && !(bnd & (1ULL << cap)))
			ret = creds_queue(tc, "drop from the bounding set", __NR_prctl, PR_CAPBSET_DROP,
					  cap, 0, 0);
	return ret;
}

/* Queue the steps of restore_task_creds(), in their order (see the top of this file). */
static int creds_queue_all(struct task_ctx *tc, const struct ct_creds *c)
{
	const uint64_t setpcap = 1ULL << CAP_SETPCAP;
	unsigned long groups = 0;
	int ret;

	if (c->nr_groups) {
		groups = inj_batch_put(tc->batch, c->groups, c->nr_groups * sizeof(uint32_t));
		if (!groups)
			return -E2BIG;
	}
	/* keep capabilities (and the effective set) across the uid change */
	ret = creds_queue(tc, "keep capabilities", __NR_prctl, PR_SET_SECUREBITS,
			  SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP, 0, 0) ?:
	      creds_queue(tc, "setgroups", __NR_setgroups, c->nr_groups, groups, 0, 0) ?:
	      creds_queue_bounding(tc, c->cap_bnd) ?:
	      creds_queue(tc, "setresgid", __NR_setresgid, c->gid, c->egid, c->sgid, 0) ?:
	      creds_queue_fs(tc, __NR_setfsgid, c->fsgid, "setfsgid") ?:
	      creds_queue(tc, "setresuid", __NR_setresuid, c->uid, c->euid, c->suid, 0) ?:
	      creds_queue_fs(tc, __NR_setfsuid, c->fsuid, "setfsuid") ?:
	      /* CAP_SETPCAP stays until the ambient set and securebits are in place */
	      creds_queue_capset(tc, c->cap_inh, c->cap_prm | setpcap, c->cap_eff | setpcap) ?:
	      creds_queue(tc, "clear the ambient set", __NR_prctl, PR_CAP_AMBIENT,
			  PR_CAP_AMBIENT_CLEAR_ALL, 0, 0);
	for (int cap = 0; cap < 64 && !ret; cap++)
		if (c->cap_amb & (1ULL << cap))
			ret = creds_queue(tc, "raise an ambient capability", __NR_prctl, PR_CAP_AMBIENT,
					  PR_CAP_AMBIENT_RAISE, cap, 0);
	if (!ret)
		ret = creds_queue(tc, "set securebits", __NR_prctl, PR_SET_SECUREBITS, c->securebits, 0, 0);
	if (!ret && c->no_new_privs)
		ret = creds_queue(tc, "set no_new_privs", __NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0);
	return ret ?: creds_queue_capset(tc, c->cap_inh, c->cap_prm, c->cap_eff);
}

int restore_task_creds_queue(struct task_ctx *tc, const struct ct_task *t)
{
	const struct ct_creds *c = &t->creds;
	int ret;

	if (c->nr_groups > CREDS_MAX_GROUPS)
		return ct_err(-E2BIG, "pid %d: %u supplementary groups do not fit", t->pid, c->nr_groups);
	ret = creds_queue_all(tc, c);
	if (ret == -E2BIG)
		return ct_err(ret, "pid %d: credentials do not fit in an injected batch", t->pid);
	return ret;
}

int restore_task_creds_check(struct task_ctx *tc, size_t first, size_t end)
{
	const struct inj_batch *b = tc->batch;
	long ret = inj_batch_failure_in(b, first, end);

	if (ret)
		return ct_err((int)ret, "pid %d: credentials: %s: %s", tc->inj->tid,
			      (const char *)b->tags[b->failed], strerror((int)-ret));
	return b->failed < end ? 0 : creds_check_fs(tc, first, end);
}

/* Give the thread the recorded credentials: one injected batch. */
int restore_task_creds(struct task_ctx *tc, const struct ct_task *t)
{
	inj_batch_reset(tc->batch);
	return restore_task_creds_queue(tc, t) ?: task_batch_run(tc) ?:
	       restore_task_creds_check(tc, 0, tc->batch->nr);
}
