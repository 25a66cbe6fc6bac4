// SPDX-License-Identifier: MIT
/*
 * Trace reader, the generic parser of leaktrace JSON Lines (FORMAT.md §1,
 * §2): each line through jp_parse, then its tokens into an execution; the
 * values and tree builder that the fast path and the paper reader share.
 * Exec lines as the writer writes them go to read_fast.c first.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/err.h"
#include "trace/incomplete.h"
#include "trace/read_priv.h"

struct rd_types rd_type;

/* ---- values -------------------------------------------------------------- */
static void intern_types(void)
{
	rd_fast_init();
	T_INT = lt_intern("int");
	T_FLOAT = lt_intern("float");
	T_BOOL = lt_intern("bool");
	T_STR = lt_intern("str");
}

void rd_init_types(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, intern_types);
}

static inline bool key_is(const struct jtok *k, const char *lit, uint32_t len)
{
	return k->len == len && !memcmp(k->s, lit, len);
}

/* strcmp(t->s, lit) == 0 for a string token whose text need not end in a
 * NUL (the fast path's tokens point into the line) */
static bool tok_cstr_is(const struct jtok *t, const char *lit, uint32_t n)
{
	return t->len >= n && !memcmp(t->s, lit, n) && (t->len == n || !t->s[n]);
}

/* a RET or args element from its "type" string token and its "value"
 * token (NULL: none); NULL or the reason it is refused */
const char *rd_set_value(struct lt_exec *e, struct lt_value *v, const struct jtok *tt,
			     const struct jtok *vt)
{
	v->type = rd_type_name(tt->s, tt->len);
	if (!vt)
		return NULL;
	if (vt->type == JT_STR && vt->len >= 2 && vt->s[0] == 'h' && vt->s[1] == ':') {
		v->kind = LT_V_HASH;
		v->s = lt_arena_strndup(&e->arena, vt->s, vt->len);
		v->slen = vt->len;
		return NULL;
	}
	if (v->type == T_INT) {
		if (vt->type == JT_NUM && !jp_int64(vt, &v->u.i)) {
			v->kind = LT_V_INT;
		} else if ((vt->type == JT_NUM && jp_is_integer_text(vt)) ||
			   (vt->type == JT_STR && rd_decimal_text(vt->s, vt->len))) {
			v->kind = LT_V_BIGINT;
			v->s = lt_arena_strndup(&e->arena, vt->s, vt->len);
			v->slen = vt->len;
		} else {
			return "int value must be an integer or a decimal string";
		}
	} else if (v->type == T_FLOAT) {
		v->kind = LT_V_FLOAT;
		if (vt->type == JT_NUM)
			jp_double(vt, &v->u.f);
		else if (vt->type == JT_STR && tok_cstr_is(vt, "nan", 3))
			v->u.f = NAN;
		else if (vt->type == JT_STR && tok_cstr_is(vt, "inf", 3))
			v->u.f = INFINITY;
		else if (vt->type == JT_STR && tok_cstr_is(vt, "-inf", 4))
			v->u.f = -INFINITY;
		else
			return "float value must be a number, \"nan\", \"inf\" or \"-inf\"";
	} else if (v->type == T_BOOL) {
		if (vt->type != JT_TRUE && vt->type != JT_FALSE)
			return "bool value must be true or false";
		v->kind = LT_V_BOOL;
		v->u.b = vt->type == JT_TRUE;
	} else if (v->type == T_STR) {
		if (vt->type != JT_STR)
			return "str value must be a string";
		v->kind = LT_V_STR;
		v->s = lt_arena_strndup(&e->arena, vt->s, vt->len);
		v->slen = vt->len;
	}
	/* other types: a value is not part of format 1; ignored */
	return NULL;
}

static const char *parse_value(struct lt_exec *e, const struct jparse *p, uint32_t i, struct lt_value *v)
{
	const struct jtok *t = p->t;
	if (t[i].type != JT_OBJ)
		return "a return/argument value must be an object {\"type\":...}";
	int ti = -1, vi = -1;
	for (uint32_t k = i + 1; k < t[i].end; k = t[k + 1].end) {
		const struct jtok *kt = &t[k];
		if (key_is(kt, "type", 4))
			ti = (int)k + 1;
		else if (key_is(kt, "value", 5))
			vi = (int)k + 1;
		else if (key_is(kt, "yield", 5))
			v->yield = t[k + 1].type == JT_TRUE;
		else if (key_is(kt, "truncated", 9))
			v->truncated = t[k + 1].type == JT_TRUE;
	}
	if (ti < 0 || t[ti].type != JT_STR)
		return "value without a \"type\" string";
	return rd_set_value(e, v, &t[ti], vi < 0 ? NULL : &t[vi]);
}

/* ---- leaktrace NODE -------------------------------------------------------- */

static const char *fill_node(struct lt_exec *e, const struct jparse *p, uint32_t i, struct lt_node **out,
			     uint32_t *calls)
{
	const struct jtok *t = p->t;
	*calls = 0;
	if (t[i].type != JT_OBJ)
		return "a call node must be an object";
	struct lt_node *n = NULL;
	const char *err = NULL;
	/* one pass over the members */
	const char *fn = NULL;
	uint32_t fnlen = 0;
	for (uint32_t k = i + 1; k < t[i].end; k = t[k + 1].end) {
		uint32_t v = k + 1;
		if (key_is(&t[k], "fn", 2)) {
			if (t[v].type != JT_STR)
				return "node \"fn\" must be a string";
			fn = t[v].s;
			fnlen = t[v].len;
		}
	}
	if (!fn)
		return "call node without \"fn\"";
	n = lt_node_new(e, lt_intern_n(fn, fnlen));
	for (uint32_t k = i + 1; k < t[i].end; k = t[k + 1].end) {
		const char *key = t[k].s;
		uint32_t v = k + 1;
		switch (key[0]) {
		case 'f':
			if (key_is(&t[k], "file", 4)) {
				if (t[v].type != JT_STR)
					return "node \"file\" must be a string";
				n->file = lt_intern_n(t[v].s, t[v].len);
			}
			break;
		case 'l':
			if (key_is(&t[k], "line", 4)) {
				int64_t l;
				if (jp_int64(&t[v], &l) || l < 0 || l > INT32_MAX)
					return "node \"line\" must be a non-negative integer";
				n->line = (int32_t)l;
			}
			break;
		case 'i':
			if (key_is(&t[k], "interp", 6)) {
				int64_t id;
				if (jp_int64(&t[v], &id) || id < 0 || id > UINT32_MAX)
					return "node \"interp\" must be a non-negative integer";
				n->interp = (uint32_t)id;
			}
			break;
		case 'r':
			if (key_is(&t[k], "ret", 3)) {
				if ((err = parse_value(e, p, v, &n->ret)))
					return err;
				n->has_ret = true;
			} else if (key_is(&t[k], "run_ns", 6)) {
				int64_t d;
				if (jp_int64(&t[v], &d) || d < 0)
					return "node \"run_ns\" must be a non-negative integer";
				n->run_ns = d;
			}
			break;
		case 'd':
			if (key_is(&t[k], "dur_ns", 6)) {
				int64_t d;
				if (jp_int64(&t[v], &d) || d < 0)
					return "node \"dur_ns\" must be a non-negative integer";
				n->dur_ns = d;
			}
			break;
		case 'a':
			if (!strcmp(key, "args")) {
				if (t[v].type != JT_ARR)
					return "node \"args\" must be a list";
				n->nargs = t[v].n;
				n->args = lt_arena_alloc(&e->arena, (n->nargs ? n->nargs : 1) * sizeof(struct lt_value));
				uint32_t a = v + 1;
				for (uint32_t j = 0; j < n->nargs; j++, a = t[a].end)
					if ((err = parse_value(e, p, a, &n->args[j])))
						return err;
			}
			break;
		case 's':
			if (key_is(&t[k], "synthetic", 9)) {
				if (t[v].type != JT_TRUE && t[v].type != JT_FALSE)
					return "node \"synthetic\" must be true or false";
				n->synthetic = t[v].type == JT_TRUE;
			}
			break;
		case 't':
			if (!strcmp(key, "truncated_calls")) {
				int64_t c;
				if (jp_int64(&t[v], &c) || c < 0 || c > UINT32_MAX)
					return "node \"truncated_calls\" must be a non-negative integer";
				n->truncated_calls = (uint32_t)c;
			}
			break;
		case 'c':
			if (key_is(&t[k], "calls", 5)) {
				if (t[v].type != JT_ARR)
					return "node \"calls\" must be a list";
				*calls = v;
			}
			break;
		}
	}
	*out = n;
	return NULL;
}

void rd_bst_grow(struct lt_reader *r)
{
	r->bcap = r->bcap ? r->bcap * 2 : 256;
	r->bst = lt_xrealloc(r->bst, r->bcap * sizeof(*r->bst));
}

typedef const char *(*node_fill_fn)(struct lt_exec *e, const struct jparse *p, uint32_t i,
				    struct lt_node **out, uint32_t *children);

/* build, without recursion, the children of parent listed in the array
 * token arr (JSONL "calls", or the paper's list), each with fill */
const char *rd_build_children(struct lt_reader *r, struct lt_exec *e, const struct jparse *p,
				  struct lt_node *parent, uint32_t arr, node_fill_fn fill)
{
	size_t depth = 0;
	if (!p->t[arr].n)
		return NULL;
	rd_bst_reserve(r, depth);
	r->bst[depth++] = (struct bstack){ parent, arr + 1, p->t[arr].n };
	while (depth) {
		struct bstack *b = &r->bst[depth - 1];
		if (!b->left) {
			depth--;
			continue;
		}
		uint32_t c = b->cur, child;
		b->cur = p->t[c].end;
		b->left--;
		struct lt_node *n;
		const char *err = fill(e, p, c, &n, &child);
		if (err)
			return err;
		lt_node_append(b->node, n);
		if (child && p->t[child].n) {
			rd_bst_reserve(r, depth);
			r->bst[depth++] = (struct bstack){ n, child + 1, p->t[child].n };
		}
	}
	return NULL;
}

/* the tree under token i */
static const char *build_tree(struct lt_reader *r, struct lt_exec *e, const struct jparse *p, uint32_t i,
			      struct lt_node **root)
{
	uint32_t calls;
	const char *err = fill_node(e, p, i, root, &calls);
	if (err || !calls)
		return err;
	return rd_build_children(r, e, p, *root, calls, fill_node);
}

static const char *get_i64(const struct jparse *p, uint32_t obj, const char *k, int64_t *out, bool *present)
{
	int i = jp_get(p, obj, k);
	*present = i >= 0;
	if (i < 0)
		return NULL;
	if (jp_int64(&p->t[i], out)) {
		static __thread char m[96];
		snprintf(m, sizeof(m), "\"%s\" must be an integer", k);
		return m;
	}
	return NULL;
}

/* "start_ns": a non-negative integer (strtoull saturates what is too big) */
bool rd_start_ns_of(const struct jtok *t, uint64_t *out)
{
	char b[32];

	if (t->type != JT_NUM || t->len >= sizeof(b) || !jp_is_integer_text(t) || t->s[0] == '-')
		return false;
	memcpy(b, t->s, t->len);
	b[t->len] = 0;
	*out = strtoull(b, NULL, 10);
	return true;
}

/* a synthetic root is never observed: its stray fields are dropped.
 * Traces written before the "synthetic" field mark their synthetic roots
 * by these two names, which no Python code object gets from its compiler
 * (one on a node below the root means nothing: lt_node_synthetic_root) */
void rd_drop_synthetic_fields(struct lt_exec *e)
{
	if (!strcmp(e->root->fn, "<thread>") || !strcmp(e->root->fn, "<execution>"))
		e->root->synthetic = true;
	if (lt_node_synthetic_root(e->root)) {
		e->root->has_ret = false;
		e->root->dur_ns = -1;
		e->root->run_ns = -1;
	}
}

static const char *parse_exec(struct lt_reader *r, struct lt_exec **out)
{
	const struct jparse *p = &r->jp;
	struct lt_exec *e = lt_exec_new();
	const char *err;
	int64_t v;
	bool has;
	if ((err = get_i64(p, 0, "id", &v, &has)))
		goto fail;
	e->id = has ? v : r->execs_in_file;
	{
		/* process and thread ids: 0..INT32_MAX, refused otherwise */
		static const char *const idk[4] = { "pid", "tid", "nspid", "nstid" };
		static const char *const range_err[4] = {
			"\"pid\" out of range", "\"tid\" out of range",
			"\"nspid\" out of range", "\"nstid\" out of range",
		};
		int32_t *idv[4] = { &e->pid, &e->tid, &e->nspid, &e->nstid };

		for (int k = 0; k < 4; k++) {
			if ((err = get_i64(p, 0, idk[k], &v, &has)))
				goto fail;
			if (has && (v < 0 || v > INT32_MAX)) {
				err = range_err[k];
				goto fail;
			}
			*idv[k] = has ? (int32_t)v : 0;
		}
	}
	int si = jp_get(p, 0, "start_ns");
	if (si >= 0 && !rd_start_ns_of(&p->t[si], &e->start_ns)) {
		err = "\"start_ns\" must be a non-negative integer";
		goto fail;
	}
	if ((err = get_i64(p, 0, "dur_ns", &v, &has)))
		goto fail;
	if (has && v < 0) {
		err = "\"dur_ns\" must not be negative";
		goto fail;
	}
	e->dur_ns = has ? v : -1;
	if ((err = get_i64(p, 0, "run_ns", &v, &has)))
		goto fail;
	if (has && v < 0) {
		err = "\"run_ns\" must not be negative";
		goto fail;
	}
	e->run_ns = has ? v : -1;
	int ci = jp_get(p, 0, "complete");
	if (ci < 0 || (p->t[ci].type != JT_TRUE && p->t[ci].type != JT_FALSE)) {
		err = ci < 0 ? "exec line without \"complete\"" : "\"complete\" must be true or false";
		goto fail;
	}
	e->complete = p->t[ci].type == JT_TRUE;
	int ii = jp_get(p, 0, "incomplete");
	if (ii >= 0) {
		const struct jtok *t = p->t;
		uint32_t m = 0;

		if (t[ii].type != JT_ARR) {
			err = "\"incomplete\" must be a list of strings";
			goto fail;
		}
		for (uint32_t k = ii + 1; k < t[ii].end; k = t[k].end) {
			if (t[k].type != JT_STR) {
				err = "\"incomplete\" must be a list of strings";
				goto fail;
			}
			m |= lt_incomplete_bit(t[k].s, t[k].len);
		}
		e->incomplete = e->complete ? 0 : m;
	}
	int ri = jp_get(p, 0, "root");
	if (ri < 0) {
		err = "exec line without \"root\"";
		goto fail;
	}
	if ((err = build_tree(r, e, p, (uint32_t)ri, &e->root)))
		goto fail;
	rd_drop_synthetic_fields(e);
	*out = e;
	return NULL;
fail:
	lt_exec_free(e);
	return err;
}

const char *rd_parse_header(struct lt_reader *r)
{
	const struct jparse *p = &r->jp;
	const struct jtok *t = p->t;
	struct lt_header *h = &r->hdr;
	free(h->argv);
	free(h->exclude);
	memset(h, 0, sizeof(*h));
	int fi = jp_get(p, 0, "format");
	int64_t f;
	if (fi < 0 || jp_int64(&t[fi], &f))
		return "header without an integer \"format\"";
	if (f != 1) {
		static __thread char m[128];
		snprintf(m, sizeof(m), "trace format %lld is not supported (this leaktrace reads format 1); upgrade leaktrace",
			 (long long)f);
		return m;
	}
	h->format = 1;
	static const char *keys[] = { "tool", "python", "root", "start", "mechanism" };
	const char **dst[] = { &h->tool, &h->python, &h->root, &h->start, &h->mechanism };
	for (int k = 0; k < 5; k++) {
		int i = jp_get(p, 0, keys[k]);
		if (i >= 0 && t[i].type == JT_STR)
			*dst[k] = lt_intern_n(t[i].s, t[i].len);
	}
	int64_t pid;
	int pi = jp_get(p, 0, "pid");
	if (pi >= 0 && !jp_int64(&t[pi], &pid))
		h->pid = (int32_t)pid;
	int ai = jp_get(p, 0, "argv");
	if (ai >= 0 && t[ai].type == JT_ARR) {
		h->argv = lt_xcalloc(t[ai].n + 1, sizeof(char *));
		uint32_t a = ai + 1;
		for (uint32_t j = 0; j < t[ai].n; j++, a = t[a].end)
			if (t[a].type == JT_STR)
				h->argv[h->argc++] = lt_intern_n(t[a].s, t[a].len);
	}
	/* capture options (FORMAT.md §1) */
	lt_capture_parse(p, 0, h);
	r->has_hdr = true;
	return NULL;
}

static void parse_stats(struct lt_reader *r)
{
	const struct jparse *p = &r->jp;
	static const char *keys[] = { "execs", "calls", "lost_events", "incomplete_execs", "truncated_strings",
				      "excluded_calls", "read_failures", "stale_frames", "name_evictions",
				      "unprobed_returns" };
	uint64_t *dst[] = { &r->stats.execs, &r->stats.calls, &r->stats.lost_events, &r->stats.incomplete_execs,
			    &r->stats.truncated_strings, &r->stats.excluded_calls, &r->stats.read_failures,
			    &r->stats.stale_frames, &r->stats.name_evictions, &r->stats.unprobed_returns };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		int i = jp_get(p, 0, keys[k]);
		int64_t v;
		if (i >= 0 && !jp_int64(&p->t[i], &v) && v > 0)
			*dst[k] += (uint64_t)v;
	}
	/* the recorder's own marker of a failed write (trace_write.c
	 * mark_failed): the trace ends early, say so */
	int ei = jp_get(p, 0, "error");
	if (ei >= 0 && p->t[ei].type == JT_STR && speaks(r))
		lt_warn("%s:%lld: the recorder reported \"%.*s\"; the trace ends early", r->path,
			r->lineno, (int)p->t[ei].len, p->t[ei].s);
}

int rd_next_jsonl(struct lt_reader *r, struct lt_exec **out)
{
	char *line;
	size_t len;
	bool partial;
	for (;;) {
		if (r->abort && __atomic_load_n(r->abort, __ATOMIC_RELAXED))
			return 0;
		int rc = rd_next_line(r, &line, &len, &partial);
		if (rc <= 0) {
			r->own_line = false;
			if (rc == 0 && !r->saw_trailer)
				if (speaks(r))
					lt_warn("%s: no stats trailer (recorder stopped early?); read %lld executions",
					r->path, r->execs_in_file);
			return rc;
		}
		size_t k = 0;
		while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
			k++;
		if (k == len)
			continue;	/* blank line */
		r->own_line = false;
		bool counted = false;
		if (r->saw_header && len - k >= 14 && !memcmp(line + k, "{\"type\":\"exec\"", 14)) {
			/* an execution as leaktrace writes it: another part's? */
			counted = true;
			if (r->exec_seq++ % r->nparts != r->part) {
				r->execs_in_file++;
				continue;
			}
			r->own_line = true;
			/* ours: straight from its bytes when it has the
			 * writer's shape, else (or when that fails) below */
			if (!k && !r->generic_only && rd_fast_exec(r, line, len, out)) {
				r->line = r->lineno;
				r->execs_in_file++;
				return 1;
			}
		}
		if (jp_parse(&r->jp, line, len) < 0) {
			if (partial && !r->saw_trailer) {
				if (speaks(r))
					lt_warn("%s:%lld: last line is cut short (recorder killed?); ignored",
					r->path, r->lineno);
				continue;
			}
			return rd_bad(r, r->lineno, "%s", r->jp.err);
		}
		const struct jtok *t = r->jp.t;
		if (t[0].type != JT_OBJ)
			return rd_bad(r, r->lineno, "%s", "each line must be a JSON object");
		int ti = jp_get(&r->jp, 0, "type");
		if (ti < 0 || t[ti].type != JT_STR)
			return rd_bad(r, r->lineno, "%s", "line without a \"type\" string");
		const char *type = t[ti].s;
		if (!r->saw_header && strcmp(type, "header"))
			return rd_bad(r, r->lineno, "%s", "first line must be the header {\"type\":\"header\",\"format\":1,...}");
		if (!strcmp(type, "header")) {
			const char *err = rd_parse_header(r);
			if (err)
				return rd_bad(r, r->lineno, "%s", err);
			r->saw_header = true;
		} else if (!strcmp(type, "exec")) {
			if (!counted && r->exec_seq++ % r->nparts != r->part) {
				r->execs_in_file++;
				continue;
			}
			r->own_line = true;
			const char *err = parse_exec(r, out);
			if (err)
				return rd_bad(r, r->lineno, "%s", err);
			r->line = r->lineno;
			r->execs_in_file++;
			return 1;
		} else if (!strcmp(type, "stats")) {
			parse_stats(r);
			r->saw_trailer = true;
		}
		/* other line types: newer formats, skipped */
	}
}

