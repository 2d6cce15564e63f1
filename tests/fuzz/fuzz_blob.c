// SPDX-License-Identifier: MIT
/* libFuzzer target: the metadata blob decoder and image validation. */
// fuzz-sources: kernel/image/*.c kernel/lib/*.c kernel/task/*.c kernel/freezer/*.c kernel/inject/*.c
#include <stddef.h>
#include <stdint.h>

#include "image/blob.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_image *img = NULL;

	ct_log_set_level(-1);
	ct_err_clear();
	if (blob_decode(data, size, "fuzz", &img) == 0)
		image_free(img);
	return 0;
}
