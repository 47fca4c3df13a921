#!/usr/bin/env python3
"""
tests/integration/test_nullkeys.py
  Keys with NULL in them, on the real servers, PostgreSQL and MariaDB
  each way: a nullable unique key matches NULL only to NULL, like any
  other value. A single-column key and a composite key whose second
  column is nullable, with NULL-key rows that differ, are missing and are
  extra: exact verdicts, the repair applied with the real client, a clean
  second check, the rollback back to the before-state byte for byte, and
  drift on a NULL-key row stopping the script with nothing changed. Two
  rows whose key is NULL on one side stop the run, naming the column.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import test_repair  # noqa: E402  (reused: dumps, the operator's apply, systems)
from harness import TallyCase  # noqa: E402

N_SINGLE = 2500     # more rows than chunk_rows: a nullable key must still be read as one range


def single_rows(side):
    """k int UNIQUE (nullable), v: NULL changed, 2 missing, 3 changed, 2501 extra."""
    rows = [(None, "null " + side)]
    for k in range(1, N_SINGLE + 1):
        if side == "target" and k == 2:
            continue
        rows.append((k, f"v{k}" + ("!" if side == "target" and k == 3 else "")))
    if side == "target":
        rows.append((N_SINGLE + 1, "extra"))
    return rows


def pair_rows(side):
    """(a NOT NULL, b nullable) UNIQUE: (1,NULL) changed, (2,NULL) missing, (4,NULL) extra."""
    if side == "source":
        return [(1, None, "x"), (2, None, "y"), (1, "p", "z"), (3, "q", "w")]
    return [(1, None, "X"), (1, "p", "z"), (3, "q", "w"), (4, None, "e")]


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + v.replace("'", "''") + "'"


def values(rows):
    return ",\n".join("(" + ", ".join(lit(x) for x in r) + ")" for r in rows)


DDL = {
    "pg": ("CREATE TABLE single (k int UNIQUE, v text);\n"
           "CREATE TABLE pair (a int NOT NULL, b varchar(10), v text, UNIQUE (a, b));\n"
           "CREATE TABLE dup (k int UNIQUE, v text);\n"
           "CREATE TABLE dup2 (a int NOT NULL, b varchar(10), UNIQUE (a, b));\n"),
    "my": ("CREATE TABLE single (k INT UNIQUE, v TEXT);\n"
           "CREATE TABLE pair (a INT NOT NULL, b VARCHAR(10), v TEXT, UNIQUE (a, b));\n"
           "CREATE TABLE dup (k INT UNIQUE, v TEXT);\n"
           "CREATE TABLE dup2 (a INT NOT NULL, b VARCHAR(10), UNIQUE (a, b));\n"),
}


def seed(side):
    sql = (f"INSERT INTO single VALUES\n{values(single_rows(side))};\n"
           f"INSERT INTO pair VALUES\n{values(pair_rows(side))};\n")
    # The target's key column is NOT NULL: the source's NULL key cannot be inserted.
    sql += (f"CREATE TABLE strict (k INT {'NOT NULL ' if side == 'target' else ''}UNIQUE, v TEXT);\n"
            f"INSERT INTO strict VALUES {'(NULL, ' + lit('n') + '), ' if side == 'source' else ''}(1, 'a');\n")
    if side == "source":
        # Two NULL keys: a unique index allows them, a key cannot tell them apart.
        sql += ("INSERT INTO dup VALUES (1, 'a'), (NULL, 'b'), (NULL, 'c');\n"
                "INSERT INTO dup2 VALUES (1, 'x'), (1, NULL), (1, NULL);\n")
    return sql


TABLES = ["single", "pair"]


class NullKeys:
    SRC = TGT = None

    @classmethod
    def setUpClass(cls):
        pg, my = test_repair.servers()
        cls.src_db, cls.tgt_db = f"tally_it_nk_{cls.SRC}{cls.TGT}_src", f"tally_it_nk_{cls.SRC}{cls.TGT}_tgt"
        for engine, db, side in ((cls.SRC, cls.src_db, "source"), (cls.TGT, cls.tgt_db, "target")):
            if engine == "pg":
                pg.create_db(db)
                pg.psql(db, DDL["pg"] + seed(side))
            else:
                my.create_db(db)
                my.sql(db, DDL["my"] + seed(side))
        cls.spec = (f"version: 1\nname: it-nullkeys\nsystems:\n"
                    f"  src: {test_repair.system(cls.SRC, cls.src_db)}\n"
                    f"  tgt: {test_repair.system(cls.TGT, cls.tgt_db)}\nchecks:\n"
                    "  - name: single\n    source: { system: src, table: single }\n"
                    "    target: { system: tgt, table: single }\n    key: [k]\n    chunk_rows: 1000\n"
                    "  - name: pair\n    source: { system: src, table: pair }\n"
                    "    target: { system: tgt, table: pair }\n    key: [a, b]\n"
                    "  - name: strict\n    source: { system: src, table: strict }\n"
                    "    target: { system: tgt, table: strict }\n    key: [k]\n"
                    "  - name: dup\n    source: { system: src, table: dup }\n"
                    "    target: { system: tgt, table: dup }\n    key: [k]\n"
                    "  - name: dup2\n    source: { system: src, table: dup2 }\n"
                    "    target: { system: tgt, table: dup2 }\n    key: [a, b]\n")

    @classmethod
    def tearDownClass(cls):
        pg, my = test_repair.servers()
        for engine, db in ((cls.SRC, cls.src_db), (cls.TGT, cls.tgt_db)):
            (pg if engine == "pg" else my).drop_db(db)

    def run_checks(self):
        return self.tally(self.spec, "--check", "single", "--check", "pair")

    def dump(self):
        return (test_repair.dump_pg if self.TGT == "pg" else test_repair.dump_my)(self.tgt_db, TABLES)

    def target_sql(self, sql):
        pg, my = test_repair.servers()
        (pg.psql if self.TGT == "pg" else my.sql)(self.tgt_db, sql)

    def saved_scripts(self, r):
        saved = os.path.join(self.tmp, "saved")
        os.makedirs(saved, exist_ok=True)
        for f in ("repair.tgt.sql", "rollback.tgt.sql"):
            os.replace(os.path.join(r.outdir, f), os.path.join(saved, f))
        return os.path.join(saved, "repair.tgt.sql"), os.path.join(saved, "rollback.tgt.sql")

    def assert_verdicts(self, r):
        s, p = r.check("single"), r.check("pair")
        self.assertEqual((s["missing"], s["extra"], s["changed"]), (1, 1, 2))
        self.assertEqual((s["source"]["rows"], s["target"]["rows"]), (N_SINGLE + 1, N_SINGLE + 1))
        # NULL sorts first in tally's key order.
        self.assertEqual(r.keys("single", "changed"), [None, 3])
        self.assertEqual(r.keys("single", "missing"), [2])
        self.assertEqual(r.keys("single", "extra"), [N_SINGLE + 1])
        self.assertEqual(r.changed_columns("single"), {"[null]": ["v"], "[3]": ["v"]})
        # Ranges would leave NULL keys out: a nullable key is read as one range.
        self.assertEqual(s["chunks"]["total"], 1)
        self.assertEqual((p["missing"], p["extra"], p["changed"]), (1, 1, 1))
        self.assertEqual(r.keys("pair", "changed"), [(1, None)])
        self.assertEqual(r.keys("pair", "missing"), [(2, None)])
        self.assertEqual(r.keys("pair", "extra"), [(4, None)])

    def test_round_trip(self):
        before = self.dump()
        r1 = self.run_checks()
        self.assertEqual(r1.code, 1, r1.stderr)
        self.assert_verdicts(r1)
        self.assertEqual(r1.check("single")["repair"]["statements"], {"insert": 1, "update": 2, "delete": 1})
        self.assertEqual(r1.check("pair")["repair"]["statements"], {"insert": 1, "update": 1, "delete": 1})
        repair, rollback = self.saved_scripts(r1)

        code, err = test_repair.apply(self.TGT, self.tgt_db, repair)
        self.assertEqual(code, 0, err)
        r2 = self.run_checks()
        self.assertEqual(r2.code, 0, r2.stdout + r2.stderr)
        for c in r2.report["checks"]:
            self.assertEqual((c["missing"], c["extra"], c["changed"]), (0, 0, 0), c["name"])

        code, err = test_repair.apply(self.TGT, self.tgt_db, rollback)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.dump(), before)
        r3 = self.run_checks()
        self.assertEqual(r3.code, 1)
        self.assertEqual(r3.diffs, r1.diffs)

    def test_drift_on_a_null_key_stops_the_script(self):
        r = self.run_checks()
        self.assertEqual(r.code, 1, r.stderr)
        repair, _ = self.saved_scripts(r)
        self.target_sql("UPDATE single SET v = 'changed meanwhile' WHERE k IS NULL")
        try:
            before = self.dump()
            code, err = test_repair.apply(self.TGT, self.tgt_db, repair)
            self.assertNotEqual(code, 0)
            self.assertIn("tally: check single", err)
            self.assertIn("k=NULL", err)
            self.assertEqual(self.dump(), before)
        finally:
            self.target_sql("UPDATE single SET v = 'null target' WHERE k IS NULL")

    def test_a_null_key_that_appeared_stops_the_insert(self):
        r = self.run_checks()
        self.assertEqual(r.code, 1, r.stderr)
        repair, _ = self.saved_scripts(r)
        self.target_sql("INSERT INTO pair VALUES (2, NULL, 'appeared meanwhile')")
        try:
            before = self.dump()
            code, err = test_repair.apply(self.TGT, self.tgt_db, repair)
            self.assertNotEqual(code, 0)
            self.assertIn("tally: check pair", err)
            self.assertIn("a='2', b=NULL", err)
            self.assertIn("already exists", err)
            self.assertEqual(self.dump(), before)
        finally:
            self.target_sql("DELETE FROM pair WHERE a = 2")

    def test_no_script_writes_null_into_a_not_null_key(self):
        r = self.tally(self.spec, "--check", "strict")
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        c = r.check("strict")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (1, 0, 0))
        self.assertEqual(r.keys("strict", "missing"), [None])
        self.assertTrue(c["repair"]["failed"])
        self.assertIn("column 'k' of ", c["repair"]["none"])
        self.assertIn(" is NOT NULL and the value to write is NULL", c["repair"]["none"])
        self.assertFalse(os.path.exists(os.path.join(r.outdir, "repair.tgt.sql")))

    def test_two_null_keys_are_refused(self):
        r = self.tally(self.spec, "--check", "dup")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("source returned a duplicate key at row 2: key column 'k' is NULL in more than one row\n",
                      r.stderr)
        self.assertIn("hint: choose key columns that are NOT NULL on the source side, or leave these rows out "
                      "with a where\n", r.stderr)
        self.assertEqual(r.report["status"], "error")
        self.assertFalse(r.diff_exists)
        r = self.tally(self.spec, "--check", "dup2")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("source returned a duplicate key at row 2: key column 'b' is NULL in more than one row\n",
                      r.stderr)
        # A snapshot of that side says the same.
        spec = self.write_spec(self.spec, "snap.yaml")
        out = os.path.join(self.tmp, "dup.tally")
        p = harness.subprocess.run([harness.tally_bin(), "snapshot", spec, "--check", "dup", "--side", "source",
                                    "-o", out], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, r"source \S+\.dup has a duplicate key at row 2: key column 'k' is NULL in "
                                   r"more than one row\n")
        self.assertFalse(os.path.exists(out))


class PgToPg(NullKeys, TallyCase):
    SRC, TGT = "pg", "pg"


class MyToMy(NullKeys, TallyCase):
    SRC, TGT = "my", "my"


class MyToPg(NullKeys, TallyCase):
    SRC, TGT = "my", "pg"


class PgToMy(NullKeys, TallyCase):
    SRC, TGT = "pg", "my"


if __name__ == "__main__":
    harness.main()
