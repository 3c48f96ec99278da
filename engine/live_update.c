// SPDX-License-Identifier: GPL-2.0-only
/*
 * XS_CONTROL live-update, as xenstore-control drives it: -f names the new
 * engine binary (the broker opens and checks it), -c adds options to its
 * command line, -s starts the update once no transaction is open (BUSY
 * until then; -t and -F say how long to wait and whether to go ahead
 * anyway), -a gives up. The state passes through the journal like after a
 * crash: -s records its own answer and asks the broker to swap engines;
 * the new engine sends that answer when the broker hands the request over
 * again. Xenstore stubdom transfers (-b, -d) have no meaning here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "journal.h"
#include "lu_options.h"
#include "mono.h"

/* Splits -c's command line into words, NUL-separated in the engine. */
static const char *
set_cmdline(struct engine *e, const char *line)
{
	char words[sizeof(e->lu.args)];
	size_t n = 0, len, opt = 0;
	bool value = false;
	enum lu_option kind;
	const char *p = line;

	while (*p) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, " ");
		if (n + len + 1 > sizeof(words))
			return "command line too long";
		memcpy(words + n, p, len);
		words[n + len] = '\0';
		if (value) {
			if (!lu_value_ok(words + opt, words + n))
				return "option value not allowed";
			value = false;
		} else if ((kind = lu_option(words + n)) == LU_OPT_NO) {
			return "option not allowed on the command line";
		} else {
			value = kind == LU_OPT_VALUE;
			opt = n;
		}
		n += len + 1;
		p += len;
	}
	if (value)
		return "option without its value";
	/* Only a valid line replaces the one set before. */
	memcpy(e->lu.args, words, n);
	e->lu.argslen = n;
	return NULL;
}

static bool
transactions_open(struct engine *e)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&e->conns, &i, NULL, NULL, &v))
		if (((struct conn *)v)->ntxn > 0)
			return true;
	return false;
}

static int
lu_start(struct req *r)
{
	static const char ok[] = "OK";
	struct engine *e = r->e;
	unsigned long timeout = 60;
	bool force = false;
	char *end;
	int i;

	for (i = 2; i < r->argc; i++) {
		if (strcmp(r->argv[i], "-F") == 0) {
			force = true;
		} else if (strcmp(r->argv[i], "-t") == 0 && i + 1 < r->argc) {
			timeout = strtoul(r->argv[++i], &end, 10);
			if (*end || r->argv[i][0] == '\0')
				return reply_str(r, "bad timeout");
		} else {
			return reply_str(r, "unknown option");
		}
	}
	if (!e->lu.active)
		return reply_str(r, "live-update session not active");
	/*
	 * Open transactions would end with EAGAIN: wait for them, -t seconds
	 * from the first -s that found them (xenstore-control asks again
	 * once a second; another client may ask more often).
	 */
	if (transactions_open(e)) {
		if (!e->lu.waiting) {
			e->lu.waiting = true;
			clock_gettime(CLOCK_MONOTONIC, &e->lu.since);
		}
		if ((unsigned long long)mono_us_since(&e->lu.since) / 1000000 <
		    timeout)
			return reply_str(r, "BUSY");
		if (!force) {
			e->lu.waiting = false;
			return reply_str(
				r, "timeout reached, transactions still open");
		}
	}
	e->lu.waiting = false;
	if (journal_answer(e, XS_CONTROL | REPLY_LIVE_UPDATE, ok, sizeof(ok)) ==
	    -1)
		return reply_str(r,
				 "no state to hand over: not under a broker");
	r->replied = true; /* the next engine answers */
	priv_tell_str(e, PRIV_LU_EXEC, e->lu.args, e->lu.argslen);
	elog(e, LOG_LVL_INFO, "live update: handing over to the new engine");
	e->lu.active = false;
	return 0;
}

int
ctl_live_update(struct req *r)
{
	struct engine *e = r->e;
	struct priv_answer a;
	const char *opt, *why;
	int err;

	if (r->argc < 2)
		return EINVAL;
	opt = r->argv[1];
	if (strcmp(opt, "-f") == 0 && r->argc == 3) {
		if (r->argv[2][0] != '/')
			return reply_str(r,
					 "the binary needs an absolute path");
		err = priv_ask_str(e, PRIV_LU_FILE, r->argv[2],
				   strlen(r->argv[2]), &a);
		if (err)
			return err;
		if (a.err)
			return reply_str(r, strerror(a.err));
		e->lu.active = true;
		e->lu.argslen = 0;
		e->lu.waiting = false;
		return reply_str(r, "OK");
	}
	if (strcmp(opt, "-c") == 0 && r->argc == 3) {
		if (!e->lu.active)
			return reply_str(r, "live-update session not active");
		if ((why = set_cmdline(e, r->argv[2])) != NULL)
			return reply_str(r, why);
		return reply_str(r, "OK");
	}
	if (strcmp(opt, "-s") == 0)
		return lu_start(r);
	if (strcmp(opt, "-a") == 0 && r->argc == 2) {
		e->lu.active = false;
		return reply_str(r, "OK");
	}
	if (strcmp(opt, "-b") == 0 || strcmp(opt, "-d") == 0)
		return reply_str(r, "only for a xenstore stub domain");
	return EINVAL;
}
