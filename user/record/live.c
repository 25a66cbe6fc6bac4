/* SPDX-License-Identifier: MIT */
/*
 * The live view: `leaktrace -p PID` without --root, -o or --rules builds
 * no trees; it counts returns per thread and code object and prints, once
 * a second, one line per thread with its calls per second and its three
 * most called functions (-j: one JSON object per line).
 */
#include <stdlib.h>
#include <string.h>
#include "common/json.h"
#include "common/u64map.h"
#include "record/record.h"

struct live_view {
	struct u64map names;	/* code -> interned qualname */
	struct u64map threads;	/* tid+1 -> struct live_thread, this second */
};

struct live_thread {
	uint64_t calls;
	struct u64map per_code;	/* code -> count (stored in the pointer) */
};

struct live_view *live_new(void)
{
	return calloc(1, sizeof(struct live_view));
}

static void threads_free(struct live_view *v)
{
	uint64_t k;
	void *t;

	for (size_t i = 0; u64map_next(&v->threads, &i, &k, &t);) {
		u64map_free(&((struct live_thread *)t)->per_code);
		free(t);
	}
	u64map_free(&v->threads);
}

void live_free(struct live_view *v)
{
	if (!v)
		return;
	threads_free(v);
	u64map_free(&v->names);
	free(v);
}

void live_name(struct live_view *v, uint64_t code, const char *name)
{
	u64map_put(&v->names, code, (void *)lt_intern(name));
}

void live_count(struct live_view *v, uint32_t tid, uint64_t code)
{
	struct live_thread *t = u64map_get(&v->threads, (uint64_t)tid + 1);

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || u64map_put(&v->threads, (uint64_t)tid + 1, t)) {
			free(t);
			return;
		}
	}
	t->calls++;
	u64map_put(&t->per_code, code, (void *)((uintptr_t)u64map_get(&t->per_code, code) + 1));
}

/* the three codes of t called most, by count */
static void top3(const struct live_thread *t, uint64_t top[3], uint64_t topn[3])
{
	uint64_t code;
	void *cnt;

	for (size_t j = 0; u64map_next(&t->per_code, &j, &code, &cnt);) {
		uint64_t n = (uintptr_t)cnt;

		for (int s = 0; s < 3; s++) {
			if (n > topn[s]) {
				memmove(&top[s + 1], &top[s], (2 - s) * sizeof(top[0]));
				memmove(&topn[s + 1], &topn[s], (2 - s) * sizeof(topn[0]));
				top[s] = code;
				topn[s] = n;
				break;
			}
		}
	}
}

void live_print(struct live_view *v, double secs, bool json)
{
	uint64_t k;
	void *p;

	for (size_t i = 0; u64map_next(&v->threads, &i, &k, &p);) {
		struct live_thread *t = p;
		uint64_t top[3] = { 0 }, topn[3] = { 0 };

		top3(t, top, topn);
		if (json) {
			printf("{\"type\":\"live\",\"tid\":%llu,\"calls_per_s\":%.0f,\"top\":[",
			       (unsigned long long)(k - 1), t->calls / secs);
			for (int s = 0; s < 3 && topn[s]; s++) {
				const char *n = u64map_get(&v->names, top[s]);
				struct jw j;

				jw_init(&j);
				jw_str(&j, n ? n : "?");
				printf("%s{\"fn\":%.*s,\"per_s\":%.0f}", s ? "," : "", (int)j.len, j.buf,
				       topn[s] / secs);
				jw_free(&j);
			}
			printf("]}\n");
		} else {
			printf("tid %-7llu %10.0f calls/s", (unsigned long long)(k - 1), t->calls / secs);
			for (int s = 0; s < 3 && topn[s]; s++) {
				const char *n = u64map_get(&v->names, top[s]);

				printf("%s %s %.0f/s", s ? "," : "  top:", n ? n : "?", topn[s] / secs);
			}
			printf("\n");
		}
	}
	fflush(stdout);
	threads_free(v);
}
