// SPDX-License-Identifier: MIT
/* The engine's logging sink and its per-call error message. */
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

static int log_level = CT_LOG_WARN;
static int log_fd = -1;
static __thread char err_msg[512];

/* Set the most verbose level that is still written. */
void ct_log_set_level(int level)
{
	log_level = level;
}

/* Return the current level. */
int ct_log_get_level(void)
{
	return log_level;
}

/* Choose where log lines go; -1 means stderr. */
void ct_log_set_fd(int fd)
{
	log_fd = fd;
}

/* Write one log line, stamped with the time since boot, if @level is on. */
void ct_log(int level, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warn", "info", "debug" };
	char line[2048];
	struct timespec ts;
	int saved_errno = errno;
	int n, fd;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof(line), "(%ld.%06ld) %s: ", (long)ts.tv_sec,
		     ts.tv_nsec / 1000, tag[level < 0 ? 0 : level > 3 ? 3 : level]);
	errno = saved_errno;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fd = log_fd >= 0 ? log_fd : STDERR_FILENO;
	if (write(fd, line, n) < 0) {
		/* nowhere left to report a failing log sink */
	}
	errno = saved_errno;
}

/* Record why the current call fails, unless a deeper reason is recorded. */
int ct_err(int err, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (err_msg[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
		va_end(ap);
		ct_log(CT_LOG_DEBUG, "failure: %s", err_msg);
	}
	errno = saved_errno;
	return err;
}

/* Forget the recorded reason: called when an API call starts. */
void ct_err_clear(void)
{
	err_msg[0] = '\0';
}

/* Return the recorded reason or NULL. */
const char *ct_err_msg(void)
{
	return err_msg[0] ? err_msg : NULL;
}
