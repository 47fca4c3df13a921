/*
 * tests/unit/test_spec_meaning.c
 *   Unit tests for the spec keys that say what values mean rather than
 *   which rows to read (issue 11): `driver: mysql`, a system's
 *   `timezone:`, and a check's `options:` map. Exact values and exact
 *   error messages with positions. No network I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/spec.h"

/* ---- helpers ---- */

static void load_ok(const char *yaml, struct spec *s)
{
	struct tally_err err;

	err_clear(&err);
	if (spec_load_string("t.yaml", yaml, strlen(yaml), s, &err) != 0)
		fail_msg("unexpected error: %s", err.msg);
}

static const char *load_err(const char *yaml)
{
	static struct tally_err err;
	struct spec s;

	err_clear(&err);
	assert_int_equal(spec_load_string("t.yaml", yaml, strlen(yaml), &s, &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	return err.msg;
}

#define ERROR_TEST(fn, yaml, msg) \
	static void fn(void **state) \
	{ \
		(void)state; \
		assert_string_equal(load_err(yaml), msg); \
	}

#define TOP "version: 1\nname: n\n"
/* Lines 1-5: a valid head with two systems. */
#define HEAD \
	TOP \
	"systems:\n" \
	"  pg: { driver: postgres, dsn: \"dbname=x\" }\n" \
	"  maria: { driver: mariadb, dsn: \"mariadb://u@h/db\" }\n"
/* Lines 6-9: one valid check; tests append its other keys from line 10. */
#define CHECK \
	"checks:\n" \
	"  - name: c\n" \
	"    source: { system: maria, table: t }\n" \
	"    target: { system: pg, table: t }\n"

/* ---- driver: mysql ---- */

#define CHECK_MY \
	"checks:\n" \
	"  - name: c\n" \
	"    source: { system: my, table: t }\n" \
	"    target: { system: my2, table: t }\n"

static void test_driver_mysql_is_mariadb(void **state)
{
	struct spec s;

	(void)state;
	load_ok(TOP "systems:\n"
	        "  my: { driver: mysql, dsn: \"mysql://u@h/db\" }\n"
	        "  my2: { driver: mysql, dsn: \"mariadb://u@h/db\" }\n"
	        CHECK_MY, &s);
	assert_string_equal(s.systems[0].driver, "mariadb");
	assert_string_equal(s.systems[1].driver, "mariadb");
	assert_string_equal(s.systems[0].dsn, "mysql://u@h/db");
	spec_release(&s);
}

ERROR_TEST(test_driver_mysql_wrong_scheme,
           TOP "systems:\n  my: { driver: mysql, dsn: \"postgresql://u:pw@h/db\" }\n",
           "t.yaml:4:29: systems.my.dsn: scheme 'postgresql' does not fit driver 'mariadb' "
           "(expected mariadb:// or mysql://)")

/* ---- systems.NAME.timezone ---- */

static void test_system_timezone(void **state)
{
	struct spec s;

	(void)state;
	load_ok(TOP "systems:\n"
	        "  pg: { driver: postgres, dsn: \"dbname=x\", timezone: Europe/Berlin }\n"
	        "  maria:\n"
	        "    driver: mariadb\n"
	        "    timezone: \"+05:30\"\n"
	        "    dsn: \"mariadb://u@h/db\"\n"
	        CHECK, &s);
	assert_string_equal(s.systems[0].timezone, "Europe/Berlin");
	assert_int_equal(s.systems[0].tz_pos.line, 4);
	assert_int_equal(s.systems[0].tz_pos.col, 54);
	assert_string_equal(s.systems[1].timezone, "+05:30");
	assert_int_equal(s.systems[1].tz_pos.line, 7);
	assert_int_equal(s.systems[1].tz_pos.col, 15);
	assert_ptr_equal(s.checks[0].source.sys, &s.systems[1]);
	spec_release(&s);
	load_ok(HEAD CHECK, &s);
	assert_null(s.systems[0].timezone);
	assert_int_equal(s.systems[0].tz_pos.line, 0);
	spec_release(&s);
}

ERROR_TEST(test_system_timezone_unknown,
           TOP "systems:\n  pg: { driver: postgres, dsn: x, timezone: Mars/Olympus }\n",
           "t.yaml:4:45: systems.pg.timezone: unknown time zone 'Mars/Olympus'")
ERROR_TEST(test_system_timezone_empty,
           TOP "systems:\n  pg: { driver: postgres, dsn: x, timezone: \"\" }\n",
           "t.yaml:4:45: systems.pg.timezone: expected a non-empty string")
ERROR_TEST(test_system_timezone_not_a_string,
           TOP "systems:\n  pg: { driver: postgres, dsn: x, timezone: [UTC] }\n",
           "t.yaml:4:45: systems.pg.timezone: expected a string, got a sequence")

/* ---- options: ---- */

static void test_options_without_columns(void **state)
{
	struct spec s;
	const struct spec_check *c;

	(void)state;
	load_ok(HEAD CHECK
	        "    options:\n"
	        "      amount: { scale: 2 }\n"
	        "      code:\n"
	        "        trim: both\n"
	        "        case: insensitive\n", &s);
	c = &s.checks[0];
	assert_false(c->columns_given);
	assert_int_equal(c->ncolumns, 0);
	assert_int_equal(c->noptions, 2);
	assert_string_equal(c->options[0].source, "amount");
	assert_string_equal(c->options[0].target, "amount");
	assert_int_equal(c->options[0].scale, 2);
	assert_int_equal(c->options[0].precision, -1);
	assert_int_equal(c->options[0].pos.line, 11);
	assert_int_equal(c->options[0].pos.col, 7);
	assert_int_equal(c->options[0].optpos[SPEC_OPT_SCALE].line, 11);
	assert_int_equal(c->options[0].optpos[SPEC_OPT_SCALE].col, 17);
	assert_string_equal(c->options[1].source, "code");
	assert_int_equal(c->options[1].scale, -1);
	assert_int_equal(c->options[1].trim, TRIM_BOTH);
	assert_true(c->options[1].case_insensitive);
	assert_int_equal(c->options[1].opt_pos.line, 13);
	spec_release(&s);
}

static void test_options_merge_into_columns(void **state)
{
	struct spec s;
	const struct spec_check *c;

	(void)state;
	load_ok(HEAD CHECK
	        "    columns: [a, { name: b, scale: 2 }, { source: c, target: d }]\n"
	        "    options:\n"
	        "      a: { trim: both, map: { 1: x } }\n"
	        "      b: { precision: 0 }\n"
	        "      d: { timezone: UTC }\n", &s);
	c = &s.checks[0];
	assert_true(c->columns_given);
	assert_int_equal(c->noptions, 0);
	assert_int_equal(c->ncolumns, 3);
	assert_int_equal(c->columns[0].trim, TRIM_BOTH);
	assert_int_equal(c->columns[0].nmap, 1);
	assert_string_equal(c->columns[0].map[0].to, "x");
	assert_int_equal(c->columns[0].optpos[SPEC_OPT_TRIM].line, 12);
	assert_int_equal(c->columns[0].opt_pos.line, 12);
	assert_int_equal(c->columns[1].scale, 2);
	assert_int_equal(c->columns[1].precision, 0);
	assert_int_equal(c->columns[1].optpos[SPEC_OPT_SCALE].line, 10);
	assert_int_equal(c->columns[1].optpos[SPEC_OPT_PRECISION].line, 13);
	assert_string_equal(c->columns[2].source, "c");
	assert_string_equal(c->columns[2].timezone, "UTC");
	spec_release(&s);
}

ERROR_TEST(test_options_column_not_listed,
           HEAD CHECK "    columns: [a]\n    options:\n      z: { scale: 1 }\n",
           "t.yaml:12:7: options.z: column 'z' is not compared: with columns: given, options apply to the "
           "columns it lists")
ERROR_TEST(test_options_set_twice,
           HEAD CHECK "    columns: [{ name: a, scale: 2 }]\n    options:\n      a: { trim: both, scale: 1 }\n",
           "t.yaml:12:24: options.a: option 'scale' is already set for column 'a' at line 10")
ERROR_TEST(test_options_unknown_option,
           HEAD CHECK "    options:\n      a: { name: b }\n",
           "t.yaml:11:12: checks[0].options.a: unknown key 'name' (expected one of: scale, precision, "
           "timezone, trim, case, tolerance, map, as, zero_date)")
ERROR_TEST(test_options_empty_entry,
           HEAD CHECK "    options:\n      a: {}\n",
           "t.yaml:11:10: checks[0].options.a: expected at least one option")
ERROR_TEST(test_options_not_a_mapping,
           HEAD CHECK "    options: [a]\n",
           "t.yaml:10:14: checks[0].options: expected a mapping of column names to options, got a sequence")
ERROR_TEST(test_options_entry_not_a_mapping,
           HEAD CHECK "    options:\n      a: 2\n",
           "t.yaml:11:10: checks[0].options.a: expected a mapping of options, got a string")
ERROR_TEST(test_options_bad_value,
           HEAD CHECK "    options:\n      a: { scale: 99 }\n",
           "t.yaml:11:19: checks[0].options.a.scale: value '99' is out of range (expected 0 to 38)")

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_mysql_is_mariadb),
		cmocka_unit_test(test_driver_mysql_wrong_scheme),
		cmocka_unit_test(test_system_timezone),
		cmocka_unit_test(test_system_timezone_unknown),
		cmocka_unit_test(test_system_timezone_empty),
		cmocka_unit_test(test_system_timezone_not_a_string),
		cmocka_unit_test(test_options_without_columns),
		cmocka_unit_test(test_options_merge_into_columns),
		cmocka_unit_test(test_options_column_not_listed),
		cmocka_unit_test(test_options_set_twice),
		cmocka_unit_test(test_options_unknown_option),
		cmocka_unit_test(test_options_empty_entry),
		cmocka_unit_test(test_options_not_a_mapping),
		cmocka_unit_test(test_options_entry_not_a_mapping),
		cmocka_unit_test(test_options_bad_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
