/*
 * tests/integration/test_conn_mariadb.c
 *   Integration tests of connectors/mariadb/ against the MariaDB server of
 *   scripts/servers.sh. The TALLY_MY_* variables of DIR/env must be exported;
 *   without them every test that needs the server fails (none skips).
 *
 *   The group setup seeds the database tally_test_conn_my as the admin user
 *   through libmariadb directly; the tests connect through mariadb_ops as the
 *   SELECT-only user and assert exact descriptions, exact streamed bytes, key
 *   order and messages; bounded scans, the EXPLAIN of what they send, and
 *   chunk planning on tables of about 200k rows.
 *
 *   What any connector test needs (the environment, the sessions left
 *   open, scans by column name, row and description assertions) is
 *   conn_common.h's; this file keeps what is MariaDB's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "connectors/connector.h"
#include "conn_common.h"

#define DB "tally_test_conn_my"
#define BIG_ROWS 200000
#define SOCK_USER "tally_sock_test"
#define SOCK_PASSWORD "p@ss:w/rd%"          /* percent-encoded in its dsn */
#define SOCK_PASSWORD_ENC "p%40ss%3Aw%2Frd%25"

extern const struct conn_ops mariadb_ops;

static struct {
	const char *host, *port, *socket, *admin_user, *admin_password, *user, *password;
	char problem[512];      /* why the environment is unusable, "" when fine */
} env;

static MYSQL *admin;
static struct cc_live live;      /* closed by the teardown: see conn_common.h */

/* Short forms of expected values for the tables below. */
#define V(lit) CC_V(lit)
#define VNULL CC_NULL

static MYSQL *guard_ddl;     /* test_guard's second admin connection, closed here too */

static void close_all(void)
{
	if (guard_ddl) {
		mysql_close(guard_ddl);
		guard_ddl = NULL;
	}
	cc_live_close_all(&live);
}

/* The session c, open or NULL, closed and no longer live. */
static void close_conn(struct conn *c)
{
	cc_live_close(&live, c);
}

/* ---- helpers ------------------------------------------------------------- */

static void admin_sql(const char *sql)
{
	if (mysql_query(admin, sql) != 0)
		fail_msg("admin query failed: %s\n  %s", mysql_error(admin), sql);
	if (mysql_field_count(admin) > 0) {
		MYSQL_RES *r = mysql_store_result(admin);

		if (r)
			mysql_free_result(r);
	}
}

/* The first column of the first row of an admin query, in a static buffer. */
static const char *admin_value(const char *sql)
{
	static char out[256];
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;

	if (mysql_query(admin, sql) != 0 || !(r = mysql_store_result(admin)))
		fail_msg("admin query failed: %s\n  %s", mysql_error(admin), sql);
	row = mysql_fetch_row(r);
	snprintf(out, sizeof(out), "%s", row && row[0] ? row[0] : "(null)");
	mysql_free_result(r);
	return out;
}

struct dsnpair {
	char dsn[1024];
	char shown[1024];
};

static void make_dsn(struct dsnpair *p, const char *user, const char *password,
                     const char *hostport, const char *tail)
{
	snprintf(p->dsn, sizeof(p->dsn), "mariadb://%s:%s@%s/%s", user, password, hostport, tail);
	snprintf(p->shown, sizeof(p->shown), "mariadb://%s:***@%s/%s", user, hostport, tail);
}

static int try_open(struct conn **c, const char *dsn, const char *shown, const char *side,
                    struct tally_err *err)
{
	struct conn_cfg cfg = {
		.system = "legacy", .side = side, .dsn = dsn, .dsn_shown = shown,
		.connect_timeout = 5,
	};

	int rc;

	err_clear(err);
	rc = mariadb_ops.open(c, &cfg, err);
	if (rc == 0)
		cc_live_add(&live, *c);
	return rc;
}

static struct conn *open_tally(void)
{
	struct dsnpair p;
	char hostport[128];
	struct conn *c = NULL;
	struct tally_err err;

	cc_require(env.problem);
	snprintf(hostport, sizeof(hostport), "%s:%s", env.host, env.port);
	make_dsn(&p, env.user, env.password, hostport, DB);
	if (try_open(&c, p.dsn, p.shown, "source", &err) < 0)
		fail_msg("open: %s / %s", err.msg, err.detail);
	return c;
}

struct expcol {
	const char *name, *native;
	enum ltype type;
	int bits;
	bool uns, boolh, fixed, nullable, generated;
	int precision, scale, fsp;
	long length;
	const char *charset, *collation;
	const char *labels[6];  /* NULL-terminated */
};

static void assert_str_or_null(const char *got, const char *want, const char *what,
                               const char *col)
{
	if (!want && !got)
		return;
	if (!want || !got || strcmp(want, got) != 0)
		fail_msg("column %s: %s is '%s', expected '%s'", col, what, got ? got : "(null)",
		         want ? want : "(null)");
}

static void assert_cols(const struct tabdesc *t, const struct expcol *exp, size_t n)
{
	cc_assert_sane_tabdesc(t);
	assert_int_equal(t->ncols, n);
	for (size_t i = 0; i < n; i++) {
		const struct coldesc *c = &t->cols[i];
		const struct expcol *e = &exp[i];
		size_t nl = 0;

		assert_string_equal(c->name, e->name);
		assert_str_or_null(c->native, e->native, "native", e->name);
		if (c->type != e->type)
			fail_msg("column %s: type %s, expected %s", e->name, ltype_name(c->type),
			         ltype_name(e->type));
		if (c->bits != e->bits || c->is_unsigned != e->uns || c->bool_hint != e->boolh ||
		    c->fixed != e->fixed || c->nullable != e->nullable ||
		    c->generated != e->generated || c->precision != e->precision ||
		    c->scale != e->scale || c->fsp != e->fsp || c->length != e->length)
			fail_msg("column %s: bits %d uns %d bool %d fixed %d null %d gen %d p %d s %d "
			         "fsp %d len %ld; expected %d %d %d %d %d %d %d %d %d %ld", e->name,
			         c->bits, c->is_unsigned, c->bool_hint, c->fixed, c->nullable,
			         c->generated, c->precision, c->scale, c->fsp, c->length, e->bits,
			         e->uns, e->boolh, e->fixed, e->nullable, e->generated, e->precision,
			         e->scale, e->fsp, e->length);
		assert_str_or_null(c->charset, e->charset, "charset", e->name);
		assert_str_or_null(c->collation, e->collation, "collation", e->name);
		while (e->labels[nl])
			nl++;
		if (c->nlabels != nl)
			fail_msg("column %s: %zu labels, expected %zu", e->name, c->nlabels, nl);
		for (size_t j = 0; j < nl; j++)
			assert_string_equal(c->labels[j], e->labels[j]);
	}
}

/* ---- seed ------------------------------------------------------------------- */

static const char *const seed_sql[] = {
	"SET SESSION sql_mode = ''",         /* zero dates, '' enum */
	"SET SESSION lock_wait_timeout = 30",
	"SET time_zone = '+00:00'",
	"DROP DATABASE IF EXISTS " DB,
	"CREATE DATABASE " DB " CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
	"USE " DB,
	"CREATE TABLE types ("
	" id INT NOT NULL PRIMARY KEY,"
	" i8 TINYINT, b1 TINYINT(1), b1u TINYINT(1) UNSIGNED, i16 SMALLINT,"
	" u24 MEDIUMINT UNSIGNED, i32 INT, i64 BIGINT, u64 BIGINT UNSIGNED,"
	" d10 DECIMAL(10,2), du DECIMAL(5,0) UNSIGNED, f FLOAT, d DOUBLE,"
	" c5 CHAR(5), vc VARCHAR(20), l1 VARCHAR(10) CHARACTER SET latin1,"
	" tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT,"
	" bn BINARY(4), vb VARBINARY(10), bl BLOB,"
	" dt DATE, tm TIME, tm6 TIME(6), dtm DATETIME, dtm6 DATETIME(6),"
	" ts TIMESTAMP NULL, ts3 TIMESTAMP(3) NULL, y YEAR,"
	" e ENUM('small','it''s','back\\\\slash',''), st SET('x','y','z'),"
	" bt BIT(1), bt10 BIT(10), u UUID, i4 INET4, i6 INET6, j JSON, g POINT,"
	" gv INT AS (i16 + 1) VIRTUAL, gs VARCHAR(30) AS (CONCAT(vc, '!')) STORED)",
	"INSERT INTO types (id, i8, b1, b1u, i16, u24, i32, i64, u64, d10, du, f, d,"
	" c5, vc, l1, tt, tx, mt, lt, bn, vb, bl, dt, tm, tm6, dtm, dtm6, ts, ts3, y,"
	" e, st, bt, bt10, u, i4, i6, j, g) VALUES"
	" (1, -128, 1, 0, -32768, 16777215, -2147483648, -9223372036854775808,"
	"  18446744073709551615, 1.50, 99999, 0.1, 0.1e0 + 0.2e0,"
	"  'ab  ', CONVERT(X'6109620a635c642765226620' USING utf8mb4), 'Äß',"
	"  'x', 'trailing  ', 'mid\\r\\n', 'long', X'0100', X'00ff0000', X'000102',"
	"  '2024-02-29', '-838:59:59', '-00:00:01.25', '2024-01-02 03:04:05',"
	"  '2024-01-02 03:04:05.123456', '2038-01-19 03:14:07', '1970-01-01 00:00:01.5',"
	"  2024, 'it''s', 'z,x', b'1', b'1000000001', '123E4567-E89B-12D3-A456-426614174000',"
	"  '192.168.0.1', '2001:DB8::1', '{\"a\": [1, 2.50, \"x\"]}', POINT(1, 2)),"
	" (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
	" (3, 127, 0, 1, 32767, 0, 2147483647, 9223372036854775807, 0, -0.01, 0,"
	"  3.4e38, -1e300, '', '', '', '', '', '', '', X'', X'', X'', '0000-00-00',"
	"  '00:00:00', '838:59:59.999999', '0000-00-00 00:00:00',"
	"  '9999-12-31 23:59:59.999999', '0000-00-00 00:00:00', NULL, 0, '', '', b'0',"
	"  b'0000000000', '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::', '[]', NULL)",

	/* no primary key; a utf8mb4_general_ci and a latin1 key that can hold 'a' and 'a ' */
	"CREATE TABLE words (id INT NOT NULL,"
	" w VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci,"
	" wl VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci, KEY (w))",
	"INSERT INTO words VALUES (1, 'Äpfel', 'Äpfel'), (2, 'apple', 'apple'),"
	" (3, 'Zebra', 'Zebra'), (4, 'éclair', 'éclair'), (5, 'ß', 'ß'), (6, 'a', 'a'),"
	" (7, 'a ', 'a '), (8, 'a\\t', 'a\\t'), (9, NULL, NULL)",

	/* a utf8mb4_general_ci primary key */
	"CREATE TABLE ci_pk (k VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY,"
	" v INT)",
	"INSERT INTO ci_pk VALUES ('Äpfel', 1), ('apple', 2), ('Zebra', 3), ('éclair', 4),"
	" ('ß', 5), ('a', 6), ('a\\t', 7), ('B', 8)",

	/* a composite primary key in another order than the columns */
	"CREATE TABLE comp (a INT NOT NULL, b VARCHAR(10) COLLATE utf8mb4_bin NOT NULL, c INT,"
	" PRIMARY KEY (b, a))",
	"INSERT INTO comp VALUES (2, 'x', 20), (1, 'x', 10), (3, 'a', 30), (1, 'B', 40),"
	" (1, 'b', 50)",

	/* an enum key: index order zeta, alpha, Mid; label order Mid, alpha, zeta */
	"CREATE TABLE ek (e ENUM('zeta','alpha','Mid') NOT NULL PRIMARY KEY, n INT)",
	"INSERT INTO ek VALUES ('alpha', 2), ('Mid', 3), ('zeta', 1)",

	"CREATE TABLE Orders (id INT NOT NULL PRIMARY KEY, note VARCHAR(10))",
	"INSERT INTO Orders VALUES (1, 'one')",

	"CREATE TABLE snap (id INT NOT NULL PRIMARY KEY)",
	"INSERT INTO snap VALUES (1)",

	"CREATE TABLE big (id INT NOT NULL PRIMARY KEY, pad VARCHAR(255) NOT NULL)",
	"INSERT INTO big SELECT seq, REPEAT('x', 200) FROM seq_1_to_200000",

	/* foreign keys: composite (in another order than the parent's key), self, cascading */
	"CREATE TABLE fk_parent (a INT NOT NULL, b VARCHAR(10) NOT NULL, PRIMARY KEY (a, b),"
	" KEY (b, a))",
	"CREATE TABLE fk_child (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, pa INT, pb VARCHAR(10),"
	" parent_id INT, note VARCHAR(10) NOT NULL DEFAULT 'x''y', req INT NOT NULL,"
	" ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, ts2 TIMESTAMP NULL, n INT,"
	" gen INT AS (req + 1) VIRTUAL,"
	" CONSTRAINT fk_comp FOREIGN KEY (pb, pa) REFERENCES fk_parent (b, a)"
	"  ON DELETE CASCADE ON UPDATE SET NULL,"
	" CONSTRAINT fk_self FOREIGN KEY (parent_id) REFERENCES fk_child (id))",
	"CREATE TABLE fk_grandchild (id INT NOT NULL PRIMARY KEY, child_id INT,"
	" CONSTRAINT `fk_g``q` FOREIGN KEY (child_id) REFERENCES fk_child (id)"
	"  ON DELETE SET NULL ON UPDATE CASCADE)",
	"CREATE TRIGGER trg_b BEFORE INSERT ON fk_child FOR EACH ROW SET NEW.n = 1",
	"CREATE TRIGGER trg_a AFTER DELETE ON fk_child FOR EACH ROW SET @tally_x = 1",
	"CREATE TRIGGER `trg_c``u` AFTER UPDATE ON fk_child FOR EACH ROW SET @tally_x = 2",

	/* every type the driver maps, for literals that must read back exactly */
	"CREATE TABLE lit_rt (k INT NOT NULL PRIMARY KEY,"
	" b1 TINYINT(1), iu INT UNSIGNED, u64 BIGINT UNSIGNED, d12 DECIMAL(12,2), f FLOAT,"
	" d DOUBLE, c5 CHAR(5), vc VARCHAR(200), tx TEXT, l1 VARCHAR(50) CHARACTER SET latin1,"
	" bn BINARY(4), vb VARBINARY(20), bl BLOB, dt DATE, tm6 TIME(6), dtm DATETIME,"
	" dtm6 DATETIME(6), ts3 TIMESTAMP(3) NULL, y YEAR, e ENUM('small','it''s','back\\\\slash',''),"
	" st SET('x','y','z'), bt10 BIT(10), u UUID, j JSON, `we``ird` VARCHAR(100), g POINT)",

	/* the target of repair scripts: names with a backtick, a quote and a backslash */
	"CREATE TABLE `rep``a'i\\r` (`k``ey` INT NOT NULL,"
	" code VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL,"
	" name VARCHAR(100) COLLATE utf8mb4_general_ci, qty INT, price DOUBLE, raw VARBINARY(8),"
	" PRIMARY KEY (`k``ey`, code))",

	/* range bounds: an integer key with a gap, keys of other types and collations */
	"CREATE TABLE rng (id INT NOT NULL PRIMARY KEY, v VARCHAR(10))",
	"INSERT INTO rng SELECT seq, CONCAT('v', seq) FROM seq_1_to_20 WHERE seq <> 7",
	"CREATE TABLE l1_pk (k VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci"
	" NOT NULL PRIMARY KEY)",
	"INSERT INTO l1_pk VALUES ('apple'), ('Zebra'), ('Äpfel'), ('ß'), ('a')",
	"CREATE TABLE l1_big (k VARCHAR(20) CHARACTER SET latin1 NOT NULL PRIMARY KEY, n INT)",
	"INSERT INTO l1_big SELECT CONCAT(ELT(seq % 4 + 1, 'a', 'B', 'ä', 'Z'), seq), seq"
	" FROM seq_1_to_5000",
	"CREATE TABLE m3_big (k VARCHAR(20) CHARACTER SET utf8mb3 NOT NULL PRIMARY KEY, n INT)",
	"INSERT INTO m3_big SELECT k, n FROM l1_big",
	"CREATE TABLE dtk (dt DATETIME NOT NULL PRIMARY KEY)",
	"INSERT INTO dtk VALUES ('2024-01-01 00:00:00'), ('2024-01-01 00:00:01'),"
	" ('2024-01-01 00:00:02'), ('9999-12-31 23:59:59'), ('0000-00-00 00:00:00')",
	"CREATE TABLE yk (y YEAR NOT NULL PRIMARY KEY)",
	"INSERT INTO yk VALUES (0), (1901), (1999), (2000), (2005), (2155)",
	"CREATE TABLE uk (u UUID NOT NULL PRIMARY KEY)",
	"INSERT INTO uk VALUES ('00000002-0000-1000-8000-000000000000'),"
	" ('00000001-0001-1000-8000-000000000000'), ('00000003-0000-0000-0000-000000000000')",
	"CREATE TABLE bk (b BIT(10) NOT NULL PRIMARY KEY)",
	"INSERT INTO bk VALUES (b'1'), (b'11'), (b'1000000001'), (b'1111111111')",

	/* how each collation orders the same values */
	"CREATE TABLE colls (id INT NOT NULL PRIMARY KEY,"
	" np VARCHAR(5) COLLATE utf8mb4_nopad_bin, pb VARCHAR(5) COLLATE utf8mb4_bin,"
	" cn CHAR(5) COLLATE utf8mb4_nopad_bin, m3 VARCHAR(5) CHARACTER SET utf8mb3"
	" COLLATE utf8mb3_nopad_bin, l1 VARCHAR(5) CHARACTER SET latin1 COLLATE latin1_nopad_bin,"
	" l1b VARCHAR(5) CHARACTER SET latin1 COLLATE latin1_bin,"
	" an VARCHAR(5) CHARACTER SET ascii COLLATE ascii_nopad_bin,"
	" tn TEXT COLLATE utf8mb4_nopad_bin, gc VARCHAR(5) COLLATE utf8mb4_general_ci)",
	"INSERT INTO colls (id, np, pb, cn, m3, l1) VALUES (1, '', '', '', '', ''),"
	" (2, '\\t', '\\t', '\\t', '\\t', '\\t'), (3, 'a', 'a', 'a', 'a', 'a'),"
	" (4, 'a\\t', 'a\\t', 'a\\t', 'a\\t', 'a\\t'), (5, 'a!', 'a!', 'a!', 'a!', 'a!'),"
	" (6, 'é', 'é', 'é', 'é', 'é'), (7, '€', '€', '€', '€', '€')",

	/*
	 * Chunk planning, about 200k rows each: an integer key with 90% of its
	 * rows in 0.4% of its range, a utf8mb4_general_ci text key, a
	 * (varchar, int) key, an (int, int) key whose first column has three
	 * values, and a DATETIME(6) key.
	 */
	"CREATE TABLE pb_skew (id BIGINT NOT NULL PRIMARY KEY, pad CHAR(20) NOT NULL DEFAULT '')",
	"INSERT INTO pb_skew (id) SELECT seq * 5000 FROM seq_1_to_20000",
	"INSERT INTO pb_skew (id) SELECT 50000001 + seq * 2 FROM seq_1_to_180000",
	"CREATE TABLE pb_text (k VARCHAR(40) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY,"
	" n INT NOT NULL)",
	"INSERT INTO pb_text SELECT CONCAT(ELT(seq % 4 + 1, 'a', 'B', 'ä', 'Z'), MD5(seq)), seq"
	" FROM seq_1_to_200000",
	"CREATE TABLE pb_comp (g VARCHAR(10) NOT NULL, n INT NOT NULL, pad CHAR(20) NOT NULL"
	" DEFAULT '', PRIMARY KEY (g, n))",
	"INSERT INTO pb_comp (g, n) SELECT CONCAT('g', seq % 7), seq FROM seq_1_to_200000",
	"CREATE TABLE pb_heavy (t INT NOT NULL, n INT NOT NULL, PRIMARY KEY (t, n))",
	"INSERT INTO pb_heavy SELECT seq % 3, seq FROM seq_1_to_200000",
	"CREATE TABLE pb_dt (ts DATETIME(6) NOT NULL PRIMARY KEY, n INT NOT NULL)",
	"INSERT INTO pb_dt SELECT TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq * 37 SECOND"
	" + INTERVAL seq % 1000 MICROSECOND, seq FROM seq_1_to_200000",
	/* a DATE key with zero dates: the zero one sorts first, '2001-00-00' among 2001 */
	"CREATE TABLE pb_date (d DATE NOT NULL PRIMARY KEY)",
	"INSERT INTO pb_date SELECT DATE'2000-01-01' + INTERVAL seq DAY FROM seq_0_to_999",
	"INSERT INTO pb_date VALUES ('0000-00-00'), ('2001-00-00')",
	"ANALYZE TABLE rng, ci_pk, ek, big, pb_skew, pb_text, pb_comp, pb_heavy, pb_dt, pb_date",

	/* a function that writes, run with its definer's rights */
	"CREATE TABLE ro_probe (n INT)",
	"CREATE FUNCTION ro_write() RETURNS INT MODIFIES SQL DATA"
	" BEGIN INSERT INTO " DB ".ro_probe VALUES (1); RETURN 1; END",
};

static int group_setup(void **state)
{
	static const char *const names[] = {
		"TALLY_MY_HOST", "TALLY_MY_PORT", "TALLY_MY_SOCKET", "TALLY_MY_ADMIN_USER",
		"TALLY_MY_ADMIN_PASSWORD", "TALLY_MY_USER", "TALLY_MY_PASSWORD",
	};
	const char **const slots[] = {
		&env.host, &env.port, &env.socket, &env.admin_user, &env.admin_password,
		&env.user, &env.password,
	};
	char sql[512], host[128];

	(void)state;
	if (!cc_env_read(names, slots, sizeof(names) / sizeof(names[0]), env.problem,
	                    sizeof(env.problem)))
		return 0;  /* every test then fails with this message */
	admin = mysql_init(NULL);
	mysql_options(admin, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(admin, env.host, env.admin_user, env.admin_password, NULL,
	                        (unsigned int)strtoul(env.port, NULL, 10), NULL, 0)) {
		snprintf(env.problem, sizeof(env.problem), "cannot connect as %s to %s:%s: %s",
		         env.admin_user, env.host, env.port, mysql_error(admin));
		return 0;
	}
	for (size_t i = 0; i < sizeof(seed_sql) / sizeof(seed_sql[0]); i++) {
		if (mysql_query(admin, seed_sql[i]) != 0) {
			snprintf(env.problem, sizeof(env.problem), "seeding failed: %s (statement %zu)",
			         mysql_error(admin), i);
			return 0;
		}
		if (mysql_field_count(admin) > 0)      /* ANALYZE TABLE answers with rows */
			mysql_free_result(mysql_store_result(admin));
	}
	/* the SELECT-only user may run the writing function: only READ ONLY can stop it */
	snprintf(sql, sizeof(sql), "SELECT Host FROM mysql.user WHERE User = '%s'", env.user);
	snprintf(host, sizeof(host), "%s", admin_value(sql));
	snprintf(sql, sizeof(sql), "GRANT EXECUTE ON FUNCTION " DB ".ro_write TO '%s'@'%s'",
	         env.user, host);
	admin_sql(sql);
	admin_sql("DROP USER IF EXISTS '" SOCK_USER "'@'localhost'");
	admin_sql("CREATE USER '" SOCK_USER "'@'localhost' IDENTIFIED BY '" SOCK_PASSWORD "'");
	admin_sql("GRANT SELECT ON " DB ".* TO '" SOCK_USER "'@'localhost'");
	/* information_schema shows triggers only to a user with this privilege */
	admin_sql("GRANT TRIGGER ON " DB ".fk_child TO '" SOCK_USER "'@'localhost'");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	close_all();
	if (admin) {
		/* TALLY_TEST_KEEP_DB=1 keeps the seeded database for a look after a failure */
		if (!env.problem[0] && !getenv("TALLY_TEST_KEEP_DB")) {
			(void)mysql_query(admin, "DROP USER IF EXISTS '" SOCK_USER "'@'localhost'");
			(void)mysql_query(admin, "DROP DATABASE IF EXISTS " DB);
		}
		mysql_close(admin);
	}
	mysql_library_end();
	return 0;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_registry_and_quote_ident(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_ptr_equal(conn_driver("mariadb"), &mariadb_ops);
	assert_string_equal(mariadb_ops.driver, "mariadb");
	assert_string_equal(mariadb_ops.dialect, "mariadb");
	assert_non_null(mariadb_ops.bound_literal);
	assert_non_null(mariadb_ops.order_is_bytewise);
	assert_non_null(mariadb_ops.plan_bounds);
	assert_non_null(mariadb_ops.position);
	assert_non_null(mariadb_ops.load);
	assert_null(mariadb_ops.export_txsnap);     /* each session has its own */
	mariadb_ops.quote_ident(&b, "plain");
	buf_addch(&b, ' ');
	mariadb_ops.quote_ident(&b, "we`ird``");
	buf_addch(&b, ' ');
	mariadb_ops.quote_ident(&b, "Äpfel \"x\"");
	assert_string_equal(b.data, "`plain` `we``ird````` `Äpfel \"x\"`");
	buf_release(&b);
	mariadb_ops.close(NULL);   /* accepts NULL */
}

/*
 * The session: snapshot open, UTC, utf8mb4, REPEATABLE READ; no statement
 * limit asked, so the server's (none) stays, and the server waits an hour
 * for a client that stops reading (net_write_timeout), while
 * net_read_timeout stays the server's.
 */
static void test_session(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;
	const char *q = "SELECT @@in_transaction AS t, @@time_zone AS tz,"
	                " @@net_write_timeout AS nw, @@net_read_timeout AS nr,"
	                " @@tx_isolation AS iso, @@character_set_client AS cs,"
	                " @@character_set_results AS cr, @@max_statement_time AS mst,"
	                " CONNECTION_ID() = @@pseudo_thread_id AS same ;  \n";
	const struct cc_val exp[] = {
		V("1"), V("+00:00"), V("3600"), V("30"), V("REPEATABLE-READ"), V("utf8mb4"),
		V("utf8mb4"), V("0.000000"), V("1"),
	};
	char pid[32];

	(void)state;
	assert_ptr_equal(c->ops, &mariadb_ops);
	assert_string_equal(c->system, "legacy");
	assert_string_equal(c->side, "source");
	assert_non_null(c->server_version);
	assert_true(strncmp(c->server_version, "MariaDB 10.", 11) == 0);
	assert_null(strchr(c->server_version, '-'));
	assert_true(c->backend_pid > 0);
	assert_false(c->failed);

	cc_describe_query_ok(c, q, &t);
	cc_scan_init(&s, &t, NULL, q, NULL, "*", NULL);
	cc_scan_check(c, &s, exp, 1);
	tabdesc_release(&t);

	/* backend_pid is the server's connection id */
	snprintf(pid, sizeof(pid), "%ld", c->backend_pid);
	cc_describe_query_ok(c, "SELECT CONNECTION_ID() AS id", &t);
	cc_scan_init(&s, &t, NULL, "SELECT CONNECTION_ID() AS id", NULL, "*", NULL);
	{
		const struct cc_val e[] = { { pid, strlen(pid) } };

		cc_scan_check(c, &s, e, 1);
	}
	tabdesc_release(&t);
	close_conn(c);
}

/* ---- guard: limits, metadata locks, stamps, the watch ------------------- */

static struct conn *open_cfg(struct conn_cfg *cfg, struct tally_err *err)
{
	struct dsnpair p;
	char hostport[128];
	struct conn *c = NULL;

	cc_require(env.problem);
	snprintf(hostport, sizeof(hostport), "%s:%s", env.host, env.port);
	make_dsn(&p, env.user, env.password, hostport, DB);
	cfg->system = "legacy";
	cfg->side = cfg->monitor ? "monitor" : "source";
	cfg->dsn = p.dsn;
	cfg->dsn_shown = p.shown;
	cfg->connect_timeout = 5;
	err_clear(err);
	if (mariadb_ops.open(&c, cfg, err) < 0)
		return NULL;
	cc_live_add(&live, c);
	return c;
}

static MYSQL *admin_connect2(void)
{
	MYSQL *m = mysql_init(NULL);

	if (!mysql_real_connect(m, env.host, env.admin_user, env.admin_password, DB,
	                        (unsigned int)strtoul(env.port, NULL, 10), NULL, 0))
		fail_msg("cannot connect as admin: %s", mysql_error(m));
	return m;
}

static const char *stamp_of(struct conn *mon, const char *table)
{
	static char out[128];
	struct tally_err err;
	char *s = NULL;

	if (mon->ops->table_stamp(mon, table, &s, &err) < 0)
		fail_msg("table_stamp(%s): %s / %s", table, err.msg, err.detail);
	snprintf(out, sizeof(out), "%s", s ? s : "(none)");
	free(s);
	return out;
}

/*
 * A session opened with locks holds a metadata lock on its tables (a DDL
 * with a short lock_wait_timeout fails); the limits asked for are in
 * force; a monitor's stamps are InnoDB's table ids, which a rebuild or a
 * TRUNCATE replaces and ADD INDEX does not; a metadata lock held
 * elsewhere stops open within the lock timeout; the watch sees a DDL
 * waiting on the session's lock.
 */
static void test_guard(void **state)
{
	static const char *const locks[] = { "guard_t", DB ".no_such_table" };
	const char *tables[] = { "guard_t" };
	struct conn_cfg cfg;
	struct conn *c, *mon;
	struct conn_watch w;
	struct tally_err err;
	struct tabdesc t;
	struct cc_scan sc;
	char before[128], want[256];
	const char *q = "SELECT @@max_statement_time AS mst, @@lock_wait_timeout AS lwt,"
	                " @@net_write_timeout AS nwt";
	MYSQL *ddl;

	(void)state;
	admin_sql("DROP TABLE IF EXISTS " DB ".guard_t");
	admin_sql("DROP VIEW IF EXISTS " DB ".guard_v");
	admin_sql("CREATE TABLE " DB ".guard_t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
	admin_sql("INSERT INTO " DB ".guard_t SELECT seq, seq FROM seq_1_to_100");
	admin_sql("CREATE VIEW " DB ".guard_v AS SELECT * FROM " DB ".guard_t");

	memset(&cfg, 0, sizeof(cfg));
	cfg.lock = locks;
	cfg.nlock = 2;
	cfg.lock_timeout = 2;
	cfg.statement_timeout = 5;
	c = open_cfg(&cfg, &err);
	if (!c)
		fail_msg("open: %s / %s", err.msg, err.detail);
	assert_true(c->statement_timeout == 5);
	cc_describe_query_ok(c, q, &t);
	cc_scan_init(&sc, &t, NULL, q, NULL, "*", NULL);
	cc_scan_check(c, &sc, (const struct cc_val[]){ V("5.000000"), V("2"), V("60") }, 1);
	tabdesc_release(&t);
	admin_sql("SET SESSION lock_wait_timeout = 1");
	assert_int_not_equal(mysql_query(admin, "ALTER TABLE " DB ".guard_t ADD COLUMN z INT"), 0);
	assert_int_equal(mysql_errno(admin), 1205);     /* ER_LOCK_WAIT_TIMEOUT */
	admin_sql("SET SESSION lock_wait_timeout = DEFAULT");
	close_conn(c);

	memset(&cfg, 0, sizeof(cfg));
	cfg.monitor = true;
	mon = open_cfg(&cfg, &err);
	assert_non_null(mon);
	snprintf(want, sizeof(want), "table_id %s",
	         admin_value("SELECT TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME = '" DB "/guard_t'"));
	snprintf(before, sizeof(before), "%s", stamp_of(mon, "guard_t"));
	assert_string_equal(before, want);
	assert_string_equal(stamp_of(mon, DB ".guard_t"), want);
	assert_string_equal(stamp_of(mon, "guard_v"), "(none)");
	assert_string_equal(stamp_of(mon, "no_such_table"), "missing");
	admin_sql("ALTER TABLE " DB ".guard_t ADD INDEX iv (v)");
	assert_string_equal(stamp_of(mon, "guard_t"), before);
	admin_sql("ALTER TABLE " DB ".guard_t FORCE");
	assert_string_not_equal(stamp_of(mon, "guard_t"), before);
	snprintf(before, sizeof(before), "%s", stamp_of(mon, "guard_t"));
	admin_sql("TRUNCATE " DB ".guard_t");
	assert_string_not_equal(stamp_of(mon, "guard_t"), before);

	/* A metadata lock held elsewhere. */
	ddl = guard_ddl = admin_connect2();
	assert_int_equal(mysql_query(ddl, "LOCK TABLES guard_t WRITE"), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.lock = locks;
	cfg.nlock = 1;
	cfg.lock_timeout = 1;
	c = open_cfg(&cfg, &err);
	assert_null(c);
	assert_int_equal(err.kind, ERR_LOCKED);
	assert_non_null(strstr(err.msg, "] cannot take a metadata lock on table '" DB ".guard_t' on source "
	                       "system 'legacy' within 1 s: another session holds a conflicting one"));
	assert_non_null(strstr(err.hint, "metadata_lock_info"));
	assert_int_equal(mysql_query(ddl, "UNLOCK TABLES"), 0);

	/* The watch: a DDL waits on the session's metadata lock. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.lock = locks;
	cfg.nlock = 1;
	c = open_cfg(&cfg, &err);
	assert_non_null(c);
	{
		static const char alter[] = "ALTER TABLE guard_t ADD COLUMN z INT";

		assert_int_equal(mysql_send_query(ddl, alter, sizeof(alter) - 1), 0);
	}
	for (int tries = 0; tries < 100; tries++) {
		assert_int_equal(mon->ops->watch(mon, (long[]){ c->backend_pid }, 1, tables, 1, &w, &err), 0);
		if (w.nwaiters)
			break;
		usleep(50000);
	}
	assert_int_equal(w.nwaiters, 1);
	assert_int_equal(w.waiters[0].pid, (long)mysql_thread_id(ddl));
	assert_string_equal(w.waiters[0].user, env.admin_user);
	assert_string_equal(w.waiters[0].state, "Waiting for table metadata lock");
	assert_string_equal(w.waiters[0].what, "a metadata lock on " DB ".guard_t");
	assert_true(w.snapshot_age >= 0);
	assert_true(w.xmin_age == -1);
	/* A statement that names another table is not counted. */
	assert_int_equal(mon->ops->watch(mon, (long[]){ c->backend_pid }, 1,
	                                 (const char *[]){ "other_t" }, 1, &w, &err), 0);
	assert_int_equal(w.nwaiters, 0);
	assert_int_equal(mon->ops->keepalive(mon, &err), 0);
	assert_int_equal(mon->ops->cancel(mon, 999999999, &err), 0);  /* no such thread: nothing to do */
	close_conn(c);
	assert_int_equal(mysql_read_query_result(ddl), 0);
	mysql_close(ddl);
	guard_ddl = NULL;
	close_conn(mon);
	admin_sql("DROP VIEW " DB ".guard_v");
	admin_sql("DROP TABLE " DB ".guard_t");
}

/* Writes are refused by the server: the transaction is READ ONLY. */
static void test_read_only(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;
	struct tally_err err;

	(void)state;
	/* the function does write outside a read-only transaction */
	admin_sql("SELECT " DB ".ro_write()");
	assert_string_equal(admin_value("SELECT COUNT(*) FROM " DB ".ro_probe"), "1");
	admin_sql("DELETE FROM " DB ".ro_probe");

	/* a table-less derived table is evaluated while describing: the write fails there */
	assert_int_equal(mariadb_ops.describe_query(c, "SELECT " DB ".ro_write() AS w", &t,
	                                            &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	assert_string_equal(err.sqlstate, "25006");
	assert_string_equal(err.detail, "Cannot execute statement in a READ ONLY transaction");
	assert_false(c->failed);

	/* in a where clause: the server locks its tables for writing before any row */
	cc_describe_ok(c, "types", &t);
	{
		struct cc_scan s;
		char want[256];

		snprintf(want, sizeof(want), "[source pid %ld] query failed on source system "
		         "'legacy' while reading " DB ".types", c->backend_pid);
		cc_scan_init(&s, &t, "types", NULL, "IF(id = 3, " DB ".ro_write(), 1) = 1", "id", "id");
		assert_int_equal(mariadb_ops.scan_open(c, &s.req, &err), -1);
		assert_int_equal(err.kind, ERR_QUERY);
		assert_string_equal(err.sqlstate, "25006");
		assert_string_equal(err.msg, want);
		assert_string_equal(err.detail, "Cannot execute statement in a READ ONLY transaction");
		assert_false(c->failed);
	}
	tabdesc_release(&t);
	assert_string_equal(admin_value("SELECT COUNT(*) FROM " DB ".ro_probe"), "0");
	close_conn(c);
}

/* A statement that fails mid-stream: ERR_QUERY, and the session fails for good. */
static void test_error_mid_stream(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;
	struct tally_err err;
	struct rawrow *row;
	struct cc_scan s;
	char want[256];

	(void)state;
	/*
	 * The sum overflows BIGINT (an error, not a warning) for id 100000 only.
	 * big is read in primary key order (no filesort), so rows 1 to 99999
	 * arrive first. (An error before the server's first 16 kB flush replaces
	 * the whole result: scan_open would see it.)
	 */
	cc_describe_ok(c, "big", &t);
	cc_scan_init(&s, &t, "big", NULL, "id + IF(id = 100000, 9223372036854775807, 0) > 0", "id",
	          "id");
	assert_int_equal(mariadb_ops.scan_open(c, &s.req, &err), 0);
	for (int i = 1; i < 100000; i++)
		assert_int_equal(mariadb_ops.scan_next(c, &row, &err), 1);
	assert_int_equal(row->len[0], 5);
	assert_memory_equal(row->val[0], "99999", 5);
	assert_int_equal(mariadb_ops.scan_next(c, &row, &err), -1);
	assert_null(row);
	assert_int_equal(err.kind, ERR_QUERY);
	snprintf(want, sizeof(want), "[source pid %ld] query failed on source system 'legacy' "
	         "while reading " DB ".big", c->backend_pid);
	assert_string_equal(err.msg, want);
	/* the server's text may quote the where clause: it goes to detail only */
	assert_string_equal(err.detail, "BIGINT value is out of range in '`" DB "`.`big`.`id` + "
	                    "if(`" DB "`.`big`.`id` = 100000,9223372036854775807,0)'");
	assert_string_equal(err.sqlstate, "22003");
	assert_true(c->failed);

	err_clear(&err);
	assert_int_equal(mariadb_ops.scan_next(c, &row, &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	snprintf(want, sizeof(want), "[source pid %ld] session to source system 'legacy' is "
	         "unusable after an earlier error", c->backend_pid);
	assert_string_equal(err.msg, want);
	mariadb_ops.scan_close(c);
	tabdesc_release(&t);
	close_conn(c);
}

/* Every describe and scan reads the snapshot taken at open. */
static void test_snapshot(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;
	const struct cc_val one[] = { V("1") };

	(void)state;
	cc_describe_ok(c, "snap", &t);
	cc_scan_init(&s, &t, "snap", NULL, NULL, "id", "id");
	cc_scan_check(c, &s, one, 1);
	admin_sql("INSERT INTO " DB ".snap VALUES (2)");
	cc_scan_check(c, &s, one, 1);     /* the new row is not in the snapshot */
	tabdesc_release(&t);
	close_conn(c);

	c = open_tally();
	cc_describe_ok(c, "snap", &t);
	cc_scan_init(&s, &t, "snap", NULL, NULL, "id", "id");
	{
		const struct cc_val both[] = { V("1"), V("2") };

		cc_scan_check(c, &s, both, 2);
	}
	tabdesc_release(&t);
	close_conn(c);
	admin_sql("DELETE FROM " DB ".snap WHERE id = 2");
}

static const struct expcol types_cols[] = {
	{ "id", "int(11)", LT_INT, 32, .nullable = false },
	{ "i8", "tinyint(4)", LT_INT, 8, .nullable = true },
	{ "b1", "tinyint(1)", LT_INT, 8, .boolh = true, .nullable = true },
	{ "b1u", "tinyint(1) unsigned", LT_INT, 8, .uns = true, .boolh = true, .nullable = true },
	{ "i16", "smallint(6)", LT_INT, 16, .nullable = true },
	{ "u24", "mediumint(8) unsigned", LT_INT, 24, .uns = true, .nullable = true },
	{ "i32", "int(11)", LT_INT, 32, .nullable = true },
	{ "i64", "bigint(20)", LT_INT, 64, .nullable = true },
	{ "u64", "bigint(20) unsigned", LT_INT, 64, .uns = true, .nullable = true },
	{ "d10", "decimal(10,2)", LT_DECIMAL, .nullable = true, .precision = 10, .scale = 2 },
	{ "du", "decimal(5,0) unsigned", LT_DECIMAL, .uns = true, .nullable = true,
	  .precision = 5, .scale = 0 },
	{ "f", "float", LT_FLOAT, 32, .nullable = true },
	{ "d", "double", LT_FLOAT, 64, .nullable = true },
	{ "c5", "char(5)", LT_CHAR, .fixed = true, .nullable = true, .length = 5,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "vc", "varchar(20)", LT_TEXT, .nullable = true, .length = 20,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "l1", "varchar(10)", LT_TEXT, .nullable = true, .length = 10,
	  .charset = "latin1", .collation = "latin1_swedish_ci" },
	{ "tt", "tinytext", LT_TEXT, .nullable = true, .length = 255,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "tx", "text", LT_TEXT, .nullable = true, .length = 65535,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "mt", "mediumtext", LT_TEXT, .nullable = true, .length = 16777215,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "lt", "longtext", LT_TEXT, .nullable = true, .length = 4294967295L,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "bn", "binary(4)", LT_BYTES, .fixed = true, .nullable = true, .length = 4 },
	{ "vb", "varbinary(10)", LT_BYTES, .nullable = true, .length = 10 },
	{ "bl", "blob", LT_BYTES, .nullable = true, .length = 65535 },
	{ "dt", "date", LT_DATE, .nullable = true },
	{ "tm", "time", LT_TIME, .nullable = true },
	{ "tm6", "time(6)", LT_TIME, .nullable = true, .fsp = 6 },
	{ "dtm", "datetime", LT_TIMESTAMP, .nullable = true },
	{ "dtm6", "datetime(6)", LT_TIMESTAMP, .nullable = true, .fsp = 6 },
	{ "ts", "timestamp", LT_TIMESTAMPTZ, .nullable = true },
	{ "ts3", "timestamp(3)", LT_TIMESTAMPTZ, .nullable = true, .fsp = 3 },
	{ "y", "year(4)", LT_YEAR, .nullable = true },
	{ "e", "enum('small','it''s','back\\\\slash','')", LT_ENUM, .nullable = true,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci",
	  .labels = { "small", "it's", "back\\slash", "", NULL } },
	{ "st", "set('x','y','z')", LT_SET, .nullable = true,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci",
	  .labels = { "x", "y", "z", NULL } },
	{ "bt", "bit(1)", LT_BIT, 1, .nullable = true },
	{ "bt10", "bit(10)", LT_BIT, 10, .nullable = true },
	{ "u", "uuid", LT_UUID, .nullable = true },
	{ "i4", "inet4", LT_INET, .nullable = true },
	{ "i6", "inet6", LT_INET, .nullable = true },
	{ "j", "longtext", LT_JSON, .nullable = true, .length = 4294967295L,
	  .charset = "utf8mb4", .collation = "utf8mb4_bin" },
	{ "g", "point", LT_OTHER, .nullable = true },
	{ "gv", "int(11)", LT_INT, 32, .nullable = true, .generated = true },
	{ "gs", "varchar(30)", LT_TEXT, .nullable = true, .generated = true, .length = 30,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
};

static void test_describe_types(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;

	(void)state;
	cc_describe_ok(c, "types", &t);
	assert_string_equal(t.display, DB ".types");
	assert_string_equal(t.sqlname, "`" DB "`.`types`");
	assert_false(t.is_query);
	assert_cols(&t, types_cols, sizeof(types_cols) / sizeof(types_cols[0]));
	assert_int_equal(t.npk, 1);
	assert_int_equal(t.pk[0], 0);
	tabdesc_release(&t);

	/* qualified names work the same */
	cc_describe_ok(c, DB ".types", &t);
	assert_string_equal(t.display, DB ".types");
	assert_int_equal(t.ncols, sizeof(types_cols) / sizeof(types_cols[0]));
	tabdesc_release(&t);
	close_conn(c);
}

/* The text the server sends for every type, byte for byte. */
static void test_scan_types(void **state)
{
	static const char point[] =
		"\x00\x00\x00\x00" "\x01" "\x01\x00\x00\x00"
		"\x00\x00\x00\x00\x00\x00\xf0\x3f" "\x00\x00\x00\x00\x00\x00\x00\x40";
	const struct cc_val exp[] = {
		/* row 1 */
		V("1"), V("-128"), V("1"), V("0"), V("-32768"), V("16777215"), V("-2147483648"),
		V("-9223372036854775808"), V("18446744073709551615"), V("1.50"), V("99999"),
		/* FLOAT read as DOUBLE: the float's exact value, not MariaDB's 6 digits */
		V("0.10000000149011612"), V("0.30000000000000004"), V("ab"), V("a\tb\nc\\d'e\"f "),
		V("\xc3\x84\xc3\x9f"), V("x"), V("trailing  "), V("mid\r\n"), V("long"),
		V("\x01\x00\x00\x00"), V("\x00\xff\x00\x00"), V("\x00\x01\x02"), V("2024-02-29"),
		V("-838:59:59"), V("-00:00:01.250000"), V("2024-01-02 03:04:05"),
		V("2024-01-02 03:04:05.123456"), V("2038-01-19 03:14:07"),
		V("1970-01-01 00:00:01.500"), V("2024"), V("it's"), V("x,z"), V("\x01"),
		V("\x02\x01"), V("123e4567-e89b-12d3-a456-426614174000"), V("192.168.0.1"),
		V("2001:db8::1"), V("{\"a\": [1, 2.50, \"x\"]}"), { point, sizeof(point) - 1 },
		V("-32767"), V("a\tb\nc\\d'e\"f !"),
		/* row 2: every nullable column NULL */
		V("2"), VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL,
		VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL,
		VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL,
		VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL, VNULL,
		/* row 3: limits, empty values and zero dates */
		V("3"), V("127"), V("0"), V("1"), V("32767"), V("0"), V("2147483647"),
		V("9223372036854775807"), V("0"), V("-0.01"), V("0"), V("3.3999999521443642e38"), V("-1e300"),
		V(""), V(""), V(""), V(""), V(""), V(""), V(""), V("\x00\x00\x00\x00"), V(""),
		V(""), V("0000-00-00"), V("00:00:00"), V("838:59:59.999999"),
		V("0000-00-00 00:00:00"), V("9999-12-31 23:59:59.999999"),
		V("0000-00-00 00:00:00"), VNULL, V("0000"), V(""), V(""), V("\x00"),
		V("\x00\x00"), V("00000000-0000-0000-0000-000000000000"), V("0.0.0.0"), V("::"),
		V("[]"), VNULL, V("32768"), V("!"),
	};
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "types", &t);
	cc_scan_init(&s, &t, "types", NULL, NULL, "*", "id");
	assert_int_equal(s.ncols * 3, sizeof(exp) / sizeof(exp[0]));
	cc_scan_check(c, &s, exp, 3);
	tabdesc_release(&t);
	close_conn(c);
}

/* The window function makes the server materialize the query: NOT NULL is lost. */
static const struct expcol query_cols[] = {
	{ "id", "int(11)", LT_INT, 32, .nullable = true },
	{ "b1", "tinyint(1)", LT_INT, 8, .boolh = true, .nullable = true },
	{ "i8", "tinyint(4)", LT_INT, 8, .nullable = true },
	{ "u64", "bigint(20) unsigned", LT_INT, 64, .uns = true, .nullable = true },
	{ "d10", "decimal(10,2)", LT_DECIMAL, .nullable = true, .precision = 10, .scale = 2 },
	{ "du", "decimal(5,0) unsigned", LT_DECIMAL, .uns = true, .nullable = true,
	  .precision = 5 },
	{ "f", "float", LT_FLOAT, 32, .nullable = true },
	{ "d", "double", LT_FLOAT, 64, .nullable = true },
	{ "c5", "char(5)", LT_CHAR, .fixed = true, .nullable = true, .length = 5,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "vc", "varchar(20)", LT_TEXT, .nullable = true, .length = 20,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	/* results arrive in utf8mb4: a latin1 column is described as sent */
	{ "l1", "varchar(10)", LT_TEXT, .nullable = true, .length = 10,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "bn", "binary(4)", LT_BYTES, .fixed = true, .nullable = true, .length = 4 },
	{ "vb", "varbinary(10)", LT_BYTES, .nullable = true, .length = 10 },
	{ "bl", "blob(65535)", LT_BYTES, .nullable = true, .length = 65535 },
	{ "dt", "date", LT_DATE, .nullable = true },
	{ "tm6", "time(6)", LT_TIME, .nullable = true, .fsp = 6 },
	{ "dtm6", "datetime(6)", LT_TIMESTAMP, .nullable = true, .fsp = 6 },
	{ "ts", "timestamp", LT_TIMESTAMPTZ, .nullable = true },
	{ "y", "year", LT_YEAR, .nullable = true },
	{ "e", "enum", LT_ENUM, .nullable = true,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "st", "set", LT_SET, .nullable = true,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "bt10", "bit(10)", LT_BIT, 10, .nullable = true },
	{ "u", "uuid", LT_UUID, .nullable = true },
	{ "i6", "inet6", LT_INET, .nullable = true },
	/* the connection's collation, as the server reports results */
	{ "j", "json", LT_JSON, .nullable = true,
	  .charset = "utf8mb4", .collation = "utf8mb4_general_ci" },
	{ "g", "point", LT_OTHER, .nullable = true },
	{ "n", "bigint(21)", LT_INT, 64, .nullable = false },
};

static void test_describe_query(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;

	(void)state;
	cc_describe_query_ok(c, "SELECT id, b1, i8, u64, d10, du, f, d, c5, vc, l1, bn, vb, bl, dt, tm6,"
	           " dtm6, ts, y, e, st, bt10, u, i6, j, g, COUNT(*) OVER () AS n FROM types"
	           " -- a trailing comment\n ; ;\n", &t);
	assert_string_equal(t.display, "query");
	assert_null(t.sqlname);
	assert_true(t.is_query);
	assert_int_equal(t.npk, 0);
	assert_cols(&t, query_cols, sizeof(query_cols) / sizeof(query_cols[0]));
	tabdesc_release(&t);

	/* a query the server merges keeps NOT NULL */
	cc_describe_query_ok(c, "SELECT id AS k, y FROM types", &t);
	assert_int_equal(t.ncols, 2);
	assert_string_equal(t.cols[0].name, "k");
	assert_false(t.cols[0].nullable);
	assert_true(t.cols[1].nullable);
	assert_string_equal(t.cols[1].native, "year");
	tabdesc_release(&t);
	close_conn(c);
}

/*
 * Keys stream in the server's own order, the collation's: utf8mb4_general_ci
 * puts 'a\t' before 'a' (PAD SPACE) and folds case and accents
 * ('Äpfel' < 'apple' < 'B'); latin1_swedish_ci puts 'Ä' after 'Z'. 'a' and
 * 'a ' are equal keys under PAD SPACE: id orders them. NULL comes first.
 */
static void test_key_order(void **state)
{
	const struct cc_val by_w[] = {
		V("9"), VNULL, V("8"), V("a\t"), V("6"), V("a"), V("7"), V("a "),
		V("1"), V("Äpfel"), V("2"), V("apple"), V("4"), V("éclair"), V("5"), V("ß"),
		V("3"), V("Zebra"),
	};
	const struct cc_val by_wl[] = {
		V("9"), VNULL, V("8"), V("a\t"), V("6"), V("a"), V("7"), V("a "),
		V("2"), V("apple"), V("4"), V("éclair"), V("3"), V("Zebra"), V("1"), V("Äpfel"),
		V("5"), V("ß"),
	};
	const struct cc_val by_pk[] = {
		V("a\t"), V("a"), V("Äpfel"), V("apple"), V("B"), V("éclair"), V("ß"), V("Zebra"),
	};
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	/* utf8mb4_general_ci column of a table without a primary key */
	cc_describe_ok(c, "words", &t);
	assert_int_equal(t.npk, 0);
	cc_scan_init(&s, &t, "words", NULL, NULL, "id,w", "w,id");
	cc_scan_check(c, &s, by_w, 9);
	/* latin1: sent as UTF-8, ordered by latin1_swedish_ci */
	cc_scan_init(&s, &t, "words", NULL, NULL, "id,wl", "wl,id");
	cc_scan_check(c, &s, by_wl, 9);
	tabdesc_release(&t);

	/* a utf8mb4_general_ci primary key */
	cc_describe_ok(c, "ci_pk", &t);
	assert_int_equal(t.npk, 1);
	assert_int_equal(t.pk[0], 0);
	cc_scan_init(&s, &t, "ci_pk", NULL, NULL, "k", "k");
	cc_scan_check(c, &s, by_pk, 8);
	tabdesc_release(&t);
	close_conn(c);
}

static void test_composite_and_where(void **state)
{
	const struct cc_val all[] = {
		V("B"), V("1"), V("40"), V("a"), V("3"), V("30"), V("b"), V("1"), V("50"),
		V("x"), V("1"), V("10"), V("x"), V("2"), V("20"),
	};
	const struct cc_val filtered[] = { V("a"), V("3"), V("x"), V("2") };
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "comp", &t);
	assert_int_equal(t.npk, 2);
	assert_int_equal(t.pk[0], 1);   /* b */
	assert_int_equal(t.pk[1], 0);   /* a */
	cc_scan_init(&s, &t, "comp", NULL, NULL, "b,a,c", "b,a");
	cc_scan_check(c, &s, all, 5);
	cc_scan_init(&s, &t, "comp", NULL, "a >= 2 -- a comment", "b,a", "b,a");
	cc_scan_check(c, &s, filtered, 2);
	tabdesc_release(&t);
	close_conn(c);
}

static void test_query_source(void **state)
{
	static const char q[] = "SELECT wl AS word, id FROM words WHERE id <> 9;\n";
	const struct cc_val exp[] = {
		V("a\t"), V("8"), V("a"), V("6"), V("a "), V("7"), V("apple"), V("2"),
		V("éclair"), V("4"), V("Zebra"), V("3"), V("Äpfel"), V("1"), V("ß"), V("5"),
	};
	const struct cc_val filtered[] = { V("éclair"), V("4"), V("ß"), V("5") };
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	cc_describe_query_ok(c, q, &t);
	cc_scan_init(&s, &t, NULL, q, NULL, "word,id", "word,id");
	cc_scan_check(c, &s, exp, 8);
	cc_scan_init(&s, &t, NULL, q, "id IN (4, 5)", "word,id", "word");
	cc_scan_check(c, &s, filtered, 2);
	tabdesc_release(&t);
	close_conn(c);
}

/* Enums stream in the server's order, by index, not by label text. */
static void test_enum_key(void **state)
{
	const struct cc_val exp[] = { V("zeta"), V("1"), V("alpha"), V("2"), V("Mid"), V("3") };
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "ek", &t);
	assert_int_equal(t.cols[0].type, LT_ENUM);
	cc_scan_init(&s, &t, "ek", NULL, NULL, "e,n", "e");
	cc_scan_check(c, &s, exp, 3);
	tabdesc_release(&t);
	cc_describe_query_ok(c, "SELECT e, n FROM ek", &t);
	assert_int_equal(t.cols[0].type, LT_ENUM);
	cc_scan_init(&s, &t, NULL, "SELECT e, n FROM ek", NULL, "e,n", "e");
	cc_scan_check(c, &s, exp, 3);
	tabdesc_release(&t);
	close_conn(c);
}

static void test_names_and_missing(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;
	struct tally_err err;
	const struct cc_val exp[] = { V("1"), V("one") };
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "Orders", &t);
	assert_string_equal(t.display, DB ".Orders");
	assert_string_equal(t.sqlname, "`" DB "`.`Orders`");
	cc_scan_init(&s, &t, "Orders", NULL, NULL, "id,note", "id");
	cc_scan_check(c, &s, exp, 1);
	tabdesc_release(&t);

	/* names match exactly: another case is missing, with a hint */
	assert_int_equal(mariadb_ops.describe_table(c, "orders", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_string_equal(err.msg, "table '" DB ".orders' does not exist in source system "
	                    "'legacy'");
	assert_string_equal(err.hint, "did you mean '" DB ".Orders'?");
	assert_null(t.cols);

	assert_int_equal(mariadb_ops.describe_table(c, DB ".ordrs", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_string_equal(err.msg, "table '" DB ".ordrs' does not exist in source system "
	                    "'legacy'");
	assert_string_equal(err.hint, "did you mean '" DB ".Orders'?");

	assert_int_equal(mariadb_ops.describe_table(c, "TALLY_TEST_CONN_MY.types", &t, &err), -1);
	assert_string_equal(err.msg, "table 'TALLY_TEST_CONN_MY.types' does not exist in source "
	                    "system 'legacy'");
	assert_string_equal(err.hint, "did you mean '" DB ".types'?");

	assert_int_equal(mariadb_ops.describe_table(c, "no_such_thing_at_all", &t, &err), -1);
	assert_string_equal(err.msg, "table '" DB ".no_such_thing_at_all' does not exist in "
	                    "source system 'legacy'");
	assert_string_equal(err.hint, "");

	/* a name with quotes and backslashes is data, never SQL */
	assert_int_equal(mariadb_ops.describe_table(c, "x' OR '1'='1\\", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_string_equal(err.msg, "table '" DB ".x' OR '1'='1\\' does not exist in source "
	                    "system 'legacy'");
	assert_false(c->failed);
	close_conn(c);
}

static void test_bad_query(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t, d;
	struct tally_err err;
	struct cc_scan s;
	char want[256];

	(void)state;
	assert_int_equal(mariadb_ops.describe_query(c, "SELECT * FROM no_such_table", &t, &err),
	                 -1);
	assert_int_equal(err.kind, ERR_QUERY);
	snprintf(want, sizeof(want), "[source pid %ld] query failed on source system 'legacy' "
	         "while describing the query", c->backend_pid);
	assert_string_equal(err.msg, want);
	assert_string_equal(err.detail, "Table '" DB ".no_such_table' doesn't exist");
	assert_string_equal(err.sqlstate, "42S02");

	/* not a SELECT */
	assert_int_equal(mariadb_ops.describe_query(c, "DELETE FROM types", &t, &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	assert_string_equal(err.sqlstate, "42000");

	/* a bad where clause: the message names the table, never the SQL */
	cc_describe_ok(c, "comp", &d);
	cc_scan_init(&s, &d, "comp", NULL, "secret_literal = 'x'", "a", "a");
	assert_int_equal(mariadb_ops.scan_open(c, &s.req, &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	snprintf(want, sizeof(want), "[source pid %ld] query failed on source system 'legacy' "
	         "while reading " DB ".comp", c->backend_pid);
	assert_string_equal(err.msg, want);
	assert_string_equal(err.detail, "Unknown column 'secret_literal' in 'WHERE'");
	assert_string_equal(err.sqlstate, "42S22");

	/* the session survives a rejected statement */
	assert_false(c->failed);
	{
		const struct cc_val exp[] = { V("1"), V("1"), V("1"), V("2"), V("3") };

		cc_scan_init(&s, &d, "comp", NULL, NULL, "a", "a");
		cc_scan_check(c, &s, exp, 5);
	}
	tabdesc_release(&d);
	close_conn(c);
}

static void test_connect_errors(void **state)
{
	struct dsnpair p;
	struct conn *c = NULL;
	struct tally_err err;
	char hostport[128], want[1200];

	(void)state;
	cc_require(env.problem);

	/* nothing listens */
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", cc_closed_port());
	make_dsn(&p, env.user, env.password, hostport, DB);
	assert_int_equal(try_open(&c, p.dsn, p.shown, "target", &err), -1);
	assert_null(c);
	assert_int_equal(err.kind, ERR_CONNECT);
	snprintf(want, sizeof(want), "cannot connect to target system 'legacy' (%s)", p.shown);
	assert_string_equal(err.msg, want);
	/* libmariadb connects non-blocking: the errno is 111 or 115 */
	assert_true(strncmp(err.detail, "Can't connect to server on '127.0.0.1' (", 40) == 0);
	assert_string_equal(err.sqlstate, "HY000");
	cc_assert_no_secret(&err, env.password);

	/* wrong password: neither password appears anywhere */
	snprintf(hostport, sizeof(hostport), "%s:%s", env.host, env.port);
	make_dsn(&p, env.user, "Wr0ng%40Secret", hostport, DB);
	assert_int_equal(try_open(&c, p.dsn, p.shown, "target", &err), -1);
	assert_int_equal(err.kind, ERR_CONNECT);
	snprintf(want, sizeof(want), "cannot connect to target system 'legacy' (%s)", p.shown);
	assert_string_equal(err.msg, want);
	snprintf(want, sizeof(want), "Access denied for user '%s'@'127.0.0.1' (using password: "
	         "YES)", env.user);
	assert_string_equal(err.detail, want);
	assert_string_equal(err.sqlstate, "28000");
	cc_assert_no_secret(&err, "Wr0ng");
	cc_assert_no_secret(&err, env.password);

	/* unknown database */
	make_dsn(&p, env.user, env.password, hostport, "no_such_db");
	assert_int_equal(try_open(&c, p.dsn, p.shown, "source", &err), -1);
	assert_int_equal(err.kind, ERR_CONNECT);
	assert_string_equal(err.sqlstate, "42000");
	cc_assert_no_secret(&err, env.password);

	/* [ipv6] parses and reaches the network (the server listens on 127.0.0.1 only) */
	snprintf(hostport, sizeof(hostport), "[::1]:%s", env.port);
	make_dsn(&p, env.user, env.password, hostport, DB);
	assert_int_equal(try_open(&c, p.dsn, p.shown, "source", &err), -1);
	assert_int_equal(err.kind, ERR_CONNECT);
	snprintf(want, sizeof(want), "cannot connect to source system 'legacy' (%s)", p.shown);
	assert_string_equal(err.msg, want);
	cc_assert_no_secret(&err, env.password);
}

static void test_malformed_dsn(void **state)
{
	static const struct {
		const char *dsn, *detail;
	} bad[] = {
		{ "postgresql://u:Sekr1t@h/db", "the dsn must start with mariadb:// or mysql://" },
		{ "mariadb:/u:Sekr1t@h/db", "the dsn must start with mariadb:// or mysql://" },
		{ "mariadb://h:3306/db", "the dsn has no user: expected user[:password]@ before the host" },
		{ "mariadb://:Sekr1t@h/db", "the dsn has an empty user name" },
		{ "mariadb://u:Sek@r1t@h/db", "the user or password holds a '@' (write it %40)" },
		{ "mariadb://u:Sekr1t%zz@h/db", "the user or password holds an invalid percent-escape (write '%' as %25)" },
		{ "mariadb://u:Sekr1t%4@h/db", "the user or password holds an invalid percent-escape (write '%' as %25)" },
		{ "mariadb://u:Sekr1t%00@h/db", "the user or password holds an invalid percent-escape (write '%' as %25)" },
		{ "mariadb://u:Sekr1t@h:0/db", "the port is not a number from 1 to 65535" },
		{ "mariadb://u:Sekr1t@h:65536/db", "the port is not a number from 1 to 65535" },
		{ "mariadb://u:Sekr1t@h:33o6/db", "the port is not a number from 1 to 65535" },
		{ "mariadb://u:Sekr1t@h:/db", "the port is not a number from 1 to 65535" },
		{ "mariadb://u:Sekr1t@h:-1/db", "the port is not a number from 1 to 65535" },
		{ "mariadb://u:Sekr1t@ho$t/db", "the host holds a character not allowed in a host name or address" },
		{ "mariadb://u:Sekr1t@[::1/db", "the IPv6 address is not closed by ']'" },
		{ "mariadb://u:Sekr1t@[]/db", "the IPv6 address between '[' and ']' is empty" },
		{ "mariadb://u:Sekr1t@[::g]/db", "the IPv6 address holds a character other than hex digits, ':' and '.'" },
		{ "mariadb://u:Sekr1t@[::1]x/db", "unexpected characters after the IPv6 address" },
		{ "mariadb://u:Sekr1t@/db", "the dsn has no host (an empty host needs ?socket=)" },
		{ "mariadb://u:Sekr1t@h", "the dsn has no database: expected /database after the host" },
		{ "mariadb://u:Sekr1t@h/", "the dsn has an empty database name" },
		{ "mariadb://u:Sekr1t@h/?socket=/s", "the dsn has an empty database name" },
		{ "mariadb://u:Sekr1t@h/db/x", "the database name holds a '/' (write it %2F)" },
		{ "mariadb://u:Sekr1t@h/db?", "the dsn ends with an empty parameter list after '?'" },
		{ "mariadb://u:Sekr1t@h/db?sslmode=on", "unknown parameter: the parameters are socket and connect_timeout" },
		{ "mariadb://u:Sekr1t@h/db?socket", "a parameter has no '=': expected name=value" },
		{ "mariadb://u:Sekr1t@h/db?socket=rel/path", "the parameter socket must be an absolute path" },
		{ "mariadb://u:Sekr1t@h/db?socket=/a%zz", "a parameter value holds an invalid percent-escape" },
		{ "mariadb://u:Sekr1t@h/d%g1", "the database name holds an invalid percent-escape" },
		{ "mariadb://u:Sekr1t@h/db?socket=/a&socket=/b", "the parameter socket is given twice" },
		{ "mariadb://u:Sekr1t@h/db?connect_timeout=0", "the parameter connect_timeout must be a number of seconds from 1 to 3600" },
		{ "mariadb://u:Sekr1t@h/db?connect_timeout=5s", "the parameter connect_timeout must be a number of seconds from 1 to 3600" },
		{ "mariadb://u:Sekr1t@h/db?connect_timeout=5&", "the dsn ends with '&'" },
		{ "mariadb://u:Sekr1t@h/db#frag", "the dsn holds a '#' (write it %23)" },
		{ "mariadb://u:Sekr 1t@h/db", "the dsn holds a space or a control character (write it percent-encoded)" },
		{ "", "the dsn must start with mariadb:// or mysql://" },
	};
	const char *shown = "mariadb://u:***@h/db";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conn *c = NULL;
		struct tally_err err;

		if (try_open(&c, bad[i].dsn, shown, "source", &err) != -1)
			fail_msg("dsn %zu was accepted", i);
		assert_null(c);
		assert_int_equal(err.kind, ERR_CONNECT);
		assert_string_equal(err.msg, "invalid dsn for source system 'legacy' "
		                    "(mariadb://u:***@h/db)");
		if (strcmp(err.detail, bad[i].detail) != 0)
			fail_msg("dsn %zu: detail '%s', expected '%s'", i, err.detail, bad[i].detail);
		assert_string_equal(err.hint, "expected mariadb://user[:password]@host[:port]/"
		                    "database[?socket=/path&connect_timeout=N]");
		cc_assert_no_secret(&err, "Sekr");
		cc_assert_no_secret(&err, "r1t");
	}
}

/* socket=, percent-decoded user and password, empty host, mysql:// */
static void test_dsn_forms(void **state)
{
	char dsn[1024], sock[600];
	struct conn *c = NULL;
	struct tally_err err;
	struct tabdesc t;
	size_t o = 0;

	(void)state;
	cc_require(env.problem);
	/* the socket path, percent-encoded for good measure */
	for (const char *p = env.socket; *p && o + 4 < sizeof(sock); p++)
		o += (size_t)snprintf(sock + o, sizeof(sock) - o, *p == '/' ? "%%2F" : "%c", *p);

	snprintf(dsn, sizeof(dsn), "mariadb://%s:%s@/%s?socket=%s&connect_timeout=5",
	         SOCK_USER, SOCK_PASSWORD_ENC, DB, sock);
	if (try_open(&c, dsn, "shown", "source", &err) < 0)
		fail_msg("socket open: %s / %s", err.msg, err.detail);
	cc_describe_ok(c, "comp", &t);
	tabdesc_release(&t);
	close_conn(c);

	snprintf(dsn, sizeof(dsn), "mysql://%s:%s@localhost/%s?connect_timeout=5&socket=%s",
	         SOCK_USER, SOCK_PASSWORD_ENC, DB, env.socket);
	if (try_open(&c, dsn, "shown", "source", &err) < 0)
		fail_msg("mysql:// open: %s / %s", err.msg, err.detail);
	close_conn(c);

	/* the socket wins over a TCP host */
	snprintf(dsn, sizeof(dsn), "mariadb://%s:%s@127.0.0.1:1/%s?socket=%s",
	         SOCK_USER, SOCK_PASSWORD_ENC, DB, env.socket);
	if (try_open(&c, dsn, "shown", "source", &err) < 0)
		fail_msg("socket over host: %s / %s", err.msg, err.detail);
	close_conn(c);

	/* the raw password does not decode to the right one */
	snprintf(dsn, sizeof(dsn), "mariadb://" SOCK_USER ":p%%2540ss@/" DB "?socket=%s",
	         env.socket);
	assert_int_equal(try_open(&c, dsn, "mariadb://" SOCK_USER ":***@/" DB, "source", &err),
	                 -1);
	assert_int_equal(err.kind, ERR_CONNECT);
	assert_string_equal(err.sqlstate, "28000");
	cc_assert_no_secret(&err, "p%40ss");
	cc_assert_no_secret(&err, "p@ss");
}

/* A session killed mid-stream: ERR_LOST, then every call fails at once. */
static void test_lost_connection(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t, t2;
	struct tally_err err;
	struct rawrow *row;
	struct cc_scan s;
	char sql[64], want[256];
	size_t n = 0;
	int rc;

	(void)state;
	cc_describe_ok(c, "big", &t);
	cc_scan_init(&s, &t, "big", NULL, NULL, "id,pad", "id");
	if (mariadb_ops.scan_open(c, &s.req, &err) < 0)
		fail_msg("scan_open: %s / %s", err.msg, err.detail);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(mariadb_ops.scan_next(c, &row, &err), 1);
		n++;
	}
	assert_int_equal(row->len[0], 1);
	assert_memory_equal(row->val[0], "5", 1);

	snprintf(sql, sizeof(sql), "KILL %ld", c->backend_pid);
	admin_sql(sql);
	while ((rc = mariadb_ops.scan_next(c, &row, &err)) == 1)
		n++;
	assert_int_equal(rc, -1);
	assert_true(n < BIG_ROWS);
	assert_int_equal(err.kind, ERR_LOST);
	snprintf(want, sizeof(want), "[source pid %ld] lost connection to source system "
	         "'legacy' while reading " DB ".big", c->backend_pid);
	assert_string_equal(err.msg, want);
	/* the server closes the socket (2013); it may also send 1927 first */
	if (strcmp(err.detail, "Lost connection to server during query") != 0 &&
	    strcmp(err.detail, "Connection was killed") != 0)
		fail_msg("unexpected detail '%s'", err.detail);
	assert_true(c->failed);

	/* sticky: every later call fails at once */
	snprintf(want, sizeof(want), "[source pid %ld] session to source system 'legacy' is "
	         "unusable after an earlier error", c->backend_pid);
	err_clear(&err);
	assert_int_equal(mariadb_ops.scan_next(c, &row, &err), -1);
	assert_int_equal(err.kind, ERR_LOST);
	assert_string_equal(err.msg, want);
	mariadb_ops.scan_close(c);
	err_clear(&err);
	assert_int_equal(mariadb_ops.describe_table(c, "big", &t2, &err), -1);
	assert_int_equal(err.kind, ERR_LOST);
	assert_string_equal(err.msg, want);
	err_clear(&err);
	assert_int_equal(mariadb_ops.scan_open(c, &s.req, &err), -1);
	assert_int_equal(err.kind, ERR_LOST);
	tabdesc_release(&t);
	close_conn(c);
}

/* Closing a scan early leaves the session usable. */
static void test_scan_close_early(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;
	struct tally_err err;
	struct rawrow *row;
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "big", &t);
	cc_scan_init(&s, &t, "big", NULL, NULL, "id", "id");
	if (mariadb_ops.scan_open(c, &s.req, &err) < 0)
		fail_msg("scan_open: %s / %s", err.msg, err.detail);
	assert_int_equal(mariadb_ops.scan_next(c, &row, &err), 1);
	assert_int_equal(mariadb_ops.scan_open(c, &s.req, &err), -1);   /* one scan at a time */
	assert_int_equal(err.kind, ERR_INTERNAL);
	mariadb_ops.scan_close(c);
	mariadb_ops.scan_close(c);

	cc_scan_init(&s, &t, "big", NULL, "id > 199998", "id", "id");
	{
		const struct cc_val exp[] = { V("199999"), V("200000") };

		cc_scan_check(c, &s, exp, 2);
	}
	/* and close() with a scan still open */
	cc_scan_init(&s, &t, "big", NULL, NULL, "id", "id");
	assert_int_equal(mariadb_ops.scan_open(c, &s.req, &err), 0);
	assert_int_equal(mariadb_ops.scan_next(c, &row, &err), 1);
	tabdesc_release(&t);
	close_conn(c);
}

/* ---- foreign keys, triggers, defaults ------------------------------------------- */

struct expfk {
	const char *name, *table, *sqlname, *cols[4], *refcols[4], *on_delete, *on_update;
};

static void assert_fks(const char *what, const struct fkdesc *got, size_t n,
                       const struct expfk *exp, size_t nexp)
{
	if (n != nexp)
		fail_msg("%s: %zu foreign keys, expected %zu", what, n, nexp);
	for (size_t i = 0; i < n; i++) {
		const struct fkdesc *f = &got[i];
		const struct expfk *e = &exp[i];
		size_t nc = 0;

		assert_string_equal(f->name, e->name);
		assert_string_equal(f->table, e->table);
		assert_string_equal(f->sqlname, e->sqlname);
		while (e->cols[nc])
			nc++;
		if (f->ncols != nc)
			fail_msg("%s: key %s has %zu columns, expected %zu", what, e->name, f->ncols, nc);
		for (size_t j = 0; j < nc; j++) {
			assert_string_equal(f->cols[j], e->cols[j]);
			assert_string_equal(f->refcols[j], e->refcols[j]);
		}
		assert_string_equal(f->on_delete, e->on_delete);
		assert_string_equal(f->on_update, e->on_update);
	}
}

/* A session as SOCK_USER, who also holds TRIGGER on fk_child. */
static struct conn *open_sock(void)
{
	char dsn[1024];
	struct conn *c = NULL;
	struct tally_err err;

	cc_require(env.problem);
	snprintf(dsn, sizeof(dsn), "mariadb://%s:%s@/%s?socket=%s", SOCK_USER, SOCK_PASSWORD_ENC,
	         DB, env.socket);
	if (try_open(&c, dsn, "mariadb://" SOCK_USER ":***@/" DB, "source", &err) < 0)
		fail_msg("socket open: %s / %s", err.msg, err.detail);
	return c;
}

static void test_describe_fks(void **state)
{
	static const struct expfk child_parents[] = {
		{ "fk_comp", DB ".fk_parent", "`" DB "`.`fk_parent`", { "pb", "pa", NULL },
		  { "b", "a", NULL }, "CASCADE", "SET NULL" },
		{ "fk_self", DB ".fk_child", "`" DB "`.`fk_child`", { "parent_id", NULL },
		  { "id", NULL }, "RESTRICT", "RESTRICT" },
	};
	static const struct expfk child_children[] = {
		{ "fk_self", DB ".fk_child", "`" DB "`.`fk_child`", { "parent_id", NULL },
		  { "id", NULL }, "RESTRICT", "RESTRICT" },
		{ "fk_g`q", DB ".fk_grandchild", "`" DB "`.`fk_grandchild`", { "child_id", NULL },
		  { "id", NULL }, "SET NULL", "CASCADE" },
	};
	static const struct expfk parent_children[] = {
		{ "fk_comp", DB ".fk_child", "`" DB "`.`fk_child`", { "pb", "pa", NULL },
		  { "b", "a", NULL }, "CASCADE", "SET NULL" },
	};
	static const struct expfk grandchild_parents[] = {
		{ "fk_g`q", DB ".fk_child", "`" DB "`.`fk_child`", { "child_id", NULL },
		  { "id", NULL }, "SET NULL", "CASCADE" },
	};
	/* AUTO_INCREMENT, nullable, DEFAULT and CURRENT_TIMESTAMP supply a value; req does not */
	static const struct { const char *name; bool has_default, nullable; } child_cols[] = {
		{ "id", true, false }, { "pa", true, true }, { "pb", true, true },
		{ "parent_id", true, true }, { "note", true, false }, { "req", false, false },
		{ "ts", true, false }, { "ts2", true, true }, { "n", true, true },
		{ "gen", true, true },
	};
	struct conn *c = open_tally(), *s;
	struct tabdesc t;

	(void)state;
	cc_describe_ok(c, "fk_child", &t);
	cc_assert_sane_tabdesc(&t);
	assert_int_equal(t.ncols, sizeof(child_cols) / sizeof(child_cols[0]));
	for (size_t i = 0; i < t.ncols; i++) {
		assert_string_equal(t.cols[i].name, child_cols[i].name);
		if (t.cols[i].has_default != child_cols[i].has_default ||
		    t.cols[i].nullable != child_cols[i].nullable || t.cols[i].identity)
			fail_msg("column %s: has_default %d nullable %d identity %d", t.cols[i].name,
			         t.cols[i].has_default, t.cols[i].nullable, t.cols[i].identity);
	}
	assert_true(t.cols[9].generated);
	assert_fks("fk_child parents", t.parents, t.nparents, child_parents, 2);
	assert_fks("fk_child children", t.children, t.nchildren, child_children, 2);
	/* tally's SELECT-only user is not shown the triggers */
	assert_int_equal(t.ntriggers, 0);
	assert_null(t.triggers);
	tabdesc_release(&t);

	cc_describe_ok(c, "fk_parent", &t);
	assert_false(t.cols[0].has_default);
	assert_false(t.cols[1].has_default);
	assert_fks("fk_parent parents", t.parents, t.nparents, NULL, 0);
	assert_fks("fk_parent children", t.children, t.nchildren, parent_children, 1);
	tabdesc_release(&t);

	cc_describe_ok(c, DB ".fk_grandchild", &t);
	assert_fks("fk_grandchild parents", t.parents, t.nparents, grandchild_parents, 1);
	assert_fks("fk_grandchild children", t.children, t.nchildren, NULL, 0);
	tabdesc_release(&t);

	/* a table without keys or triggers; has_default follows NULL-ability there */
	cc_describe_ok(c, "types", &t);
	assert_int_equal(t.nparents + t.nchildren + t.ntriggers, 0);
	for (size_t i = 0; i < t.ncols; i++)
		assert_int_equal(t.cols[i].has_default, t.cols[i].nullable);
	tabdesc_release(&t);

	/* queries have none of it */
	cc_describe_query_ok(c, "SELECT id, note FROM fk_child", &t);
	assert_int_equal(t.nparents + t.nchildren + t.ntriggers, 0);
	assert_false(t.cols[0].has_default);
	tabdesc_release(&t);
	close_conn(c);

	/* a user with the TRIGGER privilege sees them, by name */
	s = open_sock();
	cc_describe_ok(s, "fk_child", &t);
	assert_int_equal(t.ntriggers, 3);
	cc_assert_trigger(&t.triggers[0], "trg_a", "AFTER", "DELETE", true);
	cc_assert_trigger(&t.triggers[1], "trg_b", "BEFORE", "INSERT", true);
	cc_assert_trigger(&t.triggers[2], "trg_c`u", "AFTER", "UPDATE", true);
	assert_fks("fk_child parents", t.parents, t.nparents, child_parents, 2);
	assert_fks("fk_child children", t.children, t.nchildren, child_children, 2);
	tabdesc_release(&t);
	close_conn(s);
}

/* ---- literals: written by mariadb_ops.literal, read back by the scan ----------- */

/* A value to write and the text the scan must return for it. */
struct rt {
	const char *col;
	struct sqlval v;
	struct cc_val want;
};

#define SV_N(lit) { .kind = SV_NUMBER, .s = (lit), .len = sizeof(lit) - 1 }
#define SV_T(lit) { .kind = SV_TEXT, .s = (lit), .len = sizeof(lit) - 1 }
#define SV_B(lit) { .kind = SV_BYTES, .s = (lit), .len = sizeof(lit) - 1 }
#define SV_R(lit) { .kind = SV_RAW, .s = (lit), .len = sizeof(lit) - 1 }
#define SV_U(lit) { .kind = SV_UUID, .s = (lit), .len = sizeof(lit) - 1 }
#define SV_NUL { .kind = SV_NULL }

/* Text no sql_mode or client may misread. */
#define HOSTILE "it's \"q\" \\ \\' $$ ; -- # /* c */ // DELIMITER ;\n\ttab \xf0\x9f\x98\x80 end"
#define HOSTILE_NUL "nul\0byte"

static const char point12[] =
	"\x00\x00\x00\x00" "\x01" "\x01\x00\x00\x00"
	"\x00\x00\x00\x00\x00\x00\xf0\x3f" "\x00\x00\x00\x00\x00\x00\x00\x40";

static const struct rt rt_rows[][27] = { {
	{ "k", SV_N("1"), V("1") },
	{ "b1", { .kind = SV_BOOL, .b = true }, V("1") },
	{ "iu", SV_N("4294967295"), V("4294967295") },
	{ "u64", SV_N("18446744073709551615"), V("18446744073709551615") },
	{ "d12", SV_N("-1234567890.12"), V("-1234567890.12") },
	{ "f", { .kind = SV_FLOAT, .d = 0.1 }, V("0.10000000149011612") },
	{ "d", { .kind = SV_FLOAT, .d = 0.30000000000000004 }, V("0.30000000000000004") },
	{ "c5", SV_T("a'\\b"), V("a'\\b") },
	{ "vc", SV_T(HOSTILE), V(HOSTILE) },
	{ "tx", { .kind = SV_TEXT, .s = HOSTILE_NUL, .len = sizeof(HOSTILE_NUL) - 1 },
	  V(HOSTILE_NUL) },
	{ "l1", SV_T("\xc3\x84pfel \xc3\x9f 'q' \\"), V("\xc3\x84pfel \xc3\x9f 'q' \\") },
	{ "bn", SV_B("\x00\xff'\\"), V("\x00\xff'\\") },
	{ "vb", SV_B("\x00\x01\\'\"`"), V("\x00\x01\\'\"`") },
	{ "bl", SV_B("\x00\n\r\x1a\\"), V("\x00\n\r\x1a\\") },
	{ "dt", { .kind = SV_DATE, .i = 8825 }, V("2024-02-29") },
	{ "tm6", { .kind = SV_TIME, .i = -1250000 }, V("-00:00:01.250000") },
	{ "dtm", { .kind = SV_TIMESTAMP, .i = 757479845000000 }, V("2024-01-02 03:04:05") },
	{ "dtm6", { .kind = SV_TIMESTAMP, .i = 757479845123456 }, V("2024-01-02 03:04:05.123456") },
	{ "ts3", { .kind = SV_TIMESTAMPTZ, .i = 1200798847999000 }, V("2038-01-19 03:14:07.999") },
	{ "y", SV_N("2024"), V("2024") },
	{ "e", SV_R("it's"), V("it's") },
	{ "st", SV_R("x,z"), V("x,z") },
	{ "bt10", SV_R("\x02\x01"), V("\x02\x01") },
	{ "u", SV_U("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"),
	  V("123e4567-e89b-12d3-a456-426614174000") },
	{ "j", SV_R("{\"a\": \"\\n\\\"x\", \"b\": [1, 2.50]}"),
	  V("{\"a\": \"\\n\\\"x\", \"b\": [1, 2.50]}") },
	{ "we`ird", SV_T("q'\\"), V("q'\\") },
	{ "g", { .kind = SV_RAW, .s = point12, .len = sizeof(point12) - 1 },
	  { point12, sizeof(point12) - 1 } },
}, {
	{ "k", SV_N("2"), V("2") },
	{ "b1", { .kind = SV_BOOL, .b = false }, V("0") },
	{ "iu", SV_N("0"), V("0") },
	{ "u64", SV_N("0"), V("0") },
	{ "d12", SV_N("0.1"), V("0.10") },
	{ "f", { .kind = SV_FLOAT, .d = -2.5e-10 }, V("-0.00000000024999999292951713") },
	{ "d", { .kind = SV_FLOAT, .d = 5e-324 }, V("5e-324") },
	{ "c5", SV_T(""), V("") },
	{ "vc", SV_T("\xe2\x80\xae" "abc \xc2\x85"), V("\xe2\x80\xae" "abc \xc2\x85") },
	{ "tx", SV_T(""), V("") },
	{ "l1", SV_T("caf\xc3\xa9\r\n"), V("caf\xc3\xa9\r\n") },
	{ "bn", SV_B("\x01\x02"), V("\x01\x02\x00\x00") },   /* binary(4) pads */
	{ "vb", SV_B(""), V("") },
	{ "bl", SV_B(""), V("") },
	{ "dt", { .kind = SV_DATE, .special = SVS_ZERO, .i = 0 }, V("0000-00-00") },
	{ "tm6", { .kind = SV_TIME, .i = INT64_C(3020399999999) }, V("838:59:59.999999") },
	{ "dtm", { .kind = SV_TIMESTAMP, .special = SVS_ZERO, .i = 0 }, V("0000-00-00 00:00:00") },
	{ "dtm6", { .kind = SV_TIMESTAMP, .i = INT64_C(-63082281600000000) },
	  V("0001-01-01 00:00:00.000000") },
	{ "ts3", { .kind = SV_TIMESTAMPTZ, .i = -946684800000000 + 1000 },
	  V("1970-01-01 00:00:00.001") },
	{ "y", SV_N("0"), V("0000") },
	{ "e", SV_R("back\\slash"), V("back\\slash") },
	{ "st", SV_R(""), V("") },
	{ "bt10", SV_R("\x00\x00"), V("\x00\x00") },
	{ "u", SV_R("00000000-0000-0000-0000-000000000000"),
	  V("00000000-0000-0000-0000-000000000000") },
	{ "j", SV_R("[]"), V("[]") },
	{ "we`ird", SV_T(HOSTILE), V(HOSTILE) },
	{ "g", SV_NUL, VNULL },
}, {
	{ "k", SV_N("3"), V("3") },
	{ "b1", SV_NUL, VNULL }, { "iu", SV_NUL, VNULL }, { "u64", SV_NUL, VNULL },
	{ "d12", { .kind = SV_FLOAT, .d = -0.5 }, V("-0.50") },
	{ "f", { .kind = SV_FLOAT, .d = 3.4028234663852886e38 }, V("3.4028234663852886e38") },
	{ "d", { .kind = SV_FLOAT, .d = 1.7976931348623157e308 }, V("1.7976931348623157e308") },
	{ "c5", SV_NUL, VNULL }, { "vc", SV_NUL, VNULL }, { "tx", SV_NUL, VNULL },
	{ "l1", SV_NUL, VNULL }, { "bn", SV_NUL, VNULL }, { "vb", SV_NUL, VNULL },
	{ "bl", SV_NUL, VNULL }, { "dt", SV_NUL, VNULL },
	{ "tm6", { .kind = SV_TIME, .i = -INT64_C(3020399999999) }, V("-838:59:59.999999") },
	{ "dtm", SV_NUL, VNULL },
	{ "dtm6", { .kind = SV_TIMESTAMP, .i = INT64_C(252455615999999999) },
	  V("9999-12-31 23:59:59.999999") },
	{ "ts3", SV_NUL, VNULL }, { "y", SV_NUL, VNULL }, { "e", SV_NUL, VNULL },
	{ "st", SV_R("x,y,z"), V("x,y,z") },
	{ "bt10", SV_R("\x03\xff"), V("\x03\xff") },
	{ "u", SV_NUL, VNULL }, { "j", SV_NUL, VNULL }, { "we`ird", SV_NUL, VNULL },
	{ "g", SV_NUL, VNULL },
} };

#define RT_ROWS (sizeof(rt_rows) / sizeof(rt_rows[0]))
#define RT_COLS (sizeof(rt_rows[0]) / sizeof(rt_rows[0][0]))

/* INSERT INTO lit_rt (...) VALUES (...), one row per rt_rows entry, through mariadb_ops.literal. */
static void rt_insert_sql(struct buf *sql, const struct tabdesc *t)
{
	struct tally_err err;

	buf_addstr(sql, "INSERT INTO lit_rt (");
	for (size_t j = 0; j < RT_COLS; j++) {
		if (j)
			buf_addstr(sql, ", ");
		mariadb_ops.quote_ident(sql, rt_rows[0][j].col);
	}
	buf_addstr(sql, ") VALUES\n");
	for (size_t i = 0; i < RT_ROWS; i++) {
		buf_addstr(sql, i ? "),\n(" : "(");
		for (size_t j = 0; j < RT_COLS; j++) {
			long ci = tabdesc_find(t, rt_rows[i][j].col);

			if (ci < 0)
				fail_msg("no column %s in lit_rt", rt_rows[i][j].col);
			if (j)
				buf_addstr(sql, ", ");
			if (mariadb_ops.literal(sql, &t->cols[ci], &rt_rows[i][j].v, &err) < 0)
				fail_msg("row %zu column %s: %s", i, rt_rows[i][j].col, err.msg);
		}
	}
	buf_addstr(sql, ")");
}

/*
 * Each value goes in as a literal and comes back byte for byte, once in a
 * session with NO_BACKSLASH_ESCAPES and ANSI_QUOTES and once in the
 * server's default mode.
 */
static void test_literal_round_trip(void **state)
{
	static const char *const modes[] = {
		"SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES,STRICT_ALL_TABLES'",
		"SET SESSION sql_mode = DEFAULT",
	};
	struct cc_val exp[RT_ROWS * RT_COLS];
	struct conn *c = open_tally();
	struct buf sql = BUF_INIT;
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "lit_rt", &t);
	assert_int_equal(t.ncols, RT_COLS);
	close_conn(c);
	for (size_t i = 0; i < RT_ROWS; i++)
		for (size_t j = 0; j < RT_COLS; j++) {
			assert_string_equal(rt_rows[i][j].col, t.cols[j].name);
			exp[i * RT_COLS + j] = rt_rows[i][j].want;
		}
	rt_insert_sql(&sql, &t);

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		admin_sql("USE " DB);
		admin_sql("SET time_zone = '+00:00'");
		admin_sql(modes[m]);
		if (mysql_real_query(admin, sql.data, sql.len) != 0)
			fail_msg("mode %zu: insert failed: %s", m, mysql_error(admin));
		/* no value was adjusted on the way in */
		assert_int_equal(mysql_warning_count(admin), 0);
		/* the float of row 3 is FLT_MAX exactly, which the scan prints in 6 digits */
		assert_string_equal(admin_value("SELECT f = 3.4028234663852886e38 FROM lit_rt "
		                                "WHERE k = 3"), "1");
		assert_string_equal(admin_value("SELECT f = CAST(0.1 AS FLOAT) FROM lit_rt "
		                                "WHERE k = 1"), "1");

		c = open_tally();
		cc_scan_init(&s, &t, "lit_rt", NULL, NULL, "*", "k");
		cc_scan_check(c, &s, exp, RT_ROWS);
		close_conn(c);
		admin_sql("DELETE FROM " DB ".lit_rt");
	}
	admin_sql("SET SESSION sql_mode = ''");
	buf_release(&sql);
	tabdesc_release(&t);
}

/* ---- ranges, chunk planning, position and load ---------------------------------- */

#define TNUM(lit) ((struct sqlval){ .kind = SV_NUMBER, .s = (lit), .len = sizeof(lit) - 1 })
#define TTXT(lit) ((struct sqlval){ .kind = SV_TEXT, .s = (lit), .len = sizeof(lit) - 1 })
#define TBYT(lit) ((struct sqlval){ .kind = SV_BYTES, .s = (lit), .len = sizeof(lit) - 1 })
#define TTS(x) ((struct sqlval){ .kind = SV_TIMESTAMP, .i = (x) })
#define TDAY INT64_C(86400000000)

/* Days from 2000-01-01 (the sqlval epoch). */
static int64_t civil_days(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

/* Sets a range on the first n key columns of a scan; NULL for no bound. */
static void scan_range(struct cc_scan *s, size_t n, const struct sqlval *lo,
                       const struct sqlval *hi, uint64_t limit)
{
	s->req.nlo = lo ? n : 0;
	s->req.lo = lo;
	s->req.nhi = hi ? n : 0;
	s->req.hi = hi;
	s->req.limit = limit;
}

/* Bounded scans of an integer key: lo, hi, both, limit, pages chained by their last key. */
static void test_range_int(void **state)
{
	const struct cc_val from6[] = {
		V("6"), V("8"), V("9"), V("10"), V("11"), V("12"), V("13"), V("14"), V("15"),
		V("16"), V("17"), V("18"), V("19"), V("20"),
	};
	const struct cc_val to10[] = {
		V("1"), V("2"), V("3"), V("4"), V("5"), V("6"), V("8"), V("9"), V("10"),
	};
	const struct cc_val mid[] = { V("6"), V("8"), V("9"), V("10") };
	const struct cc_val even[] = { V("6"), V("8"), V("10"), V("12"), V("14") };
	const struct cc_val q2[] = { V("11"), V("v11"), V("12"), V("v12") };
	const struct sqlval five = TNUM("5"), ten = TNUM("10"), fifteen = TNUM("15");
	const struct sqlval six5 = TNUM("6.5"), neg = TNUM("-1000"), zero = TNUM("0");
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "rng", &t);
	cc_scan_init(&s, &t, "rng", NULL, NULL, "id", "id");
	scan_range(&s, 1, &five, NULL, 0);
	cc_scan_check(c, &s, from6, 14);
	scan_range(&s, 1, NULL, &ten, 0);
	cc_scan_check(c, &s, to10, 9);
	scan_range(&s, 1, &five, &ten, 0);
	cc_scan_check(c, &s, mid, 4);
	scan_range(&s, 1, &six5, &ten, 0);            /* 6.5 is floored to 6 */
	cc_scan_check(c, &s, mid + 1, 3);
	scan_range(&s, 1, &neg, &zero, 0);
	cc_scan_check(c, &s, NULL, 0);
	scan_range(&s, 1, &ten, &five, 0);            /* an empty range */
	cc_scan_check(c, &s, NULL, 0);
	scan_range(&s, 0, NULL, NULL, 3);             /* a page without a bound */
	cc_scan_check(c, &s, to10, 3);
	scan_range(&s, 1, &five, &ten, 2);
	cc_scan_check(c, &s, mid, 2);
	/* with the user's where, which keeps its own parentheses */
	cc_scan_init(&s, &t, "rng", NULL, "id % 2 = 0 OR id = 1 -- a comment", "id", "id");
	scan_range(&s, 1, &five, &fifteen, 0);
	cc_scan_check(c, &s, even, 5);

	/* pages of 4, each starting after the last key of the one before */
	{
		const struct cc_val all[] = {
			V("1"), V("2"), V("3"), V("4"), V("5"), V("6"), V("8"), V("9"), V("10"),
			V("11"), V("12"), V("13"), V("14"), V("15"), V("16"), V("17"), V("18"),
			V("19"), V("20"),
		};
		char last[16] = "";
		size_t got = 0, pages = 0;

		cc_scan_init(&s, &t, "rng", NULL, NULL, "id", "id");
		for (;;) {
			struct sqlval lo = { .kind = SV_NUMBER, .s = last, .len = strlen(last) };
			struct tally_err err;
			struct rawrow *row;
			size_t n = 0;
			int rc;

			scan_range(&s, last[0] ? 1 : 0, last[0] ? &lo : NULL, NULL, 4);
			if (mariadb_ops.scan_open(c, &s.req, &err) < 0)
				fail_msg("scan_open: %s / %s", err.msg, err.detail);
			while ((rc = mariadb_ops.scan_next(c, &row, &err)) == 1) {
				assert_true(got < 19);
				assert_int_equal(row->len[0], all[got].len);
				assert_memory_equal(row->val[0], all[got].p, all[got].len);
				snprintf(last, sizeof(last), "%.*s", (int)row->len[0], row->val[0]);
				got++;
				n++;
			}
			assert_int_equal(rc, 0);
			mariadb_ops.scan_close(c);
			pages++;
			if (n < 4)
				break;
		}
		assert_int_equal(got, 19);
		assert_int_equal(pages, 5);
	}
	tabdesc_release(&t);

	/* a query source takes ranges too */
	cc_describe_query_ok(c, "SELECT id, v FROM rng WHERE id > 2", &t);
	cc_scan_init(&s, &t, NULL, "SELECT id, v FROM rng WHERE id > 2", NULL, "id,v", "id");
	scan_range(&s, 1, &ten, NULL, 2);
	cc_scan_check(c, &s, q2, 2);
	tabdesc_release(&t);
	close_conn(c);
}

/* A composite key (b utf8mb4_bin, a): tuples compared in index order. */
static void test_range_composite(void **state)
{
	const struct sqlval a3[] = { TTXT("a"), TNUM("3") }, x1[] = { TTXT("x"), TNUM("1") };
	const struct sqlval B1[] = { TTXT("B"), TNUM("1") }, b[] = { TTXT("b") };
	const struct cc_val after_a3[] = { V("b"), V("1"), V("x"), V("1"), V("x"), V("2") };
	const struct cc_val to_x1[] = {
		V("B"), V("1"), V("a"), V("3"), V("b"), V("1"), V("x"), V("1"),
	};
	const struct cc_val after_b[] = { V("x"), V("1"), V("x"), V("2") };
	const struct cc_val to_b[] = { V("B"), V("1"), V("a"), V("3"), V("b"), V("1") };
	const struct cc_val both[] = { V("a"), V("3"), V("b"), V("1"), V("x"), V("1") };
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "comp", &t);
	cc_scan_init(&s, &t, "comp", NULL, NULL, "b,a", "b,a");
	scan_range(&s, 2, a3, NULL, 0);
	cc_scan_check(c, &s, after_a3, 3);
	scan_range(&s, 2, NULL, x1, 0);
	cc_scan_check(c, &s, to_x1, 4);
	scan_range(&s, 2, B1, x1, 0);
	cc_scan_check(c, &s, both, 3);
	scan_range(&s, 2, B1, x1, 2);
	cc_scan_check(c, &s, both, 2);
	/* a bound on the first column only */
	scan_range(&s, 1, b, NULL, 0);
	cc_scan_check(c, &s, after_b, 2);
	scan_range(&s, 1, NULL, b, 0);
	cc_scan_check(c, &s, to_b, 3);
	/* a page after a whole key, within a chunk bounded on the first column */
	{
		const struct sqlval x[] = { TTXT("x") };

		scan_range(&s, 2, a3, NULL, 0);
		s.req.nhi = 1;
		s.req.hi = x;
		cc_scan_check(c, &s, after_a3, 3);
		scan_range(&s, 2, NULL, x1, 0);
		s.req.nlo = 1;
		s.req.lo = b;
		cc_scan_check(c, &s, after_b, 1);
		/* both bounds over the whole key */
		scan_range(&s, 0, NULL, NULL, 0);
		s.req.nlo = 2;
		s.req.nhi = 2;
		s.req.lo = B1;
		s.req.hi = x1;
		cc_scan_check(c, &s, both, 3);
		/* a count beyond the key, or a bound without its count, is refused */
		for (int k = 0; k < 2; k++) {
			struct tally_err err;

			scan_range(&s, 0, NULL, NULL, 0);
			s.req.nlo = 1;
			s.req.lo = b;
			s.req.hi = x1;
			s.req.nhi = k ? 0 : 3;
			assert_int_equal(mariadb_ops.scan_open(c, &s.req, &err), -1);
			assert_int_equal(err.kind, ERR_INTERNAL);
			assert_string_equal(err.msg, "invalid scan request for " DB ".comp on source "
			                    "system 'legacy'");
		}
	}
	/* pages of two chained by their last key */
	scan_range(&s, 0, NULL, NULL, 2);
	cc_scan_check(c, &s, to_x1, 2);
	scan_range(&s, 2, a3, NULL, 2);
	cc_scan_check(c, &s, after_a3, 2);
	scan_range(&s, 2, x1, NULL, 2);
	cc_scan_check(c, &s, after_a3 + 4, 1);
	{
		const struct sqlval x2[] = { TTXT("x"), TNUM("2") };

		scan_range(&s, 2, x2, NULL, 2);
		cc_scan_check(c, &s, NULL, 0);
	}
	tabdesc_release(&t);
	close_conn(c);
}

/* Text bounds compare in the column's collation; other types in their own order. */
static void test_range_types(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;
	struct tally_err err;
	char want[512];

	(void)state;
	/* utf8mb4_general_ci: 'APPLE' is 'apple' */
	cc_describe_ok(c, "ci_pk", &t);
	cc_scan_init(&s, &t, "ci_pk", NULL, NULL, "k", "k");
	{
		const struct sqlval lo = TTXT("APPLE"), hi = TTXT("SS");
		const struct cc_val exp[] = { V("B"), V("éclair"), V("ß"), V("Zebra") };

		scan_range(&s, 1, &lo, NULL, 0);
		cc_scan_check(c, &s, exp, 4);
		scan_range(&s, 1, &lo, &hi, 0);       /* 'ß' = 's' under general_ci, < 'SS' */
		cc_scan_check(c, &s, exp, 3);
	}
	tabdesc_release(&t);

	/* latin1_swedish_ci: 'Ä' after 'Z'; a bound it cannot hold is refused */
	cc_describe_ok(c, "l1_pk", &t);
	cc_scan_init(&s, &t, "l1_pk", NULL, NULL, "k", "k");
	{
		const struct sqlval lo = TTXT("zebra"), hi = TTXT("Apple"), bad = TTXT("\xc4\x81");
		const struct cc_val after[] = { V("Äpfel"), V("ß") }, upto[] = { V("a"), V("apple") };

		scan_range(&s, 1, &lo, NULL, 0);
		cc_scan_check(c, &s, after, 2);
		scan_range(&s, 1, NULL, &hi, 0);
		cc_scan_check(c, &s, upto, 2);
		scan_range(&s, 1, &bad, NULL, 0);
		err_clear(&err);
		assert_int_equal(mariadb_ops.scan_open(c, &s.req, &err), -1);
		assert_int_equal(err.kind, ERR_DATA);
		snprintf(want, sizeof(want), "[source pid %ld] cannot read a range of " DB ".l1_pk on "
		         "source system 'legacy': cannot write a range bound for column 'k' "
		         "(varchar(20)): text holds a character the column's character set cannot "
		         "hold", c->backend_pid);
		assert_string_equal(err.msg, want);
		assert_false(c->failed);
	}
	tabdesc_release(&t);

	/* DATETIME: fractions floored, years past 9999 clamped, the zero date first */
	cc_describe_ok(c, "dtk", &t);
	cc_scan_init(&s, &t, "dtk", NULL, NULL, "dt", "dt");
	{
		const int64_t jan1 = civil_days(2024, 1, 1) * TDAY, y10k = civil_days(10000, 1, 1) * TDAY;
		const struct sqlval half = TTS(jan1 + 500000), one9 = TTS(jan1 + 1900000);
		const struct sqlval far = TTS(y10k), zero = { .kind = SV_TIMESTAMP,
		                                             .special = SVS_ZERO, .i = 0 };
		const struct cc_val all[] = {
			V("0000-00-00 00:00:00"), V("2024-01-01 00:00:00"), V("2024-01-01 00:00:01"),
			V("2024-01-01 00:00:02"), V("9999-12-31 23:59:59"),
		};

		scan_range(&s, 1, &half, NULL, 0);
		cc_scan_check(c, &s, all + 2, 3);
		scan_range(&s, 1, NULL, &one9, 0);
		cc_scan_check(c, &s, all, 3);
		scan_range(&s, 1, &far, NULL, 0);
		cc_scan_check(c, &s, NULL, 0);
		scan_range(&s, 1, NULL, &far, 0);
		cc_scan_check(c, &s, all, 5);
		scan_range(&s, 1, &zero, NULL, 0);
		cc_scan_check(c, &s, all + 1, 4);
	}
	tabdesc_release(&t);

	/* YEAR: the server would read 5 as 2005 */
	cc_describe_ok(c, "yk", &t);
	cc_scan_init(&s, &t, "yk", NULL, NULL, "y", "y");
	{
		const struct sqlval five = TNUM("5"), late = TNUM("3000"), half = TNUM("1999.5");
		const struct cc_val all[] = { V("0000"), V("1901"), V("1999"), V("2000"), V("2005"),
		                           V("2155") };

		scan_range(&s, 1, &five, NULL, 0);
		cc_scan_check(c, &s, all + 1, 5);
		scan_range(&s, 1, NULL, &late, 0);
		cc_scan_check(c, &s, all, 6);
		scan_range(&s, 1, &half, NULL, 0);
		cc_scan_check(c, &s, all + 3, 3);
	}
	tabdesc_release(&t);

	/* ENUM: by index (zeta, alpha, Mid), not by label text */
	cc_describe_ok(c, "ek", &t);
	cc_scan_init(&s, &t, "ek", NULL, NULL, "e", "e");
	{
		const struct sqlval zeta = TTXT("zeta"), alpha = TTXT("alpha");
		const struct cc_val all[] = { V("zeta"), V("alpha"), V("Mid") };

		scan_range(&s, 1, &zeta, NULL, 0);
		cc_scan_check(c, &s, all + 1, 2);
		scan_range(&s, 1, NULL, &alpha, 0);
		cc_scan_check(c, &s, all, 2);
	}
	tabdesc_release(&t);

	/* UUID: time-based ones by swapped segments */
	cc_describe_ok(c, "uk", &t);
	cc_scan_init(&s, &t, "uk", NULL, NULL, "u", "u");
	{
		const struct sqlval lo = TTXT("00000002-0000-1000-8000-000000000000");
		const struct cc_val all[] = {
			V("00000002-0000-1000-8000-000000000000"),
			V("00000001-0001-1000-8000-000000000000"),
			V("00000003-0000-0000-0000-000000000000"),
		};

		scan_range(&s, 0, NULL, NULL, 0);
		cc_scan_check(c, &s, all, 3);
		scan_range(&s, 1, &lo, NULL, 0);
		cc_scan_check(c, &s, all + 1, 2);
	}
	tabdesc_release(&t);

	/* BIT: as a number (X'0003' would compare as a string) */
	cc_describe_ok(c, "bk", &t);
	cc_scan_init(&s, &t, "bk", NULL, NULL, "b", "b");
	{
		const struct sqlval lo = TBYT("\x00\x03");
		const struct cc_val exp[] = { V("\x02\x01"), V("\x03\xff") };

		scan_range(&s, 1, &lo, NULL, 0);
		cc_scan_check(c, &s, exp, 2);
	}
	tabdesc_release(&t);
	close_conn(c);
}

/* The first row of an admin query as NUL-separated columns in a static buffer. */
static MYSQL_RES *admin_result(const char *sql)
{
	MYSQL_RES *r = NULL;

	if (mysql_query(admin, sql) != 0 || !(r = mysql_store_result(admin)))
		fail_msg("admin query failed: %s\n  %s", mysql_error(admin), sql);
	return r;
}

/* EXPLAIN sql as the admin: one table read by a range of its PRIMARY key, no sort. */
static void assert_primary_range(const char *sql)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	MYSQL_FIELD *f;
	long type = -1, key = -1, extra = -1;

	admin_sql("USE " DB);
	buf_addstr(&q, "EXPLAIN ");
	buf_addstr(&q, sql);
	r = admin_result(q.data);
	f = mysql_fetch_fields(r);
	for (unsigned int i = 0; i < mysql_num_fields(r); i++) {
		if (strcmp(f[i].name, "type") == 0)
			type = (long)i;
		else if (strcmp(f[i].name, "key") == 0)
			key = (long)i;
		else if (strcmp(f[i].name, "Extra") == 0)
			extra = (long)i;
	}
	assert_int_equal(mysql_num_rows(r), 1);
	row = mysql_fetch_row(r);
	assert_true(type >= 0 && key >= 0 && extra >= 0);
	if (!row[type] || strcmp(row[type], "range") != 0 || !row[key] ||
	    strcmp(row[key], "PRIMARY") != 0 || (row[extra] && strstr(row[extra], "filesort")))
		fail_msg("not a range of PRIMARY: type %s key %s extra %s\n  %s", row[type],
		         row[key], row[extra], sql);
	mysql_free_result(r);
	buf_release(&q);
}

/*
 * The statement a session is running, from the process list: a scan of a
 * large table is still running while the client has read only its first
 * row (the server waits to send the rest).
 */
static char *running_sql(const struct conn *c)
{
	char sql[128];
	MYSQL_RES *r;
	MYSQL_ROW row;
	char *out;

	snprintf(sql, sizeof(sql), "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = %ld",
	         c->backend_pid);
	r = admin_result(sql);
	row = mysql_fetch_row(r);
	if (!row || !row[0])
		fail_msg("session %ld runs no statement", c->backend_pid);
	out = strdup(row[0]);
	mysql_free_result(r);
	return out;
}

/* Opens a bounded scan, reads one row, EXPLAINs what the server runs, closes. */
static void explain_scan(struct conn *c, const struct cc_scan *s)
{
	struct tally_err err;
	struct rawrow *row;
	char *sql;

	if (mariadb_ops.scan_open(c, &s->req, &err) < 0)
		fail_msg("scan_open: %s / %s", err.msg, err.detail);
	assert_int_equal(mariadb_ops.scan_next(c, &row, &err), 1);
	sql = running_sql(c);
	assert_primary_range(sql);
	free(sql);
	mariadb_ops.scan_close(c);
}

/*
 * The statements scan_open sends read a range of the primary key in index
 * order: EXPLAIN says type=range, key=PRIMARY, and no filesort. So do bound
 * literals of a latin1 or utf8mb3 key, plain or in hex.
 */
static void test_range_explain(void **state)
{
	struct conn *c = open_tally();
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "big", &t);
	cc_scan_init(&s, &t, "big", NULL, NULL, "id,pad", "id");
	{
		const struct sqlval lo = TNUM("1000"), hi = TNUM("150000");

		scan_range(&s, 1, &lo, &hi, 0);
		explain_scan(c, &s);
		scan_range(&s, 1, &lo, NULL, 0);
		explain_scan(c, &s);
	}
	tabdesc_release(&t);

	cc_describe_ok(c, "pb_comp", &t);
	cc_scan_init(&s, &t, "pb_comp", NULL, NULL, "g,n,pad", "g,n");
	{
		const struct sqlval lo[] = { TTXT("g1"), TNUM("100") }, hi[] = { TTXT("g5"),
		                                                                 TNUM("5000") };

		scan_range(&s, 2, lo, hi, 0);
		explain_scan(c, &s);
		scan_range(&s, 1, lo, hi, 0);
		explain_scan(c, &s);
	}
	tabdesc_release(&t);

	cc_describe_ok(c, "pb_text", &t);
	cc_scan_init(&s, &t, "pb_text", NULL, NULL, "k,n", "k");
	{
		const struct sqlval lo = TTXT("Äa"), hi = TTXT("z\\");   /* plain, and in hex */

		scan_range(&s, 1, &lo, &hi, 0);
		explain_scan(c, &s);
	}
	tabdesc_release(&t);

	/* text bounds coerce to a latin1 or utf8mb3 key's collation */
	for (int tab = 0; tab < 2; tab++) {
		const char *name = tab ? "m3_big" : "l1_big";
		const struct sqlval lo = TTXT("B1\\"), hi = TTXT("Z99");
		struct buf sql = BUF_INIT;
		struct tally_err err;

		cc_describe_ok(c, name, &t);
		buf_addf(&sql, "SELECT k FROM %s WHERE k > ", name);
		assert_int_equal(mariadb_ops.bound_literal(&sql, &t.cols[0], &lo, &err), 0);
		buf_addstr(&sql, " AND k <= ");
		assert_int_equal(mariadb_ops.bound_literal(&sql, &t.cols[0], &hi, &err), 0);
		buf_addstr(&sql, " ORDER BY k");
		assert_non_null(strstr(sql.data, "> _utf8mb4 X'42315c' AND k <= 'Z99'"));
		assert_primary_range(sql.data);
		buf_release(&sql);
		tabdesc_release(&t);
	}
	close_conn(c);
}

/*
 * order_is_bytewise by type and collation, and the evidence for the text
 * cases: how the server orders '', '\t', 'a', 'a\t', 'a!', 'é', '€' in each.
 */
static void test_order_is_bytewise(void **state)
{
	static const struct { const char *col; bool bytewise; const char *ids; } colls[] = {
		{ "np", true, "1234567" },          /* UTF-8 bytes: '' '\t' 'a' 'a\t' 'a!' 'é' '€' */
		{ "m3", true, "1234567" },
		{ "pb", false, "2143567" },         /* PAD SPACE: '\t' < '' and 'a\t' < 'a' */
		{ "cn", false, "2143567" },         /* CHAR keeps its padding in the index */
		{ "l1", false, "1234576" },         /* latin1 bytes: '€' is 0x80, 'é' 0xe9 */
		{ "l1b", false, NULL }, { "an", true, NULL }, { "tn", true, NULL },
		{ "gc", false, NULL }, { "id", true, NULL },
	};
	struct conn *c = open_tally();
	struct tabdesc t;

	(void)state;
	cc_describe_ok(c, "types", &t);
	for (size_t i = 0; i < t.ncols; i++) {
		const struct coldesc *cd = &t.cols[i];
		bool want;

		switch (cd->type) {
		case LT_INT:
		case LT_DECIMAL:
		case LT_BYTES:
		case LT_DATE:
		case LT_TIME:
		case LT_TIMESTAMP:
		case LT_TIMESTAMPTZ:
		case LT_YEAR:
			want = true;
			break;
		default:                /* the text columns are utf8mb4_general_ci or latin1 */
			want = false;
			break;
		}
		if (mariadb_ops.order_is_bytewise(cd) != want)
			fail_msg("types.%s (%s): expected %s", cd->name, cd->native,
			         want ? "bytewise" : "not bytewise");
	}
	tabdesc_release(&t);

	cc_describe_ok(c, "colls", &t);
	for (size_t i = 0; i < sizeof(colls) / sizeof(colls[0]); i++) {
		long k = tabdesc_find(&t, colls[i].col);
		char keys[32];
		struct cc_val exp[7];
		struct cc_scan s;

		assert_true(k >= 0);
		if (mariadb_ops.order_is_bytewise(&t.cols[k]) != colls[i].bytewise)
			fail_msg("colls.%s (%s): expected %s", colls[i].col, t.cols[k].collation,
			         colls[i].bytewise ? "bytewise" : "not bytewise");
		if (!colls[i].ids)
			continue;
		for (size_t j = 0; j < 7; j++)
			exp[j] = (struct cc_val){ colls[i].ids + j, 1 };
		snprintf(keys, sizeof(keys), "%s", colls[i].col);
		cc_scan_init(&s, &t, "colls", NULL, NULL, "id", keys);
		cc_scan_check(c, &s, exp, 7);
	}
	tabdesc_release(&t);

	/* a query's text columns arrive as utf8mb4_general_ci, whatever their source */
	cc_describe_query_ok(c, "SELECT np, id FROM colls", &t);
	assert_false(mariadb_ops.order_is_bytewise(&t.cols[0]));
	assert_true(mariadb_ops.order_is_bytewise(&t.cols[1]));
	tabdesc_release(&t);
	close_conn(c);
}

/* A boundary's text as a bound for its column (the engine's job in tally). */
static struct sqlval text_bound(const struct coldesc *cd, const char *v, size_t n)
{
	struct sqlval b = { .kind = SV_TEXT, .s = v, .len = n };
	int y, mo, d, h, mi, se, f = 0;

	switch (cd->type) {
	case LT_INT:
		b.kind = SV_NUMBER;
		break;
	case LT_DATE:
		if (sscanf(v, "%d-%d-%d", &y, &mo, &d) != 3 || mo < 1 || d < 1)
			fail_msg("not a date: %s", v);
		b.kind = SV_DATE;
		b.i = civil_days(y, (unsigned)mo, (unsigned)d);
		break;
	case LT_TIMESTAMP:
		if (sscanf(v, "%d-%d-%d %d:%d:%d.%d", &y, &mo, &d, &h, &mi, &se, &f) < 6)
			fail_msg("not a datetime: %s", v);
		b.kind = SV_TIMESTAMP;
		b.i = civil_days(y, (unsigned)mo, (unsigned)d) * TDAY +
		      ((int64_t)h * 3600 + mi * 60 + se) * 1000000 + f;
		break;
	default:
		break;
	}
	return b;
}

/* Rows of s between two boundaries (NULL: none), counted with a bounded scan. */
static size_t count_range(struct conn *c, struct cc_scan *s, const struct keybounds *kb, long lo,
                          long hi)
{
	const struct tabdesc *d = s->req.desc;
	struct sqlval lov[8], hiv[8];
	struct tally_err err;
	struct rawrow *row;
	size_t n = 0;
	int rc;

	assert_true(kb->ncols <= 8);
	for (size_t j = 0; j < kb->ncols; j++) {
		const struct coldesc *cd = &d->cols[s->key[j]];

		if (lo >= 0)
			lov[j] = text_bound(cd, kb->val[(size_t)lo * kb->ncols + j],
			                    kb->len[(size_t)lo * kb->ncols + j]);
		if (hi >= 0)
			hiv[j] = text_bound(cd, kb->val[(size_t)hi * kb->ncols + j],
			                    kb->len[(size_t)hi * kb->ncols + j]);
	}
	scan_range(s, kb->ncols, lo >= 0 ? lov : NULL, hi >= 0 ? hiv : NULL, 0);
	if (mariadb_ops.scan_open(c, &s->req, &err) < 0)
		fail_msg("scan_open: %s / %s", err.msg, err.detail);
	while ((rc = mariadb_ops.scan_next(c, &row, &err)) == 1)
		n++;
	if (rc < 0)
		fail_msg("scan_next: %s / %s", err.msg, err.detail);
	mariadb_ops.scan_close(c);
	return n;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Plans table by keys in chunks of chunk_rows and checks the result: ncols
 * boundaries, the same twice, every row in exactly one range (the counts
 * of the bounded scans add up to the table's), each range within 3x of
 * chunk_rows, which also makes the boundaries strictly increasing (a
 * range (b, b'] that holds rows has b < b'). The chunk sizes are printed.
 */
static void check_plan(struct conn *c, const char *table, const char *keys, uint64_t chunk,
                       size_t ncols, struct keybounds *kb)
{
	struct tabdesc t;
	struct cc_scan s;
	struct keybounds again;
	struct tally_err err;
	char sql[256], sizes[1024];
	size_t total, sum = 0, o = 0, *counts;
	double t0, ms;

	cc_describe_ok(c, table, &t);
	cc_scan_init(&s, &t, table, NULL, NULL, keys, keys);
	t0 = now_ms();
	if (mariadb_ops.plan_bounds(c, &s.req, chunk, 0, kb, &err) < 0)
		fail_msg("plan_bounds(%s): %s / %s", table, err.msg, err.detail);
	ms = now_ms() - t0;
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM " DB ".%s", table);
	total = (size_t)strtoull(admin_value(sql), NULL, 10);
	assert_true(kb->rows >= (double)total / 2 && kb->rows <= (double)total * 2);
	assert_int_equal(kb->ncols, ncols);
	assert_true(kb->n >= total / chunk / 3);
	if (mariadb_ops.plan_bounds(c, &s.req, chunk, 0, &again, &err) < 0)
		fail_msg("plan_bounds(%s): %s / %s", table, err.msg, err.detail);
	assert_int_equal(again.n, kb->n);
	assert_int_equal(again.ncols, kb->ncols);
	for (size_t i = 0; i < kb->n * kb->ncols; i++) {
		assert_int_equal(again.len[i], kb->len[i]);
		assert_memory_equal(again.val[i], kb->val[i], kb->len[i]);
	}
	keybounds_release(&again);

	counts = calloc(kb->n + 1, sizeof(*counts));
	for (long i = 0; i <= (long)kb->n; i++) {
		counts[i] = count_range(c, &s, kb, i - 1, i < (long)kb->n ? i : -1);
		sum += counts[i];
		o += (size_t)snprintf(sizes + o, sizeof(sizes) - o, "%s%zu", i ? " " : "", counts[i]);
		if (o >= sizeof(sizes))
			o = sizeof(sizes) - 1;
	}
	print_message("# %s: %zu rows (estimate %.0f), %zu ranges planned in %.0f ms: %s\n", table,
	              total, kb->rows, kb->n + 1, ms, sizes);
	for (size_t i = 0; i <= kb->n; i++)
		if (counts[i] < chunk / 3 || counts[i] > 3 * chunk)
			fail_msg("%s: range %zu holds %zu rows, chunk_rows %" PRIu64, table, i,
			         counts[i], chunk);
	free(counts);
	assert_int_equal(sum, total);
	tabdesc_release(&t);
}

/*
 * Chunk planning on ~200k rows with chunk_rows 20000 (sizes printed).
 *
 * Bisection of the skewed integer key refines where its rows are: the
 * band 50000003..50360001 holds 90% of the rows in 0.4% of the range and
 * gets all 8 boundaries. Measured on MariaDB 10.11 here: 33 EXPLAINs
 * (of 104 allowed) in 1 ms, ranges of 11249 24423 24423 24421 24423 24423
 * 24423 24422 17793 rows. Without scaling the estimates to TABLE_ROWS
 * they were 2x too high in the band (InnoDB doubles an extrapolated
 * count) and the ranges half as large.
 *
 * Stepping walks the primary key once, server-side: for the 200k-row
 * utf8mb4_general_ci key (rows of ~40 bytes), 10 steps, one that finds no
 * row and one remainder count, 19-21 ms here with the table in the buffer
 * pool, about what one full scan costs the server without sending rows;
 * ranges of exactly 20000 rows. A table on disk pays one read of its
 * clustered index.
 */
static void test_plan_bounds(void **state)
{
	struct conn *c = open_tally();
	struct keybounds kb;
	size_t in_band = 0;
	long long prev = LLONG_MIN;

	(void)state;
	check_plan(c, "pb_skew", "id", 20000, 1, &kb);
	for (size_t i = 0; i < kb.n; i++) {
		long long v = strtoll(kb.val[i], NULL, 10);

		assert_true(v > prev);          /* numerically increasing */
		prev = v;
		in_band += v >= 50000003 && v <= 50360001;
	}
	assert_true(in_band >= 7);
	keybounds_release(&kb);

	check_plan(c, "pb_text", "k", 20000, 1, &kb);     /* stepping */
	assert_int_equal(kb.n, 9);
	keybounds_release(&kb);

	check_plan(c, "pb_comp", "g,n", 20000, 2, &kb);   /* stepping on (varchar, int) */
	assert_int_equal(kb.n, 9);
	keybounds_release(&kb);

	/* three values of t: bisection cannot split them, stepping can */
	check_plan(c, "pb_heavy", "t,n", 20000, 2, &kb);
	assert_int_equal(kb.n, 9);
	keybounds_release(&kb);

	/* DATETIME(6): split on whole seconds, written as the column's text */
	check_plan(c, "pb_dt", "ts", 20000, 1, &kb);
	for (size_t i = 0; i < kb.n; i++) {
		assert_int_equal(kb.len[i], 26);
		assert_string_equal(kb.val[i] + 19, ".000000");
	}
	keybounds_release(&kb);

	/* DATE: bisection starts after the zero date, which joins the first range */
	check_plan(c, "pb_date", "d", 100, 1, &kb);
	assert_true(kb.n >= 6);
	assert_true(strcmp(kb.val[0], "2000-01-01") > 0);
	keybounds_release(&kb);
	close_conn(c);
}

/* No boundaries: a small table, a query, an enum key, a key not the primary key. */
static void test_plan_none(void **state)
{
	struct conn *c = open_tally();
	struct keybounds kb;
	struct tally_err err;
	struct tabdesc t;
	struct cc_scan s;

	(void)state;
	cc_describe_ok(c, "rng", &t);
	cc_scan_init(&s, &t, "rng", NULL, NULL, "id", "id");
	assert_int_equal(mariadb_ops.plan_bounds(c, &s.req, 20000, 0, &kb, &err), 0);
	assert_int_equal(kb.n, 0);
	assert_true(kb.rows == 19);
	keybounds_release(&kb);
	tabdesc_release(&t);

	cc_describe_query_ok(c, "SELECT id FROM big", &t);
	cc_scan_init(&s, &t, NULL, "SELECT id FROM big", NULL, "id", "id");
	assert_int_equal(mariadb_ops.plan_bounds(c, &s.req, 1000, 0, &kb, &err), 0);
	assert_int_equal(kb.n, 0);
	keybounds_release(&kb);
	tabdesc_release(&t);

	cc_describe_ok(c, "ek", &t);
	cc_scan_init(&s, &t, "ek", NULL, NULL, "e", "e");
	assert_int_equal(mariadb_ops.plan_bounds(c, &s.req, 1, 0, &kb, &err), 0);
	assert_int_equal(kb.n, 0);
	assert_true(kb.rows == 3);
	keybounds_release(&kb);
	tabdesc_release(&t);

	cc_describe_ok(c, "big", &t);
	cc_scan_init(&s, &t, "big", NULL, NULL, "pad,id", "pad,id");
	assert_int_equal(mariadb_ops.plan_bounds(c, &s.req, 1000, 0, &kb, &err), 0);
	assert_int_equal(kb.n, 0);
	keybounds_release(&kb);
	tabdesc_release(&t);

	/* stepping, exactly: 'a\t' 'a' | 'Äpfel' 'apple' | 'B' 'éclair' | 'ß' 'Zebra' */
	cc_describe_ok(c, "ci_pk", &t);
	cc_scan_init(&s, &t, "ci_pk", NULL, NULL, "k", "k");
	assert_int_equal(mariadb_ops.plan_bounds(c, &s.req, 2, 0, &kb, &err), 0);
	assert_int_equal(kb.n, 3);
	assert_int_equal(kb.ncols, 1);
	assert_string_equal(kb.val[0], "a");
	assert_string_equal(kb.val[1], "apple");
	assert_string_equal(kb.val[2], "éclair");
	keybounds_release(&kb);
	/* the last chunk keeps a remainder of at least half a chunk */
	assert_int_equal(mariadb_ops.plan_bounds(c, &s.req, 3, 0, &kb, &err), 0);
	assert_int_equal(kb.n, 2);
	assert_string_equal(kb.val[0], "Äpfel");
	assert_string_equal(kb.val[1], "éclair");
	keybounds_release(&kb);
	tabdesc_release(&t);
	close_conn(c);
}

/*
 * position: "gtid <gtid_binlog_pos>" with binary logging on, else
 * "gtid <gtid_current_pos>", else "binlog off" (the test server runs with
 * --skip-log-bin). load: Threads_running less this session; another
 * session streaming a table counts. MariaDB sessions share no snapshot.
 */
static void test_position_and_load(void **state)
{
	struct conn *c = open_tally(), *other;
	struct tally_err err;
	char *pos, want[256];
	long load;
	MYSQL_RES *r;
	MYSQL_ROW row;

	(void)state;
	r = admin_result("SELECT @@GLOBAL.log_bin, @@GLOBAL.gtid_binlog_pos, "
	                 "@@GLOBAL.gtid_current_pos");
	row = mysql_fetch_row(r);
	if (strcmp(row[0], "1") == 0 && row[1][0])
		snprintf(want, sizeof(want), "gtid %s", row[1]);
	else if (row[2][0])
		snprintf(want, sizeof(want), "gtid %s", row[2]);
	else
		snprintf(want, sizeof(want), "%s", strcmp(row[0], "1") == 0 ? "gtid none"
		         : "binlog off");
	mysql_free_result(r);
	assert_int_equal(mariadb_ops.position(c, &pos, &err), 0);
	assert_string_equal(pos, want);
	if (strcmp(admin_value("SELECT @@GLOBAL.log_bin"), "0") == 0)
		assert_string_equal(pos, "binlog off");
	free(pos);

	assert_int_equal(mariadb_ops.load(c, &load, &err), 0);
	assert_true(load >= 0);
	{
		struct tabdesc t;
		struct cc_scan s;
		struct rawrow *rr;

		other = open_tally();
		cc_describe_ok(other, "big", &t);
		cc_scan_init(&s, &t, "big", NULL, NULL, "id,pad", "id");
		assert_int_equal(mariadb_ops.scan_open(other, &s.req, &err), 0);
		assert_int_equal(mariadb_ops.scan_next(other, &rr, &err), 1);
		assert_int_equal(mariadb_ops.load(c, &load, &err), 0);
		assert_true(load >= 1);
		/* a session with a scan open cannot ask */
		assert_int_equal(mariadb_ops.load(other, &load, &err), -1);
		assert_int_equal(err.kind, ERR_INTERNAL);
		tabdesc_release(&t);
		close_conn(other);
	}
	close_conn(c);

	{
		struct dsnpair p;
		char hostport[128];
		struct conn_cfg cfg = { .system = "legacy", .side = "target", .txsnap = "00000003-1" };
		struct conn *x = NULL;

		snprintf(hostport, sizeof(hostport), "%s:%s", env.host, env.port);
		make_dsn(&p, env.user, env.password, hostport, DB);
		cfg.dsn = p.dsn;
		cfg.dsn_shown = p.shown;
		err_clear(&err);
		assert_int_equal(mariadb_ops.open(&x, &cfg, &err), -1);
		assert_null(x);
		assert_int_equal(err.kind, ERR_INTERNAL);
		assert_string_equal(err.msg, "cannot open target system 'legacy' on a shared "
		                    "snapshot: MariaDB sessions cannot share one");
	}
}

/* ---- repair scripts through the real client ------------------------------------ */

#define REP_TABLE "rep`a'i\\r"
#define REP_SQL "`" DB "`.`rep``a'i\\r`"

/* Every row of the repair table, each value in hex, so a comparison is byte for byte. */
static char *rep_dump(void)
{
	struct buf out = BUF_INIT;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	unsigned long *len;

	if (mysql_query(admin, "SELECT * FROM " REP_SQL " ORDER BY `k``ey`, BINARY code") != 0 ||
	    !(r = mysql_store_result(admin)))
		fail_msg("dump failed: %s", mysql_error(admin));
	while ((row = mysql_fetch_row(r))) {
		len = mysql_fetch_lengths(r);
		for (unsigned int i = 0; i < mysql_num_fields(r); i++) {
			if (i)
				buf_addch(&out, '|');
			if (row[i])
				buf_addhex(&out, row[i], len[i]);
			else
				buf_addstr(&out, "NULL");
		}
		buf_addch(&out, '\n');
	}
	mysql_free_result(r);
	return buf_detach(&out, NULL);
}

/* The same, as text, for readable expectations ("1|a|abc|10|1.5|00"). */
static char *rep_text(void)
{
	struct buf out = BUF_INIT;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;

	if (mysql_query(admin, "SELECT `k``ey`, code, name, qty, price, HEX(raw) FROM " REP_SQL
	                " ORDER BY `k``ey`, BINARY code") != 0 || !(r = mysql_store_result(admin)))
		fail_msg("dump failed: %s", mysql_error(admin));
	while ((row = mysql_fetch_row(r))) {
		for (unsigned int i = 0; i < 6; i++)
			buf_addf(&out, "%s%s", i ? "|" : "", row[i] ? row[i] : "NULL");
		buf_addch(&out, '\n');
	}
	mysql_free_result(r);
	return buf_detach(&out, NULL);
}

/* A script under construction: the target's description and the text. */
struct script {
	struct tabdesc t;
	struct buf b;
};

/* Appends one staged row "(lit, ...)" from values of cols. */
static void script_row(struct script *sc, const size_t *cols, size_t n,
                       const struct sqlval *vals, bool last)
{
	struct tally_err err;

	buf_addch(&sc->b, '(');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(&sc->b, ", ");
		if (mariadb_ops.literal(&sc->b, &sc->t.cols[cols[i]], &vals[i], &err) < 0)
			fail_msg("literal for %s: %s", sc->t.cols[cols[i]].name, err.msg);
	}
	buf_addstr(&sc->b, last ? ");\n" : "),\n");
}

/* Stages rows (n values each) in a new stage of cols. */
static void script_stage(struct script *sc, const char *stage, const size_t *cols, size_t n,
                         const struct sqlval *rows, size_t nrows)
{
	const struct script_ops *ops = mariadb_ops.script;

	ops->stage(&sc->b, stage, &sc->t, cols, n, false);
	ops->stage_rows(&sc->b, stage);
	for (size_t i = 0; i < nrows; i++)
		script_row(sc, cols, n, rows + i * n, i + 1 == nrows);
}

/*
 * Runs a script file with the real client as the admin user (the password
 * in MYSQL_PWD); returns its exit status, stderr in err (stdout, the
 * script's success line, is dropped: it is not TAP).
 */
static int run_client(const struct buf *script, char *err, size_t cap)
{
	char file[] = "/tmp/tally_my_script_XXXXXX", errfile[] = "/tmp/tally_my_err_XXXXXX";
	char cmd[2048];
	int fd = mkstemp(file), efd = mkstemp(errfile), rc;
	FILE *fp;
	size_t n;

	assert_true(fd >= 0 && efd >= 0);
	assert_int_equal(write(fd, script->data, script->len), (ssize_t)script->len);
	close(fd);
	close(efd);
	snprintf(cmd, sizeof(cmd), "mariadb --no-defaults -h %s -P %s -u %s -D %s < %s > /dev/null 2> %s",
	         env.host, env.port, env.admin_user, DB, file, errfile);
	setenv("MYSQL_PWD", env.admin_password, 1);
	rc = system(cmd);
	unsetenv("MYSQL_PWD");
	fp = fopen(errfile, "r");
	assert_non_null(fp);
	n = fread(err, 1, cap - 1, fp);
	err[n] = '\0';
	fclose(fp);
	unlink(file);
	unlink(errfile);
	assert_true(WIFEXITED(rc));
	return WEXITSTATUS(rc);
}

/*
 * The script fails in the client with msg, raised by SIGNAL (ERROR 1644,
 * SQLSTATE 45000), and the table is byte for byte as it was.
 */
static void expect_script_fails(const struct buf *script, const char *msg)
{
	char err[4096], *before = rep_dump(), *after;

	assert_int_equal(run_client(script, err, sizeof(err)), 1);
	if (!strstr(err, msg))
		fail_msg("unexpected stderr: %s", err);
	assert_non_null(strstr(err, "ERROR 1644 (45000)"));
	after = rep_dump();
	assert_string_equal(after, before);
	free(before);
	free(after);
}

#define SN(lit) ((struct sqlval){ .kind = SV_NUMBER, .s = (lit), .len = sizeof(lit) - 1 })
#define ST(lit) ((struct sqlval){ .kind = SV_TEXT, .s = (lit), .len = sizeof(lit) - 1 })
#define SB(lit) ((struct sqlval){ .kind = SV_BYTES, .s = (lit), .len = sizeof(lit) - 1 })
#define SF(x) ((struct sqlval){ .kind = SV_FLOAT, .d = (x) })
#define SNULLV ((struct sqlval){ .kind = SV_NULL })

/* Columns of the repair table: 0 k`ey, 1 code, 2 name, 3 qty, 4 price, 5 raw. */
static const size_t rep_key[] = { 0, 1 };
static const size_t rep_all[] = { 0, 1, 2, 3, 4, 5 };
static const size_t rep_guard[] = { 2, 3, 4, 5 };
static const size_t rep_set[] = { 2, 4 };

static void script_open(struct script *sc)
{
	struct conn *c = open_tally();

	cc_describe_ok(c, REP_TABLE, &sc->t);
	close_conn(c);
	assert_int_equal(sc->t.ncols, 6);
	assert_int_equal(sc->t.npk, 2);
	buf_init(&sc->b);
	mariadb_ops.script->begin(&sc->b);
}

static void script_close(struct script *sc)
{
	buf_release(&sc->b);
	tabdesc_release(&sc->t);
}

static void rep_seed(void)
{
	admin_sql("SET SESSION sql_mode = ''");
	admin_sql("DELETE FROM " REP_SQL);
	admin_sql("INSERT INTO " REP_SQL " VALUES (1, 'a', 'abc', 10, 1.5, X'00'),"
	          " (2, 'b', 'it''s', 20, 0.1, NULL), (3, 'c', 'x\\\\y', 30, NULL, X'ff'),"
	          " (4, 'd', 'del', 40, 2.5, NULL)");
}

/*
 * A script built only from script_ops and literal, run with the mariadb
 * client in a session with ANSI_QUOTES and NO_BACKSLASH_ESCAPES (an
 * operator's option file may set them): inserts a row of hostile text,
 * updates two rows, deletes one.
 */
static void test_script_applies(void **state)
{
	const struct sqlval ins[] = {
		SN("5"), ST("e"), ST(HOSTILE), SN("50"), SF(0.30000000000000004), SB("\\'"),
	};
	/* rows 1 and 2 as tally read them: key, then the guard columns */
	const struct sqlval old_upd[] = {
		SN("1"), ST("a"), ST("abc"), SN("10"), SF(1.5), SB("\x00"),
		SN("2"), ST("b"), ST("it's"), SN("20"), SF(0.1), SNULLV,
	};
	const size_t upd_old_cols[] = { 0, 1, 2, 3, 4, 5 };
	const struct sqlval new_upd[] = {
		SN("1"), ST("a"), ST("ABC"), SF(5e-324),
		SN("2"), ST("b"), ST("line\none // ;"), SNULLV,
	};
	const size_t upd_new_cols[] = { 0, 1, 2, 4 };
	const struct sqlval old_del[] = {
		SN("4"), ST("d"), ST("del"), SN("40"), SF(2.5), SNULLV,
	};
	const struct script_step steps[] = {
		{ .kind = STEP_INSERT, .check = "ins_check", .key = rep_key, .nkey = 2,
		  .new_stage = "tally_n1", .set = rep_all, .nset = 6, .rows = 1 },
		{ .kind = STEP_UPDATE, .check = "upd_check", .key = rep_key, .nkey = 2,
		  .old_stage = "tally_o2", .guard = rep_guard, .nguard = 4,
		  .new_stage = "tally_n2", .set = rep_set, .nset = 2, .rows = 2 },
		{ .kind = STEP_DELETE, .check = "del_check", .key = rep_key, .nkey = 2,
		  .old_stage = "tally_o3", .guard = rep_guard, .nguard = 4, .rows = 1 },
	};
	const struct script_ops *ops = mariadb_ops.script;
	struct script sc;
	char err[4096], *after;

	(void)state;
	cc_require(env.problem);
	rep_seed();
	script_open(&sc);
	script_stage(&sc, "tally_n1", rep_all, 6, ins, 1);
	script_stage(&sc, "tally_o2", upd_old_cols, 6, old_upd, 2);
	script_stage(&sc, "tally_n2", upd_new_cols, 4, new_upd, 2);
	script_stage(&sc, "tally_o3", rep_all, 6, old_del, 1);
	for (size_t i = 0; i < 3; i++) {
		struct script_step st = steps[i];

		st.t = &sc.t;
		ops->apply(&sc.b, &st);
	}
	ops->unstage(&sc.b, "tally_n1");
	ops->unstage(&sc.b, "tally_o2");
	ops->unstage(&sc.b, "tally_n2");
	ops->unstage(&sc.b, "tally_o3");
	ops->end(&sc.b, "tally: repair test applied: 0 rows (0 inserted, 0 updated, 0 deleted)");
	{
		/* what an option file might do before the script runs */
		struct buf run = BUF_INIT;

		buf_addstr(&run, "SET SESSION sql_mode = "
		           "CONCAT(@@sql_mode, ',ANSI_QUOTES,NO_BACKSLASH_ESCAPES');\n");
		buf_add(&run, sc.b.data, sc.b.len);
		if (run_client(&run, err, sizeof(err)) != 0)
			fail_msg("the client failed: %s", err);
		buf_release(&run);
	}
	assert_string_equal(err, "");
	after = rep_text();
	assert_string_equal(after,
		"1|a|ABC|10|5e-324|00\n"
		"2|b|line\none // ;|20|NULL|NULL\n"
		"3|c|x\\y|30|NULL|FF\n"
		"5|e|" HOSTILE "|50|0.30000000000000004|5C27\n");
	free(after);
	script_close(&sc);
}

/* A row changed after tally read it: the client fails, and nothing at all changes. */
static void test_script_drift(void **state)
{
	const struct sqlval ins[] = {
		SN("7"), ST("g"), ST(HOSTILE), SN("70"), SNULLV, SNULLV,
	};
	const struct sqlval old_upd[] = {
		SN("1"), ST("a"), ST("abc"), SN("10"), SF(1.5), SB("\x00"),
	};
	const struct sqlval new_upd[] = { SN("1"), ST("a"), ST("new"), SF(1.0) };
	const size_t upd_new_cols[] = { 0, 1, 2, 4 };
	const struct script_ops *ops = mariadb_ops.script;
	struct script_step st;
	struct script sc;
	char err[4096], *after;

	(void)state;
	cc_require(env.problem);
	rep_seed();
	script_open(&sc);
	/* a step that succeeds first: its insert must be rolled back too */
	script_stage(&sc, "tally_n1", rep_all, 6, ins, 1);
	script_stage(&sc, "tally_o2", rep_all, 6, old_upd, 1);
	script_stage(&sc, "tally_n2", upd_new_cols, 4, new_upd, 1);
	st = (struct script_step){ .kind = STEP_INSERT, .check = "ins_check", .t = &sc.t,
	                           .key = rep_key, .nkey = 2, .new_stage = "tally_n1",
	                           .set = rep_all, .nset = 6, .rows = 1 };
	ops->apply(&sc.b, &st);
	st = (struct script_step){ .kind = STEP_UPDATE, .check = "drift_check", .t = &sc.t,
	                           .key = rep_key, .nkey = 2, .old_stage = "tally_o2",
	                           .guard = rep_guard, .nguard = 4, .new_stage = "tally_n2",
	                           .set = rep_set, .nset = 2, .rows = 1 };
	ops->apply(&sc.b, &st);
	ops->end(&sc.b, "tally: repair test applied: 0 rows (0 inserted, 0 updated, 0 deleted)");

	/* case only: equal under utf8mb4_general_ci, different bytes */
	admin_sql("UPDATE " REP_SQL " SET name = 'ABC' WHERE `k``ey` = 1");
	assert_string_equal(admin_value("SELECT COUNT(*) FROM " REP_SQL " WHERE name = 'abc'"), "1");
	expect_script_fails(&sc.b, "tally: check drift_check: row k`ey='1', code='a' of " DB "."
	                    REP_TABLE " changed since tally read it");

	/* the same script on the rows as tally read them goes through */
	rep_seed();
	assert_int_equal(run_client(&sc.b, err, sizeof(err)), 0);
	after = rep_text();
	assert_string_equal(after,
		"1|a|new|10|1|00\n"
		"2|b|it's|20|0.1|NULL\n"
		"3|c|x\\y|30|NULL|FF\n"
		"4|d|del|40|2.5|NULL\n"
		"7|g|" HOSTILE "|70|NULL|NULL\n");
	free(after);
	script_close(&sc);
}

/* An INSERT whose key exists (under the key's collation) fails the whole script. */
static void test_script_insert_exists(void **state)
{
	const struct sqlval old_del[] = {
		SN("4"), ST("d"), ST("del"), SN("40"), SF(2.5), SNULLV,
	};
	const struct sqlval ins[] = {
		SN("8"), ST("h"), ST("fresh"), SN("80"), SNULLV, SNULLV,
		SN("3"), ST("C"), ST("clash"), SN("30"), SNULLV, SNULLV,
	};
	const struct script_ops *ops = mariadb_ops.script;
	struct script_step st;
	struct script sc;

	(void)state;
	cc_require(env.problem);
	rep_seed();
	script_open(&sc);
	script_stage(&sc, "tally_o1", rep_all, 6, old_del, 1);
	script_stage(&sc, "tally_n2", rep_all, 6, ins, 2);
	st = (struct script_step){ .kind = STEP_DELETE, .check = "del_check", .t = &sc.t,
	                           .key = rep_key, .nkey = 2, .old_stage = "tally_o1",
	                           .guard = rep_guard, .nguard = 4, .rows = 1 };
	ops->apply(&sc.b, &st);
	st = (struct script_step){ .kind = STEP_INSERT, .check = "exists_check", .t = &sc.t,
	                           .key = rep_key, .nkey = 2, .new_stage = "tally_n2",
	                           .set = rep_all, .nset = 6, .rows = 2 };
	ops->apply(&sc.b, &st);
	ops->unstage(&sc.b, "tally_o1");
	ops->unstage(&sc.b, "tally_n2");
	ops->end(&sc.b, "tally: repair test applied: 0 rows (0 inserted, 0 updated, 0 deleted)");

	expect_script_fails(&sc.b, "tally: check exists_check: row k`ey='3', code='C' of " DB "."
	                    REP_TABLE " already exists; nothing was changed");
	script_close(&sc);

	/* a guard that holds but a row count that does not: the step's count is checked */
	script_open(&sc);
	script_stage(&sc, "tally_o1", rep_all, 6, old_del, 1);
	st = (struct script_step){ .kind = STEP_DELETE, .check = "count_check", .t = &sc.t,
	                           .key = rep_key, .nkey = 2, .old_stage = "tally_o1",
	                           .guard = rep_guard, .nguard = 4, .rows = 2 };
	ops->apply(&sc.b, &st);
	ops->end(&sc.b, "tally: repair test applied: 0 rows (0 inserted, 0 updated, 0 deleted)");
	expect_script_fails(&sc.b, "tally: check count_check: deleted a different number of rows "
	                    "than 2; nothing was changed");
	script_close(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_and_quote_ident),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_error_mid_stream),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_describe_types),
		cmocka_unit_test(test_scan_types),
		cmocka_unit_test(test_describe_query),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_composite_and_where),
		cmocka_unit_test(test_query_source),
		cmocka_unit_test(test_enum_key),
		cmocka_unit_test(test_names_and_missing),
		cmocka_unit_test(test_bad_query),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_malformed_dsn),
		cmocka_unit_test(test_dsn_forms),
		cmocka_unit_test(test_lost_connection),
		cmocka_unit_test(test_scan_close_early),
		cmocka_unit_test(test_describe_fks),
		cmocka_unit_test(test_literal_round_trip),
		cmocka_unit_test(test_range_int),
		cmocka_unit_test(test_range_composite),
		cmocka_unit_test(test_range_types),
		cmocka_unit_test(test_range_explain),
		cmocka_unit_test(test_order_is_bytewise),
		cmocka_unit_test(test_plan_bounds),
		cmocka_unit_test(test_plan_none),
		cmocka_unit_test(test_position_and_load),
		cmocka_unit_test(test_script_applies),
		cmocka_unit_test(test_script_drift),
		cmocka_unit_test(test_script_insert_exists),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
