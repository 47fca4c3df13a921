/*
 * tests/unit/test_work.c
 *   The work directory: part paths, parts committed and read back, a
 *   check's own error, run.json, removal.
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

#include "../../engine/work.h"

static void test_work_directory(void **state)
{
	char dir[] = "/tmp/tally-test-work.XXXXXX", cmd[128];
	struct tally_err err, e;
	struct part_result pr, back;
	json_t *run, *again;
	char *p;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_false(work_exists(dir));
	assert_int_equal(work_create(dir, 2, &err), 0);
	assert_true(work_exists(dir));
	/* Paths: c<check>/<chunk>.<kind>, the reconciliation as "r", unfinished ones .tmp. */
	p = work_part_path(dir, 1, 7, "diff");
	assert_string_equal(p + strlen(dir), "/.tally-work/c1/7.diff");
	free(p);
	p = work_part_path(dir, 0, WORK_RECONCILE, "rep");
	assert_string_equal(p + strlen(dir), "/.tally-work/c0/r.rep");
	free(p);
	p = work_part_tmp(dir, 0, 3, "left");
	assert_string_equal(p + strlen(dir), "/.tally-work/c0/3.left.tmp");
	free(p);
	/* A part is done once its .done file is there, and reads back as written. */
	assert_int_equal(work_read_part(dir, 0, 3, &back, &err), 0);
	memset(&pr, 0, sizeof(pr));
	pr.rows[0] = 1000;
	pr.rows[1] = 998;
	pr.missing = 3;
	pr.extra = 1;
	pr.changed = 7;
	pr.seconds = 0.25;
	pr.started = 1767323045.5;
	pr.ended = 1767323046.75;
	pr.attempts = 2;
	pr.hash[0].rows = 1000;
	for (int i = 0; i < 16; i++)
		pr.hash[0].sum[i] = (uint8_t)(17 * i + 3);
	pr.hash[1].rows = 998;
	pr.io[0].queries = 3;
	pr.io[0].bytes = 5000000000ull;     /* beyond 32 bits */
	pr.io[1].queries = 1;
	pr.io[1].bytes = 41;
	assert_int_equal(work_commit_part(dir, 0, 3, &pr, &err), 0);
	memset(&back, 0xff, sizeof(back));
	assert_int_equal(work_read_part(dir, 0, 3, &back, &err), 1);
	assert_int_equal(back.rows[0], 1000);
	assert_int_equal(back.rows[1], 998);
	assert_int_equal(back.missing, 3);
	assert_int_equal(back.extra, 1);
	assert_int_equal(back.changed, 7);
	assert_int_equal(back.attempts, 2);
	assert_true(back.seconds == 0.25 && back.started == 1767323045.5 && back.ended == 1767323046.75);
	assert_memory_equal(&back.hash[0], &pr.hash[0], sizeof(pr.hash[0]));
	assert_int_equal(back.hash[1].rows, 998);
	assert_int_equal(back.io[0].queries, 3);
	assert_int_equal(back.io[0].bytes, 5000000000ull);
	assert_int_equal(back.io[1].queries, 1);
	assert_int_equal(back.io[1].bytes, 41);
	/* A part written before queries and bytes were counted reads them as 0. */
	{
		char *done = work_part_path(dir, 0, 4, "done");
		FILE *fp = fopen(done, "w");

		assert_non_null(fp);
		fputs("{\"rows\":[2,2],\"hash\":[{\"rows\":2,\"sum\":\"000102030405060708090a0b0c0d0e0f\"},"
		      "{\"rows\":2,\"sum\":\"000102030405060708090a0b0c0d0e0f\"}],\"missing\":0,\"extra\":0,"
		      "\"changed\":0,\"seconds\":0.5,\"started\":1.0,\"ended\":1.5,\"attempts\":1}", fp);
		assert_int_equal(fclose(fp), 0);
		memset(&back, 0xff, sizeof(back));
		assert_int_equal(work_read_part(dir, 0, 4, &back, &err), 1);
		assert_int_equal(back.rows[0], 2);
		assert_int_equal(back.io[0].queries, 0);
		assert_int_equal(back.io[0].bytes, 0);
		assert_int_equal(back.io[1].queries, 0);
		assert_int_equal(back.io[1].bytes, 0);
		free(done);
	}
	/* A check's own error, kept for whoever assembles. */
	assert_int_equal(work_read_error(dir, 1, &e, &err), 0);
	err_set(&e, ERR_SCHEMA, "table 'public.orders' was rewritten during the run");
	err_detail(&e, "its stamp changed");
	err_hint(&e, "run it again");
	assert_int_equal(work_write_error(dir, 1, &e, &err), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(work_read_error(dir, 1, &e, &err), 1);
	assert_string_equal(e.msg, "table 'public.orders' was rewritten during the run");
	assert_string_equal(e.detail, "its stamp changed");
	assert_string_equal(e.hint, "run it again");
	assert_int_equal(work_read_error(dir, 0, &e, &err), 0);
	/* run.json, and a directory without one. */
	run = json_pack("{s:i, s:s}", "format", 1, "started_at", "2026-01-02T03:04:05Z");
	assert_int_equal(work_write_run(dir, run, &err), 0);
	again = work_read_run(dir, &err);
	assert_non_null(again);
	assert_true(json_equal(run, again));
	json_decref(again);
	json_decref(run);
	work_remove(dir);
	assert_false(work_exists(dir));
	assert_null(work_read_run(dir, &err));
	work_remove(dir);           /* accepts a missing one */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_work_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
