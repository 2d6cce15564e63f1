/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the per-resource round-trip tests (test_task_*.c):
 * a child is set up, seized and dumped; a second, fresh child is seized,
 * restored into, released, and checks its own state.
 *
 * Include after cmocka.h.
 */
#ifndef TEST_TASK_COMMON_H
#define TEST_TASK_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject/inject.h"
#include "lib/log.h"
#include "task/task.h"

#define TT_SCRATCH_LEN (4 * 4096UL)
#define TT_BATCH_LEN (8 * 4096UL)	/* 256 calls, 16 KiB of data */

/* A seized child under injection, as the dump and restore helpers hold one. */
struct tt_child {
	pid_t pid;
	struct inj_ctx inj;
	struct inj_batch batch;	/* the injected batch restore and dump run calls through */
	struct task_ctx tc;
	int go[2];		/* parent writes a byte: child runs its check */
	int ready[2];		/* child writes a byte: its set-up is done */
};

static int tt_ready_fd = -1;

/*
 * Tell the parent the set-up is done, then block until it says go (a byte,
 * or EOF).  The parent waits for the ready pipe's EOF, not only for the
 * byte: until the close the ready fd is still in this process's table, and
 * a seize in that window would dump it, or restore an fd at its number that
 * the close below then takes away.  A set-up that forks must close
 * tt_ready_fd in its child, or the parent never sees that EOF.
 */
static inline void tt_wait_go(int fd)
{
	char c;

	if (tt_ready_fd >= 0) {
		if (write(tt_ready_fd, "r", 1) != 1)
			_exit(99);
		close(tt_ready_fd);
		tt_ready_fd = -1;
	}
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

/* Fork a child running @fn(arg) after a go byte on its pipe; @fn's return is the exit code. */
static inline void tt_fork(struct tt_child *c, int (*fn)(void *arg, int go_fd), void *arg)
{
	char r;

	assert_int_equal(pipe2(c->go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(c->ready, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(c->go[1]);
		close(c->ready[0]);
		tt_ready_fd = c->ready[1];
		_exit(fn(arg, c->go[0]));
	}
	close(c->go[0]);
	close(c->ready[1]);
	assert_int_equal(read(c->ready[0], &r, 1), 1);
	/* EOF: the child has closed its end, its fd table is the set-up's */
	assert_int_equal(read(c->ready[0], &r, 1), 0);
	close(c->ready[0]);
}

/* Seize and interrupt a child whose set-up is done, start injection and map scratch. */
static inline void tt_seize(struct tt_child *c)
{
	unsigned long ip;
	int status;

	assert_int_equal(ptrace(PTRACE_SEIZE, c->pid, NULL, NULL), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, c->pid, NULL, NULL), 0);
	assert_int_equal(waitpid(c->pid, &status, __WALL), c->pid);
	assert_true(WIFSTOPPED(status));
	assert_int_equal(inj_find_syscall_insn(c->pid, &ip), 0);
	assert_int_equal(inj_begin(&c->inj, c->pid, ip), 0);
	/* no field left to the stack's garbage (max_checked_size, reads, ...) */
	memset(&c->tc, 0, sizeof(c->tc));
	c->tc.inj = &c->inj;
	c->tc.host_pid = c->pid;
	c->tc.scratch_len = TT_SCRATCH_LEN;
	assert_int_equal(inj_map_scratch(&c->inj, TT_SCRATCH_LEN, &c->tc.scratch), 0);
	assert_int_equal(inj_batch_map(&c->batch, &c->inj, TT_BATCH_LEN), 0);
	c->tc.batch = &c->batch;
}

/* A second thread of a seized child, under its own injection (scratch shared with the leader). */
struct tt_thread {
	pid_t tid;
	struct inj_ctx inj;
	struct task_ctx tc;
};

/* Find the child's thread other than the leader, seize it, start injection on it. */
static inline void tt_seize_thread(struct tt_child *c, struct tt_thread *t)
{
	char path[64];
	struct dirent *de;
	int status;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", c->pid);
	d = opendir(path);
	assert_non_null(d);
	t->tid = 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != c->pid)
			t->tid = atoi(de->d_name);
	closedir(d);
	assert_true(t->tid > 0);
	assert_int_equal(ptrace(PTRACE_SEIZE, t->tid, NULL, NULL), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL), 0);
	assert_int_equal(waitpid(t->tid, &status, __WALL), t->tid);
	assert_int_equal(inj_begin(&t->inj, t->tid, c->inj.syscall_ip), 0);
	t->tc = c->tc;
	t->tc.inj = &t->inj;
}

/* End injection on the thread and detach it. */
static inline void tt_release_thread(struct tt_thread *t)
{
	assert_int_equal(inj_end(&t->inj), 0);
	assert_int_equal(ptrace(PTRACE_DETACH, t->tid, NULL, NULL), 0);
}

/* Unmap scratch, end injection and detach: the child runs on from where it was. */
static inline void tt_release(struct tt_child *c)
{
	assert_int_equal(inj_batch_unmap(&c->batch, &c->inj), 0);
	assert_int_equal(inj_unmap_scratch(&c->inj, c->tc.scratch, c->tc.scratch_len), 0);
	assert_int_equal(inj_end(&c->inj), 0);
	assert_int_equal(ptrace(PTRACE_DETACH, c->pid, NULL, NULL), 0);
}

/* Let the child run its check and return its exit code (-1 if it died of a signal). */
static inline int tt_finish(struct tt_child *c)
{
	int status;

	assert_int_equal(write(c->go[1], "g", 1), 1);
	close(c->go[1]);
	assert_int_equal(waitpid(c->pid, &status, __WALL), c->pid);
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Kill a child (after a failure, or one that has served its purpose). */
static inline void tt_kill(struct tt_child *c)
{
	int status;

	kill(c->pid, SIGKILL);
	close(c->go[1]);
	waitpid(c->pid, &status, __WALL);
}

/* Tell which checks of a child failed: bit N of its exit code is check N. */
#define TT_CHECK(bit, cond) do { if (!(cond)) fails |= 1 << (bit); } while (0)


/* Move @fd to number @want in the calling process (setup functions). */
static inline void tt_place(int fd, int want)
{
	if (fd != want) {
		dup2(fd, want);
		close(fd);
	}
}

/* A child body that only waits to be restored into and inspected from outside. */
static inline int tt_idle(void *arg, int go_fd)
{
	(void)arg;
	tt_wait_go(go_fd);
	for (;;)
		pause();
	return 0;
}

/* The file record behind fd @fd of @t; fails the test if there is none. */
static inline const struct ct_file *tt_file_of(const struct ct_image *img, const struct ct_task *t,
					       int fd)
{
	for (uint32_t i = 0; i < t->nr_fds; i++)
		if (t->fds[i].fd == fd)
			return &img->files[t->fds[i].file];
	fail_msg("fd %d not recorded", fd);
	return NULL;
}


/* A one-task image for child @c, forked running @setup(@arg) and seized. */
static inline struct ct_image *tt_one_task(struct tt_child *c, int (*setup)(void *arg, int go_fd),
					   void *arg)
{
	struct ct_image *img = calloc(1, sizeof(*img));

	assert_non_null(img);
	img->nr_tasks = 1;
	img->tasks = calloc(1, sizeof(*img->tasks));
	assert_non_null(img->tasks);
	tt_fork(c, setup, arg);
	tt_seize(c);
	img->tasks[0].host_pid = c->pid;
	return img;
}

/* Restore task 0's fds of @img into a fresh idle child @c, then let it run. */
static inline void tt_restore_into_idle(struct ct_image *img, struct tt_child *c, bool allow_changed)
{
	struct file_table ft;

	ct_err_clear();
	if (restore_files_open(img, allow_changed, &ft))
		fail_msg("restore_files_open: %s", ct_err_msg());
	tt_fork(c, tt_idle, NULL);
	tt_seize(c);
	if (restore_task_files(&c->tc, &img->tasks[0], &ft))
		fail_msg("restore_task_files: %s", ct_err_msg());
	restore_files_close(&ft);
	tt_release(c);
}

#endif
