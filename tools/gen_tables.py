#!/usr/bin/python3.11
"""Per-minor-version CPython tables (user/pybuild/py_tables.h) from the DWARF builds here.

A `struct py_offsets` (user/pybuild/pybuild.h) holds struct offsets, enum values and opcode
numbers; none of them is a probe site. The claim this script tests is that they are a property
of the minor version, not of the build: every build of 3.X here with debug info must give the
same values, and then one checked-in table per minor version serves builds that carry no debug
info at all (issue 16, item 1).

Builds read (each skipped with a note when absent):
  pyenv 3.8-3.13      $(pyenv root)/versions/3.X.Y/lib/libpython3.X.so.1.0 (keeps its DWARF)
  Debian 3.11         /usr/bin/python3.11, DWARF from python3.11-dbg by build-id
  Debian sid 3.13+    $LEAKTRACE_ROOTS/sid/usr/bin/python3.X, DWARF from the extracted
                      $LEAKTRACE_ROOTS/sid-dbg (tools/mkroots.sh builds both)
  Debian 13 3.13      $LEAKTRACE_ROOTS/trixie, trixie-dbg likewise (mkroots.sh trixie)
Opcode numbers come from each build's own `opcode` module (the sid ones run inside their root).

Usage:
  gen_tables.py [-o FILE]   write the header (default: stdout); the first build of a minor
                            version in the list above is the source, every other one must agree
  gen_tables.py --check [FILE]
                            derive every build again and compare each, field by field, with
                            the checked-in tables (default user/pybuild/py_tables.h); print the
                            comparison; exit 0 when all agree, 1 when one differs
Exit 2 with one "leaktrace: ..." line on bad input (no gdb, unreadable header, no build).
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOTS = os.environ.get("LEAKTRACE_ROOTS", "/var/tmp/leaktrace-roots")
HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "user", "pybuild", "py_tables.h")
MINORS = range(8, 16)
NO_OP = "PY_TABLE_NO_OP"


def die(msg):
    print("leaktrace: " + msg, file=sys.stderr)
    sys.exit(2)


def note(msg):
    print("gen_tables: " + msg, file=sys.stderr)


def off(struct, member):
    return "(long)&((%s*)0)->%s" % (struct, member)


FRAME = "struct _PyInterpreterFrame"


def fields(m):
    """[(C field of struct py_offsets, [gdb expressions, first that evaluates wins])] of 3.m.
    The sets are those the build-id table (tools/gen_offsets.py) has for each version
    today; 3.14/3.15 follow 3.13 under their renamed members."""
    code = [("co_argcount", [off("PyCodeObject", "co_argcount")]),
            ("co_firstlineno", [off("PyCodeObject", "co_firstlineno")]),
            ("co_filename", [off("PyCodeObject", "co_filename")]),
            ("co_name", [off("PyCodeObject", "co_name")])]
    # the value objects decoded (FORMAT.md §2); 3.12 moved int's size into lv_tag
    value = [("type_tp_name", [off("PyTypeObject", "tp_name")]),
             ("var_ob_size", [off("PyLongObject", "long_value.lv_tag") if m >= 12
                              else off("PyVarObject", "ob_size")]),
             ("long_digit", [off("PyLongObject", "long_value.ob_digit") if m >= 12
                             else off("PyLongObject", "ob_digit")]),
             ("float_fval", [off("PyFloatObject", "ob_fval")]),
             ("str_length", [off("PyASCIIObject", "length")]),
             ("str_state", [off("PyASCIIObject", "state")]),
             ("str_ascii_size", ["sizeof(PyASCIIObject)"]),
             ("str_compact_size", ["sizeof(PyCompactUnicodeObject)"])]
    # the live check: first interpreter, its threads, each one's frame
    cur = "frame" if m <= 10 else "cframe" if m <= 12 else "current_frame"
    live = [("rt_interp_head", [off("_PyRuntimeState", "interpreters.head")]),
            ("is_threads_head", [off("PyInterpreterState", "tstate_head" if m <= 10 else "threads.head")]),
            ("ts_next", [off("PyThreadState", "next")]),
            ("ts_cur_frame", [off("PyThreadState", cur)]),
            ("ob_type", [off("PyObject", "ob_type")]),
            # which interpreter a thread state runs (FORMAT.md §2 "interp")
            ("ts_interp", [off("PyThreadState", "interp")]),
            ("is_id", [off("PyInterpreterState", "id")]),
            ("is_next", [off("PyInterpreterState", "next")])]
    if m <= 10:
        # every Python call is a C call of _PyEval_EvalFrameDefault(PyFrameObject)
        return [("fr_code", [off("PyFrameObject", "f_code")]),
                ("fr_previous", [off("PyFrameObject", "f_back")]),
                ("fr_localsplus", [off("PyFrameObject", "f_localsplus")]),
                ("fr_state", [off("PyFrameObject", "f_state" if m == 10 else "f_stacktop")]),
                # no co_qualname before 3.11: the name stands in for it
                ("co_qualname", [off("PyCodeObject", "co_name")]),
                # which frames are coroutines (a yield suspends one call)
                ("co_flags", [off("PyCodeObject", "co_flags")]),
                ] + code + value + live
    if m == 11:
        return [("rt_tstate_current", [off("_PyRuntimeState", "gilstate.tstate_current")]),
                ("ts_cframe", [off("PyThreadState", "cframe")]),
                ("ts_curexc_type", [off("PyThreadState", "curexc_type")]),
                ("ts_native_thread_id", [off("PyThreadState", "native_thread_id")]),
                ("cf_current_frame", [off("_PyCFrame", "current_frame")]),
                ("fr_code", [off(FRAME, "f_code")]),
                ("fr_previous", [off(FRAME, "previous")]),
                ("fr_prev_instr", [off(FRAME, "prev_instr")]),
                ("fr_stacktop", [off(FRAME, "stacktop")]),
                ("fr_localsplus", [off(FRAME, "localsplus")]),
                ("fr_is_entry", [off(FRAME, "is_entry")]),
                # a generator's exit: its caller delegating to it (issue 22)
                ("fr_owner", [off(FRAME, "owner")]),
                ("owned_by_gen", ["(int)FRAME_OWNED_BY_GENERATOR"]),
                # the generator object that embeds a generator's frame
                ("gen_iframe", [off("PyGenObject", "gi_iframe")]),
                # --no-durations: a hook run at a generator's yield finds it
                # suspended (bpf caller_exited)
                ("gen_state_rel", ["(long)&((PyGenObject*)0)->gi_frame_state - (long)&((PyGenObject*)0)->gi_iframe"]),
                ("gen_created", ["(int)FRAME_CREATED"]),
                ("gen_executing", ["(int)FRAME_EXECUTING"]),
                ("co_qualname", [off("PyCodeObject", "co_qualname")]),
                ("co_flags", [off("PyCodeObject", "co_flags")]),
                ] + code + value + live
    # 3.12+: frames inline in the C stack's loop; a generator embeds its frame
    out = [("fr_code", [off(FRAME, "f_code" if m == 12 else "f_executable")]),
           ("fr_previous", [off(FRAME, "previous")]),
           ("fr_prev_instr", [off(FRAME, "prev_instr" if m == 12 else "instr_ptr")]),
           # 3.14 replaced the index stacktop by the pointer stackpointer
           ("fr_stacktop", [off(FRAME, "stacktop" if m <= 13 else "stackpointer")]),
           ("fr_localsplus", [off(FRAME, "localsplus")]),
           ("fr_owner", [off(FRAME, "owner")]),
           ("gen_state_rel", ["(long)&((PyGenObject*)0)->gi_frame_state - (long)&((PyGenObject*)0)->gi_iframe"]),
           ("gen_created", ["(int)FRAME_CREATED"]),
           # the generator object that embeds a generator's frame
           ("gen_iframe", [off("PyGenObject", "gi_iframe")]),
           ("owned_by_gen", ["(int)FRAME_OWNED_BY_GENERATOR"]),
           # the C stack's entry frame: FRAME_OWNED_BY_CSTACK up to 3.13; from
           # 3.14 the entry frames of live chains are owned by the interpreter
           # (3), though 3.14 still defines a CSTACK (4) that none carries
           ("owned_by_cstack", ["(int)FRAME_OWNED_BY_CSTACK"] if m <= 13 else
            ["(int)FRAME_OWNED_BY_INTERPRETER"]),
           # a generator's frame is suspended strictly between CREATED and this
           ("gen_executing", ["(int)FRAME_EXECUTING"]),
           ("ts_curexc_type", [off("PyThreadState", "current_exception")]),
           ("ts_native_thread_id", [off("PyThreadState", "native_thread_id")]),
           ("co_flags", [off("PyCodeObject", "co_flags")]),
           ("co_qualname", [off("PyCodeObject", "co_qualname")]),
           ("co_consts", [off("PyCodeObject", "co_consts")]),
           ("tuple_items", [off("PyTupleObject", "ob_item")]),
           # the opcode an instrumentation tool hid (INSTRUMENTED_LINE,
           # INSTRUMENTED_INSTRUCTION): the code's monitoring data
           ("co_monitoring", [off("PyCodeObject", "_co_monitoring")]),
           ("co_code_adaptive", [off("PyCodeObject", "co_code_adaptive")]),
           ("mon_lines", [off("_PyCoMonitoringData", "lines")]),
           ("mon_per_instr", [off("_PyCoMonitoringData", "per_instruction_opcodes")]),
           ] + code + value + live
    if m == 12:
        out.append(("cf_current_frame", [off("_PyCFrame", "current_frame")]))
    return out


# opcode fields (3.11+) and the name each one is in the build's opcode.opmap
OPCODES = [("op_return_value", "RETURN_VALUE"), ("op_return_const", "RETURN_CONST"),
           ("op_instr_return_value", "INSTRUMENTED_RETURN_VALUE"),
           ("op_instr_return_const", "INSTRUMENTED_RETURN_CONST"),
           ("op_extended_arg", "EXTENDED_ARG"), ("op_yield_value", "YIELD_VALUE"),
           # a generator suspended in a yield from (issue 22); an instruction event's
           # tool (sys.monitoring INSTRUCTION) hides any opcode under the last one
           ("op_instr_yield_value", "INSTRUMENTED_YIELD_VALUE"),
           ("op_instr_instruction", "INSTRUMENTED_INSTRUCTION"),
           # a line event's tool (coverage) hides the opcode under this one
           ("op_instr_line", "INSTRUMENTED_LINE")]

# 3.13+: the table fields that the binary's own _Py_DebugOffsets (_PyRuntime.debug_offsets,
# initialised data, so gdb reads it from the file) also holds. --check compares them with the
# table: where they agree, a reader of _Py_DebugOffsets and the table are interchangeable;
# every other field is what only the table provides.
DO = "(long)_PyRuntime.debug_offsets."
DEBUG_OFFSETS = {
    "rt_interp_head": "runtime_state.interpreters_head",
    "is_threads_head": "interpreter_state.threads_head",
    "ts_next": "thread_state.next",
    "ts_cur_frame": "thread_state.current_frame",
    "ts_native_thread_id": "thread_state.native_thread_id",
    "ts_interp": "thread_state.interp",
    "is_id": "interpreter_state.id",
    "is_next": "interpreter_state.next",
    "fr_previous": "interpreter_frame.previous",
    "fr_code": "interpreter_frame.executable",
    "fr_prev_instr": "interpreter_frame.instr_ptr",
    "fr_localsplus": "interpreter_frame.localsplus",
    "fr_owner": "interpreter_frame.owner",
    "fr_stacktop": "interpreter_frame.stackpointer",
    "co_filename": "code_object.filename",
    "co_name": "code_object.name",
    "co_qualname": "code_object.qualname",
    "co_firstlineno": "code_object.firstlineno",
    "co_argcount": "code_object.argcount",
    "ob_type": "pyobject.ob_type",
    "type_tp_name": "type_object.tp_name",
    "tuple_items": "tuple_object.ob_item",
    "float_fval": "float_object.ob_fval",
    "var_ob_size": "long_object.lv_tag",
    "long_digit": "long_object.ob_digit",
    "str_state": "unicode_object.state",
    "str_length": "unicode_object.length",
    "str_ascii_size": "unicode_object.asciiobject_size",
    "gen_state_rel": ("gen_object.gi_frame_state", "gen_object.gi_iframe"),
    "gen_iframe": "gen_object.gi_iframe",
    "co_code_adaptive": "code_object.co_code_adaptive",
}


def debug_offsets_exprs():
    return [(k, ["%s%s - %s%s" % (DO, v[0], DO, v[1])] if isinstance(v, tuple) else [DO + v])
            for k, v in DEBUG_OFFSETS.items()]


# evaluated inside gdb: each field's alternatives in turn, the first that gdb can evaluate
GDB_PY = r'''
import gdb, json, os
req = json.loads(os.environ["LT_EXPRS"])
out = {}
for name, alts in req:
    for e in alts:
        try:
            out[name] = [int(gdb.parse_and_eval(e)), e]
            break
        except Exception:
            pass
print("LTJSON " + json.dumps(out))
'''


class Build:
    """one CPython build with DWARF: a label, the ELF file gdb reads, the gdb debug-file
    directory (None: the default one), and how to run its interpreter"""

    def __init__(self, minor, label, elf, debugdir, run):
        self.minor, self.label, self.elf, self.debugdir, self.run = minor, label, elf, debugdir, run

    def build_id(self):
        out = subprocess.run(["readelf", "-n", self.elf], capture_output=True, text=True).stdout
        m = re.search(r"Build ID: ([0-9a-f]+)", out)
        return m.group(1) if m else "none"

    def version(self):
        p = subprocess.run(self.run + ["-c", "import sys; print(sys.version.split()[0])"],
                           capture_output=True, text=True, timeout=120)
        return p.stdout.strip() or "?"

    def derive(self):
        """{field: (value, how)} or None when gdb finds no debug info"""
        want = fields(self.minor)
        got = self.gdb_eval(want)
        if not got:
            note("%s: no usable debug info, skipped" % self.label)
            return None
        for name, alts in want:
            if name not in got:
                note("%s: %s: none of %s evaluates" % (self.label, name, alts))
        if self.minor >= 11:
            got.update(self.opcodes())
        return got

    def debug_offsets(self):
        """3.13+: {field: value} of the table fields that _Py_DebugOffsets holds too"""
        if self.minor < 13:
            return {}
        return {k: v[0] for k, v in self.gdb_eval(debug_offsets_exprs()).items()}

    def gdb_eval(self, want):
        """{name: (value, expression)} for each (name, [expressions]) gdb can evaluate"""
        with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
            f.write(GDB_PY)
            f.flush()
            args = ["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off"]
            if self.debugdir:
                args += ["-iex", "set debug-file-directory " + self.debugdir]
            args += ["-x", f.name, self.elf]
            p = subprocess.run(args, capture_output=True, text=True, timeout=600,
                               env=dict(os.environ, LT_EXPRS=json.dumps(want)))
        m = re.search(r"^LTJSON (.*)$", p.stdout, re.M)
        if not m:
            note("%s: gdb gave nothing (%s)" % (self.label, p.stderr.strip()[-200:]))
            return {}
        return {k: tuple(v) for k, v in json.loads(m.group(1)).items()}

    def opcodes(self):
        names = [n for _, n in OPCODES]
        p = subprocess.run(self.run + ["-c", "import opcode, json; print(json.dumps("
                                       "[opcode.opmap.get(n) for n in %r]))" % names],
                           capture_output=True, text=True, timeout=120)
        try:
            nums = json.loads(p.stdout)
        except ValueError:
            die("%s: cannot read its opcode numbers: %s" % (self.label, p.stderr.strip()[-200:]))
        return {f: ((NO_OP, "no %s" % n) if v is None else (v, "opcode.opmap[%r]" % n))
                for (f, n), v in zip(OPCODES, nums)}


def builds():
    """every DWARF build here, pyenv first (the source of each minor's table)"""
    out = []
    pyenv = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
        if any(os.access(os.path.join(d, "pyenv"), os.X_OK) for d in os.environ.get("PATH", "").split(":")) \
        else os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for m in MINORS:
        for prefix in sorted(glob.glob("%s/versions/3.%d.*" % (pyenv, m))):
            lib = "%s/lib/libpython3.%d.so.1.0" % (prefix, m)
            if os.path.exists(lib):
                out.append(Build(m, "pyenv " + os.path.basename(prefix), lib, None,
                                 ["%s/bin/python3.%d" % (prefix, m), "-I"]))
    if os.path.exists("/usr/bin/python3.11"):
        out.append(Build(11, "Debian /usr/bin/python3.11", "/usr/bin/python3.11", None,
                         ["/usr/bin/python3.11", "-I"]))
    for suite in ("sid", "trixie"):
        r = os.path.join(ROOTS, suite)
        for m in MINORS:
            exe = "%s/usr/bin/python3.%d" % (r, m)
            if os.path.exists(exe):
                out.append(Build(m, "Debian %s python3.%d" % (suite, m), exe,
                                 os.path.join(ROOTS, suite + "-dbg/usr/lib/debug"),
                                 ["unshare", "--pid", "--mount", "--fork", "--mount-proc",
                                  "--root=" + r, "/usr/bin/python3.%d" % m, "-I"]))
    return out


def fmt(v):
    return v if isinstance(v, str) else str(v)


def header(tables):
    """the text of py_tables.h; tables: {minor: (build, version, build-id, derived, agreeing)}"""
    L = []
    w = L.append
    w("/* SPDX-License-Identifier: MIT */")
    w("/*")
    w(" * Per-minor-version CPython tables: for 3.X, the `struct py_offsets` (pybuild/pybuild.h)")
    w(" * that every build of 3.X shares: struct offsets, enum values and opcode numbers, never")
    w(" * a probe site (those are found in each binary). A build with no debug info at all is")
    w(" * traced with its minor version's table; the live check at attach still has to pass.")
    w(" *")
    w(" * Generated by tools/gen_tables.py from the DWARF builds named at each table; do not")
    w(" * edit. `tools/gen_tables.py --check` derives every DWARF build here again and fails")
    w(" * if one differs from its version's table in any field (tests/test_builds.py runs it).")
    w(" *")
    w(" * Fields a version does not have are left out (0). Opcodes a version does not have are")
    w(" * PY_TABLE_NO_OP, which matches no opcode byte. 3.8-3.10: co_qualname is co_name (no")
    w(" * qualified name before 3.11). 3.14+: fr_stacktop is the offset of `stackpointer`, a")
    w(" * pointer, not of the index `stacktop`. owned_by_cstack is the owner of the C stack's")
    w(" * entry frame: FRAME_OWNED_BY_CSTACK up to 3.13, FRAME_OWNED_BY_INTERPRETER (3) from 3.14")
    w(" * (what live chains carry; 3.14's CSTACK, 4, is on none). 3.15 numbers FRAME_CREATED 0 and")
    w(" * FRAME_EXECUTING 4: frame states are per version, like the rest.")
    w(" */")
    w("#ifndef LT_PY_TABLES_H")
    w("#define LT_PY_TABLES_H")
    w("")
    w("#include <stddef.h>")
    w('#include "pybuild/pybuild.h"')
    w("")
    w("#define %s 0xffffffffu" % NO_OP)
    w("")
    for m in sorted(tables):
        src, ver, bid, got, agree = tables[m]
        w("/* 3.%d: from %s (%s, build-id %s)" % (m, src.label, ver, bid))
        for a in agree:
            w(" * equal to: %s" % a)
        w(" */")
        w("#define PY_TABLE_3_%d { \\" % m)
        alts = dict(fields(m))
        for name, _ in fields(m) + (OPCODES if m >= 11 else []):
            if name in got:
                # say so where a field is read under another name than its first one
                how = got[name][1]
                why = " /* %s */" % how if name in alts and how != alts[name][0] else ""
                w("\t.%s = %s,%s \\" % (name, fmt(got[name][0]), why))
        w("}")
        w("")
    w("/* the table of 3.MINOR, or NULL when there is none */")
    w("static inline const struct py_offsets *py_table(int minor)")
    w("{")
    for m in sorted(tables):
        w("\tstatic const struct py_offsets t%d = PY_TABLE_3_%d;" % (m, m))
    w("")
    w("\tswitch (minor) {")
    for m in sorted(tables):
        w("\tcase %d: return &t%d;" % (m, m))
    w("\tdefault: return NULL;")
    w("\t}")
    w("}")
    w("")
    w("#endif")
    return "\n".join(L) + "\n"


def parse_header(path):
    try:
        text = open(path).read()
    except OSError as e:
        die("cannot read %s: %s" % (path, e.strerror))
    tables = {}
    for m, body in re.findall(r"#define PY_TABLE_3_(\d+) \{ \\\n(.*?)\n\}", text, re.S):
        tables[int(m)] = {k: (v if v == NO_OP else int(v))
                          for k, v in re.findall(r"\.(\w+) = (-?\w+),", body)}
    if not tables:
        die("%s: no PY_TABLE_3_X table in it" % path)
    return tables


def derive_all():
    out = []
    for b in builds():
        got = b.derive()
        if got is not None:
            out.append((b, got))
    if not out:
        die("no CPython build with debug info here (pyenv, python3.11-dbg, tools/mkroots.sh sid)")
    return out


def generate(dest):
    tables = {}
    differ = False
    for b, got in derive_all():
        if b.minor not in tables:
            tables[b.minor] = (b, b.version(), b.build_id(), got, [])
            continue
        src = tables[b.minor]
        diff = [k for k in set(src[3]) | set(got) if src[3].get(k, (None,))[0] != got.get(k, (None,))[0]]
        if diff:
            differ = True
            note("%s differs from %s in %s" % (b.label, src[0].label, ", ".join(sorted(diff))))
        else:
            src[4].append("%s (%s, build-id %s)" % (b.label, b.version(), b.build_id()))
    text = header(tables)
    if dest:
        with open(dest, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 1 if differ else 0


def check(path):
    tables = parse_header(path)
    bad = 0
    seen = set()
    per_minor = {}
    for b, got in derive_all():
        seen.add(b.minor)
        per_minor.setdefault(b.minor, []).append((b, {k: v[0] for k, v in got.items()}))
        want = tables.get(b.minor)
        print("3.%d  %-28s %-8s build-id %s" % (b.minor, b.label, b.version(), b.build_id()))
        if want is None:
            print("     no PY_TABLE_3_%d in %s: FAIL" % (b.minor, path))
            bad += 1
            continue
        mine = {k: v[0] for k, v in got.items()}
        order = [n for n, _ in fields(b.minor) + OPCODES]
        nbad = 0
        for k in sorted(set(want) | set(mine), key=lambda k: order.index(k) if k in order else len(order)):
            t, d = want.get(k, "-"), mine.get(k, "-")
            if t != d:
                print("     %-22s table %-16s build %-16s DIFFERS (%s)" % (k, t, d, got.get(k, ("", "absent"))[1]))
                nbad += 1
        print("     %d fields compared: %s" % (len(set(want) | set(mine)), "all equal" if not nbad else "%d differ" % nbad))
        bad += nbad
        dbg = b.debug_offsets()
        if dbg:
            nd = 0
            for k, v in dbg.items():
                if k in want and want[k] != v:
                    print("     %-22s table %-16s _Py_DebugOffsets %s DIFFERS" % (k, want[k], v))
                    nd += 1
            both = [k for k in want if k in dbg]
            print("     _Py_DebugOffsets in the file holds %d of the table's fields: %s" %
                  (len(both), "all equal" if not nd else "%d differ" % nd))
            print("     only in the table: %s" % " ".join(k for k in want if k not in dbg))
            bad += nd
    # side by side where a minor version has more than one build: the claim of the tables
    for m, bs in sorted(per_minor.items()):
        if len(bs) < 2 or m not in tables:
            continue
        print("\n3.%d, field by field:" % m)
        print("     %-22s %-16s" % ("field", "table") + "".join(" %-22s" % b.label[:22] for b, _ in bs))
        for k in [n for n, _ in fields(m) + OPCODES if n in tables[m]]:
            vals = [mine.get(k, "-") for _, mine in bs]
            same = all(v == tables[m][k] for v in vals)
            print("     %-22s %-16s" % (k, tables[m][k]) + "".join(" %-22s" % v for v in vals) +
                  ("" if same else "  DIFFERS"))
    for m in sorted(set(tables) - seen):
        print("3.%d  no DWARF build here: table not checked" % m)
    print("gen_tables --check: %s" % ("FAIL, %d field(s) differ" % bad if bad else "every build equals its table"))
    return 1 if bad else 0


def main():
    args = sys.argv[1:]
    if args[:1] == ["--check"]:
        if len(args) > 2:
            die("usage: gen_tables.py --check [HEADER]")
        sys.exit(check(args[1] if len(args) == 2 else HEADER))
    if args[:1] == ["-o"] and len(args) == 2:
        sys.exit(generate(args[1]))
    if args:
        die("usage: gen_tables.py [-o HEADER] | --check [HEADER]")
    sys.exit(generate(None))


if __name__ == "__main__":
    main()
