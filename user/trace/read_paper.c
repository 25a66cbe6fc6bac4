// SPDX-License-Identifier: MIT
/*
 * Trace reader, the paper's JSON traces (FORMAT.md §6): one file, one
 * execution, a list of first-layer calls {"name","child","return"|"time"}.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trace/read_priv.h"

/* ---- the paper's format ---------------------------------------------------- */
static const char *paper_ret(struct lt_exec *e, const char *s, size_t n, struct lt_value *v)
{
	const char *colon = memchr(s, ':', n);
	size_t tl = colon ? (size_t)(colon - s) : n;
	v->type = lt_intern_n(s, tl);
	if (!colon)
		return NULL;
	const char *val = colon + 1;
	size_t vl = n - tl - 1;
	char b[64];
	if (v->type == T_STR) {
		v->kind = LT_V_STR;
		v->s = lt_arena_strndup(&e->arena, val, vl);
		v->slen = (uint32_t)vl;
	} else if (v->type == T_INT) {
		if (!rd_decimal_text(val, vl))
			return "\"return\": int value is not a decimal integer";
		errno = 0;
		if (vl < sizeof(b)) {
			memcpy(b, val, vl);
			b[vl] = 0;
			long long x = strtoll(b, NULL, 10);
			if (!errno) {
				v->kind = LT_V_INT;
				v->u.i = x;
				return NULL;
			}
		}
		v->kind = LT_V_BIGINT;
		v->s = lt_arena_strndup(&e->arena, val, vl);
		v->slen = (uint32_t)vl;
	} else if (v->type == T_FLOAT) {
		if (vl == 0 || vl >= sizeof(b))
			return "\"return\": bad float value";
		memcpy(b, val, vl);
		b[vl] = 0;
		char *end;
		v->u.f = strtod(b, &end);
		if (*end)
			return "\"return\": bad float value";
		v->kind = LT_V_FLOAT;
	} else if (v->type == T_BOOL) {
		if (vl == 4 && !memcmp(val, "True", 4))
			v->u.b = true;
		else if (vl == 5 && !memcmp(val, "False", 5))
			v->u.b = false;
		else
			return "\"return\": bool value must be True or False";
		v->kind = LT_V_BOOL;
	}
	/* other types (list:[...], ...): type only, as FORMAT.md §6 says */
	return NULL;
}

static const char *paper_node(struct lt_exec *e, const struct jparse *p, uint32_t i, struct lt_node **out,
			      uint32_t *child)
{
	const struct jtok *t = p->t;
	*child = 0;
	if (t[i].type != JT_OBJ)
		return "each call must be an object {\"name\",\"child\",\"return\"|\"time\"}";
	int ni = jp_get(p, i, "name");
	if (ni < 0 || t[ni].type != JT_STR)
		return "call without a \"name\" string";
	size_t nl = t[ni].len;
	if (nl >= 2 && t[ni].s[nl - 2] == '(' && t[ni].s[nl - 1] == ')')
		nl -= 2;
	struct lt_node *n = lt_node_new(e, lt_intern_n(t[ni].s, nl));
	int ri = jp_get(p, i, "return");
	if (ri >= 0) {
		if (t[ri].type != JT_STR)
			return "\"return\" must be a string \"type\" or \"type:value\"";
		const char *err = paper_ret(e, t[ri].s, t[ri].len, &n->ret);
		if (err)
			return err;
		n->has_ret = true;
	}
	int tm = jp_get(p, i, "time");
	if (tm >= 0) {
		double us;
		if (t[tm].type != JT_NUM || jp_double(&t[tm], &us) || us < 0)
			return "\"time\" must be a non-negative number of microseconds";
		if (!(us <= INT64_MAX / 1000.0))
			return "\"time\" out of range";
		n->dur_ns = llround(us * 1000.0);
	}
	int ci = jp_get(p, i, "child");
	if (ci >= 0) {
		if (t[ci].type != JT_ARR)
			return "\"child\" must be a list";
		*child = (uint32_t)ci;
	}
	*out = n;
	return NULL;
}

static const char *build_paper(struct lt_reader *r, struct lt_exec *e, const struct jparse *p)
{
	if (p->t[0].type != JT_ARR)
		return "a paper trace must be a JSON list of calls";
	e->root = lt_node_new(e, lt_intern("<execution>"));
	e->root->synthetic = true;
	return rd_build_children(r, e, p, e->root, 0, paper_node);
}

int rd_next_paper(struct lt_reader *r, struct lt_exec **out)
{
	if (r->done_file)
		return 0;
	r->done_file = true;
	/* one execution per file: files of other parts are not even read */
	r->own_line = true;
	if (r->exec_seq++ % r->nparts != r->part) {
		r->paper_seq++;
		return 0;
	}
	while (!r->eof)
		if (rd_fill(r) < 0)
			return -1;
	if (jp_parse(&r->jp, r->buf + r->pos, r->end - r->pos) < 0) {
		/* turn the byte offset into a line number */
		long long line = r->lineno + 1;
		for (size_t i = 0; i < r->jp.err_off && r->pos + i < r->end; i++)
			if (r->buf[r->pos + i] == '\n')
				line++;
		return rd_bad(r, line, "%s", r->jp.err);
	}
	struct lt_exec *e = lt_exec_new();
	const char *err = build_paper(r, e, &r->jp);
	if (err) {
		lt_exec_free(e);
		return rd_bad(r, r->lineno + 1, "%s", err);
	}
	/* id: the file's number when its name is one (0.json), else a sequence */
	const char *base = strrchr(r->path, '/');
	base = base ? base + 1 : r->path;
	char *end;
	long long id = strtoll(base, &end, 10);
	e->id = (end != base && *end == '.') ? id : r->paper_seq;
	r->paper_seq++;
	e->complete = true;
	r->line = r->lineno + 1;
	*out = e;
	return 1;
}

