#!/usr/bin/env python3
"""
tests/integration/test_demo.py
  The demo's spec and seed SQL (specs/demo.yaml, specs/demo/*.sql), run on
  the test servers: tally must find exactly the inconsistencies the seed
  SQL plants, no more, no fewer.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import REPO, TallyCase  # noqa: E402


class Demo(TallyCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = harness.PG()
        cls.my = harness.MY()
        # The demo spec names the databases legacy and billing; the test
        # servers are shared, so use those names only for this test's life.
        cls.my.create_db("legacy")
        cls.my.sql("legacy", open(os.path.join(REPO, "specs/demo/legacy-mariadb.sql")).read())
        cls.pg.create_db("billing")
        cls.pg.psql("billing", open(os.path.join(REPO, "specs/demo/billing-postgres.sql")).read())

    @classmethod
    def tearDownClass(cls):
        cls.my.drop_db("legacy")
        cls.pg.drop_db("billing")

    def run_demo(self):
        spec = open(os.path.join(REPO, "specs/demo.yaml")).read()
        return self.tally(spec)

    def test_finds_exactly_the_seeded_inconsistencies(self):
        r = self.run_demo()
        self.assertEqual(r.code, 1, r.stderr)
        got = {c["name"]: (c["missing"], c["extra"], c["changed"]) for c in r.report["checks"]}
        self.assertEqual(got, {"customers": (1, 4, 2), "orders": (7, 3, 10), "gdpr-deletions": (0, 4, 0)})
        self.assertEqual(r.keys("customers", "missing"), [2001])
        self.assertEqual(r.keys("customers", "extra"), [1951, 1960, 1966, 1973])
        self.assertEqual(r.keys("customers", "changed"), [10, 20])
        self.assertEqual(r.keys("orders", "missing"), [101, 2024, 5005, 9999, 12345, 17000, 19999])
        self.assertEqual(r.keys("orders", "extra"), [97, 970, 9700])
        self.assertEqual(r.keys("orders", "changed"), [11, 15, 16, 17, 222, 500, 501, 3333, 4444, 7777])
        self.assertEqual(r.keys("gdpr-deletions", "extra"), [1951, 1960, 1966, 1973])
        cols = r.changed_columns("orders")
        self.assertEqual(cols["[11]"], ["amount"])
        self.assertEqual(cols["[15]"], ["status"])
        self.assertEqual(cols["[500]"], ["ordered_at"])
        self.assertEqual(cols["[7777]"], ["cust_no"])
        c = r.check("orders")
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (19794, 19790))
        self.assertEqual(c["unmatched_columns"], {"source": [], "target": []})

    def test_repair_then_rollback(self):
        r = self.run_demo()
        self.assertEqual(r.code, 1, r.stderr)
        rep = {c["name"]: c["repair"] for c in r.report["checks"]}
        self.assertEqual(rep["customers"]["statements"], {"insert": 1, "update": 2, "delete": 4})
        self.assertEqual(rep["orders"]["statements"], {"insert": 7, "update": 10, "delete": 3})
        # The same 4 customers: the second check's deletes are written once.
        self.assertEqual(rep["gdpr-deletions"]["statements"], {"insert": 0, "update": 0, "delete": 0})
        self.assertEqual(rep["gdpr-deletions"]["duplicates"], 4)
        saved = os.path.join(self.tmp, "saved")
        os.mkdir(saved)
        for f in ("repair.billing.sql", "rollback.billing.sql"):
            os.replace(os.path.join(r.outdir, f), os.path.join(saved, f))
        before = self.pg.psql("billing", "COPY (SELECT * FROM customers ORDER BY 1) TO STDOUT;"
                                         "COPY (SELECT * FROM orders ORDER BY 1) TO STDOUT")
        p = self.pg.run_file("billing", os.path.join(saved, "repair.billing.sql"))
        self.assertEqual(p.returncode, 0, p.stderr)
        r2 = self.run_demo()
        self.assertEqual(r2.code, 0, r2.stdout + r2.stderr)
        p = self.pg.run_file("billing", os.path.join(saved, "rollback.billing.sql"))
        self.assertEqual(p.returncode, 0, p.stderr)
        after = self.pg.psql("billing", "COPY (SELECT * FROM customers ORDER BY 1) TO STDOUT;"
                                        "COPY (SELECT * FROM orders ORDER BY 1) TO STDOUT")
        self.assertEqual(after, before)
        self.assertEqual(self.run_demo().code, 1)

    def test_summary(self):
        r = self.run_demo()
        self.assertRegex(r.stdout, r"customers\s+inconsistent\s+missing 1, extra 4, changed 2")
        self.assertRegex(r.stdout, r"orders\s+inconsistent\s+missing 7, extra 3, changed 10")
        self.assertRegex(r.stdout, r"gdpr-deletions\s+inconsistent\s+undeleted 4")
        self.assertNoSecret(r, self.pg.user_pw, self.my.user_pw)


if __name__ == "__main__":
    harness.main()
