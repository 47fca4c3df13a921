#!/usr/bin/env python3
"""
tests/integration/test_meaning.py
  Issue 11 on the real servers: values compared by what they mean across a
  migration, MariaDB (source) -> PostgreSQL (target). `driver: mysql` names
  the MariaDB connector (tested against the MariaDB server: there is no
  MySQL server here). Exact verdicts, keys and messages.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC_DB = "tally_it_meaning_src"
TGT_DB = "tally_it_meaning_tgt"


def seed():
    pg, my = harness.PG(), harness.MY()
    my.create_db(SRC_DB)
    pg.create_db(TGT_DB)
    my.sql(SRC_DB, "CREATE TABLE plain (id INT PRIMARY KEY, v INT);"
                   "INSERT INTO plain VALUES (1, 10), (2, 20);")
    pg.psql(TGT_DB, "CREATE TABLE plain (id integer PRIMARY KEY, v integer);"
                    "INSERT INTO plain VALUES (1, 10), (2, 21);")
    # MariaDB TIMESTAMP (an instant, read in UTC) against PostgreSQL timestamp in Berlin local time,
    # with a fold (2024-10-27 02:30 happened twice: the later, +01) and a summer and a winter time.
    my.sql(SRC_DB, "CREATE TABLE stamps (id INT PRIMARY KEY, v TIMESTAMP NULL, d DATE);"
                   "SET time_zone = '+00:00';"
                   "INSERT INTO stamps VALUES (1, '2024-07-01 10:00:00', '2024-07-01'),"
                   " (2, '2024-01-01 11:00:00', '2024-01-01'), (3, '2024-10-27 01:30:00', '2024-10-27');")
    pg.psql(TGT_DB, "CREATE TABLE stamps (id integer PRIMARY KEY, v timestamp, d timestamptz);"
                    "INSERT INTO stamps VALUES (1, '2024-07-01 12:00:00', '2024-06-30 22:00:00+00'),"
                    " (2, '2024-01-01 12:00:00', '2023-12-31 23:00:00+00'),"
                    " (3, '2024-10-27 02:30:00', '2024-10-26 22:00:00+00');")


def head(driver="mariadb", systems_extra=("", "")):
    pg, my = harness.PG(), harness.MY()
    return ("version: 1\nname: it-meaning\nsystems:\n"
            f"  legacy: {{ driver: {driver}, dsn: \"{my.dsn_env(SRC_DB)}\"{systems_extra[0]} }}\n"
            f"  billing: {{ driver: postgres, dsn: \"{pg.dsn_env(TGT_DB)}\"{systems_extra[1]} }}\n"
            "checks:\n")


def check(name, table, extra=""):
    return (f"  - name: {name}\n"
            f"    source: {{ system: legacy, table: {table} }}\n"
            f"    target: {{ system: billing, table: {table} }}\n{extra}")


class Meaning(TallyCase):
    @classmethod
    def setUpClass(cls):
        seed()

    @classmethod
    def tearDownClass(cls):
        harness.MY().drop_db(SRC_DB)
        harness.PG().drop_db(TGT_DB)

    # Point 8: driver: mysql is the MariaDB connector, with either scheme.
    def test_driver_mysql(self):
        spec = head("mysql") + check("plain", "plain")
        r = self.tally(spec)
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        self.assertEqual(r.keys("plain", "changed"), [2])
        r = self.tally(spec.replace("mariadb://", "mysql://"))
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        self.assertEqual(r.keys("plain", "changed"), [2])

    # Point 4: systems.NAME.timezone is the zone of that system's naive values wherever they meet
    # an instant, in every check; a column's option wins.
    def test_system_zone_makes_naive_and_instant_comparable(self):
        r = self.tally(head(systems_extra=(", timezone: Europe/Berlin", ", timezone: Europe/Berlin"))
                       + check("stamps", "stamps"))
        self.assertEqual(r.code, 0, r.stdout + r.stderr)
        c = r.check("stamps")
        self.assertEqual((c["source"]["rows"], c["missing"], c["extra"], c["changed"]), (3, 0, 0, 0))
        self.assertEqual([(col["source"], col["normalization"], col["compared_as"]) for col in c["columns"]],
                         [("v", "target in Europe/Berlin (system billing)", "timestamptz"),
                          ("d", "source in Europe/Berlin (system legacy)", "timestamptz")])

    def test_column_option_wins_over_the_system_zone(self):
        # The system says Berlin, the column says UTC: v then differs on every row, d (no option) not.
        r = self.tally(head(systems_extra=(", timezone: Europe/Berlin", ", timezone: Europe/Berlin"))
                       + check("stamps", "stamps", "    columns:\n      - { name: v, timezone: UTC }\n"
                               "      - d\n"))
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        self.assertEqual(r.keys("stamps", "changed"), [1, 2, 3])
        self.assertEqual(set(map(tuple, r.changed_columns("stamps").values())), {("v",)})
        c = r.check("stamps")
        self.assertEqual([(col["source"], col["normalization"], col["compared_as"]) for col in c["columns"]],
                         [("v", "target in UTC", "timestamptz"),
                          ("d", "source in Europe/Berlin (system legacy)", "timestamptz")])

    def test_zone_of_the_other_system_does_not_apply(self):
        # billing's v is naive: legacy's zone says nothing about it.
        r = self.tally(head(systems_extra=(", timezone: Europe/Berlin", "")) + check("stamps", "stamps"))
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("column cannot be compared: timestamptz in source (timestamp) and timestamp in target "
                      "(timestamp without time zone)", r.stderr)

    def test_refusal_names_both_ways_out(self):
        r = self.tally(head() + check("stamps", "stamps"))
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("a timestamp without time zone is not an instant, so it cannot equal one", r.stderr)
        self.assertIn("say in which zone the target side's values are local time: the column option "
                      "`timezone: Europe/Berlin`, or `timezone: Europe/Berlin` on its system "
                      "(systems.NAME.timezone) for every check", r.stderr)
        self.assertFalse(r.diff_exists)

    def test_unknown_system_zone_is_a_spec_error(self):
        r = self.tally(head(systems_extra=("", ", timezone: Mars/Olympus")) + check("stamps", "stamps"))
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertIn("spec.yaml:5:", r.stderr)
        self.assertIn("systems.billing.timezone: unknown time zone 'Mars/Olympus'", r.stderr)


if __name__ == "__main__":
    harness.main()
