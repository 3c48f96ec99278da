// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit log: one JSON line per request as it arrives, per reply, per
 * watch event, per connection opened or closed, and per engine event,
 * written by the broker because the engine is not trusted to report on
 * itself. This file makes the records; audit_sink.c writes them out,
 * audit_files.c reads the policy and the key.
 *
 * A request's record is made as the broker reads it, so that what reached
 * the engine is in the log even if the engine never answers and the broker
 * is then killed; its reply's record names it by its seq ("req"). A reply's
 * record is made after the loop has sent the replies and the engine's next
 * batch (audit_drain()): until then a reply only moves its request to the
 * done queue, so that the JSON and the hash are made while the clients and
 * the engine work, not before they get their bytes. Replies are matched to
 * their requests through a FIFO per connection, since the engine answers
 * each connection in order.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit_int.h"
#include "broker.h"
#include "mono.h"

struct audit_cfg audit_cfg;

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

/*
 * Starts a record, unless too much waits for the sink: then it is counted
 * and 0 returned, and the caller makes none.
 */
int
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
	audit_json_raw(&audit_rec, ac->ident, ac->ident_len);
}

/*
 * A note about the audit itself, or the broker's life; with_key names the
 * key the values that follow are hashed under, when there is one, so that
 * a reader knows which key to check them with.
 */
static void
note(const char *kind, const char *event, const char *detail, int with_key)
{
	if (!audit_cfg.enabled || !rec_begin(kind, NULL, REC_OTHER))
		return;
	gen_cstr("event", event);
	if (detail != NULL)
		gen_cstr("detail", detail);
	if (with_key && audit_cfg.hash.keyed)
		audit_json_lit(&audit_rec, "key_id", audit_cfg.hash.id);
	rec_end();
}

void
audit_note(const char *kind, const char *event, const char *detail)
{
	note(kind, event, detail, 0);
}

void
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
	audit_json_lit(&audit_rec, "type", audit_type_name(hdr->type));
	if (!audit_type_known(hdr->type))
		gen_int("type_id", hdr->type);
	gen_int("req_id", hdr->req_id);
	if (hdr->tx_id != 0)
		gen_int("tx_id", hdr->tx_id);
	audit_gen_args(&audit_rec, hdr->type, payload, hdr->len,
		       act == AUDIT_LOG_VALUES, &audit_cfg.hash);
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
		audit_json_str(&audit_rec, "result", rp, n);
	} else {
		audit_json_lit(&audit_rec, "result", "OK");
		if (p->rtype != p->type)
			audit_json_lit(&audit_rec, "reply_type",
				       audit_type_name(p->rtype));
		if (t->reply == AUDIT_REPLY_VALUE)
			audit_gen_value(&audit_rec,
					p->type == XS_READ ? "value" : "reply",
					rp, rlen, values, &audit_cfg.hash);
		if (t->reply == AUDIT_REPLY_CLEAR)
			audit_json_str(&audit_rec, "reply", rp,
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
void
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
 * Once per loop iteration, after the replies and the engine's batch are
 * out: the records of what was answered, then what the sink takes.
 */
void
audit_flush(void)
{
	if (!audit_cfg.enabled)
		return;
	audit_drain();
	sink_flush();
}

/*
 * Before the broker leaves its place to another daemon (a handover): every
 * record made so far goes to the sink now, not at the batch's end.
 */
void
audit_flush_now(void)
{
	if (!audit_cfg.enabled)
		return;
	audit_drain();
	sink_write();
}

/* At exit: what is outstanding gets its record, and everything a try. */
static void
audit_exit(void)
{
	struct audit_conn *ac;
	struct audit_pending *p;
	char detail[160];

	if (audit_cfg.exiting)
		return;
	audit_cfg.exiting = 1;
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
	snprintf(detail, sizeof(detail), "%llu records before this one",
		 rec_seq());
	audit_note("broker", "stop", detail);
	sink_exit();
	while ((p = pending_free) != NULL) {
		pending_free = p->next;
		free(p);
	}
	npending_free = 0;
}

void
audit_init(const char *path, int use_syslog, const char *policy_file,
	   const char *key_file)
{
	char err[512];

	if (path == NULL && !use_syslog)
		return;
	files_init(policy_file, key_file);
	audit_cfg.to_syslog = use_syslog;
	sink_init(path);
	audit_cfg.enabled = 1;
	if (atexit(audit_exit) != 0)
		fatalx("atexit");
	snprintf(err, sizeof(err),
		 "pid %ld, policy %s (%zu rules), values hashed with %s",
		 (long)getpid(),
		 audit_cfg.policy_path ? audit_cfg.policy_path : "built in",
		 audit_policy_nrules(audit_cfg.policy),
		 audit_cfg.hash.keyed ? "HMAC-SHA256" : "SHA-256");
	audit_note_key("broker", "start", err);
	log_info("audit: recording to %s%s, policy %s, values hashed with %s%s",
		 audit_cfg.log_path,
		 audit_cfg.to_syslog && sink_has_file() ? " and syslog" : "",
		 audit_cfg.policy_path ? audit_cfg.policy_path : "built in",
		 audit_cfg.hash.keyed ? "HMAC-SHA256, key id " : "SHA-256",
		 audit_cfg.hash.keyed ? audit_cfg.hash.id : "");
}

/* Whether audit_reload() wants files: those named at start. */
int
audit_enabled(void)
{
	return audit_cfg.enabled;
}

struct audit_conn *
audit_conn_open(uint32_t conn, uint32_t domid, int cfd, const char *transport)
{
	struct audit_conn *ac;
	socklen_t sl = sizeof(ac->cred);

	if (!audit_cfg.enabled)
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
	act = audit_policy_match(audit_cfg.policy, ac->domid, hdr->type, path,
				 plen);
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
		p->seq = rec_seq();
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
	if (audit_policy_match(audit_cfg.policy, ac->domid, XS_WATCH_EVENT,
			       path, plen) == AUDIT_SKIP)
		return;
	if (!rec_begin("watch_event", NULL, REC_EVENT))
		return;
	gen_conn(ac);
	gen_cstr("type", "WATCH_EVENT");
	audit_gen_args(&audit_rec, XS_WATCH_EVENT, r->payload.data,
		       r->payload.len, 0, &audit_cfg.hash);
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
 * it shows (an error's name, a value to audit_cfg.hash or show).
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
		gen_cstr("type", audit_type_name(r->type));
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
	if (!audit_cfg.enabled || level > ENGINE_LOG_WARN ||
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
