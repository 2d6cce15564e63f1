// SPDX-License-Identifier: MIT
/* Unit tests for system call injection on a real seized child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject/inject.h"

static volatile unsigned long spin_counter;

/* Fork a child that spins, seize and interrupt it. */
static pid_t start_seized_child(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			spin_counter++;
	}
	assert_true(pid > 0);
	assert_int_equal(ptrace(PTRACE_SEIZE, pid, NULL, (void *)PTRACE_O_TRACECLONE), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, pid, NULL, NULL), 0);
	assert_int_equal(waitpid(pid, &status, __WALL), pid);
	assert_true(WIFSTOPPED(status));
	return pid;
}

static void kill_child(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, __WALL);
}

static void test_inject_getpid_and_restore_regs(void **state)
{
	pid_t pid = start_seized_child();
	struct user_regs_struct before, after;
	struct inj_ctx ctx;
	unsigned long ip;

	(void)state;
	assert_int_equal(inj_find_syscall_insn(pid, &ip), 0);
	assert_int_equal(ptrace(PTRACE_GETREGS, pid, NULL, &before), 0);
	assert_int_equal(inj_begin(&ctx, pid, ip), 0);
	assert_int_equal(inj_syscall(&ctx, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(inj_syscall(&ctx, __NR_close, 12345, 0, 0, 0, 0, 0), -EBADF);
	assert_int_equal(inj_end(&ctx), 0);
	assert_int_equal(ptrace(PTRACE_GETREGS, pid, NULL, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	kill_child(pid);
}

static void test_inject_scratch_memory_roundtrip(void **state)
{
	pid_t pid = start_seized_child();
	const char msg[] = "written into the tracee";
	char back[sizeof(msg)];
	struct inj_ctx ctx;
	unsigned long ip, addr;

	(void)state;
	assert_int_equal(inj_find_syscall_insn(pid, &ip), 0);
	assert_int_equal(inj_begin(&ctx, pid, ip), 0);
	assert_int_equal(inj_map_scratch(&ctx, 4096, &addr), 0);
	assert_int_equal(inj_write_mem(pid, addr, msg, sizeof(msg)), 0);
	assert_int_equal(inj_read_mem(pid, addr, back, sizeof(back)), 0);
	assert_memory_equal(msg, back, sizeof(msg));
	/* mprotect read-only: /proc/PID/mem still writes it */
	assert_int_equal(inj_syscall(&ctx, __NR_mprotect, addr, 4096, PROT_READ, 0, 0, 0), 0);
	assert_int_equal(inj_write_mem(pid, addr, "X", 1), 0);
	assert_int_equal(inj_read_mem(pid, addr, back, 1), 0);
	assert_int_equal(back[0], 'X');
	assert_int_equal(inj_unmap_scratch(&ctx, addr, 4096), 0);
	assert_int_not_equal(inj_read_mem(pid, addr, back, 1), 0);
	assert_int_equal(inj_end(&ctx), 0);
	kill_child(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inject_getpid_and_restore_regs),
		cmocka_unit_test(test_inject_scratch_memory_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
