// SPDX-License-Identifier: MIT
/*
 * SysV semaphore sets and message queues (see sysvipc.h).
 *
 * Dump lists the namespace's objects in /proc/sysvipc (which shows the
 * reader's IPC namespace), reads each one's owner and mode with IPC_STAT,
 * the semaphore values with GETALL, and the queued messages without taking
 * them with msgrcv(MSG_COPY) (CONFIG_CHECKPOINT_RESTORE), so a failed dump
 * leaves them as they were.  Restore writes the id it wants to
 * /proc/sys/kernel/{sem,msg}_next_id before each semget/msgget, then sets
 * owner and mode (and msg_qbytes) with IPC_SET, the values with SETALL and
 * sends the messages again in order.  Semaphore undo lists are not shown
 * by the kernel and are not kept.  The namespace's limits (shmmax, msgmax,
 * sem, ...) are read at dump and written once every object is made again.
 */
#define LOG_PREFIX "sysvipc: "
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/types.h>

#include "image/image.h"
#include "lib/log.h"
#include "lib/util.h"
#include "task/sysvipc.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#define IPC_MSG_MAX (1 << 16)		/* larger than any msgmax we accept */

/* glibc leaves union semun to the caller. */
union ipc_semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

/* A new object in the image (zeroed). */
static struct ct_ipc_obj *ipc_add(struct ct_image *img)
{
	struct ct_ipc_obj *arr = xrealloc(img->ipc, sizeof(*arr) * (img->nr_ipc + 1));

	if (!arr)
		return NULL;
	img->ipc = arr;
	memset(&arr[img->nr_ipc], 0, sizeof(*arr));
	return &arr[img->nr_ipc++];
}

/* One semaphore set: owner, mode, values. */
static int ipc_dump_sem(struct ct_image *img, int key, int id)
{
	union ipc_semun arg;
	struct semid_ds ds;
	unsigned short *vals;
	struct ct_ipc_obj *o;
	uint32_t *out;

	arg.buf = &ds;
	if (semctl(id, 0, IPC_STAT, arg) < 0)
		return ct_err(-errno, "semaphore set %d: IPC_STAT: %m", id);
	vals = xzalloc(sizeof(*vals) * (ds.sem_nsems + 1));
	out = xzalloc(sizeof(*out) * (ds.sem_nsems + 1));
	o = vals && out ? ipc_add(img) : NULL;
	if (!o) {
		free(vals);
		free(out);
		return -ENOMEM;
	}
	arg.array = vals;
	if (semctl(id, 0, GETALL, arg) < 0) {
		free(vals);
		free(out);
		return ct_err(-errno, "semaphore set %d: GETALL: %m", id);
	}
	for (unsigned long i = 0; i < ds.sem_nsems; i++)
		out[i] = vals[i];
	free(vals);
	*o = (struct ct_ipc_obj) { .kind = CT_IPC_SEM, .key = key, .id = id,
				   .mode = ds.sem_perm.mode & 0777, .uid = ds.sem_perm.uid,
				   .gid = ds.sem_perm.gid, .nsems = (uint32_t)ds.sem_nsems,
				   .data = (uint8_t *)out, .data_len = sizeof(*out) * ds.sem_nsems };
	return 0;
}

/* Append one message (mtype, length, text) to @o's data. */
static int ipc_put_msg(struct ct_ipc_obj *o, uint64_t mtype, const void *text, uint32_t len)
{
	uint8_t head[12];

	memcpy(head, &mtype, 8);
	memcpy(head + 8, &len, 4);
	return bytes_append(&o->data, &o->data_len, head, sizeof(head), text, len);
}

/* One message queue: owner, mode, limit and every message, copied in place. */
static int ipc_dump_msg(struct ct_image *img, int key, int id)
{
	struct { long mtype; char text[IPC_MSG_MAX]; } *buf;
	struct msqid_ds ds;
	struct ct_ipc_obj *o;
	int ret = 0;

	if (msgctl(id, IPC_STAT, &ds) < 0)
		return ct_err(-errno, "message queue %d: IPC_STAT: %m", id);
	buf = xmalloc(sizeof(*buf));
	o = buf ? ipc_add(img) : NULL;
	if (!o) {
		free(buf);
		return -ENOMEM;
	}
	*o = (struct ct_ipc_obj) { .kind = CT_IPC_MSG, .key = key, .id = id,
				   .mode = ds.msg_perm.mode & 0777, .uid = ds.msg_perm.uid,
				   .gid = ds.msg_perm.gid, .qbytes = ds.msg_qbytes };
	for (unsigned long i = 0; i < ds.msg_qnum && !ret; i++) {
		ssize_t n = msgrcv(id, buf, sizeof(buf->text), (long)i, IPC_NOWAIT | MSG_COPY | MSG_NOERROR);

		if (n < 0)
			ret = ct_err(-errno, "message queue %d: message %lu: cannot copy it: %m", id, i);
		else
			ret = ipc_put_msg(o, (uint64_t)buf->mtype, buf->text, (uint32_t)n);
	}
	free(buf);
	return ret;
}

/* Each object listed in /proc/sysvipc/@kind: key and id are its first two fields. */
static int ipc_dump_kind(struct ct_image *img, const char *kind,
			 int (*dump)(struct ct_image *img, int key, int id))
{
	char path[64], *text, *line, *save = NULL;
	int ret, key, id;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", kind);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ret == -ENOENT ? 0 : ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
	line = strtok_r(text, "\n", &save);	/* the header */
	while (!ret && (line = strtok_r(NULL, "\n", &save)))
		if (sscanf(line, "%d %d", &key, &id) == 2)
			ret = dump(img, key, id);
	free(text);
	return ret;
}

/* The namespace's limits in /proc/sys/kernel, in CT_IPC_* order. */
static const char *const ipc_limit_names[CT_IPC_NR_LIMITS] = {
	"shmmax", "shmall", "shmmni", "msgmax", "msgmnb", "msgmni", "sem",
};

/* /proc/sys/kernel/@name (of this thread's IPC namespace), its last newline off. */
static int ipc_read_limit(const char *name, char **val)
{
	char path[64];
	size_t len;
	int ret;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	ret = read_whole_file(path, val, &len);
	if (ret)
		return ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
	if (len && (*val)[len - 1] == '\n')
		(*val)[len - 1] = '\0';
	return 0;
}

/*
 * The namespace's limits.  shm_rmid_forced set is refused: a segment made
 * again at restore has the restorer as creator, gone at once, so every
 * segment not attached yet would be destroyed.
 */
static int ipc_dump_limits(struct ct_image *img, pid_t pid)
{
	char *forced;
	int ret = ipc_read_limit("shm_rmid_forced", &forced);

	if (ret)
		return ret;
	ret = strcmp(forced, "0") ?
	      ct_err(-EOPNOTSUPP, "pid %d: its IPC namespace has kernel.shm_rmid_forced set: not supported",
		     pid) : 0;
	free(forced);
	for (int i = 0; i < CT_IPC_NR_LIMITS && !ret; i++)
		ret = ipc_read_limit(ipc_limit_names[i], &img->ipc_limits[i]);
	return ret;
}

int sysvipc_dump(struct ct_image *img, pid_t pid)
{
	return ipc_dump_limits(img, pid) ?: ipc_dump_kind(img, "sem", ipc_dump_sem) ?:
	       ipc_dump_kind(img, "msg", ipc_dump_msg);
}

/* ---- restore ---- */

int sysvipc_next_id(const char *kind, int id)
{
	char path[64], val[16];
	int ret;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s_next_id", kind);
	snprintf(val, sizeof(val), "%d", id);
	ret = write_small_file(path, val);
	return ret ? ct_err(ret, "%s: cannot write %s: %s", path, val, strerror(-ret)) : 0;
}

/* A semaphore set with its id, owner, mode and values. */
static int ipc_restore_sem(const struct ct_ipc_obj *o)
{
	union ipc_semun arg;
	struct semid_ds ds = { 0 };
	unsigned short *vals;
	int id, ret;

	ret = sysvipc_next_id("sem", o->id);
	if (ret)
		return ret;
	id = semget(o->key, (int)o->nsems, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		return ct_err(-errno, "semaphore set %d (key %#x): cannot make it again: %m", o->id, o->key);
	if (id != o->id)
		return ct_err(-EEXIST, "semaphore set %d: came back as %d", o->id, id);
	vals = xzalloc(sizeof(*vals) * (o->nsems + 1));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < o->nsems; i++)
		vals[i] = (unsigned short)((const uint32_t *)o->data)[i];
	arg.array = vals;
	ret = semctl(id, 0, SETALL, arg) < 0 ? -errno : 0;
	free(vals);
	if (ret)
		return ct_err(ret, "semaphore set %d: SETALL: %s", id, strerror(-ret));
	ds.sem_perm.uid = o->uid;
	ds.sem_perm.gid = o->gid;
	ds.sem_perm.mode = (unsigned short)o->mode;
	arg.buf = &ds;
	if (semctl(id, 0, IPC_SET, arg) < 0)
		return ct_err(-errno, "semaphore set %d: IPC_SET: %m", id);
	return 0;
}

/* A message queue with its id, owner, mode, limit and messages, in order. */
static int ipc_restore_msg(const struct ct_ipc_obj *o)
{
	struct { long mtype; char text[IPC_MSG_MAX]; } *buf;
	struct msqid_ds ds = { 0 };
	uint64_t at = 0, mtype;
	uint32_t len;
	int id, ret;

	ret = sysvipc_next_id("msg", o->id);
	if (ret)
		return ret;
	id = msgget(o->key, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		return ct_err(-errno, "message queue %d (key %#x): cannot make it again: %m", o->id, o->key);
	if (id != o->id)
		return ct_err(-EEXIST, "message queue %d: came back as %d", o->id, id);
	ds.msg_perm.uid = o->uid;
	ds.msg_perm.gid = o->gid;
	ds.msg_perm.mode = (unsigned short)o->mode;
	ds.msg_qbytes = o->qbytes;
	if (msgctl(id, IPC_SET, &ds) < 0)
		return ct_err(-errno, "message queue %d: IPC_SET: %m", id);
	buf = xmalloc(sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	while (!ret && at + 12 <= o->data_len) {
		memcpy(&mtype, o->data + at, 8);
		memcpy(&len, o->data + at + 8, 4);
		at += 12;
		if (len > sizeof(buf->text) || at + len > o->data_len) {
			ret = ct_err(-EBADMSG, "message queue %d: bad message in the image", id);
			break;
		}
		buf->mtype = (long)mtype;
		memcpy(buf->text, o->data + at, len);
		at += len;
		if (msgsnd(id, buf, len, IPC_NOWAIT) < 0)
			ret = ct_err(-errno, "message queue %d: cannot queue a message again: %m", id);
	}
	free(buf);
	return ret;
}

int sysvipc_restore_limits(const struct ct_image *img)
{
	char path[64];
	int ret = 0;

	for (int i = 0; i < CT_IPC_NR_LIMITS && !ret; i++) {
		if (!img->ipc_limits[i])
			continue;
		snprintf(path, sizeof(path), "/proc/sys/kernel/%s", ipc_limit_names[i]);
		ret = write_small_file(path, img->ipc_limits[i]);
		if (ret)
			ret = ct_err(ret, "%s: cannot write %s: %s", path, img->ipc_limits[i], strerror(-ret));
	}
	return ret;
}

int sysvipc_restore(const struct ct_image *img)
{
	int ret = 0;

	for (uint32_t i = 0; i < img->nr_ipc && !ret; i++)
		ret = img->ipc[i].kind == CT_IPC_SEM ? ipc_restore_sem(&img->ipc[i]) :
						       ipc_restore_msg(&img->ipc[i]);
	return ret;
}
