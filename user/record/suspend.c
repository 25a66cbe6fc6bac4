/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include "leaktrace.h"
#include "record/suspend.h"

struct rb_susp *susp_take(struct u64map *m, uint32_t tgid, uint64_t frame)
{
	return m->len ? hmap_del(m, SUSP_K(frame), tgid) : NULL;
}

struct rb_susp *susp_peek(const struct u64map *m, uint32_t tgid, uint64_t frame)
{
	return m->len ? hmap_get(m, SUSP_K(frame), tgid) : NULL;
}

void susp_put(struct u64map *m, uint32_t tgid, uint64_t frame, struct rb_susp *sp)
{
	/* the frame was running: its entry was taken at its resume */
	struct hent *e;

	free(hmap_del(m, SUSP_K(frame), tgid));
	sp->tgid = tgid;
	sp->frame = frame;
	e = hmap_slot(m, SUSP_K(frame), tgid);
	hmap_put(m, e, SUSP_K(frame), tgid, sp);
}

/* the keys of the entries that match, collected first: no deletion
 * while iterating (common/hmap.h) */
static struct rb_susp **collect(const struct u64map *m, const struct lt_exec *e, bool owners,
				uint32_t tgid, size_t *n)
{
	struct rb_susp **keys = lt_xcalloc(m->len ? m->len : 1, sizeof(*keys));
	struct hent *h;

	*n = 0;
	for (size_t i = 0; (h = hmap_next(m, &i));) {
		struct rb_susp *sp = h->v;

		if (owners ? sp->owner && (!tgid || (uint32_t)sp->exec->pid == tgid) :
			     sp->exec == e && !sp->owner)
			keys[(*n)++] = sp;
	}
	return keys;
}

void susp_forget_exec(struct u64map *m, const struct lt_exec *e)
{
	struct rb_susp **keys;
	size_t n;

	if (!m->len)
		return;
	keys = collect(m, e, false, 0, &n);
	for (size_t i = 0; i < n; i++)
		free(hmap_del(m, SUSP_K(keys[i]->frame), keys[i]->tgid));
	free(keys);
}

struct rb_susp **susp_take_owners(struct u64map *m, uint32_t tgid, size_t *n)
{
	struct rb_susp **out;

	*n = 0;
	if (!m->len)
		return NULL;
	out = collect(m, NULL, true, tgid, n);
	for (size_t i = 0; i < *n; i++)
		hmap_del(m, SUSP_K(out[i]->frame), out[i]->tgid);
	return out;
}

struct rb_susp **susp_take_exec(struct u64map *m, const struct lt_exec *e, size_t *n)
{
	struct rb_susp **out;
	struct hent *h;

	*n = 0;
	if (!m->len)
		return NULL;
	out = lt_xcalloc(m->len, sizeof(*out));
	for (size_t i = 0; (h = hmap_next(m, &i));)
		if (((struct rb_susp *)h->v)->exec == e)
			out[(*n)++] = h->v;
	for (size_t i = 0; i < *n; i++)
		hmap_del(m, SUSP_K(out[i]->frame), out[i]->tgid);
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
	struct hent *h;

	for (size_t i = 0; (h = hmap_next(m, &i));) {
		struct rb_susp *sp = h->v;

		if (sp->owner)
			lt_exec_free(sp->exec);
		free(sp);
	}
	u64map_free(m);
}
