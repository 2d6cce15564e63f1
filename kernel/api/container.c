// SPDX-License-Identifier: MIT
/*
 * The container life cycle and its state (mechanisms: container/container.c, info.c).
 * The public entry points of include/ctswap.h (documented there) only hand
 * over to the engine.
 */
#include "ctswap.h"
#include "container/container.h"

int ctswap_run(struct ctswap_store *store, const char *name, const struct ctswap_run_opts *opts,
	       pid_t *init_pid)
{
	return ct_run(store, name, opts, init_pid);
}

int ctswap_freeze(struct ctswap_store *store, const char *name, int timeout_ms)
{
	return ct_freeze(store, name, timeout_ms);
}

int ctswap_thaw(struct ctswap_store *store, const char *name)
{
	return ct_thaw(store, name);
}

int ctswap_kill(struct ctswap_store *store, const char *name)
{
	return ct_kill(store, name);
}

int ctswap_rm(struct ctswap_store *store, const char *name, bool force)
{
	return ct_rm(store, name, force);
}

const char *ctswap_state_name(enum ctswap_state state)
{
	return ct_state_name(state);
}

int ctswap_info(struct ctswap_store *store, const char *name, struct ctswap_info *info)
{
	return ct_info(store, name, info);
}

int ctswap_list(struct ctswap_store *store, int (*fn)(const struct ctswap_info *info, void *arg),
		void *arg)
{
	return ct_list(store, fn, arg);
}
