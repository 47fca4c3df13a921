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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_mysql_is_mariadb),
		cmocka_unit_test(test_driver_mysql_wrong_scheme),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
