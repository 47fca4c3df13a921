#!/usr/bin/env python3
"""
bench/bench.py
  Measures tally against two baselines on the same data, in one run:
    reader   bench/reader.c: reads both tables at once and discards the
             rows (the physical limit: what the servers and the wire allow)
    clients  psql COPY and mariadb --quick dumping both tables at once,
             ordered by key (what a user would otherwise start from)
    tally    tally check, MariaDB (source) -> PostgreSQL (target)
  on a 7-column table of N rows with a known difference set, and prints
  wall times (median of --runs), the ratios and tally's peak RSS.

  bench/bench.py [--rows N] [--runs K] [--jobs J] [--key int|text] [--servers DIR] [--keep] [--counts]
                 [--tally PATH]

  --tally times another tally binary (default: build/tally), for a before
  and after comparison on the same script.

  --counts also times tally --mode counts (row counts per chunk in each
  server, no row read) on the same table, and prints each mode's bytes
  received and queries sent (report.json).

  --key text keys the table by a text column under each engine's usual
  case-insensitive collation (MariaDB utf8mb4_general_ci, PostgreSQL ICU
  "und-x-icu"), whose order is not tally's bytewise order: the servers
  read in index order and tally sorts each chunk locally.

  Without --servers it starts throwaway servers (scripts/servers.sh) and
  stops them at the end. Timing is never asserted: this is not a test.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "build")
DB = "tally_bench"

# Known differences injected into the target, as a function of N.
def diff_ids(n):
    changed = list(range(100_000, n + 1, 100_000)) or [n // 2]
    missing = [7 + k * (n // 10) for k in range(10)]
    extra = [n + 1 + k for k in range(10)]
    return changed, missing, extra


def load_env(path):
    env = {}
    for line in open(path):
        k, _, v = line.strip().partition("=")
        if k:
            env[k] = v
    return env


def run(cmd, env=None, stdin=None):
    p = subprocess.run(cmd, env=env, stdin=stdin, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd[:3])}... failed: {p.stderr[-2000:]}")
    return p.stdout


# The text key: mixed case and a non-ASCII letter, so that index order and
# bytewise order differ.
PG_TEXT_KEY = "(ARRAY['a', 'B', 'c', 'Ä'])[1 + g % 4] || lpad(g::text, 9, '0')"
MY_TEXT_KEY = "CONCAT(ELT(1 + seq % 4, 'a', 'B', 'c', 'Ä'), LPAD(seq, 9, '0'))"


def seed(e, n, text_key):
    pg_env = dict(os.environ, PGPASSWORD=e["TALLY_PG_ADMIN_PASSWORD"])
    psql = [os.path.join(e["TALLY_PG_BINDIR"], "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", e["TALLY_PG_PORT"], "-U", e["TALLY_PG_ADMIN_USER"]]
    my_env = dict(os.environ, MYSQL_PWD=e["TALLY_MY_ADMIN_PASSWORD"])
    maria = ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", e["TALLY_MY_PORT"], "-u", e["TALLY_MY_ADMIN_USER"]]
    changed, missing, extra = diff_ids(n)

    run(psql + ["-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"], pg_env)
    run(psql + ["-d", "postgres", "-c", f"CREATE DATABASE {DB}"], pg_env)
    pg_key = 'k text COLLATE "und-x-icu" PRIMARY KEY, id bigint NOT NULL' if text_key else "id bigint PRIMARY KEY"
    my_key = ("k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, id BIGINT NOT NULL" if text_key
              else "id BIGINT PRIMARY KEY")
    pg_k = PG_TEXT_KEY + ", " if text_key else ""
    my_k = MY_TEXT_KEY + ", " if text_key else ""
    run(psql + ["-d", DB, "-c", f"""
        CREATE TABLE t ({pg_key}, a int NOT NULL, b numeric(12,2) NOT NULL, c text NOT NULL,
                        d timestamp(6) NOT NULL, e boolean NOT NULL, f double precision NOT NULL);
        INSERT INTO t SELECT {pg_k}g, g * 7 % 1000, round((g * 7919 % 100000) / 100.0, 2), 'name-' || (g * 31 % 100000),
            timestamp '2024-01-01' + g * interval '1 second' + (g * 7919 % 1000000) * interval '1 microsecond',
            g % 3 = 0, g / 7.0::float8
        FROM generate_series(1::bigint, {n}) g;
        UPDATE t SET b = b + 0.01 WHERE id IN ({','.join(map(str, changed))});
        DELETE FROM t WHERE id IN ({','.join(map(str, missing))});
        INSERT INTO t SELECT {pg_k}g, 0, 0, 'extra', timestamp '2024-01-01', false, 0 FROM unnest(ARRAY[{','.join(map(str, extra))}]) g;"""],
        pg_env)
    run(psql + ["-d", DB, "-c", "VACUUM ANALYZE t"], pg_env)

    run(maria + ["-e", f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB}"], my_env)
    run(maria + ["-D", DB, "-e", f"""
        CREATE TABLE t ({my_key}, a INT NOT NULL, b DECIMAL(12,2) NOT NULL, c VARCHAR(40) NOT NULL,
                        d DATETIME(6) NOT NULL, e TINYINT(1) NOT NULL, f DOUBLE NOT NULL) ENGINE=InnoDB"""], my_env)
    step = 1_000_000
    for lo in range(1, n + 1, step):
        hi = min(n, lo + step - 1)
        run(maria + ["-D", DB, "-e", f"""
            INSERT INTO t SELECT {my_k}seq, seq * 7 % 1000, ROUND((seq * 7919 % 100000) / 100, 2),
                CONCAT('name-', seq * 31 % 100000),
                TIMESTAMP('2024-01-01') + INTERVAL seq SECOND + INTERVAL (seq * 7919 % 1000000) MICROSECOND,
                seq % 3 = 0, seq / 7e0
            FROM seq_{lo}_to_{hi}"""], my_env)
    run(maria + ["-D", DB, "-e", "ANALYZE TABLE t"], my_env)
    return len(changed), len(missing), len(extra)


def timed(cmd, env=None, shell=False):
    """Wall seconds, peak RSS (KiB), exit code, stderr and CPU seconds (user + system) of one command."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_maxrss, p.returncode, p.stderr.read().decode(), ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--servers", help="use servers already started by scripts/servers.sh in DIR")
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    ap.add_argument("--jobs", type=int, default=2, help="tally --jobs (default 2)")
    ap.add_argument("--chunk-rows", type=int, help="tally --chunk-rows (default: tally's)")
    ap.add_argument("--key", choices=("int", "text"), default="int", help="the table's key (default int)")
    ap.add_argument("--counts", action="store_true", help="also time tally --mode counts")
    ap.add_argument("--tally", default=os.path.join(BUILD, "tally"), help="the tally binary (default build/tally)")
    args = ap.parse_args()

    own = None
    if args.servers:
        sdir = args.servers
    else:
        own = sdir = tempfile.mkdtemp(prefix="tally-bench-servers-")
        run([os.path.join(REPO, "scripts", "servers.sh"), "start", sdir])
    tmp = tempfile.mkdtemp(prefix="tally-bench-")
    try:
        e = load_env(os.path.join(sdir, "env"))
        t0 = time.monotonic()
        nchanged, nmissing, nextra = seed(e, args.rows, args.key == "text")
        print(f"seeded {args.rows} rows in {time.monotonic() - t0:.1f} s", file=sys.stderr)

        env = dict(os.environ, **e)
        env["MYSQL_PWD"] = e["TALLY_MY_PASSWORD"]
        pg_conninfo = (f"host=127.0.0.1 port={e['TALLY_PG_PORT']} user=tally dbname={DB} "
                       f"password={e['TALLY_PG_PASSWORD']} sslmode=disable")
        cols = "k, id, a, b, c, d, e, f" if args.key == "text" else "id, a, b, c, d, e, f"
        order = "k" if args.key == "text" else "id"
        reader = [os.path.join(BUILD, "bench", "reader"), pg_conninfo,
                  f"COPY (SELECT {cols} FROM t ORDER BY {order}) TO STDOUT",
                  "127.0.0.1", e["TALLY_MY_PORT"], "tally", DB, f"SELECT {cols} FROM t ORDER BY {order}"]
        clients = (f"PGPASSWORD=$TALLY_PG_PASSWORD {e['TALLY_PG_BINDIR']}/psql -X -h 127.0.0.1 "
                   f"-p $TALLY_PG_PORT -U tally -d {DB} -c 'COPY (SELECT {cols} FROM t ORDER BY {order}) TO STDOUT' "
                   f"> /dev/null & mariadb --no-defaults --quick --batch -h 127.0.0.1 -P $TALLY_MY_PORT -u tally "
                   f"-D {DB} -e 'SELECT {cols} FROM t ORDER BY {order}' > /dev/null & wait")
        spec = os.path.join(tmp, "bench.yaml")
        with open(spec, "w") as f:
            f.write(f"""version: 1
name: bench
systems:
  legacy: {{ driver: mariadb, dsn: "mariadb://tally:${{TALLY_MY_PASSWORD}}@127.0.0.1:${{TALLY_MY_PORT}}/{DB}" }}
  billing: {{ driver: postgres, dsn: "postgresql://tally:${{TALLY_PG_PASSWORD}}@127.0.0.1:${{TALLY_PG_PORT}}/{DB}?sslmode=disable" }}
checks:
  - name: t
    source: {{ system: legacy, table: t }}
    target: {{ system: billing, table: t }}
""")
        tally = [args.tally, "check", spec, "--out", os.path.join(tmp, "out"), "--quiet",
                 "--jobs", str(args.jobs)] + (["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else [])

        counts = [x if x != os.path.join(tmp, "out") else os.path.join(tmp, "out-counts") for x in tally]
        counts += ["--mode", "counts"]
        results = {}
        for name, cmd, shell, ok in (("reader", reader, False, (0,)),
                                     ("clients", clients, True, (0,)),
                                     ("tally", tally, False, (1,))) + ((("counts", counts, False, (1,)),)
                                                                       if args.counts else ()):
            walls, cpus, rss = [], [], 0
            for _ in range(args.runs):
                wall, maxrss, code, err, cpu = timed(cmd, env=env, shell=shell)
                if code not in ok:
                    sys.exit(f"bench: {name} exited {code}: {err[-2000:]}")
                walls.append(wall)
                cpus.append(cpu)
                rss = max(rss, maxrss)
            results[name] = (statistics.median(walls), rss, statistics.median(cpus))

        import json
        rep = json.load(open(os.path.join(tmp, "out", "latest", "report.json")))["checks"][0]
        found = (rep["changed"], rep["missing"], rep["extra"])
        if found != (nchanged, nmissing, nextra):
            sys.exit(f"bench: tally found changed/missing/extra {found}, expected {(nchanged, nmissing, nextra)}")

        r, c, t = results["reader"][0], results["clients"][0], results["tally"][0]
        print(f"rows per side        {args.rows} ({args.key} key)")
        print(f"reader   (floor)     {r:7.2f} s")
        print(f"clients  (psql+mariadb) {c:4.2f} s")
        print(f"tally    (jobs {args.jobs})    {t:7.2f} s   peak RSS {results['tally'][1] / 1024:.1f} MiB")
        print(f"tally    CPU (user+sys) {results['tally'][2]:5.2f} s")
        print(f"tally / reader       {t / r:7.2f}")
        print(f"tally / clients      {t / c:7.2f}")
        print(f"differences found    changed {found[0]}, missing {found[1]}, extra {found[2]} (as seeded)")
        if args.counts:
            crep = json.load(open(os.path.join(tmp, "out-counts", "latest", "report.json")))["checks"][0]
            k = results["counts"][0]
            print(f"tally --mode counts  {k:7.2f} s   peak RSS {results['counts'][1] / 1024:.1f} MiB"
                  f"   ({k / t:.2f} of stream; {crep['chunks']['mismatched']} of {crep['chunks']['total']}"
                  " chunks differ in count)")
            for name, rp in (("stream", rep), ("counts", crep)):
                print(f"{name:6} received     source {rp['source']['bytes']} B in {rp['source']['queries']} "
                      f"queries, target {rp['target']['bytes']} B in {rp['target']['queries']} queries")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if own:
            subprocess.run([os.path.join(REPO, "scripts", "servers.sh"), "stop", own], capture_output=True)
            shutil.rmtree(own, ignore_errors=True)


if __name__ == "__main__":
    main()
