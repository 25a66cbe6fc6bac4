/* SPDX-License-Identifier: MIT */
/*
 * Small JSON writer (into a growable buffer) and parser (iterative, into a
 * flat token array).
 *
 * Writer: commas are inserted automatically; strings are escaped (quote,
 * backslash, control characters) and valid UTF-8 passes through unchanged;
 * invalid UTF-8 bytes become U+FFFD so the output is always valid JSON.
 * Non-finite doubles have no JSON number: jw_double writes them as the
 * strings "nan", "inf", "-inf" (FORMAT.md §2).
 */
#ifndef LT_JSON_H
#define LT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw {
	char *buf;
	size_t len, cap;
	/* one bit of "a value was already written at this level" per depth */
	uint8_t *first;
	size_t depth, depth_cap;
	bool after_key;
	/* spill hook (NULL: none): lt_json_node hands it the buffer and
	 * goes on with it empty whenever it holds JW_SPILL bytes or more,
	 * so that a line of any size is written in pieces of about that
	 * size; the structure (depth, commas) is kept */
	void (*spill)(void *arg, const char *buf, size_t len);
	void *spill_arg;
};

#define JW_SPILL	(256 * 1024)
static inline void jw_spill_check(struct jw *w)
{
	if (w->spill && w->len >= JW_SPILL) {
		w->spill(w->spill_arg, w->buf, w->len);
		w->len = 0;
		w->buf[0] = 0;
	}
}

void jw_init(struct jw *w);
void jw_free(struct jw *w);
void jw_reset(struct jw *w);		/* empty the buffer, keep memory */
void jw_obj(struct jw *w);		/* { */
void jw_obj_end(struct jw *w);		/* } */
void jw_arr(struct jw *w);		/* [ */
void jw_arr_end(struct jw *w);		/* ] */
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
void jw_raw(struct jw *w, const char *s, size_t n);	/* appended as is, no comma logic */
/* a value already encoded (a jw_quote string), with the comma logic */
void jw_value_raw(struct jw *w, const char *s, size_t n);
/* a key already quoted with its colon: JW_KEY(w, "fn") for a literal
 * key that needs no escaping, the writer's hot path */
void jw_key_raw(struct jw *w, const char *quoted, size_t n);
#define JW_KEY(w, lit)	jw_key_raw((w), "\"" lit "\":", sizeof(lit) + 2)
/* s[0..n) as a JSON string, quotes included, into out (room for
 * JW_QUOTE_MAX(n) bytes, no NUL written); returns its length */
#define JW_QUOTE_MAX(n)	(6 * (n) + 2)
size_t jw_quote(char *out, const char *s, size_t n);

/* Python repr() of a float: shortest round-trip digits, "1.0", "1e+16",
 * "nan", "inf", "-inf". buf needs 32 bytes. Returns buf. */
char *lt_float_repr(double v, char *buf);


/* ---- parser ----------------------------------------------------------- */
enum jt_type { JT_NULL, JT_FALSE, JT_TRUE, JT_NUM, JT_STR, JT_ARR, JT_OBJ };

/*
 * A parsed document is an array of tokens in document order. Containers hold
 * the number of direct children (`n`; an object's children are key, value,
 * key, value...) and `end`, the index just past their last descendant, so
 * siblings are walked with `i = t[i].end`. Strings are unescaped in place
 * (s/len, NUL-terminated; may contain NUL). Numbers keep their text (s/len).
 */
struct jtok {
	uint8_t type;
	uint32_t n;
	uint32_t end;
	uint32_t len;
	char *s;
};

struct jparse {
	struct jtok *t;
	uint32_t ntok, cap;
	uint32_t max_depth;	/* 0 = JSON_MAX_DEPTH */
	char err[128];		/* reason when parse fails */
	size_t err_off;		/* byte offset of the error */
	uint32_t *stack;
	uint32_t stack_cap;
};

#define JSON_MAX_DEPTH 1000000	/* containers; deeper input is refused */

void jp_init(struct jparse *p);
void jp_free(struct jparse *p);
/* parse text[0..len) (modified in place; text[len] must be writable and is
 * set to NUL). Returns 0, or -1 with p->err set. Trailing whitespace only. */
int jp_parse(struct jparse *p, char *text, size_t len);
/* object member lookup: index of the value of key k in object at i, or -1 */
int jp_get(const struct jparse *p, uint32_t obj, const char *k);
/* the rest of a string from q (NUL-terminated), at an escape or at the
 * closing quote, decoded into o, which may be q itself (the text only
 * shrinks): NULL with *qp at the closing quote and *op past the last byte
 * written, or the reason it is not valid JSON with *qp at the offending
 * byte (a NUL is a "control character"; the caller knows whether it is the
 * end of the input) */
const char *jp_unescape(const char **qp, char **op);
/* the end of the JSON number that starts at q (which is NUL-terminated),
 * NULL when q does not start one; the grammar jp_parse reads numbers with */
const char *jp_number_end(const char *q);
/* number parsing helpers: 0 on success */
int jp_int64(const struct jtok *t, int64_t *out);
int jp_double(const struct jtok *t, double *out);
bool jp_is_integer_text(const struct jtok *t);

#endif
