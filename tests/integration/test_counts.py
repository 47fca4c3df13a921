#!/usr/bin/env python3
"""
tests/integration/test_counts.py
  --mode counts between MariaDB (source) and PostgreSQL (target) on the
  real servers: row counts per chunk computed in each server, no row read.
  The target misses keys 2001-2010 and 7001-7003 and has three keys past
  the source's end; every chunk the report names as differing is checked
  against count(*) over its key range, queried here on each side, and
  the differing chunks are exactly those holding a seeded key. Equal
  tables exit 0; --jobs 2, a where: predicate and a query: side are
  counted as such; expect: subset is refused. Also the report's queries
  and bytes per side (every mode): exact where deterministic, bytes equal
  between identical runs and the same whatever the chunking.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC_DB = "tally_it_counts_src"
TGT_DB = "tally_it_counts_tgt"
N = 10000
MISSING = list(range(2001, 2011)) + [7001, 7002, 7003]
EXTRA = [10001, 10002, 10003]


class Counts(TallyCase):
    @classmethod
    def setUpClass(cls):
        pg, my = harness.PG(), harness.MY()
        my.create_db(SRC_DB)
        my.sql(SRC_DB, "CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL);"
                       f"INSERT INTO items SELECT seq, CONCAT('v', seq) FROM seq_1_to_{N};"
                       "CREATE TABLE same (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL);"
                       "INSERT INTO same SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000;"
                       "CREATE TABLE sub (id INT PRIMARY KEY);"
                       "INSERT INTO sub VALUES (1), (2);"
                       "CREATE TABLE bag (msg VARCHAR(5), n INT);"
                       "INSERT INTO bag VALUES ('a', 1), ('a', 1), ('a', 1), ('b', 2);"
                       "CREATE TABLE names (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY);"
                       "INSERT INTO names SELECT CONCAT(IF(seq % 2, 'a', 'B'), seq) FROM seq_1_to_3000;")
        pg.create_db(TGT_DB)
        miss = ", ".join(str(k) for k in MISSING)
        pg.psql(TGT_DB, "CREATE TABLE items (id integer PRIMARY KEY, v text NOT NULL);"
                        f"INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, {N}) g;"
                        f"DELETE FROM items WHERE id IN ({miss});"
                        f"INSERT INTO items SELECT g, 'x' FROM unnest(ARRAY{EXTRA}) g;"
                        # a changed value is not a count difference
                        "UPDATE items SET v = 'changed' WHERE id = 5000;"
                        "CREATE TABLE same (id integer PRIMARY KEY, v text NOT NULL);"
                        "INSERT INTO same SELECT g, 'v' || g FROM generate_series(1, 3000) g;"
                        "CREATE TABLE sub (id integer PRIMARY KEY);"
                        "INSERT INTO sub VALUES (1);"
                        "CREATE TABLE bag (msg text, n integer);"
                        "INSERT INTO bag VALUES ('a', 1), ('b', 2), ('b', 2);"
                        'CREATE TABLE names (k text COLLATE "und-x-icu" PRIMARY KEY);'
                        "INSERT INTO names SELECT CASE WHEN g % 2 = 1 THEN 'a' ELSE 'B' END || g "
                        "FROM generate_series(1, 3000) g;"
                        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user};")
        pg.psql(TGT_DB, "ANALYZE;")
        my.sql(SRC_DB, "ANALYZE TABLE items, same;")

    @classmethod
    def tearDownClass(cls):
        harness.PG().drop_db(TGT_DB)
        harness.MY().drop_db(SRC_DB)

    def spec(self, checks):
        pg, my = harness.PG(), harness.MY()
        return ("version: 1\nname: it-counts\nsystems:\n"
                f'  src: {{ driver: mariadb, dsn: "{my.dsn_env(SRC_DB)}" }}\n'
                f'  tgt: {{ driver: postgres, dsn: "{pg.dsn_env(TGT_DB)}" }}\n'
                "checks:\n" + checks)

    def check(self, name, table, extra="", src_extra="", tgt_extra=""):
        return (f"  - name: {name}\n    source: {{ system: src, table: {table}{src_extra} }}\n"
                f"    target: {{ system: tgt, table: {table}{tgt_extra} }}\n{extra}")

    def count(self, side, where, table="items"):
        if side == "source":
            out = harness.MY().sql(SRC_DB, f"SELECT COUNT(*) FROM {table} WHERE {where}")
        else:
            out = harness.PG().psql(TGT_DB, f"SELECT count(*) FROM {table} WHERE {where}")
        return int(out.strip())

    def range_where(self, ch):
        conds = ["1 = 1"]
        if ch["after"] is not None:
            conds.append(f"id > {int(ch['after'][0])}")
        if ch["through"] is not None:
            conds.append(f"id <= {int(ch['through'][0])}")
        return " AND ".join(conds)

    def assert_counts(self, r, name, seeded, where="1 = 1"):
        c = r.check(name)
        self.assertEqual(c["mode"], "counts")
        self.assertEqual((c["missing"], c["extra"], c["changed"], c["in_flight"]), (None, None, None, None))
        self.assertEqual(c["repair"]["none"], "--mode counts: no repair (no row was read)")
        self.assertEqual(c["source"]["rows"], self.count("source", where))
        self.assertEqual(c["target"]["rows"], self.count("target", where))
        self.assertGreater(c["chunks"]["total"], 3)
        diff = c["chunks_differing"]
        self.assertEqual(c["chunks"]["mismatched"], len(diff))
        for ch in diff:
            w = f"({where}) AND " + self.range_where(ch)
            self.assertEqual(ch["source_rows"], self.count("source", w), ch)
            self.assertEqual(ch["target_rows"], self.count("target", w), ch)
            self.assertNotEqual(ch["source_rows"], ch["target_rows"])
        # Exactly the chunks that hold a seeded key differ.
        holding = set()
        for k in seeded:
            for ch in diff:
                lo = ch["after"][0] if ch["after"] else None
                hi = ch["through"][0] if ch["through"] else None
                if (lo is None or k > lo) and (hi is None or k <= hi):
                    holding.add(ch["chunk"])
                    break
            else:
                self.fail(f"key {k} is in no differing chunk: {diff}")
        self.assertEqual(holding, {ch["chunk"] for ch in diff})
        return c

    def test_differing_chunks(self):
        r = self.tally(self.spec(self.check("items", "items", "    chunk_rows: 1000\n")), "--mode", "counts")
        self.assertEqual(r.code, 1, r.stderr)
        c = self.assert_counts(r, "items", MISSING + EXTRA)
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (N, N - len(MISSING) + len(EXTRA)))
        self.assertEqual(r.diffs, [])
        self.assertIn(f"row counts differ in {c['chunks']['mismatched']} of {c['chunks']['total']} chunks", r.stdout)
        self.assertIn("mode:     counts: rows counted per chunk in each server, none read; "
                      "no diff rows, no repair scripts (the differing chunks are in report.json)", r.stdout)
        self.assertNotIn("repair:", r.stdout)
        self.assertNotIn("diffs:", r.stdout)
        self.assertEqual([f for f in os.listdir(r.outdir) if f.startswith(("repair", "rollback"))], [])
        # One count per chunk and side: no row transferred, so bytes are the counts' digits.
        n = c["chunks"]["total"]
        self.assertEqual(c["source"]["queries"], n)
        self.assertEqual(c["target"]["queries"], 3 * n)      # savepoint, count, rollback to it
        self.assertLess(c["source"]["bytes"], 8 * n)
        self.assertLess(c["target"]["bytes"], 8 * n)

    def test_jobs_2(self):
        r = self.tally(self.spec(self.check("items", "items", "    chunk_rows: 1000\n")),
                       "--mode", "counts", "--jobs", "2")
        self.assertEqual(r.code, 1, r.stderr)
        self.assert_counts(r, "items", MISSING + EXTRA)

    def test_shards_merged(self):
        spec = self.spec(self.check("items", "items", "    chunk_rows: 1000\n"))
        whole = self.tally(spec, "--mode", "counts", outdir=os.path.join(self.tmp, "whole"))
        self.assertEqual(whole.code, 1, whole.stderr)
        dirs = []
        for k in range(2):
            d = os.path.join(self.tmp, f"shard{k}")
            r = self.tally(spec, "--mode", "counts", "--shard", f"{k}/2", outdir=d)
            self.assertIn(r.code, (0, 1), r.stderr)
            dirs.append(d)
        out = os.path.join(self.tmp, "merged")
        p = subprocess.run([harness.tally_bin(), "merge", "--out", out, *dirs], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        merged = harness.Result(p, out)
        a, b = whole.check("items"), merged.check("items")
        self.assertEqual(b["mode"], "counts")
        self.assertEqual(b["chunks_differing"], a["chunks_differing"])
        self.assertEqual(b["chunks"], a["chunks"])
        for s in ("source", "target"):
            self.assertEqual((b[s]["rows"], b[s]["queries"], b[s]["bytes"]),
                             (a[s]["rows"], a[s]["queries"], a[s]["bytes"]))

    def test_resume_other_mode_refused(self):
        spec = self.spec(self.check("items", "items", "    chunk_rows: 1000\n"))
        d = os.path.join(self.tmp, "shard")
        r = self.tally(spec, "--mode", "counts", "--shard", "0/2", outdir=d)
        self.assertIn(r.code, (0, 1), r.stderr)
        r = self.tally(spec, "--shard", "0/2", "--resume", outdir=d)
        self.assertEqual(r.code, 2)
        self.assertIn("check 'items': the interrupted run was in --mode counts", r.stderr)

    def test_where(self):
        w = "id > 5000"
        r = self.tally(self.spec(self.check("items", "items", "    chunk_rows: 1000\n",
                                            f', where: "{w}"', f', where: "{w}"')), "--mode", "counts")
        self.assertEqual(r.code, 1, r.stderr)
        self.assert_counts(r, "items", [7001, 7002, 7003] + EXTRA, where=w)

    def test_query_side(self):
        checks = ("  - name: q\n"
                  '    source: { system: src, query: "SELECT id FROM items WHERE id <= 2005" }\n'
                  '    target: { system: tgt, query: "SELECT id FROM items WHERE id <= 2005" }\n'
                  "    key: [id]\n")
        r = self.tally(self.spec(checks), "--mode", "counts")
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("q")
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (2005, 2000))
        self.assertEqual(c["chunks_differing"], [{"chunk": 1, "after": None, "through": None,
                                                  "source_rows": 2005, "target_rows": 2000}])

    def test_multiset(self):
        r = self.tally(self.spec(self.check("bag", "bag", "    match: multiset\n")), "--mode", "counts")
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("bag")
        self.assertEqual((c["match"], c["source"]["rows"], c["target"]["rows"]), ("multiset", 4, 3))
        self.assertEqual(c["chunks_differing"], [{"chunk": 1, "after": None, "through": None,
                                                  "source_rows": 4, "target_rows": 3}])

    def test_collation_key_one_range(self):
        # The servers order this key differently: per-chunk counts could differ
        # with equal tables, so the check is counted as one range.
        r = self.tally(self.spec(self.check("names", "names", "    chunk_rows: 1000\n")), "--mode", "counts")
        self.assertEqual(r.code, 0, r.stderr)
        c = r.check("names")
        self.assertEqual((c["source"]["rows"], c["target"]["rows"], c["chunks"]["total"]), (3000, 3000, 1))
        self.assertEqual(c["chunks_differing"], [])

    def test_equal_tables(self):
        r = self.tally(self.spec(self.check("same", "same", "    chunk_rows: 1000\n")), "--mode", "counts")
        self.assertEqual(r.code, 0, r.stderr)
        c = r.check("same")
        self.assertEqual((c["status"], c["source"]["rows"], c["target"]["rows"]), ("consistent", 3000, 3000))
        self.assertEqual(c["chunks_differing"], [])
        self.assertEqual(c["chunks"]["mismatched"], 0)

    def test_expect_subset_refused(self):
        r = self.tally(self.spec(self.check("sub", "sub", "    expect: subset\n")), "--mode", "counts")
        self.assertEqual(r.code, 2)
        self.assertIn("check 'sub': --mode counts cannot judge expect: subset", r.stderr)
        self.assertIsNone(r.report)

    def test_recheck_refused(self):
        r = self.tally(self.spec(self.check("same", "same")), "--mode", "counts", "--recheck", "1")
        self.assertEqual(r.code, 2)
        self.assertIn("--recheck reads again the rows found different: --mode counts reads none", r.stderr)

    def test_stream_queries_and_bytes(self):
        spec = self.spec(self.check("same", "same"))
        r1 = self.tally(spec)
        self.assertEqual(r1.code, 0, r1.stderr)
        c1 = r1.check("same")
        self.assertEqual(c1["mode"], "stream")
        self.assertNotIn("chunks_differing", c1)
        self.assertEqual(c1["chunks"]["total"], 1)
        # One page each: MariaDB one SELECT; PostgreSQL savepoint, COPY, rollback to it.
        self.assertEqual((c1["source"]["queries"], c1["target"]["queries"]), (1, 3))
        # The values' bytes: ids 1..3000 and 'v' || id.
        digits = sum(len(str(i)) for i in range(1, 3001))
        self.assertEqual(c1["source"]["bytes"], 2 * digits + 3000)
        self.assertGreater(c1["target"]["bytes"], c1["source"]["bytes"])     # COPY: tabs and newlines
        self.assertEqual(c1["target"]["bytes"], 2 * digits + 3000 + 2 * 3000)
        r2 = self.tally(spec, outdir=os.path.join(self.tmp, "out2"))
        c2 = r2.check("same")
        for s in ("source", "target"):
            self.assertEqual(c2[s]["bytes"], c1[s]["bytes"])
            self.assertEqual(c2[s]["queries"], c1[s]["queries"])
        # Chunked and on two workers: more statements, the same bytes, summed over the parts.
        r3 = self.tally(self.spec(self.check("same", "same", "    chunk_rows: 1000\n")), "--jobs", "2",
                        outdir=os.path.join(self.tmp, "out3"))
        c3 = r3.check("same")
        self.assertGreater(c3["chunks"]["total"], 1)
        self.assertGreater(c3["source"]["queries"], 1)
        for s in ("source", "target"):
            self.assertEqual(c3[s]["bytes"], c1[s]["bytes"])


if __name__ == "__main__":
    harness.main()
