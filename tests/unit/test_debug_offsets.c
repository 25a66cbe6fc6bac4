/*
 * _Py_DebugOffsets (user/pybuild/debug_offsets.c) on real builds: the
 * offsets read from the file equal those of the build's DWARF (gdb, at
 * test time), a damaged copy is refused with a clear reason, a 3.12 is
 * told apart, and the live check passes on the build's own process and
 * fails on another build's.
 *
 * Builds (a case SKIPs when its files are absent):
 * - pyenv 3.13.0 (DWARF in libpython) and its stripped copy made by
 *   tools/mkroots.sh under /var/tmp/leaktrace-roots/stripped;
 * - Debian sid python3.13, python3.14, python3.15 under
 *   /var/tmp/leaktrace-roots/sid, their DWARF from the -dbg packages
 *   under /var/tmp/leaktrace-roots/sid-dbg.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pybuild/debug_offsets.h"
#include "pybuild/py_tables.h"
#include "pybuild/py_tables.h"
#include "pybuild/elf_util.h"
#include "pybuild/pybuild.h"
#include "unit.h"

#define PYENV "/root/.pyenv/versions"
#define ROOTS "/var/tmp/leaktrace-roots"
#define SID ROOTS "/sid"
#define SID_DBG ROOTS "/sid-dbg/usr/lib/debug"
#define LIB313 PYENV "/3.13.0/lib/libpython3.13.so.1.0"
#define STRIPPED313 ROOTS "/stripped/3.13/lib/libpython3.13.so.1.0"
/* a Python frame that stays put while the test reads it */
#define SLEEPER "def sleeper():\n import time; time.sleep(30)\nsleeper()\n"

static int skipped;

/* a case whose build is absent says SKIP instead of PASS */
static void skip(const char *why)
{
	printf("SKIP %s: %s\n", unit_name, why);
	skipped = 1;
}

#define RUN_CASE(fn) do { skipped = 0; unit_name = #fn; unit_case_failed = 0; fn();	\
	if (unit_case_failed) { unit_failed++; printf("FAIL %s: see above\n", unit_name); }	\
	else if (!skipped) { printf("PASS %s\n", unit_name); }				\
	fflush(stdout); } while (0)

/* a struct py_offsets field (all are 32 bits) and the gdb expression of
 * its value in a build of minor version 13, and of 14+ where it differs */
struct field {
	const char *name;
	size_t at;
	const char *e13, *e14;
};

#define F(f, e13, e14) { #f, offsetof(struct py_offsets, f), e13, e14 }
#define OFF(type, m) "(long)&((" type "*)0)->" m
static const struct field fields[] = {
	F(rt_interp_head, OFF("_PyRuntimeState", "interpreters.head"), NULL),
	F(is_threads_head, OFF("PyInterpreterState", "threads.head"), NULL),
	F(ts_next, OFF("PyThreadState", "next"), NULL),
	F(ts_cur_frame, OFF("PyThreadState", "current_frame"), NULL),
	F(ts_native_thread_id, OFF("PyThreadState", "native_thread_id"), NULL),
	F(ts_curexc_type, OFF("PyThreadState", "current_exception"), NULL),
	F(fr_code, OFF("struct _PyInterpreterFrame", "f_executable"), NULL),
	F(fr_previous, OFF("struct _PyInterpreterFrame", "previous"), NULL),
	F(fr_prev_instr, OFF("struct _PyInterpreterFrame", "instr_ptr"), NULL),
	F(fr_localsplus, OFF("struct _PyInterpreterFrame", "localsplus"), NULL),
	F(fr_owner, OFF("struct _PyInterpreterFrame", "owner"), NULL),
	/* 3.14+: no index any more; fr_stacktop is the offset of the pointer
	 * stackpointer (also in info.fr_stackpointer), as in py_tables.h */
	F(fr_stacktop, OFF("struct _PyInterpreterFrame", "stacktop"),
	  OFF("struct _PyInterpreterFrame", "stackpointer")),
	F(co_argcount, OFF("PyCodeObject", "co_argcount"), NULL),
	F(co_firstlineno, OFF("PyCodeObject", "co_firstlineno"), NULL),
	F(co_filename, OFF("PyCodeObject", "co_filename"), NULL),
	F(co_name, OFF("PyCodeObject", "co_name"), NULL),
	F(co_qualname, OFF("PyCodeObject", "co_qualname"), NULL),
	F(co_flags, OFF("PyCodeObject", "co_flags"), NULL),
	F(co_consts, OFF("PyCodeObject", "co_consts"), NULL),
	F(ob_type, OFF("PyObject", "ob_type"), NULL),
	F(type_tp_name, OFF("PyTypeObject", "tp_name"), NULL),
	F(tuple_items, OFF("PyTupleObject", "ob_item"), NULL),
	F(float_fval, OFF("PyFloatObject", "ob_fval"), NULL),
	F(var_ob_size, OFF("PyLongObject", "long_value.lv_tag"), NULL),
	F(long_digit, OFF("PyLongObject", "long_value.ob_digit"), NULL),
	F(str_length, OFF("PyASCIIObject", "length"), NULL),
	F(str_state, OFF("PyASCIIObject", "state"), NULL),
	F(str_ascii_size, "sizeof(PyASCIIObject)", NULL),
	F(str_compact_size, "sizeof(PyCompactUnicodeObject)", NULL),
	F(gen_state_rel, "(long)&((PyGenObject*)0)->gi_frame_state - (long)&((PyGenObject*)0)->gi_iframe",
	  NULL),
	F(gen_created, "(int)FRAME_CREATED", NULL),
	F(owned_by_gen, "(int)FRAME_OWNED_BY_GENERATOR", NULL),
	F(owned_by_cstack, "(int)FRAME_OWNED_BY_CSTACK", "(int)FRAME_OWNED_BY_INTERPRETER"),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* values of exprs in the DWARF of path (debug files under dbgdir if not
 * NULL), through gdb; the number read */
static int gdb_values(const char *path, const char *dbgdir, const char **exprs, int n, long *out)
{
	char cmd[16384], line[512];
	size_t l;
	int got = 0;
	FILE *p;

	l = snprintf(cmd, sizeof(cmd), "gdb -batch -nx -iex 'set debuginfod enabled off' %s%s%s",
		     dbgdir ? "-iex 'set debug-file-directory " : "", dbgdir ? dbgdir : "",
		     dbgdir ? "'" : "");
	for (int i = 0; i < n; i++)
		l += snprintf(cmd + l, sizeof(cmd) - l, " -ex 'print %s'", exprs[i]);
	snprintf(cmd + l, sizeof(cmd) - l, " %s 2>/dev/null", path);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		int k;
		long v;

		if (sscanf(line, "$%d = %ld", &k, &v) == 2 && k == got + 1 && got < n)
			out[got++] = v;
	}
	pclose(p);
	return got;
}

/* opcode numbers of the build's own `opcode` module: RETURN_VALUE,
 * RETURN_CONST, INSTRUMENTED_RETURN_VALUE, INSTRUMENTED_RETURN_CONST,
 * EXTENDED_ARG, YIELD_VALUE (-1: the version has no such opcode) */
static int opcodes(const char *run_python, long *out)
{
	char cmd[1024];
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "%s -I -c 'import opcode; print(*[opcode.opmap.get(o, -1) for o in "
		 "(\"RETURN_VALUE\", \"RETURN_CONST\", \"INSTRUMENTED_RETURN_VALUE\", "
		 "\"INSTRUMENTED_RETURN_CONST\", \"EXTENDED_ARG\", \"YIELD_VALUE\")])' 2>/dev/null",
		 run_python);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (n < 6 && fscanf(p, "%ld", &out[n]) == 1)
		n++;
	pclose(p);
	return n;
}

static int32_t field_of(const struct py_offsets *o, size_t at)
{
	int32_t v;

	memcpy(&v, (const char *)o + at, 4);
	return v;
}

/*
 * Read path and compare with the DWARF of dwarf_path (dbgdir for
 * separate debug files) and the opcodes of run_python. Returns 0 if
 * compared, -1 if skipped.
 */
static int check_build(const char *path, const char *dwarf_path, const char *dbgdir,
		       const char *run_python, int minor)
{
	const char *exprs[NFIELDS + 1];
	long vals[NFIELDS + 1], ops[6];
	struct py_dbgoff_info info;
	struct py_offsets off;
	char why[512];
	int r, n;

	if (access(path, R_OK) || access(dwarf_path, R_OK) || (dbgdir && access(dbgdir, R_OK))) {
		skip("build or its debug info absent");
		return -1;
	}
	if (!strncmp(run_python, "chroot", 6) && geteuid()) {
		skip("running the build in its root (chroot) needs root");
		return -1;
	}
	r = py_debug_offsets_read(path, &info, &off, why, sizeof(why));
	if (r)
		printf("  %s: %s\n", path, why);
	CHECK(r == 0);
	CHECK(info.minor == minor);
	CHECK(info.len > 0);
	for (size_t i = 0; i < NFIELDS; i++)
		exprs[i] = minor >= 14 && fields[i].e14 ? fields[i].e14 : fields[i].e13;
	exprs[NFIELDS] = minor >= 14 ? OFF("struct _PyInterpreterFrame", "stackpointer") : "0";
	n = gdb_values(dwarf_path, dbgdir, exprs, NFIELDS + 1, vals);
	CHECK(n == (int)NFIELDS + 1);
	for (int i = 0; i < n && i < (int)NFIELDS; i++) {
		if (field_of(&off, fields[i].at) != vals[i]) {
			printf("  3.%d %s: read %d, DWARF %ld\n", minor, fields[i].name,
			       field_of(&off, fields[i].at), vals[i]);
			CHECK(field_of(&off, fields[i].at) == vals[i]);
		}
	}
	if (n == (int)NFIELDS + 1) {
		if ((long)info.fr_stackpointer != vals[NFIELDS])
			printf("  3.%d fr_stackpointer: read %u, DWARF %ld\n", minor,
			       info.fr_stackpointer, vals[NFIELDS]);
		CHECK((long)info.fr_stackpointer == vals[NFIELDS]);
	}
	CHECK(opcodes(run_python, ops) == 6);
	{
		uint32_t mine[6] = { off.op_return_value, off.op_return_const, off.op_instr_return_value,
				     off.op_instr_return_const, off.op_extended_arg, off.op_yield_value };

		for (int i = 0; i < 6; i++) {
			long want = ops[i] < 0 ? PY_TABLE_NO_OP : ops[i];

			if (mine[i] != want)
				printf("  3.%d opcode %d: table %u, the build's %ld\n", minor, i, mine[i], ops[i]);
			CHECK(mine[i] == want);
		}
	}
	/* 3.14+: _PyStackRef tags are the low bits (Py_TAG_BITS) */
	CHECK(minor >= 14 ? info.stackref_tag_mask != 0 : info.stackref_tag_mask == 0);
	return 0;
}

static void pyenv_313_equals_dwarf(void)
{
	check_build(LIB313, LIB313, NULL, PYENV "/3.13.0/bin/python3.13", 13);
}

/* the per-minor table (pybuild/py_tables.h, from DWARF by
 * tools/gen_tables.py) and the file's own struct agree on every field:
 * the struct overrides the table, so any difference would show here */
static void pyenv_313_equals_minor_table(void)
{
	struct py_dbgoff_info info;
	struct py_offsets off;
	char why[512];

	if (access(LIB313, R_OK)) {
		skip("pyenv 3.13.0 absent");
		return;
	}
	CHECK(py_debug_offsets_read(LIB313, &info, &off, why, sizeof(why)) == 0);
	for (size_t i = 0; i < sizeof(off) / 4; i++)
		if (((uint32_t *)&off)[i] != ((const uint32_t *)py_table(13))[i])
			printf("  word %zu of struct py_offsets: file %u, table %u\n", i,
			       ((uint32_t *)&off)[i], ((const uint32_t *)py_table(13))[i]);
	CHECK(!memcmp(&off, py_table(13), sizeof(off)));
}

/* the stripped copy (no DWARF, no build-id) reads as its original */
static void stripped_313_equals_original(void)
{
	struct py_dbgoff_info a, b;
	struct py_offsets oa, ob;
	char why[512], bid[80];

	if (access(LIB313, R_OK) || access(STRIPPED313, R_OK)) {
		skip("pyenv 3.13.0 or its stripped copy absent");
		return;
	}
	CHECK(elf_build_id(STRIPPED313, bid, sizeof(bid)) != 0);
	CHECK(py_debug_offsets_read(LIB313, &a, &oa, why, sizeof(why)) == 0);
	CHECK(py_debug_offsets_read(STRIPPED313, &b, &ob, why, sizeof(why)) == 0);
	CHECK(!memcmp(&oa, &ob, sizeof(oa)));
	CHECK(a.len == b.len && !memcmp(a.raw, b.raw, a.len));
	CHECK(a.version_hex == 0x030d00f0);
}

static void sid_313_equals_dwarf(void)
{
	check_build(SID "/usr/bin/python3.13", SID "/usr/bin/python3.13", SID_DBG,
		    "chroot " SID " /usr/bin/python3.13", 13);
}

static void sid_314_equals_dwarf(void)
{
	check_build(SID "/usr/bin/python3.14", SID "/usr/bin/python3.14", SID_DBG,
		    "chroot " SID " /usr/bin/python3.14", 14);
}

static void sid_315_equals_dwarf(void)
{
	check_build(SID "/usr/bin/python3.15", SID "/usr/bin/python3.15", SID_DBG,
		    "chroot " SID " /usr/bin/python3.15", 15);
}

/* a temporary copy of src; its path in out, 0 on success */
static int copy_file(const char *src, char *out, size_t n)
{
	char cmd[1024];

	snprintf(out, n, "/tmp/lt-dbgoff.XXXXXX");
	int fd = mkstemp(out);

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, out);
	return system(cmd) ? -1 : 0;
}

static int poke(const char *path, uint64_t off, const void *b, size_t n)
{
	int fd = open(path, O_WRONLY);
	int r;

	if (fd < 0)
		return -1;
	r = pwrite(fd, b, n, (off_t)off) == (ssize_t)n ? 0 : -1;
	close(fd);
	return r;
}

/* flipping a byte of the cookie, of the version, setting free_threaded,
 * or an offset out of its struct: each refused with its own reason */
static void damaged_copies_refused(void)
{
	const char *src = access(STRIPPED313, R_OK) ? LIB313 : STRIPPED313;
	struct py_dbgoff_info info, bad;
	struct py_offsets off;
	char tmp[64], why[512];
	uint64_t v;

	if (access(src, R_OK) || py_debug_offsets_read(src, &info, &off, why, sizeof(why))) {
		skip("no 3.13 libpython");
		return;
	}
	CHECK(copy_file(src, tmp, sizeof(tmp)) == 0);
	/* cookie: "xdebugpy" -> "ydebugpy" */
	CHECK(poke(tmp, info.file_off, "y", 1) == 0);
	CHECK(py_debug_offsets_read(tmp, &bad, &off, why, sizeof(why)) == -1);
	printf("  cookie flipped: %s\n", why);
	CHECK(strstr(why, "cookie") && strstr(why, "damaged"));
	CHECK(off.fr_previous == 0);
	/* version: 3.13 -> 3.99 (Py_Version still says 3.13) */
	CHECK(poke(tmp, info.file_off, "x", 1) == 0);
	v = 0x036300f0;
	CHECK(poke(tmp, info.file_off + 8, &v, 8) == 0);
	CHECK(py_debug_offsets_read(tmp, &bad, &off, why, sizeof(why)) == -1);
	printf("  version changed: %s\n", why);
	CHECK(strstr(why, "version 0x36300f0 but Py_Version is 0x30d00f0"));
	/* free-threaded */
	CHECK(poke(tmp, info.file_off + 8, &info.version_hex, 8) == 0);
	v = 1;
	CHECK(poke(tmp, info.file_off + 16, &v, 8) == 0);
	CHECK(py_debug_offsets_read(tmp, &bad, &off, why, sizeof(why)) == -1);
	printf("  free-threaded: %s\n", why);
	CHECK(strstr(why, "free-threaded"));
	/* interpreter_frame.previous (byte 232 of the 3.13 layout) past the
	 * frame's size */
	v = 0;
	CHECK(poke(tmp, info.file_off + 16, &v, 8) == 0);
	v = 1 << 16;
	CHECK(poke(tmp, info.file_off + 232, &v, 8) == 0);
	CHECK(py_debug_offsets_read(tmp, &bad, &off, why, sizeof(why)) == -1);
	printf("  offset out of range: %s\n", why);
	CHECK(strstr(why, "out of range"));
	/* restored: reads again */
	CHECK(poke(tmp, info.file_off + 232, info.raw + 232, 8) == 0);
	CHECK(py_debug_offsets_read(tmp, &bad, &off, why, sizeof(why)) == 0);
	CHECK(!memcmp(bad.raw, info.raw, info.len));
	unlink(tmp);
}

/* without the .PyRuntime section name, the _PyRuntime dynamic symbol
 * finds the same struct */
static void symbol_fallback(void)
{
	const char *src = access(STRIPPED313, R_OK) ? LIB313 : STRIPPED313;
	struct py_dbgoff_info a, b;
	struct py_offsets oa, ob;
	char tmp[64], why[512], cmd[256];

	if (access(src, R_OK)) {
		skip("no 3.13 libpython");
		return;
	}
	CHECK(copy_file(src, tmp, sizeof(tmp)) == 0);
	/* rename the section in .shstrtab: .PyRuntime -> .PyRuntimX */
	snprintf(cmd, sizeof(cmd), "sed -i 's/\\.PyRuntime\\x00/.PyRuntimX\\x00/' '%s'", tmp);
	CHECK(system(cmd) == 0);
	CHECK(py_debug_offsets_read(src, &a, &oa, why, sizeof(why)) == 0 && a.from_section);
	CHECK(py_debug_offsets_read(tmp, &b, &ob, why, sizeof(why)) == 0);
	CHECK(!b.from_section && b.runtime == a.runtime && b.file_off == a.file_off);
	CHECK(!memcmp(&oa, &ob, sizeof(oa)));
	unlink(tmp);
}

/* 3.12 has .PyRuntime but no struct: recognised by its Py_Version */
static void py312_has_none(void)
{
	const char *p = PYENV "/3.12.1/lib/libpython3.12.so.1.0";
	struct py_dbgoff_info info;
	struct py_offsets off;
	char why[512];

	if (access(p, R_OK)) {
		skip("pyenv 3.12.1 absent");
		return;
	}
	CHECK(py_debug_offsets_read(p, &info, &off, why, sizeof(why)) == PY_DBGOFF_ABSENT);
	printf("  3.12: %s\n", why);
	CHECK(strstr(why, "python 3.12 has no _Py_DebugOffsets"));
	/* not an ELF file at all */
	CHECK(py_debug_offsets_read("/etc/hostname", &info, &off, why, sizeof(why)) == -1);
	CHECK(strstr(why, "not an ELF file"));
}

static int peek(int pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec l = { buf, n }, r = { (void *)(uintptr_t)addr, n };

	return process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -1;
}

/*
 * Walk the main thread's frames of pid with nothing but the offsets read
 * from the file: the code of each frame (its _PyStackRef tag cleared) must
 * be a code object, and the qualified names, ASCII str objects, are
 * appended to names ("sleeper <module> "). Frames owned by the interpreter
 * (the C entry frame; 3.15 also the thread state's base frame) hold None.
 * 0, or -1 if a read fails.
 */
static int walk(int pid, const char *path, uint64_t bias, const struct py_dbgoff_info *info,
		const struct py_offsets *o, char *names, size_t n, int *entry_frames)
{
	uint64_t code_type, interp = 0, ts = 0, fr = 0;
	size_t l = 0;

	names[0] = 0;
	*entry_frames = 0;
	if (elf_symbol(path, "PyCode_Type", &code_type) ||
	    peek(pid, info->runtime + bias + o->rt_interp_head, &interp, 8) ||
	    peek(pid, interp + o->is_threads_head, &ts, 8) || peek(pid, ts + o->ts_cur_frame, &fr, 8))
		return -1;
	for (int d = 0; fr && d < 64; d++) {
		uint64_t exe = 0, type = 0, name = 0, len = 0;
		uint32_t state = 0;
		uint8_t owner = 0;
		char buf[64];

		if (peek(pid, fr + o->fr_code, &exe, 8) || peek(pid, fr + o->fr_owner, &owner, 1))
			return -1;
		exe &= ~info->stackref_tag_mask;
		if ((int)owner == o->owned_by_cstack) {
			(*entry_frames)++;
		} else {
			if (peek(pid, exe + o->ob_type, &type, 8) || type != code_type + bias ||
			    peek(pid, exe + o->co_qualname, &name, 8) ||
			    peek(pid, name + o->str_state, &state, 4) ||
			    peek(pid, name + o->str_length, &len, 8))
				return -1;
			/* compact (bit 5) and ASCII (bit 6): the characters follow
			 * the PyASCIIObject */
			if (!(state & 0x20) || !(state & 0x40) || len >= sizeof(buf) ||
			    peek(pid, name + o->str_ascii_size, buf, len))
				return -1;
			buf[len] = 0;
			l += snprintf(names + l, l < n ? n - l : 0, "%s ", buf);
		}
		if (peek(pid, fr + o->fr_previous, &fr, 8))
			return -1;
	}
	return 0;
}

/* the frames of a sleeping function read live as "sleeper <module>" */
static void check_walk(int pid, const char *path, uint64_t bias, const struct py_dbgoff_info *info,
		       const struct py_offsets *o)
{
	char names[256];
	int entries = 0, r = -1;

	for (int i = 0; i < 200 && (r || strcmp(names, "sleeper <module> ")); i++) {
		usleep(10000);
		r = walk(pid, path, bias, info, o, names, sizeof(names), &entries);
	}
	printf("  3.%d live frames: %s(+%d owned by the interpreter)\n", info->minor, names, entries);
	CHECK(r == 0 && !strcmp(names, "sleeper <module> "));
	CHECK(entries == (info->minor >= 15 ? 2 : 1));
}

/* start argv; wait until the process maps a file whose name contains
 * mapped; its pid (of a descendant, through unshare --fork), or -1 */
static int start(char *const argv[], const char *mapped, pid_t *child)
{
	pid_t c = fork();

	if (c < 0)
		return -1;
	if (!c) {
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	*child = c;
	for (int tries = 0; tries < 500; tries++) {
		char cmd[256], line[64];
		FILE *p;
		int pid = -1;

		usleep(10000);
		/* the child itself or any of its descendants */
		snprintf(cmd, sizeof(cmd), "for p in %d $(pgrep -P %d) $(pgrep -P \"$(pgrep -P %d)\" 2>/dev/null); "
			 "do grep -qs '%s' /proc/$p/maps && echo $p && break; done", c, c, c, mapped);
		p = popen(cmd, "r");
		if (p && fgets(line, sizeof(line), p))
			pid = atoi(line);
		if (p)
			pclose(p);
		if (pid > 0)
			return pid;
	}
	return -1;
}

/* the target (pid, maybe inside a pid namespace) and the child */
static void stop(pid_t child, int pid)
{
	if (pid > 0 && pid != child)
		kill(pid, SIGKILL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

/* the live process of the build passes; the bytes of a file that differs
 * by one offset, and another build's runtime, do not */
static void live_check_pyenv_313(void)
{
	char *argv[] = { PYENV "/3.13.0/bin/python3.13", "-c", SLEEPER, NULL };
	struct py_dbgoff_info info, other;
	struct py_offsets off;
	char why[512], tmp[64];
	uint64_t bias, v;
	pid_t child;
	int pid;

	if (access(argv[0], X_OK) || access(LIB313, R_OK)) {
		skip("pyenv 3.13.0 absent");
		return;
	}
	CHECK(py_debug_offsets_read(LIB313, &info, &off, why, sizeof(why)) == 0);
	pid = start(argv, "libpython3.13", &child);
	CHECK(pid > 0);
	if (pid <= 0) {
		stop(child, -1);
		return;
	}
	CHECK(py_debug_offsets_load_bias(pid, LIB313, &bias) == 0);
	CHECK(py_debug_offsets_live_check(pid, info.runtime + bias, &info, why, sizeof(why)) == 0);
	check_walk(pid, LIB313, bias, &info, &off);
	/* a copy whose gc.collecting offset (the last field, byte 576)
	 * differs: a file that is not what the process runs */
	CHECK(copy_file(LIB313, tmp, sizeof(tmp)) == 0);
	v = 7;
	CHECK(poke(tmp, info.file_off + 576, &v, 8) == 0);
	CHECK(py_debug_offsets_read(tmp, &other, &off, why, sizeof(why)) == 0);
	CHECK(py_debug_offsets_live_check(pid, other.runtime + bias, &other, why, sizeof(why)) == -1);
	printf("  changed copy: %s\n", why);
	CHECK(strstr(why, "byte 576"));
	/* a file this process does not map has no bias */
	CHECK(py_debug_offsets_load_bias(pid, tmp, &bias) == -1);
	CHECK(py_debug_offsets_confirm(pid, LIB313, &info, why, sizeof(why)) == 0);
	CHECK(py_debug_offsets_confirm(pid, tmp, &other, why, sizeof(why)) == -1);
	CHECK(strstr(why, "does not map"));
	unlink(tmp);
	stop(child, pid);
}

/* a Debian sid python3.X in its own mount and pid namespace, read from
 * here by host pid; pyenv's 3.13.0 offsets do not fit sid's 3.13 */
static void live_check_sid(const char *exe, const char *name)
{
	char path[256];
	char *argv[] = { "unshare", "--pid", "--mount", "--fork", "--kill-child", "--mount-proc", "--root=" SID,
			 (char *)exe, "-c", SLEEPER, NULL };
	struct py_dbgoff_info info, pyenv;
	struct py_offsets off;
	char why[512];
	uint64_t bias;
	pid_t child;
	int pid;

	snprintf(path, sizeof(path), SID "%s", exe);
	if (access(path, R_OK)) {
		skip("Debian sid root absent");
		return;
	}
	if (geteuid()) {
		skip("unshare --root needs root");
		return;
	}
	CHECK(py_debug_offsets_read(path, &info, &off, why, sizeof(why)) == 0);
	pid = start(argv, name, &child);
	CHECK(pid > 0);
	if (pid <= 0) {
		stop(child, -1);
		return;
	}
	CHECK(py_debug_offsets_load_bias(pid, path, &bias) == 0);
	CHECK(py_debug_offsets_live_check(pid, info.runtime + bias, &info, why, sizeof(why)) == 0);
	check_walk(pid, path, bias, &info, &off);
	if (!py_debug_offsets_read(LIB313, &pyenv, &off, why, sizeof(why))) {
		CHECK(py_debug_offsets_live_check(pid, info.runtime + bias, &pyenv, why, sizeof(why)) == -1);
		printf("  pyenv 3.13.0 offsets on %s: %s\n", name, why);
		CHECK(strstr(why, "another build"));
	}
	stop(child, pid);
}

static void live_check_sid_313(void)
{
	live_check_sid("/usr/bin/python3.13", "python3.13");
}

static void live_check_sid_314(void)
{
	live_check_sid("/usr/bin/python3.14", "python3.14");
}

static void live_check_sid_315(void)
{
	live_check_sid("/usr/bin/python3.15", "python3.15");
}

int main(void)
{
	RUN_CASE(pyenv_313_equals_dwarf);
	RUN_CASE(pyenv_313_equals_minor_table);
	RUN_CASE(stripped_313_equals_original);
	RUN_CASE(sid_313_equals_dwarf);
	RUN_CASE(sid_314_equals_dwarf);
	RUN_CASE(sid_315_equals_dwarf);
	RUN_CASE(damaged_copies_refused);
	RUN_CASE(symbol_fallback);
	RUN_CASE(py312_has_none);
	RUN_CASE(live_check_pyenv_313);
	RUN_CASE(live_check_sid_313);
	RUN_CASE(live_check_sid_314);
	RUN_CASE(live_check_sid_315);
	UNIT_EXIT();
}
