// SPDX-License-Identifier: MIT
/* Unit tests for the metadata blob: round trip, corruption, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/blob.h"
#include "lib/log.h"
#include <lzma.h>

/* A malloc'd copy of @n bytes (strdup stops at the first NUL). */
static uint8_t *dupmem(const void *p, size_t n)
{
	uint8_t *d = malloc(n);

	memcpy(d, p, n);
	return d;
}

/* Build an image with two tasks, threads, mappings, fds and files. */
static struct ct_image *sample_image(void)
{
	struct ct_image *img = calloc(1, sizeof(*img));
	struct ct_task *t;

	strcpy(img->name, "web-1");
	img->generation = 3;
	img->own_pidns = true;
	img->ns_ino[CT_NS_PID] = 4026532000ULL;
	img->dump_time_ns = 1234567890123LL;
	img->nr_files = 5;
	img->files = calloc(5, sizeof(*img->files));
	img->files[0].kind = CT_FILE_REG;
	img->files[0].path = strdup("/tmp/log");
	img->files[0].pos = 77;
	img->files[0].id.ino = 99;
	img->files[1].kind = CT_FILE_PIPE;
	img->files[1].pipe_id = 1;
	img->files[1].pipe_data = (uint8_t *)strdup("queued");
	img->files[1].pipe_data_len = 6;
	img->files[2].kind = CT_FILE_UNIX;
	img->files[2].sk_family = AF_UNIX;
	img->files[2].sk_type = SOCK_STREAM;
	img->files[2].sk_state = CT_SK_LISTEN;
	img->files[2].sk_backlog = 17;
	img->files[2].sk_addr = dupmem("\1\0@name", 8);
	img->files[2].sk_addr_len = 8;
	img->files[2].sk_queue = dupmem("\3\0\0\0abc", 7);
	img->files[2].sk_queue_len = 7;
	img->files[3].kind = CT_FILE_EPOLL;
	img->files[3].nr_epoll_tgts = 1;
	img->files[3].epoll_tgts = calloc(1, sizeof(struct ct_epoll_tgt));
	img->files[3].epoll_tgts[0] = (struct ct_epoll_tgt){ .tfd = 7, .events = 0x80000001, .data = 1ULL << 40, .file = 2 };
	img->files[4].kind = CT_FILE_INOTIFY;
	img->files[4].nr_watches = 1;
	img->files[4].watches = calloc(1, sizeof(struct ct_inotify_watch));
	img->files[4].watches[0] = (struct ct_inotify_watch){ .wd = 3, .mask = 0x300, .path = strdup("/tmp") };
	img->nr_tasks = 2;
	img->tasks = calloc(2, sizeof(*img->tasks));
	for (int i = 0; i < 2; i++) {
		t = &img->tasks[i];
		t->pid = i + 1;
		t->ppid = i;
		t->pgid = t->sid = 1;
		strcpy(t->comm, "worker");
		t->nr_threads = 1 + i;
		t->threads = calloc(t->nr_threads, sizeof(*t->threads));
		for (uint32_t j = 0; j < t->nr_threads; j++) {
			t->threads[j].tid = t->pid + 100 * j;
			t->threads[j].regs.rip = 0x401000 + j;
			t->threads[j].regs.orig_rax = (unsigned long long)-1;
			t->threads[j].xstate_len = 64;
			t->threads[j].xstate = calloc(1, 64);
			t->threads[j].xstate[7] = 0xe7;
			t->threads[j].blocked = 1ULL << 9;
			t->threads[j].rseq_abi = 0x7f0000001000ULL;
			strcpy(t->threads[j].comm, "thr");
		}
		t->threads[0].tid = t->pid;
		t->mm.nr_vmas = 2;
		t->mm.vmas = calloc(2, sizeof(*t->mm.vmas));
		t->mm.vmas[0] = (struct ct_vma){ .start = 0x400000, .end = 0x401000, .prot = PROT_READ,
						 .kind = CT_VMA_FILE_PRIVATE, .path = strdup("/bin/x") };
		t->mm.vmas[1] = (struct ct_vma){ .start = 0x600000, .end = 0x800000, .nr_pages = 5,
						 .prot = PROT_READ | PROT_WRITE, .kind = CT_VMA_ANON };
		t->mm.auxv_len = 4;
		t->mm.auxv = calloc(4, sizeof(uint64_t));
		t->mm.auxv[0] = 6;
		t->mm.auxv[1] = 4096;
		t->mm.exe_path = strdup("/bin/x");
		t->nr_fds = 2;
		t->fds = calloc(2, sizeof(*t->fds));
		t->fds[0] = (struct ct_fd){ .fd = 0, .file = 1 };
		t->fds[1] = (struct ct_fd){ .fd = 5, .file = 0, .cloexec = true };
		t->sigactions[9].handler = 0x401234;
		t->creds.nr_groups = 2;
		t->creds.groups = calloc(2, sizeof(uint32_t));
		t->creds.groups[1] = 27;
		t->creds.cap_eff = 0x1ff;
		t->rlimits[RLIMIT_NOFILE].rlim_cur = 1024;
		t->cwd = strdup("/tmp");
		t->root = strdup("/");
		t->itimers[0].value_usec = 5000;
		t->nr_timers = 1;
		t->timers = calloc(1, sizeof(*t->timers));
		t->timers[0].id = 3;
		t->timers[0].value_nsec = 42;
	}
	return img;
}

static void test_blob_round_trip(void **state)
{
	struct ct_image *img = sample_image(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_string_equal(back->name, "web-1");
	assert_int_equal(back->generation, 3);
	assert_true(back->own_pidns);
	assert_int_equal(back->nr_tasks, 2);
	assert_int_equal(back->nr_files, 5);
	assert_string_equal(back->files[0].path, "/tmp/log");
	assert_int_equal(back->files[0].pos, 77);
	assert_memory_equal(back->files[1].pipe_data, "queued", 6);
	assert_int_equal(back->files[2].sk_backlog, 17);
	assert_int_equal(back->files[2].sk_addr_len, 8);
	assert_memory_equal(back->files[2].sk_addr, "\1\0@name", 8);
	assert_memory_equal(back->files[2].sk_queue, "\3\0\0\0abc", 7);
	assert_int_equal(back->files[3].nr_epoll_tgts, 1);
	assert_int_equal(back->files[3].epoll_tgts[0].events, 0x80000001);
	assert_int_equal(back->files[3].epoll_tgts[0].data, 1ULL << 40);
	assert_int_equal(back->files[3].epoll_tgts[0].file, 2);
	assert_int_equal(back->files[4].nr_watches, 1);
	assert_string_equal(back->files[4].watches[0].path, "/tmp");
	assert_int_equal(back->files[4].watches[0].wd, 3);
	for (int i = 0; i < 2; i++) {
		struct ct_task *a = &img->tasks[i], *b = &back->tasks[i];

		assert_int_equal(a->pid, b->pid);
		assert_int_equal(a->ppid, b->ppid);
		assert_string_equal(b->comm, "worker");
		assert_int_equal(a->nr_threads, b->nr_threads);
		for (uint32_t j = 0; j < a->nr_threads; j++) {
			assert_memory_equal(&a->threads[j].regs, &b->threads[j].regs, sizeof(a->threads[j].regs));
			assert_int_equal(b->threads[j].xstate_len, 64);
			assert_memory_equal(a->threads[j].xstate, b->threads[j].xstate, 64);
			assert_int_equal(a->threads[j].blocked, b->threads[j].blocked);
			assert_int_equal(a->threads[j].rseq_abi, b->threads[j].rseq_abi);
			assert_string_equal(b->threads[j].comm, "thr");
		}
		assert_int_equal(b->mm.nr_vmas, 2);
		assert_string_equal(b->mm.vmas[0].path, "/bin/x");
		assert_null(b->mm.vmas[1].path);
		assert_int_equal(b->mm.vmas[1].nr_pages, 5);
		assert_int_equal(b->mm.auxv_len, 4);
		assert_int_equal(b->mm.auxv[1], 4096);
		assert_int_equal(b->nr_fds, 2);
		assert_int_equal(b->fds[1].fd, 5);
		assert_true(b->fds[1].cloexec);
		assert_memory_equal(a->sigactions, b->sigactions, sizeof(a->sigactions));
		assert_int_equal(b->creds.nr_groups, 2);
		assert_int_equal(b->creds.groups[1], 27);
		assert_int_equal(b->creds.cap_eff, 0x1ff);
		assert_int_equal(b->rlimits[RLIMIT_NOFILE].rlim_cur, 1024);
		assert_string_equal(b->cwd, "/tmp");
		assert_int_equal(b->itimers[0].value_usec, 5000);
		assert_int_equal(b->nr_timers, 1);
		assert_int_equal(b->timers[0].value_nsec, 42);
	}
	free(buf);
	image_free(back);
	image_free(img);
}

/* Every single-byte change is caught by a checksum or yields a valid image. */
static void test_blob_byte_flips_never_crash(void **state)
{
	struct ct_image *img = sample_image(), *back;
	uint8_t *buf;
	size_t len, rejected = 0;

	(void)state;
	ct_log_set_level(-1);
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x40;
		back = NULL;
		ct_err_clear();
		if (blob_decode(buf, len, "flip", &back) == 0)
			image_free(back);
		else
			rejected++;
		buf[i] ^= 0x40;
	}
	/* the header and payload checksums cover every byte */
	assert_int_equal(rejected, len);
	for (size_t cut = 0; cut < len; cut++) {
		ct_err_clear();
		assert_int_not_equal(blob_decode(buf, cut, "cut", &back), 0);
	}
	ct_log_set_level(CT_LOG_WARN);
	free(buf);
	image_free(img);
}

static void test_blob_newer_version_refused(void **state)
{
	struct ct_image *img = sample_image(), *back;
	uint8_t *buf;
	size_t len;
	uint32_t version = BLOB_VERSION + 1, crc;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	memcpy(buf + 8, &version, 4);
	crc = lzma_crc32(buf, 44, 0);
	memcpy(buf + 44, &crc, 4);
	ct_err_clear();
	assert_int_equal(blob_decode(buf, len, "ckpt-3.meta", &back), -EPROTONOSUPPORT);
	assert_non_null(strstr(ct_err_msg(), "newer than this ctswap"));
	free(buf);
	image_free(img);
}

/* Re-encode a modified image and expect decode to reject it with @needle. */
static void expect_invalid(struct ct_image *img, const char *needle)
{
	struct ct_image *back = NULL;
	uint8_t *buf;
	size_t len;

	assert_int_equal(blob_encode(img, &buf, &len), 0);
	ct_err_clear();
	assert_int_equal(blob_decode(buf, len, "crafted", &back), -EBADMSG);
	if (!strstr(ct_err_msg(), needle))
		print_error("expected \"%s\" in: %s\n", needle, ct_err_msg());
	assert_non_null(strstr(ct_err_msg(), needle));
	free(buf);
	image_free(img);
}

static void test_blob_crafted_images_refused(void **state)
{
	struct ct_image *img;

	(void)state;
	img = sample_image();
	img->tasks[0].mm.vmas[1].start = 0x400000;	/* overlaps vma 0 */
	expect_invalid(img, "overlap");
	img = sample_image();
	img->tasks[1].fds[0].file = 9;			/* no such file */
	expect_invalid(img, "bad fd entry");
	img = sample_image();
	free(img->tasks[0].mm.vmas[0].path);
	img->tasks[0].mm.vmas[0].path = strdup("/bin/../etc/shadow");
	expect_invalid(img, "bad file path");
	img = sample_image();
	img->tasks[1].ppid = 42;			/* parent not in the image */
	expect_invalid(img, "parent 42");
	img = sample_image();
	img->tasks[0].mm.vmas[1].end = 1ULL << 60;	/* beyond user space */
	expect_invalid(img, "bad mapping range");
	img = sample_image();
	img->tasks[0].mm.vmas[1].nr_pages = 1 << 20;
	expect_invalid(img, "more pages");
	img = sample_image();
	img->files[3].epoll_tgts[0].file = 9;		/* target beyond the files */
	expect_invalid(img, "bad epoll record");
	img = sample_image();
	img->files[2].sk_queue[0] = 200;		/* message longer than the queue */
	expect_invalid(img, "bad socket record");
	img = sample_image();
	free(img->files[4].watches[0].path);
	img->files[4].watches[0].path = strdup("relative");
	expect_invalid(img, "bad inotify record");
}

/* The sample image plus a console (CT_FILE_TTY) as file 5, held by task 1 at fd 1. */
static struct ct_image *sample_image_tty(void)
{
	struct ct_image *img = sample_image();
	struct ct_file *f;

	img->files = realloc(img->files, 6 * sizeof(*img->files));
	f = &img->files[img->nr_files++];
	memset(f, 0, sizeof(*f));
	f->kind = CT_FILE_TTY;
	f->flags = O_RDWR;
	f->tty_flags = CT_TTY_DEVTTY;
	f->tty_dev = 0x8800;
	f->tty_lflag = 0x8a3b;
	f->tty_cc[2] = 0x7f;
	f->tty_cc[CT_TTY_NCCS - 1] = 0x11;
	f->tty_rows = 45;
	f->tty_cols = 123;
	f->tty_sid = 1;
	f->tty_fg_pgrp = 2;
	f->pty_node = (struct ct_pty_node){ .mode = S_IFCHR | 0600, .uid = 1000, .gid = 5,
					    .atime_sec = 1333333333, .mtime_sec = 1444444444,
					    .mtime_nsec = 7 };
	img->tasks[0].fds[0].file = 5;
	return img;
}

/* The console's settings and node come back as written. */
static void test_blob_tty_round_trip(void **state)
{
	struct ct_image *img = sample_image_tty(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->nr_files, 6);
	assert_int_equal(back->files[5].kind, CT_FILE_TTY);
	assert_int_equal(back->files[5].tty_flags, CT_TTY_DEVTTY);
	assert_int_equal(back->files[5].tty_dev, 0x8800);
	assert_int_equal(back->files[5].tty_lflag, 0x8a3b);
	assert_memory_equal(back->files[5].tty_cc, img->files[5].tty_cc, CT_TTY_NCCS);
	assert_int_equal(back->files[5].tty_rows, 45);
	assert_int_equal(back->files[5].tty_cols, 123);
	assert_int_equal(back->files[5].tty_sid, 1);
	assert_int_equal(back->files[5].tty_fg_pgrp, 2);
	assert_memory_equal(&back->files[5].pty_node, &img->files[5].pty_node,
			    sizeof(struct ct_pty_node));
	/* the files of older blobs read their terminal fields as zero */
	assert_int_equal(back->files[0].tty_rows, 0);
	assert_int_equal(back->files[0].tty_sid, 0);
	free(buf);
	image_free(back);
	image_free(img);
}


/* The sample image plus pty 3 of the container's devpts: its master as file 5, a slave as file 6. */
static struct ct_image *sample_image_pty(void)
{
	struct ct_image *img = sample_image();
	struct ct_file *m, *sl;

	img->files = realloc(img->files, 7 * sizeof(*img->files));
	m = &img->files[img->nr_files++];
	sl = &img->files[img->nr_files++];
	memset(m, 0, 2 * sizeof(*m));
	m->kind = sl->kind = CT_FILE_PTY;
	m->flags = sl->flags = O_RDWR;
	m->pty_index = sl->pty_index = 3;
	m->pty_flags = CT_PTY_MASTER | CT_PTY_PACKET | CT_PTY_LOCKED;
	m->pty_outq = (uint8_t *)strdup("out\r\n");
	m->pty_outq_len = 5;
	m->tty_lflag = 0x8a3b;
	m->tty_rows = 33;
	m->tty_sid = 1;
	m->tty_fg_pgrp = 2;
	m->pty_node = (struct ct_pty_node){ .mode = S_IFCHR | 0604, .uid = 1234, .gid = 5,
					    .atime_sec = 1111111111, .atime_nsec = 500000000,
					    .mtime_sec = 1222222222, .mtime_nsec = 250000000 };
	sl->pty_flags = CT_PTY_EXCL;
	img->tasks[0].fds[0].file = 5;
	return img;
}

/* A pty's master and slave come back as written; a lone slave or two masters are refused. */
static void test_blob_pty_round_trip(void **state)
{
	struct ct_image *img = sample_image_pty(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->nr_files, 7);
	assert_int_equal(back->files[5].kind, CT_FILE_PTY);
	assert_int_equal(back->files[5].pty_index, 3);
	assert_int_equal(back->files[5].pty_flags, CT_PTY_MASTER | CT_PTY_PACKET | CT_PTY_LOCKED);
	assert_int_equal(back->files[5].pty_outq_len, 5);
	assert_memory_equal(back->files[5].pty_outq, "out\r\n", 5);
	assert_int_equal(back->files[5].tty_lflag, 0x8a3b);
	assert_int_equal(back->files[5].tty_rows, 33);
	assert_int_equal(back->files[5].tty_sid, 1);
	assert_int_equal(back->files[5].tty_fg_pgrp, 2);
	assert_memory_equal(&back->files[5].pty_node, &img->files[5].pty_node,
			    sizeof(struct ct_pty_node));
	assert_int_equal(back->files[6].pty_index, 3);
	assert_int_equal(back->files[6].pty_flags, CT_PTY_EXCL);
	assert_int_equal(back->files[6].pty_outq_len, 0);
	free(buf);
	image_free(back);
	image_free(img);

	img = sample_image_pty();
	img->files[5].pty_index = 4;		/* the slave's master is gone */
	expect_invalid(img, "bad pty record");
	img = sample_image_pty();
	img->files[5].pty_node.mode = S_IFREG | 0644;	/* a slave's node is a character device */
	expect_invalid(img, "bad pty record");
	img = sample_image_pty();
	img->files[5].pty_node.mtime_nsec = 1000000000;
	expect_invalid(img, "bad pty record");
	img = sample_image_pty();
	img->files[6].pty_flags = CT_PTY_MASTER;	/* two masters of pty 3 */
	expect_invalid(img, "bad pty record");
	img = sample_image_pty();
	img->files[5].pty_flags |= 0x100;
	expect_invalid(img, "bad pty record");
	img = sample_image_pty();
	img->own_pidns = false;
	expect_invalid(img, "bad pty record");
}

/* The sample image whose files 5 and 6 are two descriptions of a runtime's terminal, /dev/pts/0. */
static struct ct_image *sample_image_orphan(void)
{
	struct ct_image *img = sample_image_pty();

	for (int i = 5; i <= 6; i++) {
		struct ct_file *f = &img->files[i];

		free(f->pty_outq);
		f->pty_outq = NULL;
		f->pty_outq_len = 0;
		f->pty_index = 0;
		f->pty_flags = CT_PTY_ORPHAN;
		f->tty_lflag = 0x8a33;
		f->tty_cols = 80;
		f->tty_sid = 1;
		f->tty_fg_pgrp = 1;
	}
	return img;
}

/*
 * Slaves whose master was outside come back with their settings and owner;
 * one beside a master of its pty, a second such pty, queued output or a
 * master flag on one are refused.
 */
static void test_blob_pty_orphan_round_trip(void **state)
{
	struct ct_image *img = sample_image_orphan(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	for (int i = 5; i <= 6; i++) {
		assert_int_equal(back->files[i].kind, CT_FILE_PTY);
		assert_int_equal(back->files[i].pty_index, 0);
		assert_int_equal(back->files[i].pty_flags, CT_PTY_ORPHAN);
		assert_int_equal(back->files[i].tty_lflag, 0x8a33);
		assert_int_equal(back->files[i].tty_cols, 80);
		assert_int_equal(back->files[i].tty_sid, 1);
		assert_int_equal(back->files[i].tty_fg_pgrp, 1);
	}
	free(buf);
	image_free(back);
	image_free(img);

	img = sample_image_orphan();
	img->files[6].pty_flags = CT_PTY_MASTER;	/* its master is in the image after all */
	expect_invalid(img, "bad pty record");
	img = sample_image_orphan();
	img->files[6].pty_index = 1;		/* a second terminal with its master outside */
	expect_invalid(img, "bad pty record");
	img = sample_image_orphan();
	img->files[5].pty_outq = (uint8_t *)strdup("x");
	img->files[5].pty_outq_len = 1;
	expect_invalid(img, "bad pty record");
	img = sample_image_orphan();
	img->files[5].pty_flags |= CT_PTY_LOCKED;
	expect_invalid(img, "bad pty record");
}

/* A filter of @len instructions, each a distinct word derived from @seed. */
static struct ct_seccomp_filter sample_filter(uint32_t len, uint32_t flags, uint64_t seed)
{
	struct ct_seccomp_filter f = { .flags = flags, .len = len };

	f.insns = calloc(len, sizeof(uint64_t));
	for (uint32_t i = 0; i < len; i++)
		f.insns[i] = seed * 0x9e3779b97f4a7c15ULL + i;
	return f;
}

/* The sample image with seccomp: task 1 has [0], task 2's threads [0 1] and [0 1 2]. */
static struct ct_image *sample_image_seccomp(void)
{
	struct ct_image *img = sample_image();
	static const uint32_t chains[3][3] = { { 0 }, { 0, 1 }, { 0, 1, 2 } };
	static const uint32_t lens[3] = { 1, 2, 3 };
	struct ct_thread *ths[3] = { &img->tasks[0].threads[0], &img->tasks[1].threads[0],
				     &img->tasks[1].threads[1] };

	img->nr_seccomp = 3;
	img->seccomp = calloc(3, sizeof(*img->seccomp));
	img->seccomp[0] = sample_filter(4, 0, 1);
	img->seccomp[1] = sample_filter(CT_BPF_MAXINSNS, CT_SECCOMP_LOG, 2);
	img->seccomp[2] = sample_filter(1, 0, 3);
	for (int i = 0; i < 3; i++) {
		ths[i]->seccomp_mode = 2;
		ths[i]->nr_seccomp = lens[i];
		ths[i]->seccomp = calloc(lens[i], sizeof(uint32_t));
		memcpy(ths[i]->seccomp, chains[i], lens[i] * sizeof(uint32_t));
	}
	return img;
}

/* Filters are written once and every thread gets its chain back, oldest first. */
static void test_blob_seccomp_round_trip(void **state)
{
	struct ct_image *img = sample_image_seccomp(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->nr_seccomp, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(back->seccomp[i].len, img->seccomp[i].len);
		assert_int_equal(back->seccomp[i].flags, img->seccomp[i].flags);
		assert_memory_equal(back->seccomp[i].insns, img->seccomp[i].insns,
				    img->seccomp[i].len * sizeof(uint64_t));
	}
	assert_int_equal(back->tasks[0].threads[0].seccomp_mode, 2);
	assert_int_equal(back->tasks[0].threads[0].nr_seccomp, 1);
	assert_int_equal(back->tasks[1].threads[1].nr_seccomp, 3);
	assert_int_equal(back->tasks[1].threads[1].seccomp[2], 2);
	assert_int_equal(back->tasks[1].threads[0].seccomp[1], 1);
	free(buf);
	image_free(back);
	image_free(img);
	/* an image without filters reads its threads as unfiltered */
	img = sample_image();
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->nr_seccomp, 0);
	assert_int_equal(back->tasks[1].threads[1].seccomp_mode, 0);
	assert_int_equal(back->tasks[1].threads[1].nr_seccomp, 0);
	free(buf);
	image_free(back);
	image_free(img);
}

/* Seccomp records restore could not install as dumped are refused. */
static void test_blob_seccomp_crafted_refused(void **state)
{
	struct ct_image *img, *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	img = sample_image_seccomp();
	img->tasks[1].threads[1].seccomp[2] = 3;	/* no such filter */
	expect_invalid(img, "bad seccomp filter index");
	img = sample_image_seccomp();
	img->tasks[0].threads[0].seccomp_mode = 1;	/* strict mode is never dumped */
	expect_invalid(img, "bad seccomp mode");
	img = sample_image_seccomp();
	img->tasks[1].threads[0].nr_seccomp = 0;	/* filter mode without filters */
	expect_invalid(img, "seccomp mode and filters disagree");
	img = sample_image_seccomp();
	img->tasks[1].threads[1].seccomp_mode = 0;	/* filters without filter mode */
	expect_invalid(img, "seccomp mode and filters disagree");
	img = sample_image_seccomp();
	img->seccomp[0].flags = 1;			/* TSYNC is no filter's flag */
	expect_invalid(img, "unknown flags");
	img = sample_image_seccomp();
	img->seccomp[2].len = 0;
	expect_invalid(img, "has 0 instructions");
	/* longer than the kernel's MAX_INSNS_PER_PATH: 9 x (4096 + 4) */
	img = sample_image_seccomp();
	free(img->tasks[1].threads[1].seccomp);
	img->tasks[1].threads[1].nr_seccomp = 9;
	img->tasks[1].threads[1].seccomp = calloc(9, sizeof(uint32_t));
	for (int i = 0; i < 9; i++)
		img->tasks[1].threads[1].seccomp[i] = 1;
	expect_invalid(img, "seccomp filters too long");
	/* a program beyond BPF_MAXINSNS does not even decode */
	img = sample_image_seccomp();
	free(img->seccomp[1].insns);
	img->seccomp[1] = sample_filter(CT_BPF_MAXINSNS + 1, 0, 5);
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	ct_err_clear();
	assert_int_equal(blob_decode(buf, len, "crafted", &back), -EBADMSG);
	assert_non_null(strstr(ct_err_msg(), "malformed record"));
	free(buf);
	image_free(img);
}
/* An image with zombie children of the init: one exit, one signal death. */
static struct ct_image *sample_image_zombies(void)
{
	struct ct_image *img = sample_image();

	img->nr_zombies = 2;
	img->zombies = calloc(2, sizeof(*img->zombies));
	img->zombies[0] = (struct ct_zombie){ .pid = 40, .ppid = 1, .pgid = 1, .sid = 1,
					      .exit_signal = SIGCHLD, .status = 7 << 8, .comm = "exit7" };
	img->zombies[1] = (struct ct_zombie){ .pid = 41, .ppid = 2, .pgid = 41, .sid = 1,
					      .exit_signal = SIGCHLD, .status = SIGTERM, .comm = "term" };
	img->tasks[1].share_parent = CT_SHARE_FILES | CT_SHARE_FS;
	return img;
}

/* Zombies come back with their parent, group and wait status. */
static void test_blob_zombie_round_trip(void **state)
{
	struct ct_image *img = sample_image_zombies(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->nr_zombies, 2);
	assert_memory_equal(&back->zombies[0], &img->zombies[0], sizeof(img->zombies[0]));
	assert_memory_equal(&back->zombies[1], &img->zombies[1], sizeof(img->zombies[1]));
	assert_int_equal(back->tasks[1].share_parent, CT_SHARE_FILES | CT_SHARE_FS);
	free(buf);
	image_free(back);
	image_free(img);
}

/* Zombies restore could not make, or that would clash with a task, are refused. */
static void test_blob_zombie_crafted_refused(void **state)
{
	struct ct_image *img;

	(void)state;
	img = sample_image_zombies();
	img->zombies[1].pid = 2;			/* a task's pid */
	expect_invalid(img, "bad or repeated pid");
	img = sample_image_zombies();
	img->zombies[1].pid = 40;			/* the other zombie's */
	expect_invalid(img, "bad or repeated pid");
	img = sample_image_zombies();
	img->zombies[0].ppid = 40;			/* a zombie has no children */
	expect_invalid(img, "is not in the image");
	img = sample_image_zombies();
	img->zombies[0].status = SIGSTOP;		/* stops, never kills */
	expect_invalid(img, "bad exit status");
	img = sample_image_zombies();
	img->zombies[0].status = 0x17f;		/* a stopped status */
	expect_invalid(img, "bad exit status");
	img = sample_image_zombies();
	img->zombies[0].status = (7 << 8) | 0x80;	/* core flag without a signal */
	expect_invalid(img, "bad exit status");
	/* sharing with the parent: known kinds only, and the init has none to share with */
	img = sample_image_zombies();
	img->tasks[1].share_parent = 4;
	expect_invalid(img, "bad sharing with its parent");
	img = sample_image_zombies();
	img->tasks[0].share_parent = CT_SHARE_FILES;
	expect_invalid(img, "bad sharing with its parent");
}

/* An image with a memfd mapped by task 2 and a shared anonymous object only a fd holds. */
static struct ct_image *sample_image_shm(void)
{
	struct ct_image *img = sample_image();
	struct ct_mm *mm = &img->tasks[1].mm;

	img->nr_shm = 2;
	img->shm = calloc(2, sizeof(*img->shm));
	img->shm[0] = (struct ct_shm){ .key = CT_SHM_KEY_BASE, .kind = CT_SHM_MEMFD,
				       .size = 3 * 4096 + 100, .seals = 0xc, .mode = 0644,
				       .path = strdup("pool"), .nr_pages = 2 };
	img->shm[1] = (struct ct_shm){ .key = CT_SHM_KEY_BASE + 1, .kind = CT_SHM_ANON,
				       .size = 1 << 20 };
	mm->vmas = realloc(mm->vmas, 3 * sizeof(*mm->vmas));
	mm->vmas[2] = (struct ct_vma){ .start = 0x900000, .end = 0x904000, .kind = CT_VMA_SHMEM,
				       .flags = MAP_SHARED, .prot = PROT_READ | PROT_WRITE,
				       .shm_key = CT_SHM_KEY_BASE, .madv = CT_MADV_LOCKED,
				       .path = strdup("/memfd:pool (deleted)") };
	mm->nr_vmas = 3;
	mm->mlockall = MCL_FUTURE;
	return img;
}

/* Shared memory objects, the mlockall flags and a shmem mapping's key come back. */
static void test_blob_shm_round_trip(void **state)
{
	struct ct_image *img = sample_image_shm(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->nr_shm, 2);
	assert_int_equal(back->shm[0].kind, CT_SHM_MEMFD);
	assert_int_equal(back->shm[0].size, 3 * 4096 + 100);
	assert_int_equal(back->shm[0].seals, 0xc);
	assert_int_equal(back->shm[0].mode, 0644);
	assert_int_equal(back->shm[0].nr_pages, 2);
	assert_string_equal(back->shm[0].path, "pool");
	assert_null(back->shm[1].path);
	assert_ptr_equal(image_find_shm(back, CT_SHM_KEY_BASE + 1), &back->shm[1]);
	assert_int_equal(back->tasks[1].mm.vmas[2].shm_key, CT_SHM_KEY_BASE);
	assert_int_equal(back->tasks[1].mm.vmas[2].madv, CT_MADV_LOCKED);
	assert_int_equal(back->tasks[1].mm.mlockall, MCL_FUTURE);
	assert_int_equal(back->tasks[0].mm.mlockall, 0);
	free(buf);
	image_free(back);
	image_free(img);
}

/* Shared memory records restore could not trust are refused. */
static void test_blob_shm_crafted_refused(void **state)
{
	struct ct_image *img;

	(void)state;
	img = sample_image_shm();
	img->shm[1].kind = CT_SHM_NR_KINDS;
	expect_invalid(img, "unknown kind");
	img = sample_image_shm();
	img->shm[1].key = CT_SHM_KEY_BASE;		/* twice */
	expect_invalid(img, "bad or repeated key");
	img = sample_image_shm();
	img->shm[1].key = 7;				/* a task's key */
	expect_invalid(img, "bad or repeated key");
	img = sample_image_shm();
	img->shm[0].nr_pages = 5;			/* more than its 4 pages */
	expect_invalid(img, "bad size");
	img = sample_image_shm();
	img->shm[0].kind = CT_SHM_TMPFS;		/* "pool" is no absolute path */
	expect_invalid(img, "bad path or mode");
	img = sample_image_shm();
	free(img->shm[0].path);
	img->shm[0].path = strdup("a/b");		/* memfd_create() takes no '/' */
	expect_invalid(img, "bad memfd name");
	img = sample_image_shm();
	img->tasks[1].mm.vmas[2].shm_key = CT_SHM_KEY_BASE + 5;
	expect_invalid(img, "names no shared memory object");
}

/*
 * An own IPC namespace with a SysV segment kept with its identity, a POSIX
 * queue of two messages held by a descriptor, its limits, and a cgroup below
 * the container's two levels deep holding task 2.
 */
static struct ct_image *sample_image_ipc(void)
{
	static const uint8_t msgs[] = { 5, 0, 0, 0, 2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0, 1, 0, 0, 0, '!' };
	struct ct_image *img = sample_image_shm();

	img->shape.flags |= CT_SHAPE_OWN_IPC;
	img->shape.mq_limits = (struct ct_mq_limits){ 10, 8192, 256, 10, 8192 };
	for (int i = 0; i < CT_IPC_NR_LIMITS; i++)
		img->ipc_limits[i] = strdup(i == CT_IPC_LIM_SEM ? "250\t32000\t32\t128" : "4001");
	img->shm[1].kind = CT_SHM_SYSV;
	img->shm[1].sysv_key = 0x1bc00001;
	img->shm[1].sysv_id = 3;
	img->shm[1].sysv_flags = CT_SHM_SYSV_IDENTITY | CT_SHM_SYSV_DEST;
	img->shm[1].mode = 0640;
	img->nr_mqueues = 1;
	img->mqueues = calloc(1, sizeof(*img->mqueues));
	img->mqueues[0] = (struct ct_mqueue){ .name = strdup("/q"), .mode = 0640, .uid = 7,
					      .maxmsg = 4, .msgsize = 16,
					      .data = dupmem(msgs, sizeof(msgs)),
					      .data_len = sizeof(msgs) };
	free(img->files[4].watches[0].path);	/* no longer an inotify instance */
	free(img->files[4].watches);
	img->files[4].watches = NULL;
	img->files[4].nr_watches = 0;
	img->files[4].kind = CT_FILE_MQUEUE;
	free(img->files[4].path);
	img->files[4].path = strdup("/q");
	img->nr_cgroups = 2;
	img->cgroups = calloc(2, sizeof(*img->cgroups));
	img->cgroups[0] = (struct ct_cgroup_rec){ .hier = CT_CG_V1_MEMORY, .path = strdup("a"),
						  .limit_memory = 1 << 25 };
	img->cgroups[1] = (struct ct_cgroup_rec){ .hier = CT_CG_V1_MEMORY, .path = strdup("a/b"),
						  .nr_members = 1, .members = calloc(1, sizeof(int32_t)) };
	img->cgroups[1].members[0] = 2;
	return img;
}

/* The IPC namespace's objects, its queue limits and the cgroups below come back. */
static void test_blob_ipc_round_trip(void **state)
{
	struct ct_image *img = sample_image_ipc(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->shm[1].sysv_id, 3);
	assert_int_equal(back->shm[1].sysv_key, 0x1bc00001);
	assert_int_equal(back->shm[1].sysv_flags, CT_SHM_SYSV_IDENTITY | CT_SHM_SYSV_DEST);
	assert_int_equal(back->nr_mqueues, 1);
	assert_string_equal(back->mqueues[0].name, "/q");
	assert_int_equal(back->mqueues[0].maxmsg, 4);
	assert_int_equal(back->mqueues[0].msgsize, 16);
	assert_int_equal(back->mqueues[0].uid, 7);
	assert_int_equal(back->mqueues[0].data_len, img->mqueues[0].data_len);
	assert_memory_equal(back->mqueues[0].data, img->mqueues[0].data, img->mqueues[0].data_len);
	assert_int_equal(back->shape.mq_limits.queues_max, 256);
	assert_string_equal(back->ipc_limits[CT_IPC_LIM_MSGMAX], "4001");
	assert_string_equal(back->ipc_limits[CT_IPC_LIM_SEM], "250\t32000\t32\t128");
	assert_int_equal(back->files[4].kind, CT_FILE_MQUEUE);
	assert_string_equal(back->files[4].path, "/q");
	assert_int_equal(back->nr_cgroups, 2);
	assert_string_equal(back->cgroups[1].path, "a/b");
	assert_int_equal(back->cgroups[0].limit_memory, 1 << 25);
	assert_int_equal(back->cgroups[1].nr_members, 1);
	assert_int_equal(back->cgroups[1].members[0], 2);
	free(buf);
	image_free(back);
	image_free(img);
}

/* IPC and cgroup records restore could not trust are refused. */
static void test_blob_ipc_crafted_refused(void **state)
{
	struct ct_image *img;

	(void)state;
	img = sample_image_ipc();
	img->shape.flags &= ~CT_SHAPE_OWN_IPC;
	expect_invalid(img, "bad SysV flags");
	img = sample_image_ipc();
	img->shm[1].sysv_flags = CT_SHM_SYSV_DEST;		/* no identity */
	expect_invalid(img, "bad SysV flags");
	img = sample_image_ipc();
	img->shm[0].kind = CT_SHM_SYSV;			/* the same segment id twice */
	img->shm[0].sysv_flags = CT_SHM_SYSV_IDENTITY;
	img->shm[0].sysv_id = 3;
	free(img->shm[0].path);
	img->shm[0].path = NULL;
	expect_invalid(img, "twice in the image");
	img = sample_image_ipc();
	free(img->mqueues[0].name);
	img->mqueues[0].name = strdup("/a/b");		/* one component only */
	free(img->files[4].path);
	img->files[4].path = strdup("/a/b");
	expect_invalid(img, "bad POSIX message queue");
	img = sample_image_ipc();
	img->mqueues[0].maxmsg = 1;				/* two messages queued */
	expect_invalid(img, "bad message 1");
	img = sample_image_ipc();
	img->mqueues[0].data[0] = 0xff;			/* priority 65535: at most 32767 */
	img->mqueues[0].data[1] = 0xff;
	expect_invalid(img, "bad message 0");
	img = sample_image_ipc();
	img->mqueues[0].data_len--;				/* the last message cut */
	expect_invalid(img, "bad message 1");
	img = sample_image_ipc();
	free(img->files[4].path);
	img->files[4].path = strdup("/other");
	expect_invalid(img, "mqueue");
	img = sample_image_ipc();
	free(img->ipc_limits[CT_IPC_LIM_SHMMAX]);
	img->ipc_limits[CT_IPC_LIM_SHMMAX] = strdup("1; reboot");
	expect_invalid(img, "SysV limit 0: not a number");
	img = sample_image_ipc();
	free(img->ipc_limits[CT_IPC_LIM_SEM]);
	img->ipc_limits[CT_IPC_LIM_SEM] = NULL;
	expect_invalid(img, "SysV limits without an IPC namespace of its own, or some missing");
	img = sample_image_ipc();
	free(img->cgroups[1].path);
	img->cgroups[1].path = strdup("a/../../etc");
	expect_invalid(img, "bad cgroup record");
	img = sample_image_ipc();
	free(img->cgroups[0].path);
	img->cgroups[0].path = strdup("z");			/* a/b before a */
	expect_invalid(img, "before the group above it");
	img = sample_image_ipc();
	img->cgroups[1].members[0] = 9;
	expect_invalid(img, "is no task");
	img = sample_image_ipc();
	img->cgroups[1].hier = CT_CG_NR_HIER;
	expect_invalid(img, "bad cgroup record");
}

/* Terminal records that restore could not trust are refused. */
static void test_blob_tty_crafted_refused(void **state)
{
	struct ct_image *img;

	(void)state;
	img = sample_image_tty();
	img->files[5].tty_rows = 70000;			/* not a window size */
	expect_invalid(img, "bad terminal record");
	img = sample_image_tty();
	img->files[5].tty_sid = -3;
	expect_invalid(img, "bad terminal record");
	img = sample_image_tty();
	img->files[5].tty_flags = 0x80;			/* unknown flag */
	expect_invalid(img, "bad terminal record");
	img = sample_image_tty();
	image_file_free(&img->files[1]);
	img->files[1] = img->files[5];			/* two terminals */
	img->files[1].tty_dev = 0x8801;
	img->files[1].tty_flags = 0;
	expect_invalid(img, "bad terminal record");
}

static void test_blob_file_atomic_write(void **state)
{
	char dir[] = "/tmp/ctswap-blob-XXXXXX", path[64];
	struct ct_image *img = sample_image(), *back;
	uint64_t bytes;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ckpt-3.meta", dir);
	assert_int_equal(blob_write(path, img, &bytes), 0);
	assert_true(bytes > 48 && bytes < 4096);
	assert_int_equal(blob_read(path, &back), 0);
	assert_int_equal(back->tasks[1].nr_threads, 2);
	image_free(back);
	unlink(path);
	ct_err_clear();
	assert_int_equal(blob_read(path, &back), -ENOENT);
	assert_non_null(strstr(ct_err_msg(), "ckpt-3.meta: cannot read checkpoint"));
	rmdir(dir);
	image_free(img);
}

/* Closed epoll targets, inotify watches on deleted files, pidfds and socket file modes round-trip; crafted ones are refused. */
static void test_blob_fd_kind_records(void **state)
{
	struct ct_image *img = sample_image(), *back = NULL;
	struct ct_inotify_watch *w = &img->files[4].watches[0];
	uint8_t *buf;
	size_t len;

	(void)state;
	/* a watch on a deleted file held by file 0; a pidfd of task 2; a bound socket's file mode */
	free(w->path);
	w->path = NULL;
	w->file = 0;
	img->files[3].kind = CT_FILE_PIDFD;	/* was an epoll: its payload is not used */
	free(img->files[3].epoll_tgts);
	memset((char *)&img->files[3] + CT_FILE_PAYLOAD, 0, sizeof(struct ct_file) - CT_FILE_PAYLOAD);
	img->files[3].pidfd_pid = 2;
	img->files[2].sk_file_mode = 0751;
	img->files[2].sk_file_uid = 4321;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	if (blob_decode(buf, len, "test", &back))
		fail_msg("decode: %s", ct_err_msg());
	assert_null(back->files[4].watches[0].path);
	assert_int_equal(back->files[4].watches[0].file, 0);
	assert_int_equal(back->files[3].pidfd_pid, 2);
	assert_int_equal(back->files[2].sk_file_mode, 0751);
	assert_int_equal(back->files[2].sk_file_uid, 4321);
	image_free(back);
	free(buf);
	img->files[4].watches[0].file = 1;	/* a pipe, not a regular file */
	expect_invalid(img, "bad inotify record");
	img = sample_image();
	img->files[3].kind = CT_FILE_PIDFD;
	free(img->files[3].epoll_tgts);
	memset((char *)&img->files[3] + CT_FILE_PAYLOAD, 0, sizeof(struct ct_file) - CT_FILE_PAYLOAD);
	img->files[3].pidfd_pid = 77;		/* no such task */
	expect_invalid(img, "bad pidfd record");
}

/*
 * A blob written by format 1 (FILE records with every kind's fields flat,
 * tag 3), as ctswap wrote it before the per-kind records: one file of each
 * kind, held by one task at fds 0..11.  It must still load, each kind with
 * its own fields.
 */
static const uint8_t blob_v1[] = {
	0x43, 0x54, 0x53, 0x57, 0x4d, 0x45, 0x54, 0x41, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xbb, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xb0, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x3d, 0x00, 0x16,
	0x31, 0x6e, 0x19, 0xe4, 0x00, 0x00, 0x00, 0x00, 0x33, 0x5f, 0x43, 0x85,
	0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x00, 0xff, 0x12, 0xd9, 0x41,
	0x03, 0xc0, 0xfb, 0x02, 0xbb, 0x3f, 0x21, 0x01, 0x16, 0x00, 0x00, 0x00,
	0x2d, 0x8f, 0xed, 0x3a, 0xe0, 0x1f, 0xba, 0x01, 0x73, 0x5d, 0x00, 0x00,
	0x80, 0x3c, 0x89, 0x67, 0xb8, 0x03, 0x61, 0x7f, 0xce, 0x33, 0x73, 0xf1,
	0xb9, 0xf7, 0x7a, 0x8d, 0x0f, 0x16, 0xcf, 0x2f, 0xcd, 0x65, 0x90, 0x9b,
	0xab, 0xa6, 0xeb, 0xc5, 0xec, 0x34, 0x9e, 0x70, 0xf7, 0x90, 0x3d, 0xea,
	0xf5, 0x9c, 0x5d, 0x57, 0x38, 0x2f, 0xaa, 0x08, 0xfa, 0x94, 0x32, 0xf4,
	0xa2, 0x99, 0x50, 0xbd, 0x1f, 0xd5, 0xc6, 0x81, 0x07, 0x88, 0x20, 0xf9,
	0xc5, 0xb5, 0x15, 0xd9, 0x0c, 0x63, 0xf5, 0x43, 0x3c, 0xbb, 0x2c, 0x50,
	0xda, 0x1e, 0x36, 0x83, 0xd5, 0x97, 0x89, 0x76, 0x37, 0x41, 0x4b, 0x72,
	0x3a, 0x9e, 0x1b, 0x6d, 0xef, 0x98, 0x6a, 0x65, 0x32, 0x3e, 0x52, 0x56,
	0x46, 0x48, 0x51, 0xe3, 0xd7, 0xaa, 0xca, 0x3f, 0x1b, 0x46, 0x87, 0x5e,
	0x8b, 0x80, 0x33, 0x58, 0xed, 0xea, 0x03, 0x12, 0xf4, 0x56, 0x7b, 0x3f,
	0x5e, 0x5e, 0x63, 0x6f, 0x1c, 0xbc, 0xc2, 0x6a, 0xab, 0x0c, 0x3d, 0x2c,
	0xeb, 0x47, 0xab, 0x3c, 0x51, 0xee, 0xc8, 0xdf, 0xff, 0xa9, 0x57, 0xb7,
	0x69, 0x99, 0xe9, 0xcc, 0x38, 0xc0, 0xe6, 0x59, 0xde, 0x3c, 0x7a, 0xaf,
	0xf8, 0x07, 0x55, 0xca, 0x80, 0x49, 0x9e, 0xe8, 0xd8, 0xc1, 0x15, 0x9d,
	0x5e, 0xba, 0x09, 0x20, 0xa2, 0x33, 0xd5, 0xd9, 0xd7, 0xb6, 0xde, 0x5b,
	0x32, 0x2d, 0xc3, 0xb7, 0x6f, 0x3d, 0x84, 0x10, 0x17, 0x4d, 0x7c, 0x4a,
	0x24, 0x58, 0xb3, 0xb2, 0x1a, 0x59, 0xb3, 0x72, 0x85, 0x47, 0x00, 0xd8,
	0x0c, 0xa1, 0xe1, 0x48, 0x7b, 0x98, 0xea, 0x5a, 0x1c, 0x72, 0x8f, 0x1c,
	0xc4, 0x62, 0xeb, 0x31, 0x21, 0x4c, 0x04, 0x13, 0x0d, 0x96, 0x77, 0xe3,
	0x1e, 0xf4, 0x40, 0xdc, 0x51, 0x6e, 0xd6, 0x06, 0x96, 0x11, 0x33, 0xa7,
	0x2f, 0x40, 0x0f, 0x17, 0x58, 0x2d, 0xa2, 0xf5, 0xab, 0x4b, 0xf8, 0x3f,
	0xd7, 0x84, 0x06, 0x52, 0x83, 0xfa, 0xe5, 0xd4, 0xbc, 0xc8, 0x8e, 0x9f,
	0x68, 0x9b, 0x99, 0x7e, 0x90, 0x3a, 0xd7, 0xa5, 0x5b, 0x99, 0xab, 0x78,
	0x7f, 0x0f, 0xdb, 0x70, 0x94, 0x5c, 0x94, 0xaf, 0x94, 0x19, 0xb3, 0x59,
	0x54, 0x35, 0xb2, 0xd9, 0x93, 0xb9, 0x7b, 0x16, 0x00, 0xc1, 0x98, 0xa5,
	0x16, 0x56, 0x2a, 0x3d, 0x3b, 0x24, 0x28, 0xd9, 0x07, 0x27, 0xa2, 0xd4,
	0x9f, 0x84, 0x77, 0x12, 0x54, 0xad, 0x5f, 0x35, 0xea, 0x3d, 0x9c, 0xe6,
	0x39, 0x14, 0xad, 0x00, 0x60, 0xc7, 0x58, 0x3b, 0x03, 0xae, 0x34, 0xb6,
	0xbe, 0x9c, 0xfe, 0x78, 0xc9, 0xf2, 0xa1, 0x92, 0xa7, 0xd3, 0x45, 0x70,
	0x4e, 0x60, 0x57, 0x9b, 0x2f, 0xf9, 0x7a, 0x5d, 0xf3, 0x0a, 0xbd, 0x7d,
	0x62, 0xbd, 0xd5, 0x7c, 0x27, 0x9d, 0x98, 0x22, 0x47, 0x5b, 0x00, 0x00,
	0x00, 0x01, 0x8b, 0x03, 0xbb, 0x3f, 0x00, 0x00, 0x20, 0x21, 0xc6, 0x15,
	0xa8, 0x00, 0x0a, 0xfc, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x59, 0x5a,
};

static void test_blob_format1_still_loads(void **state)
{
	struct ct_image *img = NULL;
	const struct ct_file *f;

	(void)state;
	if (blob_decode(blob_v1, sizeof(blob_v1), "v1", &img))
		fail_msg("format 1 refused: %s", ct_err_msg());
	assert_int_equal(img->version, 1);
	assert_int_equal(img->nr_files, 12);
	f = img->files;
	assert_int_equal(f[0].kind, CT_FILE_REG);
	assert_string_equal(f[0].path, "/tmp/log");
	assert_int_equal(f[0].pos, 77);
	assert_int_equal(f[0].flags, 02001);
	assert_false(f[0].deleted);
	assert_true(f[1].deleted);
	assert_int_equal(f[1].contents_len, 3);
	assert_memory_equal(f[1].contents, "abc", 3);
	assert_int_equal(f[2].kind, CT_FILE_PIPE);
	assert_int_equal(f[2].pipe_id, 4);
	assert_int_equal(f[2].pipe_size, 65536);
	assert_memory_equal(f[2].pipe_data, "queued", 6);
	assert_string_equal(f[3].path, "/tmp/fifo");
	assert_int_equal(f[3].pipe_size, 4096);
	assert_int_equal(f[4].kind, CT_FILE_CHR);
	assert_int_equal(f[5].sk_backlog, 17);
	assert_int_equal(f[5].sk_ino, 1234);
	assert_memory_equal(f[5].sk_queue, "\3\0\0\0abc", 7);
	assert_int_equal(f[6].sk_rcvbuf, 9000);
	assert_int_equal(f[6].sk_opts, 1);
	assert_int_equal(f[7].nr_epoll_tgts, 1);
	assert_int_equal(f[7].epoll_tgts[0].data, 1ULL << 40);
	assert_int_equal(f[7].epoll_tgts[0].file, 5);
	assert_int_equal(f[8].count, 42);
	assert_int_equal(f[8].efd_flags, 1);
	assert_int_equal(f[9].value_nsec, 5000);
	assert_int_equal(f[9].interval_nsec, 7000);
	assert_int_equal(f[9].count, 3);
	assert_int_equal(f[10].nr_watches, 1);
	assert_string_equal(f[10].watches[0].path, "/tmp");
	assert_int_equal(f[11].tty_dev, 0x8801);
	assert_int_equal(f[11].tty_cols, 80);
	assert_int_equal(f[11].tty_cc[2], 0x7f);
	assert_int_equal(f[11].tty_lflag, 0x8a3b);
	image_free(img);
}

/* The sample image plus locks: task 2 holds a POSIX and a flock lock through its fd 5 (file 0). */
static struct ct_image *sample_image_locks(void)
{
	struct ct_image *img = sample_image();

	img->nr_locks = 2;
	img->locks = calloc(2, sizeof(*img->locks));
	img->locks[0] = (struct ct_lock){ .kind = CT_LOCK_POSIX, .type = CT_LOCK_WRITE, .start = 100,
					  .end = 199, .pid = 2, .fd = 5, .file = 0 };
	img->locks[1] = (struct ct_lock){ .kind = CT_LOCK_FLOCK, .type = CT_LOCK_READ,
					  .end = CT_LOCK_EOF, .pid = 2, .fd = 5, .file = 0 };
	return img;
}

static void test_blob_locks_round_trip(void **state)
{
	struct ct_image *img = sample_image_locks(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->nr_locks, 2);
	assert_memory_equal(back->locks, img->locks, 2 * sizeof(*img->locks));
	free(buf);
	image_free(back);
	image_free(img);
}

/* Locks restore could not take as dumped are refused. */
static void test_blob_locks_crafted_refused(void **state)
{
	struct ct_image *img;

	(void)state;
	img = sample_image_locks();
	img->locks[0].kind = 4;
	expect_invalid(img, "lock 0: bad kind");
	img = sample_image_locks();
	img->locks[1].type = 0;
	expect_invalid(img, "lock 1: bad kind, type or range");
	img = sample_image_locks();
	img->locks[0].start = 300;			/* after its end */
	expect_invalid(img, "bad kind, type or range");
	img = sample_image_locks();
	img->locks[0].fd = 0;				/* fd 0 of pid 2 is the pipe */
	expect_invalid(img, "pid 2 has no fd 0 on file 0");
	img = sample_image_locks();
	img->locks[1].pid = 7;				/* no such task */
	expect_invalid(img, "pid 7 has no fd 5");
	img = sample_image_locks();
	img->locks[1].file = 1;				/* a pipe */
	expect_invalid(img, "names no regular file");
}

/* The sample image with file 0 deleted (mode 0645, 3 bytes) and task 1's cwd removed. */
static struct ct_image *sample_image_deleted(void)
{
	struct ct_image *img = sample_image();

	img->files[0].deleted = true;
	img->files[0].contents = dupmem("abc", 3);
	img->files[0].contents_len = 3;
	img->nr_deleted = 2;
	img->deleted = calloc(2, sizeof(*img->deleted));
	img->deleted[0] = (struct ct_deleted){ .what = CT_DELETED_FILE, .index = 0,
					       .mode = S_IFREG | 0645, .uid = 7, .gid = 8, .size = 4096 };
	img->deleted[1] = (struct ct_deleted){ .what = CT_DELETED_CWD, .index = 1,
					       .mode = S_IFDIR | 0750, .path = strdup("/tmp/gone") };
	return img;
}

static void test_blob_deleted_round_trip(void **state)
{
	struct ct_image *img = sample_image_deleted(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->nr_deleted, 2);
	assert_int_equal(back->deleted[0].mode, S_IFREG | 0645);
	assert_int_equal(back->deleted[0].uid, 7);
	assert_int_equal(back->deleted[0].gid, 8);
	assert_int_equal(back->deleted[0].size, 4096);
	assert_int_equal(back->deleted[1].what, CT_DELETED_CWD);
	assert_int_equal(back->deleted[1].index, 1);
	assert_string_equal(back->deleted[1].path, "/tmp/gone");
	free(buf);
	image_free(back);
	image_free(img);
}

/* Deleted records restore could not trust are refused. */
static void test_blob_deleted_crafted_refused(void **state)
{
	struct ct_image *img;

	(void)state;
	img = sample_image_deleted();
	img->deleted[0].index = 1;			/* a pipe, not a deleted file */
	expect_invalid(img, "deleted file record 0");
	img = sample_image_deleted();
	img->deleted[0].size = 2;			/* contents beyond the size */
	expect_invalid(img, "bad file, mode or size");
	img = sample_image_deleted();
	img->deleted[0].mode = S_IFCHR | 0600;
	expect_invalid(img, "bad file, mode or size");
	img = sample_image_deleted();
	img->deleted[1].index = 9;			/* no such task */
	expect_invalid(img, "deleted cwd record 1");
	img = sample_image_deleted();
	free(img->deleted[1].path);
	img->deleted[1].path = strdup("/tmp/../etc");
	expect_invalid(img, "bad task, mode or path");
	img = sample_image_deleted();
	img->deleted[1].what = 3;
	expect_invalid(img, "unknown kind 3");
}

/* The sample image with file 0 (a regular file) recorded for the changed-files check. */
static struct ct_image *sample_image_change(void)
{
	struct ct_image *img = sample_image();

	img->files[0].change = (struct ct_file_change){ .flags = CT_CHANGE_CTIME | CT_CHANGE_HASHED,
							.ctime_sec = 1700000000, .ctime_nsec = 999999999,
							.prefix_hash = 0x0123456789abcdefULL };
	return img;
}

static void test_blob_change_round_trip(void **state)
{
	struct ct_image *img = sample_image_change(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_memory_equal(&back->files[0].change, &img->files[0].change, sizeof(img->files[0].change));
	assert_false(back->files[0].deleted);
	free(buf);
	image_free(back);
	image_free(img);
}

/* A changed-files record restore could not trust is refused. */
static void test_blob_change_crafted_refused(void **state)
{
	struct ct_image *img;

	(void)state;
	img = sample_image_change();
	img->files[0].change.flags |= 4;		/* unknown */
	expect_invalid(img, "file 0: bad file record");
	img = sample_image_change();
	img->files[0].change.flags = CT_CHANGE_HASHED;	/* a checksum without the ctime */
	expect_invalid(img, "file 0: bad file record");
	img = sample_image_change();
	img->files[0].change.ctime_nsec = 1000000000;
	expect_invalid(img, "file 0: bad file record");
}

/* The sample image with a root of its own: the root, a tmpfs /tmp holding a directory, a file and a link. */
static struct ct_image *sample_image_mounts(void)
{
	struct ct_image *img = sample_image();

	img->shape.flags |= CT_SHAPE_OWN_ROOT;
	img->nr_mounts = 3;
	img->mounts = calloc(3, sizeof(*img->mounts));
	img->mounts[0] = (struct ct_mount){ .kind = CT_MNT_ROOT, .is_dir = 1, .mountpoint = strdup("/"),
					    .fstype = strdup("ext4"), .source = strdup("/dev/vda"),
					    .host_path = strdup("/srv/root") };
	img->mounts[1] = (struct ct_mount){ .kind = CT_MNT_TMPFS, .is_dir = 1, .flags = 0x6,
					    .mountpoint = strdup("/tmp"), .fstype = strdup("tmpfs"),
					    .source = strdup("tmpfs"), .data = strdup("size=8192k"), .rank = 2 };
	img->mounts[2] = (struct ct_mount){ .kind = CT_MNT_EXTERNAL, .parent = 0, .is_dir = 1,
					    .mountpoint = strdup("/data"), .fstype = strdup("ext4"),
					    .source = strdup("/dev/vda"), .ext_id = strdup("/data"),
					    .host_path = strdup("/srv/data"), .rank = 1 };
	img->nr_tmpfs = 4;
	img->tmpfs = calloc(4, sizeof(*img->tmpfs));
	img->tmpfs[0] = (struct ct_tmpfs_node){ .mount = 1, .path = strdup(""), .mode = S_IFDIR | 01777 };
	img->tmpfs[1] = (struct ct_tmpfs_node){ .mount = 1, .path = strdup("d"), .mode = S_IFDIR | 0711,
						.uid = 5, .gid = 6, .mtime_sec = 77, .mtime_nsec = 88,
						.atime_sec = 99, .atime_nsec = 111 };
	img->tmpfs[2] = (struct ct_tmpfs_node){ .mount = 1, .path = strdup("d/f"), .mode = S_IFREG | 0640,
						.size = 4096, .data = dupmem("xyz", 3), .data_len = 3 };
	img->tmpfs[3] = (struct ct_tmpfs_node){ .mount = 1, .path = strdup("f2"), .mode = S_IFREG | 0640,
						.link_to = 3 };
	return img;
}

static void test_blob_mounts_round_trip(void **state)
{
	struct ct_image *img = sample_image_mounts(), *back = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(blob_encode(img, &buf, &len), 0);
	assert_int_equal(blob_decode(buf, len, "test", &back), 0);
	assert_int_equal(back->nr_mounts, 3);
	assert_int_equal(back->mounts[1].kind, CT_MNT_TMPFS);
	assert_int_equal(back->mounts[1].flags, 0x6);
	assert_string_equal(back->mounts[1].data, "size=8192k");
	assert_string_equal(back->mounts[0].host_path, "/srv/root");
	assert_string_equal(back->mounts[2].ext_id, "/data");
	assert_int_equal(back->mounts[1].rank, 2);
	assert_int_equal(back->mounts[2].rank, 1);
	assert_int_equal(back->nr_tmpfs, 4);
	assert_string_equal(back->tmpfs[0].path, "");
	assert_int_equal(back->tmpfs[1].mode, S_IFDIR | 0711);
	assert_int_equal(back->tmpfs[1].mtime_nsec, 88);
	assert_int_equal(back->tmpfs[1].atime_sec, 99);
	assert_int_equal(back->tmpfs[1].atime_nsec, 111);
	assert_int_equal(back->tmpfs[2].size, 4096);
	assert_memory_equal(back->tmpfs[2].data, "xyz", 3);
	assert_int_equal(back->tmpfs[3].link_to, 3);
	free(buf);
	image_free(back);
	image_free(img);
}

/* Mount and tmpfs records restore could not trust are refused. */
static void test_blob_mounts_crafted_refused(void **state)
{
	struct ct_image *img;

	(void)state;
	img = sample_image_mounts();
	img->shape.flags &= ~CT_SHAPE_OWN_ROOT;
	expect_invalid(img, "mount records without a root of its own");
	img = sample_image_mounts();
	img->mounts[1].kind = CT_MNT_ROOT;		/* a second root */
	expect_invalid(img, "mount record 1: bad kind");
	img = sample_image_mounts();
	free(img->mounts[1].mountpoint);
	img->mounts[1].mountpoint = strdup("/tmp/../etc");
	expect_invalid(img, "mount record 1: bad mount point");
	img = sample_image_mounts();
	img->mounts[2].parent = 2;			/* on itself */
	expect_invalid(img, "mount record 2: bad mount point");
	img = sample_image_mounts();
	free(img->mounts[2].ext_id);
	img->mounts[2].ext_id = NULL;
	expect_invalid(img, "external mount without a sane id");
	img = sample_image_mounts();
	free(img->tmpfs[2].path);
	img->tmpfs[2].path = strdup("d/../../etc/passwd");
	expect_invalid(img, "tmpfs record 2: bad path");
	img = sample_image_mounts();
	img->tmpfs[2].size = 2;				/* contents beyond the size */
	expect_invalid(img, "tmpfs record 2: bad contents");
	img = sample_image_mounts();
	img->tmpfs[3].link_to = 2;			/* a hard link to a directory */
	expect_invalid(img, "tmpfs record 3: bad contents or link");
	img = sample_image_mounts();
	img->tmpfs[1].mount = 2;			/* of the external mount */
	expect_invalid(img, "tmpfs record 1: not of a tmpfs mount");
	img = sample_image_mounts();
	img->mounts[1].rank = 3;			/* past the last of 3 */
	expect_invalid(img, "mount record 1: its place in the listing (3) is past the last mount");
	img = sample_image_mounts();
	img->tmpfs[1].atime_nsec = 1000000000;
	expect_invalid(img, "tmpfs record 1: bad times");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blob_round_trip),
		cmocka_unit_test(test_blob_byte_flips_never_crash),
		cmocka_unit_test(test_blob_newer_version_refused),
		cmocka_unit_test(test_blob_crafted_images_refused),
		cmocka_unit_test(test_blob_file_atomic_write),
		cmocka_unit_test(test_blob_tty_round_trip),
		cmocka_unit_test(test_blob_pty_round_trip),
		cmocka_unit_test(test_blob_pty_orphan_round_trip),
		cmocka_unit_test(test_blob_tty_crafted_refused),
		cmocka_unit_test(test_blob_seccomp_round_trip),
		cmocka_unit_test(test_blob_seccomp_crafted_refused),
		cmocka_unit_test(test_blob_shm_round_trip),
		cmocka_unit_test(test_blob_shm_crafted_refused),
		cmocka_unit_test(test_blob_format1_still_loads),
		cmocka_unit_test(test_blob_fd_kind_records),
		cmocka_unit_test(test_blob_zombie_round_trip),
		cmocka_unit_test(test_blob_zombie_crafted_refused),
		cmocka_unit_test(test_blob_locks_round_trip),
		cmocka_unit_test(test_blob_locks_crafted_refused),
		cmocka_unit_test(test_blob_deleted_round_trip),
		cmocka_unit_test(test_blob_deleted_crafted_refused),
		cmocka_unit_test(test_blob_change_round_trip),
		cmocka_unit_test(test_blob_change_crafted_refused),
		cmocka_unit_test(test_blob_mounts_round_trip),
		cmocka_unit_test(test_blob_mounts_crafted_refused),
		cmocka_unit_test(test_blob_ipc_round_trip),
		cmocka_unit_test(test_blob_ipc_crafted_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
