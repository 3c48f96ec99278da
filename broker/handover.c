// SPDX-License-Identifier: GPL-2.0-only
/*
 * A handover: the live update of a running split-xenstored to another
 * xenstore daemon (C xenstored 4.17, from the list fixed at start, or a
 * broker build: a broker replacing itself), which takes the store, the
 * sockets and the rings as it takes them from itself:
 * RUNDIR/state_dump and the fds it names, then the daemon runs with -U in
 * the spawner's place.
 *
 * The engine has recorded its answer to the request and left. A fresh
 * engine, in its sandbox, writes the store from the journal as a stream in
 * the record set C xenstored reads (xs-engine --write-stream c417); since
 * the journal is what a subverted engine may have written, its records are
 * checked here as C xenstored's reader needs them (handover_check.c), which
 * exits on anything malformed. The broker adds what only it knows: its
 * listening socket and event channel handle (GLOBAL_DATA), and each
 * connection with the bytes it has pending (CONNECTION_DATA): requests read
 * but not yet answered, replies not yet written, and the OK the live
 * update is answered with. socket_ro clients cannot go (C xenstored has no
 * read-only connection): they are closed.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "xs_state.h"

/* C xenstored 4.17 reads only version 1, with padded record lengths. */
#define C417_VERSION 1u

struct wbuf {
	int fd;
	int err;
	size_t len;
	uint8_t b[1 << 16];
};

static void
wflush(struct wbuf *w)
{
	size_t off = 0;
	ssize_t n;

	while (w->err == 0 && off < w->len) {
		n = write(w->fd, w->b + off, w->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			w->err = n == -1 ? errno : EIO;
		else
			off += (size_t)n;
	}
	w->len = 0;
}

static void
wput(struct wbuf *w, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t k;

	while (n > 0) {
		if (w->len == sizeof(w->b))
			wflush(w);
		k = sizeof(w->b) - w->len < n ? sizeof(w->b) - w->len : n;
		memcpy(w->b + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
	}
}

static void
wrec(struct wbuf *w, uint32_t type, uint32_t len)
{
	uint32_t padded = (len + 7) & ~7u;

	wput(w, &type, 4);
	wput(w, &padded, 4);
}

static void
wpad(struct wbuf *w, size_t len)
{
	static const uint8_t zero[8];

	wput(w, zero, ((len + 7) & ~(size_t)7) - len);
}

/* The OK of the live update, to the request that asked for it. */
static const struct replay_req *
lu_request(const struct replay_conn *rq)
{
	const struct replay_req *q, *found = NULL;

	TAILQ_FOREACH(q, &rq->q, per)
	if (q->ask == ASK_LU_EXEC)
		found = q;
	return found;
}

/*
 * One connection: its requests the engine had not answered (but the live
 * update's), then the bytes of one it was reading, as input; its unwritten
 * replies, then the OK, as output.
 */
static int
conn_record(struct wbuf *w, const struct handover_conn *h, int fd_no)
{
	const struct replay_req *q, *lu = lu_request(h->rq);
	static const char ok[] = "OK";
	struct xs_hdr oh;
	size_t in = h->inlen, out = h->outlen, len;
	uint16_t type, pad = 0, inl, resp;
	uint32_t outl;
	uint8_t spec[8] = {0};

	TAILQ_FOREACH(q, &h->rq->q, per)
	if (q != lu)
		in += XS_HDR_SIZE + q->hdr.len;
	if (lu != NULL)
		out += XS_HDR_SIZE + sizeof(ok);
	if (in > UINT16_MAX || h->resplen > UINT16_MAX || out > UINT32_MAX)
		return EOVERFLOW;
	if (h->ring) {
		uint16_t d = (uint16_t)h->domid, t = DOMID_INVALID;

		if (h->lport == 0)
			return 0; /* unserved: C xenstored has no such state */
		type = CONN_RING;
		memcpy(spec, &d, 2);
		memcpy(spec + 2, &t, 2);
		memcpy(spec + 4, &h->lport, 4);
	} else {
		type = CONN_SOCKET;
		memcpy(spec, &fd_no, 4);
	}
	inl = (uint16_t)in;
	resp = (uint16_t)h->resplen;
	outl = (uint32_t)out;
	len = 24 + in + out;
	wrec(w, REC_CONNECTION_DATA, (uint32_t)len);
	wput(w, &h->id, 4);
	wput(w, &type, 2);
	wput(w, &pad, 2);
	wput(w, spec, 8);
	wput(w, &inl, 2);
	wput(w, &resp, 2);
	wput(w, &outl, 4);
	TAILQ_FOREACH(q, &h->rq->q, per)
	if (q != lu) {
		wput(w, &q->hdr, XS_HDR_SIZE);
		wput(w, q->payload, q->hdr.len);
	}
	wput(w, h->in, h->inlen);
	wput(w, h->out, h->outlen);
	if (lu != NULL) {
		oh = lu->hdr;
		oh.len = sizeof(ok);
		wput(w, &oh, XS_HDR_SIZE);
		wput(w, ok, sizeof(ok));
	}
	wpad(w, len);
	return 0;
}

/*
 * The records of the engine's own stream (a broker's handover) between its
 * preamble and END, but its connections, which the broker writes: each
 * checked to lie within the stream. Returns NULL, or why not.
 */
static const char *
splice_own(struct wbuf *w, const uint8_t *map, size_t len)
{
	uint32_t type, rlen;
	size_t off = 16, padded;

	if (len < 16 || memcmp(map, "xenstore", 8) != 0)
		return "not a migration stream";
	for (;;) {
		if (len - off < 8)
			return "no END record";
		memcpy(&type, map + off, 4);
		memcpy(&rlen, map + off + 4, 4);
		padded = ((size_t)rlen + 7) & ~(size_t)7;
		if (len - off - 8 < padded)
			return "a truncated record";
		if (type == REC_END)
			return off + 8 == len ? NULL : "data after END";
		/*
		 * As the engine wrote it (some records end at their length,
		 * not at their padding), but the replies it kept for requests
		 * this broker would send again: they are named by this
		 * broker's sequence numbers, which the next one gives anew;
		 * kept, they would answer its requests in their place. The
		 * requests themselves go as pending input.
		 */
		if (type != REC_CONNECTION_DATA && type != REC_GLOBAL_DATA &&
		    type != REC_X_REPLY)
			wput(w, map + off, 8 + padded);
		off += 8 + padded;
	}
}

/*
 * Writes state_dump into out; the fds it names go to fds[] (listening
 * socket, event channel handle, then each socket client in order; a
 * broker's then socket_ro's listening socket).
 */
static const char *
compose(int out, int own, const uint8_t *body, size_t blen,
	struct handover_conn *hc, size_t nhc, int *fds, size_t *nfds, char *why,
	size_t len)
{
	static struct wbuf w;
	uint32_t ver = htobe32(own ? ST_VERSION : C417_VERSION),
		 flags = htobe32(BYTE_ORDER == BIG_ENDIAN ? 1 : 0);
	const char *bad;
	int32_t g[2];
	size_t i;
	int err;

	memset(&w, 0, sizeof(w));
	w.fd = out;
	*nfds = 0;
	fds[(*nfds)++] = listen_fd(0);
	g[0] = SPAWN_HANDOVER_FD_BASE;
	g[1] = -1; /* no Xen (--socket-only): no rings either */
	if (guest_evtchn_fd() != -1) {
		g[1] = (int32_t)(SPAWN_HANDOVER_FD_BASE + *nfds);
		fds[(*nfds)++] = guest_evtchn_fd();
	}
	wput(&w, "xenstore", 8);
	wput(&w, &ver, 4);
	wput(&w, &flags, 4);
	wrec(&w, REC_GLOBAL_DATA, sizeof(g));
	wput(&w, g, sizeof(g));
	if (own) {
		g[0] = (int32_t)(SPAWN_HANDOVER_FD_BASE + *nfds);
		fds[(*nfds)++] = listen_fd(1);
		wrec(&w, REC_X_LISTEN, 4);
		wput(&w, g, 4);
		wpad(&w, 4);
	}
	for (i = 0; own && i < nhc; i++) {
		const struct replay_req *lu = lu_request(hc[i].rq);
		uint32_t x[2];

		if (lu == NULL)
			continue;
		x[0] = hc[i].id;
		x[1] = lu->hdr.req_id;
		wrec(&w, REC_X_LU, sizeof(x));
		wput(&w, x, sizeof(x));
	}
	for (i = 0; i < nhc; i++) {
		int no = -1;

		if (!hc[i].ring) {
			no = (int)(SPAWN_HANDOVER_FD_BASE + *nfds);
			fds[(*nfds)++] = hc[i].fd;
		}
		if ((err = conn_record(&w, &hc[i], no)) != 0) {
			snprintf(why, len, "connection %u: %s", hc[i].id,
				 strerror(err));
			return why;
		}
	}
	if (!own)
		wput(&w, body, blen);
	else if ((bad = splice_own(&w, body, blen)) != NULL) {
		snprintf(why, len, "the store's stream is refused: %s", bad);
		return why;
	}
	wrec(&w, REC_END, 0);
	wflush(&w);
	if (w.err != 0) {
		snprintf(why, len, "writing state_dump: %s", strerror(w.err));
		return why;
	}
	return NULL;
}

/*
 * C xenstored 4.17 counts each node against its owner's domain and exits
 * when that domain is neither connected nor known to the hypervisor: every
 * owner in the stream (body, records checked already) must exist now.
 * Returns NULL, or why not.
 */
static const char *
owners_exist(const uint8_t *body, size_t blen, char *why, size_t len)
{
	static uint8_t owned[XS_DOMID_FIRST_RESERVED / 8],
		live[XS_DOMID_FIRST_RESERVED / 8];
	struct spawn_dominfo r;
	uint32_t type, rlen, first = 0, i;
	uint16_t np, domid;
	size_t off = 0;

	memset(owned, 0, sizeof(owned));
	memset(live, 0, sizeof(live));
	while (off + 8 <= blen) {
		memcpy(&type, body + off, 4);
		memcpy(&rlen, body + off + 4, 4);
		/*
		 * NODE_DATA: conn, tx (4 each), path and data lengths,
		 * ta_access, perm_n (2 each), then the owner's entry:
		 * access, flags, domid.
		 */
		if (type == REC_NODE_DATA && rlen >= 20) {
			memcpy(&np, body + off + 8 + 14, 2);
			memcpy(&domid, body + off + 8 + 18, 2);
			if (np > 0 && domid != 0 &&
			    domid < XS_DOMID_FIRST_RESERVED)
				owned[domid / 8] |=
					(uint8_t)(1u << (domid % 8));
		}
		off += 8 + (size_t)rlen;
	}
	do {
		spawn_dominfo(first, &r);
		for (i = 0; i < r.n; i++)
			live[r.d[i].domid / 8] |=
				(uint8_t)(1u << (r.d[i].domid % 8));
		first = r.n > 0 ? r.d[r.n - 1].domid + 1 : 0;
	} while (r.n == SPAWN_DOMINFO_MAX && first < XS_DOMID_FIRST_RESERVED);
	for (i = 1; i < XS_DOMID_FIRST_RESERVED; i++)
		if ((owned[i / 8] & (1u << (i % 8))) &&
		    !(live[i / 8] & (1u << (i % 8)))) {
			snprintf(
				why, len,
				"a node is owned by domain %u, which no longer "
				"exists: C xenstored 4.17 exits on it",
				(unsigned int)i);
			return why;
		}
	return NULL;
}

/*
 * The whole handover; args are what -c added to the daemon's command
 * line. Returns only if it did not happen, with why, everything still as
 * it was but the engine, which the caller starts again.
 */
const char *
handover_run(int to_broker, char *const args[], size_t nargs, char *why,
	     size_t len)
{
	struct handover_conn *hc = NULL;
	const uint8_t *map = MAP_FAILED;
	uint32_t *ids = NULL;
	const char *bad = NULL;
	int stream = -1, spare = -1, err, *fds = NULL;
	size_t nhc, i, nfds, off, blen;
	struct stat st;

	if (!to_broker && guest_evtchn_fd() == -1) {
		snprintf(why, len, "no Xen event channel handle to hand over");
		return why;
	}
	if ((err = spawn_write_stream(to_broker ? SPAWN_STREAM_SPLIT
						: SPAWN_STREAM_C417,
				      &stream, &spare)) != 0) {
		snprintf(why, len, "the engine cannot write the store: %s",
			 strerror(err));
		return why;
	}
	if (fstat(stream, &st) == -1 || st.st_size == 0 ||
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			stream, 0)) == MAP_FAILED) {
		snprintf(why, len, "reading the store's stream: %s",
			 strerror(errno));
		bad = why;
		goto out;
	}
	nhc = conn_handover_list(&hc, to_broker);
	if ((ids = calloc(nhc + 1, sizeof(*ids))) == NULL ||
	    (fds = calloc(nhc + 3, sizeof(*fds))) == NULL)
		fatal("live update");
	for (i = 0; i < nhc; i++)
		ids[i] = hc[i].id;
	/*
	 * C xenstored exits on what it cannot read, so its records are
	 * checked here; a broker build checks the whole stream itself, and
	 * runs this one again if it cannot take it (takeover.c).
	 */
	off = 0;
	blen = (size_t)st.st_size;
	if (!to_broker &&
	    (bad = handover_records_check(map, (size_t)st.st_size, ids, nhc,
					  &off, &blen)) != NULL) {
		snprintf(why, len, "the store's stream is refused: %s", bad);
		bad = why;
		goto out;
	}
	if ((!to_broker &&
	     (bad = owners_exist(map + off, blen, why, len)) != NULL) ||
	    (bad = compose(spare, to_broker, map + off, blen, hc, nhc, fds,
			   &nfds, why, len)) != NULL)
		goto out;
	if (guest_handover_virq(0) == -1) {
		snprintf(why, len, "unbinding VIRQ_DOM_EXC: %s",
			 strerror(errno));
		bad = why;
		goto out;
	}
	audit_engine_event("live-update-handover", "state_dump written");
	audit_flush_now();
	if ((err = spawn_handover(spare, args, nargs, fds, nfds)) == 0) {
		/* The daemon runs in the spawner's place: ours is done. */
		log_info("live update: the store is handed over");
		_exit(0);
	}
	guest_handover_virq(1);
	snprintf(why, len, "the daemon cannot be executed: %s", strerror(err));
	bad = why;
out:
	if (map != MAP_FAILED)
		munmap((void *)map, (size_t)st.st_size);
	if (stream != -1)
		close(stream);
	if (spare != -1)
		close(spare);
	free(hc);
	free(ids);
	free(fds);
	return bad;
}
