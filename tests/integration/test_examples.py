#!/usr/bin/env python3
"""
tests/integration/test_examples.py
  The example specs of specs/examples/ on the test servers, seeded from
  their own SQL files: a post-migration verification (migration.yaml) and
  a nightly cache consistency job (nightly.yaml) find exactly what the
  seeds plant; each repair, applied by its change order's command, makes
  the next run consistent; the half-finished cancel workflow
  (workflow.yaml) says where each order stopped, and its two scripts, in
  the change order's order, finish every order but the one done out of
  order; and scripts/examples.sh, the way a user runs them, seeds and runs
  all three.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import REPO, TallyCase  # noqa: E402

EX = os.path.join(REPO, "specs", "examples")


class Examples(TallyCase):

    @classmethod
    def setUpClass(cls):
        cls.pg, cls.my = harness.PG(), harness.MY()

    @classmethod
    def tearDownClass(cls):
        cls.drop()

    @classmethod
    def drop(cls):
        cls.my.drop_db("shop_legacy")
        cls.my.drop_db("shop_cache")
        cls.my.drop_db("search")
        cls.pg.drop_db("shop")
        cls.pg.drop_db("oms")

    def setUp(self):
        super().setUp()
        # The examples name these databases; the test servers are this suite's own.
        self.my.create_db("shop_legacy")
        self.my.sql("shop_legacy", open(os.path.join(EX, "migration-mariadb.sql")).read())
        self.my.create_db("shop_cache")
        self.my.sql("shop_cache", open(os.path.join(EX, "nightly-mariadb.sql")).read())
        self.pg.create_db("shop")
        self.pg.psql("shop", open(os.path.join(EX, "migration-postgres.sql")).read())
        self.pg.psql("shop", open(os.path.join(EX, "nightly-postgres.sql")).read())
        self.my.create_db("search")
        self.my.sql("search", open(os.path.join(EX, "workflow-mariadb.sql")).read())
        self.pg.create_db("oms")
        self.pg.psql("oms", open(os.path.join(EX, "workflow-postgres.sql")).read())

    def run_example(self, name, outdir=None):
        return self.tally(open(os.path.join(EX, name + ".yaml")).read(), outdir=outdir)

    def apply_by_change_order(self, r, file):
        """The change order's command for file, run in the run directory with the admin account."""
        text = open(os.path.join(r.outdir, "change-order.md")).read()
        block = text[text.index(f": `{file}`\n"):]
        cmd = re.search(r"Apply it.*?```sh\n   (.*?)\n   ```", block, re.S).group(1)
        line = re.search(r"the line:\n\n   ```\n   (.*?)\n   ```", block).group(1)
        if cmd.startswith("mariadb "):
            cmd = cmd.replace(" -u OPERATOR -p ", f" -u {self.my.admin} --password={self.my.admin_pw} ")
        e = dict(os.environ, PATH=self.pg.bindir + os.pathsep + os.environ["PATH"],
                 REPAIR_USER=self.pg.admin, PGPASSWORD=self.pg.admin_pw)
        p = subprocess.run(["bash", "-c", cmd], cwd=r.outdir, capture_output=True, text=True, env=e)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[-1], line)
        return line

    def test_migration(self):
        r = self.run_example("migration")
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("products")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (1, 1, 2))
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (200, 200))
        self.assertEqual(r.keys("products", "missing"), ["SKU-0042"])
        self.assertEqual(r.keys("products", "extra"), ["SKU-9001"])
        self.assertEqual(r.keys("products", "changed"), ["SKU-0100", "SKU-0140"])
        self.assertEqual(r.changed_columns("products"), {'["SKU-0100"]': ["price"], '["SKU-0140"]': ["active"]})
        line = self.apply_by_change_order(r, "repair.shop.sql")
        self.assertEqual(line, "tally: repair repair.shop.sql applied: 4 rows (1 inserted, 2 updated, 1 deleted)")
        again = self.run_example("migration", outdir=os.path.join(self.tmp, "again"))
        self.assertEqual(again.code, 0, again.stdout + again.stderr)

    def test_nightly(self):
        r = self.run_example("nightly")
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("order-cache")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (1, 1, 6))
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (50, 50))
        self.assertEqual(r.keys("order-cache", "missing"), [7])
        self.assertEqual(r.keys("order-cache", "extra"), [999])
        self.assertEqual(r.keys("order-cache", "changed"), [2, 12, 16, 22, 32, 42])
        cols = r.changed_columns("order-cache")
        self.assertEqual(cols["[16]"], ["status"])
        self.assertEqual({k: v for k, v in cols.items() if k != "[16]"},
                         {f"[{k}]": ["customer_name"] for k in (2, 12, 22, 32, 42)})
        line = self.apply_by_change_order(r, "repair.cache.sql")
        self.assertEqual(line, "tally: repair repair.cache.sql applied: 8 rows (1 inserted, 6 updated, 1 deleted)")
        again = self.run_example("nightly", outdir=os.path.join(self.tmp, "again"))
        self.assertEqual(again.code, 0, again.stdout + again.stderr)

    def test_workflow(self):
        r = self.run_example("workflow")
        self.assertEqual(r.code, 1, r.stderr)
        self.assertIn("workflow order-cancel: 10 complete, 3 stopped after order-cancelled, 2 stopped after "
                      "stock-released, 4 never started, 1 out of order\n", r.stdout)
        groups = {}
        for d in r.diffs:
            if d["kind"] == "workflow":
                groups.setdefault(d["group"] + ":" + d.get("after", ""), []).append(d["key"]["order_id"])
        self.assertEqual(groups, {"complete:": list(range(1, 11)), "stopped_after:order-cancelled": [11, 12, 13],
                                  "stopped_after:stock-released": [14, 15], "never_started:": [16, 17, 18, 19],
                                  "out_of_order:": [20]})
        self.assertEqual(self.apply_by_change_order(r, "repair.app.sql"),
                         "tally: repair repair.app.sql applied: 18 rows (0 inserted, 4 updated, 14 deleted)")
        self.assertEqual(self.apply_by_change_order(r, "repair.search.sql"),
                         "tally: repair repair.search.sql applied: 9 rows (0 inserted, 0 updated, 9 deleted)")
        again = self.run_example("workflow", outdir=os.path.join(self.tmp, "again"))
        self.assertEqual(again.code, 1, again.stdout + again.stderr)
        self.assertIn("workflow order-cancel: 19 complete, 0 never started, 1 out of order\n", again.stdout)

    def test_script(self):
        self.drop()     # the script creates the databases itself
        out = os.path.join(self.tmp, "examples")
        p = subprocess.run([os.path.join(REPO, "scripts", "examples.sh")], capture_output=True, text=True,
                           env=dict(os.environ, TALLY_EXAMPLES_OUT=out, TALLY=harness.tally_bin()), timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"products\s+inconsistent\s+missing 1, extra 1, changed 2 ")
        self.assertRegex(p.stdout, r"order-cache\s+inconsistent\s+missing 1, extra 1, changed 6 ")
        self.assertEqual(p.stdout.count("(exit status 1: 0 consistent, 1 differences found, 2 trouble)"), 3)
        self.assertIn("workflow order-cancel: 10 complete, 3 stopped after order-cancelled, 2 stopped after "
                      "stock-released, 4 never started, 1 out of order\n", p.stdout)
        self.assertIn(f"== where the workflow's keys stopped: {out}/workflow/latest/change-order.md\n"
                      "## Workflows\n", p.stdout)
        self.assertIn(f"== the change order of the nightly run: {out}/nightly/latest/change-order.md\n"
                      "# Change order: nightly\n", p.stdout)
        for name in ("migration", "nightly", "workflow"):
            harness.load_report(os.path.join(out, name, "latest", "report.json"))


if __name__ == "__main__":
    harness.main()
