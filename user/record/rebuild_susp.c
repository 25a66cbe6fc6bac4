/* SPDX-License-Identifier: MIT */
/*
 * The tree rebuild with frame starts: suspended frames (suspend.h), one
 * call per generator or coroutine frame across its runs; the state and
 * helpers shared with rebuild.c are rebuild_int.h's.
 */
#include <stdlib.h>
#include <string.h>
#include "record/rebuild.h"
#include "record/suspend.h"
#include "common/u64map.h"
#include "trace/incomplete.h"
#include "record/rebuild_int.h"

/* ---- suspended frames (suspend.h): one call per generator frame -------- */

/* write an execution that is not the thread's open one */
static void write_detached(struct rb_state *s, struct rb_thread *t, struct lt_exec *e, uint32_t why)
{
	struct lt_exec *cur = t->exec;
	uint32_t tainted = t->tainted;

	t->exec = e;
	t->tainted = 0;
	rbi_exec_close(s, t, why);
	t->exec = cur;
	t->tainted = tainted;
}

/* a suspended frame that will not run again as recorded (freed, or resumed
 * where its execution does not run): an owner's execution is written,
 * incomplete (its root never returned) */
void rbi_abandon(struct rb_state *s, struct rb_thread *t, struct rb_susp *sp, uint32_t why)
{
	if (sp->owner)
		write_detached(s, t, sp->exec, why);
	free(sp);
}

/* push a suspended frame that runs again. It runs inside the execution
 * its node belongs to: an owner brings its execution back to a thread that
 * runs none (any thread of the process), any other frame continues where
 * its execution runs. Else (asyncio throws a cancellation into a chain of
 * awaiting coroutines from the event loop, a generator shared by two
 * requests) the thread switches to that execution until the frame leaves.
 * Frees sp; false: out of memory (sp abandoned) */
static bool push_suspended(struct rb_state *s, struct rb_thread *t, struct rb_susp *sp,
			   uint64_t frame, uint64_t ts)
{
	struct rb_frame *f = rbi_push(t);

	if (!f) {
		t->tainted |= LT_INC_NO_MEMORY;
		rbi_abandon(s, t, sp, LT_INC_NO_MEMORY);
		return false;
	}
	if (sp->owner ? t->exec != NULL : sp->exec != t->exec) {
		f->switched = true;
		f->saved_exec = t->exec;
		f->saved_tainted = t->tainted;
		f->saved_depth = t->root_depth;
		t->tainted = 0;
		/* a nested root of a suspended execution must not end it */
		t->root_depth = sp->owner ? 0 : 1 << 20;
	}
	if (sp->owner || f->switched) {
		t->exec = sp->exec;
		if (sp->owner)
			t->tainted = 0;
	}
	f->frame = frame;
	f->code = sp->code;
	f->interp = t->n > 1 ? t->stk[t->n - 2].interp : 0;	/* its resumer's */
	f->ts = ts;
	f->t0 = sp->t0;
	f->run = sp->run;
	f->resumed = true;
	f->node = sp->node;
	f->attach = sp->attach;
	f->adepth = sp->adepth;
	f->is_root = sp->is_root;
	if (sp->is_root)
		t->root_depth++;
	free(sp);
	return true;
}

/* a switched frame left (or was lost): the thread's context comes back */
void rbi_switch_back(struct rb_thread *t, const struct rb_frame *f)
{
	if (t->tainted && t->exec)
		rbi_exec_mark(t->exec, t->tainted);
	t->exec = f->saved_exec;
	t->tainted = f->saved_tainted;
	t->root_depth = f->saved_depth;
}

/* ENTRY of a frame: true if it is a suspended one that resumes (pushed) */
bool rbi_resume(struct rb_state *s, struct rb_thread *t, uint64_t frame, uint64_t code,
		   uint64_t ts)
{
	struct rb_susp *sp = susp_take(&s->susp, t->tgid, frame);

	if (!sp)
		return false;
	if (sp->code != code) {	/* freed: another code's frame at its address */
		rbi_abandon(s, t, sp, LT_INC_ABANDONED);
		return false;
	}
	return push_suspended(s, t, sp, frame, ts);
}

/* a frame (popped, f) yields inside an execution: it keeps its node */
void rbi_suspend(struct rb_state *s, struct rb_thread *t, struct rb_frame *f,
		    const struct lt_rec_ret *r, const void *payload)
{
	struct rb_susp *sp = lt_xcalloc(1, sizeof(*sp));

	sp->code = f->code;
	sp->t0 = f->t0;
	sp->run = f->run + (r->ts - f->ts);
	sp->node = f->node;
	sp->attach = f->attach;
	sp->adepth = f->adepth;
	sp->is_root = f->is_root;
	sp->exec = t->exec;
	/* the last yield is its value until it returns (and stays if its
	 * execution is written while it is suspended) */
	if (f->node) {
		rbi_set_ret(s, t, f->node, r, payload);
		rbi_tag_interp(t, f->node, t->cur_interp);
		f->node->dur_ns = r->ts - f->t0;
		f->node->run_ns = sp->run;
	}
	if (s->cfg.root_fn && f->is_root && --t->root_depth == 0 && t->exec) {
		/* the execution waits with its root: other executions may
		 * run on the thread meanwhile */
		sp->owner = true;
		if (t->tainted)
			rbi_exec_mark(t->exec, t->tainted);
		t->exec = NULL;
		t->tainted = 0;
	}
	susp_put(&s->susp, t->tgid, f->frame, sp);
}

/* 3.12+: a generator entered by throw()/close() runs without a frame
 * start (no RESUME), so the calls of that run were placed under the frame
 * that called throw(); the caller frame of their return says where they
 * belong */
void rbi_adopt(struct rb_state *s, struct rb_thread *t, struct rb_frame *f, uint64_t caller)
{
	struct rb_susp *sp = susp_peek(&s->susp, t->tgid, caller);
	struct lt_node *n = f->node;

	if (!sp || !sp->attach || sp->exec != t->exec || !n->parent || n->parent->last != n)
		return;
	rbi_unlink_last(n);
	lt_node_append(sp->attach, n);
}

/* a call outside every execution whose caller is a suspended frame: that
 * frame runs, entered by throw() without a frame start (asyncio cancelling
 * a task whose coroutine catches the exception), and this call, made
 * before its next suspension, was not recorded. Its execution is
 * incomplete. (A caller frame in ENTRY records would place it.) */
void rbi_lost_run(struct rb_state *s, struct rb_thread *t, uint64_t caller)
{
	struct rb_susp *sp = susp_peek(&s->susp, t->tgid, caller);

	if (sp && sp->exec)
		rbi_exec_mark(sp->exec, LT_INC_THROW_UNSEEN);
}
/* the exit of a suspended frame that ran without a frame start (3.12+
 * throw()/close(), e.g. asyncio cancelling a task): a run from the
 * thread's previous event, ts */
void rbi_exit_unstarted(struct rb_state *s, struct rb_thread *t, struct rb_susp *sp, uint64_t ts,
			   const struct lt_rec_ret *r, const void *payload)
{
	if (push_suspended(s, t, sp, r->frame, ts < r->ts ? ts : r->ts))
		rbi_frame_exit(s, t, t->n, r, payload);
}

/* executions whose root is suspended (of process tgid, 0: all) are
 * written, incomplete for why: their root never returned */
void rbi_write_suspended(struct rb_state *s, uint32_t tgid, uint64_t ts, uint32_t why)
{
	size_t n;
	struct rb_susp **v = susp_take_owners(&s->susp, tgid, &n);

	for (size_t i = 0; i < n; i++) {
		struct rb_thread tmp = { .tid = v[i]->exec->tid, .tgid = v[i]->exec->pid, .last_ts = ts };

		tmp.exec = v[i]->exec;
		rbi_exec_close(s, &tmp, why);
		free(v[i]);
	}
	free(v);
}
