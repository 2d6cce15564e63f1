// SPDX-License-Identifier: MIT
/* The versioned, checksummed key=value state file (format in state.h). */
#define LOG_PREFIX "state: "
#include <errno.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/state.h"
#include "lib/log.h"
#include "lib/util.h"

#define STATE_MAGIC "ctswap-state "
#define STATE_END "end crc32="

struct state_kv {
	char *key;
	char *val;
};

struct ct_state {
	struct state_kv *kv;	/* in the order keys were first set */
	size_t nr, cap;
};

/* A new, empty state. */
struct ct_state *state_new(void)
{
	return xzalloc(sizeof(struct ct_state));
}

/* Free a state and its strings. */
void state_free(struct ct_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nr; i++) {
		free(st->kv[i].key);
		free(st->kv[i].val);
	}
	free(st->kv);
	free(st);
}

/* True if @key is a non-empty [a-z0-9_.-]+. */
static bool state_key_valid(const char *key, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') ||
		      strchr("_.-", key[i])))
			return false;
	return true;
}

/* Index of @key, or -1. */
static ssize_t state_find(const struct ct_state *st, const char *key)
{
	for (size_t i = 0; i < st->nr; i++)
		if (!strcmp(st->kv[i].key, key))
			return i;
	return -1;
}

/* The value of @key, or NULL. */
const char *state_get(const struct ct_state *st, const char *key)
{
	ssize_t i = state_find(st, key);

	return i < 0 ? NULL : st->kv[i].val;
}

/* The value of @key as a number. */
int state_get_ll(const struct ct_state *st, const char *key, long long *val)
{
	const char *s = state_get(st, key);
	char *end;

	if (!s)
		return -ENOENT;
	errno = 0;
	*val = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	return 0;
}

/* Set @key to a copy of @val. */
int state_set(struct ct_state *st, const char *key, const char *val)
{
	ssize_t i = state_find(st, key);
	char *copy;

	if (!state_key_valid(key, strlen(key)))
		return ct_err(-EINVAL, "state: invalid key '%s'", key);
	copy = xstrdup(val);
	if (!copy)
		return -ENOMEM;
	if (i >= 0) {
		free(st->kv[i].val);
		st->kv[i].val = copy;
		return 0;
	}
	if (xgrow(&st->kv, &st->cap, st->nr + 1, sizeof(*st->kv)))
		goto out_free;
	st->kv[st->nr].key = xstrdup(key);
	if (!st->kv[st->nr].key)
		goto out_free;
	st->kv[st->nr++].val = copy;
	return 0;
out_free:
	free(copy);
	return -ENOMEM;
}

/* Set @key to a number. */
int state_set_ll(struct ct_state *st, const char *key, long long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", val);
	return state_set(st, key, buf);
}

/* Remove @key, keeping the order of the others. */
void state_unset(struct ct_state *st, const char *key)
{
	ssize_t i = state_find(st, key);

	if (i < 0)
		return;
	free(st->kv[i].key);
	free(st->kv[i].val);
	memmove(&st->kv[i], &st->kv[i + 1], (st->nr - i - 1) * sizeof(*st->kv));
	st->nr--;
}

size_t state_count(const struct ct_state *st)
{
	return st->nr;
}

const char *state_key_at(const struct ct_state *st, size_t i)
{
	return i < st->nr ? st->kv[i].key : NULL;
}

const char *state_val_at(const struct ct_state *st, size_t i)
{
	return i < st->nr ? st->kv[i].val : NULL;
}

/* Serialise into the on-disk text with its checksum line. */
int state_format(const struct ct_state *st, char **buf, size_t *len)
{
	size_t cap = 64, n;
	char *out, *p;
	uint32_t crc;

	for (size_t i = 0; i < st->nr; i++)
		cap += strlen(st->kv[i].key) + 2 * strlen(st->kv[i].val) + 2;
	out = xmalloc(cap);
	if (!out)
		return -ENOMEM;
	n = sprintf(out, "%s%d\n", STATE_MAGIC, STATE_VERSION);
	for (size_t i = 0; i < st->nr; i++) {
		n += sprintf(out + n, "%s=", st->kv[i].key);
		for (p = st->kv[i].val; *p; p++) {
			if (*p == '\\' || *p == '\n') {
				out[n++] = '\\';
				out[n++] = *p == '\n' ? 'n' : '\\';
			} else {
				out[n++] = *p;
			}
		}
		out[n++] = '\n';
	}
	crc = lzma_crc32((const uint8_t *)out, n, 0);
	n += sprintf(out + n, "%s%08" PRIx32 "\n", STATE_END, crc);
	*buf = out;
	*len = n;
	return 0;
}

/* Decode one escaped value of @len bytes into a fresh string; NULL on a bad escape. */
static char *state_unescape(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (++i == len || (s[i] != 'n' && s[i] != '\\')) {
			free(out);
			return NULL;
		}
		*o++ = s[i] == 'n' ? '\n' : '\\';
	}
	*o = '\0';
	return out;
}

/* Parse the body lines between the magic line and the end line. */
static int state_parse_body(struct ct_state *st, const char *p, const char *end, const char *what)
{
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p), *eq;
		char *key, *val;
		int ret;

		eq = memchr(p, '=', nl - p);
		if (!eq || !state_key_valid(p, eq - p))
			return ct_err(-EBADMSG, "%s: corrupted state file: malformed line", what);
		key = strndup(p, eq - p);
		val = state_unescape(eq + 1, nl - eq - 1);
		if (!key || !val) {
			free(key);
			free(val);
			return ct_err(-EBADMSG, "%s: corrupted state file: bad value", what);
		}
		ret = state_set(st, key, val);
		free(key);
		free(val);
		if (ret)
			return ret;
		p = nl + 1;
	}
	return 0;
}

/* Parse and verify the bytes of a state file. */
int state_parse(const char *buf, size_t len, const char *what, struct ct_state **out)
{
	const char *body, *endline;
	unsigned long version;
	uint32_t crc, want;
	struct ct_state *st;
	char *e;
	int ret;

	if (len < sizeof(STATE_MAGIC) || memcmp(buf, STATE_MAGIC, strlen(STATE_MAGIC)))
		return ct_err(-EBADMSG, "%s: not a ctswap state file (bad magic)", what);
	if (memchr(buf, '\0', len))
		return ct_err(-EBADMSG, "%s: corrupted state file: NUL byte", what);
	if (buf[len - 1] != '\n')
		return ct_err(-EBADMSG, "%s: corrupted state file: truncated", what);
	version = strtoul(buf + strlen(STATE_MAGIC), &e, 10);
	if (*e != '\n')
		return ct_err(-EBADMSG, "%s: corrupted state file: bad version line", what);
	if (version != STATE_VERSION)
		return ct_err(-EPROTONOSUPPORT, "%s: state file version %lu, this ctswap reads %d",
			      what, version, STATE_VERSION);
	body = e + 1;
	/* the end line is the last line */
	endline = buf + len - 1;
	while (endline > body && endline[-1] != '\n')
		endline--;
	/* length first: the buffer has no NUL, so compare only bytes that exist */
	if (endline < body || buf + len - endline != (ssize_t)strlen(STATE_END) + 9 ||
	    memcmp(endline, STATE_END, strlen(STATE_END)))
		return ct_err(-EBADMSG, "%s: corrupted state file: no end line", what);
	want = strtoul(endline + strlen(STATE_END), &e, 16);
	if (*e != '\n')
		return ct_err(-EBADMSG, "%s: corrupted state file: bad checksum line", what);
	crc = lzma_crc32((const uint8_t *)buf, endline - buf, 0);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	want = crc;	/* the fuzzer reaches the body parser instead of the checksum */
#endif
	if (crc != want)
		return ct_err(-EBADMSG, "%s: corrupted state file: checksum %08x, expected %08x",
			      what, crc, want);
	st = state_new();
	if (!st)
		return -ENOMEM;
	ret = state_parse_body(st, body, endline, what);
	if (ret) {
		state_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

/* Read and verify the state file @path. */
int state_read(const char *path, struct ct_state **out)
{
	size_t len;
	char *buf;
	int ret;

	ret = read_whole_file(path, &buf, &len);
	if (ret == -ENOENT)
		return ret;
	if (ret)
		return ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
	ret = state_parse(buf, len, path, out);
	free(buf);
	return ret;
}

/* Write the state file @path atomically. */
int state_write(const char *path, const struct ct_state *st)
{
	size_t len;
	char *buf;
	int ret;

	ret = state_format(st, &buf, &len);
	if (ret)
		return ret;
	ret = write_file_atomic_shared(path, buf, len, 0600);
	free(buf);
	if (ret)
		return ct_err(ret, "%s: cannot write: %s", path, strerror(-ret));
	return 0;
}
