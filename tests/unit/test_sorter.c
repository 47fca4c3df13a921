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
#include <sys/stat.h>

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

/* ---- the prefix sort against a reference ------------------------------ */

/* A row whose canonical key is any bytes: key, then an 8-byte id as its value. */
struct krow {
	uint8_t bytes[64];
	uint32_t off[2];
	struct mrow m;
	const char *val[1];
	size_t len[1];
	struct rawrow raw;
	char idtext[24];
};

static void make_krow(struct krow *r, const uint8_t *key, size_t keylen, uint64_t id)
{
	assert_true(keylen <= 48);
	memset(r, 0, sizeof(*r));
	if (keylen)
		memcpy(r->bytes, key, keylen);
	le_put32(r->bytes + keylen, (uint32_t)id);
	le_put32(r->bytes + keylen + 4, (uint32_t)(id >> 32));
	r->m.bytes = r->bytes;
	r->m.keylen = keylen;
	r->m.len = keylen + 8;
	r->off[1] = 8;
	r->m.off = r->off;
	rowhash_of(r->bytes, r->m.len, &r->m.hash);
	snprintf(r->idtext, sizeof(r->idtext), "%llu", (unsigned long long)id);
	r->val[0] = r->idtext;
	r->len[0] = strlen(r->idtext);
	r->raw.ncols = 1;
	r->raw.val = r->val;
	r->raw.len = r->len;
	r->m.raw = &r->raw;
}

struct refkey {
	uint8_t key[48];
	size_t len;
	uint64_t id;               /* the order rows were added in */
};

/* Bytewise key order, then the order of adding: what a stable sort gives. */
static int refcmp(const void *a, const void *b)
{
	const struct refkey *x = a, *y = b;
	int c = merge_keycmp(x->key, x->len, y->key, y->len);

	return c ? c : (x->id > y->id) - (x->id < y->id);
}

static void add_all(struct sorter *s, const struct refkey *keys, size_t n)
{
	struct tally_err err;

	for (size_t i = 0; i < n; i++) {
		struct krow r;

		make_krow(&r, keys[i].key, keys[i].len, keys[i].id);
		assert_int_equal(sorter_add(s, &r.m, &err), 0);
	}
}

/*
 * Reads the sorter out and checks it against keys sorted by refcmp: every
 * key in order, and the ids too when ids_exact (in memory the sort is
 * stable; merging runs from disk orders equal keys by run, as before).
 */
static void expect_order(struct sorter *s, struct refkey *keys, size_t n, bool ids_exact)
{
	struct tally_err err;
	const struct mrow *m;
	size_t seen = 0;
	uint64_t idsum = 0, want_idsum = 0;
	int rc;

	qsort(keys, n, sizeof(*keys), refcmp);
	assert_int_equal(sorter_finish(s, &err), 0);
	while ((rc = sorter_source(s)->next(s, &m, &err)) == 1) {
		uint64_t id;

		assert_true(seen < n);
		assert_int_equal(m->keylen, keys[seen].len);
		if (m->keylen)
			assert_memory_equal(m->bytes, keys[seen].key, m->keylen);
		assert_int_equal(m->len, m->keylen + 8);
		id = (uint64_t)le_get32(m->bytes + m->keylen) | (uint64_t)le_get32(m->bytes + m->keylen + 4) << 32;
		if (ids_exact)
			assert_int_equal(id, keys[seen].id);
		assert_int_equal(m->raw->ncols, 1);
		assert_int_equal(strtoull(m->raw->val[0], NULL, 10), id);
		idsum += id;
		want_idsum += keys[seen].id;
		seen++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(seen, n);
	assert_int_equal(idsum, want_idsum);
}

static size_t set_key(struct refkey *k, const char *bytes, size_t len, uint64_t id)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->key, bytes, len);
	k->len = len;
	k->id = id;
	return 1;
}

/*
 * Keys that tie on the 16-byte prefix and differ after it, keys shorter
 * than the prefix whose zero padding looks like a longer key's zero
 * bytes, bytes above 0x7f (unsigned order), and equal keys, which must
 * come back in the order they were added.
 */
static void test_prefix_ties(void **state)
{
	static const struct { const char *b; size_t len; } lit[] = {
		{ "0123456789abcdefZ", 17 }, { "0123456789abcdef", 16 }, { "0123456789abcdef\0", 17 },
		{ "0123456789abcdef\0\0", 18 }, { "0123456789abcdefA", 17 }, { "0123456789abcdef\xff", 17 },
		{ "0123456789abcdefAB", 18 }, { "0123456789abcdefA", 17 }, { "0123456789abcdeg", 16 },
		{ "0123456789abcde", 15 }, { "abc", 3 }, { "abc\0", 4 }, { "abc\0\0d", 6 }, { "ab", 2 },
		{ "", 0 }, { "\0", 1 }, { "\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9 }, { "\x80", 1 },
		{ "\x7f", 1 }, { "abcdefgh", 8 }, { "abcdefgh\0", 9 }, { "abcdefg", 7 }, { "abc", 3 },
		{ "0123456789abcdef\0", 17 },
	};
	char dir[] = "/tmp/tally-test-sorter-XXXXXX";
	struct refkey keys[3 * sizeof(lit) / sizeof(lit[0])];
	size_t n = 0, nlit = sizeof(lit) / sizeof(lit[0]);
	struct sorter *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Each literal three times, in three different orders. */
	for (size_t round = 0; round < 3; round++)
		for (size_t i = 0; i < nlit; i++) {
			size_t j = round == 0 ? i : round == 1 ? nlit - 1 - i : (i * 7) % nlit;

			n += set_key(&keys[n], lit[j].b, lit[j].len, n);
		}
	s = sorter_new(dir, 64 << 20, 1, "source");
	add_all(s, keys, n);
	expect_order(s, keys, n, true);
	assert_int_equal(sorter_runs(s), 0);
	sorter_free(s);
	assert_int_equal(rmdir(dir), 0);
}

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Random keys of 0..40 bytes from {0, 'a', 'b', 0xff}, long shared runs: many prefix ties and duplicates. */
static struct refkey *random_keys(size_t n)
{
	static const uint8_t alpha[] = { 0x00, 'a', 'b', 0xff };
	struct refkey *keys = calloc(n, sizeof(*keys));

	assert_non_null(keys);
	for (size_t i = 0; i < n; i++) {
		size_t len = (size_t)(rnd() % 41), common = (size_t)(rnd() % 24);

		keys[i].len = len;
		keys[i].id = i;
		for (size_t b = 0; b < len; b++)
			keys[i].key[b] = b < common ? 'a' : alpha[rnd() % 4];
	}
	return keys;
}

static void test_random_against_qsort(void **state)
{
	char dir[] = "/tmp/tally-test-sorter-XXXXXX";
	size_t n = 60000;
	struct refkey *keys = random_keys(n);
	struct sorter *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* In memory: keys and the order of equal keys exactly as the reference. */
	s = sorter_new(dir, 64 << 20, 1, "target");
	add_all(s, keys, n);
	expect_order(s, keys, n, true);
	sorter_free(s);
	/* Through runs on disk: the same key sequence, every row once. */
	free(keys);
	keys = random_keys(n);
	s = sorter_new(dir, 256 << 10, 1, "target");
	add_all(s, keys, n);
	expect_order(s, keys, n, false);
	assert_true(sorter_runs(s) >= 8);
	sorter_free(s);
	/* Input already in order (keys is, now) and reversed, through one sorter reset in between. */
	s = sorter_new(dir, 64 << 20, 1, "target");
	add_all(s, keys, n);
	expect_order(s, keys, n, true);
	for (size_t i = 0; i < n / 2; i++) {
		struct refkey t = keys[i];

		keys[i] = keys[n - 1 - i];
		keys[n - 1 - i] = t;
	}
	for (size_t i = 0; i < n; i++)
		keys[i].id = i;
	sorter_reset(s);
	add_all(s, keys, n);
	expect_order(s, keys, n, true);
	sorter_free(s);
	free(keys);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * A sorter reset after a batch that spilled to disk: the runs are gone,
 * the next batch comes back alone and in order, an empty batch reads as
 * empty; sorter_renew keeps the sorter when its parameters match and
 * replaces it when they do not.
 */
static void test_reset_and_reuse(void **state)
{
	char dir[] = "/tmp/tally-test-sorter-XXXXXX";
	struct refkey *keys;
	struct tally_err err;
	const struct mrow *m;
	struct sorter *s, *same, *other;
	struct msource *src;

	(void)state;
	assert_non_null(mkdtemp(dir));
	rnd_state = 0x9e3779b97f4a7c15ull;
	keys = random_keys(20000);
	s = sorter_new(dir, 64 << 10, 1, "source");
	src = sorter_source(s);
	add_all(s, keys, 20000);
	expect_order(s, keys, 20000, false);
	assert_true(sorter_runs(s) >= 10);

	sorter_reset(s);
	assert_int_equal(sorter_runs(s), 0);
	assert_int_equal(rmdir(dir), 0);         /* every run was removed */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_ptr_equal(sorter_source(s), src);
	assert_int_equal(sorter_finish(s, &err), 0);
	assert_int_equal(src->next(src->ctx, &m, &err), 0);   /* empty after a reset */

	same = sorter_renew(s, dir, 64 << 10, 1, "target");
	assert_ptr_equal(same, s);
	assert_string_equal(sorter_source(same)->side, "target");
	add_all(same, keys + 100, 500);
	expect_order(same, keys + 100, 500, true);
	assert_int_equal(sorter_runs(same), 0);
	add_all(same, keys, 3);                  /* a new batch without a reset would mix: renew empties */
	other = sorter_renew(same, dir, 64 << 10, 2, "target");
	assert_ptr_not_equal(other, NULL);
	assert_int_equal(sorter_finish(other, &err), 0);
	assert_int_equal(sorter_source(other)->next(other, &m, &err), 0);
	other = sorter_renew(other, dir, 64 << 10, 2, "source");
	add_all(other, keys + 1000, 7000);
	expect_order(other, keys + 1000, 7000, false);
	sorter_free(other);
	sorter_free(NULL);
	free(keys);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_memory),
		cmocka_unit_test(test_spilled_runs),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_prefix_ties),
		cmocka_unit_test(test_random_against_qsort),
		cmocka_unit_test(test_reset_and_reuse),
		cmocka_unit_test(test_rowrec_round_trip),
		cmocka_unit_test(test_zfile_round_trip_and_truncation),
		cmocka_unit_test(test_zfile_sticky_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
