/*
 * tests/unit/test_canon.c
 *   canon: golden bytes of the encoding (changing one means bumping
 *   CANON_VERSION), pairs of values from PostgreSQL and MariaDB that must
 *   and must not encode equally, order preservation, and refusals.
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

#include "../../engine/base/civil.h"
#include "../../engine/canon.h"
#include "../../engine/rowhash.h"
#include "../../engine/jcanon.h"
#include "../../engine/tz.h"

/* Encodes one value (NULL: SQL NULL) and returns its bytes as hex. */
static char *enc_hex(struct canon_col c, const char *v, size_t n)
{
	static char out[8][1100];
	static int slot;
	struct buf b = BUF_INIT;
	struct tally_err err;
	char *o = out[slot++ % 8];

	if (canon_encode(&b, &c, v, n, &err) < 0) {
		snprintf(o, 1100, "ERROR: %s", err.msg);
	} else {
		o[0] = '\0';
		for (size_t i = 0; i < b.len && 2 * i + 2 < 1100; i++)
			snprintf(o + 2 * i, 3, "%02x", (unsigned char)b.data[i]);
	}
	buf_release(&b);
	return o;
}

static char *enc(enum cclass cls, enum ltype t, const char *v)
{
	return enc_hex(canon_col_make(cls, t), v, v ? strlen(v) : 0);
}

/* memcmp order of two encodings: -1, 0, 1. */
static int order(struct canon_col c, const char *a, const char *b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	struct tally_err err;
	size_t n;
	int r;

	assert_int_equal(canon_encode(&x, &c, a, a ? strlen(a) : 0, &err), 0);
	assert_int_equal(canon_encode(&y, &c, b, b ? strlen(b) : 0, &err), 0);
	n = x.len < y.len ? x.len : y.len;
	r = memcmp(x.data, y.data, n);
	if (r == 0)
		r = x.len < y.len ? -1 : x.len > y.len;
	buf_release(&x);
	buf_release(&y);
	return r < 0 ? -1 : r > 0;
}

static void assert_increasing(struct canon_col c, const char *const *vals, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (order(c, vals[i], vals[i + 1]) != -1)
			fail_msg("expected '%s' < '%s'", vals[i] ? vals[i] : "NULL", vals[i + 1]);
	}
}

static void test_golden_bytes(void **state)
{
	(void)state;
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, NULL), "01");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "1.5"), "1280000001313500");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "-1.5"), "107ffffffececaff");
	assert_string_equal(enc(CC_NUMBER, LT_INT, "0"), "11");
	assert_string_equal(enc(CC_NUMBER, LT_INT, "100"), "12800000033100");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "0.0015"), "127ffffffe313500");
	assert_string_equal(enc(CC_FLOAT64, LT_FLOAT, "1"), "20bff0000000000000");
	assert_string_equal(enc(CC_FLOAT64, LT_FLOAT, "-1"), "20400fffffffffffff");
	assert_string_equal(enc(CC_BOOL, LT_BOOL, "t"), "31");
	assert_string_equal(enc(CC_BOOL, LT_BOOL, "f"), "30");
	assert_string_equal(enc(CC_TEXT, LT_TEXT, "ab"), "4061620001");
	assert_string_equal(enc(CC_TEXT, LT_TEXT, ""), "400001");
	assert_string_equal(enc_hex(canon_col_make(CC_BYTES, LT_BYTES), "a\0b", 3), "416100ff620001");
	assert_string_equal(enc(CC_DATE, LT_DATE, "2000-01-01"), "508000000000000000");
	assert_string_equal(enc(CC_DATE, LT_DATE, "2000-01-02"), "508000000000000001");
	assert_string_equal(enc(CC_DATE, LT_DATE, "infinity"), "51");
	assert_string_equal(enc(CC_TIME, LT_TIME, "00:00:01"), "5880000000000f4240");
	assert_string_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "2000-01-01 00:00:00.000001"),
	                    "608000000000000001");
	assert_string_equal(enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2000-01-01 00:00:00+00"),
	                    "688000000000000000");
	assert_string_equal(enc(CC_UUID, LT_UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
	                    "70a0eebc999c0b4ef8bb6d6bb9bd380a11");
	assert_int_equal(CANON_VERSION, 1);
}

static void test_numbers_by_value(void **state)
{
	(void)state;
	/* PostgreSQL numeric(12,2) and MariaDB decimal(12,4) print differently. */
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "1.50"), enc(CC_NUMBER, LT_DECIMAL, "1.5"));
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "1.5000"), enc(CC_NUMBER, LT_DECIMAL, "001.5"));
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "100.00"), enc(CC_NUMBER, LT_INT, "100"));
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "-0.00"), enc(CC_NUMBER, LT_INT, "0"));
	assert_string_equal(enc(CC_NUMBER, LT_INT, "-0"), enc(CC_NUMBER, LT_INT, "0"));
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "1e2"), enc(CC_NUMBER, LT_INT, "100"));
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, ".5"), enc(CC_NUMBER, LT_DECIMAL, "0.5"));
	assert_string_not_equal(enc(CC_NUMBER, LT_DECIMAL, "1.5"), enc(CC_NUMBER, LT_DECIMAL, "1.05"));
	assert_string_not_equal(enc(CC_NUMBER, LT_DECIMAL, "15"), enc(CC_NUMBER, LT_DECIMAL, "1.5"));
	assert_string_not_equal(enc(CC_NUMBER, LT_INT, "-1"), enc(CC_NUMBER, LT_INT, "1"));
	assert_string_equal(enc(CC_NUMBER, LT_INT, "18446744073709551615"),
	                    enc(CC_NUMBER, LT_DECIMAL, "18446744073709551615.000"));
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "NaN"), "14");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "Infinity"), "13");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "-Infinity"), "0f");
	assert_string_equal(enc(CC_NUMBER, LT_INT, "1.5"), "ERROR: not a valid number");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "1.5.2"), "ERROR: not a valid number");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, ""), "ERROR: not a valid number");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "-"), "ERROR: not a valid number");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "1e"), "ERROR: not a valid number");
}

static void test_number_order(void **state)
{
	static const char *const v[] = {
		NULL, "-Infinity", "-18446744073709551615", "-10", "-9.5", "-1.01", "-1", "-0.5",
		"-0.05", "0", "0.001", "0.0011", "0.5", "1", "1.01", "9.99", "10", "11", "100",
		"9223372036854775807", "18446744073709551615", "Infinity", "NaN",
	};

	(void)state;
	assert_increasing(canon_col_make(CC_NUMBER, LT_DECIMAL), v, sizeof(v) / sizeof(v[0]));
}

static void test_number_scale(void **state)
{
	struct canon_col c = canon_col_make(CC_NUMBER, LT_DECIMAL);

	(void)state;
	c.scale = 2;
	assert_string_equal(enc_hex(c, "2.345", 5), enc(CC_NUMBER, LT_DECIMAL, "2.35"));
	assert_string_equal(enc_hex(c, "-2.345", 6), enc(CC_NUMBER, LT_DECIMAL, "-2.35"));
	assert_string_equal(enc_hex(c, "2.344", 5), enc(CC_NUMBER, LT_DECIMAL, "2.34"));
	assert_string_equal(enc_hex(c, "0.004", 5), enc(CC_NUMBER, LT_DECIMAL, "0"));
	assert_string_equal(enc_hex(c, "0.005", 5), enc(CC_NUMBER, LT_DECIMAL, "0.01"));
	assert_string_equal(enc_hex(c, "9.995", 5), enc(CC_NUMBER, LT_DECIMAL, "10"));
	assert_string_equal(enc_hex(c, "0.0001", 6), enc(CC_NUMBER, LT_DECIMAL, "0"));
	assert_string_equal(enc_hex(c, "123", 3), enc(CC_NUMBER, LT_DECIMAL, "123"));
	c.type = LT_INT;
	c.scale = 0;
	assert_string_equal(enc_hex(c, "7", 1), enc(CC_NUMBER, LT_INT, "7"));
}

static void test_floats(void **state)
{
	(void)state;
	assert_string_equal(enc(CC_FLOAT64, LT_FLOAT, "0.1"),
	                    enc(CC_FLOAT64, LT_FLOAT, "0.1000000000000000055511151231257827"));
	assert_string_equal(enc(CC_FLOAT64, LT_FLOAT, "-0"), enc(CC_FLOAT64, LT_FLOAT, "0"));
	assert_string_equal(enc(CC_FLOAT64, LT_FLOAT, "NaN"), enc(CC_FLOAT64, LT_FLOAT, "nan"));
	assert_string_equal(enc(CC_FLOAT64, LT_FLOAT, "Infinity"), enc(CC_FLOAT64, LT_FLOAT, "inf"));
	assert_string_equal(enc(CC_FLOAT64, LT_FLOAT, "1e-05"), enc(CC_FLOAT64, LT_FLOAT, "0.00001"));
	assert_string_not_equal(enc(CC_FLOAT64, LT_FLOAT, "0.1"), enc(CC_FLOAT64, LT_FLOAT, "0.10000000000000002"));
	/* A float4 printed shortest by PostgreSQL and as a double by a query. */
	assert_string_equal(enc(CC_FLOAT32, LT_FLOAT, "0.1"), enc(CC_FLOAT32, LT_FLOAT, "0.100000001490116"));
	assert_string_not_equal(enc(CC_FLOAT64, LT_FLOAT, "0.1"), enc(CC_FLOAT64, LT_FLOAT, "0.100000001490116"));
	/* A double beyond single precision's range is not infinity, by either parsing path. */
	assert_string_not_equal(enc(CC_FLOAT32, LT_FLOAT, "3.4e39"), enc(CC_FLOAT32, LT_FLOAT, "Infinity"));
	assert_string_not_equal(enc(CC_FLOAT32, LT_FLOAT, "1234567890123456789e27"),
	                        enc(CC_FLOAT32, LT_FLOAT, "Infinity"));
	assert_string_equal(enc(CC_FLOAT32, LT_FLOAT, "-inf"), enc(CC_FLOAT32, LT_FLOAT, "-Infinity"));
	{
		static const char *const v[] = { "-Infinity", "-3.4e39", "-3.4e38", "0", "3.4e38", "3.4e39",
		                                 "Infinity", "NaN" };
		assert_increasing(canon_col_make(CC_FLOAT32, LT_FLOAT), v, sizeof(v) / sizeof(v[0]));
	}
	assert_string_equal(enc(CC_FLOAT64, LT_FLOAT, "abc"), "ERROR: not a valid floating-point number");
	assert_string_equal(enc(CC_FLOAT64, LT_FLOAT, "1.5x"), "ERROR: not a valid floating-point number");
	{
		static const char *const v[] = { "-Infinity", "-1e300", "-1", "-1e-300", "0", "1e-300",
		                                 "0.5", "1", "2", "1e300", "Infinity", "NaN" };
		assert_increasing(canon_col_make(CC_FLOAT64, LT_FLOAT), v, sizeof(v) / sizeof(v[0]));
	}
}

static void test_booleans(void **state)
{
	(void)state;
	/* PostgreSQL boolean against MariaDB tinyint(1). */
	assert_string_equal(enc(CC_BOOL, LT_BOOL, "t"), enc(CC_BOOL, LT_INT, "1"));
	assert_string_equal(enc(CC_BOOL, LT_BOOL, "f"), enc(CC_BOOL, LT_INT, "0"));
	assert_string_equal(enc(CC_BOOL, LT_BOOL, "true"), enc(CC_BOOL, LT_BOOL, "t"));
	assert_string_not_equal(enc(CC_BOOL, LT_BOOL, "t"), enc(CC_BOOL, LT_BOOL, "f"));
	/* tinyint(1) holding 2 equals neither boolean. */
	assert_string_not_equal(enc(CC_BOOL, LT_INT, "2"), enc(CC_BOOL, LT_BOOL, "t"));
	assert_string_not_equal(enc(CC_BOOL, LT_INT, "2"), enc(CC_BOOL, LT_BOOL, "f"));
	assert_string_equal(enc(CC_BOOL, LT_INT, "2"), enc(CC_NUMBER, LT_INT, "2"));
	assert_string_equal(enc(CC_BOOL, LT_BOOL, "yes"), "ERROR: not a valid boolean");
}

static void test_text(void **state)
{
	struct canon_col pad = canon_col_make(CC_TEXT, LT_CHAR);
	struct canon_col trim = canon_col_make(CC_TEXT, LT_TEXT);

	(void)state;
	pad.pad_trim = true;
	/* Case and trailing spaces count; NULL is never ''. */
	assert_string_not_equal(enc(CC_TEXT, LT_TEXT, "a"), enc(CC_TEXT, LT_TEXT, "a "));
	assert_string_not_equal(enc(CC_TEXT, LT_TEXT, "a"), enc(CC_TEXT, LT_TEXT, "A"));
	assert_string_not_equal(enc(CC_TEXT, LT_TEXT, ""), enc(CC_TEXT, LT_TEXT, NULL));
	/* char(5) pads in PostgreSQL and strips in MariaDB. */
	assert_string_equal(enc_hex(pad, "ab   ", 5), enc_hex(pad, "ab", 2));
	assert_string_equal(enc_hex(pad, "ab   ", 5), enc(CC_TEXT, LT_TEXT, "ab"));
	assert_string_not_equal(enc_hex(pad, " ab", 3), enc(CC_TEXT, LT_TEXT, "ab"));
	trim.trim = CANON_TRIM_BOTH;
	assert_string_equal(enc_hex(trim, "  ab  ", 6), enc(CC_TEXT, LT_TEXT, "ab"));
	trim.trim = CANON_TRIM_RIGHT;
	assert_string_equal(enc_hex(trim, "ab  ", 4), enc(CC_TEXT, LT_TEXT, "ab"));
	assert_string_not_equal(enc_hex(trim, "  ab", 4), enc(CC_TEXT, LT_TEXT, "ab"));
	/* A NUL byte does not end the value. */
	assert_string_not_equal(enc_hex(canon_col_make(CC_BYTES, LT_BYTES), "a\0", 2),
	                        enc_hex(canon_col_make(CC_BYTES, LT_BYTES), "a", 1));
	{
		/* Bytewise: upper case before lower, ASCII before UTF-8 multibyte. */
		static const char *const v[] = { NULL, "", "Zebra", "a", "a\t", "a ", "apple",
		                                 "\xc3\x84pfel", "\xc3\x9f", "\xc3\xa9" "clair" };
		assert_increasing(canon_col_make(CC_TEXT, LT_TEXT), v, sizeof(v) / sizeof(v[0]));
	}
	{
		struct canon_col b = canon_col_make(CC_BYTES, LT_BYTES);

		assert_int_equal(order(b, "a", "ab"), -1);
		/* "a\0" sorts after "a" and before "a\1" */
		struct buf x = BUF_INIT, y = BUF_INIT, z = BUF_INIT;
		struct tally_err err;
		canon_encode(&x, &b, "a", 1, &err);
		canon_encode(&y, &b, "a\0", 2, &err);
		canon_encode(&z, &b, "a\1", 2, &err);
		assert_true(memcmp(x.data, y.data, x.len < y.len ? x.len : y.len) < 0);
		assert_true(memcmp(y.data, z.data, y.len < z.len ? y.len : z.len) < 0);
		buf_release(&x);
		buf_release(&y);
		buf_release(&z);
	}
}

static void test_dates(void **state)
{
	int64_t y;
	unsigned m, d;

	(void)state;
	assert_int_equal(civil_to_days(2000, 1, 1), 0);
	assert_int_equal(civil_to_days(1970, 1, 1), -10957);
	assert_int_equal(civil_to_days(2024, 2, 29), 8825);
	for (int64_t z = -800000; z < 800000; z += 97) {
		civil_from_days(z, &y, &m, &d);
		assert_int_equal(civil_to_days(y, m, d), z);
	}
	assert_string_equal(enc(CC_DATE, LT_DATE, "2024-02-30"), "ERROR: not a valid date (expected YYYY-MM-DD)");
	assert_string_equal(enc(CC_DATE, LT_DATE, "2023-02-29"), "ERROR: not a valid date (expected YYYY-MM-DD)");
	assert_string_equal(enc(CC_DATE, LT_DATE, "2024-1-2"), "ERROR: not a valid date (expected YYYY-MM-DD)");
	assert_string_equal(enc(CC_DATE, LT_DATE, "0000-00-00"), "4e8000000000000000");
	assert_string_not_equal(enc(CC_DATE, LT_DATE, "2024-00-00"), enc(CC_DATE, LT_DATE, "0000-00-00"));
	/* 1 BC is year 0: the day before 0001-01-01. */
	assert_int_equal(order(canon_col_make(CC_DATE, LT_DATE), "0001-12-31 BC", "0001-01-01"), -1);
	{
		static const char *const v[] = { NULL, "0000-00-00", "-infinity", "4713-01-01 BC",
		                                 "0001-12-31 BC", "0001-01-01", "1969-12-31", "2000-01-01",
		                                 "2024-02-29", "9999-12-31", "10000-01-01", "infinity" };
		assert_increasing(canon_col_make(CC_DATE, LT_DATE), v, sizeof(v) / sizeof(v[0]));
	}
}

/* A date compared with a timestamp reads as the timestamp of its midnight (issue 11). */
static void test_date_as_timestamp(void **state)
{
	(void)state;
	assert_string_equal(enc(CC_TIMESTAMP, LT_DATE, "2024-01-02"), enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 00:00:00"));
	assert_string_equal(enc(CC_TIMESTAMP, LT_DATE, "2024-01-02"), "608002b0e9f2c0a000");
	assert_string_not_equal(enc(CC_TIMESTAMP, LT_DATE, "2024-01-02"),
	                        enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 00:00:00.000001"));
	assert_string_equal(enc(CC_TIMESTAMP, LT_DATE, "0000-00-00"), enc(CC_TIMESTAMP, LT_TIMESTAMP, "0000-00-00 00:00:00"));
	assert_string_equal(enc(CC_TIMESTAMP, LT_DATE, "infinity"), enc(CC_TIMESTAMP, LT_TIMESTAMP, "infinity"));
	assert_string_equal(enc(CC_TIMESTAMP, LT_DATE, "0044-03-15 BC"),
	                    enc(CC_TIMESTAMP, LT_TIMESTAMP, "0044-03-15 00:00:00 BC"));
	/* A timestamp column still needs its clock. */
	assert_string_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02"),
	                    "ERROR: not a valid timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff])");
	assert_string_equal(enc(CC_TIMESTAMP, LT_DATE, "2024-01-02 x"),
	                    "ERROR: not a valid timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff])");
}

static void test_times(void **state)
{
	struct canon_col p0 = canon_col_make(CC_TIME, LT_TIME);

	(void)state;
	assert_string_equal(enc(CC_TIME, LT_TIME, "12:00:00"), enc(CC_TIME, LT_TIME, "12:00:00.000000"));
	assert_string_equal(enc(CC_TIME, LT_TIME, "12:00:00.5"), enc(CC_TIME, LT_TIME, "12:00:00.500000"));
	assert_string_not_equal(enc(CC_TIME, LT_TIME, "12:00:00.000001"), enc(CC_TIME, LT_TIME, "12:00:00"));
	assert_string_equal(enc(CC_TIME, LT_TIME, "838:59:59"), "58800002bf3dcf39c0");
	assert_int_equal(order(p0, "-838:59:59", "00:00:00"), -1);
	assert_string_equal(enc(CC_TIME, LT_TIME, "12:60:00"), "ERROR: not a valid time (expected HH:MM:SS[.ffffff])");
	assert_string_equal(enc(CC_TIME, LT_TIME, "12:00:00.1234567"),
	                    "ERROR: not a valid time (expected HH:MM:SS[.ffffff])");
	p0.precision = 0;
	assert_string_equal(enc_hex(p0, "12:00:00.999999", 15), enc(CC_TIME, LT_TIME, "12:00:00"));
}

static void test_timestamps(void **state)
{
	struct canon_col ts = canon_col_make(CC_TIMESTAMP, LT_TIMESTAMP);
	struct canon_col tz = canon_col_make(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ);

	(void)state;
	/* PostgreSQL trims the fraction; MariaDB datetime(6) pads it. */
	assert_string_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 03:04:05.5"),
	                    enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 03:04:05.500000"));
	assert_string_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 03:04:05"),
	                    enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02T03:04:05.000000"));
	assert_string_not_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 03:04:05.000001"),
	                        enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 03:04:05"));
	/* PostgreSQL timestamptz in UTC against MariaDB TIMESTAMP in +00:00. */
	assert_string_equal(enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-01-02 03:04:05.123+00"),
	                    enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-01-02 03:04:05.123000"));
	assert_string_equal(enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-01-02 05:34:05+02:30"),
	                    enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-01-02 03:04:05+00"));
	assert_string_equal(enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-01-01 23:04:05-04"),
	                    enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-01-02 03:04:05Z"));
	/* A naive timestamp carrying an offset is not what the connector promised. */
	assert_string_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 03:04:05+00"),
	                    "ERROR: not a valid timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff])");
	assert_string_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02"),
	                    "ERROR: not a valid timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff])");
	assert_string_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "0000-00-00 00:00:00"), "5e8000000000000000");
	ts.precision = 0;
	assert_string_equal(enc_hex(ts, "1999-12-31 23:59:59.999999", 26),
	                    enc(CC_TIMESTAMP, LT_TIMESTAMP, "1999-12-31 23:59:59"));
	assert_string_equal(enc_hex(ts, "2024-01-02 03:04:05.999", 23),
	                    enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 03:04:05"));
	ts.precision = 3;
	assert_string_equal(enc_hex(ts, "2024-01-02 03:04:05.123999", 26),
	                    enc(CC_TIMESTAMP, LT_TIMESTAMP, "2024-01-02 03:04:05.123"));
	{
		static const char *const v[] = { NULL, "-infinity", "4713-01-01 00:00:00 BC",
		                                 "1969-12-31 23:59:59.999999", "1970-01-01 00:00:00",
		                                 "2024-01-02 03:04:05", "2024-01-02 03:04:05.000001",
		                                 "294276-12-31 23:59:59.999999", "infinity" };
		assert_increasing(canon_col_make(CC_TIMESTAMP, LT_TIMESTAMP), v, sizeof(v) / sizeof(v[0]));
	}
	assert_int_equal(order(tz, "2024-01-02 03:00:00+01", "2024-01-02 02:30:00+00"), -1);
}

static void test_uuid(void **state)
{
	(void)state;
	assert_string_equal(enc(CC_UUID, LT_UUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
	                    enc(CC_UUID, LT_UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
	assert_string_equal(enc(CC_UUID, LT_UUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11"),
	                    enc(CC_UUID, LT_UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
	assert_string_equal(enc(CC_UUID, LT_UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"), "ERROR: not a valid uuid");
	assert_string_equal(enc(CC_UUID, LT_UUID, "a0eebc99x9c0b-4ef8-bb6d-6bb9bd380a11"), "ERROR: not a valid uuid");
	assert_string_equal(enc(CC_UUID, LT_UUID, "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "ERROR: not a valid uuid");
}

static void test_error_leaves_buffer(void **state)
{
	struct canon_col c = canon_col_make(CC_DATE, LT_DATE);
	struct buf b = BUF_INIT;
	struct tally_err err;

	(void)state;
	buf_add(&b, "xyz", 3);
	assert_int_equal(canon_encode(&b, &c, "2024-13-01", 10, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "xyz", 4);
	buf_release(&b);
}

static void test_rowhash(void **state)
{
	struct rowhash a, b, c;
	struct chunkhash x, y;

	(void)state;
	rowhash_of("abc", 3, &a);
	rowhash_of("abd", 3, &b);
	rowhash_of("abc", 3, &c);
	assert_memory_equal(a.b, c.b, 16);
	assert_memory_not_equal(a.b, b.b, 16);
	/* XXH3-128 of "abc", big-endian: pins the hash and its byte order. */
	{
		char hex[33];
		for (int i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", a.b[i]);
		assert_string_equal(hex, "06b05ab6733a618578af5f94892f3950");
	}
	/* Order does not matter; a duplicated row is not cancelled. */
	chunkhash_init(&x);
	chunkhash_init(&y);
	chunkhash_add(&x, &a);
	chunkhash_add(&x, &b);
	chunkhash_add(&y, &b);
	chunkhash_add(&y, &a);
	assert_true(chunkhash_equal(&x, &y));
	chunkhash_add(&x, &a);
	chunkhash_add(&x, &a);
	assert_false(chunkhash_equal(&x, &y));
	chunkhash_init(&x);
	chunkhash_add(&x, &a);
	chunkhash_add(&x, &a);
	chunkhash_init(&y);
	assert_false(chunkhash_equal(&x, &y));
	assert_int_equal(x.rows, 2);
}

/* Encodes then decodes one value. */
static struct sqlval dec(enum cclass cls, enum ltype t, const char *v, size_t n, struct buf *scratch)
{
	struct canon_col c = canon_col_make(cls, t);
	struct buf b = BUF_INIT;
	struct tally_err err;
	struct sqlval out;

	assert_int_equal(canon_encode(&b, &c, v, n, &err), 0);
	assert_int_equal(canon_decode((const uint8_t *)b.data, b.len, &out, scratch), b.len);
	buf_release(&b);
	return out;
}

static void assert_number(const char *in, const char *want)
{
	struct buf scratch = BUF_INIT;
	struct sqlval v = dec(CC_NUMBER, LT_DECIMAL, in, strlen(in), &scratch);

	assert_int_equal(v.kind, SV_NUMBER);
	assert_int_equal(v.special, SVS_NONE);
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(v.s, want, v.len);
	buf_release(&scratch);
}

static void test_decode(void **state)
{
	struct buf scratch = BUF_INIT;
	struct sqlval v;
	struct buf iso = BUF_INIT;

	(void)state;
	assert_number("1.50", "1.5");
	assert_number("-12.500", "-12.5");
	assert_number("100", "100");
	assert_number("0.0015", "0.0015");
	assert_number("-0.0015", "-0.0015");
	assert_number("0", "0");
	assert_number("10", "10");
	assert_number("18446744073709551615", "18446744073709551615");
	assert_number("1e3", "1000");
	assert_number("123.456", "123.456");
	v = dec(CC_NUMBER, LT_DECIMAL, "NaN", 3, &scratch);
	assert_int_equal(v.special, SVS_NAN);
	v = dec(CC_NUMBER, LT_DECIMAL, "-Infinity", 9, &scratch);
	assert_int_equal(v.special, SVS_NINF);

	v = dec(CC_FLOAT64, LT_FLOAT, "0.30000000000000004", 19, &scratch);
	assert_int_equal(v.kind, SV_FLOAT);
	assert_true(v.d == 0.1 + 0.2);
	v = dec(CC_FLOAT64, LT_FLOAT, "-1e300", 6, &scratch);
	assert_true(v.d == -1e300);
	v = dec(CC_FLOAT32, LT_FLOAT, "0.1", 3, &scratch);
	assert_true(v.d == (double)0.1f);

	v = dec(CC_BOOL, LT_BOOL, "t", 1, &scratch);
	assert_int_equal(v.kind, SV_BOOL);
	assert_true(v.b);

	v = dec(CC_TEXT, LT_TEXT, "it's\0", 6, &scratch);
	assert_int_equal(v.kind, SV_TEXT);
	assert_int_equal(v.len, 6);
	assert_memory_equal(v.s, "it's\0", 6);
	v = dec(CC_BYTES, LT_BYTES, "a\0\xff", 3, &scratch);
	assert_int_equal(v.kind, SV_BYTES);
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.s, "a\0\xff", 3);

	v = dec(CC_UUID, LT_UUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", 36, &scratch);
	assert_int_equal(v.kind, SV_UUID);
	assert_memory_equal(v.s, "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11", 16);

	/* Dates and times come back to the same ISO text. */
	v = dec(CC_DATE, LT_DATE, "2024-02-29", 10, &scratch);
	sqlval_iso(&iso, &v, 0);
	assert_string_equal(iso.data, "2024-02-29");
	buf_reset(&iso);
	v = dec(CC_DATE, LT_DATE, "0044-03-15 BC", 13, &scratch);
	sqlval_iso(&iso, &v, 0);
	assert_string_equal(iso.data, "0044-03-15 BC");
	assert_int_equal(sqlval_year(&v), -43);
	/* Every int64 of days is a date, without overflow (a snapshot may hold any). */
	v = (struct sqlval){ .kind = SV_DATE, .i = INT64_MAX };
	buf_reset(&iso);
	sqlval_iso(&iso, &v, 0);
	assert_string_equal(iso.data, "25252734927768554-07-27");
	assert_true(sqlval_year(&v) == INT64_C(25252734927768554));
	v.i = INT64_MIN;
	buf_reset(&iso);
	sqlval_iso(&iso, &v, 0);
	assert_string_equal(iso.data, "25252734927764556-06-06 BC");
	assert_true(sqlval_year(&v) == INT64_C(-25252734927764555));
	v = (struct sqlval){ .kind = SV_TIMESTAMP, .i = INT64_MIN };
	buf_reset(&iso);
	sqlval_iso(&iso, &v, 6);
	assert_string_equal(iso.data, "290279-12-22 19:59:05.224192 BC");
	buf_reset(&iso);
	v = dec(CC_TIMESTAMP, LT_TIMESTAMP, "1969-12-31 23:59:59.5", 21, &scratch);
	sqlval_iso(&iso, &v, 6);
	assert_string_equal(iso.data, "1969-12-31 23:59:59.500000");
	buf_reset(&iso);
	v = dec(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-01-02 05:04:05.25+02", 25, &scratch);
	assert_int_equal(v.kind, SV_TIMESTAMPTZ);
	sqlval_iso(&iso, &v, 2);
	assert_string_equal(iso.data, "2024-01-02 03:04:05.25");
	buf_reset(&iso);
	v = dec(CC_TIME, LT_TIME, "-838:59:59.5", 12, &scratch);
	sqlval_iso(&iso, &v, 1);
	assert_string_equal(iso.data, "-838:59:59.5");
	buf_reset(&iso);
	v = dec(CC_TIMESTAMP, LT_TIMESTAMP, "0000-00-00 00:00:00", 19, &scratch);
	assert_int_equal(v.special, SVS_ZERO);
	assert_int_equal(v.i, 0);
	v = dec(CC_DATE, LT_DATE, "2024-00-00", 10, &scratch);
	assert_int_equal(v.special, SVS_ZERO);
	assert_int_equal(v.i, 20240000);
	v = dec(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "infinity", 8, &scratch);
	assert_int_equal(v.special, SVS_PINF);
	v = dec(CC_NUMBER, LT_INT, NULL, 0, &scratch);
	assert_int_equal(v.kind, SV_NULL);

	/* Garbage is refused. */
	assert_int_equal(canon_decode((const uint8_t *)"\x12\x80", 2, &v, &scratch), 0);
	/* A number whose exponent no encoder writes: its plain digits would take gigabytes. */
	assert_int_equal(canon_decode((const uint8_t *)"\x12\xff\xff\xff\xff" "1\x00", 7, &v, &scratch), 0);
	assert_int_equal(canon_decode((const uint8_t *)"\x12\x00\x00\x00\x00" "1\x00", 7, &v, &scratch), 0);
	assert_int_equal(canon_decode((const uint8_t *)"\x40" "ab", 3, &v, &scratch), 0);
	assert_int_equal(canon_decode((const uint8_t *)"\x99", 1, &v, &scratch), 0);
	buf_release(&scratch);
	buf_release(&iso);
}

/*
 * The canonical float bytes of what strtod/strtof make of text; a finite
 * value that overflows single precision keeps its double.
 */
static void expected_float(char out[19], const char *text, bool single)
{
	double d = single ? (double)strtof(text, NULL) : strtod(text, NULL);
	uint64_t bits;

	if (single && isinf(d))
		d = strtod(text, NULL);

	if (d == 0)
		d = 0.0;
	memcpy(&bits, &d, 8);
	bits = bits >> 63 ? ~bits : bits ^ (UINT64_C(1) << 63);
	snprintf(out, 19, "20%016llx", (unsigned long long)bits);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void check_float_text(const char *text)
{
	char want[19];

	expected_float(want, text, false);
	if (strcmp(enc(CC_FLOAT64, LT_FLOAT, text), want) != 0)
		fail_msg("float64 '%s': got %s, want %s", text, enc(CC_FLOAT64, LT_FLOAT, text), want);
	expected_float(want, text, true);
	if (strcmp(enc(CC_FLOAT32, LT_FLOAT, text), want) != 0)
		fail_msg("float32 '%s': got %s, want %s", text, enc(CC_FLOAT32, LT_FLOAT, text), want);
}

/* The fast path must agree with strtod bit for bit, ties and edges included. */
static void test_float_parsing_matches_strtod(void **state)
{
	static const char *const fixed[] = {
		"9007199254740993", "9007199254740992", "9007199254740995", "18014398509481985",
		"0.1", "0.3", "0.30000000000000004", "1e23", "8.98846567431158e307", "1e-27", "1e27",
		"123456789012345678", "1234567890123456789", "12345678901234567890", "0.000001",
		"2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308", "-0.0", "00000.5",
		"3.4028235e38", "1.17549435e-38", "16777217", "0.1e1", "1.5E-3", "-2.5e+2",
	};
	char text[64];

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_float_text(fixed[i]);
	for (int i = 0; i < 200000; i++) {
		uint64_t bits = next_rand();
		double d;
		int prec = 1 + (int)(next_rand() % 17);

		memcpy(&d, &bits, 8);
		if (isnan(d) || isinf(d))
			continue;
		/* Shortest-ish, full and truncated forms, as engines print them. */
		snprintf(text, sizeof(text), "%.*g", prec, d);
		check_float_text(text);
		snprintf(text, sizeof(text), "%.17g", d / 1e280);
		check_float_text(text);
		snprintf(text, sizeof(text), "%llu.%llu", (unsigned long long)(next_rand() % 100000000000ULL),
		         (unsigned long long)(next_rand() % 100000000ULL));
		check_float_text(text);
	}
}

/* Decodes the encoding of v (as c reads it) back to the text a literal would carry. */
static const char *round_text(struct canon_col c, const char *v, size_t n)
{
	static char out[4][512];
	static int slot;
	struct buf b = BUF_INIT, scratch = BUF_INIT;
	struct tally_err err;
	struct sqlval sv;
	char *o = out[slot++ % 4];

	assert_int_equal(canon_encode(&b, &c, v, n, &err), 0);
	assert_int_equal(canon_decode((const uint8_t *)b.data, b.len, &sv, &scratch), b.len);
	snprintf(o, 512, "%.*s", (int)sv.len, sv.s ? sv.s : "");
	buf_release(&b);
	buf_release(&scratch);
	return o;
}

static void test_inet(void **state)
{
	struct canon_col c = canon_col_make(CC_INET, LT_INET);

	(void)state;
	/* One address, however it is printed. */
	assert_string_equal(enc(CC_INET, LT_INET, "2001:db8::1"), enc(CC_INET, LT_TEXT, "2001:DB8:0:0:0:0:0:1"));
	assert_string_equal(enc(CC_INET, LT_INET, "10.0.0.1"), enc(CC_INET, LT_INET, "10.0.0.1/32"));
	assert_string_equal(enc(CC_INET, LT_INET, "::1.2.3.4"), enc(CC_INET, LT_INET, "::102:304"));
	/* A prefix counts; an IPv4-mapped address is not the IPv4 address. */
	assert_string_not_equal(enc(CC_INET, LT_INET, "10.0.0.0/8"), enc(CC_INET, LT_INET, "10.0.0.0/16"));
	assert_string_not_equal(enc(CC_INET, LT_INET, "::ffff:1.2.3.4"), enc(CC_INET, LT_INET, "1.2.3.4"));
	assert_string_equal(enc(CC_INET, LT_INET, "192.168.0.1/24"), "7404c0a8000118");
	/* Not addresses. */
	assert_string_equal(enc(CC_INET, LT_TEXT, "10.0.0.256"),
	                    "ERROR: not a valid IP address (expected a.b.c.d[/n] or an IPv6 address[/n])");
	assert_true(strncmp(enc(CC_INET, LT_TEXT, "1::2::3"), "ERROR", 5) == 0);
	assert_true(strncmp(enc(CC_INET, LT_TEXT, "10.0.0.1/33"), "ERROR", 5) == 0);
	assert_true(strncmp(enc(CC_INET, LT_TEXT, "010.0.0.1"), "ERROR", 5) == 0);
	assert_true(strncmp(enc(CC_INET, LT_TEXT, "1:2:3:4:5:6:7:8:9"), "ERROR", 5) == 0);
	/* Back to text for a literal: the standard spellings. */
	assert_string_equal(round_text(c, "2001:DB8:0:0:1:0:0:1", 20), "2001:db8::1:0:0:1");
	assert_string_equal(round_text(c, "::ffff:10.0.0.1", 15), "::ffff:10.0.0.1");
	assert_string_equal(round_text(c, "10.0.0.0/8", 10), "10.0.0.0/8");
	assert_string_equal(round_text(c, "0:0:0:0:0:0:0:0", 15), "::");
}

static void test_bits(void **state)
{
	struct canon_col raw = canon_col_make(CC_BITS, LT_BIT), txt = canon_col_make(CC_BITS, LT_BIT);

	(void)state;
	raw.raw_bits = true;
	raw.bits = 5;
	/* MariaDB sends BIT(5) b'00101' as one byte 0x05; PostgreSQL prints 00101. */
	assert_string_equal(enc_hex(raw, "\x05", 1), enc_hex(txt, "00101", 5));
	assert_string_equal(enc_hex(txt, "00101", 5), "7a0000000528");
	assert_string_not_equal(enc_hex(txt, "101", 3), enc_hex(txt, "00101", 5));
	/* A set bit above the width, or text that is not bits, is refused. */
	assert_string_equal(enc_hex(raw, "\x25", 1), "ERROR: not a valid bit string");
	assert_string_equal(enc_hex(txt, "012", 3), "ERROR: not a valid bit string");
	assert_string_equal(round_text(raw, "\x05", 1), "00101");
	/* BIT(1) as a boolean. */
	raw = canon_col_make(CC_BOOL, LT_BIT);
	raw.raw_bits = true;
	raw.bits = 1;
	assert_string_equal(enc_hex(raw, "\x01", 1), enc(CC_BOOL, LT_BOOL, "t"));
	assert_string_equal(enc_hex(raw, "\x00", 1), enc(CC_BOOL, LT_BOOL, "f"));
	assert_string_equal(enc_hex(raw, "\x02", 1), "ERROR: not a valid boolean");
}

static void test_uuid_forms(void **state)
{
	struct canon_col bytes = canon_col_make(CC_UUID, LT_BYTES);

	(void)state;
	assert_string_equal(enc_hex(bytes, "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11", 16),
	                    enc(CC_UUID, LT_CHAR, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"));
	assert_string_equal(enc_hex(bytes, "abc", 3), "ERROR: not a valid uuid");
}

static void test_json_class(void **state)
{
	struct canon_col c = canon_col_make(CC_JSON, LT_JSON), arr = canon_col_make(CC_JSON, LT_ARRAY);
	struct buf b = BUF_INIT;
	struct tally_err err;

	(void)state;
	assert_string_equal(enc(CC_JSON, LT_JSON, "{\"b\": [1, 2.0], \"a\": \"\\u00e9\"}"),
	                    enc(CC_JSON, LT_TEXT, "{\"a\":\"\xc3\xa9\",\"b\":[1.0,2]}"));
	assert_string_not_equal(enc(CC_JSON, LT_JSON, "[1,2]"), enc(CC_JSON, LT_JSON, "[2,1]"));
	arr.arr_elem = PGARRAY_NUMBER;
	assert_string_equal(enc_hex(arr, "{1,2.50}", 8), enc(CC_JSON, LT_JSON, "[1, 2.5]"));
	/* A repair writes numbers as people write them. */
	const char *doc = "{\"b\": 1.50, \"a\": [100, 0.0015, 1e30, -2, 0, \"1e0\"]}";

	assert_string_equal(round_text(c, doc, strlen(doc)),
	                    "{\"a\":[100,0.0015,1e30,-2,0,\"1e0\"],\"b\":1.5}");
	/* The parser's message says where, not what. */
	assert_int_equal(canon_encode(&b, &c, "{\"k\": tru}", 10, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	assert_non_null(strstr(err.msg, "byte 6"));
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_case_and_zero_dates(void **state)
{
	struct canon_col c = canon_col_make(CC_TEXT, LT_TEXT), d = canon_col_make(CC_DATE, LT_DATE),
	                 ts = canon_col_make(CC_TIMESTAMP, LT_TIMESTAMP);
	struct tally_err err;

	(void)state;
	assert_int_equal(canon_case_ready(&err), 0);
	c.fold_case = true;
	assert_string_equal(enc_hex(c, "\xc3\x84" "BC \xc3\x89T\xc3\x89", 10), enc_hex(c, "\xc3\xa4" "bc \xc3\xa9t\xc3\xa9", 10));
	assert_string_equal(enc_hex(c, "ABC", 3), enc(CC_TEXT, LT_TEXT, "abc"));
	assert_string_not_equal(enc_hex(c, "abc", 3), enc_hex(c, "abd", 3));
	/* Bytes that are not UTF-8 are kept as they are. */
	assert_string_equal(enc_hex(c, "A\xff", 2), enc(CC_TEXT, LT_TEXT, "a\xff"));
	d.zero_null = true;
	ts.zero_null = true;
	assert_string_equal(enc_hex(d, "0000-00-00", 10), "01");
	assert_string_equal(enc_hex(d, "2024-05-00", 10), "01");
	assert_string_equal(enc_hex(ts, "0000-00-00 00:00:00", 19), "01");
	assert_string_equal(enc_hex(d, "2024-05-01", 10), enc(CC_DATE, LT_DATE, "2024-05-01"));
	assert_string_not_equal(enc(CC_DATE, LT_DATE, "0000-00-00"), "01");
	/* Exponents stop at a million either way ("35e288235282" took minutes to decode). */
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "1e999999"), "12800f42403100");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "1e-1000001"), "127ff0bdc03100");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "1e1000000"),
	                    "ERROR: not a valid number");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "35e288235282"),
	                    "ERROR: not a valid number");
	assert_string_equal(enc(CC_NUMBER, LT_DECIMAL, "0.01e-1000000"),
	                    "ERROR: not a valid number");
	/* Zero dates are MariaDB's: four-digit years (a longer one overflowed int64). */
	assert_string_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "9999-12-00 23:59:59.999999"),
	                    "5ef7e4becb7db35fff");
	assert_string_equal(enc(CC_TIMESTAMP, LT_TIMESTAMP, "57302-01-00 23:04:05.3456"),
	                    "ERROR: not a valid timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff])");
	assert_string_equal(enc(CC_DATE, LT_DATE, "10000-00-00"), "ERROR: not a valid date (expected YYYY-MM-DD)");
}

static void test_timezone(void **state)
{
	struct canon_col local = canon_col_make(CC_TIMESTAMPTZ, LT_TIMESTAMP);
	struct tally_err err;

	(void)state;
	assert_int_equal(tz_get("Europe/Berlin", &local.tz, &err), 0);
	/* Summer and winter time, the fold (read after the change) and the gap (before). */
	assert_string_equal(enc_hex(local, "2024-07-01 12:00:00", 19),
	                    enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-07-01 10:00:00+00"));
	assert_string_equal(enc_hex(local, "2024-01-01 12:00:00.5", 21),
	                    enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-01-01 11:00:00.5+00"));
	assert_string_equal(enc_hex(local, "2024-10-27 02:30:00", 19),
	                    enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-10-27 01:30:00+00"));
	assert_string_equal(enc_hex(local, "2024-03-31 02:30:00", 19),
	                    enc(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2024-03-31 01:30:00+00"));
}

static void test_map(void **state)
{
	struct canon_map *m = calloc(1, sizeof(*m));
	struct canon_col src = canon_col_make(CC_TEXT, LT_INT);
	const char *from[] = { "2", "1" }, *to[] = { "closed", "active" };
	struct tally_err err;
	size_t dup;

	(void)state;
	m->from = canon_col_make(CC_NUMBER, LT_INT);
	m->n = 2;
	m->fromv = calloc(2, sizeof(struct buf));
	m->tov = calloc(2, sizeof(struct buf));
	for (size_t i = 0; i < 2; i++) {
		struct canon_col t = canon_col_make(CC_TEXT, LT_TEXT);

		assert_int_equal(canon_encode(&m->fromv[i], &m->from, from[i], 1, &err), 0);
		assert_int_equal(canon_encode(&m->tov[i], &t, to[i], strlen(to[i]), &err), 0);
	}
	assert_true(canon_map_sort(m, &dup));
	src.map = m;
	assert_string_equal(enc_hex(src, "1", 1), enc(CC_TEXT, LT_TEXT, "active"));
	assert_string_equal(enc_hex(src, "+2", 2), enc(CC_TEXT, LT_TEXT, "closed"));
	/* A code the map does not name equals nothing, not even its own text. */
	assert_string_not_equal(enc_hex(src, "3", 1), enc(CC_TEXT, LT_TEXT, "3"));
	assert_string_equal(enc_hex(src, "3", 1), "7e128000ff00ff013300ff0001");
	assert_string_equal(enc_hex(src, "x", 1), "ERROR: not a valid number");
	canon_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inet),
		cmocka_unit_test(test_bits),
		cmocka_unit_test(test_uuid_forms),
		cmocka_unit_test(test_json_class),
		cmocka_unit_test(test_case_and_zero_dates),
		cmocka_unit_test(test_timezone),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_golden_bytes),
		cmocka_unit_test(test_numbers_by_value),
		cmocka_unit_test(test_number_order),
		cmocka_unit_test(test_number_scale),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_date_as_timestamp),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_error_leaves_buffer),
		cmocka_unit_test(test_rowhash),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_float_parsing_matches_strtod),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
