/*
 * tests/unit/test_plan.c
 *   plan: which pairs of column types compare, as what canonical class,
 *   and the exact refusal for those that cannot.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "../../engine/plan.h"

static struct coldesc col(enum ltype t, const char *native)
{
	struct coldesc c;

	memset(&c, 0, sizeof(c));
	c.type = t;
	c.native = (char *)native;
	c.name = (char *)"c";
	c.precision = c.scale = -1;
	c.length = -1;
	if (t == LT_FLOAT)
		c.bits = strstr(native, "real") || strcmp(native, "float") == 0 ? 32 : 64;
	return c;
}

struct pairing {
	int rc;
	enum cclass cls;
	bool pad[2];
	struct tally_err err;
};

static struct pairing pair(struct coldesc s, struct coldesc t, const char *sd, const char *td, bool key)
{
	struct pairing p;
	struct canon_col out[2];

	memset(&p, 0, sizeof(p));
	memset(out, 0, sizeof(out));
	p.rc = plan_pair(&s, &t, sd, td, key, out, &p.err);
	if (p.rc == 0) {
		assert_int_equal(out[0].cls, out[1].cls);
		assert_int_equal(out[0].type, s.type);
		assert_int_equal(out[1].type, t.type);
		assert_int_equal(out[0].scale, -1);
		assert_int_equal(out[0].precision, -1);
		p.cls = out[0].cls;
		p.pad[0] = out[0].pad_trim;
		p.pad[1] = out[1].pad_trim;
	}
	return p;
}

#define MY "mariadb"
#define PG "postgres"

static void test_numbers(void **state)
{
	struct pairing p;

	(void)state;
	p = pair(col(LT_INT, "int(11)"), col(LT_DECIMAL, "numeric(12,2)"), MY, PG, false);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cls, CC_NUMBER);
	p = pair(col(LT_INT, "bigint(20) unsigned"), col(LT_DECIMAL, "numeric(20,0)"), MY, PG, true);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cls, CC_NUMBER);
	p = pair(col(LT_YEAR, "year(4)"), col(LT_INT, "smallint"), MY, PG, false);
	assert_int_equal(p.cls, CC_NUMBER);
}

static void test_booleans(void **state)
{
	struct coldesc tiny = col(LT_INT, "tinyint(1)");
	struct pairing p;

	(void)state;
	tiny.bool_hint = true;
	p = pair(tiny, col(LT_BOOL, "boolean"), MY, PG, false);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cls, CC_BOOL);
	p = pair(col(LT_BOOL, "boolean"), col(LT_INT, "smallint"), PG, PG, false);
	assert_int_equal(p.cls, CC_BOOL);
	/* tinyint(1) against an integer stays a number. */
	p = pair(tiny, col(LT_INT, "smallint"), MY, PG, false);
	assert_int_equal(p.cls, CC_NUMBER);
	p = pair(col(LT_BOOL, "boolean"), col(LT_DECIMAL, "numeric"), PG, PG, false);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.msg, "column cannot be compared: boolean in source (boolean) and decimal "
	                               "in target (numeric)");
}

static void test_floats(void **state)
{
	struct pairing p;

	(void)state;
	p = pair(col(LT_FLOAT, "float"), col(LT_FLOAT, "double precision"), MY, PG, false);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cls, CC_FLOAT32);
	p = pair(col(LT_FLOAT, "double"), col(LT_FLOAT, "double precision"), MY, PG, false);
	assert_int_equal(p.cls, CC_FLOAT64);
	p = pair(col(LT_FLOAT, "double"), col(LT_FLOAT, "double precision"), MY, PG, true);
	assert_int_equal(p.rc, -1);
	assert_int_equal(p.err.kind, ERR_SCHEMA);
	assert_string_equal(p.err.msg, "key column cannot be compared: float in source (double) and float in "
	                               "target (double precision)");
	assert_string_equal(p.err.detail, "floating-point values are not exact enough to identify rows");
	p = pair(col(LT_FLOAT, "double"), col(LT_DECIMAL, "numeric(12,2)"), MY, PG, false);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.detail, "a binary floating-point value is not the decimal it is printed as");
	assert_string_equal(p.err.hint, "round both sides to the digits that matter with `scale: N` on the column, "
	                    "or compare through a query that casts one side");
}

static void test_text(void **state)
{
	struct pairing p;

	(void)state;
	p = pair(col(LT_CHAR, "character(5)"), col(LT_TEXT, "varchar(5)"), PG, MY, true);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cls, CC_TEXT);
	assert_true(p.pad[0]);
	assert_false(p.pad[1]);
	p = pair(col(LT_ENUM, "enum('a','b')"), col(LT_TEXT, "text"), MY, PG, false);
	assert_int_equal(p.cls, CC_TEXT);
	p = pair(col(LT_BYTES, "blob"), col(LT_BYTES, "bytea"), MY, PG, true);
	assert_int_equal(p.cls, CC_BYTES);
	p = pair(col(LT_TEXT, "text"), col(LT_BYTES, "bytea"), MY, PG, false);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.msg, "column cannot be compared: text in source (text) and binary in target (bytea)");
}

static void test_key_families_must_sort_alike(void **state)
{
	struct pairing p;

	(void)state;
	p = pair(col(LT_INT, "int(11)"), col(LT_TEXT, "text"), MY, PG, true);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.msg, "key column cannot be compared: integer in source (int(11)) and text in "
	                               "target (text)");
	assert_string_equal(p.err.detail, "keys are merged in one order on both sides, and these types do not sort alike");
}

static void test_times(void **state)
{
	struct pairing p;

	(void)state;
	p = pair(col(LT_TIMESTAMP, "datetime(6)"), col(LT_TIMESTAMP, "timestamp(3) without time zone"), MY, PG, true);
	assert_int_equal(p.cls, CC_TIMESTAMP);
	p = pair(col(LT_TIMESTAMPTZ, "timestamp"), col(LT_TIMESTAMPTZ, "timestamp with time zone"), MY, PG, false);
	assert_int_equal(p.cls, CC_TIMESTAMPTZ);
	p = pair(col(LT_TIMESTAMP, "datetime"), col(LT_TIMESTAMPTZ, "timestamp with time zone"), MY, PG, false);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.detail, "a timestamp without time zone is not an instant, so it cannot equal one");
	assert_string_equal(p.err.hint, "say in which zone the source side's values are local time: the column "
	                    "option `timezone: Europe/Berlin`, or `timezone: Europe/Berlin` on its system "
	                    "(systems.NAME.timezone) for every check");
	p = pair(col(LT_TIMESTAMPTZ, "timestamp"), col(LT_DATE, "date"), MY, PG, false);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.detail, "a date without time zone is not an instant, so it cannot equal one");
	assert_string_equal(p.err.hint, "say in which zone the target side's values are local time: the column "
	                    "option `timezone: Europe/Berlin`, or `timezone: Europe/Berlin` on its system "
	                    "(systems.NAME.timezone) for every check");
	/* A date is its day at 00:00:00: it compares as a timestamp, both ways, not as a key. */
	p = pair(col(LT_DATE, "date"), col(LT_TIMESTAMP, "timestamp without time zone"), MY, PG, false);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cls, CC_TIMESTAMP);
	p = pair(col(LT_TIMESTAMP, "datetime"), col(LT_DATE, "date"), MY, PG, false);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cls, CC_TIMESTAMP);
	p = pair(col(LT_TIMESTAMP, "datetime"), col(LT_DATE, "date"), MY, PG, true);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.msg, "key column cannot be compared: timestamp in source (datetime) and date in "
	                               "target (date)");
	assert_string_equal(p.err.detail, "a date and a timestamp are equal at midnight, but they do not identify "
	                                  "rows alike: compare them as columns, not keys");
	p = pair(col(LT_TIME, "time(6)"), col(LT_TIME, "time without time zone"), MY, PG, false);
	assert_int_equal(p.cls, CC_TIME);
	p = pair(col(LT_DATE, "date"), col(LT_DATE, "date"), MY, PG, true);
	assert_int_equal(p.cls, CC_DATE);
	p = pair(col(LT_UUID, "uuid"), col(LT_UUID, "uuid"), MY, PG, true);
	assert_int_equal(p.cls, CC_UUID);
}

static void test_same_engine_same_type(void **state)
{
	struct pairing p;

	(void)state;
	/* Types without a class compare by the server's text, on one engine only. */
	p = pair(col(LT_INTERVAL, "interval"), col(LT_INTERVAL, "interval"), PG, PG, false);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cls, CC_TEXT);
	p = pair(col(LT_ARRAY, "integer[]"), col(LT_ARRAY, "text[]"), PG, PG, false);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.msg, "column cannot be compared: array in source (integer[]) and array in target "
	                               "(text[])");
	p = pair(col(LT_INTERVAL, "interval"), col(LT_INTERVAL, "interval"), PG, PG, true);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.msg, "key column cannot be compared: interval in source (interval) and interval "
	                               "in target (interval)");
}

static void test_json_inet_bits_uuid(void **state)
{
	struct pairing p;
	struct coldesc bin16 = col(LT_BYTES, "binary(16)"), bit1 = col(LT_BIT, "bit(1)"),
	               bit5 = col(LT_BIT, "bit(5)"), bit8 = col(LT_BIT, "bit(8)"), varbit = col(LT_BIT, "bit varying");

	(void)state;
	bin16.fixed = true;
	bin16.length = 16;
	bit1.bits = 1;
	bit5.bits = 5;
	bit5.fixed = true;
	bit8.bits = 8;
	varbit.bits = -1;
	varbit.bits_varying = true;   /* as PostgreSQL's describe sets it */
	/* JSON by meaning, across engines and between json and jsonb. */
	p = pair(col(LT_JSON, "jsonb"), col(LT_JSON, "longtext"), PG, MY, false);
	assert_int_equal(p.cls, CC_JSON);
	p = pair(col(LT_JSON, "json"), col(LT_JSON, "jsonb"), PG, PG, false);
	assert_int_equal(p.cls, CC_JSON);
	p = pair(col(LT_JSON, "jsonb"), col(LT_JSON, "jsonb"), PG, PG, true);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.detail, "JSON documents do not identify rows");
	p = pair(col(LT_JSON, "jsonb"), col(LT_TEXT, "text"), PG, MY, false);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.detail, "text is not JSON until it is parsed");
	assert_non_null(strstr(p.err.hint, "as: json"));
	p = pair(col(LT_ARRAY, "integer[]"), col(LT_JSON, "longtext"), PG, MY, false);
	assert_int_equal(p.rc, -1);
	assert_non_null(strstr(p.err.hint, "as: json"));
	/* uuids: with uuids, text parsed as one, binary(16). */
	p = pair(col(LT_UUID, "uuid"), col(LT_CHAR, "char(36)"), PG, MY, true);
	assert_int_equal(p.cls, CC_UUID);
	p = pair(bin16, col(LT_UUID, "uuid"), MY, PG, false);
	assert_int_equal(p.cls, CC_UUID);
	p = pair(col(LT_BYTES, "bytea"), col(LT_UUID, "uuid"), PG, PG, false);
	assert_int_equal(p.rc, -1);
	assert_non_null(strstr(p.err.hint, "as: uuid"));
	p = pair(col(LT_ENUM, "enum('a')"), col(LT_UUID, "uuid"), MY, PG, false);
	assert_int_equal(p.rc, -1);
	/* addresses, and text parsed as one */
	p = pair(col(LT_INET, "inet"), col(LT_INET, "inet6"), PG, MY, true);
	assert_int_equal(p.cls, CC_INET);
	p = pair(col(LT_INET, "cidr"), col(LT_TEXT, "varchar(45)"), PG, MY, false);
	assert_int_equal(p.cls, CC_INET);
	/* bit strings: same width, or a varying one; one bit is a boolean */
	p = pair(bit5, bit5, PG, MY, false);
	assert_int_equal(p.cls, CC_BITS);
	p = pair(varbit, bit8, PG, MY, false);
	assert_int_equal(p.cls, CC_BITS);
	p = pair(bit5, bit8, PG, MY, false);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.err.detail, "bit strings of 5 and 8 bits cannot be equal");
	p = pair(col(LT_BOOL, "boolean"), bit1, PG, MY, false);
	assert_int_equal(p.cls, CC_BOOL);
	/* set labels are text */
	p = pair(col(LT_SET, "set('a','b')"), col(LT_TEXT, "text"), MY, PG, false);
	assert_int_equal(p.cls, CC_TEXT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_key_families_must_sort_alike),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_same_engine_same_type),
		cmocka_unit_test(test_json_inet_bits_uuid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
