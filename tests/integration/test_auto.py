#!/usr/bin/env python3
"""
tests/integration/test_auto.py
  --mode auto, the default, on the real servers (MariaDB -> PostgreSQL,
  150,000 rows). The choice between digesting and streaming depends on
  measured costs, which depend on the machine; TALLY_AUTO_COSTS fixes
  them (microseconds a row, streaming then digesting) so each case has one
  right answer: cheap digests and few differences digest every chunk; at
  10 % differences the probe sees every part differ and the rest streams;
  costly digests stream after one probe window; with measured costs the
  verdict is the same whatever was chosen. Every case gives the difference
  lines and repair script of --mode stream. Small tables and paced runs
  stream without a probe, saying why only in the report.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

MY_DB = "tally_it_auto_my"
PG_DB = "tally_it_auto_pg"
N = 150000
FEW = [7, 77777, 149999]


def table_sql(engine, name, n, changed_where):
    if engine == "my":
        return (f"CREATE TABLE {name} (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, amount DECIMAL(10,2));"
                f"INSERT INTO {name} SELECT seq, CONCAT('v', seq), seq / 100 FROM seq_1_to_{n};"
                f"ANALYZE TABLE {name};")
    return (f"CREATE TABLE {name} (id integer PRIMARY KEY, v text NOT NULL, amount numeric(10,2));"
            f"INSERT INTO {name} SELECT g, 'v' || g, g / 100.0 FROM generate_series(1, {n}) g;"
            + (f"UPDATE {name} SET v = 'changed' WHERE {changed_where};" if changed_where else ""))


class Auto(TallyCase):
    @classmethod
    def setUpClass(cls):
        pg, my = harness.PG(), harness.MY()
        my.create_db(MY_DB)
        my.sql(MY_DB, table_sql("my", "few", N, None) + table_sql("my", "dense", N, None)
               + table_sql("my", "small", 5000, None))
        pg.create_db(PG_DB)
        pg.psql(PG_DB, table_sql("pg", "few", N, "id IN (" + ", ".join(map(str, FEW)) + ")")
                + table_sql("pg", "dense", N, "id % 10 = 0") + table_sql("pg", "small", 5000, "id = 4321")
                + f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user}; ANALYZE;")

    @classmethod
    def tearDownClass(cls):
        harness.PG().drop_db(PG_DB)
        harness.MY().drop_db(MY_DB)

    def spec(self, *tables):
        pg, my = harness.PG(), harness.MY()
        out = ("version: 1\nname: it-auto\nsystems:\n"
               f'  src: {{ driver: mariadb, dsn: "{my.dsn_env(MY_DB)}" }}\n'
               f'  tgt: {{ driver: postgres, dsn: "{pg.dsn_env(PG_DB)}" }}\nchecks:\n')
        for t in tables:
            out += f"  - name: {t}\n    source: {{ system: src, table: {t} }}\n    target: {{ system: tgt, table: {t} }}\n"
        return out

    def lines(self, r):
        return subprocess.run(["zstd", "-dc", os.path.join(r.outdir, "diff.ndjson.zst")],
                              capture_output=True, check=True).stdout.decode().splitlines()

    def repair(self, r):
        return [x for x in open(os.path.join(r.outdir, "repair.tgt.sql")).read().splitlines()
                if not x.startswith("-- generated:")]

    def run_both(self, table, costs, *args):
        spec = self.spec(table)
        st = self.tally(spec, "--mode", "stream", "--chunk-rows", "30000", *args,
                        outdir=os.path.join(self.tmp, "stream"))
        au = self.tally(spec, "--chunk-rows", "30000", *args, outdir=os.path.join(self.tmp, "auto"),
                        env_extra={"TALLY_AUTO_COSTS": costs} if costs else None)
        self.assertEqual((st.code, au.code), (1, 1), au.stderr)
        self.assertEqual(self.lines(st), self.lines(au))
        self.assertEqual(self.repair(st), self.repair(au))
        self.assertEqual(st.report["mode"] if "mode" in st.report else "stream", "stream")
        return st, au

    def test_cheap_digests_few_differences(self):
        st, au = self.run_both("few", "10,1")
        c = au.check("few")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (0, 0, 3))
        self.assertEqual(au.keys("few", "changed"), FEW)
        self.assertEqual(c["mode"], "pushdown")
        n = c["chunks"]["total"]
        self.assertGreaterEqual(n, 4)
        # 7, 77777 and 149999 fall in three different chunks of about 30,000 rows.
        self.assertEqual(c["pushdown"]["chunks_streamed"], 0)
        self.assertEqual(c["pushdown"]["chunks_split"], 3)
        self.assertEqual(c["pushdown"]["chunks_equal"], n - 3)
        self.assertLessEqual(c["pushdown"]["rows_streamed"]["source"], 3 * 64)
        self.assertRegex(c["mode_reason"], r"^auto: digests in the servers [0-9.]+ us a row, streaming not measured; "
                                           rf"3 of \d+ digested parts differed; chunks: 0 streamed, {n} digested "
                                           r"\(0 of them streamed in part\)$")
        self.assertLess(c["source"]["bytes"] * 20, st.check("few")["source"]["bytes"])
        self.assertIn("few  ", au.stdout)
        self.assertIn("(pushdown: auto: digests in the servers", au.stdout)

    def test_dense_differences_stream_after_the_probe(self):
        st, au = self.run_both("dense", "10,1")
        c = au.check("dense")
        self.assertEqual(c["changed"], N // 10)
        self.assertEqual(c["mode"], "mixed")
        # The probe: one window of 8 parts, all differing; then the rest of the first chunk and every other streams.
        n = c["chunks"]["total"]
        self.assertRegex(c["mode_reason"], rf"; 8 of 8 digested parts differed; chunks: {n - 1} streamed, 1 digested "
                                           r"\(1 of them streamed in part\)$")
        self.assertEqual(c["pushdown"]["chunks_streamed"], n - 1)
        self.assertEqual(c["pushdown"]["rows_streamed"], {"source": N, "target": N})
        self.assertIn("(mixed: auto: ", au.stdout)

    def test_costly_digests_stream_after_the_probe(self):
        st, au = self.run_both("few", "1,10")
        c = au.check("few")
        self.assertEqual(c["mode"], "mixed")
        self.assertEqual(au.keys("few", "changed"), FEW)
        # Id 7 is in the probe's window: one part of eight differed.
        n = c["chunks"]["total"]
        self.assertRegex(c["mode_reason"], rf"; 1 of 8 digested parts differed; chunks: {n - 1} streamed, 1 digested "
                                           r"\(1 of them streamed in part\)$")
        # The rest of the table streamed, and the 63 rows of the sixteenth of a part that holds id 7.
        self.assertEqual(c["pushdown"]["rows_streamed"]["source"], N - 8000 + 63)

    def test_two_workers_measured_costs(self):
        # Whatever the machine makes auto choose, the verdict and the lines are stream mode's.
        st, au = self.run_both("few", None, "--jobs", "2")
        c = au.check("few")
        self.assertIn(c["mode"], ("stream", "mixed", "pushdown"))
        self.assertTrue(c["mode_reason"].startswith("auto: digests in the servers "), c["mode_reason"])
        self.assertEqual(au.keys("few", "changed"), FEW)
        d = c["pushdown"]
        self.assertEqual(d["chunks_equal"] + d["chunks_split"] + d["chunks_streamed"], c["chunks"]["total"])

    def test_small_or_paced_streams_without_a_probe(self):
        r = self.tally(self.spec("small"))
        self.assertEqual(r.code, 1, r.stderr)
        s = r.check("small")
        self.assertEqual((s["mode"], s["changed"], s["pushdown"]), ("stream", 1, None))
        self.assertEqual(s["mode_reason"], "auto: fewer than 100000 rows: streaming costs less than a probe of "
                                           "digests in the servers")
        self.assertEqual(r.keys("small", "changed"), [4321])
        self.assertNotIn("stream mode", r.stdout)
        self.assertNotIn("auto:", r.stdout)
        r = self.tally(self.spec("few"), "--max-rate", "1000000", "--chunk-rows", "30000",
                       env_extra={"TALLY_AUTO_COSTS": "10,1"}, outdir=os.path.join(self.tmp, "paced"))
        self.assertEqual(r.code, 1, r.stderr)
        f = r.check("few")
        self.assertEqual((f["mode"], f["changed"], f["pushdown"]), ("stream", 3, None))
        self.assertEqual(f["mode_reason"], "auto: --max-rate and --max-load pace the rows read; a digest statement "
                                           "cannot be paced")
        # Not asked for, so not worth a line of the summary.
        self.assertNotIn("stream mode", r.stdout)
        self.assertNotIn("auto:", r.stdout)

    def test_resume_keeps_auto(self):
        spec = self.spec("few")
        d = os.path.join(self.tmp, "shard")
        env = {"TALLY_AUTO_COSTS": "10,1"}
        r = self.tally(spec, "--chunk-rows", "30000", "--shard", "0/2", outdir=d, env_extra=env)
        self.assertEqual(r.code, 1, r.stderr)
        r = self.tally(spec, "--chunk-rows", "30000", "--mode", "stream", "--shard", "0/2", "--resume", outdir=d)
        self.assertEqual(r.code, 2)
        self.assertIn("check 'few': the interrupted run was in --mode auto", r.stderr)


if __name__ == "__main__":
    harness.main()
