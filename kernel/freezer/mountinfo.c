// SPDX-License-Identifier: MIT
/*
 * A small /proc/self/mountinfo parser.  A line is
 *   ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
 * with spaces, tabs, newlines and backslashes in paths written as \ooo.
 */
#define LOG_PREFIX "mountinfo: "
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "freezer/mountinfo.h"
#include "lib/log.h"
#include "lib/util.h"

/* Decode the kernel's \ooo escapes in place. */
static void mountinfo_unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* Next space-separated field of *@p, or NULL at the end of the line. */
static char *mountinfo_field(char **p)
{
	char *start = *p, *end;

	while (*start == ' ')
		start++;
	if (!*start)
		return NULL;
	end = strchr(start, ' ');
	if (end) {
		*end = '\0';
		*p = end + 1;
	} else {
		*p = start + strlen(start);
	}
	return start;
}

/* Split one line into the fields we use. */
int mountinfo_parse_line(char *line, struct mountinfo_entry *e)
{
	char *p = line, *f;
	int i;

	/* ID, PARENT, MAJ:MIN */
	for (i = 0; i < 3; i++)
		if (!mountinfo_field(&p))
			return -EINVAL;
	e->root = mountinfo_field(&p);
	e->mount_point = mountinfo_field(&p);
	if (!e->root || !e->mount_point || !mountinfo_field(&p))
		return -EINVAL;
	/* optional fields end with a lone "-" */
	do {
		f = mountinfo_field(&p);
		if (!f)
			return -EINVAL;
	} while (strcmp(f, "-"));
	e->fstype = mountinfo_field(&p);
	if (!e->fstype || !mountinfo_field(&p))
		return -EINVAL;
	e->super_opts = mountinfo_field(&p);
	if (!e->super_opts)
		return -EINVAL;
	mountinfo_unescape(e->root);
	mountinfo_unescape(e->mount_point);
	return 0;
}

/* True if the comma-separated @opts contains exactly @opt. */
int mount_opts_has(const char *opts, const char *opt)
{
	size_t len = strlen(opt);

	while (opts && *opts) {
		if (!strncmp(opts, opt, len) && (opts[len] == ',' || opts[len] == '\0'))
			return 1;
		opts = strchr(opts, ',');
		if (opts)
			opts++;
	}
	return 0;
}

/* Remember @path in @dst unless an earlier mount already filled it. */
static int mountinfo_take(char *dst, size_t size, const char *path)
{
	if (*dst)
		return 0;
	if (strlen(path) >= size)
		return -ENAMETOOLONG;
	strcpy(dst, path);
	return 0;
}

/* Find the cgroup2 and v1 freezer (and limit controller) mounts in a whole mountinfo text. */
int mountinfo_find_cgroups(const char *text, struct cg_mounts *out)
{
	char *copy, *line, *save = NULL;
	int ret = 0;

	out->v2[0] = out->freezer[0] = out->memory[0] = out->pids[0] = out->cpu[0] = '\0';
	copy = xstrdup(text);
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct mountinfo_entry e;

		ret = mountinfo_parse_line(line, &e);
		if (ret) {
			pr_debug("malformed line");
			break;
		}
		if (strcmp(e.root, "/"))
			continue;
		if (!strcmp(e.fstype, "cgroup2"))
			ret = mountinfo_take(out->v2, sizeof(out->v2), e.mount_point);
		else if (!strcmp(e.fstype, "cgroup") && mount_opts_has(e.super_opts, "freezer"))
			ret = mountinfo_take(out->freezer, sizeof(out->freezer), e.mount_point);
		if (!ret && !strcmp(e.fstype, "cgroup") && mount_opts_has(e.super_opts, "memory"))
			ret = mountinfo_take(out->memory, sizeof(out->memory), e.mount_point);
		if (!ret && !strcmp(e.fstype, "cgroup") && mount_opts_has(e.super_opts, "pids"))
			ret = mountinfo_take(out->pids, sizeof(out->pids), e.mount_point);
		if (!ret && !strcmp(e.fstype, "cgroup") && mount_opts_has(e.super_opts, "cpu"))
			ret = mountinfo_take(out->cpu, sizeof(out->cpu), e.mount_point);
		if (ret)
			break;
	}
	free(copy);
	return ret;
}
