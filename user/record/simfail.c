/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "common/err.h"
#include "leaktrace.h"
#include "record/simfail.h"

static struct {
	bool on;
	uint32_t permille;
	uint64_t rng;		/* xorshift64* state, never 0 */
	FILE *log;
} sf;

void simfail_init(void)
{
	const char *v = getenv("LEAKTRACE_SIMFAIL"), *logp = getenv("LEAKTRACE_SIMFAIL_LOG");
	unsigned long long seed;
	unsigned permille;
	char end;

	if (!v || !*v)
		return;
	if (sscanf(v, "%llu:%u%c", &seed, &permille, &end) != 2 || permille > 1000) {
		lt_err("LEAKTRACE_SIMFAIL=%s: expected SEED:PERMILLE (0-1000)", v);
		exit(LT_EXIT_USAGE);
	}
	sf.on = true;
	sf.permille = permille;
	sf.rng = seed * 0x9E3779B97F4A7C15ULL + 1;	/* spread small seeds */
	if (!sf.rng)
		sf.rng = 1;
	if (logp && *logp) {
		sf.log = fopen(logp, "w");
		if (!sf.log) {
			lt_err("LEAKTRACE_SIMFAIL_LOG=%s: cannot write it", logp);
			exit(LT_EXIT_USAGE);
		}
	}
	lt_warn("LEAKTRACE_SIMFAIL=%s: dropping %u/1000 of the frame records on purpose (a test knob)",
		v, permille);
}

static uint64_t next(void)
{
	sf.rng ^= sf.rng >> 12;
	sf.rng ^= sf.rng << 25;
	sf.rng ^= sf.rng >> 27;
	return sf.rng * 0x2545F4914F6CDD1DULL;
}

bool simfail_drop(const void *data, size_t size)
{
	uint8_t type;

	if (!sf.on || !size)
		return false;
	type = *(const uint8_t *)data;
	if (type != LT_REC_ENTRY && type != LT_REC_RET)
		return false;
	if ((next() >> 11) % 1000 >= sf.permille)
		return false;
	if (sf.log) {
		/* both records start type, pad, tid, ts */
		const struct lt_rec_entry *e = data;

		if (size >= sizeof(struct lt_rec_exit))
			fprintf(sf.log, "%s %u %llu\n", type == LT_REC_ENTRY ? "ENTRY" : "RET", e->tid,
				(unsigned long long)e->ts);
		fflush(sf.log);
	}
	return true;
}
