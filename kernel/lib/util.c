// SPDX-License-Identifier: MIT
/* Allocation, file and time helpers shared by the engine. */
#define LOG_PREFIX "util: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

/* malloc that logs failure. */
void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		pr_err("out of memory allocating %zu bytes", size);
	return p;
}

/* calloc that logs failure. */
void *xzalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p)
		pr_err("out of memory allocating %zu bytes", size);
	return p;
}

/* realloc that logs failure; @ptr stays valid on failure. */
void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		pr_err("out of memory growing to %zu bytes", size);
	return p;
}

/* Append @head then @body to the byte buffer *@buf of *@len bytes (one record). */
int bytes_append(uint8_t **buf, uint64_t *len, const void *head, size_t head_len,
		 const void *body, size_t body_len)
{
	uint8_t *d = xrealloc(*buf, *len + head_len + body_len);

	if (!d)
		return -ENOMEM;
	memcpy(d + *len, head, head_len);
	memcpy(d + *len + head_len, body, body_len);
	*buf = d;
	*len += head_len + body_len;
	return 0;
}

/* strdup that logs failure. */
char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		pr_err("out of memory copying a string");
	return p;
}

/* asprintf that logs failure and returns NULL. */
char *xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (ret < 0) {
		pr_err("out of memory formatting a string");
		return NULL;
	}
	return s;
}

/* Ensure the array at *@arr has room for @need elements of @elem bytes. */
int xgrow(void *arr, size_t *cap, size_t need, size_t elem)
{
	void **parr = arr;
	size_t ncap = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = xrealloc(*parr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*parr = p;
	*cap = ncap;
	return 0;
}

/* Read a whole file, of any size, into a fresh NUL-terminated buffer. */
int read_whole_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *data;
	ssize_t got;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	data = xmalloc(cap);
	if (!data) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n + 1 >= cap) {
			char *p = xrealloc(data, cap * 2);

			if (!p) {
				free(data);
				close(fd);
				return -ENOMEM;
			}
			data = p;
			cap *= 2;
		}
		got = read(fd, data + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = -errno;

			free(data);
			close(fd);
			return err;
		}
		if (got == 0)
			break;
		n += got;
	}
	close(fd);
	data[n] = '\0';
	*buf = data;
	if (len)
		*len = n;
	return 0;
}

/* Read the first line of a small file into @buf. */
int read_small_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Write a string to a control file such as cgroup.freeze. */
int write_small_file(const char *path, const char *buf)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, strlen(buf)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Write all of a buffer, retrying short writes. */
int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* Read exactly @len bytes at @off. */
int pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Write exactly @len bytes at @off. */
int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* fsync the directory holding @path, so a rename in it is durable. */
int fsync_parent_dir(const char *path)
{
	char dir[4096];
	char *slash;
	int fd, ret = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Write @buf to @tmp, fsync it, rename it to @path, fsync the directory. */
static int write_aside(const char *tmp, const char *path, const void *buf, size_t len,
		       mode_t mode)
{
	int fd, ret;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, buf, len);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	return fsync_parent_dir(path);
}

/* Write aside (PATH.tmp), fsync, rename, fsync the directory. */
int write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	return write_aside(tmp, path, buf, len, mode);
}

/*
 * The same for a file two processes may write at once (a container's state:
 * the supervisor of a tree that just died, and a command starting a new
 * one): each writer goes through a name of its own (PATH.TID.tmp), so that
 * one's O_TRUNC or rename never takes the other's half-written file.  The
 * last rename wins whole.
 */
int write_file_atomic_shared(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)gettid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	return write_aside(tmp, path, buf, len, mode);
}

/* Create @path and its missing parents with @mode. */
int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Remove a directory tree; a missing one is not an error. */
int remove_tree(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int ret = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char *child;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = xasprintf("%s/%s", path, de->d_name);
		if (!child) {
			ret = -ENOMEM;
			break;
		}
		ret = remove_tree(child);
		free(child);
		if (ret)
			break;
	}
	closedir(dir);
	if (!ret && rmdir(path) < 0)
		ret = -errno;
	return ret;
}

/* Monotonic time in milliseconds. */
double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct timespec deadline_after_ms(unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return until;
}

uint64_t proc_ns_ino(pid_t pid, const char *name)
{
	char path[64], link[64], *open_br;
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
	/*
	 * The link reads "NAME:[INODE]", made from the namespace itself: half
	 * the cost of stat(), which goes through to nsfs (a dump reads eight
	 * for each process while the container is stopped).
	 */
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		open_br = strchr(link, '[');
		if (open_br && open_br[1] >= '0' && open_br[1] <= '9')
			return strtoull(open_br + 1, NULL, 10);
	}
	return stat(path, &st) ? 0 : st.st_ino;
}
