// SPDX-License-Identifier: GPL-2.0-only
/*
 * C xenstored 4.17's options that have nothing to do here, or that ask for
 * what the broker cannot do. Xen's launchers pass them unchanged, so each
 * is taken: one that means nothing is logged as ignored, saying why; one
 * whose value cannot be honoured stops the start rather than serve a
 * store that is not what was asked for. -T is main.c's: it names the
 * audit log; so is -U, a live update into the broker (takeover.c).
 */
#include <stdio.h>
#include <string.h>

#include "broker.h"

/* A domain id or an event channel port, and only 0, C xenstored's default. */
static int
zero_only(const char *opt, const char *arg, const char *why, char *err,
	  size_t len)
{
	size_t n = strlen(arg);

	if (n == 0 || strspn(arg, "0123456789") != n) {
		snprintf(err, len, "%s: \"%s\" is not a number", opt, arg);
		return -1;
	}
	if (strspn(arg, "0") == n)
		return 0;
	snprintf(err, len, "%s %s: %s; only 0, the default, is accepted", opt,
		 arg, why);
	return -1;
}

static void
note(struct xsd_compat *xc, const char *what)
{
	size_t i;

	for (i = 0; i < xc->nnotes; i++)
		if (xc->notes[i] == what)
			return;
	if (xc->nnotes < XSD_COMPAT_NOTES)
		xc->notes[xc->nnotes++] = what;
}

int
xsd_compat_option(struct xsd_compat *xc, int opt, const char *arg, char *err,
		  size_t len)
{
	switch (opt) {
	case 'R':
		note(xc, "-R (--no-recovery) ignored: the engine never repairs "
			 "a store, it refuses one that does not check");
		return 0;
	case 'I':
		/* C xenstored looks only for "off"; anything else is memory. */
		if (arg != NULL && strcmp(arg, "on") != 0 &&
		    strcmp(arg, "off") != 0) {
			snprintf(err, len, "-I: \"%s\" is neither on nor off",
				 arg);
			return -1;
		}
		note(xc, "-I (--internal-db) ignored: the store is always in "
			 "the engine's memory, never in a database file");
		return 0;
	case 'e':
		return zero_only("--event", arg,
				 "dom0's event channel is read from --xsd-port "
				 "(/proc/xen/xsd_port), as C xenstored does "
				 "outside a stub domain",
				 err, len);
	case 'm':
		return zero_only("--master-domid", arg,
				 "the broker serves dom0 as the domain that "
				 "owns the store, and no other",
				 err, len);
	case 'p':
		return zero_only("--priv-domid", arg,
				 "only dom0 is privileged here; a toolstack "
				 "domain gets no powers",
				 err, len);
	}
	snprintf(err, len, "option %d is not C xenstored's", opt);
	return -1;
}

/*
 * -T: C xenstored writes every request and reply to FILE; the audit log
 * records the same, from the side the engine cannot reach, in bounded
 * memory, and is reopened on SIGHUP as a trace is. An --audit-log of its
 * own is kept.
 */
void
xsd_compat_trace(struct xsd_compat *xc, const char *trace,
		 const char **audit_log)
{
	if (trace == NULL)
		return;
	if (*audit_log == NULL)
		*audit_log = trace;
	else
		note(xc, "-T (--trace-file) ignored: --audit-log names the "
			 "log of requests and replies");
}

void
xsd_compat_log(const struct xsd_compat *xc)
{
	size_t i;

	for (i = 0; i < xc->nnotes; i++)
		log_info("%s", xc->notes[i]);
}
