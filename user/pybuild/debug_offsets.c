/* SPDX-License-Identifier: MIT */
/*
 * _Py_DebugOffsets of CPython 3.13+ read from the file and confirmed in the
 * process (contract in debug_offsets.h).
 *
 * The struct's own layout changes with each minor version (fields are
 * added in the middle), so each minor version has its definition below,
 * written from `ptype /o struct _Py_DebugOffsets` of a real build's DWARF
 * (the command is given with each); its size is asserted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pybuild/debug_offsets.h"
#include "pybuild/py_tables.h"
#include "pybuild/elf_util.h"

#define COOKIE "xdebugpy"

/* the fields every version shares, in their order up to the frame */
struct dbg_head {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
};

struct dbg_runtime { uint64_t size, finalizing, interpreters_head; };
struct dbg_thread {
	uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
		 datastack_chunk, status;
};
struct dbg_code {
	uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
		 localsplusnames, localspluskinds, co_code_adaptive;
};
struct dbg_pyobject { uint64_t size, ob_type; };
struct dbg_type { uint64_t size, tp_name, tp_repr, tp_flags; };
struct dbg_seq { uint64_t size, ob_item, ob_size; };		/* tuple, list */
struct dbg_dict { uint64_t size, ma_keys, ma_values; };
struct dbg_float { uint64_t size, ob_fval; };
struct dbg_long { uint64_t size, lv_tag, ob_digit; };
struct dbg_bytes { uint64_t size, ob_size, ob_sval; };
struct dbg_unicode { uint64_t size, state, length, asciiobject_size; };
struct dbg_gc { uint64_t size, collecting; };

/*
 * 3.13: gdb -batch -ex 'ptype /o struct _Py_DebugOffsets'
 *   ~/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0   (584 bytes; the
 *   same in Debian sid's python3.13-dbg, see tests/unit/test_debug_offsets.c)
 */
struct dbg313 {
	struct dbg_head h;
	struct dbg_runtime runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			 ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			 gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct dbg_thread thread_state;
	struct { uint64_t size, previous, executable, instr_ptr, localsplus, owner; } interpreter_frame;
	struct dbg_code code_object;
	struct dbg_pyobject pyobject;
	struct dbg_type type_object;
	struct dbg_seq tuple_object, list_object;
	struct dbg_dict dict_object;
	struct dbg_float float_object;
	struct dbg_long long_object;
	struct dbg_bytes bytes_object;
	struct dbg_unicode unicode_object;
	struct dbg_gc gc;
};
_Static_assert(sizeof(struct dbg313) == 584, "3.13 _Py_DebugOffsets is 584 bytes");

/* 3.14 and 3.15 share these sub-structs */
struct dbg_interp314 {
	uint64_t size, id, next, threads_head, threads_main, gc, imports_modules, sysdict,
		 builtins, ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
		 gil_runtime_state_locked, gil_runtime_state_holder, code_object_generation,
		 tlbc_generation;
};
struct dbg_frame314 {
	uint64_t size, previous, executable, instr_ptr, localsplus, owner, stackpointer, tlbc_index;
};
struct dbg_code314 {
	uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
		 localsplusnames, localspluskinds, co_code_adaptive, co_tlbc;
};
struct dbg_set { uint64_t size, used, table, mask; };
struct dbg_gen { uint64_t size, gi_name, gi_iframe, gi_frame_state; };
struct dbg_llist { uint64_t next, prev; };
struct dbg_debugger {
	uint64_t eval_breaker, remote_debugger_support, remote_debugging_enabled,
		 debugger_pending_call, debugger_script_path, debugger_script_path_size;
};

/*
 * 3.14: gdb -batch -iex 'set debug-file-directory ROOTS/sid-dbg/usr/lib/debug'
 *   -ex 'ptype /o struct _Py_DebugOffsets' ROOTS/sid/usr/bin/python3.14
 *   (Debian 3.14.10-1, 760 bytes). New against 3.13: threads_main,
 *   code_object_generation, tlbc_generation; the frame's stackpointer and
 *   tlbc_index; co_tlbc; set_object, gen_object, llist_node,
 *   debugger_support.
 */
struct dbg314 {
	struct dbg_head h;
	struct dbg_runtime runtime_state;
	struct dbg_interp314 interpreter_state;
	struct dbg_thread thread_state;
	struct dbg_frame314 interpreter_frame;
	struct dbg_code314 code_object;
	struct dbg_pyobject pyobject;
	struct dbg_type type_object;
	struct dbg_seq tuple_object, list_object;
	struct dbg_set set_object;
	struct dbg_dict dict_object;
	struct dbg_float float_object;
	struct dbg_long long_object;
	struct dbg_bytes bytes_object;
	struct dbg_unicode unicode_object;
	struct dbg_gc gc;
	struct dbg_gen gen_object;
	struct dbg_llist llist_node;
	struct dbg_debugger debugger_support;
};
_Static_assert(sizeof(struct dbg314) == 760, "3.14 _Py_DebugOffsets is 760 bytes");

/*
 * 3.15: the same command on ROOTS/sid/usr/bin/python3.15 (Debian
 *   3.15.2-1, 888 bytes). New against 3.14: the thread state's base_frame,
 *   last_profiled_frame(_seq), holds_gil, gil_requested, current_exception,
 *   exc_state; err_stackitem; tp_basicsize, tp_dictoffset;
 *   heap_type_object; compactunicodeobject_size; gc.frame and
 *   generation_stats.
 */
struct dbg315 {
	struct dbg_head h;
	struct dbg_runtime runtime_state;
	struct dbg_interp314 interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, base_frame, last_profiled_frame,
			 last_profiled_frame_seq, thread_id, native_thread_id, datastack_chunk,
			 status, holds_gil, gil_requested, current_exception, exc_state;
	} thread_state;
	struct { uint64_t exc_value; } err_stackitem;
	struct dbg_frame314 interpreter_frame;
	struct dbg_code314 code_object;
	struct dbg_pyobject pyobject;
	struct { uint64_t size, tp_name, tp_repr, tp_flags, tp_basicsize, tp_dictoffset; } type_object;
	struct { uint64_t size, ht_cached_keys; } heap_type_object;
	struct dbg_seq tuple_object, list_object;
	struct dbg_set set_object;
	struct dbg_dict dict_object;
	struct dbg_float float_object;
	struct dbg_long long_object;
	struct dbg_bytes bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size, compactunicodeobject_size;
	} unicode_object;
	struct { uint64_t size, collecting, frame, generation_stats_size, generation_stats; } gc;
	struct dbg_gen gen_object;
	struct dbg_llist llist_node;
	struct dbg_debugger debugger_support;
};
_Static_assert(sizeof(struct dbg315) == 888, "3.15 _Py_DebugOffsets is 888 bytes");
_Static_assert(sizeof(struct dbg315) <= PY_DBGOFF_MAX, "PY_DBGOFF_MAX");

/*
 * What _Py_DebugOffsets lacks (value-object sizes, co_flags, co_consts,
 * frame owner and generator state values, opcode numbers) comes from the
 * minor version's table, pybuild/py_tables.h, which tools/gen_tables.py
 * derives from the DWARF of real builds and checks against every build
 * here; the struct's own values override the table's wherever both have a
 * field. Per minor version here: only the struct's own size.
 * - stackref_tag_mask: Py_TAG_BITS of pycore_stackref.h (a macro, not in
 *   DWARF): 3 in the default builds of 3.14 and 3.15 (bit 0 Py_TAG_REFCNT,
 *   bits 0-1 both set Py_INT_TAG: a tagged int, not an object); the
 *   3.14/3.15 binaries test bit 0 before a decref (_PyFrame_ClearExceptCode)
 *   and clear it to get the code of f_executable
 *   (PyUnstable_InterpreterFrame_GetCode: and $~1).
 */
struct minor_table {
	int minor;
	size_t len;			/* sizeof(_Py_DebugOffsets) */
};

static const struct minor_table tables[] = {
	{ .minor = 13, .len = sizeof(struct dbg313) },
	{ .minor = 14, .len = sizeof(struct dbg314) },
	{ .minor = 15, .len = sizeof(struct dbg315) },
};

static const struct minor_table *table_for(int minor)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i].minor == minor)
			return &tables[i];
	return NULL;
}

/* the offsets every layout has under the same names */
#define FILL_COMMON(d, o) do {							\
	(o)->rt_interp_head = (d)->runtime_state.interpreters_head;		\
	(o)->is_threads_head = (d)->interpreter_state.threads_head;		\
	(o)->ts_next = (d)->thread_state.next;					\
	(o)->ts_cur_frame = (d)->thread_state.current_frame;			\
	(o)->ts_native_thread_id = (d)->thread_state.native_thread_id;		\
	(o)->ts_interp = (d)->thread_state.interp;				\
	(o)->is_id = (d)->interpreter_state.id;					\
	(o)->is_next = (d)->interpreter_state.next;				\
	(o)->fr_code = (d)->interpreter_frame.executable;			\
	(o)->fr_previous = (d)->interpreter_frame.previous;			\
	(o)->fr_prev_instr = (d)->interpreter_frame.instr_ptr;			\
	(o)->fr_localsplus = (d)->interpreter_frame.localsplus;			\
	(o)->fr_owner = (d)->interpreter_frame.owner;				\
	(o)->co_argcount = (d)->code_object.argcount;				\
	(o)->co_code_adaptive = (d)->code_object.co_code_adaptive;		\
	(o)->co_firstlineno = (d)->code_object.firstlineno;			\
	(o)->co_filename = (d)->code_object.filename;				\
	(o)->co_name = (d)->code_object.name;					\
	(o)->co_qualname = (d)->code_object.qualname;				\
	(o)->ob_type = (d)->pyobject.ob_type;					\
	(o)->type_tp_name = (d)->type_object.tp_name;				\
	(o)->tuple_items = (d)->tuple_object.ob_item;				\
	(o)->float_fval = (d)->float_object.ob_fval;				\
	/* 3.12+ ints: sign and digit count in lv_tag, where ob_size was */	\
	(o)->var_ob_size = (d)->long_object.lv_tag;				\
	(o)->long_digit = (d)->long_object.ob_digit;				\
	(o)->str_length = (d)->unicode_object.length;				\
	(o)->str_state = (d)->unicode_object.state;				\
	(o)->str_ascii_size = (d)->unicode_object.asciiobject_size;		\
} while (0)

/*
 * Offsets a corrupted or foreign struct would get wrong: each must lie
 * inside the struct it is an offset of (the size is the struct's first
 * field), and the sizes must be those of real objects.
 */
#define INSIDE(d, sub, field) ((d)->sub.field < (d)->sub.size && (d)->sub.size < (1u << 20))
#define CHECK_COMMON(d) (							\
	INSIDE(d, runtime_state, interpreters_head) &&				\
	INSIDE(d, interpreter_state, threads_head) &&				\
	INSIDE(d, thread_state, next) && INSIDE(d, thread_state, current_frame) &&	\
	INSIDE(d, thread_state, native_thread_id) &&				\
	INSIDE(d, thread_state, interp) && INSIDE(d, interpreter_state, id) &&	\
	INSIDE(d, interpreter_state, next) &&					\
	INSIDE(d, interpreter_frame, executable) && INSIDE(d, interpreter_frame, previous) && \
	INSIDE(d, interpreter_frame, instr_ptr) && INSIDE(d, interpreter_frame, owner) && \
	(d)->interpreter_frame.localsplus <= (d)->interpreter_frame.size &&	\
	INSIDE(d, code_object, argcount) && INSIDE(d, code_object, firstlineno) &&	\
	INSIDE(d, code_object, filename) && INSIDE(d, code_object, name) &&	\
	INSIDE(d, code_object, qualname) && INSIDE(d, pyobject, ob_type) &&	\
	INSIDE(d, type_object, tp_name) && INSIDE(d, float_object, ob_fval) &&	\
	INSIDE(d, long_object, lv_tag) && (d)->long_object.ob_digit <= (d)->long_object.size && \
	INSIDE(d, unicode_object, state) && INSIDE(d, unicode_object, length) &&	\
	(d)->tuple_object.ob_item <= (d)->tuple_object.size &&			\
	(d)->unicode_object.asciiobject_size <= (d)->unicode_object.size)

/* 3.14 and 3.15 add the stack pointer and the generator object to what
 * every layout has */
#define CHECK_314(d) (CHECK_COMMON(d) && INSIDE(d, interpreter_frame, stackpointer) &&	\
		      INSIDE(d, gen_object, gi_frame_state) && INSIDE(d, gen_object, gi_iframe))
#define FILL_314(d, o, info) do {						\
	FILL_COMMON(d, o);							\
	(o)->fr_stacktop = (info)->fr_stackpointer = (d)->interpreter_frame.stackpointer; \
	(o)->gen_state_rel = (int32_t)((d)->gen_object.gi_frame_state -		\
				       (d)->gen_object.gi_iframe);			\
	(o)->gen_iframe = (uint32_t)(d)->gen_object.gi_iframe;			\
	(info)->frame_size = (d)->interpreter_frame.size;			\
	(info)->code_size = (d)->code_object.size;				\
} while (0)

/* fill off from the minor version's table and the raw struct of
 * info->minor over it; 0, or -1 if implausible */
static int fill(struct py_dbgoff_info *info, struct py_offsets *off)
{
	const struct py_offsets *base = py_table(info->minor);

	if (!base)
		return -1;
	*off = *base;
	switch (info->minor) {
	case 13: {
		struct dbg313 d;

		memcpy(&d, info->raw, sizeof(d));
		if (!CHECK_COMMON(&d))
			return -1;
		FILL_COMMON(&d, off);
		info->frame_size = d.interpreter_frame.size;
		info->code_size = d.code_object.size;
		break;
	}
	case 14: {
		struct dbg314 d;

		memcpy(&d, info->raw, sizeof(d));
		if (!CHECK_314(&d))
			return -1;
		FILL_314(&d, off, info);
		break;
	}
	case 15: {
		struct dbg315 d;

		memcpy(&d, info->raw, sizeof(d));
		if (!CHECK_314(&d) || !INSIDE(&d, thread_state, current_exception) ||
		    d.unicode_object.compactunicodeobject_size > d.unicode_object.size)
			return -1;
		FILL_314(&d, off, info);
		off->ts_curexc_type = d.thread_state.current_exception;
		off->str_compact_size = d.unicode_object.compactunicodeobject_size;
		break;
	}
	default:
		return -1;
	}
	info->stackref_tag_mask = info->minor >= 14 ? 3 : 0;
	info->gen_executing = off->gen_executing;
	return 0;
}

/* _PyRuntime: the .PyRuntime section (PROGBITS: initialized data in the
 * file), else the _PyRuntime symbol; its link-time address and file
 * offset. 0, or -1 with why. */
static int find_runtime(Elf *elf, const char *path, struct py_dbgoff_info *info, char *why,
			size_t n)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (!elf_getshdrstrndx(elf, &shstrndx)) {
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *name;

			if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
			    strcmp(name, ".PyRuntime"))
				continue;
			if (sh.sh_type != SHT_PROGBITS || sh.sh_size < sizeof(struct dbg_head)) {
				snprintf(why, n, "%s: its .PyRuntime section holds no data", path);
				return -1;
			}
			info->runtime = sh.sh_addr;
			info->file_off = sh.sh_offset;
			info->from_section = true;
			return 0;
		}
	}
	/* no section headers (a sstrip'ed file) or no such section: the
	 * dynamic symbol, and the segment that holds it */
	if (elf_symbol(path, "_PyRuntime", &info->runtime) ||
	    elf_vaddr_to_offset(path, info->runtime, &info->file_off)) {
		snprintf(why, n, "%s has neither a .PyRuntime section nor a _PyRuntime symbol "
			 "with data in the file: not a CPython interpreter", path);
		return -1;
	}
	info->from_section = false;
	return 0;
}

/* Py_VERSION_HEX from the exported `const unsigned long Py_Version`
 * (3.11+), or 0 */
static uint64_t py_version_symbol(const char *path)
{
	uint64_t v = 0;

	return elf_symbol_bytes(path, "Py_Version", &v, sizeof(v)) ? 0 : v;
}

static int version_ok(uint64_t v)
{
	return (v >> 24) == 3 && ((v >> 16) & 0xff) >= 13 && (v & ~0xffffffffULL) == 0;
}

int py_debug_offsets_read(const char *path, struct py_dbgoff_info *info, struct py_offsets *off,
			  char *why, size_t n)
{
	const struct minor_table *t;
	struct dbg_head h;
	Elf *elf = NULL;
	uint64_t pyver;
	int fd, r = -1;

	memset(info, 0, sizeof(*info));
	memset(off, 0, sizeof(*off));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, n, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (elf_version(EV_CURRENT) == EV_NONE ||
	    !(elf = elf_begin(fd, ELF_C_READ_MMAP, NULL)) || elf_kind(elf) != ELF_K_ELF) {
		snprintf(why, n, "%s is not an ELF file", path);
		goto cleanup;
	}
	if (find_runtime(elf, path, info, why, n))
		goto cleanup;
	if (pread(fd, &h, sizeof(h), (off_t)info->file_off) != sizeof(h)) {
		snprintf(why, n, "%s: _PyRuntime lies past the end of the file", path);
		goto cleanup;
	}
	pyver = py_version_symbol(path);
	if (memcmp(h.cookie, COOKIE, 8)) {
		/* 3.12 and older have no struct there (3.8-3.10 not even
		 * Py_Version); a 3.13+ by its own Py_Version is damaged */
		if (!pyver || ((pyver >> 16) & 0xff) < 13) {
			if (pyver)
				snprintf(why, n, "%s: python %d.%d has no _Py_DebugOffsets (CPython "
					 "3.13 and later have them)", path, (int)(pyver >> 24),
					 (int)((pyver >> 16) & 0xff));
			else
				snprintf(why, n, "%s: no _Py_DebugOffsets (CPython 3.13 and later "
					 "have them) and no Py_Version (3.11 and later)", path);
			r = PY_DBGOFF_ABSENT;
		} else {
			snprintf(why, n, "%s: _PyRuntime does not start with the _Py_DebugOffsets "
				 "cookie \"xdebugpy\" although Py_Version says 3.%d: damaged file?",
				 path, (int)((pyver >> 16) & 0xff));
		}
		goto cleanup;
	}
	if (!version_ok(h.version)) {
		snprintf(why, n, "%s: _Py_DebugOffsets has version 0x%llx, not a CPython 3.13 or "
			 "later version: damaged file?", path, (unsigned long long)h.version);
		goto cleanup;
	}
	if (pyver && pyver != h.version) {
		snprintf(why, n, "%s: _Py_DebugOffsets has version 0x%llx but Py_Version is 0x%llx: "
			 "damaged file?", path, (unsigned long long)h.version, (unsigned long long)pyver);
		goto cleanup;
	}
	info->version_hex = h.version;
	info->minor = (int)((h.version >> 16) & 0xff);
	if (h.free_threaded) {
		snprintf(why, n, "%s: python 3.%d is a free-threaded build (--disable-gil); "
			 "leaktrace cannot trace those yet", path, info->minor);
		goto cleanup;
	}
	if (((h.version >> 4) & 0xf) == 0xa) {
		snprintf(why, n, "%s: python 3.%d is an alpha release (0x%llx): its layouts are "
			 "not final; use a beta, release candidate or final build", path,
			 info->minor, (unsigned long long)h.version);
		goto cleanup;
	}
	t = table_for(info->minor);
	if (!t) {
		snprintf(why, n, "%s: python 3.%d is not supported yet (_Py_DebugOffsets of "
			 "3.13 to 3.15 are known)", path, info->minor);
		goto cleanup;
	}
	info->len = t->len;
	if (pread(fd, info->raw, t->len, (off_t)info->file_off) != (ssize_t)t->len) {
		snprintf(why, n, "%s: _PyRuntime lies past the end of the file", path);
		goto cleanup;
	}
	if (fill(info, off)) {
		snprintf(why, n, "%s: the offsets in its _Py_DebugOffsets (python 3.%d) are out "
			 "of range: damaged file?", path, info->minor);
		goto cleanup;
	}
	r = 0;
cleanup:
	if (elf)
		elf_end(elf);
	close(fd);
	if (r < 0)
		memset(off, 0, sizeof(*off));
	return r;
}

int py_debug_offsets_live_check(int pid, uint64_t runtime_addr, const struct py_dbgoff_info *info,
				char *why, size_t n)
{
	uint8_t live[PY_DBGOFF_MAX];
	struct iovec local = { live, info->len };
	struct iovec remote = { (void *)(uintptr_t)runtime_addr, info->len };
	ssize_t got;

	if (!info->len || info->len > sizeof(live)) {
		snprintf(why, n, "no _Py_DebugOffsets read from the file to compare with");
		return -1;
	}
	got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (got != (ssize_t)info->len) {
		snprintf(why, n, "pid %d: cannot read _PyRuntime at 0x%llx: %s", pid,
			 (unsigned long long)runtime_addr, got < 0 ? strerror(errno) : "short read");
		return -1;
	}
	for (size_t i = 0; i < info->len; i++) {
		if (live[i] == info->raw[i])
			continue;
		if (i < 8)
			snprintf(why, n, "pid %d: no _Py_DebugOffsets cookie at 0x%llx: it runs "
				 "another build than the file", pid, (unsigned long long)runtime_addr);
		else if (i < 16)
			snprintf(why, n, "pid %d: _Py_DebugOffsets version 0x%llx, the file's is 0x%llx: "
				 "it runs another build than the file", pid,
				 (unsigned long long)*(uint64_t *)(live + 8),
				 (unsigned long long)info->version_hex);
		else
			snprintf(why, n, "pid %d: _Py_DebugOffsets differ from the file's at byte %zu: "
				 "it runs another build than the file", pid, i);
		return -1;
	}
	return 0;
}

int py_debug_offsets_load_bias(int pid, const char *path, uint64_t *bias)
{
	char maps[64], line[PATH_MAX + 256];
	uint64_t first;
	struct stat st;
	int r = -1;
	FILE *f;

	if (stat(path, &st) || elf_first_load_vaddr(path, &first))
		return -1;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -1;
	while (r && fgets(line, sizeof(line), f)) {
		unsigned long s, e, o, ino;
		char perms[8], dev[16];

		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &s, &e, perms, &o, dev, &ino) == 6 &&
		    ino == st.st_ino && o == 0) {
			*bias = s - (first & ~0xfffULL);
			r = 0;
		}
	}
	fclose(f);
	return r;
}

int py_debug_offsets_confirm(int pid, const char *path, const struct py_dbgoff_info *info,
			     char *why, size_t n)
{
	uint64_t bias;

	if (py_debug_offsets_load_bias(pid, path, &bias)) {
		snprintf(why, n, "pid %d does not map %s", pid, path);
		return -1;
	}
	return py_debug_offsets_live_check(pid, info->runtime + bias, info, why, n);
}
