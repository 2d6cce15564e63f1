// SPDX-License-Identifier: MIT
/* The store: a directory holding one sub-directory per container. */
#define LOG_PREFIX "store: "
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctswap.h"
#include "container/lock.h"
#include "container/store.h"
#include "lib/log.h"
#include "lib/util.h"

/* True if @name is [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
bool store_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (len == 0 || len > CTSWAP_NAME_MAX)
		return false;
	if (!isalnum_ascii(name[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum_ascii(name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

/* Open the store directory, creating it 0700 when it does not exist. */
int store_open(const char *dir, struct ctswap_store **out)
{
	struct ctswap_store *store;
	struct stat st;
	int ret;

	ct_err_clear();
	if (!dir || !*dir)
		dir = CTSWAP_DEFAULT_STORE;
	ret = mkdir_p(dir, 0700);
	if (ret)
		return ct_err(ret, "%s: cannot create store: %s", dir, strerror(-ret));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ct_err(-ENOTDIR, "%s: store is not a directory", dir);
	if (access(dir, W_OK) < 0)
		return ct_err(-errno, "%s: store not writable: %m", dir);
	store = xzalloc(sizeof(*store));
	if (!store)
		return -ENOMEM;
	store->path = xstrdup(dir);
	if (!store->path) {
		free(store);
		return -ENOMEM;
	}
	*out = store;
	return 0;
}

/* Release a store handle. */
void store_close(struct ctswap_store *store)
{
	if (!store)
		return;
	free(store->path);
	free(store);
}

/* The store's directory. */
const char *store_root(const struct ctswap_store *store)
{
	return store->path;
}

/* Build STORE/NAME[/FILE] into @buf. */
int store_path(const struct ctswap_store *store, const char *name, const char *file,
	       char *buf, size_t size)
{
	int n;

	if (file)
		n = snprintf(buf, size, "%s/%s/%s", store->path, name, file);
	else
		n = snprintf(buf, size, "%s/%s", store->path, name);
	return n >= (int)size ? -ENAMETOOLONG : 0;
}

/*
 * Remove @dir if it is no container, only what a lazy server left when the
 * directory was removed under it (a runtime deletes a checkpoint dir after
 * the restore while the server still writes there: its progress file keeps
 * the directory from going, and at its end it writes the working set):
 * no state file, nothing but lazy.* and wset* files.  0 if @dir is gone now.
 */
static int store_clear_debris(const char *dir)
{
	char path[4096 + 264];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/state", dir);
	if (!access(path, F_OK))
		return -EEXIST;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "lazy.", 5) && strncmp(de->d_name, "wset", 4))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir) < 0 ? -errno : 0;
}

/*
 * Move STORE-FROM/NAME to STORE/NAME: one rename, under NAME's lock in
 * @from so that no dump or restore is half-way through it.  Meant for the
 * containers a runtime attached (ctswap_attach()), whose files name no
 * store; the state of one started by `ctswap run` names its console log by
 * path, which would still lead into @from.
 */
int store_take(struct ctswap_store *store, const char *name, struct ctswap_store *from)
{
	char src[4096], dst[4096];
	struct stat st;
	int lock = -1, ret;

	ct_err_clear();
	if (!store_name_valid(name))
		return ct_err(-EINVAL, "%s: not a valid container name", name ? name : "(null)");
	if (store_path(from, name, NULL, src, sizeof(src)) ||
	    store_path(store, name, NULL, dst, sizeof(dst)))
		return ct_err(-ENAMETOOLONG, "%s: store path too long", name);
	if (lstat(dst, &st) == 0 && store_clear_debris(dst))
		return ct_err(-EEXIST, "%s: already exists", dst);
	ret = ct_lock(from->path, name, "take", &lock);
	if (ret)
		return ret;
	if (rename(src, dst) < 0)
		ret = ct_err(-errno, "%s: cannot move to %s: %m", src, dst);
	else
		ret = fsync_parent_dir(dst) ?: fsync_parent_dir(src);
	ct_unlock(lock);
	return ret;
}

/* The highest GEN among DIR/ckpt-GEN.meta, 0 if none. */
unsigned int store_newest_ckpt(const char *dir)
{
	unsigned int best = 0, gen;
	struct dirent *de;
	char tail[8];
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "ckpt-%u%7s", &gen, tail) == 2 && !strcmp(tail, ".meta") &&
		    gen > best)
			best = gen;
	closedir(d);
	return best;
}
