/* SPDX-License-Identifier: MIT */
/*
 * The one hash map of leaktrace: open addressing with linear probing, from a
 * pair of 64-bit words (usually interned pointers; k2 = 0 for one-word keys,
 * see common/u64map.h) to a pointer. k1 must not be 0 (0 marks an empty
 * slot). Single-threaded.
 *
 * Why home-made rather than uthash (uthash-dev) or stb_ds (libstb-dev): the
 * analysis looks up and inserts millions of (key, value) pairs per trace;
 * here the entry is three words in one flat array and a lookup that misses
 * tells where to insert (hmap_slot), without hashing twice, without a
 * per-entry allocation or the handle uthash keeps in each entry. Deletion
 * shifts the following entries back, so there are no tombstones and the
 * table never needs a rehash to clean up. And `make offline` needs only a
 * C compiler, zlib and libc: no other -dev package.
 */
#ifndef LT_HMAP_H
#define LT_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hent {
	uint64_t k1, k2;
	void *v;
};

struct hmap {
	struct hent *e;
	size_t cap;		/* a power of two, or 0 before the first insert */
	size_t len;		/* entries */
};

static inline uint64_t hmap_hash(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h;
}

/* the slot for (k1,k2): found (->k1 != 0) or empty where to insert; makes
 * room for one more entry first (out of memory: message, exit 1) */
struct hent *hmap_slot(struct hmap *m, uint64_t k1, uint64_t k2);
/* value for (k1,k2) or NULL */
void *hmap_get(const struct hmap *m, uint64_t k1, uint64_t k2);
/* insert into a slot returned empty by hmap_slot, before any other change */
void hmap_put(struct hmap *m, struct hent *slot, uint64_t k1, uint64_t k2, void *v);
/* remove (k1,k2); its value, or NULL when absent */
void *hmap_del(struct hmap *m, uint64_t k1, uint64_t k2);
void hmap_free(struct hmap *m);
/* iteration: for (i = 0; i < m->cap; i++) if (m->e[i].k1) ..., or
 * hmap_next; no hmap_slot or hmap_del while iterating */
static inline struct hent *hmap_next(const struct hmap *m, size_t *i)
{
	for (; *i < m->cap; (*i)++)
		if (m->e[*i].k1)
			return &m->e[(*i)++];
	return NULL;
}

#endif
