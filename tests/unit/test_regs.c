// SPDX-License-Identifier: MIT
/* Unit tests for regs.c and vma.c on real seized children. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject/inject.h"
#include "mm/vma.h"
#include "task/task.h"

#define NR_TOUCHED 37
#define REGION_LEN ((1 << 20) + 13 * 4096)	/* a size nothing else maps (ASan maps 1 MiB) */

/* Fork a child that sleeps in nanosleep in a loop, seize it and stop it. */
static pid_t start_sleeping_child(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct timespec ts = { 0, 50000000 };
		/* an anonymous region with some pages touched, most not */
		char *mem = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (int i = 0; i < NR_TOUCHED; i++)
			mem[i * 2 * 4096] = 1;
		for (;;)
			nanosleep(&ts, NULL);
	}
	assert_true(pid > 0);
	usleep(20000);
	assert_int_equal(ptrace(PTRACE_SEIZE, pid, NULL, NULL), 0);
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

/* A thread stopped in nanosleep: restart state, xstate and rseq are recorded. */
static void test_dump_regs_in_nanosleep(void **state)
{
	pid_t pid = start_sleeping_child();
	struct ct_thread th = { .tid = pid, .host_tid = pid };
	struct task_ctx tc = { .host_pid = pid };

	(void)state;
	assert_int_equal(dump_thread_regs(&tc, &th), 0);
	assert_int_equal((long long)th.regs.orig_rax, __NR_clock_nanosleep);
	assert_int_equal((long long)th.regs.rax, -516);
	assert_true(th.xstate_len >= 576);
	/* glibc 2.35+ registers rseq with a 32-byte area and this signature */
	assert_true(th.rseq_abi != 0);
	assert_int_equal(th.rseq_len, 32);
	assert_int_equal(th.rseq_sig, 0x53053053);
	free(th.xstate);
	kill_child(pid);
}

/* Restoring onto the same thread: a RESTARTBLOCK call is issued again, xstate and rseq go back, it runs on. */
static void test_restore_regs_roundtrip(void **state)
{
	pid_t pid = start_sleeping_child();
	struct ct_thread th = { .tid = pid, .host_tid = pid };
	struct task_ctx tc = { .host_pid = pid };
	struct inj_ctx inj;
	unsigned long ip;
	int status;

	(void)state;
	assert_int_equal(dump_thread_regs(&tc, &th), 0);
	assert_int_equal(inj_find_syscall_insn(pid, &ip), 0);
	assert_int_equal(inj_begin(&inj, pid, ip), 0);
	tc.inj = &inj;
	/* xmm15 (legacy area offset 160 + 15 * 16) gets a pattern that must arrive */
	memset(th.xstate + 160 + 15 * 16, 0x5a, 16);
	assert_int_equal(restore_thread_regs(&tc, &th), 0);
	{
		uint8_t back[16384];
		struct iovec iov = { back, sizeof(back) };

		assert_int_equal(ptrace(PTRACE_GETREGSET, pid, (void *)0x202, &iov), 0);
		assert_memory_equal(back + 160 + 15 * 16, th.xstate + 160 + 15 * 16, 16);
	}
	/* the same clock_nanosleep again, from its syscall instruction (2 bytes back) */
	assert_int_equal((long long)inj.saved_regs.rax, __NR_clock_nanosleep);
	assert_int_equal(inj.saved_regs.rip, th.regs.rip - 2);
	assert_int_equal(inj_end(&inj), 0);
	assert_int_equal(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
	usleep(120000);
	/* still alive, sleeping in the call issued again */
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	free(th.xstate);
	kill_child(pid);
}

/* smaps parsing and present-page scanning see exactly the touched pages. */
static void test_vma_present_pages(void **state)
{
	pid_t pid = start_sleeping_child();
	struct vma_shm_table shm = { 0 };
	struct ct_mm mm = { 0 };
	struct pagemap pm;
	bool found = false, stack = false, vdso = false;

	(void)state;
	assert_int_equal(vma_collect(pid, &shm, &mm), 0);
	assert_int_equal(mm_collect(pid, &mm), 0);
	assert_true(mm.nr_vmas > 5);
	assert_true(mm.auxv_len >= 2 && mm.auxv_len % 2 == 0);
	assert_non_null(mm.exe_path);
	assert_int_equal(pagemap_open(pid, &pm), 0);
	for (uint32_t i = 0; i < mm.nr_vmas; i++) {
		struct ct_vma *v = &mm.vmas[i];
		struct page_run *runs;
		size_t nr;
		uint64_t pages;

		if (i)
			assert_true(v->start >= mm.vmas[i - 1].end);
		stack |= v->kind == CT_VMA_ANON && (v->flags & MAP_GROWSDOWN);
		vdso |= v->kind == CT_VMA_VDSO;
		assert_int_equal(pagemap_stored_runs(&pm, v, &runs, &nr, &pages), 0);
		if (v->kind == CT_VMA_ANON && v->end - v->start == REGION_LEN) {
			assert_int_equal(pages, NR_TOUCHED);
			assert_int_equal(nr, NR_TOUCHED);	/* every other page: no merging */
			found = true;
		}
		if (v->kind == CT_VMA_FILE_PRIVATE && !(v->prot & PROT_WRITE) && (v->prot & PROT_EXEC))
			assert_int_equal(pages, 0);	/* text is never COW'd */
		free(runs);
	}
	assert_true(found);
	assert_true(stack);
	assert_true(vdso);
	/* the same through plain pagemap reads */
	pm.no_scan = true;
	for (uint32_t i = 0; i < mm.nr_vmas; i++) {
		struct page_run *runs;
		size_t nr;
		uint64_t pages;

		assert_int_equal(pagemap_stored_runs(&pm, &mm.vmas[i], &runs, &nr, &pages), 0);
		if (mm.vmas[i].kind == CT_VMA_ANON && mm.vmas[i].end - mm.vmas[i].start == REGION_LEN)
			assert_int_equal(pages, NR_TOUCHED);
		free(runs);
	}
	pagemap_close(&pm);
	for (uint32_t i = 0; i < mm.nr_vmas; i++)
		free(mm.vmas[i].path);
	free(mm.vmas);
	free(mm.auxv);
	free(mm.exe_path);
	vma_shm_table_free(&shm);
	kill_child(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_regs_in_nanosleep),
		cmocka_unit_test(test_restore_regs_roundtrip),
		cmocka_unit_test(test_vma_present_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
