// SPDX-License-Identifier: MIT
/*
 * POSIX message queues of a container's own IPC namespace, and the
 * descriptors (mqd_t) that name them.
 *
 * Dump, in a thread that joined the namespace (dump/shape.c), mounts the
 * namespace's mqueue filesystem privately (fsopen/fsmount: not attached
 * anywhere, gone with its fd) and, for each queue, reads its name, mode,
 * owner and mq_attr, and its messages: the kernel has no way to look at a
 * queued message without taking it, so every message is received (without
 * waiting) and sent back at once in the order it came, which is the order
 * the queue had (highest priority first, oldest first within a priority).
 * The container is frozen meanwhile.  Refused, naming the queue: one with
 * an mq_notify registration (NOTIFY_PID in its file), and a full one a
 * process of the container is blocked sending to (receiving would hand its
 * message over at once, and the dumped queue would not be the one it saw).
 *
 * Restore, in the new namespace before any task is made in it: the limits
 * of /proc/sys/fs/mqueue (raised first where a queue needs more, as this
 * restorer has no CAP_SYS_RESOURCE), each queue made with its attributes,
 * owner and mode and its messages sent in order, then the descriptors
 * opened by name with their access mode and O_NONBLOCK.
 */
#define LOG_PREFIX "mqueue: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"
#include "task/mqueue.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif
#ifndef FSCONFIG_CMD_CREATE
#define FSCONFIG_CMD_CREATE 6
#endif

/* The files of /proc/sys/fs/mqueue, in struct ct_mq_limits order. */
static const char *const mq_limit_names[] = { "msg_max", "msgsize_max", "queues_max", "msg_default",
					      "msgsize_default" };

static uint32_t *mq_limit(struct ct_mq_limits *l, size_t i)
{
	uint32_t *v[] = { &l->msg_max, &l->msgsize_max, &l->queues_max, &l->msg_default,
			  &l->msgsize_default };

	return v[i];
}

/* ---- dump ---- */

/* This thread's IPC namespace's mqueue filesystem, mounted nowhere: its root, open. */
static int mq_mount(void)
{
	int fsfd, mnt = -1;

	fsfd = (int)syscall(SYS_fsopen, "mqueue", 0);
	if (fsfd < 0)
		return ct_err(-errno, "fsopen: %m");
	if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = (int)syscall(SYS_fsmount, fsfd, 0, 0);
	if (mnt < 0)
		ct_err(-errno, "cannot mount the namespace's queues: %m");
	close(fsfd);
	return mnt;
}

/* The namespace's limits. */
static int mq_read_limits(struct ct_mq_limits *l)
{
	for (size_t i = 0; i < ARRAY_SIZE(mq_limit_names); i++) {
		char path[64], *text;
		int ret;

		snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", mq_limit_names[i]);
		ret = read_whole_file(path, &text, NULL);
		if (ret)
			return ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
		*mq_limit(l, i) = (uint32_t)strtoul(text, NULL, 10);
		free(text);
	}
	return 0;
}

/* The pid of a thread of @img blocked in mq_timedsend on queue inode @ino, 0 if none. */
static pid_t mq_blocked_sender(const struct ct_image *img, uint64_t ino)
{
	for (uint32_t i = 0; i < img->nr_tasks; i++) {
		char path[64], *text;
		struct dirent *de;
		pid_t found = 0;
		DIR *dir;

		snprintf(path, sizeof(path), "/proc/%d/task", img->tasks[i].host_pid);
		dir = opendir(path);
		while (dir && !found && (de = readdir(dir))) {
			unsigned long nr, fd;
			struct stat st;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%.16s/syscall", img->tasks[i].host_pid,
				 de->d_name);
			if (read_whole_file(path, &text, NULL))
				continue;
			if (sscanf(text, "%lu %lx", &nr, &fd) == 2 && nr == SYS_mq_timedsend) {
				snprintf(path, sizeof(path), "/proc/%d/fd/%lu", img->tasks[i].host_pid, fd);
				if (stat(path, &st) == 0 && st.st_ino == ino)
					found = img->tasks[i].pid;
			}
			free(text);
		}
		if (dir)
			closedir(dir);
		if (found)
			return found;
	}
	return 0;
}

/* Append one message to @q's data. */
static int mq_put_msg(struct ct_mqueue *q, uint32_t prio, const void *text, uint32_t len)
{
	uint32_t head[2] = { prio, len };

	return bytes_append(&q->data, &q->data_len, head, sizeof(head), text, len);
}

/* Send @q's messages to @qfd in order (the dump's own put-back, and restore). */
static int mq_send_all(int qfd, const struct ct_mqueue *q)
{
	uint32_t prio, len;

	for (uint64_t at = 0; at + 8 <= q->data_len; at += 8 + len) {
		memcpy(&prio, q->data + at, 4);
		memcpy(&len, q->data + at + 4, 4);
		if (at + 8 + len > q->data_len)
			return ct_err(-EBADMSG, "queue %s: bad message in the image", q->name);
		if (mq_send(qfd, (const char *)q->data + at + 8, len, prio) < 0)
			return ct_err(-errno, "queue %s: cannot send a message (priority %u): %m", q->name,
				      prio);
	}
	return 0;
}

/* Take every message of @qfd, in order, then give them back in the same order. */
static int mq_copy_messages(int qfd, struct ct_mqueue *q, long count, pid_t pid)
{
	char *buf = xmalloc(q->msgsize);
	unsigned prio;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (long i = 0; i < count && !ret; i++) {
		ssize_t n = mq_receive(qfd, buf, q->msgsize, &prio);

		if (n < 0 && errno == EAGAIN)
			break;
		ret = n < 0 ? ct_err(-errno, "pid %d: POSIX message queue %s: cannot read message %ld: %m",
				     pid, q->name, i) :
			      mq_put_msg(q, prio, buf, (uint32_t)n);
	}
	free(buf);
	/* whatever was taken goes back, also after a failure */
	return mq_send_all(qfd, q) ?: ret;
}

/* Refuse a queue some process asked to be notified about. */
static int mq_check_notify(int qfd, const char *name, pid_t pid)
{
	char text[256], *p;
	ssize_t n = pread(qfd, text, sizeof(text) - 1, 0);
	int notify_pid = 0;

	if (n < 0)
		return ct_err(-errno, "pid %d: POSIX message queue %s: cannot read its state: %m", pid,
			      name);
	text[n] = '\0';
	p = strstr(text, "NOTIFY_PID:");
	if (p)
		notify_pid = atoi(p + 11);
	if (notify_pid)
		return ct_err(-EOPNOTSUPP, "pid %d: POSIX message queue %s has an mq_notify registration: not supported",
			      pid, name);
	return 0;
}

/* Queue @name of the mounted filesystem @mnt into @img. */
static int mq_dump_one(struct ct_image *img, int mnt, const char *name, pid_t pid)
{
	struct ct_mqueue *q, *grown;
	struct mq_attr attr;
	struct stat st;
	pid_t sender;
	int qfd, ret;

	grown = xrealloc(img->mqueues, sizeof(*grown) * (img->nr_mqueues + 1));
	if (!grown)
		return -ENOMEM;
	img->mqueues = grown;
	q = &grown[img->nr_mqueues];
	memset(q, 0, sizeof(*q));
	if (asprintf(&q->name, "/%s", name) < 0)
		return -ENOMEM;
	img->nr_mqueues++;
	qfd = openat(mnt, name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (qfd < 0)
		return ct_err(-errno, "pid %d: POSIX message queue %s: cannot open: %m", pid, q->name);
	ret = fstat(qfd, &st) < 0 || mq_getattr(qfd, &attr) < 0 ?
	      ct_err(-errno, "pid %d: POSIX message queue %s: cannot stat: %m", pid, q->name) :
	      mq_check_notify(qfd, q->name, pid);
	if (!ret) {
		*q = (struct ct_mqueue){ .name = q->name, .mode = st.st_mode & 0777, .uid = st.st_uid,
					 .gid = st.st_gid, .maxmsg = (uint64_t)attr.mq_maxmsg,
					 .msgsize = (uint64_t)attr.mq_msgsize, .dev = st.st_dev,
					 .ino = st.st_ino };
		sender = attr.mq_curmsgs >= attr.mq_maxmsg ? mq_blocked_sender(img, st.st_ino) : 0;
		ret = sender ? ct_err(-EOPNOTSUPP, "pid %d: POSIX message queue %s is full and pid %d waits to send to it: not supported",
				      pid, q->name, sender) :
			       mq_copy_messages(qfd, q, attr.mq_curmsgs, pid);
	}
	close(qfd);
	return ret;
}

int mqueue_dump(struct ct_image *img, pid_t pid)
{
	struct dirent *de;
	int mnt, ret;
	DIR *dir;

	ret = mq_read_limits(&img->shape.mq_limits);
	if (ret)
		return ret;
	mnt = mq_mount();
	if (mnt < 0)
		return mnt;
	/* fsmount() gives an O_PATH descriptor: list through one opened for reading */
	dir = fdopendir(openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!dir) {
		ret = ct_err(-errno, "cannot list the namespace's queues: %m");
		close(mnt);
		return ret;
	}
	while (!ret && (de = readdir(dir)))
		if (de->d_name[0] != '.')
			ret = mq_dump_one(img, mnt, de->d_name, pid);
	closedir(dir);
	close(mnt);
	return ret;
}

/* ---- restore ---- */

/* Write @val to /proc/sys/fs/mqueue/@name (this thread's namespace). */
static int mq_write_limit(const char *name, uint32_t val)
{
	char path[64], text[16];
	int ret;

	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	snprintf(text, sizeof(text), "%u", val);
	ret = write_small_file(path, text);
	return ret ? ct_err(ret, "%s: cannot write %s: %s", path, text, strerror(-ret)) : 0;
}

/* Set limits @l (0: leave that one). */
static int mq_write_limits(const struct ct_mq_limits *l)
{
	struct ct_mq_limits copy = *l;
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(mq_limit_names) && !ret; i++)
		if (*mq_limit(&copy, i))
			ret = mq_write_limit(mq_limit_names[i], *mq_limit(&copy, i));
	return ret;
}

/* Queue @q again with its attributes, owner, mode and messages. */
static int mq_restore_one(const struct ct_mqueue *q)
{
	struct mq_attr attr = { .mq_maxmsg = (long)q->maxmsg, .mq_msgsize = (long)q->msgsize };
	int qfd, ret;

	qfd = mq_open(q->name, O_RDWR | O_NONBLOCK | O_CREAT | O_EXCL, 0600, &attr);
	if (qfd < 0)
		return ct_err(-errno, "POSIX message queue %s (%llu x %llu bytes): cannot make it again: %m",
			      q->name, (unsigned long long)q->maxmsg, (unsigned long long)q->msgsize);
	ret = fchown(qfd, q->uid, q->gid) < 0 || fchmod(qfd, q->mode) < 0 ?
	      ct_err(-errno, "POSIX message queue %s: cannot set its owner and mode: %m", q->name) :
	      mq_send_all(qfd, q);
	close(qfd);
	return ret;
}

int mqueue_restore(const struct ct_image *img)
{
	struct ct_mq_limits room = img->shape.mq_limits;
	int ret = 0;

	if (!img->shape.mq_limits.msg_max)
		return 0;
	/* room for every queue while they are made, then the limits as they were */
	room.queues_max = max_t(uint32_t, room.queues_max, img->nr_mqueues);
	for (uint32_t i = 0; i < img->nr_mqueues; i++) {
		room.msg_max = max_t(uint32_t, room.msg_max, (uint32_t)img->mqueues[i].maxmsg);
		room.msgsize_max = max_t(uint32_t, room.msgsize_max, (uint32_t)img->mqueues[i].msgsize);
	}
	ret = mq_write_limits(&room);
	for (uint32_t i = 0; i < img->nr_mqueues && !ret; i++)
		ret = mq_restore_one(&img->mqueues[i]);
	return ret ?: mq_write_limits(&img->shape.mq_limits);
}

/* ---- descriptors ---- */

static bool mqueue_match(const struct fd_dump *d)
{
	char path[64];
	struct statfs sfs;

	if (!S_ISREG(d->st->st_mode) || d->link[0] != '/')
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", d->pid, d->fd);
	return statfs(path, &sfs) == 0 && sfs.f_type == MQUEUE_MAGIC;
}

/* The queue the fd names: one of the container's own namespace, recorded by mqueue_dump(). */
static int mqueue_fd_dump(const struct fd_dump *d, struct ct_file *f)
{
	if (!(d->img->shape.flags & CT_SHAPE_OWN_IPC))
		return ct_err(-EOPNOTSUPP, "pid %d: fd %d: POSIX message queue %s of the host's IPC namespace (the container has none of its own): not supported",
			      d->pid, d->fd, d->link);
	for (uint32_t i = 0; i < d->img->nr_mqueues; i++) {
		const struct ct_mqueue *q = &d->img->mqueues[i];

		if (q->dev == d->st->st_dev && q->ino == d->st->st_ino) {
			f->path = xstrdup(q->name);
			return f->path ? 0 : -ENOMEM;
		}
	}
	return ct_err(-EOPNOTSUPP, "pid %d: fd %d: POSIX message queue %s removed or of another IPC namespace: not supported",
		      d->pid, d->fd, d->link);
}

/* Its name is a queue of the image. */
static bool mqueue_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	for (uint32_t i = 0; f->path && i < img->nr_mqueues; i++)
		if (!strcmp(img->mqueues[i].name, f->path))
			return true;
	return false;
}

/* In the container's IPC namespace (restore.c): the queue opened by name as it was. */
static int mqueue_open(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	int fd = mq_open(f->path, (int)(f->flags & (O_ACCMODE | O_NONBLOCK)));

	if (fd < 0)
		return ct_err(-errno, "POSIX message queue %s: cannot open it again: %m", f->path);
	return fd_restore_place(rs, i, fd);
}

const struct fd_kind fd_kind_mqueue = {
	.kind = CT_FILE_MQUEUE,
	.fmt = {
		.name = "mqueue",
		.is_sane = mqueue_is_sane,
	},
	.match = mqueue_match,
	.dump = mqueue_fd_dump,
	.open = mqueue_open,
};
