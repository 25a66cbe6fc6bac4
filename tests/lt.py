"""Shared helpers of leaktrace's Python tests (run with /usr/bin/python3.11).

A test file defines functions decorated with @test and ends with
`lt.main()`, which runs them and prints PASS/FAIL/SKIP lines for
tests/run.sh.
"""
import glob
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEAKTRACE = os.path.join(ROOT, ".output", "leaktrace")
PY = "/usr/bin/python3.11"

_tests = []


class Skip(Exception):
    pass


def test(fn):
    _tests.append(fn)
    return fn


def run(args, check=True, timeout=300, **kw):
    """Run a command, return CompletedProcess with text stdout/stderr."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p



ROOTS = os.environ.get("LEAKTRACE_ROOTS", "/var/tmp/leaktrace-roots")


def sid_pythons(versions):
    """(sid's root, [(label, command prefix, record options)]) for each
    python3.X of versions ("3.13", ...) that Debian sid's root has (made by
    tools/mkroots.sh, cached; a failure fails the test). Each runs in the
    root through unshare without --fork: unshare execs the python, so
    --no-durations, which follows no child, traces it; --python names the
    binary as the host sees it"""
    sid = os.path.join(ROOTS, "sid")
    p = run(["sh", os.path.join(ROOT, "tools", "mkroots.sh"), "sid"], check=False, timeout=1800)
    assert p.returncode == 0, "tools/mkroots.sh failed: " + p.stderr.strip()[-500:]
    out = []
    for v in versions:
        exe = os.path.join(sid, "usr/bin/python" + v)
        if os.path.exists(exe):
            out.append(("sid " + v, ["unshare", "--mount", "--root=" + sid, "/usr/bin/python" + v],
                        ["--python", exe]))
    return sid, out


def build_id(path):
    """the ELF build-id of path, as hex"""
    return run(["readelf", "-n", path]).stdout.split("Build ID: ")[1].split()[0]

def leaktrace(*args, **kw):
    return run([LEAKTRACE] + [str(a) for a in args], **kw)


_LIBPYTHON = {}


def mapped_exe(pid):
    """the executable pid runs, once it and the libpython it links (pyenv's
    builds) are mapped: an exec names the executable before it maps it, and
    the dynamic loader maps libpython later, so a process just started by
    Popen can be in between. None before that or if pid is gone"""
    try:
        exe = os.readlink("/proc/%s/exe" % pid)
        with open("/proc/%s/maps" % pid) as f:
            maps = f.read()
    except OSError:
        return None
    if exe not in _LIBPYTHON:
        try:
            _LIBPYTHON[exe] = [l for l in ldd_libs([exe]) if "libpython" in os.path.basename(l)]
        except Exception:   # not an ELF file ldd reads (a chroot's, a script)
            _LIBPYTHON[exe] = []
    return exe if exe in maps and all(l in maps for l in _LIBPYTHON[exe]) else None


def wait_mapped(pid, timeout=10):
    """until pid's executable is mapped (mapped_exe); a later leaktrace -p
    says what is wrong if it never is"""
    end = time.time() + timeout
    while not mapped_exe(pid) and time.time() < end:
        time.sleep(0.01)


def start_recording(*args, ready=("tracing pid", "system-wide")):
    """leaktrace record ARGS in the background, returned once it has
    attached (its stderr so far is in .attach_log). With -p PID, started
    once PID's executable is mapped (leaktrace -p looks for the mapping)."""
    args = [str(a) for a in args]
    if "-p" in args:
        wait_mapped(args[args.index("-p") + 1])
    lp = subprocess.Popen([LEAKTRACE, "record"] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = ""
    while not any(r in err for r in ready):
        line = lp.stderr.readline()
        if not line:
            lp.wait()
            raise AssertionError("leaktrace ended early: " + err)
        err += line
    lp.attach_log = err
    return lp


def tmpdir():
    return tempfile.mkdtemp(prefix="lt-test-")


def ldd_libs(files):
    """the shared libraries the files load, as ldd resolves them (absolute
    paths, each once)"""
    libs = []
    for line in "".join(run(["ldd", f]).stdout for f in files).splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else (parts[0] if parts else "")
        if path.startswith("/") and os.path.exists(path) and path not in libs:
            libs.append(path)
    return libs


def copy_into_root(root, paths):
    """each file to its own path under root (a link's target, copied)"""
    import shutil
    for path in paths:
        dst = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(path), dst)


def write_file(d, name, text):
    """text written to d/name (a target script); returns the path"""
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path



def free_port():
    """a loopback TCP port nothing listens on now"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_pid(parent, exe=None, timeout=30):
    """the pid, seen from the host, of the process unshare --fork started,
    once it runs its command: forked, it is still unshare until its exec,
    and within the exec its executable is named before it is mapped
    (leaktrace -p looks for the mapping). exe: once its mapped executable
    ends so (a command that runs sh, then chroot, then that one)"""
    end = time.time() + timeout
    own = os.stat("/proc/%d/exe" % parent)
    while time.time() < end:
        for path in glob.glob("/proc/%d/task/*/children" % parent):
            for k in open(path).read().split():
                try:
                    st = os.stat("/proc/%s/exe" % k)
                except OSError:
                    continue
                runs = mapped_exe(k)
                if runs and (runs.endswith(exe) if exe else
                             (st.st_dev, st.st_ino) != (own.st_dev, own.st_ino)):
                    return int(k)
        time.sleep(0.02)
    raise AssertionError("unshare (pid %d) started no %s" % (parent, exe or "command"))

def need_root():
    if os.geteuid() != 0:
        raise Skip("needs root (BPF)")


def main():
    only = sys.argv[1:]
    failed = 0
    for fn in _tests:
        if only and fn.__name__ not in only:
            continue
        name = "%s:%s" % (os.path.basename(sys.modules[fn.__module__].__file__), fn.__name__)
        try:
            fn()
            print("PASS %s" % name, flush=True)
        except Skip as e:
            print("SKIP %s: %s" % (name, e), flush=True)
        except Exception as e:
            failed += 1
            traceback.print_exc(file=sys.stdout)
            first = (str(e).splitlines() or [type(e).__name__])[0]
            print("FAIL %s: %s" % (name, first[:300]), flush=True)
    sys.exit(1 if failed else 0)
