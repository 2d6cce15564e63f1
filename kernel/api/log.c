// SPDX-License-Identifier: MIT
/* Library-wide calls of the public API: errors and logging. */
#include "ctswap.h"
#include "lib/log.h"

/* The reason the last call failed. */
const char *ctswap_last_error(void)
{
	return ct_err_msg();
}

/* Set how much the engine logs. */
void ctswap_set_log_level(int level)
{
	ct_log_set_level(level);
}

/* Choose the engine's log sink. */
void ctswap_set_log_fd(int fd)
{
	ct_log_set_fd(fd);
}
