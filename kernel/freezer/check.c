// SPDX-License-Identifier: MIT
/*
 * check_kernel(): probe, on the running kernel, every feature ctswap relies
 * on.  Each probe really does the thing (in a forked child where it could
 * disturb us) instead of trusting the kernel version.
 */
#define LOG_PREFIX "check: "
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctswap.h"
#include "freezer/cgroup.h"
#include "freezer/freezer.h"
#include "lib/log.h"
#include "lib/util.h"

/* PAGEMAP_SCAN (Linux 6.7): Debian's 6.1 headers lack it. */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

#ifndef PR_SET_MM_MAP
#define PR_SET_MM_MAP 14
#define PR_SET_MM_MAP_SIZE 15
#endif

/* The uffd features lazy restore needs. */
#define CHECK_UFFD_FEATURES (UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | \
			     UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP)

/* A child that waits for SIGKILL, with a marker in memory and a pipe fd. */
struct check_child {
	pid_t pid;
	int pipe_fd;		/* the child's copy has the same number */
};

static volatile unsigned long check_marker = 0x5eed5eed5eedUL;

/* Fork a child that pauses forever. */
static int check_child_start(struct check_child *c)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	c->pid = fork();
	if (c->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (c->pid == 0) {
		for (;;)
			pause();
	}
	close(p[1]);
	c->pipe_fd = p[0];
	return 0;
}

/* Kill and reap the child. */
static void check_child_stop(struct check_child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, __WALL);
	close(c->pipe_fd);
	c->pid = 0;
}

/* Fill @c's detail and report it. */
static bool check_report(void (*fn)(const struct ctswap_check *, void *), void *arg,
			 const char *feature, bool required, int err, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static bool check_report(void (*fn)(const struct ctswap_check *, void *), void *arg,
			 const char *feature, bool required, int err, const char *fmt, ...)
{
	struct ctswap_check c = { .feature = feature, .required = required, .ok = !err };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c.detail, sizeof(c.detail), fmt, ap);
	va_end(ap);
	fn(&c, arg);
	return !err || !required;
}

/* Freeze a child in a scratch cgroup and wait for the kernel to say frozen. */
static int check_freezer(char *why, size_t size, bool *v1)
{
	char name[64];
	struct ct_cgroup *cg;
	struct check_child c = { 0 };
	int ret;

	/* "." cannot start a container name: no clash with a user's container */
	snprintf(name, sizeof(name), ".check-%d", getpid());
	ret = cg_create(name, &cg);
	if (ret) {
		snprintf(why, size, "cannot create a cgroup: %s", ct_err_msg() ?: strerror(-ret));
		return ret;
	}
	*v1 = cg_is_v1(cg);
	ret = check_child_start(&c);
	if (!ret)
		ret = cg_attach(cg, c.pid);
	if (!ret) {
		ret = freezer_freeze(cg, 2000);
		if (ret)
			snprintf(why, size, "freezing failed: %s", ct_err_msg() ?: strerror(-ret));
		else
			ret = freezer_thaw(cg);
	} else {
		snprintf(why, size, "cannot attach: %s", ct_err_msg() ?: strerror(-ret));
	}
	check_child_stop(&c);
	cg_destroy(cg);
	cg_close(cg);
	ct_err_clear();
	return ret;
}

/* PTRACE_SEIZE + PTRACE_INTERRUPT must give a PTRACE_EVENT_STOP. */
static int check_ptrace(struct check_child *c, char *why, size_t size)
{
	int status;

	if (ptrace(PTRACE_SEIZE, c->pid, 0, 0) < 0) {
		snprintf(why, size, "PTRACE_SEIZE: %m");
		return -errno;
	}
	if (ptrace(PTRACE_INTERRUPT, c->pid, 0, 0) < 0) {
		snprintf(why, size, "PTRACE_INTERRUPT: %m");
		return -errno;
	}
	if (waitpid(c->pid, &status, __WALL) != c->pid || !WIFSTOPPED(status) ||
	    (status >> 16) != PTRACE_EVENT_STOP) {
		snprintf(why, size, "no PTRACE_EVENT_STOP after PTRACE_INTERRUPT (status 0x%x)", status);
		return -ENOTSUP;
	}
	ptrace(PTRACE_DETACH, c->pid, 0, 0);
	return 0;
}

/* Read the child's copy of check_marker. */
static int check_vm_readv(struct check_child *c, char *why, size_t size)
{
	unsigned long val = 0;
	struct iovec local = { &val, sizeof(val) };
	struct iovec remote = { (void *)&check_marker, sizeof(val) };

	if (process_vm_readv(c->pid, &local, 1, &remote, 1, 0) != sizeof(val)) {
		snprintf(why, size, "process_vm_readv: %m");
		return -errno;
	}
	if (val != check_marker) {
		snprintf(why, size, "process_vm_readv read %#lx, expected %#lx", val, check_marker);
		return -EIO;
	}
	return 0;
}

/* PAGEMAP_SCAN must find a page we touched as present. */
static int check_pagemap_scan(char *why, size_t size)
{
	struct page_region regions[4];
	struct pm_scan_arg arg = { 0 };
	char *mem;
	int fd, n, ret = 0;

	mem = mmap(NULL, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(why, size, "mmap: %m");
		return -errno;
	}
	mem[PAGE_SIZE] = 1;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, size, "/proc/self/pagemap: %m");
		ret = -errno;
		goto out_unmap;
	}
	arg.size = sizeof(arg);
	arg.start = (unsigned long)mem;
	arg.end = (unsigned long)mem + 4 * PAGE_SIZE;
	arg.vec = (unsigned long)regions;
	arg.vec_len = ARRAY_SIZE(regions);
	arg.category_mask = PAGE_IS_PRESENT;
	arg.return_mask = PAGE_IS_PRESENT;
	n = ioctl(fd, PAGEMAP_SCAN, &arg);
	if (n < 0) {
		snprintf(why, size, "PAGEMAP_SCAN ioctl: %m (needs Linux 6.7)");
		ret = -errno;
	} else if (n != 1 || regions[0].start != (unsigned long)mem + PAGE_SIZE ||
		   regions[0].end != (unsigned long)mem + 2 * PAGE_SIZE) {
		snprintf(why, size, "PAGEMAP_SCAN gave %d regions, not the one touched page", n);
		ret = -EIO;
	}
	close(fd);
out_unmap:
	munmap(mem, 4 * PAGE_SIZE);
	return ret;
}

/* pidfd_getfd must duplicate the child's pipe end. */
static int check_pidfd_getfd(struct check_child *c, char *why, size_t size)
{
	struct stat a, b;
	int pidfd, fd, ret = 0;

	pidfd = syscall(SYS_pidfd_open, c->pid, 0);
	if (pidfd < 0) {
		snprintf(why, size, "pidfd_open: %m");
		return -errno;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, c->pipe_fd, 0);
	if (fd < 0) {
		snprintf(why, size, "pidfd_getfd: %m");
		ret = -errno;
	} else {
		if (fstat(fd, &a) || fstat(c->pipe_fd, &b) || a.st_ino != b.st_ino) {
			snprintf(why, size, "pidfd_getfd returned another file");
			ret = -EIO;
		}
		close(fd);
	}
	close(pidfd);
	return ret;
}

/* clone3 with set_tid must give a child the pid asked for. */
static int check_set_tid(char *why, size_t size)
{
	struct clone_args args = { .exit_signal = SIGCHLD, .set_tid_size = 1 };
	pid_t want, got = -1;
	int err = 0;

	for (int attempt = 0; attempt < 5; attempt++) {
		/* a pid just freed is very likely still free */
		want = fork();
		if (want == 0)
			_exit(0);
		if (want < 0)
			break;
		waitpid(want, NULL, 0);
		args.set_tid = (unsigned long)&want;
		got = syscall(SYS_clone3, &args, sizeof(args));
		if (got == 0)
			_exit(0);
		err = got < 0 ? errno : 0;
		if (got > 0)
			waitpid(got, NULL, 0);
		if (got >= 0 || err != EEXIST)
			break;
	}
	if (got < 0) {
		snprintf(why, size, "clone3 with set_tid: %s", strerror(err));
		return -err;
	}
	if (got != want) {
		snprintf(why, size, "clone3 set_tid asked %d, got %d", want, got);
		return -EIO;
	}
	return 0;
}

/*
 * In a child: make a pid namespace, take its file from our pidfd and hand it
 * to a new proc instance, as a --rootfs restore does before the tree
 * (kernel/task/mounts.c, doc/KERNEL-FACTS.md "Mount trees").  Exit status:
 * 0, or the step that failed.
 */
static int check_proc_pidns_child(void)
{
	int self, ns, fs;

	if (unshare(CLONE_NEWPID) < 0)
		return 1;
	self = (int)syscall(SYS_pidfd_open, getpid(), PIDFD_THREAD);
	if (self < 0)
		return 2;
	ns = ioctl(self, PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0);
	if (ns < 0)
		return 3;
	fs = fsopen("proc", FSOPEN_CLOEXEC);
	if (fs < 0)
		return 4;
	return fsconfig(fs, FSCONFIG_SET_FD, "pidns", NULL, ns) < 0 ? 5 : 0;
}

/* A --rootfs restore's proc shows the container's pid namespace. */
static int check_proc_pidns(char *why, size_t size)
{
	static const char *const step[] = {
		"", "unshare(CLONE_NEWPID)", "pidfd_open(PIDFD_THREAD)",
		"PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE (6.11)", "fsopen(proc)",
		"proc's pidns option (6.18)",
	};
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(check_proc_pidns_child());
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		snprintf(why, size, "fork: %m");
		return -errno;
	}
	if (!WIFEXITED(status) || (size_t)WEXITSTATUS(status) >= ARRAY_SIZE(step)) {
		snprintf(why, size, "probe child died");
		return -EIO;
	}
	if (WEXITSTATUS(status)) {
		snprintf(why, size, "%s refused: --rootfs restores fail",
			 step[WEXITSTATUS(status)]);
		return -ENOTSUP;
	}
	snprintf(why, size, "ok");
	return 0;
}

/* Field @n (1-based) of a /proc/PID/stat line, after the comm. */
static unsigned long check_stat_field(const char *stat, int n)
{
	const char *p = strrchr(stat, ')');

	for (int f = 2; p && f < n; f++)
		p = strchr(p + 1, ' ');
	return p ? strtoul(p + 1, NULL, 10) : 0;
}

/* In a child: PR_SET_MM_MAP with the child's own current layout. */
static int check_mm_map_child(void)
{
	struct prctl_mm_map map = { .exe_fd = (__u32)-1 };
	static char stat[1024];
	static __u64 auxv[128];
	unsigned int map_size = 0;
	int fd;
	ssize_t n;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &map_size, 0, 0) < 0)
		return errno;
	if (map_size != sizeof(map))
		return EPROTO;
	fd = open("/proc/self/stat", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, stat, sizeof(stat) - 1);
	if (n <= 0)
		return EIO;
	stat[n] = '\0';
	close(fd);
	fd = open("/proc/self/auxv", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, auxv, sizeof(auxv));
	if (n <= 0)
		return EIO;
	close(fd);
	map.start_code = check_stat_field(stat, 26);
	map.end_code = check_stat_field(stat, 27);
	map.start_stack = check_stat_field(stat, 28);
	map.start_data = check_stat_field(stat, 45);
	map.end_data = check_stat_field(stat, 46);
	map.start_brk = check_stat_field(stat, 47);
	map.arg_start = check_stat_field(stat, 48);
	map.arg_end = check_stat_field(stat, 49);
	map.env_start = check_stat_field(stat, 50);
	map.env_end = check_stat_field(stat, 51);
	map.brk = (unsigned long)sbrk(0);
	map.auxv = auxv;
	map.auxv_size = n;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0) < 0)
		return errno;
	return 0;
}

/* PR_SET_MM_MAP, tried in a child so our own layout stays. */
static int check_mm_map(char *why, size_t size)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0)
		_exit(check_mm_map_child());
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		snprintf(why, size, "probe child failed");
		return -EIO;
	}
	if (WEXITSTATUS(status)) {
		snprintf(why, size, "prctl(PR_SET_MM_MAP): %s", strerror(WEXITSTATUS(status)));
		return -WEXITSTATUS(status);
	}
	return 0;
}

/* userfaultfd with the restore features, registered MISSING on anon memory. */
static int check_uffd(char *why, size_t size, __u64 *offered)
{
	struct uffdio_api api = { .api = UFFD_API, .features = CHECK_UFFD_FEATURES };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	int fd, ret = 0;
	void *mem;

	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(why, size, "userfaultfd: %m");
		return -errno;
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		struct uffdio_api probe = { .api = UFFD_API };
		int err = errno;
		int pfd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

		/* say which features are missing */
		if (pfd >= 0 && ioctl(pfd, UFFDIO_API, &probe) == 0)
			snprintf(why, size, "UFFDIO_API: features %#llx missing",
				 (unsigned long long)(CHECK_UFFD_FEATURES & ~probe.features));
		else
			snprintf(why, size, "UFFDIO_API: %s", strerror(err));
		if (pfd >= 0)
			close(pfd);
		close(fd);
		return -err;
	}
	*offered = api.features;
	mem = mmap(NULL, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range.start = (unsigned long)mem;
	reg.range.len = 4 * PAGE_SIZE;
	if (mem == MAP_FAILED || ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
		snprintf(why, size, "UFFDIO_REGISTER missing mode on anonymous memory: %m");
		ret = -errno;
	} else if (!(reg.ioctls & (1ULL << _UFFDIO_COPY))) {
		snprintf(why, size, "UFFDIO_COPY not offered on the registered range");
		ret = -ENOTSUP;
	}
	/* close first: with EVENT_UNMAP, munmap would wait for us to read the event */
	close(fd);
	if (mem != MAP_FAILED)
		munmap(mem, 4 * PAGE_SIZE);
	return ret;
}

/* Find [vdso], [vvar] and [vvar_vclock] in /proc/self/maps; report their layout. */
static int check_vdso(char *why, size_t size)
{
	unsigned long vdso[2] = { 0 }, vvar[2] = { 0 }, vclock[2] = { 0 }, lo, hi;
	char *maps, *line, *save = NULL;
	int ret;

	ret = read_whole_file("/proc/self/maps", &maps, NULL);
	if (ret) {
		snprintf(why, size, "/proc/self/maps: %s", strerror(-ret));
		return ret;
	}
	for (line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (strstr(line, "[vdso]"))
			vdso[0] = lo, vdso[1] = hi;
		else if (strstr(line, "[vvar_vclock]"))
			vclock[0] = lo, vclock[1] = hi;
		else if (strstr(line, "[vvar]"))
			vvar[0] = lo, vvar[1] = hi;
	}
	free(maps);
	if (!vdso[0]) {
		snprintf(why, size, "no [vdso] in /proc/self/maps");
		return -ENOENT;
	}
	lo = vvar[0] ? vvar[0] : vdso[0];
	hi = vdso[1];
	if ((vvar[0] && vvar[1] != (vclock[0] ? vclock[0] : vdso[0])) ||
	    (vclock[0] && vclock[1] != vdso[0])) {
		snprintf(why, size, "vvar/vvar_vclock/vdso not contiguous");
		return -ENOTSUP;
	}
	snprintf(why, size, "vvar %lu + vvar_vclock %lu + vdso %lu pages, contiguous (%lu KiB)",
		 (vvar[1] - vvar[0]) / PAGE_SIZE, (vclock[1] - vclock[0]) / PAGE_SIZE,
		 (vdso[1] - vdso[0]) / PAGE_SIZE, (hi - lo) / 1024);
	return 0;
}

/* Probe everything, calling @fn per feature. */
int check_kernel(void (*fn)(const struct ctswap_check *c, void *arg), void *arg)
{
	char why[160] = "";
	struct check_child c = { 0 };
	__u64 features = 0;
	bool ok = true, v1 = false;
	int ret;

	ct_err_clear();
	ret = check_freezer(why, sizeof(why), &v1);
	ok &= check_report(fn, arg, v1 ? "cgroup v1 freezer" : "cgroup v2 freeze", true, ret, "%s",
			   ret ? why : "ok");

	ret = check_child_start(&c);
	if (!ret) {
		ret = check_ptrace(&c, why, sizeof(why));
		ok &= check_report(fn, arg, "ptrace seize/interrupt", true, ret, "%s", ret ? why : "ok");
		ret = check_vm_readv(&c, why, sizeof(why));
		ok &= check_report(fn, arg, "process_vm_readv", true, ret, "%s", ret ? why : "ok");
		ret = check_pidfd_getfd(&c, why, sizeof(why));
		ok &= check_report(fn, arg, "pidfd_getfd", true, ret, "%s", ret ? why : "ok");
		check_child_stop(&c);
	} else {
		ok &= check_report(fn, arg, "probe child", true, ret, "fork: %s", strerror(-ret));
	}
	ret = check_pagemap_scan(why, sizeof(why));
	ok &= check_report(fn, arg, "PAGEMAP_SCAN ioctl", true, ret, "%s", ret ? why : "ok");
	ret = check_set_tid(why, sizeof(why));
	ok &= check_report(fn, arg, "clone3 set_tid", true, ret, "%s", ret ? why : "ok");
	ret = check_mm_map(why, sizeof(why));
	ok &= check_report(fn, arg, "PR_SET_MM_MAP", true, ret, "%s", ret ? why : "ok");
	ret = check_uffd(why, sizeof(why), &features);
	ok &= check_report(fn, arg, "userfaultfd (restore)", true, ret, "%s", ret ? why : "ok");
	ok &= check_report(fn, arg, "userfaultfd WP_ASYNC", false,
			   ret || !(features & UFFD_FEATURE_WP_ASYNC) ? -ENOTSUP : 0, "%s",
			   ret ? "userfaultfd unusable" :
			   (features & UFFD_FEATURE_WP_ASYNC) ? "ok" : "not offered (needs 6.7)");
	ret = check_proc_pidns(why, sizeof(why));
	ok &= check_report(fn, arg, "proc of a new pid namespace", false, ret, "%s", why);
	ret = check_vdso(why, sizeof(why));
	ok &= check_report(fn, arg, "vdso/vvar layout", true, ret, "%s", why);
	ct_err_clear();
	if (!ok)
		return ct_err(-ENOTSUP, "check: a required kernel feature is missing");
	return 0;
}
