// SPDX-License-Identifier: MIT
/*
 * Probe sites from the CPython binary alone (contract in sites.h): libelf
 * reads the file, capstone decodes the interpreter loop (elfcode.h). The
 * patterns are those scripts/gen_offsets.py reads off gdb's disassembly
 * with DWARF labels; here the labels are replaced by the dispatch table,
 * which maps each opcode to its handler in any build.
 */
#define _GNU_SOURCE	/* memmem */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include "leaktrace.h"	/* LT_INSTR_IN_MEMORY */
#include "pybuild/elfcode.h"
#include "pybuild/opcodes.h"
#include "pybuild/sites.h"

#define NTARGETS		256	/* static void *opcode_targets[256] */
#define SITE_WINDOW		40	/* what gen_offsets.py looks at (x/40i) */
#define YIELD_WINDOW		16
#define PATH_WINDOW_YIELD	40	/* to the first emulated instruction */
#define PATH_MAX_INSNS		400	/* a handler's straight path, at most */
#define MAX_CANDS		64

/* offsets in _PyInterpreterFrame that the patterns match: prev_instr
 * (3.12: prev_instr, 3.13+: instr_ptr), stacktop (3.11) and is_entry
 * (3.11); the same in every build of a minor version */
#define FR_INSTR	0x38
#define FR_STACKTOP	0x40
#define FR_IS_ENTRY	0x44

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* a memory operand [base + disp] without index, of the given size */
static bool mem_at(const cs_x86_op *op, int size, int *base, int64_t disp)
{
	if (op->type != X86_OP_MEM || op->mem.index != X86_REG_INVALID || op->mem.disp != disp ||
	    (size && op->size != size) || op->mem.segment != X86_REG_INVALID)
		return false;
	*base = x86_gpr(op->mem.base);
	return *base >= 0 && *base != G_RIP && *base != G_RSP;
}

/* mov qword [F + off], R: frame F, value R */
static bool store_q(const struct ins *in, int64_t off, int *frame, int *val)
{
	if (in->id != X86_INS_MOV || in->x->op_count != 2 || in->x->operands[1].type != X86_OP_REG)
		return false;
	if (!mem_at(&in->x->operands[0], 8, frame, off))
		return false;
	*val = x86_gpr(in->x->operands[1].reg);
	return *val >= 0;
}

/* ---- the dispatch table ---- */

struct cand {
	uint64_t vaddr;
	uint64_t ent[NTARGETS];
	bool via_base;		/* its address taken as a value (lea [rip + T],
				 * mov imm): the loop indexes it through a register */
	int refs, distinct, dispatching;
};

static bool read_table(struct img *m, uint64_t t, uint64_t *ent)
{
	for (int i = 0; i < NTARGETS; i++)
		if (!img_ptr(m, t + 8 * (uint64_t)i, &ent[i]) || !img_exec(m, ent[i]))
			return false;
	return true;
}

/* the tables of 256 code pointers that code in [lo, hi) refers to */
static int collect_tables(struct img *m, uint64_t lo, uint64_t hi, struct cand *c, int *nc)
{
	uint64_t a = lo;
	struct ins in;

	while (a < hi) {
		if (!img_decode(m, a, &in)) {
			a++;	/* padding or data between code: resynchronise */
			continue;
		}
		a = in.next;
		for (int i = 0; i < in.x->op_count; i++) {
			const cs_x86_op *op = &in.x->operands[i];
			uint64_t t;
			bool as_value;
			int k;

			/* the table's address as a value: lea reg, [rip + T] (PIE),
			 * or mov reg/mem, T (non-PIE, 3.15 keeps the table in a
			 * local variable so that it can switch tables); or the
			 * table indexed in place: [T + reg*8] */
			if (op->type == X86_OP_IMM && in.kind == K_OTHER) {
				t = (uint64_t)op->imm;
				as_value = true;
			} else if (op->type != X86_OP_MEM) {
				continue;
			} else if (op->mem.base == X86_REG_RIP) {
				t = in.next + op->mem.disp;
				as_value = in.id == X86_INS_LEA;
			} else if (op->mem.base == X86_REG_INVALID && op->mem.index != X86_REG_INVALID &&
				   op->mem.scale == 8) {
				t = (uint64_t)op->mem.disp;
				as_value = false;
			} else {
				continue;
			}
			for (k = 0; k < *nc && c[k].vaddr != t; k++)
				;
			if (k < *nc) {
				c[k].refs++;
				c[k].via_base |= as_value;
				continue;
			}
			if (*nc == MAX_CANDS || img_exec(m, t) || !read_table(m, t, c[*nc].ent))
				continue;
			c[*nc].vaddr = t;
			c[*nc].refs = 1;
			c[*nc].via_base = as_value;
			(*nc)++;
		}
	}
	return 0;
}

/*
 * Does the handler at h end by dispatching through table t? Its straight
 * path (fall-through, unconditional jumps followed, calls stepped over)
 * must end in jmp [B + I*8 + D] or in mov X, [B + I*8 + D]; jmp X, with
 * D = t (absolute table) or D = 0 with a base register (a table referenced
 * rip-relative, whose address the loop keeps in a register).
 */
static bool dispatches_through(struct img *m, uint64_t h, const struct cand *c)
{
	const cs_x86_op *last_load[NGPR] = { 0 };
	cs_x86_op loads[NGPR];
	struct ins in;
	uint64_t a = h;

	for (int n = 0; n < PATH_MAX_INSNS && img_decode(m, a, &in); n++) {
		const cs_x86_op *op = NULL;

		if (in.kind == K_JMP_IND) {
			if (in.x->operands[0].type == X86_OP_MEM)
				op = &in.x->operands[0];
			else if (x86_gpr(in.x->operands[0].reg) >= 0)
				op = last_load[x86_gpr(in.x->operands[0].reg)];
			if (!op || op->mem.index == X86_REG_INVALID || op->mem.scale != 8)
				return false;
			if (op->mem.base == X86_REG_INVALID)
				return (uint64_t)op->mem.disp == c->vaddr;
			return c->via_base && op->mem.disp == 0;
		}
		if (in.kind == K_RET || in.kind == K_STOP)
			return false;
		for (int g = 0; g < NGPR; g++)
			if (in.wr & (1u << g))
				last_load[g] = NULL;
		if (in.id == X86_INS_MOV && in.x->op_count == 2 && in.x->operands[0].type == X86_OP_REG &&
		    in.x->operands[1].type == X86_OP_MEM && x86_gpr(in.x->operands[0].reg) >= 0) {
			int g = x86_gpr(in.x->operands[0].reg);

			loads[g] = in.x->operands[1];
			last_load[g] = &loads[g];
		}
		a = in.kind == K_JMP ? in.target : in.next;
	}
	return false;
}

static int cmp_u64p(const void *a, const void *b)
{
	return cmp_u64(a, b);
}

static void score(struct img *m, struct cand *c)
{
	uint64_t e[NTARGETS];

	memcpy(e, c->ent, sizeof(e));
	qsort(e, NTARGETS, sizeof(e[0]), cmp_u64p);
	c->distinct = c->dispatching = 0;
	for (int i = 0; i < NTARGETS; i++) {
		if (i && e[i] == e[i - 1])
			continue;
		c->distinct++;
		if (dispatches_through(m, e[i], c))
			c->dispatching++;
	}
}

/*
 * The dispatch table of the interpreter loop: among the tables referenced
 * by _PyEval_EvalFrameDefault (or, when it has none, by the functions it
 * calls or jumps to: 3.14+ outlines the loop), the one whose handlers
 * jump through it. Handlers that leave by goto (errors, returns) do not
 * dispatch at their end, so the bar is half of the distinct handlers, and
 * exactly one table may pass it.
 */
/*
 * Where the loop's code is: [lo[0], hi[0]) the symbol, then the
 * unwind-table range of each direct jump target outside it (GCC's .cold
 * parts; GCC 16 puts all of Debian sid's handlers there) and, with calls,
 * of each call target (a loop outlined into a local function). Each range
 * once; returns how many.
 */
static int loop_regions(struct img *m, uint64_t fn, uint64_t fnsize, bool calls, uint64_t *lo,
			uint64_t *hi, int max)
{
	struct ins in;
	uint64_t a;
	int n = 1;

	lo[0] = fn;
	hi[0] = fn + fnsize;
	for (a = fn; a < fn + fnsize && img_decode(m, a, &in); a = in.next) {
		uint64_t l, h;
		int k;

		if ((in.kind != K_JMP && in.kind != K_JCC && (!calls || in.kind != K_CALL)) ||
		    (in.target >= fn && in.target < fn + fnsize) ||
		    !img_func_of(m, in.target, &l, &h) || h - l > (64u << 20))
			continue;
		for (k = 0; k < n && lo[k] != l; k++)
			;
		if (k < n || n == max)
			continue;
		lo[n] = l;
		hi[n++] = h;
	}
	return n;
}

/* the candidates passing the bar, from c[from] on; *best the last */
static int passing(struct img *m, struct cand *c, int from, int nc, int *best)
{
	int n = 0;

	for (int i = from; i < nc; i++) {
		score(m, &c[i]);
		if (2 * c[i].dispatching >= c[i].distinct && c[i].distinct >= 64) {
			n++;
			*best = i;
		}
	}
	return n;
}

static int find_table(struct img *m, uint64_t fn, uint64_t fnsize, struct cand **out)
{
	struct cand *c = calloc(MAX_CANDS, sizeof(*c));
	uint64_t lo[MAX_CANDS], hi[MAX_CANDS];
	int nc = 0, best = -1, npass, nreg;

	if (!c)
		return img_fail(m, "out of memory");
	collect_tables(m, fn, fn + fnsize, c, &nc);
	npass = passing(m, c, 0, nc, &best);
	/* none in the symbol: the loop is elsewhere (loop_regions) */
	if (!npass) {
		int nsym = nc;

		nreg = loop_regions(m, fn, fnsize, true, lo, hi, MAX_CANDS);
		for (int i = 1; i < nreg; i++)
			collect_tables(m, lo[i], hi[i], c, &nc);
		npass = passing(m, c, nsym, nc, &best);
	}
	if (npass != 1) {
		free(c);
		if (!npass)
			return img_fail(m, "no dispatch table found in _PyEval_EvalFrameDefault "
					"(%d tables of code pointers, none whose handlers jump "
					"through it)", nc);
		return img_fail(m, "%d candidate dispatch tables in _PyEval_EvalFrameDefault; "
				"refusing to guess", npass);
	}
	memmove(c, &c[best], sizeof(*c));
	*out = c;
	return 0;
}

/* ---- the sites ---- */

/*
 * The first direct jump after the handler at h stores frame->prev_instr
 * (mov [F + 0x38], R): frame in F, prev_instr in R there, so the kernel
 * emulates the probed jump and the registers are still right. F must not
 * be written before the jump; R neither, unless relaxed (3.12+: the BPF
 * side then reads prev_instr from the frame).
 */
static int resume_site(struct img *m, const char *what, uint64_t h, bool relaxed, struct py_site *s)
{
	int frame = -1, instr = -1, f, r;
	uint64_t a = h;
	struct ins in;

	for (int n = 0; n < SITE_WINDOW && img_decode(m, a, &in); n++, a = in.next) {
		if (frame < 0) {
			if (store_q(&in, FR_INSTR, &f, &r)) {
				frame = f;
				instr = r;
			}
			if (in.kind == K_JMP_IND || in.kind == K_RET)
				break;
			if (in.kind == K_JMP)	/* the handler goes on there */
				in.next = in.target;
			continue;
		}
		if (in.kind == K_JMP || in.kind == K_JCC) {
			if (x86_slot(frame) < 0 || (instr >= 0 && x86_slot(instr) < 0))
				return img_fail(m, "%s site: frame in %s, prev_instr in %s: no pt_regs slot",
					    what, x86_gpr_name(frame), x86_gpr_name(instr));
			*s = (struct py_site){ in.addr, x86_slot(frame),
					       instr < 0 ? LT_INSTR_IN_MEMORY : x86_slot(instr) };
			return 0;
		}
		if (in.wr & (1u << frame))
			return img_fail(m, "%s site: the frame register %s is overwritten before the "
				    "first jump at 0x%lx", what, x86_gpr_name(frame), (unsigned long)in.addr);
		if (instr >= 0 && (in.wr & (1u << instr))) {
			if (!relaxed)
				return img_fail(m, "%s site: prev_instr's register %s is overwritten before "
					    "the first jump", what, x86_gpr_name(instr));
			instr = -1;
		}
		if (in.kind == K_JMP_IND || in.kind == K_RET)
			break;
	}
	return img_fail(m, "%s handler at 0x%lx: no store of frame->prev_instr followed by a "
		    "direct jump", what, (unsigned long)h);
}

/* 3.11 without probes: the first direct jump after the pattern (store of
 * frame->stacktop, or the test of frame->is_entry at exit_unwind), frame
 * unchanged and no call in between (gen_offsets.py's ret_site) */
static int ret311_site(struct img *m, const char *what, uint64_t h, int kind, struct py_ret_site *s)
{
	uint64_t a = h;
	int frame = -1, f;
	struct ins in;

	for (int n = 0; n < SITE_WINDOW && img_decode(m, a, &in); n++, a = in.next) {
		if (frame < 0) {
			const cs_x86_op *o = in.x->operands;

			if (kind == LT_FRAME_RAISE && in.id == X86_INS_CMP && in.x->op_count == 2 &&
			    mem_at(&o[0], 1, &f, FR_IS_ENTRY) && o[1].type == X86_OP_IMM && o[1].imm == 0)
				frame = f;
			else if (kind != LT_FRAME_RAISE && in.id == X86_INS_MOV && in.x->op_count == 2 &&
				 o[1].type == X86_OP_REG && mem_at(&o[0], 0, &f, FR_STACKTOP))
				frame = f;
			if (in.kind == K_JMP_IND || in.kind == K_RET)
				break;
			continue;
		}
		if (in.kind == K_JMP || in.kind == K_JCC) {
			if (x86_slot(frame) < 0)
				break;
			*s = (struct py_ret_site){ in.addr, x86_slot(frame), kind, 0 };
			return 0;
		}
		if ((in.wr & (1u << frame)) || in.kind == K_CALL || in.kind == K_CALL_IND ||
		    in.kind == K_JMP_IND || in.kind == K_RET)
			break;
	}
	return img_fail(m, "%s at 0x%lx: no usable return site", what, (unsigned long)h);
}

/* addresses of the is_entry tests on the straight path from h */
static int path_is_entry_tests(struct img *m, uint64_t h, uint64_t *out, int max)
{
	uint64_t a = h;
	struct ins in;
	int n = 0, f;

	for (int k = 0; k < PATH_MAX_INSNS && img_decode(m, a, &in); k++) {
		const cs_x86_op *o = in.x->operands;

		if (in.id == X86_INS_CMP && in.x->op_count == 2 && mem_at(&o[0], 1, &f, FR_IS_ENTRY) &&
		    o[1].type == X86_OP_IMM && o[1].imm == 0 && n < max)
			out[n++] = in.addr;
		if (in.kind == K_JMP_IND || in.kind == K_RET || in.kind == K_STOP)
			break;
		a = in.kind == K_JMP ? in.target : in.next;
	}
	return n;
}

/*
 * 3.11's exit_unwind has no opcode: it is the one test of frame->is_entry
 * in the loop that is not on the path of RETURN_VALUE or RETURN_GENERATOR
 * (which test it too before leaving a frame); YIELD_VALUE only asserts it.
 */
static int exit_unwind_site(struct img *m, uint64_t fn, uint64_t fnsize, uint64_t h_ret,
			    uint64_t h_gen, struct py_ret_site *s)
{
	uint64_t known[16], found = 0, a, lo[MAX_CANDS], hi[MAX_CANDS];
	int nknown, nfound = 0, f, nreg;
	struct ins in;

	nknown = path_is_entry_tests(m, h_ret, known, 8);
	nknown += path_is_entry_tests(m, h_gen, known + nknown, 8);
	/* the loop and its .cold parts: with PGO (python.org's images) an
	 * exception path may be moved there */
	nreg = loop_regions(m, fn, fnsize, false, lo, hi, MAX_CANDS);
	for (int r = 0; r < nreg; r++) {
		for (a = lo[r]; a < hi[r]; a = in.next) {
			const cs_x86_op *o;
			bool mine = false;

			if (!img_decode(m, a, &in)) {
				in.next = a + 1;
				continue;
			}
			o = in.x->operands;
			if (in.id != X86_INS_CMP || in.x->op_count != 2 ||
			    !mem_at(&o[0], 1, &f, FR_IS_ENTRY) || o[1].type != X86_OP_IMM || o[1].imm != 0)
				continue;
			for (int i = 0; i < nknown; i++)
				mine |= known[i] == in.addr;
			if (!mine) {
				found = in.addr;
				nfound++;
			}
		}
	}
	if (nfound != 1)
		return img_fail(m, "exit_unwind: %d tests of frame->is_entry outside RETURN_VALUE and "
			    "RETURN_GENERATOR, expected 1", nfound);
	return ret311_site(m, "exit_unwind", found, LT_FRAME_RAISE, s);
}

/* an instruction that may write the bytes [base + lo, base + hi): its
 * first operand is memory there, or anywhere off base with an index
 * (conservative: any instruction but a compare or test) */
static bool writes_at(const struct ins *in, int base, int64_t lo, int64_t hi)
{
	const cs_x86_op *o = in->x->operands;

	if (!in->x->op_count || o[0].type != X86_OP_MEM || in->id == X86_INS_CMP ||
	    in->id == X86_INS_TEST || x86_gpr(o[0].mem.base) != base)
		return false;
	return o[0].mem.index != X86_REG_INVALID ||
	       (o[0].mem.disp < hi && o[0].mem.disp + o[0].size > lo);
}

/*
 * Where a 3.12+ yield handler h (stack pointer sp, frame register frame)
 * can be probed at an emulated instruction: the first conditional jump or
 * direct call on its straight path, if there sp and frame are unchanged,
 * the frame's executable and the value's stack slot unwritten, and the
 * frame's previous unwritten or still in a register (3.14+ clear it
 * first: *prev_slot1 is then 1 + that register's slot). A single-stepped
 * probe costs about 16x an emulated one (docs/PERFORMANCE.md, issue 20);
 * nothing before such a jump or call can be emulated (an endbr64, movs).
 * h if there is none.
 */
static uint64_t yield_emulated(struct img *m, uint64_t h, int sp, int frame, uint32_t *prev_slot1)
{
	int prev = -1;
	bool prev_written = false;
	uint32_t written = 0;
	uint64_t a = h;
	struct ins in;

	*prev_slot1 = 0;
	for (int n = 0; n < PATH_WINDOW_YIELD && img_decode(m, a, &in); n++, a = in.next) {
		const cs_x86_op *o = in.x->operands;
		int b;

		if (in.kind == K_JCC || in.kind == K_CALL) {
			if ((written & (1u << sp | 1u << frame)) || (prev_written && x86_slot(prev) < 0))
				return h;
			if (prev_written)
				*prev_slot1 = 1 + x86_slot(prev);
			return in.addr;
		}
		if (in.kind != K_OTHER || writes_at(&in, frame, 0, 8) || writes_at(&in, sp, -8, 0))
			return h;
		if (writes_at(&in, frame, 8, 16)) {
			if (prev < 0)
				return h;
			prev_written = true;
		}
		if (prev >= 0 && (in.wr & (1u << prev)))
			prev = -1;
		/* mov R, [F + 8], F unchanged, before previous is written */
		if (!prev_written && in.id == X86_INS_MOV && in.x->op_count == 2 &&
		    o[0].type == X86_OP_REG && o[0].size == 8 && mem_at(&o[1], 8, &b, 8) && b == frame &&
		    !(written & (1u << frame)))
			prev = x86_gpr(o[0].reg);
		written |= in.wr;
	}
	return h;
}

/*
 * 3.12+ yield sites: the value is on top of the stack, the stack pointer
 * is the base of the first load of [SP - 8], the frame the base of the
 * first store to [F + 0x38], neither written before (gen_offsets.py's
 * yield_site), found in the handler's first instructions. The probe goes
 * where yield_emulated says.
 */
static int yield_site(struct img *m, const char *what, uint64_t h, struct py_ret_site *s)
{
	int sp = -1, frame = -1, b;
	uint32_t written = 0;
	uint64_t a = h;
	struct ins in;

	for (int n = 0; n < YIELD_WINDOW && img_decode(m, a, &in); n++, a = in.next) {
		const cs_x86_op *o = in.x->operands;

		if (sp < 0 && in.id == X86_INS_MOV && in.x->op_count == 2 && o[0].type == X86_OP_REG &&
		    mem_at(&o[1], 8, &b, -8) && !(written & (1u << b)))
			sp = b;
		if (frame < 0 && in.id == X86_INS_MOV && in.x->op_count == 2 && o[1].type == X86_OP_REG &&
		    mem_at(&o[0], 8, &b, FR_INSTR) && !(written & (1u << b)))
			frame = b;
		written |= in.wr;
		if (sp >= 0 && frame >= 0) {
			if (x86_slot(sp) < 0 || x86_slot(frame) < 0)
				break;
			*s = (struct py_ret_site){ h, x86_slot(frame), LT_FRAME_YIELD_SP, x86_slot(sp) };
			s->vaddr = yield_emulated(m, h, sp, frame, &s->prev_slot1);
			return 0;
		}
		/* a conditional jump falls through; past anything else the
		 * next instructions are another path's */
		if (in.kind != K_OTHER && in.kind != K_JCC && in.kind != K_CALL)
			break;
	}
	return img_fail(m, "%s handler at 0x%lx: no stack pointer and frame in its first "
		    "instructions", what, (unsigned long)h);
}

/*
 * 3.12+: _PyEval(Frame)ClearAndPop(tstate, frame), static, found as the
 * first call on the handler's straight path whose second argument (rsi)
 * is the frame the handler stored prev_instr into; *ra: that call's
 * return address. 0 if none.
 */
static uint64_t clear_call(struct img *m, uint64_t h, uint64_t *ra)
{
	int frame = -1, rsi_from = -1, f, r;
	uint64_t a = h;
	struct ins in;

	for (int n = 0; n < PATH_MAX_INSNS && img_decode(m, a, &in); n++) {
		const cs_x86_op *o = in.x->operands;

		if (in.kind == K_CALL && frame >= 0 && rsi_from == frame) {
			*ra = in.next;
			return img_through_plt(m, in.target);
		}
		if (in.kind == K_JMP_IND || in.kind == K_RET || in.kind == K_STOP)
			return 0;
		if (frame < 0 && store_q(&in, FR_INSTR, &f, &r)) {
			frame = f;
			a = in.next;
			continue;
		}
		if (in.wr & (1u << G_RSI)) {
			rsi_from = in.id == X86_INS_MOV && in.x->op_count == 2 && o[1].type == X86_OP_REG &&
				   o[1].size == 8 ? x86_gpr(o[1].reg) : -1;
		}
		/* the frame's register reused: its old value survives only in rsi */
		if (frame >= 0 && (in.wr & (1u << frame)) && rsi_from != frame)
			frame = -2;
		a = in.kind == K_JMP ? in.target : in.next;
	}
	return 0;
}

/* ---- putting it together ---- */

struct ctx {
	struct img m;
	const struct py_opcodes *op;
	struct cand *t;
	uint64_t fn, fnsize, dflt;	/* dflt: the table's most common entry */
};

/* the handler of an opcode; not the table's default (an opcode this build
 * does not have, i.e. a wrong opcode map) */
static int handler(struct ctx *c, const char *name, int opcode, uint64_t *h)
{
	if (opcode < 0 || opcode >= NTARGETS)
		return img_fail(&c->m, "%s: no such opcode in CPython 3.x", name);
	*h = c->t->ent[opcode];
	if (*h == c->dflt)
		return img_fail(&c->m, "%s (opcode %d) has the dispatch table's default handler: "
			    "not this build's opcode map", name, opcode);
	return 0;
}

static uint64_t most_common(const uint64_t *ent)
{
	uint64_t e[NTARGETS], best = 0;
	int run = 0, bestrun = 0;

	memcpy(e, ent, sizeof(e));
	qsort(e, NTARGETS, sizeof(e[0]), cmp_u64p);
	for (int i = 0; i < NTARGETS; i++) {
		run = i && e[i] == e[i - 1] ? run + 1 : 1;
		if (run > bestrun) {
			bestrun = run;
			best = e[i];
		}
	}
	/* a table where no entry repeats has no default */
	return bestrun > 1 ? best : 0;
}

static int add_resume(struct ctx *c, struct py_build *out, const char *name, int opcode,
		      bool relaxed)
{
	struct py_site s;
	uint64_t h = 0;

	if (handler(c, name, opcode, &h) || resume_site(&c->m, name, h, relaxed, &s))
		return -1;
	for (int i = 0; i < out->nresume; i++)
		if (out->resume[i].vaddr == s.vaddr)
			return 0;	/* a handler the compiler shared */
	if (out->nresume == PY_SITES_MAX_RESUME)
		return img_fail(&c->m, "more than %d RESUME sites", PY_SITES_MAX_RESUME);
	out->resume[out->nresume++] = s;
	return 0;
}

static int add_ret(struct ctx *c, struct py_build *out, const struct py_ret_site *s)
{
	for (int i = 0; i < out->nret; i++)
		if (out->ret[i].vaddr == s->vaddr)
			return 0;
	if (out->nret == PY_SITES_MAX_RET)
		return img_fail(&c->m, "more than %d return sites", PY_SITES_MAX_RET);
	out->ret[out->nret++] = *s;
	return 0;
}

static int sites311(struct ctx *c, struct py_build *out)
{
	uint64_t h_ret = 0, h_yield = 0, h_gen = 0;
	struct py_ret_site s;

	if (add_resume(c, out, "RESUME_QUICK", c->op->resume_quick, false) ||
	    add_resume(c, out, "RESUME", c->op->resume, false))
		return -1;
	if (handler(c, "RETURN_VALUE", c->op->return_value, &h_ret) ||
	    handler(c, "YIELD_VALUE", c->op->yield_value, &h_yield) ||
	    handler(c, "RETURN_GENERATOR", c->op->return_generator, &h_gen))
		return -1;
	/* all three or none: a build with the function__return note does
	 * without them (gen_offsets.py: "USDT only"); why keeps the reason */
	if (ret311_site(&c->m, "RETURN_VALUE", h_ret, LT_FRAME_RETURN, &s) || add_ret(c, out, &s) ||
	    ret311_site(&c->m, "YIELD_VALUE", h_yield, LT_FRAME_YIELD, &s) || add_ret(c, out, &s) ||
	    exit_unwind_site(&c->m, c->fn, c->fnsize, h_ret, h_gen, &s) || add_ret(c, out, &s)) {
		out->nret = 0;
		memset(out->ret, 0, sizeof(out->ret));
	}
	return 0;
}

/*
 * A function of a CET build starts with endbr64, which the kernel's
 * uprobes do not emulate: a probe there is single-stepped out of line,
 * a debug trap more per hit (about 8 us against 0.47 us on the guest of
 * issue 20's fourth round: 3.14's floor was 16.9 us per call). The
 * instruction after it sees the same registers (the arguments); when it
 * is a push of a register, which the kernel emulates, the probe goes
 * there. a otherwise.
 */
uint64_t past_endbr(struct img *m, uint64_t a)
{
	struct ins in;
	uint64_t next;

	if (!img_decode(m, a, &in) || in.id != X86_INS_ENDBR64)
		return a;
	next = in.next;
	if (img_decode(m, next, &in) && in.id == X86_INS_PUSH && in.x->op_count == 1 &&
	    in.x->operands[0].type == X86_OP_REG)
		return next;
	return a;
}

static int sites312(struct ctx *c, struct py_build *out)
{
	/* not the INSTRUMENTED_* variants: their straight path is the error
	 * path of the instrumentation call (they free the frame the same way) */
	static const char *const rets[] = { "RETURN_VALUE", "RETURN_CONST" };
	int rop[] = { c->op->return_value, c->op->return_const };
	uint64_t h = 0, h_yield = 0, clear = 0, ra[2] = { 0, 0 };
	struct py_ret_site s;

	if (add_resume(c, out, "RESUME", c->op->resume, true))
		return -1;
	if (c->op->resume_check >= 0 && add_resume(c, out, "RESUME_CHECK", c->op->resume_check, true))
		return -1;
	if (add_resume(c, out, "INSTRUMENTED_RESUME", c->op->instr_resume, true))
		return -1;
	/* every return handler that calls a function with the frame as its
	 * second argument must call the same one; RETURN_VALUE must */
	for (size_t i = 0; i < sizeof(rets) / sizeof(rets[0]); i++) {
		uint64_t t;

		if (rop[i] < 0)
			continue;
		if (handler(c, rets[i], rop[i], &h))
			return -1;
		t = clear_call(&c->m, h, &ra[i]);
		if (!t && i == 0)
			return img_fail(&c->m, "RETURN_VALUE's handler at 0x%lx calls no function with the "
				    "frame (_PyEval_FrameClearAndPop)", (unsigned long)h);
		if (t && clear && t != clear)
			return img_fail(&c->m, "RETURN_VALUE and %s free the frame through different "
				    "functions (0x%lx, 0x%lx)", rets[i], (unsigned long)clear,
				    (unsigned long)t);
		if (t)
			clear = t;
	}
	if (c->m.nfstart && !img_is_fstart(&c->m, clear))
		return img_fail(&c->m, "RETURN_VALUE's call target 0x%lx is not a function start",
			    (unsigned long)clear);
	/* 3.14+ (no RETURN_CONST): a frame freed from there returned its
	 * stack's top. Its continuation (push the value, resume the caller)
	 * may be INSTRUMENTED_RETURN_VALUE's too (the same value), never
	 * exit_unwind's nor _PyEvalFramePushAndInit's. 3.12 and 3.13 may merge
	 * RETURN_CONST's tail with it: none there */
	out->clear_ra_value = rop[1] < 0 ? ra[0] : 0;
	s = (struct py_ret_site){ past_endbr(&c->m, clear), x86_slot(G_RSI), LT_FRAME_CLEAR,
				  x86_slot(G_RDI) };
	if (add_ret(c, out, &s))
		return -1;
	if (handler(c, "YIELD_VALUE", c->op->yield_value, &h_yield) ||
	    yield_site(&c->m, "YIELD_VALUE", h_yield, &s) || add_ret(c, out, &s))
		return -1;
	if (handler(c, "INSTRUMENTED_YIELD_VALUE", c->op->instr_yield_value, &h) ||
	    yield_site(&c->m, "INSTRUMENTED_YIELD_VALUE", h, &s) || add_ret(c, out, &s))
		return -1;
	return 0;
}

int py_sites_find(const char *path, int minor, struct py_build *out, char *why, size_t whylen)
{
	struct ctx c = { .m = { .fd = -1, .why = why, .whylen = whylen } };
	struct py_build b = *out;
	int err = -1;

	if (whylen)
		why[0] = '\0';
	if (minor < 8 || minor > 15)
		return img_fail(&c.m, "CPython 3.%d: no probe sites known for it", minor);
	c.op = py_opcodes_of(minor);
	if (!c.op)
		return img_fail(&c.m, "CPython 3.%d: no opcode map here (tools/gen_opcodes.py)", minor);
	if (img_open(&c.m, path))
		goto cleanup;
	if (!img_sym(&c.m, "_PyEval_EvalFrameDefault", &c.fn, &c.fnsize) || !c.fnsize) {
		img_fail(&c.m, "no _PyEval_EvalFrameDefault symbol (not a CPython interpreter)");
		goto cleanup;
	}
	b.nresume = b.nret = 0;
	b.clear_ra_value = 0;
	memset(b.resume, 0, sizeof(b.resume));
	memset(b.ret, 0, sizeof(b.ret));
	b.evalframe = (struct py_site){ 0 };
	py_gone_sites(&c.m, &b);
	if (whylen)
		why[0] = '\0';	/* not found is no failure */
	/* 3.8-3.10, and 3.12 with -X perf: every Python call is a C call of
	 * _PyEval_EvalFrameDefault(tstate, frame, throwflag); 3.8 has no
	 * tstate argument */
	if (minor <= 10 || minor == 12)
		b.evalframe = (struct py_site){ c.fn, x86_slot(minor == 8 ? G_RDI : G_RSI), 0 };
	if (minor >= 11) {
		if (find_table(&c.m, c.fn, c.fnsize, &c.t))
			goto cleanup;
		c.dflt = most_common(c.t->ent);
		if ((minor == 11 ? sites311(&c, &b) : sites312(&c, &b)))
			goto cleanup;
		/* the loop keeps the frame in one register (GCC allocates it
		 * for the whole function): a handler whose pattern matched
		 * another register matched something else */
		for (int i = 0; i < b.nresume + b.nret; i++) {
			unsigned r = i < b.nresume ? b.resume[i].frame_reg : b.ret[i - b.nresume].frame_reg;

			if (i >= b.nresume && b.ret[i - b.nresume].kind == LT_FRAME_CLEAR)
				continue;	/* a function's argument, rsi */
			if (r != b.resume[0].frame_reg) {
				img_fail(&c.m, "the frame is in pt_regs slot %u at the first RESUME site "
					 "but in slot %u at site 0x%lx: refusing to guess",
					 b.resume[0].frame_reg, r, (unsigned long)(i < b.nresume ?
					 b.resume[i].vaddr : b.ret[i - b.nresume].vaddr));
				goto cleanup;
			}
		}
	}
	*out = b;
	err = 0;
cleanup:
	free(c.t);
	img_close(&c.m);
	return err;
}

int py_sites_describe(const struct py_build *b, char *buf, size_t len)
{
	static const char *const kinds[] = { "return", "yield", "raise", "clear", "yield_sp" };
	size_t n = 0;

#define PUT(...) (n += snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, __VA_ARGS__))
	if (len)
		buf[0] = '\0';
	for (int i = 0; i < b->nresume; i++)
		PUT("resume 0x%lx frame %u instr %u\n", (unsigned long)b->resume[i].vaddr,
		    b->resume[i].frame_reg, b->resume[i].instr_reg);
	for (int i = 0; i < b->nret; i++) {
		PUT("ret 0x%lx frame %u kind %s aux %u", (unsigned long)b->ret[i].vaddr,
		    b->ret[i].frame_reg, b->ret[i].kind < 5 ? kinds[b->ret[i].kind] : "?",
		    b->ret[i].aux_reg);
		if (b->ret[i].prev_slot1)
			PUT(" prev %u", b->ret[i].prev_slot1 - 1);
		PUT("\n");
	}
	if (b->evalframe.vaddr)
		PUT("evalframe 0x%lx frame %u\n", (unsigned long)b->evalframe.vaddr,
		    b->evalframe.frame_reg);
	if (b->clear_ra_value)
		PUT("clear_ra 0x%lx return_value\n", (unsigned long)b->clear_ra_value);
	if (b->code_free.vaddr)
		PUT("code_free 0x%lx obj %u\n", (unsigned long)b->code_free.vaddr,
		    b->code_free.frame_reg);
	if (b->type_free.vaddr)
		PUT("type_free 0x%lx obj %u\n", (unsigned long)b->type_free.vaddr,
		    b->type_free.frame_reg);
	if (b->type_rename.vaddr)
		PUT("type_rename 0x%lx obj %u\n", (unsigned long)b->type_rename.vaddr,
		    b->type_rename.frame_reg);
#undef PUT
	return (int)n;
}

int py_jit_compiled(const char *path, char *why, size_t whylen)
{
	static const char env[] = "\0PYTHON_JIT";	/* with both NULs: the whole string */
	struct img m = { .fd = -1, .why = why, .whylen = whylen };
	int ret = -1;

	if (img_load(&m, path))
		goto cleanup;
	ret = 0;
	for (Elf_Scn *scn = NULL; !ret && (scn = elf_nextscn(m.elf, scn));) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (!gelf_getsym(d, i, &s) || s.st_shndx == SHN_UNDEF)
				continue;
			n = elf_strptr(m.elf, sh.sh_link, s.st_name);
			if (n && (!strncmp(n, "_PyJIT_", 7) || !strncmp(n, "_Py_LazyJit", 11))) {
				ret = 1;
				break;
			}
		}
	}
	/* pylifecycle.c reads PYTHON_JIT only when built with the JIT */
	if (!ret && memmem(m.raw, m.rawlen, env, sizeof(env)))
		ret = 1;
cleanup:
	img_close(&m);
	return ret;
}
