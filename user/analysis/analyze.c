// SPDX-License-Identifier: MIT
/* leaktrace analyze CLEAN ADV: the paper's differential analysis (FORMAT.md §4). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "common/err.h"
#include "analysis/cmds.h"
#include "common/cli.h"
#include "common/json.h"
#include "analysis/observe.h"
#include "analysis/report.h"
#include "analysis/rules.h"
#include "analysis/sets.h"
#include "analysis/summary.h"
#include "trace/incomplete.h"
#include "trace/trace.h"

struct progress {
	bool on;
	time_t last;
	size_t n;
};

static void progress_tick(struct progress *p, const char *set, size_t n)
{
	if (!p->on || (n & 1023))
		return;
	time_t now = time(NULL);
	if (now == p->last)
		return;
	p->last = now;
	fprintf(stderr, "\rleaktrace: analyzing %s: %zu executions...", set, n);
}

static void progress_done(struct progress *p)
{
	if (p->on && p->last)
		fprintf(stderr, "\r\033[K");
}

/*
 * Parsing is most of the work, so NPARTS reader threads parse the inputs
 * at once: each reads every line but builds only every NPARTS-th
 * execution (lt_reader_open_part), reading CLEAN then ADV, and hands them
 * over through its own bounded queue. The main thread takes them back in
 * the input's order (execution j from part j mod NPARTS), so the results
 * are those of one sequential pass, and feeds them to the engine. stdin
 * can be read once only: one part then.
 */
#define NPARTS 2
#define QLEN 64
struct part {
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_get;
	struct lt_exec *q[QLEN];
	int side[QLEN];
	size_t head, tail;	/* tail - head = items queued */
	bool done;
	int rc, id, nparts;
	int *failed;		/* shared: some part met bad input */
	const char *paths[2];
	pthread_t th;
};

static void part_put(struct part *p, struct lt_exec *e, int side)
{
	pthread_mutex_lock(&p->mu);
	while (p->tail - p->head == QLEN) {
		pthread_cond_signal(&p->can_get);
		pthread_cond_wait(&p->can_put, &p->mu);
	}
	p->q[p->tail % QLEN] = e;
	p->side[p->tail % QLEN] = side;
	p->tail++;
	if (p->tail - p->head >= QLEN / 4)	/* wake the consumer for a batch */
		pthread_cond_signal(&p->can_get);
	pthread_mutex_unlock(&p->mu);
}

static void *reader_main(void *arg)
{
	struct part *p = arg;
	int rc = 0;

	prctl(PR_SET_NAME, "lt-reader");
	for (int side = 0; side < 2 && !rc; side++) {
		struct lt_reader *r = lt_reader_open_part(p->paths[side], p->id, p->nparts);
		if (!r) {
			rc = LT_EXIT_USAGE;
			break;
		}
		lt_reader_set_abort(r, p->failed);
		struct lt_exec *e;
		int n;
		while ((n = lt_reader_next(r, &e)) == 1)
			part_put(p, e, side);
		if (n < 0) {
			rc = LT_EXIT_USAGE;
			/* reported: the other parts can stop; left to part 0
			 * (a line every part reads): it will meet it too */
			if (!lt_reader_quiet_failure(r))
				__atomic_store_n(p->failed, 1, __ATOMIC_RELAXED);
		}
		lt_reader_close(r);
	}
	pthread_mutex_lock(&p->mu);
	p->rc = rc;
	p->done = true;
	pthread_cond_signal(&p->can_get);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* the next item of part p without taking it: 1, or 0 when p is done (its
 * rc tells why) */
static int part_peek(struct part *p, struct lt_exec **e, int *side)
{
	pthread_mutex_lock(&p->mu);
	while (p->tail == p->head && !p->done)
		pthread_cond_wait(&p->can_get, &p->mu);
	int got = p->tail != p->head;
	if (got) {
		*e = p->q[p->head % QLEN];
		*side = p->side[p->head % QLEN];
	}
	pthread_mutex_unlock(&p->mu);
	return got;
}

static void part_take(struct part *p)
{
	pthread_mutex_lock(&p->mu);
	p->head++;
	if (p->tail - p->head <= QLEN / 2)
		pthread_cond_signal(&p->can_put);
	pthread_mutex_unlock(&p->mu);
}

/* feed both sides to the engine; returns 0, or 2 on bad input */
/* executions skipped, per reason (FORMAT.md §1 "incomplete"; the last
 * slot: no reason given, an older trace), for the human output */
static size_t skip_why[LT_INC_NREASONS + 1];

static void count_skip(const struct lt_exec *e)
{
	if (!e->incomplete)
		skip_why[LT_INC_NREASONS]++;
	for (int i = 0; i < LT_INC_NREASONS; i++)
		skip_why[i] += !!(e->incomplete & (1u << i));
}

static int read_sides(struct lt_sets *s, const char *clean, const char *adv, size_t skipped[2],
		      struct progress *pg)
{
	struct part parts[NPARTS];
	int np = strcmp(clean, "-") && strcmp(adv, "-") ? NPARTS : 1, rc = 0, started = 0, failed = 0;

	for (int i = 0; i < np; i++) {
		parts[i] = (struct part){ .mu = PTHREAD_MUTEX_INITIALIZER,
					  .can_put = PTHREAD_COND_INITIALIZER,
					  .can_get = PTHREAD_COND_INITIALIZER, .id = i, .failed = &failed,
					  .nparts = np, .paths = { clean, adv } };
		if (pthread_create(&parts[i].th, NULL, reader_main, &parts[i])) {
			lt_err("cannot start a reader thread");
			rc = LT_EXIT_FAIL;
			break;
		}
		started++;
	}
	/* execution j of a side comes from part j mod np; a part whose next
	 * item belongs to the next side (or that is done) ends this side */
	size_t n = 0;
	for (int side = 0; side < 2 && !rc && started == np; side++) {
		for (size_t j = 0;; j++) {
			struct part *p = &parts[j % np];
			struct lt_exec *e = NULL;
			int sd = side;
			if (!part_peek(p, &e, &sd)) {
				rc = p->rc;
				break;
			}
			if (sd != side)
				break;
			part_take(p);
			if (!e->complete || !e->root) {
				skipped[side]++;
				count_skip(e);
			}
			else
				lt_sets_add(s, e, side);
			lt_exec_free(e);
			progress_tick(pg, side ? "ADV" : "CLEAN", ++n);
		}
		/* a part that stopped on bad input ends the run */
		for (int i = 0; i < np && !rc; i++) {
			pthread_mutex_lock(&parts[i].mu);
			if (parts[i].done && parts[i].rc)
				rc = parts[i].rc;
			pthread_mutex_unlock(&parts[i].mu);
		}
	}
	/* after bad input, let every part run to its end (each stops at the
	 * bad line or when told that it was reported), dropping what it hands */
	for (int i = 0; i < started; i++) {
		struct lt_exec *e;
		int sd;
		while (part_peek(&parts[i], &e, &sd)) {
			part_take(&parts[i]);
			lt_exec_free(e);
		}
		pthread_join(parts[i].th, NULL);
		if (!rc)
			rc = parts[i].rc;
	}
	return rc;
}

static void json_elem(struct jw *j, const struct lt_elem_out *e, int obs, bool with_auc)
{
	jw_obj(j);
	jw_key(j, "key");
	jw_str(j, e->key);
	if (obs != LT_OBS_TIME && e->val) {
		jw_key(j, "value");
		jw_strn(j, e->val, lt_intern_len(e->val));
	}
	if (e->path) {
		jw_key(j, "path");
		jw_str(j, lt_site_str(e->path));
	}
	if (with_auc) {
		jw_key(j, "auc");
		jw_double(j, e->auc);
	}
	jw_obj_end(j);
}

static void json_list(struct jw *j, const char *k, const struct lt_elem_list *l, int obs, bool with_auc)
{
	jw_key(j, k);
	jw_arr(j);
	for (size_t i = 0; i < l->n; i++)
		json_elem(j, &l->v[i], obs, with_auc);
	jw_arr_end(j);
}

/* value text for human output: control characters shown escaped */
static void print_val(FILE *f, const char *v)
{
	size_t n = lt_intern_len(v);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void print_elem(FILE *f, const struct lt_elem_out *e, int obs)
{
	fputs("  (", f);
	print_val(f, e->key);
	if (obs != LT_OBS_TIME) {
		fputs(", ", f);
		print_val(f, e->val);
	}
	fputs(")", f);
	if (obs == LT_OBS_TIME)
		printf("  E: %.3f-%.3f ms, E': %.3f-%.3f ms", e->minA / 1e6, e->maxA / 1e6, e->minB / 1e6,
		       e->maxB / 1e6);
	fputc('\n', f);
	if (e->path) {
		char *l = lt_site_listing(e->path);
		fprintf(f, "      %s", l ? l : "");
		if (obs == LT_OBS_RETURNS) {
			fputs(" -> ", f);
			print_val(f, e->val);
		} else if (obs == LT_OBS_CALLS) {
			fprintf(f, " (count %s)", e->val);
		}
		fputc('\n', f);
		free(l);
	}
}

static void print_list(FILE *f, const char *title, const char *obsname, const struct lt_elem_list *l, int obs)
{
	fprintf(f, "\n%s %s (%zu):\n", obsname, title, l->n);
	for (size_t i = 0; i < l->n; i++)
		print_elem(f, &l->v[i], obs);
}

enum {
	O_OBSERVE = LT_CLI_LONG, O_KEY, O_THRESHOLD, O_FORMAT, O_RULES_OUT, O_MIN_SUPPORT, O_BOTH,
	O_AUC, O_LIST_ALL, O_REPORT, O_FORCE,
};

static const struct argp_option analyze_opts[] = {
	{ "observe", O_OBSERVE, "LIST", 0, "calls,returns,time (default: all three)", 0 },
	{ "key", O_KEY, "KIND", 0, "name (default), qualname or site", 0 },
	{ "time-threshold-ms", O_THRESHOLD, "X", 0, "time differences above X ms count (default 50)", 0 },
	{ "format", O_FORMAT, "human|json", 0, "output format (default human)", 0 },
	{ NULL, 'j', NULL, 0, "the same as --format json", 0 },
	{ "rules-out", O_RULES_OUT, "FILE", 0, "write D_IF as a rules file for 'leaktrace detect'", 0 },
	{ "report", O_REPORT, "FILE.html", 0,
	  "also write a self-contained HTML report (reads the inputs a second time for Table I and the "
	  "time plots)", 0 },
	{ "min-support", O_MIN_SUPPORT, "P", 0, "also: elements in >= P of E' and <= 1-P of E", 0 },
	{ "both-directions", O_BOTH, NULL, 0, "also: elements in all of E and in no E'", 0 },
	{ "auc", O_AUC, NULL, 0, "also: Mann-Whitney AUC of durations per key (time)", 0 },
	{ "list-all", O_LIST_ALL, NULL, 0, "also list the elements of D_E and D_E' (json)", 0 },
	{ "quiet", 'q', NULL, 0, "no progress line on stderr", 0 },
	{ "force", O_FORCE, NULL, 0, "compare traces recorded with different options (values, hash "
	  "key, str-len, max-depth, exclude-path, args, root, durations)", 0 },
	LT_CLI_HELP,
	{ 0 },
};

struct analyze_args {
	struct lt_cli cli;	/* first: lt_cli_parse's */
	struct lt_sets_opts so;
	double thr_ms;
	bool json, quiet, force;
	const char *rules_out, *report;
	struct lt_capture *cap;	/* how the inputs were made */
};

static error_t analyze_key(int key, char *arg, struct argp_state *state)
{
	struct analyze_args *a = state->input;
	char *end;

	switch (key) {
	case O_OBSERVE:
		if (lt_observe_arg(arg, &a->so.obs_mask))
			return lt_cli_bad(state);
		break;
	case O_KEY:
		if (lt_key_arg(arg, &a->so.keykind))
			return lt_cli_bad(state);
		break;
	case O_THRESHOLD:
		if (lt_threshold_arg(arg, &a->thr_ms))
			return lt_cli_bad(state);
		break;
	case O_FORMAT:
		return lt_cli_format(arg, &a->json, state);
	case 'j':
		a->json = true;
		break;
	case O_RULES_OUT:
		a->rules_out = arg;
		break;
	case O_MIN_SUPPORT:
		a->so.min_support = strtod(arg, &end);
		if (*end || end == arg || !(a->so.min_support > 0.5 && a->so.min_support <= 1)) {
			lt_err("--min-support: '%s' must be a fraction in (0.5, 1]", arg);
			return lt_cli_bad(state);
		}
		break;
	case O_BOTH:
		a->so.both_directions = true;
		break;
	case O_AUC:
		a->so.auc = true;
		break;
	case O_LIST_ALL:
		a->so.list_all = true;
		break;
	case 'q':
		a->quiet = true;
		break;
	case O_REPORT:
		a->report = arg;
		break;
	case O_FORCE:
		a->force = true;
		break;
	default:
		return lt_cli_key(key, arg, state);
	}
	return 0;
}

static const struct argp analyze_argp = {
	analyze_opts, analyze_key, "CLEAN ADV",
	"Find leakage between two trace sets.\v"
	"CLEAN, ADV: a trace file, a directory of trace files or of the paper's JSON traces "
	"('-' = stdin for one of them), or summaries of traces ('leaktrace summarize'), alone or in "
	"such a directory. Executions in CLEAN are E, in ADV E'.",
	NULL, NULL, NULL,
};

static int analyze(const struct analyze_args *a);

int cmd_analyze(int argc, char **argv)
{
	struct lt_capture cap = { 0 };
	struct analyze_args a = { .so = { .keykind = LT_KEY_NAME, .obs_mask = 7 }, .thr_ms = 50,
				  .cap = &cap };
	int rc = lt_cli_parse(&analyze_argp, &a.cli, "analyze", argc, argv);

	if (rc < 0 && a.cli.nops != 2) {
		lt_err("analyze needs exactly two inputs, CLEAN and ADV (got %d)", a.cli.nops);
		lt_cli_help(&analyze_argp, &a.cli, stderr);
		rc = LT_EXIT_USAGE;
	}
	if (rc < 0)
		rc = analyze(&a);
	lt_capture_free(&cap);
	lt_cli_free(&a.cli);
	return rc;
}

static int analyze(const struct analyze_args *a)
{
	struct lt_sets_opts so = a->so;
	double thr_ms = a->thr_ms;
	bool json = a->json, quiet = a->quiet;
	const char *rules_out = a->rules_out, *report = a->report;
	const char *clean = a->cli.ops[0], *adv = a->cli.ops[1];
	if (!strcmp(clean, "-") && !strcmp(adv, "-")) {
		lt_err("only one of CLEAN and ADV can be '-' (stdin)");
		return LT_EXIT_USAGE;
	}
	if (report && (!strcmp(clean, "-") || !strcmp(adv, "-"))) {
		lt_err("--report reads the inputs twice; give files or directories, not '-'");
		return LT_EXIT_USAGE;
	}
	/* summaries (summary.c) where traces would be: exact with the same
	 * options; --report and --auc need the executions themselves */
	bool sum = lt_is_summary_path(clean) || lt_is_summary_path(adv);
	/* traces made differently differ for reasons that are not the inputs
	 * (summaries compare their own capture options, summary.c) */
	if (!sum && lt_capture_check(a->cap, (const char *const *)a->cli.ops, 2, a->force))
		return LT_EXIT_USAGE;
	/* integer ns: for integer d, d > X  <=>  d > floor(X) */
	so.threshold_ns = (int64_t)floor(thr_ms * 1e6 + 1e-6);

	struct lt_sets *s = lt_sets_new(&so);
	struct progress pg = { .on = !quiet && isatty(STDERR_FILENO) };
	size_t skipped[2] = { 0, 0 };
	if (sum && (report || so.auc)) {
		lt_err("%s needs the traces themselves, not summaries", report ? "--report" : "--auc");
		lt_sets_free(s);
		return LT_EXIT_USAGE;
	}
	int rc = sum ? lt_sum_analyze_inputs(s, &so, clean, adv, skipped) : read_sides(s, clean, adv, skipped, &pg);
	progress_done(&pg);
	if (rc) {
		lt_sets_free(s);
		return rc;
	}
	size_t n = lt_sets_count(s, 0), m = lt_sets_count(s, 1);
	if (!n || !m) {
		lt_err("%s (%s) has no complete execution%s; nothing to compare",
			!n ? "CLEAN" : "ADV", !n ? clean : adv,
			skipped[!n ? 0 : 1] ? " (all were incomplete)" : "");
		lt_sets_free(s);
		return LT_EXIT_USAGE;
	}
	struct lt_obs_result res[LT_OBS_N];
	lt_sets_finish(s, res);

	if (json) {
		struct jw j;
		jw_init(&j);
		jw_obj(&j);
		jw_key(&j, "E");
		jw_uint(&j, n);
		jw_key(&j, "E_prime");
		jw_uint(&j, m);
		jw_key(&j, "skipped");
		jw_uint(&j, skipped[0] + skipped[1]);
		jw_key(&j, "observations");
		jw_obj(&j);
		for (int o = 0; o < LT_OBS_N; o++) {
			if (!(so.obs_mask & (1u << o)))
				continue;
			jw_key(&j, lt_obs_names[o]);
			jw_obj(&j);
			jw_key(&j, "D_E");
			jw_uint(&j, res[o].nD_E);
			jw_key(&j, "D_E_prime");
			jw_uint(&j, res[o].nD_E2);
			json_list(&j, "D_EE_prime", &res[o].D_EE2, o, false);
			json_list(&j, "D_IF", &res[o].D_IF, o, false);
			jw_obj_end(&j);
		}
		jw_obj_end(&j);
		if (so.min_support > 0 || so.both_directions || so.auc || so.list_all) {
			jw_key(&j, "extra");
			jw_obj(&j);
			for (int o = 0; o < LT_OBS_N; o++) {
				if (!(so.obs_mask & (1u << o)))
					continue;
				jw_key(&j, lt_obs_names[o]);
				jw_obj(&j);
				if (so.list_all) {
					json_list(&j, "D_E", &res[o].D_E, o, false);
					json_list(&j, "D_E_prime", &res[o].D_E2, o, false);
				}
				if (so.min_support > 0 && o != LT_OBS_TIME) {
					jw_key(&j, "min_support");
					jw_double(&j, so.min_support);
					json_list(&j, "supported", &res[o].support, o, false);
				}
				if (so.both_directions)
					json_list(&j, "reverse_D_IF", &res[o].reverse, o, false);
				if (so.auc && o == LT_OBS_TIME)
					json_list(&j, "auc", &res[o].auc, o, true);
				jw_obj_end(&j);
			}
			jw_obj_end(&j);
		}
		jw_obj_end(&j);
		jw_raw(&j, "\n", 1);
		fwrite(j.buf, 1, j.len, stdout);
		jw_free(&j);
	} else {
		printf("E: %zu executions (%s), E': %zu executions (%s)", n, clean, m, adv);
		if (skipped[0] + skipped[1]) {
			const char *sep = "; ";

			printf(", skipped %zu incomplete (E %zu, E' %zu", skipped[0] + skipped[1], skipped[0], skipped[1]);
			/* why (an execution may have several reasons) */
			for (int i = 0; i <= LT_INC_NREASONS; i++) {
				if (!skip_why[i])
					continue;
				printf("%s%s %zu", sep, i < LT_INC_NREASONS ? lt_incomplete_name(i) : "no reason given",
				       skip_why[i]);
				sep = ", ";
			}
			printf(")");
		}
		printf("\nkey: %s, time threshold: %g ms\n\n", lt_key_names[so.keykind], thr_ms);
		printf("%-12s %10s %10s %10s %10s\n", "observation", "|D_E|", "|D_E'|", "|D_EE'|", "|D_IF|");
		for (int o = 0; o < LT_OBS_N; o++)
			if (so.obs_mask & (1u << o))
				printf("%-12s %10zu %10zu %10zu %10zu\n", lt_obs_names[o], res[o].nD_E, res[o].nD_E2,
				       res[o].nD_EE2, res[o].nD_IF);
		for (int o = 0; o < LT_OBS_N; o++) {
			if (!(so.obs_mask & (1u << o)))
				continue;
			if (res[o].nD_IF)
				print_list(stdout, "D_IF", lt_obs_names[o], &res[o].D_IF, o);
			if (res[o].nD_EE2 != res[o].nD_IF && res[o].nD_EE2 <= 20)
				print_list(stdout, "D_EE'", lt_obs_names[o], &res[o].D_EE2, o);
			if (so.min_support > 0 && o != LT_OBS_TIME)
				print_list(stdout, "with support", lt_obs_names[o], &res[o].support, o);
			if (so.both_directions)
				print_list(stdout, "reverse D_IF (all of E, no E')", lt_obs_names[o], &res[o].reverse, o);
			if (so.auc && o == LT_OBS_TIME) {
				printf("\ntime AUC (P(E' slower), 0.5 = no difference), most extreme first:\n");
				struct lt_elem_list *l = &res[o].auc;
				/* top 10 by |auc - 0.5| */
				for (int k = 0; k < 10 && k < (int)l->n; k++) {
					size_t best = k;
					for (size_t i = k + 1; i < l->n; i++)
						if (fabs(l->v[i].auc - 0.5) > fabs(l->v[best].auc - 0.5))
							best = i;
					struct lt_elem_out t = l->v[k];
					l->v[k] = l->v[best];
					l->v[best] = t;
					printf("  %-40s %.3f\n", l->v[k].key, l->v[k].auc);
				}
			}
		}
		if (!res[0].nD_IF && !res[1].nD_IF && !res[2].nD_IF)
			printf("\nno information leakage found (D_IF is empty)\n");
	}
	fflush(stdout);
	if (rules_out) {
		struct lt_rules *rs = lt_rules_from_sets(res, so.obs_mask, so.keykind);

		/* detect will check its traces against how these were made */
		if (a->cap->set)
			lt_capture_set(&rs->capture, &a->cap->h, a->cap->origin);
		rc = lt_rules_write(rs, rules_out);
		lt_rules_free(rs);
	}
	if (report && !rc) {	/* report.c */
		struct lt_report_in ri = { .clean = clean, .adv = adv, .so = &so, .thr_ms = thr_ms, .n = n, .m = m,
					   .skipped = { skipped[0], skipped[1] }, .res = res };
		rc = lt_report_write(report, &ri);
	}
	lt_obs_result_free(res);
	lt_sets_free(s);
	return rc;
}
