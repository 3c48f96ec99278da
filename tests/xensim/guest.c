// SPDX-License-Identifier: GPL-2.0-only
/*
 * libxsguest: the guest side of a simulated xenstore ring.  See guest.h.
 */
#include "guest.h"
#include "xensim.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct xsg {
	struct xs_ctx *c;
	uint32_t domid;
	uint32_t port;
	int fd;
	char name[XS_SOCK_NAME];
	struct xenstore_domain_interface *ring;
	uint64_t events;
};

struct xsg *
xsg_attach(const char *dir, uint32_t domid)
{
	struct xs_ctx *c = xs_open(dir);
	if (!c)
		return NULL;
	if (domid >= XS_MAX_DOMS) {
		errno = EINVAL;
		return NULL;
	}
	struct xsg *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->c = c;
	g->domid = domid;
	g->ring = xs_map_ring(c, domid, PROT_READ | PROT_WRITE);
	if (!g->ring)
		goto fail;
	g->fd = xs_socket(c, g->name, 1);
	if (g->fd < 0)
		goto fail_map;
	xs_lock(c);
	uint32_t p = c->st->doms[domid].port;
	if (!c->st->doms[domid].exists || !p ||
	    c->st->ports[p].state == XS_PORT_FREE ||
	    c->st->ports[p].dom != domid) {
		xs_unlock(c);
		errno = ESRCH;
		goto fail_sock;
	}
	struct xs_port *pt = &c->st->ports[p];
	memcpy(pt->sock, g->name, XS_SOCK_NAME);
	pt->pid = getpid();
	__atomic_store_n(&pt->ev, XS_EV_IDLE, __ATOMIC_SEQ_CST);
	g->port = p;
	xs_unlock(c);
	return g;
fail_sock:
	close(g->fd);
fail_map:
	munmap(g->ring, XS_PAGE);
fail:;
	int e = errno;
	free(g);
	errno = e;
	return NULL;
}

void
xsg_detach(struct xsg *g)
{
	if (!g)
		return;
	xs_lock(g->c);
	struct xs_port *pt = &g->c->st->ports[g->port];
	if (strncmp(pt->sock, g->name, XS_SOCK_NAME) == 0) {
		memset(pt->sock, 0, XS_SOCK_NAME);
		pt->pid = 0;
	}
	xs_unlock(g->c);
	close(g->fd);
	munmap(g->ring, XS_PAGE);
	free(g);
}

struct xenstore_domain_interface *
xsg_ring(struct xsg *g)
{
	return g->ring;
}

uint32_t
xsg_port(struct xsg *g)
{
	return g->port;
}

int
xsg_fd(struct xsg *g)
{
	return g->fd;
}

uint64_t
xsg_events(struct xsg *g)
{
	return g->events;
}

int
xsg_notify(struct xsg *g)
{
	return xs_notify(g->c, g->port);
}

/* Consumes every queued event without blocking; 1 if there was one. */
static int
drain(struct xsg *g)
{
	uint32_t p;
	int got = 0;
	while (recv(g->fd, &p, sizeof(p), MSG_DONTWAIT) == sizeof(p)) {
		got = 1;
		g->events++;
		xs_unmask(g->c, p);
	}
	return got;
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Blocks until an event or the deadline (-1: none); 1 event, 0 timeout. */
static int
wait_until(struct xsg *g, int64_t deadline)
{
	for (;;) {
		if (drain(g))
			return 1;
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return 0;
			t = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd pfd = {.fd = g->fd, .events = POLLIN};
		int r = poll(&pfd, 1, t);
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int64_t
deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

int
xsg_wait(struct xsg *g, int timeout_ms)
{
	return wait_until(g, deadline_of(timeout_ms));
}

static size_t
clamp_ring(uint32_t v)
{
	return v > XENSTORE_RING_SIZE ? XENSTORE_RING_SIZE : v;
}

size_t
xsg_req_space(struct xsg *g)
{
	uint32_t cons = __atomic_load_n(&g->ring->req_cons, __ATOMIC_ACQUIRE);
	uint32_t prod = g->ring->req_prod;
	uint32_t used = prod - cons;
	return used > XENSTORE_RING_SIZE ? 0 : XENSTORE_RING_SIZE - used;
}

size_t
xsg_rsp_avail(struct xsg *g)
{
	uint32_t prod = __atomic_load_n(&g->ring->rsp_prod, __ATOMIC_ACQUIRE);
	uint32_t cons = g->ring->rsp_cons;
	return clamp_ring(prod - cons);
}

size_t
xsg_put(struct xsg *g, const void *buf, size_t len)
{
	struct xenstore_domain_interface *r = g->ring;
	size_t space = xsg_req_space(g);
	size_t n = len < space ? len : space;
	uint32_t prod = r->req_prod;
	for (size_t i = 0; i < n;) {
		uint32_t off = MASK_XENSTORE_IDX(prod + (uint32_t)i);
		size_t chunk = XENSTORE_RING_SIZE - off;
		if (chunk > n - i)
			chunk = n - i;
		memcpy(r->req + off, (const char *)buf + i, chunk);
		i += chunk;
	}
	/* The data must be visible before the index that publishes it. */
	__atomic_store_n(&r->req_prod, prod + (uint32_t)n, __ATOMIC_RELEASE);
	return n;
}

size_t
xsg_get(struct xsg *g, void *buf, size_t max)
{
	struct xenstore_domain_interface *r = g->ring;
	size_t avail = xsg_rsp_avail(g);
	size_t n = max < avail ? max : avail;
	uint32_t cons = r->rsp_cons;
	for (size_t i = 0; i < n;) {
		uint32_t off = MASK_XENSTORE_IDX(cons + (uint32_t)i);
		size_t chunk = XENSTORE_RING_SIZE - off;
		if (chunk > n - i)
			chunk = n - i;
		memcpy((char *)buf + i, r->rsp + off, chunk);
		i += chunk;
	}
	/* Finish reading before handing the space back. */
	__atomic_store_n(&r->rsp_cons, cons + (uint32_t)n, __ATOMIC_RELEASE);
	return n;
}

static int
write_until(struct xsg *g, const void *buf, size_t len, int64_t deadline)
{
	size_t done = 0;
	while (done < len) {
		drain(g);
		size_t n = xsg_put(g, (const char *)buf + done, len - done);
		if (n) {
			done += n;
			xsg_notify(g);
			continue;
		}
		int r = wait_until(g, deadline);
		if (r < 0)
			return -1;
		if (r == 0 && xsg_req_space(g) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

static int
read_until(struct xsg *g, void *buf, size_t len, int64_t deadline)
{
	size_t done = 0;
	while (done < len) {
		drain(g);
		size_t n = xsg_get(g, (char *)buf + done, len - done);
		if (n) {
			done += n;
			xsg_notify(g);
			continue;
		}
		int r = wait_until(g, deadline);
		if (r < 0)
			return -1;
		if (r == 0 && xsg_rsp_avail(g) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

int
xsg_write_all(struct xsg *g, const void *buf, size_t len, int timeout_ms)
{
	return write_until(g, buf, len, deadline_of(timeout_ms));
}

int
xsg_read_all(struct xsg *g, void *buf, size_t len, int timeout_ms)
{
	return read_until(g, buf, len, deadline_of(timeout_ms));
}

int
xsg_send(struct xsg *g, uint32_t type, uint32_t req_id, uint32_t tx_id,
	 const void *payload, uint32_t len, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct xsd_sockmsg h = {
		.type = type, .req_id = req_id, .tx_id = tx_id, .len = len};
	if (write_until(g, &h, sizeof(h), deadline) < 0)
		return -1;
	return write_until(g, payload, len, deadline);
}

int
xsg_recv(struct xsg *g, struct xsd_sockmsg *hdr, void *payload, size_t max,
	 int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	if (read_until(g, hdr, sizeof(*hdr), deadline) < 0)
		return -1;
	if (hdr->len <= max) {
		if (read_until(g, payload, hdr->len, deadline) < 0)
			return -1;
		return (int)hdr->len;
	}
	char sink[256];
	for (uint32_t left = hdr->len; left;) {
		uint32_t n = left < sizeof(sink) ? left : sizeof(sink);
		if (read_until(g, sink, n, deadline) < 0)
			return -1;
		left -= n;
	}
	errno = EMSGSIZE;
	return -1;
}

int
xsg_reconnect(struct xsg *g, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	__atomic_store_n(&g->ring->connection, XENSTORE_RECONNECT,
			 __ATOMIC_SEQ_CST);
	xsg_notify(g);
	while (__atomic_load_n(&g->ring->connection, __ATOMIC_ACQUIRE) !=
	       XENSTORE_CONNECTED) {
		int r = wait_until(g, deadline);
		if (r < 0)
			return -1;
		if (r == 0 &&
		    __atomic_load_n(&g->ring->connection, __ATOMIC_ACQUIRE) !=
			    XENSTORE_CONNECTED) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

int
xsg_dom_create(const char *dir, uint32_t domid, uint64_t *gfn, uint32_t *port)
{
	struct xs_ctx *c = xs_open(dir);
	return c ? xs_dom_create(c, domid, gfn, port) : -1;
}

int
xsg_dom_shutdown(const char *dir, uint32_t domid, uint32_t reason)
{
	struct xs_ctx *c = xs_open(dir);
	return c ? xs_dom_set(c, domid, XS_DOM_SHUTDOWN, reason) : -1;
}

int
xsg_dom_dying(const char *dir, uint32_t domid)
{
	struct xs_ctx *c = xs_open(dir);
	return c ? xs_dom_set(c, domid, XS_DOM_DYING, 0) : -1;
}

int
xsg_dom_destroy(const char *dir, uint32_t domid)
{
	struct xs_ctx *c = xs_open(dir);
	return c ? xs_dom_destroy(c, domid) : -1;
}

int
xsg_dom0(const char *dir, uint32_t *port, char *path)
{
	struct xs_ctx *c = xs_open(dir);
	if (!c)
		return -1;
	*port = c->st->doms[0].port;
	xs_path(c, "ring.0", path);
	return 0;
}
