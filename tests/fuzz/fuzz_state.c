// SPDX-License-Identifier: MIT
// fuzz-sources: kernel/lib/*.c
/*
 * libFuzzer target: the state file parser (STORE/NAME/state, lazy.state).
 * A file that parses must format back to bytes that parse to the same
 * keys and values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/state.h"
#include "lib/log.h"

/* Abort if @a and @b do not hold the same keys and values in the same order. */
static void fuzz_same(const struct ct_state *a, const struct ct_state *b)
{
	if (state_count(a) != state_count(b))
		abort();
	for (size_t i = 0; i < state_count(a); i++)
		if (strcmp(state_key_at(a, i), state_key_at(b, i)) ||
		    strcmp(state_val_at(a, i), state_val_at(b, i)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_state *st = NULL, *again = NULL;
	char *buf = NULL;
	size_t len = 0;
	long long v;

	ct_log_set_level(-1);
	ct_err_clear();
	if (state_parse((const char *)data, size, "fuzz", &st))
		return 0;
	for (size_t i = 0; i < state_count(st); i++)
		state_get_ll(st, state_key_at(st, i), &v);
	if (state_format(st, &buf, &len) || state_parse(buf, len, "fuzz-again", &again))
		abort();
	fuzz_same(st, again);
	state_free(again);
	state_free(st);
	free(buf);
	return 0;
}
