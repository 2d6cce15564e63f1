/* SPDX-License-Identifier: MIT */
/*
 * What the workloads share: how they report to the test.
 *
 * A status that changes while the workload runs is appended, one whole
 * line per write(2), to a file opened once: a --leave-running dump may
 * catch the workload at any instruction, and the file must then be one the
 * restore accepts (ctswap restores a file that only grew; one rewritten in
 * place, or a temporary file renamed away since, refuses the restore).
 * The test reads the last complete line (status_line in tests/common.bash).
 *
 * A file written once (a "ready" mark, a result), or a status of a workload
 * no test dumps with --leave-running and restores after, is written aside
 * and renamed (put_file, put_status), so the test never reads it
 * half-written.
 */
#ifndef WORKLOADS_COMMON_H
#define WORKLOADS_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Append one line, formatted, to the status file DIR/status (opened on first use). */
static inline __attribute__((format(printf, 2, 3), unused))
void status_append(const char *dir, const char *fmt, ...)
{
	static int fd = -1;
	char line[512];
	va_list ap;
	int len;

	if (fd < 0) {
		snprintf(line, sizeof(line), "%s/status", dir);
		fd = open(line, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return;
	}
	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0 || len >= (int)sizeof(line))
		return;
	(void)!write(fd, line, (size_t)len);	/* one write: never interleaved, never torn by a dump */
}

/* Keep in @bad the first thing a workload's check found wrong ("" while all is well). */
static inline __attribute__((format(printf, 3, 4), unused))
void note_wrong(char *bad, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (bad[0])
		return;
	va_start(ap, fmt);
	vsnprintf(bad, size, fmt, ap);
	va_end(ap);
}

/* Write @text to DIR/@name through DIR/@name.tmp and a rename. */
static inline __attribute__((unused))
void put_file(const char *dir, const char *name, const char *text)
{
	char tmp[4096], path[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return;
	f = fopen(tmp, "w");
	if (!f)
		return;
	fputs(text, f);
	if (fclose(f) == 0)
		rename(tmp, path);
}

/* Write DIR/status, formatted, through a temporary file and a rename. */
static inline __attribute__((format(printf, 2, 3), unused))
void put_status(const char *dir, const char *fmt, ...)
{
	char text[8192];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (len >= 0 && len < (int)sizeof(text))
		put_file(dir, "status", text);
}

/* Rings of pipes passing a token (pipes.c, crowd.c): read exactly one; exit on EOF (the ring broke). */
static inline __attribute__((unused)) uint64_t get_token(int fd)
{
	uint64_t v;
	ssize_t n;

	do
		n = read(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(v))
		exit(3);
	return v;
}

static inline __attribute__((unused)) void put_token(int fd, uint64_t v)
{
	ssize_t n;

	do
		n = write(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(v))
		exit(3);
}

#endif
