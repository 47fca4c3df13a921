/*
 * tests/integration/test_conn_postgres.c
 *   SOURCE: connectors/postgres/ against a real PostgreSQL started by
 *   scripts/servers.sh (export DIR/env first; without it the test fails).
 *
 * The group setup connects as the admin user with libpq, recreates the
 * database tally_test_conn_pg and seeds it; every test then opens sessions
 * through postgres_ops as the read-only user `tally` and asserts exact
 * descriptions, values, order and error messages. The admin connection
 * stays open to change data behind a session's back and to terminate its
 * backend.
 *
 * Repair scripts: values are written with postgres_ops.literal and read
 * back through a session byte for byte; scripts built from script_ops
 * alone run through the real psql ($TALLY_PG_BINDIR/psql) as the admin
 * user, and the table is compared in full afterwards, including when a
 * guard must stop the script.
 *
 * Chunked scans: rows come in the server's own key order (an ICU
 * collation's, an enum's declared order, NULLs last); bounded scans and
 * chained pages return exact rows; the statement the driver runs is taken
 * from pg_stat_activity while its COPY is open and EXPLAINed as the admin;
 * plan_bounds() splits tables of 200,000 rows (a skewed integer key, an
 * ICU text key, a composite key) into ranges whose rows are then counted
 * with bounded scans. Set TALLY_TEST_VERBOSE=1 to print the chunk sizes.
 *
 * What any connector test can use (the environment, dsns, describe and
 * scan by names, value and description checks) is in conn_common.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "../../connectors/connector.h"
#include "conn_common.h"

extern const struct conn_ops postgres_ops;

#define TEST_DB "tally_test_conn_pg"
#define SYSTEM "pgtest"

static const char *env_host, *env_port, *env_admin_user, *env_admin_pw, *env_user, *env_pw;
static PGconn *admin;               /* superuser, connected to TEST_DB */
static char collation[64];          /* a collation whose order is not bytewise */
static char dbcoll[128];            /* TEST_DB's default collation, as describe names it */
static char mon_pw[40];             /* password of MON_ROLE, random per run */
#define MON_ROLE "tally_test_monitor"
#define C_DB TEST_DB "_c"           /* a database whose default collation is "C" */
#define ICU_DB TEST_DB "_icu"       /* one whose default is ICU's root locale */
static struct cc_dsn tally_dsn;      /* the read-only user `tally` on TEST_DB */

/* Short names for the tables of expected values (struct cc_val). */
#define V CC_V
#define NUL CC_NULL

/* ---- setup --------------------------------------------------------- */

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *admin_connect(const char *db)
{
	const char *kw[] = { "host", "port", "user", "password", "dbname", NULL };
	const char *vals[] = { env_host, env_port, env_admin_user, env_admin_pw, db, NULL };
	PGconn *pg = PQconnectdbParams(kw, vals, 0);

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect as admin to %s: %s", db, PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, quiet, NULL);
	return pg;
}

static int exec_on(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "admin statement failed: %s\n%s\n", PQerrorMessage(pg), sql);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static void admin_exec(const char *sql)
{
	assert_int_equal(exec_on(admin, sql), 0);
}

/* One value from the admin connection, copied to out. */
static void admin_value(const char *sql, char *out, size_t cap)
{
	PGresult *res = PQexec(admin, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		fail_msg("admin query failed: %s: %s", sql, PQerrorMessage(admin));
	}
	snprintf(out, cap, "%s", PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
	PQclear(res);
}

#define SCHEMA_SQL \
	"CREATE EXTENSION citext;" \
	"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'Zany');" \
	"CREATE DOMAIN posint AS integer CHECK (VALUE > 0);" \
	"CREATE DOMAIN money2 AS numeric(10,2);" \
	"CREATE TABLE alltypes (" \
	"  id integer PRIMARY KEY," \
	"  c_dropme integer," \
	"  c_int2 smallint," \
	"  c_int8 bigint NOT NULL DEFAULT 0," \
	"  c_num numeric(12,2)," \
	"  c_numu numeric," \
	"  c_f4 real," \
	"  c_f8 double precision," \
	"  c_bool boolean," \
	"  c_text text," \
	"  c_vc varchar(20) COLLATE \"%s\"," \
	"  c_vcu varchar," \
	"  c_name name," \
	"  c_char char(5)," \
	"  c_bytea bytea," \
	"  c_date date," \
	"  c_time time(3)," \
	"  c_timeu time," \
	"  c_ts timestamp," \
	"  c_ts0 timestamp(0)," \
	"  c_tstz timestamptz(3)," \
	"  c_uuid uuid," \
	"  c_json json," \
	"  c_jsonb jsonb," \
	"  c_interval interval," \
	"  c_inet inet," \
	"  c_cidr cidr," \
	"  c_bit bit(4)," \
	"  c_varbit varbit(8)," \
	"  c_arr integer[]," \
	"  c_tarr text[]," \
	"  c_mood mood," \
	"  c_timetz timetz," \
	"  c_money money," \
	"  c_point point," \
	"  c_range int4range," \
	"  c_xml xml," \
	"  c_citext citext," \
	"  c_dom posint," \
	"  c_dom2 money2," \
	"  c_gen integer GENERATED ALWAYS AS (id * 2) STORED," \
	"  c_ctext text COLLATE \"C\"" \
	");" \
	"ALTER TABLE alltypes DROP COLUMN c_dropme;" \
	"INSERT INTO alltypes (id, c_int2, c_int8, c_num, c_numu, c_f4, c_f8, c_bool, c_text, c_vc," \
	"  c_vcu, c_name, c_char, c_bytea, c_date, c_time, c_timeu, c_ts, c_ts0, c_tstz, c_uuid," \
	"  c_json, c_jsonb, c_interval, c_inet, c_cidr, c_bit, c_varbit, c_arr, c_tarr, c_mood," \
	"  c_timetz, c_money, c_point, c_range, c_xml, c_citext, c_dom, c_dom2, c_ctext) VALUES" \
	" (1, -32768, 9223372036854775807, 1.50, 12345678901234567890.123456789, 0.1, 0.1, true," \
	"  E'a\\tb\\nc\\\\d\\re\\bf\\fg' || chr(11) || E'h\\x01i', 'Äpfel', '', 'name_1', 'ab'," \
	"  '\\x00015c410a09ff', 'infinity', '12:34:56.789', '23:59:59.999999'," \
	"  '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.6', '2024-01-02 03:04:05.123+02'," \
	"  'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{\"b\": 1, \"a\": [1, 2]}'," \
	"  '{\"b\": 1, \"a\": [1, 2]}', '1 day 02:03:04.5', '192.168.0.1/24', '10.0.0.0/8'," \
	"  B'1010', B'101', '{1,2,NULL}', '{\"a b\",\"c\\\"d\",\"\"}', 'happy', '12:00:00+02'," \
	"  12.34, '(1,2)', '[1,5)', '<a>x</a>', 'MiXed', 7, 3.1, 'Ω')," \
	" (2, NULL, DEFAULT, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL," \
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL," \
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)," \
	" (3, 32767, 0, -0.5, 'NaN', 'NaN', '-Infinity', false, '\\N', E'\\t', '\\', NULL, NULL," \
	"  '', '0044-03-15 BC', NULL, NULL, 'infinity', NULL, '-infinity', NULL, NULL, NULL," \
	"  NULL, NULL, NULL, NULL, NULL, '{}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL," \
	"  NULL, NULL, NULL);" \
	"CREATE TABLE words (w varchar(20) COLLATE \"%s\" PRIMARY KEY, n integer);" \
	"INSERT INTO words VALUES ('Äpfel', 1), ('apple', 2), ('Zebra', 3), ('éclair', 4), ('ß', 5);" \
	"CREATE VIEW v_words AS SELECT w, n FROM words;" \
	"CREATE TABLE nopk (k text, v integer);" \
	"INSERT INTO nopk VALUES ('b', 1), (NULL, 2), ('a', 3), ('', 4), ('B', 5);" \
	"CREATE TABLE comp (region text, dropme integer, n integer, val text, PRIMARY KEY (n, region));" \
	"ALTER TABLE comp DROP COLUMN dropme;" \
	"INSERT INTO comp VALUES ('b', 1, 'x'), ('a', 1, 'y'), ('z', 0, NULL), ('a', 2, 'w');" \
	"CREATE TABLE moods (m mood PRIMARY KEY);" \
	"INSERT INTO moods VALUES ('sad'), ('ok'), ('happy'), ('Zany');" \
	"CREATE TABLE \"Orders\" (id integer PRIMARY KEY, \"Amount\" numeric(10,2));" \
	"INSERT INTO \"Orders\" VALUES (1, 9.99);" \
	"CREATE SCHEMA s2;" \
	"CREATE TABLE s2.\"we\"\"ird\" (\"a\"\"b\" integer PRIMARY KEY, \"x y\" text);" \
	"INSERT INTO s2.\"we\"\"ird\" VALUES (2, 'two'), (1, 'one');" \
	"CREATE SEQUENCE some_seq;" \
	"GRANT USAGE ON SEQUENCE some_seq TO %s;" \
	"CREATE TABLE snap (id integer PRIMARY KEY);" \
	"INSERT INTO snap VALUES (1);" \
	"CREATE TABLE big (id integer PRIMARY KEY, h text, pad text);" \
	"INSERT INTO big SELECT g, md5(g::text), repeat('x', 150) FROM generate_series(1, 200000) g;" \
	"ANALYZE;"

/*
 * Keys for bounded scans and chunk planning. skew: 180,000 keys in a band
 * of 200,000 values, 20,000 spread over a billion. icukeys: md5 text, a
 * third upper case, under the ICU collation (%s), whose order interleaves
 * cases. comp2: 20 regions of 10,000 rows, rows of all regions on every page.
 * No autovacuum on the tables whose block and scan statistics tests read.
 */
#define CHUNK_SQL \
	"CREATE TABLE ck (region text, n integer, v text, PRIMARY KEY (region, n));" \
	"INSERT INTO ck SELECT r, n, r || n FROM unnest(ARRAY['b', 'a', 'c']) r," \
	"  generate_series(1, 3) n;" \
	"CREATE TABLE kt (id integer PRIMARY KEY, d date NOT NULL, ts0 timestamp(0) NOT NULL," \
	"  tz timestamptz(3) NOT NULL, u uuid NOT NULL, num numeric(6,2) NOT NULL, b bytea NOT NULL," \
	"  m mood NOT NULL, vc varchar(3) NOT NULL, ch char(3) NOT NULL, i2 smallint NOT NULL," \
	"  i8 bigint NOT NULL, bo boolean NOT NULL, t0 time(0) NOT NULL);" \
	"INSERT INTO kt VALUES" \
	" (1, '2024-01-01', '2024-01-01 00:00:00', '2024-01-01 00:00:00+00'," \
	"  '00000000-0000-0000-0000-000000000001', 1.00, '\\x00', 'sad', 'a', 'a', -32768," \
	"  -9223372036854775808, false, '00:00:00')," \
	" (2, '2024-01-02', '2024-01-01 00:00:01', '2024-01-01 00:00:00.001+00'," \
	"  '00000000-0000-0000-0000-000000000002', 1.55, '\\x0001', 'ok', 'ab', 'ab', 0, 0, true," \
	"  '00:00:01')," \
	" (3, 'infinity', '2024-01-01 00:00:02', 'infinity', 'ffffffff-ffff-ffff-ffff-ffffffffffff'," \
	"  1.56, '\\xff', 'happy', 'abc', 'abc', 32767, 9223372036854775807, true, '23:59:59');" \
	"CREATE TABLE skew (id bigint PRIMARY KEY, pad text);" \
	"INSERT INTO skew SELECT CASE WHEN mod(g, 10) = 0 THEN g::bigint * 5000 ELSE 1000000 + g END," \
	"  repeat('s', 100) FROM generate_series(1, 200000) g;" \
	"CREATE TABLE icukeys (k text COLLATE \"%s\" PRIMARY KEY, pad text);" \
	"INSERT INTO icukeys SELECT" \
	"  CASE WHEN mod(g, 3) = 0 THEN upper(md5(g::text)) ELSE md5(g::text) END," \
	"  repeat('i', 100) FROM generate_series(1, 200000) g;" \
	"CREATE TABLE comp2 (region text, n integer, pad text, PRIMARY KEY (region, n));" \
	"INSERT INTO comp2 SELECT 'region-' || mod(g, 20), g, repeat('c', 100)" \
	"  FROM generate_series(1, 200000) g;" \
	"ALTER TABLE skew SET (autovacuum_enabled = false);" \
	"ALTER TABLE comp2 SET (autovacuum_enabled = false);" \
	"ALTER TABLE big SET (autovacuum_enabled = false);" \
	"CREATE TABLE bw (id integer PRIMARY KEY, i2 smallint, i8 bigint, num numeric(10,2), f4 real," \
	"  f8 double precision, bo boolean, d date, t time, ts timestamp, tz timestamptz, u uuid," \
	"  by bytea, t_c text COLLATE \"C\", t_posix text COLLATE \"POSIX\", t_def text," \
	"  t_icu text COLLATE \"%s\", t_cutf8 text COLLATE \"C.utf8\", ch_c char(2) COLLATE \"C\"," \
	"  ch_def char(2), vc_c varchar(5) COLLATE \"C\", nm name, m mood, j jsonb, iv interval," \
	"  ip inet, bits bit(3), arr integer[]);"

/* Foreign keys, triggers, identity and defaults; every type a literal writes. */
#define REPAIR_SQL \
	"CREATE TABLE customers (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY," \
	"  region text NOT NULL DEFAULT 'eu', code text NOT NULL, UNIQUE (region, code));" \
	"CREATE TABLE cust_orders (no bigserial PRIMARY KEY," \
	"  cust_id integer REFERENCES customers ON DELETE CASCADE," \
	"  region text, code text, parent_no bigint, made timestamptz DEFAULT now()," \
	"  n integer GENERATED BY DEFAULT AS IDENTITY," \
	"  CONSTRAINT orders_cust_code_fk FOREIGN KEY (code, region)" \
	"    REFERENCES customers (code, region) ON UPDATE SET NULL ON DELETE RESTRICT," \
	"  CONSTRAINT orders_parent_fk FOREIGN KEY (parent_no) REFERENCES cust_orders (no)" \
	"    ON DELETE SET DEFAULT);" \
	"CREATE TABLE s2.notes (id integer PRIMARY KEY, cust integer," \
	"  CONSTRAINT \"note's cust\" FOREIGN KEY (cust) REFERENCES public.customers (id)" \
	"    ON UPDATE CASCADE);" \
	"CREATE TABLE parts (id integer PRIMARY KEY, cust integer REFERENCES customers)" \
	"  PARTITION BY RANGE (id);" \
	"CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (100);" \
	"CREATE FUNCTION trg_pass() RETURNS trigger LANGUAGE plpgsql AS" \
	"  $$BEGIN IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END$$;" \
	"CREATE TRIGGER c_disabled AFTER DELETE ON cust_orders" \
	"  FOR EACH ROW EXECUTE FUNCTION trg_pass();" \
	"ALTER TABLE cust_orders DISABLE TRIGGER c_disabled;" \
	"CREATE TRIGGER a_after_all AFTER TRUNCATE OR DELETE OR UPDATE OR INSERT ON cust_orders" \
	"  FOR EACH STATEMENT EXECUTE FUNCTION trg_pass();" \
	"CREATE TRIGGER \"B before\" BEFORE UPDATE OR INSERT ON cust_orders" \
	"  FOR EACH ROW EXECUTE FUNCTION trg_pass();" \
	"CREATE VIEW v_orders AS SELECT no, code FROM cust_orders;" \
	"CREATE TRIGGER \"i'nstead\" INSTEAD OF UPDATE ON v_orders" \
	"  FOR EACH ROW EXECUTE FUNCTION trg_pass();" \
	"CREATE TABLE \"lit\"\"s\" (id integer PRIMARY KEY, c_int2 smallint, c_int4 integer," \
	"  c_int8 bigint, c_num numeric, c_num2 numeric(12,2), c_f4 real, c_f8 double precision," \
	"  c_bool boolean, c_text text, c_vc varchar(10), c_char char(5), c_bytea bytea," \
	"  c_date date, c_time time, c_ts timestamp(6), c_tstz timestamptz, c_uuid uuid," \
	"  c_json json, c_jsonb jsonb, c_interval interval, c_inet inet, c_arr integer[]," \
	"  c_mood mood, \"it's \"\"q\"\"\" text);" \
	"CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);" \
	"CREATE TABLE \"rep'air\" (id integer PRIMARY KEY, \"na'me\" text COLLATE ci," \
	"  amount numeric(12,2), doc jsonb, tags text[], at timestamptz," \
	"  seq integer GENERATED ALWAYS AS IDENTITY);" \
	"INSERT INTO \"rep'air\" (id, \"na'me\", amount, doc, tags, at) VALUES" \
	"  (1, 'Ann', 10.00, '{\"a\": 1}', '{a,\"b c\"}', '2024-01-02 03:04:05.5+00')," \
	"  (2, 'Bob', 20.50, NULL, NULL, NULL)," \
	"  (3, 'Cy''s', NULL, '[]', '{}', '-infinity')," \
	"  (4, 'Dee', 4, '{}', '{x}', '2000-01-01 00:00:00+00');" \
	"CREATE TABLE \"rep'air_want\" (LIKE \"rep'air\");"

static int group_setup(void **state)
{
	static const char *const candidates[] = { "und-x-icu", "en-x-icu", "en_US.utf8" };
	const struct cc_envvar vars[] = {
		{ "TALLY_PG_HOST", &env_host }, { "TALLY_PG_PORT", &env_port },
		{ "TALLY_PG_ADMIN_USER", &env_admin_user }, { "TALLY_PG_ADMIN_PASSWORD", &env_admin_pw },
		{ "TALLY_PG_USER", &env_user }, { "TALLY_PG_PASSWORD", &env_pw },
	};
	char *ddl, *user_q, problem[512], hostport[300];
	PGconn *pg;
	PGresult *res;
	size_t cap;

	(void)state;
	if (cc_getenv(vars, sizeof(vars) / sizeof(vars[0]), problem, sizeof(problem)) < 0) {
		fprintf(stderr, "test_conn_postgres: %s\n", problem);
		return -1;
	}

	pg = admin_connect("postgres");
	if (!pg)
		return -1;
	if (exec_on(pg, "DROP DATABASE IF EXISTS " TEST_DB " WITH (FORCE)") < 0 ||
	    exec_on(pg, "CREATE DATABASE " TEST_DB) < 0) {
		PQfinish(pg);
		return -1;
	}
	PQfinish(pg);
	admin = admin_connect(TEST_DB);
	if (!admin)
		return -1;

	/* A collation that sorts 'apple' before 'Zebra', unlike bytes do. */
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && !collation[0]; i++) {
		const char *p[1] = { candidates[i] };

		res = PQexecParams(admin, "SELECT 1 FROM pg_collation WHERE collname = $1",
		                   1, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
			snprintf(collation, sizeof(collation), "%s", candidates[i]);
		PQclear(res);
	}
	if (!collation[0]) {
		fprintf(stderr, "test_conn_postgres: no ICU or linguistic collation on the server\n");
		return -1;
	}

	{
		const char *p[1] = { env_user };

		res = PQexecParams(admin, "SELECT quote_ident($1)", 1, NULL, p, NULL, NULL, 0);
		user_q = strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	cap = sizeof(SCHEMA_SQL) + sizeof(CHUNK_SQL) + 3 * sizeof(collation) + strlen(user_q) + 1;
	ddl = malloc(cap);
	snprintf(ddl, cap, SCHEMA_SQL, collation, collation, user_q);
	free(user_q);
	if (exec_on(admin, ddl) < 0 || exec_on(admin, REPAIR_SQL) < 0) {
		free(ddl);
		return -1;
	}
	snprintf(ddl, cap, CHUNK_SQL, collation, collation);
	if (exec_on(admin, ddl) < 0 || exec_on(admin, "ANALYZE") < 0) {
		free(ddl);
		return -1;
	}
	free(ddl);

	/* The default collation as the driver must name it: ICU as "<locale>-x-icu". */
	if (PQserverVersion(admin) >= 150000)
		admin_value("SELECT CASE WHEN datlocprovider = 'i' THEN daticulocale || '-x-icu'"
		            " ELSE datcollate END FROM pg_database WHERE datname = current_database()",
		            dbcoll, sizeof(dbcoll));
	else
		admin_value("SELECT datcollate FROM pg_database WHERE datname = current_database()",
		            dbcoll, sizeof(dbcoll));

	/* A role that sees other roles' activity, for load(). */
	{
		char sql[256];

		admin_value("SELECT md5(random()::text)", mon_pw, sizeof(mon_pw));
		exec_on(admin, "DROP ROLE IF EXISTS " MON_ROLE);
		snprintf(sql, sizeof(sql),
		         "CREATE ROLE " MON_ROLE " LOGIN PASSWORD '%s' IN ROLE pg_read_all_stats", mon_pw);
		if (exec_on(admin, sql) < 0)
			return -1;
	}

	snprintf(hostport, sizeof(hostport), "%s:%s", env_host, env_port);
	cc_dsn_make(&tally_dsn, "postgresql", env_user, env_pw, hostport, TEST_DB);
	return 0;
}

static int group_teardown(void **state)
{
	PGconn *pg;

	(void)state;
	if (admin)
		PQfinish(admin);
	admin = NULL;
	if (env_host && (pg = admin_connect("postgres")) != NULL) {
		exec_on(pg, "DROP DATABASE IF EXISTS " TEST_DB " WITH (FORCE)");
		exec_on(pg, "DROP DATABASE IF EXISTS " C_DB " WITH (FORCE)");
		exec_on(pg, "DROP DATABASE IF EXISTS " ICU_DB " WITH (FORCE)");
		exec_on(pg, "DROP ROLE IF EXISTS " MON_ROLE);
		PQfinish(pg);
	}
	return 0;
}

/* ---- helpers ------------------------------------------------------- */

static struct conn *open_as(const char *the_dsn, const char *shown, struct tally_err *err)
{
	struct conn_cfg cfg = {
		.system = SYSTEM, .side = "source", .dsn = the_dsn, .dsn_shown = shown,
		.connect_timeout = 10,
	};
	struct conn *c = (struct conn *)&cfg;   /* a sentinel: open() must set *out */

	err_clear(err);
	if (postgres_ops.open(&c, &cfg, err) < 0) {
		assert_null(c);
		return NULL;
	}
	return c;
}

static struct conn *open_ok(void)
{
	struct tally_err err;
	struct conn *c = open_as(tally_dsn.dsn, tally_dsn.shown, &err);

	if (!c)
		cc_print_err(&err);
	assert_non_null(c);
	return c;
}

/* What every description promises (cc_assert_sane_tabdesc), then what PostgreSQL's add. */
static void assert_sane_tabdesc(const struct tabdesc *t)
{
	cc_assert_sane_tabdesc(t);
	if (t->is_query)
		assert_string_equal(t->display, "query");
	else
		assert_int_equal(t->sqlname[0], '"');
	for (size_t i = 0; i < t->ncols; i++) {
		const struct coldesc *c = &t->cols[i];

		assert_null(c->charset);
		assert_false(c->is_unsigned);
		assert_false(c->bool_hint);
		assert_true((c->nlabels > 0) == (c->type == LT_ENUM));
		if (c->type != LT_TIME && c->type != LT_TIMESTAMP && c->type != LT_TIMESTAMPTZ)
			assert_int_equal(c->fsp, 0);
		if (c->type != LT_DECIMAL) {
			assert_int_equal(c->precision, 0);
			assert_int_equal(c->scale, 0);
		}
		if (c->type != LT_TEXT && c->type != LT_CHAR && c->type != LT_BYTES)
			assert_int_equal(c->length, 0);
		if (c->type != LT_INT && c->type != LT_FLOAT && c->type != LT_BIT)
			assert_int_equal(c->bits, 0);
		assert_true(c->fixed == (c->type == LT_CHAR || (c->type == LT_BIT && strncmp(c->native, "bit(", 4) == 0)));
		if (c->type == LT_TEXT || c->type == LT_CHAR)
			assert_non_null(c->collation);
		if (c->identity)
			assert_true(c->has_default);
		if (t->is_query)
			assert_false(c->identity || c->has_default);
	}
	if (t->is_query)
		assert_true(t->nparents == 0 && t->nchildren == 0 && t->ntriggers == 0);
	for (size_t i = 0; i < t->nparents + t->nchildren; i++) {
		const struct fkdesc *f = i < t->nparents ? &t->parents[i] : &t->children[i - t->nparents];

		assert_int_equal(f->sqlname[0], '"');
	}
	for (size_t i = 1; i < t->ntriggers; i++)
		assert_true(strcmp(t->triggers[i - 1].name, t->triggers[i].name) < 0);
}

/* What a column must look like; labels only for enums. */
struct colexp {
	const char *name;
	const char *native;
	enum ltype type;
	int bits;
	bool nullable;
	bool generated;
	int precision, scale, fsp;
	long length;
	const char *collation;
};

#define COL_INT(field)                                                                \
	do {                                                                          \
		if ((long)c->field != (long)e->field)                                 \
			fail_msg("column %s: " #field " is %ld, expected %ld", e->name, \
			         (long)c->field, (long)e->field);                      \
	} while (0)

static void assert_col(const struct coldesc *c, const struct colexp *e)
{
	assert_string_equal(c->name, e->name);
	if (strcmp(c->native, e->native) != 0)
		fail_msg("column %s: native is '%s', expected '%s'", e->name, c->native, e->native);
	COL_INT(type);
	COL_INT(bits);
	COL_INT(nullable);
	COL_INT(generated);
	COL_INT(precision);
	COL_INT(scale);
	COL_INT(fsp);
	COL_INT(length);
	if (!e->collation != !c->collation ||
	    (e->collation && strcmp(c->collation, e->collation) != 0))
		fail_msg("column %s: collation is '%s', expected '%s'", e->name,
		         c->collation ? c->collation : "(none)", e->collation ? e->collation : "(none)");
}

/* ---- session ------------------------------------------------------- */

static void test_open_session(void **state)
{
	struct conn *c = open_ok();
	struct tabdesc q;
	char sql[256], buf[256];
	int v = PQserverVersion(admin);
	static const struct cc_val settings[] = {
		V("ISO, YMD"), V("UTC"), V("iso_8601"), V("hex"), V("3"), V("UTF8"), V("on"),
		V("repeatable read"), V("on"), V("0"), V("tally"),
	};

	(void)state;
	assert_ptr_equal(c->ops, &postgres_ops);
	assert_string_equal(postgres_ops.driver, "postgres");
	assert_string_equal(postgres_ops.dialect, "postgresql");
	assert_string_equal(c->system, SYSTEM);
	assert_string_equal(c->side, "source");
	assert_false(c->failed);
	snprintf(buf, sizeof(buf), "PostgreSQL %d.%d", v / 10000, v % 10000);
	assert_string_equal(c->server_version, buf);
	assert_true(c->backend_pid > 0);

	/* Seen from outside: idle in a transaction, under our name, no xid. */
	snprintf(sql, sizeof(sql),
	         "SELECT state || '/' || application_name || '/' || coalesce(backend_xid::text, 'none') "
	         "FROM pg_stat_activity WHERE pid = %ld", c->backend_pid);
	admin_value(sql, buf, sizeof(buf));
	assert_string_equal(buf, "idle in transaction/tally/none");

	cc_describe_query_ok(c,
	                  "SELECT current_setting('DateStyle') AS ds, current_setting('TimeZone') AS tz,"
	                  " current_setting('IntervalStyle') AS ist, current_setting('bytea_output') AS bo,"
	                  " current_setting('extra_float_digits') AS efd,"
	                  " current_setting('client_encoding') AS ce,"
	                  " current_setting('standard_conforming_strings') AS scs,"
	                  " current_setting('transaction_isolation') AS iso,"
	                  " current_setting('transaction_read_only') AS ro,"
	                  " current_setting('statement_timeout') AS st,"
	                  " current_setting('application_name') AS app",
	                  &q);
	assert_sane_tabdesc(&q);
	cc_scan_expect(c, &q,
	            "SELECT current_setting('DateStyle') AS ds, current_setting('TimeZone') AS tz,"
	            " current_setting('IntervalStyle') AS ist, current_setting('bytea_output') AS bo,"
	            " current_setting('extra_float_digits') AS efd,"
	            " current_setting('client_encoding') AS ce,"
	            " current_setting('standard_conforming_strings') AS scs,"
	            " current_setting('transaction_isolation') AS iso,"
	            " current_setting('transaction_read_only') AS ro,"
	            " current_setting('statement_timeout') AS st,"
	            " current_setting('application_name') AS app",
	            NULL, "ds,tz,ist,bo,efd,ce,scs,iso,ro,st,app", "", settings, 1, 11);
	tabdesc_release(&q);
	c->ops->close(c);
	postgres_ops.close(NULL);
}

static void test_open_keyword_dsn(void **state)
{
	char kv[1024];
	struct tally_err err;
	struct conn *c;

	(void)state;
	/* key=value form; the dsn's connect_timeout wins over the config's. */
	snprintf(kv, sizeof(kv), "host=%s port=%s user=%s password=%s dbname=" TEST_DB
	         " connect_timeout=3 application_name=nightly", env_host, env_port, env_user, env_pw);
	c = open_as(kv, "host=... password=***", &err);
	if (!c)
		cc_print_err(&err);
	assert_non_null(c);
	{
		char sql[256], buf[64];

		snprintf(sql, sizeof(sql), "SELECT application_name FROM pg_stat_activity WHERE pid = %ld",
		         c->backend_pid);
		admin_value(sql, buf, sizeof(buf));
		assert_string_equal(buf, "nightly");
	}
	c->ops->close(c);
}

static void test_quote_ident(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	postgres_ops.quote_ident(&b, "orders");
	buf_addch(&b, ' ');
	postgres_ops.quote_ident(&b, "we\"ird\"\"");
	buf_addch(&b, ' ');
	postgres_ops.quote_ident(&b, "");
	buf_addch(&b, ' ');
	postgres_ops.quote_ident(&b, "Äpfel x");
	assert_string_equal(b.data, "\"orders\" \"we\"\"ird\"\"\"\"\" \"\" \"Äpfel x\"");
	buf_release(&b);
}

/* ---- describe ------------------------------------------------------ */

static void test_describe_alltypes(void **state)
{
	struct colexp exp[] = {
		{ "id", "integer", LT_INT, 32, false, false, 0, 0, 0, 0, NULL },
		{ "c_int2", "smallint", LT_INT, 16, true, false, 0, 0, 0, 0, NULL },
		{ "c_int8", "bigint", LT_INT, 64, false, false, 0, 0, 0, 0, NULL },
		{ "c_num", "numeric(12,2)", LT_DECIMAL, 0, true, false, 12, 2, 0, 0, NULL },
		{ "c_numu", "numeric", LT_DECIMAL, 0, true, false, -1, -1, 0, 0, NULL },
		{ "c_f4", "real", LT_FLOAT, 32, true, false, 0, 0, 0, 0, NULL },
		{ "c_f8", "double precision", LT_FLOAT, 64, true, false, 0, 0, 0, 0, NULL },
		{ "c_bool", "boolean", LT_BOOL, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_text", "text", LT_TEXT, 0, true, false, 0, 0, 0, -1, dbcoll },
		{ "c_vc", "character varying(20)", LT_TEXT, 0, true, false, 0, 0, 0, 20, collation },
		{ "c_vcu", "character varying", LT_TEXT, 0, true, false, 0, 0, 0, -1, dbcoll },
		{ "c_name", "name", LT_TEXT, 0, true, false, 0, 0, 0, -1, "C" },
		{ "c_char", "character(5)", LT_CHAR, 0, true, false, 0, 0, 0, 5, dbcoll },
		{ "c_bytea", "bytea", LT_BYTES, 0, true, false, 0, 0, 0, -1, NULL },
		{ "c_date", "date", LT_DATE, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_time", "time(3) without time zone", LT_TIME, 0, true, false, 0, 0, 3, 0, NULL },
		{ "c_timeu", "time without time zone", LT_TIME, 0, true, false, 0, 0, 6, 0, NULL },
		{ "c_ts", "timestamp without time zone", LT_TIMESTAMP, 0, true, false, 0, 0, 6, 0, NULL },
		{ "c_ts0", "timestamp(0) without time zone", LT_TIMESTAMP, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_tstz", "timestamp(3) with time zone", LT_TIMESTAMPTZ, 0, true, false, 0, 0, 3, 0, NULL },
		{ "c_uuid", "uuid", LT_UUID, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_json", "json", LT_JSON, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_jsonb", "jsonb", LT_JSON, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_interval", "interval", LT_INTERVAL, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_inet", "inet", LT_INET, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_cidr", "cidr", LT_INET, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_bit", "bit(4)", LT_BIT, 4, true, false, 0, 0, 0, 0, NULL },
		{ "c_varbit", "bit varying(8)", LT_BIT, 8, true, false, 0, 0, 0, 0, NULL },
		{ "c_arr", "integer[]", LT_ARRAY, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_tarr", "text[]", LT_ARRAY, 0, true, false, 0, 0, 0, 0, dbcoll },
		{ "c_mood", "mood", LT_ENUM, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_timetz", "time with time zone", LT_OTHER, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_money", "money", LT_OTHER, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_point", "point", LT_OTHER, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_range", "int4range", LT_OTHER, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_xml", "xml", LT_OTHER, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_citext", "citext", LT_OTHER, 0, true, false, 0, 0, 0, 0, dbcoll },
		{ "c_dom", "posint", LT_INT, 32, true, false, 0, 0, 0, 0, NULL },
		{ "c_dom2", "money2", LT_DECIMAL, 0, true, false, 10, 2, 0, 0, NULL },
		{ "c_gen", "integer", LT_INT, 32, true, true, 0, 0, 0, 0, NULL },
		{ "c_ctext", "text", LT_TEXT, 0, true, false, 0, 0, 0, -1, "C" },
	};
	struct conn *c = open_ok();
	struct tabdesc t;
	const struct coldesc *m;

	(void)state;
	cc_describe_ok(c, "alltypes", &t);
	assert_sane_tabdesc(&t);
	assert_string_equal(t.display, "public.alltypes");
	assert_string_equal(t.sqlname, "\"public\".\"alltypes\"");
	assert_false(t.is_query);
	assert_int_equal(t.ncols, sizeof(exp) / sizeof(exp[0]));
	for (size_t i = 0; i < t.ncols; i++)
		assert_col(&t.cols[i], &exp[i]);
	assert_int_equal(t.npk, 1);
	assert_int_equal(t.pk[0], 0);

	m = &t.cols[tabdesc_find(&t, "c_mood")];
	assert_int_equal(m->nlabels, 4);
	assert_string_equal(m->labels[0], "sad");
	assert_string_equal(m->labels[1], "ok");
	assert_string_equal(m->labels[2], "happy");
	assert_string_equal(m->labels[3], "Zany");
	tabdesc_release(&t);

	/* Qualified, same table. */
	cc_describe_ok(c, "public.alltypes", &t);
	assert_string_equal(t.display, "public.alltypes");
	assert_int_equal(t.ncols, sizeof(exp) / sizeof(exp[0]));
	tabdesc_release(&t);
	c->ops->close(c);
}

static void test_describe_keys_views_names(void **state)
{
	struct conn *c = open_ok();
	struct tabdesc t;

	(void)state;
	/* Composite key in index order (n, region), a dropped column before it. */
	cc_describe_ok(c, "comp", &t);
	assert_sane_tabdesc(&t);
	assert_int_equal(t.ncols, 3);
	assert_string_equal(t.cols[0].name, "region");
	assert_string_equal(t.cols[1].name, "n");
	assert_string_equal(t.cols[2].name, "val");
	assert_false(t.cols[0].nullable);
	assert_false(t.cols[1].nullable);
	assert_true(t.cols[2].nullable);
	assert_int_equal(t.npk, 2);
	assert_int_equal(t.pk[0], 1);
	assert_int_equal(t.pk[1], 0);
	tabdesc_release(&t);

	cc_describe_ok(c, "nopk", &t);
	assert_sane_tabdesc(&t);
	assert_int_equal(t.npk, 0);
	tabdesc_release(&t);

	cc_describe_ok(c, "v_words", &t);
	assert_sane_tabdesc(&t);
	assert_string_equal(t.display, "public.v_words");
	assert_int_equal(t.ncols, 2);
	assert_int_equal(t.npk, 0);
	assert_string_equal(t.cols[0].native, "character varying(20)");
	assert_true(t.cols[0].nullable);
	assert_string_equal(t.cols[0].collation, collation);
	tabdesc_release(&t);

	cc_describe_ok(c, "Orders", &t);
	assert_sane_tabdesc(&t);
	assert_string_equal(t.display, "public.Orders");
	assert_string_equal(t.sqlname, "\"public\".\"Orders\"");
	assert_string_equal(t.cols[1].name, "Amount");
	assert_int_equal(t.cols[1].precision, 10);
	assert_int_equal(t.cols[1].scale, 2);
	tabdesc_release(&t);

	cc_describe_ok(c, "s2.we\"ird", &t);
	assert_sane_tabdesc(&t);
	assert_string_equal(t.display, "s2.we\"ird");
	assert_string_equal(t.sqlname, "\"s2\".\"we\"\"ird\"");
	assert_string_equal(t.cols[0].name, "a\"b");
	assert_string_equal(t.cols[1].name, "x y");
	assert_int_equal(t.npk, 1);
	{
		static const struct cc_val rows[] = { V("1"), V("one"), V("2"), V("two") };

		cc_scan_expect(c, &t, NULL, NULL, "a\"b,x y", "a\"b", rows, 2, 2);
	}
	tabdesc_release(&t);
	c->ops->close(c);
}

static void test_describe_query(void **state)
{
	struct colexp exp[] = {
		{ "id", "integer", LT_INT, 32, true, false, 0, 0, 0, 0, NULL },
		{ "c_num", "numeric(12,2)", LT_DECIMAL, 0, true, false, 12, 2, 0, 0, NULL },
		{ "c_vc", "character varying(20)", LT_TEXT, 0, true, false, 0, 0, 0, 20, collation },
		{ "c_mood", "mood", LT_ENUM, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_dom", "integer", LT_INT, 32, true, false, 0, 0, 0, 0, NULL },
		{ "c_dom2", "numeric(10,2)", LT_DECIMAL, 0, true, false, 10, 2, 0, 0, NULL },
		{ "c_bytea", "bytea", LT_BYTES, 0, true, false, 0, 0, 0, -1, NULL },
		{ "c_ts0", "timestamp(0) without time zone", LT_TIMESTAMP, 0, true, false, 0, 0, 0, 0, NULL },
		{ "c_bit", "bit(4)", LT_BIT, 4, true, false, 0, 0, 0, 0, NULL },
		{ "c_arr", "integer[]", LT_ARRAY, 0, true, false, 0, 0, 0, 0, NULL },
		{ "calc", "bigint", LT_INT, 64, true, false, 0, 0, 0, 0, NULL },
		{ "lit", "character(3)", LT_CHAR, 0, true, false, 0, 0, 0, 3, dbcoll },
		{ "Mixed Case", "text", LT_TEXT, 0, true, false, 0, 0, 0, -1, "C" },
	};
	struct conn *c = open_ok();
	struct tabdesc t;

	(void)state;
	cc_describe_query_ok(c,
	                  "SELECT id, c_num, c_vc, c_mood, c_dom, c_dom2, c_bytea, c_ts0, c_bit, c_arr,"
	                  " 1::int8 + 1 AS calc, 'x'::char(3) AS lit, 'y'::text COLLATE \"C\" AS \"Mixed Case\""
	                  " FROM alltypes ; ;\n\t ",
	                  &t);
	assert_sane_tabdesc(&t);
	assert_true(t.is_query);
	assert_int_equal(t.ncols, sizeof(exp) / sizeof(exp[0]));
	for (size_t i = 0; i < t.ncols; i++)
		assert_col(&t.cols[i], &exp[i]);
	assert_int_equal(t.cols[3].nlabels, 4);
	assert_string_equal(t.cols[3].labels[3], "Zany");
	tabdesc_release(&t);
	c->ops->close(c);
}

/* ---- values and order ---------------------------------------------- */

static void test_scan_alltypes(void **state)
{
	static const char bytes1[] = { 0x00, 0x01, 0x5c, 0x41, 0x0a, 0x09, (char)0xff };
	static const struct cc_val rows[] = {
		/* id 1: a value in every column */
		V("1"), V("-32768"), V("9223372036854775807"), V("1.50"),
		V("12345678901234567890.123456789"), V("0.1"), V("0.1"), V("t"),
		V("a\tb\nc\\d\re\bf\fg\vh\x01i"), V("Äpfel"), V(""), V("name_1"), V("ab   "),
		{ bytes1, sizeof(bytes1) }, V("infinity"), V("12:34:56.789"), V("23:59:59.999999"),
		V("2024-01-02 03:04:05.123456"), V("2024-01-02 03:04:06"),
		V("2024-01-02 01:04:05.123+00"), V("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
		V("{\"b\": 1, \"a\": [1, 2]}"), V("{\"a\": [1, 2], \"b\": 1}"), V("P1DT2H3M4.5S"),
		V("192.168.0.1/24"), V("10.0.0.0/8"), V("1010"), V("101"), V("{1,2,NULL}"),
		V("{\"a b\",\"c\\\"d\",\"\"}"), V("happy"), V("12:00:00+02"), V("$12.34"),
		V("(1,2)"), V("[1,5)"), V("<a>x</a>"), V("MiXed"), V("7"), V("3.10"), V("2"),
		V("Ω"),
		/* id 2: NULL wherever allowed */
		V("2"), NUL, V("0"), NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL,
		NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL,
		NUL, NUL, NUL, NUL, NUL, NUL, V("4"), NUL,
		/* id 3: special values, a text that reads \N, empty bytea */
		V("3"), V("32767"), V("0"), V("-0.50"), V("NaN"), V("NaN"), V("-Infinity"), V("f"),
		V("\\N"), V("\t"), V("\\"), NUL, NUL, V(""), V("0044-03-15 BC"), NUL, NUL,
		V("infinity"), NUL, V("-infinity"), NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, V("{}"),
		NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, V("6"), NUL,
	};
	struct conn *c = open_ok();
	struct tabdesc t;
	struct buf cols = BUF_INIT;

	(void)state;
	cc_describe_ok(c, "alltypes", &t);
	for (size_t i = 0; i < t.ncols; i++)
		buf_addf(&cols, "%s%s", i ? "," : "", t.cols[i].name);
	cc_scan_expect(c, &t, NULL, NULL, cols.data, "id", rows, 3, t.ncols);
	/* The reverse key order, only bytea and text: the session scans again. */
	{
		static const struct cc_val two[] = {
			V("\\N"), V(""),
			V("a\tb\nc\\d\re\bf\fg\vh\x01i"), { bytes1, sizeof(bytes1) },
		};

		cc_scan_expect(c, &t, NULL, "c_text IS NOT NULL", "c_text,c_bytea", "c_text", two, 2, 2);
	}
	buf_release(&cols);
	tabdesc_release(&t);
	c->ops->close(c);
}

/*
 * The words table's key under its ICU collation, which is not bytewise:
 * bytes put 'Zebra' first and 'ß' before 'éclair'.
 */
#define WORDS_ORDER "Äpfel,apple,éclair,ß,Zebra"

static void test_server_order(void **state)
{
	static const struct cc_val rows[] = {
		V("Äpfel"), V("1"), V("apple"), V("2"), V("éclair"), V("4"), V("ß"), V("5"),
		V("Zebra"), V("3"),
	};
	static const struct cc_val where_rows[] = {
		V("éclair"), V("4"), V("ß"), V("5"), V("Zebra"), V("3"),
	};
	struct conn *c = open_ok();
	struct tabdesc t;
	char server[256];

	(void)state;
	admin_value("SELECT string_agg(w, ',' ORDER BY w) FROM words", server, sizeof(server));
	assert_string_equal(server, WORDS_ORDER);

	cc_describe_ok(c, "words", &t);
	assert_false(postgres_ops.order_is_bytewise(&t.cols[0]));
	cc_scan_expect(c, &t, NULL, NULL, "w,n", "w", rows, 5, 2);
	cc_scan_expect(c, &t, NULL, "n > 2", "w,n", "w", where_rows, 3, 2);
	tabdesc_release(&t);

	/* A view over the same table, no key of its own: the same order. */
	cc_describe_ok(c, "public.v_words", &t);
	assert_string_equal(t.cols[0].collation, collation);
	cc_scan_expect(c, &t, NULL, NULL, "w,n", "w", rows, 5, 2);
	tabdesc_release(&t);
	c->ops->close(c);
}

static void test_nulls_last_and_keys(void **state)
{
	/* The default collation here is C.UTF-8: code point order; NULLs last. */
	static const struct cc_val nopk_rows[] = {
		V(""), V("4"), V("B"), V("5"), V("a"), V("3"), V("b"), V("1"), NUL, V("2"),
	};
	static const struct cc_val comp_rows[] = {
		V("0"), V("z"), NUL, V("1"), V("a"), V("y"), V("1"), V("b"), V("x"),
		V("2"), V("a"), V("w"),
	};
	/* Enum keys in the enum's declared order. */
	static const struct cc_val mood_rows[] = { V("sad"), V("ok"), V("happy"), V("Zany") };
	struct conn *c = open_ok();
	struct tabdesc t;

	(void)state;
	cc_describe_ok(c, "nopk", &t);
	cc_scan_expect(c, &t, NULL, NULL, "k,v", "k", nopk_rows, 5, 2);
	tabdesc_release(&t);

	cc_describe_ok(c, "comp", &t);
	cc_scan_expect(c, &t, NULL, NULL, "n,region,val", "n,region", comp_rows, 4, 3);
	tabdesc_release(&t);

	cc_describe_ok(c, "moods", &t);
	cc_scan_expect(c, &t, NULL, NULL, "m", "m", mood_rows, 4, 1);
	tabdesc_release(&t);
	c->ops->close(c);
}

static void test_query_source(void **state)
{
	static const char *const sql =
		"SELECT w AS word, n * 10 AS n10 FROM words WHERE n <> 3 -- no zebra;\n ;; \n";
	static const struct cc_val rows[] = {
		V("Äpfel"), V("10"), V("apple"), V("20"), V("éclair"), V("40"), V("ß"), V("50"),
	};
	static const struct cc_val where_rows[] = { V("ß"), V("50") };
	struct conn *c = open_ok();
	struct tabdesc t;

	(void)state;
	cc_describe_query_ok(c, sql, &t);
	assert_sane_tabdesc(&t);
	assert_int_equal(t.ncols, 2);
	assert_string_equal(t.cols[0].name, "word");
	assert_int_equal(t.cols[0].type, LT_TEXT);
	/* The query's column keeps the table column's collation. */
	assert_string_equal(t.cols[0].collation, collation);
	assert_int_equal(t.cols[1].type, LT_INT);
	assert_null(t.cols[1].collation);
	cc_scan_expect(c, &t, sql, NULL, "word,n10", "word", rows, 4, 2);
	cc_scan_expect(c, &t, sql, "n10 = 50", "word,n10", "word", where_rows, 1, 2);
	tabdesc_release(&t);
	c->ops->close(c);
}

/* ---- foreign keys, triggers, identity ------------------------------ */

/* name:identity:has_default for every column, "," between. */
static void assert_defaults(const struct tabdesc *t, const char *want)
{
	char buf[512];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->ncols; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s:%d:%d", i ? "," : "",
		                        t->cols[i].name, t->cols[i].identity, t->cols[i].has_default);
	assert_string_equal(buf, want);
}

static void test_describe_fks_triggers(void **state)
{
	static const struct cc_fk order_parents[] = {
		{ "cust_orders_cust_id_fkey", "public.customers", "\"public\".\"customers\"",
		  "cust_id", "id", "CASCADE", "NO ACTION" },
		{ "orders_cust_code_fk", "public.customers", "\"public\".\"customers\"",
		  "code,region", "code,region", "RESTRICT", "SET NULL" },
		{ "orders_parent_fk", "public.cust_orders", "\"public\".\"cust_orders\"",
		  "parent_no", "no", "SET DEFAULT", "NO ACTION" },
	};
	static const struct cc_fk order_children[] = {
		{ "orders_parent_fk", "public.cust_orders", "\"public\".\"cust_orders\"",
		  "parent_no", "no", "SET DEFAULT", "NO ACTION" },
	};
	static const struct cc_fk cust_children[] = {
		{ "cust_orders_cust_id_fkey", "public.cust_orders", "\"public\".\"cust_orders\"",
		  "cust_id", "id", "CASCADE", "NO ACTION" },
		{ "orders_cust_code_fk", "public.cust_orders", "\"public\".\"cust_orders\"",
		  "code,region", "code,region", "RESTRICT", "SET NULL" },
		{ "parts_cust_fkey", "public.parts", "\"public\".\"parts\"",
		  "cust", "id", "NO ACTION", "NO ACTION" },
		{ "note's cust", "s2.notes", "\"s2\".\"notes\"", "cust", "id", "NO ACTION", "CASCADE" },
	};
	static const struct cc_fk part_parents[] = {
		{ "parts_cust_fkey", "public.customers", "\"public\".\"customers\"",
		  "cust", "id", "NO ACTION", "NO ACTION" },
	};
	static const struct cc_trigger order_triggers[] = {
		{ "B before", "BEFORE", "INSERT OR UPDATE", true },
		{ "a_after_all", "AFTER", "INSERT OR UPDATE OR DELETE OR TRUNCATE", true },
		{ "c_disabled", "AFTER", "DELETE", false },
	};
	static const struct cc_trigger view_triggers[] = {
		{ "i'nstead", "INSTEAD OF", "UPDATE", true },
	};
	struct conn *c = open_ok();
	struct tabdesc t;

	(void)state;
	cc_describe_ok(c, "cust_orders", &t);
	assert_sane_tabdesc(&t);
	assert_defaults(&t, "no:0:1,cust_id:0:0,region:0:0,code:0:0,parent_no:0:0,made:0:1,n:0:1");
	cc_assert_fks(t.parents, t.nparents, order_parents, 3);
	cc_assert_fks(t.children, t.nchildren, order_children, 1);
	/* User triggers only (not the foreign keys' own), by name in bytes. */
	cc_assert_triggers(&t, order_triggers, 3);
	tabdesc_release(&t);

	cc_describe_ok(c, "public.customers", &t);
	assert_sane_tabdesc(&t);
	assert_defaults(&t, "id:1:1,region:0:1,code:0:0");
	assert_int_equal(t.nparents, 0);
	/* A partitioned child counts once, not once per partition. */
	cc_assert_fks(t.children, t.nchildren, cust_children, 4);
	assert_int_equal(t.ntriggers, 0);
	tabdesc_release(&t);

	/* A partition carries its parent's key as its own. */
	cc_describe_ok(c, "parts_1", &t);
	cc_assert_fks(t.parents, t.nparents, part_parents, 1);
	assert_int_equal(t.nchildren, 0);
	tabdesc_release(&t);
	cc_describe_ok(c, "parts", &t);
	cc_assert_fks(t.parents, t.nparents, part_parents, 1);
	tabdesc_release(&t);

	cc_describe_ok(c, "v_orders", &t);
	assert_sane_tabdesc(&t);
	assert_defaults(&t, "no:0:0,code:0:0");
	assert_int_equal(t.nparents + t.nchildren, 0);
	cc_assert_triggers(&t, view_triggers, 1);
	tabdesc_release(&t);

	cc_describe_ok(c, "words", &t);
	assert_int_equal(t.nparents + t.nchildren + t.ntriggers, 0);
	tabdesc_release(&t);

	cc_describe_query_ok(c, "SELECT * FROM cust_orders", &t);
	assert_sane_tabdesc(&t);
	tabdesc_release(&t);
	c->ops->close(c);
}

/* ---- literals ------------------------------------------------------ */

#define DAY_US INT64_C(86400000000)

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

static int64_t ts_us(int64_t y, unsigned mo, unsigned d, int h, int mi, int s, int us)
{
	return days_from_civil(y, mo, d) * DAY_US + ((int64_t)h * 3600 + mi * 60 + s) * 1000000 + us;
}

#define SN(str) { .kind = SV_NUMBER, .s = (str), .len = sizeof(str) - 1 }
#define SSP(k, sp) { .kind = (k), .special = (sp) }
#define SF(x) { .kind = SV_FLOAT, .d = (x) }
#define SB(x) { .kind = SV_BOOL, .b = (x) }
#define ST(str) { .kind = SV_TEXT, .s = (str), .len = sizeof(str) - 1 }
#define SY(str) { .kind = SV_BYTES, .s = (str), .len = sizeof(str) - 1 }
#define SR(str) { .kind = SV_RAW, .s = (str), .len = sizeof(str) - 1 }
#define SU(str) { .kind = SV_UUID, .s = (str), .len = 16 }
#define SI(k, x) { .kind = (k), .i = (x) }
#define S0 { .kind = SV_NULL }

static const char hostile[] =
	"it's a \\' trap'); DROP TABLE x; -- /* */ $$ $tally$ :'v' :v \\g\n\r\t 😀 \\x41 '' %s \\N";
static const char uuid1[16] = {
	(char)0xa0, (char)0xee, (char)0xbc, (char)0x99, (char)0x9c, 0x0b, 0x4e, (char)0xf8,
	(char)0xbb, 0x6d, 0x6b, (char)0xb9, (char)0xbd, 0x38, 0x0a, 0x11,
};
static const char uuid0[16];
static const char bytes1[] = { 0x00, (char)0xff, '\'', '\\', 'A', '\n' };

/* Appends the literals of one row, "(a, b)", with the table's coldescs. */
static void add_row(struct buf *sql, const struct tabdesc *t, const size_t *cols, size_t ncols,
                    const struct sqlval *vals)
{
	struct tally_err err;

	buf_addch(sql, '(');
	for (size_t i = 0; i < ncols; i++) {
		if (i)
			buf_addstr(sql, ", ");
		err_clear(&err);
		if (postgres_ops.literal(sql, &t->cols[cols[i]], &vals[i], &err) < 0)
			fail_msg("literal for column %s failed: %s", t->cols[cols[i]].name, err.msg);
	}
	buf_addch(sql, ')');
}

static void test_literal_round_trip(void **state)
{
	enum { NCOLS = 25, NROWS = 4 };
	const struct sqlval vals[NROWS][NCOLS] = {
		{
			SN("1"), SN("-32768"), SN("007"), SN("9223372036854775807"), SN("-12.50"), SN("1.5"),
			SF(0.1), SF(0.1), SB(true), ST(hostile), ST("äöü'"), ST("ab"),
			{ .kind = SV_BYTES, .s = bytes1, .len = sizeof(bytes1) },
			SI(SV_DATE, days_from_civil(-43, 3, 15)), SI(SV_TIME, DAY_US),
			SI(SV_TIMESTAMP, ts_us(2024, 1, 2, 3, 4, 5, 500000)),
			SI(SV_TIMESTAMPTZ, ts_us(-43, 3, 15, 10, 0, 0, 0)), SU(uuid1),
			SR("{\"b\": 1, \"a\": \"it's \\\"q\\\" \\\\\"}"), SR("{\"a\": \"it's\", \"b\": [1, 2]}"),
			SR("P1DT2H3M4.5S"), SR("192.168.0.1/24"), SR("{1,2,NULL}"), ST("Zany"), ST("x'y"),
		},
		{
			SN("2"), SB(false), SF(3.0), SN("-9223372036854775808"), SSP(SV_NUMBER, SVS_NAN),
			SSP(SV_NUMBER, SVS_NAN), SF(-INFINITY), SF(NAN), SN("1"), SY("it's"), SN("-12.50"),
			ST(""), ST("é"), SSP(SV_DATE, SVS_PINF), SI(SV_TIME, 0),
			SSP(SV_TIMESTAMP, SVS_NINF), SSP(SV_TIMESTAMPTZ, SVS_PINF),
			ST("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), SR("[]"), SR("null"), SR("PT0S"),
			SR("::1"), SR("{}"), ST("sad"), ST(""),
		},
		{
			SN("3"), SN("32767"), SN("-2147483648"), SN("0"), SF(1e21), SF(-12.5),
			SF(3.4028234663852886e38), SF(5e-324), SB(false), ST("\\N"), ST("tab\there"),
			ST("abcde"), SY(""), SI(SV_DATE, days_from_civil(5874897, 12, 31)),
			SI(SV_TIME, INT64_C(45296789000)),
			SI(SV_TIMESTAMP, ts_us(294276, 12, 31, 23, 59, 59, 999999)),
			SI(SV_TIMESTAMPTZ, ts_us(2024, 1, 2, 3, 4, 5, 123456)), SU(uuid0), SR("\"😀\""),
			SR("{\"k\": \"\\\\x41 $$ '\"}"), SR("P1Y2M3DT4H5M6.789S"), SR("10.0.0.0/8"),
			SR("{{1,2},{3,4}}"), ST("ok"), ST("😀"),
		},
		{
			SN("4"), S0, S0, S0, S0, S0, S0, S0, S0, S0, S0, S0, S0, S0, S0, S0, S0, S0, S0, S0,
			S0, S0, S0, S0, S0,
		},
	};
	static const struct cc_val want[] = {
		V("1"), V("-32768"), V("7"), V("9223372036854775807"), V("-12.50"), V("1.50"), V("0.1"),
		V("0.1"), V("t"), V(hostile), V("äöü'"), V("ab   "), { bytes1, sizeof(bytes1) },
		V("0044-03-15 BC"), V("24:00:00"), V("2024-01-02 03:04:05.5"),
		V("0044-03-15 10:00:00+00 BC"), V("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
		V("{\"b\": 1, \"a\": \"it's \\\"q\\\" \\\\\"}"), V("{\"a\": \"it's\", \"b\": [1, 2]}"),
		V("P1DT2H3M4.5S"), V("192.168.0.1/24"), V("{1,2,NULL}"), V("Zany"), V("x'y"),

		V("2"), V("0"), V("3"), V("-9223372036854775808"), V("NaN"), V("NaN"), V("-Infinity"),
		V("NaN"), V("t"), V("it's"), V("-12.50"), V("     "), V("\xc3\xa9"), V("infinity"),
		V("00:00:00"), V("-infinity"), V("infinity"), V("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
		V("[]"), V("null"), V("PT0S"), V("::1"), V("{}"), V("sad"), V(""),

		V("3"), V("32767"), V("-2147483648"), V("0"), V("1000000000000000000000"), V("-12.50"),
		V("3.4028235e+38"), V("5e-324"), V("f"), V("\\N"), V("tab\there"), V("abcde"), V(""),
		V("5874897-12-31"), V("12:34:56.789"), V("294276-12-31 23:59:59.999999"),
		V("2024-01-02 03:04:05.123456+00"), V("00000000-0000-0000-0000-000000000000"),
		V("\"😀\""), V("{\"k\": \"\\\\x41 $$ '\"}"), V("P1Y2M3DT4H5M6.789S"), V("10.0.0.0/8"),
		V("{{1,2},{3,4}}"), V("ok"), V("😀"),

		V("4"), NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL,
		NUL, NUL, NUL, NUL, NUL, NUL, NUL, NUL,
	};
	struct buf sql = BUF_INIT, names = BUF_INIT;
	size_t cols[NCOLS];
	struct conn *c = open_ok();
	struct tabdesc t;
	PGconn *writer;

	(void)state;
	cc_describe_ok(c, "lit\"s", &t);
	assert_int_equal(t.ncols, NCOLS);
	c->ops->close(c);

	/* INSERT INTO "lit""s" ("id", ...) VALUES (...), ... as the script would. */
	buf_addf(&sql, "INSERT INTO %s (", t.sqlname);
	for (size_t i = 0; i < NCOLS; i++) {
		cols[i] = i;
		if (i) {
			buf_addstr(&sql, ", ");
			buf_addch(&names, ',');
		}
		postgres_ops.quote_ident(&sql, t.cols[i].name);
		buf_addstr(&names, t.cols[i].name);
	}
	buf_addstr(&sql, ") VALUES\n");
	for (size_t r = 0; r < NROWS; r++) {
		add_row(&sql, &t, cols, NCOLS, vals[r]);
		buf_addstr(&sql, r + 1 < NROWS ? ",\n" : ";\n");
	}
	writer = admin_connect(TEST_DB);
	assert_non_null(writer);
	assert_int_equal(exec_on(writer, "SET standard_conforming_strings = on; SET DateStyle = 'ISO, YMD';"
	                                 " SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'"), 0);
	if (exec_on(writer, sql.data) < 0)
		fail_msg("the INSERT of literals failed");
	PQfinish(writer);

	/* Read back through a session of its own, after the insert. */
	c = open_ok();
	cc_scan_expect(c, &t, NULL, NULL, names.data, "id", want, NROWS, NCOLS);
	c->ops->close(c);
	tabdesc_release(&t);
	buf_release(&sql);
	buf_release(&names);
}

/* ---- repair scripts through psql ----------------------------------- */

/* The whole table as text, in key order: what "unchanged" means. */
static void dump_table(const char *table, char *out, size_t cap)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY id), '') FROM %s t", table);
	admin_value(sql, out, cap);
}

/*
 * Runs $TALLY_PG_BINDIR/psql -X -v ON_ERROR_STOP=1 -f file as the admin
 * user (password through PGPASSWORD); returns its exit status, stderr in
 * errout.
 */
static int run_psql(const char *file, char *errout, size_t cap)
{
	const char *bindir = getenv("TALLY_PG_BINDIR");
	char psql[512], errpath[] = "/tmp/tally-psql-err.XXXXXX";
	int status, fd = mkstemp(errpath);
	pid_t pid;
	FILE *fp;
	size_t n;

	assert_non_null(bindir);
	assert_true(fd >= 0);
	snprintf(psql, sizeof(psql), "%s/psql", bindir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(fd, 2);
		setenv("PGPASSWORD", env_admin_pw, 1);
		execl(psql, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", env_host, "-p", env_port,
		      "-U", env_admin_user, "-d", TEST_DB, "-f", file, (char *)NULL);
		_exit(127);
	}
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	fp = fopen(errpath, "r");
	assert_non_null(fp);
	n = fread(errout, 1, cap - 1, fp);
	errout[n] = '\0';
	fclose(fp);
	unlink(errpath);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A stage with its rows, as the engine writes one. */
static void add_stage(struct buf *sql, const struct tabdesc *t, const char *stage,
                      const size_t *cols, size_t ncols, const struct sqlval *rows, size_t nrows)
{
	const struct script_ops *ops = postgres_ops.script;

	ops->stage(sql, stage, t, cols, ncols, false);
	ops->stage_rows(sql, stage);
	for (size_t r = 0; r < nrows; r++) {
		add_row(sql, t, cols, ncols, rows + r * ncols);
		buf_addstr(sql, r + 1 < nrows ? ",\n" : ";\n");
	}
}

static void write_file(const char *path, const struct buf *b)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(b->data, 1, b->len, fp), b->len);
	assert_int_equal(fclose(fp), 0);
}

static const char rep_check[] = "orders-fix";

static void test_script_psql(void **state)
{
	/* Columns of "rep'air": id, "na'me", amount, doc, tags, at, seq. */
	static const size_t all[] = { 0, 1, 2, 3, 4, 5, 6 };
	static const size_t guarded[] = { 0, 1, 2, 3, 4, 5 };
	static const size_t upd_new[] = { 0, 1, 2 };
	static const size_t key[] = { 0 };
	static const char eve[] = "Eve $tally$ \\' -- /* x */ ;\n:'v' :v \\g $$";
	const struct sqlval ins_rows[] = {
		SN("5"), ST(eve), SN("5.25"), SR("{\"e\": \"it's\"}"), SR("{\"q'\",\"\\\\\"}"),
		SI(SV_TIMESTAMPTZ, ts_us(2024, 2, 29, 23, 59, 59, 1)), SN("42"),
		SN("6"), S0, S0, S0, S0, S0, SN("43"),
	};
	const struct sqlval upd_old[] = {
		SN("1"), ST("Ann"), SN("10.00"), SR("{\"a\": 1}"), SR("{a,\"b c\"}"),
		SI(SV_TIMESTAMPTZ, ts_us(2024, 1, 2, 3, 4, 5, 500000)),
		SN("2"), ST("Bob"), SN("20.50"), S0, S0, S0,
	};
	const struct sqlval upd_rows[] = {
		SN("1"), ST("ANN"), SN("11"), SN("2"), ST("Bob's"), S0,
	};
	const struct sqlval del_old[] = {
		SN("3"), ST("Cy's"), S0, SR("[]"), SR("{}"), SSP(SV_TIMESTAMPTZ, SVS_NINF),
	};
	const struct script_ops *ops = postgres_ops.script;
	struct buf sql = BUF_INIT;
	char path[] = "/tmp/tally-repair.XXXXXX";
	char before[4096], after[4096], want[4096], errout[8192];
	struct conn *c = open_ok();
	struct tabdesc t;
	int fd;

	(void)state;
	cc_describe_ok(c, "rep'air", &t);
	c->ops->close(c);
	assert_true(t.cols[6].identity);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	/* The repair: insert 5 and 6, update 1 and 2, delete 3. */
	{
		struct script_step ins = {
			.kind = STEP_INSERT, .check = rep_check, .t = &t, .key = key, .nkey = 1,
			.new_stage = "tally_new_1", .set = all, .nset = 7, .rows = 2,
		};
		struct script_step upd = {
			.kind = STEP_UPDATE, .check = rep_check, .t = &t, .key = key, .nkey = 1,
			.old_stage = "tally_old_2", .guard = guarded + 1, .nguard = 5,
			.new_stage = "tally_new_2", .set = upd_new + 1, .nset = 2, .rows = 2,
		};
		struct script_step del = {
			.kind = STEP_DELETE, .check = rep_check, .t = &t, .key = key, .nkey = 1,
			.old_stage = "tally_old_3", .guard = guarded + 1, .nguard = 5, .rows = 1,
		};

		ops->begin(&sql);
		add_stage(&sql, &t, "tally_new_1", all, 7, ins_rows, 2);
		add_stage(&sql, &t, "tally_old_2", guarded, 6, upd_old, 2);
		add_stage(&sql, &t, "tally_new_2", upd_new, 3, upd_rows, 2);
		add_stage(&sql, &t, "tally_old_3", guarded, 6, del_old, 1);
		ops->apply(&sql, &ins);
		ops->apply(&sql, &upd);
		ops->apply(&sql, &del);
		ops->unstage(&sql, "tally_new_1");
		ops->unstage(&sql, "tally_old_2");
		ops->unstage(&sql, "tally_new_2");
		ops->unstage(&sql, "tally_old_3");
		ops->end(&sql, "tally: repair test applied: 0 rows (0 inserted, 0 updated, 0 deleted)");
	}
	write_file(path, &sql);
	admin_exec("INSERT INTO \"rep'air_want\" VALUES"
	           " (1, 'ANN', 11.00, '{\"a\": 1}', '{a,\"b c\"}', '2024-01-02 03:04:05.5+00', 1),"
	           " (2, 'Bob''s', NULL, NULL, NULL, NULL, 2),"
	           " (4, 'Dee', 4, '{}', '{x}', '2000-01-01 00:00:00+00', 4),"
	           " (5, E'Eve $tally$ \\\\'' -- /* x */ ;\\n:''v'' :v \\\\g $$', 5.25, '{\"e\": \"it''s\"}',"
	           "  E'{\"q''\",\"\\\\\\\\\"}', '2024-02-29 23:59:59.000001+00', 42),"
	           " (6, NULL, NULL, NULL, NULL, NULL, 43)");
	dump_table("\"rep'air_want\"", want, sizeof(want));
	if (run_psql(path, errout, sizeof(errout)) != 0)
		fail_msg("psql failed:\n%s\nscript:\n%s", errout, sql.data);
	assert_string_equal(errout, "");
	dump_table("\"rep'air\"", after, sizeof(after));
	assert_string_equal(after, want);
	/* The staged text arrived byte for byte, backslashes and all. */
	admin_value("SELECT \"na'me\" FROM \"rep'air\" WHERE id = 5", before, sizeof(before));
	assert_string_equal(before, eve);

	/* Run again: the inserted keys now exist, so nothing changes. */
	assert_int_equal(run_psql(path, errout, sizeof(errout)), 3);
	assert_non_null(strstr(errout, "ERROR:  tally: check orders-fix: a row of public.rep'air with"
	                               " key id='5' already exists; nothing was changed"));
	dump_table("\"rep'air\"", before, sizeof(before));
	assert_string_equal(before, want);

	/*
	 * Drift: row 2 changes behind tally's back in a way its collation calls
	 * equal ('Bob''s' = 'BOB''S' under ci); the guard compares bytes.
	 */
	{
		const struct sqlval old2[] = { SN("2"), ST("Bob's"), S0, S0, S0, S0 };
		const struct sqlval new2[] = { SN("2"), ST("Robert"), SN("99") };
		struct script_step upd = {
			.kind = STEP_UPDATE, .check = rep_check, .t = &t, .key = key, .nkey = 1,
			.old_stage = "tally_old_1", .guard = guarded + 1, .nguard = 5,
			.new_stage = "tally_new_1", .set = upd_new + 1, .nset = 2, .rows = 1,
		};

		buf_reset(&sql);
		ops->begin(&sql);
		add_stage(&sql, &t, "tally_old_1", guarded, 6, old2, 1);
		add_stage(&sql, &t, "tally_new_1", upd_new, 3, new2, 1);
		ops->apply(&sql, &upd);
		ops->end(&sql, "tally: repair test applied: 0 rows (0 inserted, 0 updated, 0 deleted)");
		write_file(path, &sql);

		admin_exec("UPDATE \"rep'air\" SET \"na'me\" = 'BOB''S' WHERE id = 2");
		admin_value("SELECT count(*) FROM \"rep'air\" WHERE \"na'me\" = 'Bob''s'", before,
		            sizeof(before));
		assert_string_equal(before, "1");
		dump_table("\"rep'air\"", before, sizeof(before));
		assert_int_equal(run_psql(path, errout, sizeof(errout)), 3);
		assert_non_null(strstr(errout, "ERROR:  tally: check orders-fix: the row of public.rep'air"
		                               " with key id='2' no longer holds the values tally read;"
		                               " nothing was changed"));
		dump_table("\"rep'air\"", after, sizeof(after));
		assert_string_equal(after, before);

		/* Put it back as tally read it: the same script now applies. */
		admin_exec("UPDATE \"rep'air\" SET \"na'me\" = 'Bob''s' WHERE id = 2");
		if (run_psql(path, errout, sizeof(errout)) != 0)
			fail_msg("psql failed:\n%s", errout);
		admin_value("SELECT \"na'me\" || '/' || amount FROM \"rep'air\" WHERE id = 2", before,
		            sizeof(before));
		assert_string_equal(before, "Robert/99.00");
	}

	/* A DELETE whose row changed since tally read it: nothing is deleted. */
	{
		const struct sqlval old4[] = {
			SN("4"), ST("Dee"), SN("4"), SR("{}"), SR("{x}"),
			SI(SV_TIMESTAMPTZ, 0),
		};
		struct script_step del = {
			.kind = STEP_DELETE, .check = rep_check, .t = &t, .key = key, .nkey = 1,
			.old_stage = "tally_old_1", .guard = guarded + 1, .nguard = 5, .rows = 1,
		};

		buf_reset(&sql);
		ops->begin(&sql);
		add_stage(&sql, &t, "tally_old_1", guarded, 6, old4, 1);
		ops->apply(&sql, &del);
		ops->end(&sql, "tally: repair test applied: 0 rows (0 inserted, 0 updated, 0 deleted)");
		write_file(path, &sql);
		admin_exec("UPDATE \"rep'air\" SET doc = '{\"z\": 0}' WHERE id = 4");
		dump_table("\"rep'air\"", before, sizeof(before));
		assert_int_equal(run_psql(path, errout, sizeof(errout)), 3);
		assert_non_null(strstr(errout, "with key id='4' no longer holds the values tally read"));
		dump_table("\"rep'air\"", after, sizeof(after));
		assert_string_equal(after, before);
	}

	unlink(path);
	buf_release(&sql);
	tabdesc_release(&t);
}

/* ---- errors -------------------------------------------------------- */

static void test_err_unreachable(void **state)
{
	char bad[1024], shown[1024], want[1200];
	struct tally_err err;

	(void)state;
	snprintf(bad, sizeof(bad), "postgresql://%s:%s@127.0.0.1:1/" TEST_DB, env_user, env_pw);
	snprintf(shown, sizeof(shown), "postgresql://%s:***@127.0.0.1:1/" TEST_DB, env_user);
	assert_null(open_as(bad, shown, &err));
	assert_int_equal(err.kind, ERR_CONNECT);
	snprintf(want, sizeof(want), "cannot connect to source system '" SYSTEM "' (%s)", shown);
	assert_string_equal(err.msg, want);
	assert_non_null(strstr(err.detail, "Connection refused"));
	assert_int_not_equal(err.detail[strlen(err.detail) - 1], '\n');
	cc_assert_no_secret(&err, env_pw);
}

static void test_err_wrong_password(void **state)
{
	static const char secret[] = "wrong-Secret-4711";
	char bad[1024], shown[1024], want[1200], expect_detail[256];
	struct tally_err err;

	(void)state;
	snprintf(bad, sizeof(bad), "postgresql://%s:%s@%s:%s/" TEST_DB, env_user, secret,
	         env_host, env_port);
	snprintf(shown, sizeof(shown), "postgresql://%s:***@%s:%s/" TEST_DB, env_user, env_host,
	         env_port);
	assert_null(open_as(bad, shown, &err));
	assert_int_equal(err.kind, ERR_CONNECT);
	snprintf(want, sizeof(want), "cannot connect to source system '" SYSTEM "' (%s)", shown);
	assert_string_equal(err.msg, want);
	snprintf(expect_detail, sizeof(expect_detail), "password authentication failed for user \"%s\"",
	         env_user);
	assert_non_null(strstr(err.detail, expect_detail));
	cc_assert_no_secret(&err, secret);
	cc_assert_no_secret(&err, "Secret");

	/* libpq quotes the token it cannot parse, which here is the password. */
	snprintf(bad, sizeof(bad), "postgresql://%s:s3cr%%zzet@%s:%s/" TEST_DB, env_user, env_host,
	         env_port);
	assert_null(open_as(bad, shown, &err));
	assert_int_equal(err.kind, ERR_CONNECT);
	assert_string_equal(err.msg, want);
	assert_string_equal(err.detail, "invalid percent-encoded token: \"***\"");
	cc_assert_no_secret(&err, "s3cr");
	cc_assert_no_secret(&err, "zzet");
}

static void test_err_missing_table(void **state)
{
	struct conn *c = open_ok();
	struct tally_err err;
	struct tabdesc t;

	(void)state;
	assert_int_equal(c->ops->describe_table(c, "orders", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_string_equal(err.msg, "table 'orders' does not exist in source system '" SYSTEM "'");
	assert_string_equal(err.hint, "did you mean 'Orders'?");

	assert_int_equal(c->ops->describe_table(c, "public.ordrs", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_string_equal(err.msg, "table 'public.ordrs' does not exist in source system '" SYSTEM "'");
	assert_string_equal(err.hint, "did you mean 'public.Orders'?");

	assert_int_equal(c->ops->describe_table(c, "public.nothing_like_it", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_string_equal(err.msg,
	                    "table 'public.nothing_like_it' does not exist in source system '" SYSTEM "'");
	assert_string_equal(err.hint, "");

	/* Exact match only: the schema's case counts too. */
	assert_int_equal(c->ops->describe_table(c, "S2.we\"ird", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_string_equal(err.hint, "did you mean 's2.we\"ird'?");

	assert_int_equal(c->ops->describe_table(c, "some_seq", &t, &err), -1);
	assert_int_equal(err.kind, ERR_SCHEMA);
	assert_string_equal(err.msg,
	                    "'some_seq' in source system '" SYSTEM "' is a sequence, not a table or view");

	/* None of that hurt the session. */
	assert_false(c->failed);
	cc_describe_ok(c, "Orders", &t);
	tabdesc_release(&t);
	c->ops->close(c);
}

static void test_err_bad_query_and_where(void **state)
{
	static const struct cc_val rows[] = {
		V("Äpfel"), V("apple"), V("éclair"), V("ß"), V("Zebra"),
	};
	struct conn *c = open_ok();
	struct tally_err err;
	struct tabdesc t;
	char want[256];

	(void)state;
	assert_int_equal(c->ops->describe_query(c, "SELECT nope FROM words", &t, &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	snprintf(want, sizeof(want),
	         "[source pid %ld] cannot describe the query on source system '" SYSTEM "'",
	         c->backend_pid);
	assert_string_equal(err.msg, want);
	assert_string_equal(err.detail, "column \"nope\" does not exist");
	assert_string_equal(err.sqlstate, "42703");
	assert_false(c->failed);

	assert_int_equal(c->ops->describe_query(c, "SELECT 1; SELECT 2", &t, &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	assert_string_equal(err.sqlstate, "42601");

	/* A where clause the server rejects: the scan fails, the session lives on. */
	cc_describe_ok(c, "words", &t);
	assert_int_equal(cc_scan_open(c, &t, NULL, "nope > 1", "w", "w", NULL, &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	snprintf(want, sizeof(want),
	         "[source pid %ld] cannot read public.words from source system '" SYSTEM "'",
	         c->backend_pid);
	assert_string_equal(err.msg, want);
	assert_string_equal(err.detail, "column \"nope\" does not exist");
	assert_string_equal(err.sqlstate, "42703");
	assert_false(c->failed);
	c->ops->scan_close(c);   /* harmless without an open scan */
	cc_scan_expect(c, &t, NULL, NULL, "w", "w", rows, 5, 1);
	tabdesc_release(&t);
	c->ops->close(c);
}

static void test_err_read_only(void **state)
{
	static const char *const sql = "SELECT nextval('some_seq') AS n";
	struct conn *c = open_ok();
	struct tally_err err, again;
	struct rawrow *row;
	struct tabdesc t;
	char want[256], buf[64];

	(void)state;
	cc_describe_query_ok(c, sql, &t);   /* prepared, never run */
	assert_int_equal(t.cols[0].type, LT_INT);
	assert_int_equal(t.cols[0].bits, 64);
	admin_value("SELECT is_called FROM some_seq", buf, sizeof(buf));
	assert_string_equal(buf, "f");

	if (cc_scan_open(c, &t, sql, NULL, "n", "", NULL, &err) < 0) {
		cc_print_err(&err);
		fail_msg("COPY should start");
	}
	assert_int_equal(c->ops->scan_next(c, &row, &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	snprintf(want, sizeof(want),
	         "[source pid %ld] cannot read the query from source system '" SYSTEM "'",
	         c->backend_pid);
	assert_string_equal(err.msg, want);
	assert_string_equal(err.detail, "cannot execute nextval() in a read-only transaction");
	assert_string_equal(err.sqlstate, "25006");
	assert_true(c->failed);

	/* Sticky: the same error at once, from every call. */
	assert_int_equal(c->ops->scan_next(c, &row, &again), -1);
	assert_int_equal(again.kind, ERR_QUERY);
	assert_string_equal(again.msg, want);
	c->ops->scan_close(c);
	tabdesc_release(&t);
	assert_int_equal(c->ops->describe_table(c, "words", &t, &again), -1);
	assert_string_equal(again.msg, want);
	admin_value("SELECT is_called FROM some_seq", buf, sizeof(buf));
	assert_string_equal(buf, "f");
	c->ops->close(c);
}

/* ---- stopping early ------------------------------------------------ */

static void test_scan_close_midstream(void **state)
{
	static const struct cc_val snap_rows[] = { V("1") };
	static const struct cc_val words_rows[] = {
		V("Äpfel"), V("apple"), V("éclair"), V("ß"), V("Zebra"),
	};
	struct conn *c = open_ok();
	struct tabdesc big, snap, words;
	struct tally_err err;
	struct rawrow *row;
	char buf[64];

	(void)state;
	cc_describe_ok(c, "big", &big);
	cc_describe_ok(c, "snap", &snap);
	cc_describe_ok(c, "words", &words);
	cc_scan_expect(c, &snap, NULL, NULL, "id", "id", snap_rows, 1, 1);
	/* Committed after the session's snapshot: the session never sees it. */
	admin_exec("INSERT INTO snap VALUES (2)");

	for (int round = 0; round < 2; round++) {
		if (cc_scan_open(c, &big, NULL, NULL, "id,h,pad", "id", NULL, &err) < 0) {
			cc_print_err(&err);
			fail_msg("scan_open of big failed");
		}
		for (int i = 1; i <= 5; i++) {
			assert_int_equal(c->ops->scan_next(c, &row, &err), 1);
			snprintf(buf, sizeof(buf), "%d", i);
			assert_string_equal(row->val[0], buf);
			assert_int_equal(row->len[1], 32);
			assert_int_equal(row->len[2], 150);
		}
		c->ops->scan_close(c);
		assert_false(c->failed);
		c->ops->scan_close(c);   /* twice is harmless */
	}
	cc_scan_expect(c, &words, NULL, NULL, "w", "w", words_rows, 5, 1);
	cc_scan_expect(c, &snap, NULL, NULL, "id", "id", snap_rows, 1, 1);
	admin_exec("DELETE FROM snap WHERE id = 2");
	tabdesc_release(&big);
	tabdesc_release(&snap);
	tabdesc_release(&words);
	c->ops->close(c);
}

static void test_lost_connection(void **state)
{
	struct conn *c = open_ok();
	struct tally_err err, again;
	struct rawrow *row;
	struct tabdesc big;
	char sql[128], buf[16], want[256];
	long n = 0;
	int rc;

	(void)state;
	cc_describe_ok(c, "big", &big);
	if (cc_scan_open(c, &big, NULL, NULL, "id,h,pad", "id", NULL, &err) < 0) {
		cc_print_err(&err);
		fail_msg("scan_open of big failed");
	}
	for (int i = 0; i < 3; i++, n++)
		assert_int_equal(c->ops->scan_next(c, &row, &err), 1);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%ld)", c->backend_pid);
	admin_value(sql, buf, sizeof(buf));
	assert_string_equal(buf, "t");

	/* Rows already in flight still arrive; then the loss is reported. */
	while ((rc = c->ops->scan_next(c, &row, &err)) == 1)
		n++;
	assert_int_equal(rc, -1);
	assert_true(n < 200000);
	assert_int_equal(err.kind, ERR_LOST);
	snprintf(want, sizeof(want),
	         "[source pid %ld] lost connection to source system '" SYSTEM "' while reading public.big",
	         c->backend_pid);
	assert_string_equal(err.msg, want);
	assert_true(err.detail[0] != '\0');
	assert_true(c->failed);

	assert_int_equal(c->ops->scan_next(c, &row, &again), -1);
	assert_int_equal(again.kind, ERR_LOST);
	assert_string_equal(again.msg, want);
	c->ops->scan_close(c);
	assert_int_equal(cc_scan_open(c, &big, NULL, NULL, "id", "id", NULL, &again), -1);
	assert_int_equal(again.kind, ERR_LOST);
	tabdesc_release(&big);
	c->ops->close(c);
}

static void test_lost_between_scans(void **state)
{
	struct conn *c = open_ok();
	struct tally_err err, again;
	struct tabdesc words, q = { 0 };
	char sql[160], buf[16], want[256];

	(void)state;
	cc_describe_ok(c, "words", &words);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%ld, 10000)", c->backend_pid);
	admin_value(sql, buf, sizeof(buf));
	assert_string_equal(buf, "t");

	assert_int_equal(cc_scan_open(c, &words, NULL, NULL, "w", "w", NULL, &err), -1);
	assert_int_equal(err.kind, ERR_LOST);
	snprintf(want, sizeof(want),
	         "[source pid %ld] lost connection to source system '" SYSTEM "' while reading public.words",
	         c->backend_pid);
	assert_string_equal(err.msg, want);
	assert_true(c->failed);
	/* A failed describe leaves its output alone. */
	assert_int_equal(c->ops->describe_query(c, "SELECT 1 AS x", &q, &again), -1);
	assert_int_equal(again.kind, ERR_LOST);
	assert_string_equal(again.msg, want);
	assert_null(q.cols);
	tabdesc_release(&words);
	c->ops->close(c);
}

/* ---- ranges, pages and chunks -------------------------------------- */

/* A bound as the engine gives one, from a key value's text. */
static struct sqlval sv_of(const struct coldesc *c, const char *s, size_t len)
{
	struct sqlval v = { .kind = SV_RAW, .s = s, .len = len };

	switch (c->type) {
	case LT_INT:
	case LT_DECIMAL:
		v.kind = SV_NUMBER;
		break;
	case LT_TEXT:
	case LT_CHAR:
	case LT_ENUM:
		v.kind = SV_TEXT;
		break;
	case LT_BYTES:
		v.kind = SV_BYTES;
		break;
	default:
		break;
	}
	return v;
}

/*
 * Scans rg and returns the rows as text: values joined by ',', rows by
 * ';', NULL as "-". *last (if not NULL) receives the last row's values of
 * the first nlast columns, for the next page.
 */
static size_t scan_text(struct conn *c, const struct tabdesc *t, const char *query,
                        const char *where, const char *cols, const char *keys,
                        const struct cc_range *rg, struct buf *out)
{
	struct tally_err err;
	struct rawrow *row;
	size_t n = 0;
	int rc;

	buf_reset(out);
	if (cc_scan_open(c, t, query, where, cols, keys, rg, &err) < 0) {
		cc_print_err(&err);
		fail_msg("scan_open of %s failed", t->display);
	}
	while ((rc = c->ops->scan_next(c, &row, &err)) == 1) {
		if (n++)
			buf_addch(out, ';');
		for (size_t i = 0; i < row->ncols; i++) {
			if (i)
				buf_addch(out, ',');
			if (row->val[i])
				buf_add(out, row->val[i], row->len[i]);
			else
				buf_addch(out, '-');
		}
	}
	if (rc < 0)
		cc_print_err(&err);
	assert_int_equal(rc, 0);
	c->ops->scan_close(c);
	return n;
}

static void expect_range(struct conn *c, const struct tabdesc *t, const char *query,
                         const char *where, const char *cols, const char *keys,
                         const struct cc_range *rg, const char *want)
{
	struct buf got = BUF_INIT;

	scan_text(c, t, query, where, cols, keys, rg, &got);
	if (strcmp(got.data, want) != 0)
		fail_msg("%s by %s: got [%s], expected [%s]", t->display, keys, got.data, want);
	buf_release(&got);
}

/*
 * Reads a table page by page, each page starting after the last key of
 * the one before (the key's columns come first in cols), and returns the
 * rows as scan_text() does, pages separated by '|'.
 */
static void scan_pages(struct conn *c, const struct tabdesc *t, const char *query,
                       const char *where, const char *cols, const char *keys, size_t nkey,
                       uint64_t page, struct buf *out)
{
	struct buf one = BUF_INIT, lastkey = BUF_INIT;
	struct sqlval lo[8];
	size_t ki[8];
	char list[256], *tok, *save;
	size_t nk = 0;
	bool first = true;

	snprintf(list, sizeof(list), "%s", keys);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		ki[nk++] = (size_t)tabdesc_find(t, tok);
	assert_int_equal(nk, nkey);
	buf_reset(out);
	for (;;) {
		struct cc_range rg = { .nbound = first ? 0 : nkey, .lo = lo, .limit = page };
		size_t rows = scan_text(c, t, query, where, cols, keys, &rg, &one);
		const char *p;

		if (rows == 0)
			break;
		if (!first)
			buf_addch(out, '|');
		buf_add(out, one.data, one.len);
		assert_true(rows <= page);
		/* The last row's key columns: its first nkey values. */
		p = strrchr(one.data, ';');
		buf_reset(&lastkey);
		buf_addstr(&lastkey, p ? p + 1 : one.data);
		{
			char *q = lastkey.data;

			for (size_t k = 0; k < nkey; k++) {
				char *comma = strchr(q, ',');

				if (comma)
					*comma = '\0';
				lo[k] = sv_of(&t->cols[ki[k]], q, strlen(q));
				q = comma ? comma + 1 : q + strlen(q);
			}
		}
		first = false;
		if (rows < page)
			break;
	}
	buf_release(&one);
	buf_release(&lastkey);
}

static void test_bounded_scans(void **state)
{
	struct conn *c = open_ok();
	struct tabdesc big, ck, words, q;
	struct buf got = BUF_INIT;

	(void)state;
	cc_describe_ok(c, "big", &big);
	{
		const struct sqlval lo = SN("199995"), hi = SN("3"), lo2 = SN("100"), hi2 = SN("105");
		const struct sqlval lo3 = SN("10"), hi3 = SN("5");
		struct cc_range only_lo = { .nbound = 1, .lo = &lo };
		struct cc_range only_hi = { .nbound = 1, .hi = &hi };
		struct cc_range both = { .nbound = 1, .lo = &lo2, .hi = &hi2 };
		struct cc_range page = { .nbound = 1, .lo = &lo3, .limit = 3 };
		struct cc_range first = { .nbound = 0, .limit = 2 };
		struct cc_range empty = { .nbound = 1, .lo = &lo3, .hi = &hi3 };

		expect_range(c, &big, NULL, NULL, "id", "id", &only_lo,
		             "199996;199997;199998;199999;200000");
		expect_range(c, &big, NULL, NULL, "id", "id", &only_hi, "1;2;3");
		expect_range(c, &big, NULL, NULL, "id,h", "id", &both,
		             "101,38b3eff8baf56627478ec76a704e9b52;102,ec8956637a99787bd197eacd77acce5e;"
		             "103,6974ce5ac660610b44d9b9fed0ff9548;104,c9e1074f5b3f9fc8ea15d152add07294;"
		             "105,65b9eea6e1cc6bb9f0cd2a47751a186f");
		expect_range(c, &big, NULL, NULL, "id", "id", &page, "11;12;13");
		expect_range(c, &big, NULL, NULL, "id", "id", &first, "1;2");
		expect_range(c, &big, NULL, NULL, "id", "id", &empty, "");
		/* A where clause and the bounds together. */
		expect_range(c, &big, NULL, "id % 2 = 0", "id", "id", &both, "102;104");
	}
	/* Pages chained by their last key: 200 rows in pages of 64. */
	scan_pages(c, &big, NULL, "id % 1000 = 0", "id", "id", 1, 64, &got);
	{
		size_t bars = 0, semis = 0;

		for (size_t i = 0; i < got.len; i++) {
			bars += got.data[i] == '|';
			semis += got.data[i] == ';';
		}
		assert_int_equal(bars, 3);
		assert_int_equal(bars + semis + 1, 200);
		assert_int_equal(strncmp(got.data, "1000;2000;", 10), 0);
		assert_string_equal(got.data + got.len - 13, "199000;200000");
	}

	/* Composite key (region, n): rows a..c x 1..3. */
	cc_describe_ok(c, "ck", &ck);
	{
		const struct sqlval a3[] = { ST("a"), SN("3") }, c1[] = { ST("c"), SN("1") };
		const struct sqlval b2[] = { ST("b"), SN("2") }, a2[] = { ST("a"), SN("2") };
		const struct sqlval b[] = { ST("b") }, a[] = { ST("a") }, a1[] = { ST("a"), SN("1") };
		struct cc_range both = { .nbound = 2, .lo = a3, .hi = c1 };
		struct cc_range lo_only = { .nbound = 2, .lo = b2 };
		struct cc_range hi_only = { .nbound = 2, .hi = a2 };
		struct cc_range first_lo = { .nbound = 1, .lo = b };
		struct cc_range first_hi = { .nbound = 1, .hi = a };
		struct cc_range where_rg = { .nbound = 2, .lo = a1, .hi = c1 };
		struct cc_range page = { .nbound = 2, .lo = a3, .limit = 2 };

		expect_range(c, &ck, NULL, NULL, "region,n", "region,n", &both, "b,1;b,2;b,3;c,1");
		expect_range(c, &ck, NULL, NULL, "region,n", "region,n", &lo_only, "b,3;c,1;c,2;c,3");
		expect_range(c, &ck, NULL, NULL, "region,n,v", "region,n", &hi_only, "a,1,a1;a,2,a2");
		/* Bounds on the first key column only. */
		expect_range(c, &ck, NULL, NULL, "region,n", "region,n", &first_lo, "c,1;c,2;c,3");
		expect_range(c, &ck, NULL, NULL, "region,n", "region,n", &first_hi, "a,1;a,2;a,3");
		expect_range(c, &ck, NULL, "n <> 2", "region,n", "region,n", &where_rg, "a,3;b,1;b,3;c,1");
		expect_range(c, &ck, NULL, NULL, "region,n", "region,n", &page, "b,1;b,2");
		/* A page within a chunk: after a whole key, up to a one-column boundary. */
		{
			struct cc_range in_chunk = { .lo = a2, .nlo = 2, .hi = b, .nhi = 1, .limit = 3 };
			struct cc_range to_end = { .lo = b2, .nlo = 2, .hi = b, .nhi = 1, .limit = 3 };
			struct cc_range whole = { .nbound = 2, .lo = a3, .hi = c1 };
			struct cc_range whole_lo = { .nbound = 1, .lo = b };

			expect_range(c, &ck, NULL, NULL, "region,n", "region,n", &in_chunk, "a,3;b,1;b,2");
			expect_range(c, &ck, NULL, NULL, "region,n", "region,n", &to_end, "b,3");
			expect_range(c, &ck, NULL, NULL, "region,n", "region,n", &whole, "b,1;b,2;b,3;c,1");
			expect_range(c, &ck, NULL, NULL, "region,n", "region,n", &whole_lo, "c,1;c,2;c,3");
		}
	}
	scan_pages(c, &ck, NULL, NULL, "region,n", "region,n", 2, 2, &got);
	assert_string_equal(got.data, "a,1;a,2|a,3;b,1|b,2;b,3|c,1;c,2|c,3");
	scan_pages(c, &ck, NULL, NULL, "region,n", "region,n", 2, 3, &got);
	assert_string_equal(got.data, "a,1;a,2;a,3|b,1;b,2;b,3|c,1;c,2;c,3");

	/* Text under ICU: bounds compare in the column's collation. */
	cc_describe_ok(c, "words", &words);
	{
		const struct sqlval lo = ST("apple"), hi = ST("ß");
		struct cc_range rg = { .nbound = 1, .lo = &lo, .hi = &hi };

		expect_range(c, &words, NULL, NULL, "w", "w", &rg, "éclair;ß");
	}
	scan_pages(c, &words, NULL, NULL, "w,n", "w", 1, 2, &got);
	assert_string_equal(got.data, "Äpfel,1;apple,2|éclair,4;ß,5|Zebra,3");

	/* A query source: bounds and pages on the query's columns. */
	{
		static const char sql[] = "SELECT id, h FROM big WHERE id <= 100 -- first hundred\n";
		const struct sqlval lo = SN("50");
		struct cc_range rg = { .nbound = 1, .lo = &lo, .limit = 2 };

		cc_describe_query_ok(c, sql, &q);
		expect_range(c, &q, sql, NULL, "id", "id", &rg, "51;52");
		tabdesc_release(&q);
	}
	{
		static const char sql[] = "SELECT w AS word FROM words";
		const struct sqlval lo = ST("éclair");
		struct cc_range rg = { .nbound = 1, .lo = &lo };

		cc_describe_query_ok(c, sql, &q);
		expect_range(c, &q, sql, NULL, "word", "word", &rg, "ß;Zebra");
		scan_pages(c, &q, sql, NULL, "word", "word", 1, 4, &got);
		assert_string_equal(got.data, "Äpfel;apple;éclair;ß|Zebra");
		tabdesc_release(&q);
	}
	buf_release(&got);
	tabdesc_release(&big);
	tabdesc_release(&ck);
	tabdesc_release(&words);
	c->ops->close(c);
}

/*
 * Bounds of every key type, compared exactly: a bound finer than the
 * column's typmod, longer than its varchar, beyond its integer type.
 */
static void test_bound_types(void **state)
{
	static const char u1[16] = { [15] = 1 };
	static const char b0[] = { 0 }, b01[] = { 0, 1 };
	const struct {
		const char *key;
		struct sqlval lo, hi;
		const char *want;
	} cases[] = {
		{ "d", SI(SV_DATE, days_from_civil(2024, 1, 1)), S0, "2;3" },
		{ "d", S0, SI(SV_DATE, days_from_civil(2024, 1, 1)), "1" },
		{ "d", SSP(SV_DATE, SVS_PINF), S0, "" },
		{ "d", S0, SSP(SV_DATE, SVS_PINF), "1;2;3" },
		/* 00:00:00.5: timestamp(0) would round it to 00:00:01 and lose row 2. */
		{ "ts0", SI(SV_TIMESTAMP, ts_us(2024, 1, 1, 0, 0, 0, 500000)), S0, "2;3" },
		{ "tz", SI(SV_TIMESTAMPTZ, ts_us(2024, 1, 1, 0, 0, 0, 500)), S0, "2;3" },
		{ "tz", S0, SI(SV_TIMESTAMPTZ, ts_us(2024, 1, 1, 0, 0, 0, 999)), "1" },
		{ "t0", SI(SV_TIME, 500000), S0, "2;3" },
		{ "u", SU(u1), S0, "2;3" },
		/* 1.555: numeric(6,2) would round it to 1.56 and lose row 3. */
		{ "num", SN("1.555"), S0, "3" },
		{ "num", S0, SN("1.55"), "1;2" },
		{ "num", SN("-1e3"), S0, NULL },
		{ "b", { .kind = SV_BYTES, .s = b0, .len = 1 }, S0, "2;3" },
		{ "b", S0, { .kind = SV_BYTES, .s = b01, .len = 2 }, "1;2" },
		{ "m", ST("sad"), S0, "2;3" },
		{ "m", S0, ST("ok"), "1;2" },
		{ "vc", ST("ab"), S0, "3" },
		{ "vc", S0, ST("abcd"), "1;2;3" },
		{ "ch", ST("ab"), S0, "3" },
		{ "ch", S0, ST("ab "), "1;2" },
		{ "i2", SN("40000"), S0, "" },
		{ "i2", SN("-40000"), S0, "1;2;3" },
		{ "i2", SN("0.5"), S0, "3" },
		{ "i2", SN("-0.5"), S0, "2;3" },
		{ "i8", SN("9223372036854775806"), S0, "3" },
		{ "i8", SN("10000000000000000000"), S0, "" },
		{ "i8", S0, SN("-9223372036854775808"), "1" },
	};
	struct conn *c = open_ok();
	struct tally_err err;
	struct tabdesc t;
	char want[512];

	(void)state;
	cc_describe_ok(c, "kt", &t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cc_range rg = {
			.nbound = 1,
			.lo = cases[i].lo.kind == SV_NULL ? NULL : &cases[i].lo,
			.hi = cases[i].hi.kind == SV_NULL ? NULL : &cases[i].hi,
		};

		if (!cases[i].want) {
			/* Malformed: refused before any statement, the session lives on. */
			assert_int_equal(cc_scan_open(c, &t, NULL, NULL, "id", cases[i].key, &rg, &err), -1);
			assert_int_equal(err.kind, ERR_DATA);
			assert_false(c->failed);
			continue;
		}
		expect_range(c, &t, NULL, NULL, "id", cases[i].key, &rg, cases[i].want);
	}
	/* Booleans: false < true. */
	{
		const struct sqlval lo = SB(false);
		struct cc_range rg = { .nbound = 1, .lo = &lo };

		expect_range(c, &t, NULL, NULL, "bo", "bo", &rg, "t;t");
	}

	/* Refusals name the scan and the column, never the value. */
	{
		const struct sqlval nul = S0, nope = ST("nope");
		struct cc_range rg = { .nbound = 1, .lo = &nul };

		assert_int_equal(cc_scan_open(c, &t, NULL, NULL, "id", "d", &rg, &err), -1);
		assert_int_equal(err.kind, ERR_DATA);
		snprintf(want, sizeof(want),
		         "[source pid %ld] cannot read public.kt from source system '" SYSTEM "': "
		         "column 'd' (date): a NULL cannot bound a range", c->backend_pid);
		assert_string_equal(err.msg, want);
		rg.lo = &nope;
		assert_int_equal(cc_scan_open(c, &t, NULL, NULL, "id", "m", &rg, &err), -1);
		snprintf(want, sizeof(want),
		         "[source pid %ld] cannot read public.kt from source system '" SYSTEM "': "
		         "column 'm' (mood): the value is not a label of this enum", c->backend_pid);
		assert_string_equal(err.msg, want);
		assert_false(c->failed);
		/* More bound columns than keys is the engine's bug. */
		rg.nbound = 2;
		assert_int_equal(cc_scan_open(c, &t, NULL, NULL, "id", "d", &rg, &err), -1);
		assert_int_equal(err.kind, ERR_INTERNAL);
		assert_string_equal(err.msg, "scan of public.kt on source system '" SYSTEM "' bounds 2 of 1"
		                    " key columns");
	}
	expect_range(c, &t, NULL, NULL, "id", "id", NULL, "1;2;3");
	tabdesc_release(&t);
	c->ops->close(c);
}

/* The statement the session's backend runs now, from pg_stat_activity. */
static void running_statement(const struct conn *c, char *out, size_t cap)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT query FROM pg_stat_activity WHERE pid = %ld",
	         c->backend_pid);
	admin_value(sql, out, cap);
}

/* EXPLAIN of sql as the admin, lines joined by '\n'. */
static void explain(const char *options, const char *sql, struct buf *out)
{
	struct buf q = BUF_INIT;
	PGresult *res;

	buf_addf(&q, "EXPLAIN (%s) %s", options, sql);
	res = PQexec(admin, q.data);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("EXPLAIN failed: %s\n%s", PQerrorMessage(admin), q.data);
	buf_reset(out);
	for (int r = 0; r < PQntuples(res); r++)
		buf_addf(out, "%s\n", PQgetvalue(res, r, 0));
	PQclear(res);
	buf_release(&q);
}

/*
 * Opens the bounded scan, takes the COPY statement from pg_stat_activity
 * while it runs, checks it is want, and EXPLAINs its SELECT into plan, as
 * the driver runs it: a range or a page of a table without sorts.
 */
static void explain_scan(struct conn *c, const struct tabdesc *t, const char *cols,
                         const char *keys, const struct cc_range *rg, const char *want,
                         struct buf *plan)
{
	char stmt[2048];
	struct tally_err err;
	struct rawrow *row;
	size_t n;

	if (cc_scan_open(c, t, NULL, NULL, cols, keys, rg, &err) < 0) {
		cc_print_err(&err);
		fail_msg("scan_open failed");
	}
	assert_int_equal(c->ops->scan_next(c, &row, &err), 1);
	running_statement(c, stmt, sizeof(stmt));
	if (strcmp(stmt, want) != 0)
		fail_msg("statement:\n%s\nexpected:\n%s", stmt, want);
	c->ops->scan_close(c);
	/* COPY (SELECT ...) TO STDOUT: the SELECT. */
	n = strlen(stmt);
	assert_true(n > 17 && strncmp(stmt, "COPY (", 6) == 0 &&
	            strcmp(stmt + n - 11, ") TO STDOUT") == 0);
	stmt[n - 11] = '\0';
	if (rg && (rg->nbound || rg->limit))
		admin_exec("SET enable_sort = off");
	explain("COSTS OFF", stmt + 6, plan);
	admin_exec("RESET enable_sort");
}

/*
 * Sequential scans of table so far, and rows its primary key fetched in
 * plain index scans (a bitmap scan, which needs a sort, fetches none), as
 * the statistics tell.
 */
static void scan_counts(const char *table, long *seq, long *idx)
{
	char sql[320], buf[64];

	admin_exec("SELECT pg_stat_clear_snapshot()");
	snprintf(sql, sizeof(sql),
	         "SELECT t.seq_scan || ' ' || i.idx_tup_fetch FROM pg_stat_user_tables t"
	         " JOIN pg_stat_user_indexes i ON i.relid = t.relid AND i.indexrelname = '%s_pkey'"
	         " WHERE t.relname = '%s'", table, table);
	admin_value(sql, buf, sizeof(buf));
	assert_int_equal(sscanf(buf, "%ld %ld", seq, idx), 2);
}

/*
 * What the driver's session really did, from the statistics its backend
 * reports when it exits: every row of the bounded scan of table fetched
 * by a plain scan of its primary key, which needs no sort; no sequential
 * scan.
 */
static void assert_index_only_access(const char *table, const char *cols, const char *keys,
                                     const struct cc_range *rg, size_t want_rows)
{
	struct conn *c;
	struct tabdesc t;
	struct buf rows = BUF_INIT;
	long seq0, idx0, seq1, idx1;

	scan_counts(table, &seq0, &idx0);
	c = open_ok();
	cc_describe_ok(c, table, &t);
	assert_int_equal(scan_text(c, &t, NULL, NULL, cols, keys, rg, &rows), want_rows);
	tabdesc_release(&t);
	c->ops->close(c);
	for (int i = 0; i < 200; i++) {
		scan_counts(table, &seq1, &idx1);
		if (idx1 != idx0 || seq1 != seq0)
			break;
		usleep(50000);
	}
	/* The planner may fetch a row or two itself, probing the index's ends. */
	assert_int_equal(seq1 - seq0, 0);
	if (idx1 - idx0 < (long)want_rows || idx1 - idx0 > (long)want_rows + 2)
		fail_msg("%s: %ld rows fetched by index scans, expected %zu (seq %ld -> %ld, fetched %ld -> %ld)",
		         table, idx1 - idx0, want_rows, seq0, seq1, idx0, idx1);
	buf_release(&rows);
}

static void test_explain_bounded(void **state)
{
	struct conn *c = open_ok();
	struct tabdesc big, comp2, skew;
	struct buf plan = BUF_INIT;

	(void)state;
	cc_describe_ok(c, "big", &big);
	{
		const struct sqlval lo = SN("1000"), hi = SN("21000");
		struct cc_range rg = { .nbound = 1, .lo = &lo, .hi = &hi };

		explain_scan(c, &big, "id,h", "id", &rg,
		             "COPY (SELECT \"id\", \"h\" FROM \"public\".\"big\""
		             " WHERE \"id\" > '1000'::pg_catalog.int4 AND \"id\" <= '21000'::pg_catalog.int4"
		             " ORDER BY \"id\") TO STDOUT",
		             &plan);
		assert_string_equal(plan.data,
		                    "Index Scan using big_pkey on big\n"
		                    "  Index Cond: ((id > 1000) AND (id <= 21000))\n");
	}
	/* The whole table in key order: the index too, no sort. */
	explain_scan(c, &big, "id", "id", NULL,
	             "COPY (SELECT \"id\" FROM \"public\".\"big\" ORDER BY \"id\") TO STDOUT", &plan);
	assert_string_equal(plan.data, "Index Only Scan using big_pkey on big\n");

	cc_describe_ok(c, "skew", &skew);
	{
		const struct sqlval lo = SN("1100000");
		struct cc_range rg = { .nbound = 1, .lo = &lo, .limit = 20000 };

		explain_scan(c, &skew, "id,pad", "id", &rg,
		             "COPY (SELECT \"id\", \"pad\" FROM \"public\".\"skew\""
		             " WHERE \"id\" > '1100000'::pg_catalog.int8 ORDER BY \"id\" LIMIT 20000) TO STDOUT",
		             &plan);
		assert_string_equal(plan.data,
		                    "Limit\n"
		                    "  ->  Index Scan using skew_pkey on skew\n"
		                    "        Index Cond: (id > '1100000'::bigint)\n");
	}

	/* A composite key's row comparison is one index condition. */
	cc_describe_ok(c, "comp2", &comp2);
	{
		const struct sqlval lo[] = { ST("region-13"), SN("1013") };
		const struct sqlval hi[] = { ST("region-14"), SN("34") };
		struct cc_range rg = { .nbound = 2, .lo = lo, .hi = hi };

		explain_scan(c, &comp2, "region,n,pad", "region,n", &rg,
		             "COPY (SELECT \"region\", \"n\", \"pad\" FROM \"public\".\"comp2\""
		             " WHERE (\"region\", \"n\") > ('region-13', '1013'::pg_catalog.int4)"
		             " AND (\"region\", \"n\") <= ('region-14', '34'::pg_catalog.int4)"
		             " ORDER BY \"region\", \"n\") TO STDOUT",
		             &plan);
		/*
		 * The heap is in n order, not (region, n): left alone, the planner
		 * would sort a sequential scan of the table for each chunk.
		 */
		assert_string_equal(plan.data,
		                    "Index Scan using comp2_pkey on comp2\n"
		                    "  Index Cond: ((ROW(region, n) > ROW('region-13'::text, 1013))"
		                    " AND (ROW(region, n) <= ROW('region-14'::text, 34)))\n");
		admin_exec("SET max_parallel_workers_per_gather = 0");
		explain("COSTS OFF", "SELECT \"region\", \"n\", \"pad\" FROM \"public\".\"comp2\""
		        " WHERE (\"region\", \"n\") > ('region-13', '1013'::pg_catalog.int4)"
		        " AND (\"region\", \"n\") <= ('region-14', '34'::pg_catalog.int4)"
		        " ORDER BY \"region\", \"n\"", &plan);
		admin_exec("RESET max_parallel_workers_per_gather");
		if (strncmp(plan.data, "Sort\n  Sort Key: region, n\n", 27) != 0)
			fail_msg("expected a sort:\n%s", plan.data);
		/* And the session did read it by the index, the table not at all. */
		assert_index_only_access("comp2", "region,n", "region,n", &rg, 9951);
	}
	{
		const struct sqlval lo = SN("1000"), hi = SN("21000");
		struct cc_range rg = { .nbound = 1, .lo = &lo, .hi = &hi };

		assert_index_only_access("big", "id,h", "id", &rg, 20000);
	}
	buf_release(&plan);
	tabdesc_release(&big);
	tabdesc_release(&comp2);
	tabdesc_release(&skew);
	c->ops->close(c);
}

/* ---- plan_bounds --------------------------------------------------- */

static int plan(struct conn *c, const struct tabdesc *t, const char *keys, const char *where,
                uint64_t chunk_rows, struct keybounds *b, struct tally_err *err)
{
	size_t ki[8], nk = 0;
	char list[256], *tok, *save;
	struct scan_req req = { .desc = t, .table = t->is_query ? NULL : t->display, .where = where };

	snprintf(list, sizeof(list), "%s", keys);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		ki[nk++] = (size_t)tabdesc_find(t, tok);
	req.key = ki;
	req.nkey = nk;
	err_clear(err);
	memset(b, 0xa5, sizeof(*b));   /* plan_bounds must set every field */
	return c->ops->plan_bounds(c, &req, chunk_rows, 0, b, err);
}

static void plan_ok(struct conn *c, const struct tabdesc *t, const char *keys, const char *where,
                    uint64_t chunk_rows, struct keybounds *b)
{
	struct tally_err err;

	if (plan(c, t, keys, where, chunk_rows, b, &err) < 0) {
		cc_print_err(&err);
		fail_msg("plan_bounds of %s failed", t->display);
	}
}

static void assert_same_bounds(const struct keybounds *a, const struct keybounds *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->ncols, b->ncols);
	assert_true(a->rows == b->rows);
	for (size_t i = 0; i < a->n * a->ncols; i++) {
		assert_int_equal(a->len[i], b->len[i]);
		assert_memory_equal(a->val[i], b->val[i], a->len[i]);
	}
}

/*
 * less_sql compares two boundaries on the admin connection: $1..$k the
 * first, $k+1..$2k the second, typed and collated as the key; answers t
 * when the first is smaller.
 */
static void assert_increasing(const struct keybounds *b, const char *less_sql)
{
	for (size_t i = 1; i < b->n; i++) {
		const char *params[16];
		PGresult *res;

		for (size_t k = 0; k < b->ncols; k++) {
			params[k] = b->val[(i - 1) * b->ncols + k];
			params[b->ncols + k] = b->val[i * b->ncols + k];
		}
		res = PQexecParams(admin, less_sql, (int)(2 * b->ncols), NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
			fail_msg("boundary %zu is not above boundary %zu (%s)", i, i - 1,
			         PQerrorMessage(admin));
		PQclear(res);
	}
}

/* Rows of each range (none, b0], (b0, b1], ..., (bn-1, none), by bounded scans. */
static void count_ranges(struct conn *c, const struct tabdesc *t, const char *keys,
                         const char *where, const struct keybounds *b, uint64_t *counts)
{
	struct sqlval lo[8], hi[8];
	size_t ki[8], nk = 0;
	char list[256], *tok, *save;
	struct buf text = BUF_INIT;

	snprintf(list, sizeof(list), "%s", keys);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		ki[nk++] = (size_t)tabdesc_find(t, tok);
	assert_int_equal(nk, b->ncols);
	for (size_t i = 0; i <= b->n; i++) {
		struct cc_range rg = { .nbound = b->ncols, .lo = i ? lo : NULL, .hi = i < b->n ? hi : NULL };

		for (size_t k = 0; k < b->ncols; k++) {
			if (i)
				lo[k] = sv_of(&t->cols[ki[k]], b->val[(i - 1) * b->ncols + k],
				              b->len[(i - 1) * b->ncols + k]);
			if (i < b->n)
				hi[k] = sv_of(&t->cols[ki[k]], b->val[i * b->ncols + k], b->len[i * b->ncols + k]);
		}
		counts[i] = scan_text(c, t, NULL, where, keys, keys, &rg, &text);
	}
	buf_release(&text);
}

/*
 * Plans table by keys twice (in two sessions), then checks the plan: about
 * total / chunk_rows ranges, boundaries strictly increasing in the server's
 * order, every row in exactly one range, no range beyond 3x chunk_rows.
 */
static void check_plan(const char *table, const char *keys, const char *where,
                       uint64_t chunk_rows, const char *less_sql)
{
	struct conn *c = open_ok(), *c2 = open_ok();
	struct keybounds b, again;
	struct tabdesc t;
	uint64_t counts[64], sum = 0, total, want_chunks;
	char sql[256], buf[32];

	cc_describe_ok(c, table, &t);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s%s%s", table, where ? " WHERE " : "",
	         where ? where : "");
	admin_value(sql, buf, sizeof(buf));
	total = strtoull(buf, NULL, 10);
	want_chunks = (total + chunk_rows - 1) / chunk_rows;

	plan_ok(c, &t, keys, where, chunk_rows, &b);
	plan_ok(c2, &t, keys, where, chunk_rows, &again);
	assert_same_bounds(&b, &again);
	keybounds_release(&again);

	assert_int_equal(b.ncols, strchr(keys, ',') ? 2 : 1);
	assert_true(b.rows > 0.8 * (double)total && b.rows < 1.2 * (double)total);
	if (b.n + 1 < want_chunks - 2 || b.n + 1 > want_chunks + 1)
		fail_msg("%s: %zu boundaries for %" PRIu64 " rows in chunks of %" PRIu64, table, b.n,
		         total, chunk_rows);
	assert_increasing(&b, less_sql);
	assert_true(b.n < 63);
	count_ranges(c, &t, keys, where, &b, counts);
	for (size_t i = 0; i <= b.n; i++) {
		sum += counts[i];
		if (counts[i] < chunk_rows / 3 || counts[i] > 3 * chunk_rows)
			fail_msg("%s: range %zu holds %" PRIu64 " rows", table, i, counts[i]);
	}
	assert_int_equal(sum, total);
	if (getenv("TALLY_TEST_VERBOSE")) {
		fprintf(stderr, "plan_bounds %s by %s%s%s: %" PRIu64 " rows, estimate %.0f, %zu boundaries,"
		        " rows per range:", table, keys, where ? " where " : "", where ? where : "",
		        total, b.rows, b.n);
		for (size_t i = 0; i <= b.n; i++)
			fprintf(stderr, " %" PRIu64, counts[i]);
		fprintf(stderr, "\n  boundaries:");
		for (size_t i = 0; i < b.n; i++) {
			fprintf(stderr, " (");
			for (size_t k = 0; k < b.ncols; k++)
				fprintf(stderr, "%s%s", k ? ", " : "", b.val[i * b.ncols + k]);
			fprintf(stderr, ")");
		}
		fprintf(stderr, "\n");
	}
	keybounds_release(&b);
	keybounds_release(&b);   /* releasing twice is harmless */
	tabdesc_release(&t);
	c->ops->close(c);
	c2->ops->close(c2);
}

static void test_plan_skewed_int(void **state)
{
	(void)state;
	check_plan("skew", "id", NULL, 20000, "SELECT $1::bigint < $2::bigint");
	/* A where clause: the sample also estimates what it keeps. */
	check_plan("skew", "id", "id < 1100000", 20000, "SELECT $1::bigint < $2::bigint");
}

static void test_plan_icu_text(void **state)
{
	char less[256];

	(void)state;
	snprintf(less, sizeof(less), "SELECT $1::text COLLATE \"%s\" < $2::text COLLATE \"%s\"",
	         collation, collation);
	check_plan("icukeys", "k", NULL, 20000, less);
}

static void test_plan_composite(void **state)
{
	(void)state;
	check_plan("comp2", "region,n", NULL, 20000, "SELECT ($1::text, $2::int) < ($3::text, $4::int)");
}

/* heap blocks of table read so far, as the statistics tell. */
static long heap_blocks(const char *table)
{
	char sql[256], buf[32];

	admin_exec("SELECT pg_stat_clear_snapshot()");
	snprintf(sql, sizeof(sql),
	         "SELECT coalesce(heap_blks_read, 0) + coalesce(heap_blks_hit, 0)"
	         " FROM pg_statio_user_tables WHERE relname = '%s'", table);
	admin_value(sql, buf, sizeof(buf));
	return strtol(buf, NULL, 10);
}

static void test_plan_small_and_sampling(void **state)
{
	struct conn *c = open_ok();
	struct keybounds b;
	struct tabdesc t;
	struct tally_err err;
	struct buf plan_text = BUF_INIT;
	char buf[64];
	long before, after, pages;

	(void)state;
	/* Small: no split, the estimate still told. */
	cc_describe_ok(c, "words", &t);
	plan_ok(c, &t, "w", NULL, 20000, &b);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.ncols, 1);
	assert_true(b.rows == 5);
	assert_null(b.val);
	tabdesc_release(&t);
	/* Large but not twice the chunk. */
	cc_describe_ok(c, "big", &t);
	plan_ok(c, &t, "id", NULL, 100001, &b);
	assert_int_equal(b.n, 0);
	assert_true(b.rows > 190000 && b.rows < 210000);
	tabdesc_release(&t);
	/* A query, a nullable key, a view: never split. */
	cc_describe_query_ok(c, "SELECT id FROM big", &t);
	plan_ok(c, &t, "id", NULL, 1000, &b);
	assert_int_equal(b.n, 0);
	tabdesc_release(&t);
	cc_describe_ok(c, "nopk", &t);
	plan_ok(c, &t, "k", NULL, 1, &b);
	assert_int_equal(b.n, 0);
	tabdesc_release(&t);
	cc_describe_ok(c, "v_words", &t);
	plan_ok(c, &t, "w", NULL, 1, &b);
	assert_int_equal(b.n, 0);
	tabdesc_release(&t);

	/* A where clause the server rejects: the session lives on. */
	cc_describe_ok(c, "skew", &t);
	assert_int_equal(plan(c, &t, "id", "nope > 1", 20000, &b, &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	snprintf(buf, sizeof(buf), "[source pid %ld] ", c->backend_pid);
	assert_int_equal(strncmp(err.msg, buf, strlen(buf)), 0);
	assert_string_equal(err.msg + strlen(buf),
	                    "cannot sample public.skew on source system '" SYSTEM "'");
	assert_string_equal(err.detail, "column \"nope\" does not exist");
	assert_int_equal(b.n, 0);
	assert_null(b.val);
	assert_false(c->failed);
	plan_ok(c, &t, "id", NULL, 20000, &b);
	assert_true(b.n > 0);
	keybounds_release(&b);
	c->ops->close(c);

	/* The sample reads only its pages: EXPLAIN of the form, and the statistics. */
	explain("ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF",
	        "SELECT \"id\" FROM \"public\".\"skew\" TABLESAMPLE SYSTEM (5) REPEATABLE (0)"
	        " ORDER BY \"id\"", &plan_text);
	assert_non_null(strstr(plan_text.data, "->  Sample Scan on skew (actual rows="));
	assert_non_null(strstr(plan_text.data,
	                       "Sampling: system ('5'::real) REPEATABLE ('0'::double precision)"));
	assert_null(strstr(plan_text.data, "Seq Scan"));
	admin_value("SELECT relpages FROM pg_class WHERE relname = 'skew'", buf, sizeof(buf));
	pages = strtol(buf, NULL, 10);
	{
		const char *h = strstr(plan_text.data, "Buffers: shared hit=");
		long hit = h ? strtol(h + 20, NULL, 10) : -1;

		assert_true(hit > 0 && hit < pages / 10);
	}
	before = heap_blocks("skew");
	c = open_ok();
	plan_ok(c, &t, "id", NULL, 20000, &b);
	c->ops->close(c);
	/* A backend reports its reads when it exits. */
	for (int i = 0; i < 200 && (after = heap_blocks("skew")) == before; i++)
		usleep(50000);
	if (getenv("TALLY_TEST_VERBOSE"))
		fprintf(stderr, "plan_bounds skew: read %ld of %ld heap pages\n", after - before, pages);
	assert_true(after > before && after - before < pages / 5);
	keybounds_release(&b);
	tabdesc_release(&t);
	buf_release(&plan_text);
}

/*
 * A table never vacuumed or analyzed (reltuples -1, or 0 before
 * PostgreSQL 14): counted when small, else the planner's estimate read
 * from EXPLAIN (FORMAT JSON), and split by it.
 */
static void test_plan_without_statistics(void **state)
{
	struct conn *c;
	struct keybounds b;
	struct tabdesc t;
	char buf[64], want[64];

	(void)state;
	admin_exec("CREATE TABLE nostats_small (id int PRIMARY KEY) WITH (autovacuum_enabled = false);"
	           "INSERT INTO nostats_small SELECT g FROM generate_series(1, 1234) g;"
	           "CREATE TABLE nostats_big (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false);"
	           "INSERT INTO nostats_big SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g;"
	           "GRANT SELECT ON nostats_small, nostats_big TO PUBLIC");
	admin_value("SELECT bool_and(reltuples <= 0) FROM pg_class"
	            " WHERE relname IN ('nostats_small', 'nostats_big')", buf, sizeof(buf));
	assert_string_equal(buf, "t");
	admin_value("SELECT pg_relation_size('nostats_big') > 10 * 1024 * 1024", buf, sizeof(buf));
	assert_string_equal(buf, "t");

	/* The planner's estimate, as PostgreSQL's own JSON operators read it. */
	admin_exec("CREATE OR REPLACE FUNCTION pg_temp.plan_rows(q text) RETURNS float8 LANGUAGE plpgsql AS $$"
	           " DECLARE j json; BEGIN EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;"
	           " RETURN (j->0->'Plan'->>'Plan Rows')::float8; END $$");
	admin_value("SELECT pg_temp.plan_rows('SELECT 1 FROM nostats_big')", want, sizeof(want));

	c = open_ok();
	cc_describe_ok(c, "nostats_small", &t);
	plan_ok(c, &t, "id", NULL, 100, &b);
	assert_true(b.rows == 1234);
	assert_true(b.n > 0);
	keybounds_release(&b);
	tabdesc_release(&t);
	cc_describe_ok(c, "nostats_big", &t);
	plan_ok(c, &t, "id", NULL, 10000, &b);
	if (getenv("TALLY_TEST_VERBOSE"))
		fprintf(stderr, "plan_bounds nostats_big: %.0f rows estimated, %zu bounds\n", b.rows, b.n);
	snprintf(buf, sizeof(buf), "%.0f", b.rows);
	assert_string_equal(buf, want);
	assert_int_equal(b.n, (size_t)ceil(b.rows / 10000) - 1);
	keybounds_release(&b);
	tabdesc_release(&t);
	c->ops->close(c);
	admin_exec("DROP TABLE nostats_small, nostats_big");
}

/* ---- order_is_bytewise --------------------------------------------- */

static void dsn_for(const char *db, char *out, size_t cap)
{
	snprintf(out, cap, "postgresql://");
	cc_uri_encode(out, cap, env_user);
	snprintf(out + strlen(out), cap - strlen(out), ":");
	cc_uri_encode(out, cap, env_pw);
	snprintf(out + strlen(out), cap - strlen(out), "@%s:%s/%s", env_host, env_port, db);
}

/* The collation describe gives k of a fresh table in db, and describe_query too. */
static void default_collation_of(const char *db, const char *create, char *out, size_t cap,
                                 bool *bytewise)
{
	char the_dsn[1024];
	struct tally_err err;
	PGconn *pg = admin_connect("postgres");
	struct conn *c;
	struct tabdesc t;
	char sql[512];

	assert_non_null(pg);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	assert_int_equal(exec_on(pg, sql), 0);
	assert_int_equal(exec_on(pg, create), 0);
	PQfinish(pg);
	pg = admin_connect(db);
	assert_non_null(pg);
	assert_int_equal(exec_on(pg, "CREATE TABLE t (k text PRIMARY KEY, c char(2) NOT NULL)"), 0);
	PQfinish(pg);

	dsn_for(db, the_dsn, sizeof(the_dsn));
	c = open_as(the_dsn, "hidden", &err);
	if (!c)
		cc_print_err(&err);
	assert_non_null(c);
	cc_describe_ok(c, "t", &t);
	snprintf(out, cap, "%s", t.cols[0].collation);
	assert_string_equal(t.cols[1].collation, out);
	*bytewise = postgres_ops.order_is_bytewise(&t.cols[0]);
	assert_true(postgres_ops.order_is_bytewise(&t.cols[1]) == *bytewise);
	tabdesc_release(&t);
	cc_describe_query_ok(c, "SELECT k FROM t", &t);
	assert_string_equal(t.cols[0].collation, out);
	tabdesc_release(&t);
	c->ops->close(c);

	pg = admin_connect("postgres");
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db);
	assert_int_equal(exec_on(pg, sql), 0);
	PQfinish(pg);
}

static void test_order_is_bytewise(void **state)
{
	static const struct {
		const char *name;
		bool bytewise;
	} want[] = {
		{ "id", true }, { "i2", true }, { "i8", true }, { "num", true }, { "f4", false },
		{ "f8", false }, { "bo", true }, { "d", true }, { "t", true }, { "ts", true },
		{ "tz", true }, { "u", true }, { "by", true }, { "t_c", true }, { "t_posix", true },
		{ "t_def", false }, { "t_icu", false }, { "t_cutf8", false }, { "ch_c", true },
		{ "ch_def", false }, { "vc_c", true }, { "nm", true }, { "m", false }, { "j", false },
		{ "iv", false }, { "ip", false }, { "bits", false }, { "arr", false },
	};
	struct conn *c = open_ok();
	struct coldesc unknown = { .name = "x", .type = LT_TEXT };
	struct tabdesc t;
	char coll[128];
	bool bytewise;

	(void)state;
	cc_describe_ok(c, "bw", &t);
	assert_int_equal(t.ncols, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < t.ncols; i++) {
		assert_string_equal(t.cols[i].name, want[i].name);
		if (postgres_ops.order_is_bytewise(&t.cols[i]) != want[i].bytewise)
			fail_msg("column %s (%s, collation %s): order_is_bytewise should be %d", want[i].name,
			         t.cols[i].native, t.cols[i].collation ? t.cols[i].collation : "none",
			         want[i].bytewise);
	}
	assert_string_equal(t.cols[tabdesc_find(&t, "t_c")].collation, "C");
	assert_string_equal(t.cols[tabdesc_find(&t, "t_posix")].collation, "POSIX");
	assert_string_equal(t.cols[tabdesc_find(&t, "t_def")].collation, dbcoll);
	assert_string_equal(t.cols[tabdesc_find(&t, "t_icu")].collation, collation);
	assert_string_equal(t.cols[tabdesc_find(&t, "t_cutf8")].collation, "C.utf8");
	assert_string_equal(t.cols[tabdesc_find(&t, "nm")].collation, "C");
	assert_null(t.cols[tabdesc_find(&t, "u")].collation);
	tabdesc_release(&t);
	/* A collation nobody could tell: not bytewise. */
	assert_false(postgres_ops.order_is_bytewise(&unknown));
	/* Query columns carry their expressions' collations. */
	cc_describe_query_ok(c, "SELECT t_c, t_icu, t_def, t_c || t_icu AS mixed, 'x' COLLATE \"POSIX\" AS p,"
	                  " t_c COLLATE \"C\" < 'b' AS lt FROM bw", &t);
	assert_string_equal(t.cols[0].collation, "C");
	assert_string_equal(t.cols[1].collation, collation);
	assert_string_equal(t.cols[2].collation, dbcoll);
	assert_null(t.cols[3].collation);   /* conflicting implicit collations: none */
	assert_false(postgres_ops.order_is_bytewise(&t.cols[3]));
	assert_string_equal(t.cols[4].collation, "POSIX");
	assert_true(postgres_ops.order_is_bytewise(&t.cols[4]));
	assert_null(t.cols[5].collation);
	tabdesc_release(&t);
	c->ops->close(c);

	/* The database default, resolved at open: "C", then ICU's root locale. */
	default_collation_of(C_DB, "CREATE DATABASE " C_DB " TEMPLATE template0 LOCALE 'C'",
	                     coll, sizeof(coll), &bytewise);
	assert_string_equal(coll, "C");
	assert_true(bytewise);
	if (PQserverVersion(admin) >= 150000) {
		default_collation_of(ICU_DB, "CREATE DATABASE " ICU_DB " TEMPLATE template0"
		                     " LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'",
		                     coll, sizeof(coll), &bytewise);
		assert_string_equal(coll, "und-x-icu");
		assert_false(bytewise);
	}
}

/* ---- snapshots, position, load ------------------------------------- */

static struct conn *open_snapshot(const char *id, struct tally_err *err)
{
	struct conn_cfg cfg = {
		.txsnap = id, .system = SYSTEM, .side = "source",
		.dsn = tally_dsn.dsn, .dsn_shown = tally_dsn.shown, .connect_timeout = 10,
	};
	struct conn *c = (struct conn *)&cfg;

	err_clear(err);
	if (postgres_ops.open(&c, &cfg, err) < 0) {
		assert_null(c);
		return NULL;
	}
	return c;
}

/* An open failure prefixed "[source pid N] ": the rest must be want. */
static void assert_open_err(const struct tally_err *err, const char *want)
{
	const char *p = strstr(err->msg, "] ");

	assert_int_equal(strncmp(err->msg, "[source pid ", 12), 0);
	assert_non_null(p);
	assert_string_equal(p + 2, want);
}

static void test_snapshot_share(void **state)
{
	static const struct cc_val one[] = { V("1") };
	static const struct cc_val both[] = { V("1"), V("3") };
	struct conn *a = open_ok(), *b, *fresh;
	struct tally_err err;
	struct rawrow *row;
	struct tabdesc snap;
	char *id = NULL, *id2 = NULL;
	unsigned x, y, z;
	char tail;

	(void)state;
	cc_describe_ok(a, "snap", &snap);
	/* As the engine does: plan and scan first (savepoints come and go), then export. */
	{
		struct keybounds kb;
		struct tabdesc big;

		cc_describe_ok(a, "big", &big);
		plan_ok(a, &big, "id", NULL, 20000, &kb);
		assert_true(kb.n > 0);
		keybounds_release(&kb);
		tabdesc_release(&big);
	}
	cc_scan_expect(a, &snap, NULL, NULL, "id", "id", one, 1, 1);
	assert_int_equal(a->ops->export_txsnap(a, &id, &err), 0);
	assert_non_null(id);
	assert_int_equal(sscanf(id, "%8X-%8X-%u%c", &x, &y, &z, &tail), 3);
	/* Exporting again is allowed and names the same data. */
	assert_int_equal(a->ops->export_txsnap(a, &id2, &err), 0);
	free(id2);

	admin_exec("INSERT INTO snap VALUES (3)");
	b = open_snapshot(id, &err);
	if (!b)
		cc_print_err(&err);
	assert_non_null(b);
	cc_scan_expect(b, &snap, NULL, NULL, "id", "id", one, 1, 1);
	cc_scan_expect(a, &snap, NULL, NULL, "id", "id", one, 1, 1);
	fresh = open_ok();
	cc_scan_expect(fresh, &snap, NULL, NULL, "id", "id", both, 2, 1);
	fresh->ops->close(fresh);

	/* Not while a scan holds the connection. */
	assert_int_equal(cc_scan_open(a, &snap, NULL, NULL, "id", "id", NULL, &err), 0);
	assert_int_equal(a->ops->scan_next(a, &row, &err), 1);
	assert_int_equal(a->ops->export_txsnap(a, &id2, &err), -1);
	assert_int_equal(err.kind, ERR_INTERNAL);
	assert_string_equal(err.msg, "cannot export the snapshot while a scan is open on source system '"
	                    SYSTEM "'");
	a->ops->scan_close(a);
	assert_false(a->failed);
	b->ops->close(b);

	/* Ids the server does not know: ERR_SNAPSHOT (no retry helps), its message in detail. */
	b = open_snapshot("00000003-0000FFFF-1", &err);
	assert_null(b);
	assert_int_equal(err.kind, ERR_SNAPSHOT);
	assert_open_err(&err, "cannot import snapshot '00000003-0000FFFF-1' on source system '"
	                SYSTEM "'");
	assert_string_equal(err.detail, "invalid snapshot identifier: \"00000003-0000FFFF-1\"");
	assert_string_equal(err.sqlstate, "22023");
	b = open_snapshot("it's", &err);
	assert_null(b);
	assert_int_equal(err.kind, ERR_SNAPSHOT);
	assert_string_equal(err.detail, "invalid snapshot identifier: \"it's\"");
	/* The snapshot lives as long as its exporter's transaction. */
	a->ops->close(a);
	b = open_snapshot(id, &err);
	assert_null(b);
	assert_int_equal(err.kind, ERR_SNAPSHOT);
	assert_string_equal(err.sqlstate, "22023");

	admin_exec("DELETE FROM snap WHERE id = 3");
	free(id);
	tabdesc_release(&snap);
}

/* A second connection as the admin that stays active until released. */
static PGconn *busy_backend(void)
{
	PGconn *pg = admin_connect(TEST_DB);
	char sql[160], buf[16];

	assert_non_null(pg);
	assert_int_equal(PQsendQuery(pg, "SELECT pg_sleep(60)"), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %d"
	         " AND state = 'active'", PQbackendPID(pg));
	for (int i = 0; i < 100; i++) {
		admin_value(sql, buf, sizeof(buf));
		if (strcmp(buf, "1") == 0)
			return pg;
		usleep(20000);
	}
	fail_msg("the busy backend never became active");
	return NULL;
}

static void release_backend(PGconn *pg)
{
	PGcancel *cancel = PQgetCancel(pg);
	char errbuf[256];
	PGresult *res;

	PQcancel(cancel, errbuf, (int)sizeof(errbuf));
	PQfreeCancel(cancel);
	while ((res = PQgetResult(pg)) != NULL)
		PQclear(res);
	PQfinish(pg);
}

/* ---- guard: limits, locks, stamps, the watch ------------------------- */

static struct conn *open_cfg(struct conn_cfg *cfg, struct tally_err *err)
{
	struct conn *c = NULL;

	cfg->system = SYSTEM;
	cfg->side = cfg->monitor ? "monitor" : "source";
	cfg->dsn = tally_dsn.dsn;
	cfg->dsn_shown = tally_dsn.shown;
	cfg->connect_timeout = 10;
	err_clear(err);
	if (postgres_ops.open(&c, cfg, err) < 0)
		return NULL;
	return c;
}

static void stamp_of(struct conn *mon, const char *table, char *out, size_t cap)
{
	struct tally_err err;
	char *s = NULL;

	if (mon->ops->table_stamp(mon, table, &s, &err) < 0) {
		cc_print_err(&err);
		fail_msg("table_stamp('%s') failed", table);
	}
	snprintf(out, cap, "%s", s ? s : "(none)");
	free(s);
}

/*
 * A session opened with locks holds ACCESS SHARE on its tables, and takes
 * its snapshot after them; the limits asked for are in force; a monitor's
 * stamps are the relfilenodes, which TRUNCATE and VACUUM FULL replace and
 * ADD COLUMN does not; a lock another session holds stops open within the
 * lock timeout, naming that session; the watch sees a DDL waiting on the
 * session's lock, and the ages of its transaction.
 */
static void test_guard(void **state)
{
	static const char *const locks[] = { "public.guard_t", "no_such_table", "guard_v" };
	struct conn_cfg cfg;
	struct conn *c, *mon;
	struct conn_watch w;
	struct tally_err err;
	char sql[512], buf[256], want[256], before[256], pid[32];
	PGconn *ddl;
	PGresult *res;

	(void)state;
	admin_exec("DROP TABLE IF EXISTS guard_t, guard_p CASCADE;"
	           "CREATE TABLE guard_t (id int PRIMARY KEY, v text);"
	           "INSERT INTO guard_t SELECT g, 'x' FROM generate_series(1, 100) g;"
	           "CREATE VIEW guard_v AS SELECT * FROM guard_t;"
	           "CREATE TABLE guard_p (id int PRIMARY KEY) PARTITION BY RANGE (id);"
	           "CREATE TABLE guard_p1 PARTITION OF guard_p FOR VALUES FROM (0) TO (10);"
	           "CREATE TABLE guard_p2 PARTITION OF guard_p FOR VALUES FROM (10) TO (20);"
	           "GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;");

	/*
	 * Locks and limits. The open waits for a writer that holds ACCESS
	 * EXCLUSIVE, and its snapshot, taken after its locks, sees what that
	 * writer committed.
	 */
	ddl = admin_connect(TEST_DB);
	assert_non_null(ddl);
	assert_int_equal(exec_on(ddl, "BEGIN; LOCK TABLE guard_t IN ACCESS EXCLUSIVE MODE;"
	                         "INSERT INTO guard_t VALUES (1000, 'late')"), 0);
	assert_int_equal(PQsendQuery(ddl, "SELECT pg_sleep(0.5); COMMIT"), 1);
	memset(&cfg, 0, sizeof(cfg));
	cfg.lock = locks;
	cfg.nlock = 3;
	cfg.lock_timeout = 2;
	cfg.statement_timeout = 5;
	c = open_cfg(&cfg, &err);
	if (!c)
		cc_print_err(&err);
	assert_non_null(c);
	assert_true(c->statement_timeout == 5);
	assert_true(c->role_statement_timeout == 0);
	snprintf(sql, sizeof(sql), "SELECT string_agg(relation::regclass::text, ',' ORDER BY relation::regclass::text)"
	         " FROM pg_locks WHERE pid = %ld AND locktype = 'relation' AND mode = 'AccessShareLock'"
	         " AND granted AND relation::regclass::text LIKE 'guard%%'", c->backend_pid);
	admin_value(sql, buf, sizeof(buf));
	assert_string_equal(buf, "guard_t,guard_v");
	while ((res = PQgetResult(ddl)) != NULL)
		PQclear(res);
	{
		struct tabdesc t;

		cc_describe_query_ok(c, "SELECT count(*)::text AS n, current_setting('statement_timeout') AS st,"
		                  " current_setting('lock_timeout') AS lt FROM guard_t", &t);
		cc_scan_expect(c, &t, "SELECT count(*)::text AS n, current_setting('statement_timeout') AS st,"
		            " current_setting('lock_timeout') AS lt FROM guard_t", NULL, "n,st,lt", "",
		            (const struct cc_val[]){ V("101"), V("5s"), V("2s") }, 1, 3);
		tabdesc_release(&t);
	}
	c->ops->close(c);

	/* Stamps, through a monitor (no transaction). */
	memset(&cfg, 0, sizeof(cfg));
	cfg.monitor = true;
	mon = open_cfg(&cfg, &err);
	assert_non_null(mon);
	admin_value("SELECT 'guard_t'::regclass::oid || ':' || pg_relation_filenode('guard_t')", want, sizeof(want));
	stamp_of(mon, "guard_t", buf, sizeof(buf));
	assert_string_equal(buf, want);
	stamp_of(mon, "public.guard_t", before, sizeof(before));
	assert_string_equal(before, want);
	stamp_of(mon, "guard_v", buf, sizeof(buf));
	assert_string_equal(buf, "(none)");
	stamp_of(mon, "no_such_table", buf, sizeof(buf));
	assert_string_equal(buf, "missing");
	admin_value("SELECT string_agg(oid || ':' || pg_relation_filenode(oid), ',' ORDER BY oid) FROM pg_class"
	            " WHERE relname IN ('guard_p1', 'guard_p2')", want, sizeof(want));
	stamp_of(mon, "guard_p", buf, sizeof(buf));
	assert_string_equal(buf, want);
	admin_exec("ALTER TABLE guard_t ADD COLUMN w int");
	stamp_of(mon, "guard_t", buf, sizeof(buf));
	assert_string_equal(buf, before);
	admin_exec("BEGIN; TRUNCATE guard_t; INSERT INTO guard_t VALUES (1, 'x'); COMMIT");
	stamp_of(mon, "guard_t", buf, sizeof(buf));
	assert_string_not_equal(buf, before);
	snprintf(before, sizeof(before), "%s", buf);
	admin_exec("VACUUM FULL guard_t");
	stamp_of(mon, "guard_t", buf, sizeof(buf));
	assert_string_not_equal(buf, before);
	admin_exec("ALTER TABLE guard_t RENAME TO guard_t2; CREATE TABLE guard_t (id int PRIMARY KEY, v text);"
	           "GRANT SELECT ON guard_t TO PUBLIC");
	stamp_of(mon, "guard_t", before, sizeof(before));
	assert_string_not_equal(buf, before);
	admin_exec("DROP TABLE guard_t; ALTER TABLE guard_t2 RENAME TO guard_t");

	/* A lock held elsewhere: open fails within the lock timeout and names the holder. */
	assert_int_equal(exec_on(ddl, "BEGIN; LOCK TABLE guard_t IN ACCESS EXCLUSIVE MODE"), 0);
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(ddl));
	memset(&cfg, 0, sizeof(cfg));
	cfg.lock = locks;
	cfg.nlock = 1;
	cfg.lock_timeout = 0.3;
	c = open_cfg(&cfg, &err);
	assert_null(c);
	assert_int_equal(err.kind, ERR_LOCKED);
	assert_string_equal(err.sqlstate, "55P03");
	snprintf(want, sizeof(want), "cannot lock table 'public.guard_t' on source system '" SYSTEM "' within 0.3 s: "
	         "pid %s (user '%s', application '', idle in transaction, in a transaction for ", pid, env_admin_user);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, ") holds ACCESS EXCLUSIVE"));
	assert_int_equal(exec_on(ddl, "ROLLBACK"), 0);

	/* The watch: a DDL waits on the session's lock. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.lock = locks;
	cfg.nlock = 1;
	c = open_cfg(&cfg, &err);
	assert_non_null(c);
	assert_int_equal(PQsendQuery(ddl, "ALTER TABLE guard_t ADD COLUMN z int"), 1);
	for (int tries = 0; tries < 100; tries++) {
		assert_int_equal(mon->ops->watch(mon, (long[]){ c->backend_pid }, 1, NULL, 0, &w, &err), 0);
		if (w.nwaiters)
			break;
		usleep(50000);
	}
	assert_int_equal(w.nwaiters, 1);
	assert_int_equal(w.waiters[0].pid, PQbackendPID(ddl));
	assert_string_equal(w.waiters[0].user, env_admin_user);
	assert_string_equal(w.waiters[0].what, "AccessExclusiveLock on guard_t");
	assert_true(w.waiters[0].seconds >= 0);
	assert_true(w.snapshot_age >= 0);
	assert_true(w.xmin_age >= 0);
	/* Not a waiter of tally's when the session it waits for is not one. */
	assert_int_equal(mon->ops->watch(mon, (long[]){ 1 }, 1, NULL, 0, &w, &err), 0);
	assert_int_equal(w.nwaiters, 0);
	assert_true(w.snapshot_age < 0);
	assert_int_equal(c->ops->keepalive(c, &err), 0);
	c->ops->close(c);
	while ((res = PQgetResult(ddl)) != NULL) {
		assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
		PQclear(res);
	}
	PQfinish(ddl);
	mon->ops->close(mon);
	admin_exec("DROP TABLE guard_t, guard_p CASCADE");
}

static void test_position_load(void **state)
{
	struct conn *c = open_ok(), *mon;
	struct tally_err err;
	struct rawrow *row;
	struct tabdesc words;
	char *pos = NULL, mon_dsn[1024], hi[32], lo[32], tail, sql[128], buf[8];
	long n = -1;
	PGconn *busy;

	(void)state;
	assert_int_equal(c->ops->position(c, &pos, &err), 0);
	assert_int_equal(sscanf(pos, "lsn %16[0-9A-F]/%16[0-9A-F]%c", hi, lo, &tail), 2);
	/* At or before where the server is now. */
	snprintf(sql, sizeof(sql), "SELECT pg_current_wal_lsn() >= '%s'", pos + 4);
	admin_value(sql, buf, sizeof(buf));
	assert_string_equal(buf, "t");
	free(pos);

	/*
	 * Another role's active backend: scripts/servers.sh grants tally's role
	 * pg_read_all_stats (for --max-load), so it sees it, and sees it again
	 * after it ends: the count is not frozen by the session's transaction.
	 */
	busy = busy_backend();
	assert_int_equal(c->ops->load(c, &n, &err), 0);
	assert_true(n >= 1);
	snprintf(mon_dsn, sizeof(mon_dsn), "host=%s port=%s user=" MON_ROLE " password=%s dbname="
	         TEST_DB, env_host, env_port, mon_pw);
	mon = open_as(mon_dsn, "hidden", &err);
	if (!mon)
		cc_print_err(&err);
	assert_non_null(mon);
	assert_int_equal(mon->ops->load(mon, &n, &err), 0);
	assert_true(n >= 1);
	release_backend(busy);
	/* Once it is done, the same session counts one fewer. */
	{
		long before = n;

		for (int tries = 0; tries < 50 && n >= before; tries++) {
			usleep(100000);
			assert_int_equal(mon->ops->load(mon, &n, &err), 0);
		}
		assert_true(n < before);
	}
	mon->ops->close(mon);

	/* Neither while a scan holds the connection; the scan goes on. */
	cc_describe_ok(c, "words", &words);
	assert_int_equal(cc_scan_open(c, &words, NULL, NULL, "w", "w", NULL, &err), 0);
	assert_int_equal(c->ops->position(c, &pos, &err), -1);
	assert_int_equal(err.kind, ERR_INTERNAL);
	assert_string_equal(err.msg, "cannot read the WAL position while a scan is open on source"
	                    " system '" SYSTEM "'");
	assert_int_equal(c->ops->load(c, &n, &err), -1);
	assert_int_equal(c->ops->scan_next(c, &row, &err), 1);
	assert_string_equal(row->val[0], "Äpfel");
	c->ops->scan_close(c);
	assert_int_equal(c->ops->load(c, &n, &err), 0);

	c->ops->close(c);

	/*
	 * A refusal is the statement's alone: the session goes on. (Revoked
	 * before the session opens: within its transaction a session may go on
	 * using the privileges it has cached.)
	 */
	admin_exec("REVOKE EXECUTE ON FUNCTION pg_current_wal_lsn() FROM PUBLIC");
	c = open_ok();
	assert_int_equal(c->ops->position(c, &pos, &err), -1);
	assert_int_equal(err.kind, ERR_QUERY);
	snprintf(sql, sizeof(sql), "[source pid %ld] ", c->backend_pid);
	assert_int_equal(strncmp(err.msg, sql, strlen(sql)), 0);
	assert_string_equal(err.msg + strlen(sql),
	                    "cannot read the WAL position on source system '" SYSTEM "'");
	assert_string_equal(err.detail, "permission denied for function pg_current_wal_lsn");
	assert_string_equal(err.sqlstate, "42501");
	assert_false(c->failed);
	admin_exec("GRANT EXECUTE ON FUNCTION pg_current_wal_lsn() TO PUBLIC");
	assert_int_equal(c->ops->load(c, &n, &err), 0);
	assert_int_equal(cc_scan_open(c, &words, NULL, NULL, "w", "w", NULL, &err), 0);
	assert_int_equal(c->ops->scan_next(c, &row, &err), 1);
	c->ops->scan_close(c);
	tabdesc_release(&words);
	c->ops->close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_session),
		cmocka_unit_test(test_open_keyword_dsn),
		cmocka_unit_test(test_quote_ident),
		cmocka_unit_test(test_describe_alltypes),
		cmocka_unit_test(test_describe_keys_views_names),
		cmocka_unit_test(test_describe_query),
		cmocka_unit_test(test_scan_alltypes),
		cmocka_unit_test(test_server_order),
		cmocka_unit_test(test_nulls_last_and_keys),
		cmocka_unit_test(test_query_source),
		cmocka_unit_test(test_describe_fks_triggers),
		cmocka_unit_test(test_literal_round_trip),
		cmocka_unit_test(test_script_psql),
		cmocka_unit_test(test_err_unreachable),
		cmocka_unit_test(test_err_wrong_password),
		cmocka_unit_test(test_err_missing_table),
		cmocka_unit_test(test_err_bad_query_and_where),
		cmocka_unit_test(test_err_read_only),
		cmocka_unit_test(test_scan_close_midstream),
		cmocka_unit_test(test_lost_connection),
		cmocka_unit_test(test_lost_between_scans),
		cmocka_unit_test(test_bounded_scans),
		cmocka_unit_test(test_bound_types),
		cmocka_unit_test(test_explain_bounded),
		cmocka_unit_test(test_plan_skewed_int),
		cmocka_unit_test(test_plan_icu_text),
		cmocka_unit_test(test_plan_composite),
		cmocka_unit_test(test_plan_small_and_sampling),
		cmocka_unit_test(test_plan_without_statistics),
		cmocka_unit_test(test_order_is_bytewise),
		cmocka_unit_test(test_snapshot_share),
		cmocka_unit_test(test_position_load),
		cmocka_unit_test(test_guard),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
