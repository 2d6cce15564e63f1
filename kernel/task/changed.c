// SPDX-License-Identifier: MIT
/*
 * Files that changed between the dump and the restore: which changes a
 * restore accepts for a description opened again by path.
 *
 * A file is restored by opening its path again, so the path must still
 * lead to the same inode: a file replaced (renamed over, rotated away and
 * created anew) would give the program another file, and is refused.  The
 * same inode may have changed, as it could have while the program ran:
 *
 *  - open for writing or appending (a log, a database): any change is
 *    accepted as long as the file still reaches the position the
 *    description had, where the restored description is put back (O_APPEND
 *    writes go to the end anyway).  A file truncated below that position is
 *    refused: the program's next write would leave a hole of zeros.
 *  - open read-only: a file that only grew is accepted (a log being read);
 *    one that shrank, or was rewritten at the same size, is refused: the
 *    program may hold what it read of the old contents.
 *
 * Mapped files and executables are checked strictly elsewhere (restore/mm.c):
 * any change refuses them, since their pages would mix old and new contents.
 * --allow-changed-files (allow_changed) accepts every change.
 */
#define LOG_PREFIX "files: "
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "task/fdkinds.h"

/* May description @f, open again at @fd, be restored although its file changed? */
int file_check_id(const struct ct_file *f, int fd, bool allow_changed)
{
	bool writable = (f->flags & O_ACCMODE) != O_RDONLY;
	uint64_t size;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return ct_err(-errno, "%s: cannot stat: %m", f->path);
	if (allow_changed)
		return 0;
	if ((uint64_t)st.st_dev != f->id.dev || (uint64_t)st.st_ino != f->id.ino)
		return ct_err(-ESTALE, "%s: replaced since the dump (inode %llu -> %llu); use --allow-changed-files",
			      f->path, (unsigned long long)f->id.ino, (unsigned long long)st.st_ino);
	if (!S_ISREG(st.st_mode))
		return 0;	/* directories change with their entries: inode is enough */
	size = (uint64_t)st.st_size;
	if (writable && size < f->pos)
		return ct_err(-ESTALE, "%s: truncated since the dump to %llu bytes, below the position %llu it is restored at; use --allow-changed-files",
			      f->path, (unsigned long long)size, (unsigned long long)f->pos);
	if (writable || size > f->id.size)
		return 0;
	if (size < f->id.size)
		return ct_err(-ESTALE, "%s: shrank since the dump (size %llu -> %llu); use --allow-changed-files",
			      f->path, (unsigned long long)f->id.size, (unsigned long long)size);
	if (st.st_mtim.tv_sec != f->id.mtime_sec || st.st_mtim.tv_nsec != f->id.mtime_nsec)
		return ct_err(-ESTALE, "%s: modified since the dump; use --allow-changed-files", f->path);
	return 0;
}
