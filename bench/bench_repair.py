#!/usr/bin/env python3
"""
bench/bench_repair.py
  Measures large repairs: a table of --rows rows per side with --diffs
  differences (a third missing, a third changed, a third extra), for a
  PostgreSQL target and a MariaDB target. Reports tally's time and peak RSS
  while it writes the scripts, the script size, and how long the real
  client takes to apply the repair and then the rollback. Afterwards a
  check must find the tables equal (after the repair) and the original
  differences (after the rollback), or the benchmark fails.

  bench/bench_repair.py [--rows N] [--diffs D] [--servers DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))

from bench import load_env, run, timed  # noqa: E402

DB = "tally_bench_repair"


def seed(e, n, d):
    pg_env = dict(os.environ, PGPASSWORD=e["TALLY_PG_ADMIN_PASSWORD"])
    psql = [os.path.join(e["TALLY_PG_BINDIR"], "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", e["TALLY_PG_PORT"], "-U", e["TALLY_PG_ADMIN_USER"]]
    my_env = dict(os.environ, MYSQL_PWD=e["TALLY_MY_ADMIN_PASSWORD"])
    maria = ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", e["TALLY_MY_PORT"], "-u", e["TALLY_MY_ADMIN_USER"]]
    third = d // 3
    # Rows 1..n on the source; the target lacks 1..third (missing), has
    # third+1..2*third changed, and n+1..n+third more (extra).
    pg_rows = (f"SELECT g, g * 7 % 1000, round((g * 7919 % 100000) / 100.0, 2), 'name-' || (g * 31 % 100000), "
               f"timestamp '2024-01-01' + g * interval '1 second', g % 3 = 0 FROM generate_series(1::bigint, {n}) g")
    my_rows = (f"SELECT seq, seq * 7 % 1000, ROUND((seq * 7919 % 100000) / 100, 2), CONCAT('name-', seq * 31 % 100000), "
               f"TIMESTAMP('2024-01-01') + INTERVAL seq SECOND, seq % 3 = 0 FROM seq_1_to_{n}")
    for side in ("src", "tgt"):
        run(psql + ["-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {DB}_{side} WITH (FORCE)"], pg_env)
        run(psql + ["-d", "postgres", "-c", f"CREATE DATABASE {DB}_{side}"], pg_env)
        run(psql + ["-d", f"{DB}_{side}", "-c", f"""
            CREATE TABLE t (id bigint PRIMARY KEY, a int NOT NULL, b numeric(12,2) NOT NULL, c text NOT NULL,
                            d timestamp(6) NOT NULL, e boolean NOT NULL);
            INSERT INTO t {pg_rows};"""], pg_env)
        run(maria + ["-e", f"DROP DATABASE IF EXISTS {DB}_{side}; CREATE DATABASE {DB}_{side}"], my_env)
        run(maria + ["-D", f"{DB}_{side}", "-e", f"""
            CREATE TABLE t (id BIGINT PRIMARY KEY, a INT NOT NULL, b DECIMAL(12,2) NOT NULL, c VARCHAR(40) NOT NULL,
                            d DATETIME(6) NOT NULL, e TINYINT(1) NOT NULL) ENGINE=InnoDB;
            INSERT INTO t {my_rows};"""], my_env)
    run(psql + ["-d", f"{DB}_tgt", "-c", f"""
        DELETE FROM t WHERE id <= {third};
        UPDATE t SET b = b + 1, c = c || '!' WHERE id > {third} AND id <= {2 * third};
        INSERT INTO t SELECT g, 0, 0, 'extra', timestamp '2024-01-01', false
            FROM generate_series({n + 1}::bigint, {n + third}) g;"""], pg_env)
    run(maria + ["-D", f"{DB}_tgt", "-e", f"""
        DELETE FROM t WHERE id <= {third};
        UPDATE t SET b = b + 1, c = CONCAT(c, '!') WHERE id > {third} AND id <= {2 * third};
        INSERT INTO t SELECT seq, 0, 0, 'extra', '2024-01-01', 0 FROM seq_{n + 1}_to_{n + third};"""], my_env)
    return psql, pg_env, maria, my_env, third


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--diffs", type=int, default=100_000)
    ap.add_argument("--servers")
    args = ap.parse_args()
    own = None
    if args.servers:
        sdir = args.servers
    else:
        own = sdir = tempfile.mkdtemp(prefix="tally-bench-servers-")
        run([os.path.join(REPO, "scripts", "servers.sh"), "start", sdir])
    tmp = tempfile.mkdtemp(prefix="tally-bench-repair-")
    try:
        e = load_env(os.path.join(sdir, "env"))
        psql, pg_env, maria, my_env, third = seed(e, args.rows, args.diffs)
        env = dict(os.environ, **e)
        print(f"rows per side {args.rows}; differences {3 * third} "
              f"({third} missing, {third} changed, {third} extra)")
        for target in ("pg", "my"):
            src_sys = ('{ driver: mariadb, dsn: "mariadb://tally:${TALLY_MY_PASSWORD}@127.0.0.1:${TALLY_MY_PORT}/'
                       + DB + '_src" }') if target == "pg" else \
                      ('{ driver: postgres, dsn: "postgresql://tally:${TALLY_PG_PASSWORD}@127.0.0.1:'
                       '${TALLY_PG_PORT}/' + DB + '_src?sslmode=disable" }')
            tgt_sys = ('{ driver: postgres, dsn: "postgresql://tally:${TALLY_PG_PASSWORD}@127.0.0.1:'
                       '${TALLY_PG_PORT}/' + DB + '_tgt?sslmode=disable" }') if target == "pg" else \
                      ('{ driver: mariadb, dsn: "mariadb://tally:${TALLY_MY_PASSWORD}@127.0.0.1:${TALLY_MY_PORT}/'
                       + DB + '_tgt" }')
            spec = os.path.join(tmp, f"{target}.yaml")
            with open(spec, "w") as f:
                f.write(f"version: 1\nname: bench-repair\nsystems:\n  src: {src_sys}\n  tgt: {tgt_sys}\n"
                        "checks:\n  - name: t\n    source: { system: src, table: t }\n"
                        "    target: { system: tgt, table: t }\n")
            out = os.path.join(tmp, "out-" + target)
            cmd = [os.path.join(REPO, "build", "tally"), "check", spec, "--out", out, "--quiet"]
            wall, rss, code, err = timed(cmd, env=env)
            if code != 1:
                sys.exit(f"bench: tally exited {code}: {err}")
            rep = json.load(open(os.path.join(out, "report.json")))["checks"][0]["repair"]
            # The next run empties the output directory: keep the scripts.
            script = shutil.copy(os.path.join(out, rep["file"]), os.path.join(tmp, target + "-repair.sql"))
            rollback = shutil.copy(os.path.join(out, rep["rollback"]), os.path.join(tmp, target + "-rollback.sql"))
            size = os.path.getsize(script)
            if target == "pg":
                apply_cmd = psql + ["-d", f"{DB}_tgt", "-f"]
                aenv = pg_env
                t0 = time.monotonic()
                run(apply_cmd + [script], aenv)
                t_apply = time.monotonic() - t0
            else:
                t0 = time.monotonic()
                with open(script, "rb") as f:
                    run(maria + ["-D", f"{DB}_tgt"], my_env, stdin=f)
                t_apply = time.monotonic() - t0
            w2, _, code, err = timed(cmd, env=env)
            if code != 0:
                sys.exit(f"bench: after the repair tally exited {code}, expected 0: {err}")
            t0 = time.monotonic()
            if target == "pg":
                run(apply_cmd + [rollback], aenv)
            else:
                with open(rollback, "rb") as f:
                    run(maria + ["-D", f"{DB}_tgt"], my_env, stdin=f)
            t_rollback = time.monotonic() - t0
            _, _, code, err = timed(cmd, env=env)
            if code != 1:
                sys.exit(f"bench: after the rollback tally exited {code}, expected 1: {err}")
            name = "PostgreSQL" if target == "pg" else "MariaDB"
            print(f"{name:10} target: tally {wall:5.2f} s, peak RSS {rss / 1024:5.1f} MiB, script {size / 1e6:6.1f} MB, "
                  f"apply {t_apply:5.2f} s, rollback {t_rollback:5.2f} s "
                  f"(statements {rep['statements']})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if own:
            subprocess.run([os.path.join(REPO, "scripts", "servers.sh"), "stop", own], capture_output=True)
            shutil.rmtree(own, ignore_errors=True)


if __name__ == "__main__":
    main()
