// SPDX-License-Identifier: MIT
/*
 * Unit tests of the restore mechanisms on live children: the address space
 * of one child ("source") is rebuilt into another ("target") by injected
 * system calls, then the target takes over the source's registers and
 * carries on its work; clone3 with a chosen pid and tid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "mm/swaparea.h"
#include "restore/rst.h"

#define REGION_MIB 16

/* ---- the source child: a pattern in memory, a counter, reports through a pipe ---- */

static uint64_t *region;
static char *cow_page;

static uint64_t pattern_at(size_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ULL + 12345;

	x ^= x >> 31;
	return x * 0xbf58476d1ce4e5b9ULL;
}

/* 1 if the region still holds the pattern (and the COW page its marker). */
static uint64_t pattern_ok(void)
{
	size_t n = REGION_MIB * 1024 * 1024 / 8;

	for (size_t i = 0; i < n; i += 7)
		if (region[i] != pattern_at(i))
			return 0;
	return memcmp(cow_page, "COW!", 4) == 0;
}

static void source_main(int wfd)
{
	size_t n = REGION_MIB * 1024 * 1024 / 8;
	volatile uint64_t counter = 0;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	region = mmap(NULL, n * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t i = 0; i < n; i += 7)
		region[i] = pattern_at(i);
	/* a private file mapping with one COW'd page */
	fd = open("/etc/passwd", O_RDONLY);
	cow_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	memcpy(cow_page, "COW!", 4);
	for (;;) {
		counter++;
		if (counter % (1 << 22) == 0) {
			uint64_t msg[2] = { counter, pattern_ok() };

			if (write(wfd, msg, sizeof(msg)) < 0)
				_exit(1);
		}
	}
}

static void target_main(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		pause();
}

/* ---- building a ct_task from a live process (what dump does, simplified) ---- */

static pid_t seize(pid_t pid)
{
	assert_int_equal(rst_seize(pid, PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE |
				   PTRACE_O_EXITKILL), 0);
	return pid;
}

static void parse_maps(pid_t pid, struct ct_mm *mm)
{
	char path[64], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e, off;
		char perms[8], name[512] = "";
		struct ct_vma *v;

		assert_true(sscanf(line, "%lx-%lx %7s %lx %*s %*s %511[^\n]", &s, &e, perms, &off,
				   name) >= 4);
		mm->vmas = realloc(mm->vmas, sizeof(*v) * (mm->nr_vmas + 1));
		v = &mm->vmas[mm->nr_vmas++];
		memset(v, 0, sizeof(*v));
		v->start = s;
		v->end = e;
		v->pgoff = off;
		v->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			  (perms[2] == 'x' ? PROT_EXEC : 0);
		v->flags = perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE;
		v->nr_pages = (e - s) / 4096;
		if (!strcmp(name, "[vdso]"))
			v->kind = CT_VMA_VDSO;
		else if (!strcmp(name, "[vvar]"))
			v->kind = CT_VMA_VVAR;
		else if (!strcmp(name, "[vvar_vclock]"))
			v->kind = CT_VMA_VVAR_VCLOCK;
		else if (!strcmp(name, "[vsyscall]"))
			v->kind = CT_VMA_VSYSCALL;
		else if (name[0] == '/') {
			v->kind = perms[3] == 's' ? CT_VMA_FILE_SHARED : CT_VMA_FILE_PRIVATE;
			v->path = strdup(name);
		} else {
			v->kind = CT_VMA_ANON;
			v->flags |= MAP_ANONYMOUS;
			if (!strcmp(name, "[stack]"))
				v->flags |= MAP_GROWSDOWN;
		}
	}
	fclose(f);
}

static void parse_stat(pid_t pid, struct ct_mm *mm)
{
	char path[64], *buf, *p;
	unsigned long long v[52] = { 0 };
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	assert_int_equal(read_whole_file(path, &buf, &len), 0);
	p = strrchr(buf, ')') + 2;
	for (int i = 3; i <= 52 && p; i++) {
		if (*p == '-' || (*p >= '0' && *p <= '9'))
			v[i - 1] = strtoull(p, NULL, 10);
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	free(buf);
	mm->start_code = v[25];
	mm->end_code = v[26];
	mm->start_stack = v[27];
	mm->start_data = v[44];
	mm->end_data = v[45];
	mm->start_brk = v[46];
	mm->arg_start = v[47];
	mm->arg_end = v[48];
	mm->env_start = v[49];
	mm->env_end = v[50];
}

/* A ct_task for the single-threaded live process @pid (stopped, seized). */
static void build_task(pid_t pid, struct ct_task *t)
{
	char path[64], exe[512];
	struct inj_ctx inj;
	unsigned long ip;
	size_t len;
	char *auxv;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->nr_threads = 1;
	t->threads = calloc(1, sizeof(*t->threads));
	t->threads[0].tid = pid;
	parse_maps(pid, &t->mm);
	parse_stat(pid, &t->mm);
	assert_int_equal(inj_find_syscall_insn(pid, &ip), 0);
	assert_int_equal(inj_begin(&inj, pid, ip), 0);
	t->mm.brk = inj_syscall(&inj, __NR_brk, 0, 0, 0, 0, 0, 0);
	assert_int_equal(inj_end(&inj), 0);
	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	assert_int_equal(read_whole_file(path, &auxv, &len), 0);
	t->mm.auxv = (uint64_t *)auxv;
	t->mm.auxv_len = len / 8;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	t->mm.exe_path = strdup(exe);
}

static void free_task(struct ct_task *t)
{
	for (uint32_t i = 0; i < t->mm.nr_vmas; i++)
		free(t->mm.vmas[i].path);
	free(t->mm.vmas);
	free(t->mm.auxv);
	free(t->mm.exe_path);
	free(t->threads);
}

/* Page source for restore: the present, anonymous pages of the source child. */
static int source_read(void *arg, uint32_t task, uint64_t addr, size_t nr, void *buf,
		       uint8_t *state)
{
	pid_t pid = *(pid_t *)arg;
	char path[64];
	uint64_t *pm = calloc(nr, 8);
	int pmfd, memfd, ret = 0;

	(void)task;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pmfd = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	memfd = open(path, O_RDONLY);
	if (pmfd < 0 || memfd < 0 || pread_all(pmfd, pm, nr * 8, addr / 4096 * 8))
		ret = -EIO;
	memset(buf, 0, nr * 4096);
	for (size_t i = 0; i < nr && !ret; i++) {
		bool present = pm[i] >> 63, file = (pm[i] >> 61) & 1;

		state[i] = present && !file ? SWP_PAGE_DATA : SWP_PAGE_NONE;
		if (state[i] == SWP_PAGE_DATA &&
		    pread_all(memfd, (char *)buf + i * 4096, 4096, addr + i * 4096))
			ret = -EIO;
	}
	close(pmfd);
	close(memfd);
	free(pm);
	return ret;
}

/*
 * /proc/PID/maps without device and inode columns, neighbours that the
 * kernel may or may not merge (same file, perms, contiguous offsets) joined.
 */
static char *maps_of(pid_t pid)
{
	char path[64], line[1024], *out = calloc(1, 1 << 16);
	unsigned long ps = 0, pe = 0, poff = 0;
	char pperms[8] = "", pname[512] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	for (;;) {
		char perms[8] = "", name[512] = "";
		unsigned long s = 0, e = 0, off = 0;
		bool eof = !fgets(line, sizeof(line), f);

		if (!eof)
			sscanf(line, "%lx-%lx %7s %lx %*s %*s %511[^\n]", &s, &e, perms, &off, name);
		if (!eof && s == pe && !strcmp(perms, pperms) && !strcmp(name, pname) &&
		    name[0] == '/' && off == poff + (pe - ps)) {
			pe = e;
			continue;
		}
		if (pe)
			snprintf(out + strlen(out), (1 << 16) - strlen(out), "%lx-%lx %s %lx %s\n",
				 ps, pe, pperms, poff, pname);
		if (eof)
			break;
		ps = s;
		pe = e;
		poff = off;
		strcpy(pperms, perms);
		strcpy(pname, name);
	}
	fclose(f);
	return out;
}

/* Compare every page present (anonymous) in @a with the same page of @b. */
static void compare_memory(pid_t a, pid_t b, const struct ct_mm *mm, size_t *compared)
{
	char *ba = malloc(4096), *bb = malloc(4096);
	uint8_t st;

	*compared = 0;
	for (uint32_t i = 0; i < mm->nr_vmas; i++) {
		const struct ct_vma *v = &mm->vmas[i];

		if (v->kind != CT_VMA_ANON && v->kind != CT_VMA_FILE_PRIVATE)
			continue;
		for (uint64_t addr = v->start; addr < v->end; addr += 4096) {
			assert_int_equal(source_read(&a, 0, addr, 1, ba, &st), 0);
			if (st != SWP_PAGE_DATA)
				continue;
			assert_int_equal(inj_read_mem(b, addr, bb, 4096), 0);
			if (memcmp(ba, bb, 4096))
				fail_msg("page %#lx differs", (unsigned long)addr);
			(*compared)++;
		}
	}
	free(ba);
	free(bb);
}

static void kill_wait(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
		;
}

/* Read one report of the source's loop from @fd within @ms. */
static bool read_report(int fd, uint64_t msg[2], int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return false;
	return read(fd, msg, 16) == 16;
}

/* Rebuild the source's address space into the target, move its registers there, run it. */
static void test_rebuild_and_continue(void **state)
{
	struct page_source pages = { .read = source_read };
	struct rst_mm_opts o = { .pages = &pages };
	struct ct_task t;
	struct rst_proc p;
	uint64_t msg[2], last = 0, filled = 0;
	uint8_t xstate[4096];
	struct iovec iov = { xstate, sizeof(xstate) };
	struct user_regs_struct regs;
	uint64_t mask;
	pid_t src, dst;
	char *ma, *mb;
	size_t compared;
	int pfd[2];

	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	/* the source would be a sanitized process: terabytes of shadow to scan page by page */
	skip();
#endif
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	src = fork();
	if (src == 0)
		source_main(pfd[1]);
	dst = fork();
	if (dst == 0)
		target_main();
	close(pfd[1]);
	assert_true(read_report(pfd[0], msg, 10000));
	assert_int_equal(msg[1], 1);
	seize(src);
	while (fcntl(pfd[0], F_SETFL, O_NONBLOCK) == 0 && read(pfd[0], msg, 16) == 16)
		last = msg[0];
	fcntl(pfd[0], F_SETFL, 0);
	seize(dst);
	pages.arg = &src;
	build_task(src, &t);

	assert_int_equal(rst_proc_init(&p, &t), 0);
	p.host_pid = dst;
	p.threads[0].host_tid = dst;
	p.pidfd = (int)syscall(SYS_pidfd_open, dst, 0);
	assert_true(p.pidfd >= 0);
	assert_int_equal(rst_mm_begin(&p, NULL), 0);
	assert_int_equal(rst_mm_rebuild(&p, &o), 0);
	assert_true(p.uffd >= 0);
	assert_int_equal(rst_mm_fill_eager(&p, &pages, &filled), 0);
	assert_true(filled >= REGION_MIB * 256 / 7);
	rst_mm_close_uffd(&p);
	assert_int_equal(rst_mm_end(&p), 0);

	ma = maps_of(src);
	mb = maps_of(dst);
	if (strcmp(ma, mb)) {
		FILE *fa = fopen("/tmp/rst_maps_a", "w"), *fb = fopen("/tmp/rst_maps_b", "w");

		fputs(ma, fa);
		fputs(mb, fb);
		fclose(fa);
		fclose(fb);
		fail_msg("maps differ: diff /tmp/rst_maps_a /tmp/rst_maps_b");
	}
	free(ma);
	free(mb);
	compare_memory(src, dst, &t.mm, &compared);
	assert_true(compared >= filled);

	/* registers, xstate and mask of the source: the target carries on its loop */
	assert_int_equal(ptrace(PTRACE_GETREGS, src, NULL, &regs), 0);
	assert_int_equal(ptrace(PTRACE_GETREGSET, src, NT_X86_XSTATE, &iov), 0);
	assert_int_equal(ptrace(0x420a, src, 8, &mask), 0);
	p.threads[0].inj.saved_regs = regs;
	p.threads[0].inj.saved_sigmask = mask;
	assert_int_equal(ptrace(PTRACE_SETREGSET, dst, NT_X86_XSTATE, &iov), 0);
	assert_int_equal(inj_end(&p.threads[0].inj), 0);
	kill_wait(src);
	assert_int_equal(ptrace(PTRACE_DETACH, dst, NULL, NULL), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(read_report(pfd[0], msg, 10000));
		assert_true(msg[0] > last);
		assert_int_equal(msg[1], 1);
		last = msg[0];
	}
	kill_wait(dst);
	rst_proc_free(&p);
	free_task(&t);
	close(pfd[0]);
}

/* A pid nobody uses now, for clone3 set_tid. */
static pid_t free_pid(int skip)
{
	char buf[32], path[64];
	long last;

	assert_int_equal(read_small_file("/proc/sys/kernel/ns_last_pid", buf, sizeof(buf)), 0);
	last = atol(buf);
	for (long pid = last + 200 + skip; pid < last + 10000; pid++) {
		snprintf(path, sizeof(path), "/proc/%ld", pid);
		if (access(path, F_OK))
			return (pid_t)pid;
	}
	fail();
	return -1;
}

/* clone3 with a chosen pid in a parent-to-be, then a thread with a chosen tid. */
static void test_fork_and_thread_with_ids(void **state)
{
	struct ct_thread ths[2] = { 0 };
	struct ct_task tp = { 0 }, tc = { 0 };
	struct rst_proc pp, pc, busy;
	char path[64], buf[256];
	pid_t parent;

	(void)state;
	parent = fork();
	if (parent == 0)
		target_main();
	seize(parent);
	parse_maps(parent, &tp.mm);	/* only for the scratch hole search */
	tp.pid = parent;
	tp.nr_threads = 1;
	tc.pid = free_pid(0);
	tc.exit_signal = SIGCHLD;
	ths[0].tid = tc.pid;
	ths[1].tid = free_pid(1);
	tc.threads = ths;
	tc.nr_threads = 2;
	tc.mm = tp.mm;
	assert_int_equal(rst_proc_init(&pp, &tp), 0);
	pp.host_pid = parent;
	assert_int_equal(rst_mm_begin(&pp, NULL), 0);
	assert_int_equal(rst_proc_init(&pc, &tc), 0);
	assert_int_equal(rst_tree_fork(&pp, &pc), 0);
	assert_int_equal(pc.host_pid, tc.pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", tc.pid);
	assert_int_equal(read_small_file(path, buf, sizeof(buf)), 0);
	snprintf(path, sizeof(path), " %d ", parent);
	assert_non_null(strstr(strrchr(buf, ')'), path));

	/* the same pid again: refused clearly */
	assert_int_equal(rst_proc_init(&busy, &tc), 0);
	assert_int_equal(rst_tree_fork(&pp, &busy), -EEXIST);
	rst_proc_free(&busy);

	/* its image leaves the parent's scratch range free: the child keeps it, and the routine */
	assert_int_equal(rst_mm_begin(&pc, &pp), 0);
	assert_true(pc.scratch == pp.scratch && pc.batch.code == pp.batch.code);
	assert_int_equal(rst_threads_create(&pc), 0);
	assert_int_equal(pc.threads[1].host_tid, ths[1].tid);
	snprintf(path, sizeof(path), "/proc/%d/task/%d", tc.pid, ths[1].tid);
	assert_int_equal(access(path, F_OK), 0);

	kill(tc.pid, SIGKILL);
	waitpid(ths[1].tid, NULL, __WALL);	/* traced threads are reaped before their leader */
	kill_wait(tc.pid);
	kill_wait(parent);
	rst_proc_free(&pc);
	rst_proc_free(&pp);
	tc.mm.nr_vmas = 0;
	free_task(&tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rebuild_and_continue),
		cmocka_unit_test(test_fork_and_thread_with_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
