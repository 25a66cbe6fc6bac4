/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include "commands.h"
#include "common/err.h"
#include "leaktrace.h"
#include "pybuild/target.h"

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

int py_target_from_file(struct py_target *t, const struct py_want *want, const char *path,
			const char *shown)
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
			   (!has_sites || want->mechanism == PY_MECH_EVALFRAME);
	if (t->use_evalframe)
		goto symbols;
	if (want->mechanism == PY_MECH_EVALFRAME) {
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
	t->use_sites = !has_usdt || want->mechanism == PY_MECH_SITES ||
		       (want->mechanism == PY_MECH_AUTO && want->prefer_sites && t->build->nret > 0);
	if (want->mechanism == PY_MECH_USDT && !has_usdt) {
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

int py_target_from_pid(struct py_target *t, const struct py_want *want, int pid,
		       const char *python_override)
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
		return py_target_from_file(t, want, host, python_override);
	}
	/* libpython holds the interpreter when the executable links it */
	if (cand_lib[0]) {
		char bid[80];

		host_path(host, sizeof(host), pid, range_lib, cand_lib);
		if (elf_usdt_count(host, "python") > 0 || !cand_exe[0] ||
		    (!elf_build_id(host, bid, sizeof(bid)) && py_build_find(bid)))
			return py_target_from_file(t, want, host, cand_lib);
	}
	if (cand_exe[0]) {
		host_path(host, sizeof(host), pid, range_exe, cand_exe);
		return py_target_from_file(t, want, host, cand_exe);
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

int py_target_for_command(struct py_target *t, const struct py_want *want, const char *cmd,
			  const char *python_override, bool verbose)
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
		return py_target_from_file(t, want, lib, lib);
	}
	return py_target_from_file(t, want, exe, exe);
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

static int add_system_target(struct py_target *t, const struct py_want *want, int n, int max,
			     const char *path, const char *shown, bool verbose)
{
	struct stat st, o;
	int r;

	if (n >= max || stat(path, &st))
		return n;
	for (int i = 0; i < n; i++)
		if (!stat(t[i].path, &o) && o.st_dev == st.st_dev && o.st_ino == st.st_ino)
			return n;
	quiet = !verbose;
	r = py_target_from_file(&t[n], want, path, shown);
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

int py_targets_system(struct py_target *t, const struct py_want *want, int max, bool verbose)
{
	const struct py_build *b;
	struct dirent *de;
	int n = 0;
	DIR *d;

	for (int i = 0; (b = py_build_at(i)); i++) {
		char bid[80];

		if (!access(b->source, R_OK) && !elf_build_id(b->source, bid, sizeof(bid)) &&
		    !strcmp(bid, b->build_id))
			n = add_system_target(t, want, n, max, b->source, b->source, verbose);
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
			n = add_system_target(t, want, n, max, host, p, verbose);
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

int py_target_new_build(struct py_target *t, const struct py_want *want, int n, int pid,
			bool verbose)
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
		found = add_system_target(t, want, n, n + 1, host, p, verbose) > n ? 1 : 0;
		/* an executable that runs its interpreter from libpython: go on */
		if (!found && !strstr(p, "libpython"))
			found = -1;
	}
	fclose(f);
	return found;
}
