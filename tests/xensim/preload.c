// SPDX-License-Identifier: GPL-2.0-only
/*
 * libxensim.so: LD_PRELOAD stand-in for libxenevtchn, libxengnttab,
 * libxenforeignmemory and the parts of libxenctrl that xenstored,
 * oxenstored and xs-broker call, backed by the state in $XENSIM_DIR (see
 * xensim.h).  Also:
 *   - open()/fopen() of /proc/xen/xsd_kva and /proc/xen/xsd_port go to
 *     $XENSIM_DIR/ring.0 and $XENSIM_DIR/xsd_port;
 *   - setrlimit(RLIMIT_NOFILE) above the hard limit, which fails with
 *     EPERM in containers, is clamped to the hard limit (oxenstored
 *     asks for /proc/sys/fs/nr_open).
 * Programs that never call a Xen function only see those two changes.
 * The process plays dom0 ($XENSIM_SELF_DOMID overrides).
 */
/* xenctrl.h pulls in Xen's public headers, which need GNU C. */
#undef __STRICT_ANSI__
#define XC_WANT_COMPAT_MAP_FOREIGN_API 1
#include "xensim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stddef.h>
#include <unistd.h>

#define __XEN_TOOLS__ 1
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>

#define VIRQ_DOM_EXC_ 3
#define GNTTAB_RESERVED_XENSTORE_ 1

/*
 * Tells a program that looks (xs-broker, before its seccomp filter) that
 * its Xen calls are this library's: files and sockets instead of ioctls.
 */
const int xensim_preloaded = 1;

static struct xs_ctx *
ctx(void)
{
	struct xs_ctx *c = xs_open(NULL);
	if (!c)
		fprintf(stderr, "xensim: cannot open $XENSIM_DIR: %s\n",
			strerror(errno));
	return c;
}

static uint32_t
self_domid(void)
{
	const char *s = getenv("XENSIM_SELF_DOMID");
	return s ? (uint32_t)strtoul(s, NULL, 0) : 0;
}

/* ---- /proc/xen redirection ---------------------------------------- */

static const char *rundir_redirect(const char *p, char *buf, size_t len);

static const char *
redirect(const char *p, char *buf)
{
	if (!p)
		return p;
	if (strncmp(p, "/proc/xen/xsd_", 14) != 0)
		return rundir_redirect(p, buf, 600);
	const char *name;
	if (strcmp(p + 14, "kva") == 0)
		name = "ring.0";
	else if (strcmp(p + 14, "port") == 0)
		name = "xsd_port";
	else
		return p;
	struct xs_ctx *c = ctx();
	if (!c)
		return p;
	return xs_path(c, name, buf);
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);

#define MODE_ARG(fl, m)                                                        \
	do {                                                                   \
		if ((fl) & (O_CREAT | O_TMPFILE)) {                            \
			va_list ap;                                            \
			va_start(ap, fl);                                      \
			m = va_arg(ap, int);                                   \
			va_end(ap);                                            \
		}                                                              \
	} while (0)

int
open(const char *p, int fl, ...)
{
	static open_fn real;
	char buf[600];
	int m = 0;
	MODE_ARG(fl, m);
	if (!real)
		real = (open_fn)dlsym(RTLD_NEXT, "open");
	return real(redirect(p, buf), fl, m);
}

int
open64(const char *p, int fl, ...)
{
	static open_fn real;
	char buf[600];
	int m = 0;
	MODE_ARG(fl, m);
	if (!real)
		real = (open_fn)dlsym(RTLD_NEXT, "open64");
	return real(redirect(p, buf), fl, m);
}

int
openat(int dfd, const char *p, int fl, ...)
{
	static openat_fn real;
	char buf[600];
	int m = 0;
	MODE_ARG(fl, m);
	if (!real)
		real = (openat_fn)dlsym(RTLD_NEXT, "openat");
	return real(dfd, redirect(p, buf), fl, m);
}

int
openat64(int dfd, const char *p, int fl, ...)
{
	static openat_fn real;
	char buf[600];
	int m = 0;
	MODE_ARG(fl, m);
	if (!real)
		real = (openat_fn)dlsym(RTLD_NEXT, "openat64");
	return real(dfd, redirect(p, buf), fl, m);
}

FILE *
fopen(const char *p, const char *mode)
{
	static fopen_fn real;
	char buf[600];
	if (!real)
		real = (fopen_fn)dlsym(RTLD_NEXT, "fopen");
	return real(redirect(p, buf), mode);
}

FILE *
fopen64(const char *p, const char *mode)
{
	static fopen_fn real;
	char buf[600];
	if (!real)
		real = (fopen_fn)dlsym(RTLD_NEXT, "fopen64");
	return real(redirect(p, buf), mode);
}

/* ---- oxenstored's compiled-in run directory ------------------------ */

/* With $XENSIM_XS_RUNDIR set, a Unix socket bound (and unlinked, chmod-ed)
 * under /var/run/xenstored/ or /run/xenstored/ lives in that directory
 * instead, and so do files opened or renamed there (its db dump), so
 * oxenstored instances neither collide nor touch /var/run. */
static const char *
rundir_redirect(const char *p, char *buf, size_t len)
{
	static const char *prefixes[] = {"/var/run/xenstored/",
					 "/run/xenstored/"};
	const char *rd = getenv("XENSIM_XS_RUNDIR");
	if (!p || !rd || !*rd)
		return p;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(p, prefixes[i], n) == 0) {
			snprintf(buf, len, "%s/%s", rd, p + n);
			return buf;
		}
		if (strncmp(p, prefixes[i], n - 1) == 0 && !p[n - 1])
			return rd;
	}
	return p;
}

int
bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(
			RTLD_NEXT, "bind");
	if (addr && addr->sa_family == AF_UNIX &&
	    len > offsetof(struct sockaddr_un, sun_path) + 1) {
		const struct sockaddr_un *u = (const struct sockaddr_un *)addr;
		char path[sizeof(u->sun_path) + 1], buf[600];
		size_t n = len - offsetof(struct sockaddr_un, sun_path);
		if (n > sizeof(u->sun_path))
			n = sizeof(u->sun_path);
		memcpy(path, u->sun_path, n);
		path[n] = 0;
		const char *np = rundir_redirect(path, buf, sizeof(buf));
		if (path[0] && np != path) {
			struct sockaddr_un a = {.sun_family = AF_UNIX};
			if (strlen(np) >= sizeof(a.sun_path)) {
				errno = ENAMETOOLONG;
				return -1;
			}
			strcpy(a.sun_path, np);
			return real(fd, (struct sockaddr *)&a, sizeof(a));
		}
	}
	return real(fd, addr, len);
}

int
unlink(const char *p)
{
	static int (*real)(const char *);
	char buf[600];
	if (!real)
		real = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
	return real(rundir_redirect(p, buf, sizeof(buf)));
}

int
rename(const char *a, const char *b)
{
	static int (*real)(const char *, const char *);
	char buf1[600], buf2[600];
	if (!real)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT,
								  "rename");
	return real(rundir_redirect(a, buf1, sizeof(buf1)),
		    rundir_redirect(b, buf2, sizeof(buf2)));
}

int
mkdir(const char *p, mode_t m)
{
	static int (*real)(const char *, mode_t);
	char buf[600];
	if (!real)
		real = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
	return real(rundir_redirect(p, buf, sizeof(buf)), m);
}

int
chmod(const char *p, mode_t m)
{
	static int (*real)(const char *, mode_t);
	char buf[600];
	if (!real)
		real = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "chmod");
	return real(rundir_redirect(p, buf, sizeof(buf)), m);
}

/* ---- setrlimit clamp ---------------------------------------------- */

static void
clamp_nofile(struct rlimit *r)
{
	struct rlimit cur;
	if (getrlimit(RLIMIT_NOFILE, &cur) == 0) {
		if (r->rlim_max > cur.rlim_max)
			r->rlim_max = cur.rlim_max;
		if (r->rlim_cur > r->rlim_max)
			r->rlim_cur = r->rlim_max;
	}
}

int
setrlimit(__rlimit_resource_t res, const struct rlimit *rl)
{
	static int (*real)(__rlimit_resource_t, const struct rlimit *);
	if (!real)
		real = (int (*)(__rlimit_resource_t,
				const struct rlimit *))dlsym(RTLD_NEXT,
							     "setrlimit");
	int r = real(res, rl);
	if (r < 0 && errno == EPERM && res == RLIMIT_NOFILE) {
		struct rlimit c = *rl;
		clamp_nofile(&c);
		r = real(res, &c);
	}
	return r;
}

int
setrlimit64(__rlimit_resource_t res, const struct rlimit64 *rl)
{
	return setrlimit(res, (const struct rlimit *)rl);
}

int
prlimit(pid_t pid, __rlimit_resource_t res, const struct rlimit *nl,
	struct rlimit *ol)
{
	static int (*real)(pid_t, __rlimit_resource_t, const struct rlimit *,
			   struct rlimit *);
	if (!real)
		real = (int (*)(pid_t, __rlimit_resource_t,
				const struct rlimit *,
				struct rlimit *))dlsym(RTLD_NEXT, "prlimit");
	int r = real(pid, res, nl, ol);
	if (r < 0 && errno == EPERM && res == RLIMIT_NOFILE && nl &&
	    (pid == 0 || pid == getpid())) {
		struct rlimit c = *nl;
		clamp_nofile(&c);
		r = real(pid, res, &c, ol);
	}
	return r;
}

int
prlimit64(pid_t pid, __rlimit_resource_t res, const struct rlimit64 *nl,
	  struct rlimit64 *ol)
{
	return prlimit(pid, res, (const struct rlimit *)nl,
		       (struct rlimit *)ol);
}

/* ---- libxenevtchn ------------------------------------------------- */

struct xenevtchn_handle {
	struct xs_ctx *c;
	int fd;
	char name[XS_SOCK_NAME];
};

/* As the real library: the handle's fd is close-on-exec unless asked
 * otherwise (C xenstored keeps it across its live-update exec). */
xenevtchn_handle *
xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	struct xs_ctx *c = ctx();
	if (!c)
		return NULL;
	xenevtchn_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->c = c;
	h->fd = xs_socket(c, h->name, !(flags & XENEVTCHN_NO_CLOEXEC));
	if (h->fd >= 0 && xs_send_socket() < 0) {
		close(h->fd);
		h->fd = -1;
	}
	if (h->fd < 0) {
		free(h);
		return NULL;
	}
	return h;
}

/*
 * Adopts the handle behind fd, one a process kept across exec: its socket
 * still receives the events of every port bound on it, as an open
 * /dev/xen/evtchn keeps its bindings.  The real library takes any fd and
 * fails at the first ioctl; here an fd that is not one of this state's
 * handles is refused at once, and flags must be 0 as there.
 */
xenevtchn_handle *
xenevtchn_fdopen(struct xentoollog_logger *logger, int fd, unsigned flags)
{
	struct xs_ctx *c = ctx();
	if (!c)
		return NULL;
	if (flags) {
		errno = EINVAL;
		return NULL;
	}
	xenevtchn_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->c = c;
	h->fd = fd;
	if (xs_sock_name(c, fd, h->name) < 0 || xs_send_socket() < 0) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	xs_adopt_sock(c, h->name);
	return h;
}

int
xenevtchn_close(xenevtchn_handle *h)
{
	if (!h)
		return 0;
	xs_close_sock(h->c, h->name);
	close(h->fd);
	free(h);
	return 0;
}

int
xenevtchn_fd(xenevtchn_handle *h)
{
	return h->fd;
}

int
xenevtchn_restrict(xenevtchn_handle *h, domid_t domid)
{
	return 0;
}

int
xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
	struct xs_state *st = h->c->st;
	if (port == 0 || port >= XS_MAX_PORTS ||
	    strncmp(st->ports[port].sock, h->name, XS_SOCK_NAME) != 0) {
		errno = EINVAL;
		return -1;
	}
	return xs_notify(h->c, port);
}

static xenevtchn_port_or_error_t
bind_new(xenevtchn_handle *h, int state, uint32_t rdom, uint32_t peer,
	 uint32_t virq)
{
	struct xs_state *st = h->c->st;
	uint32_t p = xs_port_alloc(h->c);
	if (!p) {
		errno = ENOSPC;
		return -1;
	}
	struct xs_port *pt = &st->ports[p];
	pt->state = state;
	pt->dom = self_domid();
	pt->rdom = rdom;
	pt->peer = peer;
	pt->virq = virq;
	pt->pid = getpid();
	memcpy(pt->sock, h->name, XS_SOCK_NAME);
	return (xenevtchn_port_or_error_t)p;
}

xenevtchn_port_or_error_t
xenevtchn_bind_unbound_port(xenevtchn_handle *h, uint32_t domid)
{
	xs_lock(h->c);
	xenevtchn_port_or_error_t p = bind_new(h, XS_PORT_UNBOUND, domid, 0, 0);
	xs_unlock(h->c);
	return p;
}

static int
pid_dead(int32_t pid)
{
	return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

xenevtchn_port_or_error_t
xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
			   evtchn_port_t rport)
{
	struct xs_state *st = h->c->st;
	uint32_t self = self_domid();
	xs_lock(h->c);
	if (rport == 0 || rport >= XS_MAX_PORTS || domid >= XS_MAX_DOMS ||
	    !st->doms[domid].exists) {
		xs_unlock(h->c);
		errno = EINVAL;
		return -1;
	}
	struct xs_port *r = &st->ports[rport];
	/* A peer left behind by a process that died is reclaimed, so that a
	 * restarted daemon can bind again. */
	if (r->state == XS_PORT_INTERDOMAIN && r->peer &&
	    r->peer < XS_MAX_PORTS && pid_dead(st->ports[r->peer].pid))
		xs_port_close(h->c, r->peer);
	if (r->state != XS_PORT_UNBOUND || r->dom != domid || r->rdom != self) {
		xs_unlock(h->c);
		errno = EINVAL;
		return -1;
	}
	xenevtchn_port_or_error_t p =
		bind_new(h, XS_PORT_INTERDOMAIN, domid, rport, 0);
	if (p > 0) {
		r->state = XS_PORT_INTERDOMAIN;
		r->peer = (uint32_t)p;
	}
	xs_unlock(h->c);
	return p;
}

xenevtchn_port_or_error_t
xenevtchn_bind_virq(xenevtchn_handle *h, unsigned int virq)
{
	xs_lock(h->c);
	xenevtchn_port_or_error_t p = bind_new(h, XS_PORT_VIRQ, 0, 0, virq);
	xs_unlock(h->c);
	return p;
}

int
xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
	struct xs_state *st = h->c->st;
	xs_lock(h->c);
	if (port == 0 || port >= XS_MAX_PORTS ||
	    st->ports[port].state == XS_PORT_FREE ||
	    strncmp(st->ports[port].sock, h->name, XS_SOCK_NAME) != 0) {
		xs_unlock(h->c);
		errno = EINVAL;
		return -1;
	}
	xs_port_close(h->c, port);
	xs_unlock(h->c);
	return 0;
}

xenevtchn_port_or_error_t
xenevtchn_pending(xenevtchn_handle *h)
{
	uint32_t p;
	for (;;) {
		ssize_t n = recv(h->fd, &p, sizeof(p), 0);
		if (n == sizeof(p))
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return (xenevtchn_port_or_error_t)p;
}

int
xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
	if (port == 0 || port >= XS_MAX_PORTS) {
		errno = EINVAL;
		return -1;
	}
	xs_unmask(h->c, port);
	return 0;
}

/* ---- libxengnttab ------------------------------------------------- */

struct xengntdev_handle {
	struct xs_ctx *c;
};

xengnttab_handle *
xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	struct xs_ctx *c = ctx();
	if (!c)
		return NULL;
	xengnttab_handle *h = calloc(1, sizeof(*h));
	if (h)
		h->c = c;
	return h;
}

int
xengnttab_close(xengnttab_handle *h)
{
	free(h);
	return 0;
}

int
xengnttab_fd(xengnttab_handle *h)
{
	errno = ENOSYS;
	return -1;
}

int
xengnttab_set_max_grants(xengnttab_handle *h, uint32_t nr_grants)
{
	return 0;
}

void *
xengnttab_map_grant_ref(xengnttab_handle *h, uint32_t domid, uint32_t ref,
			int prot)
{
	if (ref != GNTTAB_RESERVED_XENSTORE_) {
		errno = EINVAL;
		return NULL;
	}
	return xs_map_ring(h->c, domid, prot);
}

void *
xengnttab_map_grant_refs(xengnttab_handle *h, uint32_t count, uint32_t *domids,
			 uint32_t *refs, int prot)
{
	if (count != 1) {
		errno = EINVAL;
		return NULL;
	}
	return xengnttab_map_grant_ref(h, domids[0], refs[0], prot);
}

void *
xengnttab_map_domain_grant_refs(xengnttab_handle *h, uint32_t count,
				uint32_t domid, uint32_t *refs, int prot)
{
	if (count != 1) {
		errno = EINVAL;
		return NULL;
	}
	return xengnttab_map_grant_ref(h, domid, refs[0], prot);
}

void *
xengnttab_map_grant_ref_notify(xengnttab_handle *h, uint32_t domid,
			       uint32_t ref, int prot, uint32_t notify_offset,
			       evtchn_port_t notify_port)
{
	return xengnttab_map_grant_ref(h, domid, ref, prot);
}

int
xengnttab_unmap(xengnttab_handle *h, void *start_address, uint32_t count)
{
	return munmap(start_address, (size_t)count * XS_PAGE);
}

/* ---- libxenforeignmemory ------------------------------------------ */

struct xenforeignmemory_handle {
	struct xs_ctx *c;
};

xenforeignmemory_handle *
xenforeignmemory_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	struct xs_ctx *c = ctx();
	if (!c)
		return NULL;
	xenforeignmemory_handle *h = calloc(1, sizeof(*h));
	if (h)
		h->c = c;
	return h;
}

int
xenforeignmemory_close(xenforeignmemory_handle *h)
{
	free(h);
	return 0;
}

static void *
map_gfn(struct xs_ctx *c, uint32_t dom, int prot, uint64_t gfn)
{
	if (dom >= XS_MAX_DOMS || !c->st->doms[dom].exists) {
		errno = ESRCH;
		return NULL;
	}
	if (c->st->doms[dom].gfn != gfn) {
		errno = EINVAL;
		return NULL;
	}
	return xs_map_ring(c, dom, prot);
}

void *
xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t dom, int prot,
		     size_t pages, const xen_pfn_t arr[], int err[])
{
	if (pages != 1) {
		errno = EINVAL;
		return NULL;
	}
	void *m = map_gfn(h->c, dom, prot, arr[0]);
	if (err)
		err[0] = m ? 0 : -errno;
	return m;
}

void *
xenforeignmemory_map2(xenforeignmemory_handle *h, uint32_t dom, void *addr,
		      int prot, int flags, size_t pages, const xen_pfn_t arr[],
		      int err[])
{
	return xenforeignmemory_map(h, dom, prot, pages, arr, err);
}

int
xenforeignmemory_unmap(xenforeignmemory_handle *h, void *addr, size_t pages)
{
	return munmap(addr, pages * XS_PAGE);
}

int
xenforeignmemory_restrict(xenforeignmemory_handle *h, domid_t domid)
{
	return 0;
}

/* ---- libxenctrl --------------------------------------------------- */

struct xc_interface_core {
	struct xs_ctx *c;
	xc_error err;
};

xc_interface *
xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild,
		  unsigned open_flags)
{
	struct xs_ctx *c = ctx();
	if (!c)
		return NULL;
	xc_interface *x = calloc(1, sizeof(*x));
	if (x)
		x->c = c;
	return x;
}

int
xc_interface_close(xc_interface *x)
{
	free(x);
	return 0;
}

const xc_error *
xc_get_last_error(xc_interface *x)
{
	static xc_error none;
	return x ? &x->err : &none;
}

void
xc_clear_last_error(xc_interface *x)
{
	if (x)
		memset(&x->err, 0, sizeof(x->err));
}

const char *
xc_error_code_to_desc(int code)
{
	switch (code) {
	case XC_ERROR_NONE:
		return "No error details";
	case XC_INTERNAL_ERROR:
		return "Internal error";
	case XC_INVALID_PARAM:
		return "Invalid configuration";
	case XC_OUT_OF_MEMORY:
		return "Out of memory";
	default:
		return "Unknown error code";
	}
}

static unsigned
dom_flags(const struct xs_dom *d)
{
	unsigned f = 0;
	if (d->flags & XS_DOM_DYING)
		f |= XEN_DOMINF_dying;
	if (d->flags & XS_DOM_SHUTDOWN)
		f |= XEN_DOMINF_shutdown |
		     ((d->reason & XEN_DOMINF_shutdownmask)
		      << XEN_DOMINF_shutdownshift);
	if (!(d->flags & (XS_DOM_DYING | XS_DOM_SHUTDOWN)))
		f |= XEN_DOMINF_running;
	return f;
}

int
xc_domain_getinfo(xc_interface *x, uint32_t first, unsigned int max,
		  xc_dominfo_t *info)
{
	struct xs_state *st = x->c->st;
	unsigned n = 0;
	xs_lock(x->c);
	for (uint32_t d = first; d < XS_MAX_DOMS && n < max; d++) {
		const struct xs_dom *sd = &st->doms[d];
		if (!sd->exists)
			continue;
		xc_dominfo_t *i = &info[n++];
		memset(i, 0, sizeof(*i));
		i->domid = d;
		i->dying = !!(sd->flags & XS_DOM_DYING);
		i->shutdown = !!(sd->flags & XS_DOM_SHUTDOWN);
		i->shutdown_reason = sd->reason;
		i->crashed =
			i->shutdown && sd->reason == 3 /* SHUTDOWN_crash */;
		i->running = !(i->dying || i->shutdown);
		i->nr_online_vcpus = 1;
		i->max_vcpu_id = 0;
		i->nr_pages = 256;
		i->max_memkb = 1024;
	}
	xs_unlock(x->c);
	return (int)n;
}

int
xc_domain_getinfolist(xc_interface *x, uint32_t first, unsigned int max,
		      xc_domaininfo_t *info)
{
	struct xs_state *st = x->c->st;
	unsigned n = 0;
	xs_lock(x->c);
	for (uint32_t d = first; d < XS_MAX_DOMS && n < max; d++) {
		const struct xs_dom *sd = &st->doms[d];
		if (!sd->exists)
			continue;
		xc_domaininfo_t *i = &info[n++];
		memset(i, 0, sizeof(*i));
		i->domain = (domid_t)d;
		i->flags = dom_flags(sd);
		i->tot_pages = 256;
		i->max_pages = 256;
		i->nr_online_vcpus = 1;
	}
	xs_unlock(x->c);
	return (int)n;
}

void *
xc_map_foreign_range(xc_interface *x, uint32_t dom, int size, int prot,
		     unsigned long mfn)
{
	if (size != XS_PAGE) {
		errno = EINVAL;
		return NULL;
	}
	return map_gfn(x->c, dom, prot, mfn);
}

int
xc_evtchn_alloc_unbound(xc_interface *x, uint32_t dom, uint32_t remote_dom)
{
	uint32_t p;
	xs_lock(x->c);
	p = xs_port_alloc(x->c);
	if (p) {
		x->c->st->ports[p].state = XS_PORT_UNBOUND;
		x->c->st->ports[p].dom = dom;
		x->c->st->ports[p].rdom = remote_dom;
	}
	xs_unlock(x->c);
	if (!p) {
		errno = ENOSPC;
		return -1;
	}
	return (int)p;
}
