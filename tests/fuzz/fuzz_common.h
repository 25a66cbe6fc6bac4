/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer harnesses of leaktrace's readers: the input goes
 * to a file (the readers take paths), every execution read is observed with
 * each key kind and written back, so the analysis and the writer see the
 * same fuzzed trees as the reader.
 */
#ifndef LT_FUZZ_COMMON_H
#define LT_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/json.h"
#include "analysis/observe.h"
#include "trace/trace.h"

static void fz_on_elem(void *ctx, int obs, const void *key, const char *val, int64_t num,
		       const struct lt_node *ex)
{
	(void)ctx, (void)obs, (void)val, (void)num;
	volatile size_t sink = (uintptr_t)key + (uintptr_t)ex;
	(void)sink;
}

static struct lt_observer *fz_obs[3];

/* observe with all three key kinds, then encode the tree as JSON */
static inline void fz_exercise(struct lt_exec *e, struct jw *j)
{
	for (int k = 0; k < 3; k++) {
		if (!fz_obs[k])
			fz_obs[k] = lt_observer_new(k);
		lt_observe(fz_obs[k], e, 7, fz_on_elem, NULL);
	}
	jw_reset(j);
	if (e->root)
		lt_json_node(j, e->root);
}

/* write data to path (truncating); aborts on I/O errors, which are not
 * findings of the code under test */
static void fz_put(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
		perror(path);
		abort();
	}
}

/* a private scratch directory under /dev/shm (or TMPDIR) */
static const char *fz_dir(void)
{
	static char dir[256];
	if (!dir[0]) {
		const char *base = access("/dev/shm", W_OK) ? (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp")
							     : "/dev/shm";
		snprintf(dir, sizeof(dir), "%s/lt-fuzz-XXXXXX", base);
		if (!mkdtemp(dir)) {
			perror(dir);
			abort();
		}
	}
	return dir;
}

/* read every execution of path; returns the last lt_reader_next status */
static inline int fz_read_all(const char *path)
{
	static struct jw j;
	static int init;
	if (!init) {
		jw_init(&j);
		init = 1;
	}
	struct lt_reader *r = lt_reader_open(path);
	if (!r)
		return -1;
	struct lt_exec *e;
	int rc;
	while ((rc = lt_reader_next(r, &e)) == 1) {
		fz_exercise(e, &j);
		(void)lt_reader_where(r);
		lt_exec_free(e);
	}
	(void)lt_reader_header(r);
	(void)lt_reader_stats(r);
	lt_reader_close(r);
	return rc;
}

#endif
