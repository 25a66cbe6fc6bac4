// SPDX-License-Identifier: MIT
/* libFuzzer harness: the summary reader (analysis/summary.c), with each
 * key kind, then what analyze does with a summary: merged as E and as E'
 * into the sets engine, the sets computed, the summary written back. A
 * fleet's summaries come from other machines: they are untrusted input. */
#include "analysis/summary.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[300], out[300];
	if (!path[0]) {
		snprintf(path, sizeof(path), "%s/in.ltsum", fz_dir());
		snprintf(out, sizeof(out), "%s/out.ltsum", fz_dir());
	}
	fz_put(path, data, size);
	for (int k = 0; k < 3; k++) {
		struct lt_sum_opts o = { .keykind = k, .obs_mask = 7, .threshold_ns = 50000000 };
		struct lt_sum *s = lt_sum_new(&o);
		if (!lt_sum_add_path(s, path)) {
			struct lt_sets_opts so = { .keykind = k, .obs_mask = 7, .threshold_ns = 50000000,
						   .list_all = true, .min_support = 0.6, .both_directions = true };
			struct lt_sets *sets = lt_sets_new(&so);
			struct lt_obs_result res[LT_OBS_N];
			lt_sum_to_sets(s, sets, 0);
			lt_sum_to_sets(s, sets, 1);
			lt_sets_finish(sets, res);
			lt_obs_result_free(res);
			lt_sets_free(sets);
			lt_sum_write(s, out);
		}
		lt_sum_free(s);
	}
	return 0;
}
