/*
 * tests/unit/test_wfkeys.c
 *   Unit tests for engine/wfkeys.c: the encoding keeps composite keys
 *   apart, the set is sorted and distinct, lookups, a key's JSON form,
 *   the JSON round trip, and the filter a step applies to its rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/wfkeys.h"

static void add(struct wfkeys *s, const char *a, const char *b)
{
	const char *val[2] = { a, b };
	const size_t len[2] = { a ? strlen(a) : 0, b ? strlen(b) : 0 };
	struct buf e = BUF_INIT;

	wfkeys_encode(&e, val, len, b ? 2 : 1);
	wfkeys_add(s, e.data, e.len);
	buf_release(&e);
}

static void test_encoding_keeps_columns_apart(void **state)
{
	const char *v1[2] = { "1", "23" }, *v2[2] = { "12", "3" };
	const size_t l1[2] = { 1, 2 }, l2[2] = { 2, 1 };
	struct buf a = BUF_INIT, b = BUF_INIT;

	(void)state;
	wfkeys_encode(&a, v1, l1, 2);
	wfkeys_encode(&b, v2, l2, 2);
	assert_string_equal(a.data, "1:12:23");
	assert_string_equal(b.data, "2:121:3");
	buf_release(&a);
	buf_release(&b);
}

static void test_sorted_distinct_and_found(void **state)
{
	struct wfkeys s;

	(void)state;
	wfkeys_init(&s);
	add(&s, "17", NULL);
	add(&s, "3", NULL);
	add(&s, "17", NULL);
	add(&s, "100", NULL);
	wfkeys_finish(&s);
	assert_int_equal(s.n, 3);
	/* The length first: integers of one sign come out in numeric order. */
	assert_string_equal(s.k[0], "1:3");
	assert_string_equal(s.k[1], "2:17");
	assert_string_equal(s.k[2], "3:100");
	assert_int_equal(wfkeys_find(&s, "2:17"), 1);
	assert_int_equal(wfkeys_find(&s, "2:18"), -1);
	assert_int_equal(wfkeys_find(&s, ""), -1);
	wfkeys_release(&s);
}

static void test_key_json(void **state)
{
	char *names[2] = { "order_id", "sku" };
	json_t *k = wfkeys_key_json("2:141:A", names, 2), *n = wfkeys_key_json("2:07", names, 1);
	char *t = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS), *u = json_dumps(n, JSON_COMPACT);

	(void)state;
	assert_string_equal(t, "{\"order_id\":14,\"sku\":\"A\"}");
	assert_string_equal(u, "{\"order_id\":\"07\"}");     /* not an integer's digits: kept as text */
	free(t);
	free(u);
	json_decref(k);
	json_decref(n);
}

static void test_json_round_trip(void **state)
{
	struct wfkeys s, back;
	struct tally_err err;
	json_t *a;

	(void)state;
	wfkeys_init(&s);
	add(&s, "b", "x");
	add(&s, "a", "y");
	wfkeys_finish(&s);
	a = wfkeys_json(&s);
	assert_int_equal(json_array_size(a), 2);
	err_clear(&err);
	assert_int_equal(wfkeys_from_json(&back, a, &err), 0);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.k[0], "1:a1:y");
	assert_string_equal(back.k[1], "1:b1:x");
	json_decref(a);
	a = json_pack("[i]", 3);
	wfkeys_release(&s);
	assert_int_equal(wfkeys_from_json(&s, a, &err), -1);
	assert_string_equal(err.msg, "workflows.json is malformed");
	json_decref(a);
	wfkeys_release(&back);
}

static void test_filter(void **state)
{
	struct wfkeys s;
	size_t col[1] = { 1 };      /* the workflow key is the step's second key column */
	struct wf_filter f = { &s, 1, col };
	const char *in[2] = { "SKU-A", "12" }, *out[2] = { "SKU-A", "21" };
	const size_t len[2] = { 5, 2 };
	struct buf scratch = BUF_INIT;

	(void)state;
	wfkeys_init(&s);
	add(&s, "12", NULL);
	wfkeys_finish(&s);
	assert_true(wf_filter_keeps(&f, in, len, &scratch));
	assert_false(wf_filter_keeps(&f, out, len, &scratch));
	buf_release(&scratch);
	wfkeys_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding_keeps_columns_apart),
		cmocka_unit_test(test_sorted_distinct_and_found),
		cmocka_unit_test(test_key_json),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
