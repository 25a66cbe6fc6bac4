/* SPDX-License-Identifier: MIT */
/*
 * record: which python(s) to trace (the build a pid or a command runs, a
 * wrapper's, every one of the system) and whether it can be traced.
 */
#define _GNU_SOURCE
#include "common/err.h"
#include "pybuild/live_check.h"
#include "leaktrace.skel.h"
#include "record/record.h"
#include "record/session.h"

/* a process started a moment ago (python app.py & leaktrace -p $!) can
 * still be the shell between its fork and its exec, or a python whose
 * loader has not mapped libpython yet: looked at again every 10 ms until
 * it holds an interpreter, or (its tree followed) a child of it does, or
 * it is LT_YOUNG_MS old */
#define LT_YOUNG_MS 1000

static void wait_loaded(int pid)
{
	long age;
	int kid;

	/* its age first: a process running for long (the usual -p) costs
	 * no maps scan, ELF lookup or /proc walk here */
	while ((age = proc_age_ms(pid)) >= 0 && age < LT_YOUNG_MS && !py_pid_loaded(pid) &&
	       !(following() && descendants(pid, py_pid_loaded, &kid, 1)))
		usleep(10000);
}

/* -p: the python pid runs; a pid that runs none (a shell, a supervisor)
 * while its descendants are followed: the python of those it started, as
 * -- CMD does with a wrapper; an exit status */
static int py_target_from_pid_or_children(struct session *s, struct py_target *t)
{
	int kids[8], n = 0, pid = env.pid, err;
	char names[8 * 12] = "";

	if (!env.python)
		wait_loaded(env.pid);
	if (!env.python && following() && !py_pid_runs_python(env.pid) &&
	    (n = descendants(env.pid, py_pid_loaded, kids, 8)) > 0) {
		for (int i = 0; i < n; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%d",
				 i ? ", " : "", kids[i]);
		lt_err("pid %d runs no python; tracing the python processes it started: %s%s "
		       "(and those it starts later)", env.pid, names, n == 8 ? ", ..." : "");
		pid = kids[0];
	}
	s->py_pid = pid;
	err = py_target_from_pid(t, &s->want, pid, env.python);
	if (!err)
		err = py_target_live_check(t, pid, env.verbose);
	return err;
}

/* 3.13+ JIT builds: with PYTHON_JIT on (pid 0: ours, which -- CMD passes
 * on) hot code runs as machine code that pushes frames without the RESUME
 * handler: calls no probe sees */
bool jit_on(const struct py_target *t, int pid)
{
	return t->jit && env_flag_on(pid, "PYTHON_JIT");
}

/* the python(s) to trace and how; an exit status */
int find_targets(struct session *s)
{
	struct py_target *t = &s->targets[0];
	int err;

	s->ntargets = 1;
	if (env.cmd) {
		char wrapped[PATH_MAX];
		const char *python = env.python;

		/* env, sh -c, a shell script: the python it will start */
		if (!python && !wrapper_python(env.cmd, wrapped, sizeof(wrapped))) {
			python = wrapped;
			s->cmd_wrapper = true;
			if (env.verbose)
				lt_err("%s starts %s", env.cmd[0], wrapped);
		} else if (!python && is_wrapper(env.cmd)) {
			/* one that names no python: every build of the system,
			 * on its processes only (the tree is followed) */
			s->cmd_wrapper = true;
			s->ntargets = py_targets_system(s->targets, &s->want, LT_MAX_BUILDS,
							env.verbose);
			if (!s->ntargets) {
				lt_err("%s names no python and there is no supported CPython on "
				       "this system; name it with --python", env.cmd[0]);
				return LT_EXIT_USAGE;
			}
			lt_err("%s names no python in its words: its processes are traced on "
			       "the %d CPython build%s of this system (one it picks itself, as a "
			       "pyenv shim does, is named with --python)", env.cmd[0], s->ntargets,
			       s->ntargets > 1 ? "s" : "");
			python = NULL;
			goto chosen;
		}
		err = py_target_for_command(t, &s->want, env.cmd[0], python, env.verbose);
	} else if (env.all) {
		s->ntargets = py_targets_system(s->targets, &s->want, LT_MAX_BUILDS, env.verbose);
		if (!s->ntargets) {
			lt_err("no supported CPython on this system (run with -v to see why each "
			       "candidate was left out)");
			return LT_EXIT_USAGE;
		}
		err = 0;
	} else {
		err = py_target_from_pid_or_children(s, t);
	}
	if (err)
		return err;
chosen:
	if (!env.all && jit_on(t, env.cmd ? 0 : s->py_pid)) {
		lt_err("python %s at %s runs with its JIT on (PYTHON_JIT): JIT code makes calls no "
		       "probe sees; run it with PYTHON_JIT=0", t->version, t->shown);
		return LT_EXIT_USAGE;
	}
	for (int i = 0; i < s->ntargets; i++) {
		s->mech[i] = mech_choose(&s->targets[i], env.no_durations);
		if (!s->mech[i])
			return LT_EXIT_USAGE;
	}
	if (t->use_evalframe && py_minor(t->build->version) >= 12) {
		/* 3.12, 3.13: calls are inlined without the perf trampoline */
		if (env.cmd) {
			s->perf_trampoline = true;
		} else if (env.pid && !has_perf_trampoline(s->py_pid)) {
			lt_err("python %s (pid %d) runs Python-to-Python calls inline, where no probe "
			       "sees them; start it with -X perf or PYTHONPERFSUPPORT=1 (or use "
			       "record -- CMD, which does)", t->version, env.pid);
			return LT_EXIT_USAGE;
		}
	}
	for (int i = 0; env.verbose && i < s->ntargets; i++)
		lt_err("python %s at %s, build-id %s (offsets from %s)", s->targets[i].version,
		       s->targets[i].shown, s->targets[i].build_id, s->targets[i].build->source);
	return 0;
}
