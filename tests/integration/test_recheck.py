#!/usr/bin/env python3
"""
tests/integration/test_recheck.py
  --recheck SECONDS on live data: a writer (the admin's mariadb client, in
  a thread) changes rows of the target while tally compares it with the
  source (PostgreSQL): it updates, deletes and inserts rows with keys in
  2001..2300 and 6001..6050 only. Before the run some of them are in a
  "dirty" state that tally's snapshot sees; others are written while
  tally reads (throttled by --max-rate); the writer puts every one back
  as soon as tally says it is about to read the differences again. With
  --recheck, none of those keys is a difference or in the repair script,
  each one tally saw dirty is in_flight, and the differences seeded
  before the run (keys below 100, and 5001) are found exactly. Without
  --recheck the same dirty rows are differences: the test can fail.
"""
import os
import subprocess
import sys
import threading
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC, TGT = "tally_it_recheck_src", "tally_it_recheck_tgt"
PG = MY = None

SEEDED = {"missing": [10, 20], "extra": [5001], "changed": [30, 40]}
DIRTY_UPDATE = range(2001, 2101)     # updated on the target before the run
DIRTY_DELETE = range(2101, 2151)     # deleted from the target before the run
DIRTY_INSERT = range(6001, 6051)     # inserted into the target before the run
LIVE_UPDATE = range(2201, 2301)      # updated while tally reads
WRITER_KEYS = set(DIRTY_UPDATE) | set(DIRTY_DELETE) | set(DIRTY_INSERT) | set(LIVE_UPDATE)
SEEN_DIRTY = set(DIRTY_UPDATE) | set(DIRTY_DELETE) | set(DIRTY_INSERT)


def servers():
    global PG, MY
    if PG is None:
        PG, MY = harness.PG(), harness.MY()
    return PG, MY


def seed():
    pg, my = servers()
    pg.create_db(SRC)
    my.create_db(TGT)
    pg.psql(SRC, "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, n int NOT NULL);\n"
                 "INSERT INTO t SELECT i, 'v' || i, i * 7 FROM generate_series(1, 3000) i;\n"
                 f"GRANT SELECT ON t TO {pg.user};")
    my.sql(TGT, "CREATE TABLE t (id int PRIMARY KEY, v varchar(40) NOT NULL, n int NOT NULL);\n"
                "INSERT INTO t SELECT seq, CONCAT('v', seq), seq * 7 FROM seq_1_to_3000;\n"
                "DELETE FROM t WHERE id IN (10, 20);\n"
                "INSERT INTO t VALUES (5001, 'only here', 0);\n"
                "UPDATE t SET v = 'seeded' WHERE id IN (30, 40);\n")
    my.sql(TGT, f"GRANT SELECT ON `{TGT}`.* TO '{my.user}'@'%';", check=False)


def dirty():
    _, my = servers()
    my.sql(TGT, f"UPDATE t SET v = 'dirty' WHERE id BETWEEN {DIRTY_UPDATE[0]} AND {DIRTY_UPDATE[-1]};\n"
                f"DELETE FROM t WHERE id BETWEEN {DIRTY_DELETE[0]} AND {DIRTY_DELETE[-1]};\n"
                f"INSERT INTO t SELECT seq, 'new', 0 FROM seq_{DIRTY_INSERT[0]}_to_{DIRTY_INSERT[-1]};\n")


def restore():
    _, my = servers()
    my.sql(TGT, f"UPDATE t SET v = CONCAT('v', id) WHERE id BETWEEN {DIRTY_UPDATE[0]} AND {DIRTY_UPDATE[-1]};\n"
                f"INSERT INTO t SELECT seq, CONCAT('v', seq), seq * 7 "
                f"FROM seq_{DIRTY_DELETE[0]}_to_{DIRTY_DELETE[-1]};\n"
                f"DELETE FROM t WHERE id BETWEEN {DIRTY_INSERT[0]} AND {DIRTY_INSERT[-1]};\n"
                f"UPDATE t SET v = CONCAT('v', id) WHERE id BETWEEN {LIVE_UPDATE[0]} AND {LIVE_UPDATE[-1]};\n")


class Recheck(TallyCase):
    def setUp(self):
        super().setUp()
        seed()
        pg, my = servers()
        self.spec = f"""version: 1
name: it-recheck
systems:
  src: {{ driver: postgres, dsn: "{pg.dsn_env(SRC)}" }}
  tgt: {{ driver: mariadb, dsn: "{my.dsn_env(TGT)}" }}
checks:
  - name: t
    source: {{ system: src, table: t }}
    target: {{ system: tgt, table: t }}
    repair: target
"""

    @classmethod
    def tearDownClass(cls):
        pg, my = servers()
        pg.drop_db(SRC)
        my.drop_db(TGT)

    def run_with_writer(self, *args):
        """tally check under the writer; returns a harness.Result."""
        _, my = servers()
        spec = self.write_spec(self.spec)
        out = os.path.join(self.tmp, "out")
        p = subprocess.Popen([harness.tally_bin(), "check", spec, "--out", out, "--chunk-rows", "1000",
                              "--max-rate", "2000", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        restored = threading.Event()
        stop = threading.Event()
        errors = []

        def live():
            # Rows changed while tally reads: a tally session may or may not see each.
            i = 0
            while not stop.is_set() and not restored.is_set():
                k = LIVE_UPDATE[i % len(LIVE_UPDATE)]
                try:
                    my.sql(TGT, f"UPDATE t SET v = 'live {i}' WHERE id = {k};")
                except RuntimeError as e:
                    errors.append(str(e))
                    return
                i += 1
                time.sleep(0.01)

        writer = threading.Thread(target=live)
        writer.start()
        err_lines = []
        for line in p.stderr:
            err_lines.append(line)
            if "reading the differences again" in line and not restored.is_set():
                stop.set()
                writer.join()
                restore()
                restored.set()
        stdout = p.stdout.read()
        p.wait(timeout=300)
        stop.set()
        writer.join()
        if not restored.is_set():
            restore()
        self.assertEqual(errors, [])
        return harness.Result(types.SimpleNamespace(returncode=p.returncode, stdout=stdout,
                                                    stderr="".join(err_lines)), out)

    def seeded_exactly(self, r):
        for kind, keys in SEEDED.items():
            self.assertEqual(r.keys("t", kind), keys, kind)

    def test_recheck_keeps_rows_being_written_out(self):
        dirty()
        prom = os.path.join(self.tmp, "tally.prom")
        r = self.run_with_writer("--recheck", "3", "--metrics", prom)
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("t")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (2, 1, 2))
        self.seeded_exactly(r)
        in_flight = {d["key"]["id"] for d in r.diffs if d["kind"] == "in_flight"}
        # Every row tally saw dirty is in flight; rows written while it read may be; no other.
        self.assertTrue(SEEN_DIRTY <= in_flight, sorted(SEEN_DIRTY - in_flight)[:10])
        self.assertTrue(in_flight <= WRITER_KEYS, sorted(in_flight - WRITER_KEYS)[:10])
        self.assertEqual(c["in_flight"], len(in_flight))
        self.assertEqual(len([d for d in r.diffs if d["kind"] == "in_flight"]), len(in_flight))
        was = {d["key"]["id"]: (d["was"], d["now"]) for d in r.diffs if d["kind"] == "in_flight"}
        self.assertEqual(was[2001], ("changed", "equal"))
        self.assertEqual(was[2101], ("missing", "equal"))
        self.assertEqual(was[6001], ("extra", "equal"))
        # No writer key among the differences, and the repair holds only the seeded ones.
        for d in r.diffs:
            if d["kind"] != "in_flight":
                self.assertNotIn(d["key"]["id"], WRITER_KEYS)
        self.assertEqual(c["repair"]["statements"], {"insert": 2, "update": 2, "delete": 1})
        self.assertIn(f"{len(in_flight)} in flight", r.stdout)
        samples = {(s.name, s.labels.get("check"), s.labels.get("kind")): s.value
                   for fam in text_string_to_metric_families(open(prom).read()) for s in fam.samples}
        self.assertEqual(samples[("tally_check_in_flight", "t", None)], len(in_flight))
        self.assertEqual(samples[("tally_check_differences", "t", "changed")], 2)
        # The repair applies, and the next run (no writer) is consistent.
        _, my = servers()
        p = my.run_file(TGT, os.path.join(r.outdir, "repair.tgt.sql"))
        self.assertEqual(p.returncode, 0, p.stderr)
        r2 = self.tally(self.spec, "--recheck", "0", outdir=os.path.join(self.tmp, "out2"))
        self.assertEqual(r2.code, 0, r2.stdout + r2.stderr)
        self.assertEqual(r2.check("t")["in_flight"], 0)

    def test_without_recheck_dirty_rows_are_differences(self):
        dirty()
        try:
            r = self.tally(self.spec)
        finally:
            restore()
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("t")
        self.assertEqual((c["missing"], c["extra"], c["changed"], c["in_flight"]), (2 + 50, 1 + 50, 2 + 100, 0))

    def test_recheck_zero_with_no_writer(self):
        r = self.tally(self.spec, "--recheck", "0")
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("t")
        self.assertEqual((c["missing"], c["extra"], c["changed"], c["in_flight"]), (2, 1, 2, 0))
        self.seeded_exactly(r)
        self.assertEqual(c["repair"]["statements"], {"insert": 2, "update": 2, "delete": 1})


if __name__ == "__main__":
    harness.main()
