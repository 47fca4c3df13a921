#!/usr/bin/env python3
"""
tests/integration/test_ship.py
  tally as it is shipped, without a server: `meson install --destdir`
  puts exactly the binary, the man page and the bash completion where they
  belong, and the installed binary runs and its man page is found; the
  systemd units of docs/ pass `systemd-analyze verify` (with ExecStart
  pointing at the installed binary and its man page on MANPATH) with no
  output, succeed on exit status 1 and use --metrics; the README's crontab
  line and the units run `tally check` with options it has; the
  Containerfile's runtime stage (Debian 12 slim, non-root, ENTRYPOINT
  tally) installs the package of every shared library the binary needs,
  and its build stage every -dev package deps.sh installs for building.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import REPO, TallyCase  # noqa: E402

DOCS = os.path.join(REPO, "docs")


def check_options():
    text = subprocess.run([harness.tally_bin(), "check", "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", text))


def options_of(command):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command))


class Ship(TallyCase):
    @classmethod
    def setUpClass(cls):
        cls.build = os.path.dirname(os.path.abspath(harness.tally_bin()))
        cls.dest = tempfile.mkdtemp(prefix="tally-install-")
        opts = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", cls.build],
                                         capture_output=True, text=True, check=True).stdout)
        get = {o["name"]: o["value"] for o in opts}
        cls.prefix = get["prefix"]
        cls.bindir = os.path.join(cls.prefix, get["bindir"])
        cls.mandir = os.path.join(cls.prefix, get["mandir"])
        cls.datadir = os.path.join(cls.prefix, get["datadir"])
        cls.install = subprocess.run(["meson", "install", "-C", cls.build, "--no-rebuild", "--quiet",
                                      "--destdir", cls.dest], capture_output=True, text=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def under_dest(self, path):
        return os.path.join(self.dest, path.lstrip("/"))

    def test_meson_install(self):
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        files = sorted(os.path.relpath(os.path.join(root, f), self.dest)
                       for root, _, names in os.walk(self.dest) for f in names)
        want = sorted(os.path.relpath(self.under_dest(p), self.dest) for p in (
            os.path.join(self.bindir, "tally"),
            os.path.join(self.mandir, "man1", "tally.1"),
            os.path.join(self.datadir, "bash-completion", "completions", "tally")))
        self.assertEqual(files, want)
        tally = self.under_dest(os.path.join(self.bindir, "tally"))
        p = subprocess.run([tally, "--version"], capture_output=True, text=True)
        self.assertEqual(p.stdout, "tally 0.1.0\n")
        self.assertEqual(open(self.under_dest(os.path.join(self.datadir, "bash-completion", "completions", "tally"))).read(),
                         open(os.path.join(DOCS, "tally.bash-completion")).read())
        p = subprocess.run(["man", "-w", "tally"], capture_output=True, text=True,
                           env=dict(os.environ, MANPATH=self.under_dest(self.mandir)))
        self.assertEqual(p.stdout.strip(), self.under_dest(os.path.join(self.mandir, "man1", "tally.1")), p.stderr)

    def test_systemd_units_verify(self):
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        units = os.path.join(self.tmp, "units")
        os.mkdir(units)
        service = open(os.path.join(DOCS, "tally-nightly.service")).read()
        timer = open(os.path.join(DOCS, "tally-nightly.timer")).read()
        self.assertRegex(service, r"(?m)^SuccessExitStatus=1$")
        self.assertRegex(service, r"(?m)^Type=oneshot$")
        execstart = re.search(r"(?m)^ExecStart=(.*)$", service).group(1)
        self.assertTrue(execstart.startswith("/usr/local/bin/tally check "), execstart)
        self.assertIn("--metrics /var/lib/node_exporter/textfile_collector/tally.prom", execstart)
        self.assertLessEqual(options_of(execstart), check_options())
        self.assertRegex(timer, r"(?m)^OnCalendar=")
        installed = self.under_dest(os.path.join(self.bindir, "tally"))
        with open(os.path.join(units, "tally-nightly.service"), "w") as f:
            f.write(service.replace("ExecStart=/usr/local/bin/tally ", f"ExecStart={installed} "))
        with open(os.path.join(units, "tally-nightly.timer"), "w") as f:
            f.write(timer)
        p = subprocess.run(["systemd-analyze", "verify", "tally-nightly.service", "tally-nightly.timer"],
                           cwd=units, capture_output=True, text=True,
                           env=dict(os.environ, MANPATH=self.under_dest(self.mandir)))
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))

    def test_readme_crontab_line(self):
        readme = open(os.path.join(REPO, "README.md")).read()
        found = re.search(r"<!-- crontab -->\n```\n(.*?)```", readme, re.S)
        self.assertIsNotNone(found, "no <!-- crontab --> block in the README")
        block = found.group(1)
        lines = [ln for ln in block.splitlines() if ln and not ln.startswith("#")]
        self.assertEqual(len(lines), 1, block)
        fields = lines[0].split(None, 6)
        self.assertEqual(fields[:5], ["30", "2", "*", "*", "*"])
        self.assertEqual(fields[5], "tally")        # the user, in /etc/cron.d
        self.assertTrue(fields[6].startswith("tally check "), fields[6])
        self.assertIn("--quiet", fields[6])
        self.assertIn("--metrics /var/lib/node_exporter/textfile_collector/tally.prom", fields[6])
        self.assertNotIn("%", fields[6])            # cron would cut the line there
        self.assertLessEqual(options_of(fields[6]), check_options())

    def test_containerfile(self):
        text = open(os.path.join(DOCS, "Containerfile")).read()
        stages = re.split(r"(?m)^FROM ", text)[1:]
        self.assertEqual(len(stages), 2)
        build, run = stages
        self.assertTrue(build.startswith("docker.io/library/debian:12 AS build"))
        self.assertTrue(run.startswith("docker.io/library/debian:12-slim\n"))
        self.assertIn('ENTRYPOINT ["tally"]', run)
        user = re.search(r"(?m)^USER (\S+)$", run).group(1)
        self.assertNotIn(user.split(":")[0], ("0", "root"))
        run_pkgs = set(re.findall(r"\b(lib[a-z0-9.+-]+|tzdata|ca-certificates)\b",
                                  run.split("apt-get install", 1)[1].split("&&", 1)[0]))
        self.assertNotIn("-dev", " ".join(run_pkgs))
        self.assertEqual(run_pkgs, {"libpq5", "libmariadb3", "libxxhash0", "libzstd1", "libfyaml0", "libjansson4",
                                    "tzdata", "ca-certificates"})
        # Every library the binary links directly comes from one of them, or is in every image.
        elf = subprocess.run(["readelf", "-d", harness.tally_bin()], capture_output=True, text=True, check=True).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", elf)
        self.assertIn("libpq.so.5", needed)
        ldd = subprocess.run(["ldd", harness.tally_bin()], capture_output=True, text=True, check=True).stdout
        paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
        for lib in needed:
            if lib.startswith("ld-linux"):
                continue                    # the dynamic loader: libc6
            real = os.path.realpath(paths[lib])
            owner = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
            if owner.returncode != 0:       # dpkg knows the path it installed, maybe /lib rather than /usr/lib
                owner = subprocess.run(["dpkg", "-S", os.path.join("/lib", os.path.relpath(real, "/usr/lib"))],
                                       capture_output=True, text=True)
            pkg = owner.stdout.split(":")[0]
            # libc6 and libgcc-s1 are in every Debian image (a clang build links libgcc_s).
            self.assertIn(pkg, run_pkgs | {"libc6", "libgcc-s1"}, f"{lib} ({real}) comes from {pkg}")
        # The build stage has every -dev package deps.sh installs to build.
        deps = open(os.path.join(REPO, "scripts", "deps.sh")).read()
        dev = set(re.findall(r"\b(lib[a-z0-9-]+-dev)\b", deps)) - {"libclang-rt-14-dev"}
        self.assertLessEqual(dev, set(re.findall(r"\b(lib[a-z0-9-]+-dev)\b", build)))
        # The README's Kubernetes example runs this image, and says how to build it.
        readme = open(os.path.join(REPO, "README.md")).read()
        images = set(re.findall(r"(?m)^\s+image: (\S+)$", readme))
        self.assertEqual(images, {"registry.example.com/tally:0.1.0"})
        self.assertTrue("podman build -f docs/Containerfile -t registry.example.com/tally:0.1.0 ." in readme,
                        "the README does not say how to build the image")


if __name__ == "__main__":
    harness.main()
