/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include "record/values.h"

static int put_utf8(uint32_t c, char *o)
{
	if (c >= 0xd800 && c <= 0xdfff)	/* lone surrogate: not encodable */
		c = 0xfffd;
	if (c < 0x80) {
		o[0] = c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = 0xc0 | (c >> 6);
		o[1] = 0x80 | (c & 0x3f);
		return 2;
	}
	if (c < 0x10000) {
		o[0] = 0xe0 | (c >> 12);
		o[1] = 0x80 | ((c >> 6) & 0x3f);
		o[2] = 0x80 | (c & 0x3f);
		return 3;
	}
	if (c > 0x10ffff)
		return put_utf8(0xfffd, o);
	o[0] = 0xf0 | (c >> 18);
	o[1] = 0x80 | ((c >> 12) & 0x3f);
	o[2] = 0x80 | ((c >> 6) & 0x3f);
	o[3] = 0x80 | (c & 0x3f);
	return 4;
}

size_t lt_units_to_utf8(const void *units, size_t nbytes, int kind, char *out, size_t cap,
			size_t max_bytes, int *cut)
{
	const unsigned char *u = units;
	size_t n = 0, i = 0;

	*cut = 0;
	if (max_bytes > cap - 1)
		max_bytes = cap - 1;
	while (i < nbytes) {
		char buf[4];
		uint32_t c;
		int len, step;

		if (kind == 0) {	/* UTF-8: copy whole sequences */
			c = u[i];
			step = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
			if (i + step > nbytes)
				break;
			memcpy(buf, u + i, step);
			len = step;
		} else {
			step = kind;
			if (i + step > nbytes)
				break;
			c = kind == 1 ? u[i] : kind == 2 ? (uint32_t)(u[i] | u[i + 1] << 8) :
				(uint32_t)(u[i] | u[i + 1] << 8 | u[i + 2] << 16 | (uint32_t)u[i + 3] << 24);
			len = put_utf8(c, buf);
		}
		if (n + len > max_bytes) {
			*cut = 1;
			break;
		}
		memcpy(out + n, buf, len);
		n += len;
		i += step;
	}
	out[n] = 0;
	return n;
}

int lt_digits_to_decimal(const uint32_t *digits, int ndigits, int negative, char *out,
			 size_t cap, int64_t *small)
{
	uint32_t w[64];
	char rev[700];
	size_t nr = 0, o = 0;
	int n = ndigits > 64 ? 64 : ndigits;
	unsigned __int128 v = 0;

	while (n > 0 && digits[n - 1] == 0)
		n--;
	/* fits in 128 bits: exact check against int64 */
	if (n <= 4) {
		for (int i = n - 1; i >= 0; i--)
			v = (v << 30) | digits[i];
		if ((!negative && v <= INT64_MAX) || (negative && v <= (unsigned __int128)INT64_MAX + 1)) {
			*small = negative ? (int64_t)(0 - (uint64_t)v) : (int64_t)v;
			snprintf(out, cap, "%lld", (long long)*small);
			return 1;
		}
	}
	memcpy(w, digits, n * sizeof(uint32_t));
	/* repeated division by 10^9 of the base-2^30 number */
	while (n > 0) {
		uint64_t rem = 0;

		for (int i = n - 1; i >= 0; i--) {
			uint64_t cur = (rem << 30) | w[i];

			w[i] = cur / 1000000000u;
			rem = cur % 1000000000u;
		}
		while (n > 0 && w[n - 1] == 0)
			n--;
		for (int k = 0; k < 9 && nr < sizeof(rev); k++) {
			rev[nr++] = '0' + rem % 10;
			rem /= 10;
			if (n == 0 && rem == 0)
				break;
		}
	}
	while (nr > 1 && rev[nr - 1] == '0')
		nr--;
	if (negative && o + 1 < cap)
		out[o++] = '-';
	while (nr > 0 && o + 1 < cap)
		out[o++] = rev[--nr];
	out[o] = 0;
	return 0;
}

static const char *const fixed_type[] = {
	[LT_RV_NONE] = "NoneType", [LT_RV_INT] = "int", [LT_RV_BIGINT] = "int",
	[LT_RV_FLOAT] = "float", [LT_RV_BOOL] = "bool", [LT_RV_STR] = "str",
	[LT_RV_RAISE] = "<raise>",
};

int lt_decode_ret(const struct lt_rec_ret *r, const void *payload, const char *type_name,
		  uint32_t str_len, struct lt_arena *a, struct lt_value *out)
{
	memset(out, 0, sizeof(*out));
	out->yield = r->flags & LT_RF_YIELD;
	switch (r->vkind) {
	case LT_RV_OTHER:
		out->type = lt_intern(type_name ? type_name : "<unknown>");
		return type_name ? 0 : -1;
	case LT_RV_NONE:
	case LT_RV_RAISE:
		out->yield = r->vkind == LT_RV_RAISE ? 0 : out->yield;
		break;
	case LT_RV_INT:
		out->kind = LT_V_INT;
		out->u.i = (int64_t)r->val;
		break;
	case LT_RV_BOOL:
		out->kind = LT_V_BOOL;
		out->u.b = r->val != 0;
		break;
	case LT_RV_FLOAT:
		out->kind = LT_V_FLOAT;
		memcpy(&out->u.f, &r->val, sizeof(double));
		break;
	case LT_RV_BIGINT: {
		char buf[700];
		int64_t small;

		if (lt_digits_to_decimal(payload, r->payload_len / 4, (int64_t)r->str_len < 0,
					 buf, sizeof(buf), &small)) {
			out->kind = LT_V_INT;
			out->u.i = small;
		} else {
			out->kind = LT_V_BIGINT;
			out->slen = strlen(buf);
			out->s = lt_arena_strndup(a, buf, out->slen);
		}
		break;
	}
	case LT_RV_STR: {
		char buf[4 * LT_MAX_STR + 1];
		int cut;
		size_t units = r->payload_len / (r->str_kind ? r->str_kind : 1);

		out->kind = LT_V_STR;
		out->slen = lt_units_to_utf8(payload, r->payload_len, r->str_kind, buf, sizeof(buf),
					     str_len, &cut);
		out->s = lt_arena_strndup(a, buf, out->slen);
		out->truncated = cut || units < r->str_len;
		break;
	}
	default:
		out->type = lt_intern("<unknown>");
		return -1;
	}
	out->type = lt_intern(fixed_type[r->vkind]);
	return 0;
}
