#!/usr/bin/env python3
"""
tests/integration/test_cli.py
  The command line, without a server: an unknown command or option, a
  missing or unwanted option value, a missing spec each print exactly one
  line naming what was wrong and where help is (never an option's value),
  and exit 2; `tally COMMAND --help` prints that command's help only;
  every long option of every command's help is described in the man page
  (docs/tally.1.scd, and the tally.1 meson built from it, in that
  command's section) and completed by docs/tally.bash-completion, which
  also completes commands, option values, check names from the spec and
  spec files. The published report schema rejects what tally never
  writes. The README explains the summary's "undeleted".
"""
import copy
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import REPO, TallyCase  # noqa: E402

COMMANDS = ("check", "merge", "snapshot", "verify")
COMPLETION = os.path.join(REPO, "docs", "tally.bash-completion")
MAN_SOURCE = os.path.join(REPO, "docs", "tally.1.scd")


def tally(*args):
    return subprocess.run([harness.tally_bin(), *args], capture_output=True, text=True, timeout=30)


def help_options(cmd):
    """The long options a command's --help lists in its options section."""
    text = tally(cmd, "--help").stdout
    section = text.split(f"options for {cmd}:\n", 1)[1]
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", section)))


def complete(*words, cwd=None):
    """What the completion offers for the words typed so far (the last one being completed)."""
    script = ("source \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _tally; "
              "printf '%s\\n' \"${COMPREPLY[@]}\"")
    p = subprocess.run(["bash", "-c", script, "bash", COMPLETION, *words], capture_output=True, text=True,
                       cwd=cwd, timeout=30)
    if p.returncode != 0 or p.stderr:
        raise AssertionError(f"completion failed: {p.stderr}")
    return [w for w in p.stdout.split("\n") if w]


class Cli(TallyCase):
    def assertOneLine(self, p, line):
        self.assertEqual((p.returncode, p.stdout, p.stderr), (2, "", line + "\n"))

    def test_unknown_command(self):
        self.assertOneLine(tally("frobnicate"), "tally: error: unknown command 'frobnicate' (see tally --help)")
        self.assertOneLine(tally(), "tally: error: no command: check, merge, snapshot or verify (see tally --help)")
        self.assertOneLine(tally("--frob=secret"), "tally: error: unrecognized option '--frob' (see tally --help)")

    def test_unknown_and_bad_options(self):
        cases = [
            (("check", "--frob=secret", "x.yaml"),
             "tally: error: check: unrecognized option '--frob' (see tally check --help)"),
            (("check", "--quiet=1", "x.yaml"),
             "tally: error: check: option '--quiet' takes no value (see tally check --help)"),
            (("check", "x.yaml", "--out"), "tally: error: check: option '--out' needs a value (see tally check --help)"),
            (("check", "x.yaml", "-o"), "tally: error: check: option '-o' needs a value (see tally check --help)"),
            (("check", "--quiet", "-zq", "x.yaml"),
             "tally: error: check: unrecognized option '-z' (see tally check --help)"),
            (("check",), "tally: error: check needs exactly one spec file (see tally check --help)"),
            (("merge", "--nope", "a"), "tally: error: merge: unrecognized option '--nope' (see tally merge --help)"),
            (("merge", "a"), "tally: error: merge needs --out DIR and the shard directories (see tally merge --help)"),
            (("snapshot", "-x"), "tally: error: snapshot: unrecognized option '-x' (see tally snapshot --help)"),
            (("snapshot", "x.yaml"), "tally: error: snapshot needs a spec file, --check NAME, --side source|target "
                                     "and -o FILE (see tally snapshot --help)"),
            (("verify",), "tally: error: verify needs exactly one run directory (see tally verify --help)"),
            (("verify", "--frob", "d"), "tally: error: verify: unrecognized option '--frob' (see tally verify --help)"),
            (("check", "x.yaml", "--recheck", "-1"), "tally: error: --recheck needs seconds between 0 and 86400"),
        ]
        for args, line in cases:
            self.assertOneLine(tally(*args), line)

    def test_command_help(self):
        for cmd in COMMANDS:
            for flag in ("--help", "-h"):
                p = tally(cmd, flag)
                self.assertEqual((p.returncode, p.stderr), (0, ""), cmd)
                self.assertTrue(p.stdout.startswith(f"usage: tally {cmd} "), p.stdout)
                self.assertIn(f"options for {cmd}:", p.stdout)
                for other in COMMANDS:
                    if other != cmd:
                        self.assertNotIn(f"options for {other}:", p.stdout)
                        self.assertNotIn(f"tally {other} ", p.stdout)
        p = tally("--help")
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        for cmd in COMMANDS:
            self.assertIn(f"options for {cmd}:", p.stdout)
        self.assertIn("--metrics FILE", tally("check", "--help").stdout)
        self.assertIn("report.html", tally("check", "--help").stdout)

    def test_man_page_describes_every_option(self):
        source = open(MAN_SOURCE).read()
        sections = dict(re.findall(r"^# ([A-Z ]+)\n(.*?)(?=^# |\Z)", source, re.M | re.S))
        built = os.path.join(os.path.dirname(harness.tally_bin()), "docs", "tally.1")
        self.assertTrue(os.path.exists(built), "meson did not build the man page (is scdoc installed?)")
        page = open(built).read()
        self.assertTrue(page.startswith(".\\\" Generated by scdoc"))
        self.assertIn('.TH "tally" "1"', page)
        for cmd in COMMANDS:
            opts = help_options(cmd)
            self.assertIn("--help", opts)
            body = sections[f"OPTIONS FOR {cmd.upper()}"]
            for opt in opts:
                self.assertRegex(body, rf"(?m)^\*{re.escape(opt)}\*|, \*{re.escape(opt)}\*",
                                 f"{cmd} {opt} is not in the man page's options for {cmd}")
                self.assertIn(f"\\fB{opt}\\fR", page, f"{cmd} {opt} is not in the built man page")

    def test_completion(self):
        self.assertEqual(complete("tally", "ch"), ["check"])
        self.assertEqual(complete("tally", ""), ["check", "merge", "snapshot", "verify", "--help", "--version"])
        self.assertEqual(complete("tally", "check", "--sta"), ["--statement-timeout"])
        self.assertEqual(complete("tally", "merge", "--m"), ["--metrics"])
        # Every command completes exactly the options its --help lists.
        for cmd in COMMANDS:
            self.assertEqual(sorted(complete("tally", cmd, "--")), help_options(cmd), cmd)
        self.assertEqual(complete("tally", "snapshot", "x.yaml", "--side", ""), ["source", "target"])
        self.assertEqual(complete("tally", "check", "--on-lock-wait", "w"), ["wait"])
        # Check names from the spec on the command line, wherever it stands.
        spec = self.write_spec("version: 1\nname: n\nchecks:\n  - name: orders\n    key: [id]\n"
                               "  - name: order-lines\n  - name: customers\n", "my spec.yaml")
        self.assertEqual(complete("tally", "check", spec, "--check", "or"), ["orders", "order-lines"])
        self.assertEqual(complete("tally", "check", "--out", "d", "--quiet", spec, "-c", "c"), ["customers"])
        # Spec files (names with spaces too) and directories; merge takes directories.
        os.mkdir(os.path.join(self.tmp, "shard 0"))
        open(os.path.join(self.tmp, "notes.txt"), "w").close()
        self.assertEqual(sorted(complete("tally", "check", "", cwd=self.tmp)), ["my spec.yaml", "shard 0"])
        self.assertEqual(complete("tally", "merge", "--out", "x", "sh", cwd=self.tmp), ["shard 0"])
        self.assertEqual(complete("tally", "check", "x.yaml", "--jobs", ""), [])

    def test_schema_rejects_what_tally_never_writes(self):
        spec = ('version: 1\nname: it-cli\nsystems:\n'
                '  a: { driver: postgres, dsn: "postgresql://u@127.0.0.1:1/x" }\n'
                'checks:\n  - name: t\n    source: { system: a, table: t }\n    target: { system: a, table: u }\n')
        r = self.tally(spec, "--connect-timeout", "2")
        self.assertEqual(r.code, 2, r.stderr)
        self.assertEqual(r.report["status"], "error")     # validated on reading
        good = r.report
        bad = []
        for change in (lambda x: x.update(extra=1), lambda x: x.pop("status"),
                       lambda x: x.update(status="fine"), lambda x: x.update(error=None),
                       lambda x: x["checks"][0].update(missing=3),
                       lambda x: x["checks"][0]["source"].update(port=1),
                       lambda x: x.update(started_at="yesterday")):
            doc = copy.deepcopy(good)
            change(doc)
            bad.append(doc)
        for doc in bad:
            with self.assertRaises(AssertionError, msg=json.dumps(doc)[:200]):
                harness.validate_report(doc)

    def test_readme_explains_undeleted(self):
        readme = open(os.path.join(REPO, "README.md")).read()
        self.assertTrue("`undeleted N` is the count of `extra`" in readme, "README.md does not explain it")


if __name__ == "__main__":
    harness.main()
