/*
 * connectors/postgres/guard.c
 *   SOURCE, PostgreSQL: what a session does to the server besides reading
 *   rows. The limits a session runs under, the ACCESS SHARE locks a
 *   coordinator session holds on the compared tables, and, for a monitor
 *   session (no transaction), the table stamps and the watch for sessions
 *   waiting on tally's locks.
 *
 * Why the locks. TRUNCATE and the rewriting forms of ALTER TABLE are not
 * MVCC-safe: they put the table in a new file whose rows a snapshot taken
 * before them cannot see, so a scan in that snapshot reads an empty table
 * once they commit. A coordinator session therefore locks every compared
 * table IN ACCESS SHARE MODE right after BEGIN (LOCK takes no snapshot),
 * then takes its snapshot: a rewrite that committed before the lock was
 * granted is in the snapshot, and none can commit until the session ends,
 * since they all need ACCESS EXCLUSIVE. Workers import the snapshot and
 * lock what they read in turn. The lock waits at most the session's
 * lock_timeout; when it is not granted, pg_locks names who holds or waits
 * for ACCESS EXCLUSIVE on the table.
 *
 * Table stamps are the relfilenodes of the table (of its leaf partitions),
 * which every rewrite replaces. They are read in a monitor session, whose
 * every statement is a transaction of its own, so they reflect the
 * catalog as committed now (a long transaction's catalog caches may lag).
 *
 * The watch runs in the monitor too: pg_blocking_pids() of each session
 * waiting for a lock, against the set of tally's own backends, and the age
 * of tally's oldest transaction and xmin (age() is stable within a
 * transaction: in the coordinator's own it would never move).
 */
#include "pg_int.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- limits ---------------------------------------------------------- */

static long pgc_ms(double seconds)
{
	double ms = seconds * 1000.0 + 0.5;

	if (seconds <= 0)
		return 0;
	return ms >= (double)INT_MAX ? INT_MAX : (long)ms;
}

int pgc_set_limits(struct pgsess *s, const struct conn_cfg *cfg, struct tally_err *err)
{
	static const char sql[] =
		"SELECT name, setting FROM pg_catalog.pg_settings"
		" WHERE name IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout')";
	long role_stmt = 0, role_lock = 0, role_idle = 0, stmt, lock;
	struct buf set = BUF_INIT;
	PGresult *res = pgc_exec(s, sql);
	int rc = 0;

	if (!pgc_rows_ok(res)) {
		pgc_stmt_err(s, res, false, "reading the role's limits", err,
		             "cannot read the role's limits on %s system '%s'", s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		long v = 0;

		if (!pgc_parse_long(PQgetvalue(res, i, 1), &v) || v < 0)
			v = 0;
		if (strcmp(name, "statement_timeout") == 0)
			role_stmt = v;
		else if (strcmp(name, "lock_timeout") == 0)
			role_lock = v;
		else
			role_idle = v;
	}
	PQclear(res);
	stmt = pgc_ms(conn_limit(cfg->statement_timeout, cfg->statement_timeout_forced,
	                         (double)role_stmt / 1000.0));
	lock = pgc_ms(conn_limit(cfg->lock_timeout, false, (double)role_lock / 1000.0));
	s->lock_ms = lock;
	buf_addf(&set, "SET statement_timeout = %ld; SET lock_timeout = %ld", stmt, lock);
	/* A session waits, idle in its transaction, while its partner side's page is read. */
	if (role_idle > 0 && stmt > role_idle)
		buf_addf(&set, "; SET idle_in_transaction_session_timeout = %ld", stmt);
	if (pgc_command(s, set.data, &res) < 0) {
		rc = pgc_stmt_err(s, res, false, "setting the session's limits", err,
		                  "cannot set the session's limits on %s system '%s'", s->base.side,
		                  s->base.system);
		PQclear(res);
	}
	buf_release(&set);
	s->base.statement_timeout = (double)stmt / 1000.0;
	s->base.role_statement_timeout = (double)role_stmt / 1000.0;
	return rc;
}

/* ---- locks at open ---------------------------------------------------- */

/*
 * After a lock wait timed out: who holds, or waits ahead of us for, ACCESS
 * EXCLUSIVE, the one mode that conflicts with ACCESS SHARE; those on the
 * table first. Only what pg_stat_activity shows of them, never a query.
 */
static void pgc_lock_blame(struct pgsess *s, const char *table, const char *sqlname, double waited,
                           struct tally_err *err)
{
	static const char sql[] =
		"SELECT l.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''),"
		"       coalesce(a.state, ''), l.granted,"
		"       coalesce(floor(extract(epoch FROM pg_catalog.clock_timestamp() - a.xact_start))::bigint, -1)"
		" FROM pg_catalog.pg_locks l"
		" LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid"
		" WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'"
		"   AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()"
		"   AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d"
		"        WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"
		" ORDER BY l.relation OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)::oid DESC,"
		"          l.granted DESC, l.pid LIMIT 3";
	const char *params[1] = { sqlname };
	PGresult *res = pgc_query(s, sql, 1, params);
	struct buf who = BUF_INIT;
	long first = 0;

	for (int i = 0; pgc_rows_ok(res) && i < PQntuples(res); i++) {
		long pid = 0, age = -1;

		pgc_parse_long(PQgetvalue(res, i, 0), &pid);
		pgc_parse_long(PQgetvalue(res, i, 5), &age);
		if (i == 0)
			first = pid;
		buf_addf(&who, "%spid %ld (user '%s', application '%s', %s%s", i ? "; " : "", pid,
		         PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		         PQgetvalue(res, i, 3)[0] ? PQgetvalue(res, i, 3) : "state unknown",
		         strcmp(PQgetvalue(res, i, 4), "t") == 0 ? "" : ", waiting");
		if (age >= 0)
			buf_addf(&who, ", in a transaction for %ld s", age);
		buf_addstr(&who, strcmp(PQgetvalue(res, i, 4), "t") == 0 ? ") holds ACCESS EXCLUSIVE"
		                                                         : ") waits for ACCESS EXCLUSIVE");
	}
	PQclear(res);
	if (first)
		err_set(err, ERR_LOCKED, "[%s pid %ld] cannot lock table '%s' on %s system '%s' within %g s: %s",
		        s->base.side, s->base.backend_pid, table, s->base.side, s->base.system, waited, who.data);
	else
		err_set(err, ERR_LOCKED, "[%s pid %ld] cannot lock table '%s' on %s system '%s' within %g s: "
		        "another session holds a conflicting lock", s->base.side, s->base.backend_pid, table,
		        s->base.side, s->base.system, waited);
	snprintf(err->sqlstate, sizeof(err->sqlstate), "55P03");
	err_hint(err, "tally holds ACCESS SHARE on the tables it compares while it runs, so that no "
	         "TRUNCATE or table rewrite can empty them under its snapshot; let the other session "
	         "finish, or give --lock-timeout more seconds");
	buf_release(&who);
}

/* SQLSTATEs of a LOCK that cannot apply here: describe will say why. */
static bool pgc_lock_skippable(const char *state)
{
	return state && (strcmp(state, "42P01") == 0 ||    /* undefined_table */
	                 strcmp(state, "3F000") == 0 ||    /* invalid_schema_name */
	                 strcmp(state, "42809") == 0 ||    /* wrong_object_type */
	                 strcmp(state, "42501") == 0);     /* insufficient_privilege */
}

int pgc_lock_tables(struct pgsess *s, const struct conn_cfg *cfg, struct tally_err *err)
{
	struct buf sql = BUF_INIT, name = BUF_INIT;
	int rc = 0;

	for (size_t i = 0; i < cfg->nlock && rc == 0; i++) {
		PGresult *res;
		char doing[ERR_MSG_MAX];

		snprintf(doing, sizeof(doing), "locking table '%s'", cfg->lock[i]);
		buf_reset(&name);
		pgc_add_table_name(&name, cfg->lock[i]);
		buf_reset(&sql);
		buf_addf(&sql, "LOCK TABLE %s IN ACCESS SHARE MODE", name.data);
		if (pgc_savepoint(s, doing, err) < 0) {
			rc = -1;
			break;
		}
		if (pgc_command(s, sql.data, &res) == 0) {
			rc = pgc_release_savepoint(s, doing, err);
			continue;
		}
		if (pgc_lock_skippable(pgc_sqlstate(res))) {
			PQclear(res);
			rc = pgc_rollback_savepoint(s, doing, err);
			continue;
		}
		if (pgc_sqlstate(res) && strcmp(pgc_sqlstate(res), "55P03") == 0) {
			PQclear(res);
			rc = pgc_rollback_savepoint(s, doing, err);
			if (rc == 0)
				pgc_lock_blame(s, cfg->lock[i], name.data, (double)s->lock_ms / 1000.0, err);
			rc = -1;
			break;
		}
		rc = pgc_stmt_err(s, res, true, doing, err, "cannot lock table '%s' on %s system '%s'",
		                  cfg->lock[i], s->base.side, s->base.system);
		PQclear(res);
	}
	buf_release(&sql);
	buf_release(&name);
	return rc;
}

/* ---- stamps and the watch (monitor sessions) ------------------------- */

int pgc_table_stamp(struct conn *c, const char *table, char **out, struct tally_err *err)
{
	static const char sql[] =
		"WITH r AS (SELECT pg_catalog.to_regclass($1) AS oid)"
		" SELECT CASE WHEN r.oid IS NULL THEN 'missing' ELSE"
		"  (SELECT pg_catalog.string_agg(x.relid::oid::text OPERATOR(pg_catalog.||) ':'"
		"                                OPERATOR(pg_catalog.||) pg_catalog.pg_relation_filenode(x.relid)::text,"
		"                                ',' ORDER BY x.relid::oid)"
		"     FROM (SELECT r.oid AS relid UNION ALL"
		"           SELECT t.relid FROM pg_catalog.pg_partition_tree(r.oid) t"
		"            WHERE t.isleaf AND t.relid::oid OPERATOR(pg_catalog.<>) r.oid::oid) x"
		"    WHERE pg_catalog.pg_relation_filenode(x.relid) IS NOT NULL) END"
		" FROM r";
	struct pgsess *s = (struct pgsess *)c;
	struct buf name = BUF_INIT;
	const char *params[1];
	PGresult *res;
	char doing[ERR_MSG_MAX];

	*out = NULL;
	if (pgc_check_idle(s, "read a table's storage", err) < 0)
		return -1;
	snprintf(doing, sizeof(doing), "reading the storage of table '%s'", table);
	pgc_add_table_name(&name, table);
	params[0] = name.data;
	res = pgc_query(s, sql, 1, params);
	buf_release(&name);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1) {
		pgc_stmt_err(s, res, !s->monitor, doing, err, "cannot read the storage of table '%s' on %s "
		             "system '%s'", table, s->base.side, s->base.system);
		PQclear(res);
		return -1;
	}
	if (!PQgetisnull(res, 0, 0))
		*out = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* "{1,2,3}", an int[] parameter. */
static void pgc_pid_array(struct buf *out, const long *pids, size_t n)
{
	buf_addch(out, '{');
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s%ld", i ? "," : "", pids[i]);
	buf_addch(out, '}');
}

static void pgc_copy_field(char *dst, size_t cap, const PGresult *res, int row, int col)
{
	snprintf(dst, cap, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

int pgc_watch(struct conn *c, const long *pids, size_t npids, const char *const *tables, size_t ntables,
              struct conn_watch *out, struct tally_err *err)
{
	/* %s: when the wait began, pg_locks.waitstart from PostgreSQL 14 on. */
#define PGC_WAITERS_SQL(since)                                                                     \
	"WITH w AS MATERIALIZED (SELECT l.pid, l.mode, l.locktype, l.relation, l.database, " since      \
	"  AS since FROM pg_catalog.pg_locks l"                                                        \
	"  WHERE NOT l.granted AND l.pid OPERATOR(pg_catalog.<>) ALL ($1::int[]))"                     \
	" SELECT w.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''),"              \
	"   coalesce(a.state, ''), w.mode OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||)"      \
	"   CASE WHEN w.locktype = 'relation' AND w.database OPERATOR(pg_catalog.=) d.oid"             \
	"        THEN w.relation::regclass::text"                                                      \
	"        WHEN w.locktype = 'relation' THEN 'relation ' OPERATOR(pg_catalog.||) w.relation::text" \
	"        ELSE w.locktype END,"                                                                 \
	"   coalesce(extract(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) w.since), -1)" \
	" FROM w CROSS JOIN (SELECT oid FROM pg_catalog.pg_database"                                   \
	"   WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) d"                     \
	" LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) w.pid"              \
	" WHERE pg_catalog.pg_blocking_pids(w.pid) OPERATOR(pg_catalog.&&) $1::int[]"                  \
	" ORDER BY w.pid LIMIT 4"
	static const char waiters14_sql[] = PGC_WAITERS_SQL("l.waitstart");
	static const char waiters12_sql[] = PGC_WAITERS_SQL("NULL::timestamptz");
#undef PGC_WAITERS_SQL
	static const char ages_sql[] =
		"SELECT coalesce(extract(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-)"
		"                        pg_catalog.min(a.xact_start)), -1),"
		"       coalesce(pg_catalog.max(pg_catalog.age(a.backend_xmin)), -1)"
		" FROM pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) ANY ($1::int[])";
	struct pgsess *s = (struct pgsess *)c;
	struct buf arr = BUF_INIT;
	const char *params[1];
	PGresult *res;
	int rc = 0;

	(void)tables;
	(void)ntables;
	memset(out, 0, sizeof(*out));
	out->snapshot_age = -1;
	out->xmin_age = -1;
	if (pgc_check_idle(s, "watch the server", err) < 0)
		return -1;
	pgc_pid_array(&arr, pids, npids);
	params[0] = arr.data;
	res = pgc_query(s, PQserverVersion(s->pg) >= 140000 ? waiters14_sql : waiters12_sql, 1, params);
	if (!pgc_rows_ok(res)) {
		rc = pgc_stmt_err(s, res, !s->monitor, "watching for lock waits", err,
		                  "cannot read the lock waits on %s system '%s'", s->base.side, s->base.system);
		goto out;
	}
	for (int i = 0; i < PQntuples(res) && out->nwaiters < CONN_WAITERS_MAX; i++) {
		struct conn_waiter *w = &out->waiters[out->nwaiters++];

		if (!pgc_parse_long(PQgetvalue(res, i, 0), &w->pid))
			w->pid = 0;
		pgc_copy_field(w->user, sizeof(w->user), res, i, 1);
		pgc_copy_field(w->application, sizeof(w->application), res, i, 2);
		pgc_copy_field(w->state, sizeof(w->state), res, i, 3);
		pgc_copy_field(w->what, sizeof(w->what), res, i, 4);
		w->seconds = strtod(PQgetvalue(res, i, 5), NULL);
	}
	PQclear(res);
	res = pgc_query(s, ages_sql, 1, params);
	if (!pgc_rows_ok(res) || PQntuples(res) != 1) {
		rc = pgc_stmt_err(s, res, !s->monitor, "watching tally's transactions", err,
		                  "cannot read the age of tally's transactions on %s system '%s'", s->base.side,
		                  s->base.system);
		goto out;
	}
	out->snapshot_age = strtod(PQgetvalue(res, 0, 0), NULL);
	out->xmin_age = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
out:
	PQclear(res);
	buf_release(&arr);
	return rc;
}

int pgc_cancel(struct conn *c, long pid, struct tally_err *err)
{
	static const char sql[] = "SELECT pg_catalog.pg_cancel_backend($1::int)";
	struct pgsess *s = (struct pgsess *)c;
	char num[32];
	const char *params[1] = { num };
	PGresult *res;
	int rc = 0;

	if (pgc_check_idle(s, "cancel a statement", err) < 0)
		return -1;
	snprintf(num, sizeof(num), "%ld", pid);
	res = pgc_query(s, sql, 1, params);
	if (!pgc_rows_ok(res))
		rc = pgc_stmt_err(s, res, !s->monitor, "cancelling a statement", err,
		                  "cannot cancel the statement of pid %ld on %s system '%s'", pid, s->base.side,
		                  s->base.system);
	PQclear(res);
	return rc;
}

int pgc_keepalive(struct conn *c, struct tally_err *err)
{
	struct pgsess *s = (struct pgsess *)c;
	PGresult *res;
	int rc = 0;

	if (pgc_check_idle(s, "keep the session alive", err) < 0)
		return -1;
	res = pgc_exec(s, "SELECT 1");
	if (!pgc_rows_ok(res))
		rc = pgc_stmt_err(s, res, !s->monitor, "keeping the session alive", err,
		                  "cannot keep the session on %s system '%s' alive", s->base.side,
		                  s->base.system);
	PQclear(res);
	return rc;
}
