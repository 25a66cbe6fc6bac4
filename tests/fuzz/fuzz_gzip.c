// SPDX-License-Identifier: MIT
/* libFuzzer harness: the trace reader on gzip input. The first byte picks
 * the mode: odd = the rest is compressed here (valid gzip of fuzzed text,
 * cut at a fuzzed length when the second byte says so), even = the rest is
 * written as is to a .gz file (fuzzed gzip headers and deflate streams). */
#include <zlib.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[300];
	if (!path[0])
		snprintf(path, sizeof(path), "%s/t.jsonl.gz", fz_dir());
	if (size < 2)
		return 0;
	if (!(data[0] & 1)) {
		fz_put(path, data + 1, size - 1);
	} else {
		const uint8_t *text = data + 2;
		size_t n = size - 2;
		gzFile gz = gzopen(path, "wb1");
		if (!gz)
			abort();
		if (n && gzwrite(gz, text, (unsigned)n) != (int)n)
			abort();
		if (gzclose(gz) != Z_OK)
			abort();
		if (data[1] & 1) {	/* cut the compressed file short */
			FILE *f = fopen(path, "r+b");
			if (!f || fseek(f, 0, SEEK_END))
				abort();
			long len = ftell(f);
			fclose(f);
			if (truncate(path, len * (data[1] >> 1) / 128))
				abort();
		}
	}
	fz_read_all(path);
	return 0;
}
