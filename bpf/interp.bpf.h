// SPDX-License-Identifier: GPL-2.0
/*
 * leaktrace BPF side, part of leaktrace.bpf.c (included once, where it
 * stands): which interpreter a call ran in (struct lt_rec_interp): the
 * thread state's interpreter at a bottom frame or an outermost root, a
 * 3.12+ bottom frame's found by a walk of _PyRuntime's interpreters and
 * their thread states.
 *
 * Uses from leaktrace.bpf.c: layouts, build_addrs, python_caller(),
 * rd64(), emit() and the read_failures counter.
 */
/* 3.11: the thread state holding the GIL, from _PyRuntime (0 where the
 * version keeps none there: 3.12+ keeps it thread-local) */
static __always_inline __u64 runtime_tstate(const struct lt_py_layout *L, __u64 bias, __u32 bi)
{
	int fail = 0;
	__u64 ts;

	if (!layout.rt_tstate_current)
		return 0;
	ts = rd64(bias + build_addrs[bi & (LT_MAX_BUILDS - 1)].runtime_vaddr + layout.rt_tstate_current,
		  &fail);
	return fail ? 0 : ts;
}

/* the interpreter interp (tstate->interp), before the ENTRY or RET of
 * frame (struct lt_rec_interp): only at a thread state's bottom frame or
 * an outermost root, never for the main interpreter (id 0). interp 0: not
 * known at this probe (a 3.12+ yield), nothing sent */
static __always_inline void send_interp_of(const struct lt_py_layout *L, __u32 tid, __u64 frame,
					   __u64 interp, int fail)
{
	struct lt_rec_interp ir = { .type = LT_REC_INTERP, .tid = tid, .frame = frame };

	if (!interp && !fail)
		return;
	ir.id = (__s64)rd64(interp + layout.is_id, &fail);
	if (fail) {
		__sync_fetch_and_add(&read_failures, 1);
		ir.failed = 1;
		ir.id = 0;
	} else if (!ir.id) {
		return;
	}
	emit(&ir, sizeof(ir));
}

static __always_inline void send_interp(const struct lt_py_layout *L, __u32 tid, __u64 frame,
					__u64 tstate)
{
	int fail = 0;
	__u64 interp;

	if (!tstate || !layout.ts_interp)
		return;
	interp = rd64(tstate + layout.ts_interp, &fail);
	send_interp_of(L, tid, frame, interp, fail);
}

/* 3.12+: the interpreter of the thread state whose current frame is
 * frame (at its start: the frame the eval loop was called with), looked
 * for in _PyRuntime's interpreters and their thread states */
struct interp_walk {
	__u64 frame;
	__u64 interp, ts;	/* where the walk is: ts 0, the next interpreter */
	__u64 found;		/* the interpreter, once found */
	__u32 bi;
	int fail;
};

static long interp_step(__u64 i, void *arg)
{
	struct interp_walk *w = arg;
	const struct lt_py_layout *L = &layouts[w->bi & (LT_MAX_BUILDS - 1)];
	__u64 cur;

	if (!w->interp || w->fail)
		return 1;
	if (!w->ts) {
		w->interp = rd64(w->interp + layout.is_next, &w->fail);
		if (w->interp)
			w->ts = rd64(w->interp + layout.is_threads_head, &w->fail);
		return 0;
	}
	cur = rd64(w->ts + layout.ts_cur_frame, &w->fail);
	if (layout.cur_via_cframe && cur)
		cur = rd64(cur + layout.cf_current_frame, &w->fail);
	if (!w->fail && cur == w->frame) {
		w->found = w->interp;
		return 1;
	}
	w->ts = rd64(w->ts + layout.ts_next, &w->fail);
	return 0;
}

/* 3.12+ RESUME: frame's caller is the C stack's entry frame (a local of
 * this _PyEval_EvalFrameDefault: near the stack pointer, where neither the
 * thread's data stack nor a generator lies, so telling it costs no read).
 * With no Python frame under it, frame is its thread state's bottom one:
 * its interpreter is sent. Other frames called from C cost one read (two
 * on 3.15), frames called from Python none */
static __always_inline void bottom_interp(struct pt_regs *ctx, const struct lt_py_layout *L,
					  struct scratch *s, __u32 tid, __u64 frame, __u64 previous,
					  __u64 bias, __u32 bi)
{
	struct interp_walk w = { .frame = frame, .bi = bi };
	__u64 under;

	if (!layout.skip_cstack || !layout.rt_interp_head || previous - PT_REGS_SP(ctx) >= LT_CSTACK_NEAR)
		return;
	under = rd64(previous + layout.fr_previous, &w.fail);
	if (!w.fail && under && layout.chain_base)
		under = python_caller(L, s, under, 0, &w.fail);
	if (w.fail || under)
		return;
	w.interp = rd64(bias + build_addrs[bi & (LT_MAX_BUILDS - 1)].runtime_vaddr +
			layout.rt_interp_head, &w.fail);
	if (w.interp)
		w.ts = rd64(w.interp + layout.is_threads_head, &w.fail);
	bpf_loop(LT_WALK_MAX, interp_step, &w, 0);
	if (w.found)
		send_interp_of(L, tid, frame, w.found, 0);
	else if (w.fail)
		send_interp_of(L, tid, frame, 0, 1);
}
