// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim core: the shared state table, locking, ports, event delivery and
 * domain control.  Linked into libxensim.so, xensim and libxsguest.so.
 * See xensim.h for the layout of $XENSIM_DIR.
 */
#include "xensim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CTX 256

static pthread_mutex_t ctx_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_mu = PTHREAD_MUTEX_INITIALIZER;
static struct xs_ctx *ctxs[MAX_CTX];
static unsigned sock_counter;
static int send_fd = -1;

const char *
xs_path(struct xs_ctx *c, const char *name, char *buf)
{
	snprintf(buf, 600, "%s/%s", c->dir, name);
	return buf;
}

void
xs_lock(struct xs_ctx *c)
{
	pthread_mutex_lock(&lock_mu);
	while (flock(c->fd, LOCK_EX) < 0 && errno == EINTR)
		;
}

void
xs_unlock(struct xs_ctx *c)
{
	flock(c->fd, LOCK_UN);
	pthread_mutex_unlock(&lock_mu);
}

static int
write_file(const char *path, const char *data, size_t len)
{
	char tmp[700];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

static int
make_ring(struct xs_ctx *c, uint32_t domid)
{
	char name[32], buf[600];
	snprintf(name, sizeof(name), "ring.%u", domid);
	int fd =
		open(xs_path(c, name, buf), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	/*
	 * A guest's ring is mapped by a daemon that may have left root by
	 * then (xs-broker runs as its own user), as Xen's gntdev lets any
	 * holder of its fd map a grant: the page is the daemon's to map.
	 */
	int r = fchmod(fd, 0666) == 0 ? ftruncate(fd, XS_PAGE) : -1;
	close(fd);
	return r;
}

/* The caller holds the lock (or owns the not yet published state). */
static int
dom_create_locked(struct xs_ctx *c, uint32_t domid, uint64_t *gfn,
		  uint32_t *port)
{
	struct xs_state *st = c->st;
	if (domid >= XS_MAX_DOMS) {
		errno = EINVAL;
		return -1;
	}
	if (st->doms[domid].exists) {
		errno = EEXIST;
		return -1;
	}
	if (make_ring(c, domid) < 0)
		return -1;
	uint32_t p = xs_port_alloc(c);
	if (!p) {
		errno = ENOSPC;
		return -1;
	}
	st->ports[p].state = XS_PORT_UNBOUND;
	st->ports[p].dom = domid;
	st->ports[p].rdom = 0;
	st->doms[domid].exists = 1;
	st->doms[domid].flags = 0;
	st->doms[domid].reason = 0;
	st->doms[domid].port = p;
	st->doms[domid].gfn = XS_GFN_BASE + domid;
	if (gfn)
		*gfn = st->doms[domid].gfn;
	if (port)
		*port = p;
	return 0;
}

static struct xs_ctx *
ctx_open(const char *dir)
{
	struct stat sb;
	char buf[600];
	struct xs_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (strlen(dir) >= sizeof(c->dir) - 40) {
		free(c);
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(c->dir, dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		goto fail;
	if (stat(dir, &sb) < 0)
		goto fail;
	c->dev = sb.st_dev;
	c->ino = sb.st_ino;
	c->fd = open(xs_path(c, "state", buf), O_RDWR | O_CLOEXEC);
	if (c->fd < 0 && errno == ENOENT) {
		/* Initialise a private copy, then publish it atomically. */
		char tmp[600];
		snprintf(tmp, sizeof(tmp), "%s/state.tmp.%d", dir,
			 (int)getpid());
		int fd =
			open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			goto fail;
		if (ftruncate(fd, sizeof(struct xs_state)) < 0) {
			close(fd);
			goto fail;
		}
		c->st = mmap(NULL, sizeof(struct xs_state),
			     PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (c->st == MAP_FAILED) {
			close(fd);
			goto fail;
		}
		c->st->magic = XS_MAGIC;
		c->st->next_port = 1;
		uint32_t port;
		if (dom_create_locked(c, 0, NULL, &port) < 0) {
			close(fd);
			goto fail;
		}
		char num[16];
		int n = snprintf(num, sizeof(num), "%u", port);
		write_file(xs_path(c, "xsd_port", buf), num, (size_t)n);
		if (link(tmp, xs_path(c, "state", buf)) == 0) {
			unlink(tmp);
			c->fd = fd;
			return c;
		}
		munmap(c->st, sizeof(struct xs_state));
		close(fd);
		unlink(tmp);
		if (errno != EEXIST)
			goto fail;
		c->fd = open(xs_path(c, "state", buf), O_RDWR | O_CLOEXEC);
	}
	if (c->fd < 0)
		goto fail;
	c->st = mmap(NULL, sizeof(struct xs_state), PROT_READ | PROT_WRITE,
		     MAP_SHARED, c->fd, 0);
	if (c->st == MAP_FAILED) {
		close(c->fd);
		goto fail;
	}
	if (c->st->magic != XS_MAGIC) {
		munmap(c->st, sizeof(struct xs_state));
		close(c->fd);
		errno = EPROTO;
		goto fail;
	}
	return c;
fail:;
	int e = errno;
	free(c);
	errno = e;
	return NULL;
}

struct xs_ctx *
xs_open(const char *dir)
{
	if (!dir)
		dir = getenv("XENSIM_DIR");
	if (!dir || !*dir) {
		errno = ENOENT;
		return NULL;
	}
	pthread_mutex_lock(&ctx_mu);
	struct xs_ctx *c = NULL;
	for (int i = 0; i < MAX_CTX && ctxs[i]; i++)
		if (strcmp(ctxs[i]->dir, dir) == 0) {
			c = ctxs[i];
			break;
		}
	if (!c) {
		int i;
		for (i = 0; i < MAX_CTX && ctxs[i]; i++)
			;
		if (i == MAX_CTX)
			errno = EMFILE;
		else if ((c = ctx_open(dir)))
			ctxs[i] = c;
	}
	pthread_mutex_unlock(&ctx_mu);
	return c;
}

static socklen_t
sock_addr(const char *name, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	size_t n = strnlen(name, XS_SOCK_NAME);
	memcpy(a->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int
xs_socket(struct xs_ctx *c, char name[XS_SOCK_NAME], int cloexec)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_DGRAM | (cloexec ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return -1;
	/* Names taken stay taken while the counter starts again after an
	 * exec (kept handles), and libxensim and libxsguest loaded in one
	 * process count apart: skip the names in use. */
	for (;;) {
		unsigned n =
			__atomic_add_fetch(&sock_counter, 1, __ATOMIC_SEQ_CST);
		snprintf(name, XS_SOCK_NAME, "xensim:%llx:%llx:%d:%u",
			 (unsigned long long)c->dev, (unsigned long long)c->ino,
			 (int)getpid(), n);
		socklen_t len = sock_addr(name, &a);
		if (bind(fd, (struct sockaddr *)&a, len) == 0)
			return fd;
		if (errno != EADDRINUSE)
			break;
	}
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
xs_sock_name(struct xs_ctx *c, int fd, char name[XS_SOCK_NAME])
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	char prefix[XS_SOCK_NAME];
	/* One syscall, the fewest a confined daemon's filter must allow: the
	 * real library makes none here. */
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		errno = EBADF;
		return -1;
	}
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (a.sun_family != AF_UNIX || len <= off + 1 || a.sun_path[0] ||
	    len - off - 1 >= XS_SOCK_NAME) {
		errno = EINVAL;
		return -1;
	}
	size_t n = len - off - 1;
	int p = snprintf(prefix, sizeof(prefix),
			 "xensim:%llx:%llx:", (unsigned long long)c->dev,
			 (unsigned long long)c->ino);
	if (n <= (size_t)p || memcmp(a.sun_path + 1, prefix, (size_t)p) != 0 ||
	    memchr(a.sun_path + 1, 0, n)) {
		errno = EINVAL;
		return -1;
	}
	memset(name, 0, XS_SOCK_NAME);
	memcpy(name, a.sun_path + 1, n);
	return 0;
}

/*
 * The socket events are sent from, made once. An event channel handle makes
 * it when it is opened: a daemon that opens its handles at start and then
 * confines itself (xs-broker's seccomp filter) makes no socket afterwards.
 */
int
xs_send_socket(void)
{
	int fd = __atomic_load_n(&send_fd, __ATOMIC_SEQ_CST);
	if (fd >= 0)
		return fd;
	int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (nfd < 0)
		return -1;
	int expect = -1;
	if (!__atomic_compare_exchange_n(&send_fd, &expect, nfd, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		close(nfd);
		nfd = expect;
	}
	return nfd;
}

/* Sends the event datagram for port p; 0 if delivered, -1 if the
 * receiver is gone. */
static int
send_event(const char *name, uint32_t p)
{
	struct sockaddr_un a;
	socklen_t len = sock_addr(name, &a);
	int fd = xs_send_socket();
	if (fd < 0)
		return -1;
	/* The receiver's queue holds at most one datagram per port, but a
	 * slow receiver with many ports can still fill it: retry a while. */
	for (int i = 0; i < 2000; i++) {
		ssize_t r =
			sendto(fd, &p, sizeof(p), MSG_DONTWAIT | MSG_NOSIGNAL,
			       (struct sockaddr *)&a, len);
		if (r == sizeof(p))
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ENOBUFS)
			return -1;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Sends port p's event to the socket name the caller read under the lock,
 * unless one is pending already. */
static void
deliver_to(struct xs_ctx *c, uint32_t p, const char *name)
{
	struct xs_port *pt = &c->st->ports[p];
	uint32_t ev = __atomic_load_n(&pt->ev, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t want = ev == XS_EV_IDLE ? XS_EV_SENT : XS_EV_AGAIN;
		if (ev == XS_EV_AGAIN)
			return;
		if (__atomic_compare_exchange_n(&pt->ev, &ev, want, 0,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			break;
	}
	if (ev == XS_EV_IDLE && send_event(name, p) < 0)
		__atomic_store_n(&pt->ev, XS_EV_IDLE, __ATOMIC_SEQ_CST);
}

/* Under the lock: whether port p has a receiver, and its socket's name. */
static int
receiver_locked(struct xs_ctx *c, uint32_t p, char *name)
{
	if (p == 0 || p >= XS_MAX_PORTS)
		return 0;
	struct xs_port *pt = &c->st->ports[p];
	if (pt->state == XS_PORT_FREE || !pt->sock[0])
		return 0;
	memcpy(name, pt->sock, XS_SOCK_NAME);
	return 1;
}

void
xs_deliver(struct xs_ctx *c, uint32_t p)
{
	char name[XS_SOCK_NAME];
	xs_lock(c);
	int ok = receiver_locked(c, p, name);
	xs_unlock(c);
	if (!ok)
		return; /* nobody listens: the receiver looks at its ring when
			   it binds */
	deliver_to(c, p, name);
}

void
xs_unmask(struct xs_ctx *c, uint32_t p)
{
	if (p == 0 || p >= XS_MAX_PORTS)
		return;
	uint32_t old = __atomic_exchange_n(&c->st->ports[p].ev, XS_EV_IDLE,
					   __ATOMIC_SEQ_CST);
	if (old == XS_EV_AGAIN)
		xs_deliver(c, p);
}

int
xs_notify(struct xs_ctx *c, uint32_t p)
{
	char name[XS_SOCK_NAME];
	if (p == 0 || p >= XS_MAX_PORTS) {
		errno = EINVAL;
		return -1;
	}
	/* One lock for the sender's port and its peer's receiver: Xen takes
	 * no lock that all domains share to send an event. */
	xs_lock(c);
	struct xs_port *pt = &c->st->ports[p];
	int state = pt->state;
	uint32_t peer = pt->peer;
	int ok = state == XS_PORT_INTERDOMAIN && peer &&
		 receiver_locked(c, peer, name);
	xs_unlock(c);
	if (state == XS_PORT_FREE) {
		errno = EINVAL;
		return -1;
	}
	if (ok)
		deliver_to(c, peer, name);
	return 0; /* Xen drops events sent on an unconnected port */
}

uint32_t
xs_port_alloc(struct xs_ctx *c)
{
	struct xs_state *st = c->st;
	uint32_t p = st->next_port;
	for (int i = 0; i < XS_MAX_PORTS; i++, p++) {
		if (p == 0 || p >= XS_MAX_PORTS)
			p = 1;
		if (st->ports[p].state == XS_PORT_FREE) {
			memset(&st->ports[p], 0, sizeof(st->ports[p]));
			st->next_port = p + 1;
			return p;
		}
	}
	return 0;
}

void
xs_port_close(struct xs_ctx *c, uint32_t p)
{
	struct xs_state *st = c->st;
	if (p == 0 || p >= XS_MAX_PORTS)
		return;
	struct xs_port *pt = &st->ports[p];
	if (pt->state == XS_PORT_INTERDOMAIN && pt->peer &&
	    pt->peer < XS_MAX_PORTS) {
		struct xs_port *q = &st->ports[pt->peer];
		if (q->state == XS_PORT_INTERDOMAIN && q->peer == p) {
			q->state = XS_PORT_UNBOUND;
			q->peer = 0;
		}
	}
	memset(pt, 0, sizeof(*pt));
}

void
xs_close_sock(struct xs_ctx *c, const char *name)
{
	xs_lock(c);
	for (uint32_t p = 1; p < XS_MAX_PORTS; p++) {
		struct xs_port *pt = &c->st->ports[p];
		if (pt->state != XS_PORT_FREE &&
		    strncmp(pt->sock, name, XS_SOCK_NAME) == 0)
			xs_port_close(c, p);
	}
	xs_unlock(c);
}

void
xs_adopt_sock(struct xs_ctx *c, const char *name)
{
	int32_t self = (int32_t)getpid();
	xs_lock(c);
	for (uint32_t p = 1; p < XS_MAX_PORTS; p++) {
		struct xs_port *pt = &c->st->ports[p];
		if (pt->state == XS_PORT_FREE || pt->pid == self ||
		    strncmp(pt->sock, name, XS_SOCK_NAME) != 0)
			continue;
		if (pt->pid <= 0 || (kill(pt->pid, 0) < 0 && errno == ESRCH))
			pt->pid = self;
	}
	xs_unlock(c);
}

int
xs_dom_create(struct xs_ctx *c, uint32_t domid, uint64_t *gfn, uint32_t *port)
{
	xs_lock(c);
	int r = dom_create_locked(c, domid, gfn, port);
	xs_unlock(c);
	return r;
}

void
xs_fire_virq(struct xs_ctx *c, uint32_t virq)
{
	uint32_t list[64];
	int n = 0;
	xs_lock(c);
	for (uint32_t p = 1; p < XS_MAX_PORTS && n < 64; p++)
		if (c->st->ports[p].state == XS_PORT_VIRQ &&
		    c->st->ports[p].virq == virq)
			list[n++] = p;
	xs_unlock(c);
	for (int i = 0; i < n; i++)
		xs_deliver(c, list[i]);
}

int
xs_dom_set(struct xs_ctx *c, uint32_t domid, uint32_t flags, uint32_t reason)
{
	if (domid >= XS_MAX_DOMS) {
		errno = EINVAL;
		return -1;
	}
	xs_lock(c);
	struct xs_dom *d = &c->st->doms[domid];
	if (!d->exists) {
		xs_unlock(c);
		errno = ESRCH;
		return -1;
	}
	d->flags |= flags;
	if (flags & XS_DOM_SHUTDOWN)
		d->reason = reason;
	xs_unlock(c);
	xs_fire_virq(c, 3 /* VIRQ_DOM_EXC */);
	return 0;
}

int
xs_dom_destroy(struct xs_ctx *c, uint32_t domid)
{
	char name[32], buf[600];
	if (domid == 0 || domid >= XS_MAX_DOMS) {
		errno = EINVAL;
		return -1;
	}
	xs_lock(c);
	struct xs_dom *d = &c->st->doms[domid];
	if (!d->exists) {
		xs_unlock(c);
		errno = ESRCH;
		return -1;
	}
	for (uint32_t p = 1; p < XS_MAX_PORTS; p++)
		if (c->st->ports[p].state != XS_PORT_FREE &&
		    c->st->ports[p].dom == domid)
			xs_port_close(c, p);
	memset(d, 0, sizeof(*d));
	snprintf(name, sizeof(name), "ring.%u", domid);
	unlink(xs_path(c, name, buf));
	xs_unlock(c);
	xs_fire_virq(c, 3 /* VIRQ_DOM_EXC */);
	return 0;
}

void *
xs_map_ring(struct xs_ctx *c, uint32_t domid, int prot)
{
	char name[32], buf[600];
	if (domid >= XS_MAX_DOMS) {
		errno = EINVAL;
		return NULL;
	}
	xs_lock(c);
	if (!c->st->doms[domid].exists) {
		xs_unlock(c);
		errno = ESRCH;
		return NULL;
	}
	snprintf(name, sizeof(name), "ring.%u", domid);
	int fd = open(xs_path(c, name, buf), O_RDWR | O_CLOEXEC);
	xs_unlock(c);
	if (fd < 0)
		return NULL;
	void *m = mmap(NULL, XS_PAGE, prot, MAP_SHARED, fd, 0);
	int e = errno;
	close(fd);
	errno = e;
	return m == MAP_FAILED ? NULL : m;
}
