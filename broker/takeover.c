// SPDX-License-Identifier: GPL-2.0-only
/*
 * xs-broker -U: taking the store over from the daemon that exec'd us, as
 * C xenstored's live update hands it to a newer build of itself. It left
 * its whole state in RUNDIR/state_dump, a xenstore migration stream (Xen's
 * docs/designs/xenstore-migration.md), and its fds open across the exec:
 * the listening socket and the event channel handle (GLOBAL_DATA), every
 * socket client, and each ring by domain and local port (CONNECTION_DATA),
 * with the bytes each connection had pending either way. The broker reads
 * those two records only; the rest is the store, the engine's to restore.
 *
 * Everything is checked before anything is touched: every fd the stream
 * names is open and what it must be, and the engine restores the whole
 * store in its sandbox first (takeover_run.c). A stream that fails runs the
 * daemon before us again on the same file, so the host keeps its store.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"
#include "grow.h"
#include "xs_state.h"

/* The bytes read so far, and what was wrong, for one message. */
struct cur {
	const uint8_t *p;
	size_t left;
};

static int
take(struct cur *c, void *out, size_t n)
{
	if (c->left < n)
		return -1;
	memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return 0;
}

/* A socket of the kind wanted: AF_UNIX, stream, listening or not. */
static int
unix_stream(int fd, int listening)
{
	int v;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) == -1 || v != AF_UNIX)
		return 0;
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == -1 ||
	    v != SOCK_STREAM)
		return 0;
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == -1)
		return 0;
	return (v != 0) == (listening != 0);
}

/* A Unix stream socket listening, bound to path. */
static int
listening_at(int fd, const char *path)
{
	struct sockaddr_un sun;
	socklen_t l = sizeof(sun);

	memset(&sun, 0, sizeof(sun));
	return unix_stream(fd, 1) &&
	       getsockname(fd, (struct sockaddr *)&sun, &l) == 0 &&
	       l > offsetof(struct sockaddr_un, sun_path) &&
	       strncmp(sun.sun_path, path, sizeof(sun.sun_path)) == 0;
}

/* fd is named once only, and is none of stdin, stdout and stderr. */
static const char *
fd_claim(struct takeover *t, int fd)
{
	size_t i;

	if (fd < 3 || fcntl(fd, F_GETFD) == -1)
		return "an fd that is not open";
	for (i = 0; i < t->nfds; i++)
		if (t->fds[i] == fd)
			return "an fd named twice";
	if (grow_array(&t->fds, &t->fds_cap, t->nfds + 1, sizeof(*t->fds),
		       16) == -1)
		return "out of memory";
	t->fds[t->nfds++] = fd;
	return NULL;
}

static const char *
global_rec(struct takeover *t, struct cur *c, const char *sock_path)
{
	int32_t sock, evtchn;
	const char *bad;

	if (t->have_global)
		return "two GLOBAL_DATA records";
	t->have_global = 1;
	if (take(c, &sock, 4) || take(c, &evtchn, 4))
		return "short GLOBAL_DATA record";
	t->sock_fd = sock;
	t->evtchn_fd = evtchn;
	if (sock != -1) {
		if ((bad = fd_claim(t, sock)) != NULL)
			return bad;
		if (!listening_at(sock, sock_path))
			return "the listening socket is not RUNDIR/socket";
	}
	if (evtchn != -1 && (bad = fd_claim(t, evtchn)) != NULL)
		return bad;
	return NULL;
}

/* The replies and events a connection had not yet sent: whole messages
 * after the rest of one partly sent. */
static const char *
out_check(const uint8_t *out, size_t len, size_t resp)
{
	struct xs_hdr h;
	size_t off = resp;

	if (resp > len)
		return "a partial reply longer than the output";
	while (off < len) {
		if (len - off < XS_HDR_SIZE)
			return "a message cut in the output";
		memcpy(&h, out + off, XS_HDR_SIZE);
		if (h.len > XS_PAYLOAD_MAX || len - off - XS_HDR_SIZE < h.len)
			return "a bad message in the output";
		off += XS_HDR_SIZE + h.len;
	}
	return NULL;
}

static const char *
conn_rec(struct takeover *t, struct cur *c)
{
	struct takeover_conn *tc;
	uint16_t type, pad, inl, resp;
	uint32_t outl;
	uint8_t spec[8];
	const char *bad;
	size_t i;

	if (grow_array(&t->conns, &t->conns_cap, t->nconns + 1,
		       sizeof(*t->conns), 16) == -1)
		return "out of memory";
	tc = &t->conns[t->nconns];
	memset(tc, 0, sizeof(*tc));
	tc->fd = -1;
	if (take(c, &tc->id, 4) || take(c, &type, 2) || take(c, &pad, 2) ||
	    take(c, spec, 8) || take(c, &inl, 2) || take(c, &resp, 2) ||
	    take(c, &outl, 4) || c->left < (size_t)inl + outl)
		return "short CONNECTION_DATA record";
	if (tc->id == 0 || tc->id >= CONNID_TAKEOVER_MAX)
		return "a connection id out of range";
	for (i = 0; i < t->nconns; i++)
		if (t->conns[i].id == tc->id)
			return "a connection id named twice";
	tc->in = c->p;
	tc->inlen = inl;
	tc->out = c->p + inl;
	tc->outlen = outl;
	tc->resplen = resp;
	if (inl > CONN_INBUF)
		return "more pending input than a connection holds";
	if ((bad = out_check(tc->out, outl, resp)) != NULL)
		return bad;
	if (type == CONN_SOCKET) {
		memcpy(&tc->fd, spec, 4);
		if ((bad = fd_claim(t, tc->fd)) != NULL)
			return bad;
		if (!unix_stream(tc->fd, 0))
			return "a socket connection that is no Unix stream";
	} else if (type == CONN_RING) {
		tc->ring = 1;
		memcpy(&tc->domid, spec, 2);
		memcpy(&tc->tdomid, spec + 2, 2);
		memcpy(&tc->port, spec + 4, 4);
		if (tc->domid >= XS_DOMID_FIRST_RESERVED || tc->port == 0)
			return "a ring of no domain or no event channel";
		for (i = 0; i < t->nconns; i++)
			if (t->conns[i].ring &&
			    (t->conns[i].domid == tc->domid ||
			     t->conns[i].port == tc->port))
				return "a domain or a port named twice";
	} else {
		return "a connection of an unknown type";
	}
	if (tc->id > t->max_id)
		t->max_id = tc->id;
	t->nconns++;
	return NULL;
}

/* X_LISTEN: socket_ro's listening socket, a broker's handover's. */
static const char *
listen_rec(struct takeover *t, struct cur *c, const char *ro_path)
{
	const char *bad;
	int32_t fd;

	if (t->ro_fd != -1 || take(c, &fd, 4))
		return "a bad X_LISTEN record";
	if ((bad = fd_claim(t, fd)) != NULL)
		return bad;
	t->ro_fd = fd;
	if (!listening_at(fd, ro_path))
		return "the read-only socket is not RUNDIR/socket_ro";
	return NULL;
}

/*
 * X_CONN (a broker's handover, the engine's record): a socket client of
 * socket_ro stays one. Applied once every connection is read.
 */
static const char *
xconn_rec(struct takeover *t, struct cur *c)
{
	uint32_t id;
	uint16_t domid, flags;
	size_t i;

	if (take(c, &id, 4) || take(c, &domid, 2) || take(c, &flags, 2))
		return "a short X_CONN record";
	if (!(flags & XCONN_RO))
		return NULL;
	for (i = 0; i < t->nconns; i++)
		if (t->conns[i].id == id && !t->conns[i].ring) {
			t->conns[i].readonly = 1;
			return NULL;
		}
	return NULL;
}

/* Walks the records; the store's are the engine's to check. */
static const char *
records(struct takeover *t, const char *sock_path, const char *ro_path,
	size_t *at)
{
	struct cur c = {t->map, t->len};
	uint8_t ident[8];
	uint32_t ver, flags, type, len;
	const char *bad = NULL;

	if (take(&c, ident, 8) || memcmp(ident, "xenstore", 8) != 0 ||
	    take(&c, &ver, 4) || take(&c, &flags, 4))
		return "not a xenstore migration stream";
	if (be32toh(ver) < 1 || be32toh(ver) > ST_VERSION ||
	    (be32toh(flags) & 1) != (BYTE_ORDER == BIG_ENDIAN))
		return "an unsupported version or byte order";
	for (;;) {
		struct cur body;
		size_t padded;

		*at = t->len - c.left;
		if (take(&c, &type, 4) || take(&c, &len, 4))
			return "no END record";
		padded = ((size_t)len + 7) & ~(size_t)7;
		if (c.left < padded)
			return "a truncated record";
		body = (struct cur){c.p, len};
		c.p += padded;
		c.left -= padded;
		if (type == REC_END)
			break;
		if (type == REC_GLOBAL_DATA)
			bad = global_rec(t, &body, sock_path);
		else if (type == REC_CONNECTION_DATA)
			bad = conn_rec(t, &body);
		else if (type == REC_X_LISTEN)
			bad = listen_rec(t, &body, ro_path);
		else if (type == REC_X_CONN)
			bad = xconn_rec(t, &body);
		else if (type == REC_X_LU && (take(&body, &t->lu_conn, 4) ||
					      take(&body, &t->lu_req, 4)))
			bad = "a short X_LU record";
		if (bad != NULL)
			return bad;
	}
	if (!t->have_global)
		return "no GLOBAL_DATA record";
	if (t->evtchn_fd == -1 && t->nconns > 0)
		for (size_t i = 0; i < t->nconns; i++)
			if (t->conns[i].ring)
				return "rings without an event channel handle";
	return NULL;
}

/*
 * Reads and checks RUNDIR/state_dump (into t, which keeps it mapped until
 * takeover_done()). Returns NULL, or why the stream cannot be taken.
 */
const char *
takeover_load(struct takeover *t, const char *rundir, char *why, size_t len)
{
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char ro_path[sizeof(sock_path)];
	struct stat st;
	const char *bad;
	size_t at = 0;
	int fd;

	memset(t, 0, sizeof(*t));
	t->sock_fd = t->evtchn_fd = t->ro_fd = t->keep_fd = -1;
	if (snprintf(t->path, sizeof(t->path), "%s/state_dump", rundir) >=
		    (int)sizeof(t->path) ||
	    snprintf(sock_path, sizeof(sock_path), "%s/socket", rundir) >=
		    (int)sizeof(sock_path) ||
	    snprintf(ro_path, sizeof(ro_path), "%s/socket_ro", rundir) >=
		    (int)sizeof(ro_path))
		fatalx("run directory name too long: %s", rundir);
	if ((fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		fatal("live update: %s", t->path);
	if (fstat(fd, &st) == -1)
		fatal("live update: %s", t->path);
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		fatalx("live update: %s is not a regular file written by root "
		       "alone",
		       t->path);
	t->len = (size_t)st.st_size;
	t->map = t->len == 0
			 ? NULL
			 : mmap(NULL, t->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (t->map == MAP_FAILED)
		fatal("live update: mapping %s", t->path);
	if ((bad = records(t, sock_path, ro_path, &at)) != NULL) {
		snprintf(why, len, "%s: %s (at offset %zu)", t->path, bad, at);
		return why;
	}
	return NULL;
}

/* Every fd but the stream's and stdio: the old daemon's are not ours. */
void
takeover_close_others(const struct takeover *t)
{
	int *keep = NULL;
	size_t n = t->nfds, i, j;
	unsigned int lo = 3;

	if ((keep = malloc((n + 1) * sizeof(*keep))) == NULL)
		fatal("live update");
	memcpy(keep, t->fds, n * sizeof(*keep));
	/* The fallback a broker that replaced itself left us. */
	if (t->keep_fd != -1)
		keep[n++] = t->keep_fd;
	/* Sorted, so that the gaps between them can be closed in turn. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int x = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = x;
		}
	for (i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > lo)
			close_range(lo, (unsigned int)keep[i] - 1, 0);
		lo = (unsigned int)keep[i] + 1;
	}
	close_range(lo, ~0u, 0);
	free(keep);
}

/*
 * The stream's fds are ours from here: none may leak into an exec, and
 * none may block the loop (C xenstored's sockets block: it polls first).
 */
void
takeover_own_fds(const struct takeover *t)
{
	size_t i;
	int fl;

	for (i = 0; i < t->nfds; i++)
		if (fcntl(t->fds[i], F_SETFD, FD_CLOEXEC) == -1 ||
		    (fl = fcntl(t->fds[i], F_GETFL)) == -1 ||
		    fcntl(t->fds[i], F_SETFL, fl | O_NONBLOCK) == -1)
			fatal("live update: fd %d", t->fds[i]);
}

const struct takeover_conn *
takeover_dom0(const struct takeover *t)
{
	size_t i;

	for (i = 0; i < t->nconns; i++)
		if (t->conns[i].ring && t->conns[i].domid == 0)
			return &t->conns[i];
	return NULL;
}

void
takeover_done(struct takeover *t)
{
	/* Taken over: the fallback is no longer needed. */
	if (t->keep_fd != -1)
		close(t->keep_fd);
	if (t->map != NULL && t->map != MAP_FAILED)
		munmap((void *)t->map, t->len);
	free(t->conns);
	free(t->fds);
	memset(t, 0, sizeof(*t));
}
