// SPDX-License-Identifier: MIT
/*
 * The guard of an injection: what lets a tracee survive the death of its
 * tracer in the middle of one.
 *
 * While we inject system calls into a task its registers and blocked mask
 * are ours.  If we die then (kill -9, OOM), the kernel detaches the task
 * and resumes it with them.  Instead of killing it then (PTRACE_O_EXITKILL)
 * we make every state we leave it in lead back to its own: before changing
 * anything, a signal frame holding its registers, mask and FPU/xstate is
 * written on its stack below the red zone, exactly as the kernel would
 * deliver a signal, and every register set we give it returns into
 * `rt_sigreturn` on that frame:
 *
 *   between calls:  RIP = a `mov $15, %rax; syscall` in its own text
 *                   (libc's __restore_rt), RSP = frame + 8;
 *   during a call:  RIP = a `syscall` in [vdso] followed only by register
 *                   clears and `ret`, RSP = frame, whose first word (the
 *                   return address of a signal handler) is that restorer.
 *
 * The frame holds the registers with the kernel's syscall-restart fix-up
 * already applied (a task stopped inside an interrupted call resumes by
 * re-issuing it), and an invalid sigaltstack mode so that rt_sigreturn
 * leaves the task's alternate stack as it is (restore_altstack() ignores
 * every error but EFAULT).
 */
#define LOG_PREFIX "inject: "
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "inject/arch.h"
#include "inject/inject.h"
#include "lib/log.h"
#include "lib/util.h"

#define GUARD_TEXT_MAX (64UL << 20)	/* text scanned for a restorer, at most */

/* Look for a restorer in one executable mapping [@start, @end) of @pid. */
static int guard_scan_mapping(pid_t pid, unsigned long start, unsigned long end, unsigned long *ip)
{
	unsigned char *buf;
	long off;
	int ret;

	buf = xmalloc(end - start);
	if (!buf)
		return -ENOMEM;
	ret = inj_read_mem(pid, start, buf, end - start);
	if (!ret) {
		off = inj_arch_find_restorer(buf, end - start);
		ret = off < 0 ? -ENOENT : 0;
		if (!ret)
			*ip = start + off;
	}
	free(buf);
	return ret;
}

/*
 * Where restorers were found lately, by mapping (file, offset, length).
 * The processes of a container map the same libc: scanning its text for
 * each of them took 0.4 ms a process.  A hit is trusted only once the
 * restorer's bytes are read back at the address (text can be patched).
 * Per thread, so that threads injecting at once need no lock.
 */
struct restorer_seen {
	unsigned long long pgoff, ino;
	unsigned int maj, min;
	unsigned long len;
	long off;				/* the restorer's offset in the mapping */
};

#define RESTORERS_SEEN 8
static __thread struct restorer_seen restorers_seen[RESTORERS_SEEN];
static __thread unsigned int restorers_next;

/* The entry for @key's mapping in the cache, or NULL. */
static struct restorer_seen *restorer_lookup(const struct restorer_seen *key)
{
	for (unsigned int i = 0; i < RESTORERS_SEEN; i++) {
		struct restorer_seen *r = &restorers_seen[i];

		if (r->len && r->len == key->len && r->pgoff == key->pgoff && r->ino == key->ino &&
		    r->maj == key->maj && r->min == key->min)
			return r;
	}
	return NULL;
}

/* True if the restorer is still at @ip in @pid (the text of a cache hit). */
static bool restorer_at(pid_t pid, unsigned long ip)
{
	unsigned char text[16];

	return !inj_read_mem_quick(pid, ip, text, sizeof(text)) &&
	       inj_arch_find_restorer(text, sizeof(text)) == 0;
}

/* The restorer in mapping @key at [@start, @end) of @pid: from the cache, or scanned and noted. */
static int guard_restorer_in(pid_t pid, struct restorer_seen *key, unsigned long start,
			     unsigned long end, unsigned long *ip)
{
	struct restorer_seen *hit = restorer_lookup(key);
	int ret;

	if (hit && restorer_at(pid, start + hit->off)) {
		*ip = start + hit->off;
		return 0;
	}
	ret = guard_scan_mapping(pid, start, end, ip);
	if (ret || !key->ino)
		return ret;
	key->off = (long)(*ip - start);
	restorers_seen[restorers_next++ % RESTORERS_SEEN] = *key;
	return 0;
}

/* True if mapping @m of pass @pass is scanned for a restorer: libc's first, then the others. */
static bool guard_scans(const struct inj_map *m, int pass)
{
	bool libc;

	if (!m->exec_file || !m->path || !strchr(m->path, '/') || m->end - m->start > GUARD_TEXT_MAX)
		return false;
	libc = strstr(m->path, "/libc.") || strstr(m->path, "/libc-") || strstr(m->path, "ld-musl");
	return libc == (pass == 0);
}

/*
 * Find an rt_sigreturn restorer in the executable file mappings @maps of
 * @pid: libc's first (every glibc and musl process has one), then the others.
 */
static int guard_find_sigreturn_in(pid_t pid, const struct inj_map *maps, size_t nr,
				   unsigned long *ip)
{
	unsigned long scanned = 0;
	int ret = -ENOENT;

	for (int pass = 0; pass < 2 && ret; pass++) {
		for (size_t i = 0; i < nr && ret && scanned < GUARD_TEXT_MAX; i++) {
			const struct inj_map *m = &maps[i];
			struct restorer_seen key = { .pgoff = m->pgoff, .ino = m->ino, .maj = m->maj,
						     .min = m->min, .len = m->end - m->start };
			int r;

			if (!guard_scans(m, pass))
				continue;
			scanned += m->end - m->start;
			r = guard_restorer_in(pid, &key, m->start, m->end, ip);
			if (r != -ENOENT)
				ret = r;
		}
	}
	return ret;
}

/* Free what guard_read_maps() read. */
static void guard_free_maps(struct inj_map *maps, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free((char *)maps[i].path);
	free(maps);
}

/* The mappings of @pid from /proc/PID/maps, as inj_find_text_in() takes them. */
static int guard_read_maps(pid_t pid, struct inj_map **maps, size_t *nr)
{
	char path[64], line[4352], perms[8];
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	*maps = NULL;
	*nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		struct inj_map m = { 0 };
		char *name = strchr(line, '/') ?: strchr(line, '[');
		int n = 0;

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %llu%n", &m.start, &m.end, perms, &m.pgoff,
			   &m.maj, &m.min, &m.ino, &n) != 7)
			continue;
		if (name) {
			name[strcspn(name, "\n")] = '\0';
			m.path = strdup(name);
			if (!m.path)
				ret = -ENOMEM;
		}
		m.exec_file = !strcmp(perms, "r-xp");
		ret = ret ?: xgrow(maps, &cap, *nr + 1, sizeof(**maps));
		if (ret)
			free((char *)m.path);
		else
			(*maps)[(*nr)++] = m;
	}
	fclose(f);
	if (ret)
		guard_free_maps(*maps, *nr);
	return ret;
}

int inj_find_text_in(pid_t pid, const struct inj_map *maps, size_t nr, struct inj_text *it)
{
	const struct inj_map *vdso = NULL;
	int ret;

	memset(it, 0, sizeof(*it));
	for (size_t i = 0; i < nr && !vdso; i++)
		if (maps[i].path && !strcmp(maps[i].path, "[vdso]"))
			vdso = &maps[i];
	if (!vdso)
		return ct_err(-ENOENT, "pid %d: no [vdso] to inject system calls through", pid);
	ret = inj_scan_vdso_at(pid, vdso->start, vdso->end, it);
	if (ret || !it->syscall_ret_ip)
		return ret;
	ret = guard_find_sigreturn_in(pid, maps, nr, &it->sigreturn_ip);
	if (ret == -ENOENT)
		pr_debug("pid %d: no rt_sigreturn restorer in its text", pid);
	return ret == -ENOENT ? 0 : ret;
}

/* Find in the address space of @pid what a guarded injection needs. */
int inj_find_text(pid_t pid, struct inj_text *it)
{
	struct inj_map *maps;
	size_t nr;
	int ret = guard_read_maps(pid, &maps, &nr);

	if (ret)
		return ct_err(ret, "pid %d: cannot read its mappings: %s", pid, strerror(-ret));
	ret = inj_find_text_in(pid, maps, nr, it);
	guard_free_maps(maps, nr);
	return ret;
}

/*
 * Write the guard frame of the stopped task under @ctx: everything it
 * needs to get its own state back by itself.  -ENOTSUP if it cannot be
 * guarded (no gadgets, no xstate, no writable stack below RSP).
 */
int inj_guard_frame(struct inj_ctx *ctx, const struct inj_text *it)
{
	struct user_regs_struct own = ctx->saved_regs;
	unsigned long frame, fpstate;
	uint8_t *fp;
	size_t fp_len;
	int ret;

	if (!it->syscall_ret_ip || !it->sigreturn_ip)
		return -ENOTSUP;
	ret = inj_arch_read_fpstate(ctx->tid, &fp, &fp_len);
	if (ret)
		return ret;
	inj_arch_restart_fixup(&own);
	frame = inj_arch_place_frame(inj_arch_sp(&own), fp_len, &fpstate);
	ret = inj_arch_write_frame(ctx->tid, frame, &own, ctx->saved_sigmask, it->sigreturn_ip,
				fpstate, fp, fp_len);
	free(fp);
	if (ret) {
		pr_debug("pid %d: no room for a guard frame below sp %lx: %s", ctx->tid,
			 inj_arch_sp(&own), strerror(-ret));
		return -ENOTSUP;
	}
	ctx->frame = frame;
	ctx->sigreturn_ip = it->sigreturn_ip;
	ctx->syscall_ip = it->syscall_ret_ip;
	return 0;
}

/*
 * Below the guard frame, a second frame for the child of an injected
 * clone whose stack is @*child_sp: should it ever run on its own (its
 * tracer died during the clone) it returns into exit_group(0), never into
 * the parent's code.
 */
int inj_guard_child_frame(struct inj_ctx *ctx, unsigned long *child_sp)
{
	struct user_regs_struct exit_regs = ctx->saved_regs;
	unsigned long frame, unused;

	frame = inj_arch_place_frame(ctx->frame, 0, &unused);
	inj_set_exit_regs(&exit_regs, ctx->syscall_ip, frame);
	*child_sp = frame;
	return inj_arch_write_frame(ctx->tid, frame, &exit_regs, ~0ULL, ctx->sigreturn_ip, 0, NULL, 0);
}
