#!/usr/bin/env python3
"""
tests/integration/test_metrics.py
  --metrics FILE on the real servers, read back with a real parser
  (prometheus_client.parser, Debian's python3-prometheus-client): every
  family is a gauge with HELP; the run's exit status, start and success
  times; per check its status, rows per side, differences by kind (equal
  to report.json's), in-flight rows and seconds. A run in trouble says
  exit status 2 and status 2 for its checks, with no counts, and keeps
  the previous run's last success; a spec that cannot be read keeps the
  previous file's spec label; a consistent run says 0 everywhere; shards
  merged with --metrics give one run's numbers. The file is mode 0644 and
  no temporary file is left; a metrics directory that does not exist
  stops the run before it starts.
"""
import os
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

DB = "tally_it_metrics"
# 300 rows a side: 5 missing (ids 1-5 not in the target), 3 extra (1001-1003), 7 changed.
SETUP = """
CREATE TABLE src (id integer PRIMARY KEY, v text, n integer);
CREATE TABLE tgt (id integer PRIMARY KEY, v text, n integer);
CREATE TABLE same (id integer PRIMARY KEY, v text);
INSERT INTO src SELECT g, 'v' || g, g FROM generate_series(1, 300) g;
INSERT INTO tgt SELECT g, 'v' || g, g FROM generate_series(6, 300) g;
INSERT INTO tgt SELECT g, 'x', 0 FROM generate_series(1001, 1003) g;
UPDATE tgt SET n = -n WHERE id IN (10, 20, 30, 40, 50, 60, 70);
INSERT INTO same SELECT g, 's' FROM generate_series(1, 50) g;
"""

FAMILIES = {
    "tally_run_last_start_timestamp_seconds", "tally_run_last_success_timestamp_seconds",
    "tally_run_duration_seconds", "tally_run_exit_status", "tally_check_status", "tally_check_rows",
    "tally_check_differences", "tally_check_in_flight", "tally_check_duration_seconds",
    "tally_check_new_differences", "tally_check_resolved_differences", "tally_check_skipped_newer",
}


def parse(path):
    """{family: {frozenset(labels.items()): value}}, and the families' types and help."""
    text = open(path).read()
    values, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = (fam.type, fam.documentation)
        for s in fam.samples:
            values.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
    return values, types


def series(values, name, **labels):
    return values[name][frozenset(labels.items())]


class Metrics(TallyCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = harness.PG()
        cls.pg.create_db(DB)
        cls.pg.psql(DB, SETUP)

    @classmethod
    def tearDownClass(cls):
        cls.pg.drop_db(DB)

    def spec(self, target_port=None, checks=("diff",)):
        parts = {
            "diff": "  - name: diff\n    source: { system: a, table: src }\n    target: { system: b, table: tgt }\n",
            "same": "  - name: same\n    source: { system: a, table: same }\n    target: { system: b, table: same }\n",
        }
        return (f'version: 1\nname: it-metrics\nsystems:\n'
                f'  a: {{ driver: postgres, dsn: "{self.pg.dsn(DB)}" }}\n'
                f'  b: {{ driver: postgres, dsn: "{self.pg.dsn(DB, port=target_port)}" }}\n'
                f'checks:\n' + "".join(parts[c] for c in checks))

    def prom(self):
        return os.path.join(self.tmp, "textfile", "tally.prom")

    def run_with_metrics(self, spec_text, *args):
        os.makedirs(os.path.dirname(self.prom()), exist_ok=True)
        before = time.time()
        r = self.tally(spec_text, "--metrics", self.prom(), *args)
        after = time.time()
        return r, before, after

    def assertFileSane(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.prom()).st_mode), 0o644)
        self.assertEqual(os.listdir(os.path.dirname(self.prom())), ["tally.prom"], "a temporary file was left")

    def test_differences(self):
        r, before, after = self.run_with_metrics(self.spec())
        self.assertEqual(r.code, 1, r.stderr)
        self.assertFileSane()
        values, types = parse(self.prom())
        self.assertEqual(set(types), FAMILIES)
        for name, (kind, doc) in types.items():
            self.assertEqual(kind, "gauge", name)
            self.assertTrue(doc, f"{name} has no HELP")
        c = r.check("diff")
        self.assertEqual(series(values, "tally_run_exit_status", spec="it-metrics"), 1)
        start = series(values, "tally_run_last_start_timestamp_seconds", spec="it-metrics")
        success = series(values, "tally_run_last_success_timestamp_seconds", spec="it-metrics")
        self.assertTrue(before - 1 <= start <= success <= after + 1, (before, start, success, after))
        self.assertAlmostEqual(series(values, "tally_run_duration_seconds", spec="it-metrics"), success - start,
                               delta=0.002)
        self.assertEqual(series(values, "tally_check_status", spec="it-metrics", check="diff"), 1)
        self.assertEqual(series(values, "tally_check_rows", spec="it-metrics", check="diff", side="source"), 300)
        self.assertEqual(series(values, "tally_check_rows", spec="it-metrics", check="diff", side="target"), 298)
        self.assertEqual((c["source"]["rows"], c["target"]["rows"]), (300, 298))
        for kind, n in (("missing", 5), ("extra", 3), ("changed", 7)):
            self.assertEqual(c[kind], n)
            self.assertEqual(series(values, "tally_check_differences", spec="it-metrics", check="diff", kind=kind), n)
        self.assertEqual(series(values, "tally_check_in_flight", spec="it-metrics", check="diff"), 0)
        # No ignore_newer_than: the family is described, with no series (test_newer.py has one).
        self.assertNotIn("tally_check_skipped_newer", values)
        self.assertAlmostEqual(series(values, "tally_check_duration_seconds", spec="it-metrics", check="diff"),
                               c["seconds"], delta=0.0011)

    def test_consistent(self):
        r, _, _ = self.run_with_metrics(self.spec(checks=("same",)))
        self.assertEqual(r.code, 0, r.stderr)
        values, _ = parse(self.prom())
        self.assertEqual(series(values, "tally_run_exit_status", spec="it-metrics"), 0)
        self.assertEqual(series(values, "tally_check_status", spec="it-metrics", check="same"), 0)
        self.assertEqual(series(values, "tally_check_rows", spec="it-metrics", check="same", side="target"), 50)
        for kind in ("missing", "extra", "changed"):
            self.assertEqual(series(values, "tally_check_differences", spec="it-metrics", check="same", kind=kind), 0)

    def test_trouble_keeps_last_success(self):
        r, _, _ = self.run_with_metrics(self.spec(checks=("same", "diff")))
        self.assertEqual(r.code, 1, r.stderr)
        first, _ = parse(self.prom())
        success = series(first, "tally_run_last_success_timestamp_seconds", spec="it-metrics")
        time.sleep(0.05)
        # The target's server is not there: trouble.
        r, before, _ = self.run_with_metrics(self.spec(target_port=free_port(), checks=("same", "diff")))
        self.assertEqual(r.code, 2, r.stderr)
        self.assertEqual(r.report["status"], "error")
        self.assertFileSane()
        values, types = parse(self.prom())
        self.assertEqual(series(values, "tally_run_exit_status", spec="it-metrics"), 2)
        self.assertEqual(series(values, "tally_run_last_success_timestamp_seconds", spec="it-metrics"), success)
        self.assertGreaterEqual(series(values, "tally_run_last_start_timestamp_seconds", spec="it-metrics"),
                                before - 1)
        self.assertEqual(series(values, "tally_check_status", spec="it-metrics", check="same"), 2)
        self.assertEqual(series(values, "tally_check_status", spec="it-metrics", check="diff"), 2)
        # No verdict, no counts: no series rather than a 0 nobody counted.
        for name in ("tally_check_rows", "tally_check_differences", "tally_check_in_flight",
                     "tally_check_duration_seconds"):
            self.assertNotIn(name, values)

        # A spec that cannot be read: exit status 2 under the previous file's label.
        bad = self.write_spec("version: 1\nname: [\n", "bad.yaml")
        p = subprocess.run([harness.tally_bin(), "check", bad, "--metrics", self.prom()],
                                   capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        values, _ = parse(self.prom())
        self.assertEqual(series(values, "tally_run_exit_status", spec="it-metrics"), 2)
        self.assertEqual(series(values, "tally_run_last_success_timestamp_seconds", spec="it-metrics"), success)
        self.assertNotIn("tally_check_status", values)

    def test_shards_merged(self):
        """Two shards, then tally merge --metrics: the numbers of one run."""
        spec = self.spec()
        outs = []
        for k in range(2):
            out = os.path.join(self.tmp, f"shard-{k}")
            r = self.tally(spec, "--shard", f"{k}/2", "--chunk-rows", "1000", outdir=out)
            self.assertIn(r.code, (0, 1), r.stderr)
            outs.append(out)
        os.makedirs(os.path.dirname(self.prom()))
        merged = os.path.join(self.tmp, "merged")
        p = subprocess.run([harness.tally_bin(), "merge", "--out", merged, "--metrics", self.prom(), *outs],
                                   capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        report = harness.load_report(os.path.join(harness.run_dir(merged), "report.json"))
        values, _ = parse(self.prom())
        self.assertEqual(series(values, "tally_run_exit_status", spec="it-metrics"), 1)
        c = report["checks"][0]
        for kind in ("missing", "extra", "changed"):
            self.assertEqual(series(values, "tally_check_differences", spec="it-metrics", check="diff", kind=kind),
                             c[kind])
        self.assertEqual(series(values, "tally_check_rows", spec="it-metrics", check="diff", side="source"), 300)

    def test_missing_directory_stops_before_the_run(self):
        out = os.path.join(self.tmp, "out")
        r = self.tally(self.spec(), "--metrics", os.path.join(self.tmp, "nope", "tally.prom"), outdir=out)
        self.assertEqual(r.code, 2)
        self.assertEqual(r.stderr, f"tally: error: cannot write metrics to '{self.tmp}/nope/tally.prom': "
                                   "No such file or directory\n")
        self.assertFalse(os.path.exists(out))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


if __name__ == "__main__":
    harness.main()
