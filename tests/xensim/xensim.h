/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xensim: the simulated hypervisor shared by the preload (libxensim.so),
 * the control tool (xensim) and the guest simulator (libxsguest.so).
 *
 * All state lives in the directory named by $XENSIM_DIR:
 *
 *   state        one shared table (mmap MAP_SHARED by every process):
 *                domains (exists, shutdown/dying flags, reason, gfn,
 *                guest-side xenstore port) and event channel ports
 *                (owner domain, remote domain, peer port, virq, the
 *                receiving socket, the delivery state).  Changes are
 *                made under flock(state) plus a process-local mutex.
 *   ring.<domid> the 4096-byte xenstore ring page of a domain.
 *   xsd_port     dom0's guest-side port, decimal, no trailing newline;
 *                /proc/xen/xsd_port is redirected here and
 *                /proc/xen/xsd_kva to ring.0 by the preload.
 *
 * Event channels: every xenevtchn handle (and every attached guest) owns
 * one Unix datagram socket in the abstract namespace, named after the
 * state directory's device and inode, so names never clash between
 * directories and never need cleaning up.  Delivering an event to port P
 * sends the 4-byte port number to the socket that owns P.  Each port has
 * Xen's masking semantics: after one delivery no more datagrams are sent
 * for P until P is unmasked; a notification that arrives meanwhile is
 * remembered and delivered again by unmask.  So the handle's fd is
 * readable exactly when a port is pending, and the datagram queue never
 * holds more than one entry per port.
 *
 * Across exec, as Xen's /dev/xen/evtchn: a handle's socket is
 * close-on-exec unless opened with XENEVTCHN_NO_CLOEXEC.  A kept one is
 * adopted again by xenevtchn_fdopen(), which finds the socket's name from
 * the fd: its ports stay bound (same pid, same socket) and events that
 * were pending at the exec are still queued on it.  An fd that is no
 * handle of this state directory is refused (EBADF: not a socket,
 * EINVAL: another socket), as the real driver would refuse its ioctls.
 * A process that names a new socket after an exec skips the names its
 * kept handles still hold.  Ring pages are mapped again by grant as
 * often as asked.
 */
#ifndef XENSIM_H
#define XENSIM_H

#include <stdint.h>
#include <sys/types.h>

#define XS_MAX_DOMS 1024
#define XS_MAX_PORTS 4096
#define XS_SOCK_NAME 64
#define XS_PAGE 4096
#define XS_GFN_BASE 0x1000u
#define XS_MAGIC 0x78736d31u /* "xsm1" */

enum xs_port_state {
	XS_PORT_FREE = 0,
	XS_PORT_UNBOUND, /* allocated, waiting for the remote to bind */
	XS_PORT_INTERDOMAIN,
	XS_PORT_VIRQ,
};

/* Delivery state of a port (xs_port.ev). */
enum { XS_EV_IDLE = 0, XS_EV_SENT = 1, XS_EV_AGAIN = 2 };

struct xs_port {
	int32_t state;
	uint32_t dom;  /* owner */
	uint32_t rdom; /* remote domain (unbound, interdomain) */
	uint32_t peer; /* remote port (interdomain) */
	uint32_t virq;
	uint32_t ev;             /* XS_EV_*, atomic */
	int32_t pid;             /* process owning sock, 0 if none */
	char sock[XS_SOCK_NAME]; /* receiving socket, "" if none */
};

#define XS_DOM_SHUTDOWN 1u
#define XS_DOM_DYING 2u

struct xs_dom {
	uint32_t exists;
	uint32_t flags;
	uint32_t reason;
	uint32_t port; /* guest side of the xenstore event channel */
	uint64_t gfn;
};

struct xs_state {
	uint32_t magic;
	uint32_t next_port;
	struct xs_dom doms[XS_MAX_DOMS];
	struct xs_port ports[XS_MAX_PORTS];
};

/* One opened state directory. */
struct xs_ctx {
	char dir[512];
	int fd; /* the state file, for flock */
	uint64_t dev, ino;
	struct xs_state *st;
};

/* Opens (creating and initialising it if needed, with dom0) the state in
 * dir, or in $XENSIM_DIR if dir is NULL.  Contexts are cached per
 * directory and never freed.  NULL with errno set on failure. */
struct xs_ctx *xs_open(const char *dir);
/* Path of a file in the state directory, in buf (>= 600 bytes). */
const char *xs_path(struct xs_ctx *c, const char *name, char *buf);
void xs_lock(struct xs_ctx *c);
void xs_unlock(struct xs_ctx *c);

/* Makes a new receiving socket, bound in the abstract namespace; its name
 * (without the leading NUL) goes to name.  close-on-exec if cloexec.
 * Returns the fd or -1. */
int xs_socket(struct xs_ctx *c, char name[XS_SOCK_NAME], int cloexec);
/* The name of the receiving socket behind fd, if fd is one of this state
 * directory's: 0, or -1 with EBADF (no socket) or EINVAL (another). */
int xs_sock_name(struct xs_ctx *c, int fd, char name[XS_SOCK_NAME]);
/* Gives the ports bound to socket name whose owning process died to the
 * caller (a handle inherited across fork or handed over). */
void xs_adopt_sock(struct xs_ctx *c, const char *name);
/* Delivers an event to port p (to the socket owning it). */
void xs_deliver(struct xs_ctx *c, uint32_t p);
/* Re-arms port p; delivers again if it was notified while masked. */
void xs_unmask(struct xs_ctx *c, uint32_t p);
/* Sends an event from local port p to its peer.  0 or -1/errno. */
int xs_notify(struct xs_ctx *c, uint32_t p);

/* Port allocation; the caller holds the lock.  0 if none is free. */
uint32_t xs_port_alloc(struct xs_ctx *c);
/* Closes port p (the caller holds the lock): an interdomain peer goes
 * back to unbound. */
void xs_port_close(struct xs_ctx *c, uint32_t p);
/* Closes every port bound to socket name (handle close). */
void xs_close_sock(struct xs_ctx *c, const char *name);

/* Domain control (they take the lock).  0 or -1/errno. */
int xs_dom_create(struct xs_ctx *c, uint32_t domid, uint64_t *gfn,
		  uint32_t *port);
int xs_dom_set(struct xs_ctx *c, uint32_t domid, uint32_t flags,
	       uint32_t reason);
int xs_dom_destroy(struct xs_ctx *c, uint32_t domid);
void xs_fire_virq(struct xs_ctx *c, uint32_t virq);
/* Maps the ring page of domid, MAP_SHARED; NULL/errno. */
void *xs_map_ring(struct xs_ctx *c, uint32_t domid, int prot);

/* The socket events are sent from (made at the first call). */
int xs_send_socket(void);

#endif
