/* SPDX-License-Identifier: MIT */
/*
 * Reading a running CPython from outside (process_vm_readv, read-only)
 * with the offset table: the live check before a table entry is trusted,
 * the frames live at attach, and the names of a code object.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "commands.h"
#include "common/err.h"
#include "pybuild/live_check.h"
#include "pybuild/pystr.h"

static int peek(int pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)addr, n };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

/*
 * Walk the live process's thread states and their frame chains with the
 * table's offsets: every frame's code must be a code object (or None, the
 * C-stack entry frame of 3.13) whose co_name and co_filename are str
 * objects. Returns the number of code objects checked, or -1 with *why
 * set.
 */
static int check_frames(const struct py_target *t, int pid, uint64_t bias, uint64_t code_type,
			const char **why, py_frame_fn each, void *arg)
{
	const struct py_offsets *o = &t->build->off;
	uint64_t str_type = bias + t->types[3], none_type = bias + t->types[4];
	uint64_t interp = 0, ts = 0;
	int minor = py_minor(t->build->version);
	bool via_cframe = minor == 11 || minor == 12;
	uint64_t tag_mask = minor >= 14 ? ~(uint64_t)3 : ~(uint64_t)0;
	int checked = 0;

	if (peek(pid, bias + t->runtime + o->rt_interp_head, &interp, 8) || !interp ||
	    peek(pid, interp + o->is_threads_head, &ts, 8)) {
		*why = "no interpreter and thread list where _PyRuntime should have them";
		return -1;
	}
	for (int nt = 0; ts && nt < 4096; nt++) {
		uint64_t fr = 0;

		if (peek(pid, ts + o->ts_cur_frame, &fr, 8) ||
		    (via_cframe && fr && peek(pid, fr + o->cf_current_frame, &fr, 8))) {
			*why = "a thread state does not lead to its current frame";
			return -1;
		}
		for (int d = 0; fr && d < 256; d++) {
			uint64_t code = 0, type = 0, name = 0, file = 0, nt_ = 0, ft = 0;

			/* 3.14+: f_executable is a _PyStackRef, tag bits low */
			if (peek(pid, fr + o->fr_code, &code, 8) ||
			    peek(pid, (code &= tag_mask) + o->ob_type, &type, 8)) {
				*why = "a frame's code object cannot be read";
				return -1;
			}
			if (type == code_type) {
				if (peek(pid, code + o->co_name, &name, 8) ||
				    peek(pid, code + o->co_filename, &file, 8) ||
				    peek(pid, name + o->ob_type, &nt_, 8) || peek(pid, file + o->ob_type, &ft, 8) ||
				    nt_ != str_type || ft != str_type) {
					*why = "a code object's name or file is not a str";
					return -1;
				}
				checked++;
				if (each)
					each(arg, fr, code);
			} else if (type != none_type) {
				*why = "a frame's code is not a code object";
				return -1;
			}
			if (peek(pid, fr + o->fr_previous, &fr, 8)) {
				*why = "a frame's caller cannot be read";
				return -1;
			}
		}
		if (peek(pid, ts + o->ts_next, &ts, 8)) {
			*why = "the thread list cannot be followed";
			return -1;
		}
	}
	if (!checked)
		*why = "no Python frame found in any thread (is it still starting up?)";
	return checked ? checked : -1;
}

/* the load bias of t in pid: 1 if found, 0 if it cannot be told, -1 if
 * pid does not map t */
static int load_bias(const struct py_target *t, int pid, uint64_t *bias)
{
	char maps[64], line[PATH_MAX + 256];
	struct stat st;
	uint64_t first, start = 0;
	bool found = false;
	FILE *f;

	if (stat(t->path, &st) || elf_first_load_vaddr(t->path, &first))
		return 0;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long s, e, off, ino;
		char perms[8], dev[16];

		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &s, &e, perms, &off, dev, &ino) == 6 &&
		    ino == st.st_ino && off == 0) {
			start = s;
			found = true;
		}
	}
	fclose(f);
	if (!found)
		return -1;
	*bias = start - (first & ~0xfffULL);
	return 1;
}

#define LIVE_TRIES 10	/* reads of the frame chains, 20 ms apart */

/* a compact str object of pid as UTF-8 in out; -1 if it cannot be read */
static int peek_str(const struct py_offsets *o, int pid, uint64_t obj, char *out, size_t cap)
{
	uint64_t len = 0, data;
	uint32_t state = 0;
	char buf[LT_NAME_MAX];	/* cut where the BPF side cuts CODE strings */
	size_t n;
	int kind, cut;

	if (peek(pid, obj + o->str_length, &len, 8) || peek(pid, obj + o->str_state, &state, 4) ||
	    !((state >> 5) & 1))
		return -1;
	kind = (state >> 2) & 7;
	if ((state >> 6) & 1) {		/* ascii */
		data = obj + o->str_ascii_size;
		kind = 1;
	} else {
		data = obj + o->str_compact_size;
	}
	if (kind != 1 && kind != 2 && kind != 4)
		return -1;
	n = len * kind < sizeof(buf) ? len * kind : sizeof(buf) - 1;
	if (n && peek(pid, data, buf, n))
		return -1;
	lt_units_to_utf8(buf, n, kind, out, cap, cap - 1, &cut);
	return 0;
}

int py_read_code(const struct py_target *t, int pid, uint64_t code, char *name, size_t name_cap,
		 char *file, size_t file_cap, int *line)
{
	const struct py_offsets *o = &t->build->off;
	uint64_t name_obj = 0, file_obj = 0;
	int32_t first = 0;

	if (peek(pid, code + (o->co_qualname ? o->co_qualname : o->co_name), &name_obj, 8) ||
	    peek(pid, code + o->co_filename, &file_obj, 8) ||
	    peek(pid, code + o->co_firstlineno, &first, 4) ||
	    peek_str(o, pid, name_obj, name, name_cap) || peek_str(o, pid, file_obj, file, file_cap))
		return -1;
	*line = first;
	return 0;
}

int py_read_type_name(const struct py_target *t, int pid, uint64_t type, char *name, size_t cap)
{
	uint64_t p = 0;
	size_t n = 0;

	if (!cap || peek(pid, type + t->build->off.type_tp_name, &p, 8) || !p)
		return -1;
	/* a C string: 16 bytes at a time, then a byte at a time where a
	 * read fails (it may end where its mapping does) */
	while (n + 1 < cap) {
		size_t k = n + 17 <= cap ? 16 : 1;

		if (peek(pid, p + n, name + n, k) && (k == 1 || peek(pid, p + n, name + n, k = 1)))
			return -1;
		for (size_t i = 0; i < k; i++, n++)
			if (!name[n])
				return 0;
	}
	name[n] = 0;
	return 0;
}

bool py_target_maps(const struct py_target *t, int pid)
{
	uint64_t bias;

	return load_bias(t, pid, &bias) != -1;	/* or cannot be told */
}

int py_target_live_frames(const struct py_target *t, int pid, py_frame_fn each, void *arg)
{
	const char *why;
	uint64_t bias, code_type;

	if (load_bias(t, pid, &bias) != 1 || !t->build->off.ob_type ||
	    elf_symbol(t->path, "PyCode_Type", &code_type))
		return -1;
	for (int i = 0; i < LIVE_TRIES; i++) {
		if (i)
			usleep(2000);
		if (check_frames(t, pid, bias, bias + code_type, &why, each, arg) >= 0)
			return 0;
	}
	return -1;
}

/* the first of the five types (py_target's types) whose tp_name does not
 * read as its name in pid, that name; NULL if all do */
static const char *type_name_mismatch(const struct py_target *t, int pid, uint64_t bias)
{
	static const char *const want[5] = { "int", "bool", "float", "str", "NoneType" };

	for (int i = 0; i < 5; i++) {
		uint64_t name_ptr = 0;
		char name[16] = "";

		if (peek(pid, bias + t->types[i] + t->build->off.type_tp_name, &name_ptr, 8) ||
		    peek(pid, name_ptr, name, sizeof(name) - 1) || strcmp(name, want[i]))
			return want[i];
	}
	return NULL;
}

int py_target_live_check(const struct py_target *t, int pid, bool verbose)
{
	const char *why = "it has no PyCode_Type symbol";
	uint64_t code_type, bias;
	int n = -1, found = load_bias(t, pid, &bias);

	if (!found)
		return 0;	/* nothing to compare with: the probes stay inert */
	if (found < 0) {
		lt_err("pid %d does not map %s; name the file it runs with --python",
			pid, t->shown);
		return LT_EXIT_USAGE;
	}
	/* a process just started (record -p waits for its libpython) can
	 * still be in its loader, the types' tp_name not relocated yet: more
	 * tries, as for the frames below */
	const char *bad = NULL;

	for (int i = 0; i < LIVE_TRIES && (!i || bad); i++) {
		if (i)
			usleep(20000);
		bad = type_name_mismatch(t, pid, bias);
	}
	if (bad) {
		lt_err("the offsets for python %s (%s) do not fit pid %d (its %s type does "
		       "not read as '%s'): not a CPython build leaktrace knows",
		       t->version, t->shown, pid, bad, bad);
		return LT_EXIT_USAGE;
	}
	if (t->dbg.minor) {
		char dwhy[512];

		/* 3.13+: the _Py_DebugOffsets read from the file must be the
		 * process's own, byte for byte */
		if (py_debug_offsets_live_check(pid, bias + t->dbg.runtime, &t->dbg, dwhy,
						sizeof(dwhy))) {
			lt_err("python %s (%s) in pid %d: %s", t->version, t->shown, pid, dwhy);
			return LT_EXIT_USAGE;
		}
	}
	/* frames come and go while we read (fast during imports): a torn read
	 * gets more tries; offsets that do not fit fail every one */
	bool have_code_type = !elf_symbol(t->path, "PyCode_Type", &code_type);
	for (int i = 0; i < LIVE_TRIES && n < 0 && have_code_type; i++) {
		if (i)
			usleep(20000);
		n = check_frames(t, pid, bias, bias + code_type, &why, NULL, NULL);
	}
	if (n < 0) {
		lt_err("the offsets for python %s (%s) do not fit pid %d (%s): not a CPython "
		       "build leaktrace knows", t->version, t->shown, pid, why);
		return LT_EXIT_USAGE;
	}
	if (verbose)
		lt_err("live check of pid %d: %d code objects of live frames read "
				"as expected", pid, n);
	return 0;
}
