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
 *   alerts.c   --alert-json, the --alert-exec queue and its thread
 *   metrics.c  --metrics: counters and their HTTP server thread
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
	const char *alert_json;	/* --alert-json FILE */
	const char *metrics;	/* --metrics ADDR:PORT */
	const char *comm;	/* -a: only processes with this comm */
	bool no_follow;		/* --no-follow: not the target's descendants */
	bool where;		/* --where: live view names with file:line */
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
/* -p/-- CMD trace the target's descendants too (not -a, --no-follow,
 * --no-durations: a return alone does not tell its process) */
bool following(void);

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
/* NAME's value in pid's environment (pid 0: ours), in buf; NULL if unset */
const char *env_value(int pid, const char *name, char *buf, size_t size);
/* before leaktrace changes any signal or opens anything: what the command
 * it starts inherits (signal mask, ignored signals, passed descriptors) */
void spawn_save_start(void);
/* start cmd stopped at a pipe: it runs once "g" is written to
 * *release_fd; with perf_trampoline, under PYTHONPERFSUPPORT=1.
 * Returns its pid, or -1. */
pid_t spawn_waiting(char **cmd, bool perf_trampoline, int *release_fd);
/* /proc/PID/cmdline split into argv (pointing into buf); returns argc */
int read_cmdline(int pid, char *buf, size_t n, const char **argv, int maxargs);
/* rb_config.describe_process: command line and (non-root) cgroup; the
 * command line as an exec or fork record brought it, else /proc */
void proc_describe(void *arg, uint32_t pid, const char **cmdline, const char **cgroup);
/* an LT_REC_CMDLINE: pid's new command line (n bytes, NUL-separated) */
void proc_cmdline(int pid, const char *buf, size_t n);
/* an LT_REC_FORK: the child has its parent's command line until it execs */
void proc_forked(int child, int parent);
/* pid exited: its command line is no longer needed */
void proc_forget(int pid);
/*
 * -a: a process called execve (an LT_REC_EXEC record). It is looked at a
 * little later, and again for up to a second while no python is mapped yet (the
 * dynamic loader maps libpython after exec): follow_exec_poll calls
 * try(arg, pid), which returns -1 for "no python mapped yet".
 */
void follow_exec_queue(int pid);
void follow_exec_poll(int (*try)(void *arg, int pid), void *arg);
/*
 * Following a process tree (following()): the processes of it alive, as
 * far as fork and exit records and kill(pid, 0) tell. tree_scan adds the
 * descendants of root that run now and are not in the set yet, to it, to
 * the BPF map map_fd (after the fork tracepoint is attached, so that none
 * slips between) and through added(arg, pid); returns how many, or -1.
 */
int tree_scan(int root, int map_fd, void (*added)(void *arg, int pid), void *arg);
void tree_add(int pid);
void tree_gone(int pid);
/* forget the processes that kill(0) says are gone; how many remain */
int tree_check(void);
int tree_count(void);
/* up to max descendants of root (from /proc) for which want is true, into
 * out; how many */
int descendants(int root, bool (*want)(int pid), int *out, int max);
/* /proc/PID/stat read into buf: its fields after the command (in parens,
 * which may hold anything, spaces and parens too); NULL if pid is gone */
char *proc_stat(int pid, char *buf, size_t n);
/* how long ago pid started, in ms (its start time in /proc/PID/stat, in
 * clock ticks); -1 if it is gone or that cannot be read */
long proc_age_ms(int pid);
/* fn for each process of the tree (no tree_add or tree_gone under it) */
void tree_each(void (*fn)(void *arg, int pid), void *arg);

/* ----------------------------------------------------- wrappers.c */

/* cmd is no python but starts one (env, sh -c, a shell script, a #!
 * script): the path of that python in out, 0; -1 when cmd is a python
 * itself or none is named */
int wrapper_python(char **cmd, char *out, size_t n);
/* cmd is env, a shell or a shell script (that may start any python) */
bool is_wrapper(char **cmd);

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
 * every process), and the exec/exit/fork/switch tracepoints; 0 or -1 after
 * a line */
int attach_all(struct leaktrace_bpf *skel, const struct lt_mechanism *const *m,
	       const struct py_target *targets, int n, int pid);
/* -a: build n found after load (its layout, addresses and probes); 0 or -1 */
int attach_build(struct leaktrace_bpf *skel, const struct lt_mechanism *m,
		 const struct py_target *t, int n);
/* remove every probe (the tracepoints stay with the skeleton) */
void detach_probes(void);
/*
 * Following with per-process probes: attach_child_stop makes each new
 * process of the tree stop before its first instruction (an
 * LT_REC_STOPPED record; false: the kernel cannot, the probes must then
 * go on every process, pid -1); attach_process puts the probes of every
 * build on pid (0 or -1 after a line), detach_process removes them.
 */
bool attach_child_stop(struct leaktrace_bpf *skel);
/* every CPU's batch of records sent to the ring buffer (bpf/batch.bpf.h),
 * each by lt_flush run on that CPU; false if a probe then held one (its
 * batch stays) */
bool flush_batches(struct leaktrace_bpf *skel);
int attach_process(struct leaktrace_bpf *skel, const struct lt_mechanism *const *m,
		   const struct py_target *targets, int n, int pid);
void detach_process(int pid);
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
	int root_pid;		/* the target (its descendants: other pids) */
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
	/* following with per-process probes: a FORK, STOPPED or EXIT
	 * (main thread) record of pid; NULL otherwise */
	void (*tree_event)(void *arg, int type, int pid);
	/* a followed process held at an exec (LT_EXEC_HELD): continued by
	 * this (NULL: at once) */
	void (*exec_held)(void *arg, int pid);
	void *tree_arg;
	bool in_pidns;		/* the target lives in another pid namespace */
};

/* records handled per ring_buffer__poll/consume call at most: libbpf 1.1
 * keeps consuming while new data arrives, so a target that produces as
 * fast as we consume would never give the main loop back */
#define LT_BATCH	65536
/* every CPU's batch of records is sent at least this often */
#define LT_FLUSH_MS	200
#define LT_BREAK	(-ECANCELED)

/* ring_buffer_sample_fn: ctx is a struct consumer */
int consume_record(void *ctx, void *data, size_t size);
/* rb_emit_fn: arg is a struct out; numbers, tags, matches, writes, prints */
void consume_exec(struct lt_exec *e, void *arg);
/* rb_config.resolve_code, resolve_type: arg is the struct py_target */
void consume_resolve_code(void *arg, struct rb_state *rb, uint32_t tgid, uint64_t code);
void consume_resolve_type(void *arg, struct rb_state *rb, uint32_t tgid, uint64_t type);
/* what the BPF side counts, as of now (record.c bpf_counts) */
struct bpf_counts {
	uint64_t read_failures;
	uint64_t name_evictions;	/* entries its `seen` map evicted */
	uint64_t unprobed_returns;	/* 3.8-3.10: past 64 pending uretprobes */
};
/* the trailer's counts since `base` (the last rotation; NULL: all) */
void consume_stats(struct lt_stats *st, const struct consumer *c, const struct bpf_counts *k,
		   const struct lt_stats *base);

/* --------------------------------------------------------- live.c */

struct live_config {
	bool where;		/* --where: file:line after each name */
	/* names a code object of tgid no CODE record named: 0, or -1 */
	int (*resolve)(void *arg, uint32_t tgid, uint64_t code, char *name, size_t name_cap,
		       char *file, size_t file_cap, int *line);
	void *resolve_arg;
};

struct live_view *live_new(const struct live_config *cfg);
void live_free(struct live_view *v);
/* a CODE record: the strings of a code object (key: LT_OBJ_KEY(tgid, code)) */
void live_name(struct live_view *v, uint32_t tgid, uint64_t code, const char *name,
	       const char *file, int line);
/* an ENTRY record: thread tid belongs to process tgid */
void live_thread(struct live_view *v, uint32_t tid, uint32_t tgid);
/* a RET record: one call of code by tid */
void live_count(struct live_view *v, uint32_t tid, uint64_t code);
/* for the last secs: per process, then per thread, the calls per second
 * and top 3; one "idle" line when there were none (nprocs traced
 * processes, < 0: system-wide); resets the counts */
void live_print(struct live_view *v, double secs, bool json, int nprocs);

/* caps.c: 0 when the process has what recording needs (CAP_BPF,
 * CAP_PERFMON, with other_procs CAP_SYS_PTRACE, and CAP_SYS_ADMIN where
 * the kernel wants it for uprobes), else LT_EXIT_USAGE after one line
 * naming each missing one */
int lt_record_check_caps(bool other_procs);

#endif
