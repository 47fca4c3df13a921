#!/usr/bin/env python3
"""
tests/integration/test_safesql.py
  --safe-sql on the real servers. tally's own sessions are read-only, but
  a `where` that calls dblink_exec opens another session, as a superuser
  here, and writes through it: without --safe-sql it does (one row per row
  read, what the README warns about); with --safe-sql the spec is refused
  with exit 2 at the where's line and column, before any connection, and
  nothing is written. A spec that calls only read-only built-ins runs
  under --safe-sql with exact results, on PostgreSQL and MariaDB, and
  `tally snapshot --safe-sql` refuses as `tally check` does.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

PG = MY = None
SRC, TGT = "tally_it_safesql_src", "tally_it_safesql_tgt"
REFUSED = "which is not on --safe-sql's list of read-only functions"


def servers():
    global PG, MY
    if PG is None:
        PG, MY = harness.PG(), harness.MY()
    return PG, MY


def rows(side):
    """id 1..100; the target lacks 20 and holds 10 changed."""
    out = []
    for i in range(1, 101):
        if side == "tgt" and i == 20:
            continue
        out.append((i, "changed" if side == "tgt" and i == 10 else f"v{i}"))
    return ", ".join(f"({i}, '{v}')" for i, v in out)


class SafeSql(TallyCase):

    @classmethod
    def setUpClass(cls):
        pg, my = servers()
        for side, db in (("src", SRC), ("tgt", TGT)):
            pg.create_db(db)
            pg.psql(db, f"CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES {rows(side)};"
                        "CREATE TABLE written (n int);")
            my.create_db(db)
            my.sql(db, f"CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES {rows(side)};"
                       "CREATE TABLE written (n INT);\nDELIMITER //\n"
                       "CREATE FUNCTION bump() RETURNS INT MODIFIES SQL DATA "
                       "BEGIN INSERT INTO written VALUES (1); RETURN 1; END //\nDELIMITER ;\n")
        # dblink ships with Debian's postgresql package; creating it takes a superuser.
        pg.psql(SRC, "CREATE EXTENSION dblink;")

    @classmethod
    def tearDownClass(cls):
        pg, my = servers()
        for db in (SRC, TGT):
            pg.drop_db(db)
            my.drop_db(db)

    def spec(self, source, target="{ system: tgt, table: t }", engine="pg"):
        pg, my = servers()
        srv = pg if engine == "pg" else my
        driver = "postgres" if engine == "pg" else "mariadb"
        return (f"version: 1\nname: it-safesql\nsystems:\n"
                f"  src: {{ driver: {driver}, dsn: \"{srv.dsn_env(SRC)}\" }}\n"
                f"  tgt: {{ driver: {driver}, dsn: \"{srv.dsn_env(TGT)}\" }}\n"
                f"checks:\n  - name: t\n    source: {source}\n    target: {target}\n")

    def dblink_where(self):
        """A where that writes a row through a superuser session for each row it filters."""
        pg, _ = servers()
        conn = f"host={pg.host} port={pg.port} dbname={SRC} user={pg.admin} password={pg.admin_pw}"
        return f"dblink_exec('{conn}', 'INSERT INTO written VALUES (1)') = 'INSERT 0 1'"

    def counts(self, engine="pg"):
        pg, my = servers()
        if engine == "pg":
            return [pg.psql(db, "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM written)").strip()
                    for db in (SRC, TGT)]
        return [my.sql(db, "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM written)").strip()
                .replace("\t", "|") for db in (SRC, TGT)]

    def clear_written(self):
        pg, _ = servers()
        pg.psql(SRC, "TRUNCATE written")

    def test_dblink_where_is_refused_and_writes_nothing(self):
        pg, _ = servers()
        spec = self.spec(f'{{ system: src, table: t, where: "{self.dblink_where()}" }}')
        line = spec.split("\n").index(next(x for x in spec.split("\n") if "where:" in x)) + 1
        col = spec.split("\n")[line - 1].index('"dblink_exec') + 1
        before = self.counts()
        self.assertEqual(before, ["100|0", "99|0"])
        r = self.tally(spec, "--safe-sql")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertEqual(r.stderr.splitlines()[0],
                         f"tally: error: {self.tmp}/spec.yaml:{line}:{col}: where calls dblink_exec, {REFUSED}")
        self.assertIn("detail: the call begins at character 1 of the where\n", r.stderr)
        self.assertNotIn(pg.admin_pw, r.stdout + r.stderr)
        # Refused before connecting: no output directory, nothing written.
        self.assertFalse(os.path.exists(r.outdir))
        self.assertEqual(self.counts(), before)
        # A qualified name, and the same where in a query, are refused alike.
        r = self.tally(spec.replace("dblink_exec(", "public.dblink_exec("), "--safe-sql")
        self.assertEqual(r.code, 2)
        self.assertIn(f"where calls public.dblink_exec, {REFUSED}", r.stderr)
        r = self.tally(self.spec(f'{{ system: src, query: "SELECT id, v FROM t WHERE {self.dblink_where()}" }}'),
                       "--safe-sql")
        self.assertEqual(r.code, 2)
        self.assertIn(f"query calls dblink_exec, {REFUSED}", r.stderr)
        self.assertEqual(self.counts(), before)

    def test_without_safe_sql_the_where_writes_through_another_session(self):
        """What the README warns about: the read-only guarantee covers tally's own sessions."""
        self.clear_written()
        try:
            r = self.tally(self.spec(f'{{ system: src, table: t, where: "{self.dblink_where()}" }}'))
            self.assertEqual(r.code, 1, r.stderr)
            self.assertEqual(self.counts(), ["100|100", "99|0"])
        finally:
            self.clear_written()

    def test_snapshot_refuses_too(self):
        spec = self.write_spec(self.spec(f'{{ system: src, table: t, where: "{self.dblink_where()}" }}'))
        out = os.path.join(self.tmp, "src.tally")
        p = harness.subprocess.run([harness.tally_bin(), "snapshot", spec, "--check", "t", "--side", "source",
                                    "-o", out, "--safe-sql"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"where calls dblink_exec, {REFUSED}", p.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertEqual(self.counts(), ["100|0", "99|0"])
        # The other side has no where: it is not refused.
        p = harness.subprocess.run([harness.tally_bin(), "snapshot", spec, "--check", "t", "--side", "target",
                                    "-o", out, "--safe-sql"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)

    def exact(self, r):
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        c = r.check("t")
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (50, 49))
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (1, 0, 1))
        self.assertEqual(r.keys("t", "missing"), [20])
        self.assertEqual(r.keys("t", "changed"), [10])

    def test_read_only_builtins_run_normally_postgres(self):
        where = "id <= 50 AND length(v) > 0 AND pg_catalog.lower(v) = v AND date_trunc('day', now()) <= now()"
        r = self.tally(self.spec(f'{{ system: src, table: t, where: "{where}" }}',
                                 f'{{ system: tgt, query: "SELECT id, v FROM t WHERE abs(id) <= 50 '
                                 f'AND coalesce(v, $$x(y$$) <> \'\' -- dblink_exec(" }}'), "--safe-sql")
        self.exact(r)

    def test_mariadb(self):
        # A stored function is not a built-in: refused, even hidden in an executable comment.
        for where in ("bump() = 1", "id > 0 /*!50000 AND bump() = 1 */", "`bump`() = 1", "sleep(0) = 0"):
            with self.subTest(where=where):
                r = self.tally(self.spec(f'{{ system: src, table: t, where: "{where}" }}', engine="my"),
                               "--safe-sql")
                self.assertEqual(r.code, 2, r.stdout + r.stderr)
                self.assertRegex(r.stderr, r"where calls (bump|sleep), " + REFUSED)
        self.assertEqual(self.counts("my"), ["100|0", "99|0"])
        where = "id <= 50 AND LOWER(v) = v AND CHAR_LENGTH(v) > 0 AND DATE(NOW()) > '2000-01-01'"
        r = self.tally(self.spec(f'{{ system: src, table: t, where: "{where}" }}',
                                 "{ system: tgt, table: t, where: \"IFNULL(id, 0) <= 50\" }", engine="my"),
                       "--safe-sql")
        self.exact(r)


if __name__ == "__main__":
    harness.main()
