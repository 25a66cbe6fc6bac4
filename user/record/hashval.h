/* SPDX-License-Identifier: MIT */
/* --hash-values: values replaced by a keyed hash (SipHash-2-4), so that
 * equal values stay equal across recordings made with the same key while
 * the values themselves never reach the trace. */
#ifndef LT_HASHVAL_H
#define LT_HASHVAL_H

#include <stdint.h>
#include "trace/trace.h"

uint64_t siphash24(const void *data, size_t len, const uint8_t key[16]);
/* replace v's value (int, float, bool, str) by "h:<16 hex>" */
void lt_hash_value(struct lt_value *v, const uint8_t key[16], struct lt_arena *a);
/* key from FILE (created with a random key, mode 0600, when missing), or a
 * random key when path is NULL; 0 on success, message printed otherwise */
int lt_hash_key_load(const char *path, uint8_t key[16]);
/* what the trace header says of the key (FORMAT.md §1 "hash_key"): 16 hex
 * digits of a keyed hash of a fixed text, equal for equal keys, and from
 * which the key cannot be found */
void lt_hash_key_fingerprint(const uint8_t key[16], char out[17]);

#endif
