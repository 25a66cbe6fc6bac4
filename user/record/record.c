/* SPDX-License-Identifier: MIT */
/*
 * leaktrace record: attach to a CPython (a running pid, every one with -a,
 * or a command started here), consume probe records and write executions
 * (FORMAT.md §1). The loader in libbpf-bootstrap's shape: parse, find the
 * python and its mechanism, open, set rodata, load, attach, poll until a
 * signal, one cleanup. The parts are in record.h; those that share the
 * session whole (targets.c, tree.c) in session.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "analysis/rules.h"
#include "commands.h"
#include "common/err.h"
#include "common/u64map.h"
#include "leaktrace.h"
#include "pybuild/live_check.h"
#include "trace/incomplete.h"
#include "leaktrace.skel.h"
#include "record/alerts.h"
#include "record/hashval.h"
#include "record/metrics.h"
#include "record/record.h"
#include "record/roots.h"
#include "record/session.h"
#include "record/simfail.h"

volatile sig_atomic_t exiting;
static volatile sig_atomic_t reopen;	/* SIGHUP: log rotation */

static void on_sighup(int sig)
{
	reopen = 1;
}

static void on_signal(int sig)
{
	exiting = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!env.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}



static struct session S = { .release_fd = -1 };

/* --hash-values, --rules and -o: what the executions go to; before
 * anything runs, so that a bad path costs nothing. An exit status. */
static int open_outputs(struct session *s)
{
	int err;

	if (env.hash_values) {
		if (lt_hash_key_load(env.hash_key, s->hkey))
			return LT_EXIT_USAGE;
		if (!env.hash_key)
			lt_warn("--hash-values with a random key: values compare equal only within "
				"this trace (use --hash-key FILE across recordings)");
	}
	if (env.rules) {
		s->out.rules = lt_rules_load(env.rules);
		if (!s->out.rules)
			return LT_EXIT_USAGE;
		s->out.alerts = env.output && !strcmp(env.output, "-") ? stderr : stdout;
		if ((err = alerts_open(env.alert_json, env.alert_exec)))
			return err;
		if (env.alert_json && !strcmp(env.alert_json, "-"))
			s->out.alerts = NULL;
	}
	/* bound before anything is attached: a taken port costs nothing */
	if (env.metrics && (err = metrics_open(env.metrics, s->out.rules)))
		return err;
	if (env.output) {
		const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
		struct stat st;
		bool existed = !stat(env.output, &st);

		s->out.w = lt_writer_open(env.output);
		if (!s->out.w)
			return LT_EXIT_USAGE;
		s->created_output = !existed && strcmp(env.output, "-");
		/* under sudo a trace file we created belongs to the invoking user,
		 * as with perf (never /dev/null or another existing file) */
		if (s->created_output && uid && gid && !stat(env.output, &st) && S_ISREG(st.st_mode) &&
		    chown(env.output, atoi(uid), atoi(gid)) && env.verbose)
			lt_warn("cannot give %s to uid %s: %s", env.output, uid, strerror(errno));
	}
	s->live_view = !env.root && !env.output && !env.rules;
	s->out.human = !env.output && !s->live_view;
	return 0;
}

/* the BPF side's counters. Evictions from its `seen` LRU map (each a
 * name sent again if needed, never a loss): the new keys it counted less
 * the entries left, none ever deleted. Exact once the probes are gone;
 * while they run (a rotation) short by the names sent meanwhile, and the
 * walk is bounded by the map's size (a key evicted under it restarts it) */
static struct bpf_counts bpf_counts(const struct leaktrace_bpf *skel)
{
	struct bpf_counts k = { .read_failures = skel->bss->read_failures,
				.unprobed_returns = skel->bss->evf_overflows };
	const struct bpf_map *m = skel->maps.seen;
	uint64_t inserts = skel->bss->seen_inserts, live = 0;
	unsigned char key[2][64];
	size_t ksz = bpf_map__key_size(m);
	const void *prev = NULL;

	if (ksz > sizeof(key[0]))
		return k;
	while (live < bpf_map__max_entries(m) &&
	       !bpf_map__get_next_key(m, prev, key[live & 1], ksz)) {
		prev = key[live & 1];
		live++;
	}
	k.name_evictions = inserts > live ? inserts - live : 0;
	return k;
}

/* SIGHUP (log rotation): finish this file (trailer with its own counts),
 * then the same path anew with a header; -1 if that failed */
static int rotate_output(struct session *s)
{
	struct lt_stats st;
	struct bpf_counts k;

	if (!s->out.w || !strcmp(env.output, "-"))
		return 0;
	k = bpf_counts(s->skel);
	consume_stats(&st, &s->cons, &k, &s->rotated);
	if (lt_writer_stats(s->out.w, &st) || lt_writer_close(s->out.w)) {
		lt_err("finishing %s failed", env.output);
		s->out.write_failed = true;
	}
	consume_stats(&s->rotated, &s->cons, &k, NULL);
	s->out.w = lt_writer_open(env.output);
	if (!s->out.w || lt_writer_header(s->out.w, &s->hdr)) {
		lt_err("cannot reopen %s after SIGHUP", env.output);
		s->out.write_failed = true;
		return -1;
	}
	if (env.verbose)
		lt_err("SIGHUP: reopened %s", env.output);
	return 0;
}

/* the command we started: still running? Reaps it when it is not
 * (blocking: wait for it), keeping its wait status for our own exit */
static bool child_running(struct session *s, bool block)
{
	int st;
	pid_t r;

	if (!s->is_child || s->child_reaped)
		return false;
	do
		r = waitpid(s->pid, &st, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return true;
	if (r == s->pid) {
		s->child_status = st;
		s->child_reaped = true;
	}
	return false;
}

/* the target has ended: its main thread's exit record came, or (asked
 * twice a second, which covers a lost exit record) it is gone; when
 * following, every process of its tree too */
static bool target_done(struct session *s, uint64_t now, uint64_t *last_alive)
{
	bool check = now - *last_alive >= 500000000ull;

	if (check)
		*last_alive = now;
	if (!s->root_gone &&
	    (s->cons.target_exited ||
	     (check && (s->is_child ? !child_running(s, false) : !process_alive(s->pid, false, NULL))))) {
		/* a child we started is reaped here, its status kept */
		if (s->is_child && s->cons.target_exited)
			child_running(s, true);
		s->root_gone = true;
		tree_gone(s->pid);
	}
	if (!s->root_gone)
		return false;
	/* the tree: exit records keep it; kill(0) covers a lost one */
	return !following() || !tree_count() || (check && !tree_check());
}

/* live_print's count of traced processes */
static int live_nprocs(void)
{
	return env.all ? -1 : following() ? tree_count() : 1;
}

/* poll the ring buffer until a signal, --duration, or the target's end */
static void poll_loop(struct session *s)
{
	uint64_t t0, last_alive = 0, last_flush;

	t0 = last_flush = s->last_live = mono_ns();
	while (!exiting) {
		/* records are submitted without wakeups (BPF_RB_NO_WAKEUP): the
		 * poll only waits 20 ms, then we consume what is there */
		int n;
		uint64_t now;

		s->cons.batch = 0;
		n = ring_buffer__poll(s->ring, 20);
		if (n >= 0) {
			s->cons.batch = 0;
			n = ring_buffer__consume(s->ring);
		}
		if (n == LT_BREAK)
			n = 0;
		if (n < 0 && n != -EINTR) {
			lt_err("reading the ring buffer failed: %s", strerror(-n));
			break;
		}
		now = mono_ns();
		/* the batch of a CPU whose thread runs on without a probe hit
		 * nor leaving the CPU (bpf/batch.bpf.h) */
		if (now - last_flush >= LT_FLUSH_MS * 1000000ull) {
			flush_batches(s->skel);
			last_flush = now;
		}
		/* durable output: what completed reaches the file within LT_SYNC_NS */
		if (s->out.w && !s->out.write_failed && lt_writer_tick(s->out.w, now)) {
			s->out.write_failed = true;
			break;
		}
		if (env.all || following())
			follow_exec_poll(try_new_build, s);
		if (s->per_process)
			continue_stragglers(s, false);
		if (reopen) {
			reopen = 0;
			alerts_reopen();
			if (rotate_output(s))
				break;
		}
		if (s->live_view && now - s->last_live >= 1000000000ull) {
			live_print(s->cons.live, (now - s->last_live) / 1e9, env.json, live_nprocs());
			s->last_live = now;
		}
		if (env.duration && now - t0 >= env.duration * 1e9)
			break;
		/* the exit record of the main thread ends the recording; asking
		 * the kernel (wait4 is slow while the child takes uprobe hits)
		 * only twice a second covers a lost exit record */
		if (!env.all && target_done(s, now, &last_alive))
			break;
	}
}

/* record -- CMD exits as the command did, as time(1) and strace(1) do:
 * its exit code, or 128+N when signal N killed it. -1: not known (not
 * our child, or still running after --duration) */
static int command_status(const struct session *s)
{
	if (!s->is_child || !s->child_reaped)
		return -1;
	if (WIFSIGNALED(s->child_status))
		return 128 + WTERMSIG(s->child_status);
	return WEXITSTATUS(s->child_status);
}

/* "CMD exited with status N": the summary line's end; "" when unknown */
static const char *command_said(const struct session *s, char *buf, size_t size)
{
	int st = command_status(s);

	if (st < 0)
		*buf = 0;
	else if (WIFSIGNALED(s->child_status))
		snprintf(buf, size, "; %s killed by signal %d (status %d)", env.cmd[0],
			 WTERMSIG(s->child_status), st);
	else
		snprintf(buf, size, "; %s exited with status %d", env.cmd[0], st);
	return buf;
}

/* stop the probes first, so that what is left in the buffer is finite,
 * then drain it, write the open executions and the trailer; exit status */
static int finish(struct session *s)
{
	struct leaktrace_bpf *skel = s->skel;
	struct consumer *c = &s->cons;
	struct lt_stats stats;
	struct bpf_counts k;
	char said[256];
	int err = 0;

	skel->bss->armed = 0;	/* returns and starts stop at the same moment */
	s->finishing = true;
	bpf_link__destroy(skel->links.lt_child_start);
	skel->links.lt_child_start = NULL;
	detach_probes();
	bpf_link__destroy(skel->links.lt_exec);
	skel->links.lt_exec = NULL;
	/* every CPU's last batch; a probe that still held one (it ran as
	 * its uprobe went) is done within a few ms */
	for (int i = 0; i < 100 && !flush_batches(skel); i++)
		usleep(1000);
	c->draining = true;
	ring_buffer__consume(s->ring);
	bpf_link__destroy(skel->links.lt_exit);
	skel->links.lt_exit = NULL;
	if (skel->bss->drops != c->last_drops) {
		c->lost += skel->bss->drops - c->last_drops;
		metrics_lost(c->lost);
		if (c->rb)
			rb_loss(c->rb);
	}
	continue_stragglers(s, true);
	if (c->rb)
		rb_finish(c->rb, mono_ns());
	if (s->live_view)
		live_print(c->live, (mono_ns() - s->last_live) / 1e9, env.json, live_nprocs());
	k = bpf_counts(skel);
	consume_stats(&stats, c, &k, &s->rotated);
	if (s->out.w && !s->out.write_failed && lt_writer_stats(s->out.w, &stats))
		s->out.write_failed = true;
	if (s->out.w) {
		if (lt_writer_close(s->out.w) || s->out.write_failed) {
			lt_err("writing %s failed; the trace is incomplete", env.output);
			err = LT_EXIT_FAIL;
		}
		s->out.w = NULL;
	}
	if (c->lost)
		lt_warn("%llu events lost (ring buffer full); the executions concerned are marked "
			"incomplete; try a larger --ringbuf-mb", (unsigned long long)c->lost);
	/* Ctrl-C reaches the command too (same process group): its status */
	if (exiting)
		child_running(s, true);
	command_said(s, said, sizeof(said));
	if (env.verbose || env.output)
		lt_err("%llu executions (%llu incomplete), %llu calls, %llu lost events%s",
		       (unsigned long long)stats.execs, (unsigned long long)stats.incomplete_execs,
		       (unsigned long long)stats.calls, (unsigned long long)stats.lost_events, said);
	else if (command_status(s) > 0)
		lt_err("%s", said + 2);	/* a failing command: never silent */
	if (env.verbose)
		lt_err("ring buffer of %d MiB: the consumer was woken %llu times as it fell behind "
		       "by a quarter of it", env.ringbuf_mb, (unsigned long long)skel->bss->ring_wakeups);
	if (!s->is_child && !env.all && !process_alive(s->pid, false, NULL))
		lt_err("target pid %d exited", s->pid);
	if (c->rb && c->records)
		root_report(env.root);
	if (!c->records && s->is_child) {
		/* a python starting up runs hundreds of calls (site, encodings):
		 * none seen means the probes are on a file it did not run, or a
		 * wrapper whose tree (followed: each exec looked at) ran none */
		if (s->cmd_wrapper && following() && !s->python_seen)
			lt_err("%s started no CPython: no process of its tree ran a python "
			       "(it would be traced on %s%s); a python it runs from elsewhere is "
			       "named with --python", env.cmd[0], s->targets[0].shown,
			       s->ntargets > 1 ? " and the other builds" : "");
		else
			lt_err("no probe fired while %s ran: it did not run its interpreter from "
			       "%s (another copy of python or libpython?); name the file it maps "
			       "with --python", env.cmd[0], s->targets[0].shown);
		err = LT_EXIT_USAGE;
	} else if (!c->records && !env.all) {
		lt_warn("no Python call seen in pid %d while tracing (idle?)", s->pid);
	}
	return err;
}

/* start the probes counting; --no-durations -p: the frames live at
 * attach, read before and after arming, began before it (nothing is in
 * flight in a command we start) */
static void arm(struct session *s)
{
	bool old = mech_returns_only(s->mech[0]) && !s->is_child;

	if (old)
		read_old_frames(s);
	s->skel->bss->armed = 1;
	if (!old)
		return;
	read_old_frames(s);
	s->armed_ns = mono_ns();
	if (s->old_frames.failed)
		lt_warn("cannot read the frames of pid %d (or of its processes) that run at "
			"attach: the first execution of each thread is marked incomplete", s->pid);
}

/* live_config.resolve: a code object's strings from the process */
static int live_resolve(void *arg, uint32_t tgid, uint64_t code, char *name, size_t name_cap,
			char *file, size_t file_cap, int *line)
{
	return py_read_code(arg, tgid, code, name, name_cap, file, file_cap, line);
}

/* a build of 3.11 traced through its return sites with frame starts:
 * CPython calls a tracing hook of a return or yield after the site */
static bool hooks_after_return(const struct session *s)
{
	for (int i = 0; i < s->ntargets; i++)
		if (s->targets[i].use_sites && py_minor(s->targets[i].version) == 11 &&
		    !mech_returns_only(s->mech[i]))
			return true;
	return false;
}

/* the rebuild (or the live view) and the ring buffer that feeds it;
 * 0 or -1 */
static int start_consumer(struct session *s)
{
	struct rb_config cfg = {
		.root_fn = env.root,
		.max_depth = env.max_depth,
		.exclude = env.exclude,
		.str_len = env.str_len,
		.pid = s->pid,
		.nspid = s->nspid,
		.hash_key = env.hash_values ? s->hkey : NULL,
		.returns_only = mech_returns_only(s->mech[0]),
		.complete_after_ns = s->armed_ns,
		.first_exec_incomplete = s->old_frames.failed,
		.from_start = s->is_child,
		.callers_at_return = !s->targets[0].use_evalframe && s->ntargets == 1,
		.hooks_after_return = hooks_after_return(s),
		.resolve_code = consume_resolve_code,
		.resolve_type = consume_resolve_type,
		.resolve_arg = &s->targets[0],
		.describe_process = env.all || following() ? describe_process : NULL,
		.describe_arg = s,
	};

	simfail_init();		/* tests: LEAKTRACE_SIMFAIL (simfail.h) */
	s->cons.pid = s->pid;
	s->out.root_pid = s->pid;
	s->cons.in_pidns = s->nspid != 0;
	if (s->live_view) {
		struct live_config lc = { .where = env.where, .resolve = live_resolve,
					  .resolve_arg = &s->targets[0] };

		s->cons.live = live_new(&lc);
		if (!s->cons.live)
			return -1;
	} else {
		s->cons.rb = rb_new(&cfg, consume_exec, &s->out);
		if (!s->cons.rb)
			return -1;
		for (size_t i = 0; i < s->old_frames.n; i++)
			rb_old_frame(s->cons.rb, s->old_frames.v[i][2], s->old_frames.v[i][0],
				     s->old_frames.v[i][1]);
	}
	s->ring = ring_buffer__new(bpf_map__fd(s->skel->maps.events), consume_record, &s->cons, NULL);
	if (!s->ring) {
		lt_err("cannot create the ring buffer: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* the trace header (FORMAT.md §1); once it is written, the command we
 * started may run. 0, or -1 if the header could not be written */
static int write_header(struct session *s)
{
	time_t now = time(NULL);
	struct tm tm;

	strftime(s->start, sizeof(s->start), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	s->hdr = (struct lt_header){ .format = 1, .tool = "leaktrace",
				     .python = s->targets[0].version, .pid = s->pid,
				     .root = env.root, .start = s->start,
				     .mechanism = mech_name(s->mech[0]) };
	/* how it is made: analyze refuses to compare traces made differently */
	s->hdr.values = env.no_values ? "none" : env.hash_values ? "hashed" : "plain";
	if (env.hash_values) {
		lt_hash_key_fingerprint(s->hkey, s->hkey_fp);
		s->hdr.hash_key = s->hkey_fp;
	}
	s->hdr.str_len = env.str_len;
	s->hdr.max_depth = env.max_depth;
	s->hdr.args = env.args;
	s->hdr.exclude = env.exclude;
	s->hdr.nexclude = env.nexclude;
	if (s->out.rules && s->out.rules->capture.set) {
		char why[1200];

		/* rules learned from traces made otherwise match wrongly or never */
		if (lt_capture_differs(&s->out.rules->capture.h, &s->hdr, why, sizeof(why)))
			lt_warn("%s was learned from traces recorded differently (%s): its rules may "
				"never match", env.rules, why);
	}
	if (s->is_child) {
		s->hdr.argv = (const char **)env.cmd;
		for (s->hdr.argc = 0; env.cmd[s->hdr.argc]; s->hdr.argc++)
			;
	} else {
		s->hdr.argc = read_cmdline(s->pid, s->cmdbuf, sizeof(s->cmdbuf), s->targv, 64);
		s->hdr.argv = s->targv;
	}
	if (s->out.w && lt_writer_header(s->out.w, &s->hdr)) {
		s->out.write_failed = true;
		return -1;
	}
	s->header_written = true;
	if (s->release_fd >= 0) {
		if (write(s->release_fd, "g", 1) != 1)
			lt_err("cannot start the command");
		close(s->release_fd);
		s->release_fd = -1;
	}
	if (env.all)
		lt_err("tracing %d CPython build%s system-wide; Ctrl-C to stop", s->ntargets,
		       s->ntargets > 1 ? "s" : "");
	else if (!s->is_child && following() && tree_count() > 1)
		lt_err("tracing pid %d (%s %s) and its %d descendants, also those started "
		       "later; Ctrl-C to stop", s->pid, s->py_pid == s->pid ? "python" :
		       "runs no python; theirs:", s->targets[0].version, tree_count() - 1);
	else if (!s->is_child)
		lt_err("tracing pid %d (python %s); Ctrl-C to stop", s->pid, s->targets[0].version);
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct session *s = &S;
	int err;

	if (record_parse_args(argc, argv))
		return LT_EXIT_USAGE;
	/* the consumer's system time is page faults: an open execution's tree
	 * is built in fresh memory, freed when it is written, faulted in
	 * again by the next. Memory freed is kept (up to 1 GiB above the
	 * heap's top, blocks under 256 MiB from the heap): RSS stays at its
	 * high-water mark, the largest open executions', and the burst's
	 * CPU per record falls by about a fifth (docs/PERFORMANCE.md) */
	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	/* --no-durations prefers the return sites (struct py_want) */
	s->want = (struct py_want){ .mechanism = env.mechanism };
	spawn_save_start();
	/* from the start: a Ctrl-C while loading still ends cleanly */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	err = lt_record_check_caps(!env.cmd);	/* caps.c: root, or the caps it names */
	if (err)
		return err;
	libbpf_set_print(libbpf_print);
	err = find_targets(s);
	if (err)
		return err;
	if (env.floor) {
		if (!env.cmd)
			return run_floor(s->mech[0], &s->targets[0], env.pid, false, -1);
		s->pid = spawn_waiting(env.cmd, s->perf_trampoline, &s->release_fd);
		if (s->pid < 0)
			return LT_EXIT_FAIL;
		return run_floor(s->mech[0], &s->targets[0], s->pid, true, s->release_fd);
	}
	err = open_outputs(s);
	if (err)
		goto cleanup;
	err = LT_EXIT_FAIL;

	s->skel = leaktrace_bpf__open();
	if (!s->skel) {
		lt_err("cannot open the BPF object: %s", strerror(errno));
		goto cleanup;
	}
	if (env.cmd) {
		s->pid = spawn_waiting(env.cmd, s->perf_trampoline, &s->release_fd);
		if (s->pid < 0) {
			lt_err("cannot start %s: %s", env.cmd[0], strerror(errno));
			goto cleanup;
		}
		s->is_child = true;
	} else {
		s->pid = env.pid;
	}
	s->nspid = ns_id(s->pid, s->pid);
	if (s->nspid && env.verbose)
		lt_err("pid %d is pid %d in its own pid namespace", s->pid, s->nspid);
	if (attach_configure(s->skel, (const struct lt_mechanism *const *)s->mech, s->targets, s->ntargets, s->pid, s->nspid != 0)) {
		err = LT_EXIT_USAGE;
		goto cleanup;
	}
	if (leaktrace_bpf__load(s->skel)) {
		lt_err("cannot load the BPF programs: %s (run with -v for the verifier log)",
		       strerror(errno));
		goto cleanup;
	}
	if (exiting) {		/* Ctrl-C while loading: nothing recorded, no error */
		err = 0;
		goto cleanup;
	}
	/* following a tree: each process gets its own probes, a new one
	 * stopped until it has them; where the kernel cannot stop them,
	 * every process of the build gets them, the BPF side keeping the
	 * tree's. Either way a child is traced from its first instruction. */
	if (following()) {
		struct rlimit rl;

		s->per_process = bpf_program__autoload(s->skel->progs.lt_child_start) &&
				 attach_child_stop(s->skel);
		/* a probe per site and process: file descriptors */
		if (s->per_process && !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (!s->per_process)
			lt_warn("the kernel cannot stop new processes (sys_exit tracepoint: %s): "
				"the probes go on every process of the build, which slows the others",
				strerror(errno));
	}
	s->cons.tree_event = s->per_process ? tree_event : NULL;
	s->cons.exec_held = exec_held;
	exe_seen_targets(s);
	s->cons.tree_arg = s;
	if (attach_all(s->skel, s->mech, s->targets, s->ntargets,
		       env.all || (following() && !s->per_process) ? -1 : s->pid))
		goto cleanup;
	if (following() && attach_tree(s))
		goto cleanup;
	arm(s);
	if (start_consumer(s))
		goto cleanup;
	signal(SIGHUP, on_sighup);
	if (!write_header(s))
		poll_loop(s);
	err = finish(s);
	/* leaktrace's own failure (1, 2) comes first: the trace is what we
	 * answer for; otherwise the command's status (stderr tells them apart:
	 * the summary line names the command's status) */
	if (!err && command_status(s) >= 0)
		err = command_status(s);
cleanup:
	if (s->release_fd >= 0)
		close(s->release_fd);	/* the child exits without running the command */
	/* none of the tree stays stopped, whatever failed (before waiting:
	 * the command may wait for a stopped child) */
	if (s->skel) {
		bpf_link__destroy(s->skel->links.lt_child_start);
		s->skel->links.lt_child_start = NULL;
	}
	continue_stragglers(s, true);
	u64map_free(&s->stopped);
	if (s->is_child && exiting)
		child_running(s, true);	/* Ctrl-C reaches the child too (same process group) */
	ring_buffer__free(s->ring);
	rb_free(s->cons.rb);
	live_free(s->cons.live);
	free(s->old_frames.v);
	if (s->out.w) {
		lt_writer_close(s->out.w);
		/* stopped before recording began: leave no empty file behind */
		if (!s->header_written && s->created_output)
			unlink(env.output);
	}
	if (alerts_close() && !err)
		err = LT_EXIT_FAIL;
	metrics_close();
	if (s->out.rules)
		lt_rules_free(s->out.rules);
	detach_probes();
	leaktrace_bpf__destroy(s->skel);
	return err;
}
