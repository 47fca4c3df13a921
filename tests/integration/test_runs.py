#!/usr/bin/env python3
"""
tests/integration/test_runs.py
  OUT as a series of runs (engine/runs.h), on the real PostgreSQL: two
  runs leave both runs' files byte for byte and OUT/latest points at the
  second; a second run while one holds OUT/.lock exits 2 at once naming
  the holder's pid; --keep 2 after 4 runs leaves exactly the 2 newest;
  --resume after a kill -9 finishes the killed run in its own directory;
  history.ndjson has one line per run with exact counts; new and resolved
  are exact after fixing 2 rows and breaking 1 between runs (report.json,
  summary, history, metrics); shards merged from their OUT (latest) or
  their run directories give one run; tally verify OUT verifies the latest
  run.
"""
import glob
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

DB = "tally_it_runs"
# 5000 rows a side; the target misses ids 1-3, has 9001-9002 extra and 4 changed rows.
SETUP = """
CREATE TABLE src (id integer PRIMARY KEY, v text);
CREATE TABLE tgt (id integer PRIMARY KEY, v text);
INSERT INTO src SELECT g, 'v' || g FROM generate_series(1, 5000) g;
INSERT INTO tgt SELECT g, 'v' || g FROM generate_series(4, 5000) g;
INSERT INTO tgt VALUES (9001, 'x'), (9002, 'y');
UPDATE tgt SET v = 'changed' WHERE id IN (10, 20, 30, 40);
"""
RUN_NAME = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")


def tree_hashes(path):
    """{relative file: sha256} of every file under path."""
    out = {}
    for root, _, names in os.walk(path):
        for n in names:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, path)] = hashlib.sha256(f.read()).hexdigest()
    return out


def runs_in(out):
    return sorted(n for n in os.listdir(out) if RUN_NAME.match(n))


def history(out):
    with open(os.path.join(out, "history.ndjson")) as f:
        return [json.loads(line) for line in f]


class Runs(TallyCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = harness.PG()
        cls.pg.create_db(DB)
        cls.pg.psql(DB, SETUP)

    @classmethod
    def tearDownClass(cls):
        cls.pg.drop_db(DB)

    def spec(self, table="tgt"):
        return (f'version: 1\nname: it-runs\nsystems:\n'
                f'  a: {{ driver: postgres, dsn: "{self.pg.dsn(DB)}" }}\n'
                f'  b: {{ driver: postgres, dsn: "{self.pg.dsn(DB)}" }}\n'
                f'checks:\n  - name: t\n    source: {{ system: a, table: src }}\n'
                f'    target: {{ system: b, table: {table} }}\n')

    def out(self):
        return os.path.join(self.tmp, "out")

    def slow(self, *args):
        """A run that takes a while: 1000-row chunks read at 400 rows a second."""
        spec = self.write_spec(self.spec())
        return subprocess.Popen([harness.tally_bin(), "check", spec, "--out", self.out(), "--chunk-rows", "1000",
                                 "--max-rate", "400", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def assertCounts(self, r, missing=3, extra=2, changed=4):
        c = r.check("t")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (missing, extra, changed))

    def test_two_runs_keep_both(self):
        r1 = self.tally(self.spec())
        self.assertEqual(r1.code, 1, r1.stderr)
        first = r1.outdir
        self.assertTrue(RUN_NAME.match(os.path.basename(first)), first)
        self.assertEqual(r1.stdout.splitlines()[1], f"report:   {self.out()}/{os.path.basename(first)}/report.json")
        before = tree_hashes(first)
        self.assertEqual(sorted(before), ["change-order.md", "diff.ndjson.zst", "repair.b.sql", "report.html",
                                          "report.json", "rollback.b.sql"])
        r2 = self.tally(self.spec())
        self.assertEqual(r2.code, 1, r2.stderr)
        self.assertNotEqual(r2.outdir, first)
        self.assertEqual(tree_hashes(first), before, "the second run touched the first run's files")
        self.assertEqual(runs_in(self.out()), sorted([os.path.basename(first), os.path.basename(r2.outdir)]))
        self.assertEqual(os.readlink(os.path.join(self.out(), "latest")), os.path.basename(r2.outdir))
        self.assertIn(f"report:   {self.out()}/{os.path.basename(r2.outdir)}/report.json\n", r2.stdout)
        self.assertIn(f"repair:   {self.out()}/{os.path.basename(r2.outdir)}/repair.b.sql\n", r2.stdout)
        self.assertCounts(r2)
        self.assertEqual(sorted(os.listdir(self.out())),
                         sorted([".lock", "history.ndjson", "latest", *runs_in(self.out())]))

    def test_second_run_waits_for_none(self):
        p = self.slow()
        try:
            lock = os.path.join(self.out(), ".lock")
            deadline = time.time() + 30
            while time.time() < deadline and not (os.path.exists(lock) and open(lock).read()):
                time.sleep(0.05)
            self.assertEqual(open(lock).read().split()[:2], ["pid", str(p.pid)])
            t0 = time.time()
            r = self.tally(self.spec())
            self.assertLess(time.time() - t0, 5, "the second run waited")
            self.assertEqual(r.code, 2, r.stderr)
            self.assertRegex(r.stderr, rf"^tally: error: '{re.escape(self.out())}' is in use by another tally run "
                                       rf"\(pid {p.pid}, started \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n")
            self.assertIn("hint: wait until it ends, or give another --out\n", r.stderr)
            self.assertEqual(r.stdout, "")
            self.assertIsNone(p.poll(), "the first run must still be running")
        finally:
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(runs_in(self.out())), 1)

    def test_keep(self):
        names = []
        for i in range(4):
            r = self.tally(self.spec(), *(["--keep", "2"] if i == 3 else []))
            self.assertEqual(r.code, 1, r.stderr)
            names.append(os.path.basename(r.outdir))
        self.assertEqual(names, sorted(names), "run names sort in start order")
        self.assertEqual(len(set(names)), 4)
        self.assertEqual(runs_in(self.out()), names[2:])
        self.assertEqual([h["run"] for h in history(self.out())], names)
        self.assertCounts(r)

    def test_keep_spares_unfinished(self):
        p = self.slow()
        deadline = time.time() + 60
        while time.time() < deadline and not glob.glob(os.path.join(self.out(), "latest", ".tally-work", "c0",
                                                                    "*.done")):
            time.sleep(0.05)
        p.kill()
        p.communicate()
        killed = os.path.basename(os.path.realpath(os.path.join(self.out(), "latest")))
        for _ in range(2):
            r = self.tally(self.spec(), "--keep", "1")
            self.assertEqual(r.code, 1, r.stderr)
        self.assertEqual(runs_in(self.out()), sorted([killed, os.path.basename(r.outdir)]))

    def test_resume_after_kill(self):
        p = self.slow()
        deadline = time.time() + 60
        work = os.path.join(self.out(), "latest", ".tally-work")
        while time.time() < deadline and len(glob.glob(os.path.join(work, "c0", "*.done"))) < 1:
            time.sleep(0.05)
        p.kill()
        p.communicate()
        killed = os.path.realpath(os.path.join(self.out(), "latest"))
        done = sorted(glob.glob(os.path.join(killed, ".tally-work", "c0", "*.done")))
        self.assertGreaterEqual(len(done), 1)
        self.assertLess(len(done), 5, "the run was killed too late")
        self.assertFalse(os.path.exists(os.path.join(killed, "report.json")))
        self.assertFalse(os.path.exists(os.path.join(self.out(), "history.ndjson")))
        r = self.tally(self.spec(), "--chunk-rows", "1000", "--resume")
        self.assertEqual(r.code, 1, r.stderr)
        self.assertEqual(r.outdir, killed)
        self.assertEqual(runs_in(self.out()), [os.path.basename(killed)])
        self.assertFalse(os.path.exists(os.path.join(killed, ".tally-work")))
        self.assertCounts(r)
        self.assertEqual(r.check("t")["chunks"]["total"], 5)
        self.assertEqual([h["run"] for h in history(self.out())], [os.path.basename(killed)])
        # Nothing is left to resume now.
        r = self.tally(self.spec(), "--resume")
        self.assertEqual(r.code, 2)
        self.assertEqual(r.stderr, f"tally: error: there is no unfinished run in '{self.out()}' to resume\n"
                                   "hint: --resume continues a run that was interrupted; start again without it\n")

    def test_history_new_resolved(self):
        self.pg.psql(DB, "CREATE TABLE tgt2 AS SELECT * FROM tgt; ALTER TABLE tgt2 ADD PRIMARY KEY (id)")
        try:
            prom = os.path.join(self.tmp, "tally.prom")
            r1 = self.tally(self.spec("tgt2"), "--metrics", prom)
            self.assertEqual(r1.code, 1, r1.stderr)
            self.assertIsNone(r1.report["previous_run"])
            self.assertEqual((r1.check("t")["new"], r1.check("t")["resolved"]), (None, None))
            self.assertNotIn("since:", r1.stdout)
            # Fix 2 (a missing row, a changed row), break 1 (a new changed row).
            self.pg.psql(DB, "INSERT INTO tgt2 VALUES (1, 'v1'); UPDATE tgt2 SET v = 'v10' WHERE id = 10; "
                             "UPDATE tgt2 SET v = 'broken' WHERE id = 77")
            r2 = self.tally(self.spec("tgt2"), "--metrics", prom)
            self.assertEqual(r2.code, 1, r2.stderr)
            self.assertCounts(r2, missing=2, extra=2, changed=4)
            first = os.path.basename(r1.outdir)
            self.assertEqual(r2.report["previous_run"], first)
            self.assertEqual((r2.check("t")["new"], r2.check("t")["resolved"]), (1, 2))
            self.assertIn(f"since:    {first}: check 't': 1 new, 2 resolved\n", r2.stdout)
            h = history(self.out())
            self.assertEqual(len(h), 2)
            self.assertEqual([x["run"] for x in h], [first, os.path.basename(r2.outdir)])
            for x in h:
                self.assertEqual(x["spec"], "it-runs")
                self.assertEqual(x["status"], "inconsistent")
                self.assertEqual(x["exit"], 1)
                self.assertRegex(x["spec_hash"], r"^[0-9a-f]{32}$")
                self.assertRegex(x["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                self.assertGreaterEqual(x["checks"]["t"]["seconds"], 0)
            self.assertEqual({k: h[0]["checks"]["t"][k] for k in ("status", "missing", "extra", "changed", "new",
                                                                  "resolved")},
                             {"status": "inconsistent", "missing": 3, "extra": 2, "changed": 4, "new": None,
                              "resolved": None})
            self.assertEqual({k: h[1]["checks"]["t"][k] for k in ("missing", "extra", "changed", "new", "resolved")},
                             {"missing": 2, "extra": 2, "changed": 4, "new": 1, "resolved": 2})
            self.assertEqual(h[1]["previous_run"], first)
            values = {}
            for fam in text_string_to_metric_families(open(prom).read()):
                for s in fam.samples:
                    values[(s.name, frozenset(s.labels.items()))] = s.value
            labels = frozenset({"spec": "it-runs", "check": "t"}.items())
            self.assertEqual(values[("tally_check_new_differences", labels)], 1)
            self.assertEqual(values[("tally_check_resolved_differences", labels)], 2)
            # A third run, nothing changed: nothing new, nothing resolved, compared with the second.
            r3 = self.tally(self.spec("tgt2"))
            self.assertEqual((r3.check("t")["new"], r3.check("t")["resolved"]), (0, 0))
            self.assertEqual(r3.report["previous_run"], os.path.basename(r2.outdir))
        finally:
            self.pg.psql(DB, "DROP TABLE tgt2")

    def test_verify_takes_out(self):
        """tally verify OUT verifies OUT's latest run, into that run's directory."""
        self.tally(self.spec())
        r = self.tally(self.spec())
        self.assertEqual(r.code, 1, r.stderr)
        p = subprocess.run([harness.tally_bin(), "verify", self.out()], capture_output=True, text=True,
                           cwd=self.tmp, timeout=120)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        dirs = glob.glob(os.path.join(r.outdir, "verify-*"))
        self.assertEqual(len(dirs), 1)
        self.assertIn(f"verify report: {self.out()}/{os.path.basename(r.outdir)}/{os.path.basename(dirs[0])}"
                      "/report.json\n", p.stdout)
        self.assertEqual(len(runs_in(self.out())), 2)

    def test_merge_shards(self):
        spec = self.spec()
        shard_outs = [os.path.join(self.tmp, f"shard-{k}") for k in range(2)]
        for k, d in enumerate(shard_outs):
            r = self.tally(spec, "--chunk-rows", "1000", "--shard", f"{k}/2", outdir=d)
            self.assertIn(r.code, (0, 1), r.stderr)
            self.assertTrue(os.path.isdir(os.path.join(r.outdir, ".tally-work")))
        merged = os.path.join(self.tmp, "merged")
        p = subprocess.run([harness.tally_bin(), "merge", "--out", merged, *shard_outs], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        r = harness.Result(p, merged)
        self.assertCounts(r)
        self.assertEqual(r.check("t")["chunks"]["total"], 5)
        self.assertIn(f"report:   {merged}/{os.path.basename(r.outdir)}/report.json\n", p.stdout)
        self.assertEqual(len(history(merged)), 1)
        # The shards' run directories themselves do as well; the merge is a second run of merged.
        dirs = [harness.run_dir(d) for d in shard_outs]
        p = subprocess.run([harness.tally_bin(), "merge", "--out", merged, *dirs], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        r2 = harness.Result(p, merged)
        self.assertCounts(r2)
        self.assertEqual((r2.check("t")["new"], r2.check("t")["resolved"]), (0, 0))
        self.assertEqual(len(runs_in(merged)), 2)


if __name__ == "__main__":
    harness.main()
