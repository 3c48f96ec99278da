// SPDX-License-Identifier: GPL-2.0-only
/*
 * xsload: a xenstore load generator for `make bench`.
 *
 * Speaks the raw xenstore wire protocol (struct xsd_sockmsg, host byte
 * order) over the daemon's Unix socket as dom0, or over simulated guest
 * rings (tests/xensim/libxsguest.so) as domUs.  Each workload checks every
 * reply (type, payload, counts) and prints one JSON line of results on
 * stdout; any protocol error makes it print {"ok":false,...} and exit 1.
 * It never judges timings.
 *
 *   xsload --socket PATH [--guests SIMDIR:FIRST] [--pids P,P] WORKLOAD [opts]
 *
 * With --guests, the clients of latency, throughput, pipeline and watch
 * are guests FIRST, FIRST+1, ... (already INTRODUCEd by the driver); the
 * socket is still used as dom0 for setup and as the writer.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"
#include "guest.h"

enum {
	T_DIRECTORY = 1,
	T_READ = 2,
	T_WATCH = 4,
	T_TX_START = 6,
	T_TX_END = 7,
	T_WRITE = 11,
	T_MKDIR = 12,
	T_RM = 13,
	T_SET_PERMS = 14,
	T_WATCH_EVENT = 15,
	T_ERROR = 16,
	T_DIRECTORY_PART = 22,
};

#define PAYLOAD_MAX 4096
#define IO_TIMEOUT_MS 60000

static const char *g_socket;
static const char *g_simdir;
static unsigned g_first_dom;
static const char *g_pids;

/* -- failure reporting ---------------------------------------------------- */

static const char *g_workload = "?";

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 32)
			*p = ' ';
	fprintf(stderr, "xsload %s: %s\n", g_workload, msg);
	printf("{\"workload\":\"%s\",\"ok\":false,\"error\":\"%s\"}\n",
	       g_workload, msg);
	fflush(stdout);
	exit(1);
}

/* An allocation's result, or the run ends: a load generator has no use for
 * half its buffers. */
static void *
must_alloc(void *p)
{
	if (p == NULL)
		fail("out of memory");
	return p;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* -- connections ------------------------------------------------------- */

/* A received message; body (NUL terminated) stays valid until the next
 * receive on the same connection. */
struct msg {
	struct xsd_sockmsg h;
	char *body;
};

/* Largest reply accepted: the payload limit, except where a connection
 * allows more (oxenstored's DIRECTORY of a big node). */
#define BIG_MAX (1 << 20)

struct conn {
	int fd;        /* socket, or -1 */
	struct xsg *g; /* guest ring, or NULL */
	uint32_t next_req;
	uint64_t watch_events; /* WATCH_EVENTs skipped by call() */
	size_t max_reply;      /* PAYLOAD_MAX unless allowed more */
	char *body;            /* the last message's payload */
	/* input buffer */
	char *in;
	size_t in_len, in_off, in_cap;
	/* guest output buffer (sockets write directly) */
	char *out;
	size_t out_len, out_off, out_cap;
};

static struct conn *
conn_socket(void)
{
	struct conn *c = must_alloc(calloc(1, sizeof(*c)));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		fail("socket: %s", strerror(errno));
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", g_socket);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		fail("connect %s: %s", g_socket, strerror(errno));
	c->in_cap = 1 << 17;
	c->in = must_alloc(malloc(c->in_cap));
	c->max_reply = PAYLOAD_MAX;
	c->body = must_alloc(malloc(BIG_MAX + 1));
	return c;
}

static struct conn *
conn_guest(unsigned idx)
{
	struct conn *c = must_alloc(calloc(1, sizeof(*c)));
	c->fd = -1;
	c->g = xsg_attach(g_simdir, g_first_dom + idx);
	if (!c->g)
		fail("attach dom%u: %s", g_first_dom + idx, strerror(errno));
	c->in_cap = 1 << 17;
	c->in = must_alloc(malloc(c->in_cap));
	c->out_cap = 1 << 16;
	c->out = must_alloc(malloc(c->out_cap));
	c->max_reply = PAYLOAD_MAX;
	c->body = must_alloc(malloc(BIG_MAX + 1));
	return c;
}

/* Client number idx: a guest with --guests, else a dom0 socket. */
static struct conn *
conn_client(unsigned idx)
{
	return g_simdir ? conn_guest(idx) : conn_socket();
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->g)
		xsg_detach(c->g);
	free(c->in);
	free(c->out);
	free(c->body);
	free(c);
}

/* Guest: moves what fits of the output buffer into req[] and what is in
 * rsp[] into the input buffer; returns whether anything moved. */
static int
guest_pump(struct conn *c)
{
	int moved = 0;
	if (c->out_off < c->out_len) {
		size_t n = xsg_put(c->g, c->out + c->out_off,
				   c->out_len - c->out_off);
		if (n) {
			c->out_off += n;
			moved = 1;
			xsg_notify(c->g);
		}
		if (c->out_off == c->out_len)
			c->out_off = c->out_len = 0;
	}
	if (c->in_off && c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	if (c->in_cap - c->in_len < 4096) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	size_t n = xsg_get(c->g, c->in + c->in_len, c->in_cap - c->in_len);
	if (n) {
		c->in_len += n;
		moved = 1;
		xsg_notify(c->g);
	}
	return moved;
}

/* Queues (guest) or writes (socket) one request; returns its req_id. */
static uint32_t
conn_send(struct conn *c, uint32_t type, uint32_t tx, const void *p,
	  uint32_t len)
{
	if (len > PAYLOAD_MAX)
		fail("request too long (%u)", len);
	uint32_t id = ++c->next_req;
	struct xsd_sockmsg h = {
		.type = type, .req_id = id, .tx_id = tx, .len = len};
	if (c->fd >= 0) {
		char buf[sizeof(h) + PAYLOAD_MAX];
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), p, len);
		size_t tot = sizeof(h) + len, done = 0;
		while (done < tot) {
			ssize_t n = write(c->fd, buf + done, tot - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				fail("write: %s",
				     n ? strerror(errno) : "closed");
			done += n;
		}
		return id;
	}
	if (c->out_cap - c->out_len < sizeof(h) + len) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (grow_room(&c->out, &c->out_cap, c->out_len, sizeof(h) + len,
			      1, 1 << 16) == -1)
			fail("out of memory");
	}
	memcpy(c->out + c->out_len, &h, sizeof(h));
	memcpy(c->out + c->out_len + sizeof(h), p, len);
	c->out_len += sizeof(h) + len;
	guest_pump(c);
	return id;
}

/* A complete message in the input buffer, if any, is moved to m. */
static int
take_msg(struct conn *c, struct msg *m)
{
	size_t avail = c->in_len - c->in_off;
	if (avail < sizeof(m->h))
		return 0;
	memcpy(&m->h, c->in + c->in_off, sizeof(m->h));
	if (m->h.len > c->max_reply)
		fail("reply of %u bytes (type %u)", m->h.len, m->h.type);
	if (avail < sizeof(m->h) + m->h.len) {
		if (c->in_cap < sizeof(m->h) + m->h.len + 8192) {
			c->in_cap = sizeof(m->h) + m->h.len + 8192;
			c->in = must_alloc(realloc(c->in, c->in_cap));
		}
		return 0;
	}
	m->body = c->body;
	memcpy(m->body, c->in + c->in_off + sizeof(m->h), m->h.len);
	m->body[m->h.len] = 0;
	c->in_off += sizeof(m->h) + m->h.len;
	return 1;
}

/* Non-blocking: 1 if a message was taken. */
static int
conn_poll_msg(struct conn *c, struct msg *m)
{
	if (take_msg(c, m))
		return 1;
	if (c->g) {
		guest_pump(c);
		return take_msg(c, m);
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	if (c->in_cap - c->in_len < 8192) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len,
			 MSG_DONTWAIT);
	if (n == 0)
		fail("connection closed by the daemon");
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		fail("read: %s", strerror(errno));
	}
	c->in_len += n;
	return take_msg(c, m);
}

/* Blocks until a whole message arrives. */
static void
conn_recv(struct conn *c, struct msg *m)
{
	for (;;) {
		if (take_msg(c, m))
			return;
		if (c->g) {
			if (guest_pump(c))
				continue;
			int r = xsg_wait(c->g, IO_TIMEOUT_MS);
			if (r < 0)
				fail("wait: %s", strerror(errno));
			if (r == 0 && !xsg_rsp_avail(c->g))
				fail("no reply within %d ms (dom%u)",
				     IO_TIMEOUT_MS, g_first_dom);
			continue;
		}
		if (c->in_off == c->in_len)
			c->in_off = c->in_len = 0;
		if (c->in_cap - c->in_len < 8192) {
			memmove(c->in, c->in + c->in_off,
				c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
		}
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int r = poll(&pfd, 1, IO_TIMEOUT_MS);
		if (r == 0)
			fail("no reply within %d ms", IO_TIMEOUT_MS);
		ssize_t n =
			read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("read: %s", n ? strerror(errno) : "closed");
		c->in_len += n;
	}
}

/* One request and its reply (watch events meanwhile are counted and
 * dropped). */
static void
call(struct conn *c, uint32_t type, uint32_t tx, const void *p, uint32_t len,
     struct msg *m)
{
	uint32_t id = conn_send(c, type, tx, p, len);
	for (;;) {
		conn_recv(c, m);
		if (m->h.type == T_WATCH_EVENT) {
			c->watch_events++;
			continue;
		}
		if (m->h.req_id != id)
			fail("reply for req %u, expected %u", m->h.req_id, id);
		return;
	}
}

static const char *
err_of(const struct msg *m)
{
	return m->h.type == T_ERROR ? m->body : NULL;
}

/* A request that must succeed with a reply of the same type. */
static void
must(struct conn *c, uint32_t type, uint32_t tx, const void *p, uint32_t len,
     struct msg *m, const char *what)
{
	call(c, type, tx, p, len, m);
	if (m->h.type == T_ERROR)
		fail("%s: %s", what, m->body);
	if (m->h.type != type)
		fail("%s: reply type %u", what, m->h.type);
}

static uint32_t
pbuild(char *buf, const char *a, const char *b)
{
	size_t la = strlen(a) + 1;
	memcpy(buf, a, la);
	if (!b)
		return la;
	size_t lb = strlen(b);
	memcpy(buf + la, b, lb);
	return la + lb;
}

static void
xwrite(struct conn *c, uint32_t tx, const char *path, const char *val)
{
	char buf[PAYLOAD_MAX];
	struct msg m;
	must(c, T_WRITE, tx, buf, pbuild(buf, path, val), &m, path);
}

static void
xsetperms(struct conn *c, const char *path, const char *perms)
{
	char buf[PAYLOAD_MAX];
	struct msg m;
	size_t l = pbuild(buf, path, NULL);
	size_t lp = strlen(perms) + 1;
	memcpy(buf + l, perms, lp);
	must(c, T_SET_PERMS, 0, buf, l + lp, &m, path);
}

/* Reads path into m; the value must be want (if want). */
static void
xread_check(struct conn *c, const char *path, const char *want)
{
	char buf[PAYLOAD_MAX];
	struct msg m;
	must(c, T_READ, 0, buf, pbuild(buf, path, NULL), &m, path);
	if (want && strcmp(m.body, want))
		fail("%s is \"%.40s\", expected \"%s\"", path, m.body, want);
}

/* Lists a directory with DIRECTORY_PART (any size); returns the number
 * of children. */
static long
xlist(struct conn *c, const char *path)
{
	char buf[PAYLOAD_MAX];
	struct msg m;
	long n = 0, off = 0;
	char gen[64] = "";
	for (;;) {
		char o[24];
		snprintf(o, sizeof(o), "%ld", off);
		size_t l = pbuild(buf, path, NULL);
		size_t lo = strlen(o) + 1;
		memcpy(buf + l, o, lo);
		call(c, T_DIRECTORY_PART, 0, buf, l + lo, &m);
		if (off == 0 && m.h.type == T_ERROR &&
		    !strcmp(m.body, "ENOSYS")) {
			/* oxenstored 4.17 has no DIRECTORY_PART: a plain
			 * DIRECTORY, which it answers in full on a socket */
			c->max_reply = BIG_MAX;
			must(c, T_DIRECTORY, 0, buf, l, &m, path);
			c->max_reply = PAYLOAD_MAX;
			for (size_t q = 0; q < m.h.len; q++)
				n += m.body[q] == 0;
			return n;
		}
		if (m.h.type != T_DIRECTORY_PART)
			fail("DIRECTORY_PART %s: %s", path,
			     err_of(&m) ?: "bad reply");
		/* generation\0 child\0 child\0 ... \0 (empty string ends) */
		size_t gl = strnlen(m.body, m.h.len);
		if (gl >= m.h.len)
			fail("DIRECTORY_PART %s: no generation", path);
		if (off == 0)
			snprintf(gen, sizeof(gen), "%.63s", m.body);
		else if (strncmp(gen, m.body, 63))
			fail("DIRECTORY_PART %s: generation changed", path);
		size_t p = gl + 1;
		int last = 0;
		while (p < m.h.len) {
			size_t cl = strnlen(m.body + p, m.h.len - p);
			if (cl == 0) {
				last = 1;
				break;
			}
			n++;
			p += cl + 1;
		}
		if (last)
			break;
		if (p == gl + 1)
			fail("DIRECTORY_PART %s: empty part", path);
		off += (long)(p - gl - 1);
	}
	return n;
}

/* -- statistics ------------------------------------------------------------ */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double
pct_us(uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (n - 1) + 0.5);
	return v[i] / 1000.0;
}

/* Memory a process holds in memfds it does not map (split-xenstored's
 * state: snapshot and journal), which VmRSS leaves out.  Broker and engine
 * hold the same two memfds: each is counted once, by inode, across the
 * processes of one rss_kb(). */
static struct {
	dev_t dev;
	ino_t ino;
} g_memfd_seen[16];
static int g_nmemfd_seen;

static long
memfd_kb(const char *pid)
{
	char dir[64], link[384], target[256];
	struct dirent *de;
	struct stat st;
	long tot = 0;
	ssize_t n;
	DIR *d;
	int i;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "/memfd:", 7) != 0 || stat(link, &st) != 0)
			continue;
		for (i = 0; i < g_nmemfd_seen; i++)
			if (g_memfd_seen[i].dev == st.st_dev &&
			    g_memfd_seen[i].ino == st.st_ino)
				break;
		if (i < g_nmemfd_seen)
			continue;
		if (g_nmemfd_seen < 16) {
			g_memfd_seen[g_nmemfd_seen].dev = st.st_dev;
			g_memfd_seen[g_nmemfd_seen++].ino = st.st_ino;
		}
		tot += (long)(st.st_blocks / 2);
	}
	closedir(d);
	return tot;
}

/*
 * CPU time of every --pids process and of all their threads, in ns, from
 * /proc/PID/task/TID/schedstat (nanoseconds on a CPU, where /proc/PID/stat
 * counts 10 ms ticks). Taken around a timed section, wake-ups included: what
 * the daemon costs the host per request, whichever of its processes pays.
 */
static uint64_t
daemon_cpu_ns(void)
{
	if (!g_pids)
		return 0;
	uint64_t tot = 0;
	char *list = must_alloc(strdup(g_pids)), *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%s/task", t);
		DIR *d = opendir(path);
		if (!d)
			continue; /* a process that ended has no more to count
				   */
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char sp[sizeof(path) + sizeof(e->d_name) + 16];
			unsigned long long ns;
			snprintf(sp, sizeof(sp), "%s/%s/schedstat", path,
				 e->d_name);
			FILE *f = fopen(sp, "r");
			if (!f)
				continue;
			if (fscanf(f, "%llu", &ns) == 1)
				tot += ns;
			fclose(f);
		}
		closedir(d);
	}
	free(list);
	return tot;
}

/* Microseconds of daemon CPU per request, or -1 without --pids. */
static double
cpu_us_per(uint64_t c0, long requests)
{
	if (!g_pids || requests <= 0)
		return -1;
	return (double)(daemon_cpu_ns() - c0) / 1000.0 / (double)requests;
}

static long
rss_kb(void)
{
	if (!g_pids)
		return -1;
	long tot = 0;
	char *list = must_alloc(strdup(g_pids)), *save = NULL;
	g_nmemfd_seen = 0;
	for (char *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		char path[64], line[256];
		snprintf(path, sizeof(path), "/proc/%s/status", t);
		FILE *f = fopen(path, "r");
		if (!f)
			fail("%s: %s", path, strerror(errno));
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "VmRSS:", 6))
				tot += strtol(line + 6, NULL, 10);
		fclose(f);
		tot += memfd_kb(t);
	}
	free(list);
	return tot;
}

/* -- workloads ------------------------------------------------------------- */

static const char *
g_mode(void)
{
	return g_simdir ? "guest" : "socket";
}

/* latency: one client, sequential READ then WRITE of a small node. */
static void
w_latency(long n)
{
	struct conn *s = conn_socket();
	const char *path = g_simdir ? "/bench/lat" : "/bench/lat";
	xwrite(s, 0, path, "0123456789abcdef");
	if (g_simdir)
		xsetperms(s, path, "b0");
	struct conn *c = conn_client(0);
	char rq[PAYLOAD_MAX], wq[PAYLOAD_MAX];
	uint32_t rl = pbuild(rq, path, NULL);
	uint32_t wl = pbuild(wq, path, "0123456789abcdef");
	uint64_t *rt = must_alloc(calloc(n, sizeof(*rt))),
		 *wt = must_alloc(calloc(n, sizeof(*wt)));
	struct msg m;
	for (long i = 0; i < n / 10 + 100; i++) /* warm up */
		must(c, T_READ, 0, rq, rl, &m, "READ");
	uint64_t c0 = daemon_cpu_ns();
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		uint64_t a = now_ns();
		must(c, T_READ, 0, rq, rl, &m, "READ");
		rt[i] = now_ns() - a;
		if (m.h.len != 16 || memcmp(m.body, "0123456789abcdef", 16))
			fail("READ returned a wrong value");
	}
	double t1 = now_s();
	for (long i = 0; i < n; i++) {
		uint64_t a = now_ns();
		must(c, T_WRITE, 0, wq, wl, &m, "WRITE");
		wt[i] = now_ns() - a;
	}
	double t2 = now_s();
	double cpu = cpu_us_per(c0, 2 * n);
	qsort(rt, n, sizeof(*rt), cmp_u64);
	qsort(wt, n, sizeof(*wt), cmp_u64);
	printf("{\"workload\":\"latency\",\"ok\":true,\"mode\":\"%s\","
	       "\"n\":%ld,\"read_p50_us\":%.2f,\"read_p99_us\":%.2f,"
	       "\"read_ops_s\":%.0f,\"write_p50_us\":%.2f,"
	       "\"write_p99_us\":%.2f,\"write_ops_s\":%.0f,"
	       "\"cpu_us_per_req\":%.2f}\n",
	       g_mode(), n, pct_us(rt, n, .5), pct_us(rt, n, .99),
	       n / (t1 - t0), pct_us(wt, n, .5), pct_us(wt, n, .99),
	       n / (t2 - t1), cpu);
	conn_close(c);
	conn_close(s);
}

/* Writes count nodes fmt%ld with value "v%ld" through c, depth requests
 * in flight; stops early after budget seconds (0: none).  Returns the
 * number written. */
static long
populate(struct conn *c, const char *fmt, long count, int depth, double budget)
{
	char buf[PAYLOAD_MAX], path[256], val[64];
	struct msg m;
	long sent = 0, done = 0;
	double t0 = now_s();
	int stop = 0;
	while (done < sent || (!stop && sent < count)) {
		while (!stop && sent < count && sent - done < depth) {
			snprintf(path, sizeof(path), fmt, sent);
			snprintf(val, sizeof(val), "value-%010ld", sent);
			conn_send(c, T_WRITE, 0, buf, pbuild(buf, path, val));
			sent++;
			if (budget > 0 && (sent & 255) == 0 &&
			    now_s() - t0 > budget)
				stop = 1;
		}
		conn_recv(c, &m);
		if (m.h.type == T_WATCH_EVENT)
			continue;
		if (m.h.type != T_WRITE)
			fail("populate WRITE: %s", err_of(&m) ?: "bad reply");
		done++;
	}
	return done;
}

/* throughput: conns clients, 80% READ / 20% WRITE over nodes nodes. */
struct tp_arg {
	unsigned idx;
	long nodes;
	atomic_int *go, *stop;
	long ops;
	struct conn *c;
};

static void *
tp_thread(void *p)
{
	struct tp_arg *a = p;
	struct conn *c = a->c;
	uint64_t x = 0x9e3779b97f4a7c15ull * (a->idx + 1);
	char buf[PAYLOAD_MAX], path[64];
	struct msg m;
	while (!atomic_load(a->go))
		;
	while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		long k = (long)((x >> 8) % (uint64_t)a->nodes);
		snprintf(path, sizeof(path), "/bench/tp/n%ld", k);
		if ((x & 0xff) < 205) {
			must(c, T_READ, 0, buf, pbuild(buf, path, NULL), &m,
			     "READ");
			if (m.h.len != 16)
				fail("READ %s: %u bytes", path, m.h.len);
		} else {
			must(c, T_WRITE, 0, buf,
			     pbuild(buf, path, "value-0000000000"), &m,
			     "WRITE");
		}
		a->ops++;
	}
	return NULL;
}

static void
w_throughput(unsigned conns, long nodes, double secs)
{
	struct conn *s = conn_socket();
	if (g_simdir) {
		xwrite(s, 0, "/bench/tp", "");
		xsetperms(s, "/bench/tp", "b0");
	}
	populate(s, "/bench/tp/n%ld", nodes, 64, 0);
	if (g_simdir) { /* guests may read and write them */
		char buf[PAYLOAD_MAX], path[64];
		struct msg m;
		long sent = 0, done = 0;
		while (done < nodes) {
			while (sent < nodes && sent - done < 64) {
				snprintf(path, sizeof(path), "/bench/tp/n%ld",
					 sent++);
				size_t l = pbuild(buf, path, NULL);
				memcpy(buf + l, "b0", 3);
				conn_send(s, T_SET_PERMS, 0, buf, l + 3);
			}
			conn_recv(s, &m);
			if (m.h.type != T_SET_PERMS)
				fail("SET_PERMS: %s", err_of(&m) ?: "bad");
			done++;
		}
	}
	atomic_int go = 0, stop = 0;
	struct tp_arg *a = must_alloc(calloc(conns, sizeof(*a)));
	pthread_t *th = must_alloc(calloc(conns, sizeof(*th)));
	for (unsigned i = 0; i < conns; i++) {
		a[i] = (struct tp_arg){.idx = i,
				       .nodes = nodes,
				       .go = &go,
				       .stop = &stop,
				       .c = conn_client(i)};
		pthread_create(&th[i], NULL, tp_thread, &a[i]);
	}
	uint64_t c0 = daemon_cpu_ns();
	double t0 = now_s();
	atomic_store(&go, 1);
	struct timespec ts = {.tv_sec = (time_t)secs,
			      .tv_nsec = (long)((secs - (time_t)secs) * 1e9)};
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	long ops = 0;
	for (unsigned i = 0; i < conns; i++) {
		pthread_join(th[i], NULL);
		ops += a[i].ops;
	}
	double t = now_s() - t0;
	double cpu = cpu_us_per(c0, ops);
	/* Every node still reads back with its 16 bytes. */
	for (long k = 0; k < nodes; k += nodes / 50 + 1) {
		char path[64];
		snprintf(path, sizeof(path), "/bench/tp/n%ld", k);
		xread_check(s, path, NULL);
	}
	printf("{\"workload\":\"throughput\",\"ok\":true,\"mode\":\"%s\","
	       "\"conns\":%u,\"nodes\":%ld,\"ops\":%ld,\"secs\":%.3f,"
	       "\"ops_s\":%.0f,\"cpu_us_per_req\":%.2f}\n",
	       g_mode(), conns, nodes, ops, t, ops / t, cpu);
	for (unsigned i = 0; i < conns; i++)
		conn_close(a[i].c);
	conn_close(s);
}

/* pipeline: one client, depth READs in flight. */
static void
w_pipeline(int depth, long n)
{
	struct conn *s = conn_socket();
	xwrite(s, 0, "/bench/pipe", "0123456789abcdef");
	if (g_simdir)
		xsetperms(s, "/bench/pipe", "b0");
	struct conn *c = conn_client(0);
	char rq[PAYLOAD_MAX];
	uint32_t rl = pbuild(rq, "/bench/pipe", NULL);
	struct msg m;
	long sent = 0, done = 0;
	uint32_t expect = c->next_req + 1;
	uint64_t c0 = daemon_cpu_ns();
	double t0 = now_s();
	while (done < n) {
		while (sent < n && sent - done < depth) {
			conn_send(c, T_READ, 0, rq, rl);
			sent++;
		}
		conn_recv(c, &m);
		if (m.h.type == T_ERROR)
			fail("READ: %s", m.body);
		if (m.h.type != T_READ || m.h.len != 16)
			fail("READ: reply type %u len %u", m.h.type, m.h.len);
		if (m.h.req_id != expect++)
			fail("reply out of order");
		done++;
	}
	double t = now_s() - t0;
	double cpu = cpu_us_per(c0, n);
	printf("{\"workload\":\"pipeline\",\"ok\":true,\"mode\":\"%s\","
	       "\"depth\":%d,\"n\":%ld,\"secs\":%.3f,\"ops_s\":%.0f,"
	       "\"cpu_us_per_req\":%.2f}\n",
	       g_mode(), depth, n, t, n / t, cpu);
	conn_close(c);
	conn_close(s);
}

/* bootstorm: domains created by conns dom0 connections, each domain one
 * transaction of ~40 nodes, retried on EAGAIN. */
struct bs_arg {
	unsigned idx, conns;
	long domains;
	int counter;
	atomic_int *go;
	long eagain, ops;
	int max_retries;
};

static uint32_t
tx_start(struct conn *c)
{
	struct msg m;
	must(c, T_TX_START, 0, "", 1, &m, "TRANSACTION_START");
	return (uint32_t)strtoul(m.body, NULL, 10);
}

/* Returns 1 committed, 0 EAGAIN. */
static int
tx_end(struct conn *c, uint32_t tx, int commit)
{
	struct msg m;
	call(c, T_TX_END, tx, commit ? "T" : "F", 2, &m);
	if (m.h.type == T_ERROR && !strcmp(m.body, "EAGAIN"))
		return 0;
	if (m.h.type != T_TX_END)
		fail("TRANSACTION_END: %s", err_of(&m) ?: "bad reply");
	return 1;
}

/* Within tx: an EAGAIN from any request (oxenstored may answer so before
 * the commit) aborts the attempt. */
static int
tx_op(struct conn *c, uint32_t tx, uint32_t type, const char *path,
      const char *val, long *ops)
{
	char buf[PAYLOAD_MAX];
	struct msg m;
	call(c, type, tx, buf, pbuild(buf, path, val), &m);
	(*ops)++;
	if (m.h.type == T_ERROR) {
		if (!strcmp(m.body, "EAGAIN"))
			return 0;
		fail("%s in tx: %s", path, m.body);
	}
	if (m.h.type != type)
		fail("%s in tx: reply type %u", path, m.h.type);
	return 1;
}

#define BS_NODES 40

static int
bs_domain(struct conn *c, long d, int counter, long *ops)
{
	char uuid[64], vm[96], dom[64], be_vbd[96], be_vif[96], p[256], v[256];
	snprintf(uuid, sizeof(uuid), "%08lx-0000-4000-8000-%012ld", d, d);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);
	snprintf(dom, sizeof(dom), "/local/domain/%ld", d);
	snprintf(be_vbd, sizeof(be_vbd),
		 "/local/domain/0/backend/vbd/%ld/51712", d);
	snprintf(be_vif, sizeof(be_vif), "/local/domain/0/backend/vif/%ld/0",
		 d);
	uint32_t tx = tx_start(c);
	int n = 0;
#define OP(type, val, ...)                                                     \
	do {                                                                   \
		snprintf(p, sizeof(p), __VA_ARGS__);                           \
		n++;                                                           \
		if (!tx_op(c, tx, type, p, val, ops))                          \
			goto again;                                            \
	} while (0)
#define W(val, ...) OP(T_WRITE, val, __VA_ARGS__)
#define M(...) OP(T_MKDIR, NULL, __VA_ARGS__)
	if (counter) {
		char buf[PAYLOAD_MAX];
		struct msg m;
		call(c, T_READ, tx, buf, pbuild(buf, "/bench/counter", NULL),
		     &m);
		(*ops)++;
		if (m.h.type == T_ERROR) {
			if (!strcmp(m.body, "EAGAIN"))
				goto again;
			fail("READ counter: %s", m.body);
		}
		snprintf(v, sizeof(v), "%ld", strtol(m.body, NULL, 10) + 1);
		if (!tx_op(c, tx, T_WRITE, "/bench/counter", v, ops))
			goto again;
	}
	/* /vm/<uuid>: 6 */
	W(uuid, "%s/uuid", vm);
	snprintf(v, sizeof(v), "bench-%ld", d);
	W(v, "%s/name", vm);
	W("hvm", "%s/image/ostype", vm);
	W("/usr/lib/xen/boot/hvmloader", "%s/image/kernel", vm);
	W("1700000000.00", "%s/start_time", vm);
	W("0", "%s/rtc/timeoffset", vm);
	/* /local/domain/<id>: 20 */
	W(vm, "%s/vm", dom);
	snprintf(v, sizeof(v), "bench-%ld", d);
	W(v, "%s/name", dom);
	snprintf(v, sizeof(v), "%ld", d);
	W(v, "%s/domid", dom);
	M("%s/data", dom);
	M("%s/drivers", dom);
	M("%s/feature", dom);
	M("%s/attr", dom);
	M("%s/error", dom);
	W("", "%s/control/shutdown", dom);
	W("1", "%s/control/platform-feature-multiprocessor-suspend", dom);
	W("1", "%s/control/platform-feature-xs_reset_watches", dom);
	W("1048576", "%s/memory/static-max", dom);
	W("1048576", "%s/memory/target", dom);
	W("8192", "%s/memory/videoram", dom);
	W("online", "%s/cpu/0/availability", dom);
	W("online", "%s/cpu/1/availability", dom);
	W("1", "%s/store/port", dom);
	W("1", "%s/store/ring-ref", dom);
	snprintf(v, sizeof(v), "%s", be_vbd);
	W(v, "%s/device/vbd/51712/backend", dom);
	W("1", "%s/device/vbd/51712/state", dom);
	/* backends: 14 */
	W(dom, "%s/frontend", be_vbd);
	snprintf(v, sizeof(v), "%ld", d);
	W(v, "%s/frontend-id", be_vbd);
	W("1", "%s/online", be_vbd);
	W("1", "%s/state", be_vbd);
	W("/dev/vg/bench", "%s/params", be_vbd);
	W("phy", "%s/type", be_vbd);
	W("w", "%s/mode", be_vbd);
	W("xvda", "%s/dev", be_vbd);
	W(dom, "%s/frontend", be_vif);
	snprintf(v, sizeof(v), "%ld", d);
	W(v, "%s/frontend-id", be_vif);
	W("1", "%s/online", be_vif);
	W("1", "%s/state", be_vif);
	W("00:16:3e:00:00:01", "%s/mac", be_vif);
	W("xenbr0", "%s/bridge", be_vif);
#undef W
#undef M
#undef OP
	if (n != BS_NODES)
		fail("bootstorm: %d nodes per domain", n);
	return tx_end(c, tx, 1);
again:
	tx_end(c, tx, 0); /* abort; may itself say EAGAIN */
	return 0;
}

static void *
bs_thread(void *p)
{
	struct bs_arg *a = p;
	struct conn *c = conn_socket();
	while (!atomic_load(a->go))
		;
	for (long d = 1 + a->idx; d <= a->domains; d += a->conns) {
		int r = 0;
		for (;;) {
			if (bs_domain(c, d, a->counter, &a->ops))
				break;
			a->eagain++;
			if (++r > 10000)
				fail("domain %ld: 10000 EAGAIN in a row", d);
		}
		if (r > a->max_retries)
			a->max_retries = r;
	}
	conn_close(c);
	return NULL;
}

static void
w_bootstorm(long domains, unsigned conns, int counter)
{
	struct conn *s = conn_socket();
	xwrite(s, 0, "/bench/counter", "0");
	/* Shared parents exist already, as on a running host. */
	xwrite(s, 0, "/vm", "");
	xwrite(s, 0, "/local/domain/0/backend/vbd", "");
	xwrite(s, 0, "/local/domain/0/backend/vif", "");
	atomic_int go = 0;
	struct bs_arg *a = must_alloc(calloc(conns, sizeof(*a)));
	pthread_t *th = must_alloc(calloc(conns, sizeof(*th)));
	for (unsigned i = 0; i < conns; i++) {
		a[i] = (struct bs_arg){.idx = i,
				       .conns = conns,
				       .domains = domains,
				       .counter = counter,
				       .go = &go};
		pthread_create(&th[i], NULL, bs_thread, &a[i]);
	}
	usleep(100000); /* every thread connected */
	uint64_t c0 = daemon_cpu_ns();
	double t0 = now_s();
	atomic_store(&go, 1);
	long eagain = 0, ops = 0;
	int maxr = 0;
	for (unsigned i = 0; i < conns; i++) {
		pthread_join(th[i], NULL);
		eagain += a[i].eagain;
		ops += a[i].ops;
		if (a[i].max_retries > maxr)
			maxr = a[i].max_retries;
	}
	double t = now_s() - t0;
	double cpu = cpu_us_per(c0, ops);
	/* Check: the counter, and every domain's nodes. */
	char want[64], path[256];
	snprintf(want, sizeof(want), "%ld", counter ? domains : 0);
	xread_check(s, "/bench/counter", want);
	for (long d = 1; d <= domains; d++) {
		snprintf(path, sizeof(path), "/local/domain/%ld/name", d);
		snprintf(want, sizeof(want), "bench-%ld", d);
		xread_check(s, path, want);
		snprintf(path, sizeof(path),
			 "/local/domain/0/backend/vif/%ld/0/bridge", d);
		xread_check(s, path, "xenbr0");
	}
	long nvbd = xlist(s, "/local/domain/0/backend/vbd");
	long nvm = xlist(s, "/vm");
	if (nvbd != domains || nvm != domains)
		fail("after the storm: %ld vbd backends, %ld /vm entries, "
		     "expected %ld",
		     nvbd, nvm, domains);
	printf("{\"workload\":\"bootstorm\",\"ok\":true,\"mode\":\"socket\","
	       "\"domains\":%ld,\"conns\":%u,\"counter\":%s,"
	       "\"nodes_per_domain\":%d,\"secs\":%.3f,\"commits_s\":%.1f,"
	       "\"eagain\":%ld,\"eagain_per_domain\":%.2f,"
	       "\"max_retries\":%d,\"requests\":%ld,"
	       "\"cpu_us_per_req\":%.2f}\n",
	       domains, conns, counter ? "true" : "false", BS_NODES, t,
	       domains / t, eagain, (double)eagain / domains, maxr, ops, cpu);
	conn_close(s);
}

/* watch: watchers connections watch /bench/w; one dom0 connection
 * writes writes children sequentially. */
static _Atomic uint64_t *w_sent; /* send time of write i */

struct poll_ctx {
	struct conn **cs;
	unsigned n;
	long *count;
	long writes;
	uint64_t maxlag, *lags;
	long nlags;
	double tlast;
};

static void *
w_reader(void *p)
{
	struct poll_ctx *x = p;
	struct pollfd *pf = must_alloc(calloc(x->n, sizeof(*pf)));
	long need = (long)x->n * x->writes, got = 0;
	struct msg mm;
	while (got < need) {
		int progress = 0;
		for (unsigned i = 0; i < x->n; i++) {
			while (conn_poll_msg(x->cs[i], &mm)) {
				progress = 1;
				uint64_t t = now_ns();
				if (mm.h.type != T_WATCH_EVENT)
					fail("watcher got type %u", mm.h.type);
				/* path is /bench/w/k<i> */
				const char *k = strrchr(mm.body, 'k');
				if (!k || strncmp(mm.body, "/bench/w/k", 10))
					fail("event for %s", mm.body);
				long idx = strtol(k + 1, NULL, 10);
				if (idx < 0 || idx >= x->writes)
					fail("event index %ld", idx);
				uint64_t s0 = atomic_load(&w_sent[idx]);
				if (!s0)
					fail("event before its write");
				uint64_t lag = t > s0 ? t - s0 : 0;
				x->lags[x->nlags++] = lag;
				if (lag > x->maxlag)
					x->maxlag = lag;
				x->count[i]++;
				got++;
			}
		}
		if (progress)
			continue;
		for (unsigned i = 0; i < x->n; i++) {
			pf[i].fd = x->cs[i]->g ? xsg_fd(x->cs[i]->g)
					       : x->cs[i]->fd;
			pf[i].events = POLLIN;
		}
		if (poll(pf, x->n, IO_TIMEOUT_MS) == 0)
			fail("no watch event for %d ms (%ld of %ld)",
			     IO_TIMEOUT_MS, got, need);
		if (x->cs[0]->g) /* consume notifications */
			for (unsigned i = 0; i < x->n; i++)
				if (pf[i].revents)
					xsg_wait(x->cs[i]->g, 0);
	}
	x->tlast = now_s();
	free(pf);
	return NULL;
}

static void
w_watch(unsigned watchers, long writes)
{
	struct conn *s = conn_socket();
	xwrite(s, 0, "/bench/w", "");
	xsetperms(s, "/bench/w", "b0");
	struct conn **cs = must_alloc(calloc(watchers, sizeof(*cs)));
	long *count = must_alloc(calloc(watchers, sizeof(*count)));
	w_sent = must_alloc(calloc(writes, sizeof(*w_sent)));
	struct msg m;
	for (unsigned i = 0; i < watchers; i++) {
		cs[i] = conn_client(i);
		char buf[128], tok[32];
		snprintf(tok, sizeof(tok), "t%u", i);
		size_t l = pbuild(buf, "/bench/w", NULL);
		memcpy(buf + l, tok, strlen(tok) + 1);
		uint32_t id =
			conn_send(cs[i], T_WATCH, 0, buf, l + strlen(tok) + 1);
		int got_reply = 0, got_ev = 0;
		while (!got_reply || !got_ev) {
			conn_recv(cs[i], &m);
			if (m.h.type == T_WATCH_EVENT)
				got_ev = 1;
			else if (m.h.req_id == id && m.h.type == T_WATCH)
				got_reply = 1;
			else
				fail("WATCH: %s", err_of(&m) ?: "bad reply");
		}
	}
	/* the writer runs in this thread; events are read in another */
	pthread_t th;
	struct poll_ctx pc = {cs, watchers, count, writes, 0, NULL, 0, 0};
	pc.lags =
		must_alloc(calloc((size_t)watchers * writes, sizeof(uint64_t)));
	pthread_create(&th, NULL, w_reader, &pc);
	char buf[PAYLOAD_MAX], path[64];
	double t0w = now_s();
	for (long i = 0; i < writes; i++) {
		snprintf(path, sizeof(path), "/bench/w/k%ld", i);
		atomic_store(&w_sent[i], now_ns());
		must(s, T_WRITE, 0, buf, pbuild(buf, path, "x"), &m, "WRITE");
	}
	double twr = now_s() - t0w;
	pthread_join(th, NULL);
	double t = pc.tlast - t0w;
	for (unsigned i = 0; i < watchers; i++)
		if (count[i] != writes)
			fail("watcher %u got %ld events, expected %ld", i,
			     count[i], writes);
	qsort(pc.lags, pc.nlags, sizeof(uint64_t), cmp_u64);
	printf("{\"workload\":\"watch\",\"ok\":true,\"mode\":\"%s\","
	       "\"watchers\":%u,\"writes\":%ld,\"events\":%ld,\"secs\":%.3f,"
	       "\"write_secs\":%.3f,\"events_s\":%.0f,\"lag_p50_us\":%.1f,"
	       "\"lag_p99_us\":%.1f,\"lag_max_us\":%.1f}\n",
	       g_mode(), watchers, writes, pc.nlags, t, twr, pc.nlags / t,
	       pct_us(pc.lags, pc.nlags, .5), pct_us(pc.lags, pc.nlags, .99),
	       pc.maxlag / 1000.0);
	for (unsigned i = 0; i < watchers; i++)
		conn_close(cs[i]);
	conn_close(s);
}

/* Writes nodes nodes top/p<i/10000>/c<i%10000> = "value-<i>", 64 in
 * flight; stops writing after budget seconds (0: none).  Returns how many
 * were written. */
static long
populate_parents(struct conn *s, const char *top, long nodes, double budget)
{
	char buf[PAYLOAD_MAX], path[256], val[64];
	struct msg m;
	long sent = 0, done = 0;
	int stop = 0, depth = 64;
	double t0 = now_s();

	while (done < sent || (!stop && sent < nodes)) {
		while (!stop && sent < nodes && sent - done < depth) {
			snprintf(path, sizeof(path), "%s/p%ld/c%ld", top,
				 sent / 10000, sent % 10000);
			snprintf(val, sizeof(val), "value-%010ld", sent);
			conn_send(s, T_WRITE, 0, buf, pbuild(buf, path, val));
			sent++;
			if (budget > 0 && (sent & 1023) == 0 &&
			    now_s() - t0 > budget)
				stop = 1;
		}
		conn_recv(s, &m);
		if (m.h.type != T_WRITE)
			fail("populate WRITE: %s", err_of(&m) ?: "bad reply");
		done++;
	}
	return done;
}

/* Reads back every step-th node populate_parents() wrote. */
static void
check_parents(struct conn *s, const char *top, long done, long step)
{
	char path[256], val[64];

	for (long i = 0; i < done; i += step) {
		snprintf(path, sizeof(path), "%s/p%ld/c%ld", top, i / 10000,
			 i % 10000);
		snprintf(val, sizeof(val), "value-%010ld", i);
		xread_check(s, path, val);
	}
}

/* scale: populate nodes nodes (10k children per parent) within budget
 * seconds, then list a 10k-child directory; RSS of --pids. */
static void
w_scale(long nodes, double budget, int reps)
{
	struct conn *s = conn_socket();
	long rss0 = rss_kb();
	double t0 = now_s();
	long done = populate_parents(s, "/bench/s", nodes, budget);
	double tpop = now_s() - t0;
	long rss1 = rss_kb();
	/* the last 1024 written form a partial batch; a capped run keeps
	 * whole parents only for the listing check */
	long want = done >= 10000 ? 10000 : done;
	uint64_t *dt = must_alloc(calloc(reps, sizeof(*dt)));
	for (int r = 0; r < reps; r++) {
		uint64_t a = now_ns();
		long n = xlist(s, "/bench/s/p0");
		dt[r] = now_ns() - a;
		if (n != want)
			fail("/bench/s/p0 has %ld children, expected %ld", n,
			     want);
	}
	qsort(dt, reps, sizeof(*dt), cmp_u64);
	/* a few nodes read back */
	check_parents(s, "/bench/s", done, done / 20 + 1);
	double rate = done / tpop;
	printf("{\"workload\":\"scale\",\"ok\":true,\"mode\":\"socket\","
	       "\"nodes\":%ld,\"populated\":%ld,\"capped\":%s,"
	       "\"budget_s\":%.0f,\"populate_s\":%.3f,\"populate_rate\":%.0f,"
	       "\"populate_s_est\":%.1f,\"dir_children\":%ld,"
	       "\"dir_ms\":%.3f,\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,"
	       "\"rss_bytes_per_node\":%.1f}\n",
	       nodes, done, done < nodes ? "true" : "false", budget, tpop, rate,
	       done < nodes ? nodes / rate : tpop, want, dt[reps / 2] / 1e6,
	       rss0, rss1,
	       rss0 >= 0 && done ? (rss1 - rss0) * 1024.0 / done : -1.0);
	conn_close(s);
}

/* The first child of pid, or -1. */
static long
first_child(long pid)
{
	char path[64];
	long child = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
	if (pid > 0 && (f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &child) != 1)
			child = -1;
		fclose(f);
	}
	return child;
}

/*
 * split-xenstored's engine: the child of the spawner, the broker's child
 * (the broker is the first --pids process).
 */
static long
engine_pid(void)
{
	long broker = g_pids ? strtol(g_pids, NULL, 10) : 0;

	return first_child(first_child(broker));
}

/* recovery: populate nodes nodes (10k children per parent), then kill the
 * engine reps times (SIGKILL), each time timing a READ sent right after
 * the kill: from the engine's death to the store serving again.  Only
 * split-xenstored has an engine to kill. */
static void
w_recovery(long nodes, int reps)
{
	struct conn *s = conn_socket();
	char path[256], val[64];
	long old, now, i;
	uint64_t *dt = must_alloc(calloc(reps, sizeof(*dt)));

	populate_parents(s, "/bench/r", nodes, 0);
	for (int r = 0; r < reps; r++) {
		/*
		 * Apart enough (BACKOFF_CALM_MS in broker/broker.h) that the
		 * broker restarts at once, without its crash-loop back-off.
		 */
		if (r > 0)
			sleep(11);
		if ((old = engine_pid()) <= 0)
			fail("no engine process to kill");
		i = (r * 7919L) % nodes;
		snprintf(path, sizeof(path), "/bench/r/p%ld/c%ld", i / 10000,
			 i % 10000);
		snprintf(val, sizeof(val), "value-%010ld", i);
		uint64_t a = now_ns();
		if (kill((pid_t)old, SIGKILL) == -1)
			fail("kill %ld: %s", old, strerror(errno));
		xread_check(s, path, val);
		dt[r] = now_ns() - a;
		if ((now = engine_pid()) <= 0 || now == old)
			fail("the engine was not restarted");
	}
	check_parents(s, "/bench/r", nodes, nodes / 50 + 1);
	qsort(dt, reps, sizeof(*dt), cmp_u64);
	printf("{\"workload\":\"recovery\",\"ok\":true,\"mode\":\"socket\","
	       "\"nodes\":%ld,\"kills\":%d,\"recovery_ms\":%.2f,"
	       "\"recovery_max_ms\":%.2f}\n",
	       nodes, reps, dt[reps / 2] / 1e6, dt[reps - 1] / 1e6);
	free(dt);
	conn_close(s);
}

/* bigtx: one transaction writes nodes nodes; commit time. */
static void
w_bigtx(long nodes)
{
	struct conn *s = conn_socket();
	xwrite(s, 0, "/bench/tx", "");
	char buf[PAYLOAD_MAX], path[64], val[64];
	struct msg m;
	double t0 = now_s();
	uint32_t tx = tx_start(s);
	for (long i = 0; i < nodes; i++) {
		snprintf(path, sizeof(path), "/bench/tx/n%ld", i);
		snprintf(val, sizeof(val), "value-%010ld", i);
		must(s, T_WRITE, tx, buf, pbuild(buf, path, val), &m, path);
	}
	double t1 = now_s();
	if (!tx_end(s, tx, 1))
		fail("commit: EAGAIN with no other client");
	double t2 = now_s();
	long n = xlist(s, "/bench/tx");
	if (n != nodes)
		fail("/bench/tx has %ld children after commit, expected %ld", n,
		     nodes);
	for (long i = 0; i < nodes; i += 97) {
		snprintf(path, sizeof(path), "/bench/tx/n%ld", i);
		snprintf(val, sizeof(val), "value-%010ld", i);
		xread_check(s, path, val);
	}
	printf("{\"workload\":\"bigtx\",\"ok\":true,\"mode\":\"socket\","
	       "\"nodes\":%ld,\"writes_ms\":%.3f,\"commit_ms\":%.3f,"
	       "\"total_ms\":%.3f}\n",
	       nodes, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t2 - t0) * 1e3);
	conn_close(s);
}

/* -- main ------------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr,
		"usage: xsload --socket PATH [--guests SIMDIR:FIRSTDOM] "
		"[--pids P,P] WORKLOAD [options]\n"
		"  latency    [-n N]\n"
		"  throughput [-c CONNS] [-k NODES] [-s SECONDS]\n"
		"  pipeline   [-d DEPTH] [-n N]\n"
		"  bootstorm  [-D DOMAINS] [-c CONNS] [--counter]\n"
		"  watch      [-c WATCHERS] [-n WRITES]\n"
		"  scale      [-k NODES] [-b BUDGET_SECONDS] [-r REPEATS]\n"
		"  recovery   [-k NODES] [-r KILLS]  (split-xenstored only)\n"
		"  bigtx      [-k NODES]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"socket", required_argument, NULL, 'S'},
		{"guests", required_argument, NULL, 'G'},
		{"pids", required_argument, NULL, 'P'},
		{"counter", no_argument, NULL, 'C'},
		{0}};
	long n = 0, k = 0, domains = 200;
	unsigned conns = 0;
	int depth = 64, counter = 0, reps = 5;
	double secs = 0, budget = 60;
	setvbuf(stdout, NULL, _IOLBF, 0);
	int o;
	while ((o = getopt_long(argc, argv, "+S:G:P:", lo, NULL)) != -1) {
		switch (o) {
		case 'S':
			g_socket = optarg;
			break;
		case 'G': {
			char *colon = strrchr(optarg, ':');
			if (!colon)
				usage();
			*colon = 0;
			g_simdir = optarg;
			g_first_dom = strtoul(colon + 1, NULL, 10);
			break;
		}
		case 'P':
			g_pids = optarg;
			break;
		default:
			usage();
		}
	}
	if (!g_socket || optind >= argc)
		usage();
	g_workload = argv[optind];
	optind++;
	while ((o = getopt_long(argc, argv, "n:k:c:s:d:D:b:r:", lo, NULL)) !=
	       -1) {
		switch (o) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'k':
			k = strtol(optarg, NULL, 10);
			break;
		case 'c':
			conns = strtoul(optarg, NULL, 10);
			break;
		case 's':
			secs = strtod(optarg, NULL);
			break;
		case 'd':
			depth = atoi(optarg);
			break;
		case 'D':
			domains = strtol(optarg, NULL, 10);
			break;
		case 'b':
			budget = strtod(optarg, NULL);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'C':
			counter = 1;
			break;
		default:
			usage();
		}
	}
	const char *w = g_workload;
	if (!strcmp(w, "latency"))
		w_latency(n ? n : 20000);
	else if (!strcmp(w, "throughput"))
		w_throughput(conns ? conns : 1, k ? k : 10000, secs ? secs : 3);
	else if (!strcmp(w, "pipeline"))
		w_pipeline(depth, n ? n : 200000);
	else if (!strcmp(w, "bootstorm"))
		w_bootstorm(domains, conns ? conns : 16, counter);
	else if (!strcmp(w, "watch"))
		w_watch(conns ? conns : 100, n ? n : 10000);
	else if (!strcmp(w, "scale"))
		w_scale(k ? k : 100000, budget, reps);
	else if (!strcmp(w, "bigtx"))
		w_bigtx(k ? k : 5000);
	else if (!strcmp(w, "recovery"))
		w_recovery(k ? k : 100000, reps > 0 ? reps : 3);
	else
		usage();
	return 0;
}
