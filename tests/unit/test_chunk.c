/*
 * tests/unit/test_chunk.c
 *   chunk plans: boundaries proposed by a connector (integer, skewed,
 *   text with mixed case and accents, composite) become canonical
 *   prefixes and decode back to the same values; duplicates collapse; the
 *   fingerprint is stable and sensitive; shards cover every chunk once;
 *   pages adapt to their time; chunks of a side sorted in memory shrink to
 *   fit the sort budget; boundaries out of order on a side are dropped to
 *   the longest run that increases on both.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/chunk.h"

/* A plan with just what chunk planning reads: the key's classes. */
static void fake_plan(struct plan *p, struct plan_col *keys, size_t nkey, const enum cclass *cls,
                      const enum ltype *types)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < nkey; i++) {
		memset(&keys[i], 0, sizeof(keys[i]));
		keys[i].canon[0] = canon_col_make(cls[i], types[i]);
		keys[i].canon[1] = keys[i].canon[0];
	}
	p->key = keys;
	p->nkey = nkey;
}

static struct keybounds bounds(size_t ncols, const char *const *vals, size_t n)
{
	struct keybounds kb;

	memset(&kb, 0, sizeof(kb));
	kb.n = n;
	kb.ncols = ncols;
	kb.val = xcalloc(n * ncols, sizeof(char *));
	kb.len = xcalloc(n * ncols, sizeof(size_t));
	for (size_t i = 0; i < n * ncols; i++) {
		kb.val[i] = xstrdup(vals[i]);
		kb.len[i] = strlen(vals[i]);
	}
	kb.rows = 1000000;
	return kb;
}

static const bool EXACT[2] = { true, true };

static void test_integer_skewed(void **state)
{
	/* A skewed key: boundaries crowd where the rows are. */
	static const char *const v[] = { "10", "11", "12", "13", "13", "500000", "9000000000" };
	enum cclass cls[] = { CC_NUMBER };
	enum ltype ty[] = { LT_INT };
	struct plan_col keys[1];
	struct plan p;
	struct keybounds kb = bounds(1, v, 7);
	struct chunkplan cp;
	struct tally_err err;
	struct sqlval sv[1];
	struct buf scratch[1] = { BUF_INIT };
	bool has;

	(void)state;
	fake_plan(&p, keys, 1, cls, ty);
	assert_int_equal(chunkplan_from_bounds(&cp, &p, &kb, EXACT, &err), 0);
	assert_int_equal(cp.n, 7);          /* 6 distinct boundaries */
	assert_int_equal(cp.nbound, 1);
	assert_false(cp.reconcile);
	assert_int_equal(chunk_bound(&cp, 0, false, sv, scratch, &has, &err), 0);
	assert_false(has);
	assert_int_equal(chunk_bound(&cp, 0, true, sv, scratch, &has, &err), 0);
	assert_true(has);
	assert_int_equal(sv[0].kind, SV_NUMBER);
	assert_int_equal(sv[0].len, 2);
	assert_memory_equal(sv[0].s, "10", 2);
	assert_int_equal(chunk_bound(&cp, 6, false, sv, scratch, &has, &err), 0);
	assert_true(has);
	assert_memory_equal(sv[0].s, "9000000000", 10);
	assert_int_equal(chunk_bound(&cp, 6, true, sv, scratch, &has, &err), 0);
	assert_false(has);
	assert_int_equal(chunk_bound(&cp, 4, false, sv, scratch, &has, &err), 0);
	assert_memory_equal(sv[0].s, "13", 2);
	assert_int_equal(chunk_bound(&cp, 4, true, sv, scratch, &has, &err), 0);
	assert_memory_equal(sv[0].s, "500000", 6);
	chunkplan_release(&cp);
	keybounds_release(&kb);
	buf_release(&scratch[0]);
}

static void test_text_and_composite(void **state)
{
	/* (text, int) in a case-insensitive server's order: not bytewise. */
	static const char *const v[] = { "apple", "7", "\xc3\x84pfel", "1", "Zebra", "3", "zebra", "0" };
	enum cclass cls[] = { CC_TEXT, CC_NUMBER };
	enum ltype ty[] = { LT_TEXT, LT_INT };
	const bool not_exact[2] = { false, true };
	struct plan_col keys[2];
	struct plan p;
	struct keybounds kb = bounds(2, v, 4);
	struct chunkplan cp, back;
	struct tally_err err;
	struct sqlval sv[2];
	struct buf scratch[2] = { BUF_INIT, BUF_INIT };
	json_t *j;
	bool has;

	(void)state;
	fake_plan(&p, keys, 2, cls, ty);
	assert_int_equal(chunkplan_from_bounds(&cp, &p, &kb, not_exact, &err), 0);
	assert_int_equal(cp.n, 5);
	assert_int_equal(cp.nbound, 2);
	assert_true(cp.reconcile);        /* one side sorts locally: membership may differ */
	assert_int_equal(chunk_bound(&cp, 2, false, sv, scratch, &has, &err), 0);
	assert_int_equal(sv[0].kind, SV_TEXT);
	assert_int_equal(sv[0].len, 6);
	assert_memory_equal(sv[0].s, "\xc3\x84pfel", 6);
	assert_int_equal(sv[1].kind, SV_NUMBER);
	assert_memory_equal(sv[1].s, "1", 1);
	/* A report's bounds (--mode counts): JSON values, none before the first chunk nor after the last. */
	{
		json_t *b0 = chunk_bounds_json(&cp, 0), *b2 = chunk_bounds_json(&cp, 2), *b4 = chunk_bounds_json(&cp, 4);
		char *s0 = json_dumps(b0, JSON_COMPACT | JSON_SORT_KEYS), *s2 = json_dumps(b2, JSON_COMPACT | JSON_SORT_KEYS);
		char *s4 = json_dumps(b4, JSON_COMPACT | JSON_SORT_KEYS);

		assert_string_equal(s0, "{\"after\":null,\"through\":[\"apple\",7]}");
		assert_string_equal(s2, "{\"after\":[\"\xc3\x84pfel\",1],\"through\":[\"Zebra\",3]}");
		assert_string_equal(s4, "{\"after\":[\"zebra\",0],\"through\":null}");
		free(s0);
		free(s2);
		free(s4);
		json_decref(b0);
		json_decref(b2);
		json_decref(b4);
	}
	/* The plan survives run.json, and a tampered one is refused. */
	j = chunkplan_json(&cp);
	assert_int_equal(chunkplan_from_json(&back, j, &err), 0);
	assert_string_equal(back.fingerprint, cp.fingerprint);
	assert_int_equal(back.n, 5);
	assert_true(back.reconcile);
	assert_memory_equal(back.b[3], cp.b[3], cp.blen[3]);
	chunkplan_release(&back);
	json_array_set_new(json_object_get(j, "bounds"), 1, json_string("00"));
	assert_int_equal(chunkplan_from_json(&back, j, &err), -1);
	assert_string_equal(err.msg, "chunk plan does not match its fingerprint");
	json_decref(j);
	chunkplan_release(&cp);
	keybounds_release(&kb);
	buf_release(&scratch[0]);
	buf_release(&scratch[1]);
}

static void test_fingerprint(void **state)
{
	static const char *const a[] = { "1", "2", "3" };
	static const char *const b[] = { "1", "2", "4" };
	enum cclass cls[] = { CC_NUMBER };
	enum ltype ty[] = { LT_INT };
	struct plan_col keys[1];
	struct plan p;
	struct keybounds ka = bounds(1, a, 3), ka2 = bounds(1, a, 3), kb = bounds(1, b, 3);
	struct chunkplan x, y, z, one;
	struct tally_err err;

	(void)state;
	fake_plan(&p, keys, 1, cls, ty);
	assert_int_equal(chunkplan_from_bounds(&x, &p, &ka, EXACT, &err), 0);
	assert_int_equal(chunkplan_from_bounds(&y, &p, &ka2, EXACT, &err), 0);
	assert_int_equal(chunkplan_from_bounds(&z, &p, &kb, EXACT, &err), 0);
	chunkplan_single(&one, EXACT);
	assert_string_equal(x.fingerprint, y.fingerprint);
	assert_string_not_equal(x.fingerprint, z.fingerprint);
	assert_string_not_equal(x.fingerprint, one.fingerprint);
	assert_int_equal(one.n, 1);
	assert_false(one.reconcile);
	chunkplan_release(&x);
	chunkplan_release(&y);
	chunkplan_release(&z);
	chunkplan_release(&one);
	keybounds_release(&ka);
	keybounds_release(&ka2);
	keybounds_release(&kb);
}

/* The text of boundary i, decoded. */
static const char *bound_text(const struct chunkplan *cp, size_t i)
{
	static char out[64];
	struct buf scratch = BUF_INIT;
	struct sqlval v;
	struct tally_err err;

	assert_int_equal(chunk_key_vals(cp->b[i], cp->blen[i], 1, &v, &scratch, &err), 0);
	snprintf(out, sizeof(out), "%.*s", (int)v.len, v.s);
	buf_release(&scratch);
	return out;
}

static void test_bounds_made_increasing(void **state)
{
	/*
	 * Boundaries in a case-insensitive source's order; the target orders
	 * them bytewise. Kept: the longest run increasing in both orders.
	 */
	static const char *const v[] = { "a", "B", "c", "D", "e" };
	static const bool inexact[2] = { false, true };
	enum cclass cls[] = { CC_TEXT };
	enum ltype ty[] = { LT_TEXT };
	struct plan_col keys[1];
	struct plan p;
	struct keybounds kb = bounds(1, v, 5);
	struct chunkplan cp;
	struct tally_err err;
	char before[33];
	const uint32_t src_rank[] = { 1, 2, 3, 4, 5 };
	const uint32_t *rank[2] = { src_rank, NULL };
	/* A target that sees D before B and c, and c and e as equal. */
	const uint32_t tgt_rank[] = { 1, 3, 4, 2, 4 };
	const uint32_t *rank2[2] = { NULL, tgt_rank };

	(void)state;
	fake_plan(&p, keys, 1, cls, ty);
	assert_int_equal(chunkplan_from_bounds(&cp, &p, &kb, inexact, &err), 0);
	assert_int_equal(cp.n, 6);
	assert_true(cp.reconcile);
	memcpy(before, cp.fingerprint, sizeof(before));
	/* bytewise: B < D < a < c < e; longest chain increasing in both: a c e */
	assert_int_equal(chunkplan_make_increasing(&cp, rank), 2);
	assert_int_equal(cp.n, 4);
	assert_string_equal(bound_text(&cp, 0), "a");
	assert_string_equal(bound_text(&cp, 1), "c");
	assert_string_equal(bound_text(&cp, 2), "e");
	assert_string_not_equal(cp.fingerprint, before);
	assert_true(cp.reconcile);
	/* Already increasing: nothing dropped, fingerprint kept. */
	memcpy(before, cp.fingerprint, sizeof(before));
	assert_int_equal(chunkplan_make_increasing(&cp, rank), 0);
	assert_string_equal(cp.fingerprint, before);
	chunkplan_release(&cp);

	/* Ranks on the other side: ties and inversions both break a chain. */
	assert_int_equal(chunkplan_from_bounds(&cp, &p, &kb, inexact, &err), 0);
	{
		/*
		 * The source now orders bytewise, B D a c e. Increasing on both
		 * sides: a c, a e, B c or B e; the first longest is kept.
		 */
		assert_int_equal(chunkplan_make_increasing(&cp, rank2), 3);
		assert_int_equal(cp.n, 3);
		assert_string_equal(bound_text(&cp, 0), "a");
		assert_string_equal(bound_text(&cp, 1), "c");
	}
	chunkplan_release(&cp);
	keybounds_release(&kb);
}

static void test_bad_boundary(void **state)
{
	static const char *const v[] = { "12", "x" };
	enum cclass cls[] = { CC_NUMBER };
	enum ltype ty[] = { LT_INT };
	struct plan_col keys[1];
	struct plan p;
	struct keybounds kb = bounds(1, v, 2);
	struct chunkplan cp;
	struct tally_err err;
	struct coldesc cd;

	(void)state;
	memset(&cd, 0, sizeof(cd));
	cd.name = (char *)"id";
	fake_plan(&p, keys, 1, cls, ty);
	p.desc[0].cols = &cd;
	p.desc[0].ncols = 1;
	assert_int_equal(chunkplan_from_bounds(&cp, &p, &kb, EXACT, &err), -1);
	assert_string_equal(err.msg, "chunk boundary 2, key column 'id': not a valid number");
	keybounds_release(&kb);
}

static void test_shards_cover_every_chunk_once(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= 7; n++)
		for (size_t id = 0; id < 100; id++) {
			unsigned owners = 0;

			for (unsigned k = 0; k < n; k++)
				owners += chunk_in_shard(id, k, n);
			assert_int_equal(owners, 1);
		}
	assert_true(chunk_in_shard(5, 1, 4));
	assert_false(chunk_in_shard(5, 0, 4));
}

static void test_page_sizing(void **state)
{
	(void)state;
	assert_int_equal(chunk_next_page(100000, 4.0, 1.0), 50000);     /* slow: at most halve */
	assert_int_equal(chunk_next_page(100000, 0.1, 1.0), 200000);    /* fast: at most double */
	assert_int_equal(chunk_next_page(100000, 0.8, 1.0), 125000);
	assert_int_equal(chunk_next_page(1500, 10.0, 1.0), 1000);       /* floor */
	assert_int_equal(chunk_next_page(8000000, 0.01, 1.0), 10000000); /* ceiling */
	assert_int_equal(chunk_next_page(5000, 0.0, 1.0), 10000);
}

static void test_rows_for_bytes(void **state)
{
	(void)state;
	/* 100-byte rows, 2 MB per chunk: 20,000 rows. */
	assert_int_equal(chunk_rows_for_bytes(100000, 2000000, 1e8, 1e6), 20000);
	/* They fit already, or the cap is off, or the statistics are missing. */
	assert_int_equal(chunk_rows_for_bytes(10000, 2000000, 1e8, 1e6), 10000);
	assert_int_equal(chunk_rows_for_bytes(100000, 0, 1e8, 1e6), 100000);
	assert_int_equal(chunk_rows_for_bytes(100000, 2000000, 0, 1e6), 100000);
	assert_int_equal(chunk_rows_for_bytes(100000, 2000000, 1e8, 0), 100000);
	/* Very wide rows: never below the floor, nor above what was asked. */
	assert_int_equal(chunk_rows_for_bytes(100000, 2000000, 1e12, 1e6), CHUNK_ROWS_MIN);
	assert_int_equal(chunk_rows_for_bytes(500, 2000000, 1e12, 1e6), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integer_skewed),
		cmocka_unit_test(test_text_and_composite),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_bounds_made_increasing),
		cmocka_unit_test(test_bad_boundary),
		cmocka_unit_test(test_shards_cover_every_chunk_once),
		cmocka_unit_test(test_page_sizing),
		cmocka_unit_test(test_rows_for_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
