#!/usr/bin/python3
"""The probe sites of a CPython build as gen_offsets.py finds them with
DWARF and gdb, printed in .output/pysites's format, for
tests/unit/test_sites.c to compare with py_sites_find's (no DWARF).

Usage: sites_expected.py FILE MINOR [DEBUG_FILE_DIRECTORY]
Exit 0 with the lines, 3 when gdb finds no debug info for FILE (the test
then says SKIP), 1 on anything else.

Beyond gen_offsets.py's own sites this also reads, with its functions,
the INSTRUMENTED_RESUME and INSTRUMENTED_YIELD_VALUE handlers of 3.12+
(sys.monitoring), which leaktrace's table has not needed until now.

A handler starts where the dispatch table (DWARF's opcode_targets, 3.15's
opcode_targets_table) points, with the opcode numbers of
user/pybuild/opcodes.c. gdb's address of a TARGET_X label is used only
when it agrees: in GCC 16 LTO builds (Debian sid 3.15 YIELD_VALUE, trixie
3.13 INSTRUMENTED_YIELD_VALUE) the label's address is the tail of the
previous handler, a few bytes before the endbr64 the table points to.
The ClearAndPop site is the function's start, or past its endbr64 when a
push follows (issue 20: the kernel single-steps endbr64 out of line); a
yield site is moved to its handler's first conditional jump or call on
the same grounds when the registers and frame fields it reads still hold
(yield_emulated). 3.14+: the return address of RETURN_VALUE's call of
ClearAndPop (clear_ra), read with objdump. Every build: code_dealloc,
type_dealloc and type_set_name by their DWARF names (past endbr64 as
above), where the BPF side counts objects freed or renamed.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for d in ("tools", "scripts"):  # scripts/ is moving to tools/
    if os.path.exists(os.path.join(ROOT, d, "gen_offsets.py")):
        sys.path.insert(0, os.path.join(ROOT, d))
        break
import gen_offsets as g  # noqa: E402

KINDS = ["return", "yield", "raise", "clear", "yield_sp"]
CLEAR = {12: "_PyEvalFrameClearAndPop"}


def opcode_numbers(minor):
    """name -> number from user/pybuild/opcodes.c's row for 3.<minor>"""
    src = open(os.path.join(ROOT, "user", "pybuild", "opcodes.c")).read()
    m = re.search(r"\[%d\] = \{[^}]*\}" % minor, src)
    fields = dict((k, int(v)) for k, v in re.findall(r"\.(\w+) = (-?\d+)", m.group(0))) if m else {}
    names = {"resume": "RESUME", "resume_quick": "RESUME_QUICK", "resume_check": "RESUME_CHECK",
             "return_value": "RETURN_VALUE", "yield_value": "YIELD_VALUE",
             "instr_resume": "INSTRUMENTED_RESUME",
             "instr_yield_value": "INSTRUMENTED_YIELD_VALUE"}
    return dict((names[k], v) for k, v in fields.items() if k in names and v >= 0)


def use_dispatch_table(path, minor):
    """make gen_offsets.label_addr return the table's entry for TARGET_X"""
    table = None
    exprs = ["&_PyEval_EvalFrameDefault::opcode_targets", "&opcode_targets"]
    # 3.15's opcode_targets_table (LTO) is only a minimal symbol for gdb:
    # take its address from the symbol list
    out = g.gdb(path, ["info variables ^opcode_targets_table$"])
    exprs += ["(unsigned long)" + a for a in re.findall(r"^(0x[0-9a-f]+)\s+opcode_targets_table$", out, re.M)]
    for e in exprs:
        out = g.gdb(path, ["set print elements unlimited", "set print repeats unlimited",
                           "print/x *(unsigned long(*)[256])" + e])
        m = re.search(r"^\$\d+ = \{(.*)\}", out, re.M)
        if m:
            table = [int(v, 16) for v in re.findall(r"0x[0-9a-f]+", m.group(1))]
            break
    if not table or len(table) != 256:
        print("no dispatch table in the DWARF of " + path, file=sys.stderr)
        sys.exit(1)
    ops = opcode_numbers(minor)
    plain = g.label_addr

    def label_addr(p, label):
        name = label[len("TARGET_"):] if label.startswith("TARGET_") else None
        if name not in ops:
            return plain(p, label)
        return table[ops[name]]
    g.label_addr = label_addr


def past_endbr(path, a):
    """leaktrace probes a function that starts with endbr64 on the next
    instruction when that is a push of a register (the kernel emulates a
    push, not endbr64): its address then, read with objdump, else a"""
    out = subprocess.run(["objdump", "-d", "--start-address=0x%x" % a,
                          "--stop-address=0x%x" % (a + 12), path],
                         capture_output=True, text=True).stdout
    ins = re.findall(r"^ +([0-9a-f]+):\t[0-9a-f ]+\t(\S+)[ \t]*(\S*)", out, re.M)
    if len(ins) >= 2 and ins[0][1] == "endbr64" and ins[1][1] == "push" and \
            ins[1][2].startswith("%"):
        return int(ins[1][0], 16)
    return a


GPR = {}
for _r in ("ax", "bx", "cx", "dx"):
    for _n in ("r" + _r, "e" + _r, _r, _r[0] + "l", _r[0] + "h"):
        GPR[_n] = "r" + _r
for _r in ("si", "di", "bp", "sp"):
    for _n in ("r" + _r, "e" + _r, _r, _r + "l"):
        GPR[_n] = "r" + _r
for _i in range(8, 16):
    for _n in ("", "d", "w", "b"):
        GPR["r%d%s" % (_i, _n)] = "r%d" % _i
WIDTH = {"b": 1, "w": 2, "l": 4, "q": 8}


def reg_width(name):
    if name.startswith("r") and name[1:].isdigit() or name in ("rax", "rbx", "rcx", "rdx",
                                                             "rsi", "rdi", "rbp", "rsp"):
        return 8
    if name.endswith("d") or name.startswith("e"):
        return 4
    if name.endswith(("l", "h", "b")):
        return 1
    return 2


def yield_emulated(path, start, frame_slot, sp_slot):
    """leaktrace probes a 3.12+ yield handler at its first conditional
    jump or direct call (emulated by the kernel; the handler's first
    instruction is single-stepped) when there the frame and stack pointer
    registers are unchanged, nothing was stored over the frame's
    executable (+0) or the value's slot (SP - 8), and the frame's previous
    (+8) is unchanged or still in a register loaded from it. Read with
    objdump: (site, 1 + previous's slot or 0)"""
    slot_reg = dict((v, k) for k, v in g.PT_REGS.items())
    frame, sp = slot_reg[frame_slot], slot_reg[sp_slot]
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "--start-address=0x%x" % start,
                          "--stop-address=0x%x" % (start + 400), path],
                         capture_output=True, text=True).stdout
    written, prev, prev_written = set(), None, False
    ins = re.findall(r"^ +([0-9a-f]+):\t(\S+)[ \t]*(\S*)", out, re.M)
    for addr, op, args in ins[:40]:
        if op.startswith("j") and op != "jmp" or (op == "call" and not args.startswith("*")):
            if frame in written or sp in written or (prev_written and prev is None):
                return start, 0
            return int(addr, 16), (1 + g.PT_REGS[prev]) if prev_written else 0
        if op.startswith(("j", "call", "ret", "hlt", "ud2")):
            return start, 0
        opnds = re.findall(r"(?:[^,(]|\([^)]*\))+", args)
        dst = opnds[-1] if opnds else ""
        m = re.match(r"(-?0x[0-9a-f]+|-?\d+)?\(%(\w+)(,[^)]*)?\)$", dst)
        if m and not op.startswith(("cmp", "test")):
            disp = int(m.group(1), 0) if m.group(1) else 0
            src = re.match(r"%(\w+)$", opnds[0]) if len(opnds) > 1 else None
            size = WIDTH.get(op[-1], 8) if op[-1] in WIDTH and op not in ("shl", "sal") else \
                (reg_width(src.group(1)) if src else 8)
            base = GPR.get(m.group(2))
            if m.group(3) and base in (frame, sp):
                return start, 0     # indexed: anywhere off that register
            if base == frame and disp < 8 and disp + size > 0:
                return start, 0
            if base == sp and disp < 0 and disp + size > -8:
                return start, 0
            if base == frame and disp < 16 and disp + size > 8:
                if prev is None:
                    return start, 0
                prev_written = True
        d = re.match(r"%(\w+)$", dst)
        dreg = GPR.get(d.group(1)) if d else None
        if dreg and dreg == prev:
            prev = None
        if not prev_written and op == "mov" and d and reg_width(d.group(1)) == 8 and \
                len(opnds) == 2 and re.match(r"0x8\(%" + frame + r"\)$", opnds[0]) and \
                frame not in written:
            prev = dreg
        if dreg:
            written.add(dreg)
        if op.startswith(("xchg", "xadd")) and len(opnds) == 2 and re.match(r"%(\w+)$", opnds[0]):
            written.add(GPR.get(opnds[0][1:]))
    return start, 0


def call_return(path, start, fn):
    """the return address of the first call of fn (directly or through
    its PLT stub, as objdump names it) on the straight path from start,
    following direct jumps: 3.14+'s RETURN_VALUE calling ClearAndPop"""
    a = start
    for _ in range(20):
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "--start-address=0x%x" % a,
                              "--stop-address=0x%x" % (a + 600), path],
                             capture_output=True, text=True).stdout
        ins = re.findall(r"^ +([0-9a-f]+):\t(\S+)[ \t]*([^\n]*)", out, re.M)
        for i, (addr, op, args) in enumerate(ins):
            t = re.match(r"([0-9a-f]+) <([^>]*)>", args)
            if op == "call" and t and (int(t.group(1), 16) == fn or "ClearAndPop" in t.group(2)):
                return int(ins[i + 1][0], 16)
            if op == "jmp" and t:
                a = int(t.group(1), 16)
                break
            if op.startswith(("ret", "hlt", "ud2")) or (op == "jmp" and not t):
                raise SystemExit("no call of 0x%x from 0x%x" % (fn, start))
        else:
            raise SystemExit("no call of 0x%x from 0x%x" % (fn, start))
    raise SystemExit("no call of 0x%x from 0x%x" % (fn, start))


def gdb_value(path, expr):
    out = g.gdb(path, ["print (long)" + expr])
    m = re.search(r"^\$\d+ = (-?\d+)", out, re.M)
    return int(m.group(1)) if m else None


def main():
    path, minor = sys.argv[1], int(sys.argv[2])
    if len(sys.argv) > 3:
        # gdb reads the debug directory when it loads the file: -iex
        def gdb(p, cmds):
            args = ["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off",
                    "-iex", "set debug-file-directory " + sys.argv[3]]
            for c in cmds:
                args += ["-ex", c]
            return subprocess.run(args + [p], capture_output=True, text=True, timeout=300).stdout
        g.gdb = gdb
    fn = gdb_value(path, "&_PyEval_EvalFrameDefault")
    if fn is None or gdb_value(path, "sizeof(PyObject)") is None:
        sys.exit(3)
    lines = []
    if minor >= 11:
        use_dispatch_table(path, minor)
    if minor == 11:
        d = g.describe(path) if g.build_id(path) else None
        if not d or len(d[4]) != 3:
            print("gen_offsets.py found no 3.11 sites in " + path, file=sys.stderr)
            sys.exit(1)
        for a, f, i in d[3]:
            lines.append("resume 0x%x frame %d instr %d" % (a, f, i))
        for a, f, k in d[4]:
            lines.append("ret 0x%x frame %d kind %s aux 0" % (a, f, KINDS[k]))
    elif minor >= 12:
        labels = ["TARGET_RESUME"] + (["TARGET_RESUME_CHECK"] if minor >= 13 else [])
        seen = set()
        for label in labels + ["TARGET_INSTRUMENTED_RESUME"]:
            s = g.resume_site(path, label, 0x38, relaxed=True)
            if not s:
                print("no site at " + label, file=sys.stderr)
                sys.exit(1)
            if s[0] not in seen:
                seen.add(s[0])
                lines.append("resume 0x%x frame %d instr %d" % s)
        clear = gdb_value(path, "&" + CLEAR.get(minor, "_PyEval_FrameClearAndPop"))
        lines.append("ret 0x%x frame 13 kind clear aux 14" % past_endbr(path, clear))
        plain_label = g.label_addr
        for label in ("TARGET_YIELD_VALUE", "TARGET_INSTRUMENTED_YIELD_VALUE"):
            g.label_addr = lambda p, _l, label=label: plain_label(p, label)
            y = g.yield_site(path)
            if not y:
                print("no site at " + label, file=sys.stderr)
                sys.exit(1)
            site, prev1 = yield_emulated(path, y[0], y[1], y[2])
            lines.append("ret 0x%x frame %d kind yield_sp aux %d" % ((site,) + y[1:]) +
                         (" prev %d" % (prev1 - 1) if prev1 else ""))
        g.label_addr = plain_label
        if minor >= 14:     # no RETURN_CONST: RETURN_VALUE's call tells a return
            lines.append("clear_ra 0x%x return_value" %
                         call_return(path, g.label_addr(path, "TARGET_RETURN_VALUE"), clear))
    if minor <= 10 or minor == 12:
        lines.append("evalframe 0x%x frame %d" % (fn, 14 if minor == 8 else 13))
    # where a code or type object's identity ends (PyCode_Type's and
    # PyType_Type's tp_dealloc, the __name__ setter), the object in rdi
    # (pt_regs slot 14)
    for what, func in (("code_free", "code_dealloc"), ("type_free", "type_dealloc"),
                       ("type_rename", "type_set_name")):
        a = gdb_value(path, "&" + func)
        if a is None:
            print("no %s in the DWARF of %s" % (func, path), file=sys.stderr)
            sys.exit(1)
        lines.append("%s 0x%x obj 14" % (what, past_endbr(path, a)))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
