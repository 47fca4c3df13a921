#!/usr/bin/env python3
"""
tests/integration/test_ddl.py
  DDL issued by another session while tally runs, on the real servers: a
  verdict is either the exact truth or there is none. The table `big`
  holds 20,000 rows a side with 20 missing, 2 extra and 8 changed; every
  run that reports counts for it must report exactly those.

  PostgreSQL: tally's locks make ALTER TABLE ... TYPE and TRUNCATE wait;
  tally lets go after --yield-after (exit 2 naming the waiting pid, the
  DDL then completes at once); --resume after a DDL that did not rewrite
  the table finishes with the exact verdict, after one that did the check
  is an error; --on-lock-wait wait waits and redoes, with the same rule;
  a rewrite that bypasses the locks (TALLY_TEST_SKIP_LOCKS) is caught by
  the stamps; a lock held by someone else stops tally within
  --lock-timeout, naming the holder. MariaDB: an ALTER waiting on tally's
  metadata locks gets through after --yield-after, or tally waits and
  redoes. A role's statement limit is kept, and --statement-timeout
  overrides it; the report gives the snapshot's age and the xmin age.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC = "tally_it_ddl_src"
TGT = "tally_it_ddl_tgt"
N = 20000
MISSING = [17, 1500, 4500, 6001, 7500, 9000, 10000, 10501, 11002, 11503,
           12004, 12505, 13006, 13507, 14008, 14509, 15010, 15511, 16012, 19999]
EXTRA = [20001, 20002]
CHANGED = [5, 2121, 4000, 8000, 12000, 16500, 18000, 19500]
# About 3 s: 2 x 20,000 rows at 10,000 rows/s, less the rate limiter's first second.
SLOW = ["--chunk-rows", "1000", "--max-rate", "10000", "--jobs", "2"]

PG_TARGET_SQL = f"""
    DROP TABLE IF EXISTS big, small, victim;
    CREATE TABLE big (id int PRIMARY KEY, a int NOT NULL, b text);
    INSERT INTO big SELECT g, g * 3, 'row ' || g FROM generate_series(1, {N}) g;
    DELETE FROM big WHERE id IN ({",".join(map(str, MISSING))});
    INSERT INTO big VALUES {",".join(f"({k}, 0, 'extra')" for k in EXTRA)};
    UPDATE big SET b = 'changed' WHERE id IN ({",".join(map(str, CHANGED))});
    CREATE TABLE small (id int PRIMARY KEY, v text);
    INSERT INTO small SELECT g, 'v' || g FROM generate_series(1, 100) g;
    UPDATE small SET v = 'other' WHERE id = 7;
    CREATE TABLE victim (id int PRIMARY KEY, a int NOT NULL);
    INSERT INTO victim SELECT g, g FROM generate_series(1, 3000) g;
    ANALYZE big;
"""
PG_SOURCE_SQL = f"""
    CREATE TABLE big (id int PRIMARY KEY, a int NOT NULL, b text);
    INSERT INTO big SELECT g, g * 3, 'row ' || g FROM generate_series(1, {N}) g;
    CREATE TABLE small (id int PRIMARY KEY, v text);
    INSERT INTO small SELECT g, 'v' || g FROM generate_series(1, 100) g;
    CREATE TABLE victim (id int PRIMARY KEY, a int NOT NULL);
    INSERT INTO victim SELECT g, g FROM generate_series(1, 3000) g;
    CREATE TABLE scratch (n int);
    ANALYZE big;
"""
MY_SQL = f"""
    DROP TABLE IF EXISTS big, small;
    CREATE TABLE big (id INT PRIMARY KEY, a INT NOT NULL, b TEXT);
    INSERT INTO big SELECT seq, seq * 3, CONCAT('row ', seq) FROM seq_1_to_{N};
    CREATE TABLE small (id INT PRIMARY KEY, v TEXT);
    INSERT INTO small SELECT seq, CONCAT('v', seq) FROM seq_1_to_100;
"""
MY_TARGET_DIFFS = f"""
    DELETE FROM big WHERE id IN ({",".join(map(str, MISSING))});
    INSERT INTO big VALUES {",".join(f"({k}, 0, 'extra')" for k in EXTRA)};
    UPDATE big SET b = 'changed' WHERE id IN ({",".join(map(str, CHANGED))});
    ANALYZE TABLE big;
"""


def wait_for(what, cond, timeout=15.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class DDL(TallyCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = harness.PG()
        cls.my = harness.MY()
        cls.pg.create_db(SRC)
        cls.pg.create_db(TGT)
        cls.pg.psql(SRC, PG_SOURCE_SQL)
        cls.pg.psql(TGT, PG_TARGET_SQL)
        cls.my.create_db(SRC)
        cls.my.create_db(TGT)
        cls.my.sql(SRC, MY_SQL + "ANALYZE TABLE big;")

    @classmethod
    def tearDownClass(cls):
        for db in (SRC, TGT):
            cls.pg.drop_db(db)
            cls.my.drop_db(db)
        cls.pg.psql("postgres", "DROP ROLE IF EXISTS tally_it_slow;")
        cls.my.sql(None, "DROP USER IF EXISTS 'tally_it_slow'@'127.0.0.1';")

    def setUp(self):
        super().setUp()
        self.procs = []

    def pg_dirty(self):
        """The test changes the target's tables: put them back afterwards."""
        self.addCleanup(self.pg.psql, TGT, PG_TARGET_SQL)

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        super().tearDown()

    # ---- helpers ---------------------------------------------------------

    def pg_spec(self, checks=("big", "small"), src_dsn=None, tgt_dsn=None):
        body = "".join(f"""  - name: {c}
    source: {{ system: old, table: {c} }}
    target: {{ system: new, table: public.{c} }}
""" for c in checks)
        return f"""version: 1
name: it-ddl
systems:
  old: {{ driver: postgres, dsn: "{src_dsn or self.pg.dsn_env(SRC)}" }}
  new: {{ driver: postgres, dsn: "{tgt_dsn or self.pg.dsn_env(TGT)}" }}
checks:
{body}"""

    def my_spec(self):
        return f"""version: 1
name: it-ddl-my
systems:
  old: {{ driver: mariadb, dsn: "{self.my.dsn_env(SRC)}" }}
  new: {{ driver: mariadb, dsn: "{self.my.dsn_env(TGT)}" }}
checks:
  - name: big
    source: {{ system: old, table: big }}
    target: {{ system: new, table: big }}
"""

    def start(self, spec_text, *args, env_extra=None, outdir=None):
        spec = self.write_spec(spec_text)
        out = outdir or os.path.join(self.tmp, "out")
        e = dict(os.environ, **(env_extra or {}))
        p = subprocess.Popen([harness.tally_bin(), "check", spec, "--out", out, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        self.procs.append(p)
        return p, out

    def finish(self, p, out, timeout=60):
        stdout, stderr = p.communicate(timeout=timeout)
        return harness.Result(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr), out)

    def pg_admin_bg(self, db, sql, app):
        e = dict(os.environ, PGPASSWORD=self.pg.admin_pw, PGAPPNAME=app)
        p = subprocess.Popen([os.path.join(self.pg.bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                              "-h", self.pg.host, "-p", self.pg.port, "-U", self.pg.admin, "-d", db],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=e)
        p.stdin.write(sql)
        p.stdin.close()
        self.procs.append(p)
        return p

    def my_admin_bg(self, db, sql):
        e = dict(os.environ, MYSQL_PWD=self.my.admin_pw)
        p = subprocess.Popen(["mariadb", "--no-defaults", "-h", self.my.host, "-P", self.my.port, "-u",
                              self.my.admin, "-D", db, "-e", sql],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        self.procs.append(p)
        return p

    def pg_value(self, db, sql):
        return self.pg.psql(db, sql).strip()

    def pg_tally_locked(self, table):
        """tally's coordinator holds ACCESS SHARE on the target's table."""
        return self.pg_value(TGT, f"""SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE a.application_name = 'tally' AND l.relation = 'public.{table}'::regclass
              AND l.mode = 'AccessShareLock' AND l.granted""") != "0"

    def pg_waiting_pid(self, app):
        v = self.pg_value(TGT, f"""SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l USING (pid)
            WHERE a.application_name = '{app}' AND NOT l.granted""")
        return int(v) if v else None

    def my_tally_running(self):
        return self.my.sql(None, f"""SELECT COUNT(*) FROM information_schema.PROCESSLIST
            WHERE USER = 'tally' AND DB = '{TGT}'""").strip() not in ("", "0")

    def my_waiting_thread(self):
        v = self.my.sql(None, f"""SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{TGT}'
            AND USER = '{self.my.admin}' AND STATE = 'Waiting for table metadata lock'""").strip()
        return int(v) if v else None

    def assertBigExact(self, r):
        c = r.check("big")
        self.assertEqual((c["status"], c["missing"], c["extra"], c["changed"]),
                         ("inconsistent", len(MISSING), len(EXTRA), len(CHANGED)), r.stderr)
        self.assertEqual(r.keys("big", "missing"), MISSING)
        self.assertEqual(r.keys("big", "extra"), EXTRA)
        self.assertEqual(r.keys("big", "changed"), CHANGED)
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (N, N - len(MISSING) + len(EXTRA)))

    def assertSmallExact(self, r):
        c = r.check("small")
        self.assertEqual((c["status"], c["missing"], c["extra"], c["changed"]), ("inconsistent", 0, 0, 1))
        self.assertEqual(r.keys("small", "changed"), [7])

    def assertNoVerdict(self, r, name, *words):
        """The check is an error: no counts, no difference lines, its error says why."""
        c = r.check(name)
        self.assertEqual(c["status"], "error")
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (None, None, None))
        self.assertEqual([d for d in r.diffs if d["check"] == name], [])
        for w in words:
            self.assertIn(w, c["error"]["message"])

    # ---- PostgreSQL ------------------------------------------------------

    def test_pg_clean_run_exact(self):
        r = self.tally(self.pg_spec(), "--chunk-rows", "1000", "--jobs", "2")
        self.assertEqual(r.code, 1, r.stderr)
        self.assertBigExact(r)
        self.assertSmallExact(r)
        self.assertEqual(r.report["status"], "inconsistent")
        self.assertGreaterEqual(r.check("big")["chunks"]["total"], 10)

    def test_pg_snapshot_and_xmin_age_reported(self):
        t0 = time.time()
        p, out = self.start(self.pg_spec(("big",)), *SLOW, "--progress")
        wait_for("tally's lock", lambda: self.pg_tally_locked("big"))
        t_locked = time.time()
        # Five transactions that take an xid each, while tally's snapshot is open.
        for i in range(5):
            self.pg.psql(SRC, f"INSERT INTO scratch VALUES ({i});")
        r = self.finish(p, out)
        t_end = time.time()
        self.assertEqual(r.code, 1, r.stderr)
        self.assertBigExact(r)
        s = r.report["sessions"]["new"]
        # The last look is taken when the workers are done: the snapshot is
        # as old as the run, less the moments before and after it.
        self.assertGreaterEqual(t_end - t_locked, 2.0)
        self.assertGreaterEqual(s["snapshot_age_seconds"], t_end - t_locked - 1.0)
        self.assertLessEqual(s["snapshot_age_seconds"], t_end - t0)
        self.assertGreaterEqual(s["xmin_age"], 5)
        self.assertEqual(s["statement_timeout_seconds"], 600)
        self.assertGreaterEqual(r.report["sessions"]["old"]["xmin_age"], 5)
        lines = [ln for ln in r.stderr.splitlines() if " chunks, " in ln]
        self.assertTrue(lines, r.stderr)
        self.assertRegex(lines[-1], r", oldest snapshot \d+:\d\d:\d\d, xmin age \d+$")

    def yield_to(self, ddl, app, *extra):
        """Starts a slow run, issues ddl on the target once tally holds its lock; returns (result, pid, ddl proc)."""
        self.pg_dirty()
        p, out = self.start(self.pg_spec(), *SLOW, "--yield-after", "1", *extra)
        wait_for("tally's lock", lambda: self.pg_tally_locked("big"))
        d = self.pg_admin_bg(TGT, ddl, app)
        pid = wait_for("the DDL to wait", lambda: self.pg_waiting_pid(app))
        r = self.finish(p, out)
        return r, pid, d, out

    def assertYielded(self, r, pid, ddl_proc, what):
        self.assertEqual(r.code, 2, r.stderr)
        self.assertIn(f"pid {pid} (user 'postgres', application 'ddl-test') has waited", r.stderr)
        self.assertIn(f"for {what} on big, which tally holds: tally let go", r.stderr)
        self.assertEqual(r.report["status"], "error")
        self.assertIn("--resume", r.report["resume"])
        self.assertFalse(r.diff_exists)
        # tally is gone, and so are its locks: the DDL completes at once.
        t0 = time.time()
        ddl_proc.wait(timeout=10)
        self.assertLess(time.time() - t0, 3.0)
        self.assertEqual(ddl_proc.returncode, 0, ddl_proc.stderr.read())

    def test_pg_alter_waits_then_tally_yields_and_resume_finishes(self):
        r, pid, d, out = self.yield_to("ALTER TABLE big ADD COLUMN c int;", "ddl-test")
        self.assertYielded(r, pid, d, "AccessExclusiveLock")
        # No rewrite (a new column without a default): resuming gives the verdict.
        again = self.tally(self.pg_spec(), "--resume", outdir=out)
        self.assertEqual(again.code, 1, again.stderr)
        self.assertBigExact(again)
        self.assertSmallExact(again)

    def test_pg_alter_type_yields_and_resume_refuses_the_check(self):
        r, pid, d, out = self.yield_to("ALTER TABLE big ALTER COLUMN a TYPE bigint;", "ddl-test")
        self.assertYielded(r, pid, d, "AccessExclusiveLock")
        again = self.tally(self.pg_spec(), "--resume", outdir=out)
        self.assertEqual(again.code, 2, again.stderr)
        self.assertEqual(again.report["status"], "error")
        self.assertNoVerdict(again, "big", "table 'public.big' on target system 'new' was rewritten",
                             "since the interrupted run began")
        self.assertSmallExact(again)
        self.assertIn("was rewritten", again.stderr)
        self.assertTrue(again.diff_exists)
        self.assertEqual({d["check"] for d in again.diffs}, {"small"})
        repair = open(os.path.join(again.outdir, "repair.new.sql")).read()
        self.assertIn("check small", repair)
        self.assertNotIn("check big", repair)

    def test_pg_truncate_reload_with_wait_is_an_error_not_a_verdict(self):
        ddl = f"BEGIN; TRUNCATE big; INSERT INTO big SELECT g, g * 3, 'row ' || g FROM generate_series(1, {N}) g; COMMIT;"
        r, pid, d, out = self.yield_to(ddl, "ddl-test", "--on-lock-wait", "wait")
        self.assertEqual(r.code, 2, r.stderr)
        self.assertIn(f"pid {pid} (user 'postgres', application 'ddl-test')", r.stderr)
        self.assertIn("waiting for it to finish", r.stderr)
        self.assertNoVerdict(r, "big", "was rewritten", "while tally waited for it")
        self.assertSmallExact(r)
        self.assertEqual(d.wait(timeout=10), 0)

    def test_pg_alter_with_wait_redoes_and_gives_the_verdict(self):
        r, pid, d, out = self.yield_to("ALTER TABLE big ADD COLUMN c int;", "ddl-test", "--on-lock-wait", "wait")
        self.assertEqual(r.code, 1, r.stderr)
        self.assertIn("waiting for it to finish", r.stderr)
        self.assertBigExact(r)
        self.assertSmallExact(r)
        self.assertEqual(d.wait(timeout=10), 0)

    def test_pg_rewrite_past_the_locks_is_caught_by_the_stamps(self):
        # Tests only: no locks, so the ALTER does not wait; the big check keeps
        # the only worker busy while the victim's target is rewritten. As a
        # shard, so that tally merge is seen to keep the error too.
        self.pg_dirty()
        spec = self.pg_spec(("big", "victim"))
        out0, out1 = os.path.join(self.tmp, "shard0"), os.path.join(self.tmp, "shard1")
        p, _ = self.start(spec, "--shard", "0/2", "--chunk-rows", "1000", "--max-rate", "5000", "--jobs", "1",
                          env_extra={"TALLY_TEST_SKIP_LOCKS": "1"}, outdir=out0)
        wait_for("tally to start", lambda: int(self.pg_value(
            TGT, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tally'")) >= 2)
        time.sleep(0.5)
        t0 = time.time()
        self.pg.psql(TGT, "ALTER TABLE victim ALTER COLUMN a TYPE bigint;")
        self.assertLess(time.time() - t0, 2.0)
        self.assertIsNone(p.poll())
        r = self.finish(p, out0)
        self.assertEqual(r.code, 2, r.stderr)
        self.assertNoVerdict(r, "victim", "table 'public.victim' on target system 'new' was rewritten",
                             "during the run")
        self.assertEqual(r.report["status"], "error")
        self.assertIn("was rewritten", r.stderr)
        # The other shard runs after the ALTER: its snapshot sees the new table whole.
        r1 = self.tally(spec, "--shard", "1/2", "--chunk-rows", "1000", outdir=out1)
        self.assertEqual(r1.code, 1, r1.stderr)
        self.assertEqual(r1.check("victim")["status"], "consistent")
        merged = os.path.join(self.tmp, "merged")
        m = subprocess.run([harness.tally_bin(), "merge", "--out", merged, out0, out1], capture_output=True,
                           text=True)
        mr = harness.Result(m, merged)
        self.assertEqual(m.returncode, 2, m.stderr)
        self.assertNoVerdict(mr, "victim", "was rewritten")
        self.assertBigExact(mr)
        self.assertEqual(mr.report["status"], "error")

    def test_pg_lock_timeout_names_the_holder(self):
        holder = self.pg_admin_bg(TGT, "BEGIN; LOCK TABLE small IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20);",
                                  "ddl-holder")
        pid = int(wait_for("the holder", lambda: self.pg_value(
            TGT, "SELECT pid FROM pg_stat_activity WHERE application_name = 'ddl-holder' AND state = 'active'")))
        t0 = time.time()
        r = self.tally(self.pg_spec(), "--lock-timeout", "1")
        elapsed = time.time() - t0
        self.assertEqual(r.code, 2, r.stderr)
        self.assertLess(elapsed, 5.0)
        self.assertIn(f"cannot lock table 'public.small' on target system 'new' within 1 s: pid {pid} "
                      "(user 'postgres', application 'ddl-holder', active, in a transaction for", r.stderr)
        self.assertIn(") holds ACCESS EXCLUSIVE", r.stderr)
        self.assertEqual(r.report["status"], "error")
        self.assertFalse(r.diff_exists)
        # The client going away does not end a pg_sleep(): end the session itself.
        self.pg.psql(TGT, f"SELECT pg_terminate_backend({pid});")
        holder.wait(timeout=10)

    def test_pg_role_statement_timeout_kept_unless_overridden(self):
        pw = "slow-pw-1"
        self.pg.psql("postgres", f"""DROP ROLE IF EXISTS tally_it_slow;
            CREATE ROLE tally_it_slow LOGIN PASSWORD '{pw}';
            GRANT pg_read_all_data TO tally_it_slow;
            ALTER ROLE tally_it_slow SET statement_timeout = '500ms';""")
        dsn = f"postgresql://tally_it_slow:{pw}@{self.pg.host}:{self.pg.port}/{SRC}?sslmode=disable"
        spec = f"""version: 1
name: it-ddl-slow
systems:
  old: {{ driver: postgres, dsn: "{dsn}" }}
  new: {{ driver: postgres, dsn: "{self.pg.dsn_env(TGT)}" }}
checks:
  - name: small
    source: {{ system: old, query: "SELECT id, v FROM small WHERE pg_sleep(0.01) IS NOT NULL" }}
    target: {{ system: new, table: public.small }}
    key: [id]
"""
        r = self.tally(spec)
        self.assertEqual(r.code, 2, r.stderr)
        self.assertIn("canceling statement due to statement timeout", r.stderr)
        self.assertIn("the statement ran past statement_timeout (0.5 s in this session)", r.stderr)
        self.assertEqual(r.report["sessions"]["old"]["statement_timeout_seconds"], 0.5)
        self.assertEqual(r.report["sessions"]["new"]["statement_timeout_seconds"], 600)
        ok = self.tally(spec, "--statement-timeout", "30")
        self.assertEqual(ok.code, 1, ok.stderr)
        self.assertSmallExact(ok)
        self.assertEqual(ok.report["sessions"]["old"]["statement_timeout_seconds"], 30)

    # ---- MariaDB ---------------------------------------------------------

    def my_reset(self):
        self.my.sql(TGT, MY_SQL + MY_TARGET_DIFFS)

    def my_yield_run(self, *extra):
        self.my_reset()
        p, out = self.start(self.my_spec(), *SLOW, "--yield-after", "1", *extra)
        wait_for("tally to start", self.my_tally_running)
        time.sleep(0.5)
        d = self.my_admin_bg(TGT, "ALTER TABLE big ADD COLUMN c INT")
        thread = wait_for("the ALTER to wait", self.my_waiting_thread)
        r = self.finish(p, out)
        return r, thread, d

    def test_my_alter_waits_then_tally_yields(self):
        r, thread, d = self.my_yield_run()
        self.assertEqual(r.code, 2, r.stderr)
        self.assertIn(f"system 'new': thread {thread} (user '{self.my.admin}') has waited", r.stderr)
        self.assertIn(f"for a metadata lock on {TGT}.big, which tally holds: tally let go", r.stderr)
        self.assertEqual(r.report["status"], "error")
        self.assertFalse(r.diff_exists)
        t0 = time.time()
        d.wait(timeout=10)
        self.assertLess(time.time() - t0, 3.0)
        self.assertEqual(d.returncode, 0, d.stderr.read())

    def test_my_alter_with_wait_redoes_and_gives_the_verdict(self):
        r, thread, d = self.my_yield_run("--on-lock-wait", "wait")
        self.assertEqual(r.code, 1, r.stderr)
        self.assertIn(f"thread {thread}", r.stderr)
        self.assertIn("waiting for it to finish", r.stderr)
        self.assertBigExact(r)
        self.assertEqual(d.wait(timeout=10), 0)
        self.assertGreaterEqual(r.report["sessions"]["new"]["snapshot_age_seconds"], 0)
        self.assertIsNone(r.report["sessions"]["new"]["xmin_age"])

    def test_my_max_statement_time_kept_unless_overridden(self):
        self.my_reset()
        pw = "slow-pw-2"
        self.my.sql(None, f"""DROP USER IF EXISTS 'tally_it_slow'@'127.0.0.1';
            CREATE USER 'tally_it_slow'@'127.0.0.1' IDENTIFIED BY '{pw}' WITH MAX_STATEMENT_TIME 0.5;
            GRANT SELECT, PROCESS ON *.* TO 'tally_it_slow'@'127.0.0.1';""")
        dsn = f"mariadb://tally_it_slow:{pw}@{self.my.host}:{self.my.port}/{SRC}"
        spec = f"""version: 1
name: it-ddl-slow-my
systems:
  old: {{ driver: mariadb, dsn: "{dsn}" }}
  new: {{ driver: mariadb, dsn: "{self.my.dsn_env(TGT)}" }}
checks:
  - name: small
    source: {{ system: old, query: "SELECT id, v FROM small WHERE SLEEP(0.01) = 0" }}
    target: {{ system: new, table: small }}
    key: [id]
"""
        self.my.sql(TGT, "UPDATE small SET v = 'other' WHERE id = 7")
        r = self.tally(spec)
        self.assertEqual(r.code, 2, r.stderr)
        self.assertIn("max_statement_time exceeded", r.stderr)
        self.assertIn("the statement ran past max_statement_time (0.5 s in this session)", r.stderr)
        self.assertEqual(r.report["sessions"]["old"]["statement_timeout_seconds"], 0.5)
        ok = self.tally(spec, "--statement-timeout", "30")
        self.assertEqual(ok.code, 1, ok.stderr)
        self.assertSmallExact(ok)
        self.assertEqual(ok.report["sessions"]["old"]["statement_timeout_seconds"], 30)


if __name__ == "__main__":
    harness.main()
