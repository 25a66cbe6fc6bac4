/* SPDX-License-Identifier: MIT */
/*
 * The tree rebuild inside (rebuild.c, and rebuild_ro.c for
 * --no-durations): per-thread and per-process state and the helpers both
 * use. Not for other files: rebuild.h is.
 */
#ifndef LT_RECORD_REBUILD_INT_H
#define LT_RECORD_REBUILD_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "common/hmap.h"
#include "common/u64map.h"
#include "record/rebuild.h"
#include "record/suspend.h"

/* code and type objects are keyed (address, tgid), both whole; the
 * first word never 0 (hmap), whatever the address */
#define OBJ_K(addr)	((addr) | 1ULL << 63)

struct code_info {
	const char *fn, *file;
	int line;
	bool is_root;
	bool excluded;
	bool init_shim;		/* 3.13's __init__ shim (_Py_InitCleanup), not a call */
};

/* the last call a frame (or the thread, outside any) saw return, not by
 * a yield: a sys.settrace/setprofile hook that raises on its return event
 * makes it exit a second time, by exception, after the return sites fired
 * (see hook_raised); node NULL once its execution is written */
struct rb_lastret {
	uint64_t frame, code, ts;
	struct lt_node *node;
	bool live;		/* a call's caller was it after it "returned" */
	uint64_t caller;	/* its RET's previous */
};

struct rb_frame {
	struct rb_lastret lr;	/* of its calls */
	uint64_t frame, code, ts;	/* ts: the start of this run */
	uint64_t t0, run;		/* the frame's first start; ns run before (suspend.h) */
	bool resumed;			/* it ran before this run */
	bool gen_resume;		/* a plain generator's run after its first */
	/* resumed inside its own execution, not the thread's open one:
	 * the thread's context, given back when it leaves (suspend.h) */
	bool switched;
	uint32_t saved_tainted;
	int saved_depth;
	struct lt_exec *saved_exec;
	uint64_t epoch;		/* rb_state.loss_epoch when it was pushed */
	struct lt_node *node;	/* this call's node, NULL if not recorded */
	struct lt_node *attach;	/* where this frame's children go (NULL: nowhere) */
	int adepth;		/* depth of attach below the execution root */
	bool is_root;
	uint32_t interp;	/* the interpreter it runs in as told (rb_interp):
				 * 0 the main one, or not told; INTERP_UNREAD */
};

/* --no-durations: a call that returned before its caller did */
struct rb_pend {
	uint64_t frame, previous;
	uint64_t first_ts;	/* the earliest return in its subtree */
	struct lt_node *node;
	uint32_t ncalls;	/* calls in its subtree */
	uint32_t ntrunc;	/* truncated strings in its subtree */
	uint64_t code;
	bool exit_hook;		/* made in the exit of a frame that had
				 * returned, a call of that frame's caller
				 * (LT_RF2_EXIT_HOOK) */
	bool readfail;		/* a value in its subtree could not be read:
				 * its execution, if it is in one, is
				 * incomplete (not the thread's next one) */
};

/* --no-durations with --root: calls kept while no execution ends, beyond
 * which they are dropped (and the execution they may belong to marked
 * incomplete) */
#define RB_PEND_MAX_CALLS (4u << 20)
#define RB_ORPHANS 16
/* plain generator frames remembered as suspended, beyond which the set is
 * emptied (a throw() through one of them then marks its execution
 * incomplete) */
#define RB_GENS_MAX (1u << 16)

struct rb_thread {
	uint32_t tid, tgid;
	uint32_t nstid;		/* tid in the target's pid namespace, 0: unknown */
	struct rb_frame *stk;
	size_t n, cap;
	struct rb_pend *pend;	/* --no-durations */
	size_t np, pcap;
	uint64_t scratch_calls;	/* nodes in the open execution's arena */
	uint32_t gap;		/* pending calls were dropped: why (LT_INC_*) */
	bool emitted;		/* an execution of this thread was written */
	struct lt_exec *exec;	/* the open execution, if any */
	int root_depth;		/* calls of the root function live on the stack */
	uint32_t tainted;	/* events of the open execution may be missing:
				 * why, LT_INC_* bits (trace/incomplete.h) */
	bool loss_pending;	/* records were lost while no execution was open:
				 * the next one may miss its first (with
				 * --no-durations it opens at its first return) */
	uint64_t last_ts;
	/* the last calls whose caller frame was not the one below them on
	 * the stack: calls of a generator run entered by throw()/close(),
	 * which has no frame start (RB_ORPHANS at most) */
	struct { struct lt_node *node; uint64_t caller; } orph[RB_ORPHANS];
	int norph;
	struct rb_lastret lr0;	/* of its calls that no live frame made */
	/* calls thrown into (no RESUME seen) by a frame itself thrown into,
	 * whose exit is still to come: a generator closed while it closes
	 * another (a chain of generators collected). Out of the tree until
	 * that exit adopts them (see orphan_adopt) */
	struct rb_thrown {
		uint64_t previous;
		struct lt_node *node, *at;	/* where it was placed */
	} *thrown;
	size_t nthrown, cthrown;
	/* an INTERP record waiting for the thread's next ENTRY or RET (its
	 * frame's), and what the one being handled was told (take_interp) */
	struct { uint64_t frame; int64_t id; bool set, failed; } ip;
	uint32_t cur_interp;
};

/* a process met system-wide (cfg.describe_process) */
struct rb_proc {
	const char *cmdline, *cgroup;
	uint32_t taint;		/* LT_INC_* of all its executions */
};

struct rb_state {
	struct rb_config cfg;
	rb_emit_fn emit;
	void *arg;
	struct hmap codes;	/* OBJ_K(code address), tgid -> struct code_info */
	struct hmap types;	/* OBJ_K(type address), tgid -> interned tp_name */
	struct u64map threads;	/* tid -> struct rb_thread */
	struct u64map procs;	/* system-wide: pid+1 -> struct rb_proc */
	struct u64map parents;	/* following: forked pid+1 -> its parent's pid
				 * (a name its frames from before the fork
				 * need is the parent's; rb_fork) */
	struct hmap old;	/* --no-durations: OBJ_K(frame), tgid live at attach
				 * (or at its fork) -> code */
	struct u64map susp;	/* suspended frames (suspend.h) */
	struct u64map gens;	/* plain generator frames suspended in an
				 * execution ((frame, tgid) -> 1, as OBJ_K) */
	struct rb_stats st;
	const char *unknown;
	uint64_t loss_epoch;	/* rb_loss calls so far */
};

/* rebuild.c: the thread's new open execution (root_fn: its root's name) */
struct lt_exec *rbi_exec_open(struct rb_state *s, struct rb_thread *t, uint64_t ts,
			  const char *root_fn);
/* the thread's open execution is written; why: the reasons it is
 * incomplete, 0 when complete as far as the thread's state says */
void rbi_exec_close(struct rb_state *s, struct rb_thread *t, uint32_t why);
/* the name, file and line of code in t's process (unknown: "<unknown>") */
const struct code_info *rbi_code_of(struct rb_state *s, const struct rb_thread *t, uint64_t code);
/* n ran in interpreter id (INTERP_UNREAD: t's execution is incomplete) */
void rbi_tag_interp(struct rb_thread *t, struct lt_node *n, uint32_t id);
/* n's return value from r; false when it could not be read (counted) */
bool rbi_put_ret(struct rb_state *s, struct rb_thread *t, struct lt_node *n,
	     const struct lt_rec_ret *r, const void *payload);
/* put_ret, a failure marking the thread's open execution */
void rbi_set_ret(struct rb_state *s, struct rb_thread *t, struct lt_node *n,
	     const struct lt_rec_ret *r, const void *payload);

/* rebuild_ro.c: --no-durations, one return */
void rbi_ro_return(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
	       const void *payload);
/* --no-durations: the thread ends with outermost roots suspended */
void rbi_ro_write_suspended(struct rb_state *s, struct rb_thread *t, uint32_t why);

/* rebuild.c: the frame-start side's helpers that suspended frames use */
void rbi_exec_mark(struct lt_exec *e, uint32_t why);
struct rb_frame *rbi_push(struct rb_thread *t);
void rbi_unlink_last(struct lt_node *n);
void rbi_frame_exit(struct rb_state *s, struct rb_thread *t, size_t i,
		    const struct lt_rec_ret *r, const void *payload);
void rbi_frame_exit_one(struct rb_state *s, struct rb_thread *t, struct rb_frame *f,
			const struct lt_rec_ret *r, const void *payload);

/* rebuild_susp.c: suspended frames (what each does: there) */
void rbi_abandon(struct rb_state *s, struct rb_thread *t, struct rb_susp *sp, uint32_t why);
void rbi_adopt(struct rb_state *s, struct rb_thread *t, struct rb_frame *f, uint64_t caller);
void rbi_exit_unstarted(struct rb_state *s, struct rb_thread *t, struct rb_susp *sp, uint64_t ts,
			const struct lt_rec_ret *r, const void *payload);
void rbi_lost_run(struct rb_state *s, struct rb_thread *t, uint64_t caller);
void rbi_suspend(struct rb_state *s, struct rb_thread *t, struct rb_frame *f,
		 const struct lt_rec_ret *r, const void *payload);
void rbi_write_suspended(struct rb_state *s, uint32_t tgid, uint64_t ts, uint32_t why);
void rbi_switch_back(struct rb_thread *t, const struct rb_frame *f);
bool rbi_resume(struct rb_state *s, struct rb_thread *t, uint64_t frame, uint64_t code,
		uint64_t ts);

/* rebuild.c: the frame stack */
void rbi_obj_put(struct hmap *m, uint32_t tgid, uint64_t addr, void *v);
void rbi_place(struct rb_state *s, struct rb_thread *t, const struct rb_frame *parent,
	       const struct code_info *ci, struct rb_frame *f);
void rbi_close_stale(struct rb_state *s, struct rb_thread *t, size_t keep);
size_t rbi_live_index(const struct rb_thread *t, uint64_t frame);

/* rebuild_ret.c: returns that are not the top frame's plain exit */
struct rb_lastret *rbi_lastret_of(struct rb_thread *t);
void rbi_orphan(struct rb_thread *t, struct lt_node *n, uint64_t caller);
void rbi_orphan_adopt(struct rb_thread *t, uint64_t frame, struct lt_node *n);
void rbi_unmatched_return(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
			  const void *payload);
uint32_t rbi_unseen_start(const struct rb_state *s, const struct rb_thread *t);

#endif
