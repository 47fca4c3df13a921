/*
 * tests/unit/test_metrics.c
 *   Unit tests for engine/metrics.c: the exact text of a run's metrics
 *   (names, HELP and TYPE lines, a check without a verdict showing its
 *   status and no counts), label values escaped as the exposition format
 *   says, the previous last-success value read back (by spec, escaped,
 *   malformed lines skipped), the file written whole with mode 0644 and
 *   no temporary file left, a failure naming the file, and the process's
 *   run: a run in trouble keeps the previous last success, one with a
 *   verdict sets it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/metrics.h"
#include "engine/report.h"

static const char EXPECTED[] =
	"# HELP tally_run_last_start_timestamp_seconds When the last run of the spec started, in seconds since the "
	"Unix epoch.\n"
	"# TYPE tally_run_last_start_timestamp_seconds gauge\n"
	"tally_run_last_start_timestamp_seconds{spec=\"nightly\"} 1700000000.250\n"
	"# HELP tally_run_last_success_timestamp_seconds When a run of the spec last ended with a verdict (exit "
	"status 0 or 1), in seconds since the Unix epoch; 0: never.\n"
	"# TYPE tally_run_last_success_timestamp_seconds gauge\n"
	"tally_run_last_success_timestamp_seconds{spec=\"nightly\"} 1699990000.000\n"
	"# HELP tally_run_duration_seconds How long the last run of the spec took.\n"
	"# TYPE tally_run_duration_seconds gauge\n"
	"tally_run_duration_seconds{spec=\"nightly\"} 12.500\n"
	"# HELP tally_run_exit_status Exit status of the last run: 0 consistent, 1 differences found, 2 trouble.\n"
	"# TYPE tally_run_exit_status gauge\n"
	"tally_run_exit_status{spec=\"nightly\"} 2\n"
	"# HELP tally_check_status Verdict of the check in the last run: 0 consistent, 1 differences found, "
	"2 no verdict (trouble).\n"
	"# TYPE tally_check_status gauge\n"
	"tally_check_status{spec=\"nightly\",check=\"orders\"} 1\n"
	"tally_check_status{spec=\"nightly\",check=\"we\\\"ird\\\\na\\nme\"} 2\n"
	"# HELP tally_check_rows Rows the last run read from each side of the check.\n"
	"# TYPE tally_check_rows gauge\n"
	"tally_check_rows{spec=\"nightly\",check=\"orders\",side=\"source\"} 19794\n"
	"tally_check_rows{spec=\"nightly\",check=\"orders\",side=\"target\"} 19790\n"
	"# HELP tally_check_differences Differing rows the last run found in the check, by kind (for match: "
	"multiset, copies; for expect: absent, extra rows are the undeleted ones).\n"
	"# TYPE tally_check_differences gauge\n"
	"tally_check_differences{spec=\"nightly\",check=\"orders\",kind=\"missing\"} 7\n"
	"tally_check_differences{spec=\"nightly\",check=\"orders\",kind=\"extra\"} 3\n"
	"tally_check_differences{spec=\"nightly\",check=\"orders\",kind=\"changed\"} 10\n"
	"# HELP tally_check_in_flight Differing rows of the check that were still being written when the last "
	"run looked again (live rechecks); 0 without them.\n"
	"# TYPE tally_check_in_flight gauge\n"
	"tally_check_in_flight{spec=\"nightly\",check=\"orders\"} 0\n"
	"# HELP tally_check_skipped_newer Rows of the check the last run skipped as newer than its "
	"ignore_newer_than cutoff (per key, on either side); no series for a check without ignore_newer_than.\n"
	"# TYPE tally_check_skipped_newer gauge\n"
	"tally_check_skipped_newer{spec=\"nightly\",check=\"orders\"} 5\n"
	"# HELP tally_check_new_differences Differences of the check in the last run whose key the previous run "
	"of the spec in the same output directory did not report; no series without such a run.\n"
	"# TYPE tally_check_new_differences gauge\n"
	"tally_check_new_differences{spec=\"nightly\",check=\"orders\"} 4\n"
	"# HELP tally_check_resolved_differences Differences the previous run of the spec reported for the check "
	"whose key the last run does not report; no series without such a run.\n"
	"# TYPE tally_check_resolved_differences gauge\n"
	"tally_check_resolved_differences{spec=\"nightly\",check=\"orders\"} 6\n"
	"# HELP tally_check_duration_seconds Wall time of the check in the last run.\n"
	"# TYPE tally_check_duration_seconds gauge\n"
	"tally_check_duration_seconds{spec=\"nightly\",check=\"orders\"} 0.021\n";

static void sample_run(struct metrics_run *m)
{
	memset(m, 0, sizeof(*m));
	m->spec = strdup("nightly");
	m->started = 1700000000.25;
	m->finished = 1700000012.75;
	m->last_success = 1699990000;
	m->exit_status = 2;
	m->nchecks = 2;
	m->checks = calloc(2, sizeof(*m->checks));
	m->checks[0] = (struct metrics_check){ strdup("orders"), 1, true, { 19794, 19790 }, 7, 3, 10, 0, true, 4, 6,
	                                       0.021, false, true, 5 };
	m->checks[1] = (struct metrics_check){ strdup("we\"ird\\na\nme"), 2, false, { 5, 5 }, 1, 1, 1, 0, true, 1, 1, 1,
	                                       false, true, 9 };
}

static void test_render_exact(void **state)
{
	struct metrics_run m;
	struct buf b = BUF_INIT;

	(void)state;
	sample_run(&m);
	metrics_render(&b, &m);
	assert_string_equal(b.data, EXPECTED);
	buf_release(&b);
	metrics_run_release(&m);
}

static void test_escape_label(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	metrics_escape_label(&b, "a\\b\"c\nd'e{f}=g,");
	assert_string_equal(b.data, "a\\\\b\\\"c\\nd'e{f}=g,");
	buf_release(&b);
}

static void test_previous_success(void **state)
{
	const char *text =
		"# HELP tally_run_last_success_timestamp_seconds x\n"
		"tally_run_last_success_timestamp_seconds{spec=\"other\"} 5.5\n"
		"tally_run_last_success_timestamp_seconds{spec=\"bad\"}\n"
		"tally_run_last_success_timestamp_seconds{spec=\"q\\\"x\\\\y\"} 1700000000.125\n"
		"tally_run_last_success_timestamp_seconds{spec=\"nightly\"} 1699990000.000";
	char *label = NULL;
	double v = 0;

	(void)state;
	assert_true(metrics_previous_success(text, "nightly", &v, NULL));
	assert_true(v == 1699990000.0);
	assert_true(metrics_previous_success(text, "q\"x\\y", &v, NULL));
	assert_true(v == 1700000000.125);
	assert_false(metrics_previous_success(text, "bad", &v, NULL));
	assert_false(metrics_previous_success(text, "none", &v, NULL));
	assert_false(metrics_previous_success("", "nightly", &v, NULL));
	assert_true(metrics_previous_success(text, NULL, &v, &label));
	assert_string_equal(label, "other");
	assert_true(v == 5.5);
	free(label);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	static char text[65536];
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_write_file(void **state)
{
	char dir[] = "/tmp/tally-metrics-XXXXXX";
	struct metrics_run m;
	struct tally_err err;
	struct stat st;
	char *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/tally.prom", dir);
	sample_run(&m);
	assert_int_equal(metrics_write_file(path, &m, &err), 0);
	assert_string_equal(slurp(path), EXPECTED);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* Replaced whole, and nothing else left in the directory. */
	m.exit_status = 1;
	assert_int_equal(metrics_write_file(path, &m, &err), 0);
	assert_non_null(strstr(slurp(path), "tally_run_exit_status{spec=\"nightly\"} 1\n"));
	assert_int_equal(entries(dir), 1);
	metrics_run_release(&m);
	unlink(path);
	rmdir(dir);
	free(path);
}

static void test_write_file_fails(void **state)
{
	struct metrics_run m;
	struct tally_err err;

	(void)state;
	sample_run(&m);
	assert_int_equal(metrics_write_file("/nonexistent-tally-dir/tally.prom", &m, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_non_null(strstr(err.msg, "'/nonexistent-tally-dir/tally.prom'"));
	metrics_run_release(&m);
}

/* The process's run: trouble keeps the previous last success; a verdict sets it. */
static void test_process_run(void **state)
{
	char dir[] = "/tmp/tally-metrics-XXXXXX";
	struct spec sp;
	struct spec_check chk;
	struct check_result cr;
	struct run_report r;
	struct tally_err err;
	char *path, *text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(metrics_begin("/nonexistent-tally-dir/tally.prom", &err), -1);
	assert_string_equal(err.msg, "cannot write metrics to '/nonexistent-tally-dir/tally.prom': "
	                    "No such file or directory");
	assert_int_equal(metrics_begin(dir, &err), -1);
	assert_non_null(strstr(err.msg, "it is a directory"));
	path = xasprintf("%s/tally.prom", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("tally_run_last_success_timestamp_seconds{spec=\"nightly\"} 1234.500\n", f);
	fclose(f);
	memset(&sp, 0, sizeof(sp));
	memset(&chk, 0, sizeof(chk));
	memset(&cr, 0, sizeof(cr));
	memset(&r, 0, sizeof(r));
	sp.name = "nightly";
	chk.name = "orders";
	cr.check = &chk;
	cr.status = RESULT_ERROR;
	r.spec = &sp;
	r.checks = &cr;
	r.nchecks = 1;

	assert_int_equal(metrics_begin(path, &err), 0);
	metrics_note_report(&r);
	assert_int_equal(metrics_end(2), 2);
	text = slurp(path);
	assert_non_null(strstr(text, "tally_run_last_success_timestamp_seconds{spec=\"nightly\"} 1234.500\n"));
	assert_non_null(strstr(text, "tally_run_exit_status{spec=\"nightly\"} 2\n"));
	assert_non_null(strstr(text, "tally_check_status{spec=\"nightly\",check=\"orders\"} 2\n"));
	assert_null(strstr(text, "tally_check_rows{"));

	/* Without a spec (it could not be read), the previous file's label. */
	assert_int_equal(metrics_begin(path, &err), 0);
	assert_int_equal(metrics_end(2), 2);
	text = slurp(path);
	assert_non_null(strstr(text, "tally_run_last_success_timestamp_seconds{spec=\"nightly\"} 1234.500\n"));
	assert_null(strstr(text, "tally_check_status"));

	cr.status = RESULT_INCONSISTENT;
	cr.missing = 4;
	assert_int_equal(metrics_begin(path, &err), 0);
	metrics_note_report(&r);
	assert_int_equal(metrics_end(1), 1);
	text = slurp(path);
	assert_null(strstr(text, "1234.500"));
	assert_non_null(strstr(text, "tally_check_differences{spec=\"nightly\",check=\"orders\",kind=\"missing\"} 4\n"));

	/* No report and exit status 0 (--help): no run, the file stays as it was. */
	text = strdup(slurp(path));
	assert_int_equal(metrics_begin(path, &err), 0);
	assert_int_equal(metrics_end(0), 0);
	assert_string_equal(slurp(path), text);
	free(text);

	/* Without --metrics nothing is written, and the status passes through. */
	unlink(path);
	metrics_note_report(&r);
	assert_int_equal(metrics_end(1), 1);
	assert_int_equal(access(path, F_OK), -1);
	rmdir(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_exact),
		cmocka_unit_test(test_escape_label),
		cmocka_unit_test(test_previous_success),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_write_file_fails),
		cmocka_unit_test(test_process_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
