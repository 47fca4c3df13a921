/*
 * tests/unit/test_spectext.c
 *   Unit tests for engine/spectext.c: text that is not UTF-8, NUL bytes
 *   and explicit keys are refused at their line and column (in
 *   characters); '?' and quotes inside quoted scalars, comments, block
 *   scalars and plain text are not mistaken for them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine/spectext.h"

/* "" when s (n bytes) passes, else "LINE:COL: why". */
static const char *check(const char *s, size_t n)
{
	static char out[200];
	char why[128];
	int line = 0, col = 0;

	if (spectext_check(s, n, &line, &col, why, sizeof(why)) == 0)
		return "";
	snprintf(out, sizeof(out), "%d:%d: %s", line, col, why);
	return out;
}

#define CHECK(lit) check(lit, sizeof(lit) - 1)
#define KEY "explicit keys ('? ') are not supported"

static void test_explicit_keys(void **state)
{
	(void)state;
	/* libfyaml 0.7 crashes freeing its parser after these */
	assert_string_equal(CHECK("? s:\t:"), "1:1: " KEY);
	assert_string_equal(CHECK("? \"s\":\t:"), "1:1: " KEY);
	assert_string_equal(CHECK("a: ? b"), "1:4: " KEY);
	assert_string_equal(CHECK("a:\t? b"), "1:4: " KEY);
	assert_string_equal(CHECK("- ? x"), "1:3: " KEY);
	assert_string_equal(CHECK("{ ? a: b }"), "1:3: " KEY);
	assert_string_equal(CHECK("[a, ? b]"), "1:5: " KEY);
	assert_string_equal(CHECK("a: &x ? b"), "1:7: " KEY);
	assert_string_equal(CHECK("a: !!map ? b"), "1:10: " KEY);
	assert_string_equal(CHECK("--- ? x"), "1:5: " KEY);
	assert_string_equal(CHECK("a:\n  b: 1\n  ?\n"), "3:3: " KEY);
	assert_string_equal(CHECK("a: b\n?"), "2:1: " KEY);
	/* a CR alone breaks a line too; CR LF is one break */
	assert_string_equal(CHECK("a: b\r? x"), "2:1: " KEY);
	assert_string_equal(CHECK("a: b\r\n? x"), "2:1: " KEY);
	assert_string_equal(CHECK("a: b\r\nc: d\r\n e: \xff"), "3:5: byte 0xff is not UTF-8");
}

static void test_question_marks_that_are_text(void **state)
{
	(void)state;
	assert_string_equal(CHECK("reason: is it? yes"), "");
	assert_string_equal(CHECK("a?: b"), "");
	assert_string_equal(CHECK("a: ?b"), "");
	assert_string_equal(CHECK("a: '? b'"), "");
	assert_string_equal(CHECK("a: 'it''s ? x'\nb: c"), "");
	assert_string_equal(CHECK("a: \"x\\\" ? y\"\nb: c"), "");
	assert_string_equal(CHECK("a: 'one\n? two'\nb: c"), "");
	assert_string_equal(CHECK("a: \"one\n? two\"\nb: c"), "");
	assert_string_equal(CHECK("a: b # ? c\n# ? d\n"), "");
	assert_string_equal(CHECK("where: it's ? x"), "");
	/* block scalars: their content is text, up to a line indented no more than theirs */
	assert_string_equal(CHECK("q: |\n  ? select\n\n  x\nb: c"), "");
	assert_string_equal(CHECK("- q: >-\n    ? one\n    ? two\n- r: s"), "");
	assert_string_equal(CHECK("q: |\n  a\n? x:\n"), "3:1: " KEY);
}

#define QUOTES "'''' (two quotes in a row) in a single-quoted string is mishandled by " \
	"libfyaml 0.7: use double quotes"

/* libfyaml 0.7 reads 'a''''b' as a''' (and leaks): such strings are refused. */
static void test_quote_runs(void **state)
{
	(void)state;
	assert_string_equal(CHECK("where: 'note = ''it''''s'''"), "1:20: " QUOTES);
	assert_string_equal(CHECK("a: 'x''''''y'"), "1:6: " QUOTES);
	/* what libfyaml reads right stays allowed */
	assert_string_equal(CHECK("a: 'it''s'"), "");
	assert_string_equal(CHECK("a: 'x'' ''y'"), "");
	assert_string_equal(CHECK("a: 'x'''''"), "1:6: " QUOTES);
	assert_string_equal(CHECK("a: ''''\nb: c"), "");
	assert_string_equal(CHECK("a: \"it''''s\""), "");
	assert_string_equal(CHECK("a: \"x\\\ny\"\nb: c"), "");
	assert_string_equal(CHECK("a: it''''s"), "");
}

static void test_bytes(void **state)
{
	(void)state;
	assert_string_equal(CHECK("%A\xf2\n"), "1:3: byte 0xf2 is not UTF-8");
	assert_string_equal(CHECK("a: \xc3\xa9\xff"), "1:5: byte 0xff is not UTF-8");
	assert_string_equal(CHECK("a: \xed\xa0\x80"), "1:4: byte 0xed is not UTF-8");
	assert_string_equal(CHECK("a: \xc0\x80"), "1:4: byte 0xc0 is not UTF-8");
	assert_string_equal(CHECK("a: \xe2\x82"), "1:4: byte 0xe2 is not UTF-8");
	assert_string_equal(CHECK("a: b\nc: d\0"), "2:5: a NUL byte");
	assert_string_equal(CHECK("a: '\xe2\x82\xac \xf0\x9f\x98\x80'"), "");
	assert_string_equal(CHECK("\xef\xbb\xbf" "a: b"), "");
	assert_string_equal(CHECK(""), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explicit_keys),
		cmocka_unit_test(test_question_marks_that_are_text),
		cmocka_unit_test(test_quote_runs),
		cmocka_unit_test(test_bytes),
	};

	return cmocka_run_group_tests_name("spectext", tests, NULL, NULL);
}
