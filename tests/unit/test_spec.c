/*
 * tests/unit/test_spec.c
 *   Unit tests for engine/spec.c: a full valid spec with every field
 *   checked, one test per validation error with its exact message and
 *   position, ${VAR} expansion, and dsn redaction. Performs no network I/O;
 *   a few tests write temporary files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/spec.h"

/* ---- helpers ---- */

static bool pos_set(struct spec_pos p)
{
	return p.line > 0 && p.col > 0;
}

static bool is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Invariants every loaded spec must hold, whatever its content. */
static void assert_sane_spec(const struct spec *s)
{
	assert_non_null(s->file);
	assert_int_equal(s->version, 1);
	assert_non_null(s->name);
	assert_true(s->nsystems > 0);
	assert_true(s->nchecks > 0);
	for (size_t i = 0; i < s->nsystems; i++) {
		const struct spec_system *sys = &s->systems[i];

		assert_non_null(sys->name);
		assert_non_null(sys->driver);
		assert_non_null(sys->dsn);
		assert_non_null(sys->dsn_shown);
		assert_true(pos_set(sys->pos));
		assert_ptr_equal(spec_find_system(s, sys->name), sys);
	}
	for (size_t i = 0; i < s->nchecks; i++) {
		const struct spec_check *c = &s->checks[i];
		const struct spec_side *sides[] = { &c->source, &c->target };

		assert_non_null(c->name);
		assert_ptr_equal(spec_find_check(s, c->name), c);
		assert_true(pos_set(c->pos));
		for (size_t k = 0; k < 2; k++) {
			const struct spec_side *sd = sides[k];

			assert_non_null(sd->sys);
			assert_true(sd->sys >= s->systems &&
			            sd->sys < s->systems + s->nsystems);
			assert_string_equal(sd->sys->name, sd->system);
			assert_true((sd->table != NULL) != (sd->query != NULL));
			assert_true(sd->where == NULL || sd->table != NULL);
			assert_true(pos_set(sd->pos));
		}
		assert_true(c->nkey == 0 || pos_set(c->key_pos));
		assert_true(c->ncolumns == 0 || c->columns_given);
		for (size_t k = 0; k < c->ncolumns; k++) {
			const struct spec_column *col = &c->columns[k];

			assert_non_null(col->source);
			assert_non_null(col->target);
			assert_true(pos_set(col->pos));
			assert_true(pos_set(col->opt_pos));
			assert_true(col->opt_pos.line > col->pos.line ||
			            (col->opt_pos.line == col->pos.line &&
			             col->opt_pos.col >= col->pos.col));
			assert_true(col->nmap == 0 || col->map != NULL);
		}
		for (size_t k = 0; k < c->nignore; k++) {
			assert_non_null(c->ignore[k]);
			assert_true(pos_set(c->ignore_pos[k]));
		}
	}
}

static void load_ok(const char *yaml, struct spec *s)
{
	struct tally_err err;

	err_clear(&err);
	if (spec_load_string("t.yaml", yaml, strlen(yaml), s, &err) != 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_sane_spec(s);
}

/* Loads yaml, which must fail with ERR_SPEC and leave the spec zeroed. */
static const char *load_err(const char *yaml)
{
	static struct tally_err err;
	struct spec s;

	memset(&s, 0x5a, sizeof(s));
	err_clear(&err);
	assert_int_equal(spec_load_string("t.yaml", yaml, strlen(yaml), &s, &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	assert_true(is_zero(&s, sizeof(s)));
	return err.msg;
}

#define assert_spec_error(yaml, msg) assert_string_equal(load_err(yaml), msg)

/* One test function per error: its name says what it rejects. */
#define ERROR_TEST(fn, yaml, msg) \
	static void fn(void **state) \
	{ \
		(void)state; \
		assert_spec_error(yaml, msg); \
	}

/* Lines 1-5: a valid head with two systems. */
#define HEAD \
	"version: 1\n" \
	"name: n\n" \
	"systems:\n" \
	"  pg: { driver: postgres, dsn: \"dbname=x\" }\n" \
	"  maria: { driver: mariadb, dsn: \"mariadb://u@h/db\" }\n"

/* Lines 6-9: one valid check; tests append its other keys from line 10. */
#define CHECK \
	"checks:\n" \
	"  - name: c\n" \
	"    source: { system: maria, table: t }\n" \
	"    target: { system: pg, table: t }\n"

/* A dsn mistyped as an alias (a leading '*'): lines 1-4 and a check. */
#define SYSTEM_PG_ALIAS TOP "systems:\n  pg: { driver: postgres, dsn: *postgresql://u:pw@h/db }\n"

/* Lines 1-3: version and name; tests add the systems from line 3. */
#define TOP "version: 1\nname: n\n"
#define CHECK_PG \
	"checks:\n" \
	"  - name: c\n" \
	"    source: { system: pg, table: t }\n" \
	"    target: { system: pg, table: t }\n"
#define SYSTEM_PG(dsn) TOP "systems:\n  pg: { driver: postgres, dsn: \"" dsn "\" }\n" CHECK_PG
#define SYSTEM_MARIA(dsn) TOP "systems:\n  pg: { driver: mariadb, dsn: \"" dsn "\" }\n" CHECK_PG

/* ---- the valid contract example ---- */

static const char contract_yaml[] =
	"version: 1\n"
	"name: orders-cutover                 # [a-z0-9_-]+, used in file names\n"
	"reason: \"Verify orders after the billing cut-over (CO-2211)\"   # copied\n"
	"systems:\n"
	"  legacy:  { driver: mariadb,  dsn: \"mariadb://tally:${TALLY_TEST_PW}@127.0.0.1:3306/legacy\" }\n"
	"  billing: { driver: postgres, dsn: \"postgresql://tally@127.0.0.1:5432/billing?sslmode=prefer\" }\n"
	"checks:\n"
	"  - name: orders\n"
	"    source: { system: legacy,  table: orders, where: \"deleted = 0\" }\n"
	"    target: { system: billing, table: public.orders }\n"
	"    key: [id]                        # default: the target's primary key\n"
	"    columns:                         # default: every non-key column\n"
	"      - status\n"
	"      - { source: cust_no, target: customer_id }\n"
	"      - { name: amount, scale: 2 }\n"
	"      - { name: created_at, precision: 0 }\n"
	"    ignore: [updated_at]\n"
	"    expect: equal                    # equal | subset | absent\n"
	"    repair: target                   # target | source | none\n";

static void assert_pos(struct spec_pos p, int line, int col)
{
	assert_int_equal(p.line, line);
	assert_int_equal(p.col, col);
}

static void assert_plain_column(const struct spec_column *c, const char *source,
                                const char *target)
{
	assert_string_equal(c->source, source);
	assert_string_equal(c->target, target);
	assert_null(c->timezone);
	assert_int_equal(c->trim, TRIM_NONE);
	assert_false(c->case_insensitive);
	assert_false(c->has_tolerance);
	assert_int_equal(c->as, AS_NONE);
	assert_int_equal(c->nmap, 0);
}

static void test_contract_example(void **state)
{
	struct spec s;
	const struct spec_check *c;
	const struct spec_column *col;

	(void)state;
	assert_int_equal(setenv("TALLY_TEST_PW", "s3cr$t pw", 1), 0);
	load_ok(contract_yaml, &s);

	assert_string_equal(s.file, "t.yaml");
	assert_int_equal(s.version, 1);
	assert_string_equal(s.name, "orders-cutover");
	assert_string_equal(s.reason, "Verify orders after the billing cut-over (CO-2211)");

	assert_int_equal(s.nsystems, 2);
	assert_string_equal(s.systems[0].name, "legacy");
	assert_string_equal(s.systems[0].driver, "mariadb");
	assert_string_equal(s.systems[0].dsn, "mariadb://tally:s3cr$t pw@127.0.0.1:3306/legacy");
	assert_string_equal(s.systems[0].dsn_shown, "mariadb://tally:***@127.0.0.1:3306/legacy");
	assert_pos(s.systems[0].pos, 5, 3);
	assert_string_equal(s.systems[1].name, "billing");
	assert_string_equal(s.systems[1].driver, "postgres");
	assert_string_equal(s.systems[1].dsn,
	                    "postgresql://tally@127.0.0.1:5432/billing?sslmode=prefer");
	assert_string_equal(s.systems[1].dsn_shown,
	                    "postgresql://tally@127.0.0.1:5432/billing?sslmode=prefer");
	assert_pos(s.systems[1].pos, 6, 3);

	assert_int_equal(s.nchecks, 1);
	c = &s.checks[0];
	assert_string_equal(c->name, "orders");
	assert_pos(c->pos, 8, 5);

	assert_string_equal(c->source.system, "legacy");
	assert_ptr_equal(c->source.sys, &s.systems[0]);
	assert_string_equal(c->source.table, "orders");
	assert_string_equal(c->source.where, "deleted = 0");
	assert_null(c->source.query);
	assert_pos(c->source.pos, 9, 13);
	assert_pos(c->source.where_pos, 9, 54);
	assert_pos(c->source.query_pos, 0, 0);
	assert_string_equal(c->target.system, "billing");
	assert_ptr_equal(c->target.sys, &s.systems[1]);
	assert_string_equal(c->target.table, "public.orders");
	assert_null(c->target.where);
	assert_null(c->target.query);
	assert_pos(c->target.pos, 10, 13);
	assert_pos(c->target.where_pos, 0, 0);

	assert_int_equal(c->nkey, 1);
	assert_string_equal(c->key[0], "id");
	assert_pos(c->key_pos, 11, 10);

	assert_true(c->columns_given);
	assert_int_equal(c->ncolumns, 4);
	col = &c->columns[0];
	assert_plain_column(col, "status", "status");
	assert_int_equal(col->scale, -1);
	assert_int_equal(col->precision, -1);
	assert_pos(col->pos, 13, 9);
	assert_pos(col->opt_pos, 13, 9);
	col = &c->columns[1];
	assert_plain_column(col, "cust_no", "customer_id");
	assert_int_equal(col->scale, -1);
	assert_int_equal(col->precision, -1);
	assert_pos(col->pos, 14, 9);
	assert_pos(col->opt_pos, 14, 9);
	col = &c->columns[2];
	assert_plain_column(col, "amount", "amount");
	assert_int_equal(col->scale, 2);
	assert_int_equal(col->precision, -1);
	assert_pos(col->pos, 15, 9);
	assert_pos(col->opt_pos, 15, 25);
	col = &c->columns[3];
	assert_plain_column(col, "created_at", "created_at");
	assert_int_equal(col->scale, -1);
	assert_int_equal(col->precision, 0);
	assert_pos(col->pos, 16, 9);
	assert_pos(col->opt_pos, 16, 29);

	assert_int_equal(c->nignore, 1);
	assert_string_equal(c->ignore[0], "updated_at");
	assert_pos(c->ignore_pos[0], 17, 14);
	assert_int_equal(c->expect, EXPECT_EQUAL);
	assert_int_equal(c->repair, REPAIR_TARGET);
	assert_int_equal(c->chunk_rows, 0);

	assert_ptr_equal(spec_find_system(&s, "billing"), &s.systems[1]);
	assert_null(spec_find_system(&s, "nope"));
	assert_ptr_equal(spec_find_check(&s, "orders"), c);
	assert_null(spec_find_check(&s, "nope"));

	spec_release(&s);
	assert_true(is_zero(&s, sizeof(s)));
	unsetenv("TALLY_TEST_PW");
}

/* Every option, the other enum values, query sides, and defaults. */
static void test_all_options(void **state)
{
	static const char yaml[] =
		HEAD
		"checks:\n"
		"  - name: c1\n"
		"    source: { system: maria, query: \"select 1\" }\n"
		"    target:\n"
		"      system: pg\n"
		"      query: select 2\n"
		"    key: id\n"
		"    columns:\n"
		"      - name: x\n"
		"        case: insensitive\n"
		"        trim: both\n"
		"        as: json\n"
		"        tolerance: 0.25\n"
		"        timezone: Europe/Paris\n"
		"        map: { A: active, \"1\": \"yes\", '': empty }\n"
		"        precision: 6\n"
		"        scale: 38\n"
		"      - { name: y, case: sensitive, trim: right, as: uuid, tolerance: 0 }\n"
		"      - { name: z, as: text, scale: 0 }\n"
		"    expect: subset\n"
		"    repair: source\n"
		"    chunk_rows: 100000000\n"
		"  - name: c2\n"
		"    source: { system: pg, table: a }\n"
		"    target: { system: pg, table: b }\n"
		"    key: [k1, k2]\n"
		"    columns: []\n"
		"    ignore: []\n"
		"    expect: absent\n"
		"    repair: none\n"
		"    chunk_rows: 1\n"
		"  - name: c3\n"
		"    source: { system: pg, table: a }\n"
		"    target: { system: maria, table: b }\n";
	const struct spec_check *c;
	const struct spec_column *col;
	struct spec s;

	(void)state;
	load_ok(yaml, &s);
	assert_null(s.reason);
	assert_int_equal(s.nchecks, 3);

	c = &s.checks[0];
	assert_string_equal(c->source.query, "select 1");
	assert_null(c->source.table);
	assert_string_equal(c->target.query, "select 2");
	assert_pos(c->target.pos, 10, 7);
	assert_pos(c->source.query_pos, 8, 37);
	assert_pos(c->target.query_pos, 11, 14);
	assert_pos(c->target.where_pos, 0, 0);
	assert_int_equal(c->nkey, 1);
	assert_string_equal(c->key[0], "id");
	assert_pos(c->key_pos, 12, 10);
	assert_int_equal(c->ncolumns, 3);
	col = &c->columns[0];
	assert_string_equal(col->source, "x");
	assert_string_equal(col->target, "x");
	assert_true(col->case_insensitive);
	assert_int_equal(col->trim, TRIM_BOTH);
	assert_int_equal(col->as, AS_JSON);
	assert_true(col->has_tolerance);
	assert_true(col->tolerance == 0.25);
	assert_string_equal(col->timezone, "Europe/Paris");
	assert_int_equal(col->nmap, 3);
	assert_string_equal(col->map[0].from, "A");
	assert_string_equal(col->map[0].to, "active");
	assert_string_equal(col->map[1].from, "1");
	assert_string_equal(col->map[1].to, "yes");
	assert_string_equal(col->map[2].from, "");
	assert_string_equal(col->map[2].to, "empty");
	assert_int_equal(col->precision, 6);
	assert_int_equal(col->scale, 38);
	assert_pos(col->pos, 14, 9);
	assert_pos(col->opt_pos, 15, 9);
	col = &c->columns[1];
	assert_false(col->case_insensitive);
	assert_int_equal(col->trim, TRIM_RIGHT);
	assert_int_equal(col->as, AS_UUID);
	assert_true(col->has_tolerance);
	assert_true(col->tolerance == 0.0);
	assert_int_equal(col->scale, -1);
	assert_pos(col->opt_pos, 23, 20);
	col = &c->columns[2];
	assert_int_equal(col->as, AS_TEXT);
	assert_int_equal(col->scale, 0);
	assert_false(col->has_tolerance);
	assert_int_equal(c->expect, EXPECT_SUBSET);
	assert_int_equal(c->repair, REPAIR_SOURCE);
	assert_int_equal(c->chunk_rows, 100000000);

	c = &s.checks[1];
	assert_int_equal(c->nkey, 2);
	assert_string_equal(c->key[0], "k1");
	assert_string_equal(c->key[1], "k2");
	assert_true(c->columns_given);
	assert_int_equal(c->ncolumns, 0);
	assert_int_equal(c->nignore, 0);
	assert_int_equal(c->expect, EXPECT_ABSENT);
	assert_int_equal(c->repair, REPAIR_NONE);
	assert_int_equal(c->chunk_rows, 1);

	c = &s.checks[2];
	assert_int_equal(c->nkey, 0);
	assert_pos(c->key_pos, 0, 0);
	assert_false(c->columns_given);
	assert_int_equal(c->ncolumns, 0);
	assert_int_equal(c->expect, EXPECT_EQUAL);
	assert_int_equal(c->repair, REPAIR_TARGET);
	assert_int_equal(c->chunk_rows, 0);
	spec_release(&s);
}

/* Anchors and aliases are followed; positions are the anchored node's. */
static void test_aliases(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"name: n\n"
		"systems:\n"
		"  pg: &sys { driver: postgres, dsn: \"dbname=x\" }\n"
		"  pg2: *sys\n"
		"checks:\n"
		"  - name: c\n"
		"    source: &side { system: pg, table: t }\n"
		"    target: *side\n"
		"    columns: [&col status]\n"
		"    ignore: [other]\n"
		"    key: *col\n";
	struct spec s;

	(void)state;
	load_ok(yaml, &s);
	assert_int_equal(s.nsystems, 2);
	assert_string_equal(s.systems[1].name, "pg2");
	assert_string_equal(s.systems[1].dsn, "dbname=x");
	assert_string_equal(s.checks[0].target.table, "t");
	assert_pos(s.checks[0].target.pos, 8, 19);
	assert_string_equal(s.checks[0].key[0], "status");
	spec_release(&s);
}

static void test_release_zeroed(void **state)
{
	struct spec s;

	(void)state;
	memset(&s, 0, sizeof(s));
	spec_release(&s);
	spec_release(&s);
	spec_release(NULL);
	assert_true(is_zero(&s, sizeof(s)));
}

static void test_enum_names(void **state)
{
	(void)state;
	assert_string_equal(spec_expect_name(EXPECT_EQUAL), "equal");
	assert_string_equal(spec_expect_name(EXPECT_SUBSET), "subset");
	assert_string_equal(spec_expect_name(EXPECT_ABSENT), "absent");
	assert_string_equal(spec_repair_name(REPAIR_TARGET), "target");
	assert_string_equal(spec_repair_name(REPAIR_SOURCE), "source");
	assert_string_equal(spec_repair_name(REPAIR_NONE), "none");
}

/* ---- files ---- */

static void test_missing_file(void **state)
{
	struct tally_err err;
	struct spec s;

	(void)state;
	err_clear(&err);
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(spec_load("/nonexistent/tally/spec.yaml", &s, &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	assert_string_equal(err.msg,
	                    "cannot read spec file '/nonexistent/tally/spec.yaml': "
	                    "No such file or directory");
	assert_true(is_zero(&s, sizeof(s)));
}

static void test_directory_file(void **state)
{
	struct tally_err err;
	struct spec s;

	(void)state;
	err_clear(&err);
	assert_int_equal(spec_load("/", &s, &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	assert_string_equal(err.msg, "cannot read spec file '/': Is a directory");
}

/* Writes text to a new temporary file and returns its path (static). */
static const char *temp_file(const char *text)
{
	static char path[64];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_spec_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

static void test_snapshot_system(void **state)
{
	struct spec s;

	(void)state;
	setenv("TALLY_TEST_SNAP_DIR", "/var/snap", 1);
	load_ok(TOP "systems:\n  snap: { driver: snapshot, path: \"${TALLY_TEST_SNAP_DIR}/orders.snap\" }\n"
	        "  pg: { driver: postgres, dsn: x }\n"
	        "checks:\n  - name: c\n    source: { system: snap, table: orders }\n"
	        "    target: { system: pg, table: orders }\n", &s);
	assert_string_equal(s.systems[0].driver, "snapshot");
	assert_string_equal(s.systems[0].dsn, "/var/snap/orders.snap");
	assert_string_equal(s.systems[0].dsn_shown, "/var/snap/orders.snap");
	spec_release(&s);
	/* the snapshot driver's check_dsn: a path that expands to nothing */
	setenv("TALLY_TEST_SNAP_DIR", "", 1);
	assert_spec_error(TOP "systems:\n  snap: { driver: snapshot, path: \"${TALLY_TEST_SNAP_DIR}\" }\n",
	                  "t.yaml:4:35: systems.snap.path: path is empty after expanding environment variables");
	unsetenv("TALLY_TEST_SNAP_DIR");
}

static void test_load_file(void **state)
{
	const char *path = temp_file(HEAD CHECK);
	struct tally_err err;
	struct spec s;

	(void)state;
	err_clear(&err);
	assert_int_equal(spec_load(path, &s, &err), 0);
	assert_sane_spec(&s);
	assert_string_equal(s.file, path);
	assert_string_equal(s.checks[0].name, "c");
	spec_release(&s);
	unlink(path);
}

static void test_load_file_error_names_path(void **state)
{
	const char *path = temp_file("version: 1\nname: n\nsystem: {}\n");
	char want[256];
	struct tally_err err;
	struct spec s;

	(void)state;
	err_clear(&err);
	assert_int_equal(spec_load(path, &s, &err), -1);
	snprintf(want, sizeof(want),
	         "%s:3:1: unknown key 'system' (expected one of: version, name, reason, "
	         "systems, checks, workflows)", path);
	assert_string_equal(err.msg, want);
	unlink(path);
}

/* libfyaml must not print anything itself: the error goes into err only. */
static void test_yaml_error_is_silent(void **state)
{
	char tmpl[] = "/tmp/test_spec_stderr_XXXXXX";
	int fd = mkstemp(tmpl);
	int saved = dup(2);
	struct stat st;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_true(dup2(fd, 2) >= 0);
	load_err("a: 1\na: 2\n");
	load_err("a: [1, 2\n");
	load_err("");
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(tmpl);
	assert_int_equal(st.st_size, 0);
}

/* ---- yaml-level errors ---- */

ERROR_TEST(test_empty_text, "", "t.yaml:1:1: spec is empty")
ERROR_TEST(test_only_comments, "# nothing\n\n", "t.yaml:1:1: spec is empty")
ERROR_TEST(test_null_document, "~\n", "t.yaml:1:1: spec is empty")
ERROR_TEST(test_top_sequence, "- version: 1\n",
           "t.yaml:1:1: expected a mapping at the top level, got a sequence")
ERROR_TEST(test_top_scalar, "\n  hello\n",
           "t.yaml:2:3: expected a mapping at the top level, got a string")
ERROR_TEST(test_yaml_duplicate_key, "version: 1\nname: a\nversion: 1\n",
           "t.yaml:3:1: invalid yaml: duplicate key 'version'")
/* Duplicate keys are found before anything else is read, as libfyaml did. */
ERROR_TEST(test_yaml_duplicate_key_first, "version: 2\nname: a\n'name': b\n",
           "t.yaml:3:1: invalid yaml: duplicate key 'name'")
ERROR_TEST(test_yaml_duplicate_key_nested, HEAD
           "checks:\n  - name: c\n    source: { system: maria, table: t, \"table\": u }\n",
           "t.yaml:8:40: invalid yaml: duplicate key 'table'")
ERROR_TEST(test_yaml_duplicate_key_in_sequence, HEAD CHECK
           "    columns: [a, { name: b, scale: 1, name: c }]\n",
           "t.yaml:10:39: invalid yaml: duplicate key 'name'")
ERROR_TEST(test_yaml_duplicate_system, HEAD "  pg: { driver: postgres, dsn: y }\n" CHECK,
           "t.yaml:6:3: invalid yaml: duplicate key 'pg'")
/* A dsn that lost its colon is a key: the message must not show its password. */
ERROR_TEST(test_unknown_key_with_dsn_redacted,
           TOP "systems:\n  pg: { driver: postgres, dsn \"postgresql://u:secret@h/db\" }\n" CHECK_PG,
           "t.yaml:4:27: systems.pg: unknown key 'dsn \"postgresql://u:***@h/db\"' "
           "(expected one of: driver, dsn, path, timezone)")
/* Every message masks a uri's password, whatever it quotes: an alias, a column, a path. */
ERROR_TEST(test_unknown_alias_redacted, SYSTEM_PG_ALIAS,
           "t.yaml:4:32: systems.pg.dsn: unknown alias 'postgresql://u:***@h/db'")
ERROR_TEST(test_duplicate_column_redacted, HEAD CHECK "    key: [\"a://u:pw@h\", \"a://u:pw@h\"]\n",
           "t.yaml:10:25: checks[0].key[1]: duplicate column 'a://u:***@h'")
ERROR_TEST(test_map_path_redacted, HEAD CHECK "    columns:\n      - { name: a, map: { \"x://u:pw@h\": } }\n",
           "t.yaml:11:27: checks[0].columns[0].map.x://u:***@h: expected a string, got null")
ERROR_TEST(test_yaml_duplicate_key_redacted,
           "version: 1\npostgresql://u:secret@h/db: 1\n\"postgresql://u:secret@h/db\": 2\n",
           "t.yaml:3:1: invalid yaml: duplicate key 'postgresql://u:***@h/db'")
/* libfyaml 0.7 loops forever on a stray byte after an unknown directive. */
ERROR_TEST(test_yaml_directive_not_utf8, "%A\xf2\n", "t.yaml:1:3: invalid yaml: byte 0xf2 is not UTF-8")
ERROR_TEST(test_yaml_scalar_not_utf8, "version: 1\nname: caf\xe9\n",
           "t.yaml:2:10: invalid yaml: byte 0xe9 is not UTF-8")
ERROR_TEST(test_yaml_surrogate_not_utf8, "version: 1\nname: \xed\xa0\x80\n",
           "t.yaml:2:7: invalid yaml: byte 0xed is not UTF-8")
/* libfyaml 0.7 can crash on NUL bytes; YAML does not allow them anyway. */
static void test_yaml_nul_byte(void **state)
{
	static const char yaml[] = "version: 1\nname: a\0b\n? x\n: \0\n";
	struct tally_err err;
	struct spec s;

	(void)state;
	err_clear(&err);
	assert_int_equal(spec_load_string("t.yaml", yaml, sizeof(yaml) - 1, &s, &err), -1);
	assert_int_equal(err.kind, ERR_SPEC);
	assert_string_equal(err.msg, "t.yaml:2:8: invalid yaml: a NUL byte");
}
/* libfyaml 0.7 crashes freeing its parser after some; no spec key needs one. */
ERROR_TEST(test_yaml_explicit_key, "version: 1\n? name\n: n\n",
           "t.yaml:2:1: invalid yaml: explicit keys ('? ') are not supported")
/* libfyaml 0.7 would read this where clause as note = 'it'''s, silently. */
ERROR_TEST(test_yaml_quote_run, HEAD "checks:\n  - name: c\n"
           "    source: { system: maria, table: t, where: 'note = ''it''''s''' }\n"
           "    target: { system: pg, table: t }\n",
           "t.yaml:8:59: invalid yaml: '''' (two quotes in a row) in a single-quoted string "
           "is mishandled by libfyaml 0.7: use double quotes")
ERROR_TEST(test_yaml_unclosed_flow, "version: 1\nsystems: { a: 1\n",
           "t.yaml:3:1: invalid yaml: missing comma in flow mapping")
ERROR_TEST(test_yaml_bad_indent, "version: 1\nsystems:\n  a: 1\n b: 2\n",
           "t.yaml:4:2: invalid yaml: invalid indentation in mapping")
ERROR_TEST(test_two_documents, "version: 1\n---\nname: n\n",
           "t.yaml:3:1: more than one yaml document")
ERROR_TEST(test_unknown_alias, HEAD CHECK "    key: *nope\n",
           "t.yaml:10:10: checks[0].key: unknown alias 'nope'")
ERROR_TEST(test_duplicate_key_via_alias,
           "version: 1\nname: &k name\n*k : m\n",
           "t.yaml:3:1: duplicate key 'name'")

/* ---- top level ---- */

ERROR_TEST(test_unknown_top_key, "version: 1\nname: n\n\nsytems: {}\n",
           "t.yaml:4:1: unknown key 'sytems' (expected one of: version, name, reason, "
           "systems, checks, workflows)")
ERROR_TEST(test_missing_version, "name: n\n",
           "t.yaml:1:1: missing required key 'version'")
ERROR_TEST(test_missing_name, "version: 1\n",
           "t.yaml:1:1: missing required key 'name'")
ERROR_TEST(test_missing_systems, TOP CHECK,
           "t.yaml:1:1: missing required key 'systems'")
ERROR_TEST(test_missing_checks, HEAD,
           "t.yaml:1:1: missing required key 'checks'")
ERROR_TEST(test_version_2, "version: 2\n",
           "t.yaml:1:10: version: unsupported version '2' (expected 1)")
ERROR_TEST(test_version_huge, "version: 99999999999999999999\n",
           "t.yaml:1:10: version: unsupported version '99999999999999999999' (expected 1)")
ERROR_TEST(test_version_text, "version: one\n",
           "t.yaml:1:10: version: expected an integer, got 'one'")
ERROR_TEST(test_version_float, "version: 1.0\n",
           "t.yaml:1:10: version: expected an integer, got '1.0'")
ERROR_TEST(test_version_null, "version:\nname: n\n",
           "t.yaml:1:1: version: expected an integer, got null")
ERROR_TEST(test_version_tilde, "version: ~\n",
           "t.yaml:1:10: version: expected an integer, got null")
ERROR_TEST(test_name_invalid, "version: 1\nname: Orders Cutover\n",
           "t.yaml:2:7: name: invalid name 'Orders Cutover' (expected [a-z0-9_-]+, "
           "at most 64 characters)")
ERROR_TEST(test_name_too_long,
           "version: 1\nname: "
           "a123456789b123456789c123456789d123456789e123456789f123456789g1234\n",
           "t.yaml:2:7: name: invalid name "
           "'a123456789b123456789c123456789d123456789e123456789f123456789g1234' "
           "(expected [a-z0-9_-]+, at most 64 characters)")
ERROR_TEST(test_name_empty, "version: 1\nname: ''\n",
           "t.yaml:2:7: name: invalid name '' (expected [a-z0-9_-]+, at most 64 characters)")
ERROR_TEST(test_name_null, "version: 1\nname: null\n",
           "t.yaml:2:7: name: expected a string, got null")
ERROR_TEST(test_name_mapping, "version: 1\nname: { a: b }\n",
           "t.yaml:2:7: name: expected a string, got a mapping")
ERROR_TEST(test_reason_sequence, "version: 1\nname: n\nreason: [a]\n",
           "t.yaml:3:9: reason: expected a string, got a sequence")

/* ---- systems ---- */

ERROR_TEST(test_systems_sequence, TOP "systems: [pg]\n",
           "t.yaml:3:10: systems: expected a mapping, got a sequence")
ERROR_TEST(test_systems_empty, TOP "systems: {}\n",
           "t.yaml:3:10: systems: expected at least one system")
ERROR_TEST(test_system_name_invalid,
           TOP "systems:\n  Legacy: { driver: mariadb, dsn: \"mariadb://h/db\" }\n",
           "t.yaml:4:3: systems: invalid name 'Legacy' (expected [a-z0-9_-]+, "
           "at most 64 characters)")
ERROR_TEST(test_system_name_via_alias_duplicate,
           TOP "systems:\n"
           "  &n pg: { driver: postgres, dsn: x }\n"
           "  *n : { driver: postgres, dsn: y }\n",
           "t.yaml:5:3: systems: duplicate system name 'pg'")
ERROR_TEST(test_system_not_mapping, TOP "systems:\n  pg: postgres\n",
           "t.yaml:4:7: systems.pg: expected a mapping, got a string")
ERROR_TEST(test_snapshot_needs_path,
           TOP "systems:\n  snap: { driver: snapshot }\n",
           "t.yaml:4:9: systems.snap: missing required key 'path'")
ERROR_TEST(test_snapshot_takes_no_dsn,
           TOP "systems:\n  snap: { driver: snapshot, dsn: \"postgresql://h/db\", path: x }\n",
           "t.yaml:4:29: systems.snap: a snapshot system takes 'path', not 'dsn'")
ERROR_TEST(test_path_only_for_snapshots,
           TOP "systems:\n  pg: { driver: postgres, dsn: x, path: y }\n",
           "t.yaml:4:35: systems.pg: only a snapshot system takes 'path'")
ERROR_TEST(test_system_unknown_key,
           TOP "systems:\n  pg: { driver: postgres, dsn: x, port: 5432 }\n",
           "t.yaml:4:35: systems.pg: unknown key 'port' (expected one of: driver, dsn, path, timezone)")
ERROR_TEST(test_system_missing_driver, TOP "systems:\n  pg: { dsn: x }\n",
           "t.yaml:4:7: systems.pg: missing required key 'driver'")
ERROR_TEST(test_system_missing_dsn, TOP "systems:\n  pg:\n    driver: postgres\n",
           "t.yaml:5:5: systems.pg: missing required key 'dsn'")
ERROR_TEST(test_system_bad_driver, TOP "systems:\n  pg: { driver: oracle, dsn: x }\n",
           "t.yaml:4:17: systems.pg.driver: invalid value 'oracle' (expected one of: "
           "postgres, mariadb, snapshot, mysql)")
ERROR_TEST(test_system_driver_is_dsn,
           TOP "systems:\n  pg: { driver: \"mariadb://u:secret@h/db\", dsn: x }\n",
           "t.yaml:4:17: systems.pg.driver: invalid value 'mariadb://u:***@h/db' "
           "(expected one of: postgres, mariadb, snapshot, mysql)")
ERROR_TEST(test_system_null_driver, TOP "systems:\n  pg: { driver: , dsn: x }\n",
           "t.yaml:4:9: systems.pg.driver: expected a string, got null")
ERROR_TEST(test_dsn_not_string, TOP "systems:\n  pg: { driver: postgres, dsn: [a] }\n",
           "t.yaml:4:32: systems.pg.dsn: expected a string, got a sequence")
ERROR_TEST(test_dsn_empty, SYSTEM_PG(""),
           "t.yaml:4:32: systems.pg.dsn: expected a non-empty string")
ERROR_TEST(test_dsn_unset_variable, SYSTEM_PG("postgresql://u:${TALLY_TEST_UNSET}@h/db"),
           "t.yaml:4:32: systems.pg.dsn: environment variable 'TALLY_TEST_UNSET' is not set")
ERROR_TEST(test_dsn_unterminated_variable, SYSTEM_PG("postgresql://u:${PW@h/db"),
           "t.yaml:4:32: systems.pg.dsn: unterminated '${'")
ERROR_TEST(test_dsn_invalid_variable, SYSTEM_PG("postgresql://u:${1PW}@h/db"),
           "t.yaml:4:32: systems.pg.dsn: invalid environment variable name after '${'")
ERROR_TEST(test_dsn_postgres_wrong_scheme, SYSTEM_PG("mysql://u:secret@h/db"),
           "t.yaml:4:32: systems.pg.dsn: scheme 'mysql' does not fit driver 'postgres' "
           "(expected postgresql://, postgres:// or key=value pairs)")
ERROR_TEST(test_dsn_postgres_malformed_uri, SYSTEM_PG("u:secret@h://db"),
           "t.yaml:4:32: systems.pg.dsn: malformed uri for driver 'postgres' "
           "(expected postgresql://, postgres:// or key=value pairs)")
ERROR_TEST(test_dsn_mariadb_wrong_scheme, SYSTEM_MARIA("postgresql://u:secret@h/db"),
           "t.yaml:4:31: systems.pg.dsn: scheme 'postgresql' does not fit driver 'mariadb' "
           "(expected mariadb:// or mysql://)")
ERROR_TEST(test_dsn_mariadb_not_uri, SYSTEM_MARIA("host=h password=secret"),
           "t.yaml:4:31: systems.pg.dsn: driver 'mariadb' needs a uri "
           "(expected mariadb:// or mysql://)")

/* ---- checks ---- */

ERROR_TEST(test_checks_empty, HEAD "checks: []\n",
           "t.yaml:6:9: checks: expected at least one check")
ERROR_TEST(test_checks_mapping, HEAD "checks: { c: 1 }\n",
           "t.yaml:6:9: checks: expected a sequence, got a mapping")
ERROR_TEST(test_checks_null, HEAD "checks:\n",
           "t.yaml:6:1: checks: expected a sequence, got null")
ERROR_TEST(test_check_not_mapping, HEAD "checks:\n  - orders\n",
           "t.yaml:7:5: checks[0]: expected a mapping, got a string")
ERROR_TEST(test_check_unknown_key, HEAD CHECK "    colums: [a]\n",
           "t.yaml:10:5: checks[0]: unknown key 'colums' (expected one of: name, source, "
           "target, key, columns, options, ignore, expect, repair, chunk_rows, match, ignore_newer_than, include, exclude, include_views, tables)")
/* ---- ignore_newer_than ---- */

static void test_newer_loads(void **state)
{
	struct spec s;

	(void)state;
	load_ok(HEAD CHECK "    ignore_newer_than: { column: updated_at, age: 10m }\n", &s);
	assert_string_equal(s.checks[0].newer.column, "updated_at");
	assert_string_equal(s.checks[0].newer.age, "10m");
	assert_int_equal(s.checks[0].newer.age_seconds, 600);
	assert_int_equal(s.checks[0].newer.pos.line, 10);
	assert_int_equal(s.checks[0].newer.pos.col, 5);
	assert_int_equal(s.checks[0].newer.column_pos.line, 10);
	assert_int_equal(s.checks[0].newer.column_pos.col, 34);
	assert_true(s.checks[0].given & SPEC_GIVEN_NEWER);
	spec_release(&s);
	load_ok(HEAD CHECK, &s);
	assert_null(s.checks[0].newer.column);
	spec_release(&s);
}

ERROR_TEST(test_newer_unknown_key, HEAD CHECK "    ignore_newer_than: { column: u, agee: 10m }\n",
           "t.yaml:10:37: checks[0].ignore_newer_than: unknown key 'agee' (expected one of: column, age)")
ERROR_TEST(test_newer_bad_age, HEAD CHECK "    ignore_newer_than: { column: u, age: 10 minutes }\n",
           "t.yaml:10:42: checks[0].ignore_newer_than.age: expected a duration like 90s, 10m, 2h or 1d "
           "(above zero, at most 3650d), got '10 minutes'")
ERROR_TEST(test_newer_zero_age, HEAD CHECK "    ignore_newer_than: { column: u, age: 0s }\n",
           "t.yaml:10:42: checks[0].ignore_newer_than.age: expected a duration like 90s, 10m, 2h or 1d "
           "(above zero, at most 3650d), got '0s'")
ERROR_TEST(test_newer_missing_column, HEAD CHECK "    ignore_newer_than: { age: 10m }\n",
           "t.yaml:10:24: checks[0].ignore_newer_than: missing required key 'column'")
ERROR_TEST(test_newer_missing_age, HEAD CHECK "    ignore_newer_than: { column: u }\n",
           "t.yaml:10:24: checks[0].ignore_newer_than: missing required key 'age'")
ERROR_TEST(test_newer_not_mapping, HEAD CHECK "    ignore_newer_than: 10m\n",
           "t.yaml:10:24: checks[0].ignore_newer_than: expected a mapping, got a string")
ERROR_TEST(test_newer_multiset, HEAD CHECK "    match: multiset\n    ignore_newer_than: { column: u, age: 1h }\n",
           "t.yaml:11:5: checks[0].ignore_newer_than: ignore_newer_than decides per key, and match: multiset "
           "has no key: remove one of them")

ERROR_TEST(test_check_match_bad, HEAD CHECK "    match: rows\n",
           "t.yaml:10:12: checks[0].match: invalid value 'rows' (expected one of: key, multiset)")
ERROR_TEST(test_check_multiset_with_key, HEAD CHECK "    key: [id]\n    match: multiset\n",
           "t.yaml:11:12: checks[0].match: match: multiset compares whole rows, without a key: remove key, "
           "or match by it")
ERROR_TEST(test_check_missing_name, HEAD "checks:\n  - source: { system: pg, table: t }\n",
           "t.yaml:7:5: checks[0]: missing required key 'name'")
ERROR_TEST(test_check_missing_source, HEAD "checks:\n  - name: c\n",
           "t.yaml:7:5: checks[0]: missing required key 'source'")
ERROR_TEST(test_check_missing_target,
           HEAD "checks:\n  - name: c\n    source: { system: pg, table: t }\n",
           "t.yaml:7:5: checks[0]: missing required key 'target'")
ERROR_TEST(test_check_name_invalid,
           HEAD "checks:\n  - name: Orders\n    source: {}\n    target: {}\n",
           "t.yaml:7:11: checks[0].name: invalid name 'Orders' (expected [a-z0-9_-]+, "
           "at most 64 characters)")
ERROR_TEST(test_check_name_duplicate, HEAD CHECK
           "  - name: d\n"
           "    source: { system: pg, table: t }\n"
           "    target: { system: pg, table: t }\n"
           "  - name: c\n"
           "    source: { system: pg, table: t }\n"
           "    target: { system: pg, table: t }\n",
           "t.yaml:13:11: checks[2].name: duplicate check name 'c' (already used by checks[0])")
ERROR_TEST(test_side_not_mapping,
           HEAD "checks:\n  - name: c\n    source: [maria, t]\n    target: {}\n",
           "t.yaml:8:13: checks[0].source: expected a mapping, got a sequence")
ERROR_TEST(test_side_null, HEAD "checks:\n  - name: c\n    source:\n    target: {}\n",
           "t.yaml:8:5: checks[0].source: expected a mapping, got null")
ERROR_TEST(test_side_unknown_key,
           HEAD "checks:\n  - name: c\n    source: { system: pg, tabel: t }\n    target: {}\n",
           "t.yaml:8:27: checks[0].source: unknown key 'tabel' (expected one of: system, "
           "table, where, query, schema)")
ERROR_TEST(test_side_missing_system,
           HEAD "checks:\n  - name: c\n    source: { table: t }\n    target: {}\n",
           "t.yaml:8:13: checks[0].source: missing required key 'system'")
ERROR_TEST(test_side_unknown_system,
           HEAD "checks:\n  - name: c\n    source: { system: mysql, table: t }\n"
           "    target: {}\n",
           "t.yaml:8:23: checks[0].source.system: unknown system 'mysql' "
           "(defined: pg, maria)")
ERROR_TEST(test_side_table_and_query,
           HEAD "checks:\n  - name: c\n    source: { system: pg, table: t }\n"
           "    target: { system: pg, table: t, query: select 1 }\n",
           "t.yaml:9:37: checks[0].target: give one of 'table', 'query' or 'schema', not both 'table' and 'query'")
ERROR_TEST(test_side_neither_table_nor_query,
           HEAD "checks:\n  - name: c\n    source: { system: pg, table: t }\n"
           "    target: { system: pg }\n",
           "t.yaml:9:13: checks[0].target: missing key 'table', 'query' or 'schema'")
ERROR_TEST(test_side_where_without_table,
           HEAD "checks:\n  - name: c\n    source: { system: pg, table: t }\n"
           "    target: { system: pg, query: select 1, where: a = 1 }\n",
           "t.yaml:9:44: checks[0].target: 'where' is only allowed together with 'table'")
ERROR_TEST(test_side_empty_table,
           HEAD "checks:\n  - name: c\n"
           "    source: { system: pg, table: \"\" }\n    target: {}\n",
           "t.yaml:8:34: checks[0].source.table: expected a non-empty string")
ERROR_TEST(test_key_empty_sequence, HEAD CHECK "    key: []\n",
           "t.yaml:10:10: checks[0].key: expected at least one column")
ERROR_TEST(test_key_mapping, HEAD CHECK "    key: { id: 1 }\n",
           "t.yaml:10:10: checks[0].key: expected a string or a sequence, got a mapping")
ERROR_TEST(test_key_null, HEAD CHECK "    key:\n",
           "t.yaml:10:5: checks[0].key: expected a string or a sequence, got null")
ERROR_TEST(test_key_duplicate, HEAD CHECK "    key: [id, region, id]\n",
           "t.yaml:10:23: checks[0].key[2]: duplicate column 'id'")
ERROR_TEST(test_key_empty_item, HEAD CHECK "    key: [id, '']\n",
           "t.yaml:10:15: checks[0].key[1]: expected a non-empty string")
ERROR_TEST(test_key_item_not_string, HEAD CHECK "    key: [id, [a]]\n",
           "t.yaml:10:15: checks[0].key[1]: expected a string, got a sequence")
ERROR_TEST(test_expect_invalid, HEAD CHECK "    expect: equals\n",
           "t.yaml:10:13: checks[0].expect: invalid value 'equals' (expected one of: "
           "equal, subset, absent)")
ERROR_TEST(test_repair_invalid, HEAD CHECK "    repair: both\n",
           "t.yaml:10:13: checks[0].repair: invalid value 'both' (expected one of: "
           "target, source, none)")
ERROR_TEST(test_chunk_rows_zero, HEAD CHECK "    chunk_rows: 0\n",
           "t.yaml:10:17: checks[0].chunk_rows: value '0' is out of range "
           "(expected 1 to 100000000)")
ERROR_TEST(test_chunk_rows_too_big, HEAD CHECK "    chunk_rows: 100000001\n",
           "t.yaml:10:17: checks[0].chunk_rows: value '100000001' is out of range "
           "(expected 1 to 100000000)")
ERROR_TEST(test_chunk_rows_overflow, HEAD CHECK "    chunk_rows: 99999999999999999999999\n",
           "t.yaml:10:17: checks[0].chunk_rows: value '99999999999999999999999' is out "
           "of range (expected 1 to 100000000)")
ERROR_TEST(test_chunk_rows_negative, HEAD CHECK "    chunk_rows: -5\n",
           "t.yaml:10:17: checks[0].chunk_rows: value '-5' is out of range "
           "(expected 1 to 100000000)")
ERROR_TEST(test_chunk_rows_not_integer, HEAD CHECK "    chunk_rows: 1e5\n",
           "t.yaml:10:17: checks[0].chunk_rows: expected an integer, got '1e5'")
ERROR_TEST(test_chunk_rows_plus_sign, HEAD CHECK "    chunk_rows: +5\n",
           "t.yaml:10:17: checks[0].chunk_rows: expected an integer, got '+5'")
ERROR_TEST(test_ignore_not_sequence, HEAD CHECK "    ignore: updated_at\n",
           "t.yaml:10:13: checks[0].ignore: expected a sequence, got a string")
ERROR_TEST(test_ignore_duplicate, HEAD CHECK "    ignore: [a, b, a]\n",
           "t.yaml:10:20: checks[0].ignore[2]: duplicate column 'a'")
ERROR_TEST(test_ignore_in_columns, HEAD CHECK
           "    ignore: [x, customer_id]\n"
           "    columns: [a, { source: cust_no, target: customer_id }]\n",
           "t.yaml:10:17: checks[0].ignore[1]: column 'customer_id' is also listed "
           "in columns[1]")

/* ---- columns ---- */

#define COLS HEAD CHECK "    columns:\n"

ERROR_TEST(test_columns_not_sequence, HEAD CHECK "    columns: status\n",
           "t.yaml:10:14: checks[0].columns: expected a sequence, got a string")
ERROR_TEST(test_column_null, COLS "      - a\n      -\n",
           "t.yaml:11:7: checks[0].columns[1]: expected a string or a mapping, got null")
ERROR_TEST(test_column_sequence, COLS "      - [a]\n",
           "t.yaml:11:9: checks[0].columns[0]: expected a string or a mapping, got a sequence")
ERROR_TEST(test_column_empty_name, COLS "      - ''\n",
           "t.yaml:11:9: checks[0].columns[0]: expected a non-empty string")
ERROR_TEST(test_column_unknown_key, COLS "      - { name: a, scael: 2 }\n",
           "t.yaml:11:20: checks[0].columns[0]: unknown key 'scael' (expected one of: "
           "name, source, target, scale, precision, timezone, trim, case, tolerance, "
           "map, as, zero_date)")
ERROR_TEST(test_column_zero_date_bad, COLS "      - { name: a, zero_date: zero }\n",
           "t.yaml:11:31: checks[0].columns[0].zero_date: invalid value 'zero' (expected one of: null, keep)")
ERROR_TEST(test_column_timezone_list, COLS "      - { name: a, timezone: [UTC] }\n",
           "t.yaml:11:30: checks[0].columns[0].timezone: expected a zone name or a mapping of source and "
           "target, got a sequence")
ERROR_TEST(test_column_timezone_empty_map, COLS "      - { name: a, timezone: {} }\n",
           "t.yaml:11:30: checks[0].columns[0].timezone: expected 'source', 'target' or both")
ERROR_TEST(test_column_timezone_unknown_side, COLS "      - { name: a, timezone: { left: UTC } }\n",
           "t.yaml:11:32: checks[0].columns[0].timezone: unknown key 'left' (expected one of: source, target)")
ERROR_TEST(test_column_name_and_source, COLS "      - { source: a, target: b, name: c }\n",
           "t.yaml:11:33: checks[0].columns[0]: give either 'name' or 'source' and "
           "'target', not both")
ERROR_TEST(test_column_source_only, COLS "      - { source: a }\n",
           "t.yaml:11:9: checks[0].columns[0]: missing key 'target' (needed with 'source')")
ERROR_TEST(test_column_target_only, COLS "      - { target: a, scale: 1 }\n",
           "t.yaml:11:9: checks[0].columns[0]: missing key 'source' (needed with 'target')")
ERROR_TEST(test_column_no_name, COLS "      - { scale: 1 }\n",
           "t.yaml:11:9: checks[0].columns[0]: missing key 'name' (or 'source' and 'target')")
ERROR_TEST(test_column_twice_source,
           COLS "      - status\n      - { name: status, trim: right }\n",
           "t.yaml:12:9: checks[0].columns[1]: source column 'status' is already listed "
           "in columns[0]")
ERROR_TEST(test_column_twice_target, COLS
           "      - { source: a, target: t }\n      - x\n      - { source: b, target: t }\n",
           "t.yaml:13:9: checks[0].columns[2]: target column 't' is already listed "
           "in columns[0]")
ERROR_TEST(test_column_scale_range, COLS "      - { name: a, scale: 39 }\n",
           "t.yaml:11:27: checks[0].columns[0].scale: value '39' is out of range "
           "(expected 0 to 38)")
ERROR_TEST(test_column_scale_negative, COLS "      - { name: a, scale: -1 }\n",
           "t.yaml:11:27: checks[0].columns[0].scale: value '-1' is out of range "
           "(expected 0 to 38)")
ERROR_TEST(test_column_scale_text, COLS "      - { name: a, scale: two }\n",
           "t.yaml:11:27: checks[0].columns[0].scale: expected an integer, got 'two'")
ERROR_TEST(test_column_precision_range, COLS "      - { name: a, precision: 7 }\n",
           "t.yaml:11:31: checks[0].columns[0].precision: value '7' is out of range "
           "(expected 0 to 6)")
ERROR_TEST(test_column_precision_null, COLS "      - { name: a, precision: ~ }\n",
           "t.yaml:11:31: checks[0].columns[0].precision: expected an integer, got null")
ERROR_TEST(test_column_timezone_empty, COLS "      - { name: a, timezone: '' }\n",
           "t.yaml:11:30: checks[0].columns[0].timezone: expected a non-empty string")
ERROR_TEST(test_column_trim_invalid, COLS "      - { name: a, trim: left }\n",
           "t.yaml:11:26: checks[0].columns[0].trim: invalid value 'left' (expected one of: "
           "right, both)")
ERROR_TEST(test_column_case_invalid, COLS "      - { name: a, case: upper }\n",
           "t.yaml:11:26: checks[0].columns[0].case: invalid value 'upper' (expected one "
           "of: insensitive, sensitive)")
ERROR_TEST(test_column_tolerance_negative, COLS "      - { name: a, tolerance: -0.5 }\n",
           "t.yaml:11:31: checks[0].columns[0].tolerance: value '-0.5' is out of range "
           "(expected a finite number >= 0)")
ERROR_TEST(test_column_tolerance_infinite, COLS "      - { name: a, tolerance: 1e999 }\n",
           "t.yaml:11:31: checks[0].columns[0].tolerance: value '1e999' is out of range "
           "(expected a finite number >= 0)")
ERROR_TEST(test_column_tolerance_nan, COLS "      - { name: a, tolerance: nan }\n",
           "t.yaml:11:31: checks[0].columns[0].tolerance: value 'nan' is out of range "
           "(expected a finite number >= 0)")
ERROR_TEST(test_column_tolerance_text, COLS "      - { name: a, tolerance: 0.5x }\n",
           "t.yaml:11:31: checks[0].columns[0].tolerance: expected a number, got '0.5x'")
ERROR_TEST(test_column_tolerance_blank, COLS "      - { name: a, tolerance: ' 1' }\n",
           "t.yaml:11:31: checks[0].columns[0].tolerance: expected a number, got ' 1'")
ERROR_TEST(test_column_map_not_mapping, COLS "      - { name: a, map: [a, b] }\n",
           "t.yaml:11:25: checks[0].columns[0].map: expected a mapping, got a sequence")
ERROR_TEST(test_column_map_value_null, COLS "      - { name: a, map: { A: active, I: } }\n",
           "t.yaml:11:38: checks[0].columns[0].map.I: expected a string, got null")
ERROR_TEST(test_column_map_key_not_scalar, COLS "      - { name: a, map: { [a]: b } }\n",
           "t.yaml:11:27: checks[0].columns[0].map: expected a string, got a sequence")
ERROR_TEST(test_column_map_duplicate, COLS
           "      - { name: a, map: { &k A: x, B: y, *k : z } }\n",
           "t.yaml:11:42: checks[0].columns[0].map: duplicate entry 'A'")
ERROR_TEST(test_column_map_duplicate_text, COLS
           "      - { name: a, map: { A: x, B: y, 'A': z } }\n",
           "t.yaml:11:39: invalid yaml: duplicate key 'A'")
ERROR_TEST(test_column_as_invalid, COLS "      - { name: a, as: xml }\n",
           "t.yaml:11:24: checks[0].columns[0].as: invalid value 'xml' (expected one of: "
           "text, json, uuid)")

/* ---- secrets ---- */

/* No error about a dsn may contain its password. */
static void test_dsn_errors_hide_password(void **state)
{
	static const char *const bad[] = {
		SYSTEM_PG("mysql://u:secret@h/db"),
		SYSTEM_PG("u:secret@h://db"),
		SYSTEM_PG("postgresql://u:secret@h/db?x=${TALLY_TEST_UNSET}"),
		SYSTEM_PG("postgresql://u:secret@h/db?x=${"),
		SYSTEM_PG("postgresql://u:secret@h/db?x=${a b}"),
		SYSTEM_MARIA("host=h password=secret"),
		SYSTEM_MARIA("secret"),
		SYSTEM_MARIA("postgres://u:secret@h/db"),
		TOP "systems:\n  pg: { driver: postgres, dsn: \"postgresql://u:secret@h/db }\n",
		TOP "systems:\n"
		"  pg: { driver: postgres, dsn: [\"postgresql://u:secret@h/db\"] }\n",
		/* a dsn pasted where it does not belong is masked when quoted */
		TOP "systems:\n  pg: { driver: \"mysql://u:secret@h/db\", dsn: x }\n",
		TOP "systems:\n  pg: { driver: postgres, \"postgres://u:secret@h\": x }\n",
		TOP "systems:\n  \"u:secret@h\": { driver: postgres, dsn: x }\n",
		TOP "systems:\n  pg: { driver: postgres, dsn: x }\n"
		"checks:\n  - { name: c, source: { system: \"password=secret\", table: t } }\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *msg = load_err(bad[i]);

		if (strstr(msg, "secret"))
			fail_msg("case %zu leaks the password: %s", i, msg);
		assert_true(strncmp(msg, "t.yaml:", 7) == 0);
	}
}

static void test_dsn_from_environment(void **state)
{
	struct spec s;

	(void)state;
	assert_int_equal(setenv("TALLY_TEST_DSN", "host=h password='p w' dbname=d", 1), 0);
	load_ok(SYSTEM_PG("${TALLY_TEST_DSN} application_name=tally$$x"), &s);
	assert_string_equal(s.systems[0].dsn,
	                    "host=h password='p w' dbname=d application_name=tally$x");
	assert_string_equal(s.systems[0].dsn_shown,
	                    "host=h password=*** dbname=d application_name=tally$x");
	spec_release(&s);
	unsetenv("TALLY_TEST_DSN");
}

/* Without "://" a postgres dsn counts as key=value; its user info is still masked. */
static void test_dsn_postgres_without_scheme(void **state)
{
	struct spec s;

	(void)state;
	load_ok(SYSTEM_PG("tally:secret@h:5432/db"), &s);
	assert_string_equal(s.systems[0].dsn, "tally:secret@h:5432/db");
	assert_string_equal(s.systems[0].dsn_shown, "tally:***@h:5432/db");
	spec_release(&s);
}

static void test_dsn_empty_after_expansion(void **state)
{
	(void)state;
	assert_int_equal(setenv("TALLY_TEST_EMPTY", "", 1), 0);
	assert_spec_error(SYSTEM_PG("${TALLY_TEST_EMPTY}"),
	                  "t.yaml:4:32: systems.pg.dsn: dsn is empty after expanding "
	                  "environment variables");
	unsetenv("TALLY_TEST_EMPTY");
}

static void assert_expand(const char *in, const char *want)
{
	struct tally_err err;
	char *out = NULL;

	err_clear(&err);
	if (spec_expand_env(in, &out, &err) != 0)
		fail_msg("expanding '%s': %s", in, err.msg);
	assert_string_equal(out, want);
	free(out);
}

static void assert_expand_fails(const char *in, const char *msg)
{
	static char untouched[] = "untouched";
	struct tally_err err;
	char *out = untouched;

	err_clear(&err);
	assert_int_equal(spec_expand_env(in, &out, &err), -1);
	assert_null(out);
	assert_int_equal(err.kind, ERR_SPEC);
	assert_string_equal(err.msg, msg);
}

static void test_expand_env(void **state)
{
	(void)state;
	assert_int_equal(setenv("TALLY_A", "alpha", 1), 0);
	assert_int_equal(setenv("TALLY_B", "$", 1), 0);
	assert_int_equal(setenv("TALLY_EMPTY", "", 1), 0);
	assert_expand("", "");
	assert_expand("plain", "plain");
	assert_expand("${TALLY_A}", "alpha");
	assert_expand("x${TALLY_A}y${TALLY_A}", "xalphayalpha");
	assert_expand("${TALLY_B}{TALLY_A}", "${TALLY_A}");
	assert_expand("[${TALLY_EMPTY}]", "[]");
	assert_expand("$$", "$");
	assert_expand("$${TALLY_A}", "${TALLY_A}");
	assert_expand("a$b $ c$", "a$b $ c$");
	assert_expand_fails("${TALLY_UNSET_VAR}",
	                    "environment variable 'TALLY_UNSET_VAR' is not set");
	assert_expand_fails("x${TALLY_A", "unterminated '${'");
	assert_expand_fails("${}", "invalid environment variable name after '${'");
	assert_expand_fails("${9A}", "invalid environment variable name after '${'");
	assert_expand_fails("${A-B}", "invalid environment variable name after '${'");
	unsetenv("TALLY_A");
	unsetenv("TALLY_B");
	unsetenv("TALLY_EMPTY");
}

static void assert_redacted(const char *dsn, const char *want)
{
	char *got = spec_redact_dsn(dsn);

	assert_string_equal(got, want);
	free(got);
}

static void test_redact_uri(void **state)
{
	(void)state;
	assert_redacted("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db");
	assert_redacted("postgres://u:secret@h/db", "postgres://u:***@h/db");
	assert_redacted("mariadb://tally:secret@127.0.0.1:3306/legacy",
	                "mariadb://tally:***@127.0.0.1:3306/legacy");
	assert_redacted("mysql://u:secret@h/db?socket=/run/m.sock",
	                "mysql://u:***@h/db?socket=/run/m.sock");
	/* unescaped '@', '/' or '?' in the password are still hidden */
	assert_redacted("mariadb://u:se@c/r?et@h/db", "mariadb://u:***@h/db");
	/* no password: unchanged */
	assert_redacted("postgresql://u@h:5432/db?sslmode=prefer",
	                "postgresql://u@h:5432/db?sslmode=prefer");
	assert_redacted("postgresql://h/db", "postgresql://h/db");
	assert_redacted("postgresql://[::1]:5432/db", "postgresql://[::1]:5432/db");
	assert_redacted("postgresql://u:secret@[::1]:5432/db",
	                "postgresql://u:***@[::1]:5432/db");
	assert_redacted("postgresql://u:@h/db", "postgresql://u:***@h/db");
}

static void test_redact_query(void **state)
{
	(void)state;
	assert_redacted("postgresql://h/db?password=secret",
	                "postgresql://h/db?password=***");
	assert_redacted("postgresql://h/db?password=secret&sslmode=require",
	                "postgresql://h/db?password=***&sslmode=require");
	assert_redacted("postgresql://h/db?sslmode=require&password=secret&x=1",
	                "postgresql://h/db?sslmode=require&password=***&x=1");
	assert_redacted("mariadb://u@h:3306/db?password=se@cret",
	                "mariadb://u@h:3306/db?password=***");
	assert_redacted("postgresql://u:secret@h/db?sslpassword=key2",
	                "postgresql://u:***@h/db?sslpassword=***");
	assert_redacted("postgresql://h/db?application_name=password",
	                "postgresql://h/db?application_name=password");
}

static void test_redact_keyword_value(void **state)
{
	(void)state;
	assert_redacted("password=secret", "password=***");
	assert_redacted("host=h password=secret dbname=d", "host=h password=*** dbname=d");
	assert_redacted("host=h password='sec ret' dbname=d", "host=h password=*** dbname=d");
	assert_redacted("host=h password='it\\'s secret' dbname=d",
	                "host=h password=*** dbname=d");
	assert_redacted("host=h password = secret  dbname=d", "host=h password=***  dbname=d");
	assert_redacted("password=sec\\ ret port=5", "password=*** port=5");
	assert_redacted("password='unterminated secret", "password=***");
	assert_redacted("host=h sslpassword=secret", "host=h sslpassword=***");
	assert_redacted("host=h dbname=password", "host=h dbname=password");
	assert_redacted("host=h application_name='a password=b'",
	                "host=h application_name='a password=b'");
	assert_redacted("dbname=x", "dbname=x");
	assert_redacted("", "");
	/* a uri that lost its scheme is not key=value, but still masked */
	assert_redacted("tally:secret@h:5432/db", "tally:***@h:5432/db");
	assert_redacted("host=h u:se@cret@h2", "host=h u:***@h2");
	assert_redacted("host=h just:words", "host=h just:words");
	/* a uri inside other text: a key=value whose key holds one, an option */
	assert_redacted("drive\"mariadb://u:p%40ss@b?socket=/tmp/s.sock\"",
	                "drive\"mariadb://u:***@b?socket=/tmp/s.sock\"");
	assert_redacted("host=h options='-c x=postgresql://u:pw@h2/db'",
	                "host=h options='-c x=postgresql://u:***@h2/db'");
	assert_redacted("a postgresql://u:pw@h b mariadb://v:pw2@i c",
	                "a postgresql://u:***@h b mariadb://v:***@i c");
	assert_redacted("see http://example.com/a:b", "see http://example.com/a:b");
}

/* Each option's own position, the zone forms, zero_date, map entry positions. */
static void test_column_option_positions(void **state)
{
	const char *yaml = HEAD CHECK
		"    columns:\n"
		"      - name: a\n"
		"        zero_date: null\n"
		"        timezone: { source: Europe/Berlin, target: UTC }\n"
		"        map:\n"
		"          1: open\n"
		"          2: closed\n"
		"      - { name: b, zero_date: keep, timezone: America/New_York, scale: 2 }\n";
	const struct spec_column *col;
	struct spec s;

	(void)state;
	load_ok(yaml, &s);
	col = &s.checks[0].columns[0];
	assert_true(col->zero_null);
	assert_null(col->timezone);
	assert_string_equal(col->tz_side[0], "Europe/Berlin");
	assert_string_equal(col->tz_side[1], "UTC");
	assert_pos(col->optpos[SPEC_OPT_ZERO_DATE], 12, 9);
	assert_pos(col->optpos[SPEC_OPT_TIMEZONE], 13, 9);
	assert_pos(col->optpos[SPEC_OPT_MAP], 14, 9);
	assert_pos(col->optpos[SPEC_OPT_SCALE], 0, 0);
	assert_pos(col->map[0].pos, 15, 11);
	assert_pos(col->map[1].pos, 16, 11);
	assert_pos(col->opt_pos, 12, 9);
	col = &s.checks[0].columns[1];
	assert_false(col->zero_null);
	assert_string_equal(col->timezone, "America/New_York");
	assert_null(col->tz_side[0]);
	assert_pos(col->optpos[SPEC_OPT_ZERO_DATE], 17, 20);
	assert_pos(col->optpos[SPEC_OPT_TIMEZONE], 17, 37);
	assert_pos(col->optpos[SPEC_OPT_SCALE], 17, 65);
	spec_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contract_example),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_release_zeroed),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_directory_file),
		cmocka_unit_test(test_snapshot_system),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_file_error_names_path),
		cmocka_unit_test(test_yaml_error_is_silent),

		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_only_comments),
		cmocka_unit_test(test_null_document),
		cmocka_unit_test(test_top_sequence),
		cmocka_unit_test(test_top_scalar),
		cmocka_unit_test(test_yaml_duplicate_key),
		cmocka_unit_test(test_yaml_duplicate_key_first),
		cmocka_unit_test(test_yaml_duplicate_key_nested),
		cmocka_unit_test(test_yaml_duplicate_key_in_sequence),
		cmocka_unit_test(test_yaml_duplicate_system),
		cmocka_unit_test(test_yaml_duplicate_key_redacted),
		cmocka_unit_test(test_unknown_alias_redacted),
		cmocka_unit_test(test_duplicate_column_redacted),
		cmocka_unit_test(test_map_path_redacted),
		cmocka_unit_test(test_unknown_key_with_dsn_redacted),
		cmocka_unit_test(test_yaml_directive_not_utf8),
		cmocka_unit_test(test_yaml_scalar_not_utf8),
		cmocka_unit_test(test_yaml_surrogate_not_utf8),
		cmocka_unit_test(test_yaml_nul_byte),
		cmocka_unit_test(test_yaml_explicit_key),
		cmocka_unit_test(test_yaml_quote_run),
		cmocka_unit_test(test_yaml_unclosed_flow),
		cmocka_unit_test(test_yaml_bad_indent),
		cmocka_unit_test(test_two_documents),
		cmocka_unit_test(test_unknown_alias),
		cmocka_unit_test(test_duplicate_key_via_alias),

		cmocka_unit_test(test_unknown_top_key),
		cmocka_unit_test(test_missing_version),
		cmocka_unit_test(test_missing_name),
		cmocka_unit_test(test_missing_systems),
		cmocka_unit_test(test_missing_checks),
		cmocka_unit_test(test_version_2),
		cmocka_unit_test(test_version_huge),
		cmocka_unit_test(test_version_text),
		cmocka_unit_test(test_version_float),
		cmocka_unit_test(test_version_null),
		cmocka_unit_test(test_version_tilde),
		cmocka_unit_test(test_name_invalid),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_name_empty),
		cmocka_unit_test(test_name_null),
		cmocka_unit_test(test_name_mapping),
		cmocka_unit_test(test_reason_sequence),

		cmocka_unit_test(test_systems_sequence),
		cmocka_unit_test(test_systems_empty),
		cmocka_unit_test(test_system_name_invalid),
		cmocka_unit_test(test_system_name_via_alias_duplicate),
		cmocka_unit_test(test_system_not_mapping),
		cmocka_unit_test(test_snapshot_needs_path),
		cmocka_unit_test(test_snapshot_takes_no_dsn),
		cmocka_unit_test(test_path_only_for_snapshots),
		cmocka_unit_test(test_system_unknown_key),
		cmocka_unit_test(test_system_missing_driver),
		cmocka_unit_test(test_system_missing_dsn),
		cmocka_unit_test(test_system_bad_driver),
		cmocka_unit_test(test_system_driver_is_dsn),
		cmocka_unit_test(test_system_null_driver),
		cmocka_unit_test(test_dsn_not_string),
		cmocka_unit_test(test_dsn_empty),
		cmocka_unit_test(test_dsn_unset_variable),
		cmocka_unit_test(test_dsn_unterminated_variable),
		cmocka_unit_test(test_dsn_invalid_variable),
		cmocka_unit_test(test_dsn_postgres_wrong_scheme),
		cmocka_unit_test(test_dsn_postgres_malformed_uri),
		cmocka_unit_test(test_dsn_mariadb_wrong_scheme),
		cmocka_unit_test(test_dsn_mariadb_not_uri),

		cmocka_unit_test(test_checks_empty),
		cmocka_unit_test(test_checks_mapping),
		cmocka_unit_test(test_checks_null),
		cmocka_unit_test(test_check_not_mapping),
		cmocka_unit_test(test_check_unknown_key),
		cmocka_unit_test(test_check_missing_name),
		cmocka_unit_test(test_check_missing_source),
		cmocka_unit_test(test_check_missing_target),
		cmocka_unit_test(test_check_name_invalid),
		cmocka_unit_test(test_check_name_duplicate),
		cmocka_unit_test(test_side_not_mapping),
		cmocka_unit_test(test_side_null),
		cmocka_unit_test(test_side_unknown_key),
		cmocka_unit_test(test_side_missing_system),
		cmocka_unit_test(test_side_unknown_system),
		cmocka_unit_test(test_side_table_and_query),
		cmocka_unit_test(test_side_neither_table_nor_query),
		cmocka_unit_test(test_side_where_without_table),
		cmocka_unit_test(test_side_empty_table),
		cmocka_unit_test(test_key_empty_sequence),
		cmocka_unit_test(test_key_mapping),
		cmocka_unit_test(test_key_null),
		cmocka_unit_test(test_key_duplicate),
		cmocka_unit_test(test_key_empty_item),
		cmocka_unit_test(test_key_item_not_string),
		cmocka_unit_test(test_expect_invalid),
		cmocka_unit_test(test_repair_invalid),
		cmocka_unit_test(test_chunk_rows_zero),
		cmocka_unit_test(test_chunk_rows_too_big),
		cmocka_unit_test(test_chunk_rows_overflow),
		cmocka_unit_test(test_chunk_rows_negative),
		cmocka_unit_test(test_chunk_rows_not_integer),
		cmocka_unit_test(test_chunk_rows_plus_sign),
		cmocka_unit_test(test_ignore_not_sequence),
		cmocka_unit_test(test_ignore_duplicate),
		cmocka_unit_test(test_ignore_in_columns),

		cmocka_unit_test(test_columns_not_sequence),
		cmocka_unit_test(test_column_null),
		cmocka_unit_test(test_column_sequence),
		cmocka_unit_test(test_column_empty_name),
		cmocka_unit_test(test_column_unknown_key),
		cmocka_unit_test(test_column_zero_date_bad),
		cmocka_unit_test(test_column_timezone_list),
		cmocka_unit_test(test_column_timezone_empty_map),
		cmocka_unit_test(test_column_timezone_unknown_side),
		cmocka_unit_test(test_column_option_positions),
		cmocka_unit_test(test_newer_loads),
		cmocka_unit_test(test_newer_unknown_key),
		cmocka_unit_test(test_newer_bad_age),
		cmocka_unit_test(test_newer_zero_age),
		cmocka_unit_test(test_newer_missing_column),
		cmocka_unit_test(test_newer_missing_age),
		cmocka_unit_test(test_newer_not_mapping),
		cmocka_unit_test(test_newer_multiset),
		cmocka_unit_test(test_check_match_bad),
		cmocka_unit_test(test_check_multiset_with_key),
		cmocka_unit_test(test_column_name_and_source),
		cmocka_unit_test(test_column_source_only),
		cmocka_unit_test(test_column_target_only),
		cmocka_unit_test(test_column_no_name),
		cmocka_unit_test(test_column_twice_source),
		cmocka_unit_test(test_column_twice_target),
		cmocka_unit_test(test_column_scale_range),
		cmocka_unit_test(test_column_scale_negative),
		cmocka_unit_test(test_column_scale_text),
		cmocka_unit_test(test_column_precision_range),
		cmocka_unit_test(test_column_precision_null),
		cmocka_unit_test(test_column_timezone_empty),
		cmocka_unit_test(test_column_trim_invalid),
		cmocka_unit_test(test_column_case_invalid),
		cmocka_unit_test(test_column_tolerance_negative),
		cmocka_unit_test(test_column_tolerance_infinite),
		cmocka_unit_test(test_column_tolerance_nan),
		cmocka_unit_test(test_column_tolerance_text),
		cmocka_unit_test(test_column_tolerance_blank),
		cmocka_unit_test(test_column_map_not_mapping),
		cmocka_unit_test(test_column_map_value_null),
		cmocka_unit_test(test_column_map_key_not_scalar),
		cmocka_unit_test(test_column_map_duplicate),
		cmocka_unit_test(test_column_map_duplicate_text),
		cmocka_unit_test(test_column_as_invalid),

		cmocka_unit_test(test_dsn_errors_hide_password),
		cmocka_unit_test(test_dsn_from_environment),
		cmocka_unit_test(test_dsn_postgres_without_scheme),
		cmocka_unit_test(test_dsn_empty_after_expansion),
		cmocka_unit_test(test_expand_env),
		cmocka_unit_test(test_redact_uri),
		cmocka_unit_test(test_redact_query),
		cmocka_unit_test(test_redact_keyword_value),
	};

	/* the tests rely on these being unset */
	unsetenv("TALLY_TEST_UNSET");
	unsetenv("TALLY_UNSET_VAR");
	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
