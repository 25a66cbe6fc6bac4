/* SPDX-License-Identifier: MIT */
/*
 * record: following the target's process tree (probes per process, a new
 * child held at its fork until they are on, builds met at an exec), and
 * what is read of its processes (frames live at attach, JIT, command line).
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include "common/err.h"
#include "common/grow.h"
#include "pybuild/elf_util.h"
#include "pybuild/live_check.h"
#include "trace/incomplete.h"
#include "leaktrace.skel.h"
#include "record/record.h"
#include "record/session.h"

/* py_target_live_frames: one more frame live now (frame_list) */
static void add_old_frame(void *arg, uint64_t frame, uint64_t code)
{
	struct frame_list *l = arg;
	uint64_t *f = lt_push(&l->v, &l->n, &l->cap, sizeof(*l->v), 256);

	if (!f) {
		l->failed = true;
		return;
	}
	f[0] = frame;
	f[1] = code;
	f[2] = l->pid;
}

/* the Python frames of pid that run now into l, through the build it
 * maps (none: a process of the tree that runs no traced python); -1 if
 * they could not be read */
static int read_live_frames(const struct session *s, int pid, struct frame_list *l)
{
	l->pid = pid;
	for (int i = 0; i < s->ntargets; i++)
		if (py_target_maps(&s->targets[i], pid))
			return py_target_live_frames(&s->targets[i], pid, add_old_frame, l);
	return 0;
}

/* --no-durations: a process of the tree held at its fork; the frames
 * it was forked in began before it (their calls are the parent's), so an
 * execution rooted in one is incomplete, as at attach */
static void held_frames(struct session *s, int pid)
{
	struct frame_list l = { 0 };

	if (!s->cons.rb || !mech_returns_only(s->mech[0]))
		return;
	if (read_live_frames(s, pid, &l) || l.failed)
		lt_warn("cannot read the frames pid %d was forked in: an execution that began "
			"before its fork may be written complete without its earlier calls", pid);
	for (size_t i = 0; i < l.n; i++)
		rb_old_frame(s->cons.rb, pid, l.v[i][0], l.v[i][1]);
	free(l.v);
}

/* consumer.tree_event, per-process probes: a new process of the tree
 * gets the probes of every build at its FORK record (it is stopped, or
 * about to be, before its first instruction) and is continued at its
 * STOPPED record; an exited process's probes go */
void tree_event(void *arg, int type, int pid)
{
	struct session *s = arg;
	uint64_t key = (uint64_t)pid + 1;

	if (type == LT_REC_EXIT) {
		free(u64map_del(&s->stopped, key));
		if (pid != s->pid)
			detach_process(pid);
		return;
	}
	if (!u64map_get(&s->stopped, key)) {
		uint64_t *since = malloc(sizeof(*since));

		if (!s->finishing &&
		    attach_process(s->skel, s->mech, s->targets, s->ntargets, pid))
			lt_warn("pid %d (a process of pid %d's tree) is not traced", pid, s->pid);
		if (since) {
			*since = mono_ns();
			u64map_put(&s->stopped, key, since);
		}
	}
	if (type == LT_REC_STOPPED) {
		held_frames(s, pid);
		kill(pid, SIGCONT);
		free(u64map_del(&s->stopped, key));
	}
}

/* pid is stopped (state T): SIGCONT */
static void continue_if_stopped(int pid)
{
	char buf[512], *p = proc_stat(pid, buf, sizeof(buf));

	if (p && p[0] == ' ' && p[1] == 'T')
		kill(pid, SIGCONT);
}

/* a STOPPED record lost (ring buffer full) must not leave a process
 * stopped: one forked over a second ago and stopped is continued; at
 * the end (all) every process of the BPF map, whose FORK record may not
 * have been read at all (a failure between attach and consuming) */
void continue_stragglers(struct session *s, bool all)
{
	uint64_t now = mono_ns(), k;
	void *v;

	for (size_t i = 0; u64map_next(&s->stopped, &i, &k, &v);) {
		if (!all && now - *(uint64_t *)v < 1000000000ull)
			continue;
		continue_if_stopped((int)(k - 1));
		free(u64map_del(&s->stopped, k));
		i = 0;	/* changed under the walk: start over */
	}
	if (all && s->per_process && s->skel) {
		int fd = bpf_map__fd(s->skel->maps.followed);
		uint32_t key, next, *prev = NULL;

		while (!bpf_map_get_next_key(fd, prev, &next)) {
			continue_if_stopped(next);
			key = next;
			prev = &key;
		}
	}
}

/* the traced builds' files are not held at exec (exe_seen): one already
 * traced needs nothing before it runs */
void exe_seen_targets(struct session *s)
{
	int fd = bpf_map__fd(s->skel->maps.exe_seen);
	uint8_t one = 1;
	struct stat st;

	for (int i = 0; i < s->ntargets; i++) {
		struct lt_exe_key k = { 0 };

		if (stat(s->targets[i].path, &st))
			continue;
		k.ino = st.st_ino;
		k.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
		bpf_map_update_elem(fd, &k, &one, BPF_NOEXIST);
	}
}

/* tree_scan: a process of the tree that ran before attach */
static void attach_descendant(void *arg, int pid)
{
	struct session *s = arg;

	if (s->per_process && attach_process(s->skel, s->mech, s->targets, s->ntargets, pid))
		lt_warn("pid %d (a process of pid %d's tree) is not traced", pid, s->pid);
}

/* following: the descendants of the target that run now join the tree
 * (and get its probes); again until no new one appears, as one may fork
 * while the others are attached. 0, or -1 after a line */
int attach_tree(struct session *s)
{
	int n, rounds = 0;

	do {
		n = tree_scan(s->pid, bpf_map__fd(s->skel->maps.followed), attach_descendant, s);
		if (n < 0) {
			lt_err("cannot read /proc for the processes of pid %d: %s", s->pid,
			       strerror(errno));
			return -1;
		}
	} while (n > 0 && ++rounds < 8);
	return 0;
}

/* rb_config.describe_process: proc_describe, and a process that runs a
 * build with the JIT compiled in, with PYTHON_JIT on in its environment
 * (read at its start, as CPython does): calls of JIT code pass no probe,
 * so all its executions are marked (the target itself is refused at
 * start; this is a process of the tree, or of -a) */
void describe_process(void *arg, uint32_t pid, const char **cmdline, const char **cgroup,
			     uint32_t *taint)
{
	struct session *s = arg;

	proc_describe(NULL, pid, cmdline, cgroup);
	for (int i = 0; i < s->ntargets; i++) {
		const struct py_target *t = &s->targets[i];

		if (jit_on(t, (int)pid) && py_target_maps(t, (int)pid)) {
			*taint |= LT_INC_JIT;
			lt_warn("pid %u runs python %s at %s with its JIT on (PYTHON_JIT): calls of "
				"JIT code pass no probe; its executions are marked incomplete (jit)",
				pid, t->version, t->shown);
			break;
		}
	}
}

/* s->targets[s->ntargets], just filled for pid: its probes on */
static void add_build(struct session *s, int pid)
{
	int n = s->ntargets;

	if ((s->mech[n] = mech_choose(&s->targets[n], env.no_durations)) &&
	    !attach_build(s->skel, s->mech[n], &s->targets[n], n)) {
		s->ntargets = n + 1;
		lt_err("now also tracing python %s at %s (pid %d)", s->targets[n].version,
		       s->targets[n].shown, pid);
	}
}

/* -a, follow_exec_poll: a process that called execve, maybe a new build */
int try_new_build(void *arg, int pid)
{
	struct session *s = arg;
	int n = s->ntargets, r;

	if (s->cmd_wrapper && !s->python_seen && py_pid_runs_python(pid))
		s->python_seen = true;
	r = n < LT_MAX_BUILDS ? py_target_new_build(s->targets, &s->want, n, pid, env.verbose) : 0;
	if (r > 0)
		add_build(s, pid);
	return r;
}

/*
 * A process held at exec whose executable holds no interpreter: the
 * libpython it links (pyenv, --enable-shared and the official python
 * images' builds), which its loader has not mapped yet. Looked up as
 * its loader will: its RUNPATH/RPATH ($ORIGIN: where its executable is),
 * LD_LIBRARY_PATH of its environment, the usual directories, all in its
 * root. The probes go on the file before it is mapped.
 */
static void try_needed_libpython(struct session *s, int pid)
{
	char exe[64], link[PATH_MAX], root[64], lib[PATH_MAX], envbuf[65536], in_root[PATH_MAX + 64];
	char *origin = NULL;
	struct stat xs, st;
	size_t rl;
	ssize_t len;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	len = readlink(exe, link, sizeof(link) - 1);
	if (len <= 0 || stat(exe, &xs))
		return;
	link[len] = 0;
	rl = snprintf(root, sizeof(root), "/proc/%d/root", pid);
	/* $ORIGIN: the executable's directory, where we can reach it: the
	 * link is its path in the process's root (a container's mount
	 * namespace) or in ours (a chroot under ours); which one is told by
	 * the file there being the executable itself */
	snprintf(in_root, sizeof(in_root), "%s%s", root, link);
	if (!stat(in_root, &st) && st.st_dev == xs.st_dev && st.st_ino == xs.st_ino)
		origin = in_root;
	else if (!stat(link, &st) && st.st_dev == xs.st_dev && st.st_ino == xs.st_ino)
		origin = link;
	if (origin)
		*strrchr(origin, '/') = 0;
	if (elf_needed_libpython_in(exe, origin, root,
				    env_value(pid, "LD_LIBRARY_PATH", envbuf, sizeof(envbuf)), lib,
				    sizeof(lib)) ||
	    s->ntargets >= LT_MAX_BUILDS)
		return;
	if (py_target_new_file(s->targets, &s->want, s->ntargets, lib,
			       strncmp(lib, root, rl) ? lib : lib + rl, env.verbose)) {
		if (s->cmd_wrapper)
			s->python_seen = true;
		add_build(s, pid);
	}
}

/* consumer.exec_held: a followed process held at its first exec of a
 * file, before its first instruction: the build it runs is traced from
 * its start, then it goes on */
void exec_held(void *arg, int pid)
{
	struct session *s = arg;

	if (!s->finishing && try_new_build(s, pid) < 0)
		try_needed_libpython(s, pid);
	kill(pid, SIGCONT);
}

/* tree_each: a process of the tree at attach, the target's descendant */
static void tree_frames(void *arg, int pid)
{
	struct session *s = arg;

	if (pid != s->pid && read_live_frames(s, pid, &s->old_frames))
		s->old_frames.failed = true;
}

/* --no-durations: the frames of the target and (following) of its tree */
void read_old_frames(struct session *s)
{
	if (read_live_frames(s, s->pid, &s->old_frames))
		s->old_frames.failed = true;
	if (following())
		tree_each(tree_frames, s);
}
