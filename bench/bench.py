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
                 [--tally PATH] [--pushdown] [--density P]

  --tally times another tally binary (default: build/tally), for a before
  and after comparison on the same script.

  --counts also times tally --mode counts (row counts per chunk in each
  server, no row read) on the same table, and prints each mode's bytes
  received and queries sent (report.json).

  --key text keys the table by a text column under each engine's usual
  case-insensitive collation (MariaDB utf8mb4_general_ci, PostgreSQL ICU
  "und-x-icu"), whose order is not tally's bytewise order: the servers
  read in index order and tally sorts each chunk locally.

  tally runs --mode stream; --pushdown also times tally --mode auto (the
  default) and tally --mode pushdown, and one in-database hash
  pass over the whole table per side (the digest query alone, run by each
  server's client, both at once): the floor for a method that reads every
  row once in each server. Both tally runs then leave out the double
  column f (ignore: [f]), which pushdown cannot hash alike. --density P
  replaces the seeded differences by P % of the rows changed (evenly
  spread; 0: none).

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

# Known differences injected into the target, as a function of N (and --density).
def diff_ids(n, density=None):
    if density is not None:
        if density <= 0:
            return [], [], []
        step = max(1, round(100 / density))
        return list(range(step, n + 1, step)), [], []
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


def seed(e, n, text_key, density=None):
    pg_env = dict(os.environ, PGPASSWORD=e["TALLY_PG_ADMIN_PASSWORD"])
    psql = [os.path.join(e["TALLY_PG_BINDIR"], "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", e["TALLY_PG_PORT"], "-U", e["TALLY_PG_ADMIN_USER"]]
    my_env = dict(os.environ, MYSQL_PWD=e["TALLY_MY_ADMIN_PASSWORD"])
    maria = ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", e["TALLY_MY_PORT"], "-u", e["TALLY_MY_ADMIN_USER"]]
    changed, missing, extra = diff_ids(n, density)
    ids = lambda xs: ",".join(map(str, xs)) or "NULL"  # noqa: E731
    # An even spread is a modulus (a list of 100,000 ids would not fit a command line).
    changed_where = (f"id % {changed[1] - changed[0]} = 0" if density is not None and len(changed) > 1
                     else f"id IN ({ids(changed)})")

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
        UPDATE t SET b = b + 0.01 WHERE {changed_where};
        DELETE FROM t WHERE id IN ({ids(missing)});
        INSERT INTO t SELECT {pg_k}g, 0, 0, 'extra', timestamp '2024-01-01', false, 0
            FROM unnest(ARRAY[{ids(extra)}]::bigint[]) g WHERE g IS NOT NULL;"""],
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


# One in-database hash pass over the whole table, as tally's connectors write
# it (connectors/*/digest.c) for the columns id, a, b, c, d, e, in one group.
PG_DIGEST = """SELECT count(*), sum(('x' || substr(h, 1, 15))::bit(60)::int8),
  sum(('x' || substr(h, 16, 15))::bit(60)::int8) FROM (SELECT md5({row}) AS h FROM t OFFSET 0) d"""
PG_HASHTEXT = """SELECT count(*), sum(hashtextextended(h, 0)), sum(hashtextextended(h, 1))
  FROM (SELECT {row} AS h FROM t OFFSET 0) d"""
MY_DIGEST = """SELECT COUNT(*), SUM(CAST(CONV(SUBSTR(h, 1, 15), 16, 10) AS UNSIGNED)),
  SUM(CAST(CONV(SUBSTR(h, 16, 15), 16, 10) AS UNSIGNED))
  FROM (SELECT MD5(CONCAT_WS('|', {row})) AS h FROM t LIMIT 18446744073709551615) d"""


def pg_row():
    return " || '|' || ".join([
        "COALESCE(id::text, 'N')", "COALESCE(a::text, 'N')", "COALESCE(trim_scale(b)::text, 'N')",
        "COALESCE(octet_length(c::text)::text || ':' || c::text, 'N')",
        "COALESCE(CASE WHEN d >= '0001-01-01' AND d < 'infinity' THEN to_char(d, 'YYYY-MM-DD HH24:MI:SS.US') "
        "WHEN isfinite(d) THEN to_char(d, 'YYYY-MM-DD HH24:MI:SS.US') || CASE WHEN to_char(d, 'BC') = 'BC' "
        "THEN ' BC' ELSE '' END ELSE d::text END, 'N')",
        "COALESCE(e::int4::text, 'N')"])


def my_row():
    return ", ".join([
        "COALESCE(CAST(id AS CHAR), 'N')", "COALESCE(CAST(a AS CHAR), 'N')",
        "COALESCE(IF(b = 0, '0', TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(b AS CHAR)))), 'N')",
        "COALESCE(CONCAT(OCTET_LENGTH(CONVERT(c USING utf8mb4)), ':', CONVERT(c USING utf8mb4)), 'N')",
        "COALESCE(DATE_FORMAT(d, '%Y-%m-%d %H:%i:%s.%f'), 'N')", "COALESCE(CAST(e AS CHAR), 'N')"])


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
    ap.add_argument("--pushdown", action="store_true", help="also time tally --mode pushdown and one hash pass")
    ap.add_argument("--density", type=float, help="changed rows in %% instead of the seeded differences")
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
        nchanged, nmissing, nextra = seed(e, args.rows, args.key == "text", args.density)
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
""" + ("    ignore: [f]\n" if args.pushdown else ""))
        tally = [args.tally, "check", spec, "--out", os.path.join(tmp, "out"), "--quiet",
                 "--jobs", str(args.jobs)] + (["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else [])
        auto = [x if x != os.path.join(tmp, "out") else os.path.join(tmp, "out-auto") for x in tally]
        tally += ["--mode", "stream"]

        counts = [x if x != os.path.join(tmp, "out") else os.path.join(tmp, "out-counts") for x in tally]
        counts += ["--mode", "counts"]
        push = [x if x != os.path.join(tmp, "out") else os.path.join(tmp, "out-push") for x in tally]
        push += ["--mode", "pushdown"]
        with open(os.path.join(tmp, "pg.sql"), "w") as f:
            f.write(PG_DIGEST.format(row=pg_row()) + ";\n")
        with open(os.path.join(tmp, "pgh.sql"), "w") as f:
            f.write(PG_HASHTEXT.format(row=pg_row()) + ";\n")
        with open(os.path.join(tmp, "my.sql"), "w") as f:
            f.write(MY_DIGEST.format(row=my_row()) + ";\n")
        psql = (f"PGPASSWORD=$TALLY_PG_PASSWORD {e['TALLY_PG_BINDIR']}/psql -X -q -h 127.0.0.1 -p $TALLY_PG_PORT "
                f"-U tally -d {DB}")
        maria = f"mariadb --no-defaults -h 127.0.0.1 -P $TALLY_MY_PORT -u tally -D {DB}"
        hashpass = f"{psql} -f {tmp}/pg.sql > /dev/null & {maria} < {tmp}/my.sql > /dev/null & wait"
        pg_md5 = f"{psql} -f {tmp}/pg.sql > /dev/null"
        pg_hashtext = f"{psql} -f {tmp}/pgh.sql > /dev/null"
        my_md5 = f"{maria} < {tmp}/my.sql > /dev/null"
        ok = (0,) if nchanged + nmissing + nextra == 0 else (1,)
        results = {}
        for name, cmd, shell, codes in (("reader", reader, False, (0,)),
                                        ("clients", clients, True, (0,)),
                                        ("tally", tally, False, ok)) + ((("auto", auto, False, ok),)
                                                                        if args.pushdown else ()) + (
                                       (("counts", counts, False, ok),) if args.counts else ()) + (
                                       (("push", push, False, ok), ("hashpass", hashpass, True, (0,)),
                                        ("pg_md5", pg_md5, True, (0,)), ("pg_hashtext", pg_hashtext, True, (0,)),
                                        ("my_md5", my_md5, True, (0,))) if args.pushdown else ()):
            walls, cpus, rss = [], [], 0
            for _ in range(args.runs):
                wall, maxrss, code, err, cpu = timed(cmd, env=env, shell=shell)
                if code not in codes:
                    sys.exit(f"bench: {name} exited {code}: {err[-2000:]}")
                walls.append(wall)
                cpus.append(cpu)
                rss = max(rss, maxrss)
            results[name] = (statistics.median(walls), rss, statistics.median(cpus))

        import json
        def report(out):
            d = os.path.join(tmp, out)
            d = os.path.join(d, "latest") if os.path.exists(os.path.join(d, "latest")) else d
            return json.load(open(os.path.join(d, "report.json")))["checks"][0]

        rep = report("out")
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
            crep = report("out-counts")
            k = results["counts"][0]
            print(f"tally --mode counts  {k:7.2f} s   peak RSS {results['counts'][1] / 1024:.1f} MiB"
                  f"   ({k / t:.2f} of stream; {crep['chunks']['mismatched']} of {crep['chunks']['total']}"
                  " chunks differ in count)")
            for name, rp in (("stream", rep), ("counts", crep)):
                print(f"{name:6} received     source {rp['source']['bytes']} B in {rp['source']['queries']} "
                      f"queries, target {rp['target']['bytes']} B in {rp['target']['queries']} queries")
        if args.pushdown:
            prep = report("out-push")
            pf = (prep["changed"], prep["missing"], prep["extra"])
            if pf != found:
                sys.exit(f"bench: pushdown found {pf}, stream {found}")
            k, h = results["push"][0], results["hashpass"][0]
            sb = rep["source"]["bytes"] + rep["target"]["bytes"]
            pb = prep["source"]["bytes"] + prep["target"]["bytes"]
            pd = prep["pushdown"]
            print(f"tally --mode pushdown {k:6.2f} s   peak RSS {results['push'][1] / 1024:.1f} MiB   "
                  f"({k / t:.2f} of stream; {pd['chunks_equal']} chunks equal, {pd['chunks_split']} split; "
                  f"rows streamed {pd['rows_streamed']['source']} + {pd['rows_streamed']['target']})")
            print(f"hash pass, both sides at once {h:5.2f} s   (pushdown / hash pass {k / h:.2f}; alone: PostgreSQL "
                  f"md5 {results['pg_md5'][0]:.2f} s, hashtextextended {results['pg_hashtext'][0]:.2f} s, "
                  f"MariaDB MD5 {results['my_md5'][0]:.2f} s)")
            arep = report("out-auto")
            af = (arep["changed"], arep["missing"], arep["extra"])
            if af != found:
                sys.exit(f"bench: auto found {af}, stream {found}")
            a = results["auto"][0]
            ab = arep["source"]["bytes"] + arep["target"]["bytes"]
            print(f"tally --mode auto    {a:7.2f} s   ({a / t:.2f} of stream; ran {arep['mode']}, {ab} B received)")
            print(f"                     {arep['mode_reason']}")
            print(f"bytes received       stream {sb} B ({rep['source']['queries'] + rep['target']['queries']} queries), "
                  f"pushdown {pb} B ({prep['source']['queries'] + prep['target']['queries']} queries): "
                  f"{100.0 * pb / sb:.3f} %")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if own:
            subprocess.run([os.path.join(REPO, "scripts", "servers.sh"), "stop", own], capture_output=True)
            shutil.rmtree(own, ignore_errors=True)


if __name__ == "__main__":
    main()
