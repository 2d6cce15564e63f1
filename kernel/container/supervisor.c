// SPDX-License-Identifier: MIT
/*
 * The per-container supervisor (see supervisor.h).
 *
 * Two pipes carry the start-up handshake:
 *   sync: supervisor -> caller.  SUP_MSG_INIT_PID once the init is in its
 *         cgroup and recorded; SUP_MSG_ERROR if anything failed; EOF once
 *         the init has exec'd or said it is ready.
 *   exec: init -> supervisor, O_CLOEXEC in the init.  EOF means exec (or
 *         supervisor_init_ready()); a SUP_MSG_ERROR is a failure, which the
 *         supervisor forwards only after reaping the init and recording it.
 * A third pipe (go) holds the init until it is in its cgroup and recorded.
 */
#define LOG_PREFIX "supervisor: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/console.h"
#include "container/shape.h"
#include "lib/state.h"
#include "container/supervisor.h"
#include "freezer/cgroup.h"
#include "lib/log.h"
#include "lib/util.h"
#include "task/mounts.h"

enum sup_msg_type {
	SUP_MSG_INIT_PID = 1,	/* pid: the init's host pid */
	SUP_MSG_ERROR,		/* err, text: why the start failed */
};

/* One handshake message; smaller than PIPE_BUF, so written atomically. */
struct sup_msg {
	int type;
	int err;
	pid_t pid;
	char text[512];
};

/* The descriptors supervisor_start() hands to the supervisor. */
struct sup_fds {
	int sync;		/* handshake to the caller */
	int console;		/* console.log: the init's stdout (no tty), the terminal's log (tty) */
	int devnull;
	int master, slave;	/* tty: the pty; slave -1 when restoring; both -1 without tty */
};

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#define SUP_TTY_ROWS 24
#define SUP_TTY_COLS 80

/* In the init only: the write end of the exec pipe, -1 once reported. */
static int sup_init_fd = -1;

/* Write one message; errors are ignored (the reader sees EOF instead). */
static void sup_send(int fd, int type, int err, pid_t pid, const char *text)
{
	struct sup_msg m = { .type = type, .err = err, .pid = pid };

	if (text)
		snprintf(m.text, sizeof(m.text), "%s", text);
	if (write(fd, &m, sizeof(m)) < 0)
		return;
}

/* Read one message: 1 got one, 0 EOF, -errno. */
static int sup_recv(int fd, struct sup_msg *m)
{
	ssize_t n;

	do
		n = read(fd, m, sizeof(*m));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	return n == sizeof(*m) ? 1 : -EPROTO;
}

/* Start time of @pid in clock ticks since boot. */
int proc_starttime(pid_t pid, unsigned long long *ticks)
{
	char path[64], buf[1024], *p;
	int ret, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	ret = read_small_file(path, buf, sizeof(buf));
	if (ret)
		return ret;
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* field 3 (state) follows ") "; starttime is field 22 */
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", ticks) != 1)
		return -EINVAL;
	return 0;
}

/* Close every descriptor above 2 except those in @keep. */
static void sup_close_fds_except(const int *keep, int nr)
{
	int fds[1024], n = 0;
	struct dirent *de;
	DIR *dir;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return;
	while ((de = readdir(dir)) && n < (int)ARRAY_SIZE(fds)) {
		int fd = atoi(de->d_name), i;

		if (de->d_name[0] == '.' || fd <= 2 || fd == dirfd(dir))
			continue;
		for (i = 0; i < nr && keep[i] != fd; i++)
			;
		if (i == nr)
			fds[n++] = fd;
	}
	closedir(dir);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* Report readiness from an init that does not exec. */
void supervisor_init_ready(void)
{
	if (sup_init_fd < 0)
		return;
	close(sup_init_fd);
	sup_init_fd = -1;
}

/* In the init: report @err and exit. */
static void __attribute__((noreturn)) sup_init_fail(int err, const char *what)
{
	char text[512];
	const char *msg = ct_err_msg();

	if (!msg) {
		snprintf(text, sizeof(text), "%s: %s", what, strerror(-err));
		msg = text;
	}
	if (sup_init_fd >= 0)
		sup_send(sup_init_fd, SUP_MSG_ERROR, err, 0, msg);
	_exit(127);
}

/* In the init: default dispositions and an empty mask, as a fresh process. */
static void sup_init_reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The init: wait to be placed, set up namespaces and stdio, run init_fn. */
static void __attribute__((noreturn)) sup_init_main(const struct supervisor_opts *opts, int go_fd,
						    const struct sup_fds *fds)
{
	int in = fds->devnull, out = fds->console;
	char c;
	int ret;

	if (read(go_fd, &c, 1) != 1)
		_exit(126);	/* the supervisor gave up; it reports why */
	close(go_fd);
	sup_init_reset_signals();
	if (setsid() < 0)
		sup_init_fail(-errno, "setsid");
	ret = shape_enter(opts->shape, opts->new_pidns);
	if (ret)
		sup_init_fail(ret, "set up the container");
	if (fds->master >= 0)
		close(fds->master);
	if (fds->slave >= 0) {
		/* the terminal: controlling terminal of the new session, and stdio */
		if (ioctl(fds->slave, TIOCSCTTY, 0) < 0)
			sup_init_fail(-errno, "make the console the controlling terminal");
		in = out = fds->slave;
	}
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		sup_init_fail(-errno, "redirect stdio");
	close(fds->devnull);
	close(fds->console);
	if (fds->slave > 2)
		close(fds->slave);
	ct_err_clear();
	ret = opts->init_fn(opts->arg);
	if (ret < 0)
		sup_init_fail(ret, "init");
	_exit(0);
}

/* The pid namespace a restore made for the init (its tree's proc instances show it), or -1. */
static int sup_given_pidns(const struct supervisor_opts *opts)
{
	return opts->shape && opts->shape->mnt_plan ? opts->shape->mnt_plan->pidns_fd : -1;
}

/*
 * clone3 the init, in new pid and mount namespaces if asked (the pid
 * namespace given, if any: joined for the clone only), born in the v2
 * group @cg_fd (-1: none, attached after).
 */
static pid_t sup_clone_init(const struct supervisor_opts *opts, int cg_fd)
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	int given = sup_given_pidns(opts), ours = -1, err;
	pid_t tids[2], pid;

	if (opts->new_pidns)
		args.flags = given >= 0 ? CLONE_NEWNS : CLONE_NEWPID | CLONE_NEWNS;
	if (opts->sibling) {
		/* clone3 wants no exit_signal with it: the child gets our own */
		args.flags |= CLONE_PARENT;
		args.exit_signal = 0;
	}
	args.flags |= shape_clone_flags(opts->shape);
	if (opts->set_tid) {
		/* set_tid[0] is the innermost namespace: the init is pid 1 there */
		if (opts->new_pidns) {
			tids[0] = 1;
			tids[1] = opts->set_tid;
			args.set_tid_size = 2;
		} else {
			tids[0] = opts->set_tid;
			args.set_tid_size = 1;
		}
		args.set_tid = (unsigned long)tids;
	}
	if (cg_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cg_fd;
	}
	if (opts->new_pidns && given >= 0) {
		ours = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (ours < 0 || setns(given, CLONE_NEWPID) < 0) {
			err = errno;
			if (ours >= 0)
				close(ours);
			errno = err;
			return -1;
		}
	}
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0 || ours < 0)
		return pid;
	err = errno;
	/* our later children (the sibling case: the restorer's) stay in ours */
	if (setns(ours, CLONE_NEWPID) < 0) {
		err = errno;
		if (pid > 0)
			kill(pid, SIGKILL);
		pid = -1;
	}
	close(ours);
	errno = err;
	return pid;
}

/* STORE/NAME/state, or NULL when the caller keeps no store. */
static char *sup_state_path(const struct supervisor_opts *opts)
{
	if (!opts->store_dir || !opts->name)
		return NULL;
	return xasprintf("%s/%s/state", opts->store_dir, opts->name);
}

/* Read-modify-write the state file with the init's start or end. */
static int sup_record(const struct supervisor_opts *opts, pid_t init, bool started, int status)
{
	char *path = sup_state_path(opts);
	unsigned long long start = 0;
	struct ct_state *st = NULL;
	int ret;

	if (!path)
		return 0;
	ret = state_read(path, &st);
	if (ret == -ENOENT)
		st = state_new();
	else if (ret)
		goto out;
	ret = -ENOMEM;
	if (!st)
		goto out;
	if (started) {
		/* a restore reuses the state of an earlier run: forget its end */
		state_unset(st, "exit_status");
		state_unset(st, "stopped_at");
		state_unset(st, "tty");
		if (opts->tty)
			state_set_ll(st, "tty", 1);	/* attach tells "no console" from "socket gone" */
		proc_starttime(getpid(), &start);
		state_unset(st, "supervisor_pid");
		state_unset(st, "supervisor_start");
		ret = opts->sibling ? 0 :
		      state_set_ll(st, "supervisor_pid", getpid()) ?:
		      state_set_ll(st, "supervisor_start", start);
		ret = ret ?:
		      state_set_ll(st, "init_pid", init) ?:
		      state_set_ll(st, "pidns", opts->new_pidns) ?:
		      state_set_ll(st, "started_at", time(NULL)) ?:
		      state_set(st, "status", "running");
	} else {
		ret = state_set_ll(st, "exit_status", status) ?:
		      state_set_ll(st, "stopped_at", time(NULL)) ?:
		      state_set(st, "status", "exited");
	}
	if (!ret)
		ret = state_write(path, st);
out:
	state_free(st);
	free(path);
	return ret;
}

/* Reap children until none is left, recording the init's status. */
static void sup_reap(const struct supervisor_opts *opts, pid_t init)
{
	int status;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &status, __WALL);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (pid == init) {
			pr_info("init %d exited with status 0x%x", init, status);
			if (sup_record(opts, init, false, status))
				pr_err("%s: cannot record the exit status", opts->name);
		}
	}
}

/* stderr of the supervisor: STORE/NAME/supervisor.log, or /dev/null. */
static void sup_setup_stdio(const struct supervisor_opts *opts, int devnull)
{
	char *path = NULL;
	int fd = -1;

	if (opts->store_dir && opts->name)
		path = xasprintf("%s/%s/supervisor.log", opts->store_dir, opts->name);
	if (path)
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(path);
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(fd >= 0 ? fd : devnull, 2);
	if (fd >= 0)
		close(fd);
	ct_log_set_fd(-1);
}

/* In the supervisor: fail the start before the init ran anything. */
static void __attribute__((noreturn)) sup_abort(int sync_fd, pid_t init, int err, const char *what)
{
	const char *msg = ct_err_msg();
	char text[512];

	if (!msg) {
		snprintf(text, sizeof(text), "%s: %s", what, strerror(-err));
		msg = text;
	}
	if (init > 0) {
		kill(init, SIGKILL);
		waitpid(init, NULL, __WALL);
	}
	sup_send(sync_fd, SUP_MSG_ERROR, err, 0, msg);
	_exit(1);
}

/*
 * Before the init exists: listen on STORE/NAME/console.sock and block
 * SIGCHLD into a signalfd (the serving loop wakes on it).  Returns the
 * signalfd or -errno.
 */
static int sup_console_begin(const struct supervisor_opts *opts, const struct sup_fds *fds,
			     struct console_srv *cs)
{
	char *path;
	sigset_t chld;
	int ret, sigfd;

	if (!opts->store_dir || !opts->name)
		return ct_err(-EINVAL, "console: a terminal needs a store entry");
	path = xasprintf("%s/%s/%s", opts->store_dir, opts->name, CONSOLE_SOCK);
	if (!path)
		return -ENOMEM;
	ret = console_listen(cs, path);
	free(path);
	if (ret)
		return ret;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0)
		return ct_err(-errno, "console: signalfd: %m");
	cs->master = fds->master;
	cs->log_fd = fds->console;
	fcntl(cs->master, F_SETFL, fcntl(cs->master, F_GETFL) | O_NONBLOCK);
	return sigfd;
}

/* Reap what has exited; false once no child is left. */
static bool sup_reap_nohang(const struct supervisor_opts *opts, pid_t init)
{
	int status;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &status, __WALL | WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			return false;
		if (pid == 0)
			return true;
		if (pid == init) {
			pr_info("init %d exited with status 0x%x", init, status);
			if (sup_record(opts, init, false, status))
				pr_err("%s: cannot record the exit status", opts->name);
		}
	}
}

/* Serve the console and reap children until none is left. */
static void sup_console_serve(const struct supervisor_opts *opts, pid_t init, struct console_srv *cs,
			      int sigfd)
{
	struct signalfd_siginfo si;

	while (sup_reap_nohang(opts, init)) {
		console_poll(cs, sigfd, 1000);
		while (read(sigfd, &si, sizeof(si)) == sizeof(si))
			;
	}
	/* the terminal's last words, then no more console */
	if (!cs->master_gone)
		console_poll(cs, sigfd, 0);
	console_close(cs);
	close(sigfd);
}

/*
 * True if the init @pid was killed as it was cloned into its group.  This
 * kernel kills a child cloned (CLONE_INTO_CGROUP) into a group that was
 * once emptied through cgroup.kill (our kill and failed restores do that):
 * the SIGKILL is sent inside clone3, so it is pending or done by now.
 */
static bool sup_killed_at_birth(pid_t pid)
{
	const uint64_t kill_bit = 1ULL << (SIGKILL - 1);
	unsigned long long sig_pnd = 0, shd_pnd = 0;
	char path[64], *buf, *p, state = 'Z';

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_whole_file(path, &buf, NULL))
		return true;
	if ((p = strstr(buf, "\nState:")))
		sscanf(p + 7, " %c", &state);
	if ((p = strstr(buf, "\nSigPnd:")))
		sig_pnd = strtoull(p + 8, NULL, 16);
	if ((p = strstr(buf, "\nShdPnd:")))
		shd_pnd = strtoull(p + 8, NULL, 16);
	free(buf);
	return state == 'Z' || state == 'X' || ((sig_pnd | shd_pnd) & kill_bit);
}

/* The supervisor process. */
static void __attribute__((noreturn)) sup_main(const struct supervisor_opts *opts, struct sup_fds *fds)
{
	int keep[] = { fds->sync, fds->console, fds->devnull, fds->master, fds->slave,
		       opts->shape ? opts->shape->net_fd : -1, opts->shape ? opts->shape->devpts_fd : -1,
		       opts->shape && opts->shape->mnt_plan ? opts->shape->mnt_fd : -1,
		       sup_given_pidns(opts) };
	int sync_fd = fds->sync, go[2], execp[2], ret, sigfd = -1, cg_fd;
	struct console_srv cs = { .listen_fd = -1 };
	struct sup_msg m;
	pid_t init;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_NAME, "ctswap-sup");
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sup_close_fds_except(keep, ARRAY_SIZE(keep));
	sup_setup_stdio(opts, fds->devnull);
	if (opts->tty) {
		sigfd = sup_console_begin(opts, fds, &cs);
		if (sigfd < 0)
			sup_abort(sync_fd, 0, sigfd, "console");
	}
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(execp, O_CLOEXEC) < 0)
		sup_abort(sync_fd, 0, -errno, "pipe");
	ret = shape_time_for_children(opts->shape);
	if (ret)
		sup_abort(sync_fd, 0, ret, "time namespace");
	/*
	 * Not born in its group into a given pid namespace: a kill at birth
	 * (below) would leave that namespace dead, a second clone no room.
	 */
	cg_fd = opts->cg && sup_given_pidns(opts) < 0 ? cg_v2_open(opts->cg) : -1;
	init = sup_clone_init(opts, cg_fd);
	if (cg_fd >= 0 && (init < 0 || (init > 0 && sup_killed_at_birth(init)))) {
		/* no birth in the group here: clone as before and migrate the init */
		if (init > 0)
			waitpid(init, NULL, __WALL);
		close(cg_fd);
		cg_fd = -1;
		init = sup_clone_init(opts, cg_fd);
	}
	if (init == 0) {
		if (cg_fd >= 0)
			close(cg_fd);
		close(sync_fd);
		close(go[1]);
		close(execp[0]);
		if (sigfd >= 0)
			close(sigfd);
		if (cs.listen_fd >= 0)
			close(cs.listen_fd);
		sup_init_fd = execp[1];
		sup_init_main(opts, go[0], fds);
	}
	close(go[0]);
	close(execp[1]);
	if (opts->shape && opts->shape->net_fd >= 0)
		close(opts->shape->net_fd);	/* the init has it */
	if (opts->shape && opts->shape->devpts_fd >= 0)
		close(opts->shape->devpts_fd);	/* the init attached it */
	if (opts->shape && opts->shape->mnt_plan)
		close(opts->shape->mnt_fd);
	if (sup_given_pidns(opts) >= 0)
		close(sup_given_pidns(opts));	/* the init is in it */
	if (fds->slave >= 0)
		close(fds->slave);
	if (!opts->tty)
		close(fds->console);
	if (init < 0) {
		ret = -errno;
		ct_err(ret, "%s: cannot create the container's init: %s", opts->name ?: "init",
		       strerror(-ret));
		sup_abort(sync_fd, 0, ret, "clone3");
	}
	if (cg_fd >= 0)
		close(cg_fd);
	/* born in the v2 group: only v1 hierarchies (freezer, limits) are left */
	ret = !opts->cg ? 0 : cg_fd >= 0 ? cg_attach_v1(opts->cg, init) : cg_attach(opts->cg, init);
	if (!ret)
		ret = sup_record(opts, init, true, 0);
	if (ret)
		sup_abort(sync_fd, init, ret, "start");
	sup_send(sync_fd, SUP_MSG_INIT_PID, 0, init, NULL);
	if (write(go[1], "g", 1) != 1)
		sup_abort(sync_fd, init, -errno, "release the init");
	close(go[1]);
	ret = sup_recv(execp[0], &m);
	close(execp[0]);
	if (ret != 0) {
		int status = 0;

		/* reap and record before the caller hears of it and cleans up */
		waitpid(init, &status, __WALL);
		sup_record(opts, init, false, status);
		if (ret < 0)
			snprintf(m.text, sizeof(m.text), "init: handshake failed: %s", strerror(-ret));
		sup_send(sync_fd, SUP_MSG_ERROR, ret < 0 ? ret : m.err, 0, m.text);
		if (opts->tty)
			console_close(&cs);
		_exit(1);
	}
	close(sync_fd);
	if (opts->tty)
		sup_console_serve(opts, init, &cs, sigfd);
	else
		sup_reap(opts, init);
	_exit(0);
}

/*
 * supervisor_opts.sibling: no supervisor; clone the init from here with
 * CLONE_PARENT (our parent reaps it), place it, release it and wait for
 * its report.  On failure it is killed (its reaper is not us).
 */
static int sup_start_sibling(const struct supervisor_opts *opts, const struct sup_fds *fds,
			     pid_t *init_pid)
{
	int go[2], execp[2], ret;
	struct sup_msg m;
	pid_t init;

	if (pipe2(go, O_CLOEXEC) < 0)
		return ct_err(-errno, "pipe: %m");
	if (pipe2(execp, O_CLOEXEC) < 0) {
		ret = ct_err(-errno, "pipe: %m");
		goto out_go;
	}
	ret = shape_time_for_children(opts->shape);
	if (ret)
		goto out_execp;
	init = sup_clone_init(opts, -1);	/* placed in the runtime's groups below */
	if (init == 0) {
		int keep[] = { go[0], execp[1], fds->console, fds->devnull,
			       opts->shape ? opts->shape->net_fd : -1,
			       opts->shape ? opts->shape->devpts_fd : -1,
			       opts->shape && opts->shape->mnt_plan ? opts->shape->mnt_fd : -1 };

		sup_close_fds_except(keep, ARRAY_SIZE(keep));
		sup_init_fd = execp[1];
		sup_init_main(opts, go[0], fds);
	}
	if (init < 0) {
		ret = ct_err(-errno, "%s: cannot create the container's init: %m", opts->name ?: "init");
		goto out_execp;
	}
	close(execp[1]);
	execp[1] = -1;
	ret = (opts->cg ? cg_attach(opts->cg, init) : 0) ?: sup_record(opts, init, true, 0);
	if (!ret && write(go[1], "g", 1) != 1)
		ret = ct_err(-errno, "%s: cannot release the init: %m", opts->name ?: "init");
	if (!ret) {
		ret = sup_recv(execp[0], &m);
		if (ret > 0)
			ret = ct_err(m.err ?: -EIO, "%s", m.text);
		else if (ret < 0)
			ret = ct_err(ret, "init: handshake failed: %s", strerror(-ret));
	}
	if (ret)
		kill(init, SIGKILL);
	else
		*init_pid = init;
out_execp:
	close(execp[0]);
	if (execp[1] >= 0)
		close(execp[1]);
out_go:
	close(go[0]);
	close(go[1]);
	return ret;
}

/* Fork the supervisor (twice, see supervisor.h) and wait for the init's report. */
/* For run --tty: a new pty, 24x80; *@master and *@slave. */
static int sup_tty_create(int *master, int *slave)
{
	struct winsize ws = { .ws_row = SUP_TTY_ROWS, .ws_col = SUP_TTY_COLS };
	int m, sl;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return ct_err(-errno, "console: cannot create a pseudo-terminal: %m");
	if (unlockpt(m) < 0 || ioctl(m, TIOCSWINSZ, &ws) < 0) {
		close(m);
		return ct_err(-errno, "console: cannot set up the pseudo-terminal: %m");
	}
	/* no O_CLOEXEC here: it would stay in the file's flags (see task/tty.c) */
	sl = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (sl >= 0)
		fcntl(sl, F_SETFD, FD_CLOEXEC);
	if (sl < 0) {
		close(m);
		return ct_err(-errno, "console: cannot open the terminal: %m");
	}
	*master = m;
	*slave = sl;
	return 0;
}

int supervisor_start(const struct supervisor_opts *opts, pid_t *init_pid)
{
	struct sup_fds fds = { .master = -1, .slave = -1 };
	int sync[2], console_fd, devnull, ret, status;
	const char *err_text = NULL;
	struct sup_msg m, err_msg;
	pid_t mid, init = 0;

	console_fd = open(opts->console_path, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY | O_CLOEXEC,
			  0600);
	if (console_fd < 0)
		return ct_err(-errno, "%s: cannot open console: %m", opts->console_path);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		ret = ct_err(-errno, "/dev/null: cannot open: %m");
		goto out_console;
	}
	if (opts->tty && opts->tty_master >= 0) {
		fds.master = opts->tty_master;
	} else if (opts->tty) {
		ret = sup_tty_create(&fds.master, &fds.slave);
		if (ret)
			goto out_devnull;
	}
	if (pipe2(sync, O_CLOEXEC) < 0) {
		ret = ct_err(-errno, "pipe: %m");
		goto out_devnull;
	}
	fds.sync = sync[1];
	fds.console = console_fd;
	fds.devnull = devnull;
	if (opts->sibling) {
		close(sync[1]);
		ret = opts->tty ? ct_err(-EINVAL, "%s: a console needs the supervisor", opts->name ?: "init") :
		      sup_start_sibling(opts, &fds, init_pid);
		goto out_sync;
	}
	mid = fork();
	if (mid < 0) {
		ret = ct_err(-errno, "fork: %m");
		close(sync[1]);
		goto out_sync;
	}
	if (mid == 0) {
		close(sync[0]);
		if (setsid() < 0)
			_exit(1);
		if (fork() == 0)
			sup_main(opts, &fds);
		_exit(0);
	}
	close(sync[1]);
	waitpid(mid, &status, 0);
	ret = 0;
	while ((ret = sup_recv(sync[0], &m)) > 0) {
		if (m.type == SUP_MSG_INIT_PID) {
			init = m.pid;
		} else if (m.type == SUP_MSG_ERROR && !err_text) {
			err_msg = m;
			err_text = err_msg.text;
		}
	}
	if (err_text)
		ret = ct_err(err_msg.err ?: -EIO, "%s", err_text);
	else if (ret < 0)
		ret = ct_err(ret, "supervisor: handshake failed: %s", strerror(-ret));
	else if (!init)
		ret = ct_err(-ECHILD, "supervisor: exited before starting the init");
	else
		*init_pid = init;
out_sync:
	close(sync[0]);
out_devnull:
	if (fds.slave >= 0) {
		close(fds.slave);
		close(fds.master);
	}
	close(devnull);
out_console:
	close(console_fd);
	return ret;
}

/* Wait for the recorded supervisor to exit. */
int supervisor_wait(const struct ct_state *st, int timeout_ms)
{
	long long pid, start;
	unsigned long long now_start;
	struct pollfd pfd;
	int fd, ret;

	if (state_get_ll(st, "supervisor_pid", &pid) || state_get_ll(st, "supervisor_start", &start))
		return 0;
	fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd < 0)
		return 0;	/* gone */
	/* the pid may have been reused: check it is the same process */
	if (proc_starttime(pid, &now_start) || now_start != (unsigned long long)start) {
		close(fd);
		return 0;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	do
		ret = poll(&pfd, 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	close(fd);
	return ret > 0 ? 0 : -ETIMEDOUT;
}
