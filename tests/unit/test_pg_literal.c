/*
 * tests/unit/test_pg_literal.c
 *   connectors/postgres/literal.c (literal() and bound_literal()) and
 *   connectors/postgres/script.c (script_ops), without a server: every rule
 *   with its exact output, every refusal with its exact message (and the
 *   buffer left as it was), and the exact text of an INSERT, UPDATE and
 *   DELETE block.
 *
 * The literal tests are tables of cases (struct lcase: a column of the
 * catalogue below, a value, and the literal or the refusal), each run by
 * check_literals().
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

/*
 * The columns the literal cases write to, as describe gives them; a
 * refusal quotes their name and native type. Set once, by
 * columns_setup(). The _b ones are the bound cases' own.
 */
static struct coldesc i2, i4, i8, dom, nu, n122, n35, n5m2, n52, f4, f4_b, f8, f8_b, bo, bo_b;
static struct coldesc tx, vc, ch3, ch2, by, bi, uu, js, en, mood, ip, iv, ar, ot;
static struct coldesc dt, ts, ts0, ts3, tz, tz3, tm, tm3, t0;

static int columns_setup(void **state)
{
	static char *labels[] = { "sad", "ok" };

	(void)state;
	i2 = col_of("small", "smallint", LT_INT);
	i4 = col_of("amount", "integer", LT_INT);
	i8 = col_of("big", "bigint", LT_INT);
	dom = col_of("pos", "posint", LT_INT);
	dom.bits = 32;
	nu = col_of("amount", "numeric", LT_DECIMAL);
	n122 = col_of("amount", "numeric(12,2)", LT_DECIMAL);
	n122.precision = 12;
	n122.scale = 2;
	n35 = col_of("tiny", "numeric(3,5)", LT_DECIMAL);
	n35.precision = 3;
	n35.scale = 5;
	n5m2 = col_of("hundreds", "numeric(5,-2)", LT_DECIMAL);
	n5m2.precision = 5;
	n5m2.scale = -2;
	n52 = col_of("price", "numeric(5,2)", LT_DECIMAL);
	n52.precision = 5;
	n52.scale = 2;
	f4 = col_of("ratio4", "real", LT_FLOAT);
	f4_b = col_of("ratio", "real", LT_FLOAT);
	f8 = col_of("ratio", "double precision", LT_FLOAT);
	f8_b = col_of("x", "double precision", LT_FLOAT);
	bo = col_of("flag", "boolean", LT_BOOL);
	bo_b = col_of("ok", "boolean", LT_BOOL);

	tx = col_of("note", "text", LT_TEXT);
	vc = col_of("code", "character varying(3)", LT_TEXT);
	vc.length = 3;
	ch3 = col_of("code", "character(3)", LT_CHAR);
	ch3.length = 3;
	ch3.fixed = true;
	ch2 = col_of("c", "character(2)", LT_CHAR);
	ch2.length = 2;
	by = col_of("blob", "bytea", LT_BYTES);
	bi = col_of("bits", "bit(8)", LT_BIT);
	uu = col_of("id", "uuid", LT_UUID);
	js = col_of("doc", "jsonb", LT_JSON);
	en = col_of("mood", "mood", LT_ENUM);
	mood = col_of("mood", "s2.\"My Mood\"", LT_ENUM);
	mood.labels = labels;
	mood.nlabels = 2;
	ip = col_of("addr", "inet", LT_INET);
	iv = col_of("span", "interval", LT_INTERVAL);
	ar = col_of("tags", "text[]", LT_ARRAY);
	ot = col_of("pos", "point", LT_OTHER);

	dt = col_of("day", "date", LT_DATE);
	ts = col_of("at", "timestamp without time zone", LT_TIMESTAMP);
	ts0 = col_of("at0", "timestamp(0) without time zone", LT_TIMESTAMP);
	ts0.fsp = 0;
	ts3 = col_of("at3", "timestamp(3) without time zone", LT_TIMESTAMP);
	ts3.fsp = 3;
	tz = col_of("at", "timestamp with time zone", LT_TIMESTAMPTZ);
	tz3 = col_of("at3", "timestamp(3) with time zone", LT_TIMESTAMPTZ);
	tz3.fsp = 3;
	tm = col_of("at", "time without time zone", LT_TIME);
	tm3 = col_of("at3", "time(3) without time zone", LT_TIME);
	tm3.fsp = 3;
	t0 = col_of("t0", "time(0) without time zone", LT_TIME);
	t0.fsp = 0;
	return 0;
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

/* A special value that also carries a number (MariaDB's zero date with its parts). */
static struct sqlval special_at(enum sqlval_kind kind, enum sqlval_special sp, int64_t i)
{
	struct sqlval v = { .kind = kind, .special = sp, .i = i };

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

/*
 * One case of a literal writer: the column, the value, and either the
 * literal written or the refusal (the message after "column 'NAME'
 * (NATIVE): "). line is the case's line in this file, for failures.
 */
struct lcase {
	int line;
	const struct coldesc *col;
	struct sqlval v;
	const char *ok;
	const char *refused;
};
#define OK(col, v, literal) { __LINE__, (col), (v), (literal), NULL }
#define REFUSED(col, v, msg) { __LINE__, (col), (v), NULL, (msg) }
#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

enum writer { LITERAL, BOUND };

/*
 * Runs cases[0..n) through postgres_ops.literal (LITERAL) or
 * bound_literal (BOUND), each after text already in the buffer: a case
 * with a literal must append exactly that; a refused one must fail with
 * ERR_DATA and exactly its message, leave the buffer as it was, and
 * never quote the value.
 */
static void check_literals(const struct lcase *cases, size_t n, enum writer w)
{
	static const char *const before[] = { [LITERAL] = "INSERT (1, ", [BOUND] = "x > " };
	const char *pre = before[w];
	size_t npre = strlen(pre);

	for (size_t i = 0; i < n; i++) {
		const struct lcase *k = &cases[i];
		const struct coldesc *c = k->col;
		struct buf b = BUF_INIT;
		struct tally_err err;
		char want[ERR_MSG_MAX];
		int rc;

		err_clear(&err);
		buf_addstr(&b, pre);
		rc = w == BOUND ? postgres_ops.bound_literal(&b, c, &k->v, &err)
		                : postgres_ops.literal(&b, c, &k->v, &err);
		if (k->ok) {
			if (rc < 0)
				fail_msg("line %d: column %s: refused: %s", k->line, c->name, err.msg);
			if (strcmp(b.data + npre, k->ok) != 0)
				fail_msg("line %d: column %s: got [%s], expected [%s]", k->line, c->name,
				         b.data + npre, k->ok);
			buf_release(&b);
			continue;
		}
		snprintf(want, sizeof(want), "column '%s' (%s): %s", c->name, c->native, k->refused);
		if (rc != -1 || err.kind != ERR_DATA || strcmp(err.msg, want) != 0)
			fail_msg("line %d: got %d, kind %d, [%s]; expected -1, ERR_DATA, [%s]", k->line, rc,
			         err.kind, rc < 0 ? err.msg : b.data + npre, want);
		if (b.len != npre || strcmp(b.data, pre) != 0)
			fail_msg("line %d: a refusal left [%s] in the buffer", k->line, b.data);
		/* Never the value itself. */
		if ((k->v.kind == SV_TEXT || k->v.kind == SV_NUMBER || k->v.kind == SV_RAW) &&
		    k->v.len > 2 && memchr(k->v.s, '\0', k->v.len) == NULL) {
			char value[256];

			snprintf(value, sizeof(value), "%.*s", (int)k->v.len, k->v.s);
			if (strstr(err.msg, value))
				fail_msg("line %d: the message quotes the value: %s", k->line, err.msg);
		}
		buf_release(&b);
	}
}

/* ---- numbers ------------------------------------------------------- */

static void test_null(void **state)
{
	struct sqlval v = { .kind = SV_NULL };
	const struct lcase cases[] = {
		OK(&i4, v, "NULL"),
		OK(&tx, v, "NULL"),
		OK(&by, v, "NULL"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

static void test_number_int(void **state)
{
	const struct lcase cases[] = {
		OK(&i4, num("-12"), "-12"),
		OK(&i4, num("0"), "0"),
		OK(&i4, num("-0"), "0"),
		OK(&i4, num("007"), "7"),
		OK(&i4, num("12.00"), "12"),
		OK(&i4, num("2147483647"), "2147483647"),
		OK(&i4, num("-2147483648"), "-2147483648"),
		OK(&i2, num("32767"), "32767"),
		OK(&i2, num("-32768"), "-32768"),
		OK(&i8, num("9223372036854775807"), "9223372036854775807"),
		OK(&i8, num("-9223372036854775808"), "-9223372036854775808"),

		REFUSED(&i4, num("-0.5"), "a number with a fraction cannot be stored exactly"),
		REFUSED(&i4, num("12.001"), "a number with a fraction cannot be stored exactly"),
		REFUSED(&i4, num("2147483648"), "the number is out of range"),
		REFUSED(&i4, num("-2147483649"), "the number is out of range"),
		REFUSED(&i2, num("32768"), "the number is out of range"),
		REFUSED(&i2, num("-32769"), "the number is out of range"),
		REFUSED(&i8, num("9223372036854775808"), "the number is out of range"),
		REFUSED(&i8, num("18446744073709551615"), "the number is out of range"),
		REFUSED(&i8, num("18446744073709551616"), "the number is out of range"),
		REFUSED(&i8, num("123456789012345678901234567890"), "the number is out of range"),
		REFUSED(&i4, special(SV_NUMBER, SVS_NAN), "a NaN or infinite number cannot be stored"),
		REFUSED(&i4, special(SV_NUMBER, SVS_PINF), "a NaN or infinite number cannot be stored"),
		REFUSED(&i4, special(SV_NUMBER, SVS_NINF), "a NaN or infinite number cannot be stored"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

static void test_number_malformed(void **state)
{
	static const char *const bad[] = {
		"", "-", ".", "1.", ".5", "1e5", "1;DROP TABLE x", "+1", "1 ", "0x10", "--1", "1.2.3",
		"１",
	};
	const struct lcase cases[] = {
		/* len counts: a number is not read past it. */
		OK(&i4, txt(SV_NUMBER, "12; DROP", 2), "12"),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct lcase malformed[] = {
			REFUSED(&i4, num(bad[i]), "the number is malformed"),
			REFUSED(&nu, num(bad[i]), "the number is malformed"),
			REFUSED(&f8, num(bad[i]), "the number is malformed"),
		};

		check_literals(malformed, NCASES(malformed), LITERAL);
	}
	check_literals(cases, NCASES(cases), LITERAL);
}

static void test_number_decimal(void **state)
{
	const struct lcase cases[] = {
		OK(&nu, num("-12.50"), "-12.50"),
		OK(&nu, num("-0.5"), "-0.5"),
		OK(&nu, num("18446744073709551615"), "18446744073709551615"),
		OK(&nu, num("0.000000000000000000000000000001"), "0.000000000000000000000000000001"),
		OK(&n122, num("-12.50"), "-12.50"),
		OK(&n122, num("1.230"), "1.230"),
		OK(&n122, num("9999999999.99"), "9999999999.99"),
		OK(&n122, num("-0009999999999.990"), "-0009999999999.990"),
		OK(&n122, num("0"), "0"),
		REFUSED(&n122, num("1.234"), "a number with more than 2 decimal places cannot be stored exactly"),
		REFUSED(&n122, num("10000000000"), "the number is out of range"),
		REFUSED(&n122, num("18446744073709551615"), "the number is out of range"),
		OK(&n35, num("0.00999"), "0.00999"),
		REFUSED(&n35, num("0.01"), "the number is out of range"),
		OK(&n5m2, num("1234500"), "1234500"),
		REFUSED(&n5m2, num("1234510"), "the number would be rounded to 2 digits before the decimal point"),
		REFUSED(&n5m2, num("12345600"), "the number is out of range"),

		OK(&nu, special(SV_NUMBER, SVS_NAN), "'NaN'"),
		OK(&nu, special(SV_NUMBER, SVS_PINF), "'Infinity'"),
		OK(&nu, special(SV_NUMBER, SVS_NINF), "'-Infinity'"),
		OK(&n122, special(SV_NUMBER, SVS_NAN), "'NaN'"),
		REFUSED(&n122, special(SV_NUMBER, SVS_PINF),
		        "an infinite number cannot be stored in a numeric with a precision"),
		REFUSED(&n122, special(SV_NUMBER, SVS_NINF),
		        "an infinite number cannot be stored in a numeric with a precision"),

		OK(&f8, num("0.1"), "0.1"),
		OK(&f8, num("-12.50"), "-12.50"),
		OK(&f4, num("18446744073709551615"), "18446744073709551615"),
		OK(&f8, special(SV_NUMBER, SVS_NAN), "'NaN'"),
		OK(&f8, special(SV_NUMBER, SVS_PINF), "'Infinity'"),
		OK(&f8, special(SV_NUMBER, SVS_NINF), "'-Infinity'"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

static void test_number_other_columns(void **state)
{
	const struct lcase cases[] = {
		OK(&bo, num("0"), "false"),
		OK(&bo, num("1"), "true"),
		REFUSED(&bo, num("2"), "only 0 and 1 can be stored as a boolean"),
		REFUSED(&bo, num("-1"), "only 0 and 1 can be stored as a boolean"),
		REFUSED(&bo, num("0.5"), "only 0 and 1 can be stored as a boolean"),
		REFUSED(&bo, num("10"), "only 0 and 1 can be stored as a boolean"),
		REFUSED(&bo, special(SV_NUMBER, SVS_NAN), "a NaN or infinite number cannot be stored"),
		OK(&tx, num("-12.50"), "'-12.50'"),
		REFUSED(&dt, num("20240102"), "a number value cannot be stored in this column"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

/* ---- floats -------------------------------------------------------- */

static void test_float(void **state)
{
	const struct lcase cases[] = {
		OK(&f8, flt(0.1), "'0.1'"),
		OK(&f8, flt(1e300), "'1e+300'"),
		OK(&f8, flt(-0.0), "'-0'"),
		OK(&f8, flt(0.0), "'0'"),
		OK(&f8, flt(5e-324), "'5e-324'"),
		OK(&f8, flt(1.0 / 3), "'0.3333333333333333'"),
		OK(&f8, flt(123456789.0), "'123456789'"),
		OK(&f8, flt(1.7976931348623157e308), "'1.7976931348623157e+308'"),
		OK(&f8, flt(NAN), "'NaN'"),
		OK(&f8, flt(INFINITY), "'Infinity'"),
		OK(&f8, flt(-INFINITY), "'-Infinity'"),

		/* A 32-bit column: the shortest text that reads back as the float. */
		OK(&f4, flt(0.1), "'0.1'"),
		OK(&f4, flt((double)0.1f), "'0.1'"),
		OK(&f4, flt(1.0 / 3), "'0.33333334'"),
		OK(&f4, flt(123456789.0), "'1.2345679e+08'"),
		OK(&f4, flt(-0.0), "'-0'"),
		OK(&f4, flt((double)3.4028234663852886e38f), "'3.4028235e+38'"),
		OK(&f4, flt(NAN), "'NaN'"),
		OK(&f4, flt(-INFINITY), "'-Infinity'"),
		REFUSED(&f4, flt(1e300), "the number is out of range"),
		REFUSED(&f4, flt(5e-324), "the number is out of range"),

		/* numeric and integer: finite only, and no rounding. */
		OK(&nu, flt(0.1), "'0.1'"),
		OK(&nu, flt(1e300), "'1e+300'"),
		OK(&nu, flt(5e-324), "'5e-324'"),
		OK(&n122, flt(-12.5), "'-12.5'"),
		OK(&n122, flt(1e9), "'1e+09'"),
		REFUSED(&n122, flt(0.125), "a number with more than 2 decimal places cannot be stored exactly"),
		REFUSED(&n122, flt(1e10), "the number is out of range"),
		REFUSED(&n122, flt(1e-5), "a number with more than 2 decimal places cannot be stored exactly"),
		REFUSED(&nu, flt(NAN), "a NaN or infinite number cannot be stored"),
		REFUSED(&nu, flt(INFINITY), "a NaN or infinite number cannot be stored"),
		OK(&i8, flt(3.0), "3"),
		OK(&i8, flt(-1e18), "-1000000000000000000"),
		OK(&i8, flt(-0.0), "0"),
		REFUSED(&i8, flt(3.5), "a number with a fraction cannot be stored exactly"),
		REFUSED(&i8, flt(1e300), "the number is out of range"),
		REFUSED(&i8, flt(NAN), "a NaN or infinite number cannot be stored"),
		REFUSED(&tx, flt(0.1), "a floating-point value cannot be stored in this column"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

/* ---- booleans ------------------------------------------------------ */

static void test_bool(void **state)
{
	struct sqlval t = { .kind = SV_BOOL, .b = true }, f = { .kind = SV_BOOL, .b = false };
	const struct lcase cases[] = {
		OK(&bo, t, "true"),
		OK(&bo, f, "false"),
		OK(&i2, t, "1"),
		OK(&i2, f, "0"),
		REFUSED(&tx, t, "a boolean value cannot be stored in this column"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

/* ---- text and bytes ------------------------------------------------ */

static void test_text(void **state)
{
	static const char hostile[] =
		"it's a \\' trap'); DROP TABLE x; -- /* */ $$ $tally$ :'v' \\g\n\r\t 😀 \\x41 '' %s";
	static const char hostile_lit[] =
		"'it''s a \\'' trap''); DROP TABLE x; -- /* */ $$ $tally$ :''v'' \\g\n\r\t 😀 \\x41 '''' %s'";
	const struct lcase cases[] = {
		OK(&tx, TEXT(""), "''"),
		OK(&tx, TEXT("'"), "''''"),
		OK(&tx, TEXT(hostile), hostile_lit),
		OK(&tx, TEXT("Ω\xf4\x8f\xbf\xbf"), "'Ω\xf4\x8f\xbf\xbf'"),
		OK(&vc, TEXT("äöü"), "'äöü'"),
		OK(&ch3, TEXT("ab"), "'ab'"),
		REFUSED(&vc, TEXT("abcd"), "text longer than 3 characters cannot be stored"),
		REFUSED(&ch3, TEXT("äöüß"), "text longer than 3 characters cannot be stored"),
		REFUSED(&tx, TEXT("a\0b"), "a NUL byte cannot be stored in PostgreSQL text"),
		REFUSED(&tx, TEXT("\xff"), "text that is not valid UTF-8 cannot be stored as text"),
		REFUSED(&tx, TEXT("\xc0\xaf"), "text that is not valid UTF-8 cannot be stored as text"),
		REFUSED(&tx, TEXT("\xed\xa0\x80"), "text that is not valid UTF-8 cannot be stored as text"),
		REFUSED(&tx, TEXT("\xf4\x90\x80\x80"), "text that is not valid UTF-8 cannot be stored as text"),
		REFUSED(&tx, TEXT("ab\xe2\x82"), "text that is not valid UTF-8 cannot be stored as text"),

		/* Other types: the quoted text, which the column's type parses. */
		OK(&by, TEXT("é'\\"), "'\\xc3a9275c'"),
		OK(&uu, TEXT("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"),
		OK(&js, TEXT("{\"a\": \"it's\"}"), "'{\"a\": \"it''s\"}'"),
		OK(&en, TEXT("Zany"), "'Zany'"),
		OK(&ip, TEXT("192.168.0.1/24"), "'192.168.0.1/24'"),
		OK(&i4, TEXT("42"), "'42'"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

static void test_bytes(void **state)
{
	static const char raw[] = { 0x00, (char)0xff, '\'', '\\', 'A' };
	const struct lcase cases[] = {
		OK(&by, txt(SV_BYTES, raw, sizeof(raw)), "'\\x00ff275c41'"),
		OK(&by, txt(SV_BYTES, "", 0), "'\\x'"),
		OK(&tx, BYTES("it's Ω"), "'it''s Ω'"),
		REFUSED(&vc, BYTES("abcd"), "text longer than 3 characters cannot be stored"),
		REFUSED(&tx, txt(SV_BYTES, raw, sizeof(raw)), "a NUL byte cannot be stored in PostgreSQL text"),
		REFUSED(&tx, BYTES("\xff\xfe"), "bytes that are not valid UTF-8 cannot be stored as text"),
		REFUSED(&bi, BYTES("\x01"), "a binary value cannot be stored in this column"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

/* ---- dates and times ----------------------------------------------- */

static void test_dates(void **state)
{
	const struct lcase cases[] = {
		OK(&dt, timed(SV_DATE, 0), "'2000-01-01'"),
		OK(&dt, timed(SV_DATE, days_from_civil(2024, 1, 2)), "'2024-01-02'"),
		OK(&dt, timed(SV_DATE, days_from_civil(-43, 3, 15)), "'0044-03-15 BC'"),
		OK(&dt, timed(SV_DATE, days_from_civil(0, 12, 31)), "'0001-12-31 BC'"),
		OK(&dt, timed(SV_DATE, days_from_civil(1, 1, 1)), "'0001-01-01'"),
		OK(&dt, timed(SV_DATE, days_from_civil(-4713, 11, 24)), "'4714-11-24 BC'"),
		OK(&dt, timed(SV_DATE, days_from_civil(5874897, 12, 31)), "'5874897-12-31'"),
		REFUSED(&dt, timed(SV_DATE, days_from_civil(-4713, 11, 23)), "the date is outside PostgreSQL's range"),
		REFUSED(&dt, timed(SV_DATE, days_from_civil(5874898, 1, 1)), "the date is outside PostgreSQL's range"),
		OK(&dt, special(SV_DATE, SVS_PINF), "'infinity'"),
		OK(&dt, special(SV_DATE, SVS_NINF), "'-infinity'"),
		REFUSED(&dt, special(SV_DATE, SVS_ZERO), "a MariaDB zero date cannot be stored in PostgreSQL"),
		REFUSED(&dt, special_at(SV_DATE, SVS_ZERO, 20240100), "a MariaDB zero date cannot be stored in PostgreSQL"),
		REFUSED(&ts, timed(SV_DATE, 0), "a date value cannot be stored in this column"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

static void test_timestamps(void **state)
{
	const struct lcase cases[] = {
		OK(&ts, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 500000)), "'2024-01-02 03:04:05.5'"),
		OK(&ts, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 0)), "'2024-01-02 03:04:05'"),
		OK(&ts, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 123456)), "'2024-01-02 03:04:05.123456'"),
		OK(&ts, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 10)), "'2024-01-02 03:04:05.00001'"),
		OK(&ts, timed(SV_TIMESTAMP, ts_us(1999, 12, 31, 23, 59, 59, 999999)), "'1999-12-31 23:59:59.999999'"),
		OK(&ts, timed(SV_TIMESTAMP, ts_us(-43, 3, 15, 10, 0, 0, 0)), "'0044-03-15 10:00:00 BC'"),
		OK(&ts, timed(SV_TIMESTAMP, ts_us(-43, 3, 15, 10, 0, 0, 250)), "'0044-03-15 10:00:00.00025 BC'"),
		OK(&ts, special(SV_TIMESTAMP, SVS_PINF), "'infinity'"),
		OK(&ts, special(SV_TIMESTAMP, SVS_NINF), "'-infinity'"),
		OK(&ts0, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 0)), "'2024-01-02 03:04:05'"),
		OK(&ts3, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 123000)), "'2024-01-02 03:04:05.123'"),
		REFUSED(&ts0, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 500000)),
		        "a value with more than 0 fractional digits of a second cannot be stored exactly"),
		REFUSED(&ts3, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 123400)),
		        "a value with more than 3 fractional digits of a second cannot be stored exactly"),
		REFUSED(&ts3, timed(SV_TIMESTAMP, ts_us(-43, 3, 15, 10, 0, 0, 1)),
		        "a value with more than 3 fractional digits of a second cannot be stored exactly"),
		OK(&ts, timed(SV_TIMESTAMP, ts_us(-4713, 11, 24, 0, 0, 0, 0)), "'4714-11-24 00:00:00 BC'"),
		OK(&ts, timed(SV_TIMESTAMP, ts_us(294276, 12, 31, 23, 59, 59, 999999)),
		   "'294276-12-31 23:59:59.999999'"),
		REFUSED(&ts, timed(SV_TIMESTAMP, ts_us(-4713, 11, 23, 23, 59, 59, 999999)),
		        "the timestamp is outside PostgreSQL's range"),
		REFUSED(&ts, timed(SV_TIMESTAMP, ts_us(294277, 1, 1, 0, 0, 0, 0)),
		        "the timestamp is outside PostgreSQL's range"),
		REFUSED(&ts, special(SV_TIMESTAMP, SVS_ZERO), "a MariaDB zero date cannot be stored in PostgreSQL"),
		REFUSED(&tz, special(SV_TIMESTAMPTZ, SVS_ZERO), "a MariaDB zero date cannot be stored in PostgreSQL"),

		OK(&tz, timed(SV_TIMESTAMPTZ, ts_us(2024, 1, 2, 3, 4, 5, 500000)), "'2024-01-02 03:04:05.5+00'"),
		OK(&tz, timed(SV_TIMESTAMPTZ, ts_us(2024, 1, 2, 3, 4, 5, 0)), "'2024-01-02 03:04:05+00'"),
		OK(&tz, timed(SV_TIMESTAMPTZ, ts_us(-43, 3, 15, 10, 0, 0, 0)), "'0044-03-15 10:00:00+00 BC'"),
		OK(&tz, special(SV_TIMESTAMPTZ, SVS_PINF), "'infinity'"),
		OK(&tz, special(SV_TIMESTAMPTZ, SVS_NINF), "'-infinity'"),

		REFUSED(&tz, timed(SV_TIMESTAMP, 0), "a timestamp value cannot be stored in this column"),
		REFUSED(&ts, timed(SV_TIMESTAMPTZ, 0), "a timestamptz value cannot be stored in this column"),
		REFUSED(&dt, timed(SV_TIMESTAMP, 0), "a timestamp value cannot be stored in this column"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

static void test_times(void **state)
{
	const struct lcase cases[] = {
		OK(&tm, timed(SV_TIME, 0), "'00:00:00'"),
		OK(&tm, timed(SV_TIME, DAY_US), "'24:00:00'"),
		OK(&tm, timed(SV_TIME, DAY_US - 1), "'23:59:59.999999'"),
		OK(&tm, timed(SV_TIME, INT64_C(45296789000)), "'12:34:56.789'"),
		OK(&tm3, timed(SV_TIME, INT64_C(45296789000)), "'12:34:56.789'"),
		REFUSED(&tm3, timed(SV_TIME, INT64_C(45296789100)),
		        "a value with more than 3 fractional digits of a second cannot be stored exactly"),
		REFUSED(&tm, timed(SV_TIME, -1), "a time outside 00:00:00 to 24:00:00 cannot be stored"),
		REFUSED(&tm, timed(SV_TIME, -INT64_C(3020399000000)), "a time outside 00:00:00 to 24:00:00 cannot be stored"),
		REFUSED(&tm, timed(SV_TIME, DAY_US + 1), "a time outside 00:00:00 to 24:00:00 cannot be stored"),
		REFUSED(&tm, timed(SV_TIME, INT64_C(3020399000000)), "a time outside 00:00:00 to 24:00:00 cannot be stored"),
		REFUSED(&tx, timed(SV_TIME, 0), "a time value cannot be stored in this column"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

/* ---- uuid and raw -------------------------------------------------- */

static void test_uuid_raw(void **state)
{
	static const char u[16] = {
		(char)0xa0, (char)0xee, (char)0xbc, (char)0x99, (char)0x9c, 0x0b, 0x4e, (char)0xf8,
		(char)0xbb, 0x6d, 0x6b, (char)0xb9, (char)0xbd, 0x38, 0x0a, 0x11,
	};
	const struct lcase cases[] = {
		OK(&uu, txt(SV_UUID, u, 16), "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
		OK(&tx, txt(SV_UUID, u, 16), "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
		REFUSED(&uu, txt(SV_UUID, u, 15), "the uuid is malformed"),
		/* A uuid is 16 bytes: a length of 0 read 16 bytes past a shorter buffer. */
		REFUSED(&uu, txt(SV_UUID, u + 16, 0), "the uuid is malformed"),
		REFUSED(&i4, txt(SV_UUID, u, 16), "a uuid value cannot be stored in this column"),

		OK(&js, RAW("{\"a\": \"it's\", \"b\": \"\\\\\"}"), "'{\"a\": \"it''s\", \"b\": \"\\\\\"}'"),
		OK(&iv, RAW("P1DT2H3M4.5S"), "'P1DT2H3M4.5S'"),
		OK(&ar, RAW("{\"a b\",\"c\\\"d\",\"'\"}"), "'{\"a b\",\"c\\\"d\",\"''\"}'"),
		OK(&ot, RAW("(1,2)"), "'(1,2)'"),
		OK(&ot, RAW(""), "''"),
		REFUSED(&js, RAW("{\"a\0\": 1}"), "a NUL byte cannot be stored in PostgreSQL text"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), LITERAL);
}

/* ---- range bounds -------------------------------------------------- */

/*
 * Bounds are typed as the column compares, never checked against what it
 * stores: a typmod would round them, a domain could refuse them.
 */
static void test_bound_numbers(void **state)
{
	const struct lcase cases[] = {
		OK(&i4, num("5"), "'5'::pg_catalog.int4"),
		OK(&i4, num("-2147483648"), "'-2147483648'::pg_catalog.int4"),
		OK(&i4, num("007"), "'7'::pg_catalog.int4"),
		OK(&i4, num("-0"), "'0'::pg_catalog.int4"),
		OK(&i2, num("-32768"), "'-32768'::pg_catalog.int2"),
		OK(&i8, num("9223372036854775807"), "'9223372036854775807'::pg_catalog.int8"),
		OK(&dom, num("0"), "'0'::pg_catalog.int4"),
		/* Beyond the type or with a fraction: compared as numeric, exactly. */
		OK(&i2, num("40000"), "40000"),
		OK(&i4, num("-0.5"), "-0.5"),
		OK(&i8, num("123456789012345678901234567890"), "123456789012345678901234567890"),
		OK(&i4, special(SV_NUMBER, SVS_PINF), "'Infinity'::pg_catalog.numeric"),
		OK(&i4, special(SV_NUMBER, SVS_NAN), "'NaN'::pg_catalog.numeric"),
		OK(&i4, flt(2.0), "'2'::pg_catalog.int4"),
		OK(&i4, flt(2.5), "2.5"),
		OK(&i4, flt(-INFINITY), "'-Infinity'::pg_catalog.numeric"),

		OK(&n52, num("1.555"), "'1.555'::pg_catalog.numeric"),
		OK(&n52, num("123456789.5"), "'123456789.5'::pg_catalog.numeric"),
		OK(&n52, num("-7"), "'-7'::pg_catalog.numeric"),
		OK(&n52, special(SV_NUMBER, SVS_NAN), "'NaN'::pg_catalog.numeric"),
		OK(&n52, special(SV_NUMBER, SVS_PINF), "'Infinity'::pg_catalog.numeric"),
		OK(&n52, flt(0.125), "'0.125'::pg_catalog.numeric"),

		OK(&f8_b, flt(0.1), "'0.1'::pg_catalog.float8"),
		OK(&f4_b, flt(0.1), "'0.1'::pg_catalog.float8"),
		OK(&f4_b, flt(1e300), "'1e+300'::pg_catalog.float8"),
		OK(&f8_b, flt(NAN), "'NaN'::pg_catalog.float8"),

		OK(&bo_b, ((struct sqlval){ .kind = SV_BOOL, .b = true }), "true"),

		REFUSED(&i4, num("1e5"), "the number is malformed"),
		REFUSED(&i4, (struct sqlval){ .kind = SV_NULL }, "a NULL cannot bound a range"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), BOUND);
}

static void test_bound_text_times(void **state)
{
	static const char u[16] = {
		(char)0xa0, (char)0xee, (char)0xbc, (char)0x99, (char)0x9c, 0x0b, 0x4e, (char)0xf8,
		(char)0xbb, 0x6d, 0x6b, (char)0xb9, (char)0xbd, 0x38, 0x0a, 0x11,
	};
	const struct lcase cases[] = {
		OK(&vc, TEXT("abcd"), "'abcd'"),
		OK(&vc, TEXT("it's"), "'it''s'"),
		OK(&ch2, TEXT("abc"), "'abc'"),
		OK(&by, BYTES("\x00\xff'"), "'\\x00ff27'"),
		OK(&dt, timed(SV_DATE, days_from_civil(2024, 1, 2)), "'2024-01-02'::pg_catalog.date"),
		OK(&dt, special(SV_DATE, SVS_PINF), "'infinity'::pg_catalog.date"),
		OK(&ts0, timed(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 500000)),
		   "'2024-01-02 03:04:05.5'::pg_catalog.timestamp"),
		OK(&tz3, timed(SV_TIMESTAMPTZ, ts_us(2024, 1, 2, 3, 4, 5, 500)),
		   "'2024-01-02 03:04:05.0005+00'::pg_catalog.timestamptz"),
		OK(&tz3, timed(SV_TIMESTAMPTZ, ts_us(-43, 3, 15, 0, 0, 0, 0)),
		   "'0044-03-15 00:00:00+00 BC'::pg_catalog.timestamptz"),
		OK(&t0, timed(SV_TIME, 500000), "'00:00:00.5'::pg_catalog.time"),
		OK(&uu, txt(SV_UUID, u, 16), "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::pg_catalog.uuid"),
		REFUSED(&uu, txt(SV_UUID, u + 16, 0), "the uuid is malformed"),
		OK(&mood, TEXT("ok"), "'ok'::s2.\"My Mood\""),
		OK(&iv, RAW("P1D"), "'P1D'"),

		REFUSED(&vc, TEXT("a\0b"), "a NUL byte cannot be stored in PostgreSQL text"),
		REFUSED(&vc, BYTES("\xff"), "bytes that are not valid UTF-8 cannot be stored as text"),
		REFUSED(&mood, TEXT("happy"), "the value is not a label of this enum"),
		REFUSED(&dt, special(SV_DATE, SVS_ZERO), "a MariaDB zero date cannot be stored in PostgreSQL"),
		REFUSED(&t0, timed(SV_TIME, -1), "a time outside 00:00:00 to 24:00:00 cannot be stored"),
		REFUSED(&dt, timed(SV_TIMESTAMP, 0), "a timestamp value cannot be stored in this column"),
	};

	(void)state;
	check_literals(cases, NCASES(cases), BOUND);
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
	ops->end(&b, "tally: repair repair.app.sql applied: 1 row (0 inserted, 1 updated, 0 deleted)");
	/* After COMMIT only: ON_ERROR_STOP stops psql at the first error before it. */
	assert_string_equal(b.data, "COMMIT;\n\\echo 'tally: repair repair.app.sql applied: 1 row (0 inserted, "
	                    "1 updated, 0 deleted)'\n");
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

	return cmocka_run_group_tests(tests, columns_setup, NULL);
}
