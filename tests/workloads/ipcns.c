// SPDX-License-Identifier: MIT
/*
 * ipcns: the objects of an IPC namespace of its own must keep their identity
 * and contents across a checkpoint.
 *
 *   ipcns [mq | notify | hostmq NAME]
 *
 * Makes (in the namespace the container gave it):
 *   segment A  key 0x1bc00001, 3 pages + 100 bytes, mode 0640, attached here
 *              and in a child; each writes its own counter into it every tick
 *              and checks the other's never goes back;
 *   segment B  key 0x1bc00002, 2 pages, mode 0604, owner 1234:1234, filled,
 *              locked (SHM_LOCK) and attached by no one;
 *   segment C  IPC_PRIVATE, 1 page, attached here, then IPC_RMID ("dest");
 *   a semaphore set, key 0x1bc00003, values 3 and 9;
 *   with "mq": POSIX queue /ipcns-q (mode 0640, owner 1234:1234, 8 x 64
 *              bytes) sent five messages of priorities 1 5 3 5 0, the first
 *              of priority 5 taken at once, held by an O_RDWR|O_NONBLOCK
 *              descriptor and a blocking O_RDONLY one.
 * "notify" adds an mq_notify registration on the queue (a dump must refuse
 * it).  "hostmq NAME" only opens a new queue NAME, removes its name and
 * prints "ready" (for a container sharing the host's IPC namespace: a dump
 * must refuse the descriptor; nothing is left behind).
 * Prints "ready shm=A,B,C sem=S", then every 0.1 s checks ids (by key),
 * modes, owners, sizes, nattch, the dest and lock states, every byte of the
 * patterns, the counters, the semaphores, the queue's attributes, and its
 * messages (all taken without waiting and sent back in the order they came:
 * priority, then age) and prints "ok N" or a sticky "BAD <what>".
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_A 0x1bc00001
#define KEY_B 0x1bc00002
#define KEY_SEM 0x1bc00003
#define SIZE_A (3 * 4096 + 100)
#define SIZE_B (2 * 4096)
#define SIZE_C 4096
#define MQ_NAME "/ipcns-q"

/* The queue after the first receive: priority order, then sending order. */
static const struct { unsigned prio; const char *text; } mq_left[4] = {
	{ 5, "fourth, priority 5" }, { 3, "third, priority 3" }, { 1, "first, priority 1" },
	{ 0, "fifth, priority 0" },
};

union semun_arg {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int id_a, id_b, id_c, id_sem;
static unsigned char *seg_a, *seg_c;
static mqd_t mq_rw = -1, mq_ro = -1;

/* Byte @i of segment @seg's pattern (seed @seed). */
static unsigned char pat(unsigned seed, size_t i)
{
	return (unsigned char)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

static void fill(unsigned char *p, size_t from, size_t len, unsigned seed)
{
	for (size_t i = from; i < len; i++)
		p[i] = pat(seed, i);
}

static int same(const unsigned char *p, size_t from, size_t len, unsigned seed)
{
	for (size_t i = from; i < len; i++)
		if (p[i] != pat(seed, i))
			return 0;
	return 1;
}

/* Segment @id as made: its size, mode bits (SHM_DEST, SHM_LOCKED too), owner, nattch. */
static int seg_is(int id, size_t size, unsigned mode, uid_t uid, unsigned long nattch)
{
	struct shmid_ds ds;

	return shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_segsz == size &&
	       (ds.shm_perm.mode & (0777 | SHM_DEST | SHM_LOCKED)) == mode && ds.shm_perm.uid == uid &&
	       ds.shm_nattch == nattch;
}

/* The queue's messages, taken and sent back in the order they came. */
static const char *mq_check(void)
{
	struct { unsigned prio; ssize_t len; char text[64]; } got[4];
	struct mq_attr a;
	const char *bad = NULL;
	int n = 0;

	if (mq_getattr(mq_rw, &a) < 0 || a.mq_maxmsg != 8 || a.mq_msgsize != 64 ||
	    a.mq_curmsgs != 4 || !(a.mq_flags & O_NONBLOCK))
		return "queue attributes";
	if (mq_getattr(mq_ro, &a) < 0 || (a.mq_flags & O_NONBLOCK))
		return "blocking descriptor's flags";
	if ((fcntl(mq_ro, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(mq_rw, F_GETFL) & O_ACCMODE) != O_RDWR)
		return "queue descriptors' access modes";
	while (n < 4 && (got[n].len = mq_receive(mq_rw, got[n].text, 64, &got[n].prio)) >= 0)
		n++;
	for (int i = 0; i < n; i++)
		if (mq_send(mq_rw, got[i].text, (size_t)got[i].len, got[i].prio) < 0)
			return "queue: cannot send a message back";
	if (n != 4)
		return "queue length";
	for (int i = 0; i < 4 && !bad; i++)
		if (got[i].prio != mq_left[i].prio || got[i].len != (ssize_t)strlen(mq_left[i].text) + 1 ||
		    strcmp(got[i].text, mq_left[i].text))
			bad = "queue messages or their order";
	return bad;
}

static int mq_setup(void)
{
	struct mq_attr a = { .mq_maxmsg = 8, .mq_msgsize = 64 };
	char buf[64];
	unsigned prio;
	static const struct { unsigned prio; const char *text; } sent[5] = {
		{ 1, "first, priority 1" }, { 5, "second, priority 5" }, { 3, "third, priority 3" },
		{ 5, "fourth, priority 5" }, { 0, "fifth, priority 0" },
	};

	mq_rw = mq_open(MQ_NAME, O_RDWR | O_NONBLOCK | O_CREAT | O_EXCL, 0640, &a);
	mq_ro = mq_open(MQ_NAME, O_RDONLY);
	if (mq_rw < 0 || mq_ro < 0 || fchown(mq_rw, 1234, 1234) < 0 || fchmod(mq_rw, 0640) < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		if (mq_send(mq_rw, sent[i].text, strlen(sent[i].text) + 1, sent[i].prio) < 0)
			return -1;
	if (mq_receive(mq_rw, buf, sizeof(buf), &prio) < 0 || prio != 5 || strcmp(buf, sent[1].text))
		return -1;
	return 0;
}

/* Counters in segment A: the parent's at 0, the child's at 8; patterns from 16. */
static volatile uint64_t *ctr(int who)
{
	return (volatile uint64_t *)(seg_a + 8 * who);
}

/* Everything as made, and the other side's counter not gone back from *@seen. */
static const char *check(int who, uint64_t *seen, int mq)
{
	unsigned short vals[2];
	union semun_arg arg = { .array = vals };
	uint64_t other = *ctr(!who);
	unsigned char *b;

	if (other < *seen)
		return "the other side's counter went back";
	*seen = other;
	if (!same(seg_a, 16, SIZE_A, 1))
		return "segment A contents";
	if (who)
		return NULL;	/* the child checks its attachment only */
	if (shmget(KEY_A, 0, 0) != id_a || shmget(KEY_B, 0, 0) != id_b)
		return "segment ids";
	if (!seg_is(id_a, SIZE_A, 0640, 0, 2) || !seg_is(id_b, SIZE_B, 0604 | SHM_LOCKED, 1234, 0) ||
	    !seg_is(id_c, SIZE_C, 0600 | SHM_DEST, 0, 1))
		return "segment size, mode, owner or nattch";
	if (!same(seg_c, 0, SIZE_C, 3))
		return "segment C contents";
	b = shmat(id_b, NULL, SHM_RDONLY);
	if (b == (void *)-1)
		return "segment B: cannot attach";
	if (!same(b, 0, SIZE_B, 2)) {
		shmdt(b);
		return "segment B contents";
	}
	shmdt(b);
	if (semget(KEY_SEM, 0, 0) != id_sem || semctl(id_sem, 0, GETALL, arg) < 0 || vals[0] != 3 ||
	    vals[1] != 9)
		return "semaphores";
	return mq ? mq_check() : NULL;
}

static void run(int who, int mq)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	const char *bad = NULL;
	uint64_t seen = 0;
	unsigned long n = 0;

	for (;;) {
		(*ctr(who))++;
		if (!bad)
			bad = check(who, &seen, mq);
		if (bad)
			printf("BAD %s%s\n", who ? "child: " : "", bad);
		else if (!who)
			printf("ok %lu\n", ++n);
		nanosleep(&tick, NULL);
	}
}

/* "hostmq NAME": a queue held open, its name gone. */
static int host_mq(const char *name)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 16 };

	mq_rw = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	if (mq_rw < 0 || mq_unlink(name) < 0) {
		printf("BAD mq_open %s: %s\n", name, strerror(errno));
		return 1;
	}
	printf("ready\n");
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	unsigned short vals[2] = { 3, 9 };
	union semun_arg arg = { .array = vals };
	int notify = argc > 1 && !strcmp(argv[1], "notify");
	int mq = notify || (argc > 1 && !strcmp(argv[1], "mq"));
	struct sigevent sev = { .sigev_notify = SIGEV_NONE };
	struct shmid_ds ds = { 0 };
	unsigned char *b;
	pid_t child;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[1], "hostmq"))
		return host_mq(argv[2]);
	id_a = shmget(KEY_A, SIZE_A, IPC_CREAT | IPC_EXCL | 0640);
	id_b = shmget(KEY_B, SIZE_B, IPC_CREAT | IPC_EXCL | 0604);
	id_c = shmget(IPC_PRIVATE, SIZE_C, IPC_CREAT | 0600);
	id_sem = semget(KEY_SEM, 2, IPC_CREAT | IPC_EXCL | 0600);
	if (id_a < 0 || id_b < 0 || id_c < 0 || id_sem < 0 || semctl(id_sem, 0, SETALL, arg) < 0) {
		printf("BAD setup: %s\n", strerror(errno));
		return 1;
	}
	seg_a = shmat(id_a, NULL, 0);
	if (seg_a == (void *)-1 || (mq && mq_setup() < 0) || (notify && mq_notify(mq_rw, &sev) < 0)) {
		printf("BAD setup: %s\n", strerror(errno));
		return 1;
	}
	fill(seg_a, 16, SIZE_A, 1);
	child = fork();	/* before C is attached: C is the parent's alone */
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		run(1, 0);
	}
	seg_c = shmat(id_c, NULL, 0);
	b = shmat(id_b, NULL, 0);
	if (child < 0 || seg_c == (void *)-1 || b == (void *)-1) {
		printf("BAD shmat or fork: %s\n", strerror(errno));
		return 1;
	}
	fill(b, 0, SIZE_B, 2);
	fill(seg_c, 0, SIZE_C, 3);
	shmdt(b);
	ds.shm_perm.uid = 1234;
	ds.shm_perm.gid = 1234;
	ds.shm_perm.mode = 0604;
	if (shmctl(id_b, IPC_SET, &ds) < 0 || shmctl(id_b, SHM_LOCK, NULL) < 0 ||
	    shmctl(id_c, IPC_RMID, NULL) < 0) {
		printf("BAD setup: %s\n", strerror(errno));
		return 1;
	}
	printf("ready shm=%d,%d,%d sem=%d\n", id_a, id_b, id_c, id_sem);
	run(0, mq && !notify);	/* a message sent to the emptied queue would end the registration */
}
