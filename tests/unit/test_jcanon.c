/*
 * tests/unit/test_jcanon.c
 *   canonical JSON: exact output bytes for key order, duplicate keys,
 *   whitespace, escapes, surrogates, numbers and nesting; invalid documents
 *   refused with an offset and without their text, leaving the output as it
 *   was; the depth limit; equal and unequal pairs; PostgreSQL array text
 *   read as JSON; and a seeded fuzz loop over random and mutated input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/jcanon.h"

/* A literal with its length, so that inputs may hold NUL bytes. */
#define L(s) s, sizeof(s) - 1

struct ok_case {
	const char *in;
	size_t n;
	const char *want;
};

struct bad_case {
	const char *in;
	size_t n;
};

static const char PREFIX[] = "prefix";
#define PREFIX_LEN (sizeof(PREFIX) - 1)

static int canon(struct buf *out, const char *s, size_t n, struct tally_err *err)
{
	return jcanon(out, s, n, err);
}

/* Canonical text is a fixed point: canonicalizing it again changes nothing. */
static void assert_fixed_point(const char *s, size_t n)
{
	struct buf again = BUF_INIT;
	struct tally_err err;

	err_clear(&err);
	if (jcanon(&again, s, n, &err) != 0)
		fail_msg("canonical text refused: %s: %.*s", err.msg, (int)n, s);
	if (again.len != n || memcmp(again.data, s, n) != 0)
		fail_msg("not a fixed point: %.*s -> %s", (int)n, s, again.data);
	buf_release(&again);
}

/* Runs one call on a buffer holding PREFIX and checks that it appended `want`. */
static void check_appends(int rc, const struct buf *out, const struct tally_err *err, const char *want, size_t i)
{
	size_t wn = strlen(want);

	if (rc != 0)
		fail_msg("case %zu: refused: %s", i, err->msg);
	assert_memory_equal(out->data, PREFIX, PREFIX_LEN);
	if (out->len != PREFIX_LEN + wn || memcmp(out->data + PREFIX_LEN, want, wn) != 0)
		fail_msg("case %zu: got %s, want %s", i, out->data + PREFIX_LEN, want);
	assert_int_equal(out->data[out->len], '\0');
	assert_fixed_point(out->data + PREFIX_LEN, out->len - PREFIX_LEN);
}

/* A refusal: -1, ERR_DATA, an offset in the message, and out exactly as it was. */
static void check_refused(int rc, const struct buf *out, const struct tally_err *err, const char *in, size_t n,
                          size_t i)
{
	if (rc != -1)
		fail_msg("case %zu: accepted, gave %s", i, out->data + PREFIX_LEN);
	assert_int_equal(err->kind, ERR_DATA);
	if (strstr(err->msg, " at byte ") == NULL)
		fail_msg("case %zu: no offset in: %s", i, err->msg);
	/* Short inputs ("1", "[") occur in any message by chance; longer ones must not. */
	if (n >= 4 && memchr(in, '\0', n) == NULL && strstr(err->msg, in) != NULL)
		fail_msg("case %zu: message quotes the input: %s", i, err->msg);
	assert_int_equal(out->len, PREFIX_LEN);
	assert_memory_equal(out->data, PREFIX, PREFIX_LEN + 1);
}

static void run_ok(const struct ok_case *t, size_t nt)
{
	for (size_t i = 0; i < nt; i++) {
		struct buf out = BUF_INIT;
		struct tally_err err;
		int rc;

		err_clear(&err);
		buf_addstr(&out, PREFIX);
		rc = canon(&out, t[i].in, t[i].n, &err);
		check_appends(rc, &out, &err, t[i].want, i);
		buf_release(&out);
	}
}

static void run_bad(const struct bad_case *t, size_t nt)
{
	for (size_t i = 0; i < nt; i++) {
		struct buf out = BUF_INIT;
		struct tally_err err;
		int rc;

		err_clear(&err);
		buf_addstr(&out, PREFIX);
		rc = canon(&out, t[i].in, t[i].n, &err);
		check_refused(rc, &out, &err, t[i].in, t[i].n, i);
		if (strncmp(err.msg, "not valid JSON at byte ", 23) != 0)
			fail_msg("case %zu: %s", i, err.msg);
		buf_release(&out);
	}
}

static void test_objects(void **state)
{
	static const struct ok_case t[] = {
		{ L("{\"b\":1,\"a\":2}"), "{\"a\":2e0,\"b\":1e0}" },
		{ L("{\"ab\":1,\"a\":2,\"\":3,\"b\":4}"), "{\"\":3e0,\"a\":2e0,\"ab\":1e0,\"b\":4e0}" },
		/* Sorted by unescaped bytes: '!' < '"' < '#', though '"' is written \". */
		{ L("{\"#\":3,\"\\u0022\":1,\"!\":2}"), "{\"!\":2e0,\"\\\"\":1e0,\"#\":3e0}" },
		{ L("{\"\\\\\":1,\"]\":2,\"^\":3}"), "{\"\\\\\":1e0,\"]\":2e0,\"^\":3e0}" },
		/* UTF-8 bytes sort after ASCII; \u0000 sorts first and stays escaped. */
		{ L("{\"\xc3\xa9\":1,\"z\":2,\"\\u0000\":3}"), "{\"\\u0000\":3e0,\"z\":2e0,\"\xc3\xa9\":1e0}" },
		{ L("{\"a\\u0000b\":1,\"a\":2}"), "{\"a\":2e0,\"a\\u0000b\":1e0}" },
		/* Duplicates: the last member wins, at every level, however the key is spelled. */
		{ L("{\"a\":1,\"a\":2}"), "{\"a\":2e0}" },
		{ L("{\"a\":1,\"b\":0,\"a\":{\"x\":1,\"x\":[2]}}"), "{\"a\":{\"x\":[2e0]},\"b\":0}" },
		{ L("{\"a\":{\"x\":1},\"a\":3}"), "{\"a\":3e0}" },
		{ L("[{\"k\":1,\"k\":2},{\"k\":3,\"j\":4,\"k\":5}]"), "[{\"k\":2e0},{\"j\":4e0,\"k\":5e0}]" },
		{ L("{\"\\u0061\":1,\"a\":2,\"\\u0061\":3,\"b\":4,\"a\":5}"), "{\"a\":5e0,\"b\":4e0}" },
		{ L("{\"x\":{\"b\":{\"d\":1,\"c\":2,\"d\":3},\"a\":[]}}"),
		  "{\"x\":{\"a\":[],\"b\":{\"c\":2e0,\"d\":3e0}}}" },
		/* Nesting. */
		{ L("{\"a\":{\"c\":1,\"b\":2},\"0\":[{\"z\":null,\"y\":true}]}"),
		  "{\"0\":[{\"y\":true,\"z\":null}],\"a\":{\"b\":2e0,\"c\":1e0}}" },
		{ L("[[],{},[{}],{\"a\":[]},[[[]]]]"), "[[],{},[{}],{\"a\":[]},[[[]]]]" },
		{ L("[1,[2,[3,{\"b\":[4],\"a\":{}}]]]"), "[1e0,[2e0,[3e0,{\"a\":{},\"b\":[4e0]}]]]" },
		/* Whitespace: space, tab, newline, carriage return, anywhere between tokens. */
		{ L(" \t\n\r{ \"a\" :\t[ 1 ,\n2 ]\r, \"b\" : { } } \n"), "{\"a\":[1e0,2e0],\"b\":{}}" },
		{ L("[ ]"), "[]" },
		{ L("{ }"), "{}" },
		{ L("{\"a b\":\" c d \"}"), "{\"a b\":\" c d \"}" },
		/* Scalars at the top level. */
		{ L("true"), "true" },
		{ L("false"), "false" },
		{ L("null"), "null" },
		{ L(" null "), "null" },
		{ L("\"x\""), "\"x\"" },
		{ L("\"\""), "\"\"" },
		{ L("42"), "4.2e1" },
		{ L("[true,false,null]"), "[true,false,null]" },
	};

	(void)state;
	run_ok(t, sizeof(t) / sizeof(t[0]));
}

static void test_strings(void **state)
{
	static const struct ok_case t[] = {
		/* Every escape. */
		{ L("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), "\"\\\"\\\\/\\u0008\\u000c\\u000a\\u000d\\u0009\"" },
		{ L("\"a\\/b\""), "\"a/b\"" },
		/* \u: decoded to raw UTF-8 unless a control character, '"' or '\'. */
		{ L("\"\\u00e9\""), "\"\xc3\xa9\"" },
		{ L("\"\\u00E9\""), "\"\xc3\xa9\"" },
		{ L("\"\xc3\xa9\""), "\"\xc3\xa9\"" },
		{ L("\"\\u0041\\u0062\""), "\"Ab\"" },
		{ L("\"\\u20ac\""), "\"\xe2\x82\xac\"" },
		{ L("\"\\u0022\\u005c\""), "\"\\\"\\\\\"" },
		{ L("\"\\u0000\""), "\"\\u0000\"" },
		{ L("\"a\\u0000b\""), "\"a\\u0000b\"" },
		{ L("\"\\u001f\\u001F\\u0001\""), "\"\\u001f\\u001f\\u0001\"" },
		{ L("\"\\u0020\""), "\" \"" },
		{ L("\"\\u007f\x7f\""), "\"\x7f\x7f\"" },
		{ L("\"\\u07ff\\u0800\\uffff\""), "\"\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\"" },
		/* Surrogate pairs join into one code point, in either case of hex. */
		{ L("\"\\ud83d\\ude00\""), "\"\xf0\x9f\x98\x80\"" },
		{ L("\"\\uD83D\\uDE00\""), "\"\xf0\x9f\x98\x80\"" },
		{ L("\"\\ud800\\udc00\""), "\"\xf0\x90\x80\x80\"" },
		{ L("\"\\udbff\\udfff\""), "\"\xf4\x8f\xbf\xbf\"" },
		{ L("\"\xf0\x9f\x98\x80\""), "\"\xf0\x9f\x98\x80\"" },
		/* Raw UTF-8 at each length and at the edges of validity. */
		{ L("\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""),
		  "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"" },
		{ L("[\"\\t\",\"\\\\\"]"), "[\"\\u0009\",\"\\\\\"]" },
		{ L("{\"\\n\":\"\\r\"}"), "{\"\\u000a\":\"\\u000d\"}" },
	};

	(void)state;
	run_ok(t, sizeof(t) / sizeof(t[0]));
}

static void test_numbers(void **state)
{
	static const struct ok_case t[] = {
		{ L("0"), "0" },
		{ L("-0"), "0" },
		{ L("0.0"), "0" },
		{ L("-0.000"), "0" },
		{ L("0e7"), "0" },
		{ L("0E-7"), "0" },
		{ L("-0.0e+99999999999999999999999999"), "0" },
		{ L("1"), "1e0" },
		{ L("-1"), "-1e0" },
		{ L("1.0"), "1e0" },
		{ L("1.50"), "1.5e0" },
		{ L("-1.50"), "-1.5e0" },
		{ L("100"), "1e2" },
		{ L("1e2"), "1e2" },
		{ L("1E+2"), "1e2" },
		{ L("1e-0"), "1e0" },
		{ L("10.5"), "1.05e1" },
		{ L("0.1"), "1e-1" },
		{ L("0.00120"), "1.2e-3" },
		{ L("-12.345e-10"), "-1.2345e-9" },
		{ L("101"), "1.01e2" },
		{ L("1000000000000000000000000e-24"), "1e0" },
		{ L("0.000001e6"), "1e0" },
		{ L("123456789012345678901234567890"), "1.2345678901234567890123456789e29" },
		{ L("1.000000000000000000000000000001"), "1.000000000000000000000000000001e0" },
		{ L("9007199254740993"), "9.007199254740993e15" },
		{ L("1e1000000"), "1e1000000" },
		{ L("1e0000000000000000000000000000001"), "1e1" },
		/* The exponent bound applies once normalized: 10e999999999 is 1e1000000000. */
		{ L("1e1000000000"), "1e1000000000" },
		{ L("10e999999999"), "1e1000000000" },
		{ L("-1e-1000000000"), "-1e-1000000000" },
		{ L("0.1e-999999999"), "1e-1000000000" },
		{ L("[1,1.0,1e0,10e-1,0.1e1]"), "[1e0,1e0,1e0,1e0,1e0]" },
		{ L("{\"n\":-0.5E-3}"), "{\"n\":-5e-4}" },
	};

	(void)state;
	run_ok(t, sizeof(t) / sizeof(t[0]));
}

static void test_invalid(void **state)
{
	static const struct bad_case t[] = {
		/* Empty. */
		{ L("") }, { L("   ") }, { L("\t\n\r ") },
		/* Structure. */
		{ L("[1,]") }, { L("{\"a\":1,}") }, { L("[1 2]") }, { L("{\"a\" 1}") }, { L("{a:1}") },
		{ L("{'a':1}") }, { L("[") }, { L("]") }, { L("{") }, { L("}") }, { L("[1") }, { L("{\"a\":1") },
		{ L("{\"a\":1}}") }, { L("[]]") }, { L("{}{}") }, { L("1 2") }, { L("\"a\":1") }, { L("{,}") },
		{ L("[,1]") }, { L("{\"a\"}") }, { L("{\"a\":}") }, { L("[1,,2]") }, { L("{1:2}") },
		{ L("{\"a\":1 \"b\":2}") }, { L("[1:2]") }, { L("(1)") },
		/* Comments, BOM, other whitespace. */
		{ L("/* c */ 1") }, { L("1 // c") }, { L("[1]/**/") }, { L("# c\n1") }, { L("\xef\xbb\xbf" "1") },
		{ L("\f1") }, { L("\v1") }, { L("1\f") }, { L("[1,\xc2\xa0" "2]") }, { L("1\0") }, { L("\0") },
		/* Literals. */
		{ L("tru") }, { L("nul") }, { L("True") }, { L("NULL") }, { L("nulll") }, { L("falsey") },
		{ L("NaN") }, { L("nan") }, { L("Infinity") }, { L("-Infinity") }, { L("undefined") },
		/* Numbers. */
		{ L("01") }, { L("-01") }, { L("00") }, { L("+1") }, { L(".5") }, { L("-.5") }, { L("1.") },
		{ L("1.e5") }, { L("1e") }, { L("1e+") }, { L("1e-") }, { L("-") }, { L("--1") }, { L("- 1") },
		{ L("0x10") }, { L("1e1000000001") }, { L("1e-1000000001") }, { L("100e999999999") },
		{ L("0.01e-999999999") }, { L("1e99999999999999999999999999") }, { L("[1.5.2]") }, { L("1e5e5") },
		{ L("1_000") }, { L("\xef\xbc\x91") },
		/* Strings. */
		{ L("\"abc") }, { L("\"a\\\"") }, { L("\"\\x\"") }, { L("\"\\'\"") }, { L("\"\\u12\"") },
		{ L("\"\\u12g4\"") }, { L("\"\\u\"") }, { L("\"\\U0041\"") }, { L("\"\\") }, { L("'a'") },
		{ L("\"\\ud800\"") }, { L("\"\\udc00\"") }, { L("\"\\ude00\\ud83d\"") }, { L("\"\\ud83d\\u0041\"") },
		{ L("\"\\ud83dx\"") }, { L("\"\\ud83d\\ud83d\"") }, { L("\"\\ud83d\\\"") }, { L("\"\\ud83d\\ude0\"") },
		{ L("\"a\x01" "b\"") }, { L("\"a\nb\"") }, { L("\"a\tb\"") }, { L("\"a\x1f\"") }, { L("\"a\0b\"") },
		/* Invalid UTF-8 in values and keys. */
		{ L("\"\xc3\"") }, { L("\"\xc3(\"") }, { L("\"\xc0\xaf\"") }, { L("\"\xc1\xbf\"") },
		{ L("\"\xe0\x80\xaf\"") }, { L("\"\xe0\x9f\xbf\"") }, { L("\"\xf0\x80\x80\xaf\"") },
		{ L("\"\xf0\x8f\xbf\xbf\"") }, { L("\"\xed\xa0\x80\"") }, { L("\"\xed\xbf\xbf\"") },
		{ L("\"\xf4\x90\x80\x80\"") }, { L("\"\xf5\x80\x80\x80\"") }, { L("\"\xf8\x88\x80\x80\x80\"") },
		{ L("\"\x80\"") }, { L("\"\xbf\"") }, { L("\"\xfe\"") }, { L("\"\xff\"") }, { L("\"\xe2\x82\"") },
		{ L("\"\xe2\x82") }, { L("\"\xf0\x9f\x98\"") }, { L("{\"\xc3\":1}") },
		{ L("[\"ok\",\"\xed\xa0\xbd\"]") },
		{ L("\xc3\xa9") },
	};

	(void)state;
	run_bad(t, sizeof(t) / sizeof(t[0]));
}

static void expect_msg(const char *in, const char *want)
{
	struct buf out = BUF_INIT;
	struct tally_err err;

	err_clear(&err);
	assert_int_equal(jcanon(&out, in, strlen(in), &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	assert_string_equal(err.msg, want);
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

static void test_messages(void **state)
{
	(void)state;
	expect_msg("{\"a\":1 \"b\":2}", "not valid JSON at byte 7: expected ',' or '}'");
	expect_msg("[1 2]", "not valid JSON at byte 3: expected ',' or ']'");
	expect_msg("", "not valid JSON at byte 0: expected a value");
	expect_msg("  ", "not valid JSON at byte 2: expected a value");
	expect_msg("[1,]", "not valid JSON at byte 3: expected a value");
	expect_msg("{\"a\":1,}", "not valid JSON at byte 7: expected a string key");
	expect_msg("{\"a\" 1}", "not valid JSON at byte 5: expected ':'");
	expect_msg("[1] x", "not valid JSON at byte 4: expected the end of the document");
	expect_msg("01", "not valid JSON at byte 1: expected '.', 'e' or the end of the number (no leading zeros)");
	expect_msg("1.", "not valid JSON at byte 2: expected a digit after '.'");
	expect_msg("\"ab", "not valid JSON at byte 0: unterminated string (expected a closing '\"')");
	expect_msg("[\"\\ud800\"]", "not valid JSON at byte 2: high surrogate without a \\u low surrogate after it");
	expect_msg("[1e1000000001]",
	           "not valid JSON at byte 1: exponent out of range (at most 1000000000 once normalized)");

	/* The value's text never reaches the message. */
	{
		static const char *const secret[][2] = {
			{ "{\"secret\": tru}", "secret" },
			{ "{\"secret\": \"hunter2\\q\"}", "hunter2" },
			{ "[\"password\" \"x\"]", "password" },
			{ "{\"card\": 4111111111111111x}", "4111" },
			{ "{\"k\": \"s3cr3t\x01\"}", "s3cr3t" },
		};
		for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
			struct buf out = BUF_INIT;
			struct tally_err err;

			err_clear(&err);
			buf_addstr(&out, PREFIX);
			assert_int_equal(jcanon(&out, secret[i][0], strlen(secret[i][0]), &err), -1);
			assert_int_equal(err.kind, ERR_DATA);
			assert_non_null(strstr(err.msg, "byte"));
			if (strstr(err.msg, secret[i][1]) != NULL || strstr(err.msg, "tru}") != NULL)
				fail_msg("case %zu quotes the value: %s", i, err.msg);
			assert_string_equal(out.data, PREFIX);
			buf_release(&out);
		}
	}
}

/* n levels of an array (or of an object member "k") around 0. */
static char *nested(size_t n, bool object, size_t *len)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++)
		buf_addstr(&b, object ? "{\"k\":" : "[");
	buf_addch(&b, '0');
	for (size_t i = 0; i < n; i++)
		buf_addch(&b, object ? '}' : ']');
	return buf_detach(&b, len);
}

static void test_depth(void **state)
{
	(void)state;
	for (int object = 0; object < 2; object++) {
		struct buf out = BUF_INIT;
		struct tally_err err;
		size_t len;
		char *ok = nested(JCANON_MAX_DEPTH, object, &len);
		char *deep = nested(JCANON_MAX_DEPTH + 1, object, &len);
		char *huge = nested(200000, object, &len);

		err_clear(&err);
		assert_int_equal(jcanon(&out, ok, strlen(ok), &err), 0);
		assert_string_equal(out.data, ok);

		buf_reset(&out);
		buf_addstr(&out, PREFIX);
		assert_int_equal(jcanon(&out, deep, strlen(deep), &err), -1);
		assert_int_equal(err.kind, ERR_DATA);
		assert_non_null(strstr(err.msg, "nesting deeper than 512 levels"));
		assert_string_equal(out.data, PREFIX);

		/* Refused at the limit, long before the C stack could run out. */
		assert_int_equal(jcanon(&out, huge, len, &err), -1);
		assert_string_equal(out.data, PREFIX);
		free(ok);
		free(deep);
		free(huge);
		buf_release(&out);
	}
}

static void canon_str(const char *in, struct buf *out)
{
	struct tally_err err;

	err_clear(&err);
	buf_reset(out);
	if (jcanon(out, in, strlen(in), &err) != 0)
		fail_msg("refused: %s", err.msg);
}

static void test_equality(void **state)
{
	static const char *const same[][2] = {
		{ "{\"a\":1}", "{\"a\":1.0}" },
		{ "{\"a\":1,\"b\":2}", "{ \"b\" : 2 , \"a\" : 1 }" },
		{ "{\"a\":\"\\u00e9\"}", "{\"a\":\"\xc3\xa9\"}" },
		{ "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"" },
		{ "\"\\/\"", "\"/\"" },
		{ "[100]", "[1e2]" },
		{ "[1E+2]", "[10.0e1]" },
		{ "0", "-0.0e5" },
		{ "{\"a\":1,\"a\":2}", "{\"a\":2}" },
		{ "{\"\\u0061\":true}", "{\"a\":true}" },
		{ "[0.00120]", "[1.2e-3]" },
	};
	static const char *const differ[][2] = {
		{ "{\"a\":1}", "{\"a\":\"1\"}" },
		{ "[1,2]", "[2,1]" },
		{ "{\"a\":1}", "{\"A\":1}" },
		{ "[1]", "1" },
		{ "null", "\"null\"" },
		{ "{}", "[]" },
		{ "1", "-1" },
		{ "[1.0000000000000001]", "[1]" },
		{ "{\"a\":null}", "{}" },
		{ "\"a \"", "\"a\"" },
		{ "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1,\"c\":1}}" },
	};
	struct buf x = BUF_INIT, y = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		canon_str(same[i][0], &x);
		canon_str(same[i][1], &y);
		if (x.len != y.len || memcmp(x.data, y.data, x.len) != 0)
			fail_msg("pair %zu differs: %s vs %s", i, x.data, y.data);
	}
	for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		canon_str(differ[i][0], &x);
		canon_str(differ[i][1], &y);
		if (x.len == y.len && memcmp(x.data, y.data, x.len) == 0)
			fail_msg("pair %zu equal: %s", i, x.data);
	}
	buf_release(&x);
	buf_release(&y);
}

/* Large input: many members in reverse order, a long string, a long number; and the scratch trimmed after. */
static void test_large(void **state)
{
	struct buf in = BUF_INIT, out = BUF_INIT, want = BUF_INIT;
	struct tally_err err;
	const size_t nmem = 100000;

	(void)state;
	buf_addch(&in, '{');
	for (size_t i = nmem; i-- > 0;)
		buf_addf(&in, "%s\"k%06zu\":[%zu,\"%s\"]", i + 1 == nmem ? "" : ",", i, i, "v\\n");
	buf_addch(&in, '}');
	buf_addch(&want, '{');
	for (size_t i = 0; i < nmem; i++) {
		buf_addf(&want, "%s\"k%06zu\":[", i ? "," : "", i);
		if (i == 0) {
			buf_addch(&want, '0');
		} else {
			char d[32];
			size_t k = (size_t)snprintf(d, sizeof(d), "%zu", i), t = k;

			while (t > 1 && d[t - 1] == '0')
				t--;
			buf_addch(&want, d[0]);
			if (t > 1) {
				buf_addch(&want, '.');
				buf_add(&want, d + 1, t - 1);
			}
			buf_addf(&want, "e%zu", k - 1);
		}
		buf_addstr(&want, ",\"v\\u000a\"]");
	}
	buf_addch(&want, '}');
	err_clear(&err);
	assert_int_equal(jcanon(&out, in.data, in.len, &err), 0);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.data, want.data, want.len);

	buf_reset(&in);
	buf_addch(&in, '[');
	buf_addch(&in, '"');
	for (size_t i = 0; i < 300000; i++)
		buf_addstr(&in, "ab\xc3\xa9\\\"");
	buf_addstr(&in, "\",1");
	for (size_t i = 0; i < 100000; i++)
		buf_addch(&in, '0');
	buf_addstr(&in, "]");
	buf_reset(&out);
	assert_int_equal(jcanon(&out, in.data, in.len, &err), 0);
	assert_int_equal(out.len, 2 + 300000 * 6 + 1 + 10);
	assert_memory_equal(out.data + out.len - 10, ",1e100000]", 10);

	/* After a large document the next small one still works. */
	buf_reset(&out);
	assert_int_equal(jcanon(&out, L("{\"b\":[],\"a\":1}"), &err), 0);
	assert_string_equal(out.data, "{\"a\":1e0,\"b\":[]}");
	buf_release(&in);
	buf_release(&out);
	buf_release(&want);
}

/* ---- PostgreSQL arrays ------------------------------------------------- */

struct pg_case {
	const char *in;
	size_t n;
	enum pgarray_elem elem;
	const char *want; /* NULL: refused */
};

static void test_pgarray(void **state)
{
	static const struct pg_case t[] = {
		{ L("{1,2,NULL}"), PGARRAY_NUMBER, "[1e0,2e0,null]" },
		{ L("{{1,2},{3,4}}"), PGARRAY_NUMBER, "[[1e0,2e0],[3e0,4e0]]" },
		{ L("{{{1},{2}},{{3},{4}}}"), PGARRAY_NUMBER, "[[[1e0],[2e0]],[[3e0],[4e0]]]" },
		{ L("{}"), PGARRAY_NUMBER, "[]" },
		{ L("{}"), PGARRAY_TEXT, "[]" },
		{ L("{}"), PGARRAY_BOOL, "[]" },
		{ L("{}"), PGARRAY_JSON, "[]" },
		{ L(" { } "), PGARRAY_TEXT, "[]" },
		{ L("{1.50,-0}"), PGARRAY_NUMBER, "[1.5e0,0]" },
		{ L("{1e+20,1.5e-07,-3,0.000}"), PGARRAY_NUMBER, "[1e20,1.5e-7,-3e0,0]" },
		{ L("{null,Null,\"7\"}"), PGARRAY_NUMBER, "[null,null,7e0]" },
		{ L("{\"a b\",\"x\\\"y\",NULL,\"NULL\"}"), PGARRAY_TEXT, "[\"a b\",\"x\\\"y\",null,\"NULL\"]" },
		{ L("{ a , b c ,\"  d \" , \"\"}"), PGARRAY_TEXT, "[\"a\",\"b c\",\"  d \",\"\"]" },
		{ L("{a\\,b,c\\ ,\\NULL,nULl}"), PGARRAY_TEXT, "[\"a,b\",\"c \",\"NULL\",null]" },
		{ L("{\"\\\\\",\"{}\",\"a\nb\"}"), PGARRAY_TEXT, "[\"\\\\\",\"{}\",\"a\\u000ab\"]" },
		{ L("{\xc3\xa9t\xc3\xa9,2024-01-31,\"12:00:00+01\"}"), PGARRAY_TEXT,
		  "[\"\xc3\xa9t\xc3\xa9\",\"2024-01-31\",\"12:00:00+01\"]" },
		{ L("{{a,b},{c,NULL}}"), PGARRAY_TEXT, "[[\"a\",\"b\"],[\"c\",null]]" },
		{ L("{t,f}"), PGARRAY_BOOL, "[true,false]" },
		{ L("{t,NULL,f,true,FALSE}"), PGARRAY_BOOL, "[true,null,false,true,false]" },
		{ L("{\"{\\\"b\\\": 1, \\\"a\\\": 2}\"}"), PGARRAY_JSON, "[{\"a\":2e0,\"b\":1e0}]" },
		{ L("{1,\"null\",NULL,true,\"\\\"s\\\"\",\"[1, 2]\"}"), PGARRAY_JSON,
		  "[1e0,null,null,true,\"s\",[1e0,2e0]]" },
		{ L("{{\"{}\",\"[]\"},{\"{\\\"a\\\":{\\\"c\\\":1,\\\"b\\\":0}}\",NULL}}"), PGARRAY_JSON,
		  "[[{},[]],[{\"a\":{\"b\":0,\"c\":1e0}},null]]" },
		/* Refused. */
		{ L("[0:1]={1,2}"), PGARRAY_NUMBER, NULL },
		{ L("[1:2][1:1]={{1},{2}}"), PGARRAY_NUMBER, NULL },
		{ L("{1,2"), PGARRAY_NUMBER, NULL },
		{ L("{{1,2}"), PGARRAY_NUMBER, NULL },
		{ L("{1,2}}"), PGARRAY_NUMBER, NULL },
		{ L("1,2}"), PGARRAY_NUMBER, NULL },
		{ L("{1,{2}}"), PGARRAY_NUMBER, NULL },
		{ L("{{1},2}"), PGARRAY_NUMBER, NULL },
		{ L("{{1,2},{3}}"), PGARRAY_NUMBER, NULL },
		{ L("{{1},{{2}}}"), PGARRAY_NUMBER, NULL },
		{ L("{a,,b}"), PGARRAY_TEXT, NULL },
		{ L("{,}"), PGARRAY_TEXT, NULL },
		{ L("{a,}"), PGARRAY_TEXT, NULL },
		{ L("{\"a}"), PGARRAY_TEXT, NULL },
		{ L("{a\"b\"}"), PGARRAY_TEXT, NULL },
		{ L("{\"a\"b}"), PGARRAY_TEXT, NULL },
		{ L("{a\\"), PGARRAY_TEXT, NULL },
		{ L(""), PGARRAY_TEXT, NULL },
		{ L("{}x"), PGARRAY_TEXT, NULL },
		{ L("{\xc3}"), PGARRAY_TEXT, NULL },
		{ L("{\"\xed\xa0\x80\"}"), PGARRAY_TEXT, NULL },
		{ L("{NaN}"), PGARRAY_NUMBER, NULL },
		{ L("{Infinity}"), PGARRAY_NUMBER, NULL },
		{ L("{-Infinity}"), PGARRAY_NUMBER, NULL },
		{ L("{1,abc}"), PGARRAY_NUMBER, NULL },
		{ L("{+1}"), PGARRAY_NUMBER, NULL },
		{ L("{1e1000000001}"), PGARRAY_NUMBER, NULL },
		{ L("{1 2}"), PGARRAY_NUMBER, NULL },
		{ L("{yes}"), PGARRAY_BOOL, NULL },
		{ L("{\"\"}"), PGARRAY_BOOL, NULL },
		{ L("{\"{\\\"a\\\":}\"}"), PGARRAY_JSON, NULL },
		{ L("{\"\"}"), PGARRAY_JSON, NULL },
		{ L("{abc}"), PGARRAY_JSON, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf out = BUF_INIT;
		struct tally_err err;
		int rc;

		err_clear(&err);
		buf_addstr(&out, PREFIX);
		rc = jcanon_pgarray(&out, t[i].in, t[i].n, t[i].elem, &err);
		if (t[i].want)
			check_appends(rc, &out, &err, t[i].want, i);
		else
			check_refused(rc, &out, &err, t[i].in, t[i].n, i);
		buf_release(&out);
	}
}

static void test_pgarray_details(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct tally_err err;
	char *deep;
	size_t len;

	(void)state;
	err_clear(&err);
	/* A numeric[] compares equal with the JSON array of the same values. */
	assert_int_equal(jcanon_pgarray(&a, L("{1.50,-0}"), PGARRAY_NUMBER, &err), 0);
	assert_int_equal(jcanon(&b, L("[1.5, 0]"), &err), 0);
	assert_string_equal(a.data, b.data);

	assert_int_equal(jcanon_pgarray(&a, L("[0:1]={1,2}"), PGARRAY_NUMBER, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	assert_non_null(strstr(err.msg, "lower bounds"));
	assert_non_null(strstr(err.msg, "no JSON form"));

	assert_int_equal(jcanon_pgarray(&a, L("{1,NaN}"), PGARRAY_NUMBER, &err), -1);
	assert_string_equal(err.msg,
	                    "not a valid array at byte 3: expected a number (NaN and infinities have no JSON form)");
	assert_int_equal(jcanon_pgarray(&a, L("{1,2 "), PGARRAY_NUMBER, &err), -1);
	assert_string_equal(err.msg, "not a valid array at byte 5: expected ',' or '}'");
	assert_int_equal(jcanon_pgarray(&a, L("{1,\"{\\\"secret\\\": tru}\"}"), PGARRAY_JSON, &err), -1);
	assert_string_equal(err.msg, "array element at byte 4: not valid JSON at byte 11: expected a value");

	/* JSON elements count the array's own level towards the depth limit. */
	deep = nested(JCANON_MAX_DEPTH - 1, false, &len);
	buf_reset(&b);
	buf_addstr(&b, "{\"");
	buf_add(&b, deep, len);
	buf_addstr(&b, "\"}");
	buf_reset(&a);
	assert_int_equal(jcanon_pgarray(&a, b.data, b.len, PGARRAY_JSON, &err), 0);
	assert_int_equal(a.len, len + 2);
	free(deep);
	deep = nested(JCANON_MAX_DEPTH, false, &len);
	buf_reset(&b);
	buf_addstr(&b, "{\"");
	buf_add(&b, deep, len);
	buf_addstr(&b, "\"}");
	buf_reset(&a);
	assert_int_equal(jcanon_pgarray(&a, b.data, b.len, PGARRAY_JSON, &err), -1);
	assert_non_null(strstr(err.msg, "nesting deeper than"));
	assert_int_equal(a.len, 0);
	free(deep);
	buf_release(&a);
	buf_release(&b);
}

/* ---- fuzz --------------------------------------------------------------- */

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)((rng_state >> 11) % n);
}

static const char ALPHA[] = "{}[]\",: \t\n0123456789-+.eE\\/utrfalsnbNUL\x01\x7f";
static const char *const HIGH[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\xed\xa0\x80", "\x80",
                                    "\\u00e9", "\\ud83d", "\\ude00", "\\u0000" };

static void random_token(struct buf *b)
{
	uint32_t k = rnd(10);

	if (k < 7)
		buf_addch(b, ALPHA[rnd(sizeof(ALPHA) - 1)]);
	else if (k < 9)
		buf_addstr(b, HIGH[rnd(sizeof(HIGH) / sizeof(HIGH[0]))]);
	else
		buf_addch(b, (char)rnd(256));
}

/* One call that must succeed with canonical output (a fixed point) or fail cleanly. */
static int fuzz_one(const char *s, size_t n, int mode)
{
	struct buf out = BUF_INIT;
	struct tally_err err;
	int rc;

	err_clear(&err);
	buf_addstr(&out, PREFIX);
	if (mode < 0)
		rc = jcanon(&out, s, n, &err);
	else
		rc = jcanon_pgarray(&out, s, n, (enum pgarray_elem)mode, &err);
	assert_memory_equal(out.data, PREFIX, PREFIX_LEN);
	if (rc == 0) {
		assert_fixed_point(out.data + PREFIX_LEN, out.len - PREFIX_LEN);
	} else {
		assert_int_equal(rc, -1);
		assert_int_equal(err.kind, ERR_DATA);
		assert_non_null(strstr(err.msg, "byte"));
		assert_int_equal(out.len, PREFIX_LEN);
		assert_int_equal(out.data[PREFIX_LEN], '\0');
	}
	buf_release(&out);
	return rc == 0;
}

static void mutate(struct buf *b)
{
	uint32_t ops = 1 + rnd(3);

	for (uint32_t k = 0; k < ops; k++) {
		size_t at = b->len ? rnd((uint32_t)b->len + 1) : 0;
		struct buf t = BUF_INIT;

		switch (rnd(4)) {
		case 0: /* replace a byte */
			if (at < b->len)
				b->data[at] = (char)(rnd(2) ? ALPHA[rnd(sizeof(ALPHA) - 1)] : (char)rnd(256));
			break;
		case 1: /* delete a byte */
			if (at < b->len) {
				memmove(b->data + at, b->data + at + 1, b->len - at - 1);
				buf_setlen(b, b->len - 1);
			}
			break;
		case 2: /* insert a token */
			random_token(&t);
			buf_add(&t, b->data + at, b->len - at);
			buf_setlen(b, at);
			buf_add(b, t.data, t.len);
			break;
		default: /* duplicate a span */
			if (at < b->len) {
				size_t len = rnd((uint32_t)(b->len - at)) + 1;
				buf_add(&t, b->data + at, len);
				buf_add(&t, b->data + at, b->len - at);
				buf_setlen(b, at);
				buf_add(b, t.data, t.len);
			}
			break;
		}
		buf_release(&t);
	}
}

static void test_fuzz(void **state)
{
	static const char *const json_seed[] = {
		"{\"b\":[1,2.50,{\"y\":null,\"x\":true}],\"a\":\"\\u00e9\\n\",\"a\":-0.001e-3}",
		"[\"\\ud83d\\ude00\",\"\xc3\xa9\",{},[],false,1E+10,0]",
		"{\"k\":{\"k\":{\"k\":[\"v\",\"\\\\\\\"\"]}}}",
		"  123456789012345678901234567890.000e-5  ",
	};
	static const struct {
		const char *s;
		int elem;
	} pg_seed[] = {
		{ "{1,2.50,NULL,-0,1e+20}", PGARRAY_NUMBER },
		{ "{{a,\"b c\"},{\"x\\\"y\",NULL}}", PGARRAY_TEXT },
		{ "{t,f,NULL}", PGARRAY_BOOL },
		{ "{\"{\\\"b\\\": 1, \\\"a\\\": [2]}\",null,\"3\"}", PGARRAY_JSON },
	};
	struct buf b = BUF_INIT;
	int ok = 0, total = 0;

	(void)state;
	/* Random strings, read as JSON and as each kind of array. */
	for (int i = 0; i < 3000; i++) {
		uint32_t len = rnd(40);

		buf_reset(&b);
		if (i % 2)
			buf_addch(&b, i % 4 == 1 ? '{' : '[');
		for (uint32_t k = 0; k < len; k++)
			random_token(&b);
		ok += fuzz_one(b.data, b.len, -1);
		ok += fuzz_one(b.data, b.len, (int)rnd(4));
		total += 2;
	}
	/* Mutations of valid documents. */
	for (int i = 0; i < 4000; i++) {
		buf_reset(&b);
		if (i % 2) {
			buf_addstr(&b, json_seed[rnd(sizeof(json_seed) / sizeof(json_seed[0]))]);
			mutate(&b);
			ok += fuzz_one(b.data, b.len, -1);
		} else {
			size_t k = rnd(sizeof(pg_seed) / sizeof(pg_seed[0]));

			buf_addstr(&b, pg_seed[k].s);
			mutate(&b);
			ok += fuzz_one(b.data, b.len, pg_seed[k].elem);
		}
		total++;
	}
	/* Both outcomes must have been exercised for the loop to mean anything. */
	assert_true(ok > 100);
	assert_true(total - ok > 100);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_equality),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_pgarray),
		cmocka_unit_test(test_pgarray_details),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
