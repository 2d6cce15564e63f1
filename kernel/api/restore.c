// SPDX-License-Identifier: MIT
/*
 * Restore a container (mechanism: restore/).
 * The public entry points of include/ctswap.h (documented there) only hand
 * over to the engine.
 */
#include "ctswap.h"
#include "restore/rst.h"

int ctswap_restore(struct ctswap_store *store, const char *name,
		   const struct ctswap_restore_opts *opts, struct ctswap_restore_stats *stats)
{
	return restore_container(store, name, opts, stats);
}
