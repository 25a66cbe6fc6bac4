/* SPDX-License-Identifier: MIT */
/*
 * The consume side: each ring-buffer record (FORMAT.md §3) goes to the
 * call-tree rebuild (rebuild.c) or, in the live view, to live.c; each
 * execution the rebuild finishes is numbered, matched against --rules,
 * written (FORMAT.md §1) and, without -o, shown as one line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include "analysis/rules.h"
#include "common/json.h"
#include "common/u64map.h"
#include "leaktrace.h"
#include "pybuild/live_check.h"
#include "pybuild/pystr.h"
#include "record/alerts.h"
#include "record/metrics.h"
#include "record/record.h"
#include "record/simfail.h"
#include "trace/incomplete.h"

void consume_resolve_code(void *arg, struct rb_state *rb, uint32_t tgid, uint64_t code)
{
	/* a code object whose strings no CODE record brought (the BPF side
	 * sends them when a frame of it starts, or with --no-durations at its
	 * first return): a call already running at attach, a generator
	 * finished by close()/throw(), or a CODE record dropped. Read them
	 * from the target. */
	const struct py_target *t = arg;
	char name[4 * LT_NAME_MAX + 1], file[4 * LT_FILE_MAX + 1];
	int line;

	if (tgid && !py_read_code(t, tgid, code, name, sizeof(name), file, sizeof(file), &line))
		rb_code(rb, tgid, code, name, file, line);
}

void consume_resolve_type(void *arg, struct rb_state *rb, uint32_t tgid, uint64_t type)
{
	const struct py_target *t = arg;
	char name[LT_NAME_MAX + 1];

	if (tgid && !py_read_type_name(t, tgid, type, name, sizeof(name)))
		rb_type(rb, tgid, type, name);
}

/* one line per completed execution (without -o): human, or with -j JSON */
static void print_exec_line(const struct lt_exec *e)
{
	const struct lt_node *r = e->root, *c;
	uint64_t calls = 0;
	char first[256] = "";
	size_t used = 0;
	int shown = 0;

	for (const struct lt_node *n = r; n; n = lt_node_preorder_next(r, n))
		calls++;
	if (lt_node_synthetic_root(r))
		calls--;	/* the synthetic root is no call */
	if (env.json) {
		struct jw j;

		jw_init(&j);
		jw_obj(&j);
		jw_key(&j, "type");
		jw_str(&j, "exec");
		jw_key(&j, "id");
		jw_int(&j, e->id);
		jw_key(&j, "pid");
		jw_int(&j, e->pid);
		jw_key(&j, "tid");
		jw_int(&j, e->tid);
		jw_key(&j, "root");
		jw_str(&j, r->fn);
		if (e->dur_ns >= 0) {
			jw_key(&j, "dur_ns");
			jw_int(&j, e->dur_ns);
		}
		jw_key(&j, "calls");
		jw_uint(&j, calls);
		jw_key(&j, "complete");
		jw_bool(&j, e->complete);
		jw_key(&j, "first_layer");
		jw_arr(&j);
		for (c = r->first; c; c = c->next)
			jw_str(&j, c->fn);
		jw_arr_end(&j);
		jw_obj_end(&j);
		printf("%.*s\n", (int)j.len, j.buf);
		jw_free(&j);
		fflush(stdout);
		return;
	}
	for (c = r->first; c && shown < 6; c = c->next, shown++)
		used += snprintf(first + used, used < sizeof(first) ? sizeof(first) - used : 0, "%s%s",
				 shown ? ", " : "", c->fn);
	if (c && used < sizeof(first))
		snprintf(first + used, sizeof(first) - used, ", ...");
	/* a thread that is not its process's main one: which process */
	printf("exec %lld tid %d", (long long)e->id, e->tid);
	if (e->pid && e->pid != e->tid)
		printf(" pid %d", e->pid);
	char why[256] = "";

	if (!e->complete)	/* " (incomplete: stopped)" */
		lt_incomplete_str(e->incomplete, ",", why, sizeof(why));
	printf(" %s %.3f ms %llu calls%s%s%s%s%s%s\n", r->fn,
	       e->dur_ns >= 0 ? e->dur_ns / 1e6 : 0.0, (unsigned long long)calls,
	       e->complete ? "" : " (incomplete", why[0] ? ": " : "", why, e->complete ? "" : ")",
	       first[0] ? ": " : "", first);
	fflush(stdout);
}

static void on_alert(void *ctx, const struct lt_exec *e, const struct lt_rule *r)
{
	struct out *o = ctx;
	char rule[256], seen[256], when[32], line[1024];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	lt_rule_describe(r, rule, sizeof(rule));
	lt_rule_observed(r, seen, sizeof(seen));
	snprintf(line, sizeof(line), "ALERT %s.%03ld pid %d tid %d exec %lld rule %d: %s (seen %s)%s%s%s",
		 when, ts.tv_nsec / 1000000, e->pid, e->tid, (long long)e->id, r->index, rule, seen,
		 r->site ? " at " : "", r->site ? r->site : "", e->complete ? "" : " [incomplete]");
	if (o->alerts) {	/* NULL: --alert-json - writes in its place */
		fprintf(o->alerts, "%s\n", line);
		fflush(o->alerts);
	}
	o->nalerts++;
	alerts_emit(e, r, line, &ts);	/* --alert-json, --alert-exec (queued) */
	metrics_alert(e, r->index);
}

/* following a tree in another pid namespace: the rebuild tags every
 * execution with the target's nspid; a descendant has its own (read
 * once per process; 0 when it is gone: no nspid then) */
static struct u64map known_nspid;	/* pid + 1 -> nspid + 1 */

/* a FORK record: the child runs (or waits stopped) now, read it */
static void fork_nspid(int pid)
{
	u64map_put(&known_nspid, (uint64_t)pid + 1, (void *)((uintptr_t)ns_id(pid, pid) + 1));
}

static void descendant_nspid(struct lt_exec *e, const struct out *o)
{
	uintptr_t v;

	if (!e->nspid || e->pid == o->root_pid)
		return;
	v = (uintptr_t)u64map_get(&known_nspid, (uint64_t)e->pid + 1);
	/* the main thread's namespaced tid is its process's */
	if (e->tid == e->pid && e->nstid)
		v = e->nstid + 1;
	if (!v) {
		v = (uintptr_t)ns_id(e->pid, e->pid) + 1;
		u64map_put(&known_nspid, (uint64_t)e->pid + 1, (void *)v);
	}
	e->nspid = v - 1;
}

void consume_exec(struct lt_exec *e, void *arg)
{
	struct out *o = arg;

	e->id = o->next_id++;
	descendant_nspid(e, o);
	if (o->rules)
		lt_rules_match(o->rules, e, on_alert, o);
	if (o->human)
		print_exec_line(e);
	metrics_exec(e);
	if (o->w && !o->write_failed) {
		/* the writer thread builds its line and frees it */
		if (lt_writer_exec_take(o->w, e)) {
			o->write_failed = true;
			exiting = 1;
		}
		return;
	}
	lt_exec_free(e);
}

void consume_stats(struct lt_stats *st, const struct consumer *c, const struct bpf_counts *k,
		   const struct lt_stats *base)
{
	memset(st, 0, sizeof(*st));
	if (c->rb) {
		const struct rb_stats *s = rb_stats(c->rb);

		st->execs = s->execs;
		st->calls = s->calls;
		st->incomplete_execs = s->incomplete_execs;
		st->truncated_strings = s->truncated_strings;
		st->excluded_calls = s->excluded_calls;
		st->stale_frames = s->stale_frames;
	}
	st->lost_events = c->lost;
	st->read_failures = k->read_failures;
	st->name_evictions = k->name_evictions;
	st->unprobed_returns = k->unprobed_returns;
	if (base) {
		st->execs -= base->execs;
		st->calls -= base->calls;
		st->incomplete_execs -= base->incomplete_execs;
		st->truncated_strings -= base->truncated_strings;
		st->excluded_calls -= base->excluded_calls;
		st->stale_frames -= base->stale_frames;
		st->lost_events -= base->lost_events;
		st->read_failures -= base->read_failures;
		st->name_evictions -= base->name_evictions;
		st->unprobed_returns -= base->unprobed_returns;
	}
}

static const char *code_string(const char *buf, int len, int kind, char *out, size_t cap)
{
	int cut;

	lt_units_to_utf8(buf, len, kind, out, cap, cap - 1, &cut);
	return out;
}

/* the BPF side's drop counter, snapshot in every ENTRY and RET: a step
 * means records were lost in between. Batches of different CPUs arrive
 * in any order, so an older snapshot may follow a newer one: only a step
 * forward counts */
static void check_drops(struct consumer *c, __u32 drops)
{
	if ((__s32)(drops - (__u32)c->last_drops) > 0) {
		c->lost += (__u32)(drops - (__u32)c->last_drops);
		c->last_drops = drops;
		metrics_lost(c->lost);
		if (c->rb)
			rb_loss(c->rb);
	}
}

static void handle_record(struct consumer *c, void *data, size_t size)
{
	switch (*(__u8 *)data) {
	case LT_REC_CODE: {
		const struct lt_rec_code *r = data;
		char name[4 * LT_NAME_MAX + 1], file[4 * LT_FILE_MAX + 1];

		if (size < sizeof(*r))
			return;
		code_string(r->name, r->name_len, r->name_kind, name, sizeof(name));
		code_string(r->file, r->file_len, r->file_kind, file, sizeof(file));
		if (c->live) {
			if (!r->is_type)
				live_name(c->live, r->tgid, r->code, name, file, r->firstlineno);
		} else if (r->is_type)
			rb_type(c->rb, r->tgid, r->code, name);
		else
			rb_code(c->rb, r->tgid, r->code, name, file, r->firstlineno);
		break;
	}
	case LT_REC_ENTRY: {
		const struct lt_rec_entry *r = data;

		if (size < sizeof(*r))
			return;
		check_drops(c, r->drops);
		if (c->rb)
			rb_entry(c->rb, r->tgid, r->tid, r->nstid, r->ts, r->frame, r->code,
				 r->previous);
		else
			live_thread(c->live, r->tid, r->tgid);
		break;
	}
	case LT_REC_RET: {
		const struct lt_rec_ret *r = data;

		if (size < sizeof(*r) + r->payload_len)
			return;
		check_drops(c, r->drops);
		if (c->rb) {
			rb_return(c->rb, r, r + 1);
		} else {
			live_count(c->live, r->tid, r->code);
			metrics_live_call();
		}
		break;
	}
	case LT_REC_INTERP: {
		const struct lt_rec_interp *r = data;

		if (size >= sizeof(*r) && c->rb)
			rb_interp(c->rb, r->tid, r->frame, r->id, r->failed);
		break;
	}
	case LT_REC_ARG: {
		const struct lt_rec_ret *r = data;

		if (size >= sizeof(*r) + r->payload_len && c->rb)
			rb_arg(c->rb, r, r + 1);
		break;
	}
	case LT_REC_EXEC: {
		const struct lt_rec_exit *r = data;

		/* -a, or a followed process: maybe a build not traced yet
		 * (looked at again later: its loader may map a libpython) */
		follow_exec_queue(r->pid);
		if (r->pad2 & LT_EXEC_HELD) {
			if (c->exec_held)
				c->exec_held(c->tree_arg, r->pid);
			else
				kill(r->pid, SIGCONT);
		}
		break;
	}
	case LT_REC_FORK: {
		const struct lt_rec_exit *r = data;

		tree_add(r->pid);
		proc_forked(r->pid, r->tid);
		if (c->rb)
			rb_fork(c->rb, r->pid, r->tid);
		if (c->in_pidns)
			fork_nspid(r->pid);
		if (c->tree_event)
			c->tree_event(c->tree_arg, LT_REC_FORK, r->pid);
		break;
	}
	case LT_REC_STOPPED:
		if (c->tree_event)
			c->tree_event(c->tree_arg, LT_REC_STOPPED, ((const struct lt_rec_exit *)data)->pid);
		break;
	case LT_REC_CMDLINE: {
		const struct lt_rec_cmdline *r = data;

		if (size >= sizeof(*r))
			proc_cmdline(r->pid, r->buf, r->len < LT_CMDLINE_MAX ? r->len : LT_CMDLINE_MAX);
		break;
	}
	case LT_REC_EXIT: {
		const struct lt_rec_exit *r = data;

		if (c->rb)
			rb_thread_exit(c->rb, r->tid, r->pid, r->ts);
		if (r->tid == r->pid) {
			tree_gone(r->pid);
			proc_forget(r->pid);
			if (c->tree_event)
				c->tree_event(c->tree_arg, LT_REC_EXIT, r->pid);
		}
		if ((int)r->tid == c->pid)
			c->target_exited = true;
		break;
	}
	}
}

/* one record, alone or out of a batch */
static void consume_one(struct consumer *c, void *data, size_t size)
{
	c->batch++;
	if (size && (*(const uint8_t *)data == LT_REC_ENTRY || *(const uint8_t *)data == LT_REC_RET))
		c->records++;
	if (simfail_drop(data, size)) {	/* tests: lost as if the buffer were full */
		c->lost++;
		if (c->rb)
			rb_loss(c->rb);
	} else {
		handle_record(c, data, size);
	}
}

/* a batch's records (FORMAT.md §3): each behind an 8-byte header holding
 * its size, 8-aligned; a malformed one ends the batch */
static void consume_batch(struct consumer *c, const uint8_t *p, size_t size)
{
	const struct lt_rec_batch *b = (const void *)p;
	size_t off = sizeof(*b), end;
	uint32_t len;

	if (size < sizeof(*b))
		return;
	end = sizeof(*b) + (b->len < size - sizeof(*b) ? b->len : size - sizeof(*b));
	while (off + 8 <= end) {
		memcpy(&len, p + off, sizeof(len));
		off += 8;
		if (!len || len > end - off)
			break;
		consume_one(c, (void *)(p + off), len);
		off += (len + 7) & ~(size_t)7;
	}
}

int consume_record(void *ctx, void *data, size_t size)
{
	struct consumer *c = ctx;

	if (size && *(const uint8_t *)data == LT_REC_BATCH)
		consume_batch(c, data, size);
	else
		consume_one(c, data, size);
	/* the record is handled; stop here to give the loop back */
	if (!c->draining && (c->batch >= LT_BATCH || exiting))
		return LT_BREAK;
	return 0;
}
