/*
 * tests/unit/test_zlines.c
 *   zlines, the line reader over a zstd file (engine/base/zfile.h): the
 *   exact lines of files written with zfile, lines across blocks, the last
 *   line without a newline, an empty file, a missing or corrupt one.
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

#include "../../engine/base/zfile.h"

struct tmpfile {
	char path[64];
};

/* Writes the n bytes at p, zstd-compressed, to a new temporary file. */
static void tmp_write(struct tmpfile *t, const void *p, size_t n, unsigned flags)
{
	struct zfile z;
	struct tally_err err;
	int fd;

	snprintf(t->path, sizeof(t->path), "/tmp/tally-test-zlines-XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	assert_int_equal(zfile_fdopen(&z, fd, t->path, 3, flags | ZFILE_SCRATCH, &err), 0);
	if (n)
		assert_int_equal(zfile_write(&z, p, n, &err), 0);
	assert_int_equal(zfile_close(&z, &err), 0);
}

/* Reads path through zlines and checks it yields exactly want[0..nwant). */
static void assert_lines(const char *path, const char *const *want, const size_t *wantlen, size_t nwant)
{
	struct zlines z;
	struct tally_err err;
	const char *line;
	size_t len, n = 0;
	int rc;

	assert_int_equal(zlines_open(&z, path, &err), 0);
	while ((rc = zlines_next(&z, &line, &len, &err)) == 1) {
		assert_true(n < nwant);
		assert_int_equal(len, wantlen[n]);
		assert_memory_equal(line, want[n], len);
		n++;
		assert_int_equal(z.lineno, n);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, nwant);
	/* The end stays the end. */
	assert_int_equal(zlines_next(&z, &line, &len, &err), 0);
	zlines_close(&z);
}

static void test_lines_exact(void **state)
{
	static const char text[] = "{\"a\":1}\n\nsecond line\nlast, no newline";
	const char *want[] = { "{\"a\":1}", "", "second line", "last, no newline" };
	size_t wantlen[4];
	struct tmpfile t;

	(void)state;
	for (size_t i = 0; i < 4; i++)
		wantlen[i] = strlen(want[i]);
	tmp_write(&t, text, sizeof(text) - 1, 0);
	assert_lines(t.path, want, wantlen, 4);
	unlink(t.path);
	/* A final newline ends the last line: no empty line after it. */
	assert_int_equal(text[20], '\n');
	tmp_write(&t, text, 21, 0);
	assert_lines(t.path, want, wantlen, 3);
	unlink(t.path);
}

/* Lines longer than zlines' 64 KiB block, and lines that straddle blocks. */
static void test_lines_long(void **state)
{
	size_t sizes[] = { 200000, 1, 65535, 65536, 65537, 0, 131073 };
	size_t n = sizeof(sizes) / sizeof(sizes[0]), total = 0;
	const char *want[7];
	size_t wantlen[7];
	char *text, *p;
	struct tmpfile t;

	(void)state;
	for (size_t i = 0; i < n; i++)
		total += sizes[i] + 1;
	text = p = malloc(total);
	assert_non_null(text);
	for (size_t i = 0; i < n; i++) {
		want[i] = p;
		wantlen[i] = sizes[i];
		for (size_t k = 0; k < sizes[i]; k++)
			*p++ = (char)('a' + (i * 7 + k * 13) % 26);
		*p++ = '\n';
	}
	tmp_write(&t, text, total, 0);
	assert_lines(t.path, want, wantlen, n);
	unlink(t.path);
	/* The same without the final newline. */
	tmp_write(&t, text, total - 1, 0);
	assert_lines(t.path, want, wantlen, n);
	unlink(t.path);
	free(text);
}

static void test_lines_empty_file(void **state)
{
	struct tmpfile t;

	(void)state;
	tmp_write(&t, "", 0, 0);
	assert_lines(t.path, NULL, NULL, 0);
	unlink(t.path);
	/* A file of one newline holds one empty line. */
	{
		const char *want[] = { "" };
		size_t wantlen[] = { 0 };

		tmp_write(&t, "\n", 1, 0);
		assert_lines(t.path, want, wantlen, 1);
		unlink(t.path);
	}
}

static void test_lines_missing_file(void **state)
{
	struct zlines z;
	struct tally_err err;

	(void)state;
	err_clear(&err);
	assert_int_equal(zlines_open(&z, "/tmp/tally-test-zlines-no-such-file", &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_non_null(strstr(err.msg, "'/tmp/tally-test-zlines-no-such-file'"));
}

/* A file that is not zstd fails at the first read, and the message names it. */
static void test_lines_corrupt_file(void **state)
{
	struct tmpfile t;
	struct zlines z;
	struct tally_err err;
	const char *line;
	size_t len;

	(void)state;
	tmp_write(&t, "not zstd\n", 9, ZFILE_PLAIN);
	err_clear(&err);
	assert_int_equal(zlines_open(&z, t.path, &err), 0);
	assert_int_equal(zlines_next(&z, &line, &len, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_non_null(strstr(err.msg, t.path));
	zlines_close(&z);
	unlink(t.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_exact),
		cmocka_unit_test(test_lines_long),
		cmocka_unit_test(test_lines_empty_file),
		cmocka_unit_test(test_lines_missing_file),
		cmocka_unit_test(test_lines_corrupt_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
