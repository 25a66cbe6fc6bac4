/* SPDX-License-Identifier: MIT */
/*
 * `leaktrace analyze --report FILE`: one self-contained HTML file (inline
 * CSS and SVG, no script, no network) with the analysis' set sizes, the
 * D_IF / D_EE' elements and their call paths, Table I per rule and the
 * duration distributions of the time observation. Layout in docs/REPORT.md.
 */
#ifndef LT_REPORT_H
#define LT_REPORT_H

#include <stddef.h>
#include "analysis/sets.h"

struct lt_report_in {
	const char *clean, *adv;	/* re-read for Table I and the time plots */
	const struct lt_sets_opts *so;
	double thr_ms;
	size_t n, m;			/* complete executions in E, E' */
	size_t skipped[2];
	const struct lt_obs_result *res;	/* res[LT_OBS_N] from lt_sets_finish */
};

/* Writes the report; 0, LT_EXIT_USAGE (input changed/bad on the second
 * read) or LT_EXIT_FAIL (cannot write), after printing one line. */
int lt_report_write(const char *path, const struct lt_report_in *in);

#endif
