// SPDX-License-Identifier: MIT
/*
 * A running container's console (mechanism: container/console.c).
 * The public entry points of include/ctswap.h (documented there) only hand
 * over to the engine.
 */
#include "ctswap.h"
#include "container/console.h"

int ctswap_console_open(struct ctswap_store *store, const char *name, int *out)
{
	return console_open(store, name, out);
}

int ctswap_console_input(int fd, const void *buf, size_t len)
{
	return console_input(fd, buf, len);
}

int ctswap_console_resize(int fd, unsigned short rows, unsigned short cols)
{
	return console_resize(fd, rows, cols);
}
