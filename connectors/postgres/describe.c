/*
 * connectors/postgres.c
 *   SOURCE: the PostgreSQL driver (libpq). Opens a read-only REPEATABLE READ
 *   session, describes tables and queries from the catalog, and streams
 *   rows with COPY ... TO STDOUT in the server's own key order, parsing the
 *   COPY text format in place in libpq's row buffer.
 *
 * One snapshot per session: open() runs BEGIN ISOLATION LEVEL REPEATABLE
 * READ READ ONLY, locks the tables it is asked to hold (cfg->lock; LOCK
 * takes no snapshot) and runs a first SELECT, so the snapshot is taken at
 * open time, after the locks, and every describe and scan of the session
 * sees it. Limits, locks, table stamps and the monitor session's watch
 * are postgres_guard.c's. Statements that may
 * fail on user input (describe_query's PREPARE, scan_open's COPY,
 * plan_bounds' sample) run inside SAVEPOINT tally_sp: a failure, or a COPY
 * abandoned by scan_close, is undone with ROLLBACK TO SAVEPOINT, which
 * keeps the transaction and its snapshot (a scan rolls back even when it
 * succeeds, ending the SET LOCAL it ran with). Only a broken connection or
 * an error in the middle of a stream makes the session fail for good
 * (conn.failed, sticky).
 *
 * Chunked, parallel scans work like this. One session plans: plan_bounds()
 * estimates the table's rows from the catalog and, for a table large
 * enough to split, reads a page sample (TABLESAMPLE SYSTEM, REPEATABLE so
 * the same data gives the same chunks) of its key in the server's order
 * and keeps every so many keys as chunk boundaries. It exports its
 * snapshot (export_snapshot); worker sessions open with cfg->snapshot,
 * import it with SET TRANSACTION SNAPSHOT before their first query, and so
 * see exactly the planner's data. Each worker then scans ranges
 * (lo, hi] of the key with a row comparison, which PostgreSQL turns into
 * an index condition: ORDER BY is the plain key, never COLLATE or NULLS
 * FIRST, so the primary key index serves both the range and the order.
 * Where that order is not tally's bytewise order (order_is_bytewise) the
 * engine sorts locally; to let it decide without a session, describe
 * records the effective collation of every collatable column, the
 * database default resolved at open time.
 *
 * Hot path: scan_next() yields one COPY row per call. The row buffer comes
 * from PQgetCopyData() (one malloc per row inside libpq, freed on the next
 * call); fields are split with memchr() on tabs and unescaped in place only
 * when the row holds a backslash at all; bytea hex is decoded in place.
 * The val/len arrays live in the session and are sized in scan_open().
 *
 * Repair scripts: describe_table also reads foreign keys (both ends) and
 * user triggers, for the reviewer; pgc_literal() writes a value as a
 * literal of the target column (no session needed). The statements
 * around the literals are in postgres_script.c.
 */
#include "../connector.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_int.h"

#define PGC_MIN_VERSION 120000  /* attgenerated, indnkeyatts, to_regclass(text) */

extern const struct conn_ops postgres_ops;

/* Value of each hex digit plus one; 0 marks a byte that is not a digit. */
static const unsigned char pgc_hex[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* ---- errors -------------------------------------------------------- */

/* libpq's own notices (NOTICE, WARNING) would go to stderr: drop them. */
static void pgc_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Copies s into dst without its trailing newlines and blanks. */
void pgc_trimmed(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	snprintf(dst, cap, "%.*s", (int)(n < INT_MAX ? n : INT_MAX), s);
}

/* Replaces every occurrence of secret in s (cap bytes) by "***". */
static void pgc_scrub(char *s, size_t cap, const char *secret)
{
	struct buf b = BUF_INIT;
	size_t n = secret ? strlen(secret) : 0;
	const char *p = s, *hit;

	if (n == 0 || !strstr(s, secret))
		return;
	while ((hit = strstr(p, secret)) != NULL) {
		buf_add(&b, p, (size_t)(hit - p));
		buf_addstr(&b, "***");
		p = hit + n;
	}
	buf_addstr(&b, p);
	snprintf(s, cap, "%s", b.data);
	buf_release(&b);
}

/*
 * libpq's messages about a malformed connection string quote the token
 * they choke on, which may be the password: keep the text, hide what is
 * quoted.
 */
static void pgc_redact_quoted(char *dst, size_t cap, const char *s)
{
	struct buf b = BUF_INIT;
	bool inside = false;

	for (; *s; s++) {
		if (*s == '"') {
			if (!inside)
				buf_addstr(&b, "\"***\"");
			inside = !inside;
		} else if (!inside) {
			buf_addch(&b, *s);
		}
	}
	pgc_trimmed(dst, cap, b.data);
	buf_release(&b);
}

/* The session broke: the socket is gone or the server is going away. */
static bool pgc_is_lost(const struct pgsess *s, const char *sqlstate)
{
	if (PQstatus(s->pg) == CONNECTION_BAD)
		return true;
	return sqlstate && (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57P", 3) == 0);
}

const char *pgc_sqlstate(const PGresult *res)
{
	return res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
}

/* Marks the session failed for good; err is repeated by every later call. */
static int pgc_set_failed(struct pgsess *s, const struct tally_err *err)
{
	s->base.failed = true;
	s->fail = *err;
	return -1;
}

static int pgc_sticky(const struct pgsess *s, struct tally_err *err)
{
	*err = s->fail;
	return -1;
}

/* Branches on SQLSTATE: 57014 a statement cancelled (its time limit, or tally), 55P03 a lock wait. */
int pgc_stmt_err(struct pgsess *s, const PGresult *res, bool sticky, const char *doing,
                 struct tally_err *err, const char *fmt, ...)
{
	const char *state = pgc_sqlstate(res);
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	char text[ERR_MSG_MAX];
	va_list ap;

	if (pgc_is_lost(s, state)) {
		err_set(err, ERR_LOST, "[%s pid %ld] lost connection to %s system '%s' while %s",
		        s->base.side, s->base.backend_pid, s->base.side, s->base.system, doing);
		sticky = true;
	} else {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		err_set(err, state && strcmp(state, "57014") == 0 ? ERR_TIMEOUT
		             : state && strcmp(state, "55P03") == 0 ? ERR_LOCKED : ERR_QUERY,
		        "[%s pid %ld] %s", s->base.side, s->base.backend_pid, text);
	}
	if (primary)
		pgc_trimmed(err->detail, sizeof(err->detail), primary);
	else
		pgc_trimmed(err->detail, sizeof(err->detail), PQerrorMessage(s->pg));
	if (hint)
		pgc_trimmed(err->hint, sizeof(err->hint), hint);
	else if (err->kind == ERR_TIMEOUT && s->base.statement_timeout > 0)
		err_hint(err, "the statement ran past statement_timeout (%g s in this session); "
		         "--statement-timeout sets tally's limit", s->base.statement_timeout);
	if (state)
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
	if (sticky)
		pgc_set_failed(s, err);
	return -1;
}

/* ---- small helpers ------------------------------------------------- */

void pgc_quote_ident(struct buf *out, const char *name)
{
	const char *q;

	buf_addch(out, '"');
	while ((q = strchr(name, '"')) != NULL) {
		buf_add(out, name, (size_t)(q - name) + 1);
		buf_addch(out, '"');
		name = q + 1;
	}
	buf_addstr(out, name);
	buf_addch(out, '"');
}

void pgc_add_table_name(struct buf *out, const char *table)
{
	const char *dot = strchr(table, '.');

	/* "schema.name" splits at the first dot, as describe_table reads it. */
	if (dot) {
		char *schema = xasprintf("%.*s", (int)(dot - table), table);

		pgc_quote_ident(out, schema);
		buf_addch(out, '.');
		free(schema);
		table = dot + 1;
	}
	pgc_quote_ident(out, table);
}

bool pgc_parse_long(const char *s, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool pgc_parse_int(const char *s, int *out)
{
	long v;

	if (!pgc_parse_long(s, &v) || v < INT_MIN || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

/* Length of sql without trailing blanks and semicolons. */
static size_t pgc_stripped_len(const char *sql)
{
	size_t n = strlen(sql);

	while (n > 0 && (sql[n - 1] == ';' || sql[n - 1] == ' ' || sql[n - 1] == '\t' ||
	                 sql[n - 1] == '\n' || sql[n - 1] == '\r' || sql[n - 1] == '\f' ||
	                 sql[n - 1] == '\v'))
		n--;
	return n;
}

/* Runs a statement that returns no rows; *resp holds the result on failure. */
int pgc_command(struct pgsess *s, const char *sql, PGresult **resp)
{
	PGresult *res = PQexec(s->pg, sql);

	if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		*resp = NULL;
		return 0;
	}
	*resp = res;
	return -1;
}

/* Runs a parameterized catalog query; ok when it returns rows. */
PGresult *pgc_query(struct pgsess *s, const char *sql, int nparams, const char *const *params)
{
	return PQexecParams(s->pg, sql, nparams, NULL, params, NULL, NULL, 0);
}

bool pgc_rows_ok(const PGresult *res)
{
	return res && PQresultStatus(res) == PGRES_TUPLES_OK;
}

/* Consumes the results left after a COPY; stops at a new COPY state. */
static void pgc_drain(struct pgsess *s)
{
	PGresult *res;

	while ((res = PQgetResult(s->pg)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		PQclear(res);
		if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
			break;
	}
}

/* Sets the savepoint, then runs then (a SET LOCAL for it to scope) unless NULL. */
static int pgc_savepoint_then(struct pgsess *s, const char *then, const char *doing,
                              struct tally_err *err)
{
	char sql[128];
	PGresult *res;

	snprintf(sql, sizeof(sql), "SAVEPOINT " PGC_SAVEPOINT "%s%s", then ? "; " : "", then ? then : "");
	if (pgc_command(s, sql, &res) < 0) {
		pgc_stmt_err(s, res, true, doing, err, "cannot set a savepoint on %s system '%s'",
		             s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	s->in_savepoint = true;
	return 0;
}

int pgc_savepoint(struct pgsess *s, const char *doing, struct tally_err *err)
{
	return pgc_savepoint_then(s, NULL, doing, err);
}

/*
 * Undoes everything since the savepoint and keeps the snapshot. A cancel
 * request that reached the server after its COPY ended hits the next
 * statement instead (SQLSTATE 57014): that one is simply run again.
 */
int pgc_rollback_savepoint(struct pgsess *s, const char *doing, struct tally_err *err)
{
	static const char sql[] = "ROLLBACK TO SAVEPOINT " PGC_SAVEPOINT "; RELEASE SAVEPOINT " PGC_SAVEPOINT;
	PGresult *res;
	int rc;

	rc = pgc_command(s, sql, &res);
	if (rc < 0 && !pgc_is_lost(s, pgc_sqlstate(res))) {
		const char *state = pgc_sqlstate(res);

		if (state && strcmp(state, "57014") == 0) {
			PQclear(res);
			rc = pgc_command(s, sql, &res);
		}
	}
	if (rc < 0) {
		pgc_stmt_err(s, res, true, doing, err, "cannot roll back to a savepoint on %s system '%s'",
		             s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	s->in_savepoint = false;
	return 0;
}

int pgc_release_savepoint(struct pgsess *s, const char *doing, struct tally_err *err)
{
	PGresult *res;

	if (pgc_command(s, "RELEASE SAVEPOINT " PGC_SAVEPOINT, &res) < 0) {
		pgc_stmt_err(s, res, true, doing, err, "cannot release a savepoint on %s system '%s'",
		             s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	s->in_savepoint = false;
	return 0;
}

/* ---- open / close -------------------------------------------------- */

static bool pgc_is_conninfo(const char *dsn)
{
	return strncmp(dsn, "postgresql://", 13) == 0 || strncmp(dsn, "postgres://", 11) == 0 ||
	       strchr(dsn, '=') != NULL;
}

/* "PostgreSQL 15.18" from PQserverVersion(). */
static char *pgc_version_string(int v)
{
	if (v >= 100000)
		return xasprintf("PostgreSQL %d.%d", v / 10000, v % 10000);
	return xasprintf("PostgreSQL %d.%d.%d", v / 10000, (v / 100) % 100, v % 100);
}

/*
 * The name a column of the database's default collation reports: the libc
 * locale ("C", "C.UTF-8", "en_US.utf8"), an ICU locale as PostgreSQL names
 * its collation ("und-x-icu"), or a builtin provider's collation
 * (PostgreSQL 17: "C", "pg_c_utf8").
 */
static char *pgc_default_collation(char provider, const char *collate, const char *locale)
{
	if (provider == 'i' && locale && *locale)
		return xasprintf("%s-x-icu", locale);
	if (provider == 'b' && locale && *locale) {
		if (strcmp(locale, "C") == 0)
			return xstrdup("C");
		if (strcmp(locale, "C.UTF-8") == 0)
			return xstrdup("pg_c_utf8");
		if (strcmp(locale, "PG_UNICODE_FAST") == 0)
			return xstrdup("pg_unicode_fast");
		return xstrdup(locale);
	}
	return xstrdup(collate);
}

static void pgc_close(struct conn *c);
static void pgc_add_quoted(struct buf *out, const char *s, size_t len);

static int pgc_open(struct conn **out, const struct conn_cfg *cfg, struct tally_err *err)
{
	static const char session_sql[] =
		"SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'; "
		"SET bytea_output = 'hex'; SET extra_float_digits = 3; SET client_encoding = 'UTF8'; "
		"SET standard_conforming_strings = on; SET default_transaction_read_only = on";
#define PGC_COLL_SQL(provider, locale)                                                   \
	"SELECT " provider ", d.datcollate, " locale " FROM pg_catalog.pg_database d"     \
	" WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()"
	static const char coll17_sql[] = PGC_COLL_SQL("d.datlocprovider", "d.datlocale");
	static const char coll15_sql[] = PGC_COLL_SQL("d.datlocprovider", "d.daticulocale");
	static const char coll12_sql[] = PGC_COLL_SQL("'c'", "NULL");
#undef PGC_COLL_SQL
	const char *side = cfg->side ? cfg->side : "?";
	const char *system = cfg->system ? cfg->system : "?";
	const char *shown = cfg->dsn_shown ? cfg->dsn_shown : "connection string hidden";
	const char *keywords[4], *values[4];
	const char *password = NULL;
	PQconninfoOption *opts = NULL;
	char timeout[24];
	char *perr = NULL;
	struct pgsess *s;
	PGresult *res;
	PGconn *pg;
	int n = 0, version, rc;

	*out = NULL;
	if (!cfg->dsn || !*cfg->dsn)
		return err_set(err, ERR_CONNECT, "cannot connect to %s system '%s': no dsn", side, system);

	/* Learn the password only to keep it out of libpq's messages. */
	if (pgc_is_conninfo(cfg->dsn)) {
		opts = PQconninfoParse(cfg->dsn, &perr);
		if (!opts) {
			err_set(err, ERR_CONNECT, "cannot connect to %s system '%s' (%s)", side, system, shown);
			pgc_redact_quoted(err->detail, sizeof(err->detail),
			                  perr ? perr : "invalid connection string");
			PQfreemem(perr);
			return -1;
		}
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
				password = o->val;
	}

	/* dbname comes last: what the dsn says overrides these defaults. */
	if (cfg->connect_timeout > 0) {
		snprintf(timeout, sizeof(timeout), "%d", cfg->connect_timeout);
		keywords[n] = "connect_timeout";
		values[n++] = timeout;
	}
	keywords[n] = "fallback_application_name";
	values[n++] = "tally";
	keywords[n] = "dbname";
	values[n++] = cfg->dsn;
	keywords[n] = NULL;
	values[n] = NULL;

	pg = PQconnectdbParams(keywords, values, 1);
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		err_set(err, ERR_CONNECT, "cannot connect to %s system '%s' (%s)", side, system, shown);
		pgc_trimmed(err->detail, sizeof(err->detail),
		            pg ? PQerrorMessage(pg) : "out of memory");
		pgc_scrub(err->detail, sizeof(err->detail), password);
		PQfinish(pg);
		PQconninfoFree(opts);
		return -1;
	}
	PQconninfoFree(opts);
	PQsetNoticeProcessor(pg, pgc_notice, NULL);

	s = xcalloc(1, sizeof(*s));
	conn_base_init(&s->base, &postgres_ops, cfg);
	s->pg = pg;
	s->base.backend_pid = PQbackendPID(pg);
	version = PQserverVersion(pg);
	s->base.server_version = pgc_version_string(version);

	if (version < PGC_MIN_VERSION) {
		err_set(err, ERR_CONNECT, "%s system '%s' runs %s; tally needs PostgreSQL 12 or later",
		        side, system, s->base.server_version);
		pgc_close(&s->base);
		return -1;
	}
	if (pgc_command(s, session_sql, &res) < 0) {
		pgc_stmt_err(s, res, false, "starting the session", err,
		             "cannot start a read-only session on %s system '%s'", side, system);
		err->kind = ERR_CONNECT;
		PQclear(res);
		pgc_close(&s->base);
		return -1;
	}
	if (pgc_set_limits(s, cfg, err) < 0) {
		err->kind = ERR_CONNECT;
		pgc_close(&s->base);
		return -1;
	}
	if (cfg->monitor) {
		s->monitor = true;
		*out = &s->base;
		return 0;
	}
	if (pgc_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &res) < 0) {
		pgc_stmt_err(s, res, false, "starting the session", err,
		             "cannot start a read-only session on %s system '%s'", side, system);
		err->kind = ERR_CONNECT;
		PQclear(res);
		pgc_close(&s->base);
		return -1;
	}
	/* An imported snapshot replaces the transaction's before its first query. */
	if (cfg->snapshot) {
		struct buf q = BUF_INIT;

		buf_addstr(&q, "SET TRANSACTION SNAPSHOT ");
		pgc_add_quoted(&q, cfg->snapshot, strlen(cfg->snapshot));
		rc = pgc_command(s, q.data, &res);
		buf_release(&q);
		if (rc < 0) {
			pgc_stmt_err(s, res, false, "importing a snapshot", err,
			             "cannot import snapshot '%s' on %s system '%s'", cfg->snapshot,
			             side, system);
			/* Its exporter is gone (a restart, a lost coordinator): no retry can bring it back. */
			err->kind = ERR_SNAPSHOT;
			PQclear(res);
			pgc_close(&s->base);
			return -1;
		}
	}
	/* LOCK takes no snapshot: the snapshot below sees every rewrite committed before the locks. */
	if (!cfg->snapshot && cfg->nlock > 0 && pgc_lock_tables(s, cfg, err) < 0) {
		pgc_close(&s->base);
		return -1;
	}
	/*
	 * The snapshot is taken by the first query, here rather than later; it
	 * reads the database's default collation, which describe reports for
	 * every column that uses it.
	 */
	res = PQexec(pg, version >= 170000 ? coll17_sql : version >= 150000 ? coll15_sql : coll12_sql);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1) {
		pgc_stmt_err(s, res, false, "starting the session", err,
		             "cannot take a snapshot on %s system '%s'", side, system);
		err->kind = ERR_CONNECT;
		PQclear(res);
		pgc_close(&s->base);
		return -1;
	}
	s->default_coll = pgc_default_collation(PQgetvalue(res, 0, 0)[0], PQgetvalue(res, 0, 1),
	                                        PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2));
	PQclear(res);
	*out = &s->base;
	return 0;
}

static void pgc_close(struct conn *c)
{
	struct pgsess *s = (struct pgsess *)c;

	if (!s)
		return;
	if (s->copybuf)
		PQfreemem(s->copybuf);
	if (s->pg) {
		PGTransactionStatusType ts = PQtransactionStatus(s->pg);

		/* Read-only: nothing to commit. An unfinished COPY dies with the session. */
		if (PQstatus(s->pg) == CONNECTION_OK &&
		    (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR))
			PQclear(PQexec(s->pg, "ROLLBACK"));
		PQfinish(s->pg);
	}
	free(s->what);
	free(s->val);
	free(s->len);
	free(s->hexcol);
	free(s->default_coll);
	conn_base_release(&s->base);
	free(s);
}

/* ---- types --------------------------------------------------------- */

static const struct {
	const char *name;
	enum ltype type;
	int bits;
} pgc_types[] = {
	{ "int2", LT_INT, 16 },
	{ "int4", LT_INT, 32 },
	{ "int8", LT_INT, 64 },
	{ "numeric", LT_DECIMAL, 0 },
	{ "float4", LT_FLOAT, 32 },
	{ "float8", LT_FLOAT, 64 },
	{ "bool", LT_BOOL, 0 },
	{ "text", LT_TEXT, 0 },
	{ "varchar", LT_TEXT, 0 },
	{ "name", LT_TEXT, 0 },
	{ "bpchar", LT_CHAR, 0 },
	{ "bytea", LT_BYTES, 0 },
	{ "date", LT_DATE, 0 },
	{ "time", LT_TIME, 0 },
	{ "timestamp", LT_TIMESTAMP, 0 },
	{ "timestamptz", LT_TIMESTAMPTZ, 0 },
	{ "uuid", LT_UUID, 0 },
	{ "json", LT_JSON, 0 },
	{ "jsonb", LT_JSON, 0 },
	{ "interval", LT_INTERVAL, 0 },
	{ "inet", LT_INET, 0 },
	{ "cidr", LT_INET, 0 },
	{ "bit", LT_BIT, 0 },
	{ "varbit", LT_BIT, 0 },
};

/*
 * Sets type and its attributes from the base type (domains resolved).
 * Attributes that do not apply stay 0; -1 means "applies, unconstrained".
 */
static void pgc_map_type(struct coldesc *c, const char *typname, bool in_catalog,
                         char typtype, char typcategory, int typmod)
{
	c->type = LT_OTHER;
	c->bits = 0;
	c->precision = c->scale = c->fsp = 0;
	c->length = 0;
	c->fixed = false;
	if (typtype == 'e') {
		c->type = LT_ENUM;
		return;
	}
	if (typcategory == 'A') {
		c->type = LT_ARRAY;
		return;
	}
	if (!in_catalog || typtype != 'b')
		return;
	for (size_t i = 0; i < sizeof(pgc_types) / sizeof(pgc_types[0]); i++) {
		if (strcmp(pgc_types[i].name, typname) != 0)
			continue;
		c->type = pgc_types[i].type;
		c->bits = pgc_types[i].bits;
		break;
	}
	switch (c->type) {
	case LT_DECIMAL:
		if (typmod < 4) {
			c->precision = c->scale = -1;
		} else {
			/* PostgreSQL 15 packs an 11-bit signed scale (scale may be < 0). */
			c->precision = ((typmod - 4) >> 16) & 0xffff;
			c->scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
		}
		break;
	case LT_TEXT:
	case LT_CHAR:
		c->length = typmod >= 4 && strcmp(typname, "name") != 0 ? typmod - 4 : -1;
		c->fixed = c->type == LT_CHAR;
		break;
	case LT_BYTES:
		c->length = -1;
		break;
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
		c->fsp = typmod >= 0 && typmod <= 6 ? typmod : 6;
		break;
	case LT_BIT:
		c->bits = typmod >= 0 ? typmod : -1;
		c->fixed = strcmp(typname, "bit") == 0;
		break;
	default:
		break;
	}
}

/*
 * Resolves types for cols[0..n): oids[i] and typmods[i] as the server
 * gave them. Fills native (format_type), type and attributes from the
 * base type of a domain, and enum labels; collatable[i], unless NULL,
 * tells whether the type has a collation.
 */
static int pgc_resolve_types(struct pgsess *s, struct coldesc *cols, size_t n,
                             const unsigned *oids, const int *typmods, bool *collatable,
                             const char *doing, struct tally_err *err)
{
	static const char sql[] =
		"WITH RECURSIVE inp AS ("
		"  SELECT u.ord, u.typid, u.typmod"
		"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.oid[]),"
		"                  pg_catalog.unnest($2::pg_catalog.int4[]))"
		"       WITH ORDINALITY AS u(typid, typmod, ord)"
		"), chain AS ("
		"  SELECT ord, typid, typmod FROM inp"
		"  UNION ALL"
		"  SELECT c.ord, t.typbasetype, t.typtypmod"
		"  FROM chain c JOIN pg_catalog.pg_type t ON t.oid = c.typid"
		"  WHERE t.typtype = 'd'"
		") "
		"SELECT pg_catalog.format_type(i.typid, i.typmod), t.oid, t.typname,"
		"       t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace,"
		"       t.typtype, t.typcategory, c.typmod, t.typcollation <> 0 "
		"FROM inp i"
		" JOIN chain c ON c.ord = i.ord"
		" JOIN pg_catalog.pg_type t ON t.oid = c.typid AND t.typtype <> 'd' "
		"ORDER BY i.ord";
	static const char enum_sql[] =
		"SELECT enumtypid, enumlabel FROM pg_catalog.pg_enum"
		" WHERE enumtypid = ANY ($1::pg_catalog.oid[])"
		" ORDER BY enumtypid, enumsortorder";
	struct buf oidarr = BUF_INIT, modarr = BUF_INIT, enums = BUF_INIT;
	unsigned *base = xcalloc(n ? n : 1, sizeof(*base));
	const char *params[2];
	PGresult *res;
	int rc = -1;

	buf_addch(&oidarr, '{');
	buf_addch(&modarr, '{');
	for (size_t i = 0; i < n; i++) {
		buf_addf(&oidarr, "%s%u", i ? "," : "", oids[i]);
		buf_addf(&modarr, "%s%d", i ? "," : "", typmods[i]);
	}
	buf_addch(&oidarr, '}');
	buf_addch(&modarr, '}');
	params[0] = oidarr.data;
	params[1] = modarr.data;

	res = pgc_query(s, sql, 2, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot read column types from %s system '%s'",
		             s->base.side, s->base.system);
		goto out;
	}
	if ((size_t)PQntuples(res) != n) {
		err_set(err, ERR_INTERNAL, "[%s pid %ld] %s system '%s' described %d types for %zu columns",
		        s->base.side, s->base.backend_pid, s->base.side, s->base.system,
		        PQntuples(res), n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int r = (int)i, typmod;
		long oid;

		if (!pgc_parse_long(PQgetvalue(res, r, 1), &oid) || oid < 0 ||
		    !pgc_parse_int(PQgetvalue(res, r, 6), &typmod)) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] unexpected type catalog row from %s system '%s'",
			        s->base.side, s->base.backend_pid, s->base.side, s->base.system);
			goto out;
		}
		base[i] = (unsigned)oid;
		if (collatable)
			collatable[i] = PQgetvalue(res, r, 7)[0] == 't';
		cols[i].native = xstrdup(PQgetvalue(res, r, 0));
		pgc_map_type(&cols[i], PQgetvalue(res, r, 2), PQgetvalue(res, r, 3)[0] == 't',
		             PQgetvalue(res, r, 4)[0], PQgetvalue(res, r, 5)[0], typmod);
		if (cols[i].type == LT_ENUM)
			buf_addf(&enums, "%s%u", enums.len ? "," : "{", base[i]);
	}
	PQclear(res);
	res = NULL;

	if (enums.len) {
		buf_addch(&enums, '}');
		params[0] = enums.data;
		res = pgc_query(s, enum_sql, 1, params);
		if (!pgc_rows_ok(res)) {
			pgc_stmt_err(s, res, true, doing, err, "cannot read enum labels from %s system '%s'",
			             s->base.side, s->base.system);
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			size_t cap = 0;

			if (cols[i].type != LT_ENUM)
				continue;
			for (int r = 0; r < PQntuples(res); r++) {
				long oid;

				if (!pgc_parse_long(PQgetvalue(res, r, 0), &oid) || (unsigned long)oid != base[i])
					continue;
				cols[i].labels = xgrow(cols[i].labels, &cap, cols[i].nlabels + 1,
				                       sizeof(*cols[i].labels));
				cols[i].labels[cols[i].nlabels++] = xstrdup(PQgetvalue(res, r, 1));
			}
		}
	}
	rc = 0;
out:
	PQclear(res);
	free(base);
	buf_release(&oidarr);
	buf_release(&modarr);
	buf_release(&enums);
	return rc;
}

/* ---- describe_table ------------------------------------------------ */

/* Levenshtein distance over ASCII-lowercased bytes; SIZE_MAX when too long. */
static size_t pgc_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[256];

	if (lb >= sizeof(row) / sizeof(row[0]) || la >= 256)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned char ca = (unsigned char)a[i - 1], cb = (unsigned char)b[j - 1];
			size_t up = row[j], best;

			if (ca >= 'A' && ca <= 'Z')
				ca = (unsigned char)(ca + 32);
			if (cb >= 'A' && cb <= 'Z')
				cb = (unsigned char)(cb + 32);
			best = diag + (ca != cb);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * The closest table name to what the spec wrote: equal but for case, or
 * within two edits. Written as the user wrote it: qualified if they
 * qualified it or if the table is not on the search_path. NULL if none.
 */
static char *pgc_suggest(struct pgsess *s, const char *spec, bool qualified)
{
	static const char sql[] =
		"SELECT n.nspname, c.relname, pg_catalog.pg_table_is_visible(c.oid)"
		" FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
		"   AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
		" ORDER BY 3 DESC, 1, 2 LIMIT 20000";
	PGresult *res = pgc_query(s, sql, 0, NULL);
	size_t best = SIZE_MAX, limit = strlen(spec) > 4 ? 2 : 1;
	char *found = NULL;

	if (!pgc_rows_ok(res)) {
		PQclear(res);
		return NULL;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *nsp = PQgetvalue(res, r, 0), *rel = PQgetvalue(res, r, 1);
		bool visible = PQgetvalue(res, r, 2)[0] == 't';
		char *full = xasprintf("%s.%s", nsp, rel);
		size_t d = pgc_distance(qualified ? full : rel, spec);

		if (d <= limit && d < best && strcmp(qualified ? full : rel, spec) != 0) {
			best = d;
			free(found);
			found = xstrdup(qualified || !visible ? full : rel);
		}
		free(full);
	}
	PQclear(res);
	return found;
}

static const char *pgc_relkind_name(char kind)
{
	switch (kind) {
	case 'i': case 'I': return "an index";
	case 'S': return "a sequence";
	case 'c': return "a composite type";
	case 't': return "a TOAST table";
	default: return "not a table";
	}
}

/*
 * Foreign keys, one row per column pair, in constraint order. A foreign
 * key on or to a partitioned table is cloned for each partition
 * (conparentid): a clone counts where its parent constraint sits on
 * another table, so describing a partition shows what binds it and
 * describing the partitioned table shows each key once.
 */
#define PGC_FK_SQL(other, self)                                                            \
	"SELECT co.oid, co.conname, n.nspname, c.relname, co.confdeltype, co.confupdtype,"   \
	"       ca.attname, pa.attname"                                                        \
	" FROM pg_catalog.pg_constraint co"                                                    \
	" JOIN pg_catalog.pg_class c ON c.oid = co." other                                     \
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                            \
	" CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(co.conkey),"                         \
	"                              pg_catalog.unnest(co.confkey))"                         \
	"       WITH ORDINALITY AS k(ckey, pkey, ord)"                                         \
	" JOIN pg_catalog.pg_attribute ca ON ca.attrelid = co.conrelid AND ca.attnum = k.ckey" \
	" JOIN pg_catalog.pg_attribute pa ON pa.attrelid = co.confrelid AND pa.attnum = k.pkey" \
	" WHERE co.contype = 'f' AND co." self " = $1"                                         \
	"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint p"                          \
	"                   WHERE p.oid = co.conparentid AND p." self " = co." self ")"

static const char parents_sql[] =
	PGC_FK_SQL("confrelid", "conrelid") " ORDER BY co.conname, co.oid, k.ord";
static const char children_sql[] =
	PGC_FK_SQL("conrelid", "confrelid") " ORDER BY n.nspname, c.relname, co.conname, co.oid, k.ord";

static const char *pgc_fk_action(char code)
{
	switch (code) {
	case 'a': return "NO ACTION";
	case 'r': return "RESTRICT";
	case 'c': return "CASCADE";
	case 'n': return "SET NULL";
	case 'd': return "SET DEFAULT";
	default: return NULL;
	}
}

/*
 * Reads the foreign keys of relid (parents: its own; else those that
 * reference it) into t->parents or t->children. Rows of one constraint
 * are adjacent: the query orders by constraint, then column position.
 */
static int pgc_read_fks(struct pgsess *s, const char *sql, const char *relid, bool parents,
                        struct tabdesc *t, const char *doing, struct tally_err *err)
{
	const char *params[1] = { relid };
	struct fkdesc *fks = NULL, *f = NULL;
	size_t n = 0, cap = 0, colcap = 0, refcap = 0;
	const char *last = "";
	PGresult *res;
	int rc = 0;

	res = pgc_query(s, sql, 1, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot read the foreign keys %s %s from %s system '%s'",
		             parents ? "of" : "referencing", t->display, s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *oid = PQgetvalue(res, r, 0);
		const char *on_delete = pgc_fk_action(PQgetvalue(res, r, 4)[0]);
		const char *on_update = pgc_fk_action(PQgetvalue(res, r, 5)[0]);

		if (!on_delete || !on_update) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] unexpected foreign key action for %s from %s system '%s'",
			        s->base.side, s->base.backend_pid, t->display, s->base.side, s->base.system);
			rc = -1;
			break;
		}
		if (strcmp(oid, last) != 0) {
			struct buf q = BUF_INIT;

			fks = xgrow(fks, &cap, n + 1, sizeof(*fks));
			f = &fks[n++];
			memset(f, 0, sizeof(*f));
			colcap = refcap = 0;
			f->name = xstrdup(PQgetvalue(res, r, 1));
			f->table = xasprintf("%s.%s", PQgetvalue(res, r, 2), PQgetvalue(res, r, 3));
			pgc_quote_ident(&q, PQgetvalue(res, r, 2));
			buf_addch(&q, '.');
			pgc_quote_ident(&q, PQgetvalue(res, r, 3));
			f->sqlname = buf_detach(&q, NULL);
			f->on_delete = xstrdup(on_delete);
			f->on_update = xstrdup(on_update);
			last = oid;
		}
		f->cols = xgrow(f->cols, &colcap, f->ncols + 1, sizeof(*f->cols));
		f->refcols = xgrow(f->refcols, &refcap, f->ncols + 1, sizeof(*f->refcols));
		f->cols[f->ncols] = xstrdup(PQgetvalue(res, r, 6));
		f->refcols[f->ncols] = xstrdup(PQgetvalue(res, r, 7));
		f->ncols++;
	}
	/* Handed over even after a failure: tabdesc_release() frees them. */
	if (parents) {
		t->parents = fks;
		t->nparents = n;
	} else {
		t->children = fks;
		t->nchildren = n;
	}
	PQclear(res);
	return rc;
}

/* pg_trigger.tgtype bits (PostgreSQL's catalog/pg_trigger.h). */
#define PGC_TRIG_BEFORE   (1 << 1)
#define PGC_TRIG_INSERT   (1 << 2)
#define PGC_TRIG_DELETE   (1 << 3)
#define PGC_TRIG_UPDATE   (1 << 4)
#define PGC_TRIG_TRUNCATE (1 << 5)
#define PGC_TRIG_INSTEAD  (1 << 6)

/* User triggers on relid, by name: what a repair of the table sets off. */
static int pgc_read_triggers(struct pgsess *s, const char *relid, struct tabdesc *t,
                             const char *doing, struct tally_err *err)
{
	static const char sql[] =
		"SELECT t.tgname, t.tgtype, t.tgenabled <> 'D'"
		" FROM pg_catalog.pg_trigger t"
		" WHERE t.tgrelid = $1 AND NOT t.tgisinternal"
		" ORDER BY t.tgname";
	static const struct {
		long bit;
		const char *name;
	} events[] = {
		{ PGC_TRIG_INSERT, "INSERT" },
		{ PGC_TRIG_UPDATE, "UPDATE" },
		{ PGC_TRIG_DELETE, "DELETE" },
		{ PGC_TRIG_TRUNCATE, "TRUNCATE" },
	};
	const char *params[1] = { relid };
	PGresult *res;

	res = pgc_query(s, sql, 1, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing, err, "cannot read the triggers of %s from %s system '%s'",
		             t->display, s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	t->triggers = xcalloc((size_t)PQntuples(res) + 1, sizeof(*t->triggers));
	for (int r = 0; r < PQntuples(res); r++) {
		struct trigdesc *g = &t->triggers[t->ntriggers];
		struct buf ev = BUF_INIT;
		long type;

		if (!pgc_parse_long(PQgetvalue(res, r, 1), &type)) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] unexpected trigger catalog row for %s from %s system '%s'",
			        s->base.side, s->base.backend_pid, t->display, s->base.side, s->base.system);
			PQclear(res);
			return -1;
		}
		for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
			if (type & events[i].bit)
				buf_addf(&ev, "%s%s", ev.len ? " OR " : "", events[i].name);
		g->name = xstrdup(PQgetvalue(res, r, 0));
		g->timing = xstrdup(type & PGC_TRIG_INSTEAD ? "INSTEAD OF"
		                    : type & PGC_TRIG_BEFORE ? "BEFORE" : "AFTER");
		g->events = ev.len ? buf_detach(&ev, NULL) : xstrdup("");
		g->enabled = PQgetvalue(res, r, 2)[0] == 't';
		t->ntriggers++;
	}
	PQclear(res);
	return 0;
}

static int pgc_describe_table(struct conn *c, const char *table, struct tabdesc *out,
                              struct tally_err *err)
{
	static const char find_qualified[] =
		"SELECT c.oid, n.nspname, c.relname, c.relkind"
		" FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.oid = pg_catalog.to_regclass(pg_catalog.quote_ident($1)"
		"               OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)"
		"               pg_catalog.quote_ident($2))";
	static const char find_visible[] =
		"SELECT c.oid, n.nspname, c.relname, c.relkind"
		" FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.oid = pg_catalog.to_regclass(pg_catalog.quote_ident($1))";
	static const char columns_sql[] =
		"SELECT a.attnum, a.attname, a.atttypid, a.atttypmod, NOT a.attnotnull,"
		"       a.attgenerated <> '',"
		"       CASE WHEN co.collprovider <> 'd' THEN co.collname END,"
		"       a.attidentity = 'a', a.atthasdef OR a.attidentity <> '', a.attcollation <> 0"
		" FROM pg_catalog.pg_attribute a"
		" LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation"
		" WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped"
		" ORDER BY a.attnum";
	static const char pk_sql[] =
		"SELECT k.attnum"
		" FROM pg_catalog.pg_index i,"
		"      pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord)"
		" WHERE i.indrelid = $1 AND i.indisprimary AND k.ord <= i.indnkeyatts"
		" ORDER BY k.ord";
	struct pgsess *s = (struct pgsess *)c;
	struct tabdesc t = { 0 };
	struct buf doing = BUF_INIT, name = BUF_INIT;
	const char *dot = strchr(table, '.');
	const char *params[2];
	PGresult *res = NULL;
	unsigned *oids = NULL;
	int *typmods = NULL;
	long *attnums = NULL;
	char relkind, *relid = NULL;
	int rc = -1;

	if (s->base.failed)
		return pgc_sticky(s, err);
	buf_addf(&doing, "describing table '%s'", table);

	/* "schema.name" splits at the first dot; names are used as stored. */
	if (dot) {
		buf_add(&name, table, (size_t)(dot - table));
		params[0] = name.data;
		params[1] = dot + 1;
		res = pgc_query(s, find_qualified, 2, params);
	} else {
		params[0] = table;
		res = pgc_query(s, find_visible, 1, params);
	}
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing.data, err, "cannot look up table '%s' in %s system '%s'",
		             table, s->base.side, s->base.system);
		goto out;
	}
	if (PQntuples(res) == 0) {
		char *hint = pgc_suggest(s, table, dot != NULL);

		err_set(err, ERR_SCHEMA, "table '%s' does not exist in %s system '%s'",
		        table, s->base.side, s->base.system);
		if (hint)
			err_hint(err, "did you mean '%s'?", hint);
		free(hint);
		goto out;
	}
	relkind = PQgetvalue(res, 0, 3)[0];
	if (!strchr("rpvmf", relkind)) {
		err_set(err, ERR_SCHEMA, "'%s' in %s system '%s' is %s, not a table or view",
		        table, s->base.side, s->base.system, pgc_relkind_name(relkind));
		goto out;
	}
	relid = xstrdup(PQgetvalue(res, 0, 0));
	t.display = xasprintf("%s.%s", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	{
		struct buf q = BUF_INIT;

		pgc_quote_ident(&q, PQgetvalue(res, 0, 1));
		buf_addch(&q, '.');
		pgc_quote_ident(&q, PQgetvalue(res, 0, 2));
		t.sqlname = buf_detach(&q, NULL);
	}
	PQclear(res);

	params[0] = relid;
	res = pgc_query(s, columns_sql, 1, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing.data, err, "cannot read the columns of %s from %s system '%s'",
		             t.display, s->base.side, s->base.system);
		goto out;
	}
	t.ncols = (size_t)PQntuples(res);
	t.cols = xcalloc(t.ncols ? t.ncols : 1, sizeof(*t.cols));
	oids = xcalloc(t.ncols ? t.ncols : 1, sizeof(*oids));
	typmods = xcalloc(t.ncols ? t.ncols : 1, sizeof(*typmods));
	attnums = xcalloc(t.ncols ? t.ncols : 1, sizeof(*attnums));
	for (size_t i = 0; i < t.ncols; i++) {
		int r = (int)i;
		long oid;

		if (!pgc_parse_long(PQgetvalue(res, r, 0), &attnums[i]) ||
		    !pgc_parse_long(PQgetvalue(res, r, 2), &oid) || oid < 0 ||
		    !pgc_parse_int(PQgetvalue(res, r, 3), &typmods[i])) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] unexpected catalog row for %s from %s system '%s'",
			        s->base.side, s->base.backend_pid, t.display, s->base.side, s->base.system);
			goto out;
		}
		oids[i] = (unsigned)oid;
		t.cols[i].name = xstrdup(PQgetvalue(res, r, 1));
		t.cols[i].nullable = PQgetvalue(res, r, 4)[0] == 't';
		t.cols[i].generated = PQgetvalue(res, r, 5)[0] == 't';
		/* The database default by its name, so order_is_bytewise needs no session. */
		if (!PQgetisnull(res, r, 6))
			t.cols[i].collation = xstrdup(PQgetvalue(res, r, 6));
		else if (PQgetvalue(res, r, 9)[0] == 't')
			t.cols[i].collation = xstrdup(s->default_coll);
		t.cols[i].identity = PQgetvalue(res, r, 7)[0] == 't';
		t.cols[i].has_default = PQgetvalue(res, r, 8)[0] == 't';
	}
	PQclear(res);
	res = NULL;
	if (pgc_resolve_types(s, t.cols, t.ncols, oids, typmods, NULL, doing.data, err) < 0)
		goto out;

	res = pgc_query(s, pk_sql, 1, params);
	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, true, doing.data, err, "cannot read the primary key of %s from %s system '%s'",
		             t.display, s->base.side, s->base.system);
		goto out;
	}
	t.pk = xcalloc((size_t)PQntuples(res) + 1, sizeof(*t.pk));
	for (int r = 0; r < PQntuples(res); r++) {
		long attnum;
		size_t i = 0;

		if (!pgc_parse_long(PQgetvalue(res, r, 0), &attnum))
			attnum = 0;
		while (i < t.ncols && attnums[i] != attnum)
			i++;
		if (i == t.ncols) {
			err_set(err, ERR_INTERNAL, "[%s pid %ld] primary key of %s in %s system '%s' names no column",
			        s->base.side, s->base.backend_pid, t.display, s->base.side, s->base.system);
			goto out;
		}
		t.pk[t.npk++] = i;
	}
	PQclear(res);
	res = NULL;
	if (pgc_read_fks(s, parents_sql, relid, true, &t, doing.data, err) < 0 ||
	    pgc_read_fks(s, children_sql, relid, false, &t, doing.data, err) < 0 ||
	    pgc_read_triggers(s, relid, &t, doing.data, err) < 0)
		goto out;
	*out = t;
	memset(&t, 0, sizeof(t));
	rc = 0;
out:
	PQclear(res);
	tabdesc_release(&t);
	free(relid);
	free(oids);
	free(typmods);
	free(attnums);
	buf_release(&doing);
	buf_release(&name);
	return rc;
}

/* ---- describe_query ------------------------------------------------ */

/*
 * pg_collation_for() writes a collation as SQL: quoted when it must be,
 * qualified when it is not on the search_path. Returns the bare name.
 */
static char *pgc_collation_name(const char *sql)
{
	struct buf b = BUF_INIT;
	bool quoted = false;

	for (const char *p = sql; *p; p++) {
		if (*p == '"' && quoted && p[1] == '"') {
			buf_addch(&b, '"');
			p++;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (*p == '.' && !quoted) {
			buf_reset(&b);
		} else {
			buf_addch(&b, *p);
		}
	}
	return buf_detach(&b, NULL);
}

/*
 * The collation each collatable column of the query carries, which is the
 * one its ORDER BY uses: pg_collation_for() of the columns of the query
 * cut to no row (LIMIT 0: planned, never run), joined to one row so the
 * statement answers. A query the server cannot plan this way (it would
 * fail in the scan too) leaves the collations unknown: NULL, which
 * order_is_bytewise() never calls bytewise.
 */
static int pgc_query_collations(struct pgsess *s, const char *query, struct tabdesc *t,
                                const bool *collatable, const char *doing, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	PGresult *res;
	size_t n = 0;
	int f = 0;

	buf_addstr(&sql, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++)
		if (collatable[i])
			buf_addf(&sql, "%spg_catalog.pg_collation_for(tally_q.c%zu)", n++ ? ", " : "", i + 1);
	if (n == 0) {
		buf_release(&sql);
		return 0;
	}
	buf_addstr(&sql, " FROM (VALUES (1)) AS tally_one (x) LEFT JOIN (SELECT * FROM (\n");
	buf_addstr(&sql, query);
	buf_addstr(&sql, "\n) AS tally_q0 (");
	for (size_t i = 0; i < t->ncols; i++)
		buf_addf(&sql, "%sc%zu", i ? ", " : "", i + 1);
	buf_addstr(&sql, ") LIMIT 0) AS tally_q ON true");

	if (pgc_savepoint(s, doing, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	res = PQexec(s->pg, sql.data);
	buf_release(&sql);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1 || (size_t)PQnfields(res) != n) {
		if (pgc_is_lost(s, pgc_sqlstate(res))) {
			pgc_stmt_err(s, res, true, doing, err, "cannot describe the query on %s system '%s'",
			             s->base.side, s->base.system);
			PQclear(res);
			return -1;
		}
		PQclear(res);
		return pgc_rollback_savepoint(s, doing, err);
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const char *name;

		if (!collatable[i])
			continue;
		if (!PQgetisnull(res, 0, f)) {
			name = PQgetvalue(res, 0, f);
			t->cols[i].collation = strcmp(name, "\"default\"") == 0 ? xstrdup(s->default_coll)
			                                                         : pgc_collation_name(name);
		}
		f++;
	}
	PQclear(res);
	return pgc_release_savepoint(s, doing, err);
}

static int pgc_describe_query(struct conn *c, const char *sql, struct tabdesc *out,
                              struct tally_err *err)
{
	static const char doing[] = "describing the query";
	struct pgsess *s = (struct pgsess *)c;
	struct tabdesc t = { 0 };
	PGresult *res;
	unsigned *oids = NULL;
	int *typmods = NULL;
	bool *collatable = NULL;
	char *text;
	int rc = -1;

	if (s->base.failed)
		return pgc_sticky(s, err);
	text = xstrndup(sql, pgc_stripped_len(sql));

	if (pgc_savepoint(s, doing, err) < 0) {
		free(text);
		return -1;
	}
	/* The unnamed statement: prepared and described, never executed. */
	res = PQprepare(s->pg, "", text, 0, NULL);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		pgc_stmt_err(s, res, false, doing, err, "cannot describe the query on %s system '%s'",
		             s->base.side, s->base.system);
		PQclear(res);
		if (!s->base.failed) {
			struct tally_err e2;

			if (pgc_rollback_savepoint(s, doing, &e2) < 0)
				*err = e2;
		}
		free(text);
		return -1;
	}
	PQclear(res);
	res = PQdescribePrepared(s->pg, "");
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		pgc_stmt_err(s, res, true, doing, err, "cannot describe the query on %s system '%s'",
		             s->base.side, s->base.system);
		goto out;
	}
	t.ncols = (size_t)PQnfields(res);
	t.cols = xcalloc(t.ncols ? t.ncols : 1, sizeof(*t.cols));
	oids = xcalloc(t.ncols ? t.ncols : 1, sizeof(*oids));
	typmods = xcalloc(t.ncols ? t.ncols : 1, sizeof(*typmods));
	for (size_t i = 0; i < t.ncols; i++) {
		t.cols[i].name = xstrdup(PQfname(res, (int)i));
		t.cols[i].nullable = true;
		oids[i] = PQftype(res, (int)i);
		typmods[i] = PQfmod(res, (int)i);
	}
	PQclear(res);
	res = NULL;
	if (pgc_release_savepoint(s, doing, err) < 0)
		goto out;
	if (t.ncols == 0) {
		err_set(err, ERR_SCHEMA, "the query on %s system '%s' returns no columns",
		        s->base.side, s->base.system);
		goto out;
	}
	collatable = xcalloc(t.ncols, sizeof(*collatable));
	if (pgc_resolve_types(s, t.cols, t.ncols, oids, typmods, collatable, doing, err) < 0 ||
	    pgc_query_collations(s, text, &t, collatable, doing, err) < 0)
		goto out;
	t.display = xstrdup("query");
	t.is_query = true;
	*out = t;
	memset(&t, 0, sizeof(t));
	rc = 0;
out:
	PQclear(res);
	tabdesc_release(&t);
	free(oids);
	free(typmods);
	free(collatable);
	free(text);
	return rc;
}

/* ---- scans --------------------------------------------------------- */

/*
 * False for the few types PostgreSQL has no default btree ordering for
 * (json, xml, geometric types, arrays of them): an ORDER BY on them fails,
 * so they are ordered by their text instead and never split into ranges.
 */
static bool pgc_has_order(const struct coldesc *col)
{
	static const char *const unordered[] = {
		"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle",
	};
	const char *native = col->native ? col->native : "";
	size_t n = strlen(native);

	while (n >= 2 && native[n - 2] == '[' && native[n - 1] == ']')
		n -= 2;
	for (size_t i = 0; i < sizeof(unordered) / sizeof(unordered[0]); i++)
		if (strlen(unordered[i]) == n && memcmp(unordered[i], native, n) == 0)
			return false;
	return true;
}

/* The key columns, as ORDER BY and a row comparison list them. */
static void pgc_add_keys(struct buf *b, const struct tabdesc *d, const size_t *key, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(b, ", ");
		if (pgc_has_order(&d->cols[key[i]])) {
			pgc_quote_ident(b, d->cols[key[i]].name);
		} else {
			buf_addch(b, '(');
			pgc_quote_ident(b, d->cols[key[i]].name);
			buf_addstr(b, "::pg_catalog.text)");
		}
	}
}

static int pgc_bound_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                             struct tally_err *err);

/*
 * Appends the comparison of the first n key columns with vals, as a row:
 * ("k1", "k2") > (l1, l2), or "k1" > l1 for one column. PostgreSQL turns
 * either into an index condition on an index that starts with the key.
 */
static int pgc_add_bound(struct buf *b, const struct tabdesc *d, const size_t *key, size_t n,
                         const char *op, const struct sqlval *vals, struct tally_err *err)
{
	if (n > 1)
		buf_addch(b, '(');
	pgc_add_keys(b, d, key, n);
	buf_addf(b, "%s %s %s", n > 1 ? ")" : "", op, n > 1 ? "(" : "");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(b, ", ");
		if (pgc_bound_literal(b, &d->cols[key[i]], &vals[i], err) < 0)
			return -1;
	}
	if (n > 1)
		buf_addch(b, ')');
	return 0;
}

/*
 * " FROM" and what a scan reads: the table, or the query as a subquery
 * (the newlines end a trailing "-- comment" in the user's SQL).
 */
static void pgc_add_from(struct buf *sql, const struct tabdesc *d, const char *query)
{
	if (d->is_query) {
		buf_addstr(sql, " FROM (\n");
		buf_add(sql, query, pgc_stripped_len(query));
		buf_addstr(sql, "\n) AS tally_q");
	} else {
		buf_addstr(sql, " FROM ");
		buf_addstr(sql, d->sqlname);
	}
}

static int pgc_scan_open(struct conn *c, const struct scan_req *req, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT, doing = BUF_INIT;
	PGresult *res;
	size_t nlo = req->nlo, nhi = req->nhi;
	int conds = 0;

	if (s->base.failed)
		return pgc_sticky(s, err);
	if (s->scanning)
		return err_set(err, ERR_INTERNAL, "a scan is already open on %s system '%s'",
		               s->base.side, s->base.system);
	if (d->is_query ? !req->query : !d->sqlname)
		return err_set(err, ERR_INTERNAL, "scan of %s on %s system '%s' names no %s",
		               d->display, s->base.side, s->base.system, d->is_query ? "query" : "table");
	for (size_t i = 0; i < req->ncols + req->nkey; i++) {
		size_t k = i < req->ncols ? req->cols[i] : req->key[i - req->ncols];

		if (k >= d->ncols)
			return err_set(err, ERR_INTERNAL, "scan of %s on %s system '%s' names column %zu of %zu",
			               d->display, s->base.side, s->base.system, k, d->ncols);
	}
	/* lo over the first nlo key columns, hi over the first nhi. */
	if (!req->lo)
		nlo = 0;
	if (!req->hi)
		nhi = 0;
	if (nlo > req->nkey || nhi > req->nkey)
		return err_set(err, ERR_INTERNAL, "scan of %s on %s system '%s' bounds %zu of %zu key columns",
		               d->display, s->base.side, s->base.system, nlo > nhi ? nlo : nhi, req->nkey);

	buf_addstr(&sql, "COPY (SELECT ");
	for (size_t i = 0; i < req->ncols; i++) {
		if (i)
			buf_addstr(&sql, ", ");
		pgc_quote_ident(&sql, d->cols[req->cols[i]].name);
	}
	pgc_add_from(&sql, d, req->query);
	if (req->where && *req->where) {
		buf_addstr(&sql, " WHERE (");
		buf_addstr(&sql, req->where);
		buf_addstr(&sql, "\n)");
		conds++;
	}
	for (int hi = 0; hi < 2; hi++) {
		size_t n = hi ? nhi : nlo;

		if (n == 0)
			continue;
		buf_addstr(&sql, conds++ ? " AND " : " WHERE ");
		if (pgc_add_bound(&sql, d, req->key, n, hi ? "<=" : ">", hi ? req->hi : req->lo, err) < 0) {
			err_context(err, "[%s pid %ld] cannot read %s from %s system '%s'", s->base.side,
			            s->base.backend_pid, d->is_query ? "the query" : d->display,
			            s->base.side, s->base.system);
			goto fail;
		}
	}
	if (req->nkey) {
		buf_addstr(&sql, " ORDER BY ");
		pgc_add_keys(&sql, d, req->key, req->nkey);
	}
	if (req->limit)
		buf_addf(&sql, " LIMIT %" PRIu64, req->limit);
	buf_addstr(&sql, ") TO STDOUT");

	free(s->what);
	s->what = xstrdup(d->is_query ? "the query" : d->display);
	buf_addf(&doing, "reading %s", s->what);

	/*
	 * A range or a page of a table is read from the key's index. Left to
	 * itself the planner often prefers to sort a sequential scan of the
	 * whole table instead (it estimates row comparisons coarsely, and an
	 * uncorrelated heap makes index reads look dear), which every chunk
	 * would then repeat. Without an index on the key the sort still
	 * happens. SET LOCAL ends with the savepoint, which the scan rolls
	 * back even when it succeeds, so nothing else runs without sorts.
	 */
	if (pgc_savepoint_then(s, !d->is_query && (nlo || nhi || req->limit)
	                              ? "SET LOCAL enable_sort = off" : NULL,
	                       doing.data, err) < 0)
		goto fail;
	res = PQexec(s->pg, sql.data);
	if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
		pgc_stmt_err(s, res, false, doing.data, err, "cannot read %s from %s system '%s'",
		             s->what, s->base.side, s->base.system);
		PQclear(res);
		pgc_drain(s);
		if (!s->base.failed) {
			struct tally_err e2;

			if (pgc_rollback_savepoint(s, doing.data, &e2) < 0)
				*err = e2;
		}
		goto fail;
	}
	PQclear(res);

	if (req->ncols > s->cap) {
		s->val = xrealloc(s->val, req->ncols * sizeof(*s->val));
		s->len = xrealloc(s->len, req->ncols * sizeof(*s->len));
		s->hexcol = xrealloc(s->hexcol, req->ncols * sizeof(*s->hexcol));
		s->cap = req->ncols;
	}
	for (size_t i = 0; i < req->ncols; i++)
		s->hexcol[i] = d->cols[req->cols[i]].type == LT_BYTES;
	s->ncols = req->ncols;
	s->row.ncols = req->ncols;
	s->row.val = s->val;
	s->row.len = s->len;
	s->scanning = true;
	s->copying = true;
	buf_release(&sql);
	buf_release(&doing);
	return 0;
fail:
	buf_release(&sql);
	buf_release(&doing);
	return -1;
}

/*
 * Undoes COPY text escaping of f[0..n) in place: \b \f \n \r \t \v \\,
 * \ and 1-3 octal digits, \x and 1-2 hex digits; any other escaped byte
 * is itself. Returns the new length.
 */
static size_t pgc_unescape(char *f, size_t n)
{
	char *w = f, *r = f, *end = f + n;

	while (r < end) {
		char *bs = memchr(r, '\\', (size_t)(end - r));
		unsigned v;

		if (!bs) {
			memmove(w, r, (size_t)(end - r));
			w += end - r;
			break;
		}
		if (w != r)
			memmove(w, r, (size_t)(bs - r));
		w += bs - r;
		r = bs + 1;
		if (r == end) {
			*w++ = '\\';
			break;
		}
		switch (*r) {
		case 'b': *w++ = '\b'; r++; break;
		case 'f': *w++ = '\f'; r++; break;
		case 'n': *w++ = '\n'; r++; break;
		case 'r': *w++ = '\r'; r++; break;
		case 't': *w++ = '\t'; r++; break;
		case 'v': *w++ = '\v'; r++; break;
		case 'x':
			r++;
			if (r < end && pgc_hex[(unsigned char)*r]) {
				v = pgc_hex[(unsigned char)*r++] - 1u;
				if (r < end && pgc_hex[(unsigned char)*r])
					v = v * 16 + pgc_hex[(unsigned char)*r++] - 1u;
				*w++ = (char)v;
			} else {
				*w++ = 'x';
			}
			break;
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7':
			v = (unsigned)(*r++ - '0');
			for (int k = 0; k < 2 && r < end && *r >= '0' && *r <= '7'; k++)
				v = v * 8 + (unsigned)(*r++ - '0');
			*w++ = (char)(v & 0xff);
			break;
		default:
			*w++ = *r++;
			break;
		}
	}
	return (size_t)(w - f);
}

/* Decodes bytea hex (after its "\x") from src into dst; -1 if malformed. */
static long pgc_unhex(char *dst, const char *src, size_t n)
{
	if (n % 2)
		return -1;
	for (size_t k = 0; k < n / 2; k++) {
		unsigned hi = pgc_hex[(unsigned char)src[2 * k]];
		unsigned lo = pgc_hex[(unsigned char)src[2 * k + 1]];

		if (!hi || !lo)
			return -1;
		dst[k] = (char)(((hi - 1) << 4) | (lo - 1));
	}
	return (long)(n / 2);
}

static int pgc_data_err(struct pgsess *s, struct tally_err *err, const char *fmt, ...)
	TALLY_PRINTF(3, 4);

static int pgc_data_err(struct pgsess *s, struct tally_err *err, const char *fmt, ...)
{
	va_list ap;

	err_set(err, ERR_DATA, "[%s pid %ld] malformed row from %s system '%s' while reading %s",
	        s->base.side, s->base.backend_pid, s->base.side, s->base.system, s->what);
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return pgc_set_failed(s, err);
}

/*
 * Splits one COPY text row (p[0..n), ending in '\n', NUL at p[n]) into
 * s->val/s->len in place. A raw tab always separates fields (tabs in data
 * arrive escaped), so fields are found with memchr and only unescaped
 * when the row holds a backslash. Every value is NUL-terminated.
 */
static int pgc_split_row(struct pgsess *s, char *p, size_t n, struct tally_err *err)
{
	char *end = p + n;
	bool escaped;
	size_t i = 0;

	if (n && end[-1] == '\n')
		*--end = '\0';
	if (s->ncols == 0) {
		if (end != p)
			return pgc_data_err(s, err, "expected 0 fields, got 1 or more");
		return 0;
	}
	escaped = memchr(p, '\\', (size_t)(end - p)) != NULL;
	for (;;) {
		char *tab = memchr(p, '\t', (size_t)(end - p));
		char *fe = tab ? tab : end;
		size_t flen = (size_t)(fe - p);

		if (i == s->ncols)
			return pgc_data_err(s, err, "expected %zu fields, got more", s->ncols);
		if (escaped && flen == 2 && p[0] == '\\' && p[1] == 'N') {
			s->val[i] = NULL;
			s->len[i] = 0;
		} else {
			if (s->hexcol[i]) {
				/* bytea_output 'hex' arrives as \\x then hex digits. */
				long bytes = -1;

				if (flen >= 3 && p[0] == '\\' && p[1] == '\\' && p[2] == 'x')
					bytes = pgc_unhex(p, p + 3, flen - 3);
				if (bytes < 0)
					return pgc_data_err(s, err, "column %zu: invalid bytea hex value", i + 1);
				flen = (size_t)bytes;
			} else if (escaped && memchr(p, '\\', flen)) {
				flen = pgc_unescape(p, flen);
			}
			p[flen] = '\0';
			s->val[i] = p;
			s->len[i] = flen;
		}
		i++;
		if (!tab)
			break;
		p = tab + 1;
	}
	if (i != s->ncols)
		return pgc_data_err(s, err, "expected %zu fields, got %zu", s->ncols, i);
	return 0;
}

static int pgc_scan_next(struct conn *c, struct rawrow **row, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	char doing[ERR_MSG_MAX];
	PGresult *res;
	int n;

	if (s->base.failed)
		return pgc_sticky(s, err);
	if (!s->scanning)
		return err_set(err, ERR_INTERNAL, "no scan is open on %s system '%s'",
		               s->base.side, s->base.system);
	if (!s->copying)
		return 0;
	if (s->copybuf) {
		PQfreemem(s->copybuf);
		s->copybuf = NULL;
	}
	n = PQgetCopyData(s->pg, &s->copybuf, 0);
	if (n > 0) {
		if (pgc_split_row(s, s->copybuf, (size_t)n, err) < 0)
			return -1;
		*row = &s->row;
		return 1;
	}

	/* -1: the COPY ended, well or not; -2: libpq failed to read. */
	snprintf(doing, sizeof(doing), "reading %s", s->what);
	res = PQgetResult(s->pg);
	if (n == -1 && res && PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		pgc_drain(s);
		s->copying = false;
		/* Rolled back, not released: read-only, and it ends the scan's SET LOCAL. */
		if (pgc_rollback_savepoint(s, doing, err) < 0)
			return -1;
		return 0;
	}
	pgc_stmt_err(s, res, true, doing, err, "cannot read %s from %s system '%s'",
	             s->what, s->base.side, s->base.system);
	PQclear(res);
	if (PQstatus(s->pg) == CONNECTION_OK)
		pgc_drain(s);
	s->copying = false;
	return -1;
}

static void pgc_scan_close(struct conn *c)
{
	struct pgsess *s = (struct pgsess *)c;

	if (!s || !s->scanning)
		return;
	if (s->copybuf) {
		PQfreemem(s->copybuf);
		s->copybuf = NULL;
	}
	if (s->copying && PQstatus(s->pg) == CONNECTION_OK) {
		/* Stop the server, then read what it sent before it stopped. */
		PGcancel *cancel = PQgetCancel(s->pg);
		char errbuf[256];
		char *b;

		if (cancel) {
			PQcancel(cancel, errbuf, (int)sizeof(errbuf));
			PQfreeCancel(cancel);
		}
		while (PQgetCopyData(s->pg, &b, 0) > 0)
			PQfreemem(b);
		pgc_drain(s);
	}
	s->copying = false;
	s->scanning = false;
	/* The COPY ran in a savepoint: roll back to it and keep the snapshot. */
	if (s->in_savepoint && !s->base.failed) {
		struct tally_err e;
		char doing[ERR_MSG_MAX];

		snprintf(doing, sizeof(doing), "ending the scan of %s", s->what);
		pgc_rollback_savepoint(s, doing, &e);
	}
}

/* ---- order, chunks, snapshots --------------------------------------- */

/*
 * The server's order of col is tally's bytewise order of its canonical
 * values: numbers and times by value, uuid and bytea by their bytes
 * (memcmp, then length), text only under the "C" or "POSIX" collation,
 * which compares with memcmp. glibc's C.UTF-8 orders by code point, which
 * is UTF-8 byte order too, but collation names promise little across
 * platforms and versions, so only those two count. A NULL collation
 * (a query column whose collation could not be learned) is not bytewise.
 * char(n) compares without its trailing blanks, which differs from its
 * padded bytes only where a character below the blank meets the other
 * value's padding. Floats are never keys; enums follow their declared
 * order; the rest compares in ways of its own.
 */
static bool pgc_order_is_bytewise(const struct coldesc *col)
{
	switch (col->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_BOOL:
	case LT_DATE:
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
	case LT_UUID:
	case LT_BYTES:
		return true;
	case LT_TEXT:
	case LT_CHAR:
		return col->collation &&
		       (strcmp(col->collation, "C") == 0 || strcmp(col->collation, "POSIX") == 0);
	default:
		return false;
	}
}

/* Undoes a failed statement of the savepoint; err keeps the first failure. */
void pgc_undo(struct pgsess *s, const char *doing, struct tally_err *err)
{
	struct tally_err e2;

	if (!s->base.failed && s->in_savepoint && pgc_rollback_savepoint(s, doing, &e2) < 0)
		*err = e2;
}

/* Session calls other than a scan's need the connection to themselves. */
int pgc_check_idle(struct pgsess *s, const char *what, struct tally_err *err)
{
	if (s->base.failed)
		return pgc_sticky(s, err);
	if (s->scanning)
		return err_set(err, ERR_INTERNAL, "cannot %s while a scan is open on %s system '%s'", what,
		               s->base.side, s->base.system);
	return 0;
}

#define PGC_SAMPLES_PER_CHUNK 20                   /* sampled pages (and rows) per chunk */
#define PGC_COUNT_BYTES (10.0 * 1024 * 1024)       /* count tables this small exactly */

/*
 * The table's rows, pages and whether it can be sampled, summed over the
 * leaf partitions of a partitioned table. reltuples is -1 (PostgreSQL 14+)
 * or 0 before the first VACUUM or ANALYZE.
 */
static const char pgc_stats_sql[] =
	"WITH r AS ("
	"  SELECT c.oid, c.relkind FROM pg_catalog.pg_class c"
	"  WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass"
	"), leaf AS ("
	"  SELECT r.oid FROM r WHERE r.relkind <> 'p'"
	"  UNION ALL"
	"  SELECT t.relid FROM r, pg_catalog.pg_partition_tree(r.oid) t"
	"  WHERE r.relkind = 'p' AND t.isleaf"
	") "
	"SELECT r.relkind,"
	"       pg_catalog.count(l.oid) FILTER (WHERE l.relkind NOT IN ('r', 'm')),"
	"       pg_catalog.bool_and(l.reltuples > 0),"
	"       pg_catalog.sum(l.reltuples::pg_catalog.float8),"
	"       pg_catalog.sum(pg_catalog.pg_relation_size(l.oid)),"
	"       pg_catalog.current_setting('block_size')"
	" FROM r LEFT JOIN (leaf JOIN pg_catalog.pg_class l ON l.oid = leaf.oid) ON true"
	" GROUP BY r.relkind";

/*
 * Rows of a table without statistics: counted when it is small, else the
 * planner's estimate, which is the table's pages times the rows a page
 * holds at the average width of the columns' types.
 */
static int pgc_estimate_rows(struct pgsess *s, const struct tabdesc *d, double bytes, double *rows,
                             const char *doing, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	PGresult *res;
	const char *p;
	int rc = -1;

	if (bytes <= PGC_COUNT_BYTES)
		buf_addf(&sql, "SELECT pg_catalog.count(*) FROM %s", d->sqlname);
	else
		buf_addf(&sql, "EXPLAIN (FORMAT JSON) SELECT 1 FROM %s", d->sqlname);
	res = PQexec(s->pg, sql.data);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1) {
		pgc_stmt_err(s, res, false, doing, err, "cannot count the rows of %s on %s system '%s'",
		             d->display, s->base.side, s->base.system);
		goto out;
	}
	p = PQgetvalue(res, 0, 0);
	if (bytes > PGC_COUNT_BYTES) {
		p = strstr(p, "\"Plan Rows\":");
		p = p ? p + strlen("\"Plan Rows\":") : "";
	}
	*rows = strtod(p, NULL);
	rc = 0;
out:
	PQclear(res);
	buf_release(&sql);
	return rc;
}

/* Row r's key values as scan_next yields them: bytea decoded from hex. */
static void pgc_add_boundary(struct keybounds *b, const PGresult *res, int r,
                             const struct tabdesc *d, const size_t *key)
{
	for (size_t k = 0; k < b->ncols; k++) {
		size_t at = b->n * b->ncols + k;
		const char *v = PQgetvalue(res, r, (int)k);
		size_t len = (size_t)PQgetlength(res, r, (int)k);
		long n;

		b->val[at] = xstrndup(v, len);
		b->len[at] = len;
		if (d->cols[key[k]].type == LT_BYTES && len >= 2 && v[0] == '\\' && v[1] == 'x' &&
		    (n = pgc_unhex(b->val[at], v + 2, len - 2)) >= 0) {
			b->val[at][n] = '\0';
			b->len[at] = (size_t)n;
		}
	}
	b->n++;
}

static bool pgc_same_row(const PGresult *res, int a, int b)
{
	for (int k = 0; k < PQnfields(res); k++)
		if (PQgetlength(res, a, k) != PQgetlength(res, b, k) ||
		    memcmp(PQgetvalue(res, a, k), PQgetvalue(res, b, k), (size_t)PQgetlength(res, a, k)))
			return false;
	return true;
}

/*
 * Samples pages, not rows (TABLESAMPLE SYSTEM reads only the pages it
 * picks), and rows of one page are often neighbours in key order: so the
 * sample is sized in pages, PGC_SAMPLES_PER_CHUNK per chunk, and at least
 * as many rows, which keeps chunk sizes within a few tens of percent of
 * each other. The sample comes back in the server's key order; every
 * (sampled / chunks)-th key becomes a boundary.
 */
static int pgc_plan_bounds(struct conn *c, const struct scan_req *req, uint64_t chunk_rows,
                           uint64_t max_bytes, struct keybounds *out, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT, doing = BUF_INIT;
	const char *params[1];
	PGresult *res = NULL;
	double rows = 0, tuples, bytes, block, pages, chunks, pct;
	size_t nsampled, cap;
	char relkind;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (pgc_check_idle(s, "plan chunks", err) < 0)
		return -1;
	out->ncols = req->nkey;
	if (d->is_query || !d->sqlname || req->nkey == 0 || chunk_rows == 0)
		return 0;
	for (size_t i = 0; i < req->nkey; i++) {
		if (req->key[i] >= d->ncols)
			return err_set(err, ERR_INTERNAL, "chunks of %s on %s system '%s' name column %zu of %zu",
			               d->display, s->base.side, s->base.system, req->key[i], d->ncols);
		if (d->cols[req->key[i]].nullable || !pgc_has_order(&d->cols[req->key[i]]))
			return 0;
	}
	buf_addf(&doing, "planning chunks of %s", d->display);
	if (pgc_savepoint(s, doing.data, err) < 0)
		goto out;

	params[0] = d->sqlname;
	res = pgc_query(s, pgc_stats_sql, 1, params);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1) {
		pgc_stmt_err(s, res, false, doing.data, err, "cannot read the size of %s on %s system '%s'",
		             d->display, s->base.side, s->base.system);
		goto undo;
	}
	relkind = PQgetvalue(res, 0, 0)[0];
	if (!strchr("rmp", relkind) || strcmp(PQgetvalue(res, 0, 1), "0") != 0) {
		/* A view or a foreign table: nothing to sample. */
		rc = pgc_release_savepoint(s, doing.data, err);
		goto out;
	}
	tuples = strtod(PQgetvalue(res, 0, 3), NULL);
	bytes = strtod(PQgetvalue(res, 0, 4), NULL);
	block = strtod(PQgetvalue(res, 0, 5), NULL);
	if (PQgetvalue(res, 0, 2)[0] == 't')
		rows = tuples;
	else if (pgc_estimate_rows(s, d, bytes, &rows, doing.data, err) < 0)
		goto undo;
	PQclear(res);
	res = NULL;
	out->rows = rows;
	chunk_rows = chunk_rows_for_bytes(chunk_rows, max_bytes, bytes, tuples > 0 ? tuples : rows);
	if (rows < 2.0 * (double)chunk_rows) {
		rc = pgc_release_savepoint(s, doing.data, err);
		goto out;
	}

	chunks = ceil(rows / (double)chunk_rows);
	pages = block > 0 ? floor(bytes / block) : 0;
	if (pages < 1 || pages > rows)
		pages = rows;
	pct = 100.0 * PGC_SAMPLES_PER_CHUNK * chunks / (pages >= 1 ? pages : 1);
	if (pct > 100)
		pct = 100;
	buf_addstr(&sql, "SELECT ");
	pgc_add_keys(&sql, d, req->key, req->nkey);
	buf_addf(&sql, " FROM %s TABLESAMPLE SYSTEM (%.9g) REPEATABLE (0)", d->sqlname, pct);
	if (req->where && *req->where) {
		buf_addstr(&sql, " WHERE (");
		buf_addstr(&sql, req->where);
		buf_addstr(&sql, "\n)");
	}
	buf_addstr(&sql, " ORDER BY ");
	pgc_add_keys(&sql, d, req->key, req->nkey);
	res = PQexec(s->pg, sql.data);
	if (!pgc_rows_ok(res) || (size_t)PQnfields(res) != req->nkey) {
		pgc_stmt_err(s, res, false, doing.data, err, "cannot sample %s on %s system '%s'",
		             d->display, s->base.side, s->base.system);
		goto undo;
	}
	nsampled = (size_t)PQntuples(res);
	if (req->where && *req->where) {
		/* The sample also tells how much of the table the condition keeps. */
		rows = pct < 100 ? (double)nsampled * 100.0 / pct : (double)nsampled;
		out->rows = rows;
		chunks = ceil(rows / (double)chunk_rows);
		if (rows < 2.0 * (double)chunk_rows)
			nsampled = 0;
	}
	if (nsampled > 0 && chunks > 1) {
		cap = chunks - 1 < (double)nsampled ? (size_t)chunks - 1 : nsampled;
		out->val = xcalloc(cap * req->nkey, sizeof(*out->val));
		out->len = xcalloc(cap * req->nkey, sizeof(*out->len));
		for (size_t i = 1, last = SIZE_MAX; i < (size_t)chunks && out->n < cap; i++) {
			size_t at = (size_t)((double)i * (double)nsampled / chunks);

			if (at >= nsampled)
				break;
			if (last != SIZE_MAX && pgc_same_row(res, (int)last, (int)at))
				continue;
			pgc_add_boundary(out, res, (int)at, d, req->key);
			last = at;
		}
	}
	PQclear(res);
	res = NULL;
	rc = pgc_release_savepoint(s, doing.data, err);
	if (rc < 0)
		keybounds_release(out);
	goto out;
undo:
	pgc_undo(s, doing.data, err);
	memset(out, 0, sizeof(*out));
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&doing);
	return rc;
}

static int pgc_export_snapshot(struct conn *c, char **id, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	PGresult *res;

	if (pgc_check_idle(s, "export the snapshot", err) < 0)
		return -1;
	/*
	 * Not in the savepoint: PostgreSQL exports no snapshot from a
	 * subtransaction. A failure aborts the transaction, so it is sticky.
	 */
	res = PQexec(s->pg, "SELECT pg_catalog.pg_export_snapshot()");
	if (!pgc_rows_ok(res) || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		pgc_stmt_err(s, res, true, "exporting the snapshot", err,
		             "cannot export the snapshot of %s system '%s'", s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	*id = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/*
 * Runs a query of one value in the savepoint, so that a refusal (a revoked
 * function) leaves the session usable. what names the value for messages.
 * Returns the value (owned), or NULL with err set.
 */
static char *pgc_one_value(struct pgsess *s, const char *sql, const char *what,
                           struct tally_err *err)
{
	char verb[128], doing[128];
	PGresult *res;
	char *v;

	snprintf(verb, sizeof(verb), "read %s", what);
	snprintf(doing, sizeof(doing), "reading %s", what);
	if (pgc_check_idle(s, verb, err) < 0 || pgc_savepoint(s, doing, err) < 0)
		return NULL;
	res = PQexec(s->pg, sql);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1 || PQnfields(res) != 1) {
		pgc_stmt_err(s, res, false, doing, err, "cannot read %s on %s system '%s'", what,
		             s->base.side, s->base.system);
		PQclear(res);
		pgc_undo(s, doing, err);
		return NULL;
	}
	if (PQgetisnull(res, 0, 0)) {
		err_set(err, ERR_QUERY, "[%s pid %ld] cannot read %s on %s system '%s'", s->base.side,
		        s->base.backend_pid, what, s->base.side, s->base.system);
		err_detail(err, "the server returned NULL");
		PQclear(res);
		pgc_undo(s, doing, err);
		return NULL;
	}
	v = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (pgc_release_savepoint(s, doing, err) < 0) {
		free(v);
		return NULL;
	}
	return v;
}

/*
 * The WAL position now, right after the snapshot if called early: on a
 * standby the last replayed one (pg_current_wal_lsn() fails there).
 */
static int pgc_position(struct conn *c, char **out, struct tally_err *err)
{
	static const char sql[] =
		"SELECT CASE WHEN pg_catalog.pg_is_in_recovery()"
		" THEN pg_catalog.pg_last_wal_replay_lsn()"
		" ELSE pg_catalog.pg_current_wal_lsn() END";
	char *lsn = pgc_one_value((struct pgsess *)c, sql, "the WAL position", err);

	if (!lsn)
		return -1;
	*out = xasprintf("lsn %s", lsn);
	free(lsn);
	return 0;
}

/*
 * Active client backends of other roles. Caveats: tally's own sessions are
 * told apart by role only, so other work under tally's role is not
 * counted either; and a role without pg_read_all_stats (or pg_monitor)
 * sees no state for other roles' backends, so it counts 0.
 *
 * The session's transaction lasts the whole run, and PostgreSQL keeps the
 * activity it read in a transaction until told to forget it: without
 * pg_stat_clear_snapshot() the count would never change.
 */
static int pgc_load(struct conn *c, long *out, struct tally_err *err)
{
	static const char sql[] =
		"SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity"
		" WHERE state = 'active' AND backend_type = 'client backend'"
		"   AND usename OPERATOR(pg_catalog.<>) CURRENT_USER";
	struct pgsess *s = (struct pgsess *)c;
	char *v = pgc_one_value(s, "SELECT 1 FROM pg_catalog.pg_stat_clear_snapshot()", "the server's activity", err);
	long n;

	if (!v)
		return -1;
	free(v);
	v = pgc_one_value(s, sql, "the server's activity", err);
	if (!v)
		return -1;
	if (!pgc_parse_long(v, &n)) {
		free(v);
		return err_set(err, ERR_INTERNAL, "[%s pid %ld] unexpected backend count from %s system '%s'",
		               s->base.side, s->base.backend_pid, s->base.side, s->base.system);
	}
	free(v);
	*out = n;
	return 0;
}

/* ---- literals ------------------------------------------------------ */

/*
 * pgc_literal() writes what the repair script's session reads back as the
 * same value: the script runs with standard_conforming_strings on, so a
 * string literal is '...' with quotes doubled and nothing else special;
 * numbers go unquoted only after their syntax is checked. Every refusal
 * names the column and its type, never the value.
 */

/* PostgreSQL's range, in sqlval units (days or microseconds since 2000). */
#define PGC_DATE_MIN  INT64_C(-2451545)               /* 4714-11-24 BC */
#define PGC_DATE_MAX  INT64_C(2145031948)             /* 5874897-12-31 */
#define PGC_TS_MIN    INT64_C(-211813488000000000)    /* 4714-11-24 00:00 BC */
#define PGC_TS_END    INT64_C(9223371331200000000)    /* 294277-01-01 00:00 */
#define PGC_DAY_US    INT64_C(86400000000)

static int pgc_lit_err(struct tally_err *err, const struct coldesc *col, const char *fmt, ...)
	TALLY_PRINTF(3, 4);

static int pgc_lit_err(struct tally_err *err, const struct coldesc *col, const char *fmt, ...)
{
	char text[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return err_set(err, ERR_DATA, "column '%s' (%s): %s", col->name ? col->name : "?",
	               col->native ? col->native : ltype_name(col->type), text);
}

static const char *pgc_kind_name(enum sqlval_kind k)
{
	switch (k) {
	case SV_NULL: return "NULL";
	case SV_NUMBER: return "number";
	case SV_FLOAT: return "floating-point";
	case SV_BOOL: return "boolean";
	case SV_TEXT: return "text";
	case SV_BYTES: return "binary";
	case SV_DATE: return "date";
	case SV_TIME: return "time";
	case SV_TIMESTAMP: return "timestamp";
	case SV_TIMESTAMPTZ: return "timestamptz";
	case SV_UUID: return "uuid";
	case SV_BITS: return "bit string";
	case SV_RAW: return "raw";
	}
	return "unknown";
}

static int pgc_lit_mismatch(struct tally_err *err, const struct coldesc *col, const struct sqlval *v)
{
	return pgc_lit_err(err, col, "a %s value cannot be stored in this column",
	                   pgc_kind_name(v->kind));
}

/*
 * Length in characters of UTF-8 text, or -1 when s is not valid UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included).
 * *nul is set when s holds a NUL byte.
 */
static long pgc_utf8_chars(const char *s, size_t len, bool *nul)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	long n = 0;

	*nul = memchr(s, '\0', len) != NULL;
	while (p < end) {
		unsigned c = *p++, need, cp, min;

		if (c < 0x80) {
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return -1;
		if ((size_t)(end - p) < need)
			return -1;
		for (unsigned k = 0; k < need; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[k] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		p += need;
		n++;
	}
	return n;
}

/* Appends '...' with every quote doubled; s holds no NUL. */
static void pgc_add_quoted(struct buf *out, const char *s, size_t len)
{
	const char *end = s + len, *q;

	buf_addch(out, '\'');
	while ((q = memchr(s, '\'', (size_t)(end - s))) != NULL) {
		buf_add(out, s, (size_t)(q - s) + 1);
		buf_addch(out, '\'');
		s = q + 1;
	}
	buf_add(out, s, (size_t)(end - s));
	buf_addch(out, '\'');
}

/*
 * Text for a text-like column: valid UTF-8, no NUL, within the declared
 * length (unless bound). from_bytes: s came as SV_BYTES (said so in the
 * message).
 */
static int pgc_text_lit(struct buf *out, const struct coldesc *col, const char *s, size_t len,
                        bool from_bytes, bool bound, struct tally_err *err)
{
	bool nul;
	long chars = pgc_utf8_chars(s, len, &nul);

	if (nul)
		return pgc_lit_err(err, col, "a NUL byte cannot be stored in PostgreSQL text");
	if (chars < 0)
		return pgc_lit_err(err, col, "%s not valid UTF-8 cannot be stored as text",
		                   from_bytes ? "bytes that are" : "text that is");
	if (!bound && (col->type == LT_TEXT || col->type == LT_CHAR) && col->length > 0 &&
	    chars > col->length)
		return pgc_lit_err(err, col, "text longer than %ld characters cannot be stored",
		                   col->length);
	pgc_add_quoted(out, s, len);
	return 0;
}

/* A decimal number split into its parts, without leading or trailing zeros. */
struct pgc_num {
	bool neg;
	const char *ip;      /* integer digits, no leading zeros; empty for 0 */
	size_t nip;
	const char *fp;      /* fraction digits, no trailing zeros */
	size_t nfp;
	size_t fzeros;       /* leading zeros of the fraction (when nip == 0) */
};

/* Parses [-]digits[.digits]; false if s is anything else. */
static bool pgc_parse_num(const char *s, size_t len, struct pgc_num *n)
{
	const char *p = s, *end = s + len, *dot;

	memset(n, 0, sizeof(*n));
	if (p < end && *p == '-') {
		n->neg = true;
		p++;
	}
	dot = memchr(p, '.', (size_t)(end - p));
	if (!dot)
		dot = end;
	if (dot == p || (dot < end && dot + 1 == end))
		return false;
	for (const char *q = p; q < end; q++)
		if (q != dot && (*q < '0' || *q > '9'))
			return false;
	while (p < dot && *p == '0')
		p++;
	n->ip = p;
	n->nip = (size_t)(dot - p);
	if (dot < end) {
		const char *f = dot + 1, *fe = end;

		while (fe > f && fe[-1] == '0')
			fe--;
		n->fp = f;
		n->nfp = (size_t)(fe - f);
		if (n->nip == 0)
			while (n->fzeros < n->nfp && f[n->fzeros] == '0')
				n->fzeros++;
	} else {
		n->fp = end;
	}
	return true;
}

static bool pgc_num_is_zero(const struct pgc_num *n)
{
	return n->nip == 0 && n->nfp == 0;
}

/* Appends an integer without leading zeros or a negative zero. */
static void pgc_add_int(struct buf *out, const struct pgc_num *n)
{
	if (n->neg && n->nip)
		buf_addch(out, '-');
	if (n->nip)
		buf_add(out, n->ip, n->nip);
	else
		buf_addch(out, '0');
}

/* An integer in the range of a PostgreSQL integer of `bits`. */
static int pgc_check_int(const struct coldesc *col, const struct pgc_num *n, struct tally_err *err)
{
	int bits = col->bits == 16 || col->bits == 32 ? col->bits : 64;
	uint64_t mag = 0, limit;

	if (n->nfp)
		return pgc_lit_err(err, col, "a number with a fraction cannot be stored exactly");
	if (n->nip > 20)
		return pgc_lit_err(err, col, "the number is out of range");
	for (size_t i = 0; i < n->nip; i++) {
		unsigned d = (unsigned)(n->ip[i] - '0');

		if (mag > (UINT64_MAX - d) / 10)
			return pgc_lit_err(err, col, "the number is out of range");
		mag = mag * 10 + d;
	}
	limit = (UINT64_C(1) << (bits - 1)) - (n->neg ? 0 : 1);
	if (mag > limit)
		return pgc_lit_err(err, col, "the number is out of range");
	return 0;
}

/*
 * A number a numeric(p,s) holds without rounding: at most s fraction
 * digits (a negative s wants that many zeros before the point), and below
 * 10^(p-s) in magnitude, as PostgreSQL's apply_typmod() checks.
 */
static int pgc_check_decimal(const struct coldesc *col, const struct pgc_num *n,
                             struct tally_err *err)
{
	long p = col->precision, sc = col->scale, exp10;

	if (p <= 0 || pgc_num_is_zero(n))
		return 0;
	if (sc >= 0 && (long)n->nfp > sc)
		return pgc_lit_err(err, col,
		                   "a number with more than %ld decimal places cannot be stored exactly", sc);
	if (sc < 0) {
		size_t tz = 0;

		while (tz < n->nip && n->ip[n->nip - 1 - tz] == '0')
			tz++;
		if (n->nfp || (long)tz < -sc)
			return pgc_lit_err(err, col, "the number would be rounded to %ld digits before the decimal point",
			                   -sc);
	}
	/* 10^exp10 <= |x| < 10^(exp10 + 1) */
	exp10 = n->nip ? (long)n->nip - 1 : -(long)n->fzeros - 1;
	if (exp10 >= p - sc)
		return pgc_lit_err(err, col, "the number is out of range");
	return 0;
}

/*
 * Expands the %g text of a finite double into plain digits in d (for the
 * numeric checks): "1.5e+03" -> "1500", "1e-05" -> "0.00001".
 */
static void pgc_plain_digits(struct buf *d, const char *g)
{
	const char *e = strchr(g, 'e');
	struct buf mant = BUF_INIT;
	long exp = 0, point;
	bool neg = *g == '-';

	if (!e) {
		buf_addstr(d, g);
		return;
	}
	pgc_parse_long(e + 1 + (e[1] == '+'), &exp);
	for (const char *p = g + neg; p < e; p++)
		if (*p != '.')
			buf_addch(&mant, *p);
	/* One digit before the point in %g's exponent form. */
	point = 1 + exp;
	if (neg)
		buf_addch(d, '-');
	if (point <= 0) {
		buf_addstr(d, "0.");
		for (long i = 0; i < -point; i++)
			buf_addch(d, '0');
		buf_add(d, mant.data, mant.len);
	} else if ((size_t)point >= mant.len) {
		buf_add(d, mant.data, mant.len);
		for (size_t i = mant.len; i < (size_t)point; i++)
			buf_addch(d, '0');
	} else {
		buf_add(d, mant.data, (size_t)point);
		buf_addch(d, '.');
		buf_add(d, mant.data + point, mant.len - (size_t)point);
	}
	buf_release(&mant);
}

/*
 * The shortest %g text that reads back as the same value: as a double, or
 * as a float for a 32-bit column (*range is cleared when the value does
 * not fit a float at all).
 */
static void pgc_shortest(char *dst, size_t cap, double d, bool single, bool *range)
{
	*range = true;
	if (single) {
		float f = (float)d;

		if (isinf(f) || (f == 0.0f && d != 0.0))
			*range = false;
		for (int prec = 1; prec <= 9; prec++) {
			snprintf(dst, cap, "%.*g", prec, (double)f);
			if (strtof(dst, NULL) == f)
				return;
		}
		snprintf(dst, cap, "%.9g", (double)f);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(dst, cap, "%.*g", prec, d);
		if (strtod(dst, NULL) == d)
			return;
	}
	snprintf(dst, cap, "%.17g", d);
}

/*
 * An integer bound, typed as the column's own integer type when it fits,
 * so that a row comparison matches the index exactly; otherwise (out of
 * the type's range, or with a fraction) a numeric literal: exact, though
 * compared as numeric.
 */
static void pgc_bound_int(struct buf *out, const struct coldesc *col, const struct pgc_num *n,
                          const char *s, size_t len)
{
	struct tally_err ignored;

	if (pgc_check_int(col, n, &ignored) < 0) {
		buf_add(out, s, len);
		return;
	}
	buf_addch(out, '\'');
	pgc_add_int(out, n);
	buf_addf(out, "'::pg_catalog.int%d", col->bits == 16 ? 2 : col->bits == 32 ? 4 : 8);
}

static int pgc_number_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                          bool bound, struct tally_err *err)
{
	const char *s = v->s ? v->s : "";
	size_t len = v->len ? v->len : strlen(s);
	struct pgc_num n;

	if (v->special != SVS_NONE) {
		const char *text = v->special == SVS_NAN ? "NaN"
		                 : v->special == SVS_PINF ? "Infinity"
		                 : v->special == SVS_NINF ? "-Infinity" : NULL;

		if (bound && text && col->type == LT_INT) {
			/* Compared as numeric, which orders NaN above every number. */
			pgc_add_quoted(out, text, strlen(text));
			buf_addstr(out, "::pg_catalog.numeric");
			return 0;
		}
		if (!text || (col->type != LT_DECIMAL && col->type != LT_FLOAT))
			return pgc_lit_err(err, col, "a NaN or infinite number cannot be stored");
		if (!bound && col->type == LT_DECIMAL && v->special != SVS_NAN && col->precision > 0)
			return pgc_lit_err(err, col, "an infinite number cannot be stored in a numeric with a precision");
		pgc_add_quoted(out, text, strlen(text));
		return 0;
	}
	if (!pgc_parse_num(s, len, &n))
		return pgc_lit_err(err, col, "the number is malformed");
	switch (col->type) {
	case LT_INT:
		if (bound) {
			pgc_bound_int(out, col, &n, s, len);
			return 0;
		}
		if (pgc_check_int(col, &n, err) < 0)
			return -1;
		pgc_add_int(out, &n);
		return 0;
	case LT_DECIMAL:
		if (bound) {
			/* Quoted: pgc_bound_literal() types it as numeric, never numeric(p,s). */
			pgc_add_quoted(out, s, len);
			return 0;
		}
		if (pgc_check_decimal(col, &n, err) < 0)
			return -1;
		buf_add(out, s, len);
		return 0;
	case LT_FLOAT:
	case LT_YEAR:
		buf_add(out, s, len);
		return 0;
	case LT_BOOL:
		if (pgc_num_is_zero(&n))
			buf_addstr(out, "false");
		else if (!n.neg && n.nfp == 0 && n.nip == 1 && n.ip[0] == '1')
			buf_addstr(out, "true");
		else
			return pgc_lit_err(err, col, "only 0 and 1 can be stored as a boolean");
		return 0;
	case LT_TEXT:
	case LT_CHAR:
	case LT_OTHER:
		return pgc_text_lit(out, col, s, len, false, bound, err);
	default:
		return pgc_lit_mismatch(err, col, v);
	}
}

static int pgc_float_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                         bool bound, struct tally_err *err)
{
	char text[64];
	bool range;

	if (isnan(v->d) || isinf(v->d)) {
		const char *special = isnan(v->d) ? "NaN" : v->d > 0 ? "Infinity" : "-Infinity";

		if (bound && (col->type == LT_INT || col->type == LT_DECIMAL)) {
			pgc_add_quoted(out, special, strlen(special));
			buf_addstr(out, "::pg_catalog.numeric");
			return 0;
		}
		if (col->type != LT_FLOAT)
			return pgc_lit_err(err, col, "a NaN or infinite number cannot be stored");
		pgc_add_quoted(out, special, strlen(special));
		return 0;
	}
	switch (col->type) {
	case LT_FLOAT:
		/* A bound keeps the double: it is compared as float8, never rounded to real. */
		pgc_shortest(text, sizeof(text), v->d, col->bits == 32 && !bound, &range);
		if (!range)
			return pgc_lit_err(err, col, "the number is out of range");
		pgc_add_quoted(out, text, strlen(text));
		return 0;
	case LT_DECIMAL:
	case LT_INT: {
		struct buf digits = BUF_INIT;
		struct pgc_num n;
		int rc;

		pgc_shortest(text, sizeof(text), v->d, false, &range);
		pgc_plain_digits(&digits, text);
		rc = pgc_parse_num(digits.data, digits.len, &n) ? 0
		   : pgc_lit_err(err, col, "the number is malformed");
		if (rc == 0 && bound) {
			if (col->type == LT_INT)
				pgc_bound_int(out, col, &n, digits.data, digits.len);
			else
				pgc_add_quoted(out, digits.data, digits.len);
			buf_release(&digits);
			return 0;
		}
		if (rc == 0)
			rc = col->type == LT_INT ? pgc_check_int(col, &n, err)
			                         : pgc_check_decimal(col, &n, err);
		if (rc == 0 && col->type == LT_INT)
			pgc_add_int(out, &n);
		else if (rc == 0)
			pgc_add_quoted(out, text, strlen(text));
		buf_release(&digits);
		return rc;
	}
	default:
		return pgc_lit_mismatch(err, col, v);
	}
}

/* Date, time and timestamps: ISO text without trailing fraction zeros. */
static int pgc_datetime_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                            bool bound, struct tally_err *err)
{
	struct buf iso = BUF_INIT;
	enum ltype want = v->kind == SV_DATE ? LT_DATE : v->kind == SV_TIME ? LT_TIME
	                : v->kind == SV_TIMESTAMP ? LT_TIMESTAMP : LT_TIMESTAMPTZ;
	size_t end;
	bool bc;

	if (col->type != want)
		return pgc_lit_mismatch(err, col, v);
	if (v->special == SVS_ZERO)
		return pgc_lit_err(err, col, "a MariaDB zero date cannot be stored in PostgreSQL");
	if (v->special == SVS_PINF || v->special == SVS_NINF) {
		const char *text = v->special == SVS_PINF ? "infinity" : "-infinity";

		if (v->kind == SV_TIME)
			return pgc_lit_err(err, col, "an infinite time cannot be stored");
		pgc_add_quoted(out, text, strlen(text));
		return 0;
	}
	if (v->special != SVS_NONE)
		return pgc_lit_err(err, col, "a NaN %s cannot be stored", pgc_kind_name(v->kind));
	switch (v->kind) {
	case SV_DATE:
		if (v->i < PGC_DATE_MIN || v->i > PGC_DATE_MAX)
			return pgc_lit_err(err, col, "the date is outside PostgreSQL's range");
		break;
	case SV_TIME:
		if (v->i < 0 || v->i > PGC_DAY_US)
			return pgc_lit_err(err, col, "a time outside 00:00:00 to 24:00:00 cannot be stored");
		break;
	default:
		if (v->i < PGC_TS_MIN || v->i >= PGC_TS_END)
			return pgc_lit_err(err, col, "the timestamp is outside PostgreSQL's range");
		break;
	}
	if (!bound && v->kind != SV_DATE && col->fsp >= 0 && col->fsp < 6) {
		int64_t frac = v->i % 1000000, unit = 1;

		if (frac < 0)
			frac += 1000000;
		for (int k = col->fsp; k < 6; k++)
			unit *= 10;
		if (frac % unit)
			return pgc_lit_err(err, col,
			                   "a value with more than %d fractional digits of a second cannot be stored exactly",
			                   col->fsp);
	}

	sqlval_iso(&iso, v, 6);
	bc = iso.len > 3 && memcmp(iso.data + iso.len - 3, " BC", 3) == 0;
	end = bc ? iso.len - 3 : iso.len;
	if (v->kind != SV_DATE) {
		/* The fraction is the last seven bytes: drop its trailing zeros. */
		while (iso.data[end - 1] == '0')
			end--;
		if (iso.data[end - 1] == '.')
			end--;
	}
	buf_addch(out, '\'');
	buf_add(out, iso.data, end);
	if (v->kind == SV_TIMESTAMPTZ)
		buf_addstr(out, "+00");
	if (bc)
		buf_addstr(out, " BC");
	buf_addch(out, '\'');
	buf_release(&iso);
	return 0;
}

/* bound: a range bound, compared and never stored (see pgc_bound_literal()). */
static int pgc_literal_of(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                          bool bound, struct tally_err *err)
{
	const char *s = v->s ? v->s : "";

	switch (v->kind) {
	case SV_NULL:
		buf_addstr(out, "NULL");
		return 0;
	case SV_NUMBER:
		return pgc_number_lit(out, col, v, bound, err);
	case SV_FLOAT:
		return pgc_float_lit(out, col, v, bound, err);
	case SV_BOOL:
		if (col->type == LT_BOOL)
			buf_addstr(out, v->b ? "true" : "false");
		else if (col->type == LT_INT)
			buf_addstr(out, v->b ? "1" : "0");
		else
			return pgc_lit_mismatch(err, col, v);
		return 0;
	case SV_TEXT:
		if (col->type == LT_BYTES) {
			/* The text's UTF-8 bytes. */
			buf_addstr(out, "'\\x");
			buf_addhex(out, s, v->len);
			buf_addch(out, '\'');
			return 0;
		}
		return pgc_text_lit(out, col, s, v->len, false, bound, err);
	case SV_BYTES:
		if (col->type == LT_BYTES) {
			buf_addstr(out, "'\\x");
			buf_addhex(out, s, v->len);
			buf_addch(out, '\'');
			return 0;
		}
		if (col->type == LT_BIT)
			return pgc_lit_mismatch(err, col, v);
		return pgc_text_lit(out, col, s, v->len, true, bound, err);
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		return pgc_datetime_lit(out, col, v, bound, err);
	case SV_UUID: {
		const unsigned char *u = (const unsigned char *)s;

		if (!v->s || v->len != 16)
			return pgc_lit_err(err, col, "the uuid is malformed");
		if (col->type != LT_UUID && col->type != LT_TEXT && col->type != LT_CHAR &&
		    col->type != LT_OTHER)
			return pgc_lit_mismatch(err, col, v);
		buf_addch(out, '\'');
		for (int i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				buf_addch(out, '-');
			buf_addhex(out, u + i, 1);
		}
		buf_addch(out, '\'');
		return 0;
	}
	case SV_BITS:
		if (col->type != LT_BIT)
			return pgc_lit_mismatch(err, col, v);
		for (size_t i = 0; i < v->len; i++)
			if (s[i] != '0' && s[i] != '1')
				return pgc_lit_err(err, col, "the bit string is malformed");
		if (!bound && col->bits > 0 && (col->fixed ? v->len != (size_t)col->bits : v->len > (size_t)col->bits))
			return pgc_lit_err(err, col, "a bit string of %zu bits cannot be stored in this column", v->len);
		buf_addstr(out, "B'");
		buf_add(out, s, v->len);
		buf_addch(out, '\'');
		return 0;
	case SV_RAW:
		if (memchr(s, '\0', v->len))
			return pgc_lit_err(err, col, "a NUL byte cannot be stored in PostgreSQL text");
		pgc_add_quoted(out, s, v->len);
		return 0;
	}
	return pgc_lit_mismatch(err, col, v);
}

static int pgc_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                       struct tally_err *err)
{
	size_t mark = out->len;

	if (pgc_literal_of(out, col, v, false, err) == 0)
		return 0;
	/* A refused value leaves the buffer as it was. */
	if (out->len != mark)
		buf_setlen(out, mark);
	return -1;
}

/*
 * The type a quoted bound is cast to, so that it compares as the column
 * does and the planner matches it to the column's index: the base type
 * without its typmod (numeric, never numeric(12,2); timestamp, never
 * timestamp(0): either would round the bound) and never a domain (whose
 * check a bound need not pass). Text, bytea and the rest need none: an
 * untyped literal takes the column's type.
 */
static const char *pgc_bound_cast(const struct coldesc *col)
{
	switch (col->type) {
	case LT_DECIMAL: return "pg_catalog.numeric";
	case LT_FLOAT: return "pg_catalog.float8";
	case LT_DATE: return "pg_catalog.date";
	case LT_TIME: return "pg_catalog.time";
	case LT_TIMESTAMP: return "pg_catalog.timestamp";
	case LT_TIMESTAMPTZ: return "pg_catalog.timestamptz";
	case LT_UUID: return "pg_catalog.uuid";
	case LT_ENUM: return col->native;   /* format_type(): quoted and qualified as needed */
	default: return NULL;
	}
}

/*
 * A range bound: written exactly and typed for comparison with the
 * column, but not checked against what the column can store (a bound
 * longer than varchar(n) or finer than timestamp(0) is still a bound).
 * What no literal of the type can say exactly is refused as for
 * pgc_literal(): text that is not UTF-8, a date outside PostgreSQL's
 * range, a MariaDB zero date, a NULL.
 */
static int pgc_bound_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                             struct tally_err *err)
{
	const char *cast = pgc_bound_cast(col);
	size_t mark = out->len;

	if (v->kind == SV_NULL)
		return pgc_lit_err(err, col, "a NULL cannot bound a range");
	if (col->type == LT_ENUM && col->nlabels && (v->kind == SV_TEXT || v->kind == SV_RAW)) {
		size_t i = 0;

		while (i < col->nlabels && (strlen(col->labels[i]) != v->len ||
		                            memcmp(col->labels[i], v->s, v->len) != 0))
			i++;
		if (i == col->nlabels)
			return pgc_lit_err(err, col, "the value is not a label of this enum");
	}
	if (pgc_literal_of(out, col, v, true, err) < 0) {
		if (out->len != mark)
			buf_setlen(out, mark);
		return -1;
	}
	if (cast && out->len > mark && out->data[out->len - 1] == '\'')
		buf_addf(out, "::%s", cast);
	return 0;
}

/*
 * conn_ops.rank_bounds. The bounds, each literal cast to its column's
 * base type (no typmod: a bound longer than varchar(n) is still itself),
 * are unioned below the key columns of an empty scan of the table: the
 * union takes the columns' collations, as the range condition
 * "k" > 'bound' does, and DENSE_RANK orders them so.
 */
static int pgc_rank_bounds(struct conn *c, const struct scan_req *req, size_t nb, const struct sqlval *vals,
                           size_t n, uint32_t *rank, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT, doing = BUF_INIT;
	PGresult *res = NULL;
	int rc = -1;

	if (pgc_check_idle(s, "rank chunk bounds", err) < 0)
		return -1;
	if (nb == 0 || nb > req->nkey || (d->is_query ? !req->query : !d->sqlname))
		return err_set(err, ERR_INTERNAL, "ranking bounds of %zu key columns of %s", nb, d->display);
	buf_addf(&doing, "ranking chunk bounds of %s", d->display);
	buf_addstr(&sql, "SELECT tally_i, pg_catalog.dense_rank() OVER (ORDER BY ");
	for (size_t k = 0; k < nb; k++)
		buf_addf(&sql, "%stally_k%zu", k ? ", " : "", k);
	buf_addstr(&sql, ") FROM (SELECT ");
	pgc_add_keys(&sql, d, req->key, nb);
	buf_addstr(&sql, ", NULL::pg_catalog.int8");
	pgc_add_from(&sql, d, req->query);
	buf_addstr(&sql, " WHERE false UNION ALL VALUES ");
	for (size_t i = 0; i < n; i++) {
		buf_addstr(&sql, i ? ", (" : "(");
		for (size_t k = 0; k < nb; k++) {
			const struct coldesc *cd = &d->cols[req->key[k]];
			size_t mark;

			if (k)
				buf_addstr(&sql, ", ");
			mark = sql.len;
			if (pgc_bound_literal(&sql, cd, &vals[i * nb + k], err) < 0)
				goto out;
			/* Typed already, or not a quoted literal (a number). */
			if (pgc_bound_cast(cd) || sql.len == mark || sql.data[sql.len - 1] != '\'')
				continue;
			if (cd->type == LT_TEXT || cd->type == LT_CHAR || cd->type == LT_BYTES)
				buf_addstr(&sql, cd->type == LT_TEXT ? "::pg_catalog.text"
				                 : cd->type == LT_CHAR ? "::pg_catalog.bpchar" : "::pg_catalog.bytea");
			else if (cd->native && pgc_has_order(cd))
				buf_addf(&sql, "::%s", cd->native);
		}
		buf_addf(&sql, ", %zu)", i + 1);
	}
	buf_addstr(&sql, ") AS tally_b(");
	for (size_t k = 0; k < nb; k++)
		buf_addf(&sql, "tally_k%zu, ", k);
	buf_addstr(&sql, "tally_i) WHERE tally_i IS NOT NULL");

	if (pgc_savepoint(s, doing.data, err) < 0)
		goto out;
	res = PQexec(s->pg, sql.data);
	if (!pgc_rows_ok(res) || PQnfields(res) != 2 || (size_t)PQntuples(res) != n) {
		pgc_stmt_err(s, res, false, doing.data, err, "cannot rank chunk bounds of %s on %s system '%s'",
		             d->display, s->base.side, s->base.system);
		pgc_undo(s, doing.data, err);
		goto out;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		long i, k;

		if (!pgc_parse_long(PQgetvalue(res, r, 0), &i) || !pgc_parse_long(PQgetvalue(res, r, 1), &k) ||
		    i < 1 || (size_t)i > n || k < 1) {
			err_set(err, ERR_INTERNAL, "unexpected rank of a chunk bound from %s system '%s'",
			        s->base.side, s->base.system);
			pgc_undo(s, doing.data, err);
			goto out;
		}
		rank[i - 1] = (uint32_t)k;
	}
	rc = pgc_release_savepoint(s, doing.data, err);
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&doing);
	return rc;
}

extern const struct script_ops postgres_script;

const struct conn_ops postgres_ops = {
	.driver = "postgres",
	.dialect = "postgresql",
	.open = pgc_open,
	.close = pgc_close,
	.describe_table = pgc_describe_table,
	.describe_query = pgc_describe_query,
	.scan_open = pgc_scan_open,
	.scan_next = pgc_scan_next,
	.scan_close = pgc_scan_close,
	.quote_ident = pgc_quote_ident,
	.literal = pgc_literal,
	.bound_literal = pgc_bound_literal,
	.script = &postgres_script,
	.order_is_bytewise = pgc_order_is_bytewise,
	.plan_bounds = pgc_plan_bounds,
	.rank_bounds = pgc_rank_bounds,
	.export_snapshot = pgc_export_snapshot,
	.position = pgc_position,
	.load = pgc_load,
	.table_stamp = pgc_table_stamp,
	.watch = pgc_watch,
	.cancel = pgc_cancel,
	.keepalive = pgc_keepalive,
};
