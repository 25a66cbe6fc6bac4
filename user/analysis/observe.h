/* SPDX-License-Identifier: MIT */
/*
 * Observations of an execution (FORMAT.md §4): returns, calls, time; and the keys
 * they use (name, qualname, site).
 *
 * A key is an opaque pointer, equal keys are the same pointer: for name and
 * qualname an interned string, for site a struct lt_site (interned path
 * step; turned into "open[52]/_open_core[5]" text only for output, so deep
 * trees cost linear time). lt_key_str() gives the text.
 */
#ifndef LT_OBSERVE_H
#define LT_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>
#include "trace/trace.h"

enum lt_obs { LT_OBS_RETURNS, LT_OBS_CALLS, LT_OBS_TIME, LT_OBS_N };
enum lt_keykind { LT_KEY_NAME, LT_KEY_QUALNAME, LT_KEY_SITE };

extern const char *const lt_obs_names[LT_OBS_N];	/* "returns", "calls", "time" */
extern const char *const lt_key_names[3];		/* "name", "qualname", "site" */
int lt_obs_parse(const char *s);	/* -1 if unknown */
int lt_key_parse(const char *s);	/* -1 if unknown */
/* the command-line values of analyze and summarize: 0, or -1 after a
 * message naming the option (--observe LIST, --key KIND,
 * --time-threshold-ms X) */
int lt_observe_arg(const char *arg, unsigned *mask);
int lt_key_arg(const char *arg, int *kind);
int lt_threshold_arg(const char *arg, double *ms);

/* one step of a site path: parent == NULL for the root's children; the
 * root's own site has idx == LT_SITE_ROOT and prints as its fn */
#define LT_SITE_ROOT UINT32_MAX
struct lt_site {
	const struct lt_site *parent;
	const char *fn;		/* interned */
	uint32_t idx;
	uint32_t depth;
	const char *str;	/* cached text, interned */
};
const struct lt_site *lt_site_get(const struct lt_site *parent, const char *fn, uint32_t idx);
/* the site of any node (walks up to the root) */
const struct lt_site *lt_site_of_node(const struct lt_node *n);
/* "open[52]/_open_core[5]" (interned, cached) */
const char *lt_site_str(const struct lt_site *s);
/* Listing 1 style: "[52] open / [5] _open_core" (malloc'd) */
char *lt_site_listing(const struct lt_site *s);

/* plain name: last dotted part of a qualified name (interned, cached) */
const char *lt_plain_name(const char *fn);

/* key text for output */
const char *lt_key_str(int kind, const void *key);

/* "type:value" of a return value when its type is str/int/float/bool and a
 * value is present (interned), else NULL */
const char *lt_value_elem(const struct lt_value *v);

/*
 * Observe one execution. The callbacks get each element with an example
 * node (its first occurrence in call order):
 *  returns: once per call with an observed value (duplicates included);
 *  calls:   once per key at the end, num = the count (always > 0);
 *  time:    once per key at the end, num = total ns (keys with a duration).
 */
struct lt_observer;
typedef void (*lt_elem_fn)(void *ctx, int obs, const void *key, const char *val, int64_t num,
			   const struct lt_node *example);
struct lt_observer *lt_observer_new(int keykind);
void lt_observer_free(struct lt_observer *o);
void lt_observe(struct lt_observer *o, const struct lt_exec *e, unsigned obs_mask, lt_elem_fn fn, void *ctx);
/* site of an example node given to a callback (cheap for the current node) */
const struct lt_site *lt_observer_site(struct lt_observer *o, const struct lt_node *n);

#endif
