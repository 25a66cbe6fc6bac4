"""The documentation keeps up with the binary (issue 19).

- Every option that `leaktrace CMD --help` shows is described in the man
  page, in CMD's own subsection (`.SS CMD`) or under `.SS Global`: a new
  option without a man page entry fails here. Options are taken from the
  help text by pattern (`-x`, `--long`, `--long=ARG`, `--long ARG`), so
  the test works with the hand-written usage texts and with argp's
  generated help alike.
- The man page renders without groff warnings.
- docs/FORMAT.md has the sections §1-§7 that code comments cite, and every
  "FORMAT.md §N" citation in the tree names one of them.
- The documents this branch owns cite FORMAT.md, not the SPEC that is not
  in the repository.
"""
import os
import re
import shutil
import subprocess

import lt

MAN = os.path.join(lt.ROOT, "docs", "leaktrace.8")
FORMAT = os.path.join(lt.ROOT, "docs", "FORMAT.md")
# the commands leaktrace has; the top-level --help may name more
COMMANDS = ["record", "analyze", "detect", "export", "import-paper", "summarize"]
# argp's generated "--usage" (a one-line synopsis) is boilerplate that the
# man page's SYNOPSIS covers; everything else must be described
BOILERPLATE = {"--usage"}

LONG = re.compile(r"(?<![\w-])(--[a-zA-Z][\w-]*)")
SHORT = re.compile(r"(?<![\w-])(-[a-zA-Z])(?![\w-])")


def help_text(*cmd):
    p = lt.leaktrace(*cmd, "--help", check=False)
    assert p.returncode == 0, "leaktrace %s --help exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr)
    return p.stdout + p.stderr


def options(text):
    """the options a help text names: long ones, and short ones written
    as options (at the start of an option line or next to a long one)"""
    longs, shorts = set(), set()
    for line in text.splitlines():
        s = line.strip()
        # an option line: the options are its first column (descriptions
        # may name other commands' options: "from analyze --rules-out")
        if s.startswith("-"):
            longs.update(LONG.findall(re.split(r"\s{2,}", s)[0]))
        # "-p, --pid PID", "-j, --json", argp's "-p, --pid=PID", "-q  quiet"
        m = re.match(r"(-[a-zA-Z])(?:,|\s|=|$)", s)
        if m:
            shorts.add(m.group(1))
        shorts.update(re.findall(r"(?<![\w-])(-[a-zA-Z])\s*=\s*--", s))	# "-j = --format json"
        shorts.update(re.findall(r"\((-[a-zA-Z])\)", s))			# "--format json (-j)"
    return (longs - BOILERPLATE) | shorts


def man_source():
    with open(MAN) as f:
        return f.read()


def man_sections(src):
    """{subsection name: its text with roff escapes taken out}"""
    plain = src.replace("\\-", "-").replace("\\(dq", '"')
    plain = re.sub(r"\\f[BIRP]", "", plain)
    out, cur = {}, None
    for line in plain.splitlines():
        if line.startswith(".SH "):
            cur = None
        elif line.startswith(".SS "):
            cur = line[4:].strip().strip('"')
            out[cur] = ""
        elif cur is not None:
            out[cur] += line + "\n"
    return out


def mentions(text, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text) is not None


def commands():
    """COMMANDS, plus any other command the top-level help lists"""
    found = re.findall(r"^\s*leaktrace\s+([a-z][a-z-]+)\s", help_text(), re.M)
    return COMMANDS + sorted(set(found) - set(COMMANDS))


@lt.test
def every_option_in_help_is_in_the_man_page():
    secs = man_sections(man_source())
    assert "Global" in secs, "docs/leaktrace.8 has no '.SS Global' subsection"
    missing = []
    # the top-level help also shows each command's synopsis (detect
    # --rules, export --format): described in some subsection is enough
    alltext = "".join(secs.values())
    for opt in sorted(options(help_text())):
        if not mentions(alltext, opt):
            missing.append("leaktrace %s" % opt)
    for cmd in commands():
        if cmd not in secs:
            missing.append("leaktrace %s: no '.SS %s' subsection" % (cmd, cmd))
            continue
        text = secs[cmd] + secs["Global"]
        opts = options(help_text(cmd))
        assert opts, "no options found in 'leaktrace %s --help'" % cmd
        missing += ["leaktrace %s %s" % (cmd, o) for o in sorted(opts) if not mentions(text, o)]
    assert not missing, "options shown by --help but not described in docs/leaktrace.8:\n  " + \
        "\n  ".join(missing)


@lt.test
def option_extraction_reads_both_help_styles():
    # the hand-written usage texts and glibc argp's generated help
    hand = "  -p, --pid PID          attach\n  --str-len N            keep\n" \
           "  --format human|json    output format (default human); -j = --format json\n" \
           "  -- CMD [ARGS...]       start CMD\n  python3.X-dbg and --no-values\n"
    argp = "  -a, --all                  every process\n      --comm=NAME            only NAME\n" \
           "  -o, --output=FILE          trace file\n  -?, --help                 Give this help list\n" \
           "      --usage                Give a short usage message\n  -V, --version              version\n" \
           "  -r, --rules=RULES.json     the rules file (from analyze --rules-out)\n"
    # "--no-values" is named in a description, not offered on an option line
    assert options(hand) == {"-p", "--pid", "--str-len", "--format", "-j"}, options(hand)
    assert options(argp) == {"-a", "--all", "--comm", "-o", "--output", "--help", "-V", "--version",
                             "-r", "--rules"}, \
        options(argp)


@lt.test
def man_page_renders_without_warnings():
    if not shutil.which("groff"):
        raise lt.Skip("groff is not installed (apt-get install groff)")
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN], capture_output=True, text=True)
    assert p.returncode == 0 and not p.stderr.strip(), "groff: " + p.stderr
    secs = re.findall(r"^\.SH (.+)$", man_source(), re.M)
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "EXIT STATUS", "OVERHEAD", "EXAMPLES"):
        assert s in secs or '"%s"' % s in secs, "docs/leaktrace.8 has no .SH %s" % s


def format_sections():
    with open(FORMAT) as f:
        return {int(n): t for n, t in re.findall(r"^## §(\d+) (.+)$", f.read(), re.M)}


@lt.test
def format_sections_cited_exist():
    secs = format_sections()
    assert sorted(secs) == list(range(1, 8)), "docs/FORMAT.md sections: %s" % sorted(secs)
    bad = []
    for top in ("user", "bpf", "tests", "tools", "experiments", "bench", "docs"):
        for d, _, files in os.walk(os.path.join(lt.ROOT, top)):
            for name in files:
                if not name.endswith((".c", ".h", ".py", ".sh", ".md", ".8")):
                    continue
                path = os.path.join(d, name)
                with open(path, errors="replace") as f:
                    text = f.read()
                for n in re.findall(r"FORMAT\.md §(\d+)", text):
                    if int(n) not in secs:
                        bad.append("%s: FORMAT.md §%s" % (os.path.relpath(path, lt.ROOT), n))
    assert not bad, "citations of missing FORMAT.md sections:\n  " + "\n  ".join(bad)


@lt.test
def docs_cite_format_not_spec():
    spec = re.compile(r"\bSPEC\b")
    paths = [os.path.join(lt.ROOT, "README.md")]
    for top in ("docs", "tools", "experiments", "bench"):
        for d, _, files in os.walk(os.path.join(lt.ROOT, top)):
            paths += [os.path.join(d, f) for f in files]
    tests = os.path.join(lt.ROOT, "tests")
    paths += [os.path.join(tests, f) for f in os.listdir(tests) if f.endswith((".py", ".sh"))]
    bad = []
    for path in paths:
        if path == os.path.abspath(__file__) or path.endswith((".png", ".gz")):
            continue
        with open(path, errors="replace") as f:
            for i, line in enumerate(f, 1):
                if spec.search(line):
                    bad.append("%s:%d: %s" % (os.path.relpath(path, lt.ROOT), i, line.strip()))
    assert not bad, "cite docs/FORMAT.md §N instead of SPEC:\n  " + "\n  ".join(bad)


lt.main()
