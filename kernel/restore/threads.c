// SPDX-License-Identifier: MIT
/* The other threads of a process: injected clone3(CLONE_THREAD) with their tids. */
#define LOG_PREFIX "restore-threads: "
#include <errno.h>
#include <linux/sched.h>
#include <string.h>
#include <sys/syscall.h>

#include "lib/log.h"
#include "lib/util.h"
#include "restore/rst.h"

#define CLONE_ARGS_OFF (3 * PAGE_SIZE)
#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
		      CLONE_SYSVSEM)

/* Create thread @i of @p; it stops at once, attached, and gets an injection context. */
static int thread_create(struct rst_proc *p, uint32_t i)
{
	struct rst_thread *rt = &p->threads[i];
	pid_t tid = rt->th->tid;
	struct clone_args ca = { .flags = THREAD_FLAGS, .set_tid_size = 1 };
	unsigned long tid_addr, ca_addr;
	long ret;

	ret = rst_scratch_put(p, CLONE_ARGS_OFF + 128, &tid, sizeof(tid), &tid_addr);
	if (ret)
		return ret;
	ca.set_tid = tid_addr;
	ret = rst_scratch_put(p, CLONE_ARGS_OFF, &ca, sizeof(ca), &ca_addr);
	if (ret)
		return ret;
	ret = rst_syscall(p, __NR_clone3, ca_addr, sizeof(ca), 0, 0, 0, 0);
	if (ret == -EEXIST)
		return ct_err(-EEXIST, "pid %d: thread id %d is taken, cannot restore it",
			      p->t->pid, tid);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: cannot create thread %d: %s", p->t->pid, tid,
			      strerror((int)-ret));
	rt->host_tid = p->threads[0].inj.event_child;
	if (!rt->host_tid)
		return ct_err(-ECHILD, "pid %d: thread %d created but not reported", p->t->pid, tid);
	ret = rst_wait_new(rt->host_tid);
	if (ret)
		return ret;
	return inj_begin(&rt->inj, rt->host_tid, p->threads[0].inj.syscall_ip);
}

/* Create every non-leader thread of @p. */
int rst_threads_create(struct rst_proc *p)
{
	for (uint32_t i = 1; i < p->t->nr_threads; i++) {
		int ret = thread_create(p, i);

		if (ret)
			return ret;
	}
	return 0;
}
