// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit log: one JSON line per request and its reply, per watch event,
 * per connection opened or closed, and per engine event, written by the
 * broker because the engine is not trusted to report on itself.
 *
 * This is the loop's side. A request is copied when it arrives (with what
 * the policy says of it); its reply completes it into an item. Other
 * records are made here as members of a JSON map. Items queue in order
 * and go to the writer thread (audit_writer.c) a batch at a time, once
 * AUDIT_BATCH bytes wait or the oldest is AUDIT_BATCH_MS old (at once for
 * a FIFO or a terminal); the thread makes the JSON lines, hashes values
 * and writes. Nothing is ever dropped: past AUDIT_BACKLOG_MAX waiting for
 * the sink, the broker stops reading clients (conn_may_read()) until the
 * writer catches up. Replies are matched to their requests through a FIFO
 * per connection, since the engine answers each connection in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "broker.h"

/* policy/audit.policy as built in: audit_policy_default[]. */
#include "audit_policy.h"

/* Hold clients back while this much waits for the sink. */
#define AUDIT_BACKLOG_MAX (256u << 10)
/* The largest policy file read. */
#define AUDIT_POLICY_MAX (1u << 20)
/* How long the last records get to reach a slow sink at exit. */
#define AUDIT_EXIT_MS 2000
/* Handed to the writer once this much waits, or this old. */
#define AUDIT_BATCH (32u << 10)
#define AUDIT_BATCH_MS 200

struct audit_conn {
	LIST_ENTRY(audit_conn) entry;
	uint32_t id, domid;
	int has_cred;
	struct ucred cred;
	/* "conn":..,"domid":..[,"pid":..,"uid":..,"gid":..], made once */
	char ident[112];
	size_t ident_len;
	struct audit_item *head, *tail; /* requests without a reply yet */
};

static LIST_HEAD(, audit_conn) aconns = LIST_HEAD_INITIALIZER(aconns);

static int enabled;
static char *log_path;    /* --audit-log, absolute, or "syslog" */
static int sink_file;     /* a regular file (else a FIFO, a terminal) */
static char *policy_path; /* --audit-policy, or NULL: built in */
static struct audit_policy *policy;
static struct bevent wake_ev;

/* Items made and not yet handed to the writer. */
static struct audit_item *pend_head, *pend_tail;
static size_t pend_bytes;
static struct timespec pend_since;
/* Records made since start: the seq the writer gives the last one. */
static unsigned long long made;

/* Where a record's members are made before they become an item. */
static struct audit_json scratch;

static int congested, exiting;
static unsigned long long stalls;
static struct timespec stall_start;

static void
scratch_reserve(struct audit_json *w, size_t n)
{
	size_t ncap = w->cap ? w->cap : 4096;
	char *nb;

	while (ncap - w->len < n)
		ncap *= 2;
	if ((nb = realloc(w->buf, ncap)) == NULL)
		fatal("audit");
	w->buf = nb;
	w->cap = ncap;
}

static void
enqueue(struct audit_item *it)
{
	it->next = NULL;
	if (pend_tail != NULL)
		pend_tail->next = it;
	else {
		pend_head = it;
		pend_since = *loop_now();
	}
	pend_tail = it;
	pend_bytes += audit_item_cost(it);
	if (it->what != AUDIT_ITEM_REOPEN)
		made++;
}

/* A record: its members go into scratch between these two. */
static void
rec_open(void)
{
	scratch.reserve = scratch_reserve;
	scratch.len = 0;
	scratch.depth = 0;
	scratch.more[0] = 0;
}

static void
rec_close(const char *kind)
{
	struct audit_item *it;

	if ((it = calloc(1, sizeof(*it) + scratch.len)) == NULL)
		fatal("audit");
	it->what = AUDIT_ITEM_RECORD;
	it->kind = kind;
	clock_gettime(CLOCK_REALTIME, &it->wall);
	it->len = scratch.len;
	memcpy(it->data, scratch.buf, scratch.len);
	enqueue(it);
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

/* A note about the audit itself, or the broker's life. */
static void
audit_note(const char *kind, const char *event, const char *detail)
{
	if (!enabled)
		return;
	rec_open();
	audit_json_cstr(&scratch, "event", event);
	if (detail != NULL)
		audit_json_cstr(&scratch, "detail", detail);
	rec_close(kind);
}

static long long
usec_since(const struct timespec *t0, const struct timespec *now)
{
	return (long long)(now->tv_sec - t0->tv_sec) * 1000000 +
	       (now->tv_nsec - t0->tv_nsec) / 1000;
}

/*
 * A request leaves the connection's FIFO as an item: with the reply's
 * type, size and time and the bytes the record shows of it (an error's
 * name, a value to hash or show), and the connection's members, after the
 * request's payload. Either r or noreply.
 */
static void
complete(struct audit_conn *ac, struct audit_item *p, const Xsp__Reply *r,
	 const char *noreply)
{
	const struct audit_type *t = audit_type(p->type);
	size_t keep = 0, nlen = noreply ? strlen(noreply) : 0;
	struct timespec now;

	if (r != NULL && (r->type == XS_ERROR || t->reply != AUDIT_REPLY_NONE))
		keep = r->payload.len;
	if (nlen > UINT16_MAX)
		nlen = UINT16_MAX;
	p = realloc(p, sizeof(*p) + p->len + keep + ac->ident_len + nlen);
	if (p == NULL)
		fatal("audit");
	if (keep > 0)
		memcpy(p->data + p->len, r->payload.data, keep);
	memcpy(p->data + p->len + keep, ac->ident, ac->ident_len);
	if (nlen > 0)
		memcpy(p->data + p->len + keep + ac->ident_len, noreply, nlen);
	p->keep = (uint32_t)keep;
	p->ident_len = (uint16_t)ac->ident_len;
	p->noreply_len = (uint16_t)nlen;
	if (r != NULL) {
		p->rtype = r->type;
		p->rlen = (uint32_t)r->payload.len;
		p->latency_us = usec_since(&p->mono, loop_now());
	} else {
		clock_gettime(CLOCK_MONOTONIC, &now);
		p->latency_us = usec_since(&p->mono, &now);
	}
	enqueue(p);
}

static struct audit_policy *
policy_load(char *err, size_t errsz)
{
	struct audit_policy *p;
	char *text;
	ssize_t n;
	size_t len = 0;
	int pfd;

	if (policy_path == NULL)
		return audit_policy_parse(audit_policy_default,
					  sizeof(audit_policy_default) - 1,
					  "(built-in policy)", err, errsz);
	if ((pfd = open(policy_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) ==
	    -1) {
		snprintf(err, errsz, "%s: %s", policy_path, strerror(errno));
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

static void
set_congested(int on)
{
	if (on == congested)
		return;
	congested = on;
	audit_writer_wait(on);
	if (on) {
		stalls++;
		clock_gettime(CLOCK_MONOTONIC, &stall_start);
		log_warnx("audit: %s does not keep up (%zu bytes waiting): "
			  "not reading clients until it does",
			  log_path, pend_bytes + audit_writer_backlog());
		return;
	}
	log_info("audit: %s caught up after %lld ms: reading clients again",
		 log_path, usec_since(&stall_start, loop_now()) / 1000);
	if (!exiting)
		conn_resume_all();
}

static void
check_congested(void)
{
	size_t waiting = pend_bytes + audit_writer_backlog();

	/* Resumes at half, so that it does not flap at the limit. */
	if (waiting > AUDIT_BACKLOG_MAX)
		set_congested(1);
	else if (waiting <= AUDIT_BACKLOG_MAX / 2)
		set_congested(0);
}

static void
submit(void)
{
	audit_writer_submit(pend_head, pend_tail, pend_bytes);
	pend_head = pend_tail = NULL;
	pend_bytes = 0;
}

/* The writer has written some: the backlog may be under the limit. */
static void
wake_event(int fd, uint32_t events, void *arg)
{
	audit_writer_wait(congested);
	check_congested();
}

int
audit_congested(void)
{
	return congested;
}

/*
 * Once per loop iteration, after the replies and the engine's batch are
 * out: what waits goes to the writer if it is a batch, or old enough.
 */
void
audit_flush(void)
{
	const struct timespec *now = loop_now();

	if (!enabled)
		return;
	if (pend_head != NULL &&
	    (!sink_file || pend_bytes >= AUDIT_BATCH ||
	     usec_since(&pend_since, now) >= AUDIT_BATCH_MS * 1000))
		submit();
	check_congested();
}

/* Records waiting for their batch: the loop wakes within a second. */
int
audit_retry_needed(void)
{
	return enabled && pend_head != NULL;
}

void
audit_stats(void)
{
	unsigned long long records, bytes, errors;

	if (!enabled)
		return;
	audit_writer_counts(&records, &bytes, &errors);
	log_info("audit: %llu records written (%llu bytes), %zu bytes "
		 "waiting, %llu stalls, %llu write errors",
		 records, bytes, pend_bytes + audit_writer_backlog(), stalls,
		 errors);
}

/* At exit: what is outstanding gets its record, and everything a try. */
static void
audit_exit(void)
{
	struct audit_conn *ac;
	struct audit_item *p;
	char detail[160];
	size_t left;

	if (exiting)
		return;
	exiting = 1;
	LIST_FOREACH(ac, &aconns, entry)
	{
		while ((p = ac->head) != NULL) {
			ac->head = p->next;
			if (p->action != AUDIT_SKIP)
				complete(ac, p, NULL,
					 "no reply: broker exited");
			else
				free(p);
		}
		ac->tail = NULL;
	}
	snprintf(detail, sizeof(detail), "%llu records before this one", made);
	audit_note("broker", "stop", detail);
	submit();
	if ((left = audit_writer_finish(AUDIT_EXIT_MS)) > 0)
		log_warnx("audit: %zu bytes of records could not be written "
			  "to %s at exit",
			  left, log_path);
	audit_stats();
}

void
audit_init(const char *path, int use_syslog, const char *policy_file)
{
	char err[512];
	struct stat st;

	if (path == NULL && !use_syslog)
		return;
	if (policy_file != NULL && (policy_path = strdup(policy_file)) == NULL)
		fatal("strdup");
	if ((policy = policy_load(err, sizeof(err))) == NULL)
		fatalx("audit: %s", err);
	/* libcrypto loads and is tried before a request depends on it. */
	if (audit_sha256_hex((const uint8_t *)"", 0, err) == -1)
		fatalx("audit: SHA-256 from libcrypto does not work");
	audit_sha256_release();
	audit_writer_init(use_syslog);
	if (path != NULL) {
		if ((log_path = strdup(path)) == NULL)
			fatal("strdup");
		if (audit_writer_open(log_path) == -1)
			fatal("audit: %s", log_path);
		sink_file = stat(log_path, &st) == 0 && S_ISREG(st.st_mode);
	} else {
		log_path = "syslog";
		sink_file = 1;
	}
	loop_add(&wake_ev, audit_writer_wake_fd(), EPOLLIN, wake_event, NULL);
	enabled = 1;
	if (atexit(audit_exit) != 0)
		fatalx("atexit");
	snprintf(err, sizeof(err), "pid %ld, policy %s (%zu rules)",
		 (long)getpid(), policy_path ? policy_path : "built in",
		 audit_policy_nrules(policy));
	audit_note("broker", "start", err);
	log_info("audit: recording to %s%s, policy %s", log_path,
		 use_syslog && path != NULL ? " and syslog" : "",
		 policy_path ? policy_path : "built in");
}

/* SIGHUP: reopen the file (logrotate moved it) and re-read the policy. */
void
audit_reload(void)
{
	struct audit_policy *np;
	struct audit_item *it;
	char err[512];

	if (!enabled)
		return;
	if (strcmp(log_path, "syslog") != 0) {
		/* The writer reopens it here, in the order of the records. */
		if ((it = calloc(1, sizeof(*it))) == NULL)
			fatal("audit");
		it->what = AUDIT_ITEM_REOPEN;
		enqueue(it);
		submit();
	}
	if (policy_path == NULL)
		return;
	if ((np = policy_load(err, sizeof(err))) == NULL) {
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
	if (cfd != -1 &&
	    getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &ac->cred, &sl) == 0)
		ac->has_cred = 1;
	ident_make(ac);
	LIST_INSERT_HEAD(&aconns, ac, entry);
	rec_open();
	audit_json_raw(&scratch, ac->ident, ac->ident_len);
	audit_json_cstr(&scratch, "transport", transport);
	rec_close("conn_open");
	return ac;
}

void
audit_conn_close(struct audit_conn *ac, const char *why)
{
	struct audit_item *p;
	char reason[160];

	if (ac == NULL)
		return;
	snprintf(reason, sizeof(reason), "no reply: connection closed (%s)",
		 why);
	while ((p = ac->head) != NULL) {
		ac->head = p->next;
		if (p->action != AUDIT_SKIP)
			complete(ac, p, NULL, reason);
		else
			free(p);
	}
	rec_open();
	audit_json_raw(&scratch, ac->ident, ac->ident_len);
	audit_json_cstr(&scratch, "reason", why);
	rec_close("conn_close");
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

/*
 * When a request arrived: the start of the loop iteration that read it
 * (loop_now()), and the wall clock then, read once per iteration rather
 * than twice per request, which a pipelining client would feel.
 */
static void
arrival(struct timespec *wall, struct timespec *mono)
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

void
audit_request(struct audit_conn *ac, const struct xs_hdr *hdr,
	      const uint8_t *payload)
{
	struct audit_item *p;
	enum audit_action act;
	const uint8_t *path;
	size_t plen, len;

	if (ac == NULL)
		return;
	first_str(hdr->type, payload, hdr->len, &path, &plen);
	act = audit_policy_match(policy, ac->domid, hdr->type, path, plen);
	len = act == AUDIT_SKIP ? 0 : hdr->len;
	if ((p = malloc(sizeof(*p) + len)) == NULL)
		fatal("audit");
	memset(p, 0, sizeof(*p));
	p->what = AUDIT_ITEM_REQUEST;
	p->type = hdr->type;
	p->req_id = hdr->req_id;
	p->tx_id = hdr->tx_id;
	p->action = (uint8_t)act;
	p->len = len;
	if (len > 0)
		memcpy(p->data, payload, len);
	arrival(&p->wall, &p->mono);
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
	rec_open();
	audit_json_raw(&scratch, ac->ident, ac->ident_len);
	audit_json_lit(&scratch, "type", "WATCH_EVENT");
	/* Paths and tokens only: no value to hash. */
	if (audit_gen_args(&scratch, XS_WATCH_EVENT, r->payload.data,
			   r->payload.len, 0) == -1)
		fatalx("audit: SHA-256 failed");
	audit_json_int(&scratch, "bytes_out",
		       XS_HDR_SIZE + (long long)r->payload.len);
	rec_close("watch_event");
}

void
audit_reply(struct audit_conn *ac, const Xsp__Reply *r)
{
	struct audit_item *p, *prev = NULL;

	if (ac == NULL)
		return;
	if (r->type == XS_WATCH_EVENT && r->req_id == 0) {
		rec_watch_event(ac, r);
		return;
	}
	/* In order, so the head; a req_id search only if the engine errs. */
	for (p = ac->head; p != NULL && p->req_id != r->req_id; p = p->next)
		prev = p;
	if (p == NULL) {
		rec_open();
		audit_json_raw(&scratch, ac->ident, ac->ident_len);
		audit_json_lit(&scratch, "type", audit_type(r->type)->name);
		audit_json_int(&scratch, "req_id", r->req_id);
		audit_json_int(&scratch, "tx_id", r->tx_id);
		audit_json_lit(&scratch, "result",
			       "unmatched: no request outstanding");
		audit_json_int(&scratch, "bytes_out",
			       XS_HDR_SIZE + (long long)r->payload.len);
		rec_close("reply");
		return;
	}
	if (prev != NULL)
		prev->next = p->next;
	else
		ac->head = p->next;
	if (ac->tail == p)
		ac->tail = prev;
	if (p->action == AUDIT_SKIP)
		free(p);
	else
		complete(ac, p, r, NULL);
}

/* Engine lines worth an audit record: quota hits, warnings, errors. */
void
audit_engine_log(uint32_t level, const char *text)
{
	if (!enabled || level > ENGINE_LOG_WARN)
		return;
	rec_open();
	audit_json_lit(&scratch, "level",
		       level == ENGINE_LOG_ERR ? "error" : "warning");
	audit_json_cstr(&scratch, "text", text);
	rec_close("engine_log");
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
