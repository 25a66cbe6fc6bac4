// SPDX-License-Identifier: MIT
/* Summaries: per-element execution counts of a set of executions, their
 * file format (docs/ANALYSIS.md "Summaries"), `leaktrace summarize`, and
 * analyze's summary inputs. Reading summary files: summary_read.c. */
#define _GNU_SOURCE
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
#include "analysis/summary_int.h"

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

struct selem *elem_get(struct lt_sum *s, int kind, const void *key, uint64_t k2)
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
void span_compact(struct selem *e, int64_t T)
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

void span_add(struct selem *e, int64_t lo, int64_t hi, int64_t T)
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
void elem_merge(struct lt_sum *s, struct selem *e, uint32_t cnt, const struct lt_site *path,
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
int cap_check(struct lt_sum *s, const struct lt_sum_capture *c, const char *from)
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
int add_trace(struct lt_sum *s, const char *path)
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
