/*
 * tests/unit/test_merge.c
 *   merge: every ordering case of two key-ordered streams, each expect
 *   mode, composite keys, the column bitmap, chunk digests, and the order
 *   and uniqueness checks that keep a verdict from resting on a bad order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/canon.h"
#include "../../engine/merge.h"

#include <math.h>

/* A test row: up to two key parts (text) and up to three values (text). */
struct trow {
	const char *k1, *k2;
	const char *v[3];
};

struct tsource {
	const struct trow *rows;
	size_t n, i, nkey, ncmp;
	struct buf bytes;
	uint32_t off[4];
	struct mrow row;
	const char *vals[2];    /* the key as raw values, for the sink */
	size_t lens[2];
	struct rawrow raw;
	int fail_at;            /* >0: return an error at this row */
};

static int tsource_next(void *ctx, const struct mrow **out, struct tally_err *err)
{
	struct tsource *s = ctx;
	struct canon_col key = canon_col_make(CC_NUMBER, LT_INT);
	struct canon_col txt = canon_col_make(CC_TEXT, LT_TEXT);
	const struct trow *r;
	size_t keylen;

	if (s->fail_at && (int)s->i + 1 == s->fail_at)
		return err_set(err, ERR_LOST, "lost");
	if (s->i == s->n)
		return 0;
	r = &s->rows[s->i++];
	buf_reset(&s->bytes);
	assert_int_equal(canon_encode(&s->bytes, &key, r->k1, r->k1 ? strlen(r->k1) : 0, err), 0);
	if (s->nkey == 2)
		assert_int_equal(canon_encode(&s->bytes, &txt, r->k2, r->k2 ? strlen(r->k2) : 0, err), 0);
	keylen = s->bytes.len;
	for (size_t j = 0; j < s->ncmp; j++) {
		s->off[j] = (uint32_t)(s->bytes.len - keylen);
		assert_int_equal(canon_encode(&s->bytes, &txt, r->v[j], r->v[j] ? strlen(r->v[j]) : 0, err), 0);
	}
	s->off[s->ncmp] = (uint32_t)(s->bytes.len - keylen);
	s->row.bytes = (const uint8_t *)s->bytes.data;
	s->row.keylen = keylen;
	s->row.len = s->bytes.len;
	s->row.off = s->off;
	s->vals[0] = r->k1;
	s->vals[1] = r->k2;
	s->lens[0] = r->k1 ? strlen(r->k1) : 0;
	s->lens[1] = r->k2 ? strlen(r->k2) : 0;
	if (s->ncmp == 0 && s->nkey == 1)
		s->row.keylen = s->row.len;     /* a multiset: the row is its key */
	s->raw.ncols = 2;
	s->raw.val = s->vals;
	s->raw.len = s->lens;
	s->row.raw = &s->raw;
	rowhash_of(s->bytes.data, s->bytes.len, &s->row.hash);
	*out = &s->row;
	return 1;
}

/* Records verdicts as "m:1 e:4 c:2[01]" ... */
struct record {
	struct buf log;
	size_t ncmp;
};

static int record_diff(void *ctx, enum diff_kind kind, const struct mrow *src,
                       const struct mrow *tgt, const uint8_t *changed, struct tally_err *err)
{
	struct record *r = ctx;
	const struct rawrow *row = src ? src->raw : tgt->raw;

	(void)err;
	if (r->log.len)
		buf_addch(&r->log, ' ');
	buf_addf(&r->log, "%c:%s", diff_kind_name(kind)[0], row->val[0] ? row->val[0] : "NULL");
	if (row->val[1])
		buf_addf(&r->log, "/%s", row->val[1]);
	if (kind == DIFF_CHANGED) {
		buf_addch(&r->log, '[');
		for (size_t j = 0; j < r->ncmp; j++)
			buf_addch(&r->log, changed[j / 8] & (1u << (j % 8)) ? '1' : '0');
		buf_addch(&r->log, ']');
	}
	if (kind == DIFF_EXTRA && src)
		buf_addch(&r->log, '*');   /* absent: both rows present */
	return 0;
}

struct outcome {
	int rc;
	char log[512];
	struct merge_stats st;
	struct tally_err err;
};

static struct outcome run(const struct trow *a, size_t na, const struct trow *b, size_t nb,
                          size_t nkey, size_t ncmp, enum spec_expect expect)
{
	struct tsource s = { a, na, 0, nkey, ncmp, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	struct tsource t = { b, nb, 0, nkey, ncmp, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	struct msource ms = { &s, "source", tsource_next, NULL, 0 }, mt = { &t, "target", tsource_next, NULL, 0 };
	struct record rec = { BUF_INIT, ncmp };
	struct merge_sink sink = { &rec, record_diff, NULL, NULL };
	struct outcome o;

	memset(&o, 0, sizeof(o));
	merge_stats_init(&o.st);
	o.rc = merge_run(&ms, &mt, ncmp, expect, &sink, &o.st, &o.err);
	snprintf(o.log, sizeof(o.log), "%s", rec.log.data);
	buf_release(&rec.log);
	buf_release(&s.bytes);
	buf_release(&t.bytes);
	return o;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct trow base[] = {
	{ "1", NULL, { "a", "x" } },
	{ "2", NULL, { "b", "y" } },
	{ "3", NULL, { "c", "z" } },
	{ "10", NULL, { "d", NULL } },
};

static void test_identical(void **state)
{
	struct outcome o = run(base, N(base), base, N(base), 1, 2, EXPECT_EQUAL);

	(void)state;
	assert_int_equal(o.rc, 0);
	assert_string_equal(o.log, "");
	assert_int_equal(o.st.matched, 4);
	assert_int_equal(o.st.side[0].rows, 4);
	assert_true(chunkhash_equal(&o.st.side[0], &o.st.side[1]));
}

static void test_both_empty(void **state)
{
	struct outcome o = run(NULL, 0, NULL, 0, 1, 2, EXPECT_EQUAL);

	(void)state;
	assert_int_equal(o.rc, 0);
	assert_string_equal(o.log, "");
	assert_int_equal(o.st.side[1].rows, 0);
}

static void test_one_side_empty(void **state)
{
	struct outcome o = run(base, N(base), NULL, 0, 1, 2, EXPECT_EQUAL);

	(void)state;
	assert_string_equal(o.log, "m:1 m:2 m:3 m:10");
	assert_int_equal(o.st.missing, 4);
	o = run(NULL, 0, base, N(base), 1, 2, EXPECT_EQUAL);
	assert_string_equal(o.log, "e:1 e:2 e:3 e:10");
	assert_int_equal(o.st.extra, 4);
	assert_false(chunkhash_equal(&o.st.side[0], &o.st.side[1]));
}

static void test_missing_at_start_middle_end(void **state)
{
	const struct trow t1[] = { base[1], base[2], base[3] };
	const struct trow t2[] = { base[0], base[2], base[3] };
	const struct trow t3[] = { base[0], base[1], base[2] };
	struct outcome o;

	(void)state;
	o = run(base, 4, t1, 3, 1, 2, EXPECT_EQUAL);
	assert_string_equal(o.log, "m:1");
	o = run(base, 4, t2, 3, 1, 2, EXPECT_EQUAL);
	assert_string_equal(o.log, "m:2");
	o = run(base, 4, t3, 3, 1, 2, EXPECT_EQUAL);
	assert_string_equal(o.log, "m:10");
	assert_int_equal(o.st.missing, 1);
	assert_int_equal(o.st.matched, 3);
}

static void test_extra_at_start_middle_end(void **state)
{
	const struct trow s1[] = { base[1], base[2], base[3] };
	const struct trow s2[] = { base[0], base[2], base[3] };
	const struct trow s3[] = { base[0], base[1], base[2] };
	struct outcome o;

	(void)state;
	o = run(s1, 3, base, 4, 1, 2, EXPECT_EQUAL);
	assert_string_equal(o.log, "e:1");
	o = run(s2, 3, base, 4, 1, 2, EXPECT_EQUAL);
	assert_string_equal(o.log, "e:2");
	o = run(s3, 3, base, 4, 1, 2, EXPECT_EQUAL);
	assert_string_equal(o.log, "e:10");
}

static void test_interleaved(void **state)
{
	const struct trow s[] = { base[0], base[2] };
	const struct trow t[] = { base[1], base[3] };
	struct outcome o = run(s, 2, t, 2, 1, 2, EXPECT_EQUAL);

	(void)state;
	assert_string_equal(o.log, "m:1 e:2 m:3 e:10");
	assert_int_equal(o.st.missing, 2);
	assert_int_equal(o.st.extra, 2);
	assert_int_equal(o.st.changed, 0);
}

static void test_changed_columns(void **state)
{
	const struct trow t[] = {
		{ "1", NULL, { "a", "X" } },        /* second column differs */
		{ "2", NULL, { "B", "Y" } },        /* both */
		{ "3", NULL, { "c", "z" } },        /* equal */
		{ "10", NULL, { "d", "" } },        /* NULL vs '' */
	};
	struct outcome o = run(base, 4, t, 4, 1, 2, EXPECT_EQUAL);

	(void)state;
	assert_string_equal(o.log, "c:1[01] c:2[11] c:10[01]");
	assert_int_equal(o.st.changed, 3);
	assert_int_equal(o.st.matched, 1);
}

static void test_everything_at_once(void **state)
{
	const struct trow s[] = { { "1", NULL, { "a" } }, { "2", NULL, { "b" } }, { "4", NULL, { "d" } },
	                          { "5", NULL, { "e" } }, { "9", NULL, { "i" } } };
	const struct trow t[] = { { "0", NULL, { "z" } }, { "2", NULL, { "B" } }, { "3", NULL, { "c" } },
	                          { "5", NULL, { "e" } }, { "9", NULL, { "i" } }, { "11", NULL, { "k" } } };
	struct outcome o = run(s, N(s), t, N(t), 1, 1, EXPECT_EQUAL);

	(void)state;
	assert_string_equal(o.log, "e:0 m:1 c:2[1] e:3 m:4 e:11");
	assert_int_equal(o.st.missing, 2);
	assert_int_equal(o.st.extra, 3);
	assert_int_equal(o.st.changed, 1);
	assert_int_equal(o.st.matched, 2);
	assert_int_equal(o.st.side[0].rows, 5);
	assert_int_equal(o.st.side[1].rows, 6);
}

static void test_subset(void **state)
{
	const struct trow s[] = { { "1", NULL, { "a" } }, { "2", NULL, { "b" } }, { "4", NULL, { "d" } } };
	const struct trow t[] = { { "0", NULL, { "z" } }, { "2", NULL, { "B" } }, { "3", NULL, { "c" } } };
	struct outcome o = run(s, N(s), t, N(t), 1, 1, EXPECT_SUBSET);

	(void)state;
	assert_string_equal(o.log, "m:1 c:2[1] m:4");
	assert_int_equal(o.st.extra, 0);
}

static void test_absent(void **state)
{
	/* Source: records that should have been deleted from the target. */
	const struct trow s[] = { { "1", NULL, { "a" } }, { "2", NULL, { "b" } }, { "4", NULL, { "d" } } };
	const struct trow t[] = { { "0", NULL, { "z" } }, { "2", NULL, { "B" } }, { "4", NULL, { "d" } },
	                          { "5", NULL, { "e" } } };
	struct outcome o = run(s, N(s), t, N(t), 1, 1, EXPECT_ABSENT);

	(void)state;
	assert_string_equal(o.log, "e:2* e:4*");
	assert_int_equal(o.st.extra, 2);
	assert_int_equal(o.st.missing, 0);
	assert_int_equal(o.st.changed, 0);
}

static void test_composite_keys(void **state)
{
	const struct trow s[] = { { "1", "a", { "x" } }, { "1", "b", { "y" } }, { "2", "a", { "z" } } };
	const struct trow t[] = { { "1", "a", { "x" } }, { "1", "c", { "y" } }, { "2", "a", { "Z" } } };
	struct outcome o = run(s, 3, t, 3, 2, 1, EXPECT_EQUAL);

	(void)state;
	assert_int_equal(o.rc, 0);
	assert_string_equal(o.log, "m:1/b e:1/c c:2/a[1]");
}

static void test_composite_key_prefix_order(void **state)
{
	/* ("1","a") < ("1","ab") < ("10","") : no key part bleeds into the next. */
	const struct trow s[] = { { "1", "a", { "x" } }, { "1", "ab", { "y" } }, { "10", "", { "z" } } };
	struct outcome o = run(s, 3, s, 3, 2, 1, EXPECT_EQUAL);

	(void)state;
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.st.matched, 3);
}

static void test_duplicate_key(void **state)
{
	const struct trow s[] = { { "1", NULL, { "a" } }, { "2", NULL, { "b" } }, { "2", NULL, { "c" } } };
	struct outcome o = run(s, 3, base, 4, 1, 1, EXPECT_EQUAL);

	(void)state;
	assert_int_equal(o.rc, -1);
	assert_int_equal(o.err.kind, ERR_DATA);
	assert_string_equal(o.err.msg, "source returned a duplicate key at row 3");
	o = run(base, 4, s, 3, 1, 1, EXPECT_EQUAL);
	assert_string_equal(o.err.msg, "target returned a duplicate key at row 3");
}

/* NULL in a key matches only NULL: a NULL key on both sides is one row. */
static void test_null_key_matches_null(void **state)
{
	const struct trow s[] = { { NULL, NULL, { "a" } }, { "1", NULL, { "b" } } };
	const struct trow t[] = { { NULL, NULL, { "c" } }, { "1", NULL, { "b" } }, { "2", NULL, { "d" } } };
	const struct trow u[] = { { "1", NULL, { "b" } } };
	struct outcome o = run(s, 2, t, 3, 1, 1, EXPECT_EQUAL);

	(void)state;
	assert_int_equal(o.rc, 0);
	assert_string_equal(o.log, "c:NULL[1] e:2");
	o = run(s, 2, u, 1, 1, 1, EXPECT_EQUAL);
	assert_int_equal(o.rc, 0);
	assert_string_equal(o.log, "m:NULL");
}

/* Two rows whose key is NULL cannot be told apart: the message names the column. */
static void test_duplicate_null_key(void **state)
{
	const struct trow one[] = { { NULL, NULL, { "a" } }, { NULL, NULL, { "b" } }, { "1", NULL, { "c" } } };
	const struct trow two[] = { { "1", NULL, { "a" } }, { "1", NULL, { "b" } }, { "1", "x", { "c" } } };
	const struct trow ok[] = { { "1", NULL, { "a" } } };
	static const char *const names[] = { "region", "code" };
	struct tsource a = { one, 3, 0, 1, 1, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	struct tsource b = { ok, 1, 0, 1, 1, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	struct msource ms = { &a, "source", tsource_next, NULL, 0 }, mt = { &b, "target", tsource_next, NULL, 0 };
	struct record rec = { BUF_INIT, 1 };
	struct merge_sink sink = { &rec, record_diff, NULL, NULL };
	struct merge_stats st;
	struct tally_err err;

	(void)state;
	merge_stats_init(&st);
	/* Without names: the column's number. */
	assert_int_equal(merge_run(&ms, &mt, 1, EXPECT_EQUAL, &sink, &st, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	assert_string_equal(err.msg, "source returned a duplicate key at row 2: key column 1 is NULL in more "
	                    "than one row");
	assert_string_equal(err.detail, "a unique index allows many rows with NULL in a key column, and tally "
	                    "matches NULL only to NULL: rows with equal keys cannot be matched");
	assert_string_equal(err.hint, "choose key columns that are NOT NULL on the source side, or leave these "
	                    "rows out with a where");
	/* A composite key, the second column NULL, with names: on the target side. */
	buf_release(&a.bytes);
	buf_release(&b.bytes);
	a = (struct tsource){ ok, 1, 0, 2, 1, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	b = (struct tsource){ two, 3, 0, 2, 1, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	mt.keynames = names;
	mt.nkey = 2;
	merge_stats_init(&st);
	assert_int_equal(merge_run(&ms, &mt, 1, EXPECT_EQUAL, &sink, &st, &err), -1);
	assert_string_equal(err.msg, "target returned a duplicate key at row 2: key column 'code' is NULL in "
	                    "more than one row");
	buf_release(&a.bytes);
	buf_release(&b.bytes);
	buf_release(&rec.log);
}

static void test_key_null_column(void **state)
{
	struct canon_col num = canon_col_make(CC_NUMBER, LT_INT);
	struct canon_col txt = canon_col_make(CC_TEXT, LT_TEXT);
	struct buf k = BUF_INIT;
	struct tally_err err;

	(void)state;
	assert_int_equal(canon_encode(&k, &num, "7", 1, &err), 0);
	assert_int_equal(canon_encode(&k, &txt, "a\0b", 4, &err), 0);
	assert_int_equal(merge_key_null_column((const uint8_t *)k.data, k.len, 2), -1);
	assert_int_equal(canon_encode(&k, &txt, NULL, 0, &err), 0);
	assert_int_equal(merge_key_null_column((const uint8_t *)k.data, k.len, 3), 2);
	/* Only the first nkey columns count. */
	assert_int_equal(merge_key_null_column((const uint8_t *)k.data, k.len, 2), -1);
	buf_reset(&k);
	assert_int_equal(canon_encode(&k, &num, NULL, 0, &err), 0);
	assert_int_equal(canon_encode(&k, &num, "1", 1, &err), 0);
	assert_int_equal(merge_key_null_column((const uint8_t *)k.data, k.len, 2), 0);
	assert_int_equal(merge_key_null_column((const uint8_t *)k.data, k.len, SIZE_MAX), 0);
	buf_release(&k);
}

static void test_out_of_order(void **state)
{
	const struct trow s[] = { { "1", NULL, { "a" } }, { "3", NULL, { "b" } }, { "2", NULL, { "c" } } };
	struct outcome o = run(base, 4, s, 3, 1, 1, EXPECT_EQUAL);

	(void)state;
	assert_int_equal(o.rc, -1);
	assert_int_equal(o.err.kind, ERR_DATA);
	assert_string_equal(o.err.msg, "target returned rows out of key order at row 3");
}

static void test_source_error_stops(void **state)
{
	struct tsource s = { base, 4, 0, 1, 1, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 3 };
	struct tsource t = { base, 4, 0, 1, 1, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	struct msource ms = { &s, "source", tsource_next, NULL, 0 }, mt = { &t, "target", tsource_next, NULL, 0 };
	struct record rec = { BUF_INIT, 1 };
	struct merge_sink sink = { &rec, record_diff, NULL, NULL };
	struct merge_stats st;
	struct tally_err err;

	(void)state;
	merge_stats_init(&st);
	assert_int_equal(merge_run(&ms, &mt, 1, EXPECT_EQUAL, &sink, &st, &err), -1);
	assert_int_equal(err.kind, ERR_LOST);
	assert_int_equal(st.matched, 2);
	buf_release(&rec.log);
	buf_release(&s.bytes);
	buf_release(&t.bytes);
}

static void test_chunk_digest_order_independent(void **state)
{
	const struct trow r1[] = { base[0], base[1] };
	const struct trow r2[] = { { "1", NULL, { "a", "x" } }, { "2", NULL, { "b", "y" } } };
	struct outcome o = run(r1, 2, r2, 2, 1, 2, EXPECT_EQUAL);

	(void)state;
	assert_true(chunkhash_equal(&o.st.side[0], &o.st.side[1]));
	assert_int_equal(o.st.side[0].rows, 2);
}

static void test_all_one_sided_rows(void **state)
{
	/* Reconciliation needs every one-sided key, whatever expect says. */
	const struct trow s[] = { { "1", NULL, { "a" } }, { "2", NULL, { "b" } }, { "4", NULL, { "d" } } };
	const struct trow t[] = { { "0", NULL, { "z" } }, { "2", NULL, { "B" } }, { "4", NULL, { "d" } } };
	struct tsource a = { s, 3, 0, 1, 1, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	struct tsource b = { t, 3, 0, 1, 1, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	struct msource ms = { &a, "source", tsource_next, NULL, 0 }, mt = { &b, "target", tsource_next, NULL, 0 };
	struct record rec = { BUF_INIT, 1 };
	struct merge_sink sink = { &rec, record_diff, NULL, NULL };
	struct merge_stats st;
	struct tally_err err;

	(void)state;
	merge_stats_init(&st);
	assert_int_equal(merge_run_all(&ms, &mt, 1, EXPECT_ABSENT, &sink, &st, &err), 0);
	assert_string_equal(rec.log.data, "e:0 m:1 e:2* e:4*");
	buf_reset(&rec.log);
	a.i = b.i = 0;
	merge_stats_init(&st);
	assert_int_equal(merge_run_all(&ms, &mt, 1, EXPECT_SUBSET, &sink, &st, &err), 0);
	assert_string_equal(rec.log.data, "e:0 m:1 c:2[1]");
	buf_release(&rec.log);
	buf_release(&a.bytes);
	buf_release(&b.bytes);
}

static void test_keycmp(void **state)
{
	(void)state;
	assert_int_equal(merge_keycmp((const uint8_t *)"a", 1, (const uint8_t *)"ab", 2), -1);
	assert_int_equal(merge_keycmp((const uint8_t *)"ab", 2, (const uint8_t *)"a", 1), 1);
	assert_int_equal(merge_keycmp((const uint8_t *)"ab", 2, (const uint8_t *)"ab", 2), 0);
	assert_int_equal(merge_keycmp(NULL, 0, NULL, 0), 0);
	assert_true(merge_keycmp((const uint8_t *)"b", 1, (const uint8_t *)"ab", 2) > 0);
}

static int record_copies(void *ctx, enum diff_kind kind, const struct mrow *row, uint64_t sc, uint64_t tc,
                         struct tally_err *err)
{
	struct record *r = ctx;

	(void)err;
	if (r->log.len)
		buf_addch(&r->log, ' ');
	buf_addf(&r->log, "%c:%.*s(%llu/%llu)", diff_kind_name(kind)[0], (int)row->raw->len[0], row->raw->val[0],
	         (unsigned long long)sc, (unsigned long long)tc);
	return 0;
}

static struct outcome run_multiset(const struct trow *a, size_t na, const struct trow *b, size_t nb,
                                   enum spec_expect expect)
{
	struct tsource s = { a, na, 0, 1, 0, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	struct tsource t = { b, nb, 0, 1, 0, BUF_INIT, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0 };
	struct msource ms = { &s, "source", tsource_next, NULL, 0 }, mt = { &t, "target", tsource_next, NULL, 0 };
	struct record rec = { BUF_INIT, 0 };
	struct merge_sink sink = { &rec, record_diff, record_copies, NULL };
	struct outcome o;

	memset(&o, 0, sizeof(o));
	merge_stats_init(&o.st);
	err_clear(&o.err);
	o.rc = merge_multiset(&ms, &mt, 0, expect, &sink, &o.st, &o.err);
	snprintf(o.log, sizeof(o.log), "%s", rec.log.len ? rec.log.data : "");
	buf_release(&rec.log);
	buf_release(&s.bytes);
	buf_release(&t.bytes);
	return o;
}

/* Rows without a key: copies are counted, never paired away by XOR or order. */
static void test_multiset(void **state)
{
	static const struct trow a[] = { { "1", NULL, { NULL, NULL, NULL } }, { "1", NULL, { NULL, NULL, NULL } }, { "1", NULL, { NULL, NULL, NULL } }, { "2", NULL, { NULL, NULL, NULL } }, { "3", NULL, { NULL, NULL, NULL } }, { "3", NULL, { NULL, NULL, NULL } } };
	static const struct trow b[] = { { "1", NULL, { NULL, NULL, NULL } }, { "2", NULL, { NULL, NULL, NULL } }, { "2", NULL, { NULL, NULL, NULL } }, { "3", NULL, { NULL, NULL, NULL } }, { "3", NULL, { NULL, NULL, NULL } }, { "4", NULL, { NULL, NULL, NULL } } };
	static const struct trow twice[] = { { "5", NULL, { NULL, NULL, NULL } }, { "5", NULL, { NULL, NULL, NULL } } };
	static const struct trow back[] = { { "2", NULL, { NULL, NULL, NULL } }, { "1", NULL, { NULL, NULL, NULL } } };
	struct outcome o;

	(void)state;
	o = run_multiset(a, 6, b, 6, EXPECT_EQUAL);
	assert_int_equal(o.rc, 0);
	assert_string_equal(o.log, "m:1(3/1) e:2(1/2) e:4(0/1)");
	assert_int_equal(o.st.missing, 2);
	assert_int_equal(o.st.extra, 2);
	assert_int_equal(o.st.matched, 4);
	assert_int_equal(o.st.side[0].rows, 6);
	assert_int_equal(o.st.side[1].rows, 6);
	o = run_multiset(a, 6, b, 6, EXPECT_SUBSET);
	assert_string_equal(o.log, "m:1(3/1)");
	o = run_multiset(a, 6, b, 6, EXPECT_ABSENT);
	assert_string_equal(o.log, "e:1(3/1) e:2(1/2) e:3(2/2)");
	assert_int_equal(o.st.extra, 5);
	/* Two equal rows on each side are equal multisets, with equal digests. */
	o = run_multiset(twice, 2, twice, 2, EXPECT_EQUAL);
	assert_string_equal(o.log, "");
	assert_true(chunkhash_equal(&o.st.side[0], &o.st.side[1]));
	/* ...and two copies against one are not, though XOR would say so. */
	o = run_multiset(twice, 2, twice, 1, EXPECT_EQUAL);
	assert_string_equal(o.log, "m:5(2/1)");
	assert_false(chunkhash_equal(&o.st.side[0], &o.st.side[1]));
	/* Order is still checked. */
	o = run_multiset(back, 2, b, 1, EXPECT_EQUAL);
	assert_int_equal(o.rc, -1);
	assert_string_equal(o.err.msg, "source returned rows out of key order at row 2");
}

/* A float row source for the tolerance test: key k, value v (or NULL). */
struct fsource {
	const double *v;
	const bool *null;
	size_t n, i;
	struct buf bytes;
	uint32_t off[2];
	struct mrow row;
};

static int fsource_next(void *ctx, const struct mrow **out, struct tally_err *err)
{
	struct fsource *s = ctx;
	struct canon_col key = canon_col_make(CC_NUMBER, LT_INT), val = canon_col_make(CC_FLOAT64, LT_FLOAT);
	char k[32], v[64];
	size_t keylen;

	if (s->i == s->n)
		return 0;
	snprintf(k, sizeof(k), "%zu", s->i);
	snprintf(v, sizeof(v), "%.17g", s->v[s->i]);
	buf_reset(&s->bytes);
	assert_int_equal(canon_encode(&s->bytes, &key, k, strlen(k), err), 0);
	keylen = s->bytes.len;
	assert_int_equal(canon_encode(&s->bytes, &val, s->null[s->i] ? NULL : v, strlen(v), err), 0);
	s->off[0] = 0;
	s->off[1] = (uint32_t)(s->bytes.len - keylen);
	s->row.bytes = (const uint8_t *)s->bytes.data;
	s->row.keylen = keylen;
	s->row.len = s->bytes.len;
	s->row.off = s->off;
	s->row.raw = NULL;
	rowhash_skipping(s->row.bytes, keylen, s->off, 1, (const double[]){ 0.01 }, &s->row.hash);
	s->i++;
	*out = &s->row;
	return 1;
}

static int count_changed(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
                         const uint8_t *changed, struct tally_err *err)
{
	(void)src;
	(void)tgt;
	(void)changed;
	(void)err;
	if (kind == DIFF_CHANGED)
		(*(int *)ctx)++;
	return 0;
}

/* tolerance: 0.01: within it equal (and row hashes leave the column out); beyond it, NULL, NaN: exact. */
static void test_tolerance(void **state)
{
	static const double a[] = { 1.0, 1.0, 2.0, 0.0, NAN, INFINITY };
	static const double b[] = { 1.005, 1.02, -2.0, 0.0, NAN, INFINITY };
	static const bool an[] = { false, false, false, false, false, false };
	static const bool bn[] = { false, false, false, true, false, false };
	struct fsource s = { a, an, 6, 0, BUF_INIT, { 0 }, { 0 } }, t = { b, bn, 6, 0, BUF_INIT, { 0 }, { 0 } };
	struct msource ms = { &s, "source", fsource_next, NULL, 0 }, mt = { &t, "target", fsource_next, NULL, 0 };
	int changed = 0;
	struct merge_sink sink = { &changed, count_changed, NULL, NULL };
	struct merge_stats st;
	struct tally_err err;
	const double tol[] = { 0.01 };

	(void)state;
	merge_stats_init(&st);
	assert_int_equal(merge_run_tol(&ms, &mt, 1, tol, EXPECT_EQUAL, false, &sink, &st, &err), 0);
	/* 1.0~1.005 and NaN, inf match; 1.02, -2.0 and NULL do not. */
	assert_int_equal(changed, 3);
	assert_int_equal(st.matched, 3);
	buf_release(&s.bytes);
	buf_release(&t.bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multiset),
		cmocka_unit_test(test_tolerance),
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_both_empty),
		cmocka_unit_test(test_one_side_empty),
		cmocka_unit_test(test_missing_at_start_middle_end),
		cmocka_unit_test(test_extra_at_start_middle_end),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_changed_columns),
		cmocka_unit_test(test_everything_at_once),
		cmocka_unit_test(test_subset),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_composite_keys),
		cmocka_unit_test(test_composite_key_prefix_order),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_null_key_matches_null),
		cmocka_unit_test(test_duplicate_null_key),
		cmocka_unit_test(test_key_null_column),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_source_error_stops),
		cmocka_unit_test(test_chunk_digest_order_independent),
		cmocka_unit_test(test_all_one_sided_rows),
		cmocka_unit_test(test_keycmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
