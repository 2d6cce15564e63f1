// SPDX-License-Identifier: MIT
/*
 * The container's mount tree (see mounts.h): dump reads the init's
 * /proc/PID/mountinfo and sorts each mount into what restore can make
 * again; restore rebuilds it under the root directory it is given.
 *
 * Kinds (image.h CT_MNT_*): the root (given again by the caller: a runtime
 * mounts its rootfs or overlay again); new instances of proc, sysfs,
 * devpts, mqueue and tmpfs (tmpfs with its files, tmpfs.c); binds of part
 * of an earlier mount of the container; and external mounts, whose file
 * system the host has mounted too (binds of the host's files and
 * directories, a runtime's /dev/shm or cgroup binds): recorded by an id,
 * the mount point unless the caller named it, and bound again from the
 * host path found at dump or the one restore maps the id to.  A file
 * system the container mounted itself from elsewhere (a block device, a
 * FUSE daemon) cannot be made again: refused, naming the mount point.
 * Propagation: private and unbindable mounts; shared and slave ones are
 * refused.  Order: each mount's place in the mountinfo listing (the order
 * the mounts were made in) is recorded, and restore makes them in it.
 */
#define LOG_PREFIX "mounts: "
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/mounts.h"


#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* One line of mountinfo. */
struct mi_entry {
	unsigned int id, parent;
	char dev[32];			/* major:minor */
	char *root, *mp, *opts, *optional, *fstype, *source, *superopts;
	char *line;			/* the fields point into it */
};

struct mi_table {
	struct mi_entry *e;
	size_t nr, cap;
};

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void mi_unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Split one mountinfo line (its own copy) into @e. */
static int mi_parse_line(char *line, struct mi_entry *e)
{
	char *save = NULL, *f[6], *sep;
	int n = 0;

	e->line = line;
	sep = strstr(line, " - ");
	if (!sep)
		return -EINVAL;
	*sep = '\0';
	for (char *t = strtok_r(line, " ", &save); t; t = n < 6 ? strtok_r(NULL, " ", &save) : NULL)
		f[n++] = t;
	if (n < 6 || sscanf(f[0], "%u", &e->id) != 1 || sscanf(f[1], "%u", &e->parent) != 1)
		return -EINVAL;
	snprintf(e->dev, sizeof(e->dev), "%s", f[2]);
	e->root = f[3];
	e->mp = f[4];
	e->opts = f[5];
	e->optional = strtok_r(NULL, "", &save);
	save = NULL;
	e->fstype = strtok_r(sep + 3, " ", &save);
	e->source = strtok_r(NULL, " ", &save);
	e->superopts = strtok_r(NULL, " \n", &save);
	if (!e->fstype || !e->source)
		return -EINVAL;
	if (!e->superopts)
		e->superopts = "";
	if (!e->optional)
		e->optional = "";
	mi_unescape(e->root);
	mi_unescape(e->mp);
	mi_unescape(e->source);
	return 0;
}

static void mi_free(struct mi_table *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->e[i].line);
	free(t->e);
	t->e = NULL;
	t->nr = t->cap = 0;
}

/* Read /proc/@pid/mountinfo. */
static int mi_read(pid_t pid, struct mi_table *t)
{
	char path[64], *text, *line, *save = NULL;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	ret = read_whole_file(path, &text, NULL);
	if (ret)
		return ct_err(ret, "%s: cannot read: %s", path, strerror(-ret));
	for (line = strtok_r(text, "\n", &save); line && !ret; line = strtok_r(NULL, "\n", &save)) {
		char *copy = xstrdup(line);

		if (!copy || xgrow(&t->e, &t->cap, t->nr + 1, sizeof(*t->e))) {
			free(copy);
			ret = -ENOMEM;
			break;
		}
		memset(&t->e[t->nr], 0, sizeof(t->e[0]));
		if (mi_parse_line(copy, &t->e[t->nr])) {
			free(copy);
			ret = ct_err(-EINVAL, "%s: cannot parse '%s'", path, line);
			break;
		}
		t->nr++;
	}
	free(text);
	return ret;
}

/* If @prefix is @path or a directory above it: what follows, as an absolute path ("/" for none). */
static const char *path_below(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!strcmp(prefix, "/"))
		return path;
	if (strncmp(path, prefix, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path[n] ? path + n : "/";
}

/* @dir joined with absolute @rest ("/" adds nothing). */
static char *path_join(const char *dir, const char *rest)
{
	if (!strcmp(rest, "/"))
		return xstrdup(dir);
	if (!strcmp(dir, "/"))
		return xstrdup(rest);
	return xasprintf("%s%s", dir, rest);
}

/* ---- dump ---- */

/* The per-mount flags of mountinfo's options field (MS_* values). */
static uint32_t mi_mount_flags(const char *opts)
{
	static const struct { const char *name; uint32_t flag; } known[] = {
		{ "ro", MS_RDONLY }, { "nosuid", MS_NOSUID }, { "nodev", MS_NODEV },
		{ "noexec", MS_NOEXEC }, { "noatime", MS_NOATIME }, { "nodiratime", MS_NODIRATIME },
		{ "relatime", MS_RELATIME }, { "nosymfollow", MS_NOSYMFOLLOW },
	};
	char buf[512], *save = NULL;
	uint32_t flags = 0;

	snprintf(buf, sizeof(buf), "%s", opts);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			if (!strcmp(t, known[i].name))
				flags |= known[i].flag;
	if (!(flags & (MS_NOATIME | MS_RELATIME)))
		flags |= MS_STRICTATIME;
	return flags;
}

/* @opts (comma-separated) without the option @drop; *@dropped says if it was there. */
static char *mnt_opts_without(const char *opts, const char *drop, bool *dropped)
{
	char *out = xzalloc(strlen(opts) + 1), *buf = xstrdup(opts), *save = NULL;

	*dropped = false;
	if (!out || !buf) {
		free(out);
		free(buf);
		return NULL;
	}
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, drop)) {
			*dropped = true;
			continue;
		}
		if (out[0])
			strcat(out, ",");
		strcat(out, t);
	}
	free(buf);
	return out;
}

/* The superblock options to mount with again: all but "rw" (a read-only one keeps "ro"). */
static char *mi_data(const char *superopts)
{
	bool rw;

	return mnt_opts_without(superopts, "rw", &rw);
}

/* The host's mount of @dev whose root holds @root (the longest such), or NULL. */
static const struct mi_entry *mi_host_of(const struct mi_table *host, const char *dev, const char *root)
{
	const struct mi_entry *best = NULL;

	for (size_t i = 0; i < host->nr; i++) {
		const struct mi_entry *h = &host->e[i];

		if (strcmp(h->dev, dev) || !path_below(root, h->root))
			continue;
		if (!best || strlen(h->root) > strlen(best->root))
			best = h;
	}
	return best;
}

/* Where the host has what mount @e shows, or NULL. */
static char *mi_host_path(const struct mi_table *host, const struct mi_entry *e)
{
	const struct mi_entry *h = mi_host_of(host, e->dev, e->root);

	return h ? path_join(h->mp, path_below(e->root, h->root)) : NULL;
}

/* What one dump works on. */
struct mnt_dump {
	struct ct_image *img;
	pid_t host_pid, pid;
	const struct mnt_dump_opts *o;
	struct mi_table ct, host;
	const struct mi_entry **order;	/* the container's entries, root first, parents before children */
};

/* The id the caller gave mount point @mp, or NULL. */
static const char *mnt_declared_ext(const struct mnt_dump *d, const char *mp)
{
	for (size_t i = 0; d->o && i < d->o->nr_ext; i++)
		if (d->o->ext[i].path && !strcmp(d->o->ext[i].path, mp))
			return d->o->ext[i].id ? d->o->ext[i].id : mp;
	return NULL;
}

/* The index in d->order of the entry with mount id @id among the first @n, or -1. */
static int mnt_index_of(const struct mnt_dump *d, size_t n, unsigned int id)
{
	for (size_t i = 0; i < n; i++)
		if (d->order[i]->id == id)
			return (int)i;
	return -1;
}

/* Put the root first, then every mount after its parent (mountinfo order otherwise). */
static int mnt_order(struct mnt_dump *d)
{
	size_t placed = 0, n = d->ct.nr;
	bool *done = xzalloc(n + 1);

	d->order = xzalloc(sizeof(*d->order) * (n + 1));
	if (!done || !d->order) {
		free(done);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !placed; i++)
		if (!strcmp(d->ct.e[i].mp, "/")) {
			d->order[placed++] = &d->ct.e[i];
			done[i] = true;
		}
	for (bool more = placed; more;) {
		more = false;
		for (size_t i = 0; i < n; i++)
			if (!done[i] && mnt_index_of(d, placed, d->ct.e[i].parent) >= 0) {
				d->order[placed++] = &d->ct.e[i];
				done[i] = more = true;
			}
	}
	free(done);
	if (!placed || placed != n)
		return ct_err(-EOPNOTSUPP, "pid %d: its mount tree has %s: not supported", d->pid,
			      placed ? "mounts outside its root" : "no root");
	return 0;
}

/* Propagation: private or unbindable only. */
static int mnt_propagation(const struct mnt_dump *d, const struct mi_entry *e, struct ct_mount *m)
{
	if (strstr(e->optional, "shared:") || strstr(e->optional, "master:"))
		return ct_err(-EOPNOTSUPP, "pid %d: mount %s: %s propagation (%s): not supported",
			      d->pid, e->mp, strstr(e->optional, "shared:") ? "shared" : "slave",
			      e->optional);
	m->unbindable = strstr(e->optional, "unbindable") != NULL;
	return 0;
}

/*
 * As the source of bind @e: is @s better than @best?  One made before @e
 * (a bind is a copy of a mount that was there: restore then makes them in
 * the same order), then the one closest to @e's root.  Entries are in
 * mountinfo order, the order they were made in.
 */
static bool mnt_better_source(const struct mi_entry *e, const struct mi_entry *s,
			      const struct mi_entry *best)
{
	if ((s < e) != (best < e))
		return s < e;
	return strlen(s->root) > strlen(best->root);
}

/* A bind of part of an earlier mount of the container: its index, or -1. */
static int mnt_bind_source(const struct mnt_dump *d, size_t i)
{
	const struct mi_entry *e = d->order[i];
	int best = -1;

	for (size_t j = 0; j < i; j++) {
		const struct mi_entry *s = d->order[j];

		if (strcmp(s->dev, e->dev) || !path_below(e->root, s->root))
			continue;
		if (best < 0 || mnt_better_source(e, s, d->order[best]))
			best = (int)j;
	}
	return best;
}

/*
 * A new instance of its type? The kind, or 0.  One the host has too is the
 * host's bound in (a runtime's /dev/shm; the sysfs of a container on the
 * host's network shows the host's): external, bound from the host again.
 */
static uint32_t mnt_instance_kind(const struct mnt_dump *d, const struct mi_entry *e)
{
	static const struct { const char *type; uint32_t kind; } kinds[] = {
		{ "proc", CT_MNT_PROC }, { "sysfs", CT_MNT_SYSFS }, { "mqueue", CT_MNT_MQUEUE },
		{ "devpts", CT_MNT_DEVPTS }, { "tmpfs", CT_MNT_TMPFS },
	};

	if (strcmp(e->root, "/") || mi_host_of(&d->host, e->dev, e->root))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(e->fstype, kinds[i].type))
			return kinds[i].kind;
	return 0;
}

/* Sort mount @i (d->order) into @m. */
static int mnt_classify(struct mnt_dump *d, size_t i, struct ct_mount *m)
{
	const struct mi_entry *e = d->order[i];
	const char *id = mnt_declared_ext(d, e->mp);
	int src;

	if (i == 0) {
		m->kind = CT_MNT_ROOT;
		m->host_path = mi_host_path(&d->host, e);
		return 0;
	}
	m->kind = id ? 0 : mnt_instance_kind(d, e);
	if (m->kind) {
		m->data = mi_data(e->superopts);
		return m->data ? 0 : -ENOMEM;
	}
	src = id ? -1 : mnt_bind_source(d, i);
	if (src >= 0) {
		m->kind = CT_MNT_BIND;
		m->bind_of = (uint32_t)src;
		m->root = xstrdup(path_below(e->root, d->order[src]->root));
		return m->root ? 0 : -ENOMEM;
	}
	m->host_path = mi_host_path(&d->host, e);
	if (!m->host_path && !id)
		return ct_err(-EOPNOTSUPP, "pid %d: mount %s (%s from %s): a file system mounted inside the container, not the host's: not supported",
			      d->pid, e->mp, e->fstype, e->source);
	m->kind = CT_MNT_EXTERNAL;
	m->ext_id = xstrdup(id ? id : e->mp);
	return m->ext_id ? 0 : -ENOMEM;
}

/* Is mount @j on mount @i, or on one that is (parents come first)? */
static bool mnt_is_below(const struct ct_mount *mounts, uint32_t j, uint32_t i)
{
	while (j > i)
		j = mounts[j].parent;
	return j == i;
}

/*
 * Is mount @i covered by a later mount (its files out of reach by path):
 * one at its mount point (on it, or on what is on it), or one above its
 * mount point that is not on it?
 */
static bool mnt_hidden(const struct mnt_dump *d, uint32_t i)
{
	const struct ct_mount *mounts = d->img->mounts;

	for (uint32_t j = i + 1; j < d->img->nr_mounts; j++) {
		if (!path_below(mounts[i].mountpoint, mounts[j].mountpoint))
			continue;
		if (!strcmp(mounts[i].mountpoint, mounts[j].mountpoint) || !mnt_is_below(mounts, j, i))
			return true;
	}
	return false;
}

/* Record mount @i (d->order) as img->mounts[i]. */
static int mnt_record(struct mnt_dump *d, size_t i)
{
	const struct mi_entry *e = d->order[i];
	struct ct_mount *m = &d->img->mounts[i];
	char path[4096];
	struct stat st;
	int parent = mnt_index_of(d, i, e->parent);

	m->parent = parent < 0 ? 0 : (uint32_t)parent;
	m->rank = (uint32_t)(e - d->ct.e);
	m->flags = mi_mount_flags(e->opts);
	m->mountpoint = xstrdup(e->mp);
	m->fstype = xstrdup(e->fstype);
	m->source = xstrdup(e->source);
	if (!m->mountpoint || !m->fstype || !m->source)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/root%s", d->host_pid, e->mp);
	if (stat(path, &st) < 0)
		return ct_err(-errno, "pid %d: mount %s: %m", d->pid, e->mp);
	m->is_dir = S_ISDIR(st.st_mode);
	return mnt_propagation(d, e, m) ?: mnt_classify(d, i, m);
}

/* A thread of ours in the container's mount namespace, for reading its tmpfs mounts. */
struct mnt_ns_work {
	struct mnt_dump *d;
	int ret;
	char err[512];
};

/* Is anything mounted on mount @i? */
static bool mnt_has_children(const struct ct_image *img, uint32_t i)
{
	for (uint32_t j = i + 1; j < img->nr_mounts; j++)
		if (img->mounts[j].parent == i)
			return true;
	return false;
}

/*
 * Open a private copy of tmpfs mount @i alone (what is mounted on it hides
 * none of its files) and record its files.  An unbindable mount cannot be
 * copied: read in place when nothing is mounted on it.
 */
static int mnt_dump_one_tmpfs(struct mnt_dump *d, uint32_t i)
{
	const struct ct_mount *m = &d->img->mounts[i];
	int tree, dir, ret;

	if (mnt_hidden(d, i))
		return ct_err(-EOPNOTSUPP, "pid %d: tmpfs %s is under another mount (its files are out of reach): not supported",
			      d->pid, m->mountpoint);
	tree = (int)syscall(SYS_open_tree, AT_FDCWD, m->mountpoint, OPEN_TREE_CLONE | O_CLOEXEC);
	if (tree < 0 && errno == EINVAL && m->unbindable && !mnt_has_children(d->img, i))
		tree = open(m->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);	/* no copy: nothing on it hides */
	else if (tree < 0 && errno == EINVAL && m->unbindable)
		return ct_err(-EOPNOTSUPP, "pid %d: tmpfs %s: unbindable with mounts on it (its files under them are out of reach): not supported",
			      d->pid, m->mountpoint);
	if (tree < 0)
		return ct_err(-errno, "pid %d: tmpfs %s: cannot open it: %m", d->pid, m->mountpoint);
	dir = tmpfs_open_noatime(tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(tree);
	if (dir < 0)
		return ct_err(-errno, "pid %d: tmpfs %s: cannot open it: %m", d->pid, m->mountpoint);
	ret = tmpfs_dump(d->img, i, dir, d->o ? d->o->max_file_size : 0, d->pid);
	close(dir);
	return ret;
}

static void *mnt_ns_thread(void *arg)
{
	struct mnt_ns_work *w = arg;
	char path[64];
	const char *msg;
	int fd;

	ct_err_clear();
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", w->d->host_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* a thread shares its root and cwd with the process: unshare them first */
	if (fd < 0 || unshare(CLONE_FS) < 0 || setns(fd, CLONE_NEWNS) < 0)
		w->ret = ct_err(-errno, "pid %d: cannot enter its mount namespace: %m", w->d->pid);
	if (fd >= 0)
		close(fd);
	for (uint32_t i = 0; i < w->d->img->nr_mounts && !w->ret; i++)
		if (w->d->img->mounts[i].kind == CT_MNT_TMPFS)
			w->ret = mnt_dump_one_tmpfs(w->d, i);
	msg = ct_err_msg();
	if (w->ret && msg)
		snprintf(w->err, sizeof(w->err), "%s", msg);
	return NULL;
}

/* The files of every tmpfs mount, read from a thread in the container's mount namespace. */
static int mnt_dump_tmpfs(struct mnt_dump *d)
{
	struct mnt_ns_work w = { .d = d };
	pthread_t th;
	int ret;

	ret = -pthread_create(&th, NULL, mnt_ns_thread, &w);
	if (ret)
		return ct_err(ret, "cannot start a thread: %s", strerror(-ret));
	pthread_join(th, NULL);
	if (w.ret && w.err[0])
		return ct_err(w.ret, "%s", w.err);
	return w.ret;
}

int mounts_dump(struct ct_image *img, pid_t host_pid, pid_t pid, pid_t ref_pid,
		const struct mnt_dump_opts *o)
{
	struct mnt_dump d = { .img = img, .host_pid = host_pid, .pid = pid, .o = o };
	int ret;

	ret = mi_read(host_pid, &d.ct) ?: mi_read(ref_pid, &d.host) ?: mnt_order(&d);
	if (ret)
		goto out;
	img->mounts = xzalloc(sizeof(*img->mounts) * d.ct.nr);
	if (!img->mounts) {
		ret = -ENOMEM;
		goto out;
	}
	img->nr_mounts = (uint32_t)d.ct.nr;
	for (size_t i = 0; i < d.ct.nr && !ret; i++)
		ret = mnt_record(&d, i);
	if (!ret)
		ret = mnt_dump_tmpfs(&d);
	if (!ret)
		pr_info("pid %d: %u mounts, %u tmpfs files", pid, img->nr_mounts, img->nr_tmpfs);
out:
	free(d.order);
	mi_free(&d.ct);
	mi_free(&d.host);
	return ret;
}

/* Does @path (seen from @root, "" for ours) lead to the inode @f had at the dump? */
static bool mnt_same_inode(const char *root, const struct ct_file *f)
{
	char path[4096 + 64];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", root, f->path);
	return stat(path, &st) == 0 && st.st_dev == f->id.dev && st.st_ino == f->id.ino;
}

int mounts_mark_outside(struct ct_image *img, pid_t host_pid)
{
	char root[64];

	snprintf(root, sizeof(root), "/proc/%d/root", host_pid);
	for (uint32_t i = 0; i < img->nr_files; i++) {
		struct ct_file *f = &img->files[i];

		if ((f->kind != CT_FILE_REG && f->kind != CT_FILE_CHR) || !f->path ||
		    (f->kind == CT_FILE_REG && f->deleted))
			continue;
		if (!mnt_same_inode(root, f) && mnt_same_inode("", f))
			f->outside = 1;
	}
	return 0;
}

/* ---- restore ---- */

/* The host path external mount @m is bound from: mapped by the caller, else the dump's. */
static const char *mnt_ext_source(const struct ct_mount *m, const struct ctswap_ext_mount *ext,
				  size_t nr_ext)
{
	for (size_t k = 0; k < nr_ext; k++)
		if (ext[k].id && !strcmp(ext[k].id, m->ext_id))
			return ext[k].path;
	return m->host_path;
}

/* Every --ext-mount id names an external mount of the checkpoint. */
static int mnt_check_ext_ids(const struct ct_image *img, const char *name,
			     const struct ctswap_ext_mount *ext, size_t nr_ext)
{
	for (size_t k = 0; k < nr_ext; k++) {
		bool found = false;

		for (uint32_t i = 0; i < img->nr_mounts && !found; i++)
			found = img->mounts[i].kind == CT_MNT_EXTERNAL && ext[k].id &&
				!strcmp(img->mounts[i].ext_id, ext[k].id);
		if (!found)
			return ct_err(-ENOENT, "%s: --ext-mount %s: the checkpoint has no external mount with that id",
				      name, ext[k].id ? ext[k].id : "");
		if (!ext[k].path || ext[k].path[0] != '/')
			return ct_err(-EINVAL, "%s: --ext-mount %s: want an absolute host path", name,
				      ext[k].id);
	}
	return 0;
}

/* External mount @i: a source of the kind the mount point is (directory or file). */
static int mnt_check_source(const struct ct_image *img, const char *name, uint32_t i, const char *src)
{
	const struct ct_mount *m = &img->mounts[i];
	struct stat st;

	if (!src)
		return ct_err(-ENOENT, "%s: external mount %s: no host path known: restore needs --ext-mount %s=HOSTPATH",
			      name, m->ext_id, m->ext_id);
	if (stat(src, &st) < 0)
		return ct_err(-errno, "%s: external mount %s: %s: %m", name, m->ext_id, src);
	if (!S_ISDIR(st.st_mode) != !m->is_dir)
		return ct_err(-EINVAL, "%s: external mount %s: %s: not a %s like the mount was", name,
			      m->ext_id, src, m->is_dir ? "directory" : "file");
	return 0;
}

/*
 * Made by the init: a bind of a devpts file (a runtime's /dev/console,
 * bound from the terminal's /dev/pts/N), or a mount on or of one: the
 * restorer makes the ptys in the tree's devpts after the holder built it
 * (task/pty.c), so the file is there only for the init.
 */
static bool mnt_is_deferred(const struct mnt_plan *p, uint32_t i)
{
	const struct ct_mount *m = &p->img->mounts[i];

	if (!i)
		return false;
	return p->deferred[m->parent] ||
	       (m->kind == CT_MNT_BIND && (p->deferred[m->bind_of] ||
					   p->img->mounts[m->bind_of].kind == CT_MNT_DEVPTS));
}

void mnt_plan_free(struct mnt_plan *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; p->src && i < p->img->nr_mounts; i++)
		free(p->src[i]);
	free(p->src);
	free(p->deferred);
	free(p->root);
	if (p->pidns_fd >= 0)
		close(p->pidns_fd);
	free(p);
}

/*
 * A pid namespace has no file before its first process, but for the
 * pidfd of a task that made it for its children (doc/KERNEL-FACTS.md
 * "Mount trees"): we make it, take it, and go back to ours for our own
 * children.  Only this thread's namespaces change, for these few calls.
 */
int mnt_plan_pidns(struct mnt_plan *p)
{
	int ours = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC), self = -1, ret = 0;

	if (ours < 0)
		return ct_err(-errno, "our pid namespace: %m");
	if (unshare(CLONE_NEWPID) < 0) {
		ret = ct_err(-errno, "cannot make a pid namespace: %m");
		goto out;
	}
	self = (int)syscall(SYS_pidfd_open, gettid(), PIDFD_THREAD);
	p->pidns_fd = self < 0 ? -1 : ioctl(self, PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0);
	if (p->pidns_fd < 0)
		ret = ct_err(-errno, "cannot open the new pid namespace: %m");
	if (setns(ours, CLONE_NEWPID) < 0)	/* our children must stay in ours */
		ret = ct_err(-errno, "cannot go back to our pid namespace: %m");
out:
	if (self >= 0)
		close(self);
	close(ours);
	return ret;
}

int mnt_plan_make(const struct ct_image *img, const char *name, const char *root,
		  const struct ctswap_ext_mount *ext, size_t nr_ext, struct mnt_plan **plan)
{
	struct mnt_plan *p = xzalloc(sizeof(*p));
	struct stat st;
	int ret;

	*plan = NULL;
	if (!p)
		return -ENOMEM;
	p->img = img;
	p->pidns_fd = -1;
	p->src = xzalloc(sizeof(*p->src) * (img->nr_mounts + 1));
	p->deferred = xzalloc(img->nr_mounts + 1);
	if (!p->src || !p->deferred) {
		ret = -ENOMEM;
		goto fail;
	}
	if (!root)
		root = img->mounts[0].host_path;
	if (!root) {
		ret = ct_err(-ENOENT, "%s: the root filesystem's host path is unknown: restore needs --root DIR", name);
		goto fail;
	}
	if (stat(root, &st) < 0) {
		ret = ct_err(-errno, "%s: root filesystem %s: %m", name, root);
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		ret = ct_err(-ENOTDIR, "%s: root filesystem %s: not a directory", name, root);
		goto fail;
	}
	p->root = realpath(root, NULL);
	ret = p->root ? mnt_check_ext_ids(img, name, ext, nr_ext) : -errno;
	for (uint32_t i = 0; i < img->nr_mounts && !ret; i++) {
		const struct ct_mount *m = &img->mounts[i];

		p->deferred[i] = mnt_is_deferred(p, i);
		if (m->kind != CT_MNT_EXTERNAL)
			continue;
		ret = mnt_check_source(img, name, i, mnt_ext_source(m, ext, nr_ext));
		if (!ret) {
			p->src[i] = xstrdup(mnt_ext_source(m, ext, nr_ext));
			ret = p->src[i] ? 0 : -ENOMEM;
		}
	}
	if (ret)
		goto fail;
	*plan = p;
	return 0;
fail:
	mnt_plan_free(p);
	return ret;
}

/* mount(2) with a one-line error naming the mount point. */
static int mnt_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		     const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		return ct_err(-errno, "mount %s: %s: %m", dst, type ? type : src ? "bind" : "flags");
	return 0;
}

/* The mount point, made if the tree lacks it (a directory, or an empty file for a file bind). */
static int mnt_make_target(const struct ct_mount *m)
{
	char *dir;
	int ret, fd;

	if (!access(m->mountpoint, F_OK))
		return 0;
	if (m->is_dir) {
		ret = mkdir_p(m->mountpoint, 0755);
		return ret ? ct_err(ret, "%s: cannot create the mount point: %s", m->mountpoint,
				    strerror(-ret)) : 0;
	}
	dir = xstrdup(m->mountpoint);
	if (!dir)
		return -ENOMEM;
	*strrchr(dir, '/') = '\0';
	ret = dir[0] ? mkdir_p(dir, 0755) : 0;
	free(dir);
	fd = ret ? -1 : open(m->mountpoint, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return ct_err(ret ?: -errno, "%s: cannot create the mount point: %s", m->mountpoint,
			      strerror(ret ? -ret : errno));
	close(fd);
	return 0;
}

/* fsconfig(2) each option of @data ("key=value" or "flag", comma-separated) onto @fs. */
static int mnt_fs_options(int fs, const char *data, const char *where)
{
	char *buf = xstrdup(data ? data : ""), *save = NULL;
	int ret = buf ? 0 : -ENOMEM;

	for (char *t = buf ? strtok_r(buf, ",", &save) : NULL; t && !ret; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');

		if (eq)
			*eq = '\0';
		if (fsconfig(fs, eq ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, t, eq ? eq + 1 : NULL, 0) < 0)
			ret = ct_err(-errno, "mount %s: option %s: %m", where, t);
	}
	free(buf);
	return ret;
}

/*
 * A new instance of @m's file system with options @data, detached: its fd,
 * or -errno.  A proc instance shows pid namespace @pidns_fd (not ours).
 */
static int mnt_new_instance(const struct ct_mount *m, const char *data, int pidns_fd)
{
	int fs = fsopen(m->fstype, FSOPEN_CLOEXEC), mnt = -1, ret;

	if (fs < 0)
		return ct_err(-errno, "mount %s: %s: %m", m->mountpoint, m->fstype);
	ret = fsconfig(fs, FSCONFIG_SET_STRING, "source", m->source, 0) < 0 ?
	      ct_err(-errno, "mount %s: source %s: %m", m->mountpoint, m->source) :
	      mnt_fs_options(fs, data, m->mountpoint);
	if (!ret && m->kind == CT_MNT_PROC &&
	    fsconfig(fs, FSCONFIG_SET_FD, "pidns", NULL, pidns_fd) < 0)
		ret = ct_err(-errno, "mount %s: the container's pid namespace: %m", m->mountpoint);
	if (!ret && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		ret = ct_err(-errno, "mount %s: %s: %m", m->mountpoint, m->fstype);
	if (!ret && (mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0)) < 0)
		ret = ct_err(-errno, "mount %s: %s: %m", m->mountpoint, m->fstype);
	close(fs);
	return ret ?: mnt;
}

/* Was tmpfs @m read-only?  Its options but "ro" into *@data (made, filled, then made read-only). */
static int mnt_tmpfs_data(const struct ct_mount *m, char **data, bool *ro)
{
	*data = mnt_opts_without(m->data ? m->data : "", "ro", ro);
	return *data ? 0 : -ENOMEM;
}

/* A new tmpfs for mount @i, detached, filled with its files. */
static int mnt_new_tmpfs(const struct ct_image *img, uint32_t i)
{
	const struct ct_mount *m = &img->mounts[i];
	char *data;
	bool ro;
	int mnt, dir, ret = mnt_tmpfs_data(m, &data, &ro);

	if (ret)
		return ret;
	mnt = mnt_new_instance(m, data, -1);
	free(data);
	if (mnt < 0)
		return mnt;
	dir = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = dir < 0 ? ct_err(-errno, "%s: cannot open the new tmpfs: %m", m->mountpoint) :
			tmpfs_fill(img, i, dir);
	if (dir >= 0)
		close(dir);
	if (ret) {
		close(mnt);
		return ret;
	}
	return mnt;
}

/* A detached copy of the mount at host path @path (the root, an external mount). */
static int mnt_clone_host(const struct ct_mount *m, const char *path)
{
	int mnt = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (mnt >= 0)
		return mnt;
	if (m->kind == CT_MNT_ROOT)
		return ct_err(-errno, "%s: cannot bind the root filesystem: %m", path);
	return ct_err(-errno, "external mount %s: cannot bind %s: %m", m->ext_id, path);
}

/* A detached copy of part @m->root of the mount made for @m->bind_of (@src), resolved inside it. */
static int mnt_clone_part(const struct ct_mount *m, int src)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	const char *rel = m->root + 1;	/* absolute: checked by the validator */
	int at = rel[0] ? (int)syscall(SYS_openat2, src, rel, &how, sizeof(how)) : src, mnt;

	if (at < 0)
		return ct_err(-errno, "mount %s: its source %s: %m", m->mountpoint, m->root);
	mnt = open_tree(at, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (mnt < 0)
		mnt = ct_err(-errno, "mount %s: cannot bind %s: %m", m->mountpoint, m->root);
	if (at != src)
		close(at);
	return mnt;
}

/*
 * A detached copy of part of mount @m->bind_of, which the holder made: we
 * are in the tree (the init, joined): taken at its mount point.
 */
static int mnt_clone_in_tree(const struct mnt_plan *p, const struct ct_mount *m)
{
	const char *from = p->img->mounts[m->bind_of].mountpoint;
	int src = open(from, O_PATH | O_CLOEXEC), mnt;

	if (src < 0)
		return ct_err(-errno, "mount %s: its source %s: %m", m->mountpoint, from);
	mnt = mnt_clone_part(m, src);
	close(src);
	return mnt;
}

/* Make mount @i detached (@mnts: those made before). */
static int mnt_create(const struct mnt_plan *p, uint32_t i, const int *mnts)
{
	const struct ct_mount *m = &p->img->mounts[i];

	switch (m->kind) {
	case CT_MNT_ROOT:
		return mnt_clone_host(m, p->root);
	case CT_MNT_EXTERNAL:
		return mnt_clone_host(m, p->src[i]);
	case CT_MNT_BIND:
		if (mnts[m->bind_of] < 0)
			return mnt_clone_in_tree(p, m);
		return mnt_clone_part(m, mnts[m->bind_of]);
	case CT_MNT_TMPFS:
		return mnt_new_tmpfs(p->img, i);
	default:
		return mnt_new_instance(m, m->data, p->pidns_fd);
	}
}

/* The mounts' indexes in the order the dump saw them made: rank, then record order. */
static uint32_t *mnt_by_rank(const struct ct_image *img)
{
	uint32_t *by = xmalloc(sizeof(*by) * (img->nr_mounts + 1));

	for (uint32_t k = 0; by && k < img->nr_mounts; k++) {
		uint32_t i = k, j = k;

		for (; j > 0 && img->mounts[by[j - 1]].rank > img->mounts[i].rank; j--)
			by[j] = by[j - 1];
		by[j] = i;
	}
	return by;
}

/*
 * Can mount @i be made now?  A bind needs its source made before, or,
 * @in_tree (the init, in the tree the holder built), one the holder made.
 */
static bool mnt_can_create(const struct mnt_plan *p, uint32_t i, const int *mnts, bool in_tree)
{
	const struct ct_mount *m = &p->img->mounts[i];

	return m->kind != CT_MNT_BIND || mnts[m->bind_of] >= 0 ||
	       (in_tree && !p->deferred[m->bind_of]);
}

/*
 * Make the mounts of one pass (the holder's, or the init's: @deferred)
 * detached, in the order they were made at the dump, as far as they can
 * be made (mnt_can_create; a bind made before its source waits for it): a
 * mount namespace lists its mounts in the order they were made, wherever
 * they were attached later (doc/KERNEL-FACTS.md "Mount trees"), so the
 * container's listing comes back as it was, but for what the init makes
 * (after the rest).  Each tmpfs is filled before anything is on it.
 * Returns the number left to make, or -errno.
 */
static int mnt_create_pass(const struct mnt_plan *p, bool deferred, bool in_tree, int *mnts)
{
	uint32_t n = p->img->nr_mounts, left = 0, *by = mnt_by_rank(p->img);
	bool progress = true;
	int ret = by ? 0 : -ENOMEM;

	for (uint32_t i = 0; i < n; i++)
		left += p->deferred[i] == deferred && mnts[i] < 0;
	umask(0);	/* tmpfs files get exactly their modes */
	while (left && progress && !ret) {
		progress = false;
		for (uint32_t k = 0; k < n && !ret; k++) {
			uint32_t i = by[k];

			if (p->deferred[i] != deferred || mnts[i] >= 0 ||
			    !mnt_can_create(p, i, mnts, in_tree))
				continue;
			ret = mnt_create(p, i, mnts);
			mnts[i] = ret < 0 ? -1 : ret;
			ret = ret < 0 ? ret : 0;
			progress = true;
			left--;
		}
	}
	free(by);
	return ret ?: (int)left;
}

/* The mounts of one pass all made?  Else name the first left. */
static int mnt_created_all(const struct mnt_plan *p, bool deferred, const int *mnts)
{
	for (uint32_t i = 0; i < p->img->nr_mounts; i++)
		if (p->deferred[i] == deferred && mnts[i] < 0)
			return ct_err(-EINVAL, "mount %s: its bind source cannot be made before it",
				      p->img->mounts[i].mountpoint);
	return 0;
}

/* Attach mount @m, made as @mnt, at its mount point (we are in the container's root); its flags. */
static int mnt_attach(const struct ct_mount *m, int mnt)
{
	char *data = NULL;
	bool ro = false;
	int ret = mnt_make_target(m);

	if (ret)
		return ret;
	if (move_mount(mnt, "", AT_FDCWD, m->mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return ct_err(-errno, "mount %s: cannot attach it: %m", m->mountpoint);
	if (m->kind == CT_MNT_TMPFS)
		ret = mnt_tmpfs_data(m, &data, &ro);
	if (!ret && ro)
		ret = mnt_mount(NULL, m->mountpoint, NULL, MS_REMOUNT | MS_RDONLY, data);
	free(data);
	if (!ret)
		ret = mnt_mount(NULL, m->mountpoint, NULL, MS_BIND | MS_REMOUNT | m->flags, NULL);
	if (!ret && m->unbindable)
		ret = mnt_mount(NULL, m->mountpoint, NULL, MS_UNBINDABLE, NULL);
	return ret;
}

/* Attach every mount of one pass (mnt_create_pass) but the root, parents first; close them. */
static int mnt_attach_pass(const struct mnt_plan *p, bool deferred, int *mnts)
{
	int ret = 0;

	for (uint32_t i = 1; i < p->img->nr_mounts && !ret; i++)
		if (p->deferred[i] == deferred)
			ret = mnt_attach(&p->img->mounts[i], mnts[i]);
	for (uint32_t i = 0; i < p->img->nr_mounts; i++) {
		if (mnts[i] >= 0)
			close(mnts[i]);
		mnts[i] = -1;
	}
	return ret;
}

int mounts_pivot(const char *root)
{
	if (chdir(root) < 0)
		return ct_err(-errno, "%s: chdir: %m", root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return ct_err(-errno, "%s: pivot_root: %m", root);
	/* the old root ends up under the new one: detach it */
	if (umount2(".", MNT_DETACH) < 0)
		return ct_err(-errno, "%s: cannot detach the old root: %m", root);
	if (chdir("/") < 0)
		return ct_err(-errno, "chdir /: %m");
	return 0;
}

/*
 * The restorer opens the container's files from inside this tree, and
 * reopens some through /proc/self/fd, which the container's proc (its pid
 * namespace's) does not show it: a proc of ours on top of /proc serves it
 * until the init, joining, takes it off.
 */
static int mnt_scaffold_proc(void)
{
	if (mkdir("/proc", 0555) < 0 && errno != EEXIST)
		return ct_err(-errno, "/proc: cannot create: %m");
	return mnt_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* In the holder: a new mount namespace holding the tree but the deferred mounts (@mnts: -1 each). */
static int mnt_holder_build(const struct mnt_plan *p, int net_fd, int ipc_fd, int *mnts)
{
	const struct ct_mount *root = &p->img->mounts[0];
	int ret;

	if (unshare(CLONE_NEWNS) < 0)
		return ct_err(-errno, "cannot make a mount namespace: %m");
	ret = mnt_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	/* sysfs shows its mounter's network, mqueue its IPC namespace */
	if (!ret && net_fd >= 0 && setns(net_fd, CLONE_NEWNET) < 0)
		ret = ct_err(-errno, "cannot join the container's network namespace: %m");
	if (!ret && ipc_fd >= 0 && setns(ipc_fd, CLONE_NEWIPC) < 0)
		ret = ct_err(-errno, "cannot join the container's IPC namespace: %m");
	for (uint32_t i = 1; i < p->img->nr_mounts && !ret && ipc_fd < 0; i++)
		if (p->img->mounts[i].kind == CT_MNT_MQUEUE)
			ret = ct_err(-EINVAL, "mount %s: an mqueue instance without an IPC namespace of its own",
				     p->img->mounts[i].mountpoint);
	if (!ret)
		ret = mnt_create_pass(p, false, false, mnts);
	if (ret >= 0)	/* every bind's source is the holder's too: all made */
		ret = mnt_created_all(p, false, mnts);
	if (!ret && move_mount(mnts[0], "", AT_FDCWD, p->root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		ret = ct_err(-errno, "%s: cannot bind the root filesystem: %m", p->root);
	if (!ret)
		ret = mounts_pivot(p->root) ?: mnt_attach_pass(p, false, mnts) ?: mnt_scaffold_proc();
	/* last: the root read-only only once every mount point is made */
	if (!ret)
		ret = mnt_mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | root->flags, NULL);
	if (!ret && root->unbindable)
		ret = mnt_mount(NULL, "/", NULL, MS_UNBINDABLE, NULL);
	return ret;
}

/* The holder's report. */
struct mnt_report {
	int ret;
	char msg[512];
};

/* The holder process: build, report, stay until the restorer has opened what it made. */
static void __attribute__((noreturn)) mnt_holder(const struct mnt_plan *p, int net_fd, int ipc_fd,
						 int report, int hold)
{
	struct mnt_report r = { 0 };
	int *mnts = xzalloc(sizeof(int) * (p->img->nr_mounts + 1));
	char c;

	ct_err_clear();
	for (uint32_t i = 0; mnts && i < p->img->nr_mounts; i++)
		mnts[i] = -1;
	/* the mounts not attached go with their fds when we exit */
	r.ret = mnts ? mnt_holder_build(p, net_fd, ipc_fd, mnts) : -ENOMEM;
	if (r.ret)
		snprintf(r.msg, sizeof(r.msg), "%s", ct_err_msg() ? ct_err_msg() : strerror(-r.ret));
	if (write(report, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	while (read(hold, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Open the holder's namespace and root. */
static int mnt_take(pid_t holder, int *mnt_fd, int *root_fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", holder);
	*mnt_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/root", holder);
	*root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*mnt_fd >= 0 && *root_fd >= 0)
		return 0;
	return ct_err(-errno, "the container's mount namespace: %m");
}

int mnt_build(const struct mnt_plan *p, int net_fd, int ipc_fd, int *mnt_fd, int *root_fd)
{
	struct mnt_report r = { .ret = -EPIPE };
	int report[2], hold[2], ret;
	pid_t pid;

	*mnt_fd = *root_fd = -1;
	if (pipe2(report, O_CLOEXEC) < 0)
		return ct_err(-errno, "pipe: %m");
	if (pipe2(hold, O_CLOEXEC) < 0) {
		ret = ct_err(-errno, "pipe: %m");
		goto out_report;
	}
	pid = fork();
	if (pid == 0) {
		close(report[0]);
		close(hold[1]);
		mnt_holder(p, net_fd, ipc_fd, report[1], hold[0]);
	}
	close(report[1]);
	close(hold[0]);
	report[1] = hold[0] = -1;
	if (pid < 0) {
		ret = ct_err(-errno, "fork: %m");
		goto out_hold;
	}
	if (read(report[0], &r, sizeof(r)) != sizeof(r))
		r.ret = -EPIPE;
	ret = r.ret ? ct_err(r.ret, "%s", r.msg[0] ? r.msg : "the mount tree's maker died") :
		      mnt_take(pid, mnt_fd, root_fd);
	close(hold[1]);
	hold[1] = -1;
	waitpid(pid, NULL, 0);
	if (ret) {
		if (*mnt_fd >= 0)
			close(*mnt_fd);
		if (*root_fd >= 0)
			close(*root_fd);
		*mnt_fd = *root_fd = -1;
	}
out_hold:
	if (hold[1] >= 0)
		close(hold[1]);
out_report:
	close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
	return ret;
}

/*
 * @id, recorded at the dump for @path: if @path (resolved in our root, the
 * rebuilt tree) is another inode of the same size and time, take it as the
 * same file: the tmpfs files were made again, a runtime mounts its root
 * again (an overlay: another device), a root or external mount may be a
 * copy.  With @grown_ok (a file held open, which changed.c compares with
 * the dump's checksum) also the same inode number on another device, grown
 * since: a log the container wrote on after a --leave-running dump, on an
 * overlay mounted again.  Anything else is left for the changed-files
 * checks to refuse.
 */
static void mnt_rekey_one(const char *path, struct ct_file_id *id, bool grown_ok)
{
	bool grown;
	struct stat st;

	if (!path || path[0] != '/' || (!id->dev && !id->ino) || stat(path, &st) < 0)
		return;
	if (st.st_dev == id->dev && st.st_ino == id->ino)
		return;
	grown = grown_ok && st.st_ino == id->ino && (uint64_t)st.st_size >= id->size;
	if (!grown && ((uint64_t)st.st_size != id->size || st.st_mtim.tv_sec != id->mtime_sec ||
		       st.st_mtim.tv_nsec != id->mtime_nsec))
		return;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
}

void mounts_rekey(struct ct_image *img)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		struct ct_file *f = &img->files[i];

		if (f->kind == CT_FILE_REG && !f->deleted && !f->outside)
			mnt_rekey_one(f->path, &f->id, true);
	}
	for (uint32_t i = 0; i < img->nr_tasks; i++) {
		struct ct_task *t = &img->tasks[i];

		mnt_rekey_one(t->mm.exe_path, &t->mm.exe_id, false);
		for (uint32_t k = 0; k < t->mm.nr_vmas; k++) {
			struct ct_vma *v = &t->mm.vmas[k];

			if (v->kind == CT_VMA_FILE_PRIVATE || v->kind == CT_VMA_FILE_SHARED)
				mnt_rekey_one(v->path, &v->file, false);
		}
	}
}

/* Is the file system at @path the one of fd @fd (each devpts instance has a device of its own)? */
static bool mnt_same_fs(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev;
}

/*
 * The ptys restored before us live in a devpts instance of their own
 * (task/pty.c, @devpts: a detached mount): it takes the place of the one
 * the holder made at the container's /dev/pts.
 */
static int mnt_swap_devpts(const struct mnt_plan *p, int devpts)
{
	const struct ct_mount *m = NULL;

	for (uint32_t i = 1; i < p->img->nr_mounts; i++)
		if (p->img->mounts[i].kind == CT_MNT_DEVPTS &&
		    (!m || !strcmp(p->img->mounts[i].mountpoint, "/dev/pts")))
			m = &p->img->mounts[i];
	if (!m)
		return ct_err(-EINVAL, "ptys without a devpts instance of the container's own");
	if (mnt_same_fs(devpts, m->mountpoint))
		return 0;	/* the ptys were made in the one the holder made */
	if (umount2(m->mountpoint, MNT_DETACH) < 0)
		return ct_err(-errno, "%s: cannot take the new devpts instance off: %m", m->mountpoint);
	if (syscall(SYS_move_mount, devpts, "", AT_FDCWD, m->mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return ct_err(-errno, "%s: cannot attach the restored devpts instance: %m", m->mountpoint);
	return mnt_mount(NULL, m->mountpoint, NULL, MS_BIND | MS_REMOUNT | m->flags, NULL);
}

int mnt_enter(const struct mnt_plan *p, int mnt_fd, int devpts)
{
	int *mnts = xmalloc(sizeof(int) * (p->img->nr_mounts + 1)), ret;

	if (!mnts)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->img->nr_mounts; i++)
		mnts[i] = -1;
	/*
	 * Made here, in the tree we leave (the external ones are copies of the
	 * host's), but the binds of what the holder made: in the tree, after.
	 */
	ret = mnt_create_pass(p, true, false, mnts);
	if (ret >= 0 && setns(mnt_fd, CLONE_NEWNS) < 0)
		ret = ct_err(-errno, "cannot join the container's mount namespace: %m");
	if (ret > 0)
		ret = mnt_create_pass(p, true, true, mnts);
	if (ret >= 0)
		ret = mnt_created_all(p, true, mnts);
	if (!ret && chdir("/") < 0)
		ret = ct_err(-errno, "chdir /: %m");
	if (!ret && umount2("/proc", MNT_DETACH) < 0)	/* the holder's (mnt_scaffold_proc) */
		ret = ct_err(-errno, "/proc: cannot take the restorer's proc off: %m");
	if (!ret)
		ret = mnt_attach_pass(p, true, mnts) ?: devpts >= 0 ? mnt_swap_devpts(p, devpts) : 0;
	for (uint32_t i = 0; i < p->img->nr_mounts; i++)
		if (mnts[i] >= 0)
			close(mnts[i]);
	free(mnts);
	return ret;
}
