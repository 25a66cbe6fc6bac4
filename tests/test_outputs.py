"""Every output handled like a trace: files that hold values (rules,
exports, the report, summaries) are created 0600 whatever the umask; a write error
(/dev/full, a full file system, stdout on a full disk) names the file and
the cause and exits 1; a device given as output is never removed."""
import json
import os
import stat
import subprocess

import lt


def trace(path, vals):
    with open(path, "w") as f:
        f.write('{"type":"header","format":1,"tool":"leaktrace"}\n')
        for i, v in enumerate(vals):
            f.write(json.dumps({"type": "exec", "id": i, "pid": 1, "tid": 1, "start_ns": i * 1000,
                                "dur_ns": 500, "complete": True,
                                "root": {"fn": "handle", "dur_ns": 500,
                                         "ret": {"type": "int", "value": 0},
                                         "calls": [{"fn": "secret", "dur_ns": 100,
                                                    "ret": {"type": "str", "value": v}}]}}) + "\n")
        f.write('{"type":"stats","execs":%d,"calls":%d,"lost_events":0,"incomplete_execs":0,'
                '"truncated_strings":0}\n' % (len(vals), 2 * len(vals)))
    return path


def inputs(d):
    return (trace(os.path.join(d, "clean.jsonl"), ["a", "b", "a", "b"]),
            trace(os.path.join(d, "adv.jsonl"), ["a", "zz", "zz", "b"]))


def lt_umask0(*args):
    """leaktrace with umask 0: a mode of 0600 is the program's own doing"""
    return subprocess.run([lt.LEAKTRACE] + list(args), capture_output=True, text=True,
                          timeout=120, preexec_fn=lambda: os.umask(0))


@lt.test
def value_outputs_are_0600():
    d = lt.tmpdir()
    clean, adv = inputs(d)
    rules, report = os.path.join(d, "r.json"), os.path.join(d, "r.html")
    p = lt_umask0("analyze", "-q", "--rules-out", rules, "--report", report, clean, adv)
    assert p.returncode == 0, p.stderr
    outs = [rules, report]
    for fmt in ("chrome", "folded"):
        o = os.path.join(d, "x." + fmt)
        p = lt_umask0("export", "--format", fmt, adv, "-o", o)
        assert p.returncode == 0, p.stderr
        outs.append(o)
    pdir = os.path.join(d, "paper")
    p = lt_umask0("export", "--format", "paper", adv, "-o", pdir)
    assert p.returncode == 0, p.stderr
    outs += [os.path.join(pdir, f) for f in os.listdir(pdir)]
    for name in ("s.summary", "s.summary.gz"):   # summaries hold values too
        o = os.path.join(d, name)
        p = lt_umask0("summarize", clean, "-o", o)
        assert p.returncode == 0, p.stderr
        outs.append(o)
    assert len(outs) == 10
    for o in outs:
        mode = stat.S_IMODE(os.stat(o).st_mode)
        assert mode == 0o600, "%s: mode %o" % (o, mode)


def fails_with_cause(p, name):
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "%s: write failed: No space left on device" % name in p.stderr, p.stderr


@lt.test
def dev_full_names_file_and_cause():
    d = lt.tmpdir()
    clean, adv = inputs(d)
    full = "/dev/full"
    fails_with_cause(lt.leaktrace("analyze", "-q", "--rules-out", full, clean, adv, check=False), full)
    fails_with_cause(lt.leaktrace("analyze", "-q", "--report", full, clean, adv, check=False), full)
    for fmt in ("chrome", "folded"):
        fails_with_cause(lt.leaktrace("export", "--format", fmt, adv, "-o", full, check=False), full)
    assert stat.S_ISCHR(os.stat(full).st_mode), "/dev/full was removed"
    rules = os.path.join(d, "r.json")
    lt.leaktrace("analyze", "-q", "--rules-out", rules, clean, adv)
    # results on stdout are output too
    with open(full, "w") as f:
        for args in (["analyze", "-q", clean, adv], ["analyze", "-q", "-j", clean, adv],
                     ["detect", "--rules", rules, adv], ["export", "--format", "chrome", adv, "-o", "-"]):
            p = subprocess.run([lt.LEAKTRACE] + args, stdout=f, stderr=subprocess.PIPE, text=True,
                               timeout=120)
            fails_with_cause(p, "<stdout>")


@lt.test
def paper_export_on_full_filesystem():
    lt.need_root()
    d = lt.tmpdir()
    clean, adv = inputs(d)
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    lt.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt])
    try:
        # fill it up, leaving no room for the export's files
        fd = os.open(os.path.join(mnt, "fill"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError:
            pass
        os.close(fd)
        p = lt.leaktrace("export", "--format", "paper", adv, "-o", os.path.join(mnt, "p"), check=False)
        assert p.returncode == 1, p.stderr
        assert "No space left on device" in p.stderr and "Success" not in p.stderr, p.stderr
        assert os.path.join(mnt, "p") in p.stderr, p.stderr
    finally:
        lt.run(["umount", mnt])


lt.main()
