/* SPDX-License-Identifier: MIT */
/* The kernel feature probes behind ctswap_check() (kernel/api/check.c). */
#ifndef CT_FREEZER_CHECK_H
#define CT_FREEZER_CHECK_H

#include "ctswap.h"

/* Probe every kernel feature the engine needs, calling @fn per feature. */
int check_kernel(void (*fn)(const struct ctswap_check *c, void *arg), void *arg);

#endif
