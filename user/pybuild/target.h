/* SPDX-License-Identifier: MIT */
/*
 * Finding the CPython of a target: which ELF file (executable or
 * libpython*.so, seen through /proc/PID/root so that containers work)
 * holds the interpreter, its probes and its build, and the addresses the
 * BPF programs need.
 */
#ifndef LT_TARGET_H
#define LT_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "pybuild/debug_offsets.h"
#include "pybuild/elf_util.h"
#include "pybuild/pybuild.h"

struct py_target {
	char path[PATH_MAX];		/* host path of the ELF file to probe */
	char shown[PATH_MAX];		/* path as the target sees it */
	char build_id[80];		/* hex, or "none" */
	char version[32];		/* "3.11.2" */
	const struct py_build *build;	/* &derived (kept a pointer for its readers) */
	struct py_build derived;	/* offsets and sites from the file itself */
	struct py_dbgoff_info dbg;	/* 3.13+: its _Py_DebugOffsets (minor 0 before) */
	bool jit;			/* 3.13+: the JIT is compiled in (PYTHON_JIT=1 runs
					 * code no probe sees) */
	struct usdt_note ret_note;	/* python:function__return */
	uint64_t runtime, types[5], true_struct;	/* link-time addresses */
	uint64_t none_struct, false_struct;	/* the same, 0 if not found (a value
						 * then told by its type, read) */
	int op_yield_value;
	bool use_sites;			/* returns from return sites, not the USDT note */
	bool use_evalframe;		/* 3.8-3.10 (3.12 on request): uprobe+uretprobe
					 * on _PyEval_EvalFrameDefault */
};

/* what catches calls: the USDT note if the build has it, else the probe
 * sites of the offset table, else _PyEval_EvalFrameDefault; PY_MECH_*
 * forces one */
enum { PY_MECH_AUTO, PY_MECH_USDT, PY_MECH_SITES, PY_MECH_EVALFRAME };

/* what the caller asks of every target it fills (record: --mechanism,
 * --no-durations); the probe mechanism built on the family chosen here
 * is user/record/attach.c's table */
struct py_want {
	/* PY_MECH_*; auto: the return sites where they were found, else
	 * 3.11's USDT return note (target.c py_target_from_file) */
	int mechanism;
};

/*
 * Fill t for the ELF file at host path `path` (shown as `shown`). On
 * failure print one line naming the cause and what to do, and return 2
 * (bad input) or 1.
 */
int py_target_from_file(struct py_target *t, const struct py_want *want, const char *path,
			const char *shown);
/* the same for the command cmd we are to start: the interpreter it runs
 * (its #! line followed) or python_override; verbose: say which file */
int py_target_for_command(struct py_target *t, const struct py_want *want, const char *cmd,
			  const char *python_override, bool verbose);
/* whether a running process maps a python executable or a libpython */
bool py_pid_runs_python(int pid);
/* ... and one that holds the interpreter: false for a python executable
 * that links libpython while its loader has not mapped that yet */
bool py_pid_loaded(int pid);
/* the same for a running process: its executable or a loaded libpython */
int py_target_from_pid(struct py_target *t, const struct py_want *want, int pid,
		       const char *python_override);
/*
 * System-wide: every supported CPython file on the host (/usr/bin/python3.X,
 * and the python executables or libpythons mapped by running processes,
 * containers included), one entry per inode, of any supported version
 * (each build has its own layout on the BPF side). Returns how many (0:
 * none found, reasons printed with verbose).
 */
int py_targets_system(struct py_target *t, const struct py_want *want, int max, bool verbose);
/* path (shown as shown) if it is a supported CPython file not among
 * t[0..n): t[n] filled, 1; else 0 */
int py_target_new_file(struct py_target *t, const struct py_want *want, int n, const char *path,
		       const char *shown, bool verbose);
/*
 * -a, a process that just called execve: if it runs a supported CPython
 * file not among t[0..n), fill t[n] and return 1; 0 if it runs one already
 * traced or an unsupported one; -1 if no python is mapped (yet).
 */
int py_target_new_build(struct py_target *t, const struct py_want *want, int n, int pid,
			bool verbose);
/* resolve a command name through PATH (and a script's #! line) */
int resolve_command(const char *cmd, char *out, size_t n);

#endif
