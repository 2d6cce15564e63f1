// SPDX-License-Identifier: MIT
/*
 * craftblob: make a hostile variant of a valid checkpoint blob, for the
 * faults suite's untrusted-image tests.
 *
 *   craftblob IN OUT MUTATION      write IN changed by MUTATION to OUT
 *   craftblob --list               print the mutations, one a line
 *
 * IN is read with blob_read (validated); OUT is written with blob_write,
 * checksum right, so only the validation of what it
 * says can refuse it.  Mutations that need a part the image lacks (a file
 * mapping, an fd) exit 3.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/blob.h"
#include "image/image.h"
#include "lib/log.h"
#include "lib/util.h"

/* The first private or shared file mapping of the init, or NULL. */
static struct ct_vma *first_file_vma(struct ct_image *img)
{
	struct ct_mm *mm = &img->tasks[0].mm;

	for (uint32_t i = 0; i < mm->nr_vmas; i++)
		if (mm->vmas[i].kind == CT_VMA_FILE_PRIVATE || mm->vmas[i].kind == CT_VMA_FILE_SHARED)
			return &mm->vmas[i];
	return NULL;
}

/* Replace the string *@s by @val. */
static void set_str(char **s, const char *val)
{
	free(*s);
	*s = strdup(val);
}

static const char *const mutations[] = {
	"vma-path-dotdot", "vma-path-relative", "vma-path-other-file", "vma-kernel-range",
	"vma-overlap", "vma-unaligned", "vma-prot", "vma-too-many-pages", "vma-kind",
	"fd-negative", "fd-file-index", "file-path-relative", "cwd-relative", "pid-zero",
	"no-threads", "generation-zero", "parent-missing",
};

/* Apply @what to @img: 0, 3 if it does not apply, 2 if unknown. */
static int mutate(struct ct_image *img, const char *what)
{
	struct ct_task *t = &img->tasks[0];
	struct ct_vma *fv = first_file_vma(img);
	struct ct_vma *v = t->mm.nr_vmas ? &t->mm.vmas[0] : NULL;

	if (!strncmp(what, "vma-path", 8) && !fv)
		return 3;
	if (!strcmp(what, "vma-path-dotdot"))
		set_str(&fv->path, "/usr/lib/../../../etc/shadow");
	else if (!strcmp(what, "vma-path-relative"))
		set_str(&fv->path, "etc/shadow");
	else if (!strcmp(what, "vma-path-other-file"))
		set_str(&fv->path, "/etc/passwd");	/* valid form, not the file dumped */
	else if (!v)
		return 3;
	else if (!strcmp(what, "vma-kernel-range")) {
		/* the last mapping that is not [vsyscall] reaches into the kernel */
		uint32_t i = t->mm.nr_vmas;

		while (i-- > 1 && t->mm.vmas[i].kind == CT_VMA_VSYSCALL)
			;
		t->mm.vmas[i].end = 0xffff888000000000ULL;
	}
	else if (!strcmp(what, "vma-overlap") && t->mm.nr_vmas > 1)
		t->mm.vmas[1].start = v->start;
	else if (!strcmp(what, "vma-unaligned"))
		v->end += 1;
	else if (!strcmp(what, "vma-prot"))
		v->prot |= 0x1000000;
	else if (!strcmp(what, "vma-too-many-pages"))
		v->nr_pages = (v->end - v->start) / PAGE_SIZE + 1000000;
	else if (!strcmp(what, "vma-kind"))
		v->kind = 77;
	else if (!strncmp(what, "fd-", 3) && !t->nr_fds)
		return 3;
	else if (!strcmp(what, "fd-negative"))
		t->fds[0].fd = -5;
	else if (!strcmp(what, "fd-file-index"))
		t->fds[0].file = img->nr_files + 1000;
	else if (!strcmp(what, "file-path-relative")) {
		uint32_t i;

		for (i = 0; i < img->nr_files && !img->files[i].path; i++)
			;
		if (i == img->nr_files)
			return 3;
		set_str(&img->files[i].path, "../../etc/shadow");
	} else if (!strcmp(what, "cwd-relative"))
		set_str(&t->cwd, "tmp");
	else if (!strcmp(what, "pid-zero"))
		t->pid = 0;
	else if (!strcmp(what, "no-threads")) {
		/* image_free() frees only the first nr_threads: free the rest here */
		for (uint32_t i = 0; i < t->nr_threads; i++) {
			free(t->threads[i].xstate);
			free(t->threads[i].pending);
		}
		t->nr_threads = 0;
	}
	else if (!strcmp(what, "generation-zero"))
		img->generation = 0;
	else if (!strcmp(what, "parent-missing")) {
		if (img->nr_tasks < 2)
			return 3;
		img->tasks[img->nr_tasks - 1].ppid = 4242;
	}
	else
		return 2;
	return 0;
}

int main(int argc, char **argv)
{
	struct ct_image *img;
	uint64_t bytes;
	int ret;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++)
			puts(mutations[i]);
		return 0;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: craftblob IN OUT MUTATION | --list\n");
		return 2;
	}
	if (blob_read(argv[1], &img)) {
		fprintf(stderr, "craftblob: %s: %s\n", argv[1], ct_err_msg());
		return 1;
	}
	ret = mutate(img, argv[3]);
	if (ret) {
		fprintf(stderr, "craftblob: %s: %s\n", argv[3], ret == 3 ? "does not apply" : "unknown");
		return ret;
	}
	if (blob_write(argv[2], img, &bytes)) {
		fprintf(stderr, "craftblob: %s: %s\n", argv[2], ct_err_msg());
		return 1;
	}
	image_free(img);
	return 0;
}
