/* SPDX-License-Identifier: MIT */
/*
 * leaktrace record: attach to a CPython (running pid or a command started
 * here), consume probe records and write executions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "commands.h"
#include "record/hashval.h"
#include "common/json.h"
#include "leaktrace.h"
#include "leaktrace.skel.h"
#include "floor.skel.h"
#include "record/rebuild.h"
#include "analysis/rules.h"
#include "pybuild/target.h"
#include "common/u64map.h"
#include "record/values.h"

#define MAX_EXCLUDE 32

static struct env {
	int pid;
	bool all;
	char **cmd;		/* argv after -- */
	const char *root;
	const char *output;
	const char *python;
	double duration;
	int max_depth;
	int str_len;
	bool no_values;
	bool verbose;
	int ringbuf_mb;
	bool floor;		/* benchmark: same probes, empty programs */
	bool no_durations;	/* returns only: one probe hit per call */
	bool args;
	bool hash_values;
	const char *rules;
	const char *alert_exec;
	const char *comm;	/* -a: only processes with this comm */
	bool json;		/* -j: JSON lines instead of the human ones */
	const char *hash_key;
	const char *exclude[MAX_EXCLUDE + 1];
	int nexclude;
} env = { .str_len = 64, .ringbuf_mb = 32 };

static volatile sig_atomic_t exiting;
static volatile sig_atomic_t reopen;	/* SIGHUP: log rotation */

static void on_sighup(int sig)
{
	reopen = 1;
}

static void on_signal(int sig)
{
	exiting = 1;
}

enum {
	OPT_ROOT = 256, OPT_PYTHON, OPT_DURATION, OPT_MAX_DEPTH, OPT_STR_LEN, OPT_NO_VALUES,
	OPT_EXCLUDE, OPT_RINGBUF, OPT_FLOOR, OPT_NO_DURATIONS, OPT_ARGS, OPT_HASH, OPT_HASH_KEY, OPT_RULES,
	OPT_ALERT_EXEC, OPT_MECHANISM, OPT_COMM, OPT_HELP,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "all", no_argument, NULL, 'a' },
	{ "output", required_argument, NULL, 'o' },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "str-len", required_argument, NULL, OPT_STR_LEN },
	{ "no-values", no_argument, NULL, OPT_NO_VALUES },
	{ "exclude-path", required_argument, NULL, OPT_EXCLUDE },
	{ "ringbuf-mb", required_argument, NULL, OPT_RINGBUF },
	{ "floor", no_argument, NULL, OPT_FLOOR },
	{ "no-durations", no_argument, NULL, OPT_NO_DURATIONS },
	{ "args", no_argument, NULL, OPT_ARGS },
	{ "hash-values", no_argument, NULL, OPT_HASH },
	{ "hash-key", required_argument, NULL, OPT_HASH_KEY },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "mechanism", required_argument, NULL, OPT_MECHANISM },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "alert-exec", required_argument, NULL, OPT_ALERT_EXEC },
	{ "verbose", no_argument, NULL, 'v' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: leaktrace record (-p PID | -a | -- CMD [ARGS...]) [options]\n"
		"       leaktrace -p PID [options]\n\n"
		"Record every Python call of a CPython process from outside (eBPF on its\n"
		"USDT probes) and rebuild the nested call trees.\n\n"
		"  -p, --pid PID          attach to a running process\n"
		"  -- CMD [ARGS...]       start CMD and follow it to exit\n"
		"  -a, --all              every process of every supported CPython build,\n"
		"                         also those started later\n"
		"  --comm NAME            with -a: only processes whose comm is NAME\n"
		"  --root FUNC            each outermost call of FUNC is one execution\n"
		"                         (default: one execution per thread)\n"
		"  -o, --output FILE      trace file (JSON Lines; .gz = gzip; - = stdout)\n"
		"  --python PATH          the python binary or libpython to attach to\n"
		"  --duration SEC         stop after SEC seconds\n"
		"  --max-depth N          record at most N levels below the root\n"
		"  --str-len N            keep at most N bytes of str values (default 64, max 256)\n"
		"  --no-values            record return types only\n"
		"  --no-durations         probe returns only (one probe hit per call instead\n"
		"                         of two): the same trees and values, no dur_ns\n"
		"  --args                 also record positional argument values (first 8)\n"
		"  --hash-values          write a keyed hash \"h:<hex>\" instead of each value\n"
		"  --hash-key FILE        the 16-byte key (created if missing); without it a\n"
		"                         random key: values compare only within one trace\n"
		"  --exclude-path GLOB    leave out calls whose file matches (counted only)\n"
		"  --rules FILE           live detection: an ALERT line for each execution\n"
		"                         that matches a rule (rules from analyze --rules-out)\n"
		"  --alert-exec CMD       also run CMD (sh -c) per alert, the line in $LEAKTRACE_ALERT\n"
		"  --ringbuf-mb N         ring buffer size in MiB (default 32, power of 2)\n"
		"  --mechanism M          auto (default), usdt (function__return note), sites\n"
		"                         (probe sites in the interpreter loop; builds without probes)\n"
		"                         or evalframe (3.8-3.10; 3.12 with the perf trampoline)\n"
		"  -v, --verbose          libbpf and attach diagnostics on stderr\n"
		"  -j, --json             the per-execution and live lines as JSON\n"
		"  --floor                benchmark: attach the same probes with empty\n"
		"                         programs and record nothing\n");
}

static int parse_int(const char *s, const char *what, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || *end || end == s || *out < lo || *out > hi) {
		fprintf(stderr, "leaktrace: %s must be a whole number from %ld to %ld, not '%s'\n",
			what, lo, hi, s);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv)
{
	long v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:ao:vj", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_int(optarg, "-p", 1, INT_MAX, &v))
				return -1;
			env.pid = v;
			break;
		case 'a':
			env.all = true;
			break;
		case 'o':
			env.output = optarg;
			break;
		case 'v':
			env.verbose = true;
			break;
		case 'j':
			env.json = true;
			break;
		case OPT_ROOT:
			env.root = optarg;
			break;
		case OPT_PYTHON:
			env.python = optarg;
			break;
		case OPT_DURATION: {
			char *end;

			env.duration = strtod(optarg, &end);
			if (*end || end == optarg || env.duration <= 0) {
				fprintf(stderr, "leaktrace: --duration must be a positive number of seconds\n");
				return -1;
			}
			break;
		}
		case OPT_MAX_DEPTH:
			if (parse_int(optarg, "--max-depth", 1, 1000000, &v))
				return -1;
			env.max_depth = v;
			break;
		case OPT_STR_LEN:
			if (parse_int(optarg, "--str-len", 0, 256, &v))
				return -1;
			env.str_len = v;
			break;
		case OPT_NO_VALUES:
			env.no_values = true;
			break;
		case OPT_EXCLUDE:
			if (env.nexclude == MAX_EXCLUDE) {
				fprintf(stderr, "leaktrace: at most %d --exclude-path\n", MAX_EXCLUDE);
				return -1;
			}
			env.exclude[env.nexclude++] = optarg;
			break;
		case OPT_RINGBUF:
			if (parse_int(optarg, "--ringbuf-mb", 1, 4096, &v))
				return -1;
			if (v & (v - 1)) {
				fprintf(stderr, "leaktrace: --ringbuf-mb must be a power of 2\n");
				return -1;
			}
			env.ringbuf_mb = v;
			break;
		case OPT_COMM:
			env.comm = optarg;
			break;
		case OPT_MECHANISM:
			if (!strcmp(optarg, "auto"))
				py_mechanism = PY_MECH_AUTO;
			else if (!strcmp(optarg, "usdt"))
				py_mechanism = PY_MECH_USDT;
			else if (!strcmp(optarg, "sites"))
				py_mechanism = PY_MECH_SITES;
			else if (!strcmp(optarg, "evalframe"))
				py_mechanism = PY_MECH_EVALFRAME;
			else {
				fprintf(stderr, "leaktrace: --mechanism is auto, usdt, sites or evalframe\n");
				return -1;
			}
			break;
		case OPT_RULES:
			env.rules = optarg;
			break;
		case OPT_ALERT_EXEC:
			env.alert_exec = optarg;
			break;
		case OPT_HASH:
			env.hash_values = true;
			break;
		case OPT_HASH_KEY:
			env.hash_key = optarg;
			break;
		case OPT_ARGS:
			env.args = true;
			break;
		case OPT_FLOOR:
			env.floor = true;
			break;
		case OPT_NO_DURATIONS:
			env.no_durations = true;
			py_prefer_sites = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'leaktrace record --help'.\n");
			return -1;
		}
	}
	if (optind < argc)
		env.cmd = argv + optind;
	if (!!env.pid + !!env.cmd + env.all != 1) {
		fprintf(stderr, "leaktrace: give exactly one target: -p PID, -a, or -- CMD\n"
				"Try 'leaktrace record --help'.\n");
		return -1;
	}
	if (env.hash_key && !env.hash_values) {
		fprintf(stderr, "leaktrace: --hash-key goes with --hash-values\n");
		return -1;
	}
	if (env.comm && !env.all) {
		fprintf(stderr, "leaktrace: --comm goes with -a\n");
		return -1;
	}
	if (env.no_durations) {
		/* what needs frame starts: argument values are read when a call
		 * starts; the depth of a call is known only when it starts; -a
		 * meets processes whose calls are in flight, which only frame
		 * starts (or a read of each process at attach) tell apart */
		const char *no = env.args ? "--args" : env.max_depth ? "--max-depth" : env.all ? "-a" : NULL;

		if (no) {
			fprintf(stderr, "leaktrace: --no-durations does not go with %s (it needs the probe on "
					"frame starts); leave out one of them\n", no);
			return -1;
		}
		if (env.root && strlen(env.root) >= LT_ROOT_MAX) {
			fprintf(stderr, "leaktrace: --root is at most %d bytes with --no-durations\n",
				LT_ROOT_MAX - 1);
			return -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- output */

struct out {
	struct lt_writer *w;
	struct lt_rules *rules;
	FILE *alerts;		/* where ALERT lines go */
	bool in_pidns;		/* the target is in another pid namespace */
	int32_t nspid;
	struct u64map nstids;	/* tid+1 -> namespaced tid, read at its first call */
	struct u64map procs;	/* -a: pid+1 -> struct procinfo */
	uint64_t nalerts;
	int64_t next_id;
	bool write_failed;
	bool human;		/* one line per execution on stdout */
};

/* a code object whose strings no CODE record brought (the BPF side sends
 * them when a frame of it starts, or with --no-durations at its first
 * return): a call already running at attach, a generator finished by
 * close()/throw(), or a CODE record dropped. Read them from the target. */
static void resolve_code(void *arg, struct rb_state *rb, uint32_t tgid, uint64_t code)
{
	const struct py_target *t = arg;
	char name[4 * LT_NAME_MAX + 1], file[4 * LT_FILE_MAX + 1];
	int line;

	if (tgid && !py_read_code(t, tgid, code, name, sizeof(name), file, sizeof(file), &line))
		rb_code(rb, LT_OBJ_KEY(tgid, code), name, file, line);
}

/* --no-durations -p: (frame, code) pairs live at attach */
struct frame_list {
	uint64_t (*v)[2];
	size_t n, cap;
	bool failed;		/* out of memory: frames left out */
};

static void add_old_frame(void *arg, uint64_t frame, uint64_t code)
{
	struct frame_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		void *v = realloc(l->v, cap * sizeof(*l->v));

		if (!v) {
			l->failed = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n][0] = frame;
	l->v[l->n][1] = code;
	l->n++;
}

/* one line per completed execution (without -o): human, or with -j JSON */
static void print_exec_line(const struct lt_exec *e)
{
	const struct lt_node *r = e->root, *c;
	uint64_t calls = 0;
	char first[256] = "";
	size_t used = 0;
	int shown = 0;

	for (const struct lt_node *n = r; n; n = lt_node_preorder_next(r, n))
		calls++;
	if (lt_node_synthetic_root(r))
		calls--;	/* the synthetic root is no call */
	if (env.json) {
		struct jw j;

		jw_init(&j);
		jw_obj(&j);
		jw_key(&j, "type");
		jw_str(&j, "exec");
		jw_key(&j, "id");
		jw_int(&j, e->id);
		jw_key(&j, "pid");
		jw_int(&j, e->pid);
		jw_key(&j, "tid");
		jw_int(&j, e->tid);
		jw_key(&j, "root");
		jw_str(&j, r->fn);
		if (e->dur_ns >= 0) {
			jw_key(&j, "dur_ns");
			jw_int(&j, e->dur_ns);
		}
		jw_key(&j, "calls");
		jw_uint(&j, calls);
		jw_key(&j, "complete");
		jw_bool(&j, e->complete);
		jw_key(&j, "first_layer");
		jw_arr(&j);
		for (c = r->first; c; c = c->next)
			jw_str(&j, c->fn);
		jw_arr_end(&j);
		jw_obj_end(&j);
		printf("%.*s\n", (int)j.len, j.buf);
		jw_free(&j);
		fflush(stdout);
		return;
	}
	for (c = r->first; c && shown < 6; c = c->next, shown++)
		used += snprintf(first + used, used < sizeof(first) ? sizeof(first) - used : 0, "%s%s",
				 shown ? ", " : "", c->fn);
	if (c && used < sizeof(first))
		snprintf(first + used, sizeof(first) - used, ", ...");
	printf("exec %lld tid %d %s %.3f ms %llu calls%s%s%s\n", (long long)e->id, e->tid, r->fn,
	       e->dur_ns >= 0 ? e->dur_ns / 1e6 : 0.0, (unsigned long long)calls,
	       e->complete ? "" : " (incomplete)", first[0] ? ": " : "", first);
	fflush(stdout);
}

static void run_alert_exec(const char *line)
{
	pid_t pid = fork();

	if (pid == 0) {
		setenv("LEAKTRACE_ALERT", line, 1);
		execl("/bin/sh", "sh", "-c", env.alert_exec, (char *)NULL);
		_exit(127);
	}
	/* reaped by SIGCHLD = SIG_IGN semantics below: no zombies */
}

static void on_alert(void *ctx, const struct lt_exec *e, const struct lt_rule *r)
{
	struct out *o = ctx;
	char rule[256], seen[256], when[32], line[1024];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	lt_rule_describe(r, rule, sizeof(rule));
	lt_rule_observed(r, seen, sizeof(seen));
	snprintf(line, sizeof(line), "ALERT %s.%03ld pid %d tid %d exec %lld rule %d: %s (seen %s)%s%s%s",
		 when, ts.tv_nsec / 1000000, e->pid, e->tid, (long long)e->id, r->index, rule, seen,
		 r->site ? " at " : "", r->site ? r->site : "", e->complete ? "" : " [incomplete]");
	fprintf(o->alerts, "%s\n", line);
	fflush(o->alerts);
	o->nalerts++;
	if (env.alert_exec)
		run_alert_exec(line);
}

/* the innermost pid of a host pid/tid (/proc/.../status NSpid), or 0 when
 * the target lives in leaktrace's own pid namespace */
static int32_t ns_id(int pid, int tid)
{
	char path[64], line[256];
	int32_t inner = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');
			int32_t outer = atoi(line + 6);

			inner = last ? atoi(last + 1) : 0;
			if (inner == outer)
				inner = 0;
			break;
		}
	}
	fclose(f);
	return inner;
}

/* system-wide: command line and (non-root) cgroup of a process, read once
 * at its first call and kept interned */
struct procinfo {
	const char *cmdline, *cgroup;
};

static struct procinfo *procinfo_of(struct u64map *m, int pid)
{
	struct procinfo *pi = u64map_get(m, (uint64_t)pid + 1);
	char path[64], buf[4096];
	size_t n;
	FILE *f;

	if (pi)
		return pi;
	pi = calloc(1, sizeof(*pi));
	if (!pi || u64map_put(m, (uint64_t)pid + 1, pi)) {
		free(pi);
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if ((f = fopen(path, "re"))) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i + 1 < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[n] = 0;
		if (n)
			pi->cmdline = lt_intern(buf);
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if ((f = fopen(path, "re"))) {
		/* cgroup v2: "0::/path"; the root cgroup is not worth a field */
		while (fgets(buf, sizeof(buf), f)) {
			char *p = strstr(buf, "::");

			if (p && strcmp(p + 2, "/\n")) {
				p[2 + strcspn(p + 2, "\n")] = 0;
				pi->cgroup = lt_intern(p + 2);
			}
		}
		fclose(f);
	}
	return pi;
}

static void on_exec(struct lt_exec *e, void *arg)
{
	struct out *o = arg;

	e->id = o->next_id++;
	if (env.all) {
		struct procinfo *pi = u64map_get(&o->procs, (uint64_t)e->pid + 1);

		if (pi) {
			e->cmdline = pi->cmdline;
			e->container = pi->cgroup;
		}
	}
	if (o->in_pidns) {
		e->nspid = o->nspid;
		e->nstid = (int32_t)(uintptr_t)u64map_get(&o->nstids, (uint64_t)e->tid + 1);
	}
	if (o->rules)
		lt_rules_match(o->rules, e, on_alert, o);
	if (o->w && !o->write_failed && lt_writer_exec(o->w, e)) {
		o->write_failed = true;
		exiting = 1;
	}
	if (o->human)
		print_exec_line(e);
	lt_exec_free(e);
}

/* ------------------------------------------------------------ live view */

struct live_thread {
	uint64_t calls;
	struct u64map per_code;	/* code -> count (stored in the pointer) */
};

/* records handled per ring_buffer__poll/consume call at most: libbpf 1.1
 * keeps consuming while new data arrives, so a target that produces as
 * fast as we consume would never give the main loop back */
#define LT_BATCH	65536
#define LT_BREAK	(-ECANCELED)

struct consumer {
	struct rb_state *rb;	/* NULL in live-view mode */
	uint32_t batch;		/* records handled in this call */
	bool draining;		/* final drain: no batch limit */
	struct out *out;
	struct u64map names;	/* code -> interned qualname (live view) */
	struct u64map live;	/* tid+1 -> struct live_thread */
	uint64_t last_drops;
	uint64_t lost;
	uint32_t str_len;
	bool target_exited;
	int pid;
};

static void live_count(struct consumer *c, uint32_t tid, uint64_t code)
{
	struct live_thread *t = u64map_get(&c->live, (uint64_t)tid + 1);

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || u64map_put(&c->live, (uint64_t)tid + 1, t)) {
			free(t);
			return;
		}
	}
	t->calls++;
	u64map_put(&t->per_code, code, (void *)((uintptr_t)u64map_get(&t->per_code, code) + 1));
}

static void live_print(struct consumer *c, double secs)
{
	uint64_t k;
	void *v;

	for (size_t i = 0; u64map_next(&c->live, &i, &k, &v);) {
		struct live_thread *t = v;
		uint64_t top[3] = { 0 }, topn[3] = { 0 }, code;
		void *cnt;

		for (size_t j = 0; u64map_next(&t->per_code, &j, &code, &cnt);) {
			uint64_t n = (uintptr_t)cnt;

			for (int s = 0; s < 3; s++) {
				if (n > topn[s]) {
					memmove(&top[s + 1], &top[s], (2 - s) * sizeof(top[0]));
					memmove(&topn[s + 1], &topn[s], (2 - s) * sizeof(topn[0]));
					top[s] = code;
					topn[s] = n;
					break;
				}
			}
		}
		if (env.json) {
			printf("{\"type\":\"live\",\"tid\":%llu,\"calls_per_s\":%.0f,\"top\":[",
			       (unsigned long long)(k - 1), t->calls / secs);
			for (int s = 0; s < 3 && topn[s]; s++) {
				const char *n = u64map_get(&c->names, top[s]);
				struct jw j;

				jw_init(&j);
				jw_str(&j, n ? n : "?");
				printf("%s{\"fn\":%.*s,\"per_s\":%.0f}", s ? "," : "", (int)j.len, j.buf,
				       topn[s] / secs);
				jw_free(&j);
			}
			printf("]}\n");
		} else {
			printf("tid %-7llu %10.0f calls/s", (unsigned long long)(k - 1), t->calls / secs);
			for (int s = 0; s < 3 && topn[s]; s++) {
				const char *n = u64map_get(&c->names, top[s]);

				printf("%s %s %.0f/s", s ? "," : "  top:", n ? n : "?", topn[s] / secs);
			}
			printf("\n");
		}
		u64map_free(&t->per_code);
		free(t);
	}
	fflush(stdout);
	u64map_free(&c->live);
}

/* the trailer's counts since `base` (the last rotation) */
static void stats_now(struct lt_stats *st, const struct rb_state *rb, uint64_t lost,
		      uint64_t read_failures, const struct lt_stats *base)
{
	memset(st, 0, sizeof(*st));
	if (rb) {
		const struct rb_stats *s = rb_stats(rb);

		st->execs = s->execs;
		st->calls = s->calls;
		st->incomplete_execs = s->incomplete_execs;
		st->truncated_strings = s->truncated_strings;
		st->excluded_calls = s->excluded_calls;
	}
	st->lost_events = lost;
	st->read_failures = read_failures;
	if (base) {
		st->execs -= base->execs;
		st->calls -= base->calls;
		st->incomplete_execs -= base->incomplete_execs;
		st->truncated_strings -= base->truncated_strings;
		st->excluded_calls -= base->excluded_calls;
		st->lost_events -= base->lost_events;
		st->read_failures -= base->read_failures;
	}
}

static void late_exec(int pid);

/* --------------------------------------------------------------- events */

static const char *code_string(const char *buf, int len, int kind, char *out, size_t cap)
{
	int cut;

	lt_units_to_utf8(buf, len, kind, out, cap, cap - 1, &cut);
	return out;
}

static int handle_one(struct consumer *c, void *data, size_t size);

static int handle_event(void *ctx, void *data, size_t size)
{
	struct consumer *c = ctx;

	handle_one(c, data, size);
	/* the record is handled; stop here to give the loop back */
	if (!c->draining && (++c->batch >= LT_BATCH || exiting))
		return LT_BREAK;
	return 0;
}

static int handle_one(struct consumer *c, void *data, size_t size)
{
	__u8 type = *(__u8 *)data;

	switch (type) {
	case LT_REC_CODE: {
		const struct lt_rec_code *r = data;
		char name[4 * LT_NAME_MAX + 1], file[4 * LT_FILE_MAX + 1];

		if (size < sizeof(*r))
			return 0;
		code_string(r->name, r->name_len, r->name_kind, name, sizeof(name));
		code_string(r->file, r->file_len, r->file_kind, file, sizeof(file));
		if (!c->rb)
			u64map_put(&c->names, r->code, (void *)lt_intern(name));
		else if (r->is_type)
			rb_type(c->rb, r->code, name);
		else
			rb_code(c->rb, r->code, name, file, r->firstlineno);
		break;
	}
	case LT_REC_ENTRY: {
		const struct lt_rec_entry *r = data;

		if (env.all && c->out && r->tgid)
			procinfo_of(&c->out->procs, r->tgid);
		/* a thread's namespaced tid, as the BPF side saw it */
		if (r->nstid && c->out && !u64map_get(&c->out->nstids, (uint64_t)r->tid + 1))
			u64map_put(&c->out->nstids, (uint64_t)r->tid + 1, (void *)(uintptr_t)r->nstid);

		if (c->rb)
			rb_entry(c->rb, r->tgid, r->tid, r->ts, r->frame, r->code);
		break;
	}
	case LT_REC_RET: {
		const struct lt_rec_ret *r = data;

		if (size < sizeof(*r) + r->payload_len)
			return 0;
		if (r->drops != (__u32)c->last_drops) {
			c->lost += (__u32)(r->drops - (__u32)c->last_drops);
			c->last_drops = r->drops;
			if (c->rb)
				rb_loss(c->rb);
		}
		if (c->rb)
			rb_return(c->rb, r, r + 1);
		else
			live_count(c, r->tid, r->code);
		break;
	}
	case LT_REC_ARG: {
		const struct lt_rec_ret *r = data;

		if (size >= sizeof(*r) + r->payload_len && c->rb)
			rb_arg(c->rb, r, r + 1);
		break;
	}
	case LT_REC_EXEC: {
		const struct lt_rec_exit *r = data;

		late_exec(r->pid);
		break;
	}
	case LT_REC_EXIT: {
		const struct lt_rec_exit *r = data;

		if (c->rb)
			rb_thread_exit(c->rb, r->tid, r->ts);
		if (c->out)
			u64map_del(&c->out->nstids, (uint64_t)r->tid + 1);
		if (c->out && r->tid == r->pid)	/* the process ends: forget it */
			free(u64map_del(&c->out->procs, (uint64_t)r->pid + 1));
		if ((int)r->tid == c->pid)
			c->target_exited = true;
		break;
	}
	}
	return 0;
}

/* --------------------------------------------------------------- attach */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	if (!env.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* the layout of t (shared by every traced build) and t's addresses as build bi */
/* t's link-time addresses as build bi (also after load: .bss) */
static void set_build_addrs(struct leaktrace_bpf *skel, const struct py_target *t, int bi)
{
	struct lt_build_addrs *B = &skel->bss->B[bi];

	B->runtime_vaddr = t->runtime;
	memcpy(B->type_vaddr, t->types, sizeof(B->type_vaddr));
	B->true_vaddr = t->true_struct;
}

/* the struct layout of t, shared by every build traced (before load);
 * -1 if the BPF side cannot read it */
static int set_layout(struct leaktrace_bpf *skel, const struct py_target *t)
{
	const struct py_offsets *o = &t->build->off;
	struct lt_py_layout *L = (struct lt_py_layout *)&skel->rodata->L;
	int minor = py_minor(t->build->version);

	/* returns read the frame's first LT_FRAME_HDR bytes at once */
	if (o->fr_code + 8 > LT_FRAME_HDR || o->fr_previous + 8 > LT_FRAME_HDR ||
	    o->fr_prev_instr + 8 > LT_FRAME_HDR || o->fr_stacktop + 4 > LT_FRAME_HDR ||
	    (o->fr_code | o->fr_previous | o->fr_prev_instr) & 7 || o->fr_stacktop & 3) {
		fprintf(stderr, "leaktrace: python %s: the frame fields in the offset table lie beyond "
				"the %d bytes the BPF side reads at once; this build is not supported\n",
			t->version, LT_FRAME_HDR);
		return -1;
	}

	L->rt_tstate_current = o->rt_tstate_current;
	L->ts_cframe = o->ts_cframe;
	L->ts_curexc_type = o->ts_curexc_type;
	L->cf_current_frame = o->cf_current_frame;
	L->fr_code = o->fr_code;
	L->fr_previous = o->fr_previous;
	L->fr_prev_instr = o->fr_prev_instr;
	L->fr_stacktop = o->fr_stacktop;
	L->fr_localsplus = o->fr_localsplus;
	L->co_argcount = o->co_argcount;
	L->co_firstlineno = o->co_firstlineno;
	L->co_filename = o->co_filename;
	L->co_qualname = o->co_qualname;
	L->type_tp_name = o->type_tp_name;
	L->var_ob_size = o->var_ob_size;
	L->long_digit = o->long_digit;
	L->float_fval = o->float_fval;
	L->str_length = o->str_length;
	L->str_state = o->str_state;
	L->str_ascii_size = o->str_ascii_size;
	L->str_compact_size = o->str_compact_size;
	L->op_yield_value = t->op_yield_value;
	L->str_len_max = env.str_len;
	L->no_values = env.no_values;
	L->args = env.args;
	L->fr_state = o->fr_state;
	L->evf_mode = !t->use_evalframe ? 0 : minor == 10 ? 2 : minor < 10 ? 1 : 3;
	L->fr_owner = o->fr_owner;
	L->co_flags = o->co_flags;
	L->gen_state_rel = o->gen_state_rel;
	L->gen_created = o->gen_created;
	L->owned_by_gen = o->owned_by_gen;
	L->long_tag = minor >= 12;
	L->co_consts = o->co_consts;
	L->tuple_items = o->tuple_items;
	L->skip_cstack = t->use_sites && L->long_tag;
	L->owned_by_cstack = o->owned_by_cstack;
	L->op_return_value = o->op_return_value;
	L->op_return_const = o->op_return_const;
	L->op_instr_return_value = o->op_instr_return_value;
	L->op_instr_return_const = o->op_instr_return_const;
	L->op_extended_arg = o->op_extended_arg;
	return 0;
}

#define MAX_LINKS (LT_MAX_BUILDS * 8)
static struct bpf_link *links[MAX_LINKS];
static int nlinks;

/* one uprobe on the instruction at link-time address vaddr of t */
static int attach_site(struct bpf_program *prog, const struct py_target *t, int pid,
		       uint64_t vaddr, uint64_t cookie, const char *what)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = cookie);
	struct bpf_link *l;
	uint64_t off;

	if (nlinks == MAX_LINKS) {
		fprintf(stderr, "leaktrace: too many probes (at most %d)\n", MAX_LINKS);
		return -1;
	}
	if (elf_vaddr_to_offset(t->path, vaddr, &off)) {
		fprintf(stderr, "leaktrace: %s 0x%llx is outside %s\n", what,
			(unsigned long long)vaddr, t->shown);
		return -1;
	}
	l = bpf_program__attach_uprobe_opts(prog, pid, t->path, off, &o);
	if (!l) {
		fprintf(stderr, "leaktrace: cannot attach to the %s 0x%llx in %s: %s\n", what,
			(unsigned long long)vaddr, t->shown, strerror(errno));
		return -1;
	}
	links[nlinks++] = l;
	if (env.verbose)
		fprintf(stderr, "leaktrace: %s 0x%llx (file offset 0x%llx, cookie 0x%llx)\n", what,
			(unsigned long long)vaddr, (unsigned long long)off, (unsigned long long)cookie);
	return 0;
}

/*
 * Returns (the USDT note, or the return sites) and the RESUME sites of
 * build bi: ret, ret_site and resume are the programs to attach.
 */
static struct bpf_program *evf_entry, *evf_return;	/* 3.8-3.10 programs */

static int attach_probes(struct bpf_program *ret, struct bpf_program *ret_site,
			 struct bpf_program *resume, const struct py_target *t, int pid, uint64_t bi)
{
	LIBBPF_OPTS(bpf_uprobe_opts, ropts, .ref_ctr_offset = t->ret_note.sema_off,
		    .bpf_cookie = bi << 56 | t->ret_note.loc);
	struct bpf_link *l;

	if (t->use_evalframe) {
		const struct py_site *e = &t->build->evalframe;
		LIBBPF_OPTS(bpf_uprobe_opts, ro, .retprobe = true, .bpf_cookie = bi << 56);
		uint64_t off;

		if (!evf_entry || !evf_return) {
			fprintf(stderr, "leaktrace: --floor does not cover CPython 3.8-3.10\n");
			return -1;
		}
		if (attach_site(evf_entry, t, pid, e->vaddr, bi << 56 | e->vaddr << 8 | e->frame_reg,
				"_PyEval_EvalFrameDefault entry"))
			return -1;
		if (elf_vaddr_to_offset(t->path, e->vaddr, &off))
			return -1;
		l = bpf_program__attach_uprobe_opts(evf_return, pid, t->path, off, &ro);
		if (!l) {
			fprintf(stderr, "leaktrace: cannot attach a uretprobe to _PyEval_EvalFrameDefault in "
					"%s: %s\n", t->shown, strerror(errno));
			return -1;
		}
		links[nlinks++] = l;
		return 0;
	}
	for (int i = 0; t->use_sites && i < t->build->nret; i++) {
		const struct py_ret_site *rs = &t->build->ret[i];

		if (attach_site(ret_site, t, pid, rs->vaddr,
				bi << 56 | rs->vaddr << 16 | (uint64_t)rs->aux_reg << 12 |
				(uint64_t)rs->kind << 8 | rs->frame_reg, "return site"))
			return -1;
	}
	if (!t->use_sites) {
		l = bpf_program__attach_uprobe_opts(ret, pid, t->path, t->ret_note.loc_off, &ropts);
		if (!l) {
			fprintf(stderr, "leaktrace: cannot attach to python:function__return in %s: %s\n",
				t->shown, strerror(errno));
			return -1;
		}
		links[nlinks++] = l;
		if (env.verbose)
			fprintf(stderr, "leaktrace: function__return at 0x%llx (file offset 0x%llx, "
					"semaphore 0x%llx)\n", (unsigned long long)t->ret_note.loc,
				(unsigned long long)t->ret_note.loc_off,
				(unsigned long long)t->ret_note.sema_off);
	}
	for (int i = 0; resume && i < t->build->nresume; i++) {
		const struct py_site *s = &t->build->resume[i];

		if (attach_site(resume, t, pid, s->vaddr,
				bi << 56 | s->vaddr << 16 | s->instr_reg << 8 | s->frame_reg, "RESUME site"))
			return -1;
	}
	return 0;
}

static void detach_probes(void)
{
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
}

static int attach(struct leaktrace_bpf *skel, const struct py_target *t, int nt, int pid)
{
	evf_entry = skel->progs.lt_evf_entry;
	evf_return = skel->progs.lt_evf_return;
	for (int i = 0; i < nt; i++)
		if (attach_probes(skel->progs.lt_return, skel->progs.lt_return_site,
				  env.no_durations ? NULL : skel->progs.lt_resume, &t[i], pid, i))
			return -1;
	skel->links.lt_exec = bpf_program__attach(skel->progs.lt_exec);
	skel->links.lt_exit = bpf_program__attach(skel->progs.lt_exit);
	if (!skel->links.lt_exit) {
		fprintf(stderr, "leaktrace: cannot attach to sched_process_exit: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------- -a: builds met later */

/* a process that called execve: looked at now and, for a python that maps
 * its libpython only after the dynamic loader ran, again a little later */
struct pending_exec {
	int pid, tries;
	uint64_t due;
};

static struct {
	struct leaktrace_bpf *skel;
	struct py_target *targets;
	int *ntargets;
	struct pending_exec q[64];
	int nq;
} late;

static uint64_t mono_ns(void);

static void late_exec(int pid)
{
	if (late.nq < (int)(sizeof(late.q) / sizeof(late.q[0])))
		late.q[late.nq++] = (struct pending_exec){ pid, 0, mono_ns() + 20000000ull };
}

static void late_poll(void)
{
	uint64_t now = mono_ns();

	for (int i = 0; i < late.nq; i++) {
		struct pending_exec *p = &late.q[i];
		int n = *late.ntargets, r;

		if (p->due > now)
			continue;
		r = n < LT_MAX_BUILDS ? py_target_new_build(late.targets, n, p->pid, env.verbose) : 0;
		if (r > 0) {
			set_build_addrs(late.skel, &late.targets[n], n);
			if (attach_probes(late.skel->progs.lt_return, late.skel->progs.lt_return_site,
					  late.skel->progs.lt_resume, &late.targets[n], -1, n) == 0) {
				*late.ntargets = n + 1;
				fprintf(stderr, "leaktrace: now also tracing python %s at %s (pid %d)\n",
					late.targets[n].version, late.targets[n].shown, p->pid);
			}
		}
		/* not a python (yet): the loader may map libpython soon */
		if (r < 0 && ++p->tries < 3) {
			p->due = now + 50000000ull;
			continue;
		}
		late.q[i--] = late.q[--late.nq];
	}
}

/* ------------------------------------------------------------- commands */

static bool process_alive(int pid, bool is_child);
static uint64_t mono_ns(void);

/* --floor: the probes with empty programs until the target ends */
static int run_floor(const struct py_target *t, int pid, bool is_child, int release_fd)
{
	struct floor_bpf *skel = floor_bpf__open_and_load();
	int err = LT_EXIT_FAIL, status;
	uint64_t t0 = mono_ns();

	if (!skel) {
		fprintf(stderr, "leaktrace: cannot load the floor programs: %s\n", strerror(errno));
		return err;
	}
	if (attach_probes(skel->progs.floor_return, skel->progs.floor_return,
			  env.no_durations ? NULL : skel->progs.floor_resume, t, pid, 0))
		goto out;
	if (release_fd >= 0 && write(release_fd, "g", 1) != 1)
		goto out;
	while (!exiting && process_alive(pid, is_child)) {
		usleep(20000);
		if (env.duration && mono_ns() - t0 >= env.duration * 1e9)
			break;
	}
	err = 0;
out:
	if (release_fd >= 0)
		close(release_fd);
	if (is_child)
		waitpid(pid, &status, 0);
	detach_probes();
	floor_bpf__destroy(skel);
	return err;
}

/* start CMD stopped at a pipe; returns its pid, or -1 */
/* whether a running process was started with CPython's perf trampoline
 * (-X perf or PYTHONPERFSUPPORT=1 set) */
static bool has_perf_trampoline(int pid)
{
	char path[64], buf[65536];
	size_t n;
	FILE *f;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	if ((f = fopen(path, "re"))) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
			if (!strncmp(buf + i, "PYTHONPERFSUPPORT=", 18) && buf[i + 18] && buf[i + 18] != '0')
				yes = true;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if ((f = fopen(path, "re"))) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		for (size_t i = 0; i + 1 < n; i += strlen(buf + i) + 1)
			if (!strcmp(buf + i, "-X") && !strcmp(buf + i + strlen(buf + i) + 1, "perf"))
				yes = true;
	}
	return yes;
}

/* 3.12+ inline Python-to-Python calls unless an eval-frame hook is set;
 * CPython's perf trampoline is one, so a command we start gets it */
static bool perf_trampoline;

static pid_t spawn_waiting(char **cmd, int *release_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char c;
		const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");

		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		/* run the command as the user who invoked sudo, as perf does */
		if (gid && setgid(atoi(gid)))
			_exit(126);
		if (uid && setuid(atoi(uid)))
			_exit(126);
		if (perf_trampoline)
			setenv("PYTHONPERFSUPPORT", "1", 1);
		execvp(cmd[0], cmd);
		fprintf(stderr, "leaktrace: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*release_fd = p[1];
	return pid;
}

static int python_for_command(char **cmd, char *out, size_t n)
{
	char path[PATH_MAX], line[PATH_MAX];
	FILE *f;

	if (resolve_command(cmd[0], path, sizeof(path))) {
		fprintf(stderr, "leaktrace: command not found: %s\n", cmd[0]);
		return -1;
	}
	f = fopen(path, "re");
	if (f && fgets(line, sizeof(line), f) && !strncmp(line, "#!", 2)) {
		char *interp = line + 2, *arg;

		while (*interp == ' ')
			interp++;
		interp[strcspn(interp, " \t\n")] = 0;
		arg = interp + strlen(interp) + 1;
		if (!strcmp(interp, "/usr/bin/env")) {
			while (*arg == ' ')
				arg++;
			arg[strcspn(arg, " \t\n")] = 0;
			interp = arg;
		}
		fclose(f);
		if (resolve_command(interp, path, sizeof(path))) {
			fprintf(stderr, "leaktrace: interpreter of %s not found: %s\n", cmd[0], interp);
			return -1;
		}
	} else if (f) {
		fclose(f);
	}
	snprintf(out, n, "%s", path);
	return 0;
}

/* the ELF file holding the interpreter of an executable: itself, or the
 * libpython it links (pyenv and --enable-shared builds) */
static int python_file_for(struct py_target *t, const char *exe)
{
	char lib[PATH_MAX], bid[80];

	if (elf_usdt_count(exe, "python") <= 0 &&
	    (elf_build_id(exe, bid, sizeof(bid)) || !py_build_find(bid)) &&
	    !elf_needed_libpython(exe, lib, sizeof(lib))) {
		if (env.verbose)
			fprintf(stderr, "leaktrace: %s runs its interpreter from %s\n", exe, lib);
		return py_target_from_file(t, lib, lib);
	}
	return py_target_from_file(t, exe, exe);
}

static void iso_now(char *buf, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int read_cmdline(int pid, char *buf, size_t n, const char **argv, int maxargs)
{
	char path[64];
	FILE *f;
	size_t len;
	int argc = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	len = fread(buf, 1, n - 1, f);
	fclose(f);
	buf[len] = 0;
	for (size_t i = 0; i < len && argc < maxargs; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	return argc;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool process_alive(int pid, bool is_child)
{
	/* a reaped child is gone; a zombie child is gone too */
	if (is_child) {
		int status;

		return waitpid(pid, &status, WNOHANG) == 0;
	}
	return kill(pid, 0) == 0 || errno == EPERM;
}

int cmd_record(int argc, char **argv)
{
	struct leaktrace_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	static struct py_target targets[LT_MAX_BUILDS];
	struct py_target *tgt = targets;
	int ntargets = 1;
	struct consumer cons = { 0 };
	struct out out = { 0 };
	struct rb_config cfg = { 0 };
	struct lt_header hdr = { .format = 1, .tool = "leaktrace" };
	struct lt_stats stats = { 0 }, rotated = { 0 };
	char start[32], cmdbuf[8192], pybin[PATH_MAX];
	uint8_t hkey[16];
	const char *targv[64];
	int err = LT_EXIT_FAIL, release_fd = -1, child_status = 0;
	pid_t pid;
	bool is_child = false, live_view;
	uint64_t t0 = 0, last_live = 0, last_alive = 0;
	bool header_written = false, created_output = false, old_failed = false;
	struct frame_list old_frames = { 0 };

	if (parse_args(argc, argv))
		return LT_EXIT_USAGE;
	/* from the start: a Ctrl-C while loading still ends cleanly */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0) {
		fprintf(stderr, "leaktrace: recording needs root (BPF and uprobes need CAP_BPF and "
				"CAP_PERFMON); run it with sudo\n");
		return LT_EXIT_USAGE;
	}
	libbpf_set_print(libbpf_print);

	if (env.cmd) {
		if (env.python)
			snprintf(pybin, sizeof(pybin), "%s", env.python);
		else if (python_for_command(env.cmd, pybin, sizeof(pybin)))
			return LT_EXIT_USAGE;
		err = python_file_for(tgt, pybin);
		if (err)
			return err;
	} else if (env.all) {
		ntargets = py_targets_system(targets, LT_MAX_BUILDS, env.verbose);
		if (!ntargets) {
			fprintf(stderr, "leaktrace: no supported CPython on this system (run with -v to "
					"see why each candidate was left out)\n");
			return LT_EXIT_USAGE;
		}
	} else {
		err = py_target_from_pid(tgt, env.pid, env.python);
		if (!err)
			err = py_target_live_check(tgt, env.pid, env.verbose);
		if (err)
			return err;
	}
	if (env.no_durations && tgt->use_evalframe) {
		fprintf(stderr, "leaktrace: --no-durations needs the USDT or probe-site mechanism; python %s "
				"is traced through _PyEval_EvalFrameDefault, whose return probe needs its "
				"entry probe\n", tgt->version);
		return LT_EXIT_USAGE;
	}
	if (tgt->use_evalframe && py_minor(tgt->build->version) >= 12) {
		/* "3.12", "3.13": calls are inlined without the trampoline */
		if (env.cmd) {
			perf_trampoline = true;
		} else if (env.pid && !has_perf_trampoline(env.pid)) {
			fprintf(stderr, "leaktrace: python %s (pid %d) runs Python-to-Python calls inline, "
					"where no probe sees them; start it with -X perf or "
					"PYTHONPERFSUPPORT=1 (or use record -- CMD, which does)\n",
				tgt->version, env.pid);
			return LT_EXIT_USAGE;
		}
	}
	err = LT_EXIT_FAIL;
	if (env.verbose)
		for (int i = 0; i < ntargets; i++)
			fprintf(stderr, "leaktrace: python %s at %s, build-id %s (offsets from %s)\n",
				targets[i].version, targets[i].shown, targets[i].build_id,
				targets[i].build->source);

	if (env.floor) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		if (env.all) {
			fprintf(stderr, "leaktrace: --floor needs -p or a command\n");
			return LT_EXIT_USAGE;
		}
		if (!env.cmd)
			return run_floor(tgt, env.pid, false, -1);
		pid = spawn_waiting(env.cmd, &release_fd);
		if (pid < 0)
			return LT_EXIT_FAIL;
		return run_floor(tgt, pid, true, release_fd);
	}

	if (env.hash_values) {
		if (lt_hash_key_load(env.hash_key, hkey))
			return LT_EXIT_USAGE;
		if (!env.hash_key)
			fprintf(stderr, "leaktrace: --hash-values with a random key: values compare equal "
					"only within this trace (use --hash-key FILE across recordings)\n");
	}

	if (env.rules) {
		out.rules = lt_rules_load(env.rules);
		if (!out.rules)
			return LT_EXIT_USAGE;
		out.alerts = env.output && !strcmp(env.output, "-") ? stderr : stdout;
		if (env.alert_exec)
			signal(SIGCHLD, SIG_IGN);
	}

	/* open the output before anything runs, so a bad path costs nothing */
	if (env.output) {
		const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
		struct stat st;
		bool existed = !stat(env.output, &st);

		out.w = lt_writer_open(env.output);
		if (!out.w)
			return LT_EXIT_USAGE;
		created_output = !existed && strcmp(env.output, "-");
		/* under sudo a trace file we created belongs to the invoking user,
		 * as with perf (never /dev/null or another existing file) */
		if (strcmp(env.output, "-") && uid && gid && !existed &&
		    !stat(env.output, &st) && S_ISREG(st.st_mode) &&
		    chown(env.output, atoi(uid), atoi(gid)) && env.verbose)
			fprintf(stderr, "leaktrace: cannot give %s to uid %s: %s\n", env.output, uid,
				strerror(errno));
	}
	live_view = !env.root && !env.output && !env.rules;
	out.human = !env.output && !live_view;

	skel = leaktrace_bpf__open();
	if (!skel) {
		fprintf(stderr, "leaktrace: cannot open the BPF object: %s\n", strerror(errno));
		goto cleanup;
	}
	if (set_layout(skel, tgt)) {
		err = LT_EXIT_USAGE;
		goto cleanup;
	}
	for (int i = 0; i < ntargets; i++)
		set_build_addrs(skel, &targets[i], i);
	*(volatile __u32 *)&skel->rodata->watch_exec = env.all;
	if (env.no_durations) {
		*(volatile __u32 *)&skel->rodata->ret_only = 1;
		if (env.root) {
			strcpy((char *)skel->rodata->root_name, env.root);
			*(volatile __u32 *)&skel->rodata->root_len = strlen(env.root);
			*(volatile __u32 *)&skel->rodata->root_dotted = !!strchr(env.root, '.');
		}
	}
	if (env.comm)
		strncpy((char *)skel->rodata->comm_filter, env.comm, sizeof(skel->rodata->comm_filter) - 1);
	bpf_map__set_max_entries(skel->maps.events, (uint32_t)env.ringbuf_mb << 20);

	if (env.cmd) {
		pid = spawn_waiting(env.cmd, &release_fd);
		if (pid < 0) {
			fprintf(stderr, "leaktrace: cannot start %s: %s\n", env.cmd[0], strerror(errno));
			goto cleanup;
		}
		is_child = true;
	} else {
		pid = env.pid;
	}
	*(volatile __u32 *)&skel->rodata->targ_tgid = pid;
	out.nspid = ns_id(pid, pid);
	out.in_pidns = out.nspid != 0;
	*(volatile __u32 *)&skel->rodata->pidns = out.in_pidns;
	if (leaktrace_bpf__load(skel)) {
		fprintf(stderr, "leaktrace: cannot load the BPF programs: %s (run with -v for the "
				"verifier log)\n", strerror(errno));
		goto cleanup;
	}
	if (exiting) {		/* Ctrl-C while loading: nothing recorded, no error */
		err = 0;
		goto cleanup;
	}
	if (attach(skel, targets, ntargets, env.all ? -1 : pid))
		goto cleanup;
	/* --no-durations -p: the frames live at attach, read before and after
	 * arming, began before it (nothing is in flight in a command we start) */
	if (env.no_durations && !is_child && py_target_live_frames(tgt, pid, add_old_frame, &old_frames))
		old_failed = true;
	skel->bss->armed = 1;
	if (env.no_durations && !is_child) {
		if (py_target_live_frames(tgt, pid, add_old_frame, &old_frames))
			old_failed = true;
		cfg.complete_after_ns = mono_ns();
		old_failed |= old_frames.failed;
		if (old_failed)
			fprintf(stderr, "leaktrace: cannot read the frames of pid %d that run at attach: the "
					"first execution of each thread is marked incomplete\n", pid);
	}
	late.skel = skel;
	late.targets = targets;
	late.ntargets = &ntargets;

	cfg.root_fn = env.root;
	cfg.max_depth = env.max_depth;
	cfg.exclude = env.exclude;
	cfg.str_len = env.str_len;
	cfg.pid = pid;
	if (out.in_pidns && env.verbose)
		fprintf(stderr, "leaktrace: pid %d is pid %d in its own pid namespace\n", pid, out.nspid);
	cfg.hash_key = env.hash_values ? hkey : NULL;
	cfg.returns_only = env.no_durations;
	cfg.resolve_code = resolve_code;
	cfg.resolve_arg = tgt;
	cfg.first_exec_incomplete = old_failed;
	cons.pid = pid;
	cons.out = &out;
	cons.str_len = env.str_len;
	if (!live_view) {
		cons.rb = rb_new(&cfg, on_exec, &out);
		if (!cons.rb)
			goto cleanup;
		for (size_t i = 0; i < old_frames.n; i++)
			rb_old_frame(cons.rb, old_frames.v[i][0], old_frames.v[i][1]);
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_event, &cons, NULL);
	if (!rb) {
		fprintf(stderr, "leaktrace: cannot create the ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, on_sighup);

	iso_now(start, sizeof(start));
	hdr.python = tgt->version;
	hdr.pid = pid;
	hdr.root = env.root;
	hdr.start = start;
	hdr.mechanism = tgt->use_evalframe ? "evalframe-uprobes" :
			env.no_durations ? (tgt->use_sites ? "return-sites" : "usdt-returns") :
			tgt->use_sites ? "resume+return-sites" : "usdt+resume";
	if (is_child) {
		hdr.argv = (const char **)env.cmd;
		for (hdr.argc = 0; env.cmd[hdr.argc]; hdr.argc++)
			;
	} else {
		hdr.argc = read_cmdline(pid, cmdbuf, sizeof(cmdbuf), targv, 64);
		hdr.argv = targv;
	}
	if (out.w && lt_writer_header(out.w, &hdr)) {
		out.write_failed = true;
		goto finish;
	}
	header_written = true;
	if (release_fd >= 0) {
		if (write(release_fd, "g", 1) != 1)
			fprintf(stderr, "leaktrace: cannot start the command\n");
		close(release_fd);
		release_fd = -1;
	}
	if (env.all)
		fprintf(stderr, "leaktrace: tracing %d CPython build%s system-wide; Ctrl-C to stop\n",
			ntargets, ntargets > 1 ? "s" : "");
	else if (!is_child)
		fprintf(stderr, "leaktrace: tracing pid %d (python %s); Ctrl-C to stop\n", pid,
			tgt->version);

	t0 = last_live = mono_ns();
	while (!exiting) {
		/* records are submitted without wakeups (BPF_RB_NO_WAKEUP): the
		 * poll only waits 20 ms, then we consume what is there */
		int n;
		uint64_t now;

		cons.batch = 0;
		n = ring_buffer__poll(rb, 20);
		if (n >= 0) {
			cons.batch = 0;
			n = ring_buffer__consume(rb);
		}
		if (n == LT_BREAK)
			n = 0;
		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "leaktrace: reading the ring buffer failed: %s\n", strerror(-n));
			break;
		}
		now = mono_ns();
		if (env.all)
			late_poll();
		if (reopen) {
			/* log rotation: finish this file (trailer with its own
			 * counts), then the same path anew with a header */
			reopen = 0;
			if (out.w && strcmp(env.output, "-")) {
				struct lt_stats st;

				stats_now(&st, cons.rb, cons.lost, skel->bss->read_failures, &rotated);
				if (lt_writer_stats(out.w, &st) || lt_writer_close(out.w)) {
					fprintf(stderr, "leaktrace: finishing %s failed\n", env.output);
					out.write_failed = true;
				}
				stats_now(&rotated, cons.rb, cons.lost, skel->bss->read_failures, NULL);
				out.w = lt_writer_open(env.output);
				if (!out.w || lt_writer_header(out.w, &hdr)) {
					fprintf(stderr, "leaktrace: cannot reopen %s after SIGHUP\n", env.output);
					out.write_failed = true;
					break;
				}
				if (env.verbose)
					fprintf(stderr, "leaktrace: SIGHUP: reopened %s\n", env.output);
			}
		}
		if (live_view && now - last_live >= 1000000000ull) {
			live_print(&cons, (now - last_live) / 1e9);
			last_live = now;
		}
		if (env.duration && now - t0 >= env.duration * 1e9)
			break;
		/* the exit record of the main thread ends the recording; asking
		 * the kernel (wait4 is slow while the child takes uprobe hits)
		 * only twice a second covers a lost exit record */
		if (!env.all && (cons.target_exited ||
				 (now - last_alive >= 500000000ull && (last_alive = now) &&
				  !process_alive(pid, is_child)))) {
			if (is_child && cons.target_exited)
				waitpid(pid, &child_status, 0);
			else if (is_child)
				child_status = 0;
			break;
		}
	}
finish:
	/* stop the probes first, so that what is left in the buffer is
	 * finite, then drain it and write the open executions */
	skel->bss->armed = 0;	/* returns and starts stop at the same moment */
	detach_probes();
	bpf_link__destroy(skel->links.lt_exec);
	skel->links.lt_exec = NULL;
	cons.draining = true;
	if (rb)
		ring_buffer__consume(rb);
	bpf_link__destroy(skel->links.lt_exit);
	skel->links.lt_exit = NULL;
	if (skel->bss->drops != cons.last_drops) {
		cons.lost += skel->bss->drops - cons.last_drops;
		if (cons.rb)
			rb_loss(cons.rb);
	}
	if (cons.rb)
		rb_finish(cons.rb, mono_ns());
	if (live_view)
		live_print(&cons, (mono_ns() - last_live) / 1e9);
	stats_now(&stats, cons.rb, cons.lost, skel->bss->read_failures, &rotated);
	if (out.w && !out.write_failed && lt_writer_stats(out.w, &stats))
		out.write_failed = true;
	err = 0;
	if (out.w) {
		if (lt_writer_close(out.w) || out.write_failed) {
			fprintf(stderr, "leaktrace: writing %s failed; the trace is incomplete\n", env.output);
			err = LT_EXIT_FAIL;
		}
		out.w = NULL;
	}
	if (cons.lost)
		fprintf(stderr, "leaktrace: WARNING: %llu events lost (ring buffer full); the executions "
				"concerned are marked incomplete; try a larger --ringbuf-mb\n",
			(unsigned long long)cons.lost);
	if (env.verbose || env.output)
		fprintf(stderr, "leaktrace: %llu executions (%llu incomplete), %llu calls, %llu lost events\n",
			(unsigned long long)stats.execs, (unsigned long long)stats.incomplete_execs,
			(unsigned long long)stats.calls, (unsigned long long)stats.lost_events);
	if (!is_child && !env.all && !process_alive(pid, false))
		fprintf(stderr, "leaktrace: target pid %d exited\n", pid);
cleanup:
	if (release_fd >= 0)
		close(release_fd);	/* the child exits without running the command */
	if (is_child && exiting) {
		/* Ctrl-C reaches the child too (same process group); wait for it */
		waitpid(pid, &child_status, 0);
	}
	ring_buffer__free(rb);
	rb_free(cons.rb);
	free(old_frames.v);
	if (out.w) {
		lt_writer_close(out.w);
		/* stopped before recording began: leave no empty file behind */
		if (!header_written && created_output)
			unlink(env.output);
	}
	if (out.rules)
		lt_rules_free(out.rules);
	u64map_free(&out.nstids);
	{
		uint64_t k;
		void *v;

		for (size_t i = 0; u64map_next(&out.procs, &i, &k, &v);)
			free(v);
		u64map_free(&out.procs);
	}
	detach_probes();
	leaktrace_bpf__destroy(skel);
	(void)child_status;
	return err;
}
