// SPDX-License-Identifier: MIT
/*
 * seccomp_sleep: installs a seccomp filter on itself (allow everything but
 * ptrace(2), which gets EPERM), writes "ready" to $1, then sleeps forever.
 * A dump must refuse it clearly ("pid P: seccomp filter: not supported")
 * rather than drop the filter on restore.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(insns) / sizeof(insns[0]), .filter = insns };
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: seccomp_sleep READY-FILE\n");
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("seccomp");
		return 1;
	}
	f = fopen(argv[1], "w");
	if (!f)
		return 1;
	fprintf(f, "ready\n");
	fclose(f);
	for (;;)
		pause();
}
