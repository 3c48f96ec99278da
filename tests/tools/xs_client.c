// SPDX-License-Identifier: GPL-2.0-only
/*
 * xs_client: exercises libxenstore against the daemon found through
 * XENSTORED_PATH.  Each check prints "ok <name>" or "FAIL <name>: <why>";
 * the exit status is 1 if any check failed.  All nodes live under the
 * base path given as the only argument (default /xs_client).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#define WATCH_TIMEOUT_MS 30000

static int failures;
static char base[1024];

static void result(bool good, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
result(bool good, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (good) {
		printf("ok %s\n", name);
	} else {
		failures++;
		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf(" (errno %d %s)\n", errno, strerror(errno));
	}
	fflush(stdout);
}

static const char *
p(const char *rel)
{
	static char buf[4][1100];
	static int n;
	char *b = buf[n++ % 4];

	snprintf(b, sizeof(buf[0]), "%s%s", base, rel);
	return b;
}

static bool
put(struct xs_handle *h, xs_transaction_t t, const char *path, const char *val)
{
	return xs_write(h, t, path, val, strlen(val));
}

/* Value of path, or NULL; *len receives its length. */
static char *
get(struct xs_handle *h, xs_transaction_t t, const char *path,
    unsigned int *len)
{
	return xs_read(h, t, path, len);
}

static bool
value_is(struct xs_handle *h, xs_transaction_t t, const char *path,
	 const char *want)
{
	unsigned int len = 0;
	char *v = get(h, t, path, &len);
	bool same = v && len == strlen(want) && memcmp(v, want, len) == 0;

	free(v);
	return same;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
check_basic(struct xs_handle *h)
{
	unsigned int len = 0, num = 0;
	char *v;
	char **dir;
	bool good;

	result(put(h, XBT_NULL, p("/a"), "hello"), "write", "xs_write failed");
	v = get(h, XBT_NULL, p("/a"), &len);
	result(v && len == 5 && memcmp(v, "hello", 5) == 0 && v[5] == '\0',
	       "read", "got %s len %u", v ? v : "(null)", len);
	free(v);

	errno = 0;
	v = get(h, XBT_NULL, p("/missing"), &len);
	result(!v && errno == ENOENT, "read-missing-enoent", "got %s",
	       v ? v : "(null)");
	free(v);

	result(xs_mkdir(h, XBT_NULL, p("/dir/m")), "mkdir", "xs_mkdir failed");
	put(h, XBT_NULL, p("/dir/zz"), "1");
	put(h, XBT_NULL, p("/dir/aa"), "2");
	dir = xs_directory(h, XBT_NULL, p("/dir"), &num);
	good = dir && num == 3;
	if (good) {
		qsort(dir, num, sizeof(*dir), cmp_str);
		good = !strcmp(dir[0], "aa") && !strcmp(dir[1], "m") &&
		       !strcmp(dir[2], "zz");
	}
	result(good, "directory", "num %u", num);
	free(dir);

	result(xs_rm(h, XBT_NULL, p("/dir")), "rm", "xs_rm failed");
	errno = 0;
	dir = xs_directory(h, XBT_NULL, p("/dir"), &num);
	result(!dir && errno == ENOENT, "rm-gone", "directory still listed");
	free(dir);
	errno = 0;
	result(!xs_rm(h, XBT_NULL, p("/nope/nope")) && errno == ENOENT,
	       "rm-missing-parent-enoent", "unexpected result");
}

static void
check_perms(struct xs_handle *h)
{
	struct xs_permissions set[2] = {
		{.id = 0, .perms = XS_PERM_READ | XS_PERM_WRITE},
		{.id = 1, .perms = XS_PERM_READ},
	};
	struct xs_permissions *got;
	unsigned int num = 0;

	put(h, XBT_NULL, p("/perm"), "x");
	got = xs_get_permissions(h, XBT_NULL, p("/perm"), &num);
	result(got && num == 1 && got[0].id == 0 &&
		       got[0].perms == XS_PERM_NONE,
	       "get-perms-default", "num %u", num);
	free(got);

	result(xs_set_permissions(h, XBT_NULL, p("/perm"), set, 2), "set-perms",
	       "xs_set_permissions failed");
	got = xs_get_permissions(h, XBT_NULL, p("/perm"), &num);
	result(got && num == 2 && got[0].id == 0 &&
		       got[0].perms == (XS_PERM_READ | XS_PERM_WRITE) &&
		       got[1].id == 1 && got[1].perms == XS_PERM_READ,
	       "get-perms-after-set", "num %u", num);
	free(got);
}

static void
check_transactions(struct xs_handle *h, struct xs_handle *h2)
{
	xs_transaction_t t;
	bool ended;

	t = xs_transaction_start(h);
	result(t != XBT_NULL, "tx-start", "xs_transaction_start failed");
	put(h, t, p("/tx/a"), "1");
	put(h, t, p("/tx/b"), "2");
	result(value_is(h, t, p("/tx/a"), "1"), "tx-read-own-write",
	       "value mismatch");
	errno = 0;
	result(!value_is(h2, XBT_NULL, p("/tx/a"), "1") && errno == ENOENT,
	       "tx-isolated", "uncommitted write visible");
	result(xs_transaction_end(h, t, false), "tx-commit", "commit failed");
	result(value_is(h2, XBT_NULL, p("/tx/a"), "1") &&
		       value_is(h2, XBT_NULL, p("/tx/b"), "2"),
	       "tx-committed-visible", "value mismatch");

	t = xs_transaction_start(h);
	put(h, t, p("/tx/aborted"), "1");
	result(xs_transaction_end(h, t, true), "tx-abort", "abort failed");
	errno = 0;
	result(!value_is(h, XBT_NULL, p("/tx/aborted"), "1") && errno == ENOENT,
	       "tx-abort-discarded", "aborted write visible");

	put(h, XBT_NULL, p("/tx/c"), "0");
	t = xs_transaction_start(h);
	result(value_is(h, t, p("/tx/c"), "0"), "tx-conflict-read",
	       "value mismatch");
	put(h, t, p("/tx/c"), "from-tx");
	put(h2, XBT_NULL, p("/tx/c"), "direct");
	errno = 0;
	ended = xs_transaction_end(h, t, false);
	result(!ended && errno == EAGAIN, "tx-conflict-eagain",
	       "end returned %d", ended);
	result(value_is(h, XBT_NULL, p("/tx/c"), "direct"),
	       "tx-conflict-kept-other", "value mismatch");
}

/* Next event, waiting up to WATCH_TIMEOUT_MS; NULL on timeout. */
static char **
next_event(struct xs_handle *h)
{
	struct pollfd pfd = {.fd = xs_fileno(h), .events = POLLIN};
	unsigned int num;
	char **ev = xs_check_watch(h);

	if (ev)
		return ev;
	if (poll(&pfd, 1, WATCH_TIMEOUT_MS) <= 0)
		return NULL;
	return xs_read_watch(h, &num);
}

static bool
event_is(char **ev, const char *path, const char *token)
{
	return ev && !strcmp(ev[XS_WATCH_PATH], path) &&
	       !strcmp(ev[XS_WATCH_TOKEN], token);
}

static void
check_watch(struct xs_handle *h, struct xs_handle *h2)
{
	char **ev;
	char **pending;

	put(h, XBT_NULL, p("/w"), "0");
	result(xs_watch(h, p("/w"), "tok"), "watch", "xs_watch failed");
	ev = next_event(h);
	result(event_is(ev, p("/w"), "tok"), "watch-initial-event", "got %s",
	       ev ? ev[XS_WATCH_PATH] : "(none)");
	free(ev);

	put(h2, XBT_NULL, p("/w/kid"), "1");
	ev = next_event(h);
	result(event_is(ev, p("/w/kid"), "tok"), "watch-child-event", "got %s",
	       ev ? ev[XS_WATCH_PATH] : "(none)");
	free(ev);

	result(xs_unwatch(h, p("/w"), "tok"), "unwatch", "xs_unwatch failed");
	put(h2, XBT_NULL, p("/w/kid"), "2");
	/* A round trip on h: any event sent before its reply has arrived. */
	value_is(h, XBT_NULL, p("/w/kid"), "2");
	pending = xs_check_watch(h);
	result(pending == NULL, "unwatch-no-event", "got %s",
	       pending ? pending[XS_WATCH_PATH] : "");
	free(pending);
	errno = 0;
	result(!xs_unwatch(h, p("/w"), "tok") && errno == ENOENT,
	       "unwatch-unknown-enoent", "unexpected result");
}

static void
check_domain(struct xs_handle *h)
{
	char *path = xs_get_domain_path(h, 0);

	result(path && !strcmp(path, "/local/domain/0"), "domain-path-0",
	       "got %s", path ? path : "(null)");
	free(path);
	path = xs_get_domain_path(h, 7);
	result(path && !strcmp(path, "/local/domain/7"), "domain-path-7",
	       "got %s", path ? path : "(null)");
	free(path);
	result(xs_is_domain_introduced(h, 0), "dom0-introduced",
	       "xs_is_domain_introduced(0) false");
	result(!xs_is_domain_introduced(h, 9), "dom9-not-introduced",
	       "xs_is_domain_introduced(9) true");
}

int
main(int argc, char **argv)
{
	struct xs_handle *h, *h2;

	snprintf(base, sizeof(base), "%s", argc > 1 ? argv[1] : "/xs_client");
	h = xs_open(0);
	h2 = xs_open(0);
	if (!h || !h2) {
		printf("FAIL xs_open: %s\n", strerror(errno));
		return 2;
	}
	xs_rm(h, XBT_NULL, base);

	check_basic(h);
	check_perms(h);
	check_transactions(h, h2);
	check_watch(h, h2);
	check_domain(h);

	result(xs_rm(h, XBT_NULL, base), "cleanup", "xs_rm failed");
	xs_close(h2);
	xs_close(h);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
