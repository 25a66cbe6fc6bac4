// SPDX-License-Identifier: MIT
/* leaktrace export --format paper|chrome|folded (FORMAT.md §2, §6; layout
 * rules of chrome and folded in docs/REPORT.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/err.h"
#include "analysis/cmds.h"
#include "common/cli.h"
#include "common/hmap.h"
#include "common/json.h"
#include "common/outfile.h"
#include "analysis/observe.h"
#include "trace/incomplete.h"
#include "trace/trace.h"
#include "common/u64map.h"

enum { O_VARIANT = LT_CLI_LONG, O_WEIGHT };

static void paper_return(struct jw *j, const struct lt_value *v)
{
	const char *el = lt_value_elem(v);
	jw_key(j, "return");
	if (el)
		jw_strn(j, el, lt_intern_len(el));
	else
		jw_str(j, v->type ? v->type : "?");
}

static void paper_node_fields(struct jw *j, const struct lt_node *n, bool time)
{
	size_t fl = strlen(n->fn);
	char *name = malloc(fl + 3);
	memcpy(name, n->fn, fl);
	memcpy(name + fl, "()", 3);
	jw_key(j, "name");
	jw_str(j, name);
	free(name);
	if (time) {
		if (n->dur_ns >= 0) {
			jw_key(j, "time");
			jw_double(j, n->dur_ns / 1000.0);
		}
	} else if (n->has_ret) {
		paper_return(j, &n->ret);
	}
}

/* the root's children as the paper's list, without recursion */
static void paper_exec(struct jw *j, const struct lt_exec *e, bool time)
{
	const struct lt_node *root = e->root;
	jw_arr(j);
	const struct lt_node *n = root ? root->first : NULL;
	while (n) {
		jw_obj(j);
		paper_node_fields(j, n, time);
		jw_key(j, "child");
		jw_arr(j);
		if (n->first) {
			n = n->first;
			continue;
		}
		jw_arr_end(j);
		jw_obj_end(j);
		while (n->parent != root && !n->next) {
			n = n->parent;
			jw_arr_end(j);
			jw_obj_end(j);
		}
		n = n->next;
	}
	jw_arr_end(j);
	jw_raw(j, "\n", 1);
}

/* what an export wrote, for the summary line (or -j) */
struct export_sum {
	size_t execs, skipped, items, tracks;
	const char *items_name;	/* "events", "stacks", "files" */
};

static int export_paper(const char *in, const char *dir, bool time, struct export_sum *sum)
{
	if (mkdir(dir, 0755) && errno != EEXIST) {
		lt_err("%s: cannot create directory: %s", dir, strerror(errno));
		return LT_EXIT_FAIL;
	}
	struct lt_reader *r = lt_reader_open(in);
	if (!r)
		return LT_EXIT_USAGE;
	struct jw j;
	jw_init(&j);
	struct lt_exec *e;
	int n, rc = 0;
	size_t written = 0, skipped = 0, seq = 0;
	char path[4096];
	while ((n = lt_reader_next(r, &e)) == 1) {
		seq++;
		if (!e->complete) {
			skipped++;
			lt_exec_free(e);
			continue;
		}
		jw_reset(&j);
		paper_exec(&j, e, time);
		snprintf(path, sizeof(path), "%s/%lld.json", dir, (long long)e->id);
		/* the files hold values: 0600 like a trace */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST) {	/* same id twice (several threads) */
			snprintf(path, sizeof(path), "%s/%lld-%zu.json", dir, (long long)e->id, seq);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		}
		lt_exec_free(e);
		if (fd < 0) {
			lt_err("%s: cannot create: %s", path, strerror(errno));
			rc = LT_EXIT_FAIL;
			break;
		}
		if (lt_write_full(fd, j.buf, j.len) || close(fd)) {
			int err = errno;

			lt_err("%s: write failed: %s", path, strerror(err));
			close(fd);	/* EBADF after a failed close: harmless */
			unlink(path);	/* no half-written file */
			rc = LT_EXIT_FAIL;
			break;
		}
		written++;
	}
	if (n < 0)
		rc = LT_EXIT_USAGE;
	lt_reader_close(r);
	jw_free(&j);
	sum->execs = sum->items = written;
	sum->skipped = skipped;
	sum->items_name = "files";
	return rc;
}


/* ---- shared by chrome and folded --------------------------------------- */

/* one output at a time (common/outfile.h: 0600, errors with their cause,
 * a file we created and could not finish removed) */
static struct lt_out *cur_out;

static FILE *open_out(const char *path)
{
	cur_out = lt_out_open(path);
	return cur_out ? lt_out_file(cur_out) : NULL;
}

static int close_out(FILE *f, const char *path, int rc)
{
	(void)f;
	(void)path;
	if (lt_out_close(cur_out, rc != 0) && !rc)
		rc = LT_EXIT_FAIL;
	cur_out = NULL;
	return rc;
}

/* ---- chrome: Trace Event Format ---------------------------------------- */
/*
 * Layout (the trace has durations but no start time per call):
 *  - span(n) = max(dur_ns, sum of the children's spans); a node without
 *    dur_ns (synthetic roots, the paper's return files) gets the children's
 *    sum, a leaf without dur_ns 1 us. So children always fit in the parent.
 *  - the root starts at the execution's start_ns; children follow in call
 *    order with the parent's unaccounted time (span - children) spread in
 *    equal gaps before, between and after them.
 *  - an execution that has no start_ns, or would start before the previous
 *    one on its pid/tid ended, starts where that one ended.
 * args carry the real dur_ns when the span differs from it.
 */
struct layout {
	const struct lt_node **n;
	int64_t *span, *kids, *start, *cursor, *gap;
	uint32_t *parent;
	size_t cap;
};

#define NO_DUR_LEAF_NS 1000

static void layout_grow(struct layout *l, size_t need)
{
	if (need <= l->cap)
		return;
	size_t c = l->cap ? l->cap : 1024;
	while (c < need)
		c *= 2;
	l->n = lt_xrealloc(l->n, c * sizeof(*l->n));
	l->span = lt_xrealloc(l->span, c * sizeof(int64_t));
	l->kids = lt_xrealloc(l->kids, c * sizeof(int64_t));
	l->start = lt_xrealloc(l->start, c * sizeof(int64_t));
	l->cursor = lt_xrealloc(l->cursor, c * sizeof(int64_t));
	l->gap = lt_xrealloc(l->gap, c * sizeof(int64_t));
	l->parent = lt_xrealloc(l->parent, c * sizeof(uint32_t));
	l->cap = c;
}

static void layout_free(struct layout *l)
{
	free(l->n);
	free(l->span);
	free(l->kids);
	free(l->start);
	free(l->cursor);
	free(l->gap);
	free(l->parent);
}

/* pre-order array with parent indexes; returns the number of nodes */
static size_t layout_exec(struct layout *l, const struct lt_exec *e, int64_t t0)
{
	size_t cnt = 0;
	for (const struct lt_node *x = e->root; x; x = lt_node_preorder_next(e->root, x)) {
		layout_grow(l, cnt + 1);
		uint32_t par = UINT32_MAX;
		if (x->parent) {	/* walk up the pre-order from the previous node */
			par = (uint32_t)cnt - 1;
			while (l->n[par] != x->parent)
				par = l->parent[par];
		}
		l->n[cnt] = x;
		l->parent[cnt] = par;
		l->kids[cnt] = 0;
		cnt++;
	}
	/* spans bottom-up: reverse pre-order sees children before parents */
	for (size_t i = cnt; i-- > 0;) {
		const struct lt_node *x = l->n[i];
		int64_t d = x->dur_ns;
		if (!x->parent && d < 0)
			d = e->dur_ns;
		if (d < 0)
			d = x->first ? 0 : NO_DUR_LEAF_NS;
		l->span[i] = d > l->kids[i] ? d : l->kids[i];
		if (l->parent[i] != UINT32_MAX)
			l->kids[l->parent[i]] += l->span[i];
	}
	/* starts top-down */
	for (size_t i = 0; i < cnt; i++) {
		const struct lt_node *x = l->n[i];
		if (l->parent[i] == UINT32_MAX) {
			l->start[i] = t0;
		} else {
			uint32_t p = l->parent[i];
			l->start[i] = l->cursor[p];
			l->cursor[p] += l->span[i] + l->gap[p];
		}
		if (x->first) {
			l->gap[i] = (l->span[i] - l->kids[i]) / (int64_t)(x->ncalls + 1);
			l->cursor[i] = l->start[i] + l->gap[i];
		}
	}
	return cnt;
}

/* microseconds with ns precision: whole numbers as integers, else the
 * shortest double that reads back as ns/1000 (exact to the ns) */
static void jw_us(struct jw *j, int64_t ns)
{
	if (ns % 1000 == 0)
		jw_int(j, ns / 1000);
	else
		jw_double(j, (double)ns / 1000.0);
}

/* RET as one readable string: "int:100", "NoneType", "<raise>" */
static void jw_ret_text(struct jw *j, const struct lt_value *v)
{
	const char *el = lt_value_elem(v);
	if (el)
		jw_strn(j, el, lt_intern_len(el));
	else if (v->kind == LT_V_BIGINT || v->kind == LT_V_HASH)
		jw_str(j, v->s ? v->s : v->type);
	else
		jw_str(j, v->type ? v->type : "?");
}

struct track {
	int64_t end;
};

static uint64_t track_key(int32_t pid, int32_t tid)
{
	return (((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid) + 1;
}

static void chrome_meta(struct jw *j, const char *what, int32_t pid, int32_t tid, const char *name)
{
	jw_obj(j);
	jw_key(j, "name");
	jw_str(j, what);
	jw_key(j, "ph");
	jw_str(j, "M");
	jw_key(j, "pid");
	jw_int(j, pid);
	jw_key(j, "tid");
	jw_int(j, tid);
	jw_key(j, "args");
	jw_obj(j);
	jw_key(j, "name");
	jw_str(j, name);
	jw_obj_end(j);
	jw_obj_end(j);
}

static void chrome_process_name(struct jw *j, const struct lt_header *h, int32_t pid)
{
	char name[256];
	const char *prog = NULL;
	if (h && h->argc > 0) {
		/* the script when argv is "python3.11 script.py ..." */
		prog = h->argv[0];
		if (h->argc > 1 && strstr(prog, "python"))
			prog = h->argv[1];
		const char *sl = strrchr(prog, '/');
		prog = sl ? sl + 1 : prog;
	}
	if (prog)
		snprintf(name, sizeof(name), "%s (pid %d)", prog, pid);
	else
		snprintf(name, sizeof(name), "pid %d", pid);
	chrome_meta(j, "process_name", pid, 0, name);
}

static void chrome_event(struct jw *j, const struct lt_exec *e, const struct layout *l, size_t i)
{
	const struct lt_node *x = l->n[i];
	jw_obj(j);
	jw_key(j, "name");
	jw_str(j, x->fn);
	jw_key(j, "cat");
	jw_str(j, lt_node_synthetic_root(x) ? "execution" : "python");
	jw_key(j, "ph");
	jw_str(j, "X");
	jw_key(j, "ts");
	jw_us(j, l->start[i]);
	jw_key(j, "dur");
	jw_us(j, l->span[i]);
	jw_key(j, "pid");
	jw_int(j, e->pid);
	jw_key(j, "tid");
	jw_int(j, e->tid);
	jw_key(j, "args");
	jw_obj(j);
	if (x->file) {
		jw_key(j, "file");
		jw_str(j, x->file);
	}
	if (x->line >= 0) {
		jw_key(j, "line");
		jw_int(j, x->line);
	}
	if (x->interp) {	/* a sub-interpreter's outermost call (FORMAT.md §2) */
		jw_key(j, "interp");
		jw_uint(j, x->interp);
	}
	if (x->has_ret) {
		jw_key(j, "ret");
		jw_ret_text(j, &x->ret);
		if (x->ret.yield) {
			jw_key(j, "yield");
			jw_bool(j, true);
		}
	}
	if (x->args) {
		jw_key(j, "args");
		jw_arr(j);
		for (uint32_t k = 0; k < x->nargs; k++)
			jw_ret_text(j, &x->args[k]);
		jw_arr_end(j);
	}
	if (x->dur_ns >= 0 && x->dur_ns != l->span[i]) {	/* the span was widened */
		jw_key(j, "dur_ns");
		jw_int(j, x->dur_ns);
	}
	if (x->truncated_calls) {
		jw_key(j, "truncated_calls");
		jw_uint(j, x->truncated_calls);
	}
	if (!x->parent) {
		jw_key(j, "exec");
		jw_int(j, e->id);
		if (!e->complete) {
			jw_key(j, "complete");
			jw_bool(j, false);
			if (e->incomplete) {	/* why (FORMAT.md §1) */
				jw_key(j, "incomplete");
				jw_arr(j);
				for (int i = 0; i < LT_INC_NREASONS; i++)
					if (e->incomplete & (1u << i))
						jw_str(j, lt_incomplete_name(i));
				jw_arr_end(j);
			}
		}
	}
	jw_obj_end(j);
	jw_obj_end(j);
}

static int export_chrome(const char *in, const char *out, struct export_sum *sum)
{
	struct lt_reader *r = lt_reader_open(in);
	if (!r)
		return LT_EXIT_USAGE;
	FILE *f = open_out(out);
	if (!f) {
		lt_reader_close(r);
		return LT_EXIT_FAIL;
	}
	struct jw j;
	jw_init(&j);
	struct layout l = { 0 };
	struct u64map tracks = { 0 }, procs = { 0 };
	struct lt_exec *e;
	int n, rc = 0;
	jw_obj(&j);
	jw_key(&j, "traceEvents");
	jw_arr(&j);
	while ((n = lt_reader_next(r, &e)) == 1) {
		if (!e->root) {
			lt_exec_free(e);
			continue;
		}
		if (!u64map_get(&procs, track_key(e->pid, 0))) {
			u64map_put(&procs, track_key(e->pid, 0), &procs);
			chrome_process_name(&j, lt_reader_header(r), e->pid);
		}
		struct track *t = u64map_get(&tracks, track_key(e->pid, e->tid));
		if (!t) {
			t = lt_xrealloc(NULL, sizeof(*t));
			t->end = 0;
			u64map_put(&tracks, track_key(e->pid, e->tid), t);
			char name[64];
			snprintf(name, sizeof(name), "tid %d", e->tid);
			chrome_meta(&j, "thread_name", e->pid, e->tid, name);
			sum->tracks++;
		}
		int64_t t0 = (int64_t)e->start_ns;
		if (!e->start_ns || e->start_ns > INT64_MAX || t0 < t->end)
			t0 = t->end;
		size_t cnt = layout_exec(&l, e, t0);
		for (size_t i = 0; i < cnt; i++)
			chrome_event(&j, e, &l, i);
		t->end = t0 + l.span[0];
		sum->items += cnt;
		sum->execs++;
		sum->skipped += !e->complete;	/* shown, counted as incomplete */
		lt_exec_free(e);
		if (fwrite(j.buf, 1, j.len, f) != j.len) {
			rc = LT_EXIT_FAIL;
			break;
		}
		j.len = 0;	/* keep the writer's nesting state, drop the text */
	}
	if (n < 0)
		rc = LT_EXIT_USAGE;
	if (!rc) {
		jw_arr_end(&j);
		jw_key(&j, "displayTimeUnit");
		jw_str(&j, "ns");
		jw_key(&j, "otherData");
		jw_obj(&j);
		jw_key(&j, "tool");
		jw_str(&j, "leaktrace");
		jw_key(&j, "source");
		jw_str(&j, in);
		jw_obj_end(&j);
		jw_obj_end(&j);
		jw_raw(&j, "\n", 1);
		if (fwrite(j.buf, 1, j.len, f) != j.len)
			rc = LT_EXIT_FAIL;
	}
	sum->items_name = "events";
	size_t it = 0;
	uint64_t k;
	void *v;
	while (u64map_next(&tracks, &it, &k, &v))
		free(v);
	u64map_free(&tracks);
	u64map_free(&procs);
	layout_free(&l);
	jw_free(&j);
	lt_reader_close(r);
	return close_out(f, out, rc);
}

/* ---- folded stacks ------------------------------------------------------ */
/*
 * One line per unique stack, "root;child;grandchild WEIGHT", frames are the
 * qualified names. --folded-weight calls (default): WEIGHT = calls whose
 * stack is exactly this one (so the lines add up to the number of calls and
 * a frame's total is its inclusive call count); time: self time in ns
 * (dur_ns minus the children's dur_ns, 0 when absent). Stacks are merged
 * over all executions in a trie (memory grows with unique stacks only);
 * lines with weight 0 (synthetic roots, calls without dur_ns in time mode)
 * are left out.
 */
struct fnode {
	const char *fn;
	uint32_t parent, first, last, next;
	uint64_t w;
};

struct folded {
	struct fnode *v;
	size_t n, cap;
	struct hmap idx;	/* (fn, parent+1) -> index+1 */
};

#define F_NONE UINT32_MAX

static uint32_t folded_child(struct folded *fo, uint32_t parent, const char *fn)
{
	struct hent *h = hmap_slot(&fo->idx, (uint64_t)(uintptr_t)fn, (uint64_t)parent + 1);
	if (h->k1)
		return (uint32_t)((uintptr_t)h->v - 1);
	if (fo->n == fo->cap) {
		fo->cap = fo->cap ? fo->cap * 2 : 1024;
		fo->v = lt_xrealloc(fo->v, fo->cap * sizeof(*fo->v));
	}
	uint32_t i = (uint32_t)fo->n++;
	fo->v[i] = (struct fnode){ fn, parent, F_NONE, F_NONE, F_NONE, 0 };
	if (parent != F_NONE) {
		struct fnode *p = &fo->v[parent];
		if (p->last == F_NONE)
			p->first = i;
		else
			fo->v[p->last].next = i;
		p->last = i;
	}
	hmap_put(&fo->idx, h, (uint64_t)(uintptr_t)fn, (uint64_t)parent + 1, (void *)(uintptr_t)(i + 1));
	return i;
}

/* frame text: ';' separates frames and the last ' ' the weight */
static void folded_frame(char **buf, size_t *len, size_t *cap, const char *fn)
{
	size_t n = strlen(fn);
	if (*len + n + 2 > *cap) {
		*cap = (*len + n + 2) * 2;
		*buf = lt_xrealloc(*buf, *cap);
	}
	for (size_t i = 0; i < n; i++) {
		char c = fn[i];
		(*buf)[(*len)++] = c == ';' ? ':' : (c == ' ' || c == '\n' || c == '\t') ? '_' : c;
	}
}

static int export_folded(const char *in, const char *out, bool time, struct export_sum *sum)
{
	struct lt_reader *r = lt_reader_open(in);
	if (!r)
		return LT_EXIT_USAGE;
	struct folded fo = { 0 };
	struct lt_exec *e;
	int n, rc = 0;
	/* ancestor stack of (node, trie index) */
	const struct lt_node **sn = NULL;
	uint32_t *si = NULL;
	size_t scap = 0;
	while ((n = lt_reader_next(r, &e)) == 1) {
		size_t sp = 0;
		for (const struct lt_node *x = e->root; x; x = lt_node_preorder_next(e->root, x)) {
			while (sp && sn[sp - 1] != x->parent)
				sp--;
			uint32_t t = folded_child(&fo, sp ? si[sp - 1] : F_NONE, x->fn);
			if (sp == scap) {
				scap = scap ? scap * 2 : 256;
				sn = lt_xrealloc(sn, scap * sizeof(*sn));
				si = lt_xrealloc(si, scap * sizeof(*si));
			}
			sn[sp] = x;
			si[sp++] = t;
			if (lt_node_synthetic_root(x))
				continue;
			if (!time) {
				fo.v[t].w++;
			} else if (x->dur_ns >= 0) {
				int64_t self = x->dur_ns;
				for (const struct lt_node *c = x->first; c; c = c->next)
					if (c->dur_ns > 0)
						self -= c->dur_ns;
				if (self > 0)
					fo.v[t].w += (uint64_t)self;
			}
		}
		sum->execs++;
		sum->skipped += !e->complete;
		lt_exec_free(e);
	}
	free(sn);
	free(si);
	lt_reader_close(r);
	if (n < 0) {
		rc = LT_EXIT_USAGE;
		goto out;
	}
	FILE *f = open_out(out);
	if (!f) {
		rc = LT_EXIT_FAIL;
		goto out;
	}
	/* depth-first over the trie; lens[d] = text length before frame d */
	char *buf = NULL;
	size_t len = 0, cap = 0, *lens = NULL, lcap = 0, d = 0;
	for (uint32_t root = 0; root < fo.n; root++) {
		if (fo.v[root].parent != F_NONE)
			continue;
		uint32_t t = root;
		d = 0;
		len = 0;
		while (t != F_NONE) {
			if (d == lcap) {
				lcap = lcap ? lcap * 2 : 256;
				lens = lt_xrealloc(lens, lcap * sizeof(*lens));
			}
			lens[d] = len;
			if (d)
				buf[len++] = ';';
			folded_frame(&buf, &len, &cap, fo.v[t].fn);
			if (fo.v[t].w) {
				fwrite(buf, 1, len, f);
				fprintf(f, " %llu\n", (unsigned long long)fo.v[t].w);
				sum->items++;
			}
			if (fo.v[t].first != F_NONE) {
				t = fo.v[t].first;
				d++;
				continue;
			}
			/* next sibling, or climb */
			while (t != F_NONE && fo.v[t].next == F_NONE && t != root) {
				t = fo.v[t].parent;
				d--;
			}
			if (t == root)
				break;
			t = fo.v[t].next;
			len = lens[d];
		}
	}
	free(buf);
	free(lens);
	rc = close_out(f, out, 0);
out:
	sum->items_name = "stacks";
	free(fo.v);
	hmap_free(&fo.idx);
	return rc;
}

/* ---- leaktrace export ---------------------------------------------------- */

static const struct argp_option export_opts[] = {
	{ "format", 'f', "chrome|folded|paper", 0,
	  "chrome: Trace Event Format JSON (Perfetto UI, chrome://tracing), a track per pid/tid, a "
	  "complete event per call with file, line and return value; folded: 'root;child;leaf WEIGHT' "
	  "lines (flamegraph.pl, speedscope); paper: OUT is a directory, OUT/<id>.json per complete "
	  "execution", 0 },
	{ "output", 'o', "OUT", 0, "where to write ('-' = stdout for chrome and folded)", 0 },
	{ "folded-weight", O_WEIGHT, "calls|time", 0, "calls per stack (default) or self time in ns", 0 },
	{ "paper-variant", O_VARIANT, "return|time", 0, "the paper's return-value or cost-time files", 0 },
	{ "json", 'j', NULL, 0, "summary as one JSON object on stdout", 0 },
	LT_CLI_HELP,
	{ 0 },
};

struct export_args {
	struct lt_cli cli;	/* first: lt_cli_parse's */
	const char *fmt, *out, *variant, *weight;
	bool json;
};

static error_t export_key(int key, char *arg, struct argp_state *state)
{
	struct export_args *a = state->input;

	switch (key) {
	case 'f':
		a->fmt = arg;
		break;
	case 'o':
		a->out = arg;
		break;
	case O_VARIANT:
		a->variant = arg;
		break;
	case O_WEIGHT:
		a->weight = arg;
		break;
	case 'j':
		a->json = true;
		break;
	default:
		return lt_cli_key(key, arg, state);
	}
	return 0;
}

static const struct argp export_argp = {
	export_opts, export_key, "TRACE",
	"Export a trace for other tools.\vTRACE '-' = stdin.",
	NULL, NULL, NULL,
};

static int export(const char *fmt, const char *out, const char *variant, const char *weight, bool json,
		  const char *trace, int nops)
{
	if (!fmt || !out || nops != 1) {
		lt_err("export needs --format FORMAT, one TRACE and -o OUT");
		return LT_EXIT_USAGE;
	}
	if (strcmp(variant, "return") && strcmp(variant, "time")) {
		lt_err("--paper-variant: '%s' is not return or time", variant);
		return LT_EXIT_USAGE;
	}
	if (strcmp(weight, "calls") && strcmp(weight, "time")) {
		lt_err("--folded-weight: '%s' is not calls or time", weight);
		return LT_EXIT_USAGE;
	}
	if (json && !strcmp(out, "-")) {
		lt_err("-j prints the summary on stdout; it cannot be combined with -o -");
		return LT_EXIT_USAGE;
	}
	struct export_sum sum = { 0 };
	int rc;
	if (!strcmp(fmt, "paper")) {
		if (!strcmp(out, "-")) {
			lt_err("export --format paper writes a directory; -o - is not one");
			return LT_EXIT_USAGE;
		}
		rc = export_paper(trace, out, !strcmp(variant, "time"), &sum);
	} else if (!strcmp(fmt, "chrome")) {
		rc = export_chrome(trace, out, &sum);
	} else if (!strcmp(fmt, "folded")) {
		rc = export_folded(trace, out, !strcmp(weight, "time"), &sum);
	} else {
		lt_err("--format: '%s' is not chrome, folded or paper", fmt);
		return LT_EXIT_USAGE;
	}
	if (rc)
		return rc;
	if (json) {
		struct jw j;
		jw_init(&j);
		jw_obj(&j);
		jw_key(&j, "format");
		jw_str(&j, fmt);
		jw_key(&j, "output");
		jw_str(&j, out);
		jw_key(&j, "executions");
		jw_uint(&j, sum.execs);
		jw_key(&j, !strcmp(fmt, "paper") ? "skipped_incomplete" : "incomplete");
		jw_uint(&j, sum.skipped);
		jw_key(&j, sum.items_name);
		jw_uint(&j, sum.items);
		if (!strcmp(fmt, "chrome")) {
			jw_key(&j, "tracks");
			jw_uint(&j, sum.tracks);
		}
		if (!strcmp(fmt, "folded")) {
			jw_key(&j, "weight");
			jw_str(&j, weight);
		}
		jw_obj_end(&j);
		jw_raw(&j, "\n", 1);
		fwrite(j.buf, 1, j.len, stdout);
		jw_free(&j);
	} else if (!strcmp(fmt, "paper")) {
		char sk[64] = "";

		if (sum.skipped)
			snprintf(sk, sizeof(sk), ", %zu incomplete skipped", sum.skipped);
		lt_err("%s: %zu executions written%s", out, sum.execs, sk);
	} else {
		char tr[48] = "", sk[64] = "";

		if (sum.tracks)
			snprintf(tr, sizeof(tr), " on %zu tracks", sum.tracks);
		if (sum.skipped)
			snprintf(sk, sizeof(sk), " (%zu incomplete executions included)", sum.skipped);
		lt_err("%s: %zu executions, %zu %s%s%s", out, sum.execs, sum.items, sum.items_name, tr, sk);
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	struct export_args a = { .variant = "return", .weight = "calls" };
	int rc = lt_cli_parse(&export_argp, &a.cli, "export", argc, argv);

	if (rc < 0)
		rc = export(a.fmt, a.out, a.variant, a.weight, a.json, a.cli.ops[0], a.cli.nops);
	lt_cli_free(&a.cli);
	return rc;
}
