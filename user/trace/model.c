// SPDX-License-Identifier: MIT
/* In-memory trace model: arenas, interned strings, executions and nodes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/err.h"
#include "common/json.h"
#include "trace/trace.h"

/* ---- arena -------------------------------------------------------------- */
struct lt_arena_chunk {
	struct lt_arena_chunk *next;
	size_t size, used;
	char data[];
};

#define ARENA_CHUNK (64 * 1024)

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		lt_err("out of memory (%zu bytes)", n);
		exit(1);
	}
	return p;
}

void *lt_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		lt_err("out of memory");
		exit(1);
	}
	return p;
}

void *lt_xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);	/* realloc(p, 0) may free p */
	if (!p) {
		lt_err("out of memory");
		exit(1);
	}
	return p;
}

/*
 * Standard-size chunks are recycled through a small global free list: the
 * analysis frees executions in another thread than the one that parsed
 * them, and handing chunks back to malloc there costs page faults.
 */
static pthread_mutex_t chunk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lt_arena_chunk *chunk_free;
static size_t chunk_nfree;
#define CHUNK_CACHE_MAX 1024	/* 64 MB */

static struct lt_arena_chunk *chunk_get(size_t cs)
{
	struct lt_arena_chunk *c = NULL;
	if (cs == ARENA_CHUNK) {
		pthread_mutex_lock(&chunk_lock);
		if (chunk_free) {
			c = chunk_free;
			chunk_free = c->next;
			chunk_nfree--;
		}
		pthread_mutex_unlock(&chunk_lock);
	}
	if (!c)
		c = xmalloc(sizeof(*c) + cs);
	c->size = cs;
	c->used = 0;
	return c;
}

static void chunk_put(struct lt_arena_chunk *c)
{
	if (c->size == ARENA_CHUNK) {
		pthread_mutex_lock(&chunk_lock);
		if (chunk_nfree < CHUNK_CACHE_MAX) {
			c->next = chunk_free;
			chunk_free = c;
			chunk_nfree++;
			c = NULL;
		}
		pthread_mutex_unlock(&chunk_lock);
	}
	free(c);
}

/* size bytes, not cleared */
static void *arena_take(struct lt_arena *a, size_t size)
{
	struct lt_arena_chunk *c = a->head;
	size = (size + 7) & ~(size_t)7;
	if (!c || c->size - c->used < size) {
		size_t cs = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
		c = chunk_get(cs);
		if (size > ARENA_CHUNK / 4 && a->head) {
			/* big block: keep the current chunk in front for small allocs */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->data + c->used;
	c->used += size;
	a->used_total += size;
	return p;
}

void *lt_arena_alloc(struct lt_arena *a, size_t size)
{
	return memset(arena_take(a, size), 0, (size + 7) & ~(size_t)7);
}

char *lt_arena_strndup(struct lt_arena *a, const char *s, size_t n)
{
	char *p = arena_take(a, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

void lt_arena_free(struct lt_arena *a)
{
	struct lt_arena_chunk *c = a->head, *n;
	for (; c; c = n) {
		n = c->next;
		chunk_put(c);
	}
	a->head = NULL;
	a->used_total = 0;
}

/* ---- interned strings -------------------------------------------------- */
/*
 * Each interned string is stored as [uint32 len][uint32 hash][uint32 qlen]
 * [bytes][NUL][the bytes as a JSON string, quoted: qlen] in blocks that
 * are never freed; the table maps (bytes, len) to the pointer. The JSON
 * form is made once: the trace writer copies it for every call's name,
 * file and type instead of escaping them again.
 */
struct istr {
	uint32_t len, hash, qlen;
	char s[];
};

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static struct istr **itab;
static size_t itab_cap, itab_n;
static char *iblock;
static size_t iblock_left;

uint32_t lt_hash_bytes(const void *p, size_t n)
{
	/* FNV-1a, 32 bit, with a final mix */
	const unsigned char *b = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	h ^= h >> 15;
	h *= 0x2c1b3c6dU;
	h ^= h >> 12;
	return h;
}

static void itab_grow(void)
{
	size_t ncap = itab_cap ? itab_cap * 2 : 4096;
	struct istr **n = calloc(ncap, sizeof(*n));
	if (!n) {
		lt_err("out of memory (intern table)");
		exit(1);
	}
	for (size_t i = 0; i < itab_cap; i++) {
		struct istr *e = itab[i];
		if (!e)
			continue;
		size_t j = e->hash & (ncap - 1);
		while (n[j])
			j = (j + 1) & (ncap - 1);
		n[j] = e;
	}
	free(itab);
	itab = n;
	itab_cap = ncap;
}

/* per-thread cache in front of the locked table: most lookups repeat */
#define ICACHE 4096
static __thread struct istr *icache[ICACHE];

const char *lt_intern_n(const char *s, size_t n)
{
	uint32_t h = lt_hash_bytes(s, n);
	const char *ret;
	struct istr **slot = &icache[h & (ICACHE - 1)];
	struct istr *hit = *slot;

	if (hit && hit->hash == h && hit->len == n && !memcmp(hit->s, s, n))
		return hit->s;
	pthread_mutex_lock(&intern_lock);
	if ((itab_n + 1) * 2 > itab_cap)
		itab_grow();
	size_t j = h & (itab_cap - 1);
	for (;;) {
		struct istr *e = itab[j];
		if (!e)
			break;
		if (e->hash == h && e->len == n && !memcmp(e->s, s, n)) {
			ret = e->s;
			goto out;
		}
		j = (j + 1) & (itab_cap - 1);
	}
	char qbuf[1024], *q = JW_QUOTE_MAX(n) <= sizeof(qbuf) ? qbuf : xmalloc(JW_QUOTE_MAX(n));
	size_t qlen = jw_quote(q, s, n);
	size_t need = (sizeof(struct istr) + n + 1 + qlen + 7) & ~(size_t)7;
	if (need > iblock_left) {
		size_t bs = need > 256 * 1024 ? need : 256 * 1024;
		iblock = xmalloc(bs);
		iblock_left = bs;
	}
	struct istr *e = (struct istr *)iblock;
	iblock += need;
	iblock_left -= need;
	e->len = (uint32_t)n;
	e->hash = h;
	e->qlen = (uint32_t)qlen;
	memcpy(e->s, s, n);
	e->s[n] = 0;
	memcpy(e->s + n + 1, q, qlen);
	if (q != qbuf)
		free(q);
	itab[j] = e;
	itab_n++;
	ret = e->s;
out:
	pthread_mutex_unlock(&intern_lock);
	*slot = (struct istr *)(ret - offsetof(struct istr, s));
	return ret;
}

const char *lt_intern(const char *s)
{
	return s ? lt_intern_n(s, strlen(s)) : NULL;
}

static const struct istr *istr_of(const char *s)
{
	return (const struct istr *)(s - offsetof(struct istr, s));
}

size_t lt_intern_len(const char *interned)
{
	return istr_of(interned)->len;
}

uint32_t lt_intern_hash(const char *interned)
{
	return istr_of(interned)->hash;
}

const char *lt_intern_json(const char *interned, size_t *len)
{
	const struct istr *e = istr_of(interned);

	*len = e->qlen;
	return e->s + e->len + 1;
}

/* ---- executions and nodes ------------------------------------------------ */
struct lt_exec *lt_exec_new(void)
{
	struct lt_exec *e = calloc(1, sizeof(*e));
	if (!e) {
		lt_err("out of memory");
		exit(1);
	}
	e->dur_ns = -1;
	e->run_ns = -1;
	e->complete = true;
	return e;
}

void lt_exec_free(struct lt_exec *e)
{
	if (!e)
		return;
	lt_arena_free(&e->arena);
	free(e);
}

struct lt_node *lt_node_new(struct lt_exec *e, const char *fn)
{
	struct lt_node *n = lt_arena_alloc(&e->arena, sizeof(*n));
	n->fn = fn;
	n->line = -1;
	n->dur_ns = -1;
	n->run_ns = -1;
	return n;
}

void lt_node_append(struct lt_node *parent, struct lt_node *child)
{
	child->parent = parent;
	child->next = NULL;
	if (parent->last)
		parent->last->next = child;
	else
		parent->first = child;
	parent->last = child;
	parent->ncalls++;
}

/* pre-order successor without recursion; stays inside the subtree of top */
struct lt_node *lt_node_preorder_next(const struct lt_node *top, const struct lt_node *n)
{
	if (n->first)
		return n->first;
	while (n && n != top) {
		if (n->next)
			return n->next;
		n = n->parent;
	}
	return NULL;
}
