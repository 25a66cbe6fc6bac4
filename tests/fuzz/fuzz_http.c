// SPDX-License-Identifier: MIT
/* libFuzzer harness: the request parser of `record --metrics`
 * (common/http_req.c), on the bytes as a client sends them: the whole
 * input, and every prefix a slow client's partial sends would show.
 * What must hold: only the documented statuses; 200 only for a GET of
 * /metrics; never "read more" once LT_HTTP_REQ_MAX bytes are there; a
 * verdict on a prefix stays the verdict when more bytes arrive (except that
 * 400 may come early for bytes that are bad wherever they stand). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common/http_req.h"

static int valid(int st)
{
	return st == 0 || st == 200 || st == 400 || st == 404 || st == 405 || st == 431;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	int st = lt_http_parse(buf, size), first = 0;

	if (!valid(st))
		abort();
	if (st == 200 && (size < 13 || memcmp(buf, "GET /metrics ", 13)))
		abort();
	if (st == 0 && size >= LT_HTTP_REQ_MAX)
		abort();
	if (lt_http_reason(st)[0] == 0)
		abort();
	/* the prefixes: the server answers at the first one that is not 0 */
	for (size_t n = 1; n <= size && n <= 512; n++) {
		int p = lt_http_parse(buf, n);

		if (!valid(p))
			abort();
		if (p && !first)
			first = p;
	}
	/* a prefix's verdict (other than 400, and other than 431, which
	 * needs the full length) is the verdict for the whole input */
	if (size <= 512 && first && first != 400 && first != 431 && st != first && st != 400)
		abort();
	return 0;
}
