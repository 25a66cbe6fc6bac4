// SPDX-License-Identifier: GPL-2.0
/*
 * leaktrace BPF side, part of leaktrace.bpf.c (included once, where it
 * stands): CPython 3.8-3.10 (evalframe-uprobes): a
 * uprobe and a uretprobe on _PyEval_EvalFrameDefault, with a per-thread
 * stack of the frames whose return is pending.
 *
 * Uses from leaktrace.bpf.c: layouts, wanted(), reg_slot(),
 * scratch_get/put(), entry_begin(), entry_send(), init_ret(), mark_coro(),
 * decode_value(), emit(), rd64() and the drops counter.
 */
/*
 * CPython 3.8-3.10: every Python call is a call of _PyEval_EvalFrameDefault
 * with the PyFrameObject as argument. The entry uprobe pushes the frame on
 * a per-thread stack, the uretprobe pops it: the return value is in the
 * return register (NULL: an exception). Past LT_EVF_DEPTH pending frames
 * the kernel installs no more uretprobes, so neither do we push: those
 * calls come without a return, and userspace marks the execution
 * incomplete. A plain hash, not an LRU: a thread's stack is never evicted
 * (it is deleted when the thread exits); a thread that finds the map full
 * sends nothing, counted as a drop.
 */
struct evf_stack {
	__u32 depth;
	__u32 pad;
	__u64 bias;
	__u64 frames[LT_EVF_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct evf_stack);
} evf_stacks SEC(".maps");

/* calls whose return no uretprobe sees (past LT_EVF_DEPTH): the trailer's
 * unprobed_returns; the rebuild closes such a frame as stale */
__u64 evf_overflows = 0;

SEC("uprobe")
int lt_evf_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	const struct lt_py_layout *L = &layouts[LT_COOKIE_BUILD(cookie) & (LT_MAX_BUILDS - 1)];
	__u32 tid = (__u32)id;
	struct lt_rec_entry e = {};
	struct evf_stack *st;
	struct scratch *s;

	if (!wanted(id))
		return 0;
	e.frame = reg_slot(ctx, LT_COOKIE_FRAME_SLOT(cookie));
	st = bpf_map_lookup_elem(&evf_stacks, &tid);
	if (!st) {
		static const struct evf_stack empty = {};

		bpf_map_update_elem(&evf_stacks, &tid, &empty, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&evf_stacks, &tid);
		if (!st) {	/* full: this thread's calls cannot be followed */
			__sync_fetch_and_add(&drops, 1);
			return 0;
		}
	}
	/* cookie (leaktrace.h): the function's address, the frame's slot */
	st->bias = PT_REGS_IP(ctx) - LT_COOKIE_VADDR(cookie);
	/* the kernel keeps LT_EVF_DEPTH pending uretprobes per task at most:
	 * push exactly when it sets one, so the stacks stay in step */
	if (st->depth < LT_EVF_DEPTH)
		st->frames[st->depth++ & (LT_EVF_DEPTH - 1)] = e.frame;
	else	/* no uretprobe: its return is not seen, counted (not as a
		 * drop: that would mark the thread's next execution, while
		 * the rebuild marks this one, stale_frames) */
		__sync_fetch_and_add(&evf_overflows, 1);
	/* pushed first, whatever follows: the stacks stay in step with the
	 * kernel's uretprobes */
	s = scratch_get();
	if (!s)
		return 0;
	if (!entry_begin(L, s, &e, tid))
		entry_send(ctx, s, &e, id, cookie);
	scratch_put(s);
	return 0;
}

SEC("uretprobe")
int lt_evf_return(struct pt_regs *ctx)
{
	const struct lt_py_layout *L =
		&layouts[LT_COOKIE_BUILD(bpf_get_attach_cookie(ctx)) & (LT_MAX_BUILDS - 1)];
	__u64 id = bpf_get_current_pid_tgid();
	__u64 frame, retval, top = 0;
	__u32 tid = (__u32)id;
	struct lt_rec_ret *r;
	struct evf_stack *st;
	struct scratch *s;
	int fail = 0;
	__s8 state = 0;

	if (!wanted(id))
		return 0;
	st = bpf_map_lookup_elem(&evf_stacks, &tid);
	if (!st || !st->depth)
		return 0;
	frame = st->frames[--st->depth & (LT_EVF_DEPTH - 1)];
	s = scratch_get();
	if (!s)
		return 0;
	r = &s->ret;
	fail = init_ret(L, s, tid, frame, 0);
	retval = PT_REGS_RC(ctx);
	if (!retval) {
		r->vkind = LT_RV_RAISE;
	} else {
		if (layout.evf_mode == 3) {
			__s8 owner = 0;
			__u32 co_flags = 0;

			bpf_probe_read_user(&owner, 1, (void *)(frame + layout.fr_owner));
			bpf_probe_read_user(&co_flags, 4, (void *)(r->code + layout.co_flags));
			/* a generator, coroutine or async generator function's own
			 * frame only runs RETURN_GENERATOR: not a call to setprofile */
			if ((co_flags & 0x2a0) && owner != layout.owned_by_gen)
				r->flags |= LT_RF_DROP;
			if (owner == layout.owned_by_gen &&
			    !bpf_probe_read_user(&state, 1, (void *)(frame + layout.gen_state_rel)) &&
			    state > layout.gen_created && state < layout.gen_executing)	/* suspended */
				r->flags |= LT_RF_YIELD;
		} else if (layout.evf_mode == 2) {
			bpf_probe_read_user(&state, 1, (void *)(frame + layout.fr_state));
			if (state == -1)	/* FRAME_SUSPENDED */
				r->flags |= LT_RF_YIELD;
		} else {
			top = rd64(frame + layout.fr_state, &fail);
			if (top)	/* f_stacktop kept: suspended */
				r->flags |= LT_RF_YIELD;
		}
		if (r->flags & LT_RF_YIELD)
			mark_coro(L, s, r, 0);
		decode_value(s, retval, st->bias, tid, LT_COOKIE_BUILD(bpf_get_attach_cookie(ctx)));
	}
	if (fail)
		r->flags |= LT_RF_READFAIL;
	emit_yield(s);
	scratch_put(s);
	return 0;
}
