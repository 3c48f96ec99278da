// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit log: one JSON line per request as it arrives, per reply, per
 * watch event, per connection opened or closed, and per engine event,
 * written by the broker because the engine is not trusted to report on
 * itself.
 *
 * Records are written as JSON (audit_json.c) into one buffer, which goes to
 * the sink in one write() per loop iteration. A request's record is made as
 * the broker reads it, so that what reached the engine is in the log even if
 * the engine never answers and the broker is then killed; its reply's record
 * names it by its seq ("req"). A reply's record is made after the loop has
 * sent the replies and the engine's next batch (audit_drain()): until then
 * a reply only moves its request to the done queue, so that the JSON and the
 * hash are made while the clients and the engine work, not before they get
 * their bytes. Replies are matched to their requests through a FIFO per
 * connection, since the engine answers each connection in order.
 *
 * When the sink does not take what is buffered (a FIFO nobody reads, a full
 * disk), past AUDIT_BACKLOG_MAX the broker stops reading clients
 * (conn_may_read()) until it catches up, so no request reaches the engine
 * unrecorded. That does not stop the engine's watch events and log lines,
 * nor replies already on their way: past AUDIT_WAITING_MAX records are
 * dropped, counted, and one record gives the counts once the backlog is
 * down to AUDIT_BACKLOG_MAX again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "broker.h"
#include "mono.h"

/* policy/audit.policy as built in: audit_policy_default[]. */
#include "audit_policy.h"

/* Hold clients back while this much waits for the sink. */
#define AUDIT_BACKLOG_MAX (256u << 10)
/*
 * Drop records while this much waits: what the engine sends cannot be held
 * back from the client side, and must not grow the broker without bound.
 */
#define AUDIT_WAITING_MAX (4u << 20)
/* The largest policy file read. */
#define AUDIT_POLICY_MAX (1u << 20)
/* How long the last records get to reach a slow sink at exit. */
#define AUDIT_EXIT_MS 2000

struct audit_conn;

/* A request the engine has yet to answer, then (done queue) its reply. */
struct audit_pending {
	struct audit_pending *next;
	uint32_t type, req_id;
	unsigned long long seq; /* its record's, or 0: none was made */
	enum audit_action action;
	struct timespec mono;
	/* Once answered (on the done queue): */
	struct audit_conn *ac;
	uint32_t rtype;       /* the reply's type */
	uint32_t rlen;        /* its payload's length */
	long long latency_us; /* arrival to reply */
	size_t cap;           /* room for payload bytes */
	uint8_t payload[];    /* what the record shows of the reply */
};

/*
 * Replies usually fit in a small block. Blocks are kept for reuse: a
 * pipelining client has tens of requests in flight, more than malloc's
 * per-thread cache holds, and its arena path cost as much as the rest of
 * the record.
 */
#define PENDING_BLOCK 512
#define PENDING_CAP (PENDING_BLOCK - sizeof(struct audit_pending))
#define PENDING_KEEP 1024
static struct audit_pending *pending_free;
static size_t npending_free;

static struct audit_pending *
pending_get(size_t len)
{
	struct audit_pending *p;

	if (len <= PENDING_CAP && (p = pending_free) != NULL) {
		pending_free = p->next;
		npending_free--;
		return p;
	}
	if (len < PENDING_CAP)
		len = PENDING_CAP;
	if ((p = malloc(sizeof(*p) + len)) == NULL)
		fatal("audit");
	p->cap = len;
	return p;
}

static void
pending_put(struct audit_pending *p)
{
	if (p->cap == PENDING_CAP && npending_free < PENDING_KEEP) {
		p->next = pending_free;
		pending_free = p;
		npending_free++;
	} else {
		free(p);
	}
}

struct audit_conn {
	LIST_ENTRY(audit_conn) entry;
	uint32_t id, domid;
	const char *transport;
	int has_cred;
	struct ucred cred;
	/* "conn":..,"domid":..[,"pid":..,"uid":..,"gid":..], made once */
	char ident[112];
	size_t ident_len;
	struct audit_pending *head, *tail;
};

static LIST_HEAD(, audit_conn) aconns = LIST_HEAD_INITIALIZER(aconns);

/* Answered requests whose records are still to be made, in reply order. */
static struct audit_pending *done_head, *done_tail;
static int draining;

static void audit_drain(void);

static int enabled;
static int to_syslog;
static char *log_path;    /* --audit-log, absolute */
static char *policy_path; /* --audit-policy, or NULL: built in */
static char *key_path;    /* --audit-key, or NULL: plain SHA-256 */
static uid_t key_owner;   /* who must own it: who started the broker */
static struct audit_hash hash;
static struct audit_policy *policy;
static int fd = -1;
static int fd_polled; /* fd is in epoll (not a regular file) */
static struct bevent fd_ev;

/* What waits for the sink: w.buf[off..w.len). */
static struct {
	struct audit_json w;
	size_t off;
} out;
/* Where the record being written starts in out.w.buf. */
static size_t rec_start;

/* Batches to a file: a write once this much waits, or this old. */
#define AUDIT_BATCH (32u << 10)
#define AUDIT_BATCH_MS 200
static struct timespec batch_since; /* when the batch waiting began */

static int congested, failing, exiting;
static unsigned long long seq, records_written, bytes_written, stalls,
	write_errors, records_dropped;
static struct timespec stall_start;

/* Records dropped in this run past AUDIT_WAITING_MAX, by kind. */
enum rec_class { REC_REQUEST, REC_REPLY, REC_EVENT, REC_OTHER, REC_NCLASS };
static const char *const rec_class_name[REC_NCLASS] = {
	"requests", "replies", "watch_events", "others"};
static int dropping;
static unsigned long long run_dropped[REC_NCLASS];
static struct timespec drop_start;

static void audit_write(void);

/* out.w's reserve(): room for n more bytes, or the broker stops. */
static void
out_reserve(struct audit_json *w, size_t n)
{
	char *nb;
	size_t ncap;

	/* Reclaim what was written before growing. */
	if (out.off > 0) {
		memmove(w->buf, w->buf + out.off, w->len - out.off);
		w->len -= out.off;
		rec_start -= out.off;
		out.off = 0;
		if (w->cap - w->len >= n)
			return;
	}
	ncap = w->cap ? w->cap : 65536;
	while (ncap - w->len < n)
		ncap *= 2;
	/* A record lost to memory would be a hole in the log: stop instead. */
	if ((nb = realloc(w->buf, ncap)) == NULL)
		fatal("audit buffer");
	w->buf = nb;
	w->cap = ncap;
}

static void
gen_int(const char *key, long long v)
{
	audit_json_int(&out.w, key, v);
}

static void
gen_cstr(const char *key, const char *s)
{
	audit_json_cstr(&out.w, key, s);
}

/* RFC 3339 in UTC with microseconds; the seconds are formatted once. */
static void
gen_time(const struct timespec *ts)
{
	static time_t last = -1;
	static char buf[48];
	static size_t plen;
	struct tm tm;
	long us = (long)(ts->tv_nsec / 1000);
	int i;

	if (ts->tv_sec != last) {
		gmtime_r(&ts->tv_sec, &tm);
		plen = strftime(buf, sizeof(buf) - 8, "%Y-%m-%dT%H:%M:%S.",
				&tm);
		buf[plen + 6] = 'Z';
		last = ts->tv_sec;
	}
	for (i = 5; i >= 0; i--, us /= 10)
		buf[plen + (size_t)i] = (char)('0' + us % 10);
	audit_json_lit_k(&out.w, "time", 4, buf, plen + 7);
}

static void
rec_open(const char *kind, const struct timespec *wall)
{
	struct timespec now;

	if (wall == NULL) {
		clock_gettime(CLOCK_REALTIME, &now);
		wall = &now;
	}
	rec_start = out.w.len;
	audit_json_map(&out.w, NULL);
	gen_time(wall);
	gen_int("seq", (long long)++seq);
	audit_json_lit(&out.w, "kind", kind);
}

static void rec_end(void);
static int rec_room(enum rec_class);

/*
 * Starts a record, unless too much waits for the sink: then it is counted
 * and 0 returned, and the caller makes none.
 */
static int
rec_begin(const char *kind, const struct timespec *wall, enum rec_class cls)
{
	/* What was answered before this happened is recorded before it. */
	if (!draining)
		audit_drain();
	if (!rec_room(cls))
		return 0;
	rec_open(kind, wall);
	return 1;
}

static void
rec_end(void)
{
	audit_json_end(&out.w);
	audit_json_line(&out.w);
	if (to_syslog)
		syslog(LOG_AUTHPRIV | LOG_INFO, "%.*s",
		       (int)(out.w.len - rec_start - 1), out.w.buf + rec_start);
	if (fd == -1) {
		/* syslog only: nothing waits. */
		records_written++;
		bytes_written += out.w.len - rec_start;
		out.w.len = rec_start;
		return;
	}
	if (!congested && out.w.len - out.off > AUDIT_BACKLOG_MAX)
		audit_write();
}

static size_t
waiting(void)
{
	return out.w.len - out.off;
}

/* The one record of a run of dropped records, with their counts. */
static void
rec_dropped(void)
{
	unsigned long long total = 0;
	int i;

	dropping = 0;
	for (i = 0; i < REC_NCLASS; i++)
		total += run_dropped[i];
	log_info("audit: %s took records again: %llu dropped in %lld ms",
		 log_path, total, mono_us_since(&drop_start) / 1000);
	rec_open("audit", NULL);
	gen_cstr("event", "dropped");
	gen_int("records", (long long)total);
	for (i = 0; i < REC_NCLASS; i++)
		if (run_dropped[i] > 0)
			gen_int(rec_class_name[i], (long long)run_dropped[i]);
	gen_int("ms", mono_us_since(&drop_start) / 1000);
	rec_end();
	memset(run_dropped, 0, sizeof(run_dropped));
}

/*
 * Whether a record of class cls may be made. Dropping starts past
 * AUDIT_WAITING_MAX and ends once no more than AUDIT_BACKLOG_MAX waits, so
 * that a sink that takes a little at a time gets one record for the run, not
 * one for every few records dropped.
 */
static int
rec_room(enum rec_class cls)
{
	/* At exit the last records are few, and the file is to say it all. */
	if (dropping && (waiting() <= AUDIT_BACKLOG_MAX || exiting))
		rec_dropped();
	if (exiting)
		return 1;
	if (!dropping && waiting() > AUDIT_WAITING_MAX) {
		dropping = 1;
		clock_gettime(CLOCK_MONOTONIC, &drop_start);
		log_warnx("audit: %s does not keep up (%zu bytes waiting): "
			  "dropping records until it does",
			  log_path, waiting());
	}
	if (!dropping)
		return 1;
	run_dropped[cls]++;
	records_dropped++;
	return 0;
}

static void
ident_abort(struct audit_json *w, size_t n)
{
	abort(); /* five integers fit in ident[] */
}

/* The members that say who a connection is, for each of its records. */
static void
ident_make(struct audit_conn *ac)
{
	struct audit_json w = {.buf = ac->ident,
			       .cap = sizeof(ac->ident),
			       .reserve = ident_abort};

	audit_json_int(&w, "conn", ac->id);
	audit_json_int(&w, "domid", ac->domid);
	if (ac->has_cred) {
		audit_json_int(&w, "pid", ac->cred.pid);
		audit_json_int(&w, "uid", ac->cred.uid);
		audit_json_int(&w, "gid", ac->cred.gid);
	}
	ac->ident_len = w.len;
}

static void
gen_conn(const struct audit_conn *ac)
{
	audit_json_raw(&out.w, ac->ident, ac->ident_len);
}

/*
 * A note about the audit itself, or the broker's life; with_key names the
 * key the values that follow are hashed under, when there is one, so that
 * a reader knows which key to check them with.
 */
static void
note(const char *kind, const char *event, const char *detail, int with_key)
{
	if (!enabled || !rec_begin(kind, NULL, REC_OTHER))
		return;
	gen_cstr("event", event);
	if (detail != NULL)
		gen_cstr("detail", detail);
	if (with_key && hash.keyed)
		audit_json_lit(&out.w, "key_id", hash.id);
	rec_end();
}

static void
audit_note(const char *kind, const char *event, const char *detail)
{
	note(kind, event, detail, 0);
}

static void
audit_note_key(const char *kind, const char *event, const char *detail)
{
	note(kind, event, detail, 1);
}

/*
 * The time of a request's arrival or of its reply: the start of the loop
 * iteration (loop_now()), and the wall clock then, read once per iteration
 * rather than for each record, which a pipelining client would feel.
 */
static void
loop_time(struct timespec *wall, struct timespec *mono)
{
	static struct timespec iter_mono = {-1, 0}, iter_wall;
	const struct timespec *now = loop_now();

	if (now->tv_sec != iter_mono.tv_sec ||
	    now->tv_nsec != iter_mono.tv_nsec) {
		iter_mono = *now;
		clock_gettime(CLOCK_REALTIME, &iter_wall);
	}
	*wall = iter_wall;
	*mono = iter_mono;
}

/*
 * The record of a request as it arrives: who asked what. Lean, since every
 * request has one: tx_id only inside a transaction.
 */
static int
rec_arrival(const struct audit_conn *ac, const struct xs_hdr *hdr,
	    const uint8_t *payload, enum audit_action act,
	    const struct timespec *wall)
{
	/*
	 * Not rec_begin(): the replies waiting for their records are made
	 * once the replies are out (audit_flush()), and a request that comes
	 * in meanwhile does not hurry them.
	 */
	if (!rec_room(REC_REQUEST))
		return 0;
	rec_open("request", wall);
	gen_conn(ac);
	audit_json_lit(&out.w, "type", audit_type(hdr->type)->name);
	if (!audit_type_known(hdr->type))
		gen_int("type_id", hdr->type);
	gen_int("req_id", hdr->req_id);
	if (hdr->tx_id != 0)
		gen_int("tx_id", hdr->tx_id);
	audit_gen_args(&out.w, hdr->type, payload, hdr->len,
		       act == AUDIT_LOG_VALUES, &hash);
	gen_int("bytes_in", XS_HDR_SIZE + (long long)hdr->len);
	rec_end();
	return 1;
}

/*
 * The record of a reply, which names its request's record (req): what came
 * back (p->rtype and what the record shows of its payload), or why nothing
 * did (noreply).
 */
static void
rec_reply(const struct audit_conn *ac, const struct audit_pending *p,
	  const char *noreply)
{
	const struct audit_type *t = audit_type(p->type);
	int values = p->action == AUDIT_LOG_VALUES;
	const uint8_t *rp = p->payload;
	size_t rlen = p->rlen, n;
	struct timespec wall, mono;

	loop_time(&wall, &mono);
	if (!rec_begin("reply", &wall, REC_REPLY))
		return;
	if (p->seq != 0)
		gen_int("req", (long long)p->seq);
	gen_int("conn", ac->id);
	if (noreply != NULL) {
		gen_cstr("result", noreply);
	} else if (p->rtype == XS_ERROR) {
		n = strnlen((const char *)rp, rlen);
		audit_json_str(&out.w, "result", rp, n);
	} else {
		audit_json_lit(&out.w, "result", "OK");
		if (p->rtype != p->type)
			audit_json_lit(&out.w, "reply_type",
				       audit_type(p->rtype)->name);
		if (t->reply == AUDIT_REPLY_VALUE)
			audit_gen_value(&out.w,
					p->type == XS_READ ? "value" : "reply",
					rp, rlen, values, &hash);
		if (t->reply == AUDIT_REPLY_CLEAR)
			audit_json_str(&out.w, "reply", rp,
				       rlen > 0 && rp[rlen - 1] == '\0'
					       ? rlen - 1
					       : rlen);
	}
	gen_int("bytes_out",
		noreply == NULL ? XS_HDR_SIZE + (long long)p->rlen : 0);
	gen_int("latency_us",
		noreply == NULL ? p->latency_us : mono_us_since(&p->mono));
	rec_end();
}

/* The records of the answered requests, in the order of their replies. */
static void
audit_drain(void)
{
	struct audit_pending *p;

	draining = 1;
	while ((p = done_head) != NULL) {
		done_head = p->next;
		rec_reply(p->ac, p, NULL);
		pending_put(p);
	}
	done_tail = NULL;
	draining = 0;
}

/*
 * Opens one of the audit files as the broker always has: the log to append
 * to (a FIFO read-write, which never blocks nor fails for want of a reader,
 * and non-blocking, so a slow reader costs back-pressure, never the loop),
 * the policy and the key to read (the key not through a symbolic link).
 * The spawner does this on SIGHUP, the broker having no right to any of
 * them by then. Returns the fd, or -1 with errno.
 */
int
audit_file_open(int which, const char *path)
{
	int flags = O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int lfd;

	switch (which) {
	case SPAWN_AUDIT_LOG:
		lfd = open(path, O_WRONLY | flags, 0600);
		if (lfd == -1 && errno == ENXIO)
			lfd = open(path, O_RDWR | flags, 0600);
		return lfd;
	case SPAWN_AUDIT_POLICY:
		return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	case SPAWN_AUDIT_KEY:
		return open(path,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	errno = EINVAL;
	return -1;
}

/* The policy read from pfd (or why it could not be opened: err), or NULL. */
static struct audit_policy *
policy_load(int pfd, int perr, char *err, size_t errsz)
{
	struct audit_policy *p;
	char *text;
	ssize_t n;
	size_t len = 0;

	if (policy_path == NULL)
		return audit_policy_parse(audit_policy_default,
					  sizeof(audit_policy_default) - 1,
					  "(built-in policy)", err, errsz);
	if (pfd == -1) {
		snprintf(err, errsz, "%s: %s", policy_path, strerror(perr));
		return NULL;
	}
	if ((text = malloc(AUDIT_POLICY_MAX + 1)) == NULL)
		fatal("audit policy");
	while ((n = read(pfd, text + len, AUDIT_POLICY_MAX + 1 - len)) > 0)
		len += (size_t)n;
	close(pfd);
	if (n == -1 || len > AUDIT_POLICY_MAX) {
		snprintf(err, errsz, "%s: %s", policy_path,
			 n == -1 ? strerror(errno) : "larger than 1 MiB");
		free(text);
		return NULL;
	}
	p = audit_policy_parse(text, len, policy_path, err, errsz);
	free(text);
	return p;
}

/*
 * The --audit-key file: at least AUDIT_KEY_MIN bytes, used as they are, in
 * a regular file that only its owner (root, who started the broker) may
 * read or change: a key others can read protects nothing.
 */
static int
key_load(struct audit_hash *h, int kfd, int kerr, char *err, size_t errsz)
{
	uint8_t key[AUDIT_KEY_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;

	if (kfd == -1) {
		snprintf(err, errsz, "%s: %s", key_path, strerror(kerr));
		return -1;
	}
	if (fstat(kfd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != key_owner || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(err, errsz,
			 "%s: must be a regular file that only its owner, "
			 "uid %ld, may read or write (chmod 600)",
			 key_path, (long)key_owner);
		close(kfd);
		return -1;
	}
	while ((n = read(kfd, key + len, sizeof(key) - len)) > 0)
		len += (size_t)n;
	close(kfd);
	if (n == -1 || len < AUDIT_KEY_MIN || len > AUDIT_KEY_MAX) {
		if (n == -1)
			snprintf(err, errsz, "%s: %s", key_path,
				 strerror(errno));
		else
			snprintf(err, errsz,
				 "%s: a key is %d to %d bytes, not %zu",
				 key_path, AUDIT_KEY_MIN, AUDIT_KEY_MAX, len);
		explicit_bzero(key, sizeof(key));
		return -1;
	}
	audit_hash_init(h, key, len);
	explicit_bzero(key, sizeof(key));
	return 0;
}

static void audit_fd_event(int, uint32_t, void *);

/* The log is now nfd (audit_file_open()). Returns 0, or -1 with errno. */
static int
sink_use(int nfd)
{
	struct stat st;
	int err;

	if (fstat(nfd, &st) == -1) {
		err = errno;
		close(nfd);
		errno = err;
		return -1;
	}
	if (fd != -1) {
		if (fd_polled)
			loop_del(&fd_ev);
		close(fd);
	}
	fd = nfd;
	/*
	 * A pipe or a socket may fill and says when it has room again; a file
	 * or a device (/dev/null) cannot be polled, and takes what it takes.
	 */
	fd_polled = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
	if (fd_polled)
		loop_add(&fd_ev, fd, 0, audit_fd_event, NULL);
	return 0;
}

static void
set_congested(int on)
{
	if (on == congested)
		return;
	congested = on;
	if (on) {
		stalls++;
		clock_gettime(CLOCK_MONOTONIC, &stall_start);
		log_warnx("audit: %s does not keep up (%zu bytes waiting): "
			  "not reading clients until it does",
			  log_path, out.w.len - out.off);
		return;
	}
	log_info("audit: %s caught up after %lld ms: reading clients again",
		 log_path, mono_us_since(&stall_start) / 1000);
	if (!exiting)
		conn_resume_all();
}

static unsigned long long
count_lines(const uint8_t *p, size_t n)
{
	const uint8_t *e = p + n, *q;
	unsigned long long c = 0;

	while (p < e && (q = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		c++;
		p = q + 1;
	}
	return c;
}

/* Writes what the sink takes now; one write() for the whole buffer. */
static void
audit_write(void)
{
	ssize_t n;

	if (fd == -1)
		return;
	while (out.off < out.w.len) {
		n = write(fd, out.w.buf + out.off, out.w.len - out.off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			if (errno != EAGAIN && !failing) {
				failing = 1;
				write_errors++;
				log_warn("audit: write %s (retrying, nothing "
					 "is dropped)",
					 log_path);
			}
			break;
		}
		if (failing) {
			failing = 0;
			log_info("audit: %s takes records again", log_path);
		}
		records_written += count_lines(
			(const uint8_t *)out.w.buf + out.off, (size_t)n);
		bytes_written += (unsigned long long)n;
		out.off += (size_t)n;
	}
	if (out.off == out.w.len) {
		out.off = out.w.len = 0;
		batch_since.tv_sec = batch_since.tv_nsec = 0;
	}
	if (fd_polled)
		loop_set(&fd_ev, out.w.len > out.off ? EPOLLOUT : 0);
	set_congested(out.w.len - out.off > AUDIT_BACKLOG_MAX);
}

static void
audit_fd_event(int efd, uint32_t events, void *arg)
{
	audit_write();
}

int
audit_congested(void)
{
	return congested;
}

/*
 * Once per loop iteration, after the replies and the engine's batch are
 * out: the records of what was answered, then what the sink takes.
 */
void
audit_flush(void)
{
	struct timespec now;

	if (!enabled)
		return;
	audit_drain();
	/* The sink took enough: say what was dropped. */
	if (dropping && waiting() <= AUDIT_BACKLOG_MAX)
		rec_dropped();
	if (out.w.len == out.off)
		return;
	/*
	 * A file gets records a batch at a time: a write() to a file costs
	 * more than making a record, and with many clients an iteration
	 * brings few. They wait (the loop wakes within a second for them,
	 * audit_retry_needed()) until AUDIT_BATCH bytes or AUDIT_BATCH_MS.
	 */
	if (!fd_polled && !failing && out.w.len - out.off < AUDIT_BATCH) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (batch_since.tv_sec == 0 && batch_since.tv_nsec == 0)
			batch_since = now;
		if ((now.tv_sec - batch_since.tv_sec) * 1000 +
			    (now.tv_nsec - batch_since.tv_nsec) / 1000000 <
		    AUDIT_BATCH_MS)
			return;
	}
	audit_write();
}

/* Records waiting in a batch, or for a failed sink (a full disk). */
int
audit_retry_needed(void)
{
	return enabled && out.w.len > out.off && !fd_polled;
}

/*
 * SIGUSR1 (and exit): the counters, in the broker's log and, but at exit,
 * as a record, so that whoever reads the file sees them too.
 */
void
audit_stats(void)
{
	if (!enabled)
		return;
	if (!exiting && rec_begin("audit", NULL, REC_OTHER)) {
		gen_cstr("event", "stats");
		gen_int("records_written", (long long)records_written);
		gen_int("bytes_written", (long long)bytes_written);
		/* Before this record, which is being made. */
		gen_int("bytes_waiting", (long long)(rec_start - out.off));
		gen_int("stalls", (long long)stalls);
		gen_int("write_errors", (long long)write_errors);
		gen_int("records_dropped", (long long)records_dropped);
		rec_end();
	}
	log_info("audit: %llu records written (%llu bytes), %zu bytes "
		 "waiting, %llu stalls, %llu write errors, %llu records "
		 "dropped",
		 records_written, bytes_written, out.w.len - out.off, stalls,
		 write_errors, records_dropped);
}

/* At exit: what is outstanding gets its record, and everything a try. */
static void
audit_exit(void)
{
	struct audit_conn *ac;
	struct audit_pending *p;
	struct pollfd pfd;
	struct timespec t0;
	char detail[160];

	if (exiting)
		return;
	exiting = 1;
	audit_drain();
	LIST_FOREACH(ac, &aconns, entry)
	{
		while ((p = ac->head) != NULL) {
			ac->head = p->next;
			if (p->action != AUDIT_SKIP)
				rec_reply(ac, p, "no reply: broker exited");
			pending_put(p);
		}
	}
	snprintf(detail, sizeof(detail), "%llu records before this one", seq);
	audit_note("broker", "stop", detail);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		audit_write();
		if (out.w.len == out.off || fd == -1 ||
		    mono_us_since(&t0) / 1000 > AUDIT_EXIT_MS)
			break;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 50) == -1 && errno != EINTR)
			break;
	}
	if (out.w.len > out.off)
		log_warnx("audit: %zu bytes of records could not be written "
			  "to %s at exit",
			  out.w.len - out.off, log_path);
	audit_stats();
	while ((p = pending_free) != NULL) {
		pending_free = p->next;
		free(p);
	}
	npending_free = 0;
}

/* opened[which] of a file named at start, or -1 with errno. */
static int
open_at_start(int which, const char *path)
{
	return path == NULL ? -1 : audit_file_open(which, path);
}

void
audit_init(const char *path, int use_syslog, const char *policy_file,
	   const char *key_file)
{
	char err[512];
	int pfd, kfd;

	if (path == NULL && !use_syslog)
		return;
	key_owner = geteuid();
	if (policy_file != NULL && (policy_path = strdup(policy_file)) == NULL)
		fatal("strdup");
	pfd = open_at_start(SPAWN_AUDIT_POLICY, policy_file);
	if ((policy = policy_load(pfd, errno, err, sizeof(err))) == NULL)
		fatalx("audit: %s", err);
	if (key_file != NULL) {
		if ((key_path = strdup(key_file)) == NULL)
			fatal("strdup");
		kfd = open_at_start(SPAWN_AUDIT_KEY, key_file);
		if (key_load(&hash, kfd, errno, err, sizeof(err)) == -1)
			fatalx("audit: %s", err);
	}
	out.w.reserve = out_reserve;
	to_syslog = use_syslog;
	if (path != NULL) {
		if ((log_path = strdup(path)) == NULL)
			fatal("strdup");
		if ((kfd = audit_file_open(SPAWN_AUDIT_LOG, path)) == -1 ||
		    sink_use(kfd) == -1)
			fatal("audit: %s", log_path);
	} else
		log_path = "syslog";
	enabled = 1;
	if (atexit(audit_exit) != 0)
		fatalx("atexit");
	snprintf(err, sizeof(err),
		 "pid %ld, policy %s (%zu rules), values hashed with %s",
		 (long)getpid(), policy_path ? policy_path : "built in",
		 audit_policy_nrules(policy),
		 hash.keyed ? "HMAC-SHA256" : "SHA-256");
	audit_note_key("broker", "start", err);
	log_info("audit: recording to %s%s, policy %s, values hashed with %s%s",
		 log_path, to_syslog && fd != -1 ? " and syslog" : "",
		 policy_path ? policy_path : "built in",
		 hash.keyed ? "HMAC-SHA256, key id " : "SHA-256",
		 hash.keyed ? hash.id : "");
}

/* Whether audit_reload() wants files: those named at start. */
int
audit_enabled(void)
{
	return enabled;
}

/* The files named at start, for the spawner to open again: path or NULL. */
void
audit_paths(const char *paths[SPAWN_AUDIT_N])
{
	paths[SPAWN_AUDIT_LOG] = enabled && fd != -1 ? log_path : NULL;
	paths[SPAWN_AUDIT_POLICY] = policy_path;
	paths[SPAWN_AUDIT_KEY] = key_path;
}

/*
 * SIGHUP: a new key replaces the old one for the records made from here on,
 * the first of which says so; a key that cannot be used leaves the old one.
 */
static void
key_reload(int kfd, int kerr)
{
	struct audit_hash nh;
	char err[512];

	if (key_load(&nh, kfd, kerr, err, sizeof(err)) == -1) {
		log_warnx("audit: key not reloaded: %s; keeping the previous "
			  "key",
			  err);
		audit_note("audit", "key-rejected", err);
		return;
	}
	if (strcmp(nh.id, hash.id) != 0) {
		/* What was answered before the signal, under the old key. */
		audit_drain();
		explicit_bzero(&hash, sizeof(hash));
		hash = nh;
		log_info("audit: key reloaded from %s, key id %s", key_path,
			 hash.id);
		audit_note_key("audit", "key-loaded", key_path);
	}
	explicit_bzero(&nh, sizeof(nh));
}

/*
 * SIGHUP: take the reopened file (logrotate moved it), re-read the key and
 * the policy. fds[i] is the file the spawner opened again, or -1 with
 * errs[i] saying why; each is closed here.
 */
void
audit_reload(const int fds[SPAWN_AUDIT_N], const int errs[SPAWN_AUDIT_N])
{
	struct audit_policy *np;
	char err[512];

	if (!enabled)
		return;
	if (fd != -1) {
		/* What the old file takes now goes there; the rest follows. */
		audit_write();
		errno = errs[SPAWN_AUDIT_LOG];
		if (fds[SPAWN_AUDIT_LOG] == -1 ||
		    sink_use(fds[SPAWN_AUDIT_LOG]) == -1) {
			log_warn("audit: reopening %s, still writing to the "
				 "old file",
				 log_path);
			audit_note("audit", "reopen-failed", strerror(errno));
		} else
			audit_note_key("audit", "reopened", log_path);
	}
	if (key_path != NULL)
		key_reload(fds[SPAWN_AUDIT_KEY], errs[SPAWN_AUDIT_KEY]);
	if (policy_path == NULL)
		return;
	np = policy_load(fds[SPAWN_AUDIT_POLICY], errs[SPAWN_AUDIT_POLICY], err,
			 sizeof(err));
	if (np == NULL) {
		log_warnx("audit: policy not reloaded: %s; keeping the "
			  "previous policy",
			  err);
		audit_note("audit", "policy-rejected", err);
		return;
	}
	audit_policy_free(policy);
	policy = np;
	snprintf(err, sizeof(err), "%s (%zu rules)", policy_path,
		 audit_policy_nrules(policy));
	log_info("audit: policy reloaded from %s", err);
	audit_note("audit", "policy-loaded", err);
}

struct audit_conn *
audit_conn_open(uint32_t conn, uint32_t domid, int cfd, const char *transport)
{
	struct audit_conn *ac;
	socklen_t sl = sizeof(ac->cred);

	if (!enabled)
		return NULL;
	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		fatal("audit");
	ac->id = conn;
	ac->domid = domid;
	ac->transport = transport;
	if (cfd != -1 &&
	    getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &ac->cred, &sl) == 0)
		ac->has_cred = 1;
	ident_make(ac);
	LIST_INSERT_HEAD(&aconns, ac, entry);
	if (rec_begin("conn_open", NULL, REC_OTHER)) {
		gen_conn(ac);
		gen_cstr("transport", transport);
		rec_end();
	}
	return ac;
}

void
audit_conn_close(struct audit_conn *ac, const char *why)
{
	struct audit_pending *p;
	char reason[160];

	if (ac == NULL)
		return;
	snprintf(reason, sizeof(reason), "no reply: connection closed (%s)",
		 why);
	/* The done queue points at ac: its records are made now. */
	audit_drain();
	while ((p = ac->head) != NULL) {
		ac->head = p->next;
		if (p->action != AUDIT_SKIP)
			rec_reply(ac, p, reason);
		pending_put(p);
	}
	if (rec_begin("conn_close", NULL, REC_OTHER)) {
		gen_conn(ac);
		gen_cstr("reason", why);
		rec_end();
	}
	LIST_REMOVE(ac, entry);
	free(ac);
}

/* The path a record is filed under, for the policy: the first string. */
static void
first_str(uint32_t type, const uint8_t *p, size_t len, const uint8_t **path,
	  size_t *plen)
{
	const struct audit_type *t = audit_type(type);
	struct audit_str s;
	size_t off = 0;

	*path = NULL;
	*plen = 0;
	if (t->field[0] != NULL && strcmp(t->field[0], "path") == 0 &&
	    audit_next_str(p, len, &off, &s)) {
		*path = s.p;
		*plen = s.len;
	}
}

void
audit_request(struct audit_conn *ac, const struct xs_hdr *hdr,
	      const uint8_t *payload)
{
	struct audit_pending *p;
	struct timespec wall;
	enum audit_action act;
	const uint8_t *path;
	size_t plen;

	if (ac == NULL)
		return;
	first_str(hdr->type, payload, hdr->len, &path, &plen);
	act = audit_policy_match(policy, ac->domid, hdr->type, path, plen);
	p = pending_get(0);
	p->next = NULL;
	p->type = hdr->type;
	p->req_id = hdr->req_id;
	p->action = act;
	p->ac = ac;
	p->rtype = 0;
	p->rlen = 0;
	p->latency_us = 0;
	p->seq = 0;
	loop_time(&wall, &p->mono);
	if (act != AUDIT_SKIP && rec_arrival(ac, hdr, payload, act, &wall))
		p->seq = seq;
	if (ac->tail != NULL)
		ac->tail->next = p;
	else
		ac->head = p;
	ac->tail = p;
}

static void
rec_watch_event(const struct audit_conn *ac, const Xsp__Reply *r)
{
	const uint8_t *path;
	size_t plen;

	first_str(XS_WATCH_EVENT, r->payload.data, r->payload.len, &path,
		  &plen);
	if (audit_policy_match(policy, ac->domid, XS_WATCH_EVENT, path, plen) ==
	    AUDIT_SKIP)
		return;
	if (!rec_begin("watch_event", NULL, REC_EVENT))
		return;
	gen_conn(ac);
	gen_cstr("type", "WATCH_EVENT");
	audit_gen_args(&out.w, XS_WATCH_EVENT, r->payload.data, r->payload.len,
		       0, &hash);
	gen_int("bytes_out", XS_HDR_SIZE + (long long)r->payload.len);
	rec_end();
}

/*
 * A run of watch events dropped for a client that did not read them
 * (conn.c), as one record when the run ends.
 */
void
audit_events_dropped(struct audit_conn *ac, unsigned long count)
{
	if (ac == NULL || !rec_begin("watch_event", NULL, REC_EVENT))
		return;
	gen_conn(ac);
	gen_cstr("type", "WATCH_EVENT");
	gen_cstr("result", "dropped: the client's queue is full");
	gen_int("count", (long long)count);
	gen_int("bytes_out", 0);
	rec_end();
}

/*
 * What the record needs of the reply: its type, size, time, and the bytes
 * it shows (an error's name, a value to hash or show).
 */
static struct audit_pending *
answered(struct audit_conn *ac, struct audit_pending *p, const Xsp__Reply *r)
{
	const struct audit_type *t = audit_type(p->type);
	const struct timespec *now = loop_now();
	size_t keep = 0;

	if (r->type == XS_ERROR || t->reply != AUDIT_REPLY_NONE)
		keep = r->payload.len;
	if (keep > 0) {
		if (keep > p->cap) {
			p = realloc(p, sizeof(*p) + keep);
			if (p == NULL)
				fatal("audit");
			p->cap = keep;
		}
		memcpy(p->payload, r->payload.data, keep);
	}
	p->next = NULL;
	p->ac = ac;
	p->rtype = r->type;
	p->rlen = (uint32_t)r->payload.len;
	p->latency_us = (long long)(now->tv_sec - p->mono.tv_sec) * 1000000 +
			(now->tv_nsec - p->mono.tv_nsec) / 1000;
	return p;
}

void
audit_reply(struct audit_conn *ac, const Xsp__Reply *r)
{
	struct audit_pending *p, *prev = NULL;

	if (ac == NULL)
		return;
	/* An event whatever its req_id, as the broker takes it (conn.c). */
	if (r->type == XS_WATCH_EVENT) {
		rec_watch_event(ac, r);
		return;
	}
	/* In order, so the head; a req_id search only if the engine errs. */
	for (p = ac->head; p != NULL && p->req_id != r->req_id; p = p->next)
		prev = p;
	if (p == NULL) {
		if (!rec_begin("reply", NULL, REC_REPLY))
			return;
		gen_conn(ac);
		gen_cstr("type", audit_type(r->type)->name);
		gen_int("req_id", r->req_id);
		gen_int("tx_id", r->tx_id);
		gen_cstr("result", "unmatched: no request outstanding");
		gen_int("bytes_out", XS_HDR_SIZE + (long long)r->payload.len);
		rec_end();
		return;
	}
	if (prev != NULL)
		prev->next = p->next;
	else
		ac->head = p->next;
	if (ac->tail == p)
		ac->tail = prev;
	if (p->action == AUDIT_SKIP) {
		pending_put(p);
		return;
	}
	p = answered(ac, p, r);
	if (done_tail != NULL)
		done_tail->next = p;
	else
		done_head = p;
	done_tail = p;
}

/* Engine lines worth an audit record: quota hits, warnings, errors. */
void
audit_engine_log(uint32_t level, const char *text)
{
	if (!enabled || level > ENGINE_LOG_WARN ||
	    !rec_begin("engine_log", NULL, REC_OTHER))
		return;
	gen_cstr("level", level == ENGINE_LOG_ERR ? "error" : "warning");
	gen_cstr("text", text);
	rec_end();
}

void
audit_engine_exit(int status)
{
	char what[64];
	const char *name;

	if (WIFEXITED(status))
		snprintf(what, sizeof(what), "exited with status %d",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status)) {
		name = sigabbrev_np(WTERMSIG(status));
		snprintf(what, sizeof(what), "killed by signal %s%s",
			 name ? "SIG" : "", name ? name : "?");
	} else
		snprintf(what, sizeof(what), "status 0x%x", status);
	audit_note("engine", "died", what);
}

void
audit_engine_broken(const char *why)
{
	audit_note("engine", "broken", why);
}

/* The engine's life: restarts, the restart limit, live updates. */
void
audit_engine_event(const char *event, const char *detail)
{
	audit_note("engine", event, detail);
}
