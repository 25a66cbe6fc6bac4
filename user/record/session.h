/* SPDX-License-Identifier: MIT */
/*
 * One recording's state (record.c), shared by the parts of record that
 * use it whole: the targets chosen (targets.c) and the process tree
 * followed (tree.c). Not for the rest of the program: record.h is.
 */
#ifndef LT_RECORD_SESSION_H
#define LT_RECORD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/u64map.h"
#include "record/record.h"

struct leaktrace_bpf;
struct ring_buffer;

/* --no-durations: (frame, code, pid) live at attach (-p: the process
 * and those of its tree), or in a process held at its fork */
struct frame_list {
	uint64_t (*v)[3];
	size_t n, cap;
	uint32_t pid;		/* whose frames add_old_frame is given */
	bool failed;		/* out of memory, or unreadable: frames left out */
};

/* what one recording holds; all of it freed under cleanup: */
struct session {
	struct py_target targets[LT_MAX_BUILDS];
	int ntargets;
	struct py_want want;		/* what family of probes the builds get */
	/* per build: -a may meet builds with the USDT note and without */
	const struct lt_mechanism *mech[LT_MAX_BUILDS];
	int py_pid;			/* -p: the process whose python was found
					 * (the pid, or one it started) */
	struct leaktrace_bpf *skel;
	struct ring_buffer *ring;
	struct consumer cons;
	struct out out;
	struct lt_header hdr;
	struct lt_stats rotated;	/* counts at the last SIGHUP */
	pid_t pid;
	bool is_child;
	bool cmd_wrapper;		/* -- CMD: env, sh, a script: python later */
	bool python_seen;		/* cmd_wrapper, following: a process of
					 * the tree ran one */
	bool child_reaped;		/* child_status is its wait status */
	int child_status;
	int release_fd;			/* the command we started waits on it */
	bool live_view;
	bool root_gone;			/* the target (not its tree) has exited */
	bool per_process;		/* following: probes per process of the tree,
					 * new ones stopped until attached */
	bool finishing;			/* no more attaching */
	struct u64map stopped;		/* per_process: pid + 1 -> when forked (ns):
					 * attached, maybe stopped, not continued */
	bool perf_trampoline;		/* start the command with it */
	uint64_t last_live;		/* live view: last line printed */
	int32_t nspid;			/* the target's pid in its own namespace */
	uint8_t hkey[16];		/* --hash-values */
	char hkey_fp[17];		/* its fingerprint for the header */
	struct frame_list old_frames;	/* --no-durations -p: live at attach */
	uint64_t armed_ns;		/* when the probes began to count */
	bool created_output;		/* -o made a new file */
	bool header_written;
	char start[32], cmdbuf[8192];	/* header: start time, target's argv */
	const char *targv[64];
};

/* targets.c: the python(s) to trace and how; an exit status */
int find_targets(struct session *s);
/* 3.13+ JIT builds: t's JIT is on in pid (0: leaktrace, whose environment
 * -- CMD passes on) */
bool jit_on(const struct py_target *t, int pid);

/* tree.c: following the target's process tree */
/* consumer.tree_event: a process forked, stopped for its probes, exited */
void tree_event(void *arg, int type, int pid);
/* processes held at their fork longer than a second (all: every one)
 * are continued */
void continue_stragglers(struct session *s, bool all);
/* the probes on each process of the tree at attach; an exit status */
int attach_tree(struct session *s);
/* rb_config.describe_process */
void describe_process(void *arg, uint32_t pid, const char **cmdline, const char **cgroup,
		      uint32_t *taint);
/* follow_exec_poll: a process that called execve, maybe a new build */
int try_new_build(void *arg, int pid);
/* consumer.exec_held: a followed process held at its first exec of a file */
void exec_held(void *arg, int pid);
/* the traced builds' files into the BPF map of files exec'd already */
void exe_seen_targets(struct session *s);
/* --no-durations: the frames of the target and (following) of its tree */
void read_old_frames(struct session *s);

#endif
