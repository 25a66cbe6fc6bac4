/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "commands.h"
#include "common/err.h"
#include "leaktrace.h"
#include "pybuild/target.h"
#include "pybuild/pystr.h"

int py_mechanism = PY_MECH_AUTO;
bool py_prefer_sites;
static bool quiet;	/* py_targets_system: reasons only with verbose */

static const char *const type_syms[5] = {
	"PyLong_Type", "PyBool_Type", "PyFloat_Type", "PyUnicode_Type", "_PyNone_Type",
};

#define say(...) do { if (!quiet) lt_err(__VA_ARGS__); } while (0)

static int is_python_name(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strncmp(b, "python", 6) || !strncmp(b, "libpython", 9);
}

int py_target_from_file(struct py_target *t, const char *path, const char *shown)
{
	char mm[16];
	const char *b;
	int nprobes;
	bool has_usdt, has_sites;

	snprintf(t->path, sizeof(t->path), "%s", path);
	snprintf(t->shown, sizeof(t->shown), "%s", shown);
	if (access(path, R_OK)) {
		say("%s: %s", shown, strerror(errno));
		return LT_EXIT_USAGE;
	}
	if (elf_build_id(path, t->build_id, sizeof(t->build_id))) {
		say("%s is not an ELF file with a build-id; "
				"name the python binary or libpython with --python", shown);
		return LT_EXIT_USAGE;
	}
	/* X.Y from the name (python3.11, libpython3.11.so.1.0) */
	b = strstr(shown, "python");
	mm[0] = 0;
	if (b && sscanf(b, "python%15[0-9.]", mm) == 1) {
		size_t l = strlen(mm);

		while (l && mm[l - 1] == '.')
			mm[--l] = 0;
		if (strchr(mm, '.') != strrchr(mm, '.'))	/* 3.11.2 -> 3.11 */
			*strrchr(mm, '.') = 0;
	}
	t->build = py_build_find(t->build_id);
	if (!mm[0] && t->build)
		snprintf(mm, sizeof(mm), "%s", t->build->version);
	if (!mm[0] || elf_python_version(path, mm, t->version, sizeof(t->version)))
		snprintf(t->version, sizeof(t->version), "%s", mm[0] ? mm : "unknown");

	/* 3.8-3.10 with debug info at build time: _PyEval_EvalFrameDefault;
	 * 3.12/3.13 too when asked (--mechanism evalframe), else their sites */
	has_sites = t->build && t->build->nresume > 0 && t->build->nret > 0;
	t->use_evalframe = t->build && t->build->evalframe.vaddr &&
			   (!has_sites || py_mechanism == PY_MECH_EVALFRAME);
	if (t->use_evalframe)
		goto symbols;
	if (py_mechanism == PY_MECH_EVALFRAME) {
		say("python %s at %s: --mechanism evalframe is not supported here; it "
		    "covers the CPython 3.8-3.10 and 3.12 builds in the offset table (3.13 runs "
		    "__init__ inline even with the perf trampoline)", t->version, shown);
		return LT_EXIT_USAGE;
	}
	if (mm[0] && strcmp(mm, "3.11") && !has_sites) {
		say("python %s at %s: CPython %s is not supported yet (supported: "
		    "3.11 with USDT probes or with debug info at build time; 3.8-3.10, 3.12 and "
		    "3.13 with debug info at build time)", t->version, shown, mm);
		return LT_EXIT_USAGE;
	}
	nprobes = elf_usdt_count(path, "python");
	has_usdt = nprobes > 0 && !elf_usdt(path, "python", "function__return", &t->ret_note);
	if (!t->build) {
		if (has_usdt)
			say("python %s at %s (build-id %s) is not in leaktrace's offset "
					"table; install its debug info (apt-get install python%s-dbg) and "
					"rebuild leaktrace with make", t->version, shown, t->build_id,
				mm[0] ? mm : "3");
		else
			say("python %s at %s has no USDT probes (built without "
					"--with-dtrace, as pyenv and python.org builds are) and its build "
					"(build-id %s) is not in leaktrace's offset table; rebuild leaktrace "
					"with make where this build's debug info is installed, or use a "
					"distribution Python such as Debian's /usr/bin/python3.11",
				t->version, shown, t->build_id);
		return LT_EXIT_USAGE;
	}
	t->use_sites = !has_usdt || py_mechanism == PY_MECH_SITES ||
		       (py_mechanism == PY_MECH_AUTO && py_prefer_sites && t->build->nret > 0);
	if (py_mechanism == PY_MECH_USDT && !has_usdt) {
		say("python %s at %s has no USDT probes; drop --mechanism usdt",
			t->version, shown);
		return LT_EXIT_USAGE;
	}
	if (t->use_sites && t->build->nret < 1) {
		say("python %s at %s has no USDT probes and no return sites in "
				"the offset table; it cannot be traced", t->version, shown);
		return LT_EXIT_USAGE;
	}
	t->op_yield_value = t->build->off.op_yield_value ? (int)t->build->off.op_yield_value :
			    py_op_yield_value(t->build->version);
	if (t->op_yield_value < 0 || t->build->nresume < 1) {
		say("python %s at %s: this CPython version is not supported yet "
				"(supported: 3.11)", t->version, shown);
		return LT_EXIT_USAGE;
	}
symbols:
	if (elf_symbol(path, "_PyRuntime", &t->runtime) ||
	    elf_symbol(path, "_Py_TrueStruct", &t->true_struct)) {
		say("%s has no _PyRuntime symbol; is it really CPython?", shown);
		return LT_EXIT_USAGE;
	}
	for (int i = 0; i < 5; i++) {
		if (elf_symbol(path, type_syms[i], &t->types[i])) {
			say("%s has no %s symbol", shown, type_syms[i]);
			return LT_EXIT_USAGE;
		}
	}
	return 0;
}

/*
 * The host path of a file mapped by pid: /proc/PID/map_files/START-END
 * names the mapped inode itself, whatever mount namespace or chroot the
 * target lives in (maps shows paths relative to our root, which may not
 * exist for us); /proc/PID/root/PATH is the fallback.
 */
static void host_path(char *out, size_t n, int pid, const char *range, const char *path)
{
	unsigned long start = 0, end = 0;

	/* map_files names have no leading zeros: 400000-41f000 */
	sscanf(range, "%lx-%lx", &start, &end);
	snprintf(out, n, "/proc/%d/map_files/%lx-%lx", pid, start, end);
	if (!access(out, R_OK))
		return;
	snprintf(out, n, "/proc/%d/root%s", pid, path);
}

int py_target_from_pid(struct py_target *t, int pid, const char *python_override)
{
	char maps[64], line[PATH_MAX + 256], exe[PATH_MAX], host[PATH_MAX + 32];
	char cand_exe[PATH_MAX] = "", cand_lib[PATH_MAX] = "";
	char range_exe[64] = "", range_lib[64] = "";
	FILE *f;
	ssize_t n;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f) {
		if (errno == ENOENT)
			lt_err("no process with pid %d", pid);
		else
			lt_err("cannot read %s: %s", maps, strerror(errno));
		return LT_EXIT_USAGE;
	}
	snprintf(maps, sizeof(maps), "/proc/%d/exe", pid);
	n = readlink(maps, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/'), range[64];

		if (!p || sscanf(line, "%63s", range) != 1)
			continue;
		p[strcspn(p, "\n")] = 0;
		if (strstr(p, " (deleted)"))
			*strstr(p, " (deleted)") = 0;
		if (!strcmp(p, exe) && is_python_name(p) && !cand_exe[0]) {
			snprintf(cand_exe, sizeof(cand_exe), "%s", p);
			snprintf(range_exe, sizeof(range_exe), "%s", range);
		} else if (strstr(p, "/libpython") && !cand_lib[0]) {
			snprintf(cand_lib, sizeof(cand_lib), "%s", p);
			snprintf(range_lib, sizeof(range_lib), "%s", range);
		}
	}
	fclose(f);
	if (python_override) {
		snprintf(host, sizeof(host), "/proc/%d/root%s", pid, python_override);
		if (access(host, R_OK))
			snprintf(host, sizeof(host), "%s", python_override);
		return py_target_from_file(t, host, python_override);
	}
	/* libpython holds the interpreter when the executable links it */
	if (cand_lib[0]) {
		char bid[80];

		host_path(host, sizeof(host), pid, range_lib, cand_lib);
		if (elf_usdt_count(host, "python") > 0 || !cand_exe[0] ||
		    (!elf_build_id(host, bid, sizeof(bid)) && py_build_find(bid)))
			return py_target_from_file(t, host, cand_lib);
	}
	if (cand_exe[0]) {
		host_path(host, sizeof(host), pid, range_exe, cand_exe);
		return py_target_from_file(t, host, cand_exe);
	}
	lt_err("pid %d (%s) is not a CPython process: no python executable or "
			"libpython is mapped; if it embeds Python under another name, use --python PATH",
		pid, exe[0] ? exe : "?");
	return LT_EXIT_USAGE;
}

int resolve_command(const char *cmd, char *out, size_t n)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	struct stat st;

	if (strchr(cmd, '/')) {
		if (!realpath(cmd, out))
			return -1;
		return 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t l = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)l, path, cmd);
		if (!stat(buf, &st) && S_ISREG(st.st_mode) && !access(buf, X_OK))
			return realpath(buf, out) ? 0 : -1;
		path += l;
		if (*path == ':')
			path++;
	}
	(void)n;
	return -1;
}

/* the interpreter a command runs: the command itself, or the one its #!
 * line names (through /usr/bin/env too) */
static int python_for_command(const char *cmd, char *out, size_t n)
{
	char path[PATH_MAX], line[PATH_MAX];
	FILE *f;

	if (resolve_command(cmd, path, sizeof(path))) {
		lt_err("command not found: %s", cmd);
		return -1;
	}
	f = fopen(path, "re");
	if (f && fgets(line, sizeof(line), f) && !strncmp(line, "#!", 2)) {
		char *interp = line + 2, *arg;

		while (*interp == ' ')
			interp++;
		interp[strcspn(interp, " \t\n")] = 0;
		arg = interp + strlen(interp) + 1;
		if (!strcmp(interp, "/usr/bin/env")) {
			while (*arg == ' ')
				arg++;
			arg[strcspn(arg, " \t\n")] = 0;
			interp = arg;
		}
		fclose(f);
		if (resolve_command(interp, path, sizeof(path))) {
			lt_err("interpreter of %s not found: %s", cmd, interp);
			return -1;
		}
	} else if (f) {
		fclose(f);
	}
	snprintf(out, n, "%s", path);
	return 0;
}

int py_target_for_command(struct py_target *t, const char *cmd, const char *python_override,
			  bool verbose)
{
	char exe[PATH_MAX], lib[PATH_MAX], bid[80];

	if (python_override)
		snprintf(exe, sizeof(exe), "%s", python_override);
	else if (python_for_command(cmd, exe, sizeof(exe)))
		return LT_EXIT_USAGE;
	/* the ELF file holding the interpreter: the executable, or the
	 * libpython it links (pyenv and --enable-shared builds) */
	if (elf_usdt_count(exe, "python") <= 0 &&
	    (elf_build_id(exe, bid, sizeof(bid)) || !py_build_find(bid)) &&
	    !elf_needed_libpython(exe, lib, sizeof(lib))) {
		if (verbose)
			lt_err("%s runs its interpreter from %s", exe, lib);
		return py_target_from_file(t, lib, lib);
	}
	return py_target_from_file(t, exe, exe);
}

/* the next python executable or libpython mapped in a /proc/PID/maps
 * stream: its path as the process sees it (in line), host path in host */
static const char *next_python_mapping(FILE *f, int pid, char *line, size_t n, char *host,
				       size_t hn)
{
	while (fgets(line, n, f)) {
		char *p = strchr(line, '/'), range[64];

		if (!p || sscanf(line, "%63s", range) != 1)
			continue;
		p[strcspn(p, "\n")] = 0;
		if (!is_python_name(p) || strstr(p, " (deleted)"))
			continue;
		host_path(host, hn, pid, range, p);
		return p;
	}
	return NULL;
}

static int add_system_target(struct py_target *t, int n, int max, const char *path,
			     const char *shown, bool verbose)
{
	struct stat st, o;
	int r;

	if (n >= max || stat(path, &st))
		return n;
	for (int i = 0; i < n; i++)
		if (!stat(t[i].path, &o) && o.st_dev == st.st_dev && o.st_ino == st.st_ino)
			return n;
	quiet = !verbose;
	r = py_target_from_file(&t[n], path, shown);
	quiet = false;
	if (r)
		return n;
	if (n && memcmp(&t[n].build->off, &t[0].build->off, sizeof(t[0].build->off))) {
		if (verbose)
			lt_err("%s: another struct layout than %s, skipped",
				shown, t[0].shown);
		return n;
	}
	if (verbose)
		lt_err("system-wide: python %s at %s", t[n].version, shown);
	return n + 1;
}

int py_targets_system(struct py_target *t, int max, bool verbose)
{
	const struct py_build *b;
	struct dirent *de;
	int n = 0;
	DIR *d;

	for (int i = 0; (b = py_build_at(i)); i++) {
		char bid[80];

		if (!access(b->source, R_OK) && !elf_build_id(b->source, bid, sizeof(bid)) &&
		    !strcmp(bid, b->build_id))
			n = add_system_target(t, n, max, b->source, b->source, verbose);
	}
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		char maps[300], line[PATH_MAX + 256], host[PATH_MAX + 64];
		int pid = atoi(de->d_name);
		const char *p;
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
		f = fopen(maps, "re");
		if (!f)
			continue;
		while ((p = next_python_mapping(f, pid, line, sizeof(line), host, sizeof(host))))
			n = add_system_target(t, n, max, host, p, verbose);
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

int py_target_new_build(struct py_target *t, int n, int pid, bool verbose)
{
	char maps[64], line[PATH_MAX + 256], host[PATH_MAX + 64];
	const char *p;
	int found = -1;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return 0;	/* gone already */
	while (found < 1 && (p = next_python_mapping(f, pid, line, sizeof(line), host, sizeof(host)))) {
		found = add_system_target(t, n, n + 1, host, p, verbose) > n ? 1 : 0;
		/* an executable that runs its interpreter from libpython: go on */
		if (!found && !strstr(p, "libpython"))
			found = -1;
	}
	fclose(f);
	return found;
}

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

			if (peek(pid, fr + o->fr_code, &code, 8) || peek(pid, code + o->ob_type, &type, 8)) {
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

int py_target_live_check(const struct py_target *t, int pid, bool verbose)
{
	static const char *const want[5] = { "int", "bool", "float", "str", "NoneType" };
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
	for (int i = 0; i < 5; i++) {
		uint64_t name_ptr = 0;
		char name[16] = "";

		if (peek(pid, bias + t->types[i] + t->build->off.type_tp_name, &name_ptr, 8) ||
		    peek(pid, name_ptr, name, sizeof(name) - 1) || strcmp(name, want[i])) {
			lt_err("the offsets for python %s (build-id %s) do not fit pid %d "
					"(its %s type does not read as '%s'); rebuild leaktrace with make "
					"where this build's debug info is installed", t->version,
				t->build_id, pid, want[i], want[i]);
			return LT_EXIT_USAGE;
		}
	}
	if (!t->build->off.ob_type)
		return 0;	/* an entry made before the live offsets existed */
	/* frames come and go while we read (fast during imports): a torn read
	 * gets more tries; offsets that do not fit fail every one */
	bool have_code_type = !elf_symbol(t->path, "PyCode_Type", &code_type);
	for (int i = 0; i < LIVE_TRIES && n < 0 && have_code_type; i++) {
		if (i)
			usleep(20000);
		n = check_frames(t, pid, bias, bias + code_type, &why, NULL, NULL);
	}
	if (n < 0) {
		lt_err("the offsets for python %s (build-id %s) do not fit pid %d "
				"(%s); rebuild leaktrace with make where this build's debug info is "
				"installed", t->version, t->build_id, pid, why);
		return LT_EXIT_USAGE;
	}
	if (verbose)
		lt_err("live check of pid %d: %d code objects of live frames read "
				"as expected", pid, n);
	return 0;
}
