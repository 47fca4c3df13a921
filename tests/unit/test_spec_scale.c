/*
 * tests/unit/test_spec_scale.c
 *   Unit tests for engine/spec.c at scale: loading a spec of 8n items
 *   (checks, columns, systems, map entries, key columns) must take about
 *   eight times as long as n items, not sixty-four. A timed assertion, but
 *   of complexity, not speed: each size is loaded at least three times,
 *   interleaved, and the fastest CPU time of each is kept (a loaded
 *   machine only slows some runs down). Measured here, the linear loader
 *   gives ratios of 5 to 12 (cache effects push the big specs up), the
 *   loader with linear scans for duplicate names and libfyaml's own
 *   duplicate-key check gave 28 to 70; the bound is 20. A growth of 4
 *   would not do: libfyaml's cost per check hides a quadratic scan over
 *   check names at any n that loads in well under a second (ratios of 8
 *   to 9.5 against 4 to 5). Performs no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/base/buf.h"
#include "engine/spec.h"

#define MIN_ROUNDS 3
#define MAX_ROUNDS 7
#define GROWTH 8
#define MAX_RATIO 20.0

/* Appends a spec of n items of one kind to b. */
typedef void (*gen_fn)(struct buf *b, size_t n);

#define HEAD "version: 1\nname: n\nsystems:\n" \
	"  pg: { driver: postgres, dsn: \"postgresql://u@h/db\" }\n"

/* n checks; the sides are aliases so that the names dominate. */
static void gen_checks(struct buf *b, size_t n)
{
	buf_addf(b, HEAD "checks:\n"
	         "  - { name: c, source: &s { system: pg, table: t }, target: *s }\n");
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "  - { name: a-check-name-long-enough-to-be-slow-to-compare-%zu, source: *s, target: *s }\n", i);
}

/* One check with n columns and n other columns ignored. */
static void gen_columns(struct buf *b, size_t n)
{
	buf_addf(b, HEAD "checks:\n  - name: c\n"
	         "    source: { system: pg, table: t }\n"
	         "    target: { system: pg, table: t }\n    columns:\n");
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "      - column_%zu\n", i);
	buf_addf(b, "    ignore:\n");
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "      - ignored_%zu\n", i);
}

/* n systems, each named by one check. */
static void gen_systems(struct buf *b, size_t n)
{
	buf_addf(b, HEAD);
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "  s%zu: { driver: mariadb, dsn: \"mariadb://u@h/db\" }\n", i);
	buf_addf(b, "checks:\n");
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "  - { name: c%zu, source: { system: s%zu, table: t },"
		         " target: { system: pg, table: t } }\n", i, i);
}

/* One column whose map has n entries. */
static void gen_map(struct buf *b, size_t n)
{
	buf_addf(b, HEAD "checks:\n  - name: c\n"
	         "    source: { system: pg, table: t }\n"
	         "    target: { system: pg, table: t }\n"
	         "    columns:\n      - name: status\n        map:\n");
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "          code-%zu: state-%zu\n", i, i);
}

/* A key of n columns. */
static void gen_key(struct buf *b, size_t n)
{
	buf_addf(b, HEAD "checks:\n  - name: c\n"
	         "    source: { system: pg, table: t }\n"
	         "    target: { system: pg, table: t }\n    key:\n");
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "      - key_%zu\n", i);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds to load b, which must be valid with want items of its kind. */
static double load_time(const struct buf *b, size_t (*count)(const struct spec *), size_t want)
{
	struct tally_err err;
	struct spec s;
	double t0, t;

	err_clear(&err);
	t0 = cpu_seconds();
	if (spec_load_string("scale.yaml", b->data, b->len, &s, &err) != 0)
		fail_msg("unexpected error: %s", err.msg);
	t = cpu_seconds() - t0;
	assert_int_equal(count(&s), want);
	spec_release(&s);
	return t;
}

/*
 * Asserts that 4n items load in less than MAX_RATIO times the time of n,
 * the fastest of MIN_ROUNDS to MAX_ROUNDS interleaved loads of each: more
 * rounds only while the ratio is still too high, which noise can cause
 * and more rounds cure, but a quadratic loader does not pass.
 */
static void assert_linear(const char *what, gen_fn gen, size_t n,
                          size_t (*count)(const struct spec *), size_t extra)
{
	struct buf small = BUF_INIT, big = BUF_INIT;
	double best_small = 1e9, best_big = 1e9, ratio = 0;

	gen(&small, n);
	gen(&big, GROWTH * n);
	for (int r = 0; r < MAX_ROUNDS; r++) {
		double a = load_time(&small, count, n + extra);
		double b = load_time(&big, count, GROWTH * n + extra);

		if (a < best_small)
			best_small = a;
		if (b < best_big)
			best_big = b;
		ratio = best_big / (best_small > 1e-6 ? best_small : 1e-6);
		if (r + 1 >= MIN_ROUNDS && ratio < MAX_RATIO)
			break;
	}
	printf("# %s: %zu in %.4f s, %zu in %.4f s, ratio %.2f\n", what, n, best_small,
	       GROWTH * n, best_big, ratio);
	buf_release(&small);
	buf_release(&big);
	if (ratio >= MAX_RATIO)
		fail_msg("%s: loading %zu took %.1f times as long as %zu (linear: 4)",
		         what, GROWTH * n, ratio, n);
}

static size_t nchecks(const struct spec *s)
{
	return s->nchecks;
}

static size_t ncolumns(const struct spec *s)
{
	assert_int_equal(s->checks[0].nignore, s->checks[0].ncolumns);
	return s->checks[0].ncolumns;
}

static size_t nsystems(const struct spec *s)
{
	assert_int_equal(s->nchecks, s->nsystems - 1);
	for (size_t i = 0; i < s->nchecks; i++)
		assert_ptr_equal(s->checks[i].source.sys, &s->systems[i + 1]);
	return s->nsystems;
}

static size_t nmap(const struct spec *s)
{
	return s->checks[0].columns[0].nmap;
}

static size_t nkey(const struct spec *s)
{
	return s->checks[0].nkey;
}

static void test_checks_linear(void **state)
{
	(void)state;
	assert_linear("checks", gen_checks, 1500, nchecks, 1);
}

static void test_columns_linear(void **state)
{
	(void)state;
	assert_linear("columns", gen_columns, 2000, ncolumns, 0);
}

static void test_systems_linear(void **state)
{
	(void)state;
	assert_linear("systems", gen_systems, 500, nsystems, 1);
}

static void test_map_linear(void **state)
{
	(void)state;
	assert_linear("map entries", gen_map, 2000, nmap, 0);
}

static void test_key_linear(void **state)
{
	(void)state;
	assert_linear("key columns", gen_key, 2000, nkey, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks_linear),
		cmocka_unit_test(test_columns_linear),
		cmocka_unit_test(test_systems_linear),
		cmocka_unit_test(test_map_linear),
		cmocka_unit_test(test_key_linear),
	};

	return cmocka_run_group_tests_name("spec_scale", tests, NULL, NULL);
}
