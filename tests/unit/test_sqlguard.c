/*
 * tests/unit/test_sqlguard.c
 *   sqlguard (--safe-sql): the calls each dialect's lexer finds, with
 *   their positions, inside and outside strings, comments, dollar quotes
 *   and executable comments; qualified and quoted names; keywords that are
 *   not calls; case; the allow list; and the exact messages of a refusal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/base/buf.h"
#include "../../engine/sqlguard.h"

#define PG SQLGUARD_POSTGRES
#define MY SQLGUARD_MARIADB

struct found {
	enum sqlguard_dialect d;
	struct buf log;
};

/* "name@pos", "!" when refused, "~" when there is a gap before "(" */
static int record(void *ctx, const struct sqlguard_call *c, struct tally_err *err)
{
	struct found *f = ctx;

	(void)err;
	assert_true(strlen(c->name) >= strlen(c->func));
	assert_string_equal(c->name + strlen(c->name) - strlen(c->func), c->func);
	if (f->log.len)
		buf_addch(&f->log, ' ');
	buf_addf(&f->log, "%s@%zu%s%s", c->name, c->pos, c->gap ? "~" : "", sqlguard_allowed(f->d, c) ? "" : "!");
	return 0;
}

/* The calls in sql, and the scan's status in *rc. */
static char *calls_rc(enum sqlguard_dialect d, const char *sql, int *rc)
{
	struct found f = { d, BUF_INIT };
	struct tally_err err;

	*rc = sqlguard_scan(d, sql, record, &f, &err);
	if (*rc < 0)
		assert_string_equal(err.msg, "a string, quoted name or comment does not end");
	buf_addstr(&f.log, "");
	return buf_detach(&f.log, NULL);
}

static void calls_are(enum sqlguard_dialect d, const char *sql, const char *want)
{
	int rc;
	char *got = calls_rc(d, sql, &rc);

	if (rc != 0 || strcmp(got, want) != 0)
		fail_msg("%s:\n  got  [%s] (rc %d)\n  want [%s]", sql, got, rc, want);
	free(got);
}

static void open_with_calls(enum sqlguard_dialect d, const char *sql, const char *want)
{
	int rc;
	char *got = calls_rc(d, sql, &rc);

	if (rc != -1 || strcmp(got, want) != 0)
		fail_msg("%s:\n  got  [%s] (rc %d)\n  want [%s] (rc -1)", sql, got, rc, want);
	free(got);
}

/* ---- PostgreSQL ------------------------------------------------------- */

static void test_pg_calls_and_positions(void **state)
{
	(void)state;
	calls_are(PG, "", "");
	calls_are(PG, "deleted = 0", "");
	calls_are(PG, "lower(name) = 'x'", "lower@0");
	calls_are(PG, "id > 0 AND dblink_exec('dbname=x', 'delete from t') IS NOT NULL", "dblink_exec@11!");
	calls_are(PG, "a = f(g(h(1)))", "f@4! g@6! h@8!");
	calls_are(PG, "lower (x) = upper\n(y)", "lower@0~ upper@12~");
	/* Positions are bytes: 'é' takes four. */
	calls_are(PG, "'é' = pg_sleep(1)", "pg_sleep@7!");
	calls_are(PG, "1e5 + f(2) + $1", "f@6!");
}

static void test_pg_strings_and_comments(void **state)
{
	(void)state;
	calls_are(PG, "note = 'dblink_exec(1)' AND n = 'it''s dblink_exec(' ", "");
	calls_are(PG, "x = 1 -- dblink_exec(\n AND lower(y) = ''", "lower@27");
	calls_are(PG, "/* dblink_exec( /* nested */ dblink_exec( */ x = 1", "");
	calls_are(PG, "x = $$dblink_exec($$ AND y = $t$ $$ dblink_exec( $t$ AND z = $1", "");
	calls_are(PG, "\"dblink_exec(\" = 1", "");
	/* E'' reads backslash escapes: \' does not end it */
	calls_are(PG, "x = E'\\' || dblink_exec(1) || '", "");
	calls_are(PG, "x = e'\\\\' || upper(y)", "upper@13");
	/* A plain string does not (standard_conforming_strings): the call is outside. */
	open_with_calls(PG, "x = '\\' || dblink_exec(1) || '", "dblink_exec@11!");
	calls_are(PG, "x = b'101' AND y = x'ff' AND z = n'n' AND u&'\\0061' = lower(w)", "lower@54");
	/* a$b is a name; $a$ opens a dollar quote */
	calls_are(PG, "a$b(1) = $a$ lower( $a$", "a$b@0!");
}

static void test_pg_unterminated(void **state)
{
	(void)state;
	open_with_calls(PG, "x = 'abc", "");
	open_with_calls(PG, "x = \"abc", "");
	open_with_calls(PG, "x = 1 /* lower(x)", "");
	open_with_calls(PG, "x = 1 /* /* */ lower(x)", "");
	open_with_calls(PG, "lower(x) = $t$ abc $T$", "lower@0");
	open_with_calls(PG, "x = E'abc\\'", "");
}

static void test_pg_qualified_and_quoted(void **state)
{
	(void)state;
	calls_are(PG, "pg_catalog.lower(x) = public.dblink_exec(y)", "pg_catalog.lower@0 public.dblink_exec@22!");
	calls_are(PG, "PG_CATALOG.LOWER(x) = \"pg_catalog\".\"lower\"(y)", "pg_catalog.lower@0 pg_catalog.lower@22");
	calls_are(PG, "pg_catalog . upper (x)", "pg_catalog.upper@0~");
	calls_are(PG, "db.pg_catalog.lower(x)", "db.pg_catalog.lower@0!");
	calls_are(PG, "\"dblink_exec\"('a', 'b')", "dblink_exec@0!");
	calls_are(PG, "\"lower\"(x) = \"LOWER\"(y)", "lower@0 LOWER@13!");
	calls_are(PG, "\"we\"\"ird\"(x)", "we\"ird@0!");
	calls_are(PG, "LOWER(x) = Upper(y) AND DBLINK_Exec('a', 'b') IS NULL", "lower@0 upper@11 dblink_exec@24!");
	/* a column, a table: not calls */
	calls_are(PG, "t.lower = s.upper AND t.x IN (1)", "");
}

static void test_pg_keywords_are_not_calls(void **state)
{
	(void)state;
	calls_are(PG, "a IN (1, 2) AND EXISTS (SELECT 1) AND NOT (b) AND b = ANY (ARRAY[1]) AND "
	              "c = ANY(ARRAY(SELECT 1)) AND d <> ALL (SELECT 2) AND e = SOME (VALUES (1))", "");
	calls_are(PG, "ROW(a, b) = ROW(1, 2) AND CAST(x AS numeric(10,2)) > 0 AND y::varchar(10) <> '' AND "
	              "z::pg_catalog.numeric(5) = 1 AND w::timestamp(3) with time zone IS NULL", "");
	calls_are(PG, "count(*) FILTER (WHERE z) OVER (PARTITION BY w ORDER BY (v)) > 0 AND "
	              "percentile_cont(0.5) WITHIN GROUP (ORDER BY v) > 0", "count@0 percentile_cont@69");
	calls_are(PG, "SELECT a FROM t GROUP BY (a) ORDER BY (a)", "");
	calls_are(PG, "by(1)", "by@0!");
	calls_are(PG, "EXTRACT(year FROM d) = 2024 AND SUBSTRING(s FROM 1 FOR (2)) = 'ab' AND "
	              "TRIM(BOTH ' ' FROM s) = '' AND COALESCE(a, b) = NULLIF(c, d) AND "
	              "POSITION('a' IN s) > GREATEST(1, 2) AND CASE WHEN (a) THEN (b) ELSE (c) END", "");
	/* Not keywords: over() and filter() not after ")" are calls. */
	calls_are(PG, "over(1) + filter(2) + repeatable(3)", "over@0! filter@10! repeatable@22!");
}

static void test_pg_aliases_joins_types(void **state)
{
	(void)state;
	calls_are(PG, "SELECT * FROM (VALUES (1)) AS v(x) JOIN (SELECT 1) AS w (y) ON true", "");
	calls_are(PG, "WITH RECURSIVE t(n) AS (SELECT 1) SELECT * FROM t", "");
	calls_are(PG, "WITH t AS MATERIALIZED (SELECT 1) SELECT n FROM t", "");
	calls_are(PG, "SELECT * FROM a JOIN (SELECT 1) b ON true LEFT JOIN (SELECT 2) c ON true "
	              "CROSS JOIN (SELECT 3) d JOIN \"e\" ON true JOIN (SELECT 4) f ON true", "");
	calls_are(PG, "SELECT join(1)", "join@7!");
	calls_are(PG, "x = join(1) OR y IN (join(2))", "join@4! join@21!");
	calls_are(PG, "GROUP BY GROUPING SETS ((a), (b))", "");
	calls_are(PG, "SELECT * FROM t TABLESAMPLE system(10) REPEATABLE (0)", "system@28");
	calls_are(PG, "a OPERATOR(pg_catalog.+) b", "operator@2!");
	calls_are(PG, "SELECT * FROM generate_series(1, 10) g(n)", "generate_series@14");
}

/* Functions deliberately left off the list, and some on it. */
static void test_pg_allow_list(void **state)
{
	static const char *const refused[] = {
		"dblink", "dblink_exec", "dblink_connect", "dblink_send_query", "pg_read_file",
		"pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "lo_import", "lo_export", "lo_from_bytea",
		"lo_put", "lo_unlink", "pg_terminate_backend", "pg_cancel_backend", "set_config",
		"current_setting", "nextval", "setval", "currval", "setseed", "txid_current",
		"pg_current_xact_id", "pg_advisory_lock", "pg_advisory_xact_lock", "pg_try_advisory_lock",
		"pg_sleep", "pg_sleep_for", "pg_sleep_until", "query_to_xml", "table_to_xml", "cursor_to_xml",
		"ts_stat", "pg_notify", "pg_reload_conf", "pg_switch_wal", "pg_create_restore_point",
		"pg_logical_emit_message", "pg_stat_reset", "pg_drop_replication_slot", "sys_exec",
	};
	static const char *const allowed[] = {
		"lower", "upper", "coalesce", "date_trunc", "now", "count", "sum", "jsonb_extract_path_text",
		"md5", "to_char", "abs", "round", "array_length", "regexp_replace", "length", "substr",
	};
	struct sqlguard_call c;

	(void)state;
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		c.name = c.func = refused[i];
		if (sqlguard_allowed(PG, &c) || sqlguard_allowed(MY, &c))
			fail_msg("%s is allowed", refused[i]);
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		c.name = c.func = allowed[i];
		c.schema = NULL;
		assert_true(sqlguard_allowed(PG, &c));
		c.schema = "pg_catalog";
		assert_true(sqlguard_allowed(PG, &c));
		c.schema = "public";
		assert_false(sqlguard_allowed(PG, &c));
	}
}

/* ---- MariaDB ---------------------------------------------------------- */

static void test_my_calls_and_comments(void **state)
{
	(void)state;
	calls_are(MY, "LOWER(name) = 'x'", "lower@0");
	calls_are(MY, "deleted = 0 AND sys_exec('id') = 0", "sys_exec@16!");
	calls_are(MY, "x = 1 # sleep(1)\nAND lower(y) = ''", "lower@21");
	calls_are(MY, "x = 1 -- sleep(1)\n", "");
	/* "--" not followed by a space is two minus signs. */
	calls_are(MY, "x = 1 --sleep(1)", "sleep@8!");
	calls_are(MY, "x = 1 /* sleep(1) /* */ AND upper(y) = ''", "upper@28");
	/* Executable comments run: their content is code. */
	calls_are(MY, "x = 1 /*!50000 AND sleep(1) */", "sleep@19!");
	calls_are(MY, "x = 1 /*M!100100 AND sys_exec('id')*/ AND lower(y) = ''", "sys_exec@21! lower@42");
	calls_are(MY, "x = 1 /*! AND abs(y)*/", "abs@14");
	calls_are(MY, "dt > 1e5 AND 1abc(2)", "1abc@13!");
}

/* The sql_mode is unknown: every reading of backslashes and double quotes counts. */
static void test_my_readings(void **state)
{
	(void)state;
	calls_are(MY, "name = 'it''s sleep(1)' AND n = \"a \"\" sleep(2)\"", "");
	/* With backslash escapes the call is inside; with NO_BACKSLASH_ESCAPES it is not. */
	calls_are(MY, "name = 'it\\'s sleep(1)'", "sleep@14!");
	calls_are(MY, "name = \"a\\\" sleep(1) -- \" AND lower(x)", "lower@30 sleep@12!");
	/* A string that ends under no reading */
	open_with_calls(MY, "name = 'abc", "");
	open_with_calls(MY, "lower(x) = 'a''", "lower@0");
	/* ends when backslashes are plain characters */
	calls_are(MY, "lower(x) = 'a\\'", "lower@0");
}

static void test_my_names_and_keywords(void **state)
{
	(void)state;
	calls_are(MY, "`sys_exec`('id') = 0 AND `lower`(x) = ''", "sys_exec@0! lower@25!");
	calls_are(MY, "\"sys_exec\"(1)", "sys_exec@0!");
	calls_are(MY, "mydb.f(x) = 1 AND `my db`.`g`(2)", "mydb.f@0! my db.g@18!");
	calls_are(MY, "a IN (1) AND EXISTS (SELECT 1) AND CAST(x AS DECIMAL(10,2)) > 0 AND "
	              "CONVERT(y, CHAR(10)) = 'a' AND IF(a, b, c) AND x REGEXP ('a') AND a MOD (2) = 0 AND "
	              "LEFT(s, 1) = RIGHT(s, 1) AND INSERT(s, 1, 1, 'x') = REPLACE(s, 'a', 'b') AND "
	              "c = ALL (SELECT 1) AND (a, b) IN (VALUES (1, 2)) AND x = CURRENT_TIMESTAMP(6)",
	          "cast@35");
	calls_are(MY, "count(*) OVER (PARTITION BY a) > 1 AND DATE_FORMAT(d, '%Y') = '2024'",
	          "count@0 date_format@39");
	/* A space before "(": MariaDB may take a stored function of that name. */
	calls_are(MY, "count (x) > 0", "count@0~!");
	calls_are(MY, "a IN (1) AND b MOD (2) = 0", "");
}

static void test_my_allow_list(void **state)
{
	static const char *const refused[] = {
		"load_file", "sleep", "benchmark", "get_lock", "release_lock", "release_all_locks", "is_free_lock",
		"is_used_lock", "master_pos_wait", "master_gtid_wait", "nextval", "setval", "lastval",
		"last_insert_id", "sys_exec", "sys_eval",
	};
	struct sqlguard_call c;

	(void)state;
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		c.name = c.func = refused[i];
		if (sqlguard_allowed(MY, &c))
			fail_msg("%s is allowed", refused[i]);
	}
	c.name = c.func = "lower";
	assert_true(sqlguard_allowed(MY, &c));
	c.quoted = true;
	assert_false(sqlguard_allowed(MY, &c));
	c.quoted = false;
	c.gap = true;
	assert_false(sqlguard_allowed(MY, &c));
	c.gap = false;
	c.schema = "db";
	assert_false(sqlguard_allowed(MY, &c));
}

/* ---- refusals --------------------------------------------------------- */

static void test_check_messages(void **state)
{
	struct tally_err err;

	(void)state;
	assert_int_equal(sqlguard_check(PG, "where", "lower(name) = 'x' AND pg_catalog.now() > d", &err), 0);
	assert_int_equal(sqlguard_check(PG, "where",
	                                 "é > 'ü' AND dblink_exec('dbname=x password=s3cret', 'insert into t values (1)') "
	                                 "IS NOT NULL", &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	assert_string_equal(err.msg, "where calls dblink_exec, which is not on --safe-sql's list of read-only "
	                    "functions");
	/* characters, not bytes */
	assert_string_equal(err.detail, "the call begins at character 13 of the where");
	assert_string_equal(err.hint, "--safe-sql allows the server's built-in functions that only compute a "
	                    "value (comparison, math, text, date and time, aggregate, JSON)");
	assert_null(strstr(err.msg, "s3cret"));
	assert_null(strstr(err.detail, "s3cret"));
	assert_int_equal(sqlguard_check(PG, "query", "SELECT id FROM t WHERE public.dblink_exec('a', 'b') = 'OK'",
	                                 &err), -1);
	assert_string_equal(err.msg, "query calls public.dblink_exec, which is not on --safe-sql's list of "
	                    "read-only functions");
	/* The call comes first: a string that does not end after it changes nothing. */
	assert_int_equal(sqlguard_check(PG, "where", "x = '\\' || set_config('a', 'b', false) || '", &err), -1);
	assert_string_equal(err.msg, "where calls set_config, which is not on --safe-sql's list of read-only "
	                    "functions");
	assert_int_equal(sqlguard_check(PG, "where", "x = 'abc", &err), -1);
	assert_string_equal(err.msg, "where has a string, quoted name or comment that does not end");
	assert_string_equal(err.hint, "--safe-sql checks only SQL that it can read to the end");
	assert_int_equal(sqlguard_check(MY, "where", "count (x) > 0", &err), -1);
	assert_string_equal(err.msg, "where calls count with a space before '(', which MariaDB may read as a "
	                    "stored function of that name");
	assert_string_equal(err.hint, "write count( without the space");
	assert_int_equal(sqlguard_check(MY, "where", "x = 1 /*!50000 AND sleep(5) */", &err), -1);
	assert_string_equal(err.msg, "where calls sleep, which is not on --safe-sql's list of read-only "
	                    "functions");
	assert_string_equal(err.detail, "the call begins at character 20 of the where");
	assert_int_equal(sqlguard_check(MY, "where", "DATE(d) = CURDATE() AND JSON_VALUE(j, '$.a') = 1", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg_calls_and_positions),
		cmocka_unit_test(test_pg_strings_and_comments),
		cmocka_unit_test(test_pg_unterminated),
		cmocka_unit_test(test_pg_qualified_and_quoted),
		cmocka_unit_test(test_pg_keywords_are_not_calls),
		cmocka_unit_test(test_pg_aliases_joins_types),
		cmocka_unit_test(test_pg_allow_list),
		cmocka_unit_test(test_my_calls_and_comments),
		cmocka_unit_test(test_my_readings),
		cmocka_unit_test(test_my_names_and_keywords),
		cmocka_unit_test(test_my_allow_list),
		cmocka_unit_test(test_check_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
