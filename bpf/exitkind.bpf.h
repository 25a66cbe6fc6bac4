// SPDX-License-Identifier: GPL-2.0
/*
 * leaktrace BPF side, part of leaktrace.bpf.c (included once, where it
 * stands): how a 3.12+ frame freed by
 * _PyEval(Frame)ClearAndPop exited: the opcode at its last instruction
 * (one a LINE or INSTRUCTION tool hid is read from the code's monitoring
 * data) and, for a return, where its value is.
 *
 * Uses from leaktrace.bpf.c: layouts, the scratch's frame header (hdr64),
 * popped_value() and rd64().
 */
/* 3.12+: the opcode an instrumentation tool hid at instr, an instruction
 * of code: INSTRUMENTED_LINE (a LINE tool: coverage, sys.settrace) keeps
 * it in the monitoring data's lines, INSTRUMENTED_INSTRUCTION (an
 * INSTRUCTION tool) in its per_instruction_opcodes, a line's opcode may be
 * the latter. op itself when it hides nothing; -1 when unreadable. A few
 * reads, only where a tool is active */
static __always_inline int hidden_opcode(const struct lt_py_layout *L, __u64 code, __u64 instr, int op)
{
	__u64 mon, lines, i, at;
	__u8 b = 0, bpe = 0;
	int fail = 0;

	if (op != layout.op_instr_line && op != layout.op_instr_instruction)
		return op;
	if (!layout.co_monitoring)
		return -1;
	mon = rd64(code + layout.co_monitoring, &fail);
	i = (instr - code - layout.co_code_adaptive) >> 1;
	if (fail || !mon || i >= (1u << 24))
		return -1;
	if (op == layout.op_instr_line) {
		lines = rd64(mon + layout.mon_lines, &fail);
		if (fail || !lines)
			return -1;
		at = lines + 2 * i;
		if (layout.lines_format != LT_LINES_PAIRS) {
			if (bpf_probe_read_user(&bpe, 1, (void *)lines))
				return -1;
			if (bpe)
				at = lines + 1 + i * bpe;
			else if (layout.lines_format == LT_LINES_BPE)
				return -1;	/* no entry size: unreadable */
		}
		if (bpf_probe_read_user(&b, 1, (void *)at))
			return -1;
		op = b;
		if (op != layout.op_instr_instruction)
			return op;
	}
	lines = rd64(mon + layout.mon_per_instr, &fail);
	if (fail || !lines || bpf_probe_read_user(&b, 1, (void *)(lines + i)))
		return -1;
	return b;
}

/* 3.12+, a frame freed by _PyEval(Frame)ClearAndPop: an exception exit if
 * one is set, else the instruction at prev_instr tells where the value is
 * (RETURN_CONST: in co_consts; RETURN_VALUE: the popped stack slot);
 * anything else means the frame never ran (its arguments did not bind).
 * Returns the kind, *retval set for LT_FRAME_RETURN. */
static __always_inline int clear_kind(const struct lt_py_layout *L, const struct scratch *s, struct lt_rec_ret *r, __u64 frame,
				      __u64 tstate, __u64 *retval, int *fail)
{
	__u64 instr, consts;
	__u8 op[2] = {}, ext[2] = {};
	__u32 arg;
	int real;

	if (rd64(tstate + layout.ts_curexc_type, fail))
		return LT_FRAME_RAISE;
	instr = hdr64(s, layout.fr_prev_instr);
	if (*fail || bpf_probe_read_user(op, 2, (void *)instr))
		return LT_FRAME_RETURN;
	/* a return that starts its line under a LINE tool (coverage,
	 * sys.settrace), or any under an INSTRUCTION tool */
	real = hidden_opcode(L, r->code, instr, op[0]);
	if (real < 0) {
		*fail = 1;	/* its value unknown, and said so (READFAIL) */
		return LT_FRAME_RETURN;
	}
	op[0] = real;
	if (op[0] == layout.op_return_const || op[0] == layout.op_instr_return_const) {
		arg = op[1];
		if (!bpf_probe_read_user(ext, 2, (void *)(instr - 2)) &&
		    hidden_opcode(L, r->code, instr - 2, ext[0]) == layout.op_extended_arg)
			arg |= (__u32)ext[1] << 8;
		consts = rd64(r->code + layout.co_consts, fail);
		*retval = rd64(consts + layout.tuple_items + 8 * (__u64)(arg & 0xffff), fail);
		return LT_FRAME_RETURN;
	}
	if (op[0] == layout.op_return_value || op[0] == layout.op_instr_return_value) {
		*retval = popped_value(L, s, frame, fail);
		return LT_FRAME_RETURN;
	}
	r->flags |= LT_RF_DROP;
	return LT_FRAME_RETURN;
}
