/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include "record/values.h"

int lt_digits_to_decimal(const uint32_t *digits, int ndigits, int negative, char *out,
			 size_t cap, int64_t *small)
{
	uint32_t w[LT_BIGINT_DIGITS];
	char rev[LT_BIGINT_DEC];
	size_t nr = 0, o = 0;
	int n = ndigits > LT_BIGINT_DIGITS ? LT_BIGINT_DIGITS : ndigits;
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

size_t lt_bigint_marker(const uint32_t *top, int ntop, uint64_t ndigits, int negative,
			char *out, size_t cap)
{
	uint64_t h = 0xcbf29ce484222325ULL, bits;
	const uint8_t *p = (const uint8_t *)top;
	uint32_t d = ntop > 0 ? top[ntop - 1] : 0;
	int n;

	for (size_t i = 0; i < (size_t)ntop * 4; i++)	/* FNV-1a */
		h = (h ^ p[i]) * 0x100000001b3ULL;
	bits = 30 * (ndigits - 1);
	while (d) {
		bits++;
		d >>= 1;
	}
	n = snprintf(out, cap, "%s<int of %llu bits #%016llx>", negative ? "-" : "",
		     (unsigned long long)bits, (unsigned long long)h);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
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
		char buf[LT_BIGINT_DEC + 2];
		int64_t small;
		bool neg = (int32_t)r->str_len < 0;
		uint64_t nd = neg ? -(int64_t)(int32_t)r->str_len : r->str_len;

		if (nd > r->payload_len / 4) {
			/* cut: only its most significant digits came */
			out->kind = LT_V_BIGINT;
			out->slen = lt_bigint_marker(payload, r->payload_len / 4, nd,
						     neg, buf, sizeof(buf));
			out->s = lt_arena_strndup(a, buf, out->slen);
			out->truncated = true;
		} else if (lt_digits_to_decimal(payload, r->payload_len / 4, neg,
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
