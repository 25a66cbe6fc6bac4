#!/usr/bin/python3.11
"""Generate the CPython offset table (C initializers) from installed DWARF.

For every CPython build on this machine whose debug info gdb can read
(Debian's python3.X with python3.X-dbg installed; pyenv builds, which keep
their DWARF), print one `struct py_build` initializer: the build-id, the
version, the struct offsets the tracer reads at run time, and the probe
sites inside _PyEval_EvalFrameDefault (the first conditional jump after the
store to frame->prev_instr in each RESUME handler; docs/PYTHON_VERSIONS.md).

Usage: gen_offsets.py [BINARY...]  (default: the known locations)
Output goes to stdout; a build without debug info is skipped with a note on
stderr, so the generated table may be empty (the checked-in table in
user/pybuild/py_builds_known.h still applies).
"""
import glob
import os
import re
import subprocess
import sys

# (C field, gdb expression): the code object's fields every mechanism reads
CODE_OFFSETS = [
    ("co_argcount", "(long)&((PyCodeObject*)0)->co_argcount"),
    ("co_firstlineno", "(long)&((PyCodeObject*)0)->co_firstlineno"),
    ("co_filename", "(long)&((PyCodeObject*)0)->co_filename"),
    ("co_name", "(long)&((PyCodeObject*)0)->co_name"),
]

# the value objects decoded up to 3.11 (3.12 changed int)
VALUE_OFFSETS = [
    ("type_tp_name", "(long)&((PyTypeObject*)0)->tp_name"),
    ("var_ob_size", "(long)&((PyVarObject*)0)->ob_size"),
    ("long_digit", "(long)&((PyLongObject*)0)->ob_digit"),
    ("float_fval", "(long)&((PyFloatObject*)0)->ob_fval"),
    ("str_length", "(long)&((PyASCIIObject*)0)->length"),
    ("str_state", "(long)&((PyASCIIObject*)0)->state"),
    ("str_ascii_size", "sizeof(PyASCIIObject)"),
    ("str_compact_size", "sizeof(PyCompactUnicodeObject)"),
]

# (C field, gdb expression) for every offset the 3.11 mechanisms use
OFFSETS = [
    ("rt_tstate_current", "(long)&((_PyRuntimeState*)0)->gilstate.tstate_current"),
    ("ts_cframe", "(long)&((PyThreadState*)0)->cframe"),
    ("ts_curexc_type", "(long)&((PyThreadState*)0)->curexc_type"),
    ("ts_native_thread_id", "(long)&((PyThreadState*)0)->native_thread_id"),
    ("cf_current_frame", "(long)&((_PyCFrame*)0)->current_frame"),
    ("fr_code", "(long)&((struct _PyInterpreterFrame*)0)->f_code"),
    ("fr_previous", "(long)&((struct _PyInterpreterFrame*)0)->previous"),
    ("fr_prev_instr", "(long)&((struct _PyInterpreterFrame*)0)->prev_instr"),
    ("fr_stacktop", "(long)&((struct _PyInterpreterFrame*)0)->stacktop"),
    ("fr_localsplus", "(long)&((struct _PyInterpreterFrame*)0)->localsplus"),
    ("fr_is_entry", "(long)&((struct _PyInterpreterFrame*)0)->is_entry"),
    ("co_qualname", "(long)&((PyCodeObject*)0)->co_qualname"),
] + CODE_OFFSETS + VALUE_OFFSETS

# what record -p walks before attaching (the live check): the thread
# states of the first interpreter and each one's current frame
def live_offsets(ver):
    old = ver in ("3.8", "3.9", "3.10")
    cur = "frame" if old else "cframe" if ver in ("3.11", "3.12") else "current_frame"
    out = [
        ("rt_interp_head", "(long)&((_PyRuntimeState*)0)->interpreters.head"),
        ("is_threads_head", "(long)&((PyInterpreterState*)0)->" + ("tstate_head" if old else "threads.head")),
        ("ts_next", "(long)&((PyThreadState*)0)->next"),
        ("ts_cur_frame", "(long)&((PyThreadState*)0)->" + cur),
        ("ob_type", "(long)&((PyObject*)0)->ob_type"),
    ]
    if ver == "3.12":
        out.append(("cf_current_frame", "(long)&((_PyCFrame*)0)->current_frame"))
    return out


LABELS = ["TARGET_RESUME_QUICK", "TARGET_RESUME"]

# x86-64 struct pt_regs slot of each register (index of 8-byte words)
PT_REGS = {"r15": 0, "r14": 1, "r13": 2, "r12": 3, "rbp": 4, "rbx": 5,
           "r11": 6, "r10": 7, "r9": 8, "r8": 9, "rax": 10, "rcx": 11,
           "rdx": 12, "rsi": 13, "rdi": 14}


def note(msg):
    print("gen_offsets: " + msg, file=sys.stderr)


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def gdb(path, cmds):
    args = ["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off"]
    for c in cmds:
        args += ["-ex", c]
    args.append(path)
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    return p.stdout


def version_of(path):
    """X.Y from the file name (python3.11, libpython3.11.so.1.0)."""
    m = re.search(r"python(\d+\.\d+)", os.path.basename(path))
    return m.group(1) if m else None


def resume_site(path, label, prev_instr_off, relaxed=False):
    start = label_addr(path, label)
    if start is None:
        return None
    frame_reg = instr_reg = None
    store = re.compile(r"mov\s+%%(\w+),0x%x\(%%(\w+)\)" % prev_instr_off)
    for addr, op, args in insns(path, start):
        if frame_reg is None:
            s = store.search(op + " " + args)
            if s:
                instr_reg, frame_reg = s.group(1), s.group(2)
            continue
        # a direct conditional or unconditional jump: the kernel emulates it
        if re.match(r"j[a-z]+$", op) and not args.startswith("*"):
            if frame_reg not in PT_REGS or (instr_reg not in PT_REGS and instr_reg != "mem"):
                return None
            # the registers must still hold frame and prev_instr here
            # (slot 0xfe: prev_instr only in memory)
            return addr, PT_REGS[frame_reg], PT_REGS.get(instr_reg, 0xfe)
        if re.search(r",%%%s\b" % frame_reg, args):
            return None  # clobbered before the jump: not a usable site
        if instr_reg != "mem" and re.search(r",%%%s\b" % instr_reg, args):
            if not relaxed:
                return None
            instr_reg = "mem"  # 3.12+: read frame->prev_instr from memory
    return None


# return sites: (label, kind); kind 0 return, 1 yield, 2 exception exit
RET_LABELS = [("TARGET_RETURN_VALUE", 0), ("TARGET_YIELD_VALUE", 1), ("exit_unwind", 2)]


def label_addr(path, label):
    out = gdb(path, ["info line _PyEval_EvalFrameDefault:" + label])
    m = re.search(r"(?:starts at|is at) address (0x[0-9a-f]+)", out)
    return int(m.group(1), 16) if m else None


def insns(path, start, n=40):
    for line in gdb(path, ["x/%di 0x%x" % (n, start)]).splitlines():
        m = re.match(r"\s*(?:=>\s*)?(0x[0-9a-f]+)\s+<[^>]*>:\s+(\S+)\s*(.*)", line)
        if m:
            yield int(m.group(1), 16), m.group(2), m.group(3)


def ret_site(path, label, kind, offs):
    """The first conditional jump after the frame is known in a register:
    for RETURN_VALUE / YIELD_VALUE after the store of frame->stacktop (the
    popped value stays in localsplus[stacktop]), for exit_unwind at the
    test of frame->is_entry. Returns (vaddr, frame pt_regs slot, kind)."""
    start = label_addr(path, label)
    if start is None:
        return None
    if kind == 2:
        pat = re.compile(r"cmpb\s+\$0x0,0x%x\(%%(\w+)\)" % offs["fr_is_entry"])
    else:
        pat = re.compile(r"mov\s+%%\w+,0x%x\(%%(\w+)\)" % offs["fr_stacktop"])
    frame_reg = None
    for addr, op, args in insns(path, start):
        if frame_reg is None:
            m = pat.search(op + " " + args)
            if m:
                frame_reg = m.group(1)
            continue
        if re.match(r"j[a-z]+$", op) and not args.startswith("*"):
            return (addr, PT_REGS[frame_reg], kind) if frame_reg in PT_REGS else None
        if re.search(r",%%%s\b" % frame_reg, args) or op.startswith("call"):
            return None
    return None


def describe(path):
    bid = build_id(path)
    if not bid:
        note("%s: no build-id, skipped" % path)
        return None
    ver = version_of(path)
    exprs = OFFSETS + live_offsets(ver)
    out = gdb(path, ["print " + e for _, e in exprs])
    vals = re.findall(r"^\$\d+ = (.*)$", out, re.M)
    if len(vals) < len(exprs) or not all(re.match(r"-?\d+$", v) for v in vals[:len(exprs)]):
        note("%s: no usable debug info (install python3.X-dbg), skipped" % path)
        return None
    offs = dict(zip([n for n, _ in exprs], map(int, vals)))
    sites = []
    for label in LABELS:
        s = resume_site(path, label, offs["fr_prev_instr"])
        if not s:
            note("%s: no usable probe site at %s, skipped" % (path, label))
            return None
        sites.append(s)
    rets = [ret_site(path, l, k, offs) for l, k in RET_LABELS]
    if not all(rets):
        note("%s: no usable return sites (%s); USDT only" % (path, rets))
        rets = []
    return bid, ver, offs, sites, rets


# CPython 3.8-3.10: every Python call is a C call of _PyEval_EvalFrameDefault
# (no inlining), with the PyFrameObject as argument: entry uprobe and
# uretprobe there (mechanism "evalframe")
EVF_OFFSETS = [
    ("fr_code", "(long)&((PyFrameObject*)0)->f_code"),
    ("fr_previous", "(long)&((PyFrameObject*)0)->f_back"),
    ("fr_localsplus", "(long)&((PyFrameObject*)0)->f_localsplus"),
] + CODE_OFFSETS + VALUE_OFFSETS


# 3.12+: _PyInterpreterFrame, the code in f_code (3.12) or f_executable
# (3.13); a generator's state lives in its PyGenObject, which embeds the
# frame; ints keep sign and size in long_value.lv_tag
EVF12_OFFSETS = [
    ("fr_previous", "(long)&((struct _PyInterpreterFrame*)0)->previous"),
    ("fr_localsplus", "(long)&((struct _PyInterpreterFrame*)0)->localsplus"),
    ("fr_owner", "(long)&((struct _PyInterpreterFrame*)0)->owner"),
    ("gen_state_rel", "(long)&((PyGenObject*)0)->gi_frame_state - (long)&((PyGenObject*)0)->gi_iframe"),
    ("gen_created", "(int)FRAME_CREATED"),
    ("owned_by_gen", "(int)FRAME_OWNED_BY_GENERATOR"),
    ("co_flags", "(long)&((PyCodeObject*)0)->co_flags"),
    ("co_qualname", "(long)&((PyCodeObject*)0)->co_qualname"),
    ("var_ob_size", "(long)&((PyLongObject*)0)->long_value.lv_tag"),
    ("long_digit", "(long)&((PyLongObject*)0)->long_value.ob_digit"),
] + CODE_OFFSETS + [v for v in VALUE_OFFSETS if v[0] not in ("var_ob_size", "long_digit")]


def describe_evalframe(path, ver):
    """(build-id, version, offsets, (vaddr, frame slot)) of a 3.8-3.10 or
    3.12+ build"""
    bid = build_id(path)
    if not bid:
        return None
    if ver in ("3.12", "3.13"):
        exprs = EVF12_OFFSETS + [
            ("fr_code", "(long)&((struct _PyInterpreterFrame*)0)->" +
             ("f_code" if ver == "3.12" else "f_executable"))]
    else:
        exprs = EVF_OFFSETS + [
            ("fr_state", "(long)&((PyFrameObject*)0)->f_state" if ver == "3.10"
             else "(long)&((PyFrameObject*)0)->f_stacktop")]
    exprs = exprs + live_offsets(ver)
    out = gdb(path, ["print " + e for _, e in exprs] + ["print (long)&_PyEval_EvalFrameDefault"])
    vals = re.findall(r"^\$\d+ = (.*)$", out, re.M)
    if len(vals) < len(exprs) + 1 or not all(re.match(r"-?\d+$", v) for v in vals):
        note("%s: no usable debug info, skipped" % path)
        return None
    offs = dict(zip([n for n, _ in exprs], map(int, vals)))
    offs.setdefault("co_qualname", offs["co_name"])  # no co_qualname before 3.11
    # 3.8: (PyFrameObject *f, int throwflag); 3.9, 3.10: (tstate, f, throwflag)
    slot = PT_REGS["rdi"] if ver == "3.8" else PT_REGS["rsi"]
    return bid, ver, offs, (int(vals[-1]), slot)


# 3.12+ without the perf trampoline: Python-to-Python calls are inlined, so
# probe the interpreter's own steps (mechanism "sites"): every frame start
# runs RESUME (3.13 also its specialization RESUME_CHECK); every return and
# exception exit frees the frame through _PyEval(Frame)ClearAndPop(tstate,
# frame); a yield is seen at the start of YIELD_VALUE, where the value is
# still on top of the stack.
CLEAR_FUNCS = {"3.12": "_PyEvalFrameClearAndPop", "3.13": "_PyEval_FrameClearAndPop"}
OPS12 = ["RETURN_VALUE", "RETURN_CONST", "INSTRUMENTED_RETURN_VALUE",
         "INSTRUMENTED_RETURN_CONST", "EXTENDED_ARG", "YIELD_VALUE"]


def opcodes(path, ver):
    """opcode numbers, from the build's own interpreter (bin/pythonX.Y)"""
    exe = os.path.join(os.path.dirname(os.path.dirname(path)), "bin", "python" + ver)
    if not os.path.exists(exe):
        exe = path
    p = subprocess.run([exe, "-I", "-c", "import opcode; print(*[opcode.opmap[o] for o in %r])" % OPS12],
                       capture_output=True, text=True, timeout=60)
    vals = p.stdout.split()
    return [int(v) for v in vals] if len(vals) == len(OPS12) else None


def yield_site(path):
    """the first instruction of YIELD_VALUE (single-stepped, as nothing
    there is emulated): (vaddr, frame slot, stack-pointer slot)"""
    start = label_addr(path, "TARGET_YIELD_VALUE")
    if start is None:
        return None
    sp = frame = None
    written = set()
    for addr, op, args in insns(path, start, 16):
        m = re.match(r"mov\s+-0x8\(%(\w+)\),%\w+$", op + " " + args)
        if sp is None and m and m.group(1) not in written:
            sp = m.group(1)
        m = re.match(r"mov\s+%\w+,0x38\(%(\w+)\)$", op + " " + args)
        if frame is None and m and m.group(1) not in written:
            frame = m.group(1)
        d = re.search(r",%(\w+)$", args)
        if d:
            written.add(d.group(1))
        if sp and frame:
            if sp in PT_REGS and frame in PT_REGS:
                return start, PT_REGS[frame], PT_REGS[sp]
            return None
    return None


def describe_sites12(path, ver, evf):
    """the sites of a 3.12/3.13 build, or None"""
    bid, _, offs, _ = evf
    ptr = "prev_instr" if ver == "3.12" else "instr_ptr"
    exprs = [
        ("fr_prev_instr", "(long)&((struct _PyInterpreterFrame*)0)->" + ptr),
        ("fr_stacktop", "(long)&((struct _PyInterpreterFrame*)0)->stacktop"),
        ("ts_curexc_type", "(long)&((PyThreadState*)0)->current_exception"),
        ("co_consts", "(long)&((PyCodeObject*)0)->co_consts"),
        ("tuple_items", "(long)&((PyTupleObject*)0)->ob_item"),
        ("owned_by_cstack", "(int)FRAME_OWNED_BY_CSTACK"),
        ("clear", "(long)&" + CLEAR_FUNCS[ver]),
    ]
    out = gdb(path, ["print " + e for _, e in exprs])
    vals = re.findall(r"^\$\d+ = (.*)$", out, re.M)
    if len(vals) < len(exprs) or not all(re.match(r"-?\d+$", v) for v in vals):
        note("%s: no sites offsets (%s)" % (path, vals))
        return None
    more = dict(zip([n for n, _ in exprs], map(int, vals)))
    clear = more.pop("clear")
    ops = opcodes(path, ver)
    if not ops:
        note("%s: cannot read the opcode numbers" % path)
        return None
    names = ["op_return_value", "op_return_const", "op_instr_return_value",
             "op_instr_return_const", "op_extended_arg", "op_yield_value"]
    more.update(zip(names, ops))
    sites = []
    for label in (["TARGET_RESUME"] if ver == "3.12" else ["TARGET_RESUME", "TARGET_RESUME_CHECK"]):
        s = resume_site(path, label, more["fr_prev_instr"], relaxed=True)
        if not s:
            note("%s: no usable probe site at %s" % (path, label))
            return None
        sites.append(s)
    y = yield_site(path)
    if not y:
        note("%s: no usable YIELD_VALUE site" % path)
        return None
    # ClearAndPop(tstate, frame): frame in rsi, tstate in rdi
    rets = [(clear, PT_REGS["rsi"], 3, PT_REGS["rdi"]), (y[0], y[1], 4, y[2])]
    offs = dict(offs, **more)
    return bid, ver, offs, sites, rets


def default_targets():
    t = []
    for p in sorted(glob.glob("/usr/bin/python3.1[1]")):
        t.append(p)
    # pyenv builds keep their DWARF in libpython
    t += sorted(glob.glob("/root/.pyenv/versions/3.11.*/lib/libpython3.11.so.1.0"))
    for v in ("3.8", "3.9", "3.10", "3.12", "3.13"):
        t += sorted(glob.glob("/root/.pyenv/versions/%s.*/lib/libpython%s.so.1.0" % (v, v)))
    return t


def print_sites(sites, rets):
    s = ", ".join("{ 0x%x, %d, %d }" % x for x in sites)
    r = ", ".join("{ " + ", ".join(("0x%x" if i == 0 else "%d") % v for i, v in enumerate(x)) + " }"
                  for x in rets)
    print("\t  .nresume = %d, .resume = { %s }, \\" % (len(sites), s))
    print("\t  .nret = %d, .ret = { %s }, \\" % (len(rets), r))


def main():
    targets = sys.argv[1:] or default_targets()
    print("/* Generated by tools/gen_offsets.py from the debug info installed")
    print(" * on the build machine; do not edit. */")
    print("#define PY_BUILDS_GENERATED \\")
    for path in targets:
        if not os.path.exists(path):
            continue
        ver = version_of(path)
        if ver in ("3.8", "3.9", "3.10", "3.12", "3.13"):
            d = describe_evalframe(path, ver)
            if d:
                bid, ver, offs, (vaddr, slot) = d
                sites12 = describe_sites12(path, ver, d) if ver in CLEAR_FUNCS else None
                if sites12:
                    offs = sites12[2]
                fields = ", ".join(".%s = %d" % (k, v) for k, v in offs.items())
                print('\t{ .build_id = "%s", .version = "%s", .source = "%s", \\' % (bid, ver, path))
                print("\t  .off = { %s }, \\" % fields)
                if sites12:
                    print_sites(sites12[3], sites12[4])
                if ver == "3.13":
                    # 3.13 runs __init__ inline (CALL_ALLOC_AND_ENTER_INIT)
                    # even with the perf trampoline: evalframe would miss it
                    vaddr = 0
                print("\t  .evalframe = { 0x%x, %d, 0 } }, \\" % (vaddr, slot))
                note("%s: %s build-id %s (evalframe%s)" % (path, ver, bid, ", sites" if sites12 else ""))
            continue
        d = describe(path)
        if not d:
            continue
        bid, ver, offs, sites, rets = d
        fields = ", ".join(".%s = %d" % (k, v) for k, v in offs.items())
        print('\t{ .build_id = "%s", .version = "%s", .source = "%s", \\' % (bid, ver, path))
        print("\t  .off = { %s }, \\" % fields)
        print_sites(sites, rets)
        print("\t}, \\")
        note("%s: %s build-id %s" % (path, ver, bid))
    print("\t/* end */")


if __name__ == "__main__":
    main()
