// SPDX-License-Identifier: MIT
/*
 * Pseudo-terminals of the container's own devpts instance (tmux, screen,
 * script): master (/dev/ptmx) and slave (/dev/pts/N) descriptions.
 *
 * Every container with a mount namespace of its own has a devpts instance
 * of its own (container/shape.c), so a pty it makes is known by its index
 * N alone.  Dump records, on the master's description, the index, the lock
 * (TIOCGPTLCK), packet mode, exclusive mode, the slave's termios2 and window
 * size (the master's ioctls reach the slave's), the session whose
 * controlling terminal it is with its foreground group (TIOCGSID and
 * TIOCGPGRP on the master answer without being that session), and the
 * bytes the slave side wrote that the master has not read yet; a slave
 * description records its index and its exclusive mode.
 *
 * Those queued bytes are read from the master (consumed: the kernel has no
 * peek for a tty) and written back at once through a slave opened for it
 * with output processing off, so the tasks find them as they were whether
 * the dump then kills them, fails or leaves them running.  Input the slave
 * side has not read yet cannot be put back faithfully (it went through
 * echo and the line discipline's input processing already): the dump
 * refuses it.  (In canonical mode an unfinished line is not counted by
 * FIONREAD at all; no interface shows it, and it is not kept.)
 *
 * Restore makes a new devpts instance (a detached mount, fsopen) before the
 * files are opened; the container's init attaches it at /dev/pts.  In a
 * root of its own, the rebuilt tree's /dev/pts is that new instance.  A fresh
 * instance hands out the lowest free index, so ptmx is opened until the
 * wanted index comes up and the spare ones are closed.  The queued output
 * is written in through a slave with output processing off, then the
 * settings are applied; slaves open in the second pass as new peers of
 * their master; the lock is set back once the last of them is open.  The
 * session leader gets the pty back as controlling terminal and its
 * foreground group through tty.c (tty_restore_ctty, tty_restore_fg).
 *
 * Refused at dump: a master of another devpts instance (the host's), a
 * slave whose master no task of the container holds (but see below), and a
 * pty that is a session's controlling terminal with no slave description
 * left in the container (TIOCSCTTY needs one).
 *
 * A runtime's terminal (podman -t, runc): the container's fds 0-2 are
 * /dev/pts/0 of its own devpts and the master is held outside, by conmon.
 * With the dump's orphan_pts policy (the criu front end sets it from runc's
 * orphan_pts_master) such a slave is an "orphan": each of its descriptions
 * records the index, what the slave side shows of the settings (termios2,
 * window size) and the session whose controlling terminal it is with its
 * foreground group (/proc/PID/stat: TIOCGSID answers only that session).
 * One such pty per container (a runtime gives one).  Input queued towards
 * the slave refuses the dump as for any slave.  Output the slave wrote
 * that the master has not read yet is in the runtime's old pty, not ours
 * to take: it stays there for conmon, which reads it into the container's
 * log before runc's kill closes the old pty (or, with leave_running, goes
 * on reading it); the restored terminal starts empty, so no byte is shown
 * twice.  Restore makes a new pty of that index in the new devpts with the
 * recorded settings, gives the tasks their slave descriptions from it and
 * leaves its master in ft->pts_master for the restore's caller (the front
 * end sends it to runc as the orphan-pts-master notification).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define LOG_PREFIX "pty: "
#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"
#include "task/task.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

#define PTY_SLAVE_MAJOR_FIRST 136	/* UNIX98 pty slaves: majors 136..143 */
#define PTY_SLAVE_MAJOR_LAST 143
#define PTY_OUTQ_MAX (1u << 20)		/* queued output kept, at most (the kernel holds far less) */

/* Is @st a pty master, /dev/ptmx (5:2)? */
static bool pty_is_master(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 5 && minor(st->st_rdev) == 2;
}

static bool pty_is_slave(const struct stat *st)
{
	unsigned int ma = major(st->st_rdev);

	return S_ISCHR(st->st_mode) && ma >= PTY_SLAVE_MAJOR_FIRST && ma <= PTY_SLAVE_MAJOR_LAST;
}

/* N of /dev/pts/N from a slave's device number. */
static uint32_t pty_slave_index(const struct stat *st)
{
	return (major(st->st_rdev) - PTY_SLAVE_MAJOR_FIRST) * 256 + minor(st->st_rdev);
}

/*
 * The device of the container's own devpts instance: what its init sees at
 * /dev/pts, if that is a devpts other than ours.  -ENOENT: it has none (no
 * mount namespace of its own: it shares the host's /dev/pts).
 */
static int pty_own_devpts(const struct ct_image *img, dev_t *dev)
{
	char path[64];
	struct stat st, host;
	struct statfs sfs;

	if (!img->nr_tasks || img->tasks[0].host_pid <= 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/root/dev/pts", img->tasks[0].host_pid);
	if (stat(path, &st) < 0 || statfs(path, &sfs) < 0 || sfs.f_type != DEVPTS_SUPER_MAGIC)
		return -ENOENT;
	if (stat("/dev/pts", &host) == 0 && host.st_dev == st.st_dev)
		return -ENOENT;
	*dev = st.st_dev;
	return 0;
}

/* Every master, and the slaves of the container's own devpts (others are tty.c's). */
static bool pty_match(const struct fd_dump *d)
{
	dev_t own;

	if (d->link[0] != '/')
		return false;
	if (pty_is_master(d->st))
		return true;
	return pty_is_slave(d->st) && !pty_own_devpts(d->img, &own) && d->st->st_dev == own;
}

/* The host sid and foreground group of master @m's pty into container ids in @f. */
static int pty_dump_owner(const struct fd_dump *d, int m, struct ct_file *f)
{
	pid_t sid = 0, pgrp = 0;

	if (ioctl(m, TIOCGSID, &sid) < 0)
		return 0;	/* ENOTTY: no session has it */
	f->tty_sid = tty_ns_sid(d->img, sid);
	if (!f->tty_sid)
		return ct_err(-ENOTSUP, "pid %d: fd %d: pty %u is the controlling terminal of session %d outside the container",
			      d->pid, d->fd, f->pty_index, sid);
	if (ioctl(m, TIOCGPGRP, &pgrp) == 0 && pgrp > 0) {
		f->tty_fg_pgrp = tty_ns_pgrp(d->img, pgrp);
		if (!f->tty_fg_pgrp)
			pr_warn("pid %d: fd %d: foreground group %d of pty %u has no process in the container: not kept",
				d->pid, d->fd, pgrp, f->pty_index);
	}
	return 0;
}

/* Write @len bytes into pty @m's master side through a new slave, output processing off. */
static int pty_write_back(int m, const uint8_t *data, uint64_t len)
{
	struct termios2 tio, raw;
	uint64_t done = 0;
	ssize_t n;
	int s, ret = 0;

	if (ioctl(m, TCGETS2, &tio) < 0)
		return -errno;
	s = tty_peer(m, O_RDWR | O_NONBLOCK);
	if (s < 0)
		return -errno;
	raw = tio;
	raw.c_oflag &= ~(tcflag_t)OPOST;
	if (ioctl(s, TCSETS2, &raw) < 0)
		ret = -errno;
	while (!ret && done < len) {
		n = write(s, data + done, len - done);
		if (n <= 0)
			ret = n < 0 ? -errno : -EIO;
		else
			done += (uint64_t)n;
	}
	if (ioctl(s, TCSETS2, &tio) < 0 && !ret)
		ret = -errno;
	close(s);
	return ret;
}

/* Write @f's queued output back into the live pty @m, unlocked for that moment if it is locked. */
static int pty_put_back(int m, const struct ct_file *f)
{
	int unlock = 0, lock = 1, ret;

	if ((f->pty_flags & CT_PTY_LOCKED) && ioctl(m, TIOCSPTLCK, &unlock) < 0)
		return -errno;
	ret = pty_write_back(m, f->pty_outq, f->pty_outq_len);
	if ((f->pty_flags & CT_PTY_LOCKED) && ioctl(m, TIOCSPTLCK, &lock) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* Read what master @m has to read, without blocking: into @f's pty_outq. */
static int pty_read_outq(int m, bool packet, struct ct_file *f)
{
	uint8_t chunk[4096];
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	for (;;) {
		n = read(m, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)	/* EAGAIN: drained (the read flushed the tty's pending work first); EIO: slave gone */
			return errno == EAGAIN || errno == EIO ? 0 : -errno;
		if (n == 0)
			return 0;
		/* in packet mode each read starts with the TIOCPKT_DATA byte */
		if (packet)
			n--;
		if (f->pty_outq_len + (uint64_t)n > PTY_OUTQ_MAX)
			return -EFBIG;
		ret = xgrow(&f->pty_outq, &cap, f->pty_outq_len + (size_t)n, 1);
		if (ret)
			return ret;
		memcpy(f->pty_outq + f->pty_outq_len, chunk + (packet ? 1 : 0), (size_t)n);
		f->pty_outq_len += (uint64_t)n;
	}
}

/*
 * The bytes the slave side wrote and the master has not read: read them,
 * then write them straight back, so the pty is as it was.
 */
static int pty_dump_outq(const struct fd_dump *d, int m, struct ct_file *f)
{
	bool packet = f->pty_flags & CT_PTY_PACKET;
	struct pollfd pfd = { .fd = m, .events = POLLPRI };
	int fl, ret;

	/* a packet-mode status byte unread: reading it would take it for good */
	if (packet && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLPRI))
		return ct_err(-ENOTSUP, "pid %d: fd %d: pty %u: a packet-mode status change the program has not read yet",
			      d->pid, d->fd, f->pty_index);
	fl = fcntl(m, F_GETFL);
	if (fl < 0 || fcntl(m, F_SETFL, fl | O_NONBLOCK) < 0)
		return ct_err(-errno, "pid %d: fd %d: pty %u: %m", d->pid, d->fd, f->pty_index);
	ret = pty_read_outq(m, packet, f);
	fcntl(m, F_SETFL, fl);	/* the program's description: its flags as they were */
	if (ret == -EFBIG)
		return ct_err(ret, "pid %d: fd %d: pty %u: more than %u bytes of unread output",
			      d->pid, d->fd, f->pty_index, PTY_OUTQ_MAX);
	if (!ret && f->pty_outq_len)
		ret = pty_put_back(m, f);
	if (ret)
		return ct_err(ret, "pid %d: fd %d: pty %u: cannot read its %llu unread bytes back: %s",
			      d->pid, d->fd, f->pty_index, (unsigned long long)f->pty_outq_len,
			      strerror(-ret));
	pr_debug("pid %d: fd %d: pty %u: %llu bytes queued for the master", d->pid, d->fd,
		 f->pty_index, (unsigned long long)f->pty_outq_len);
	return 0;
}

/*
 * The slave node of master @m (O_PATH: not opened as a terminal) into *@node,
 * recorded in @f; refused unless it is of the container's own devpts.
 */
static int pty_master_node(const struct fd_dump *d, int m, struct ct_file *f, int *node)
{
	struct stat st;
	dev_t own;
	int s = ioctl(m, TIOCGPTPEER, O_PATH | O_CLOEXEC);

	if (s < 0)
		return ct_err(-errno, "pid %d: fd %d: %s: cannot find its pty: %m", d->pid, d->fd, d->link);
	if (fstat(s, &st) < 0)
		st.st_dev = 0;
	if (pty_own_devpts(d->img, &own) || st.st_dev != own) {
		close(s);
		return ct_err(-ENOTSUP, "pid %d: fd %d: %s: pty %u is of the host's devpts, not the container's own",
			      d->pid, d->fd, d->link, f->pty_index);
	}
	tty_node_read(&st, &f->pty_node);
	*node = s;
	return 0;
}

/*
 * Set node @fd's (O_PATH) times back to @n's: writing queued output back
 * through a slave moves its node's mtime (the tty layer does, in 8 s steps).
 */
static int pty_node_put_times(int fd, const struct ct_pty_node *n)
{
	struct timespec ts[2];
	char path[64];

	tty_node_times(n, ts);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return utimensat(AT_FDCWD, path, ts, 0) < 0 ? -errno : 0;
}

/* A master: index, lock, packet and exclusive mode, settings, owner, queued output. */
static int pty_dump_master(const struct fd_dump *d, int m, struct ct_file *f)
{
	int index = -1, locked = 0, packet = 0, excl = 0, node = -1, ret;

	f->pty_flags = CT_PTY_MASTER;
	if (ioctl(m, TIOCGPTN, &index) < 0 || ioctl(m, TIOCGPTLCK, &locked) < 0 ||
	    ioctl(m, TIOCGPKT, &packet) < 0 || ioctl(m, TIOCGEXCL, &excl) < 0)
		return ct_err(-errno, "pid %d: fd %d: %s: cannot read the pty's state: %m",
			      d->pid, d->fd, d->link);
	f->pty_index = (uint32_t)index;
	f->pty_flags |= (locked ? CT_PTY_LOCKED : 0) | (packet ? CT_PTY_PACKET : 0) |
			(excl ? CT_PTY_EXCL : 0);
	ret = pty_master_node(d, m, f, &node);
	if (ret)
		return ret;
	ret = tty_read_settings(d, m, f) ?:
	      pty_dump_owner(d, m, f) ?:
	      pty_dump_outq(d, m, f);
	if (!ret && f->pty_outq_len && pty_node_put_times(node, &f->pty_node) < 0)
		ret = ct_err(-errno, "pid %d: fd %d: /dev/pts/%u: cannot set its times back: %m",
			     d->pid, d->fd, f->pty_index);
	close(node);
	pr_debug("pid %d: fd %d: pty %u master, flags %#x, session %d, foreground %d", d->pid,
		 d->fd, f->pty_index, f->pty_flags, f->tty_sid, f->tty_fg_pgrp);
	return ret;
}

/*
 * A slave: its index, exclusive mode and settings (kept if its master turns
 * out to be outside: pty_dump_orphan); unread input refuses the dump.
 */
static int pty_dump_slave(const struct fd_dump *d, int s, struct ct_file *f)
{
	int excl = 0, ret;

	f->pty_index = pty_slave_index(d->st);
	if (ioctl(s, TIOCGEXCL, &excl) < 0)
		return ct_err(-errno, "pid %d: fd %d: %s: cannot read the pty's state: %m",
			      d->pid, d->fd, d->link);
	ret = tty_check_unread_input(d, s);
	if (ret)
		return ret;
	f->pty_flags = excl ? CT_PTY_EXCL : 0;
	f->tty_dev = tty_encode_dev(d->st->st_rdev);
	tty_node_read(d->st, &f->pty_node);	/* an orphan's own (pty_dump_orphan) */
	return tty_read_settings(d, s, f);
}

static int pty_dump(const struct fd_dump *d, struct ct_file *f)
{
	int fd = fd_grab(d->pid, d->fd), ret;

	if (fd < 0)
		return ct_err(fd, "pid %d: fd %d: %s: cannot take a copy: %s", d->pid, d->fd, d->link,
			      strerror(-fd));
	ret = pty_is_master(d->st) ? pty_dump_master(d, fd, f) : pty_dump_slave(d, fd, f);
	close(fd);
	return ret;
}

/* The master file of pty @index in @img, -1 if none. */
static int pty_master_of(const struct ct_image *img, uint32_t index)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];

		if (f->kind == CT_FILE_PTY && (f->pty_flags & CT_PTY_MASTER) && f->pty_index == index)
			return (int)i;
	}
	return -1;
}

/* The last slave file of pty @index in @img, -1 if none. */
static int pty_last_slave(const struct ct_image *img, uint32_t index)
{
	int last = -1;

	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];

		if (f->kind == CT_FILE_PTY && !(f->pty_flags & CT_PTY_MASTER) && f->pty_index == index)
			last = (int)i;
	}
	return last;
}

int pty_orphan_index(const struct ct_image *img)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct ct_file *f = &img->files[i];

		if (f->kind == CT_FILE_PTY && (f->pty_flags & CT_PTY_ORPHAN))
			return (int)f->pty_index;
	}
	return -1;
}

/* The (host) pid and fd of a task holding file @i, for messages. */
static void pty_holder(const struct ct_image *img, uint32_t i, pid_t *pid, int *fd)
{
	*pid = 0;
	*fd = -1;
	for (uint32_t t = 0; t < img->nr_tasks; t++)
		for (uint32_t k = 0; k < img->tasks[t].nr_fds; k++)
			if (img->tasks[t].fds[k].file == i) {
				*pid = img->tasks[t].host_pid;
				*fd = img->tasks[t].fds[k].fd;
				return;
			}
}

/*
 * Slave @i, whose master no task of the container holds: the runtime's
 * terminal, recorded as an orphan when @policy allows it, else refused.
 */
static int pty_dump_orphan(struct ct_image *img, uint32_t i, const struct task_ctx *policy)
{
	struct ct_file *f = &img->files[i];
	int first = pty_orphan_index(img), fd;
	pid_t pid;

	pty_holder(img, i, &pid, &fd);
	if (!policy || !policy->orphan_pts)
		return ct_err(-ENOTSUP, "pid %d: fd %d: /dev/pts/%u: its master is not held by a process of the container",
			      pid, fd, f->pty_index);
	if (first >= 0 && (uint32_t)first != f->pty_index)
		return ct_err(-ENOTSUP, "pid %d: fd %d: /dev/pts/%u: a second terminal whose master is outside the container (/dev/pts/%d is one)",
			      pid, fd, f->pty_index, first);
	for (uint32_t k = 0; k < img->nr_files; k++)
		if (img->files[k].kind == CT_FILE_TTY && img->files[k].tty_dev == f->tty_dev)
			return ct_err(-ENOTSUP, "pid %d: fd %d: /dev/pts/%u and the console have the same device number: which one a session owns cannot be told",
				      pid, fd, f->pty_index);
	if (first < 0) {
		tty_find_owner(img, f->tty_dev, f);
	} else {	/* the owner found for its first description */
		for (uint32_t k = 0; k < i; k++)
			if (img->files[k].kind == CT_FILE_PTY && (img->files[k].pty_flags & CT_PTY_ORPHAN)) {
				f->tty_sid = img->files[k].tty_sid;
				f->tty_fg_pgrp = img->files[k].tty_fg_pgrp;
				break;
			}
	}
	f->pty_flags |= CT_PTY_ORPHAN;
	pr_debug("pid %d: fd %d: /dev/pts/%u: master outside, session %d, foreground %d", pid, fd,
		 f->pty_index, f->tty_sid, f->tty_fg_pgrp);
	return 0;
}

/* After every task: each slave's master is in the container (or outside: an orphan), each owned pty has a slave. */
static int pty_dump_finish(struct ct_image *img, uint32_t i, const struct task_ctx *policy)
{
	const struct ct_file *f = &img->files[i];

	if (!(f->pty_flags & CT_PTY_MASTER) && pty_master_of(img, f->pty_index) < 0)
		return pty_dump_orphan(img, i, policy);
	if ((f->pty_flags & CT_PTY_MASTER) && f->tty_sid && pty_last_slave(img, f->pty_index) < 0)
		return ct_err(-ENOTSUP, "/dev/pts/%u: the controlling terminal of session %d, but no process of the container holds it open",
			      f->pty_index, f->tty_sid);
	return 0;
}

/* Does @img hold pty @index (a master, or a slave whose master was outside)? */
static bool pty_in_image(const struct ct_image *img, uint32_t index)
{
	return pty_master_of(img, index) >= 0 || pty_orphan_index(img) == (int)index;
}

int pty_check_binds(const struct ct_image *img)
{
	for (uint32_t i = 0; i < img->nr_mounts; i++) {
		const struct ct_mount *m = &img->mounts[i];
		const char *root = m->root ? m->root + strspn(m->root, "/") : "";
		char *end;
		unsigned long index;

		if (m->kind != CT_MNT_BIND || img->mounts[m->bind_of].kind != CT_MNT_DEVPTS ||
		    *root < '0' || *root > '9')
			continue;
		index = strtoul(root, &end, 10);
		if (*end || index >= CT_PTY_MAX_INDEX || pty_in_image(img, (uint32_t)index))
			continue;
		return ct_err(-ENOTSUP, "mount %s: a bind of /dev/pts/%lu, a pty no process of the container holds: it cannot be made again",
			      m->mountpoint, index);
	}
	return 0;
}

/* ---- restore ---- */

/*
 * The container's new devpts instance.  In a root of its own (we run in
 * the rebuilt tree: rs->host_root), the one the tree has at /dev/pts, made
 * in its place in the container's mount order (task/mounts.c); else a new
 * detached mount, which shape.c attaches in the init.
 */
static int pty_devpts(struct fd_restore *rs)
{
	struct file_table *ft = rs->ft;
	struct statfs sfs;
	int fs, mnt;

	if (ft->devpts >= 0)
		return ft->devpts;
	if (rs->host_root >= 0) {
		mnt = open("/dev/pts", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (mnt >= 0 && fstatfs(mnt, &sfs) == 0 && sfs.f_type == DEVPTS_SUPER_MAGIC)
			return ft->devpts = mnt;
		if (mnt >= 0)
			close(mnt);
	}
	fs = fsopen("devpts", FSOPEN_CLOEXEC);
	if (fs < 0)
		return ct_err(-errno, "cannot make a devpts instance: %m");
	if (fsconfig(fs, FSCONFIG_SET_STRING, "ptmxmode", "0666", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0620", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		close(fs);
		return ct_err(-errno, "cannot make a devpts instance: %m");
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	close(fs);
	if (mnt < 0)
		return ct_err(-errno, "cannot mount a devpts instance: %m");
	ft->devpts = mnt;
	return mnt;
}

/* A new master in @devpts; not O_CLOEXEC in the open: it would stay in the file's flags. */
static int pty_new_master(int devpts, int *index)
{
	int m = openat(devpts, "ptmx", O_RDWR | O_NOCTTY);

	if (m < 0)
		return ct_err(-errno, "cannot open a new pty: %m");
	fcntl(m, F_SETFD, FD_CLOEXEC);
	if (ioctl(m, TIOCGPTN, index) < 0) {
		close(m);
		return ct_err(-errno, "cannot read a new pty's index: %m");
	}
	return m;
}

/* The master of pty @index: the instance hands out the lowest free index; the spares are closed. */
static int pty_alloc(int devpts, uint32_t index)
{
	int *spare = xzalloc(sizeof(int) * (index + 1));
	int m = -ENOMEM, got = -1;
	uint32_t nr = 0;

	if (!spare)
		return -ENOMEM;
	for (;;) {
		m = pty_new_master(devpts, &got);
		if (m < 0 || (uint32_t)got == index)
			break;
		if (got < 0 || (uint32_t)got > index || nr > index) {
			close(m);
			m = ct_err(-EEXIST, "pty %u: taken in the new devpts instance (got %d)", index, got);
			break;
		}
		spare[nr++] = m;
	}
	while (nr)
		close(spare[--nr]);
	free(spare);
	return m;
}

/*
 * Give the slave node of new pty @index the owner, permissions and times @n
 * recorded, once nothing more is written through it by the restore.
 */
static int pty_node_apply(struct fd_restore *rs, uint32_t index, const struct ct_pty_node *n)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", index);
	if (tty_node_apply_at(rs->ft->devpts, name, n) < 0)
		return ct_err(-errno, "/dev/pts/%u: cannot give it its owner, mode and times: %m", index);
	return 0;
}

/* The lock and exclusive mode of master @m as recorded in @f. */
static int pty_set_modes(int m, const struct ct_file *f)
{
	int lock = !!(f->pty_flags & CT_PTY_LOCKED);

	if (ioctl(m, TIOCSPTLCK, &lock) < 0)
		return ct_err(-errno, "pty %u: cannot set its lock: %m", f->pty_index);
	if ((f->pty_flags & CT_PTY_EXCL) && ioctl(m, TIOCEXCL) < 0)
		return ct_err(-errno, "pty %u: cannot set exclusive mode: %m", f->pty_index);
	return 0;
}

/* Make master @i: the pty with its index, queued output, settings and modes. */
static int pty_open_master(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	int devpts = pty_devpts(rs), unlock = 0, packet = 1, m, ret;

	if (devpts < 0)
		return devpts;
	m = pty_alloc(devpts, f->pty_index);
	if (m < 0)
		return m;
	ret = ioctl(m, TIOCSPTLCK, &unlock) < 0 ? -errno : 0;
	if (!ret && f->pty_outq_len)
		ret = pty_write_back(m, f->pty_outq, f->pty_outq_len);
	if (ret)
		ret = ct_err(ret, "pty %u: cannot put back its %llu queued bytes: %s", f->pty_index,
			     (unsigned long long)f->pty_outq_len, strerror(-ret));
	if (!ret)
		ret = tty_apply(m, f) ?: pty_node_apply(rs, f->pty_index, &f->pty_node);
	if (!ret && (f->pty_flags & CT_PTY_PACKET) && ioctl(m, TIOCPKT, &packet) < 0)
		ret = ct_err(-errno, "pty %u: cannot set packet mode: %m", f->pty_index);
	/* with slaves to open, the lock comes back after the last of them */
	if (!ret && pty_last_slave(rs->img, f->pty_index) < 0)
		ret = pty_set_modes(m, f);
	if (ret) {
		close(m);
		return ret;
	}
	return fd_restore_place(rs, i, m);
}

/*
 * The new pty of orphan slave @f (its master was outside): made at its
 * first description, with its index and settings; the master stays in
 * ft->pts_master for the restore's caller.
 */
static int pty_orphan_master(struct fd_restore *rs, const struct ct_file *f)
{
	int devpts, m, unlock = 0, ret;

	if (rs->ft->pts_master >= 0)
		return rs->ft->pts_master;
	devpts = pty_devpts(rs);
	if (devpts < 0)
		return devpts;
	m = pty_alloc(devpts, f->pty_index);
	if (m < 0)
		return m;
	ret = ioctl(m, TIOCSPTLCK, &unlock) < 0 ?
		ct_err(-errno, "pty %u: cannot unlock it: %m", f->pty_index) :
		tty_apply(m, f) ?: pty_node_apply(rs, f->pty_index, &f->pty_node);
	if (ret) {
		close(m);
		return ret;
	}
	rs->ft->pts_master = m;
	return m;
}

/* Open slave @i as a new peer of its master (opened in the first pass, or made now: an orphan's). */
static int pty_open_slave(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	bool orphan = f->pty_flags & CT_PTY_ORPHAN;
	int mi = pty_master_of(rs->img, f->pty_index), m, fd;

	m = orphan ? pty_orphan_master(rs, f) : mi >= 0 ? rs->ft->fds[mi] : -1;
	if (m < 0)
		return orphan ? m : ct_err(-EINVAL, "/dev/pts/%u: no master in the image", f->pty_index);
	fd = tty_peer(m, (int)(f->flags & O_ACCMODE));
	if (fd < 0)
		return ct_err(-errno, "/dev/pts/%u: cannot open it again: %m", f->pty_index);
	if ((f->pty_flags & CT_PTY_EXCL) && ioctl(fd, TIOCEXCL) < 0) {
		close(fd);
		return ct_err(-errno, "/dev/pts/%u: cannot set exclusive mode: %m", f->pty_index);
	}
	if (!orphan && pty_last_slave(rs->img, f->pty_index) == (int)i) {
		int ret = pty_set_modes(m, &rs->img->files[mi]);

		if (ret) {
			close(fd);
			return ret;
		}
	}
	return fd_restore_place(rs, i, fd);
}

static int pty_open(struct fd_restore *rs, uint32_t i)
{
	if (rs->img->files[i].pty_flags & CT_PTY_MASTER)
		return pty_open_master(rs, i);
	return pty_open_slave(rs, i);
}

/* Slaves open in the second pass, once their master is. */
static bool pty_open_late(const struct ct_image *img, uint32_t i)
{
	return !(img->files[i].pty_flags & CT_PTY_MASTER);
}

int pty_slave_of(const struct ct_image *img, const struct file_table *ft, uint32_t master)
{
	int i = pty_last_slave(img, img->files[master].pty_index);

	return i >= 0 && (uint32_t)i < ft->nr && ft->fds[i] >= 0 ? i : -1;
}

/* ---- blob ---- */

static void pty_encode(struct wbuf *w, const struct ct_file *f)
{
	const struct ct_pty_node *n = &f->pty_node;
	size_t at = w_begin(w, REC_FILE_PTY);

	w_u32(w, f->pty_index);
	w_u32(w, f->pty_flags);
	w_bytes(w, f->pty_outq, f->pty_outq_len);
	tty_node_encode(w, n);
	w_end(w, at);
	if (f->pty_flags & (CT_PTY_MASTER | CT_PTY_ORPHAN))
		tty_encode(w, f);
}

static void pty_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag == REC_FILE_TTY) {
		tty_decode_fields(r, f);
	} else if (tag == REC_FILE_PTY) {
		f->pty_index = r_u32(r);
		f->pty_flags = r_u32(r);
		free(f->pty_outq);
		f->pty_outq = r_bytes(r, &f->pty_outq_len, PTY_OUTQ_MAX);
		tty_node_decode(r, &f->pty_node);
	}
}

/* An orphan slave: no master in the image, one such pty per image, sane settings. */
static bool pty_orphan_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	return !(f->pty_flags & ~(CT_PTY_EXCL | CT_PTY_ORPHAN)) && pty_master_of(img, f->pty_index) < 0 &&
	       tty_node_is_sane(&f->pty_node) &&
	       pty_orphan_index(img) == (int)f->pty_index && !f->pty_outq_len && !f->tty_flags &&
	       tty_settings_are_sane(f);
}

/*
 * A container with its own mount namespace (ptys are only dumped from its
 * own devpts), known flags, an index in range, one master per index and
 * one for each slave (but an orphan's), sane settings.
 */
static bool pty_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	bool master = f->pty_flags & CT_PTY_MASTER;
	int mi = pty_master_of(img, f->pty_index);

	if (!img->own_pidns || (f->pty_flags & ~CT_PTY_FLAGS) || f->pty_index >= CT_PTY_MAX_INDEX ||
	    f->pty_outq_len > PTY_OUTQ_MAX || (f->pty_outq_len && !f->pty_outq))
		return false;
	if (f->pty_flags & CT_PTY_ORPHAN)
		return pty_orphan_is_sane(img, f);
	if (mi < 0)
		return false;
	if (!master)
		return !(f->pty_flags & ~CT_PTY_EXCL) && !f->pty_outq_len && !f->tty_sid &&
		       tty_node_is_sane(&f->pty_node);
	return &img->files[mi] == f && !f->tty_flags && tty_settings_are_sane(f) &&
	       tty_node_is_sane(&f->pty_node);
}

static void pty_free(struct ct_file *f)
{
	free(f->pty_outq);
	f->pty_outq = NULL;
	f->pty_outq_len = 0;
}

const struct fd_kind fd_kind_pty = {
	.kind = CT_FILE_PTY,
	.fmt = {
		.name = "pty",
		.encode = pty_encode,
		.decode = pty_decode,
		.is_sane = pty_is_sane,
		.free = pty_free,
	},
	.match = pty_match,
	.dump = pty_dump,
	.dump_finish = pty_dump_finish,
	.open = pty_open,
	.open_late = pty_open_late,
};
