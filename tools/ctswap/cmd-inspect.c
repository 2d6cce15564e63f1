// SPDX-License-Identifier: MIT
/* ctswap inspect NAME [--json] [--verify]: what a container's swap area holds. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"

/* Print the area as text: a summary, then one line per (generation, task, mapping). */
static void inspect_text(const char *name, const struct ctswap_swap_info *in, bool verify)
{
	printf("swap area of %s: generation %u, kept:", name, in->cur_gen);
	for (unsigned i = 0; i < in->nr_gens; i++)
		printf(" %u (%" PRIu64 " pages)", in->gens[i], in->gen_pages[i]);
	printf("%s\n", in->nr_gens ? "" : " none");
	printf("slots: %" PRIu64 " (%" PRIu64 " used, %" PRIu64 " clusters)\n", in->slots, in->slots_used,
	       in->clusters);
	printf("on disk: %" PRIu64 " bytes data (size %" PRIu64 "), %" PRIu64 " bytes metadata\n",
	       in->data_bytes, in->data_size, in->meta_bytes);
	if (verify)
		printf("verified: %" PRIu64 " pages, every checksum good\n", in->verified_pages);
	if (!in->nr_rows)
		return;
	printf("\n%5s %10s %18s %10s %10s %10s %10s %10s\n", "GEN", "TASK", "MAPPING", "PAGES", "ZERO",
	       "STORED", "SHARED", "COMPRESSED");
	for (size_t i = 0; i < in->nr_rows; i++) {
		const struct ctswap_swap_row *r = &in->rows[i];

		printf("%5u %10" PRIu32 " %#18" PRIx64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		       " %10" PRIu64 "\n", r->gen, r->task, r->mapping, r->pages, r->zero, r->stored, r->shared,
		       r->compressed);
	}
}

/* Print the area as one JSON object. */
static int inspect_json(const char *name, const struct ctswap_swap_info *in, bool verify,
			const struct ctswap_ckpt *ckpt)
{
	json_t *o = json_object(), *gens = json_array(), *rows = json_array();
	char mapping[32];
	int ret;

	for (unsigned i = 0; i < in->nr_gens; i++)
		json_array_append_new(gens, json_pack("{s:I,s:I}", "generation", (json_int_t)in->gens[i],
						      "pages", (json_int_t)in->gen_pages[i]));
	for (size_t i = 0; i < in->nr_rows; i++) {
		const struct ctswap_swap_row *r = &in->rows[i];

		snprintf(mapping, sizeof(mapping), "%#" PRIx64, r->mapping);
		json_array_append_new(rows, json_pack("{s:I,s:I,s:s,s:I,s:I,s:I,s:I,s:I}",
			"generation", (json_int_t)r->gen, "task", (json_int_t)r->task, "mapping", mapping,
			"pages", (json_int_t)r->pages, "zero", (json_int_t)r->zero,
			"stored", (json_int_t)r->stored, "shared", (json_int_t)r->shared,
			"compressed", (json_int_t)r->compressed));
	}
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "generation", json_integer(in->cur_gen));
	json_object_set_new(o, "generations", gens);
	json_object_set_new(o, "slots", json_integer(in->slots));
	json_object_set_new(o, "slots_used", json_integer(in->slots_used));
	json_object_set_new(o, "clusters", json_integer(in->clusters));
	json_object_set_new(o, "data_bytes", json_integer(in->data_bytes));
	json_object_set_new(o, "data_size", json_integer(in->data_size));
	json_object_set_new(o, "meta_bytes", json_integer(in->meta_bytes));
	if (verify)
		json_object_set_new(o, "verified_pages", json_integer(in->verified_pages));
	json_object_set_new(o, "mappings", rows);
	if (ckpt)
		json_object_set_new(o, "checkpoint", inspect_ckpt_json(ckpt));
	ret = json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(o);
	return ret ? cli_error("%s: cannot print JSON", name) : CLI_OK;
}

/* ctswap inspect NAME [--json] [--verify] */
int cmd_inspect(struct cli *cli)
{
	const struct cmd *cmd = cli_find_cmd("inspect");
	struct ctswap_swap_info info;
	struct ctswap_ckpt *ckpt = NULL;
	struct ctswap_store *store;
	const char *name = NULL;
	bool json = false, verify = false;
	int ret;

	for (int i = 1; i < cli->argc; i++) {
		if (!strcmp(cli->argv[i], "--json"))
			json = true;
		else if (!strcmp(cli->argv[i], "--verify"))
			verify = true;
		else if (cli->argv[i][0] == '-')
			return cli_usage_error(cmd, "%s: unknown option", cli->argv[i]);
		else if (!name)
			name = cli->argv[i];
		else
			return cli_usage_error(cmd, "%s: unexpected argument", cli->argv[i]);
	}
	if (!name)
		return cli_usage_error(cmd, "missing container name");
	if (cli_check_name(name))
		return CLI_FAIL;
	if (cli_open_store(cli, &store))
		return CLI_FAIL;
	ret = ctswap_inspect(store, name, verify, &info);
	if (ret) {
		ctswap_store_close(store);
		return cli_fail(ret, name);
	}
	/* The newest blob, when there is one (an area may have no blob yet). */
	if (info.cur_gen && ctswap_ckpt_read(store, name, 0, &ckpt) && verify) {
		ctswap_store_close(store);
		ctswap_swap_info_free(&info);
		return cli_fail(-EBADMSG, name);
	}
	ctswap_store_close(store);
	if (json)
		ret = inspect_json(name, &info, verify, ckpt);
	else
		inspect_text(name, &info, verify);
	if (!json && ckpt)
		inspect_ckpt_text(ckpt);
	ctswap_ckpt_free(ckpt);
	ctswap_swap_info_free(&info);
	return ret;
}
