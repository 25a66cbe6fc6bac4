/* SPDX-License-Identifier: MIT */
/*
 * The trace reader's parts, private to user/trace/read_*.c (lt_reader's
 * public contract is in trace/trace.h):
 *   read_io.c     files, directories, gzip and stdin: the lines of a file
 *                 and the kind of trace it holds (FORMAT.md §1)
 *   read_jsonl.c  the generic parser of leaktrace JSON Lines: header, exec
 *                 and stats lines through jp_parse (FORMAT.md §1, §2)
 *   read_fast.c   the fast path: exec lines as lt_writer_exec writes them,
 *                 built straight from their bytes, the same as the generic
 *                 parser builds them (tests/unit and tests/fuzz compare)
 *   read_paper.c  the paper's JSON traces (FORMAT.md §6)
 */
#ifndef LT_READ_PRIV_H
#define LT_READ_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
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
	bool skipping;		/* dropping the rest of another part's exec line */
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
static inline bool speaks(const struct lt_reader *r)
{
	return r->part == 0 || r->own_line;
}

/* ---- read_io.c ------------------------------------------------------------ */
/* "FILE:LINE: reason" (fmt with one %s) when this reader speaks; -1 */
int rd_bad(struct lt_reader *r, long long line, const char *fmt, const char *arg);
/* more of the file into r->buf; the bytes read, 0 at the end, -1 on a read
 * error (printed) */
int rd_fill(struct lt_reader *r);
/* next line, NUL-terminated in place; 1 ok, 0 end, -1 error. *partial is
 * set when the line had no final newline. */
int rd_next_line(struct lt_reader *r, char **line, size_t *len, bool *partial);

/* ---- read_jsonl.c: values and trees shared by every parser ----------------- */
/* the interned names of the types whose values are read (rd_init_types) */
extern struct rd_types {
	const char *t_int, *t_float, *t_bool, *t_str;
} rd_type;
#define T_INT rd_type.t_int
#define T_FLOAT rd_type.t_float
#define T_BOOL rd_type.t_bool
#define T_STR rd_type.t_str
/* once per process, before any parsing (thread-safe) */
void rd_init_types(void);

/* the interned type name; the common ones without hashing */
static inline const char *rd_type_name(const char *s, uint32_t n)
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
static inline bool rd_decimal_text(const char *s, size_t n)
{
	size_t i = s[0] == '-' ? 1 : 0;
	if (i >= n)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* a RET or args element from its "type" string token and its "value"
 * token (NULL: none); NULL or the reason it is refused */
const char *rd_set_value(struct lt_exec *e, struct lt_value *v, const struct jtok *tt, const struct jtok *vt);
/* "start_ns": a non-negative integer (strtoull saturates what is too big) */
bool rd_start_ns_of(const struct jtok *t, uint64_t *out);
/* a synthetic root is never observed: its stray fields are dropped */
void rd_drop_synthetic_fields(struct lt_exec *e);
/* room on the builders' stack (r->bst) for an entry at depth; inline:
 * the fast path asks for every node with children */
void rd_bst_grow(struct lt_reader *r);
static inline void rd_bst_reserve(struct lt_reader *r, size_t depth)
{
	if (depth >= r->bcap)
		rd_bst_grow(r);
}
/* one node from token i; *children: its list of children's token, 0 if none */
typedef const char *(*node_fill_fn)(struct lt_exec *e, const struct jparse *p, uint32_t i,
				    struct lt_node **out, uint32_t *children);
/* build, without recursion, the children of parent listed in the array
 * token arr (JSONL "calls", or the paper's list), each with fill */
const char *rd_build_children(struct lt_reader *r, struct lt_exec *e, const struct jparse *p,
			      struct lt_node *parent, uint32_t arr, node_fill_fn fill);
/* the header line just parsed into r->jp, into r->hdr: NULL or the reason
 * it is refused */
const char *rd_parse_header(struct lt_reader *r);
/* the JSON Lines of the current file: 1 *out is an execution, 0 end of
 * the file, -1 malformed (printed) */
int rd_next_jsonl(struct lt_reader *r, struct lt_exec **out);

/* ---- read_fast.c ----------------------------------------------------------- */
/* the fast path's tables (from rd_init_types) */
void rd_fast_init(void);
/* line[0..len), which starts with {"type":"exec": true and *out built, or
 * false for the generic path to read it */
bool rd_fast_exec(struct lt_reader *r, const char *line, size_t len, struct lt_exec **out);

/* ---- read_paper.c ---------------------------------------------------------- */
/* the one execution of the current paper file: 1, 0 (done or another
 * part's), -1 malformed (printed) */
int rd_next_paper(struct lt_reader *r, struct lt_exec **out);

#endif
