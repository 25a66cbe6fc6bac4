/* SPDX-License-Identifier: MIT */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "record/hashval.h"
#include "record/rebuild.h"
#include "common/u64map.h"
#include "record/values.h"

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
};

struct rb_frame {
	struct rb_lastret lr;	/* of its calls */
	uint64_t frame, code, ts;
	struct lt_node *node;	/* this call's node, NULL if not recorded */
	struct lt_node *attach;	/* where this frame's children go (NULL: nowhere) */
	int adepth;		/* depth of attach below the execution root */
	bool is_root;
};

/* --no-durations: a call that returned before its caller did */
struct rb_pend {
	uint64_t frame, previous;
	uint64_t first_ts;	/* the earliest return in its subtree */
	struct lt_node *node;
	uint32_t ncalls;	/* calls in its subtree */
	uint32_t ntrunc;	/* truncated strings in its subtree */
	uint64_t code;
};

/* --no-durations with --root: calls kept while no execution ends, beyond
 * which they are dropped (and the execution they may belong to marked
 * incomplete) */
#define RB_PEND_MAX_CALLS (4u << 20)

struct rb_thread {
	uint32_t tid, tgid;
	uint32_t nstid;		/* tid in the target's pid namespace, 0: unknown */
	struct rb_frame *stk;
	size_t n, cap;
	struct rb_pend *pend;	/* --no-durations */
	size_t np, pcap;
	uint64_t scratch_calls;	/* nodes in the open execution's arena */
	bool gap;		/* pending calls were dropped */
	bool emitted;		/* an execution of this thread was written */
	struct lt_exec *exec;	/* the open execution, if any */
	int root_depth;		/* calls of the root function live on the stack */
	bool tainted;		/* events of the open execution may be missing */
	uint64_t last_ts;
	struct rb_lastret lr0;	/* of its calls that no live frame made */
	/* calls thrown into (no RESUME seen) by a frame itself thrown into,
	 * whose exit is still to come: a generator closed while it closes
	 * another (a chain of generators collected). Out of the tree until
	 * that exit adopts them (see orphan_adopt) */
	struct rb_orphan {
		uint64_t previous;
		struct lt_node *node, *at;	/* where it was placed */
	} *orph;
	size_t norph, corph;
};

/* a process met system-wide (cfg.describe_process) */
struct rb_proc {
	const char *cmdline, *cgroup;
};

struct rb_state {
	struct rb_config cfg;
	rb_emit_fn emit;
	void *arg;
	struct u64map codes;	/* code address -> struct code_info */
	struct u64map types;	/* type address -> interned tp_name */
	struct u64map threads;	/* tid -> struct rb_thread */
	struct u64map procs;	/* system-wide: pid+1 -> struct rb_proc */
	struct u64map old;	/* --no-durations: frame live at attach -> code */
	struct rb_stats st;
	const char *unknown;
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

static bool name_matches(const char *qualname, const char *want)
{
	const char *dot;

	if (!strcmp(qualname, want))
		return true;
	dot = strrchr(qualname, '.');
	return dot && !strcmp(dot + 1, want);
}

void rb_code(struct rb_state *s, uint64_t code, const char *qualname, const char *file, int line)
{
	struct code_info *ci = u64map_get(&s->codes, code);
	/* (code is the CODE record's key: address and tgid) */

	if (!ci) {
		ci = calloc(1, sizeof(*ci));
		if (!ci || u64map_put(&s->codes, code, ci)) {
			free(ci);
			return;
		}
	}
	ci->fn = lt_intern(qualname);
	ci->file = file ? lt_intern(file) : NULL;
	ci->line = line;
	ci->is_root = s->cfg.root_fn && name_matches(qualname, s->cfg.root_fn);
	ci->excluded = false;
	/* what the 3.13 shim that checks __init__'s result is called; with
	 * frame starts it is never seen starting (no RESUME) */
	ci->init_shim = line == 0 && file && !strcmp(file, "__init__") && !strcmp(qualname, "__init__");
	for (const char *const *g = s->cfg.exclude; g && *g && file; g++)
		if (!fnmatch(*g, file, 0))
			ci->excluded = true;
}

void rb_type(struct rb_state *s, uint64_t type_ptr, const char *name)
{
	u64map_put(&s->types, type_ptr, (void *)lt_intern(name));
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
	t->tainted = false;
	return e;
}

static void exec_close(struct rb_state *s, struct rb_thread *t, bool complete)
{
	struct lt_exec *e = t->exec;

	if (!e)
		return;
	/* its nodes leave with e */
	t->lr0.node = NULL;
	for (size_t i = 0; i < t->n; i++)
		t->stk[i].lr.node = NULL;
	if (t->norph) {
		/* callers never seen exiting: the calls stay, where placed */
		for (size_t i = 0; i < t->norph; i++)
			lt_node_append(t->orph[i].at, t->orph[i].node);
		t->norph = 0;
		t->tainted = true;
	}
	e->complete = complete && !t->tainted;
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
		}
	}
	s->st.execs++;
	if (!e->complete)
		s->st.incomplete_execs++;
	t->exec = NULL;
	t->tainted = false;
	s->emit(e, s->arg);
}

static const struct code_info *code_of(struct rb_state *s, const struct rb_thread *t, uint64_t code)
{
	uint64_t key = LT_OBJ_KEY(t->tgid, code);
	struct code_info *ci = u64map_get(&s->codes, key);

	if (ci)
		return ci;
	if (s->cfg.resolve_code)
		s->cfg.resolve_code(s->cfg.resolve_arg, s, t->tgid, code);
	ci = u64map_get(&s->codes, key);
	if (ci)
		return ci;
	/* remembered as unknown, so that it is looked for once (a CODE
	 * record that comes later still names it) */
	ci = calloc(1, sizeof(*ci));
	if (!ci || u64map_put(&s->codes, key, ci)) {
		static struct code_info unknown;

		free(ci);
		unknown.fn = s->unknown;
		unknown.line = -1;
		return &unknown;
	}
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
	s->cfg.describe_process(s->cfg.describe_arg, pid, &p->cmdline, &p->cgroup);
}

void rb_entry(struct rb_state *s, uint32_t tgid, uint32_t tid, uint32_t nstid, uint64_t ts,
	      uint64_t frame, uint64_t code)
{
	struct rb_thread *t;
	const struct code_info *ci;
	struct rb_frame *parent, *f;

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
	if (!s->cfg.root_fn && !t->exec && !exec_open(s, t, ts, "<thread>"))
		return;
	parent = t->n ? &t->stk[t->n - 1] : NULL;
	/* a frame cannot start inside itself: the same RESUME seen twice
	 * (3.13's RESUME_CHECK falls back to RESUME after its site) */
	if (parent && parent->frame == frame && parent->code == code)
		return;
	f = push(t);
	if (!f) {
		t->tainted = true;
		return;
	}
	f->lr = (struct rb_lastret){ 0 };
	f->frame = frame;
	f->code = code;
	f->ts = ts;
	f->is_root = ci->is_root;
	if (s->cfg.root_fn && ci->is_root && t->root_depth++ == 0) {
		struct lt_exec *e = exec_open(s, t, ts, ci->fn);

		if (!e)
			return;
		e->root->file = ci->file;
		e->root->line = ci->line;
		f->node = f->attach = e->root;
		f->adepth = 0;
		s->st.calls++;
		return;
	}
	place(s, t, parent, ci, f);
}

static void set_ret(struct rb_state *s, struct rb_thread *t, struct lt_node *n,
		    const struct lt_rec_ret *r, const void *payload)
{
	const char *tn = r->vkind == LT_RV_OTHER ?
		u64map_get(&s->types, LT_OBJ_KEY(t->tgid, r->type_ptr)) : NULL;

	n->has_ret = true;
	if (lt_decode_ret(r, payload, tn, s->cfg.str_len, &t->exec->arena, &n->ret)) {
		s->st.read_failures++;
		t->tainted = true;
	}
	if (n->ret.truncated && !s->cfg.returns_only)
		s->st.truncated_strings++;
	if (s->cfg.hash_key)
		lt_hash_value(&n->ret, s->cfg.hash_key, &t->exec->arena);
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
	tn = r->vkind == LT_RV_OTHER ? u64map_get(&s->types, LT_OBJ_KEY(t->tgid, r->type_ptr)) : NULL;
	if ((r->flags & LT_RF_READFAIL) ||
	    lt_decode_ret(r, payload, tn, s->cfg.str_len, &t->exec->arena, &n->args[r->previous])) {
		s->st.read_failures++;
		t->tainted = true;
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
	if (t->norph == t->corph) {
		size_t cap = t->corph ? 2 * t->corph : 16;
		struct rb_orphan *o = realloc(t->orph, cap * sizeof(*o));

		if (!o)
			return false;
		t->orph = o;
		t->corph = cap;
	}
	t->orph[t->norph++] = (struct rb_orphan){ previous, n, n->parent };
	unlink_last(n);
	return true;
}

/* the waiting calls made by frame become n's children, in exit order */
static void orphan_adopt(struct rb_thread *t, uint64_t frame, struct lt_node *n)
{
	size_t k = 0;

	for (size_t i = 0; i < t->norph; i++) {
		if (t->orph[i].previous == frame)
			lt_node_append(n, t->orph[i].node);
		else
			t->orph[k++] = t->orph[i];
	}
	t->norph = k;
}

/* a RET for a frame that is not live: its start was not seen */
static void unmatched_return(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
			     const void *payload)
{
	const struct code_info *ci = code_of(s, t, r->code);
	struct rb_frame *top = t->n ? &t->stk[t->n - 1] : NULL;
	struct rb_frame f = { 0 };
	/* a generator finished by throw()/close() is entered without RESUME
	 * (3.11 closes a never-started one so, at close() or collection):
	 * its caller is live and was seen, or, no Python frame running (a
	 * generator finalised at interpreter exit), nothing can have begun
	 * before attach. Anything else means the start was before attach or
	 * was lost */
	bool thrown_in = top ? r->previous && top->frame == r->previous :
			       s->cfg.from_start && !r->previous;
	int hook = hook_raised(s, t, r, payload);

	if (hook > 0)
		return;
	thrown_in = thrown_in && !hook;

	/* 3.12+: a frame of a plain function that was never seen starting
	 * never ran RESUME, so it was not a call (the __init__ shim of 3.13,
	 * or a call whose arguments did not bind) */
	if ((r->flags & (LT_RF_NOTGEN | LT_RF_DROP)) && top && top->frame == r->previous)
		return;
	s->st.unmatched_returns++;
	if (s->cfg.root_fn && ci->is_root && t->root_depth == 0) {
		/* a root call that began before attach: written, incomplete;
		 * a root generator thrown into: complete (no dur_ns) */
		if (!exec_open(s, t, r->ts, ci->fn))
			return;
		t->exec->root->file = ci->file;
		t->exec->root->line = ci->line;
		set_ret(s, t, t->exec->root, r, payload);
		s->st.calls++;
		exec_close(s, t, thrown_in);
		return;
	}
	if (!t->exec)
		return;
	place(s, t, top, ci, &f);
	if (f.node) {
		set_ret(s, t, f.node, r, payload);
		if (t->norph)
			orphan_adopt(t, r->frame, f.node);
	}
	/* its caller not live: maybe a frame thrown into, whose exit comes */
	if (!thrown_in && !hook && f.node && r->previous && orphan_push(t, r->previous, f.node))
		return;
	if (!thrown_in)
		t->tainted = true;
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

void rb_old_frame(struct rb_state *s, uint64_t frame, uint64_t code)
{
	if (frame && code)
		u64map_put(&s->old, frame, (void *)(uintptr_t)code);
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

/* --no-durations: the execution rooted at n (returned last) is written */
static void ro_emit(struct rb_state *s, struct rb_thread *t, struct lt_node *n, const struct lt_rec_ret *r,
		    const struct rb_pend *sum, bool old)
{
	struct lt_exec *e = t->exec;
	bool complete = (r->flags & LT_RF_ROOT_OUTER) && !old && !t->gap &&
			r->ts >= s->cfg.complete_after_ns &&
			!(s->cfg.first_exec_incomplete && !t->emitted);

	/* everything still pending is outside every root: its callers are
	 * callers of this outermost root */
	t->np = 0;
	e->root = n;
	n->parent = NULL;
	n->next = NULL;
	e->start_ns = sum->first_ts;
	e->dur_ns = -1;
	s->st.calls += sum->ncalls;
	s->st.truncated_strings += sum->ntrunc;
	t->emitted = true;
	t->gap = false;
	t->scratch_calls = 0;
	exec_close(s, t, complete);
}

/* --no-durations: one return (see rebuild.h) */
static void ro_return(struct rb_state *s, struct rb_thread *t, const struct lt_rec_ret *r,
		      const void *payload)
{
	const struct code_info *ci = code_of(s, t, r->code);
	struct rb_pend sum = { r->frame, r->previous, r->ts, NULL, 1, 0 }, *p;
	struct lt_node *n;
	bool old = false;
	size_t k;

	if (r->flags & LT_RF_DROP)	/* 3.12+: not a call */
		return;
	if (s->old.len && (uintptr_t)u64map_get(&s->old, r->frame) == r->code) {
		u64map_del(&s->old, r->frame);
		old = true;
		if (!s->cfg.root_fn)	/* its earlier calls were not seen */
			t->tainted = true;
	}
	if (!t->exec && !exec_open(s, t, r->ts, s->cfg.root_fn ? ci->fn : "<thread>"))
		return;
	for (k = t->np; k > 0 && t->pend[k - 1].previous == r->frame; k--) {
		sum.ncalls += t->pend[k - 1].ncalls;
		sum.ntrunc += t->pend[k - 1].ntrunc;
		if (t->pend[k - 1].first_ts < sum.first_ts)
			sum.first_ts = t->pend[k - 1].first_ts;
	}
	sum.code = r->code;
	/* a hook raising on the return event (see hook_raised): the frame
	 * exits again by exception after calls whose caller it was, which
	 * prove it still ran: they join its node, whose ret is the raise */
	if (r->vkind == LT_RV_RAISE && k > 0 && k < t->np) {
		struct rb_pend *q = &t->pend[k - 1];

		if (q->frame == r->frame && q->code == r->code && q->previous == r->previous &&
		    q->node && q->node->has_ret && !q->node->ret.yield && q->node->ret.type &&
		    strcmp(q->node->ret.type, "<raise>")) {
			for (size_t i = k; i < t->np; i++)
				lt_node_append(q->node, t->pend[i].node);
			q->ncalls += sum.ncalls - 1;
			q->ntrunc += sum.ntrunc;
			t->np = k;
			memset(&q->node->ret, 0, sizeof(q->node->ret));
			set_ret(s, t, q->node, r, payload);
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
	n = lt_node_new(t->exec, ci->fn);
	n->file = ci->file;
	n->line = ci->line;
	set_ret(s, t, n, r, payload);
	sum.node = n;
	sum.ntrunc += n->ret.truncated;
	for (size_t i = k; i < t->np; i++)
		lt_node_append(n, t->pend[i].node);
	t->np = k;
	t->scratch_calls++;
	if (s->cfg.root_fn && ci->is_root && !(r->flags & LT_RF_ROOT_NESTED)) {
		ro_emit(s, t, n, r, &sum, old);
		return;
	}
	/* a top-level call of the thread: no caller, or (-p) one that began
	 * before attach, as without --no-durations */
	if (!s->cfg.root_fn && (!r->previous || (s->old.len && u64map_get(&s->old, r->previous)))) {
		if (r->previous)	/* the thread's execution began before attach */
			t->tainted = true;
		lt_node_append(t->exec->root, n);
		s->st.calls += sum.ncalls;
		s->st.truncated_strings += sum.ntrunc;
		return;
	}
	p = pend_push(t);
	if (!p) {
		t->tainted = t->gap = true;
		return;
	}
	*p = sum;
	if (s->cfg.root_fn && t->scratch_calls > RB_PEND_MAX_CALLS) {
		/* no execution ended for that long: start again, and the
		 * execution these calls may belong to is incomplete */
		lt_exec_free(t->exec);
		t->exec = NULL;
		t->np = 0;
		t->scratch_calls = 0;
		t->gap = true;
	}
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
	struct rb_frame *f;
	size_t i;

	if (!t)
		return;
	t->last_ts = r->ts;
	if (r->flags & LT_RF_READFAIL) {
		s->st.read_failures++;
		t->tainted = true;
	}
	if (s->cfg.returns_only) {
		ro_return(s, t, r, payload);
		return;
	}
	for (i = t->n; i > 0; i--)
		if (t->stk[i - 1].frame == r->frame && t->stk[i - 1].code == r->code)
			break;
	if (i == 0) {
		unmatched_return(s, t, r, payload);
		return;
	}
	if (i != t->n)	/* returns of the frames above were lost */
		t->tainted = true;
	t->n = i - 1;
	f = &t->stk[t->n];
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
	if (f->node) {
		set_ret(s, t, f->node, r, payload);
		f->node->dur_ns = r->ts - f->ts;
		if (t->norph)
			orphan_adopt(t, r->frame, f->node);
	}
	{
		struct rb_lastret *lr = lastret_of(t);

		if (lr->frame && r->previous == lr->frame)
			lr->live = true;	/* a hook's call made by that frame */
		else if ((r->flags & LT_RF_YIELD) || r->vkind == LT_RV_RAISE || !f->node)
			*lr = (struct rb_lastret){ 0 };
		else
			*lr = (struct rb_lastret){ r->frame, r->code, r->ts, f->node, false };
	}
	/* a bottom frame (no caller) returning above frames of the thread:
	 * it ran in a sub-interpreter, which runs on the thread of the call
	 * that started it, and is no call of those frames. As --no-durations
	 * sees it: without --root a top-level call of the thread, with one
	 * outside every execution */
	if (s->cfg.callers_at_return && !r->previous && t->n > 0 && f->node && f->node->parent &&
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
		t->tainted = true;
	if (s->cfg.root_fn && f->is_root && --t->root_depth == 0 && t->exec) {
		t->exec->dur_ns = r->ts - f->ts;
		exec_close(s, t, true);
	}
}

static void thread_free(struct rb_thread *t)
{
	if (t->exec)
		lt_exec_free(t->exec);
	free(t->stk);
	free(t->pend);
	free(t->orph);
	free(t);
}

static void thread_end(struct rb_state *s, struct rb_thread *t)
{
	/* frames still live: their calls have not returned. --no-durations
	 * with --root: calls not under a returned root belong to no
	 * execution that can be written */
	if (!(s->cfg.returns_only && s->cfg.root_fn))
		exec_close(s, t, (s->cfg.returns_only ? t->np : t->n) == 0);
	thread_free(t);
}

void rb_thread_exit(struct rb_state *s, uint32_t tid, uint32_t pid, uint64_t ts)
{
	struct rb_thread *t = u64map_del(&s->threads, (uint64_t)tid + 1);

	if (t) {
		if (ts > t->last_ts)
			t->last_ts = ts;
		thread_end(s, t);
	}
	if (tid == pid)		/* the process ends: forget it */
		free(u64map_del(&s->procs, (uint64_t)pid + 1));
}

void rb_loss(struct rb_state *s)
{
	uint64_t k;
	void *v;

	for (size_t i = 0; u64map_next(&s->threads, &i, &k, &v);)
		((struct rb_thread *)v)->tainted = true;
}

void rb_finish(struct rb_state *s, uint64_t ts)
{
	uint64_t k;
	void *v;

	for (size_t i = 0; u64map_next(&s->threads, &i, &k, &v);) {
		struct rb_thread *t = v;

		if (ts > t->last_ts)
			t->last_ts = ts;
		thread_end(s, t);
	}
	u64map_free(&s->threads);
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
	for (size_t i = 0; u64map_next(&s->threads, &i, &k, &v);)
		thread_free(v);
	for (size_t i = 0; u64map_next(&s->codes, &i, &k, &v);)
		free(v);
	for (size_t i = 0; u64map_next(&s->procs, &i, &k, &v);)
		free(v);
	u64map_free(&s->procs);
	u64map_free(&s->threads);
	u64map_free(&s->old);
	u64map_free(&s->codes);
	u64map_free(&s->types);
	free(s);
}
