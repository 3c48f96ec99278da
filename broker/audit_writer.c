// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit log's writer: a thread of the broker that turns the records the
 * loop collected (audit.c) into JSON lines and writes them to the sink.
 *
 * The JSON, the escaping and the SHA-256 of values cost about as much as
 * the broker's own work on a request; done in the loop they were on the
 * path of every reply (a quarter of the pipelined throughput). Here they
 * run beside it, on the other core when it has room. The loop hands over a
 * batch at a time (AUDIT_BATCH bytes or AUDIT_BATCH_MS), so the thread
 * wakes once per hundreds of records, not per request.
 *
 * Records keep the order they were handed over in, and their seq numbers
 * are given here, so the file is in order and a gap means loss. Nothing is
 * dropped: what the sink does not take waits, the loop sees the backlog
 * (audit_writer_backlog()) and stops reading clients above its limit, and
 * this thread wakes it through an eventfd when the backlog has gone down.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "broker.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
/* Under mu: what was handed over and not yet taken; what to do. */
static struct audit_item *q_head, *q_tail;
static struct timespec stop_by; /* CLOCK_MONOTONIC, set before stopping */
/* Read without mu too: a write that waits gives up at stop_by. */
static _Atomic int stopping;

static pthread_t writer;
static int running, finished;

/* Item bytes handed over and not yet written. */
static _Atomic size_t backlog;
/* The loop waits for the backlog to go down. */
static _Atomic int waiting;
static int wake_fd = -1;

static _Atomic unsigned long long records_written, bytes_written, write_errors;

/* The thread's own (or the loop's, before the thread runs, or after). */
static int fd = -1;
static int to_syslog;
static const char *log_path;
static struct audit_json out;
static unsigned long long seq;
static int failing;

static void
out_reserve(struct audit_json *w, size_t n)
{
	size_t ncap = w->cap ? w->cap : 65536;
	char *nb;

	while (ncap - w->len < n)
		ncap *= 2;
	/* A record lost to memory would be a hole in the log: stop instead. */
	if ((nb = realloc(w->buf, ncap)) == NULL)
		abort();
	w->buf = nb;
	w->cap = ncap;
}

static int
now_past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec ||
	       (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/*
 * O_APPEND so that a rotating tool may truncate; a FIFO is opened
 * read-write, which never blocks nor fails for want of a reader, and
 * non-blocking, so that a reader that does not read costs back-pressure
 * and a bounded wait at exit, never a hang.
 */
int
audit_writer_open(const char *path)
{
	int flags = O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int nfd;

	nfd = open(path, O_WRONLY | flags, 0600);
	if (nfd == -1 && errno == ENXIO)
		nfd = open(path, O_RDWR | flags, 0600);
	if (nfd == -1)
		return -1;
	if (fd != -1)
		close(fd);
	fd = nfd;
	log_path = path;
	return 0;
}

void
audit_writer_init(int use_syslog)
{
	to_syslog = use_syslog;
	out.reserve = out_reserve;
	if ((wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
}

int
audit_writer_wake_fd(void)
{
	return wake_fd;
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
	audit_json_lit_k(&out, "time", 4, buf, plen + 7);
}

static void
rec_begin(const char *kind, const struct timespec *wall)
{
	audit_json_map(&out, NULL);
	gen_time(wall);
	audit_json_int(&out, "seq", (long long)++seq);
	audit_json_lit(&out, "kind", kind);
}

static void
rec_end(size_t start)
{
	audit_json_end(&out);
	audit_json_line(&out);
	if (to_syslog)
		syslog(LOG_AUTHPRIV | LOG_INFO, "%.*s",
		       (int)(out.len - start - 1), out.buf + start);
}

/* A note of the writer's own (the file reopened, or not). */
static void
rec_note(const char *event, const char *detail)
{
	struct timespec wall;
	size_t start = out.len;

	clock_gettime(CLOCK_REALTIME, &wall);
	rec_begin("audit", &wall);
	audit_json_cstr(&out, "event", event);
	audit_json_cstr(&out, "detail", detail);
	rec_end(start);
}

/*
 * The record of a request: what was asked, and what came back (the reply's
 * type, and its payload where the record shows it), or why nothing did.
 */
static void
rec_request(const struct audit_item *it)
{
	const struct audit_type *t = audit_type(it->type);
	int values = it->action == AUDIT_LOG_VALUES;
	const uint8_t *rp = it->data + it->len;
	const char *ident = (const char *)rp + it->keep;
	const uint8_t *noreply = (const uint8_t *)ident + it->ident_len;
	size_t n;

	audit_json_raw(&out, ident, it->ident_len);
	audit_json_lit(&out, "type", t->name);
	if (!audit_type_known(it->type))
		audit_json_int(&out, "type_id", it->type);
	audit_json_int(&out, "req_id", it->req_id);
	audit_json_int(&out, "tx_id", it->tx_id);
	if (audit_gen_args(&out, it->type, it->data, it->len, values) == -1)
		abort(); /* libcrypto was tried at start */
	if (it->noreply_len > 0) {
		audit_json_str(&out, "result", noreply, it->noreply_len);
	} else if (it->rtype == XS_ERROR) {
		n = strnlen((const char *)rp, it->keep);
		audit_json_str(&out, "result", rp, n);
	} else {
		audit_json_lit(&out, "result", "OK");
		if (it->rtype != it->type)
			audit_json_lit(&out, "reply_type",
				       audit_type(it->rtype)->name);
		if (t->reply == AUDIT_REPLY_VALUE &&
		    audit_gen_value(&out,
				    it->type == XS_READ ? "value" : "reply", rp,
				    it->keep, values) == -1)
			abort();
		if (t->reply == AUDIT_REPLY_CLEAR)
			audit_json_str(&out, "reply", rp,
				       it->keep > 0 && rp[it->keep - 1] == '\0'
					       ? it->keep - 1
					       : it->keep);
	}
	audit_json_int(&out, "bytes_in", XS_HDR_SIZE + (long long)it->len);
	audit_json_int(&out, "bytes_out",
		       it->noreply_len > 0 ? 0
					   : XS_HDR_SIZE + (long long)it->rlen);
	audit_json_int(&out, "latency_us", it->latency_us);
}

static void
reopen(void)
{
	if (fd == -1)
		return;
	if (audit_writer_open(log_path) == -1) {
		log_warn("audit: reopening %s, still writing to the old file",
			 log_path);
		rec_note("reopen-failed", strerror(errno));
	} else
		rec_note("reopened", log_path);
}

static size_t
format(struct audit_item *it)
{
	size_t start = out.len, cost = audit_item_cost(it);

	switch (it->what) {
	case AUDIT_ITEM_REQUEST:
		rec_begin("request", &it->wall);
		rec_request(it);
		rec_end(start);
		break;
	case AUDIT_ITEM_RECORD:
		rec_begin(it->kind, &it->wall);
		audit_json_raw(&out, (const char *)it->data, it->len);
		rec_end(start);
		break;
	case AUDIT_ITEM_REOPEN:
		/* What the old file takes goes there; the rest follows. */
		reopen();
		break;
	}
	free(it);
	return cost;
}

static unsigned long long
count_lines(const char *p, size_t n)
{
	const char *e = p + n, *q;
	unsigned long long c = 0;

	while (p < e && (q = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		c++;
		p = q + 1;
	}
	return c;
}

/*
 * Writes out[] whole, waiting for a FIFO that is full and retrying a sink
 * that fails (a full disk) every second. Returns -1 if the exit deadline
 * passed first.
 */
static int
flush_out(int bounded)
{
	struct pollfd pfd;
	size_t off = 0;
	ssize_t n;

	if (fd == -1) {
		records_written += count_lines(out.buf, out.len);
		bytes_written += out.len;
		out.len = 0;
		return 0;
	}
	while (off < out.len) {
		n = write(fd, out.buf + off, out.len - off);
		if (n > 0) {
			if (failing) {
				failing = 0;
				log_info("audit: %s takes records again",
					 log_path);
			}
			records_written +=
				count_lines(out.buf + off, (size_t)n);
			bytes_written += (unsigned long long)n;
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && !failing) {
			failing = 1;
			write_errors++;
			log_warn("audit: write %s (retrying, nothing is "
				 "dropped)",
				 log_path);
		}
		if ((bounded || atomic_load(&stopping)) && now_past(&stop_by))
			break;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		(void)poll(&pfd, 1, failing ? 1000 : 100);
	}
	memmove(out.buf, out.buf + off, out.len - off);
	out.len -= off;
	return out.len > 0 ? -1 : 0;
}

/* Formats and writes a list; the backlog goes down by what it cost. */
static int
work(struct audit_item *l, int bounded)
{
	struct audit_item *it;
	size_t cost = 0;
	uint64_t one = 1;
	int r;

	while ((it = l) != NULL) {
		l = it->next;
		cost += format(it);
	}
	r = flush_out(bounded);
	atomic_fetch_sub(&backlog, cost);
	if (atomic_load(&waiting))
		(void)!write(wake_fd, &one, sizeof(one));
	return r;
}

static void *
writer_main(void *arg)
{
	struct audit_item *l;
	int stop;

	for (;;) {
		pthread_mutex_lock(&mu);
		while (q_head == NULL && !stopping)
			pthread_cond_wait(&cv, &mu);
		l = q_head;
		q_head = q_tail = NULL;
		stop = stopping;
		pthread_mutex_unlock(&mu);
		if (work(l, stop) == -1 && stop)
			break;
		if (stop) {
			pthread_mutex_lock(&mu);
			stop = q_head == NULL;
			pthread_mutex_unlock(&mu);
			if (stop)
				break;
		}
	}
	audit_sha256_release();
	return NULL;
}

/*
 * Started from the loop, after privs_drop(): a thread keeps the
 * capabilities it was created with, and the file is reopened as the
 * broker runs, not as it started.
 */
static void
start(void)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&writer, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		errno = err;
		fatal("audit: writer thread");
	}
	running = 1;
}

/* Hands a list of items over, in order. */
void
audit_writer_submit(struct audit_item *head, struct audit_item *tail,
		    size_t cost)
{
	if (head == NULL)
		return;
	atomic_fetch_add(&backlog, cost);
	if (!running && !finished)
		start();
	if (finished) {
		/* At exit, after the thread: the loop writes it itself. */
		(void)work(head, 1);
		return;
	}
	pthread_mutex_lock(&mu);
	if (q_tail != NULL)
		q_tail->next = head;
	else
		q_head = head;
	q_tail = tail;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

size_t
audit_writer_backlog(void)
{
	return atomic_load(&backlog);
}

void
audit_writer_wait(int on)
{
	uint64_t v;

	atomic_store(&waiting, on);
	(void)!read(wake_fd, &v, sizeof(v));
}

void
audit_writer_counts(unsigned long long *records, unsigned long long *bytes,
		    unsigned long long *errors)
{
	*records = atomic_load(&records_written);
	*bytes = atomic_load(&bytes_written);
	*errors = atomic_load(&write_errors);
}

/*
 * At exit: everything handed over gets ms milliseconds to reach the sink.
 * Returns the bytes that did not.
 */
size_t
audit_writer_finish(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&mu);
	stop_by = t;
	stopping = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	if (running) {
		/* It gives up at stop_by itself: this join is bounded. */
		pthread_join(writer, NULL);
		running = 0;
	}
	finished = 1;
	/* Never started, or left something: the loop's turn. */
	pthread_mutex_lock(&mu);
	if (q_head != NULL) {
		struct audit_item *l = q_head;

		q_head = q_tail = NULL;
		pthread_mutex_unlock(&mu);
		(void)work(l, 1);
	} else
		pthread_mutex_unlock(&mu);
	if (out.len > 0)
		(void)flush_out(1);
	return out.len;
}
