/* SPDX-License-Identifier: MIT */
/* Open-addressing hash map from a pair of 64-bit words (usually interned
 * pointers) to a pointer. k1 must not be 0. Single-threaded. */
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
	size_t cap, n;
};

static inline uint64_t hmap_hash(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h;
}

/* the slot for (k1,k2): found (->k1 != 0) or empty where to insert */
struct hent *hmap_slot(struct hmap *m, uint64_t k1, uint64_t k2);
/* value for (k1,k2) or NULL */
void *hmap_get(struct hmap *m, uint64_t k1, uint64_t k2);
/* insert into a slot returned empty by hmap_slot (may grow the table) */
void hmap_put(struct hmap *m, struct hent *slot, uint64_t k1, uint64_t k2, void *v);
void hmap_free(struct hmap *m);
/* iteration: for (i = 0; i < m->cap; i++) if (m->e[i].k1) ... */

#endif
