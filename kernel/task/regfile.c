// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/*
 * Files opened by path: regular files, directories and the few character
 * devices that are the same wherever they are opened (/dev/null, ...).
 *
 * Dump records the path and the inode's identity; restore opens the path
 * again and refuses a file that changed since in a way the program could
 * not live with (changed.c; unless allowed), then sets the position.  A
 * deleted file or directory is marked here; deleted.c stores it and brings
 * it back unlinked.
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
#define FILE_OPEN_ONLY_FLAGS (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC | FILE_TMPFILE_BIT)
/* The kernel's __O_TMPFILE; O_TMPFILE is this bit and O_DIRECTORY. */
#define FILE_TMPFILE_BIT 020000000

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

static bool reg_match(const struct fd_dump *d)
{
	return link_is_path(d->link) && (S_ISREG(d->st->st_mode) || S_ISDIR(d->st->st_mode));
}

/* A regular file or directory: its path, and the contents of a deleted one. */
static int reg_dump(const struct fd_dump *d, struct ct_file *f)
{
	size_t len = strlen(d->link);
	int ret;

	f->path = xstrdup(d->link);
	if (!f->path)
		return -ENOMEM;
	if (d->st->st_nlink > 0 && len > 10 && !strcmp(d->link + len - 10, " (deleted)")) {
		ret = deleted_find_name(d, f);	/* linked since, under another name */
		if (ret)
			return ret;
	}
	if (d->st->st_nlink != 0)
		return S_ISREG(d->st->st_mode) ? file_change_dump(d, f) : 0;
	/* contents, owner and mode: dump_deleted(), once every fd is known */
	f->deleted = true;
	if (len > 10 && !strcmp(d->link + len - 10, " (deleted)"))
		f->path[len - 10] = '\0';
	if (f->flags & O_PATH)
		return fd_refuse(d);
	return 0;
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

	if (f->change.flags) {
		at = w_begin(w, REC_FILE_CHANGE);
		w_file_change(w, &f->change);
		w_end(w, at);
	}
	if (!f->deleted)
		return;
	at = w_begin(w, REC_FILE_REG);
	w_u32(w, f->deleted);
	w_bytes(w, f->contents, f->contents_len);
	w_end(w, at);
}

static void reg_decode(uint32_t tag, struct rbuf *r, struct ct_file *f)
{
	if (tag == REC_FILE_CHANGE && !f->change.flags) {
		r_file_change(r, &f->change);
	}
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

/* A path, and what the dump recorded to tell whether it only grew is well-formed. */
static bool reg_is_sane(const struct ct_image *img, const struct ct_file *f)
{
	return ct_file_change_is_sane(&f->change) && file_has_path(img, f);
}

static void reg_free(struct ct_file *f)
{
	free(f->contents);
}

/* ---- restore ---- */

/* Flags to open a description with again. */
static int file_open_flags(const struct ct_file *f)
{
	int flags = (int)(f->flags & ~FILE_OPEN_ONLY_FLAGS);

	/* an O_TMPFILE file linked since: a plain file */
	if (f->flags & FILE_TMPFILE_BIT)
		flags &= ~O_DIRECTORY;
	return flags | O_CLOEXEC;
}

/* Open a regular file or directory by path and place its position. */
static int reg_open(struct fd_restore *rs, uint32_t i)
{
	const struct ct_file *f = &rs->img->files[i];
	int fd, ret;

	if (f->deleted) {
		fd = deleted_open(rs->img, i, rs->ft);	/* one inode for its descriptions */
		if (fd < 0)
			return fd;
	} else {
		fd = file_open_path(rs, f, file_open_flags(f));
		if (fd < 0 && errno == ENOENT)	/* it was there at the dump */
			return ct_err(-ENOENT, "%s: removed or renamed since the dump", f->path);
		if (fd < 0)
			return ct_err(-errno, "%s: cannot open: %m", f->path);
		ret = file_check_restore(rs, i, fd);
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
	int fd = file_open_path(rs, f, file_open_flags(f));

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
		.is_sane = reg_is_sane,
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
