#!/usr/bin/env python3
"""
tests/integration/test_pushdown.py
  --mode pushdown on the real servers: chunk digests computed in each
  server, narrowing, and only the differing ranges streamed. On the
  scenario of test_compare (MariaDB -> PostgreSQL and PostgreSQL ->
  PostgreSQL) stream and pushdown give the same difference lines, counts
  and repair scripts; an equal table transfers no row; one changed row in
  20,000 streams at most 2,000 rows a side; every supported class (a
  latin1 column, non-ASCII text, decimals of another scale, a
  DECIMAL(10,0) against an unconstrained numeric written -7.000, dates,
  microsecond timestamps and instants, booleans, uuids, bytes, NULLs)
  digests byte for byte alike on both engines; NULL, '' and 'N' differ;
  a float column fails its check (exit 2) while the other check keeps its
  verdict; a multiset streams, saying why. A MariaDB x PostgreSQL check
  digests with md5, a PostgreSQL x PostgreSQL one with hashtextextended,
  under which missing, extra and changed rows (NULL against '') are found
  as stream mode finds them.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import scenario  # noqa: E402
from harness import TallyCase  # noqa: E402

MY_SRC = "tally_it_push_my"
PG_SRC = "tally_it_push_pgsrc"
PG_TGT = "tally_it_push_pg"
N_BIG = 20000

# Every supported class, equal on both sides.
MY_TYPED = """
SET time_zone = '+00:00';
CREATE TABLE typed (
  id INT PRIMARY KEY,
  n BIGINT, d DECIMAL(12,4), t VARCHAR(40), l VARCHAR(40) CHARACTER SET latin1, c CHAR(8),
  dt DATE, ts DATETIME(6), tz TIMESTAMP(6) NULL, b TINYINT(1), u UUID, y BLOB, k DECIMAL(10,0)
);
INSERT INTO typed VALUES
  (1, -5, 1.5000, 'Zoë 🎉', 'Müller', 'ab', '2024-02-29', '2024-01-02 03:04:05.000001',
   '2024-01-02 03:04:05.123456', 1, '123e4567-e89b-12d3-a456-426614174000', X'00FF5C27', 120),
  (2, 0, -0.0100, '', 'çà', 'x', '0999-12-31', '1999-12-31 23:59:59', '2038-01-19 03:14:07', 0,
   NULL, X'', -7),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, 9223372036854775807, 100.0000, 'N', 'N', 'N', '2000-01-01', '2000-01-01 00:00:00.5',
   '1970-01-02 00:00:00', 1, '00000000-0000-0000-0000-000000000000', X'4E', 0);
"""
PG_TYPED = """
CREATE TABLE typed (
  id integer PRIMARY KEY,
  n bigint, d numeric(14,2), t text, l text, c char(8),
  dt date, ts timestamp(6), tz timestamptz(6), b boolean, u uuid, y bytea, k numeric
);
SET TimeZone = 'UTC';
INSERT INTO typed VALUES
  (1, -5, 1.50, 'Zoë 🎉', 'Müller', 'ab', '2024-02-29', '2024-01-02 03:04:05.000001',
   '2024-01-02 03:04:05.123456+00', true, '123e4567-e89b-12d3-a456-426614174000', '\\x00ff5c27', 120),
  (2, 0, -0.01, '', 'çà', 'x', '0999-12-31', '1999-12-31 23:59:59', '2038-01-19 03:14:07+00', false,
   NULL, '\\x', -7.000),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, 9223372036854775807, 100, 'N', 'N', 'N', '2000-01-01', '2000-01-01 00:00:00.5',
   '1970-01-02 00:00:00+00', true, '00000000-0000-0000-0000-000000000000', '\\x4e', 0.00);
"""


def big_sql(engine, changed):
    if engine == "my":
        sql = (f"CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, amount DECIMAL(10,2));"
               f"INSERT INTO big SELECT seq, CONCAT('v', seq), seq / 100 FROM seq_1_to_{N_BIG};")
    else:
        sql = (f"CREATE TABLE big (id integer PRIMARY KEY, v text NOT NULL, amount numeric(10,2));"
               f"INSERT INTO big SELECT g, 'v' || g, g / 100.0 FROM generate_series(1, {N_BIG}) g;")
    if changed:
        sql += "UPDATE big SET v = 'changed' WHERE id = 12345;"
    return sql


NULLS_MY = ("CREATE TABLE nulls (id INT PRIMARY KEY, a VARCHAR(5), b VARCHAR(5));"
            "INSERT INTO nulls VALUES (1, NULL, 'x'), (2, 'N', 'x'), (3, '', NULL), (4, 'a', 'b');")
# PostgreSQL x PostgreSQL (hashtextextended): 777 missing, 5001 extra, 2222 changed, and NULL against ''
# both ways in 3000 and 3001.
HX_SRC = ("CREATE TABLE hx (id integer PRIMARY KEY, v text NOT NULL, w text);"
          "INSERT INTO hx SELECT g, 'v' || g, 'w' || g FROM generate_series(1, 5000) g;"
          "UPDATE hx SET w = NULL WHERE id = 3000; UPDATE hx SET w = '' WHERE id = 3001;")
HX_TGT = ("CREATE TABLE hx (id integer PRIMARY KEY, v text NOT NULL, w text);"
          "INSERT INTO hx SELECT g, 'v' || g, 'w' || g FROM generate_series(1, 5001) g;"
          "DELETE FROM hx WHERE id = 777; UPDATE hx SET v = 'changed' WHERE id = 2222;"
          "UPDATE hx SET w = '' WHERE id = 3000; UPDATE hx SET w = NULL WHERE id = 3001;")
NULLS_PG = ("CREATE TABLE nulls (id integer PRIMARY KEY, a text, b text);"
            "INSERT INTO nulls VALUES (1, '', 'x'), (2, NULL, 'x'), (3, NULL, ''), (4, 'a', 'b');")
FLOATS = "CREATE TABLE floaty (id INT PRIMARY KEY, f DOUBLE PRECISION); INSERT INTO floaty VALUES (1, 0.5);"
BAG = "CREATE TABLE bag (msg VARCHAR(5), n INT); INSERT INTO bag VALUES ('a', 1), ('a', 1), ('b', 2);"


class Pushdown(TallyCase):
    @classmethod
    def setUpClass(cls):
        pg, my = harness.PG(), harness.MY()
        my.create_db(MY_SRC)
        my.sql(MY_SRC, scenario.seed_sql("my", "source") + MY_TYPED + big_sql("my", False) + NULLS_MY
               + FLOATS + BAG + "CREATE TABLE same_big LIKE big; INSERT INTO same_big SELECT * FROM big;"
               + "ANALYZE TABLE big, same_big;")
        pg.create_db(PG_SRC)
        pg.psql(PG_SRC, scenario.seed_sql("pg", "source") + big_sql("pg", False) + HX_SRC
                + f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user};")
        pg.create_db(PG_TGT)
        pg.psql(PG_TGT, scenario.seed_sql("pg", "target") + PG_TYPED + big_sql("pg", True) + NULLS_PG + HX_TGT
                + FLOATS + BAG.replace("VARCHAR(5)", "text")
                + "CREATE TABLE same_big AS SELECT * FROM big; UPDATE same_big SET v = 'v12345' WHERE id = 12345;"
                + "ALTER TABLE same_big ADD PRIMARY KEY (id);"
                + f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user}; ANALYZE;")

    @classmethod
    def tearDownClass(cls):
        harness.PG().drop_db(PG_TGT)
        harness.PG().drop_db(PG_SRC)
        harness.MY().drop_db(MY_SRC)

    def spec(self, src, tables):
        pg, my = harness.PG(), harness.MY()
        s = (my.dsn_env(MY_SRC), "mariadb") if src == "my" else (pg.dsn_env(PG_SRC), "postgres")
        out = ("version: 1\nname: it-push\nsystems:\n"
               f'  src: {{ driver: {s[1]}, dsn: "{s[0]}" }}\n'
               f'  tgt: {{ driver: postgres, dsn: "{pg.dsn_env(PG_TGT)}" }}\nchecks:\n')
        for t in tables:
            out += (f"  - name: {t}\n    source: {{ system: src, table: {t} }}\n"
                    f"    target: {{ system: tgt, table: {t} }}\n")
            if t == "bag":
                out += "    match: multiset\n"
        return out

    def both(self, src, tables, code):
        spec = self.spec(src, tables)
        st = self.tally(spec, "--chunk-rows", "1000", outdir=os.path.join(self.tmp, "stream"))
        pu = self.tally(spec, "--chunk-rows", "1000", "--mode", "pushdown", outdir=os.path.join(self.tmp, "push"))
        self.assertEqual(st.code, code, st.stderr)
        self.assertEqual(pu.code, code, pu.stderr)
        return st, pu

    def assert_same(self, st, pu, tables):
        def lines(r):
            return sorted(subprocess.run(["zstd", "-dc", os.path.join(r.outdir, "diff.ndjson.zst")],
                                         capture_output=True, check=True).stdout.decode().splitlines())
        self.assertEqual(lines(st), lines(pu))
        skip = {"mode", "mode_reason", "pushdown", "chunks", "seconds", "worker_seconds", "source", "target",
                "repair"}
        for t in tables:
            a, b = st.check(t), pu.check(t)
            self.assertEqual({k: v for k, v in a.items() if k not in skip},
                             {k: v for k, v in b.items() if k not in skip}, t)
            for side in ("source", "target"):
                self.assertEqual(a[side]["rows"], b[side]["rows"], (t, side))
            self.assertEqual(a["chunks"]["mismatched"] > 0, b["chunks"]["mismatched"] > 0, t)
            self.assertEqual(a["mode"], "stream")
        ra = os.path.join(st.outdir, "repair.tgt.sql")
        rb = os.path.join(pu.outdir, "repair.tgt.sql")
        strip = lambda p: [x for x in open(p).read().splitlines() if not x.startswith("-- generated:")]  # noqa: E731
        self.assertEqual(strip(ra), strip(rb))

    def test_scenario_mariadb_to_postgres(self):
        tables = ["orders", "codes", "stock", "events", "same_orders"]
        st, pu = self.both("my", tables, 1)
        self.assert_same(st, pu, tables)
        o = pu.check("orders")
        self.assertEqual(o["mode"], "pushdown")
        self.assertIsNone(o["mode_reason"])
        self.assertEqual((o["missing"], o["extra"], o["changed"]),
                         (len(scenario.ORDERS_MISSING), len(scenario.ORDERS_EXTRA), len(scenario.ORDERS_CHANGED)))
        self.assertEqual(pu.check("same_orders")["pushdown"],
                         {"chunks_equal": pu.check("same_orders")["chunks"]["total"], "chunks_split": 0, "chunks_streamed": 0,
                          "rows_streamed": {"source": 0, "target": 0}, "hash": "md5"})
        # MariaDB computes no PostgreSQL hash: the pair digests with md5.
        self.assertEqual(o["pushdown"]["hash"], "md5")
        # MariaDB's utf8mb4_general_ci key is not read in the same order as PostgreSQL's: streamed, and why.
        self.assertEqual(pu.check("stock")["mode"], "stream")
        self.assertIn("order the key differently", pu.check("stock")["mode_reason"])
        self.assertIsNone(pu.check("stock")["pushdown"])

    def test_scenario_postgres_to_postgres(self):
        tables = ["orders", "codes", "stock", "events", "same_orders"]
        st, pu = self.both("pg", tables, 1)
        self.assert_same(st, pu, tables)
        for t in ("orders", "events", "same_orders"):
            self.assertEqual(pu.check(t)["mode"], "pushdown", t)
            self.assertEqual(pu.check(t)["pushdown"]["hash"], "hashtextextended", t)
        # A varchar key under the database's libc collation is not bytewise: streamed.
        self.assertEqual(pu.check("stock")["mode"], "stream")
        self.assertEqual(pu.check("same_orders")["pushdown"]["rows_streamed"], {"source": 0, "target": 0})

    def test_one_change_in_20000(self):
        st, pu = self.both("my", ["big", "same_big"], 1)
        self.assert_same(st, pu, ["big", "same_big"])
        b = pu.check("big")
        self.assertEqual((b["missing"], b["extra"], b["changed"]), (0, 0, 1))
        self.assertEqual(pu.keys("big", "changed"), [12345])
        self.assertEqual(b["pushdown"]["chunks_split"], 1)
        self.assertEqual(b["pushdown"]["chunks_equal"], b["chunks"]["total"] - 1)
        self.assertGreater(b["pushdown"]["rows_streamed"]["source"], 0)
        # Parts of 1,000 rows, the differing one split in 16: at most 64 rows read a side.
        self.assertLessEqual(b["pushdown"]["rows_streamed"]["source"], 64)
        self.assertLessEqual(b["pushdown"]["rows_streamed"]["target"], 64)
        self.assertLess(b["source"]["bytes"] * 20, st.check("big")["source"]["bytes"])
        s = pu.check("same_big")
        self.assertEqual(s["status"], "consistent")
        self.assertEqual(s["pushdown"], {"chunks_equal": s["chunks"]["total"], "chunks_split": 0, "chunks_streamed": 0,
                                         "rows_streamed": {"source": 0, "target": 0}, "hash": "md5"})
        # Only the digests came back: three numbers a chunk.
        self.assertLess(s["source"]["bytes"], 100 * s["chunks"]["total"])
        self.assertLess(s["target"]["bytes"], 100 * s["chunks"]["total"])

    def test_every_class_digests_alike(self):
        st, pu = self.both("my", ["typed"], 0)
        t = pu.check("typed")
        self.assertEqual(st.check("typed")["status"], "consistent")
        self.assertEqual(t["status"], "consistent")
        self.assertEqual(t["pushdown"], {"chunks_equal": 1, "chunks_split": 0, "chunks_streamed": 0,
                                         "rows_streamed": {"source": 0, "target": 0}, "hash": "md5"})
        self.assertEqual((t["source"]["rows"], t["target"]["rows"]), (4, 4))

    def test_null_empty_and_n_differ(self):
        st, pu = self.both("my", ["nulls"], 1)
        self.assert_same(st, pu, ["nulls"])
        self.assertEqual(pu.keys("nulls", "changed"), [1, 2, 3])
        self.assertEqual(pu.check("nulls")["pushdown"]["rows_streamed"], {"source": 4, "target": 4})

    def test_postgres_pair_hashes_with_hashtext(self):
        st, pu = self.both("pg", ["hx", "big", "same_orders"], 1)
        self.assert_same(st, pu, ["hx", "big", "same_orders"])
        h = pu.check("hx")
        self.assertEqual((h["mode"], h["status"]), ("pushdown", "inconsistent"))
        self.assertEqual(h["pushdown"]["hash"], "hashtextextended")
        self.assertEqual((h["missing"], h["extra"], h["changed"]), (1, 1, 3))
        self.assertEqual(pu.keys("hx", "missing"), [777])
        self.assertEqual(pu.keys("hx", "extra"), [5001])
        # NULL against '' either way: the row texts differ ("N" and "0:"), so do their hashes.
        self.assertEqual(pu.keys("hx", "changed"), [2222, 3000, 3001])
        # Chunks of 1,000 keys: 1001-2000 and 4001-5000 hold no difference.
        self.assertGreaterEqual(h["pushdown"]["chunks_equal"], 2)
        self.assertLess(h["pushdown"]["rows_streamed"]["source"], 1000)
        b = pu.check("big")
        self.assertEqual(b["pushdown"]["hash"], "hashtextextended")
        self.assertEqual(pu.keys("big", "changed"), [12345])
        self.assertEqual((b["missing"], b["extra"], b["changed"]), (0, 0, 1))
        self.assertEqual(b["pushdown"]["chunks_split"], 1)
        self.assertEqual(b["pushdown"]["chunks_equal"], b["chunks"]["total"] - 1)
        s = pu.check("same_orders")
        self.assertEqual(s["status"], "consistent")
        self.assertEqual(s["pushdown"], {"chunks_equal": s["chunks"]["total"], "chunks_split": 0, "chunks_streamed": 0,
                                         "rows_streamed": {"source": 0, "target": 0}, "hash": "hashtextextended"})

    def test_unsupported_column_errs_alone(self):
        spec = self.spec("my", ["floaty", "big", "bag"])
        r = self.tally(spec, "--mode", "pushdown")
        self.assertEqual(r.code, 2, r.stderr)
        f = r.check("floaty")
        self.assertEqual(f["status"], "error")
        self.assertEqual(f["error"]["message"],
                         "check 'floaty': column 'f' (float, class float64) cannot be hashed in the server: "
                         "its class has no canonical text both servers write")
        self.assertEqual(f["error"]["hint"], "compare this check with --mode stream")
        self.assertEqual(r.check("big")["status"], "inconsistent")
        self.assertEqual(r.check("big")["changed"], 1)
        bag = r.check("bag")
        self.assertEqual(bag["mode"], "stream")
        self.assertEqual(bag["mode_reason"], "no key (a multiset): ranges cannot be narrowed")
        self.assertIn("error: check 'floaty': column 'f'", r.stderr)

    def test_auto_streams_what_it_cannot_hash(self):
        spec = self.spec("my", ["floaty", "big", "bag"])
        r = self.tally(spec, "--mode", "auto")
        self.assertEqual(r.code, 1, r.stderr)
        f = r.check("floaty")
        self.assertEqual((f["status"], f["mode"]), ("consistent", "stream"))
        self.assertEqual(f["mode_reason"], "column 'f' (float, class float64) cannot be hashed in the server: "
                                           "its class has no canonical text both servers write")
        self.assertIsNone(f["pushdown"])
        # 20,000 rows: too few for a probe to pay (test_auto covers larger tables).
        b = r.check("big")
        self.assertEqual((b["mode"], b["changed"], b["pushdown"]), ("stream", 1, None))
        self.assertEqual(b["mode_reason"], "auto: fewer than 100000 rows: streaming costs less than a probe of "
                                           "digests in the servers")
        self.assertEqual(r.check("bag")["mode"], "stream")
        # The default mode: its reasons are in the report, not in the summary.
        self.assertNotIn("stream mode", r.stdout)
        r = self.tally(spec, "--mode", "pushdown", "--check", "big")
        self.assertEqual(r.code, 1, r.stderr)
        self.assertRegex(r.stdout, r"\(pushdown: \d+ chunks equal in the servers, 1 split; rows streamed: ")

    def test_resume_needs_the_same_mode(self):
        spec = self.spec("my", ["big"])
        d = os.path.join(self.tmp, "shard")
        r = self.tally(spec, "--chunk-rows", "1000", "--mode", "pushdown", "--shard", "0/2", outdir=d)
        self.assertIn(r.code, (0, 1), r.stderr)
        r = self.tally(spec, "--shard", "0/2", "--resume", outdir=d)
        self.assertEqual(r.code, 2)
        self.assertIn("check 'big': the interrupted run was in --mode pushdown", r.stderr)
        r = self.tally(spec, "--mode", "pushdown", "--shard", "0/2", "--resume", outdir=d)
        self.assertIn(r.code, (0, 1), r.stderr)

    def test_query_sides(self):
        q = "SELECT id, v FROM big WHERE id <= 15000"
        checks = ("  - name: q\n"
                  f'    source: {{ system: src, query: "{q}" }}\n'
                  f'    target: {{ system: tgt, query: "{q}" }}\n'
                  "    key: [id]\n")
        spec = self.spec("my", []) + checks
        st = self.tally(spec, outdir=os.path.join(self.tmp, "stream"))
        pu = self.tally(spec, "--mode", "pushdown", outdir=os.path.join(self.tmp, "push"))
        self.assertEqual((st.code, pu.code), (1, 1), pu.stderr)
        self.assertEqual(pu.keys("q", "changed"), [12345])
        # A query's columns may be NULL as far as the server says: its key is not ranged over, so it streams.
        self.assertEqual(pu.check("q")["mode"], "stream")
        self.assertIn("a key column may be NULL", pu.check("q")["mode_reason"])
        self.assertEqual((pu.check("q")["source"]["rows"], pu.check("q")["target"]["rows"]), (15000, 15000))

if __name__ == "__main__":
    harness.main()
