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

const struct cli_opt inspect_opts[] = {
	OPT_FLAG("--json", NULL, struct show_args, json, true, "print one JSON object"),
	OPT_FLAG("--verify", NULL, struct show_args, verify, true,
		 "read every page of every kept generation and check every checksum"),
	OPT_LAST,
};

/* ctswap inspect NAME [--json] [--verify] */
int cmd_inspect(struct cli *cli)
{
	const struct show_args *args = cli->args;
	struct ctswap_swap_info info;
	struct ctswap_ckpt *ckpt = NULL;
	const char *name = cli->name;
	bool json = args->json, verify = args->verify;
	int ret;

	ret = ctswap_inspect(cli->store, name, verify, &info);
	if (ret)
		return cli_fail(ret, name);
	/* The newest blob, when there is one (an area may have no blob yet);
	 * --verify fails on a blob that exists but does not check out. */
	ret = info.cur_gen ? ctswap_ckpt_read(cli->store, name, 0, &ckpt) : 0;
	if (ret && ret != -ENOENT && verify) {
		ctswap_swap_info_free(&info);
		return cli_fail(-EBADMSG, name);
	}
	ret = CLI_OK;
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
