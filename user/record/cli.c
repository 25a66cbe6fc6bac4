/* SPDX-License-Identifier: MIT */
/*
 * leaktrace record's command line, with glibc's argp (as libbpf-tools
 * do): the options table below generates --help and --usage; every value
 * is checked here, once, with one "leaktrace: ..." line and exit status 2
 * (FORMAT.md §7) when it is bad.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "common/err.h"
#include "leaktrace.h"
#include <sys/socket.h>
#include "record/metrics.h"
#include "record/record.h"
#include "record/roots.h"

struct record_env env = { .str_len = 64, .ringbuf_mb = 4, .mechanism = PY_MECH_AUTO };

enum {
	OPT_ROOT = 256, OPT_PYTHON, OPT_DURATION, OPT_MAX_DEPTH, OPT_STR_LEN, OPT_NO_VALUES,
	OPT_EXCLUDE, OPT_RINGBUF, OPT_FLOOR, OPT_NO_DURATIONS, OPT_ARGS, OPT_HASH, OPT_HASH_KEY,
	OPT_RULES, OPT_ALERT_EXEC, OPT_MECHANISM, OPT_COMM, OPT_ALERT_JSON, OPT_METRICS,
	OPT_NO_FOLLOW, OPT_WHERE,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Target (exactly one):", 1 },
	{ "pid", 'p', "PID", 0, "attach to a running process", 1 },
	{ "all", 'a', NULL, 0, "every process of every supported CPython build, also those "
			       "started later", 1 },
	{ "comm", OPT_COMM, "NAME", 0, "with -a: only processes whose comm is NAME", 1 },
	{ "python", OPT_PYTHON, "PATH", 0, "the python binary or libpython to attach to", 1 },
	{ "no-follow", OPT_NO_FOLLOW, NULL, 0, "trace the process alone, not the processes it "
					       "starts (default: its descendants too)", 1 },

	{ NULL, 0, NULL, 0, "What is recorded:", 2 },
	{ "root", OPT_ROOT, "FUNC", 0, "each outermost call of FUNC is one execution "
				       "(default: one execution per thread)", 2 },
	{ "max-depth", OPT_MAX_DEPTH, "N", 0, "record at most N levels below the root", 2 },
	{ "str-len", OPT_STR_LEN, "N", 0, "keep at most N bytes of str values (default 64, "
					  "max 256)", 2 },
	{ "no-values", OPT_NO_VALUES, NULL, 0, "record return types only", 2 },
	{ "no-durations", OPT_NO_DURATIONS, NULL, 0, "probe returns only (one probe hit per "
		"call instead of two): the same trees and values, no dur_ns", 2 },
	{ "args", OPT_ARGS, NULL, 0, "also record positional argument values (first 8)", 2 },
	{ "hash-values", OPT_HASH, NULL, 0, "write a keyed hash \"h:<hex>\" instead of each "
					    "value", 2 },
	{ "hash-key", OPT_HASH_KEY, "FILE", 0, "the 16-byte key (created if missing); without "
		"it a random key: values compare only within one trace", 2 },
	{ "exclude-path", OPT_EXCLUDE, "GLOB", 0, "leave out calls whose file matches "
						  "(counted only)", 2 },
	{ "duration", OPT_DURATION, "SEC", 0, "stop after SEC seconds", 2 },

	{ NULL, 0, NULL, 0, "Output:", 3 },
	{ "output", 'o', "FILE", 0, "trace file (JSON Lines; .gz = gzip; - = stdout)", 3 },
	{ "json", 'j', NULL, 0, "the per-execution and live lines as JSON", 3 },
	{ "where", OPT_WHERE, NULL, 0, "live view: file:line after each function name", 3 },
	{ "rules", OPT_RULES, "FILE", 0, "live detection: an ALERT line for each execution "
		"that matches a rule (rules from analyze --rules-out)", 3 },
	{ "alert-exec", OPT_ALERT_EXEC, "CMD", 0, "also run CMD (sh -c) per alert, the line in "
		"$LEAKTRACE_ALERT (from a queue of 64: alerts that find it full are dropped and "
		"counted)", 3 },
	{ "alert-json", OPT_ALERT_JSON, "FILE", 0, "also write each alert as one JSON object per "
		"line to FILE (appended; - = stdout, instead of the ALERT lines)", 3 },
	{ "metrics", OPT_METRICS, "ADDR:PORT", 0, "serve Prometheus metrics at "
		"http://ADDR:PORT/metrics (only that numeric address; port 0: any free one)", 3 },
	{ "verbose", 'v', NULL, 0, "libbpf and attach diagnostics on stderr", 3 },

	{ NULL, 0, NULL, 0, "Probes:", 4 },
	{ "mechanism", OPT_MECHANISM, "M", 0, "auto (default: sites where found, else usdt), usdt "
		"(3.11's function__return note), sites (probe sites in the interpreter loop) or evalframe "
		"(3.8-3.10; 3.12 with the perf trampoline)", 4 },
	{ "ringbuf-mb", OPT_RINGBUF, "N", 0, "ring buffer size in MiB (default 4, power of 2)", 4 },
	{ "floor", OPT_FLOOR, NULL, 0, "benchmark: attach the same probes with empty programs "
				       "and record nothing", 4 },
	{ 0 },
};

static const char doc[] =
	"Record every Python call of a CPython process from outside (eBPF on its USDT probes) "
	"and rebuild the nested call trees."
	"\v`leaktrace -p PID [OPTION...]' is the same as `leaktrace record -p PID [OPTION...]'.";

static const char args_doc[] = "-p PID\n-a\n-- CMD [ARGS...]";

static int parse_int(const char *s, const char *what, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || *end || end == s || *out < lo || *out > hi) {
		lt_err("%s must be a whole number from %ld to %ld, not '%s'", what, lo, hi, s);
		return -1;
	}
	return 0;
}

/* where in argv the command after -- starts (0: none) */
static int cmd_index;

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	long v;

	switch (key) {
	case 'p':
		if (parse_int(arg, "-p", 1, INT_MAX, &v))
			return EINVAL;
		env.pid = v;
		break;
	case 'a':
		env.all = true;
		break;
	case 'o':
		env.output = arg;
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'j':
		env.json = true;
		break;
	case OPT_ROOT:
		env.root = arg;
		break;
	case OPT_PYTHON:
		env.python = arg;
		break;
	case OPT_DURATION: {
		char *end;

		env.duration = strtod(arg, &end);
		if (*end || end == arg || env.duration <= 0) {
			lt_err("--duration must be a positive number of seconds");
			return EINVAL;
		}
		break;
	}
	case OPT_MAX_DEPTH:
		if (parse_int(arg, "--max-depth", 1, 1000000, &v))
			return EINVAL;
		env.max_depth = v;
		break;
	case OPT_STR_LEN:
		if (parse_int(arg, "--str-len", 0, 256, &v))
			return EINVAL;
		env.str_len = v;
		break;
	case OPT_NO_VALUES:
		env.no_values = true;
		break;
	case OPT_EXCLUDE:
		if (env.nexclude == LT_MAX_EXCLUDE) {
			lt_err("at most %d --exclude-path", LT_MAX_EXCLUDE);
			return EINVAL;
		}
		env.exclude[env.nexclude++] = arg;
		break;
	case OPT_RINGBUF:
		if (parse_int(arg, "--ringbuf-mb", 1, 2048, &v))
			return EINVAL;
		if (v & (v - 1)) {
			lt_err("--ringbuf-mb must be a power of 2");
			return EINVAL;
		}
		env.ringbuf_mb = v;
		break;
	case OPT_COMM:
		env.comm = arg;
		break;
	case OPT_MECHANISM:
		if (!strcmp(arg, "auto"))
			env.mechanism = PY_MECH_AUTO;
		else if (!strcmp(arg, "usdt"))
			env.mechanism = PY_MECH_USDT;
		else if (!strcmp(arg, "sites"))
			env.mechanism = PY_MECH_SITES;
		else if (!strcmp(arg, "evalframe"))
			env.mechanism = PY_MECH_EVALFRAME;
		else {
			lt_err("--mechanism is auto, usdt, sites or evalframe");
			return EINVAL;
		}
		break;
	case OPT_RULES:
		env.rules = arg;
		break;
	case OPT_ALERT_EXEC:
		env.alert_exec = arg;
		break;
	case OPT_ALERT_JSON:
		env.alert_json = arg;
		break;
	case OPT_METRICS: {
		struct sockaddr_storage ss;
		unsigned len;

		if (metrics_parse_addr(arg, &ss, &len))
			return EINVAL;
		env.metrics = arg;
		break;
	}
	case OPT_HASH:
		env.hash_values = true;
		break;
	case OPT_HASH_KEY:
		env.hash_key = arg;
		break;
	case OPT_ARGS:
		env.args = true;
		break;
	case OPT_FLOOR:
		env.floor = true;
		break;
	case OPT_NO_DURATIONS:
		env.no_durations = true;
		break;
	case OPT_NO_FOLLOW:
		env.no_follow = true;
		break;
	case OPT_WHERE:
		env.where = true;
		break;
	case ARGP_KEY_ARG:
		/* the first word that is no option starts the command: the
		 * rest is its own (ARGP_IN_ORDER keeps argp from taking its
		 * options as ours) */
		cmd_index = state->next - 1;
		state->next = state->argc;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

bool following(void)
{
	return !env.all && !env.no_follow;
}

/* the checks between options, once all are known */
static int check_env(void)
{
	if (!!env.pid + !!env.cmd + env.all != 1) {
		lt_err("give exactly one target: -p PID, -a, or -- CMD");
		fprintf(stderr, "Try 'leaktrace record --help'.\n");
		return -1;
	}
	if (env.root && root_check(env.root))
		return -1;
	if (env.hash_key && !env.hash_values) {
		lt_err("--hash-key goes with --hash-values");
		return -1;
	}
	if ((env.alert_json || env.alert_exec) && !env.rules) {
		lt_err("%s goes with --rules", env.alert_json ? "--alert-json" : "--alert-exec");
		return -1;
	}
	if (env.alert_json && !strcmp(env.alert_json, "-") && env.output && !strcmp(env.output, "-")) {
		lt_err("--alert-json - and -o - would both write to stdout");
		return -1;
	}
	if (env.comm && !env.all) {
		lt_err("--comm goes with -a");
		return -1;
	}
	if (env.floor && env.metrics) {
		lt_err("--floor records nothing: it serves no --metrics");
		return -1;
	}
	if (env.floor && env.all) {
		lt_err("--floor needs -p or a command");
		return -1;
	}
	if (env.no_durations) {
		/* what needs frame starts: argument values are read when a call
		 * starts; the depth of a call is known only when it starts; -a
		 * meets processes whose calls are in flight, which only frame
		 * starts (or a read of each process at attach) tell apart */
		const char *no = env.args ? "--args" : env.max_depth ? "--max-depth" : env.all ? "-a" : NULL;

		if (no) {
			lt_err("--no-durations does not go with %s (it needs the probe on frame "
			       "starts); leave out one of them", no);
			return -1;
		}
		if (env.root && strlen(env.root) >= LT_ROOT_MAX) {
			lt_err("--root is at most %d bytes with --no-durations", LT_ROOT_MAX - 1);
			return -1;
		}
	}
	return 0;
}

int record_parse_args(int argc, char **argv)
{
	static const struct argp argp = { options, parse_opt, args_doc, doc };
	char **av = calloc(argc + 1, sizeof(*av));
	int err;

	if (!av) {
		lt_err("out of memory");
		return -1;
	}
	/* argp names itself after argv[0]: "leaktrace record: ..." in its
	 * own messages, "Try `leaktrace record --help'" */
	memcpy(av, argv, argc * sizeof(*av));
	av[0] = "leaktrace record";
	argp_err_exit_status = LT_EXIT_USAGE;
	err = argp_parse(&argp, argc, av, ARGP_IN_ORDER, NULL, NULL);
	free(av);
	if (err)
		return -1;
	if (cmd_index)
		env.cmd = argv + cmd_index;
	return check_env();
}
