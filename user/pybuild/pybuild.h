/* SPDX-License-Identifier: MIT */
/*
 * A CPython build as the tracer needs it, derived from the binary itself
 * (no debug info, no build-id, docs/PYTHON_VERSIONS.md): the struct
 * offsets the BPF programs and the live check read (3.13+: the file's own
 * _Py_DebugOffsets over its minor version's table, pybuild/py_tables.h;
 * 3.8-3.12: that table), and the probe sites found by decoding its
 * interpreter loop (pybuild/sites.c). Nothing derived here is trusted
 * before the live check has passed on the running process.
 */
#ifndef LT_PYBUILD_H
#define LT_PYBUILD_H

#include <stdint.h>
#include "leaktrace.h"	/* the contract: enum lt_exit_kind, LT_INSTR_IN_MEMORY */

struct py_offsets {
	uint32_t rt_tstate_current, ts_cframe, ts_curexc_type, ts_native_thread_id;
	uint32_t cf_current_frame;
	uint32_t fr_code, fr_previous, fr_prev_instr, fr_stacktop, fr_localsplus, fr_is_entry;
	uint32_t co_argcount, co_firstlineno, co_filename, co_name, co_qualname;
	uint32_t type_tp_name, var_ob_size, long_digit, float_fval;
	uint32_t str_length, str_state, str_ascii_size, str_compact_size;
	uint32_t fr_state;	/* 3.10: PyFrameObject.f_state; 3.8/3.9: f_stacktop */
	/* 3.12+: frame owner, and the generator's state byte relative to
	 * the frame it embeds; FRAME_CREATED and FRAME_OWNED_BY_GENERATOR */
	uint32_t fr_owner, co_flags;
	int32_t gen_state_rel, gen_created, owned_by_gen;
	int32_t gen_executing;	/* FRAME_EXECUTING: suspended states lie between */
	uint32_t gen_iframe;	/* 3.11+: offsetof(PyGenObject, gi_iframe), the
				 * frame a generator (coroutine, async generator:
				 * the same head) embeds */
	/* 3.12+ sites: a constant's value, FRAME_OWNED_BY_CSTACK (the C
	 * stack's entry frame, skipped as a caller) and the opcodes that
	 * tell how a frame was left */
	uint32_t co_consts, tuple_items;
	int32_t owned_by_cstack;
	uint32_t op_return_value, op_return_const, op_instr_return_value, op_instr_return_const;
	uint32_t op_extended_arg, op_yield_value;
	uint32_t op_instr_line;	/* 3.12+ INSTRUMENTED_LINE: the real opcode is elsewhere */
	uint32_t op_instr_yield_value;	/* 3.12+ INSTRUMENTED_YIELD_VALUE */
	uint32_t op_instr_instruction;	/* 3.12+ INSTRUMENTED_INSTRUCTION: the
					 * real opcode is elsewhere too */
	/* 3.12+: where those real opcodes are: PyCodeObject._co_monitoring,
	 * the instructions (co_code_adaptive), and the monitoring data's
	 * lines (original opcode per instruction) and per_instruction_opcodes */
	uint32_t co_monitoring, co_code_adaptive, mon_lines, mon_per_instr;
	/* the live check (record -p): _PyRuntime.interpreters.head, the
	 * interpreter's first thread state, the next one, the thread's frame
	 * (3.8-3.10 tstate->frame; 3.11/3.12 tstate->cframe, then
	 * cf_current_frame; 3.13 tstate->current_frame), PyObject.ob_type */
	uint32_t rt_interp_head, is_threads_head, ts_next, ts_cur_frame, ob_type;
	/* the interpreter of a thread state, its id (0: the main one), the
	 * next interpreter of _PyRuntime's list */
	uint32_t ts_interp, is_id, is_next;
};

struct py_site {
	uint64_t vaddr;		/* link-time address of the probed instruction */
	uint32_t frame_reg;	/* pt_regs slot holding the frame pointer there */
	uint32_t instr_reg;	/* pt_regs slot holding frame->prev_instr;
				 * LT_INSTR_IN_MEMORY: read it from the frame */
};

/* where a frame is left, in a build without USDT probes (or with them,
 * --no-durations prefers the sites) */
struct py_ret_site {
	uint64_t vaddr;		/* link-time address of the probed instruction */
	uint32_t frame_reg;	/* pt_regs slot holding the frame there */
	uint32_t kind;		/* enum lt_exit_kind (LT_FRAME_RETURN..LT_FRAME_YIELD_SP) */
	uint32_t aux_reg;	/* LT_FRAME_CLEAR: slot of tstate; LT_FRAME_YIELD_SP:
				 * slot of the stack pointer */
	uint32_t prev_slot1;	/* LT_FRAME_YIELD_SP: 1 + the slot of a register
				 * holding frame->previous, which the handler
				 * cleared before the site; 0: read it there */
};

struct py_build {
	char version[8];	/* "3.11" */
	const char *source;	/* where the offsets came from (for -v) */
	struct py_offsets off;
	int nresume;
	struct py_site resume[4];
	int nret;		/* 0: returns only through the USDT note */
	struct py_ret_site ret[4];
	/* 3.8-3.10: _PyEval_EvalFrameDefault and the slot of its frame
	 * argument (vaddr 0: not this mechanism) */
	struct py_site evalframe;
	/* where a code or type object's identity ends: code_dealloc and
	 * type_dealloc (PyCode_Type's and PyType_Type's tp_dealloc),
	 * type_set_name (a type's __name__ set), each with the slot of its
	 * object argument (frame_reg); vaddr 0: not found, objects of that
	 * kind are read at every use (leaktrace.bpf.c send_code) */
	struct py_site code_free, type_free, type_rename;
	/* 3.14+ (no RETURN_CONST): the return address of RETURN_VALUE's
	 * call of ClearAndPop, a frame freed there returned its stack's top
	 * (0: not known) */
	uint64_t clear_ra_value;
};

/* X of a version "3.X" or "3.X.Y", or -1 */
int py_minor(const char *version);
/*
 * The version of the CPython in the ELF file at path, by content: its
 * Py_Version (3.11+), else the version string of Py_GetVersion (3.8-3.10).
 * "3.X.Y" in out; 0, or -1 if the file holds neither.
 */
int py_version_of_file(const char *path, char *out, size_t n);
/*
 * Derive b (offsets and probe sites) for the CPython `version` in the ELF
 * file at path; dbg: its _Py_DebugOffsets (3.13+; minor 0 before). 0, or
 * -1 with why set to one line (no "leaktrace: ", no file name).
 */
struct py_dbgoff_info;
int py_build_derive(const char *path, const char *version, struct py_build *b,
		    struct py_dbgoff_info *dbg, char *why, size_t n);

#endif
