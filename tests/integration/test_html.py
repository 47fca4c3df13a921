#!/usr/bin/env python3
"""
tests/integration/test_html.py
  report.html as a browser sees it: headless Chromium (Debian's chromium)
  loads the page from the file and dumps its DOM, which Python's
  html.parser reads. On the demo (MariaDB -> PostgreSQL, orders in chunks
  of 2000 rows): every number of the summary equals report.json's, the
  chunks listed add up to each check's counts, the samples hold the first
  rows of each kind side by side (a changed amount with both values), the
  repair script's header is the script's own; the page holds no script,
  no element that loads anything, no link but to the run's own files,
  no http:// or https://; a screenshot of it is a 1280x2000 PNG. With hostile names and
  values (<script>, quotes, ampersands in a table name, a column name, a
  value, a column on one side only): each appears as text, and the DOM
  has no script element. A run that fails says error, with its message.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import REPO, TallyCase  # noqa: E402

LEGACY_DB = "tally_it_html_legacy"
BILLING_DB = "tally_it_html_billing"
HOSTILE_DB = "tally_it_html_hostile"
TABLE = "h<script>alert(1)</script>&\"'"
COLUMN = "c<b>\"&'"
ONLY = "only<i>&\"'"
VALUE = "<script>alert(1)</script> \"q\" & 'a'"
EXTRA_VALUE = "<img src=x onerror=alert(2)>"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# ---- the browser ---------------------------------------------------------

def chromium(*args):
    profile = tempfile.mkdtemp(prefix="tally-chromium-")
    try:
        p = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}", *args],
                           capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if p.returncode != 0:
        raise AssertionError(f"chromium failed ({p.returncode}): {p.stderr[-2000:]}")
    return p.stdout


# ---- the DOM -------------------------------------------------------------

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, pred):
        return [n for n in self.iter() if pred(n)]

    def field(self, name):
        found = self.find_all(lambda n: n.attrs.get("data-field") == name)
        return found[0].text() if found else None


class Tree(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.root = self.cur = Node("#document", {}, None)
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def dom_of(path):
    return Tree(chromium("--dump-dom", "file://" + path)).root


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


class Html(TallyCase):
    @classmethod
    def setUpClass(cls):
        cls.pg, cls.my = harness.PG(), harness.MY()
        cls.my.create_db(LEGACY_DB)
        cls.my.sql(LEGACY_DB, open(os.path.join(REPO, "specs/demo/legacy-mariadb.sql")).read())
        cls.pg.create_db(BILLING_DB)
        cls.pg.psql(BILLING_DB, open(os.path.join(REPO, "specs/demo/billing-postgres.sql")).read())
        q = lambda name: '"' + name.replace('"', '""') + '"'  # noqa: E731
        lit = lambda v: "'" + v.replace("'", "''") + "'"  # noqa: E731
        cls.pg.create_db(HOSTILE_DB)
        cls.pg.psql(HOSTILE_DB, f"""
            CREATE SCHEMA a; CREATE SCHEMA b;
            CREATE TABLE a.{q(TABLE)} (id integer PRIMARY KEY, {q(COLUMN)} text, {q(ONLY)} text);
            CREATE TABLE b.{q(TABLE)} (id integer PRIMARY KEY, {q(COLUMN)} text);
            INSERT INTO a.{q(TABLE)} VALUES (1, {lit(VALUE)}, 'x'), (2, 'same', 'y');
            INSERT INTO b.{q(TABLE)} VALUES (1, 'plain'), (2, 'same'), (3, {lit(EXTRA_VALUE)});
        """)

    @classmethod
    def tearDownClass(cls):
        cls.my.drop_db(LEGACY_DB)
        cls.pg.drop_db(BILLING_DB)
        cls.pg.drop_db(HOSTILE_DB)

    # ---- what every page must satisfy -------------------------------------

    def assertSelfContained(self, dom, raw, report):
        tags = {n.tag for n in dom.iter()}
        for tag in ("script", "img", "iframe", "object", "embed", "link", "video", "audio", "source", "frame",
                    "base", "form"):
            self.assertNotIn(tag, tags, f"a <{tag}> element in the page")
        files = {"report.json", "diff.ndjson.zst"}
        for c in report["checks"]:
            if c["repair"] and c["repair"].get("file"):
                # A run that writes a script writes its change order too.
                files |= {c["repair"]["file"], c["repair"]["rollback"], "change-order.md"}
        for n in dom.iter():
            for name, value in n.attrs.items():
                self.assertFalse(name.startswith("on"), f"event handler {name} on <{n.tag}>")
                self.assertNotEqual(name, "src", f"src on <{n.tag}>")
                self.assertNotIn("//", value or "", f"{name}={value!r} on <{n.tag}>")
            if "href" in n.attrs:
                href = n.attrs["href"]
                self.assertTrue(href in files or href.startswith("#check-"), f"link to {href!r}")
        for style in dom.find_all(lambda n: n.tag == "style"):
            self.assertNotIn("url(", style.text())
            self.assertNotIn("@import", style.text())
        for s in ("http://", "https://", "src=\"", "<script"):
            self.assertNotIn(s, raw)

    def assertNumbers(self, dom, report):
        self.assertEqual(dom.field("run-status"), report["status"])
        rows = {n.attrs["data-check"]: n for n in dom.find_all(lambda n: n.tag == "tr" and "data-check" in n.attrs)}
        self.assertEqual(list(rows), [c["name"] for c in report["checks"]])
        for c in report["checks"]:
            row = rows[c["name"]]
            shown = lambda v: "\u2014" if v is None else str(v)  # noqa: E731
            self.assertEqual(row.field("status"), c["status"])
            self.assertEqual(row.field("source-rows"), shown(c["source"]["rows"]))
            self.assertEqual(row.field("target-rows"), shown(c["target"]["rows"]))
            for kind in ("missing", "extra", "changed"):
                self.assertEqual(row.field(kind), shown(c[kind]), (c["name"], kind))
            self.assertEqual(row.field("chunks-total"), str(c["chunks"]["total"]))
            self.assertEqual(row.field("chunks-mismatched"), str(c["chunks"]["mismatched"]))
            self.assertAlmostEqual(float(row.field("seconds")), c["seconds"], delta=0.0011)

    def check_sections(self, dom, report):
        """Per check: its section, its chunk rows and its sample rows."""
        out = {}
        for i, c in enumerate(report["checks"]):
            sec = dom.find_all(lambda n: n.tag == "section" and n.attrs.get("id") == f"check-{i + 1}")
            self.assertEqual(len(sec), 1, c["name"])
            chunks = sec[0].find_all(lambda n: n.tag == "tr" and "data-chunk" in n.attrs)
            samples = {k: sec[0].find_all(lambda n, k=k: n.tag == "tr" and n.attrs.get("data-sample") == k)
                       for k in ("missing", "extra", "changed")}
            out[c["name"]] = (sec[0], chunks, samples)
        return out

    # ---- the cases -------------------------------------------------------

    def test_demo_report(self):
        spec = open(os.path.join(REPO, "specs/demo.yaml")).read()
        spec = spec.replace("/legacy\"", f"/{LEGACY_DB}\"").replace("/billing?", f"/{BILLING_DB}?")
        path = self.write_spec(spec, "demo.yaml")
        p = subprocess.run([os.path.abspath(harness.tally_bin()), "check", "demo.yaml", "--out", "out"],
                           cwd=self.tmp, capture_output=True, text=True, timeout=300)
        r = harness.Result(p, os.path.join(self.tmp, "out"))
        self.assertEqual(r.code, 1, r.stderr)
        self.assertTrue(os.path.exists(path))
        page = os.path.join(r.outdir, "report.html")
        raw = open(page).read()
        dom = dom_of(page)
        self.assertSelfContained(dom, raw, r.report)
        self.assertNumbers(dom, r.report)
        sections = self.check_sections(dom, r.report)
        for c in r.report["checks"]:
            sec, chunks, samples = sections[c["name"]]
            # Every differing chunk is listed (fewer than 50 here): they add up to the check's counts.
            for kind in ("missing", "extra", "changed"):
                self.assertEqual(sum(int(ch.field("chunk-" + kind)) for ch in chunks), c[kind], (c["name"], kind))
                self.assertEqual(len(samples[kind]), min(20, c[kind]), (c["name"], kind))
            self.assertEqual(len(chunks), c["chunks"]["mismatched"], c["name"])
        self.assertEqual(r.check("orders")["chunks"]["total"], 8)
        # A changed amount, side by side, both values highlighted.
        _, _, samples = sections["orders"]
        row11 = [tr for tr in samples["changed"] if tr.text().startswith("id=11")]
        self.assertEqual(len(row11), 1)
        marks = [m.text() for m in row11[0].iter() if m.tag == "mark"]
        self.assertEqual(marks, ["871.09", "871.1000"])
        self.assertIn("amount", row11[0].text())
        # The header of the script, as the script has it, with its link.
        header = open(os.path.join(r.outdir, "repair.billing.sql")).read().split("-- end of tally header\n")[0]
        self.assertEqual(dom.field("script-header"), header + "-- end of tally header\n")
        # expect: absent: the summary's word, and the diff kind it stands for.
        gdpr = dom.find_all(lambda n: n.tag == "tr" and n.attrs.get("data-check") == "gdpr-deletions")[0]
        self.assertIn("undeleted 4", gdpr.text())
        self.assertIn("extra (undeleted)", sections["gdpr-deletions"][0].text())

        shot = os.path.join(self.tmp, "report.png")
        chromium(f"--screenshot={shot}", "--window-size=1280,2000", "file://" + page)
        self.assertEqual(png_size(shot), (1280, 2000))
        self.assertGreater(os.path.getsize(shot), 50000)

    def test_hostile_names_and_values(self):
        yq = lambda v: "'" + v.replace("'", "''") + "'"  # noqa: E731
        dsn = self.pg.dsn(HOSTILE_DB)
        spec = f"""version: 1
name: it-html-hostile
systems:
  a: {{ driver: postgres, dsn: "{dsn}" }}
  b: {{ driver: postgres, dsn: "{dsn}" }}
checks:
  - name: hostile
    source: {{ system: a, table: {yq("a." + TABLE)} }}
    target: {{ system: b, table: {yq("b." + TABLE)} }}
"""
        r = self.tally(spec)
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("hostile")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (0, 1, 1))
        self.assertEqual(c["unmatched_columns"], {"source": [ONLY], "target": []})
        page = os.path.join(r.outdir, "report.html")
        raw = open(page).read()
        dom = dom_of(page)
        self.assertSelfContained(dom, raw, r.report)
        self.assertNumbers(dom, r.report)
        row = dom.find_all(lambda n: n.tag == "tr" and n.attrs.get("data-check") == "hostile")[0]
        self.assertIn("a." + TABLE, row.text())
        self.assertIn("b." + TABLE, row.text())
        _, _, samples = self.check_sections(dom, r.report)["hostile"]
        changed = samples["changed"][0].text()
        self.assertIn(COLUMN, changed)
        self.assertIn(VALUE, changed)
        self.assertIn("plain", changed)
        self.assertIn(EXTRA_VALUE, samples["extra"][0].text())
        findings = dom.find_all(lambda n: n.tag == "tr" and n.attrs.get("data-finding") == "unmatched_column")
        self.assertEqual(len(findings), 1)
        self.assertIn(ONLY, findings[0].text())
        self.assertIn("source side only", findings[0].text())

    def test_failed_run(self):
        spec = f"""version: 1
name: it-html-failed
systems:
  a: {{ driver: postgres, dsn: "{self.pg.dsn(HOSTILE_DB)}" }}
  b: {{ driver: postgres, dsn: "{self.pg.dsn(HOSTILE_DB)}" }}
checks:
  - name: gone
    source: {{ system: a, table: a.no_such_table }}
    target: {{ system: b, table: b.no_such_table }}
"""
        r = self.tally(spec)
        self.assertEqual(r.code, 2, r.stderr)
        page = os.path.join(r.outdir, "report.html")
        raw = open(page).read()
        dom = dom_of(page)
        self.assertSelfContained(dom, raw, r.report)
        self.assertNumbers(dom, r.report)
        self.assertEqual(dom.field("run-status"), "error")
        self.assertIn(r.report["error"]["message"], dom.field("run-error"))
        self.assertIn("no_such_table", dom.field("run-error"))


if __name__ == "__main__":
    harness.main()
