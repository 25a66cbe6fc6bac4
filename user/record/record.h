/* SPDX-License-Identifier: MIT */
/*
 * The recorder's parts and what they share (internal to user/record/; the
 * shape of retsnoop's env/attach/logic split):
 *
 *   cli.c      the command line (argp) -> struct record_env `env`
 *   procs.c    processes: the command we start, /proc readers, pid
 *              namespace ids, liveness, -a exec following, the clock
 *   attach.c   the table of probe mechanisms; the skeleton's rodata and
 *              build addresses; attaching and detaching; --floor
 *   consume.c  ring-buffer records -> the call-tree rebuild (rebuild.c)
 *              or the live view; executions -> file, lines, alerts
 *   live.c     the live view (leaktrace -p PID: calls per second)
 *   record.c   cmd_record: parse, find the python, open, set rodata,
 *              load, attach, poll until a signal, one cleanup
 *
 * Per-thread and per-process state of the traced program (open frames,
 * namespaced tids, command lines) lives in rebuild.c alone; the files here
 * keep only their own bookkeeping (the live view: this second's counts). Includes point one way: record/ may
 * include pybuild/, common/, trace/ and analysis/rules.h; nothing outside
 * record/ includes this header.
 */
#ifndef LT_RECORD_H
#define LT_RECORD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "pybuild/target.h"
#include "record/rebuild.h"

#define LT_MAX_EXCLUDE 32

/* ---------------------------------------------------------- cli.c */

struct record_env {
	int pid;		/* -p */
	bool all;		/* -a */
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
	int mechanism;		/* --mechanism: PY_MECH_* */
	bool floor;		/* benchmark: same probes, empty programs */
	bool no_durations;	/* returns only: one probe hit per call */
	bool args;
	bool hash_values;
	const char *rules;
	const char *alert_exec;
	const char *comm;	/* -a: only processes with this comm */
	bool json;		/* -j: JSON lines instead of the human ones */
	const char *hash_key;
	const char *exclude[LT_MAX_EXCLUDE + 1];
	int nexclude;
};

extern struct record_env env;
/* set by SIGINT/SIGTERM (and by a failed write): the main loop ends */
extern volatile sig_atomic_t exiting;

/* fill env from argv; 0, or -1 after one "leaktrace: ..." line */
int record_parse_args(int argc, char **argv);

/* -------------------------------------------------------- procs.c */

uint64_t mono_ns(void);
/* a reaped or zombie child is gone; another process while kill(0) works */
bool process_alive(int pid, bool is_child, int *status);
/* the innermost pid of a host pid/tid (NSpid), 0 when in our namespace */
int32_t ns_id(int pid, int tid);
/* the process runs with CPython's perf trampoline (-X perf, PYTHONPERFSUPPORT) */
bool has_perf_trampoline(int pid);
/* NAME is set, non-empty and not "0" in pid's environment (pid 0: ours,
 * which a command we start inherits) */
bool env_flag_on(int pid, const char *name);
/* start cmd stopped at a pipe: it runs once "g" is written to
 * *release_fd; with perf_trampoline, under PYTHONPERFSUPPORT=1.
 * Returns its pid, or -1. */
pid_t spawn_waiting(char **cmd, bool perf_trampoline, int *release_fd);
/* /proc/PID/cmdline split into argv (pointing into buf); returns argc */
int read_cmdline(int pid, char *buf, size_t n, const char **argv, int maxargs);
/* rb_config.describe_process: command line and (non-root) cgroup */
void proc_describe(void *arg, uint32_t pid, const char **cmdline, const char **cgroup);
/*
 * -a: a process called execve (an LT_REC_EXEC record). It is looked at a
 * little later, and again up to twice while no python is mapped yet (the
 * dynamic loader maps libpython after exec): follow_exec_poll calls
 * try(arg, pid), which returns -1 for "no python mapped yet".
 */
void follow_exec_queue(int pid);
void follow_exec_poll(int (*try)(void *arg, int pid), void *arg);

/* ------------------------------------------------------- attach.c */

struct leaktrace_bpf;
struct lt_mechanism;

/* the mechanism that traces t (one table entry), or NULL after a line
 * saying why none does */
const struct lt_mechanism *mech_choose(const struct py_target *t, bool returns_only);
/* its name, as the trace header's "mechanism" */
const char *mech_name(const struct lt_mechanism *m);
/* its records are RETs alone (rebuild with rb_config.returns_only) */
bool mech_returns_only(const struct lt_mechanism *m);
/*
 * Before load: the skeleton's rodata from env, and for each build
 * targets[i], i < n, its layout (for its mechanism m[i]) and addresses.
 * -1 after a line if the BPF side cannot read a layout.
 */
int attach_configure(struct leaktrace_bpf *skel, const struct lt_mechanism *const *m,
		     const struct py_target *targets, int n, int tgid, bool in_pidns);
/* after load: the probes of mechanism m[i] on targets[i], i < n (pid -1:
 * every process), and the exec/exit tracepoints; 0 or -1 after a line */
int attach_all(struct leaktrace_bpf *skel, const struct lt_mechanism *const *m,
	       const struct py_target *targets, int n, int pid);
/* -a: build n found after load (its layout, addresses and probes); 0 or -1 */
int attach_build(struct leaktrace_bpf *skel, const struct lt_mechanism *m,
		 const struct py_target *t, int n);
/* remove every probe (the tracepoints stay with the skeleton) */
void detach_probes(void);
/* --floor: the mechanism's probes with empty programs until the target
 * ends; release_fd (>= 0) starts a command we spawned. Exit status. */
int run_floor(const struct lt_mechanism *m, const struct py_target *t, int pid, bool is_child,
	      int release_fd);

/* ------------------------------------------------------ consume.c */

struct lt_writer;
struct lt_rules;
struct live_view;

/* where finished executions go */
struct out {
	struct lt_writer *w;
	struct lt_rules *rules;
	FILE *alerts;		/* where ALERT lines go */
	uint64_t nalerts;
	int64_t next_id;
	bool write_failed;
	bool human;		/* one line per execution on stdout */
};

struct consumer {
	struct rb_state *rb;	/* NULL in live-view mode */
	struct live_view *live;	/* NULL unless live-view mode */
	uint32_t batch;		/* records handled in this call */
	bool draining;		/* final drain: no batch limit */
	uint64_t last_drops;
	uint64_t lost;
	uint64_t records;	/* frame starts and exits: 0 means no probe fired */
	bool target_exited;
	int pid;
};

/* records handled per ring_buffer__poll/consume call at most: libbpf 1.1
 * keeps consuming while new data arrives, so a target that produces as
 * fast as we consume would never give the main loop back */
#define LT_BATCH	65536
#define LT_BREAK	(-ECANCELED)

/* ring_buffer_sample_fn: ctx is a struct consumer */
int consume_record(void *ctx, void *data, size_t size);
/* rb_emit_fn: arg is a struct out; numbers, tags, matches, writes, prints */
void consume_exec(struct lt_exec *e, void *arg);
/* rb_config.resolve_code: arg is the struct py_target */
void consume_resolve_code(void *arg, struct rb_state *rb, uint32_t tgid, uint64_t code);
/* the trailer's counts since `base` (the last rotation; NULL: all) */
void consume_stats(struct lt_stats *st, const struct consumer *c, uint64_t read_failures,
		   const struct lt_stats *base);

/* --------------------------------------------------------- live.c */

struct live_view *live_new(void);
void live_free(struct live_view *v);
/* a CODE record: the name of a code object */
void live_name(struct live_view *v, uint64_t code, const char *name);
/* a RET record: one call of code by tid */
void live_count(struct live_view *v, uint32_t tid, uint64_t code);
/* one line per thread (calls per second, top 3) for the last secs; resets */
void live_print(struct live_view *v, double secs, bool json);

#endif
