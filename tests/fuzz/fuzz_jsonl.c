// SPDX-License-Identifier: MIT
/* libFuzzer harness: the JSON Lines trace reader on a plain file. The input
 * is the file's bytes (the reader sniffs '{' vs '[', so paper lists are
 * reached too). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[300];
	if (!path[0])
		snprintf(path, sizeof(path), "%s/t.jsonl", fz_dir());
	fz_put(path, data, size);
	fz_read_all(path);
	return 0;
}
