/* SPDX-License-Identifier: MIT */
/*
 * Offsets from the target itself, for CPython 3.13 and later: those builds
 * start _PyRuntime with _Py_DebugOffsets, a struct of their own layout
 * facts (the offsets of the frame, code, thread-state and value-object
 * fields out-of-process tools read), written in by the compiler. No debug
 * info and no build-id are needed: the bytes are in the file.
 *
 * Contract:
 * - py_debug_offsets_read() reads the struct from the FILE: `_PyRuntime` is
 *   the `.PyRuntime` section (else the `_PyRuntime` dynamic symbol); its
 *   bytes are the data as initialized, also in a PIE or shared library (the
 *   struct holds no pointers, so no relocation touches it). It checks the
 *   "xdebugpy" cookie, the version (PY_VERSION_HEX: 3.13, 3.14 or 3.15, the
 *   minor version choosing the struct's own layout) and refuses a
 *   free-threaded build. It fills `struct py_offsets` from the struct, and
 *   what the struct lacks (value-object sizes, co_flags, co_consts, frame
 *   owner and generator state values, opcode numbers) from a small table
 *   per minor version, derived from the DWARF of real builds.
 * - Nothing read here is trusted before py_debug_offsets_live_check() has
 *   found the same bytes in the running process (process_vm_readv at the
 *   link-time address plus the load bias).
 * - Neither function prints: a failure's reason is one line in why
 *   (without the "leaktrace: " prefix), for lt_err().
 */
#ifndef LT_DEBUG_OFFSETS_H
#define LT_DEBUG_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pybuild/pybuild.h"


/* the largest _Py_DebugOffsets of the layouts known (3.15) */
#define PY_DBGOFF_MAX	1024

struct py_dbgoff_info {
	int minor;			/* 13, 14, 15 */
	uint64_t version_hex;		/* PY_VERSION_HEX of the build */
	uint64_t runtime;		/* link-time address of _PyRuntime */
	uint64_t file_off;		/* its offset in the file */
	bool from_section;		/* found as .PyRuntime (else the symbol) */
	size_t len;			/* sizeof(_Py_DebugOffsets) of this minor */
	uint8_t raw[PY_DBGOFF_MAX];	/* the struct's bytes in the file */
	/*
	 * Facts of 3.14+ frames that struct py_offsets has no field for
	 * (FORMAT.md §3; the BPF side must learn them):
	 * - fr_stackpointer: offset of _PyInterpreterFrame.stackpointer, a
	 *   _PyStackRef * (3.13: 0, the frame has the int index stacktop at
	 *   py_offsets.fr_stacktop instead);
	 * - stackref_tag_mask: the tag bits of a _PyStackRef (f_executable,
	 *   localsplus and stack slots) to clear to get the PyObject *
	 *   (3.13: 0, plain pointers).
	 */
	uint32_t fr_stackpointer;
	uint64_t stackref_tag_mask;
	/*
	 * gen_executing: FRAME_EXECUTING; a generator frame is suspended when
	 * py_offsets.gen_created < state < gen_executing (3.13, 3.14: -3 < s
	 * < 0; 3.15 renumbered the states from 0: 0 < s < 4).
	 */
	int32_t gen_executing;
	/* from the struct for information: sizeof(_PyInterpreterFrame) and
	 * sizeof(PyCodeObject) of the build */
	uint64_t frame_size, code_size;
};

/* py_debug_offsets_read: no _Py_DebugOffsets, a CPython before 3.13 */
#define PY_DBGOFF_ABSENT	1

/*
 * Read _Py_DebugOffsets from the ELF file at path. 0: info and off filled
 * (off zeroed first; fields of other versions stay 0). PY_DBGOFF_ABSENT:
 * a CPython without the struct (3.12 or older: Py_Version says so), why
 * says which version. -1: anything else (not an ELF file, no _PyRuntime,
 * a 3.13+ build whose cookie or version does not read right, a version
 * this table does not know, a free-threaded build), the reason in why.
 */
int py_debug_offsets_read(const char *path, struct py_dbgoff_info *info, struct py_offsets *off,
			  char *why, size_t n);

/*
 * Confirm info in the live process: the len bytes at runtime_addr (the
 * link-time info->runtime plus the load bias of the file in pid) must be
 * the file's, byte for byte (cookie, version, every offset). 0 if so; -1
 * with the first difference (or the read error) in why.
 */
int py_debug_offsets_live_check(int pid, uint64_t runtime_addr, const struct py_dbgoff_info *info,
				char *why, size_t n);

/*
 * The load bias of the ELF file at path in pid: the start of its mapping
 * at file offset 0 minus the link-time address of the segment there.
 * Matched by device and inode, so it works through /proc/PID/map_files
 * and container roots. 0, or -1 if pid does not map the file.
 */
int py_debug_offsets_load_bias(int pid, const char *path, uint64_t *bias);

/*
 * Both steps for the file at path as pid maps it: its load bias, then the
 * live check at info->runtime plus that bias. 0, or -1 with why ("pid N
 * does not map PATH" or the live check's reason).
 */
int py_debug_offsets_confirm(int pid, const char *path, const struct py_dbgoff_info *info,
			     char *why, size_t n);

#endif
