/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include "trace/incomplete.h"

/* in bit order; FORMAT.md §1 says what each means */
static const char *const names[LT_INC_NREASONS] = {
	"lost_events", "stale_frames", "before_attach", "start_unseen", "stopped", "exited",
	"root_unsure", "abandoned", "other_thread", "throw_ambiguous", "throw_unseen",
	"throw_open", "read_failures", "no_memory", "pending_limit", "jit", "unknown",
};

const char *lt_incomplete_name(int i)
{
	return i >= 0 && i < LT_INC_NREASONS ? names[i] : "unknown";
}

uint32_t lt_incomplete_bit(const char *s, size_t n)
{
	for (int i = 0; i < LT_INC_NREASONS; i++)
		if (strlen(names[i]) == n && !memcmp(names[i], s, n))
			return 1u << i;
	return LT_INC_UNKNOWN;
}

void lt_incomplete_str(uint32_t mask, const char *sep, char *buf, size_t size)
{
	size_t used = 0;

	if (size)
		buf[0] = 0;
	for (int i = 0; i < LT_INC_NREASONS && used < size; i++) {
		int k;

		if (!(mask & (1u << i)))
			continue;
		k = snprintf(buf + used, size - used, "%s%s", used ? sep : "", names[i]);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}
