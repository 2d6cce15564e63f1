// SPDX-License-Identifier: MIT
/*
 * Fault injection for tests: one parser of $CTSWAP_FAULT (grammar in
 * fault.h, the points in doc/FAULTS.md and in fault_points[] below).
 */
#define LOG_PREFIX "fault: "
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"

/* Every point a command asks about; an item naming another is a typo. */
static const char *const fault_points[] = {
	"dump",		/* dump:STEP: that dump step fails with EIO */
	"dump-stop",	/* dump-stop:STEP: the dump stops itself (SIGSTOP) at STEP */
	"restore-stop",	/* restore-stop:POINT: the restore stops itself at POINT */
	"inject-stop",	/* inject-stop:N: stop at the N-th step of guarded injection */
	"swap-commit",	/* swap-commit:N: the swap-area commit fails at its step N */
};

#define FAULT_MAX_ITEMS 16
#define FAULT_NAME_LEN 32
#define FAULT_ARG_LEN 64

/* One item of the list: POINT, and ARG or "" when the item has none. */
struct fault_item {
	char point[FAULT_NAME_LEN];
	char arg[FAULT_ARG_LEN];
};

/* The parsed list; @lock protects all of it (the lazy server has two threads). */
static struct {
	pthread_mutex_t lock;
	char *spec;			/* the value the items were parsed from */
	struct fault_item items[FAULT_MAX_ITEMS];
	size_t nr;
} fault_list = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* True if @name is one of fault_points[]. */
static bool fault_point_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fault_points); i++)
		if (!strcmp(fault_points[i], name))
			return true;
	return false;
}

/* Split the item @s of @len bytes into @it; -EINVAL if malformed or unknown. */
static int fault_item_parse(const char *s, size_t len, struct fault_item *it)
{
	const char *colon = memchr(s, ':', len);
	size_t plen = colon ? (size_t)(colon - s) : len;
	size_t alen = colon ? len - plen - 1 : 0;

	if (!plen || plen >= FAULT_NAME_LEN || alen >= FAULT_ARG_LEN || (colon && !alen))
		return -EINVAL;
	memcpy(it->point, s, plen);
	it->point[plen] = '\0';
	memcpy(it->arg, colon ? colon + 1 : "", alen);
	it->arg[alen] = '\0';
	return fault_point_known(it->point) ? 0 : -EINVAL;
}

/*
 * Parse the list @spec into @items (at most FAULT_MAX_ITEMS); empty items
 * (",,") are skipped.  With @warn, a bad item is logged and skipped;
 * without, it fails the parse.  Returns the number of items or -EINVAL.
 */
static int fault_parse(const char *spec, struct fault_item *items, bool warn)
{
	size_t nr = 0;

	for (const char *s = spec; *s; ) {
		size_t len = strcspn(s, ",");

		if (len && nr == FAULT_MAX_ITEMS) {
			if (!warn)
				return -EINVAL;
			pr_warn("$CTSWAP_FAULT: more than %d items: the rest ignored", FAULT_MAX_ITEMS);
			break;
		}
		if (len && fault_item_parse(s, len, &items[nr]) == 0)
			nr++;
		else if (len && !warn)
			return -EINVAL;
		else if (len)
			pr_warn("$CTSWAP_FAULT: ignoring \"%.*s\": not POINT[:ARG] with a known POINT",
				(int)len, s);
		s += len + (s[len] == ',');
	}
	return (int)nr;
}

int fault_parse_check(const char *spec)
{
	struct fault_item items[FAULT_MAX_ITEMS];

	return fault_parse(spec, items, false);
}

/* Bring fault_list up to date with $CTSWAP_FAULT; call with the lock held. */
static void fault_list_refresh(void)
{
	const char *env = getenv("CTSWAP_FAULT");
	int nr;

	if (!env || !*env) {
		fault_list.nr = 0;
		return;
	}
	if (fault_list.spec && !strcmp(fault_list.spec, env))
		return;
	free(fault_list.spec);
	fault_list.spec = strdup(env);
	nr = fault_parse(env, fault_list.items, true);
	fault_list.nr = nr > 0 ? (size_t)nr : 0;
}

/* True if @a and @b are the same argument: equal text, or both numbers of equal value. */
static bool fault_arg_equal(const char *a, const char *b)
{
	char *end_a, *end_b;
	unsigned long na, nb;

	if (!strcmp(a, b))
		return true;
	if (*a < '0' || *a > '9' || *b < '0' || *b > '9')
		return false;
	na = strtoul(a, &end_a, 10);
	nb = strtoul(b, &end_b, 10);
	return !*end_a && !*end_b && na == nb;
}

bool fault_at(const char *point, const char *arg)
{
	bool hit = false;

	pthread_mutex_lock(&fault_list.lock);
	fault_list_refresh();
	for (size_t i = 0; i < fault_list.nr && !hit; i++)
		hit = !strcmp(fault_list.items[i].point, point) &&
		      fault_arg_equal(fault_list.items[i].arg, arg ? arg : "");
	pthread_mutex_unlock(&fault_list.lock);
	return hit;
}

bool fault_at_num(const char *point, unsigned long n)
{
	char arg[24];

	snprintf(arg, sizeof(arg), "%lu", n);
	return fault_at(point, arg);
}

void fault_stop(const char *point, const char *arg)
{
	if (fault_at(point, arg))
		kill(getpid(), SIGSTOP);
}

int fault_fail(const char *point, const char *arg)
{
	if (!fault_at(point, arg))
		return 0;
	return ct_err(-EIO, "fault injected at %s%s%s", point, arg ? ":" : "", arg ? arg : "");
}
