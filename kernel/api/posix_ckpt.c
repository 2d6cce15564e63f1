// SPDX-License-Identifier: MIT
/*
 * The POSIX 1003.1m checkpoint/restart calls as SGI IRIX offered them
 * (ckpt_setup, ckpt_create, ckpt_restart, ckpt_remove, ckpt_stat), mapped
 * onto ctswap containers: a path is STORE/NAME.  include/ctswap.h says
 * where the semantics differ.
 *
 * ckpt_create() always runs the dump in a helper child that first moves
 * itself out of any container cgroup: the caller may be one of the
 * processes checkpointed, and those are frozen and ptrace-seized during the
 * dump.  The caller only waits for the helper with waitpid(); it holds no
 * descriptor of its own during the dump, so nothing foreign enters the
 * image.  The helper reports through STORE/.ckpt-CALLER-HELPER.result.  A
 * caller restored from that very checkpoint finds no helper child
 * (ECHILD) and no result file: it was restarted, and the call returns 0.
 */
#define LOG_PREFIX "ckpt: "
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctswap.h"
#include "api/api.h"
#include "container/container.h"
#include "lib/state.h"
#include "container/store.h"
#include "lib/log.h"
#include "lib/util.h"


/* What the CKPT_ARG_* arguments of one call amount to. */
struct ckpt_opts {
	unsigned long flags;		/* CKPT_CHECKPOINT_* | CKPT_RESTART_* */
	unsigned int gen;		/* CKPT_ARG_GEN */
	unsigned int keep;		/* CKPT_ARG_KEEP */
};

/* Defaults set by ckpt_setup(), guarded by ckpt_defaults_lock. */
static struct ckpt_opts ckpt_defaults;
static pthread_mutex_t ckpt_defaults_lock = PTHREAD_MUTEX_INITIALIZER;

/* Set errno from a -errno result and return -1 (0 stays 0). */
static int ckpt_ret(int ret)
{
	if (!ret)
		return 0;
	errno = -ret;
	return -1;
}

/* Apply @args on top of @o; -EINVAL (with ct_err) for an unknown type. */
static int ckpt_parse_args(struct ckpt_args *args[], size_t nargs, struct ckpt_opts *o)
{
	for (size_t i = 0; i < nargs; i++) {
		const struct ckpt_args *a = args ? args[i] : NULL;

		if (!a || !a->ckpt_data)
			return ct_err(-EINVAL, "ckpt args[%zu]: missing argument", i);
		switch (a->ckpt_type) {
		case CKPT_ARG_FLAGS:
			o->flags = *(const unsigned long *)a->ckpt_data;
			break;
		case CKPT_ARG_GEN:
			o->gen = *(const unsigned int *)a->ckpt_data;
			break;
		case CKPT_ARG_KEEP:
			o->keep = *(const unsigned int *)a->ckpt_data;
			break;
		default:
			return ct_err(-EINVAL, "ckpt args[%zu]: unknown type %lu", i, a->ckpt_type);
		}
	}
	return 0;
}

/* The defaults of ckpt_setup() with @args on top. */
static int ckpt_opts_get(struct ckpt_args *args[], size_t nargs, struct ckpt_opts *o)
{
	pthread_mutex_lock(&ckpt_defaults_lock);
	*o = ckpt_defaults;
	pthread_mutex_unlock(&ckpt_defaults_lock);
	return ckpt_parse_args(args, nargs, o);
}

/* Record defaults for this process's later calls. */
int ckpt_setup(struct ckpt_args *args[], size_t nargs)
{
	struct ckpt_opts o = { 0 };
	int ret;

	ct_err_clear();
	ret = ckpt_parse_args(args, nargs, &o);
	if (ret)
		return ckpt_ret(ret);
	pthread_mutex_lock(&ckpt_defaults_lock);
	ckpt_defaults = o;
	pthread_mutex_unlock(&ckpt_defaults_lock);
	return 0;
}

/* Split STORE/NAME into an open store and the name (a pointer into *@dir). */
static int ckpt_open_path(const char *path, char **dir, const char **name,
			  struct ctswap_store **store)
{
	char *slash;
	size_t len;
	int ret;

	if (!path || !*path)
		return ct_err(-EINVAL, "ckpt: empty path");
	*dir = xstrdup(path);
	if (!*dir)
		return -ENOMEM;
	len = strlen(*dir);
	while (len > 1 && (*dir)[len - 1] == '/')
		(*dir)[--len] = '\0';
	slash = strrchr(*dir, '/');
	if (slash) {
		*slash = '\0';
		*name = slash + 1;
	} else {
		*name = *dir;
	}
	if (!ctswap_name_valid(*name)) {
		ret = ct_err(-EINVAL, "%s: the last component is not a valid container name", path);
		goto out_free;
	}
	/* "NAME" alone: the default store; "/NAME": the root directory. */
	ret = ctswap_store_open(!slash ? NULL : **dir ? *dir : "/", store);
	if (!ret)
		return 0;
out_free:
	free(*dir);
	*dir = NULL;
	return ret;
}

/* One process as /proc/PID/stat shows it. */
struct ckpt_proc {
	pid_t pid, ppid, pgrp, sid;
};

/* Read pid, ppid, pgrp and session of @pid; -ESRCH if it is gone. */
static int ckpt_read_proc(pid_t pid, struct ckpt_proc *p)
{
	char path[64], buf[1024], *rp;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small_file(path, buf, sizeof(buf)))
		return -ESRCH;
	rp = strrchr(buf, ')');		/* comm may hold spaces and parentheses */
	if (!rp || sscanf(rp + 2, "%*c %d %d %d", &p->ppid, &p->pgrp, &p->sid) != 3)
		return -ESRCH;
	p->pid = pid;
	return 0;
}

/* Every process of the machine (our pid namespace), except @skip. */
static int ckpt_all_procs(pid_t skip, struct ckpt_proc **out, size_t *nr)
{
	struct ckpt_proc *arr = NULL;
	size_t cap = 0, n = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return ct_err(-errno, "/proc: cannot list: %m");
	while ((de = readdir(d))) {
		pid_t pid = atoi(de->d_name);

		if (pid <= 0 || pid == skip)
			continue;
		if (xgrow(&arr, &cap, n + 1, sizeof(*arr))) {
			closedir(d);
			free(arr);
			return -ENOMEM;
		}
		if (!ckpt_read_proc(pid, &arr[n]))
			n++;
	}
	closedir(d);
	*out = arr;
	*nr = n;
	return 0;
}

/* True if @p belongs to the target @id of @type (P_HID: marked in @in). */
static bool ckpt_proc_matches(const struct ckpt_proc *p, pid_t id, unsigned long type)
{
	switch (type) {
	case P_PID:
	case P_HID:
		return p->pid == id;
	case P_PGID:
		return p->pgrp == id;
	case P_SID:
		return p->sid == id;
	}
	return false;
}

/*
 * The processes @id and @type name, the one whose pid is @id first (it
 * becomes the container's init).  @skip (the helper) is never included.
 */
static int ckpt_target_pids(pid_t id, unsigned long type, pid_t skip, pid_t **out, size_t *nr)
{
	struct ckpt_proc *all = NULL;
	size_t nall = 0, n = 0;
	bool *in, grew = true;
	pid_t *pids;
	int ret;

	ret = ckpt_all_procs(skip, &all, &nall);
	if (ret)
		return ret;
	in = xzalloc(nall * sizeof(*in) + 1);
	pids = xmalloc(nall * sizeof(*pids) + 1);
	if (!in || !pids) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nall; i++)
		in[i] = ckpt_proc_matches(&all[i], id, type);
	/* P_HID: add children of members until nothing changes. */
	while (type == P_HID && grew) {
		grew = false;
		for (size_t i = 0; i < nall; i++)
			for (size_t j = 0; j < nall && !in[i]; j++)
				if (in[j] && all[i].ppid == all[j].pid)
					in[i] = grew = true;
	}
	for (size_t i = 0; i < nall; i++)
		if (in[i] && all[i].pid == id)
			pids[n++] = all[i].pid;
	for (size_t i = 0; i < nall; i++)
		if (in[i] && all[i].pid != id)
			pids[n++] = all[i].pid;
	if (!n)
		ret = ct_err(-ESRCH, "%s %d: no such process", type == P_PID ? "pid" :
			     type == P_PGID ? "process group" : type == P_SID ? "session" : "tree",
			     id);
out:
	free(all);
	free(in);
	if (ret) {
		free(pids);
		return ret;
	}
	*out = pids;
	*nr = n;
	return 0;
}

/* Make sure the target processes form container @name, adopting them if needed. */
static int ckpt_prepare_target(struct ctswap_store *store, const char *name, ckpt_id_t id,
			       unsigned long type)
{
	char ct[CTSWAP_NAME_MAX + 1];
	size_t nr, in_name = 0, in_none = 0;
	pid_t *pids;
	int ret;

	if (type == P_CTSWAP)
		return 0;
	if (type != P_PID && type != P_PGID && type != P_SID && type != P_HID)
		return ct_err(-EINVAL, "ckpt: unknown id type %lu", type);
	if (id <= 0 || id > INT32_MAX)
		return ct_err(-EINVAL, "ckpt: bad id %lld", (long long)id);
	ret = ckpt_target_pids((pid_t)id, type, getpid(), &pids, &nr);
	if (ret)
		return ret;
	for (size_t i = 0; i < nr && !ret; i++) {
		ret = api_pid_container(pids[i], ct, sizeof(ct));
		if (ret)
			break;
		if (!ct[0])
			in_none++;
		else if (!strcmp(ct, name))
			in_name++;
		else
			ret = ct_err(-EBUSY, "pid %d: in container %s, not %s", pids[i], ct, name);
	}
	if (!ret && in_none && in_name)
		ret = ct_err(-EBUSY, "%s: %zu of the processes are in the container, %zu are not",
			     name, in_name, in_none);
	if (!ret && in_none)
		ret = api_adopt(store, name, pids, nr, id, type);
	free(pids);
	return ret;
}

/* In the helper: adopt if needed and dump.  Returns 0 or -errno with ct_err. */
static int ckpt_helper_work(struct ctswap_store *store, const char *name, ckpt_id_t id,
			    unsigned long type, const struct ckpt_opts *o)
{
	struct ctswap_dump_opts dopts = {
		.leave_running = o->flags & CKPT_CHECKPOINT_CONT,
		.compress = o->flags & CKPT_CHECKPOINT_COMPRESS,
		.keep = o->keep,
	};
	int ret;

	ret = api_cgroup_leave(getpid());
	if (ret)
		return ret;
	ret = ckpt_prepare_target(store, name, id, type);
	if (ret)
		return ret;
	return ctswap_dump(store, name, &dopts, NULL);
}

/* The helper's result file: STORE/.ckpt-CALLER-HELPER.result. */
static void ckpt_result_path(struct ctswap_store *store, pid_t caller, pid_t helper, char *buf,
			     size_t size)
{
	snprintf(buf, size, "%s/.ckpt-%d-%d.result", ctswap_store_path(store), caller, helper);
}

/* In the helper: write "ERRNO\nMESSAGE\n" for the caller. */
static void ckpt_write_result(const char *path, int ret)
{
	char *text = xasprintf("%d\n%s\n", -ret, ret && ct_err_msg() ? ct_err_msg() : "");

	if (text && write_file_atomic(path, text, strlen(text), 0600))
		pr_err("%s: cannot write the result", path);
	free(text);
}

/* In the caller: read and remove the result file; -ENOENT if there is none. */
static int ckpt_read_result(const char *path, int *ret)
{
	char *buf = NULL, *msg;
	size_t len;
	int err;

	err = read_whole_file(path, &buf, &len);
	if (err)
		return err;
	unlink(path);
	*ret = -atoi(buf);
	msg = strchr(buf, '\n');
	if (*ret && msg && msg[1]) {
		msg[1 + strcspn(msg + 1, "\n")] = '\0';
		ct_err(*ret, "%s", msg + 1);
	} else if (*ret) {
		ct_err(*ret, "ckpt: checkpoint failed: %s", strerror(-*ret));
	}
	free(buf);
	return 0;
}

/* Fork the helper that does the work, and wait for it. */
static int ckpt_run_helper(struct ctswap_store *store, const char *name, ckpt_id_t id,
			   unsigned long type, const struct ckpt_opts *o)
{
	pid_t caller = getpid(), helper, w;
	int status = 0, ret, wait_err;
	char path[4096];

	helper = fork();
	if (helper < 0)
		return ct_err(-errno, "ckpt: cannot fork the helper: %m");
	if (helper == 0) {
		ckpt_result_path(store, caller, getpid(), path, sizeof(path));
		ret = ckpt_helper_work(store, name, id, type, o);
		ckpt_write_result(path, ret);
		_exit(ret ? 1 : 0);
	}
	/* Frozen and seized here if we are part of the checkpoint. */
	do
		w = waitpid(helper, &status, 0);
	while (w < 0 && errno == EINTR);
	wait_err = w < 0 ? errno : 0;
	ckpt_result_path(store, caller, helper, path, sizeof(path));
	if (!ckpt_read_result(path, &ret))
		return ret;
	if (wait_err == ECHILD)
		return 0;	/* restarted from this checkpoint: the helper is not ours */
	return ct_err(-EIO, "ckpt: helper %d ended without a result (status 0x%x)", helper,
		      status);
}

/* Checkpoint the processes @id/@type name into the container @path names. */
int ckpt_create(const char *path, ckpt_id_t id, unsigned long type,
		struct ckpt_args *args[], size_t nargs)
{
	struct ctswap_store *store;
	struct ckpt_opts o;
	const char *name;
	char *dir;
	int ret;

	ct_err_clear();
	ret = ckpt_opts_get(args, nargs, &o);
	if (ret)
		return ckpt_ret(ret);
	ret = ckpt_open_path(path, &dir, &name, &store);
	if (ret)
		return ckpt_ret(ret);
	ret = ckpt_run_helper(store, name, id, type, &o);
	ctswap_store_close(store);
	free(dir);
	return ckpt_ret(ret);
}

/* Restart the checkpoint at @path; the restored init's pid. */
ckpt_id_t ckpt_restart(const char *path, struct ckpt_args *args[], size_t nargs)
{
	struct ctswap_restore_stats st = { 0 };
	struct ctswap_restore_opts ro;
	struct ctswap_store *store;
	struct ckpt_opts o;
	const char *name;
	char *dir;
	int ret;

	ct_err_clear();
	ret = ckpt_opts_get(args, nargs, &o);
	if (ret)
		return ckpt_ret(ret);
	ret = ckpt_open_path(path, &dir, &name, &store);
	if (ret)
		return ckpt_ret(ret);
	ro = (struct ctswap_restore_opts) {
		.eager = o.flags & CKPT_RESTART_EAGER,
		.generation = o.gen,
		.allow_changed_files = o.flags & CKPT_RESTART_CHANGED,
	};
	ret = ctswap_restore(store, name, &ro, &st);
	ctswap_store_close(store);
	free(dir);
	return ret ? ckpt_ret(ret) : st.init_pid;
}

/* Remove the checkpoint (the whole store entry) at @path. */
int ckpt_remove(const char *path)
{
	struct ctswap_store *store;
	const char *name;
	char *dir;
	int ret;

	ct_err_clear();
	ret = ckpt_open_path(path, &dir, &name, &store);
	if (ret)
		return ckpt_ret(ret);
	ret = ctswap_rm(store, name, false);
	ctswap_store_close(store);
	free(dir);
	return ckpt_ret(ret);
}

/* The id and type ckpt_create() recorded for an adopted container. */
static void ckpt_stat_target(struct ctswap_store *store, const char *name,
			     const struct ctswap_ckpt *c, ckpt_id_t *id, unsigned long *type)
{
	struct ct_state *st = NULL;
	long long v;

	*id = c->nr_tasks ? c->tasks[0].pid : 0;
	*type = P_CTSWAP;
	if (ct_read_state(store, name, &st) || !st)
		return;
	if (!state_get_ll(st, "ckpt_type", &v)) {
		*type = (unsigned long)v;
		if (!state_get_ll(st, "ckpt_id", &v))
			*id = v;
	}
	state_free(st);
}

/* Build the per-process list of checkpoint @c. */
static int ckpt_stat_list(const struct ctswap_ckpt *c, ckpt_id_t id, unsigned long type,
			  struct ckpt_stat **sp)
{
	struct ckpt_stat *head = NULL, **tail = &head;

	for (unsigned int i = 0; i < c->nr_tasks; i++) {
		const struct ctswap_ckpt_task *t = &c->tasks[i];
		struct ckpt_stat *s = xzalloc(sizeof(*s));

		if (!s) {
			ckpt_stat_free(head);
			return -ENOMEM;
		}
		s->cs_revision = CKPT_REVISION;
		s->cs_id = id;
		s->cs_type = type;
		s->cs_pid = t->pid;
		s->cs_ppid = t->ppid;
		s->cs_pgrp = t->pgid;
		s->cs_sid = t->sid;
		s->cs_nthreads = t->nr_threads;
		s->cs_nfiles = t->nr_fds;
		s->cs_generation = c->generation;
		memcpy(s->cs_comm, t->comm, sizeof(s->cs_comm));
		s->cs_comm[sizeof(s->cs_comm) - 1] = '\0';
		*tail = s;
		tail = &s->cs_next;
	}
	*sp = head;
	return 0;
}

/* List the processes of the newest checkpoint at @path. */
int ckpt_stat(const char *path, struct ckpt_stat **sp)
{
	struct ctswap_store *store;
	struct ctswap_ckpt *c;
	unsigned long type;
	const char *name;
	ckpt_id_t id;
	char *dir;
	int ret;

	ct_err_clear();
	if (!sp)
		return ckpt_ret(ct_err(-EINVAL, "ckpt_stat: no result pointer"));
	*sp = NULL;
	ret = ckpt_open_path(path, &dir, &name, &store);
	if (ret)
		return ckpt_ret(ret);
	ret = ctswap_ckpt_read(store, name, 0, &c);
	if (!ret) {
		ckpt_stat_target(store, name, c, &id, &type);
		ret = ckpt_stat_list(c, id, type, sp);
		ctswap_ckpt_free(c);
	}
	ctswap_store_close(store);
	free(dir);
	return ckpt_ret(ret);
}

/* Free a ckpt_stat() list. */
void ckpt_stat_free(struct ckpt_stat *sp)
{
	while (sp) {
		struct ckpt_stat *next = sp->cs_next;

		free(sp);
		sp = next;
	}
}
