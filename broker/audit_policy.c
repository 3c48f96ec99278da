// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit policy (policy/audit.policy): which requests are recorded, and
 * whether their values appear in clear. One rule a line, the first rule
 * that matches decides, and what no rule matches is recorded without
 * values:
 *
 *   ACTION [domain=ID,...|*] [op=NAME,...|*] [path=PREFIX]
 *
 * ACTION is log, log-values or skip. The parser is strict: anything it does
 * not know is an error naming file:line, and the caller keeps the policy it
 * had.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "grow.h"

#define POLICY_DOMAINS_MAX 64
#define POLICY_RULES_MAX 1024
#define POLICY_LINE_MAX 4096

struct audit_rule {
	enum audit_action action;
	uint32_t ops; /* bit per type; all ones: any */
	size_t ndoms; /* 0: any */
	uint32_t doms[POLICY_DOMAINS_MAX];
	char *prefix; /* NULL: any, with or without a path */
	size_t prefixlen;
};

struct audit_policy {
	struct audit_rule *rules;
	size_t nrules;
};

void
audit_policy_free(struct audit_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++)
		free(p->rules[i].prefix);
	free(p->rules);
	free(p);
}

size_t
audit_policy_nrules(const struct audit_policy *p)
{
	return p->nrules;
}

static void
perr(char *err, size_t errsz, const char *name, unsigned int line,
     const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errsz, "%s:%u: %s", name, line, msg);
}

static int
parse_domains(struct audit_rule *r, const char *v, size_t n)
{
	size_t i = 0, start;
	unsigned long d;

	if (n == 1 && v[0] == '*')
		return 0;
	while (i < n) {
		start = i;
		d = 0;
		while (i < n && v[i] >= '0' && v[i] <= '9' && i - start < 6)
			d = d * 10 + (unsigned long)(v[i++] - '0');
		if (i == start || d > 0xffff || (i < n && v[i] != ',') ||
		    r->ndoms == POLICY_DOMAINS_MAX)
			return -1;
		r->doms[r->ndoms++] = (uint32_t)d;
		if (i < n && ++i == n)
			return -1; /* a trailing comma */
	}
	return r->ndoms > 0 ? 0 : -1;
}

static int
parse_ops(struct audit_rule *r, const char *v, size_t n, const char **bad,
	  size_t *badlen)
{
	size_t i = 0, start;
	int t;

	if (n == 1 && v[0] == '*')
		return 0;
	r->ops = 0;
	while (i <= n) {
		start = i;
		while (i < n && v[i] != ',')
			i++;
		if ((t = audit_type_by_name(v + start, i - start)) == -1) {
			*bad = v + start;
			*badlen = i - start;
			return -1;
		}
		r->ops |= 1u << t;
		if (i == n)
			break;
		i++;
	}
	return 0;
}

/* Prefixes are plain paths or special watch names: nothing to escape. */
static int
parse_prefix(struct audit_rule *r, const char *v, size_t n)
{
	size_t i;

	if (n == 0 || (v[0] != '/' && v[0] != '@') || n > 3072)
		return -1;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("/_@-.", v[i]))
			return -1;
	/* "/a/" means "/a"; "/" stays. */
	while (n > 1 && v[n - 1] == '/')
		n--;
	if ((r->prefix = strndup(v, n)) == NULL)
		return -1;
	r->prefixlen = n;
	return 0;
}

static int
parse_line(struct audit_rule *r, const char *s, size_t len, const char *name,
	   unsigned int line, char *err, size_t errsz)
{
	const char *w, *eq, *bad = NULL;
	size_t i = 0, n, badlen = 0;
	int first = 1, seen_dom = 0, seen_op = 0, seen_path = 0;

	memset(r, 0, sizeof(*r));
	r->ops = ~0u;
	for (;;) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i == len || s[i] == '#')
			break;
		w = s + i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			i++;
		n = (size_t)(s + i - w);
		if (first) {
			first = 0;
			if (n == 3 && memcmp(w, "log", 3) == 0)
				r->action = AUDIT_LOG;
			else if (n == 10 && memcmp(w, "log-values", 10) == 0)
				r->action = AUDIT_LOG_VALUES;
			else if (n == 4 && memcmp(w, "skip", 4) == 0)
				r->action = AUDIT_SKIP;
			else {
				perr(err, errsz, name, line,
				     "unknown action \"%.*s\" (want log, "
				     "log-values or skip)",
				     (int)(n > 64 ? 64 : n), w);
				return -1;
			}
			continue;
		}
		if ((eq = memchr(w, '=', n)) == NULL) {
			perr(err, errsz, name, line,
			     "\"%.*s\" is not domain=, op= or path=",
			     (int)(n > 64 ? 64 : n), w);
			free(r->prefix);
			return -1;
		}
		if (eq - w == 6 && memcmp(w, "domain", 6) == 0 && !seen_dom++) {
			if (parse_domains(r, eq + 1, n - 7) == 0)
				continue;
			perr(err, errsz, name, line,
			     "domain= wants * or domain ids (0-65535) "
			     "separated by commas, at most %d",
			     POLICY_DOMAINS_MAX);
		} else if (eq - w == 2 && memcmp(w, "op", 2) == 0 &&
			   !seen_op++) {
			if (parse_ops(r, eq + 1, n - 3, &bad, &badlen) == 0)
				continue;
			perr(err, errsz, name, line,
			     "op=: unknown request type \"%.*s\"",
			     (int)(badlen > 64 ? 64 : badlen), bad);
		} else if (eq - w == 4 && memcmp(w, "path", 4) == 0 &&
			   !seen_path++) {
			if (parse_prefix(r, eq + 1, n - 5) == 0)
				continue;
			perr(err, errsz, name, line,
			     "path= wants a path starting with / or @ "
			     "(letters, digits, /_@-. only)");
		} else
			perr(err, errsz, name, line,
			     "unknown or repeated key \"%.*s\"", (int)(eq - w),
			     w);
		free(r->prefix);
		return -1;
	}
	return first ? 0 : 1;
}

struct audit_policy *
audit_policy_parse(const char *text, size_t len, const char *name, char *err,
		   size_t errsz)
{
	struct audit_policy *p;
	struct audit_rule r;
	const char *nl;
	size_t off = 0, n, cap = 0;
	unsigned int line = 0;
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errsz, "%s: out of memory", name);
		return NULL;
	}
	while (off < len) {
		line++;
		nl = memchr(text + off, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		if (n > POLICY_LINE_MAX || memchr(text + off, '\0', n)) {
			perr(err, errsz, name, line,
			     "line too long or not text");
			goto fail;
		}
		rc = parse_line(&r, text + off, n, name, line, err, errsz);
		off += n + (nl != NULL);
		if (rc == -1)
			goto fail;
		if (rc == 0)
			continue;
		if (p->nrules == POLICY_RULES_MAX) {
			free(r.prefix);
			perr(err, errsz, name, line, "more than %d rules",
			     POLICY_RULES_MAX);
			goto fail;
		}
		if (grow_array(&p->rules, &cap, p->nrules + 1,
			       sizeof(*p->rules), 16) == -1) {
			free(r.prefix);
			perr(err, errsz, name, line, "out of memory");
			goto fail;
		}
		p->rules[p->nrules++] = r;
	}
	return p;
fail:
	audit_policy_free(p);
	return NULL;
}

/*
 * Whether a path (a..., then b...) lies under prefix, on whole components:
 * "/a" covers "/a" and "/a/b", not "/ab".
 */
static int
under(const char *prefix, size_t plen, const uint8_t *a, size_t alen,
      const uint8_t *b, size_t blen)
{
	size_t i;
	uint8_t c;

	if (plen == 1 && prefix[0] == '/')
		return alen + blen > 0 && (alen ? a[0] : b[0]) == '/';
	if (alen + blen < plen)
		return 0;
	for (i = 0; i < plen; i++) {
		c = i < alen ? a[i] : b[i - alen];
		if (c != (uint8_t)prefix[i])
			return 0;
	}
	if (alen + blen == plen)
		return 1;
	c = plen < alen ? a[plen] : b[plen - alen];
	return c == '/';
}

enum audit_action
audit_policy_match(const struct audit_policy *p, uint32_t domid, uint32_t type,
		   const uint8_t *path, size_t pathlen)
{
	const struct audit_rule *r;
	char home[32];
	size_t i, j, hlen = 0;

	/* A guest's relative path is under its home. */
	if (path != NULL && pathlen > 0 && path[0] != '/' && path[0] != '@')
		hlen = (size_t)snprintf(home, sizeof(home), "/local/domain/%u/",
					domid);
	for (i = 0; i < p->nrules; i++) {
		r = &p->rules[i];
		if (type < 32 ? !(r->ops & (1u << type)) : r->ops != ~0u)
			continue;
		if (r->ndoms > 0) {
			for (j = 0; j < r->ndoms && r->doms[j] != domid; j++)
				;
			if (j == r->ndoms)
				continue;
		}
		if (r->prefix != NULL &&
		    (path == NULL ||
		     !under(r->prefix, r->prefixlen, (const uint8_t *)home,
			    hlen, path, pathlen)))
			continue;
		return r->action;
	}
	return AUDIT_LOG;
}
