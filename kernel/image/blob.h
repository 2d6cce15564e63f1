/* SPDX-License-Identifier: MIT */
/*
 * The metadata blob: STORE/NAME/ckpt-GEN.meta, one struct ct_image on disk.
 * Format (documented in kernel/image/BLOB.md): a fixed header with magic,
 * version, lengths and checksums, then an xz stream holding nested records
 * (tag, length, fields).  Readers skip records they do not know and read
 * missing trailing fields of a record as zero, so fields are only appended.
 */
#ifndef CT_BLOB_H
#define CT_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

#define BLOB_MAGIC "CTSWMETA"
#define BLOB_VERSION 2	/* 2: FILE records nested per kind (tag 5); 1 still read */
#define BLOB_MAX_RAW (1ULL << 30)	/* refuse to inflate more than 1 GiB */

/* Encode @img into a malloc'd xz-compressed blob (header included). */
int blob_encode(const struct ct_image *img, uint8_t **out, size_t *out_len);
/* Decode and validate a blob held in memory; @what names it in errors. */
int blob_decode(const uint8_t *buf, size_t len, const char *what, struct ct_image **img);
/* Write @img to @path atomically; *@bytes gets the file size (may be NULL). */
int blob_write(const char *path, const struct ct_image *img, uint64_t *bytes);
/* Read, check and decode @path. */
int blob_read(const char *path, struct ct_image **img);
struct rbuf;
/* Read one FILE record of format 1 (tag 3) into @f (the kinds define it: task/fdkinds_v1.c). */
void blob_read_file_v1(struct rbuf *r, struct ct_file *f);
/* Check the invariants restore relies on (sizes, ranges, references). */
int image_validate(const struct ct_image *img, const char *what);

#endif
