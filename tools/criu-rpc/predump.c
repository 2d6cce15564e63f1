// SPDX-License-Identifier: MIT
/*
 * PRE_DUMP and the parent images of a DUMP: ctswap's pre-copy under CRIU's
 * names.
 *
 * A runtime's pre-checkpoint (runc checkpoint --pre-dump, podman container
 * checkpoint -P) takes the memory now and leaves the tree running, so that
 * the checkpoint that follows has less to write while the tree is stopped.
 * ctswap's pre-copy is that: a snapshot generation of the swap area that is
 * no checkpoint (a restore never picks it); the next dump into the same swap
 * area compares each page with it and writes only the pages that changed.
 * CRIU tracks written pages with soft-dirty bits, which this kernel does not
 * have; the comparison finds the same pages, so FEATURE_CHECK answers
 * mem_track true.  PRE_DUMP itself is served by crpc_dump() (dump.c).
 *
 * The runtime gives the pre-dump and the dump images dirs of their own and
 * names the first as parent_img of the second (a path relative to the
 * second; pre-dumps may chain the same way).  The later one takes the swap
 * area over: the parent's store is moved (one rename) into its images dir
 * before anything is frozen, so every images dir is whole by itself and a
 * checkpoint dir can be exported, imported and restored without its parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crpc.h"
#include "ctswap.h"

#define CT_STATE "ctswap/" CRPC_CT_NAME "/state"

/* Move the parent's store into @job's when @job has none yet; see above. */
int crpc_take_parent(struct crpc_conn *c, const Crpc__Request *req, struct crpc_job *job)
{
	const char *parent = req->opts->parent_img, *type = crpc_type_name(req->type);
	char dir[PATH_MAX], store_dir[PATH_MAX + 16];
	struct ctswap_store *from = NULL;
	int fd, ret;

	if (!parent || !parent[0])
		return 0;
	/* a dump repeated into this dir continues the swap area it took already */
	if (!faccessat(job->images_fd, CT_STATE, F_OK, 0))
		return 0;
	fd = openat(job->images_fd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return crpc_fail(c, errno, "%s: parent_img %s: cannot open: %s", type, parent,
				 strerror(errno));
	if (faccessat(fd, CT_STATE, F_OK, 0))
		ret = crpc_fail(c, ENOENT, "%s: parent_img %s holds no ctswap pre-dump", type, parent);
	else
		ret = crpc_dir_path(c, "parent_img", fd, dir, sizeof(dir));
	close(fd);
	if (ret)
		return ret;
	snprintf(store_dir, sizeof(store_dir), "%s/ctswap", dir);
	ret = ctswap_store_open(store_dir, &from);
	if (!ret)
		ret = ctswap_store_take(job->store, CRPC_CT_NAME, from);
	ctswap_store_close(from);
	if (ret)
		return crpc_engine_fail(c, ret, type);
	return 0;
}
