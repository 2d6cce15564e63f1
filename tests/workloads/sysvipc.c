// SPDX-License-Identifier: MIT
/*
 * sysvipc: SysV semaphores and a message queue that must keep their
 * identity and contents.
 *
 *   sysvipc
 *
 * Makes a semaphore set (key 0x5eed0001, 4 semaphores valued 7, 0, 300,
 * 32767, mode 0640) and a message queue (key 0x5eed0002, mode 0620) holding
 * three messages of types 1, 5, 2, prints "ready sem=ID msg=ID", then every
 * 0.1 s checks ids (by key), modes, values and the queued messages (copied
 * with MSG_COPY, not taken) and prints "ok N" or a sticky "BAD <what>".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#define SEM_KEY 0x5eed0001
#define MSG_KEY 0x5eed0002

static const unsigned short sem_vals[4] = { 7, 0, 300, 32767 };
static const struct { long type; const char *text; } msgs[3] = {
	{ 1, "first message" }, { 5, "second, type 5" }, { 2, "third: the last one" },
};

union semun_arg {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int sem_id, msg_id;

/* NULL if everything is as made, else what is not. */
static const char *check(void)
{
	static char why[128];
	struct { long mtype; char text[64]; } m;
	unsigned short vals[4];
	union semun_arg arg = { .array = vals };
	struct semid_ds sds;
	struct msqid_ds mds;

	if (semget(SEM_KEY, 0, 0) != sem_id || msgget(MSG_KEY, 0) != msg_id)
		return "ids";
	if (semctl(sem_id, 0, GETALL, arg) < 0 || memcmp(vals, sem_vals, sizeof(vals)))
		return "semaphore values";
	arg.buf = &sds;
	if (semctl(sem_id, 0, IPC_STAT, arg) < 0 || (sds.sem_perm.mode & 0777) != 0640 || sds.sem_nsems != 4)
		return "semaphore mode";
	if (msgctl(msg_id, IPC_STAT, &mds) < 0 || (mds.msg_perm.mode & 0777) != 0620 || mds.msg_qnum != 3)
		return "queue mode or length";
	for (int i = 0; i < 3; i++) {
		ssize_t n = msgrcv(msg_id, &m, sizeof(m.text), i, IPC_NOWAIT | MSG_COPY);

		if (n != (ssize_t)strlen(msgs[i].text) + 1 || m.mtype != msgs[i].type ||
		    strcmp(m.text, msgs[i].text)) {
			snprintf(why, sizeof(why), "message %d", i);
			return why;
		}
	}
	return NULL;
}

int main(void)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	union semun_arg arg = { .array = (unsigned short *)sem_vals };
	const char *bad = NULL;
	unsigned long n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sem_id = semget(SEM_KEY, 4, IPC_CREAT | IPC_EXCL | 0640);
	msg_id = msgget(MSG_KEY, IPC_CREAT | IPC_EXCL | 0620);
	if (sem_id < 0 || msg_id < 0 || semctl(sem_id, 0, SETALL, arg) < 0) {
		printf("BAD setup: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		struct { long mtype; char text[64]; } m = { msgs[i].type, "" };

		strcpy(m.text, msgs[i].text);
		if (msgsnd(msg_id, &m, strlen(m.text) + 1, 0) < 0) {
			printf("BAD send: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("ready sem=%d msg=%d\n", sem_id, msg_id);
	for (;;) {
		if (!bad)
			bad = check();
		if (bad)
			printf("BAD %s\n", bad);
		else
			printf("ok %lu\n", ++n);
		nanosleep(&tick, NULL);
	}
}
