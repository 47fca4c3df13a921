/*
 * tests/unit/test_my_literal.c
 *   Unit tests of the MariaDB dialect without a server: mariadb_ops.literal
 *   and bound_literal (every rule, exact text, every error message), each
 *   test a table of cases that check_case() runs, order_is_bytewise, and the
 *   script_ops text of connectors/mariadb/script.c.
 *   tests/integration/test_conn_mariadb.c runs the same forms against a real
 *   server and the real client.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "connectors/connector.h"

extern const struct conn_ops mariadb_ops;

/* ---- columns ---------------------------------------------------------------- */

static const struct coldesc c_int = { .name = "i", .native = "int(11)", .type = LT_INT, .bits = 32 };
static const struct coldesc c_uint = { .name = "u", .native = "int(10) unsigned", .type = LT_INT,
                                       .bits = 32, .is_unsigned = true };
static const struct coldesc c_tiny = { .name = "t", .native = "tinyint(4)", .type = LT_INT, .bits = 8 };
static const struct coldesc c_bool = { .name = "b", .native = "tinyint(1)", .type = LT_INT, .bits = 8,
                                       .bool_hint = true };
static const struct coldesc c_i64 = { .name = "i64", .native = "bigint(20)", .type = LT_INT, .bits = 64 };
static const struct coldesc c_u64 = { .name = "u64", .native = "bigint(20) unsigned", .type = LT_INT,
                                      .bits = 64, .is_unsigned = true };
static const struct coldesc c_dec = { .name = "amount", .native = "decimal(12,2)", .type = LT_DECIMAL,
                                      .precision = 12, .scale = 2 };
static const struct coldesc c_decu = { .name = "du", .native = "decimal(5,0) unsigned",
                                       .type = LT_DECIMAL, .precision = 5, .scale = 0,
                                       .is_unsigned = true };
static const struct coldesc c_year = { .name = "y", .native = "year(4)", .type = LT_YEAR };
static const struct coldesc c_dbl = { .name = "d", .native = "double", .type = LT_FLOAT, .bits = 64 };
static const struct coldesc c_dblu = { .name = "du", .native = "double unsigned", .type = LT_FLOAT,
                                       .bits = 64, .is_unsigned = true };
static const struct coldesc c_flt = { .name = "f", .native = "float", .type = LT_FLOAT, .bits = 32 };
static const struct coldesc c_vc = { .name = "note", .native = "varchar(20)", .type = LT_TEXT,
                                     .length = 20, .charset = "utf8mb4",
                                     .collation = "utf8mb4_general_ci" };
static const struct coldesc c_text = { .name = "body", .native = "text", .type = LT_TEXT,
                                       .length = 65535, .charset = "utf8mb4" };
static const struct coldesc c_ttext = { .name = "tt", .native = "tinytext", .type = LT_TEXT,
                                        .length = 255, .charset = "utf8mb4" };
static const struct coldesc c_l1 = { .name = "l1", .native = "varchar(10)", .type = LT_TEXT,
                                     .length = 10, .charset = "latin1" };
static const struct coldesc c_char = { .name = "c5", .native = "char(5)", .type = LT_CHAR,
                                       .length = 5, .fixed = true, .charset = "utf8mb4" };
static char *enum_labels[] = { "small", "it's", "back\\slash", "" };
static const struct coldesc c_enum = { .name = "e",
                                       .native = "enum('small','it''s','back\\\\slash','')",
                                       .type = LT_ENUM, .charset = "utf8mb4",
                                       .labels = enum_labels, .nlabels = 4 };
static char *set_labels[] = { "x", "y", "z" };
static const struct coldesc c_set = { .name = "st", .native = "set('x','y','z')", .type = LT_SET,
                                      .charset = "utf8mb4", .labels = set_labels, .nlabels = 3 };
static const struct coldesc c_json = { .name = "j", .native = "longtext", .type = LT_JSON,
                                       .length = 4294967295L, .charset = "utf8mb4" };
static const struct coldesc c_uuid = { .name = "u", .native = "uuid", .type = LT_UUID };
static const struct coldesc c_inet = { .name = "ip", .native = "inet6", .type = LT_INET };
static const struct coldesc c_bin16 = { .name = "b16", .native = "binary(16)", .type = LT_BYTES,
                                        .fixed = true, .length = 16 };
static const struct coldesc c_vb = { .name = "vb", .native = "varbinary(4)", .type = LT_BYTES,
                                     .length = 4 };
static const struct coldesc c_blob = { .name = "bl", .native = "blob", .type = LT_BYTES,
                                       .length = 65535 };
static const struct coldesc c_bit = { .name = "bt", .native = "bit(10)", .type = LT_BIT, .bits = 10 };
static const struct coldesc c_geo = { .name = "g", .native = "point", .type = LT_OTHER };
static const struct coldesc c_date = { .name = "dt", .native = "date", .type = LT_DATE };
static const struct coldesc c_time = { .name = "tm", .native = "time", .type = LT_TIME };
static const struct coldesc c_time6 = { .name = "tm6", .native = "time(6)", .type = LT_TIME, .fsp = 6 };
static const struct coldesc c_dt0 = { .name = "dtm", .native = "datetime", .type = LT_TIMESTAMP };
static const struct coldesc c_dt3 = { .name = "dtm3", .native = "datetime(3)", .type = LT_TIMESTAMP,
                                      .fsp = 3 };
static const struct coldesc c_dt6 = { .name = "dtm6", .native = "datetime(6)", .type = LT_TIMESTAMP,
                                      .fsp = 6 };
static const struct coldesc c_ts = { .name = "ts", .native = "timestamp", .type = LT_TIMESTAMPTZ };
static const struct coldesc c_ts3 = { .name = "ts3", .native = "timestamp(3)",
                                      .type = LT_TIMESTAMPTZ, .fsp = 3 };

/* ---- values -------------------------------------------------------------------- */

#define SNUM(lit) ((struct sqlval){ .kind = SV_NUMBER, .s = (lit), .len = sizeof(lit) - 1 })
#define STXT(lit) ((struct sqlval){ .kind = SV_TEXT, .s = (lit), .len = sizeof(lit) - 1 })
#define SBYT(lit) ((struct sqlval){ .kind = SV_BYTES, .s = (lit), .len = sizeof(lit) - 1 })
#define SRAW(lit) ((struct sqlval){ .kind = SV_RAW, .s = (lit), .len = sizeof(lit) - 1 })
#define SUUID(lit) ((struct sqlval){ .kind = SV_UUID, .s = (lit), .len = sizeof(lit) - 1 })
#define SFLT(x) ((struct sqlval){ .kind = SV_FLOAT, .d = (x) })
#define SBOOL(x) ((struct sqlval){ .kind = SV_BOOL, .b = (x) })
#define SDATE(x) ((struct sqlval){ .kind = SV_DATE, .i = (x) })
#define STIME(x) ((struct sqlval){ .kind = SV_TIME, .i = (x) })
#define STS(x) ((struct sqlval){ .kind = SV_TIMESTAMP, .i = (x) })
#define STSTZ(x) ((struct sqlval){ .kind = SV_TIMESTAMPTZ, .i = (x) })
#define SSPEC(k, sp, x) ((struct sqlval){ .kind = (k), .special = (sp), .i = (x) })
#define SBITS(lit) ((struct sqlval){ .kind = SV_BITS, .s = (lit), .len = sizeof(lit) - 1 })
#define SNULL ((struct sqlval){ .kind = SV_NULL })

#define DAY INT64_C(86400000000)

#define EMOJI "\xf0\x9f\x98\x80"
#define EMOJI4 EMOJI EMOJI EMOJI EMOJI
#define EMOJI16 EMOJI4 EMOJI4 EMOJI4 EMOJI4
#define EMOJI63 EMOJI16 EMOJI16 EMOJI16 EMOJI4 EMOJI4 EMOJI4 EMOJI EMOJI EMOJI
#define EMOJI64 EMOJI16 EMOJI16 EMOJI16 EMOJI16

/*
 * One case of a literal writer: mariadb_ops.literal (a value a repair
 * stores) or, with bound, mariadb_ops.bound_literal (a range bound, only
 * compared). Either it writes exactly want, appended to what the buffer
 * held, or it fails with ERR_DATA, the message "cannot write <what> for
 * column '<name>' (<native>): <why>" and the buffer as it was. what is
 * "a value" for literal and "a range bound" for bound_literal unless the
 * case says otherwise.
 */
struct lcase {
	bool bound;
	const struct coldesc *col;
	struct sqlval v;
	const char *want;       /* the literal written; NULL when refused */
	const char *why;        /* the reason of a refusal */
	const char *what;       /* a refusal's subject when not the writer's own */
};

#define LIT(col, v, want) { false, (col), v, (want), NULL, NULL }
#define LIT_FAILS(col, v, why) { false, (col), v, NULL, (why), NULL }
#define BOUND(col, v, want) { true, (col), v, (want), NULL, NULL }
#define BOUND_FAILS(col, v, why) { true, (col), v, NULL, (why), NULL }

static void check_case(size_t i, const struct lcase *c)
{
	int (*write)(struct buf *, const struct coldesc *, const struct sqlval *, struct tally_err *) =
		c->bound ? mariadb_ops.bound_literal : mariadb_ops.literal;
	const struct coldesc *col = c->col;
	struct buf b = BUF_INIT;
	struct tally_err err;
	char want[512];
	int rc;

	err_clear(&err);
	buf_addstr(&b, c->want ? "<" : "kept");
	rc = write(&b, col, &c->v, &err);
	if (c->want) {
		if (rc != 0)
			fail_msg("case %zu, column %s (%s): unexpected error: %s", i, col->name,
			         col->native, err.msg);
		if (strcmp(b.data + 1, c->want) != 0)
			fail_msg("case %zu, column %s (%s): got %s, expected %s", i, col->name,
			         col->native, b.data + 1, c->want);
	} else {
		if (rc != -1)
			fail_msg("case %zu, column %s (%s): accepted as %s, expected: %s", i, col->name,
			         col->native, b.data, c->why);
		assert_int_equal(err.kind, ERR_DATA);
		snprintf(want, sizeof(want), "cannot write %s for column '%s' (%s): %s",
		         c->what ? c->what : c->bound ? "a range bound" : "a value", col->name,
		         col->native, c->why);
		assert_string_equal(err.msg, want);
		assert_string_equal(b.data, "kept");
		assert_int_equal(b.len, 4);
	}
	buf_release(&b);
}

static void run_cases(const struct lcase *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(i, &cases[i]);
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_null(void **state)
{
	const struct lcase cases[] = {
		LIT(&c_int, SNULL, "NULL"),
		LIT(&c_vc, SNULL, "NULL"),
		LIT(&c_blob, SNULL, "NULL"),
		LIT(&c_date, SNULL, "NULL"),
		LIT(&c_ts, SNULL, "NULL"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_numbers(void **state)
{
	const struct lcase cases[] = {
		LIT(&c_int, SNUM("42"), "42"),
		LIT(&c_int, SNUM("-2147483648"), "-2147483648"),
		LIT(&c_int, SNUM("2147483647"), "2147483647"),
		LIT(&c_int, SNUM("007"), "7"),
		LIT(&c_int, SNUM("-0"), "0"),
		LIT(&c_int, SNUM("12.000"), "12"),            /* no fraction after all */
		LIT(&c_tiny, SNUM("-128"), "-128"),
		LIT(&c_bool, SNUM("1"), "1"),
		LIT(&c_uint, SNUM("4294967295"), "4294967295"),
		LIT(&c_uint, SNUM("-0.00"), "0"),
		LIT(&c_i64, SNUM("-9223372036854775808"), "-9223372036854775808"),
		LIT(&c_u64, SNUM("18446744073709551615"), "18446744073709551615"),
		LIT(&c_dec, SNUM("1234567890.12"), "1234567890.12"),
		LIT(&c_dec, SNUM("-1.50"), "-1.5"),
		LIT(&c_dec, SNUM("0.100000"), "0.1"),
		LIT(&c_dec, SNUM("0000.5"), "0.5"),
		LIT(&c_decu, SNUM("99999"), "99999"),
		LIT(&c_year, SNUM("2024"), "2024"),
		LIT(&c_year, SNUM("1901"), "1901"),
		LIT(&c_year, SNUM("2155"), "2155"),
		LIT(&c_year, SNUM("0"), "0"),
		/* into a float column: parsed as the engine parses it, written as a float literal */
		LIT(&c_dbl, SNUM("0.30000000000000004"), "3.0000000000000004e-1"),
		LIT(&c_dbl, SNUM("-12"), "-1.2e1"),
		LIT(&c_flt, SNUM("0.1"), "1e-1"),
		/* into text: the digits as given */
		LIT(&c_vc, SNUM("-1.50"), "'-1.50'"),

		LIT_FAILS(&c_int, SNUM("1.5"), "a number with a fraction cannot be stored in an integer "
		          "column"),
		LIT_FAILS(&c_year, SNUM("2024.5"), "a number with a fraction cannot be stored in an "
		          "integer column"),
		LIT_FAILS(&c_int, SNUM("2147483648"), "value is out of the column's range"),
		LIT_FAILS(&c_int, SNUM("-2147483649"), "value is out of the column's range"),
		LIT_FAILS(&c_tiny, SNUM("128"), "value is out of the column's range"),
		LIT_FAILS(&c_i64, SNUM("9223372036854775808"), "value is out of the column's range"),
		LIT_FAILS(&c_u64, SNUM("18446744073709551616"), "value is out of the column's range"),
		LIT_FAILS(&c_u64, SNUM("100000000000000000000"), "value is out of the column's range"),
		LIT_FAILS(&c_uint, SNUM("-1"), "a negative number cannot be stored in an unsigned column"),
		LIT_FAILS(&c_decu, SNUM("-0.5"), "a negative number cannot be stored in an unsigned "
		          "column"),
		LIT_FAILS(&c_dec, SNUM("1.555"), "value has more fractional digits than the column holds"),
		LIT_FAILS(&c_dec, SNUM("12345678901"), "value is out of the column's range"),
		LIT_FAILS(&c_year, SNUM("5"), "year outside 1901..2155 (or 0)"),
		LIT_FAILS(&c_year, SNUM("1900"), "year outside 1901..2155 (or 0)"),
		LIT_FAILS(&c_year, SNUM("2156"), "year outside 1901..2155 (or 0)"),
		LIT_FAILS(&c_year, SNUM("-2024"), "year outside 1901..2155 (or 0)"),
		LIT_FAILS(&c_dbl, SNUM("1e5"), "not a valid number"),
		LIT_FAILS(&c_int, SNUM(""), "not a valid number"),
		LIT_FAILS(&c_int, SNUM("1."), "not a valid number"),
		LIT_FAILS(&c_int, SNUM(".5"), "not a valid number"),
		LIT_FAILS(&c_int, SNUM("1 OR 1=1"), "not a valid number"),
		LIT_FAILS(&c_dbl, SNUM("1e999"), "not a valid number"),
		LIT_FAILS(&c_dbl, SNUM("1" "000000000000000000000000000000000000000000000000000000000000"
		                       "0000000000000000000000000000000000000000000000000000000000000000"
		                       "0000000000000000000000000000000000000000000000000000000000000000"
		                       "0000000000000000000000000000000000000000000000000000000000000000"
		                       "0000000000000000000000000000000000000000000000000000000000000000"),
		          "value is out of the column's range"),
		LIT_FAILS(&c_flt, SNUM("1000000000000000000000000000000000000000"),
		          "value is out of the column's range"),
		LIT_FAILS(&c_int, SSPEC(SV_NUMBER, SVS_NAN, 0), "MariaDB cannot store NaN or infinity"),
		LIT_FAILS(&c_dec, SSPEC(SV_NUMBER, SVS_PINF, 0), "MariaDB cannot store NaN or infinity"),
		LIT_FAILS(&c_dbl, SSPEC(SV_NUMBER, SVS_NINF, 0), "MariaDB cannot store NaN or infinity"),
		LIT_FAILS(&c_bit, SNUM("1"), "a number cannot be stored in this column type"),
		LIT_FAILS(&c_date, SNUM("20240101"), "a number cannot be stored in this column type"),
		LIT_FAILS(&c_blob, SNUM("1"), "a number cannot be stored in this column type"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * Doubles: the shortest round-trip digits with an exponent, which MariaDB
 * reads with a correctly rounded strtod (the integration test checks the
 * stored bits). Floats: shortest digits that come back as the same float
 * through a double no larger than FLT_MAX, else the float's exact double.
 */
static void test_floats(void **state)
{
	const struct lcase cases[] = {
		LIT(&c_dbl, SFLT(0.1), "1e-1"),
		LIT(&c_dbl, SFLT(0.30000000000000004), "3.0000000000000004e-1"),
		LIT(&c_dbl, SFLT(1.5), "1.5e0"),
		LIT(&c_dbl, SFLT(100), "1e2"),
		LIT(&c_dbl, SFLT(-2.5e-10), "-2.5e-10"),
		LIT(&c_dbl, SFLT(0.0), "0e0"),
		LIT(&c_dbl, SFLT(-0.0), "-0e0"),
		LIT(&c_dbl, SFLT(5e-324), "5e-324"),
		LIT(&c_dbl, SFLT(2.2250738585072014e-308), "2.2250738585072014e-308"),
		LIT(&c_dbl, SFLT(1.7976931348623157e308), "1.7976931348623157e308"),
		LIT(&c_dbl, SFLT(-1.7976931348623157e308), "-1.7976931348623157e308"),
		LIT(&c_dbl, SFLT(123456789012345678.0), "1.2345678901234568e17"),
		LIT(&c_dbl, SFLT(9007199254740993.0), "9.007199254740992e15"),
		LIT(&c_dbl, SFLT(1e23), "1e23"),
		LIT(&c_dblu, SFLT(0.5), "5e-1"),

		LIT(&c_flt, SFLT(0.1), "1e-1"),
		LIT(&c_flt, SFLT((double)0.1f), "1e-1"),
		LIT(&c_flt, SFLT(16777217.0), "1.6777216e7"),
		LIT(&c_flt, SFLT((double)1.0000001f), "1.0000001e0"),
		LIT(&c_flt, SFLT((double)FLT_MIN), "1.1754944e-38"),
		LIT(&c_flt, SFLT(1.4e-45), "1e-45"),
		/* FLT_MAX's shortest text, 3.4028235e38, is above FLT_MAX as a double */
		LIT(&c_flt, SFLT((double)FLT_MAX), "3.4028234663852886e38"),
		LIT(&c_flt, SFLT(-(double)FLT_MAX), "-3.4028234663852886e38"),
		LIT(&c_flt, SFLT(3.4028235e38), "3.4028234663852886e38"),

		/* into exact and text columns: the shortest digits, checked as a number */
		LIT(&c_dec, SFLT(0.1), "0.1"),
		LIT(&c_dec, SFLT(-1234.5), "-1234.5"),
		LIT(&c_i64, SFLT(1e15), "1000000000000000"),
		LIT(&c_int, SFLT(-3.0), "-3"),
		LIT(&c_year, SFLT(2024.0), "2024"),
		LIT(&c_vc, SFLT(0.25), "'0.25'"),

		LIT_FAILS(&c_dbl, SFLT(NAN), "MariaDB cannot store NaN or infinity"),
		LIT_FAILS(&c_dbl, SFLT(INFINITY), "MariaDB cannot store NaN or infinity"),
		LIT_FAILS(&c_flt, SFLT(-INFINITY), "MariaDB cannot store NaN or infinity"),
		LIT_FAILS(&c_int, SFLT(NAN), "MariaDB cannot store NaN or infinity"),
		LIT_FAILS(&c_flt, SFLT(3.5e38), "value is out of the column's range"),
		LIT_FAILS(&c_dblu, SFLT(-0.5), "a negative number cannot be stored in an unsigned column"),
		LIT_FAILS(&c_int, SFLT(0.5), "a number with a fraction cannot be stored in an integer "
		          "column"),
		LIT_FAILS(&c_int, SFLT(1e300), "value is out of the column's range"),
		LIT_FAILS(&c_dec, SFLT(1e-5), "value has more fractional digits than the column holds"),
		LIT_FAILS(&c_date, SFLT(1.0), "a floating-point number cannot be stored in this column "
		          "type"),
		LIT_FAILS(&c_blob, SFLT(1.0), "a floating-point number cannot be stored in this column "
		          "type"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_bool(void **state)
{
	const struct lcase cases[] = {
		LIT(&c_bool, SBOOL(true), "1"),
		LIT(&c_bool, SBOOL(false), "0"),
		LIT(&c_int, SBOOL(true), "1"),
		LIT(&c_uint, SBOOL(false), "0"),
		LIT(&c_dec, SBOOL(true), "1"),
		LIT(&c_dbl, SBOOL(true), "1e0"),
		LIT(&c_bit, SBOOL(true), "1"),
		LIT_FAILS(&c_vc, SBOOL(true), "a boolean cannot be stored in this column type"),
		LIT_FAILS(&c_enum, SBOOL(true), "a boolean cannot be stored in this column type"),
		LIT_FAILS(&c_date, SBOOL(false), "a boolean cannot be stored in this column type"),
		LIT_FAILS(&c_blob, SBOOL(false), "a boolean cannot be stored in this column type"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Hostile text: plain quotes only when nothing in it depends on sql_mode or the client. */
static void test_text(void **state)
{
	const struct lcase cases[] = {
		LIT(&c_vc, STXT(""), "''"),
		LIT(&c_vc, STXT("plain text"), "'plain text'"),
		LIT(&c_vc, STXT("it's"), "'it''s'"),
		LIT(&c_vc, STXT("''"), "''''''"),
		LIT(&c_vc, STXT("say \"hi\""), "'say \"hi\"'"),       /* ANSI_QUOTES is about "...", not '...' */
		LIT(&c_vc, STXT("$$;--#/* */`"), "'$$;--#/* */`'"),
		LIT(&c_vc, STXT("a // DELIMITER ;"), "'a // DELIMITER ;'"),
		LIT(&c_vc, STXT("x'); DROP --"), "'x''); DROP --'"),
		LIT(&c_vc, STXT("\xf0\x9f\x98\x80 \xc3\xa9"), "'\xf0\x9f\x98\x80 \xc3\xa9'"),
		LIT(&c_vc, STXT("back\\slash"), "_utf8mb4 X'6261636b5c736c617368'"),
		LIT(&c_vc, STXT("\\'"), "_utf8mb4 X'5c27'"),
		LIT(&c_vc, STXT("a\nb"), "_utf8mb4 X'610a62'"),
		LIT(&c_vc, STXT("a\tb"), "_utf8mb4 X'610962'"),
		LIT(&c_vc, STXT("cr\r"), "_utf8mb4 X'63720d'"),
		LIT(&c_vc, STXT("nul\0x"), "_utf8mb4 X'6e756c0078'"),
		LIT(&c_vc, STXT("del\x7f"), "_utf8mb4 X'64656c7f'"),
		LIT(&c_vc, STXT("\xc2\x85"), "_utf8mb4 X'c285'"),                 /* C1 NEL */
		LIT(&c_vc, STXT("abc\xe2\x80\xae" "fed"), "_utf8mb4 X'616263e280ae666564'"), /* RLO */
		LIT(&c_vc, STXT("zero\xe2\x80\x8bwidth"), "_utf8mb4 X'7a65726fe2808b7769647468'"),
		LIT(&c_vc, STXT("\xef\xbb\xbf"), "_utf8mb4 X'efbbbf'"),           /* BOM */
		/* lengths: varchar and char count characters, TEXT types bytes */
		LIT(&c_vc, STXT("12345678901234567890"), "'12345678901234567890'"),
		LIT(&c_char, STXT("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
		    "'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'"),
		LIT(&c_l1, STXT("\xc3\x84pfel"), "'\xc3\x84pfel'"),
		LIT(&c_text, STXT("t"), "'t'"),
		/* server-parsed types get the same text */
		LIT(&c_json, STXT("{\"a\": [1, \"it's\"]}"), "'{\"a\": [1, \"it''s\"]}'"),
		LIT(&c_json, STXT("{\"a\": \"\\n\"}"), "_utf8mb4 X'7b2261223a20225c6e227d'"),
		LIT(&c_uuid, STXT("123e4567-e89b-12d3-a456-426614174000"),
		    "'123e4567-e89b-12d3-a456-426614174000'"),
		LIT(&c_inet, STXT("2001:db8::1"), "'2001:db8::1'"),
		LIT(&c_int, STXT("12"), "'12'"),
		/* enum and set: labels byte for byte, sets in declared order */
		LIT(&c_enum, STXT("small"), "'small'"),
		LIT(&c_enum, STXT("it's"), "'it''s'"),
		LIT(&c_enum, STXT("back\\slash"), "_utf8mb4 X'6261636b5c736c617368'"),
		LIT(&c_enum, STXT(""), "''"),
		LIT(&c_set, STXT("x,z"), "'x,z'"),
		LIT(&c_set, STXT(""), "''"),
		LIT(&c_set, STXT("y"), "'y'"),
		/* into binary columns: the UTF-8 bytes */
		LIT(&c_blob, STXT("it's"), "X'69742773'"),
		LIT(&c_vb, STXT(""), "X''"),
		LIT(&c_bit, STXT("\x02"), "X'02'"),

		LIT_FAILS(&c_vc, STXT("\xff"), "text is not valid UTF-8"),
		LIT_FAILS(&c_vc, STXT("\xc0\xaf"), "text is not valid UTF-8"),          /* overlong '/' */
		LIT_FAILS(&c_vc, STXT("\xed\xa0\x80"), "text is not valid UTF-8"),      /* surrogate */
		LIT_FAILS(&c_vc, STXT("\xe2\x82"), "text is not valid UTF-8"),          /* cut short */
		LIT_FAILS(&c_vc, STXT("123456789012345678901"), "value is longer than the column holds"),
		LIT_FAILS(&c_char, STXT("abcdef"), "value is longer than the column holds"),
		LIT_FAILS(&c_l1, STXT("\xc3\x84pfel\xc3\x84pfelx"), "value is longer than the column holds"),
		/* latin1 is cp1252: the euro sign fits, U+0133 and a C1 control cp1252 names do not */
		LIT(&c_l1, STXT("\xe2\x82\xac" "5"), "'\xe2\x82\xac" "5'"),
		LIT_FAILS(&c_l1, STXT("\xc4\xb3"), "text holds a character the column's character set cannot hold"),
		LIT_FAILS(&c_l1, STXT("\xc2\x80"), "text holds a character the column's character set cannot hold"),
		/* 64 four-byte characters: 64 characters but 256 bytes for a tinytext */
		LIT_FAILS(&c_ttext, STXT(EMOJI64), "value is longer than the column holds"),
		LIT(&c_ttext, STXT(EMOJI63), "'" EMOJI63 "'"),
		LIT_FAILS(&c_enum, STXT("SMALL"), "value is not one of the column's labels"),
		LIT_FAILS(&c_enum, STXT("small "), "value is not one of the column's labels"),
		LIT_FAILS(&c_set, STXT("z,x"), "value is not a list of the column's labels in declared "
		          "order"),
		LIT_FAILS(&c_set, STXT("x,x"), "value is not a list of the column's labels in declared "
		          "order"),
		LIT_FAILS(&c_set, STXT("x,"), "value is not a list of the column's labels in declared "
		          "order"),
		LIT_FAILS(&c_set, STXT("X"), "value is not a list of the column's labels in declared "
		          "order"),
		LIT_FAILS(&c_vb, STXT("12345"), "value is longer than the column holds"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_bytes(void **state)
{
	const struct lcase cases[] = {
		LIT(&c_blob, SBYT(""), "X''"),
		LIT(&c_blob, SBYT("\x00\xff'\\\n"), "X'00ff275c0a'"),
		LIT(&c_vb, SBYT("\x01\x02\x03\x04"), "X'01020304'"),
		LIT(&c_bin16, SBYT("\x01"), "X'01'"),
		LIT(&c_bit, SBYT("\x03\xff"), "X'03ff'"),
		LIT(&c_bit, SBYT("\x00\x00\x00\x01"), "X'00000001'"),
		LIT(&c_bit, SBYT(""), "X''"),
		LIT(&c_geo, SBYT("\x00\x00\x00\x00\x01"), "X'0000000001'"),
		/* into text: only valid UTF-8, as text */
		LIT(&c_vc, SBYT("it's"), "'it''s'"),
		LIT(&c_vc, SBYT("a\\b"), "_utf8mb4 X'615c62'"),
		LIT_FAILS(&c_vc, SBYT("\xff\xfe"), "text is not valid UTF-8"),
		LIT_FAILS(&c_vb, SBYT("12345"), "value is longer than the column holds"),
		LIT_FAILS(&c_bit, SBYT("\x04\x00"), "value is out of the column's range"),
		LIT_FAILS(&c_bit, SBYT("\x01\x00\x00"), "value is out of the column's range"),
		LIT_FAILS(&c_int, SBYT("1"), "binary data cannot be stored in this column type"),
		LIT_FAILS(&c_date, SBYT("1"), "binary data cannot be stored in this column type"),
		/* bit strings: into BIT(n) only, leading zeros dropped, the set bits checked */
		LIT(&c_bit, SBITS("0000000011"), "b'11'"),
		LIT(&c_bit, SBITS("000000000001111111111"), "b'1111111111'"),
		LIT(&c_bit, SBITS("000"), "b'0'"),
		LIT(&c_bit, SBITS(""), "b'0'"),
		LIT_FAILS(&c_bit, SBITS("10000000000"), "value is out of the column's range"),
		LIT_FAILS(&c_bit, SBITS("012"), "not a valid bit string"),
		LIT_FAILS(&c_int, SBITS("1"), "a bit string cannot be stored in this column type"),
		LIT_FAILS(&c_blob, SBITS("1"), "a bit string cannot be stored in this column type"),
		/* a geometry (or any type tally does not know) takes bytes, and text as text */
		LIT(&c_geo, STXT("ab"), "'ab'"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_temporal(void **state)
{
	const struct lcase cases[] = {
		LIT(&c_date, SDATE(0), "'2000-01-01'"),
		LIT(&c_date, SDATE(8825), "'2024-02-29'"),
		LIT(&c_date, SDATE(-730119), "'0001-01-01'"),
		LIT(&c_date, SDATE(2921939), "'9999-12-31'"),
		LIT(&c_date, SSPEC(SV_DATE, SVS_ZERO, 0), "'0000-00-00'"),
		LIT(&c_date, SSPEC(SV_DATE, SVS_ZERO, 20240100), "'2024-01-00'"),
		LIT_FAILS(&c_date, SDATE(-730120), "year outside 0001..9999"),
		LIT_FAILS(&c_date, SDATE(2921940), "year outside 0001..9999"),
		/* The extremes of int64 are dates too (the year was computed with an overflow). */
		LIT_FAILS(&c_date, SDATE(INT64_MAX), "year outside 0001..9999"),
		LIT_FAILS(&c_date, SDATE(INT64_MIN), "year outside 0001..9999"),
		LIT_FAILS(&c_dt6, STS(INT64_MIN), "year outside 0001..9999"),
		LIT_FAILS(&c_date, SSPEC(SV_DATE, SVS_PINF, 0), "MariaDB cannot store infinity"),
		LIT_FAILS(&c_date, SSPEC(SV_DATE, SVS_NINF, 0), "MariaDB cannot store infinity"),
		LIT_FAILS(&c_date, SSPEC(SV_DATE, SVS_ZERO, 100000000), "not a valid zero date"),
		LIT_FAILS(&c_date, SSPEC(SV_DATE, SVS_NAN, 0), "not a valid date or time"),
		LIT_FAILS(&c_time, SSPEC(SV_TIME, SVS_ZERO, 0), "not a valid date or time"),
		LIT_FAILS(&c_dt0, SDATE(0), "a date cannot be stored in this column type"),
		LIT_FAILS(&c_vc, SDATE(0), "a date cannot be stored in this column type"),

		/* datetime: exactly the column's fractional digits */
		LIT(&c_dt0, STS(757479845000000), "'2024-01-02 03:04:05'"),
		LIT(&c_dt3, STS(757479845000000), "'2024-01-02 03:04:05.000'"),
		LIT(&c_dt3, STS(757479845120000), "'2024-01-02 03:04:05.120'"),
		LIT(&c_dt6, STS(757479845123456), "'2024-01-02 03:04:05.123456'"),
		LIT(&c_dt6, STS(-1), "'1999-12-31 23:59:59.999999'"),
		LIT(&c_dt6, STS(INT64_C(252455615999999999)), "'9999-12-31 23:59:59.999999'"),
		LIT(&c_dt0, STS(INT64_C(-63082281600000000)), "'0001-01-01 00:00:00'"),
		LIT(&c_dt0, STSTZ(757479845000000), "'2024-01-02 03:04:05'"),   /* UTC */
		LIT(&c_dt0, SSPEC(SV_TIMESTAMP, SVS_ZERO, 0), "'0000-00-00 00:00:00'"),
		LIT(&c_dt3, SSPEC(SV_TIMESTAMP, SVS_ZERO, 20240100 * DAY + 3723500000),
		    "'2024-01-00 01:02:03.500'"),
		LIT_FAILS(&c_dt0, STS(757479845100000), "value has more fractional digits than the column "
		          "holds"),
		LIT_FAILS(&c_dt3, STS(757479845123400), "value has more fractional digits than the column "
		          "holds"),
		LIT_FAILS(&c_dt3, SSPEC(SV_TIMESTAMP, SVS_ZERO, 1), "value has more fractional digits than "
		          "the column holds"),
		LIT_FAILS(&c_dt0, STS(INT64_C(-63082281600000000) - 1000000), "year outside 0001..9999"),
		LIT_FAILS(&c_dt6, STS(INT64_C(252455616000000000)), "year outside 0001..9999"),
		LIT_FAILS(&c_dt0, SSPEC(SV_TIMESTAMP, SVS_PINF, 0), "MariaDB cannot store infinity"),
		LIT_FAILS(&c_dt0, SSPEC(SV_TIMESTAMPTZ, SVS_NINF, 0), "MariaDB cannot store infinity"),
		LIT_FAILS(&c_time, STS(0), "a timestamp cannot be stored in this column type"),

		/* timestamp: UTC text within 1970-01-01 00:00:00.000001 .. 2038-01-19 03:14:07.999999 */
		LIT(&c_ts, STSTZ(757479845000000), "'2024-01-02 03:04:05'"),
		LIT(&c_ts3, STSTZ(757479845123000), "'2024-01-02 03:04:05.123'"),
		LIT(&c_ts3, STS(757479845123000), "'2024-01-02 03:04:05.123'"),
		LIT(&c_ts, STSTZ(-946684800000000 + 1000000), "'1970-01-01 00:00:01'"),
		LIT(&c_ts3, STSTZ(-946684800000000 + 1000), "'1970-01-01 00:00:00.001'"),
		LIT(&c_ts, STSTZ(1200798847000000), "'2038-01-19 03:14:07'"),
		LIT(&c_ts3, STSTZ(1200798847999000), "'2038-01-19 03:14:07.999'"),
		LIT(&c_ts, SSPEC(SV_TIMESTAMPTZ, SVS_ZERO, 0), "'0000-00-00 00:00:00'"),
		LIT_FAILS(&c_ts, STSTZ(-946684800000000), "timestamp outside 1970-01-01 00:00:00.000001.."
		          "2038-01-19 03:14:07.999999 UTC"),
		LIT_FAILS(&c_ts, STSTZ(1200798848000000), "timestamp outside 1970-01-01 00:00:00.000001.."
		          "2038-01-19 03:14:07.999999 UTC"),
		LIT_FAILS(&c_ts, STSTZ(INT64_C(-63082281600000000)), "timestamp outside 1970-01-01 "
		          "00:00:00.000001..2038-01-19 03:14:07.999999 UTC"),
		LIT_FAILS(&c_ts, STSTZ(757479845500000), "value has more fractional digits than the column "
		          "holds"),
		LIT_FAILS(&c_ts, SSPEC(SV_TIMESTAMPTZ, SVS_PINF, 0), "MariaDB cannot store infinity"),

		/* time: -838:59:59.999999 .. 838:59:59.999999 */
		LIT(&c_time, STIME(0), "'00:00:00'"),
		LIT(&c_time, STIME(INT64_C(3020399000000)), "'838:59:59'"),
		LIT(&c_time, STIME(-INT64_C(3020399000000)), "'-838:59:59'"),
		LIT(&c_time6, STIME(-1250000), "'-00:00:01.250000'"),
		LIT(&c_time6, STIME(INT64_C(3020399999999)), "'838:59:59.999999'"),
		LIT(&c_time6, STIME(-INT64_C(3020399999999)), "'-838:59:59.999999'"),
		LIT(&c_time6, STIME(INT64_C(90061000001)), "'25:01:01.000001'"),
		LIT_FAILS(&c_time, STIME(1500000), "value has more fractional digits than the column "
		          "holds"),
		LIT_FAILS(&c_time6, STIME(INT64_C(3020400000000)), "time outside -838:59:59.999999.."
		          "838:59:59.999999"),
		LIT_FAILS(&c_time6, STIME(-INT64_C(3020400000000)), "time outside -838:59:59.999999.."
		          "838:59:59.999999"),
		LIT_FAILS(&c_time, SSPEC(SV_TIME, SVS_PINF, 0), "MariaDB cannot store infinity"),
		LIT_FAILS(&c_dt0, STIME(0), "a time cannot be stored in this column type"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_uuid_and_raw(void **state)
{
	const struct lcase cases[] = {
		LIT(&c_uuid, SUUID("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"),
		    "'123e4567-e89b-12d3-a456-426614174000'"),
		LIT(&c_text, SUUID("\0\0\0\0\0\0\0\0\0\0\0\0\0\xff\0\0"),
		    "'00000000-0000-0000-0000-000000ff0000'"),
		LIT_FAILS(&c_vc, SUUID("\xff\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
		          "value is longer than the column holds"),
		LIT(&c_bin16, SUUID("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"),
		    "X'123e4567e89b12d3a456426614174000'"),
		LIT_FAILS(&c_uuid, SUUID("\x12\x3e"), "a uuid value must have 16 bytes"),
		LIT_FAILS(&c_int, SUUID("0123456789abcdef"), "a uuid cannot be stored in this column type"),

		/* the engine's own text: bytes for binary types, text otherwise */
		LIT(&c_blob, SRAW("\x00\x01'"), "X'000127'"),
		LIT(&c_bit, SRAW("\x02\x01"), "X'0201'"),
		LIT(&c_geo, SRAW("\x00\x00\x00\x00\x01\x01\x00\x00\x00"), "X'000000000101000000'"),
		LIT(&c_json, SRAW("{\"k\": \"v\\\"\"}"), "_utf8mb4 X'7b226b223a2022765c22227d'"),
		LIT(&c_json, SRAW("[]"), "'[]'"),
		LIT(&c_uuid, SRAW("00000000-0000-0000-0000-000000000000"),
		    "'00000000-0000-0000-0000-000000000000'"),
		LIT(&c_inet, SRAW("::"), "'::'"),
		LIT(&c_year, SRAW("0000"), "'0000'"),
		LIT(&c_set, SRAW("x,y,z"), "'x,y,z'"),
		LIT(&c_vc, SRAW("a\tb"), "_utf8mb4 X'610962'"),
		LIT_FAILS(&c_json, SRAW("\xfe"), "text is not valid UTF-8"),
		LIT_FAILS(&c_enum, SRAW("Small"), "value is not one of the column's labels"),
		LIT_FAILS(&c_bit, SRAW("\x04\x00"), "value is out of the column's range"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- range bounds ---------------------------------------------------------------- */

/* Numbers are floored to what the column holds and clamped beyond it, never refused. */
static void test_bound_numbers(void **state)
{
	char huge[420], neg_huge[420];

	memset(huge, '9', 400);
	huge[400] = '\0';
	neg_huge[0] = '-';
	memcpy(neg_huge + 1, huge, 401);

	const struct lcase cases[] = {
		BOUND(&c_int, SNUM("42"), "42"),
		BOUND(&c_int, SNUM("007"), "7"),
		BOUND(&c_int, SNUM("1.5"), "1"),
		BOUND(&c_int, SNUM("0.5"), "0"),
		BOUND(&c_int, SNUM("-0.5"), "-1"),
		BOUND(&c_int, SNUM("-1.5"), "-2"),
		BOUND(&c_tiny, SNUM("300"), "300"),              /* no range check */
		BOUND(&c_uint, SNUM("-1"), "-1"),
		BOUND(&c_u64, SNUM("18446744073709551616"), "18446744073709551616"),
		BOUND(&c_int, SNUM("123456789012345678901"), "100000000000000000000"),
		BOUND(&c_int, SNUM("-123456789012345678901.5"), "-100000000000000000000"),
		BOUND(&c_dec, SNUM("1.555"), "1.55"),
		BOUND(&c_dec, SNUM("-1.555"), "-1.56"),
		BOUND(&c_dec, SNUM("-1.999"), "-2"),
		BOUND(&c_dec, SNUM("-9.999"), "-10"),
		BOUND(&c_dec, SNUM("-0.001"), "-0.01"),
		BOUND(&c_dec, SNUM("0.001"), "0"),
		BOUND(&c_dec, SNUM("12345678901.5"), "10000000000"),   /* decimal(12,2): 10 digits */
		BOUND(&c_decu, SNUM("-0.5"), "-1"),
		/* YEAR: 1..99 would mean 1970..2069 and others are clipped */
		BOUND(&c_year, SNUM("2024"), "2024"),
		BOUND(&c_year, SNUM("2024.5"), "2024"),
		BOUND(&c_year, SNUM("5"), "0"),
		BOUND(&c_year, SNUM("1900"), "0"),
		BOUND(&c_year, SNUM("0"), "0"),
		BOUND(&c_year, SNUM("-3"), "-1"),
		BOUND(&c_year, SNUM("3000"), "2155"),
		BOUND(&c_year, SNUM("12345678901234567890"), "2155"),
		/* floats: the largest double not above the number */
		BOUND(&c_dbl, SNUM("0.5"), "5e-1"),
		BOUND(&c_dbl, SNUM("0.1"), "9.999999999999999e-2"),
		BOUND(&c_dbl, SNUM("0.30000000000000004"), "3e-1"),
		BOUND(&c_flt, SNUM("0.1"), "9.999999999999999e-2"),
		BOUND(&c_dbl, SNUM("-0.1"), "-1e-1"),
		BOUND(&c_dbl, ((struct sqlval){ .kind = SV_NUMBER, .s = huge, .len = 400 }),
		      "1.7976931348623157e308"),
		BOUND_FAILS(&c_dbl, ((struct sqlval){ .kind = SV_NUMBER, .s = neg_huge, .len = 401 }),
		            "number is below the range of a double"),
		BOUND(&c_flt, SFLT(0.1), "1e-1"),                /* compared as doubles */
		BOUND(&c_int, SFLT(2.5), "2"),
		BOUND(&c_int, SFLT(-2.5), "-3"),
		BOUND(&c_int, SBOOL(true), "1"),
		BOUND(&c_vc, SNUM("-1.50"), "'-1.50'"),

		BOUND_FAILS(&c_int, SSPEC(SV_NUMBER, SVS_NAN, 0), "MariaDB cannot compare NaN or infinity"),
		BOUND_FAILS(&c_dec, SSPEC(SV_NUMBER, SVS_PINF, 0), "MariaDB cannot compare NaN or "
		            "infinity"),
		BOUND_FAILS(&c_dbl, SFLT(NAN), "MariaDB cannot compare NaN or infinity"),
		BOUND_FAILS(&c_dbl, SFLT(-INFINITY), "MariaDB cannot compare NaN or infinity"),
		BOUND_FAILS(&c_int, SNUM("1e5"), "not a valid number"),
		BOUND_FAILS(&c_int, STXT("5"), "text cannot be compared with this column type"),
		BOUND_FAILS(&c_date, SNUM("5"), "a number cannot be compared with this column type"),
		BOUND_FAILS(&c_int, SNULL, "a range bound cannot be NULL"),
		/* booleans are the numbers 1 and 0 */
		BOUND(&c_dbl, SBOOL(true), "1e0"),
		BOUND(&c_flt, SBOOL(false), "0e0"),
		BOUND(&c_dec, SBOOL(true), "1"),
		BOUND(&c_bool, SBOOL(false), "0"),
		BOUND_FAILS(&c_vc, SBOOL(true), "a boolean cannot be compared with this column type"),
		/* a number is no label, nor a float text */
		BOUND_FAILS(&c_enum, SNUM("1"), "a number cannot be compared with this column type"),
		LIT_FAILS(&c_enum, SNUM("1"), "value is not one of the column's labels"),
		BOUND_FAILS(&c_vc, SFLT(0.25), "a floating-point number cannot be compared with this "
		            "column type"),
		BOUND_FAILS(&c_bit, SFLT(1.0), "a floating-point number cannot be compared with this "
		            "column type"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static const struct coldesc c_l1ci = { .name = "l1", .native = "varchar(10)", .type = LT_TEXT,
                                       .length = 10, .charset = "latin1",
                                       .collation = "latin1_swedish_ci" };
static const struct coldesc c_mb3 = { .name = "m3", .native = "varchar(10)", .type = LT_TEXT,
                                      .length = 10, .charset = "utf8mb3",
                                      .collation = "utf8mb3_general_ci" };
static const struct coldesc c_asc = { .name = "a", .native = "varchar(10)", .type = LT_TEXT,
                                      .length = 10, .charset = "ascii",
                                      .collation = "ascii_general_ci" };
static char *enum_nl_labels[] = { "zeta", "alpha", "Mid" };
static const struct coldesc c_enum_nl = { .name = "e", .native = "enum('zeta','alpha','Mid')",
                                          .type = LT_ENUM, .charset = "utf8mb4",
                                          .labels = enum_nl_labels, .nlabels = 3 };
static const struct coldesc c_enum_q = { .name = "e", .native = "enum", .type = LT_ENUM,
                                         .charset = "utf8mb4" };

/* Text coerces to the column's collation; enum and set compare by index. */
static void test_bound_text(void **state)
{
	const struct lcase cases[] = {
		BOUND(&c_vc, STXT("it's"), "'it''s'"),
		BOUND(&c_vc, STXT("a\\b"), "_utf8mb4 X'615c62'"),
		BOUND(&c_vc, STXT("a\t"), "_utf8mb4 X'6109'"),
		BOUND(&c_vc, STXT("longer than the twenty characters"),
		      "'longer than the twenty characters'"),            /* no length check */
		BOUND(&c_char, STXT("abcdefg"), "'abcdefg'"),
		BOUND(&c_vc, STXT("\xf0\x9f\x98\x80"), "'\xf0\x9f\x98\x80'"),
		BOUND(&c_vc, SBYT("abc"), "'abc'"),
		/* latin1 is cp1252 with five C1 controls: every character it holds passes */
		BOUND(&c_l1ci, STXT("\xc3\x84\xc3\x9f\xe2\x82\xac\xc5\xb8\xc3\xbf"),
		      "'\xc3\x84\xc3\x9f\xe2\x82\xac\xc5\xb8\xc3\xbf'"),
		BOUND(&c_l1ci, STXT("\xc2\x81"), "_utf8mb4 X'c281'"),
		BOUND_FAILS(&c_l1ci, STXT("\xc4\x81"), "text holds a character the column's character set "
		            "cannot hold"),
		BOUND_FAILS(&c_l1ci, STXT("\xc2\x80"), "text holds a character the column's character set "
		            "cannot hold"),
		BOUND_FAILS(&c_l1ci, STXT("\xf0\x9f\x98\x80"), "text holds a character the column's "
		            "character set cannot hold"),
		BOUND(&c_mb3, STXT("\xef\xbf\xbd"), "'\xef\xbf\xbd'"),
		BOUND_FAILS(&c_mb3, STXT("\xf0\x9f\x98\x80"), "text holds a character the column's "
		            "character set cannot hold"),
		BOUND(&c_asc, STXT("~"), "'~'"),
		BOUND_FAILS(&c_asc, STXT("\xc3\xa9"), "text holds a character the column's character set "
		            "cannot hold"),
		BOUND_FAILS(&c_vc, STXT("\xff"), "text is not valid UTF-8"),

		BOUND(&c_enum_nl, STXT("zeta"), "1"),
		BOUND(&c_enum_nl, STXT("Mid"), "3"),
		BOUND(&c_enum_nl, STXT(""), "0"),                /* the invalid value */
		BOUND(&c_enum, STXT("back\\slash"), "3"),
		BOUND_FAILS(&c_enum_nl, STXT("mid"), "value is not one of the column's labels"),
		BOUND_FAILS(&c_enum, STXT(""), "an empty value is ambiguous: it may be the declared label "
		            "'' or the invalid value"),
		BOUND_FAILS(&c_enum_q, STXT("zeta"), "the column's labels are unknown"),
		BOUND(&c_set, STXT("x,z"), "5"),
		BOUND(&c_set, STXT("z,y"), "6"),
		BOUND(&c_set, STXT(""), "0"),
		BOUND_FAILS(&c_set, STXT("x,w"), "value is not a list of the column's labels"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_bound_other(void **state)
{
	const struct lcase cases[] = {
		BOUND(&c_bin16, SBYT("\x01"), "X'01'"),
		BOUND(&c_vb, SBYT("\x00\xff\x00\xff\x00\xff"), "X'00ff00ff00ff'"),   /* no length check */
		BOUND(&c_blob, STXT("ab"), "X'6162'"),
		BOUND(&c_bit, SBYT("\x02\x01"), "513"),
		BOUND(&c_bit, SBYT("\x00\x00\x03"), "3"),
		BOUND(&c_bit, SBYT(""), "0"),
		BOUND(&c_bit, SBYT("\x01\x00\x00\x00\x00\x00\x00\x00\x00"), "18446744073709551615"),
		BOUND(&c_bit, SBOOL(true), "1"),
		BOUND(&c_uuid, SUUID("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"),
		      "'123e4567-e89b-12d3-a456-426614174000'"),
		BOUND(&c_uuid, STXT("123E4567-E89B-12D3-A456-426614174000"),
		      "'123E4567-E89B-12D3-A456-426614174000'"),
		BOUND(&c_bin16, SUUID("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"),
		      "X'123e4567e89b12d3a456426614174000'"),
		BOUND_FAILS(&c_uuid, STXT("x'"), "not a valid uuid"),
		BOUND(&c_inet, STXT("::ffff:10.0.0.1"), "'::ffff:10.0.0.1'"),
		BOUND_FAILS(&c_inet, STXT("1.2.3.4'"), "not a valid address"),
		BOUND(&c_geo, STXT("ab"), "X'6162'"),
		BOUND(&c_int, SRAW("12"), "'12'"),
		BOUND_FAILS(&c_int, SBYT("1"), "binary data cannot be compared with this column type"),
		BOUND_FAILS(&c_date, STXT("2024-01-01"), "text cannot be compared with this column type"),
		/* a uuid compares with a JSON column as text, though a repair cannot store it there */
		BOUND(&c_json, SUUID("\x12\x3e\x45\x67\xe8\x9b\x12\xd3"
		                     "\xa4\x56\x42\x66\x14\x17\x40\x00"),
		      "'123e4567-e89b-12d3-a456-426614174000'"),
		LIT_FAILS(&c_json, SUUID("\x12\x3e\x45\x67\xe8\x9b\x12\xd3"
		                         "\xa4\x56\x42\x66\x14\x17\x40\x00"),
		          "a uuid cannot be stored in this column type"),
		/*
		 * A bit string is written into BIT(n) as a value is, range check
		 * included, and refused in a value's words.
		 */
		BOUND(&c_bit, SBITS("0101"), "b'101'"),
		{ true, &c_bit, SBITS("10000000000"), NULL, "value is out of the column's range", "a value" },
		{ true, &c_bit, SBITS("2"), NULL, "not a valid bit string", "a value" },
		BOUND_FAILS(&c_int, SBITS("1"), "a bit string cannot be compared with this column type"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_bound_temporal(void **state)
{
	const int64_t y10000 = INT64_C(2921940), y0mar1 = INT64_C(-730425);
	const int64_t y_1 = INT64_C(-730850);      /* -0001-01-01: 2 BC */

	const struct lcase cases[] = {
		BOUND(&c_date, SDATE(0), "'2000-01-01'"),
		BOUND(&c_date, SDATE(y0mar1), "'0000-03-01'"),
		BOUND(&c_date, SDATE(y10000), "'9999-12-31'"),
		BOUND(&c_date, SDATE(y10000 * 100), "'9999-12-31'"),
		BOUND(&c_date, SSPEC(SV_DATE, SVS_ZERO, 20240000), "'2024-00-00'"),
		BOUND(&c_date, SSPEC(SV_DATE, SVS_ZERO, 0), "'0000-00-00'"),
		BOUND_FAILS(&c_date, SDATE(y_1), "a date before the year 0000 cannot be compared"),
		BOUND_FAILS(&c_date, SSPEC(SV_DATE, SVS_PINF, 0), "MariaDB cannot compare infinity"),
		BOUND_FAILS(&c_date, STS(0), "a timestamp cannot be compared with this column type"),

		/* fractions are floored to the column's digits */
		BOUND(&c_dt0, STS(500000), "'2000-01-01 00:00:00'"),
		BOUND(&c_dt0, STS(-1), "'1999-12-31 23:59:59'"),
		BOUND(&c_dt3, STS(1234567), "'2000-01-01 00:00:01.234'"),
		BOUND(&c_dt3, STS(-1), "'1999-12-31 23:59:59.999'"),
		BOUND(&c_dt6, STS(1), "'2000-01-01 00:00:00.000001'"),
		BOUND(&c_dt0, STS(y0mar1 * DAY + 1), "'0000-03-01 00:00:00'"),
		BOUND(&c_dt0, STS(y10000 * DAY), "'9999-12-31 23:59:59'"),
		BOUND(&c_dt3, STS(y10000 * DAY + 5), "'9999-12-31 23:59:59.999'"),
		BOUND(&c_dt0, SSPEC(SV_TIMESTAMP, SVS_ZERO, 1500000), "'0000-00-00 00:00:01'"),
		BOUND(&c_dt3, SSPEC(SV_TIMESTAMP, SVS_ZERO, 20240100 * DAY + 1500000),
		      "'2024-01-00 00:00:01.500'"),
		BOUND_FAILS(&c_dt0, STS(y_1 * DAY), "a date before the year 0000 cannot be compared"),
		BOUND_FAILS(&c_dt0, SSPEC(SV_TIMESTAMP, SVS_NINF, 0), "MariaDB cannot compare infinity"),
		/* a TIMESTAMP compares with any datetime; its own range is not checked */
		BOUND(&c_ts, STSTZ(INT64_C(50) * 365 * DAY), "'2049-12-19 00:00:00'"),
		BOUND(&c_ts, STSTZ(-40 * 365 * DAY), "'1960-01-11 00:00:00'"),
		BOUND(&c_ts3, STSTZ(1500), "'2000-01-01 00:00:00.001'"),

		BOUND(&c_time, STIME(-1500000), "'-00:00:02'"),
		BOUND(&c_time, STIME(INT64_C(900) * 3600000000), "'838:59:59'"),
		BOUND(&c_time6, STIME(INT64_C(900) * 3600000000), "'838:59:59.999999'"),
		BOUND(&c_time6, STIME(1), "'00:00:00.000001'"),
		BOUND_FAILS(&c_time, STIME(INT64_C(-900) * 3600000000), "a time below -838:59:59.999999 "
		            "cannot be compared"),
		/* Times at the ends of int64 (flooring INT64_MIN to seconds overflowed). */
		BOUND_FAILS(&c_time, STIME(INT64_MIN), "a time below -838:59:59.999999 cannot be compared"),
		BOUND_FAILS(&c_time6, STIME(INT64_MIN), "a time below -838:59:59.999999 cannot be compared"),
		BOUND(&c_time, STIME(INT64_MAX), "'838:59:59'"),
		LIT_FAILS(&c_time6, STIME(INT64_MIN), "time outside -838:59:59.999999..838:59:59.999999"),
		/* A zero datetime is never negative (flooring one near INT64_MIN overflowed). */
		BOUND_FAILS(&c_dt0, SSPEC(SV_TIMESTAMP, SVS_ZERO, INT64_MIN + 1), "not a valid zero date"),
		BOUND_FAILS(&c_date, SSPEC(SV_DATE, SVS_ZERO, -1), "not a valid zero date"),
		BOUND_FAILS(&c_dt0, SSPEC(SV_TIMESTAMP, SVS_ZERO, 99991232 * DAY),
		            "not a valid zero date"),
		BOUND_FAILS(&c_date, SSPEC(SV_DATE, SVS_ZERO, 100000000), "not a valid zero date"),
		BOUND(&c_dt0, SSPEC(SV_TIMESTAMP, SVS_ZERO, 99991231 * DAY + DAY - 1),
		      "'9999-12-31 23:59:59'"),
		BOUND_FAILS(&c_time, SSPEC(SV_TIME, SVS_ZERO, 0), "not a valid date or time"),
		BOUND_FAILS(&c_time, SSPEC(SV_TIME, SVS_PINF, 0), "MariaDB cannot compare infinity"),
		BOUND_FAILS(&c_time, SDATE(0), "a date cannot be compared with this column type"),
		/* A date beyond every year: clamped, computed without overflow. */
		BOUND(&c_date, SDATE(INT64_MAX), "'9999-12-31'"),
		BOUND_FAILS(&c_date, SDATE(INT64_MIN), "a date before the year 0000 cannot be compared"),
	};

	(void)state;
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static const struct coldesc c_nopad = { .name = "np", .native = "varchar(10)", .type = LT_TEXT,
                                        .length = 10, .charset = "utf8mb4",
                                        .collation = "utf8mb4_nopad_bin" };
static const struct coldesc c_mb3np = { .name = "np3", .native = "varchar(10)", .type = LT_TEXT,
                                        .length = 10, .charset = "utf8mb3",
                                        .collation = "utf8mb3_nopad_bin" };
static const struct coldesc c_ascnp = { .name = "npa", .native = "varchar(10)", .type = LT_TEXT,
                                        .length = 10, .charset = "ascii",
                                        .collation = "ascii_nopad_bin" };
static const struct coldesc c_l1np = { .name = "npl", .native = "varchar(10)", .type = LT_TEXT,
                                       .length = 10, .charset = "latin1",
                                       .collation = "latin1_nopad_bin" };
static const struct coldesc c_bin = { .name = "b", .native = "varchar(10)", .type = LT_TEXT,
                                      .length = 10, .charset = "utf8mb4",
                                      .collation = "utf8mb4_bin" };
static const struct coldesc c_charnp = { .name = "cn", .native = "char(5)", .type = LT_CHAR,
                                         .length = 5, .fixed = true, .charset = "utf8mb4",
                                         .collation = "utf8mb4_nopad_bin" };

static void test_order_is_bytewise(void **state)
{
	static const struct { const struct coldesc *col; bool want; } cases[] = {
		{ &c_int, true }, { &c_uint, true }, { &c_bool, true }, { &c_u64, true },
		{ &c_dec, true }, { &c_year, true }, { &c_date, true }, { &c_time, true },
		{ &c_dt6, true }, { &c_ts3, true }, { &c_bin16, true }, { &c_vb, true },
		{ &c_blob, true },
		{ &c_nopad, true }, { &c_mb3np, true }, { &c_ascnp, true },
		{ &c_l1np, false }, { &c_bin, false }, { &c_vc, false }, { &c_text, false },
		{ &c_l1ci, false }, { &c_charnp, false }, { &c_char, false },
		{ &c_dbl, false }, { &c_flt, false }, { &c_bit, false }, { &c_uuid, false },
		{ &c_inet, false }, { &c_enum, false }, { &c_set, false }, { &c_json, false },
		{ &c_geo, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mariadb_ops.order_is_bytewise(cases[i].col) != cases[i].want)
			fail_msg("column %s (%s %s): expected %s", cases[i].col->name,
			         cases[i].col->native, cases[i].col->collation ? cases[i].col->collation
			         : "-", cases[i].want ? "bytewise" : "not bytewise");
}

/* ---- scripts ---------------------------------------------------------------------- */

/*
 * A table whose names hold a backtick, a quote and a backslash:
 *   shop.or`d'er\s (id INT, na`m'e\ VARCHAR (utf8mb4_general_ci), tag VARBINARY,
 *                   qty INT, note VARCHAR, price DOUBLE)
 * keyed by (id, na`m'e\, tag).
 */
static struct coldesc hostile_cols[] = {
	{ .name = "id", .native = "int(11)", .type = LT_INT, .bits = 32 },
	{ .name = "na`m'e\\", .native = "varchar(20)", .type = LT_TEXT, .length = 20,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ .name = "tag", .native = "varbinary(8)", .type = LT_BYTES, .length = 8 },
	{ .name = "qty", .native = "int(11)", .type = LT_INT, .bits = 32, .nullable = true },
	{ .name = "note", .native = "varchar(20)", .type = LT_TEXT, .length = 20,
	  .charset = "utf8mb4", .nullable = true },
	{ .name = "price", .native = "double", .type = LT_FLOAT, .bits = 64, .nullable = true },
};
static size_t hostile_pk[] = { 0, 1, 2 };
static const struct tabdesc hostile = {
	.display = "shop.or`d'er\\s",
	.sqlname = "`shop`.`or``d'er\\s`",
	.ncols = 6, .cols = hostile_cols, .npk = 3, .pk = hostile_pk,
};

static void test_script_statements(void **state)
{
	static const size_t cols[] = { 0, 1, 2, 4 };
	const struct script_ops *s = mariadb_ops.script;
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(s);
	assert_true(mariadb_ops.literal != NULL);
	s->begin(&b);
	assert_string_equal(b.data, "SET NAMES utf8mb4;\nSET time_zone = '+00:00';\n"
	                    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), "
	                    "'STRICT_ALL_TABLES');\nSTART TRANSACTION;\n");
	buf_reset(&b);
	s->stage(&b, "tally_s1", &hostile, cols, 4, false);
	assert_string_equal(b.data, "CREATE TEMPORARY TABLE `tally_s1` AS SELECT `id`, "
	                    "`na``m'e\\`, `tag`, `note` FROM `shop`.`or``d'er\\s` LIMIT 0;\n");
	buf_reset(&b);
	s->stage_rows(&b, "tally_s1");
	assert_string_equal(b.data, "INSERT INTO `tally_s1` VALUES\n");
	buf_reset(&b);
	s->unstage(&b, "tally_s1");
	assert_string_equal(b.data, "DROP TEMPORARY TABLE `tally_s1`;\n");
	buf_reset(&b);
	s->end(&b, "tally: repair repair.app.sql applied: 2 rows (1 inserted, 0 updated, 1 deleted)");
	/* After COMMIT only: the client stops at the first error before it. */
	assert_string_equal(b.data, "COMMIT;\nSELECT 'tally: repair repair.app.sql applied: 2 rows (1 inserted, "
	                    "0 updated, 1 deleted)' AS tally;\n");
	buf_release(&b);
}

static void test_apply_insert(void **state)
{
	static const size_t set[] = { 0, 1, 2, 3, 4, 5 };
	const struct script_step st = {
		.kind = STEP_INSERT, .check = "orders", .t = &hostile, .key = hostile_pk, .nkey = 3,
		.new_stage = "tally_n1", .set = set, .nset = 6, .rows = 2,
	};
	struct buf b = BUF_INIT;

	(void)state;
	mariadb_ops.script->apply(&b, &st);
	assert_string_equal(b.data,
		"DELIMITER //\n"
		"BEGIN NOT ATOMIC\n"
		"  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;\n"
		"  DECLARE n BIGINT DEFAULT 0;\n"
		"  SELECT CONCAT('id=', CONVERT(QUOTE(s.`id`) USING utf8mb4), "
		"_utf8mb4 X'2c206e61606d27655c3d', CONVERT(QUOTE(s.`na``m'e\\`) USING utf8mb4), "
		"', tag=', IFNULL(CONCAT('X''', HEX(s.`tag`), ''''), 'NULL'))"
		" INTO bad FROM `tally_n1` s\n"
		"   WHERE EXISTS (SELECT 1 FROM `shop`.`or``d'er\\s` t WHERE t.`id` = s.`id` AND "
		"t.`na``m'e\\` = s.`na``m'e\\` AND t.`tag` = s.`tag`) LIMIT 1;\n"
		"  IF bad IS NOT NULL THEN\n"
		"    SET bad = LEFT(CONCAT('tally: check orders: row ', bad, "
		"_utf8mb4 X'206f662073686f702e6f7260642765725c7320616c7265616479206578697374733b206e6f"
		"7468696e6720776173206368616e676564'), 128);\n"
		"    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;\n"
		"  END IF;\n"
		"  INSERT INTO `shop`.`or``d'er\\s` (`id`, `na``m'e\\`, `tag`, `qty`, `note`, `price`) "
		"SELECT s.`id`, s.`na``m'e\\`, s.`tag`, s.`qty`, s.`note`, s.`price` FROM `tally_n1` s;\n"
		"  IF ROW_COUNT() <> 2 THEN\n"
		"    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tally: check orders: inserted a "
		"different number of rows than 2; nothing was changed';\n"
		"  END IF;\n"
		"END //\n"
		"DELIMITER ;\n");
	buf_release(&b);
}

static void test_apply_update(void **state)
{
	static const size_t guard[] = { 3, 4, 5 };
	static const size_t set[] = { 4, 5 };
	const struct script_step st = {
		.kind = STEP_UPDATE, .check = "orders", .t = &hostile, .key = hostile_pk, .nkey = 3,
		.old_stage = "tally_o2", .guard = guard, .nguard = 3,
		.new_stage = "tally_n2", .set = set, .nset = 2, .rows = 17,
	};
	struct buf b = BUF_INIT;

	(void)state;
	mariadb_ops.script->apply(&b, &st);
	assert_string_equal(b.data,
		"DELIMITER //\n"
		"BEGIN NOT ATOMIC\n"
		"  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;\n"
		"  DECLARE n BIGINT DEFAULT 0;\n"
		"  SELECT COUNT(*) INTO n FROM `shop`.`or``d'er\\s` t JOIN `tally_o2` o ON "
		"t.`id` = o.`id` AND t.`na``m'e\\` = o.`na``m'e\\` AND t.`tag` = o.`tag` FOR UPDATE;\n"
		"  SELECT CONCAT('id=', CONVERT(QUOTE(o.`id`) USING utf8mb4), "
		"_utf8mb4 X'2c206e61606d27655c3d', CONVERT(QUOTE(o.`na``m'e\\`) USING utf8mb4), "
		"', tag=', IFNULL(CONCAT('X''', HEX(o.`tag`), ''''), 'NULL'))"
		" INTO bad FROM `tally_o2` o\n"
		"   WHERE NOT EXISTS (SELECT 1 FROM `shop`.`or``d'er\\s` t WHERE t.`id` = o.`id` AND "
		"t.`na``m'e\\` = o.`na``m'e\\` AND t.`tag` = o.`tag` AND "
		"BINARY t.`na``m'e\\` <=> BINARY o.`na``m'e\\` AND t.`qty` <=> o.`qty` AND "
		"BINARY t.`note` <=> BINARY o.`note` AND t.`price` <=> o.`price`) LIMIT 1;\n"
		"  IF bad IS NOT NULL THEN\n"
		"    SET bad = LEFT(CONCAT('tally: check orders: row ', bad, "
		"_utf8mb4 X'206f662073686f702e6f7260642765725c73206368616e6765642073696e63652074616c6c"
		"7920726561642069743b206e6f7468696e6720776173206368616e676564'), 128);\n"
		"    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;\n"
		"  END IF;\n"
		"  UPDATE `shop`.`or``d'er\\s` t JOIN `tally_n2` s ON t.`id` = s.`id` AND "
		"t.`na``m'e\\` = s.`na``m'e\\` AND t.`tag` = s.`tag` SET t.`note` = s.`note`, "
		"t.`price` = s.`price`;\n"
		"  IF ROW_COUNT() <> 17 THEN\n"
		"    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tally: check orders: updated a "
		"different number of rows than 17; nothing was changed';\n"
		"  END IF;\n"
		"END //\n"
		"DELIMITER ;\n");
	buf_release(&b);
}

static void test_apply_delete(void **state)
{
	static const size_t key[] = { 0 };
	static const size_t guard[] = { 1, 4 };
	const struct script_step st = {
		.kind = STEP_DELETE, .check = "it's-a-check", .t = &hostile, .key = key, .nkey = 1,
		.old_stage = "tally_o3", .guard = guard, .nguard = 2, .rows = 1,
	};
	struct buf b = BUF_INIT;

	(void)state;
	mariadb_ops.script->apply(&b, &st);
	assert_string_equal(b.data,
		"DELIMITER //\n"
		"BEGIN NOT ATOMIC\n"
		"  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;\n"
		"  DECLARE n BIGINT DEFAULT 0;\n"
		"  SELECT COUNT(*) INTO n FROM `shop`.`or``d'er\\s` t JOIN `tally_o3` o ON "
		"t.`id` = o.`id` FOR UPDATE;\n"
		"  SELECT CONCAT('id=', CONVERT(QUOTE(o.`id`) USING utf8mb4)) INTO bad FROM "
		"`tally_o3` o\n"
		"   WHERE NOT EXISTS (SELECT 1 FROM `shop`.`or``d'er\\s` t WHERE t.`id` = o.`id` AND "
		"BINARY t.`na``m'e\\` <=> BINARY o.`na``m'e\\` AND "
		"BINARY t.`note` <=> BINARY o.`note`) LIMIT 1;\n"
		"  IF bad IS NOT NULL THEN\n"
		"    SET bad = LEFT(CONCAT('tally: check it''s-a-check: row ', bad, "
		"_utf8mb4 X'206f662073686f702e6f7260642765725c73206368616e6765642073696e63652074616c6c"
		"7920726561642069743b206e6f7468696e6720776173206368616e676564'), 128);\n"
		"    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;\n"
		"  END IF;\n"
		"  DELETE t FROM `shop`.`or``d'er\\s` t JOIN `tally_o3` o ON t.`id` = o.`id`;\n"
		"  IF ROW_COUNT() <> 1 THEN\n"
		"    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tally: check it''s-a-check: deleted a "
		"different number of rows than 1; nothing was changed';\n"
		"  END IF;\n"
		"END //\n"
		"DELIMITER ;\n");
	buf_release(&b);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* A nullable key column (qty) matches NULL to NULL with <=> in every statement. */
static void test_apply_nullable_key(void **state)
{
	static const size_t key[] = { 0, 3 };
	static const size_t all[] = { 0, 1, 2, 3, 4, 5 };
	static const size_t set[] = { 4 };
	struct script_step st = {
		.check = "c", .t = &hostile, .key = key, .nkey = 2, .guard = set, .nguard = 1,
		.set = all, .nset = 6, .rows = 1, .new_stage = "n",
	};
	struct buf b = BUF_INIT;

	(void)state;
	st.kind = STEP_INSERT;
	mariadb_ops.script->apply(&b, &st);
	assert_int_equal(count_of(b.data, "t.`id` = s.`id` AND t.`qty` <=> s.`qty`"), 1);
	buf_reset(&b);
	st.kind = STEP_UPDATE;
	st.old_stage = "o";
	st.set = set;
	st.nset = 1;
	mariadb_ops.script->apply(&b, &st);
	assert_int_equal(count_of(b.data, "t.`id` = o.`id` AND t.`qty` <=> o.`qty`"), 2);
	assert_int_equal(count_of(b.data, "t.`id` = s.`id` AND t.`qty` <=> s.`qty`"), 1);
	buf_reset(&b);
	st.kind = STEP_DELETE;
	st.new_stage = NULL;
	mariadb_ops.script->apply(&b, &st);
	assert_int_equal(count_of(b.data, "t.`id` = o.`id` AND t.`qty` <=> o.`qty`"), 3);
	assert_int_equal(count_of(b.data, "`qty` = "), 0);
	buf_release(&b);
}

/* The fixed message stays within SIGNAL's 128 characters, cut on a character boundary. */
static void test_apply_long_check(void **state)
{
	static const size_t key[] = { 0 };
	char check[200], want[200];
	struct script_step st = {
		.kind = STEP_DELETE, .check = check, .t = &hostile, .key = key, .nkey = 1,
		.old_stage = "o", .rows = 5,
	};
	struct buf b = BUF_INIT;
	const char *p, *q;

	(void)state;
	memset(check, 'c', 120);
	memcpy(check + 110, "\xc3\xa9", 2);    /* é: two bytes, one character */
	check[120] = '\0';
	mariadb_ops.script->apply(&b, &st);
	p = strstr(b.data, "IF ROW_COUNT() <> 5 THEN\n    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '");
	assert_non_null(p);
	p = strchr(p, '\'') + 1;
	p = strchr(p, '\'') + 1;
	p = strchr(p, '\'') + 1;
	q = strchr(p, '\'');
	/* 13 + 115 characters: the check's first 115 characters are 116 bytes */
	snprintf(want, sizeof(want), "tally: check %.*s", 116, check);
	assert_int_equal((size_t)(q - p), strlen(want));
	assert_memory_equal(p, want, strlen(want));
	/* and no guard term: a step without guard columns checks that the rows exist */
	assert_non_null(strstr(b.data, "WHERE NOT EXISTS (SELECT 1 FROM `shop`.`or``d'er\\s` t "
	                       "WHERE t.`id` = o.`id`) LIMIT 1;\n"));
	buf_release(&b);
}

static void test_apply_command(void **state)
{
	const struct script_ops *s = mariadb_ops.script;
	struct buf b = BUF_INIT;

	(void)state;
	s->apply_command(&b, "tally-out/orders/repair.legacy.sql",
	                 "mariadb://tally:***@db1.example.com:3307/legacy");
	assert_string_equal(b.data, "mariadb --default-character-set=utf8mb4 --skip-force "
	                    "-h db1.example.com -P 3307 -u OPERATOR -p -D legacy "
	                    "< tally-out/orders/repair.legacy.sql");
	buf_reset(&b);
	/* a real password never appears; the default port is written out */
	s->apply_command(&b, "repair.sql", "mariadb://tally:S3cr%40t@127.0.0.1/legacy");
	assert_string_equal(b.data, "mariadb --default-character-set=utf8mb4 --skip-force "
	                    "-h 127.0.0.1 -P 3306 -u OPERATOR -p -D legacy < repair.sql");
	assert_null(strstr(b.data, "S3cr"));
	assert_null(strstr(b.data, "tally"));
	buf_reset(&b);
	/* a socket, and words that need quoting for sh */
	s->apply_command(&b, "my dir/it's.sql",
	                 "mysql://u:pw@/le%20g'acy?socket=/run/my%20sql/s.sock&connect_timeout=5");
	assert_string_equal(b.data, "mariadb --default-character-set=utf8mb4 --skip-force "
	                    "-S '/run/my sql/s.sock' -u OPERATOR -p -D 'le g'\\''acy' "
	                    "< 'my dir/it'\\''s.sql'");
	buf_reset(&b);
	s->apply_command(&b, "r.sql", "mariadb://u@[::1]:3307/db$x");
	assert_string_equal(b.data, "mariadb --default-character-set=utf8mb4 --skip-force "
	                    "-h ::1 -P 3307 -u OPERATOR -p -D 'db$x' < r.sql");
	buf_reset(&b);
	/* a dsn that does not parse: placeholders, still no secret */
	s->apply_command(&b, "r.sql", "postgresql://u:Secret@h/db");
	assert_string_equal(b.data, "mariadb --default-character-set=utf8mb4 --skip-force "
	                    "-h HOST -P PORT -u OPERATOR -p -D DATABASE < r.sql");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_temporal),
		cmocka_unit_test(test_uuid_and_raw),
		cmocka_unit_test(test_bound_numbers),
		cmocka_unit_test(test_bound_text),
		cmocka_unit_test(test_bound_other),
		cmocka_unit_test(test_bound_temporal),
		cmocka_unit_test(test_order_is_bytewise),
		cmocka_unit_test(test_script_statements),
		cmocka_unit_test(test_apply_nullable_key),
		cmocka_unit_test(test_apply_insert),
		cmocka_unit_test(test_apply_update),
		cmocka_unit_test(test_apply_delete),
		cmocka_unit_test(test_apply_long_check),
		cmocka_unit_test(test_apply_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
