// SPDX-License-Identifier: MIT
/*
 * Container shape (see shape.h): checked by the caller, set up in the init.
 *
 * The root filesystem follows what container runtimes give a container
 * (the OCI runtime spec's default mounts): the directory is bind-mounted
 * on itself (pivot_root wants a mount point), /proc, /sys read-only, a
 * tmpfs /dev holding null, zero, full, random, urandom and tty, a devpts
 * instance of its own with /dev/ptmx pointing into it, /dev/shm,
 * /dev/mqueue, then the caller's binds; pivot_root(".", ".") and a lazy
 * unmount of the old root leave nothing of the host's tree visible.
 */
#define LOG_PREFIX "shape: "
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/shape.h"
#include "lib/log.h"
#include "lib/util.h"
#include "task/mounts.h"

/* The device nodes of the container's /dev (major, minor as on every Linux). */
static const struct {
	const char *name;
	unsigned int major, minor;
} shape_devs[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

/* The usual /dev symlinks. */
static const struct {
	const char *name, *target;
} shape_links[] = {
	{ "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
};

/* True if @path is absolute with no "." or ".." component. */
static bool shape_path_clean(const char *path)
{
	const char *p = path;

	if (path[0] != '/')
		return false;
	while ((p = strchr(p, '/'))) {
		p++;
		if ((p[0] == '.' && (p[1] == '/' || !p[1])) ||
		    (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2])))
			return false;
	}
	return true;
}

/* Open the namespace file of --net ns:PATH and check it is a network namespace. */
int shape_open_netns(const char *path, int *fd)
{
	int nstype;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return ct_err(-errno, "%s: network namespace: %m", path);
	nstype = ioctl(*fd, NS_GET_NSTYPE);
	if (nstype != CLONE_NEWNET) {
		close(*fd);
		*fd = -1;
		return ct_err(-EINVAL, "%s: not a network namespace file", path);
	}
	return 0;
}

/* Check one --mount: an existing source, a clean absolute target. */
static int shape_check_mount(const struct ctswap_mount *m)
{
	struct stat st;

	if (!m->src || !m->dst || !m->src[0])
		return ct_err(-EINVAL, "mount: source and target are needed");
	if (stat(m->src, &st) < 0)
		return ct_err(-errno, "%s: mount source: %m", m->src);
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return ct_err(-EINVAL, "%s: mount source: not a directory, regular file or character device",
			      m->src);
	if (!shape_path_clean(m->dst) || !strcmp(m->dst, "/"))
		return ct_err(-EINVAL, "%s: mount target: want an absolute path below / without . or ..",
			      m->dst);
	return 0;
}

int shape_prepare(const char *name, const struct ctswap_run_opts *opts, struct ct_shape *s)
{
	struct stat st;
	int ret;

	*s = (struct ct_shape) { .hostname = opts->hostname, .net = opts->net,
				 .net_fd = -1, .mounts = opts->mounts, .nr_mounts = opts->nr_mounts };
	if (opts->rootfs) {
		if (stat(opts->rootfs, &st) < 0)
			return ct_err(-errno, "%s: rootfs: %m", opts->rootfs);
		if (!S_ISDIR(st.st_mode))
			return ct_err(-ENOTDIR, "%s: rootfs: not a directory", opts->rootfs);
		if (opts->no_pidns)
			return ct_err(-EINVAL, "%s: a root filesystem needs a pid namespace (no --no-pidns)",
				      name);
		/* the init mounts it from its own working directory */
		s->rootfs = realpath(opts->rootfs, NULL);
		if (!s->rootfs)
			return ct_err(-errno, "%s: rootfs: %m", opts->rootfs);
	}
	s->new_uts = s->new_ipc = opts->rootfs || opts->hostname;
	if (opts->nr_mounts && !opts->rootfs)
		return ct_err(-EINVAL, "%s: bind mounts need a root filesystem (--rootfs)", name);
	for (size_t i = 0; i < opts->nr_mounts; i++) {
		ret = shape_check_mount(&opts->mounts[i]);
		if (ret)
			return ret;
	}
	if (opts->hostname && (!opts->hostname[0] || strlen(opts->hostname) > 64))
		return ct_err(-EINVAL, "%s: hostname: want 1 to 64 characters", opts->hostname);
	if (opts->net == CTSWAP_NET_NS)
		return opts->net_ns ? shape_open_netns(opts->net_ns, &s->net_fd) :
				      ct_err(-EINVAL, "%s: no network namespace file given", name);
	if (opts->net != CTSWAP_NET_HOST && opts->net != CTSWAP_NET_NONE)
		return ct_err(-EINVAL, "%s: unknown network mode %d", name, (int)opts->net);
	return 0;
}

void shape_release(struct ct_shape *s)
{
	free(s->rootfs);
	s->rootfs = NULL;
	if (s->net_fd >= 0)
		close(s->net_fd);
	s->net_fd = -1;
}

unsigned long shape_clone_flags(const struct ct_shape *s)
{
	unsigned long flags = 0;

	if (!s)
		return 0;
	if (s->rootfs)
		flags |= CLONE_NEWNS;
	if (s->new_uts)
		flags |= CLONE_NEWUTS;
	if (s->new_ipc)
		flags |= CLONE_NEWIPC;
	if (s->net == CTSWAP_NET_NONE)
		flags |= CLONE_NEWNET;
	return flags;
}

/* Bring lo of the current network namespace up. */
static int shape_lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (sk < 0)
		return ct_err(-errno, "lo: socket: %m");
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
		ret = ct_err(-errno, "lo: cannot read its flags: %m");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (!ret && ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)
		ret = ct_err(-errno, "lo: cannot bring it up: %m");
	close(sk);
	return ret;
}

/* The container's network: join the given namespace, or bring up lo in the new one. */
static int shape_enter_net(const struct ct_shape *s)
{
	if (s->net == CTSWAP_NET_NS && setns(s->net_fd, CLONE_NEWNET) < 0)
		return ct_err(-errno, "cannot join the network namespace: %m");
	if (s->net == CTSWAP_NET_NONE)
		return shape_lo_up();
	return 0;
}

/* mount(2) with a one-line error naming the target. */
static int shape_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		       const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		return ct_err(-errno, "mount %s on %s: %m", type ? type : src ? src : "remount", dst);
	return 0;
}

/* @root/@rel into @buf; @rel is absolute. */
static int shape_path(char *buf, size_t size, const char *root, const char *rel)
{
	if ((size_t)snprintf(buf, size, "%s%s", root, rel) >= size)
		return ct_err(-ENAMETOOLONG, "%s%s: path too long", root, rel);
	return 0;
}

/* Mount @type at @root/@rel, creating the directory if the rootfs lacks it. */
static int shape_mount_at(const char *root, const char *rel, const char *type, unsigned long flags,
			  const char *data)
{
	char path[4096];
	int ret = shape_path(path, sizeof(path), root, rel);

	if (ret)
		return ret;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return ct_err(-errno, "%s: cannot create: %m", path);
	return shape_mount(type, path, type, flags, data);
}

/* The device nodes and symlinks of the container's /dev (a fresh tmpfs). */
static int shape_fill_dev(const char *root)
{
	char path[4096];
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(shape_devs); i++) {
		ret = shape_path(path, sizeof(path), root, "/dev/");
		if (ret)
			return ret;
		strncat(path, shape_devs[i].name, sizeof(path) - strlen(path) - 1);
		if (mknod(path, S_IFCHR | 0666, makedev(shape_devs[i].major, shape_devs[i].minor)) < 0 ||
		    chmod(path, 0666) < 0)	/* past the umask */
			return ct_err(-errno, "%s: cannot create the device node: %m", path);
	}
	for (size_t i = 0; i < ARRAY_SIZE(shape_links); i++) {
		ret = shape_path(path, sizeof(path), root, "/dev/");
		if (ret)
			return ret;
		strncat(path, shape_links[i].name, sizeof(path) - strlen(path) - 1);
		if (symlink(shape_links[i].target, path) < 0)
			return ct_err(-errno, "%s: cannot create the symlink: %m", path);
	}
	return 0;
}

/* /proc, /sys, /dev and what is under it, in the new root @root. */
static int shape_mount_standard(const char *root)
{
	const unsigned long nse = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	return shape_mount_at(root, "/proc", "proc", nse, NULL) ?:
	       shape_mount_at(root, "/sys", "sysfs", nse | MS_RDONLY, NULL) ?:
	       shape_mount_at(root, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") ?:
	       shape_mount_at(root, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			      "newinstance,ptmxmode=0666,mode=0620") ?:
	       shape_mount_at(root, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k") ?:
	       shape_mount_at(root, "/dev/mqueue", "mqueue", nse, NULL) ?:
	       shape_fill_dev(root);
}

/* The target of a bind: a directory or an empty file like its source. */
static int shape_make_target(const char *path, bool dir)
{
	int fd;

	int ret;

	if (dir) {
		ret = mkdir_p(path, 0755);
		return ret ? ct_err(ret, "%s: cannot create: %s", path, strerror(-ret)) : 0;
	}
	if (access(path, F_OK) == 0)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return ct_err(-errno, "%s: cannot create: %m", path);
	close(fd);
	return 0;
}

/* One --mount bind, read-only if asked. */
static int shape_bind(const char *root, const struct ctswap_mount *m)
{
	char path[4096];
	struct stat st;
	int ret = shape_path(path, sizeof(path), root, m->dst);

	if (ret)
		return ret;
	if (stat(m->src, &st) < 0)
		return ct_err(-errno, "%s: mount source: %m", m->src);
	ret = shape_make_target(path, S_ISDIR(st.st_mode)) ?:
	      shape_mount(m->src, path, NULL, MS_BIND | MS_REC, NULL);
	if (!ret && m->ro)
		ret = shape_mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	return ret;
}

/* Build the container's tree under @s->rootfs and make it /. */
static int shape_enter_rootfs(const struct ct_shape *s)
{
	const char *root = s->rootfs;
	int ret;

	/* nothing we mount may propagate back to the host */
	ret = shape_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ?:
	      shape_mount(root, root, NULL, MS_BIND | MS_REC, NULL) ?:
	      shape_mount_standard(root);
	for (size_t i = 0; i < s->nr_mounts && !ret; i++)
		ret = shape_bind(root, &s->mounts[i]);
	return ret ?: mounts_pivot(root);
}

/* A pid namespace on the host's tree: a private /proc that shows it. */
static int shape_enter_pidns(void)
{
	/* keep our /proc mount out of the host's mount namespace */
	return shape_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ?:
	       shape_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

int shape_enter(const struct ct_shape *s, bool new_pidns)
{
	int ret = 0;

	if (s)
		ret = shape_enter_net(s);	/* first: sysfs shows the network of its mounter */
	if (!ret && s && s->mnt_plan)
		ret = mnt_enter(s->mnt_plan, s->mnt_fd);
	else if (!ret && s && s->rootfs)
		ret = shape_enter_rootfs(s);
	else if (!ret && new_pidns)
		ret = shape_enter_pidns();
	if (!ret && s && s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		ret = ct_err(-errno, "%s: sethostname: %m", s->hostname);
	if (!ret && s && s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		ret = ct_err(-errno, "%s: setdomainname: %m", s->domainname);
	return ret;
}

/* "CLOCK SEC NSEC" with 0 <= NSEC < 1e9, as timens_offsets wants it. */
static int shape_fmt_offset(char *buf, size_t size, const char *clock, int64_t ns)
{
	int64_t sec = ns / 1000000000LL, rem = ns % 1000000000LL;

	if (rem < 0) {
		rem += 1000000000LL;
		sec--;
	}
	return snprintf(buf, size, "%s %lld %lld\n", clock, (long long)sec, (long long)rem);
}

int shape_time_for_children(const struct ct_shape *s)
{
	char buf[128];
	int n;

	if (!s || !s->new_time)
		return 0;
	if (unshare(CLONE_NEWTIME) < 0)
		return ct_err(-errno, "cannot make a time namespace: %m");
	/* offsets can be written until the first process enters: the init, cloned next */
	n = shape_fmt_offset(buf, sizeof(buf), "monotonic", s->mono_off_ns);
	shape_fmt_offset(buf + n, sizeof(buf) - n, "boottime", s->boot_off_ns);
	n = write_small_file("/proc/self/timens_offsets", buf);
	if (n)
		return ct_err(n, "time namespace: cannot set the offsets: %s", strerror(-n));
	return 0;
}

/* ---- work inside another namespace, from a thread of our own ---- */

/*
 * Network, UTS and IPC namespaces belong to each thread: a thread that
 * joins one leaves the rest of the process (the caller may be threaded,
 * a library user's program) where it was.  ct_err's message is per
 * thread too: the worker's is carried back.
 */
struct shape_ns_work {
	int fd, nstype;			/* namespace to join; -1: make a new one of type nstype */
	bool in_root;			/* chroot into root_fd first (then fd -1: join nothing) */
	int root_fd;
	bool lo_up;			/* a new network namespace's lo */
	int (*fn)(void *arg);		/* what to run there; NULL: nothing */
	void *arg;
	int new_fd;			/* the new namespace, open */
	int ret;
	char err[512];
};

/* Make a network (lo up if asked) or IPC namespace for this thread alone; open it. */
static int shape_ns_make(struct shape_ns_work *w)
{
	bool net = w->nstype == CLONE_NEWNET;
	const char *path = net ? "/proc/thread-self/ns/net" : "/proc/thread-self/ns/ipc";
	int ret;

	if (unshare(w->nstype) < 0)
		return ct_err(-errno, "cannot make a%s namespace: %m", net ? " network" : "n IPC");
	ret = net && w->lo_up ? shape_lo_up() : 0;
	if (ret)
		return ret;
	w->new_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->new_fd < 0)
		return ct_err(-errno, "%s: %m", path);
	return 0;
}

/* This thread alone: chroot into @root_fd (it shares root and cwd with the process until it unshares). */
static int shape_enter_root(int root_fd)
{
	if (unshare(CLONE_FS) < 0)
		return ct_err(-errno, "cannot unshare the root directory: %m");
	if (fchdir(root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return ct_err(-errno, "cannot enter the container's root: %m");
	return 0;
}

static void *shape_ns_thread(void *arg)
{
	struct shape_ns_work *w = arg;
	const char *msg;

	ct_err_clear();
	if (w->in_root)
		w->ret = shape_enter_root(w->root_fd);
	if (!w->ret && !w->in_root && w->fd < 0)
		w->ret = shape_ns_make(w);
	else if (!w->ret && w->fd >= 0 && setns(w->fd, w->nstype) < 0)
		w->ret = ct_err(-errno, "cannot join namespace: %m");
	if (!w->ret && w->fn)
		w->ret = w->fn(w->arg);
	msg = ct_err_msg();
	if (w->ret && msg)
		snprintf(w->err, sizeof(w->err), "%s", msg);
	return NULL;
}

/* Run @w in a thread of its own; its result, with its error line. */
static int shape_ns_run(struct shape_ns_work *w)
{
	pthread_t th;
	int ret;

	w->new_fd = -1;
	ret = -pthread_create(&th, NULL, shape_ns_thread, w);
	if (ret)
		return ct_err(ret, "cannot start a thread: %s", strerror(-ret));
	pthread_join(th, NULL);
	if (w->ret && w->err[0])
		return ct_err(w->ret, "%s", w->err);
	return w->ret;
}

int shape_in_ns(int fd, int nstype, int (*fn)(void *arg), void *arg)
{
	struct shape_ns_work w = { .fd = fd, .nstype = nstype, .fn = fn, .arg = arg };

	return shape_ns_run(&w);
}

int shape_in_root(int root_fd, int fd, int nstype, int (*fn)(void *arg), void *arg)
{
	struct shape_ns_work w = { .fd = fd, .nstype = nstype, .in_root = true,
				   .root_fd = root_fd, .fn = fn, .arg = arg };

	return shape_ns_run(&w);
}

int shape_in_pid_ns(pid_t pid, const char *ns, int (*fn)(void *arg), void *arg)
{
	static const struct { const char *name; int type; } types[] = {
		{ "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
	};
	char path[64];
	int fd, ret, type = 0;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(types[i].name, ns))
			type = types[i].type;
	if (!type)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ct_err(-errno, "%s: %m", path);
	ret = shape_in_ns(fd, type, fn, arg);
	close(fd);
	return ret;
}

/* A new namespace of type @nstype (@lo_up: see shape_new_netns) into *@fd. */
static int shape_new_ns(int nstype, bool lo_up, int *fd)
{
	struct shape_ns_work w = { .fd = -1, .nstype = nstype, .lo_up = lo_up };
	int ret = shape_ns_run(&w);

	if (ret) {
		if (w.new_fd >= 0)
			close(w.new_fd);
		return ret;
	}
	*fd = w.new_fd;
	return 0;
}

int shape_new_netns(bool lo_up, int *fd)
{
	return shape_new_ns(CLONE_NEWNET, lo_up, fd);
}

int shape_new_ipcns(int *fd)
{
	return shape_new_ns(CLONE_NEWIPC, false, fd);
}
