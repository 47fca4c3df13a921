/*
 * tests/unit/test_chunkpush.c
 *   pushdown's decisions, which need no server: which column pairs can be
 *   hashed in the servers (classes, per-side types, conversions and
 *   loosening options, tolerances), which checks stream instead and why,
 *   how a differing range is split and when it is streamed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../engine/chunkpush.h"
#include "../../engine/tz.h"

struct fake {
	struct plan p;
	struct plan_col cols[3];    /* key id, then two compared columns */
	struct coldesc cd[2][3];
	struct tabdesc desc[2];
	double tol[2];
};

/* An int key and two compared columns of class cls, read as types st (source) and tt (target). */
static void fake_init(struct fake *f, enum cclass cls, enum ltype st, enum ltype tt)
{
	static char *names[3] = { "id", "a", "b" };

	memset(f, 0, sizeof(*f));
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < 3; i++) {
			f->cd[s][i].name = names[i];
			f->cols[i].col[s] = i;
		}
		f->desc[s].cols = f->cd[s];
		f->desc[s].ncols = 3;
		f->p.desc[s] = f->desc[s];
	}
	f->cols[0].canon[0] = f->cols[0].canon[1] = canon_col_make(CC_NUMBER, LT_INT);
	for (size_t i = 1; i < 3; i++) {
		f->cols[i].canon[0] = canon_col_make(cls, st);
		f->cols[i].canon[1] = canon_col_make(cls, tt);
		f->cols[i].tolerance = -1;
		f->cd[0][i].type = st;
		f->cd[1][i].type = tt;
	}
	f->p.key = f->cols;
	f->p.nkey = 1;
	f->p.cmp = f->cols + 1;
	f->p.ncmp = 2;
}

static bool refused(struct fake *f, const char *want)
{
	struct buf why = BUF_INIT;
	bool r = push_refusal(&f->p, &why);

	if (want)
		assert_string_equal(why.data ? why.data : "", want);
	else
		assert_int_equal(why.len, 0);
	buf_release(&why);
	return r;
}

static void test_supported_classes(void **state)
{
	static const struct {
		enum cclass cls;
		enum ltype st, tt;
	} ok[] = {
		{ CC_NUMBER, LT_INT, LT_DECIMAL }, { CC_NUMBER, LT_DECIMAL, LT_DECIMAL }, { CC_BOOL, LT_INT, LT_BOOL },
		{ CC_TEXT, LT_TEXT, LT_CHAR },      { CC_UUID, LT_UUID, LT_TEXT },        { CC_BYTES, LT_BYTES, LT_BYTES },
		{ CC_DATE, LT_DATE, LT_DATE },      { CC_TIMESTAMP, LT_TIMESTAMP, LT_TIMESTAMP },
		{ CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, LT_TIMESTAMPTZ },
	};
	struct fake f;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		fake_init(&f, ok[i].cls, ok[i].st, ok[i].tt);
		assert_false(refused(&f, NULL));
	}
}

static void test_refused_classes(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, CC_FLOAT64, LT_FLOAT, LT_FLOAT);
	assert_true(refused(&f, "column 'a' (float, class float64) cannot be hashed in the server: its class has "
	                        "no canonical text both servers write"));
	fake_init(&f, CC_JSON, LT_JSON, LT_JSON);
	assert_true(refused(&f, "column 'a' (json, class json) cannot be hashed in the server: its class has no "
	                        "canonical text both servers write"));
	/* A timestamp paired with an instant needs a zone: refused by its type on one side. */
	fake_init(&f, CC_TIMESTAMPTZ, LT_TIMESTAMP, LT_TIMESTAMPTZ);
	assert_true(refused(&f, "column 'a' (timestamp, class timestamptz) cannot be hashed in the server: its "
	                        "class has no canonical text both servers write"));
	/* Text read as a number (a side's text parsed): its text is not the number's. */
	fake_init(&f, CC_NUMBER, LT_TEXT, LT_INT);
	assert_true(refused(&f, "column 'a' (text, class number) cannot be hashed in the server: its class has no "
	                        "canonical text both servers write"));
}

static void test_refused_options(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f, CC_TEXT, LT_TEXT, LT_TEXT);
	f.cols[2].canon[1].trim = CANON_TRIM_BOTH;
	assert_true(refused(&f, "column 'b' (text, class text) cannot be hashed in the server: it is compared "
	                        "loosely (an option that rounds, trims or folds case)"));
	fake_init(&f, CC_TEXT, LT_TEXT, LT_TEXT);
	f.cols[1].canon[0].fold_case = true;
	assert_true(refused(&f, "column 'a' (text, class text) cannot be hashed in the server: it is compared "
	                        "loosely (an option that rounds, trims or folds case)"));
	fake_init(&f, CC_NUMBER, LT_DECIMAL, LT_DECIMAL);
	f.cols[1].canon[0].scale = 2;
	f.cols[1].canon[1].scale = 2;
	assert_true(refused(&f, "column 'a' (decimal, class number) cannot be hashed in the server: it is compared "
	                        "loosely (an option that rounds, trims or folds case)"));
	fake_init(&f, CC_TIMESTAMP, LT_TIMESTAMP, LT_TIMESTAMP);
	f.cols[1].canon[0].precision = 3;
	assert_true(refused(&f, "column 'a' (timestamp, class timestamp) cannot be hashed in the server: it is "
	                        "compared loosely (an option that rounds, trims or folds case)"));
	fake_init(&f, CC_TIMESTAMPTZ, LT_TIMESTAMP, LT_TIMESTAMPTZ);
	f.cols[1].canon[0].tz = (const struct tz *)&f;     /* any zone: only its presence counts */
	f.cols[1].canon[0].type = LT_TIMESTAMPTZ;
	assert_true(refused(&f, "column 'a' (timestamptz, class timestamptz) cannot be hashed in the server: its "
	                        "values are converted (a time zone or a map) before they are compared"));
	fake_init(&f, CC_NUMBER, LT_INT, LT_INT);
	f.tol[0] = -1;
	f.tol[1] = 0.5;
	f.p.tol = f.tol;
	assert_true(refused(&f, "column 'b' (integer, class number) cannot be hashed in the server: it is compared "
	                        "within a tolerance"));
}

static void test_fallback(void **state)
{
	struct fake f;
	struct chunkplan cp;
	const bool exact[2] = { true, true }, inexact[2] = { true, false };

	(void)state;
	fake_init(&f, CC_TEXT, LT_TEXT, LT_TEXT);
	chunkplan_single(&cp, exact);
	assert_null(push_fallback(&f.p, &cp));
	chunkplan_release(&cp);
	chunkplan_single(&cp, inexact);
	assert_string_equal(push_fallback(&f.p, &cp), "a key column may be NULL, or the servers order the key "
	                                             "differently: a key range is not the same rows on both sides");
	chunkplan_release(&cp);
	f.p.multiset = true;
	f.p.nkey = 0;
	chunkplan_single(&cp, exact);
	assert_string_equal(push_fallback(&f.p, &cp), "no key (a multiset): ranges cannot be narrowed");
	chunkplan_release(&cp);
}

static void test_narrowing(void **state)
{
	(void)state;
	assert_int_equal(push_step(0), 1);
	assert_int_equal(push_step(1), 1);
	assert_int_equal(push_step(16), 1);
	assert_int_equal(push_step(17), 2);
	assert_int_equal(push_step(100000), 6250);
	assert_true(push_stream_now((uint64_t[2]){ 64, 0 }, 1));
	assert_true(push_stream_now((uint64_t[2]){ 64, 64 }, 1));
	assert_false(push_stream_now((uint64_t[2]){ 65, 10 }, 1));
	assert_false(push_stream_now((uint64_t[2]){ 0, 65 }, PUSH_MAX_DEPTH - 1));
	assert_true(push_stream_now((uint64_t[2]){ 0, 5000000 }, PUSH_MAX_DEPTH));
}

/* The cheapest hash both drivers compute; MD5 whenever one side has only it. */
static void test_hash_pick(void **state)
{
	extern const struct conn_ops postgres_ops, mariadb_ops, snapfile_ops;
	struct conn_ops md5_only = postgres_ops, none = postgres_ops, hashtext_only = postgres_ops;

	(void)state;
	md5_only.digest_hashes = DIGEST_HASH_BIT(DIGEST_MD5);
	hashtext_only.digest_hashes = DIGEST_HASH_BIT(DIGEST_PG_HASHTEXT);
	none.digest_rows = NULL;
	/* The drivers as they are. */
	assert_int_equal(push_hash_pick(&postgres_ops, &postgres_ops), DIGEST_PG_HASHTEXT);
	assert_int_equal(push_hash_pick(&mariadb_ops, &postgres_ops), DIGEST_MD5);
	assert_int_equal(push_hash_pick(&postgres_ops, &mariadb_ops), DIGEST_MD5);
	assert_int_equal(push_hash_pick(&mariadb_ops, &mariadb_ops), DIGEST_MD5);
	assert_int_equal(push_hash_pick(&snapfile_ops, &postgres_ops), DIGEST_HASHES);
	/* Capabilities, whatever the driver. */
	assert_int_equal(push_hash_pick(&md5_only, &postgres_ops), DIGEST_MD5);
	assert_int_equal(push_hash_pick(&postgres_ops, &md5_only), DIGEST_MD5);
	assert_int_equal(push_hash_pick(&hashtext_only, &postgres_ops), DIGEST_PG_HASHTEXT);
	assert_int_equal(push_hash_pick(&hashtext_only, &md5_only), DIGEST_HASHES);
	assert_int_equal(push_hash_pick(&none, &postgres_ops), DIGEST_HASHES);
	assert_int_equal(push_hash_pick(&postgres_ops, &none), DIGEST_HASHES);
	/* Names in reports. */
	assert_string_equal(digest_hash_name(DIGEST_MD5), "md5");
	assert_string_equal(digest_hash_name(DIGEST_PG_HASHTEXT), "hashtextextended");
	assert_null(digest_hash_name(DIGEST_HASHES));
}

static void test_int_bounds(void **state)
{
	int64_t b[8];

	(void)state;
	/* Dense keys: 3,500 rows between 1000 and 4500, parts of at most 875 rows: 4 parts. */
	assert_int_equal(push_int_bounds(1000, 4500, 3500, b, 8), 3);
	assert_true(b[0] == 1875 && b[1] == 2750 && b[2] == 3625);
	/* 3,501 rows: one more part. */
	assert_int_equal(push_int_bounds(1000, 4501, 3501, b, 8), 4);
	assert_true(b[0] == 1700 && b[3] == 3800);
	/* Sparse keys: the same rows over ten times the span, cut by rows, not by span. */
	assert_int_equal(push_int_bounds(0, 35000, 3500, b, 8), 3);
	assert_true(b[0] == 8750 && b[2] == 26250);
	/* Up to 875 rows, an empty or reversed range, no estimate: one part. */
	assert_int_equal(push_int_bounds(0, 100, 875, b, 8), 0);
	assert_int_equal(push_int_bounds(5, 5, 5000, b, 8), 0);
	assert_int_equal(push_int_bounds(9, 5, 5000, b, 8), 0);
	assert_int_equal(push_int_bounds(0, 100000, 0, b, 8), 0);
	/* No more parts than keys in the span, nor than the room given. */
	assert_int_equal(push_int_bounds(0, 3, 100000, b, 8), 2);
	assert_true(b[0] == 1 && b[1] == 2);
	assert_int_equal(push_int_bounds(0, 1000000, 1000000, b, 8), 8);
	assert_true(b[7] == 8 * (1000000 / 9));
	/* The whole int64 range does not overflow. */
	assert_int_equal(push_int_bounds(INT64_MIN, INT64_MAX, 3000, b, 8), 3);
	assert_true(b[0] < b[1] && b[1] < b[2] && b[0] > INT64_MIN && b[2] < INT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supported_classes),
		cmocka_unit_test(test_refused_classes),
		cmocka_unit_test(test_refused_options),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_narrowing),
		cmocka_unit_test(test_int_bounds),
		cmocka_unit_test(test_hash_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
