/* SPDX-License-Identifier: MIT */
/*
 * CPython's str storage (PEP 393): 1, 2 or 4 bytes per character (or
 * UTF-8 where the BPF side read a UTF-8 buffer), as read from a target's
 * memory, turned into UTF-8. Used by the live check (reading names from
 * a target) and by the decoding of recorded values.
 */
#ifndef LT_PYSTR_H
#define LT_PYSTR_H

#include <stddef.h>
#include <stdint.h>

/*
 * Code units of `kind` bytes (0 = already UTF-8, 1 = latin-1, 2 = UCS-2,
 * 4 = UCS-4) to UTF-8 in out (cap bytes, NUL-terminated), cut on a
 * character boundary at max_bytes. Returns the byte length; *cut is set
 * when characters were left out.
 */
size_t lt_units_to_utf8(const void *units, size_t nbytes, int kind, char *out, size_t cap,
			size_t max_bytes, int *cut);

/*
 * The other way: UTF-8 text as CPython stores a str of `kind` (1, 2, 4:
 * little-endian code units), into out (cap bytes). Returns the byte
 * length, or 0 when a character does not fit the kind, the text is not
 * UTF-8, or the units need more than cap bytes.
 */
size_t lt_utf8_to_units(const char *utf8, int kind, char *out, size_t cap);

#endif
