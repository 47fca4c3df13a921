/*
 * tests/unit/test_newer.c
 *   ignore_newer_than (engine/newer.c and the merge's skip): ages, the
 *   cutoff from a run's start, which canonical values are newer (instants,
 *   naive timestamps, dates at midnight, NULL, infinities, other classes),
 *   and the merge deciding per key on both sides: a key newer on either
 *   side is skipped and counted, a row missing on one side whose present
 *   side is newer too, NULL is compared; with `all` a key on one side
 *   only is handed on for reconciliation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engine/canon.h"
#include "engine/merge.h"
#include "engine/newer.h"

static void test_parse_age(void **state)
{
	static const struct { const char *s; long long want; } ok[] = {
		{ "90s", 90 }, { "10m", 600 }, { "2h", 7200 }, { "1d", 86400 }, { "3650d", 3650LL * 86400 },
		{ "007m", 420 },
	};
	static const char *const bad[] = {
		"", "10", "m", "0m", "10x", "1h30m", "-5m", " 5m", "5m ", "3651d", "99999999999999999999s", "1.5h", "10M",
	};
	long long v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -1;
		assert_int_equal(newer_parse_age(ok[i].s, strlen(ok[i].s), &v), 0);
		assert_int_equal(v, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -7;
		assert_int_equal(newer_parse_age(bad[i], strlen(bad[i]), &v), -1);
		assert_int_equal(v, -7);
	}
}

static void test_cutoff(void **state)
{
	int64_t c = 0;
	char iso[32];

	(void)state;
	assert_int_equal(newer_cutoff("2026-12-05T23:52:25Z", 600, &c), 0);
	newer_cutoff_iso(c, iso);
	assert_string_equal(iso, "2026-12-05T23:42:25Z");
	/* Across midnight and a month. */
	assert_int_equal(newer_cutoff("2026-03-01T00:05:00Z", 86400, &c), 0);
	newer_cutoff_iso(c, iso);
	assert_string_equal(iso, "2026-02-28T00:05:00Z");
	/* The epoch itself, and before it. */
	assert_int_equal(newer_cutoff("2000-01-01T00:00:00Z", 1, &c), 0);
	assert_int_equal(c, -1000000);
	newer_cutoff_iso(c, iso);
	assert_string_equal(iso, "1999-12-31T23:59:59Z");
	assert_int_equal(newer_cutoff("2026-12-05 23:52:25", 600, &c), -1);
	assert_int_equal(newer_cutoff("2026-13-05T23:52:25Z", 600, &c), -1);
	assert_int_equal(newer_cutoff(NULL, 600, &c), -1);
}

/* Is value text, read as cls/type, newer than cutoff? */
static bool newer_text(enum cclass cls, enum ltype type, const char *v, int64_t cutoff)
{
	struct canon_col col = canon_col_make(cls, type);
	struct buf b = BUF_INIT;
	struct tally_err err;
	bool r;

	assert_int_equal(canon_encode(&b, &col, v, v ? strlen(v) : 0, &err), 0);
	r = newer_value((const uint8_t *)b.data, b.len, cutoff);
	buf_release(&b);
	return r;
}

static void test_value(void **state)
{
	int64_t c = 0;

	(void)state;
	assert_int_equal(newer_cutoff("2026-12-05T23:52:25Z", 600, &c), 0);    /* 23:42:25 */
	assert_true(newer_text(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2026-12-05 23:42:25.000001+00", c));
	assert_false(newer_text(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2026-12-05 23:42:25+00", c));  /* at: not after */
	assert_true(newer_text(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2026-12-06 00:42:26+01", c));
	assert_false(newer_text(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, "2026-12-06 00:42:24+01", c));
	assert_true(newer_text(CC_TIMESTAMP, LT_TIMESTAMP, "2026-12-05 23:50:00", c));
	assert_false(newer_text(CC_TIMESTAMP, LT_TIMESTAMP, "2025-12-05 23:50:00", c));
	assert_true(newer_text(CC_TIMESTAMP, LT_TIMESTAMP, "infinity", c));
	assert_false(newer_text(CC_TIMESTAMP, LT_TIMESTAMP, "-infinity", c));
	assert_false(newer_text(CC_TIMESTAMP, LT_TIMESTAMP, "0000-00-00 00:00:00", c));
	assert_false(newer_text(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ, NULL, c));
	/* A date is its midnight: the cutoff's own day is not newer, the next is. */
	assert_true(newer_text(CC_DATE, LT_DATE, "2026-12-06", c));
	assert_false(newer_text(CC_DATE, LT_DATE, "2026-12-05", c));
	assert_true(newer_text(CC_DATE, LT_DATE, "infinity", c));
	assert_false(newer_text(CC_TEXT, LT_TEXT, "2026-12-06", c));
	assert_false(newer_value((const uint8_t *)"", 0, c));
}

/* ---- the merge -------------------------------------------------------- */

/* A row: key, a text value, an updated_at (timestamptz text or NULL). */
struct nrow {
	const char *k, *v, *ts;
};

struct nsource {
	const struct nrow *rows;
	size_t n, i;
	struct buf bytes;
	uint32_t off[3];
	struct mrow row;
	const char *vals[1];
	size_t lens[1];
	struct rawrow raw;
};

static int nsource_next(void *ctx, const struct mrow **out, struct tally_err *err)
{
	struct nsource *s = ctx;
	struct canon_col key = canon_col_make(CC_NUMBER, LT_INT);
	struct canon_col txt = canon_col_make(CC_TEXT, LT_TEXT);
	struct canon_col ts = canon_col_make(CC_TIMESTAMPTZ, LT_TIMESTAMPTZ);
	const struct nrow *r;
	size_t keylen;

	if (s->i == s->n)
		return 0;
	r = &s->rows[s->i++];
	buf_reset(&s->bytes);
	assert_int_equal(canon_encode(&s->bytes, &key, r->k, strlen(r->k), err), 0);
	keylen = s->bytes.len;
	s->off[0] = 0;
	assert_int_equal(canon_encode(&s->bytes, &txt, r->v, strlen(r->v), err), 0);
	s->off[1] = (uint32_t)(s->bytes.len - keylen);
	assert_int_equal(canon_encode(&s->bytes, &ts, r->ts, r->ts ? strlen(r->ts) : 0, err), 0);
	s->off[2] = (uint32_t)(s->bytes.len - keylen);
	s->row.bytes = (const uint8_t *)s->bytes.data;
	s->row.keylen = keylen;
	s->row.len = s->bytes.len;
	s->row.off = s->off;
	s->vals[0] = r->k;
	s->lens[0] = strlen(r->k);
	s->raw.ncols = 1;
	s->raw.val = s->vals;
	s->raw.len = s->lens;
	s->row.raw = &s->raw;
	rowhash_of(s->bytes.data, s->bytes.len, &s->row.hash);
	*out = &s->row;
	return 1;
}

static int log_diff(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
                    const uint8_t *changed, struct tally_err *err)
{
	struct buf *log = ctx;
	const struct rawrow *row = src ? src->raw : tgt->raw;

	(void)changed;
	(void)err;
	buf_addf(log, "%s%c:%s", log->len ? " " : "", diff_kind_name(kind)[0], row->val[0]);
	return 0;
}

#define OLD "2026-12-01 10:00:00+00"
#define NEW "2026-12-05 23:50:00+00"

static const struct nrow SRC[] = {
	{ "1", "a", OLD }, { "2", "a", OLD }, { "3", "a", OLD }, { "4", "a", NEW }, { "6", "a", OLD },
	{ "7", "a", NULL }, { "9", "a", NEW },
};
static const struct nrow TGT[] = {
	{ "1", "a", OLD }, { "2", "b", OLD }, { "5", "a", NEW }, { "6", "b", NEW }, { "7", "b", NULL },
	{ "8", "a", OLD }, { "9", "a", NEW },
};

static void merge_newer(bool all, enum spec_expect expect, const char *want_log, uint64_t want_skipped,
                        uint64_t want_matched)
{
	struct nsource s = { SRC, sizeof(SRC) / sizeof(SRC[0]), 0, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 } };
	struct nsource t = { TGT, sizeof(TGT) / sizeof(TGT[0]), 0, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 } };
	struct msource ms = { &s, "source", nsource_next, NULL, 0 }, mt = { &t, "target", nsource_next, NULL, 0 };
	struct merge_newer nw = { 1, 0, NULL, NULL };
	struct buf log = BUF_INIT;
	struct merge_sink sink = { &log, log_diff, NULL, &nw };
	struct merge_stats st;
	struct tally_err err;

	assert_int_equal(newer_cutoff("2026-12-05T23:52:25Z", 600, &nw.cutoff), 0);
	merge_stats_init(&st);
	assert_int_equal(merge_run_tol(&ms, &mt, 2, NULL, expect, all, &sink, &st, &err), 0);
	assert_string_equal(log.len ? log.data : "", want_log);
	assert_int_equal(st.skipped, want_skipped);
	assert_int_equal(st.matched, want_matched);
	/* Every row is still read and counted on its side. */
	assert_int_equal(st.side[0].rows, 7);
	assert_int_equal(st.side[1].rows, 7);
	buf_release(&log);
	buf_release(&s.bytes);
	buf_release(&t.bytes);
}

/*
 * 1 equal, 2 changed, 3 source only: old differences found. 4 source only
 * and 5 target only, newer: skipped. 6 newer on the target only: skipped.
 * 7 NULL on both sides: compared (changed). 8 target only, old: extra.
 * 9 equal and newer: skipped, not matched.
 */
static void test_merge_skips_per_key(void **state)
{
	(void)state;
	merge_newer(false, EXPECT_EQUAL, "c:2 m:3 c:7 e:8", 4, 1);
	/* subset: an extra key is no difference; newer keys are skipped all the same. */
	merge_newer(false, EXPECT_SUBSET, "c:2 m:3 c:7", 4, 1);
}

static void test_merge_all_hands_on_one_side(void **state)
{
	(void)state;
	/* Chunks that may disagree on membership: one-sided keys go to reconciliation, which decides them. */
	merge_newer(true, EXPECT_EQUAL, "c:2 m:3 m:4 e:5 c:7 e:8", 2, 1);
}

static void test_merge_without_newer(void **state)
{
	struct nsource s = { SRC, sizeof(SRC) / sizeof(SRC[0]), 0, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 } };
	struct nsource t = { TGT, sizeof(TGT) / sizeof(TGT[0]), 0, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 } };
	struct msource ms = { &s, "source", nsource_next, NULL, 0 }, mt = { &t, "target", nsource_next, NULL, 0 };
	struct buf log = BUF_INIT;
	struct merge_sink sink = { &log, log_diff, NULL, NULL };
	struct merge_stats st;
	struct tally_err err;

	(void)state;
	merge_stats_init(&st);
	assert_int_equal(merge_run(&ms, &mt, 2, EXPECT_EQUAL, &sink, &st, &err), 0);
	assert_string_equal(log.data, "c:2 m:3 m:4 e:5 c:6 c:7 e:8");
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.matched, 2);
	buf_release(&log);
	buf_release(&s.bytes);
	buf_release(&t.bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_age),
		cmocka_unit_test(test_cutoff),
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_merge_skips_per_key),
		cmocka_unit_test(test_merge_all_hands_on_one_side),
		cmocka_unit_test(test_merge_without_newer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
