// SPDX-License-Identifier: MIT
/*
 * Describe a container's swap area (mechanism: mm/swaparea_stat.c).
 * The public entry points of include/ctswap.h (documented there) only hand
 * over to the engine.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ctswap.h"
#include "container/store.h"
#include "lib/log.h"
#include "mm/swaparea.h"

void ctswap_swap_info_free(struct ctswap_swap_info *info)
{
	swp_info_free(info);
}

/* Open STORE/NAME/swap read-only and describe it. */
int ctswap_inspect(struct ctswap_store *store, const char *name, bool verify,
		   struct ctswap_swap_info *info)
{
	struct swp_area *sa;
	char path[PATH_MAX];
	int ret;

	ct_err_clear();
	memset(info, 0, sizeof(*info));
	if (!ctswap_name_valid(name))
		return ct_err(-EINVAL, "%s: invalid container name", name ? name : "(null)");
	ret = store_path(store, name, "swap", path, sizeof(path));
	if (ret)
		return ct_err(ret, "%s: %s", name, strerror(-ret));
	ret = swp_open(path, NULL, 0, &sa);
	if (ret)
		return ret;
	ret = swp_stat(sa, verify, info);
	swp_close(sa);
	return ret;
}
