// SPDX-License-Identifier: MIT
/* Trace reader, the fast path (see read_priv.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trace/incomplete.h"
#include "trace/read_priv.h"

/* ---- fast path: exec lines as lt_writer_exec writes them ------------------ */
/*
 * Nearly every line of a trace is an execution that lt_writer_exec wrote:
 * compact, its keys in one order. Turning such a line into tokens
 * (jp_parse) and walking them (parse_exec) was half of what analyze spent,
 * so fast_exec builds the tree straight from the bytes. It takes only that
 * shape - each object's members in the order lt_writer_exec, node_fields
 * and lt_json_value write them, each at most once, no whitespace, nothing
 * malformed - and reads strings, numbers and values with the generic
 * path's own helpers (jp_unescape, jp_number_end, jp_int64, rd_set_value,
 * rd_start_ns_of), so that what it builds is what the generic path builds.
 * On anything else it gives up, the line unchanged, and the generic path
 * reads it, or reports what is wrong with it, as before.
 */
/* the fast path's helpers are inlined into the one loop that walks a line:
 * called, they cost as much again (gcc keeps the bigger ones out of line) */
#define FAST_INLINE static inline __attribute__((always_inline))

/* the line being read: q moves, end is its NUL (every scan below stops at
 * a NUL, which is never what it looks for); e the execution being built */
struct fast {
	const char *q, *end;
	struct lt_exec *e;
};

/* q[0..n) == lit[0..n) for 4 <= n <= 24, n a constant: compares of whole
 * words, which the compiler inlines (for memcmp it emits calls) */
FAST_INLINE bool same_bytes(const char *q, const char *lit, size_t n)
{
	uint64_t a, b;
	uint32_t c, d;

	if (n < 8) {
		memcpy(&c, q, 4);
		memcpy(&d, lit, 4);
		if (c != d)
			return false;
		memcpy(&c, q + n - 4, 4);
		memcpy(&d, lit + n - 4, 4);
		return c == d;
	}
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&a, q + i, 8);
		memcpy(&b, lit + i, 8);
		if (a != b)
			return false;
	}
	memcpy(&a, q + n - 8, 8);
	memcpy(&b, lit + n - 8, 8);
	return a == b;
}

/* f->q is at the text lit (a string constant): moved past it */
#define FAST_LIT(f, lit)							\
	((size_t)((f)->end - (f)->q) >= sizeof(lit) - 1 &&			\
	 same_bytes((f)->q, lit, sizeof(lit) - 1) && ((f)->q += sizeof(lit) - 1, true))

/* the next member of the object at f->q is "name": f->q moved to its
 * value. Members are taken in the writer's order, each checked once, so
 * another order, another key or a repeated one leaves a ',' where the
 * object should end. */
#define FAST_MEMBER(f, name) FAST_LIT(f, ",\"" name "\":")

/* bytes that end a string for fast_str: quote, backslash, control
 * characters (NUL among them) */
static bool str_stop[256];

void rd_fast_init(void)
{
	for (int c = 0; c < 0x20; c++)
		str_stop[c] = true;
	str_stop['"'] = str_stop['\\'] = true;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* the first byte at q that ends a string for fast_str */
FAST_INLINE const unsigned char *str_stop_at(const unsigned char *q, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* 8 bytes at a time while they are in the line: a flag in each byte
	 * below 0x20, equal to '"' or to '\\'; a flag can be wrong only
	 * above a right one, so the lowest is the first stop */
	while (end - (const char *)q >= 8) {
		uint64_t x, qt, bs, stop;

		memcpy(&x, q, 8);
		qt = x ^ (ONES * '"');
		bs = x ^ (ONES * '\\');
		stop = ((x - ONES * 0x20) & ~x) | ((qt - ONES) & ~qt) | ((bs - ONES) & ~bs);
		stop &= HIGHS;
		if (stop)
			return q + (__builtin_ctzll(stop) >> 3);
		q += 8;
	}
#endif
	while (!str_stop[*q])
		q++;
	return q;
}

/* how fast_str read a string */
enum { STR_NONE, STR_IN_LINE, STR_DECODED };

/* the rest of fast_str for a string with escapes (s its text, q its first
 * backslash): decoded as jp_parse decodes it, into the execution's arena */
static int fast_escaped(struct fast *f, struct jtok *t, const unsigned char *s, const unsigned char *q)
{
	/* the closing quote: the first one that no backslash escapes */
	while (*q == '\\') {
		if (!q[1])
			return STR_NONE;
		q = str_stop_at(q + 2, f->end);
	}
	if (*q != '"')
		return STR_NONE;
	/* decoding never makes a string longer */
	char *buf = lt_arena_alloc(&f->e->arena, (size_t)(q - s) + 1), *o = buf;
	const char *at = (const char *)s;

	if (jp_unescape(&at, &o) || at != (const char *)q)
		return STR_NONE;
	t->type = JT_STR;
	t->s = buf;
	t->len = (uint32_t)(o - buf);
	f->q = at + 1;
	return STR_DECODED;
}

/* a string: STR_IN_LINE when the token is its text in the line (no escapes),
 * STR_DECODED when it had escapes, STR_NONE for anything but a string */
FAST_INLINE int fast_str(struct fast *f, struct jtok *t)
{
	const unsigned char *q = (const unsigned char *)f->q, *s;

	if (*q != '"')
		return STR_NONE;
	s = q + 1;
	q = str_stop_at(s, f->end);
	if (*q != '"')
		return *q == '\\' ? fast_escaped(f, t, s, q) : STR_NONE;
	t->type = JT_STR;
	t->s = (char *)s;
	t->len = (uint32_t)(q - s);
	f->q = (const char *)q + 1;
	return STR_IN_LINE;
}

/*
 * lt_intern_n of a node's "fn" or "file". The same few names come back on
 * every line, and lt_intern_n hashes them byte by byte (a chain of
 * multiplications) before it looks in its own cache; this cache in front
 * takes their bytes 8 at a time instead.
 */
FAST_INLINE const char *fast_intern(struct lt_reader *r, const struct fast *f, const char *s, uint32_t len)
{
	uint64_t head = 0, tail = 0;

	if (len >= 8) {
		memcpy(&head, s, 8);
		memcpy(&tail, s + len - 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	} else if (len && f->end - s >= 8) {	/* its bytes are the low ones */
		memcpy(&head, s, 8);
		head &= ~0ULL >> (64 - 8 * len);
#endif
	} else {
		for (uint32_t i = 0; i < len; i++)
			head |= (uint64_t)(unsigned char)s[i] << (i * 8);
	}
	uint64_t h = (head ^ (tail * 0xff51afd7ed558ccdULL) ^ len) * 0x9e3779b97f4a7c15ULL;
	struct name_slot *slot = &r->names[h >> (64 - NAME_CACHE_BITS)];

	if (slot->s && slot->len == len && slot->head == head && slot->tail == tail &&
	    (len <= 16 || !memcmp(slot->s, s, len)))
		return slot->s;
	*slot = (struct name_slot){ lt_intern_n(s, len), head, tail, len };
	return slot->s;
}

/* a node's "fn" or "file", interned */
FAST_INLINE bool fast_name(struct lt_reader *r, struct fast *f, const char **out)
{
	struct jtok t;

	switch (fast_str(f, &t)) {
	case STR_IN_LINE:
		*out = fast_intern(r, f, t.s, t.len);
		return true;
	case STR_DECODED:	/* not in the line: fast_intern may not read past it */
		*out = lt_intern_n(t.s, t.len);
		return true;
	}
	return false;
}

static bool fast_num(struct fast *f, struct jtok *t)
{
	const char *end = jp_number_end(f->q);

	if (!end)
		return false;
	t->type = JT_NUM;
	t->s = (char *)f->q;
	t->len = (uint32_t)(end - f->q);
	f->q = end;
	return true;
}

/* an integer as the writer writes it: -?digits, at most 18 of them (which
 * jp_int64 reads the same way), not followed by more of a number; false,
 * f->q unchanged, for any other number text */
FAST_INLINE bool plain_int(struct fast *f, int64_t *out)
{
	const char *s = f->q + (*f->q == '-'), *q = s;
	uint64_t v = 0;
	unsigned d;

	for (; (d = (unsigned char)*q - '0') < 10; q++)
		v = v * 10 + d;
	if (q == s || q - s > 18 || (*s == '0' && q - s > 1) || *q == '.' || (*q | 0x20) == 'e')
		return false;
	*out = s > f->q ? -(int64_t)v : (int64_t)v;
	f->q = q;
	return true;
}

/* an integer in [min, max], read as get_i64 and fill_node read one */
FAST_INLINE bool fast_int(struct fast *f, int64_t min, int64_t max, int64_t *out)
{
	struct jtok t;

	if (!plain_int(f, out) && (!fast_num(f, &t) || jp_int64(&t, out)))
		return false;
	return *out >= min && *out <= max;
}

/* true, false, null: their token type; -1 for anything else */
static int fast_literal(struct fast *f)
{
	if (!strncmp(f->q, "true", 4))
		return f->q += 4, JT_TRUE;
	if (!strncmp(f->q, "false", 5))
		return f->q += 5, JT_FALSE;
	if (!strncmp(f->q, "null", 4))
		return f->q += 4, JT_NULL;
	return -1;
}

static bool fast_bool(struct fast *f, bool *out)
{
	int t = fast_literal(f);

	*out = t == JT_TRUE;
	return t == JT_TRUE || t == JT_FALSE;
}

/* RET or args element: {"type":S[,"value":V][,"truncated":B][,"yield":B]}
 * with V a string, number, true, false or null */
FAST_INLINE bool fast_value(struct fast *f, struct lt_value *v)
{
	struct jtok tt, vt;
	bool has_value = false, is_int = false;
	int64_t iv = 0;

	if (!FAST_LIT(f, "{\"type\":") || !fast_str(f, &tt))
		return false;
	if (FAST_MEMBER(f, "value")) {
		const char *s = f->q;

		has_value = true;
		if (*s == '"') {
			if (!fast_str(f, &vt))
				return false;
		} else if (*s == 't' || *s == 'f' || *s == 'n') {
			int lit = fast_literal(f);
			if (lit < 0)
				return false;
			vt = (struct jtok){ .type = (uint8_t)lit };
		} else if (plain_int(f, &iv)) {
			is_int = true;
			vt = (struct jtok){ .type = JT_NUM, .s = (char *)s, .len = (uint32_t)(f->q - s) };
		} else if (!fast_num(f, &vt)) {
			return false;
		}
	}
	if (FAST_MEMBER(f, "truncated") && !fast_bool(f, &v->truncated))
		return false;
	if (FAST_MEMBER(f, "yield") && !fast_bool(f, &v->yield))
		return false;
	if (*f->q++ != '}')
		return false;
	/* the most common value: what set_value makes of it, without reading
	 * the number again */
	if (is_int && rd_type_name(tt.s, tt.len) == T_INT) {
		v->type = T_INT;
		v->kind = LT_V_INT;
		v->u.i = iv;
		return true;
	}
	return !rd_set_value(f->e, v, &tt, has_value ? &vt : NULL);
}

/* "args":[RET,...] of n; the values are gathered in r->args until their
 * number is known */
static bool fast_args(struct lt_reader *r, struct fast *f, struct lt_node *n)
{
	uint32_t na = 0;

	if (*f->q++ != '[')
		return false;
	while (*f->q != ']') {
		if (na && *f->q++ != ',')
			return false;
		if (na == r->acap) {
			r->acap = r->acap ? r->acap * 2 : 16;
			r->args = lt_xrealloc(r->args, r->acap * sizeof(*r->args));
		}
		memset(&r->args[na], 0, sizeof(*r->args));
		if (!fast_value(f, &r->args[na++]))
			return false;
	}
	f->q++;
	n->nargs = na;
	n->args = lt_arena_alloc(&f->e->arena, (na ? na : 1) * sizeof(struct lt_value));
	if (na)
		memcpy(n->args, r->args, na * sizeof(*n->args));
	return true;
}

/* the NODE at f->q with its whole subtree, as f->e's root; without
 * recursion, the nodes whose "calls" are open on r->bst */
static bool fast_tree(struct lt_reader *r, struct fast *f)
{
	size_t depth = 0;
	struct lt_node *n;
	const char *fn;
	int64_t v;

next_node:
	if (!FAST_LIT(f, "{\"fn\":") || !fast_name(r, f, &fn))
		return false;
	n = lt_node_new(f->e, fn);
	if (depth)
		lt_node_append(r->bst[depth - 1].node, n);
	else
		f->e->root = n;
	if (FAST_MEMBER(f, "synthetic") && !fast_bool(f, &n->synthetic))
		return false;
	if (FAST_MEMBER(f, "file") && !fast_name(r, f, &n->file))
		return false;
	if (FAST_MEMBER(f, "line")) {
		if (!fast_int(f, 0, INT32_MAX, &v))
			return false;
		n->line = (int32_t)v;
	}
	if (FAST_MEMBER(f, "interp")) {
		if (!fast_int(f, 0, UINT32_MAX, &v))
			return false;
		n->interp = (uint32_t)v;
	}
	if (FAST_MEMBER(f, "ret")) {
		if (!fast_value(f, &n->ret))
			return false;
		n->has_ret = true;
	}
	if (FAST_MEMBER(f, "dur_ns") && !fast_int(f, 0, INT64_MAX, &n->dur_ns))
		return false;
	if (FAST_MEMBER(f, "run_ns") && !fast_int(f, 0, INT64_MAX, &n->run_ns))
		return false;
	if (FAST_MEMBER(f, "args") && !fast_args(r, f, n))
		return false;
	if (FAST_MEMBER(f, "truncated_calls")) {
		if (!fast_int(f, 0, UINT32_MAX, &v))
			return false;
		n->truncated_calls = (uint32_t)v;
	}
	if (FAST_MEMBER(f, "calls")) {
		if (*f->q++ != '[')
			return false;
		if (*f->q != ']') {
			/* near jp_parse's nesting limit (two containers a
			 * level) the generic path decides */
			if (2 * (depth + 4) > JSON_MAX_DEPTH)
				return false;
			rd_bst_reserve(r, depth);
			r->bst[depth++].node = n;
			goto next_node;
		}
		f->q++;
	}
	/* n is complete: then a sibling, or the end of its parent's "calls"
	 * (the parent's last member: the parent is complete too), or the end
	 * of the tree */
	for (;;) {
		if (*f->q++ != '}')
			return false;
		if (!depth)
			return true;
		if (*f->q == ',') {
			f->q++;
			goto next_node;
		}
		if (*f->q++ != ']')
			return false;
		depth--;
	}
}

/* an exec line member that is a process or thread id (0..INT32_MAX) */
FAST_INLINE bool fast_id(struct fast *f, int32_t *out)
{
	int64_t v;

	if (!fast_int(f, 0, INT32_MAX, &v))
		return false;
	*out = (int32_t)v;
	return true;
}

/* "incomplete": a list of plain strings (FORMAT.md §1), kept when the
 * execution is not complete, as read_jsonl.c does */
static bool fast_reasons(struct fast *f, struct lt_exec *e)
{
	uint32_t m = 0;
	struct jtok t;

	if (*f->q++ != '[')
		return false;
	if (*f->q != ']') {
		do {
			if (!fast_str(f, &t))
				return false;
			m |= lt_incomplete_bit(t.s, t.len);
		} while (*f->q == ',' && f->q++);
		if (*f->q != ']')
			return false;
	}
	f->q++;
	e->incomplete = e->complete ? 0 : m;
	return true;
}

/* line[0..len), which starts with {"type":"exec": true and *out built, or
 * false for the generic path to read it */
bool rd_fast_exec(struct lt_reader *r, const char *line, size_t len, struct lt_exec **out)
{
	struct lt_exec *e = lt_exec_new();
	struct fast f = { line + 14, line + len, e };
	struct jtok t;

	e->id = r->execs_in_file;
	if (FAST_MEMBER(&f, "id") && !fast_int(&f, INT64_MIN, INT64_MAX, &e->id))
		goto generic;
	if ((FAST_MEMBER(&f, "pid") && !fast_id(&f, &e->pid)) ||
	    (FAST_MEMBER(&f, "tid") && !fast_id(&f, &e->tid)) ||
	    (FAST_MEMBER(&f, "nspid") && !fast_id(&f, &e->nspid)) ||
	    (FAST_MEMBER(&f, "nstid") && !fast_id(&f, &e->nstid)))
		goto generic;
	/* not read back */
	if ((FAST_MEMBER(&f, "cmdline") && !fast_str(&f, &t)) || (FAST_MEMBER(&f, "cgroup") && !fast_str(&f, &t)))
		goto generic;
	if (FAST_MEMBER(&f, "start_ns") && (!fast_num(&f, &t) || !rd_start_ns_of(&t, &e->start_ns)))
		goto generic;
	if (FAST_MEMBER(&f, "dur_ns") && !fast_int(&f, 0, INT64_MAX, &e->dur_ns))
		goto generic;
	if (FAST_MEMBER(&f, "run_ns") && !fast_int(&f, 0, INT64_MAX, &e->run_ns))
		goto generic;
	/* "complete" and "root" are required */
	if (!FAST_MEMBER(&f, "complete") || !fast_bool(&f, &e->complete))
		goto generic;
	if (FAST_MEMBER(&f, "incomplete") && !fast_reasons(&f, e))
		goto generic;
	if (!FAST_MEMBER(&f, "root") ||
	    !fast_tree(r, &f) || *f.q != '}' || f.q + 1 != f.end)
		goto generic;
	rd_drop_synthetic_fields(e);
	r->fast_lines++;
	*out = e;
	return true;
generic:
	lt_exec_free(e);
	return false;
}

