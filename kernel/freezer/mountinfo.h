/* SPDX-License-Identifier: MIT */
/* Finding cgroup mount points in /proc/self/mountinfo (pure parsing, unit-tested). */
#ifndef CT_MOUNTINFO_H
#define CT_MOUNTINFO_H

#include <stddef.h>

/* The fields of one mountinfo line that ctswap uses. */
struct mountinfo_entry {
	char *root;		/* root of the mount within its filesystem */
	char *mount_point;	/* where it is mounted, octal escapes decoded */
	char *fstype;		/* "cgroup2", "cgroup", "proc", ... */
	char *super_opts;	/* per-superblock options: "rw,freezer" */
};

/* The cgroup hierarchies ctswap can use; an empty string means absent. */
struct cg_mounts {
	char v2[4096];		/* the cgroup2 mount point */
	char freezer[4096];	/* the v1 hierarchy with the freezer controller */
	/* v1 hierarchies of the limit controllers (cgroup.c: cg_set_limits) */
	char memory[4096], pids[4096], cpu[4096];
};

/*
 * Split one mountinfo @line (modified in place, no newline) into @e.
 * Returns 0, or -EINVAL when the line does not have the mountinfo shape.
 */
int mountinfo_parse_line(char *line, struct mountinfo_entry *e);
/*
 * Find the cgroup v2 and v1 freezer, memory, pids and cpu mount points in
 * the mountinfo @text.
 * The first mount of each whose root is "/" wins (a bind mount of a sub-group
 * is not a hierarchy root).  Returns 0, or -EINVAL on a malformed line.
 */
int mountinfo_find_cgroups(const char *text, struct cg_mounts *out);
/* True if the comma-separated @opts contains exactly @opt. */
int mount_opts_has(const char *opts, const char *opt);

#endif
