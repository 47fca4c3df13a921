/*
 * connectors/mariadb/session.c
 *   SOURCE, MariaDB: the session under every other file of the driver.
 *   Opens a MYSQL handle and its read-only REPEATABLE READ transaction
 *   (WITH CONSISTENT SNAPSHOT), turns the server's errors into tally's,
 *   holds the small SQL helpers the other files write statements with,
 *   and reports the snapshot's position and the server's load.
 *
 * A session is one MYSQL handle with one transaction, started at open and
 * rolled back at close: every describe and scan reads the same snapshot.
 * Sessions cannot share a snapshot (MariaDB has no way to import one):
 * parallel sessions each read their own, taken when they open. A monitor
 * session (cfg->monitor) has no transaction. Limits and the metadata
 * locks a coordinator session takes at open are guard.c's.
 *
 * Names from the spec never enter SQL as quoted strings: catalog lookups
 * write them as hex literals (_utf8mb4 X'...'), safe whatever the sql_mode,
 * and identifiers are quoted with mdb_quote_ident. The session never
 * enables CLIENT_MULTI_STATEMENTS, so a where clause cannot add a statement.
 */
#include "my_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <errmsg.h>
#include <mysqld_error.h>

#define MDB_DEFAULT_CONNECT_TIMEOUT 10

static pthread_once_t mdb_lib_once = PTHREAD_ONCE_INIT;
static int mdb_lib_status;

/* mysql_init() initializes the library on first use, which is not thread-safe. */
static void mdb_lib_init(void)
{
	mdb_lib_status = mysql_library_init(0, NULL, NULL);
}
/* ---- errors --------------------------------------------------------------- */

/* Errors after which the session is gone: the socket or the server thread. */
static bool mdb_errno_lost(unsigned int e)
{
	switch (e) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_NET_PACKET_TOO_LARGE:
	case CR_MALFORMED_PACKET:
	case CR_SSL_CONNECTION_ERROR:
	case CR_ERR_NET_READ:
	case CR_ERR_NET_WRITE:
	case CR_ERR_NET_UNCOMPRESS:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case ER_ABORTING_CONNECTION:
	case ER_NEW_ABORTING_CONNECTION:
	case ER_NET_PACKETS_OUT_OF_ORDER:
	case ER_NET_READ_ERROR:
	case ER_NET_READ_INTERRUPTED:
	case ER_NET_ERROR_ON_WRITE:
	case ER_NET_WRITE_INTERRUPTED:
		return true;
	default:
		return false;
	}
}

/* Errors that roll the transaction back: the snapshot is gone. */
static bool mdb_errno_ends_trx(unsigned int e)
{
	return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT;
}

void mdb_set_failed(struct mdb_conn *c, enum err_kind kind)
{
	if (!c->base.failed) {
		c->base.failed = true;
		c->failed_kind = kind;
	}
}

/* Branches on the server's error number: see my_int.h. */
int mdb_fail(struct mdb_conn *c, enum err_kind kind, const char *doing, const char *what,
             struct tally_err *err)
{
	unsigned int e = mysql_errno(c->my);
	const char *side = c->base.side, *sys = c->base.system;

	if (mdb_errno_lost(e)) {
		err_set(err, ERR_LOST, "[%s pid %ld] lost connection to %s system '%s' while %s %s",
		        side, c->base.backend_pid, side, sys, doing, what);
		mdb_set_failed(c, ERR_LOST);
	} else {
		if (e == ER_STATEMENT_TIMEOUT)
			kind = ERR_TIMEOUT;
		else if (e == ER_LOCK_WAIT_TIMEOUT)
			kind = ERR_LOCKED;
		err_set(err, kind, "[%s pid %ld] query failed on %s system '%s' while %s %s",
		        side, c->base.backend_pid, side, sys, doing, what);
		if (mdb_errno_ends_trx(e))
			mdb_set_failed(c, kind);
	}
	err_detail(err, "%s", e ? mysql_error(c->my) : "the server returned no result set");
	if (e == ER_TABLE_DEF_CHANGED)
		err_hint(err, "the table was rebuilt or truncated (ALTER TABLE, OPTIMIZE, TRUNCATE) after "
		         "this session's snapshot began; InnoDB refuses to read it in that snapshot");
	else if (e == ER_STATEMENT_TIMEOUT)
		err_hint(err, "the statement ran past max_statement_time (%g s in this session); "
		         "--statement-timeout sets tally's limit", c->base.statement_timeout);
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", e ? mysql_sqlstate(c->my) : "");
	return -1;
}

/* Sticky failure: after a fatal error every call fails at once. */
int mdb_usable(struct mdb_conn *c, struct tally_err *err)
{
	if (!c->base.failed)
		return 0;
	return err_set(err, c->failed_kind,
	               "[%s pid %ld] session to %s system '%s' is unusable after an earlier error",
	               c->base.side, c->base.backend_pid, c->base.side, c->base.system);
}

/* ---- small SQL helpers ----------------------------------------------------- */

void mdb_quote_ident(struct buf *out, const char *name)
{
	buf_addch(out, '`');
	for (const char *p = name; *p; p++) {
		if (*p == '`')
			buf_addch(out, '`');
		buf_addch(out, *p);
	}
	buf_addch(out, '`');
}

/* A string constant that no sql_mode can misread: _utf8mb4 X'6f72...' */
void mdb_add_hexstr(struct buf *out, const char *s)
{
	buf_addstr(out, "_utf8mb4 X'");
	buf_addhex(out, s, strlen(s));
	buf_addch(out, '\'');
}

/* `col` = the name, exactly; the plain comparison lets the server look the table up. */
void mdb_add_name_match(struct buf *out, const char *col, const char *name)
{
	buf_addf(out, "%s = ", col);
	mdb_add_hexstr(out, name);
	buf_addf(out, " AND BINARY %s = ", col);
	mdb_add_hexstr(out, name);
}

int mdb_real_query(struct mdb_conn *c, const char *sql, unsigned long len)
{
	c->base.io.queries++;
	return mysql_real_query(c->my, sql, len);
}

/* Runs a statement that returns no rows (or whose rows are ignored). */
int mdb_exec(struct mdb_conn *c, const char *sql, const char *doing, const char *what,
             struct tally_err *err)
{
	if (mdb_real_query(c, sql, strlen(sql)) != 0)
		return mdb_fail(c, ERR_QUERY, doing, what, err);
	if (mysql_field_count(c->my) > 0) {
		MYSQL_RES *r = mysql_store_result(c->my);

		if (!r)
			return mdb_fail(c, ERR_QUERY, doing, what, err);
		mysql_free_result(r);
	}
	return 0;
}

/* Runs a small catalog query and keeps its result (never for data). */
int mdb_catalog(struct mdb_conn *c, const struct buf *sql, MYSQL_RES **res, const char *doing,
                const char *what, struct tally_err *err)
{
	*res = NULL;
	if (mdb_real_query(c, sql->data, sql->len) != 0)
		return mdb_fail(c, ERR_QUERY, doing, what, err);
	*res = mysql_store_result(c->my);
	if (!*res)
		return mdb_fail(c, ERR_QUERY, doing, what, err);
	return 0;
}

/* The query without trailing white space and semicolons, which a subquery refuses. */
static size_t query_len(const char *q)
{
	size_t n = strlen(q);

	while (n > 0 && (isspace((unsigned char)q[n - 1]) || q[n - 1] == ';'))
		n--;
	return n;
}

/* FROM (query) AS tally_q; the newlines keep a trailing -- comment inside. */
void mdb_add_subquery(struct buf *sql, const char *q)
{
	buf_addstr(sql, "(\n");
	buf_add(sql, q, query_len(q));
	buf_addstr(sql, "\n) AS tally_q");
}

/* What a scan reads: the table, or the query as a subquery. */
void mdb_add_from(struct buf *sql, const struct tabdesc *d, const char *query)
{
	if (d->is_query)
		mdb_add_subquery(sql, query);
	else
		buf_addstr(sql, d->sqlname);
}

/* Parses a catalog number; `dflt` when NULL or not a number. */
long mdb_num_or(const char *s, long dflt)
{
	char *end;
	long v;

	if (!s || !*s)
		return dflt;
	v = strtol(s, &end, 10);
	return *end == '\0' ? v : dflt;
}

/* The database and table a spec's table name means; both owned. */
void mdb_split_table(struct mdb_conn *c, const char *table, char **db, char **name)
{
	const char *dot = strchr(table, '.');

	*db = dot ? xstrndup(table, (size_t)(dot - table)) : xstrdup(c->db);
	*name = xstrdup(dot ? dot + 1 : table);
}

/* ---- open / close ------------------------------------------------------------ */

/* Is `word` one of the comma-separated tokens of list? */
static bool has_token(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && memcmp(p, word, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* "10.11.6-MariaDB-0+deb12u1" -> "MariaDB 10.11.6" */
static char *server_version(const char *info)
{
	size_t n;

	if (!info)
		return xstrdup("MariaDB ?");
	if (strncmp(info, "5.5.5-", 6) == 0)
		info += 6;
	n = strspn(info, "0123456789.");
	return xasprintf("%s %.*s", strstr(info, "MariaDB") ? "MariaDB" : "MySQL", (int)n, info);
}

/* The session settings; the transaction starts last, once they are in place. */
static const char *const mdb_session_sql[] = {
	"SET time_zone='+00:00'",
	"SET SESSION sql_quote_show_create=1",      /* fk_rules_from_ddl finds quoted names */
	"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
};

/*
 * Where the snapshot stands in the server's history, read right after it
 * starts: "gtid <gtid_binlog_pos>" with binary logging on, else
 * "gtid <gtid_current_pos>" (what a replica has applied), else "binlog
 * off", or "gtid none" when the binary log is on but has logged nothing.
 * MariaDB keeps no GTID of a snapshot (only Binlog_snapshot_file and
 * _position): a commit between the snapshot and this read makes the
 * position a little late. Global variables need no privilege.
 */
static int read_position(struct mdb_conn *c, struct tally_err *err)
{
	static const char sql[] = "SELECT @@GLOBAL.log_bin, @@GLOBAL.gtid_binlog_pos, "
	                          "@@GLOBAL.gtid_current_pos";
	MYSQL_RES *r;
	MYSQL_ROW row;
	bool log_bin;

	if (mdb_real_query(c, sql, sizeof(sql) - 1) != 0 || !(r = mysql_store_result(c->my)))
		return mdb_fail(c, ERR_CONNECT, "starting", "the read-only snapshot", err);
	row = mysql_fetch_row(r);
	log_bin = row && row[0] && strcmp(row[0], "1") == 0;
	if (log_bin && row[1] && row[1][0])
		c->position = xasprintf("gtid %s", row[1]);
	else if (row && row[2] && row[2][0])
		c->position = xasprintf("gtid %s", row[2]);
	else
		c->position = xstrdup(log_bin ? "gtid none" : "binlog off");
	mysql_free_result(r);
	return 0;
}

static int mdb_session(struct mdb_conn *c, const struct conn_cfg *cfg, struct tally_err *err)
{
	static const char *const doing = "starting", *const what = "the read-only snapshot";
	static const char get_mode[] = "SELECT @@SESSION.sql_mode";
	MYSQL_RES *r;
	MYSQL_ROW row;
	bool pad_char = false;

	for (size_t i = 0; i < sizeof(mdb_session_sql) / sizeof(mdb_session_sql[0]); i++)
		if (mdb_exec(c, mdb_session_sql[i], doing, what, err) < 0)
			return -1;

	if (mdb_real_query(c, get_mode, sizeof(get_mode) - 1) != 0 ||
	    !(r = mysql_store_result(c->my)))
		return mdb_fail(c, ERR_CONNECT, doing, what, err);
	row = mysql_fetch_row(r);
	if (row && row[0]) {
		c->no_backslash_escapes = has_token(row[0], "NO_BACKSLASH_ESCAPES");
		pad_char = has_token(row[0], "PAD_CHAR_TO_FULL_LENGTH");
	}
	mysql_free_result(r);
	/* char(n) must come back stripped, as connector.h promises. */
	if (pad_char && mdb_exec(c, "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE("
	                         "CONCAT(',', @@SESSION.sql_mode, ','), "
	                         "',PAD_CHAR_TO_FULL_LENGTH,', ','))", doing, what, err) < 0)
		return -1;

	if (mdb_set_limits(c, cfg, err) < 0)
		return -1;
	if (cfg->monitor) {
		c->monitor = true;
		return 0;
	}
	if (mdb_exec(c, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", doing, what, err) < 0 ||
	    read_position(c, err) < 0)
		return -1;
	return cfg->nlock > 0 ? mdb_lock_tables(c, cfg, err) : 0;
}

int mdb_open(struct conn **out, const struct conn_cfg *cfg, struct tally_err *err)
{
	struct mdb_dsn d;
	struct mdb_conn *c;
	MYSQL *my;
	unsigned int timeout, local_infile = 0, protocol = MYSQL_PROTOCOL_SOCKET;
	unsigned long max_packet = 1024UL * 1024 * 1024;
	my_bool reconnect = 0;
	const char *host;

	*out = NULL;
	/*
	 * MariaDB cannot share a snapshot between sessions (export_txsnap is
	 * NULL): a caller that asks for one would believe its sessions read the
	 * same data when they do not.
	 */
	if (cfg->txsnap)
		return err_set(err, ERR_INTERNAL, "cannot open %s system '%s' on a shared snapshot: "
		               "MariaDB sessions cannot share one",
		               cfg->side ? cfg->side : "?", cfg->system ? cfg->system : "?");
	if (mdb_dsn_parse(&d, cfg, err) < 0) {
		mdb_dsn_release(&d);
		return -1;
	}
	pthread_once(&mdb_lib_once, mdb_lib_init);
	if (mdb_lib_status != 0) {
		mdb_dsn_release(&d);
		return err_set(err, ERR_INTERNAL, "cannot initialize the MariaDB client library");
	}
	my = mysql_init(NULL);
	if (!my) {
		mdb_dsn_release(&d);
		return err_set(err, ERR_INTERNAL, "cannot allocate a MariaDB connection handle");
	}

	timeout = (unsigned int)(d.connect_timeout > 0 ? d.connect_timeout
	                         : cfg->connect_timeout > 0 ? cfg->connect_timeout
	                         : MDB_DEFAULT_CONNECT_TIMEOUT);
	mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	/* A silent reconnect would leave the snapshot behind. */
	mysql_options(my, MYSQL_OPT_RECONNECT, &reconnect);
	mysql_options(my, MYSQL_OPT_LOCAL_INFILE, &local_infile);
	mysql_options(my, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
	host = d.host;
	if (d.socket) {
		/* libmariadb takes the socket only for host "localhost". */
		host = "localhost";
		mysql_options(my, MYSQL_OPT_PROTOCOL, &protocol);
	}

	if (!mysql_real_connect(my, host, d.user, d.password, d.db, d.port, d.socket, 0)) {
		err_set(err, ERR_CONNECT, "cannot connect to %s system '%s' (%s)",
		        cfg->side ? cfg->side : "?", cfg->system ? cfg->system : "?",
		        cfg->dsn_shown ? cfg->dsn_shown : "?");
		err_detail(err, "%s", mysql_error(my));
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", mysql_sqlstate(my));
		mysql_close(my);
		mdb_dsn_release(&d);
		return -1;
	}

	c = xcalloc(1, sizeof(*c));
	conn_base_init(&c->base, &mariadb_ops, cfg);
	c->my = my;
	c->db = d.db;
	d.db = NULL;
	mdb_dsn_release(&d);
	buf_init(&c->what);
	c->base.backend_pid = (long)mysql_thread_id(my);
	c->base.server_version = server_version(mysql_get_server_info(my));

	c->lock_info = -1;
	if (mdb_session(c, cfg, err) < 0) {
		if (err->kind != ERR_LOCKED)
			err->kind = ERR_CONNECT;
		c->base.failed = true;    /* no ROLLBACK on a session that never started */
		mdb_close(&c->base);
		return -1;
	}
	*out = &c->base;
	return 0;
}

void mdb_close(struct conn *base)
{
	struct mdb_conn *c = mdb(base);

	if (!c)
		return;
	if (c->res && !c->res_done) {
		/*
		 * Freeing an unfinished result would read the rest of it (half a
		 * second per million rows). The session ends anyway: shut the
		 * socket so the read fails at once; the server rolls back when the
		 * connection goes.
		 */
		my_socket fd = mysql_get_socket(c->my);

		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		base->failed = true;
	}
	mdb_scan_close(base);
	if (c->my) {
		if (!base->failed)
			(void)mdb_real_query(c, "ROLLBACK", 8);
		mysql_close(c->my);
	}
	free(c->db);
	free(c->position);
	free(c->val);
	free(c->len);
	buf_release(&c->what);
	conn_base_release(base);
	free(c);
}

/* ---- snapshot position and load ------------------------------------------------- */

/* conn_ops.position: what read_position found when the snapshot started. */
int mdb_position(struct conn *base, char **out, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);

	(void)err;
	*out = xstrdup(c->position ? c->position : "binlog off");
	return 0;
}

/*
 * conn_ops.load: Threads_running, the threads executing a statement right
 * now, less this session's own SHOW. tally's other sessions on the server
 * count while they run a statement (a session streaming a chunk does).
 */
int mdb_load(struct conn *base, long *out, struct tally_err *err)
{
	static const char sql[] = "SHOW GLOBAL STATUS LIKE 'Threads_running'";
	struct mdb_conn *c = mdb(base);
	MYSQL_RES *r;
	MYSQL_ROW row;
	long n;

	*out = 0;
	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s' while reading "
		               "its load", c->base.side, c->base.system);
	if (mdb_real_query(c, sql, sizeof(sql) - 1) != 0 || !(r = mysql_store_result(c->my)))
		return mdb_fail(c, ERR_QUERY, "reading", "the server's load", err);
	row = mysql_fetch_row(r);
	n = row && mysql_num_fields(r) >= 2 ? mdb_num_or(row[1], -1) : -1;
	mysql_free_result(r);
	if (n < 0)
		return err_set(err, ERR_QUERY, "[%s pid %ld] %s system '%s' did not report "
		               "Threads_running", c->base.side, c->base.backend_pid, c->base.side,
		               c->base.system);
	*out = n > 0 ? n - 1 : 0;
	return 0;
}
