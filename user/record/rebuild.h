/* SPDX-License-Identifier: MIT */
/*
 * Rebuilding call trees from probe events (the "logic" of the recorder).
 *
 * Events per thread arrive in order: ENTRY at every frame start or
 * generator resume (frame address, code), RET at every return, yield or
 * exception exit (frame, caller frame, code, value). A per-thread stack of
 * live frames, pushed on ENTRY and popped on RET, gives nesting and
 * durations; frame addresses are reused all the time (CPython's per-thread
 * data stack), which is fine because a frame is only matched while live.
 * A RET for a frame that is not live is a call whose start was not seen
 * (it began before attach, or a generator finished by throw()/close()).
 *
 * A coroutine or async generator frame (RET flag LT_RF_CORO at its yields)
 * is one call across its runs: at a yield it leaves the stack but keeps its
 * node, and its resume continues it (user/record/suspend.h); an outermost
 * root that suspends takes its open execution along, so executions
 * interleave on a thread. Each run of a plain generator is a call.
 * A generator run entered by throw()/close() has no ENTRY on 3.11's USDT
 * and 3.12+'s RESUME sites: its RET is its only event; the calls it made
 * were placed under the frame that called throw() and move under it by
 * their caller frame (rebuild.c: orphans, suspended plain generators).
 *
 * With a root function, each outermost call of it is one execution; without
 * one, each thread is one execution under a synthetic "<thread>" node.
 *
 * This is the one place that keeps state per thread and per process of
 * the traced program: the live frames, the tid inside the target's pid
 * namespace (from ENTRY records), and, system-wide, each process's command
 * line and cgroup (asked once through cfg.describe_process). Executions
 * leave tagged with them.
 *
 * --no-durations (cfg.returns_only): only RET events. Returns come in
 * post-order, so a returning frame's children are exactly the pending
 * (returned, caller not yet returned) calls on top of the thread's pending
 * stack whose caller is this frame. The BPF side tells whether a returning
 * root has a root among its callers (LT_RF_ROOT_*). Nodes have no dur_ns.
 */
#ifndef LT_REBUILD_H
#define LT_REBUILD_H

#include <linux/types.h>
#include "leaktrace.h"
#include "trace/trace.h"

struct rb_state;

struct rb_config {
	const char *root_fn;		/* NULL: one execution per thread */
	int max_depth;			/* 0: unlimited */
	const char *const *exclude;	/* fnmatch globs on the file, NULL-terminated */
	uint32_t str_len;		/* --str-len */
	int32_t pid;			/* tagged on executions */
	int32_t nspid;			/* pid in the target's pid namespace, 0: the
					 * same as ours (then no nspid/nstid tags) */
	const uint8_t *hash_key;	/* --hash-values: 16-byte key, NULL = plain values */
	/* --no-durations: no ENTRY events; trees are built from the returns
	 * alone (see rb_old_frame) */
	bool returns_only;
	uint64_t complete_after_ns;	/* an execution whose root returned before
					 * this (CLOCK_MONOTONIC) may have begun
					 * before attach: incomplete */
	bool first_exec_incomplete;	/* the frames live at attach are unknown:
					 * each thread's first execution is incomplete */
	bool from_start;		/* the target was traced from its start (a
					 * command we started): no call began before */
	bool callers_at_return;		/* a RET's previous is its caller as the
					 * frame chain says (not with evalframe
					 * uretprobes: read after the frame is gone) */
	bool hooks_after_return;	/* 3.11 return sites with frame starts: a
					 * tracing hook of a frame's return or
					 * yield runs after its RET */
	/* a code object no CODE record named (a call whose start was not
	 * seen): may name it with rb_code, e.g. from the target's memory */
	void (*resolve_code)(void *arg, struct rb_state *s, uint32_t tgid, uint64_t code);
	/* a type no TYPE record named (the BPF side could not read it: a
	 * page a forked child has not touched): may name it with rb_type */
	void (*resolve_type)(void *arg, struct rb_state *s, uint32_t tgid, uint64_t type);
	void *resolve_arg;
	/* system-wide: the command line and cgroup of a process met for the
	 * first time (either may stay NULL; strings interned), and reasons
	 * (LT_INC_*) every execution of it is incomplete for; NULL: none */
	void (*describe_process)(void *arg, uint32_t pid, const char **cmdline,
				 const char **cgroup, uint32_t *taint);
	void *describe_arg;
};

struct rb_stats {
	uint64_t calls;			/* calls put into trees */
	uint64_t excluded_calls;
	uint64_t execs, incomplete_execs;
	uint64_t truncated_strings;
	uint64_t read_failures;
	uint64_t unmatched_returns;	/* RET without a live frame */
	uint64_t stale_frames;		/* live frames closed without their return
					 * (it was lost): see rb_entry */
};

/* called with each finished execution; the callee owns (and frees) it */
typedef void (*rb_emit_fn)(struct lt_exec *e, void *arg);

struct rb_state;
struct rb_state *rb_new(const struct rb_config *cfg, rb_emit_fn emit, void *arg);
void rb_free(struct rb_state *s);

/* a code or type object of process tgid at addr (a later one at the same
 * address replaces it) */
void rb_code(struct rb_state *s, uint32_t tgid, uint64_t addr, const char *qualname,
	     const char *file, int line);
void rb_type(struct rb_state *s, uint32_t tgid, uint64_t addr, const char *name);
/*
 * --no-durations: a frame of process tgid that was live when recording
 * began (read from the target before and after arming), or when the
 * process was forked (read while it is held stopped). A call whose frame
 * and code match began before: an execution rooted there is incomplete.
 */
void rb_old_frame(struct rb_state *s, uint32_t tgid, uint64_t frame, uint64_t code);
/*
 * tgid: the thread's process (0: the configured pid); nstid: the tid in
 * the target's pid namespace (0: unknown); previous: the caller's frame
 * (0: unknown). Resynchronisation after a loss: a caller live below the
 * top of the thread's stack, or the top frame started again after a
 * loss, means the frames above were left unseen; they are closed
 * (stats.stale_frames) and a root among them ends its execution,
 * incomplete. A RET of a frame below the top does the same. So a lost
 * record touches only the executions open around it.
 */
void rb_entry(struct rb_state *s, uint32_t tgid, uint32_t tid, uint32_t nstid, uint64_t ts,
	      uint64_t frame, uint64_t code, uint64_t previous);
void rb_return(struct rb_state *s, const struct lt_rec_ret *r, const void *payload);
/*
 * An INTERP record (leaktrace.h): the thread's next ENTRY or RET, of
 * frame, runs in interpreter id (not the main one); failed: it could not
 * be read. The outermost node of a sub-interpreter's calls (a bottom
 * frame's, or an execution's root) gets node.interp; the frames above a
 * bottom frame whose ENTRY told it inherit it, so that a root among them
 * is tagged when its execution opens.
 */
void rb_interp(struct rb_state *s, uint32_t tid, uint64_t frame, int64_t id, bool failed);
/* --args: argument r->previous of r->code arguments of the frame entered last */
void rb_arg(struct rb_state *s, const struct lt_rec_ret *r, const void *payload);
/* the thread ended: its open execution is written (incomplete if frames
 * are still live); the main thread (tid == pid) ends its process */
void rb_thread_exit(struct rb_state *s, uint32_t tid, uint32_t pid, uint64_t ts);
/* following: child was forked by parent (a FORK record); names of objects
 * from before the fork that the child's records need are the parent's */
void rb_fork(struct rb_state *s, uint32_t child, uint32_t parent);
/* events were lost somewhere: every open execution becomes incomplete */
void rb_loss(struct rb_state *s);
/* end of recording: every open execution is written */
void rb_finish(struct rb_state *s, uint64_t ts);
const struct rb_stats *rb_stats(const struct rb_state *s);
/* number of threads with state (for memory checks) */
size_t rb_nthreads(const struct rb_state *s);

#endif
