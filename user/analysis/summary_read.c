// SPDX-License-Identifier: MIT
/* Summaries: reading summary files and directories of them, and the inputs
 * of summarize and analyze (a trace, a summary, a directory of either).
 * The accumulator they merge into is summary.c's. */
#define _GNU_SOURCE	/* strverscmp: the trace reader's file order */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "analysis/summary.h"
#include "analysis/summary_int.h"
#include "common/err.h"
#include "common/hmap.h"
#include "common/json.h"

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
