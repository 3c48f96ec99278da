// SPDX-License-Identifier: GPL-2.0-only
/*
 * Node permissions: the owner (first entry, also the default for everyone
 * not listed) and an access list, as "n r w b" followed by a domain id.
 */
#include <stdio.h>
#include <string.h>

#include "xs_args.h"

#include "engine.h"

bool
perm_entry_stale(struct engine *e, const struct node *n, const struct perm *p)
{
	struct domain *d;

	/*
	 * Domain ids are reused (dom0's never is). An entry written before
	 * the store first heard of the current holder of the id (or before
	 * the previous holder was released) was meant for an earlier domain
	 * and grants nothing (XSA-322).
	 */
	if (p->mode & PERM_STALE)
		return true;
	if (p->id == 0)
		return false;
	d = domain_get(e, p->id, false);
	return d && d->gen > n->gen;
}

/*
 * A write makes a new version of a node, and a new node takes its
 * parent's entries: either is younger than any domain, so an entry that
 * was stale in n says so itself from now on, or it would grant a later
 * domain with the id what was meant for an earlier one.
 */
void
perms_carry(struct engine *e, const struct node *n, struct perm *out)
{
	unsigned int i;

	for (i = 0; i < n->nperm; i++) {
		out[i] = n->perm[i];
		if (perm_entry_stale(e, n, &n->perm[i]))
			out[i].mode |= PERM_STALE;
	}
}

/* Does this permission entry still mean the domain the connection is? */
static bool
entry_is(struct engine *e, const struct node *n, const struct perm *p,
	 uint32_t domid)
{
	return p->id == domid && !perm_entry_stale(e, n, p);
}

unsigned int
perm_for_conn(struct engine *e, const struct conn *c, const struct node *n)
{
	const unsigned int all = PERM_READ | PERM_WRITE | PERM_OWNER;
	bool tgt = c->dom && c->dom->has_target;
	uint32_t t = tgt ? c->dom->target : 0;
	unsigned int i;

	if (c->priv)
		return all;
	if (entry_is(e, n, &n->perm[0], c->domid) ||
	    (tgt && entry_is(e, n, &n->perm[0], t)))
		return all;
	for (i = 1; i < n->nperm; i++)
		if (entry_is(e, n, &n->perm[i], c->domid) ||
		    (tgt && entry_is(e, n, &n->perm[i], t)))
			return n->perm[i].mode & (PERM_READ | PERM_WRITE);
	return n->perm[0].mode & (PERM_READ | PERM_WRITE);
}

int
domid_parse(const char *s, uint32_t *out)
{
	return xs_domid_parse(s, out);
}

/*
 * The letters of the protocol's permissions ("n", "r", "w", "b"), as
 * SET_PERMS, GET_PERMS and the migration stream's node records spell them:
 * the mode's two bits index them.
 */
static const char perm_letters[] = "nrwb";

int
perm_mode_of(char c)
{
	const char *l = c != '\0' ? strchr(perm_letters, c) : NULL;

	return l != NULL ? (int)(l - perm_letters) : -1;
}

char
perm_mode_char(unsigned int mode)
{
	return perm_letters[mode & (PERM_READ | PERM_WRITE)];
}

int
perms_parse(const char *buf, size_t len, struct perm *out, unsigned int max)
{
	uint32_t id;
	unsigned int n = 0;
	int mode;
	const char *p = buf, *end = buf + len;
	size_t l;

	while (p < end) {
		l = strnlen(p, (size_t)(end - p));
		/*
		 * SET_PERMS ends with a reserved value ("<perm>|+?"): bytes
		 * after the last NUL are not a permission, and are ignored
		 * (as C xenstored does).
		 */
		if (p + l == end)
			break;
		if (n == max)
			return -1;
		if ((mode = perm_mode_of(p[0])) == -1 ||
		    domid_parse(p + 1, &id) == -1)
			return -1;
		out[n].mode = (uint16_t)mode;
		out[n].id = (uint16_t)id;
		n++;
		p += l + 1;
	}
	return (int)n;
}

size_t
perms_format(const struct node *n, char *buf, size_t size)
{
	size_t off = 0;
	unsigned int i;
	int r;

	for (i = 0; i < n->nperm; i++) {
		r = snprintf(buf + off, size - off, "%c%u",
			     perm_mode_char(n->perm[i].mode), n->perm[i].id);
		if (r < 0 || (size_t)r + 1 >= size - off)
			break;
		off += (size_t)r + 1; /* keep the NUL */
	}
	return off;
}
