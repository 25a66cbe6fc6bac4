/* SPDX-License-Identifier: MIT */
/*
 * The tree rebuild (rebuild.h): per-thread state, frame starts and plain
 * exits, the API. --no-durations is rebuild_ro.c's, suspended frames
 * rebuild_susp.c's, returns off the stack's top rebuild_ret.c's; what
 * they share is rebuild_int.h.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "record/hashval.h"
#include "record/rebuild.h"
#include "record/roots.h"
#include "record/suspend.h"
#include "common/grow.h"
#include "common/u64map.h"
#include "record/values.h"
#include "trace/incomplete.h"
#include "record/rebuild_int.h"

struct rb_state *rb_new(const struct rb_config *cfg, rb_emit_fn emit, void *arg)
{
	struct rb_state *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->emit = emit;
	s->arg = arg;
	s->unknown = lt_intern("<unknown>");
	return s;
}

void rbi_obj_put(struct hmap *m, uint32_t tgid, uint64_t addr, void *v)
{
	struct hent *e = hmap_slot(m, OBJ_K(addr), tgid);

	if (e->k1)
		e->v = v;
	else
		hmap_put(m, e, OBJ_K(addr), tgid, v);
}

void rb_code(struct rb_state *s, uint32_t tgid, uint64_t addr, const char *qualname,
	     const char *file, int line)
{
	struct code_info *ci = hmap_get(&s->codes, OBJ_K(addr), tgid);

	if (!ci) {
		ci = calloc(1, sizeof(*ci));
		if (!ci)
			return;
		rbi_obj_put(&s->codes, tgid, addr, ci);
	}
	ci->fn = lt_intern(qualname);
	ci->file = file ? lt_intern(file) : NULL;
	ci->line = line;
	ci->is_root = root_matches(s->cfg.root_fn, qualname, file, line);
	ci->excluded = false;
	/* what the 3.13 shim that checks __init__'s result is called; with
	 * frame starts it is never seen starting (no RESUME) */
	ci->init_shim = line == 0 && file && !strcmp(file, "__init__") && !strcmp(qualname, "__init__");
	for (const char *const *g = s->cfg.exclude; g && *g && file; g++)
		if (!fnmatch(*g, file, 0))
			ci->excluded = true;
}

void rb_type(struct rb_state *s, uint32_t tgid, uint64_t addr, const char *name)
{
	rbi_obj_put(&s->types, tgid, addr, (void *)lt_intern(name));
}

static struct rb_thread *thread_get(struct rb_state *s, uint32_t tid)
{
	struct rb_thread *t = u64map_get(&s->threads, (uint64_t)tid + 1);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	t->tgid = s->cfg.pid > 0 ? (uint32_t)s->cfg.pid : 0;	/* -a: from ENTRY records */
	if (u64map_put(&s->threads, (uint64_t)tid + 1, t)) {
		free(t);
		return NULL;
	}
	return t;
}

struct lt_exec *rbi_exec_open(struct rb_state *s, struct rb_thread *t, uint64_t ts,
			      const char *root_fn)
{
	struct lt_exec *e = lt_exec_new();

	if (!e)
		return NULL;
	e->pid = t->tgid;
	e->tid = t->tid;
	e->start_ns = ts;
	e->dur_ns = -1;
	e->complete = true;
	e->root = lt_node_new(e, lt_intern(root_fn));
	e->root->synthetic = !s->cfg.root_fn;	/* "<thread>": no call */
	t->exec = e;
	t->tainted = t->loss_pending ? LT_INC_LOST_EVENTS : 0;
	t->loss_pending = false;
	return e;
}

/* e may miss calls, for reasons why (LT_INC_*) */
void rbi_exec_mark(struct lt_exec *e, uint32_t why)
{
	e->complete = false;
	e->incomplete |= why;
}

/* the thread's open execution is written; why: the reasons it is
 * incomplete, 0 when it is complete (as far as the thread's state says) */
void rbi_exec_close(struct rb_state *s, struct rb_thread *t, uint32_t why)
{
	struct lt_exec *e = t->exec;

	if (!e)
		return;
	/* its nodes leave with e */
	t->lr0.node = NULL;
	for (size_t i = 0; i < t->n; i++)
		t->stk[i].lr.node = NULL;
	if (t->nthrown) {
		/* callers never seen exiting: the calls stay, where placed */
		for (size_t i = 0; i < t->nthrown; i++)
			lt_node_append(t->thrown[i].at, t->thrown[i].node);
		t->nthrown = 0;
		t->tainted |= LT_INC_THROW_OPEN;
	}
	/* (a suspended execution is marked incomplete in place) */
	if (why | t->tainted)
		rbi_exec_mark(e, why | t->tainted);
	/* every incomplete execution says why: none is a bug of this file,
	 * written "unknown", which tests/test_reasons.py looks for */
	if (!e->complete && !e->incomplete)
		e->incomplete = LT_INC_UNKNOWN;
	susp_forget_exec(&s->susp, e);
	if (e->dur_ns < 0 && !s->cfg.returns_only && t->last_ts >= e->start_ns)
		e->dur_ns = t->last_ts - e->start_ns;
	if (s->cfg.nspid) {
		e->nspid = s->cfg.nspid;
		e->nstid = t->nstid;
	}
	if (s->cfg.describe_process) {
		const struct rb_proc *p = u64map_get(&s->procs, (uint64_t)e->pid + 1);

		if (p) {
			/* interned (describe_process): they outlive p, for
			 * the trace writer's thread writing e later */
			e->cmdline = p->cmdline;
			e->container = p->cgroup;
			if (p->taint)
				rbi_exec_mark(e, p->taint);
		}
	}
	s->st.execs++;
	if (!e->complete)
		s->st.incomplete_execs++;
	t->exec = NULL;
	t->tainted = 0;
	s->emit(e, s->arg);
}

/* the entry of m for (addr, tgid) a forked process got from an ancestor
 * whose entry it is (a code or type object of its memory from before the
 * fork, such as a frame's that began in the parent: no CODE record of the
 * child names it, and the child may be gone before it can be read) */
static void *inherited(struct rb_state *s, struct hmap *m, uint32_t tgid, uint64_t addr)
{
	void *v;

	for (int depth = 0; depth < 16; depth++) {
		tgid = (uint32_t)(uintptr_t)u64map_get(&s->parents, (uint64_t)tgid + 1);
		if (!tgid)
			return NULL;
		if ((v = hmap_get(m, OBJ_K(addr), tgid)))
			return v;
	}
	return NULL;
}

void rb_fork(struct rb_state *s, uint32_t child, uint32_t parent)
{
	if (child && parent && child != parent)
		u64map_put(&s->parents, (uint64_t)child + 1, (void *)(uintptr_t)parent);
}

const struct code_info *rbi_code_of(struct rb_state *s, const struct rb_thread *t, uint64_t code)
{
	struct code_info *ci = hmap_get(&s->codes, OBJ_K(code), t->tgid);
	const struct code_info *pci;

	if (ci)
		return ci;
	if (s->cfg.resolve_code)
		s->cfg.resolve_code(s->cfg.resolve_arg, s, t->tgid, code);
	ci = hmap_get(&s->codes, OBJ_K(code), t->tgid);
	if (ci)
		return ci;
	pci = inherited(s, &s->codes, t->tgid, code);
	if (pci && pci->fn != s->unknown && (ci = malloc(sizeof(*ci)))) {
		*ci = *pci;
		rbi_obj_put(&s->codes, t->tgid, code, ci);
		return ci;
	}
	/* remembered as unknown, so that it is looked for once (a CODE
	 * record that comes later still names it) */
	ci = calloc(1, sizeof(*ci));
	if (!ci) {
		static struct code_info unknown;

		unknown.fn = s->unknown;
		unknown.line = -1;
		return &unknown;
	}
	rbi_obj_put(&s->codes, t->tgid, code, ci);
	ci->fn = s->unknown;
	ci->line = -1;
	return ci;
}

/* place a new call below parent (its attach point); fills f->node/attach */
void rbi_place(struct rb_state *s, struct rb_thread *t, const struct rb_frame *parent,
		  const struct code_info *ci, struct rb_frame *f)
{
	struct lt_node *at;
	int depth;

	if (parent) {
		at = parent->attach;
		depth = parent->adepth + 1;
	} else {
		at = t->exec ? t->exec->root : NULL;
		depth = 1;
	}
	f->node = NULL;
	f->attach = at;
	f->adepth = depth - 1;
	if (!at)
		return;
	if (ci->excluded) {
		s->st.excluded_calls++;
		return;
	}
	if (s->cfg.max_depth && depth > s->cfg.max_depth) {
		at->truncated_calls++;
		return;
	}
	f->node = lt_node_new(t->exec, ci->fn);
	f->node->file = ci->file;
	f->node->line = ci->line;
	lt_node_append(at, f->node);
	f->attach = f->node;
	f->adepth = depth;
	s->st.calls++;
}

struct rb_frame *rbi_push(struct rb_thread *t)
{
	return lt_push(&t->stk, &t->n, &t->cap, sizeof(*t->stk), 64);
}

/*
 * Resynchronise after a loss: the frames above keep are stale, their
 * returns were lost (a drop, or past the kernel's pending-uretprobe limit).
 * They are closed without a return, counted, and a root among them ends
 * its execution, incomplete, so that the executions after it start clean
 * (a root left on the stack would make every later root a nested call).
 */
void rbi_close_stale(struct rb_state *s, struct rb_thread *t, size_t keep)
{
	while (t->n > keep) {
		const struct rb_frame *f = &t->stk[--t->n];

		s->st.stale_frames++;
		t->tainted |= LT_INC_STALE_FRAMES;
		if (s->cfg.root_fn && f->is_root && --t->root_depth == 0 && t->exec)
			rbi_exec_close(s, t, LT_INC_STALE_FRAMES);
		/* a stale frame that had switched executions: the context
		 * below it is the one the frames under it run in */
		if (f->switched)
			rbi_switch_back(t, f);
	}
}

/* the live frame `frame` on t's stack: its index + 1, 0 if not live */
size_t rbi_live_index(const struct rb_thread *t, uint64_t frame)
{
	size_t i;

	for (i = t->n; i > 0; i--)
		if (t->stk[i - 1].frame == frame)
			break;
	return i;
}

/* system-wide: a process's command line and cgroup, read at its first
 * call (the process may be gone when its executions are written) */
static void process_seen(struct rb_state *s, uint32_t pid)
{
	struct rb_proc *p;

	if (!s->cfg.describe_process || !pid || u64map_get(&s->procs, (uint64_t)pid + 1))
		return;
	p = calloc(1, sizeof(*p));
	if (!p || u64map_put(&s->procs, (uint64_t)pid + 1, p)) {
		free(p);
		return;
	}
	s->cfg.describe_process(s->cfg.describe_arg, pid, &p->cmdline, &p->cgroup, &p->taint);
}

void rb_interp(struct rb_state *s, uint32_t tid, uint64_t frame, int64_t id, bool failed)
{
	struct rb_thread *t = thread_get(s, tid);

	if (!t)
		return;
	t->ip.frame = frame;
	t->ip.id = id;
	t->ip.set = true;
	t->ip.failed = failed;
}

/* an interpreter that could not be read (never a node's interp) */
#define INTERP_UNREAD UINT32_MAX

/* the interpreter an INTERP record told for this ENTRY or RET of frame (0:
 * none); a record for another frame is stale (the ENTRY or RET after it
 * was lost) and forgotten. Ids from 2^32 - 1 on (never seen: one
 * interpreter is created at a time) read as INTERP_UNREAD */
static uint32_t take_interp(struct rb_thread *t, uint64_t frame)
{
	bool match = t->ip.set && t->ip.frame == frame;

	t->ip.set = false;
	if (!match)
		return 0;
	if (t->ip.failed || t->ip.id < 0 || t->ip.id >= INTERP_UNREAD)
		return INTERP_UNREAD;
	return (uint32_t)t->ip.id;
}

/* n (of t's open execution) ran in interpreter id; unread: the execution
 * is incomplete instead */
void rbi_tag_interp(struct rb_thread *t, struct lt_node *n, uint32_t id)
{
	if (id == INTERP_UNREAD)
		t->tainted |= LT_INC_READ_FAILURES;
	else if (id)
		n->interp = id;
}

void rb_entry(struct rb_state *s, uint32_t tgid, uint32_t tid, uint32_t nstid, uint64_t ts,
	      uint64_t frame, uint64_t code, uint64_t previous)
{
	struct rb_thread *t;
	const struct code_info *ci;
	struct rb_frame *parent, *f;
	bool gen_resume;
	uint32_t interp;

	process_seen(s, tgid);
	t = thread_get(s, tid);
	if (!t)
		return;
	if (tgid)
		t->tgid = tgid;
	/* the thread's namespaced tid, as the BPF side saw it first */
	if (nstid && !t->nstid)
		t->nstid = nstid;
	ci = rbi_code_of(s, t, code);
	t->last_ts = ts;
	interp = take_interp(t, frame);
	if (!s->cfg.root_fn && !t->exec && !rbi_exec_open(s, t, ts, "<thread>"))
		return;
	parent = t->n ? &t->stk[t->n - 1] : NULL;
	/* a frame cannot start inside itself: the same RESUME seen twice
	 * (3.13's RESUME_CHECK falls back to RESUME after its site); after
	 * a loss it is the frame started again, its return lost */
	if (parent && parent->frame == frame && parent->code == code) {
		if (parent->epoch == s->loss_epoch)
			return;
		rbi_close_stale(s, t, t->n - 1);
	}
	/* the caller is live below the top: the frames above it are stale.
	 * A caller not live (started before attach, or 3.12+ the C stack's
	 * entry frame) tells nothing */
	if (previous && t->n && t->stk[t->n - 1].frame != previous) {
		size_t j = rbi_live_index(t, previous);

		if (j) {
			rbi_close_stale(s, t, j);
		} else if (ci->is_root && t->root_depth && t->stk[t->n - 1].epoch != s->loss_epoch) {
			/* a root called from outside every live frame, records
			 * lost since the top was pushed: the live root is stale
			 * (its return lost), not this one's caller */
			for (j = 0; j < t->n && !t->stk[j].is_root; j++)
				;
			rbi_close_stale(s, t, j);
		}
	}
	parent = t->n ? &t->stk[t->n - 1] : NULL;
	gen_resume = s->gens.len && hmap_del(&s->gens, OBJ_K(frame), t->tgid);
	if (s->susp.len && rbi_resume(s, t, frame, code, ts))
		return;
	f = rbi_push(t);
	if (!f) {
		t->tainted |= LT_INC_NO_MEMORY;
		return;
	}
	f->lr = (struct rb_lastret){ 0 };
	f->frame = frame;
	f->code = code;
	f->ts = f->t0 = ts;
	f->gen_resume = gen_resume;
	f->epoch = s->loss_epoch;
	f->is_root = ci->is_root;
	/* a bottom frame (no caller: 3.11, evalframe) runs where its INTERP
	 * said, the main interpreter without one; any other frame where its
	 * caller runs */
	f->interp = interp || !previous || !parent ? interp : parent->interp;
	if (s->cfg.root_fn && ci->is_root && t->root_depth++ == 0) {
		struct lt_exec *e;

		/* records lost while no execution was open came before this
		 * start (the drop counter's snapshot steps at the first
		 * record made after them): none is this execution's */
		t->loss_pending = false;
		e = rbi_exec_open(s, t, ts, ci->fn);

		if (!e)
			return;
		e->root->file = ci->file;
		e->root->line = ci->line;
		rbi_tag_interp(t, e->root, f->interp);
		f->node = f->attach = e->root;
		f->adepth = 0;
		s->st.calls++;
		return;
	}
	rbi_place(s, t, parent, ci, f);
	if (f->node)
		rbi_tag_interp(t, f->node, interp);
}

/* the name of a value's type (LT_RV_OTHER), NULL if unknown */
static const char *type_of(struct rb_state *s, const struct rb_thread *t, const struct lt_rec_ret *r)
{
	const char *tn;

	if (r->vkind != LT_RV_OTHER)
		return NULL;
	tn = hmap_get(&s->types, OBJ_K(r->type_ptr), t->tgid);
	if (!tn && s->cfg.resolve_type) {
		s->cfg.resolve_type(s->cfg.resolve_arg, s, t->tgid, r->type_ptr);
		tn = hmap_get(&s->types, OBJ_K(r->type_ptr), t->tgid);
	}
	if (!tn && (tn = inherited(s, &s->types, t->tgid, r->type_ptr)))
		rbi_obj_put(&s->types, t->tgid, r->type_ptr, (void *)tn);
	return tn;
}

/* n's return value from r; false when it could not be read (counted) */
bool rbi_put_ret(struct rb_state *s, struct rb_thread *t, struct lt_node *n,
		    const struct lt_rec_ret *r, const void *payload)
{
	const char *tn = type_of(s, t, r);
	bool ok = true;

	n->has_ret = true;
	if (lt_decode_ret(r, payload, tn, s->cfg.str_len, &t->exec->arena, &n->ret)) {
		s->st.read_failures++;
		ok = false;
	}
	if (n->ret.truncated && n->ret.kind == LT_V_STR && !s->cfg.returns_only)
		s->st.truncated_strings++;
	if (s->cfg.hash_key)
		lt_hash_value(&n->ret, s->cfg.hash_key, &t->exec->arena);
	return ok;
}

/* put_ret, a failure marking the thread's open execution */
void rbi_set_ret(struct rb_state *s, struct rb_thread *t, struct lt_node *n,
		    const struct lt_rec_ret *r, const void *payload)
{
	if (!rbi_put_ret(s, t, n, r, payload))
		t->tainted |= LT_INC_READ_FAILURES;
}

void rb_arg(struct rb_state *s, const struct lt_rec_ret *r, const void *payload)
{
	struct rb_thread *t = u64map_get(&s->threads, (uint64_t)r->tid + 1);
	struct rb_frame *f = t && t->n ? &t->stk[t->n - 1] : NULL;
	struct lt_node *n = f ? f->node : NULL;
	uint32_t argc = r->code < LT_MAX_ARGS ? r->code : LT_MAX_ARGS;
	const char *tn;

	if (!n || f->frame != r->frame || r->previous >= argc)
		return;
	if (!n->args) {
		n->args = lt_arena_alloc(&t->exec->arena, argc * sizeof(*n->args));
		n->nargs = argc;
		for (uint32_t i = 0; i < argc; i++)	/* an argument never sent stays unknown */
			n->args[i].type = s->unknown;
	}
	tn = type_of(s, t, r);
	if ((r->flags & LT_RF_READFAIL) ||
	    lt_decode_ret(r, payload, tn, s->cfg.str_len, &t->exec->arena, &n->args[r->previous])) {
		s->st.read_failures++;
		t->tainted |= LT_INC_READ_FAILURES;
	}
	if (s->cfg.hash_key)
		lt_hash_value(&n->args[r->previous], s->cfg.hash_key, &t->exec->arena);
}

/* take n, its parent's last child, out of the tree (its arena memory stays) */
void rbi_unlink_last(struct lt_node *n)
{
	struct lt_node *p = n->parent, *prev = NULL;

	for (struct lt_node *c = p->first; c && c != n; c = c->next)
		prev = c;
	if (prev)
		prev->next = NULL;
	else
		p->first = NULL;
	p->last = prev;
	p->ncalls--;
}

void rb_old_frame(struct rb_state *s, uint32_t tgid, uint64_t frame, uint64_t code)
{
	if (frame && code)
		rbi_obj_put(&s->old, tgid, frame, (void *)(uintptr_t)code);
}

/* n, a sub-interpreter's bottom call, as a top-level call of the thread's
 * execution, where --no-durations puts it (top-level calls in the order
 * they return): before the top-level call still running */
static void subinterp_top_level(struct rb_thread *t, struct lt_node *n)
{
	struct lt_node *root = t->exec->root, *open = t->stk[0].node, *prev = NULL;

	if (!open || open->parent != root) {
		lt_node_append(root, n);
		return;
	}
	for (struct lt_node *c = root->first; c != open; c = c->next)
		prev = c;
	n->parent = root;
	n->next = open;
	if (prev)
		prev->next = n;
	else
		root->first = n;
	root->ncalls++;
}

void rb_return(struct rb_state *s, const struct lt_rec_ret *r, const void *payload)
{
	struct rb_thread *t = thread_get(s, r->tid);
	struct rb_susp *sp;
	uint64_t prev_ts;
	size_t i;

	if (!t)
		return;
	prev_ts = t->last_ts;
	t->last_ts = r->ts;
	t->cur_interp = take_interp(t, r->frame);
	if (r->flags & LT_RF_READFAIL) {
		s->st.read_failures++;
		t->tainted |= LT_INC_READ_FAILURES;
	}
	if (s->cfg.returns_only) {
		/* no ENTRY says which process the thread is in */
		if (r->tgid && r->tgid != t->tgid) {
			process_seen(s, r->tgid);
			t->tgid = r->tgid;
		}
		rbi_ro_return(s, t, r, payload);
		return;
	}
	for (i = t->n; i > 0; i--)
		if (t->stk[i - 1].frame == r->frame && t->stk[i - 1].code == r->code)
			break;
	if (i == 0) {
		sp = susp_take(&s->susp, t->tgid, r->frame);
		if (sp && sp->code == r->code) {
			rbi_exit_unstarted(s, t, sp, prev_ts, r, payload);
			return;
		}
		if (sp)	/* freed: another code's frame at its address */
			rbi_abandon(s, t, sp, LT_INC_ABANDONED);
		rbi_unmatched_return(s, t, r, payload);
		return;
	}
	rbi_frame_exit(s, t, i, r, payload);
}

/* the return, yield or unwind of stack frame i - 1 of t */
void rbi_frame_exit(struct rb_state *s, struct rb_thread *t, size_t i, const struct lt_rec_ret *r,
		       const void *payload)
{
	struct rb_frame *f, cur;

	rbi_close_stale(s, t, i);	/* returns of the frames above were lost */
	t->n = i - 1;
	cur = t->stk[t->n];
	f = &cur;
	rbi_frame_exit_one(s, t, f, r, payload);
	if (f->switched)
		rbi_switch_back(t, f);
}

void rbi_frame_exit_one(struct rb_state *s, struct rb_thread *t, struct rb_frame *f,
			   const struct lt_rec_ret *r, const void *payload)
{
	uint64_t caller;

	if (r->flags & LT_RF_DROP) {	/* no call after all: forget it */
		if (f->node && f->node->parent) {
			rbi_unlink_last(f->node);
			s->st.calls--;
		}
		if (s->cfg.root_fn && f->is_root && --t->root_depth == 0 && t->exec) {
			lt_exec_free(t->exec);
			t->exec = NULL;
			s->st.calls--;
		}
		return;
	}
	if (s->gens.len)
		hmap_del(&s->gens, OBJ_K(f->frame), t->tgid);
	if (!f->attach && r->previous && s->susp.len)
		rbi_lost_run(s, t, r->previous);
	/* 3.11 return sites: a call made by the frame that returned last, a
	 * tracing hook of its return (the site fires before the hook runs),
	 * is a call of that frame's caller, as the USDT note (after the
	 * hook) has it */
	caller = r->previous;
	if (s->cfg.hooks_after_return && caller && caller == rbi_lastret_of(t)->frame)
		caller = rbi_lastret_of(t)->caller;
	/* (a generator's later run is where its resumer is, and when a
	 * throw() enters it its caller frame is the generator delegating to
	 * it, which did not run) */
	if (f->node && !f->resumed && !f->gen_resume && caller &&
	    (t->n == 0 || t->stk[t->n - 1].frame != caller)) {
		if (s->susp.len)
			rbi_adopt(s, t, f, caller);
		if (f->node->parent && (!s->susp.len || !susp_peek(&s->susp, t->tgid, caller)))
			rbi_orphan(t, f->node, caller);
	}
	if ((r->flags & LT_RF_YIELD) && !(r->flags & LT_RF_CORO) && f->attach) {
		/* a plain generator: each run is a call of its own; that it
		 * is suspended tells a throw() through it (unmatched_return) */
		if (s->gens.len >= RB_GENS_MAX)
			u64map_free(&s->gens);
		rbi_obj_put(&s->gens, t->tgid, f->frame, (void *)1);
	}
	if ((r->flags & LT_RF_YIELD) && (r->flags & LT_RF_CORO) && f->attach) {
		rbi_suspend(s, t, f, r, payload);
		return;
	}
	if (f->node) {
		rbi_set_ret(s, t, f->node, r, payload);
		rbi_tag_interp(t, f->node, t->cur_interp);
		f->node->dur_ns = r->ts - f->t0;
		if (f->resumed)
			f->node->run_ns = f->run + (r->ts - f->ts);
		if (t->nthrown)
			rbi_orphan_adopt(t, r->frame, f->node);
	}
	{
		struct rb_lastret *lr = rbi_lastret_of(t);

		if (lr->frame && r->previous == lr->frame)
			lr->live = true;	/* a hook's call made by that frame */
		else if ((r->flags & LT_RF_YIELD) || r->vkind == LT_RV_RAISE || !f->node)
			*lr = (struct rb_lastret){ 0 };
		else
			*lr = (struct rb_lastret){ r->frame, r->code, r->ts, f->node, false, r->previous };
	}
	/* a bottom frame (no caller) returning above frames of the thread:
	 * it ran in a sub-interpreter, which runs on the thread of the call
	 * that started it, and is no call of those frames. As --no-durations
	 * sees it: without --root a top-level call of the thread, with one
	 * outside every execution. So is a frame whose start said it runs in
	 * another interpreter than the frame below it (a call never crosses
	 * interpreters), whatever its return says (3.15: callbacks a
	 * sub-interpreter runs as it is destroyed return with a caller) */
	if (s->cfg.callers_at_return && t->n > 0 &&
	    (!r->previous || f->interp != t->stk[t->n - 1].interp) && f->node && f->node->parent &&
	    t->exec) {
		if (rbi_lastret_of(t)->node == f->node)
			*rbi_lastret_of(t) = (struct rb_lastret){ 0 };
		rbi_unlink_last(f->node);
		if (s->cfg.root_fn) {
			for (struct lt_node *c = f->node; c; c = lt_node_preorder_next(f->node, c))
				s->st.calls--;
		} else {
			subinterp_top_level(t, f->node);
		}
	}
	/* one execution per thread: a top-level call whose caller frame is
	 * still live (and was never seen) means the thread's execution began
	 * before attach */
	if (!s->cfg.root_fn && t->n == 0 && r->previous)
		t->tainted |= rbi_unseen_start(s, t);
	if (s->cfg.root_fn && f->is_root && --t->root_depth == 0 && t->exec) {
		t->exec->dur_ns = r->ts - f->t0;
		if (f->resumed)
			t->exec->run_ns = f->run + (r->ts - f->ts);
		rbi_exec_close(s, t, 0);
	}
}

static void thread_free(struct rb_thread *t)
{
	if (t->exec)
		lt_exec_free(t->exec);
	free(t->stk);
	free(t->pend);
	free(t->thrown);
	free(t);
}

/* why: the thread exited (LT_INC_EXITED) or recording stopped
 * (LT_INC_STOPPED), the reason of an execution it leaves unfinished */
static void thread_end(struct rb_state *s, struct rb_thread *t, uint32_t why)
{
	if (s->cfg.returns_only && s->susp.len && t->exec)
		rbi_ro_write_suspended(s, t, why);
	/* frames still live: their calls have not returned. --no-durations
	 * with --root: calls not under a returned root belong to no
	 * execution that can be written */
	if (!(s->cfg.returns_only && s->cfg.root_fn))
		rbi_exec_close(s, t, (s->cfg.returns_only ? t->np : t->n) ? why : 0);
	thread_free(t);
}

void rb_thread_exit(struct rb_state *s, uint32_t tid, uint32_t pid, uint64_t ts)
{
	struct rb_thread *t = u64map_del(&s->threads, (uint64_t)tid + 1);

	if (t) {
		if (ts > t->last_ts)
			t->last_ts = ts;
		thread_end(s, t, LT_INC_EXITED);
	}
	if (tid == pid) {	/* the process ends: forget it */
		free(u64map_del(&s->procs, (uint64_t)pid + 1));
		u64map_del(&s->parents, (uint64_t)pid + 1);
		rbi_write_suspended(s, pid, ts, LT_INC_EXITED);
	}
}

void rb_loss(struct rb_state *s)
{
	uint64_t k;
	void *v;

	s->loss_epoch++;
	for (size_t i = 0; u64map_next(&s->threads, &i, &k, &v);) {
		struct rb_thread *t = v;

		if (t->exec)
			t->tainted |= LT_INC_LOST_EVENTS;
		else
			t->loss_pending = true;
	}
	for (size_t i = 0; u64map_next(&s->susp, &i, &k, &v);) {
		struct rb_susp *sp = v;

		if (sp->owner)
			rbi_exec_mark(sp->exec, LT_INC_LOST_EVENTS);
		sp->tainted |= LT_INC_LOST_EVENTS;	/* --no-durations: outermost roots */
	}
}

void rb_finish(struct rb_state *s, uint64_t ts)
{
	uint64_t k;
	void *v;

	for (size_t i = 0; u64map_next(&s->threads, &i, &k, &v);) {
		struct rb_thread *t = v;

		if (ts > t->last_ts)
			t->last_ts = ts;
		thread_end(s, t, LT_INC_STOPPED);
	}
	u64map_free(&s->threads);
	rbi_write_suspended(s, 0, ts, LT_INC_STOPPED);
	susp_free(&s->susp);
}

const struct rb_stats *rb_stats(const struct rb_state *s)
{
	return &s->st;
}

size_t rb_nthreads(const struct rb_state *s)
{
	return s->threads.len;
}

void rb_free(struct rb_state *s)
{
	uint64_t k;
	void *v;

	if (!s)
		return;
	/* (entries first: an owner's execution is only in its entry) */
	susp_free(&s->susp);
	for (size_t i = 0; u64map_next(&s->threads, &i, &k, &v);)
		thread_free(v);
	for (size_t i = 0; u64map_next(&s->codes, &i, &k, &v);)
		free(v);
	for (size_t i = 0; u64map_next(&s->procs, &i, &k, &v);)
		free(v);
	u64map_free(&s->procs);
	u64map_free(&s->parents);
	u64map_free(&s->threads);
	hmap_free(&s->old);
	u64map_free(&s->gens);
	u64map_free(&s->codes);
	u64map_free(&s->types);
	free(s);
}
