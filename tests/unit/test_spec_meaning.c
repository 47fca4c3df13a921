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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_mysql_is_mariadb),
		cmocka_unit_test(test_driver_mysql_wrong_scheme),
		cmocka_unit_test(test_system_timezone),
		cmocka_unit_test(test_system_timezone_unknown),
		cmocka_unit_test(test_system_timezone_empty),
		cmocka_unit_test(test_system_timezone_not_a_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
