// SPDX-License-Identifier: MIT
/* libFuzzer harness: the JSON Lines trace reader on a plain file. The input
 * is the file's bytes (the reader sniffs '{' vs '[', so paper lists are
 * reached too). Each input is also read with the exec lines' fast path
 * off: both ways must give the same executions and end the same way. */
#include "fuzz_common.h"

/* the executions of path as text (their fields and trees) and how the
 * reading ended, with the fast path on or off */
static int fz_text(const char *path, bool fast, struct jw *j)
{
	struct lt_reader *r = lt_reader_open(path);
	struct lt_exec *e;
	char b[200];
	int rc;

	jw_reset(j);
	if (!r)
		return -2;
	lt_reader_set_fast(r, fast);
	while ((rc = lt_reader_next(r, &e)) == 1) {
		snprintf(b, sizeof(b), "%lld %d %d %d %d %llu %lld %d %d %lld\n", (long long)e->id, e->pid,
			 e->tid, e->nspid, e->nstid, (unsigned long long)e->start_ns, (long long)e->dur_ns,
			 e->complete, e->root->has_ret, (long long)e->root->dur_ns);
		jw_raw(j, b, strlen(b));
		lt_json_node(j, e->root);
		jw_raw(j, "\n", 1);
		lt_exec_free(e);
	}
	lt_reader_close(r);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[300];
	static struct jw fast, generic;
	if (!path[0])
		snprintf(path, sizeof(path), "%s/t.jsonl", fz_dir());
	fz_put(path, data, size);
	fz_read_all(path);
	int rc1 = fz_text(path, true, &fast), rc2 = fz_text(path, false, &generic);
	if (rc1 != rc2 || fast.len != generic.len || (fast.len && memcmp(fast.buf, generic.buf, fast.len))) {
		fprintf(stderr, "fast path and generic parser differ: rc %d and %d\n", rc1, rc2);
		abort();
	}
	return 0;
}
