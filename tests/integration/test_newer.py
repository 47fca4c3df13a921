#!/usr/bin/env python3
"""
tests/integration/test_newer.py
  ignore_newer_than (issue 12, point 3) on the real servers: PostgreSQL
  (updated_at timestamptz) against MariaDB (DATETIME(6), read as UTC
  through the system's timezone:). Differences seeded long ago are found
  exactly; keys whose row was written just before the run, on either
  side, are skipped and counted (equal ones too), appear in no diff line
  and no repair statement; a NULL updated_at is compared; the same data
  without the option shows every one as a difference (the test can
  fail). run.json keeps the cutoff (run start minus age), which the
  report, the summary, history.ndjson, the metrics and report.html show,
  and which --resume reuses; tally merge of two shards counts the same.
  tally verify applies the rule with its own cutoff: rows written since
  the run are counted as newer, not as different in a new way. A schema
  check's tables: entry takes the option for its table.
  Spec errors name file:line:column (exit 2); match: multiset is refused;
  --mode counts gives the check an error and no verdict.
"""
import datetime
import glob
import json
import os
import re
import subprocess
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jsonschema  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC, TGT = "tally_it_newer_src", "tally_it_newer_tgt"
OLD = "2020-01-01 00:00:00"
# Written "now" on the source, the target or both, just before the run.
RECENT = {101: "both, changed", 102: "target only, changed", 103: "source only", 104: "missing on the target",
          5002: "extra on the target", 106: "both, equal", 107: "both, equal"}


def seed():
    pg, my = harness.PG(), harness.MY()
    pg.create_db(SRC)
    my.create_db(TGT)
    pg.psql(SRC, "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, updated_at timestamptz);\n"
                 f"INSERT INTO t SELECT i, 'v' || i, '{OLD}+00' FROM generate_series(1, 200) i;\n"
                 "UPDATE t SET updated_at = NULL WHERE id IN (50, 51);\n"
                 f"GRANT SELECT ON t TO {pg.user};")
    my.sql(TGT, "CREATE TABLE t (id int PRIMARY KEY, v varchar(40) NOT NULL, updated_at datetime(6) NULL);\n"
                f"INSERT INTO t SELECT seq, CONCAT('v', seq), '{OLD}' FROM seq_1_to_200;\n"
                "UPDATE t SET updated_at = NULL WHERE id IN (50, 51);\n"
                "DELETE FROM t WHERE id IN (10, 20);\n"
                f"INSERT INTO t VALUES (5001, 'only here', '{OLD}');\n"
                "UPDATE t SET v = 'seeded' WHERE id IN (30, 40, 50);\n")
    my.sql(TGT, f"GRANT SELECT ON `{TGT}`.* TO '{my.user}'@'%';", check=False)
    # The recent writes.
    pg.psql(SRC, "UPDATE t SET updated_at = now() WHERE id IN (101, 103, 104, 106, 107);")
    my.sql(TGT, "UPDATE t SET v = 'recent', updated_at = UTC_TIMESTAMP(6) WHERE id IN (101, 102);\n"
                "UPDATE t SET updated_at = UTC_TIMESTAMP(6) WHERE id IN (106, 107);\n"
                "DELETE FROM t WHERE id = 104;\n"
                "INSERT INTO t VALUES (5002, 'new', UTC_TIMESTAMP(6));\n")
    # 106 and 107: the same instant on both sides, so that they are equal rows.
    when = pg.psql(SRC, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')").strip()
    pg.psql(SRC, f"UPDATE t SET updated_at = '{when}+00' WHERE id IN (106, 107);")
    my.sql(TGT, f"UPDATE t SET updated_at = '{when}' WHERE id IN (106, 107);")


def spec(option="    ignore_newer_than: { column: updated_at, age: 10m }\n", extra=""):
    pg, my = harness.PG(), harness.MY()
    return f"""version: 1
name: it-newer
systems:
  src: {{ driver: postgres, dsn: "{pg.dsn_env(SRC)}" }}
  tgt: {{ driver: mariadb, dsn: "{my.dsn_env(TGT)}", timezone: UTC }}
checks:
  - name: t
    source: {{ system: src, table: t }}
    target: {{ system: tgt, table: t }}
{extra}{option}"""


class Newer(TallyCase):
    @classmethod
    def setUpClass(cls):
        seed()

    @classmethod
    def tearDownClass(cls):
        harness.PG().drop_db(SRC)
        harness.MY().drop_db(TGT)

    def test_recent_rows_skipped_old_differences_exact(self):
        prom = os.path.join(self.tmp, "tally.prom")
        r = self.tally(spec(), "--chunk-rows", "1000", "--metrics", prom)
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        c = r.check("t")
        self.assertEqual(r.keys("t", "missing"), [10, 20])
        self.assertEqual(r.keys("t", "extra"), [5001])
        self.assertEqual(r.keys("t", "changed"), [30, 40, 50])   # 50: NULL updated_at, compared
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (2, 1, 3))
        self.assertEqual(c["skipped_newer"], len(RECENT))
        self.assertEqual(c["source"]["rows"], 200)
        self.assertEqual(c["target"]["rows"], 199)
        for d in r.diffs:
            self.assertNotIn(d["key"]["id"], RECENT)
        self.assertEqual(c["repair"]["statements"], {"insert": 2, "update": 3, "delete": 1})
        # The cutoff: the run's start minus 10 minutes, the same in run.json's history and the report.
        newer = c["ignore_newer_than"]
        started = datetime.datetime.strptime(r.report["started_at"], "%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual(newer, {"column": "updated_at", "age": "10m",
                                 "cutoff": (started - datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")})
        self.assertIn(f"(7 rows skipped as newer than {newer['cutoff']}: ignore_newer_than updated_at 10m)",
                      r.stdout)
        hist = [json.loads(line) for line in open(os.path.join(r.base, "history.ndjson"))]
        self.assertEqual(hist[-1]["checks"]["t"]["skipped_newer"], 7)
        samples = {(s.name, s.labels.get("check")): s.value
                   for fam in text_string_to_metric_families(open(prom).read()) for s in fam.samples}
        self.assertEqual(samples[("tally_check_skipped_newer", "t")], 7)
        html = open(os.path.join(r.outdir, "report.html")).read()
        self.assertIn('<span data-field="skipped-newer">7</span>', html)
        self.assertIn(f'data-field="newer-cutoff">{newer["cutoff"]}</span>', html)
        # The repair applies; the next run finds the old differences gone and still skips the recent keys.
        p = harness.MY().run_file(TGT, os.path.join(r.outdir, "repair.tgt.sql"))
        self.assertEqual(p.returncode, 0, p.stderr)
        r2 = self.tally(spec(), outdir=os.path.join(self.tmp, "out2"))
        self.assertEqual(r2.code, 0, r2.stdout + r2.stderr)
        self.assertEqual(r2.check("t")["skipped_newer"], 7)
        # Put the target back for the other tests.
        p = harness.MY().run_file(TGT, os.path.join(r.outdir, "rollback.tgt.sql"))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_without_the_option_recent_rows_are_differences(self):
        r = self.tally(spec(option=""))
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("t")
        self.assertEqual(r.keys("t", "missing"), [10, 20, 104])
        self.assertEqual(r.keys("t", "extra"), [5001, 5002])
        self.assertEqual(r.keys("t", "changed"), [30, 40, 50, 101, 102, 103])
        self.assertIsNone(c["ignore_newer_than"])
        self.assertIsNone(c["skipped_newer"])
        self.assertNotIn("skipped as newer", r.stdout)

    def test_shards_keep_the_cutoff_in_run_json(self):
        outs = [os.path.join(self.tmp, f"shard{k}") for k in range(2)]
        for k in range(2):
            r = self.tally(spec(), "--chunk-rows", "1000", "--shard", f"{k}/2", outdir=outs[k])
            self.assertIn(r.code, (0, 1), r.stdout + r.stderr)
            run = json.load(open(os.path.join(r.outdir, ".tally-work", "run.json")))
            started = datetime.datetime.strptime(run["started_at"], "%Y-%m-%dT%H:%M:%SZ")
            self.assertEqual(run["checks"][0]["ignore_newer_than"]["cutoff"],
                             (started - datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        # --resume continues shard 0's run a second later with the cutoff of its start, not of now.
        first = harness.Result(types.SimpleNamespace(returncode=0, stdout="", stderr=""), outs[0])
        time.sleep(1.1)
        r = self.tally(spec(), "--chunk-rows", "1000", "--shard", "0/2", "--resume", outdir=outs[0])
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        self.assertEqual(r.outdir, first.outdir)
        self.assertEqual(r.check("t")["ignore_newer_than"], first.check("t")["ignore_newer_than"])
        self.assertEqual(r.check("t")["skipped_newer"], 7)
        merged = os.path.join(self.tmp, "merged")
        p = subprocess.run([harness.tally_bin(), "merge", *[harness.run_dir(o) for o in outs], "--out", merged],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        m = harness.Result(p, merged)
        c = m.check("t")
        self.assertEqual((c["missing"], c["extra"], c["changed"], c["skipped_newer"]), (2, 1, 3, 7))
        # Each shard fixed its cutoff at its start; the merged report names the earliest.
        self.assertEqual(c["ignore_newer_than"]["cutoff"],
                         min(json.load(open(os.path.join(harness.run_dir(o), ".tally-work", "run.json")))
                             ["checks"][0]["ignore_newer_than"]["cutoff"] for o in outs))
        self.assertEqual(m.keys("t", "changed"), [30, 40, 50])

    def test_verify_counts_rows_written_since_as_newer(self):
        r = self.tally(spec())
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        my = harness.MY()
        # Changed on the target since the run (30 again, 5001 touched): newer than verify's own cutoff.
        my.sql(TGT, "UPDATE t SET v = 'again', updated_at = UTC_TIMESTAMP(6) WHERE id IN (30, 5001);")
        try:
            p = subprocess.run([harness.tally_bin(), "verify", r.outdir], capture_output=True, text=True,
                               timeout=120)
        finally:
            my.sql(TGT, f"UPDATE t SET v = 'seeded', updated_at = '{OLD}' WHERE id = 30;\n"
                        f"UPDATE t SET v = 'only here', updated_at = '{OLD}' WHERE id = 5001;")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        d = glob.glob(os.path.join(r.outdir, "verify-*"))
        self.assertEqual(len(d), 1)
        rep = json.load(open(os.path.join(d[0], "report.json")))
        vschema = jsonschema.Draft202012Validator(json.load(open(os.path.join(harness.REPO, "docs",
                                                                              "verify.schema.json"))))
        self.assertEqual([e.message for e in vschema.iter_errors(rep)], [])
        c = rep["checks"][0]
        self.assertEqual((c["differences"], c["resolved"], c["same"], c["new"], c["skipped_newer"], c["status"]),
                         (6, 0, 4, 0, 2, "unresolved"))
        started = datetime.datetime.strptime(rep["started_at"], "%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual(c["newer_cutoff"], (started - datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        raw = subprocess.run(["zstd", "-dc", os.path.join(d[0], "diff.ndjson.zst")], capture_output=True,
                             check=True).stdout
        self.assertEqual(sorted(json.loads(x)["key"]["id"] for x in raw.decode().splitlines() if x),
                         [10, 20, 40, 50])
        self.assertIn(f"2 skipped as newer than {c['newer_cutoff']}", p.stdout)

    def test_schema_check_table_override(self):
        pg, my = harness.PG(), harness.MY()
        text = f"""version: 1
name: it-newer
systems:
  src: {{ driver: postgres, dsn: "{pg.dsn_env(SRC)}" }}
  tgt: {{ driver: mariadb, dsn: "{my.dsn_env(TGT)}", timezone: UTC }}
checks:
  - name: s
    source: {{ system: src, schema: public }}
    target: {{ system: tgt, schema: {TGT} }}
    tables:
      t: {{ ignore_newer_than: {{ column: updated_at, age: 1h }} }}
"""
        r = self.tally(text)
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        c = r.check("s.t")
        self.assertEqual((c["missing"], c["extra"], c["changed"], c["skipped_newer"]), (2, 1, 3, 7))
        self.assertEqual(c["ignore_newer_than"]["age"], "1h")

    def test_spec_errors(self):
        cases = [
            ("    ignore_newer_than: { column: updated_at, agee: 10m }\n",
             "spec.yaml:10:46: checks[0].ignore_newer_than: unknown key 'agee' (expected one of: column, age)"),
            ("    ignore_newer_than: { column: updated_at, age: ten }\n",
             "spec.yaml:10:51: checks[0].ignore_newer_than.age: expected a duration like 90s, 10m, 2h or 1d "
             "(above zero, at most 3650d), got 'ten'"),
            ("    ignore_newer_than: { age: 10m }\n",
             "spec.yaml:10:24: checks[0].ignore_newer_than: missing required key 'column'"),
            ("    match: multiset\n    ignore_newer_than: { column: updated_at, age: 10m }\n",
             "spec.yaml:11:5: checks[0].ignore_newer_than: ignore_newer_than decides per key, and match: "
             "multiset has no key: remove one of them"),
            # Known only once the tables are described: the check errs, exit 2.
            ("    ignore_newer_than: { column: nope, age: 10m }\n",
             "spec.yaml:10:34: ignore_newer_than: column 'nope' is not a compared column of check 't' (a key, "
             "ignored, left out of columns:, or on one side only)"),
            ("    ignore_newer_than: { column: v, age: 10m }\n",
             "spec.yaml:10:34: ignore_newer_than: column 'v' is compared as text, not as a date or a timestamp"),
            ("    ignore_newer_than: { column: id, age: 10m }\n",
             "spec.yaml:10:34: ignore_newer_than: column 'id' is not a compared column of check 't' (a key, "
             "ignored, left out of columns:, or on one side only)"),
        ]
        for option, msg in cases:
            r = self.tally(spec(option=option))
            self.assertEqual(r.code, 2, option + r.stdout + r.stderr)
            self.assertIn(msg, r.stdout + r.stderr)

    def test_counts_mode_gives_the_check_an_error(self):
        r = self.tally(spec(), "--mode", "counts")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        c = r.check("t")
        self.assertEqual(c["status"], "error")
        self.assertIsNone(c["skipped_newer"])
        self.assertIn("spec.yaml:10:5: ignore_newer_than needs the rows, and --mode counts reads none: run this "
                      "check in --mode stream", c["error"]["message"])


if __name__ == "__main__":
    harness.main()
