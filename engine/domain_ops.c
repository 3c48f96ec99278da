// SPDX-License-Identifier: GPL-2.0-only
/*
 * Requests about domains rather than nodes: INTRODUCE, RELEASE, RESUME,
 * SET_TARGET, IS_DOMAIN_INTRODUCED, GET_DOMAIN_PATH, GET/SET_FEATURE and
 * GET/SET_QUOTA, and what the hypervisor tells of domains (DomainEvent).
 * Where the broker must act (map a ring) or know (does a domain exist), the
 * request parks until it answers (engine/park.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "journal.h"
#include "store.h"
#include "xs_args.h"

static int
arg_domid(struct req *r, int i, uint32_t *d)
{
	if (i >= r->argc || domid_parse(r->argv[i], d) == -1)
		return EINVAL;
	return 0;
}

int
do_get_domain_path(struct req *r)
{
	const char *a = onearg(r);
	uint32_t d;
	char buf[32];

	if (a == NULL || domid_parse(a, &d) == -1)
		return EINVAL;
	snprintf(buf, sizeof(buf), "/local/domain/%u", d);
	return reply_str(r, buf);
}

int
do_is_domain_introduced(struct req *r)
{
	const char *a = onearg(r);
	struct domain *d;
	uint32_t id;
	bool yes;

	if (a == NULL || domid_parse(a, &id) == -1)
		return EINVAL;
	d = domain_get(r->e, id, false);
	/* C xenstored answers T for DOMID_SELF, the store's own domain. */
	yes = id == 0 || id == XS_DOMID_SELF || (d && d->introduced);
	return reply_str(r, yes ? "T" : "F");
}

static bool
real_domid(uint32_t d)
{
	return d != 0 && d < XS_DOMID_FIRST_RESERVED;
}

int
do_introduce(struct req *r)
{
	struct priv_answer a;
	uint32_t id;
	unsigned long gfn;
	uint32_t port;
	struct domain *d;
	int err;

	/* The broker reads it the same way before it maps anything. */
	if (xs_introduce_parse(r->argc, r->argv, &id, &gfn, &port) == -1 ||
	    id >= XS_DOMID_FIRST_RESERVED)
		return EINVAL;
	/*
	 * dom0's ring is set up by the broker at start; introducing dom0
	 * again changes nothing (C xenstored answers OK too).
	 */
	if (id == 0)
		return 0;
	/*
	 * The broker maps the ring, binds the channel and advertises the
	 * features SET_FEATURE left, or says why not.
	 */
	d = domain_get(r->e, id, false);
	err = priv_ask(r->e, PRIV_MAP, id, gfn, port,
		       d != NULL ? d->features : XS_FEATURES_SUPPORTED, &a);
	if (err)
		return err;
	if (a.err)
		return a.err == ENOMEM ? ENOMEM : EINVAL;
	d = domain_get(r->e, id, true);
	if (d == NULL)
		return ENOMEM;
	if (d->introduced) {
		/* Reintroduction rebinds the channel: same domain, no event. */
		d->gfn = (uint32_t)gfn;
		d->port = (uint32_t)port;
		journal_domain(r->e, d, false);
		return 0;
	}
	/*
	 * The generation stays that of the domain's first mention (or its
	 * last release), so permissions the toolstack prepared for it
	 * before INTRODUCE hold.
	 */
	d->introduced = true;
	d->shutdown_seen = false;
	d->gfn = (uint32_t)gfn;
	d->port = (uint32_t)port;
	journal_domain(r->e, d, false);
	/* The event goes out before the reply, as C xenstored sends it. */
	watch_fire_special(r->e, "@introduceDomain", id);
	return 0;
}

static struct domain *
introduced(struct req *r, int i, int *err)
{
	struct domain *d;
	uint32_t id;

	if (arg_domid(r, i, &id) || id == 0) {
		*err = EINVAL;
		return NULL;
	}
	/* A reserved id is just one never introduced (as C xenstored says). */
	d = domain_get(r->e, id, false);
	if (d == NULL || !d->introduced) {
		*err = ENOENT;
		return NULL;
	}
	return d;
}

int
do_release(struct req *r)
{
	struct domain *d;
	int err;

	if (onearg(r) == NULL)
		return EINVAL;
	if ((d = introduced(r, 0, &err)) == NULL)
		return err;
	domain_release(r->e, d);
	return 0;
}

/*
 * A stub domain may act for its target, not for whichever domain is given
 * the target's id next.
 */
static void
targets_forget(struct engine *e, uint32_t domid)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&e->doms, &i, NULL, NULL, &v)) {
		struct domain *o = v;

		if (o->has_target && o->target == domid) {
			o->has_target = false;
			journal_domain(e, o, false);
		}
	}
}

void
domain_release(struct engine *e, struct domain *d)
{
	d->introduced = false;
	d->has_target = false;
	targets_forget(e, d->domid);
	d->features = XS_FEATURES_SUPPORTED;
	domain_remove_nodes(e, d->domid);
	/* Whatever still names this id was meant for this incarnation. */
	d->gen = ++e->gen;
	journal_domain(e, d, true);
	events_fire(e);
	watch_fire_special(e, "@releaseDomain", d->domid);
	priv_tell(e, PRIV_UNMAP, d->domid);
}

/*
 * A domain that died before it was introduced (C xenstored frees its
 * record then): entries written for it while it existed must not grant
 * a later domain with its id anything, as after a release.
 */
static void
domain_forget(struct engine *e, struct domain *d)
{
	elog(e, LOG_LVL_INFO, "domain %u died before it was introduced",
	     d->domid);
	d->gen = ++e->gen;
	journal_domain(e, d, true);
}

void
engine_domain_event(struct engine *e, uint32_t domid, bool dying, bool shutdown,
		    bool gone)
{
	struct domain *d = domain_get(e, domid, false);

	if (d == NULL)
		return;
	if (dying || gone)
		d->hv_exists = false;
	if (!d->introduced) {
		if (dying || gone)
			domain_forget(e, d);
		return;
	}
	if (dying || gone) {
		elog(e, LOG_LVL_INFO, "domain %u is %s", domid,
		     gone ? "gone" : "dying");
		domain_release(e, d);
	} else if (shutdown && !d->shutdown_seen) {
		/* Once per shutdown, until RESUME. */
		d->shutdown_seen = true;
		watch_fire_special(e, "@releaseDomain", domid);
	}
}

/*
 * Does domid exist? The store knows dom0 and introduced domains; for any
 * other the hypervisor, through the broker, decides.
 */
int
domain_check_exists(struct engine *e, uint32_t domid)
{
	struct priv_answer a;
	int err;

	if (domain_exists(e, domid))
		return 0;
	/* No domain holds a reserved id; the broker is not asked of one. */
	if (domid >= XS_DOMID_FIRST_RESERVED)
		return ENOENT;
	if ((err = priv_ask(e, PRIV_DOMAIN_INFO, domid, 0, 0, 0, &a)) != 0)
		return err;
	return a.exists && !a.dying ? 0 : ENOENT;
}

/*
 * An entry naming a domain that does not exist as it is written would
 * grant a domain created later with that id what was never meant for it
 * (XSA-417): it is ignored for good. One naming a domain that exists, if
 * not introduced yet (the toolstack prepares a guest's home before
 * INTRODUCE), holds.
 */
int
domain_mark_unknown(struct engine *e, struct perm *p, unsigned int n)
{
	unsigned int i;
	int err;

	for (i = 1; i < n; i++) {
		err = domain_check_exists(e, p[i].id);
		if (err == ENOENT)
			p[i].mode |= PERM_STALE;
		else if (err)
			return err;
	}
	return 0;
}

int
do_resume(struct req *r)
{
	struct domain *d;
	int err;

	if (onearg(r) == NULL)
		return EINVAL;
	if ((d = introduced(r, 0, &err)) == NULL)
		return err;
	d->shutdown_seen = false;
	return 0;
}

int
do_set_target(struct req *r)
{
	struct domain *d, *td;
	int err;

	/* Further arguments are ignored, as C xenstored does. */
	if (r->argc < 2)
		return EINVAL;
	if ((d = introduced(r, 0, &err)) == NULL)
		return err;
	/*
	 * The target too must be a domain the store talks to, as in C
	 * xenstored: one the hypervisor knows but nobody introduced is not.
	 */
	if ((td = introduced(r, 1, &err)) == NULL)
		return err;
	d->target = td->domid;
	d->has_target = true;
	journal_domain(r->e, d, false);
	return 0;
}

int
do_get_feature(struct req *r)
{
	struct domain *d;
	char buf[16];
	uint32_t id, f = XS_FEATURES_SUPPORTED;

	if (r->len > 0 && r->argc != 1)
		return EINVAL;
	if (r->argc == 1) {
		if (arg_domid(r, 0, &id))
			return EINVAL;
		d = domain_get(r->e, id, false);
		if (d == NULL)
			return ENOENT;
		f = d->features;
	}
	snprintf(buf, sizeof(buf), "%u", f);
	return reply_str(r, buf);
}

int
do_set_feature(struct req *r)
{
	struct domain *d;
	unsigned long v;
	uint32_t id;
	char *end;

	if (r->argc != 2 || arg_domid(r, 0, &id) || !real_domid(id))
		return EINVAL;
	errno = 0;
	v = strtoul(r->argv[1], &end, 10);
	if (*end || errno || r->argv[1][0] == '\0' ||
	    (v & ~(unsigned long)XS_FEATURES_SUPPORTED))
		return EINVAL;
	d = domain_get(r->e, id, true);
	if (d == NULL)
		return ENOMEM;
	if (d->introduced)
		return EBUSY; /* the ring already carries its features */
	d->features = (uint32_t)v;
	journal_domain(r->e, d, false);
	return 0;
}

static int
quota_by_name(const char *name)
{
	int i;

	for (i = 0; i < Q_COUNT; i++)
		if (quota_defs[i].name && strcmp(quota_defs[i].name, name) == 0)
			return i;
	return -1;
}

int
do_get_quota(struct req *r)
{
	struct domain *d = NULL;
	char buf[256];
	size_t off = 0;
	uint32_t id;
	int q, i;

	if (r->len == 0) {
		for (i = 0; i < Q_COUNT; i++)
			if (quota_defs[i].name)
				off += (size_t)snprintf(
					buf + off, sizeof(buf) - off, "%s%s",
					off ? " " : "", quota_defs[i].name);
		return reply_str(r, buf);
	}
	if (r->argc < 1 || r->argc > 2)
		return EINVAL;
	if (r->argc == 2) {
		if (arg_domid(r, 0, &id))
			return EINVAL;
		d = domain_get(r->e, id, false);
		if (d == NULL)
			return ENOENT;
	}
	q = quota_by_name(r->argv[r->argc - 1]);
	if (q < 0)
		return EINVAL;
	snprintf(buf, sizeof(buf), "%u", d ? d->quota[q] : r->e->quota[q]);
	return reply_str(r, buf);
}

int
do_set_quota(struct req *r)
{
	struct domain *d = NULL;
	unsigned long v;
	uint32_t id;
	char *end;
	int q;

	if (r->argc < 2 || r->argc > 3)
		return EINVAL;
	if (r->argc == 3) {
		if (arg_domid(r, 0, &id))
			return EINVAL;
		d = domain_get(r->e, id, false);
		if (d == NULL)
			return ENOENT;
	}
	q = quota_by_name(r->argv[r->argc - 2]);
	errno = 0;
	v = strtoul(r->argv[r->argc - 1], &end, 10);
	if (q < 0 || *end || errno || r->argv[r->argc - 1][0] == '\0' ||
	    v > UINT32_MAX)
		return EINVAL;
	if (d) {
		d->quota[q] = (uint32_t)v;
		journal_domain(r->e, d, false);
	} else
		engine_set_quota(r->e, (enum quota_id)q, (uint32_t)v);
	return 0;
}
