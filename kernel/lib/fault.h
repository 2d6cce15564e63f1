/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for tests: $CTSWAP_FAULT names the points where a
 * command should fail or stop, so "fail (or be killed) at step N" is
 * testable.  doc/FAULTS.md lists every point and what it does.
 *
 * Grammar: a comma-separated list of items, each POINT or POINT:ARG.
 *
 *	CTSWAP_FAULT=dump-stop:pages,swap-commit:5
 *
 * POINT is one of the names in fault.c's table (an unknown one is warned
 * about once and ignored); ARG is free text without ',' (a step name or a
 * number, as the point expects).  An item matches a query when POINT is
 * equal and ARG is equal (a number compares as a number: "05" is 5).
 *
 * The variable is parsed once per value: changing it (a unit test does)
 * makes the next query parse the new value.
 */
#ifndef CT_FAULT_H
#define CT_FAULT_H

#include <stdbool.h>

/* True if $CTSWAP_FAULT lists the item @point:@arg (@arg NULL: @point alone). */
bool fault_at(const char *point, const char *arg);
/* True if $CTSWAP_FAULT lists @point with the number @n as its argument. */
bool fault_at_num(const char *point, unsigned long n);
/* Stop this process (SIGSTOP) if @point:@arg is listed, so a test can kill -9 it there. */
void fault_stop(const char *point, const char *arg);
/* -EIO with ct_err("fault injected at @point:@arg") if @point:@arg is listed, else 0. */
int fault_fail(const char *point, const char *arg);

/*
 * Parse @spec as $CTSWAP_FAULT would be (for the unit test): the number of
 * items, or -EINVAL if an item is malformed or names an unknown point.
 * Queries keep reading $CTSWAP_FAULT, not @spec.
 */
int fault_parse_check(const char *spec);

#endif
