/*
 * tests/unit/test_runs.c
 *   runs.h's pure parts: run directory names (format, recognition, the
 *   id that keeps names in start order) and diffkeys.h: key digests, the
 *   set, new/resolved counts, and reading a zstd diff file of several
 *   frames streaming.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/base/zfile.h"
#include "engine/diffkeys.h"
#include "engine/runs.h"

static void test_format_name(void **state)
{
	char name[32];

	(void)state;
	/* 2026-12-05T07:15:00Z */
	runs_format_name(name, sizeof(name), (time_t)1796454900, 0x3fa2);
	assert_string_equal(name, "20261205T071500Z-3fa2");
	assert_int_equal(strlen(name), RUNS_NAME_LEN);
	runs_format_name(name, sizeof(name), (time_t)0, 0x1ffff);
	assert_string_equal(name, "19700101T000000Z-ffff");
}

static void test_is_name(void **state)
{
	(void)state;
	assert_true(runs_is_name("20261205T071500Z-3fa2"));
	assert_true(runs_is_name("19700101T000000Z-0000"));
	assert_false(runs_is_name("latest"));
	assert_false(runs_is_name("history.ndjson"));
	assert_false(runs_is_name(".tally-work"));
	assert_false(runs_is_name("20261205T071500Z-3FA2"));    /* ids are lower-case hex */
	assert_false(runs_is_name("20261205T071500Z-3fa"));
	assert_false(runs_is_name("20261205T071500Z-3fa2x"));
	assert_false(runs_is_name("20261205 071500Z-3fa2"));
	assert_false(runs_is_name("2026120aT071500Z-3fa2"));
	assert_false(runs_is_name("20261205T071500Z_3fa2"));
	assert_false(runs_is_name(""));
}

static void test_next_id(void **state)
{
	char *names[] = { "20261205T071500Z-3fa2", "20261205T071500Z-0010", "20261205T071459Z-ffff", "latest",
	                  "20261205T071501Z-0001" };
	char *full[] = { "20261205T071500Z-ffff" };

	(void)state;
	/* No run in that second: the random id as given (16 bits). */
	assert_int_equal(runs_next_id("20261205T071502Z", names, 5, 0x12345), 0x2345);
	assert_int_equal(runs_next_id("20261205T071502Z", NULL, 0, 7), 7);
	/* Runs in that second: one above the greatest, whatever the random one. */
	assert_int_equal(runs_next_id("20261205T071500Z", names, 5, 0x0001), 0x3fa3);
	assert_int_equal(runs_next_id("20261205T071501Z", names, 5, 0xffff), 2);
	assert_int_equal(runs_next_id("20261205T071500Z", full, 1, 3), -1);
}

static uint64_t digest(const char *line, char **check)
{
	uint64_t h = 0;

	assert_int_equal(diffkeys_digest(line, strlen(line), &h, check), 0);
	return h;
}

static void test_digest(void **state)
{
	char *c1, *c2, *c3, *c4, *c5, *c6;
	uint64_t a, b, c, d, e, f;

	(void)state;
	a = digest("{\"check\":\"orders\",\"kind\":\"changed\",\"key\":{\"id\":11,\"r\":\"eu\"},\"columns\":[\"amount\"],"
	           "\"source\":{\"amount\":\"1\"},\"target\":{\"amount\":\"2\"}}", &c1);
	/* The same key, another kind, other values, keys in another order: the same difference. */
	b = digest("{\"check\":\"orders\",\"kind\":\"missing\",\"key\":{\"r\":\"eu\",\"id\":11},\"columns\":[],"
	           "\"source\":{\"amount\":\"1\"},\"target\":null}", &c2);
	c = digest("{\"check\":\"orders\",\"kind\":\"missing\",\"key\":{\"r\":\"eu\",\"id\":12},\"columns\":[]}", &c3);
	d = digest("{\"check\":\"other\",\"kind\":\"missing\",\"key\":{\"r\":\"eu\",\"id\":11},\"columns\":[]}", &c4);
	/* Multiset rows: the row is what tells them apart. */
	e = digest("{\"check\":\"log\",\"kind\":\"missing\",\"key\":null,\"copies\":2,\"source\":{\"m\":\"a\"},"
	           "\"target\":null}", &c5);
	f = digest("{\"check\":\"log\",\"kind\":\"missing\",\"key\":null,\"copies\":1,\"source\":{\"m\":\"b\"},"
	           "\"target\":null}", &c6);
	assert_string_equal(c1, "orders");
	assert_string_equal(c4, "other");
	assert_true(a == b);
	assert_true(a != c);
	assert_true(a != d);
	assert_true(e != f);
	free(c1), free(c2), free(c3), free(c4), free(c5), free(c6);
	{
		uint64_t h;
		char *x = NULL;

		assert_int_equal(diffkeys_digest("{\"kind\":\"missing\"}", 18, &h, &x), -1);
		assert_int_equal(diffkeys_digest("not json", 8, &h, &x), -1);
		assert_int_equal(diffkeys_digest("{\"check\":\"t\",\"kind\":\"in_flight\",\"key\":{\"id\":1}}", 47,
		                                 &h, &x), 1);
		assert_null(x);
	}
}

struct counts {
	char names[4][16];
	uint64_t added[4], removed[4];
	size_t n;
};

static void collect(void *ctx, const char *check, uint64_t added, uint64_t removed)
{
	struct counts *c = ctx;

	assert_true(c->n < 4);
	snprintf(c->names[c->n], sizeof(c->names[c->n]), "%s", check);
	c->added[c->n] = added;
	c->removed[c->n++] = removed;
}

static void test_keyset_compare(void **state)
{
	struct keyset before, now;
	struct counts c;

	(void)state;
	memset(&c, 0, sizeof(c));
	keyset_init(&before);
	keyset_init(&now);
	/* Enough entries to grow the table a few times. */
	for (uint64_t i = 1; i <= 1000; i++)
		assert_true(keyset_add(&before, "a", i * 0x9e3779b97f4a7c15ull));
	assert_false(keyset_add(&before, "a", 5 * 0x9e3779b97f4a7c15ull));
	assert_true(keyset_add(&before, "gone", 77));
	for (uint64_t i = 3; i <= 1001; i++)          /* 1 and 2 resolved, 1001 new */
		keyset_add(&now, "a", i * 0x9e3779b97f4a7c15ull);
	keyset_add(&now, "b", 0);                     /* 0 is a digest like any other */
	assert_int_equal(before.n, 1001);
	assert_true(keyset_has(&now, 0));
	assert_false(keyset_has(&before, 0));
	diffkeys_compare(&before, &now, collect, &c);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.names[0], "a");
	assert_int_equal(c.added[0], 1);
	assert_int_equal(c.removed[0], 2);
	assert_string_equal(c.names[1], "b");
	assert_int_equal(c.added[1], 1);
	assert_int_equal(c.removed[1], 0);
	assert_string_equal(c.names[2], "gone");
	assert_int_equal(c.added[2], 0);
	assert_int_equal(c.removed[2], 1);
	keyset_release(&before);
	keyset_release(&now);
}

/* Writes lines as one zstd frame per element of frames[] (parts are appended frames). */
static void write_frames(const char *path, const char *const *frames, size_t n)
{
	FILE *out = fopen(path, "wb");

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		char tmp[] = "/tmp/tally-ut-runs-XXXXXX";
		int fd = mkstemp(tmp);
		struct zfile z;
		struct tally_err err;
		char buf[4096];
		size_t got;
		FILE *in;

		assert_true(fd >= 0);
		assert_int_equal(zfile_fdopen(&z, fd, tmp, 3, ZFILE_SCRATCH, &err), 0);
		assert_int_equal(zfile_write(&z, frames[i], strlen(frames[i]), &err), 0);
		assert_int_equal(zfile_close(&z, &err), 0);
		in = fopen(tmp, "rb");
		while ((got = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, got, out);
		fclose(in);
		unlink(tmp);
	}
	fclose(out);
}

static void test_read_file(void **state)
{
	const char *frames[] = {
		"{\"check\":\"t\",\"kind\":\"missing\",\"key\":{\"id\":1}}\n"
		"{\"check\":\"t\",\"kind\":\"changed\",\"key\":{\"id\":2}}\n",
		"{\"check\":\"t\",\"kind\":\"extra\",\"key\":{\"id\":3}}\n"
		"{\"check\":\"t\",\"kind\":\"in_flight\",\"key\":{\"id\":9},\"was\":\"changed\",\"now\":\"equal\"}\n",
		"",
		"{\"check\":\"u\",\"kind\":\"extra\",\"key\":{\"id\":3}}",  /* no newline at the end */
	};
	char path[] = "/tmp/tally-ut-diff-XXXXXX";
	int fd = mkstemp(path);
	struct keyset s;
	struct tally_err err;
	char *check;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_frames(path, frames, 4);
	keyset_init(&s);
	assert_int_equal(diffkeys_read(&s, path, &err), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.nnames, 2);
	assert_true(keyset_has(&s, digest("{\"check\":\"t\",\"kind\":\"extra\",\"key\":{\"id\":2}}", &check)));
	free(check);
	assert_false(keyset_has(&s, digest("{\"check\":\"u\",\"kind\":\"extra\",\"key\":{\"id\":1}}", &check)));
	free(check);
	keyset_release(&s);
	/* A line that is not a difference is an error naming the file and line. */
	{
		const char *bad[] = { "{\"check\":\"t\",\"key\":{\"id\":1}}\n[1]\n" };

		write_frames(path, bad, 1);
		keyset_init(&s);
		assert_int_equal(diffkeys_read(&s, path, &err), -1);
		assert_non_null(strstr(err.msg, ": line 2 is not a difference line"));
		keyset_release(&s);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_name),
		cmocka_unit_test(test_is_name),
		cmocka_unit_test(test_next_id),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_keyset_compare),
		cmocka_unit_test(test_read_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
