// SPDX-License-Identifier: GPL-2.0-only
/*
 * Whose word a privileged request of the engine rests on. The engine may be
 * subverted by a guest, so it never decides on its own that the broker maps
 * a ring, unmaps one or runs another program: each PrivRequest must answer
 * a request of a privileged client that the broker itself forwarded and
 * that is still waiting for its reply. To know that, the broker reads the
 * payload of exactly these requests, and only from privileged, writable
 * connections (dom0's socket and ring):
 *
 *   INTRODUCE domid gfn port     allows one MAP of (domid, port)
 *   RELEASE domid                allows one UNMAP of domid
 *   CONTROL live-update -f PATH  allows one LIVE_UPDATE_FILE of PATH
 *   CONTROL live-update -s ...   allows one LIVE_UPDATE_EXEC
 *
 * Once per request and engine: an engine that died with the request in
 * flight leaves its successor the same allowance. The payloads are read
 * with the parsers the engine uses (include/xs_args.h), so an honest engine
 * never asks for what the broker refuses; a request that no allowance
 * covers proves the engine subverted.
 *
 * Two requests need no client's word: DOMAIN_INFO only reads, and UNMAP of
 * a domain the hypervisor reported dying or gone (guest_may_unmap()).
 */
#include <string.h>

#include "broker.h"
#include "xs_args.h"

/* The most arguments any of these requests has. */
#define ASK_ARGS_MAX 8

static int
split(const struct replay_req *q, const char **argv)
{
	return xs_args_split((const char *)q->payload, q->hdr.len, argv,
			     ASK_ARGS_MAX);
}

uint8_t
authority_ask(int privileged, int readonly, const struct xs_hdr *hdr,
	      const uint8_t *payload)
{
	const char *argv[ASK_ARGS_MAX];
	int argc;

	if (!privileged || readonly)
		return ASK_NONE;
	switch (hdr->type) {
	case XS_INTRODUCE:
		return ASK_INTRODUCE;
	case XS_RELEASE:
		return ASK_RELEASE;
	case XS_CONTROL:
		argc = xs_args_split((const char *)payload, hdr->len, argv,
				     ASK_ARGS_MAX);
		if (argc < 2 || strcmp(argv[0], "live-update") != 0)
			return ASK_NONE;
		if (strcmp(argv[1], "-f") == 0 && argc == 3)
			return ASK_LU_FILE;
		if (strcmp(argv[1], "-s") == 0)
			return ASK_LU_EXEC;
		return ASK_NONE;
	default:
		return ASK_NONE;
	}
}

/* Whether q, a request of kind ask, allows what a, b and s name. */
static int
allows(const struct replay_req *q, uint8_t ask, uint32_t a, uint32_t b,
       const char *s)
{
	const char *argv[ASK_ARGS_MAX];
	unsigned long gfn;
	uint32_t domid, port;
	int argc;

	if (q->ask != ask || q->ask_used || !q->sent)
		return 0;
	argc = split(q, argv);
	switch (ask) {
	case ASK_INTRODUCE:
		return xs_introduce_parse(argc, argv, &domid, &gfn, &port) ==
			       0 &&
		       domid == a && port == b;
	case ASK_RELEASE:
		return argc == 1 && xs_domid_parse(argv[0], &domid) == 0 &&
		       domid == a;
	case ASK_LU_FILE:
		return argc == 3 && strcmp(argv[2], s) == 0;
	case ASK_LU_EXEC:
		return 1;
	}
	return 0;
}

/* Uses up the first allowance for it. Returns -1 if there is none. */
static int
take(struct replay *r, uint8_t ask, uint32_t a, uint32_t b, const char *s)
{
	struct replay_req *q;

	for (q = replay_asks_first(r); q != NULL; q = replay_ask_after(q))
		if (allows(q, ask, a, b, s)) {
			q->ask_used = 1;
			return 0;
		}
	return -1;
}

const char *
authority_check(struct replay *r, const Xsp__PrivRequest *p)
{
	switch (p->op) {
	case XSP__PRIV_REQUEST__OP__MAP:
		if (take(r, ASK_INTRODUCE, p->domid, p->port, NULL) == -1)
			return "asked to map a ring no privileged client "
			       "introduced";
		return NULL;
	case XSP__PRIV_REQUEST__OP__UNMAP:
		if (guest_may_unmap(p->domid) ||
		    take(r, ASK_RELEASE, p->domid, 0, NULL) == 0)
			return NULL;
		return "asked to unmap a ring no privileged client released";
	case XSP__PRIV_REQUEST__OP__DOMAIN_INFO:
		return NULL;
	case XSP__PRIV_REQUEST__OP__LIVE_UPDATE_FILE:
		if (take(r, ASK_LU_FILE, 0, 0, p->path) == -1)
			return "named a live-update binary no privileged "
			       "client named";
		return NULL;
	case XSP__PRIV_REQUEST__OP__LIVE_UPDATE_EXEC:
		if (take(r, ASK_LU_EXEC, 0, 0, NULL) == -1)
			return "started a live update no privileged client "
			       "asked for";
		return NULL;
	default:
		return "unknown privileged request";
	}
}
