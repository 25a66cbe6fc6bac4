/* SPDX-License-Identifier: MIT */
/*
 * Probe sites found in the CPython binary itself: no debug info, no
 * build-id, no gdb (issue 16). The only inputs are the ELF file the target
 * maps (an executable or libpython, PIE, shared or not, stripped or not)
 * and its minor version; the only tools libelf and capstone.
 *
 * How (docs/PYTHON_VERSIONS.md has the why of each site):
 *  1. _PyEval_EvalFrameDefault from .dynsym (.symtab if there is one).
 *  2. Its computed-goto dispatch table: a table of 256 code pointers
 *     (R_X86_64_RELATIVE addends in a PIE or shared object, absolute
 *     words otherwise) referenced by the function, and the one that the
 *     handlers themselves jump through at their end (movzx eax, [next_instr];
 *     mov rax, [rax*8 + TABLE]; jmp rax, or through a register holding
 *     the table, as 3.15 does). When the symbol holds no such table, the
 *     loop is elsewhere: GCC 16 (Debian sid 3.13-3.15) puts all handlers
 *     in the symbol's .cold part, other compilers outline the loop into a
 *     local function; the unwind-table ranges (.eh_frame_hdr) of the
 *     symbol's jump and call targets are searched then. The file is read,
 *     never mapped (elfcode.c: uprobes write int3 into such mappings).
 *  3. Each opcode's handler from the minor version's opcode numbers
 *     (opcodes.h), decoded with capstone:
 *     - 3.11: the RESUME_QUICK and RESUME sites (the first direct jump
 *       after frame->prev_instr is stored; frame and prev_instr in
 *       registers there); RETURN_VALUE and YIELD_VALUE (the first direct
 *       jump after frame->stacktop is stored) and exit_unwind (the jump of
 *       the one frame->is_entry test outside RETURN_VALUE and
 *       RETURN_GENERATOR);
 *     - 3.12+: RESUME, RESUME_CHECK (3.13+) and INSTRUMENTED_RESUME sites
 *       (prev_instr may be only in memory there: LT_INSTR_IN_MEMORY);
 *       the entry of _PyEval(Frame)ClearAndPop, the call target of
 *       RETURN_VALUE's handler (and RETURN_CONST's, which must agree)
 *       with the frame as second argument, through the PLT if need be; the
 *       first instruction of YIELD_VALUE and INSTRUMENTED_YIELD_VALUE;
 *     - 3.8-3.10 (and 3.12 for -X perf): _PyEval_EvalFrameDefault itself.
 * Every pattern must match exactly once, the frame register must be the
 * same at every handler site, and an opcode whose handler is the table's
 * default (another version's map) is refused; anything else is a failure
 * with the reason, never a guess.
 */
#ifndef LT_SITES_H
#define LT_SITES_H

#include <stddef.h>

#include "pybuild/pybuild.h"

/*
 * Sites a build needs, at most: 3.12+ has RESUME, RESUME_CHECK and
 * INSTRUMENTED_RESUME (3 of py_build's 4 resume slots) and ClearAndPop,
 * YIELD_VALUE and INSTRUMENTED_YIELD_VALUE (3 of its 4 ret slots), so
 * py_build's arrays are large enough today; a version that needs more
 * fails with a reason instead of dropping a site.
 */
#define PY_SITES_MAX_RESUME	4
#define PY_SITES_MAX_RET	4

/*
 * Fill out->resume/nresume, out->ret/nret and out->evalframe of the CPython
 * 3.<minor> binary at path (minor 8..15), as the BPF programs take them
 * (leaktrace.bpf.c: lt_resume, lt_return_site, lt_evf_entry; FORMAT.md §3):
 *  resume[] order: 3.11 RESUME_QUICK, RESUME; 3.12+ RESUME, RESUME_CHECK
 *    (3.13+), INSTRUMENTED_RESUME (when its site is not RESUME's);
 *  ret[] order: 3.11 RETURN_VALUE, YIELD_VALUE, exit_unwind
 *    (LT_FRAME_RETURN, _YIELD, _RAISE), or none (nret 0, why says which
 *    was not found, the return value still 0): such a build is traced only
 *    through its function__return USDT note, and must be refused without
 *    one; 3.12+ ClearAndPop (LT_FRAME_CLEAR, frame
 *    rsi, tstate rdi; past its endbr64 when a push follows), YIELD_VALUE
 *    and INSTRUMENTED_YIELD_VALUE (LT_FRAME_YIELD_SP, aux the stack
 *    pointer; at the handler's first conditional jump or call where the
 *    registers still hold, prev_slot1 then naming a register that holds
 *    the frame's cleared previous);
 *  evalframe: 3.8-3.10 and 3.12, the function and its frame argument (3.8
 *    rdi, 3.9+ rsi); vaddr 0 otherwise;
 *  clear_ra_value: 3.14+, the return address of RETURN_VALUE's call of
 *    ClearAndPop (0 otherwise: 3.12 and 3.13 have RETURN_CONST);
 *  code_free, type_free, type_rename: py_gone_sites (never a failure).
 * Other fields of out are not touched. Returns 0, or -1 with why set to one
 * line naming what was missing (not the file: the caller names it; no
 * "leaktrace: " prefix, no newline).
 */
int py_sites_find(const char *path, int minor, struct py_build *out, char *why, size_t whylen);

/*
 * b's sites as text, one per line, the format of .output/pysites and of
 * tests/unit/sites_expected.py:
 *   resume 0x<vaddr> frame <slot> instr <slot>
 *   ret 0x<vaddr> frame <slot> kind return|yield|raise|clear|yield_sp aux <slot>
 *   evalframe 0x<vaddr> frame <slot>
 *   clear_ra 0x<vaddr> return_value
 *   code_free|type_free|type_rename 0x<vaddr> obj <slot>
 * Returns what snprintf would have written.
 */
int py_sites_describe(const struct py_build *b, char *buf, size_t len);

/* internal to user/pybuild: sites.c's image, shared with gone.c */
struct img;
/*
 * Where a code or type object's identity ends, from the exported type
 * objects, into b (each left 0 where not found; the BPF side then reads
 * such objects at every use), the object in rdi:
 * - code_free: code_dealloc, PyCode_Type's tp_dealloc: every code object
 *   is freed there (the type cannot be subclassed);
 * - type_free: type_dealloc, PyType_Type's tp_dealloc: every type object,
 *   a metaclass's instances too (subtype_dealloc ends in its base's);
 * - type_rename: type_set_name, the setter of PyType_Type's "__name__"
 *   (tp_getset): a heap type's tp_name changes there.
 */
void py_gone_sites(struct img *m, struct py_build *b);
/* a, or past an endbr64 at a when a push of a register follows (the
 * kernel emulates the push, not endbr64) */
uint64_t past_endbr(struct img *m, uint64_t a);

/*
 * Whether the binary at path has CPython's JIT compiled in (3.13+
 * --enable-experimental-jit, Debian's 3.14 has it, off unless
 * PYTHON_JIT=1): JIT code pushes frames without running the RESUME
 * handler, so no site sees those calls. Found by the _PyJIT_ / _Py_LazyJit
 * symbols, else by the "PYTHON_JIT" string that only JIT builds read from
 * the environment. Returns 1 (compiled in), 0 (not), -1 (file unreadable;
 * why set).
 */
int py_jit_compiled(const char *path, char *why, size_t whylen);

#endif
