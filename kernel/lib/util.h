/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the whole engine: allocation, files, strings. */
#ifndef CT_UTIL_H
#define CT_UTIL_H

#include <stdbool.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef PAGE_SIZE
#define PAGE_SIZE 4096UL
#endif
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))

/* linux/pidfd.h of 6.9 and 6.11 (users include fcntl.h, sys/ioctl.h); Debian 12's headers are older */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE
#define PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE _IO(0xFF, 6)
#endif

/* Allocators that log their own failure: callers only return -ENOMEM. */
void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
/* asprintf that logs failure and returns NULL. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Append @head then @body to the byte buffer *@buf of *@len bytes (one record). */
int bytes_append(uint8_t **buf, uint64_t *len, const void *head, size_t head_len,
		 const void *body, size_t body_len);
/* Grow *@arr (of @elem bytes each) to hold at least @need, doubling *@cap. */
int xgrow(void *arr, size_t *cap, size_t need, size_t elem);

/* Read a whole file into a NUL-terminated buffer; *@len excludes the NUL. */
int read_whole_file(const char *path, char **buf, size_t *len);
/* Read one line of a small file (e.g. /proc, sysfs) into @buf, newline stripped. */
int read_small_file(const char *path, char *buf, size_t size);
/* Write @len bytes to @path with O_TRUNC (no atomicity: for /proc, sysfs). */
int write_small_file(const char *path, const char *buf);

/*
 * Replace @path atomically: write @path.tmp, fsync it, rename it over @path,
 * fsync the directory.  A crash leaves the old or the new file whole.
 */
int write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode);
int write_file_atomic_shared(const char *path, const void *buf, size_t len, mode_t mode);
/* fsync the directory that holds @path. */
int fsync_parent_dir(const char *path);
/* Write all of @len bytes, retrying short writes and EINTR. */
int write_all(int fd, const void *buf, size_t len);
/* Read exactly @len bytes at @off; -EIO on a short file. */
int pread_all(int fd, void *buf, size_t len, off_t off);
int pwrite_all(int fd, const void *buf, size_t len, off_t off);
/* mkdir -p with @mode for every directory created. */
int mkdir_p(const char *path, mode_t mode);
/* rm -rf of a directory tree; missing is fine. */
int remove_tree(const char *path);

/* Milliseconds on CLOCK_MONOTONIC, as a double. */
double now_ms(void);
/* CLOCK_REALTIME @ms from now: the deadline pthread_cond_timedwait() takes. */
struct timespec deadline_after_ms(unsigned ms);

/* The inode number of namespace /proc/@pid/ns/@name (its st_ino), 0 if it cannot be read. */
uint64_t proc_ns_ino(pid_t pid, const char *name);

#endif
