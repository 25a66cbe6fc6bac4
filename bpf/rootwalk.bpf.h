// SPDX-License-Identifier: GPL-2.0
/*
 * leaktrace BPF side, part of leaktrace.bpf.c (included once, where it
 * stands): what a return costs more with --no-durations, where no frame
 * start is seen: whether a hook's call names a caller in its exit
 * (caller_exited, skipped for a frame called inline: called_inline), and
 * the walk up the callers of a root-named frame (walk_step).
 *
 * Uses from leaktrace.bpf.c: layouts, scratch_map, the scratch's frame
 * header (hdr8), rd64(), caller_of(), send_code() and LT_CSTACK_NEAR.
 */
/*
 * --no-durations, return sites: whether the caller of a returning frame
 * had exited, its RET sent already. A sys.settrace / sys.setprofile hook
 * (3.12+: any sys.monitoring PY_YIELD callback) runs in the exit of the
 * frame it reports, after the return site fired at: 3.11 RETURN_VALUE and
 * YIELD_VALUE (the site is before TRACE_FUNCTION_EXIT), 3.12+ the first
 * instruction of INSTRUMENTED_YIELD_VALUE (the PY_YIELD event follows).
 * The hook's calls name that frame as their caller, yet its own RET is
 * behind them: they are calls of the frame it returns or yields to, where
 * a frame start places them with durations. Told by the caller during the
 * hook: 3.12, 3.13 a generator suspended already; 3.14+ a generator at
 * INSTRUMENTED_YIELD_VALUE (its instr_ptr is past its yield once
 * suspended); 3.11 any frame at RETURN_VALUE, a generator suspended at
 * YIELD_VALUE (one thrown into at its yield runs there). No other call has
 * such a caller: a throw() through `yield from` marks the delegating frame
 * executing, and 3.11 pops a returning frame before clearing it.
 */
static __always_inline bool gen_suspended(const struct lt_py_layout *L, __u64 frame)
{
	__s8 state = 0;

	return layout.gen_executing != layout.gen_created &&
	       !bpf_probe_read_user(&state, 1, (void *)(frame + (__s64)layout.gen_state_rel)) &&
	       state > layout.gen_created && state < layout.gen_executing;
}

static __always_inline bool caller_exited(const struct lt_py_layout *L, __u64 caller)
{
	__s8 owner = 0;
	__u64 instr;
	__u8 op = 0;
	int fail = 0;

	if (!caller)
		return false;
	if (!layout.exit_hook_any_frame) {
		if (!layout.fr_owner ||
		    bpf_probe_read_user(&owner, 1, (void *)(caller + layout.fr_owner)) ||
		    owner != layout.owned_by_gen)
			return false;
		if (gen_suspended(L, caller))
			return true;
		if (layout.op_exit_hook[0] > 0xff)
			return false;
	}
	instr = rd64(caller + layout.fr_prev_instr, &fail);
	if (fail || bpf_probe_read_user(&op, 1, (void *)instr))
		return false;
	if (op == layout.op_exit_hook[0])
		return true;
	/* 3.11 YIELD_VALUE: not a generator thrown into at its yield, nor
	 * one delegating to a generator thrown into (executing both) */
	return op == layout.op_exit_hook[1] && gen_suspended(L, caller);
}

/* --no-durations, return sites: a returning frame its caller called from
 * bytecode, not through C, whose caller therefore runs no exit hook (a
 * hook is called from C): 3.11 its is_entry byte clear, 3.12+ its previous
 * (prev) a Python frame, far from the stack pointer (python_caller). Read
 * from the frame's window: no read */
static __always_inline bool called_inline(const struct lt_py_layout *L, const struct scratch *s,
					  __u64 prev, __u64 sp)
{
	if (layout.exit_hook_any_frame)
		return layout.fr_is_entry && !hdr8(s, layout.fr_is_entry);
	return layout.skip_cstack && sp && prev - sp >= LT_CSTACK_NEAR;
}

/* --no-durations: the walk up the callers of a returning root-named frame */
struct walk {
	__u64 frame;		/* the next caller to look at */
	__u32 tid;
	__u32 bi;		/* the build (its layout) */
	__u8 flag;		/* LT_RF_ROOT_* */
};

static long walk_step(__u64 i, void *arg)
{
	struct walk *w = arg;
	const struct lt_py_layout *L = &layouts[w->bi & (LT_MAX_BUILDS - 1)];
	struct scratch *s;
	__u32 zero = 0;
	__u64 code;
	int fail = 0;

	if (!w->frame) {
		w->flag = LT_RF_ROOT_OUTER;
		return 1;
	}
	code = untag(L, rd64(w->frame + layout.fr_code, &fail));
	/* send_return, which runs this loop, holds the scratch */
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (fail || !s) {
		w->flag = LT_RF_ROOT_UNSURE;
		return 1;
	}
	/* a caller's code may not have returned yet: send its strings now */
	if (send_code(L, s, code, 0, w->tid)) {
		w->flag = LT_RF_ROOT_NESTED;
		return 1;
	}
	w->frame = caller_of(L, s, w->frame, &fail);
	if (fail) {
		w->flag = LT_RF_ROOT_UNSURE;
		return 1;
	}
	return 0;
}
