// SPDX-License-Identifier: MIT
/* JSON writer and iterative parser (see json.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/err.h"
#include "common/json.h"

/* ---- writer ------------------------------------------------------------- */
static void die_oom(void)
{
	lt_err("out of memory");
	exit(1);
}

/* the writer's paths are written for speed: the recorder's writer thread
 * builds every call's JSON (about 125 bytes a call) */
static __attribute__((noinline)) void jw_grow(struct jw *w, size_t n)
{
	size_t c = w->cap ? w->cap : 4096;
	while (c < w->len + n + 1)
		c *= 2;
	char *b = realloc(w->buf, c);
	if (!b)
		die_oom();
	w->buf = b;
	w->cap = c;
}

/* room for n bytes and the NUL */
static inline void jw_reserve(struct jw *w, size_t n)
{
	if (__builtin_expect(w->len + n + 1 > w->cap, 0))
		jw_grow(w, n);
}

static inline void put(struct jw *w, const char *s, size_t n)
{
	jw_reserve(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

static inline void putc1(struct jw *w, char c)
{
	jw_reserve(w, 1);
	w->buf[w->len++] = c;
	w->buf[w->len] = 0;
}

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
}

void jw_free(struct jw *w)
{
	free(w->buf);
	free(w->first);
	memset(w, 0, sizeof(*w));
}

void jw_reset(struct jw *w)
{
	w->len = 0;
	w->depth = 0;
	w->after_key = false;
	if (w->buf)
		w->buf[0] = 0;
}

/* before any value: a comma unless first at this level or right after a key */
static inline void sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth) {
		if (w->first[w->depth - 1])
			w->first[w->depth - 1] = 0;
		else
			putc1(w, ',');
	}
}

static void push(struct jw *w, char c)
{
	sep(w);
	putc1(w, c);
	if (w->depth == w->depth_cap) {
		size_t n = w->depth_cap ? w->depth_cap * 2 : 64;
		uint8_t *f = realloc(w->first, n);
		if (!f)
			die_oom();
		w->first = f;
		w->depth_cap = n;
	}
	w->first[w->depth++] = 1;
}

static void pop(struct jw *w, char c)
{
	if (w->depth)
		w->depth--;
	putc1(w, c);
}

void jw_obj(struct jw *w) { push(w, '{'); }
void jw_obj_end(struct jw *w) { pop(w, '}'); }
void jw_arr(struct jw *w) { push(w, '['); }
void jw_arr_end(struct jw *w) { pop(w, ']'); }

/* length of a valid UTF-8 sequence at s (max n bytes), 0 if invalid */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* bytes written as they are in a JSON string: printable ASCII but the
 * quote and the backslash */
static const uint8_t plain[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1,
};

size_t jw_quote(char *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	*o++ = '"';
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];

		if (plain[c]) {
			*o++ = c;
			i++;
			continue;
		}
		if (c < 0x80) {
			*o++ = '\\';
			switch (c) {
			case '"': *o++ = '"'; break;
			case '\\': *o++ = '\\'; break;
			case '\n': *o++ = 'n'; break;
			case '\r': *o++ = 'r'; break;
			case '\t': *o++ = 't'; break;
			case '\b': *o++ = 'b'; break;
			case '\f': *o++ = 'f'; break;
			default:
				*o++ = 'u'; *o++ = '0'; *o++ = '0';
				*o++ = hex[c >> 4]; *o++ = hex[c & 15];
			}
			i++;
			continue;
		}
		size_t l = utf8_len(s + i, n - i);
		if (l) {
			memcpy(o, s + i, l);
			o += l;
			i += l;
		} else {
			memcpy(o, "\\ufffd", 6);
			o += 6;
			i++;
		}
	}
	*o++ = '"';
	return o - out;
}

static void put_escaped(struct jw *w, const char *s, size_t n)
{
	jw_reserve(w, JW_QUOTE_MAX(n));
	w->len += jw_quote(w->buf + w->len, s, n);
	w->buf[w->len] = 0;
}

void jw_key_raw(struct jw *w, const char *quoted, size_t n)
{
	sep(w);
	put(w, quoted, n);
	w->after_key = true;
}

void jw_value_raw(struct jw *w, const char *s, size_t n)
{
	sep(w);
	put(w, s, n);
}

void jw_key(struct jw *w, const char *k)
{
	sep(w);
	put_escaped(w, k, strlen(k));
	putc1(w, ':');
	w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	sep(w);
	put_escaped(w, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

/* decimal digits of v, '-' first when neg */
static void put_dec(struct jw *w, uint64_t v, bool neg)
{
	char b[24], *p = b + sizeof(b);

	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	if (neg)
		*--p = '-';
	sep(w);
	put(w, p, b + sizeof(b) - p);
}

void jw_int(struct jw *w, int64_t v)
{
	put_dec(w, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

void jw_uint(struct jw *w, uint64_t v)
{
	put_dec(w, v, false);
}

void jw_double(struct jw *w, double v)
{
	char b[32];
	lt_float_repr(v, b);
	if (!isfinite(v)) {
		jw_str(w, b);
		return;
	}
	sep(w);
	put(w, b, strlen(b));
}

void jw_bool(struct jw *w, bool v)
{
	sep(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	sep(w);
	put(w, "null", 4);
}

void jw_raw(struct jw *w, const char *s, size_t n)
{
	put(w, s, n);
}

char *lt_float_repr(double v, char *buf)
{
	if (isnan(v))
		return strcpy(buf, "nan");
	if (isinf(v))
		return strcpy(buf, v < 0 ? "-inf" : "inf");
	if (v == 0)
		return strcpy(buf, signbit(v) ? "-0.0" : "0.0");
	/* shortest %.*e that reads back exactly */
	char e[40];
	int prec;
	for (prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, v);
		if (strtod(e, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(e, sizeof(e), "%.16e", v);
	/* e = [-]d[.ddd]e[+-]XX: split digits and exponent */
	char digits[24];
	int nd = 0;
	const char *p = e;
	bool neg = false;
	if (*p == '-')
		neg = true, p++;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	digits[nd] = 0;
	int exp = atoi(p + 1);
	/* drop trailing zeros (keep one digit) */
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = 0;
	char *o = buf;
	if (neg)
		*o++ = '-';
	if (exp >= -4 && exp < 16) {
		/* Python's repr: fixed notation when -4 <= exponent < 16 */
		if (exp < 0) {
			*o++ = '0';
			*o++ = '.';
			for (int i = 0; i < -exp - 1; i++)
				*o++ = '0';
			memcpy(o, digits, nd);
			o += nd;
		} else {
			for (int i = 0; i <= exp; i++)
				*o++ = i < nd ? digits[i] : '0';
			*o++ = '.';
			if (nd > exp + 1) {
				memcpy(o, digits + exp + 1, nd - exp - 1);
				o += nd - exp - 1;
			} else {
				*o++ = '0';
			}
		}
		*o = 0;
		return buf;
	}
	*o++ = digits[0];
	if (nd > 1) {
		*o++ = '.';
		memcpy(o, digits + 1, nd - 1);
		o += nd - 1;
	}
	sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	return buf;
}

/* ---- parser ------------------------------------------------------------- */
void jp_init(struct jparse *p)
{
	memset(p, 0, sizeof(*p));
}

void jp_free(struct jparse *p)
{
	free(p->t);
	free(p->stack);
	memset(p, 0, sizeof(*p));
}

static int jp_fail(struct jparse *p, const char *base, const char *at, const char *why)
{
	p->err_off = (size_t)(at - base);
	snprintf(p->err, sizeof(p->err), "invalid JSON at byte %zu: %s", p->err_off + 1, why);
	return -1;
}

static inline uint32_t jp_new(struct jparse *p, uint8_t type)
{
	if (p->ntok == p->cap) {
		uint32_t nc = p->cap ? p->cap * 2 : 1024;
		struct jtok *t = realloc(p->t, (size_t)nc * sizeof(*t));
		if (!t)
			die_oom();
		p->t = t;
		p->cap = nc;
	}
	struct jtok *t = &p->t[p->ntok];
	t->type = type;
	t->n = 0;
	t->end = p->ntok + 1;
	t->len = 0;
	t->s = NULL;
	return p->ntok++;
}

static inline int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static char *put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

const char *jp_unescape(const char **qp, char **op)
{
	const char *q = *qp;
	char *o = *op;
	const char *why = NULL;

	for (;;) {
		unsigned char c = (unsigned char)*q;
		if (c == '"')
			break;
		if (c < 0x20) {
			why = "control character in string";
			goto out;
		}
		if (c != '\\') {
			*o++ = (char)c;
			q++;
			continue;
		}
		q++;
		switch (*q) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			int h0 = hexval(q[1]), h1 = h0 < 0 ? -1 : hexval(q[2]),
			    h2 = h1 < 0 ? -1 : hexval(q[3]), h3 = h2 < 0 ? -1 : hexval(q[4]);
			if (h3 < 0) {
				why = "bad \\u escape";
				goto out;
			}
			uint32_t cp = (uint32_t)(h0 << 12 | h1 << 8 | h2 << 4 | h3);
			q += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && q[1] == '\\' && q[2] == 'u') {
				int l0 = hexval(q[3]), l1 = l0 < 0 ? -1 : hexval(q[4]),
				    l2 = l1 < 0 ? -1 : hexval(q[5]), l3 = l2 < 0 ? -1 : hexval(q[6]);
				uint32_t lo = l3 < 0 ? 0 : (uint32_t)(l0 << 12 | l1 << 8 | l2 << 4 | l3);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					q += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;	/* lone surrogate */
			o = put_utf8(o, cp);
			break;
		}
		default:
			why = "bad escape in string";
			goto out;
		}
		q++;
	}
out:
	*qp = q;
	*op = o;
	return why;
}

/* q points after the opening quote; unescape in place. Returns the position
 * after the closing quote, or NULL with p->err set. */
static char *jp_string(struct jparse *p, const char *base, char *q, uint32_t tok)
{
	char *o, *start = q;
	/* most strings have no escape: find their end without copying */
	while (*q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
		q++;
	o = q;
	if (*q != '"') {
		const char *at = q, *why = jp_unescape(&at, &o);
		if (why) {
			if (!*at && at >= base + p->err_off)
				why = "unterminated string";
			jp_fail(p, base, at, why);
			return NULL;
		}
		q = (char *)at;
	}
	*o = 0;
	p->t[tok].s = start;
	p->t[tok].len = (uint32_t)(o - start);
	return q + 1;
}

const char *jp_number_end(const char *q)
{
	if (*q == '-')
		q++;
	if (*q == '0') {
		q++;
	} else if (*q >= '1' && *q <= '9') {
		while (*q >= '0' && *q <= '9')
			q++;
	} else {
		return NULL;
	}
	if (*q == '.') {
		q++;
		if (!(*q >= '0' && *q <= '9'))
			return NULL;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!(*q >= '0' && *q <= '9'))
			return NULL;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	return q;
}

static char *jp_number(struct jparse *p, const char *base, char *q, uint32_t tok)
{
	char *end = (char *)jp_number_end(q);
	if (!end) {
		jp_fail(p, base, q, "bad number");
		return NULL;
	}
	p->t[tok].s = q;
	p->t[tok].len = (uint32_t)(end - q);
	return end;
}

static inline char *skip_ws(char *q)
{
	while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
		q++;
	return q;
}

int jp_parse(struct jparse *p, char *text, size_t len)
{
	const char *base = text;
	uint32_t max_depth = p->max_depth ? p->max_depth : JSON_MAX_DEPTH;
	uint32_t depth = 0;
	char *q = text;

	text[len] = 0;
	p->ntok = 0;
	p->err[0] = 0;
	p->err_off = len;	/* NUL before this offset is a real byte */
	/* states: expecting a value; after a value (',' or close); expecting a key */
	enum { VALUE, AFTER, KEY } st = VALUE;

	for (;;) {
		q = skip_ws(q);
		if (st == AFTER) {
			if (!depth) {
				if (*q || (size_t)(q - base) < len)
					return jp_fail(p, base, q, "extra data after the value");
				return 0;
			}
			uint32_t top = p->stack[depth - 1];
			bool obj = p->t[top].type == JT_OBJ;
			if (*q == ',') {
				q++;
				st = obj ? KEY : VALUE;
				continue;
			}
			if (*q == (obj ? '}' : ']')) {
				q++;
				p->t[top].end = p->ntok;
				depth--;
				continue;
			}
			return jp_fail(p, base, q, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		}
		if (st == KEY) {
			if (*q != '"')
				return jp_fail(p, base, q, "expected a string key");
			uint32_t tk = jp_new(p, JT_STR);
			p->t[p->stack[depth - 1]].n++;
			q = jp_string(p, base, q + 1, tk);
			if (!q)
				return -1;
			q = skip_ws(q);
			if (*q != ':')
				return jp_fail(p, base, q, "expected ':'");
			q = skip_ws(q + 1);
			st = VALUE;
			/* fall through to the value */
		}
		/* VALUE */
		if (depth)
			p->t[p->stack[depth - 1]].n++;
		uint32_t tk;
		switch (*q) {
		case '{':
		case '[': {
			bool obj = *q == '{';
			tk = jp_new(p, obj ? JT_OBJ : JT_ARR);
			if (depth >= max_depth)
				return jp_fail(p, base, q, "nesting too deep (limit 1000000)");
			if (depth == p->stack_cap) {
				uint32_t nc = p->stack_cap ? p->stack_cap * 2 : 256;
				uint32_t *s = realloc(p->stack, (size_t)nc * sizeof(*s));
				if (!s)
					die_oom();
				p->stack = s;
				p->stack_cap = nc;
			}
			p->stack[depth++] = tk;
			q = skip_ws(q + 1);
			if (*q == (obj ? '}' : ']')) {
				q++;
				depth--;
				st = AFTER;
				continue;
			}
			st = obj ? KEY : VALUE;
			continue;
		}
		case '"':
			tk = jp_new(p, JT_STR);
			q = jp_string(p, base, q + 1, tk);
			if (!q)
				return -1;
			break;
		case 't':
			if (strncmp(q, "true", 4))
				return jp_fail(p, base, q, "unexpected character");
			jp_new(p, JT_TRUE);
			q += 4;
			break;
		case 'f':
			if (strncmp(q, "false", 5))
				return jp_fail(p, base, q, "unexpected character");
			jp_new(p, JT_FALSE);
			q += 5;
			break;
		case 'n':
			if (strncmp(q, "null", 4))
				return jp_fail(p, base, q, "unexpected character");
			jp_new(p, JT_NULL);
			q += 4;
			break;
		default:
			if (*q == '-' || (*q >= '0' && *q <= '9')) {
				tk = jp_new(p, JT_NUM);
				q = jp_number(p, base, q, tk);
				if (!q)
					return -1;
				break;
			}
			if (!*q && (size_t)(q - base) >= len)
				return jp_fail(p, base, q, "unexpected end of input");
			return jp_fail(p, base, q, "unexpected character");
		}
		st = AFTER;
	}
}

int jp_get(const struct jparse *p, uint32_t obj, const char *k)
{
	const struct jtok *t = p->t;
	if (t[obj].type != JT_OBJ)
		return -1;
	uint32_t i = obj + 1, end = t[obj].end;
	while (i < end) {
		uint32_t v = i + 1;
		if (!strcmp(t[i].s, k))
			return (int)v;
		i = t[v].end;
	}
	return -1;
}

bool jp_is_integer_text(const struct jtok *t)
{
	for (uint32_t i = 0; i < t->len; i++)
		if (t->s[i] == '.' || t->s[i] == 'e' || t->s[i] == 'E')
			return false;
	return t->type == JT_NUM;
}

int jp_int64(const struct jtok *t, int64_t *out)
{
	char b[32];
	/* fast path: up to 18 digits cannot overflow */
	if (t->type == JT_NUM && t->len && t->len <= 18) {
		const char *s = t->s;
		uint32_t i = 0;
		bool neg = s[0] == '-';
		int64_t v = 0;
		for (i = neg; i < t->len; i++) {
			if (s[i] < '0' || s[i] > '9')
				break;
			v = v * 10 + (s[i] - '0');
		}
		if (i == t->len && t->len > (uint32_t)neg) {
			*out = neg ? -v : v;
			return 0;
		}
	}
	if (t->type != JT_NUM || t->len >= sizeof(b) || !jp_is_integer_text(t))
		return -1;
	memcpy(b, t->s, t->len);
	b[t->len] = 0;
	errno = 0;
	char *end;
	long long v = strtoll(b, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int jp_double(const struct jtok *t, double *out)
{
	char b[400];
	if (t->type != JT_NUM || t->len >= sizeof(b))
		return -1;
	memcpy(b, t->s, t->len);
	b[t->len] = 0;
	*out = strtod(b, NULL);
	return 0;
}
