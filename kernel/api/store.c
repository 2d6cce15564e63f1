// SPDX-License-Identifier: MIT
/*
 * The store: where containers live (mechanism: container/store.c).
 * The public entry points of include/ctswap.h (documented there) only hand
 * over to the engine.
 */
#include "ctswap.h"
#include "container/store.h"

bool ctswap_name_valid(const char *name)
{
	return store_name_valid(name);
}

int ctswap_store_open(const char *dir, struct ctswap_store **out)
{
	return store_open(dir, out);
}

void ctswap_store_close(struct ctswap_store *store)
{
	store_close(store);
}

const char *ctswap_store_path(const struct ctswap_store *store)
{
	return store_root(store);
}

int ctswap_store_take(struct ctswap_store *store, const char *name, struct ctswap_store *from)
{
	return store_take(store, name, from);
}
