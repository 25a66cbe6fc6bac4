/* SPDX-License-Identifier: MIT */
/* Open-addressing hash map from a non-zero uint64_t key to a pointer. */
#ifndef LT_U64MAP_H
#define LT_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;		/* 0 = empty, UINT64_MAX = deleted */
	void **vals;
	size_t cap, len, used;
};

void *u64map_get(const struct u64map *m, uint64_t key);
/* insert or replace; returns 0, or -1 when out of memory */
int u64map_put(struct u64map *m, uint64_t key, void *val);
/* remove and return the value (NULL if absent) */
void *u64map_del(struct u64map *m, uint64_t key);
void u64map_free(struct u64map *m);
/* iterate: for (size_t i = 0; u64map_next(m, &i, &k, &v);) */
int u64map_next(const struct u64map *m, size_t *i, uint64_t *key, void **val);

#endif
