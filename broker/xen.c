// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hypervisor interfaces that serving guests' rings needs: event channels
 * (libxenevtchn), grant mappings of the ring pages (libxengnttab) and
 * domain state (libxenctrl). Opening them is the first thing the broker
 * does without --socket-only, so that a host without Xen fails at once and
 * says which interface is missing.
 */

/*
 * xenctrl.h pulls in Xen's public headers, which use anonymous structs and
 * refuse to compile under strict ISO C; the rest of the broker stays C11.
 */
#undef __STRICT_ANSI__
#include <errno.h>
#include <string.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "broker.h"

static void
xen_fail(const char *what)
{
	log_warnx("cannot open %s: %s; --socket-only serves only the Unix "
		  "sockets, without Xen",
		  what, strerror(errno));
}

/*
 * Returns 0 with every handle open, or -1 having said which one failed.
 * evtchn_fd: a live update's event channel handle, with its ports bound
 * (-1: a new one).
 */
int
xen_open(struct xen_handles *xh, int evtchn_fd)
{
	memset(xh, 0, sizeof(*xh));
	if (evtchn_fd != -1)
		xh->evtchn = xenevtchn_fdopen(NULL, evtchn_fd, 0);
	else
		xh->evtchn = xenevtchn_open(NULL, 0);
	if (xh->evtchn == NULL) {
		xen_fail("the event channel device (xenevtchn_open)");
		return -1;
	}
	if ((xh->gnttab = xengnttab_open(NULL, 0)) == NULL) {
		xen_fail("the grant table device (xengnttab_open)");
		xen_close(xh);
		return -1;
	}
	return 0;
}

void
xen_close(struct xen_handles *xh)
{
	if (xh->gnttab != NULL)
		xengnttab_close(xh->gnttab);
	if (xh->evtchn != NULL)
		xenevtchn_close(xh->evtchn);
	memset(xh, 0, sizeof(*xh));
}
