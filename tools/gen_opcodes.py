#!/usr/bin/python3
"""Print user/pybuild/opcodes.c's table of the opcode numbers that probe
sites are found by, from each CPython minor version's own opcode/dis module.

Opcode numbers change with every minor version (3.13 renumbered most of
them) but never within one, so one row per minor version is enough for
every build of it. The rows are checked in; rerun this when a minor
version is added and paste its output into user/pybuild/opcodes.c.

Usage: gen_opcodes.py INTERPRETER... ; an interpreter is a path
(/root/.pyenv/versions/3.12.1/bin/python3) or ROOT:PATH to run PATH
chrooted into ROOT (a Debian root made by debootstrap:
/var/tmp/leaktrace-roots/sid:/usr/bin/python3.14).
"""
import json
import subprocess
import sys

# the struct py_opcodes fields, in order, and the opcode names they hold
FIELDS = [
    ("resume", "RESUME"), ("resume_quick", "RESUME_QUICK"), ("resume_check", "RESUME_CHECK"),
    ("return_value", "RETURN_VALUE"), ("return_const", "RETURN_CONST"),
    ("return_generator", "RETURN_GENERATOR"),
    ("yield_value", "YIELD_VALUE"), ("extended_arg", "EXTENDED_ARG"),
    ("instr_resume", "INSTRUMENTED_RESUME"), ("instr_return_value", "INSTRUMENTED_RETURN_VALUE"),
    ("instr_return_const", "INSTRUMENTED_RETURN_CONST"), ("instr_yield_value", "INSTRUMENTED_YIELD_VALUE"),
]

# every name -> number, specialised instructions included: 3.11/3.12 keep
# them in dis._all_opmap, 3.13+ in opcode._specialized_opmap
PROBE = r"""
import dis, json, opcode, sys
m = dict(opcode.opmap)
m.update(getattr(dis, "_all_opmap", {}))
m.update(getattr(opcode, "_specialized_opmap", {}))
print(json.dumps({"minor": sys.version_info[1], "version": sys.version.split()[0], "ops": m}))
"""


def probe(spec):
    root, _, exe = spec.rpartition(":")
    cmd = (["chroot", root] if root else []) + [exe, "-I", "-c", PROBE]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def main():
    for spec in sys.argv[1:]:
        d = probe(spec)
        vals = [".%s = %d" % (f, d["ops"].get(n, -1)) for f, n in FIELDS]
        print("\t[%d] = {\t/* %s */" % (d["minor"], d["version"]))
        for i in range(0, len(vals), 3):
            print("\t\t%s," % ", ".join(vals[i:i + 3]))
        print("\t},")


if __name__ == "__main__":
    main()
