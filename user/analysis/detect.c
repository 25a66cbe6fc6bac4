// SPDX-License-Identifier: MIT
/* leaktrace detect: apply a rules file to executions; with labelled inputs
 * the paper's Table I (FORMAT.md §5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/err.h"
#include "analysis/cmds.h"
#include "common/cli.h"
#include "common/json.h"
#include "analysis/observe.h"
#include "analysis/rules.h"
#include "trace/trace.h"

enum { L_NONE = -1, L_CLEAN = 0, L_ADV = 1 };

struct input {
	const char *path;
	int label;
};

struct column {
	const char *label;	/* interned */
	uint64_t cnt[2];
};

struct rule_stats {
	struct column *cols;
	size_t ncols;
	uint64_t match[2];	/* labelled executions matching this rule */
};

struct detect {
	struct lt_rules *rs;
	struct rule_stats *st;
	bool json, quiet, force;
	struct jw j;
	uint64_t flagged[2], total[2], skipped, unlabelled, unl_flagged;
	const char *matched[64];
	int nmatched;
};

static void on_match(void *ctx, const struct lt_exec *e, const struct lt_rule *r)
{
	struct detect *d = ctx;
	if (d->nmatched < 64)
		d->matched[d->nmatched++] = (const char *)r;
}

static void count_column(struct rule_stats *s, const char *label, int side)
{
	for (size_t i = 0; i < s->ncols; i++) {
		if (s->cols[i].label == label) {
			s->cols[i].cnt[side]++;
			return;
		}
	}
	s->cols = realloc(s->cols, (s->ncols + 1) * sizeof(*s->cols));
	if (!s->cols) {
		lt_err("out of memory");
		exit(1);
	}
	s->cols[s->ncols] = (struct column){ label, { 0, 0 } };
	s->cols[s->ncols++].cnt[side]++;
}

static int run_input(struct detect *d, const struct input *in)
{
	struct lt_reader *r = lt_reader_open(in->path);
	if (!r)
		return LT_EXIT_USAGE;
	struct lt_exec *e;
	int rc;
	char desc[512], obs[512];
	while ((rc = lt_reader_next(r, &e)) == 1) {
		const char *where = lt_reader_where(r);
		if (!e->complete) {
			d->skipped++;
			if (!d->quiet && !d->json)
				printf("%s id=%lld incomplete (skipped)\n", where, (long long)e->id);
			lt_exec_free(e);
			continue;
		}
		d->nmatched = 0;
		int n = lt_rules_match(d->rs, e, on_match, d);
		if (in->label >= 0) {
			d->total[in->label]++;
			if (n)
				d->flagged[in->label]++;
			for (size_t i = 0; i < d->rs->n; i++) {
				const struct lt_rule *ru = &d->rs->v[i];
				lt_rule_observed(ru, obs, sizeof(obs));
				count_column(&d->st[i], lt_intern(obs), in->label);
				if (ru->matched)
					d->st[i].match[in->label]++;
			}
		} else {
			d->unlabelled++;
			if (n)
				d->unl_flagged++;
		}
		if (!d->quiet) {
			if (d->json) {
				jw_obj(&d->j);
				jw_key(&d->j, "where");
				jw_str(&d->j, where);
				jw_key(&d->j, "id");
				jw_int(&d->j, e->id);
				jw_key(&d->j, "label");
				if (in->label < 0)
					jw_null(&d->j);
				else
					jw_str(&d->j, in->label ? "adv" : "clean");
				jw_key(&d->j, "alert");
				jw_bool(&d->j, n > 0);
				jw_key(&d->j, "rules");
				jw_arr(&d->j);
				for (int i = 0; i < d->nmatched; i++)
					jw_int(&d->j, ((const struct lt_rule *)d->matched[i])->index);
				jw_arr_end(&d->j);
				jw_obj_end(&d->j);
			} else {
				printf("%s id=%lld%s %s", where, (long long)e->id,
				       in->label < 0 ? "" : in->label ? " adv" : " clean", n ? "ALERT" : "ok");
				for (int i = 0; i < d->nmatched; i++) {
					lt_rule_describe((const struct lt_rule *)d->matched[i], desc, sizeof(desc));
					printf("%s[%d] %s", i ? "; " : " ", ((const struct lt_rule *)d->matched[i])->index, desc);
				}
				putchar('\n');
			}
		}
		lt_exec_free(e);
	}
	lt_reader_close(r);
	return rc < 0 ? LT_EXIT_USAGE : 0;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

static void json_pr(struct jw *j, uint64_t tp, uint64_t fp, uint64_t fn, uint64_t tn)
{
	jw_key(j, "tp");
	jw_uint(j, tp);
	jw_key(j, "fp");
	jw_uint(j, fp);
	jw_key(j, "fn");
	jw_uint(j, fn);
	jw_key(j, "tn");
	jw_uint(j, tn);
	jw_key(j, "precision");
	if (tp + fp)
		jw_double(j, ratio(tp, tp + fp));
	else
		jw_null(j);
	jw_key(j, "recall");
	if (tp + fn)
		jw_double(j, ratio(tp, tp + fn));
	else
		jw_null(j);
}

static void print_pr(uint64_t tp, uint64_t fp, uint64_t fn, uint64_t tn)
{
	printf("  TP %llu  FP %llu  FN %llu  TN %llu  precision ", (unsigned long long)tp,
	       (unsigned long long)fp, (unsigned long long)fn, (unsigned long long)tn);
	if (tp + fp)
		printf("%.4f", ratio(tp, tp + fp));
	else
		printf("n/a");
	printf("  recall ");
	if (tp + fn)
		printf("%.4f\n", ratio(tp, tp + fn));
	else
		printf("n/a\n");
}

enum { O_CLEAN = LT_CLI_LONG, O_ADV, O_FORMAT, O_FORCE };

static const struct argp_option detect_opts[] = {
	{ "rules", 'r', "RULES.json", 0, "the rules file (from analyze --rules-out)", 0 },
	{ "clean", O_CLEAN, "TRACE", 0, "a trace of clean inputs (labelled, for Table I)", 0 },
	{ "adv", O_ADV, "TRACE", 0, "a trace of adversarial inputs (labelled, for Table I)", 0 },
	{ "format", O_FORMAT, "human|json", 0, "output format", 0 },
	{ NULL, 'j', NULL, 0, "the same as --format json", 0 },
	{ "quiet", 'q', NULL, 0, "no per-execution lines (table only)", 0 },
	{ "force", O_FORCE, NULL, 0, "compare traces recorded with different options (values, hash "
	  "key, str-len, max-depth, exclude-path, args, root, durations)", 0 },
	LT_CLI_HELP,
	{ 0 },
};

struct detect_args {
	struct lt_cli cli;	/* first: lt_cli_parse's */
	struct detect *d;
	const char *rules;
	struct input *in;	/* --clean and --adv in order, then the operands */
	size_t nin;
};

static error_t detect_key(int key, char *arg, struct argp_state *state)
{
	struct detect_args *a = state->input;

	switch (key) {
	case 'r':
		a->rules = arg;
		break;
	case O_CLEAN:
		a->in[a->nin++] = (struct input){ arg, L_CLEAN };
		break;
	case O_ADV:
		a->in[a->nin++] = (struct input){ arg, L_ADV };
		break;
	case O_FORMAT:
		return lt_cli_format(arg, &a->d->json, state);
	case 'j':
		a->d->json = true;
		break;
	case 'q':
		a->d->quiet = true;
		break;
	case O_FORCE:
		a->d->force = true;
		break;
	default:
		return lt_cli_key(key, arg, state);
	}
	return 0;
}

static const struct argp detect_argp = {
	detect_opts, detect_key, "[TRACE...]",
	"Apply rules to executions.\v"
	"Prints one line per execution: where, id, verdict (ALERT or ok), rules matched. With "
	"--clean/--adv (labelled traces) also the paper's Table I per rule: executions per observed "
	"value, and precision/recall.",
	NULL, NULL, NULL,
};

static int detect(struct detect *dp, const char *rules, struct input *in, size_t nin);

int cmd_detect(int argc, char **argv)
{
	struct detect d = { 0 };
	struct detect_args a = { .d = &d, .in = calloc(argc + 1, sizeof(*a.in)) };
	int rc;

	if (!a.in) {
		lt_err("out of memory");
		return LT_EXIT_FAIL;
	}
	rc = lt_cli_parse(&detect_argp, &a.cli, "detect", argc, argv);
	if (rc >= 0)
		goto out;
	for (int i = 0; i < a.cli.nops; i++)
		a.in[a.nin++] = (struct input){ a.cli.ops[i], L_NONE };
	if (!a.rules || !a.nin) {
		lt_err("detect needs --rules RULES.json and at least one trace");
		lt_cli_help(&detect_argp, &a.cli, stderr);
		rc = LT_EXIT_USAGE;
		goto out;
	}
	rc = detect(&d, a.rules, a.in, a.nin);
out:
	lt_cli_free(&a.cli);
	free(a.in);
	return rc;
}

static int detect(struct detect *dp, const char *rules, struct input *in, size_t nin)
{
	struct detect d = *dp;
	int rc = 0;

	d.rs = lt_rules_load(rules);
	if (!d.rs)
		return LT_EXIT_USAGE;
	{
		/* the traces made like those the rules were learned from (the
		 * rules file's "capture"), and like each other */
		struct lt_capture ref = { 0 };
		const char **paths = lt_xcalloc(nin + 1, sizeof(*paths));

		if (d.rs->capture.set)
			lt_capture_set(&ref, &d.rs->capture.h, d.rs->capture.origin);
		for (size_t i = 0; i < nin; i++)
			paths[i] = in[i].path;
		rc = lt_capture_check(&ref, paths, (int)nin, d.force);
		free(paths);
		lt_capture_free(&ref);
		if (rc) {
			lt_rules_free(d.rs);
			return LT_EXIT_USAGE;
		}
	}
	d.st = calloc(d.rs->n + 1, sizeof(*d.st));
	jw_init(&d.j);
	if (d.json) {
		jw_obj(&d.j);
		jw_key(&d.j, "executions");
		jw_arr(&d.j);
	}
	bool labelled = false;
	for (size_t i = 0; i < nin && !rc; i++) {
		labelled |= in[i].label >= 0;
		rc = run_input(&d, &in[i]);
		if (d.json && d.j.len > 1 << 20) {	/* stream the big list */
			fwrite(d.j.buf, 1, d.j.len, stdout);
			d.j.len = 0;
		}
	}
	if (rc)
		goto out;
	uint64_t tp = d.flagged[1], fn = d.total[1] - d.flagged[1], fp = d.flagged[0], tn = d.total[0] - d.flagged[0];
	char desc[512];
	if (d.json) {
		jw_arr_end(&d.j);
		jw_key(&d.j, "skipped");
		jw_uint(&d.j, d.skipped);
		jw_key(&d.j, "alerts");
		jw_uint(&d.j, d.flagged[0] + d.flagged[1] + d.unl_flagged);
		if (labelled) {
			jw_key(&d.j, "table");
			jw_arr(&d.j);
			for (size_t i = 0; i < d.rs->n; i++) {
				const struct lt_rule *r = &d.rs->v[i];
				struct rule_stats *s = &d.st[i];
				jw_obj(&d.j);
				jw_key(&d.j, "rule");
				jw_int(&d.j, r->index);
				jw_key(&d.j, "observation");
				jw_str(&d.j, lt_obs_names[r->obs]);
				jw_key(&d.j, "key");
				jw_str(&d.j, r->key);
				if (r->val) {
					jw_key(&d.j, "value");
					jw_str(&d.j, r->val);
				}
				jw_key(&d.j, "columns");
				jw_arr(&d.j);
				for (size_t k = 0; k < s->ncols; k++) {
					jw_obj(&d.j);
					jw_key(&d.j, "value");
					jw_str(&d.j, s->cols[k].label);
					jw_key(&d.j, "clean");
					jw_uint(&d.j, s->cols[k].cnt[0]);
					jw_key(&d.j, "adv");
					jw_uint(&d.j, s->cols[k].cnt[1]);
					jw_obj_end(&d.j);
				}
				jw_arr_end(&d.j);
				json_pr(&d.j, s->match[1], s->match[0], d.total[1] - s->match[1], d.total[0] - s->match[0]);
				jw_obj_end(&d.j);
			}
			jw_arr_end(&d.j);
			jw_key(&d.j, "total");
			jw_obj(&d.j);
			json_pr(&d.j, tp, fp, fn, tn);
			jw_obj_end(&d.j);
		}
		jw_obj_end(&d.j);
		jw_raw(&d.j, "\n", 1);
		fwrite(d.j.buf, 1, d.j.len, stdout);
	} else if (labelled) {
		for (size_t i = 0; i < d.rs->n; i++) {
			const struct lt_rule *r = &d.rs->v[i];
			struct rule_stats *s = &d.st[i];
			lt_rule_describe(r, desc, sizeof(desc));
			printf("\nTable I, rule %d: %s\n", r->index, desc);
			int w = 0;
			for (size_t k = 0; k < s->ncols; k++) {
				int l = (int)strlen(s->cols[k].label);
				if (l > w)
					w = l;
			}
			w = w < 8 ? 8 : w > 40 ? 40 : w;
			printf("  %-18s", r->obs == LT_OBS_TIME ? "rule" : "value");
			for (size_t k = 0; k < s->ncols; k++)
				printf(" %*.*s", w, w, s->cols[k].label);
			printf("\n  %-18s", "clean (E)");
			for (size_t k = 0; k < s->ncols; k++)
				printf(" %*llu", w, (unsigned long long)s->cols[k].cnt[0]);
			printf("\n  %-18s", "adversarial (E')");
			for (size_t k = 0; k < s->ncols; k++)
				printf(" %*llu", w, (unsigned long long)s->cols[k].cnt[1]);
			putchar('\n');
			print_pr(s->match[1], s->match[0], d.total[1] - s->match[1], d.total[0] - s->match[0]);
		}
		printf("\nall rules (flagged when any rule matches), %llu clean, %llu adversarial executions:\n",
		       (unsigned long long)d.total[0], (unsigned long long)d.total[1]);
		print_pr(tp, fp, fn, tn);
	}
	if (!d.json && (d.skipped || !labelled))
		lt_err("%llu alerts%s, %llu incomplete executions skipped",
			(unsigned long long)(d.flagged[0] + d.flagged[1] + d.unl_flagged),
			labelled ? "" : "", (unsigned long long)d.skipped);
out:
	for (size_t i = 0; i < d.rs->n; i++)
		free(d.st[i].cols);
	free(d.st);
	jw_free(&d.j);
	lt_rules_free(d.rs);
	return rc;
}
