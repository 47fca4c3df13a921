#!/usr/bin/env python3
"""
tests/integration/test_disk.py
  A full disk, at every stage of a run: nothing half-written may look
  complete. The disk fills through tests/integration/enospc.c (an
  LD_PRELOAD library that fails writes under one directory with ENOSPC
  past a byte mark, and gives bytes back when a file is removed): at the
  first byte, a few hundred bytes in (run.json), in a chunk's part, half
  way through the diff file, the repair fragments, each script (plain and
  compressed; sizes from a trace of a complete run), in report.json; then
  renames fail while the outputs are being published; then a real tmpfs,
  remounted smaller and smaller, when the tests run as root (as in CI). For each: exit 2, the error on stderr; stdout names
  only files that exist and gives no verdict; no diff file or script
  without a report that names it, no report but one saying "error" with
  "diff_file": null; no temporary file left; an earlier run's outputs
  untouched; and a later run with room ends with the exact differences.
  Also one failure each for tally merge and tally snapshot.
"""
import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import scenario  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC_DB = "tally_it_disk_src"
TGT_DB = "tally_it_disk_tgt"
ENOSPC = "No space left on device"
HUGE = str(1 << 40)
RESUME = "finished chunks are kept: run again with --resume to do the rest"

SPEC = """version: 1
name: it-disk
reason: "disk full tests"
systems:
  legacy: {{ driver: mariadb, dsn: "{my}" }}
  billing: {{ driver: postgres, dsn: "{pg}" }}
checks:
  - name: orders
    source: {{ system: legacy, table: orders }}
    target: {{ system: billing, table: orders }}
  - name: codes
    source: {{ system: legacy, table: codes }}
    target: {{ system: billing, table: codes }}
"""

EXPECTED = {"orders": (3, 2, 10), "codes": (2, 2, 3)}
OUTPUT_NAME = re.compile(r"^(report\.json|report\.html|diff\.ndjson\.zst|change-order\.md|(repair|rollback)\..*\.sql(\.zst)?)$")
VERDICT = re.compile(r"^\S+\s+(consistent|inconsistent)\b", re.M)


def lib():
    path = os.environ.get("TALLY_TEST_ENOSPC_LIB") or os.path.join(harness.REPO, "build", "tests",
                                                                   "libtally_test_enospc.so")
    if not os.path.exists(path):
        raise RuntimeError(f"the ENOSPC library is not built: {path}")
    return path


def files_of(d):
    """Every file under d with its bytes' digest: what must stay untouched."""
    out = {}
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            out[os.path.relpath(p, d)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


def trace_of(path):
    """The library's log: (bytes written before, count, path) per write."""
    out = []
    for line in open(path):
        before, n, p = line.rstrip("\n").split(" ", 2)
        out.append((int(before), int(n), p))
    return out


class Disk(TallyCase):
    @classmethod
    def setUpClass(cls):
        pg, my = harness.PG(), harness.MY()
        my.create_db(SRC_DB)
        my.sql(SRC_DB, scenario.MY_ORDERS_DDL + scenario.MY_TEXT_DDL +
               scenario.inserts("orders", scenario.source_orders(), scenario.my_lit) +
               scenario.inserts("codes", scenario.text_rows("source"), scenario.my_lit) +
               # Statistics settled now: chunk plans come from them, and the
               # shards of test_merge must plan the same chunks (InnoDB
               # recalculates them in the background after a bulk insert).
               "ANALYZE TABLE orders, codes;")
        pg.create_db(TGT_DB)
        pg.psql(TGT_DB, scenario.PG_ORDERS_DDL + scenario.PG_TEXT_DDL +
                scenario.inserts("orders", scenario.target_orders(), scenario.pg_lit) +
                scenario.inserts("codes", scenario.text_rows("target"), scenario.pg_lit) +
                "ANALYZE orders; ANALYZE codes;")
        cls.spec_text = SPEC.format(my=my.dsn_env(SRC_DB), pg=pg.dsn_env(TGT_DB))
        cls.base = tempfile.mkdtemp(prefix="tally-it-disk-")
        # Removed even when the rest of this setup fails (tearDownClass then does not run).
        cls.addClassCleanup(shutil.rmtree, cls.base, True)
        cls.spec = os.path.join(cls.base, "spec.yaml")
        with open(cls.spec, "w") as f:
            f.write(cls.spec_text)
        # An earlier run, in a directory of its own: no failure may touch it.
        cls.prev = os.path.join(cls.base, "prev")
        p = subprocess.run([harness.tally_bin(), "check", cls.spec, "--out", cls.prev, "--chunk-rows", "1000"],
                           capture_output=True, text=True)
        if p.returncode != 1:
            raise RuntimeError(f"the earlier run failed: {p.stderr}")
        cls.prev_files = files_of(cls.prev)
        cls.traces = {}

    @classmethod
    def tearDownClass(cls):
        harness.PG().drop_db(TGT_DB)
        harness.MY().drop_db(SRC_DB)

    # ---- running tally on a disk that fills ------------------------------

    def run_tally(self, args, root, after=HUGE, file=None, rename=None, log=None):
        """tally ARGS with the disk under root full after `after` bytes (of the files named like `file`)."""
        e = dict(os.environ, LD_PRELOAD=lib(), TALLY_TEST_ENOSPC_DIR=root, TALLY_TEST_ENOSPC_AFTER=str(after))
        if file:
            e["TALLY_TEST_ENOSPC_FILE"] = file
        if rename:
            e["TALLY_TEST_ENOSPC_RENAME"] = rename
        if log:
            e["TALLY_TEST_ENOSPC_LOG"] = log
        return subprocess.run([harness.tally_bin(), *args], capture_output=True, text=True, env=e, timeout=300)

    def check(self, out, *extra, after=HUGE, file=None, rename=None, log=None):
        p = self.run_tally(["check", self.spec, "--out", out, "--chunk-rows", "1000", *extra], out, after, file,
                           rename, log)
        return harness.Result(p, out)

    def trace(self, *extra):
        """The writes of a complete run, once per set of options."""
        if extra not in self.traces:
            out = os.path.join(self.base, "trace-" + "-".join(a.strip("-") for a in extra))
            log = out + ".log"
            r = self.check(out, *extra, log=log)
            self.assertEqual(r.code, 1, r.stderr)
            self.traces[extra] = trace_of(log)
        return self.traces[extra]

    def size_of(self, trace, pattern):
        """The size of the first file written whose name matches pattern (fnmatch)."""
        for _, _, p in trace:
            if fnmatch.fnmatch(os.path.basename(p), pattern):
                return sum(n for _, n, p2 in trace if p2 == p)
        self.fail(f"no write to {pattern} in the trace")

    # ---- what must hold after a failure ----------------------------------

    def assertNothingFalse(self, r, out):
        self.assertEqual(r.code, 2, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        self.assertIn(ENOSPC, r.stderr)
        first_error = re.search(r"^tally: error: (.*)$", r.stderr, re.M)
        self.assertIsNotNone(first_error, r.stderr)
        self.assertRegex(first_error.group(1), r"cannot (write|create|sync|rename) '[^']+'.*: " + ENOSPC)
        # The run's own directory, when it got one (OUT/latest).
        run = harness.run_dir(out)
        names = sorted(os.listdir(run)) if os.path.isdir(run) else []
        outputs = [n for n in names if OUTPUT_NAME.match(n)]
        # No verdict, and stdout names only files that exist.
        self.assertIsNone(VERDICT.search(r.stdout), r.stdout)
        if r.report is None:
            self.assertEqual(outputs, [], "outputs without a report that names them")
            self.assertEqual(r.stdout, "")
        else:
            # report.html too when it fitted: it says error as well.
            self.assertIn(outputs, (["report.json"], ["report.html", "report.json"]),
                          "only the report of a failed run may remain")
            if "report.html" in outputs:
                self.assertIn('data-field="run-status">error<', open(os.path.join(run, "report.html")).read())
            self.assertEqual(r.report["status"], "error")
            self.assertIsNone(r.report["diff_file"])
            self.assertEqual(r.report["error"]["message"], first_error.group(1))
            for c in r.report["checks"]:
                self.assertIsNone(c["repair"], c["name"])
            self.assertEqual(r.stdout, f"report:   {out}/{os.path.basename(run)}/report.json\n")
        self.assertFalse(r.diff_exists)
        # No temporary file anywhere, the work directory included.
        self.assertEqual([n for n in names if n.startswith(".tally-tmp")], [])
        for root, _, files in os.walk(out):
            self.assertEqual([f for f in files if f.endswith(".tmp") or f.endswith(".run")], [], root)
        self.assertEqual(files_of(self.prev), self.prev_files, "an earlier run's outputs changed")

    def assertRecovers(self, out):
        """With room again: --resume when the work was kept, else a new run; exact results."""
        resume = ["--resume"] if os.path.exists(os.path.join(harness.run_dir(out), ".tally-work", "run.json")) else []
        r = self.check(out, *resume)
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        self.assertExpected(r)
        self.assertFalse(os.path.exists(os.path.join(r.outdir, ".tally-work")))
        return r

    def assertExpected(self, r):
        self.assertEqual(r.report["status"], "inconsistent")
        got = {c["name"]: (c["missing"], c["extra"], c["changed"]) for c in r.report["checks"]}
        self.assertEqual(got, EXPECTED)
        self.assertEqual(r.keys("orders", "missing"), scenario.ORDERS_MISSING)
        self.assertEqual(r.keys("orders", "changed"), sorted(scenario.ORDERS_CHANGED))
        self.assertEqual(sorted(r.keys("codes", "changed")), sorted(scenario.TEXT_CHANGED))
        self.assertEqual(len(r.diffs), sum(sum(v) for v in EXPECTED.values()))
        files = sorted(n for n in os.listdir(r.outdir) if OUTPUT_NAME.match(n))
        self.assertEqual(files, sorted(["report.json", "report.html", "diff.ndjson.zst", "change-order.md",
                                        r.check("orders")["repair"]["file"],
                                        r.check("orders")["repair"]["rollback"]]))

    def fail_at(self, after, *extra, file=None, report=None):
        """Fills the disk `after` bytes in (into the files named like `file`);
        report: whether the error report fits afterwards (None: either)."""
        out = os.path.join(self.tmp, "out")
        r = self.check(out, *extra, after=after, file=file)
        self.assertNothingFalse(r, out)
        if report is not None:
            self.assertEqual(r.report is not None, report, r.stderr)
        if r.report is not None:
            # Every chunk was done: the work is kept, and --resume finishes it.
            self.assertEqual(r.report["resume"], RESUME)
            self.assertIn(f"hint: finished chunks are kept in {out}/{os.path.basename(r.outdir)}/.tally-work; "
                          "run again with --resume", r.stderr)
        self.assertRecovers(out)
        return r

    # ---- the cases -------------------------------------------------------

    def test_complete_run_unhindered(self):
        """The library itself changes nothing while there is room."""
        r = self.assertRecovers(os.path.join(self.tmp, "out"))
        self.assertRegex(r.stdout, r"orders\s+inconsistent\s+missing 3, extra 2, changed 10")

    def test_first_byte(self):
        """Not even the lock's pid: no run directory, no report, nothing on stdout."""
        r = self.fail_at(0, report=False)
        self.assertEqual(r.stderr, f"tally: error: cannot write '{self.tmp}/out/.lock': {ENOSPC}\n")
        # fail_at recovered since: the failed run made no run directory, the recovery one.
        runs = [n for n in os.listdir(os.path.join(self.tmp, "out")) if re.match(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$", n)]
        self.assertEqual(len(runs), 1, runs)

    def test_run_json(self):
        """Not even run.json: no report, nothing on stdout."""
        r = self.fail_at(0, report=False, file="run.json.tmp")
        self.assertIn("cannot write '", r.stderr)
        self.assertIn(".tally-work/run.json.tmp': " + ENOSPC, r.stderr)

    def test_a_few_hundred_bytes(self):
        self.assertGreater(self.size_of(self.trace(), "run.json.tmp"), 600)
        r = self.fail_at(300, report=False)
        self.assertIn(f"tally: error: cannot write '{r.outdir}/report.json': {ENOSPC}", r.stderr)

    def test_in_a_chunk_part(self):
        """A chunk's .done cannot be written: it does not count as finished."""
        r = self.fail_at(100, file="*.done.tmp")
        self.assertIn("chunk 1: cannot write '", r.stderr)

    def test_in_the_diff_file(self):
        size = self.size_of(self.trace(), "diff.ndjson.zst")
        self.assertGreater(size, 1000)
        r = self.fail_at(size // 2, file="diff.ndjson.zst")
        self.assertIn(f"cannot write '{r.outdir}/diff.ndjson.zst': {ENOSPC}", r.stderr)

    def test_in_the_repair_fragments(self):
        r = self.fail_at(self.size_of(self.trace(), "tally_*_a.sql") // 2, file="tally_*_a.sql")
        self.assertRegex(r.stderr, r"tally: error: check 'orders': repair script for system 'billing': "
                                   r"cannot write '[^']+/\.tally-tmp-\w+/tally_\d+_a\.sql': " + ENOSPC)

    def test_in_the_repair_script(self):
        size = self.size_of(self.trace(), "repair.billing.sql")
        self.assertGreater(size, 5000)
        r = self.fail_at(size // 2, file="repair.billing.sql", report=True)
        self.assertIn(f"cannot write '{r.outdir}/repair.billing.sql': {ENOSPC}", r.stderr)

    def test_in_the_rollback_script(self):
        size = self.size_of(self.trace(), "rollback.billing.sql")
        r = self.fail_at(size // 2, file="rollback.billing.sql", report=True)
        self.assertIn(f"cannot write '{r.outdir}/rollback.billing.sql': {ENOSPC}", r.stderr)

    def test_in_a_compressed_script(self):
        size = self.size_of(self.trace("--compress-repair"), "repair.billing.sql.zst")
        r = self.fail_at(size // 2, "--compress-repair", file="repair.billing.sql.zst", report=True)
        self.assertIn(f"cannot write '{r.outdir}/repair.billing.sql.zst': {ENOSPC}", r.stderr)

    def test_in_report_json(self):
        r = self.fail_at(100, file="report.json", report=True)
        self.assertIn(f"cannot write '{r.outdir}/report.json': {ENOSPC}", r.stderr)

    def test_rename_fails_while_publishing(self):
        """The scripts are in place when the next rename fails: they are taken back."""
        out = os.path.join(self.tmp, "out")
        r = self.check(out, rename="rollback.*")
        self.assertNothingFalse(r, out)
        self.assertRegex(r.stderr, r"cannot rename '[^']+' to '" + re.escape(r.outdir) + r"/rollback\.billing\.sql'")
        self.assertEqual(r.report["status"], "error")
        self.assertRecovers(out)

    def test_report_cannot_be_published(self):
        """The commit record itself cannot be renamed: nothing at all remains, stdout is empty."""
        out = os.path.join(self.tmp, "out")
        r = self.check(out, rename="report.json")
        self.assertNothingFalse(r, out)
        self.assertIsNone(r.report)
        self.assertEqual(r.stderr.count("tally: error: cannot rename"), 2, r.stderr)
        self.assertRecovers(out)

    def test_real_tmpfs(self):
        """A real small filesystem, whatever fills first; as root (CI) a tmpfs, else the library."""
        mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(mnt)
        mounted = os.geteuid() == 0 and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mnt], capture_output=True).returncode == 0
        if os.geteuid() == 0:
            self.assertTrue(mounted, "root could not mount a tmpfs")
        try:
            failed = 0
            for kib in (8, 16, 32, 64, 96, 128, 192, 256, 4096):
                out = os.path.join(mnt, f"out{kib}")
                if mounted:
                    subprocess.run(["mount", "-o", f"remount,size={kib}k", mnt], check=True)
                    p = subprocess.run([harness.tally_bin(), "check", self.spec, "--out", out, "--chunk-rows",
                                        "1000"], capture_output=True, text=True, timeout=300)
                    r = harness.Result(p, out)
                else:
                    r = self.check(out, after=kib * 1024)
                if r.code == 1:
                    self.assertExpected(r)
                    break
                failed += 1
                self.assertNothingFalse(r, out)
                shutil.rmtree(out)
            self.assertEqual(r.code, 1, "no size was large enough")
            self.assertGreaterEqual(failed, 3)
        finally:
            if mounted:
                subprocess.run(["umount", mnt], check=True)

    def test_merge(self):
        shards = []
        for k in range(2):
            d = os.path.join(self.tmp, f"shard{k}")
            p = subprocess.run([harness.tally_bin(), "check", self.spec, "--out", d, "--chunk-rows", "1000",
                                "--shard", f"{k}/2"], capture_output=True, text=True)
            self.assertIn(p.returncode, (0, 1), p.stderr)
            shards.append(d)
        before = [files_of(d) for d in shards]
        merged = os.path.join(self.tmp, "merged")
        log = os.path.join(self.tmp, "merge.log")
        p = self.run_tally(["merge", "--out", merged, *shards], merged, log=log)
        self.assertEqual(p.returncode, 1, p.stderr)
        shutil.rmtree(merged)
        size = self.size_of(trace_of(log), "repair.billing.sql")
        p = self.run_tally(["merge", "--out", merged, *shards], merged, after=size // 2, file="repair.billing.sql")
        r = harness.Result(p, merged)
        self.assertNothingFalse(r, merged)
        self.assertIn(f"cannot write '{r.outdir}/repair.billing.sql': {ENOSPC}", r.stderr)
        self.assertIsNone(r.report["resume"])
        self.assertEqual([files_of(d) for d in shards], before, "the shards' parts changed")
        p = subprocess.run([harness.tally_bin(), "merge", "--out", merged, *shards], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertExpected(harness.Result(p, merged))

    def test_snapshot(self):
        d = os.path.join(self.tmp, "snaps")
        os.mkdir(d)
        old = os.path.join(d, "old.tally")
        with open(old, "wb") as f:
            f.write(b"yesterday's snapshot")
        snap = os.path.join(d, "orders.tally")
        args = ["snapshot", self.spec, "--check", "orders", "--side", "source", "-o", snap]
        log = os.path.join(self.tmp, "snap.log")
        p = self.run_tally(args, d, log=log)
        self.assertEqual(p.returncode, 0, p.stderr)
        size = os.path.getsize(snap)
        os.unlink(snap)
        self.assertGreater(size, 2000)
        self.assertEqual(self.size_of(trace_of(log), "orders.tally.tmp"), size)
        p = self.run_tally(args, d, after=size // 2, file="orders.tally.tmp")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertIn(f"tally: error: check 'orders': cannot write '{snap}.tmp': {ENOSPC}", p.stderr)
        self.assertEqual(sorted(os.listdir(d)), ["old.tally"])
        self.assertEqual(open(old, "rb").read(), b"yesterday's snapshot")
        p = subprocess.run([harness.tally_bin(), *args], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, f"snapshot: {snap}: 3000 rows of source {SRC_DB}.orders (system 'legacy')\n")
        self.assertEqual(sorted(os.listdir(d)), ["old.tally", "orders.tally"])


if __name__ == "__main__":
    harness.main()
