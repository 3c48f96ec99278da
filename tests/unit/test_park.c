// SPDX-License-Identifier: GPL-2.0-only
/*
 * Requests that need the broker: they wait for its answer without holding
 * up other connections, their connection's later requests wait behind them,
 * and what the hypervisor reports of domains reaches the store.
 */
#include <errno.h>

#include "harness.h"

struct priv_call {
	uint32_t id;
	int op;
	uint32_t domid;
	uint64_t gfn;
	uint32_t port;
};

static struct priv_call calls[16];
static size_t ncalls;

static void
record_priv(void *arg, uint32_t id, int op, uint32_t domid, uint64_t gfn,
	    uint32_t port, uint32_t features, const char *str, size_t len)
{
	assert_true(ncalls < 16);
	calls[ncalls++] = (struct priv_call){id, op, domid, gfn, port};
}

static struct harness *
with_broker(void)
{
	struct harness *h = h_new();

	ncalls = 0;
	h->e->priv = record_priv;
	return h;
}

/* Sends a request that is expected to get no reply yet. */
static void
send_parked(struct harness *h, uint32_t conn, uint32_t type, const char *spec)
{
	char buf[256];
	size_t len = strlen(spec), i, before = h->nout;

	for (i = 0; i < len; i++)
		buf[i] = spec[i] == '|' ? '\0' : spec[i];
	engine_request(h->e, conn, type, ++h->req_id, 0, buf, len);
	assert_int_equal(h->nout, before);
}

static void
answer(struct harness *h, size_t call, int err, bool exists)
{
	struct priv_answer a = {0, 0, err, exists, false, false};

	engine_priv_reply(h->e, calls[call].id, &a);
}

static void
test_introduce_waits_for_the_ring(void **state)
{
	struct harness *h = with_broker();

	h_expect(h, 1, 0, XS_WATCH, "@introduceDomain|t|", "OK|");
	h_flush(h);
	send_parked(h, 1, XS_INTRODUCE, "5|4096|7|");
	assert_int_equal(ncalls, 1);
	assert_int_equal(calls[0].op, PRIV_MAP);
	assert_int_equal(calls[0].domid, 5);
	assert_int_equal(calls[0].gfn, 4096);
	assert_int_equal(calls[0].port, 7);
	/* The same connection's next request waits behind it... */
	send_parked(h, 1, XS_IS_DOMAIN_INTRODUCED, "5|");
	/* ...another connection's does not. */
	h_expect(h, 2, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "F|");
	answer(h, 0, 0, false);
	/* The event, then both replies in order (C xenstored's order). */
	assert_int_equal(h->out[h->nout - 3].type, XS_WATCH_EVENT);
	assert_int_equal(h->out[h->nout - 2].type, XS_INTRODUCE);
	assert_string_equal(h_events(h, 1), "@introduceDomain|t|");
	assert_int_equal(h->out[h->nout - 1].type, XS_IS_DOMAIN_INTRODUCED);
	assert_string_equal(h->out[h->nout - 1].payload, "T");
	h_free(h);
}

static void
test_introduce_refused_by_the_broker(void **state)
{
	struct harness *h = with_broker();

	send_parked(h, 1, XS_INTRODUCE, "5|4096|7|");
	/* Whatever the broker's reason, the toolstack gets EINVAL, as from C
	 * xenstored. */
	answer(h, 0, ENOENT, false);
	assert_int_equal(h->out[h->nout - 1].type, XS_ERROR);
	assert_string_equal(h->out[h->nout - 1].payload, "EINVAL");
	h_expect(h, 1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "F|");
	h_free(h);
}

/* The toolstack gives a new domain its home before introducing it. */
static void
test_owner_known_to_the_hypervisor(void **state)
{
	struct harness *h = with_broker();

	h_expect(h, 1, 0, XS_MKDIR, "/local/domain/9|", "OK|");
	send_parked(h, 1, XS_SET_PERMS, "/local/domain/9|n9|");
	assert_int_equal(calls[0].op, PRIV_DOMAIN_INFO);
	assert_int_equal(calls[0].domid, 9);
	answer(h, 0, 0, true);
	assert_string_equal(h->out[h->nout - 1].payload, "OK");
	/* Known now: no second question. */
	h_expect(h, 1, 0, XS_SET_PERMS, "/local/domain/9|n9|r0|", "OK|");
	assert_int_equal(ncalls, 1);
	send_parked(h, 1, XS_SET_PERMS, "/local/domain/9|n8|");
	answer(h, 1, 0, false);
	assert_string_equal(h->out[h->nout - 1].payload, "ENOENT");
	h_expect(h, 1, 0, XS_GET_PERMS, "/local/domain/9|", "n9|r0|");
	h_free(h);
}

/*
 * An entry naming a domain that does not exist is ignored for good
 * (XSA-417): a domain created later with the id gets nothing from it. A
 * request naming several unknown domains asks for each once.
 */
static void
test_entries_for_unknown_domains(void **state)
{
	struct harness *h = with_broker();

	h_expect(h, 1, 0, XS_MKDIR, "/x|", "OK|");
	send_parked(h, 1, XS_SET_PERMS, "/x|n0|r7|b8|r9|r7|");
	assert_int_equal(ncalls, 1);
	assert_int_equal(calls[0].domid, 7);
	answer(h, 0, 0, false);
	assert_int_equal(ncalls, 2);
	assert_int_equal(calls[1].domid, 8);
	answer(h, 1, 0, true);
	assert_int_equal(ncalls, 3);
	assert_int_equal(calls[2].op, PRIV_DOMAIN_INFO);
	assert_int_equal(calls[2].domid, 9);
	answer(h, 2, 0, false);
	assert_int_equal(ncalls, 3);
	assert_string_equal(h->out[h->nout - 1].payload, "OK");
	/* Shown as written. */
	h_expect(h, 1, 0, XS_GET_PERMS, "/x|", "n0|r7|b8|r9|r7|");
	h_guest(h, 10, 7);
	h_guest(h, 11, 8);
	h_guest(h, 12, 9);
	h_expect(h, 10, 0, XS_READ, "/x|", "EACCES|");
	h_expect(h, 11, 0, XS_READ, "/x|", "");
	h_expect(h, 12, 0, XS_READ, "/x|", "EACCES|");
	/* A reserved id names no domain: not asked, ignored. */
	h_expect(h, 1, 0, XS_SET_PERMS, "/x|n0|r32752|", "OK|");
	h_expect(h, 1, 0, XS_SET_PERMS, "/x|n32752|", "ENOENT|");
	assert_int_equal(ncalls, 3);
	h_free(h);
}

/* A closed connection's parked request is dropped, the answer ignored. */
static void
test_close_while_parked(void **state)
{
	struct harness *h = with_broker();

	assert_int_equal(engine_conn_open(h->e, 3, 0, true, false), 0);
	send_parked(h, 3, XS_INTRODUCE, "5|4096|7|");
	send_parked(h, 3, XS_READ, "/|");
	engine_conn_close(h->e, 3);
	answer(h, 0, 0, false);
	assert_int_equal(h->nout, 0);
	h_free(h);
}

static void
test_domain_events(void **state)
{
	struct harness *h = h_new();

	h_expect(h, 1, 0, XS_INTRODUCE, "5|4096|7|", "OK|");
	h_expect(h, 1, 0, XS_WRITE, "/local/domain/5/x|1", "OK|");
	h_expect(h, 1, 0, XS_SET_PERMS, "/local/domain/5|n5|", "OK|");
	h_expect(h, 1, 0, XS_SET_PERMS, "/local/domain/5/x|n5|", "OK|");
	h_expect(h, 1, 0, XS_WATCH, "@releaseDomain|t|", "OK|");
	h_flush(h);
	/* Shut down: one event, however often the hypervisor says so. */
	engine_domain_event(h->e, 5, false, true, false);
	engine_domain_event(h->e, 5, false, true, false);
	assert_string_equal(h_events(h, 1), "@releaseDomain|t|");
	h_flush(h);
	h_expect(h, 1, 0, XS_RESUME, "5|", "OK|");
	engine_domain_event(h->e, 5, false, true, false);
	assert_string_equal(h_events(h, 1), "@releaseDomain|t|");
	h_flush(h);
	/* Dying: released, its nodes gone. */
	engine_domain_event(h->e, 5, true, true, false);
	assert_string_equal(h_events(h, 1), "@releaseDomain|t|");
	h_expect(h, 1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "F|");
	h_expect(h, 1, 0, XS_READ, "/local/domain/5|", "ENOENT|");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	/* Events for domains the store does not know change nothing. */
	engine_domain_event(h->e, 77, true, false, true);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_introduce_waits_for_the_ring),
		cmocka_unit_test(test_introduce_refused_by_the_broker),
		cmocka_unit_test(test_owner_known_to_the_hypervisor),
		cmocka_unit_test(test_entries_for_unknown_domains),
		cmocka_unit_test(test_close_while_parked),
		cmocka_unit_test(test_domain_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
