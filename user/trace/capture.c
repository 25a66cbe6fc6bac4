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
#include "common/json.h"
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

void lt_capture_json(struct jw *j, const struct lt_header *h)
{
	if (!h->values)
		return;
	jw_key(j, "values");
	jw_str(j, h->values);
	if (h->hash_key) {
		jw_key(j, "hash_key");
		jw_str(j, h->hash_key);
	}
	jw_key(j, "str_len");
	jw_int(j, h->str_len);
	jw_key(j, "max_depth");
	jw_int(j, h->max_depth);
	jw_key(j, "args");
	jw_bool(j, h->args);
	jw_key(j, "exclude");
	jw_arr(j);
	for (int i = 0; i < h->nexclude; i++)
		jw_str(j, h->exclude[i]);
	jw_arr_end(j);
}

/* h->exclude is replaced (freed by the caller, as the reader does) */
void lt_capture_parse(const struct jparse *p, unsigned obj, struct lt_header *h)
{
	const struct jtok *t = p->t;
	int64_t v;
	int i;

	if ((i = jp_get(p, obj, "values")) >= 0 && t[i].type == JT_STR)
		h->values = lt_intern_n(t[i].s, t[i].len);
	if ((i = jp_get(p, obj, "hash_key")) >= 0 && t[i].type == JT_STR)
		h->hash_key = lt_intern_n(t[i].s, t[i].len);
	if ((i = jp_get(p, obj, "str_len")) >= 0 && !jp_int64(&t[i], &v))
		h->str_len = (int32_t)v;
	if ((i = jp_get(p, obj, "max_depth")) >= 0 && !jp_int64(&t[i], &v))
		h->max_depth = (int32_t)v;
	i = jp_get(p, obj, "args");
	h->args = i >= 0 && t[i].type == JT_TRUE;
	if ((i = jp_get(p, obj, "exclude")) >= 0 && t[i].type == JT_ARR) {
		uint32_t a = i + 1;

		h->exclude = lt_xcalloc(t[i].n + 1, sizeof(char *));
		h->nexclude = 0;
		for (uint32_t k = 0; k < t[i].n; k++, a = t[a].end)
			if (t[a].type == JT_STR)
				h->exclude[h->nexclude++] = lt_intern_n(t[a].s, t[a].len);
	}
}

void lt_capture_set(struct lt_capture *c, const struct lt_header *h, const char *origin)
{
	lt_capture_free(c);
	c->set = true;
	c->h = *h;
	c->h.argv = NULL;
	c->h.argc = 0;
	c->h.exclude = lt_xcalloc(h->nexclude + 1, sizeof(char *));
	if (h->nexclude)
		memcpy(c->h.exclude, h->exclude, h->nexclude * sizeof(char *));
	c->origin = strcpy(lt_xcalloc(1, strlen(origin) + 1), origin);
}

void lt_capture_free(struct lt_capture *c)
{
	free(c->h.exclude);
	free(c->origin);
	memset(c, 0, sizeof(*c));
}

struct check_arg {
	struct lt_capture *ref;
	bool force;
};

static int check_one(void *arg, const char *file, const struct lt_header *h)
{
	struct check_arg *c = arg;
	char why[1200];

	if (!h->values)
		return 0;	/* an older trace: nothing to compare */
	if (!c->ref->set) {
		lt_capture_set(c->ref, h, file);
		return 0;
	}
	if (!lt_capture_differs(&c->ref->h, h, why, sizeof(why)))
		return 0;
	if (c->force) {
		lt_warn("%s and %s were recorded differently (%s); compared anyway (--force)",
			c->ref->origin, file, why);
		return 0;
	}
	lt_err("%s and %s were recorded differently (%s): the difference would be reported as "
	       "leakage; record them alike, or pass --force to compare them anyway",
	       c->ref->origin, file, why);
	return -1;
}

int lt_capture_check(struct lt_capture *ref, const char *const *paths, int n, bool force)
{
	struct check_arg c = { .ref = ref, .force = force };
	int rc = 0;

	for (int i = 0; i < n && !rc; i++)
		rc = lt_trace_each_header(paths[i], check_one, &c);
	return rc ? -1 : 0;
}
