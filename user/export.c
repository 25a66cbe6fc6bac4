// SPDX-License-Identifier: MIT
/* leaktrace import-paper and export --format paper (SPEC 2, the paper's format). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "commands.h"
#include "json.h"
#include "observe.h"
#include "trace.h"

int cmd_import_paper(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'o') {
			out = optarg;
		} else {
			fprintf(c == 'h' ? stdout : stderr, "Usage: leaktrace import-paper DIR... -o TRACE\n"
				"  Converts directories of the paper's JSON traces (one execution per file)\n"
				"  into one leaktrace trace (.gz suffix = gzip, '-' = stdout).\n");
			return c == 'h' ? 0 : LT_EXIT_USAGE;
		}
	}
	if (!out || optind >= argc) {
		fprintf(stderr, "leaktrace: import-paper needs at least one DIR and -o TRACE\n");
		return LT_EXIT_USAGE;
	}
	/* check every input before creating the output */
	for (int i = optind; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st)) {
			fprintf(stderr, "leaktrace: %s: %s\n", argv[i], strerror(errno));
			return LT_EXIT_USAGE;
		}
	}
	struct lt_writer *w = lt_writer_open(out);
	if (!w)
		return LT_EXIT_FAIL;
	struct lt_header h = { .format = 1, .tool = "leaktrace", .mechanism = "import-paper",
			       .argc = argc - optind, .argv = (const char **)argv + optind };
	struct lt_stats s = { 0 };
	int rc = lt_writer_header(w, &h) ? LT_EXIT_FAIL : 0;
	int64_t id = 0;
	for (int i = optind; i < argc && !rc; i++) {
		struct lt_reader *r = lt_reader_open(argv[i]);
		if (!r) {
			rc = LT_EXIT_USAGE;
			break;
		}
		struct lt_exec *e;
		int n;
		while ((n = lt_reader_next(r, &e)) == 1) {
			if (!lt_reader_is_paper(r)) {
				fprintf(stderr, "leaktrace: %s: not the paper's format (a leaktrace trace?)\n",
					lt_reader_where(r));
				lt_exec_free(e);
				n = -1;
				break;
			}
			e->id = id++;
			for (struct lt_node *x = e->root; x; x = lt_node_preorder_next(e->root, x))
				s.calls += x != e->root;
			s.execs++;
			if (lt_writer_exec(w, e))
				n = -2;
			lt_exec_free(e);
			if (n < 0)
				break;
		}
		lt_reader_close(r);
		if (n == -1)
			rc = LT_EXIT_USAGE;
		else if (n < 0)
			rc = LT_EXIT_FAIL;
	}
	if (!rc && lt_writer_stats(w, &s))
		rc = LT_EXIT_FAIL;
	if (lt_writer_close(w) && !rc)
		rc = LT_EXIT_FAIL;
	if (rc && strcmp(out, "-"))
		unlink(out);	/* no half-written trace */
	else if (!rc)
		fprintf(stderr, "leaktrace: %s: %llu executions, %llu calls\n", out,
			(unsigned long long)s.execs, (unsigned long long)s.calls);
	return rc;
}

/* "type" or "type:value" of the paper's format */
static void paper_return(struct jw *j, const struct lt_value *v)
{
	const char *el = lt_value_elem(v);
	jw_key(j, "return");
	if (el)
		jw_strn(j, el, lt_intern_len(el));
	else
		jw_str(j, v->type ? v->type : "?");
}

static void paper_node_fields(struct jw *j, const struct lt_node *n, bool time)
{
	size_t fl = strlen(n->fn);
	char *name = malloc(fl + 3);
	memcpy(name, n->fn, fl);
	memcpy(name + fl, "()", 3);
	jw_key(j, "name");
	jw_str(j, name);
	free(name);
	if (time) {
		if (n->dur_ns >= 0) {
			jw_key(j, "time");
			jw_double(j, n->dur_ns / 1000.0);
		}
	} else if (n->has_ret) {
		paper_return(j, &n->ret);
	}
}

/* the root's children as the paper's list, without recursion */
static void paper_exec(struct jw *j, const struct lt_exec *e, bool time)
{
	const struct lt_node *root = e->root;
	jw_arr(j);
	const struct lt_node *n = root ? root->first : NULL;
	while (n) {
		jw_obj(j);
		paper_node_fields(j, n, time);
		jw_key(j, "child");
		jw_arr(j);
		if (n->first) {
			n = n->first;
			continue;
		}
		jw_arr_end(j);
		jw_obj_end(j);
		while (n->parent != root && !n->next) {
			n = n->parent;
			jw_arr_end(j);
			jw_obj_end(j);
		}
		n = n->next;
	}
	jw_arr_end(j);
	jw_raw(j, "\n", 1);
}

static int export_paper(const char *in, const char *dir, bool time)
{
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "leaktrace: %s: cannot create directory: %s\n", dir, strerror(errno));
		return LT_EXIT_FAIL;
	}
	struct lt_reader *r = lt_reader_open(in);
	if (!r)
		return LT_EXIT_USAGE;
	struct jw j;
	jw_init(&j);
	struct lt_exec *e;
	int n, rc = 0;
	size_t written = 0, skipped = 0, seq = 0;
	char path[4096];
	while ((n = lt_reader_next(r, &e)) == 1) {
		seq++;
		if (!e->complete) {
			skipped++;
			lt_exec_free(e);
			continue;
		}
		jw_reset(&j);
		paper_exec(&j, e, time);
		snprintf(path, sizeof(path), "%s/%lld.json", dir, (long long)e->id);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 && errno == EEXIST) {	/* same id twice (several threads) */
			snprintf(path, sizeof(path), "%s/%lld-%zu.json", dir, (long long)e->id, seq);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		}
		lt_exec_free(e);
		if (fd < 0 || write(fd, j.buf, j.len) != (ssize_t)j.len) {
			fprintf(stderr, "leaktrace: %s: %s\n", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			rc = LT_EXIT_FAIL;
			break;
		}
		close(fd);
		written++;
	}
	if (n < 0)
		rc = LT_EXIT_USAGE;
	lt_reader_close(r);
	jw_free(&j);
	if (!rc)
		fprintf(stderr, "leaktrace: %s: %zu executions written%s", dir, written, skipped ? "" : "\n");
	if (!rc && skipped)
		fprintf(stderr, ", %zu incomplete skipped\n", skipped);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "paper-variant", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *fmt = NULL, *out = NULL, *variant = "return";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			variant = optarg;
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"Usage: leaktrace export --format paper TRACE -o DIR [--paper-variant return|time]\n"
				"  Writes DIR/<id>.json per complete execution in the paper's format.\n");
			return c == 'h' ? 0 : LT_EXIT_USAGE;
		}
	}
	if (!fmt || !out || argc - optind != 1) {
		fprintf(stderr, "leaktrace: export needs --format FORMAT, one TRACE and -o OUT\n");
		return LT_EXIT_USAGE;
	}
	if (strcmp(variant, "return") && strcmp(variant, "time")) {
		fprintf(stderr, "leaktrace: --paper-variant: '%s' is not return or time\n", variant);
		return LT_EXIT_USAGE;
	}
	if (!strcmp(fmt, "paper"))
		return export_paper(argv[optind], out, !strcmp(variant, "time"));
	if (!strcmp(fmt, "chrome") || !strcmp(fmt, "folded")) {
		fprintf(stderr, "leaktrace: export --format %s is not built yet; use --format paper\n", fmt);
		return LT_EXIT_FAIL;
	}
	fprintf(stderr, "leaktrace: --format: '%s' is not chrome, folded or paper\n", fmt);
	return LT_EXIT_USAGE;
}
