/*
 * tests/unit/test_automode.c
 *   --mode auto's cost model without a server: the probe, learning what
 *   streaming costs, the margin, density, probing again, one probe at a
 *   time across workers, fixed costs for tests, and the report's words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../engine/automode.h"

/* Stats of d us and s us a row over a million rows each, diff of 1000 parts differing. */
static struct auto_stats stats(double d, double s, uint64_t diff)
{
	struct auto_stats st;

	memset(&st, 0, sizeof(st));
	st.fixed_stream_us = st.fixed_digest_us = -1;
	st.digest_s = d;
	st.digest_rows = 1000000;
	st.stream_s = s;
	st.stream_rows = 1000000;
	st.parts = 1000;
	st.parts_differing = diff;
	return st;
}

static void test_probe_then_learn(void **state)
{
	struct auto_stats st;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.fixed_stream_us = st.fixed_digest_us = -1;
	assert_int_equal(auto_decide(&st, false), AUTO_DIGEST);     /* the probe */
	assert_int_equal(auto_decide(&st, true), AUTO_STREAM);      /* another worker probes */
	st.digest_s = 0.5;
	st.digest_rows = 8000;
	st.parts = 8;
	assert_int_equal(auto_decide(&st, false), AUTO_STREAM);     /* streaming's cost unknown */
	st.stream_rows = 100000;
	st.stream_s = 1.0;      /* 10 us a row against 62.5: stream */
	assert_int_equal(auto_decide(&st, false), AUTO_STREAM);
}

static void test_costs_and_density(void **state)
{
	struct auto_stats st;

	(void)state;
	/* Equal tables: digesting at 1 us a row beats streaming at 10. */
	st = stats(1, 10, 0);
	assert_int_equal(auto_decide(&st, false), AUTO_DIGEST);
	/* Digesting at 7.9 against 10: under the margin (8): digest; at 8.1, stream. */
	st = stats(7.9, 10, 0);
	assert_int_equal(auto_decide(&st, false), AUTO_DIGEST);
	st = stats(8.1, 10, 0);
	assert_int_equal(auto_decide(&st, false), AUTO_STREAM);
	/* Loopback: digests cost more than streaming, at any density. */
	st = stats(15.7, 2.7, 0);
	assert_int_equal(auto_decide(&st, false), AUTO_STREAM);
	/* Cheap digests, but every part differs: 1 (1 + 1) + 10 > 8. */
	st = stats(1, 10, 1000);
	assert_int_equal(auto_decide(&st, false), AUTO_STREAM);
	/* A fifth of the parts: 1 * 1.2 + 0.2 * 10 = 3.2 < 8. */
	st = stats(1, 10, 200);
	assert_int_equal(auto_decide(&st, false), AUTO_DIGEST);
}

static void test_probe_again(void **state)
{
	struct auto_stats st = stats(1, 10, 1000);

	(void)state;
	st.streamed_since_probe = AUTO_REPROBE_ROWS - 1;
	assert_int_equal(auto_decide(&st, false), AUTO_STREAM);
	st.streamed_since_probe = AUTO_REPROBE_ROWS;
	assert_int_equal(auto_decide(&st, false), AUTO_DIGEST);
	assert_int_equal(auto_decide(&st, true), AUTO_STREAM);
	/* Never where even an equal table digests slower than it streams. */
	st = stats(9, 10, 1000);
	st.streamed_since_probe = 100 * AUTO_REPROBE_ROWS;
	assert_int_equal(auto_decide(&st, false), AUTO_STREAM);
}

static void test_meter_one_probe(void **state)
{
	struct auto_meter m;
	bool c1 = false, c2 = false, c3 = false;

	(void)state;
	unsetenv("TALLY_AUTO_COSTS");
	auto_meter_init(&m);
	assert_int_equal(auto_meter_pick(&m, &c1), AUTO_DIGEST);
	assert_true(c1);
	assert_int_equal(auto_meter_pick(&m, &c2), AUTO_STREAM);     /* the second worker streams */
	assert_false(c2);
	auto_meter_unclaim(&m);         /* the first worker's chunk failed */
	assert_int_equal(auto_meter_pick(&m, &c2), AUTO_DIGEST);
	assert_true(c2);
	auto_meter_digested(&m, 0.008, 8000, 8, 0);     /* 1 us a row */
	auto_meter_streamed(&m, 0.5, AUTO_MIN_SAMPLE - 1);      /* too short to tell */
	assert_int_equal(m.st.stream_rows, 0);
	auto_meter_streamed(&m, 1.0, 100000);           /* 10 us a row */
	assert_int_equal(auto_meter_pick(&m, &c3), AUTO_DIGEST);
	assert_false(c3);               /* chosen, not a probe: every worker may digest */
	auto_meter_release(&m);
}

static void test_fixed_costs(void **state)
{
	struct auto_meter m;
	bool c = false;

	(void)state;
	setenv("TALLY_AUTO_COSTS", "10,1", 1);
	auto_meter_init(&m);
	assert_true(m.st.fixed_stream_us == 10 && m.st.fixed_digest_us == 1);
	assert_int_equal(auto_meter_pick(&m, &c), AUTO_DIGEST);
	auto_meter_digested(&m, 99, 8000, 8, 0);        /* measured costs are ignored */
	assert_int_equal(auto_meter_pick(&m, &c), AUTO_DIGEST);     /* no stream sample needed */
	auto_meter_release(&m);
	setenv("TALLY_AUTO_COSTS", "10,x", 1);
	auto_meter_init(&m);
	assert_true(m.st.fixed_stream_us < 0 && m.st.fixed_digest_us < 0);
	auto_meter_release(&m);
	unsetenv("TALLY_AUTO_COSTS");
}

static void test_outcome_and_reason(void **state)
{
	struct push_costs c = { 0.5, 100000, 0.25, 100000, 100, 3 };
	char *r;

	(void)state;
	assert_string_equal(auto_outcome(10, 0, 0), "stream");
	assert_string_equal(auto_outcome(0, 10, 0), "pushdown");
	assert_string_equal(auto_outcome(9, 1, 0), "mixed");
	assert_string_equal(auto_outcome(0, 10, 1), "mixed");
	r = auto_reason(&c, 9, 1, 1);
	assert_string_equal(r, "auto: digests in the servers 5.00 us a row, streaming 2.50 us a row; 3 of 100 digested "
	                       "parts differed; chunks: 9 streamed, 1 digested (1 of them streamed in part)");
	free(r);
	memset(&c, 0, sizeof(c));
	r = auto_reason(&c, 1, 0, 0);
	assert_string_equal(r, "auto: digests in the servers not measured, streaming not measured; 0 of 0 digested "
	                       "parts differed; chunks: 1 streamed, 0 digested (0 of them streamed in part)");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_then_learn),
		cmocka_unit_test(test_costs_and_density),
		cmocka_unit_test(test_probe_again),
		cmocka_unit_test(test_meter_one_probe),
		cmocka_unit_test(test_fixed_costs),
		cmocka_unit_test(test_outcome_and_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
