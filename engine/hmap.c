// SPDX-License-Identifier: GPL-2.0-only
/* Open-addressing hash map with linear probing and tombstones. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hmap.h"

static char tomb;
#define HMAP_TOMB (&tomb)

/*
 * Keys are paths and tokens that guests choose. With an unkeyed hash a
 * guest could pick watch paths whose hashes share their low bits and make
 * one long probe sequence that every lookup through that index node walks.
 * SipHash (Aumasson and Bernstein) under a secret key drawn at start makes
 * such keys impossible to find without the key. 1-3 rounds: these are
 * table lookups, not MACs.
 */
static uint64_t sip_k0, sip_k1;

void
hmap_set_key(const uint8_t key[16])
{
	memcpy(&sip_k0, key, 8);
	memcpy(&sip_k1, key + 8, 8);
}

#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif

/*
 * xenstored starts early in a dom0's boot, maybe before the kernel's random
 * pool is ready, and must not wait for it: a key that nobody outside can
 * read is enough against chosen collisions, so the pool's not-yet-ready
 * output will do (GRND_INSECURE, Linux 5.6), and only a kernel without that
 * waits.
 */
int
hmap_key_random(void)
{
	uint8_t key[16];
	ssize_t n = getrandom(key, sizeof(key), GRND_NONBLOCK);

	if (n == -1 && errno == EAGAIN)
		n = getrandom(key, sizeof(key), GRND_INSECURE);
	if (n == -1 && errno == EINVAL)
		n = getrandom(key, sizeof(key), 0);
	if (n != (ssize_t)sizeof(key))
		return -1;
	hmap_set_key(key);
	return 0;
}

static inline uint64_t
rotl(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIP_ROUND(v0, v1, v2, v3)                                              \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = rotl(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = rotl(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = rotl(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = rotl(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = rotl(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = rotl(v2, 32);                                             \
	} while (0)

static inline uint64_t
le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

uint64_t
hmap_siphash(uint64_t k0, uint64_t k1, unsigned int c, unsigned int d,
	     const void *key, size_t len)
{
	const unsigned char *p = key, *end = p + (len & ~(size_t)7);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, b = (uint64_t)len << 56;
	unsigned int i;

	for (; p != end; p += 8) {
		m = le64(p);
		v3 ^= m;
		for (i = 0; i < c; i++)
			SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (i = 0; i < (len & 7); i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	for (i = 0; i < c; i++)
		SIP_ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (i = 0; i < d; i++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
hmap_hash(const void *key, size_t len)
{
	return hmap_siphash(sip_k0, sip_k1, 1, 3, key, len);
}

static struct hmap_ent *
find(const struct hmap *m, const void *key, size_t len, uint64_t h)
{
	size_t i, mask;
	struct hmap_ent *e;

	if (m->cap == 0)
		return NULL;
	mask = m->cap - 1;
	for (i = h & mask;; i = (i + 1) & mask) {
		e = &m->ent[i];
		if (e->key == NULL)
			return NULL;
		if (e->key != HMAP_TOMB && e->hash == h && e->klen == len &&
		    memcmp(e->key, key, len) == 0)
			return e;
	}
}

void *
hmap_get_h(const struct hmap *m, const void *key, size_t len, uint64_t h)
{
	struct hmap_ent *e = find(m, key, len, h);

	return e ? e->val : NULL;
}

void *
hmap_get(const struct hmap *m, const void *key, size_t len)
{
	return hmap_get_h(m, key, len, hmap_hash(key, len));
}

static int
grow(struct hmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : m->first_cap ? m->first_cap : 16;
	size_t i, j;
	struct hmap_ent *ne, *old = m->ent;

	/* Rehash in place of growing when tombstones are most of the fill. */
	if (m->cap && m->used * 4 < m->cap)
		ncap = m->cap;
	ne = calloc(ncap, sizeof(*ne));
	if (ne == NULL)
		return -1;
	for (i = 0; i < m->cap; i++) {
		if (old[i].key == NULL || old[i].key == HMAP_TOMB)
			continue;
		for (j = old[i].hash & (ncap - 1); ne[j].key;
		     j = (j + 1) & (ncap - 1))
			;
		ne[j] = old[i];
	}
	free(old);
	m->ent = ne;
	m->cap = ncap;
	m->fill = m->used;
	return 0;
}

int
hmap_put(struct hmap *m, const void *key, size_t len, void *val)
{
	return hmap_put_h(m, key, len, val, hmap_hash(key, len));
}

int
hmap_put_h(struct hmap *m, const void *key, size_t len, void *val, uint64_t h)
{
	struct hmap_ent *e = find(m, key, len, h);
	size_t i;
	char *k;

	if (e) {
		e->val = val;
		return 0;
	}
	if ((m->fill + 1) * 4 > m->cap * 3 && grow(m) == -1)
		return -1;
	if (m->borrow) {
		k = (char *)key;
	} else {
		if ((k = malloc(len + 1)) == NULL)
			return -1;
		memcpy(k, key, len);
		k[len] = '\0';
	}
	for (i = h & (m->cap - 1);
	     m->ent[i].key != NULL && m->ent[i].key != HMAP_TOMB;
	     i = (i + 1) & (m->cap - 1))
		;
	if (m->ent[i].key == NULL)
		m->fill++;
	m->ent[i] = (struct hmap_ent){k, len, h, val};
	m->used++;
	return 0;
}

void *
hmap_del(struct hmap *m, const void *key, size_t len)
{
	struct hmap_ent *e = find(m, key, len, hmap_hash(key, len));
	void *v;

	if (e == NULL)
		return NULL;
	v = e->val;
	if (!m->borrow)
		free(e->key);
	e->key = HMAP_TOMB;
	e->val = NULL;
	m->used--;
	return v;
}

void
hmap_free(struct hmap *m)
{
	size_t i;

	for (i = 0; i < m->cap && !m->borrow; i++)
		if (m->ent[i].key && m->ent[i].key != HMAP_TOMB)
			free(m->ent[i].key);
	free(m->ent);
	memset(m, 0, sizeof(*m));
}

int
hmap_next(const struct hmap *m, size_t *pos, const char **key, size_t *klen,
	  void **val)
{
	for (; *pos < m->cap; (*pos)++) {
		const struct hmap_ent *e = &m->ent[*pos];

		if (e->key == NULL || e->key == HMAP_TOMB)
			continue;
		if (key)
			*key = e->key;
		if (klen)
			*klen = e->klen;
		if (val)
			*val = e->val;
		(*pos)++;
		return 1;
	}
	return 0;
}
