// SPDX-License-Identifier: MIT
/*
 * shmobj: shared memory whose pages no live process maps, checked after
 * each restore.
 *
 *   shmobj --kind anon|sysv|memfd|memfd-fd|devshm|devshm-deleted --mib N --out DIR [--rounds R]
 *          [--file /dev/shm/NAME]   (devshm kinds: the file to create)
 *
 * Each round r: a child fills the object (2N MiB for memfd, of which the
 * parent maps only the first half; N MiB otherwise) with pattern r and
 * exits; the parent reaps it and drops its own page-table entries
 * (MADV_DONTNEED on a shared mapping keeps the object's pages), so at the
 * dump the pages live only in the object.  It appends "ready r" to
 * DIR/status and waits for DIR/go-r (made by the test after a restore),
 * then checks every page of the object: through its mapping, the memfd's
 * unmapped half through /proc/self/map_files, the memfd's name and seals
 * (and a second memfd sealed against writing, mapped read-only),
 * and for a /dev/shm file a word written through the mapping after the
 * restore must be read back from the file opened by its path.  memfd-fd is
 * memfd keeping its fd open (same object as the mapping, position kept) and
 * a second memfd only an fd holds, which the child fills with pwrite().  Then
 * "ok r", or "BAD <what>" (sticky); after the last round "done".
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

static const char *dir, *kind;
static size_t len, obj_len;	/* mapped by the parent; the whole object */
static const char *shm_path;
static bool is_memfd, keep_fd;
static int fd_only = -1;		/* memfd-fd: a memfd no one maps */
#define FD_POS (3 * 4096 + 5)

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void status(const char *fmt, ...)
{
	char path[4096];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/status", dir);
	f = fopen(path, "a");
	if (!f)
		exit(1);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
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

/* Word i of round r's pattern; never zero, so a lost page shows. */
static uint64_t word(int r, size_t i)
{
	return mix(((uint64_t)r << 40) ^ i) | 1;
}

/* The object mapped whole, shared, and an fd of it (memfd: kept only to map it). */
static uint64_t *map_object(int *fd_out)
{
	int fd = -1, flags = MAP_SHARED;
	void *p;

	*fd_out = -1;
	if (!strcmp(kind, "anon")) {
		flags |= MAP_ANONYMOUS;
	} else if (!strcmp(kind, "sysv")) {
		int id = shmget(IPC_PRIVATE, obj_len, IPC_CREAT | 0600);

		if (id < 0)
			return NULL;
		p = shmat(id, NULL, 0);
		shmctl(id, IPC_RMID, NULL);	/* gone with the last detach, never left behind */
		return p == (void *)-1 ? NULL : p;
	} else if (is_memfd) {
		fd = memfd_create("shmobj-test", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	} else {
		fd = open(shm_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	}
	if (!(flags & MAP_ANONYMOUS) && (fd < 0 || ftruncate(fd, obj_len) < 0))
		return NULL;
	p = mmap(NULL, obj_len, PROT_READ | PROT_WRITE, flags, fd, 0);
	*fd_out = fd;
	return p == MAP_FAILED ? NULL : p;
}

/* The whole memfd mapped again through the parent's mapping of its first half. */
static uint64_t *map_whole_memfd(uint64_t *map, int prot)
{
	char path[128];
	void *whole;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)map,
		 (unsigned long)map + len);
	fd = open(path, prot & PROT_WRITE ? O_RDWR : O_RDONLY);
	if (fd < 0)
		bad("open %s: %s", path, strerror(errno));
	whole = mmap(NULL, obj_len, prot, MAP_SHARED, fd, 0);
	close(fd);
	if (whole == MAP_FAILED)
		bad("mmap whole memfd: %s", strerror(errno));
	return whole;
}

/* A child writes round @r's pattern over the whole object and exits; reap it. */
static void child_fills(uint64_t *obj, int r, bool half_mapped)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		bad("fork: %s", strerror(errno));
	if (pid == 0) {
		if (half_mapped)
			obj = map_whole_memfd(obj, PROT_READ | PROT_WRITE);
		for (size_t i = 0; i < obj_len / 8; i++)
			obj[i] = word(r, i);
		for (size_t i = 0; fd_only >= 0 && i < len / 8; i++) {
			uint64_t w = word(-r, i);

			if (pwrite(fd_only, &w, 8, (off_t)(i * 8)) != 8)
				_exit(1);
		}
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		bad("child of round %d failed", r);
}

/* Wait for DIR/go-@r. */
static void wait_go(int r)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/go-%d", dir, r);
	while (access(path, F_OK))
		usleep(20000);
}

/* A second memfd, sealed against writing and mapped read-only: its words are ~word(0, i). */
#define RO_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
static uint64_t *ro_map;

static void make_sealed_memfd(void)
{
	int fd = memfd_create("shmobj-ro", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	uint64_t w[512];

	if (fd < 0)
		bad("memfd_create ro: %s", strerror(errno));
	for (size_t i = 0; i < 512; i++)
		w[i] = ~word(0, i);
	if (write(fd, w, sizeof(w)) != sizeof(w) || fcntl(fd, F_ADD_SEALS, RO_SEALS) < 0)
		bad("fill and seal ro memfd: %s", strerror(errno));
	ro_map = mmap(NULL, sizeof(w), PROT_READ, MAP_SHARED, fd, 0);
	if (ro_map == MAP_FAILED)
		bad("mmap ro memfd: %s", strerror(errno));
	close(fd);
}

/* The sealed memfd: contents, seals, and still no way to write it. */
static void check_sealed_memfd(void)
{
	char path[128];
	int fd;

	for (size_t i = 0; i < 512; i++)
		if (ro_map[i] != ~word(0, i))
			bad("sealed memfd word %zu is %#llx", i, (unsigned long long)ro_map[i]);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)ro_map,
		 (unsigned long)ro_map + 4096);
	fd = open(path, O_RDWR);
	if (fd < 0)
		bad("open %s: %s", path, strerror(errno));
	if (fcntl(fd, F_GET_SEALS) != RO_SEALS)
		bad("sealed memfd: seals are %#x, want %#x", fcntl(fd, F_GET_SEALS), RO_SEALS);
	if (pwrite(fd, "x", 1, 0) >= 0 || errno != EPERM)
		bad("sealed memfd: a write did not fail with EPERM");
	close(fd);
}

/* Check the memfd's unmapped half, its name and its seals through map_files. */
static void check_memfd(uint64_t *map, int r)
{
	char path[128], link[256];
	uint64_t *whole;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)map,
		 (unsigned long)map + len);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		bad("readlink %s: %s", path, strerror(errno));
	link[n] = '\0';
	if (strcmp(link, "/memfd:shmobj-test (deleted)"))
		bad("memfd name is now '%s'", link);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		bad("open %s: %s", path, strerror(errno));
	if (fcntl(fd, F_GET_SEALS) != SEALS)
		bad("seals are %#x, want %#x", fcntl(fd, F_GET_SEALS), SEALS);
	close(fd);
	whole = map_whole_memfd(map, PROT_READ);
	for (size_t i = len / 8; i < obj_len / 8; i++)
		if (whole[i] != word(r, i))
			bad("round %d: unmapped memfd word %zu is %#llx", r, i,
			    (unsigned long long)whole[i]);
	munmap(whole, obj_len);
}

/* memfd-fd: the fd is the mapping's memfd, at its position; the fd-only memfd is whole. */
static void check_memfd_fds(uint64_t *map, int fd, int r)
{
	char path[128], link[256];
	struct stat a, b;
	uint64_t w;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	if (strcmp(link, "/memfd:shmobj-test (deleted)"))
		bad("memfd fd %d is now '%s'", fd, link);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)map,
		 (unsigned long)map + len);
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		bad("memfd fd and mapping are no longer one object");
	if (lseek(fd, 0, SEEK_CUR) != FD_POS)
		bad("memfd fd position is %lld, want %d", (long long)lseek(fd, 0, SEEK_CUR), FD_POS);
	if (pread(fd, &w, 8, (off_t)(obj_len - 8)) != 8 || w != word(r, obj_len / 8 - 1))
		bad("round %d: memfd fd reads %#llx at its end", r, (unsigned long long)w);
	w = 0xabcdef;
	if (pwrite(fd, &w, 8, 8) != 8 || map[1] != 0xabcdef)
		bad("a write through the memfd fd does not reach its mapping");
	map[1] = word(r, 1);
	for (size_t i = 0; i < len / 8; i += 509)
		if (pread(fd_only, &w, 8, (off_t)(i * 8)) != 8 || w != word(-r, i))
			bad("round %d: fd-only memfd word %zu is %#llx", r, i, (unsigned long long)w);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd_only);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	if (strcmp(link, "/memfd:shmobj-fdonly (deleted)"))
		bad("fd-only memfd is now '%s'", link);
}

/* A word written through the mapping must be in the file opened by its path. */
static void check_devshm_file(uint64_t *map, int r)
{
	uint64_t got = 0, want = 0xfeed0000ULL + (uint64_t)r;
	int fd;

	map[1] = want;
	fd = open(shm_path, O_RDONLY);
	if (fd < 0)
		bad("open %s after restore: %s", shm_path, strerror(errno));
	if (pread(fd, &got, 8, 8) != 8 || got != want)
		bad("%s does not see the mapping's write (%#llx)", shm_path, (unsigned long long)got);
	close(fd);
	map[1] = word(r, 1);
}

int main(int argc, char **argv)
{
	int rounds = 2, fd;
	size_t mib = 4;
	uint64_t *map;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mib"))
			mib = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--out"))
			dir = argv[i + 1];
		else if (!strcmp(argv[i], "--kind"))
			kind = argv[i + 1];
		else if (!strcmp(argv[i], "--rounds"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--file"))
			shm_path = argv[i + 1];
	}
	if (!dir || !kind || !mib || (!strncmp(kind, "devshm", 6) && !shm_path)) {
		fprintf(stderr, "usage: shmobj --kind K --mib N --out DIR [--rounds R]\n");
		return 2;
	}
	len = mib << 20;
	is_memfd = !strncmp(kind, "memfd", 5);
	keep_fd = !strcmp(kind, "memfd-fd");
	obj_len = is_memfd ? 2 * len : len;
	map = map_object(&fd);
	if (!map)
		bad("cannot set up %s: %s", kind, strerror(errno));
	if (is_memfd) {
		/* the parent keeps only the first half mapped; the child maps it all (inherited) */
		if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
			bad("F_ADD_SEALS: %s", strerror(errno));
		make_sealed_memfd();
	}
	if (keep_fd) {
		fd_only = memfd_create("shmobj-fdonly", MFD_CLOEXEC);
		if (fd_only < 0 || lseek(fd, FD_POS, SEEK_SET) != FD_POS)
			bad("memfd-fd set-up: %s", strerror(errno));
	}
	if (!strcmp(kind, "devshm-deleted"))
		unlink(shm_path);
	if (fd >= 0 && !keep_fd)
		close(fd);
	for (int r = 1; r <= rounds; r++) {
		child_fills(map, r, is_memfd && r > 1);
		if (is_memfd && r == 1)
			munmap((char *)map + len, obj_len - len);
		/* no page-table entry left here: the pages are only in the object */
		if (madvise(map, len, MADV_DONTNEED) < 0)
			bad("madvise: %s", strerror(errno));
		status("ready %d", r);
		wait_go(r);
		for (size_t i = 0; i < len / 8; i++)
			if (map[i] != word(r, i))
				bad("round %d: word %zu is %#llx", r, i, (unsigned long long)map[i]);
		if (is_memfd) {
			check_memfd(map, r);
			check_sealed_memfd();
		}
		if (keep_fd)
			check_memfd_fds(map, fd, r);
		if (!strcmp(kind, "devshm"))
			check_devshm_file(map, r);
		status("ok %d", r);
	}
	if (!strcmp(kind, "devshm"))
		unlink(shm_path);
	status("done");
	for (;;)
		pause();
}
