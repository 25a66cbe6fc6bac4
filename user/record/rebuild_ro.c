/* SPDX-License-Identifier: MIT */
/*
 * --no-durations (cfg.returns_only): trees rebuilt from returns alone
 * (rebuild.h says how); the state and helpers it shares with the full
 * capture's rebuild are rebuild_int.h's.
 */
#include <stdlib.h>
#include <string.h>
#include "record/rebuild.h"
#include "record/suspend.h"
#include "common/grow.h"
#include "common/u64map.h"
#include "trace/incomplete.h"
#include "record/rebuild_int.h"

static struct rb_pend *pend_push(struct rb_thread *t)
{
	return lt_push(&t->pend, &t->np, &t->pcap, sizeof(*t->pend), 64);
}

static struct lt_exec *ro_keep_suspended(struct rb_state *s, struct rb_thread *t, const struct lt_node *n);
static bool ro_continue(struct rb_state *s, struct rb_thread *t, struct rb_susp *sp,
			const struct lt_rec_ret *r, const void *payload, size_t k,
			const struct rb_pend *sum, bool old);
static void ro_drop_suspended(struct rb_state *s, struct rb_thread *t);

static void count_tree(struct rb_state *s, const struct lt_node *top)
{
	for (const struct lt_node *x = top; x; x = lt_node_preorder_next(top, x)) {
		s->st.calls++;
		s->st.truncated_strings += x->has_ret && x->ret.truncated;
	}
}

/* --no-durations: the execution rooted at n (returned last) is written */
static void ro_emit(struct rb_state *s, struct rb_thread *t, struct lt_node *n, const struct lt_rec_ret *r,
		    const struct rb_pend *sum, bool old)
{
	struct lt_exec *e = t->exec;
	uint32_t why = t->gap;

	if (!(r->flags & LT_RF_ROOT_OUTER))
		why |= LT_INC_ROOT_UNSURE;
	if (old || r->ts < s->cfg.complete_after_ns || (s->cfg.first_exec_incomplete && !t->emitted))
		why |= LT_INC_BEFORE_ATTACH;
	if (sum->readfail)
		why |= LT_INC_READ_FAILURES;

	/* everything still pending is outside every root: its callers are
	 * callers of this outermost root */
	t->np = 0;
	e->root = n;
	n->parent = NULL;
	n->next = NULL;
	e->start_ns = sum->first_ts;
	e->dur_ns = -1;
	if (s->susp.len || sum->ncalls == 0) {
		/* suspended frames: a node's runs were summed apart, count
		 * the tree as written */
		count_tree(s, n);
	} else {
		s->st.calls += sum->ncalls;
		s->st.truncated_strings += sum->ntrunc;
	}
	t->emitted = true;
	t->gap = 0;
	t->scratch_calls = 0;
	struct lt_exec *next = s->susp.len ? ro_keep_suspended(s, t, n) : NULL;

	rbi_exec_close(s, t, why);
	if (next) {	/* the scratch arena of the executions still open */
		next->pid = t->tgid;
		next->tid = t->tid;
		next->root = lt_node_new(next, s->unknown);
		t->exec = next;
	}
}

/* --no-durations: put_ret, a read failure kept with the call (p) until it
 * is known in which execution the call is, if any: a call outside every
 * root (a pool worker's queue reads, its exit) marks none */
static void ro_set_ret(struct rb_state *s, struct rb_thread *t, struct lt_node *n,
		       const struct lt_rec_ret *r, const void *payload, struct rb_pend *p)
{
	if (!rbi_put_ret(s, t, n, r, payload))
		p->readfail = true;
}

/* --no-durations: one return (see rebuild.h) */
void rbi_ro_return(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
		      const void *payload)
{
	const struct code_info *ci = rbi_code_of(s, t, r->code);
	struct rb_pend sum = { r->frame, r->previous, r->ts, NULL, 1, 0, 0,
			       (r->flags2 & LT_RF2_EXIT_HOOK) != 0 }, *p;
	struct rb_susp *sp;
	struct lt_node *n;
	bool old = false;
	size_t k;

	if (r->flags & LT_RF_DROP)	/* 3.12+: not a call */
		return;
	if (s->old.len && (uintptr_t)hmap_get(&s->old, OBJ_K(r->frame), t->tgid) == r->code) {
		hmap_del(&s->old, OBJ_K(r->frame), t->tgid);
		old = true;
		if (!s->cfg.root_fn)	/* its earlier calls were not seen */
			t->tainted |= LT_INC_BEFORE_ATTACH;
	}
	if (!t->exec && !rbi_exec_open(s, t, r->ts, s->cfg.root_fn ? ci->fn : "<thread>"))
		return;
	for (k = t->np; k > 0 && t->pend[k - 1].previous == r->frame; k--) {
		sum.ncalls += t->pend[k - 1].ncalls;
		sum.ntrunc += t->pend[k - 1].ntrunc;
		sum.readfail |= t->pend[k - 1].readfail;
		if (t->pend[k - 1].first_ts < sum.first_ts)
			sum.first_ts = t->pend[k - 1].first_ts;
	}
	sum.code = r->code;
	/* a hook raising on the return event (see hook_raised): the frame
	 * exits again by exception after calls whose caller it was, which
	 * prove it still ran: they join its node, whose ret is the raise.
	 * Through return sites the hook's calls come as its caller's
	 * (exit_hook): those right above its return are its exit's */
	size_t kh = k;

	while (r->vkind == LT_RV_RAISE && kh > 0 && t->pend[kh - 1].exit_hook &&
	       t->pend[kh - 1].previous == r->previous)
		kh--;
	if (r->vkind == LT_RV_RAISE && kh > 0 && kh < t->np) {
		struct rb_pend *q = &t->pend[kh - 1];

		if (q->frame == r->frame && q->code == r->code && q->previous == r->previous &&
		    q->node && q->node->has_ret && !q->node->ret.yield && q->node->ret.type &&
		    strcmp(q->node->ret.type, "<raise>")) {
			for (size_t i = kh; i < t->np; i++) {
				lt_node_append(q->node, t->pend[i].node);
				q->ncalls += t->pend[i].ncalls;
				q->ntrunc += t->pend[i].ntrunc;
				q->readfail |= t->pend[i].readfail;
			}
			t->np = kh;
			memset(&q->node->ret, 0, sizeof(q->node->ret));
			ro_set_ret(s, t, q->node, r, payload, q);
			return;
		}
	}
	if (ci->excluded || ci->init_shim) {
		/* left out: its calls go to its caller */
		s->st.excluded_calls += ci->excluded;
		for (size_t i = k; i < t->np; i++)
			t->pend[i].previous = r->previous;
		return;
	}
	/* a suspended frame (suspend.h) that ran again: its node goes on */
	sp = susp_take(&s->susp, t->tgid, r->frame);
	if (sp && (sp->code != r->code || sp->exec != t->exec || !sp->node)) {
		/* resumed on another thread, or its node was dropped: its
		 * earlier runs are not in the tree this run goes to */
		uint32_t m = sp->tainted & (LT_INC_PENDING_LIMIT | LT_INC_OTHER_THREAD);

		if (sp->code == r->code)
			t->tainted |= m ? m : LT_INC_OTHER_THREAD;
		free(sp);
		sp = NULL;
	}
	if (sp && ro_continue(s, t, sp, r, payload, k, &sum, old))
		return;
	n = lt_node_new(t->exec, ci->fn);
	n->file = ci->file;
	n->line = ci->line;
	rbi_tag_interp(t, n, t->cur_interp);
	ro_set_ret(s, t, n, r, payload, &sum);
	sum.node = n;
	sum.ntrunc += n->ret.truncated && n->ret.kind == LT_V_STR;
	for (size_t i = k; i < t->np; i++)
		lt_node_append(n, t->pend[i].node);
	t->np = k;
	t->scratch_calls++;
	if ((r->flags & LT_RF_YIELD) && (r->flags & LT_RF_CORO)) {
		/* its first run: the node is placed as any call's, and kept */
		sp = lt_xcalloc(1, sizeof(*sp));
		sp->code = r->code;
		sp->node = n;
		sp->exec = t->exec;
		sp->is_root = ci->is_root;
		sp->t0 = sum.first_ts;
		if (s->cfg.root_fn && ci->is_root && !(r->flags & LT_RF_ROOT_NESTED)) {
			/* an outermost root: written at its final return */
			sp->outer = true;
			sp->tainted = (old ? LT_INC_BEFORE_ATTACH : 0) |
				      (sum.readfail ? LT_INC_READ_FAILURES : 0);
			susp_put(&s->susp, t->tgid, r->frame, sp);
			return;
		}
		susp_put(&s->susp, t->tgid, r->frame, sp);
	}
	if (s->cfg.root_fn && ci->is_root && !(r->flags & LT_RF_ROOT_NESTED)) {
		ro_emit(s, t, n, r, &sum, old);
		return;
	}
	/* a top-level call of the thread: no caller, or (-p) one that began
	 * before attach, as without --no-durations */
	if (!s->cfg.root_fn && (!r->previous ||
				(s->old.len && hmap_get(&s->old, OBJ_K(r->previous), t->tgid)))) {
		if (r->previous)	/* the thread's execution began before attach */
			t->tainted |= LT_INC_BEFORE_ATTACH;
		if (sum.readfail)
			t->tainted |= LT_INC_READ_FAILURES;
		lt_node_append(t->exec->root, n);
		s->st.calls += sum.ncalls;
		s->st.truncated_strings += sum.ntrunc;
		return;
	}
	p = pend_push(t);
	if (!p) {
		t->tainted |= LT_INC_NO_MEMORY;
		t->gap |= LT_INC_NO_MEMORY;
		return;
	}
	*p = sum;
	if (s->cfg.root_fn && t->scratch_calls > RB_PEND_MAX_CALLS) {
		/* no execution ended for that long: start again, and the
		 * execution these calls may belong to is incomplete */
		ro_drop_suspended(s, t);
		lt_exec_free(t->exec);
		t->exec = NULL;
		t->np = 0;
		t->scratch_calls = 0;
		t->gap |= LT_INC_PENDING_LIMIT;
	}
}


/* ---- --no-durations: suspended frames ------------------------------------ */

/* a frame with a node from an earlier run returns or yields again: the
 * calls of this run join its node. false: nothing done (not continued) */
static bool ro_continue(struct rb_state *s, struct rb_thread *t, struct rb_susp *sp,
			const struct lt_rec_ret *r, const void *payload, size_t k,
			const struct rb_pend *sum, bool old)
{
	struct lt_node *n = sp->node;

	for (size_t i = k; i < t->np; i++) {
		lt_node_append(n, t->pend[i].node);
		if (t->pend[i].readfail)	/* in the node's execution */
			t->tainted |= LT_INC_READ_FAILURES;
	}
	t->np = k;
	rbi_set_ret(s, t, n, r, payload);
	rbi_tag_interp(t, n, t->cur_interp);
	if (sum->first_ts < sp->t0)
		sp->t0 = sum->first_ts;
	/* with --root, the calls are counted as an execution is written;
	 * without, the node itself was counted at its first run */
	if (!s->cfg.root_fn) {
		s->st.calls += sum->ncalls - 1;
		s->st.truncated_strings += sum->ntrunc;
	}
	if (r->flags & LT_RF_YIELD) {
		susp_put(&s->susp, t->tgid, r->frame, sp);
		return true;
	}
	if (sp->outer) {
		/* (ncalls 0: counted from the tree) */
		struct rb_pend tot = { .first_ts = sp->t0 };

		t->tainted |= sp->tainted;
		free(sp);
		ro_emit(s, t, n, r, &tot, old);
		return true;
	}
	free(sp);
	return true;
}

static struct lt_node *top_of(struct lt_node *n)
{
	while (n->parent)
		n = n->parent;
	return n;
}

/* the thread's scratch execution is written with root n: the suspended
 * frames of the executions still open (the outermost roots suspended, and
 * the frames in their trees) are copied into a new scratch arena; the
 * others are in n's tree (written with it) or outside every execution */
static struct lt_exec *ro_keep_suspended(struct rb_state *s, struct rb_thread *t, const struct lt_node *n)
{
	struct lt_exec *old = t->exec, *nu;
	struct u64map outer = { 0 }, fwd = { 0 };
	struct rb_susp **v;
	size_t cnt, kept = 0;

	v = susp_take_exec(&s->susp, old, &cnt);
	nu = lt_exec_new();
	for (size_t i = 0; i < cnt; i++)
		if (v[i]->outer)
			u64map_put(&outer, (uint64_t)(uintptr_t)v[i]->node, v[i]);
	for (size_t i = 0; i < cnt; i++) {
		struct lt_node *top = top_of(v[i]->node);

		if (top == n || !u64map_get(&outer, (uint64_t)(uintptr_t)top)) {
			free(v[i]);
			continue;
		}
		if (!u64map_get(&fwd, (uint64_t)(uintptr_t)top))
			susp_copy_tree(nu, top, &fwd);
		v[i]->node = u64map_get(&fwd, (uint64_t)(uintptr_t)v[i]->node);
		v[i]->exec = nu;
		susp_put(&s->susp, v[i]->tgid, v[i]->frame, v[i]);
		kept++;
	}
	free(v);
	u64map_free(&outer);
	u64map_free(&fwd);
	if (!kept) {
		lt_exec_free(nu);
		return NULL;
	}
	return nu;
}

/* the scratch arena is dropped (no execution ended for too long): an
 * outermost root suspended in it leaves a marker, so that its execution
 * is incomplete when it returns */
static void ro_drop_suspended(struct rb_state *s, struct rb_thread *t)
{
	size_t cnt;
	struct rb_susp **v = susp_take_exec(&s->susp, t->exec, &cnt);

	for (size_t i = 0; i < cnt; i++) {
		if (v[i]->outer) {
			v[i]->node = NULL;
			v[i]->exec = NULL;
			v[i]->tainted |= LT_INC_PENDING_LIMIT;
			susp_put(&s->susp, v[i]->tgid, v[i]->frame, v[i]);
		} else {
			free(v[i]);
		}
	}
	free(v);
}

/* --no-durations: the thread ends with outermost roots suspended (their
 * trees in its scratch arena): written, incomplete (a coroutine resumed on
 * another thread is only followed with frame starts) */
void rbi_ro_write_suspended(struct rb_state *s, struct rb_thread *t, uint32_t why)
{
	size_t cnt;
	struct rb_susp **v = susp_take_exec(&s->susp, t->exec, &cnt);

	for (size_t i = 0; i < cnt; i++) {
		if (v[i]->outer) {
			struct u64map fwd = { 0 };
			struct rb_thread tmp = { .tid = t->tid, .tgid = t->tgid, .nstid = t->nstid };

			tmp.exec = lt_exec_new();
			tmp.exec->pid = t->tgid;
			tmp.exec->tid = t->tid;
			tmp.exec->start_ns = v[i]->t0;
			tmp.exec->root = susp_copy_tree(tmp.exec, v[i]->node, &fwd);
			u64map_free(&fwd);
			count_tree(s, tmp.exec->root);
			rbi_exec_close(s, &tmp, why | v[i]->tainted);
		}
		/* a marker: if the frame resumes on another thread, the
		 * execution it goes on in lacks these runs */
		v[i]->node = NULL;
		v[i]->exec = NULL;
		v[i]->tainted = LT_INC_OTHER_THREAD;
		susp_put(&s->susp, v[i]->tgid, v[i]->frame, v[i]);
	}
	free(v);
}
