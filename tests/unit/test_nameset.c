/*
 * tests/unit/test_nameset.c
 *   Unit tests for engine/base/nameset.c: first index kept on a duplicate,
 *   names that differ only in length or after a NUL byte, growth over
 *   many names with every one still found, release and reuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/nameset.h"

static void assert_sane_nameset(const struct nameset *set)
{
	size_t used = 0;

	if (set->cap == 0) {
		assert_null(set->slots);
		assert_int_equal(set->count, 0);
		return;
	}
	assert_non_null(set->slots);
	assert_int_equal(set->cap & (set->cap - 1), 0);
	assert_true(set->count * 2 <= set->cap);
	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i].name)
			used++;
	assert_int_equal(used, set->count);
}

static void test_empty(void **state)
{
	struct nameset set = NAMESET_INIT;
	size_t idx = 99;

	(void)state;
	assert_sane_nameset(&set);
	assert_false(nameset_find(&set, "a", 1, &idx));
	assert_int_equal(idx, 99);
	nameset_release(&set);
	assert_sane_nameset(&set);
}

static void test_duplicate_keeps_first(void **state)
{
	struct nameset set = NAMESET_INIT;
	size_t idx = 0;

	(void)state;
	assert_true(nameset_add(&set, "orders", 6, 0, NULL));
	assert_true(nameset_add(&set, "customers", 9, 1, NULL));
	assert_false(nameset_add(&set, "orders", 6, 2, &idx));
	assert_int_equal(idx, 0);
	assert_false(nameset_add(&set, "customers", 9, 3, NULL));
	assert_int_equal(set.count, 2);
	assert_true(nameset_find(&set, "customers", 9, &idx));
	assert_int_equal(idx, 1);
	assert_true(nameset_find(&set, "orders", 6, NULL));
	assert_sane_nameset(&set);
	nameset_release(&set);
}

/* Length counts, and bytes after a NUL too: "a" is not "ab", "a\0b" is not "a\0c". */
static void test_bytes_and_length(void **state)
{
	struct nameset set = NAMESET_INIT;
	size_t idx = 0;

	(void)state;
	assert_true(nameset_add(&set, "ab", 1, 0, NULL));
	assert_true(nameset_add(&set, "ab", 2, 1, NULL));
	assert_true(nameset_add(&set, "", 0, 2, NULL));
	assert_true(nameset_add(&set, "a\0b", 3, 3, NULL));
	assert_true(nameset_add(&set, "a\0c", 3, 4, NULL));
	assert_false(nameset_add(&set, "a\0b", 3, 5, &idx));
	assert_int_equal(idx, 3);
	assert_true(nameset_find(&set, "a", 1, &idx));
	assert_int_equal(idx, 0);
	assert_true(nameset_find(&set, "", 0, &idx));
	assert_int_equal(idx, 2);
	assert_false(nameset_find(&set, "b", 1, NULL));
	assert_sane_nameset(&set);
	nameset_release(&set);
}

/* Many names, through several doublings: each is found with its index. */
static void test_growth(void **state)
{
	enum { N = 50000 };
	struct nameset set = NAMESET_INIT;
	char (*names)[16] = calloc(N, sizeof(*names));
	size_t idx = 0;

	(void)state;
	assert_non_null(names);
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "c%zu", i);
		assert_true(nameset_add(&set, names[i], strlen(names[i]), i, NULL));
	}
	assert_int_equal(set.count, N);
	assert_sane_nameset(&set);
	for (size_t i = 0; i < N; i++) {
		assert_true(nameset_find(&set, names[i], strlen(names[i]), &idx));
		assert_int_equal(idx, i);
		assert_false(nameset_add(&set, names[i], strlen(names[i]), N + i, &idx));
		assert_int_equal(idx, i);
	}
	assert_false(nameset_find(&set, "c50000", 6, NULL));
	nameset_release(&set);
	assert_sane_nameset(&set);
	assert_true(nameset_add(&set, names[7], strlen(names[7]), 1, NULL));
	assert_sane_nameset(&set);
	nameset_release(&set);
	free(names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_duplicate_keeps_first),
		cmocka_unit_test(test_bytes_and_length),
		cmocka_unit_test(test_growth),
	};

	return cmocka_run_group_tests_name("nameset", tests, NULL, NULL);
}
