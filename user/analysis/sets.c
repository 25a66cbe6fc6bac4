// SPDX-License-Identifier: MIT
/* D_E, D_E', D_EE', D_IF by counting (formulas in sets.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/hmap.h"
#include "analysis/sets.h"

struct relem {		/* returns element (key, "type:value") */
	const void *key;
	const char *val;
	uint32_t cnt[2];
	uint64_t stamp;
	const struct lt_site *path;
	bool path_adv;
};

struct celem {		/* calls element (key, count > 0) */
	const void *key;
	int64_t c;
	uint32_t cnt[2];
	const struct lt_site *path;
	bool path_adv;
};

struct ckey {		/* calls key: executions where it occurs */
	const void *key;
	uint32_t present[2];
	const struct lt_site *path;
	bool path_adv;
};

struct ival {
	int64_t lo, hi;
};

struct tkey {		/* time key */
	const void *key;
	uint32_t present[2];
	int64_t min[2], max[2];
	struct ival *iv;	/* A's [a-T, a+T], merged and sorted up to nsorted */
	uint32_t niv, ivcap, nsorted;
	bool ok;		/* no b of E' so far within T of an a of E */
	const struct lt_site *path;
	bool path_adv;
	int64_t *vals[2];	/* --auc only */
	size_t nvals[2], capvals[2];
};

struct lt_sets {
	struct lt_sets_opts o;
	struct lt_observer *obs;
	struct lt_arena arena;
	struct hmap rmap, cmap, ckmap, tmap;
	uint32_t count[2];
	uint64_t seq;		/* execution sequence for returns dedup */
	int side;
	bool switched;
};

struct lt_sets *lt_sets_new(const struct lt_sets_opts *o)
{
	struct lt_sets *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->o = *o;
	if (s->o.threshold_ns < 0)
		s->o.threshold_ns = 0;
	s->obs = lt_observer_new(o->keykind);
	return s;
}

size_t lt_sets_count(const struct lt_sets *s, int side)
{
	return s->count[side];
}

static int ival_cmp(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void iv_compact(struct tkey *k)
{
	if (k->niv < 2) {
		k->nsorted = k->niv;
		return;
	}
	qsort(k->iv, k->niv, sizeof(*k->iv), ival_cmp);
	uint32_t w = 0;
	for (uint32_t i = 1; i < k->niv; i++) {
		if (k->iv[i].lo <= k->iv[w].hi) {
			if (k->iv[i].hi > k->iv[w].hi)
				k->iv[w].hi = k->iv[i].hi;
		} else {
			k->iv[++w] = k->iv[i];
		}
	}
	k->niv = k->nsorted = w + 1;
}

static void iv_add(struct tkey *k, int64_t a, int64_t T)
{
	if (k->niv == k->ivcap) {
		k->ivcap = k->ivcap ? k->ivcap * 2 : 4;
		k->iv = lt_xrealloc(k->iv, k->ivcap * sizeof(*k->iv));
	}
	k->iv[k->niv++] = (struct ival){ lt_sat_add(a, -T), lt_sat_add(a, T) };
	if (k->niv >= 2 * k->nsorted + 16)
		iv_compact(k);
}

/* b within T of some a (intervals must be compacted) */
static bool iv_inside(const struct tkey *k, int64_t b)
{
	uint32_t lo = 0, hi = k->niv;	/* first interval with lo > b */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (k->iv[mid].lo <= b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && b <= k->iv[lo - 1].hi;
}

static void push_val(struct tkey *k, int side, int64_t v)
{
	if (k->nvals[side] == k->capvals[side]) {
		k->capvals[side] = k->capvals[side] ? k->capvals[side] * 2 : 16;
		k->vals[side] = lt_xrealloc(k->vals[side], k->capvals[side] * sizeof(int64_t));
	}
	k->vals[side][k->nvals[side]++] = v;
}

static struct tkey *tkey_get(struct lt_sets *s, const void *key)
{
	struct hent *h = hmap_slot(&s->tmap, (uintptr_t)key, 0);
	if (h->k1)
		return h->v;
	struct tkey *k = lt_arena_alloc(&s->arena, sizeof(*k));
	k->key = key;
	k->ok = true;
	if (s->switched && s->count[0])	/* first seen in E': A = {0} */
		iv_add(k, 0, s->o.threshold_ns);
	hmap_put(&s->tmap, h, (uintptr_t)key, 0, k);
	return k;
}

/* record the example path: the first one in E' wins over any from E */
#define SET_PATH(s, rec, ex) do { \
	if (!(rec)->path_adv && ((s)->side == 1 || !(rec)->path)) { \
		(rec)->path = lt_observer_site((s)->obs, (ex)); \
		(rec)->path_adv = (s)->side == 1; \
	} } while (0)

static void on_elem(void *ctx, int obs, const void *key, const char *val, int64_t num, const struct lt_node *ex)
{
	struct lt_sets *s = ctx;
	int side = s->side;
	if (obs == LT_OBS_RETURNS) {
		struct hent *h = hmap_slot(&s->rmap, (uintptr_t)key, (uintptr_t)val);
		struct relem *r;
		if (h->k1) {
			r = h->v;
		} else {
			r = lt_arena_alloc(&s->arena, sizeof(*r));
			r->key = key;
			r->val = val;
			hmap_put(&s->rmap, h, (uintptr_t)key, (uintptr_t)val, r);
		}
		if (r->stamp == s->seq)
			return;	/* already counted for this execution */
		r->stamp = s->seq;
		r->cnt[side]++;
		SET_PATH(s, r, ex);
	} else if (obs == LT_OBS_CALLS) {
		struct hent *h = hmap_slot(&s->ckmap, (uintptr_t)key, 0);
		struct ckey *k;
		if (h->k1) {
			k = h->v;
		} else {
			k = lt_arena_alloc(&s->arena, sizeof(*k));
			k->key = key;
			hmap_put(&s->ckmap, h, (uintptr_t)key, 0, k);
		}
		k->present[side]++;
		SET_PATH(s, k, ex);
		h = hmap_slot(&s->cmap, (uintptr_t)key, (uint64_t)num);
		struct celem *c;
		if (h->k1) {
			c = h->v;
		} else {
			c = lt_arena_alloc(&s->arena, sizeof(*c));
			c->key = key;
			c->c = num;
			hmap_put(&s->cmap, h, (uintptr_t)key, (uint64_t)num, c);
		}
		c->cnt[side]++;
		SET_PATH(s, c, ex);
	} else {
		struct tkey *k = tkey_get(s, key);
		if (k->present[side]) {
			if (num < k->min[side])
				k->min[side] = num;
			if (num > k->max[side])
				k->max[side] = num;
		} else {
			k->min[side] = k->max[side] = num;
		}
		k->present[side]++;
		SET_PATH(s, k, ex);
		if (side == 0)
			iv_add(k, num, s->o.threshold_ns);
		else if (k->ok && s->count[0] && iv_inside(k, num))
			k->ok = false;
		if (s->o.auc)
			push_val(k, side, num);
	}
}

/* E is complete: A gets 0 for every execution that lacks the key */
static void switch_to_adv(struct lt_sets *s)
{
	for (size_t i = 0; i < s->tmap.cap; i++) {
		if (!s->tmap.e[i].k1)
			continue;
		struct tkey *k = s->tmap.e[i].v;
		if (k->present[0] < s->count[0])
			iv_add(k, 0, s->o.threshold_ns);
		iv_compact(k);
	}
	s->switched = true;
}

void lt_sets_add(struct lt_sets *s, const struct lt_exec *e, int side)
{
	if (side == 1 && !s->switched)
		switch_to_adv(s);
	s->side = side;
	s->seq++;
	s->count[side]++;
	lt_observe(s->obs, e, s->o.obs_mask, on_elem, s);
}

/* ---- summaries ------------------------------------------------------------- */
void lt_sets_add_count(struct lt_sets *s, int side, uint32_t executions)
{
	if (side == 1 && !s->switched)
		switch_to_adv(s);
	s->side = side;
	s->count[side] += executions;
}

static void iv_add_range(struct tkey *k, int64_t lo, int64_t hi)
{
	if (k->niv == k->ivcap) {
		k->ivcap = k->ivcap ? k->ivcap * 2 : 4;
		k->iv = lt_xrealloc(k->iv, k->ivcap * sizeof(*k->iv));
	}
	k->iv[k->niv++] = (struct ival){ lo, hi };
	if (k->niv >= 2 * k->nsorted + 16)
		iv_compact(k);
}

/* some b of a chain [lo, hi] (neighbours <= T apart) within T of an a: the
 * merged A intervals are >= 2T long, so one that meets [lo, hi] holds a b */
static bool iv_meets(const struct tkey *k, int64_t lo, int64_t hi)
{
	uint32_t l = 0, h = k->niv;	/* first interval with hi >= lo */
	while (l < h) {
		uint32_t mid = (l + h) / 2;
		if (k->iv[mid].hi < lo)
			l = mid + 1;
		else
			h = mid;
	}
	return l < k->niv && k->iv[l].lo <= hi;
}

#define SET_PATH_IN(s, rec, p) do { \
	if ((p) && !(rec)->path_adv && ((s)->side == 1 || !(rec)->path)) { \
		(rec)->path = (p); \
		(rec)->path_adv = (s)->side == 1; \
	} } while (0)

void lt_sets_add_elem(struct lt_sets *s, int side, const struct lt_sets_elem_in *in)
{
	s->side = side;
	if (!in->cnt)
		return;
	if (in->obs == LT_OBS_RETURNS) {
		struct hent *h = hmap_slot(&s->rmap, (uintptr_t)in->key, (uintptr_t)in->val);
		struct relem *r = h->k1 ? h->v : NULL;
		if (!r) {
			r = lt_arena_alloc(&s->arena, sizeof(*r));
			r->key = in->key;
			r->val = in->val;
			hmap_put(&s->rmap, h, (uintptr_t)in->key, (uintptr_t)in->val, r);
		}
		r->cnt[side] += in->cnt;
		SET_PATH_IN(s, r, in->path);
	} else if (in->obs == LT_OBS_CALLS && in->key_present) {
		struct hent *h = hmap_slot(&s->ckmap, (uintptr_t)in->key, 0);
		struct ckey *k = h->k1 ? h->v : NULL;
		if (!k) {
			k = lt_arena_alloc(&s->arena, sizeof(*k));
			k->key = in->key;
			hmap_put(&s->ckmap, h, (uintptr_t)in->key, 0, k);
		}
		k->present[side] += in->cnt;
		SET_PATH_IN(s, k, in->path);
	} else if (in->obs == LT_OBS_CALLS) {
		struct hent *h = hmap_slot(&s->cmap, (uintptr_t)in->key, (uint64_t)in->num);
		struct celem *c = h->k1 ? h->v : NULL;
		if (!c) {
			c = lt_arena_alloc(&s->arena, sizeof(*c));
			c->key = in->key;
			c->c = in->num;
			hmap_put(&s->cmap, h, (uintptr_t)in->key, (uint64_t)in->num, c);
		}
		c->cnt[side] += in->cnt;
		SET_PATH_IN(s, c, in->path);
	} else {
		struct tkey *k = tkey_get(s, in->key);
		if (k->present[side]) {
			if (in->min < k->min[side])
				k->min[side] = in->min;
			if (in->max > k->max[side])
				k->max[side] = in->max;
		} else {
			k->min[side] = in->min;
			k->max[side] = in->max;
		}
		k->present[side] += in->cnt;
		SET_PATH_IN(s, k, in->path);
		int64_t T = s->o.threshold_ns;
		for (size_t i = 0; i < in->nspans; i++) {
			if (side == 0)	/* the chain's [a-T, a+T] cover exactly this */
				iv_add_range(k, lt_sat_add(in->spans[i][0], -T), lt_sat_add(in->spans[i][1], T));
			else if (k->ok && s->count[0] && iv_meets(k, in->spans[i][0], in->spans[i][1]))
				k->ok = false;
		}
	}
}

/* ---- results --------------------------------------------------------------- */
static void list_push(struct lt_elem_list *l, const struct lt_elem_out *e)
{
	if (!(l->n & (l->n + 1)) || !l->v)	/* grow at 0, 1, 3, 7, ... */
		l->v = lt_xrealloc(l->v, (l->n + 1) * 2 * sizeof(*l->v));
	l->v[l->n++] = *e;
}

static int elem_cmp(const void *a, const void *b)
{
	const struct lt_elem_out *x = a, *y = b;
	size_t lx = lt_intern_len(x->key), ly = lt_intern_len(y->key);
	int c = memcmp(x->key, y->key, lx < ly ? lx : ly);
	if (c || lx != ly)
		return c ? c : (lx < ly ? -1 : 1);
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	if (x->val && y->val) {
		lx = lt_intern_len(x->val);
		ly = lt_intern_len(y->val);
		c = memcmp(x->val, y->val, lx < ly ? lx : ly);
		if (c || lx != ly)
			return c ? c : (lx < ly ? -1 : 1);
	}
	return 0;
}

static void sort_list(struct lt_elem_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), elem_cmp);
}

/* one element with its counts N_E, N_E' (executions of each set holding it) */
static void classify(struct lt_sets *s, struct lt_obs_result *r, const struct lt_elem_out *e,
		     uint32_t N0, uint32_t N1)
{
	uint32_t n = s->count[0], m = s->count[1];
	bool inE = N0 > 0 && N0 < n, inE2 = N1 > 0 && N1 < m, inEE = N1 == m && N0 == 0;
	if (inE) {
		r->nD_E++;
		if (s->o.list_all)
			list_push(&r->D_E, e);
	}
	if (inE2) {
		r->nD_E2++;
		if (s->o.list_all)
			list_push(&r->D_E2, e);
	}
	if (inEE) {
		r->nD_EE2++;
		list_push(&r->D_EE2, e);
		if (!inE && !inE2) {
			r->nD_IF++;
			list_push(&r->D_IF, e);
		}
	}
	if (s->o.both_directions && N0 == n && N1 == 0 && !inE && !inE2)
		list_push(&r->reverse, e);
	if (s->o.min_support > 0 && m && n &&
	    (double)N1 >= s->o.min_support * m - 1e-9 && (double)N0 <= (1 - s->o.min_support) * n + 1e-9)
		list_push(&r->support, e);
}

static const char *num_text(int64_t v)
{
	char b[32];
	int len = snprintf(b, sizeof(b), "%lld", (long long)v);
	return lt_intern_n(b, (size_t)len);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Mann-Whitney AUC of B over A (absent = 0 included) */
static double auc(struct tkey *k, uint32_t n, uint32_t m)
{
	for (int side = 0; side < 2; side++) {
		uint32_t want = side ? m : n;
		while (k->nvals[side] < want)
			push_val(k, side, 0);
		qsort(k->vals[side], k->nvals[side], sizeof(int64_t), cmp_i64);
	}
	if (!n || !m)
		return 0.5;
	/* for each b: number of a < b and a == b */
	double sum = 0;
	size_t lo = 0, eq_end = 0;
	for (size_t j = 0; j < m; j++) {
		int64_t b = k->vals[1][j];
		while (lo < n && k->vals[0][lo] < b)
			lo++;
		if (eq_end < lo)
			eq_end = lo;
		while (eq_end < n && k->vals[0][eq_end] == b)
			eq_end++;
		sum += (double)lo + 0.5 * (double)(eq_end - lo);
	}
	return sum / ((double)n * (double)m);
}

void lt_sets_finish(struct lt_sets *s, struct lt_obs_result *res)
{
	uint32_t n = s->count[0], m = s->count[1];
	int kind = s->o.keykind;
	int64_t T = s->o.threshold_ns;
	if (!s->switched)
		switch_to_adv(s);
	memset(res, 0, sizeof(*res) * LT_OBS_N);

	struct lt_obs_result *r = &res[LT_OBS_RETURNS];
	for (size_t i = 0; i < s->rmap.cap; i++) {
		if (!s->rmap.e[i].k1)
			continue;
		struct relem *x = s->rmap.e[i].v;
		struct lt_elem_out e = { .key = lt_key_str(kind, x->key), .val = x->val, .path = x->path,
					 .cnt_E = x->cnt[0], .cnt_E2 = x->cnt[1] };
		classify(s, r, &e, x->cnt[0], x->cnt[1]);
	}

	r = &res[LT_OBS_CALLS];
	for (size_t i = 0; i < s->cmap.cap; i++) {
		if (!s->cmap.e[i].k1)
			continue;
		struct celem *x = s->cmap.e[i].v;
		struct lt_elem_out e = { .key = lt_key_str(kind, x->key), .val = num_text(x->c), .num = x->c,
					 .path = x->path, .cnt_E = x->cnt[0], .cnt_E2 = x->cnt[1] };
		classify(s, r, &e, x->cnt[0], x->cnt[1]);
	}
	for (size_t i = 0; i < s->ckmap.cap; i++) {	/* (k, 0): executions without k */
		if (!s->ckmap.e[i].k1)
			continue;
		struct ckey *x = s->ckmap.e[i].v;
		uint32_t z0 = n - x->present[0], z1 = m - x->present[1];
		struct lt_elem_out e = { .key = lt_key_str(kind, x->key), .val = num_text(0), .num = 0,
					 .path = x->path, .cnt_E = z0, .cnt_E2 = z1 };
		classify(s, r, &e, z0, z1);
	}

	r = &res[LT_OBS_TIME];
	for (size_t i = 0; i < s->tmap.cap; i++) {
		if (!s->tmap.e[i].k1)
			continue;
		struct tkey *x = s->tmap.e[i].v;
		int64_t mn[2], mx[2];
		for (int side = 0; side < 2; side++) {
			uint32_t tot = side ? m : n;
			if (!x->present[side]) {
				mn[side] = mx[side] = 0;
				continue;
			}
			mn[side] = x->min[side];
			mx[side] = x->max[side];
			if (x->present[side] < tot) {
				if (mn[side] > 0)
					mn[side] = 0;
				if (mx[side] < 0)
					mx[side] = 0;
			}
		}
		bool ok = x->ok && n && m;
		if (ok && x->present[1] < m && iv_inside(x, 0))
			ok = false;
		bool inE = mx[0] - mn[0] > T, inE2 = mx[1] - mn[1] > T;
		struct lt_elem_out e = { .key = lt_key_str(kind, x->key), .path = x->path, .cnt_E = x->present[0],
					 .cnt_E2 = x->present[1], .minA = mn[0], .maxA = mx[0], .minB = mn[1],
					 .maxB = mx[1] };
		if (s->o.auc)
			e.auc = auc(x, n, m);
		if (inE) {
			r->nD_E++;
			if (s->o.list_all)
				list_push(&r->D_E, &e);
		}
		if (inE2) {
			r->nD_E2++;
			if (s->o.list_all)
				list_push(&r->D_E2, &e);
		}
		if (ok) {
			r->nD_EE2++;
			list_push(&r->D_EE2, &e);
			if (!inE && !inE2) {
				r->nD_IF++;
				list_push(&r->D_IF, &e);
				if (s->o.both_directions)	/* |t1 - t2| is symmetric */
					list_push(&r->reverse, &e);
			}
		}
		if (s->o.auc)
			list_push(&r->auc, &e);
	}
	for (int o = 0; o < LT_OBS_N; o++) {
		sort_list(&res[o].D_E);
		sort_list(&res[o].D_E2);
		sort_list(&res[o].D_EE2);
		sort_list(&res[o].D_IF);
		sort_list(&res[o].support);
		sort_list(&res[o].reverse);
		sort_list(&res[o].auc);
	}
}

void lt_obs_result_free(struct lt_obs_result *r)
{
	for (int o = 0; o < LT_OBS_N; o++) {
		free(r[o].D_E.v);
		free(r[o].D_E2.v);
		free(r[o].D_EE2.v);
		free(r[o].D_IF.v);
		free(r[o].support.v);
		free(r[o].reverse.v);
		free(r[o].auc.v);
	}
	memset(r, 0, sizeof(*r) * LT_OBS_N);
}

void lt_sets_free(struct lt_sets *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->tmap.cap; i++) {
		if (!s->tmap.e[i].k1)
			continue;
		struct tkey *k = s->tmap.e[i].v;
		free(k->iv);
		free(k->vals[0]);
		free(k->vals[1]);
	}
	hmap_free(&s->rmap);
	hmap_free(&s->cmap);
	hmap_free(&s->ckmap);
	hmap_free(&s->tmap);
	lt_arena_free(&s->arena);
	lt_observer_free(s->obs);
	free(s);
}
