/* SPDX-License-Identifier: MIT */
/*
 * Detection rules (FORMAT.md §5): load a rules file or build the rules of
 * an analysis in memory, write them, match executions.
 *
 * Recorder use (live `record --rules`), per completed execution:
 *   struct lt_rules *rs = lt_rules_load(path);     // NULL: error printed
 *   int n = lt_rules_match(rs, exec, on_match, ctx);  // on_match per rule matched
 *   char d[256]; lt_rule_describe(rule, d, sizeof(d));  // "returns i16be = int:100"
 *   lt_rules_free(rs);
 * Not thread-safe: one lt_rules per thread.
 */
#ifndef LT_RULES_H
#define LT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "trace/trace.h"

struct lt_rule {
	int index;		/* position in the file */
	int obs;		/* LT_OBS_* */
	int keykind;		/* LT_KEY_* */
	const char *key;	/* interned key text */
	const char *val;	/* returns: "int:100"; calls: count as text; NULL for time */
	int64_t num;		/* calls: the count */
	bool has_min, has_max;	/* time: matches when t > min_ms / t < max_ms */
	double min_ms, max_ms;
	const char *site;	/* informative example path, may be NULL */
	/* per-execution state (lt_rules_match) */
	struct lt_rule *next_same;	/* rules with the same key */
	bool seen, matched;
	int64_t v;		/* calls count / time ns in this execution */
	const char *vals[8];	/* returns: values of the key in this execution */
	const char *site_val;	/* returns with a site: the value there, or
				 * "(absent)" / "(no value)" */
	int nvals;
	bool vals_more;
};

struct lt_rules {
	struct lt_rule *v;
	size_t n;
	char *path;
	struct lt_rules_priv *priv;
	/* how the traces the rules were learned from were made (FORMAT.md
	 * §5 "capture"); not set: unknown. Written by lt_rules_write, read
	 * by lt_rules_load; detect compares its traces with it. */
	struct lt_capture capture;
};

/* NULL after printing "leaktrace: PATH: reason" */
struct lt_rules *lt_rules_load(const char *path);
/* The rules of an analysis (FORMAT.md §5): one per element of D_IF of the
 * observations in mask (res[LT_OBS_N] from lt_sets_finish), in that order;
 * a time rule's threshold is halfway between the two sides' ranges. Built
 * in memory, ready for lt_rules_match and lt_rules_write. */
struct lt_obs_result;
struct lt_rules *lt_rules_from_sets(const struct lt_obs_result *res, unsigned mask, int keykind);
/* the rules file (FORMAT.md §5) of rs at path ("-" = stdout): 0, or
 * LT_EXIT_FAIL after printing one line */
int lt_rules_write(const struct lt_rules *rs, const char *path);
/* calls fn for each rule that execution e matches; returns how many */
typedef void (*lt_rule_fn)(void *ctx, const struct lt_exec *e, const struct lt_rule *r);
int lt_rules_match(struct lt_rules *rs, const struct lt_exec *e, lt_rule_fn fn, void *ctx);
/* "returns i16be = int:100", "time slow_fn > 12.5 ms" */
void lt_rule_describe(const struct lt_rule *r, char *buf, size_t len);
/* the value(s) of the rule's key in the execution last matched, for Table I:
 * returns: the value at the rule's site when it has one (the paper's
 * Table I), else sorted values joined by ',' or "(absent)"; calls: the count;
 * time: "> X ms" or "<= X ms" */
void lt_rule_observed(const struct lt_rule *r, char *buf, size_t len);
void lt_rules_free(struct lt_rules *rs);

#endif
