/* SPDX-License-Identifier: MIT */
/*
 * One logging module for the whole engine.
 *
 * The engine never prints to stdout and never exits.  Messages go through
 * ct_log() to a sink the caller chooses (stderr by default, or a file).
 * Each .c file may define LOG_PREFIX before including this header.
 *
 * Separately from logging, ct_err() records the one-line reason for the
 * failure of the current API call ("what: why").  The first message set
 * wins, since the innermost failure names the cause most precisely; the
 * API entry points clear it with ct_err_clear().  The CLI prints it.
 */
#ifndef CT_LOG_H
#define CT_LOG_H

#include <errno.h>
#include <stdio.h>

enum ct_log_level {
	CT_LOG_ERROR = 0,
	CT_LOG_WARN,
	CT_LOG_INFO,
	CT_LOG_DEBUG,
};

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

void ct_log_set_level(int level);
int ct_log_get_level(void);
/* Send log lines to @fd (not closed by us); -1 restores stderr. */
void ct_log_set_fd(int fd);
void ct_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(fmt, ...)   ct_log(CT_LOG_ERROR, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)  ct_log(CT_LOG_WARN, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  ct_log(CT_LOG_INFO, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) ct_log(CT_LOG_DEBUG, LOG_PREFIX fmt, ##__VA_ARGS__)
/* Like pr_err, with ": strerror(errno)" appended. */
#define pr_perror(fmt, ...) \
	ct_log(CT_LOG_ERROR, LOG_PREFIX fmt ": %m", ##__VA_ARGS__)

/* Record the reason the current call fails; returns @err for chaining. */
int ct_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ct_err_clear(void);
/* The recorded reason, or NULL when none was recorded. */
const char *ct_err_msg(void);

#endif
