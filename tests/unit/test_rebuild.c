/* Tree rebuild from synthetic probe event sequences (user/record/rebuild.c). */
#include <stdbool.h>
#include <string.h>
#include "record/rebuild.h"
#include "trace/incomplete.h"
#include "unit.h"

#define MAXE 16
static struct lt_exec *got[MAXE];
static int ngot;

static void keep(struct lt_exec *e, void *arg)
{
	if (ngot < MAXE)
		got[ngot++] = e;
	else
		lt_exec_free(e);
}

static void reset(void)
{
	for (int i = 0; i < ngot; i++)
		lt_exec_free(got[i]);
	ngot = 0;
}

/* codes (of process 42): 0x100 root "run", 0x200 "f", 0x300 "g", 0x400 "gen", 0x500 "lib" */
static struct rb_state *setup(const char *root, int max_depth, const char *const *excl)
{
	struct rb_config cfg = { .root_fn = root, .max_depth = max_depth, .exclude = excl,
				 .str_len = 64, .pid = 42 };
	struct rb_state *s = rb_new(&cfg, keep, NULL);

	rb_code(s, 42, 0x100, "Job.run", "/app/m.py", 10);
	rb_code(s, 42, 0x200, "f", "/app/m.py", 20);
	rb_code(s, 42, 0x300, "g", "/app/m.py", 30);
	rb_code(s, 42, 0x400, "gen", "/app/m.py", 40);
	rb_code(s, 42, 0x500, "lib", "/usr/lib/python3/x.py", 50);
	rb_type(s, 42, 0x9000, "Tensor");
	return s;
}

static uint64_t now;

static void E(struct rb_state *s, uint32_t tid, uint64_t frame, uint64_t code)
{
	rb_entry(s, 0, tid, 0, now += 10, frame, code, 0);
}

static void R(struct rb_state *s, uint32_t tid, uint64_t frame, uint64_t prev, uint64_t code,
	      int vkind, int64_t val, int flags)
{
	struct lt_rec_ret r = { .type = LT_REC_RET, .vkind = vkind, .flags = flags, .tid = tid,
				.frame = frame, .previous = prev, .code = code, .val = val,
				.type_ptr = vkind == LT_RV_OTHER ? 0x9000 : 0 };

	r.ts = now += 10;
	rb_return(s, &r, NULL);
}

/* R with the BPF side's LT_RF2_* findings */
static void R2(struct rb_state *s, uint32_t tid, uint64_t frame, uint64_t prev, uint64_t code,
	       int vkind, int flags2)
{
	struct lt_rec_ret r = { .type = LT_REC_RET, .vkind = vkind, .tid = tid, .frame = frame,
				.previous = prev, .code = code, .flags2 = flags2 };

	r.ts = now += 10;
	rb_return(s, &r, NULL);
}

static const struct lt_node *child(const struct lt_node *n, int i)
{
	const struct lt_node *c = n->first;

	while (c && i-- > 0)
		c = c->next;
	return c;
}

/* f and g called twice from the same frame address (reuse), exceptions */
static void address_reuse_and_raise(void)
{
	struct rb_state *s = setup("run", 0, NULL);
	const struct lt_node *r;

	E(s, 1, 0xA0, 0x100);			/* run */
	E(s, 1, 0xB0, 0x200);			/* f at 0xB0 */
	E(s, 1, 0xC0, 0x300);			/* g at 0xC0 */
	R(s, 1, 0xC0, 0xB0, 0x300, LT_RV_INT, 7, 0);
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_INT, 8, 0);
	E(s, 1, 0xB0, 0x300);			/* g reuses f's address */
	R(s, 1, 0xB0, 0xA0, 0x300, LT_RV_RAISE, 0, 0);
	R(s, 1, 0xA0, 0x10, 0x100, LT_RV_OTHER, 0, 0);
	CHECK(ngot == 1);
	if (ngot != 1)
		goto out;
	r = got[0]->root;
	CHECK(got[0]->complete);
	CHECK(!strcmp(r->fn, "Job.run") && r->ncalls == 2);
	CHECK(!strcmp(r->ret.type, "Tensor"));
	CHECK(r->dur_ns == 70);
	CHECK(!strcmp(child(r, 0)->fn, "f") && child(r, 0)->ncalls == 1);
	CHECK(child(child(r, 0), 0)->ret.u.i == 7);
	CHECK(child(r, 0)->ret.u.i == 8 && child(r, 0)->dur_ns == 30);
	CHECK(!strcmp(child(r, 1)->fn, "g") && !strcmp(child(r, 1)->ret.type, "<raise>"));
	CHECK(child(r, 1)->ncalls == 0);
out:
	reset();
	rb_free(s);
}

/* generator runs are calls; a close() exit arrives without an ENTRY */
static void generator_runs(void)
{
	struct rb_state *s = setup("run", 0, NULL);
	const struct lt_node *r;

	E(s, 1, 0xA0, 0x100);
	E(s, 1, 0x5000, 0x400);			/* gen first run (heap frame) */
	R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_INT, 0, LT_RF_YIELD);
	E(s, 1, 0x5000, 0x400);			/* resumed */
	R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_INT, 1, LT_RF_YIELD);
	R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_RAISE, 0, 0);	/* close(): no RESUME */
	R(s, 1, 0xA0, 0x10, 0x100, LT_RV_NONE, 0, 0);
	CHECK(ngot == 1);
	if (ngot != 1)
		goto out;
	r = got[0]->root;
	CHECK(got[0]->complete);
	CHECK(r->ncalls == 3);
	CHECK(child(r, 0)->ret.yield && child(r, 1)->ret.yield && child(r, 1)->ret.u.i == 1);
	CHECK(!strcmp(child(r, 2)->ret.type, "<raise>") && child(r, 2)->dur_ns == -1);
out:
	reset();
	rb_free(s);
}

/* a coroutine frame is one call across its runs; a close() exit arrives
 * without an ENTRY (3.12+) and still ends it */
static void coroutine_runs(void)
{
	struct rb_state *s = setup("run", 0, NULL);
	const struct lt_node *r, *g;

	E(s, 1, 0xA0, 0x100);
	E(s, 1, 0x5000, 0x400);			/* gen first run (heap frame) */
	R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_INT, 0, LT_RF_YIELD | LT_RF_CORO);
	E(s, 1, 0x5000, 0x400);			/* resumed */
	E(s, 1, 0xB0, 0x200);			/* f called by its second run */
	R(s, 1, 0xB0, 0x5000, 0x200, LT_RV_INT, 3, 0);
	R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_INT, 1, LT_RF_YIELD | LT_RF_CORO);
	R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_RAISE, 0, 0);	/* close(): no RESUME */
	R(s, 1, 0xA0, 0x10, 0x100, LT_RV_NONE, 0, 0);
	CHECK(ngot == 1);
	if (ngot != 1)
		goto out;
	r = got[0]->root;
	g = child(r, 0);
	CHECK(got[0]->complete);
	CHECK(r->ncalls == 1 && !strcmp(g->fn, "gen") && g->ncalls == 1);
	CHECK(!strcmp(child(g, 0)->fn, "f") && child(g, 0)->ret.u.i == 3);
	CHECK(!strcmp(g->ret.type, "<raise>") && !g->ret.yield);
	/* from its start (ts 20) to its end (ts 80); it ran 10 + 30 + the
	 * close run (from the event before it, 10) */
	CHECK(g->dur_ns == 60 && g->run_ns == 50);
out:
	reset();
	rb_free(s);
}

/* asyncio: two requests interleave on one thread; each root coroutine is
 * one execution across its awaits, its awaited child one node */
static void coroutines_interleaved(void)
{
	struct rb_state *s = setup("run", 0, NULL);
	const struct lt_node *r, *c;

	E(s, 1, 0x10, 0x500);			/* the event loop (no execution) */
	E(s, 1, 0x6000, 0x100);			/* request 1: run starts */
	E(s, 1, 0x7000, 0x400);			/* awaits gen (a coroutine) */
	R(s, 1, 0x7000, 0x6000, 0x400, LT_RV_NONE, 0, LT_RF_YIELD | LT_RF_CORO);
	R(s, 1, 0x6000, 0x10, 0x100, LT_RV_NONE, 0, LT_RF_YIELD | LT_RF_CORO);
	E(s, 1, 0x6100, 0x100);			/* request 2 starts meanwhile */
	R(s, 1, 0x6100, 0x10, 0x100, LT_RV_NONE, 0, LT_RF_YIELD | LT_RF_CORO);
	CHECK(ngot == 0);
	E(s, 2, 0x6000, 0x100);			/* request 1 resumes on thread 2 */
	E(s, 2, 0x7000, 0x400);
	E(s, 2, 0xB0, 0x200);			/* f, in gen's second run */
	R(s, 2, 0xB0, 0x7000, 0x200, LT_RV_INT, 5, 0);
	R(s, 2, 0x7000, 0x6000, 0x400, LT_RV_INT, 6, 0);
	R(s, 2, 0x6000, 0x10, 0x100, LT_RV_INT, 7, 0);
	CHECK(ngot == 1);
	E(s, 1, 0x6100, 0x100);			/* request 2 resumes and ends */
	R(s, 1, 0x6100, 0x10, 0x100, LT_RV_INT, 8, 0);
	R(s, 1, 0x10, 0, 0x500, LT_RV_NONE, 0, 0);
	CHECK(ngot == 2);
	if (ngot != 2)
		goto out;
	r = got[0]->root;
	c = child(r, 0);
	CHECK(got[0]->complete && got[0]->tid == 1 && r->ret.u.i == 7 && !r->ret.yield);
	CHECK(r->ncalls == 1 && !strcmp(c->fn, "gen") && c->ret.u.i == 6 && c->ncalls == 1);
	CHECK(child(c, 0)->ret.u.i == 5);
	CHECK(got[0]->dur_ns > got[0]->run_ns && got[0]->run_ns > 0);
	CHECK(got[1]->complete && got[1]->root->ret.u.i == 8 && got[1]->root->ncalls == 0);
	CHECK(rb_stats(s)->execs == 2);
out:
	reset();
	rb_free(s);
}

/* 3.12+ throw() into a generator delegating with yield from: the inner
 * generator runs without RESUME, then the outer; the calls of the inner
 * run belong under it, not under the frame that called throw() */
static void throw_into_delegation(void)
{
	struct rb_state *s = setup("run", 0, NULL);
	const struct lt_node *r, *o, *in;

	E(s, 1, 0xA0, 0x100);			/* run */
	E(s, 1, 0x5000, 0x400);			/* outer gen */
	E(s, 1, 0x5100, 0x300);			/* inner (g) by yield from */
	R(s, 1, 0x5100, 0x5000, 0x300, LT_RV_INT, 1, LT_RF_YIELD | LT_RF_CORO);
	R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_INT, 1, LT_RF_YIELD | LT_RF_CORO);
	/* run calls outer.throw(): no RESUME of either */
	E(s, 1, 0xB0, 0x200);			/* f, called by inner's handler */
	R(s, 1, 0xB0, 0x5100, 0x200, LT_RV_INT, 9, 0);
	R(s, 1, 0x5100, 0x5000, 0x300, LT_RV_RAISE, 0, 0);
	R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_RAISE, 0, 0);
	R(s, 1, 0xA0, 0x10, 0x100, LT_RV_NONE, 0, 0);
	CHECK(ngot == 1);
	if (ngot != 1)
		goto out;
	r = got[0]->root;
	o = child(r, 0);
	in = o ? child(o, 0) : NULL;
	CHECK(got[0]->complete && r->ncalls == 1 && o->ncalls == 1);
	CHECK(in && !strcmp(in->fn, "g") && in->ncalls == 1 && !strcmp(in->ret.type, "<raise>"));
	CHECK(in && !strcmp(child(in, 0)->fn, "f"));
	CHECK(!strcmp(o->ret.type, "<raise>"));
out:
	reset();
	rb_free(s);
}

/* issue 22, plain generators: run throws into gen (0x5000), suspended
 * with g (0x5100) under it; g exits, naming gen, never seen starting, as
 * its caller, then gen exits. What the BPF side read of gen's frame at g's
 * exit decides: suspended at its yield (a delegation: g's run is run's
 * call), run by the eval loop (gen holds g and closes it: g's run is a
 * call of gen's run), or nothing (placed as a delegation, incomplete) */
static void plain_throw_delegated_or_held(void)
{
	static const int f2[] = { LT_RF2_DELEGATED, LT_RF2_CALLER_RUNS, 0 };

	for (int k = 0; k < 3; k++) {
		struct rb_state *s = setup("run", 0, NULL);
		const struct lt_node *r, *c1, *c2;

		E(s, 1, 0xA0, 0x100);			/* run */
		E(s, 1, 0x5000, 0x400);			/* gen */
		E(s, 1, 0x5100, 0x300);			/* g, by yield from or next() */
		R(s, 1, 0x5100, 0x5000, 0x300, LT_RV_INT, 1, LT_RF_YIELD);
		R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_INT, 1, LT_RF_YIELD);
		/* run calls gen.throw(): no frame start of either */
		R2(s, 1, 0x5100, 0x5000, 0x300, LT_RV_RAISE, f2[k]);
		R(s, 1, 0x5000, 0xA0, 0x400, LT_RV_RAISE, 0, 0);
		R(s, 1, 0xA0, 0x10, 0x100, LT_RV_NONE, 0, 0);
		CHECK(ngot == 1);
		if (ngot != 1) {
			reset();
			rb_free(s);
			return;
		}
		r = got[0]->root;
		c1 = child(r, 1);
		c2 = child(r, 2);
		CHECK(got[0]->complete == (k < 2));
		CHECK(got[0]->incomplete == (k < 2 ? 0 : LT_INC_THROW_AMBIGUOUS));
		CHECK(child(r, 0) && child(r, 0)->ncalls == 1 && c1);
		if (k == 1) {
			/* gen's run, with g's under it */
			CHECK(r->ncalls == 2 && !strcmp(c1->fn, "gen") && c1->ncalls == 1);
			CHECK(c1->ncalls == 1 && !strcmp(child(c1, 0)->fn, "g") &&
			      !strcmp(child(c1, 0)->ret.type, "<raise>"));
		} else {
			CHECK(r->ncalls == 3 && !strcmp(c1->fn, "g") && !c1->ncalls);
			CHECK(c2 && !strcmp(c2->fn, "gen") && !c2->ncalls);
		}
		reset();
		rb_free(s);
	}
}

/* two threads interleaved, recursion of the root stays inside */
static void threads_interleaved_and_recursive_root(void)
{
	struct rb_state *s = setup("run", 0, NULL);

	E(s, 1, 0xA0, 0x100);
	E(s, 2, 0xA0, 0x100);			/* same address, other thread */
	E(s, 1, 0xB0, 0x100);			/* recursive run inside run */
	E(s, 2, 0xB0, 0x200);
	R(s, 2, 0xB0, 0xA0, 0x200, LT_RV_INT, 2, 0);
	R(s, 1, 0xB0, 0xA0, 0x100, LT_RV_INT, 1, 0);
	CHECK(ngot == 0);
	R(s, 2, 0xA0, 0, 0x100, LT_RV_INT, 20, 0);
	CHECK(ngot == 1 && got[0]->tid == 2 && got[0]->root->ncalls == 1);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_INT, 10, 0);
	CHECK(ngot == 2 && got[1]->tid == 1);
	if (ngot == 2) {
		CHECK(got[1]->root->ncalls == 1 && !strcmp(child(got[1]->root, 0)->fn, "Job.run"));
		CHECK(got[1]->root->ret.u.i == 10 && got[0]->root->ret.u.i == 20);
	}
	reset();
	rb_free(s);
}

/* a lost RET: the frames above are popped, the execution is incomplete */
static void lost_return_taints(void)
{
	struct rb_state *s = setup("run", 0, NULL);

	E(s, 1, 0xA0, 0x100);
	E(s, 1, 0xB0, 0x200);
	E(s, 1, 0xC0, 0x300);
	/* RET of g (0xC0) lost */
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_NONE, 0, 0);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_NONE, 0, 0);
	CHECK(ngot == 1 && !got[0]->complete);
	CHECK(got[0]->incomplete == LT_INC_STALE_FRAMES);	/* the reason (FORMAT.md §1) */
	reset();
	/* loss reported by the ring buffer */
	E(s, 1, 0xA0, 0x100);
	rb_loss(s);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_NONE, 0, 0);
	E(s, 1, 0xA0, 0x100);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_NONE, 0, 0);
	CHECK(ngot == 2 && !got[0]->complete && got[1]->complete);
	CHECK(got[0]->incomplete == LT_INC_LOST_EVENTS && got[1]->incomplete == 0);
	CHECK(rb_stats(s)->incomplete_execs == 2);
	reset();
	rb_free(s);
}

/* ENTRY with the caller's frame, as the BPF side sends it */
static void EP(struct rb_state *s, uint32_t tid, uint64_t frame, uint64_t code, uint64_t prev)
{
	rb_entry(s, 0, tid, 0, now += 10, frame, code, prev);
}

/* one whole execution of run (at frame rf, called from 0x10) calling f */
static void one_run(struct rb_state *s, uint64_t rf, int64_t v)
{
	EP(s, 1, rf, 0x100, 0x10);
	EP(s, 1, rf + 0x10, 0x200, rf);
	R(s, 1, rf + 0x10, rf, 0x200, LT_RV_INT, v, 0);
	R(s, 1, rf, 0x10, 0x100, LT_RV_INT, v, 0);
}

static bool whole_run(const struct lt_exec *e, int64_t v)
{
	const struct lt_node *r = e->root;

	return e->complete && !strcmp(r->fn, "Job.run") && r->ret.u.i == v && r->ncalls == 1 &&
	       !strcmp(child(r, 0)->fn, "f") && child(r, 0)->ret.u.i == v;
}

/* records lost (the consumer calls rb_loss when the drop counter steps):
 * the executions after the loss come out whole, the touched one
 * incomplete, whatever was lost */
static void lost_return_resyncs(void)
{
	struct rb_state *s = setup("run", 0, NULL);
	uint64_t stale0;

	/* the root's return lost; the next root starts at the same frame */
	EP(s, 1, 0xA0, 0x100, 0x10);
	EP(s, 1, 0xB0, 0x200, 0xA0);
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_INT, 1, 0);
	rb_loss(s);				/* RET run lost */
	for (int k = 0; k < 3; k++)
		one_run(s, 0xA0, 10 + k);
	CHECK(ngot == 4);
	if (ngot != 4)
		goto out;
	CHECK(!got[0]->complete && got[0]->root->ncalls == 1 && !got[0]->root->has_ret);
	for (int k = 0; k < 3; k++)
		CHECK(whole_run(got[1 + k], 10 + k));
	CHECK(rb_stats(s)->stale_frames == 1);
	reset();

	/* returns of a callee and the root lost, the driver frame live: the
	 * next root's caller is below the stale frames */
	stale0 = rb_stats(s)->stale_frames;
	EP(s, 1, 0x10, 0x300, 0);		/* the driver, g */
	EP(s, 1, 0xA0, 0x100, 0x10);
	EP(s, 1, 0xB0, 0x200, 0xA0);
	EP(s, 1, 0xC0, 0x300, 0xB0);
	rb_loss(s);				/* RETs of 0xC0, 0xB0, 0xA0 lost */
	one_run(s, 0xD0, 20);			/* at another frame */
	one_run(s, 0xA0, 21);
	CHECK(ngot == 3);
	if (ngot != 3)
		goto out;
	CHECK(!got[0]->complete && got[0]->root->ncalls == 1);
	CHECK(whole_run(got[1], 20) && whole_run(got[2], 21));
	CHECK(rb_stats(s)->stale_frames - stale0 == 3);
	rb_thread_exit(s, 1, 42, now += 10);	/* the driver never returned */
	reset();

	/* the driver began before attach (not live): the stale root is found
	 * by the next root, after the loss */
	EP(s, 2, 0xA0, 0x100, 0x10);
	EP(s, 2, 0xB0, 0x200, 0xA0);
	rb_loss(s);				/* RETs of f and run lost */
	EP(s, 2, 0x90, 0x100, 0x20);		/* run from another caller */
	R(s, 2, 0x90, 0x20, 0x100, LT_RV_INT, 5, 0);
	CHECK(ngot == 2 && !got[0]->complete && got[1]->complete && got[1]->root->ncalls == 0);
	reset();

	/* a return lost, the loss seen at the next ENTRY: the frame started
	 * again is a new call, no duplicate RESUME */
	EP(s, 3, 0xA0, 0x100, 0x10);
	EP(s, 3, 0xB0, 0x200, 0xA0);
	rb_loss(s);				/* RET f lost */
	EP(s, 3, 0xB0, 0x200, 0xA0);
	R(s, 3, 0xB0, 0xA0, 0x200, LT_RV_INT, 2, 0);
	R(s, 3, 0xA0, 0x10, 0x100, LT_RV_INT, 2, 0);
	CHECK(ngot == 1 && !got[0]->complete && got[0]->root->ncalls == 2);
	reset();
	/* records lost between two executions (calls outside any root):
	 * the next root's start comes after them, its execution is whole */
	one_run(s, 0xA0, 4);
	EP(s, 1, 0xE0, 0x300, 0x10);
	rb_loss(s);				/* RET of 0xE0 lost */
	one_run(s, 0xA0, 5);
	CHECK(ngot == 2 && whole_run(got[0], 4) && whole_run(got[1], 5));
	reset();
	/* without a loss the same frame and code twice is one call (3.13
	 * RESUME_CHECK), whole */
	EP(s, 3, 0xA0, 0x100, 0x10);
	EP(s, 3, 0xB0, 0x200, 0xA0);
	EP(s, 3, 0xB0, 0x200, 0xA0);
	R(s, 3, 0xB0, 0xA0, 0x200, LT_RV_INT, 3, 0);
	R(s, 3, 0xA0, 0x10, 0x100, LT_RV_INT, 3, 0);
	CHECK(ngot == 1 && whole_run(got[0], 3));
out:
	reset();
	rb_free(s);
}

/* a root that began before attach, a root still running at the end */
static void pre_attach_and_unfinished(void)
{
	struct rb_state *s = setup("run", 0, NULL);

	E(s, 1, 0xB0, 0x200);			/* f, outside any execution */
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_NONE, 0, 0);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_INT, 5, 0);	/* run began before attach */
	CHECK(ngot == 1 && !got[0]->complete && got[0]->root->ret.u.i == 5);
	E(s, 1, 0xA0, 0x100);
	E(s, 1, 0xB0, 0x200);
	rb_finish(s, now + 100);
	CHECK(ngot == 2 && !got[1]->complete && got[1]->root->ncalls == 1);
	CHECK(ngot == 2 && !got[1]->root->has_ret);
	reset();
	rb_free(s);
}

/* --max-depth and --exclude-path */
static void depth_and_exclude(void)
{
	static const char *const excl[] = { "/usr/lib/*", NULL };
	struct rb_state *s = setup("run", 1, excl);
	const struct lt_node *r;

	E(s, 1, 0xA0, 0x100);
	E(s, 1, 0xB0, 0x200);			/* depth 1: kept */
	E(s, 1, 0xC0, 0x300);			/* depth 2: truncated */
	E(s, 1, 0xD0, 0x300);			/* depth 3: truncated */
	R(s, 1, 0xD0, 0xC0, 0x300, LT_RV_NONE, 0, 0);
	R(s, 1, 0xC0, 0xB0, 0x300, LT_RV_NONE, 0, 0);
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_NONE, 0, 0);
	E(s, 1, 0xB0, 0x500);			/* lib: excluded ... */
	E(s, 1, 0xC0, 0x200);			/* ... its callee is hoisted */
	R(s, 1, 0xC0, 0xB0, 0x200, LT_RV_INT, 3, 0);
	R(s, 1, 0xB0, 0xA0, 0x500, LT_RV_NONE, 0, 0);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_NONE, 0, 0);
	CHECK(ngot == 1);
	if (ngot == 1) {
		r = got[0]->root;
		CHECK(r->ncalls == 2);
		CHECK(child(r, 0)->truncated_calls == 2 && child(r, 0)->ncalls == 0);
		CHECK(!strcmp(child(r, 1)->fn, "f") && child(r, 1)->ret.u.i == 3);
		CHECK(rb_stats(s)->excluded_calls == 1);
	}
	reset();
	rb_free(s);
}

/* without a root: one execution per thread, written at thread exit */
static void thread_executions(void)
{
	struct rb_state *s = setup(NULL, 0, NULL);

	E(s, 7, 0xA0, 0x200);
	R(s, 7, 0xA0, 0, 0x200, LT_RV_NONE, 0, 0);
	E(s, 8, 0xA0, 0x200);
	R(s, 8, 0xA0, 0xF0, 0x200, LT_RV_NONE, 0, 0);	/* caller never seen */
	rb_thread_exit(s, 7, 0, now + 5);
	CHECK(ngot == 1 && got[0]->complete && !strcmp(got[0]->root->fn, "<thread>"));
	rb_finish(s, now + 10);
	CHECK(ngot == 2 && got[1]->tid == 8 && !got[1]->complete);
	CHECK(rb_nthreads(s) == 0);
	reset();
	rb_free(s);
}

/* --no-durations: trees from returns alone (post-order, caller addresses) */
static struct rb_state *setup_ro(const char *root, const char *const *excl, uint64_t complete_after)
{
	struct rb_config cfg = { .root_fn = root, .exclude = excl, .str_len = 64, .pid = 42,
				 .returns_only = true, .complete_after_ns = complete_after };
	struct rb_state *s = rb_new(&cfg, keep, NULL);

	rb_code(s, 42, 0x100, "Job.run", "/app/m.py", 10);
	rb_code(s, 42, 0x200, "f", "/app/m.py", 20);
	rb_code(s, 42, 0x300, "g", "/app/m.py", 30);
	rb_code(s, 42, 0x500, "lib", "/usr/lib/python3/x.py", 50);
	return s;
}

static void returns_only_trees(void)
{
	static const char *const excl[] = { "/usr/lib/*", NULL };
	struct rb_state *s = setup_ro("run", excl, 0);
	const struct lt_node *r, *in;

	/* outside any root: dropped when the next execution ends */
	R(s, 1, 0x90, 0x80, 0x300, LT_RV_INT, 1, 0);
	/* run { f { g }, lib { f }, run (nested) { g }, g (same address as f) } */
	R(s, 1, 0xC0, 0xB0, 0x300, LT_RV_INT, 7, 0);
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_INT, 8, 0);
	R(s, 1, 0xC0, 0xB0, 0x200, LT_RV_INT, 3, 0);	/* f under lib */
	R(s, 1, 0xB0, 0xA0, 0x500, LT_RV_NONE, 0, 0);	/* lib: excluded, f hoisted */
	R(s, 1, 0xC0, 0xB0, 0x300, LT_RV_INT, 4, 0);
	R(s, 1, 0xB0, 0xA0, 0x100, LT_RV_INT, 5, LT_RF_ROOT_NESTED);
	R(s, 1, 0xB0, 0xA0, 0x300, LT_RV_RAISE, 0, 0);
	R(s, 1, 0xA0, 0x80, 0x100, LT_RV_INT, 9, LT_RF_ROOT_OUTER);
	CHECK(ngot == 1);
	if (ngot == 1) {
		r = got[0]->root;
		CHECK(got[0]->complete && got[0]->dur_ns < 0 && r->dur_ns < 0);
		CHECK(!strcmp(r->fn, "Job.run") && r->ret.u.i == 9 && r->ncalls == 4);
		CHECK(!strcmp(child(r, 0)->fn, "f") && child(r, 0)->ncalls == 1 &&
		      child(child(r, 0), 0)->ret.u.i == 7);
		CHECK(!strcmp(child(r, 1)->fn, "f") && child(r, 1)->ret.u.i == 3);
		in = child(r, 2);
		CHECK(!strcmp(in->fn, "Job.run") && in->ncalls == 1 && child(in, 0)->ret.u.i == 4);
		CHECK(!strcmp(child(r, 3)->fn, "g") && !strcmp(child(r, 3)->ret.type, "<raise>"));
		CHECK(rb_stats(s)->calls == 7 && rb_stats(s)->excluded_calls == 1);
	}
	reset();
	/* a root the walk could not settle is written, incomplete */
	R(s, 1, 0xA0, 0x80, 0x100, LT_RV_INT, 1, LT_RF_ROOT_UNSURE);
	CHECK(ngot == 1 && !got[0]->complete);
	reset();
	/* records lost between two executions: the execution opens at its
	 * first return, after the loss, and may miss one; the next is whole */
	rb_loss(s);				/* run { f (lost) { g } ... */
	R(s, 1, 0xC0, 0xB0, 0x300, LT_RV_INT, 7, 0);
	R(s, 1, 0xA0, 0x80, 0x100, LT_RV_INT, 2, LT_RF_ROOT_OUTER);
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_INT, 8, 0);
	R(s, 1, 0xA0, 0x80, 0x100, LT_RV_INT, 3, LT_RF_ROOT_OUTER);
	CHECK(ngot == 2 && !got[0]->complete && got[1]->complete);
	reset();
	rb_free(s);
}

/* --no-durations: two requests interleave on a thread; the first one
 * written while the second is suspended (its tree moves to a new arena),
 * then the second: the same trees as with frame starts */
static void returns_only_coroutines(void)
{
	struct rb_state *s = setup_ro("run", NULL, 0);
	const int Y = LT_RF_YIELD | LT_RF_CORO;
	const struct lt_node *r, *c;

	rb_code(s, 42, 0x400, "gen", "/app/m.py", 40);
	R(s, 1, 0x7000, 0x6000, 0x400, LT_RV_NONE, 0, Y);		/* gen in request 1 */
	R(s, 1, 0x6000, 0x10, 0x100, LT_RV_NONE, 0, Y | LT_RF_ROOT_OUTER);
	R(s, 1, 0xB0, 0x7100, 0x200, LT_RV_INT, 1, 0);			/* f in request 2's gen */
	R(s, 1, 0x7100, 0x6100, 0x400, LT_RV_NONE, 0, Y);
	R(s, 1, 0x6100, 0x10, 0x100, LT_RV_NONE, 0, Y | LT_RF_ROOT_OUTER);
	R(s, 1, 0x90, 0x10, 0x500, LT_RV_NONE, 0, 0);			/* the loop's own call */
	R(s, 1, 0x7000, 0x6000, 0x400, LT_RV_INT, 6, 0);		/* request 1 ends */
	R(s, 1, 0x6000, 0x10, 0x100, LT_RV_INT, 7, LT_RF_ROOT_OUTER);
	CHECK(ngot == 1);
	R(s, 1, 0xB0, 0x7100, 0x200, LT_RV_INT, 2, 0);			/* request 2 ends */
	R(s, 1, 0x7100, 0x6100, 0x400, LT_RV_INT, 3, 0);
	R(s, 1, 0x6100, 0x10, 0x100, LT_RV_INT, 8, LT_RF_ROOT_OUTER);
	CHECK(ngot == 2);
	if (ngot != 2)
		goto out;
	r = got[0]->root;
	CHECK(got[0]->complete && r->ret.u.i == 7 && r->ncalls == 1 && child(r, 0)->ret.u.i == 6);
	r = got[1]->root;
	c = child(r, 0);
	CHECK(got[1]->complete && r->ret.u.i == 8 && r->ncalls == 1);
	CHECK(c && !strcmp(c->fn, "gen") && c->ret.u.i == 3 && c->ncalls == 2);
	CHECK(c && child(c, 0)->ret.u.i == 1 && child(c, 1)->ret.u.i == 2);
	CHECK(rb_stats(s)->calls == 6);
out:
	reset();
	rb_free(s);
}

static void returns_only_attach(void)
{
	struct rb_state *s = setup_ro("run", NULL, 1000);

	/* frames live at attach: run at 0xA0 (and its caller 0x80) */
	rb_old_frame(s, 42, 0xA0, 0x100);
	rb_old_frame(s, 42, 0x80, 0x300);
	now = 2000;
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_INT, 1, 0);
	R(s, 1, 0xA0, 0x80, 0x100, LT_RV_INT, 2, LT_RF_ROOT_OUTER);	/* began before */
	R(s, 1, 0xA0, 0x80, 0x100, LT_RV_INT, 3, LT_RF_ROOT_OUTER);	/* address reused */
	CHECK(ngot == 2 && !got[0]->complete && got[1]->complete);
	reset();
	/* returned before the frames were read after arming: not sure */
	now = 100;
	R(s, 1, 0xA0, 0x80, 0x100, LT_RV_INT, 4, LT_RF_ROOT_OUTER);
	CHECK(ngot == 1 && !got[0]->complete);
	reset();
	rb_finish(s, now);
	CHECK(ngot == 0);	/* calls outside a returned root are not an execution */
	rb_free(s);

	/* without --root: calls of a caller live at attach are top-level */
	s = setup_ro(NULL, NULL, 0);
	rb_old_frame(s, 42, 0x80, 0x300);
	R(s, 1, 0xB0, 0x80, 0x200, LT_RV_INT, 1, 0);
	R(s, 1, 0xB0, 0x80, 0x200, LT_RV_INT, 2, 0);
	R(s, 2, 0xB0, 0, 0x200, LT_RV_INT, 3, 0);
	rb_finish(s, now);
	CHECK(ngot == 2);
	for (int i = 0; i < ngot; i++) {
		const struct lt_node *r = got[i]->root;

		CHECK(!strcmp(r->fn, "<thread>"));
		CHECK(got[i]->tid == 1 ? !got[i]->complete && r->ncalls == 2 :
					 got[i]->complete && r->ncalls == 1);
	}
	reset();
	rb_free(s);

	/* following, a child (43) forked inside run at 0xA0: its frames then
	 * are its own old ones (read while it was held), not its parent's */
	s = setup_ro("run", NULL, 0);
	rb_code(s, 43, 0x100, "Job.run", "/app/m.py", 10);
	rb_code(s, 43, 0x200, "f", "/app/m.py", 20);
	rb_old_frame(s, 43, 0xA0, 0x100);
	for (int pid = 43; pid >= 42; pid--) {
		struct lt_rec_ret r = { .type = LT_REC_RET, .vkind = LT_RV_INT, .tid = pid + 100,
					.tgid = pid, .frame = 0xB0, .previous = 0xA0, .code = 0x200,
					.val = 1 };

		r.ts = now += 10;
		rb_return(s, &r, NULL);
		r.frame = 0xA0;
		r.previous = 0x80;
		r.code = 0x100;
		r.flags = LT_RF_ROOT_OUTER;
		r.ts = now += 10;
		rb_return(s, &r, NULL);
	}
	CHECK(ngot == 2 && got[0]->pid == 43 && !got[0]->complete &&
	      got[0]->incomplete == LT_INC_BEFORE_ATTACH);
	CHECK(ngot == 2 && got[1]->pid == 42 && got[1]->complete && got[1]->root->ncalls == 1);
	reset();
	rb_free(s);
}

static int described;

static void describe(void *arg, uint32_t pid, const char **cmdline, const char **cgroup,
		     uint32_t *taint)
{
	described++;
	if (pid == 44)		/* as record.c says of a process with its JIT on */
		*taint = LT_INC_JIT;
	*cmdline = lt_intern(pid == 43 ? "python3 app.py" : "python3 other.py");
	if (pid == 43)
		*cgroup = lt_intern("/system.slice/app.service");
}

/* the state kept per thread (namespaced tid) and per process (command
 * line, cgroup: asked once, forgotten when the main thread exits) tags
 * the executions */
static void thread_and_process_tags(void)
{
	struct rb_config cfg = { .str_len = 64, .nspid = 7, .describe_process = describe };
	struct rb_state *s = rb_new(&cfg, keep, NULL);

	described = 0;
	rb_code(s, 43, 0x200, "f", "/app/m.py", 20);
	rb_code(s, 44, 0x200, "f", "/app/o.py", 20);
	rb_entry(s, 43, 43, 1, now += 10, 0xA0, 0x200, 0);
	rb_entry(s, 43, 45, 3, now += 10, 0xB0, 0x200, 0);
	rb_entry(s, 44, 44, 0, now += 10, 0xA0, 0x200, 0);
	CHECK(described == 2);
	rb_thread_exit(s, 45, 43, now += 10);
	rb_thread_exit(s, 43, 43, now += 10);
	rb_thread_exit(s, 44, 44, now += 10);
	CHECK(ngot == 3);
	CHECK(got[0]->tid == 45 && got[0]->pid == 43 && got[0]->nstid == 3 && got[0]->nspid == 7);
	CHECK(got[0]->cmdline && !strcmp(got[0]->cmdline, "python3 app.py"));
	CHECK(got[0]->container && !strcmp(got[0]->container, "/system.slice/app.service"));
	CHECK(got[1]->tid == 43 && got[1]->nstid == 1 && !strcmp(got[1]->cmdline, "python3 app.py"));
	CHECK(got[2]->pid == 44 && got[2]->nstid == 0 && !got[2]->container &&
	      !strcmp(got[2]->cmdline, "python3 other.py"));
	/* a process's taint marks each of its executions, only its own
	 * (all three end open, "exited") */
	CHECK(!(got[0]->incomplete & LT_INC_JIT) && !(got[1]->incomplete & LT_INC_JIT));
	CHECK(!got[2]->complete && got[2]->incomplete == (LT_INC_JIT | LT_INC_EXITED));
	/* a process met again after its main thread exited is asked anew */
	rb_entry(s, 43, 46, 0, now += 10, 0xA0, 0x200, 0);
	CHECK(described == 3);
	reset();
	rb_free(s);
}

/* following: a frame begun before a fork returns in the child, whose
 * records never named its code (the child may be gone before it can be
 * read): the name is the parent's (rb_fork) */
static void forked_child_names_the_parents_code(void)
{
	struct rb_config cfg = { .root_fn = "run", .str_len = 64 };
	struct rb_state *s = rb_new(&cfg, keep, NULL);
	struct lt_rec_ret r = { .type = LT_REC_RET, .vkind = LT_RV_INT, .tid = 44, .tgid = 44,
				.frame = 0xA0, .previous = 0x80, .code = 0x200, .val = 7 };

	rb_code(s, 43, 0x200, "run", "/app/m.py", 6);
	rb_code(s, 44, 0x300, "helper", "/app/m.py", 2);
	rb_entry(s, 43, 43, 0, now += 10, 0xA0, 0x200, 0x80);	/* run, in the parent */
	rb_fork(s, 44, 43);
	rb_entry(s, 44, 44, 0, now += 10, 0xB0, 0x300, 0xA0);	/* the child's first call */
	R(s, 44, 0xB0, 0xA0, 0x300, LT_RV_INT, 1, 0);
	r.ts = now += 10;
	rb_return(s, &r, NULL);
	CHECK(ngot == 1);
	CHECK(got[0]->pid == 44 && !strcmp(got[0]->root->fn, "run") && !got[0]->complete);
	CHECK(got[0]->incomplete && !(got[0]->incomplete & LT_INC_UNKNOWN));
	reset();
	rb_free(s);
}

/* code objects are keyed by the whole tgid: 43 and 43 + 2^16 (pid_max
 * goes to 2^22) hold different code at the same address */
static void tgid_beyond_16_bits(void)
{
	struct rb_config cfg = { .str_len = 64 };
	struct rb_state *s = rb_new(&cfg, keep, NULL);

	rb_code(s, 43, 0x200, "f", "/app/m.py", 20);
	rb_code(s, 43 + 65536, 0x200, "h", "/app/o.py", 30);
	rb_entry(s, 43 + 65536, 7, 0, now += 10, 0xA0, 0x200, 0);
	rb_entry(s, 43, 8, 0, now += 10, 0xA0, 0x200, 0);
	rb_thread_exit(s, 7, 43 + 65536, now += 10);
	rb_thread_exit(s, 8, 43, now += 10);
	CHECK(ngot == 2);
	if (ngot == 2) {
		CHECK(!strcmp(got[0]->root->first->fn, "h") && got[0]->root->first->line == 30);
		CHECK(!strcmp(got[1]->root->first->fn, "f") && got[1]->root->first->line == 20);
	}
	reset();
	rb_free(s);
}

/*
 * Issue 22 cases: a generator closed from inside the exit of one thrown
 * into (orphan adopted by that exit); a hook raising on f's return event
 * (f's calls after its first exit join it, the raise its ret); a
 * sub-interpreter's bottom frame (no caller) is no call of run.
 */
static void thrown_into_hook_raise_subinterp(void)
{
	struct rb_state *s = setup("run", 0, NULL);
	const struct lt_node *r, *f;

	/* run; gen at 0xD0 is thrown into (no entry), and while it exits,
	 * closes gen at 0xE0 (previous 0xD0: not live) */
	E(s, 1, 0xA0, 0x100);
	R(s, 1, 0xE0, 0xD0, 0x400, LT_RV_RAISE, 0, 0);
	R(s, 1, 0xD0, 0xA0, 0x400, LT_RV_RAISE, 0, 0);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_INT, 1, 0);
	CHECK(ngot == 1 && got[0]->complete);
	r = got[0]->root;
	CHECK(r->ncalls == 1 && child(r, 0)->ncalls == 1 && !strcmp(child(child(r, 0), 0)->fn, "gen"));
	reset();

	/* f returns 2 (the sites), then the hook g, called by f (previous
	 * 0xB0), raises, and f exits again by it */
	E(s, 1, 0xA0, 0x100);
	E(s, 1, 0xB0, 0x200);
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_INT, 2, 0);
	E(s, 1, 0xC0, 0x300);
	R(s, 1, 0xC0, 0xB0, 0x300, LT_RV_RAISE, 0, 0);
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_RAISE, 0, 0);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_INT, 1, 0);
	CHECK(ngot == 1 && got[0]->complete);
	r = got[0]->root;
	f = child(r, 0);
	CHECK(r->ncalls == 1 && f && !strcmp(f->fn, "f") && !strcmp(f->ret.type, "<raise>"));
	CHECK(f && f->ncalls == 1 && !strcmp(child(f, 0)->fn, "g") && f->dur_ns == 40);
	reset();

	/* a sub-interpreter runs f (no caller) while run runs: not run's
	 * (when the caller at a return is the frame chain's) */
	rb_free(s);
	{
		struct rb_config c = { .root_fn = "run", .str_len = 64, .pid = 42,
				       .callers_at_return = true };

		s = rb_new(&c, keep, NULL);
		rb_code(s, 42, 0x100, "Job.run", "/app/m.py", 10);
		rb_code(s, 42, 0x200, "f", "/app/m.py", 20);
		rb_code(s, 42, 0x300, "g", "/app/m.py", 30);
	}
	E(s, 1, 0xA0, 0x100);
	E(s, 1, 0x70, 0x200);
	R(s, 1, 0x70, 0, 0x200, LT_RV_INT, 3, 0);
	E(s, 1, 0xB0, 0x300);
	R(s, 1, 0xB0, 0xA0, 0x300, LT_RV_INT, 4, 0);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_INT, 1, 0);
	CHECK(ngot == 1 && got[0]->complete && got[0]->root->ncalls == 1 &&
	      !strcmp(child(got[0]->root, 0)->fn, "g"));
	reset();
	rb_free(s);

	/* the same with --no-durations: the hook's raise joins f */
	struct rb_config cfg = { .root_fn = "run", .str_len = 64, .pid = 42, .returns_only = true };

	s = rb_new(&cfg, keep, NULL);
	rb_code(s, 42, 0x100, "run", "/app/m.py", 10);
	rb_code(s, 42, 0x200, "f", "/app/m.py", 20);
	rb_code(s, 42, 0x300, "g", "/app/m.py", 30);
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_INT, 2, 0);
	R(s, 1, 0xC0, 0xB0, 0x300, LT_RV_RAISE, 0, 0);
	R(s, 1, 0xB0, 0xA0, 0x200, LT_RV_RAISE, 0, 0);
	R(s, 1, 0xA0, 0, 0x100, LT_RV_INT, 1, LT_RF_ROOT_OUTER);
	CHECK(ngot == 1 && got[0]->complete);
	r = got[0]->root;
	f = child(r, 0);
	CHECK(r->ncalls == 1 && f && !strcmp(f->ret.type, "<raise>") && f->ncalls == 1);
	reset();
	rb_free(s);
}

/*
 * Sub-interpreters (FORMAT.md §2 "interp"): an INTERP record before a
 * bottom frame's ENTRY or RET tags the outermost node of the
 * sub-interpreter's calls (moved to the thread's top level), not its
 * calls; frames above a bottom frame whose ENTRY told it run there, so a
 * root among them is tagged at its start; --no-durations an outermost
 * root's RET tells it. A record for another frame is stale, one that
 * could not be read makes the execution incomplete.
 */
static void subinterp_ids(void)
{
	struct rb_config c = { .str_len = 64, .pid = 42, .callers_at_return = true };
	struct rb_state *s = rb_new(&c, keep, NULL);
	const struct lt_node *r;

	rb_code(s, 42, 0x100, "run", "/app/m.py", 10);
	rb_code(s, 42, 0x200, "f", "/app/m.py", 20);
	rb_code(s, 42, 0x300, "g", "/app/m.py", 30);
	/* f (main) starts interpreter 3, whose bottom frame g calls run */
	rb_entry(s, 0, 1, 0, now += 10, 0xA0, 0x200, 0);
	rb_interp(s, 1, 0x70, 3, false);
	rb_entry(s, 0, 1, 0, now += 10, 0x70, 0x300, 0);
	rb_entry(s, 0, 1, 0, now += 10, 0x80, 0x100, 0x70);
	R(s, 1, 0x80, 0x70, 0x100, LT_RV_INT, 1, 0);
	rb_interp(s, 1, 0x70, 3, false);
	R(s, 1, 0x70, 0, 0x300, LT_RV_NONE, 0, 0);
	/* a frame whose start said interpreter 3 above f (main) is no call
	 * of f, whatever caller its return names (3.15's callbacks at a
	 * sub-interpreter's destruction) */
	rb_interp(s, 1, 0x60, 3, false);
	rb_entry(s, 0, 1, 0, now += 10, 0x60, 0x300, 0);
	R(s, 1, 0x60, 0x50, 0x300, LT_RV_NONE, 0, 0);
	/* a stale record (its frame's RET lost): not f's */
	rb_interp(s, 1, 0x99, 4, false);
	R(s, 1, 0xA0, 0, 0x200, LT_RV_INT, 2, 0);
	rb_finish(s, now += 10);
	CHECK(ngot == 1 && got[0]->complete);
	r = got[0]->root;
	CHECK(r->ncalls == 3 && !strcmp(child(r, 0)->fn, "g") && child(r, 0)->interp == 3);
	CHECK(!child(child(r, 0), 0)->interp && !strcmp(child(r, 1)->fn, "g") && child(r, 1)->interp == 3);
	CHECK(!strcmp(child(r, 2)->fn, "f") && !child(r, 2)->interp && !child(r, 2)->ncalls);
	reset();
	rb_free(s);

	/* --root run: its execution ran in interpreter 3, told at the
	 * bottom frame's start; an unreadable one: incomplete */
	c.root_fn = "run";
	s = rb_new(&c, keep, NULL);
	rb_code(s, 42, 0x100, "run", "/app/m.py", 10);
	rb_code(s, 42, 0x300, "g", "/app/m.py", 30);
	rb_interp(s, 1, 0x70, 3, false);
	rb_entry(s, 0, 1, 0, now += 10, 0x70, 0x300, 0);
	rb_entry(s, 0, 1, 0, now += 10, 0x80, 0x100, 0x70);
	R(s, 1, 0x80, 0x70, 0x100, LT_RV_INT, 1, 0);
	R(s, 1, 0x70, 0, 0x300, LT_RV_NONE, 0, 0);
	rb_interp(s, 1, 0x70, 0, true);
	rb_entry(s, 0, 1, 0, now += 10, 0x70, 0x300, 0);
	rb_entry(s, 0, 1, 0, now += 10, 0x80, 0x100, 0x70);
	R(s, 1, 0x80, 0x70, 0x100, LT_RV_INT, 1, 0);
	CHECK(ngot == 2 && got[0]->complete && got[0]->root->interp == 3);
	CHECK(!got[1]->complete && got[1]->incomplete == LT_INC_READ_FAILURES && !got[1]->root->interp);
	reset();
	rb_free(s);

	/* --no-durations: the outermost root's RET tells it */
	c.returns_only = true;
	s = rb_new(&c, keep, NULL);
	rb_code(s, 42, 0x100, "run", "/app/m.py", 10);
	rb_code(s, 42, 0x200, "f", "/app/m.py", 20);
	R(s, 1, 0x90, 0x80, 0x200, LT_RV_INT, 2, 0);
	rb_interp(s, 1, 0x80, 5, false);
	R(s, 1, 0x80, 0x70, 0x100, LT_RV_INT, 1, LT_RF_ROOT_OUTER);
	CHECK(ngot == 1 && got[0]->root->interp == 5 && got[0]->root->ncalls == 1 &&
	      !child(got[0]->root, 0)->interp);
	reset();
	rb_free(s);
}

/* R with flags and flags2 */
static void R3(struct rb_state *s, uint64_t frame, uint64_t prev, uint64_t code, int vkind,
	       int64_t val, int flags, int flags2)
{
	struct lt_rec_ret r = { .type = LT_REC_RET, .vkind = vkind, .flags = flags, .tid = 1,
				.frame = frame, .previous = prev, .code = code, .val = val,
				.flags2 = flags2 };

	r.ts = now += 10;
	rb_return(s, &r, NULL);
}

/*
 * --no-durations through return sites, a tracing hook in the target: its
 * call at a generator's yield (3.11 also at any return) follows that
 * frame's RET; the BPF side names the frame's caller as the hook's
 * (LT_RF2_EXIT_HOOK). A generator driven by next() yields twice, calls of
 * run between; a hook raising on f's return event makes f exit again.
 */
static void returns_only_exit_hooks(void)
{
	struct rb_config cfg = { .root_fn = "run", .str_len = 64, .pid = 42, .returns_only = true };
	struct rb_state *s = rb_new(&cfg, keep, NULL);
	const struct lt_node *r, *f;
	const int X = LT_RF2_EXIT_HOOK;

	rb_code(s, 42, 0x100, "run", "/app/m.py", 10);
	rb_code(s, 42, 0x200, "f", "/app/m.py", 20);
	rb_code(s, 42, 0x300, "g", "/app/m.py", 30);
	rb_code(s, 42, 0x600, "hook", "/app/m.py", 60);
	/* run { hook, g 1 { hook }, hook (g's yield), hook, hook, g 2, hook (g's yield), hook } */
	R3(s, 0xB0, 0xA0, 0x600, LT_RV_NONE, 0, 0, 0);		/* c_call next */
	R3(s, 0xB0, 0xD0, 0x600, LT_RV_NONE, 0, 0, 0);		/* g's call event */
	R3(s, 0xD0, 0xA0, 0x300, LT_RV_INT, 1, LT_RF_YIELD, 0);
	R3(s, 0xB0, 0xA0, 0x600, LT_RV_NONE, 0, 0, X);		/* g's yield event */
	R3(s, 0xB0, 0xA0, 0x600, LT_RV_NONE, 0, 0, 0);		/* c_return next */
	R3(s, 0xB0, 0xA0, 0x600, LT_RV_NONE, 0, 0, 0);		/* c_call next */
	R3(s, 0xD0, 0xA0, 0x300, LT_RV_INT, 2, LT_RF_YIELD, 0);
	R3(s, 0xB0, 0xA0, 0x600, LT_RV_NONE, 0, 0, X);
	R3(s, 0xB0, 0xA0, 0x600, LT_RV_NONE, 0, 0, 0);
	R3(s, 0xA0, 0, 0x100, LT_RV_INT, 3, LT_RF_ROOT_OUTER, 0);
	CHECK(ngot == 1 && got[0]->complete);
	if (ngot == 1) {
		r = got[0]->root;
		CHECK(r->ncalls == 8);
		if (r->ncalls == 8) {
			CHECK(child(r, 1)->ncalls == 1 && child(r, 1)->ret.u.i == 1);
			CHECK(!strcmp(child(r, 2)->fn, "hook") && !strcmp(child(r, 5)->fn, "g") &&
			      child(r, 5)->ret.u.i == 2 && !strcmp(child(r, 6)->fn, "hook"));
		}
	}
	reset();

	/* f returns 2 (3.11 RETURN_VALUE site), then its return event's hook
	 * (making a call of its own) raises, and f exits again by it: the
	 * hook is f's, f's ret the raise; a hook that does not raise stays
	 * a call of run after f */
	R3(s, 0xC0, 0xB0, 0x300, LT_RV_INT, 7, 0, 0);		/* g in f */
	R3(s, 0xB0, 0xA0, 0x200, LT_RV_INT, 2, 0, 0);
	R3(s, 0xD0, 0xC0, 0x300, LT_RV_INT, 8, 0, 0);		/* g in the hook */
	R3(s, 0xC0, 0xA0, 0x600, LT_RV_RAISE, 0, 0, X);
	R3(s, 0xB0, 0xA0, 0x200, LT_RV_RAISE, 0, 0, 0);
	R3(s, 0xB0, 0xA0, 0x200, LT_RV_INT, 4, 0, 0);
	R3(s, 0xC0, 0xA0, 0x600, LT_RV_NONE, 0, 0, X);
	R3(s, 0xA0, 0, 0x100, LT_RV_INT, 1, LT_RF_ROOT_OUTER, 0);
	CHECK(ngot == 1 && got[0]->complete);
	if (ngot == 1) {
		r = got[0]->root;
		f = child(r, 0);
		CHECK(r->ncalls == 3 && f && !strcmp(f->ret.type, "<raise>") && f->ncalls == 2);
		if (r->ncalls == 3 && f && f->ncalls == 2) {
			CHECK(!strcmp(child(f, 0)->fn, "g") && !strcmp(child(f, 1)->fn, "hook") &&
			      child(f, 1)->ncalls == 1);
			CHECK(!strcmp(child(r, 1)->fn, "f") && child(r, 1)->ret.u.i == 4 &&
			      !strcmp(child(r, 2)->fn, "hook") && !child(r, 2)->ncalls);
		}
		CHECK(rb_stats(s)->calls == 10 + 7);
	}
	reset();
	rb_free(s);
}

int main(void)
{
	RUN(address_reuse_and_raise);
	RUN(generator_runs);
	RUN(coroutine_runs);
	RUN(coroutines_interleaved);
	RUN(throw_into_delegation);
	RUN(plain_throw_delegated_or_held);
	RUN(threads_interleaved_and_recursive_root);
	RUN(lost_return_taints);
	RUN(lost_return_resyncs);
	RUN(pre_attach_and_unfinished);
	RUN(depth_and_exclude);
	RUN(thread_executions);
	RUN(returns_only_trees);
	RUN(returns_only_coroutines);
	RUN(returns_only_attach);
	RUN(thread_and_process_tags);
	RUN(forked_child_names_the_parents_code);
	RUN(tgid_beyond_16_bits);
	RUN(thrown_into_hook_raise_subinterp);
	RUN(subinterp_ids);
	RUN(returns_only_exit_hooks);
	UNIT_EXIT();
}
