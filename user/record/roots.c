/* SPDX-License-Identifier: MIT */
/*
 * --root: which code objects are roots. Three forms (README, leaktrace.8):
 *
 *   NAME          a qualified name ("Model.predict") matches that
 *                 qualname; a plain name ("predict") also every
 *                 qualname ending in ".predict"
 *   MODULE:QUAL   the function whose qualname is QUAL exactly, in the
 *                 file of MODULE: "app.server:predict" is predict in
 *                 .../app/server.py or .../app/server/__init__.py (the
 *                 form of entry points)
 *   NAME@FILE     NAME as above, in a file whose path ends with FILE at
 *                 a '/' ("predict@server.py", "predict@app/server.py")
 *
 * Every code object named during a recording passes through
 * root_matches; the names seen are kept so that a root that never
 * matched is reported at exit with the nearest of them (root_report).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/err.h"
#include "common/hmap.h"
#include "record/record.h"

struct root_spec {
	char name[512];		/* the qualname part */
	char module[512];	/* MODULE:QUAL: the module as a path, "app/server" */
	char file[512];		/* NAME@FILE */
	bool exact;		/* the whole qualname only (MODULE:QUAL) */
};

/* the names seen, for the report: qualname and file, interned, once each */
#define SEEN_MAX 65536
static struct {
	const char *fn, *file;
	int line;
} seen[SEEN_MAX];
static int nseen;
static struct hmap seen_set;	/* (fn, file) pointers -> 1 */
static uint64_t nmatched;

static int parse(const char *arg, struct root_spec *r)
{
	const char *colon = strchr(arg, ':'), *at = strrchr(arg, '@');

	memset(r, 0, sizeof(*r));
	if (colon) {
		if (colon == arg || !colon[1] || strlen(arg) >= sizeof(r->name))
			return -1;
		snprintf(r->module, sizeof(r->module), "%.*s", (int)(colon - arg), arg);
		for (char *p = r->module; *p; p++)
			if (*p == '.')
				*p = '/';
		snprintf(r->name, sizeof(r->name), "%s", colon + 1);
		r->exact = true;
	} else if (at) {
		if (at == arg || !at[1] || strlen(arg) >= sizeof(r->name))
			return -1;
		snprintf(r->name, sizeof(r->name), "%.*s", (int)(at - arg), arg);
		snprintf(r->file, sizeof(r->file), "%s", at + 1);
	} else {
		if (strlen(arg) >= sizeof(r->name))
			return -1;
		snprintf(r->name, sizeof(r->name), "%s", arg);
	}
	return 0;
}

int root_check(const char *arg)
{
	struct root_spec r;

	if (!*arg || parse(arg, &r)) {
		lt_err("--root is NAME, MODULE:QUALNAME (app.server:predict) or NAME@FILE "
		       "(predict@server.py), not '%s'", arg);
		return -1;
	}
	return 0;
}

const char *root_name_part(const char *arg)
{
	static char name[512];
	struct root_spec r;

	if (parse(arg, &r))
		return arg;
	snprintf(name, sizeof(name), "%s", r.name);
	return name;
}

/* path ends with tail, at a '/' or as a whole */
static bool ends_with_path(const char *path, const char *tail)
{
	size_t lp = strlen(path), lt = strlen(tail);

	if (lt > lp || strcmp(path + lp - lt, tail))
		return false;
	return lt == lp || path[lp - lt - 1] == '/' || tail[0] == '/';
}

static bool name_matches(const char *qualname, const char *want, bool exact)
{
	const char *dot;

	if (!strcmp(qualname, want))
		return true;
	dot = strrchr(qualname, '.');
	return !exact && dot && !strcmp(dot + 1, want);
}

static void remember(const char *qualname, const char *file, int line)
{
	const char *fn = lt_intern(qualname), *f = file ? lt_intern(file) : NULL;
	uint64_t k1 = (uintptr_t)fn, k2 = (uintptr_t)f | 1;
	struct hent *e;

	if (nseen == SEEN_MAX)
		return;
	e = hmap_slot(&seen_set, k1, k2);
	if (e->k1)
		return;
	hmap_put(&seen_set, e, k1, k2, (void *)1);
	seen[nseen].fn = fn;
	seen[nseen].file = f;
	seen[nseen].line = line;
	nseen++;
}

bool root_matches(const char *arg, const char *qualname, const char *file, int line)
{
	static const char *parsed;
	static struct root_spec r;
	bool m;

	if (!arg)
		return false;
	if (arg != parsed) {
		if (parse(arg, &r))
			return false;
		parsed = arg;
	}
	remember(qualname, file, line);
	m = name_matches(qualname, r.name, r.exact);
	if (m && r.module[0]) {
		char a[600], b[620];

		snprintf(a, sizeof(a), "%s.py", r.module);
		snprintf(b, sizeof(b), "%s/__init__.py", r.module);
		m = file && (ends_with_path(file, a) || ends_with_path(file, b));
	} else if (m && r.file[0]) {
		m = file && ends_with_path(file, r.file);
	}
	if (m)
		nmatched++;
	return m;
}

/* Levenshtein distance of a and b, cut at 99 */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[128], prev, tmp;

	if (la > 120 || lb > 120)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			int best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb] > 99 ? 99 : row[lb];
}

/* how near a seen name is to the root (smaller: nearer) */
static int nearness(const char *fn, const struct root_spec *r)
{
	const char *last = strrchr(fn, '.'), *want = strrchr(r->name, '.');

	last = last ? last + 1 : fn;
	want = want ? want + 1 : r->name;
	/* the same function name elsewhere first */
	if (!strcmp(last, want))
		return 0;
	return 1 + distance(fn, r->name);
}

void root_report(const char *arg)
{
	struct root_spec r;
	int best[5], nbest = 0;
	char line[2048];
	size_t used = 0;

	if (!arg || nmatched || parse(arg, &r))
		return;
	for (int i = 0; i < nseen; i++) {
		int d = nearness(seen[i].fn, &r), k;

		if (d > 1 + (int)strlen(r.name) / 2)
			continue;
		/* insertion into the 5 nearest */
		for (k = nbest; k > 0 && nearness(seen[best[k - 1]].fn, &r) > d; k--)
			if (k < 5)
				best[k] = best[k - 1];
		if (k < 5) {
			best[k] = i;
			if (nbest < 5)
				nbest++;
		}
	}
	for (int i = 0; i < nbest && used < sizeof(line); i++) {
		const char *f = seen[best[i]].file;

		used += snprintf(line + used, sizeof(line) - used, "%s%s (%s:%d)", i ? ", " : "",
				 seen[best[i]].fn, f ? f : "?", seen[best[i]].line);
	}
	if (nbest)
		lt_err("--root %s never matched: no call of it ran while tracing (%d functions "
		       "seen); nearest: %s", arg, nseen, line);
	else
		lt_err("--root %s never matched: no call of it ran while tracing (%d functions "
		       "seen, none with a similar name)", arg, nseen);
	/* "server.predict" is a qualname (a method predict of a class
	 * server); the module form is another */
	if (!r.exact && !r.file[0] && strchr(r.name, '.')) {
		const char *dot = strrchr(r.name, '.');

		lt_err("(a dotted --root is a qualified name, Class.method; for the function %s of "
		       "module %.*s write --root %.*s:%s)", dot + 1, (int)(dot - r.name), r.name,
		       (int)(dot - r.name), r.name, dot + 1);
	}
}
