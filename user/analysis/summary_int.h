// SPDX-License-Identifier: MIT
/* Summaries inside (summary.c, summary_read.c): the accumulator's elements
 * and what the summary-file reader shares with it. Not for other files:
 * analysis/summary.h is. */
#ifndef LT_ANALYSIS_SUMMARY_INT_H
#define LT_ANALYSIS_SUMMARY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "analysis/summary.h"
#include "common/hmap.h"
#include "trace/trace.h"

enum { E_RET, E_CALLS, E_CKEY, E_TIME };

struct selem {
	int kind;		/* E_* */
	const void *key;
	const char *val;	/* E_RET */
	int64_t num;		/* E_CALLS: the count */
	uint32_t cnt;		/* executions holding it */
	uint64_t stamp;		/* E_RET: last execution counted */
	const struct lt_site *path;
	int64_t min, max;	/* E_TIME */
	int64_t (*sp)[2];	/* E_TIME: chains [lo, hi], sorted up to nsorted */
	uint32_t nsp, spcap, nsorted;
};

struct lt_sum {
	struct lt_sum_opts o;
	struct lt_observer *obs;
	struct lt_arena arena;
	struct hmap map[4];	/* per E_* */
	size_t count, skipped;
	uint64_t seq;
	bool has_cap;
	struct lt_sum_capture cap;
	const char *cap_from;	/* the file the capture options came from */
};

/* summary.c: the element (kind, key, k2), made if new */
struct selem *elem_get(struct lt_sum *s, int kind, const void *key, uint64_t k2);
/* cnt executions holding e, one witness path, E_TIME's bounds */
void elem_merge(struct lt_sum *s, struct selem *e, uint32_t cnt, const struct lt_site *path,
		int64_t min, int64_t max);
/* E_TIME: the chain [lo, hi] joined with threshold T; compacted */
void span_add(struct selem *e, int64_t lo, int64_t hi, int64_t T);
void span_compact(struct selem *e, int64_t T);
/* an input's capture options against those met first; exit 2 named */
int cap_check(struct lt_sum *s, const struct lt_sum_capture *c, const char *from);
/* a raw trace's executions, counted in */
int add_trace(struct lt_sum *s, const char *path);

#endif
