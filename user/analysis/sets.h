/* SPDX-License-Identifier: MIT */
/*
 * Set algebra of the paper (FORMAT.md §4) by counting, in one pass over E then
 * one over E'. n = |E|, m = |E'|, cnt_X(x) = executions of X holding x.
 *
 * returns (Diff = obs(e2) - obs(e1)):
 *   D_E   = { x : 0 < cnt_E(x) < n }          (in some e2, missing in some e1)
 *   D_EE' = { x : cnt_E'(x) = m, cnt_E(x) = 0 }
 * calls (Diff = {(k, v2(k)) : v1(k) != v2(k)}, v = 0 when absent), with
 *   N_X(k,c) = executions of X where v(k) = c (c = 0: n - present_X(k)):
 *   D_E   = { (k,c) : 0 < N_E(k,c) < n }
 *   D_EE' = { (k,c) : N_E'(k,c) = m, N_E(k,c) = 0 }
 * time (Diff = {k : |t1(k) - t2(k)| > T}, t = 0 when absent), with
 *   A_k = { t_e(k) : e in E }, B_k the same over E':
 *   D_E   = { k : max A_k - min A_k > T }
 *   D_EE' = { k : every b in B_k is farther than T from every a in A_k },
 *           tested per b against the union of [a-T, a+T] (merged intervals,
 *           at most one per 2T of range, so memory stays per key)
 * and everywhere D_E' likewise over E', D_IF = D_EE' - D_E - D_E'.
 */
#ifndef LT_SETS_H
#define LT_SETS_H

#include <stdbool.h>
#include <stdint.h>
#include "analysis/observe.h"
#include "trace/trace.h"

struct lt_elem_out {
	const char *key;	/* key text */
	const char *val;	/* returns "int:100"; calls the count as text; NULL for time */
	int64_t num;		/* calls: the count; time: 0 */
	const struct lt_site *path;	/* example (first in E' when it occurs there), may be NULL */
	uint32_t cnt_E, cnt_E2;	/* executions holding the element (time: with the key) */
	double auc;		/* time with --auc: P(t in E' > t in E) + 0.5 P(=) */
	int64_t maxA, minA, maxB, minB;	/* time: duration ranges (ns), absent = 0 */
};

struct lt_elem_list {
	struct lt_elem_out *v;
	size_t n;
};

struct lt_obs_result {
	size_t nD_E, nD_E2, nD_EE2, nD_IF;
	struct lt_elem_list D_E, D_E2;	/* only with opts.list_all */
	struct lt_elem_list D_EE2, D_IF;	/* sorted by key, then value */
	struct lt_elem_list support;	/* --min-support: rules with enough support */
	struct lt_elem_list reverse;	/* --both-directions: in all of E, no E' */
	struct lt_elem_list auc;	/* --auc (time): every key, sorted by key */
};

struct lt_sets_opts {
	int keykind;
	unsigned obs_mask;	/* 1 << LT_OBS_* */
	int64_t threshold_ns;	/* time: |t1 - t2| > threshold_ns (integer ns) */
	bool list_all;		/* also list D_E and D_E' */
	double min_support;	/* > 0: compute .support */
	bool both_directions;
	bool auc;		/* keep durations per key (memory grows with executions) */
};

struct lt_sets;
struct lt_sets *lt_sets_new(const struct lt_sets_opts *o);
/* side 0 = E, 1 = E'. All of E must come before any of E'. */
void lt_sets_add(struct lt_sets *s, const struct lt_exec *e, int side);
/*
 * Summaries (analysis/summary.h): one side's executions merged in as
 * counts, with the result of adding the executions themselves. First
 * lt_sets_add_count(side, executions), then each element once. All of E
 * (executions and summaries) must come before any of E'.
 *   returns: (key, val) held by cnt executions;
 *   calls:   (key, num) held by cnt executions, and with key_present the
 *            key itself (cnt = executions where it occurs, val NULL);
 *   time:    key with a duration in cnt executions, min/max over them, and
 *            spans: the durations as sorted chains [lo, hi] in which
 *            neighbours are at most the threshold apart and chains are
 *            farther apart than that (exact for D_EE' at that threshold).
 * path: the element's first witness on that side, may be NULL.
 */
struct lt_sets_elem_in {
	int obs;
	const void *key;
	const char *val;
	int64_t num;
	bool key_present;
	uint32_t cnt;
	const struct lt_site *path;
	int64_t min, max;
	const int64_t (*spans)[2];
	size_t nspans;
};
void lt_sets_add_count(struct lt_sets *s, int side, uint32_t executions);
void lt_sets_add_elem(struct lt_sets *s, int side, const struct lt_sets_elem_in *in);
/* compute the sets; res[LT_OBS_N] */
void lt_sets_finish(struct lt_sets *s, struct lt_obs_result *res);
size_t lt_sets_count(const struct lt_sets *s, int side);
void lt_sets_free(struct lt_sets *s);
void lt_obs_result_free(struct lt_obs_result *r);

/* a + b, saturated at the int64 bounds (time intervals around spans) */
static inline int64_t lt_sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

#endif
