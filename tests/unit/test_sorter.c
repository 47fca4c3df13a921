/*
 * tests/unit/test_sorter.c
 *   sorter and rowrec: rows come back in bytewise key order, every one,
 *   with their values byte for byte, whether the batch stayed in memory or
 *   went to disk in many runs; records survive a round trip; zstd files
 *   read back byte for byte, and a truncated one is an error, not a
 *   shorter stream.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../engine/canon.h"
#include "../../engine/rowhash.h"
#include "../../engine/rowrec.h"
#include "../../engine/sorter.h"
#include "../../engine/base/zfile.h"

#include <fcntl.h>

/* A row built from a text key and one text value, like a stream makes. */
struct trow {
	struct buf bytes;
	uint32_t off[2];
	struct mrow m;
	const char *val[2];
	size_t len[2];
	struct rawrow raw;
	char key[32], value[48];
};

static void make_row(struct trow *r, uint64_t n, bool null_value)
{
	struct canon_col c = canon_col_make(CC_TEXT, LT_TEXT);
	struct tally_err err;

	buf_init(&r->bytes);
	/* Keys in a scrambled order, with mixed case and a NUL-free multibyte tail. */
	snprintf(r->key, sizeof(r->key), "%c%08llx\xc3\xa9", (n * 7) % 3 ? 'a' : 'B',
	         (unsigned long long)((n * 2654435761u) % 100000007u));
	snprintf(r->value, sizeof(r->value), "value\t%llu", (unsigned long long)n);
	assert_int_equal(canon_encode(&r->bytes, &c, r->key, strlen(r->key), &err), 0);
	r->m.keylen = r->bytes.len;
	r->off[0] = 0;
	assert_int_equal(canon_encode(&r->bytes, &c, null_value ? NULL : r->value, strlen(r->value), &err), 0);
	r->off[1] = (uint32_t)(r->bytes.len - r->m.keylen);
	r->m.bytes = (const uint8_t *)r->bytes.data;
	r->m.len = r->bytes.len;
	r->m.off = r->off;
	rowhash_of(r->bytes.data, r->bytes.len, &r->m.hash);
	r->val[0] = r->key;
	r->len[0] = strlen(r->key);
	r->val[1] = null_value ? NULL : r->value;
	r->len[1] = null_value ? 0 : strlen(r->value);
	r->raw.ncols = 2;
	r->raw.val = r->val;
	r->raw.len = r->len;
	r->m.raw = &r->raw;
}

static void run_sort(size_t nrows, size_t budget, size_t expect_runs_at_least)
{
	char dir[] = "/tmp/tally-test-sorter-XXXXXX";
	struct sorter *s;
	struct tally_err err;
	const struct mrow *m;
	struct buf prev = BUF_INIT;
	size_t seen = 0;
	uint64_t sum = 0;
	int rc;

	assert_non_null(mkdtemp(dir));
	s = sorter_new(dir, budget, 1, "source");
	for (size_t i = 0; i < nrows; i++) {
		struct trow r;

		make_row(&r, i, i % 5 == 0);
		assert_int_equal(sorter_add(s, &r.m, &err), 0);
		buf_release(&r.bytes);
	}
	assert_int_equal(sorter_finish(s, &err), 0);
	assert_true(sorter_runs(s) >= expect_runs_at_least);
	while ((rc = sorter_source(s)->next(s, &m, &err)) == 1) {
		struct trow want;
		unsigned long long n;

		if (seen)
			assert_true(merge_keycmp((const uint8_t *)prev.data, prev.len, m->bytes, m->keylen) < 0);
		buf_reset(&prev);
		buf_add(&prev, m->bytes, m->keylen);
		/* The row and its values come back whole: rebuild it from its number. */
		assert_int_equal(m->raw->ncols, 2);
		assert_int_equal(m->raw->len[0], 11);
		n = 0;
		if (m->raw->val[1]) {
			assert_int_equal(sscanf(m->raw->val[1], "value\t%llu", &n), 1);
		} else {
			/* NULL values belong to rows 0, 5, 10...: find which by the key. */
			for (n = 0; n < nrows; n += 5) {
				make_row(&want, n, true);
				if (strncmp(want.key, m->raw->val[0], m->raw->len[0]) == 0) {
					buf_release(&want.bytes);
					break;
				}
				buf_release(&want.bytes);
			}
		}
		make_row(&want, n, n % 5 == 0);
		assert_int_equal(m->len, want.m.len);
		assert_memory_equal(m->bytes, want.m.bytes, m->len);
		assert_memory_equal(m->hash.b, want.m.hash.b, 16);
		assert_int_equal(m->off[1], want.off[1]);
		buf_release(&want.bytes);
		sum += n;
		seen++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(seen, nrows);
	assert_int_equal(sum, (uint64_t)nrows * (nrows - 1) / 2);
	sorter_free(s);
	buf_release(&prev);
	assert_int_equal(rmdir(dir), 0);     /* every run was removed */
}

static void test_in_memory(void **state)
{
	(void)state;
	run_sort(2000, 64 << 20, 0);
}

static void test_spilled_runs(void **state)
{
	(void)state;
	run_sort(20000, 16 << 10, 20);
}

static void test_empty(void **state)
{
	(void)state;
	run_sort(0, 1024, 0);
}

static void test_rowrec_round_trip(void **state)
{
	struct trow r;
	struct buf b = BUF_INIT;
	struct rowview v;

	(void)state;
	make_row(&r, 42, false);
	rowrec_put(&b, &r.m, 1, &r.raw);
	assert_int_equal(rowrec_len((const uint8_t *)b.data), b.len);
	rowview_init(&v);
	assert_int_equal(rowrec_get((const uint8_t *)b.data, b.len, &v), 0);
	assert_int_equal(v.m.keylen, r.m.keylen);
	assert_memory_equal(v.m.bytes, r.m.bytes, r.m.len);
	assert_string_equal(v.raw.val[1], "value\t42");
	/* Truncated or inconsistent records are refused. */
	assert_int_equal(rowrec_get((const uint8_t *)b.data, b.len - 1, &v), -1);
	b.data[4] = (char)0xff;
	assert_int_equal(rowrec_get((const uint8_t *)b.data, b.len, &v), -1);
	rowview_release(&v);
	buf_release(&b);
	buf_release(&r.bytes);
}

/* Writes n bytes in pieces both smaller and larger than zfile's staging block. */
static void write_pattern(const char *path, size_t n)
{
	static char piece[300000];
	struct zfile z;
	struct tally_err err;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(piece); i++)
		piece[i] = (char)((i * 7919u) % 251u);
	assert_int_equal(zfile_fdopen(&z, fd, path, 1, ZFILE_SCRATCH, &err), 0);
	for (size_t done = 0, k = 0; done < n; k++) {
		size_t len = k % 3 == 2 ? sizeof(piece) : 37 + k % 200;

		if (len > n - done)
			len = n - done;
		assert_int_equal(zfile_write(&z, piece, len, &err), 0);
		done += len;
	}
	assert_int_equal(zfile_close(&z, &err), 0);
}

static void test_zfile_round_trip_and_truncation(void **state)
{
	char path[] = "/tmp/tally-test-zfile-XXXXXX";
	struct zreader zr;
	struct tally_err err;
	char got[4096];
	size_t total = 0;
	long n;
	int fd = mkstemp(path);
	off_t size;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_pattern(path, 2000000);
	assert_int_equal(zreader_open(&zr, path, &err), 0);
	while ((n = zreader_read(&zr, got, sizeof(got), &err)) > 0)
		total += (size_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(total, 2000000);
	zreader_close(&zr);

	/* Cut the file short: reading it must fail, not end early. */
	fd = open(path, O_RDWR);
	size = lseek(fd, 0, SEEK_END);
	assert_int_equal(ftruncate(fd, size / 2), 0);
	close(fd);
	assert_int_equal(zreader_open(&zr, path, &err), 0);
	while ((n = zreader_read(&zr, got, sizeof(got), &err)) > 0)
		;
	assert_int_equal(n, -1);
	assert_non_null(strstr(err.msg, "truncated"));
	zreader_close(&zr);
	unlink(path);
}

/*
 * /dev/full fails every write with ENOSPC: the first failure names the
 * file and is repeated by every later call, close included, compressed
 * or plain, whether it shows at a write or only when the stage is flushed.
 */
static void test_zfile_sticky_error(void **state)
{
	static char big[300000];
	static const unsigned flags[] = { 0, ZFILE_PLAIN };
	const char *want = "cannot write '/dev/full': No space left on device";
	struct zfile z;
	struct tally_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		/* At a write: more than the stage holds. */
		assert_int_equal(zfile_create(&z, "/dev/full", 3, flags[i], &err), 0);
		assert_int_equal(zfile_write(&z, big, sizeof(big), &err), -1);
		assert_string_equal(err.msg, want);
		assert_int_equal(err.kind, ERR_IO);
		err_clear(&err);
		assert_int_equal(zfile_write(&z, "x", 1, &err), -1);
		assert_string_equal(err.msg, want);
		err_clear(&err);
		assert_int_equal(zfile_close(&z, &err), -1);
		assert_string_equal(err.msg, want);

		/* Only at the close: a few bytes staged. */
		assert_int_equal(zfile_create(&z, "/dev/full", 3, flags[i], &err), 0);
		assert_int_equal(zfile_write(&z, "abc", 3, &err), 0);
		assert_int_equal(zfile_close(&z, &err), -1);
		assert_string_equal(err.msg, want);
	}
	/* A file that cannot be created fails at once, and its close says so again. */
	assert_int_equal(zfile_create(&z, "/nonexistent-dir/x", 3, 0, &err), -1);
	assert_string_equal(err.msg, "cannot create '/nonexistent-dir/x': No such file or directory");
	err_clear(&err);
	assert_int_equal(zfile_close(&z, &err), -1);
	assert_string_equal(err.msg, "cannot create '/nonexistent-dir/x': No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_memory),
		cmocka_unit_test(test_spilled_runs),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_rowrec_round_trip),
		cmocka_unit_test(test_zfile_round_trip_and_truncation),
		cmocka_unit_test(test_zfile_sticky_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
