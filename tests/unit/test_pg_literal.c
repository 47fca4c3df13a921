/*
 * tests/unit/test_pg_literal.c
 *   connectors/postgres/literal.c (literal() and bound_literal()) and
 *   connectors/postgres/script.c (script_ops), without a server: every rule
 *   with its exact output, every refusal with its exact message (and the
 *   buffer left as it was), and the exact text of an INSERT, UPDATE and
 *   DELETE block.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../connectors/connector.h"

extern const struct conn_ops postgres_ops;

#define DAY_US INT64_C(86400000000)

/* ---- helpers ------------------------------------------------------- */

/* Days since 2000-01-01 of a proleptic Gregorian date (y astronomical). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

static int64_t ts_us(int64_t y, unsigned mo, unsigned d, int h, int mi, int s, int us)
{
	return days_from_civil(y, mo, d) * DAY_US +
	       ((int64_t)h * 3600 + mi * 60 + s) * 1000000 + us;
}

static struct coldesc col_of(const char *name, const char *native, enum ltype type)
{
	struct coldesc c;

	memset(&c, 0, sizeof(c));
	c.name = (char *)name;
	c.native = (char *)native;
	c.type = type;
	c.nullable = true;
	c.precision = c.scale = -1;
	c.length = -1;
	c.fsp = 6;
	if (type == LT_INT) {
		c.bits = strcmp(native, "smallint") == 0 ? 16 : strcmp(native, "integer") == 0 ? 32 : 64;
		c.precision = c.scale = 0;
	}
	if (type == LT_FLOAT)
		c.bits = strcmp(native, "real") == 0 ? 32 : 64;
	return c;
}

static struct sqlval num(const char *s)
{
	struct sqlval v = { .kind = SV_NUMBER, .s = s, .len = strlen(s) };

	return v;
}

static struct sqlval special(enum sqlval_kind kind, enum sqlval_special sp)
{
	struct sqlval v = { .kind = kind, .special = sp };

	return v;
}

static struct sqlval flt(double d)
{
	struct sqlval v = { .kind = SV_FLOAT, .d = d };

	return v;
}

static struct sqlval txt(enum sqlval_kind kind, const char *s, size_t len)
{
	struct sqlval v = { .kind = kind, .s = s, .len = len };

	return v;
}
#define TEXT(s) txt(SV_TEXT, (s), sizeof(s) - 1)
#define BYTES(s) txt(SV_BYTES, (s), sizeof(s) - 1)
#define RAW(s) txt(SV_RAW, (s), sizeof(s) - 1)

static struct sqlval timed(enum sqlval_kind kind, int64_t i)
{
	struct sqlval v = { .kind = kind, .i = i };

	return v;
}

static void lit_ok(const struct coldesc *c, struct sqlval v, const char *want)
{
	struct buf b = BUF_INIT;
	struct tally_err err;

	err_clear(&err);
	buf_addstr(&b, "(");
	if (postgres_ops.literal(&b, c, &v, &err) < 0)
		fail_msg("literal for column %s failed: %s", c->name, err.msg);
	if (strcmp(b.data + 1, want) != 0)
		fail_msg("column %s: got [%s], expected [%s]", c->name, b.data + 1, want);
	buf_release(&b);
}

/* Refused with exactly msg (after "column 'NAME' (NATIVE): "); b unchanged. */
static void lit_err(const struct coldesc *c, struct sqlval v, const char *msg)
{
	struct buf b = BUF_INIT;
	struct tally_err err;
	char want[ERR_MSG_MAX];

	err_clear(&err);
	buf_addstr(&b, "INSERT (1, ");
	assert_int_equal(postgres_ops.literal(&b, c, &v, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	snprintf(want, sizeof(want), "column '%s' (%s): %s", c->name, c->native, msg);
	assert_string_equal(err.msg, want);
	assert_string_equal(b.data, "INSERT (1, ");
	assert_int_equal(b.len, 11);
	/* Never the value itself. */
	if (v.kind == SV_TEXT || v.kind == SV_NUMBER || v.kind == SV_RAW) {
		if (v.len > 2 && memchr(v.s, '\0', v.len) == NULL) {
			char value[256];

			snprintf(value, sizeof(value), "%.*s", (int)v.len, v.s);
			assert_null(strstr(err.msg, value));
		}
	}
	buf_release(&b);
}

/* ---- numbers ------------------------------------------------------- */

static void test_null(void **state)
{
	struct coldesc i4 = col_of("amount", "integer", LT_INT);
	struct coldesc tx = col_of("note", "text", LT_TEXT);
	struct coldesc by = col_of("blob", "bytea", LT_BYTES);
	struct sqlval v = { .kind = SV_NULL };

	(void)state;
	lit_ok(&i4, v, "NULL");
	lit_ok(&tx, v, "NULL");
	lit_ok(&by, v, "NULL");
}

static void test_number_int(void **state)
{
	struct coldesc i2 = col_of("small", "smallint", LT_INT);
	struct coldesc i4 = col_of("amount", "integer", LT_INT);
	struct coldesc i8 = col_of("big", "bigint", LT_INT);

	(void)state;
	lit_ok(&i4, num("-12"), "-12");
	lit_ok(&i4, num("0"), "0");
	lit_ok(&i4, num("-0"), "0");
	lit_ok(&i4, num("007"), "7");
	lit_ok(&i4, num("12.00"), "12");
	lit_ok(&i4, num("2147483647"), "2147483647");
	lit_ok(&i4, num("-2147483648"), "-2147483648");
	lit_ok(&i2, num("32767"), "32767");
	lit_ok(&i2, num("-32768"), "-32768");
	lit_ok(&i8, num("9223372036854775807"), "9223372036854775807");
	lit_ok(&i8, num("-9223372036854775808"), "-9223372036854775808");

	lit_err(&i4, num("-0.5"), "a number with a fraction cannot be stored exactly");
	lit_err(&i4, num("12.001"), "a number with a fraction cannot be stored exactly");
	lit_err(&i4, num("2147483648"), "the number is out of range");
	lit_err(&i4, num("-2147483649"), "the number is out of range");
	lit_err(&i2, num("32768"), "the number is out of range");
	lit_err(&i2, num("-32769"), "the number is out of range");
	lit_err(&i8, num("9223372036854775808"), "the number is out of range");
	lit_err(&i8, num("18446744073709551615"), "the number is out of range");
	lit_err(&i8, num("18446744073709551616"), "the number is out of range");
	lit_err(&i8, num("123456789012345678901234567890"), "the number is out of range");
	lit_err(&i4, special(SV_NUMBER, SVS_NAN), "a NaN or infinite number cannot be stored");
	lit_err(&i4, special(SV_NUMBER, SVS_PINF), "a NaN or infinite number cannot be stored");
	lit_err(&i4, special(SV_NUMBER, SVS_NINF), "a NaN or infinite number cannot be stored");
}

static void test_number_malformed(void **state)
{
	static const char *const bad[] = {
		"", "-", ".", "1.", ".5", "1e5", "1;DROP TABLE x", "+1", "1 ", "0x10", "--1", "1.2.3",
		"１",
	};
	struct coldesc i4 = col_of("amount", "integer", LT_INT);
	struct coldesc nu = col_of("amount", "numeric", LT_DECIMAL);
	struct coldesc f8 = col_of("ratio", "double precision", LT_FLOAT);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sqlval v = num(bad[i]);

		lit_err(&i4, v, "the number is malformed");
		lit_err(&nu, v, "the number is malformed");
		lit_err(&f8, v, "the number is malformed");
	}
	/* len counts: a number is not read past it. */
	{
		struct sqlval v = { .kind = SV_NUMBER, .s = "12; DROP", .len = 2 };

		lit_ok(&i4, v, "12");
	}
}

static void test_number_decimal(void **state)
{
	struct coldesc nu = col_of("amount", "numeric", LT_DECIMAL);
	struct coldesc n122 = col_of("amount", "numeric(12,2)", LT_DECIMAL);
	struct coldesc n35 = col_of("tiny", "numeric(3,5)", LT_DECIMAL);
	struct coldesc n5m2 = col_of("hundreds", "numeric(5,-2)", LT_DECIMAL);
	struct coldesc f8 = col_of("ratio", "double precision", LT_FLOAT);
	struct coldesc f4 = col_of("ratio4", "real", LT_FLOAT);

	(void)state;
	n122.precision = 12;
	n122.scale = 2;
	n35.precision = 3;
	n35.scale = 5;
	n5m2.precision = 5;
	n5m2.scale = -2;

	lit_ok(&nu, num("-12.50"), "-12.50");
	lit_ok(&nu, num("-0.5"), "-0.5");
	lit_ok(&nu, num("18446744073709551615"), "18446744073709551615");
	lit_ok(&nu, num("0.000000000000000000000000000001"), "0.000000000000000000000000000001");
	lit_ok(&n122, num("-12.50"), "-12.50");
	lit_ok(&n122, num("1.230"), "1.230");
	lit_ok(&n122, num("9999999999.99"), "9999999999.99");
	lit_ok(&n122, num("-0009999999999.990"), "-0009999999999.990");
	lit_ok(&n122, num("0"), "0");
	lit_err(&n122, num("1.234"), "a number with more than 2 decimal places cannot be stored exactly");
	lit_err(&n122, num("10000000000"), "the number is out of range");
	lit_err(&n122, num("18446744073709551615"), "the number is out of range");
	lit_ok(&n35, num("0.00999"), "0.00999");
	lit_err(&n35, num("0.01"), "the number is out of range");
	lit_ok(&n5m2, num("1234500"), "1234500");
	lit_err(&n5m2, num("1234510"), "the number would be rounded to 2 digits before the decimal point");
	lit_err(&n5m2, num("12345600"), "the number is out of range");

	lit_ok(&nu, special(SV_NUMBER, SVS_NAN), "'NaN'");
	lit_ok(&nu, special(SV_NUMBER, SVS_PINF), "'Infinity'");
	lit_ok(&nu, special(SV_NUMBER, SVS_NINF), "'-Infinity'");
	lit_ok(&n122, special(SV_NUMBER, SVS_NAN), "'NaN'");
	lit_err(&n122, special(SV_NUMBER, SVS_PINF),
	        "an infinite number cannot be stored in a numeric with a precision");
	lit_err(&n122, special(SV_NUMBER, SVS_NINF),
	        "an infinite number cannot be stored in a numeric with a precision");

	lit_ok(&f8, num("0.1"), "0.1");
	lit_ok(&f8, num("-12.50"), "-12.50");
	lit_ok(&f4, num("18446744073709551615"), "18446744073709551615");
	lit_ok(&f8, special(SV_NUMBER, SVS_NAN), "'NaN'");
	lit_ok(&f8, special(SV_NUMBER, SVS_PINF), "'Infinity'");
	lit_ok(&f8, special(SV_NUMBER, SVS_NINF), "'-Infinity'");
}

static void test_number_other_columns(void **state)
{
	struct coldesc bo = col_of("flag", "boolean", LT_BOOL);
	struct coldesc tx = col_of("note", "text", LT_TEXT);
	struct coldesc dt = col_of("day", "date", LT_DATE);

	(void)state;
	lit_ok(&bo, num("0"), "false");
	lit_ok(&bo, num("1"), "true");
	lit_err(&bo, num("2"), "only 0 and 1 can be stored as a boolean");
	lit_err(&bo, num("-1"), "only 0 and 1 can be stored as a boolean");
	lit_err(&bo, num("0.5"), "only 0 and 1 can be stored as a boolean");
	lit_err(&bo, num("10"), "only 0 and 1 can be stored as a boolean");
	lit_err(&bo, special(SV_NUMBER, SVS_NAN), "a NaN or infinite number cannot be stored");
	lit_ok(&tx, num("-12.50"), "'-12.50'");
	lit_err(&dt, num("20240102"), "a number value cannot be stored in this column");
}

/* ---- floats -------------------------------------------------------- */

static void test_float(void **state)
{
	struct coldesc f8 = col_of("ratio", "double precision", LT_FLOAT);
	struct coldesc f4 = col_of("ratio4", "real", LT_FLOAT);
	struct coldesc nu = col_of("amount", "numeric", LT_DECIMAL);
	struct coldesc n122 = col_of("amount", "numeric(12,2)", LT_DECIMAL);
	struct coldesc i8 = col_of("big", "bigint", LT_INT);
	struct coldesc tx = col_of("note", "text", LT_TEXT);

	(void)state;
	n122.precision = 12;
	n122.scale = 2;

	lit_ok(&f8, flt(0.1), "'0.1'");
	lit_ok(&f8, flt(1e300), "'1e+300'");
	lit_ok(&f8, flt(-0.0), "'-0'");
	lit_ok(&f8, flt(0.0), "'0'");
	lit_ok(&f8, flt(5e-324), "'5e-324'");
	lit_ok(&f8, flt(1.0 / 3), "'0.3333333333333333'");
	lit_ok(&f8, flt(123456789.0), "'123456789'");
	lit_ok(&f8, flt(1.7976931348623157e308), "'1.7976931348623157e+308'");
	lit_ok(&f8, flt(NAN), "'NaN'");
	lit_ok(&f8, flt(INFINITY), "'Infinity'");
	lit_ok(&f8, flt(-INFINITY), "'-Infinity'");

	/* A 32-bit column: the shortest text that reads back as the float. */
	lit_ok(&f4, flt(0.1), "'0.1'");
	lit_ok(&f4, flt((double)0.1f), "'0.1'");
	lit_ok(&f4, flt(1.0 / 3), "'0.33333334'");
	lit_ok(&f4, flt(123456789.0), "'1.2345679e+08'");
	lit_ok(&f4, flt(-0.0), "'-0'");
	lit_ok(&f4, flt((double)3.4028234663852886e38f), "'3.4028235e+38'");
	lit_ok(&f4, flt(NAN), "'NaN'");
	lit_ok(&f4, flt(-INFINITY), "'-Infinity'");
	lit_err(&f4, flt(1e300), "the number is out of range");
	lit_err(&f4, flt(5e-324), "the number is out of range");

	/* numeric and integer: finite only, and no rounding. */
	lit_ok(&nu, flt(0.1), "'0.1'");
	lit_ok(&nu, flt(1e300), "'1e+300'");
	lit_ok(&nu, flt(5e-324), "'5e-324'");
	lit_ok(&n122, flt(-12.5), "'-12.5'");
	lit_ok(&n122, flt(1e9), "'1e+09'");
	lit_err(&n122, flt(0.125), "a number with more than 2 decimal places cannot be stored exactly");
	lit_err(&n122, flt(1e10), "the number is out of range");
	lit_err(&n122, flt(1e-5), "a number with more than 2 decimal places cannot be stored exactly");
	lit_err(&nu, flt(NAN), "a NaN or infinite number cannot be stored");
	lit_err(&nu, flt(INFINITY), "a NaN or infinite number cannot be stored");
	lit_ok(&i8, flt(3.0), "3");
	lit_ok(&i8, flt(-1e18), "-1000000000000000000");
	lit_ok(&i8, flt(-0.0), "0");
	lit_err(&i8, flt(3.5), "a number with a fraction cannot be stored exactly");
	lit_err(&i8, flt(1e300), "the number is out of range");
	lit_err(&i8, flt(NAN), "a NaN or infinite number cannot be stored");
	lit_err(&tx, flt(0.1), "a floating-point value cannot be stored in this column");
}

/* ---- booleans ------------------------------------------------------ */

static void test_bool(void **state)
{
	struct coldesc bo = col_of("flag", "boolean", LT_BOOL);
	struct coldesc i2 = col_of("small", "smallint", LT_INT);
	struct coldesc tx = col_of("note", "text", LT_TEXT);
	struct sqlval t = { .kind = SV_BOOL, .b = true }, f = { .kind = SV_BOOL, .b = false };

	(void)state;
	lit_ok(&bo, t, "true");
	lit_ok(&bo, f, "false");
	lit_ok(&i2, t, "1");
	lit_ok(&i2, f, "0");
	lit_err(&tx, t, "a boolean value cannot be stored in this column");
}

/* ---- text and bytes ------------------------------------------------ */

static void test_text(void **state)
{
	static const char hostile[] =
		"it's a \\' trap'); DROP TABLE x; -- /* */ $$ $tally$ :'v' \\g\n\r\t 😀 \\x41 '' %s";
	static const char hostile_lit[] =
		"'it''s a \\'' trap''); DROP TABLE x; -- /* */ $$ $tally$ :''v'' \\g\n\r\t 😀 \\x41 '''' %s'";
	struct coldesc tx = col_of("note", "text", LT_TEXT);
	struct coldesc vc = col_of("code", "character varying(3)", LT_TEXT);
	struct coldesc ch = col_of("code", "character(3)", LT_CHAR);
	struct coldesc by = col_of("blob", "bytea", LT_BYTES);
	struct coldesc uu = col_of("id", "uuid", LT_UUID);
	struct coldesc js = col_of("doc", "jsonb", LT_JSON);
	struct coldesc en = col_of("mood", "mood", LT_ENUM);
	struct coldesc ip = col_of("addr", "inet", LT_INET);
	struct coldesc i4 = col_of("amount", "integer", LT_INT);

	(void)state;
	vc.length = 3;
	ch.length = 3;
	ch.fixed = true;

	lit_ok(&tx, TEXT(""), "''");
	lit_ok(&tx, TEXT("'"), "''''");
	lit_ok(&tx, TEXT(hostile), hostile_lit);
	lit_ok(&tx, TEXT("Ω\xf4\x8f\xbf\xbf"), "'Ω\xf4\x8f\xbf\xbf'");
	lit_ok(&vc, TEXT("äöü"), "'äöü'");
	lit_ok(&ch, TEXT("ab"), "'ab'");
	lit_err(&vc, TEXT("abcd"), "text longer than 3 characters cannot be stored");
	lit_err(&ch, TEXT("äöüß"), "text longer than 3 characters cannot be stored");
	lit_err(&tx, TEXT("a\0b"), "a NUL byte cannot be stored in PostgreSQL text");
	lit_err(&tx, TEXT("\xff"), "text that is not valid UTF-8 cannot be stored as text");
	lit_err(&tx, TEXT("\xc0\xaf"), "text that is not valid UTF-8 cannot be stored as text");
	lit_err(&tx, TEXT("\xed\xa0\x80"), "text that is not valid UTF-8 cannot be stored as text");
	lit_err(&tx, TEXT("\xf4\x90\x80\x80"), "text that is not valid UTF-8 cannot be stored as text");
	lit_err(&tx, TEXT("ab\xe2\x82"), "text that is not valid UTF-8 cannot be stored as text");

	/* Other types: the quoted text, which the column's type parses. */
	lit_ok(&by, TEXT("é'\\"), "'\\xc3a9275c'");
	lit_ok(&uu, TEXT("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'");
	lit_ok(&js, TEXT("{\"a\": \"it's\"}"), "'{\"a\": \"it''s\"}'");
	lit_ok(&en, TEXT("Zany"), "'Zany'");
	lit_ok(&ip, TEXT("192.168.0.1/24"), "'192.168.0.1/24'");
	lit_ok(&i4, TEXT("42"), "'42'");
}

static void test_bytes(void **state)
{
	static const char raw[] = { 0x00, (char)0xff, '\'', '\\', 'A' };
	struct coldesc by = col_of("blob", "bytea", LT_BYTES);
	struct coldesc tx = col_of("note", "text", LT_TEXT);
	struct coldesc vc = col_of("code", "character varying(3)", LT_TEXT);
	struct coldesc bi = col_of("bits", "bit(8)", LT_BIT);

	(void)state;
	vc.length = 3;
	lit_ok(&by, txt(SV_BYTES, raw, sizeof(raw)), "'\\x00ff275c41'");
	lit_ok(&by, txt(SV_BYTES, "", 0), "'\\x'");
	lit_ok(&tx, BYTES("it's Ω"), "'it''s Ω'");
	lit_err(&vc, BYTES("abcd"), "text longer than 3 characters cannot be stored");
	lit_err(&tx, txt(SV_BYTES, raw, sizeof(raw)), "a NUL byte cannot be stored in PostgreSQL text");
	lit_err(&tx, BYTES("\xff\xfe"), "bytes that are not valid UTF-8 cannot be stored as text");
	lit_err(&bi, BYTES("\x01"), "a binary value cannot be stored in this column");
}

/* ---- dates and times ----------------------------------------------- */

static void test_dates(void **state)
{
	struct coldesc dt = col_of("day", "date", LT_DATE);
	struct coldesc ts = col_of("at", "timestamp without time zone", LT_TIMESTAMP);

	(void)state;
	lit_ok(&dt, timed(SV_DATE, 0), "'2000-01-01'");
	lit_ok(&dt, timed(SV_DATE, days_from_civil(2024, 1, 2)), "'2024-01-02'");
	lit_ok(&dt, timed(SV_DATE, days_from_civil(-43, 3, 15)), "'0044-03-15 BC'");
	lit_ok(&dt, timed(SV_DATE, days_from_civil(0, 12, 31)), "'0001-12-31 BC'");
	lit_ok(&dt, timed(SV_DATE, days_from_civil(1, 1, 1)), "'0001-01-01'");
	lit_ok(&dt, timed(SV_DATE, days_from_civil(-4713, 11, 24)), "'4714-11-24 BC'");
	lit_ok(&dt, timed(SV_DATE, days_from_civil(5874897, 12, 31)), "'5874897-12-31'");
	lit_err(&dt, timed(SV_DATE, days_from_civil(-4713, 11, 23)), "the date is outside PostgreSQL's range");
	lit_err(&dt, timed(SV_DATE, days_from_civil(5874898, 1, 1)), "the date is outside PostgreSQL's range");
	lit_ok(&dt, special(SV_DATE, SVS_PINF), "'infinity'");
	lit_ok(&dt, special(SV_DATE, SVS_NINF), "'-infinity'");
	{
		struct sqlval z = special(SV_DATE, SVS_ZERO);

		lit_err(&dt, z, "a MariaDB zero date cannot be stored in PostgreSQL");
		z.i = 20240100;
		lit_err(&dt, z, "a MariaDB zero date cannot be stored in PostgreSQL");
	}
	lit_err(&ts, timed(SV_DATE, 0), "a date value cannot be stored in this column");
}

static void test_timestamps(void **state)
{
	struct coldesc ts = col_of("at", "timestamp without time zone", LT_TIMESTAMP);
	struct coldesc ts0 = col_of("at0", "timestamp(0) without time zone", LT_TIMESTAMP);
	struct coldesc ts3 = col_of("at3", "timestamp(3) without time zone", LT_TIMESTAMP);
	struct coldesc tz = col_of("at", "timestamp with time zone", LT_TIMESTAMPTZ);
	struct coldesc dt = col_of("day", "date", LT_DATE);

	(void)state;
	ts0.fsp = 0;
	ts3.fsp = 3;
	lit_ok(&ts, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 500000)), "'2024-01-02 03:04:05.5'");
	lit_ok(&ts, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 0)), "'2024-01-02 03:04:05'");
	lit_ok(&ts, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 123456)), "'2024-01-02 03:04:05.123456'");
	lit_ok(&ts, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 10)), "'2024-01-02 03:04:05.00001'");
	lit_ok(&ts, timed(SV_TIMESTAMP, ts_us(1999, 12, 31, 23, 59, 59, 999999)), "'1999-12-31 23:59:59.999999'");
	lit_ok(&ts, timed(SV_TIMESTAMP, ts_us(-43, 3, 15, 10, 0, 0, 0)), "'0044-03-15 10:00:00 BC'");
	lit_ok(&ts, timed(SV_TIMESTAMP, ts_us(-43, 3, 15, 10, 0, 0, 250)), "'0044-03-15 10:00:00.00025 BC'");
	lit_ok(&ts, special(SV_TIMESTAMP, SVS_PINF), "'infinity'");
	lit_ok(&ts, special(SV_TIMESTAMP, SVS_NINF), "'-infinity'");
	lit_ok(&ts0, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 0)), "'2024-01-02 03:04:05'");
	lit_ok(&ts3, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 123000)), "'2024-01-02 03:04:05.123'");
	lit_err(&ts0, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 500000)),
	        "a value with more than 0 fractional digits of a second cannot be stored exactly");
	lit_err(&ts3, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 123400)),
	        "a value with more than 3 fractional digits of a second cannot be stored exactly");
	lit_err(&ts3, timed(SV_TIMESTAMP, ts_us(-43, 3, 15, 10, 0, 0, 1)),
	        "a value with more than 3 fractional digits of a second cannot be stored exactly");
	lit_ok(&ts, timed(SV_TIMESTAMP, ts_us(-4713, 11, 24, 0, 0, 0, 0)), "'4714-11-24 00:00:00 BC'");
	lit_ok(&ts, timed(SV_TIMESTAMP, ts_us(294276, 12, 31, 23, 59, 59, 999999)),
	       "'294276-12-31 23:59:59.999999'");
	lit_err(&ts, timed(SV_TIMESTAMP, ts_us(-4713, 11, 23, 23, 59, 59, 999999)),
	        "the timestamp is outside PostgreSQL's range");
	lit_err(&ts, timed(SV_TIMESTAMP, ts_us(294277, 1, 1, 0, 0, 0, 0)),
	        "the timestamp is outside PostgreSQL's range");
	{
		struct sqlval z = special(SV_TIMESTAMP, SVS_ZERO);

		lit_err(&ts, z, "a MariaDB zero date cannot be stored in PostgreSQL");
		z.kind = SV_TIMESTAMPTZ;
		lit_err(&tz, z, "a MariaDB zero date cannot be stored in PostgreSQL");
	}

	lit_ok(&tz, timed(SV_TIMESTAMPTZ, ts_us(2024, 1, 2, 3, 4, 5, 500000)), "'2024-01-02 03:04:05.5+00'");
	lit_ok(&tz, timed(SV_TIMESTAMPTZ, ts_us(2024, 1, 2, 3, 4, 5, 0)), "'2024-01-02 03:04:05+00'");
	lit_ok(&tz, timed(SV_TIMESTAMPTZ, ts_us(-43, 3, 15, 10, 0, 0, 0)), "'0044-03-15 10:00:00+00 BC'");
	lit_ok(&tz, special(SV_TIMESTAMPTZ, SVS_PINF), "'infinity'");
	lit_ok(&tz, special(SV_TIMESTAMPTZ, SVS_NINF), "'-infinity'");

	lit_err(&tz, timed(SV_TIMESTAMP, 0), "a timestamp value cannot be stored in this column");
	lit_err(&ts, timed(SV_TIMESTAMPTZ, 0), "a timestamptz value cannot be stored in this column");
	lit_err(&dt, timed(SV_TIMESTAMP, 0), "a timestamp value cannot be stored in this column");
}

static void test_times(void **state)
{
	struct coldesc tm = col_of("at", "time without time zone", LT_TIME);
	struct coldesc tm3 = col_of("at3", "time(3) without time zone", LT_TIME);
	struct coldesc tx = col_of("note", "text", LT_TEXT);

	(void)state;
	tm3.fsp = 3;
	lit_ok(&tm, timed(SV_TIME, 0), "'00:00:00'");
	lit_ok(&tm, timed(SV_TIME, DAY_US), "'24:00:00'");
	lit_ok(&tm, timed(SV_TIME, DAY_US - 1), "'23:59:59.999999'");
	lit_ok(&tm, timed(SV_TIME, INT64_C(45296789000)), "'12:34:56.789'");
	lit_ok(&tm3, timed(SV_TIME, INT64_C(45296789000)), "'12:34:56.789'");
	lit_err(&tm3, timed(SV_TIME, INT64_C(45296789100)),
	        "a value with more than 3 fractional digits of a second cannot be stored exactly");
	lit_err(&tm, timed(SV_TIME, -1), "a time outside 00:00:00 to 24:00:00 cannot be stored");
	lit_err(&tm, timed(SV_TIME, -INT64_C(3020399000000)), "a time outside 00:00:00 to 24:00:00 cannot be stored");
	lit_err(&tm, timed(SV_TIME, DAY_US + 1), "a time outside 00:00:00 to 24:00:00 cannot be stored");
	lit_err(&tm, timed(SV_TIME, INT64_C(3020399000000)), "a time outside 00:00:00 to 24:00:00 cannot be stored");
	lit_err(&tx, timed(SV_TIME, 0), "a time value cannot be stored in this column");
}

/* ---- uuid and raw -------------------------------------------------- */

static void test_uuid_raw(void **state)
{
	static const char u[16] = {
		(char)0xa0, (char)0xee, (char)0xbc, (char)0x99, (char)0x9c, 0x0b, 0x4e, (char)0xf8,
		(char)0xbb, 0x6d, 0x6b, (char)0xb9, (char)0xbd, 0x38, 0x0a, 0x11,
	};
	struct coldesc uu = col_of("id", "uuid", LT_UUID);
	struct coldesc tx = col_of("note", "text", LT_TEXT);
	struct coldesc i4 = col_of("amount", "integer", LT_INT);
	struct coldesc js = col_of("doc", "jsonb", LT_JSON);
	struct coldesc iv = col_of("span", "interval", LT_INTERVAL);
	struct coldesc ar = col_of("tags", "text[]", LT_ARRAY);
	struct coldesc ot = col_of("pos", "point", LT_OTHER);

	(void)state;
	lit_ok(&uu, txt(SV_UUID, u, 16), "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'");
	lit_ok(&tx, txt(SV_UUID, u, 16), "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'");
	lit_err(&uu, txt(SV_UUID, u, 15), "the uuid is malformed");
	/* A uuid is 16 bytes: a length of 0 read 16 bytes past a shorter buffer. */
	lit_err(&uu, txt(SV_UUID, u + 16, 0), "the uuid is malformed");
	lit_err(&i4, txt(SV_UUID, u, 16), "a uuid value cannot be stored in this column");

	lit_ok(&js, RAW("{\"a\": \"it's\", \"b\": \"\\\\\"}"), "'{\"a\": \"it''s\", \"b\": \"\\\\\"}'");
	lit_ok(&iv, RAW("P1DT2H3M4.5S"), "'P1DT2H3M4.5S'");
	lit_ok(&ar, RAW("{\"a b\",\"c\\\"d\",\"'\"}"), "'{\"a b\",\"c\\\"d\",\"''\"}'");
	lit_ok(&ot, RAW("(1,2)"), "'(1,2)'");
	lit_ok(&ot, RAW(""), "''");
	lit_err(&js, RAW("{\"a\0\": 1}"), "a NUL byte cannot be stored in PostgreSQL text");
}

/* ---- range bounds -------------------------------------------------- */

static void bound_ok(const struct coldesc *c, struct sqlval v, const char *want)
{
	struct buf b = BUF_INIT;
	struct tally_err err;

	err_clear(&err);
	buf_addstr(&b, "(");
	if (postgres_ops.bound_literal(&b, c, &v, &err) < 0)
		fail_msg("bound_literal for column %s failed: %s", c->name, err.msg);
	if (strcmp(b.data + 1, want) != 0)
		fail_msg("column %s: got [%s], expected [%s]", c->name, b.data + 1, want);
	buf_release(&b);
}

static void bound_err(const struct coldesc *c, struct sqlval v, const char *msg)
{
	struct buf b = BUF_INIT;
	struct tally_err err;
	char want[ERR_MSG_MAX];

	err_clear(&err);
	buf_addstr(&b, "x > ");
	assert_int_equal(postgres_ops.bound_literal(&b, c, &v, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	snprintf(want, sizeof(want), "column '%s' (%s): %s", c->name, c->native, msg);
	assert_string_equal(err.msg, want);
	assert_string_equal(b.data, "x > ");
	buf_release(&b);
}

/*
 * Bounds are typed as the column compares, never checked against what it
 * stores: a typmod would round them, a domain could refuse them.
 */
static void test_bound_numbers(void **state)
{
	struct coldesc i2 = col_of("small", "smallint", LT_INT);
	struct coldesc i4 = col_of("amount", "integer", LT_INT);
	struct coldesc i8 = col_of("big", "bigint", LT_INT);
	struct coldesc dom = col_of("pos", "posint", LT_INT);
	struct coldesc n = col_of("price", "numeric(5,2)", LT_DECIMAL);
	struct coldesc f4 = col_of("ratio", "real", LT_FLOAT);
	struct coldesc f8 = col_of("x", "double precision", LT_FLOAT);
	struct coldesc bo = col_of("ok", "boolean", LT_BOOL);

	(void)state;
	n.precision = 5;
	n.scale = 2;
	dom.bits = 32;
	bound_ok(&i4, num("5"), "'5'::pg_catalog.int4");
	bound_ok(&i4, num("-2147483648"), "'-2147483648'::pg_catalog.int4");
	bound_ok(&i4, num("007"), "'7'::pg_catalog.int4");
	bound_ok(&i4, num("-0"), "'0'::pg_catalog.int4");
	bound_ok(&i2, num("-32768"), "'-32768'::pg_catalog.int2");
	bound_ok(&i8, num("9223372036854775807"), "'9223372036854775807'::pg_catalog.int8");
	bound_ok(&dom, num("0"), "'0'::pg_catalog.int4");
	/* Beyond the type or with a fraction: compared as numeric, exactly. */
	bound_ok(&i2, num("40000"), "40000");
	bound_ok(&i4, num("-0.5"), "-0.5");
	bound_ok(&i8, num("123456789012345678901234567890"), "123456789012345678901234567890");
	bound_ok(&i4, special(SV_NUMBER, SVS_PINF), "'Infinity'::pg_catalog.numeric");
	bound_ok(&i4, special(SV_NUMBER, SVS_NAN), "'NaN'::pg_catalog.numeric");
	bound_ok(&i4, flt(2.0), "'2'::pg_catalog.int4");
	bound_ok(&i4, flt(2.5), "2.5");
	bound_ok(&i4, flt(-INFINITY), "'-Infinity'::pg_catalog.numeric");

	bound_ok(&n, num("1.555"), "'1.555'::pg_catalog.numeric");
	bound_ok(&n, num("123456789.5"), "'123456789.5'::pg_catalog.numeric");
	bound_ok(&n, num("-7"), "'-7'::pg_catalog.numeric");
	bound_ok(&n, special(SV_NUMBER, SVS_NAN), "'NaN'::pg_catalog.numeric");
	bound_ok(&n, special(SV_NUMBER, SVS_PINF), "'Infinity'::pg_catalog.numeric");
	bound_ok(&n, flt(0.125), "'0.125'::pg_catalog.numeric");

	bound_ok(&f8, flt(0.1), "'0.1'::pg_catalog.float8");
	bound_ok(&f4, flt(0.1), "'0.1'::pg_catalog.float8");
	bound_ok(&f4, flt(1e300), "'1e+300'::pg_catalog.float8");
	bound_ok(&f8, flt(NAN), "'NaN'::pg_catalog.float8");

	bound_ok(&bo, (struct sqlval){ .kind = SV_BOOL, .b = true }, "true");

	bound_err(&i4, num("1e5"), "the number is malformed");
	bound_err(&i4, (struct sqlval){ .kind = SV_NULL }, "a NULL cannot bound a range");
}

static void test_bound_text_times(void **state)
{
	static const char u[16] = {
		(char)0xa0, (char)0xee, (char)0xbc, (char)0x99, (char)0x9c, 0x0b, 0x4e, (char)0xf8,
		(char)0xbb, 0x6d, 0x6b, (char)0xb9, (char)0xbd, 0x38, 0x0a, 0x11,
	};
	static char *labels[] = { "sad", "ok" };
	struct coldesc vc = col_of("code", "character varying(3)", LT_TEXT);
	struct coldesc ch = col_of("c", "character(2)", LT_CHAR);
	struct coldesc by = col_of("blob", "bytea", LT_BYTES);
	struct coldesc dt = col_of("day", "date", LT_DATE);
	struct coldesc ts0 = col_of("at0", "timestamp(0) without time zone", LT_TIMESTAMP);
	struct coldesc tz3 = col_of("at3", "timestamp(3) with time zone", LT_TIMESTAMPTZ);
	struct coldesc t0 = col_of("t0", "time(0) without time zone", LT_TIME);
	struct coldesc uu = col_of("id", "uuid", LT_UUID);
	struct coldesc m = col_of("mood", "s2.\"My Mood\"", LT_ENUM);
	struct coldesc iv = col_of("span", "interval", LT_INTERVAL);

	(void)state;
	vc.length = 3;
	ch.length = 2;
	ts0.fsp = 0;
	tz3.fsp = 3;
	t0.fsp = 0;
	m.labels = labels;
	m.nlabels = 2;

	bound_ok(&vc, TEXT("abcd"), "'abcd'");
	bound_ok(&vc, TEXT("it's"), "'it''s'");
	bound_ok(&ch, TEXT("abc"), "'abc'");
	bound_ok(&by, BYTES("\x00\xff'"), "'\\x00ff27'");
	bound_ok(&dt, timed(SV_DATE, days_from_civil(2024, 1, 2)), "'2024-01-02'::pg_catalog.date");
	bound_ok(&dt, special(SV_DATE, SVS_PINF), "'infinity'::pg_catalog.date");
	bound_ok(&ts0, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 500000)),
	         "'2024-01-02 03:04:05.5'::pg_catalog.timestamp");
	bound_ok(&tz3, timed(SV_TIMESTAMPTZ, ts_us(2024, 1, 2, 3, 4, 5, 500)),
	         "'2024-01-02 03:04:05.0005+00'::pg_catalog.timestamptz");
	bound_ok(&tz3, timed(SV_TIMESTAMPTZ, ts_us(-43, 3, 15, 0, 0, 0, 0)),
	         "'0044-03-15 00:00:00+00 BC'::pg_catalog.timestamptz");
	bound_ok(&t0, timed(SV_TIME, 500000), "'00:00:00.5'::pg_catalog.time");
	bound_ok(&uu, txt(SV_UUID, u, 16), "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::pg_catalog.uuid");
	bound_err(&uu, txt(SV_UUID, u + 16, 0), "the uuid is malformed");
	bound_ok(&m, TEXT("ok"), "'ok'::s2.\"My Mood\"");
	bound_ok(&iv, RAW("P1D"), "'P1D'");

	bound_err(&vc, TEXT("a\0b"), "a NUL byte cannot be stored in PostgreSQL text");
	bound_err(&vc, BYTES("\xff"), "bytes that are not valid UTF-8 cannot be stored as text");
	bound_err(&m, TEXT("happy"), "the value is not a label of this enum");
	bound_err(&dt, special(SV_DATE, SVS_ZERO), "a MariaDB zero date cannot be stored in PostgreSQL");
	bound_err(&t0, timed(SV_TIME, -1), "a time outside 00:00:00 to 24:00:00 cannot be stored");
	bound_err(&dt, timed(SV_TIMESTAMP, 0), "a timestamp value cannot be stored in this column");
}

/* ---- script_ops ---------------------------------------------------- */

/*
 * A table whose names hold a quote, a dollar and a percent sign:
 * public."o'd$%r" with key (id, "k'$%"), an identity column and
 * columns of each guard kind.
 */
static struct coldesc tcols[6];
static struct tabdesc tab;
static const size_t tkey[] = { 0, 1 };

static void make_table(const char *display, const char *sqlname)
{
	tcols[0] = col_of("id", "bigint", LT_INT);
	tcols[0].identity = true;
	tcols[0].has_default = true;
	tcols[0].nullable = false;
	tcols[1] = col_of("k'$%", "text", LT_TEXT);
	tcols[1].nullable = false;
	tcols[2] = col_of("amount", "numeric(12,2)", LT_DECIMAL);
	tcols[3] = col_of("na\"me", "character(5)", LT_CHAR);
	tcols[4] = col_of("doc", "jsonb", LT_JSON);
	tcols[5] = col_of("at", "timestamp with time zone", LT_TIMESTAMPTZ);
	memset(&tab, 0, sizeof(tab));
	tab.display = (char *)display;
	tab.sqlname = (char *)sqlname;
	tab.ncols = 6;
	tab.cols = tcols;
	tab.npk = 2;
	tab.pk = (size_t *)tkey;
}

static char *apply_text(const struct script_step *st)
{
	struct buf b = BUF_INIT;

	postgres_ops.script->apply(&b, st);
	return buf_detach(&b, NULL);
}

static void assert_text(const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("got:\n%s\nexpected:\n%s", got, want);
}

static void test_script_frame(void **state)
{
	const struct script_ops *ops = postgres_ops.script;
	static const size_t cols[] = { 0, 1, 3, 4 };
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(ops);
	assert_true(postgres_ops.literal != NULL);
	make_table("public.o'd$%r", "\"public\".\"o'd$%r\"");
	ops->begin(&b);
	assert_string_equal(b.data,
	                    "\\set ON_ERROR_STOP on\n"
	                    "SET client_encoding = 'UTF8';\n"
	                    "BEGIN;\n"
	                    "SET LOCAL standard_conforming_strings = on;\n"
	                    "SET LOCAL DateStyle = 'ISO, YMD';\n"
	                    "SET LOCAL TimeZone = 'UTC';\n"
	                    "SET LOCAL IntervalStyle = 'iso_8601';\n");
	buf_reset(&b);
	ops->stage(&b, "tally_old_1", &tab, cols, 4, false);
	assert_string_equal(b.data,
	                    "CREATE TEMP TABLE pg_temp.\"tally_old_1\" ON COMMIT DROP AS SELECT \"id\", "
	                    "\"k'$%\", \"na\"\"me\", \"doc\" FROM \"public\".\"o'd$%r\" LIMIT 0;\n");
	buf_reset(&b);
	ops->stage_rows(&b, "tally_old_1");
	assert_string_equal(b.data, "INSERT INTO pg_temp.\"tally_old_1\" VALUES\n");
	buf_reset(&b);
	ops->unstage(&b, "tally_old_1");
	assert_string_equal(b.data, "DROP TABLE pg_temp.\"tally_old_1\";\n");
	buf_reset(&b);
	ops->end(&b);
	assert_string_equal(b.data, "COMMIT;\n");
	buf_release(&b);
}

static void test_script_insert(void **state)
{
	static const size_t set[] = { 0, 1, 2, 3, 4, 5 };
	struct script_step st = {
		.kind = STEP_INSERT, .check = "o'rders", .t = &tab, .key = tkey, .nkey = 2,
		.new_stage = "tally_new_1", .set = set, .nset = 6, .rows = 3,
	};
	char *got;

	(void)state;
	make_table("public.o'd$%r", "\"public\".\"o'd$%r\"");
	got = apply_text(&st);
	assert_text(got,
		"DO $tally$\n"
		"DECLARE\n"
		"  n bigint;\n"
		"  bad text;\n"
		"BEGIN\n"
		"  SELECT format('id=%L, k''$%%=%L', s.\"id\", s.\"k'$%\") INTO bad FROM pg_temp.\"tally_new_1\" s"
		" WHERE EXISTS (SELECT 1 FROM \"public\".\"o'd$%r\" t WHERE t.\"id\" = s.\"id\""
		" AND t.\"k'$%\" = s.\"k'$%\") LIMIT 1;\n"
		"  IF bad IS NOT NULL THEN\n"
		"    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: a row of %s with key %s already"
		" exists; nothing was changed', 'o''rders', 'public.o''d$%r', bad), ERRCODE = 'P0001';\n"
		"  END IF;\n"
		"  INSERT INTO \"public\".\"o'd$%r\" (\"id\", \"k'$%\", \"amount\", \"na\"\"me\", \"doc\", \"at\")"
		" OVERRIDING SYSTEM VALUE SELECT s.\"id\", s.\"k'$%\", s.\"amount\", s.\"na\"\"me\", s.\"doc\","
		" s.\"at\" FROM pg_temp.\"tally_new_1\" s;\n"
		"  GET DIAGNOSTICS n = ROW_COUNT;\n"
		"  IF n <> 3 THEN\n"
		"    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: %s %s rows of %s, expected %s;"
		" nothing was changed', 'o''rders', 'inserted', n, 'public.o''d$%r', 3), ERRCODE = 'P0001';\n"
		"  END IF;\n"
		"END\n"
		"$tally$;\n");
	free(got);

	/* Without an identity column among those set: no OVERRIDING. */
	st.set = set + 1;
	st.nset = 2;
	got = apply_text(&st);
	assert_non_null(strstr(got, "  INSERT INTO \"public\".\"o'd$%r\" (\"k'$%\", \"amount\") SELECT"
	                            " s.\"k'$%\", s.\"amount\" FROM pg_temp.\"tally_new_1\" s;\n"));
	free(got);
}

static void test_script_update(void **state)
{
	static const size_t guard[] = { 2, 3, 4, 5 };
	static const size_t set[] = { 2, 4 };
	struct script_step st = {
		.kind = STEP_UPDATE, .check = "orders", .t = &tab, .key = tkey, .nkey = 2,
		.old_stage = "tally_old_2", .guard = guard, .nguard = 4,
		.new_stage = "tally_new_2", .set = set, .nset = 2, .rows = 18446744073709551615u,
	};
	char *got;

	(void)state;
	make_table("public.o'd$%r", "\"public\".\"o'd$%r\"");
	got = apply_text(&st);
	assert_text(got,
		"DO $tally$\n"
		"DECLARE\n"
		"  n bigint;\n"
		"  bad text;\n"
		"BEGIN\n"
		"  PERFORM 1 FROM \"public\".\"o'd$%r\" t JOIN pg_temp.\"tally_old_2\" o ON t.\"id\" = o.\"id\""
		" AND t.\"k'$%\" = o.\"k'$%\" FOR UPDATE OF t;\n"
		"  SELECT format('id=%L, k''$%%=%L', o.\"id\", o.\"k'$%\") INTO bad FROM pg_temp.\"tally_old_2\" o\n"
		"   WHERE NOT EXISTS (SELECT 1 FROM \"public\".\"o'd$%r\" t WHERE t.\"id\" = o.\"id\""
		" AND t.\"k'$%\" = o.\"k'$%\""
		" AND t.\"amount\" IS NOT DISTINCT FROM o.\"amount\""
		" AND t.\"na\"\"me\" COLLATE \"C\" IS NOT DISTINCT FROM o.\"na\"\"me\" COLLATE \"C\""
		" AND t.\"doc\"::text IS NOT DISTINCT FROM o.\"doc\"::text"
		" AND t.\"at\" IS NOT DISTINCT FROM o.\"at\") LIMIT 1;\n"
		"  IF bad IS NOT NULL THEN\n"
		"    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: the row of %s with key %s no longer"
		" holds the values tally read; nothing was changed', 'orders', 'public.o''d$%r', bad),"
		" ERRCODE = 'P0001';\n"
		"  END IF;\n"
		"  UPDATE \"public\".\"o'd$%r\" t SET \"amount\" = s.\"amount\", \"doc\" = s.\"doc\""
		" FROM pg_temp.\"tally_new_2\" s WHERE t.\"id\" = s.\"id\" AND t.\"k'$%\" = s.\"k'$%\";\n"
		"  GET DIAGNOSTICS n = ROW_COUNT;\n"
		"  IF n <> 18446744073709551615 THEN\n"
		"    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: %s %s rows of %s, expected %s;"
		" nothing was changed', 'orders', 'updated', n, 'public.o''d$%r', 18446744073709551615),"
		" ERRCODE = 'P0001';\n"
		"  END IF;\n"
		"END\n"
		"$tally$;\n");
	free(got);
}

static void test_script_delete(void **state)
{
	struct script_step st = {
		.kind = STEP_DELETE, .check = "orders", .t = &tab, .key = tkey, .nkey = 1,
		.old_stage = "tally_old_3", .guard = NULL, .nguard = 0, .rows = 1,
	};
	char *got;

	(void)state;
	/* A name holding the dollar-quote tags: the next free tag is used. */
	make_table("s.$tally$ $tally1$", "\"s\".\"$tally$ $tally1$\"");
	got = apply_text(&st);
	assert_text(got,
		"DO $tally2$\n"
		"DECLARE\n"
		"  n bigint;\n"
		"  bad text;\n"
		"BEGIN\n"
		"  PERFORM 1 FROM \"s\".\"$tally$ $tally1$\" t JOIN pg_temp.\"tally_old_3\" o ON t.\"id\" = o.\"id\""
		" FOR UPDATE OF t;\n"
		"  SELECT format('id=%L', o.\"id\") INTO bad FROM pg_temp.\"tally_old_3\" o\n"
		"   WHERE NOT EXISTS (SELECT 1 FROM \"s\".\"$tally$ $tally1$\" t WHERE t.\"id\" = o.\"id\") LIMIT 1;\n"
		"  IF bad IS NOT NULL THEN\n"
		"    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: the row of %s with key %s no longer"
		" holds the values tally read; nothing was changed', 'orders', 's.$tally$ $tally1$', bad),"
		" ERRCODE = 'P0001';\n"
		"  END IF;\n"
		"  DELETE FROM \"s\".\"$tally$ $tally1$\" t USING pg_temp.\"tally_old_3\" o WHERE t.\"id\" = o.\"id\";\n"
		"  GET DIAGNOSTICS n = ROW_COUNT;\n"
		"  IF n <> 1 THEN\n"
		"    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: %s %s rows of %s, expected %s;"
		" nothing was changed', 'orders', 'deleted', n, 's.$tally$ $tally1$', 1), ERRCODE = 'P0001';\n"
		"  END IF;\n"
		"END\n"
		"$tally2$;\n");
	free(got);

	make_table("s.$tally$", "\"s\".\"$tally$\"");
	got = apply_text(&st);
	assert_true(strncmp(got, "DO $tally1$\n", 12) == 0);
	assert_true(strcmp(got + strlen(got) - 10, "$tally1$;\n") == 0);
	free(got);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/*
 * A nullable key column matches NULL to NULL in every statement, in a form
 * an index serves; a NOT NULL one keeps plain equality.
 */
static void test_script_nullable_key(void **state)
{
	static const size_t all[] = { 0, 1, 2, 3, 4, 5 };
	static const size_t set[] = { 2 };
	struct script_step st = {
		.check = "c", .t = &tab, .key = tkey, .nkey = 2, .guard = all + 2, .nguard = 1,
		.set = set, .nset = 1, .rows = 1,
	};
	const char *cond[2] = {
		"t.\"id\" = o.\"id\" AND (t.\"k'$%\" = o.\"k'$%\" OR (t.\"k'$%\" IS NULL AND o.\"k'$%\" IS NULL))",
		"t.\"id\" = s.\"id\" AND (t.\"k'$%\" = s.\"k'$%\" OR (t.\"k'$%\" IS NULL AND s.\"k'$%\" IS NULL))",
	};
	char *got;

	(void)state;
	make_table("public.o'd$%r", "\"public\".\"o'd$%r\"");
	tcols[1].nullable = true;
	/* INSERT: the key is still absent, NULL included. */
	st.kind = STEP_INSERT;
	st.new_stage = "n";
	st.set = all;
	st.nset = 6;
	got = apply_text(&st);
	assert_int_equal(count_of(got, cond[1]), 1);
	assert_null(strstr(got, "IS NOT DISTINCT FROM"));
	free(got);
	/* UPDATE: the lock, the guard and the UPDATE itself. */
	st.kind = STEP_UPDATE;
	st.old_stage = "o";
	st.set = set;
	st.nset = 1;
	got = apply_text(&st);
	assert_int_equal(count_of(got, cond[0]), 2);
	assert_int_equal(count_of(got, cond[1]), 1);
	free(got);
	/* DELETE: the lock, the guard and the DELETE itself. */
	st.kind = STEP_DELETE;
	st.new_stage = NULL;
	got = apply_text(&st);
	assert_int_equal(count_of(got, cond[0]), 3);
	assert_int_equal(count_of(got, "IS NULL"), 6);
	free(got);
}

#define USER_ARG "-U \"${REPAIR_USER:?set it to a role allowed to write}\""

static void command_is(const char *file, const char *dsn, const char *want)
{
	struct buf b = BUF_INIT;

	postgres_ops.script->apply_command(&b, file, dsn);
	assert_text(b.data, want);
	buf_release(&b);
}

static void test_apply_command(void **state)
{
	(void)state;
	command_is("repair.billing.sql", "postgresql://tally:***@127.0.0.1:5432/billing?sslmode=prefer",
	           "psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5432 -d billing " USER_ARG
	           " -f repair.billing.sql");
	command_is("out/repair.billing.sql", "postgresql://tally@db.example.com/billing",
	           "psql -X -v ON_ERROR_STOP=1 -h db.example.com -d billing " USER_ARG
	           " -f out/repair.billing.sql");
	command_is("r.sql", "postgresql://u:s3cret@h:1/db?sslmode=verify-full&sslrootcert=/etc/ca%20x.pem"
	           "&application_name=x",
	           "psql -X -v ON_ERROR_STOP=1 -h h -p 1 -d 'dbname=db sslmode=verify-full "
	           "sslrootcert='\\''/etc/ca x.pem'\\''' " USER_ARG " -f r.sql");
	command_is("tally out/it's.sql", "host=/var/run/postgresql dbname='my db' password=s3cret user=tally",
	           "psql -X -v ON_ERROR_STOP=1 -h /var/run/postgresql -d 'my db' " USER_ARG
	           " -f 'tally out/it'\\''s.sql'");
	command_is("r.sql", "postgresql:///billing", "psql -X -v ON_ERROR_STOP=1 -d billing " USER_ARG " -f r.sql");
	command_is("r.sql", "service=nightly", "psql -X -v ON_ERROR_STOP=1 -d 'service=nightly' " USER_ARG " -f r.sql");
	command_is("r.sql", "billing", "psql -X -v ON_ERROR_STOP=1 -d billing " USER_ARG " -f r.sql");
	command_is("r.sql", "dbname=a=b port=5433", "psql -X -v ON_ERROR_STOP=1 -p 5433 -d 'dbname=a=b' " USER_ARG " -f r.sql");
	command_is("r.sql", "host=h1,h2 port=5432,5433 dbname=x",
	           "psql -X -v ON_ERROR_STOP=1 -h 'h1,h2' -p '5432,5433' -d x " USER_ARG " -f r.sql");
	command_is("r.sql", "hostaddr=10.0.0.1 dbname=x", "psql -X -v ON_ERROR_STOP=1 -h 10.0.0.1 -d x " USER_ARG " -f r.sql");
	/* Unparsable: no connection options at all rather than a guess. */
	command_is("r.sql", "host='unterminated", "psql -X -v ON_ERROR_STOP=1 " USER_ARG " -f r.sql");
	command_is("r.sql", "", "psql -X -v ON_ERROR_STOP=1 " USER_ARG " -f r.sql");

	/* Never a password, whatever the form. */
	{
		struct buf b = BUF_INIT;

		postgres_ops.script->apply_command(&b, "r.sql", "postgresql://u:hunter2@h/db?password=hunter3");
		assert_null(strstr(b.data, "hunter"));
		buf_release(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_number_int),
		cmocka_unit_test(test_number_malformed),
		cmocka_unit_test(test_number_decimal),
		cmocka_unit_test(test_number_other_columns),
		cmocka_unit_test(test_float),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_uuid_raw),
		cmocka_unit_test(test_bound_numbers),
		cmocka_unit_test(test_bound_text_times),
		cmocka_unit_test(test_script_frame),
		cmocka_unit_test(test_script_insert),
		cmocka_unit_test(test_script_update),
		cmocka_unit_test(test_script_delete),
		cmocka_unit_test(test_script_nullable_key),
		cmocka_unit_test(test_apply_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
