/* SPDX-License-Identifier: MIT */
/*
 * In-memory model of a leaktrace trace (FORMAT.md §1, §2), shared by the
 * recorder (which builds executions from probe events) and by every reader
 * and analysis (which parse them back).
 *
 * Strings that repeat across a trace (function names, files, type names) are
 * interned once for the life of the process (lt_intern); everything that
 * belongs to one execution (nodes, value strings) lives in that execution's
 * arena and is freed with it (lt_exec_free).
 */
#ifndef LT_TRACE_H
#define LT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- arena: bump allocator, freed as a whole -------------------------- */
struct lt_arena_chunk;
struct lt_arena {
	struct lt_arena_chunk *head;
	size_t used_total;
};
void *lt_arena_alloc(struct lt_arena *a, size_t size);	/* zeroed, 8-aligned */
char *lt_arena_strndup(struct lt_arena *a, const char *s, size_t n);
void lt_arena_free(struct lt_arena *a);

/* ---- allocation that cannot fail: "out of memory" and exit 1 -------- */
void *lt_xcalloc(size_t n, size_t size);
void *lt_xrealloc(void *p, size_t size);

/* ---- interned strings: equal strings give the same pointer ------------ */
const char *lt_intern(const char *s);
const char *lt_intern_n(const char *s, size_t n);
/* only for pointers returned by lt_intern*: stored length and hash */
size_t lt_intern_len(const char *interned);
uint32_t lt_intern_hash(const char *interned);
/* the string as JSON, quoted and escaped (len: its length, no NUL) */
const char *lt_intern_json(const char *interned, size_t *len);
uint32_t lt_hash_bytes(const void *p, size_t n);

/* ---- values (RET and args) -------------------------------------------- */
enum lt_vkind {
	LT_V_NONE = 0,	/* type only: no "value" key */
	LT_V_INT,	/* u.i */
	LT_V_BIGINT,	/* s: decimal digits with optional '-', too big for int64 */
	LT_V_FLOAT,	/* u.f (may be nan/inf) */
	LT_V_BOOL,	/* u.b */
	LT_V_STR,	/* s/slen: UTF-8 text (may contain NUL) */
	LT_V_HASH,	/* s: "h:<hex>" from --hash-values */
};

struct lt_value {
	const char *type;	/* interned tp_name; "<raise>" for an exception exit */
	uint8_t kind;		/* enum lt_vkind */
	bool yield;		/* a generator/coroutine run that ended in yield */
	bool truncated;		/* str cut at --str-len */
	union {
		int64_t i;
		double f;
		bool b;
	} u;
	const char *s;		/* arena-owned for STR/BIGINT/HASH */
	uint32_t slen;
};

/* ---- call tree --------------------------------------------------------- */
struct lt_node {
	const char *fn;		/* interned qualified name; "<thread>" etc. for synthetic */
	const char *file;	/* interned, NULL if absent */
	int32_t line;		/* -1 if absent */
	bool has_ret;
	bool synthetic;		/* no call: "<thread>", "<execution>" (a root only) */
	struct lt_value ret;
	int64_t dur_ns;		/* -1 if absent */
	int64_t run_ns;		/* a frame that suspended: the time it ran
				 * (dur_ns is wall time); -1 if absent */
	uint32_t ncalls;	/* number of children */
	uint32_t truncated_calls;
	uint32_t nargs;
	uint32_t interp;	/* the sub-interpreter (its id) this call and its
				 * calls ran in, on the outermost such node only;
				 * 0: as its parent (at the top: the main one) */
	struct lt_value *args;	/* arena array of nargs, NULL if no "args" */
	struct lt_node *first, *last, *next;	/* children in call order */
	struct lt_node *parent;	/* NULL for the root */
};

/* A synthetic node ("<thread>", "<execution>") is only ever an execution's
 * root, and is marked as such by whoever made it (the trace's "synthetic"
 * field, FORMAT.md §2), never guessed from its name: Python's own
 * "<lambda>", "<genexpr>", "<module>" calls also start with '<' and are
 * real calls, roots too (--root '<lambda>'). */
static inline bool lt_node_synthetic_root(const struct lt_node *n)
{
	return !n->parent && n->synthetic;
}

struct lt_exec {
	int64_t id;
	int32_t pid, tid;
	int32_t nspid, nstid;	/* pid/tid inside the target's pid namespace, 0 if same */
	const char *cmdline;	/* system-wide recording: the process's command line */
	const char *container;	/* system-wide recording: its cgroup when not the root one */
	uint64_t start_ns;	/* CLOCK_MONOTONIC */
	int64_t dur_ns;		/* -1 if absent */
	int64_t run_ns;		/* the root suspended: time it ran, -1 if absent */
	bool complete;
	uint32_t incomplete;	/* !complete: why, LT_INC_* bits (incomplete.h) */
	struct lt_node *root;
	struct lt_arena arena;	/* owns root and all its nodes */
	struct lt_exec *wnext;	/* the trace writer's queue (lt_writer_exec_take) */
};

/* new execution: dur_ns = -1, complete = true, everything else 0/NULL */
struct lt_exec *lt_exec_new(void);
void lt_exec_free(struct lt_exec *e);
/* new node in e's arena: line = -1, dur_ns = -1, no ret, no children */
struct lt_node *lt_node_new(struct lt_exec *e, const char *fn);	/* fn interned by caller */
void lt_node_append(struct lt_node *parent, struct lt_node *child);
/* pre-order walk without recursion: the node after n inside top's subtree,
 * NULL at the end (for (n = top; n; n = lt_node_preorder_next(top, n))) */
struct lt_node *lt_node_preorder_next(const struct lt_node *top, const struct lt_node *n);

/* ---- header and trailer ------------------------------------------------ */
struct lt_header {
	int format;
	const char *tool, *python, *root, *start, *mechanism;
	int32_t pid;
	int argc;
	const char **argv;
	/* how the trace was made (FORMAT.md §1 "capture"); values NULL: not
	 * recorded (older traces, import-paper): nothing to compare */
	const char *values;	/* "plain", "hashed" or "none" (--no-values) */
	const char *hash_key;	/* hashed: fingerprint of the key, never the key */
	int32_t str_len;	/* --str-len */
	int32_t max_depth;	/* --max-depth, 0 = no limit */
	bool args;		/* --args */
	int nexclude;
	const char **exclude;	/* --exclude-path globs, in order */
};

/* Traces made with a and b differ in a way that makes their comparison
 * (analyze, detect) meaningless: values mode, hash key, str_len, depth
 * limit, excludes, --args, --root, durations or not. Writes "what: A vs B"
 * for the first difference into why and returns true; false when they
 * compare, or when either does not record how it was made. (capture.c) */
bool lt_capture_differs(const struct lt_header *a, const struct lt_header *b, char *why,
			size_t n);

struct lt_stats {
	uint64_t execs, calls, lost_events, incomplete_execs, truncated_strings;
	uint64_t excluded_calls;	/* calls left out by --exclude-path */
	uint64_t read_failures;		/* target memory reads that failed */
	uint64_t stale_frames;		/* frames closed without their return
					 * after a loss (record's resync) */
	uint64_t name_evictions;	/* code/type names the BPF side forgot
					 * it had sent (sent again when needed) */
	uint64_t unprobed_returns;	/* 3.8-3.10: calls past the kernel's 64
					 * pending uretprobes of a thread */
};

/* ---- writer (JSON Lines, gzip when the name ends in .gz) -------------- */
struct lt_writer;
/* path "-" = stdout. Returns NULL and prints "leaktrace: PATH: reason" on error. */
struct lt_writer *lt_writer_open(const char *path);
int lt_writer_header(struct lt_writer *w, const struct lt_header *h);
int lt_writer_exec(struct lt_writer *w, const struct lt_exec *e);
/* the same line, built by the writer thread: the writer takes e, writes
 * it after the lines before it and frees it, and the caller goes on at
 * once (an execution of a million calls costs the caller nothing); e's
 * strings must be interned or in its arena. Returns 0 or the first write
 * error known, as the others do */
int lt_writer_exec_take(struct lt_writer *w, struct lt_exec *e);
int lt_writer_stats(struct lt_writer *w, const struct lt_stats *s);
/* Lines are written in pieces of at most about 256 KiB (JW_SPILL), in
 * order; a reader of a file being written (or of one cut by SIGKILL)
 * may see a last line that is not whole yet. Absent fields are
 * omitted: "file" when NULL, "line" when < 0, "ret" unless has_ret,
 * "dur_ns" when < 0, "ret"/"dur_ns" on synthetic nodes, "args" when NULL,
 * "interp" when 0,
 * "truncated_calls" when 0, "calls" when a node has no children, "pid" and
 * other header strings when 0/NULL. Returns 0 or a negative errno. */
/* FORMAT.md §2 encodings of a RET and a NODE (whole subtree, no
 * recursion) into a JSON writer (common/json.h), as lt_writer_exec writes
 * them */
struct jw;
void lt_json_value(struct jw *j, const struct lt_value *v);
void lt_json_node(struct jw *j, const struct lt_node *root);
/* push buffered lines to the file (e.g. for `-o -` piped to a reader);
 * waits until they are written */
int lt_writer_flush(struct lt_writer *w);
/* call often (every poll) with a monotonic clock in ns: lines written
 * since more than LT_SYNC_NS are handed to the writer thread to be
 * written and pushed to the kernel (gzip: Z_SYNC_FLUSH) without waiting;
 * returns 0 or the first write error */
#define LT_SYNC_NS	500000000ull
int lt_writer_tick(struct lt_writer *w, uint64_t now_ns);
/* flush and close; returns 0 or -errno-like negative on a write error */
int lt_writer_close(struct lt_writer *w);

/* ---- reader ------------------------------------------------------------ */
/*
 * Reads executions one at a time from a trace file (plain or gzip, "-" for
 * stdin), a directory of trace files, or a directory of the paper's JSON
 * traces (auto-detected). Never holds more than one execution in memory.
 */
struct lt_reader;
/* NULL after printing "leaktrace: PATH: reason" */
struct lt_reader *lt_reader_open(const char *path);
/* a reader that builds only the JSON Lines executions whose index over
 * all its input is part mod nparts (nparts readers of the same input in
 * parallel); problems are reported once, by part 0 or the line's owner */
struct lt_reader *lt_reader_open_part(const char *path, int part, int nparts);
/* once *flag is non-zero (another part failed), the reader ends quietly */
void lt_reader_set_abort(struct lt_reader *r, const int *flag);
/* the reader failed on a problem it left to part 0 to report */
bool lt_reader_quiet_failure(const struct lt_reader *r);
/* exec lines as leaktrace writes them are built by a fast path that falls
 * back to the generic JSON parser for anything else (on by default); off,
 * every line goes through the generic parser. For tests that compare the
 * two, with the number of lines the fast path built. */
void lt_reader_set_fast(struct lt_reader *r, bool on);
long long lt_reader_fast_lines(const struct lt_reader *r);
/* 1: *out is the next execution (caller frees with lt_exec_free);
 * 0: end of input; -1: malformed input, "FILE:LINE: reason" printed. */
int lt_reader_next(struct lt_reader *r, struct lt_exec **out);
/* "FILE:LINE" of the execution last returned */
const char *lt_reader_where(const struct lt_reader *r);
/* header of the current file (NULL for paper files) and the trailer seen so
 * far (summed over files) */
const struct lt_header *lt_reader_header(const struct lt_reader *r);
const struct lt_stats *lt_reader_stats(const struct lt_reader *r);
/* true when the current file is in the paper's format */
bool lt_reader_is_paper(const struct lt_reader *r);
void lt_reader_close(struct lt_reader *r);
/* fn for the header of each leaktrace file that path names (a file or a
 * directory; never "-", which cannot be read twice), read before the
 * reading proper, which reports any problem; a non-zero return of fn stops
 * and is returned */
int lt_trace_each_header(const char *path,
			 int (*fn)(void *arg, const char *file, const struct lt_header *h), void *arg);
/* How a set of traces was made: the first header that says it (values
 * set), copied, and where it came from (a trace file, or a rules file
 * whose "capture" it is). capture.c. */
struct lt_capture {
	bool set;
	struct lt_header h;	/* strings interned, exclude owned, no argv */
	char *origin;
};
void lt_capture_set(struct lt_capture *c, const struct lt_header *h, const char *origin);
void lt_capture_free(struct lt_capture *c);
/* analyze, detect: every file of paths[0..n) made like ref (taken from
 * the first file that says how it was made when ref is not set yet;
 * lt_capture_differs). 0, or -1 after "A and B were recorded differently
 * (WHY)"; force: a warning and 0. */
int lt_capture_check(struct lt_capture *ref, const char *const *paths, int n, bool force);
/* the capture keys of h (FORMAT.md §1) into the object being written,
 * nothing when h->values is NULL; and read back from object obj of p */
struct jw;
struct jparse;
void lt_capture_json(struct jw *j, const struct lt_header *h);
void lt_capture_parse(const struct jparse *p, unsigned obj, struct lt_header *h);

#endif /* LT_TRACE_H */
