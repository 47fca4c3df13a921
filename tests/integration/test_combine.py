#!/usr/bin/env python3
"""
tests/integration/test_combine.py
  Repairs of one row by several checks (issue 11, point 6) on the real
  servers. Two checks compare different columns of one table, and both
  find row 1 changed: their UPDATEs combine (the second's guard expects
  what the first wrote, its rollback runs first), the one script applies
  with psql, a second run is consistent, and the rollback puts every
  value back. A check that writes another value into a column an earlier
  check writes is a conflict: the repairs of the checks involved (and of
  those combined with them) are withheld with the reason; the other
  checks' repairs are still written and apply.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC, SRC2, TGT = "tally_it_cb_src", "tally_it_cb_src2", "tally_it_cb_tgt"
TGT_ROWS = "(1, 'old-a1', 'old-b1'), (2, 'a2', 'old-b2'), (3, 'old-a3', 'b3'), (4, 'a4', 'b4')"


class Combine(TallyCase):
    @classmethod
    def setUpClass(cls):
        pg = harness.PG()
        for db in (SRC, SRC2, TGT):
            pg.create_db(db)
        pg.psql(SRC, "CREATE TABLE t (id int PRIMARY KEY, a text, b text);"
                     "INSERT INTO t VALUES (1, 'a1', 'b1'), (2, 'a2', 'b2'), (3, 'a3', 'b3'), (4, 'a4', 'b4');"
                     "CREATE TABLE o (id int PRIMARY KEY, v text); INSERT INTO o VALUES (1, 'x'), (2, 'y');"
                     f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user};")
        pg.psql(SRC2, "CREATE TABLE t (id int PRIMARY KEY, a text, b text);"
                      "INSERT INTO t VALUES (1, 'other-a1', 'b1'), (2, 'a2', 'b2'), (3, 'a3', 'b3'), (4, 'a4', 'b4');"
                      f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user};")
        cls.reset_target()

    @classmethod
    def reset_target(cls):
        pg = harness.PG()
        pg.psql(TGT, "DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS o;"
                     "CREATE TABLE t (id int PRIMARY KEY, a text, b text);"
                     f"INSERT INTO t VALUES {TGT_ROWS};"
                     "CREATE TABLE o (id int PRIMARY KEY, v text); INSERT INTO o VALUES (1, 'x');"
                     f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user};")

    @classmethod
    def tearDownClass(cls):
        pg = harness.PG()
        for db in (SRC, SRC2, TGT):
            pg.drop_db(db)

    def setUp(self):
        super().setUp()
        self.reset_target()

    def spec(self, conflict=False):
        pg = harness.PG()
        text = ("version: 1\nname: it-combine\nsystems:\n"
                f"  src: {{ driver: postgres, dsn: \"{pg.dsn_env(SRC)}\" }}\n"
                f"  src2: {{ driver: postgres, dsn: \"{pg.dsn_env(SRC2)}\" }}\n"
                f"  tgt: {{ driver: postgres, dsn: \"{pg.dsn_env(TGT)}\" }}\n"
                "checks:\n"
                "  - name: ca\n    source: { system: src, table: t }\n    target: { system: tgt, table: t }\n"
                "    columns: [a]\n    repair: target\n"
                "  - name: cb\n    source: { system: src, table: t }\n    target: { system: tgt, table: t }\n"
                "    columns: [b]\n    repair: target\n"
                "  - name: co\n    source: { system: src, table: o }\n    target: { system: tgt, table: o }\n"
                "    repair: target\n")
        if conflict:
            text += ("  - name: ca2\n    source: { system: src2, table: t }\n    target: { system: tgt, table: t }\n"
                     "    columns: [a]\n    repair: target\n")
        return text

    def target(self):
        pg = harness.PG()
        return pg.psql(TGT, "SELECT id, a, b FROM t ORDER BY id; SELECT id, v FROM o ORDER BY id")

    def test_two_checks_different_columns_combine(self):
        before = self.target()
        r = self.tally(self.spec())
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        self.assertEqual(r.keys("ca", "changed"), [1, 3])
        self.assertEqual(r.keys("cb", "changed"), [1, 2])
        self.assertEqual(r.check("ca")["repair"]["statements"], {"insert": 0, "update": 2, "delete": 0})
        self.assertEqual(r.check("cb")["repair"]["statements"], {"insert": 0, "update": 2, "delete": 0})
        self.assertEqual(r.check("co")["repair"]["statements"], {"insert": 1, "update": 0, "delete": 0})
        repair = os.path.join(r.outdir, "repair.tgt.sql")
        rollback = os.path.join(r.outdir, "rollback.tgt.sql")
        text = open(repair).read()
        self.assertIn("-- check ca: update 2 rows of public.t, setting a", text)
        self.assertIn("-- check cb: update 2 rows of public.t, setting b", text)
        pg = harness.PG()
        p = pg.run_file(TGT, repair)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.target(), "1|a1|b1\n2|a2|b2\n3|a3|b3\n4|a4|b4\n1|x\n2|y\n")
        again = self.tally(self.spec(), outdir=os.path.join(self.tmp, "again"))
        self.assertEqual(again.code, 0, again.stdout + again.stderr)
        p = pg.run_file(TGT, rollback)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.target(), before)

    def test_conflict_withholds_only_the_checks_involved(self):
        r = self.tally(self.spec(conflict=True))
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        reason = "checks 'ca' and 'ca2' write different values into column 'a' of the same row of public.t"
        for name in ("ca", "ca2", "cb"):
            rep = r.check(name)["repair"]
            self.assertEqual(rep["none"], reason, name)
        for name in ("ca", "cb", "ca2"):
            self.assertIn(f"repair:   withheld for check '{name}': {reason}\n", r.stdout)
        self.assertIn(f"repair:   {r.outdir}/repair.tgt.sql\n", r.stdout)
        self.assertEqual(r.check("co")["repair"]["statements"], {"insert": 1, "update": 0, "delete": 0})
        repair = os.path.join(r.outdir, "repair.tgt.sql")
        text = open(repair).read()
        self.assertIn("-- check co: insert 1 row into public.o", text)
        self.assertNotIn("-- check ca", text)
        self.assertNotIn("-- check cb", text)
        p = harness.PG().run_file(TGT, repair)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.target(), "1|old-a1|old-b1\n2|a2|old-b2\n3|old-a3|b3\n4|a4|b4\n1|x\n2|y\n")


if __name__ == "__main__":
    harness.main()
