/*
 * tests/unit/test_spec_workflow.c
 *   Unit tests for engine/spec_workflow.c: a workflow whose steps become
 *   checks named WORKFLOW.STEP with their key tied to the workflow's key
 *   (key_map), and each refusal with its exact message and position.
 *   Performs no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/spec.h"

/* Lines 1-5. */
#define HEAD \
	"version: 1\n" \
	"name: n\n" \
	"systems:\n" \
	"  app: { driver: postgres, dsn: \"dbname=x\" }\n" \
	"  search: { driver: mariadb, dsn: \"mariadb://u@h/db\" }\n"

/* Lines 6-11: a workflow up to its steps. */
#define WF \
	"workflows:\n" \
	"  - name: order-cancel\n" \
	"    reason: \"INC-4711\"\n" \
	"    keys: { system: app, query: \"SELECT id AS order_id FROM orders\" }\n" \
	"    key: [order_id]\n" \
	"    steps:\n"

/* Lines 12-16: the first step. */
#define STEP1 \
	"      - name: order-cancelled\n" \
	"        source: { system: app, query: \"SELECT id, 'cancelled' AS status FROM orders\" }\n" \
	"        target: { system: app, table: orders }\n" \
	"        key_map: { order_id: id }\n" \
	"        expect: subset\n"

static const char *load_err(const char *yaml)
{
	static struct tally_err err;
	struct spec s;

	err_clear(&err);
	assert_int_equal(spec_load_string("t.yaml", yaml, strlen(yaml), &s, &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	return err.msg;
}

static void test_workflow_loads(void **state)
{
	static const char yaml[] = HEAD WF STEP1
		"      - name: stock-released\n"
		"        source: { system: app, query: \"SELECT order_id, sku FROM r\" }\n"
		"        target: { system: app, table: stock_reservations }\n"
		"        key: [order_id, sku]\n"
		"        expect: absent\n"
		"      - name: unindexed\n"
		"        source: { system: app, query: \"SELECT id AS order_id FROM orders\" }\n"
		"        target: { system: search, table: search_index }\n"
		"        expect: absent\n"
		"    repair_out_of_order: true\n";
	struct tally_err err;
	struct spec s;
	const struct spec_workflow *w;
	const struct spec_check *c;
	size_t step = 9;

	(void)state;
	err_clear(&err);
	if (spec_load_string("t.yaml", yaml, strlen(yaml), &s, &err) != 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_int_equal(s.nworkflows, 1);
	assert_int_equal(s.nchecks, 3);
	w = spec_find_workflow(&s, "order-cancel");
	assert_non_null(w);
	assert_string_equal(w->reason, "INC-4711");
	assert_string_equal(w->keys.system, "app");
	assert_ptr_equal(w->keys.sys, &s.systems[0]);
	assert_int_equal(w->nkey, 1);
	assert_string_equal(w->key[0], "order_id");
	assert_true(w->repair_out_of_order);
	assert_int_equal(w->nsteps, 3);
	assert_string_equal(w->steps[0].check, "order-cancel.order-cancelled");
	assert_string_equal(w->steps[0].key_map[0], "id");
	assert_string_equal(w->steps[1].key_map[0], "order_id");
	assert_string_equal(w->steps[2].check, "order-cancel.unindexed");
	assert_int_equal(w->pos.line, 7);
	/* The steps are checks: the first mapped, its key taken from key_map. */
	c = spec_find_check(&s, "order-cancel.order-cancelled");
	assert_non_null(c);
	assert_int_equal(c->expect, EXPECT_SUBSET);
	assert_int_equal(c->nkey, 1);
	assert_string_equal(c->key[0], "id");
	c = spec_find_check(&s, "order-cancel.stock-released");
	assert_int_equal(c->nkey, 2);
	assert_int_equal(c->expect, EXPECT_ABSENT);
	c = spec_find_check(&s, "order-cancel.unindexed");
	assert_string_equal(c->target.system, "search");
	assert_string_equal(c->key[0], "order_id");
	assert_ptr_equal(spec_workflow_of(&s, "order-cancel.unindexed", &step), w);
	assert_int_equal(step, 2);
	assert_null(spec_workflow_of(&s, "order-cancel", NULL));
	spec_release(&s);
}

static void test_workflow_next_to_checks(void **state)
{
	static const char yaml[] = HEAD
		"checks:\n"
		"  - name: c\n"
		"    source: { system: app, table: t }\n"
		"    target: { system: search, table: t }\n"
		WF STEP1;
	struct tally_err err;
	struct spec s;

	(void)state;
	err_clear(&err);
	if (spec_load_string("t.yaml", yaml, strlen(yaml), &s, &err) != 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_int_equal(s.nchecks, 2);
	assert_string_equal(s.checks[0].name, "c");
	assert_string_equal(s.checks[1].name, "order-cancel.order-cancelled");
	assert_false(s.workflows[0].repair_out_of_order);
	spec_release(&s);
}

static void test_unknown_key(void **state)
{
	(void)state;
	assert_string_equal(load_err(HEAD WF STEP1 "    retries: 3\n"),
	                    "t.yaml:17:5: workflows[0]: unknown key 'retries' (expected one of: name, reason, keys, "
	                    "key, steps, repair_out_of_order)");
}

static void test_unknown_step_key(void **state)
{
	(void)state;
	assert_string_equal(load_err(HEAD WF STEP1 "        match: multiset\n"),
	                    "t.yaml:17:9: workflows[0].steps[0]: unknown key 'match' (expected one of: name, source, "
	                    "target, key, columns, options, ignore, expect, repair, chunk_rows, key_map)");
}

static void test_key_map_not_in_step_key(void **state)
{
	static const char yaml[] = HEAD WF
		"      - name: s\n"
		"        source: { system: app, table: a }\n"
		"        target: { system: app, table: b }\n"
		"        key: [id]\n"
		"        key_map: { order_id: oid }\n";

	(void)state;
	assert_string_equal(load_err(yaml), "t.yaml:16:18: workflows[0].steps[0].key_map: column 'oid' (for workflow "
	                    "key column 'order_id') is not in the step's key");
}

static void test_key_map_unknown_workflow_column(void **state)
{
	static const char yaml[] = HEAD WF
		"      - name: s\n"
		"        source: { system: app, table: a }\n"
		"        target: { system: app, table: b }\n"
		"        key_map: { id: oid }\n";

	(void)state;
	assert_string_equal(load_err(yaml), "t.yaml:15:20: workflows[0].steps[0].key_map.id: not a column of the "
	                    "workflow's key");
}

static void test_step_key_not_covering(void **state)
{
	static const char yaml[] = HEAD WF
		"      - name: s\n"
		"        source: { system: app, table: a }\n"
		"        target: { system: app, table: b }\n"
		"        key: [sku]\n";

	(void)state;
	assert_string_equal(load_err(yaml), "t.yaml:15:14: workflows[0].steps[0]: the step's key does not cover "
	                    "workflow key column 'order_id' (add it, or map it with key_map)");
}

static void test_duplicate_step(void **state)
{
	static const char yaml[] = HEAD WF STEP1
		"      - name: order-cancelled\n"
		"        source: { system: app, table: a }\n"
		"        target: { system: app, table: b }\n";

	(void)state;
	assert_string_equal(load_err(yaml), "t.yaml:17:15: workflows[0].steps[1].name: duplicate step name "
	                    "'order-cancel.order-cancelled'");
}

static void test_duplicate_workflow_and_check(void **state)
{
	static const char yaml[] = HEAD
		"checks:\n"
		"  - name: order-cancel\n"
		"    source: { system: app, table: t }\n"
		"    target: { system: search, table: t }\n"
		WF STEP1;

	(void)state;
	assert_string_equal(load_err(yaml), "t.yaml:11:11: workflows[0].name: duplicate name 'order-cancel' (a check "
	                    "or a workflow has it already)");
}

static void test_empty_steps(void **state)
{
	static const char yaml[] = HEAD
		"workflows:\n"
		"  - name: w\n"
		"    keys: { system: app, table: orders }\n"
		"    key: id\n"
		"    steps: []\n";

	(void)state;
	assert_string_equal(load_err(yaml), "t.yaml:10:12: workflows[0].steps: expected at least one step");
}

static void test_keys_unknown_system(void **state)
{
	static const char yaml[] = HEAD
		"workflows:\n"
		"  - name: w\n"
		"    keys: { system: nope, table: orders }\n"
		"    key: id\n"
		"    steps: []\n";

	(void)state;
	assert_string_equal(load_err(yaml), "t.yaml:8:21: workflows[0].keys.system: unknown system 'nope' "
	                    "(defined: app, search)");
}

static void test_missing_checks_and_workflows(void **state)
{
	(void)state;
	assert_string_equal(load_err(HEAD), "t.yaml:1:1: missing required key 'checks'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workflow_loads),
		cmocka_unit_test(test_workflow_next_to_checks),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_unknown_step_key),
		cmocka_unit_test(test_key_map_not_in_step_key),
		cmocka_unit_test(test_key_map_unknown_workflow_column),
		cmocka_unit_test(test_step_key_not_covering),
		cmocka_unit_test(test_duplicate_step),
		cmocka_unit_test(test_duplicate_workflow_and_check),
		cmocka_unit_test(test_empty_steps),
		cmocka_unit_test(test_keys_unknown_system),
		cmocka_unit_test(test_missing_checks_and_workflows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
