/*
 * tests/unit/test_bykey.c
 *   BYKEY's pure parts: the condition of a batch in each dialect (one
 *   key column, composite keys, quotes in text keys, a key holding NULL,
 *   an empty batch), and the set of keys (sorted, found, duplicates
 *   refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../engine/bykey.h"
#include "../../engine/canon.h"

static struct coldesc cols[2];
static struct tabdesc tab;
static const size_t keycols[2] = { 0, 1 };

static void setup_table(void)
{
	memset(cols, 0, sizeof(cols));
	cols[0].name = (char *)"region";
	cols[0].native = (char *)"text";
	cols[0].type = LT_TEXT;
	cols[0].length = -1;
	cols[1].name = (char *)"id";
	cols[1].native = (char *)"integer";
	cols[1].type = LT_INT;
	cols[1].bits = 32;
	memset(&tab, 0, sizeof(tab));
	tab.display = (char *)"public.acct";
	tab.ncols = 2;
	tab.cols = cols;
}

/* The canonical key (region, id); region NULL when r is NULL. */
static void key_of(struct buf *k, const char *r, const char *id)
{
	struct canon_col t = canon_col_make(CC_TEXT, LT_TEXT), n = canon_col_make(CC_NUMBER, LT_INT);
	struct tally_err err;

	buf_init(k);
	assert_int_equal(canon_encode(k, &t, r, r ? strlen(r) : 0, &err), 0);
	assert_int_equal(canon_encode(k, &n, id, strlen(id), &err), 0);
}

static char *cond(const char *driver, size_t nkey, struct buf *keys, size_t n)
{
	const struct buf *kp[8];
	struct buf out = BUF_INIT;
	struct tally_err err;

	for (size_t i = 0; i < n; i++)
		kp[i] = &keys[i];
	assert_int_equal(bykey_cond(&out, conn_driver(driver), &tab, keycols, nkey, kp, n, &err), 0);
	return buf_detach(&out, NULL);
}

static void test_cond_composite(void **state)
{
	struct buf k[3];
	char *s;

	(void)state;
	setup_table();
	key_of(&k[0], "eu", "3");
	key_of(&k[1], "o'brien", "1");
	key_of(&k[2], NULL, "7");
	s = cond("postgres", 2, k, 3);
	assert_string_equal(s, "((\"region\", \"id\") IN (('eu', '3'::pg_catalog.int4), ('o''brien', '1'::pg_catalog.int4)) "
	                      "OR (\"region\" IS NULL AND \"id\" = '7'::pg_catalog.int4))");
	free(s);
	s = cond("mariadb", 2, k, 2);
	assert_non_null(strstr(s, "(`region`, `id`) IN (("));
	assert_null(strstr(s, "IS NULL"));
	assert_int_equal(s[0], '(');
	assert_int_equal(s[strlen(s) - 1], ')');
	free(s);
	/* An empty batch selects nothing. */
	s = cond("postgres", 2, k, 0);
	assert_string_equal(s, "(1 = 0)");
	free(s);
	for (int i = 0; i < 3; i++)
		buf_release(&k[i]);
}

static void test_cond_one_column(void **state)
{
	struct buf k[2];
	char *s;

	(void)state;
	setup_table();
	key_of(&k[0], "a\"b", "1");
	key_of(&k[1], "c", "2");
	/* nkey 1: only the first value of each canonical key is read. */
	s = cond("postgres", 1, k, 2);
	assert_string_equal(s, "(\"region\" IN ('a\"b', 'c'))");
	free(s);
	buf_release(&k[0]);
	buf_release(&k[1]);
}

static void test_set_order_and_find(void **state)
{
	struct bykey_set s;
	struct tally_err err;
	const char *keys[][2] = { { "us", "2" }, { "eu", "3" }, { "eu", "10" }, { "eu", "2" } };
	struct buf probe;

	(void)state;
	bykey_set_init(&s);
	for (size_t i = 0; i < 4; i++) {
		if (s.n == s.cap) {
			s.cap = s.cap ? s.cap * 2 : 8;
			s.line = xrealloc(s.line, s.cap * sizeof(*s.line));
			s.key = xrealloc(s.key, s.cap * sizeof(*s.key));
		}
		s.line[s.n] = json_pack("{s:s}", "check", "acct");
		key_of(&s.key[s.n], keys[i][0], keys[i][1]);
		s.n++;
	}
	assert_int_equal(bykey_set_seal(&s, &err), 0);
	/* Bytewise key order: eu/2, eu/3, eu/10 (numbers by value), us/2. */
	assert_int_equal(s.order[0], 3);
	assert_int_equal(s.order[1], 1);
	assert_int_equal(s.order[2], 2);
	assert_int_equal(s.order[3], 0);
	key_of(&probe, "eu", "10");
	assert_int_equal(bykey_set_find(&s, (const uint8_t *)probe.data, probe.len), 2);
	buf_release(&probe);
	key_of(&probe, "eu", "11");
	assert_int_equal(bykey_set_find(&s, (const uint8_t *)probe.data, probe.len), -1);
	buf_release(&probe);
	/* The same key twice is refused. */
	s.line[s.n] = json_pack("{s:s}", "check", "acct");
	key_of(&s.key[s.n], "eu", "3");
	s.n++;
	assert_int_equal(bykey_set_seal(&s, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	assert_string_equal(err.msg, "the same key appears in two differences of check 'acct'");
	bykey_set_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cond_composite),
		cmocka_unit_test(test_cond_one_column),
		cmocka_unit_test(test_set_order_and_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
