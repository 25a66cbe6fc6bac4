"""The command leaktrace starts (`record -- CMD`) runs as it would untraced:
same ignored and blocked signals, same descriptors (those our caller passed,
none of leaktrace's), its user's supplementary groups when run as the sudo
user, and its own children's exit statuses (SIGCHLD not ignored), with and
without --alert-exec."""
import gzip
import json
import os
import signal
import subprocess

import lt

PROBE = r'''
import json, os, subprocess, sys
def probe_main():
    st = {}
    for l in open("/proc/self/status"):
        k, _, v = l.partition(":")
        if k in ("SigIgn", "SigBlk", "Groups", "Uid", "Gid"):
            st[k] = v.split()
    fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
    st["fds"] = fds
    st["fd_targets"] = {}
    for f in fds:
        try:
            st["fd_targets"][f] = os.readlink("/proc/self/fd/%d" % f)
        except OSError:
            pass
    st["false"] = subprocess.run(["false"]).returncode
    st["exit3"] = subprocess.run(["sh", "-c", "exit 3"]).returncode
    st["system"] = os.waitstatus_to_exitcode(os.system("exit 5"))
    return st
sys.stderr.write("PROBE " + json.dumps(probe_main()) + "\n")
'''


def caller_setup():
    """what a caller may hand down: an ignored and a blocked signal"""
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])


def probe_of(stderr):
    for l in stderr.splitlines():
        if l.startswith("PROBE "):
            return json.loads(l[6:])
    raise AssertionError("no probe line in: " + stderr[-2000:])


def run_both(d, rec_args, env=None, extra_groups=None):
    script = lt.write_file(d, "probe.py", PROBE)
    os.chmod(script, 0o644)
    # a descriptor the caller passes down: both runs must have it
    passed = os.open("/dev/null", os.O_RDONLY)
    os.set_inheritable(passed, True)
    try:
        kw = dict(capture_output=True, text=True, timeout=120, env=env,
                  preexec_fn=caller_setup, pass_fds=(passed,), extra_groups=extra_groups)
        if env and "SUDO_UID" in env:
            kw_plain = dict(kw, user=int(env["SUDO_UID"]), group=int(env["SUDO_GID"]),
                            extra_groups=os.getgrouplist(env["SUDO_USER"], int(env["SUDO_GID"])))
        else:
            kw_plain = kw
        plain = subprocess.run([lt.PY, script], **kw_plain)
        traced = subprocess.run([lt.LEAKTRACE, "record", "--root", "probe_main"] + rec_args +
                                ["--", lt.PY, script], **kw)
    finally:
        os.close(passed)
    assert plain.returncode == 0, plain.stderr
    assert traced.returncode == 0, traced.stderr
    return probe_of(plain.stderr), probe_of(traced.stderr), passed


def same(a, b, passed):
    for k in ("SigIgn", "SigBlk", "Groups", "Uid", "Gid", "false", "exit3", "system"):
        assert a[k] == b[k], "%s: untraced %s, traced %s" % (k, a[k], b[k])
    assert a["fds"] == b["fds"], "fds: untraced %s, traced %s (%s)" % (
        a["fd_targets"], b["fd_targets"], b["fd_targets"])
    assert passed in b["fds"]
    assert a["false"] == 1 and a["exit3"] == 3 and a["system"] == 5, a


def execs(path):
    with open(path) as f:
        return [json.loads(l) for l in f if '"type":"exec"' in l]


@lt.test
def command_sees_what_it_would_untraced():
    lt.need_root()
    d = lt.tmpdir()
    rec = os.path.join(d, "t.jsonl.gz")
    a, b, passed = run_both(d, ["-o", rec])
    same(a, b, passed)
    with gzip.open(rec, "rt") as f:
        assert sum(1 for l in f if '"type":"exec"' in l) == 1
    # the trace on stdout: the writer's own copy of fd 1 is not the command's
    a, b, passed = run_both(d, ["-o", "-"])
    same(a, b, passed)


@lt.test
def alert_exec_does_not_reach_the_command():
    lt.need_root()
    d = lt.tmpdir()
    rules = os.path.join(d, "r.json")
    with open(rules, "w") as f:
        json.dump({"format": 1, "rules": [{"observation": "returns", "key": "probe_main",
                                           "value": "int:2", "key_kind": "name"}]}, f)
    rec = os.path.join(d, "t.jsonl")
    a, b, passed = run_both(d, ["--rules", rules, "--alert-exec", "true", "-o", rec])
    same(a, b, passed)
    assert len(execs(rec)) == 1


@lt.test
def sudo_user_gets_its_own_groups():
    """run as the sudo user: that user's groups, never leaktrace's (root's)"""
    lt.need_root()
    d = lt.tmpdir()
    os.chmod(d, 0o755)
    env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534", SUDO_USER="nobody")
    # leaktrace itself holds a supplementary group the user does not have
    a, b, passed = run_both(d, [], env=env, extra_groups=[4242])
    same(a, b, passed)
    assert b["Uid"][0] == "65534" and "4242" not in b["Groups"], b
    assert sorted(map(int, b["Groups"])) == sorted(set(os.getgrouplist("nobody", 65534))), b


lt.main()
