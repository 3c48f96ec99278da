// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim: control tool of the simulated hypervisor.  Operates on
 * $XENSIM_DIR (or -d DIR), which it creates with dom0 if missing.
 *
 *   xensim init                  create the state; prints dom0's
 *                                "ring-path port"
 *   xensim create DOMID          prints "gfn port" (gfn in decimal)
 *   xensim shutdown DOMID [REASON]  mark shut down (default reason 0,
 *                                poweroff), fire VIRQ_DOM_EXC
 *   xensim dying DOMID           mark dying, fire VIRQ_DOM_EXC
 *   xensim destroy DOMID         remove the domain and its ports, fire
 *                                VIRQ_DOM_EXC
 *   xensim virq NUM              fire a VIRQ to every handle bound to it
 *   xensim list                  "domid flags reason gfn port" per domain
 *   xensim ports                 the port table, for debugging
 */
#include "xensim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
usage(void)
{
	fprintf(stderr,
		"usage: xensim [-d DIR] init | create DOMID | shutdown DOMID "
		"[REASON] | dying DOMID | destroy DOMID | virq NUM | list | "
		"ports\n");
	return 2;
}

static int
num(const char *s, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(s, &end, 0);
	if (errno || *end || end == s || n > 0xffffffffUL)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

static int
fail(const char *what)
{
	fprintf(stderr, "xensim: %s: %s\n", what, strerror(errno));
	return 1;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	int i = 1;
	if (argc > 2 && strcmp(argv[1], "-d") == 0) {
		dir = argv[2];
		i = 3;
	}
	if (i >= argc)
		return usage();
	const char *cmd = argv[i++];
	uint32_t a = 0, b = 0;
	if (i < argc && num(argv[i], &a) < 0)
		return usage();
	if (i + 1 < argc && num(argv[i + 1], &b) < 0)
		return usage();
	struct xs_ctx *c = xs_open(dir);
	if (!c)
		return fail("open state (set XENSIM_DIR)");
	struct xs_state *st = c->st;
	char buf[600];

	if (strcmp(cmd, "init") == 0) {
		printf("%s %u\n", xs_path(c, "ring.0", buf), st->doms[0].port);
	} else if (strcmp(cmd, "create") == 0 && i < argc) {
		uint64_t gfn;
		uint32_t port;
		if (xs_dom_create(c, a, &gfn, &port) < 0)
			return fail("create");
		printf("%llu %u\n", (unsigned long long)gfn, port);
	} else if (strcmp(cmd, "shutdown") == 0 && i < argc) {
		if (xs_dom_set(c, a, XS_DOM_SHUTDOWN, b) < 0)
			return fail("shutdown");
	} else if (strcmp(cmd, "dying") == 0 && i < argc) {
		if (xs_dom_set(c, a, XS_DOM_DYING, 0) < 0)
			return fail("dying");
	} else if (strcmp(cmd, "destroy") == 0 && i < argc) {
		if (xs_dom_destroy(c, a) < 0)
			return fail("destroy");
	} else if (strcmp(cmd, "virq") == 0 && i < argc) {
		xs_fire_virq(c, a);
	} else if (strcmp(cmd, "list") == 0) {
		for (uint32_t d = 0; d < XS_MAX_DOMS; d++)
			if (st->doms[d].exists)
				printf("%u %u %u %llu %u\n", d,
				       st->doms[d].flags, st->doms[d].reason,
				       (unsigned long long)st->doms[d].gfn,
				       st->doms[d].port);
	} else if (strcmp(cmd, "ports") == 0) {
		static const char *names[] = {"free", "unbound", "interdomain",
					      "virq"};
		for (uint32_t p = 1; p < XS_MAX_PORTS; p++) {
			struct xs_port *pt = &st->ports[p];
			if (pt->state == XS_PORT_FREE)
				continue;
			printf("%u %s dom=%u rdom=%u peer=%u virq=%u ev=%u "
			       "pid=%d sock=%s\n",
			       p, names[pt->state & 3], pt->dom, pt->rdom,
			       pt->peer, pt->virq, pt->ev, pt->pid,
			       pt->sock[0] ? pt->sock : "-");
		}
	} else {
		return usage();
	}
	return 0;
}
