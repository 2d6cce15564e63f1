// SPDX-License-Identifier: MIT
/* Per-container lock on STORE/NAME/lock (see lock.h). */
#define LOG_PREFIX "lock: "
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/lock.h"
#include "lib/log.h"
#include "lib/util.h"

/* Explain who holds the lock open on @fd. */
static int ct_lock_busy(int fd, const char *name)
{
	char holder[128] = "";
	char what[64];
	ssize_t n;
	int pid;

	n = pread(fd, holder, sizeof(holder) - 1, 0);
	if (n > 0)
		holder[n] = '\0';
	if (sscanf(holder, "pid %d %63s", &pid, what) == 2)
		return ct_err(-EBUSY, "%s: busy: pid %d is running %s", name, pid, what);
	return ct_err(-EBUSY, "%s: busy: another ctswap command holds its lock", name);
}

/*
 * The text a previous holder left in the lock file we now hold: a holder
 * that finished emptied it, so any text means it died.  Repair after it.
 */
static bool ct_lock_check_stale(int fd, const char *store_dir, const char *name)
{
	char holder[256];
	ssize_t n;

	n = pread(fd, holder, sizeof(holder) - 1, 0);
	if (n <= 0)
		return false;
	holder[n] = '\0';
	ct_recover(store_dir, name, holder);
	return true;
}

/* Take the container's lock without waiting. */
int ct_lock(const char *store_dir, const char *name, const char *what, int *lock_fd)
{
	char path[4096], holder[128];
	struct stat st;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", store_dir, name);
	if (stat(path, &st) < 0)
		return ct_err(-ENOENT, "%s: no such container", name);
	snprintf(path, sizeof(path), "%s/%s/lock", store_dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return ct_err(-errno, "%s: cannot open: %m", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? ct_lock_busy(fd, name) :
					     ct_err(-errno, "%s: cannot lock: %m", path);
		close(fd);
		return ret;
	}
	/* rm may have removed the container while we waited to open */
	if (fstat(fd, &st) < 0 || st.st_nlink == 0) {
		close(fd);
		return ct_err(-ENOENT, "%s: no such container", name);
	}
	ct_lock_check_stale(fd, store_dir, name);
	snprintf(holder, sizeof(holder), "pid %d %s\n", getpid(), what);
	if (ftruncate(fd, 0) < 0 || pwrite_all(fd, holder, strlen(holder), 0))
		pr_warn("%s: cannot record the holder", path);
	*lock_fd = fd;
	return 0;
}

/* Release the lock. */
void ct_unlock(int lock_fd)
{
	if (lock_fd < 0)
		return;
	if (ftruncate(lock_fd, 0) < 0)
		pr_debug("cannot clear the lock holder");
	close(lock_fd);
}

/* Note the holder's current phase on the lock file's second line. */
void ct_lock_phase(int lock_fd, const char *phase, long arg)
{
	char text[256];
	ssize_t n;
	char *nl;

	if (lock_fd < 0)
		return;
	n = pread(lock_fd, text, sizeof(text) - 64, 0);
	if (n <= 0)
		return;
	text[n] = '\0';
	nl = strchr(text, '\n');
	if (!nl)
		return;
	nl++;
	if (phase)
		nl += sprintf(nl, "phase %s %ld\n", phase, arg);
	*nl = '\0';
	if (pwrite_all(lock_fd, text, strlen(text), 0) || ftruncate(lock_fd, (off_t)strlen(text)) < 0)
		pr_warn("cannot record the lock holder's phase");
}

/* Repair after a dead holder if the lock is free; never records an error. */
bool ct_lock_recover_stale(const char *store_dir, const char *name)
{
	char path[4096];
	bool stale;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s/lock", store_dir, name) >= (int)sizeof(path))
		return false;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return false;	/* held: its holder is alive */
	}
	stale = ct_lock_check_stale(fd, store_dir, name);
	if (stale && ftruncate(fd, 0) < 0)
		pr_warn("%s: cannot clear the lock holder", path);
	close(fd);
	return stale;
}
