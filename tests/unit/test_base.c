/*
 * tests/unit/test_base.c
 *   engine/base/: the calendar, UTF-8, little-endian integers, dsn
 *   schemes and password masking, and the buffer's edge cases, with what each caller does with a byte that is
 *   not UTF-8 pinned through the caller itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../engine/base/buf.h"
#include "../../engine/base/civil.h"
#include "../../engine/base/dsn.h"
#include "../../engine/base/le.h"
#include "../../engine/base/utf8.h"
#include "../../engine/canon.h"
#include "../../engine/jcanon.h"
#include "../../engine/spec.h"

#define L(s) s, sizeof(s) - 1

static void assert_sane_buf(const struct buf *b)
{
	if (b->cap == 0) {
		assert_ptr_equal(b->data, buf_empty);
		assert_int_equal(b->len, 0);
	} else {
		assert_true(b->len < b->cap);
	}
	assert_int_equal(b->data[b->len], '\0');
	assert_int_equal(buf_empty[0], '\0');
}

/* ---- civil ------------------------------------------------------------- */

static void test_civil_known_dates(void **state)
{
	int64_t y;
	unsigned m, d;

	(void)state;
	assert_int_equal(civil_to_days(2000, 1, 1), 0);
	assert_int_equal(civil_to_days(1970, 1, 1), -10957);
	assert_int_equal(civil_to_days(2024, 2, 29), 8825);
	assert_int_equal(civil_to_days(2000, 3, 1), 60);
	assert_int_equal(civil_to_days(0, 12, 31), -730120);          /* 1 BC */
	assert_int_equal(civil_to_days(-4713, 11, 24), -2451545);     /* Julian day 0 */
	assert_int_equal(civil_to_days(2023, 2, 29), civil_to_days(2023, 3, 1));
	civil_from_days(-2451545, &y, &m, &d);
	assert_int_equal(y, -4713);
	assert_int_equal(m, 11);
	assert_int_equal(d, 24);
	civil_from_days(8825, &y, &m, &d);
	assert_int_equal(y, 2024);
	assert_int_equal(m, 2);
	assert_int_equal(d, 29);
}

static void test_civil_round_trip(void **state)
{
	int64_t y;
	unsigned m, d;

	(void)state;
	for (int64_t z = -800000; z <= 800000; z += 13) {
		civil_from_days(z, &y, &m, &d);
		assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
		assert_int_equal(civil_to_days(y, m, d), z);
	}
	/* Whole eras taken out first: the ends of int64 do not overflow. */
	civil_from_days(INT64_MAX, &y, &m, &d);
	assert_true(y > INT64_C(25000000000000000));
	civil_from_days(INT64_MIN, &y, &m, &d);
	assert_true(y < -INT64_C(25000000000000000));
	civil_from_days(INT64_C(146097) * 1000000 + 5, &y, &m, &d);
	assert_int_equal(y, 400000000 + 2000);
	assert_int_equal(m, 1);
	assert_int_equal(d, 6);
}

/* ---- UTF-8 ------------------------------------------------------------- */

struct seq {
	const char *s;
	size_t n;
	size_t len;             /* what utf8_decode returns */
	uint32_t cp;
};

static void test_utf8_decode(void **state)
{
	static const struct seq seqs[] = {
		{ L("A"), 1, 'A' }, { L("\x7f"), 1, 0x7f }, { "\0", 1, 1, 0 },
		{ L("\xc2\x80"), 2, 0x80 }, { L("\xdf\xbf"), 2, 0x7ff },
		{ L("\xe0\xa0\x80"), 3, 0x800 }, { L("\xed\x9f\xbf"), 3, 0xd7ff },
		{ L("\xee\x80\x80"), 3, 0xe000 }, { L("\xef\xbf\xbf"), 3, 0xffff },
		{ L("\xf0\x90\x80\x80"), 4, 0x10000 }, { L("\xf4\x8f\xbf\xbf"), 4, 0x10ffff },
		{ L("\xc3\xa9zzz"), 2, 0xe9 },
		/* overlong forms */
		{ L("\xc0\xaf"), 0, 0 }, { L("\xc1\xbf"), 0, 0 }, { L("\xe0\x80\xaf"), 0, 0 },
		{ L("\xe0\x9f\xbf"), 0, 0 }, { L("\xf0\x80\x80\xaf"), 0, 0 }, { L("\xf0\x8f\xbf\xbf"), 0, 0 },
		/* surrogates, past U+10FFFF, bytes that never start a sequence */
		{ L("\xed\xa0\x80"), 0, 0 }, { L("\xed\xbf\xbf"), 0, 0 }, { L("\xf4\x90\x80\x80"), 0, 0 },
		{ L("\xf5\x80\x80\x80"), 0, 0 }, { L("\xf8\x88\x80\x80\x80"), 0, 0 }, { L("\xff"), 0, 0 },
		{ L("\x80"), 0, 0 }, { L("\xbf"), 0, 0 },
		/* truncated, or a continuation byte missing */
		{ L("\xc3"), 0, 0 }, { L("\xe2\x82"), 0, 0 }, { L("\xf0\x9f\x98"), 0, 0 },
		{ L("\xc3("), 0, 0 }, { L("\xe2(\xac"), 0, 0 }, { L("\xe2\x82("), 0, 0 },
		{ L("\xf0\x9f\x98("), 0, 0 }, { L("\xf0\x9f\xc3\xa9"), 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		uint32_t cp = 0xdeadbeef;
		size_t k = utf8_decode((const unsigned char *)seqs[i].s, seqs[i].n, &cp);

		if (k != seqs[i].len)
			fail_msg("sequence %zu: length %zu, expected %zu", i, k, seqs[i].len);
		assert_int_equal(cp, k ? seqs[i].cp : 0xdeadbeef);
	}
	/* The length available bounds the sequence, not the NUL. */
	{
		uint32_t cp;

		assert_int_equal(utf8_decode((const unsigned char *)"\xe2\x82\xac", 2, &cp), 0);
		assert_int_equal(utf8_decode((const unsigned char *)"\xe2\x82\xac", 3, &cp), 3);
		assert_int_equal(cp, 0x20ac);
	}
}

static void test_utf8_check_count_encode(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(utf8_check(L("")), 0);
	assert_int_equal(utf8_check(L("abc\xc3\xa9\xe2\x82\xac")), 8);
	assert_int_equal(utf8_check(L("ab\xc3")), 2);
	assert_int_equal(utf8_check(L("\xc3\xa9\xed\xa0\x80x")), 2);
	assert_int_equal(utf8_check(L("a\0b")), 3);
	assert_int_equal(utf8_count(L("")), 0);
	assert_int_equal(utf8_count(L("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")), 4);
	assert_int_equal(utf8_count(L("a\xc0\xaf")), -1);
	assert_int_equal(utf8_count(L("\xf4\x90\x80\x80")), -1);

	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		uint32_t back = 0;
		size_t k;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		buf_reset(&b);
		utf8_encode(&b, cp);
		k = utf8_decode((const unsigned char *)b.data, b.len, &back);
		if (k != b.len || back != cp)
			fail_msg("U+%04X does not round-trip", cp);
		assert_int_equal(b.len, cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
	}
	assert_sane_buf(&b);
	buf_release(&b);
}

/* canon's case folding: a byte that is not UTF-8 stays as it is, and the next byte starts afresh. */
static void assert_folds_to(const char *in, size_t n, const char *want, size_t wn)
{
	struct canon_col fold = canon_col_make(CC_TEXT, LT_TEXT), plain = canon_col_make(CC_TEXT, LT_TEXT);
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct tally_err err;

	fold.fold_case = true;
	assert_int_equal(canon_encode(&a, &fold, in, n, &err), 0);
	assert_int_equal(canon_encode(&b, &plain, want, wn, &err), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	buf_release(&a);
	buf_release(&b);
}

static void test_utf8_callers(void **state)
{
	struct buf out = BUF_INIT;
	struct tally_err err;
	struct spec spec;

	(void)state;
	assert_int_equal(canon_case_ready(&err), 0);
	assert_folds_to(L("\xc3\x89T\xc3\x89"), L("\xc3\xa9t\xc3\xa9"));
	assert_folds_to(L("A\xc0\xaf" "B"), L("a\xc0\xaf" "b"));             /* overlong kept */
	assert_folds_to(L("\xed\xa0\x80X"), L("\xed\xa0\x80x"));             /* surrogate kept */
	assert_folds_to(L("\xff\xc3\x89"), L("\xff\xc3\xa9"));               /* resync after a bad byte */
	assert_folds_to(L("\xe2\xc3\x89"), L("\xe2\xc3\xa9"));               /* truncated lead kept alone */
	assert_folds_to(L("\xc3"), L("\xc3"));                               /* truncated at the end */
	assert_folds_to(L("\xf0\x90\x90\x80"), L("\xf0\x90\x90\xa8"));       /* U+10400 -> U+10428 */

	/* jcanon refuses, naming no value. */
	assert_int_equal(jcanon(&out, L("\"\xc0\xaf\""), &err), -1);
	assert_string_equal(err.msg, "not valid JSON at byte 1: invalid UTF-8 in string");
	assert_int_equal(jcanon(&out, L("\"\xed\xa0\x80\""), &err), -1);
	assert_int_equal(jcanon(&out, L("\"\xf4\x8f\xbf\xbf\""), &err), 0);

	/* The spec loader names the first byte that is not UTF-8, at its position. */
	assert_int_equal(spec_load_string("t.yaml", L("version: 1\nname: ab\xf4\x90\x80\x80\n"), &spec, &err), -1);
	assert_string_equal(err.msg, "t.yaml:2:9: invalid yaml: byte 0xf4 is not UTF-8");
	buf_release(&out);
}

/* ---- little-endian ----------------------------------------------------- */

static void test_le(void **state)
{
	uint8_t p[8];

	(void)state;
	le_put32(p, 0x11223344u);
	assert_memory_equal(p, "\x44\x33\x22\x11", 4);
	assert_int_equal(le_get32(p), 0x11223344u);
	le_put32(p, UINT32_MAX);
	assert_int_equal(le_get32(p), UINT32_MAX);
	le_put64(p, UINT64_C(0x0102030405060708));
	assert_memory_equal(p, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	assert_true(le_get64(p) == UINT64_C(0x0102030405060708));
}

/* ---- buf --------------------------------------------------------------- */

/*
 * Runs fn in a child process whose page holding buf_empty is read-only:
 * any write into the shared empty buffer kills the child. The page may
 * also hold the lazily bound PLT slots, so fn runs once on its own
 * first (on a buffer that owns memory), to bind what it calls, and the
 * child leaves through a syscall bound the same way. Returns the
 * child's wait status.
 */
static int with_empty_readonly(void (*fn)(struct buf *))
{
	long page = sysconf(_SC_PAGESIZE);
	pid_t pid;
	int st = 0;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		void *at = (void *)((uintptr_t)buf_empty & ~((uintptr_t)page - 1));
		struct buf warm = BUF_INIT, b = BUF_INIT;

		/* cmocka's handlers would go on with the tests in the child */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		buf_addstr(&warm, "warm");
		fn(&warm);
		syscall(SYS_getpid);
		if (mprotect(at, (size_t)page, PROT_READ) != 0)
			syscall(SYS_exit_group, 3);
		fn(&b);
		syscall(SYS_exit_group, b.len == 0 && b.data == buf_empty ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void rewind_to_zero(struct buf *b)
{
	buf_setlen(b, 0);
	buf_reset(b);
}

/* A failed encode rewinds its output to where it was: 0, on an empty buffer. */
static void failed_encode(struct buf *b)
{
	struct canon_col c = canon_col_make(CC_NUMBER, LT_DECIMAL);
	struct tally_err err;

	canon_encode(b, &c, "x", 1, &err);
	buf_reset(b);
}

static void test_buf_empty_never_written(void **state)
{
	struct buf b = BUF_INIT;
	int st;

	(void)state;
	st = with_empty_readonly(rewind_to_zero);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	st = with_empty_readonly(failed_encode);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* Once it owns memory, the terminator follows the length. */
	buf_addstr(&b, "abc");
	buf_setlen(&b, 1);
	assert_string_equal(b.data, "a");
	assert_sane_buf(&b);
	buf_release(&b);
	assert_sane_buf(&b);
}

/* ---- dsn --------------------------------------------------------------- */

static void assert_masked(const char *dsn, const char *want)
{
	char *got = dsn_redact(dsn);

	assert_string_equal(got, want);
	free(got);
}

static void test_dsn_scheme(void **state)
{
	(void)state;
	assert_int_equal(dsn_scheme_len("postgresql://h/db"), 10);
	assert_int_equal(dsn_scheme_len("mysql://u@h/db"), 5);
	assert_int_equal(dsn_scheme_len("a+b.c-d://x"), 7);
	assert_int_equal(dsn_scheme_len("host=h dbname=db"), 0);
	assert_int_equal(dsn_scheme_len("1pg://h"), 0);
	assert_int_equal(dsn_scheme_len("pg:/h"), 0);
	assert_int_equal(dsn_scheme_len("://h"), 0);
	assert_int_equal(dsn_scheme_len(""), 0);
	assert_true(dsn_scheme_is("mysql://h", 5, "mysql"));
	assert_false(dsn_scheme_is("MySQL://h", 5, "mysql"));
	assert_false(dsn_scheme_is("mysql://h", 5, "mysq"));
}

static void test_dsn_redact(void **state)
{
	char *s;

	(void)state;
	/* uris: user info from the first ':' to the last '@', and password parameters */
	assert_masked("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db");
	assert_masked("mariadb://u:se@c/r?et@h/db", "mariadb://u:***@h/db");
	assert_masked("postgresql://u@h/db?password=pw&sslmode=disable",
	              "postgresql://u@h/db?password=***&sslmode=disable");
	assert_masked("postgresql://u@h/db?sslpassword=pw", "postgresql://u@h/db?sslpassword=***");
	assert_masked("postgresql://[::1]:5432/db", "postgresql://[::1]:5432/db");
	/* libpq key=value pairs, quoted values with their escapes */
	assert_masked("host=h password=pw dbname=db", "host=h password=*** dbname=db");
	assert_masked("host=h password = 'p w\\' x' dbname=db", "host=h password=*** dbname=db");
	assert_masked("user=u PASSWORD=pw", "user=u PASSWORD=***");
	assert_masked("user:pw@h/db", "user:***@h/db");
	/* text around a uri, and nothing to mask */
	assert_masked("see mysql://u:pw@h/db here", "see mysql://u:***@h/db here");
	assert_masked("host=h dbname=db", "host=h dbname=db");
	assert_masked(NULL, "");
	s = dsn_redact_inner_uris(strdup("a \"postgresql://u:pw@h\" b mariadb://x@h"));
	assert_string_equal(s, "a \"postgresql://u:***@h\" b mariadb://x@h");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_civil_known_dates),
		cmocka_unit_test(test_civil_round_trip),
		cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_utf8_check_count_encode),
		cmocka_unit_test(test_utf8_callers),
		cmocka_unit_test(test_le),
		cmocka_unit_test(test_buf_empty_never_written),
		cmocka_unit_test(test_dsn_scheme),
		cmocka_unit_test(test_dsn_redact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
