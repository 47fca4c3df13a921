#!/usr/bin/env python3
"""
tests/integration/test_workflow.py
  Workflows on the real servers: the order-cancel example of
  specs/examples/workflow.yaml (orders and stock reservations in
  PostgreSQL, the search index in MariaDB), seeded from its own SQL files
  with keys stopped after each step, complete keys, never-started keys and
  one key done out of order. Exact counts per stopping point and exact
  keys; the two scripts applied with the real clients in the order the
  change order states; tally verify and a new run; the rollback restoring
  every table exactly; drift between check and apply aborting with
  nothing changed; --check selecting a workflow or one step.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import REPO, TallyCase  # noqa: E402

EX = os.path.join(REPO, "specs", "examples")
# The example, on databases of this test's own (test_examples.py, which may run at the same time, seeds oms and search).
SPEC = (open(os.path.join(EX, "workflow.yaml")).read()
        .replace("}/oms?", "}/wf_oms?").replace("}/search\"", "}/wf_search\""))
assert "wf_oms" in SPEC and "wf_search" in SPEC
# The same workflow, repairing the key done out of order too.
SPEC_OOO = SPEC.replace("    key: [order_id]\n", "    key: [order_id]\n    repair_out_of_order: true\n", 1)

STOPPED_1 = [11, 12, 13]
STOPPED_2 = [14, 15]
NEVER = [16, 17, 18, 19]
OOO = [20]


class Workflow(TallyCase):

    @classmethod
    def setUpClass(cls):
        cls.pg, cls.my = harness.PG(), harness.MY()

    @classmethod
    def tearDownClass(cls):
        cls.pg.drop_db("wf_oms")
        cls.my.drop_db("wf_search")

    def setUp(self):
        super().setUp()
        self.my.create_db("wf_search")
        self.my.sql("wf_search", open(os.path.join(EX, "workflow-mariadb.sql")).read())
        self.pg.create_db("wf_oms")
        self.pg.psql("wf_oms", open(os.path.join(EX, "workflow-postgres.sql")).read())

    def dump(self):
        """Every row of the three tables, in key order."""
        return (self.pg.psql("wf_oms", "SELECT id, status, cancel_requested_at FROM orders ORDER BY id"),
                self.pg.psql("wf_oms", "SELECT order_id, sku, qty FROM stock_reservations ORDER BY 1, 2"),
                self.my.sql("wf_search", "SELECT order_id, title FROM search_index ORDER BY order_id"))

    def apply(self, r, file, rollback=False):
        """The change order's command for file, run in the run directory with the admin account."""
        text = open(os.path.join(r.outdir, "change-order.md")).read()
        if rollback:
            text = text[text.index("## How to roll back"):]
        block = text[text.index(f": `{file}`\n"):]
        cmd = re.search(r"Apply it.*?```sh\n   (.*?)\n   ```", block, re.S).group(1)
        line = re.search(r"the line:\n\n   ```\n   (.*?)\n   ```", block).group(1)
        if cmd.startswith("mariadb "):
            cmd = cmd.replace(" -u OPERATOR -p ", f" -u {self.my.admin} --password={self.my.admin_pw} ")
        e = dict(os.environ, PATH=self.pg.bindir + os.pathsep + os.environ["PATH"],
                 REPAIR_USER=self.pg.admin, PGPASSWORD=self.pg.admin_pw)
        p = subprocess.run(["bash", "-c", cmd], cwd=r.outdir, capture_output=True, text=True, env=e)
        return p, line

    def apply_ok(self, r, file, rollback=False):
        p, line = self.apply(r, file, rollback)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[-1], line)
        return line

    def script_order(self, r):
        """The scripts in the order "How to apply" lists them."""
        text = open(os.path.join(r.outdir, "change-order.md")).read()
        apply = text[text.index("## How to apply"):text.index("## How to verify")]
        return re.findall(r"^### \d+\. System `\w+` \(\w+\): `(repair\.\w+\.sql)`$", apply, re.M)

    def wf_lines(self, r):
        return {d["key"]["order_id"]: d for d in r.diffs if d["kind"] == "workflow"}

    def groups(self, r):
        return r.report["workflows"][0]["groups"]

    def verify(self, run_dir):
        return subprocess.run([harness.tally_bin(), "verify", run_dir], capture_output=True, text=True,
                              timeout=120, cwd=self.tmp)

    def test_where_each_key_stopped(self):
        r = self.tally(SPEC)
        self.assertEqual(r.code, 1, r.stderr)
        self.assertIn("workflow order-cancel: 10 complete, 3 stopped after order-cancelled, 2 stopped after "
                      "stock-released, 4 never started, 1 out of order\n", r.stdout)
        w = r.report["workflows"]
        self.assertEqual(len(w), 1)
        w = w[0]
        self.assertEqual((w["name"], w["keys"], w["reading"]), ("order-cancel", 20, "scan"))
        self.assertEqual(w["reason"], "Finish order cancellations interrupted by the stock bug (INC-4711)")
        self.assertEqual(w["groups"], {"complete": 10, "never_started": 4, "out_of_order": 1,
                                       "stopped_after": {"order-cancelled": 3, "stock-released": 2}})
        self.assertEqual([(s["name"], s["check"], s["system"], s["not_done"], s["outside_keys"]) for s in w["steps"]],
                         [("order-cancelled", "order-cancel.order-cancelled", "app", 5, 0),
                          ("stock-released", "order-cancel.stock-released", "app", 7, 20),
                          ("unindexed", "order-cancel.unindexed", "search", 10, 10)])
        self.assertEqual(w["out_of_order_keys"], [{"order_id": 20}])
        self.assertFalse(w["repair_out_of_order"])
        self.assertEqual(w["repair_withheld"],
                         "keys done out of order are left out of the repair (repair_out_of_order: false)")
        # The steps' own counts hold the workflow's keys only.
        self.assertEqual(r.check("order-cancel.order-cancelled")["changed"], 5)
        self.assertEqual(r.check("order-cancel.stock-released")["extra"], 14)
        self.assertEqual(r.check("order-cancel.unindexed")["extra"], 10)
        self.assertEqual(r.keys("order-cancel.unindexed", "extra"), list(range(11, 21)))
        lines = self.wf_lines(r)
        self.assertEqual(sorted(lines), list(range(1, 21)))
        by_group = {}
        for k, d in lines.items():
            by_group.setdefault((d["group"], d.get("after")), []).append(k)
            self.assertEqual(d["workflow"], "order-cancel")
        self.assertEqual(by_group, {("complete", None): list(range(1, 11)),
                                    ("stopped_after", "order-cancelled"): STOPPED_1,
                                    ("stopped_after", "stock-released"): STOPPED_2,
                                    ("never_started", None): NEVER, ("out_of_order", None): OOO})
        self.assertEqual(lines[11]["steps"], [True, False, False])
        self.assertEqual(lines[14]["steps"], [True, True, False])
        self.assertEqual(lines[20]["steps"], [False, True, False])
        # A workflow spanning PostgreSQL and MariaDB: two scripts, in the steps' order.
        self.assertEqual(self.script_order(r), ["repair.app.sql", "repair.search.sql"])
        co = open(os.path.join(r.outdir, "change-order.md")).read()
        self.assertIn("1. `order-cancelled`: 5 keys to finish, script 1, `repair.app.sql` (system `app`)\n"
                      "2. `stock-released`: 7 keys to finish, script 1, `repair.app.sql` (system `app`)\n"
                      "3. `unindexed`: 10 keys to finish, script 2, `repair.search.sql` (system `search`)\n", co)
        self.assertIn("| stopped after `order-cancelled` | 3 |\n| stopped after `stock-released` | 2 |\n", co)
        self.assertIn("they are (set `repair_out_of_order: true` to repair them too):\n\n"
                      "- `{\"order_id\":20}`\n", co)
        self.assertNotIn("Order 1", co)     # keys and counts only, no column values
        html = open(os.path.join(r.outdir, "report.html")).read()
        self.assertIn("<tr><td>stopped after order-cancelled</td><td class=\"n\">3</td></tr>\n"
                      "<tr><td>stopped after stock-released</td><td class=\"n\">2</td></tr>\n"
                      "<tr><td>out of order</td><td class=\"n\">1</td></tr>\n", html)
        self.assertIn("<tr><td>unindexed</td><td>search</td><td class=\"n\">10</td><td class=\"n\">10</td></tr>",
                      html)

    def test_repair_finishes_all_but_the_withheld_key(self):
        r = self.tally(SPEC)
        self.assertEqual(r.code, 1, r.stderr)
        before = self.dump()
        self.assertEqual(self.apply_ok(r, "repair.app.sql"),
                         "tally: repair repair.app.sql applied: 18 rows (0 inserted, 4 updated, 14 deleted)")
        self.assertEqual(self.apply_ok(r, "repair.search.sql"),
                         "tally: repair repair.search.sql applied: 9 rows (0 inserted, 0 updated, 9 deleted)")
        v = self.verify(r.outdir)
        self.assertEqual(v.returncode, 1, v.stdout + v.stderr)  # order 20, withheld, still differs
        again = self.tally(SPEC, outdir=os.path.join(self.tmp, "again"))
        self.assertEqual(again.code, 1, again.stderr)
        self.assertEqual(self.groups(again), {"complete": 19, "never_started": 0, "out_of_order": 1,
                                              "stopped_after": {"order-cancelled": 0, "stock-released": 0}})
        self.assertEqual(self.wf_lines(again)[20]["steps"], [False, True, False])
        # The rollback, in the reverse order, restores every table exactly.
        self.apply_ok(r, "rollback.search.sql", rollback=True)
        self.apply_ok(r, "rollback.app.sql", rollback=True)
        self.assertEqual(self.dump(), before)

    def test_repair_out_of_order_too(self):
        r = self.tally(SPEC_OOO)
        self.assertEqual(r.code, 1, r.stderr)
        self.assertIsNone(r.report["workflows"][0]["repair_withheld"])
        before = self.dump()
        for f in self.script_order(r):
            self.apply_ok(r, f)
        v = self.verify(r.outdir)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        again = self.tally(SPEC_OOO, outdir=os.path.join(self.tmp, "again"))
        self.assertEqual(again.code, 0, again.stdout + again.stderr)
        self.assertEqual(self.groups(again), {"complete": 20, "never_started": 0, "out_of_order": 0,
                                              "stopped_after": {"order-cancelled": 0, "stock-released": 0}})
        self.assertIn("workflow order-cancel: 20 complete, 0 never started, 0 out of order\n", again.stdout)
        self.assertFalse(os.path.exists(os.path.join(again.outdir, "change-order.md")))
        self.apply_ok(r, "rollback.search.sql", rollback=True)
        self.apply_ok(r, "rollback.app.sql", rollback=True)
        self.assertEqual(self.dump(), before)

    def test_drift_aborts_with_nothing_changed(self):
        r = self.tally(SPEC)
        self.assertEqual(r.code, 1, r.stderr)
        # Between check and apply, the job itself releases one reservation of order 12 differently.
        self.pg.psql("wf_oms", "UPDATE stock_reservations SET qty = qty + 5 WHERE order_id = 12 AND sku = 'SKU-A'")
        before = self.dump()
        p, _ = self.apply(r, "repair.app.sql")
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn("ERROR:  tally: check order-cancel.stock-released: the row of public.stock_reservations with "
                      "key order_id='12', sku='SKU-A' no longer holds the values tally read; nothing was changed\n",
                      p.stderr)
        self.assertEqual(self.dump(), before)

    def test_resume_reuses_the_key_set(self):
        # A check in error of its own keeps the work directory; the workflow's keys stay in it.
        spec = SPEC.replace("workflows:\n", "checks:\n  - name: later\n    source: { system: app, table: later }\n"
                            "    target: { system: app, table: later }\nworkflows:\n", 1)
        out = os.path.join(self.tmp, "out")
        r = self.tally(spec, outdir=out)
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        kept = os.path.join(r.outdir, ".tally-work", "workflows.json")
        self.assertEqual(json.load(open(kept)), {"order-cancel": [f"{len(str(k))}:{k}" for k in
                                                                  sorted(range(1, 21), key=lambda k: (len(str(k)), k))]})
        # Meanwhile order 21 is asked to be cancelled too: --resume still works on the run's 20 keys.
        self.pg.psql("wf_oms", "CREATE TABLE later (id int PRIMARY KEY);\n"
                            "UPDATE orders SET cancel_requested_at = now() WHERE id = 21")
        again = self.tally(spec, "--resume", outdir=out)
        self.assertEqual(again.code, 1, again.stdout + again.stderr)
        self.assertEqual(again.outdir, r.outdir)
        w = again.report["workflows"][0]
        self.assertEqual(w["keys"], 20)
        self.assertEqual(w["groups"]["complete"], 10)
        self.assertEqual(sorted(self.wf_lines(again)), list(range(1, 21)))

    def test_counts_mode_refused(self):
        spec = SPEC[:SPEC.index("      - name: stock-released")].replace("        expect: subset\n", "")
        r = self.tally(spec, "--mode", "counts")
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"^tally: error: \S+spec.yaml: check 'order-cancel.order-cancelled': "
                                   r"--mode counts cannot tell which keys of workflow 'order-cancel' a step "
                                   r"has done \(counts name no key\); run it with --mode stream\n$")

    def test_check_selects_the_workflow_or_one_step(self):
        r = self.tally(SPEC, "--check", "order-cancel")
        self.assertEqual(r.code, 1, r.stderr)
        self.assertEqual([c["name"] for c in r.report["checks"]],
                         ["order-cancel.order-cancelled", "order-cancel.stock-released", "order-cancel.unindexed"])
        self.assertEqual(self.groups(r)["complete"], 10)
        one = self.tally(SPEC, "--check", "order-cancel.unindexed", outdir=os.path.join(self.tmp, "one"))
        self.assertEqual(one.code, 1, one.stderr)
        self.assertEqual([c["name"] for c in one.report["checks"]], ["order-cancel.unindexed"])
        # One step alone is no workflow: no grouping, and its differences are not restricted.
        self.assertNotIn("workflows", one.report)
        self.assertEqual(one.check("order-cancel.unindexed")["extra"], 20)


if __name__ == "__main__":
    harness.main()
