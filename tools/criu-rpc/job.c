// SPDX-License-Identifier: MIT
/*
 * What DUMP and RESTORE share: the caller's images and work dirs (fd
 * numbers in the caller's table), the log file the caller names, the store
 * inside the images dir, and the files podman and runc look for there.
 *
 * The images dir holds ctswap's own store, IMAGES/ctswap/, with one
 * container, IMAGES/ctswap/ct/ (swap area, blob, state), so that
 * `ctswap --store IMAGES/ctswap ps ct` and `inspect` work on it; beside it
 * inventory.img (podman only checks that it exists) and whatever the
 * runtime put there (runc's descriptors.json, kept as it is).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crpc.h"
#include "ctswap.h"

/* CRIU's log levels (0 none .. 4 debug) onto the engine's (0 errors .. 3 debug). */
static int engine_log_level(const Crpc__Options *o)
{
	int level = o->has_log_level ? o->log_level : 2;

	return level <= 1 ? 0 : level - 1 > 3 ? 3 : level - 1;
}

/* The real path of directory fd @fd, so that forked helpers need no fd of ours. */
int crpc_dir_path(struct crpc_conn *c, const char *what, int fd, char *buf, size_t size)
{
	char link[64];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, buf, size - 1);
	if (len < 0 || (size_t)len >= size - 1 || buf[0] != '/')
		return crpc_fail(c, ENOTDIR, "%s: cannot find its path", what);
	buf[len] = '\0';
	return 0;
}

/* Write what was asked into the log: the runtime's side of a failure is visible there. */
static void log_request(int fd, const Crpc__Request *req)
{
	const Crpc__Options *o = req->opts;

	dprintf(fd, "ctswap criu-compat: %s pid %d root %s leave_running %d lazy_pages %d rst_sibling %d freeze_cgroup %s parent_img %s track_mem %d\n",
		crpc_type_name(req->type), o->has_pid ? o->pid : 0, o->root ? o->root : "-",
		(int)o->leave_running, (int)o->lazy_pages, (int)o->rst_sibling,
		o->freeze_cgroup ? o->freeze_cgroup : "-", o->parent_img ? o->parent_img : "-",
		(int)o->track_mem);
	for (size_t i = 0; i < o->n_ext_mnt; i++)
		dprintf(fd, "  ext_mnt %s = %s\n", o->ext_mnt[i]->key, o->ext_mnt[i]->val);
	for (size_t i = 0; i < o->n_external; i++)
		dprintf(fd, "  external %s\n", o->external[i]);
	for (size_t i = 0; i < o->n_inherit_fd; i++)
		dprintf(fd, "  inherit_fd %s = %d\n", o->inherit_fd[i]->key, o->inherit_fd[i]->fd);
	for (size_t i = 0; i < o->n_cg_root; i++)
		dprintf(fd, "  cg_root %s = %s\n", o->cg_root[i]->ctrl ? o->cg_root[i]->ctrl : "",
			o->cg_root[i]->path);
}

/* Open the log file @name in the work dir and send the engine's log there. */
static int open_log(struct crpc_conn *c, struct crpc_job *job, const Crpc__Request *req)
{
	const Crpc__Options *o = req->opts;

	if (!o->log_file || !o->log_file[0])
		return 0;
	if (strchr(o->log_file, '/') || !strcmp(o->log_file, "..") || !strcmp(o->log_file, "."))
		return crpc_fail(c, EINVAL, "log_file %s: want a plain name in the work dir", o->log_file);
	job->log_fd = openat(job->work_fd, o->log_file,
			     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (job->log_fd < 0)
		return crpc_fail(c, errno, "log_file %s: cannot open: %s", o->log_file, strerror(errno));
	log_request(job->log_fd, req);
	ctswap_set_log_fd(job->log_fd);
	/* runc shows only "criu failed: type X errno N" and points at this log */
	if (c->log_fd < 0)
		c->log_fd = fcntl(job->log_fd, F_DUPFD_CLOEXEC, 0);
	ctswap_set_log_level(engine_log_level(o));
	return 0;
}

/* A config file with options in it would change what is done: refuse it. */
static int check_config_file(struct crpc_conn *c, const char *path)
{
	char line[512];
	FILE *f;
	int ret = 0;

	if (!path || !(f = fopen(path, "re")))
		return 0;
	while (!ret && fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t\r\n");

		if (*p && *p != '#')
			ret = crpc_fail(c, EOPNOTSUPP, "config_file %s: its options are not read by ctswap",
					path);
	}
	fclose(f);
	return ret;
}

/*
 * ext_mnt: at dump key = value = the mount point inside the container (runc
 * and podman name every bind they made that way), at restore key = that id,
 * value = the host path to bind now.  Both map onto the engine's external
 * mounts; the array points into @o.
 */
int crpc_ext_mounts(struct crpc_conn *c, const Crpc__Options *o, struct ctswap_ext_mount **out)
{
	struct ctswap_ext_mount *m;

	*out = NULL;
	if (!o->n_ext_mnt)
		return 0;
	m = calloc(o->n_ext_mnt, sizeof(*m));
	if (!m)
		return crpc_fail(c, ENOMEM, "ext_mnt: out of memory");
	for (size_t i = 0; i < o->n_ext_mnt; i++) {
		m[i].id = o->ext_mnt[i]->key;
		m[i].path = o->ext_mnt[i]->val;
	}
	*out = m;
	return 0;
}

/* Open what the request names; on failure the reason is in @c. */
int crpc_job_open(struct crpc_conn *c, const Crpc__Request *req, struct crpc_job *job)
{
	const Crpc__Options *o = req->opts;
	char store_dir[PATH_MAX + 16];
	int ret;

	memset(job, 0, sizeof(*job));
	job->images_fd = job->work_fd = job->log_fd = -1;
	ret = crpc_check_options(c, req->type, o) ?: check_config_file(c, o->config_file);
	if (ret)
		return ret;
	job->images_fd = crpc_open_caller_fd(c, "images_dir_fd", o->images_dir_fd,
					     O_RDONLY | O_DIRECTORY);
	if (job->images_fd < 0)
		return job->images_fd;
	job->work_fd = o->has_work_dir_fd ?
		crpc_open_caller_fd(c, "work_dir_fd", o->work_dir_fd, O_RDONLY | O_DIRECTORY) :
		dup(job->images_fd);
	if (job->work_fd < 0)
		return job->work_fd;
	ret = crpc_dir_path(c, "images_dir_fd", job->images_fd, job->images_dir, sizeof(job->images_dir));
	if (ret)
		return ret;
	ret = open_log(c, job, req);
	if (ret)
		return ret;
	snprintf(store_dir, sizeof(store_dir), "%s/ctswap", job->images_dir);
	ret = ctswap_store_open(store_dir, &job->store);
	if (ret)
		return crpc_fail(c, -ret, "%s", ctswap_last_error() ?: "cannot open the store");
	return 0;
}

/* Close what crpc_job_open() opened. */
void crpc_job_close(struct crpc_job *job)
{
	ctswap_store_close(job->store);
	if (job->log_fd >= 0) {
		ctswap_set_log_fd(-1);
		close(job->log_fd);
	}
	if (job->work_fd >= 0)
		close(job->work_fd);
	if (job->images_fd >= 0)
		close(job->images_fd);
}

/* Record the engine's last error as the request's reason (prefixed by @what). */
int crpc_engine_fail(struct crpc_conn *c, int err, const char *what)
{
	const char *why = ctswap_last_error();

	return crpc_fail(c, -err, "%s: %s", what, why ? why : strerror(-err));
}

/* Write @len bytes to @name in @dirfd, aside then renamed, fsynced. */
static int write_aside(int dirfd, const char *name, const void *buf, size_t len)
{
	char tmp[NAME_MAX + 1];
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) < 0)
		ret = -(errno ? errno : EIO);
	close(fd);
	if (!ret && renameat(dirfd, tmp, dirfd, name) < 0)
		ret = -errno;
	if (ret)
		unlinkat(dirfd, tmp, 0);
	else
		fsync(dirfd);
	return ret;
}

/* CRIU's service-file head: the "service" magic, then the stats magic. */
#define STATS_SERVICE_MAGIC 0x55105940u
#define STATS_MAGIC 0x57093306u

/* Write @st as the work dir's @name (stats-dump, stats-restore). */
int crpc_write_stats(struct crpc_conn *c, struct crpc_job *job, const char *name,
		     const Crpc__Stats *st)
{
	size_t len = crpc__stats__get_packed_size(st);
	uint32_t head[3] = { STATS_SERVICE_MAGIC, STATS_MAGIC, (uint32_t)len };
	uint8_t *buf = malloc(sizeof(head) + len);
	int ret;

	if (!buf)
		return crpc_fail(c, ENOMEM, "%s: out of memory", name);
	memcpy(buf, head, sizeof(head));
	crpc__stats__pack(st, buf + sizeof(head));
	ret = write_aside(job->work_fd, name, buf, sizeof(head) + len);
	free(buf);
	if (ret)
		return crpc_fail(c, -ret, "%s: cannot write: %s", name, strerror(-ret));
	return 0;
}

/*
 * inventory.img: podman refuses to restore without it and reads nothing in
 * it.  Ours says what the images are, so that no CRIU mistakes them for its
 * own (it checks the magic and refuses).
 */
int crpc_write_inventory(struct crpc_conn *c, struct crpc_job *job)
{
	static const char text[] =
		"ctswap checkpoint images: the swap area and metadata are in ctswap/ct/\n"
		"(ctswap --store IMAGES/ctswap inspect ct); written by ctswap's criu front end.\n";
	int ret = write_aside(job->images_fd, "inventory.img", text, sizeof(text) - 1);

	if (ret)
		return crpc_fail(c, -ret, "inventory.img: cannot write: %s", strerror(-ret));
	return 0;
}
