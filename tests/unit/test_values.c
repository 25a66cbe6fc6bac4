/* Value decoding (user/record/values.c) and keyed hashing (user/record/hashval.c). */
#include <string.h>
#include "record/hashval.h"
#include "record/values.h"
#include "unit.h"

static void utf8_conversion_and_cut(void)
{
	char out[64];
	int cut;
	const unsigned char latin[] = { 'c', 'a', 'f', 0xe9 };
	const uint16_t ucs2[] = { 0x4e2d, 0x6587, 0xd800 };	/* lone surrogate last */
	const uint32_t ucs4[] = { 0x1f600, 'a' };

	CHECK(lt_units_to_utf8(latin, 4, 1, out, sizeof(out), 64, &cut) == 5);
	CHECK(!strcmp(out, "caf\xc3\xa9") && !cut);
	/* a cut never splits a character */
	CHECK(lt_units_to_utf8(latin, 4, 1, out, sizeof(out), 4, &cut) == 3 && cut);
	CHECK(lt_units_to_utf8(ucs2, 6, 2, out, sizeof(out), 64, &cut) == 9);
	CHECK(!strcmp(out, "\xe4\xb8\xad\xe6\x96\x87\xef\xbf\xbd"));
	CHECK(lt_units_to_utf8(ucs4, 8, 4, out, sizeof(out), 64, &cut) == 5);
	CHECK(!memcmp(out, "\xf0\x9f\x98\x80" "a", 5));
	CHECK(lt_units_to_utf8(ucs4, 8, 4, out, sizeof(out), 3, &cut) == 0 && cut);
}

static void big_ints_to_decimal(void)
{
	char out[700];
	int64_t small;
	/* 2**100 = digits (base 2**30): 0, 0, 0, 1024 */
	const uint32_t d100[] = { 0, 0, 0, 1024 };
	/* 2**63 = 8 * 2**60: digits 0, 0, 8 */
	const uint32_t d63[] = { 0, 0, 8 };

	CHECK(lt_digits_to_decimal(d100, 4, 0, out, sizeof(out), &small) == 0);
	CHECK(!strcmp(out, "1267650600228229401496703205376"));
	CHECK(lt_digits_to_decimal(d63, 3, 0, out, sizeof(out), &small) == 0);
	CHECK(!strcmp(out, "9223372036854775808"));
	CHECK(lt_digits_to_decimal(d63, 3, 1, out, sizeof(out), &small) == 1);
	CHECK(small == INT64_MIN);
}

/* an int longer than LT_BIGINT_DIGITS: its most significant digits came,
 * written as the FORMAT.md §2 marker, truncated, not a read failure */
static void cut_int_marker(void)
{
	struct lt_arena a = { 0 };
	struct lt_value v;
	uint32_t top[2] = { 0, 1 };	/* top digit 1: 30 * (n - 1) + 1 bits */
	struct lt_rec_ret r = { .type = LT_REC_RET, .vkind = LT_RV_BIGINT, .payload_len = 8 };
	char want[64];

	r.str_len = (uint32_t)-700;	/* 700 digits, negative */
	CHECK(lt_decode_ret(&r, top, NULL, 64, &a, &v) == 0);
	CHECK(v.kind == LT_V_BIGINT && v.truncated && !strcmp(v.type, "int"));
	lt_bigint_marker(top, 2, 700, 1, want, sizeof(want));
	CHECK(!strcmp(v.s, want) && !strncmp(want, "-<int of 20971 bits #", 21));
	/* 2 digits whole: a plain int, not cut */
	r.str_len = 2;
	CHECK(lt_decode_ret(&r, top, NULL, 64, &a, &v) == 0 && v.kind == LT_V_INT &&
	      v.u.i == 1 << 30 && !v.truncated);
	lt_arena_free(&a);
}

static void siphash_reference_vector(void)
{
	uint8_t key[16], msg[15];

	for (int i = 0; i < 16; i++)
		key[i] = i;
	for (int i = 0; i < 15; i++)
		msg[i] = i;
	/* from the SipHash paper, appendix A */
	CHECK(siphash24(msg, 15, key) == 0xa129ca6149be45e5ULL);
}

static void hashed_values_compare_by_type_and_value(void)
{
	struct lt_arena a = { 0 };
	uint8_t key[16] = { 1 };
	struct lt_value x = { .type = "int", .kind = LT_V_INT, .u.i = 100 };
	struct lt_value y = x, z = { .type = "float", .kind = LT_V_FLOAT, .u.f = 100 };

	lt_hash_value(&x, key, &a);
	lt_hash_value(&y, key, &a);
	lt_hash_value(&z, key, &a);
	CHECK(x.kind == LT_V_HASH && !strncmp(x.s, "h:", 2) && x.slen == 18);
	CHECK(!strcmp(x.s, y.s) && strcmp(x.s, z.s));
	lt_arena_free(&a);
}

int main(void)
{
	RUN(utf8_conversion_and_cut);
	RUN(big_ints_to_decimal);
	RUN(cut_int_marker);
	RUN(siphash_reference_vector);
	RUN(hashed_values_compare_by_type_and_value);
	UNIT_EXIT();
}
