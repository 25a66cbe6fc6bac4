/* SPDX-License-Identifier: MIT */
/*
 * The BPF/userspace contract (FORMAT.md §3), the one header both sides
 * compile: limits, the ring-buffer records, the probe cookies (packed and
 * unpacked only through the LT_COOKIE* macros below), the one enum of how
 * a frame is left, and the CPython layout the BPF programs read (filled
 * from the offset table before load). The _Static_asserts at the end hold
 * in the BPF and in the userspace compile alike: a record that changes
 * size or shape fails both builds, not a recording.
 *
 * The BPF side stays small: it sends one fixed-size record per frame start
 * (ENTRY) and per frame exit (RET, with the decoded return value), the
 * strings of a code object once (CODE), and thread exits (EXIT). Userspace
 * rebuilds the call trees (user/record/rebuild.c).
 */
#ifndef LEAKTRACE_H
#define LEAKTRACE_H

#ifndef __bpf__
#include <linux/types.h>	/* the BPF side has them from vmlinux.h */
#endif

#define LT_MAX_STR	2048	/* buffer for one str value (power of 2; --str-len <= 256 chars) */
#define LT_NAME_MAX	256	/* most bytes of a qualified name sent */
#define LT_FILE_MAX	256	/* most bytes of a file name sent */
#define LT_BIGINT_DIGITS 511	/* 30-bit digits of an int sent (about 4600 decimal
				 * digits); of a longer int its most significant
				 * ones, ob_size telling it was cut */
#define LT_MAX_ARGS	8	/* --args: most positional arguments sent per call */
#define LT_EVF_DEPTH	64	/* the kernel's pending-uretprobe limit per task */
#define LT_FRAME_HDR	80	/* bytes of a frame read at once at a frame start (and at
				 * a return where LT_FRAME_WIN is not readable): the code,
				 * previous, prev_instr, stacktop and owner offsets lie
				 * below (every frame has one slot past them); also what
				 * python_caller reads of each caller it walks */
#define LT_FRAME_WIN	192	/* bytes of a frame read at once at a return where
				 * they can be (else LT_FRAME_HDR): the popped value
				 * of a frame with few slots lies inside */
#define LT_CODE_WIN	96	/* bytes of a code object read at once from
				 * co_firstlineno rounded down to 8: its identity
				 * (first line, co_filename, co_qualname) lies inside */

enum lt_rec_type {
	LT_REC_ENTRY = 1,	/* a frame starts or a generator resumes */
	LT_REC_RET = 2,		/* a frame returns, yields or unwinds */
	LT_REC_CODE = 3,	/* strings of a code object (first sighting) */
	LT_REC_EXIT = 4,	/* a thread of a traced process exits */
	LT_REC_EXEC = 6,	/* -a, or a followed process: it called execve
				 * (struct lt_rec_exit) */
	LT_REC_FORK = 7,	/* a followed process forked a new process
				 * (struct lt_rec_exit: pid the child, tid the parent) */
	LT_REC_CMDLINE = 8,	/* after an EXEC: the new image's command line
				 * (struct lt_rec_cmdline) */
	LT_REC_STOPPED = 9,	/* a new followed process was sent SIGSTOP before
				 * its first instruction (struct lt_rec_exit) */
	LT_REC_ARG = 5,		/* --args: one positional argument of the call just
				 * entered (struct lt_rec_ret; previous = index,
				 * code = number of positional arguments) */
	LT_REC_INTERP = 10,	/* right before the ENTRY or RET of `frame`: the
				 * interpreter its thread state runs, when not the
				 * main one (struct lt_rec_interp) */
	LT_REC_BATCH = 11,	/* records of one CPU's probes sent at once
				 * (struct lt_rec_batch) */
};

/* kind of the value in a RET record */
enum lt_rec_vkind {
	LT_RV_OTHER = 0,	/* only the type (type_ptr, name sent in a CODE-like TYPE string) */
	LT_RV_NONE,
	LT_RV_INT,		/* small int: val (int64) */
	LT_RV_BIGINT,		/* payload: digits of 30 bits, str_len: ob_size (signed, 32 bits);
				 * |ob_size| > LT_BIGINT_DIGITS: the most significant
				 * LT_BIGINT_DIGITS of them (cut) */
	LT_RV_FLOAT,		/* val: IEEE bits */
	LT_RV_BOOL,		/* val: 0/1 */
	LT_RV_STR,		/* payload: text in `str_kind` units, `str_len` chars in all */
	LT_RV_RAISE,		/* left by an exception */
	LT_RV_UNREAD,		/* the value could not be read */
};

/* flags of a RET record */
#define LT_RF_YIELD	0x01	/* the frame yielded (generator/coroutine run) */
#define LT_RF_READFAIL	0x02	/* a read of target memory failed */
#define LT_RF_DROP	0x04	/* not a call in the profiler's sense (3.12+: the
				 * frame that only creates a generator): forget it */
#define LT_RF_NOTGEN	0x08	/* 3.12+ sites: the code is not a generator or
				 * coroutine (a frame of it that was never seen
				 * starting never ran RESUME: the 3.13 __init__
				 * shim, or arguments that did not bind) */
/* --no-durations, a frame whose code is named like --root: what the walk
 * up its callers found (no flag: the code is not a root) */
#define LT_RF_ROOT_OUTER	0x10	/* no caller runs a root: an execution */
#define LT_RF_ROOT_NESTED	0x20	/* a caller runs a root: a call inside one */
#define LT_RF_ROOT_UNSURE	0x40	/* the walk could not finish (unreadable
					 * caller, or deeper than LT_WALK_MAX) */
#define LT_RF_CORO	0x80	/* with LT_RF_YIELD: the code is a coroutine or
				 * async generator, whose runs are one call */
/* flags2 of a RET record */
#define LT_RF2_DELEGATED 0x01	/* a generator's exit (not a yield) whose caller
				 * frame sits suspended in a yield from with this
				 * generator on its stack's top: the caller
				 * delegates to it and did not run, throw()
				 * linked it (issue 22) */
#define LT_RF2_CALLER_RUNS 0x02	/* a generator's exit (not a yield) whose caller
				 * frame is not so: the eval loop runs it, a call
				 * of the caller's run (neither flag: the caller's
				 * opcode hidden by an instrumentation tool) */
#define LT_RF2_EXIT_HOOK 0x04	/* --no-durations, return sites: the caller
				 * frame had exited (its RET sent: a tracing
				 * hook of its return or yield made this call);
				 * previous is that frame's caller */
/* how _PyCoMonitoringData.lines holds an instruction's original opcode */
#define LT_LINES_PAIRS	0	/* 3.12, 3.13.0: {opcode, line delta} per instruction */
#define LT_LINES_BPE	1	/* 3.14+: a bytes_per_entry byte, then entries
				 * of that many bytes, the opcode first */
#define LT_LINES_EITHER	2	/* 3.13: PAIRS (its first entry, before
				 * RESUME, is 0) in 3.13.0, BPE (at least 2)
				 * in later 3.13 releases */
#define LT_ROOT_MAX	128	/* most bytes of a --root name the BPF side compares */
#define LT_WALK_MAX	4096	/* most callers walked at a root's return */

struct lt_rec_entry {
	__u8 type;
	__u8 pad[3];
	__u32 tid;
	__u64 ts;
	__u64 frame;
	__u64 code;
	__u32 nstid;		/* tid in the target's pid namespace (pidns mode), else 0 */
	__u32 tgid;		/* the process */
	__u64 previous;		/* the caller's frame as the frame holds it (3.12+:
				 * may be the C stack's entry frame): the rebuild
				 * resynchronises on it after a loss */
	__u32 drops;		/* snapshot of the drop counter, as in RET */
	__u32 pad2;
};

struct lt_rec_ret {
	__u8 type;
	__u8 vkind;
	__u8 flags;
	__u8 str_kind;		/* LT_RV_STR: 1 (ascii/latin-1/utf-8 see str_utf8), 2, 4 */
	__u32 tid;
	__u64 ts;
	__u64 frame;
	__u64 previous;
	__u64 code;
	__u64 type_ptr;		/* ob_type of the value, in the target's address space */
	__u64 val;
	__u32 str_len;		/* LT_RV_STR: length in characters (at most
				 * 2^32 - 1); BIGINT: ob_size (signed) */
	__u32 tgid;		/* the process (--no-durations: whose thread) */
	__u32 drops;		/* snapshot of the drop counter (loss detection) */
	__u16 payload_len;	/* bytes of payload that follow */
	__u8 str_utf8;		/* LT_RV_STR: payload is UTF-8 (1) or latin-1/ascii (0) */
	__u8 flags2;		/* LT_RF2_* */
	/* payload_len bytes of payload follow the record */
};

/* strings of one code object, or (is_type) the tp_name of a type */
struct lt_rec_code {
	__u8 type;
	__u8 is_type;
	__u8 name_kind;		/* 1/2/4 bytes per char, 0 = UTF-8 */
	__u8 file_kind;
	__u32 tid;
	__u64 code;		/* the code or type object's address */
	__s32 firstlineno;
	__u16 name_len;		/* bytes */
	__u16 file_len;
	__u32 tgid;		/* the process the address is in */
	__u32 pad;
	char name[LT_NAME_MAX];
	char file[LT_FILE_MAX];
};

struct lt_rec_exit {
	__u8 type;
	__u8 pad[3];
	__u32 tid;
	__u64 ts;
	__u32 pid;
	__u32 pad2;		/* EXEC: LT_EXEC_HELD or 0 */
};

/* EXEC: the process was sent SIGSTOP before the new image's first
 * instruction (its first exec of that file while followed); userspace
 * continues it once it has looked for a build in it */
#define LT_EXEC_HELD	1

/* a file in the map exe_seen: its inode and the kernel's dev_t of its
 * file system (12 bits of major, 20 of minor) */
struct lt_exe_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

#define LT_CMDLINE_MAX	256	/* bytes of a command line sent at exec */

struct lt_rec_cmdline {
	__u8 type;
	__u8 pad[3];
	__u32 pid;
	__u32 len;		/* bytes of buf used: NUL-separated arguments */
	__u32 pad2;
	char buf[LT_CMDLINE_MAX];
};

/* a batch: len bytes of n records follow, each behind an 8-byte header
 * whose first 4 bytes (little-endian) are its size, the next record at
 * the next multiple of 8 (bpf/batch.bpf.h says when a batch is sent) */
struct lt_rec_batch {
	__u8 type;
	__u8 pad;
	__u16 n;
	__u32 len;
};

#define LT_BATCH_FLUSH	2048	/* a batch of this many bytes or more is sent */
#define LT_BATCH_REC_MAX 4096	/* bytes of one record in a batch, less than this */
#define LT_BATCH_BUF	8192	/* the batch's buffer: its mask bounds a send */
#define LT_BATCH_NS	20000000ull	/* a batch this old is sent with its next record */

/*
 * Which interpreter a frame runs in (FORMAT.md §2 "interp"), sent only
 * where it can change: before the RET of a thread state's bottom frame (no
 * Python caller: a sub-interpreter's outermost frame, a thread's first),
 * --no-durations before the RET of a root with no root among its callers,
 * and before the ENTRY of a bottom frame (3.11: previous 0; 3.12+ sites:
 * the C stack's entry frame, with nothing under it). Nothing is sent for the main interpreter (id 0):
 * ordinary calls cost nothing more.
 */
struct lt_rec_interp {
	__u8 type;
	__u8 failed;		/* the thread state or interpreter could not be read */
	__u8 pad[2];
	__u32 tid;
	__u64 frame;
	__s64 id;		/* PyInterpreterState.id */
};

/* link-time addresses of one traced build (executable or libpython); the
 * probe cookies carry the build's index */
#define LT_MAX_BUILDS	8
struct lt_build_addrs {
	__u64 runtime_vaddr;		/* &_PyRuntime */
	__u64 type_vaddr[5];		/* indexed by LT_T_* */
	__u64 true_vaddr;		/* &_Py_TrueStruct */
	__u64 none_vaddr, false_vaddr;	/* &_Py_NoneStruct, &_Py_FalseStruct (0: not
					 * known, the value's type is read) */
};
enum { LT_T_LONG, LT_T_BOOL, LT_T_FLOAT, LT_T_STR, LT_T_NONE };

/*
 * Probe cookies: every probe carries one 64-bit cookie, the same layout
 * for every mechanism:
 *   bits 56-63  index of the build (struct lt_build_addrs) it belongs to
 *   bits 16-55  link-time address of the probed instruction; the probe's
 *               ip minus it is the load bias (0 where nothing needs it:
 *               the uretprobe of _PyEval_EvalFrameDefault)
 *   bits  8-15  by probe: RESUME sites the pt_regs slot of
 *               frame->prev_instr (LT_INSTR_IN_MEMORY, LT_NO_SLOT);
 *               return sites LT_SITE_EXTRA(exit kind, aux slot)
 *   bits  0-7   pt_regs slot of the frame pointer (0 where the frame
 *               is found otherwise: the USDT note); return sites
 *               LT_SITE_FRAME(frame slot, 1 + slot of previous)
 * Link-time addresses of x86-64 and arm64 executables and libraries lie
 * far below 2^40; userspace checks it with LT_COOKIE_FITS before packing.
 */
#define LT_COOKIE_VADDR_BITS	40
#define LT_COOKIE_FITS(vaddr)	((__u64)(vaddr) >> LT_COOKIE_VADDR_BITS == 0)
#define LT_COOKIE(build, vaddr, extra, frame_slot)				\
	((__u64)(build) << 56 | (__u64)(vaddr) << 16 |				\
	 ((__u64)(extra) & 0xff) << 8 | ((__u64)(frame_slot) & 0xff))
#define LT_COOKIE_BUILD(c)	((__u32)((c) >> 56) & (LT_MAX_BUILDS - 1))
#define LT_COOKIE_VADDR(c)	(((c) >> 16) & ((1ULL << LT_COOKIE_VADDR_BITS) - 1))
#define LT_COOKIE_EXTRA(c)	((__u32)((c) >> 8) & 0xff)
#define LT_COOKIE_FRAME_SLOT(c)	((__u32)(c) & 0xff)
/* the extra byte of a return site: the exit kind, and a second pt_regs
 * slot (LT_FRAME_CLEAR: tstate; LT_FRAME_YIELD_SP: the stack pointer) */
#define LT_SITE_EXTRA(kind, aux_slot)	(((kind) & 0xf) | ((aux_slot) & 0xf) << 4)
#define LT_SITE_KIND(extra)		((extra) & 0xf)
#define LT_SITE_AUX_SLOT(extra)		(((extra) >> 4) & 0xf)
/* the frame byte of a return site: the frame's pt_regs slot, and 1 + the
 * slot of a register holding the frame's previous (0: read it from the
 * frame; a yield site past the handler's clearing of it) */
#define LT_SITE_FRAME(frame_slot, prev_slot1)	(((frame_slot) & 0xf) | ((prev_slot1) & 0xf) << 4)
#define LT_SITE_FRAME_SLOT(frame_byte)		((frame_byte) & 0xf)
#define LT_SITE_PREV_SLOT1(frame_byte)		(((frame_byte) >> 4) & 0xf)
/* RESUME sites: the frame's prev_instr is not in a register there */
#define LT_INSTR_IN_MEMORY	0xfe
/* no pt_regs slot (the evalframe entry: no prev_instr to send args by) */
#define LT_NO_SLOT		0xff

/*
 * How a frame is left: the kind of a return site (the offset table's
 * py_ret_site.kind, in the cookie's extra byte) and what the BPF side
 * decides a RET was. The values 0-4 are the offset table's numbers
 * (scripts/gen_offsets.py writes them as numbers): keep them.
 */
enum lt_exit_kind {
	LT_FRAME_RETURN = 0,	/* returned a value */
	LT_FRAME_YIELD = 1,	/* yielded (generator or coroutine) */
	LT_FRAME_RAISE = 2,	/* left by an exception */
	LT_FRAME_CLEAR = 3,	/* 3.12+: entry of _PyEval(Frame)ClearAndPop(tstate,
				 * frame): a return or an exception exit */
	LT_FRAME_YIELD_SP = 4,	/* 3.12+: first instruction of YIELD_VALUE; the
				 * value is on top of the stack (aux slot) */
	LT_FRAME_UNKNOWN = 15,	/* not told by the probe (the USDT note): found
				 * out from the thread state */
};

/* code and type objects are named per process: (tgid, address), each
 * whole (a tgid may exceed 16 bits: pid_max goes to 2^22) */

/* CPython layout, set from the offset table before load (one layout for
 * every build traced at once) */
struct lt_py_layout {
	__u32 rt_tstate_current;
	__u32 ts_cframe;
	__u32 ts_curexc_type;
	__u32 cf_current_frame;
	__u32 fr_code;
	__u32 fr_previous;
	__u32 fr_prev_instr;
	__u32 fr_stacktop;
	__u32 fr_localsplus;
	__u32 co_argcount;
	__u32 co_firstlineno;
	__u32 co_filename;
	__u32 co_qualname;
	__u32 type_tp_name;
	__u32 var_ob_size;
	__u32 long_digit;
	__u32 float_fval;
	__u32 str_length;
	__u32 str_state;
	__u32 str_ascii_size;
	__u32 str_compact_size;
	__u32 op_yield_value;		/* opcode of YIELD_VALUE */
	__u32 fr_state;			/* evalframe: f_state (3.10) or f_stacktop (3.8/3.9) */
	__u32 evf_mode;			/* 0: not evalframe; 1: f_stacktop != NULL is a yield;
					 * 2: f_state == FRAME_SUSPENDED (-1) is a yield;
					 * 3: (3.12+) a generator's frame whose state is
					 * between FRAME_CREATED and FRAME_EXECUTING is a yield */
	__u32 fr_owner, co_flags;
	__s32 gen_state_rel, gen_created, owned_by_gen;
	__u32 long_tag;			/* 3.12+: sign and size of an int in lv_tag */
	/* 3.12+ sites (exit kinds LT_FRAME_CLEAR, LT_FRAME_YIELD_SP) */
	__u32 co_consts, tuple_items;
	__u32 skip_cstack;		/* a caller owned by the C stack (the entry
					 * frame) is not a Python caller: skip it */
	__s32 owned_by_cstack;
	__u32 op_return_value, op_return_const, op_instr_return_value, op_instr_return_const;
	__u32 op_extended_arg;
	__u32 op_instr_line;		/* INSTRUMENTED_LINE (a LINE tool such as
					 * coverage put it over the real opcode) */
	/* 3.14+: frame and stack slots hold _PyStackRef values: the object
	 * is the value with these tag bits cleared, and a value with all of
	 * them set is a tagged int (value >> 2), not an object */
	__u64 stackref_mask;
	__u32 stack_is_ptr;		/* 3.14+: fr_stacktop is the pointer
					 * stackpointer, not the index stacktop */
	__s32 gen_executing;		/* FRAME_EXECUTING: a generator frame is
					 * suspended strictly between gen_created
					 * and this (3.15 numbers them from 0) */
	__u32 co_window;		/* co_flags (or co_firstlineno) & ~7:
					 * LT_CODE_WIN bytes from it hold the
					 * code's identity (and its flags) */
	__u32 gen_resume_in_creator;	/* 3.15+: a generator expression's code
					 * runs RESUME in the frame that creates
					 * it, before RETURN_GENERATOR: no call */
	__u32 yield_ip_after;		/* 3.13+: a suspended frame's instr_ptr is
					 * past its YIELD_VALUE, whose oparg is 1 in
					 * a yield from (3.11/3.12: prev_instr at it) */
	__u32 ts_interp, is_id;		/* PyThreadState.interp, PyInterpreterState.id */
	/* 3.12+ sites, a bottom frame's start: which thread state runs it,
	 * from _PyRuntime's interpreters and their threads (leaktrace.bpf.c
	 * bottom_interp) */
	__u32 rt_interp_head, is_next, is_threads_head, ts_next, ts_cur_frame;
	__u32 cur_via_cframe;		/* 3.12: ts_cur_frame is the _PyCFrame,
					 * whose cf_current_frame is the frame */
	__u32 chain_base;		/* 3.15+: every chain ends in the thread
					 * state's base frame, under the entry frame */
	__u32 gen_iframe;		/* offsetof(PyGenObject, gi_iframe): a
					 * generator's frame minus this is the
					 * generator (issue 22) */
	__u32 op_instr_yield_value, op_instr_instruction;	/* 3.12+ */
	/* 3.12+: the opcode an instrumentation tool hid, from the code's
	 * monitoring data (leaktrace.bpf.c hidden_opcode) */
	__u32 co_monitoring, co_code_adaptive, mon_lines, mon_per_instr;
	__u32 lines_format;		/* LT_LINES_* */
	__u32 yf_slot;			/* a yield from's delegate is this many
					 * slots below the stack's top (3.15+: 2,
					 * its GET_ITER pushes a second item) */
	/* return sites: the instructions whose site fires before the
	 * tracing hook of their exit runs and the frame is not told by its
	 * generator's state (3.11 RETURN_VALUE, YIELD_VALUE; 3.14+
	 * INSTRUMENTED_YIELD_VALUE; else PY_TABLE_NO_OP), and whether any
	 * frame may be at one (3.11) or only a generator's (3.12+) */
	__u32 op_exit_hook[2];
	__u32 exit_hook_any_frame;
	__u32 fr_is_entry;		/* 3.11: the frame's is_entry byte (0: none) */
	/* lt_obj_gone probes the build's code_dealloc (code), type_dealloc
	 * and type_set_name (types): an object of that kind found in the
	 * CPU's cache is still it, so named, while its bucket saw no free
	 * or rename (leaktrace.bpf.c send_code) */
	__u32 code_frees_seen, type_frees_seen;
	__u32 co_flags_in_window;	/* co_flags lie in the code window read */
	/* 3.14+: the return address, in the eval loop, of a call of
	 * ClearAndPop whose frame returned its stack's top (RETURN_VALUE;
	 * 0: not known): no exception or opcode to read there */
	__u64 clear_ra_value;
};

/* the load-time configuration (the BPF side's const volatile globals,
 * set through the skeleton's rodata before load) is declared at the top
 * of leaktrace.bpf.c, each named for what it means */

/* record shapes both sides rely on (userspace reads them from the ring
 * buffer by these layouts) */
_Static_assert(sizeof(struct lt_rec_entry) == 56, "lt_rec_entry layout");
_Static_assert(__builtin_offsetof(struct lt_rec_entry, drops) == 48, "lt_rec_entry.drops");
_Static_assert(sizeof(struct lt_rec_ret) == 72, "lt_rec_ret layout");
_Static_assert(__builtin_offsetof(struct lt_rec_ret, drops) == 64, "lt_rec_ret.drops");
_Static_assert(sizeof(struct lt_rec_ret) % 8 == 0, "the payload follows lt_rec_ret aligned");
_Static_assert(__builtin_offsetof(struct lt_rec_code, name) == 32, "lt_rec_code.name");
_Static_assert(sizeof(struct lt_rec_code) == 32 + LT_NAME_MAX + LT_FILE_MAX, "lt_rec_code layout");
_Static_assert(sizeof(struct lt_rec_exit) == 24, "lt_rec_exit layout");
_Static_assert(sizeof(struct lt_rec_interp) == 24, "lt_rec_interp layout");
_Static_assert(sizeof(struct lt_rec_cmdline) == 16 + LT_CMDLINE_MAX, "lt_rec_cmdline layout");
_Static_assert(__builtin_offsetof(struct lt_rec_entry, type) == 0 &&
	       __builtin_offsetof(struct lt_rec_ret, type) == 0 &&
	       __builtin_offsetof(struct lt_rec_code, type) == 0 &&
	       __builtin_offsetof(struct lt_rec_exit, type) == 0 &&
	       __builtin_offsetof(struct lt_rec_interp, type) == 0,
	       "every record starts with its type byte");
_Static_assert(sizeof(struct lt_build_addrs) == 72, "lt_build_addrs layout");
_Static_assert(LT_MAX_BUILDS <= 256 && (LT_MAX_BUILDS & (LT_MAX_BUILDS - 1)) == 0,
	       "the build index is 8 bits of the cookie and masked");
_Static_assert(LT_FRAME_UNKNOWN <= 0xf && LT_FRAME_YIELD_SP <= 0xf, "exit kinds fit 4 bits");
_Static_assert((LT_MAX_STR & (LT_MAX_STR - 1)) == 0, "LT_MAX_STR is a power of 2");
_Static_assert(sizeof(struct lt_rec_batch) == 8, "lt_rec_batch layout");
_Static_assert(sizeof(struct lt_rec_ret) + LT_MAX_STR < LT_BATCH_REC_MAX &&
	       sizeof(struct lt_rec_code) < LT_BATCH_REC_MAX, "every record fits a batch");
_Static_assert(LT_BATCH_FLUSH + 8 + LT_BATCH_REC_MAX <= LT_BATCH_BUF &&
	       (LT_BATCH_FLUSH & (LT_BATCH_FLUSH - 1)) == 0 &&
	       (LT_BATCH_REC_MAX & (LT_BATCH_REC_MAX - 1)) == 0 &&
	       (LT_BATCH_BUF & (LT_BATCH_BUF - 1)) == 0, "the batch's masks");
_Static_assert(LT_BIGINT_DIGITS * 4 < LT_MAX_STR, "an int's digits fit the payload below its mask");

#endif /* LEAKTRACE_H */
