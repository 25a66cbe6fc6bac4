// SPDX-License-Identifier: MIT
/*
 * Trace reader, I/O: leaktrace JSON Lines (plain or gzip, "-" = stdin), a
 * directory of such files, or the paper's JSON files (a list of first-layer
 * calls per file), auto-detected by the first non-blank byte ('{' or '[').
 * Streams: one line (one execution) in memory at a time. The lines are
 * parsed by read_jsonl.c and read_fast.c, paper files by read_paper.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "common/err.h"
#include "trace/read_priv.h"

static char *xstrdup(const char *s)
{
	return strcpy(lt_xcalloc(1, strlen(s) + 1), s);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static int dir_filter(const struct dirent *d)
{
	const char *n = d->d_name;
	if (n[0] == '.')
		return 0;
	return has_suffix(n, ".json") || has_suffix(n, ".jsonl") || has_suffix(n, ".gz") ||
	       has_suffix(n, ".ndjson");
}

static int natural_sort(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

struct lt_reader *lt_reader_open(const char *path)
{
	return lt_reader_open_part(path, 0, 1);
}

void lt_reader_set_abort(struct lt_reader *r, const int *flag)
{
	r->abort = flag;
}

bool lt_reader_quiet_failure(const struct lt_reader *r)
{
	return r->quiet_failure;
}

struct lt_reader *lt_reader_open_part(const char *path, int part, int nparts)
{
	struct lt_reader *r = lt_xcalloc(1, sizeof(*r));
	struct stat st;
	r->part = part;
	r->nparts = nparts;
	jp_init(&r->jp);
	if (strcmp(path, "-") && stat(path, &st)) {
		if (!part)
			lt_err("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (strcmp(path, "-") && S_ISDIR(st.st_mode)) {
		struct dirent **ents;
		int n = scandir(path, &ents, dir_filter, natural_sort);
		if (n < 0) {
			if (!part)
				lt_err("%s: %s", path, strerror(errno));
			goto fail;
		}
		r->files = lt_xcalloc(n ? n : 1, sizeof(char *));
		for (int i = 0; i < n; i++) {
			size_t plen = strlen(path) + strlen(ents[i]->d_name) + 2;
			char *p = lt_xcalloc(plen, 1);

			snprintf(p, plen, "%s/%s", path, ents[i]->d_name);
			struct stat fst;
			if (!stat(p, &fst) && S_ISREG(fst.st_mode))
				r->files[r->nfiles++] = p;
			else
				free(p);
			free(ents[i]);
		}
		free(ents);
		if (!r->nfiles) {
			if (!part)
				lt_err("%s: no trace files (*.jsonl, *.json, *.gz) in this directory", path);
			goto fail;
		}
	} else {
		r->files = lt_xcalloc(1, sizeof(char *));
		r->files[r->nfiles++] = xstrdup(path);
	}
	r->cap = 1 << 20;
	r->buf = lt_xrealloc(NULL, r->cap + 1);
	return r;
fail:
	lt_reader_close(r);
	return NULL;
}

static void close_file(struct lt_reader *r)
{
	if (r->gz)
		gzclose(r->gz);
	r->gz = NULL;
}

void lt_reader_close(struct lt_reader *r)
{
	if (!r)
		return;
	close_file(r);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	free(r->buf);
	free(r->hdr.argv);
	free(r->hdr.exclude);
	jp_free(&r->jp);
	free(r->bst);
	free(r->args);
	free(r);
}

int rd_bad(struct lt_reader *r, long long line, const char *fmt, const char *arg)
{
	r->quiet_failure = !speaks(r);
	if (r->quiet_failure)
		return -1;
	fprintf(stderr, "%s:%lld: ", r->path, line);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return -1;
}

int rd_fill(struct lt_reader *r)
{
	if (r->eof)
		return 0;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->end -= r->pos;
		r->pos = 0;
	}
	if (r->end == r->cap) {
		size_t nc = r->cap * 2;
		r->buf = lt_xrealloc(r->buf, nc + 1);
		r->cap = nc;
	}
	/* gzread takes an unsigned and returns an int: a line of 2 GiB or
	 * more is read in pieces below INT_MAX */
	size_t want = r->cap - r->end < (1u << 30) ? r->cap - r->end : (1u << 30);
	int n = gzread(r->gz, r->buf + r->end, (unsigned)want);
	if (n < 0) {
		int zerr;
		const char *m = gzerror(r->gz, &zerr);
		r->quiet_failure = !speaks(r);
		if (speaks(r))
			fprintf(stderr, "%s:%lld: read error: %s\n", r->path, r->lineno + 1,
			zerr == Z_ERRNO ? strerror(errno) : m);
		return -1;
	}
	if (n == 0) {
		int zerr;
		gzerror(r->gz, &zerr);
		if (zerr == Z_BUF_ERROR)	/* gzip stream cut short */
			if (speaks(r))
				lt_warn("%s: compressed data ends early (recorder killed?)",
				r->path);
		r->eof = true;
	}
	r->end += n;
	return n;
}

/* Another part's execution (read_jsonl.c counts it, builds nothing) need
 * not be held whole: once a line has grown past this much, and it starts
 * as the writer starts exec lines, its bytes are dropped as they come and
 * only that start is handed back, so every part of a parallel reader
 * does not hold a copy of the same huge line */
#define SKIP_FROM	(16u << 20)
#define EXEC_START	"{\"type\":\"exec\""

static bool others_exec(const struct lt_reader *r)
{
	return r->nparts > 1 && r->saw_header && r->kind == K_JSONL &&
	       r->end - r->pos >= sizeof(EXEC_START) - 1 &&
	       !memcmp(r->buf + r->pos, EXEC_START, sizeof(EXEC_START) - 1) &&
	       r->exec_seq % r->nparts != r->part;
}

int rd_next_line(struct lt_reader *r, char **line, size_t *len, bool *partial)
{
	size_t scanned = 0;	/* bytes after pos known to hold no newline */

	for (;;) {
		char *nl = memchr(r->buf + r->pos + scanned, '\n', r->end - r->pos - scanned);
		if (nl) {
			*line = r->buf + r->pos;
			*len = (size_t)(nl - *line);
			r->pos += *len + 1;
			if (r->skipping) {
				/* the start of the line, without what was dropped */
				*len = sizeof(EXEC_START) - 1;
				r->skipping = false;
			}
			(*line)[*len] = 0;
			*partial = false;
			r->lineno++;
			return 1;
		}
		if (r->eof) {
			if (r->pos == r->end)
				return 0;
			r->skipping = false;	/* cut short: it is not built anyway */
			*line = r->buf + r->pos;
			*len = r->end - r->pos;
			(*line)[*len] = 0;	/* buf has cap + 1 bytes */
			r->pos = r->end;
			*partial = true;
			r->lineno++;
			return 1;
		}
		scanned = r->end - r->pos;
		if (scanned >= SKIP_FROM && others_exec(r)) {
			/* keep the start, drop the rest as it is read */
			r->end = r->pos + sizeof(EXEC_START) - 1;
			scanned = r->end - r->pos;
			r->skipping = true;
		} else if (r->skipping) {
			r->end = r->pos + sizeof(EXEC_START) - 1;
			scanned = r->end - r->pos;
		}
		if (rd_fill(r) < 0)
			return -1;
	}
}

/* open the next file; 1 ok, 0 none left, -1 error */
static int open_next(struct lt_reader *r)
{
	r->own_line = false;
	close_file(r);
	if (r->next_file >= r->nfiles)
		return 0;
	r->path = r->files[r->next_file++];
	if (!strcmp(r->path, "-")) {
		int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
		r->gz = fd < 0 ? NULL : gzdopen(fd, "rb");
		free(r->path);
		r->path = r->files[r->next_file - 1] = xstrdup("<stdin>");
	} else {
		r->gz = gzopen(r->path, "rb");
	}
	if (!r->gz) {
		r->quiet_failure = !speaks(r);
		if (speaks(r))
			lt_err("%s: %s", r->path, errno ? strerror(errno) : "cannot open");
		return -1;
	}
	gzbuffer(r->gz, 256 * 1024);
	r->pos = r->end = 0;
	r->eof = false;
	r->skipping = false;
	r->lineno = 0;
	r->saw_header = r->saw_trailer = r->done_file = false;
	r->execs_in_file = 0;
	/* sniff the first non-blank byte */
	for (;;) {
		while (r->pos < r->end && strchr(" \t\r\n", r->buf[r->pos]) && r->buf[r->pos])
			r->pos++;
		if (r->pos < r->end || r->eof)
			break;
		if (rd_fill(r) < 0)
			return -1;
	}
	if (r->pos == r->end) {
		r->quiet_failure = !speaks(r);
		if (speaks(r))
			fprintf(stderr, "%s:1: empty file, expected a leaktrace trace or a paper JSON list\n", r->path);
		return -1;
	}
	/* count the blank lines skipped so that line numbers stay right */
	for (size_t i = 0; i < r->pos; i++)
		if (r->buf[i] == '\n')
			r->lineno++;
	if (r->buf[r->pos] == '[') {
		r->kind = K_PAPER;
	} else if (r->buf[r->pos] == '{') {
		r->kind = K_JSONL;
	} else {
		r->quiet_failure = !speaks(r);
		if (speaks(r))
			fprintf(stderr, "%s:%lld: not a trace: expected '{' (leaktrace JSON Lines) or '[' (paper JSON)\n",
			r->path, r->lineno + 1);
		return -1;
	}
	return 1;
}

int lt_reader_next(struct lt_reader *r, struct lt_exec **out)
{
	rd_init_types();
	*out = NULL;
	for (;;) {
		if (!r->gz) {
			int rc = open_next(r);
			if (rc <= 0)
				return rc;
		}
		int rc = r->kind == K_PAPER ? rd_next_paper(r, out) : rd_next_jsonl(r, out);
		if (rc != 0)
			return rc;
		close_file(r);
	}
}

void lt_reader_set_fast(struct lt_reader *r, bool on)
{
	r->generic_only = !on;
}

long long lt_reader_fast_lines(const struct lt_reader *r)
{
	return r->fast_lines;
}

const char *lt_reader_where(const struct lt_reader *r)
{
	struct lt_reader *m = (struct lt_reader *)r;
	snprintf(m->where, sizeof(m->where), "%s:%lld", r->path ? r->path : "?", r->line);
	return m->where;
}

const struct lt_header *lt_reader_header(const struct lt_reader *r)
{
	return r->has_hdr && r->kind == K_JSONL ? &r->hdr : NULL;
}

const struct lt_stats *lt_reader_stats(const struct lt_reader *r)
{
	return &r->stats;
}

bool lt_reader_is_paper(const struct lt_reader *r)
{
	return r->kind == K_PAPER;
}

int lt_trace_each_header(const char *path,
			 int (*fn)(void *arg, const char *file, const struct lt_header *h), void *arg)
{
	struct lt_reader *r;
	int rc = 0;

	if (!strcmp(path, "-"))
		return 0;	/* stdin cannot be read twice */
	/* part 1 of 2 speaks of no problem: the reading proper reports them */
	r = lt_reader_open_part(path, 1, 2);
	if (!r)
		return 0;
	while (!rc && r->next_file < r->nfiles) {
		char *line;
		size_t len;
		bool partial;

		if (open_next(r) <= 0 || r->kind != K_JSONL)
			continue;
		if (rd_next_line(r, &line, &len, &partial) <= 0 || jp_parse(&r->jp, line, len) < 0)
			continue;
		int ti = jp_get(&r->jp, 0, "type");

		if (ti < 0 || r->jp.t[ti].type != JT_STR || r->jp.t[ti].len != 6 ||
		    memcmp(r->jp.t[ti].s, "header", 6) || rd_parse_header(r))
			continue;
		rc = fn(arg, r->path, &r->hdr);
	}
	lt_reader_close(r);
	return rc;
}
