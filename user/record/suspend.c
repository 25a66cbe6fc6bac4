/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include "leaktrace.h"
#include "record/suspend.h"

struct rb_susp *susp_take(struct u64map *m, uint32_t tgid, uint64_t frame)
{
	return m->len ? u64map_del(m, LT_OBJ_KEY(tgid, frame)) : NULL;
}

struct rb_susp *susp_peek(const struct u64map *m, uint32_t tgid, uint64_t frame)
{
	return m->len ? u64map_get(m, LT_OBJ_KEY(tgid, frame)) : NULL;
}

void susp_put(struct u64map *m, uint32_t tgid, uint64_t frame, struct rb_susp *sp)
{
	/* the frame was running: its entry was taken at its resume */
	free(u64map_del(m, LT_OBJ_KEY(tgid, frame)));
	u64map_put(m, LT_OBJ_KEY(tgid, frame), sp);
}

/* the keys of the entries that match, collected first: no deletion
 * while iterating (common/hmap.h) */
static uint64_t *collect(const struct u64map *m, const struct lt_exec *e, bool owners,
			 uint32_t tgid, size_t *n)
{
	uint64_t k, *keys = lt_xcalloc(m->len ? m->len : 1, sizeof(*keys));
	void *v;

	*n = 0;
	for (size_t i = 0; u64map_next(m, &i, &k, &v);) {
		const struct rb_susp *sp = v;

		if (owners ? sp->owner && (!tgid || (uint32_t)sp->exec->pid == tgid) :
			     sp->exec == e && !sp->owner)
			keys[(*n)++] = k;
	}
	return keys;
}

void susp_forget_exec(struct u64map *m, const struct lt_exec *e)
{
	uint64_t *keys;
	size_t n;

	if (!m->len)
		return;
	keys = collect(m, e, false, 0, &n);
	for (size_t i = 0; i < n; i++)
		free(u64map_del(m, keys[i]));
	free(keys);
}

struct rb_susp **susp_take_owners(struct u64map *m, uint32_t tgid, size_t *n)
{
	struct rb_susp **out;
	uint64_t *keys;

	*n = 0;
	if (!m->len)
		return NULL;
	keys = collect(m, NULL, true, tgid, n);
	out = lt_xcalloc(*n ? *n : 1, sizeof(*out));
	for (size_t i = 0; i < *n; i++)
		out[i] = u64map_del(m, keys[i]);
	free(keys);
	return out;
}

struct rb_susp **susp_take_exec(struct u64map *m, const struct lt_exec *e, uint64_t **frames,
				size_t *n)
{
	struct rb_susp **out;
	uint64_t k, *keys;
	void *v;

	*n = 0;
	*frames = NULL;
	if (!m->len)
		return NULL;
	keys = lt_xcalloc(m->len, sizeof(*keys));
	for (size_t i = 0; u64map_next(m, &i, &k, &v);)
		if (((struct rb_susp *)v)->exec == e)
			keys[(*n)++] = k;
	out = lt_xcalloc(*n ? *n : 1, sizeof(*out));
	for (size_t i = 0; i < *n; i++)
		out[i] = u64map_del(m, keys[i]);
	*frames = keys;
	return out;
}

static void copy_value(struct lt_exec *e, struct lt_value *v)
{
	if (v->s)
		v->s = lt_arena_strndup(&e->arena, v->s, v->slen);
}

struct lt_node *susp_copy_tree(struct lt_exec *e, const struct lt_node *top, struct u64map *fwd)
{
	struct lt_node *root = NULL;

	for (const struct lt_node *x = top; x; x = lt_node_preorder_next(top, x)) {
		struct lt_node *y = lt_node_new(e, x->fn);

		*y = *x;
		y->first = y->last = y->next = y->parent = NULL;
		y->ncalls = 0;
		if (y->has_ret)
			copy_value(e, &y->ret);
		if (x->args) {
			y->args = lt_arena_alloc(&e->arena, x->nargs * sizeof(*y->args));
			for (uint32_t i = 0; i < x->nargs; i++) {
				y->args[i] = x->args[i];
				copy_value(e, &y->args[i]);
			}
		}
		u64map_put(fwd, (uint64_t)(uintptr_t)x, y);
		if (x == top)
			root = y;
		else
			lt_node_append(u64map_get(fwd, (uint64_t)(uintptr_t)x->parent), y);
	}
	return root;
}

void susp_free(struct u64map *m)
{
	uint64_t k;
	void *v;

	for (size_t i = 0; u64map_next(m, &i, &k, &v);) {
		struct rb_susp *sp = v;

		if (sp->owner)
			lt_exec_free(sp->exec);
		free(sp);
	}
	u64map_free(m);
}
