// SPDX-License-Identifier: MIT
/*
 * The table of descriptor kinds (fdkinds.h).  Dump asks each kind's match()
 * in this order, so a kind that takes a subset of another's fds comes first
 * (the console before character devices, pipes before named FIFOs).
 */
#include <stddef.h>

#include "lib/util.h"
#include "task/fdkinds.h"

extern const struct fd_kind fd_kind_reg, fd_kind_chr, fd_kind_pipe, fd_kind_fifo, fd_kind_unix,
	fd_kind_inet, fd_kind_epoll, fd_kind_eventfd, fd_kind_signalfd, fd_kind_timerfd,
	fd_kind_inotify, fd_kind_tty, fd_kind_pidfd,
	fd_kind_memfd, fd_kind_mqueue;

static const struct fd_kind *const fd_kinds[] = {
	&fd_kind_tty,
	&fd_kind_unix,
	&fd_kind_inet,
	&fd_kind_eventfd,
	&fd_kind_epoll,
	&fd_kind_signalfd,
	&fd_kind_timerfd,
	&fd_kind_inotify,
	&fd_kind_pidfd,
	&fd_kind_mqueue,	/* its files look regular */
	&fd_kind_memfd,
	&fd_kind_pipe,
	&fd_kind_fifo,
	&fd_kind_chr,
	&fd_kind_reg,
};

/* The kind with number @kind, NULL if none. */
const struct fd_kind *fd_kind_of(uint32_t kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(fd_kinds); i++)
		if (fd_kinds[i]->kind == kind)
			return fd_kinds[i];
	return NULL;
}

/* The blob's and validator's view of kind @kind (image/image.h), NULL if none. */
const struct ct_file_format *ct_file_format_of(uint32_t kind)
{
	const struct fd_kind *k = fd_kind_of(kind);

	return k ? &k->fmt : NULL;
}

/* The first kind whose match() takes this fd, NULL if none. */
const struct fd_kind *fd_kind_match(const struct fd_dump *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(fd_kinds); i++)
		if (fd_kinds[i]->match(d))
			return fd_kinds[i];
	return NULL;
}
