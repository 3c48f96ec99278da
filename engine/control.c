// SPDX-License-Identifier: GPL-2.0-only
/*
 * XS_CONTROL: the administrator's commands (xenstore-control). Reports go
 * back in the reply, since the engine has no files of its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "mem_inuse.h"
#include "store.h"

struct text {
	char *buf;
	size_t len, cap;
	bool full;
};

static void
addf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len) {
		t->full = true;
		return;
	}
	t->len += (size_t)n;
}

static int
quota_show(struct req *r, const uint32_t *q, bool soft)
{
	struct text t = {r->out, 0, XS_PAYLOAD_MAX, false};
	int i;

	for (i = 0; i < Q_COUNT; i++) {
		if ((i == Q_MEMORY_SOFT) != soft)
			continue;
		addf(&t, "%-18s %10u  %s\n",
		     quota_defs[i].name ? quota_defs[i].name : "-", q[i],
		     quota_defs[i].desc);
	}
	r->outlen = t.len + 1;
	return 0;
}

static int
quota_set(struct req *r, int first, bool soft)
{
	unsigned long v;
	char *end;
	int i;

	/* argv: "quota" "set" NAME VALUE; first is the index of "set". */
	if (r->argc != first + 3)
		return EINVAL;
	errno = 0;
	v = strtoul(r->argv[first + 2], &end, 10);
	if (*end || errno || r->argv[first + 2][0] == '\0' || v > UINT32_MAX)
		return EINVAL;
	if (soft) {
		if (strcmp(r->argv[first + 1], "memory") != 0)
			return EINVAL;
		engine_set_quota(r->e, Q_MEMORY_SOFT, (uint32_t)v);
		return 0;
	}
	for (i = 0; i < Q_COUNT; i++)
		if (quota_defs[i].name &&
		    strcmp(quota_defs[i].name, r->argv[first + 1]) == 0) {
			engine_set_quota(r->e, (enum quota_id)i, (uint32_t)v);
			return 0;
		}
	return EINVAL;
}

static int
ctl_quota(struct req *r, bool soft)
{
	struct text t = {r->out, 0, XS_PAYLOAD_MAX, false};
	struct domain *d;
	uint32_t id;

	if (r->argc == 1)
		return quota_show(r, r->e->quota, soft);
	if (strcmp(r->argv[1], "set") == 0)
		return quota_set(r, 1, soft);
	if (soft || r->argc != 2 || domid_parse(r->argv[1], &id) == -1)
		return EINVAL;
	d = domain_get(r->e, id, false);
	if (d == NULL)
		return ENOENT;
	addf(&t, "Domain %u%s\n", id, d->introduced ? "" : " (not introduced)");
	addf(&t, "%-18s %10ld / %u\n", "nodes", d->nodes, d->quota[Q_NODES]);
	addf(&t, "%-18s %10ld / %u\n", "watches", d->watches,
	     d->quota[Q_WATCHES]);
	addf(&t, "%-18s %10ld / %u\n", "memory", d->memory, d->quota[Q_MEMORY]);
	addf(&t, "%-18s %10ld\n", "watch memory", d->watch_memory);
	r->outlen = t.len + 1;
	return 0;
}

struct check {
	struct hmap owners; /* domid -> count (as pointer-sized integer) */
	struct hmap bytes;  /* domid -> node_size() total, the same way */
	long bad;
	struct text *t;
};

static int
check_node(const struct node *n, const char *path, size_t len, void *arg)
{
	struct check *ck = arg;
	uintptr_t cnt;
	uint32_t i, id = n->perm[0].id;

	if (n->nperm == 0) {
		addf(ck->t, "%s: no owner\n", path);
		ck->bad++;
		return 0;
	}
	/* Counted as kept for transactions alone (pin.c). */
	if (n->retired) {
		addf(ck->t, "%s: retired, yet in the store\n", path);
		ck->bad++;
	}
	for (i = 1; i < n->nchild; i++) {
		const struct node *a = n->child[i - 1], *b = n->child[i];
		size_t l = a->namelen < b->namelen ? a->namelen : b->namelen;
		int c = memcmp(node_name(a), node_name(b), l);

		if (c > 0 || (c == 0 && a->namelen >= b->namelen)) {
			addf(ck->t, "%s: children out of order\n", path);
			ck->bad++;
			break;
		}
	}
	cnt = (uintptr_t)hmap_get(&ck->owners, &id, sizeof(id));
	if (hmap_put(&ck->owners, &id, sizeof(id), (void *)(cnt + 1)) == -1)
		return -ENOMEM;
	cnt = (uintptr_t)hmap_get(&ck->bytes, &id, sizeof(id));
	if (hmap_put(&ck->bytes, &id, sizeof(id),
		     (void *)(cnt + node_size(n))) == -1)
		return -ENOMEM;
	return 0;
}

static int
ctl_check(struct req *r)
{
	struct text t = {r->out, 0, XS_PAYLOAD_MAX, false};
	struct check ck = {{0}, {0}, 0, &t};
	struct domain *d;
	size_t i = 0;
	void *v;
	const char *k;

	if (tree_walk(r->e->root, "/", check_node, &ck) < 0) {
		hmap_free(&ck.owners);
		hmap_free(&ck.bytes);
		return ENOMEM;
	}
	/* What each domain is charged must match what it owns. */
	while (hmap_next(&r->e->doms, &i, &k, NULL, &v)) {
		d = v;
		uintptr_t owned = (uintptr_t)hmap_get(&ck.owners, &d->domid,
						      sizeof(d->domid));
		if ((long)owned != d->nodes) {
			addf(&t, "domain %u: charged %ld nodes, owns %lu\n",
			     d->domid, d->nodes, (unsigned long)owned);
			ck.bad++;
		}
		owned = (uintptr_t)hmap_get(&ck.bytes, &d->domid,
					    sizeof(d->domid));
		if ((long)owned != d->memory) {
			addf(&t, "domain %u: charged %ld bytes, owns %lu\n",
			     d->domid, d->memory, (unsigned long)owned);
			ck.bad++;
		}
	}
	hmap_free(&ck.owners);
	hmap_free(&ck.bytes);
	if (ck.bad == 0)
		return reply_str(r, "OK");
	elog(r->e, LOG_LVL_ERR, "check: %ld problems found", ck.bad);
	r->outlen = t.len + 1;
	return 0;
}

static int
count_nodes(const struct node *n, const char *path, size_t len, void *arg)
{
	size_t *c = arg;

	c[0]++;
	c[1] += node_size(n);
	return 0;
}

static int
ctl_memreport(struct req *r)
{
	struct text t = {r->out, 0, XS_PAYLOAD_MAX, false};
	size_t c[2] = {0, 0}, nconn = r->e->conns.used, ntxn = 0, i = 0;
	void *v;

	if (r->argc > 2)
		return EINVAL;
	if (r->argc == 2)
		return EINVAL; /* the engine writes no files: see the reply */
	while (hmap_next(&r->e->conns, &i, NULL, NULL, &v))
		ntxn += ((struct conn *)v)->ntxn;
	if (tree_walk(r->e->root, "/", count_nodes, c) < 0)
		return ENOMEM;
	addf(&t, "nodes %zu\nnode bytes %zu\nconnections %zu\n", c[0], c[1],
	     nconn);
	addf(&t, "domains %zu\nwatches %zu\nopen transactions %zu\n",
	     r->e->doms.used, watch_count(r->e), ntxn);
	addf(&t, "transactions started %llu\ncommit conflicts %llu\n",
	     (unsigned long long)r->e->ntxn_total,
	     (unsigned long long)r->e->nconflicts);
	addf(&t, "memory in use %zu\n", mem_in_use());
	addf(&t, "watch index probes %llu\n",
	     (unsigned long long)r->e->watch_probes);
	addf(&t, "retired node bytes %zu\n", tree_retired_bytes());
	r->outlen = t.len + 1;
	return 0;
}

static const char help_text[] =
	"check\n"
	"help\n"
	"live-update -f <file>|-c <options>|-s [-t <sec>] "
	"[-F]|-a\n"
	"log on|off\n"
	"memreport\n"
	"print <string>\n"
	"quota [set <name> <val>|<domid>]\n"
	"quota-soft [set <name> <val>]\n";

int
do_control(struct req *r)
{
	const char *cmd;

	if (r->argc < 1)
		return EINVAL;
	cmd = r->argv[0];
	if (strcmp(cmd, "check") == 0 && r->argc == 1)
		return ctl_check(r);
	if (strcmp(cmd, "help") == 0 && r->argc == 1)
		return reply_str(r, help_text);
	if (strcmp(cmd, "log") == 0 && r->argc == 2) {
		if (strcmp(r->argv[1], "on") == 0)
			r->e->logging = true;
		else if (strcmp(r->argv[1], "off") == 0)
			r->e->logging = false;
		else
			return EINVAL;
		return 0;
	}
	if (strcmp(cmd, "memreport") == 0)
		return ctl_memreport(r);
	if (strcmp(cmd, "live-update") == 0)
		return ctl_live_update(r);
	if (strcmp(cmd, "print") == 0 && r->argc == 2) {
		elog(r->e, LOG_LVL_INFO, "control: %s", r->argv[1]);
		return 0;
	}
	if (strcmp(cmd, "quota") == 0)
		return ctl_quota(r, false);
	if (strcmp(cmd, "quota-soft") == 0)
		return ctl_quota(r, true);
	return EINVAL;
}
