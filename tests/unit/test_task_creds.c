// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Round trip of credentials between two live processes: an unprivileged set restored into root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>

#include "test_task_common.h"
#include "lib/util.h"

#define CAP(x) (1ULL << (x))

/* capset/capget on ourselves with 64-bit masks. */
static int caps(bool set, uint64_t *inh, uint64_t *prm, uint64_t *eff)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	int ret;

	if (set) {
		for (int i = 0; i < 2; i++) {
			d[i].inheritable = (uint32_t)(*inh >> (32 * i));
			d[i].permitted = (uint32_t)(*prm >> (32 * i));
			d[i].effective = (uint32_t)(*eff >> (32 * i));
		}
		return syscall(SYS_capset, &hdr, d);
	}
	ret = syscall(SYS_capget, &hdr, d);
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	return ret;
}

/* Both children: check the credentials child 1 gave itself. */
static int creds_check(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[8];
	uint64_t inh, prm, eff;
	int fails = 0, n;

	TT_CHECK(0, getresuid(&r, &e, &s) == 0 && r == 1000 && e == 1001 && s == 1002);
	TT_CHECK(1, setfsuid(-1) == 1002);
	TT_CHECK(2, getresgid(&rg, &eg, &sg) == 0 && rg == 100 && eg == 101 && sg == 102);
	TT_CHECK(3, setfsgid(-1) == 101);
	n = getgroups(8, groups);
	TT_CHECK(4, n == 3 && groups[0] == 5 && groups[1] == 6 && groups[2] == 7);
	TT_CHECK(5, caps(false, &inh, &prm, &eff) == 0 && inh == CAP(CAP_NET_BIND_SERVICE) &&
		 prm == (CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_CHOWN)) && eff == CAP(CAP_CHOWN));
	TT_CHECK(6, prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) == 0 && prctl(PR_CAPBSET_READ, CAP_CHOWN) == 1);
	TT_CHECK(7, prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) == 1 &&
		 prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) == 0);
	TT_CHECK(8, prctl(PR_GET_SECUREBITS) == SECBIT_KEEP_CAPS);
	TT_CHECK(9, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	return fails;
}

/* Child 1: drop from root to a mixed, partly privileged identity. */
static int creds_setup(void *arg, int go_fd)
{
	gid_t groups[] = { 5, 6, 7 };
	uint64_t inh = CAP(CAP_NET_BIND_SERVICE), prm = inh | CAP(CAP_CHOWN), eff = CAP(CAP_CHOWN);

	(void)arg;
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN) || setgroups(3, groups) || prctl(PR_SET_KEEPCAPS, 1))
		return 101;
	if (setresgid(100, 101, 102) || setresuid(1000, 1001, 1002))
		return 102;
	setfsuid(1002);
	if (caps(true, &inh, &prm, &eff))
		return 103;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return 104;
	tt_wait_go(go_fd);
	return creds_check();
}

/* Child 2: fresh root. */
static int creds_fresh(void *arg, int go_fd)
{
	(void)arg;
	tt_wait_go(go_fd);
	return creds_check();
}

static void test_creds_roundtrip(void **state)
{
	struct ct_task *t = xzalloc(sizeof(*t));
	struct ct_creds *c = &t->creds;
	struct tt_child c1, c2;

	(void)state;
	tt_fork(&c1, creds_setup, NULL);
	tt_seize(&c1);
	assert_int_equal(dump_task_creds(&c1.tc, t), 0);
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);
	assert_int_equal(c->euid, 1001);
	assert_int_equal(c->fsuid, 1002);
	assert_int_equal(c->sgid, 102);
	assert_int_equal(c->nr_groups, 3);
	assert_int_equal(c->cap_eff, CAP(CAP_CHOWN));
	assert_int_equal(c->cap_amb, CAP(CAP_NET_BIND_SERVICE));
	assert_false(c->cap_bnd & CAP(CAP_SYS_ADMIN));
	assert_int_equal(c->securebits, SECBIT_KEEP_CAPS);
	assert_true(c->no_new_privs);

	tt_fork(&c2, creds_fresh, NULL);
	tt_seize(&c2);
	if (restore_task_creds(&c2.tc, t))
		fail_msg("restore: %s", ct_err_msg());
	tt_release(&c2);
	assert_int_equal(tt_finish(&c2), 0);
	free(c->groups);
	free(t);
}

static uint64_t root_eff, root_bnd_admin;

/* Both children: still plain root with every capability the test runner has. */
static int root_check(void *arg, int go_fd)
{
	uint64_t inh, prm, eff;
	int fails = 0;

	(void)arg;
	tt_wait_go(go_fd);
	TT_CHECK(0, getuid() == 0 && geteuid() == 0 && getgid() == 0 && setfsuid(-1) == 0);
	TT_CHECK(1, caps(false, &inh, &prm, &eff) == 0 && eff == root_eff && prm == root_eff);
	TT_CHECK(2, prctl(PR_GET_SECUREBITS) == 0 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	TT_CHECK(3, (uint64_t)prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) == root_bnd_admin);
	return fails;
}

/* Restoring root's credentials into root changes nothing and loses nothing. */
static void test_creds_root_roundtrip(void **state)
{
	struct ct_task *t = xzalloc(sizeof(*t));
	struct tt_child c1, c2;
	uint64_t inh, prm;

	(void)state;
	assert_int_equal(caps(false, &inh, &prm, &root_eff), 0);
	root_bnd_admin = prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN);
	tt_fork(&c1, root_check, NULL);
	tt_seize(&c1);
	assert_int_equal(dump_task_creds(&c1.tc, t), 0);
	tt_release(&c1);
	assert_int_equal(tt_finish(&c1), 0);
	tt_fork(&c2, root_check, NULL);
	tt_seize(&c2);
	if (restore_task_creds(&c2.tc, t))
		fail_msg("restore: %s", ct_err_msg());
	tt_release(&c2);
	assert_int_equal(tt_finish(&c2), 0);
	free(t->creds.groups);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_creds_roundtrip),
		cmocka_unit_test(test_creds_root_roundtrip),
	};

	ct_log_set_level(CT_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
