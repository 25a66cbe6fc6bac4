/* SPDX-License-Identifier: MIT */
/*
 * Opcode numbers per CPython minor version: the instructions whose
 * handlers hold leaktrace's probe sites (FORMAT.md §3, docs/
 * PYTHON_VERSIONS.md). Numbers change with each minor version (3.13
 * renumbered almost all of them) but never within one, so one row per
 * minor version serves every build of it: Debian's, pyenv's, a stripped
 * copy, a container's.
 *
 * The rows are generated once from each version's own opcode/dis module by
 * tools/gen_opcodes.py and checked in (user/pybuild/opcodes.c). -1: the
 * version has no such instruction (RESUME appeared in 3.11, RESUME_QUICK
 * existed only in 3.11, RESUME_CHECK and RETURN_CONST's removal, the
 * INSTRUMENTED_* variants of sys.monitoring from 3.12).
 */
#ifndef LT_OPCODES_H
#define LT_OPCODES_H

struct py_opcodes {
	int resume, resume_quick, resume_check;
	int return_value, return_const, return_generator;
	int yield_value, extended_arg;
	/* what sys.monitoring (coverage, debuggers) rewrites code objects to */
	int instr_resume, instr_return_value, instr_return_const, instr_yield_value;
};

/* the row of CPython 3.<minor>, or NULL when that version has none here */
const struct py_opcodes *py_opcodes_of(int minor);

#endif
