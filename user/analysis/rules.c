// SPDX-License-Identifier: MIT
/* Rules file loading and matching (FORMAT.md §5). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/err.h"
#include "common/hmap.h"
#include "common/outfile.h"
#include "common/json.h"
#include "analysis/observe.h"
#include "analysis/rules.h"
#include "analysis/sets.h"

struct lt_rules_priv {
	struct lt_observer *obs[3];	/* per key kind */
	unsigned mask[3];		/* observations needed per key kind */
	struct hmap bykey[3][LT_OBS_N];	/* key text -> first rule */
	struct lt_rules *rs;
	int kind;			/* key kind being observed */
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *b = malloc(cap + 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap + 1);
		}
		if (!b)
			break;
		size_t r = fread(b + n, 1, cap - n, f);
		if (!r)
			break;
		n += r;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return b;
}

static struct lt_rules *fail(struct lt_rules *rs, const char *path, int idx, const char *why)
{
	if (idx >= 0)
		lt_err("%s: rule %d: %s", path, idx, why);
	else
		lt_err("%s: %s", path, why);
	lt_rules_free(rs);
	return NULL;
}

/* an empty set of rules from `origin` (a path, or what built them) */
static struct lt_rules *rules_new(const char *origin)
{
	struct lt_rules *rs = lt_xcalloc(1, sizeof(*rs));

	rs->path = strdup(origin);
	rs->priv = lt_xcalloc(1, sizeof(*rs->priv));
	rs->priv->rs = rs;
	return rs;
}

/* Index the rules by key and make the observers they need. Done once, when
 * all rules are in rs->v: next_same points into that array. */
static void rules_index(struct lt_rules *rs)
{
	struct lt_rules_priv *pv = rs->priv;

	for (size_t i = 0; i < rs->n; i++) {
		struct lt_rule *r = &rs->v[i];
		struct hmap *m = &pv->bykey[r->keykind][r->obs];
		struct hent *h = hmap_slot(m, (uintptr_t)r->key, 0);

		/* a later rule of the same key goes first, as it always has */
		if (h->k1) {
			r->next_same = h->v;
			h->v = r;
		} else {
			hmap_put(m, h, (uintptr_t)r->key, 0, r);
		}
		pv->mask[r->keykind] |= 1u << r->obs;
	}
	for (int kd = 0; kd < 3; kd++)
		if (pv->mask[kd])
			pv->obs[kd] = lt_observer_new(kd);
}

struct lt_rules *lt_rules_load(const char *path)
{
	size_t len;
	char *text = slurp(path, &len);
	if (!text) {
		lt_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	struct lt_rules *rs = rules_new(path);
	struct jparse p;
	jp_init(&p);
	if (jp_parse(&p, text, len)) {
		char m[200];
		snprintf(m, sizeof(m), "not a rules file: %s", p.err);
		jp_free(&p);
		free(text);
		return fail(rs, path, -1, m);
	}
	const struct jtok *t = p.t;
	struct lt_rules *ret = NULL;
	int fi = jp_get(&p, 0, "format"), ri = jp_get(&p, 0, "rules");
	int64_t fmt;
	if (fi < 0 || jp_int64(&t[fi], &fmt) || fmt != 1) {
		ret = fail(rs, path, -1, "not a rules file: expected {\"format\":1,\"rules\":[...]}");
		goto out;
	}
	if (ri < 0 || t[ri].type != JT_ARR) {
		ret = fail(rs, path, -1, "no \"rules\" list");
		goto out;
	}
	int ci = jp_get(&p, 0, "capture");
	if (ci >= 0 && t[ci].type == JT_OBJ) {
		struct lt_header h = { 0 };
		int k;

		lt_capture_parse(&p, ci, &h);
		if ((k = jp_get(&p, ci, "root")) >= 0 && t[k].type == JT_STR)
			h.root = lt_intern_n(t[k].s, t[k].len);
		if ((k = jp_get(&p, ci, "mechanism")) >= 0 && t[k].type == JT_STR)
			h.mechanism = lt_intern_n(t[k].s, t[k].len);
		if (h.values)
			lt_capture_set(&rs->capture, &h, path);
		free(h.exclude);
	}
	rs->v = calloc(t[ri].n ? t[ri].n : 1, sizeof(*rs->v));
	uint32_t i = (uint32_t)ri + 1;
	for (uint32_t k = 0; k < t[ri].n; k++, i = t[i].end) {
		struct lt_rule *r = &rs->v[rs->n];
		r->index = (int)k;
		if (t[i].type != JT_OBJ) {
			ret = fail(rs, path, k, "a rule must be an object");
			goto out;
		}
		int oi = jp_get(&p, i, "observation"), ki = jp_get(&p, i, "key"), kk = jp_get(&p, i, "key_kind");
		int vi = jp_get(&p, i, "value"), si = jp_get(&p, i, "site");
		int mn = jp_get(&p, i, "min_ms"), mx = jp_get(&p, i, "max_ms");
		if (oi < 0 || t[oi].type != JT_STR || (r->obs = lt_obs_parse(t[oi].s)) < 0) {
			ret = fail(rs, path, k, "\"observation\" must be returns, calls or time");
			goto out;
		}
		if (ki < 0 || t[ki].type != JT_STR) {
			ret = fail(rs, path, k, "no \"key\" string");
			goto out;
		}
		r->key = lt_intern_n(t[ki].s, t[ki].len);
		r->keykind = LT_KEY_NAME;
		if (kk >= 0 && (t[kk].type != JT_STR || (r->keykind = lt_key_parse(t[kk].s)) < 0)) {
			ret = fail(rs, path, k, "\"key_kind\" must be name, qualname or site");
			goto out;
		}
		if (si >= 0 && t[si].type == JT_STR)
			r->site = lt_intern_n(t[si].s, t[si].len);
		if (r->obs == LT_OBS_RETURNS) {
			if (vi < 0 || t[vi].type != JT_STR || !memchr(t[vi].s, ':', t[vi].len)) {
				ret = fail(rs, path, k, "a returns rule needs \"value\": \"type:value\"");
				goto out;
			}
			r->val = lt_intern_n(t[vi].s, t[vi].len);
		} else if (r->obs == LT_OBS_CALLS) {
			bool ok = false;
			if (vi >= 0 && t[vi].type == JT_STR) {
				/* "3": only digits, at most 18 of them */
				ok = t[vi].len > 0 && t[vi].len <= 18;
				r->num = 0;
				for (size_t d = 0; ok && d < t[vi].len; d++) {
					ok = t[vi].s[d] >= '0' && t[vi].s[d] <= '9';
					r->num = r->num * 10 + (t[vi].s[d] - '0');
				}
			} else if (vi >= 0 && jp_int64(&t[vi], &r->num) == 0) {
				ok = true;
			}
			if (!ok || r->num < 0) {
				ret = fail(rs, path, k, "a calls rule needs \"value\": a count");
				goto out;
			}
			char b[32];
			r->val = lt_intern_n(b, (size_t)snprintf(b, sizeof(b), "%lld", (long long)r->num));
		} else {
			if (mn >= 0) {
				r->has_min = !jp_double(&t[mn], &r->min_ms);
				if (!r->has_min) {
					ret = fail(rs, path, k, "\"min_ms\" must be a number");
					goto out;
				}
			}
			if (mx >= 0) {
				r->has_max = !jp_double(&t[mx], &r->max_ms);
				if (!r->has_max) {
					ret = fail(rs, path, k, "\"max_ms\" must be a number");
					goto out;
				}
			}
			if (!r->has_min && !r->has_max) {
				ret = fail(rs, path, k, "a time rule needs \"min_ms\" or \"max_ms\"");
				goto out;
			}
		}
		rs->n++;
	}
	rules_index(rs);
	ret = rs;
out:
	jp_free(&p);
	free(text);
	return ret;
}

/* a time rule's threshold: halfway between the two sides' ranges */
static void time_rule(const struct lt_elem_out *e, struct lt_rule *r)
{
	if (e->minB > e->maxA) {
		r->has_min = true;
		r->min_ms = (e->maxA + (e->minB - e->maxA) / 2.0) / 1e6;
	} else {
		r->has_max = true;
		r->max_ms = (e->maxB + (e->minA - e->maxB) / 2.0) / 1e6;
	}
}

struct lt_rules *lt_rules_from_sets(const struct lt_obs_result *res, unsigned mask, int keykind)
{
	struct lt_rules *rs = rules_new("(analysis)");
	size_t n = 0;

	for (int o = 0; o < LT_OBS_N; o++)
		if (mask & (1u << o))
			n += res[o].D_IF.n;
	rs->v = lt_xcalloc(n ? n : 1, sizeof(*rs->v));
	for (int o = 0; o < LT_OBS_N; o++) {
		if (!(mask & (1u << o)))
			continue;
		for (size_t i = 0; i < res[o].D_IF.n; i++) {
			const struct lt_elem_out *e = &res[o].D_IF.v[i];
			struct lt_rule *r = &rs->v[rs->n];

			r->index = (int)rs->n++;
			r->obs = o;
			r->keykind = keykind;
			/* matching compares interned pointers */
			r->key = lt_intern(e->key);
			if (o == LT_OBS_TIME)
				time_rule(e, r);
			else
				r->val = lt_intern_n(e->val, lt_intern_len(e->val));
			r->num = e->num;
			if (e->path)
				r->site = lt_intern(lt_site_str(e->path));
		}
	}
	rules_index(rs);
	return rs;
}

int lt_rules_write(const struct lt_rules *rs, const char *path)
{
	struct jw j;
	int rc = 0;

	jw_init(&j);
	jw_obj(&j);
	jw_key(&j, "format");
	jw_int(&j, 1);
	if (rs->capture.set) {
		const struct lt_header *h = &rs->capture.h;

		jw_key(&j, "capture");
		jw_obj(&j);
		lt_capture_json(&j, h);
		if (h->root) {
			jw_key(&j, "root");
			jw_str(&j, h->root);
		}
		if (h->mechanism) {
			jw_key(&j, "mechanism");
			jw_str(&j, h->mechanism);
		}
		jw_obj_end(&j);
	}
	jw_key(&j, "rules");
	jw_arr(&j);
	for (size_t i = 0; i < rs->n; i++) {
		const struct lt_rule *r = &rs->v[i];

		jw_obj(&j);
		jw_key(&j, "observation");
		jw_str(&j, lt_obs_names[r->obs]);
		jw_key(&j, "key_kind");
		jw_str(&j, lt_key_names[r->keykind]);
		jw_key(&j, "key");
		jw_str(&j, r->key);
		if (r->obs == LT_OBS_TIME) {
			if (r->has_min) {
				jw_key(&j, "min_ms");
				jw_double(&j, r->min_ms);
			}
			if (r->has_max) {
				jw_key(&j, "max_ms");
				jw_double(&j, r->max_ms);
			}
		} else {
			jw_key(&j, "value");
			jw_strn(&j, r->val, lt_intern_len(r->val));
		}
		if (r->site) {
			jw_key(&j, "site");
			jw_str(&j, r->site);
		}
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_obj_end(&j);
	jw_raw(&j, "\n", 1);
	/* rules hold observed values: 0600, errors with their cause */
	if (lt_out_write_all(path, j.buf, j.len))
		rc = LT_EXIT_FAIL;
	jw_free(&j);
	return rc;
}

static void on_elem(void *ctx, int obs, const void *key, const char *val, int64_t num, const struct lt_node *ex)
{
	struct lt_rules_priv *pv = ctx;
	const char *k = lt_key_str(pv->kind, key);
	struct lt_rule *r = hmap_get(&pv->bykey[pv->kind][obs], (uintptr_t)k, 0);
	for (; r; r = r->next_same) {
		r->seen = true;
		if (obs == LT_OBS_RETURNS) {
			int i;
			for (i = 0; i < r->nvals; i++)
				if (r->vals[i] == val)
					break;
			if (i == r->nvals) {
				if (r->nvals < 8)
					r->vals[r->nvals++] = val;
				else
					r->vals_more = true;
			}
			if (val == r->val)
				r->matched = true;
		} else {
			r->v = num;
		}
	}
}

/* the node at a site path "f[0]/g[2]/h[3]" (qualified names, indices
 * among siblings, from the root's children), or NULL */
static const struct lt_node *node_at_site(const struct lt_exec *e, const char *site)
{
	const struct lt_node *n = e->root;

	while (n && *site) {
		const char *end = strchr(site, '/'), *br;
		size_t seg = end ? (size_t)(end - site) : strlen(site);
		const struct lt_node *c;
		unsigned long idx;
		char *stop;

		br = memchr(site, '[', seg);
		while (br && memchr(br + 1, '[', seg - (br + 1 - site)))	/* the last '[' */
			br = memchr(br + 1, '[', seg - (br + 1 - site));
		if (!br)
			return NULL;
		idx = strtoul(br + 1, &stop, 10);
		if (*stop != ']')
			return NULL;
		for (c = n->first; c && idx; c = c->next)
			idx--;
		if (!c || strlen(c->fn) != (size_t)(br - site) || memcmp(c->fn, site, br - site))
			return NULL;
		n = c;
		site += seg + (end ? 1 : 0);
	}
	return n == e->root ? NULL : n;
}

int lt_rules_match(struct lt_rules *rs, const struct lt_exec *e, lt_rule_fn fn, void *ctx)
{
	struct lt_rules_priv *pv = rs->priv;
	int n = 0;
	for (size_t i = 0; i < rs->n; i++) {
		struct lt_rule *r = &rs->v[i];
		r->seen = r->matched = r->vals_more = false;
		r->v = 0;
		r->nvals = 0;
	}
	if (!e->root)
		return 0;
	for (int kd = 0; kd < 3; kd++) {
		if (!pv->mask[kd])
			continue;
		pv->kind = kd;
		lt_observe(pv->obs[kd], e, pv->mask[kd], on_elem, pv);
	}
	for (size_t i = 0; i < rs->n; i++) {
		struct lt_rule *r = &rs->v[i];
		if (r->obs == LT_OBS_RETURNS && r->site) {
			const struct lt_node *at = node_at_site(e, r->site);
			const char *v = at ? lt_value_elem(&at->ret) : NULL;

			r->site_val = !at ? "(absent)" : v ? v : "(no value)";
		}
		if (r->obs == LT_OBS_CALLS) {
			r->matched = r->v == r->num;	/* absent: v = 0 */
		} else if (r->obs == LT_OBS_TIME) {
			double ms = r->v / 1e6;
			r->matched = (!r->has_min || ms > r->min_ms) && (!r->has_max || ms < r->max_ms);
		}
		if (r->matched) {
			n++;
			if (fn)
				fn(ctx, e, r);
		}
	}
	return n;
}

void lt_rule_describe(const struct lt_rule *r, char *buf, size_t len)
{
	if (r->obs == LT_OBS_TIME) {
		if (r->has_min && r->has_max)
			snprintf(buf, len, "time %s in (%g, %g) ms", r->key, r->min_ms, r->max_ms);
		else if (r->has_min)
			snprintf(buf, len, "time %s > %g ms", r->key, r->min_ms);
		else
			snprintf(buf, len, "time %s < %g ms", r->key, r->max_ms);
	} else {
		snprintf(buf, len, "%s %s = %s", lt_obs_names[r->obs], r->key, r->val);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void lt_rule_observed(const struct lt_rule *r, char *buf, size_t len)
{
	if (r->obs == LT_OBS_CALLS) {
		snprintf(buf, len, "%lld", (long long)r->v);
	} else if (r->obs == LT_OBS_TIME) {
		snprintf(buf, len, "%s", r->matched ? "match" : "no match");
	} else if (r->site && r->site_val) {
		snprintf(buf, len, "%s", r->site_val);
	} else if (!r->nvals) {
		snprintf(buf, len, "(absent)");
	} else {
		const char *v[8];
		memcpy(v, r->vals, sizeof(v[0]) * r->nvals);
		qsort(v, r->nvals, sizeof(v[0]), cmp_str);
		size_t o = 0;
		buf[0] = 0;
		for (int i = 0; i < r->nvals && o < len; i++)
			o += snprintf(buf + o, len - o, "%s%s", i ? "," : "", v[i]);
		if (r->vals_more && o < len)
			snprintf(buf + o, len - o, ",...");
	}
}

void lt_rules_free(struct lt_rules *rs)
{
	if (!rs)
		return;
	if (rs->priv) {
		for (int kd = 0; kd < 3; kd++) {
			lt_observer_free(rs->priv->obs[kd]);
			for (int o = 0; o < LT_OBS_N; o++)
				hmap_free(&rs->priv->bykey[kd][o]);
		}
		free(rs->priv);
	}
	lt_capture_free(&rs->capture);
	free(rs->v);
	free(rs->path);
	free(rs);
}
