/* SPDX-License-Identifier: MIT */
/*
 * Reading a running CPython from outside (read-only, process_vm_readv)
 * through the offset table of its build (struct py_target).
 */
#ifndef LT_LIVE_CHECK_H
#define LT_LIVE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pybuild/target.h"

/*
 * Check the table entry against the running process before trusting it
 * (read-only, process_vm_readv): the type objects at the build's symbol
 * addresses must name themselves "int", "bool", "float", "str" and
 * "NoneType" through the table's tp_name offset, and every thread's frame
 * chain, followed with the table's offsets, must lead to code objects
 * whose name and file are str. 0 if so; otherwise a line naming the cause
 * and 2. verbose: say how many code objects were checked.
 */
int py_target_live_check(const struct py_target *t, int pid, bool verbose);
/* each frame of every thread of pid whose code is a code object, read as
 * the live check reads them (up to 10 tries); 0, or -1 if the chains could
 * not be read */
typedef void (*py_frame_fn)(void *arg, uint64_t frame, uint64_t code);
int py_target_live_frames(const struct py_target *t, int pid, py_frame_fn each, void *arg);
/* qualified name (co_name before 3.11), file and first line of a code
 * object of pid, read from its memory; 0, or -1 if it cannot be read */
int py_read_code(const struct py_target *t, int pid, uint64_t code, char *name, size_t name_cap,
		 char *file, size_t file_cap, int *line);
/* whether pid maps t's file (runs that build), or that cannot be told */
bool py_target_maps(const struct py_target *t, int pid);
/* the tp_name of a type object of pid; 0, or -1 */
int py_read_type_name(const struct py_target *t, int pid, uint64_t type, char *name, size_t cap);

#endif
