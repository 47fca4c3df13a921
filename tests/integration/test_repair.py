#!/usr/bin/env python3
"""
tests/integration/test_repair.py
  Repair and rollback scripts, applied with the real psql and mariadb
  clients: check (exit 1) -> apply repair -> check (exit 0) -> apply
  rollback -> the target is byte for byte what it was, and a check finds
  the original differences again. Also: drift (a row changed after the
  check makes the script fail, naming the key, changing nothing), hostile
  names and values, foreign-key order, the header's hash.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import scenario  # noqa: E402
from harness import TallyCase  # noqa: E402

PG = MY = None


def servers():
    global PG, MY
    if PG is None:
        PG, MY = harness.PG(), harness.MY()
    return PG, MY


def dump_pg(db, tables):
    pg, _ = servers()
    out = []
    for t in tables:
        out.append(pg.psql(db, f"COPY (SELECT * FROM {t} ORDER BY 1, 2) TO STDOUT"))
    return out


def dump_my(db, tables):
    """Every row, byte for byte (HEX() so binary survives the client)."""
    _, my = servers()
    out = []
    for t in tables:
        cols = my.sql(db, "SELECT GROUP_CONCAT(CONCAT('HEX(`', REPLACE(COLUMN_NAME, '`', '``'), '`)') "
                          "ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS "
                          f"WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {scenario.my_lit(t.strip('`').replace('``', '`'))}").strip()
        out.append(my.sql(db, f"SELECT {cols} FROM {t} ORDER BY 1, 2"))
    return out


def apply(engine, db, path, extra=None):
    """Runs a script the way an operator would; returns (exit code, stderr)."""
    pg, my = servers()
    if path.endswith(".zst"):
        plain = path[:-4]
        with open(plain, "wb") as f:
            f.write(subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout)
        path = plain
    if engine == "pg":
        p = pg.run_file(db, path)
        return p.returncode, p.stderr
    e = dict(os.environ, MYSQL_PWD=my.admin_pw)
    cmd = ["mariadb", "--no-defaults", "-h", my.host, "-P", my.port, "-u", my.admin, "-D", db]
    if extra:
        cmd.append(extra)
    with open(path, "rb") as f:
        p = subprocess.run(cmd, stdin=f, capture_output=True, env=e)
    return p.returncode, p.stderr.decode()


def body_hash(path):
    text = open(path, "rb").read()
    marker = b"-- end of tally header\n"
    body = text[text.index(marker) + len(marker):]
    out = subprocess.run(["xxhsum", "-H2", "-"], input=body, capture_output=True, check=True).stdout
    return out.decode().split()[0]


def system(engine, db):
    pg, my = servers()
    if engine == "pg":
        return f'{{ driver: postgres, dsn: "{pg.dsn_env(db)}" }}'
    return f'{{ driver: mariadb, dsn: "{my.dsn_env(db)}" }}'


TABLES = ["orders", "codes", "stock", "events"]


class RoundTrip:
    SRC = TGT = None
    REPAIR = "target"

    @classmethod
    def setUpClass(cls):
        pg, my = servers()
        tag = f"{cls.SRC}_{cls.TGT}_{cls.REPAIR}"
        cls.src_db, cls.tgt_db = f"tally_it_rep_{tag}_src", f"tally_it_rep_{tag}_tgt"
        for engine, db, side in ((cls.SRC, cls.src_db, "source"), (cls.TGT, cls.tgt_db, "target")):
            if engine == "pg":
                pg.create_db(db)
                pg.psql(db, scenario.seed_sql("pg", side))
            else:
                my.create_db(db)
                my.sql(db, scenario.seed_sql("my", side))
        checks = "".join(f"""  - name: {t}
    source: {{ system: src, table: {t} }}
    target: {{ system: tgt, table: {t} }}
    repair: {cls.REPAIR}
""" for t in TABLES)
        cls.spec = f"""version: 1
name: it-repair
reason: "round trip; it's a test"
systems:
  src: {system(cls.SRC, cls.src_db)}
  tgt: {system(cls.TGT, cls.tgt_db)}
checks:
{checks}"""

    @classmethod
    def tearDownClass(cls):
        pg, my = servers()
        for engine, db in ((cls.SRC, cls.src_db), (cls.TGT, cls.tgt_db)):
            (pg if engine == "pg" else my).drop_db(db)

    def written(self):
        """(engine, db, system name) of the side the repair writes."""
        if self.REPAIR == "target":
            return self.TGT, self.tgt_db, "tgt"
        return self.SRC, self.src_db, "src"

    def dump(self):
        engine, db, _ = self.written()
        return (dump_pg if engine == "pg" else dump_my)(db, TABLES)

    def test_round_trip(self):
        engine, db, sysname = self.written()
        before = self.dump()
        r1 = self.tally(self.spec)
        self.assertEqual(r1.code, 1, r1.stderr)
        rep = r1.check("orders")["repair"]
        self.assertEqual(rep["file"], f"repair.{sysname}.sql")
        self.assertEqual(rep["rollback"], f"rollback.{sysname}.sql")
        if self.REPAIR == "target":
            self.assertEqual(rep["statements"], {"insert": 3, "update": 10, "delete": 2})
        else:
            self.assertEqual(rep["statements"], {"insert": 2, "update": 10, "delete": 3})
        self.assertEqual(r1.check("stock")["repair"]["statements"], {"insert": 1, "update": 1, "delete": 1})
        repair = os.path.join(r1.outdir, rep["file"])
        rollback = os.path.join(r1.outdir, rep["rollback"])
        self.assertEqual(body_hash(repair), rep["xxh128"])
        self.assertEqual(body_hash(rollback), rep["rollback_xxh128"])
        text = open(repair).read()
        self.assertIn(f"-- body:       xxh128 {rep['xxh128']}", text)
        # A MariaDB user without TRIGGER sees no triggers: the header must not say "none".
        if engine == "my":
            self.assertIn(f"--   {db}.orders: triggers unknown: tally's user cannot see them", text)
        else:
            self.assertIn("--   public.orders: no triggers, no foreign keys from other tables\n", text)
        self.assertEqual(os.stat(repair).st_mode & 0o777, 0o600)
        # Keep the scripts: the next run empties the output directory.
        saved = os.path.join(self.tmp, "saved")
        os.mkdir(saved)
        for f in (repair, rollback):
            os.rename(f, os.path.join(saved, os.path.basename(f)))
        repair, rollback = (os.path.join(saved, os.path.basename(f)) for f in (repair, rollback))

        code, err = apply(engine, db, repair)
        self.assertEqual(code, 0, err)
        r2 = self.tally(self.spec)
        self.assertEqual(r2.code, 0, r2.stdout + r2.stderr)
        for c in r2.report["checks"]:
            self.assertEqual((c["missing"], c["extra"], c["changed"]), (0, 0, 0), c["name"])
            self.assertEqual(c["repair"]["none"], "nothing to repair")

        code, err = apply(engine, db, rollback)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.dump(), before)
        r3 = self.tally(self.spec)
        self.assertEqual(r3.code, 1)
        for name in TABLES:
            a, b = r1.check(name), r3.check(name)
            self.assertEqual((a["missing"], a["extra"], a["changed"]), (b["missing"], b["extra"], b["changed"]))
        self.assertEqual(r3.diffs, r1.diffs)

    def test_drift_stops_the_script(self):
        engine, db, sysname = self.written()
        pg, my = servers()
        r = self.tally(self.spec, "--check", "orders")
        self.assertEqual(r.code, 1, r.stderr)
        repair = os.path.join(r.outdir, f"repair.{sysname}.sql")
        # Someone changes a row the repair updates, after tally read it.
        sql = "UPDATE orders SET customer = 'changed meanwhile' WHERE id = 42"
        (pg.psql if engine == "pg" else my.sql)(db, sql)
        try:
            before = self.dump()
            code, err = apply(engine, db, repair)
            self.assertNotEqual(code, 0)
            self.assertIn("tally: check orders", err)
            self.assertRegex(err, r"id='42'")
            self.assertEqual(self.dump(), before)
        finally:
            fix = scenario.order_row(42)["customer"]
            if engine == "pg":
                pg.psql(db, f"UPDATE orders SET customer = {scenario.pg_lit(fix)} WHERE id = 42")
            else:
                my.sql(db, f"UPDATE orders SET customer = {scenario.my_lit(fix)} WHERE id = 42")

    def test_insert_of_a_key_that_appeared(self):
        engine, db, sysname = self.written()
        pg, my = servers()
        r = self.tally(self.spec, "--check", "events")
        self.assertEqual(r.code, 1, r.stderr)
        repair = os.path.join(r.outdir, f"repair.{sysname}.sql")
        if self.REPAIR != "target":
            return  # the source side holds the events; nothing to insert there
        (pg.psql if engine == "pg" else my.sql)(db, "INSERT INTO events VALUES (7, 'appeared meanwhile')")
        try:
            before = self.dump()
            code, err = apply(engine, db, repair)
            self.assertNotEqual(code, 0)
            self.assertIn("tally: check events", err)
            self.assertRegex(err, r"id='7'")
            self.assertIn("already exists", err)
            self.assertEqual(self.dump(), before)
        finally:
            (pg.psql if engine == "pg" else my.sql)(db, "DELETE FROM events WHERE id = 7")


class PgToPg(RoundTrip, TallyCase):
    SRC, TGT = "pg", "pg"


class MyToMy(RoundTrip, TallyCase):
    SRC, TGT = "my", "my"


class MyToPg(RoundTrip, TallyCase):
    SRC, TGT = "my", "pg"


class PgToMy(RoundTrip, TallyCase):
    SRC, TGT = "pg", "my"


class MyToPgRepairSource(RoundTrip, TallyCase):
    SRC, TGT, REPAIR = "my", "pg", "source"


class PgToMyRepairSource(RoundTrip, TallyCase):
    SRC, TGT, REPAIR = "pg", "my", "source"


HOSTILE_VALUES = ["it's", "back\\slash", "$$ dollar $$", "$tally$", "semi;colon", "-- comment",
                  "/* block */", "# hash", "new\nline", "tab\tbed", "emoji 😀", "Ünïcödé",
                  "'; DROP TABLE x; --", "\\x00", "trailing  ", "`backtick`", '"double"']


class Hostile(TallyCase):
    """Names and values that break naive quoting, both dialects."""

    @classmethod
    def setUpClass(cls):
        pg, my = servers()
        cls.db = "tally_it_hostile"
        pg.create_db(cls.db + "_src")
        pg.create_db(cls.db + "_tgt")
        my.create_db(cls.db + "_src")
        my.create_db(cls.db + "_tgt")
        # Columns named n and bad: the names of the MariaDB blocks' own variables.
        pg_ddl = ('CREATE TABLE "we\'ird ""t"" $$" ("k ey" int PRIMARY KEY, "va\'l""ue $tally$" text, '
                  '"-- c" text, "ü" bytea, n int, bad text);\n')
        my_ddl = ("CREATE TABLE `we'ird \"t\" $$` (`k ey` INT PRIMARY KEY, `va'l\"ue $tally$` TEXT, "
                  "`-- c` TEXT, `ü` BLOB, n INT, bad TEXT);\n")
        rows_src = [(i + 1, v, v[::-1], v.encode()) for i, v in enumerate(HOSTILE_VALUES)]
        rows_tgt = [(i + 1, "x" + v, None, b"\\" + v.encode()) for i, v in enumerate(HOSTILE_VALUES)
                    if i % 3 != 0] + [(100, "only in target", "--", b"\x00")]
        for side, rows in (("src", rows_src), ("tgt", rows_tgt)):
            pg.psql(cls.db + "_" + side, pg_ddl + "".join(
                f'INSERT INTO "we\'ird ""t"" $$" VALUES ({k}, {scenario.pg_lit(a)}, {scenario.pg_lit(b)}, '
                f"{scenario.pg_lit(c)}, {k * (2 if side == 'src' else 3)}, 'b{side}');\n" for k, a, b, c in rows))
            my.sql(cls.db + "_" + side, my_ddl + "".join(
                f"INSERT INTO `we'ird \"t\" $$` VALUES ({k}, {scenario.my_lit(a)}, {scenario.my_lit(b)}, "
                f"{scenario.my_lit(c)}, {k * (2 if side == 'src' else 3)}, 'b{side}');\n" for k, a, b, c in rows))

    @classmethod
    def tearDownClass(cls):
        pg, my = servers()
        for side in ("_src", "_tgt"):
            pg.drop_db(cls.db + side)
            my.drop_db(cls.db + side)

    def round_trip(self, src, tgt, extra=None):
        pg, my = servers()
        spec = f"""version: 1
name: it-hostile
systems:
  src: {system(src, self.db + "_src")}
  tgt: {system(tgt, self.db + "_tgt")}
checks:
  - name: hostile
    source: {{ system: src, table: "we'ird \\"t\\" $$" }}
    target: {{ system: tgt, table: "we'ird \\"t\\" $$" }}
"""
        dump = (lambda: dump_pg(self.db + "_tgt", ['"we\'ird ""t"" $$"'])) if tgt == "pg" else \
               (lambda: dump_my(self.db + "_tgt", ["`we'ird \"t\" $$`"]))
        before = dump()
        r = self.tally(spec)
        self.assertEqual(r.code, 1, r.stderr)
        c = r.check("hostile")
        n = len(HOSTILE_VALUES)
        self.assertEqual((c["missing"], c["extra"], c["changed"]), ((n + 2) // 3, 1, n - (n + 2) // 3))
        saved = os.path.join(self.tmp, "saved")
        os.makedirs(saved, exist_ok=True)
        for f in ("repair.tgt.sql", "rollback.tgt.sql"):
            os.replace(os.path.join(r.outdir, f), os.path.join(saved, f))
        code, err = apply(tgt, self.db + "_tgt", os.path.join(saved, "repair.tgt.sql"), extra)
        self.assertEqual(code, 0, err)
        r2 = self.tally(spec)
        self.assertEqual(r2.code, 0, r2.stdout + r2.stderr)
        code, err = apply(tgt, self.db + "_tgt", os.path.join(saved, "rollback.tgt.sql"), extra)
        self.assertEqual(code, 0, err)
        self.assertEqual(dump(), before)

    def test_pg_to_pg(self):
        self.round_trip("pg", "pg")

    def test_my_to_my(self):
        self.round_trip("my", "my")

    def test_pg_to_my_no_backslash_escapes(self):
        self.round_trip("pg", "my",
                        "--init-command=SET SESSION sql_mode=CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES,ANSI_QUOTES')")

    def test_my_to_pg(self):
        self.round_trip("my", "pg")


class ForeignKeys(TallyCase):
    """Two tables of one system: parents inserted first, children deleted first."""

    def test_order_and_header(self):
        pg, my = servers()
        for db in ("tally_it_fk_src", "tally_it_fk_tgt"):
            pg.create_db(db)
            pg.psql(db, """
                CREATE TABLE parent (id int PRIMARY KEY, name text);
                CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE, v text);
                CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
                CREATE TRIGGER child_audit AFTER INSERT OR UPDATE ON child FOR EACH ROW EXECUTE FUNCTION audit();
            """)
        pg.psql("tally_it_fk_src", """
            INSERT INTO parent VALUES (1, 'a'), (2, 'b');
            INSERT INTO child VALUES (10, 1, 'x'), (20, 2, 'y');""")
        pg.psql("tally_it_fk_tgt", """
            INSERT INTO parent VALUES (1, 'a'), (3, 'gone');
            INSERT INTO child VALUES (10, 1, 'x'), (30, 3, 'z');""")
        try:
            spec = f"""version: 1
name: it-fk
systems:
  src: {system("pg", "tally_it_fk_src")}
  tgt: {system("pg", "tally_it_fk_tgt")}
checks:
  - name: child
    source: {{ system: src, table: child }}
    target: {{ system: tgt, table: child }}
  - name: parent
    source: {{ system: src, table: parent }}
    target: {{ system: tgt, table: parent }}
"""
            r = self.tally(spec)
            self.assertEqual(r.code, 1, r.stderr)
            text = open(os.path.join(r.outdir, "repair.tgt.sql")).read()
            steps = re.findall(r"^-- check (\w+): (insert|update|delete) \d+ rows? (?:into|of|from) (\S+)", text, re.M)
            self.assertEqual(steps, [("parent", "insert", "public.parent"), ("child", "insert", "public.child"),
                                     ("child", "delete", "public.child"), ("parent", "delete", "public.parent")])
            self.assertIn("--   public.child: trigger child_audit AFTER INSERT OR UPDATE\n", text)
            self.assertIn("--   public.parent: foreign key child_parent_id_fkey from public.child, "
                          "ON DELETE CASCADE, ON UPDATE NO ACTION\n", text)
            code, err = apply("pg", "tally_it_fk_tgt", os.path.join(r.outdir, "repair.tgt.sql"))
            self.assertEqual(code, 0, err)
            self.assertEqual(self.tally(spec).code, 0)
        finally:
            pg.drop_db("tally_it_fk_src")
            pg.drop_db("tally_it_fk_tgt")


class Options(TallyCase):
    """repair: none, expect: subset, --compress-repair, refusals."""

    @classmethod
    def setUpClass(cls):
        pg, _ = servers()
        for db, rows in (("tally_it_opt_src", "(1,'a'),(2,'b')"), ("tally_it_opt_tgt", "(1,'A'),(3,'c')")):
            pg.create_db(db)
            pg.psql(db, f"CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES {rows};")

    @classmethod
    def tearDownClass(cls):
        pg, _ = servers()
        pg.drop_db("tally_it_opt_src")
        pg.drop_db("tally_it_opt_tgt")

    def spec(self, extra):
        return f"""version: 1
name: it-opt
systems:
  src: {system("pg", "tally_it_opt_src")}
  tgt: {system("pg", "tally_it_opt_tgt")}
checks:
  - name: t
    source: {{ system: src, table: t }}
    target: {{ system: tgt, table: t }}
{extra}"""

    def test_repair_none_writes_nothing(self):
        r = self.tally(self.spec("    repair: none\n"))
        self.assertEqual(r.code, 1)
        self.assertEqual(sorted(os.listdir(r.outdir)), ["diff.ndjson.zst", "report.html", "report.json"])
        self.assertEqual(r.check("t")["repair"], {"system": None, "none": "repair: none", "failed": False,
                                                 "generated_only": 0})

    def test_subset_never_deletes(self):
        r = self.tally(self.spec("    expect: subset\n"))
        self.assertEqual(r.code, 1)
        self.assertEqual(r.check("t")["repair"]["statements"], {"insert": 1, "update": 1, "delete": 0})
        text = open(os.path.join(r.outdir, "repair.tgt.sql")).read()
        self.assertNotIn("DELETE FROM", text.split("-- end of tally header")[1])

    def test_subset_with_repair_source_is_refused(self):
        r = self.tally(self.spec("    expect: subset\n    repair: source\n"))
        self.assertEqual(r.code, 2)
        self.assertIn("repair: source would delete the source rows the target lacks, and expect: subset "
                      "never deletes", r.stderr)

    def test_compressed(self):
        r = self.tally(self.spec(""), "--compress-repair")
        self.assertEqual(r.code, 1)
        self.assertEqual(sorted(os.listdir(r.outdir)), ["change-order.md", "diff.ndjson.zst", "repair.tgt.sql.zst",
                                                        "report.html", "report.json", "rollback.tgt.sql.zst"])
        plain = subprocess.run(["zstd", "-dc", os.path.join(r.outdir, "repair.tgt.sql.zst")],
                               capture_output=True, check=True).stdout
        path = os.path.join(self.tmp, "plain.sql")
        open(path, "wb").write(plain)
        self.assertEqual(body_hash(path), r.check("t")["repair"]["xxh128"])

    def test_summary_names_the_scripts(self):
        r = self.tally(self.spec(""))
        self.assertIn(f"repair:   {r.outdir}/repair.tgt.sql\nrollback: {r.outdir}/rollback.tgt.sql\n", r.stdout)


if __name__ == "__main__":
    harness.main()
