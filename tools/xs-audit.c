// SPDX-License-Identifier: GPL-2.0-only
/*
 * xs-audit: reads the audit log of xs-broker (--audit-log), picks records
 * by domain, operation, path, result, kind and time, and prints them or a
 * summary. Each line is parsed with yajl_tree; a line that is not a JSON
 * object is counted and reported, never trusted. Values are escaped and
 * hashed for --value as the broker does it, by the same code
 * (broker/audit_fmt.c).
 *
 * The broker records a request as it arrives and its reply later, naming
 * the request's seq (req). A request waits here for its reply, and the two
 * are filtered as one: the request's fields (who, what, when) and the
 * reply's (result, value, latency).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "audit.h"

#define SLOWEST_DEFAULT 10
#define MAX_LIST 64
/*
 * Requests waiting for their replies, by seq modulo this: one whose reply
 * is further on in the log is taken alone.
 */
#define PEND_MAX 16384

static void usage(FILE *, int) __attribute__((noreturn));

static void
usage(FILE *f, int status)
{
	fputs("usage: xs-audit [options] [FILE]\n"
	      "\n"
	      "Reads the audit log that xs-broker writes with --audit-log "
	      "FILE (standard\n"
	      "input if FILE is absent or -) and prints the records that "
	      "match every\n"
	      "filter given, as they are (one JSON object a line), or a "
	      "summary.\n"
	      "\n"
	      "Filters (a list is separated by commas; any member matches):\n"
	      "  -d, --domain LIST     domain ids, e.g. -d 0,5\n"
	      "  -o, --op LIST         request types, e.g. -o WRITE,RM "
	      "(WATCH_EVENT for events)\n"
	      "  -p, --path PREFIX     path under PREFIX, on whole "
	      "components: /vm covers\n"
	      "                        /vm and /vm/1, not /vmx; a guest's "
	      "relative path p\n"
	      "                        counts as /local/domain/ID/p\n"
	      "  -r, --result LIST     results: OK, an error name (ENOENT, "
	      "EACCES, ...), or\n"
	      "                        'error' for every result but OK\n"
	      "  -k, --kind LIST       record kinds: request, watch_event, "
	      "conn_open,\n"
	      "                        conn_close, reply (one whose "
	      "request is not in\n"
	      "                        the log), engine_log, engine, audit, "
	      "broker\n"
	      "      --since TIME      records at or after TIME, --until "
	      "TIME: before it.\n"
	      "      --until TIME      TIME is RFC 3339 in UTC as the log "
	      "writes it, or a\n"
	      "                        prefix of it: 2024-05-01T12:30 "
	      "means 12:30:00\n"
	      "  -v, --value STRING    value or reply is STRING: in clear, "
	      "or as its\n"
	      "                        length and hash (sha256, or "
	      "hmac_sha256 with --key)\n"
	      "      --key FILE        the key xs-broker hashes values "
	      "with (--audit-key);\n"
	      "                        records name it by key_id, which "
	      "must match\n"
	      "\n"
	      "Output:\n"
	      "  -s, --summary         instead of the records: counts per "
	      "domain and\n"
	      "                        operation with errors and latency, "
	      "results, the\n"
	      "                        slowest requests, and the integrity "
	      "checks below\n"
	      "  -n, --slowest N       how many slowest requests the "
	      "summary lists (10)\n"
	      "  -c, --count           print only the number of matching "
	      "records\n"
	      "  -f, --follow          keep reading as the file grows "
	      "(and after it is\n"
	      "                        rotated); print records as they "
	      "come\n"
	      "  -h, --help            this text\n"
	      "\n"
	      "Records (fields present as they apply): time, seq (1, 2, ... "
	      "from each\n"
	      "broker start), kind, conn, domid, pid/uid/gid (of a socket "
	      "client).\n"
	      "A request is recorded as it arrives (kind request: type, "
	      "req_id, tx_id\n"
	      "inside a transaction, path and arguments (token, perms, "
	      "domid, ...), value,\n"
	      "bytes_in), its reply when it comes (kind reply: req, the "
	      "request's seq;\n"
	      "result, value or reply, bytes_out, latency_us). Values are "
	      "{len, sha256}\n"
	      "or {len, hmac_sha256} unless the policy logs them in clear. "
	      "xs-audit\n"
	      "filters and prints a request with its reply, as one, once "
	      "the reply is\n"
	      "read (a request without one at the end of the log, alone). "
	      "A run of\n"
	      "records dropped is one record (kind audit, event dropped) "
	      "with counts.\n"
	      "reason is a closed connection's. Strings are escaped by the "
	      "broker:\n"
	      "\\\\ is a backslash, \\xNN a byte that is not printable "
	      "UTF-8, \\uNNNN a\n"
	      "confusing character.\n"
	      "\n"
	      "Values kept out of the log are {len, sha256}, or {len, "
	      "hmac_sha256} when\n"
	      "the broker has a key: without the key, a short secret "
	      "cannot be found by\n"
	      "trying candidates. The records broker/start, audit/reopened "
	      "and\n"
	      "audit/key-loaded give the key_id of the values after them.\n"
	      "\n"
	      "Integrity: the summary counts lines that are not valid JSON "
	      "records and\n"
	      "gaps in seq (records missing from the file, e.g. cut out or "
	      "lost in a\n"
	      "rotation). Both should be 0. Records the broker dropped "
	      "(its sink blocked)\n"
	      "are not gaps: an audit/dropped record counts them.\n"
	      "\n"
	      "Exit status: 0 if any record matched, 1 if none did, 2 on "
	      "error.\n",
	      f);
	exit(status);
}

struct list {
	size_t n;
	char *v[MAX_LIST];
};

static struct list f_dom, f_op, f_res, f_kind;
static const char *f_path, *f_since, *f_until;

/* --value: as the log would show it in clear, and hashed. */
static struct {
	const char *raw;
	size_t len;
	char *esc;
	char sha[65];
	int keyed; /* --key given */
	struct audit_hash key;
	char hmac[65];
} f_value;
/* The key_id the log says its values are under, from the last record. */
static char *log_key_id;
/* Keyed values of --value's length not checked: no key, another key. */
static unsigned long long n_unchecked;

static void
list_add(struct list *l, const char *arg)
{
	char *s, *tok, *save = NULL;

	if ((s = strdup(arg)) == NULL) {
		perror("xs-audit");
		exit(2);
	}
	for (tok = strtok_r(s, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (l->n == MAX_LIST) {
			fprintf(stderr, "xs-audit: more than %d in a list\n",
				MAX_LIST);
			exit(2);
		}
		l->v[l->n++] = tok;
	}
}

static int
list_has(const struct list *l, const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* A request and its reply, or either alone. */
struct rec {
	yajl_val req, rep;
};

/*
 * A field of the pair: when, what kind and which seq from the request,
 * the rest from the reply first.
 */
static yajl_val
get(const struct rec *r, const char *key, yajl_type t)
{
	const char *path[] = {key, NULL};
	int own = strcmp(key, "time") == 0 || strcmp(key, "kind") == 0 ||
		  strcmp(key, "seq") == 0;
	yajl_val first = own ? r->req : r->rep, then = own ? r->rep : r->req;
	yajl_val v = NULL;

	if (first != NULL)
		v = yajl_tree_get(first, path, t);
	if (v == NULL && then != NULL)
		v = yajl_tree_get(then, path, t);
	return v;
}

static const char *
str(const struct rec *r, const char *key)
{
	return YAJL_GET_STRING(get(r, key, yajl_t_string));
}

/* An integer field, or -1. */
static long long
num(const struct rec *r, const char *key)
{
	yajl_val v = get(r, key, yajl_t_number);

	return YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;
}

static int
under(const char *prefix, const char *path, long long domid)
{
	char abs[4096 * 4 + 64];
	size_t n = strlen(prefix);

	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (path[0] != '/' && path[0] != '@') {
		snprintf(abs, sizeof(abs), "/local/domain/%lld/%s", domid,
			 path);
		path = abs;
	}
	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}

static void *
xalloc(void *p)
{
	if (p == NULL) {
		perror("xs-audit");
		exit(2);
	}
	return p;
}

/* The --key file's bytes, as the broker reads its --audit-key. */
static void
key_read(const char *name)
{
	uint8_t key[AUDIT_KEY_MAX + 1];
	ssize_t n;
	size_t len = 0;
	int kfd;

	if ((kfd = open(name, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "xs-audit: %s: %s\n", name, strerror(errno));
		exit(2);
	}
	while ((n = read(kfd, key + len, sizeof(key) - len)) > 0)
		len += (size_t)n;
	close(kfd);
	if (n == -1 || len < AUDIT_KEY_MIN || len > AUDIT_KEY_MAX) {
		if (n == -1)
			fprintf(stderr, "xs-audit: %s: %s\n", name,
				strerror(errno));
		else
			fprintf(stderr,
				"xs-audit: %s: a key is %d to %d bytes\n", name,
				AUDIT_KEY_MIN, AUDIT_KEY_MAX);
		exit(2);
	}
	audit_hash_init(&f_value.key, key, len);
	f_value.keyed = 1;
	explicit_bzero(key, sizeof(key));
}

static void
value_prepare(void)
{
	f_value.len = strlen(f_value.raw);
	f_value.esc = xalloc(malloc(ESC_MAX(f_value.len)));
	escape_bytes(f_value.esc, (const uint8_t *)f_value.raw, f_value.len);
	audit_sha256_hex((const uint8_t *)f_value.raw, f_value.len,
			 f_value.sha);
	if (f_value.keyed)
		audit_hash_hex(&f_value.key, (const uint8_t *)f_value.raw,
			       f_value.len, f_value.hmac);
}

/* Whether a value or reply field shows --value's bytes. */
static int
value_is(yajl_val v)
{
	const char *lp[] = {"len", NULL}, *sp[] = {"sha256", NULL};
	const char *hp[] = {"hmac_sha256", NULL};
	yajl_val l, h;

	if (YAJL_IS_STRING(v))
		return strcmp(v->u.string, f_value.esc) == 0;
	if (!YAJL_IS_OBJECT(v))
		return 0;
	l = yajl_tree_get(v, lp, yajl_t_number);
	if (!YAJL_IS_INTEGER(l) ||
	    YAJL_GET_INTEGER(l) != (long long)f_value.len)
		return 0;
	if ((h = yajl_tree_get(v, sp, yajl_t_string)) != NULL)
		return strcmp(h->u.string, f_value.sha) == 0;
	if ((h = yajl_tree_get(v, hp, yajl_t_string)) == NULL)
		return 0;
	/* A log without key_id (a piece of one): the key given is tried. */
	if (f_value.keyed &&
	    (log_key_id == NULL || strcmp(log_key_id, f_value.key.id) == 0))
		return strcmp(h->u.string, f_value.hmac) == 0;
	n_unchecked++;
	return 0;
}

static int
matches(const struct rec *rec)
{
	const char *t = str(rec, "time"), *s;
	char dom[24];
	long long d = num(rec, "domid");

	if (f_since != NULL && (t == NULL || strcmp(t, f_since) < 0))
		return 0;
	/* A prefix as the bound: "...T12:30" ends where 12:30 begins. */
	if (f_until != NULL && (t == NULL || strcmp(t, f_until) >= 0))
		return 0;
	if (f_kind.n > 0 && !list_has(&f_kind, str(rec, "kind")))
		return 0;
	if (f_dom.n > 0) {
		snprintf(dom, sizeof(dom), "%lld", d);
		if (d < 0 || !list_has(&f_dom, dom))
			return 0;
	}
	if (f_op.n > 0 && !list_has(&f_op, str(rec, "type")))
		return 0;
	if (f_res.n > 0) {
		s = str(rec, "result");
		if (s == NULL)
			return 0;
		if (!list_has(&f_res, s) &&
		    !(list_has(&f_res, "error") && strcmp(s, "OK") != 0))
			return 0;
	}
	if (f_path != NULL &&
	    ((s = str(rec, "path")) == NULL || !under(f_path, s, d)))
		return 0;
	if (f_value.raw != NULL && !value_is(get(rec, "value", yajl_t_any)) &&
	    !value_is(get(rec, "reply", yajl_t_any)))
		return 0;
	return 1;
}

/* Text from the log for a terminal: nothing below 0x20, nothing long. */
static void
put_safe(const char *s, size_t max)
{
	size_t i;

	if (s == NULL)
		s = "-";
	for (i = 0; s[i] != '\0' && i < max; i++)
		putchar((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?'
								   : s[i]);
	if (s[i] != '\0')
		fputs("...", stdout);
}

struct opstat {
	long long domid;
	char *type;
	unsigned long long count, errors, lat_sum, lat_max;
};

struct slow {
	long long lat;
	char *line;
};

static struct opstat *ops;
static size_t nops;
static struct list results;
static unsigned long long result_count[MAX_LIST], result_other;
static struct slow *slowest;
static size_t nslow, slow_max = SLOWEST_DEFAULT;
static unsigned long long nrec, nmatch, nbad, ngaps, nreq, nev, nconn, nother;
static long long last_seq = -1;
static char *first_time, *last_time;

static void
summarise(const struct rec *rec)
{
	const char *kind = str(rec, "kind"), *type = str(rec, "type");
	const char *res = str(rec, "result"), *t = str(rec, "time");
	long long d = num(rec, "domid"), lat = num(rec, "latency_us");
	struct opstat *o = NULL;
	char line[512];
	size_t i;

	if (t != NULL) {
		if (first_time == NULL)
			first_time = xalloc(strdup(t));
		free(last_time);
		last_time = xalloc(strdup(t));
	}
	if (kind == NULL || strcmp(kind, "request") != 0) {
		if (kind != NULL && strcmp(kind, "watch_event") == 0)
			nev++;
		else if (kind != NULL && strncmp(kind, "conn_", 5) == 0)
			nconn++;
		else
			nother++;
		return;
	}
	nreq++;
	for (i = 0; i < nops; i++)
		if (ops[i].domid == d &&
		    strcmp(ops[i].type, type ? type : "?") == 0) {
			o = &ops[i];
			break;
		}
	if (o == NULL) {
		ops = xalloc(reallocarray(ops, nops + 1, sizeof(*ops)));
		o = &ops[nops++];
		memset(o, 0, sizeof(*o));
		o->domid = d;
		o->type = xalloc(strdup(type ? type : "?"));
	}
	o->count++;
	if (res != NULL && strcmp(res, "OK") != 0)
		o->errors++;
	if (lat >= 0) {
		o->lat_sum += (unsigned long long)lat;
		if ((unsigned long long)lat > o->lat_max)
			o->lat_max = (unsigned long long)lat;
	}
	if (res != NULL) {
		for (i = 0; i < results.n && strcmp(results.v[i], res); i++)
			;
		if (i == results.n && results.n < MAX_LIST)
			results.v[results.n++] = xalloc(strdup(res));
		if (i < results.n)
			result_count[i]++;
		else
			result_other++;
	}
	if (slow_max == 0 || lat < 0)
		return;
	if (nslow == slow_max && lat <= slowest[nslow - 1].lat)
		return;
	snprintf(line, sizeof(line), "%s dom %lld conn %lld %s req %lld",
		 t ? t : "-", d, num(rec, "conn"), type ? type : "?",
		 num(rec, "req_id"));
	if (nslow < slow_max)
		nslow++;
	else
		free(slowest[nslow - 1].line);
	/* Insertion into the sorted list, slowest first. */
	for (i = nslow - 1; i > 0 && slowest[i - 1].lat < lat; i--)
		slowest[i] = slowest[i - 1];
	slowest[i].lat = lat;
	if (str(rec, "path") != NULL) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof(line) - l, " %.200s %s",
			 str(rec, "path"), res ? res : "-");
	} else {
		size_t l = strlen(line);
		snprintf(line + l, sizeof(line) - l, " %s", res ? res : "-");
	}
	slowest[i].line = xalloc(strdup(line));
}

static int
cmp_op(const void *a, const void *b)
{
	const struct opstat *x = a, *y = b;

	if (x->domid != y->domid)
		return x->domid < y->domid ? -1 : 1;
	return strcmp(x->type, y->type);
}

static void
print_summary(void)
{
	size_t i;

	printf("lines read: %llu, records matching: %llu\n", nrec, nmatch);
	printf("  requests %llu, watch events %llu, connection records "
	       "%llu, other %llu\n",
	       nreq, nev, nconn, nother);
	printf("time: ");
	put_safe(first_time, 64);
	printf(" .. ");
	put_safe(last_time, 64);
	printf("\nintegrity: %llu invalid lines, %llu sequence gaps\n", nbad,
	       ngaps);
	printf("\nrequests per domain and operation:\n");
	printf("  %6s %-22s %8s %8s %10s %10s\n", "domid", "operation", "count",
	       "errors", "avg_us", "max_us");
	qsort(ops, nops, sizeof(*ops), cmp_op);
	for (i = 0; i < nops; i++) {
		printf("  %6lld ", ops[i].domid);
		printf("%-22.22s", ops[i].type);
		printf(" %8llu %8llu %10llu %10llu\n", ops[i].count,
		       ops[i].errors, ops[i].lat_sum / ops[i].count,
		       ops[i].lat_max);
	}
	printf("\nresults:\n");
	for (i = 0; i < results.n; i++) {
		printf("  %8llu ", result_count[i]);
		put_safe(results.v[i], 80);
		putchar('\n');
	}
	if (result_other > 0)
		printf("  %8llu (others)\n", result_other);
	printf("\nslowest requests (latency_us, time, domain, connection, "
	       "type, req_id, path, result):\n");
	for (i = 0; i < nslow; i++) {
		printf("  %10lld ", slowest[i].lat);
		put_safe(slowest[i].line, 400);
		putchar('\n');
	}
}

enum mode { PRINT, COUNT, SUMMARY };

static void
put_line(const char *line, size_t len)
{
	fwrite(line, 1, len, stdout);
	putchar('\n');
}

/* A record, or a request (line1) and its reply (line2), filtered. */
static void
consider(const struct rec *r, const char *line1, size_t len1, const char *line2,
	 size_t len2, enum mode mode)
{
	if (!matches(r))
		return;
	nmatch++;
	if (mode == PRINT) {
		put_line(line1, len1);
		if (line2 != NULL)
			put_line(line2, len2);
	} else if (mode == SUMMARY)
		summarise(r);
}

static struct {
	long long seq;
	char *line; /* NULL: free */
	size_t len;
} pend[PEND_MAX];

/* A request that waited for its reply, considered with it (or alone). */
static void
pend_take(size_t i, yajl_val rep, const char *line, size_t len, enum mode mode)
{
	struct rec r = {.rep = rep};
	char err[128];

	/* It parsed when it was read. */
	r.req = yajl_tree_parse(pend[i].line, err, sizeof(err));
	consider(&r, pend[i].line, pend[i].len, line, len, mode);
	yajl_tree_free(r.req);
	free(pend[i].line);
	pend[i].line = NULL;
}

static int
cmp_pend(const void *a, const void *b)
{
	long long x = pend[*(const size_t *)a].seq;
	long long y = pend[*(const size_t *)b].seq;

	return x < y ? -1 : x > y;
}

/* Requests without replies (the log ends, the broker started again). */
static void
pend_flush(enum mode mode)
{
	static size_t idx[PEND_MAX];
	size_t i, n = 0;

	for (i = 0; i < PEND_MAX; i++)
		if (pend[i].line != NULL)
			idx[n++] = i;
	qsort(idx, n, sizeof(*idx), cmp_pend);
	for (i = 0; i < n; i++)
		pend_take(idx[i], NULL, NULL, 0, mode);
}

/* A request waits for its reply; one in its slot goes alone. */
static void
pend_add(long long s, const char *line, size_t len, enum mode mode)
{
	size_t i = (size_t)s % PEND_MAX;

	if (pend[i].line != NULL)
		pend_take(i, NULL, NULL, 0, mode);
	pend[i].seq = s;
	pend[i].line = xalloc(malloc(len + 1));
	memcpy(pend[i].line, line, len + 1);
	pend[i].len = len;
}

/* The slot of the request a reply names, or -1. */
static long
pend_find(long long req)
{
	size_t i;

	if (req < 1)
		return -1;
	i = (size_t)req % PEND_MAX;
	return pend[i].line != NULL && pend[i].seq == req ? (long)i : -1;
}

static void
handle_line(char *line, size_t len, enum mode mode)
{
	char err[128];
	struct rec r = {0};
	const char *kind;
	yajl_val rec;
	long long s;
	long at;

	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len == 0)
		return;
	nrec++;
	rec = yajl_tree_parse(line, err, sizeof(err));
	if (!YAJL_IS_OBJECT(rec)) {
		nbad++;
		fprintf(stderr, "xs-audit: line %llu is not a JSON record\n",
			nrec);
		yajl_tree_free(rec);
		return;
	}
	r.req = rec;
	s = num(&r, "seq");
	kind = str(&r, "kind");
	/* seq starts at 1 with each broker start. */
	if (s >= 0 && last_seq >= 0 && s != last_seq + 1 && s != 1)
		ngaps++;
	if (s == 1)
		pend_flush(mode);
	if (s >= 0)
		last_seq = s;
	if (str(&r, "key_id") != NULL) {
		free(log_key_id);
		log_key_id = xalloc(strdup(str(&r, "key_id")));
	}
	/*
	 * A request with its latency is whole: a log from before replies
	 * had records of their own.
	 */
	if (kind != NULL && strcmp(kind, "request") == 0 && s >= 1 &&
	    num(&r, "latency_us") < 0) {
		pend_add(s, line, len, mode);
	} else if (kind != NULL && strcmp(kind, "reply") == 0 &&
		   (at = pend_find(num(&r, "req"))) >= 0) {
		pend_take((size_t)at, rec, line, len, mode);
	} else {
		consider(&r, line, len, NULL, 0, mode);
	}
	yajl_tree_free(rec);
}

/* Reads to the end; with follow, waits for more and for rotation. */
static void
read_log(const char *name, int follow, enum mode mode)
{
	struct timespec pause = {0, 200 * 1000 * 1000};
	char *line = NULL, *part = NULL;
	size_t cap = 0, plen = 0;
	struct stat st, now;
	ssize_t n;
	FILE *f;

	if (name == NULL || strcmp(name, "-") == 0) {
		f = stdin;
		name = "standard input";
	} else if ((f = fopen(name, "re")) == NULL) {
		fprintf(stderr, "xs-audit: %s: %s\n", name, strerror(errno));
		exit(2);
	}
	if (fstat(fileno(f), &st) == -1)
		memset(&st, 0, sizeof(st));
	for (;;) {
		while ((n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] != '\n' && follow) {
				/* A record still being written: keep it. */
				part = xalloc(
					realloc(part, plen + (size_t)n + 1));
				memcpy(part + plen, line, (size_t)n + 1);
				plen += (size_t)n;
				continue;
			}
			if (plen > 0) {
				part = xalloc(
					realloc(part, plen + (size_t)n + 1));
				memcpy(part + plen, line, (size_t)n + 1);
				handle_line(part, plen + (size_t)n, mode);
				plen = 0;
			} else
				handle_line(line, (size_t)n, mode);
			if (mode == PRINT)
				fflush(stdout);
		}
		if (ferror(f)) {
			fprintf(stderr, "xs-audit: %s: %s\n", name,
				strerror(errno));
			exit(2);
		}
		if (!follow || f == stdin)
			break;
		clearerr(f);
		nanosleep(&pause, NULL);
		/* Rotated: finish the old file, then go on with the new. */
		if (stat(name, &now) == 0 &&
		    (now.st_ino != st.st_ino || now.st_dev != st.st_dev)) {
			while ((n = getline(&line, &cap, f)) > 0)
				handle_line(line, (size_t)n, mode);
			fclose(f);
			if ((f = fopen(name, "re")) == NULL) {
				fprintf(stderr, "xs-audit: %s: %s\n", name,
					strerror(errno));
				exit(2);
			}
			st = now;
		}
	}
	if (plen > 0)
		handle_line(part, plen, mode);
	pend_flush(mode);
	free(part);
	free(line);
	if (f != stdin)
		fclose(f);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"domain", required_argument, NULL, 'd'},
		{"op", required_argument, NULL, 'o'},
		{"path", required_argument, NULL, 'p'},
		{"result", required_argument, NULL, 'r'},
		{"kind", required_argument, NULL, 'k'},
		{"since", required_argument, NULL, 'S'},
		{"until", required_argument, NULL, 'U'},
		{"value", required_argument, NULL, 'v'},
		{"key", required_argument, NULL, 'K'},
		{"summary", no_argument, NULL, 's'},
		{"slowest", required_argument, NULL, 'n'},
		{"count", no_argument, NULL, 'c'},
		{"follow", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum mode mode = PRINT;
	const char *key_path = NULL;
	int ch, follow = 0;
	char *end;
	long v;

	while ((ch = getopt_long(argc, argv, "d:o:p:r:k:v:sn:cfh", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 'd':
			list_add(&f_dom, optarg);
			break;
		case 'o':
			list_add(&f_op, optarg);
			break;
		case 'p':
			f_path = optarg;
			break;
		case 'r':
			list_add(&f_res, optarg);
			break;
		case 'k':
			list_add(&f_kind, optarg);
			break;
		case 'S':
			f_since = optarg;
			break;
		case 'U':
			f_until = optarg;
			break;
		case 'v':
			f_value.raw = optarg;
			break;
		case 'K':
			key_path = optarg;
			break;
		case 's':
			mode = SUMMARY;
			break;
		case 'n':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 0 ||
			    v > 100000) {
				fprintf(stderr, "xs-audit: -n: want 0 to "
						"100000\n");
				exit(2);
			}
			slow_max = (size_t)v;
			break;
		case 'c':
			mode = COUNT;
			break;
		case 'f':
			follow = 1;
			break;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 2);
		}
	}
	if (argc - optind > 1)
		usage(stderr, 2);
	if (follow && mode != PRINT) {
		fprintf(stderr, "xs-audit: -f prints records; it does not go "
				"with -s or -c\n");
		exit(2);
	}
	if (key_path != NULL && f_value.raw == NULL) {
		fprintf(stderr, "xs-audit: --key is for --value\n");
		exit(2);
	}
	if (key_path != NULL)
		key_read(key_path);
	if (f_value.raw != NULL)
		value_prepare();
	slowest = xalloc(calloc(slow_max ? slow_max : 1, sizeof(*slowest)));
	read_log(optind < argc ? argv[optind] : NULL, follow, mode);
	if (n_unchecked > 0)
		fprintf(stderr,
			"xs-audit: %llu values hashed under a key were not "
			"checked: %s\n",
			n_unchecked,
			f_value.keyed ? "the log names another key_id"
				      : "give the key with --key FILE");
	if (mode == SUMMARY)
		print_summary();
	else if (mode == COUNT)
		printf("%llu\n", nmatch);
	if (fflush(stdout) != 0)
		exit(2);
	return nmatch > 0 ? 0 : 1;
}
