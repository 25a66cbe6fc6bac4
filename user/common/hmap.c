// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include "common/err.h"
#include "common/hmap.h"

static void grow(struct hmap *m)
{
	size_t nc = m->cap ? m->cap * 2 : 256;
	struct hent *ne = calloc(nc, sizeof(*ne));
	if (!ne) {
		lt_err("out of memory (hash table of %zu entries)", nc);
		exit(1);
	}
	for (size_t i = 0; i < m->cap; i++) {
		struct hent *o = &m->e[i];
		if (!o->k1)
			continue;
		size_t j = hmap_hash(o->k1, o->k2) & (nc - 1);
		while (ne[j].k1)
			j = (j + 1) & (nc - 1);
		ne[j] = *o;
	}
	free(m->e);
	m->e = ne;
	m->cap = nc;
}

struct hent *hmap_slot(struct hmap *m, uint64_t k1, uint64_t k2)
{
	if (!m->cap || (m->len + 1) * 4 > m->cap * 3)
		grow(m);
	size_t j = hmap_hash(k1, k2) & (m->cap - 1);
	for (;;) {
		struct hent *e = &m->e[j];
		if (!e->k1 || (e->k1 == k1 && e->k2 == k2))
			return e;
		j = (j + 1) & (m->cap - 1);
	}
}

void *hmap_get(const struct hmap *m, uint64_t k1, uint64_t k2)
{
	if (!m->cap)
		return NULL;
	size_t j = hmap_hash(k1, k2) & (m->cap - 1);
	for (;;) {
		const struct hent *e = &m->e[j];
		if (!e->k1)
			return NULL;
		if (e->k1 == k1 && e->k2 == k2)
			return e->v;
		j = (j + 1) & (m->cap - 1);
	}
}

void hmap_put(struct hmap *m, struct hent *slot, uint64_t k1, uint64_t k2, void *v)
{
	/* hmap_slot already made room for one more */
	slot->k1 = k1;
	slot->k2 = k2;
	slot->v = v;
	m->len++;
}

void *hmap_del(struct hmap *m, uint64_t k1, uint64_t k2)
{
	size_t mask = m->cap - 1, i, j;
	void *v;

	if (!m->cap)
		return NULL;
	for (i = hmap_hash(k1, k2) & mask;; i = (i + 1) & mask) {
		if (!m->e[i].k1)
			return NULL;
		if (m->e[i].k1 == k1 && m->e[i].k2 == k2)
			break;
	}
	v = m->e[i].v;
	/* Knuth's algorithm R: move back each following entry of the run
	 * whose home slot h is not cyclically in (i, j], so that every entry
	 * stays reachable from its home without tombstones */
	for (j = (i + 1) & mask; m->e[j].k1; j = (j + 1) & mask) {
		size_t h = hmap_hash(m->e[j].k1, m->e[j].k2) & mask;

		if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) {
			m->e[i] = m->e[j];
			i = j;
		}
	}
	m->e[i] = (struct hent){ 0 };
	m->len--;
	return v;
}

void hmap_free(struct hmap *m)
{
	free(m->e);
	*m = (struct hmap){ 0 };
}
