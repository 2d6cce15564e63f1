// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Files opened by path: regular files, directories and the few character
 * devices that are the same wherever they are opened (/dev/null, ...).
 *
 * Dump records the path and the inode's identity; restore opens the path
 * again and refuses a file that changed since (unless allowed), then sets
 * the position.  A deleted regular file has its contents stored and comes
 * back as an unlinked file holding them.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "task/fdkinds.h"

/* Flags that belong to the fd or to opening, not to the description. */
#define FILE_OPEN_ONLY_FLAGS (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)
/* Deleted files larger than this are stored, but with a warning. */
#define FILE_DELETED_WARN (64ULL << 20)

/* Character devices restored by opening their path again. */
static const char *const file_chr_allowed[] = {
	"/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full",
};

/* Is @path one of the character devices we reopen by path? */
bool chr_is_allowed(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_chr_allowed); i++)
		if (!strcmp(path, file_chr_allowed[i]))
			return true;
	return false;
}

/* Is the link a path of a file system (not a memfd, not an anonymous inode)? */
static bool link_is_path(const char *link)
{
	return link[0] == '/' && strncmp(link, "/memfd:", 7) != 0;
}

/* ---- dump ---- */

/* Store the contents of a deleted regular file. */
static int file_read_deleted(pid_t pid, int fd, struct ct_file *f, uint64_t size)
{
	int rfd, ret;

	if (size > FILE_DELETED_WARN)
		pr_warn("pid %d: fd %d: storing %llu bytes of deleted file %s", pid, fd,
			(unsigned long long)size, f->path);
	rfd = fd_reopen(pid, fd, O_RDONLY);
	if (rfd < 0)
		return ct_err(-errno, "pid %d: fd %d: cannot read deleted file %s: %m", pid, fd, f->path);
	f->contents = xmalloc(size ? size : 1);
	if (!f->contents) {
		close(rfd);
		return -ENOMEM;
	}
	ret = pread_all(rfd, f->contents, size, 0);
	close(rfd);
	if (ret)
		return ct_err(ret, "pid %d: fd %d: cannot read deleted file %s", pid, fd, f->path);
	f->contents_len = size;
	return 0;
}

static bool reg_match(const struct fd_dump *d)
{
	return link_is_path(d->link) && (S_ISREG(d->st->st_mode) || S_ISDIR(d->st->st_mode));
}

/* A regular file or directory: its path, and the contents of a deleted one. */
static int reg_dump(const struct fd_dump *d, struct ct_file *f)
{
	size_t len = strlen(d->link);

	f->path = xstrdup(d->link);
	if (!f->path)
		return -ENOMEM;
	if (d->st->st_nlink != 0 || !S_ISREG(d->st->st_mode))
		return 0;
	f->deleted = true;
	if (len > 10 && !strcmp(d->link + len - 10, " (deleted)"))
		f->path[len - 10] = '\0';
	if (f->flags & O_PATH)
		return fd_refuse(d);
	return file_read_deleted(d->pid, d->fd, f, d->st->st_size);
}

static bool chr_match(const struct fd_dump *d)
{
	return S_ISCHR(d->st->st_mode) && link_is_path(d->link) && chr_is_allowed(d->link);
}

static int chr_dump(const struct fd_dump *d, struct ct_file *f)
{
	f->path = xstrdup(d->link);
	return f->path ? 0 : -ENOMEM;
}

/* ---- blob ---- */

static void reg_encode(struct wbuf *w, const struct ct_file *f)
{
	size_t at;

	if (!f->deleted)
		return;
	at = w_begin(w, REC_FILE_REG);
	w_u32(w, f->deleted);
	w_bytes(w, f->contents, f->contents_len);
	w_end(w, at);
}

static void reg_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag != REC_FILE_REG || f->contents)
		return;
	f->deleted = r_u32(r) != 0;
	f->contents = r_bytes(r, &f->contents_len, BLOB_MAX_RAW);
}

/* Opened by path: it has one (the validator checks every path's form). */
bool file_has_path(const struct ct_image *img, const struct ct_file *f)
{
	(void)img;
	return f->path != NULL;
}

static void reg_free(struct ct_file *f)
{
	free(f->contents);
}

/* ---- restore ---- */

/* Flags to open a description with again. */
static int file_open_flags(const struct ct_file *f)
{
	return (int)(f->flags & ~FILE_OPEN_ONLY_FLAGS) | O_CLOEXEC;
}

/* Recreate a deleted file as an unlinked file holding its contents, opened like the original. */
static int file_open_deleted(const struct ct_file *f)
{
	char dir[PATH_MAX], self[64], *slash;
	int tmp, fd, ret;

	snprintf(dir, sizeof(dir), "%s", f->path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), "/");
	tmp = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tmp < 0)
		tmp = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tmp < 0) {
		char *name = xasprintf("%s.ctswap-XXXXXX", f->path);

		if (!name)
			return -ENOMEM;
		tmp = mkostemp(name, O_CLOEXEC);
		if (tmp >= 0)
			unlink(name);
		free(name);
		if (tmp < 0)
			return ct_err(-errno, "%s: cannot recreate the deleted file: %m", f->path);
	}
	ret = pwrite_all(tmp, f->contents, f->contents_len, 0);
	if (ret) {
		close(tmp);
		return ct_err(ret, "%s: cannot write the deleted file's contents", f->path);
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", tmp);
	fd = open(self, file_open_flags(f));
	ret = -errno;
	close(tmp);
	if (fd < 0)
		return ct_err(ret, "%s: cannot reopen the recreated deleted file: %m", f->path);
	return fd;
}

/* Open a regular file or directory by path and place its position. */
static int reg_open(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	int fd, ret;

	if (f->deleted) {
		fd = file_open_deleted(f);
		if (fd < 0)
			return fd;
	} else {
		fd = open(f->path, file_open_flags(f));
		if (fd < 0)
			return ct_err(-errno, "%s: cannot open: %m", f->path);
		ret = file_check_id(f, fd, rs->allow_changed);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	if (!(f->flags & O_PATH) && f->pos && lseek(fd, (off_t)f->pos, SEEK_SET) < 0)
		pr_warn("%s: cannot set position %llu: %m", f->path, (unsigned long long)f->pos);
	rs->ft->fds[i] = file_place_high(fd, rs->base, rs->ft);
	return rs->ft->fds[i] < 0 ? rs->ft->fds[i] : 0;
}

/* A character device: open its path again. */
static int chr_open(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	int fd = open(f->path, file_open_flags(f));

	if (fd < 0)
		return ct_err(-errno, "%s: cannot open: %m", f->path);
	rs->ft->fds[i] = file_place_high(fd, rs->base, rs->ft);
	return rs->ft->fds[i] < 0 ? rs->ft->fds[i] : 0;
}

const struct fd_kind fd_kind_reg = {
	.kind = CT_FILE_REG,
	.fmt = {
		.name = "file",
		.encode = reg_encode,
		.decode = reg_decode,
		.is_sane = file_has_path,
		.free = reg_free,
	},
	.match = reg_match,
	.dump = reg_dump,
	.open = reg_open,
};

const struct fd_kind fd_kind_chr = {
	.kind = CT_FILE_CHR,
	.fmt = {
		.name = "character device",
		.is_sane = file_has_path,
	},
	.match = chr_match,
	.dump = chr_dump,
	.open = chr_open,
};
