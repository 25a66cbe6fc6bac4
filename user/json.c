// SPDX-License-Identifier: MIT
/* JSON writer and iterative parser (see json.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

/* ---- writer ------------------------------------------------------------- */
static void die_oom(void)
{
	fprintf(stderr, "leaktrace: out of memory\n");
	exit(1);
}

static void jw_reserve(struct jw *w, size_t n)
{
	if (w->len + n + 1 <= w->cap)
		return;
	size_t c = w->cap ? w->cap : 4096;
	while (c < w->len + n + 1)
		c *= 2;
	char *b = realloc(w->buf, c);
	if (!b)
		die_oom();
	w->buf = b;
	w->cap = c;
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
static void sep(struct jw *w)
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

static void put_escaped(struct jw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	static const char hex[] = "0123456789abcdef";
	jw_reserve(w, n + 2);
	putc1(w, '"');
	size_t i = 0;
	while (i < n) {
		/* copy a run of plain bytes at once */
		size_t j = i;
		while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
			j++;
		if (j > i) {
			put(w, (const char *)s + i, j - i);
			i = j;
			continue;
		}
		unsigned c = s[i];
		char e[8];
		switch (c) {
		case '"': put(w, "\\\"", 2); i++; continue;
		case '\\': put(w, "\\\\", 2); i++; continue;
		case '\n': put(w, "\\n", 2); i++; continue;
		case '\r': put(w, "\\r", 2); i++; continue;
		case '\t': put(w, "\\t", 2); i++; continue;
		case '\b': put(w, "\\b", 2); i++; continue;
		case '\f': put(w, "\\f", 2); i++; continue;
		}
		if (c < 0x20) {
			e[0] = '\\'; e[1] = 'u'; e[2] = '0'; e[3] = '0';
			e[4] = hex[c >> 4]; e[5] = hex[c & 15];
			put(w, e, 6);
			i++;
			continue;
		}
		size_t l = utf8_len(s + i, n - i);
		if (l) {
			put(w, (const char *)s + i, l);
			i += l;
		} else {
			put(w, "\\ufffd", 6);
			i++;
		}
	}
	putc1(w, '"');
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

void jw_int(struct jw *w, int64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%lld", (long long)v);
	sep(w);
	put(w, b, n);
}

void jw_uint(struct jw *w, uint64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	sep(w);
	put(w, b, n);
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
