// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * The rest of a task's state: rlimits, umask, personality, comm, nice,
 * scheduling, cwd and root, itimers, POSIX timers, exit and parent-death
 * signals; per thread the robust futex list and clear_child_tid.
 *
 * Dump reads what /proc and ordinary calls show from outside and injects
 * the rest (getitimer, timer_gettime, PR_GET_PDEATHSIG, PR_GET_TID_ADDRESS).
 * Restore injects the setters into the task itself.  A hard rlimit above
 * what the restorer may grant (CAP_SYS_RESOURCE can be missing: see
 * doc/KERNEL-FACTS.md) is restored as high as allowed, with a warning.
 */
#define LOG_PREFIX "misc: "
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/task.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
#define MISC_SIGEV_THREAD_ID 4
/* Without PR_TIMER_CREATE_RESTORE_IDS: how many filler timers we accept to reach an id. */
#define MISC_TIMER_FILLERS 4096

static const char *const rlimit_names[RLIM_NLIMITS] = {
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
	"RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
	"RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

/* The kernel's struct itimerval / itimerspec, as injected calls read and write them. */
struct misc_timeval { int64_t interval_sec, interval_sub, value_sec, value_sub; };

/* The kernel's struct sigevent on x86_64 (64 bytes). */
struct misc_sigevent {
	uint64_t value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

/* Inject a call, turning a raw -errno into a recorded error naming @what. */
static int misc_call(struct task_ctx *tc, long *res, const char *what, long nr, unsigned long a1,
		     unsigned long a2, unsigned long a3, unsigned long a4)
{
	long ret = inj_syscall(tc->inj, nr, a1, a2, a3, a4, 0, 0);

	if (res)
		*res = ret;
	if (ret < 0 && ret > -4096)
		return ct_err((int)ret, "pid %d: %s: %s", tc->inj->tid, what, strerror((int)-ret));
	return 0;
}

/* Read @len bytes of the tracee's scratch memory at offset @off. */
static int scratch_get(struct task_ctx *tc, size_t off, void *buf, size_t len)
{
	int ret = inj_read_mem(tc->inj->tid, tc->scratch + off, buf, len);

	return ret ? ct_err(ret, "pid %d: cannot read scratch memory", tc->inj->tid) : 0;
}

/* Write @len bytes into the tracee's scratch memory at offset @off. */
static int scratch_put(struct task_ctx *tc, size_t off, const void *buf, size_t len)
{
	int ret = inj_write_mem(tc->inj->tid, tc->scratch + off, buf, len);

	return ret ? ct_err(ret, "pid %d: cannot write scratch memory", tc->inj->tid) : 0;
}

/* ---- rlimits ---- */

/* Read every rlimit: prlimit from outside, or inside the task when that is refused. */
static int rlimits_dump(struct task_ctx *tc, struct ct_task *t)
{
	for (int r = 0; r < RLIM_NLIMITS; r++) {
		if (prlimit(tc->host_pid, r, NULL, &t->rlimits[r]) == 0)
			continue;
		if (misc_call(tc, NULL, "prlimit64", __NR_prlimit64, 0, r, 0, tc->scratch) ||
		    scratch_get(tc, 0, &t->rlimits[r], sizeof(t->rlimits[r])))
			return -EIO;
	}
	return 0;
}

/* A hard limit we may not raise (no CAP_SYS_RESOURCE): keep the task's, and say so. */
static int rlimit_keep_hard(struct task_ctx *tc, const struct ct_task *t, int r)
{
	struct rlimit want = t->rlimits[r], cur;

	if (misc_call(tc, NULL, "prlimit64", __NR_prlimit64, 0, r, 0, tc->scratch) ||
	    scratch_get(tc, 0, &cur, sizeof(cur)))
		return -EIO;
	pr_warn("pid %d: %s: hard limit %llu cannot be raised from %llu here; kept %llu",
		t->pid, rlimit_names[r], (unsigned long long)want.rlim_max,
		(unsigned long long)cur.rlim_max, (unsigned long long)cur.rlim_max);
	want.rlim_max = cur.rlim_max;
	if (want.rlim_cur > want.rlim_max)
		want.rlim_cur = want.rlim_max;
	if (scratch_put(tc, 0, &want, sizeof(want)) ||
	    misc_call(tc, NULL, rlimit_names[r], __NR_prlimit64, 0, r, tc->scratch, 0))
		return -EPERM;
	return 0;
}

/* Queue setting every rlimit in restore_task_misc's batch: they may fail (EPERM, see below). */
static int rlimits_queue(struct task_ctx *tc, const struct ct_task *t)
{
	unsigned long want = inj_batch_put(tc->batch, t->rlimits, sizeof(t->rlimits));

	if (!want)
		return -E2BIG;
	for (int r = 0; r < RLIM_NLIMITS; r++)
		inj_batch_add(tc->batch, rlimit_names[r], INJ_CALL_MAY_FAIL, __NR_prlimit64, 0, r,
			      want + r * sizeof(t->rlimits[0]), 0, 0, 0);
	return 0;
}

/* The rlimits queued at @first in the batch that ran: a hard limit we may not raise stays where it is. */
static int rlimits_check(struct task_ctx *tc, const struct ct_task *t, size_t first)
{
	for (int r = 0; r < RLIM_NLIMITS; r++) {
		long ret = inj_batch_ret(tc->batch, first + r);

		if (ret == -EPERM)
			ret = rlimit_keep_hard(tc, t, r);
		else if (ret < 0)
			return ct_err((int)ret, "pid %d: cannot set %s: %s", t->pid, rlimit_names[r],
				      strerror((int)-ret));
		if (ret)
			return (int)ret;
	}
	return 0;
}

/* ---- POSIX timers ---- */

/* Map the notify word of /proc/PID/timers ("signal/tid.12") to sigev_notify and a pid. */
static int timer_parse_notify(const char *s, int32_t *notify, pid_t *pid)
{
	static const char *const names[] = { "signal", "none", "thread" };	/* SIGEV_* 0, 1, 2 */
	const char *slash = strchr(s, '/');

	if (!slash)
		return -EINVAL;
	*notify = -1;
	for (int i = 0; i < 3; i++)
		if ((size_t)(slash - s) == strlen(names[i]) && !strncmp(s, names[i], slash - s))
			*notify = i;
	if (*notify < 0)
		return -EINVAL;
	if (!strncmp(slash + 1, "tid.", 4))
		*notify |= MISC_SIGEV_THREAD_ID;
	*pid = atoi(slash + 5);
	return 0;
}

/* Host tid to the tid inside the container, by the threads already recorded. */
static pid_t timer_ns_tid(struct task_ctx *tc, const struct ct_task *t, pid_t host)
{
	for (uint32_t i = 0; i < t->nr_threads; i++)
		if (t->threads[i].host_tid == host)
			return t->threads[i].tid;
	return host == tc->host_pid && t->pid ? t->pid : host;
}

/* Read the value of timer @pt->id in the task. */
static int timer_dump_value(struct task_ctx *tc, struct ct_posix_timer *pt)
{
	struct misc_timeval v;
	long ovr;

	if (misc_call(tc, NULL, "timer_gettime", __NR_timer_gettime, pt->id, tc->scratch, 0, 0) ||
	    scratch_get(tc, 0, &v, sizeof(v)))
		return -EIO;
	pt->interval_nsec = v.interval_sec * 1000000000LL + v.interval_sub;
	pt->value_nsec = v.value_sec * 1000000000LL + v.value_sub;
	if (misc_call(tc, &ovr, "timer_getoverrun", __NR_timer_getoverrun, pt->id, 0, 0, 0))
		return -EIO;
	pt->overrun = (int32_t)ovr;
	return 0;
}

/* Compare timers by id for qsort. */
static int timer_cmp(const void *a, const void *b)
{
	const struct ct_posix_timer *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* Parse /proc/PID/timers and read each timer's value. */
static int timers_dump(struct task_ctx *tc, struct ct_task *t)
{
	char path[64], *buf, *line, *save = NULL;
	struct ct_posix_timer *pt = NULL;
	size_t cap = 0;
	int ret;

	free(t->timers);
	t->timers = NULL;
	t->nr_timers = 0;
	snprintf(path, sizeof(path), "/proc/%d/timers", tc->host_pid);
	if (tc->misc_seen && tc->misc_seen->timers)
		ret = (buf = xstrdup(tc->misc_seen->timers)) ? 0 : -ENOMEM;
	else
		ret = read_whole_file(path, &buf, NULL);
	if (ret)
		return ct_err(ret, "pid %d: cannot read %s", tc->host_pid, path);
	for (line = strtok_r(buf, "\n", &save); line && !ret; line = strtok_r(NULL, "\n", &save)) {
		char word[64];
		pid_t npid;

		if (!strncmp(line, "ID: ", 4)) {
			ret = xgrow(&t->timers, &cap, t->nr_timers + 1, sizeof(*t->timers));
			if (ret)
				break;
			pt = &t->timers[t->nr_timers++];
			memset(pt, 0, sizeof(*pt));
			pt->id = atoi(line + 4);
		} else if (!pt) {
			continue;
		} else if (!strncmp(line, "signal: ", 8)) {
			unsigned long long v = 0;

			if (sscanf(line + 8, "%d/%llx", &pt->signo, &v) < 1)
				ret = -EINVAL;
			pt->sigval = v;
		} else if (!strncmp(line, "notify: ", 8)) {
			snprintf(word, sizeof(word), "%s", line + 8);
			ret = timer_parse_notify(word, &pt->notify, &npid);
			if (!ret && (pt->notify & MISC_SIGEV_THREAD_ID))
				pt->notify_tid = timer_ns_tid(tc, t, npid);
		} else if (!strncmp(line, "ClockID: ", 9)) {
			pt->clock = atoi(line + 9);
		}
	}
	free(buf);
	if (ret)
		return ct_err(ret, "pid %d: cannot parse %s", tc->host_pid, path);
	if (t->nr_timers)	/* qsort of NULL is undefined, even for 0 elements */
		qsort(t->timers, t->nr_timers, sizeof(*t->timers), timer_cmp);
	for (uint32_t i = 0; i < t->nr_timers; i++) {
		ret = timer_dump_value(tc, &t->timers[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Create one timer in the task; the kernel writes its id at scratch + 64. */
static int timer_create_one(struct task_ctx *tc, const struct ct_posix_timer *pt, pid_t self_pid,
			    pid_t self_ns_pid, int32_t *id)
{
	struct misc_sigevent sev = {
		.value = pt->sigval, .signo = pt->signo, .notify = pt->notify, .tid = pt->notify_tid,
	};
	long ret;

	if (sev.tid == self_ns_pid)
		sev.tid = self_pid;	/* the leader, whatever pid the restorer gave it */
	if (scratch_put(tc, 0, &sev, sizeof(sev)) || scratch_put(tc, 64, id, sizeof(*id)))
		return -EIO;
	ret = inj_syscall(tc->inj, __NR_timer_create, pt->clock, tc->scratch, tc->scratch + 64, 0, 0, 0);
	if (ret < 0)
		return (int)ret;
	return scratch_get(tc, 64, id, sizeof(*id));
}

/* Create timer @pt with its own id: by request, or by creating fillers up to it. */
static int timer_restore_id(struct task_ctx *tc, const struct ct_posix_timer *pt, bool by_request,
			    pid_t self_pid, pid_t self_ns_pid)
{
	int32_t id = pt->id, fillers[64];
	int nf = 0, ret;

	if (by_request) {
		ret = timer_create_one(tc, pt, self_pid, self_ns_pid, &id);
		if (!ret && id != pt->id)
			ret = -EEXIST;
		goto out;
	}
	for (int n = 0; n < MISC_TIMER_FILLERS; n++) {
		ret = timer_create_one(tc, pt, self_pid, self_ns_pid, &id);
		if (ret || id == pt->id)
			break;
		if (id > pt->id || nf == (int)ARRAY_SIZE(fillers)) {
			inj_syscall(tc->inj, __NR_timer_delete, id, 0, 0, 0, 0, 0);
			ret = -EEXIST;
			break;
		}
		fillers[nf++] = id;
	}
	while (nf--)
		inj_syscall(tc->inj, __NR_timer_delete, fillers[nf], 0, 0, 0, 0, 0);
out:
	if (ret)
		return ct_err(ret, "pid %d: cannot create POSIX timer %d: %s", tc->inj->tid, pt->id,
			      strerror(-ret));
	return 0;
}

/* Arm a restored timer with the time it had left (relative, as CRIU does). */
static int timer_arm(struct task_ctx *tc, const struct ct_posix_timer *pt)
{
	struct misc_timeval v = {
		.interval_sec = pt->interval_nsec / 1000000000LL, .interval_sub = pt->interval_nsec % 1000000000LL,
		.value_sec = pt->value_nsec / 1000000000LL, .value_sub = pt->value_nsec % 1000000000LL,
	};

	if (!pt->value_nsec)
		return 0;
	if (scratch_put(tc, 0, &v, sizeof(v)))
		return -EIO;
	return misc_call(tc, NULL, "timer_settime", __NR_timer_settime, pt->id, 0, tc->scratch, 0);
}

/* Recreate every POSIX timer with its id, in id order, and arm it. */
static int timers_restore(struct task_ctx *tc, const struct ct_task *t)
{
	long self, ret;
	bool by_request;
	int err = 0;

	if (!t->nr_timers)
		return 0;
	self = inj_syscall(tc->inj, __NR_getpid, 0, 0, 0, 0, 0, 0);
	ret = inj_syscall(tc->inj, __NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON,
			  0, 0, 0, 0);
	by_request = ret == 0;
	for (uint32_t i = 0; i < t->nr_timers && !err; i++)
		err = timer_restore_id(tc, &t->timers[i], by_request, (pid_t)self, t->pid) ?:
		      timer_arm(tc, &t->timers[i]);
	if (by_request)
		inj_syscall(tc->inj, __NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF,
			    0, 0, 0, 0);
	return err;
}

/* ---- the rest, read from /proc and by injection ---- */

/* Field @n (1-based, as proc(5) counts) of /proc/PID/stat. */
static int stat_field(pid_t pid, int n, long long *v)
{
	char path[64], *buf, *p, *save = NULL;
	int ret, i = 3;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	ret = read_whole_file(path, &buf, NULL);
	if (ret)
		return ret;
	p = strrchr(buf, ')');
	ret = -EINVAL;
	for (p = p ? strtok_r(p + 1, " ", &save) : NULL; p; p = strtok_r(NULL, " ", &save), i++) {
		if (i == n) {
			*v = strtoll(p, NULL, 10);
			ret = 0;
			break;
		}
	}
	free(buf);
	return ret;
}

/* Umask from /proc/PID/status (@status: its text read already, or NULL). */
static int umask_dump(pid_t pid, const char *status, uint32_t *umask)
{
	char path[64], *buf, *p;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	ret = status ? ((buf = xstrdup(status)) ? 0 : -ENOMEM) : read_whole_file(path, &buf, NULL);
	if (ret)
		return ret;
	p = strstr(buf, "\nUmask:");
	if (p)
		*umask = (uint32_t)strtoul(p + 7, NULL, 8);
	free(buf);
	return p ? 0 : -ENOENT;
}

/* The target of /proc/@pid/@name into a fresh string *@out; -errno without a message. */
static int misc_link_of(pid_t pid, const char *name, char **out)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*out = xstrdup(buf);
	return *out ? 0 : -ENOMEM;
}

/* readlink of /proc/PID/@name into a fresh string; @seen: the target read ahead, or NULL. */
static int proc_link(pid_t pid, const char *name, const char *seen, char **out)
{
	char *target = seen ? xstrdup(seen) : NULL;
	int ret = seen ? (target ? 0 : -ENOMEM) : misc_link_of(pid, name, &target);

	if (ret && ret != -ENOMEM)
		return ct_err(ret, "pid %d: cannot read /proc/%d/%s: %s", pid, pid, name, strerror(-ret));
	if (ret)
		return ret;
	free(*out);
	*out = target;
	return 0;
}

/* Scheduling: nice value, policy and priority, read from outside. */
static int sched_dump(pid_t pid, struct ct_task *t)
{
	struct sched_param sp;
	int nice, pol;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, pid);
	if (nice == -1 && errno)
		return ct_err(-errno, "pid %d: cannot read the nice value: %m", pid);
	pol = sched_getscheduler(pid);
	if (pol < 0 || sched_getparam(pid, &sp) < 0)
		return ct_err(-errno, "pid %d: cannot read the scheduling policy: %m", pid);
	t->nice = nice;
	t->sched_policy = pol;
	t->sched_priority = sp.sched_priority;
	return 0;
}

/* Queue the reads of the three itimers and the parent-death signal (tc->reads). */
int dump_task_misc_queue(struct task_ctx *tc)
{
	static const struct misc_timeval none[3];
	static const int64_t no_signal;	/* an int is written: 8 bytes keep the batch's data whole */
	struct dump_reads *r = tc->reads;
	unsigned long v = dump_read_out(tc, &r->itimers, none, sizeof(none));
	unsigned long sig = dump_read_out(tc, &r->pdeath, &no_signal, sizeof(no_signal));
	int ret = v && sig ? 0 : ct_err(-E2BIG, "pid %d: injected batch too small", tc->inj->tid);

	for (int w = 0; w < 3 && !ret; w++)
		ret = dump_read_add(tc, &r->itimers, __NR_getitimer, w, v + w * sizeof(none[0]), 0, 0);
	return ret ?: dump_read_add(tc, &r->pdeath, __NR_prctl, PR_GET_PDEATHSIG, sig, 0, 0);
}

/* A read of tc->reads taken, or a failed one recorded naming @what. */
static int misc_take(struct task_ctx *tc, const struct dump_read *r, uint32_t k, void *buf,
		     const char *what)
{
	long ret = dump_read_take(tc, r, k, buf);

	if (ret < 0 && ret > -4096)
		return ct_err((int)ret, "pid %d: %s: %s", tc->inj->tid, what, strerror((int)-ret));
	return 0;
}

/* The three itimers and the parent-death signal: from tc->reads, or injected one by one. */
static int injected_dump(struct task_ctx *tc, struct ct_task *t)
{
	struct misc_timeval v[3];
	int64_t pdeath_out = 0;		/* tc->reads: its first 4 bytes are the int */
	int32_t pdeath = 0;

	for (int w = 0; w < 3; w++) {
		if (tc->reads ? misc_take(tc, &tc->reads->itimers, (uint32_t)w, w ? NULL : v, "getitimer") :
		    misc_call(tc, NULL, "getitimer", __NR_getitimer, w, tc->scratch, 0, 0) ||
		    scratch_get(tc, 0, &v[w], sizeof(v[w])))
			return -EIO;
		t->itimers[w].interval_usec = v[w].interval_sec * 1000000LL + v[w].interval_sub;
		t->itimers[w].value_usec = v[w].value_sec * 1000000LL + v[w].value_sub;
	}
	if (tc->reads ? misc_take(tc, &tc->reads->pdeath, 0, &pdeath_out, "PR_GET_PDEATHSIG") :
	    misc_call(tc, NULL, "PR_GET_PDEATHSIG", __NR_prctl, PR_GET_PDEATHSIG, tc->scratch, 0, 0) ||
	    scratch_get(tc, 0, &pdeath, sizeof(pdeath)))
		return -EIO;
	if (tc->reads)
		memcpy(&pdeath, &pdeath_out, sizeof(pdeath));
	t->pdeath_signal = pdeath;
	return 0;
}

/*
 * Copy a name read from /proc/.../comm into a comm field of @size bytes,
 * zero-filled: the whole field is encoded into the image, so no byte after
 * the name may be left over from an earlier read or never written.
 */
static void comm_copy(char *comm, size_t size, const char *name)
{
	memset(comm, 0, size);
	memcpy(comm, name, strnlen(name, size - 1));
}

/* Record rlimits, umask, personality, comm, scheduling, cwd, root, timers and signals. */
void misc_seen_read(pid_t pid, struct misc_seen *out)
{
	char path[64], buf[64];

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/personality", pid);
	if (!read_small_file(path, buf, sizeof(buf)))
		out->personality = xstrdup(buf);
	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	if (read_whole_file(path, &out->timers, NULL))
		out->timers = NULL;
	if (misc_link_of(pid, "cwd", &out->cwd))
		out->cwd = NULL;
	if (misc_link_of(pid, "root", &out->root))
		out->root = NULL;
}

void misc_seen_free(struct misc_seen *s)
{
	free(s->personality);
	free(s->timers);
	free(s->cwd);
	free(s->root);
	memset(s, 0, sizeof(*s));
}

int dump_task_misc(struct task_ctx *tc, struct ct_task *t)
{
	const struct misc_seen *seen = tc->misc_seen;
	pid_t pid = tc->host_pid;
	char path[64], buf[64];
	long long exit_sig;
	int ret;

	ret = rlimits_dump(tc, t);
	if (ret)
		return ret;
	if (umask_dump(pid, tc->status, &t->umask))
		return ct_err(-EIO, "pid %d: cannot read the umask", pid);
	snprintf(path, sizeof(path), "/proc/%d/personality", pid);
	if (seen && seen->personality)
		snprintf(buf, sizeof(buf), "%s", seen->personality);
	else if (read_small_file(path, buf, sizeof(buf)))
		return ct_err(-EIO, "pid %d: cannot read %s", pid, path);
	t->personality = (uint32_t)strtoul(buf, NULL, 16);
	/* the tree read both while the process was stopped, as it is now (its comm if it could) */
	if (!tc->tree_read || !t->comm[0]) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (read_small_file(path, buf, sizeof(buf)))
			return ct_err(-EIO, "pid %d: cannot read %s", pid, path);
		comm_copy(t->comm, sizeof(t->comm), buf);
		if (stat_field(pid, 38, &exit_sig))
			return ct_err(-EIO, "pid %d: cannot read the exit signal", pid);
		t->exit_signal = (int32_t)exit_sig;
	}
	ret = sched_dump(pid, t) ?: proc_link(pid, "cwd", seen ? seen->cwd : NULL, &t->cwd) ?:
	      proc_link(pid, "root", seen ? seen->root : NULL, &t->root) ?: injected_dump(tc, t) ?:
	      timers_dump(tc, t);
	return ret;
}

/*
 * restore_task_misc() queues its calls into one injected batch (inject.h),
 * each tagged with what to name should it fail, and runs them together.
 */
static int misc_queue(struct task_ctx *tc, const char *what, long nr, unsigned long a1,
		      unsigned long a2, unsigned long a3, unsigned long a4)
{
	return inj_batch_add(tc->batch, what, 0, nr, a1, a2, a3, a4, 0, 0) < 0 ? -E2BIG : 0;
}

/* Queue @nr(@data copied into the task, @a2), named @what. */
static int misc_queue_data(struct task_ctx *tc, const char *what, long nr, const void *data,
			   size_t len, unsigned long a2)
{
	unsigned long addr = inj_batch_put(tc->batch, data, len);

	return addr ? misc_queue(tc, what, nr, addr, a2, 0, 0) : -E2BIG;
}

/* Queue setting scheduling policy, priority and nice value. */
static int sched_queue(struct task_ctx *tc, const struct ct_task *t)
{
	struct sched_param sp = { .sched_priority = t->sched_priority };
	int pol = t->sched_policy & ~SCHED_RESET_ON_FORK;
	unsigned long addr;

	if (pol == SCHED_DEADLINE) {
		pr_warn("pid %d: SCHED_DEADLINE is not restored; the task runs SCHED_OTHER", t->pid);
	} else {
		addr = inj_batch_put(tc->batch, &sp, sizeof(sp));
		if (!addr || misc_queue(tc, "sched_setscheduler", __NR_sched_setscheduler, 0,
					t->sched_policy, addr, 0))
			return -E2BIG;
	}
	return misc_queue(tc, "setpriority", __NR_setpriority, PRIO_PROCESS, 0, t->nice, 0);
}

/* Queue the three itimers and the parent-death signal. */
static int itimers_queue(struct task_ctx *tc, const struct ct_task *t)
{
	for (int w = 0; w < 3; w++) {
		const struct ct_itimer *it = &t->itimers[w];
		struct misc_timeval v = {
			.interval_sec = it->interval_usec / 1000000, .interval_sub = it->interval_usec % 1000000,
			.value_sec = it->value_usec / 1000000, .value_sub = it->value_usec % 1000000,
		};
		unsigned long addr = inj_batch_put(tc->batch, &v, sizeof(v));

		if (!addr || misc_queue(tc, "setitimer", __NR_setitimer, w, addr, 0, 0))
			return -E2BIG;
	}
	return misc_queue(tc, "PR_SET_PDEATHSIG", __NR_prctl, PR_SET_PDEATHSIG, t->pdeath_signal, 0, 0);
}

/* Queue rlimits, umask, personality, comm, scheduling, cwd, root and itimers, in that order. */
static int misc_queue_all(struct task_ctx *tc, const struct ct_task *t)
{
	char comm[sizeof(t->comm) + 1];
	int ret;

	snprintf(comm, sizeof(comm), "%s", t->comm);
	ret = rlimits_queue(tc, t) ?:
	      misc_queue(tc, "umask", __NR_umask, t->umask, 0, 0, 0) ?:
	      misc_queue(tc, "personality", __NR_personality, t->personality, 0, 0, 0);
	if (ret)
		return ret;
	if (comm[0]) {	/* prctl(PR_SET_NAME, name): the name is the second argument */
		unsigned long addr = inj_batch_put(tc->batch, comm, sizeof(comm));

		if (!addr || misc_queue(tc, "PR_SET_NAME", __NR_prctl, PR_SET_NAME, addr, 0, 0))
			return -E2BIG;
	}
	ret = sched_queue(tc, t);
	/* cwd first: it is a path seen from the current root, as dumped */
	if (!ret && t->cwd)
		ret = misc_queue_data(tc, t->cwd, __NR_chdir, t->cwd, strlen(t->cwd) + 1, 0);
	if (!ret && t->root && strcmp(t->root, "/"))
		ret = misc_queue_data(tc, t->root, __NR_chroot, t->root, strlen(t->root) + 1, 0);
	return ret ?: itimers_queue(tc, t);
}

int restore_task_misc_queue(struct task_ctx *tc, const struct ct_task *t)
{
	int ret = misc_queue_all(tc, t);

	if (ret)
		return ct_err(ret, "pid %d: injected batch too small for its settings", t->pid);
	return 0;
}

/* The call among entries [@first, @end) that stopped the last run, named by its tag. */
static int misc_failed(struct task_ctx *tc, size_t first, size_t end)
{
	const struct inj_batch *b = tc->batch;
	long ret = inj_batch_failure_in(b, first, end);

	return ret ? ct_err((int)ret, "pid %d: %s: %s", tc->inj->tid, (const char *)b->tags[b->failed],
			    strerror((int)-ret)) : 0;
}

int restore_task_misc_check(struct task_ctx *tc, const struct ct_task *t, size_t first, size_t end)
{
	if (tc->batch->failed < end)
		return misc_failed(tc, first, end);
	return rlimits_check(tc, t, first) ?: timers_restore(tc, t);
}

/* Give the task its rlimits, umask, personality, comm, scheduling, cwd, root and timers. */
int restore_task_misc(struct task_ctx *tc, const struct ct_task *t)
{
	inj_batch_reset(tc->batch);
	return restore_task_misc_queue(tc, t) ?: task_batch_run(tc) ?:
	       restore_task_misc_check(tc, t, 0, tc->batch->nr);
}

/* ---- per thread ---- */

/* Queue the read of the leader thread's clear_child_tid (tc->reads). */
int dump_thread_misc_queue(struct task_ctx *tc)
{
	static const uint64_t none;
	struct dump_read *r = &tc->reads->tid_address;
	unsigned long out = dump_read_out(tc, r, &none, sizeof(none));

	if (!out)
		return ct_err(-E2BIG, "pid %d: injected batch too small", tc->inj->tid);
	return dump_read_add(tc, r, __NR_prctl, PR_GET_TID_ADDRESS, out, 0, 0);
}

/* Record the thread's name, robust futex list (from outside) and clear_child_tid (injected). */
int dump_thread_misc(struct task_ctx *tc, struct ct_thread *th)
{
	pid_t tid = tc->inj->tid;
	unsigned long head = 0;
	char path[64], buf[64] = "";
	size_t len = 0;
	uint64_t ctid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", tc->host_pid, tid);
	if (read_small_file(path, buf, sizeof(buf)))
		return ct_err(-EIO, "pid %d: cannot read %s", tid, path);
	comm_copy(th->comm, sizeof(th->comm), buf);

	if (syscall(SYS_get_robust_list, tid, &head, &len) < 0)
		return ct_err(-errno, "pid %d: cannot read the robust futex list: %m", tid);
	th->robust_list = head;
	th->robust_len = len;
	if (tc->reads ? misc_take(tc, &tc->reads->tid_address, 0, &ctid, "PR_GET_TID_ADDRESS") :
	    misc_call(tc, NULL, "PR_GET_TID_ADDRESS", __NR_prctl, PR_GET_TID_ADDRESS, tc->scratch, 0, 0) ||
	    scratch_get(tc, 0, &ctid, sizeof(ctid)))
		return -EIO;
	th->clear_child_tid = ctid;
	return 0;
}

int restore_thread_misc_queue(struct task_ctx *tc, const struct ct_thread *th)
{
	char comm[sizeof(th->comm) + 1];
	struct inj_batch *b = tc->batch;
	unsigned long addr;
	int ret = 0;

	snprintf(comm, sizeof(comm), "%s", th->comm);
	if (comm[0]) {
		addr = inj_batch_put(b, comm, sizeof(comm));
		ret = addr ? misc_queue(tc, "PR_SET_NAME", __NR_prctl, PR_SET_NAME, addr, 0, 0) : -E2BIG;
	}
	if (!ret && th->robust_list)
		ret = misc_queue(tc, "set_robust_list", __NR_set_robust_list, th->robust_list,
				 th->robust_len, 0, 0);
	/* set_tid_address returns the tid, never an error */
	if (!ret)
		ret = misc_queue(tc, "set_tid_address", __NR_set_tid_address, th->clear_child_tid, 0,
				 0, 0);
	if (ret)
		return ct_err(ret, "pid %d: injected batch too small", tc->inj->tid);
	return 0;
}

int restore_thread_misc_check(struct task_ctx *tc, size_t first, size_t end)
{
	return misc_failed(tc, first, end);
}

/* Name the thread and register its robust list and clear_child_tid again. */
int restore_thread_misc(struct task_ctx *tc, const struct ct_thread *th)
{
	inj_batch_reset(tc->batch);
	return restore_thread_misc_queue(tc, th) ?: task_batch_run(tc) ?:
	       restore_thread_misc_check(tc, 0, tc->batch->nr);
}
