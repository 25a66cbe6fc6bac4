"""Executions of any size (issue 22): one execution of over 2 GiB on one
line is read back whole, the lines after it keep their numbers. The trace
is generated (tests/workloads/big_exec.py) and piped: no disk used. About
20 s and 2.3 GB of memory."""
import json
import os
import subprocess

import lt

HERE = os.path.dirname(os.path.abspath(__file__))


@lt.test
def execution_over_2gib_read_back():
    """detect reads the 2.2 GB line 3 whole (its last call, at the end of
    the line, matches the rule), says the right line of each execution, and
    stops at the malformed line 5 with its number and exit 2 (before: "read
    error: request does not fit in an int")"""
    d = lt.tmpdir()
    rules = os.path.join(d, "rules.json")
    with open(rules, "w") as f:
        json.dump({"format": 1, "rules": [{"observation": "returns", "key": "leaf",
                                           "value": "int:999", "key_kind": "name"}]}, f)
    gen = subprocess.Popen([lt.PY, os.path.join(HERE, "workloads", "big_exec.py"), "2200000000",
                            "--bad"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p = subprocess.run([lt.LEAKTRACE, "detect", "--rules", rules, "--adv", "-"], stdin=gen.stdout,
                           capture_output=True, text=True, timeout=600)
    finally:
        gen.stdout.close()
        try:
            _, gerr = gen.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            gen.kill()
            _, gerr = gen.communicate()
    gerr = gerr.decode(errors="replace")
    size = int(gerr.split()[0]) if gerr.split() and gerr.split()[0].isdigit() else 0
    assert size > 2 ** 31, gerr
    assert p.stdout.splitlines() == ["<stdin>:2 id=0 adv ok",
                                     "<stdin>:3 id=1 adv ALERT [0] returns leaf = int:999",
                                     "<stdin>:4 id=2 adv ok"], (p.stdout, p.stderr)
    assert p.returncode == 2 and p.stderr.strip() == '<stdin>:5: "complete" must be true or false', \
        (p.returncode, p.stderr)


lt.main()
