// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guests' rings: mapping a domain's ring page (its grant of
 * GNTTAB_RESERVED_XENSTORE, never a frame by foreign mapping), binding its
 * event channel, and turning event channel notifications into reads and
 * writes of its connection. Also dom0's own ring (/proc/xen/xsd_kva), the
 * reconnection and error fields of the page, and VIRQ_DOM_EXC: when a
 * domain shuts down or dies, the engine is told.
 *
 * The engine decides which domains are introduced; this file only does
 * what it asks once authority.c found a privileged client's word for it: a
 * domain must exist to be mapped, and only its xenstore grant is ever
 * mapped. A frame number comes from the engine and could name any page of
 * a domain being built; a grant is what the domain itself offers.
 */

/* Xen's headers use anonymous structs that strict ISO C refuses. */
#undef __STRICT_ANSI__
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xen/grant_table.h>

#include "broker.h"
#include "grow.h"

enum { MAPPED_GRANT = 1, MAPPED_FILE };

struct guest {
	uint32_t domid;
	struct xs_ring *ring;
	int mapped; /* MAPPED_*: how to unmap it */
	evtchn_port_t lport;
	int bound; /* lport is bound (else the ring is not served) */
	struct conn *conn;
	int privileged;    /* dom0's own ring */
	int broken;        /* the error field is set: no more service */
	int told_gone;     /* the engine was told the domain is dying or gone */
	uint32_t features; /* advertised on the ring (XS_FEATURE_*) */
	int owed;     /* on owed_list: the ring changed, no event sent yet */
	int owed_now; /* that event may not wait (guest_notify_flush()) */
	struct timespec owed_since;
	TAILQ_ENTRY(guest) owed_entry;
	int polled; /* on polled_list: its port stays masked, we look instead */
	TAILQ_ENTRY(guest) polled_entry;
	/* Reconnections in second rc_sec; one waits for the next second. */
	time_t rc_sec;
	unsigned int rc_count;
	int rc_deferred;
};

static struct xen_handles *xh;
static int socket_only = 1;
static struct guest *guests[XS_DOMID_FIRST_RESERVED];
/*
 * Domains the engine was told exist that have no ring here: the engine
 * honours permission entries naming them, and must hear when they die, or
 * a later domain with the id would inherit those entries.
 */
static unsigned char known_unmapped[XS_DOMID_FIRST_RESERVED];
static struct guest **by_port;
static size_t nports;
static int virq_port = -1;
static struct bevent evtchn_ev;
static TAILQ_HEAD(, guest) owed_list = TAILQ_HEAD_INITIALIZER(owed_list);
static TAILQ_HEAD(, guest) polled_list = TAILQ_HEAD_INITIALIZER(polled_list);
/* Guests whose reconnection waits for the next second. */
static unsigned int ndeferred;

static void
owed_clear(struct guest *g)
{
	if (!g->owed)
		return;
	TAILQ_REMOVE(&owed_list, g, owed_entry);
	g->owed = 0;
	g->owed_now = 0;
}

/* The ring changed: the guest gets an event at the end of the loop's turn. */
static void
owe_event(struct guest *g, int now)
{
	if (!g->owed) {
		g->owed = 1;
		g->owed_since = *loop_now();
		TAILQ_INSERT_TAIL(&owed_list, g, owed_entry);
	}
	if (now)
		g->owed_now = 1;
}

static void
port_set(evtchn_port_t port, struct guest *g)
{
	size_t had = nports;

	if (port >= nports) {
		if (grow_array(&by_port, &nports, (size_t)port + 1,
			       sizeof(*by_port), 64) == -1)
			fatal("event channel table");
		memset(by_port + had, 0, (nports - had) * sizeof(*by_port));
	}
	by_port[port] = g;
}

static struct guest *
port_guest(evtchn_port_t port)
{
	return port < nports ? by_port[port] : NULL;
}

/*
 * What the hypervisor says of a domain: -1 gone, else XEN_DOMINF flags.
 * The spawner asks it: the broker holds no hypercall interface.
 */
static struct {
	int valid;
	uint32_t domid;
	long flags;
	struct timespec at;
} memo;

static long
domain_flags(uint32_t domid)
{
	/*
	 * One answer per domain and loop turn: an engine that asks again and
	 * again in one batch (it may ask whatever it likes) costs one round
	 * trip to the spawner, and a turn is as fresh as any answer can be.
	 */
	const struct timespec *now = loop_now();
	struct spawn_dominfo r;

	if (memo.valid && memo.domid == domid &&
	    memo.at.tv_sec == now->tv_sec && memo.at.tv_nsec == now->tv_nsec)
		return memo.flags;
	spawn_dominfo(domid, &r);
	memo.valid = 1;
	memo.domid = domid;
	memo.flags = r.n > 0 && r.d[0].domid == domid ? (long)r.d[0].flags : -1;
	memo.at = *now;
	return memo.flags;
}

static void
guest_unmap(struct guest *g)
{
	switch (g->mapped) {
	case MAPPED_GRANT:
		xengnttab_unmap(xh->gnttab, (void *)g->ring, 1);
		break;
	case MAPPED_FILE:
		munmap((void *)g->ring, XC_PAGE_SIZE);
		break;
	}
	g->ring = NULL;
	g->mapped = 0;
}

/* A fresh connection on the ring, in the state the guest expects. */
static int
guest_connect(struct guest *g)
{
	/* Introduced again: whatever it did before is forgotten. */
	quarantine_clear(g->domid);
	g->broken = 0;
	g->ring->server_features = g->features;
	g->ring->error = XS_RING_ERROR_NONE;
	g->ring->connection = XS_RING_CONNECTED;
	g->conn = conn_new_ring(g, g->domid, g->privileged, 0);
	return g->conn == NULL ? -1 : 0;
}

static int
guest_bind(struct guest *g, uint32_t remote_port)
{
	xenevtchn_port_or_error_t p;

	p = xenevtchn_bind_interdomain(xh->evtchn, g->domid, remote_port);
	if (p < 0)
		return -1;
	g->lport = (evtchn_port_t)p;
	g->bound = 1;
	port_set(g->lport, g);
	return 0;
}

static void
guest_unbind(struct guest *g)
{
	owed_clear(g);
	if (g->polled) {
		TAILQ_REMOVE(&polled_list, g, polled_entry);
		g->polled = 0;
	}
	if (!g->bound)
		return;
	g->bound = 0;
	port_set(g->lport, NULL);
	xenevtchn_unbind(xh->evtchn, g->lport);
}

static void
guest_free(struct guest *g)
{
	if (g->conn != NULL)
		conn_drop(g->conn, "domain released");
	guest_unbind(g);
	guest_unmap(g);
	guests[g->domid] = NULL;
	quarantine_clear(g->domid);
	if (g->rc_deferred)
		ndeferred--;
	free(g);
}

/* The engine introduces a domain: map its ring, bind its channel. */
static int
guest_map(uint32_t domid, uint32_t port, uint32_t features)
{
	struct guest *g = guests[domid];
	void *ring;

	if (g != NULL) {
		/*
		 * Introduced again (after a resume, say): a new channel and
		 * a reset ring, and the old connection's state is gone.
		 */
		if (g->conn != NULL)
			conn_drop(g->conn, "domain introduced again");
		guest_unbind(g);
		ring_reset(g->ring);
		g->features = features;
		if (guest_bind(g, port) == -1) {
			/*
			 * The domain stays introduced, as the engine keeps
			 * it, with its ring mapped but not served, until it is
			 * introduced again or released (C xenstored leaves
			 * its connection as broken).
			 */
			int err = errno;

			log_warn("domain %u: cannot bind event channel %u; its "
				 "ring is not served until it is introduced "
				 "again",
				 domid, port);
			return err == ENOMEM ? ENOMEM : EINVAL;
		}
		return guest_connect(g) == -1 ? ENOMEM : 0;
	}
	if (domain_flags(domid) < 0)
		return ENOENT;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return ENOMEM;
	g->domid = domid;
	g->features = features;
	ring = xengnttab_map_grant_ref(xh->gnttab, domid,
				       GNTTAB_RESERVED_XENSTORE,
				       PROT_READ | PROT_WRITE);
	g->mapped = MAPPED_GRANT;
	if (ring == NULL) {
		log_warn("domain %u: cannot map its ring's grant", domid);
		free(g);
		return EINVAL;
	}
	g->ring = ring;
	/*
	 * Whatever an earlier connection on this page left in it (requests
	 * it did not take, replies the guest did not read, before a RELEASE)
	 * is not this connection's: it starts on an empty ring, as in C
	 * xenstored. Left there, the new connection would answer the old
	 * requests, or start reading in the middle of one.
	 */
	ring_reset(g->ring);
	if (guest_bind(g, port) == -1) {
		log_warn("domain %u: cannot bind event channel %u", domid,
			 port);
		guest_unmap(g);
		free(g);
		return EINVAL;
	}
	guests[domid] = g;
	if (guest_connect(g) == -1) {
		guest_free(g);
		return ENOMEM;
	}
	log_info("domain %u: ring mapped, event channel %u", domid, port);
	return 0;
}

void
guest_priv(const Xsp__PrivRequest *p)
{
	long flags;
	int err = 0;

	switch (p->op) {
	case XSP__PRIV_REQUEST__OP__MAP:
		/* Without Xen the store keeps its books, with no ring. */
		if (!socket_only)
			err = guest_map(p->domid, p->port,
					p->has_features
						? p->features &
							  XS_FEATURES_SUPPORTED
						: XS_FEATURES_SUPPORTED);
		break;
	case XSP__PRIV_REQUEST__OP__UNMAP:
		if (!socket_only && guests[p->domid] != NULL)
			guest_free(guests[p->domid]);
		break;
	case XSP__PRIV_REQUEST__OP__DOMAIN_INFO:
		flags = socket_only ? -1 : domain_flags(p->domid);
		if (flags >= 0 && !(flags & XEN_DOMINF_dying) &&
		    p->domid < XS_DOMID_FIRST_RESERVED)
			known_unmapped[p->domid] = 1;
		if (p->id != 0)
			engine_send_priv_reply(
				p->id, 0, flags >= 0,
				flags >= 0 && (flags & XEN_DOMINF_dying),
				flags >= 0 && (flags & XEN_DOMINF_shutdown));
		return;
	default:
		fatalx("unchecked privileged request");
	}
	if (p->id != 0)
		engine_send_priv_reply(p->id, err, 0, 0, 0);
}

/* A domain the engine knows of without a ring died: it is told once. */
static void
unmapped_changed(uint32_t d, long flags)
{
	if (!known_unmapped[d] || (flags >= 0 && !(flags & XEN_DOMINF_dying)))
		return;
	known_unmapped[d] = 0;
	engine_send_domain(d, flags >= 0,
			   flags >= 0 && (flags & XEN_DOMINF_shutdown),
			   flags < 0);
}

/*
 * VIRQ_DOM_EXC: some domain shut down or died. Which is the engine's. Also
 * after a new engine starts: what changed while none ran was not told.
 */
void
guest_domains_changed(void)
{
	static long now[XS_DOMID_FIRST_RESERVED];
	struct spawn_dominfo r;
	uint32_t d, first = 1, i;
	long flags;

	/* Every domain's flags, a batch a message; -1: gone. */
	memo.valid = 0;
	for (d = 0; d < XS_DOMID_FIRST_RESERVED; d++)
		now[d] = -1;
	do {
		spawn_dominfo(first, &r);
		for (i = 0; i < r.n; i++)
			now[r.d[i].domid] = (long)r.d[i].flags;
		if (r.n > 0)
			first = r.d[r.n - 1].domid + 1;
	} while (r.n == SPAWN_DOMINFO_MAX && first < XS_DOMID_FIRST_RESERVED);
	for (d = 1; d < XS_DOMID_FIRST_RESERVED; d++) {
		if (guests[d] == NULL) {
			unmapped_changed(d, now[d]);
			continue;
		}
		flags = now[d];
		if (flags < 0 || (flags & XEN_DOMINF_dying))
			guests[d]->told_gone = 1;
		if (flags < 0 ||
		    (flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown)))
			engine_send_domain(
				d, flags >= 0 && (flags & XEN_DOMINF_dying),
				flags >= 0 && (flags & XEN_DOMINF_shutdown),
				flags < 0);
	}
}

/*
 * Whether the engine may unmap domid on its own word: it is not mapped, or
 * the hypervisor said it is dying or gone (the engine then releases it).
 * Any other unmapping needs a privileged client's RELEASE (authority.c).
 */
int
guest_may_unmap(uint32_t domid)
{
	return domid >= XS_DOMID_FIRST_RESERVED || guests[domid] == NULL ||
	       guests[domid]->told_gone;
}

/*
 * Whether the guest may reconnect now: GUEST_RECONNECTS_PER_S times a
 * second, then the next reconnection waits (the guest waits for the
 * connection field to change back, as the protocol says). A guest that
 * reconnects in a loop would otherwise fill the log and use up connection
 * ids, which are never reused.
 */
static int
reconnect_allowed(struct guest *g)
{
	time_t now = loop_now()->tv_sec;

	if (g->rc_deferred)
		return 0;
	if (now != g->rc_sec) {
		g->rc_sec = now;
		g->rc_count = 0;
	}
	if (g->rc_count < GUEST_RECONNECTS_PER_S) {
		g->rc_count++;
		return 1;
	}
	g->rc_deferred = 1;
	ndeferred++;
	log_warnx("domain %u: reconnects more than %u times a second; the "
		  "next waits for the next second",
		  g->domid, GUEST_RECONNECTS_PER_S);
	return 0;
}

static void
guest_event(struct guest *g)
{
	/* Introduced again with a channel that could not be bound. */
	if (!g->bound || quarantine_has(g->domid))
		return;
	if (g->ring->connection == XS_RING_RECONNECT) {
		if (!reconnect_allowed(g))
			return;
		/* The guest starts over: no state of the old connection. */
		if (g->rc_count == 1)
			log_info("domain %u: reconnecting", g->domid);
		if (g->conn != NULL)
			conn_drop(g->conn, "guest reconnects");
		ring_reset(g->ring);
		if (guest_connect(g) == -1)
			return;
		guest_notify(g);
		return;
	}
	if (g->broken || g->conn == NULL)
		return;
	conn_ring_event(g->conn);
}

/*
 * Ports taken per wake-up. Each port is masked until we unmask it, so the
 * device never holds more than one entry per bound port; the bound only
 * keeps a flood of events from starving the sockets for long.
 */
#define EVTCHN_BATCH 256

/*
 * Every pending port is taken before the loop goes on, so that requests of
 * all the guests that signalled reach the engine in one frame. Taking one
 * port per wake-up instead costs a whole loop iteration, and an engine
 * round trip, per guest.
 *
 * A guest's port is not unmasked at once: while the loop is busy it looks
 * at the guest's ring on every turn (guest_poll()) and the guest's events
 * meanwhile only mark the masked port pending, without waking anyone. Its
 * port is unmasked before the loop sleeps (guest_unmask_polled()); an event
 * the guest sent while it was masked is delivered then, so none is lost.
 */
static void
evtchn_event(int fd, uint32_t events, void *arg)
{
	xenevtchn_port_or_error_t port;
	struct guest *g;
	int i;

	for (i = 0; i < EVTCHN_BATCH; i++) {
		if ((port = xenevtchn_pending(xh->evtchn)) < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("event channel");
			return;
		}
		g = port == virq_port ? NULL : port_guest((evtchn_port_t)port);
		if (g == NULL) {
			if (xenevtchn_unmask(xh->evtchn, (evtchn_port_t)port) <
			    0)
				log_warn("event channel %d: unmask", port);
			if (port == virq_port)
				guest_domains_changed();
			continue;
		}
		if (!g->polled) {
			g->polled = 1;
			TAILQ_INSERT_TAIL(&polled_list, g, polled_entry);
		}
		guest_event(g);
	}
}

/* Once per turn of the loop: what an event from each polled guest would do. */
void
guest_poll(void)
{
	struct guest *g, *next;

	for (g = TAILQ_FIRST(&polled_list); g != NULL; g = next) {
		next = TAILQ_NEXT(g, polled_entry);
		guest_event(g);
	}
}

/* Whether a polled guest did what it would have signalled. */
int
guest_polled_active(void)
{
	struct guest *g;

	TAILQ_FOREACH(g, &polled_list, polled_entry)
	{
		if (quarantine_has(g->domid))
			continue;
		if (g->ring->connection == XS_RING_RECONNECT && !g->rc_deferred)
			return 1;
		if (!g->broken && g->conn != NULL && conn_ring_wants(g->conn))
			return 1;
	}
	return 0;
}

/* Before the loop sleeps: events wake it again. */
void
guest_unmask_polled(void)
{
	struct guest *g;

	while ((g = TAILQ_FIRST(&polled_list)) != NULL) {
		TAILQ_REMOVE(&polled_list, g, polled_entry);
		g->polled = 0;
		if (xenevtchn_unmask(xh->evtchn, g->lport) < 0)
			log_warn("event channel %u: unmask", g->lport);
	}
}

static int
read_port(const char *path, uint32_t *port)
{
	char buf[32];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*port = (uint32_t)strtoul(buf, NULL, 10);
	return *port == 0 ? -1 : 0;
}

/* dom0's ring and port, opened while the broker may (guest_open()). */
static void *dom0_ring;
static uint32_t dom0_port;

/*
 * A live update hands over a domain's ring as its old daemon served it:
 * the channel stays bound to local port lport in the event channel handle
 * it left us, and the ring keeps its contents, indexes and features.
 * Returns its connection (id as the stream names it), or NULL when the
 * ring cannot be mapped: the domain stays introduced, unserved, as C
 * xenstored leaves one whose grant is gone.
 */
struct conn *
guest_adopt(uint32_t domid, uint32_t lport, uint32_t id)
{
	struct guest *g;
	void *ring;

	if (socket_only || domid >= XS_DOMID_FIRST_RESERVED ||
	    guests[domid] != NULL)
		fatalx("live update: domain %u cannot be taken over", domid);
	if (domid == 0) {
		if (dom0_ring == NULL)
			fatalx("live update: dom0's ring is not mapped");
		ring = dom0_ring;
	} else {
		ring = xengnttab_map_grant_ref(xh->gnttab, domid,
					       GNTTAB_RESERVED_XENSTORE,
					       PROT_READ | PROT_WRITE);
		if (ring == NULL) {
			log_warn("live update: domain %u: cannot map its "
				 "ring's grant; not served",
				 domid);
			xenevtchn_unbind(xh->evtchn, lport);
			return NULL;
		}
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		fatal("live update: domain %u", domid);
	g->domid = domid;
	g->ring = ring;
	g->mapped = domid == 0 ? MAPPED_FILE : MAPPED_GRANT;
	g->privileged = domid == 0;
	g->features = g->ring->server_features & XS_FEATURES_SUPPORTED;
	g->lport = lport;
	g->bound = 1;
	port_set(lport, g);
	/* An event the old daemon took but had not unmasked yet would leave
	 * the port silent; a spurious one wakes a guest that waits for room. */
	xenevtchn_unmask(xh->evtchn, lport);
	owe_event(g, 0);
	guests[domid] = g;
	if ((g->conn = conn_new_ring(g, domid, g->privileged, id)) == NULL)
		fatalx("live update: domain %u's connection", domid);
	log_info("domain %u: taken over, event channel %u", domid, lport);
	return g->conn;
}

/*
 * dom0's own ring, set up by the dom0 kernel's xenbus driver: its files in
 * /proc/xen are root's, so they are opened before the broker drops root,
 * and served once the engine runs (guest_init()).
 */
void
guest_open(const struct guest_opts *o)
{
	int fd;

	if (o == NULL || o->no_dom0)
		return;
	if (read_port(o->xsd_port, &dom0_port) == -1)
		fatal("dom0's event channel port (%s)", o->xsd_port);
	if ((fd = open(o->xsd_kva, O_RDWR | O_CLOEXEC)) == -1)
		fatal("dom0's ring page (%s)", o->xsd_kva);
	dom0_ring = mmap(NULL, XC_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
	close(fd);
	if (dom0_ring == MAP_FAILED)
		fatal("mapping dom0's ring page (%s)", o->xsd_kva);
}

static void
guest_dom0(const struct guest_opts *o)
{
	struct guest *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		fatal("dom0");
	g->domid = 0;
	g->ring = dom0_ring;
	g->mapped = MAPPED_FILE;
	g->privileged = 1;
	g->features = XS_FEATURES_SUPPORTED;
	if (guest_bind(g, dom0_port) == -1)
		fatal("binding dom0's event channel %u", dom0_port);
	guests[0] = g;
	if (guest_connect(g) == -1)
		fatalx("dom0's connection");
	log_info("dom0: ring %s, event channel %u", o->xsd_kva, dom0_port);
}

void
guest_init(struct xen_handles *h, const struct guest_opts *o)
{
	int p, fd, fl;

	socket_only = o->socket_only;
	if (socket_only)
		return;
	xh = h;
	/* evtchn_event() reads ports until there are none left. */
	fd = xenevtchn_fd(h->evtchn);
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("event channel device: O_NONBLOCK");
	loop_add(&evtchn_ev, fd, EPOLLIN, evtchn_event, NULL);
	if ((p = xenevtchn_bind_virq(h->evtchn, VIRQ_DOM_EXC)) < 0)
		fatal("binding VIRQ_DOM_EXC");
	virq_port = p;
	if (!o->no_dom0)
		guest_dom0(o);
}

ssize_t
guest_read(struct guest *g, void *buf, size_t len)
{
	uint32_t had = 0;
	ssize_t n;

	if (g->broken)
		return 0;
	if ((n = ring_read(g->ring, buf, len, &had)) == -1) {
		guest_ring_error(g, XS_RING_ERROR_RINGIDX);
		return -1;
	}
	/*
	 * Room made. A guest that found less room than a header may be
	 * waiting for it: that event may not wait for the replies.
	 */
	if (n > 0)
		owe_event(g, had > XS_RING_SIZE - XS_HDR_SIZE);
	return n;
}

ssize_t
guest_write(struct guest *g, const void *buf, size_t len)
{
	ssize_t n;

	if (g->broken)
		return 0;
	if ((n = ring_write(g->ring, buf, len)) == -1) {
		guest_ring_error(g, XS_RING_ERROR_RINGIDX);
		return -1;
	}
	if (n > 0)
		owe_event(g, 1);
	return n;
}

int
guest_has_input(struct guest *g)
{
	return !g->broken && ring_has_input(g->ring);
}

int
guest_has_room(struct guest *g)
{
	return !g->broken && ring_has_room(g->ring);
}

/* At once; this event also pays what the ring's changes were owed. */
void
guest_notify(struct guest *g)
{
	owed_clear(g);
	xenevtchn_notify(xh->evtchn, g->lport);
}

static long
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)(((b->tv_sec - a->tv_sec) * 1000000000LL +
		       (b->tv_nsec - a->tv_nsec)) /
		      1000000);
}

/*
 * At the end of each turn of the loop, after the engine has its frame: the
 * events owed to guests, one per guest however often its ring changed.
 *
 * An event that only says "your requests were taken" may wait for the
 * replies to them, which the engine owes and which notify in their turn:
 * a guest waiting for a reply then wakes once, not twice, and sends
 * fewer events back. Xen's event channels never promise a separate
 * event per change. It does not wait when the guest may be waiting for
 * room (see guest_read()), when nothing is owed by the engine, nor longer
 * than NOTIFY_DEFER_MS (a slow or restarting engine): no guest waits for
 * an event it needs. Returns whether any is still owed, so that the loop
 * wakes up in time to send it.
 */
int
guest_notify_flush(void)
{
	struct guest *g, *next;
	const struct timespec *now = loop_now();
	int left = 0;

	for (g = TAILQ_FIRST(&owed_list); g != NULL; g = next) {
		next = TAILQ_NEXT(g, owed_entry);
		if (!g->owed_now && g->conn != NULL &&
		    conn_awaits_engine(g->conn) &&
		    ms_between(&g->owed_since, now) < NOTIFY_DEFER_MS) {
			left = 1;
			continue;
		}
		guest_notify(g);
	}
	return left;
}

void
guest_ring_error(struct guest *g, uint32_t error)
{
	log_warnx("domain %u: ring error %u: no longer served", g->domid,
		  error);
	g->ring->error = error;
	g->broken = 1;
	guest_notify(g);
}

void
guest_conn_closed(struct guest *g, struct conn *c)
{
	if (g->conn == c)
		g->conn = NULL;
}

/* Once a second: the reconnections that waited. */
void
guest_tick(void)
{
	struct guest *g;
	size_t i;

	for (i = 0; ndeferred > 0 && i < XS_DOMID_FIRST_RESERVED; i++) {
		if ((g = guests[i]) == NULL || !g->rc_deferred)
			continue;
		g->rc_deferred = 0;
		ndeferred--;
		guest_event(g);
	}
}

/* Whether a reconnection waits, for which the loop must wake. */
int
guest_tick_needed(void)
{
	return ndeferred > 0;
}

/* Quarantined: the ring's connection goes and the ring is read no more. */
void
guest_set_aside(uint32_t domid, const char *why)
{
	struct guest *g;

	if (domid >= XS_DOMID_FIRST_RESERVED || (g = guests[domid]) == NULL)
		return;
	if (g->conn != NULL)
		conn_drop(g->conn, why);
}

/*
 * Out of quarantine: a reconnection the guest asked for meanwhile is made,
 * else a new connection on the ring as it is.
 */
void
guest_resume(uint32_t domid)
{
	struct guest *g;

	if (domid >= XS_DOMID_FIRST_RESERVED || (g = guests[domid]) == NULL)
		return;
	guest_event(g);
	if (g->conn != NULL || !g->bound ||
	    g->ring->connection == XS_RING_RECONNECT)
		return;
	if (guest_connect(g) == 0)
		guest_notify(g);
}

uint32_t
guest_lport(const struct guest *g)
{
	return g->bound ? g->lport : 0;
}

/*
 * A handover: the daemon that takes the event channel handle binds
 * VIRQ_DOM_EXC on it again, as after its own live update; if it cannot be
 * executed, the broker binds it back (restore 1).
 */
int
guest_handover_virq(int restore)
{
	int p;

	if (socket_only)
		return 0;
	if (!restore) {
		if (virq_port >= 0 &&
		    xenevtchn_unbind(xh->evtchn, (evtchn_port_t)virq_port) ==
			    -1)
			return -1;
		virq_port = -1;
		return 0;
	}
	if ((p = xenevtchn_bind_virq(xh->evtchn, VIRQ_DOM_EXC)) < 0)
		fatal("binding VIRQ_DOM_EXC again");
	virq_port = p;
	/* Whatever died meanwhile is looked for. */
	guest_domains_changed();
	return 0;
}

int
guest_evtchn_fd(void)
{
	return socket_only || xh == NULL ? -1 : xenevtchn_fd(xh->evtchn);
}
