"""
tests/integration/harness.py
  What every integration test shares: the servers started by
  scripts/servers.sh (their DIR/env exported by scripts/test.sh), admin
  access through the real psql and mariadb clients, running the tally
  binary on a spec, reading report.json (validated against
  docs/report.schema.json) and diff.ndjson.zst, and a TAP runner so meson
  counts every case.

Nothing here is mocked: each test creates its own databases on the real
servers and drops them at the end. Without the servers the tests fail.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import jsonschema  # Debian's python3-jsonschema: tests/meson.build runs /usr/bin/python3

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(REPO, "docs", "report.schema.json")
_report_validator = jsonschema.Draft202012Validator(json.load(open(SCHEMA)))


def validate_report(report, where="report.json"):
    """Every report a test reads must match the published schema; a mismatch fails that test."""
    errors = sorted(_report_validator.iter_errors(report), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}" for e in errors[:10]]
        raise AssertionError(f"{where} does not match docs/report.schema.json:\n  " + "\n  ".join(lines))


def load_report(path):
    """report.json at path, validated against docs/report.schema.json."""
    with open(path) as f:
        report = json.load(f)
    validate_report(report, path)
    return report


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"{name} is not set: run the tests through scripts/test.sh, which starts "
            "the servers (scripts/servers.sh) and exports their settings")
    return value


def tally_bin():
    path = os.environ.get("TALLY") or os.path.join(REPO, "build", "tally")
    if not os.path.exists(path):
        raise RuntimeError(f"tally binary not found at {path}")
    return path


class PG:
    """Admin access to the throwaway PostgreSQL through psql."""

    def __init__(self):
        self.host = env("TALLY_PG_HOST")
        self.port = env("TALLY_PG_PORT")
        self.bindir = env("TALLY_PG_BINDIR")
        self.admin = env("TALLY_PG_ADMIN_USER")
        self.admin_pw = env("TALLY_PG_ADMIN_PASSWORD")
        self.user = env("TALLY_PG_USER")
        self.user_pw = env("TALLY_PG_PASSWORD")

    def psql(self, db, sql, user=None, password=None, check=True):
        e = dict(os.environ, PGPASSWORD=password or self.admin_pw, PGCONNECT_TIMEOUT="10")
        cmd = [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", self.host, "-p", self.port, "-U", user or self.admin, "-d", db]
        p = subprocess.run(cmd, input=sql, capture_output=True, text=True, env=e)
        if check and p.returncode != 0:
            raise RuntimeError(f"psql failed on {db}: {p.stderr}\n--- sql ---\n{sql[:2000]}")
        return p.stdout

    def run_file(self, db, path):
        """Applies a SQL file the way a reviewer's operator would."""
        e = dict(os.environ, PGPASSWORD=self.admin_pw)
        cmd = [os.path.join(self.bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
               "-h", self.host, "-p", self.port, "-U", self.admin, "-d", db, "-f", path]
        return subprocess.run(cmd, capture_output=True, text=True, env=e)

    def create_db(self, name):
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);\n'
                              f'CREATE DATABASE "{name}";')

    def drop_db(self, name):
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')

    def dsn(self, db, password=None, port=None):
        pw = self.user_pw if password is None else password
        return (f"postgresql://{self.user}:{pw}@{self.host}:{port or self.port}/{db}"
                "?sslmode=disable")

    def dsn_env(self, db):
        """A dsn whose password comes from ${TALLY_PG_PASSWORD}."""
        return (f"postgresql://{self.user}:${{TALLY_PG_PASSWORD}}@{self.host}:{self.port}/{db}"
                "?sslmode=disable")


class MY:
    """Admin access to the throwaway MariaDB through the mariadb client."""

    def __init__(self):
        self.host = env("TALLY_MY_HOST")
        self.port = env("TALLY_MY_PORT")
        self.admin = env("TALLY_MY_ADMIN_USER")
        self.admin_pw = env("TALLY_MY_ADMIN_PASSWORD")
        self.user = env("TALLY_MY_USER")
        self.user_pw = env("TALLY_MY_PASSWORD")

    def sql(self, db, sql, check=True):
        e = dict(os.environ, MYSQL_PWD=self.admin_pw)
        cmd = ["mariadb", "--no-defaults", "--batch", "--skip-column-names", "--default-character-set=utf8mb4",
               "-h", self.host, "-P", self.port, "-u", self.admin]
        if db:
            cmd += ["-D", db]
        p = subprocess.run(cmd, input=sql, capture_output=True, text=True, env=e)
        if check and p.returncode != 0:
            raise RuntimeError(f"mariadb failed on {db}: {p.stderr}\n--- sql ---\n{sql[:2000]}")
        return p.stdout

    def run_file(self, db, path):
        e = dict(os.environ, MYSQL_PWD=self.admin_pw)
        cmd = ["mariadb", "--no-defaults", "--default-character-set=utf8mb4",
               "-h", self.host, "-P", self.port, "-u", self.admin, "-D", db]
        with open(path, "rb") as f:
            return subprocess.run(cmd, stdin=f, capture_output=True, env=e)

    def create_db(self, name):
        self.sql(None, f"DROP DATABASE IF EXISTS `{name}`;\n"
                       f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;")

    def drop_db(self, name):
        self.sql(None, f"DROP DATABASE IF EXISTS `{name}`;")

    def dsn(self, db, password=None, port=None):
        pw = self.user_pw if password is None else password
        return f"mariadb://{self.user}:{pw}@{self.host}:{port or self.port}/{db}"

    def dsn_env(self, db):
        return f"mariadb://{self.user}:${{TALLY_MY_PASSWORD}}@{self.host}:{self.port}/{db}"


def run_dir(out):
    """The run directory OUT/latest points at (tally check and merge write one run per directory);
    OUT itself when there is no run in it."""
    latest = os.path.join(out, "latest")
    if os.path.islink(latest):
        return os.path.realpath(latest)
    return out


class Result:
    def __init__(self, proc, outdir):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.base = outdir           # OUT, as given to --out
        self.outdir = run_dir(outdir)  # the run's own directory
        rp = os.path.join(self.outdir, "report.json")
        self.report = load_report(rp) if os.path.exists(rp) else None
        dp = os.path.join(self.outdir, "diff.ndjson.zst")
        self.diff_exists = os.path.exists(dp)
        self.diffs = []
        if self.diff_exists:
            raw = subprocess.run(["zstd", "-dc", dp], capture_output=True, check=True).stdout
            self.diffs = [json.loads(line) for line in raw.decode().splitlines() if line]

    def check(self, name):
        for c in self.report["checks"]:
            if c["name"] == name:
                return c
        raise KeyError(name)

    def keys(self, check, kind):
        """The keys of one kind of difference, in the diff file's (key) order."""
        out = []
        for d in self.diffs:
            if d.get("check") == check and d["kind"] == kind:
                out.append(tuple(d["key"].values()) if len(d["key"]) > 1 else list(d["key"].values())[0])
        return out

    def changed_columns(self, check):
        return {json.dumps(list(d["key"].values())): d["columns"]
                for d in self.diffs if d.get("check") == check and d["kind"] == "changed"}


class TallyCase(unittest.TestCase):
    """A test case with a scratch directory and a tally runner."""

    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tally-it-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_spec(self, text, name="spec.yaml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def tally(self, spec_text, *args, outdir=None, env_extra=None, timeout=300):
        spec = self.write_spec(spec_text)
        out = outdir or os.path.join(self.tmp, "out")
        e = dict(os.environ)
        if env_extra:
            e.update(env_extra)
        p = subprocess.run([tally_bin(), "check", spec, "--out", out, *args],
                           capture_output=True, text=True, env=e, timeout=timeout)
        return Result(p, out)

    def assertNoSecret(self, result, *secrets):
        files = []
        for root, _, names in os.walk(result.outdir):
            for n in names:
                p = os.path.join(root, n)
                if n.endswith(".zst"):
                    files.append(subprocess.run(["zstd", "-dc", p], capture_output=True).stdout
                                 .decode(errors="replace"))
                else:
                    files.append(open(p, errors="replace").read())
        for s in secrets:
            self.assertNotIn(s, result.stdout)
            self.assertNotIn(s, result.stderr)
            for text in files:
                self.assertNotIn(s, text)


class TapResult(unittest.TestResult):
    """Prints one TAP line per case as it ends; class fixtures run as usual."""

    def __init__(self):
        super().__init__()
        self.n = 0
        self.bad = 0

    def _line(self, test, ok, text=None):
        self.n += 1
        name = test.id().split(".", 1)[-1] if hasattr(test, "id") else str(test)
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}", flush=True)
        if not ok:
            self.bad += 1
            for line in str(text).splitlines():
                print(f"# {line}", flush=True)
            # Also on stderr: meson's --print-errorlogs shows stderr of a
            # failed test, so CI logs carry the reason, not only the name.
            print(f"not ok {self.n} - {name}\n{text}", file=sys.stderr, flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, False, self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, False, self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, False, "skipped tests are failures here: " + reason)


def main():
    """Runs the module's tests and prints TAP: one line per case."""
    suite = unittest.TestLoader().loadTestsFromModule(sys.modules["__main__"])
    print(f"1..{suite.countTestCases()}", flush=True)
    result = TapResult()
    suite.run(result)
    sys.exit(1 if result.bad or result.n != suite.countTestCases() else 0)
