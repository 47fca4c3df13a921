#!/usr/bin/env python3
"""
tests/integration/test_changeorder.py
  change-order.md, end to end: a run with differences on a PostgreSQL and a
  MariaDB target writes it next to the scripts with exact counts per
  system, table and check, digests that are the scripts' own (xxhsum -H2),
  and commands that, run literally in the run directory with only the
  test's account substituted for the placeholders, apply the scripts with
  the real clients and print the success line it states; the rollback
  commands restore the differences; a script that meets drift prints the
  error it describes and no success line. A run without differences
  writes none. No secret and no column value in it; --ticket appears.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

PG = MY = None

SRC, PGT, MYT = "tally_it_co_src", "tally_it_co_pgt", "tally_it_co_myt"

# (id, name, price): names and prices are the column values that must not
# leak into the change order, hence the unusual ones.
SOURCE = [(i, f"Quillfeather-{i:03d}", f"{700 + i}.25") for i in range(1, 11)]
# PostgreSQL target: 9 and 10 missing, 11 extra, 1-3 changed: 2 inserts, 3 updates, 1 delete.
PG_TARGET = [(i, n if i > 3 else f"Stale-{i}", p) for i, n, p in SOURCE if i <= 8] + \
            [(11, "Leftover-Zanzibar", "9.99")]
# MariaDB target: 10 missing, 12 and 13 extra, 5 changed: 1 insert, 1 update, 2 deletes.
MY_TARGET = [(i, n, p if i != 5 else "1.00") for i, n, p in SOURCE if i <= 9] + \
            [(12, "Leftover-Xylophone", "1.50"), (13, "Leftover-Yodel", "2.50")]

PG_LINE = "tally: repair repair.pgt.sql applied: 6 rows (2 inserted, 3 updated, 1 deleted)"
MY_LINE = "tally: repair repair.myt.sql applied: 4 rows (1 inserted, 1 updated, 2 deleted)"
PG_RB_LINE = "tally: rollback rollback.pgt.sql applied: 6 rows (1 inserted, 3 updated, 2 deleted)"
MY_RB_LINE = "tally: rollback rollback.myt.sql applied: 4 rows (2 inserted, 1 updated, 1 deleted)"

TICKET = "INC-4711"
REASON = "Repair the price feed after the import bug"


def servers():
    global PG, MY
    if PG is None:
        PG, MY = harness.PG(), harness.MY()
    return PG, MY


def values(rows):
    return ",\n".join(f"({i}, '{n}', {p})" for i, n, p in rows)


def seed():
    pg, my = servers()
    for db, rows in ((SRC, SOURCE), (PGT, PG_TARGET)):
        pg.create_db(db)
        pg.psql(db, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);\n"
                    f"INSERT INTO items VALUES {values(rows)};")
    my.create_db(MYT)
    my.sql(MYT, "CREATE TABLE items (id int PRIMARY KEY, name varchar(40) NOT NULL, price decimal(10,2) NOT NULL);\n"
                f"INSERT INTO items VALUES {values(MY_TARGET)};")


def spec():
    pg, my = servers()
    return f"""version: 1
name: it-changeorder
reason: "{REASON}"
systems:
  src: {{ driver: postgres, dsn: "{pg.dsn_env(SRC)}" }}
  pgt: {{ driver: postgres, dsn: "{pg.dsn_env(PGT)}" }}
  myt: {{ driver: mariadb, dsn: "{my.dsn_env(MYT)}" }}
checks:
  - name: pg-items
    source: {{ system: src, table: items }}
    target: {{ system: pgt, table: items }}
  - name: my-items
    source: {{ system: src, table: items }}
    target: {{ system: myt, table: items }}
"""


def section(text, title):
    """The text of one '## title' section."""
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def script_block(text, file):
    """The '### N. System ...: `file`' block of a script."""
    m = re.search(r"^### \d+\. System .*`" + re.escape(file) + r"`\n(.*?)(?=^### |^## |\Z)", text, re.M | re.S)
    assert m, f"no block for {file}"
    return m.group(1)


def command_of(block):
    """The one command of the block's ```sh fence after 'Apply it'."""
    after = block[block.index("Apply it"):]
    m = re.search(r"```sh\n   (.*)\n   ```", after)
    return m.group(1)


def success_of(block):
    m = re.search(r"the line:\n\n   ```\n   (.*)\n   ```", block)
    return m.group(1)


class ChangeOrder(TallyCase):

    def setUp(self):
        super().setUp()
        seed()

    @classmethod
    def tearDownClass(cls):
        pg, my = servers()
        pg.drop_db(SRC)
        pg.drop_db(PGT)
        my.drop_db(MYT)

    def run_check(self, *args):
        r = self.tally(spec(), *args)
        self.assertIn(r.code, (0, 1), r.stderr)
        return r

    def order(self, r):
        path = os.path.join(r.outdir, "change-order.md")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        return open(path).read()

    def run_command(self, r, cmd):
        """Runs a command of the change order literally in the run directory,
        with only the placeholders for the account replaced."""
        pg, my = servers()
        e = dict(os.environ, PATH=pg.bindir + os.pathsep + os.environ["PATH"],
                 REPAIR_USER=pg.admin, PGPASSWORD=pg.admin_pw)
        if cmd.startswith("mariadb "):
            self.assertIn(" -u OPERATOR -p ", cmd)
            cmd = cmd.replace(" -u OPERATOR -p ", f" -u {my.admin} --password={my.admin_pw} ")
        else:
            self.assertIn('-U "${REPAIR_USER:?set it to a role allowed to write}"', cmd)
        return subprocess.run(["bash", "-c", cmd], cwd=r.outdir, capture_output=True, text=True, env=e)

    def test_counts_ticket_reason_no_values(self):
        pg, my = servers()
        r = self.run_check("--ticket", TICKET)
        self.assertEqual(r.code, 1, r.stderr)
        text = self.order(r)
        self.assertTrue(text.startswith("# Change order: it-changeorder\n"))
        self.assertIn(f"| Ticket | {TICKET} |\n", text)
        self.assertIn(f"| Reason | {REASON} |\n", text)
        # The scripts' headers name the ticket too (a comment: the body and its hash do not change).
        for f in ("repair.pgt.sql", "rollback.myt.sql"):
            self.assertIn(f"\n-- ticket:     {TICKET}\n", open(os.path.join(r.outdir, f)).read())
        self.assertIn("| Changes | 10 rows in 2 scripts, one transaction each |\n", text)
        rows = [line for line in section(text, "What will change").splitlines() if line.startswith("| `")]
        self.assertEqual(rows, [
            "| `pgt` | `public.items` | `pg-items` | 2 | 3 | 1 |",
            "| `pgt` | **total** | | 2 | 3 | 1 |",
            f"| `myt` | `{MYT}.items` | `my-items` | 1 | 1 | 2 |",
            "| `myt` | **total** | | 1 | 1 | 2 |",
        ])
        # The counts are the report's.
        for name, want in (("pg-items", (2, 3, 1)), ("my-items", (1, 1, 2))):
            rep = r.check(name)["repair"]["statements"]
            self.assertEqual((rep["insert"], rep["update"], rep["delete"]), want)
        # Apply order: the checks' order; rollback in reverse.
        self.assertLess(text.index("### 1. System `pgt` (postgresql): `repair.pgt.sql`"),
                        text.index("### 2. System `myt` (mariadb): `repair.myt.sql`"))
        rb = section(text, "How to roll back")
        self.assertIn("### 1. System `myt` (mariadb): `rollback.myt.sql`", rb)
        self.assertIn("### 2. System `pgt` (postgresql): `rollback.pgt.sql`", rb)
        self.assertIn("```sh\ntally verify RUN_DIR\n```", section(text, "How to verify"))
        # No column value (names, prices, nor the stale ones), no secret anywhere.
        for _, n, p in SOURCE + PG_TARGET + MY_TARGET:
            self.assertNotIn(n, text)
            self.assertNotIn(p, text)
        self.assertNoSecret(r, pg.user_pw, my.user_pw, pg.admin_pw, my.admin_pw)
        # The summary and report.html point to it.
        self.assertIn(f"change:   {r.outdir}/change-order.md ", r.stdout)
        self.assertIn('href="change-order.md"', open(os.path.join(r.outdir, "report.html")).read())

    def test_bad_ticket_is_refused(self):
        for bad in ("", "INC-1\nrm -rf /", "x" * 201):
            r = self.tally(spec(), "--ticket", bad)
            self.assertEqual(r.code, 2, bad)
            self.assertIn("--ticket needs an ID of 1 to 200 printable characters", r.stderr)
            self.assertIsNone(r.report)

    def test_digests_are_the_files(self):
        r = self.run_check()
        text = self.order(r)
        self.assertIn("| Ticket | (none given: tally check --ticket ID) |\n", text)
        for name, check in (("pgt", "pg-items"), ("myt", "my-items")):
            for kind in ("repair", "rollback"):
                file = f"{kind}.{name}.sql"
                block = script_block(text, file)
                got = subprocess.run(["xxhsum", "-H2", file], cwd=r.outdir, capture_output=True, text=True,
                                     check=True).stdout.strip()
                self.assertRegex(got, r"^[0-9a-f]{32}  " + re.escape(file) + "$")
                self.assertIn(f"   ```\n   {got}\n   ```", block)
                body = r.check(check)["repair"]["xxh128" if kind == "repair" else "rollback_xxh128"]
                self.assertIn(f"`body: xxh128 {body}`", block)

    def test_apply_verify_rollback_by_the_commands(self):
        pg, my = servers()
        before_pg = pg.psql(PGT, "COPY (SELECT * FROM items ORDER BY 1) TO STDOUT")
        before_my = my.sql(MYT, "SELECT * FROM items ORDER BY 1")
        r = self.run_check("--ticket", TICKET)
        self.assertEqual(r.code, 1)
        text = self.order(r)
        for file, line, last in (("repair.pgt.sql", PG_LINE, [PG_LINE]), ("repair.myt.sql", MY_LINE, ["tally", MY_LINE])):
            block = script_block(text, file)
            self.assertEqual(success_of(block), line)
            p = self.run_command(r, command_of(block))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.splitlines()[-len(last):], last, p.stdout)
            self.assertEqual(p.stdout.count("tally: repair"), 1)
        # As the change order says: tally verify RUN_DIR, now every difference is resolved.
        v = subprocess.run([harness.tally_bin(), "verify", r.outdir], capture_output=True, text=True,
                           cwd=self.tmp)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # Consistent now: and a clean run writes no change order.
        clean = self.tally(spec(), outdir=os.path.join(self.tmp, "after"))
        self.assertEqual(clean.code, 0, clean.stdout + clean.stderr)
        self.assertFalse(os.path.exists(os.path.join(clean.outdir, "change-order.md")))
        self.assertNotIn("change:", clean.stdout)
        # Rollback, in the order the change order gives, by its commands.
        rb = section(text, "How to roll back")
        for file, line, last in (("rollback.myt.sql", MY_RB_LINE, ["tally", MY_RB_LINE]),
                                 ("rollback.pgt.sql", PG_RB_LINE, [PG_RB_LINE])):
            block = script_block(rb, file)
            self.assertEqual(success_of(block), line)
            p = self.run_command(r, command_of(block))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.splitlines()[-len(last):], last, p.stdout)
        self.assertEqual(pg.psql(PGT, "COPY (SELECT * FROM items ORDER BY 1) TO STDOUT"), before_pg)
        self.assertEqual(my.sql(MYT, "SELECT * FROM items ORDER BY 1"), before_my)

    def test_failure_prints_the_error_not_the_line(self):
        pg, my = servers()
        r = self.run_check()
        text = self.order(r)
        # Drift after the check: a row the repair updates changed meanwhile.
        pg.psql(PGT, "UPDATE items SET price = 1 WHERE id = 2")
        my.sql(MYT, "UPDATE items SET price = 2 WHERE id = 5")
        p = self.run_command(r, command_of(script_block(text, "repair.pgt.sql")))
        self.assertEqual(p.returncode, 3)
        self.assertRegex(p.stderr, r"psql:repair\.pgt\.sql:\d+: ERROR:  tally: check pg-items: ")
        self.assertNotIn("applied", p.stdout)
        self.assertIn("`psql:FILE:LINE: ERROR:  tally: check …`", text)
        self.assertIn("exit status 3", text)
        p = self.run_command(r, command_of(script_block(text, "repair.myt.sql")))
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"(?m)^ERROR 1644 \(45000\) at line \d+: tally: check my-items: ")
        self.assertNotIn("applied", p.stdout)
        self.assertIn("`ERROR 1644 (45000) at line N: tally: check …`", text)
        # Nothing changed: the counts are the check's, but for the drifted rows.
        after = self.run_check()
        self.assertEqual((after.check("pg-items")["missing"], after.check("pg-items")["extra"],
                          after.check("pg-items")["changed"]), (2, 1, 3))
        self.assertEqual((after.check("my-items")["missing"], after.check("my-items")["extra"],
                          after.check("my-items")["changed"]), (1, 2, 1))

    def test_compressed_scripts_get_a_decompress_step(self):
        r = self.run_check("--compress-repair")
        text = self.order(r)
        block = script_block(text, "repair.pgt.sql.zst")
        self.assertIn("```sh\n   zstd -d repair.pgt.sql.zst\n   ```", block)
        cmd = command_of(block)
        self.assertTrue(cmd.endswith(" -f repair.pgt.sql"), cmd)
        p = subprocess.run(["zstd", "-q", "-d", "repair.pgt.sql.zst"], cwd=r.outdir)
        self.assertEqual(p.returncode, 0)
        p = self.run_command(r, cmd)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[-1], PG_LINE)


if __name__ == "__main__":
    harness.main()
