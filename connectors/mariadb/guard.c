/*
 * connectors/mariadb/guard.c
 *   SOURCE, MariaDB: what a session does to the server besides reading
 *   rows. The limits a session runs under, the metadata locks a
 *   coordinator session holds on the compared tables, and, for a monitor
 *   session (autocommit), the table stamps and the watch for threads
 *   waiting on tally's metadata locks.
 *
 * What DDL does to a reader. A transaction's statements hold a metadata
 * lock on every table they read until the transaction ends, so a DDL on
 * such a table waits ("Waiting for table metadata lock"), and every later
 * statement on the table waits behind it. A table rebuilt or truncated
 * after a consistent snapshot began, before the transaction first read
 * it, cannot be read in that snapshot: InnoDB refuses with
 * ER_TABLE_DEF_CHANGED rather than show the new version. So within one
 * session's transaction there is no silent wrong read; between sessions
 * (each worker's, a retry's, a resumed run's) the table may have been
 * rebuilt, which InnoDB's table id tells: a rebuild gives the table a
 * new one, an in-place change that does not rebuild (ADD INDEX, an
 * instant ADD COLUMN, RENAME) keeps it. A coordinator session reads
 * every compared table, empty, right after its snapshot starts, so that
 * it holds their metadata locks for the whole run.
 *
 * MariaDB does not say whose lock a thread waits for, nor on which table.
 * The watch counts a thread in the state "Waiting for table metadata
 * lock" as waiting on tally when its statement names a compared table
 * (matched, never shown: the table's name, and its database unless that
 * is the thread's default database), or when METADATA_LOCK_INFO (the
 * metadata_lock_info plugin, where installed) shows it holding a lock on
 * one (an ALTER TABLE holds the upgradable lock while it waits). It needs
 * the PROCESS privilege to see other users' threads.
 */
#include "my_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

/* ---- limits ---------------------------------------------------------- */

static double mdb_num(const char *s)
{
	return s ? strtod(s, NULL) : 0;
}

/* n values of a one-row query, each -1 when the server has not got the variable. */
static int mdb_values(struct mdb_conn *c, const char *sql, double *v, unsigned n, struct tally_err *err)
{
	MYSQL_RES *r;
	MYSQL_ROW row;

	for (unsigned i = 0; i < n; i++)
		v[i] = -1;
	if (mdb_real_query(c, sql, strlen(sql)) != 0) {
		if (mysql_errno(c->my) == ER_UNKNOWN_SYSTEM_VARIABLE)
			return 0;
		return mdb_fail(c, ERR_CONNECT, "reading", "the session's limits", err);
	}
	if (!(r = mysql_store_result(c->my)))
		return mdb_fail(c, ERR_CONNECT, "reading", "the session's limits", err);
	row = mysql_fetch_row(r);
	if (row && mysql_num_fields(r) >= n)
		for (unsigned i = 0; i < n; i++)
			v[i] = mdb_num(row[i]);
	mysql_free_result(r);
	return 0;
}

int mdb_set_limits(struct mdb_conn *c, const struct conn_cfg *cfg, struct tally_err *err)
{
	double v[3], idle[2], mst, lwt, nwt, stmt, need;
	long lock;
	struct buf set = BUF_INIT;
	int rc;

	if (mdb_values(c, "SELECT @@max_statement_time, @@lock_wait_timeout, @@net_write_timeout", v, 3,
	               err) < 0 ||
	    mdb_values(c, "SELECT @@idle_transaction_timeout, @@idle_readonly_transaction_timeout", idle, 2,
	               err) < 0)
		return -1;
	mst = v[0];
	lwt = v[1];
	nwt = v[2];
	stmt = conn_limit(cfg->statement_timeout, cfg->statement_timeout_forced, mst > 0 ? mst : 0);
	buf_addf(&set, "SET SESSION max_statement_time = %.3f", stmt);
	/* 0 means "do not wait" here, a choice of the server's to keep. */
	lock = lwt > 0 ? (long)ceil(conn_limit(cfg->lock_timeout, false, lwt)) : 0;
	if (lock > 0)
		buf_addf(&set, ", lock_wait_timeout = %ld", lock);
	/*
	 * The server gives up on a client that reads no more for
	 * net_write_timeout; tally stops reading a stream while the other
	 * side's page is read or --max-rate holds it back. Within a statement's
	 * own limit, that is not for the server to end.
	 */
	need = stmt > 0 ? ceil(stmt) : 3600;
	if (nwt < need)
		buf_addf(&set, ", net_write_timeout = %.0f", need);
	if (stmt > 0 && idle[0] > 0 && idle[0] < stmt)
		buf_addf(&set, ", idle_transaction_timeout = %.0f", ceil(stmt));
	if (stmt > 0 && idle[1] > 0 && idle[1] < stmt)
		buf_addf(&set, ", idle_readonly_transaction_timeout = %.0f", ceil(stmt));
	rc = mdb_exec(c, set.data, "setting", "the session's limits", err);
	buf_release(&set);
	c->base.statement_timeout = stmt;
	c->base.role_statement_timeout = mst > 0 ? mst : 0;
	c->lock_wait = lock > 0 ? lock : lwt > 0 ? (long)lwt : 0;
	return rc;
}

/* ---- metadata locks at open ------------------------------------------- */

static bool mdb_has_lock_info(struct mdb_conn *c)
{
	static const char sql[] = "SELECT COUNT(*) FROM information_schema.PLUGINS"
	                          " WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'";
	MYSQL_RES *r;
	MYSQL_ROW row;

	if (c->lock_info >= 0)
		return c->lock_info == 1;
	c->lock_info = 0;
	if (mdb_real_query(c, sql, sizeof(sql) - 1) == 0 && (r = mysql_store_result(c->my))) {
		row = mysql_fetch_row(r);
		c->lock_info = row && row[0] && strcmp(row[0], "0") != 0;
		mysql_free_result(r);
	}
	return c->lock_info == 1;
}

/* Who holds a metadata lock on db.name, as far as the server tells: into who, "" when it cannot. */
static void mdb_lock_holders(struct mdb_conn *c, const char *table, const char *db, const char *name,
                             struct buf *who)
{
	struct buf sql = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	bool info = mdb_has_lock_info(c);
	int n = 0;

	if (info) {
		buf_addstr(&sql, "SELECT m.THREAD_ID, COALESCE(p.USER, ''), COALESCE(p.STATE, ''), "
		           "COALESCE(p.TIME, -1), m.LOCK_MODE, NULL FROM information_schema.METADATA_LOCK_INFO m "
		           "LEFT JOIN information_schema.PROCESSLIST p ON p.ID = m.THREAD_ID "
		           "WHERE m.THREAD_ID <> CONNECTION_ID() AND m.TABLE_SCHEMA = ");
		mdb_add_hexstr(&sql, db);
		buf_addstr(&sql, " AND m.TABLE_NAME = ");
		mdb_add_hexstr(&sql, name);
		buf_addstr(&sql, " LIMIT 3");
	} else {
		buf_addstr(&sql, "SELECT ID, USER, COALESCE(STATE, ''), TIME, NULL, INFO FROM "
		           "information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'");
	}
	if (mdb_real_query(c, sql.data, sql.len) == 0 && (r = mysql_store_result(c->my))) {
		while ((row = mysql_fetch_row(r)) && n < 3) {
			if (!info && !conn_sql_mentions(row[5], table))
				continue;
			buf_addf(who, "%sthread %s (user '%s', %s, for %s s)%s%s", n++ ? "; " : "", row[0],
			         row[1] ? row[1] : "", row[2] && row[2][0] ? row[2] : "no state", row[3] ? row[3] : "?",
			         info ? " holds " : "", info && row[4] ? row[4] : "");
		}
		mysql_free_result(r);
	}
	buf_release(&sql);
}

static int mdb_lock_fail(struct mdb_conn *c, const char *table, const char *db, const char *name,
                         struct tally_err *err)
{
	struct buf who = BUF_INIT;

	mdb_lock_holders(c, table, db, name, &who);
	err_set(err, ERR_LOCKED, "[%s pid %ld] cannot take a metadata lock on table '%s.%s' on %s system '%s' "
	        "within %ld s: %s", c->base.side, c->base.backend_pid, db, name, c->base.side, c->base.system,
	        c->lock_wait, who.len ? who.data : "another session holds a conflicting one");
	err_detail(err, "%s", mysql_error(c->my));
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", mysql_sqlstate(c->my));
	err_hint(err, "tally holds a metadata lock on the tables it compares while it runs; let the other "
	         "session finish, or give --lock-timeout more seconds%s",
	         who.len || mdb_has_lock_info(c) ? ""
	         : " (the metadata_lock_info plugin would let tally name the session)");
	buf_release(&who);
	return -1;
}

int mdb_lock_tables(struct mdb_conn *c, const struct conn_cfg *cfg, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	int rc = 0;

	for (size_t i = 0; i < cfg->nlock && rc == 0; i++) {
		char *db, *name;
		unsigned int e;

		mdb_split_table(c, cfg->lock[i], &db, &name);
		buf_reset(&sql);
		buf_addstr(&sql, "SELECT 1 FROM ");
		mdb_quote_ident(&sql, db);
		buf_addch(&sql, '.');
		mdb_quote_ident(&sql, name);
		buf_addstr(&sql, " LIMIT 0");
		if (mdb_real_query(c, sql.data, sql.len) == 0) {
			MYSQL_RES *r = mysql_store_result(c->my);

			if (r)
				mysql_free_result(r);
		} else if ((e = mysql_errno(c->my)) == ER_LOCK_WAIT_TIMEOUT) {
			rc = mdb_lock_fail(c, cfg->lock[i], db, name, err);
		} else if (e != ER_NO_SUCH_TABLE && e != ER_BAD_DB_ERROR && e != ER_TABLEACCESS_DENIED_ERROR &&
		           e != ER_DBACCESS_DENIED_ERROR) {
			rc = mdb_fail(c, ERR_CONNECT, "locking", cfg->lock[i], err);
		}
		free(db);
		free(name);
	}
	buf_release(&sql);
	return rc;
}

/* ---- stamps and the watch (monitor sessions) ---------------------------- */

int mdb_table_stamp(struct conn *base, const char *table, char **out, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	struct buf sql = BUF_INIT, path = BUF_INIT, parts = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	char *db, *name;
	int rc = 0;

	*out = NULL;
	if (mdb_usable(c, err) < 0)
		return -1;
	mdb_split_table(c, table, &db, &name);
	/* InnoDB names a table db/name, and a partition db/name#P#part. */
	buf_addf(&path, "%s/%s", db, name);
	buf_addf(&parts, "%s/%s#P#", db, name);
	buf_addstr(&sql, "SELECT (SELECT GROUP_CONCAT(TABLE_ID ORDER BY TABLE_ID) FROM "
	           "information_schema.INNODB_SYS_TABLES WHERE NAME = ");
	mdb_add_hexstr(&sql, path.data);
	buf_addstr(&sql, " OR LEFT(NAME, CHAR_LENGTH(");
	mdb_add_hexstr(&sql, parts.data);
	buf_addstr(&sql, ")) = ");
	mdb_add_hexstr(&sql, parts.data);
	buf_addstr(&sql, "), (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ");
	mdb_add_hexstr(&sql, db);
	buf_addstr(&sql, " AND TABLE_NAME = ");
	mdb_add_hexstr(&sql, name);
	buf_addch(&sql, ')');
	if (mdb_real_query(c, sql.data, sql.len) != 0 || !(r = mysql_store_result(c->my))) {
		/* Without PROCESS, INNODB_SYS_TABLES is closed: no stamp, no check. */
		if (mysql_errno(c->my) != ER_SPECIFIC_ACCESS_DENIED_ERROR)
			rc = mdb_fail(c, ERR_QUERY, "reading the storage of", table, err);
		goto out;
	}
	row = mysql_fetch_row(r);
	if (row && row[0])
		*out = xasprintf("table_id %s", row[0]);
	else if (row && row[1] && strcmp(row[1], "0") == 0)
		*out = xstrdup("missing");
	mysql_free_result(r);
out:
	buf_release(&sql);
	buf_release(&path);
	buf_release(&parts);
	free(db);
	free(name);
	return rc;
}

static bool mdb_is_ours(const long *pids, size_t npids, long id)
{
	for (size_t i = 0; i < npids; i++)
		if (pids[i] == id)
			return true;
	return false;
}

/* With METADATA_LOCK_INFO: the compared table thread holds a lock on, or -1. */
static long mdb_held_table(struct mdb_conn *c, const char *thread, const char *const *tables,
                           size_t ntables)
{
	struct buf sql = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	long found = -1;

	if (!mdb_has_lock_info(c))
		return -1;
	buf_addf(&sql, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.METADATA_LOCK_INFO "
	         "WHERE LOCK_TYPE = 'Table metadata lock' AND THREAD_ID = %ld", strtol(thread, NULL, 10));
	if (mdb_real_query(c, sql.data, sql.len) == 0 && (r = mysql_store_result(c->my))) {
		while (found < 0 && (row = mysql_fetch_row(r)))
			for (size_t t = 0; t < ntables && found < 0; t++) {
				char *db, *name;

				mdb_split_table(c, tables[t], &db, &name);
				if (row[0] && row[1] && strcmp(row[0], db) == 0 && strcmp(row[1], name) == 0)
					found = (long)t;
				free(db);
				free(name);
			}
		mysql_free_result(r);
	}
	buf_release(&sql);
	return found;
}

/*
 * Does a statement run with default database db name table? Its name, and
 * either its database is the default or the statement names that too.
 */
static bool mdb_names_table(struct mdb_conn *c, const char *sql, const char *db, const char *table)
{
	char *tdb, *name;
	bool yes;

	if (!conn_sql_mentions(sql, table))
		return false;
	mdb_split_table(c, table, &tdb, &name);
	yes = (db && strcmp(db, tdb) == 0) || conn_sql_mentions(sql, tdb);
	free(tdb);
	free(name);
	return yes;
}

static int mdb_waiters(struct mdb_conn *c, const long *pids, size_t npids, const char *const *tables,
                       size_t ntables, struct conn_watch *out, struct tally_err *err)
{
	static const char sql[] =
		"SELECT ID, COALESCE(USER, ''), COALESCE(STATE, ''), TIME_MS, INFO, DB FROM "
		"information_schema.PROCESSLIST WHERE STATE = 'Waiting for table metadata lock' "
		"AND ID <> CONNECTION_ID() ORDER BY ID";
	MYSQL_RES *r;
	MYSQL_ROW row;

	if (mdb_real_query(c, sql, sizeof(sql) - 1) != 0 || !(r = mysql_store_result(c->my)))
		return mdb_fail(c, ERR_QUERY, "watching", "the threads waiting for a lock", err);
	while ((row = mysql_fetch_row(r)) && out->nwaiters < CONN_WAITERS_MAX) {
		long id = strtol(row[0], NULL, 10), t = -1;
		struct conn_waiter *w;
		char *db, *name;

		if (mdb_is_ours(pids, npids, id))
			continue;
		for (size_t i = 0; i < ntables && t < 0; i++)
			if (mdb_names_table(c, row[4], row[5], tables[i]))
				t = (long)i;
		if (t < 0)
			t = mdb_held_table(c, row[0], tables, ntables);
		if (t < 0)
			continue;
		w = &out->waiters[out->nwaiters++];
		w->pid = id;
		snprintf(w->user, sizeof(w->user), "%s", row[1]);
		snprintf(w->state, sizeof(w->state), "%s", row[2]);
		mdb_split_table(c, tables[t], &db, &name);
		snprintf(w->what, sizeof(w->what), "a metadata lock on %s.%s", db, name);
		free(db);
		free(name);
		w->seconds = row[3] ? strtod(row[3], NULL) / 1000.0 : -1;
	}
	mysql_free_result(r);
	return 0;
}

int mdb_watch(struct conn *base, const long *pids, size_t npids, const char *const *tables, size_t ntables,
              struct conn_watch *out, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	struct buf sql = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;

	memset(out, 0, sizeof(*out));
	out->snapshot_age = -1;
	out->xmin_age = -1;
	if (mdb_usable(c, err) < 0 || mdb_waiters(c, pids, npids, tables, ntables, out, err) < 0)
		return -1;
	if (npids == 0)
		return 0;
	buf_addstr(&sql, "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(trx_started), NOW(6)) FROM "
	           "information_schema.INNODB_TRX WHERE trx_mysql_thread_id IN (");
	for (size_t i = 0; i < npids; i++)
		buf_addf(&sql, "%s%ld", i ? ", " : "", pids[i]);
	buf_addch(&sql, ')');
	/* Without PROCESS the age is unknown; the watch goes on. */
	if (mdb_real_query(c, sql.data, sql.len) == 0 && (r = mysql_store_result(c->my))) {
		row = mysql_fetch_row(r);
		if (row && row[0])
			out->snapshot_age = strtod(row[0], NULL) / 1e6;
		mysql_free_result(r);
	} else if (mysql_errno(c->my) != ER_SPECIFIC_ACCESS_DENIED_ERROR) {
		buf_release(&sql);
		return mdb_fail(c, ERR_QUERY, "watching", "the age of tally's transactions", err);
	}
	buf_release(&sql);
	return 0;
}

int mdb_cancel(struct conn *base, long pid, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	char sql[64];

	if (mdb_usable(c, err) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "KILL QUERY %ld", pid);
	if (mdb_real_query(c, sql, strlen(sql)) != 0 && mysql_errno(c->my) != ER_NO_SUCH_THREAD)
		return mdb_fail(c, ERR_QUERY, "cancelling", "a statement of tally's", err);
	return 0;
}

int mdb_keepalive(struct conn *base, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);

	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s' while keeping it alive",
		               c->base.side, c->base.system);
	return mdb_exec(c, "SELECT 1", "keeping alive", "the session", err);
}
