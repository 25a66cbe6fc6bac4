// SPDX-License-Identifier: GPL-2.0
/*
 * leaktrace BPF side: the probes on a CPython interpreter.
 *
 *  lt_resume  uprobe on the first conditional jump of each RESUME handler in
 *             _PyEval_EvalFrameDefault (kernel-emulated, no single-step),
 *             3.11-3.13. Fires at every frame start and generator resume;
 *             the frame pointer is in a register named by the attach cookie.
 *  lt_return  uprobe on the function__return USDT note (semaphore set by the
 *             kernel through ref_ctr_offset), 3.11. Fires at every return,
 *             yield and exception exit; the frame is
 *             tstate->cframe->current_frame.
 *  lt_return_site  builds without the note: return, yield and exception
 *             sites in the interpreter loop (3.11), or the entry of
 *             ClearAndPop and the first instruction of YIELD_VALUE (3.12+).
 *  lt_evf_entry, lt_evf_return  uprobe and uretprobe on
 *             _PyEval_EvalFrameDefault (3.8-3.10; 3.12 with the trampoline).
 *  lt_obj_gone  uprobes on code_dealloc, type_dealloc and type_set_name:
 *             a code or type object freed, a type renamed.
 *
 * Only reads of target memory (bpf_probe_read_user); nothing is written to
 * the target. Included where they stand, by concern: reading CPython
 * objects (str, int, float, code) pyobjects.bpf.h, which interpreter a
 * call ran in interp.bpf.h, how a 3.12+ frame exited exitkind.bpf.h, the
 * 3.8-3.10 probes evalframe.bpf.h, the process tree's tracepoints
 * tree.bpf.h. What both sides share is leaktrace.h (FORMAT.md §3).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leaktrace.h"

char LICENSE[] SEC("license") = "GPL";

/* load-time configuration: set by userspace through the skeleton's
 * rodata before load (user/record/attach.c), constant to the verifier */
const volatile __u8 targ_comm[16] = {};	/* -a --comm: only this command */
const volatile __u32 targ_tgid = 0;	/* 0: every process (system-wide) */
const volatile __u32 targ_in_pidns = 0;	/* the target lives in another pid namespace */
const volatile __u32 value_str_max = 0;	/* --str-len in bytes (<= LT_MAX_STR / 4 chars read) */
const volatile __u32 types_only = 0;	/* --no-values: send the types of values only */
const volatile __u32 send_arg_values = 0;	/* --args: send positional arguments */
const volatile __u32 follow_exec = 0;	/* -a: report execve (builds met later) */
const volatile __u32 follow_tree = 0;	/* targ_tgid's descendants are traced too */
const volatile __u32 ring_wake_bytes = 0;	/* a quarter of the ring buffer (batch_flush) */

/* per traced build, indexed by LT_COOKIE_BUILD; writable (.bss) so that
 * -a can add builds it meets after load (a container started later with
 * its own python) */
struct lt_build_addrs build_addrs[LT_MAX_BUILDS] = {};
/* the CPython layout of each build, same index: builds of different
 * versions are traced at once (-a), each probe reading its own; helpers
 * take it as L, and `layout` below is *L */
struct lt_py_layout layouts[LT_MAX_BUILDS] = {};
#define layout (*L)

/* --no-durations: only returns are probed; a return sends its code's
 * strings and, for a code named like --root, whether a caller runs one */
const volatile __u32 returns_only = 0;
/* --root as CPython stores a str of each PEP 393 kind (1, 2, 4 bytes a
 * character), [kind / 2]; length 0: no --root, or not storable in that
 * kind or too long to compare (its executions are then marked incomplete) */
const volatile char root_name[3][LT_ROOT_MAX] = {};
const volatile __u32 root_len[3] = {};
const volatile __u32 root_dotted = 0;	/* the name has a '.': whole qualname only */

/* set by userspace once every probe is attached, so that returns and
 * frame starts begin to count at the same moment */
__u32 armed = 0;

/* counters, reported in the trailer */
__u64 drops = 0;
__u64 read_failures = 0;
__u64 seen_inserts = 0;		/* new keys in seen (evictions: these less its entries) */
__u64 ring_wakeups = 0;		/* the consumer woken as it fell behind (-v) */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);	/* set by --ringbuf-mb */
} events SEC(".maps");

/* a code or type object: (process, address), both whole */
struct obj_key {
	__u64 addr;
	__u32 tgid;
	__u32 pad;
};

/* what tells one code object from another at the same address: its
 * qualname and filename objects and first line (a type: its tp_name and
 * tp_basicsize); `root`: bit 0 a code named like --root, SLOT_FLAGS and
 * the code's generator flags (and in the CPU's cache the slot's kind) */
struct obj_tag {
	__u64 name, file;
	__s32 line;
	__u32 root;
};

/* code/type objects whose strings were sent, with the identity they were
 * sent for: an address reused by another object is sent again. An
 * eviction only costs a CODE record sent once more; the trailer counts
 * them (seen_inserts less the entries left at the end) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct obj_key);
	__type(value, struct obj_tag);
} seen SEC(".maps");

/* per CPU, direct-mapped: code/type objects whose strings this CPU knows
 * were sent (key, seen value), so that most calls skip the LRU lookup */
#define CODE_CACHE	512
#define SLOT_CODE	2	/* in a slot's tag.root: a code object's slot */
#define SLOT_TYPE	4	/* a type's */
/* in a code object's tag.root (slot and seen): its co_flags were read,
 * CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR (0x2a0) of them
 * shifted by SLOT_FLAGS_SHIFT */
#define SLOT_FLAGS	8
#define SLOT_FLAGS_SHIFT 8

/* the cache's bucket of a code or type object of process tgid */
static __always_inline __u32 obj_bucket(__u64 obj, __u32 tgid)
{
	return ((obj >> 4) ^ (obj >> 13) ^ tgid) & (CODE_CACHE - 1);
}

/* code and type objects freed, types renamed (lt_obj_gone), by bucket,
 * and traced processes that ended or exec'd (lt_exit, lt_exec: their pid
 * may be reused, their addresses are another image's). A cache slot
 * filled for an object while their sum was G still holds that object,
 * named as it was, while it is G: no object of its bucket was freed, so
 * none took its address */
__u32 obj_gone[CODE_CACHE] = {};
__u32 obj_epoch = 0;

struct scratch {
	__u64 busy;		/* a probe of this CPU is using it (scratch_get) */
	struct lt_rec_ret ret;
	__u8 payload[LT_MAX_STR];
	struct lt_rec_code code;
	struct {
		struct obj_key key;	/* pad: obj_gone[bucket] + obj_epoch when filled */
		struct obj_tag tag;	/* root | SLOT_CODE or SLOT_TYPE */
	} cache[CODE_CACHE];
	__u8 hdr[256];		/* the start of a frame, read at once: */
	__u32 hdr_len;		/* its bytes read (returns: LT_FRAME_WIN where they can be) */
	__u8 cwin[128];		/* LT_CODE_WIN bytes of a code object */
	__u8 link[128];		/* LT_FRAME_HDR bytes of a caller (python_caller) */
	__u64 first_ts;		/* when the batch's first timed record was made */
	__u64 ro_ts, ro_jiffies;	/* --no-durations: the CPU's last clock reading, */
	__u32 ro_uses;		/* its tick, the RETs that took it since */
	__u32 ro_fresh;		/* the next RET reads the clock (ro_clock) */
	__u64 sent;		/* bytes of batches sent since the ring's fill was looked at */
	struct lt_rec_batch bh;	/* the CPU's batch (batch.bpf.h): its header, */
	__u8 batch[LT_BATCH_BUF];	/* right before its records */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* follow_tree: the descendants of targ_tgid, added at their fork (and by
 * userspace for those forked before attach); a process leaves at exit */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} followed SEC(".maps");

/* the value: a child not run yet (lt_child_start stops it), or one that
 * runs (also those userspace adds) */
#define FOLLOWED_NEW		1
#define FOLLOWED_RUNNING	2

static __always_inline bool is_followed(__u32 tgid)
{
	return tgid == targ_tgid || (follow_tree && bpf_map_lookup_elem(&followed, &tgid));
}

/* the target process (and its descendants), or (system-wide) any
 * process, --comm filtered */
static __always_inline bool wanted(__u64 pid_tgid)
{
	char comm[16];

	if (!armed)
		return false;
	if (targ_tgid)
		return is_followed(pid_tgid >> 32);
	if (!targ_comm[0])
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < 16; i++) {
		if (comm[i] != targ_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/*
 * The CPU's scratch, for one probe at a time. Uprobe programs run with
 * migration disabled, not preemption: on a preemptible kernel a task
 * preempted while it fills the scratch can have another task's probe run
 * on the same CPU. That one finds the scratch busy and sends nothing,
 * counted as a drop (the consumer marks what it touched incomplete).
 * Every scratch_get that returns the scratch is paired with a scratch_put.
 */
static __always_inline struct scratch *scratch_get(void)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);

	if (!s)
		return NULL;
	if (__sync_val_compare_and_swap(&s->busy, 0, 1) != 0) {
		__sync_fetch_and_add(&drops, 1);
		return NULL;
	}
	return s;
}

static __always_inline void scratch_put(struct scratch *s)
{
	asm volatile("" ::: "memory");	/* every use of it before the release */
	*(volatile __u64 *)&s->busy = 0;
}

static __always_inline __u64 rd64(__u64 addr, int *fail)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		*fail = 1;
	return v;
}

#include "batch.bpf.h"	/* emit(): the CPU's batch of records */
#include "pyobjects.bpf.h"	/* reading str, int, float, code objects */

/* a pt_regs slot by index (x86-64 order); the verifier refuses a variable
 * offset into ctx, so each slot is a constant offset of its own (cheaper
 * than copying the slot with a helper) */
#define REG_CASE(k) case k: \
	asm volatile("%[v] = *(u64 *)(%[c] + %[off])" : [v] "=r"(v) : [c] "r"(ctx), [off] "i"(8 * (k))); \
	return v
static __always_inline __u64 reg_slot(struct pt_regs *ctx, __u64 slot)
{
	__u64 v;

	switch (slot & 15) {
	REG_CASE(0); REG_CASE(1); REG_CASE(2); REG_CASE(3); REG_CASE(4); REG_CASE(5);
	REG_CASE(6); REG_CASE(7); REG_CASE(8); REG_CASE(9); REG_CASE(10); REG_CASE(11);
	REG_CASE(12); REG_CASE(13); REG_CASE(14); REG_CASE(15);
	}
	return 0;
}

/* --args: the positional arguments of a frame that starts (not of a
 * generator resume, whose locals may have changed) */
static __always_inline void send_args(struct pt_regs *ctx, struct scratch *s,
				      const struct lt_rec_entry *e, __u64 site, __u64 instr_reg,
				      __u32 bi)
{
	const struct lt_py_layout *L = &layouts[bi & (LT_MAX_BUILDS - 1)];
	struct lt_rec_ret *r = &s->ret;
	__u64 bias = PT_REGS_IP(ctx) - site, instr, obj;
	__s32 argc = 0;
	__u8 oparg = 1;
	int fail = 0;

	/* RESUME sites: only a frame start (oparg 0), not a generator resume;
	 * instr_reg LT_NO_SLOT (evalframe): every entry has its arguments */
	if (instr_reg != LT_NO_SLOT) {
		if (instr_reg == LT_INSTR_IN_MEMORY)
			instr = rd64(e->frame + layout.fr_prev_instr, &fail);
		else
			instr = reg_slot(ctx, instr_reg);
		if (bpf_probe_read_user(&oparg, 1, (void *)(instr + 1)) || oparg != 0)
			return;
	}
	if (bpf_probe_read_user(&argc, sizeof(argc), (void *)(e->code + layout.co_argcount)))
		return;
	for (int i = 0; i < LT_MAX_ARGS; i++) {
		if (i >= argc)
			break;
		obj = rd64(e->frame + layout.fr_localsplus + 8 * i, &fail);
		r->type = LT_REC_ARG;
		r->vkind = LT_RV_UNREAD;
		r->flags = 0;
		r->str_kind = 0;
		r->str_utf8 = 0;
		r->tid = e->tid;
		r->ts = e->ts;
		r->frame = e->frame;
		r->previous = i;
		r->code = argc;
		r->type_ptr = 0;
		r->val = 0;
		r->str_len = 0;
		r->tgid = e->tgid;
		r->payload_len = 0;
		r->drops = drops;
		if (fail || !obj)
			r->flags |= LT_RF_READFAIL;
		else
			decode_value(s, obj, bias, e->tid, bi);
		emit_ret(s, false);
	}
}

/* fields of the frame header read by entry_frame and init_ret (userspace checks that the
 * offsets fall inside LT_FRAME_HDR) */
static __always_inline __u64 hdr64(const struct scratch *s, __u32 off)
{
	return *(const __u64 *)(s->hdr + (off & 0x78));
}

static __always_inline __u32 hdr32(const struct scratch *s, __u32 off)
{
	return *(const __u32 *)(s->hdr + (off & 0x7c));
}

static __always_inline __s8 hdr8(const struct scratch *s, __u32 off)
{
	barrier_var(off);	/* keep the mask: the verifier needs it */
	return (__s8)s->hdr[off & 0x7f];
}

/* 3.11+: the owner of a frame whose start was read (s->hdr); -1 where the
 * build has none (3.8-3.10) */
static __always_inline int frame_owner(const struct lt_py_layout *L, const struct scratch *s)
{
	return layout.fr_owner ? hdr8(s, layout.fr_owner) : -1;
}

/* the frame's code and caller, from its header read at once (one helper
 * call, as the code alone took); 1 if unreadable */
static __always_inline int entry_frame(const struct lt_py_layout *L, struct scratch *s,
				       struct lt_rec_entry *e)
{
	s->hdr_len = LT_FRAME_HDR;
	if (bpf_probe_read_user(s->hdr, LT_FRAME_HDR, (void *)e->frame)) {
		__sync_fetch_and_add(&read_failures, 1);
		return 1;
	}
	e->code = untag(L, hdr64(s, layout.fr_code));
	e->previous = hdr64(s, layout.fr_previous);
	e->drops = drops;
	e->pad2 = 0;
	return 0;
}

/* 3.15+: RESUME in a frame the thread owns, of generator code, is a
 * generator expression being created (its code begins RESUME; LOAD_FAST;
 * GET_ITER; RETURN_GENERATOR): no call starts, none will return */
static __always_inline bool creating_generator(const struct lt_py_layout *L, const struct scratch *s,
					       __u64 code)
{
	int owner = frame_owner(L, s);

	if (owner < 0 || owner == (int)layout.owned_by_gen)
		return false;
	return code_gen_flags(L, s, code) > 0;	/* CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR */
}

/* an ENTRY record for e->frame begun: its code and caller read, its
 * code's strings sent (once); 1 if there is no call to send (unreadable,
 * or a generator being created: its code named all the same, which left
 * its flags in the CPU's cache) */
static __always_inline int entry_begin(const struct lt_py_layout *L, struct scratch *s,
				       struct lt_rec_entry *e, __u32 tid)
{
	if (entry_frame(L, s, e))
		return 1;
	send_code(L, s, e->code, 0, tid);
	return layout.gen_resume_in_creator && creating_generator(L, s, e->code);
}

/* ... and sent, with (--args) the call's positional arguments */
static __always_inline void entry_send(struct pt_regs *ctx, struct scratch *s,
				       struct lt_rec_entry *e, __u64 id, __u64 cookie)
{
	e->type = LT_REC_ENTRY;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	e->tid = (__u32)id;
	e->nstid = 0;
	e->tgid = id >> 32;
	if (targ_in_pidns) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct pid *p = BPF_CORE_READ(task, thread_pid);
		unsigned int level = BPF_CORE_READ(p, level);

		e->nstid = BPF_CORE_READ(p, numbers[level & 31].nr);
	}
	e->ts = bpf_ktime_get_ns();
	emit_rec(s, e, sizeof(*e), 0, e->ts, false);
	if (send_arg_values)
		send_args(ctx, s, e, LT_COOKIE_VADDR(cookie), LT_COOKIE_EXTRA(cookie),
			  LT_COOKIE_BUILD(cookie));
}

/* 3.12+: how far above the stack pointer, at a probe in the eval loop or
 * in a function it calls, the C stack's entry frame can lie (a local of
 * the running _PyEval_EvalFrameDefault); no Python frame lies there (they
 * live in the thread's data stack or a generator) */
#define LT_CSTACK_NEAR 4096

/* the Python caller, given a frame's previous (3.12+: past the C-stack
 * entry frame). sp: the stack pointer, where prev is the caller of the
 * frame the probe's eval loop runs (0 where unknown): a prev farther from
 * it than LT_CSTACK_NEAR is a Python frame, told without a read. Else
 * each frame's owner and previous are read at once (LT_FRAME_HDR bytes) */
static __always_inline __u64 python_caller(const struct lt_py_layout *L, struct scratch *s,
					   __u64 prev, __u64 sp, int *fail)
{
	if (sp && prev - sp >= LT_CSTACK_NEAR)
		return prev;
	/* 3.15 ends every chain with one more such frame, the thread
	 * state's base_frame, under the C stack's entry frame; and a
	 * callback run as an entry frame is torn down (3.15: a weakref
	 * callback as _find_and_load's module lock dies, called from C)
	 * has that entry frame below its own: three in a row */
	for (int i = 0; i < 3; i++) {
		__u32 off = layout.fr_owner;

		if (!layout.skip_cstack || !prev ||
		    bpf_probe_read_user(s->link, LT_FRAME_HDR, (void *)prev))
			break;
		barrier_var(off);	/* keep the mask: the verifier needs it */
		if ((__s8)s->link[off & 0x7f] != (__s8)layout.owned_by_cstack)
			break;	/* (a Python frame: one read) */
		prev = *(const __u64 *)(s->link + (layout.fr_previous & 0x78));
	}
	return prev;
}

#include "interp.bpf.h"

SEC("uprobe")
int lt_resume(struct pt_regs *ctx)
{
	const struct lt_py_layout *L;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct lt_rec_entry e;
	struct scratch *s;
	__u64 cookie;

	if (!wanted(id))
		return 0;
	/* cookie (leaktrace.h): the site, the slots of prev_instr and frame */
	cookie = bpf_get_attach_cookie(ctx);
	L = &layouts[LT_COOKIE_BUILD(cookie) & (LT_MAX_BUILDS - 1)];
	e.frame = reg_slot(ctx, LT_COOKIE_FRAME_SLOT(cookie));
	s = scratch_get();
	if (!s)
		return 0;
	if (entry_begin(L, s, &e, tid))
		goto out;
	/* 3.11: a bottom frame (no caller) may start a sub-interpreter's
	 * run; 3.12+ shows the C stack's entry frame here, not 0 */
	if (!e.previous)
		send_interp(L, tid, e.frame,
			    runtime_tstate(L, PT_REGS_IP(ctx) - LT_COOKIE_VADDR(cookie),
					   LT_COOKIE_BUILD(cookie)));
	else
		bottom_interp(ctx, L, s, tid, e.frame, e.previous,
			      PT_REGS_IP(ctx) - LT_COOKIE_VADDR(cookie), LT_COOKIE_BUILD(cookie));
	entry_send(ctx, s, &e, id, cookie);
out:
	scratch_put(s);
	return 0;
}

static __always_inline __u64 caller_of(const struct lt_py_layout *L, struct scratch *s, __u64 frame,
					int *fail)
{
	return python_caller(L, s, rd64(frame + layout.fr_previous, fail), 0, fail);
}

#include "rootwalk.bpf.h"	/* --no-durations: exit hooks, the root walk */

/* --no-durations: a RET's time, the clock read only where an
 * execution's bounds need it: at a root's return and the RET after it,
 * the CPU's first after a task switch (lt_switch sets ro_fresh: a thread
 * that moved, or a thread's first); else once per LT_RO_CLOCK_RECS RETs
 * and once per clock tick (jiffies) of the CPU, the RETs between given
 * its last reading (FORMAT.md §3). The clock cost 41% as much as the
 * RET program's own code (PERFORMANCE.md, issue 20's tenth round) */
#define LT_RO_CLOCK_RECS 8

static __always_inline __u64 ro_clock(struct scratch *s, bool root)
{
	__u64 j = bpf_jiffies64();

	if (root || s->ro_fresh || j != s->ro_jiffies || ++s->ro_uses >= LT_RO_CLOCK_RECS) {
		s->ro_ts = bpf_ktime_get_ns();
		s->ro_jiffies = j;
		s->ro_uses = 0;
	}
	s->ro_fresh = root;
	return s->ro_ts;
}

/* a RET record for frame, value still unread; the frame's fixed part and
 * its first slots are read at once into s->hdr (one helper call instead of
 * one per field and one for the popped value; the fixed part alone where
 * the wider window is not all readable). Returns 1 if the frame or its
 * caller could not be read */
static __always_inline int init_ret(const struct lt_py_layout *L, struct scratch *s, __u32 tid,
				    __u64 frame, __u64 sp)
{
	struct lt_rec_ret *r = &s->ret;
	int fail = 0;

	r->type = LT_REC_RET;
	r->vkind = LT_RV_UNREAD;
	r->flags = 0;
	r->str_kind = 0;
	r->str_utf8 = 0;
	r->tid = tid;
	r->ts = returns_only ? 0 : bpf_ktime_get_ns();	/* (--no-durations: ro_clock) */
	r->frame = frame;
	s->hdr_len = LT_FRAME_WIN;
	if (bpf_probe_read_user(s->hdr, LT_FRAME_WIN, (void *)frame)) {
		s->hdr_len = LT_FRAME_HDR;
		if (bpf_probe_read_user(s->hdr, LT_FRAME_HDR, (void *)frame))
			fail = 1;
	}
	r->previous = python_caller(L, s, hdr64(s, layout.fr_previous), sp, &fail);
	r->code = untag(L, hdr64(s, layout.fr_code));
	r->type_ptr = 0;
	r->val = 0;
	r->str_len = 0;
	r->tgid = bpf_get_current_pid_tgid() >> 32;
	r->payload_len = 0;
	r->drops = drops;
	r->flags2 = 0;
	return fail;
}

/* a slot of frame's stack: from the frame read at once where it lies
 * inside, else read alone. The value a return popped stays in the slot at
 * the stack's top, localsplus[stacktop] (3.11-3.13), *stackpointer (3.14+) */
static __always_inline __u64 frame_slot(const struct scratch *s, __u64 frame, __u64 slot, int *fail)
{
	__u64 rel = slot - frame;

	if (rel <= s->hdr_len - 8 && !(rel & 7))
		return *(const __u64 *)(s->hdr + (rel & 0xf8));
	return rd64(slot, fail);
}

static __always_inline __u64 popped_value(const struct lt_py_layout *L, const struct scratch *s,
					  __u64 frame, int *fail)
{
	__u64 slot;

	if (layout.stack_is_ptr)
		slot = hdr64(s, layout.fr_stacktop);
	else
		slot = frame + layout.fr_localsplus + 8 * (hdr32(s, layout.fr_stacktop) & 0xffffff);
	return frame_slot(s, frame, slot, fail);
}

#include "exitkind.bpf.h"

/* a yield of a coroutine or async generator: userspace keeps its node
 * across its runs (user/record/suspend.h); a plain generator's runs are
 * calls of their own */
static __always_inline void mark_coro(const struct lt_py_layout *L, const struct scratch *s,
				      struct lt_rec_ret *r, __u32 co_flags)
{
	int cf = co_flags ? (int)co_flags : code_gen_flags(L, s, r->code);

	if (cf > 0 && (cf & 0x280))	/* CO_COROUTINE | CO_ASYNC_GENERATOR */
		r->flags |= LT_RF_CORO;
}

/* issue 22: a generator frame's exit (not a yield; co_flags if read, else
 * its owner in the header) whose caller frame is another generator's:
 * throw() delegated through the caller's yield from (_gen_throw links the
 * caller's frame without running it: the exit is a call of whoever called
 * throw()), or the caller runs and closes or drops a generator it holds
 * (its call). The generators' states do not tell (_gen_throw marks the
 * delegating one FRAME_EXECUTING too); the caller's frame does: throw()
 * links it only suspended in a yield from whose delegate, on its stack's
 * top, is this generator (_PyGen_yf): LT_RF2_DELEGATED; any other caller
 * the eval loop runs: LT_RF2_CALLER_RUNS; neither where an
 * instrumentation tool hides the caller's opcode and its monitoring data
 * cannot be read. A few reads, only at such exits */
static __always_inline void mark_delegated(const struct lt_py_layout *L, struct scratch *s,
					   struct lt_rec_ret *r, __u32 co_flags)
{
	__u64 instr, top, slot;
	__u8 op[2] = {};
	__u32 off;
	__s8 owner;
	int fail = 0, real;

	if (!r->previous || (r->flags & (LT_RF_YIELD | LT_RF_DROP)))
		return;
	if (co_flags) {
		if (!(co_flags & 0x20))		/* CO_GENERATOR */
			return;
	} else if (frame_owner(L, s) != (int)layout.owned_by_gen) {
		return;
	}
	/* a frame the eval loop runs keeps no stack top (3.11-3.13: stacktop
	 * -1, 3.14+: stackpointer NULL), but a saved one proves nothing
	 * (3.14 saves it around calls, 3.12+ around an inlined send) */
	top = rd64(r->previous + layout.fr_stacktop, &fail);
	if (fail)
		return;
	if (layout.stack_is_ptr ? top != 0 : (__s32)top > 0) {
		instr = rd64(r->previous + layout.fr_prev_instr, &fail);
		if (layout.yield_ip_after)
			instr -= 2;
		if (fail || bpf_probe_read_user(op, 2, (void *)instr))
			return;
		if (op[0] == layout.op_instr_line || op[0] == layout.op_instr_instruction) {
			/* a tool hid it: the real one from the monitoring data */
			slot = untag(L, rd64(r->previous + layout.fr_code, &fail));
			real = fail ? -1 : hidden_opcode(L, slot, instr, op[0]);
			if (real < 0)
				return;		/* unknown: neither flag */
			op[0] = real;
		}
		/* suspended at a YIELD_VALUE (3.13+: oparg 1 in a yield from),
		 * its delegate (_PyGen_yf: the stack's top; 3.15+ the slot
		 * below, GET_ITER pushes two) this generator */
		if ((op[0] == layout.op_yield_value || op[0] == layout.op_instr_yield_value) &&
		    (!layout.yield_ip_after || op[1] == 1)) {
			off = layout.yf_slot & 3;
			slot = layout.stack_is_ptr ? top - 8 * off :
			       r->previous + layout.fr_localsplus + 8 * (((__u32)top - off) & 0xffffff);
			slot = untag(L, rd64(slot, &fail));
			if (fail)
				return;
			if (slot == r->frame - layout.gen_iframe) {
				r->flags2 |= LT_RF2_DELEGATED;
				return;
			}
		}
	}
	/* a caller of the thread whose code is a generator's only creates
	 * one (RETURN_GENERATOR, never seen starting nor returning: no
	 * call): its allocation ran the collector, which closed this one.
	 * Its caller is the Python caller */
	if (layout.fr_owner && !bpf_probe_read_user(&owner, 1, (void *)(r->previous + layout.fr_owner)) &&
	    owner == 0 &&
	    !bpf_probe_read_user(&co_flags, 4,
				 (void *)(untag(L, rd64(r->previous + layout.fr_code, &fail)) +
					  layout.co_flags)) &&
	    !fail && (co_flags & 0x2a0)) {	/* CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR */
		top = caller_of(L, s, r->previous, &fail);
		if (!fail)
			r->previous = top;
		return;
	}
	r->flags2 |= LT_RF2_CALLER_RUNS;
}

/* at a function's first instruction (a probe there or on the push after
 * its endbr64), whether its return address is ra in the file (bias: the
 * file's load bias) */
static __always_inline bool called_from(__u64 sp, __u64 bias, __u64 ra)
{
	__u64 at = 0;

	return !bpf_probe_read_user(&at, 8, (void *)sp) && at - bias == ra;
}

/* one RET record for frame; kind LT_FRAME_UNKNOWN: find out from the thread
 * state (exception set?) and the last instruction (YIELD_VALUE?).
 * aux: the thread state (LT_FRAME_UNKNOWN, LT_FRAME_CLEAR) or the interpreter's
 * stack pointer (LT_FRAME_YIELD_SP) */
static __always_inline int send_return(__u32 tid, __u64 frame, __u64 aux, __u64 bias, int kind,
				       __u32 bi, bool site, __u64 prev, bool have_prev, __u64 sp)
{
	const struct lt_py_layout *L = &layouts[bi & (LT_MAX_BUILDS - 1)];
	__u64 exc = 0, instr, retval = 0;
	struct lt_rec_ret *r;
	struct scratch *s;
	__u32 co_flags = 0;	/* the code's generator flags, 0 until read */
	bool have_value = false, root = false;
	int fail = 0, owner, cf;
	__u8 op = 0;

	s = scratch_get();
	if (!s)
		return 0;
	r = &s->ret;
	fail = init_ret(L, s, tid, frame, sp);
	/* a yield site after the handler cleared frame->previous */
	if (have_prev)
		r->previous = python_caller(L, s, prev, sp, &fail);
	if (returns_only && site && !fail &&
	    !called_inline(L, s, have_prev ? prev : hdr64(s, layout.fr_previous), sp) &&
	    caller_exited(L, r->previous)) {
		instr = caller_of(L, s, r->previous, &fail);
		if (!fail) {
			r->previous = instr;
			r->flags2 |= LT_RF2_EXIT_HOOK;
		}
	}
	if (returns_only && !fail && send_code(L, s, r->code, 0, tid)) {
		struct walk w = { .frame = r->previous, .tid = tid, .bi = bi,
				  .flag = LT_RF_ROOT_UNSURE };

		bpf_loop(LT_WALK_MAX, walk_step, &w, 0);
		r->flags |= w.flag;
		root = true;
	}
	if (returns_only)
		r->ts = ro_clock(s, root);
	/* a bottom frame (a sub-interpreter's outermost one, a thread's
	 * first) or an outermost root: which interpreter. The thread state
	 * is aux for the USDT note and ClearAndPop; 3.11's sites read it */
	if (!fail && (!r->previous || (r->flags & LT_RF_ROOT_OUTER)))
		send_interp(L, tid, frame,
			    kind == LT_FRAME_UNKNOWN || kind == LT_FRAME_CLEAR ? aux :
			    kind == LT_FRAME_YIELD_SP ? 0 : runtime_tstate(L, bias, bi));
	if (kind == LT_FRAME_CLEAR || kind == LT_FRAME_YIELD_SP) {
		/* a frame no generator owns runs no generator's code (one that
		 * only creates a generator never ends here), told from the
		 * window; a generator's code flags are read */
		owner = fail ? -1 : frame_owner(L, s);
		if (owner >= 0 && owner != (int)layout.owned_by_gen)
			r->flags |= LT_RF_NOTGEN;
		else if (!fail && (cf = code_gen_flags(L, s, r->code)) >= 0 && !(co_flags = cf))
			r->flags |= LT_RF_NOTGEN;	/* no CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR */
		if (kind == LT_FRAME_YIELD_SP) {
			retval = frame_slot(s, frame, aux - 8, &fail);	/* the stack's top */
			kind = LT_FRAME_YIELD;
		} else if (!fail && layout.clear_ra_value && sp &&
			   called_from(sp, bias, layout.clear_ra_value)) {
			/* RETURN_VALUE's own call: no exception, no opcode to read */
			retval = popped_value(L, s, frame, &fail);
			kind = LT_FRAME_RETURN;
		} else if (!fail) {
			kind = clear_kind(L, s, r, frame, aux, &retval, &fail);
		}
		have_value = true;
	}
	if (kind == LT_FRAME_UNKNOWN) {
		exc = rd64(aux + layout.ts_curexc_type, &fail);
		if (!fail && !exc) {
			instr = hdr64(s, layout.fr_prev_instr);
			if (!fail && bpf_probe_read_user(&op, 1, (void *)instr) == 0 &&
			    op == layout.op_yield_value)
				kind = LT_FRAME_YIELD;
		}
	}
	if (fail) {
		r->flags |= LT_RF_READFAIL;
		__sync_fetch_and_add(&read_failures, 1);
	} else if (exc || kind == LT_FRAME_RAISE) {
		r->vkind = LT_RV_RAISE;
		/* a generator thrown into (3.11: closed before it started)
		 * ends here without having run RESUME, where its code is
		 * named: name it now, while it exists (once: the cache) */
		if (!returns_only)
			send_code(L, s, r->code, 0, tid);
	} else {
		if (kind == LT_FRAME_YIELD) {
			r->flags |= LT_RF_YIELD;
			mark_coro(L, s, r, co_flags);
		}
		/* the popped value stays in localsplus[stacktop] */
		if (!have_value)
			retval = popped_value(L, s, frame, &fail);
		if (r->flags & LT_RF_DROP) {
			/* nothing to decode */
		} else if (fail) {
			r->flags |= LT_RF_READFAIL;
			__sync_fetch_and_add(&read_failures, 1);
		} else {
			decode_value(s, retval, bias, tid, bi);
		}
	}
	if (!fail && !returns_only)
		mark_delegated(L, s, r, co_flags);
	/* a yield at once where another thread may resume the frame */
	emit_yield(s);
	scratch_put(s);
	return 0;
}

/* the function__return USDT note: the frame is tstate->cframe->current_frame */
SEC("uprobe")
int lt_return(struct pt_regs *ctx)
{
	const struct lt_py_layout *L;
	__u64 id = bpf_get_current_pid_tgid();
	__u64 bias, tstate, cframe, frame, cookie;
	int fail = 0;
	__u32 bi;

	if (!wanted(id))
		return 0;
	/* the cookie holds the build and the note's link-time address:
	 * ip - address = load bias */
	cookie = bpf_get_attach_cookie(ctx);
	bi = LT_COOKIE_BUILD(cookie) & (LT_MAX_BUILDS - 1);
	L = &layouts[bi];
	bias = PT_REGS_IP(ctx) - LT_COOKIE_VADDR(cookie);
	tstate = rd64(bias + build_addrs[bi].runtime_vaddr + layout.rt_tstate_current, &fail);
	cframe = rd64(tstate + layout.ts_cframe, &fail);
	frame = rd64(cframe + layout.cf_current_frame, &fail);
	if (fail) {
		__sync_fetch_and_add(&read_failures, 1);
		return 0;
	}
	return send_return((__u32)id, frame, tstate, bias, LT_FRAME_UNKNOWN, bi, false, 0, false, 0);
}

/*
 * Return sites (builds without probes). 3.11: the first conditional jump
 * of the RETURN_VALUE and YIELD_VALUE handlers after frame->stacktop is
 * stored, and of exit_unwind. 3.12+: the entry of ClearAndPop (past its
 * endbr64) and, in YIELD_VALUE, its first conditional jump or call (else
 * its first instruction; at the jump 3.14+ have cleared frame->previous,
 * which a register still holds). Cookie (leaktrace.h): the site, its exit
 * kind and aux slot (LT_SITE_EXTRA), the frame's slot and previous's
 * (LT_SITE_FRAME).
 */
SEC("uprobe")
int lt_return_site(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 cookie, bias, aux = 0, prev = 0;
	__u32 extra, fb;
	int kind;

	if (!wanted(id))
		return 0;
	cookie = bpf_get_attach_cookie(ctx);
	bias = PT_REGS_IP(ctx) - LT_COOKIE_VADDR(cookie);
	extra = LT_COOKIE_EXTRA(cookie);
	kind = LT_SITE_KIND(extra);
	if (kind == LT_FRAME_CLEAR || kind == LT_FRAME_YIELD_SP)
		aux = reg_slot(ctx, LT_SITE_AUX_SLOT(extra));
	fb = LT_COOKIE_FRAME_SLOT(cookie);
	if (LT_SITE_PREV_SLOT1(fb))
		prev = reg_slot(ctx, LT_SITE_PREV_SLOT1(fb) - 1);
	return send_return((__u32)id, reg_slot(ctx, LT_SITE_FRAME_SLOT(fb)), aux, bias, kind,
			   LT_COOKIE_BUILD(cookie), true, prev, LT_SITE_PREV_SLOT1(fb) != 0,
			   PT_REGS_SP(ctx));
}

/*
 * code_dealloc and type_dealloc (PyCode_Type's and PyType_Type's
 * tp_dealloc) and type_set_name (the setter of a type's __name__), past
 * their endbr64: every code or type object freed, and every type renamed,
 * passes there, the object in the register the cookie's frame slot
 * names. Its bucket's count goes up, so that no CPU takes an object later
 * made at its address, or the type renamed, for the one it cached
 * (send_code). Whatever the process: a count too many costs one read,
 * never a name.
 */
SEC("uprobe")
int lt_obj_gone(struct pt_regs *ctx)
{
	__u64 obj = reg_slot(ctx, LT_COOKIE_FRAME_SLOT(bpf_get_attach_cookie(ctx)));

	__sync_fetch_and_add(&obj_gone[obj_bucket(obj, bpf_get_current_pid_tgid() >> 32)], 1);
	return 0;
}

#include "evalframe.bpf.h"

#include "tree.bpf.h"
