/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <glob.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include "commands.h"
#include "common/err.h"
#include "leaktrace.h"
#include "pybuild/sites.h"
#include "pybuild/target.h"

static bool quiet;	/* py_targets_system: reasons only with verbose */

static const char *const type_syms[5] = {
	"PyLong_Type", "PyBool_Type", "PyFloat_Type", "PyUnicode_Type", "_PyNone_Type",
};

#define say(...) do { if (!quiet) lt_err(__VA_ARGS__); } while (0)

/* the file defines the interpreter loop (an executable that links
 * libpython only imports it: an undefined symbol, value 0) */
static bool holds_interpreter(const char *path)
{
	uint64_t a;

	return !elf_symbol(path, "_PyEval_EvalFrameDefault", &a) && a;
}

static int is_python_name(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strncmp(b, "python", 6) || !strncmp(b, "libpython", 9);
}

int py_target_from_file(struct py_target *t, const struct py_want *want, const char *path,
			const char *shown)
{
	char why[512];
	int nprobes, minor, jit;
	bool has_usdt, has_sites;

	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	snprintf(t->shown, sizeof(t->shown), "%s", shown);
	/* AT_EACCESS: with the effective ids and capabilities (access() uses the
	 * real ones, and drops CAP_SYS_PTRACE for a non-root agent, deploy/) */
	if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS)) {
		int e = errno;
		/* a non-root agent reads only what its user may (a build under
		 * /root/.pyenv, mode 0700), unless given CAP_DAC_READ_SEARCH */
		say("%s: %s%s", shown, strerror(e), e == EACCES && geteuid() ?
		    " (an agent that is not root needs CAP_DAC_READ_SEARCH to read files its user cannot; "
		    "deploy/README.md)" : "");
		return LT_EXIT_USAGE;
	}
	if (elf_build_id(path, t->build_id, sizeof(t->build_id)))
		snprintf(t->build_id, sizeof(t->build_id), "none");
	/* CPython by content, whatever the file is called */
	if (py_version_of_file(path, t->version, sizeof(t->version))) {
		say("%s is not a CPython 3.8-3.15 interpreter (no Py_Version and no version "
		    "string in it); name the python binary or libpython with --python", shown);
		return LT_EXIT_USAGE;
	}
	minor = py_minor(t->version);
	if (py_build_derive(path, t->version, &t->derived, &t->dbg, why, sizeof(why))) {
		say("python %s at %s: %s", t->version, shown, why);
		return LT_EXIT_USAGE;
	}
	t->build = &t->derived;
	jit = minor >= 13 ? py_jit_compiled(path, why, sizeof(why)) : 0;
	t->jit = jit == 1;

	/* 3.8-3.10: _PyEval_EvalFrameDefault; 3.12 too when asked
	 * (--mechanism evalframe), else their sites */
	has_sites = t->build->nresume > 0 && t->build->nret > 0;
	t->use_evalframe = t->build->evalframe.vaddr &&
			   (!has_sites || want->mechanism == PY_MECH_EVALFRAME);
	if (t->use_evalframe)
		goto symbols;
	if (want->mechanism == PY_MECH_EVALFRAME) {
		say("python %s at %s: --mechanism evalframe is not supported here; it "
		    "covers CPython 3.8-3.10 and 3.12 (3.13 runs __init__ inline even with the "
		    "perf trampoline)", t->version, shown);
		return LT_EXIT_USAGE;
	}
	nprobes = elf_usdt_count(path, "python");
	has_usdt = nprobes > 0 && !elf_usdt(path, "python", "function__return", &t->ret_note);
	/* 3.15's function__return fires for returns and yields only, not for
	 * exception exits: its sites see all three */
	if (minor >= 12)
		has_usdt = false;
	/* auto on 3.11 with USDT: its return sites where they were found,
	 * the note else. The note is skipped by CPython where a tracing
	 * hook raises on a return event (TRACE_FUNCTION_EXIT jumps over
	 * DTRACE_FUNCTION_EXIT: the frame's exit never seen), its semaphore
	 * makes CPython compute each call's line number, and the BPF side
	 * reads 5 more words per return to find the frame */
	t->use_sites = !has_usdt || want->mechanism == PY_MECH_SITES ||
		       (want->mechanism == PY_MECH_AUTO && t->build->nret > 0);
	if (want->mechanism == PY_MECH_USDT && !has_usdt) {
		say("python %s at %s has no USDT return probe leaktrace uses (3.11 with "
		    "--with-dtrace has one); drop --mechanism usdt", t->version, shown);
		return LT_EXIT_USAGE;
	}
	if (t->use_sites && t->build->nret < 1) {
		say("python %s at %s has no USDT probes and its return sites were not found; "
		    "it cannot be traced", t->version, shown);
		return LT_EXIT_USAGE;
	}
	t->op_yield_value = (int)t->build->off.op_yield_value;
	if (t->build->nresume < 1) {
		say("python %s at %s: no RESUME site found in its interpreter loop",
		    t->version, shown);
		return LT_EXIT_USAGE;
	}
symbols:
	if (elf_symbol(path, "_PyRuntime", &t->runtime) ||
	    elf_symbol(path, "_Py_TrueStruct", &t->true_struct)) {
		say("%s has no _PyRuntime symbol; is it really CPython?", shown);
		return LT_EXIT_USAGE;
	}
	/* None and False by address: no read of their type (optional) */
	if (elf_symbol(path, "_Py_NoneStruct", &t->none_struct))
		t->none_struct = 0;
	if (elf_symbol(path, "_Py_FalseStruct", &t->false_struct))
		t->false_struct = 0;
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
	if (!faccessat(AT_FDCWD, out, R_OK, AT_EACCESS))
		return;
	snprintf(out, n, "/proc/%d/root%s", pid, path);
}

/* what a process maps that can hold its interpreter: its executable where
 * named like a python, the first libpython; each with its address range */
struct mapped_py {
	char exe[PATH_MAX];	/* /proc/PID/exe's target, less " (deleted)" */
	char exe_path[PATH_MAX], exe_range[64];
	char lib_path[PATH_MAX], lib_range[64];
};

/* pid's maps read into m; -1 (errno set) if they cannot be */
static int scan_maps(int pid, struct mapped_py *m)
{
	char path[64], line[PATH_MAX + 256];
	ssize_t n;
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, m->exe, sizeof(m->exe) - 1);
	m->exe[n > 0 ? n : 0] = 0;
	if (n > 10 && !strcmp(m->exe + n - 10, " (deleted)"))
		m->exe[n - 10] = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/'), range[64];

		if (!p || sscanf(line, "%63s", range) != 1)
			continue;
		p[strcspn(p, "\n")] = 0;
		if (strstr(p, " (deleted)"))
			*strstr(p, " (deleted)") = 0;
		if (!strcmp(p, m->exe) && is_python_name(p) && !m->exe_path[0]) {
			snprintf(m->exe_path, sizeof(m->exe_path), "%s", p);
			snprintf(m->exe_range, sizeof(m->exe_range), "%s", range);
		} else if (strstr(p, "/libpython") && !m->lib_path[0]) {
			snprintf(m->lib_path, sizeof(m->lib_path), "%s", p);
			snprintf(m->lib_range, sizeof(m->lib_range), "%s", range);
		}
	}
	fclose(f);
	return 0;
}

bool py_pid_runs_python(int pid)
{
	struct mapped_py m;

	return !scan_maps(pid, &m) && (m.exe_path[0] || m.lib_path[0]);
}

bool py_pid_loaded(int pid)
{
	char host[PATH_MAX + 32];
	struct mapped_py m;

	if (scan_maps(pid, &m))
		return false;
	if (m.lib_path[0])
		return true;
	if (!m.exe_path[0])
		return false;
	host_path(host, sizeof(host), pid, m.exe_range, m.exe_path);
	return holds_interpreter(host);
}

int py_target_from_pid(struct py_target *t, const struct py_want *want, int pid,
		       const char *python_override)
{
	char host[PATH_MAX + 32];
	struct mapped_py m;

	if (scan_maps(pid, &m)) {
		if (errno == ENOENT)
			lt_err("no process with pid %d", pid);
		else
			lt_err("cannot read /proc/%d/maps: %s", pid, strerror(errno));
		return LT_EXIT_USAGE;
	}
	if (python_override) {
		snprintf(host, sizeof(host), "/proc/%d/root%s", pid, python_override);
		if (faccessat(AT_FDCWD, host, R_OK, AT_EACCESS))
			snprintf(host, sizeof(host), "%s", python_override);
		return py_target_from_file(t, want, host, python_override);
	}
	/* libpython holds the interpreter when the executable links it:
	 * the file the process maps, whatever RUNPATH or LD_LIBRARY_PATH
	 * chose */
	if (m.exe_path[0]) {
		host_path(host, sizeof(host), pid, m.exe_range, m.exe_path);
		if (!m.lib_path[0] || holds_interpreter(host))
			return py_target_from_file(t, want, host, m.exe_path);
	}
	if (m.lib_path[0]) {
		host_path(host, sizeof(host), pid, m.lib_range, m.lib_path);
		return py_target_from_file(t, want, host, m.lib_path);
	}
	lt_err("pid %d (%s) is not a CPython process: no python executable or "
			"libpython is mapped; if it embeds Python under another name, use --python PATH",
		pid, m.exe[0] ? m.exe : "?");
	return LT_EXIT_USAGE;
}

/* what execve runs: an executable regular file (not a directory named
 * like a python, such as a standard library's) */
static bool runnable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) &&
	       !faccessat(AT_FDCWD, path, X_OK, AT_EACCESS);
}

int resolve_command(const char *cmd, char *out, size_t n)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(cmd, '/'))
		return realpath(cmd, out) && runnable(out) ? 0 : -1;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t l = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)l, path, cmd);
		if (runnable(buf))
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
	char exe[PATH_MAX], lib[PATH_MAX];

	if (python_override)
		snprintf(exe, sizeof(exe), "%s", python_override);
	else if (python_for_command(cmd, exe, sizeof(exe)))
		return LT_EXIT_USAGE;
	/* the ELF file holding the interpreter: the executable, or the
	 * libpython it links (pyenv and --enable-shared builds) */
	if (!holds_interpreter(exe) && !elf_needed_libpython(exe, lib, sizeof(lib))) {
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
	char held[64];
	int r, fd = -1;

	if (n >= max || stat(path, &st))
		return n;
	for (int i = 0; i < n; i++)
		if (!stat(t[i].path, &o) && o.st_dev == st.st_dev && o.st_ino == st.st_ino)
			return n;
	/* a file found through a running process (/proc/PID/map_files/...) is
	 * held open: that process may exit before the probes are attached,
	 * and the file is read and probed through the descriptor */
	if (!strncmp(path, "/proc/", 6)) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return n;
		snprintf(held, sizeof(held), "/proc/self/fd/%d", fd);
		path = held;
	}
	quiet = !verbose;
	r = py_target_from_file(&t[n], want, path, shown);
	quiet = false;
	if (r) {
		if (fd >= 0)
			close(fd);
		return n;
	}
	if (verbose)
		lt_err("system-wide: python %s at %s", t[n].version, shown);
	return n + 1;
}

int py_targets_system(struct py_target *t, const struct py_want *want, int max, bool verbose)
{
	struct dirent *de;
	glob_t g;
	int n = 0;
	DIR *d;

	/* the system's own interpreters, so that a process started later is
	 * traced from its first call (probes are per file); then whatever
	 * running processes map, containers included */
	if (!glob("/usr/bin/python3.[0-9]*", 0, NULL, &g)) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char real[PATH_MAX];

			if (realpath(g.gl_pathv[i], real) && !strchr(strrchr(real, '/'), '-'))
				n = add_system_target(t, want, n, max, real, real, verbose);
		}
		globfree(&g);
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

int py_target_new_file(struct py_target *t, const struct py_want *want, int n, const char *path,
		       const char *shown, bool verbose)
{
	return add_system_target(t, want, n, n + 1, path, shown, verbose) > n;
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
