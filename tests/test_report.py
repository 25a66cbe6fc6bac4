"""analyze --report: the HTML report rendered by headless Chromium (the
DOM it builds is read back and compared with analyze -j, with detect's
Table I and with counts taken from the traces themselves)."""
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lt
import ltgen

VOID = {"meta", "br", "img", "hr", "input", "link", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids, self.text = tag, dict(attrs), parent, [], []

    def all(self):
        yield self
        for k in self.kids:
            yield from k.all()

    def find(self, tag=None, **attrs):
        for n in self.all():
            if (tag is None or n.tag == tag) and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                yield n

    def cls(self, c):
        return [n for n in self.all() if c in n.attrs.get("class", "").split()]

    def content(self):
        return "".join(self.text) + "".join(k.content() for k in self.kids) if not self.kids else \
            "".join(self.text_parts())

    def text_parts(self):
        for item in self.order:
            yield item if isinstance(item, str) else item.content()


class DOM(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.root.order = []
        self.cur = self.root
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        n.order = []
        self.cur.kids.append(n)
        self.cur.order.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        n.order = []
        self.cur.kids.append(n)
        self.cur.order.append(n)

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.text.append(data)
        self.cur.order.append(data)


def text(n):
    return "".join(n.text_parts())


def chromium():
    for b in ("chromium", "chromium-browser"):
        p = shutil.which(b)
        if p:
            return p
    raise lt.Skip("chromium is not installed (apt-get install chromium; tools/packages.txt lists it)")


def chromium_args(profile):
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + profile]


def render(path):
    profile = tempfile.mkdtemp(prefix="lt-chromium-")
    try:
        p = lt.run(chromium_args(profile) + ["--dump-dom", "file://" + os.path.abspath(path)], timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert "<body" in p.stdout, p.stderr[-500:]
    return DOM(p.stdout).root


def setup(d, n=20, m=30, seed=5):
    E, E2 = ltgen.make_sets(d, n, m, seed=seed)
    c, a = os.path.join(d, "clean.jsonl"), os.path.join(d, "adv.jsonl.gz")
    ltgen.write_trace(c, E, incomplete=2)
    ltgen.write_trace(a, E2)
    return E, E2, c, a


def returns_columns(roots, key, kind="name"):
    """executions per value the key returned, the paper's Table I"""
    cols = {}
    for r in roots:
        vals = {v for k, v in ltgen.obs_returns(r, kind) if k == key}
        for v in vals or {"(absent)"}:
            cols[v] = cols.get(v, 0) + 1
    return cols


@lt.test
def report_renders_with_the_analysis():
    d = lt.tmpdir()
    E, E2, c, a = setup(d)
    rep = os.path.join(d, "report.html")
    rules = os.path.join(d, "rules.json")
    j = json.loads(lt.leaktrace("analyze", c, a, "-j", "--rules-out", rules, "--report", rep).stdout)
    src = open(rep, encoding="utf-8").read()
    # self-contained: no script, nothing fetched
    assert "<script" not in src.lower() and " src=" not in src.lower(), "report is not self-contained"
    assert "<link" not in src.lower() and "@import" not in src and "url(" not in src
    dom = render(rep)
    assert text(next(dom.find(id="nE"))) == str(j["E"]) and text(next(dom.find(id="nE2"))) == str(j["E_prime"])
    # set sizes, as Chromium laid them out
    for obs, o in j["observations"].items():
        row = next(dom.find("tr", data_obs=obs))
        cells = {td.attrs["data-set"]: int(text(td)) for td in row.find("td")}
        assert cells == {"D_E": o["D_E"], "D_E_prime": o["D_E_prime"], "D_EE_prime": len(o["D_EE_prime"]),
                         "D_IF": len(o["D_IF"])}, (obs, cells)
    total_if = sum(len(o["D_IF"]) for o in j["observations"].values())
    assert total_if >= 3 and "|D_IF| = %d" % total_if in text(next(dom.find(id="verdict")))
    # D_IF elements with their call paths, per observation
    for obs, o in j["observations"].items():
        h = next(dom.find("h3", id="%s-D_IF" % obs))
        assert text(h) == "D_IF (%d)" % len(o["D_IF"])
        sec = h.parent
        elems = [e for e in sec.cls("elem")]
        shown = {}
        for e in elems:
            hd = text(e.cls("hd")[0].kids[0])
            site = text(e.cls("site")[0]) if e.cls("site") else None
            shown[hd] = site
        for el in o["D_IF"]:
            want = "(%s)" % el["key"] if obs == "time" else "(%s, %s)" % (el["key"], el["value"])
            assert want in shown, (obs, want, list(shown))
            assert shown[want] == el.get("path"), (shown[want], el.get("path"))
    # the tree of the returns element: one line per step of its path, leaf last
    el = j["observations"]["returns"]["D_IF"][0]
    tree = [e for e in next(dom.find("h3", id="returns-D_IF")).parent.cls("tree")][0]
    lines = [l for l in text(tree).split("\n") if l.strip()]
    steps = el["path"].split("/")
    assert len(lines) == len(steps), (lines, steps)
    for line, step in zip(lines, steps):
        fn, idx = step[:step.rindex("[")], step[step.rindex("[") + 1:-1]
        assert ("[%s] %s" % (idx, fn)) in line, (line, step)
    assert lines[-1].endswith("\u2192 " + el["value"]), lines[-1]
    # Table I: the same as detect --clean --adv (returns: per value, from the traces)
    det = json.loads(lt.leaktrace("detect", "--rules", rules, "--clean", c, "--adv", a, "-j", "-q").stdout)
    rl = json.load(open(rules))["rules"]
    tables = list(dom.find("table", **{"class": "t1"}))
    assert len(tables) == len(rl) == len(det["table"]), (len(tables), len(rl))
    prs = [t for t in dom.find("table", **{"class": "pr"}) if t.attrs.get("id") != "pr-all"]
    for t, pr, rule, dt in zip(tables, prs, rl, det["table"]):
        heads = [text(th) for th in next(t.find("tr")).find("th")][1:]
        rows = {tr.attrs["data-side"]: [int(text(td)) for td in tr.find("td")] for tr in t.find("tr") if "data-side" in tr.attrs}
        got = {h: (rows["clean"][i], rows["adv"][i]) for i, h in enumerate(heads)}
        if rule["observation"] == "returns":
            ce, ca = returns_columns(E, rule["key"]), returns_columns(E2, rule["key"])
            want = {v: (ce.get(v, 0), ca.get(v, 0)) for v in set(ce) | set(ca)}
            assert heads[0] == rule["value"], heads
        else:
            want = {col["value"]: (col["clean"], col["adv"]) for col in dt["columns"]}
        assert got == want, (rule, got, want)
        cells = {td.attrs["data-k"]: text(td) for td in pr.find("td")}
        for k in ("tp", "fp", "fn", "tn"):
            assert int(cells[k]) == dt[k], (k, cells, dt)
    cells = {td.attrs["data-k"]: text(td) for td in next(dom.find(id="pr-all")).find("td")}
    for k in ("tp", "fp", "fn", "tn"):
        assert int(cells[k]) == det["total"][k], (k, cells, det["total"])
    # time: a plot per D_IF key, both sides drawn, fractions summing to 1
    plots = {p.attrs["data-key"]: p for p in dom.cls("plot")}
    for el in j["observations"]["time"]["D_IF"]:
        p = plots[el["key"]]
        assert "D_IF" in text(p.cls("t")[0]), text(p.cls("t")[0])
        svg = next(p.find("svg"))
        sums = {}
        for side in ("clean", "adv"):
            bars = [b for b in svg.find("rect") if side in b.attrs.get("class", "").split()]
            assert bars, (el["key"], side)
            sums[side] = sum(float(b.attrs["height"]) for b in bars)
        # each side's bars are fractions of its executions: equal total height
        assert abs(sums["clean"] - sums["adv"]) < 0.1 * 40, sums
        assert "slow_fn" == el["key"]
        labels = [text(t) for t in svg.find("text")]
        assert any("clean E (20)" in l for l in labels) and any("adversarial E' (30)" in l for l in labels), labels


@lt.test
def report_screenshot_and_no_leak_case():
    """no D_IF: the report says so, has no Table I rules, still plots time"""
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 6, 6, seed=11)
    c = os.path.join(d, "c.jsonl")
    ltgen.write_trace(c, E)
    rep = os.path.join(d, "r.html")
    lt.leaktrace("analyze", c, c, "--report", rep)
    dom = render(rep)
    assert "no information leakage" in text(next(dom.find(id="verdict")))
    assert not list(dom.find("table", **{"class": "t1"}))
    assert "D_IF is empty" in text(next(dom.find("h2", id="table1")).parent)
    assert dom.cls("plot"), "no time plots"
    profile = tempfile.mkdtemp(prefix="lt-chromium-")
    png = os.path.join(d, "r.png")
    lt.run(chromium_args(profile) + ["--screenshot=" + png, "--window-size=1000,800", "file://" + rep], timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


@lt.test
def report_paper_dirs_without_durations():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 5, 6, seed=12)
    ltgen.write_paper_dir(os.path.join(d, "E"), E, "return")
    ltgen.write_paper_dir(os.path.join(d, "A"), E2, "return")
    rep = os.path.join(d, "r.html")
    lt.leaktrace("analyze", os.path.join(d, "E"), os.path.join(d, "A"), "--report", rep)
    dom = render(rep)
    assert "no call has a duration" in text(next(dom.find("h2", id="time-plots")).parent)
    assert list(dom.find("table", **{"class": "t1"}))


@lt.test
def report_bad_input():
    d = lt.tmpdir()
    E, E2, c, a = setup(d, 4, 4, seed=2)
    p = lt.leaktrace("analyze", "-", a, "--report", os.path.join(d, "r.html"), check=False, input="")
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1 and "--report" in p.stderr, p.stderr
    p = lt.leaktrace("analyze", c, a, "-q", "--report", os.path.join(d, "no", "such", "dir", "r.html"), check=False)
    assert p.returncode == 1 and "r.html" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    assert p.stdout, "the analysis itself is still printed"


lt.main()
