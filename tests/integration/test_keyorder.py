#!/usr/bin/env python3
"""
tests/integration/test_keyorder.py
  Chunked checks whose two servers order the key differently, on the real
  servers: a chunk is (b[i-1], b[i]] in each server's own order, so the
  boundaries must increase in both orders or a side's chunks overlap.
  tally has each server rank the boundaries and keeps those that increase
  on both sides. Keys: PostgreSQL uuid (bytewise) against MariaDB UUID
  (ordered by swapped segments for time-based uuids), and text under
  PostgreSQL's ICU collation, MariaDB's utf8mb4_general_ci and "C", with
  case, accents and punctuation that each orders its own way.

  The expected verdict is computed here from what each server holds (set
  differences of the keys' bytes), and the repair scripts, applied, make
  the tables equal.
"""
import json
import os
import random
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

DB = {"pg": "tally_it_keyorder_pg", "my": "tally_it_keyorder_my"}
CHUNK = 150


def uuids():
    rnd = random.Random(11)
    v1 = [str(uuid.UUID(fields=(rnd.getrandbits(32), rnd.getrandbits(16), 0x1000 | rnd.getrandbits(12),
                                0x80 | rnd.getrandbits(6), rnd.getrandbits(8), rnd.getrandbits(48))))
          for _ in range(900)]
    v4 = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(900)]
    keys = v1 + v4
    other = list(keys)
    rnd.shuffle(other)
    gone = set(other[:7])
    extra = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(5)]
    return keys, [k for k in keys if k not in gone] + extra


def words():
    rnd = random.Random(5)
    alphabet = "abcABCxyzäÄöé-_. '"
    out = set()
    while len(out) < 2500:
        out.add("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6))).strip() or "z")
    keys = sorted(out)
    rnd.shuffle(keys)
    return keys


def lit(s):
    return "'" + s.replace("'", "''") + "'"


class KeyOrder(TallyCase):
    @classmethod
    def setUpClass(cls):
        cls.pg, cls.my = harness.PG(), harness.MY()
        cls.pg.create_db(DB["pg"])
        cls.my.create_db(DB["my"])
        src, tgt = uuids()
        w = words()
        wt = [x for i, x in enumerate(w) if i % 41] + ["zz-new", "Zz new"]
        # the value follows from the key, so that only missing and extra keys differ
        pg_rows = lambda ks: ", ".join(f"({lit(k)}, {sum(map(ord, k)) % 997})" for k in ks)  # noqa: E731
        cls.pg.psql(DB["pg"],
                    "CREATE TABLE u (k uuid PRIMARY KEY, v int);\n"
                    f"INSERT INTO u VALUES {pg_rows(src)};\n"
                    "CREATE TABLE w_icu (k text COLLATE \"und-x-icu\" PRIMARY KEY, v int);\n"
                    f"INSERT INTO w_icu VALUES {pg_rows(w)} ON CONFLICT DO NOTHING;\n"
                    "CREATE TABLE w_c (k text COLLATE \"C\" PRIMARY KEY, v int);\n"
                    f"INSERT INTO w_c VALUES {pg_rows(w)};\n")
        # general_ci folds case and accents and pads with spaces: INSERT IGNORE keeps the first of each
        cls.my.sql(DB["my"],
                   "CREATE TABLE u (k UUID PRIMARY KEY, v int);\n"
                   f"INSERT INTO u VALUES {pg_rows(tgt)};\n"
                   "CREATE TABLE w_ci (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v int);\n"
                   f"INSERT IGNORE INTO w_ci VALUES {pg_rows(wt)};\n"
                   "ANALYZE TABLE u, w_ci;\n")

    @classmethod
    def tearDownClass(cls):
        cls.pg.drop_db(DB["pg"])
        cls.my.drop_db(DB["my"])

    def keys(self, engine, table):
        if engine == "pg":
            out = self.pg.psql(DB["pg"], f"COPY (SELECT k FROM {table}) TO STDOUT")
        else:
            out = self.my.sql(DB["my"], f"SELECT k FROM {table}")
        return set(x for x in out.split("\n") if x != "")

    def spec(self, name, se, st, te, tt):
        return (f"version: 1\nname: {name}\nsystems:\n"
                f"  pg: {{ driver: postgres, dsn: \"{self.pg.dsn_env(DB['pg'])}\" }}\n"
                f"  my: {{ driver: mariadb, dsn: \"{self.my.dsn_env(DB['my'])}\" }}\n"
                "checks:\n"
                f"  - name: c\n    source: {{ system: {se}, table: {st} }}\n"
                f"    target: {{ system: {te}, table: {tt} }}\n    chunk_rows: {CHUNK}\n")

    def compare(self, name, se, st, te, tt, canon=lambda k: k):
        want_src, want_tgt = self.keys(se, st), self.keys(te, tt)
        r = self.tally(self.spec(name, se, st, te, tt), "--jobs", "2")
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        c = r.check("c")
        # more than one chunk: the boundaries were ranked, not given up
        self.assertGreater(c["chunks"]["total"], 1, c["chunks"])
        missing = sorted(canon(k) for k in want_src - want_tgt)
        extra = sorted(canon(k) for k in want_tgt - want_src)
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (len(missing), len(extra), 0))
        self.assertEqual(sorted(canon(k) for k in r.keys("c", "missing")), missing)
        self.assertEqual(sorted(canon(k) for k in r.keys("c", "extra")), extra)
        return r

    def test_pg_uuid_to_mariadb_uuid(self):
        self.compare("uuid-pg-my", "pg", "u", "my", "u")

    def test_mariadb_uuid_to_pg_uuid(self):
        self.compare("uuid-my-pg", "my", "u", "pg", "u")

    def test_icu_text_to_general_ci(self):
        self.compare("icu-ci", "pg", "w_icu", "my", "w_ci")

    def test_general_ci_to_c_text(self):
        self.compare("ci-c", "my", "w_ci", "pg", "w_c")

    def test_uuid_repair_applies(self):
        spec = self.spec("uuid-repair", "pg", "u", "my", "u")
        r = self.tally(spec, outdir=os.path.join(self.tmp, "first"))
        self.assertEqual(r.code, 1, r.stderr)
        p = self.my.run_file(DB["my"], os.path.join(r.outdir, "repair.my.sql"))
        self.assertEqual(p.returncode, 0, p.stderr)
        again = self.tally(spec)
        self.assertEqual(again.code, 0, again.stdout + again.stderr)
        self.assertEqual(again.check("c")["target"]["rows"], 1800)
        rb = self.my.run_file(DB["my"], os.path.join(r.outdir, "rollback.my.sql"))
        self.assertEqual(rb.returncode, 0, rb.stderr)
        self.assertEqual(self.tally(spec).code, 1)


if __name__ == "__main__":
    harness.main()
