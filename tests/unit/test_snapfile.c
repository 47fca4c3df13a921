/*
 * tests/unit/test_snapfile.c
 *   connectors/snapfile without a server: small snapshot files written
 *   here byte by byte after the format of snapfile.h, then read through
 *   snapfile_ops as the engine reads a side: the header (server, position,
 *   engine, the table with its bit columns as the live driver described
 *   them), describe, scans of some columns in any order with NULLs and
 *   bytes kept, and the exact errors of a wrong table, a query, a where, a
 *   wrong format, a file that is not a snapshot, a truncated file and a
 *   corrupt record. Also the driver's spec entries: check_dsn, redact_dsn.
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

#include "../../connectors/connector.h"
#include "../../connectors/snapfile/snapfile.h"
#include "../../engine/base/le.h"
#include "../../engine/base/zfile.h"

/* The table of the files: k int key, b bit(3) (MariaDB), v varchar(10) nullable. */
#define TABLE_JSON                                                                                           \
	"{\"display\": \"legacy.t\", \"sqlname\": \"`legacy`.`t`\", \"is_query\": false, \"pk\": [0],"         \
	" \"parents\": [], \"children\": [], \"triggers\": [], \"triggers_unknown\": false, \"cols\": ["       \
	"{\"name\": \"k\", \"native\": \"int(11)\", \"type\": 0, \"bits\": 32, \"nullable\": false, "          \
	"\"precision\": -1, \"scale\": -1, \"fsp\": 0, \"length\": -1, \"labels\": []},"                       \
	"{\"name\": \"b\", \"native\": \"bit(3)\", \"type\": 15, \"bits\": 3, \"nullable\": true, "            \
	"\"precision\": -1, \"scale\": -1, \"fsp\": 0, \"length\": -1, \"labels\": []},"                       \
	"{\"name\": \"v\", \"native\": \"varchar(10)\", \"type\": 4, \"bits\": 0, \"nullable\": true, "        \
	"\"precision\": -1, \"scale\": -1, \"fsp\": 0, \"length\": 10, \"labels\": []}]}"

struct fixture {
	char path[64];
	struct conn *c;
};

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	buf_add(b, p, n);
}

static void put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4];

	le_put32(x, v);
	put_bytes(b, x, 4);
}

/* One record: a hash (not checked by the reader), the key bytes, then each column. */
static void put_record(struct buf *b, const char *key, const char *const *vals, const size_t *lens, size_t n)
{
	struct buf r = BUF_INIT;
	uint8_t hash[16];

	memset(hash, 0xab, sizeof(hash));
	put_bytes(&r, hash, sizeof(hash));
	put_u32(&r, (uint32_t)strlen(key));
	put_bytes(&r, key, strlen(key));
	for (size_t i = 0; i < n; i++) {
		put_u32(&r, vals[i] ? (uint32_t)lens[i] : UINT32_MAX);
		if (vals[i])
			put_bytes(&r, vals[i], lens[i]);
	}
	put_u32(b, (uint32_t)r.len);
	put_bytes(b, r.data, r.len);
	buf_release(&r);
}

/*
 * The bytes of a snapshot of format `format` with two rows; cut, when not
 * 0, drops that many bytes from the end; corrupt makes the second record
 * claim a column longer than the record.
 */
static void snapshot_bytes(struct buf *b, int format, size_t cut, bool corrupt)
{
	static const char *const row1[] = { "1", "\x05", "one" };
	static const size_t len1[] = { 1, 1, 3 };
	static const char *const row2[] = { "2", NULL, "t\0o" };
	static const size_t len2[] = { 1, 0, 3 };
	char header[2048];

	snprintf(header, sizeof(header),
	         "{\"format\": %d, \"canon_version\": 1, \"tally_version\": \"0.1.0\", \"taken_at\": "
	         "\"2026-12-05T07:00:00Z\", \"spec\": \"s.yaml\", \"check\": \"c\", \"side\": \"source\", "
	         "\"system\": \"legacy\", \"driver\": \"mariadb\", \"server\": \"MariaDB 10.11.6\", "
	         "\"position\": \"gtid 0-1-42\", \"table\": " TABLE_JSON ", \"key\": [0]}", format);
	put_bytes(b, SNAPFILE_MAGIC, SNAPFILE_MAGIC_LEN);
	put_u32(b, (uint32_t)strlen(header));
	put_bytes(b, header, strlen(header));
	put_record(b, "k1", row1, len1, 3);
	if (corrupt) {
		/* k2: k = "2", b NULL, v claiming 300 bytes of which none follow */
		struct buf r = BUF_INIT;
		uint8_t hash[16];

		memset(hash, 0xab, sizeof(hash));
		put_bytes(&r, hash, sizeof(hash));
		put_u32(&r, 2);
		put_bytes(&r, "k2", 2);
		put_u32(&r, 1);
		put_bytes(&r, "2", 1);
		put_u32(&r, UINT32_MAX);
		put_u32(&r, 300);
		put_u32(b, (uint32_t)r.len);
		put_bytes(b, r.data, r.len);
		buf_release(&r);
	} else {
		put_record(b, "k2", row2, len2, 3);
	}
	put_u32(b, 0);
	put_u32(b, 2);
	put_bytes(b, "{}", 2);
	if (cut)
		buf_setlen(b, b->len - cut);
}

static void write_file(const char *path, const struct buf *b)
{
	struct zfile z;
	struct tally_err err;

	assert_int_equal(zfile_create(&z, path, 3, 0, &err), 0);
	assert_int_equal(zfile_write(&z, b->data, b->len, &err), 0);
	assert_int_equal(zfile_close(&z, &err), 0);
}

/* Writes a file as snapshot_bytes() says and opens it; returns open's status. */
static int open_snapshot(struct fixture *f, int format, size_t cut, bool corrupt, struct tally_err *err)
{
	struct buf b = BUF_INIT;
	struct conn_cfg cfg;

	snapshot_bytes(&b, format, cut, corrupt);
	write_file(f->path, &b);
	buf_release(&b);
	memset(&cfg, 0, sizeof(cfg));
	cfg.system = "old";
	cfg.side = "source";
	cfg.dsn = f->path;
	cfg.dsn_shown = f->path;
	err_clear(err);
	return snapfile_ops.open(&f->c, &cfg, err);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/tally-test-snapfile-XXXXXX");
	fd = mkstemp(f->path);
	if (fd < 0)
		return -1;
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->c)
		f->c->ops->close(f->c);
	unlink(f->path);
	free(f);
	return 0;
}

static void test_header_and_describe(void **state)
{
	struct fixture *f = *state;
	struct tally_err err;
	struct tabdesc t;
	char *pos = NULL;

	assert_int_equal(open_snapshot(f, SNAPFILE_FORMAT, 0, false, &err), 0);
	assert_string_equal(f->c->engine, "mariadb");
	assert_string_equal(f->c->server_version, "tally snapshot of MariaDB 10.11.6");
	assert_int_equal(f->c->ops->position(f->c, &pos, &err), 0);
	assert_string_equal(pos, "snapshot of system 'legacy' taken 2026-12-05T07:00:00Z at gtid 0-1-42");
	free(pos);
	/* the table, named with or without its schema */
	assert_int_equal(f->c->ops->describe_table(f->c, "t", &t, &err), 0);
	assert_string_equal(t.display, "legacy.t");
	assert_int_equal(t.ncols, 3);
	assert_int_equal(t.npk, 1);
	assert_int_equal(t.pk[0], 0);
	assert_string_equal(t.cols[1].native, "bit(3)");
	assert_int_equal(t.cols[1].type, LT_BIT);
	/* a file written before raw_bits was stored: as the MariaDB driver describes BIT */
	assert_true(t.cols[1].raw_bits);
	assert_false(t.cols[1].bits_varying);
	assert_false(t.cols[0].raw_bits);
	assert_int_equal(t.cols[2].length, 10);
	tabdesc_release(&t);
	assert_int_equal(f->c->ops->describe_table(f->c, "legacy.t", &t, &err), 0);
	tabdesc_release(&t);
	/* anything else is refused, exactly */
	assert_int_equal(f->c->ops->describe_table(f->c, "u", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_true(strstr(err.msg, "of source system 'old' holds legacy.t, not 'u'") != NULL);
	assert_string_equal(err.hint, "name the table the snapshot was taken of");
	assert_int_equal(f->c->ops->describe_query(f->c, "SELECT 1", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_string_equal(err.hint, "name its table: table: legacy.t");
}

static void expect_col(const struct rawrow *r, size_t i, const char *want, size_t n)
{
	if (!want) {
		assert_null(r->val[i]);
		return;
	}
	assert_non_null(r->val[i]);
	assert_int_equal(r->len[i], n);
	assert_memory_equal(r->val[i], want, n);
}

static void test_scan(void **state)
{
	struct fixture *f = *state;
	struct tally_err err;
	struct tabdesc t;
	struct rawrow *row;
	size_t cols[] = { 2, 1, 0 }, key[] = { 0 };
	struct scan_req req;

	assert_int_equal(open_snapshot(f, SNAPFILE_FORMAT, 0, false, &err), 0);
	assert_int_equal(f->c->ops->describe_table(f->c, "t", &t, &err), 0);
	memset(&req, 0, sizeof(req));
	req.desc = &t;
	req.table = "t";
	req.ncols = 3;
	req.cols = cols;
	req.nkey = 1;
	req.key = key;
	req.where = "k > 1";
	assert_int_equal(f->c->ops->scan_open(f->c, &req, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_true(strstr(err.msg, "takes no where: filter when taking it") != NULL);
	req.where = NULL;
	/* twice: every scan starts again at the first record */
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(f->c->ops->scan_open(f->c, &req, &err), 0);
		assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), 1);
		assert_int_equal(row->ncols, 3);
		expect_col(row, 0, "one", 3);
		expect_col(row, 1, "\x05", 1);
		expect_col(row, 2, "1", 1);
		assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), 1);
		expect_col(row, 0, "t\0o", 3);
		expect_col(row, 1, NULL, 0);
		expect_col(row, 2, "2", 1);
		assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), 0);
		assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), 0);
		f->c->ops->scan_close(f->c);
	}
	/* one column */
	req.ncols = 1;
	cols[0] = 0;
	assert_int_equal(f->c->ops->scan_open(f->c, &req, &err), 0);
	assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), 1);
	assert_int_equal(row->ncols, 1);
	expect_col(row, 0, "1", 1);
	f->c->ops->scan_close(f->c);
	tabdesc_release(&t);
}

static void test_bad_files(void **state)
{
	struct fixture *f = *state;
	struct tally_err err;
	struct tabdesc t;
	struct rawrow *row;
	size_t cols[] = { 0, 1, 2 }, key[] = { 0 };
	struct scan_req req;
	char want[512];

	assert_int_equal(open_snapshot(f, 2, 0, false, &err), -1);
	snprintf(want, sizeof(want), "snapshot '%s' has format 2; this tally reads format 1", f->path);
	assert_string_equal(err.msg, want);
	assert_null(f->c);
	/* a zstd file that is not a snapshot inside */
	{
		struct buf b = BUF_INIT;
		struct conn_cfg cfg = { .system = "old", .side = "source", .dsn = f->path, .dsn_shown = f->path };

		buf_addstr(&b, "TALLYSNAP0\nxxxx");
		write_file(f->path, &b);
		buf_release(&b);
		assert_int_equal(snapfile_ops.open(&f->c, &cfg, &err), -1);
		snprintf(want, sizeof(want), "'%s' is not a tally snapshot (source system 'old')", f->path);
		assert_string_equal(err.msg, want);
	}
	/* cut after the records (no end, no trailer): the scan fails there, and stays failed */
	assert_int_equal(open_snapshot(f, SNAPFILE_FORMAT, 10, false, &err), 0);
	assert_int_equal(f->c->ops->describe_table(f->c, "t", &t, &err), 0);
	memset(&req, 0, sizeof(req));
	req.desc = &t;
	req.ncols = 3;
	req.cols = cols;
	req.nkey = 1;
	req.key = key;
	assert_int_equal(f->c->ops->scan_open(f->c, &req, &err), 0);
	assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), 1);
	assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), 1);
	assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), -1);
	snprintf(want, sizeof(want), "snapshot '%s' for source system 'old': the file is truncated", f->path);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.kind, ERR_IO);
	assert_true(f->c->failed);
	assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), -1);
	assert_string_equal(err.msg, want);
	f->c->ops->scan_close(f->c);
	f->c->ops->close(f->c);
	f->c = NULL;
	tabdesc_release(&t);
	/* a record whose column claims more bytes than the record holds */
	assert_int_equal(open_snapshot(f, SNAPFILE_FORMAT, 0, true, &err), 0);
	assert_int_equal(f->c->ops->describe_table(f->c, "t", &t, &err), 0);
	req.desc = &t;
	assert_int_equal(f->c->ops->scan_open(f->c, &req, &err), 0);
	assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), 1);
	assert_int_equal(f->c->ops->scan_next(f->c, &row, &err), -1);
	snprintf(want, sizeof(want), "snapshot '%s' for source system 'old': a record is corrupt", f->path);
	assert_string_equal(err.msg, want);
	f->c->ops->scan_close(f->c);
	tabdesc_release(&t);
}

static void test_spec_entries(void **state)
{
	struct tally_err err;
	char *shown;

	(void)state;
	assert_true(snapfile_ops.takes_path);
	assert_int_equal(snapfile_ops.sql, CONN_SQL_NONE);
	assert_int_equal(snapfile_ops.check_dsn("/data/old.snap", &err), 0);
	assert_int_equal(snapfile_ops.check_dsn("", &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	assert_string_equal(err.msg, "path is empty after expanding environment variables");
	shown = snapfile_ops.redact_dsn("/data/user:pw@old.snap");
	assert_string_equal(shown, "/data/user:pw@old.snap");
	free(shown);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header_and_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
		cmocka_unit_test(test_spec_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
