/* SPDX-License-Identifier: MIT */
/*
 * Summaries (docs/ANALYSIS.md, "Summaries"): the counts the analysis needs
 * from one set of executions, mergeable, so that a fleet's traces are
 * summarized where they are (`leaktrace summarize`) and analyzed at once
 * (`leaktrace analyze` takes summaries wherever it takes traces) with
 * exactly the result of analyzing all the traces. Memory and size grow with
 * distinct elements, not executions.
 *
 * A summary is made for one key kind, one time threshold and a set of
 * observations (the choices analyze makes per element); it keeps the
 * capture options of the traces (their header's fields, lt_sum_capture_diff)
 * and refuses inputs whose options differ.
 *
 *   struct lt_sum *s = lt_sum_new(&opts);
 *   lt_sum_add_path(s, "node1/");    // traces, summaries, or a directory of both
 *   lt_sum_write(s, "node1.sum");    // or lt_sum_to_sets(s, sets, side)
 *   lt_sum_free(s);
 */
#ifndef LT_SUMMARY_H
#define LT_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "analysis/sets.h"
#include "trace/trace.h"

#define LT_SUMMARY_FORMAT 1

struct lt_sum_opts {
	int keykind;		/* LT_KEY_* */
	unsigned obs_mask;	/* 1 << LT_OBS_* */
	int64_t threshold_ns;	/* time: differences above it count */
};

/* The capture options of a trace (its header) that decide what an
 * execution holds; two sets of traces compare only when they are equal.
 * Generic: name/value pairs, so that new header fields need one line in
 * lt_sum_capture_of_header. */
#define LT_SUM_CAPTURE_MAX 16
struct lt_sum_capture {
	int n;
	const char *name[LT_SUM_CAPTURE_MAX];	/* interned */
	const char *val[LT_SUM_CAPTURE_MAX];	/* interned text, NULL = absent */
};
void lt_sum_capture_of_header(const struct lt_header *h, struct lt_sum_capture *c);
/* NULL when equal, else the name of the first field that differs (a
 * field absent on one side differs from any value) */
const char *lt_sum_capture_diff(const struct lt_sum_capture *a, const struct lt_sum_capture *b);
const char *lt_sum_capture_get(const struct lt_sum_capture *c, const char *name);

struct lt_sum;
struct lt_sum *lt_sum_new(const struct lt_sum_opts *o);
void lt_sum_free(struct lt_sum *s);
/* fold in a trace file, a summary file or a directory of them (in file
 * name order, as the trace reader does): 0, or LT_EXIT_USAGE after one
 * line naming the file and what differs */
int lt_sum_add_path(struct lt_sum *s, const char *path);
/* the summary file at path (".gz": gzip): 0 or LT_EXIT_FAIL after a line */
int lt_sum_write(struct lt_sum *s, const char *path);
/* complete executions counted, incomplete ones skipped */
size_t lt_sum_count(const struct lt_sum *s);
size_t lt_sum_skipped(const struct lt_sum *s);
/* the capture options of its inputs; NULL before any input */
const struct lt_sum_capture *lt_sum_capture(const struct lt_sum *s);
/* merge into the engine as side 0 (E) or 1 (E'); obs in the engine's
 * options only */
void lt_sum_to_sets(struct lt_sum *s, struct lt_sets *sets, int side);
/* analyze's two inputs when either holds a summary: each side (traces and
 * summaries alike) folded into a summary, their capture options compared,
 * both merged into sets; skipped[] gets the incomplete executions. 0, or
 * LT_EXIT_USAGE after one line */
int lt_sum_analyze_inputs(struct lt_sets *sets, const struct lt_sets_opts *so, const char *clean,
			  const char *adv, size_t skipped[2]);

/* path is a summary file, or a directory holding one */
bool lt_is_summary_path(const char *path);

#endif
