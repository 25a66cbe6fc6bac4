/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include "common/u64map.h"

#define DELETED UINT64_MAX

static size_t slot(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k & (cap - 1);
}

void *u64map_get(const struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return m->vals[i];
		if (m->keys[i] == 0)
			return NULL;
	}
}

static int grow(struct u64map *m)
{
	struct u64map n = { 0 };

	n.cap = m->cap ? m->cap * 2 : 64;
	if (m->len * 4 < m->cap)	/* mostly tombstones: rehash at the same size */
		n.cap = m->cap;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] && m->keys[i] != DELETED)
			u64map_put(&n, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

int u64map_put(struct u64map *m, uint64_t key, void *val)
{
	size_t i, tomb = SIZE_MAX;

	if ((m->used + 1) * 4 >= m->cap * 3 && grow(m))
		return -1;
	for (i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
		if (m->keys[i] == DELETED && tomb == SIZE_MAX)
			tomb = i;
		if (m->keys[i] == 0)
			break;
	}
	if (tomb != SIZE_MAX)
		i = tomb;
	else
		m->used++;
	m->keys[i] = key;
	m->vals[i] = val;
	m->len++;
	return 0;
}

void *u64map_del(struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			void *v = m->vals[i];

			m->keys[i] = DELETED;
			m->vals[i] = NULL;
			m->len--;
			return v;
		}
		if (m->keys[i] == 0)
			return NULL;
	}
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct u64map){ 0 };
}

int u64map_next(const struct u64map *m, size_t *i, uint64_t *key, void **val)
{
	for (; *i < m->cap; (*i)++) {
		if (m->keys[*i] && m->keys[*i] != DELETED) {
			*key = m->keys[*i];
			*val = m->vals[*i];
			(*i)++;
			return 1;
		}
	}
	return 0;
}
