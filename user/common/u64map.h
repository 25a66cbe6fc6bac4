/* SPDX-License-Identifier: MIT */
/*
 * A map from a non-zero uint64_t key to a pointer: the one hash map
 * (common/hmap.h) with one-word keys (k2 = 0), under the names its callers
 * know. struct u64map is struct hmap: `len` entries, zero-initialized empty.
 */
#ifndef LT_U64MAP_H
#define LT_U64MAP_H

#include "common/hmap.h"

#define u64map hmap

static inline void *u64map_get(const struct u64map *m, uint64_t key)
{
	return hmap_get(m, key, 0);
}

/* insert or replace; returns 0 (out of memory: message and exit 1) */
static inline int u64map_put(struct u64map *m, uint64_t key, void *val)
{
	struct hent *e = hmap_slot(m, key, 0);

	if (e->k1)
		e->v = val;
	else
		hmap_put(m, e, key, 0, val);
	return 0;
}

/* remove and return the value (NULL if absent) */
static inline void *u64map_del(struct u64map *m, uint64_t key)
{
	return hmap_del(m, key, 0);
}

static inline void u64map_free(struct u64map *m)
{
	hmap_free(m);
}

/* iterate: for (size_t i = 0; u64map_next(m, &i, &k, &v);) */
static inline int u64map_next(const struct u64map *m, size_t *i, uint64_t *key, void **val)
{
	struct hent *e = hmap_next(m, i);

	if (!e)
		return 0;
	*key = e->k1;
	*val = e->v;
	return 1;
}

#endif
