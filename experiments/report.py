#!/usr/bin/python3.11
"""Markdown for docs/EXPERIMENTS.md from the drivers' JSON outputs.

    report.py section NAME DOC < markdown      replace <!-- BEGIN NAME -->..<!-- END NAME -->
    report.py analysis A.json [--title T]      sets table + D_IF/D_EE' elements
    report.py table1 DETECT.json               Table I (counts per value, recall, precision)
    report.py manifest MANIFEST.json           attack success table
"""
import json
import os
import sys


def section(name, doc):
    body = sys.stdin.read().rstrip("\n") + "\n"
    begin, end = "<!-- BEGIN %s -->" % name, "<!-- END %s -->" % name
    text = open(doc).read() if os.path.exists(doc) else "# leaktrace experiments\n"
    block = "%s\n%s%s" % (begin, body, end)
    if begin in text and end in text:
        a, b = text.index(begin), text.index(end) + len(end)
        text = text[:a] + block + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(doc)), exist_ok=True)
    with open(doc + ".tmp", "w") as f:
        f.write(text)
    os.replace(doc + ".tmp", doc)


def elem(e):
    s = "(%s, %s)" % (e["key"], e["value"]) if "value" in e else "(%s)" % e["key"]
    if e.get("path"):
        s += " at `%s`" % e["path"]
    return s


def analysis(path, title=None):
    d = json.load(open(path))
    out = []
    if title:
        out.append("**%s**\n" % title)
    out.append("|E| = %d, |E'| = %d%s\n" % (d["E"], d["E_prime"],
               (", skipped %d" % d["skipped"]) if d.get("skipped") else ""))
    out.append("| observation | \\|D_E\\| | \\|D_E'\\| | \\|D_EE'\\| | \\|D_IF\\| | D_IF |")
    out.append("|---|---|---|---|---|---|")
    for name, o in d["observations"].items():
        dif = o["D_IF"]
        shown = "; ".join(elem(e) for e in dif[:6]) + (" ... (%d)" % len(dif) if len(dif) > 6 else "")
        out.append("| %s | %d | %d | %d | %d | %s |" % (name, o["D_E"], o["D_E_prime"],
                   len(o["D_EE_prime"]), len(dif), shown or "{}"))
    for name, o in d["observations"].items():
        extra = [e for e in o["D_EE_prime"] if e not in o["D_IF"]]
        if extra:
            out.append("\nD_EE' - D_IF for %s (in D_EE' but also in D_E or D_E'): %s" % (
                name, "; ".join(elem(e) for e in extra[:10]) + (" ..." if len(extra) > 10 else "")))
    return "\n".join(out) + "\n"


def table1(path):
    d = json.load(open(path))
    vals = sorted(set(d["clean"]["values"]) | set(d["adv"]["values"]))
    out = ["| number | " + " | ".join("`%s`" % v for v in vals) + " | rule matched |",
           "|---" * (len(vals) + 2) + "|"]
    for lab, name in (("clean", "Original image"), ("adv", "Perturbed image")):
        r = d[lab]
        out.append("| %s (%d) | " % (name, r["n"]) + " | ".join(str(r["values"].get(v, 0)) for v in vals)
                   + " | %d |" % r["matched"])
    fmt = lambda x: "n/a" if x is None else "%.1f%%" % (100 * x)
    out.append("\nRecall %s, precision %s." % (fmt(d["recall"]), fmt(d["precision"])))
    return "\n".join(out) + "\n"


def manifest(path):
    m = json.load(open(path))
    out = ["Clean images: %d (writer `%s`, JPEG quality %d; clean accuracy after the JPEG round trip %s). "
           "Adversarial: %d (writer `%s`). Model `%s`. Generation took %.1f s.\n" % (
               m["n_clean"], m["clean_writer"], m["quality"], m["clean_accuracy_after_jpeg"],
               m["n_adv"], m["adv_writer"], m["model"], m["seconds"]),
           "| attack | tried | target reached (uint8, in memory) | target reached (saved JPEG) | kept | max L-inf | seconds |",
           "|---|---|---|---|---|---|---|"]
    for s, st in m["attacks"].items():
        out.append("| %s | %d | %d (%.1f%%) | %d (%.1f%%) | %d | %.3f | %.1f |" % (
            s, st["tried"], st["flip_in_memory"], 100.0 * st["flip_in_memory"] / max(st["tried"], 1),
            st["flip_after_jpeg"], 100.0 * st["flip_after_jpeg"] / max(st["tried"], 1),
            st["kept"], st["linf_max"], st["seconds"]))
    return "\n".join(out) + "\n"


def main():
    a = sys.argv[1:]
    if not a:
        raise SystemExit(__doc__)
    if a[0] == "section" and len(a) == 3:
        section(a[1], a[2])
    elif a[0] == "analysis" and len(a) >= 2:
        title = a[a.index("--title") + 1] if "--title" in a else None
        sys.stdout.write(analysis(a[1], title))
    elif a[0] == "table1" and len(a) == 2:
        sys.stdout.write(table1(a[1]))
    elif a[0] == "manifest" and len(a) == 2:
        sys.stdout.write(manifest(a[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
