// SPDX-License-Identifier: MIT
/*
 * One request, one reply: VERSION, FEATURE_CHECK and CHECK answered here,
 * DUMP and RESTORE by their own files; anything else is refused by name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crpc.h"
#include "ctswap.h"

/* The gitid we answer: a runtime's log shows the engine is ctswap. */
#define CRPC_GITID "ctswap-criu-compat-0.1"

static int serve_version(struct crpc_conn *c, const Crpc__Request *req)
{
	Crpc__Response resp = CRPC__RESPONSE__INIT;
	Crpc__Version ver = CRPC__VERSION__INIT;

	(void)req;
	ver.major = CRPC_COMPAT_MAJOR;
	ver.minor = CRPC_COMPAT_MINOR;
	ver.has_sublevel = true;
	ver.sublevel = CRPC_COMPAT_SUBLEVEL;
	ver.gitid = CRPC_GITID;
	ver.name = "ctswap";
	resp.type = CRPC__REQ_TYPE__VERSION;
	resp.success = true;
	resp.version = &ver;
	return crpc_send(c, &resp);
}

/* What ctswap_check() found: every required feature, and lazy restore's. */
struct probe {
	bool required_ok;
	bool uffd_ok;
};

static void probe_one(const struct ctswap_check *chk, void *arg)
{
	struct probe *p = arg;

	if (chk->required && !chk->ok)
		p->required_ok = false;
	if (!strcmp(chk->feature, "userfaultfd (restore)"))
		p->uffd_ok = chk->ok;
}

static void run_probe(struct probe *p)
{
	p->required_ok = true;
	p->uffd_ok = false;
	ctswap_check(probe_one, p);
}

/*
 * FEATURE_CHECK: each feature asked about, answered truthfully.  lazy_pages:
 * a restore through us is lazy (userfaultfd) whenever the kernel allows it.
 * mem_track: a dump after a PRE_DUMP writes only the pages that changed
 * (found by comparing with the pre-copy, not by soft-dirty bits: predump.c).
 */
static int serve_features(struct crpc_conn *c, const Crpc__Request *req)
{
	Crpc__Response resp = CRPC__RESPONSE__INIT;
	Crpc__Features feat = CRPC__FEATURES__INIT;
	struct probe p;

	if (!req->features)
		return crpc_fail(c, EINVAL, "FEATURE_CHECK: no features asked about");
	run_probe(&p);
	if (req->features->has_mem_track) {
		feat.has_mem_track = true;
		feat.mem_track = true;
	}
	if (req->features->has_lazy_pages) {
		feat.has_lazy_pages = true;
		feat.lazy_pages = p.uffd_ok;
	}
	resp.type = CRPC__REQ_TYPE__FEATURE_CHECK;
	resp.success = true;
	resp.features = &feat;
	return crpc_send(c, &resp);
}

/* CHECK: does this kernel offer everything a dump and restore need? */
static int serve_check(struct crpc_conn *c, const Crpc__Request *req)
{
	Crpc__Response resp = CRPC__RESPONSE__INIT;
	struct probe p;

	(void)req;
	run_probe(&p);
	if (!p.required_ok)
		return crpc_fail(c, ENOTSUP, "CHECK: a kernel feature ctswap needs is missing (see ctswap check)");
	resp.type = CRPC__REQ_TYPE__CHECK;
	resp.success = true;
	return crpc_send(c, &resp);
}

/* A request type and what serves it; the function sends the success reply. */
struct handler {
	Crpc__ReqType type;
	int (*serve)(struct crpc_conn *c, const Crpc__Request *req);
};

static const struct handler handlers[] = {
	{ CRPC__REQ_TYPE__VERSION, serve_version },
	{ CRPC__REQ_TYPE__FEATURE_CHECK, serve_features },
	{ CRPC__REQ_TYPE__CHECK, serve_check },
	{ CRPC__REQ_TYPE__DUMP, crpc_dump },
	{ CRPC__REQ_TYPE__PRE_DUMP, crpc_dump },
	{ CRPC__REQ_TYPE__RESTORE, crpc_restore },
};

/* Serve the one request of this connection; 0 if it succeeded. */
int crpc_serve(struct crpc_conn *c)
{
	Crpc__ReqType type = CRPC__REQ_TYPE__EMPTY;
	Crpc__Request *req = NULL;
	int ret;

	ret = crpc_recv(c, &req);
	if (ret == -EPIPE)
		return ret;	/* nobody to answer */
	if (!ret) {
		type = req->type;
		ret = crpc_fail(c, EOPNOTSUPP, "request type %d (%s) is not supported by ctswap",
				(int)type, crpc_type_name(type));
		for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
			if (handlers[i].type == type) {
				c->errmsg[0] = '\0';
				ret = handlers[i].serve(c, req);
				break;
			}
		}
	}
	if (ret) {
		/* An unknown type cannot be echoed: a proto2 reader refuses the value. */
		if (!strcmp(crpc_type_name(type), "unknown"))
			type = CRPC__REQ_TYPE__EMPTY;
		crpc_send_error(c, type, ret);
		if (c->log_fd >= 0)
			dprintf(c->log_fd, "Error (ctswap): %s\n", c->errmsg);
	}
	crpc__request__free_unpacked(req, NULL);
	return ret;
}
