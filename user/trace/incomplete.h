/* SPDX-License-Identifier: MIT */
/*
 * Why an execution is incomplete (FORMAT.md §1 "incomplete"): a bit per
 * reason in lt_exec.incomplete, written as a list of fixed tokens. The
 * recorder sets at least one bit on every execution it writes
 * complete:false; a reader keeps what it knows of a token list and maps a
 * token it does not know (a later leaktrace) to LT_INC_UNKNOWN.
 */
#ifndef LT_INCOMPLETE_H
#define LT_INCOMPLETE_H

#include <stddef.h>
#include <stdint.h>

enum {
	LT_INC_LOST_EVENTS	= 1u << 0,	/* records lost (ring buffer full, probe scratch busy) */
	LT_INC_STALE_FRAMES	= 1u << 1,	/* frames closed without their return (resync) */
	LT_INC_BEFORE_ATTACH	= 1u << 2,	/* it (or a call in it) may have begun before attach */
	LT_INC_START_UNSEEN	= 1u << 3,	/* a call returned whose start was not seen */
	LT_INC_STOPPED		= 1u << 4,	/* still running when recording stopped */
	LT_INC_EXITED		= 1u << 5,	/* its thread or process exited inside it */
	LT_INC_ROOT_UNSURE	= 1u << 6,	/* --no-durations: not known whether a root ran around it */
	LT_INC_ABANDONED	= 1u << 7,	/* its suspended root was dropped, never resumed */
	LT_INC_OTHER_THREAD	= 1u << 8,	/* --no-durations: a coroutine moved to another thread */
	LT_INC_THROW_AMBIGUOUS	= 1u << 9,	/* a generator exit through an unseen generator */
	LT_INC_THROW_UNSEEN	= 1u << 10,	/* a run entered by throw() made calls not seen */
	LT_INC_THROW_OPEN	= 1u << 11,	/* calls thrown into whose caller's exit never came */
	LT_INC_READ_FAILURES	= 1u << 12,	/* a read of the target's memory failed */
	LT_INC_NO_MEMORY	= 1u << 13,	/* the recorder ran out of memory */
	LT_INC_PENDING_LIMIT	= 1u << 14,	/* --no-durations: too many calls without a root's end */
	LT_INC_JIT		= 1u << 15,	/* its process runs with CPython's JIT on */
	LT_INC_UNKNOWN		= 1u << 16,	/* no reason known (a bug in the recorder, or a
						 * token this version does not know) */
	LT_INC_NREASONS		= 17,
};

/* the token of bit i (0 <= i < LT_INC_NREASONS) */
const char *lt_incomplete_name(int i);
/* the bit of token s[0..n), LT_INC_UNKNOWN when not a known token */
uint32_t lt_incomplete_bit(const char *s, size_t n);
/* "lost_events,stopped" (the tokens of mask joined by sep) into buf */
void lt_incomplete_str(uint32_t mask, const char *sep, char *buf, size_t size);

#endif
