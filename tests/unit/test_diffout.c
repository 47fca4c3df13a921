/*
 * tests/unit/test_diffout.c
 *   How a value renders in a difference line, type by type: integers as
 *   numbers (strings past 2^63), booleans from every storage, bytes as
 *   \x and hex, MariaDB's raw BIT bytes as bits, text that is not UTF-8
 *   kept visibly, decimals with their digits, NULL as null; and keys as
 *   text for messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../engine/diffout.h"

struct case_ {
	enum ltype type;
	int bits;
	enum cclass cls;
	bool raw_bits;
	const char *v;          /* NULL: SQL NULL */
	size_t len;
	const char *json;       /* what the line holds, as JSON text */
};

#define V(s) s, sizeof(s) - 1

static void test_values(void **state)
{
	static const struct case_ cases[] = {
		{ LT_INT, 64, CC_NUMBER, false, V("17"), "17" },
		{ LT_INT, 64, CC_NUMBER, false, V("-9223372036854775808"), "-9223372036854775808" },
		{ LT_INT, 64, CC_NUMBER, false, V("18446744073709551615"), "\"18446744073709551615\"" },
		{ LT_YEAR, 0, CC_NUMBER, false, V("2024"), "2024" },
		{ LT_DECIMAL, 0, CC_NUMBER, false, V("1.50"), "\"1.50\"" },
		{ LT_BOOL, 0, CC_BOOL, false, V("t"), "true" },
		{ LT_BOOL, 0, CC_BOOL, false, V("f"), "false" },
		{ LT_INT, 8, CC_BOOL, false, V("1"), "true" },
		{ LT_INT, 8, CC_BOOL, false, V("0"), "false" },
		{ LT_BIT, 1, CC_BOOL, true, V("\x01"), "true" },
		{ LT_BIT, 10, CC_BITS, true, V("\x02\x81"), "\"1010000001\"" },
		{ LT_BYTES, 0, CC_BYTES, false, V("\x00\xff" "a"), "\"\\\\x00ff61\"" },
		{ LT_TEXT, 0, CC_TEXT, false, V("caf\xc3\xa9 \"q\""), "\"caf\xc3\xa9 \\\"q\\\"\"" },
		{ LT_TEXT, 0, CC_TEXT, false, V("a\xff"), "{\"invalid_utf8_hex\": \"61ff\"}" },
		{ LT_TIMESTAMP, 6, CC_TIMESTAMP, false, V("2024-01-02 03:04:05.5"), "\"2024-01-02 03:04:05.5\"" },
		{ LT_TEXT, 0, CC_TEXT, false, NULL, 0, "null" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		struct coldesc cd;
		struct canon_col cc = canon_col_make(c->cls, c->type);
		json_t *j, *want;
		json_error_t je;
		char *text;

		memset(&cd, 0, sizeof(cd));
		cd.type = c->type;
		cd.bits = c->bits;
		cc.raw_bits = c->raw_bits;
		j = diffout_value(&cd, &cc, c->v, c->len);
		want = json_loads(c->json, JSON_DECODE_ANY, &je);
		assert_non_null(j);
		assert_non_null(want);
		if (!json_equal(j, want)) {
			text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
			fail_msg("case %zu: got %s, want %s", i, text, c->json);
		}
		json_decref(want);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
