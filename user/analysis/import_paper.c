// SPDX-License-Identifier: MIT
/* leaktrace import-paper: the paper's JSON traces (FORMAT.md §6) into one
 * leaktrace trace (FORMAT.md §1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/cli.h"
#include "common/err.h"
#include "common/json.h"
#include "trace/trace.h"
#include "analysis/cmds.h"

enum { O_FORMAT = LT_CLI_LONG };

static const struct argp_option import_opts[] = {
	{ "output", 'o', "TRACE", 0, "the trace to write (.gz suffix = gzip, '-' = stdout)", 0 },
	{ "format", O_FORMAT, "human|json", 0, "json: the summary as one JSON object on stdout", 0 },
	{ NULL, 'j', NULL, 0, "the same as --format json", 0 },
	LT_CLI_HELP,
	{ 0 },
};

struct import_args {
	struct lt_cli cli;	/* first: lt_cli_parse's */
	const char *out;
	bool json;
};

static error_t import_key(int key, char *arg, struct argp_state *state)
{
	struct import_args *a = state->input;

	switch (key) {
	case 'o':
		a->out = arg;
		return 0;
	case 'j':
		a->json = true;
		return 0;
	case O_FORMAT:
		return lt_cli_format(arg, &a->json, state);
	}
	return lt_cli_key(key, arg, state);
}

static const struct argp import_argp = {
	import_opts, import_key, "DIR...",
	"Convert directories of the paper's JSON traces (one execution per file) into one leaktrace "
	"trace.",
	NULL, NULL, NULL,
};

static int import_paper(const char *out, bool json, char **ops, int nops)
{
	if (!out || !nops) {
		lt_err("import-paper needs at least one DIR and -o TRACE");
		return LT_EXIT_USAGE;
	}
	if (json && !strcmp(out, "-")) {
		lt_err("--format json prints the summary on stdout; it cannot be combined with -o -");
		return LT_EXIT_USAGE;
	}
	/* check every input before creating the output */
	for (int i = 0; i < nops; i++) {
		struct stat st;
		if (stat(ops[i], &st)) {
			lt_err("%s: %s", ops[i], strerror(errno));
			return LT_EXIT_USAGE;
		}
	}
	struct lt_writer *w = lt_writer_open(out);
	if (!w)
		return LT_EXIT_FAIL;
	struct lt_header h = { .format = 1, .tool = "leaktrace", .mechanism = "import-paper",
			       .argc = nops, .argv = (const char **)ops };
	struct lt_stats s = { 0 };
	int rc = lt_writer_header(w, &h) ? LT_EXIT_FAIL : 0;
	int64_t id = 0;
	for (int i = 0; i < nops && !rc; i++) {
		struct lt_reader *r = lt_reader_open(ops[i]);
		if (!r) {
			rc = LT_EXIT_USAGE;
			break;
		}
		struct lt_exec *e;
		int n;
		while ((n = lt_reader_next(r, &e)) == 1) {
			if (!lt_reader_is_paper(r)) {
				lt_err("%s: not the paper's format (a leaktrace trace?)",
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
	else if (!rc && json) {
		struct jw j;
		jw_init(&j);
		jw_obj(&j);
		jw_key(&j, "output");
		jw_str(&j, out);
		jw_key(&j, "inputs");
		jw_arr(&j);
		for (int i = 0; i < nops; i++)
			jw_str(&j, ops[i]);
		jw_arr_end(&j);
		jw_key(&j, "executions");
		jw_uint(&j, s.execs);
		jw_key(&j, "calls");
		jw_uint(&j, s.calls);
		jw_obj_end(&j);
		jw_raw(&j, "\n", 1);
		fwrite(j.buf, 1, j.len, stdout);
		jw_free(&j);
	}
	else if (!rc)
		lt_err("%s: %llu executions, %llu calls", out,
			(unsigned long long)s.execs, (unsigned long long)s.calls);
	return rc;
}

int cmd_import_paper(int argc, char **argv)
{
	struct import_args a = { 0 };
	int rc = lt_cli_parse(&import_argp, &a.cli, "import-paper", argc, argv);

	if (rc < 0)
		rc = import_paper(a.out, a.json, a.cli.ops, a.cli.nops);
	lt_cli_free(&a.cli);
	return rc;
}

/* "type" or "type:value" of the paper's format */
