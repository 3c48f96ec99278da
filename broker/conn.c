// SPDX-License-Identifier: GPL-2.0-only
/*
 * Clients, on a Unix socket or a guest's ring: cut their byte streams into
 * requests for the engine and queue the engine's replies back to them. A
 * client is only ever dropped for its own faults (a header announcing more
 * than 4096 bytes, closing in the middle of a message, a socket error, a
 * broken ring); it never waits for another one. Rings are read a bufferful
 * at a time, in turn, so one busy guest cannot starve the others.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "grow.h"

struct conn {
	struct bevent ev;
	uint32_t id;
	uint32_t domid;
	int privileged;
	int fd;                   /* a socket client's; -1 for a ring */
	struct guest *guest;      /* a ring's domain; NULL for a socket */
	struct audit_conn *audit; /* NULL when there is no audit log */
	struct replay_conn rq;    /* its requests the engine has not answered */
	unsigned int inflight;    /* requests the engine has yet to answer */
	int ready; /* on ready_list: its ring has input to read */
	TAILQ_ENTRY(conn) ready_entry;
	int readonly;
	int held; /* a request the broker answers waits for the engine's */
	int dead;
	int dirty; /* on the dirty list: has unwritten replies */
	uint8_t *in;
	size_t inlen;
	struct outq out; /* queued at CLOCK_MONOTONIC seconds, to age events */
	unsigned long events_dropped; /* since its queue last went down */
	TAILQ_ENTRY(conn) dirty_entry;
	TAILQ_ENTRY(conn) dead_entry;
};

/* Live connections, sorted by id (connid.c gives them). */
static struct conn **conns;
static size_t nconns, conns_cap;

static TAILQ_HEAD(, conn) dirty_list = TAILQ_HEAD_INITIALIZER(dirty_list);
static TAILQ_HEAD(, conn) dead_list = TAILQ_HEAD_INITIALIZER(dead_list);
TAILQ_HEAD(conn_list_ready, conn);
static struct conn_list_ready ready_list = TAILQ_HEAD_INITIALIZER(ready_list);
static unsigned int outstanding_max = OUTSTANDING_DEFAULT;

static unsigned int watch_timeout = WATCH_EVENT_TIMEOUT_DEFAULT;
static size_t queued_events;
static unsigned int nreadonly; /* open socket_ro clients */

static void conn_event(int, uint32_t, void *);

void
conn_set_watch_timeout(unsigned int seconds)
{
	watch_timeout = seconds;
}

void
conn_set_outstanding(unsigned int n)
{
	outstanding_max = n;
}

uint32_t
conn_next_id(void)
{
	return connid_limit();
}

static struct conn *conn_find(uint32_t id);

static int
conn_id_in_use(uint32_t id)
{
	return conn_find(id) != NULL;
}

void
conn_init(uint32_t first_id)
{
	connid_init(first_id, conn_id_in_use);
}

/*
 * The engine lists a write's watch events by connection, in id order: the
 * one after the last found is tried before a search. Only a guess, checked.
 */
static size_t find_hint;

static struct conn *
conn_find(uint32_t id)
{
	size_t lo = 0, hi = nconns, mid;

	if (find_hint + 1 < nconns && conns[find_hint + 1]->id == id)
		return conns[++find_hint];
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (conns[mid]->id == id)
			return conns[find_hint = mid];
		if (conns[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
conn_unlink(struct conn *c)
{
	size_t lo = 0, hi = nconns, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (conns[mid]->id == c->id) {
			memmove(&conns[mid], &conns[mid + 1],
				(nconns - mid - 1) * sizeof(*conns));
			nconns--;
			return;
		}
		if (conns[mid]->id < c->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	fatalx("conn %u missing from the table", c->id);
}

/*
 * A guest that does not take its replies gets no more served past the
 * outstanding-requests quota: what it sent and has not yet taken back.
 */
static int
conn_may_read(const struct conn *c)
{
	/*
	 * The replies on their way count as if queued: a client that sends
	 * many small requests for big replies and reads none would otherwise
	 * have the engine's whole backlog of replies pile up here.
	 */
	if (c->out.bytes + (size_t)c->inflight *
				    (XS_HDR_SIZE + XS_PAYLOAD_MAX) >
		    CONN_OUTQ_MAX ||
	    engine_congested() || audit_congested())
		return 0;
	return c->privileged || outstanding_max == 0 ||
	       c->inflight + c->out.n < outstanding_max;
}

static void
ready_remove(struct conn *c)
{
	if (c->ready) {
		TAILQ_REMOVE(&ready_list, c, ready_entry);
		c->ready = 0;
	}
}

/* Brings the epoll interest in line with what the connection can do. */
static void
conn_update(struct conn *c)
{
	uint32_t events = 0;

	if (c->dead)
		return;
	if (c->guest != NULL) {
		/* Rings have no fd: input waits its turn on ready_list. */
		if (conn_may_read(c) && guest_has_input(c->guest)) {
			if (!c->ready) {
				c->ready = 1;
				TAILQ_INSERT_TAIL(&ready_list, c, ready_entry);
			}
		} else {
			ready_remove(c);
		}
		return;
	}
	if (conn_may_read(c) && !c->held)
		events |= EPOLLIN;
	if (c->out.n > 0)
		events |= EPOLLOUT;
	loop_set(&c->ev, events);
}

static void
conn_close(struct conn *c, const char *why)
{
	int saved = errno;

	if (c->dead)
		return;
	if (why == NULL)
		log_debug("conn %u: closed: %s", c->id, strerror(saved));
	else
		log_debug("conn %u: closed: %s", c->id, why);
	if (c->events_dropped > 0)
		audit_events_dropped(c->audit, c->events_dropped);
	audit_conn_close(c->audit, why != NULL ? why : strerror(saved));
	c->audit = NULL;
	engine_send_close(c->id);
	connid_retire(c->id);
	engine_conn_gone(&c->rq);
	if (c->guest != NULL) {
		ready_remove(c);
		guest_conn_closed(c->guest, c);
	} else {
		loop_del(&c->ev);
		close(c->fd);
		c->fd = -1;
	}
	c->dead = 1;
	if (c->readonly)
		nreadonly--;
	conn_unlink(c);
	queued_events -= outq_clear(&c->out);
	if (c->dirty) {
		TAILQ_REMOVE(&dirty_list, c, dirty_entry);
		c->dirty = 0;
	}
	/* Events of this batch may still name it: free it after the batch. */
	TAILQ_INSERT_TAIL(&dead_list, c, dead_entry);
}

void
conn_reap(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&dead_list)) != NULL) {
		TAILQ_REMOVE(&dead_list, c, dead_entry);
		free(c->in);
		free(c);
	}
}

/* id 0: the next free one; else the id a live update's stream gave it. */
static struct conn *
conn_alloc(uint32_t id)
{
	struct conn *c;
	size_t at;

	if (id != 0 && conn_find(id) != NULL)
		fatalx("conn %u named twice", id);
	if (id == 0 && (id = connid_take()) == 0) {
		log_warnx("no connection id free yet: connection refused");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->in = malloc(CONN_INBUF)) == NULL) {
		log_warn("new connection");
		free(c);
		return NULL;
	}
	if (grow_array(&conns, &conns_cap, nconns + 1, sizeof(*conns), 64) ==
	    -1) {
		log_warn("new connection");
		free(c->in);
		free(c);
		return NULL;
	}
	c->id = id;
	c->fd = -1;
	replay_conn_init(&c->rq);
	/* At the end while ids only grow; in its place once they come back. */
	for (at = nconns; at > 0 && conns[at - 1]->id > id; at--)
		;
	memmove(&conns[at + 1], &conns[at], (nconns - at) * sizeof(*conns));
	conns[at] = c;
	nconns++;
	return c;
}

void
conn_new(int fd, int readonly)
{
	conn_new_id(fd, readonly, 0);
}

struct conn *
conn_new_id(int fd, int readonly, uint32_t id)
{
	struct conn *c = conn_alloc(id);

	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->readonly = readonly;
	if (readonly)
		nreadonly++;
	c->privileged = 1; /* dom0's sockets */
	engine_send_open(c->id, 0, 1, readonly);
	c->audit = audit_conn_open(c->id, 0, fd,
				   readonly ? "socket_ro" : "socket");
	loop_add(&c->ev, fd, 0, conn_event, c);
	conn_update(c);
	log_debug("conn %u: new %s client", c->id,
		  readonly ? "read-only" : "privileged");
	return c;
}

struct conn *
conn_new_ring(struct guest *g, uint32_t domid, int privileged, uint32_t id)
{
	struct conn *c = conn_alloc(id);

	if (c == NULL)
		return NULL;
	c->guest = g;
	c->domid = domid;
	c->privileged = privileged;
	engine_send_open(c->id, domid, privileged, 0);
	c->audit = audit_conn_open(c->id, domid, -1, "ring");
	conn_update(c);
	log_debug("conn %u: ring of domain %u", c->id, domid);
	return c;
}

unsigned int
conn_readonly_count(void)
{
	return nreadonly;
}

uint32_t
conn_id(const struct conn *c)
{
	return c->id;
}

static int conn_queue(struct conn *, const struct xs_hdr *,
		      const uint8_t *payload);

/* XS_CONTROL quarantine from dom0's privileged socket: the broker's own. */
static int
conn_is_control(const struct conn *c, const struct xs_hdr *hdr,
		const uint8_t *payload)
{
	return c->guest == NULL && !c->readonly && c->privileged &&
	       control_is_ours(hdr, payload);
}

/* Answers it, audited as the engine's answers are. Returns -1 if dropped. */
static int
conn_control(struct conn *c, const struct xs_hdr *hdr, const uint8_t *payload)
{
	char out[XS_PAYLOAD_MAX];
	struct xs_hdr rh = *hdr;
	Xsp__Reply r;

	audit_request(c->audit, hdr, payload);
	rh.len = (uint32_t)control_answer(hdr, payload, c->id, &rh.type, out,
					  sizeof(out));
	if (c->audit != NULL) {
		xsp__reply__init(&r);
		r.conn = c->id;
		r.type = rh.type;
		r.req_id = rh.req_id;
		r.tx_id = rh.tx_id;
		r.payload.len = rh.len;
		r.payload.data = (uint8_t *)out;
		audit_reply(c->audit, &r);
	}
	return conn_queue(c, &rh, (const uint8_t *)out);
}

static int conn_parse(struct conn *);

/* The bytes that complete the message c->in begins, or 0 if it is whole. */
static size_t
ring_want(const struct conn *c)
{
	struct xs_hdr hdr;

	if (c->inlen < XS_HDR_SIZE)
		return XS_HDR_SIZE - c->inlen;
	memcpy(&hdr, c->in, XS_HDR_SIZE);
	/* An oversized header is conn_parse()'s to refuse. */
	if (hdr.len > XS_PAYLOAD_MAX || XS_HDR_SIZE + hdr.len <= c->inlen)
		return 0;
	return XS_HDR_SIZE + hdr.len - c->inlen;
}

/*
 * A ring is read one message at a time, and only while the guest may have
 * another served: what it sends beyond its outstanding quota (or while the
 * engine or the audit is backed up) stays in its ring, as C xenstored
 * leaves it. The guest then finds its ring full and waits, and the broker
 * holds nothing for it.
 */
static void
conn_read_ring(struct conn *c)
{
	size_t want;
	ssize_t n;

	while (conn_may_read(c)) {
		if ((want = ring_want(c)) > 0) {
			n = guest_read(c->guest, c->in + c->inlen, want);
			if (n == -1) {
				conn_close(c, "broken ring indexes");
				return;
			}
			c->inlen += (size_t)n;
			if ((size_t)n < want)
				break; /* the rest is not written yet */
		}
		if (conn_parse(c) == -1)
			return;
		/* A message the broker answers waits for the engine's. */
		if (c->held)
			break;
	}
	conn_update(c);
}

/*
 * Passes every whole message in the input buffer to the engine, unless the
 * client's replies or the engine channel are backed up. Returns -1 when the
 * client was dropped.
 */
static int
conn_parse(struct conn *c)
{
	struct xs_hdr hdr;
	size_t off = 0;
	long n;

	c->held = 0;
	while (conn_may_read(c)) {
		n = sockmsg_parse(c->in + off, c->inlen - off, &hdr);
		if (n == SOCKMSG_MORE)
			break;
		if (n == SOCKMSG_BAD) {
			log_info("conn %u: header announces %u bytes", c->id,
				 hdr.len);
			if (c->guest != NULL)
				guest_ring_error(c->guest, XS_RING_ERROR_PROTO);
			conn_close(c, "oversized message");
			return -1;
		}
		if (conn_is_control(c, &hdr, c->in + off + XS_HDR_SIZE)) {
			/* Its answer goes after those the engine owes. */
			if (c->inflight > 0) {
				c->held = 1;
				break;
			}
			if (conn_control(c, &hdr, c->in + off + XS_HDR_SIZE) ==
			    -1)
				return -1;
			off += (size_t)n;
			continue;
		}
		engine_send_request(&c->rq, c->id, c->domid,
				    authority_ask(c->privileged, c->readonly,
						  &hdr,
						  c->in + off + XS_HDR_SIZE),
				    &hdr, c->in + off + XS_HDR_SIZE);
		audit_request(c->audit, &hdr, c->in + off + XS_HDR_SIZE);
		c->inflight++;
		off += (size_t)n;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	return 0;
}

static void
conn_read(struct conn *c)
{
	ssize_t n;

	if (c->guest != NULL) {
		conn_read_ring(c);
		return;
	}
	/* recv, not read: the socket call skips the file layer (as send does
	 * for replies, conn_write()). */
	n = recv(c->fd, c->in + c->inlen, CONN_INBUF - c->inlen, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_close(c, NULL);
		return;
	}
	if (n == 0) {
		conn_close(c, c->inlen > 0 ? "end of file inside a message"
					   : "end of file");
		return;
	}
	c->inlen += (size_t)n;
	if (conn_parse(c) == 0)
		conn_update(c);
}

/* Copies what the ring takes; the rest waits for the guest's event. */
static int
conn_write_ring(struct conn *c)
{
	const uint8_t *data;
	size_t len = outq_unwritten(&c->out, &data);
	ssize_t n;

	/* guest_write() owes the guest an event, sent at the loop's end. */
	if (len == 0)
		return 0;
	if ((n = guest_write(c->guest, data, len)) == -1) {
		conn_close(c, "broken ring indexes");
		return -1;
	}
	if (n > 0)
		queued_events -= outq_written(&c->out, (size_t)n);
	return 0;
}

/*
 * Writes what the client takes; the rest waits for EPOLLOUT or the guest's
 * event. The interest is brought in line unless the client was dropped.
 */
static void
conn_write(struct conn *c)
{
	const uint8_t *data;
	int was_full = !conn_may_read(c);
	ssize_t n;
	size_t len;

	if (c->guest != NULL) {
		if (conn_write_ring(c) == -1)
			return;
	} else if ((len = outq_unwritten(&c->out, &data)) > 0) {
		/*
		 * send(), not write(): the socket call skips the file layer
		 * (position lock, iov checks) that every event's write
		 * paid for, and the socket is non-blocking anyway.
		 */
		n = send(c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			conn_close(c, NULL);
			return;
		}
		if (n > 0)
			queued_events -= outq_written(&c->out, (size_t)n);
	}
	if (c->events_dropped > 0 && c->out.bytes <= CONN_OUTQ_MAX / 2) {
		log_info("conn %u (domain %u): dropped %lu watch events it "
			 "did not read; it reads again",
			 c->id, c->domid, c->events_dropped);
		audit_events_dropped(c->audit, c->events_dropped);
		c->events_dropped = 0;
	}
	/*
	 * Requests held back can go now: those that waited for room in the
	 * queue, and those that waited for their forerunners' replies (which
	 * came in since, with no room taken from the queue).
	 */
	if ((was_full || c->inlen > 0) && conn_may_read(c) &&
	    conn_parse(c) == -1)
		return;
	conn_update(c);
}

/*
 * Whether a watch event finds no room: a client that is not trusted
 * (a guest, a read-only socket) and does not read its queue gets no more
 * than CONN_OUTQ_MAX bytes of it, as C xenstored charges a guest's events
 * to its memory quota, and the rest are dropped; otherwise a guest could
 * have another write events to it until the broker runs out of memory.
 * dom0's own connections get far more, but not without end: events come
 * from the engine, which a guest may have subverted. Replies are never
 * dropped (each answers a request, which the client sent).
 */
static int
event_no_room(struct conn *c, size_t len)
{
	size_t max = c->privileged && !c->readonly ? CONN_OUTQ_PRIV_MAX
						   : CONN_OUTQ_MAX;

	if (c->out.bytes + len <= max)
		return 0;
	if (c->events_dropped++ == 0)
		log_warnx("conn %u (domain %u): does not read its watch "
			  "events (%zu bytes wait): dropping new ones until it "
			  "does",
			  c->id, c->domid, c->out.bytes);
	return 1;
}

static void
conn_event(int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	if (c->dead)
		return;
	if (events & EPOLLOUT)
		conn_write(c);
	if (c->dead)
		return;
	if ((events & EPOLLIN) && conn_may_read(c))
		conn_read(c);
	else if (events & (EPOLLHUP | EPOLLERR))
		conn_close(c, "hang-up");
	else
		/* Held back since the interest was set: stop the wake-ups. */
		conn_update(c);
}

/*
 * Queues the engine's reply for its client. Returns -1 when it answers no
 * request of that client: the engine is not to be believed.
 */
int
conn_reply(const Xsp__Reply *r)
{
	struct xs_hdr hdr;

	hdr.type = r->type;
	hdr.req_id = r->req_id;
	hdr.tx_id = r->tx_id;
	hdr.len = (uint32_t)r->payload.len;
	return conn_reply_hdr(r->conn, &hdr, r->payload.data);
}

/* The same, with the header the client gets and hdr->len payload bytes. */
int
conn_reply_hdr(uint32_t conn, const struct xs_hdr *hdr, const uint8_t *payload)
{
	Xsp__Reply r;
	struct conn *c;

	/* Replies to a client that is gone are no one's business. */
	if ((c = conn_find(conn)) == NULL)
		return 0;
	if (hdr->type != XS_WATCH_EVENT &&
	    engine_answered(&c->rq, hdr->req_id) == -1)
		return -1;
	if (hdr->type == XS_WATCH_EVENT &&
	    event_no_room(c, XS_HDR_SIZE + hdr->len))
		return 0;
	if (c->audit != NULL) {
		xsp__reply__init(&r);
		r.conn = conn;
		r.type = hdr->type;
		r.req_id = hdr->req_id;
		r.tx_id = hdr->tx_id;
		r.payload.len = hdr->len;
		r.payload.data = hdr->len > 0 ? (uint8_t *)payload : NULL;
		audit_reply(c->audit, &r);
	}
	if (hdr->type != XS_WATCH_EVENT && c->inflight > 0)
		c->inflight--;
	conn_queue(c, hdr, payload);
	return 0;
}

/* Queues a message for the client; it goes at the end of the loop's turn. */
static int
conn_queue(struct conn *c, const struct xs_hdr *hdr, const uint8_t *payload)
{
	uint8_t *at;

	if ((at = outq_push(&c->out, hdr->type, XS_HDR_SIZE + hdr->len,
			    loop_now()->tv_sec)) == NULL) {
		/* Losing one reply would desynchronise the client. */
		log_warn("conn %u: reply", c->id);
		conn_close(c, "out of memory");
		return -1;
	}
	memcpy(at, hdr, XS_HDR_SIZE);
	if (hdr->len > 0)
		memcpy(at + XS_HDR_SIZE, payload, hdr->len);
	if (hdr->type == XS_WATCH_EVENT)
		queued_events++;
	if (!c->dirty) {
		c->dirty = 1;
		TAILQ_INSERT_TAIL(&dirty_list, c, dirty_entry);
	}
	return 0;
}

/*
 * A connection a live update hands over comes with the bytes its old
 * daemon had not dealt with: requests read but not yet handled (in), and
 * replies and events not yet sent (out: the rest of one partly sent, resp
 * bytes, then whole messages, checked by takeover.c). They go before
 * anything else, in order, as if this daemon had read and queued them.
 */
void
conn_adopt_pending(struct conn *c, const uint8_t *in, size_t inlen,
		   const uint8_t *out, size_t outlen, size_t resp,
		   uint32_t lu_req, const char *lu_answer)
{
	struct xs_hdr hdr;
	uint8_t *at;
	size_t off;

	if (resp > 0) {
		if ((at = outq_push(&c->out, XS_ERROR, resp,
				    loop_now()->tv_sec)) == NULL)
			fatal("live update: conn %u", c->id);
		memcpy(at, out, resp);
		if (!c->dirty) {
			c->dirty = 1;
			TAILQ_INSERT_TAIL(&dirty_list, c, dirty_entry);
		}
	}
	for (off = resp; off < outlen; off += XS_HDR_SIZE + hdr.len) {
		memcpy(&hdr, out + off, XS_HDR_SIZE);
		/* A broker that could not take the store answers why. */
		if (lu_answer != NULL && hdr.type == XS_CONTROL &&
		    hdr.req_id == lu_req &&
		    off + XS_HDR_SIZE + hdr.len == outlen) {
			struct xs_hdr why = hdr;

			why.len = (uint32_t)strlen(lu_answer) + 1;
			if (conn_queue(c, &why, (const uint8_t *)lu_answer) ==
			    -1)
				return;
			break;
		}
		if (conn_queue(c, &hdr, out + off + XS_HDR_SIZE) == -1)
			return;
	}
	if (inlen > CONN_INBUF)
		fatalx("live update: conn %u: %zu bytes of input", c->id,
		       inlen);
	memcpy(c->in, in, inlen);
	c->inlen = inlen;
	if (conn_parse(c) == 0)
		conn_update(c);
}

/* Every live connection, as the engine was told of it in ConnOpen. */
void
conn_each(void (*fn)(uint32_t id, uint32_t domid, int privileged, int readonly))
{
	size_t i;

	for (i = 0; i < nconns; i++)
		fn(conns[i]->id, conns[i]->domid, conns[i]->privileged,
		   conns[i]->readonly);
}

void
conn_drop_id(uint32_t id, const char *why)
{
	struct conn *c = conn_find(id);

	if (c != NULL)
		conn_close(c, why);
}

/* Once per loop iteration: one write per client that got replies. */
void
conn_flush_dirty(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&dirty_list)) != NULL) {
		TAILQ_REMOVE(&dirty_list, c, dirty_entry);
		c->dirty = 0;
		conn_write(c);
	}
}

/* The engine channel drained: take up the clients it held back. */
void
conn_resume_all(void)
{
	size_t i;
	struct conn *c;

	for (i = 0; i < nconns && !engine_congested();) {
		c = conns[i];
		if (conn_parse(c) == 0) {
			conn_update(c);
			i++;
		}
	}
}

int
conn_sweep_needed(void)
{
	return watch_timeout > 0 && queued_events > 0;
}

static void
log_dropped(void *arg, const uint8_t *msg, size_t len)
{
	const struct conn *c = arg;
	char path[128];
	size_t plen;

	plen = strnlen((const char *)msg + XS_HDR_SIZE, len - XS_HDR_SIZE);
	log_sanitize(path, sizeof(path), msg + XS_HDR_SIZE, plen);
	log_info("conn %u: dropping watch event for %s, unread for %u s", c->id,
		 path, watch_timeout);
}

/*
 * Watch events that a client has not taken for watch_timeout seconds are
 * dropped, as C xenstored 4.17 does, so that a client which never reads
 * cannot pin memory forever with events. Replies are never dropped: the
 * client waits for them.
 */
void
conn_sweep(void)
{
	struct conn *c;
	time_t now = loop_now()->tv_sec;
	size_t i;
	int was_full;

	if (!conn_sweep_needed())
		return;
	for (i = 0; i < nconns;) {
		c = conns[i];
		if (c->out.events == 0) {
			i++;
			continue;
		}
		was_full = c->out.bytes > CONN_OUTQ_MAX;
		queued_events -= outq_drop_stale(&c->out, now, watch_timeout,
						 log_dropped, c);
		/* conn_close() takes a dropped client out of conns[]. */
		if (was_full && c->out.bytes <= CONN_OUTQ_MAX &&
		    conn_parse(c) == -1)
			continue;
		conn_update(c);
		i++;
	}
}

/* The guest's event channel fired: it took replies or sent requests. */
void
conn_ring_event(struct conn *c)
{
	if (c->dead)
		return;
	conn_write(c);
}

/*
 * Whether a ring's guest did what its event would tell: sent requests we
 * may read, or made room for replies that wait.
 */
int
conn_ring_wants(struct conn *c)
{
	const uint8_t *data;

	if (c->dead)
		return 0;
	if (conn_may_read(c) && guest_has_input(c->guest))
		return 1;
	return outq_unwritten(&c->out, &data) > 0 && guest_has_room(c->guest);
}

/* Whether the engine owes this client replies, each of which notifies. */
int
conn_awaits_engine(const struct conn *c)
{
	return c->inflight > 0;
}

/*
 * Once per loop iteration: each ring with input gets one bufferful read,
 * in turn. Returns whether any still has input (poll again at once).
 */
int
conn_ring_poll(void)
{
	struct conn *c;
	size_t n = 0, i;

	TAILQ_FOREACH(c, &ready_list, ready_entry)
	n++;
	/* Those that still have input go back to the tail, for next time. */
	for (i = 0; i < n && (c = TAILQ_FIRST(&ready_list)) != NULL; i++) {
		ready_remove(c);
		conn_read(c);
	}
	return !TAILQ_EMPTY(&ready_list);
}

/* The broker's own decision (a domain released, a ring reset). */
void
conn_drop(struct conn *c, const char *why)
{
	conn_close(c, why);
}

/*
 * A handover: every connection another daemon can take (socket_ro ones
 * only if readonly_too: C xenstored has none), with what it has pending,
 * for handover.c to write. The pointers hold until the loop runs again.
 */
size_t
conn_handover_list(struct handover_conn **out, int readonly_too)
{
	struct handover_conn *h;
	const struct outrec *r;
	size_t i, n = 0;

	if ((h = calloc(nconns + 1, sizeof(*h))) == NULL)
		fatal("live update");
	for (i = 0; i < nconns; i++) {
		struct conn *c = conns[i];

		if (c->dead || (c->readonly && !readonly_too))
			continue;
		h[n].id = c->id;
		h[n].readonly = c->readonly;
		h[n].domid = c->domid;
		h[n].ring = c->guest != NULL;
		h[n].fd = c->fd;
		h[n].lport = c->guest != NULL ? guest_lport(c->guest) : 0;
		h[n].in = c->in;
		h[n].inlen = c->inlen;
		h[n].outlen = outq_unwritten(&c->out, &h[n].out);
		r = c->out.n > 0 ? outq_first(&c->out) : NULL;
		h[n].resplen = r != NULL && c->out.head_done > 0
				       ? outq_rec_len(r) - c->out.head_done
				       : 0;
		h[n].rq = &c->rq;
		n++;
	}
	*out = h;
	return n;
}
