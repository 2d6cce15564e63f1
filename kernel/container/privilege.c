// SPDX-License-Identifier: MIT
/*
 * Who may checkpoint or restore: a caller with CAP_SYS_PTRACE (to seize
 * and inject into any task of the container) and CAP_CHECKPOINT_RESTORE
 * (or the older CAP_SYS_ADMIN that implied it): root, normally.  Checked
 * at the start of ctswap_dump() and ctswap_restore(), so an unprivileged
 * caller gets one clear line instead of an EPERM deep inside.
 */
#define LOG_PREFIX "privilege: "
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/container.h"
#include "lib/log.h"

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/* True if capability @cap is in the effective set @eff (two 32-bit words). */
static bool cap_has(const struct __user_cap_data_struct *eff, int cap)
{
	return eff[cap / 32].effective & (1u << (cap % 32));
}

/* Refuse @what ("dump", "restore") unless the caller holds the capabilities it needs. */
int ct_check_cr_privilege(const char *what)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (syscall(SYS_capget, &hdr, data) < 0)
		return ct_err(-errno, "%s: cannot read own capabilities: %m", what);
	if (cap_has(data, CAP_SYS_PTRACE) &&
	    (cap_has(data, CAP_CHECKPOINT_RESTORE) || cap_has(data, CAP_SYS_ADMIN)))
		return 0;
	return ct_err(-EPERM, "%s: permission denied: needs CAP_SYS_PTRACE and CAP_CHECKPOINT_RESTORE (run as root)",
		      what);
}
