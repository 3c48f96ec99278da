// SPDX-License-Identifier: GPL-2.0-only
/*
 * Domains as the store knows them: what they own and use, their quotas,
 * and the generation at which their current incarnation was introduced.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "grow.h"
#include "store.h"

/* Names and defaults as in C xenstored 4.17 and Xen 4.22's GET_QUOTA. */
const struct quota_def quota_defs[Q_COUNT] = {
	[Q_NODES] = {"nodes", "Nodes per domain", 1000},
	[Q_NODE_SIZE] = {"node-size", "Max. node size", 2048},
	[Q_WATCHES] = {"watches", "Watches per domain", 128},
	[Q_TRANSACTIONS] = {"transactions", "Transactions per domain", 10},
	[Q_PERMS] = {"permissions", "Permissions per node", 5},
	[Q_PATH_MAX] = {"path-max", "Max. path length", 2048},
	[Q_TXN_NODES] = {"transaction-nodes", "Nodes per transaction", 1024},
	[Q_MEMORY] = {"memory", "Memory per domain",
		      2 * 1024 * 1024 + 512 * 1024},
	[Q_MEMORY_SOFT] = {NULL, "Memory per domain (soft)", 2 * 1024 * 1024},
	[Q_OUTSTANDING] = {NULL, "Outstanding requests", 20},
	[Q_WATCH_EVENT_TIMEOUT] = {NULL, "Watch event timeout (ms)", 20000},
};

struct domain *
domain_get(struct engine *e, uint32_t domid, bool create)
{
	struct domain *d = hmap_get(&e->doms, &domid, sizeof(domid));

	if (d || !create)
		return d;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->domid = domid;
	/* Permission entries older than this are not for this domain. */
	d->gen = ++e->gen;
	memcpy(d->quota, e->quota, sizeof(d->quota));
	/* Until SET_FEATURE says otherwise (Xen 4.22's default). */
	d->features = XS_FEATURES_SUPPORTED;
	if (hmap_put(&e->doms, &domid, sizeof(domid), d) == -1) {
		free(d);
		return NULL;
	}
	return d;
}

void
domain_undo_begin(struct engine *e)
{
	e->undo_on = true;
	e->undo_lost = false;
	e->nundo = 0;
}

void
domain_undo_end(struct engine *e, bool revert)
{
	size_t i;

	e->undo_on = false;
	if (!revert)
		return;
	if (e->undo_lost)
		elog(e, LOG_LVL_ERR,
		     "out of memory: domain accounting may be "
		     "off until the next CONTROL check");
	for (i = e->nundo; i-- > 0;) {
		struct domain *d = domain_get(e, e->undo[i].domid, false);

		if (d) {
			d->nodes -= e->undo[i].nodes;
			d->memory -= e->undo[i].memory;
		}
	}
	e->nundo = 0;
}

bool
domain_exists(struct engine *e, uint32_t domid)
{
	struct domain *d;

	if (domid == 0)
		return true;
	d = domain_get(e, domid, false);
	return d && (d->introduced || d->hv_exists);
}

/*
 * A heap sort by id, in place: glibc's qsort asks the kernel how much
 * memory there is (sysinfo) once the array passes 1 KiB, which the sandbox
 * forbids, and an engine that knows 128 domains would die at its next
 * snapshot.
 */
static void
sift_down(struct domain **v, size_t root, size_t n)
{
	size_t child;
	struct domain *t;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n && v[child + 1]->domid > v[child]->domid)
			child++;
		if (v[root]->domid >= v[child]->domid)
			return;
		t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

static void
domains_sort(struct domain **v, size_t n)
{
	size_t i;
	struct domain *t;

	for (i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (i = n; i-- > 1;) {
		t = v[0];
		v[0] = v[i];
		v[i] = t;
		sift_down(v, 0, i);
	}
}

/*
 * The map's order follows a key each engine draws for itself: by id, two
 * engines that know the same domains list them alike.
 */
struct domain **
domain_list(struct engine *e, size_t *n)
{
	struct domain **v = malloc((e->doms.used + 1) * sizeof(*v));
	size_t i = 0;
	void *d;

	*n = 0;
	if (v == NULL)
		return NULL;
	while (hmap_next(&e->doms, &i, NULL, NULL, &d))
		v[(*n)++] = d;
	domains_sort(v, *n);
	return v;
}

void
domain_free_all(struct engine *e)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&e->doms, &i, NULL, NULL, &v))
		free(v);
	hmap_free(&e->doms);
}

bool
quota_free(const struct conn *c)
{
	/* socket_ro's clients are untrusted: dom0's reads, a guest's bounds. */
	return c->priv && !c->ro;
}

static void
quota_warn(struct engine *e, struct conn *c, enum quota_id q, long value,
	   uint32_t limit)
{
	bool *warned = c->ro    ? &c->quota_warned[q]
		       : c->dom ? &c->dom->quota_warned[q]
				: NULL;
	const char *name =
		quota_defs[q].name ? quota_defs[q].name : quota_defs[q].desc;

	/* One line per domain (or read-only connection) and quota. */
	if (warned && *warned)
		return;
	if (warned)
		*warned = true;
	if (c->ro)
		elog(e, LOG_LVL_WARN,
		     "read-only connection %u hit quota %s (%ld > %u)", c->id,
		     name, value, limit);
	else
		elog(e, LOG_LVL_WARN, "domain %u hit quota %s (%ld > %u)",
		     c->domid, name, value, limit);
}

bool
quota_exceeded(struct engine *e, struct conn *c, enum quota_id q, long value)
{
	uint32_t limit;

	if (c == NULL || quota_free(c) || e->restoring)
		return false;
	/* A read-only client is not dom0: the options' quotas, not dom0's. */
	limit = c->dom && !c->ro ? c->dom->quota[q] : e->quota[q];
	if (limit == 0 || value <= (long)limit)
		return false;
	quota_warn(e, c, q, value, limit);
	return true;
}

long
quota_memory_used(const struct conn *c)
{
	if (c->ro)
		return c->watch_memory + (long)txn_conn_bytes(c);
	return c->dom ? c->dom->memory + c->dom->watch_memory : 0;
}

void
domain_account_node(struct engine *e, uint32_t owner, const struct node *n,
		    int sign)
{
	struct domain *d = domain_get(e, owner, true);
	long sz = (long)node_size(n);

	if (d == NULL)
		return;
	if (e->undo_on) {
		/* A commit being applied: remember how to take this back. */
		if (grow_array(&e->undo, &e->undocap, e->nundo + 1,
			       sizeof(*e->undo), 64) == -1)
			e->undo_lost = true;
		else
			e->undo[e->nundo++] =
				(struct acct_undo){owner, sign, sign * sz};
	}
	d->nodes += sign;
	d->memory += sign * sz;
	if (sign < 0) {
		d->quota_warned[Q_NODES] = false;
		d->quota_warned[Q_MEMORY] = false;
	}
	if (sign > 0 && d->domid != 0 && !d->quota_warned[Q_MEMORY_SOFT] &&
	    d->quota[Q_MEMORY_SOFT] &&
	    d->memory > (long)d->quota[Q_MEMORY_SOFT]) {
		d->quota_warned[Q_MEMORY_SOFT] = true;
		elog(e, LOG_LVL_WARN,
		     "domain %u uses %ld bytes, above the soft memory quota %u",
		     d->domid, d->memory, d->quota[Q_MEMORY_SOFT]);
	}
}
