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
        lines.append("ret 0x%x frame 13 kind clear aux 14" % clear)
        plain_label = g.label_addr
        for label in ("TARGET_YIELD_VALUE", "TARGET_INSTRUMENTED_YIELD_VALUE"):
            g.label_addr = lambda p, _l, label=label: plain_label(p, label)
            y = g.yield_site(path)
            if not y:
                print("no site at " + label, file=sys.stderr)
                sys.exit(1)
            lines.append("ret 0x%x frame %d kind yield_sp aux %d" % y)
        g.label_addr = plain_label
    if minor <= 10 or minor == 12:
        lines.append("evalframe 0x%x frame %d" % (fn, 14 if minor == 8 else 13))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
