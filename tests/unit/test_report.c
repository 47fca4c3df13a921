/*
 * tests/unit/test_report.c
 *   report.json and the summary of a run that failed: the check in error
 *   with its error and no counts, a check that got no verdict listed as
 *   not run with no counts, no script and no diff file named, the
 *   run's error and how to resume; the summary names only the check in
 *   error and the report. A workflow's summary line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../engine/outdir.h"
#include "../../engine/report.h"
#include "../../engine/spec.h"

static const char SPEC[] =
	"version: 1\n"
	"name: failed\n"
	"systems:\n"
	"  a: { driver: postgres, dsn: \"postgresql://u@h/a\" }\n"
	"  b: { driver: postgres, dsn: \"postgresql://u@h/b\" }\n"
	"checks:\n"
	"  - name: first\n"
	"    source: { system: a, table: t }\n"
	"    target: { system: b, table: t }\n"
	"  - name: second\n"
	"    source: { system: a, table: u }\n"
	"    target: { system: b, table: u }\n";

static const char WANT[] =
	"{\"tally_version\": \"V\", \"canon_version\": 1, \"spec\": \"failed\", \"spec_file\": \"f.yaml\", "
	"\"spec_hash\": null, \"reason\": null, \"started_at\": \"2026-01-02T03:04:05Z\", \"finished_at\": \"2026-01-02T03:04:07Z\", "
	"\"status\": \"error\", \"checks\": ["
	"{\"name\": \"first\", \"status\": \"error\", \"expect\": \"equal\", \"mode\": \"stream\", \"mode_reason\": null, \"pushdown\": null, \"match\": \"key\", "
	"\"source\": {\"system\": \"a\", \"table\": \"public.t\", \"server\": null, \"position\": null, \"rows\": null, \"queries\": null, \"bytes\": null}, "
	"\"target\": {\"system\": \"b\", \"table\": \"public.t\", \"server\": null, \"position\": null, \"rows\": null, \"queries\": null, \"bytes\": null}, "
	"\"key\": null, \"columns\": null, \"unmatched_columns\": null, \"findings\": [], \"columns_left_out\": null, "
	"\"missing\": null, \"extra\": null, \"changed\": null, \"in_flight\": null, \"ignore_newer_than\": null, \"skipped_newer\": null, "
	"\"chunks\": {\"total\": 0, \"mismatched\": 0}, "
	"\"new\": null, \"resolved\": null, "
	"\"seconds\": 0.0, \"worker_seconds\": 0.0, \"repair\": null, "
	"\"error\": {\"message\": \"column 'x' does not exist\", \"detail\": null, \"hint\": \"check the spec\"}}, "
	"{\"name\": \"second\", \"status\": \"not run\", \"expect\": \"equal\", \"mode\": \"stream\", \"mode_reason\": null, \"pushdown\": null, \"match\": \"key\", "
	"\"source\": {\"system\": null, \"table\": null, \"server\": null, \"position\": null, \"rows\": null, \"queries\": null, \"bytes\": null}, "
	"\"target\": {\"system\": null, \"table\": null, \"server\": null, \"position\": null, \"rows\": null, \"queries\": null, \"bytes\": null}, "
	"\"key\": null, \"columns\": null, \"unmatched_columns\": null, \"findings\": [], \"columns_left_out\": null, "
	"\"missing\": null, \"extra\": null, \"changed\": null, \"in_flight\": null, \"ignore_newer_than\": null, \"skipped_newer\": null, "
	"\"chunks\": {\"total\": 0, \"mismatched\": 0}, "
	"\"new\": null, \"resolved\": null, "
	"\"seconds\": 0.0, \"worker_seconds\": 0.0, \"repair\": null, \"error\": null}], "
	"\"findings\": [], \"diff_file\": null, \"previous_run\": null, \"sessions\": null, "
	"\"error\": {\"message\": \"check 'first': column 'x' does not exist\", \"detail\": null, \"hint\": null}, "
	"\"resume\": null}";

static void test_failed_run(void **state)
{
	char dir[] = "/tmp/tally-test-report.XXXXXX", path[64], cmd[256];
	struct spec spec;
	struct run_report r;
	struct outdir o;
	struct tally_err err, run_err;
	json_error_t je;
	json_t *got, *want;
	char *summary = NULL;
	size_t n;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(spec_load_string("f.yaml", SPEC, sizeof(SPEC) - 1, &spec, &err), 0);
	memset(&r, 0, sizeof(r));
	r.spec = &spec;
	snprintf(r.started_at, sizeof(r.started_at), "2026-01-02T03:04:05Z");
	snprintf(r.finished_at, sizeof(r.finished_at), "2026-01-02T03:04:07Z");
	r.checks = calloc(2, sizeof(*r.checks));
	r.nchecks = 2;
	r.checks[0].check = &spec.checks[0];
	r.checks[0].status = RESULT_ERROR;
	r.checks[0].side[0].system = "a";
	r.checks[0].side[0].table = strdup("public.t");
	r.checks[0].side[1].system = "b";
	r.checks[0].side[1].table = strdup("public.t");
	r.checks[0].side[0].rows = 7;      /* a count it did not finish: never shown */
	err_set(&r.checks[0].err, ERR_SCHEMA, "column 'x' does not exist");
	err_hint(&r.checks[0].err, "check the spec");
	r.checks[1].check = &spec.checks[1];
	r.checks[1].missing = 3;            /* likewise */
	err_set(&run_err, ERR_SCHEMA, "check 'first': column 'x' does not exist");

	snprintf(path, sizeof(path), "%s/out", dir);
	memset(&o, 0, sizeof(o));
	assert_int_equal(outdir_open(&o, path, &err), 0);
	fp = open_memstream(&summary, &n);
	assert_non_null(fp);
	/* What report_fail() does, but for stdout and stderr: the names column is as wide as the widest. */
	r.status = RESULT_ERROR;
	r.failed = true;
	r.has_error = true;
	r.err = run_err;
	assert_int_equal(report_write(&o, &r, &err), 0);
	assert_int_equal(outdir_commit(&o, &err), 0);
	report_print_summary(fp, &r, &o);
	fclose(fp);

	snprintf(cmd, sizeof(cmd), "%s/report.json", path);
	got = json_load_file(cmd, 0, &je);
	assert_non_null(got);
	json_object_set_new(got, "tally_version", json_string("V"));
	want = json_loads(WANT, 0, &je);
	assert_non_null(want);
	if (!json_equal(got, want)) {
		char *text = json_dumps(got, JSON_PRESERVE_ORDER | JSON_COMPACT);

		fail_msg("report.json:\n%s", text);
	}
	snprintf(cmd, sizeof(cmd), "first   error: column 'x' does not exist\nreport:   %s/report.json\n", path);
	assert_string_equal(summary, cmd);

	json_decref(got);
	json_decref(want);
	free(summary);
	outdir_close(&o);
	report_release(&r);
	spec_release(&spec);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A workflow's summary line: counts grouped by thousands, stopping points with keys only, what is withheld. */
static void test_workflow_summary(void **state)
{
	static const char W[] =
		"[{\"name\": \"order-cancel\", \"groups\": {\"complete\": 4870, \"never_started\": 3, \"out_of_order\": 1, "
		"\"stopped_after\": {\"order-cancelled\": 12, \"stock-released\": 0}}, "
		"\"steps\": [{\"name\": \"order-cancelled\"}, {\"name\": \"stock-released\"}, {\"name\": \"unindexed\"}], "
		"\"repair_withheld\": \"keys done out of order are left out of the repair (repair_out_of_order: false)\"}]";
	struct spec spec;
	struct run_report r;
	struct tally_err err;
	json_error_t je;
	char *summary = NULL;
	size_t n;
	FILE *fp;

	(void)state;
	assert_int_equal(spec_load_string("f.yaml", SPEC, sizeof(SPEC) - 1, &spec, &err), 0);
	memset(&r, 0, sizeof(r));
	r.spec = &spec;
	r.workflows = json_loads(W, 0, &je);
	assert_non_null(r.workflows);
	fp = open_memstream(&summary, &n);
	assert_non_null(fp);
	report_print_summary(fp, &r, NULL);
	fclose(fp);
	assert_string_equal(summary, "workflow order-cancel: 4,870 complete, 12 stopped after order-cancelled, "
	                    "3 never started, 1 out of order\n"
	                    "workflow order-cancel: keys done out of order are left out of the repair "
	                    "(repair_out_of_order: false)\n");
	free(summary);
	report_release(&r);
	spec_release(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_run),
		cmocka_unit_test(test_workflow_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
