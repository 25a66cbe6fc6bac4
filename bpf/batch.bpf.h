// SPDX-License-Identifier: GPL-2.0
/*
 * leaktrace BPF side, part of leaktrace.bpf.c (included once, where it
 * stands): the records of a CPU's probes go to the ring buffer in
 * batches (LT_REC_BATCH, FORMAT.md §3), one bpf_ringbuf_output per batch
 * instead of one per record: that output (its lock, its header's atomic
 * exchange) was the largest cost of a probe (PERFORMANCE.md, issue 20).
 *
 * What keeps the order userspace relies on, a thread's records in the
 * order it made them, and a yield before any resume of its frame:
 *  - a batch only holds the records of the task that runs on its CPU: it
 *    is sent when that task is switched out (lt_switch), before it can
 *    run on another CPU (a task preempted inside a probe holds the
 *    scratch, so keeps its batch; it cannot migrate while its program
 *    runs, and other tasks' probes on that CPU find the scratch busy);
 *  - a yield's RET is sent at once (another thread may resume the frame),
 *    unless its task is its process's only thread (sole_thread: a new
 *    thread's clone sends the batch, lt_fork);
 *  - records sent by themselves (CODE, whose loss must be known as it
 *    happens; FORK, EXEC, EXIT from the tracepoints) send the CPU's batch
 *    first;
 *  - a batch older than LT_BATCH_NS is sent with its next record, and
 *    userspace has every CPU send its batch (lt_flush, run on that CPU
 *    through BPF_PROG_TEST_RUN) every LT_FLUSH_MS and when it stops.
 * A batch the ring buffer has no room for is lost whole: the drop counter
 * counts its records, as it counted them one by one.
 *
 * Uses from leaktrace.bpf.c: struct scratch (bh, batch, busy; lt_switch
 * sets ro_fresh, for --no-durations' clock), scratch_map,
 * the events ring buffer and the drops counter.
 */

/* a batch's records, every one 8-aligned behind an 8-byte header */
#define BATCH_ITEM	8

static __always_inline struct scratch *cpu_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_map, &zero);
}

/* send the CPU's batch; the caller holds the scratch */
static __always_inline void batch_flush(struct scratch *s)
{
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u32 len = s->bh.len;

	if (!len)
		return;
	s->bh.type = LT_REC_BATCH;
	/* the consumer polls every 20 ms and is not woken at each send (a
	 * wakeup is an irq_work and a task wakeup, more than the send).
	 * Only if it falls behind: once per eighth of the ring buffer this
	 * CPU sends in batches (records sent alone, CODE and the
	 * tracepoints', are not counted: few once the target has started),
	 * the unread bytes are looked at, and over a quarter of the ring
	 * they wake it. So a ring of a few MiB, which the CPU's
	 * caches hold where 32 MiB went to memory at every lap (a fifth less
	 * BPF time per call: PERFORMANCE.md, issue 20's thirteenth round),
	 * has room for more than the 20 ms */
	s->sent += len;
	if (s->sent >= ring_wake_bytes / 2) {
		s->sent = 0;
		if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= ring_wake_bytes) {
			flags = BPF_RB_FORCE_WAKEUP;
			__sync_fetch_and_add(&ring_wakeups, 1);
		}
	}
	if (bpf_ringbuf_output(&events, &s->bh, sizeof(s->bh) + (len & (LT_BATCH_BUF - 1)), flags))
		__sync_fetch_and_add(&drops, s->bh.n);
	s->bh.len = 0;
	s->bh.n = 0;
}

/* a record added to the CPU's batch (the scratch s held): fixed bytes at
 * rec (a constant multiple of 8, copied by plain loads and stores, no
 * helper), then plen bytes of the scratch's payload; ts: when it was made
 * (0: not timed), now: send the batch with it */
static __always_inline int emit_rec(struct scratch *s, const void *rec, __u32 fixed, __u32 plen,
				    __u64 ts, bool now)
{
	const __u64 *src = rec;
	__u32 off, i;
	__u64 *dst;

	off = s->bh.len & (LT_BATCH_FLUSH - 1);		/* below LT_BATCH_FLUSH */
	plen &= LT_MAX_STR - 1;
	*(__u64 *)&s->batch[off] = fixed + plen;
	dst = (__u64 *)&s->batch[off + BATCH_ITEM];
#pragma unroll
	for (i = 0; i < fixed / 8; i++)
		dst[i] = src[i];
	if (plen)
		bpf_probe_read_kernel(&s->batch[off + BATCH_ITEM + fixed], plen, s->payload);
	if (!s->bh.n || !s->first_ts)	/* its first timed record */
		s->first_ts = ts;
	s->bh.n++;
	s->bh.len = off + BATCH_ITEM + ((fixed + plen + 7) & ~7u);
	if (now || s->bh.len >= LT_BATCH_FLUSH || (ts && ts - s->first_ts >= LT_BATCH_NS))
		batch_flush(s);
	return 0;
}

/* whether the running task is its process's only thread. A yield's RET
 * is sent at once where another thread may resume the frame; the only
 * thread's stays in its batch: a thread made later is cloned by it, and
 * the clone sends the batch first (lt_fork), before the new thread runs.
 * Plain loads through the task's BTF pointers, no helper; a subprogram:
 * inlined, it took lt_return's stack with walk_step's past 512 bytes */
static __noinline bool sole_thread(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return t->signal->nr_threads == 1;
}

/* the scratch's RET (or ARG) record and its payload; now: send the batch
 * with it */
static __always_inline int emit_ret(struct scratch *s, bool now)
{
	return emit_rec(s, &s->ret, sizeof(s->ret), s->ret.payload_len, s->ret.ts, now);
}

/* the scratch's RET: a yield's sent at once, with the batch, unless its
 * task is its process's only thread (sole_thread) */
static __always_inline int emit_yield(struct scratch *s)
{
	return emit_ret(s, (s->ret.flags & LT_RF_YIELD) && !sole_thread());
}

/* a record of fixed size (a constant multiple of 8) with no payload, the
 * scratch held by the caller */
static __always_inline int emit(const void *rec, __u32 fixed)
{
	struct scratch *s = cpu_scratch();

	if (!s)
		return -1;
	return emit_rec(s, rec, fixed, 0, 0, false);
}

/* one record into the ring buffer, a drop counted if it has no room;
 * 0 once it is there */
static __always_inline int ring_out(void *data, __u64 size)
{
	if (bpf_ringbuf_output(&events, data, size, BPF_RB_NO_WAKEUP)) {
		__sync_fetch_and_add(&drops, 1);
		return -1;
	}
	return 0;
}

/* a record sent by itself, after the CPU's batch (the caller holds the
 * scratch); 0 once it is in the ring buffer */
static __always_inline int emit_alone(struct scratch *s, void *data, __u64 size)
{
	batch_flush(s);
	return ring_out(data, size);
}

/* the batch of s, the CPU's scratch (NULL: none), sent unless a probe
 * holds it (its task's batch stays with it); 1 then */
static __always_inline int flush_scratch(struct scratch *s)
{
	if (!s || !s->bh.len)
		return 0;
	if (__sync_val_compare_and_swap(&s->busy, 0, 1) != 0)
		return 1;
	batch_flush(s);
	scratch_put(s);
	return 0;
}

/* the CPU's batch sent, as flush_scratch */
static __always_inline int flush_cpu(void)
{
	return flush_scratch(cpu_scratch());
}

/* a tracepoint's record (the task's, in its context), after the CPU's
 * batch */
static __always_inline void emit_task(void *data, __u64 size)
{
	flush_cpu();
	ring_out(data, size);
}

/* a task leaves its CPU: its records go before it can run elsewhere */
SEC("tp_btf/sched_switch")
int BPF_PROG(lt_switch)
{
	struct scratch *s = cpu_scratch();

	if (s)
		s->ro_fresh = 1;	/* --no-durations: the next RET reads the clock */
	flush_scratch(s);
	return 0;
}

/* run by userspace on each CPU (BPF_PROG_TEST_RUN, BPF_F_TEST_RUN_ON_CPU):
 * 1 if a probe held that CPU's scratch and its batch was not sent */
SEC("raw_tp")
int lt_flush(void *ctx)
{
	return flush_cpu();
}
