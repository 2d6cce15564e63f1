// SPDX-License-Identifier: MIT
/*
 * The container's console: the slave of a pseudo-terminal (`run --tty`, or
 * any pty slave the tasks hold), and /dev/tty opened on it.
 *
 * Dump records, per open file description, the terminal's settings (termios2,
 * window size) and which session has it as controlling terminal with which
 * foreground process group.  The pty itself is gone once the container is
 * killed (its master lived in the supervisor), so restore creates a new pair,
 * applies the settings, opens one slave description per recorded one (fds
 * sharing a description keep sharing it), gives the session leader its
 * controlling terminal back (injected TIOCSCTTY right after its setsid, so
 * what it forks inherits it) and sets the foreground group (TIOCSPGRP).  The
 * master goes to the restore's supervisor, which serves STORE/NAME/console.sock.
 *
 * Refused at dump: input typed and not read yet (tty_check_unread_input)
 * and a second terminal (one console per container).  Output the master side
 * has not read yet stays with the old supervisor, which reads it into the
 * console log (or, with --leave-running, goes on serving it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define LOG_PREFIX "tty: "
#include <asm/termbits.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"
#include "task/task.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* UNIX98 pty slaves: majors 136..143; /dev/tty is 5:0. */
#define TTY_PTS_MAJOR_FIRST 136
#define TTY_PTS_MAJOR_LAST 143

/* A device number encoded as the kernel shows tty_nr in /proc/PID/stat. */
uint32_t tty_encode_dev(dev_t dev)
{
	unsigned int ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

/* Is @st a pty slave or /dev/tty? */
bool tty_is_console(const struct stat *st)
{
	unsigned int ma = major(st->st_rdev);

	if (ma >= TTY_PTS_MAJOR_FIRST && ma <= TTY_PTS_MAJOR_LAST)
		return true;
	return ma == 5 && minor(st->st_rdev) == 0;
}

/* Fields 5 (pgrp), 6 (session), 7 (tty_nr) and 8 (tpgid) of /proc/PID/stat, host pids. */
struct tty_stat {
	int pgrp, sid, tpgid;
	uint32_t tty_nr;
};

static int tty_proc_stat(pid_t pid, struct tty_stat *ts)
{
	char path[64], buf[1024], *p;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	ret = read_small_file(path, buf, sizeof(buf));
	if (ret)
		return ret;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %d %d %u %d", &ts->pgrp, &ts->sid, &ts->tty_nr, &ts->tpgid) != 4)
		return -EINVAL;
	return 0;
}

/* The in-container id of host process group @host_pgrp (@sid: session), from a task in it; 0 if none. */
static pid_t tty_ns_id(const struct ct_image *img, int host_id, bool sid)
{
	struct tty_stat ts;

	for (uint32_t i = 0; i < img->nr_tasks; i++) {
		const struct ct_task *t = &img->tasks[i];

		if (t->host_pid <= 0 || tty_proc_stat(t->host_pid, &ts))
			continue;
		if (sid ? ts.sid == host_id : ts.pgrp == host_id)
			return sid ? t->sid : t->pgid;
	}
	return 0;
}

pid_t tty_ns_pgrp(const struct ct_image *img, int host_pgrp)
{
	return tty_ns_id(img, host_pgrp, false);
}

pid_t tty_ns_sid(const struct ct_image *img, int host_sid)
{
	return tty_ns_id(img, host_sid, true);
}

/* Is session @sid (in the container) the owner of one of its own ptys (pty.c)? */
static bool tty_sid_has_pty(const struct ct_image *img, pid_t sid)
{
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == CT_FILE_PTY && img->files[i].tty_sid == sid)
			return true;
	return false;
}

/*
 * Which session of the image has terminal @dev (as tty_nr) as controlling
 * terminal, and its foreground group, into @f.  A pty of the container's
 * own devpts has the same device numbers as the host's: a session that a
 * recorded pty master names is not it (the console, and pty.c's slaves
 * whose master is outside, never share a device number: pty.c checks).
 */
void tty_find_owner(const struct ct_image *img, uint32_t dev, struct ct_file *f)
{
	struct tty_stat ts;

	for (uint32_t i = 0; i < img->nr_tasks; i++) {
		const struct ct_task *t = &img->tasks[i];

		if (t->host_pid <= 0 || tty_proc_stat(t->host_pid, &ts))
			continue;
		if (ts.tty_nr != dev || t->sid <= 0 || tty_sid_has_pty(img, t->sid))
			continue;
		f->tty_sid = t->sid;
		f->tty_fg_pgrp = ts.tpgid > 0 ? tty_ns_pgrp(img, ts.tpgid) : 0;
		if (ts.tpgid > 0 && !f->tty_fg_pgrp)
			pr_warn("foreground group %d of terminal %#x is outside the container", ts.tpgid, dev);
		return;
	}
}

/* The device a /dev/tty fd of @pid stands for: its controlling terminal. */
static int tty_ctty_dev(const struct fd_dump *d, uint32_t *dev)
{
	struct tty_stat ts;

	if (tty_proc_stat(d->pid, &ts) || !ts.tty_nr)
		return ct_err(-ENOTSUP, "pid %d: fd %d: /dev/tty without a controlling terminal",
			      d->pid, d->fd);
	*dev = ts.tty_nr;
	return 0;
}

/* Does the parent of @init (the container's supervisor) hold the master of host pty @index? */
static bool tty_supervisor_holds(pid_t init, unsigned int index)
{
	char path[64], buf[1024], *p;
	struct dirent *de;
	int ppid = 0;
	unsigned int n;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/stat", init);
	if (read_small_file(path, buf, sizeof(buf)) || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %d", &ppid) != 1 || ppid <= 1)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", ppid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		ssize_t len = -1;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			len = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		if (len <= 0)
			continue;
		buf[len] = '\0';	/* every line: tty-index comes after pos, flags, mnt_id, ino */
		p = strstr(buf, "tty-index:");
		found = p && sscanf(p, "tty-index: %u", &n) == 1 && n == index;
	}
	closedir(dir);
	return found;
}

/*
 * Is pty slave @st the console: on the host's devpts, its master held by
 * the container's supervisor?  Any other pty of the host is a terminal of
 * someone outside, which a restore could not give back.
 */
static int tty_check_console(const struct fd_dump *d)
{
	unsigned int index = (major(d->st->st_rdev) - TTY_PTS_MAJOR_FIRST) * 256 + minor(d->st->st_rdev);
	struct stat pts;

	if (stat("/dev/pts", &pts) == 0 && pts.st_dev == d->st->st_dev &&
	    tty_supervisor_holds(d->img->tasks[0].host_pid, index))
		return 0;
	return ct_err(-ENOTSUP, "pid %d: fd %d: %s is a pty of the host's devpts, not the container's own (only its console can be kept)",
		      d->pid, d->fd, d->link);
}

/* Is /dev/tty fd @d, on terminal @dev (as tty_nr), the console?  Only that one is kept. */
static int tty_check_devtty(const struct fd_dump *d, uint32_t dev)
{
	unsigned int ma = (dev >> 8) & 0xfff, mi = (dev & 0xff) | ((dev >> 12) & 0xfff00);

	if (ma >= TTY_PTS_MAJOR_FIRST && ma <= TTY_PTS_MAJOR_LAST &&
	    tty_supervisor_holds(d->img->tasks[0].host_pid, (ma - TTY_PTS_MAJOR_FIRST) * 256 + mi))
		return 0;
	return ct_err(-ENOTSUP, "pid %d: fd %d: /dev/tty of a terminal other than the console (%u:%u): not supported",
		      d->pid, d->fd, ma, mi);
}

static bool tty_match(const struct fd_dump *d)
{
	return d->link[0] == '/' && S_ISCHR(d->st->st_mode) && tty_is_console(d->st);
}

/* Record a terminal fd: its settings and who owns it. */
static int tty_dump(const struct fd_dump *d, struct ct_file *f)
{
	uint32_t dev = 0;
	int fd, ret = 0;

	if (major(d->st->st_rdev) == 5) {
		f->tty_flags |= CT_TTY_DEVTTY;
		ret = tty_ctty_dev(d, &dev) ?: tty_check_devtty(d, dev);
		if (ret)
			return ret;
	} else {
		dev = tty_encode_dev(d->st->st_rdev);
		ret = tty_check_console(d);
		if (ret)
			return ret;
		tty_node_read(d->st, &f->pty_node);	/* /dev/tty's own node is not the terminal's */
	}
	for (uint32_t i = 0; i < d->img->nr_files; i++) {
		const struct ct_file *o = &d->img->files[i];

		if (o->kind == CT_FILE_TTY && o->tty_dev != dev)
			return ct_err(-ENOTSUP, "pid %d: fd %d: a second terminal %s (one console per container)",
				      d->pid, d->fd, d->link);
	}
	f->tty_dev = dev;
	fd = fd_grab(d->pid, d->fd);
	if (fd < 0)
		return fd;
	ret = tty_check_unread_input(d, fd) ?: tty_read_settings(d, fd, f);
	pr_debug("pid %d: fd %d: %s, %ux%u", d->pid, d->fd, d->link, f->tty_cols, f->tty_rows);
	close(fd);
	return ret;
}

/* After every task: the console's owning session (pty.c has recorded the ptys' ones by then). */
static int tty_dump_finish(struct ct_image *img, uint32_t i, const struct task_ctx *policy)
{
	(void)policy;
	tty_find_owner(img, img->files[i].tty_dev, &img->files[i]);
	return 0;
}

/*
 * Input typed and not read yet went through echo and the line discipline's
 * input processing already: written in again at restore it would be echoed
 * and processed twice, so it cannot be put back as it was.  (In canonical
 * mode an unfinished line is not counted by FIONREAD, and nothing else shows
 * it without changing the terminal.)
 */
int tty_check_unread_input(const struct fd_dump *d, int fd)
{
	int inq = 0;

	if (ioctl(fd, FIONREAD, &inq) < 0)
		return ct_err(-errno, "pid %d: fd %d: %s: cannot read the terminal's input queue: %m",
			      d->pid, d->fd, d->link);
	if (inq > 0)
		return ct_err(-ENOTSUP, "pid %d: fd %d: %s holds %d bytes of input the program has not read (they cannot be put back as they were)",
			      d->pid, d->fd, d->link, inq);
	return 0;
}

int tty_read_settings(const struct fd_dump *d, int fd, struct ct_file *f)
{
	struct termios2 tio;
	struct winsize ws;

	if (ioctl(fd, TCGETS2, &tio) < 0 || ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot read the terminal settings of %s: %m",
			      d->pid, d->fd, d->link);
	f->tty_iflag = tio.c_iflag;
	f->tty_oflag = tio.c_oflag;
	f->tty_cflag = tio.c_cflag;
	f->tty_lflag = tio.c_lflag;
	f->tty_line = tio.c_line;
	f->tty_ispeed = tio.c_ispeed;
	f->tty_ospeed = tio.c_ospeed;
	memcpy(f->tty_cc, tio.c_cc, sizeof(f->tty_cc));
	f->tty_rows = ws.ws_row;
	f->tty_cols = ws.ws_col;
	f->tty_xpixel = ws.ws_xpixel;
	f->tty_ypixel = ws.ws_ypixel;
	return 0;
}

/* ---- restore ---- */

/* Apply @f's recorded termios and window size to the terminal behind @fd. */
int tty_apply(int fd, const struct ct_file *f)
{
	struct termios2 tio = {
		.c_iflag = f->tty_iflag, .c_oflag = f->tty_oflag,
		.c_cflag = f->tty_cflag, .c_lflag = f->tty_lflag,
		.c_line = (cc_t)f->tty_line,
		.c_ispeed = f->tty_ispeed, .c_ospeed = f->tty_ospeed,
	};
	struct winsize ws = {
		.ws_row = (unsigned short)f->tty_rows, .ws_col = (unsigned short)f->tty_cols,
		.ws_xpixel = (unsigned short)f->tty_xpixel, .ws_ypixel = (unsigned short)f->tty_ypixel,
	};

	memcpy(tio.c_cc, f->tty_cc, sizeof(f->tty_cc));
	if (ioctl(fd, TCSETS2, &tio) < 0)
		return ct_err(-errno, "terminal: cannot set the terminal settings: %m");
	if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		return ct_err(-errno, "terminal: cannot set the window size: %m");
	return 0;
}

/*
 * A new slave description of @master's pty.  Not O_CLOEXEC in the ioctl: the
 * kernel would keep that bit in the file's flags, /proc/PID/fdinfo would then
 * show every fd of it close-on-exec, and the next dump would make them so.
 */
int tty_peer(int master, int flags)
{
	int fd = ioctl(master, TIOCGPTPEER, flags | O_NOCTTY);

	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* The console's node as a slave description of @img recorded it (a /dev/tty one has none). */
static const struct ct_pty_node *tty_console_node(const struct ct_image *img)
{
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == CT_FILE_TTY && img->files[i].pty_node.mode)
			return &img->files[i].pty_node;
	return NULL;
}

/* Give the new console's slave @fd the owner, permissions and times @n recorded (NULL: none). */
static int tty_node_apply(int fd, const struct ct_pty_node *n)
{
	char path[64];

	if (!n)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (tty_node_apply_at(AT_FDCWD, path, n) < 0)
		return ct_err(-errno, "console: cannot give the new terminal its owner, mode and times: %m");
	return 0;
}

/* Create the new console pty: the master into @ft, settings and node from @f and @img applied. */
static int tty_create(const struct ct_image *img, const struct ct_file *f, struct file_table *ft)
{
	int master, slave, ret;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return ct_err(-errno, "console: cannot create a pseudo-terminal: %m");
	if (unlockpt(master) < 0) {
		ret = ct_err(-errno, "console: unlockpt: %m");
		goto out_master;
	}
	slave = tty_peer(master, O_RDWR);
	if (slave < 0) {
		ret = ct_err(-errno, "console: cannot open the new terminal: %m");
		goto out_master;
	}
	ret = tty_apply(slave, f) ?: tty_node_apply(slave, tty_console_node(img));
	close(slave);
	if (ret)
		goto out_master;
	ft->tty_master = master;
	return 0;
out_master:
	close(master);
	return ret;
}

/* Open file @i: a new description of the console's slave, as recorded. */
static int tty_open(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	struct file_table *ft = rs->ft;
	int fd, ret;

	if (ft->tty_master < 0) {
		ret = tty_create(rs->img, f, ft);
		if (ret)
			return ret;
	}
	fd = tty_peer(ft->tty_master, (int)(f->flags & O_ACCMODE));
	if (fd < 0)
		return ct_err(-errno, "console: cannot open the new terminal: %m");
	return fd_restore_place(rs, i, fd);
}

/*
 * The terminal whose owning session @t leads: a console file, or a slave
 * file of the pty whose master records it (pty.c); -1 if none.  *@owner is
 * the file that holds the settings (the console file, the pty's master).
 */
static int tty_owned_by(const struct ct_image *img, const struct ct_task *t,
			const struct file_table *ft, int *owner)
{
	if (t->sid != t->pid)
		return -1;
	for (uint32_t i = 0; i < img->nr_files && i < ft->nr; i++) {
		const struct ct_file *f = &img->files[i];

		if (f->tty_sid != t->pid || (f->kind != CT_FILE_TTY && f->kind != CT_FILE_PTY))
			continue;
		*owner = (int)i;
		if (f->kind == CT_FILE_TTY && ft->fds[i] >= 0)
			return (int)i;
		if (f->kind == CT_FILE_PTY)
			return pty_slave_of(img, ft, i);
	}
	return -1;
}

/* In session leader @t: the console becomes its controlling terminal. */
int tty_restore_ctty(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t,
		     const struct file_table *ft)
{
	int owner, i = tty_owned_by(img, t, ft, &owner);
	long ret;

	if (i < 0)
		return 0;
	ret = inj_syscall(tc->inj, __NR_ioctl, ft->fds[i], TIOCSCTTY, 0, 0, 0, 0);
	if (ret < 0)
		return ct_err((int)ret, "pid %d: cannot make the %s its controlling terminal: %s",
			      t->pid, img->files[i].kind == CT_FILE_PTY ? "pty" : "console",
			      strerror((int)-ret));
	return 0;
}

/* In session leader @t: put the recorded foreground group in front. */
int tty_restore_fg(struct task_ctx *tc, const struct ct_image *img, const struct ct_task *t,
		   const struct file_table *ft)
{
	int owner, i = tty_owned_by(img, t, ft, &owner), ret;
	int32_t pgrp;
	long r;

	if (i < 0 || img->files[owner].tty_fg_pgrp <= 0)
		return 0;
	pgrp = img->files[owner].tty_fg_pgrp;
	ret = inj_write_mem(tc->host_pid, tc->scratch, &pgrp, sizeof(pgrp));
	if (ret)
		return ct_err(ret, "pid %d: cannot write to its scratch memory", t->pid);
	r = inj_syscall(tc->inj, __NR_ioctl, ft->fds[i], TIOCSPGRP, tc->scratch, 0, 0, 0);
	if (r < 0)
		return ct_err((int)r, "pid %d: cannot make group %d the terminal's foreground: %s",
			      t->pid, pgrp, strerror((int)-r));
	return 0;
}

/* ---- a terminal's node: /dev/pts/N's owner, permissions and times ---- */

void tty_node_read(const struct stat *st, struct ct_pty_node *n)
{
	n->mode = st->st_mode;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->atime_sec = st->st_atim.tv_sec;
	n->atime_nsec = (uint32_t)st->st_atim.tv_nsec;
	n->mtime_sec = st->st_mtim.tv_sec;
	n->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
}

void tty_node_times(const struct ct_pty_node *n, struct timespec ts[2])
{
	ts[0] = (struct timespec){ .tv_sec = n->atime_sec, .tv_nsec = n->atime_nsec };
	ts[1] = (struct timespec){ .tv_sec = n->mtime_sec, .tv_nsec = n->mtime_nsec };
}

int tty_node_apply_at(int dirfd, const char *name, const struct ct_pty_node *n)
{
	struct timespec ts[2];

	if (!n->mode)
		return 0;
	tty_node_times(n, ts);
	/* the owner before the mode: a chown may clear set-id bits */
	if (fchownat(dirfd, name, n->uid, n->gid, 0) < 0 || fchmodat(dirfd, name, n->mode & 07777, 0) < 0 ||
	    utimensat(dirfd, name, ts, 0) < 0)
		return -errno;
	return 0;
}

void tty_node_encode(struct wbuf *w, const struct ct_pty_node *n)
{
	w_u32(w, n->mode);
	w_u32(w, n->uid);
	w_u32(w, n->gid);
	w_u64(w, (uint64_t)n->atime_sec);
	w_u32(w, n->atime_nsec);
	w_u64(w, (uint64_t)n->mtime_sec);
	w_u32(w, n->mtime_nsec);
}

void tty_node_decode(struct rbuf *r, struct ct_pty_node *n)
{
	n->mode = r_u32(r);	/* absent in an older blob: 0, not recorded */
	n->uid = r_u32(r);
	n->gid = r_u32(r);
	n->atime_sec = (int64_t)r_u64(r);
	n->atime_nsec = r_u32(r);
	n->mtime_sec = (int64_t)r_u64(r);
	n->mtime_nsec = r_u32(r);
}

bool tty_node_is_sane(const struct ct_pty_node *n)
{
	if (!n->mode)
		return !n->uid && !n->gid && !n->atime_sec && !n->mtime_sec && !n->atime_nsec &&
		       !n->mtime_nsec;
	return S_ISCHR(n->mode) && !(n->mode & ~(S_IFMT | 07777)) && n->atime_nsec < 1000000000 &&
	       n->mtime_nsec < 1000000000;
}

/* ---- blob ---- */

void tty_encode(struct wbuf *w, const struct ct_file *f)
{
	size_t at = w_begin(w, REC_FILE_TTY);

	w_u32(w, f->tty_flags);
	w_u32(w, f->tty_dev);
	w_u32(w, f->tty_iflag);
	w_u32(w, f->tty_oflag);
	w_u32(w, f->tty_cflag);
	w_u32(w, f->tty_lflag);
	w_u32(w, f->tty_line);
	w_u32(w, f->tty_ispeed);
	w_u32(w, f->tty_ospeed);
	w_bytes(w, f->tty_cc, sizeof(f->tty_cc));
	w_u32(w, f->tty_rows);
	w_u32(w, f->tty_cols);
	w_u32(w, f->tty_xpixel);
	w_u32(w, f->tty_ypixel);
	w_u32(w, (uint32_t)f->tty_sid);
	w_u32(w, (uint32_t)f->tty_fg_pgrp);
	if (f->kind == CT_FILE_TTY)	/* a pty's node is in its PTY record */
		tty_node_encode(w, &f->pty_node);
	w_end(w, at);
}

/* The terminal's fields (also the tail of a format-1 FILE record: absent there reads as zero). */
void tty_decode_fields(struct rbuf *r, struct ct_file *f)
{
	uint64_t n = 0;
	uint8_t *cc;

	f->tty_flags = r_u32(r);
	f->tty_dev = r_u32(r);
	f->tty_iflag = r_u32(r);
	f->tty_oflag = r_u32(r);
	f->tty_cflag = r_u32(r);
	f->tty_lflag = r_u32(r);
	f->tty_line = r_u32(r);
	f->tty_ispeed = r_u32(r);
	f->tty_ospeed = r_u32(r);
	cc = r_bytes(r, &n, sizeof(f->tty_cc));
	if (cc)
		memcpy(f->tty_cc, cc, min_t(uint64_t, n, sizeof(f->tty_cc)));
	free(cc);
	f->tty_rows = r_u32(r);
	f->tty_cols = r_u32(r);
	f->tty_xpixel = r_u32(r);
	f->tty_ypixel = r_u32(r);
	f->tty_sid = r_i32(r);
	f->tty_fg_pgrp = r_i32(r);
}

static void tty_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag == REC_FILE_TTY) {
		tty_decode_fields(r, f);
		tty_node_decode(r, &f->pty_node);
	}
}

bool tty_settings_are_sane(const struct ct_file *f)
{
	return !((f->tty_flags & ~CT_TTY_DEVTTY) || f->tty_sid < 0 || f->tty_fg_pgrp < 0 ||
		 (f->tty_fg_pgrp && !f->tty_sid) || f->tty_rows > 0xffff ||
		 f->tty_cols > 0xffff || f->tty_xpixel > 0xffff || f->tty_ypixel > 0xffff);
}

/* One console per image, window sizes within 16 bits, known flags, sane owner. */
static bool tty_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	/* every description of the one console names the same terminal */
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == CT_FILE_TTY && img->files[i].tty_dev != f->tty_dev)
			return false;
	return tty_settings_are_sane(f) && tty_node_is_sane(&f->pty_node);
}

const struct fd_kind fd_kind_tty = {
	.kind = CT_FILE_TTY,
	.fmt = {
		.name = "terminal",
		.encode = tty_encode,
		.decode = tty_decode,
		.is_sane = tty_is_sane,
	},
	.match = tty_match,
	.dump = tty_dump,
	.dump_finish = tty_dump_finish,
	.open = tty_open,
};
