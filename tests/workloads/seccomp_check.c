// SPDX-License-Identifier: MIT
/*
 * seccomp_check: two threads under stacked seccomp filters that check, over
 * and over, that the filters still act.  A restore that dropped a filter,
 * or gave one thread another's, is caught: the round reports BAD.
 *
 *   filter A (TSYNC: both threads):        getppid, getpgid           -> errno 77
 *   filter B (TSYNC, LOG: both threads):   getitimer, capset, getpgid -> errno 78
 *   filter C (second thread only):         getsid                     -> errno 79
 *
 * getpgid is in A and B: the kernel returns the errno of the newest filter
 * (78), so filters restored in the wrong order are caught too.
 *
 * Dump injects getitimer and restore injects capset into the tasks: both
 * must pass our filters (PTRACE_O_SUSPEND_SECCOMP), or they fail.
 * The main thread writes DIR/status every 100 ms:
 *   "rounds=N trounds=M ok" or "rounds=N BAD <what>"
 *
 * --strict: enter SECCOMP_MODE_STRICT instead, write "ready" to
 * DIR/status and block in read() forever (a dump must refuse it).
 *
 * usage: seccomp_check --out DIR [--strict]
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "common.h"

#define ERR_A 77
#define ERR_B 78
#define ERR_C 79

static volatile unsigned long trounds;
static volatile int filters_ready;
static char bad[256];
static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;

/* Install one filter: return errno @err for the calls @nrs, allow the rest. */
static int install(const int *nrs, int n, int err, unsigned long flags)
{
	struct sock_filter insns[16];
	struct sock_fprog prog;
	int k = 0;

	insns[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, nr));
	for (int i = 0; i < n; i++)
		insns[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[i],
							  (unsigned char)(n - i), 0);
	insns[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	insns[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err);
	prog.len = (unsigned short)k;
	prog.filter = insns;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void set_bad(const char *who, const char *what, long ret, int err)
{
	pthread_mutex_lock(&bad_lock);
	if (!bad[0])
		snprintf(bad, sizeof(bad), "%s: %s returned %ld errno %d", who, what, ret, err);
	pthread_mutex_unlock(&bad_lock);
}

/* Expect @ret to be -1 with errno @want (0: expect success, ret >= 0). */
static void expect(const char *who, const char *what, long ret, int want)
{
	int err = errno;

	if (want ? (ret != -1 || err != want) : ret < 0)
		set_bad(who, what, ret, err);
}

/* One round of checks in the calling thread. */
static void check(const char *who, bool second)
{
	struct itimerval it;

	errno = 0;
	expect(who, "getppid", syscall(SYS_getppid), ERR_A);
	expect(who, "getitimer", syscall(SYS_getitimer, ITIMER_REAL, &it), ERR_B);
	expect(who, "capset", syscall(SYS_capset, NULL, NULL), ERR_B);
	expect(who, "getpgid", syscall(SYS_getpgid, 0), ERR_B);
	expect(who, "getsid", syscall(SYS_getsid, 0), second ? ERR_C : 0);
	expect(who, "getpid", syscall(SYS_getpid), 0);
}

static void *second_thread(void *arg)
{
	static const int c_nrs[] = { SYS_getsid };
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	(void)arg;
	while (!filters_ready)
		nanosleep(&ts, NULL);
	if (install(c_nrs, 1, ERR_C, 0))
		set_bad("thread", "install C", -1, errno);
	for (;;) {
		check("thread", true);
		trounds++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Write DIR/status atomically. */
static void write_status(const char *dir, const char *text)
{
	put_file(dir, "status", text);
}

/* Strict mode: only read, write, exit and sigreturn from here on. */
static int run_strict(const char *dir)
{
	char path[4096];
	int fd, p[2];

	snprintf(path, sizeof(path), "%s/status", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pipe(p))
		return 1;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
		return 1;
	if (write(fd, "ready\n", 6) != 6)
		syscall(SYS_exit, 1);
	for (;;)
		if (read(p[0], path, 1) < 0)
			syscall(SYS_exit, 1);
}

int main(int argc, char **argv)
{
	static const int a_nrs[] = { SYS_getppid, SYS_getpgid };
	static const int b_nrs[] = { SYS_getitimer, SYS_capset, SYS_getpgid };
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	const char *dir = NULL;
	bool strict = false;
	unsigned long rounds = 0;
	char text[512];
	pthread_t th;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--strict"))
			strict = true;
	}
	if (!dir) {
		fprintf(stderr, "usage: seccomp_check --out DIR [--strict]\n");
		return 2;
	}
	if (strict)
		return run_strict(dir);
	if (pthread_create(&th, NULL, second_thread, NULL))
		return 1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    install(a_nrs, 2, ERR_A, SECCOMP_FILTER_FLAG_TSYNC) ||
	    install(b_nrs, 3, ERR_B, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG)) {
		perror("seccomp");
		return 1;
	}
	filters_ready = 1;
	for (;;) {
		nanosleep(&ts, NULL);
		check("main", false);
		rounds++;
		pthread_mutex_lock(&bad_lock);
		if (bad[0])
			snprintf(text, sizeof(text), "rounds=%lu BAD %s\n", rounds, bad);
		else
			snprintf(text, sizeof(text), "rounds=%lu trounds=%lu %s\n", rounds, trounds,
				 trounds ? "ok" : "starting");
		pthread_mutex_unlock(&bad_lock);
		write_status(dir, text);
	}
}
