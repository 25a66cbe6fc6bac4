"""Real CPython builds that no build-id table knows (issue 16): each traced run must equal the
in-process oracle run with the same interpreter, call for call, values included.

Builds (made and cached by tools/mkroots.sh, slow only the first time):
  sid/python3.X       Debian unstable's python3.13/3.14/3.15 (no -dbg installed), each run in
                      its own mount and pid namespace (unshare --root); traced by host pid
                      with -p, and with -a started after leaktrace.
  trixie/python3.13   the same for Debian 13, where tools/mkroots.sh trixie made it.
  stripped/3.X        pyenv 3.8-3.13 copied, strip --strip-all, no build-id note, run
                      through LD_LIBRARY_PATH; traced with `record -- ...` and with -p.
Plus the table check: tools/gen_tables.py --check (every DWARF build equals its minor
version's table in user/pybuild/py_tables.h), and two controls: the same harness on the
original pyenv 3.11 (supported today) must pass, so a FAIL above is the build's, not the
harness's.

Every case must equal the oracle: a refusal, a wrong tree, 0 executions, a silent skip or a
hang is a FAIL. The only difference allowed is treecmp.closed_at_yield (a generator closed
at a plain yield, whose frame CPython 3.13.x+ clears without running it unless a tracer
instruments the code).
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import lt
import treecmp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOTS = os.environ.get("LEAKTRACE_ROOTS", "/var/tmp/leaktrace-roots")
MKROOTS = os.path.join(lt.ROOT, "tools", "mkroots.sh")
GEN_TABLES = os.path.join(lt.ROOT, "tools", "gen_tables.py")
NTHREADS = "3"

# How leaktrace says it cannot trace a build (user/pybuild/target.c, pybuild.c): named in
# the failure message of a case
REFUSAL = re.compile(r"not supported|not a CPython|not found|cannot be traced|JIT on")

# run calls.py once the host says go: the tracer attaches to a process that is already
# running (-p) but has not made a call yet, so the whole run is recorded
WRAP = """import os, runpy, sys, time
here = os.path.dirname(os.path.abspath(__file__))
while not os.path.exists(os.path.join(here, "go")):
    time.sleep(0.02)
sys.argv = [os.path.join(here, "calls.py"), %r]
runpy.run_path(sys.argv[0], run_name="__main__")
""" % NTHREADS


_roots_made = []


def ensure_roots():
    """the cached roots: tools/mkroots.sh once per run of this file (minutes the first
    time on a machine, seconds once cached)"""
    lt.need_root()
    if not _roots_made:
        p = lt.run(["sh", MKROOTS, "sid", "stripped"], check=False, timeout=1800)
        assert p.returncode == 0, "tools/mkroots.sh failed: " + p.stderr.strip()[-500:]
        _roots_made.append(True)


def sid_pythons(suite="sid"):
    return sorted((os.path.basename(p) for p in glob.glob(os.path.join(ROOTS, suite, "usr/bin/python3.[0-9]*"))
                   if re.fullmatch(r"python3\.\d+", os.path.basename(p))),
                  key=lambda n: int(n.split(".")[1]))


def stripped_minors():
    return sorted((os.path.basename(d) for d in glob.glob(os.path.join(ROOTS, "stripped/3.*"))),
                  key=lambda v: int(v.split(".")[1]))


def refused(label, rc, err):
    """leaktrace did not trace the build: say how it refused"""
    lines = err.strip().splitlines()
    if rc == 2 and lines and REFUSAL.search(lines[-1]):
        raise AssertionError("%s refused: %s" % (label, lines[-1]))
    raise AssertionError("%s: leaktrace exited %s: %s" % (label, rc, err.strip()[-500:]))


def same_as_oracle(label, execs, oracle, err=""):
    """execs: the recorded executions of the one target process; err: leaktrace's stderr,
    whose last line goes into the message"""
    said = (err.strip().splitlines() or [""])[-1]
    assert execs, "%s: 0 executions recorded (the oracle has %d)%s" % (
        label, len(treecmp.load(oracle)), "; leaktrace said: " + said if said else ", leaktrace said nothing")
    rec = oracle + ".rec.jsonl"
    with open(rec, "w") as f:
        for e in execs:
            f.write(json.dumps(e) + "\n")
    # closed_gens: see treecmp.closed_at_yield (CPython 3.13.x+ skips the frame)
    problems = treecmp.compare(rec, oracle, closed_gens=True)
    assert not problems, "%s: %s" % (label, "; ".join(problems[:3]))


def recorded(path, pid=None):
    with open(path) as f:
        ex = [json.loads(l) for l in f if '"exec"' in l]
    return [e for e in ex if pid is None or e["pid"] == pid]


def start_recording(label, args):
    """leaktrace record ARGS in the background, once it says it attached; a refusal is a
    SKIP (see refused), any other early end a FAIL"""
    lp = subprocess.Popen([lt.LEAKTRACE, "record"] + [str(a) for a in args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = ""
    while not any(r in err for r in ("tracing pid", "system-wide")):
        line = lp.stderr.readline()
        if not line:
            rest = lp.communicate(timeout=30)[1]
            refused(label, lp.returncode, err + rest)
        err += line
    lp.attach_log = err
    return lp


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


class SidRun:
    """a work directory inside the sid root (/tmp/lt-...), holding calls.py, the oracle and
    the wrapper; the same paths inside the root for oracle and traced run, so the file
    names in both trees agree"""

    def __init__(self, suite, py):
        self.root = os.path.join(ROOTS, suite)
        self.py = "/usr/bin/" + py
        self.inner = "/tmp/lt-%d-%s" % (os.getpid(), py)
        self.host = self.root + self.inner
        shutil.rmtree(self.host, ignore_errors=True)
        os.makedirs(self.host)
        for f in ("oracle.py", "workloads/calls.py"):
            shutil.copy2(os.path.join(HERE, f), self.host)
        lt.write_file(self.host, "wrap.py", WRAP)

    def cmd(self, *args):
        return ["unshare", "--pid", "--mount", "--fork", "--kill-child", "--mount-proc",
                "--root=" + self.root, self.py] + list(args)

    def oracle(self):
        open(os.path.join(self.host, "go"), "w").close()
        lt.run(self.cmd(self.inner + "/oracle.py", "--root", "run", "-o", self.inner + "/o.jsonl",
                        self.inner + "/wrap.py"), timeout=300)
        os.unlink(os.path.join(self.host, "go"))
        return os.path.join(self.host, "o.jsonl")

    def go(self):
        open(os.path.join(self.host, "go"), "w").close()

    def close(self):
        shutil.rmtree(self.host, ignore_errors=True)


def sid_pid_case(py, suite="sid"):
    def case():
        ensure_roots()
        label = "%s %s -p" % (suite, py)
        s = SidRun(suite, py)
        c = lp = None
        try:
            oracle = s.oracle()
            c = subprocess.Popen(s.cmd(s.inner + "/wrap.py"), stdout=subprocess.PIPE, text=True)
            pid = lt.child_pid(c.pid)
            rec = os.path.join(s.host, "r.jsonl")
            lp = start_recording(label, ["-p", pid, "--root", "run", "-o", rec])
            s.go()
            out, _ = c.communicate(timeout=300)
            assert c.returncode == 0, "%s: the target exited %d" % (label, c.returncode)
            err = lp.communicate(timeout=60)[1]
            assert lp.returncode == 0, "%s: leaktrace exited %d: %s" % (label, lp.returncode, err[-500:])
            same_as_oracle(label, recorded(rec), oracle, err)
        finally:
            for p in (c, lp):
                if p:
                    stop(p)
            s.close()
    case.__name__ = "%s_%s_pid" % (suite, py.replace(".", "_"))
    return case


def sid_all_case(py, suite="sid"):
    def case():
        ensure_roots()
        label = "%s %s -a" % (suite, py)
        s = SidRun(suite, py)
        c = lp = None
        try:
            oracle = s.oracle()
            rec = os.path.join(s.host, "r.jsonl")
            # -v: -a names a build it will not trace only when verbose
            lp = start_recording(label, ["-v", "-a", "--root", "run", "-o", rec])
            err = [lp.attach_log]
            reader = threading.Thread(target=lambda: err.extend(lp.stderr), daemon=True)
            reader.start()
            c = subprocess.Popen(s.cmd(s.inner + "/wrap.py"), stdout=subprocess.PIPE, text=True)
            pid = lt.child_pid(c.pid)
            # go once leaktrace has attached to the new build (or has had time to)
            end = time.time() + 10
            while time.time() < end and "(pid %d)" % pid not in "".join(err) and \
                    not any(s.py in l and REFUSAL.search(l) for l in "".join(err).splitlines()):
                time.sleep(0.05)
            s.go()
            c.communicate(timeout=300)
            assert c.returncode == 0, "%s: the target exited %d" % (label, c.returncode)
            time.sleep(0.3)
            lp.send_signal(signal.SIGINT)
            lp.wait(timeout=60)
            reader.join(timeout=10)
            err = "".join(err)
            assert lp.returncode == 0, "%s: leaktrace exited %d: %s" % (label, lp.returncode, err[-500:])
            mine = recorded(rec, pid)
            if not mine:
                # -a goes on with the builds it knows; an unknown one must have been named
                said = [l for l in err.splitlines() if s.py in l or py in l]
                if said and REFUSAL.search(said[-1]):
                    refused(label, 2, said[-1])
            same_as_oracle(label, mine, oracle, err)
        finally:
            for p in (c, lp):
                if p:
                    stop(p)
            s.close()
    case.__name__ = "%s_%s_all" % (suite, py.replace(".", "_"))
    return case


def no_root_shape(n):
    """a node as (fn, ret type, calls): durations and values left out (start-up's
    values hash objects by address: two runs differ; values are compared with the
    oracle by the cases above)"""
    ret = n.get("ret") or {}
    return (n["fn"], ret.get("type"), tuple(no_root_shape(c) for c in n.get("calls", [])))


def first_difference(a, b, path=()):
    """where two no_root_shape trees first differ: the path of names and both nodes' heads"""
    if a[:2] != b[:2] or len(a[2]) != len(b[2]):
        return "at %s: %s vs %s (%d vs %d calls)" % (
            " > ".join(path + (a[0],)), a[:2], b[:2], len(a[2]), len(b[2]))
    for x, y in zip(a[2], b[2]):
        if x != y:
            return first_difference(x, y, path + (a[0],))
    return "nowhere"


def sid_no_root_case(py, suite="sid"):
    """record -- PY calls.py with no --root, in both capture modes: one execution per
    thread, start-up and finalisation included, each complete (3.15 once had every one
    incomplete: a weakref callback run as its entry frame was torn down had three C-stack
    frames below it), and the two modes' trees equal"""
    def case():
        ensure_roots()
        s = SidRun(suite, py)
        try:
            s.go()
            trees = []
            for mode in ([], ["--no-durations"]):
                label = "%s %s no --root %s" % (suite, py, " ".join(mode) or "full")
                rec = os.path.join(s.host, "n.jsonl")
                # unshare execs the python (no --fork): --no-durations follows no child
                p = lt.leaktrace("record", *mode, "--python", s.root + s.py, "-o", rec, "--",
                                 "unshare", "--mount", "--root=" + s.root, s.py,
                                 s.inner + "/wrap.py", check=False, timeout=300)
                assert p.returncode == 0, "%s: exit %d: %s" % (label, p.returncode, p.stderr[-500:])
                ex = recorded(rec)
                assert len(ex) >= 2, (label, "executions", len(ex))	# the main thread and workers
                bad = [(e["tid"], e.get("incomplete")) for e in ex if not e["complete"]]
                assert not bad, (label, "incomplete", bad)
                trees.append(sorted(no_root_shape(e["root"]) for e in ex))
            diff = [(a, b) for a, b in zip(*trees) if a != b]
            assert not diff and len(trees[0]) == len(trees[1]), \
                "%s %s: full capture and --no-durations differ: %s" % (
                    suite, py, first_difference(*diff[0]) if diff else "in the number of executions")
        finally:
            s.close()
    case.__name__ = "%s_%s_no_root_both_modes" % (suite, py.replace(".", "_"))
    return case


def stripped_env(minor, control=False):
    """(interpreter, environment, the directory its libpython must come from): the stripped
    copy through LD_LIBRARY_PATH, or with control, the pyenv build it was copied from, which
    leaktrace supports today: the control cases show that this harness can pass"""
    d = os.path.join(ROOTS, "stripped", minor)
    prefix = open(os.path.join(d, "PREFIX")).read().strip()
    if control:
        env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "PYTHONHOME")}
        return os.path.join(prefix, "bin", "python" + minor), env, os.path.join(prefix, "lib")
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(d, "lib"), PYTHONHOME=prefix)
    return os.path.join(d, "bin", "python" + minor), env, os.path.join(d, "lib")


def stripped_oracle(exe, env, d):
    calls = shutil.copy2(os.path.join(HERE, "workloads", "calls.py"), d)
    wrap = lt.write_file(d, "wrap.py", WRAP)
    ora = os.path.join(d, "o.jsonl")
    open(os.path.join(d, "go"), "w").close()
    lt.run([exe, os.path.join(HERE, "oracle.py"), "--root", "run", "-o", ora, wrap], env=env)
    os.unlink(os.path.join(d, "go"))
    return calls, wrap, ora


def maps_copy(pid, lib):
    """the libpython the process runs is the one meant (the copy, not pyenv's original)"""
    maps = open("/proc/%d/maps" % pid).read()
    assert lib in maps, "pid %d does not map %s" % (pid, lib)


def case_name(minor, control, how):
    return "%s_%s_%s" % ("control_pyenv" if control else "stripped", minor.replace(".", "_"), how)


def stripped_cmd_case(minor, control=False):
    def case():
        ensure_roots()
        label = case_name(minor, control, "cmd")
        exe, env, _ = stripped_env(minor, control)
        d = lt.tmpdir()
        _, wrap, ora = stripped_oracle(exe, env, d)
        open(os.path.join(d, "go"), "w").close()
        rec = os.path.join(d, "r.jsonl")
        p = lt.run([lt.LEAKTRACE, "record", "--root", "run", "-o", rec, "--", exe, wrap],
                   check=False, env=env, timeout=300)
        if p.returncode != 0:
            refused(label, p.returncode, p.stderr)
        same_as_oracle(label, recorded(rec), ora, p.stderr)
    case.__name__ = case_name(minor, control, "cmd")
    return case


def stripped_pid_case(minor, control=False):
    def case():
        ensure_roots()
        label = case_name(minor, control, "pid")
        exe, env, libdir = stripped_env(minor, control)
        d = lt.tmpdir()
        _, wrap, ora = stripped_oracle(exe, env, d)
        c = subprocess.Popen([exe, wrap], env=env, stdout=subprocess.PIPE, text=True)
        lp = None
        try:
            time.sleep(0.3)
            maps_copy(c.pid, libdir)
            rec = os.path.join(d, "r.jsonl")
            lp = start_recording(label, ["-p", c.pid, "--root", "run", "-o", rec])
            open(os.path.join(d, "go"), "w").close()
            c.communicate(timeout=300)
            assert c.returncode == 0, "%s: the target exited %d" % (label, c.returncode)
            err = lp.communicate(timeout=60)[1]
            assert lp.returncode == 0, "%s: leaktrace exited %d: %s" % (label, lp.returncode, err[-500:])
            same_as_oracle(label, recorded(rec), ora, err)
        finally:
            for p in (c, lp):
                if p:
                    stop(p)
    case.__name__ = case_name(minor, control, "pid")
    return case


@lt.test
def tables_match_every_dwarf_build():
    """one table per minor version fits every build of it with DWARF here (pyenv, Debian
    python3.11-dbg, the sid -dbg files): tools/gen_tables.py --check"""
    ensure_roots()
    p = lt.run([lt.PY, GEN_TABLES, "--check"], check=False, timeout=900)
    assert p.returncode == 0, "gen_tables --check: " + (p.stdout + p.stderr).strip()[-800:]
    assert "every build equals its table" in p.stdout, p.stdout[-500:]
    # the Debian and pyenv builds of 3.11 were both compared, and sid's 3.13 with pyenv's
    assert re.search(r"3\.11 +Debian", p.stdout) and re.search(r"3\.11 +pyenv", p.stdout), p.stdout
    assert re.search(r"3\.13 +Debian sid", p.stdout) and re.search(r"3\.13 +pyenv", p.stdout), p.stdout


@lt.test
def roots_are_what_the_cases_need():
    """the sid root has python3.13+ without debug info; the stripped copies have no
    .symtab and no build-id, and really load their own libpython"""
    ensure_roots()
    pys = sid_pythons()
    assert "python3.13" in pys and "python3.14" in pys, pys
    assert not glob.glob(os.path.join(ROOTS, "sid/usr/lib/debug/.build-id/*")), "sid root has -dbg files"
    for m in stripped_minors():
        exe, env, _ = stripped_env(m)
        for f in (exe, os.path.join(ROOTS, "stripped", m, "lib", "libpython%s.so.1.0" % m)):
            out = lt.run(["readelf", "-S", "-n", "-W", f], check=False).stdout
            assert ".text" in out, f
            assert ".symtab" not in out and "Build ID" not in out, f
        p = lt.run([exe, "-c", "import sys; print(sys.version_info[:2])"], env=env)
        assert p.stdout.strip() == "(3, %s)" % m.split(".")[1], p.stdout


def register():
    """one case per build found in the roots (they exist once mkroots.sh has run)"""
    try:
        ensure_roots()
    except lt.Skip:
        return
    except AssertionError as e:
        def roots_build():
            raise e
        lt.test(roots_build)
        return
    for py in sid_pythons():
        lt.test(sid_pid_case(py))
        lt.test(sid_all_case(py))
        lt.test(sid_no_root_case(py))
    # Debian 13's python3.13, where `tools/mkroots.sh trixie` made it (not by default)
    for py in sid_pythons("trixie"):
        lt.test(sid_pid_case(py, "trixie"))
        lt.test(sid_all_case(py, "trixie"))
    if "3.11" in stripped_minors():
        lt.test(stripped_cmd_case("3.11", control=True))
        lt.test(stripped_pid_case("3.11", control=True))
    for m in stripped_minors():
        lt.test(stripped_cmd_case(m))
        lt.test(stripped_pid_case(m))


if __name__ == "__main__":
    register()
    lt.main()
