#!/usr/bin/env python3
"""
tests/integration/test_options.py
  Column options on the real servers, MariaDB (source) -> PostgreSQL
  (target): scale, precision, timezone (one zone, and one per side),
  trim, case, tolerance, map, as text/json/uuid, zero_date, and a renamed
  column. Each check holds rows that the option makes equal (id 1, and id 3
  where a second equal pair helps) and one row that stays different
  (id 2). The test asserts the exact verdicts and the normalization the
  report names, then applies the repair script with psql: the second run
  must be clean, and the repaired values must be the source's exact
  values, converted to the target's type (not the normalized ones).

  Options that do not fit a column are refused before any row is read,
  with exit 2 and FILE:LINE:COLUMN of the option.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC_DB = "tally_it_opts_src"
TGT_DB = "tally_it_opts_tgt"

# check name -> (MariaDB column, PostgreSQL column, [(id, source value, target value)], column entry,
#               normalization the report names, the target value the repair writes for id 2)
CHECKS = {
    "scale": ("DECIMAL(10,4)", "numeric(12,4)", [(1, "1.2345", "1.2300"), (2, "1.2500", "1.2000"),
                                                 (3, "-1.2350", "-1.2400")],
              "{ name: v, scale: 2 }", "scale 2", "1.2500"),
    "precision": ("DATETIME(6)", "timestamp(6)", [(1, "'2024-01-02 03:04:05.999999'", "'2024-01-02 03:04:05'"),
                                                  (2, "'2024-01-02 03:04:06.5'", "'2024-01-02 03:04:05'")],
                  "{ name: v, precision: 0 }", "precision 0", "2024-01-02 03:04:06.5"),
    "tz-one": ("DATETIME", "timestamptz", [(1, "'2024-07-01 12:00:00'", "'2024-07-01 10:00:00+00'"),
                                          (2, "'2024-01-01 12:00:00'", "'2024-01-01 12:00:00+00'"),
                                          (3, "'2024-10-27 02:30:00'", "'2024-10-27 01:30:00+00'")],
               "{ name: v, timezone: Europe/Berlin }", "source in Europe/Berlin", "2024-01-01 11:00:00+00"),
    "tz-sides": ("DATETIME", "timestamp", [(1, "'2024-07-01 12:00:00'", "'2024-07-01 06:00:00'"),
                                           (2, "'2024-01-01 12:00:00'", "'2024-01-01 12:00:00'")],
                 "{ name: v, timezone: { source: Europe/Berlin, target: America/New_York } }",
                 "source in Europe/Berlin, target in America/New_York", "2024-01-01 06:00:00"),
    "trim": ("VARCHAR(20)", "text", [(1, "'  abc  '", "'abc'"), (2, "' abc'", "'abd'")],
             "{ name: v, trim: both }", "trim both", " abc"),
    "case": ("VARCHAR(20)", "text", [(1, "'ÄBC Straße'", "'äbc straße'"), (2, "'Abc'", "'abd'")],
             "{ name: v, case: insensitive }", "case insensitive", "Abc"),
    "tolerance": ("DOUBLE", "double precision", [(1, "1.0", "1.0004"), (2, "1.0", "1.01"), (3, "-5", "-5.0005")],
                  "{ name: v, tolerance: 0.001 }", "tolerance 0.001", "1"),
    "map": ("TINYINT", "text", [(1, "1", "'active'"), (2, "2", "'active'"), (3, "NULL", "NULL")],
            "{ name: v, map: { 1: active, 2: closed } }", "map of 2 values", "closed"),
    "as-json": ("TEXT", "jsonb", [(1, "'{\"b\": 1, \"a\": [1.50, true]}'", "'{\"a\": [1.5, true], \"b\": 1}'"),
                                  (2, "'{\"a\": 1}'", "'{\"a\": 2}'")],
                "{ name: v, as: json }", "as json", '{"a": 1}'),
    "as-text": ("VARCHAR(20)", "integer[]", [(1, "'{1,2,3}'", "'{1,2,3}'"), (2, "'{3,2}'", "'{2,3}'")],
                "{ name: v, as: text }", "as text", "{3,2}"),
    "as-uuid": ("BINARY(16)", "uuid", [(1, "UNHEX('a0eebc999c0b4ef8bb6d6bb9bd380a11')",
                                        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
                                       (2, "UNHEX('a0eebc999c0b4ef8bb6d6bb9bd380a12')",
                                        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'")],
                "{ name: v, as: uuid }", "as uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"),
    "zero-date": ("DATE", "date", [(1, "'0000-00-00'", "NULL"), (2, "'0000-00-00'", "'2024-01-01'"),
                                   (3, "'2024-05-06'", "'2024-05-06'")],
                  "{ name: v, zero_date: null }", "zero dates as NULL", None),
    "renamed": ("INT", "integer", [(1, "7", "7"), (2, "8", "9")], "{ source: v, target: w }", None, "8"),
}


def seed():
    pg, my = harness.PG(), harness.MY()
    my.create_db(SRC_DB)
    pg.create_db(TGT_DB)
    my_sql = "SET SESSION sql_mode = '';\n"
    pg_sql = ""
    for name, (mt, pt, rows, _, _, _) in CHECKS.items():
        table = "t_" + name.replace("-", "_")
        tcol = "w" if name == "renamed" else "v"
        my_sql += f"CREATE TABLE {table} (id INT PRIMARY KEY, v {mt});\n"
        pg_sql += f"CREATE TABLE {table} (id integer PRIMARY KEY, {tcol} {pt});\n"
        for i, sv, tv in rows:
            my_sql += f"INSERT INTO {table} VALUES ({i}, {sv});\n"
            pg_sql += f"INSERT INTO {table} VALUES ({i}, {tv});\n"
    my.sql(SRC_DB, my_sql)
    pg.psql(TGT_DB, pg_sql)


def head():
    pg, my = harness.PG(), harness.MY()
    return ("version: 1\nname: it-options\nsystems:\n"
            f"  legacy: {{ driver: mariadb, dsn: \"{my.dsn_env(SRC_DB)}\" }}\n"
            f"  billing: {{ driver: postgres, dsn: \"{pg.dsn_env(TGT_DB)}\" }}\n"
            "checks:\n")


def check(name, entry, extra=""):
    table = "t_" + name.replace("-", "_")
    return (f"  - name: {name}\n"
            f"    source: {{ system: legacy, table: {table} }}\n"
            f"    target: {{ system: billing, table: {table} }}\n"
            f"    columns:\n      - {entry}\n{extra}")


def spec():
    return head() + "".join(check(n, c[3]) for n, c in CHECKS.items())


class Options(TallyCase):
    @classmethod
    def setUpClass(cls):
        seed()
        case = TallyCase()
        case.setUp()
        cls.case = case
        cls.first = case.tally(spec(), outdir=os.path.join(case.tmp, "first"))
        path = os.path.join(cls.first.outdir, "repair.billing.sql")
        cls.applied = harness.PG().run_file(TGT_DB, path) if os.path.exists(path) else None
        cls.second = case.tally(spec(), outdir=os.path.join(case.tmp, "second"))

    @classmethod
    def tearDownClass(cls):
        cls.case.tearDown()
        harness.MY().drop_db(SRC_DB)
        harness.PG().drop_db(TGT_DB)

    def test_run_and_repair(self):
        self.assertEqual(self.first.code, 1, self.first.stderr)
        self.assertIsNotNone(self.applied, "no repair script")
        self.assertEqual(self.applied.returncode, 0, self.applied.stderr)
        self.assertEqual(self.second.code, 0, self.second.stdout + self.second.stderr)

    def refused(self, entry, words, column_type=None, extra=""):
        r = self.tally(head() + check("scale", entry, extra))
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        for w in words:
            self.assertIn(w, r.stderr)
        self.assertFalse(r.diff_exists)

    # Options that do not fit: refused at the option, before any row is read.
    def test_refuses_scale_on_text(self):
        self.refused("{ source: v, target: v, trim: right }",
                     ["spec.yaml:11:33: column 'v': option 'trim' applies to text columns, not to one compared as number"])

    def test_refuses_tolerance_on_decimal(self):
        r = self.tally(head() + check("scale", "{ name: v, tolerance: 0.5 }"))
        self.assertEqual(r.code, 2)
        self.assertIn("spec.yaml:11:20: column 'v': option 'tolerance' applies to floating-point columns, "
                      "not to one compared as number", r.stderr)
        self.assertIn("hint: round decimals with scale: N", r.stderr)

    def test_refuses_timezone_on_two_instants_and_unknown_zone(self):
        self.refused("{ name: v, timezone: Mars/Olympus }",
                     ["spec.yaml:11:20: column 'v': timezone applies to timestamp columns, not decimal in source"])
        r = self.tally(head() + check("tz-one", "{ name: v, timezone: Mars/Olympus }"))
        self.assertEqual(r.code, 2)
        self.assertIn("spec.yaml:11:20: column 'v': unknown time zone 'Mars/Olympus'", r.stderr)
        r = self.tally(head() + check("tz-sides", "{ name: v, timezone: UTC }"))
        self.assertEqual(r.code, 2)
        self.assertIn("both sides are timestamps without time zone", r.stderr)
        self.assertIn("timezone: { source: Europe/Berlin, target: UTC }", r.stderr)

    def test_refuses_as_json_on_numbers_and_bad_map(self):
        self.refused("{ name: v, as: json }", ["spec.yaml:11:20: column 'v': as: json reads json, text and "
                                               "array columns, not decimal in source (decimal(10,4))"])
        r = self.tally(head() + check("map", "{ name: v, map: { one: active } }"))
        self.assertEqual(r.code, 2)
        self.assertIn("spec.yaml:11:27: column 'v': map entry 'one' is not a valid number, as source column "
                      "tinyint(4) reads it", r.stderr)

    def test_refuses_options_on_a_key(self):
        r = self.tally(head() + check("scale", "{ name: id, scale: 0 }"))
        self.assertEqual(r.code, 2)
        self.assertIn("spec.yaml:11:21: column 'id' is a key column: normalization options apply to compared "
                      "columns only", r.stderr)

    def test_map_with_repair_source_is_refused(self):
        r = self.tally(head() + check("map", "{ name: v, map: { 1: active } }", "    repair: source\n"))
        self.assertEqual(r.code, 2)
        self.assertIn("map translates source values into target values", r.stderr)

    def test_unmapped_value_is_a_difference_and_cannot_be_written(self):
        pg, my = harness.PG(), harness.MY()
        my.sql(SRC_DB, "CREATE TABLE t_unmapped (id INT PRIMARY KEY, v TINYINT);"
                       "INSERT INTO t_unmapped VALUES (1, 1), (2, 9);")
        pg.psql(TGT_DB, "CREATE TABLE t_unmapped (id integer PRIMARY KEY, v text);"
                        "INSERT INTO t_unmapped VALUES (1, 'active'), (2, '9');")
        try:
            r = self.tally(head() + check("unmapped", "{ name: v, map: { 1: active } }"))
            self.assertEqual(r.code, 1, r.stderr)
            self.assertEqual(r.keys("unmapped", "changed"), [2])
            rep = r.check("unmapped")["repair"]
            self.assertTrue(rep["failed"])
            self.assertIn("column 'v' of public.t_unmapped: a value cannot be converted", r.stdout + r.stderr)
        finally:
            my.sql(SRC_DB, "DROP TABLE t_unmapped")
            pg.psql(TGT_DB, "DROP TABLE t_unmapped")

    # options: sets options on columns of the default list without narrowing it (issue 11).
    def wide(self, body):
        pg, my = harness.PG(), harness.MY()
        my.sql(SRC_DB, "CREATE TABLE t_wide (id INT PRIMARY KEY, v DECIMAL(10,4), w INT, z VARCHAR(10));"
                       "INSERT INTO t_wide VALUES (1, 1.2345, 7, 'a '), (2, 1.2500, 8, 'b'), (3, 2.0000, 9, 'c');")
        pg.psql(TGT_DB, "CREATE TABLE t_wide (id integer PRIMARY KEY, v numeric(12,4), w integer, z text);"
                        "INSERT INTO t_wide VALUES (1, 1.2300, 7, 'a'), (2, 1.2000, 8, 'b'), (3, 2, 10, 'c');")
        try:
            return self.tally(head() + "  - name: wide\n    source: { system: legacy, table: t_wide }\n"
                              "    target: { system: billing, table: t_wide }\n" + body)
        finally:
            my.sql(SRC_DB, "DROP TABLE t_wide")
            pg.psql(TGT_DB, "DROP TABLE t_wide")

    def test_options_do_not_narrow_the_default_columns(self):
        r = self.wide("    options:\n      v: { scale: 2 }\n      z: { trim: right }\n")
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        c = r.check("wide")
        self.assertEqual([(col["source"], col["normalization"]) for col in c["columns"]],
                         [("v", "scale 2"), ("w", None), ("z", "trim right")])
        self.assertIsNone(c["columns_left_out"])
        self.assertEqual(r.keys("wide", "changed"), [2, 3])
        self.assertEqual(r.changed_columns("wide"), {"[2]": ["v"], "[3]": ["w"]})
        self.assertNotIn("leaves out", r.stdout)

    def test_options_with_columns_apply_to_listed_and_count_the_rest(self):
        r = self.wide("    columns: [v]\n    options:\n      v: { scale: 2 }\n")
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        c = r.check("wide")
        self.assertEqual([(col["source"], col["normalization"]) for col in c["columns"]], [("v", "scale 2")])
        self.assertEqual(c["columns_left_out"], 2)
        self.assertEqual(r.keys("wide", "changed"), [2])
        self.assertIn("(columns: leaves out 2 columns present on both sides; options: sets options without "
                      "narrowing)", r.stdout)
        r = self.wide("    columns: [v, w, z]\n")
        self.assertEqual(r.check("wide")["columns_left_out"], 0)
        self.assertNotIn("leaves out", r.stdout)

    def test_options_on_a_column_not_compared_is_an_error(self):
        r = self.wide("    options:\n      nope: { scale: 2 }\n")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("spec.yaml:11:7: column 'nope' does not exist in source", r.stderr)
        r = self.wide("    options:\n      id: { scale: 2 }\n")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("spec.yaml:11:7: column 'id' is a key column: normalization options apply to compared "
                      "columns only", r.stderr)
        r = self.wide("    ignore: [w]\n    options:\n      w: { scale: 2 }\n")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("spec.yaml:12:7: options: column 'w' is ignored, so it is not compared", r.stderr)
        r = self.wide("    columns: [v]\n    options:\n      w: { scale: 2 }\n")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("spec.yaml:12:7: options.w: column 'w' is not compared: with columns: given, options "
                      "apply to the columns it lists", r.stderr)
        r = self.wide("    options:\n      z: { scale: 2 }\n")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("column 'z': option 'scale' applies to", r.stderr)


def make_test(name, normalization, written):
    def test(self):
        r = self.first
        c = r.check(name)
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (0, 0, 1), c)
        self.assertEqual(r.keys(name, "changed"), [2])
        self.assertEqual(c["columns"][0]["normalization"], normalization)
        self.assertEqual(self.second.check(name)["status"], "consistent")
        table = "t_" + name.replace("-", "_")
        col = "w" if name == "renamed" else "v"
        got = harness.PG().psql(TGT_DB, f"SET TimeZone = 'UTC'; SELECT {col} FROM {table} WHERE id = 2")
        got = got.rstrip("\n")
        self.assertEqual(got, written if written is not None else "")
    return test


for _n, _c in CHECKS.items():
    setattr(Options, f"test_option_{_n.replace('-', '_')}", make_test(_n, _c[4], _c[5]))


if __name__ == "__main__":
    harness.main()
