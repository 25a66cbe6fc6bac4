// SPDX-License-Identifier: MIT
/* Summaries: per-element execution counts of a set of executions, their
 * file format (docs/ANALYSIS.md "Summaries"), `leaktrace summarize`, and
 * analyze's summary inputs. */
#define _GNU_SOURCE	/* strverscmp: the trace reader's file order */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "analysis/cmds.h"
#include "analysis/summary.h"
#include "common/cli.h"
#include "common/err.h"
#include "common/hmap.h"
#include "common/json.h"
#include "common/outfile.h"

/* ---- capture options ------------------------------------------------------- */
static void cap_set(struct lt_sum_capture *c, const char *name, const char *val)
{
	if (c->n < LT_SUM_CAPTURE_MAX) {
		c->name[c->n] = lt_intern(name);
		c->val[c->n++] = val ? lt_intern(val) : NULL;
	}
}

/* The header fields that say how executions were captured (FORMAT.md §1).
 * New capture options in the header: one cap_set line each. */
void lt_sum_capture_of_header(const struct lt_header *h, struct lt_sum_capture *c)
{
	char fmt[16];
	memset(c, 0, sizeof(*c));
	if (!h) {	/* the paper's JSON traces: no header */
		cap_set(c, "format", "paper");
		cap_set(c, "root", NULL);
		cap_set(c, "mechanism", NULL);
		cap_set(c, "durations", NULL);
		return;
	}
	snprintf(fmt, sizeof(fmt), "%d", h->format);
	cap_set(c, "format", fmt);
	cap_set(c, "root", h->root);
	cap_set(c, "mechanism", h->mechanism);
	/* compared where the mechanism itself is not: --no-durations
	 * (FORMAT.md §1: usdt-returns, return-sites) records no time */
	const char *m = h->mechanism ? h->mechanism : "";
	cap_set(c, "durations", !strcmp(m, "usdt-returns") || !strcmp(m, "return-sites") ? "no" : "yes");
	/* how values were captured (FORMAT.md §1 "capture"; the fields
	 * lt_capture_differs compares for traces); absent in older traces */
	if (!h->values)
		return;
	char num[16], ex[512];
	size_t used = 0;
	cap_set(c, "values", h->values);
	if (!strcmp(h->values, "hashed"))
		cap_set(c, "hash_key", h->hash_key);
	if (strcmp(h->values, "none")) {
		snprintf(num, sizeof(num), "%d", h->str_len);
		cap_set(c, "str_len", num);
	}
	snprintf(num, sizeof(num), "%d", h->max_depth);
	cap_set(c, "max_depth", num);
	cap_set(c, "args", h->args ? "yes" : "no");
	ex[0] = 0;
	for (int i = 0; i < h->nexclude && used < sizeof(ex); i++)
		used += snprintf(ex + used, sizeof(ex) - used, "%s%s", i ? "," : "", h->exclude[i]);
	cap_set(c, "exclude", h->nexclude ? ex : "none");
}

const char *lt_sum_capture_get(const struct lt_sum_capture *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->name[i], name))
			return c->val[i];
	return NULL;
}

static bool cap_has(const struct lt_sum_capture *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->name[i], name))
			return true;
	return false;
}

/* Fields kept to inform, not compared: the probe mechanism follows the
 * Python build (USDT on Debian's 3.11, sites elsewhere: PYTHON_VERSIONS.md)
 * and records the same trees, and a fleet mixes builds. Merged summaries
 * of different mechanisms say "mixed". */
static bool cap_informative(const char *name)
{
	return !strcmp(name, "mechanism");
}

/* the one comparison of capture options (interned values: pointer equality) */
const char *lt_sum_capture_diff(const struct lt_sum_capture *a, const struct lt_sum_capture *b)
{
	for (int i = 0; i < a->n; i++)
		if (!cap_informative(a->name[i]) &&
		    (!cap_has(b, a->name[i]) || lt_sum_capture_get(b, a->name[i]) != a->val[i]))
			return a->name[i];
	for (int i = 0; i < b->n; i++)
		if (!cap_has(a, b->name[i]))
			return b->name[i];
	return NULL;
}

/* ---- the accumulator ------------------------------------------------------- */
enum { E_RET, E_CALLS, E_CKEY, E_TIME };

struct selem {
	int kind;		/* E_* */
	const void *key;
	const char *val;	/* E_RET */
	int64_t num;		/* E_CALLS: the count */
	uint32_t cnt;		/* executions holding it */
	uint64_t stamp;		/* E_RET: last execution counted */
	const struct lt_site *path;
	int64_t min, max;	/* E_TIME */
	int64_t (*sp)[2];	/* E_TIME: chains [lo, hi], sorted up to nsorted */
	uint32_t nsp, spcap, nsorted;
};

struct lt_sum {
	struct lt_sum_opts o;
	struct lt_observer *obs;
	struct lt_arena arena;
	struct hmap map[4];	/* per E_* */
	size_t count, skipped;
	uint64_t seq;
	bool has_cap;
	struct lt_sum_capture cap;
	const char *cap_from;	/* the file the capture options came from */
};

struct lt_sum *lt_sum_new(const struct lt_sum_opts *o)
{
	struct lt_sum *s = lt_xcalloc(1, sizeof(*s));
	s->o = *o;
	if (s->o.threshold_ns < 0)
		s->o.threshold_ns = 0;
	s->obs = lt_observer_new(o->keykind);
	return s;
}

void lt_sum_free(struct lt_sum *s)
{
	if (!s)
		return;
	struct hent *h;
	size_t i = 0;
	while ((h = hmap_next(&s->map[E_TIME], &i)))
		free(((struct selem *)h->v)->sp);
	for (int k = 0; k < 4; k++)
		hmap_free(&s->map[k]);
	lt_arena_free(&s->arena);
	lt_observer_free(s->obs);
	free(s);
}

size_t lt_sum_count(const struct lt_sum *s)
{
	return s->count;
}

size_t lt_sum_skipped(const struct lt_sum *s)
{
	return s->skipped;
}

const struct lt_sum_capture *lt_sum_capture(const struct lt_sum *s)
{
	return s->has_cap ? &s->cap : NULL;
}

static struct selem *elem_get(struct lt_sum *s, int kind, const void *key, uint64_t k2)
{
	struct hent *h = hmap_slot(&s->map[kind], (uintptr_t)key, k2);
	if (h->k1)
		return h->v;
	struct selem *e = lt_arena_alloc(&s->arena, sizeof(*e));
	e->kind = kind;
	e->key = key;
	hmap_put(&s->map[kind], h, (uintptr_t)key, k2, e);
	return e;
}

static int span_cmp(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* sort and join chains whose ends are at most T apart */
static void span_compact(struct selem *e, int64_t T)
{
	if (e->nsp < 2) {
		e->nsorted = e->nsp;
		return;
	}
	qsort(e->sp, e->nsp, sizeof(*e->sp), span_cmp);
	uint32_t w = 0;
	for (uint32_t i = 1; i < e->nsp; i++) {
		if (e->sp[i][0] <= lt_sat_add(e->sp[w][1], T)) {
			if (e->sp[i][1] > e->sp[w][1])
				e->sp[w][1] = e->sp[i][1];
		} else {
			w++;
			e->sp[w][0] = e->sp[i][0];
			e->sp[w][1] = e->sp[i][1];
		}
	}
	e->nsp = e->nsorted = w + 1;
}

static void span_add(struct selem *e, int64_t lo, int64_t hi, int64_t T)
{
	if (e->nsp == e->spcap) {
		e->spcap = e->spcap ? e->spcap * 2 : 4;
		e->sp = lt_xrealloc(e->sp, e->spcap * sizeof(*e->sp));
	}
	e->sp[e->nsp][0] = lo;
	e->sp[e->nsp][1] = hi;
	e->nsp++;
	if (e->nsp >= 2 * e->nsorted + 16)
		span_compact(e, T);
}

/* merge cnt executions' worth of one element (from an execution or a file) */
static void elem_merge(struct lt_sum *s, struct selem *e, uint32_t cnt, const struct lt_site *path,
		       int64_t min, int64_t max)
{
	if (e->kind == E_TIME) {
		if (!e->cnt || min < e->min)
			e->min = min;
		if (!e->cnt || max > e->max)
			e->max = max;
	}
	e->cnt += cnt;
	if (!e->path)	/* the first witness in input order, as analyze keeps */
		e->path = path;
}

static void on_elem(void *ctx, int obs, const void *key, const char *val, int64_t num,
		    const struct lt_node *ex)
{
	struct lt_sum *s = ctx;
	struct selem *e;
	if (obs == LT_OBS_RETURNS) {
		e = elem_get(s, E_RET, key, (uintptr_t)val);
		if (e->stamp == s->seq)
			return;	/* already counted for this execution */
		e->stamp = s->seq;
		e->val = val;
		elem_merge(s, e, 1, e->path ? NULL : lt_observer_site(s->obs, ex), 0, 0);
	} else if (obs == LT_OBS_CALLS) {
		e = elem_get(s, E_CKEY, key, 0);
		const struct lt_site *p = e->path ? NULL : lt_observer_site(s->obs, ex);
		elem_merge(s, e, 1, p, 0, 0);
		e = elem_get(s, E_CALLS, key, (uint64_t)num);
		e->num = num;
		elem_merge(s, e, 1, e->path ? NULL : p ? p : lt_observer_site(s->obs, ex), 0, 0);
	} else {
		e = elem_get(s, E_TIME, key, 0);
		elem_merge(s, e, 1, e->path ? NULL : lt_observer_site(s->obs, ex), num, num);
		span_add(e, num, num, s->o.threshold_ns);
	}
}

/* capture options of one more input: the first ones are kept, later ones
 * must be equal */
static int cap_check(struct lt_sum *s, const struct lt_sum_capture *c, const char *from)
{
	if (!s->has_cap) {
		s->cap = *c;
		s->has_cap = true;
		s->cap_from = lt_intern(from);
		return 0;
	}
	const char *f = lt_sum_capture_diff(&s->cap, c);
	if (!f) {
		for (int i = 0; i < s->cap.n; i++)
			if (cap_informative(s->cap.name[i]) && lt_sum_capture_get(c, s->cap.name[i]) != s->cap.val[i])
				s->cap.val[i] = lt_intern("mixed");
		return 0;
	}
	const char *a = lt_sum_capture_get(&s->cap, f), *b = lt_sum_capture_get(c, f);
	lt_err("%s: captured with %s %s%s%s, %s with %s %s%s%s: traces and summaries of different capture "
	       "options do not compare", from, f, b ? "\"" : "", b ? b : "(absent)", b ? "\"" : "", s->cap_from,
	       f, a ? "\"" : "", a ? a : "(absent)", a ? "\"" : "");
	return LT_EXIT_USAGE;
}

/* ---- raw traces ------------------------------------------------------------ */
static int add_trace(struct lt_sum *s, const char *path)
{
	struct lt_reader *r = lt_reader_open(path);
	if (!r)
		return LT_EXIT_USAGE;
	struct lt_exec *e;
	int n, rc = 0;
	bool checked = false;
	while ((n = lt_reader_next(r, &e)) == 1) {
		if (!checked) {
			struct lt_sum_capture c;
			lt_sum_capture_of_header(lt_reader_header(r), &c);
			checked = true;
			if ((rc = cap_check(s, &c, path))) {
				lt_exec_free(e);
				break;
			}
		}
		if (!e->complete || !e->root) {
			s->skipped++;
		} else {
			s->count++;
			s->seq++;
			lt_observe(s->obs, e, s->o.obs_mask, on_elem, s);
		}
		lt_exec_free(e);
	}
	if (n < 0)
		rc = LT_EXIT_USAGE;
	if (!rc && !checked && lt_reader_header(r)) {	/* a header and no execution */
		struct lt_sum_capture c;
		lt_sum_capture_of_header(lt_reader_header(r), &c);
		rc = cap_check(s, &c, path);
	}
	lt_reader_close(r);
	return rc;
}

/* ---- summary files --------------------------------------------------------- */
struct lines {
	gzFile gz;
	char *buf;
	size_t cap, len;
	long no;
};

/* the next line (without its newline) in l->buf: 1, 0 at the end, -1 on a
 * read error */
static int next_line(struct lines *l)
{
	l->len = 0;
	for (;;) {
		if (l->cap - l->len < 4096) {
			l->cap = l->cap ? l->cap * 2 : 65536;
			l->buf = lt_xrealloc(l->buf, l->cap);
		}
		if (!gzgets(l->gz, l->buf + l->len, (int)(l->cap - l->len))) {
			int err;
			gzerror(l->gz, &err);
			if (err && err != Z_STREAM_END)
				return -1;
			break;
		}
		l->len += strlen(l->buf + l->len);
		if (l->len && l->buf[l->len - 1] == '\n') {
			l->buf[--l->len] = 0;
			break;
		}
	}
	l->no++;
	return l->len || !gzeof(l->gz) ? 1 : 0;
}

/* the first line of path is a summary header. Called for every input file
 * of every analyze: reads at most the first 64 KiB (a header line is
 * short; the paper's traces are one long line each) */
#define HEADER_MAX 65536
static bool file_is_summary(const char *path)
{
	gzFile gz = gzopen(path, "rb");
	bool yes = false;
	if (!gz)
		return false;
	char *buf = lt_xrealloc(NULL, HEADER_MAX + 1);
	int n = gzread(gz, buf, HEADER_MAX);
	char *nl = n > 0 ? memchr(buf, '\n', (size_t)n) : NULL;
	size_t len = nl ? (size_t)(nl - buf) : n > 0 && n < HEADER_MAX ? (size_t)n : 0;
	buf[len] = 0;
	if (len && strstr(buf, "\"summary\"")) {
		struct jparse p;
		jp_init(&p);
		if (!jp_parse(&p, buf, len) && p.t[0].type == JT_OBJ) {
			int t = jp_get(&p, 0, "type");
			yes = t >= 0 && p.t[t].type == JT_STR && !strcmp(p.t[t].s, "summary");
		}
		jp_free(&p);
	}
	gzclose(gz);
	free(buf);
	return yes;
}

static int dir_filter(const struct dirent *d)
{
	const char *n = d->d_name;
	size_t len = strlen(n);
	if (n[0] == '.')
		return 0;
	static const char *const suf[] = { ".json", ".jsonl", ".gz", ".ndjson", ".ltsum" };
	for (size_t i = 0; i < sizeof(suf) / sizeof(suf[0]); i++) {
		size_t k = strlen(suf[i]);
		if (len >= k && !strcmp(n + len - k, suf[i]))
			return 1;
	}
	return 0;
}

static int natural_sort(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

/* the regular files of a directory in the trace reader's order; NULL
 * after a message */
static char **dir_files(const char *path, int *nfiles)
{
	struct dirent **ents;
	int n = scandir(path, &ents, dir_filter, natural_sort), k = 0;
	if (n < 0) {
		lt_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	char **files = lt_xcalloc(n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		size_t plen = strlen(path) + strlen(ents[i]->d_name) + 2;
		char *p = lt_xcalloc(plen, 1);
		struct stat st;
		snprintf(p, plen, "%s/%s", path, ents[i]->d_name);
		if (!stat(p, &st) && S_ISREG(st.st_mode))
			files[k++] = p;
		else
			free(p);
		free(ents[i]);
	}
	free(ents);
	*nfiles = k;
	return files;
}

bool lt_is_summary_path(const char *path)
{
	struct stat st;
	if (!strcmp(path, "-") || stat(path, &st))
		return false;
	if (!S_ISDIR(st.st_mode))
		return file_is_summary(path);
	int n;
	bool yes = false;
	char **f = dir_files(path, &n);
	for (int i = 0; f && i < n; i++) {
		yes = yes || file_is_summary(f[i]);
		free(f[i]);
	}
	free(f);
	return yes;
}

/* a key: text for name/qualname, a site path for site */
static const struct lt_site *site_of_json(const struct jparse *p, int i, const char **why)
{
	const struct lt_site *s = NULL;
	if (i < 0 || p->t[i].type != JT_ARR || !p->t[i].n) {
		*why = "a site must be a non-empty array of [fn, index]";
		return NULL;
	}
	for (uint32_t j = i + 1; j < p->t[i].end; j = p->t[j].end) {
		int64_t idx;
		if (p->t[j].type != JT_ARR || p->t[j].n != 2 || p->t[j + 1].type != JT_STR ||
		    p->t[j + 2].type != JT_NUM || jp_int64(&p->t[j + 2], &idx) || idx < -1 || idx >= UINT32_MAX ||
		    (idx == -1 && (s || p->t[i].n != 1))) {
			*why = "a site step must be [fn, index] (index -1: the root alone)";
			return NULL;
		}
		s = lt_site_get(s, lt_intern_n(p->t[j + 1].s, p->t[j + 1].len),
				idx < 0 ? LT_SITE_ROOT : (uint32_t)idx);
	}
	return s;
}

static bool get_i64(const struct jparse *p, int obj, const char *k, int64_t *v)
{
	int i = jp_get(p, obj, k);
	return i >= 0 && p->t[i].type == JT_NUM && !jp_int64(&p->t[i], v);
}

static const char *get_str(const struct jparse *p, int obj, const char *k)
{
	int i = jp_get(p, obj, k);
	return i >= 0 && p->t[i].type == JT_STR ? p->t[i].s : NULL;
}

static unsigned obs_mask_of(const struct jparse *p, int i)
{
	unsigned m = 0;
	if (i < 0 || p->t[i].type != JT_ARR)
		return 0;
	for (uint32_t j = i + 1; j < p->t[i].end; j = p->t[j].end) {
		int o = p->t[j].type == JT_STR ? lt_obs_parse(p->t[j].s) : -1;
		if (o >= 0)
			m |= 1u << o;
	}
	return m;
}

/* the summary's header against what this run needs: 0, or a message */
static int check_header(struct lt_sum *s, const struct jparse *p, const char *path, int64_t *execs,
			int64_t *skipped)
{
	int64_t fmt, thr;
	const char *key = get_str(p, 0, "key");
	unsigned mask = obs_mask_of(p, jp_get(p, 0, "observe"));
	if (!get_i64(p, 0, "format", &fmt) || fmt != LT_SUMMARY_FORMAT) {
		lt_err("%s: summary format %s; this leaktrace reads format %d (make it again with this "
		       "leaktrace's summarize)", path, get_i64(p, 0, "format", &fmt) ? "other than 1" : "unknown",
		       LT_SUMMARY_FORMAT);
		return LT_EXIT_USAGE;
	}
	if (!key || lt_key_parse(key) < 0 || !get_i64(p, 0, "executions", execs) || *execs < 0 ||
	    !get_i64(p, 0, "skipped", skipped) || *skipped < 0 || !get_i64(p, 0, "time_threshold_ns", &thr) ||
	    jp_get(p, 0, "capture") < 0 || p->t[jp_get(p, 0, "capture")].type != JT_OBJ) {
		lt_err("%s:1: summary header without key, observe, time_threshold_ns, executions, skipped "
		       "or capture", path);
		return LT_EXIT_USAGE;
	}
	if (lt_key_parse(key) != s->o.keykind) {
		lt_err("%s: summary made with --key %s, this run uses --key %s", path, key,
		       lt_key_names[s->o.keykind]);
		return LT_EXIT_USAGE;
	}
	if ((s->o.obs_mask & mask) != s->o.obs_mask) {
		for (int o = 0; o < LT_OBS_N; o++)
			if ((s->o.obs_mask & ~mask) & (1u << o)) {
				lt_err("%s: summary made without the %s observation (summarize --observe), "
				       "this run needs it", path, lt_obs_names[o]);
				break;
			}
		return LT_EXIT_USAGE;
	}
	if ((s->o.obs_mask & (1u << LT_OBS_TIME)) && thr != s->o.threshold_ns) {
		lt_err("%s: summary made with --time-threshold-ms %g, this run uses %g (the time sets "
		       "are exact only at the summary's threshold)", path, thr / 1e6, s->o.threshold_ns / 1e6);
		return LT_EXIT_USAGE;
	}
	struct lt_sum_capture c = { 0 };
	int ci = jp_get(p, 0, "capture");
	for (uint32_t j = ci + 1; j < p->t[ci].end && c.n < LT_SUM_CAPTURE_MAX; j = p->t[j + 1].end) {
		if (p->t[j + 1].type != JT_STR && p->t[j + 1].type != JT_NULL) {
			lt_err("%s:1: capture option %s is not a string or null", path, p->t[j].s);
			return LT_EXIT_USAGE;
		}
		c.name[c.n] = lt_intern(p->t[j].s);
		c.val[c.n++] = p->t[j + 1].type == JT_STR ? lt_intern_n(p->t[j + 1].s, p->t[j + 1].len) : NULL;
	}
	return cap_check(s, &c, path);
}

/* one element line into the accumulator: NULL or why it is bad */
static const char *merge_line(struct lt_sum *s, const struct jparse *p)
{
	const char *why = NULL, *o = get_str(p, 0, "o");
	int64_t n, v = 0, mn = 0, mx = 0;
	int kind;
	if (!o)
		return "no \"o\" (observation)";
	if (!strcmp(o, "returns"))
		kind = E_RET;
	else if (!strcmp(o, "calls"))
		kind = E_CALLS;
	else if (!strcmp(o, "calls_key"))
		kind = E_CKEY;
	else if (!strcmp(o, "time"))
		kind = E_TIME;
	else
		return "unknown \"o\"";
	int obs = kind == E_RET ? LT_OBS_RETURNS : kind == E_TIME ? LT_OBS_TIME : LT_OBS_CALLS;
	if (!get_i64(p, 0, "n", &n) || n <= 0 || n > UINT32_MAX)
		return "\"n\" must be a positive count of executions";
	if (!(s->o.obs_mask & (1u << obs)))
		return NULL;	/* an observation this run does not make */
	int ki = jp_get(p, 0, "k");
	const void *key;
	if (s->o.keykind == LT_KEY_SITE) {
		key = site_of_json(p, ki, &why);
		if (!key)
			return why;
	} else {
		if (ki < 0 || p->t[ki].type != JT_STR)
			return "\"k\" must be a string";
		key = lt_intern_n(p->t[ki].s, p->t[ki].len);
	}
	const struct lt_site *path = NULL;
	int pi = jp_get(p, 0, "p");
	if (pi >= 0 && !(path = site_of_json(p, pi, &why)))
		return why;
	uint64_t k2 = 0;
	const char *val = NULL;
	if (kind == E_RET) {
		int vi = jp_get(p, 0, "v");
		if (vi < 0 || p->t[vi].type != JT_STR)
			return "\"v\" must be a string";
		val = lt_intern_n(p->t[vi].s, p->t[vi].len);
		k2 = (uintptr_t)val;
	} else if (kind == E_CALLS) {
		if (!get_i64(p, 0, "c", &v) || v <= 0)
			return "\"c\" must be a positive call count";
		k2 = (uint64_t)v;
	} else if (kind == E_TIME) {
		if (!get_i64(p, 0, "min", &mn) || !get_i64(p, 0, "max", &mx) || mn > mx)
			return "\"min\" and \"max\" must be integers, min <= max";
	}
	struct selem *e = elem_get(s, kind, key, k2);
	e->val = val;
	e->num = v;
	if (kind == E_TIME) {
		int si = jp_get(p, 0, "spans");
		if (si < 0 || p->t[si].type != JT_ARR || !p->t[si].n)
			return "\"spans\" must be a non-empty array of [lo, hi]";
		for (uint32_t j = si + 1; j < p->t[si].end; j = p->t[j].end) {
			int64_t lo, hi;
			if (p->t[j].type != JT_ARR || p->t[j].n != 2 || p->t[j + 1].type != JT_NUM ||
			    p->t[j + 2].type != JT_NUM || jp_int64(&p->t[j + 1], &lo) || jp_int64(&p->t[j + 2], &hi) ||
			    lo > hi || lo < mn || hi > mx)
				return "a span must be [lo, hi] with min <= lo <= hi <= max";
			span_add(e, lo, hi, s->o.threshold_ns);
		}
	}
	elem_merge(s, e, (uint32_t)n, path, mn, mx);
	return NULL;
}

static int add_summary(struct lt_sum *s, const char *path)
{
	struct lines l = { .gz = gzopen(path, "rb") };
	struct jparse p;
	int rc = 0, r;
	int64_t execs = 0, skipped = 0, elems = 0, want = -1;
	if (!l.gz) {
		lt_err("%s: %s", path, strerror(errno));
		return LT_EXIT_USAGE;
	}
	jp_init(&p);
	while ((r = next_line(&l)) == 1) {
		if (want >= 0) {
			lt_err("%s:%ld: a line after the summary's end line", path, l.no);
			rc = LT_EXIT_USAGE;
			break;
		}
		if (jp_parse(&p, l.buf, l.len) || p.t[0].type != JT_OBJ) {
			lt_err("%s:%ld: %s", path, l.no, p.t && p.ntok && p.t[0].type != JT_OBJ && !p.err[0] ?
			       "not a JSON object" : p.err);
			rc = LT_EXIT_USAGE;
			break;
		}
		const char *type = get_str(&p, 0, "type");
		if (l.no == 1) {
			if ((rc = check_header(s, &p, path, &execs, &skipped)))
				break;
			continue;
		}
		if (type && !strcmp(type, "end")) {
			if (!get_i64(&p, 0, "elements", &want) || want != elems) {
				lt_err("%s:%ld: the end line counts %lld elements, the file holds %lld", path, l.no,
				       (long long)want, (long long)elems);
				rc = LT_EXIT_USAGE;
				break;
			}
			continue;
		}
		const char *why = merge_line(s, &p);
		if (why) {
			lt_err("%s:%ld: %s", path, l.no, why);
			rc = LT_EXIT_USAGE;
			break;
		}
		elems++;
	}
	if (!rc && r < 0) {
		lt_err("%s: read error after line %ld", path, l.no);
		rc = LT_EXIT_USAGE;
	} else if (!rc && want < 0) {	/* never silent loss: a cut file is refused */
		lt_err("%s: no end line: the summary is truncated (line %ld is its last)", path, l.no);
		rc = LT_EXIT_USAGE;
	}
	if (!rc) {
		s->count += (size_t)execs;
		s->skipped += (size_t)skipped;
	}
	jp_free(&p);
	gzclose(l.gz);
	free(l.buf);
	return rc;
}

static int add_file(struct lt_sum *s, const char *path)
{
	return file_is_summary(path) ? add_summary(s, path) : add_trace(s, path);
}

int lt_sum_add_path(struct lt_sum *s, const char *path)
{
	struct stat st;
	if (strcmp(path, "-") && stat(path, &st)) {
		lt_err("%s: %s", path, strerror(errno));
		return LT_EXIT_USAGE;
	}
	if (!strcmp(path, "-") || !S_ISDIR(st.st_mode))
		return strcmp(path, "-") ? add_file(s, path) : add_trace(s, path);
	int n, rc = 0;
	char **f = dir_files(path, &n);
	if (!f)
		return LT_EXIT_USAGE;
	if (!n) {
		lt_err("%s: no trace or summary files (*.jsonl, *.json, *.gz, *.ltsum) in this directory", path);
		rc = LT_EXIT_USAGE;
	}
	for (int i = 0; i < n; i++) {
		if (!rc)
			rc = add_file(s, f[i]);
		free(f[i]);
	}
	free(f);
	return rc;
}

/* ---- writing --------------------------------------------------------------- */
static void json_site(struct jw *j, const struct lt_site *s)
{
	size_t n = 0;
	for (const struct lt_site *x = s; x; x = x->parent)
		n++;
	const struct lt_site **chain = lt_xcalloc(n ? n : 1, sizeof(*chain));
	n = 0;
	for (const struct lt_site *x = s; x; x = x->parent)
		chain[n++] = x;
	jw_arr(j);
	while (n--) {
		jw_arr(j);
		jw_strn(j, chain[n]->fn, lt_intern_len(chain[n]->fn));
		jw_int(j, chain[n]->idx == LT_SITE_ROOT ? -1 : (int64_t)chain[n]->idx);
		jw_arr_end(j);
	}
	jw_arr_end(j);
	free(chain);
}

static const char *const kind_names[] = { "returns", "calls", "calls_key", "time" };

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lt_sum_write(struct lt_sum *s, const char *path)
{
	struct jw j;
	bool gz = strlen(path) > 3 && !strcmp(path + strlen(path) - 3, ".gz");
	int rc = 0;
	jw_init(&j);
	jw_obj(&j);
	jw_key(&j, "type");
	jw_str(&j, "summary");
	jw_key(&j, "format");
	jw_int(&j, LT_SUMMARY_FORMAT);
	jw_key(&j, "tool");
	jw_str(&j, "leaktrace");
	jw_key(&j, "key");
	jw_str(&j, lt_key_names[s->o.keykind]);
	jw_key(&j, "observe");
	jw_arr(&j);
	for (int o = 0; o < LT_OBS_N; o++)
		if (s->o.obs_mask & (1u << o))
			jw_str(&j, lt_obs_names[o]);
	jw_arr_end(&j);
	jw_key(&j, "time_threshold_ns");
	jw_int(&j, s->o.threshold_ns);
	jw_key(&j, "executions");
	jw_uint(&j, s->count);
	jw_key(&j, "skipped");
	jw_uint(&j, s->skipped);
	jw_key(&j, "capture");
	jw_obj(&j);
	for (int i = 0; s->has_cap && i < s->cap.n; i++) {
		jw_key(&j, s->cap.name[i]);
		if (s->cap.val[i])
			jw_strn(&j, s->cap.val[i], lt_intern_len(s->cap.val[i]));
		else
			jw_null(&j);
	}
	jw_obj_end(&j);
	jw_obj_end(&j);
	jw_raw(&j, "\n", 1);

	/* element lines, sorted: the same executions give the same file */
	size_t n = 0, k = 0;
	for (int m = 0; m < 4; m++)
		n += s->map[m].len;
	char **lines = lt_xcalloc(n ? n : 1, sizeof(char *));
	struct jw l;
	jw_init(&l);
	for (int m = 0; m < 4; m++) {
		struct hent *h;
		size_t i = 0;
		while ((h = hmap_next(&s->map[m], &i))) {
			struct selem *e = h->v;
			jw_reset(&l);
			jw_obj(&l);
			jw_key(&l, "o");
			jw_str(&l, kind_names[m]);
			jw_key(&l, "k");
			if (s->o.keykind == LT_KEY_SITE)
				json_site(&l, e->key);
			else
				jw_strn(&l, e->key, lt_intern_len(e->key));
			if (m == E_RET) {
				jw_key(&l, "v");
				jw_strn(&l, e->val, lt_intern_len(e->val));
			} else if (m == E_CALLS) {
				jw_key(&l, "c");
				jw_int(&l, e->num);
			}
			jw_key(&l, "n");
			jw_uint(&l, e->cnt);
			if (m == E_TIME) {
				span_compact(e, s->o.threshold_ns);
				jw_key(&l, "min");
				jw_int(&l, e->min);
				jw_key(&l, "max");
				jw_int(&l, e->max);
				jw_key(&l, "spans");
				jw_arr(&l);
				for (uint32_t x = 0; x < e->nsp; x++) {
					jw_arr(&l);
					jw_int(&l, e->sp[x][0]);
					jw_int(&l, e->sp[x][1]);
					jw_arr_end(&l);
				}
				jw_arr_end(&l);
			}
			if (e->path) {
				jw_key(&l, "p");
				json_site(&l, e->path);
			}
			jw_obj_end(&l);
			jw_raw(&l, "\n", 1);
			lines[k] = lt_xcalloc(l.len + 1, 1);
			memcpy(lines[k++], l.buf, l.len);
		}
	}
	jw_free(&l);
	qsort(lines, k, sizeof(char *), line_cmp);

	gzFile gf = NULL;
	FILE *f = NULL;
	if (!strcmp(path, "-"))
		f = stdout;
	else {	/* a summary holds values: 0600, like a trace */
		int fd = lt_out_create(path, false);

		if (fd >= 0 && gz)
			gf = gzdopen(fd, "wb");
		else if (fd >= 0)
			f = fdopen(fd, "w");
		if (fd >= 0 && !f && !gf)
			close(fd);
	}
	if (!f && !gf) {
		lt_err("%s: %s", path, strerror(errno));
		rc = LT_EXIT_FAIL;
		goto cleanup;
	}
	char end[64];
	int elen = snprintf(end, sizeof(end), "{\"type\":\"end\",\"elements\":%zu}\n", k);
	bool bad = false;
	for (size_t i = 0; i <= k + 1; i++) {
		const char *t = i == 0 ? j.buf : i <= k ? lines[i - 1] : end;
		size_t len = i == 0 ? j.len : i <= k ? strlen(t) : (size_t)elen;
		if (gf)
			bad |= gzwrite(gf, t, (unsigned)len) != (int)len;
		else
			bad |= fwrite(t, 1, len, f) != len;
	}
	if (gf)
		bad |= gzclose(gf) != Z_OK;
	else if (f == stdout)
		bad |= fflush(f) != 0;
	else
		bad |= fclose(f) != 0;
	if (bad) {
		lt_err("%s: write failed: %s", path, strerror(errno));
		rc = LT_EXIT_FAIL;
	}
cleanup:
	for (size_t i = 0; i < k; i++)
		free(lines[i]);
	free(lines);
	jw_free(&j);
	return rc;
}

/* ---- into the engine ------------------------------------------------------- */
void lt_sum_to_sets(struct lt_sum *s, struct lt_sets *sets, int side)
{
	lt_sets_add_count(sets, side, (uint32_t)s->count);
	for (int m = 0; m < 4; m++) {
		struct hent *h;
		size_t i = 0;
		while ((h = hmap_next(&s->map[m], &i))) {
			struct selem *e = h->v;
			if (m == E_TIME)
				span_compact(e, s->o.threshold_ns);
			struct lt_sets_elem_in in = {
				.obs = m == E_RET ? LT_OBS_RETURNS : m == E_TIME ? LT_OBS_TIME : LT_OBS_CALLS,
				.key = e->key, .val = e->val, .num = e->num, .key_present = m == E_CKEY,
				.cnt = e->cnt, .path = e->path, .min = e->min, .max = e->max,
				.spans = (const int64_t (*)[2])e->sp, .nspans = e->nsp,
			};
			lt_sets_add_elem(sets, side, &in);
		}
	}
}

/* analyze's inputs when one of them holds a summary: each side folded into
 * a summary (traces included), compared, merged into the engine */
int lt_sum_analyze_inputs(struct lt_sets *sets, const struct lt_sets_opts *so, const char *clean,
			  const char *adv, size_t skipped[2])
{
	struct lt_sum_opts o = { .keykind = so->keykind, .obs_mask = so->obs_mask,
				 .threshold_ns = so->threshold_ns };
	struct lt_sum *side[2] = { lt_sum_new(&o), lt_sum_new(&o) };
	int rc = lt_sum_add_path(side[0], clean);
	if (!rc)
		rc = lt_sum_add_path(side[1], adv);
	if (!rc && side[0]->has_cap && side[1]->has_cap) {
		const char *f = lt_sum_capture_diff(&side[0]->cap, &side[1]->cap);
		if (f) {
			const char *a = lt_sum_capture_get(&side[0]->cap, f), *b = lt_sum_capture_get(&side[1]->cap, f);
			lt_err("CLEAN (%s) was captured with %s %s, ADV (%s) with %s %s: they do not compare",
			       clean, f, a ? a : "(absent)", adv, f, b ? b : "(absent)");
			rc = LT_EXIT_USAGE;
		}
	}
	if (!rc) {
		for (int i = 0; i < 2; i++) {
			skipped[i] = side[i]->skipped;
			lt_sum_to_sets(side[i], sets, i);
		}
	}
	lt_sum_free(side[0]);
	lt_sum_free(side[1]);
	return rc;
}

/* ---- leaktrace summarize ----------------------------------------------------- */
enum { O_OBSERVE = LT_CLI_LONG, O_KEY, O_THRESHOLD };

static const struct argp_option sum_opts[] = {
	{ "output", 'o', "FILE", 0, "the summary (.gz: gzip; - = stdout); required", 0 },
	{ "observe", O_OBSERVE, "LIST", 0, "calls,returns,time (default: all three)", 0 },
	{ "key", O_KEY, "KIND", 0, "name (default), qualname or site: analyze must use the same", 0 },
	{ "time-threshold-ms", O_THRESHOLD, "X", 0,
	  "the time threshold analyze will use (default 50): the time sets are exact at it", 0 },
	LT_CLI_HELP,
	{ 0 },
};

struct sum_args {
	struct lt_cli cli;	/* first: lt_cli_parse's */
	struct lt_sum_opts o;
	double thr_ms;
	const char *out;
};

static error_t sum_key(int key, char *arg, struct argp_state *state)
{
	struct sum_args *a = state->input;

	switch (key) {
	case 'o':
		a->out = arg;
		break;
	case O_OBSERVE:
		if (lt_observe_arg(arg, &a->o.obs_mask))
			return lt_cli_bad(state);
		break;
	case O_KEY:
		if (lt_key_arg(arg, &a->o.keykind))
			return lt_cli_bad(state);
		break;
	case O_THRESHOLD:
		if (lt_threshold_arg(arg, &a->thr_ms))
			return lt_cli_bad(state);
		break;
	default:
		return lt_cli_key(key, arg, state);
	}
	return 0;
}

static const struct argp sum_argp = {
	sum_opts, sum_key, "TRACE... -o FILE",
	"Summarize traces into a mergeable summary for analyze.\v"
	"TRACE: a trace file, a directory of trace files, or summaries (merged). analyze takes "
	"summaries wherever it takes traces and gives exactly the result of analyzing the traces "
	"themselves, with the same --key and --time-threshold-ms (docs/ANALYSIS.md).",
	NULL, NULL, NULL,
};

int cmd_summarize(int argc, char **argv)
{
	struct sum_args a = { .o = { .keykind = LT_KEY_NAME, .obs_mask = 7 }, .thr_ms = 50 };
	int rc = lt_cli_parse(&sum_argp, &a.cli, "summarize", argc, argv);
	if (rc < 0 && (!a.cli.nops || !a.out)) {
		lt_err("summarize needs at least one TRACE and -o FILE");
		lt_cli_help(&sum_argp, &a.cli, stderr);
		rc = LT_EXIT_USAGE;
	}
	if (rc < 0) {
		/* integer ns, as analyze: for integer d, d > X  <=>  d > floor(X) */
		a.o.threshold_ns = (int64_t)floor(a.thr_ms * 1e6 + 1e-6);
		struct lt_sum *s = lt_sum_new(&a.o);
		rc = 0;
		for (int i = 0; i < a.cli.nops && !rc; i++)
			rc = lt_sum_add_path(s, a.cli.ops[i]);
		if (!rc)
			rc = lt_sum_write(s, a.out);
		lt_sum_free(s);
	}
	lt_cli_free(&a.cli);
	return rc;
}
