#!/usr/bin/env python3
"""
tests/integration/test_compare.py
  tally check end to end on the real servers, for PostgreSQL -> PostgreSQL,
  MariaDB -> MariaDB, MariaDB -> PostgreSQL and PostgreSQL -> MariaDB:
  seeded tables with a known set of differences (scenario.py), and each
  test asserts the exact counts, keys and columns tally reports.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import scenario  # noqa: E402
from harness import TallyCase  # noqa: E402


class Servers:
    pg = None
    my = None

    @classmethod
    def get(cls):
        if cls.pg is None:
            cls.pg = harness.PG()
            cls.my = harness.MY()
        return cls.pg, cls.my


def seed(engine, db, side):
    pg, my = Servers.get()
    if engine == "pg":
        pg.create_db(db)
        pg.psql(db, scenario.seed_sql("pg", side))
    else:
        my.create_db(db)
        my.sql(db, scenario.seed_sql("my", side))


def drop(engine, db):
    pg, my = Servers.get()
    (pg if engine == "pg" else my).drop_db(db)


def system(engine, db):
    pg, my = Servers.get()
    if engine == "pg":
        return f'{{ driver: postgres, dsn: "{pg.dsn_env(db)}" }}'
    return f'{{ driver: mariadb, dsn: "{my.dsn_env(db)}" }}'


SPEC = """version: 1
name: it-compare
reason: "integration test"
systems:
  src: {src}
  tgt: {tgt}
checks:
  - name: orders
    source: {{ system: src, table: orders }}
    target: {{ system: tgt, table: orders }}
  - name: codes
    source: {{ system: src, table: codes }}
    target: {{ system: tgt, table: codes }}
  - name: stock
    source: {{ system: src, table: stock }}
    target: {{ system: tgt, table: stock }}
  - name: events
    source: {{ system: src, table: events }}
    target: {{ system: tgt, table: events }}
  - name: same
    source: {{ system: src, table: same_orders }}
    target: {{ system: tgt, table: same_orders }}
"""


class CompareBase:
    """The scenario between two engines; subclasses set SRC and TGT."""

    SRC = TGT = None
    result = None

    @classmethod
    def setUpClass(cls):
        tag = f"{cls.SRC}_{cls.TGT}"
        cls.src_db = f"tally_it_cmp_{tag}_src"
        cls.tgt_db = f"tally_it_cmp_{tag}_tgt"
        seed(cls.SRC, cls.src_db, "source")
        seed(cls.TGT, cls.tgt_db, "target")
        cls.spec = SPEC.format(src=system(cls.SRC, cls.src_db), tgt=system(cls.TGT, cls.tgt_db))

    @classmethod
    def tearDownClass(cls):
        drop(cls.SRC, cls.src_db)
        drop(cls.TGT, cls.tgt_db)

    def run_all(self, fresh=False):
        """Runs every check once per class (results are parsed, files are not kept)."""
        cls = type(self)
        if fresh or cls.result is None:
            r = self.tally(self.spec)
            self.assertEqual(r.code, 1, r.stderr)
            self.assertEqual(r.report["status"], "inconsistent")
            if fresh:
                return r
            cls.result = r
        return cls.result

    def test_orders(self):
        r = self.run_all()
        c = r.check("orders")
        self.assertEqual((c["missing"], c["extra"], c["changed"]),
                         (len(scenario.ORDERS_MISSING), len(scenario.ORDERS_EXTRA),
                          len(scenario.ORDERS_CHANGED)))
        self.assertEqual(c["source"]["rows"], scenario.N_ORDERS)
        self.assertEqual(c["target"]["rows"], scenario.N_ORDERS - 3 + 2)
        self.assertEqual(r.keys("orders", "missing"), scenario.ORDERS_MISSING)
        self.assertEqual(r.keys("orders", "extra"), scenario.ORDERS_EXTRA)
        self.assertEqual(r.keys("orders", "changed"), sorted(scenario.ORDERS_CHANGED))
        got = {int(k.strip("[]")): v for k, v in r.changed_columns("orders").items()}
        self.assertEqual(got, scenario.ORDERS_CHANGED)
        self.assertEqual(c["status"], "inconsistent")
        self.assertEqual(c["key"], ["id"])
        self.assertEqual([col["source"] for col in c["columns"]],
                         ["customer", "amount", "status", "created_at", "paid", "note", "ref", "payload"])

    def test_orders_diff_values(self):
        r = self.run_all()
        by_key = {(d["kind"], d["key"]["id"]): d for d in r.diffs if d["check"] == "orders"}
        d = by_key[("changed", 100)]
        self.assertEqual(d["source"], {"note": None})
        self.assertEqual(d["target"], {"note": ""})
        d = by_key[("changed", 602)]
        self.assertEqual(d["source"], {"customer": "Zoë"})
        self.assertEqual(d["target"], {"customer": "Zoe"})
        d = by_key[("changed", 400)]
        self.assertEqual(d["source"], {"payload": "\\x" + bytes([400 % 256, 0, 0x5C, 0x27, (400 * 13) % 256]).hex()})
        self.assertEqual(d["target"], {"payload": "\\x" + b"\x00changed".hex()})
        d = by_key[("missing", 17)]
        self.assertIsNone(d["target"])
        self.assertEqual(d["columns"], [])
        self.assertEqual(d["source"]["customer"], scenario.order_row(17)["customer"])
        self.assertEqual(d["source"]["paid"], scenario.order_row(17)["paid"])
        d = by_key[("extra", 3002)]
        self.assertIsNone(d["source"])
        self.assertEqual(d["target"]["status"], scenario.order_row(3002)["status"])

    def test_text_keys_bytewise(self):
        r = self.run_all()
        c = r.check("codes")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (2, 2, 3))
        self.assertEqual(sorted(r.keys("codes", "missing")), sorted(scenario.TEXT_MISSING))
        self.assertEqual(sorted(r.keys("codes", "extra")), sorted(scenario.TEXT_EXTRA))
        self.assertEqual(sorted(r.keys("codes", "changed")), sorted(scenario.TEXT_CHANGED))
        # Diff lines come in bytewise key order.
        order = [d["key"]["code"] for d in r.diffs if d["check"] == "codes"]
        self.assertEqual(order, sorted(order, key=lambda k: k.encode()))
        self.assertEqual(c["source"]["rows"], len(scenario.TEXT_KEYS))

    def test_composite_keys(self):
        r = self.run_all()
        c = r.check("stock")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (1, 1, 1))
        self.assertEqual(c["key"], ["region", "seq"])
        self.assertEqual(r.keys("stock", "missing"), scenario.COMPOSITE_MISSING)
        self.assertEqual(r.keys("stock", "extra"), scenario.COMPOSITE_EXTRA)
        self.assertEqual(r.keys("stock", "changed"), scenario.COMPOSITE_CHANGED)
        self.assertEqual(r.changed_columns("stock"), {'["ap", 2]': ["qty"]})

    def test_empty_target(self):
        r = self.run_all()
        c = r.check("events")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (10, 0, 0))
        self.assertEqual(c["target"]["rows"], 0)
        self.assertEqual(r.keys("events", "missing"), list(range(1, 11)))

    def test_identical_tables_exit_0(self):
        r = self.tally(self.spec, "--check", "same")
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(r.report["status"], "consistent")
        c = r.check("same")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (0, 0, 0))
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (1000, 1000))
        self.assertEqual(r.diffs, [])
        self.assertEqual(len(r.report["checks"]), 1)
        self.assertRegex(r.stdout, r"same\s+consistent")

    def test_summary_and_files(self):
        r = self.run_all(fresh=True)
        self.assertRegex(r.stdout, r"orders\s+inconsistent\s+missing 3, extra 2, changed 10")
        self.assertIn(os.path.join(r.outdir, "report.json"), r.stdout)
        self.assertEqual(len(r.diffs), 15 + 7 + 3 + 10)
        self.assertEqual(os.stat(r.outdir).st_mode & 0o777, 0o700)
        for f in ("report.json", "report.html", "diff.ndjson.zst", "repair.tgt.sql", "rollback.tgt.sql"):
            self.assertEqual(os.stat(os.path.join(r.outdir, f)).st_mode & 0o777, 0o600)
        self.assertEqual(sorted(os.listdir(r.outdir)),
                         ["change-order.md", "diff.ndjson.zst", "repair.tgt.sql", "report.html", "report.json",
                          "rollback.tgt.sql"])
        pg, my = Servers.get()
        self.assertNoSecret(r, pg.user_pw, my.user_pw)


class PgToPg(CompareBase, TallyCase):
    SRC, TGT = "pg", "pg"


class MyToMy(CompareBase, TallyCase):
    SRC, TGT = "my", "my"


class MyToPg(CompareBase, TallyCase):
    SRC, TGT = "my", "pg"


class PgToMy(CompareBase, TallyCase):
    SRC, TGT = "pg", "my"


if __name__ == "__main__":
    harness.main()
