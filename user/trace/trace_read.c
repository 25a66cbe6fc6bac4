// SPDX-License-Identifier: MIT
/*
 * Trace reader: leaktrace JSON Lines (plain or gzip, "-" = stdin), a
 * directory of such files, or the paper's JSON files (a list of first-layer
 * calls per file), auto-detected by the first non-blank byte ('{' or '[').
 * Streams: one line (one execution) in memory at a time.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "common/json.h"
#include "trace/trace.h"

enum { K_JSONL, K_PAPER };

/* fast_intern's cache: an interned string by its length, first and last
 * 8 bytes (which are the whole string up to 16 bytes) */
#define NAME_CACHE_BITS 10
#define NAME_CACHE (1 << NAME_CACHE_BITS)
struct name_slot {
	const char *s;
	uint64_t head, tail;
	uint32_t len;
};

/* a node whose children are still to be built: cur is the next child's
 * token, left how many are left */
struct bstack {
	struct lt_node *node;
	uint32_t cur, left;
};

struct lt_reader {
	char **files;
	size_t nfiles, next_file;
	/* current file */
	char *path;
	gzFile gz;
	int kind;
	long long line;		/* line of the last returned execution */
	long long lineno;	/* lines read so far */
	bool saw_header, saw_trailer, done_file;
	char *buf;		/* read buffer: [pos, end) unread */
	size_t pos, end, cap;
	bool eof;
	struct jparse jp;
	struct lt_header hdr;
	bool has_hdr;
	struct lt_stats stats;
	char where[4200];
	long long paper_seq;
	long long execs_in_file;
	/* lt_reader_open_part: this reader builds only the executions of
	 * JSON Lines input whose index (over all its files) is part mod
	 * nparts; every reader still reads every line. Messages about lines
	 * that are not its own executions come from part 0 only. */
	int part, nparts;
	long long exec_seq;
	bool own_line;
	struct bstack *bst;	/* build_children's and fast_tree's stack */
	size_t bcap;
	struct lt_value *args;	/* fast_args: the values of one "args" */
	size_t acap;
	bool generic_only;	/* lt_reader_set_fast(r, false) */
	long long fast_lines;	/* exec lines fast_exec built */
	struct name_slot names[NAME_CACHE];
	const int *abort;	/* set: another part failed, stop quietly */
	bool quiet_failure;	/* the last problem was left to another part */
};

/* whether this reader reports problems of the current line */
static bool speaks(const struct lt_reader *r)
{
	return r->part == 0 || r->own_line;
}

static void die_oom(void)
{
	fprintf(stderr, "leaktrace: out of memory\n");
	exit(1);
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		die_oom();
	return p;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static int dir_filter(const struct dirent *d)
{
	const char *n = d->d_name;
	if (n[0] == '.')
		return 0;
	return has_suffix(n, ".json") || has_suffix(n, ".jsonl") || has_suffix(n, ".gz") ||
	       has_suffix(n, ".ndjson");
}

static int natural_sort(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

struct lt_reader *lt_reader_open(const char *path)
{
	return lt_reader_open_part(path, 0, 1);
}

void lt_reader_set_abort(struct lt_reader *r, const int *flag)
{
	r->abort = flag;
}

bool lt_reader_quiet_failure(const struct lt_reader *r)
{
	return r->quiet_failure;
}

struct lt_reader *lt_reader_open_part(const char *path, int part, int nparts)
{
	struct lt_reader *r = calloc(1, sizeof(*r));
	struct stat st;
	if (!r)
		die_oom();
	r->part = part;
	r->nparts = nparts;
	jp_init(&r->jp);
	if (strcmp(path, "-") && stat(path, &st)) {
		if (!part)
			fprintf(stderr, "leaktrace: %s: %s\n", path, strerror(errno));
		goto fail;
	}
	if (strcmp(path, "-") && S_ISDIR(st.st_mode)) {
		struct dirent **ents;
		int n = scandir(path, &ents, dir_filter, natural_sort);
		if (n < 0) {
			if (!part)
				fprintf(stderr, "leaktrace: %s: %s\n", path, strerror(errno));
			goto fail;
		}
		r->files = calloc(n ? n : 1, sizeof(char *));
		if (!r->files)
			die_oom();
		for (int i = 0; i < n; i++) {
			char *p;
			if (asprintf(&p, "%s/%s", path, ents[i]->d_name) < 0)
				die_oom();
			struct stat fst;
			if (!stat(p, &fst) && S_ISREG(fst.st_mode))
				r->files[r->nfiles++] = p;
			else
				free(p);
			free(ents[i]);
		}
		free(ents);
		if (!r->nfiles) {
			if (!part)
				fprintf(stderr, "leaktrace: %s: no trace files (*.jsonl, *.json, *.gz) in this directory\n", path);
			goto fail;
		}
	} else {
		r->files = calloc(1, sizeof(char *));
		if (!r->files)
			die_oom();
		r->files[r->nfiles++] = xstrdup(path);
	}
	r->cap = 1 << 20;
	r->buf = malloc(r->cap + 1);
	if (!r->buf)
		die_oom();
	return r;
fail:
	lt_reader_close(r);
	return NULL;
}

static void close_file(struct lt_reader *r)
{
	if (r->gz)
		gzclose(r->gz);
	r->gz = NULL;
}

void lt_reader_close(struct lt_reader *r)
{
	if (!r)
		return;
	close_file(r);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	free(r->buf);
	free(r->hdr.argv);
	jp_free(&r->jp);
	free(r->bst);
	free(r->args);
	free(r);
}

static int bad(struct lt_reader *r, long long line, const char *fmt, const char *arg)
{
	r->quiet_failure = !speaks(r);
	if (r->quiet_failure)
		return -1;
	fprintf(stderr, "%s:%lld: ", r->path, line);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return -1;
}

/* fill the buffer; returns -1 on a read error (printed) */
static int fill(struct lt_reader *r)
{
	if (r->eof)
		return 0;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->end -= r->pos;
		r->pos = 0;
	}
	if (r->end == r->cap) {
		size_t nc = r->cap * 2;
		char *b = realloc(r->buf, nc + 1);
		if (!b)
			die_oom();
		r->buf = b;
		r->cap = nc;
	}
	int n = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - r->end));
	if (n < 0) {
		int zerr;
		const char *m = gzerror(r->gz, &zerr);
		r->quiet_failure = !speaks(r);
		if (speaks(r))
			fprintf(stderr, "%s:%lld: read error: %s\n", r->path, r->lineno + 1,
			zerr == Z_ERRNO ? strerror(errno) : m);
		return -1;
	}
	if (n == 0) {
		int zerr;
		gzerror(r->gz, &zerr);
		if (zerr == Z_BUF_ERROR)	/* gzip stream cut short */
			if (speaks(r))
				fprintf(stderr, "leaktrace: warning: %s: compressed data ends early (recorder killed?)\n",
				r->path);
		r->eof = true;
	}
	r->end += n;
	return n;
}

/* next line, NUL-terminated in place; 1 ok, 0 end, -1 error. *partial is
 * set when the line had no final newline. */
static int next_line(struct lt_reader *r, char **line, size_t *len, bool *partial)
{
	for (;;) {
		char *nl = memchr(r->buf + r->pos, '\n', r->end - r->pos);
		if (nl) {
			*line = r->buf + r->pos;
			*len = (size_t)(nl - *line);
			*nl = 0;
			r->pos += *len + 1;
			*partial = false;
			r->lineno++;
			return 1;
		}
		if (r->eof) {
			if (r->pos == r->end)
				return 0;
			*line = r->buf + r->pos;
			*len = r->end - r->pos;
			(*line)[*len] = 0;	/* buf has cap + 1 bytes */
			r->pos = r->end;
			*partial = true;
			r->lineno++;
			return 1;
		}
		if (fill(r) < 0)
			return -1;
	}
}

/* open the next file; 1 ok, 0 none left, -1 error */
static int open_next(struct lt_reader *r)
{
	r->own_line = false;
	close_file(r);
	if (r->next_file >= r->nfiles)
		return 0;
	r->path = r->files[r->next_file++];
	if (!strcmp(r->path, "-")) {
		int fd = dup(STDIN_FILENO);
		r->gz = fd < 0 ? NULL : gzdopen(fd, "rb");
		free(r->path);
		r->path = r->files[r->next_file - 1] = xstrdup("<stdin>");
	} else {
		r->gz = gzopen(r->path, "rb");
	}
	if (!r->gz) {
		r->quiet_failure = !speaks(r);
		if (speaks(r))
			fprintf(stderr, "leaktrace: %s: %s\n", r->path, errno ? strerror(errno) : "cannot open");
		return -1;
	}
	gzbuffer(r->gz, 256 * 1024);
	r->pos = r->end = 0;
	r->eof = false;
	r->lineno = 0;
	r->saw_header = r->saw_trailer = r->done_file = false;
	r->execs_in_file = 0;
	/* sniff the first non-blank byte */
	for (;;) {
		while (r->pos < r->end && strchr(" \t\r\n", r->buf[r->pos]) && r->buf[r->pos])
			r->pos++;
		if (r->pos < r->end || r->eof)
			break;
		if (fill(r) < 0)
			return -1;
	}
	if (r->pos == r->end) {
		r->quiet_failure = !speaks(r);
		if (speaks(r))
			fprintf(stderr, "%s:1: empty file, expected a leaktrace trace or a paper JSON list\n", r->path);
		return -1;
	}
	/* count the blank lines skipped so that line numbers stay right */
	for (size_t i = 0; i < r->pos; i++)
		if (r->buf[i] == '\n')
			r->lineno++;
	if (r->buf[r->pos] == '[') {
		r->kind = K_PAPER;
	} else if (r->buf[r->pos] == '{') {
		r->kind = K_JSONL;
	} else {
		r->quiet_failure = !speaks(r);
		if (speaks(r))
			fprintf(stderr, "%s:%lld: not a trace: expected '{' (leaktrace JSON Lines) or '[' (paper JSON)\n",
			r->path, r->lineno + 1);
		return -1;
	}
	return 1;
}

/* ---- values -------------------------------------------------------------- */
static const char *T_INT, *T_FLOAT, *T_BOOL, *T_STR;

static void init_str_stop(void);

static void intern_types(void)
{
	init_str_stop();
	T_INT = lt_intern("int");
	T_FLOAT = lt_intern("float");
	T_BOOL = lt_intern("bool");
	T_STR = lt_intern("str");
}

static void init_types(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, intern_types);
}

/* the interned type name; the common ones without hashing */
static const char *type_name(const char *s, uint32_t n)
{
	if (n == 3 && !memcmp(s, "int", 3))
		return T_INT;
	if (n == 3 && !memcmp(s, "str", 3))
		return T_STR;
	if (n == 5 && !memcmp(s, "float", 5))
		return T_FLOAT;
	if (n == 4 && !memcmp(s, "bool", 4))
		return T_BOOL;
	return lt_intern_n(s, n);
}

/* a decimal integer string (bigint) */
static bool decimal_text(const char *s, size_t n)
{
	size_t i = s[0] == '-' ? 1 : 0;
	if (i >= n)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static inline bool key_is(const struct jtok *k, const char *lit, uint32_t len)
{
	return k->len == len && !memcmp(k->s, lit, len);
}

/* strcmp(t->s, lit) == 0 for a string token whose text need not end in a
 * NUL (the fast path's tokens point into the line) */
static bool tok_cstr_is(const struct jtok *t, const char *lit, uint32_t n)
{
	return t->len >= n && !memcmp(t->s, lit, n) && (t->len == n || !t->s[n]);
}

/* a RET or args element from its "type" string token and its "value"
 * token (NULL: none); NULL or the reason it is refused */
static const char *set_value(struct lt_exec *e, struct lt_value *v, const struct jtok *tt,
			     const struct jtok *vt)
{
	v->type = type_name(tt->s, tt->len);
	if (!vt)
		return NULL;
	if (vt->type == JT_STR && vt->len >= 2 && vt->s[0] == 'h' && vt->s[1] == ':') {
		v->kind = LT_V_HASH;
		v->s = lt_arena_strndup(&e->arena, vt->s, vt->len);
		v->slen = vt->len;
		return NULL;
	}
	if (v->type == T_INT) {
		if (vt->type == JT_NUM && !jp_int64(vt, &v->u.i)) {
			v->kind = LT_V_INT;
		} else if ((vt->type == JT_NUM && jp_is_integer_text(vt)) ||
			   (vt->type == JT_STR && decimal_text(vt->s, vt->len))) {
			v->kind = LT_V_BIGINT;
			v->s = lt_arena_strndup(&e->arena, vt->s, vt->len);
			v->slen = vt->len;
		} else {
			return "int value must be an integer or a decimal string";
		}
	} else if (v->type == T_FLOAT) {
		v->kind = LT_V_FLOAT;
		if (vt->type == JT_NUM)
			jp_double(vt, &v->u.f);
		else if (vt->type == JT_STR && tok_cstr_is(vt, "nan", 3))
			v->u.f = NAN;
		else if (vt->type == JT_STR && tok_cstr_is(vt, "inf", 3))
			v->u.f = INFINITY;
		else if (vt->type == JT_STR && tok_cstr_is(vt, "-inf", 4))
			v->u.f = -INFINITY;
		else
			return "float value must be a number, \"nan\", \"inf\" or \"-inf\"";
	} else if (v->type == T_BOOL) {
		if (vt->type != JT_TRUE && vt->type != JT_FALSE)
			return "bool value must be true or false";
		v->kind = LT_V_BOOL;
		v->u.b = vt->type == JT_TRUE;
	} else if (v->type == T_STR) {
		if (vt->type != JT_STR)
			return "str value must be a string";
		v->kind = LT_V_STR;
		v->s = lt_arena_strndup(&e->arena, vt->s, vt->len);
		v->slen = vt->len;
	}
	/* other types: a value is not part of format 1; ignored */
	return NULL;
}

static const char *parse_value(struct lt_exec *e, const struct jparse *p, uint32_t i, struct lt_value *v)
{
	const struct jtok *t = p->t;
	if (t[i].type != JT_OBJ)
		return "a return/argument value must be an object {\"type\":...}";
	int ti = -1, vi = -1;
	for (uint32_t k = i + 1; k < t[i].end; k = t[k + 1].end) {
		const struct jtok *kt = &t[k];
		if (key_is(kt, "type", 4))
			ti = (int)k + 1;
		else if (key_is(kt, "value", 5))
			vi = (int)k + 1;
		else if (key_is(kt, "yield", 5))
			v->yield = t[k + 1].type == JT_TRUE;
		else if (key_is(kt, "truncated", 9))
			v->truncated = t[k + 1].type == JT_TRUE;
	}
	if (ti < 0 || t[ti].type != JT_STR)
		return "value without a \"type\" string";
	return set_value(e, v, &t[ti], vi < 0 ? NULL : &t[vi]);
}

/* ---- leaktrace NODE -------------------------------------------------------- */

static const char *fill_node(struct lt_exec *e, const struct jparse *p, uint32_t i, struct lt_node **out,
			     uint32_t *calls)
{
	const struct jtok *t = p->t;
	*calls = 0;
	if (t[i].type != JT_OBJ)
		return "a call node must be an object";
	struct lt_node *n = NULL;
	const char *err = NULL;
	/* one pass over the members */
	const char *fn = NULL;
	uint32_t fnlen = 0;
	for (uint32_t k = i + 1; k < t[i].end; k = t[k + 1].end) {
		uint32_t v = k + 1;
		if (key_is(&t[k], "fn", 2)) {
			if (t[v].type != JT_STR)
				return "node \"fn\" must be a string";
			fn = t[v].s;
			fnlen = t[v].len;
		}
	}
	if (!fn)
		return "call node without \"fn\"";
	n = lt_node_new(e, lt_intern_n(fn, fnlen));
	for (uint32_t k = i + 1; k < t[i].end; k = t[k + 1].end) {
		const char *key = t[k].s;
		uint32_t v = k + 1;
		switch (key[0]) {
		case 'f':
			if (key_is(&t[k], "file", 4)) {
				if (t[v].type != JT_STR)
					return "node \"file\" must be a string";
				n->file = lt_intern_n(t[v].s, t[v].len);
			}
			break;
		case 'l':
			if (key_is(&t[k], "line", 4)) {
				int64_t l;
				if (jp_int64(&t[v], &l) || l < 0 || l > INT32_MAX)
					return "node \"line\" must be a non-negative integer";
				n->line = (int32_t)l;
			}
			break;
		case 'r':
			if (key_is(&t[k], "ret", 3)) {
				if ((err = parse_value(e, p, v, &n->ret)))
					return err;
				n->has_ret = true;
			}
			break;
		case 'd':
			if (key_is(&t[k], "dur_ns", 6)) {
				int64_t d;
				if (jp_int64(&t[v], &d) || d < 0)
					return "node \"dur_ns\" must be a non-negative integer";
				n->dur_ns = d;
			}
			break;
		case 'a':
			if (!strcmp(key, "args")) {
				if (t[v].type != JT_ARR)
					return "node \"args\" must be a list";
				n->nargs = t[v].n;
				n->args = lt_arena_alloc(&e->arena, (n->nargs ? n->nargs : 1) * sizeof(struct lt_value));
				uint32_t a = v + 1;
				for (uint32_t j = 0; j < n->nargs; j++, a = t[a].end)
					if ((err = parse_value(e, p, a, &n->args[j])))
						return err;
			}
			break;
		case 't':
			if (!strcmp(key, "truncated_calls")) {
				int64_t c;
				if (jp_int64(&t[v], &c) || c < 0 || c > UINT32_MAX)
					return "node \"truncated_calls\" must be a non-negative integer";
				n->truncated_calls = (uint32_t)c;
			}
			break;
		case 'c':
			if (key_is(&t[k], "calls", 5)) {
				if (t[v].type != JT_ARR)
					return "node \"calls\" must be a list";
				*calls = v;
			}
			break;
		}
	}
	*out = n;
	return NULL;
}

/* room on the builders' stack for an entry at depth */
static void bst_reserve(struct lt_reader *r, size_t depth)
{
	if (depth < r->bcap)
		return;
	r->bcap = r->bcap ? r->bcap * 2 : 256;
	r->bst = realloc(r->bst, r->bcap * sizeof(*r->bst));
	if (!r->bst)
		die_oom();
}

typedef const char *(*node_fill_fn)(struct lt_exec *e, const struct jparse *p, uint32_t i,
				    struct lt_node **out, uint32_t *children);

/* build, without recursion, the children of parent listed in the array
 * token arr (JSONL "calls", or the paper's list), each with fill */
static const char *build_children(struct lt_reader *r, struct lt_exec *e, const struct jparse *p,
				  struct lt_node *parent, uint32_t arr, node_fill_fn fill)
{
	size_t depth = 0;
	if (!p->t[arr].n)
		return NULL;
	bst_reserve(r, depth);
	r->bst[depth++] = (struct bstack){ parent, arr + 1, p->t[arr].n };
	while (depth) {
		struct bstack *b = &r->bst[depth - 1];
		if (!b->left) {
			depth--;
			continue;
		}
		uint32_t c = b->cur, child;
		b->cur = p->t[c].end;
		b->left--;
		struct lt_node *n;
		const char *err = fill(e, p, c, &n, &child);
		if (err)
			return err;
		lt_node_append(b->node, n);
		if (child && p->t[child].n) {
			bst_reserve(r, depth);
			r->bst[depth++] = (struct bstack){ n, child + 1, p->t[child].n };
		}
	}
	return NULL;
}

/* the tree under token i */
static const char *build_tree(struct lt_reader *r, struct lt_exec *e, const struct jparse *p, uint32_t i,
			      struct lt_node **root)
{
	uint32_t calls;
	const char *err = fill_node(e, p, i, root, &calls);
	if (err || !calls)
		return err;
	return build_children(r, e, p, *root, calls, fill_node);
}

static const char *get_i64(const struct jparse *p, uint32_t obj, const char *k, int64_t *out, bool *present)
{
	int i = jp_get(p, obj, k);
	*present = i >= 0;
	if (i < 0)
		return NULL;
	if (jp_int64(&p->t[i], out)) {
		static __thread char m[96];
		snprintf(m, sizeof(m), "\"%s\" must be an integer", k);
		return m;
	}
	return NULL;
}

/* "start_ns": a non-negative integer (strtoull saturates what is too big) */
static bool start_ns_of(const struct jtok *t, uint64_t *out)
{
	char b[32];

	if (t->type != JT_NUM || t->len >= sizeof(b) || !jp_is_integer_text(t) || t->s[0] == '-')
		return false;
	memcpy(b, t->s, t->len);
	b[t->len] = 0;
	*out = strtoull(b, NULL, 10);
	return true;
}

/* a synthetic root is never observed: its stray fields are dropped */
static void drop_synthetic_fields(struct lt_exec *e)
{
	if (lt_node_synthetic_root(e->root)) {
		e->root->has_ret = false;
		e->root->dur_ns = -1;
	}
}

static const char *parse_exec(struct lt_reader *r, struct lt_exec **out)
{
	const struct jparse *p = &r->jp;
	struct lt_exec *e = lt_exec_new();
	const char *err;
	int64_t v;
	bool has;
	if ((err = get_i64(p, 0, "id", &v, &has)))
		goto fail;
	e->id = has ? v : r->execs_in_file;
	{
		/* process and thread ids: 0..INT32_MAX, refused otherwise */
		static const char *const idk[4] = { "pid", "tid", "nspid", "nstid" };
		static const char *const range_err[4] = {
			"\"pid\" out of range", "\"tid\" out of range",
			"\"nspid\" out of range", "\"nstid\" out of range",
		};
		int32_t *idv[4] = { &e->pid, &e->tid, &e->nspid, &e->nstid };

		for (int k = 0; k < 4; k++) {
			if ((err = get_i64(p, 0, idk[k], &v, &has)))
				goto fail;
			if (has && (v < 0 || v > INT32_MAX)) {
				err = range_err[k];
				goto fail;
			}
			*idv[k] = has ? (int32_t)v : 0;
		}
	}
	int si = jp_get(p, 0, "start_ns");
	if (si >= 0 && !start_ns_of(&p->t[si], &e->start_ns)) {
		err = "\"start_ns\" must be a non-negative integer";
		goto fail;
	}
	if ((err = get_i64(p, 0, "dur_ns", &v, &has)))
		goto fail;
	if (has && v < 0) {
		err = "\"dur_ns\" must not be negative";
		goto fail;
	}
	e->dur_ns = has ? v : -1;
	int ci = jp_get(p, 0, "complete");
	if (ci < 0 || (p->t[ci].type != JT_TRUE && p->t[ci].type != JT_FALSE)) {
		err = ci < 0 ? "exec line without \"complete\"" : "\"complete\" must be true or false";
		goto fail;
	}
	e->complete = p->t[ci].type == JT_TRUE;
	int ri = jp_get(p, 0, "root");
	if (ri < 0) {
		err = "exec line without \"root\"";
		goto fail;
	}
	if ((err = build_tree(r, e, p, (uint32_t)ri, &e->root)))
		goto fail;
	drop_synthetic_fields(e);
	*out = e;
	return NULL;
fail:
	lt_exec_free(e);
	return err;
}

/* ---- fast path: exec lines as lt_writer_exec writes them ------------------ */
/*
 * Nearly every line of a trace is an execution that lt_writer_exec wrote:
 * compact, its keys in one order. Turning such a line into tokens
 * (jp_parse) and walking them (parse_exec) was half of what analyze spent,
 * so fast_exec builds the tree straight from the bytes. It takes only that
 * shape - each object's members in the order lt_writer_exec, node_fields
 * and lt_json_value write them, each at most once, no whitespace, nothing
 * malformed - and reads strings, numbers and values with the generic
 * path's own helpers (jp_unescape, jp_number_end, jp_int64, set_value,
 * start_ns_of), so that what it builds is what the generic path builds.
 * On anything else it gives up, the line unchanged, and the generic path
 * reads it, or reports what is wrong with it, as before.
 */
/* the fast path's helpers are inlined into the one loop that walks a line:
 * called, they cost as much again (gcc keeps the bigger ones out of line) */
#define FAST_INLINE static inline __attribute__((always_inline))

/* the line being read: q moves, end is its NUL (every scan below stops at
 * a NUL, which is never what it looks for); e the execution being built */
struct fast {
	const char *q, *end;
	struct lt_exec *e;
};

/* q[0..n) == lit[0..n) for 4 <= n <= 24, n a constant: compares of whole
 * words, which the compiler inlines (for memcmp it emits calls) */
FAST_INLINE bool same_bytes(const char *q, const char *lit, size_t n)
{
	uint64_t a, b;
	uint32_t c, d;

	if (n < 8) {
		memcpy(&c, q, 4);
		memcpy(&d, lit, 4);
		if (c != d)
			return false;
		memcpy(&c, q + n - 4, 4);
		memcpy(&d, lit + n - 4, 4);
		return c == d;
	}
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&a, q + i, 8);
		memcpy(&b, lit + i, 8);
		if (a != b)
			return false;
	}
	memcpy(&a, q + n - 8, 8);
	memcpy(&b, lit + n - 8, 8);
	return a == b;
}

/* f->q is at the text lit (a string constant): moved past it */
#define FAST_LIT(f, lit)							\
	((size_t)((f)->end - (f)->q) >= sizeof(lit) - 1 &&			\
	 same_bytes((f)->q, lit, sizeof(lit) - 1) && ((f)->q += sizeof(lit) - 1, true))

/* the next member of the object at f->q is "name": f->q moved to its
 * value. Members are taken in the writer's order, each checked once, so
 * another order, another key or a repeated one leaves a ',' where the
 * object should end. */
#define FAST_MEMBER(f, name) FAST_LIT(f, ",\"" name "\":")

/* bytes that end a string for fast_str: quote, backslash, control
 * characters (NUL among them) */
static bool str_stop[256];

static void init_str_stop(void)
{
	for (int c = 0; c < 0x20; c++)
		str_stop[c] = true;
	str_stop['"'] = str_stop['\\'] = true;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* the first byte at q that ends a string for fast_str */
FAST_INLINE const unsigned char *str_stop_at(const unsigned char *q, const char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* 8 bytes at a time while they are in the line: a flag in each byte
	 * below 0x20, equal to '"' or to '\\'; a flag can be wrong only
	 * above a right one, so the lowest is the first stop */
	while (end - (const char *)q >= 8) {
		uint64_t x, qt, bs, stop;

		memcpy(&x, q, 8);
		qt = x ^ (ONES * '"');
		bs = x ^ (ONES * '\\');
		stop = ((x - ONES * 0x20) & ~x) | ((qt - ONES) & ~qt) | ((bs - ONES) & ~bs);
		stop &= HIGHS;
		if (stop)
			return q + (__builtin_ctzll(stop) >> 3);
		q += 8;
	}
#endif
	while (!str_stop[*q])
		q++;
	return q;
}

/* how fast_str read a string */
enum { STR_NONE, STR_IN_LINE, STR_DECODED };

/* the rest of fast_str for a string with escapes (s its text, q its first
 * backslash): decoded as jp_parse decodes it, into the execution's arena */
static int fast_escaped(struct fast *f, struct jtok *t, const unsigned char *s, const unsigned char *q)
{
	/* the closing quote: the first one that no backslash escapes */
	while (*q == '\\') {
		if (!q[1])
			return STR_NONE;
		q = str_stop_at(q + 2, f->end);
	}
	if (*q != '"')
		return STR_NONE;
	/* decoding never makes a string longer */
	char *buf = lt_arena_alloc(&f->e->arena, (size_t)(q - s) + 1), *o = buf;
	const char *at = (const char *)s;

	if (jp_unescape(&at, &o) || at != (const char *)q)
		return STR_NONE;
	t->type = JT_STR;
	t->s = buf;
	t->len = (uint32_t)(o - buf);
	f->q = at + 1;
	return STR_DECODED;
}

/* a string: STR_IN_LINE when the token is its text in the line (no escapes),
 * STR_DECODED when it had escapes, STR_NONE for anything but a string */
FAST_INLINE int fast_str(struct fast *f, struct jtok *t)
{
	const unsigned char *q = (const unsigned char *)f->q, *s;

	if (*q != '"')
		return STR_NONE;
	s = q + 1;
	q = str_stop_at(s, f->end);
	if (*q != '"')
		return *q == '\\' ? fast_escaped(f, t, s, q) : STR_NONE;
	t->type = JT_STR;
	t->s = (char *)s;
	t->len = (uint32_t)(q - s);
	f->q = (const char *)q + 1;
	return STR_IN_LINE;
}

/*
 * lt_intern_n of a node's "fn" or "file". The same few names come back on
 * every line, and lt_intern_n hashes them byte by byte (a chain of
 * multiplications) before it looks in its own cache; this cache in front
 * takes their bytes 8 at a time instead.
 */
FAST_INLINE const char *fast_intern(struct lt_reader *r, const struct fast *f, const char *s, uint32_t len)
{
	uint64_t head = 0, tail = 0;

	if (len >= 8) {
		memcpy(&head, s, 8);
		memcpy(&tail, s + len - 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	} else if (len && f->end - s >= 8) {	/* its bytes are the low ones */
		memcpy(&head, s, 8);
		head &= ~0ULL >> (64 - 8 * len);
#endif
	} else {
		for (uint32_t i = 0; i < len; i++)
			head |= (uint64_t)(unsigned char)s[i] << (i * 8);
	}
	uint64_t h = (head ^ (tail * 0xff51afd7ed558ccdULL) ^ len) * 0x9e3779b97f4a7c15ULL;
	struct name_slot *slot = &r->names[h >> (64 - NAME_CACHE_BITS)];

	if (slot->s && slot->len == len && slot->head == head && slot->tail == tail &&
	    (len <= 16 || !memcmp(slot->s, s, len)))
		return slot->s;
	*slot = (struct name_slot){ lt_intern_n(s, len), head, tail, len };
	return slot->s;
}

/* a node's "fn" or "file", interned */
FAST_INLINE bool fast_name(struct lt_reader *r, struct fast *f, const char **out)
{
	struct jtok t;

	switch (fast_str(f, &t)) {
	case STR_IN_LINE:
		*out = fast_intern(r, f, t.s, t.len);
		return true;
	case STR_DECODED:	/* not in the line: fast_intern may not read past it */
		*out = lt_intern_n(t.s, t.len);
		return true;
	}
	return false;
}

static bool fast_num(struct fast *f, struct jtok *t)
{
	const char *end = jp_number_end(f->q);

	if (!end)
		return false;
	t->type = JT_NUM;
	t->s = (char *)f->q;
	t->len = (uint32_t)(end - f->q);
	f->q = end;
	return true;
}

/* an integer as the writer writes it: -?digits, at most 18 of them (which
 * jp_int64 reads the same way), not followed by more of a number; false,
 * f->q unchanged, for any other number text */
FAST_INLINE bool plain_int(struct fast *f, int64_t *out)
{
	const char *s = f->q + (*f->q == '-'), *q = s;
	uint64_t v = 0;
	unsigned d;

	for (; (d = (unsigned char)*q - '0') < 10; q++)
		v = v * 10 + d;
	if (q == s || q - s > 18 || (*s == '0' && q - s > 1) || *q == '.' || (*q | 0x20) == 'e')
		return false;
	*out = s > f->q ? -(int64_t)v : (int64_t)v;
	f->q = q;
	return true;
}

/* an integer in [min, max], read as get_i64 and fill_node read one */
FAST_INLINE bool fast_int(struct fast *f, int64_t min, int64_t max, int64_t *out)
{
	struct jtok t;

	if (!plain_int(f, out) && (!fast_num(f, &t) || jp_int64(&t, out)))
		return false;
	return *out >= min && *out <= max;
}

/* true, false, null: their token type; -1 for anything else */
static int fast_literal(struct fast *f)
{
	if (!strncmp(f->q, "true", 4))
		return f->q += 4, JT_TRUE;
	if (!strncmp(f->q, "false", 5))
		return f->q += 5, JT_FALSE;
	if (!strncmp(f->q, "null", 4))
		return f->q += 4, JT_NULL;
	return -1;
}

static bool fast_bool(struct fast *f, bool *out)
{
	int t = fast_literal(f);

	*out = t == JT_TRUE;
	return t == JT_TRUE || t == JT_FALSE;
}

/* RET or args element: {"type":S[,"value":V][,"truncated":B][,"yield":B]}
 * with V a string, number, true, false or null */
FAST_INLINE bool fast_value(struct fast *f, struct lt_value *v)
{
	struct jtok tt, vt;
	bool has_value = false, is_int = false;
	int64_t iv = 0;

	if (!FAST_LIT(f, "{\"type\":") || !fast_str(f, &tt))
		return false;
	if (FAST_MEMBER(f, "value")) {
		const char *s = f->q;

		has_value = true;
		if (*s == '"') {
			if (!fast_str(f, &vt))
				return false;
		} else if (*s == 't' || *s == 'f' || *s == 'n') {
			int lit = fast_literal(f);
			if (lit < 0)
				return false;
			vt = (struct jtok){ .type = (uint8_t)lit };
		} else if (plain_int(f, &iv)) {
			is_int = true;
			vt = (struct jtok){ .type = JT_NUM, .s = (char *)s, .len = (uint32_t)(f->q - s) };
		} else if (!fast_num(f, &vt)) {
			return false;
		}
	}
	if (FAST_MEMBER(f, "truncated") && !fast_bool(f, &v->truncated))
		return false;
	if (FAST_MEMBER(f, "yield") && !fast_bool(f, &v->yield))
		return false;
	if (*f->q++ != '}')
		return false;
	/* the most common value: what set_value makes of it, without reading
	 * the number again */
	if (is_int && type_name(tt.s, tt.len) == T_INT) {
		v->type = T_INT;
		v->kind = LT_V_INT;
		v->u.i = iv;
		return true;
	}
	return !set_value(f->e, v, &tt, has_value ? &vt : NULL);
}

/* "args":[RET,...] of n; the values are gathered in r->args until their
 * number is known */
static bool fast_args(struct lt_reader *r, struct fast *f, struct lt_node *n)
{
	uint32_t na = 0;

	if (*f->q++ != '[')
		return false;
	while (*f->q != ']') {
		if (na && *f->q++ != ',')
			return false;
		if (na == r->acap) {
			r->acap = r->acap ? r->acap * 2 : 16;
			r->args = lt_xrealloc(r->args, r->acap * sizeof(*r->args));
		}
		memset(&r->args[na], 0, sizeof(*r->args));
		if (!fast_value(f, &r->args[na++]))
			return false;
	}
	f->q++;
	n->nargs = na;
	n->args = lt_arena_alloc(&f->e->arena, (na ? na : 1) * sizeof(struct lt_value));
	if (na)
		memcpy(n->args, r->args, na * sizeof(*n->args));
	return true;
}

/* the NODE at f->q with its whole subtree, as f->e's root; without
 * recursion, the nodes whose "calls" are open on r->bst */
static bool fast_tree(struct lt_reader *r, struct fast *f)
{
	size_t depth = 0;
	struct lt_node *n;
	const char *fn;
	int64_t v;

next_node:
	if (!FAST_LIT(f, "{\"fn\":") || !fast_name(r, f, &fn))
		return false;
	n = lt_node_new(f->e, fn);
	if (depth)
		lt_node_append(r->bst[depth - 1].node, n);
	else
		f->e->root = n;
	if (FAST_MEMBER(f, "file") && !fast_name(r, f, &n->file))
		return false;
	if (FAST_MEMBER(f, "line")) {
		if (!fast_int(f, 0, INT32_MAX, &v))
			return false;
		n->line = (int32_t)v;
	}
	if (FAST_MEMBER(f, "ret")) {
		if (!fast_value(f, &n->ret))
			return false;
		n->has_ret = true;
	}
	if (FAST_MEMBER(f, "dur_ns") && !fast_int(f, 0, INT64_MAX, &n->dur_ns))
		return false;
	if (FAST_MEMBER(f, "args") && !fast_args(r, f, n))
		return false;
	if (FAST_MEMBER(f, "truncated_calls")) {
		if (!fast_int(f, 0, UINT32_MAX, &v))
			return false;
		n->truncated_calls = (uint32_t)v;
	}
	if (FAST_MEMBER(f, "calls")) {
		if (*f->q++ != '[')
			return false;
		if (*f->q != ']') {
			/* near jp_parse's nesting limit (two containers a
			 * level) the generic path decides */
			if (2 * (depth + 4) > JSON_MAX_DEPTH)
				return false;
			bst_reserve(r, depth);
			r->bst[depth++].node = n;
			goto next_node;
		}
		f->q++;
	}
	/* n is complete: then a sibling, or the end of its parent's "calls"
	 * (the parent's last member: the parent is complete too), or the end
	 * of the tree */
	for (;;) {
		if (*f->q++ != '}')
			return false;
		if (!depth)
			return true;
		if (*f->q == ',') {
			f->q++;
			goto next_node;
		}
		if (*f->q++ != ']')
			return false;
		depth--;
	}
}

/* an exec line member that is a process or thread id (0..INT32_MAX) */
FAST_INLINE bool fast_id(struct fast *f, int32_t *out)
{
	int64_t v;

	if (!fast_int(f, 0, INT32_MAX, &v))
		return false;
	*out = (int32_t)v;
	return true;
}

/* line[0..len), which starts with {"type":"exec": true and *out built, or
 * false for the generic path to read it */
static bool fast_exec(struct lt_reader *r, const char *line, size_t len, struct lt_exec **out)
{
	struct lt_exec *e = lt_exec_new();
	struct fast f = { line + 14, line + len, e };
	struct jtok t;

	e->id = r->execs_in_file;
	if (FAST_MEMBER(&f, "id") && !fast_int(&f, INT64_MIN, INT64_MAX, &e->id))
		goto generic;
	if ((FAST_MEMBER(&f, "pid") && !fast_id(&f, &e->pid)) ||
	    (FAST_MEMBER(&f, "tid") && !fast_id(&f, &e->tid)) ||
	    (FAST_MEMBER(&f, "nspid") && !fast_id(&f, &e->nspid)) ||
	    (FAST_MEMBER(&f, "nstid") && !fast_id(&f, &e->nstid)))
		goto generic;
	/* not read back */
	if ((FAST_MEMBER(&f, "cmdline") && !fast_str(&f, &t)) || (FAST_MEMBER(&f, "cgroup") && !fast_str(&f, &t)))
		goto generic;
	if (FAST_MEMBER(&f, "start_ns") && (!fast_num(&f, &t) || !start_ns_of(&t, &e->start_ns)))
		goto generic;
	if (FAST_MEMBER(&f, "dur_ns") && !fast_int(&f, 0, INT64_MAX, &e->dur_ns))
		goto generic;
	/* "complete" and "root" are required */
	if (!FAST_MEMBER(&f, "complete") || !fast_bool(&f, &e->complete) || !FAST_MEMBER(&f, "root") ||
	    !fast_tree(r, &f) || *f.q != '}' || f.q + 1 != f.end)
		goto generic;
	drop_synthetic_fields(e);
	r->fast_lines++;
	*out = e;
	return true;
generic:
	lt_exec_free(e);
	return false;
}

static const char *parse_header(struct lt_reader *r)
{
	const struct jparse *p = &r->jp;
	const struct jtok *t = p->t;
	struct lt_header *h = &r->hdr;
	free(h->argv);
	memset(h, 0, sizeof(*h));
	int fi = jp_get(p, 0, "format");
	int64_t f;
	if (fi < 0 || jp_int64(&t[fi], &f))
		return "header without an integer \"format\"";
	if (f != 1) {
		static __thread char m[128];
		snprintf(m, sizeof(m), "trace format %lld is not supported (this leaktrace reads format 1); upgrade leaktrace",
			 (long long)f);
		return m;
	}
	h->format = 1;
	static const char *keys[] = { "tool", "python", "root", "start", "mechanism" };
	const char **dst[] = { &h->tool, &h->python, &h->root, &h->start, &h->mechanism };
	for (int k = 0; k < 5; k++) {
		int i = jp_get(p, 0, keys[k]);
		if (i >= 0 && t[i].type == JT_STR)
			*dst[k] = lt_intern_n(t[i].s, t[i].len);
	}
	int64_t pid;
	int pi = jp_get(p, 0, "pid");
	if (pi >= 0 && !jp_int64(&t[pi], &pid))
		h->pid = (int32_t)pid;
	int ai = jp_get(p, 0, "argv");
	if (ai >= 0 && t[ai].type == JT_ARR) {
		h->argv = calloc(t[ai].n + 1, sizeof(char *));
		if (!h->argv)
			die_oom();
		uint32_t a = ai + 1;
		for (uint32_t j = 0; j < t[ai].n; j++, a = t[a].end)
			if (t[a].type == JT_STR)
				h->argv[h->argc++] = lt_intern_n(t[a].s, t[a].len);
	}
	r->has_hdr = true;
	return NULL;
}

static void parse_stats(struct lt_reader *r)
{
	const struct jparse *p = &r->jp;
	static const char *keys[] = { "execs", "calls", "lost_events", "incomplete_execs", "truncated_strings",
				      "excluded_calls", "read_failures" };
	uint64_t *dst[] = { &r->stats.execs, &r->stats.calls, &r->stats.lost_events, &r->stats.incomplete_execs,
			    &r->stats.truncated_strings, &r->stats.excluded_calls, &r->stats.read_failures };
	for (int k = 0; k < 7; k++) {
		int i = jp_get(p, 0, keys[k]);
		int64_t v;
		if (i >= 0 && !jp_int64(&p->t[i], &v) && v > 0)
			*dst[k] += (uint64_t)v;
	}
}

static int next_jsonl(struct lt_reader *r, struct lt_exec **out)
{
	char *line;
	size_t len;
	bool partial;
	for (;;) {
		if (r->abort && __atomic_load_n(r->abort, __ATOMIC_RELAXED))
			return 0;
		int rc = next_line(r, &line, &len, &partial);
		if (rc <= 0) {
			r->own_line = false;
			if (rc == 0 && !r->saw_trailer)
				if (speaks(r))
					fprintf(stderr, "leaktrace: warning: %s: no stats trailer (recorder stopped early?); read %lld executions\n",
					r->path, r->execs_in_file);
			return rc;
		}
		size_t k = 0;
		while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
			k++;
		if (k == len)
			continue;	/* blank line */
		r->own_line = false;
		bool counted = false;
		if (r->saw_header && len - k >= 14 && !memcmp(line + k, "{\"type\":\"exec\"", 14)) {
			/* an execution as leaktrace writes it: another part's? */
			counted = true;
			if (r->exec_seq++ % r->nparts != r->part) {
				r->execs_in_file++;
				continue;
			}
			r->own_line = true;
			/* ours: straight from its bytes when it has the
			 * writer's shape, else (or when that fails) below */
			if (!k && !r->generic_only && fast_exec(r, line, len, out)) {
				r->line = r->lineno;
				r->execs_in_file++;
				return 1;
			}
		}
		if (jp_parse(&r->jp, line, len) < 0) {
			if (partial && !r->saw_trailer) {
				if (speaks(r))
					fprintf(stderr, "leaktrace: warning: %s:%lld: last line is cut short (recorder killed?); ignored\n",
					r->path, r->lineno);
				continue;
			}
			return bad(r, r->lineno, "%s", r->jp.err);
		}
		const struct jtok *t = r->jp.t;
		if (t[0].type != JT_OBJ)
			return bad(r, r->lineno, "%s", "each line must be a JSON object");
		int ti = jp_get(&r->jp, 0, "type");
		if (ti < 0 || t[ti].type != JT_STR)
			return bad(r, r->lineno, "%s", "line without a \"type\" string");
		const char *type = t[ti].s;
		if (!r->saw_header && strcmp(type, "header"))
			return bad(r, r->lineno, "%s", "first line must be the header {\"type\":\"header\",\"format\":1,...}");
		if (!strcmp(type, "header")) {
			const char *err = parse_header(r);
			if (err)
				return bad(r, r->lineno, "%s", err);
			r->saw_header = true;
		} else if (!strcmp(type, "exec")) {
			if (!counted && r->exec_seq++ % r->nparts != r->part) {
				r->execs_in_file++;
				continue;
			}
			r->own_line = true;
			const char *err = parse_exec(r, out);
			if (err)
				return bad(r, r->lineno, "%s", err);
			r->line = r->lineno;
			r->execs_in_file++;
			return 1;
		} else if (!strcmp(type, "stats")) {
			parse_stats(r);
			r->saw_trailer = true;
		}
		/* other line types: newer formats, skipped */
	}
}

/* ---- the paper's format ---------------------------------------------------- */
static const char *paper_ret(struct lt_exec *e, const char *s, size_t n, struct lt_value *v)
{
	const char *colon = memchr(s, ':', n);
	size_t tl = colon ? (size_t)(colon - s) : n;
	v->type = lt_intern_n(s, tl);
	if (!colon)
		return NULL;
	const char *val = colon + 1;
	size_t vl = n - tl - 1;
	char b[64];
	if (v->type == T_STR) {
		v->kind = LT_V_STR;
		v->s = lt_arena_strndup(&e->arena, val, vl);
		v->slen = (uint32_t)vl;
	} else if (v->type == T_INT) {
		if (!decimal_text(val, vl))
			return "\"return\": int value is not a decimal integer";
		errno = 0;
		if (vl < sizeof(b)) {
			memcpy(b, val, vl);
			b[vl] = 0;
			long long x = strtoll(b, NULL, 10);
			if (!errno) {
				v->kind = LT_V_INT;
				v->u.i = x;
				return NULL;
			}
		}
		v->kind = LT_V_BIGINT;
		v->s = lt_arena_strndup(&e->arena, val, vl);
		v->slen = (uint32_t)vl;
	} else if (v->type == T_FLOAT) {
		if (vl == 0 || vl >= sizeof(b))
			return "\"return\": bad float value";
		memcpy(b, val, vl);
		b[vl] = 0;
		char *end;
		v->u.f = strtod(b, &end);
		if (*end)
			return "\"return\": bad float value";
		v->kind = LT_V_FLOAT;
	} else if (v->type == T_BOOL) {
		if (vl == 4 && !memcmp(val, "True", 4))
			v->u.b = true;
		else if (vl == 5 && !memcmp(val, "False", 5))
			v->u.b = false;
		else
			return "\"return\": bool value must be True or False";
		v->kind = LT_V_BOOL;
	}
	/* other types (list:[...], ...): type only, as SPEC 2 says */
	return NULL;
}

static const char *paper_node(struct lt_exec *e, const struct jparse *p, uint32_t i, struct lt_node **out,
			      uint32_t *child)
{
	const struct jtok *t = p->t;
	*child = 0;
	if (t[i].type != JT_OBJ)
		return "each call must be an object {\"name\",\"child\",\"return\"|\"time\"}";
	int ni = jp_get(p, i, "name");
	if (ni < 0 || t[ni].type != JT_STR)
		return "call without a \"name\" string";
	size_t nl = t[ni].len;
	if (nl >= 2 && t[ni].s[nl - 2] == '(' && t[ni].s[nl - 1] == ')')
		nl -= 2;
	struct lt_node *n = lt_node_new(e, lt_intern_n(t[ni].s, nl));
	int ri = jp_get(p, i, "return");
	if (ri >= 0) {
		if (t[ri].type != JT_STR)
			return "\"return\" must be a string \"type\" or \"type:value\"";
		const char *err = paper_ret(e, t[ri].s, t[ri].len, &n->ret);
		if (err)
			return err;
		n->has_ret = true;
	}
	int tm = jp_get(p, i, "time");
	if (tm >= 0) {
		double us;
		if (t[tm].type != JT_NUM || jp_double(&t[tm], &us) || us < 0)
			return "\"time\" must be a non-negative number of microseconds";
		if (!(us <= INT64_MAX / 1000.0))
			return "\"time\" out of range";
		n->dur_ns = llround(us * 1000.0);
	}
	int ci = jp_get(p, i, "child");
	if (ci >= 0) {
		if (t[ci].type != JT_ARR)
			return "\"child\" must be a list";
		*child = (uint32_t)ci;
	}
	*out = n;
	return NULL;
}

static const char *build_paper(struct lt_reader *r, struct lt_exec *e, const struct jparse *p)
{
	if (p->t[0].type != JT_ARR)
		return "a paper trace must be a JSON list of calls";
	e->root = lt_node_new(e, lt_intern("<execution>"));
	return build_children(r, e, p, e->root, 0, paper_node);
}

static int next_paper(struct lt_reader *r, struct lt_exec **out)
{
	if (r->done_file)
		return 0;
	r->done_file = true;
	/* one execution per file: files of other parts are not even read */
	r->own_line = true;
	if (r->exec_seq++ % r->nparts != r->part) {
		r->paper_seq++;
		return 0;
	}
	while (!r->eof)
		if (fill(r) < 0)
			return -1;
	if (jp_parse(&r->jp, r->buf + r->pos, r->end - r->pos) < 0) {
		/* turn the byte offset into a line number */
		long long line = r->lineno + 1;
		for (size_t i = 0; i < r->jp.err_off && r->pos + i < r->end; i++)
			if (r->buf[r->pos + i] == '\n')
				line++;
		return bad(r, line, "%s", r->jp.err);
	}
	struct lt_exec *e = lt_exec_new();
	const char *err = build_paper(r, e, &r->jp);
	if (err) {
		lt_exec_free(e);
		return bad(r, r->lineno + 1, "%s", err);
	}
	/* id: the file's number when its name is one (0.json), else a sequence */
	const char *base = strrchr(r->path, '/');
	base = base ? base + 1 : r->path;
	char *end;
	long long id = strtoll(base, &end, 10);
	e->id = (end != base && *end == '.') ? id : r->paper_seq;
	r->paper_seq++;
	e->complete = true;
	r->line = r->lineno + 1;
	*out = e;
	return 1;
}

int lt_reader_next(struct lt_reader *r, struct lt_exec **out)
{
	init_types();
	*out = NULL;
	for (;;) {
		if (!r->gz) {
			int rc = open_next(r);
			if (rc <= 0)
				return rc;
		}
		int rc = r->kind == K_PAPER ? next_paper(r, out) : next_jsonl(r, out);
		if (rc != 0)
			return rc;
		close_file(r);
	}
}

void lt_reader_set_fast(struct lt_reader *r, bool on)
{
	r->generic_only = !on;
}

long long lt_reader_fast_lines(const struct lt_reader *r)
{
	return r->fast_lines;
}

const char *lt_reader_where(const struct lt_reader *r)
{
	struct lt_reader *m = (struct lt_reader *)r;
	snprintf(m->where, sizeof(m->where), "%s:%lld", r->path ? r->path : "?", r->line);
	return m->where;
}

const struct lt_header *lt_reader_header(const struct lt_reader *r)
{
	return r->has_hdr && r->kind == K_JSONL ? &r->hdr : NULL;
}

const struct lt_stats *lt_reader_stats(const struct lt_reader *r)
{
	return &r->stats;
}

bool lt_reader_is_paper(const struct lt_reader *r)
{
	return r->kind == K_PAPER;
}
