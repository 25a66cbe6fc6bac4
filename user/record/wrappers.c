/* SPDX-License-Identifier: MIT */
/*
 * `record -- CMD` where CMD is no python itself but starts one: env, a
 * shell (`sh -c '...'`, a shell script), a script whose #! line names a
 * shell. The probes must be on the python before the command runs (the
 * tree is followed, so the python it execs is traced from its first
 * call), so the python is read from the command words here: the first
 * word that names a python (python, python3, python3.11, a path to one).
 * A launcher (timeout, nice, tini, setpriv: a program that is no CPython
 * and runs the command in its words) is read past its own words to the
 * first one that names a command. A python started some other way is
 * still traced: a followed process that execs a build not traced yet gets
 * its probes then (record.c), its first calls before that missed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pybuild/elf_util.h"
#include "pybuild/pybuild.h"
#include "pybuild/target.h"
#include "record/record.h"

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');

	return b ? b + 1 : p;
}

/* python, python3, python3.11, python3.13t: a python by its name */
static bool names_python(const char *word)
{
	const char *b = base_name(word);

	if (strncmp(b, "python", 6))
		return false;
	for (b += 6; *b; b++)
		if (!isdigit((unsigned char)*b) && *b != '.' && !(b[1] == 0 && (*b == 'd' || *b == 't')))
			return false;
	return true;
}

static bool is_shell(const char *path)
{
	static const char *const shells[] = { "sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox" };
	const char *b = base_name(path);

	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++)
		if (!strcmp(b, shells[i]))
			return true;
	return false;
}

static bool is_script(const char *path);

/* the first word of shell text that names a python found on PATH (not a
 * script such as a pyenv shim, which picks its python itself) */
static int python_in_text(char *text, char *out, size_t n)
{
	static const char sep[] = " \t\r\n;&|()<>\"'`{}$=";

	for (char *w = strtok(text, sep); w; w = strtok(NULL, sep))
		if (names_python(w) && !resolve_command(w, out, n) && !is_script(out))
			return 0;
	return -1;
}

/* a script file's text (first 64 KiB) into a new string; NULL if none */
static char *read_text(const char *path)
{
	char *buf = malloc(65537);
	size_t len;
	FILE *f;

	if (!buf)
		return NULL;
	f = fopen(path, "re");
	if (!f) {
		free(buf);
		return NULL;
	}
	len = fread(buf, 1, 65536, f);
	fclose(f);
	buf[len] = 0;
	if (memchr(buf, 0, len)) {	/* a binary is no script */
		free(buf);
		return NULL;
	}
	return buf;
}

static int wrapped(char **cmd, char *out, size_t n, int depth);

/* an executable file that is a CPython or runs one from its libpython
 * (uwsgi, an embedding server): it is the python, no launcher */
static bool runs_python_itself(const char *path)
{
	char buf[PATH_MAX];

	return !py_version_of_file(path, buf, sizeof(buf)) ||
	       !elf_needed_libpython(path, buf, sizeof(buf));
}

/* a launcher's words: the python of the first command they name */
static int launched_python(char **args, char *out, size_t n, int depth)
{
	char path[PATH_MAX];

	for (int i = 0; args[i]; i++)
		if (args[i][0] != '-' && !resolve_command(args[i], path, sizeof(path)) &&
		    !wrapped(args + i, out, n, depth + 1))
			return 0;
	return -1;
}

/* a file that starts with #! (a python's name may be a script: pyenv's
 * shims run the python they choose) */
static bool is_script(const char *path)
{
	char magic[2];
	FILE *f = fopen(path, "re");
	bool yes = f && fread(magic, 1, 2, f) == 2 && magic[0] == '#' && magic[1] == '!';

	if (f)
		fclose(f);
	return yes;
}

/* a shell's arguments: -c TEXT, or a script file */
static int shell_python(char **args, char *out, size_t n)
{
	for (int i = 0; args[i]; i++) {
		char *text;
		int r;

		if (!strcmp(args[i], "-c") || (args[i][0] == '-' && strchr(args[i], 'c') &&
					       args[i][1] != '-')) {
			if (!args[i + 1] || !(text = strdup(args[i + 1])))
				return -1;
		} else if (args[i][0] == '-' || args[i][0] == '+') {
			continue;
		} else {
			char path[PATH_MAX];

			if (resolve_command(args[i], path, sizeof(path)) &&
			    !realpath(args[i], path))
				return -1;
			if (!(text = read_text(path)))
				return -1;
		}
		r = python_in_text(text, out, n);
		free(text);
		return r;
	}
	return -1;
}

static int wrapped(char **cmd, char *out, size_t n, int depth)
{
	char path[PATH_MAX], line[PATH_MAX];
	FILE *f;

	if (!cmd[0] || depth > 8)
		return -1;
	if (names_python(cmd[0])) {
		if (resolve_command(cmd[0], out, n))
			return -1;
		if (!is_script(out))
			return 0;
		/* a script named like a python: what it runs, below */
	}
	if (!strcmp(base_name(cmd[0]), "env")) {
		int i = 1;

		/* env [-i] [-u NAME] [NAME=VALUE]... COMMAND */
		while (cmd[i] && (cmd[i][0] == '-' || strchr(cmd[i], '='))) {
			if (!strcmp(cmd[i], "-u") || !strcmp(cmd[i], "-C") || !strcmp(cmd[i], "--unset") ||
			    !strcmp(cmd[i], "--chdir"))
				i++;
			if (cmd[i])
				i++;
		}
		return wrapped(cmd + i, out, n, depth + 1);
	}
	if (is_shell(cmd[0]))
		return shell_python(cmd + 1, out, n);
	/* a script: what its #! line names, or a shell script's text */
	if (resolve_command(cmd[0], path, sizeof(path)) || !(f = fopen(path, "re")))
		return -1;
	if (!fgets(line, sizeof(line), f) || strncmp(line, "#!", 2)) {
		fclose(f);
		/* a binary: a launcher unless it is the python */
		return runs_python_itself(path) ? -1 : launched_python(cmd + 1, out, n, depth);
	}
	fclose(f);
	{
		char *words[8] = { 0 }, *w;
		int nw = 0;

		for (w = strtok(line + 2, " \t\n"); w && nw < 6; w = strtok(NULL, " \t\n"))
			words[nw++] = w;
		if (!nw)
			return -1;
		/* the interpreter runs the script: `#!/bin/sh -e` -> sh -e path */
		words[nw++] = path;
		words[nw] = NULL;
		return wrapped(words, out, n, depth + 1);
	}
}

bool is_wrapper(char **cmd)
{
	char path[PATH_MAX], line[256];
	bool shell_script = false;
	FILE *f;

	if (!strcmp(base_name(cmd[0]), "env") || is_shell(cmd[0]))
		return true;
	if (resolve_command(cmd[0], path, sizeof(path)) || !(f = fopen(path, "re")))
		return false;
	if (fgets(line, sizeof(line), f) && !strncmp(line, "#!", 2)) {
		line[strcspn(line, " \t\n")] = 0;
		/* #!/bin/sh, or #!/usr/bin/env bash (a pyenv shim) */
		shell_script = is_shell(line + 2) || !strcmp(base_name(line + 2), "env");
		fclose(f);
		return shell_script;
	}
	fclose(f);
	/* a launcher (timeout, tini) whose words name no python */
	return !runs_python_itself(path);
}

int wrapper_python(char **cmd, char *out, size_t n)
{
	char path[PATH_MAX];
	bool found = !resolve_command(cmd[0], path, sizeof(path));

	/* a python, or a script whose #! names one: the usual way; a script
	 * named like a python (pyenv's shims) is a wrapper */
	if ((names_python(cmd[0]) || (found && names_python(path))) && !(found && is_script(path)))
		return -1;
	return wrapped(cmd, out, n, 0);
}
