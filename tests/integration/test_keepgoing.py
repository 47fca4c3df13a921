#!/usr/bin/env python3
"""
tests/integration/test_keepgoing.py
  Keep going (issue 11, point 2) on the real servers: three checks where
  the middle one fails, at planning (an integer key against a text key),
  during execution (the target's where: divides by zero on one row of a
  later chunk, after earlier chunks of it finished: a table, so that it is
  chunked; a query: side is read as one chunk) or for a missing
  table. The middle check gets "status": "error" with its message in
  report.json and the summary; the other two are compared exactly (counts
  and difference keys), the repair script holds their statements only,
  and the run exits 2. --fail-fast stops at the first error; --jobs 2
  behaves the same; --resume after such a run redoes the check in error
  only (the others' results are kept in the work directory).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC, TGT = "tally_it_kg_src", "tally_it_kg_tgt"
N = 5000                # rows of nums; the target query fails on id 4500


def rows(n, skip=(), change=(), add=()):
    out = [(i, f"v{i}" if i not in change else f"w{i}") for i in range(1, n + 1) if i not in skip]
    return out + [(i, f"v{i}") for i in add]


def values(rs):
    return ", ".join(f"({i}, '{v}')" for i, v in rs)


class KeepGoing(TallyCase):
    @classmethod
    def setUpClass(cls):
        pg = harness.PG()
        pg.create_db(SRC)
        pg.create_db(TGT)
        pg.psql(SRC, f"CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a VALUES {values(rows(10))};"
                     f"CREATE TABLE c (id int PRIMARY KEY, v text); INSERT INTO c VALUES {values(rows(10))};"
                     f"CREATE TABLE bkey (id int PRIMARY KEY, v text); INSERT INTO bkey VALUES (1, 'x');"
                     f"CREATE TABLE nums (id int PRIMARY KEY, v int);"
                     f"INSERT INTO nums SELECT g, g FROM generate_series(1, {N}) g; ANALYZE nums;"
                     f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user};")
        pg.psql(TGT, f"CREATE TABLE a (id int PRIMARY KEY, v text);"
                     f"INSERT INTO a VALUES {values(rows(10, skip=(3,), change=(5,)))};"
                     f"CREATE TABLE c (id int PRIMARY KEY, v text);"
                     f"INSERT INTO c VALUES {values(rows(10, add=(11,)))};"
                     f"CREATE TABLE bkey (id text PRIMARY KEY, v text); INSERT INTO bkey VALUES ('1', 'x');"
                     f"CREATE TABLE nums (id int PRIMARY KEY, v int, d int NOT NULL DEFAULT 1);"
                     f"INSERT INTO nums (id, v) SELECT g, g FROM generate_series(1, {N}) g;"
                     f"UPDATE nums SET v = 0 WHERE id = 7; UPDATE nums SET d = 0 WHERE id = 4500;"
                     f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user};")

    @classmethod
    def tearDownClass(cls):
        pg = harness.PG()
        pg.drop_db(SRC)
        pg.drop_db(TGT)

    def spec(self, middle):
        pg = harness.PG()
        mid = {
            "key": "    source: { system: src, table: bkey }\n    target: { system: tgt, table: bkey }\n",
            "query": "    source: { system: src, table: nums }\n"
                     "    target: { system: tgt, table: nums, where: \"v * d / d = v\" }\n",
            "missing": "    source: { system: src, table: a }\n    target: { system: tgt, table: nosuch }\n",
        }[middle]
        return ("version: 1\nname: it-keepgoing\nsystems:\n"
                f"  src: {{ driver: postgres, dsn: \"{pg.dsn_env(SRC)}\" }}\n"
                f"  tgt: {{ driver: postgres, dsn: \"{pg.dsn_env(TGT)}\" }}\n"
                "checks:\n"
                "  - name: a\n    source: { system: src, table: a }\n    target: { system: tgt, table: a }\n"
                "    repair: target\n"
                f"  - name: b\n{mid}    repair: target\n"
                "  - name: c\n    source: { system: src, table: c }\n    target: { system: tgt, table: c }\n"
                "    repair: target\n")

    def assertOthersExact(self, r):
        a, c = r.check("a"), r.check("c")
        self.assertEqual((a["status"], a["missing"], a["extra"], a["changed"]), ("inconsistent", 1, 0, 1))
        self.assertEqual((c["status"], c["missing"], c["extra"], c["changed"]), ("inconsistent", 0, 1, 0))
        self.assertEqual((a["source"]["rows"], a["target"]["rows"]), (10, 9))
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (10, 11))
        self.assertEqual(r.keys("a", "missing"), [3])
        self.assertEqual(r.keys("a", "changed"), [5])
        self.assertEqual(r.keys("c", "extra"), [11])
        self.assertEqual({d["check"] for d in r.diffs}, {"a", "c"})
        self.assertEqual(len(r.diffs), 3)
        repair = open(os.path.join(r.outdir, "repair.tgt.sql")).read()
        self.assertIn("-- check a", repair)
        self.assertIn("-- check c", repair)
        self.assertNotIn("-- check b", repair)
        self.assertEqual(r.check("a")["repair"]["statements"], {"insert": 1, "update": 1, "delete": 0})
        self.assertEqual(r.check("c")["repair"]["statements"], {"insert": 0, "update": 0, "delete": 1})

    def assertMiddleError(self, r, text):
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertEqual(r.report["status"], "error")
        b = r.check("b")
        self.assertEqual(b["status"], "error")
        self.assertIn(text, b["error"]["message"])
        self.assertIsNone(b["missing"])
        self.assertRegex(r.stdout, r"(?m)^b +error: ")
        self.assertIn(text, r.stdout)
        self.assertIn(text, r.stderr)
        self.assertIn("--resume to redo only the checks in error", r.report["resume"])
        self.assertOthersExact(r)

    def test_planning_error_key_types(self):
        r = self.tally(self.spec("key"))
        self.assertMiddleError(r, "id")
        self.assertIn("key", r.check("b")["error"]["message"])

    def test_missing_table(self):
        r = self.tally(self.spec("missing"))
        self.assertMiddleError(r, "nosuch")

    def test_missing_table_two_jobs(self):
        r = self.tally(self.spec("missing"), "--jobs", "2")
        self.assertMiddleError(r, "nosuch")

    def test_resume_after_planning_error(self):
        r = self.tally(self.spec("missing"))
        self.assertMiddleError(r, "nosuch")
        pg = harness.PG()
        pg.psql(TGT, f"CREATE TABLE nosuch (id int PRIMARY KEY, v text); INSERT INTO nosuch SELECT * FROM a;"
                     f"GRANT SELECT ON nosuch TO {pg.user};")
        try:
            again = self.tally(self.spec("missing"), "--resume", outdir=r.base)
            self.assertEqual(again.code, 1, again.stdout + again.stderr)
            b = again.check("b")
            self.assertEqual((b["status"], b["missing"], b["extra"], b["changed"]), ("inconsistent", 1, 0, 1))
            self.assertEqual(again.keys("b", "missing"), [3])
            self.assertEqual(again.keys("b", "changed"), [5])
            self.assertEqual(again.keys("a", "missing"), [3])
            self.assertEqual(again.keys("c", "extra"), [11])
            self.assertIn("-- check b", open(os.path.join(again.outdir, "repair.tgt.sql")).read())
        finally:
            pg.psql(TGT, "DROP TABLE nosuch")

    def test_shards_then_merge(self):
        """Each shard keeps its checks in error; tally merge reports them and the others' exact results."""
        outs = [os.path.join(self.tmp, f"shard{k}") for k in range(2)]
        for k, out in enumerate(outs):
            r = self.tally(self.spec("missing"), "--shard", f"{k}/2", outdir=out)
            self.assertEqual(r.code, 2, r.stdout + r.stderr)
            self.assertEqual(r.check("b")["status"], "error")
        merged = os.path.join(self.tmp, "merged")
        m = subprocess.run([harness.tally_bin(), "merge", "--out", merged, *outs], capture_output=True, text=True)
        mr = harness.Result(m, merged)
        self.assertEqual(m.returncode, 2, m.stdout + m.stderr)
        self.assertEqual(mr.check("b")["status"], "error")
        self.assertIn("nosuch", mr.check("b")["error"]["message"])
        self.assertEqual(mr.keys("a", "changed"), [5])
        self.assertEqual(mr.keys("c", "extra"), [11])

    def run_query_error(self, *args):
        r = self.tally(self.spec("query"), "--chunk-rows", "1000", *args)
        self.assertMiddleError(r, "from target system 'tgt'")
        self.assertEqual(r.check("b")["error"]["detail"], "division by zero")
        self.assertIn("the other checks go on", r.stderr)
        # Earlier chunks of b finished before the one that failed.
        self.assertGreater(json.load(open(os.path.join(r.outdir, ".tally-work", "run.json")))
                           ["checks"][1]["chunks"]["n"], 3)
        return r

    def test_execution_error(self):
        self.run_query_error()

    def test_execution_error_two_jobs(self):
        self.run_query_error("--jobs", "2")

    def test_resume_redoes_only_the_check_in_error(self):
        r = self.run_query_error()
        out = r.base
        pg = harness.PG()
        pg.psql(TGT, "UPDATE nums SET d = 1 WHERE id = 4500")
        try:
            # A change in a finished check's table is not seen: its result is kept.
            pg.psql(TGT, "UPDATE a SET v = 'zz' WHERE id = 1")
            again = self.tally(self.spec("query"), "--chunk-rows", "1000", "--resume", outdir=out)
            self.assertEqual(again.code, 1, again.stdout + again.stderr)
            self.assertEqual(again.report["status"], "inconsistent")
            b = again.check("b")
            self.assertEqual((b["status"], b["missing"], b["extra"], b["changed"]), ("inconsistent", 0, 0, 1))
            self.assertEqual((b["source"]["rows"], b["target"]["rows"]), (N, N))
            self.assertEqual(again.keys("b", "changed"), [7])
            self.assertEqual(again.keys("a", "changed"), [5])
            self.assertEqual(r.check("a")["missing"], again.check("a")["missing"])
            self.assertEqual(again.outdir, r.outdir)     # finished in the run it resumed
            self.assertFalse(os.path.exists(os.path.join(again.outdir, ".tally-work")))
        finally:
            pg.psql(TGT, "UPDATE nums SET d = 0 WHERE id = 4500; UPDATE a SET v = 'v1' WHERE id = 1")

    def test_fail_fast_at_planning(self):
        r = self.tally(self.spec("missing"), "--fail-fast")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertEqual(r.report["status"], "error")
        self.assertIn("nosuch", r.report["error"]["message"])
        self.assertEqual(r.check("b")["status"], "error")
        self.assertEqual(r.check("c")["status"], "not run")
        self.assertFalse(r.diff_exists)
        self.assertFalse(os.path.exists(os.path.join(r.outdir, "repair.tgt.sql")))

    def test_fail_fast_at_execution(self):
        r = self.tally(self.spec("query"), "--chunk-rows", "1000", "--fail-fast")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertEqual(r.report["status"], "error")
        self.assertIn("target system 'tgt'", r.report["error"]["message"])
        self.assertIn("division by zero", r.stderr)
        self.assertNotIn("the other checks go on", r.stderr)
        self.assertFalse(r.diff_exists)
        self.assertFalse(os.path.exists(os.path.join(r.outdir, "repair.tgt.sql")))


if __name__ == "__main__":
    harness.main()
