// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit's records on their way out: the buffer they are written into
 * (audit_rec, JSON from audit_json.c) and the file, FIFO or socket it
 * drains to, one write() per loop iteration, or a batch at a time to a
 * file.
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
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit_int.h"
#include "broker.h"
#include "grow.h"
#include "mono.h"

/* Hold clients back while this much waits for the sink. */
#define AUDIT_BACKLOG_MAX (256u << 10)
/*
 * Drop records while this much waits: what the engine sends cannot be held
 * back from the client side, and must not grow the broker without bound.
 */
#define AUDIT_WAITING_MAX (4u << 20)
/* How long the last records get to reach a slow sink at exit. */
#define AUDIT_EXIT_MS 2000
/* Batches to a file: a write once this much waits, or this old. */
#define AUDIT_BATCH (32u << 10)
#define AUDIT_BATCH_MS 200

/* What waits for the sink: audit_rec.buf[out_off..audit_rec.len). */
struct audit_json audit_rec;
static size_t out_off;
/* Where the record being written starts in audit_rec.buf. */
static size_t rec_start;

static int fd = -1;
static int fd_polled; /* fd is in epoll (not a regular file) */
static struct bevent fd_ev;
static struct timespec batch_since; /* when the batch waiting began */

static int congested, failing;
static unsigned long long seq, records_written, bytes_written, stalls,
	write_errors, records_dropped;
static struct timespec stall_start;

/* Records dropped in this run past AUDIT_WAITING_MAX, by kind. */
static const char *const rec_class_name[REC_NCLASS] = {
	"requests", "replies", "watch_events", "others"};
static int dropping;
static unsigned long long run_dropped[REC_NCLASS];
static struct timespec drop_start;

/* audit_rec's reserve(): room for n more bytes, or the broker stops. */
static void
out_reserve(struct audit_json *w, size_t n)
{
	/* Reclaim what was written before growing. */
	if (out_off > 0) {
		memmove(w->buf, w->buf + out_off, w->len - out_off);
		w->len -= out_off;
		rec_start -= out_off;
		out_off = 0;
		if (w->cap - w->len >= n)
			return;
	}
	/* A record lost to memory would be a hole in the log: stop instead. */
	if (grow_room(&w->buf, &w->cap, w->len, n, 1, 65536) == -1)
		fatal("audit buffer");
}

void
gen_int(const char *key, long long v)
{
	audit_json_int(&audit_rec, key, v);
}

void
gen_cstr(const char *key, const char *s)
{
	audit_json_cstr(&audit_rec, key, s);
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
	audit_json_lit_k(&audit_rec, "time", 4, buf, plen + 7);
}

void
rec_open(const char *kind, const struct timespec *wall)
{
	struct timespec now;

	if (wall == NULL) {
		clock_gettime(CLOCK_REALTIME, &now);
		wall = &now;
	}
	rec_start = audit_rec.len;
	audit_json_map(&audit_rec, NULL);
	gen_time(wall);
	gen_int("seq", (long long)++seq);
	audit_json_lit(&audit_rec, "kind", kind);
}

void
rec_end(void)
{
	audit_json_end(&audit_rec);
	audit_json_line(&audit_rec);
	if (audit_cfg.to_syslog)
		syslog(LOG_AUTHPRIV | LOG_INFO, "%.*s",
		       (int)(audit_rec.len - rec_start - 1),
		       audit_rec.buf + rec_start);
	if (fd == -1) {
		/* syslog only: nothing waits. */
		records_written++;
		bytes_written += audit_rec.len - rec_start;
		audit_rec.len = rec_start;
		return;
	}
	if (!congested && audit_rec.len - out_off > AUDIT_BACKLOG_MAX)
		sink_write();
}

static size_t
waiting(void)
{
	return audit_rec.len - out_off;
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
		 audit_cfg.log_path, total, mono_us_since(&drop_start) / 1000);
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
int
rec_room(enum rec_class cls)
{
	/* At exit the last records are few, and the file is to say it all. */
	if (dropping && (waiting() <= AUDIT_BACKLOG_MAX || audit_cfg.exiting))
		rec_dropped();
	if (audit_cfg.exiting)
		return 1;
	if (!dropping && waiting() > AUDIT_WAITING_MAX) {
		dropping = 1;
		clock_gettime(CLOCK_MONOTONIC, &drop_start);
		log_warnx("audit: %s does not keep up (%zu bytes waiting): "
			  "dropping records until it does",
			  audit_cfg.log_path, waiting());
	}
	if (!dropping)
		return 1;
	run_dropped[cls]++;
	records_dropped++;
	return 0;
}

static void audit_fd_event(int, uint32_t, void *);

/* The log is now nfd (audit_file_open()). Returns 0, or -1 with errno. */
int
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
			  audit_cfg.log_path, audit_rec.len - out_off);
		return;
	}
	log_info("audit: %s caught up after %lld ms: reading clients again",
		 audit_cfg.log_path, mono_us_since(&stall_start) / 1000);
	if (!audit_cfg.exiting)
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
void
sink_write(void)
{
	ssize_t n;

	if (fd == -1)
		return;
	while (out_off < audit_rec.len) {
		n = write(fd, audit_rec.buf + out_off, audit_rec.len - out_off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			if (errno != EAGAIN && !failing) {
				failing = 1;
				write_errors++;
				log_warn("audit: write %s (retrying, nothing "
					 "is dropped)",
					 audit_cfg.log_path);
			}
			break;
		}
		if (failing) {
			failing = 0;
			log_info("audit: %s takes records again",
				 audit_cfg.log_path);
		}
		records_written += count_lines(
			(const uint8_t *)audit_rec.buf + out_off, (size_t)n);
		bytes_written += (unsigned long long)n;
		out_off += (size_t)n;
	}
	if (out_off == audit_rec.len) {
		out_off = audit_rec.len = 0;
		batch_since.tv_sec = batch_since.tv_nsec = 0;
	}
	if (fd_polled)
		loop_set(&fd_ev, audit_rec.len > out_off ? EPOLLOUT : 0);
	set_congested(audit_rec.len - out_off > AUDIT_BACKLOG_MAX);
}

static void
audit_fd_event(int efd, uint32_t events, void *arg)
{
	sink_write();
}

int
audit_congested(void)
{
	return congested;
}

/* Once per loop iteration, after audit_drain(): what the sink takes. */
void
sink_flush(void)
{
	struct timespec now;

	/* The sink took enough: say what was dropped. */
	if (dropping && waiting() <= AUDIT_BACKLOG_MAX)
		rec_dropped();
	if (audit_rec.len == out_off)
		return;
	/*
	 * A file gets records a batch at a time: a write() to a file costs
	 * more than making a record, and with many clients an iteration
	 * brings few. They wait (the loop wakes within a second for them,
	 * audit_retry_needed()) until AUDIT_BATCH bytes or AUDIT_BATCH_MS.
	 */
	if (!fd_polled && !failing && audit_rec.len - out_off < AUDIT_BATCH) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (batch_since.tv_sec == 0 && batch_since.tv_nsec == 0)
			batch_since = now;
		if ((now.tv_sec - batch_since.tv_sec) * 1000 +
			    (now.tv_nsec - batch_since.tv_nsec) / 1000000 <
		    AUDIT_BATCH_MS)
			return;
	}
	sink_write();
}

/* Records waiting in a batch, or for a failed sink (a full disk). */
int
audit_retry_needed(void)
{
	return audit_cfg.enabled && audit_rec.len > out_off && !fd_polled;
}

/*
 * SIGUSR1 (and exit): the counters, in the broker's log and, but at exit,
 * as a record, so that whoever reads the file sees them too.
 */
void
audit_stats(void)
{
	if (!audit_cfg.enabled)
		return;
	if (!audit_cfg.exiting && rec_begin("audit", NULL, REC_OTHER)) {
		gen_cstr("event", "stats");
		gen_int("records_written", (long long)records_written);
		gen_int("bytes_written", (long long)bytes_written);
		/* Before this record, which is being made. */
		gen_int("bytes_waiting", (long long)(rec_start - out_off));
		gen_int("stalls", (long long)stalls);
		gen_int("write_errors", (long long)write_errors);
		gen_int("records_dropped", (long long)records_dropped);
		rec_end();
	}
	log_info("audit: %llu records written (%llu bytes), %zu bytes "
		 "waiting, %llu stalls, %llu write errors, %llu records "
		 "dropped",
		 records_written, bytes_written, audit_rec.len - out_off,
		 stalls, write_errors, records_dropped);
}

/* At exit: everything waiting gets AUDIT_EXIT_MS to reach the sink. */
void
sink_exit(void)
{
	struct pollfd pfd;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		sink_write();
		if (audit_rec.len == out_off || fd == -1 ||
		    mono_us_since(&t0) / 1000 > AUDIT_EXIT_MS)
			break;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 50) == -1 && errno != EINTR)
			break;
	}
	if (audit_rec.len > out_off)
		log_warnx("audit: %zu bytes of records could not be written "
			  "to %s at exit",
			  audit_rec.len - out_off, audit_cfg.log_path);
	audit_stats();
}

/* The log named by --audit-log (path), or NULL for syslog only. */
void
sink_init(const char *path)
{
	int lfd;

	audit_rec.reserve = out_reserve;
	if (path == NULL) {
		audit_cfg.log_path = "syslog";
		return;
	}
	if ((audit_cfg.log_path = strdup(path)) == NULL)
		fatal("strdup");
	if ((lfd = audit_file_open(SPAWN_AUDIT_LOG, path)) == -1 ||
	    sink_use(lfd) == -1)
		fatal("audit: %s", audit_cfg.log_path);
}

/* Whether records go to a file, FIFO or socket (not syslog only). */
int
sink_has_file(void)
{
	return fd != -1;
}

/* The seq of the last record made. */
unsigned long long
rec_seq(void)
{
	return seq;
}
