/* SPDX-License-Identifier: MIT */
/*
 * A small key=value state file: STORE/NAME/state (written by the
 * supervisor), STORE/NAME/lazy.state (written by the restore helper), ...
 *
 * On disk, text:
 *   ctswap-state 1\n            magic and format version
 *   key=value\n ...              keys [a-z0-9_.-]+, values with \\ and \n escaped
 *   end crc32=xxxxxxxx\n        lzma_crc32 of every byte before this line
 * Readers refuse a bad magic, a newer version, a missing end line, a checksum
 * mismatch or a malformed line, naming the file.  Writes are atomic
 * (write_file_atomic): a reader sees the old or the new file, whole.
 * Keys keep the order they were first set in; setting one again replaces it.
 */
#ifndef CT_STATE_H
#define CT_STATE_H

#include <stddef.h>

#define STATE_VERSION 1

struct ct_state;

/* A new, empty state. */
struct ct_state *state_new(void);
/* Read @path.  -ENOENT (no ct_err) if it does not exist; -EBADMSG on corruption. */
int state_read(const char *path, struct ct_state **out);
/* Write @st to @path atomically (mode 0600). */
int state_write(const char *path, const struct ct_state *st);
/* The value of @key, or NULL. */
const char *state_get(const struct ct_state *st, const char *key);
/* The value of @key as a long long in *@val; -ENOENT absent, -EINVAL not a number. */
int state_get_ll(const struct ct_state *st, const char *key, long long *val);
/* Set @key to @val (copied); -EINVAL for a bad key. */
int state_set(struct ct_state *st, const char *key, const char *val);
/* Set @key to a number. */
int state_set_ll(struct ct_state *st, const char *key, long long val);
/* Remove @key if present. */
void state_unset(struct ct_state *st, const char *key);
/* Number of keys, and the key and value at @i (for listing). */
size_t state_count(const struct ct_state *st);
const char *state_key_at(const struct ct_state *st, size_t i);
const char *state_val_at(const struct ct_state *st, size_t i);
void state_free(struct ct_state *st);

/* Serialise @st into a malloc'd buffer (the file's bytes). */
int state_format(const struct ct_state *st, char **buf, size_t *len);
/* Parse the file bytes @buf; @what names the file in errors. */
int state_parse(const char *buf, size_t len, const char *what, struct ct_state **out);

#endif
