// SPDX-License-Identifier: MIT
/*
 * Checkpoint a container (mechanism: dump/).
 * The public entry points of include/ctswap.h (documented there) only hand
 * over to the engine.
 */
#include "ctswap.h"
#include "dump/dump.h"

int ctswap_dump(struct ctswap_store *store, const char *name, const struct ctswap_dump_opts *opts,
		struct ctswap_dump_stats *stats)
{
	return dump_container(store, name, opts, stats);
}
