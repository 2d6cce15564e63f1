// SPDX-License-Identifier: MIT
/*
 * crpc_client: drive a `criu swrk` program as runc and go-criu do, for
 * tests/bats/80-criu-rpc.bats.  Makes a SOCK_SEQPACKET pair, runs
 * `CRIU swrk 3` with one end as its fd 3, sends one request built from the
 * arguments, answers every notification (printing "notify SCRIPT PID"),
 * prints the final reply and the program's exit status.
 *
 *   crpc_client CRIU TYPE [key=value...]
 *     TYPE: a request name (VERSION, DUMP, ...) or a number
 *     images_dir=PATH work_dir=PATH (opened here; their fd numbers are sent)
 *     images_dir_fd=N work_dir_fd=N (raw numbers), pid=N, feature=mem_track|lazy_pages,
 *     a bool option name=1 (leave_running, lazy_pages, ...), config_file=PATH, ps=1 (a page
 *     server), log_file=NAME, log_level=N, freeze_cgroup=PATH, root=PATH, parent_img=PATH,
 *     ext_mnt=KEY:VAL, cg_root=CTRL:PATH, inherit_fd=KEY:FD, external=S,
 *     empty_ns=N, fail_notify=SCRIPT (answer that one with failure),
 *     truncate=N (send only the first N bytes of the encoded request),
 *     enter_cgroup=DIR (run CRIU in that group, as runc places it before a
 *     restore; may repeat), run_at=SCRIPT:CMD (run `sh -c CMD` when that
 *     notification comes, before answering it; $CRPC_PID is its pid),
 *     pts_hold=PATH (send an fd that comes with a notification on to the
 *     unix stream socket PATH, as runc sends the orphan-pts-master to
 *     conmon's console socket)
 *
 * Exit: 0 if the reply said success, 1 if it said failure, 3 on a broken
 * exchange (no reply, undecodable reply, timeout).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crpc.pb-c.h"

static pid_t child;
static const char *pts_hold;
static const char *enter[16];
static int nr_enter;
static char *run_at_script, *run_at_cmd;

static void on_alarm(int sig)
{
	(void)sig;
	if (child > 0)
		kill(child, SIGKILL);
	_exit(3);
}

static int req_type(const char *s)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(
		&crpc__req_type__descriptor, s);

	return v ? v->value : atoi(s);
}

/* Set the bool option @name of @o; false if there is no such bool option. */
static bool set_bool(Crpc__Options *o, const char *name, bool val)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(&crpc__options__descriptor, name);

	if (!f || f->type != PROTOBUF_C_TYPE_BOOL || f->label != PROTOBUF_C_LABEL_OPTIONAL)
		return false;
	*(protobuf_c_boolean *)((char *)o + f->offset) = val;
	*(protobuf_c_boolean *)((char *)o + f->quantifier_offset) = true;
	return true;
}

#define PUSH(arr, n, item) do { \
	arr = realloc(arr, (n + 1) * sizeof(*arr)); \
	arr[n++] = item; \
} while (0)

/* Split "A:B" at the first colon: returns B, A is cut in place. */
static char *split(char *s)
{
	char *colon = strchr(s, ':');

	if (!colon) {
		fprintf(stderr, "crpc_client: %s: expected KEY:VALUE\n", s);
		exit(2);
	}
	*colon = '\0';
	return colon + 1;
}

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0) {
		fprintf(stderr, "crpc_client: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

static void parse_arg(Crpc__Request *req, Crpc__Options *o, char *arg, const char **fail_notify,
		      long *truncate_to)
{
	char *val = strchr(arg, '=');

	if (!val) {
		fprintf(stderr, "crpc_client: %s: expected key=value\n", arg);
		exit(2);
	}
	*val++ = '\0';
	if (!strcmp(arg, "images_dir"))
		o->images_dir_fd = open_dir(val);
	else if (!strcmp(arg, "images_dir_fd"))
		o->images_dir_fd = atoi(val);
	else if (!strcmp(arg, "work_dir"))
		{ o->has_work_dir_fd = true; o->work_dir_fd = open_dir(val); }
	else if (!strcmp(arg, "work_dir_fd"))
		{ o->has_work_dir_fd = true; o->work_dir_fd = atoi(val); }
	else if (!strcmp(arg, "pid"))
		{ o->has_pid = true; o->pid = atoi(val); }
	else if (!strcmp(arg, "log_level"))
		{ o->has_log_level = true; o->log_level = atoi(val); }
	else if (!strcmp(arg, "empty_ns"))
		{ o->has_empty_ns = true; o->empty_ns = strtoul(val, NULL, 0); }
	else if (!strcmp(arg, "log_file"))
		o->log_file = val;
	else if (!strcmp(arg, "freeze_cgroup"))
		o->freeze_cgroup = val;
	else if (!strcmp(arg, "root"))
		o->root = val;
	else if (!strcmp(arg, "config_file"))
		o->config_file = val;
	else if (!strcmp(arg, "parent_img"))
		o->parent_img = val;
	else if (!strcmp(arg, "external"))
		PUSH(o->external, o->n_external, val);
	else if (!strcmp(arg, "ps")) {
		static Crpc__PageServer ps = CRPC__PAGE_SERVER__INIT;
		o->ps = &ps;
	} else if (!strcmp(arg, "ext_mnt")) {
		Crpc__ExtMount *m = malloc(sizeof(*m));
		crpc__ext_mount__init(m);
		m->key = val;
		m->val = split(val);
		PUSH(o->ext_mnt, o->n_ext_mnt, m);
	} else if (!strcmp(arg, "cg_root")) {
		Crpc__CgroupPlace *g = malloc(sizeof(*g));
		crpc__cgroup_place__init(g);
		g->ctrl = val;
		g->path = split(val);
		PUSH(o->cg_root, o->n_cg_root, g);
	} else if (!strcmp(arg, "inherit_fd")) {
		Crpc__InheritedFd *f = malloc(sizeof(*f));
		crpc__inherited_fd__init(f);
		f->key = val;
		f->fd = atoi(split(val));
		PUSH(o->inherit_fd, o->n_inherit_fd, f);
	} else if (!strcmp(arg, "feature")) {
		static Crpc__Features feat = CRPC__FEATURES__INIT;
		if (!strcmp(val, "mem_track"))
			feat.has_mem_track = feat.mem_track = true;
		else
			feat.has_lazy_pages = feat.lazy_pages = true;
		req->features = &feat;
	} else if (!strcmp(arg, "fail_notify"))
		*fail_notify = val;
	else if (!strcmp(arg, "enter_cgroup") && nr_enter < 16)
		enter[nr_enter++] = val;
	else if (!strcmp(arg, "pts_hold"))
		pts_hold = val;
	else if (!strcmp(arg, "run_at")) {
		run_at_script = val;
		run_at_cmd = split(val);
	} else if (!strcmp(arg, "truncate"))
		*truncate_to = atol(val);
	else if (!set_bool(o, arg, atoi(val) != 0)) {
		fprintf(stderr, "crpc_client: %s: unknown option\n", arg);
		exit(2);
	}
}

static void send_req(int sk, const Crpc__Request *req, long truncate_to)
{
	size_t len = crpc__request__get_packed_size(req);
	uint8_t *buf = malloc(len);

	crpc__request__pack(req, buf);
	if (truncate_to >= 0 && (size_t)truncate_to < len)
		len = truncate_to;
	if (send(sk, buf, len, 0) != (ssize_t)len) {
		perror("crpc_client: send");
		exit(3);
	}
	free(buf);
}

/* Send @fd over a new connection to the unix stream socket pts_hold. */
static void pass_on(int fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'm';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", pts_hold);
	if (sk < 0 || connect(sk, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    sendmsg(sk, &msg, 0) != 1)
		printf("fd not passed on: %s\n", strerror(errno));
	else
		printf("fd passed on\n");
	if (sk >= 0)
		close(sk);
}

/* Receive one reply (and an attached fd: reported, passed on with pts_hold, closed). */
static Crpc__Response *recv_resp(int sk)
{
	uint8_t buf[1 << 16];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t len = recvmsg(sk, &msg, 0);

	if (len <= 0)
		return NULL;
	if (len > 40960)
		printf("oversized reply: %zd bytes\n", len);
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_type == SCM_RIGHTS) {
			int fd, index = -1;
			memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
			if (ioctl(fd, TIOCGPTN, &index) == 0)
				printf("fd attached: pty master %d\n", index);
			else
				printf("fd attached\n");
			if (pts_hold)
				pass_on(fd);
			close(fd);
		}
	}
	return crpc__response__unpack(NULL, len, buf);
}

/* run_at: `sh -c CMD` with the notification's pid in $CRPC_PID, output to ours. */
static void run_cmd(const char *cmd, int pid)
{
	char num[16];
	int status;
	pid_t p;

	snprintf(num, sizeof(num), "%d", pid);
	p = fork();
	if (p == 0) {
		setenv("CRPC_PID", num, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (p > 0 && waitpid(p, &status, 0) < 0 && errno == EINTR)
		;
	fflush(stdout);
}

static void answer(int sk, bool ok)
{
	Crpc__Request ans = CRPC__REQUEST__INIT;

	ans.type = CRPC__REQ_TYPE__NOTIFY;
	ans.has_notify_success = true;
	ans.notify_success = ok;
	send_req(sk, &ans, -1);
}

static void print_final(const Crpc__Response *r)
{
	const ProtobufCEnumValue *t =
		protobuf_c_enum_descriptor_get_value(&crpc__req_type__descriptor, r->type);

	printf("reply %s success=%d", t ? t->name : "?", (int)r->success);
	if (r->has_cr_errno)
		printf(" errno=%d", r->cr_errno);
	if (r->version)
		printf(" version=%d.%d.%d gitid=%s name=%s", r->version->major,
		       r->version->minor, r->version->sublevel,
		       r->version->gitid ? r->version->gitid : "",
		       r->version->name ? r->version->name : "");
	if (r->features)
		printf(" mem_track=%d/%d lazy_pages=%d/%d", (int)r->features->has_mem_track,
		       (int)r->features->mem_track, (int)r->features->has_lazy_pages,
		       (int)r->features->lazy_pages);
	if (r->dump)
		printf(" restored=%d", (int)r->dump->restored);
	if (r->restore)
		printf(" pid=%d", r->restore->pid);
	printf("\n");
	if (r->cr_errmsg)
		printf("errmsg %s\n", r->cr_errmsg);
}

/* Free what parse_arg() allocated. */
static void free_opts(Crpc__Options *o)
{
	for (size_t i = 0; i < o->n_ext_mnt; i++)
		free(o->ext_mnt[i]);
	for (size_t i = 0; i < o->n_cg_root; i++)
		free(o->cg_root[i]);
	for (size_t i = 0; i < o->n_inherit_fd; i++)
		free(o->inherit_fd[i]);
	free(o->ext_mnt);
	free(o->cg_root);
	free(o->inherit_fd);
	free(o->external);
}

int main(int argc, char **argv)
{
	Crpc__Request req = CRPC__REQUEST__INIT;
	Crpc__Options opts = CRPC__OPTIONS__INIT;
	const char *fail_notify = NULL;
	long truncate_to = -1;
	Crpc__Response *r;
	int sv[2], status, ret = 3;

	if (argc < 3) {
		fprintf(stderr, "usage: crpc_client CRIU TYPE [key=value...]\n");
		return 2;
	}
	req.type = req_type(argv[2]);
	opts.images_dir_fd = -1;
	for (int i = 3; i < argc; i++)
		parse_arg(&req, &opts, argv[i], &fail_notify, &truncate_to);
	if (opts.images_dir_fd != -1 || opts.has_pid || argc > 3)
		req.opts = &opts;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		perror("crpc_client: socketpair");
		return 3;
	}
	signal(SIGALRM, on_alarm);
	alarm(getenv("CRPC_TIMEOUT") ? atoi(getenv("CRPC_TIMEOUT")) : 120);
	child = fork();
	if (child == 0) {
		close(sv[0]);
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		for (int i = 0; i < nr_enter; i++) {
			char path[4096];
			FILE *f;

			snprintf(path, sizeof(path), "%s/cgroup.procs", enter[i]);
			f = fopen(path, "w");
			if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f)) {
				perror(path);
				_exit(127);
			}
		}
		execl(argv[1], "criu", "swrk", "3", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	send_req(sv[0], &req, truncate_to);
	free_opts(&opts);
	while ((r = recv_resp(sv[0]))) {
		if (r->type == CRPC__REQ_TYPE__NOTIFY && r->success && r->notify) {
			const char *s = r->notify->script ? r->notify->script : "";
			printf("notify %s %d\n", s, r->notify->has_pid ? r->notify->pid : 0);
			fflush(stdout);
			if (run_at_script && !strcmp(run_at_script, s))
				run_cmd(run_at_cmd, r->notify->has_pid ? r->notify->pid : 0);
			answer(sv[0], !fail_notify || strcmp(fail_notify, s));
			crpc__response__free_unpacked(r, NULL);
			continue;
		}
		print_final(r);
		ret = r->success ? 0 : 1;
		crpc__response__free_unpacked(r, NULL);
		break;
	}
	if (ret == 3)
		printf("no reply\n");
	shutdown(sv[0], SHUT_WR);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		printf("exit %d\n", WEXITSTATUS(status));
	else
		printf("signal %d\n", WTERMSIG(status));
	return ret;
}
