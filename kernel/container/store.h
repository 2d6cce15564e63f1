/* SPDX-License-Identifier: MIT */
/* The store directory and the paths of a container's files in it. */
#ifndef CT_STORE_H
#define CT_STORE_H

#include <stddef.h>

#include "ctswap.h"

struct ctswap_store {
	char *path;	/* the store directory, absolute or as given */
};

static inline int isalnum_ascii(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* STORE/NAME when @file is NULL, else STORE/NAME/FILE. */
int store_path(const struct ctswap_store *store, const char *name, const char *file,
	       char *buf, size_t size);

/* The newest checkpoint generation in container directory @dir (ckpt-GEN.meta), 0 if none. */
unsigned int store_newest_ckpt(const char *dir);

/* The store as the API (kernel/api/store.c) offers it: include/ctswap.h. */
bool store_name_valid(const char *name);
int store_open(const char *dir, struct ctswap_store **out);
void store_close(struct ctswap_store *store);
const char *store_root(const struct ctswap_store *store);
int store_take(struct ctswap_store *store, const char *name, struct ctswap_store *from);

#endif
