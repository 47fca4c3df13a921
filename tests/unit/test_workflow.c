/*
 * tests/unit/test_workflow.c
 *   Unit tests for engine/workflow.c: the group of every step-state
 *   vector of three steps, the anomaly rule, and the counts per group.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "engine/workflow.h"

/* Every vector of three steps: bit i of v is step i done. */
static void test_all_vectors_of_three(void **state)
{
	static const struct { enum wf_group g; size_t after; } want[8] = {
		[0] = { WF_NEVER_STARTED, 0 },  /* - - - */
		[1] = { WF_STOPPED, 0 },        /* x - - */
		[2] = { WF_OUT_OF_ORDER, 0 },   /* - x - */
		[3] = { WF_STOPPED, 1 },        /* x x - */
		[4] = { WF_OUT_OF_ORDER, 0 },   /* - - x */
		[5] = { WF_OUT_OF_ORDER, 0 },   /* x - x */
		[6] = { WF_OUT_OF_ORDER, 0 },   /* - x x */
		[7] = { WF_COMPLETE, 0 },       /* x x x */
	};

	(void)state;
	for (unsigned v = 0; v < 8; v++) {
		bool done[3] = { v & 1, (v >> 1) & 1, (v >> 2) & 1 };
		size_t after = 99;
		enum wf_group g = wf_group_of(done, 3, &after);

		assert_int_equal(g, want[v].g);
		if (g == WF_STOPPED)
			assert_int_equal(after, want[v].after);
		else
			assert_int_equal(after, 99);
	}
}

static void test_one_step(void **state)
{
	bool yes = true, no = false;

	(void)state;
	assert_int_equal(wf_group_of(&yes, 1, NULL), WF_COMPLETE);
	assert_int_equal(wf_group_of(&no, 1, NULL), WF_NEVER_STARTED);
}

static void test_repairs(void **state)
{
	(void)state;
	assert_false(wf_repairs(WF_COMPLETE, true));
	assert_true(wf_repairs(WF_NEVER_STARTED, false));
	assert_true(wf_repairs(WF_STOPPED, false));
	assert_false(wf_repairs(WF_OUT_OF_ORDER, false));
	assert_true(wf_repairs(WF_OUT_OF_ORDER, true));
	assert_string_equal(wf_group_name(WF_STOPPED), "stopped_after");
	assert_string_equal(wf_group_name(WF_NEVER_STARTED), "never_started");
	assert_string_equal(wf_group_name(WF_OUT_OF_ORDER), "out_of_order");
	assert_string_equal(wf_group_name(WF_COMPLETE), "complete");
}

static void test_counts(void **state)
{
	static const bool keys[][3] = {
		{ true, true, true }, { true, true, true }, { true, false, false }, { true, true, false },
		{ true, true, false }, { false, false, false }, { false, true, false },
	};
	struct wf_counts c;
	size_t after = 0;

	(void)state;
	wf_counts_init(&c, 3);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		wf_counts_add(&c, keys[i], &after);
	assert_int_equal(c.keys, 7);
	assert_int_equal(c.complete, 2);
	assert_int_equal(c.never_started, 1);
	assert_int_equal(c.out_of_order, 1);
	assert_int_equal(c.stopped_after[0], 1);
	assert_int_equal(c.stopped_after[1], 2);
	assert_int_equal(c.stopped_after[2], 0);
	assert_int_equal(c.complete + c.never_started + c.out_of_order + c.stopped_after[0] + c.stopped_after[1],
	                 c.keys);
	wf_counts_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_vectors_of_three),
		cmocka_unit_test(test_one_step),
		cmocka_unit_test(test_repairs),
		cmocka_unit_test(test_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
