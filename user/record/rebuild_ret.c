/* SPDX-License-Identifier: MIT */
/*
 * The tree rebuild with frame starts: returns that are not the top
 * frame's plain exit (a hook raising on a return event, calls whose
 * caller is not below them, a return whose frame is not on the stack);
 * the state and helpers shared with rebuild.c are rebuild_int.h's.
 */
#include <stdlib.h>
#include <string.h>
#include "record/rebuild.h"
#include "record/suspend.h"
#include "common/u64map.h"
#include "trace/incomplete.h"
#include "record/rebuild_int.h"

/*
 * A frame whose return the return sites saw, then a hook (sys.settrace,
 * sys.setprofile) raised on its return event, so it exits again by
 * exception: the hook's calls ran inside it (their caller was that frame),
 * yet came after its return. 1: r is that second exit, and the calls after
 * its node become its children, its ret the raise (exact, when a hook's
 * Python call proved the frame still ran); -1: r may be one, unproven or
 * its execution written already (incomplete); 0: r is not one.
 */
struct rb_lastret *rbi_lastret_of(struct rb_thread *t)
{
	return t->n ? &t->stk[t->n - 1].lr : &t->lr0;
}

static int hook_raised(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
		       const void *payload)
{
	struct rb_lastret *lr = rbi_lastret_of(t);
	struct lt_node *n = lr->node, *c;

	if (r->vkind != LT_RV_RAISE || !lr->frame || r->frame != lr->frame || r->code != lr->code)
		return 0;
	if (!lr->live || !n || !n->parent)
		return lr->live ? -1 : 0;
	while ((c = n->next)) {
		n->next = c->next;
		n->parent->ncalls--;
		c->next = NULL;
		lt_node_append(n, c);
	}
	n->parent->last = n;
	memset(&n->ret, 0, sizeof(n->ret));
	rbi_set_ret(s, t, n, r, payload);
	if (n->dur_ns >= 0)
		n->dur_ns += r->ts - lr->ts;
	*lr = (struct rb_lastret){ 0 };
	return 1;
}

/* n (just placed, its parent's last child) waits for its caller's exit;
 * false when out of memory */
static bool orphan_push(struct rb_thread *t, uint64_t previous, struct lt_node *n)
{
	if (t->nthrown == t->cthrown) {
		size_t cap = t->cthrown ? 2 * t->cthrown : 16;
		struct rb_thrown *o = realloc(t->thrown, cap * sizeof(*o));

		if (!o)
			return false;
		t->thrown = o;
		t->cthrown = cap;
	}
	t->thrown[t->nthrown++] = (struct rb_thrown){ previous, n, n->parent };
	rbi_unlink_last(n);
	return true;
}

/* the waiting calls made by frame become n's children, in exit order */
void rbi_orphan_adopt(struct rb_thread *t, uint64_t frame, struct lt_node *n)
{
	size_t k = 0;

	for (size_t i = 0; i < t->nthrown; i++) {
		if (t->thrown[i].previous == frame)
			lt_node_append(n, t->thrown[i].node);
		else
			t->thrown[k++] = t->thrown[i];
	}
	t->nthrown = k;
}

/* a RET for a frame that is not live: its start was not seen */
/* why a call whose start was not seen makes its execution incomplete: a
 * loss already said (the start was among the records lost), else it
 * began before attach, or (a command traced from its start) a start the
 * probes did not see */
uint32_t rbi_unseen_start(const struct rb_state *s, const struct rb_thread *t)
{
	if (t->tainted & (LT_INC_LOST_EVENTS | LT_INC_STALE_FRAMES))
		return 0;
	/* (a root seen starting after attach: its calls began after it) */
	if (s->cfg.from_start || (s->cfg.root_fn && t->root_depth && t->exec &&
				  t->exec->start_ns >= s->cfg.complete_after_ns))
		return LT_INC_START_UNSEEN;
	return LT_INC_BEFORE_ATTACH;
}

void rbi_unmatched_return(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
			     const void *payload)
{
	const struct code_info *ci = rbi_code_of(s, t, r->code);
	struct rb_frame *top = t->n ? &t->stk[t->n - 1] : NULL;
	struct rb_frame f = { 0 };
	struct lt_node *adopted[RB_ORPHANS];
	bool was_gen, through, thrown_in, ambiguous = false;
	int na = 0, hook = hook_raised(s, t, r, payload);

	if (hook > 0)
		return;
	/* 3.12+: a frame of a plain function that was never seen starting
	 * never ran RESUME, so it was not a call (the __init__ shim of 3.13,
	 * or a call whose arguments did not bind) */
	if ((r->flags & (LT_RF_NOTGEN | LT_RF_DROP)) && top && top->frame == r->previous)
		return;
	/* its caller live below the top: the frames above it are stale */
	if (r->previous && top && top->frame != r->previous) {
		size_t j = rbi_live_index(t, r->previous);

		if (j) {
			rbi_close_stale(s, t, j);
			top = &t->stk[j - 1];
		}
	}
	/* a generator run entered by throw()/close() has no frame start
	 * (3.11's USDT, 3.12+ RESUME sites; 3.11 closes a never-started one
	 * so, at close() or collection): it is a call of the frame that
	 * called throw(), directly or through generators delegating to it
	 * (`yield from`: they do not run, 3.11+ only link their frames), or,
	 * no Python frame running (a generator finalised at interpreter
	 * exit), nothing can have begun before attach. Anything else means
	 * the start was before attach or was lost */
	was_gen = s->gens.len && hmap_del(&s->gens, OBJ_K(r->frame), t->tgid);
	through = was_gen && top && (hmap_get(&s->gens, OBJ_K(r->previous), t->tgid) ||
				     susp_peek(&s->susp, t->tgid, r->previous));
	thrown_in = top ? r->previous && (top->frame == r->previous || through) :
			  s->cfg.from_start && !r->previous;
	/* a plain generator's exit whose caller is another plain generator
	 * never seen starting: `yield from` delegation (the outer does not
	 * run: a call of the frame that called throw()/close()) and a
	 * generator thrown into that closes one it holds (the outer runs: its
	 * call) give the same records; placed as the former, incomplete
	 * (a yield can only be the former), unless the BPF side saw the
	 * caller suspended in a yield from whose delegate is this generator
	 * (LT_RF2_DELEGATED: the former) or not (LT_RF2_CALLER_RUNS: the
	 * latter, the call waits for the caller's exit, orphan_push);
	 * neither: the caller's opcode hidden by an instrumentation tool */
	if (through && top->frame != r->previous && !(r->flags & LT_RF_YIELD) &&
	    !(r->flags2 & LT_RF2_DELEGATED) && !susp_peek(&s->susp, t->tgid, r->previous)) {
		if (r->flags2 & LT_RF2_CALLER_RUNS)
			thrown_in = false;
		else
			ambiguous = true;
	}
	thrown_in = thrown_in && !hook;
	s->st.unmatched_returns++;
	if (s->cfg.root_fn && ci->is_root && t->root_depth == 0) {
		/* a root call that began before attach: written, incomplete;
		 * a root generator thrown into: complete (no dur_ns) */
		if (!rbi_exec_open(s, t, r->ts, ci->fn))
			return;
		t->exec->root->file = ci->file;
		t->exec->root->line = ci->line;
		rbi_tag_interp(t, t->exec->root, t->cur_interp);
		rbi_set_ret(s, t, t->exec->root, r, payload);
		s->st.calls++;
		rbi_exec_close(s, t, thrown_in ? 0 : rbi_unseen_start(s, t));
		return;
	}
	if (!t->exec)
		return;
	if (was_gen && (r->flags & LT_RF_YIELD))	/* suspended again */
		rbi_obj_put(&s->gens, t->tgid, r->frame, (void *)1);
	/* the calls that run made were placed under the frame that called
	 * throw(): they are its own */
	while (t->norph && top && top->attach && na < RB_ORPHANS &&
	       t->orph[t->norph - 1].caller == r->frame &&
	       top->attach->last == t->orph[t->norph - 1].node) {
		adopted[na++] = t->orph[--t->norph].node;
		rbi_unlink_last(adopted[na - 1]);
	}
	rbi_place(s, t, top, ci, &f);
	for (int i = na; i-- > 0;)
		lt_node_append(f.node ? f.node : top->attach, adopted[i]);
	if (f.node) {
		rbi_set_ret(s, t, f.node, r, payload);
		rbi_tag_interp(t, f.node, t->cur_interp);
		if (t->nthrown)
			rbi_orphan_adopt(t, r->frame, f.node);
	}
	/* its caller not live: maybe a frame thrown into, whose exit comes */
	if (!thrown_in && !hook && f.node && r->previous && orphan_push(t, r->previous, f.node))
		return;
	if (ambiguous)
		t->tainted |= LT_INC_THROW_AMBIGUOUS;
	else if (!thrown_in)
		t->tainted |= rbi_unseen_start(s, t);
}

/* a call whose caller frame was not below it on the stack */
void rbi_orphan(struct rb_thread *t, struct lt_node *n, uint64_t caller)
{
	if (t->norph == RB_ORPHANS) {
		memmove(t->orph, t->orph + 1, sizeof(t->orph[0]) * (RB_ORPHANS - 1));
		t->norph--;
	}
	t->orph[t->norph].node = n;
	t->orph[t->norph++].caller = caller;
}
