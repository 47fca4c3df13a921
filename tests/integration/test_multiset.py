#!/usr/bin/env python3
"""
tests/integration/test_multiset.py
  Tables without a key (match: multiset) on the real servers, in both
  directions between MariaDB and PostgreSQL: rows are counted as copies,
  so one copy against three is two missing copies, and two equal rows do
  not cancel out. The repair script inserts or deletes exactly the surplus
  copies (PostgreSQL by ctid, MariaDB with DELETE ... LIMIT), after
  checking that the table still holds the copies tally counted; the
  rollback puts the copies back; a table that gained a copy since the
  check makes the script stop with nothing changed.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC_ROWS = [("a", 1)] * 3 + [("b", 2)] + [("c", 3)] * 2 + [(None, 4)] + [("é ü", 6)] * 2
TGT_ROWS = [("a", 1)] + [("b", 2)] * 2 + [("c", 3)] * 2 + [("d", 5)] + [(None, 4)] + [("é ü", 6)] * 2


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + v.replace("'", "''") + "'"


def values(rows):
    return ", ".join(f"({lit(m)}, {lit(n)})" for m, n in rows)


class MultisetBase:
    SRC = TGT = None

    @classmethod
    def setUpClass(cls):
        pg, my = harness.PG(), harness.MY()
        cls.src_db = f"tally_it_ms_{cls.SRC}{cls.TGT}_src"
        cls.tgt_db = f"tally_it_ms_{cls.SRC}{cls.TGT}_tgt"
        for engine, db, rows in ((cls.SRC, cls.src_db, SRC_ROWS), (cls.TGT, cls.tgt_db, TGT_ROWS)):
            if engine == "pg":
                pg.create_db(db)
                pg.psql(db, f"CREATE TABLE events (msg text, n integer);"
                            f"INSERT INTO events VALUES {values(rows)};"
                            f"CREATE TABLE wide (msg text, n integer, note text);"
                            f"INSERT INTO wide VALUES ('x', 1, 'p'), ('x', 1, 'q');")
            else:
                my.create_db(db)
                my.sql(db, f"CREATE TABLE events (msg VARCHAR(20), n INT);"
                           f"INSERT INTO events VALUES {values(rows)};"
                           f"CREATE TABLE wide (msg VARCHAR(20), n INT, note VARCHAR(5));"
                           f"INSERT INTO wide VALUES ('x', 1, 'p');")

    @classmethod
    def tearDownClass(cls):
        pg, my = harness.PG(), harness.MY()
        for engine, db in ((cls.SRC, cls.src_db), (cls.TGT, cls.tgt_db)):
            (pg if engine == "pg" else my).drop_db(db)

    def system(self, engine, db):
        pg, my = harness.PG(), harness.MY()
        if engine == "pg":
            return f'{{ driver: postgres, dsn: "{pg.dsn_env(db)}" }}'
        return f'{{ driver: mariadb, dsn: "{my.dsn_env(db)}" }}'

    def spec(self, table="events", extra=""):
        return ("version: 1\nname: it-multiset\nsystems:\n"
                f"  src: {self.system(self.SRC, self.src_db)}\n  tgt: {self.system(self.TGT, self.tgt_db)}\n"
                "checks:\n"
                f"  - name: {table}\n    source: {{ system: src, table: {table} }}\n"
                f"    target: {{ system: tgt, table: {table} }}\n    match: multiset\n{extra}")

    def target_rows(self):
        pg, my = harness.PG(), harness.MY()
        sql = "SELECT msg, n, count(*) FROM events GROUP BY msg, n ORDER BY n"
        if self.TGT == "pg":
            return pg.psql(self.tgt_db, sql)
        return my.sql(self.tgt_db, sql).replace("NULL", "")

    def apply(self, path):
        pg, my = harness.PG(), harness.MY()
        if self.TGT == "pg":
            p = pg.run_file(self.tgt_db, path)
            return p.returncode, p.stderr
        p = my.run_file(self.tgt_db, path)
        return p.returncode, p.stderr.decode()

    def copies(self, r, kind):
        return sorted((tuple((d["source"] or d["target"]).values()), d["copies"], d["source_copies"],
                       d["target_copies"]) for d in r.diffs if d["kind"] == kind)

    def test_counts_copies(self):
        r = self.tally(self.spec())
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("events")
        self.assertEqual(c["match"], "multiset")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (2, 2, 0))
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (9, 9))
        self.assertEqual(self.copies(r, "missing"), [(("a", 1), 2, 3, 1)])
        self.assertEqual(self.copies(r, "extra"), [(("b", 2), 1, 1, 2), (("d", 5), 1, 0, 1)])
        self.assertIn("copies missing 2, extra 2", r.stdout)
        # Equal multisets: the same rows, duplicates included.
        spec = self.spec().replace("table: events }", 'table: events, where: "n IN (3, 4, 6)" }')
        r = self.tally(spec)
        self.assertEqual(r.code, 0, r.stdout + r.stderr)

    def test_repair_rollback_and_drift(self):
        before = self.target_rows()
        r = self.tally(self.spec())
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("events")
        self.assertEqual(c["repair"]["statements"], {"insert": 2, "update": 0, "delete": 2})
        repair = os.path.join(r.outdir, f"repair.tgt.sql")
        rollback = os.path.join(r.outdir, f"rollback.tgt.sql")
        text = open(repair).read()
        self.assertIn("-- check events: insert 2 copies of rows without a key into", text)
        self.assertIn("-- check events: delete 2 copies of rows without a key from", text)
        # Drift: a copy appeared after the check; the script stops, nothing changes.
        pg, my = harness.PG(), harness.MY()
        if self.TGT == "pg":
            pg.psql(self.tgt_db, "INSERT INTO events VALUES ('b', 2)")
        else:
            my.sql(self.tgt_db, "INSERT INTO events VALUES ('b', 2)")
        drifted = self.target_rows()
        rc, err = self.apply(repair)
        self.assertNotEqual(rc, 0)
        self.assertIn("does not", err)
        self.assertEqual(self.target_rows(), drifted)
        if self.TGT == "pg":
            pg.psql(self.tgt_db, "DELETE FROM events WHERE ctid = (SELECT max(ctid) FROM events WHERE msg = 'b')")
        else:
            my.sql(self.tgt_db, "DELETE FROM events WHERE msg = 'b' LIMIT 1")
        self.assertEqual(self.target_rows(), before)
        # Repair: the multisets are equal; rollback: as before, the same copies found again.
        rc, err = self.apply(repair)
        self.assertEqual(rc, 0, err)
        r2 = self.tally(self.spec(), outdir=os.path.join(self.tmp, "after"))
        self.assertEqual(r2.code, 0, r2.stdout + r2.stderr)
        rc, err = self.apply(rollback)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.target_rows(), before)
        r3 = self.tally(self.spec(), outdir=os.path.join(self.tmp, "undone"))
        self.assertEqual(r3.code, 1)
        self.assertEqual(self.copies(r3, "missing"), self.copies(r, "missing"))
        self.assertEqual(self.copies(r3, "extra"), self.copies(r, "extra"))

    def test_uncompared_column_gets_no_script(self):
        r = self.tally(self.spec("wide", "    columns: [msg, n]\n"))
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("wide")
        self.assertEqual((c["missing"], c["extra"]), (0, 1) if self.TGT == "pg" else (1, 0))
        self.assertEqual(c["repair"]["none"], "match: multiset repairs only tables whose every column is compared")

    def test_key_refused(self):
        r = self.tally(self.spec(extra="    key: [n]\n"))
        self.assertEqual(r.code, 2)
        self.assertIn("match: multiset compares whole rows, without a key", r.stderr)


class MyToPg(MultisetBase, TallyCase):
    SRC, TGT = "my", "pg"


class PgToMy(MultisetBase, TallyCase):
    SRC, TGT = "pg", "my"


if __name__ == "__main__":
    harness.main()
