// SPDX-License-Identifier: MIT
/* leaktrace analyze --report FILE: the analysis as one self-contained HTML
 * page (report.h, docs/REPORT.md). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common/err.h"
#include "common/hmap.h"
#include "common/outfile.h"
#include "analysis/observe.h"
#include "analysis/report.h"
#include "analysis/rules.h"
#include "trace/trace.h"
#include "common/u64map.h"

#define MAX_TIME_PLOTS 8	/* D_IF/D_EE' keys first, then by |AUC - 0.5| */
#define MIN_AUC_PLOTS 4		/* plots when D_EE' of time is small */
#define MAX_TABLE_COLS 10	/* Table I value columns; the rest summed */
#define MAX_EE_LISTED 20	/* D_EE' elements listed when it differs from D_IF */
#define HIST_BINS 40

/* ---- output buffer -------------------------------------------------------- */
struct buf {
	char *p;
	size_t len, cap;
};

static void bput(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 1 << 16;
		while (c < b->len + n + 1)
			c *= 2;
		char *p = realloc(b->p, c);
		if (!p) {
			lt_err("out of memory");
			exit(LT_EXIT_FAIL);
		}
		b->p = p;
		b->cap = c;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void bs(struct buf *b, const char *s)
{
	bput(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void bf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < (int)sizeof(tmp)) {
		bput(b, tmp, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	bput(b, big, (size_t)n);
	free(big);
}

/* HTML text: markup characters as entities, control characters as \xNN */
static void besc_n(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '&': bs(b, "&amp;"); break;
		case '<': bs(b, "&lt;"); break;
		case '>': bs(b, "&gt;"); break;
		case '"': bs(b, "&quot;"); break;
		case '\'': bs(b, "&#39;"); break;
		case '\n': bs(b, "\\n"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				bf(b, "\\x%02x", c);
			else
				bput(b, (const char *)&s[i], 1);
		}
	}
}

static void besc(struct buf *b, const char *s)
{
	besc_n(b, s, strlen(s));
}

/* interned values may contain NUL: use their stored length */
static void besc_val(struct buf *b, const char *v)
{
	besc_n(b, v, lt_intern_len(v));
}

/* ---- second pass: Table I per rule and durations per time key ----------- */
struct col {
	const char *label;	/* interned */
	uint64_t cnt[2];
};

struct rstat {
	struct col *cols;
	size_t ncols;
	uint64_t match[2];
	uint64_t last_exec;	/* returns: the key returned a value in this execution */
};

struct tkey {
	const char *key;	/* interned key text */
	int64_t *v[2];		/* t(k) of the executions holding k */
	size_t n[2], cap[2];
	double auc;
	int set;		/* 2 = in D_IF, 1 = in D_EE' only, 0 = neither */
	int64_t *all[2];	/* with zeros for the executions without k (plots) */
};

struct pass2 {
	struct lt_rules *rs;
	struct rstat *st;
	struct lt_observer *obs;
	int keykind;
	int side;
	struct u64map keys;	/* key text -> struct tkey */
	bool has_returns;	/* some rule is a returns rule */
	struct u64map rkeys;	/* keys of returns rules */
	struct hmap seen;	/* (value, rule+1) -> last execution counted */
	uint64_t exec_no;
	struct tkey **kv;
	size_t nk;
	uint64_t total[2], flagged[2];
};

static void count_col(struct rstat *s, const char *label, int side);

/* returns: the paper's Table I counts executions per value of the rule's
 * key (an execution counts once under every value its key returned) */
static void on_return(struct pass2 *p, const char *k, const char *val)
{
	for (size_t i = 0; i < p->rs->n; i++) {
		const struct lt_rule *r = &p->rs->v[i];
		if (r->obs != LT_OBS_RETURNS || r->key != k)
			continue;
		struct hent *h = hmap_slot(&p->seen, (uint64_t)(uintptr_t)val, i + 1);
		if (h->k1 && (uint64_t)(uintptr_t)h->v == p->exec_no)
			continue;
		if (h->k1)
			h->v = (void *)(uintptr_t)p->exec_no;
		else
			hmap_put(&p->seen, h, (uint64_t)(uintptr_t)val, i + 1, (void *)(uintptr_t)p->exec_no);
		p->st[i].last_exec = p->exec_no;
		count_col(&p->st[i], val, p->side);
	}
}

static void on_elem(void *ctx, int obs, const void *key, const char *val, int64_t num,
		    const struct lt_node *example)
{
	struct pass2 *p = ctx;
	const char *k = lt_key_str(p->keykind, key);
	if (obs == LT_OBS_RETURNS) {
		if (u64map_get(&p->rkeys, (uint64_t)(uintptr_t)k))
			on_return(p, k, val);
		return;
	}
	struct tkey *t = u64map_get(&p->keys, (uint64_t)(uintptr_t)k);
	if (!t) {
		t = calloc(1, sizeof(*t));
		t->key = k;
		u64map_put(&p->keys, (uint64_t)(uintptr_t)k, t);
		p->kv = lt_xrealloc(p->kv, (p->nk + 1) * sizeof(*p->kv));
		p->kv[p->nk++] = t;
	}
	int s = p->side;
	if (t->n[s] == t->cap[s]) {
		t->cap[s] = t->cap[s] ? t->cap[s] * 2 : 16;
		t->v[s] = lt_xrealloc(t->v[s], t->cap[s] * sizeof(int64_t));
	}
	t->v[s][t->n[s]++] = num;
}

static void count_col(struct rstat *s, const char *label, int side)
{
	for (size_t i = 0; i < s->ncols; i++) {
		if (s->cols[i].label == label) {
			s->cols[i].cnt[side]++;
			return;
		}
	}
	s->cols = lt_xrealloc(s->cols, (s->ncols + 1) * sizeof(*s->cols));
	s->cols[s->ncols] = (struct col){ label, { 0, 0 } };
	s->cols[s->ncols++].cnt[side]++;
}

static int pass2_read(struct pass2 *p, const char *path, int side, bool want_time)
{
	struct lt_reader *r = lt_reader_open(path);
	if (!r)
		return LT_EXIT_USAGE;
	struct lt_exec *e;
	int n;
	char obs[512];
	p->side = side;
	while ((n = lt_reader_next(r, &e)) == 1) {
		if (!e->complete || !e->root) {
			lt_exec_free(e);
			continue;
		}
		p->total[side]++;
		if (p->rs) {
			if (lt_rules_match(p->rs, e, NULL, NULL))
				p->flagged[side]++;
			for (size_t i = 0; i < p->rs->n; i++) {
				const struct lt_rule *ru = &p->rs->v[i];
				if (ru->obs != LT_OBS_RETURNS) {	/* returns: in on_return */
					lt_rule_observed(ru, obs, sizeof(obs));
					count_col(&p->st[i], lt_intern(obs), side);
				}
				if (ru->matched)
					p->st[i].match[side]++;
			}
		}
		unsigned mask = (want_time ? 1u << LT_OBS_TIME : 0) | (p->has_returns ? 1u << LT_OBS_RETURNS : 0);
		p->exec_no++;
		if (mask)
			lt_observe(p->obs, e, mask, on_elem, p);
		if (p->has_returns) {
			for (size_t i = 0; i < p->rs->n; i++) {
				if (p->rs->v[i].obs != LT_OBS_RETURNS)
					continue;
				if (p->st[i].last_exec != p->exec_no)
					count_col(&p->st[i], lt_intern("(absent)"), side);
			}
		}
		lt_exec_free(e);
	}
	lt_reader_close(r);
	return n < 0 ? LT_EXIT_USAGE : 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* P(t in E' > t in E) + 0.5 P(=), over all executions (absent = 0) */
static double auc_of(const int64_t *a, size_t n, const int64_t *b, size_t m)
{
	double less = 0, eq = 0;
	size_t i = 0, j;
	for (size_t k = 0; k < m; k = j) {
		for (j = k; j < m && b[j] == b[k]; j++)
			;
		while (i < n && a[i] < b[k])
			i++;
		size_t e = i;
		while (e < n && a[e] == b[k])
			e++;
		less += (double)i * (double)(j - k);
		eq += (double)(e - i) * (double)(j - k);
	}
	return (less + 0.5 * eq) / ((double)n * (double)m);
}

static void tkey_finish(struct tkey *t, size_t n, size_t m)
{
	size_t tot[2] = { n, m };
	for (int s = 0; s < 2; s++) {
		t->all[s] = lt_xrealloc(NULL, tot[s] * sizeof(int64_t));
		memset(t->all[s], 0, tot[s] * sizeof(int64_t));
		memcpy(t->all[s] + (tot[s] - t->n[s]), t->v[s], t->n[s] * sizeof(int64_t));
		qsort(t->all[s], tot[s], sizeof(int64_t), cmp_i64);
	}
	t->auc = auc_of(t->all[0], n, t->all[1], m);
}

/* ---- pieces of the page --------------------------------------------------- */
static const char *CSS =
	"body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1d2228;margin:24px auto;max-width:1180px;padding:0 16px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;border-bottom:1px solid #d5dae0;padding-bottom:4px;margin-top:28px}"
	"h3{font-size:15px;margin:18px 0 6px}code,.mono{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12.5px}"
	".meta{color:#5b6572;margin:2px 0}.verdict{font-weight:600;padding:8px 12px;border-radius:4px;display:inline-block}"
	".leak{background:#fde8e7;color:#a1231b}.noleak{background:#e6f4ea;color:#1e6b34}"
	"table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #d5dae0;padding:3px 10px;text-align:right}"
	"th{background:#f3f5f7;font-weight:600}td.l,th.l{text-align:left}"
	".elem{border:1px solid #d5dae0;border-radius:4px;margin:8px 0;padding:6px 10px;background:#fbfcfd}"
	".elem .hd{margin-bottom:4px}.elem .hd code{font-weight:600}.cnt{color:#5b6572;margin-left:10px}"
	".tree{margin:2px 0 0;white-space:pre;font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12.5px;line-height:1.35;overflow-x:auto}"
	".tree .i{color:#7a8591}.tree .leaf{font-weight:700;color:#a1231b}.tree .v{color:#a1231b}"
	".site{color:#7a8591;font-size:11.5px;word-break:break-all}"
	".plots{display:flex;flex-wrap:wrap;gap:14px}.plot{border:1px solid #d5dae0;border-radius:4px;padding:6px}"
	".plot .t{font-weight:600;font-family:'DejaVu Sans Mono',Menlo,monospace;font-size:12.5px}"
	".tag{font-size:11px;border-radius:3px;padding:0 5px;margin-left:6px;font-family:sans-serif}.tag.if{background:#a1231b;color:#fff}"
	"th.hit{background:#fde8e7;color:#a1231b}.tag.ee{background:#e0a43a;color:#fff}.tag.auc{background:#5b6572;color:#fff}.empty{color:#5b6572;font-style:italic}";

static void path_tree(struct buf *b, const struct lt_site *path, int obs, const struct lt_elem_out *e)
{
	const struct lt_site *chain[4096];
	size_t d = 0;
	const struct lt_site *s = path;
	size_t total = path->depth;
	for (; s && d < 4096; s = s->parent)
		chain[d++] = s;
	bs(b, "<div class=\"tree\">");
	if (total > d)
		bf(b, "<span class=\"i\">... %zu outer calls ...</span>\n", total - d);
	for (size_t k = d; k-- > 0;) {
		size_t lvl = d - 1 - k;
		for (size_t i = 1; i < lvl; i++)
			bs(b, "   ");
		if (lvl)
			bs(b, "\u2514\u2500 ");
		const struct lt_site *x = chain[k];
		if (x->idx != LT_SITE_ROOT)
			bf(b, "<span class=\"i\">[%u]</span> ", x->idx);
		bs(b, k ? "<span>" : "<span class=\"leaf\">");
		besc(b, x->fn);
		bs(b, "</span>");
		if (!k) {
			if (obs == LT_OBS_RETURNS) {
				bs(b, " <span class=\"v\">\u2192 ");
				besc_val(b, e->val);
				bs(b, "</span>");
			} else if (obs == LT_OBS_CALLS) {
				bs(b, " <span class=\"v\">\u2192 ");
				besc(b, e->val);
				bs(b, " calls</span>");
			}
		}
		bs(b, "\n");
	}
	bs(b, "</div><div class=\"site\">");
	besc(b, lt_site_str(path));
	bs(b, "</div>");
}

static void elem_block(struct buf *b, const struct lt_elem_out *e, int obs, size_t n, size_t m)
{
	bs(b, "<div class=\"elem\"><div class=\"hd\"><code>(");
	besc(b, e->key);
	if (obs != LT_OBS_TIME) {
		bs(b, ", ");
		if (obs == LT_OBS_RETURNS)
			besc_val(b, e->val);
		else
			besc(b, e->val);
	}
	bs(b, ")</code>");
	if (obs == LT_OBS_TIME)
		bf(b, "<span class=\"cnt\">E: %.3f\u2013%.3f ms, E': %.3f\u2013%.3f ms</span>", e->minA / 1e6,
		   e->maxA / 1e6, e->minB / 1e6, e->maxB / 1e6);
	else
		bf(b, "<span class=\"cnt\">held by %u of %zu in E, %u of %zu in E'</span>", e->cnt_E, n, e->cnt_E2, m);
	bs(b, "</div>");
	if (e->path)
		path_tree(b, e->path, obs, e);
	bs(b, "</div>\n");
}

static void elem_list(struct buf *b, const char *title, const char *id, const struct lt_elem_list *l, int obs,
		      size_t n, size_t m)
{
	bf(b, "<h3 id=\"%s-%s\">%s (%zu)</h3>\n", lt_obs_names[obs], id, title, l->n);
	if (!l->n)
		bs(b, "<p class=\"empty\">empty</p>\n");
	for (size_t i = 0; i < l->n; i++)
		elem_block(b, &l->v[i], obs, n, m);
}

static const char *cmp_first;	/* the rule's value: its column comes first */

static int cmp_col_total(const void *a, const void *b)
{
	const struct col *x = a, *y = b;
	if ((x->label == cmp_first) != (y->label == cmp_first))
		return x->label == cmp_first ? -1 : 1;
	uint64_t tx = x->cnt[0] + x->cnt[1], ty = y->cnt[0] + y->cnt[1];
	if (tx != ty)
		return tx < ty ? 1 : -1;
	return strcmp(x->label, y->label);
}

static void pr_cells(struct buf *b, uint64_t tp, uint64_t fp, uint64_t fn, uint64_t tn)
{
	bf(b, "<td data-k=\"tp\">%llu</td><td data-k=\"fp\">%llu</td><td data-k=\"fn\">%llu</td><td data-k=\"tn\">%llu</td>",
	   (unsigned long long)tp, (unsigned long long)fp, (unsigned long long)fn, (unsigned long long)tn);
	if (tp + fp)
		bf(b, "<td data-k=\"precision\">%.4f</td>", (double)tp / (double)(tp + fp));
	else
		bs(b, "<td data-k=\"precision\">n/a</td>");
	if (tp + fn)
		bf(b, "<td data-k=\"recall\">%.4f</td>", (double)tp / (double)(tp + fn));
	else
		bs(b, "<td data-k=\"recall\">n/a</td>");
}

static void table1(struct buf *b, struct pass2 *p)
{
	bs(b, "<h2 id=\"table1\">Table I: the rules from D_IF on E and E'</h2>\n");
	if (!p->rs || !p->rs->n) {
		bs(b, "<p class=\"empty\">no rules: D_IF is empty in every observation</p>\n");
		return;
	}
	bf(b, "<p class=\"meta\">Each rule is one D_IF element (as <code>--rules-out</code> writes it). "
	      "Cells: executions of E and E' per observed value of the rule's key; for returns an execution "
	      "counts under every value its key returned (the paper's Table I), for calls the count, for time "
	      "whether the rule's bound is crossed (as <code>detect --clean --adv</code>). "
	      "Highlighted: the rule's value.</p>\n");
	char desc[512];
	for (size_t i = 0; i < p->rs->n; i++) {
		const struct lt_rule *r = &p->rs->v[i];
		struct rstat *s = &p->st[i];
		cmp_first = r->obs == LT_OBS_RETURNS ? r->val : NULL;
		qsort(s->cols, s->ncols, sizeof(*s->cols), cmp_col_total);
		lt_rule_describe(r, desc, sizeof(desc));
		bf(b, "<h3>rule %d: <code>", r->index);
		besc(b, desc);
		bs(b, "</code></h3>\n");
		bf(b, "<table class=\"t1\" data-rule=\"%d\"><tr><th class=\"l\">%s</th>", r->index,
		   r->obs == LT_OBS_TIME ? "rule" : "value");
		size_t shown = s->ncols > MAX_TABLE_COLS ? MAX_TABLE_COLS - 1 : s->ncols;
		for (size_t k = 0; k < shown; k++) {
			bs(b, s->cols[k].label == cmp_first ? "<th class=\"mono hit\">" : "<th class=\"mono\">");
			besc_val(b, s->cols[k].label);
			bs(b, "</th>");
		}
		if (shown < s->ncols)
			bf(b, "<th>other (%zu values)</th>", s->ncols - shown);
		bs(b, "</tr>\n");
		for (int side = 0; side < 2; side++) {
			bf(b, "<tr data-side=\"%s\"><th class=\"l\">%s</th>", side ? "adv" : "clean",
			   side ? "adversarial (E')" : "clean (E)");
			uint64_t other = 0;
			for (size_t k = 0; k < s->ncols; k++) {
				if (k < shown)
					bf(b, "<td>%llu</td>", (unsigned long long)s->cols[k].cnt[side]);
				else
					other += s->cols[k].cnt[side];
			}
			if (shown < s->ncols)
				bf(b, "<td>%llu</td>", (unsigned long long)other);
			bs(b, "</tr>\n");
		}
		bs(b, "</table>\n<table class=\"pr\"><tr><th>TP</th><th>FP</th><th>FN</th><th>TN</th><th>precision</th><th>recall</th></tr><tr>");
		pr_cells(b, s->match[1], s->match[0], p->total[1] - s->match[1], p->total[0] - s->match[0]);
		bs(b, "</tr></table>\n");
	}
	bf(b, "<h3>all %zu rules (an execution is flagged when any rule matches)</h3>\n", p->rs->n);
	bs(b, "<table class=\"pr\" id=\"pr-all\"><tr><th>TP</th><th>FP</th><th>FN</th><th>TN</th><th>precision</th><th>recall</th></tr><tr>");
	pr_cells(b, p->flagged[1], p->flagged[0], p->total[1] - p->flagged[1], p->total[0] - p->flagged[0]);
	bs(b, "</tr></table>\n");
}

/* tick step: 1, 2 or 5 times a power of ten, about n ticks over range */
static double nice_step(double range, int n)
{
	double raw = range / n, p = pow(10, floor(log10(raw))), f = raw / p;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static double median_ms(const int64_t *v, size_t n)
{
	return (n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2) / 1e6;
}

/* two overlaid histograms (fraction of executions per bin), clean blue,
 * adversarial red, dashed medians */
static void svg_hist(struct buf *b, const struct tkey *t, size_t n, size_t m)
{
	const int W = 560, H = 226, L = 52, R = 12, T = 38, B = 40;
	const size_t tot[2] = { n, m };
	/* x range up to the larger 99th percentile: a few slow first calls
	 * (imports, warm-up) would squash everything else; they go to the
	 * last bin and are counted in a note */
	int64_t p99[2] = { t->all[0][(size_t)(0.99 * (double)(n - 1))], t->all[1][(size_t)(0.99 * (double)(m - 1))] };
	int64_t maxns = p99[0] > p99[1] ? p99[0] : p99[1];
	int64_t top = t->all[0][n - 1] > t->all[1][m - 1] ? t->all[0][n - 1] : t->all[1][m - 1];
	if (maxns <= (t->all[0][0] < t->all[1][0] ? t->all[0][0] : t->all[1][0]))
		maxns = top;
	size_t beyond = 0;
	/* unit: ms, or us when every duration is below 1 ms */
	double div = maxns >= 1000000 ? 1e6 : 1e3;
	const char *unit = div == 1e6 ? "ms" : "\u00b5s";
	double lo = (double)(t->all[0][0] < t->all[1][0] ? t->all[0][0] : t->all[1][0]) / div;
	double hi = (double)maxns / div;
	if (hi - lo < 1e-6) {
		lo -= 0.5;
		hi += 0.5;
	}
	double step = nice_step(hi - lo, 6);
	lo = floor(lo / step) * step;
	hi = ceil(hi / step) * step;
	if (hi <= lo)
		hi = lo + step;
	double bw = (hi - lo) / HIST_BINS, frac[2][HIST_BINS] = { { 0 } }, ymax = 0;
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < tot[s]; i++) {
			int k = (int)(((double)t->all[s][i] / div - lo) / bw);
			beyond += (double)t->all[s][i] / div > hi;
			k = k < 0 ? 0 : k >= HIST_BINS ? HIST_BINS - 1 : k;
			frac[s][k] += 1.0 / (double)tot[s];
		}
		for (int k = 0; k < HIST_BINS; k++)
			ymax = frac[s][k] > ymax ? frac[s][k] : ymax;
	}
	ymax = ymax <= 0 ? 1 : ymax * 1.08;
	double pw = W - L - R, ph = H - T - B;
#define X(v) (L + ((v) - lo) / (hi - lo) * pw)
#define Y(f) (T + ph - (f) / ymax * ph)
	bf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", W, H, W, H);
	bf(b, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\" stroke=\"#c9d0d8\"/>", L, T, pw, ph);
	static const char *fill[2] = { "#2f6fb3", "#d23b2f" };
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < HIST_BINS; k++)
			if (frac[s][k] > 0)
				bf(b, "<rect class=\"bar %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.5\"/>",
				   s ? "adv" : "clean", X(lo + k * bw) + 0.5, Y(frac[s][k]), pw / HIST_BINS - 1,
				   frac[s][k] / ymax * ph, fill[s]);
	for (int s = 0; s < 2; s++) {
		double md = median_ms(t->all[s], tot[s]) * 1e6 / div;
		bf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>",
		   X(md), X(md), T, T + ph, fill[s]);
	}
	/* axes */
	for (double v = lo; v <= hi + step / 2; v += step) {
		bf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#5b6572\"/>", X(v), X(v), T + ph, T + ph + 4);
		bf(b, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"10.5\" text-anchor=\"middle\" fill=\"#3b444e\">%g</text>", X(v),
		   T + ph + 15, fabs(v) < step / 1e6 ? 0 : v);
	}
	bf(b, "<text x=\"%.0f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"#3b444e\">t(k) per execution, %s</text>",
	   L + pw / 2, H - 6, unit);
	double ys = nice_step(ymax, 4);
	for (double f = 0; f <= ymax; f += ys) {
		bf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#5b6572\"/>", L - 4, L, Y(f), Y(f));
		bf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"10.5\" text-anchor=\"end\" fill=\"#3b444e\">%.0f%%</text>", L - 6,
		   Y(f) + 3.5, f * 100);
	}
	if (beyond)
		bf(b, "<text x=\"%.0f\" y=\"%d\" font-size=\"10.5\" text-anchor=\"end\" fill=\"#5b6572\">%zu above %g %s "
		      "(max %.3g) in the last bin</text>", L + pw - 4, T + 14, beyond, hi, unit, (double)top / div);
	/* legend */
	bf(b, "<rect x=\"%.0f\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\" fill-opacity=\"0.6\"/>"
	      "<text x=\"%.0f\" y=\"%d\" font-size=\"11\" fill=\"#1d2228\">clean E (%zu), median %.4g %s</text>",
	   (double)L, 4, fill[0], (double)L + 15, 13, n, median_ms(t->all[0], n) * 1e6 / div, unit);
	bf(b, "<rect x=\"%.0f\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\" fill-opacity=\"0.6\"/>"
	      "<text x=\"%.0f\" y=\"%d\" font-size=\"11\" fill=\"#1d2228\">adversarial E' (%zu), median %.4g %s</text>",
	   (double)L, 20, fill[1], (double)L + 15, 29, m, median_ms(t->all[1], m) * 1e6 / div, unit);
	bs(b, "</svg>");
#undef X
#undef Y
}

static int cmp_auc_extreme(const void *a, const void *b)
{
	const struct tkey *x = *(struct tkey *const *)a, *y = *(struct tkey *const *)b;
	if (x->set != y->set)
		return y->set - x->set;
	double dx = fabs(x->auc - 0.5), dy = fabs(y->auc - 0.5);
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void time_plots(struct buf *b, struct pass2 *p, const struct lt_obs_result *res, size_t n, size_t m)
{
	bs(b, "<h2 id=\"time-plots\">time: durations clean vs adversarial</h2>\n");
	for (size_t i = 0; i < p->nk; i++) {
		struct tkey *t = p->kv[i];
		for (size_t k = 0; k < res->D_EE2.n; k++)
			if (!strcmp(res->D_EE2.v[k].key, t->key))
				t->set = 1;
		for (size_t k = 0; k < res->D_IF.n; k++)
			if (!strcmp(res->D_IF.v[k].key, t->key))
				t->set = 2;
		tkey_finish(t, n, m);
	}
	qsort(p->kv, p->nk, sizeof(*p->kv), cmp_auc_extreme);
	size_t shown = 0, nset = 0;
	for (size_t i = 0; i < p->nk; i++)
		nset += p->kv[i]->set > 0;
	size_t want = nset >= MAX_TIME_PLOTS ? MAX_TIME_PLOTS : nset + MIN_AUC_PLOTS;
	if (want > MAX_TIME_PLOTS)
		want = MAX_TIME_PLOTS;
	if (!p->nk) {
		bs(b, "<p class=\"empty\">no call has a duration (the paper's return-value files carry none)</p>\n");
		return;
	}
	bf(b, "<p class=\"meta\">t(k) = total duration of the calls with key k in an execution (0 when absent). "
	      "Shown: the keys of D_IF and D_EE' (%zu), then the keys whose durations differ most by "
	      "AUC = P(t in E' &gt; t in E), 0.5 = no difference. Dashed: medians.</p>\n<div class=\"plots\">\n", nset);
	for (size_t i = 0; i < p->nk && shown < want; i++, shown++) {
		struct tkey *t = p->kv[i];
		bs(b, "<div class=\"plot\" data-key=\"");
		besc(b, t->key);
		bs(b, "\"><div class=\"t\">");
		besc(b, t->key);
		if (t->set == 2)
			bs(b, "<span class=\"tag if\">D_IF</span>");
		else if (t->set == 1)
			bs(b, "<span class=\"tag ee\">D_EE'</span>");
		bf(b, "<span class=\"tag auc\">AUC %.3f</span></div>\n", t->auc);
		svg_hist(b, t, n, m);
		bs(b, "</div>\n");
	}
	bs(b, "</div>\n");
}

/* ---- the page -------------------------------------------------------------- */
static int write_file(const char *path, const struct buf *b)
{
	/* the report shows values: 0600, errors with their cause */
	return lt_out_write_all(path, b->p, b->len) ? LT_EXIT_FAIL : 0;
}

int lt_report_write(const char *path, const struct lt_report_in *in)
{
	const struct lt_obs_result *res = in->res;
	unsigned mask = in->so->obs_mask;
	struct pass2 p = { .keykind = in->so->keykind };
	int rc = 0;
	size_t nrules = 0;
	for (int o = 0; o < LT_OBS_N; o++)
		if (mask & (1u << o))
			nrules += res[o].D_IF.n;

	/* the rules of D_IF, as --rules-out writes them */
	if (nrules) {
		p.rs = lt_rules_from_sets(res, mask, in->so->keykind);
		p.st = calloc(p.rs->n + 1, sizeof(*p.st));
		for (size_t i = 0; i < p.rs->n; i++) {
			if (p.rs->v[i].obs == LT_OBS_RETURNS) {
				p.has_returns = true;
				u64map_put(&p.rkeys, (uint64_t)(uintptr_t)p.rs->v[i].key, &p);
			}
		}
	}
	bool want_time = mask & (1u << LT_OBS_TIME);
	if (want_time || p.has_returns)
		p.obs = lt_observer_new(in->so->keykind);
	rc = pass2_read(&p, in->clean, 0, want_time);
	if (!rc)
		rc = pass2_read(&p, in->adv, 1, want_time);
	if (!rc && (p.total[0] != in->n || p.total[1] != in->m)) {
		lt_err("--report: the inputs changed while analyzing (E %zu then %llu executions)",
			in->n, (unsigned long long)p.total[0]);
		rc = LT_EXIT_USAGE;
	}

	struct buf b = { 0 };
	if (!rc) {
		size_t nif = 0;
		for (int o = 0; o < LT_OBS_N; o++)
			if (mask & (1u << o))
				nif += res[o].nD_IF;
		bs(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<meta name=\"generator\" content=\"leaktrace\"><title>leaktrace report: ");
		besc(&b, in->clean);
		bs(&b, " vs ");
		besc(&b, in->adv);
		bs(&b, "</title><style>");
		bs(&b, CSS);
		bs(&b, "</style></head><body>\n<h1>leaktrace: information leakage report</h1>\n");
		bf(&b, "<p class=\"meta\">E (clean): <b id=\"nE\">%zu</b> executions from <code>", in->n);
		besc(&b, in->clean);
		bf(&b, "</code></p>\n<p class=\"meta\">E' (adversarial): <b id=\"nE2\">%zu</b> executions from <code>", in->m);
		besc(&b, in->adv);
		bs(&b, "</code></p>\n");
		char when[64];
		time_t now = time(NULL);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
		bf(&b, "<p class=\"meta\">key: <b>%s</b> \u00b7 time threshold: %g ms \u00b7 incomplete executions skipped: "
		       "%zu (E %zu, E' %zu) \u00b7 %s</p>\n",
		   lt_key_names[in->so->keykind], in->thr_ms, in->skipped[0] + in->skipped[1], in->skipped[0],
		   in->skipped[1], when);
		if (nif)
			bf(&b, "<p class=\"verdict leak\" id=\"verdict\">information leakage found: |D_IF| = %zu</p>\n", nif);
		else
			bs(&b, "<p class=\"verdict noleak\" id=\"verdict\">no information leakage found (D_IF is empty)</p>\n");

		bs(&b, "<h2 id=\"sizes\">Set sizes</h2>\n<table id=\"sizes-table\"><tr><th class=\"l\">observation</th>"
		       "<th>|D_E|</th><th>|D_E'|</th><th>|D_EE'|</th><th>|D_IF|</th></tr>\n");
		for (int o = 0; o < LT_OBS_N; o++) {
			if (!(mask & (1u << o)))
				continue;
			bf(&b, "<tr data-obs=\"%s\"><th class=\"l\"><a href=\"#obs-%s\">%s</a></th><td data-set=\"D_E\">%zu</td>"
			       "<td data-set=\"D_E_prime\">%zu</td><td data-set=\"D_EE_prime\">%zu</td><td data-set=\"D_IF\">%zu</td></tr>\n",
			   lt_obs_names[o], lt_obs_names[o], lt_obs_names[o], res[o].nD_E, res[o].nD_E2, res[o].nD_EE2,
			   res[o].nD_IF);
		}
		bs(&b, "</table>\n<p class=\"meta\">D_E, D_E': differences among clean and among adversarial executions; "
		       "D_EE': differences between every clean and every adversarial execution; "
		       "D_IF = D_EE' \u2212 D_E \u2212 D_E' (the paper's information leakage).</p>\n");

		for (int o = 0; o < LT_OBS_N; o++) {
			if (!(mask & (1u << o)))
				continue;
			bf(&b, "<h2 id=\"obs-%s\">%s</h2>\n", lt_obs_names[o], lt_obs_names[o]);
			elem_list(&b, "D_IF", "D_IF", &res[o].D_IF, o, in->n, in->m);
			if (res[o].nD_EE2 != res[o].nD_IF) {
				if (res[o].D_EE2.n <= MAX_EE_LISTED)
					elem_list(&b, "D_EE'", "D_EE", &res[o].D_EE2, o, in->n, in->m);
				else
					bf(&b, "<p class=\"meta\">D_EE' has %zu elements (not listed; see <code>analyze -j</code>)</p>\n",
					   res[o].D_EE2.n);
			}
		}
		table1(&b, &p);
		if (want_time)
			time_plots(&b, &p, &res[LT_OBS_TIME], in->n, in->m);
		bs(&b, "<p class=\"meta\" style=\"margin-top:28px\">generated by <code>leaktrace analyze --report</code></p>\n"
		       "</body></html>\n");
		rc = write_file(path, &b);
	}

	free(b.p);
	for (size_t i = 0; i < p.nk; i++) {
		for (int s = 0; s < 2; s++) {
			free(p.kv[i]->v[s]);
			free(p.kv[i]->all[s]);
		}
		free(p.kv[i]);
	}
	free(p.kv);
	u64map_free(&p.keys);
	u64map_free(&p.rkeys);
	hmap_free(&p.seen);
	if (p.rs)
		for (size_t i = 0; i < p.rs->n; i++)
			free(p.st[i].cols);
	free(p.st);
	lt_rules_free(p.rs);
	if (p.obs)
		lt_observer_free(p.obs);
	return rc;
}
