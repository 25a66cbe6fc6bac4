/* SPDX-License-Identifier: MIT */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "record/hashval.h"
#include "record/rebuild.h"
#include "record/roots.h"
#include "record/suspend.h"
#include "common/u64map.h"
#include "record/values.h"
#include "trace/incomplete.h"

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

/* code and type objects are keyed (address, tgid), both whole; the
 * first word never 0 (hmap), whatever the address */
#define OBJ_K(addr)	((addr) | 1ULL << 63)

static void obj_put(struct hmap *m, uint32_t tgid, uint64_t addr, void *v)
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
		obj_put(&s->codes, tgid, addr, ci);
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
	obj_put(&s->types, tgid, addr, (void *)lt_intern(name));
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

static struct lt_exec *exec_open(struct rb_state *s, struct rb_thread *t, uint64_t ts, const char *root_fn)
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
static void exec_mark(struct lt_exec *e, uint32_t why)
{
	e->complete = false;
	e->incomplete |= why;
}

/* the thread's open execution is written; why: the reasons it is
 * incomplete, 0 when it is complete (as far as the thread's state says) */
static void exec_close(struct rb_state *s, struct rb_thread *t, uint32_t why)
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
		exec_mark(e, why | t->tainted);
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
			e->cmdline = p->cmdline;
			e->container = p->cgroup;
			if (p->taint)
				exec_mark(e, p->taint);
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

static const struct code_info *code_of(struct rb_state *s, const struct rb_thread *t, uint64_t code)
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
		obj_put(&s->codes, t->tgid, code, ci);
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
	obj_put(&s->codes, t->tgid, code, ci);
	ci->fn = s->unknown;
	ci->line = -1;
	return ci;
}

/* place a new call below parent (its attach point); fills f->node/attach */
static void place(struct rb_state *s, struct rb_thread *t, const struct rb_frame *parent,
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

static struct rb_frame *push(struct rb_thread *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct rb_frame *n = realloc(t->stk, cap * sizeof(*n));

		if (!n)
			return NULL;
		t->stk = n;
		t->cap = cap;
	}
	return memset(&t->stk[t->n++], 0, sizeof(struct rb_frame));
}

/*
 * Resynchronise after a loss: the frames above keep are stale, their
 * returns were lost (a drop, or past the kernel's pending-uretprobe limit).
 * They are closed without a return, counted, and a root among them ends
 * its execution, incomplete, so that the executions after it start clean
 * (a root left on the stack would make every later root a nested call).
 */
static void switch_back(struct rb_thread *t, const struct rb_frame *f);

static void close_stale(struct rb_state *s, struct rb_thread *t, size_t keep)
{
	while (t->n > keep) {
		const struct rb_frame *f = &t->stk[--t->n];

		s->st.stale_frames++;
		t->tainted |= LT_INC_STALE_FRAMES;
		if (s->cfg.root_fn && f->is_root && --t->root_depth == 0 && t->exec)
			exec_close(s, t, LT_INC_STALE_FRAMES);
		/* a stale frame that had switched executions: the context
		 * below it is the one the frames under it run in */
		if (f->switched)
			switch_back(t, f);
	}
}

/* the live frame `frame` on t's stack: its index + 1, 0 if not live */
static size_t live_index(const struct rb_thread *t, uint64_t frame)
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

static bool resume(struct rb_state *s, struct rb_thread *t, uint64_t frame, uint64_t code,
		   uint64_t ts);

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
static void tag_interp(struct rb_thread *t, struct lt_node *n, uint32_t id)
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
	ci = code_of(s, t, code);
	t->last_ts = ts;
	interp = take_interp(t, frame);
	if (!s->cfg.root_fn && !t->exec && !exec_open(s, t, ts, "<thread>"))
		return;
	parent = t->n ? &t->stk[t->n - 1] : NULL;
	/* a frame cannot start inside itself: the same RESUME seen twice
	 * (3.13's RESUME_CHECK falls back to RESUME after its site); after
	 * a loss it is the frame started again, its return lost */
	if (parent && parent->frame == frame && parent->code == code) {
		if (parent->epoch == s->loss_epoch)
			return;
		close_stale(s, t, t->n - 1);
	}
	/* the caller is live below the top: the frames above it are stale.
	 * A caller not live (started before attach, or 3.12+ the C stack's
	 * entry frame) tells nothing */
	if (previous && t->n && t->stk[t->n - 1].frame != previous) {
		size_t j = live_index(t, previous);

		if (j) {
			close_stale(s, t, j);
		} else if (ci->is_root && t->root_depth && t->stk[t->n - 1].epoch != s->loss_epoch) {
			/* a root called from outside every live frame, records
			 * lost since the top was pushed: the live root is stale
			 * (its return lost), not this one's caller */
			for (j = 0; j < t->n && !t->stk[j].is_root; j++)
				;
			close_stale(s, t, j);
		}
	}
	parent = t->n ? &t->stk[t->n - 1] : NULL;
	gen_resume = s->gens.len && hmap_del(&s->gens, OBJ_K(frame), t->tgid);
	if (s->susp.len && resume(s, t, frame, code, ts))
		return;
	f = push(t);
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
		struct lt_exec *e = exec_open(s, t, ts, ci->fn);

		if (!e)
			return;
		e->root->file = ci->file;
		e->root->line = ci->line;
		tag_interp(t, e->root, f->interp);
		f->node = f->attach = e->root;
		f->adepth = 0;
		s->st.calls++;
		return;
	}
	place(s, t, parent, ci, f);
	if (f->node)
		tag_interp(t, f->node, interp);
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
		obj_put(&s->types, t->tgid, r->type_ptr, (void *)tn);
	return tn;
}

/* n's return value from r; false when it could not be read (counted) */
static bool put_ret(struct rb_state *s, struct rb_thread *t, struct lt_node *n,
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
static void set_ret(struct rb_state *s, struct rb_thread *t, struct lt_node *n,
		    const struct lt_rec_ret *r, const void *payload)
{
	if (!put_ret(s, t, n, r, payload))
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

/*
 * A frame whose return the return sites saw, then a hook (sys.settrace,
 * sys.setprofile) raised on its return event, so it exits again by
 * exception: the hook's calls ran inside it (their caller was that frame),
 * yet came after its return. 1: r is that second exit, and the calls after
 * its node become its children, its ret the raise (exact, when a hook's
 * Python call proved the frame still ran); -1: r may be one, unproven or
 * its execution written already (incomplete); 0: r is not one.
 */
static struct rb_lastret *lastret_of(struct rb_thread *t)
{
	return t->n ? &t->stk[t->n - 1].lr : &t->lr0;
}

static int hook_raised(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
		       const void *payload)
{
	struct rb_lastret *lr = lastret_of(t);
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
	set_ret(s, t, n, r, payload);
	if (n->dur_ns >= 0)
		n->dur_ns += r->ts - lr->ts;
	*lr = (struct rb_lastret){ 0 };
	return 1;
}

static void unlink_last(struct lt_node *n);

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
	unlink_last(n);
	return true;
}

/* the waiting calls made by frame become n's children, in exit order */
static void orphan_adopt(struct rb_thread *t, uint64_t frame, struct lt_node *n)
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
static void unlink_last(struct lt_node *n);

/* why a call whose start was not seen makes its execution incomplete: a
 * loss already said (the start was among the records lost), else it
 * began before attach, or (a command traced from its start) a start the
 * probes did not see */
static uint32_t unseen_start(const struct rb_state *s, const struct rb_thread *t)
{
	if (t->tainted & (LT_INC_LOST_EVENTS | LT_INC_STALE_FRAMES))
		return 0;
	/* (a root seen starting after attach: its calls began after it) */
	if (s->cfg.from_start || (s->cfg.root_fn && t->root_depth && t->exec &&
				  t->exec->start_ns >= s->cfg.complete_after_ns))
		return LT_INC_START_UNSEEN;
	return LT_INC_BEFORE_ATTACH;
}

static void unmatched_return(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
			     const void *payload)
{
	const struct code_info *ci = code_of(s, t, r->code);
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
		size_t j = live_index(t, r->previous);

		if (j) {
			close_stale(s, t, j);
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
		if (!exec_open(s, t, r->ts, ci->fn))
			return;
		t->exec->root->file = ci->file;
		t->exec->root->line = ci->line;
		tag_interp(t, t->exec->root, t->cur_interp);
		set_ret(s, t, t->exec->root, r, payload);
		s->st.calls++;
		exec_close(s, t, thrown_in ? 0 : unseen_start(s, t));
		return;
	}
	if (!t->exec)
		return;
	if (was_gen && (r->flags & LT_RF_YIELD))	/* suspended again */
		obj_put(&s->gens, t->tgid, r->frame, (void *)1);
	/* the calls that run made were placed under the frame that called
	 * throw(): they are its own */
	while (t->norph && top && top->attach && na < RB_ORPHANS &&
	       t->orph[t->norph - 1].caller == r->frame &&
	       top->attach->last == t->orph[t->norph - 1].node) {
		adopted[na++] = t->orph[--t->norph].node;
		unlink_last(adopted[na - 1]);
	}
	place(s, t, top, ci, &f);
	for (int i = na; i-- > 0;)
		lt_node_append(f.node ? f.node : top->attach, adopted[i]);
	if (f.node) {
		set_ret(s, t, f.node, r, payload);
		tag_interp(t, f.node, t->cur_interp);
		if (t->nthrown)
			orphan_adopt(t, r->frame, f.node);
	}
	/* its caller not live: maybe a frame thrown into, whose exit comes */
	if (!thrown_in && !hook && f.node && r->previous && orphan_push(t, r->previous, f.node))
		return;
	if (ambiguous)
		t->tainted |= LT_INC_THROW_AMBIGUOUS;
	else if (!thrown_in)
		t->tainted |= unseen_start(s, t);
}

/* a call whose caller frame was not below it on the stack */
static void orphan(struct rb_thread *t, struct lt_node *n, uint64_t caller)
{
	if (t->norph == RB_ORPHANS) {
		memmove(t->orph, t->orph + 1, sizeof(t->orph[0]) * (RB_ORPHANS - 1));
		t->norph--;
	}
	t->orph[t->norph].node = n;
	t->orph[t->norph++].caller = caller;
}

/* take n, its parent's last child, out of the tree (its arena memory stays) */
static void unlink_last(struct lt_node *n)
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
		obj_put(&s->old, tgid, frame, (void *)(uintptr_t)code);
}

static struct rb_pend *pend_push(struct rb_thread *t)
{
	if (t->np == t->pcap) {
		size_t cap = t->pcap ? t->pcap * 2 : 64;
		struct rb_pend *n = realloc(t->pend, cap * sizeof(*n));

		if (!n)
			return NULL;
		t->pend = n;
		t->pcap = cap;
	}
	return &t->pend[t->np++];
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

	exec_close(s, t, why);
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
	if (!put_ret(s, t, n, r, payload))
		p->readfail = true;
}

/* --no-durations: one return (see rebuild.h) */
static void ro_return(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
		      const void *payload)
{
	const struct code_info *ci = code_of(s, t, r->code);
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
	if (!t->exec && !exec_open(s, t, r->ts, s->cfg.root_fn ? ci->fn : "<thread>"))
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
	tag_interp(t, n, t->cur_interp);
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
	set_ret(s, t, n, r, payload);
	tag_interp(t, n, t->cur_interp);
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


/* ---- suspended frames (suspend.h): one call per generator frame -------- */

/* write an execution that is not the thread's open one */
static void write_detached(struct rb_state *s, struct rb_thread *t, struct lt_exec *e, uint32_t why)
{
	struct lt_exec *cur = t->exec;
	uint32_t tainted = t->tainted;

	t->exec = e;
	t->tainted = 0;
	exec_close(s, t, why);
	t->exec = cur;
	t->tainted = tainted;
}

/* a suspended frame that will not run again as recorded (freed, or resumed
 * where its execution does not run): an owner's execution is written,
 * incomplete (its root never returned) */
static void abandon(struct rb_state *s, struct rb_thread *t, struct rb_susp *sp, uint32_t why)
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
	struct rb_frame *f = push(t);

	if (!f) {
		t->tainted |= LT_INC_NO_MEMORY;
		abandon(s, t, sp, LT_INC_NO_MEMORY);
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
static void switch_back(struct rb_thread *t, const struct rb_frame *f)
{
	if (t->tainted && t->exec)
		exec_mark(t->exec, t->tainted);
	t->exec = f->saved_exec;
	t->tainted = f->saved_tainted;
	t->root_depth = f->saved_depth;
}

/* ENTRY of a frame: true if it is a suspended one that resumes (pushed) */
static bool resume(struct rb_state *s, struct rb_thread *t, uint64_t frame, uint64_t code,
		   uint64_t ts)
{
	struct rb_susp *sp = susp_take(&s->susp, t->tgid, frame);

	if (!sp)
		return false;
	if (sp->code != code) {	/* freed: another code's frame at its address */
		abandon(s, t, sp, LT_INC_ABANDONED);
		return false;
	}
	return push_suspended(s, t, sp, frame, ts);
}

/* a frame (popped, f) yields inside an execution: it keeps its node */
static void suspend(struct rb_state *s, struct rb_thread *t, struct rb_frame *f,
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
		set_ret(s, t, f->node, r, payload);
		tag_interp(t, f->node, t->cur_interp);
		f->node->dur_ns = r->ts - f->t0;
		f->node->run_ns = sp->run;
	}
	if (s->cfg.root_fn && f->is_root && --t->root_depth == 0 && t->exec) {
		/* the execution waits with its root: other executions may
		 * run on the thread meanwhile */
		sp->owner = true;
		if (t->tainted)
			exec_mark(t->exec, t->tainted);
		t->exec = NULL;
		t->tainted = 0;
	}
	susp_put(&s->susp, t->tgid, f->frame, sp);
}

/* 3.12+: a generator entered by throw()/close() runs without a frame
 * start (no RESUME), so the calls of that run were placed under the frame
 * that called throw(); the caller frame of their return says where they
 * belong */
static void adopt(struct rb_state *s, struct rb_thread *t, struct rb_frame *f, uint64_t caller)
{
	struct rb_susp *sp = susp_peek(&s->susp, t->tgid, caller);
	struct lt_node *n = f->node;

	if (!sp || !sp->attach || sp->exec != t->exec || !n->parent || n->parent->last != n)
		return;
	unlink_last(n);
	lt_node_append(sp->attach, n);
}

static void frame_exit(struct rb_state *s, struct rb_thread *t, size_t i, const struct lt_rec_ret *r,
		       const void *payload);

/* a call outside every execution whose caller is a suspended frame: that
 * frame runs, entered by throw() without a frame start (asyncio cancelling
 * a task whose coroutine catches the exception), and this call, made
 * before its next suspension, was not recorded. Its execution is
 * incomplete. (A caller frame in ENTRY records would place it.) */
static void lost_run(struct rb_state *s, struct rb_thread *t, uint64_t caller)
{
	struct rb_susp *sp = susp_peek(&s->susp, t->tgid, caller);

	if (sp && sp->exec)
		exec_mark(sp->exec, LT_INC_THROW_UNSEEN);
}
static void frame_exit_one(struct rb_state *s, struct rb_thread *t, struct rb_frame *f,
			   const struct lt_rec_ret *r, const void *payload);

/* the exit of a suspended frame that ran without a frame start (3.12+
 * throw()/close(), e.g. asyncio cancelling a task): a run from the
 * thread's previous event, ts */
static void exit_unstarted(struct rb_state *s, struct rb_thread *t, struct rb_susp *sp, uint64_t ts,
			   const struct lt_rec_ret *r, const void *payload)
{
	if (push_suspended(s, t, sp, r->frame, ts < r->ts ? ts : r->ts))
		frame_exit(s, t, t->n, r, payload);
}

/* executions whose root is suspended (of process tgid, 0: all) are
 * written, incomplete for why: their root never returned */
static void write_suspended(struct rb_state *s, uint32_t tgid, uint64_t ts, uint32_t why)
{
	size_t n;
	struct rb_susp **v = susp_take_owners(&s->susp, tgid, &n);

	for (size_t i = 0; i < n; i++) {
		struct rb_thread tmp = { .tid = v[i]->exec->tid, .tgid = v[i]->exec->pid, .last_ts = ts };

		tmp.exec = v[i]->exec;
		exec_close(s, &tmp, why);
		free(v[i]);
	}
	free(v);
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
		ro_return(s, t, r, payload);
		return;
	}
	for (i = t->n; i > 0; i--)
		if (t->stk[i - 1].frame == r->frame && t->stk[i - 1].code == r->code)
			break;
	if (i == 0) {
		sp = susp_take(&s->susp, t->tgid, r->frame);
		if (sp && sp->code == r->code) {
			exit_unstarted(s, t, sp, prev_ts, r, payload);
			return;
		}
		if (sp)	/* freed: another code's frame at its address */
			abandon(s, t, sp, LT_INC_ABANDONED);
		unmatched_return(s, t, r, payload);
		return;
	}
	frame_exit(s, t, i, r, payload);
}

/* the return, yield or unwind of stack frame i - 1 of t */
static void frame_exit(struct rb_state *s, struct rb_thread *t, size_t i, const struct lt_rec_ret *r,
		       const void *payload)
{
	struct rb_frame *f, cur;

	close_stale(s, t, i);	/* returns of the frames above were lost */
	t->n = i - 1;
	cur = t->stk[t->n];
	f = &cur;
	frame_exit_one(s, t, f, r, payload);
	if (f->switched)
		switch_back(t, f);
}

static void frame_exit_one(struct rb_state *s, struct rb_thread *t, struct rb_frame *f,
			   const struct lt_rec_ret *r, const void *payload)
{
	uint64_t caller;

	if (r->flags & LT_RF_DROP) {	/* no call after all: forget it */
		if (f->node && f->node->parent) {
			unlink_last(f->node);
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
		lost_run(s, t, r->previous);
	/* 3.11 return sites: a call made by the frame that returned last, a
	 * tracing hook of its return (the site fires before the hook runs),
	 * is a call of that frame's caller, as the USDT note (after the
	 * hook) has it */
	caller = r->previous;
	if (s->cfg.hooks_after_return && caller && caller == lastret_of(t)->frame)
		caller = lastret_of(t)->caller;
	/* (a generator's later run is where its resumer is, and when a
	 * throw() enters it its caller frame is the generator delegating to
	 * it, which did not run) */
	if (f->node && !f->resumed && !f->gen_resume && caller &&
	    (t->n == 0 || t->stk[t->n - 1].frame != caller)) {
		if (s->susp.len)
			adopt(s, t, f, caller);
		if (f->node->parent && (!s->susp.len || !susp_peek(&s->susp, t->tgid, caller)))
			orphan(t, f->node, caller);
	}
	if ((r->flags & LT_RF_YIELD) && !(r->flags & LT_RF_CORO) && f->attach) {
		/* a plain generator: each run is a call of its own; that it
		 * is suspended tells a throw() through it (unmatched_return) */
		if (s->gens.len >= RB_GENS_MAX)
			u64map_free(&s->gens);
		obj_put(&s->gens, t->tgid, f->frame, (void *)1);
	}
	if ((r->flags & LT_RF_YIELD) && (r->flags & LT_RF_CORO) && f->attach) {
		suspend(s, t, f, r, payload);
		return;
	}
	if (f->node) {
		set_ret(s, t, f->node, r, payload);
		tag_interp(t, f->node, t->cur_interp);
		f->node->dur_ns = r->ts - f->t0;
		if (f->resumed)
			f->node->run_ns = f->run + (r->ts - f->ts);
		if (t->nthrown)
			orphan_adopt(t, r->frame, f->node);
	}
	{
		struct rb_lastret *lr = lastret_of(t);

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
		if (lastret_of(t)->node == f->node)
			*lastret_of(t) = (struct rb_lastret){ 0 };
		unlink_last(f->node);
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
		t->tainted |= unseen_start(s, t);
	if (s->cfg.root_fn && f->is_root && --t->root_depth == 0 && t->exec) {
		t->exec->dur_ns = r->ts - f->t0;
		if (f->resumed)
			t->exec->run_ns = f->run + (r->ts - f->ts);
		exec_close(s, t, 0);
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

/* --no-durations: the thread ends with outermost roots suspended (their
 * trees in its scratch arena): written, incomplete (a coroutine resumed on
 * another thread is only followed with frame starts) */
static void ro_write_suspended(struct rb_state *s, struct rb_thread *t, uint32_t why)
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
			exec_close(s, &tmp, why | v[i]->tainted);
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

/* why: the thread exited (LT_INC_EXITED) or recording stopped
 * (LT_INC_STOPPED), the reason of an execution it leaves unfinished */
static void thread_end(struct rb_state *s, struct rb_thread *t, uint32_t why)
{
	if (s->cfg.returns_only && s->susp.len && t->exec)
		ro_write_suspended(s, t, why);
	/* frames still live: their calls have not returned. --no-durations
	 * with --root: calls not under a returned root belong to no
	 * execution that can be written */
	if (!(s->cfg.returns_only && s->cfg.root_fn))
		exec_close(s, t, (s->cfg.returns_only ? t->np : t->n) ? why : 0);
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
		write_suspended(s, pid, ts, LT_INC_EXITED);
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
			exec_mark(sp->exec, LT_INC_LOST_EVENTS);
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
	write_suspended(s, 0, ts, LT_INC_STOPPED);
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
