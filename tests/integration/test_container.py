#!/usr/bin/env python3
"""
tests/integration/test_container.py
  The image of docs/Containerfile, built and run: optional, because it
  needs podman (or docker) able to build and run containers, and a
  registry to pull debian:12 from (or those images already present).
  scripts/test.sh runs it when TALLY_TEST_CONTAINER=1, and counts its
  cases with the others:

    TALLY_TEST_CONTAINER=1 scripts/test.sh
    TALLY_CONTAINER=docker TALLY_TEST_CONTAINER=1 scripts/test.sh

  TALLY_CONTAINER is the engine's command (default podman),
  TALLY_CONTAINER_FLAGS more options for its build and run (e.g.
  "--network host"). The image prints its version, runs as uid 10001
  with no compiler in it, and compares two tables of the test servers
  (reached over the host's network) with the exact verdict, a report that
  matches the schema, report.html and a metrics file.
"""
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import REPO, TallyCase  # noqa: E402

ENGINE = shlex.split(os.environ.get("TALLY_CONTAINER", "podman"))
FLAGS = shlex.split(os.environ.get("TALLY_CONTAINER_FLAGS", ""))
IMAGE = f"localhost/tally:test-{os.getpid()}"
DB = "tally_it_container"


def engine(*args, timeout=1800):
    return subprocess.run([*ENGINE, *args], capture_output=True, text=True, timeout=timeout)


def run(*args, entrypoint=None):
    extra = ["--entrypoint", entrypoint] if entrypoint else []
    return engine("run", "--rm", *FLAGS, *extra, *args)


class Container(TallyCase):
    @classmethod
    def setUpClass(cls):
        cls.build = engine("build", *FLAGS, "-f", os.path.join(REPO, "docs", "Containerfile"), "-t", IMAGE, REPO)

    @classmethod
    def tearDownClass(cls):
        engine("rmi", "-f", IMAGE, timeout=300)

    def setUp(self):
        super().setUp()
        self.assertEqual(self.build.returncode, 0, self.build.stdout[-3000:] + self.build.stderr[-3000:])

    def test_1_version(self):
        p = run(IMAGE, "--version")
        self.assertEqual((p.returncode, p.stdout), (0, "tally 0.1.0\n"), p.stderr)

    def test_2_unprivileged_and_no_compiler(self):
        p = run(IMAGE, "-c", "id -u; id -g; command -v cc gcc meson ninja || true; dpkg -l | grep -cE -- '-dev(:[a-z0-9]+)? ' || true",
                entrypoint="/bin/sh")
        self.assertEqual(p.stdout, "10001\n10001\n0\n", p.stderr)

    def test_3_check_against_the_servers(self):
        pg = harness.PG()
        pg.create_db(DB)
        try:
            pg.psql(DB, "CREATE TABLE s (id int PRIMARY KEY, v text); CREATE TABLE t (id int PRIMARY KEY, v text);"
                        "INSERT INTO s SELECT g, 'v' || g FROM generate_series(1, 1000) g;"
                        "INSERT INTO t SELECT g, 'v' || g FROM generate_series(3, 1001) g;"
                        "UPDATE t SET v = 'x' WHERE id = 500;")
            spec_dir = os.path.join(self.tmp, "spec")
            out = os.path.join(self.tmp, "out")
            os.mkdir(spec_dir)
            os.mkdir(out)
            os.chmod(self.tmp, 0o755)
            os.chmod(spec_dir, 0o755)
            os.chmod(out, 0o777)            # the image's user writes here
            spec = os.path.join(spec_dir, "c.yaml")
            with open(spec, "w") as f:
                f.write(f'version: 1\nname: it-container\nsystems:\n'
                        f'  a: {{ driver: postgres, dsn: "{pg.dsn_env(DB)}" }}\n'
                        f'checks:\n  - name: c\n    source: {{ system: a, table: s }}\n'
                        f'    target: {{ system: a, table: t }}\n')
            os.chmod(spec, 0o644)
            net = [] if any(f.startswith("--network") for f in FLAGS) else ["--network", "host"]
            p = run(*net, "-e", "TALLY_PG_PASSWORD", "-v", f"{spec_dir}:/spec:ro", "-v", f"{out}:/out",
                    IMAGE, "check", "/spec/c.yaml", "--out", "/out/run", "--metrics", "/out/tally.prom")
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            report = harness.load_report(os.path.join(harness.run_dir(os.path.join(out, "run")), "report.json"))
            c = report["checks"][0]
            self.assertEqual((c["missing"], c["extra"], c["changed"]), (2, 1, 1))
            self.assertTrue(os.path.exists(os.path.join(harness.run_dir(os.path.join(out, "run")), "report.html")))
            self.assertIn('tally_check_differences{spec="it-container",check="c",kind="missing"} 2\n',
                          open(os.path.join(out, "tally.prom")).read())
        finally:
            pg.drop_db(DB)


if __name__ == "__main__":
    harness.main()
