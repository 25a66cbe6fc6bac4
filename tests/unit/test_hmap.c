/* The one hash map (common/hmap.h, common/u64map.h): random inserts,
 * replacements and deletions against a plain array, with keys chosen to
 * collide (small range) so that deletion's backward shift is exercised. */
#include <string.h>
#include "common/hmap.h"
#include "common/u64map.h"
#include "unit.h"

#define NKEYS 5000

static void test_against_array(void)
{
	static void *ref[NKEYS + 1];
	struct u64map m = { 0 };
	unsigned long long seed = 12345;
	size_t live = 0;

	memset(ref, 0, sizeof(ref));
	for (int step = 0; step < 400000; step++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t k = (seed >> 33) % NKEYS + 1;
		void *v = (void *)(uintptr_t)(step + 1);

		if ((seed >> 20) % 3) {
			live += !ref[k];
			ref[k] = v;
			CHECK(u64map_put(&m, k, v) == 0);
		} else {
			CHECK(u64map_del(&m, k) == ref[k]);
			live -= !!ref[k];
			ref[k] = NULL;
		}
		if (step % 50000 == 0)
			for (uint64_t q = 1; q <= NKEYS; q++)
				CHECK(u64map_get(&m, q) == ref[q]);
	}
	CHECK(m.len == live);
	for (uint64_t q = 1; q <= NKEYS; q++)
		CHECK(u64map_get(&m, q) == ref[q]);
	size_t seen = 0;
	uint64_t k;
	void *v;
	for (size_t i = 0; u64map_next(&m, &i, &k, &v);) {
		CHECK(k >= 1 && k <= NKEYS && ref[k] == v);
		seen++;
	}
	CHECK(seen == live);
	u64map_free(&m);
	CHECK(!m.cap && !m.len && !u64map_get(&m, 1) && !u64map_del(&m, 1));
}

static void test_pairs(void)
{
	struct hmap m = { 0 };

	for (uint64_t a = 1; a <= 300; a++)
		for (uint64_t b = 0; b < 10; b++) {
			struct hent *h = hmap_slot(&m, a, b);

			CHECK(!h->k1);
			hmap_put(&m, h, a, b, (void *)(uintptr_t)(a * 100 + b));
		}
	CHECK(m.len == 3000);
	CHECK(hmap_get(&m, 7, 3) == (void *)(uintptr_t)703);
	CHECK(hmap_slot(&m, 7, 3)->k1 == 7);
	CHECK(!hmap_get(&m, 7, 10) && !hmap_get(&m, 301, 0));
	CHECK(hmap_del(&m, 7, 3) == (void *)(uintptr_t)703 && !hmap_get(&m, 7, 3));
	CHECK(hmap_get(&m, 7, 4) == (void *)(uintptr_t)704 && m.len == 2999);
	hmap_free(&m);
}

int main(void)
{
	RUN(test_against_array);
	RUN(test_pairs);
	UNIT_EXIT();
}
