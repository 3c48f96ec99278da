/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libxsguest: plays a domU (or dom0's kernel side) over the real xenstore
 * ring layout (struct xenstore_domain_interface, xen/io/xs_wire.h) and
 * the simulated event channels of $XENSIM_DIR.  The protocol is the one
 * of docs/misc/xenstore-ring.txt: free-running indexes masked with
 * MASK_XENSTORE_IDX, the guest produces req[] and consumes rsp[], with a
 * barrier between the data and the index and a notification after every
 * update.
 *
 * Functions returning int give 0 (or a count) on success and -1 with
 * errno set (ETIMEDOUT when a deadline passes).  timeout_ms < 0 waits
 * forever.  The library never sleeps blindly: it waits on the event
 * channel only, so a server that forgets to notify makes the caller time
 * out.
 */
#ifndef XSGUEST_H
#define XSGUEST_H

#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

struct xsg;

/* Attaches to domid's ring page and to the guest side of its xenstore
 * event channel.  dir NULL means $XENSIM_DIR. */
struct xsg *xsg_attach(const char *dir, uint32_t domid);
void xsg_detach(struct xsg *g);

struct xenstore_domain_interface *xsg_ring(struct xsg *g);
uint32_t xsg_port(struct xsg *g);
int xsg_fd(struct xsg *g);

/* Signals the server. */
int xsg_notify(struct xsg *g);
/* Waits for an event; 1 if one came (all pending ones are consumed and
 * the port re-armed), 0 on timeout. */
int xsg_wait(struct xsg *g, int timeout_ms);
/* Counts events received so far. */
uint64_t xsg_events(struct xsg *g);

/* Free bytes in req[] and unread bytes in rsp[] (as the indexes say;
 * inconsistent indexes give what the arithmetic gives, clamped to
 * 0..1024). */
size_t xsg_req_space(struct xsg *g);
size_t xsg_rsp_avail(struct xsg *g);

/* Raw ring access without notification: copy up to len bytes into req[]
 * / out of rsp[] and advance the index.  Return the byte count. */
size_t xsg_put(struct xsg *g, const void *buf, size_t len);
size_t xsg_get(struct xsg *g, void *buf, size_t max);

/* Writes all of buf into req[], notifying after each chunk and waiting
 * for space. */
int xsg_write_all(struct xsg *g, const void *buf, size_t len, int timeout_ms);
/* Reads exactly len bytes from rsp[], notifying after each chunk. */
int xsg_read_all(struct xsg *g, void *buf, size_t len, int timeout_ms);

/* One xenstore message: header plus payload. */
int xsg_send(struct xsg *g, uint32_t type, uint32_t req_id, uint32_t tx_id,
	     const void *payload, uint32_t len, int timeout_ms);
/* Receives one message; returns the payload length.  A payload longer
 * than max is read and dropped and gives -1/EMSGSIZE (hdr is filled). */
int xsg_recv(struct xsg *g, struct xsd_sockmsg *hdr, void *payload, size_t max,
	     int timeout_ms);

/* Ring reconnection (xenstore-ring.txt): sets connection to
 * XENSTORE_RECONNECT, notifies, waits for XENSTORE_CONNECTED. */
int xsg_reconnect(struct xsg *g, int timeout_ms);

/* Domain control on a state directory (dir NULL: $XENSIM_DIR), the same
 * operations as the xensim tool. */
int xsg_dom_create(const char *dir, uint32_t domid, uint64_t *gfn,
		   uint32_t *port);
int xsg_dom_shutdown(const char *dir, uint32_t domid, uint32_t reason);
int xsg_dom_dying(const char *dir, uint32_t domid);
int xsg_dom_destroy(const char *dir, uint32_t domid);
/* dom0's guest-side port, the path of its ring page into path (600). */
int xsg_dom0(const char *dir, uint32_t *port, char *path);

#endif
