// SPDX-License-Identifier: MIT
/*
 * vmflags: mappings with mlock and madvise state, compared from
 * /proc/self/smaps before the dump and after each restore.
 *
 *   vmflags --out DIR [--future] [--rounds R]
 *
 * Maps one region per state (mlock, mlock2 MLOCK_ONFAULT, MADV_DONTFORK,
 * MADV_DONTDUMP, MADV_WIPEONFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
 * MADV_MERGEABLE, a shared region mlocked, one mseal()ed), fills them, and records for
 * each the VmFlags letters of interest and, for the mlocked ones, the
 * "Locked:" size; with --future also mlockall(MCL_FUTURE).  Appends
 * "ready r" to DIR/status and waits for DIR/go-r; then compares, and with
 * --future checks that a new mapping is locked (and populated) at once.
 * Appends "ok r" or "BAD <what>"; after the last round "done".
 * Files are read with read() into static buffers: under MCL_FUTURE every
 * malloc'd page would count as locked memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REGION (4UL << 20)	/* 4 MiB: room for a 2 MiB aligned huge page */

static const char *dir;
static char smaps[1 << 20];
static const char *const letters[] = { "lo", "lf", "dc", "dd", "wf", "hg", "nh", "mg", "sl" };

struct region {
	const char *name;
	int advice;		/* madvise, -1 none */
	int lock;		/* 0, 1 mlock, 2 mlock2(ONFAULT), 3 mseal */
	bool shared;
	char *addr;
	char flags[64];		/* letters of interest, in letters[] order */
	unsigned long locked_kb;
};

#define R(n, a, l, s) { .name = n, .advice = a, .lock = l, .shared = s }
static struct region regions[] = {
	R("mlock", -1, 1, false), R("mlock-onfault", -1, 2, false),
	R("dontfork", MADV_DONTFORK, 0, false), R("dontdump", MADV_DONTDUMP, 0, false),
	R("wipeonfork", MADV_WIPEONFORK, 0, false), R("hugepage", MADV_HUGEPAGE, 0, false),
	R("nohugepage", MADV_NOHUGEPAGE, 0, false), R("mergeable", MADV_MERGEABLE, 0, false),
	R("shared-mlock", -1, 1, true), R("sealed", -1, 3, false),
};
#define NR_REGIONS (sizeof(regions) / sizeof(regions[0]))

static void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void status(const char *fmt, ...)
{
	char path[4096], line[600];
	va_list ap;
	int fd, n;

	snprintf(path, sizeof(path), "%s/status", dir);
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		_exit(1);
	close(fd);
}

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	status("BAD %s", msg);
	for (;;)
		pause();
}

/* Read /proc/self/smaps into the static buffer. */
static void read_smaps(void)
{
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/self/smaps", O_RDONLY);

	if (fd < 0)
		bad("open smaps: %s", strerror(errno));
	while ((n = read(fd, smaps + len, sizeof(smaps) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	smaps[len] = '\0';
}

/* The smaps entry of the mapping holding @addr (in the static buffer), NULL if none. */
static const char *entry_of(const void *addr)
{
	for (const char *p = smaps; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		unsigned long s, e;

		if (sscanf(p, "%lx-%lx ", &s, &e) == 2 && strchr(p, '-') < strchr(p, ' ') &&
		    s <= (unsigned long)addr && (unsigned long)addr < e)
			return p;
	}
	return NULL;
}

/* Fill the letters of interest and the Locked: size of @r from the smaps buffer. */
static void describe(const void *addr, char *flags, size_t len, unsigned long *locked_kb)
{
	const char *e = entry_of(addr), *vf, *lk;

	if (!e)
		bad("no mapping at %p", addr);
	vf = strstr(e, "VmFlags:");
	lk = strstr(e, "Locked:");
	if (!vf || !lk)
		bad("smaps entry at %p lacks VmFlags or Locked", addr);
	*locked_kb = strtoul(lk + 7, NULL, 10);
	flags[0] = '\0';
	for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
		const char *end = strchr(vf, '\n');
		char word[8];

		snprintf(word, sizeof(word), " %s", letters[i]);
		for (const char *p = strstr(vf, word); p && (!end || p < end); p = strstr(p + 1, word))
			if (p[3] == ' ' || p[3] == '\n' || p[3] == '\0') {
				strncat(flags, letters[i], len - strlen(flags) - 1);
				strncat(flags, " ", len - strlen(flags) - 1);
				break;
			}
	}
}

static void setup_region(struct region *r)
{
	int flags = (r->shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
	char *p = mmap(NULL, 2 * REGION, PROT_READ | PROT_WRITE, flags, -1, 0);

	if (p == MAP_FAILED)
		bad("mmap %s: %s", r->name, strerror(errno));
	/* a 2 MiB aligned REGION inside, guarded so that it merges with nothing */
	r->addr = (char *)(((unsigned long)p + REGION / 2 + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	munmap(p, (size_t)(r->addr - p));
	munmap(r->addr + REGION, (size_t)(p + 2 * REGION - r->addr - REGION));
	if (r->advice >= 0 && madvise(r->addr, REGION, r->advice) < 0)
		bad("madvise %s: %s", r->name, strerror(errno));
	if (r->lock == 1 && mlock(r->addr, REGION) < 0)
		bad("mlock %s: %s", r->name, strerror(errno));
	if (r->lock == 2 && mlock2(r->addr, REGION, MLOCK_ONFAULT) < 0)
		bad("mlock2 %s: %s", r->name, strerror(errno));
	for (size_t i = 0; i < REGION; i += 4096)
		r->addr[i] = (char)(i / 4096 + 1);
	if (r->lock == 3 && syscall(462, r->addr, REGION, 0) < 0)	/* mseal, Linux 6.10 */
		bad("mseal %s: %s", r->name, strerror(errno));
}

/* Compare every region with what was recorded; a new mapping must be locked under --future. */
static void check(bool future)
{
	read_smaps();
	for (size_t i = 0; i < NR_REGIONS; i++) {
		struct region *r = &regions[i];
		unsigned long kb;
		char now[64];

		describe(r->addr, now, sizeof(now), &kb);
		if (strcmp(now, r->flags))
			bad("%s: VmFlags were '%s', now '%s'", r->name, r->flags, now);
		if (r->lock == 1 && kb != r->locked_kb)
			bad("%s: Locked was %lu kB, now %lu kB", r->name, r->locked_kb, kb);
		for (size_t k = 0; k < REGION; k += 4096)
			if (r->addr[k] != (char)(k / 4096 + 1))
				bad("%s: page %zu lost", r->name, k / 4096);
	}
	if (future) {
		char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned long kb;
		char now[64];

		if (p == MAP_FAILED)
			bad("mmap after restore: %s", strerror(errno));
		read_smaps();
		describe(p, now, sizeof(now), &kb);
		if (!strstr(now, "lo") || kb < 64)
			bad("a new mapping is not locked: '%s', %lu kB locked", now, kb);
		munmap(p, 65536);
	}
}

int main(int argc, char **argv)
{
	bool future = false;
	int rounds = 2;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--future"))
			future = true;
	}
	if (!dir) {
		fprintf(stderr, "usage: vmflags --out DIR [--future] [--rounds R]\n");
		return 2;
	}
	for (size_t i = 0; i < NR_REGIONS; i++)
		setup_region(&regions[i]);
	if (future && mlockall(MCL_FUTURE) < 0)
		bad("mlockall: %s", strerror(errno));
	read_smaps();
	for (size_t i = 0; i < NR_REGIONS; i++)
		describe(regions[i].addr, regions[i].flags, sizeof(regions[i].flags),
			 &regions[i].locked_kb);
	if (!strstr(regions[0].flags, "lo") || !strstr(regions[1].flags, "lf") ||
	    !strstr(regions[2].flags, "dc"))
		bad("the kernel does not show the flags set: '%s' '%s' '%s'", regions[0].flags,
		    regions[1].flags, regions[2].flags);
	for (int r = 1; r <= rounds; r++) {
		char go[4096];

		status("ready %d", r);
		snprintf(go, sizeof(go), "%s/go-%d", dir, r);
		while (access(go, F_OK))
			usleep(20000);
		check(future);
		status("ok %d", r);
	}
	status("done");
	for (;;)
		pause();
}
