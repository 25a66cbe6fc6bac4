// SPDX-License-Identifier: MIT
/* libFuzzer harness: the paper-format reader, as analyze and import-paper
 * use it: a directory holding one file "0.json" with the fuzzed bytes. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[300], path[320];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s", fz_dir());
		snprintf(path, sizeof(path), "%s/0.json", dir);
	}
	fz_put(path, data, size);
	fz_read_all(dir);
	return 0;
}
