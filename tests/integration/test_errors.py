#!/usr/bin/env python3
"""
tests/integration/test_errors.py
  Trouble ends with exit 2, a clear message naming the system, table and
  column (or the spec position), a report.json whose status is "error",
  and no diff file: unreachable host, wrong password, missing table,
  missing column, no key, incomparable key types, duplicate keys from a
  query, a session killed mid-stream, a server that dies mid-stream, and
  Ctrl-C; after a failure in the workers the report still lists every
  check, as not run. No message may carry a password. And the spec file is
  read once, so that it may come from a pipe.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

PG = harness.PG
MY = harness.MY
SRC_DB = "tally_it_err_src"
TGT_DB = "tally_it_err_tgt"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Errors(TallyCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PG()
        cls.my = MY()
        cls.pg.create_db(TGT_DB)
        cls.pg.psql(TGT_DB, """
            CREATE TABLE orders (id int PRIMARY KEY, customer text, status text);
            INSERT INTO orders SELECT g, 'c' || g, 'open' FROM generate_series(1, 100) g;
            CREATE TABLE nopk (id int, v text);
            CREATE TABLE textkey (id text PRIMARY KEY, v text);
            CREATE TABLE big (id int PRIMARY KEY, v text);
            INSERT INTO big SELECT g, repeat('x', 20) FROM generate_series(1, 20000) g;
        """)
        cls.my.create_db(SRC_DB)
        cls.my.sql(SRC_DB, """
            CREATE TABLE orders (id INT PRIMARY KEY, customer TEXT, status TEXT);
            INSERT INTO orders SELECT seq, CONCAT('c', seq), 'open' FROM seq_1_to_100;
            CREATE TABLE nopk (id INT, v TEXT);
            CREATE TABLE big (id INT PRIMARY KEY, v TEXT);
            INSERT INTO big SELECT seq, REPEAT('x', 20) FROM seq_1_to_20000;
        """)

    @classmethod
    def tearDownClass(cls):
        cls.pg.drop_db(TGT_DB)
        cls.my.drop_db(SRC_DB)

    def spec(self, src_dsn=None, tgt_dsn=None, check=None):
        src_dsn = src_dsn or self.my.dsn_env(SRC_DB)
        tgt_dsn = tgt_dsn or self.pg.dsn_env(TGT_DB)
        check = check or """  - name: orders
    source: { system: legacy, table: orders }
    target: { system: billing, table: orders }
"""
        return f"""version: 1
name: it-errors
systems:
  legacy: {{ driver: mariadb, dsn: "{src_dsn}" }}
  billing: {{ driver: postgres, dsn: "{tgt_dsn}" }}
checks:
{check}"""

    def assertTrouble(self, r, pattern):
        self.assertEqual(r.code, 2, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertRegex(r.stderr, pattern)
        self.assertIsNotNone(r.report, "report.json must say the run failed")
        self.assertEqual(r.report["status"], "error")
        self.assertRegex(r.report["error"]["message"], pattern)
        self.assertFalse(r.diff_exists, "no diff file may look complete after trouble")
        leftovers = [n for n in os.listdir(r.outdir) if n.startswith(".tally-tmp")]
        self.assertEqual(leftovers, [])
        self.assertNoSecret(r, self.pg.user_pw, self.my.user_pw, self.pg.admin_pw, self.my.admin_pw)

    def test_consistent_baseline(self):
        r = self.tally(self.spec())
        self.assertEqual(r.code, 0, r.stderr)

    def test_spec_read_once(self):
        """From a pipe the spec can be read only once; run.json's hash (for --resume) is of those bytes."""
        text = self.spec().encode()
        out = os.path.join(self.tmp, "out")
        p = subprocess.run([harness.tally_bin(), "check", "/dev/stdin", "--out", out, "--shard", "0/2"],
                           input=text, capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        run = json.load(open(os.path.join(out, "latest", ".tally-work", "run.json")))
        want = subprocess.run(["xxhsum", "-H2", "-"], input=text, capture_output=True,
                              check=True).stdout.decode().split()[0]
        self.assertEqual(run["spec"]["hash"], want)
        self.assertEqual(json.load(open(os.path.join(out, "latest", "report.json")))["spec_file"], "/dev/stdin")

    def test_unreachable_host(self):
        port = free_port()
        r = self.tally(self.spec(tgt_dsn=self.pg.dsn(TGT_DB, port=port)))
        self.assertTrouble(r, re.escape(
            f"check 'orders': cannot connect to target system 'billing' "
            f"(postgresql://tally:***@127.0.0.1:{port}/{TGT_DB}?sslmode=disable)"))
        r = self.tally(self.spec(src_dsn=self.my.dsn(SRC_DB, port=port)))
        self.assertTrouble(r, re.escape(
            f"check 'orders': cannot connect to source system 'legacy' "
            f"(mariadb://tally:***@127.0.0.1:{port}/{SRC_DB})"))

    def test_wrong_password(self):
        r = self.tally(self.spec(tgt_dsn=self.pg.dsn(TGT_DB, password="not-the-password")))
        self.assertTrouble(r, r"cannot connect to target system 'billing' \(postgresql://tally:\*\*\*@")
        self.assertIn("password authentication failed", r.stderr)
        self.assertNotIn("not-the-password", r.stderr + r.stdout + open(os.path.join(r.outdir, "report.json")).read())
        r = self.tally(self.spec(src_dsn=self.my.dsn(SRC_DB, password="not-the-password")))
        self.assertTrouble(r, r"cannot connect to source system 'legacy' \(mariadb://tally:\*\*\*@")
        self.assertIn("Access denied", r.stderr)
        self.assertNotIn("not-the-password", r.stderr + r.stdout + open(os.path.join(r.outdir, "report.json")).read())

    def test_missing_table(self):
        r = self.tally(self.spec(check="""  - name: orders
    source: { system: legacy, table: orders }
    target: { system: billing, table: public.ordrs }
"""))
        self.assertTrouble(r, re.escape("check 'orders': ") + r".*table 'public\.ordrs' does not exist "
                           r"in target system 'billing'")

    def test_missing_column(self):
        r = self.tally(self.spec(check="""  - name: orders
    source: { system: legacy, table: orders }
    target: { system: billing, table: orders }
    columns: [customer, nope]
"""))
        self.assertTrouble(r, re.escape(
            f"spec.yaml:10:25: column 'nope' does not exist in source {SRC_DB}.orders (system 'legacy')"))

    def test_no_key(self):
        r = self.tally(self.spec(check="""  - name: nopk
    source: { system: legacy, table: nopk }
    target: { system: billing, table: nopk }
"""))
        self.assertTrouble(r, re.escape(
            f"spec.yaml:7:5: check 'nopk' has no key: neither target public.nopk nor source "
            f"{SRC_DB}.nopk has a primary key"))
        self.assertIn("hint: name the columns that identify a row: key: [id]; or, for rows that nothing "
                      "identifies, compare whole rows and count copies: match: multiset", r.stderr)

    def test_incomparable_key_types(self):
        r = self.tally(self.spec(check="""  - name: mixed
    source: { system: legacy, table: orders }
    target: { system: billing, table: textkey }
    key: [id]
"""))
        self.assertTrouble(r, re.escape(
            f"check 'mixed': {SRC_DB}.orders vs public.textkey, column 'id': key column cannot be "
            "compared: integer in source (int(11)) and text in target (text)"))

    def test_incomparable_column_types(self):
        r = self.tally(self.spec(check="""  - name: mixed
    source: { system: legacy, query: "SELECT id, CURDATE() AS customer FROM orders" }
    target: { system: billing, table: orders }
    key: [id]
    columns: [customer]
"""))
        self.assertTrouble(r, r"column 'customer': column cannot be compared: date in source \(date\) "
                              r"and text in target \(text\)")

    def test_duplicate_key_in_query(self):
        r = self.tally(self.spec(check="""  - name: dup
    source: { system: legacy, query: "SELECT id % 10 AS id, customer, status FROM orders" }
    target: { system: billing, table: orders }
    key: [id]
"""))
        self.assertTrouble(r, re.escape("check 'dup': chunk 1: source returned a duplicate key at row 2"))
        # Running again would not help: no resume hint.
        self.assertNotIn("--resume", r.stderr)
        self.assertIsNone(r.report["resume"])

    def test_bad_spec(self):
        r = self.tally(self.spec().replace("table: orders }", "tabel: orders }", 1))
        self.assertEqual(r.code, 2)
        self.assertIn("spec.yaml:8:31: checks[0].source: unknown key 'tabel' "
                      "(expected one of: system, table, where, query, schema)", r.stderr)
        self.assertFalse(os.path.exists(r.outdir))

    def _wait_for(self, what, fn, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.05)
        self.fail(f"timed out waiting for {what}")

    def _slow_spec(self, pg_port=None, my_port=None):
        return self.spec(
            src_dsn=self.my.dsn(SRC_DB, port=my_port), tgt_dsn=self.pg.dsn(TGT_DB, port=pg_port),
            check="""  - name: big
    source: { system: legacy, query: "SELECT id, v FROM big WHERE SLEEP(0.0003) = 0" }
    target: { system: billing, query: "SELECT id, v FROM big WHERE pg_sleep(0.0003) IS NOT NULL" }
    key: [id]
""")

    def _start_tally(self, spec_text):
        spec = self.write_spec(spec_text)
        out = os.path.join(self.tmp, "out")
        p = subprocess.Popen([harness.tally_bin(), "check", spec, "--out", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return p, out

    def _pg_backend(self, port=None, password=None):
        pg = self.pg
        e = dict(os.environ, PGPASSWORD=password or pg.admin_pw)
        sql = ("SELECT pid FROM pg_stat_activity WHERE usename = 'tally' AND state = 'active' "
               f"AND datname = '{TGT_DB}' "
               "AND query LIKE 'COPY%'")
        out = subprocess.run([os.path.join(pg.bindir, "psql"), "-X", "-A", "-t", "-h", pg.host,
                              "-p", str(port or pg.port), "-U", pg.admin, "-d", "postgres", "-c", sql],
                             capture_output=True, text=True, env=e).stdout.strip()
        return int(out.split()[0]) if out else None

    def test_session_killed_mid_stream(self):
        """A dropped session is reopened and its chunk redone: the run still ends right."""
        p, out = self._start_tally(self._slow_spec())
        pid = self._wait_for("tally's COPY", self._pg_backend)
        time.sleep(0.5)
        self.pg.psql("postgres", f"SELECT pg_terminate_backend({pid})")
        stdout, stderr = p.communicate(timeout=120)
        r = harness.Result(subprocess.CompletedProcess([], p.returncode, stdout, stderr), out)
        self.assertEqual(r.code, 0, stderr)
        self.assertRegex(r.stderr, r"tally: check 'big': chunk 1: \[target pid \d+\] lost connection to target "
                                   r"system 'billing' while reading the query; retrying in 1 s \(1 of 3\)")
        c = r.check("big")
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (20000, 20000))
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (0, 0, 0))

    def test_interrupted(self):
        p, out = self._start_tally(self._slow_spec())
        self._wait_for("tally's COPY", self._pg_backend)
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=120)
        r = harness.Result(subprocess.CompletedProcess([], p.returncode, stdout, stderr), out)
        self.assertTrouble(r, r"check 'big': chunk 1: interrupted")
        self.assertIn("run again with --resume", r.stderr)
        # Where the README says: a top-level key, beside "error", not inside it.
        self.assertEqual(r.report["resume"], "finished chunks are kept: run again with --resume to do the rest")
        self.assertEqual(sorted(r.report["error"]), ["detail", "hint", "message"])
        # A worker's failure gives no verdict, but the report still lists the check, with no counts.
        self.assertEqual([(c["name"], c["status"], c["missing"], c["extra"], c["changed"], c["repair"])
                          for c in r.report["checks"]], [("big", "not run", None, None, None, None)])


class ServerDeath(TallyCase):
    """Servers of their own, so killing them disturbs no other test."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tally-it-death-")
        p = subprocess.run([os.path.join(harness.REPO, "scripts", "servers.sh"), "start", cls.dir],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"servers.sh start failed: {p.stderr}")
        cls.env = {}
        for line in open(os.path.join(cls.dir, "env")):
            k, _, v = line.strip().partition("=")
            cls.env[k] = v
        saved = dict(os.environ)
        os.environ.update(cls.env)
        try:
            cls.pg = PG()
            cls.my = MY()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        cls.pg.create_db(TGT_DB)
        cls.pg.psql(TGT_DB, "CREATE TABLE big (id int PRIMARY KEY, v text);"
                            "INSERT INTO big SELECT g, repeat('x', 20) FROM generate_series(1, 20000) g;")
        cls.my.create_db(SRC_DB)
        cls.my.sql(SRC_DB, "CREATE TABLE big (id INT PRIMARY KEY, v TEXT);"
                           "INSERT INTO big SELECT seq, REPEAT('x', 20) FROM seq_1_to_20000;")

    @classmethod
    def tearDownClass(cls):
        subprocess.run([os.path.join(harness.REPO, "scripts", "servers.sh"), "stop", cls.dir],
                       capture_output=True)
        subprocess.run(["rm", "-rf", cls.dir])

    def _run_and_kill(self, engine, kill):
        if engine == "my":
            dsn, src, tgt = (self.my.dsn(SRC_DB), "SELECT id, v FROM big WHERE SLEEP(0.0003) = 0",
                             "SELECT id, v FROM big")
            driver = "mariadb"
        else:
            dsn, src, tgt = (self.pg.dsn(TGT_DB), "SELECT id, v FROM big",
                             "SELECT id, v FROM big WHERE pg_sleep(0.0003) IS NOT NULL")
            driver = "postgres"
        # Both sides on the one server that dies, so the other test's
        # server is not needed.
        spec = self.write_spec(f"""version: 1
name: it-death
systems:
  legacy: {{ driver: {driver}, dsn: "{dsn}" }}
  billing: {{ driver: {driver}, dsn: "{dsn}" }}
checks:
  - name: big
    source: {{ system: legacy, query: "{src}" }}
    target: {{ system: billing, query: "{tgt}" }}
    key: [id]
""")
        out = os.path.join(self.tmp, "out")
        p = subprocess.Popen([harness.tally_bin(), "check", spec, "--out", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        self.assertIsNone(p.poll(), "tally finished before the server could die")
        kill()
        stdout, stderr = p.communicate(timeout=120)
        return harness.Result(subprocess.CompletedProcess([], p.returncode, stdout, stderr), out)

    def test_mariadb_dies(self):
        """The server is gone for good: three reconnections fail, then the check errs, exit 2, resumable."""
        pid = int(open(os.path.join(self.dir, "my", "mariadbd.pid")).read())
        r = self._run_and_kill("my", lambda: os.kill(pid, signal.SIGKILL))
        self.assertEqual(r.code, 2, r.stderr)
        self.assertRegex(r.stderr, r"tally: check 'big': chunk 1: \[(source|target) pid \d+\] lost connection to "
                                   r"(source|target) system '(legacy|billing)' while reading the query; "
                                   r"retrying in 1 s \(1 of 3\)")
        self.assertIn("retrying in 4 s (3 of 3)", r.stderr)
        self.assertRegex(r.stderr, r"tally: error: check 'big': cannot connect to (source|target) system")
        self.assertIn("run again with --resume", r.stderr)
        self.assertEqual(r.report["status"], "error")
        # Lost for good after the retries: the check's own error (the others would go on).
        self.assertEqual(r.report["resume"],
                         "the other checks' results are kept: run again with --resume to redo only the checks in error")
        self.assertEqual([(c["name"], c["status"], c["source"]["rows"]) for c in r.report["checks"]],
                         [("big", "error", None)])
        self.assertFalse(r.diff_exists)

    def test_postgres_dies(self):
        # SIGKILL on the backend: the postmaster then ends every session and
        # restarts, as after any crash of a server process.
        def kill():
            e = dict(os.environ, PGPASSWORD=self.pg.admin_pw)
            sql = "SELECT pid FROM pg_stat_activity WHERE usename = 'tally' AND query LIKE 'COPY%'"
            # On a loaded machine tally may still be planning after a second:
            # look for its COPY until it shows (the query reads for several seconds).
            deadline = time.time() + 60
            while True:
                pid = subprocess.run([os.path.join(self.pg.bindir, "psql"), "-X", "-A", "-t", "-h", self.pg.host,
                                      "-p", self.pg.port, "-U", self.pg.admin, "-d", "postgres", "-c", sql],
                                     capture_output=True, text=True, env=e).stdout.split()
                if pid or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertTrue(pid, "tally's COPY is not running")
            os.kill(int(pid[0]), signal.SIGKILL)
        r = self._run_and_kill("pg", kill)
        # The server restarts after the crash, but the snapshot the run shared
        # died with it: redoing the chunk on another snapshot would mix states.
        self.assertEqual(r.code, 2, r.stderr)
        self.assertRegex(r.stderr, r"check 'big': chunk 1: \[(source|target) pid \d+\] lost connection to "
                                   r"(source|target) system '(legacy|billing)' while reading the query; retrying")
        self.assertRegex(r.stderr, r"tally: error: check 'big': .*cannot import snapshot")
        self.assertEqual(r.report["status"], "error")
        self.assertFalse(r.diff_exists)


if __name__ == "__main__":
    harness.main()
