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


if __name__ == "__main__":
    harness.main()
