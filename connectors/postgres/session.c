/*
 * connectors/postgres/session.c
 *   SOURCE, PostgreSQL: a session's life. Opens a read-only REPEATABLE READ
 *   session (or a monitor, without a transaction), reports failed
 *   statements, keeps the savepoint that undoes a failed one, exports the
 *   session's snapshot for workers (the txsnap), and reads its position
 *   and the server's load. Everything else the driver does runs on a
 *   session opened here.
 *
 * One snapshot per session: open() runs BEGIN ISOLATION LEVEL REPEATABLE
 * READ READ ONLY, locks the tables it is asked to hold (cfg->lock; LOCK
 * takes no snapshot) and runs a first SELECT, so the snapshot is taken at
 * open time, after the locks, and every describe and scan of the session
 * sees it. A worker opens with cfg->txsnap instead and imports the
 * coordinator's exported snapshot before its first query. Limits, locks,
 * table stamps and the monitor session's watch are guard.c's.
 *
 * Statements that may fail on user input (describe_query's PREPARE,
 * scan_open's COPY, plan_bounds' sample) run inside SAVEPOINT tally_sp: a
 * failure, or a COPY abandoned by scan_close, is undone with ROLLBACK TO
 * SAVEPOINT, which keeps the transaction and its snapshot (a scan rolls
 * back even when it succeeds, ending the SET LOCAL it ran with). Only a
 * broken connection or an error in the middle of a stream makes the
 * session fail for good (conn.failed, sticky).
 */
#include "../connector.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_int.h"

#define PGC_MIN_VERSION 120000  /* attgenerated, indnkeyatts, to_regclass(text) */

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
bool pgc_is_lost(const struct pgsess *s, const char *sqlstate)
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
int pgc_set_failed(struct pgsess *s, const struct tally_err *err)
{
	s->base.failed = true;
	s->fail = *err;
	return -1;
}

int pgc_sticky(const struct pgsess *s, struct tally_err *err)
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

bool pgc_parse_int(const char *s, int *out)
{
	long v;

	if (!pgc_parse_long(s, &v) || v < INT_MIN || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

/* Length of sql without trailing blanks and semicolons. */
size_t pgc_stripped_len(const char *sql)
{
	size_t n = strlen(sql);

	while (n > 0 && (sql[n - 1] == ';' || sql[n - 1] == ' ' || sql[n - 1] == '\t' ||
	                 sql[n - 1] == '\n' || sql[n - 1] == '\r' || sql[n - 1] == '\f' ||
	                 sql[n - 1] == '\v'))
		n--;
	return n;
}

PGresult *pgc_exec(struct pgsess *s, const char *sql)
{
	PGresult *res = PQexec(s->pg, sql);

	s->base.io.queries++;
	pgc_count_result(s, res);
	return res;
}

void pgc_count_result(struct pgsess *s, const PGresult *res)
{
	int nr, nf;

	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		return;
	nr = PQntuples(res);
	nf = PQnfields(res);
	for (int r = 0; r < nr; r++)
		for (int f = 0; f < nf; f++)
			s->base.io.bytes += (uint64_t)PQgetlength(res, r, f);
}

/* Runs a statement that returns no rows; *resp holds the result on failure. */
int pgc_command(struct pgsess *s, const char *sql, PGresult **resp)
{
	PGresult *res = pgc_exec(s, sql);

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
	PGresult *res = PQexecParams(s->pg, sql, nparams, NULL, params, NULL, NULL, 0);

	s->base.io.queries++;
	pgc_count_result(s, res);
	return res;
}

bool pgc_rows_ok(const PGresult *res)
{
	return res && PQresultStatus(res) == PGRES_TUPLES_OK;
}

/* Consumes the results left after a COPY; stops at a new COPY state. */
void pgc_drain(struct pgsess *s)
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
int pgc_savepoint_then(struct pgsess *s, const char *then, const char *doing,
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

/*
 * Connects with libpq: the dsn as dbname, after tally's defaults.
 * Returns the connection, or NULL with err set (ERR_CONNECT).
 */
static PGconn *pgc_connect(const struct conn_cfg *cfg, const char *side, const char *system,
                           struct tally_err *err)
{
	const char *shown = cfg->dsn_shown ? cfg->dsn_shown : "connection string hidden";
	const char *keywords[4], *values[4];
	const char *password = NULL;
	PQconninfoOption *opts = NULL;
	char timeout[24];
	char *perr = NULL;
	PGconn *pg;
	int n = 0;

	/* Learn the password only to keep it out of libpq's messages. */
	if (pgc_is_conninfo(cfg->dsn)) {
		opts = PQconninfoParse(cfg->dsn, &perr);
		if (!opts) {
			err_set(err, ERR_CONNECT, "cannot connect to %s system '%s' (%s)", side, system, shown);
			pgc_redact_quoted(err->detail, sizeof(err->detail),
			                  perr ? perr : "invalid connection string");
			PQfreemem(perr);
			return NULL;
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
		return NULL;
	}
	PQconninfoFree(opts);
	PQsetNoticeProcessor(pg, pgc_notice, NULL);
	return pg;
}

/*
 * Starts the transaction of a session that is not a monitor: BEGIN, the
 * imported snapshot or the table locks, then the first query, which
 * takes the snapshot and reads the database's default collation. On
 * failure err is set and the caller closes the session.
 */
static int pgc_begin(struct pgsess *s, const struct conn_cfg *cfg, const char *side,
                     const char *system, int version, struct tally_err *err)
{
#define PGC_COLL_SQL(provider, locale)                                                   \
	"SELECT " provider ", d.datcollate, " locale " FROM pg_catalog.pg_database d"     \
	" WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()"
	static const char coll17_sql[] = PGC_COLL_SQL("d.datlocprovider", "d.datlocale");
	static const char coll15_sql[] = PGC_COLL_SQL("d.datlocprovider", "d.daticulocale");
	static const char coll12_sql[] = PGC_COLL_SQL("'c'", "NULL");
#undef PGC_COLL_SQL
	PGresult *res;
	int rc;

	if (pgc_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &res) < 0) {
		pgc_stmt_err(s, res, false, "starting the session", err,
		             "cannot start a read-only session on %s system '%s'", side, system);
		err->kind = ERR_CONNECT;
		PQclear(res);
		return -1;
	}
	/* An imported snapshot replaces the transaction's before its first query. */
	if (cfg->txsnap) {
		struct buf q = BUF_INIT;

		buf_addstr(&q, "SET TRANSACTION SNAPSHOT ");
		pgc_add_quoted(&q, cfg->txsnap, strlen(cfg->txsnap));
		rc = pgc_command(s, q.data, &res);
		buf_release(&q);
		if (rc < 0) {
			pgc_stmt_err(s, res, false, "importing a snapshot", err,
			             "cannot import snapshot '%s' on %s system '%s'", cfg->txsnap,
			             side, system);
			/* Its exporter is gone (a restart, a lost coordinator): no retry can bring it back. */
			err->kind = ERR_SNAPSHOT;
			PQclear(res);
			return -1;
		}
	}
	/* LOCK takes no snapshot: the snapshot below sees every rewrite committed before the locks. */
	if (!cfg->txsnap && cfg->nlock > 0 && pgc_lock_tables(s, cfg, err) < 0)
		return -1;
	/*
	 * The snapshot is taken by the first query, here rather than later; it
	 * reads the database's default collation, which describe reports for
	 * every column that uses it.
	 */
	res = pgc_exec(s, version >= 170000 ? coll17_sql : version >= 150000 ? coll15_sql : coll12_sql);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1) {
		pgc_stmt_err(s, res, false, "starting the session", err,
		             "cannot take a snapshot on %s system '%s'", side, system);
		err->kind = ERR_CONNECT;
		PQclear(res);
		return -1;
	}
	s->default_coll = pgc_default_collation(PQgetvalue(res, 0, 0)[0], PQgetvalue(res, 0, 1),
	                                        PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2));
	PQclear(res);
	return 0;
}

int pgc_open(struct conn **out, const struct conn_cfg *cfg, struct tally_err *err)
{
	static const char session_sql[] =
		"SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'; "
		"SET bytea_output = 'hex'; SET extra_float_digits = 3; SET client_encoding = 'UTF8'; "
		"SET standard_conforming_strings = on; SET default_transaction_read_only = on";
	const char *side = cfg->side ? cfg->side : "?";
	const char *system = cfg->system ? cfg->system : "?";
	struct pgsess *s;
	PGresult *res;
	PGconn *pg;
	int version;

	*out = NULL;
	if (!cfg->dsn || !*cfg->dsn)
		return err_set(err, ERR_CONNECT, "cannot connect to %s system '%s': no dsn", side, system);
	pg = pgc_connect(cfg, side, system, err);
	if (!pg)
		return -1;

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
	if (pgc_begin(s, cfg, side, system, version, err) < 0) {
		pgc_close(&s->base);
		return -1;
	}
	*out = &s->base;
	return 0;
}

void pgc_close(struct conn *c)
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
			PQclear(pgc_exec(s, "ROLLBACK"));
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

/* ---- the session between calls ------------------------------------- */

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

/* ---- exported snapshot, position, load ----------------------------- */

int pgc_export_txsnap(struct conn *c, char **id, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	PGresult *res;

	if (pgc_check_idle(s, "export the snapshot", err) < 0)
		return -1;
	/*
	 * Not in the savepoint: PostgreSQL exports no snapshot from a
	 * subtransaction. A failure aborts the transaction, so it is sticky.
	 */
	res = pgc_exec(s, "SELECT pg_catalog.pg_export_snapshot()");
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
	res = pgc_exec(s, sql);
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
int pgc_position(struct conn *c, char **out, struct tally_err *err)
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
int pgc_load(struct conn *c, long *out, struct tally_err *err)
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
