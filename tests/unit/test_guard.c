/*
 * tests/unit/test_guard.c
 *   The pure parts of the guard against DDL and of session limits: the
 *   limit a session runs under (tally's, the role's shorter one, or
 *   tally's when forced), how long each lock waiter has waited across
 *   looks and when the run lets go, the guess that a statement names a
 *   table, and the messages and report entries the guard writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../connectors/connector.h"
#include "../../engine/guard.h"

static void test_limit(void **state)
{
	(void)state;
	/* ours when the role has none, the role's when shorter, ours when shorter */
	assert_true(conn_limit(600, false, 0) == 600);
	assert_true(conn_limit(600, false, 30) == 30);
	assert_true(conn_limit(600, false, 3600) == 600);
	/* none from tally: the role's, whatever it is */
	assert_true(conn_limit(0, false, 30) == 30);
	assert_true(conn_limit(0, false, 0) == 0);
	/* forced: ours, even longer than the role's, even none */
	assert_true(conn_limit(3600, true, 30) == 3600);
	assert_true(conn_limit(0, true, 30) == 0);
	/* nonsense is none */
	assert_true(conn_limit(-1, false, -5) == 0);
}

static void test_mentions(void **state)
{
	(void)state;
	assert_true(conn_sql_mentions("ALTER TABLE big ADD COLUMN c INT", "big"));
	assert_true(conn_sql_mentions("alter table `legacy`.`BIG` force", "legacy.big"));
	assert_true(conn_sql_mentions("RENAME TABLE big TO big_old", "db.big"));
	assert_true(conn_sql_mentions("TRUNCATE big", "big"));
	assert_true(conn_sql_mentions("big", "big"));
	/* whole identifiers only */
	assert_false(conn_sql_mentions("ALTER TABLE bigger ADD x INT", "big"));
	assert_false(conn_sql_mentions("ALTER TABLE my_big FORCE", "big"));
	assert_false(conn_sql_mentions("ALTER TABLE big2 FORCE", "big"));
	assert_false(conn_sql_mentions("ALTER TABLE $big FORCE", "big"));
	assert_false(conn_sql_mentions(NULL, "big"));
	assert_false(conn_sql_mentions("ALTER TABLE big FORCE", ""));
}

static struct conn_watch watch_of(size_t n, const long *pids, const double *secs)
{
	struct conn_watch w;

	memset(&w, 0, sizeof(w));
	w.nwaiters = n;
	for (size_t i = 0; i < n; i++) {
		w.waiters[i].pid = pids[i];
		w.waiters[i].seconds = secs[i];
	}
	return w;
}

static void test_track(void **state)
{
	struct guard_seen seen[CONN_WAITERS_MAX];
	size_t nseen = 0;
	double waited = -1;
	struct conn_watch w;

	(void)state;
	/* First seen at 10: the server does not say how long (-1). */
	w = watch_of(1, (long[]){ 42 }, (double[]){ -1 });
	assert_int_equal(guard_track(seen, &nseen, &w, 10.0, 5.0, &waited), -1);
	assert_int_equal(nseen, 1);
	/* Still waiting at 14.9: not yet; at 15: 5 s by tally's own count. */
	assert_int_equal(guard_track(seen, &nseen, &w, 14.9, 5.0, &waited), -1);
	assert_int_equal(guard_track(seen, &nseen, &w, 15.0, 5.0, &waited), 0);
	assert_true(waited == 5.0);
	/* A new waiter whose server says it waited 7 s already, next to one that just came. */
	w = watch_of(2, (long[]){ 7, 8 }, (double[]){ 0.5, 7.0 });
	assert_int_equal(guard_track(seen, &nseen, &w, 20.0, 5.0, &waited), 1);
	assert_true(waited == 7.0);
	assert_int_equal(nseen, 2);
	/* 42 was gone in between: when it waits again, its count starts again. */
	w = watch_of(1, (long[]){ 42 }, (double[]){ -1 });
	assert_int_equal(guard_track(seen, &nseen, &w, 21.0, 5.0, &waited), -1);
	assert_int_equal(guard_track(seen, &nseen, &w, 25.5, 5.0, &waited), -1);
	assert_int_equal(guard_track(seen, &nseen, &w, 26.0, 5.0, &waited), 0);
	/* --yield-after 0: never */
	w = watch_of(1, (long[]){ 42 }, (double[]){ 1000 });
	assert_int_equal(guard_track(seen, &nseen, &w, 30.0, 0, &waited), -1);
	/* nobody waits: nothing is kept */
	w = watch_of(0, NULL, NULL);
	assert_int_equal(guard_track(seen, &nseen, &w, 31.0, 5.0, &waited), -1);
	assert_int_equal(nseen, 0);
}

static void test_yield_message(void **state)
{
	struct spec_system pg = { .name = "billing", .driver = "postgres" };
	struct spec_system my = { .name = "legacy", .driver = "mariadb" };
	struct guard_yield y;
	struct tally_err err;

	(void)state;
	memset(&y, 0, sizeof(y));
	y.sys = &pg;
	y.waiter.pid = 4711;
	snprintf(y.waiter.user, sizeof(y.waiter.user), "dba");
	snprintf(y.waiter.application, sizeof(y.waiter.application), "psql");
	snprintf(y.waiter.state, sizeof(y.waiter.state), "active");
	snprintf(y.waiter.what, sizeof(y.waiter.what), "AccessExclusiveLock on public.big");
	y.waited = 5.2;
	guard_yield_err(&y, 5, LOCKWAIT_YIELD, &err);
	assert_int_equal(err.kind, ERR_LOCKED);
	assert_string_equal(err.msg, "system 'billing': pid 4711 (user 'dba', application 'psql') has waited 5 s "
	                    "for AccessExclusiveLock on public.big, which tally holds: tally let go");
	assert_string_equal(err.detail, "its state: active; a session waiting for a lock tally holds makes every "
	                    "later statement on its table wait behind it; tally lets go after --yield-after 5 s");
	assert_non_null(strstr(err.hint, "--on-lock-wait wait"));

	y.sys = &my;
	y.waiter.application[0] = '\0';
	snprintf(y.waiter.what, sizeof(y.waiter.what), "a metadata lock on legacy.big");
	guard_yield_err(&y, 2, LOCKWAIT_WAIT, &err);
	assert_string_equal(err.msg, "system 'legacy': thread 4711 (user 'dba') has waited 5 s for a metadata "
	                    "lock on legacy.big, which tally holds: tally let go");
	assert_string_equal(err.hint, "");
}

static void test_report_and_progress(void **state)
{
	struct spec_system pg = { .name = "billing", .driver = "postgres" };
	struct spec_system my = { .name = "legacy", .driver = "mariadb" };
	struct conn_cfg cfg;
	struct guard g;
	char line[96];
	json_t *j;
	char *text;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	guard_init(&g, &cfg, 5);
	guard_add_table(&g, &pg, "public.big");
	guard_add_table(&g, &pg, "public.big");
	guard_add_table(&g, &my, NULL);
	assert_int_equal(g.nsys, 2);
	assert_int_equal(g.sys[0].ntables, 1);
	assert_int_equal(g.sys[1].ntables, 0);
	/* Nothing seen yet: no entry, no progress words. */
	assert_null(guard_json(&g));
	guard_progress(&g, line, sizeof(line));
	assert_string_equal(line, "");

	g.sys[0].snapshot_age = 3725.04;
	g.sys[0].xmin_age = 1234;
	g.sys[1].snapshot_age = 2;
	j = guard_json(&g);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"billing\":{\"snapshot_age_seconds\":3725.0,\"statement_timeout_seconds\":null,"
	                    "\"xmin_age\":1234},\"legacy\":{\"snapshot_age_seconds\":2.0,"
	                    "\"statement_timeout_seconds\":null,\"xmin_age\":null}}");
	free(text);
	json_decref(j);
	guard_progress(&g, line, sizeof(line));
	assert_string_equal(line, ", oldest snapshot 1:02:05, xmin age 1234");

	/* The pid set: added, removed, never below zero. */
	guard_pid_add(&g, &pg, 10, false);
	guard_pid_add(&g, &pg, 11, true);
	guard_pid_add(&g, &pg, 0, true);
	assert_int_equal(g.sys[0].npids, 2);
	guard_pid_remove(&g, &pg, 10);
	guard_pid_remove(&g, &pg, 99);
	assert_int_equal(g.sys[0].npids, 1);
	assert_int_equal(g.sys[0].pids[0], 11);
	assert_true(g.sys[0].cancel[0]);
	guard_release(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_mentions),
		cmocka_unit_test(test_track),
		cmocka_unit_test(test_yield_message),
		cmocka_unit_test(test_report_and_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
