// SPDX-License-Identifier: MIT
/*
 * What the kernel offers (mechanism: freezer/check.c).
 * The public entry points of include/ctswap.h (documented there) only hand
 * over to the engine.
 */
#include "ctswap.h"
#include "freezer/check.h"

int ctswap_check(void (*fn)(const struct ctswap_check *c, void *arg), void *arg)
{
	return check_kernel(fn, arg);
}
