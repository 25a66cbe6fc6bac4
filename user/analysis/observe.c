// SPDX-License-Identifier: MIT
/* Observations returns/calls/time and their keys (FORMAT.md §4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/err.h"
#include "common/hmap.h"
#include "common/json.h"
#include "analysis/observe.h"

const char *const lt_obs_names[LT_OBS_N] = { "returns", "calls", "time" };
const char *const lt_key_names[3] = { "name", "qualname", "site" };

int lt_obs_parse(const char *s)
{
	for (int i = 0; i < LT_OBS_N; i++)
		if (!strcmp(s, lt_obs_names[i]))
			return i;
	return -1;
}

int lt_key_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, lt_key_names[i]))
			return i;
	return -1;
}

/* ---- sites ---------------------------------------------------------------- */
static struct hmap sites;	/* (parent ^ idx mix, fn) -> site; verified below */

const struct lt_site *lt_site_get(const struct lt_site *parent, const char *fn, uint32_t idx)
{
	/* key: (fn, parent*2^32-mix + idx); collisions are checked on the record */
	uint64_t k1 = (uint64_t)(uintptr_t)fn;
	uint64_t k2 = ((uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL) ^ idx;
	for (;;) {
		struct hent *h = hmap_slot(&sites, k1, k2);
		if (!h->k1) {
			struct lt_site *s = lt_xcalloc(1, sizeof(*s));
			s->parent = parent;
			s->fn = fn;
			s->idx = idx;
			s->depth = parent ? parent->depth + 1 : (idx == LT_SITE_ROOT ? 0 : 1);
			hmap_put(&sites, h, k1, k2, s);
			return s;
		}
		struct lt_site *s = h->v;
		if (s->parent == parent && s->idx == idx)
			return s;
		k2 = k2 * 31 + 7;	/* (astronomically rare) key collision: probe on */
	}
}

const struct lt_site *lt_site_of_node(const struct lt_node *n)
{
	if (!n->parent)
		return lt_site_get(NULL, n->fn, LT_SITE_ROOT);
	/* collect the chain up to (not including) the root */
	const struct lt_node *chain[64], **c = chain;
	size_t len = 0, cap = 64;
	for (const struct lt_node *x = n; x->parent; x = x->parent) {
		if (len == cap) {
			const struct lt_node **nc = lt_xcalloc(cap * 2, sizeof(*nc));
			memcpy(nc, c, len * sizeof(*nc));
			if (c != chain)
				free(c);
			c = nc;
			cap *= 2;
		}
		c[len++] = x;
	}
	const struct lt_site *s = NULL;
	for (size_t i = len; i-- > 0;) {
		uint32_t idx = 0;
		for (const struct lt_node *y = c[i]->parent->first; y && y != c[i]; y = y->next)
			idx++;
		s = lt_site_get(s, c[i]->fn, idx);
	}
	if (c != chain)
		free(c);
	return s;
}

const char *lt_site_str(const struct lt_site *s)
{
	if (s->str)
		return s->str;
	if (s->idx == LT_SITE_ROOT)
		return ((struct lt_site *)s)->str = s->fn;
	/* build from the deepest cached ancestor down */
	size_t depth = s->depth;
	const struct lt_site **chain = lt_xcalloc(depth + 1, sizeof(*chain));
	size_t n = 0, len = 0;
	const struct lt_site *x;
	for (x = s; x; x = x->parent) {
		chain[n++] = x;
		len += lt_intern_len(x->fn) + 14;
	}
	char *buf = lt_xcalloc(len + 1, 1), *o = buf;
	for (size_t i = n; i-- > 0;) {
		if (i != n - 1)
			*o++ = '/';
		size_t fl = lt_intern_len(chain[i]->fn);
		memcpy(o, chain[i]->fn, fl);
		o += fl;
		o += sprintf(o, "[%u]", chain[i]->idx);
	}
	((struct lt_site *)s)->str = lt_intern_n(buf, (size_t)(o - buf));
	free(buf);
	free(chain);
	return s->str;
}

char *lt_site_listing(const struct lt_site *s)
{
	if (s->idx == LT_SITE_ROOT)
		return strdup(s->fn);
	size_t n = 0, len = 1;
	for (const struct lt_site *x = s; x; x = x->parent) {
		n++;
		len += lt_intern_len(x->fn) + 18;
	}
	const struct lt_site **chain = lt_xcalloc(n, sizeof(*chain));
	size_t i = 0;
	for (const struct lt_site *x = s; x; x = x->parent)
		chain[i++] = x;
	char *buf = lt_xcalloc(len, 1), *o = buf;
	for (i = n; i-- > 0;)
		o += sprintf(o, "%s[%u] %s", i == n - 1 ? "" : " / ", chain[i]->idx, chain[i]->fn);
	free(chain);
	return buf;
}

/* ---- names -------------------------------------------------------------- */
static struct hmap names;

const char *lt_plain_name(const char *fn)
{
	struct hent *h = hmap_slot(&names, (uintptr_t)fn, 0);
	if (h->k1)
		return h->v;
	/* last dotted part; a dot inside <...> (none in practice) is not special */
	size_t len = lt_intern_len(fn);
	const char *dot = NULL;
	for (size_t i = 0; i < len; i++)
		if (fn[i] == '.')
			dot = fn + i;
	const char *name = dot && dot[1] ? lt_intern_n(dot + 1, len - (size_t)(dot + 1 - fn)) : fn;
	hmap_put(&names, h, (uintptr_t)fn, 0, (void *)name);
	return name;
}

const char *lt_key_str(int kind, const void *key)
{
	return kind == LT_KEY_SITE ? lt_site_str(key) : key;
}

/* ---- values ------------------------------------------------------------- */
static const char *T_INT, *T_FLOAT, *T_BOOL, *T_STR;
static struct hmap intvals;	/* (type, i) -> "int:i" */

const char *lt_value_elem(const struct lt_value *v)
{
	if (!T_INT) {
		T_INT = lt_intern("int");
		T_FLOAT = lt_intern("float");
		T_BOOL = lt_intern("bool");
		T_STR = lt_intern("str");
	}
	if (v->kind == LT_V_NONE || !v->type)
		return NULL;
	if (v->type != T_INT && v->type != T_FLOAT && v->type != T_BOOL && v->type != T_STR)
		return NULL;
	char b[64];
	switch (v->kind) {
	case LT_V_INT: {
		struct hent *h = hmap_slot(&intvals, (uintptr_t)v->type, (uint64_t)v->u.i);
		if (h->k1)
			return h->v;
		int n = snprintf(b, sizeof(b), "%s:%lld", v->type, (long long)v->u.i);
		const char *s = lt_intern_n(b, (size_t)n);
		hmap_put(&intvals, h, (uintptr_t)v->type, (uint64_t)v->u.i, (void *)s);
		return s;
	}
	case LT_V_BOOL: {
		int n = snprintf(b, sizeof(b), "%s:%s", v->type, v->u.b ? "True" : "False");
		return lt_intern_n(b, (size_t)n);
	}
	case LT_V_FLOAT: {
		char r[32];
		int n = snprintf(b, sizeof(b), "%s:%s", v->type, lt_float_repr(v->u.f, r));
		return lt_intern_n(b, (size_t)n);
	}
	case LT_V_STR:
	case LT_V_BIGINT:
	case LT_V_HASH: {
		size_t tl = strlen(v->type), sl = v->kind == LT_V_STR ? v->slen : strlen(v->s);
		char *t = sl + tl + 2 <= sizeof(b) ? b : lt_xcalloc(sl + tl + 2, 1);
		memcpy(t, v->type, tl);
		t[tl] = ':';
		memcpy(t + tl + 1, v->s, sl);
		const char *s = lt_intern_n(t, tl + 1 + sl);
		if (t != b)
			free(t);
		return s;
	}
	}
	return NULL;
}

/* ---- observer ------------------------------------------------------------ */
struct acc {
	const void *key;
	int64_t v;
	const struct lt_node *ex;
	uint64_t stamp;
};

struct accset {
	struct hmap map;
	struct acc **touched;
	size_t ntouched, cap;
};

struct lt_observer {
	int kind;
	uint64_t stamp;
	/* walk stacks, per depth */
	const struct lt_node **node;
	uint32_t *idx;
	const struct lt_site **site;
	size_t cap, valid;	/* site[0..valid] is right for the current path */
	struct accset calls, time;
	struct hmap pairs;	/* (parent key, child key) -> "p>c" */
	size_t cur_depth;	/* depth of the node being visited */
	bool walking;
};

struct lt_observer *lt_observer_new(int keykind)
{
	struct lt_observer *o = lt_xcalloc(1, sizeof(*o));
	o->kind = keykind;
	return o;
}

static void accset_free(struct accset *a)
{
	for (size_t i = 0; i < a->map.cap; i++)
		if (a->map.e[i].k1)
			free(a->map.e[i].v);
	hmap_free(&a->map);
	free(a->touched);
}

void lt_observer_free(struct lt_observer *o)
{
	if (!o)
		return;
	free(o->node);
	free(o->idx);
	free(o->site);
	accset_free(&o->calls);
	accset_free(&o->time);
	hmap_free(&o->pairs);
	free(o);
}

static inline void acc_add(struct lt_observer *o, struct accset *a, const void *key, int64_t v,
			   const struct lt_node *n)
{
	struct hent *h = hmap_slot(&a->map, (uintptr_t)key, 0);
	struct acc *c;
	if (h->k1) {
		c = h->v;
	} else {
		c = lt_xcalloc(1, sizeof(*c));
		c->key = key;
		hmap_put(&a->map, h, (uintptr_t)key, 0, c);
	}
	if (c->stamp != o->stamp) {
		c->stamp = o->stamp;
		c->v = 0;
		c->ex = n;
		if (a->ntouched == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 256;
			a->touched = lt_xrealloc(a->touched, a->cap * sizeof(*a->touched));
		}
		a->touched[a->ntouched++] = c;
	}
	c->v += v;
}

static void acc_flush(struct accset *a, int obs, lt_elem_fn fn, void *ctx)
{
	for (size_t i = 0; i < a->ntouched; i++) {
		struct acc *c = a->touched[i];
		fn(ctx, obs, c->key, NULL, c->v, c->ex);
	}
	a->ntouched = 0;
}

static const struct lt_site *cur_site(struct lt_observer *o, size_t depth)
{
	for (size_t d = o->valid + 1; d <= depth; d++)
		o->site[d] = lt_site_get(d == 1 ? NULL : o->site[d - 1], o->node[d]->fn, o->idx[d]);
	if (depth > o->valid)
		o->valid = depth;
	return o->site[depth];
}

static inline const void *node_key(struct lt_observer *o, const struct lt_node *n, size_t depth)
{
	switch (o->kind) {
	case LT_KEY_NAME:
		return lt_plain_name(n->fn);
	case LT_KEY_QUALNAME:
		return n->fn;
	default:
		return cur_site(o, depth);
	}
}

static const void *pair_key(struct lt_observer *o, const void *pk, const void *ck)
{
	struct hent *h = hmap_slot(&o->pairs, (uintptr_t)pk, (uintptr_t)ck);
	if (h->k1)
		return h->v;
	size_t a = lt_intern_len(pk), b = lt_intern_len(ck);
	char *t = lt_xcalloc(a + b + 2, 1);
	memcpy(t, pk, a);
	t[a] = '>';
	memcpy(t + a + 1, ck, b);
	const char *s = lt_intern_n(t, a + b + 1);
	free(t);
	hmap_put(&o->pairs, h, (uintptr_t)pk, (uintptr_t)ck, (void *)s);
	return s;
}

void lt_observe(struct lt_observer *o, const struct lt_exec *e, unsigned mask, lt_elem_fn fn, void *ctx)
{
	const struct lt_node *root = e->root, *n = root;
	bool want_ret = mask & (1u << LT_OBS_RETURNS), want_calls = mask & (1u << LT_OBS_CALLS),
	     want_time = mask & (1u << LT_OBS_TIME);
	size_t depth = 0;
	const void *key2 = NULL;	/* calls: key of the current second-layer call */
	const void *key1 = NULL;	/* key of the current first-layer call */

	if (!root)
		return;
	o->stamp++;
	if (!o->cap) {
		o->cap = 64;
		o->node = lt_xcalloc(o->cap, sizeof(*o->node));
		o->idx = lt_xcalloc(o->cap, sizeof(*o->idx));
		o->site = lt_xcalloc(o->cap, sizeof(*o->site));
	}
	o->node[0] = root;
	o->idx[0] = LT_SITE_ROOT;
	o->site[0] = lt_site_get(NULL, root->fn, LT_SITE_ROOT);
	o->valid = 0;
	o->walking = true;
	for (;;) {
		bool syn = n == root && lt_node_synthetic_root(n);
		o->cur_depth = depth;
		const void *key = NULL;
		if (!syn && (want_ret || want_time || (want_calls && depth >= 1 && depth <= 2)))
			key = node_key(o, n, depth);
		if (want_ret && !syn && n->has_ret) {
			const char *val = lt_value_elem(&n->ret);
			if (val)
				fn(ctx, LT_OBS_RETURNS, key, val, 0, n);
		}
		if (want_time && !syn && n->dur_ns >= 0)
			acc_add(o, &o->time, key, n->dur_ns, n);
		if (want_calls && depth >= 1) {
			if (depth == 1) {
				key1 = key;
				acc_add(o, &o->calls, key, 1, n);
			} else {
				if (depth == 2)
					key2 = o->kind == LT_KEY_SITE ? key : pair_key(o, key1, key);
				acc_add(o, &o->calls, key2, 1, o->node[2]);
			}
		}
		/* next node in pre-order, keeping depth/idx/node stacks */
		if (n->first) {
			depth++;
			if (depth == o->cap) {
				o->cap *= 2;
				o->node = lt_xrealloc(o->node, o->cap * sizeof(*o->node));
				o->idx = lt_xrealloc(o->idx, o->cap * sizeof(*o->idx));
				o->site = lt_xrealloc(o->site, o->cap * sizeof(*o->site));
			}
			n = n->first;
			o->node[depth] = n;
			o->idx[depth] = 0;
			continue;
		}
		while (n != root && !n->next) {
			n = n->parent;
			depth--;
		}
		if (n == root)
			break;
		n = n->next;
		o->node[depth] = n;
		o->idx[depth]++;
		if (o->valid >= depth)
			o->valid = depth - 1;
	}
	o->walking = false;
	if (want_calls)
		acc_flush(&o->calls, LT_OBS_CALLS, fn, ctx);
	if (want_time)
		acc_flush(&o->time, LT_OBS_TIME, fn, ctx);
}

const struct lt_site *lt_observer_site(struct lt_observer *o, const struct lt_node *n)
{
	if (o->walking && o->node[o->cur_depth] == n)
		return cur_site(o, o->cur_depth);
	return lt_site_of_node(n);
}

int lt_observe_arg(const char *arg, unsigned *mask)
{
	char *dup = strdup(arg), *save, *tok;

	*mask = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int o = lt_obs_parse(tok);

		if (o < 0) {
			lt_err("--observe: unknown observation '%s' (use calls, returns, time)", tok);
			free(dup);
			return -1;
		}
		*mask |= 1u << o;
	}
	free(dup);
	if (!*mask) {
		lt_err("--observe: empty list (use calls, returns, time)");
		return -1;
	}
	return 0;
}

int lt_key_arg(const char *arg, int *kind)
{
	*kind = lt_key_parse(arg);
	if (*kind < 0) {
		lt_err("--key: unknown key kind '%s' (use name, qualname, site)", arg);
		return -1;
	}
	return 0;
}

int lt_threshold_arg(const char *arg, double *ms)
{
	char *end;

	*ms = strtod(arg, &end);
	if (*end || end == arg || !(*ms >= 0) || *ms > 1e12) {
		lt_err("--time-threshold-ms: '%s' is not a non-negative number of milliseconds", arg);
		return -1;
	}
	return 0;
}
