// SPDX-License-Identifier: MIT
/*
 * How a trace was made (its header's capture options, FORMAT.md §1) and
 * whether two traces can be compared. Executions recorded with different
 * options differ for reasons that are not the inputs: a hash of one key
 * never equals a hash of another, a cut string never equals a whole one, a
 * depth limit or an excluded path removes calls. analyze and detect refuse
 * such pairs (unless --force) instead of reporting them as leakage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/err.h"
#include "trace/trace.h"

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* --no-durations mechanisms record no dur_ns (FORMAT.md §1 "mechanism") */
static bool has_durations(const char *mech)
{
	return strcmp(mech, "usdt-returns") && strcmp(mech, "return-sites");
}

static void excludes(const struct lt_header *h, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = 0;
	for (int i = 0; i < h->nexclude && used < n; i++)
		used += snprintf(buf + used, n - used, "%s%s", i ? "," : "", h->exclude[i]);
	if (!h->nexclude)
		snprintf(buf, n, "none");
}

bool lt_capture_differs(const struct lt_header *a, const struct lt_header *b, char *why, size_t n)
{
	char ea[512], eb[512];
	bool values;

	if (!a || !b || !a->values || !b->values)
		return false;
	if (strcmp(a->values, b->values)) {
		snprintf(why, n, "values %s vs %s", a->values, b->values);
		return true;
	}
	if (!strcmp(a->values, "hashed") && !str_eq(a->hash_key, b->hash_key)) {
		snprintf(why, n, "hash key %s vs %s (hashes of different keys never compare equal; "
			 "record both with the same --hash-key FILE)",
			 a->hash_key ? a->hash_key : "?", b->hash_key ? b->hash_key : "?");
		return true;
	}
	values = strcmp(a->values, "none");
	if (values && a->str_len != b->str_len) {
		snprintf(why, n, "str_len %d vs %d", a->str_len, b->str_len);
		return true;
	}
	if (a->max_depth != b->max_depth) {
		snprintf(why, n, "max_depth %d vs %d (0: no limit)", a->max_depth, b->max_depth);
		return true;
	}
	if (a->args != b->args) {
		snprintf(why, n, "args %s vs %s", a->args ? "recorded" : "not recorded",
			 b->args ? "recorded" : "not recorded");
		return true;
	}
	excludes(a, ea, sizeof(ea));
	excludes(b, eb, sizeof(eb));
	if (strcmp(ea, eb)) {
		snprintf(why, n, "exclude-path %s vs %s", ea, eb);
		return true;
	}
	if (!str_eq(a->root, b->root)) {
		snprintf(why, n, "root %s vs %s", a->root ? a->root : "(none: whole threads)",
			 b->root ? b->root : "(none: whole threads)");
		return true;
	}
	if (a->mechanism && b->mechanism &&
	    has_durations(a->mechanism) != has_durations(b->mechanism)) {
		snprintf(why, n, "durations: mechanism %s vs %s", a->mechanism, b->mechanism);
		return true;
	}
	return false;
}

/* lt_capture_check: the first header that says how it was made */
struct capture_ref {
	struct lt_header h;	/* strings interned; exclude our own copy */
	char *file;
	bool force, differ;
};

static int check_one(void *arg, const char *file, const struct lt_header *h)
{
	struct capture_ref *c = arg;
	char why[1200];

	if (!h->values)
		return 0;	/* an older trace: nothing to compare */
	if (!c->file) {
		c->h = *h;
		c->h.argv = NULL;
		c->h.argc = 0;
		c->h.exclude = lt_xcalloc(h->nexclude + 1, sizeof(char *));
		memcpy(c->h.exclude, h->exclude, h->nexclude * sizeof(char *));
		c->file = strcpy(lt_xcalloc(1, strlen(file) + 1), file);
		return 0;
	}
	if (!lt_capture_differs(&c->h, h, why, sizeof(why)))
		return 0;
	c->differ = true;
	if (c->force) {
		lt_warn("%s and %s were recorded differently (%s); compared anyway (--force)",
			c->file, file, why);
		return 0;
	}
	lt_err("%s and %s were recorded differently (%s): the difference would be reported as "
	       "leakage; record them alike, or pass --force to compare them anyway", c->file, file,
	       why);
	return -1;
}

int lt_capture_check(const char *const *paths, int n, bool force)
{
	struct capture_ref c = { .force = force };
	int rc = 0;

	for (int i = 0; i < n && !rc; i++)
		rc = lt_trace_each_header(paths[i], check_one, &c);
	free(c.h.exclude);
	free(c.file);
	return rc ? -1 : 0;
}
