"""Deployment (deploy/): the unit and the DaemonSet are valid and state the
capabilities; the capability set recording needs is enough for a
non-root agent and every one of them is needed (a missing one is named,
exit 2); the FROM scratch image built with podman traces a Python process
of the host with the host's pid namespace and exactly those capabilities."""
import json
import os
import shutil
import subprocess
import time

import lt

STATIC = os.path.join(lt.ROOT, ".output", "static", "leaktrace")
NOBODY = 65534
# Debian's podman in this VM needs these (deploy/README.md)
PODMAN = ["podman"]
PODMAN_RUN_OPTS = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]

LOOP = """import time
def leaf(i):
    return i % 2
def tick(i):
    return leaf(i) + 1
i = 0
while True:
    tick(i)
    i += 1
    time.sleep(0.005)
"""


def build_static():
    lt.run(["nice", "-n", "10", "make", "-s", "-C", lt.ROOT, "static"], timeout=600)
    return STATIC


def start_target(d):
    """a root-owned python3.11 calling tick() in a loop"""
    script = lt.write_file(d, "loop.py", LOOP)
    p = subprocess.Popen([lt.PY, script])
    time.sleep(0.5)
    return p


def as_nobody(caps, argv, d):
    """argv as uid/gid 65534 with exactly caps (names without CAP_) as
    inheritable and ambient capabilities, so that they are effective"""
    add = "".join(",+" + x.lower() for x in caps)
    cmd = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
           "--inh-caps=-all" + add, "--ambient-caps=-all" + add] + argv
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=d)


def record_as_nobody(caps, pid, d, name):
    out = os.path.join(d, name)
    r = as_nobody(caps, [STATIC, "record", "-p", str(pid), "--root=tick", "--duration=1", "-o", out], d)
    return r, out


def executions(path):
    n = 0
    with open(path) as f:
        for ln in f:
            o = json.loads(ln)
            if o.get("type") == "exec" and o.get("complete"):
                assert o["root"]["fn"] == "tick" and o["root"]["calls"][0]["fn"] == "leaf", o
                n += 1
    return n


BASE = ["BPF", "PERFMON", "SYS_PTRACE"]


def needed_caps(pid, d):
    """the set this kernel needs: BASE, or, where uprobe perf events are
    for CAP_SYS_ADMIN only, SYS_ADMIN (which also grants what BPF and
    PERFMON do) and SYS_PTRACE. Asserts the refusal of BASE names why."""
    r, out = record_as_nobody(BASE, pid, d, "base.jsonl")
    if r.returncode == 0:
        assert executions(out) > 0
        return BASE
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "CAP_SYS_ADMIN" in r.stderr and "uprobe" in r.stderr, r.stderr
    return ["SYS_ADMIN", "SYS_PTRACE"]


@lt.test
def non_root_agent_with_the_stated_caps_records_and_each_is_needed():
    lt.need_root()
    if not shutil.which("setpriv"):
        raise lt.Skip("setpriv (util-linux) missing")
    build_static()
    d = lt.tmpdir()
    os.chmod(d, 0o777)	# nobody writes the traces here
    target = start_target(d)
    try:
        caps = needed_caps(target.pid, d)
        r, out = record_as_nobody(caps, target.pid, d, "ok.jsonl")
        assert r.returncode == 0, (caps, r.stderr)
        assert "tracing pid %d" % target.pid in r.stderr, r.stderr
        assert executions(out) > 10, caps
        for drop in caps:
            less = [c for c in caps if c != drop]
            r, out = record_as_nobody(less, target.pid, d, "no-%s.jsonl" % drop)
            assert r.returncode == 2, (drop, r.returncode, r.stderr)
            assert "CAP_" + drop in r.stderr and "lacks" in r.stderr, (drop, r.stderr)
            assert not os.path.exists(out), "a trace was started without " + drop
        # none at all: the message names what to give
        r, _ = record_as_nobody([], target.pid, d, "none.jsonl")
        assert r.returncode == 2 and "CAP_BPF" in r.stderr and "CAP_SYS_PTRACE" in r.stderr, r.stderr
        assert target.poll() is None, "the target died"
    finally:
        target.kill()
        target.wait()
    shutil.rmtree(d)


def unit_and_daemonset():
    """the capabilities and command line the systemd unit and the
    DaemonSet state, read from the files"""
    import yaml
    unit = {}
    with open(os.path.join(lt.ROOT, "deploy", "leaktrace-record@.service")) as f:
        for ln in f:
            if "=" in ln and not ln.startswith("#"):
                k, v = ln.rstrip("\n").split("=", 1)
                unit[k] = v
    with open(os.path.join(lt.ROOT, "deploy", "daemonset.yaml")) as f:
        ds = yaml.safe_load(f)
    return unit, ds


@lt.test
def unit_and_daemonset_are_valid_and_their_command_records_as_the_agent():
    """deploy/'s systemd unit passes systemd-analyze verify, the DaemonSet is
    a DaemonSet with hostPID, no privilege and the stated capabilities, and
    the recording both run (record -a --comm, not -p) works as a non-root
    agent with the unit's capabilities"""
    lt.need_root()
    if not shutil.which("setpriv") or not shutil.which("systemd-analyze"):
        raise lt.Skip("setpriv or systemd-analyze missing")
    unit, ds = unit_and_daemonset()
    d = lt.tmpdir()
    inst = os.path.join(d, "leaktrace-record@python3.11.service")
    shutil.copy2(os.path.join(lt.ROOT, "deploy", "leaktrace-record@.service"), inst)
    v = subprocess.run(["systemd-analyze", "verify", "--man=no", inst], capture_output=True,
                       text=True, timeout=60)
    assert v.returncode == 0 and not v.stdout.strip() and not v.stderr.strip(), v.stderr
    caps = [c[len("CAP_"):] for c in unit["AmbientCapabilities"].split()]
    assert set(caps) == set(BASE) | {"SYS_ADMIN", "DAC_READ_SEARCH"}, caps
    assert unit["CapabilityBoundingSet"].split() == unit["AmbientCapabilities"].split()
    assert unit["DynamicUser"] == "yes" and unit["NoNewPrivileges"] == "yes", unit
    assert "leaktrace record -a --comm=%i" in unit["ExecStart"], unit["ExecStart"]
    assert ds["kind"] == "DaemonSet" and ds["apiVersion"] == "apps/v1", ds
    pod = ds["spec"]["template"]["spec"]
    c = pod["containers"][0]
    sc = c["securityContext"]
    assert pod["hostPID"] is True and sc["privileged"] is False, pod
    assert sc["capabilities"]["drop"] == ["ALL"], sc
    assert set(sc["capabilities"]["add"]) == set(BASE) | {"SYS_ADMIN"}, sc
    assert c["args"][:3] == ["record", "-a", "--comm=$(LEAKTRACE_COMM)"], c["args"]
    # the unit's recording, as its dynamic user would run it: -a --comm,
    # its capabilities (what this kernel needs of them, plus DAC_READ_SEARCH)
    build_static()
    os.chmod(d, 0o777)
    target = start_target(d)
    try:
        need = needed_caps(target.pid, d)
        assert set(need) <= set(caps), (need, caps)
        out = os.path.join(d, "unit.jsonl")
        r = as_nobody(need + ["DAC_READ_SEARCH"], [STATIC, "record", "-a", "--comm=python3.11",
                                                   "--root=tick", "--duration=2", "-o", out], d)
        assert r.returncode == 0 and "system-wide" in r.stderr, r.stderr
        assert executions(out) > 10
        assert target.poll() is None, "the target died"
    finally:
        target.kill()
        target.wait()
    shutil.rmtree(d)


@lt.test
def unreadable_interpreter_needs_dac_read_search():
    """a build under /root (mode 0700): the agent's user cannot read it;
    CAP_DAC_READ_SEARCH lets it, and its absence is named"""
    lt.need_root()
    py = "/root/.pyenv/versions/3.11.7/bin/python3.11"
    if not os.path.exists(py) or not shutil.which("setpriv"):
        raise lt.Skip("no pyenv 3.11.7 or setpriv here")
    if os.stat("/root").st_mode & 0o005:
        raise lt.Skip("/root is readable by others here")
    build_static()
    d = lt.tmpdir()
    os.chmod(d, 0o777)
    script = lt.write_file(d, "loop.py", LOOP)
    target = subprocess.Popen([py, script])
    time.sleep(0.5)
    try:
        caps = needed_caps(target.pid, d)
        r, out = record_as_nobody(caps, target.pid, d, "no-dac.jsonl")
        assert r.returncode == 2, r.stderr
        assert "Permission denied" in r.stderr and "CAP_DAC_READ_SEARCH" in r.stderr, r.stderr
        r, out = record_as_nobody(caps + ["DAC_READ_SEARCH"], target.pid, d, "dac.jsonl")
        assert r.returncode == 0, r.stderr
        assert executions(out) > 10
    finally:
        target.kill()
        target.wait()
    shutil.rmtree(d)


@lt.test
def scratch_image_traces_a_host_python_with_host_pid_and_the_caps():
    lt.need_root()
    if not shutil.which("podman"):
        raise lt.Skip("podman missing")
    tag = "localhost/leaktrace-test-%d:dev" % os.getpid()
    opts = " ".join(PODMAN_RUN_OPTS)
    lt.run(["nice", "-n", "10", "make", "-s", "-C", lt.ROOT, "image", "IMAGE=" + tag, "PODMAN_OPTS=" + opts],
           timeout=600)
    d = lt.tmpdir()
    target = start_target(d)
    try:
        inspect = json.loads(lt.run(PODMAN + ["image", "inspect", tag]).stdout)[0]
        assert len(inspect["RootFS"]["Layers"]) == 1, "FROM scratch: one layer, the binary"
        caps = needed_caps(target.pid, d) if os.path.exists(STATIC) else BASE
        # deploy/README.md's command
        run = PODMAN + ["run", "--rm"] + PODMAN_RUN_OPTS + ["--pid=host", "--cap-drop=all"]
        out = ["-v", d + ":/out", tag, "record", "-p", str(target.pid), "--root=tick", "--duration=2"]
        r = subprocess.run(run + ["--cap-add=" + ",".join(caps)] + out + ["-o", "/out/t.jsonl"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "tracing pid %d" % target.pid in r.stderr, r.stderr
        assert executions(os.path.join(d, "t.jsonl")) > 10
        # one fewer: refused, named
        r = subprocess.run(run + ["--cap-add=" + ",".join(caps[1:])] + out + ["-o", "/out/t2.jsonl"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and "CAP_" + caps[0] in r.stderr, r.stderr
        # the image analyzes too (its working directory is the volume)
        r = subprocess.run(PODMAN + ["run", "--rm"] + PODMAN_RUN_OPTS + ["-v", d + ":/out", tag, "summarize",
                                                                        "t.jsonl", "-o", "t.ltsum"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        hdr = json.loads(open(os.path.join(d, "t.ltsum")).readline())
        assert hdr["type"] == "summary" and hdr["executions"] > 10 and hdr["capture"]["root"] == "tick", hdr
    finally:
        target.kill()
        target.wait()
        subprocess.run(PODMAN + ["rmi", "-f", tag], capture_output=True, timeout=120)
    shutil.rmtree(d)


lt.main()
