// SPDX-License-Identifier: GPL-2.0-only
/*
 * Watches and the events they receive. Watches hang in an index on path
 * components (a trie), so a change to a path visits only the watches set
 * on that path and its ancestors: O(depth + matches), however many watches
 * exist. Special watches (@introduceDomain, @releaseDomain) are a list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "grow.h"
#include "xs_proto.h"
#include "xs_state.h"

struct wnode {
	struct wnode *parent;
	struct hmap kids; /* component -> struct wnode */
	struct watch *watches;
	char *name;
	size_t nlen;
};

struct watch {
	struct watch *cnext; /* the connection's watches */
	struct watch *tnext; /* the watches on the same index node */
	struct conn *c;
	struct wnode *wn; /* NULL for special watches */
	char *path;       /* canonical absolute, or @special */
	char *token;
	size_t tlen; /* strlen(token) */
	bool relative;
	int depth;           /* levels below path that match; -1: any */
	unsigned int pdepth; /* components in path */
	uint64_t seq;        /* registration order */
	size_t cost;         /* charged to its domain's memory */
};

/*
 * The watches one event matches. A connection gets its events in the order
 * it set its watches, as C xenstored sends them; the index finds them by
 * path, so they are sorted before they go out.
 */
struct matches {
	struct watch **w;
	const char **path;
	size_t n, cap;
};

static void
match_add(struct matches *m, struct watch *w, const char *path)
{
	size_t cap = m->cap;

	/* Both arrays grow from one capacity, so they end at the same one. */
	if (grow_array(&m->w, &cap, m->n + 1, sizeof(*m->w), 16) == -1 ||
	    grow_array(&m->path, &m->cap, m->n + 1, sizeof(*m->path), 16) == -1)
		return; /* out of memory: this event is not sent */
	m->w[m->n] = w;
	m->path[m->n] = path;
	m->n++;
}

static bool
match_before(const struct watch *x, const struct watch *y)
{
	if (x->c->id != y->c->id)
		return x->c->id < y->c->id;
	return x->seq < y->seq;
}

struct pair {
	struct watch *w;
	const char *p;
};

/*
 * A stable merge sort of our own: glibc's qsort asks the kernel how much
 * memory there is (sysinfo) for large arrays, which the sandbox forbids.
 */
static void
pairs_sort(struct pair *a, struct pair *tmp, size_t n)
{
	size_t width, i, l, r, lend, rend, k;

	for (width = 1; width < n; width *= 2) {
		for (i = 0; i < n; i += 2 * width) {
			l = i;
			lend = i + width < n ? i + width : n;
			r = lend;
			rend = i + 2 * width < n ? i + 2 * width : n;
			for (k = i; k < rend; k++) {
				if (l < lend && (r >= rend ||
						 !match_before(a[r].w, a[l].w)))
					tmp[k] = a[l++];
				else
					tmp[k] = a[r++];
			}
		}
		memcpy(a, tmp, n * sizeof(*a));
	}
}

static void emit_event(struct engine *e, struct watch *w, const char *path,
		       size_t plen);

/*
 * Whether the matches are already in order, or in exactly the reverse one:
 * watches on one index node are listed newest first, so an event seen by
 * the watchers of a single path needs no sort, only a reversal. Returns 1
 * in order, -1 reversed, 0 neither.
 */
static int
match_order(const struct matches *m)
{
	size_t i;
	bool fwd = true, rev = true;

	for (i = 1; i < m->n && (fwd || rev); i++) {
		if (match_before(m->w[i - 1], m->w[i]))
			rev = false;
		else
			fwd = false;
	}
	return fwd ? 1 : rev ? -1 : 0;
}

static void
match_reverse(struct matches *m)
{
	size_t i, j;
	struct watch *w;
	const char *p;

	for (i = 0, j = m->n - 1; i < j; i++, j--) {
		w = m->w[i];
		m->w[i] = m->w[j];
		m->w[j] = w;
		p = m->path[i];
		m->path[i] = m->path[j];
		m->path[j] = p;
	}
}

/* Sends the matched events in order (path is the same for all but
 * special watches, whose event paths travel with them). */
static void
match_send(struct engine *e, struct matches *m)
{
	size_t i, plen = 0;
	int order = m->n > 1 ? match_order(m) : 1;

	/* No two matches are of the same watch: reversed means strictly. */
	if (order == -1)
		match_reverse(m);
	if (order == 0) {
		/* Sort pairs by watch: keep each path with its watch. */
		struct pair *pairs = malloc(2 * m->n * sizeof(*pairs));

		if (pairs != NULL) {
			for (i = 0; i < m->n; i++) {
				pairs[i].w = m->w[i];
				pairs[i].p = m->path[i];
			}
			pairs_sort(pairs, pairs + m->n, m->n);
			for (i = 0; i < m->n; i++) {
				m->w[i] = pairs[i].w;
				m->path[i] = pairs[i].p;
			}
			free(pairs);
		}
	}
	for (i = 0; i < m->n; i++) {
		/* A write seen by many watchers: its path measured once. */
		if (i == 0 || m->path[i] != m->path[i - 1])
			plen = strlen(m->path[i]);
		emit_event(e, m->w[i], m->path[i], plen);
	}
	/* The arrays serve the next event: a realloc or two saved each. */
	e->match_w = m->w;
	e->match_path = m->path;
	e->match_cap = m->cap;
}

static void
match_init(struct engine *e, struct matches *m)
{
	m->w = e->match_w;
	m->path = e->match_path;
	m->cap = e->match_cap;
	m->n = 0;
}

static unsigned int
path_depth(const char *p)
{
	unsigned int d = 0;

	if (strcmp(p, "/") == 0)
		return 0;
	for (; *p; p++)
		d += *p == '/';
	return d;
}

static struct wnode *
wnode_new(struct wnode *parent, const char *name, size_t len)
{
	struct wnode *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->name = strndup(name, len);
	if (w->name == NULL) {
		free(w);
		return NULL;
	}
	w->nlen = len;
	w->parent = parent;
	/* Most index nodes have one child: a path's next component. */
	w->kids.first_cap = 2;
	return w;
}

/* Finds (or with create, makes) the index node of an absolute path. */
static struct wnode *
wnode_find(struct engine *e, const char *path, bool create)
{
	struct wnode *w, *k;
	const char *p, *s;

	if (e->wroot == NULL) {
		if (!create)
			return NULL;
		e->wroot = wnode_new(NULL, "", 0);
		if (e->wroot == NULL)
			return NULL;
	}
	w = e->wroot;
	for (p = path + 1; *p; p = *s ? s + 1 : s) {
		s = strchrnul(p, '/');
		e->watch_probes++;
		k = hmap_get(&w->kids, p, (size_t)(s - p));
		if (k == NULL) {
			if (!create)
				return NULL;
			k = wnode_new(w, p, (size_t)(s - p));
			if (k == NULL)
				return NULL;
			if (hmap_put(&w->kids, p, (size_t)(s - p), k) == -1) {
				free(k->name);
				free(k);
				return NULL;
			}
		}
		w = k;
	}
	return w;
}

static void
wnode_prune(struct engine *e, struct wnode *w)
{
	struct wnode *p;

	while (w && w->parent && w->watches == NULL && w->kids.used == 0) {
		p = w->parent;
		hmap_del(&p->kids, w->name, w->nlen);
		hmap_free(&w->kids);
		free(w->name);
		free(w);
		w = p;
	}
}

static int
event_push(struct engine *e, const char *path, const struct node *pn,
	   const struct node *pn2, bool exact)
{
	struct event *ev;

	if (grow_array(&e->ev, &e->evcap, e->nev + 1, sizeof(*e->ev), 16) == -1)
		return ENOMEM;
	ev = &e->ev[e->nev];
	ev->path = strdup(path);
	if (ev->path == NULL)
		return ENOMEM;
	ev->perm_node = node_ref((struct node *)pn);
	ev->perm_node2 = pn2 ? node_ref((struct node *)pn2) : NULL;
	ev->exact = exact;
	e->nev++;
	return 0;
}

int
event_add(struct engine *e, const char *path, const struct node *pn,
	  const struct node *pn2, bool exact)
{
	struct wnode *w;

	if (exact &&
	    ((w = wnode_find(e, path, false)) == NULL || w->watches == NULL))
		return 0;
	if (e->wroot == NULL)
		return 0;
	return event_push(e, path, pn, pn2, exact);
}

/* A node of a removed subtree that the watch index reaches too. */
struct rm_frame {
	const struct node *n;
	const struct wnode *w;
	uint32_t next;  /* its next child to look at */
	size_t pathlen; /* of the path up to and including n */
};

/*
 * The nodes below top, in the order of a pre-order walk, that have watches
 * of their own: the walk follows the watch index down the subtree, so each
 * child is looked up once in its parent's index node and a part of the
 * subtree no watch names costs nothing more. Looking each removed node up
 * from the root would cost the square of a deep chain's depth.
 */
static int
events_below(struct engine *e, const char *path, const struct node *top,
	     const struct wnode *wtop)
{
	size_t cap = 64, sp = 0, plen = strlen(path), pcap = plen + 256;
	struct rm_frame *st = malloc(cap * sizeof(*st));
	char *buf = malloc(pcap);
	int r = 0;

	if (st == NULL || buf == NULL) {
		r = ENOMEM;
		goto out;
	}
	memcpy(buf, path, plen + 1);
	st[sp++] = (struct rm_frame){top, wtop, 0, plen};
	while (sp > 0 && r == 0) {
		struct rm_frame *f = &st[sp - 1];
		const struct node *c;
		const struct wnode *k;
		size_t nl;

		if (f->next == f->n->nchild) {
			sp--;
			continue;
		}
		c = f->n->child[f->next++];
		e->watch_probes++;
		k = hmap_get(&f->w->kids, node_name(c), c->namelen);
		if (k == NULL)
			continue;
		nl = f->pathlen + 1 + c->namelen;
		if (grow_array(&buf, &pcap, nl + 1, 1, 256) == -1) {
			r = ENOMEM;
			break;
		}
		buf[f->pathlen] = '/';
		memcpy(buf + f->pathlen + 1, node_name(c), c->namelen + 1u);
		if (k->watches != NULL)
			r = event_push(e, buf, c, NULL, true);
		if (grow_array(&st, &cap, sp + 1, sizeof(*st), 64) == -1) {
			r = ENOMEM;
			break;
		}
		st[sp++] = (struct rm_frame){c, k, 0, nl};
	}
out:
	free(st);
	free(buf);
	return r;
}

int
events_add_removed(struct engine *e, const char *path, const struct node *top)
{
	const struct wnode *w;
	int r;

	if (e->wroot == NULL)
		return 0;
	/* The removed node fires its watchers and those of its parents. */
	if ((r = event_push(e, path, top, NULL, false)) != 0)
		return r;
	/* Each node below it fires only watches set on that very node. */
	if ((w = wnode_find(e, path, false)) == NULL)
		return 0;
	return events_below(e, path, top, w);
}

/* plen is strlen(path). */
static void
emit_event(struct engine *e, struct watch *w, const char *path, size_t plen)
{
	const char *p = w->relative ? path_relative(w->c, path) : path;
	size_t pl = (w->relative ? strlen(p) : plen) + 1, tl = w->tlen + 1;
	char buf[XS_PAYLOAD_MAX];

	if (pl + tl > sizeof(buf))
		return; /* deeper than the watch, too big: dropped */
	memcpy(buf, p, pl);
	memcpy(buf + pl, w->token, tl);
	e->emit(e->cb_arg, w->c->id, XS_WATCH_EVENT, 0, 0, buf, pl + tl);
}

static bool
can_see(struct engine *e, struct conn *c, const struct event *ev)
{
	if (perm_for_conn(e, c, ev->perm_node) & PERM_READ)
		return true;
	return ev->perm_node2 &&
	       (perm_for_conn(e, c, ev->perm_node2) & PERM_READ);
}

static void
fire_one(struct engine *e, const struct event *ev)
{
	unsigned int depth = path_depth(ev->path), level = 0;
	struct wnode *w = e->wroot;
	struct matches m;
	struct watch *wa;
	const char *p = ev->path + 1, *s;

	match_init(e, &m);
	while (w) {
		for (wa = w->watches; wa; wa = wa->tnext) {
			if (ev->exact && level != depth)
				continue;
			if (wa->depth >= 0 &&
			    depth - level > (unsigned int)wa->depth)
				continue;
			if (!can_see(e, wa->c, ev))
				continue;
			match_add(&m, wa, ev->path);
		}
		if (level == depth)
			break;
		s = strchrnul(p, '/');
		e->watch_probes++;
		w = hmap_get(&w->kids, p, (size_t)(s - p));
		p = *s ? s + 1 : s;
		level++;
	}
	match_send(e, &m);
}

static void
event_clear(struct event *ev)
{
	free(ev->path);
	node_unref((struct node *)ev->perm_node);
	node_unref((struct node *)ev->perm_node2);
}

void
events_fire(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->nev; i++) {
		if (e->wroot)
			fire_one(e, &e->ev[i]);
		event_clear(&e->ev[i]);
	}
	e->nev = 0;
}

void
events_drop(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->nev; i++)
		event_clear(&e->ev[i]);
	e->nev = 0;
}

/*
 * What a watch holds: itself, its path and token, and an index node for
 * each component of its path (with a small table of children), counted as
 * if it shared none with other watches.
 */
#define WNODE_COST (sizeof(struct wnode) + 2 * sizeof(struct hmap_ent) + 2 * 24)

static size_t
watch_cost(const char *wpath, const char *token)
{
	return sizeof(struct watch) + strlen(wpath) + strlen(token) + 2 +
	       (wpath[0] == '@' ? 0 : path_depth(wpath)) * WNODE_COST;
}

int
watch_add(struct engine *e, struct conn *c, const char *wpath,
	  const char *token, bool relative, int depth)
{
	struct watch *w;
	size_t cost;

	for (w = c->watches; w; w = w->cnext)
		if (strcmp(w->path, wpath) == 0 && strcmp(w->token, token) == 0)
			return EEXIST;
	/*
	 * C xenstored refuses only once a domain already has more than the
	 * quota; the same limit here. A read-only client has one of its own:
	 * dom0's watches are dom0's toolstack's.
	 */
	if (c->dom && quota_exceeded(e, c, Q_WATCHES,
				     c->ro ? (long)c->nwatch : c->dom->watches))
		return E2BIG;
	/*
	 * Watches count against the domain's memory quota with its nodes,
	 * as in C xenstored: a watch on a deep path has an index node per
	 * component, and 128 of them would otherwise hold tens of MB.
	 */
	cost = watch_cost(wpath, token);
	if (quota_exceeded(e, c, Q_MEMORY, quota_memory_used(c) + (long)cost))
		return ENOMEM;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return ENOMEM;
	w->path = strdup(wpath);
	w->token = strdup(token);
	if (w->path == NULL || w->token == NULL)
		goto nomem;
	w->tlen = strlen(token);
	w->c = c;
	w->relative = relative;
	w->depth = depth;
	w->seq = ++e->watch_seq;
	if (wpath[0] == '@') {
		w->tnext = e->special_watches;
		e->special_watches = w;
	} else {
		w->wn = wnode_find(e, wpath, true);
		if (w->wn == NULL)
			goto nomem;
		w->pdepth = path_depth(wpath);
		w->tnext = w->wn->watches;
		w->wn->watches = w;
	}
	w->cnext = c->watches;
	c->watches = w;
	c->nwatch++;
	w->cost = cost;
	c->watch_memory += (long)cost;
	if (c->dom) {
		c->dom->watches++;
		c->dom->watch_memory += (long)cost;
	}
	return 0;
nomem:
	free(w->path);
	free(w->token);
	free(w);
	return ENOMEM;
}

static void
watch_unlink(struct engine *e, struct watch *w)
{
	struct watch **pp;

	pp = w->wn ? &w->wn->watches : &e->special_watches;
	for (; *pp; pp = &(*pp)->tnext)
		if (*pp == w) {
			*pp = w->tnext;
			break;
		}
	if (w->wn)
		wnode_prune(e, w->wn);
	if (w->c->dom) {
		w->c->dom->watches--;
		w->c->dom->watch_memory -= (long)w->cost;
		w->c->dom->quota_warned[Q_WATCHES] = false;
		w->c->dom->quota_warned[Q_MEMORY] = false;
	}
	w->c->nwatch--;
	w->c->watch_memory -= (long)w->cost;
	free(w->path);
	free(w->token);
	free(w);
}

int
watch_del(struct engine *e, struct conn *c, const char *wpath,
	  const char *token)
{
	struct watch **pp, *w;

	for (pp = &c->watches; (w = *pp) != NULL; pp = &w->cnext)
		if (strcmp(w->path, wpath) == 0 &&
		    strcmp(w->token, token) == 0) {
			*pp = w->cnext;
			watch_unlink(e, w);
			return 0;
		}
	return ENOENT;
}

void
watch_del_all(struct engine *e, struct conn *c)
{
	struct watch *w;

	while ((w = c->watches) != NULL) {
		c->watches = w->cnext;
		watch_unlink(e, w);
	}
}

void
watch_refire(struct engine *e, struct conn *c)
{
	struct watch *w, **all;
	size_t n = 0, i, pl, tl;
	char buf[XS_PAYLOAD_MAX + 2];

	if ((all = calloc(c->nwatch + 1, sizeof(*all))) == NULL) {
		elog(e, LOG_LVL_ERR, "conn %u: out of memory refiring watches",
		     c->id);
		return;
	}
	for (w = c->watches; w; w = w->cnext)
		all[n++] = w;
	/* Oldest first, as they were registered. */
	for (i = n; i-- > 0;) {
		const char *p;

		w = all[i];
		p = w->relative ? path_relative(c, w->path) : w->path;
		pl = strlen(p) + 1;
		tl = strlen(w->token) + 1;
		if (pl + tl > sizeof(buf))
			continue;
		memcpy(buf, p, pl);
		memcpy(buf + pl, w->token, tl);
		e->emit(e->cb_arg, c->id, XS_WATCH_EVENT, 0, 0, buf, pl + tl);
	}
	free(all);
}

void
watch_fire_special(struct engine *e, const char *name, uint32_t domid)
{
	struct tree_path tp;
	const struct node *sn;
	struct matches m;
	struct watch *w;
	size_t nl = strlen(name);
	char one[64];

	match_init(e, &m);
	snprintf(one, sizeof(one), "%s/%u", name, domid);
	tree_path_one(&tp, name, nl);
	sn = tree_lookup(e->special, &tp);
	for (w = e->special_watches; w; w = w->tnext) {
		const char *epath;

		if (strcmp(w->path, name) == 0)
			epath = w->depth == 1 ? one : name;
		else if (strcmp(w->path, one) == 0)
			epath = one;
		else
			continue;
		if (!w->c->priv &&
		    !(sn && (perm_for_conn(e, w->c, sn) & PERM_READ)))
			continue;
		match_add(&m, w, epath);
	}
	match_send(e, &m);
}

void
watch_index_free(struct engine *e)
{
	/* Every watch belongs to a connection; closing them all empties the
	 * index except its root. */
	free(e->match_w);
	free(e->match_path);
	e->match_w = NULL;
	e->match_path = NULL;
	e->match_cap = 0;
	if (e->wroot) {
		hmap_free(&e->wroot->kids);
		free(e->wroot->name);
		free(e->wroot);
		e->wroot = NULL;
	}
}

size_t
watch_count(struct engine *e)
{
	size_t i = 0, n = 0;
	void *v;

	while (hmap_next(&e->conns, &i, NULL, NULL, &v))
		n += ((struct conn *)v)->nwatch;
	return n;
}

int
watch_dump(struct engine *e, struct conn *c, bool extended,
	   int (*out)(void *arg, const void *buf, size_t len), void *arg)
{
	static const uint8_t zero[8];
	struct watch *w, **all;
	size_t n = 0, i;
	int r = 0;

	/* Oldest first (the list is newest first), so a restore keeps the
	 * order in which events reach the connection. */
	if ((all = calloc(c->nwatch + 1, sizeof(*all))) == NULL)
		return -ENOMEM;
	for (w = c->watches; w; w = w->cnext)
		all[n++] = w;
	for (i = n; i-- > 0;) {
		w = all[i];
		/* The path as the client gave it: relative stays relative. */
		const char *p =
			w->relative ? path_relative(c, w->path) : w->path;
		uint32_t hdr[2], cid = c->id;
		uint16_t f[4];
		size_t pl = strlen(p) + 1, tl = strlen(w->token) + 1;
		/* WATCH_DATA lacks the depth (and its padding) of _EXTENDED. */
		size_t flen = extended ? 8 : 4;
		size_t len = 4 + flen + pl + tl, pad = (8 - (len & 7)) & 7;

		hdr[0] = extended ? REC_WATCH_DATA_EXTENDED : REC_WATCH_DATA;
		/* 4.17 steps to the next record by the length alone: padding
		 * in, as it writes it. */
		hdr[1] = (uint32_t)(extended ? len : len + pad);
		f[0] = (uint16_t)pl;
		f[1] = (uint16_t)tl;
		f[2] = w->depth < 0 ? 0xffff : (uint16_t)w->depth;
		f[3] = 0;
		if ((r = out(arg, hdr, 8)) != 0 ||
		    (r = out(arg, &cid, 4)) != 0 ||
		    (r = out(arg, f, flen)) != 0 ||
		    (r = out(arg, p, pl)) != 0 ||
		    (r = out(arg, w->token, tl)) != 0 ||
		    (pad && (r = out(arg, zero, pad)) != 0))
			break;
	}
	free(all);
	return r;
}

void
events_drop_transient(struct engine *e, const struct node *before)
{
	struct tree_path tp;
	bool transient;
	size_t i, n = 0;

	/*
	 * A node a transaction created and removed again, or created below
	 * one it removed, was never seen outside it: nothing changed there,
	 * and C xenstored fires no event for it. Paths it cannot split keep
	 * their event (a spurious event is allowed, a lost one is not).
	 */
	for (i = 0; i < e->nev; i++) {
		transient = false;
		if (e->ev[i].path[0] == '/' &&
		    tree_path_split(&tp, e->ev[i].path) == 0) {
			transient = tree_lookup(before, &tp) == NULL &&
				    tree_lookup(e->root, &tp) == NULL;
			tree_path_done(&tp);
		}
		if (transient)
			event_clear(&e->ev[i]);
		else
			e->ev[n++] = e->ev[i];
	}
	e->nev = n;
}

void
events_coalesce(struct engine *e)
{
	/* Keyed by the first event's own path: no copies (exact or not). */
	struct hmap seen[2] = {{.borrow = true}, {.borrow = true}};
	size_t i, j, n = 0, kl;
	struct hmap *m;
	void *v;

	/*
	 * One event per changed node, in the order of its first change, with
	 * the permissions of its last (C xenstored fires a committed
	 * transaction's events once per node).
	 */
	for (i = 0; i < e->nev; i++) {
		m = &seen[e->ev[i].exact];
		kl = strlen(e->ev[i].path);
		v = hmap_get(m, e->ev[i].path, kl);
		if (v == NULL) {
			e->ev[n] = e->ev[i];
			/* Out of memory only costs the coalescing. */
			hmap_put(m, e->ev[n].path, kl,
				 (void *)(uintptr_t)(n + 1));
			n++;
			continue;
		}
		j = (uintptr_t)v - 1;
		node_unref((struct node *)e->ev[j].perm_node);
		node_unref((struct node *)e->ev[j].perm_node2);
		e->ev[j].perm_node = e->ev[i].perm_node;
		e->ev[j].perm_node2 = e->ev[i].perm_node2;
		free(e->ev[i].path);
	}
	e->nev = n;
	hmap_free(&seen[0]);
	hmap_free(&seen[1]);
}
