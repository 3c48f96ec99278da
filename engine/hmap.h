/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small open-addressing hash map from byte-string keys to pointers, used
 * for transaction read sets, connections and domains. Keys are copied,
 * unless the map borrows them: then the caller keeps each key, ending in a
 * NUL byte, for as long as the map holds it.
 */
#ifndef HMAP_H
#define HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_ent {
	char *key; /* NULL: empty; HMAP_TOMB: deleted */
	size_t klen;
	uint64_t hash;
	void *val;
};

struct hmap {
	struct hmap_ent *ent;
	size_t cap;       /* power of two or 0 */
	size_t used;      /* live entries */
	size_t fill;      /* live + tombstones */
	bool borrow;      /* keys are the caller's: not copied, not freed */
	size_t first_cap; /* a power of two: the first table's size (0: 16) */
};

/* The secret key of hmap_hash(); set before any map holds a key. Until
 * then it is all zeros (tests). */
void hmap_set_key(const uint8_t key[16]);
/* A key from the kernel's random pool, set; 0, or -1 with errno. */
int hmap_key_random(void);
uint64_t hmap_hash(const void *key, size_t len);
/* SipHash-c-d of key under (k0, k1), hmap_hash()'s function. */
uint64_t hmap_siphash(uint64_t k0, uint64_t k1, unsigned int c, unsigned int d,
		      const void *key, size_t len);
void *hmap_get(const struct hmap *m, const void *key, size_t len);
/* Inserts or replaces; returns 0, or -1 when out of memory. */
int hmap_put(struct hmap *m, const void *key, size_t len, void *val);
/* Removes the key and returns its value (NULL if absent). */
void *hmap_del(struct hmap *m, const void *key, size_t len);
void hmap_free(struct hmap *m);
/* The same with the key's hmap_hash() at hand: a miss then an insert
 * hashes it once. */
void *hmap_get_h(const struct hmap *m, const void *key, size_t len, uint64_t h);
int hmap_put_h(struct hmap *m, const void *key, size_t len, void *val,
	       uint64_t h);

/* Iteration: for (i = 0; hmap_next(m, &i, &k, &kl, &v);) */
int hmap_next(const struct hmap *m, size_t *pos, const char **key, size_t *klen,
	      void **val);

#endif
