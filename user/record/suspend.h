/* SPDX-License-Identifier: MIT */
/*
 * Suspended frames: the layer of the rebuild (rebuild.c) that makes a
 * generator, coroutine or async generator one call from its frame start to
 * its final return, across every yield/await.
 *
 * A frame that yields leaves the thread's stack but keeps its node: it is
 * put here, keyed by (process, frame address), with the code to check the
 * key against (a suspended frame lives in its generator object, so its
 * address cannot be reused while it is suspended; a different code at that
 * address means the generator was freed without running again: the entry
 * is stale). When the frame is resumed, on any thread of the process, the
 * node is taken back and the calls of that run become its children.
 *
 * An entry belongs to one execution (whose arena holds its node); when that
 * execution is written, its entries are forgotten: a frame still suspended
 * then keeps its last yield as its value. The outermost root of an
 * execution that suspends (an `async def` handler awaiting) is its
 * execution's "owner": the open execution leaves the thread with it, so
 * that other requests interleave on the thread, and comes back on resume.
 *
 * --no-durations (returns only) keeps nodes the same way (see rebuild.c):
 * the node of a frame's first yield is placed under its caller, later runs
 * add their calls to it.
 */
#ifndef LT_SUSPEND_H
#define LT_SUSPEND_H

#include <stdbool.h>
#include <stdint.h>
#include "common/u64map.h"
#include "trace/trace.h"

/* keyed (frame address, tgid), both whole; the first word never 0 (hmap) */
#define SUSP_K(frame)	((frame) | 1ULL << 63)

struct rb_susp {
	uint32_t tgid;		/* its key, with frame (susp_put) */
	uint64_t frame;
	uint64_t code;
	uint64_t t0;		/* the frame's first start */
	uint64_t run;		/* ns it ran in its runs so far */
	struct lt_node *node;	/* its node (NULL: not written, e.g. excluded) */
	struct lt_node *attach;	/* where the calls of its runs go */
	int adepth;		/* depth of attach below the execution root */
	bool is_root;		/* its code is the --root function */
	bool owner;		/* the outermost root: exec waits with it */
	struct lt_exec *exec;	/* the execution (arena) its node is in */
	/* --no-durations: every node of a thread is in its scratch arena
	 * (exec); an outermost root is written at its final return */
	bool outer;
	uint32_t tainted;	/* outer: events may be missing (LT_INC_* why) */
};

/* take the entry of (tgid, frame) out of m (NULL: none). An entry of
 * another code than the frame now runs is stale: the generator was freed
 * without running again (3.13+ closes one suspended at a plain yield
 * without running it) and the address reused */
struct rb_susp *susp_take(struct u64map *m, uint32_t tgid, uint64_t frame);
/* the entry of (tgid, frame) whatever its code, left in m; NULL if none */
struct rb_susp *susp_peek(const struct u64map *m, uint32_t tgid, uint64_t frame);
/* insert (the frame has no entry: it was running) */
void susp_put(struct u64map *m, uint32_t tgid, uint64_t frame, struct rb_susp *sp);
/* free the entries whose node lives in e (e is being written or freed);
 * owners are not touched: the caller writes their executions */
void susp_forget_exec(struct u64map *m, const struct lt_exec *e);
/* take out every owner (of process tgid; 0: any) into a malloc'd array of
 * *n entries (the caller writes their executions and frees them) */
struct rb_susp **susp_take_owners(struct u64map *m, uint32_t tgid, size_t *n);
/* take out every entry whose node is in e into a malloc'd array of *n
 * (an entry goes back with susp_put(m, sp->tgid, sp->frame, sp)) */
struct rb_susp **susp_take_exec(struct u64map *m, const struct lt_exec *e, size_t *n);
/* a copy of top's subtree (values included) in e, as a root; fwd maps each
 * node copied to its copy */
struct lt_node *susp_copy_tree(struct lt_exec *e, const struct lt_node *top, struct u64map *fwd);
/* free every entry, and the executions owners hold */
void susp_free(struct u64map *m);

#endif
