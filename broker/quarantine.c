// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest domains taken out of service because their requests crashed
 * engine after engine. A guest with any reproducible crash would
 * otherwise reconnect and send it again forever, each time costing every
 * client a restart and bringing the restarts nearer their slowest pace.
 * A quarantined domain's ring is not read and cannot reconnect; dom0
 * ends it (xenstore-control quarantine lift DOMID), or introducing or
 * releasing the domain again does. dom0 itself is never quarantined: the
 * toolstack must never be locked out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"

static uint8_t held[XS_DOMID_FIRST_RESERVED / 8];
static unsigned int nheld;

int
quarantine_has(uint32_t domid)
{
	return domid < XS_DOMID_FIRST_RESERVED &&
	       (held[domid / 8] & (1u << (domid % 8)));
}

void
quarantine_clear(uint32_t domid)
{
	if (!quarantine_has(domid))
		return;
	held[domid / 8] &= (uint8_t) ~(1u << (domid % 8));
	nheld--;
}

/*
 * A request of the guest's was in flight at REPLAY_POISON engine deaths
 * in a row: its connection goes, and so does its ring's service.
 */
void
quarantine_domain(uint32_t domid, uint32_t conn, const struct xs_hdr *hdr)
{
	char detail[160];

	if (domid == 0 || domid >= XS_DOMID_FIRST_RESERVED)
		fatalx("quarantine of domain %u", domid);
	snprintf(detail, sizeof(detail),
		 "domain %u: request %u (type %u) on conn %u was being "
		 "handled at %u engine deaths in a row",
		 domid, hdr->req_id, hdr->type, conn, REPLAY_POISON);
	log_warnx("%s: its ring is not served until dom0 lifts the "
		  "quarantine (xenstore-control quarantine lift %u) or "
		  "introduces it again",
		  detail, domid);
	audit_engine_event("quarantine", detail);
	if (!quarantine_has(domid)) {
		held[domid / 8] |= (uint8_t)(1u << (domid % 8));
		nheld++;
	}
	guest_set_aside(domid, "quarantined: request crashed the engine");
}

/* Returns 0, or ENOENT when the domain is not quarantined. */
int
quarantine_lift(uint32_t domid, uint32_t by_conn)
{
	char detail[96];

	if (!quarantine_has(domid))
		return ENOENT;
	quarantine_clear(domid);
	snprintf(detail, sizeof(detail), "domain %u, by conn %u", domid,
		 by_conn);
	log_info("quarantine lifted: %s", detail);
	audit_engine_event("quarantine-lifted", detail);
	guest_resume(domid);
	return 0;
}

/* The quarantined domains, one a line, as a string in buf; its length. */
size_t
quarantine_list(char *buf, size_t size)
{
	size_t len = 0;
	uint32_t d;
	int n;

	buf[0] = '\0';
	for (d = 1; nheld > 0 && d < XS_DOMID_FIRST_RESERVED; d++) {
		if (!quarantine_has(d))
			continue;
		n = snprintf(buf + len, size - len, "%s%u", len > 0 ? "\n" : "",
			     d);
		if (n < 0 || (size_t)n >= size - len) {
			buf[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	return len;
}
