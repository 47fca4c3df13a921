#!/usr/bin/env python3
"""
tests/integration/test_verify.py
  tally verify RUN_DIR: the keys a run found different, read again by key
  (composite keys, text keys with quotes) on PostgreSQL (source) and
  MariaDB (target): after the repair is applied with the real client,
  every difference is resolved (exit 0); without it, every one is still
  there the same way (exit 1); a row changed another way counts as "new".
  The verify report matches docs/verify.schema.json, and the run's own
  files are untouched.
"""
import glob
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jsonschema  # noqa: E402

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

VSCHEMA = jsonschema.Draft202012Validator(
    json.load(open(os.path.join(harness.REPO, "docs", "verify.schema.json"))))
SRC, TGT = "tally_it_verify_src", "tally_it_verify_tgt"
PG = MY = None


def servers():
    global PG, MY
    if PG is None:
        PG, MY = harness.PG(), harness.MY()
    return PG, MY


ROWS = [(r, i, f"name {r} {i}", f"{i}.50") for r in ("eu", "us", "o'brien", 'us"x') for i in range(1, 6)]


def seed():
    pg, my = servers()
    pg.create_db(SRC)
    my.create_db(TGT)
    vals = ",".join("('%s', %d, '%s', %s)" % (r.replace("'", "''"), i, n.replace("'", "''"), a)
                    for r, i, n, a in ROWS)
    pg.psql(SRC, "CREATE TABLE acct (region text, id int, name text, amount numeric(10,2), "
                 f"PRIMARY KEY (region, id));\nINSERT INTO acct VALUES {vals};\n"
                 f"GRANT SELECT ON acct TO {pg.user};")
    my.sql(TGT, "CREATE TABLE acct (region varchar(20), id int, name varchar(50), amount decimal(10,2), "
                f"PRIMARY KEY (region, id));\nINSERT INTO acct VALUES {vals};\n"
                # the seeded differences: 2 missing, 1 extra, 2 changed
                "DELETE FROM acct WHERE region = 'eu' AND id = 3;\n"
                "DELETE FROM acct WHERE region = 'o''brien' AND id = 1;\n"
                "INSERT INTO acct VALUES ('us', 99, 'only here', 1.00);\n"
                "UPDATE acct SET name = 'wrong' WHERE region = 'eu' AND id = 5;\n"
                "UPDATE acct SET amount = 7.77 WHERE region = 'us\"x' AND id = 2;\n")
    my.sql(TGT, f"GRANT SELECT ON `{TGT}`.* TO '{my.user}'@'%';", check=False)


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


class Verify(TallyCase):
    SPEC = None

    def setUp(self):
        super().setUp()
        seed()
        pg, my = servers()
        self.spec = f"""version: 1
name: it-verify
systems:
  src: {{ driver: postgres, dsn: "{pg.dsn_env(SRC)}" }}
  tgt: {{ driver: mariadb, dsn: "{my.dsn_env(TGT)}" }}
checks:
  - name: acct
    source: {{ system: src, table: acct }}
    target: {{ system: tgt, table: acct }}
    repair: target
"""

    @classmethod
    def tearDownClass(cls):
        pg, my = servers()
        pg.drop_db(SRC)
        my.drop_db(TGT)

    def check_run(self):
        r = self.tally(self.spec)
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("acct")
        self.assertEqual((c["missing"], c["extra"], c["changed"], c["in_flight"]), (2, 1, 2, 0))
        self.assertRegex(r.report["spec_hash"], "^[0-9a-f]{32}$")
        return r

    def verify(self, run_dir, *args):
        p = subprocess.run([harness.tally_bin(), "verify", run_dir, *args], capture_output=True, text=True,
                           timeout=120, cwd=self.tmp)
        dirs = sorted(glob.glob(os.path.join(run_dir, "verify-*")))
        report = None
        if p.returncode != 2:
            self.assertEqual(len(dirs), 1, p.stdout + p.stderr)
            with open(os.path.join(dirs[0], "report.json")) as f:
                report = json.load(f)
            errors = [e.message for e in VSCHEMA.iter_errors(report)]
            self.assertEqual(errors, [])
            self.assertTrue(os.path.exists(os.path.join(dirs[0], "diff.ndjson.zst")))
        return p, report, dirs

    def counts(self, report):
        c = report["checks"][0]
        return (c["name"], c["differences"], c["resolved"], c["same"], c["new"], c["status"])

    def fresh_lines(self, d):
        raw = subprocess.run(["zstd", "-dc", os.path.join(d, "diff.ndjson.zst")], capture_output=True,
                             check=True).stdout
        return [json.loads(x) for x in raw.decode().splitlines() if x]

    def test_applied_repair_resolves_all(self):
        r = self.check_run()
        pg, my = servers()
        p = my.run_file(TGT, os.path.join(r.outdir, "repair.tgt.sql"))
        self.assertEqual(p.returncode, 0, p.stderr)
        before = {f: digest(os.path.join(r.outdir, f)) for f in os.listdir(r.outdir)}
        v, rep, dirs = self.verify(r.outdir)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertEqual(rep["status"], "resolved")
        self.assertEqual(self.counts(rep), ("acct", 5, 5, 0, 0, "resolved"))
        self.assertEqual(self.fresh_lines(dirs[0]), [])
        self.assertIn("acct", v.stdout)
        self.assertIn("5 resolved", v.stdout)
        # The run's own files are only read.
        after = {f: digest(os.path.join(r.outdir, f)) for f in os.listdir(r.outdir)
                 if not f.startswith("verify-")}
        self.assertEqual(after, before)

    def test_unapplied_is_still_the_same(self):
        r = self.check_run()
        v, rep, dirs = self.verify(r.outdir)
        self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
        self.assertEqual(rep["status"], "unresolved")
        self.assertEqual(self.counts(rep), ("acct", 5, 0, 5, 0, "unresolved"))
        lines = self.fresh_lines(dirs[0])
        self.assertEqual(sorted((d["kind"], d["key"]["region"], d["key"]["id"], d["verify"]) for d in lines),
                         [("changed", "eu", 5, "same"), ("changed", 'us"x', 2, "same"),
                          ("extra", "us", 99, "same"), ("missing", "eu", 3, "same"),
                          ("missing", "o'brien", 1, "same")])
        # A second verify gets a directory of its own.
        v2, rep2, dirs2 = subprocess.run([harness.tally_bin(), "verify", r.outdir], capture_output=True,
                                         text=True), None, sorted(glob.glob(os.path.join(r.outdir, "verify-*")))
        self.assertEqual(v2.returncode, 1, v2.stderr)
        self.assertEqual(len(dirs2), 2)

    def test_changed_another_way_is_new(self):
        r = self.check_run()
        pg, my = servers()
        # One row differs in another way now; one missing row was inserted as in the source.
        my.sql(TGT, "UPDATE acct SET name = 'wrong again' WHERE region = 'eu' AND id = 5;\n"
                    "INSERT INTO acct VALUES ('eu', 3, 'name eu 3', 3.50);")
        v, rep, dirs = self.verify(r.outdir)
        self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
        self.assertEqual(self.counts(rep), ("acct", 5, 1, 3, 1, "unresolved"))
        new = [d for d in self.fresh_lines(dirs[0]) if d["verify"] == "new"]
        self.assertEqual([(d["key"], d["target"]) for d in new],
                         [({"region": "eu", "id": 5}, {"name": "wrong again"})])

    def test_spec_changed_is_refused(self):
        r = self.check_run()
        spec = os.path.join(self.tmp, "spec.yaml")
        with open(spec, "a") as f:
            f.write("# edited after the run\n")
        v, rep, dirs = self.verify(r.outdir)
        self.assertEqual(v.returncode, 2)
        self.assertIn("changed since the run", v.stderr)
        self.assertEqual(dirs, [])
        # The spec the run used, given with --spec, is accepted.
        orig = os.path.join(self.tmp, "orig.yaml")
        with open(orig, "w") as f:
            f.write(self.spec)
        v, rep, dirs = self.verify(r.outdir, "--spec", orig)
        self.assertEqual(v.returncode, 1, v.stderr)
        self.assertEqual(self.counts(rep), ("acct", 5, 0, 5, 0, "unresolved"))

    def test_not_a_run_dir(self):
        p = subprocess.run([harness.tally_bin(), "verify", self.tmp], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("report.json", p.stderr)


if __name__ == "__main__":
    harness.main()
