#!/usr/bin/env python3
"""
tests/integration/test_scale.py
  Chunked runs on the real servers: many chunks give the same results as
  one, whatever the workers (--jobs 1 and 4), split over 4 shards and
  merged, or killed mid-run and resumed; a text key under a
  case-insensitive collation, chunked on the server's own order, is
  reconciled across chunk boundaries; --max-rate, --max-load and
  --progress do what they say; the Kubernetes manifest in the README,
  run as its pods would run it, gives the same results as one run. "Same
  results" is byte for byte: the difference lines, the counts, and the
  repair scripts' body hashes.
"""
import datetime
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import yaml  # noqa: E402
from harness import TallyCase  # noqa: E402

DB = "tally_it_scale"
N = 60000           # rows per table
CHUNK = "5000"      # --chunk-rows: about a dozen chunks


def seed():
    pg, my = harness.PG(), harness.MY()
    my.create_db(DB)
    pg.create_db(DB)
    # Integer key, skewed: most keys in a narrow band, the rest spread wide.
    my.sql(DB, f"""
        CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(20) NOT NULL, amount DECIMAL(10,2) NOT NULL);
        INSERT INTO t SELECT IF(seq <= {N * 9 // 10}, seq, seq * 1000), CONCAT('v', seq), seq / 100 FROM seq_1_to_{N};
        CREATE TABLE names (name VARCHAR(40) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT NOT NULL);
        INSERT INTO names SELECT CONCAT(ELT(1 + seq % 4, 'a', 'B', 'c', 'Ä'), LPAD(seq, 6, '0')), seq FROM seq_1_to_20000;
    """)
    pg.psql(DB, f"""
        CREATE TABLE t (id bigint PRIMARY KEY, v varchar(20) NOT NULL, amount numeric(10,2) NOT NULL);
        INSERT INTO t SELECT CASE WHEN g <= {N * 9 // 10} THEN g ELSE g * 1000 END, 'v' || g, g / 100.0
          FROM generate_series(1, {N}) g;
        UPDATE t SET v = 'changed' WHERE id IN (3, 4000, 50000, 58000000);
        DELETE FROM t WHERE id IN (10, 20000, 54000, 59000000);
        INSERT INTO t VALUES (0, 'extra', 0), (99999999999, 'extra', 0);
        CREATE TABLE names (name text COLLATE "und-x-icu" PRIMARY KEY, n int NOT NULL);
        INSERT INTO names SELECT (ARRAY['a', 'B', 'c', 'Ä'])[1 + g % 4] || lpad(g::text, 6, '0'), g
          FROM generate_series(1, 20000) g;
        UPDATE names SET n = -1 WHERE name IN ('a000004', 'Ä000003');
        DELETE FROM names WHERE name IN ('B000001', 'c010002');
        INSERT INTO names VALUES ('b000001', 1), ('zzz', 0);
        ANALYZE t; ANALYZE names;
    """)
    my.sql(DB, "ANALYZE TABLE t, names")


SPEC = """version: 1
name: it-scale
systems:
  legacy: {{ driver: mariadb, dsn: "{my}" }}
  billing: {{ driver: postgres, dsn: "{pg}" }}
checks:
  - name: t
    source: {{ system: legacy, table: t }}
    target: {{ system: billing, table: t }}
  - name: names
    source: {{ system: legacy, table: names }}
    target: {{ system: billing, table: names }}
"""


def run_seconds(r):
    """finished_at - started_at of a report (whole seconds)."""
    f = "%Y-%m-%dT%H:%M:%SZ"
    return (datetime.datetime.strptime(r.report["finished_at"], f) -
            datetime.datetime.strptime(r.report["started_at"], f)).total_seconds()


def assertWallTimes(case, r):
    """Per check: wall time within the run and never more than the workers' time summed."""
    for c in r.report["checks"]:
        case.assertGreater(c["seconds"], 0, c["name"])
        case.assertLessEqual(c["seconds"], c["worker_seconds"] + 0.002, c["name"])
        case.assertLessEqual(c["seconds"], run_seconds(r) + 1, c["name"])


def diff_lines(r):
    return [(d["check"], d["kind"], list(d["key"].values())) for d in r.diffs]


class Scale(TallyCase):
    @classmethod
    def setUpClass(cls):
        seed()
        pg, my = harness.PG(), harness.MY()
        cls.spec = SPEC.format(my=my.dsn_env(DB), pg=pg.dsn_env(DB))

    @classmethod
    def tearDownClass(cls):
        harness.PG().drop_db(DB)
        harness.MY().drop_db(DB)

    def run_check(self, *args, out=None):
        r = self.tally(self.spec, "--chunk-rows", CHUNK, *args, outdir=out)
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        return r

    def assertSameResults(self, a, b):
        self.assertEqual(diff_lines(a), diff_lines(b))
        self.assertEqual(a.diffs, b.diffs)
        for name in ("t", "names"):
            ca, cb = a.check(name), b.check(name)
            for k in ("missing", "extra", "changed", "chunks"):
                self.assertEqual(ca[k], cb[k], f"{name}.{k}")
            self.assertEqual(ca["source"]["rows"], cb["source"]["rows"])
            self.assertEqual(ca["target"]["rows"], cb["target"]["rows"])
            self.assertEqual(ca["repair"]["xxh128"], cb["repair"]["xxh128"])
            self.assertEqual(ca["repair"]["rollback_xxh128"], cb["repair"]["rollback_xxh128"])

    def assertExpected(self, r):
        t, names = r.check("t"), r.check("names")
        self.assertEqual((t["missing"], t["extra"], t["changed"]), (4, 2, 4))
        self.assertEqual(r.keys("t", "missing"), [10, 20000, 54000, 59000000])
        self.assertEqual(r.keys("t", "extra"), [0, 99999999999])
        self.assertEqual(r.keys("t", "changed"), [3, 4000, 50000, 58000000])
        self.assertEqual((t["source"]["rows"], t["target"]["rows"]), (N, N - 2))
        self.assertGreaterEqual(t["chunks"]["total"], 8)
        # Ten differing keys fall in a few chunks: at least the first and last.
        self.assertGreaterEqual(t["chunks"]["mismatched"], 2)
        self.assertLess(t["chunks"]["mismatched"], t["chunks"]["total"])
        # Text keys: case and accents count, whatever the collations.
        self.assertEqual((names["missing"], names["extra"], names["changed"]), (2, 2, 2))
        self.assertEqual(sorted(r.keys("names", "missing")), ["B000001", "c010002"])
        self.assertEqual(sorted(r.keys("names", "extra")), ["b000001", "zzz"])
        self.assertEqual(sorted(r.keys("names", "changed")), ["a000004", "Ä000003"])
        self.assertGreaterEqual(names["chunks"]["total"], 3)

    def test_jobs_1_and_4_agree(self):
        one = self.run_check("--jobs", "1")
        self.assertExpected(one)
        four = self.run_check("--jobs", "4")
        self.assertSameResults(one, four)

    def test_four_shards_merged_equal_one_run(self):
        one = self.run_check("--jobs", "2")
        dirs = []
        for k in range(4):
            d = os.path.join(self.tmp, f"shard{k}")
            r = self.tally(self.spec, "--chunk-rows", CHUNK, "--shard", f"{k}/4", outdir=d)
            self.assertIn(r.code, (0, 1), r.stderr)
            self.assertEqual(r.report["shard"], {"index": k, "count": 4})
            self.assertTrue(os.path.isdir(os.path.join(r.outdir, ".tally-work")))
            self.assertFalse(os.path.exists(os.path.join(r.outdir, "diff.ndjson.zst")))
            dirs.append(d)
        merged = os.path.join(self.tmp, "merged")
        p = subprocess.run([harness.tally_bin(), "merge", "--out", merged, *dirs], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        m = harness.Result(p, merged)
        self.assertSameResults(one, m)
        assertWallTimes(self, m)
        self.assertEqual(m.report["status"], "inconsistent")
        self.assertNotIn("shard", m.report)
        # A missing shard is refused.
        p = subprocess.run([harness.tally_bin(), "merge", "--out", merged, *dirs[:3]], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("shard 3 of 4 is missing", p.stderr)

    def test_killed_run_resumes_to_the_same_results(self):
        one = self.run_check("--jobs", "1")
        out = os.path.join(self.tmp, "killed")
        spec = self.write_spec(self.spec, "killed.yaml")
        p = subprocess.Popen([harness.tally_bin(), "check", spec, "--out", out, "--chunk-rows", CHUNK,
                              "--jobs", "1", "--max-rate", "20000"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        work = os.path.join(out, "latest", ".tally-work")
        while time.time() < deadline and len(glob.glob(os.path.join(work, "c0", "*.done"))) < 3:
            time.sleep(0.05)
        self.assertGreaterEqual(len(glob.glob(os.path.join(work, "c0", "*.done"))), 3)
        p.send_signal(signal.SIGKILL)
        p.wait()
        done_before = len(glob.glob(os.path.join(work, "c*", "*.done")))
        self.assertFalse(os.path.exists(os.path.join(out, "latest", "report.json")))
        self.assertFalse(os.path.exists(os.path.join(out, "latest", "diff.ndjson.zst")))
        r = subprocess.run([harness.tally_bin(), "check", spec, "--out", out, "--chunk-rows", CHUNK,
                            "--jobs", "2", "--resume"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        resumed = harness.Result(r, out)
        self.assertSameResults(one, resumed)
        assertWallTimes(self, resumed)
        self.assertFalse(os.path.exists(os.path.join(resumed.outdir, ".tally-work")))
        self.assertEqual(len(os.listdir(out)), 4, "one run, latest, .lock and history.ndjson")
        self.assertGreater(done_before, 0)

    def test_resume_refuses_a_changed_spec(self):
        out = os.path.join(self.tmp, "changed")
        spec = self.write_spec(self.spec, "a.yaml")
        p = subprocess.Popen([harness.tally_bin(), "check", spec, "--out", out, "--chunk-rows", CHUNK,
                              "--max-rate", "20000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline and not glob.glob(os.path.join(out, "latest", ".tally-work", "c0", "*.done")):
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait()
        spec = self.write_spec(self.spec.replace("name: names", "name: names2"), "a.yaml")
        r = subprocess.run([harness.tally_bin(), "check", spec, "--out", out, "--resume"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("the spec changed since the interrupted run", r.stderr)

    def test_max_rate_throttles(self):
        t0 = time.time()
        r = self.run_check("--check", "t", "--max-rate", "40000", "--jobs", "2")
        elapsed = time.time() - t0
        # 2 x 60000 rows at 40000 rows/s cannot take less than about 2 s
        # (the bucket starts with one second of credit), however many workers.
        self.assertGreaterEqual(elapsed, 1.9)
        t = r.check("t")
        self.assertEqual(t["changed"], 4)
        # seconds is the check's wall time, worker_seconds the two workers' time summed:
        # both were busy (throttled) nearly all along.
        self.assertGreaterEqual(t["seconds"], 1.5)
        self.assertGreaterEqual(t["worker_seconds"], 1.3 * t["seconds"])
        self.assertLessEqual(t["seconds"], run_seconds(r) + 1)
        self.assertLessEqual(t["seconds"], elapsed)
        # The summary shows the wall time too.
        shown = re.search(r"^t +inconsistent .*\(source 60000 rows, target 59998 rows, ([\d.]+) s\)$", r.stdout, re.M)
        self.assertIsNotNone(shown, r.stdout)
        self.assertAlmostEqual(float(shown.group(1)), t["seconds"], delta=0.011)

    def test_progress_lines(self):
        r = self.run_check("--check", "t", "--max-rate", "20000", "--progress")
        lines = [ln for ln in r.stderr.splitlines() if ln.startswith("tally: ") and " chunks, " in ln]
        self.assertGreaterEqual(len(lines), 1)
        # ETA "?" while nothing is known yet (no row read after 5 s on a loaded machine).
        self.assertRegex(lines[0], r"^tally: \d+/\d+ chunks, [\d.]+[kM]? rows, [\d.]+[kM]? rows/s, "
                                   r"ETA (\d+:\d\d:\d\d|\?), oldest snapshot \d+:\d\d:\d\d, xmin age \d+$")
        # The last line, when the run ends: every chunk done.
        self.assertRegex(lines[-1], r"^tally: (\d+)/\1 chunks, .*, ETA 0:00:00, ")
        q = self.tally(self.spec, "--check", "t", "--quiet")
        self.assertEqual(q.code, 1)
        self.assertEqual(q.stderr, "")
        self.assertEqual(q.stdout, "")

    def test_max_load_pauses(self):
        pg = harness.PG()
        e = dict(os.environ, PGPASSWORD=pg.admin_pw)
        # Three other sessions busy for a while: tally (max load 1) must wait.
        busy = [subprocess.Popen([os.path.join(pg.bindir, "psql"), "-X", "-h", pg.host, "-p", pg.port, "-U",
                                  pg.admin, "-d", "postgres", "-c", "SELECT pg_sleep(3)"], env=e,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(3)]
        time.sleep(0.5)
        t0 = time.time()
        r = self.run_check("--check", "t", "--max-load", "1")
        for b in busy:
            b.wait()
        self.assertGreaterEqual(time.time() - t0, 1.5)
        self.assertIn("system 'billing' is busy", r.stderr)
        self.assertEqual(r.check("t")["changed"], 4)

    def test_snapshot_stands_in_for_a_side(self):
        """Yesterday's target against today's source: the same verdicts as live."""
        live = self.run_check("--jobs", "2")
        snap = os.path.join(self.tmp, "billing.snap")
        spec = self.write_spec(self.spec, "snap-take.yaml")
        for check in ("t", "names"):
            path = f"{snap}.{check}"
            p = subprocess.run([harness.tally_bin(), "snapshot", spec, "--check", check, "--side", "target",
                                "-o", path], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            rows = N - 2 if check == "t" else 20000
            self.assertRegex(p.stdout, rf"^snapshot: {path}: {rows} rows of target public\.{check} "
                                       r"\(system 'billing'\)\n$")
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with_snap = self.spec.replace(
            "checks:", f"  yesterday: {{ driver: snapshot, path: \"{snap}.t\" }}\n"
                       f"  yesterday2: {{ driver: snapshot, path: \"{snap}.names\" }}\nchecks:")
        with_snap = with_snap.replace("target: { system: billing, table: t }", "target: { system: yesterday, table: t }")
        with_snap = with_snap.replace("target: { system: billing, table: names }",
                                      "target: { system: yesterday2, table: public.names }")
        r = self.tally(with_snap, "--chunk-rows", CHUNK)
        self.assertEqual(r.code, 1, r.stderr)
        self.assertEqual(r.diffs, live.diffs)
        for name in ("t", "names"):
            a, b = live.check(name), r.check(name)
            self.assertEqual((a["missing"], a["extra"], a["changed"]), (b["missing"], b["extra"], b["changed"]))
            self.assertEqual(b["repair"]["none"], "the target is a snapshot, not a live table")
            self.assertRegex(b["target"]["position"], r"^snapshot of system 'billing' taken \S+ at lsn ")
        # A snapshot of one table is not another's.
        bad = with_snap.replace("table: public.names }", "table: orders }")
        r = self.tally(bad)
        self.assertEqual(r.code, 2)
        self.assertIn(f"snapshot '{snap}.names' of target system 'yesterday2' holds public.names, not 'orders'",
                      r.stderr)
        # A cut or damaged file is refused, never read as a shorter table.
        data = open(f"{snap}.t", "rb").read()
        for name, content, words in (("cut", data[:len(data) // 2], "truncated"),
                                     ("bad", data[:len(data) // 2] + bytes(b ^ 0x55 for b in data[len(data) // 2:]),
                                      "corrupt")):
            path = os.path.join(self.tmp, f"{name}.snap")
            with open(path, "wb") as f:
                f.write(content)
            r = self.tally(with_snap.replace(f"{snap}.t", path), "--chunk-rows", CHUNK, "--check", "t")
            self.assertEqual(r.code, 2, r.stderr)
            self.assertRegex(r.stderr, rf"snapshot '{path}' for target system 'yesterday': .*{words}")
            self.assertEqual(r.report["status"], "error")
            self.assertFalse(os.path.exists(os.path.join(r.outdir, "diff.ndjson.zst")))

    def readme_manifest(self):
        """The YAML block of the README that holds the Indexed Job."""
        text = open(os.path.join(harness.REPO, "README.md")).read()
        blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
        found = [b for b in blocks if "completionMode: Indexed" in b]
        self.assertEqual(len(found), 1)
        return list(yaml.safe_load_all(found[0]))

    def pod_env(self, container, index=None):
        """The container's environment as Kubernetes would set it, Secrets from the test servers."""
        secrets = {("tally-readonly", "legacy-password"): os.environ["TALLY_MY_PASSWORD"],
                   ("tally-readonly", "billing-password"): os.environ["TALLY_PG_PASSWORD"]}
        env = {"PATH": os.path.dirname(harness.tally_bin()) + os.pathsep + os.environ["PATH"],
               "HOME": self.tmp}
        for e in container["env"]:
            if "value" in e:
                env[e["name"]] = e["value"]
            else:
                ref = e["valueFrom"]["secretKeyRef"]
                env[e["name"]] = secrets[(ref["name"], ref["key"])]
        if index is not None:
            env["JOB_COMPLETION_INDEX"] = str(index)
        return env

    def pod_script(self, container, mounts):
        """The container's shell script with its volume mounts moved to local directories."""
        self.assertEqual(container["command"], ["/bin/sh", "-c"])
        script = container["args"][0]
        for m in container["volumeMounts"]:
            script = script.replace(m["mountPath"], mounts[m["name"]])
        return script

    def test_kubernetes_indexed_job_from_the_readme(self):
        one = self.run_check("--jobs", "2")
        shards_job, merge_job = self.readme_manifest()
        self.assertEqual((shards_job["kind"], merge_job["kind"]), ("Job", "Job"))
        spec = shards_job["spec"]
        self.assertEqual(spec["completionMode"], "Indexed")
        pod = spec["template"]["spec"]
        self.assertEqual(pod["restartPolicy"], "Never")
        (container,) = pod["containers"]
        n = int(next(e["value"] for e in container["env"] if e["name"] == "SHARDS"))
        self.assertEqual(spec["completions"], n)
        self.assertEqual(pod["volumes"][1]["persistentVolumeClaim"]["claimName"],
                         merge_job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"])

        # The spec the ConfigMap holds: passwords from the Secret's variables.
        pg, my = harness.PG(), harness.MY()
        specdir, results = os.path.join(self.tmp, "k8s-spec"), os.path.join(self.tmp, "k8s-results")
        os.makedirs(specdir)
        os.makedirs(results)
        text = SPEC.format(my=my.dsn_env(DB).replace("TALLY_MY_PASSWORD", "LEGACY_PASSWORD"),
                           pg=pg.dsn_env(DB).replace("TALLY_PG_PASSWORD", "BILLING_PASSWORD"))
        text = text.replace("    target: { system: billing, table: t }",
                            "    target: { system: billing, table: t }\n    chunk_rows: " + CHUNK)
        text = text.replace("    target: { system: billing, table: names }",
                            "    target: { system: billing, table: names }\n    chunk_rows: " + CHUNK)
        with open(os.path.join(specdir, "nightly.yaml"), "w") as f:
            f.write(text)
        mounts = {"spec": specdir, "results": results}
        script = self.pod_script(container, mounts)

        def pod(index):
            return subprocess.run(["/bin/sh", "-c", script], env=self.pod_env(container, index),
                                  capture_output=True, text=True, timeout=300)

        for k in range(n):
            p = pod(k)
            self.assertEqual(p.returncode, 0, p.stderr)
        run = os.path.join(results, "2026-11-21")
        self.assertEqual(sorted(os.listdir(run)), [f"shard-{k}" for k in range(n)])
        # A pod retried after it finished resumes a finished run: same share, exit 0.
        def share(path):
            r = harness.load_report(os.path.join(harness.run_dir(path), "report.json"))
            return [(c["name"], c["missing"], c["extra"], c["changed"], c["chunks"]) for c in r["checks"]]

        before = share(os.path.join(run, "shard-1"))
        p = pod(1)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(share(os.path.join(run, "shard-1")), before)
        self.assertGreater(sum(c[4]["total"] for c in before), 0)

        (merger,) = merge_job["spec"]["template"]["spec"]["containers"]
        self.assertEqual(merge_job["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"], [1])
        p = subprocess.run(["/bin/sh", "-c", self.pod_script(merger, mounts)], env=self.pod_env(merger),
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 1, p.stderr)     # differences: the merge Job fails, the alert fires
        merged = harness.Result(p, os.path.join(run, "merged"))
        self.assertSameResults(one, merged)
        self.assertExpected(merged)

    def test_positions_recorded(self):
        r = self.run_check("--check", "t")
        c = r.check("t")
        self.assertRegex(c["target"]["position"], r"^lsn [0-9A-F]+/[0-9A-F]+$")
        self.assertRegex(c["source"]["position"], r"^(gtid \S+|binlog off)$")


if __name__ == "__main__":
    harness.main()
