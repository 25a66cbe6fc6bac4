/* SPDX-License-Identifier: MIT */
/* Decoding of what the BPF side read from the target: str code units to
 * UTF-8 (pybuild/pystr.h), 30-bit int digits to decimal, RET records to lt_value. */
#ifndef LT_VALUES_H
#define LT_VALUES_H

#include <linux/types.h>
#include "leaktrace.h"
#include "pybuild/pystr.h"	/* lt_units_to_utf8 */
#include "trace/trace.h"

/* decimal digits of an int of LT_BIGINT_DIGITS 30-bit digits, at most */
#define LT_BIGINT_DEC	4700

/* CPython int digits (base 2^30, little-endian) with the sign of `size` to
 * a decimal string in out (LT_BIGINT_DIGITS of them at most); returns 1
 * when it fits int64 (*small set) */
int lt_digits_to_decimal(const uint32_t *digits, int ndigits, int negative, char *out,
			 size_t cap, int64_t *small);
/*
 * The value written for an int of more than LT_BIGINT_DIGITS digits, of
 * which only the ntop most significant came (FORMAT.md §2):
 * "[-]<int of BITS bits #HASH>", HASH the FNV-1a 64 of those digits.
 * Returns its length.
 */
size_t lt_bigint_marker(const uint32_t *top, int ntop, uint64_t ndigits, int negative,
			char *out, size_t cap);

/*
 * A RET record to a value. type_name: tp_name for LT_RV_OTHER (may be
 * NULL if unknown). str_len: --str-len. Returns 0, or -1 when the value
 * could not be read (out->type is then "<unknown>").
 */
int lt_decode_ret(const struct lt_rec_ret *r, const void *payload, const char *type_name,
		  uint32_t str_len, struct lt_arena *a, struct lt_value *out);

#endif
