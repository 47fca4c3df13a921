/*
 * connectors/mariadb.c
 *   SOURCE -> canon: the MariaDB driver (libmariadb). Opens a read-only
 *   REPEATABLE READ snapshot, describes tables from information_schema and
 *   queries from result metadata, and streams rows as the server sends them
 *   in the text protocol, one row in memory at a time (mysql_use_result),
 *   ordered by the key in the server's own order (the index order), whole
 *   or a range of the key at a time.
 *
 * It also writes values as literals of a column for repair scripts (the
 * statements around them are mariadb_script.c's) and as range bounds,
 * describes what a repair sets off (foreign keys and triggers), cuts a
 * table into chunks of its primary key for parallel scans (see "chunk
 * planning" below), and reports the server's position and load.
 *
 * A session is one MYSQL handle with one transaction, started at open and
 * rolled back at close: every describe and scan reads the same snapshot.
 * Sessions cannot share a snapshot (MariaDB has no way to import one):
 * parallel sessions each read their own, taken when they open. Limits,
 * the metadata locks a coordinator session takes at open, table stamps
 * and the monitor session's watch are mariadb_guard.c's.
 *
 * Names from the spec never enter SQL as quoted strings: catalog lookups
 * write them as hex literals (_utf8mb4 X'...'), safe whatever the sql_mode,
 * and identifiers are quoted with quote_ident. The session never enables
 * CLIENT_MULTI_STATEMENTS, so a where clause cannot add a statement.
 */
#include "connector.h"

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "mariadb_int.h"

#define MDB_DEFAULT_PORT 3306
#define MDB_DEFAULT_CONNECT_TIMEOUT 10
#define MDB_MAX_CONNECT_TIMEOUT 3600
#define MDB_BINARY_CHARSET 63
#define MDB_DSN_FORMAT \
	"mariadb://user[:password]@host[:port]/database[?socket=/path&connect_timeout=N]"

/* What a dsn holds; every string is owned, the password wiped on release. */
struct mdb_dsn {
	char *user;
	char *password;     /* NULL when the dsn has none */
	char *host;         /* "" only with socket */
	char *db;
	char *socket;       /* NULL unless ?socket= */
	unsigned int port;
	int connect_timeout; /* 0 unless ?connect_timeout= */
};

extern const struct conn_ops mariadb_ops;
extern const struct script_ops mariadb_script;     /* mariadb_script.c */

static pthread_once_t mdb_lib_once = PTHREAD_ONCE_INIT;
static int mdb_lib_status;

/* mysql_init() initializes the library on first use, which is not thread-safe. */
static void mdb_lib_init(void)
{
	mdb_lib_status = mysql_library_init(0, NULL, NULL);
}

/* ---- dsn ---------------------------------------------------------------- */

static void mdb_dsn_release(struct mdb_dsn *d)
{
	if (d->password) {
		explicit_bzero(d->password, strlen(d->password));
		free(d->password);
	}
	free(d->user);
	free(d->host);
	free(d->db);
	free(d->socket);
	memset(d, 0, sizeof(*d));
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into a new string; NULL on a bad escape or an encoded NUL. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int a = i + 2 < n ? hexval(s[i + 1]) : -1;
		int b = i + 2 < n ? hexval(s[i + 2]) : -1;

		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			explicit_bzero(out, n + 1);
			free(out);
			return NULL;
		}
		out[o++] = (char)(a * 16 + b);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

/* Parses a decimal number in [lo, hi] from s[0..n); digits only. */
static bool parse_uint(const char *s, size_t n, unsigned long lo, unsigned long hi,
                       unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool host_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '-' || ch == '.' || ch == '_';
}

/*
 * The failure of a dsn: the message quotes dsn_shown only, the detail says
 * what is wrong without quoting any part of the secret dsn (a misplaced
 * password character can make any part of it look like a host or a port).
 */
static int dsn_error(const struct conn_cfg *cfg, struct tally_err *err, const char *why)
{
	err_set(err, ERR_CONNECT, "invalid dsn for %s system '%s' (%s)",
	        cfg->side ? cfg->side : "?", cfg->system ? cfg->system : "?",
	        cfg->dsn_shown ? cfg->dsn_shown : "?");
	err_detail(err, "%s", why);
	return err_hint(err, "expected " MDB_DSN_FORMAT);
}

static int dsn_params(struct mdb_dsn *d, const char *p, const struct conn_cfg *cfg,
                      struct tally_err *err)
{
	bool seen_socket = false, seen_timeout = false;

	if (*p == '\0')
		return dsn_error(cfg, err, "the dsn ends with an empty parameter list after '?'");
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);

		if (!eq)
			return dsn_error(cfg, err, "a parameter has no '=': expected name=value");
		size_t kn = (size_t)(eq - p), vn = n - kn - 1;
		char *v = pct_decode(eq + 1, vn);

		if (!v)
			return dsn_error(cfg, err, "a parameter value holds an invalid percent-escape");
		if (kn == 6 && memcmp(p, "socket", 6) == 0) {
			if (seen_socket) {
				free(v);
				return dsn_error(cfg, err, "the parameter socket is given twice");
			}
			seen_socket = true;
			if (v[0] != '/') {
				free(v);
				return dsn_error(cfg, err, "the parameter socket must be an absolute path");
			}
			d->socket = v;
		} else if (kn == 15 && memcmp(p, "connect_timeout", 15) == 0) {
			unsigned long t;

			if (seen_timeout) {
				free(v);
				return dsn_error(cfg, err, "the parameter connect_timeout is given twice");
			}
			seen_timeout = true;
			bool ok = parse_uint(v, strlen(v), 1, MDB_MAX_CONNECT_TIMEOUT, &t);

			free(v);
			if (!ok)
				return dsn_error(cfg, err, "the parameter connect_timeout must be a number "
				                 "of seconds from 1 to 3600");
			d->connect_timeout = (int)t;
		} else {
			free(v);
			return dsn_error(cfg, err, "unknown parameter: the parameters are socket and "
			                 "connect_timeout");
		}
		if (!amp)
			break;
		p = amp + 1;
		if (*p == '\0')
			return dsn_error(cfg, err, "the dsn ends with '&'");
	}
	return 0;
}

/*
 * mariadb://user[:password]@host[:port]/database[?socket=/path&connect_timeout=N]
 * (or mysql://). user, password, database and parameter values are
 * percent-decoded.
 */
static int dsn_parse(struct mdb_dsn *d, const struct conn_cfg *cfg, struct tally_err *err)
{
	const char *s = cfg->dsn ? cfg->dsn : "";
	const char *p, *auth, *auth_end, *at, *hp, *hp_end, *path, *q;

	memset(d, 0, sizeof(*d));
	d->port = MDB_DEFAULT_PORT;

	for (p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return dsn_error(cfg, err, "the dsn holds a space or a control character "
			                 "(write it percent-encoded)");
	if (strncmp(s, "mariadb://", 10) == 0)
		auth = s + 10;
	else if (strncmp(s, "mysql://", 8) == 0)
		auth = s + 8;
	else
		return dsn_error(cfg, err, "the dsn must start with mariadb:// or mysql://");
	if (strchr(auth, '#'))
		return dsn_error(cfg, err, "the dsn holds a '#' (write it %23)");

	auth_end = auth + strcspn(auth, "/?");
	at = NULL;
	for (p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return dsn_error(cfg, err, "the dsn has no user: expected user[:password]@ before "
		                 "the host");
	if (memchr(auth, '@', (size_t)(at - auth)))
		return dsn_error(cfg, err, "the user or password holds a '@' (write it %40)");
	{
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		const char *uend = colon ? colon : at;

		if (uend == auth)
			return dsn_error(cfg, err, "the dsn has an empty user name");
		d->user = pct_decode(auth, (size_t)(uend - auth));
		if (!d->user)
			goto bad_userinfo;
		if (colon) {
			d->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
			if (!d->password)
				goto bad_userinfo;
		}
	}

	hp = at + 1;
	hp_end = auth_end;
	if (*hp == '[') {
		const char *close = memchr(hp, ']', (size_t)(hp_end - hp));

		if (!close)
			return dsn_error(cfg, err, "the IPv6 address is not closed by ']'");
		if (close == hp + 1)
			return dsn_error(cfg, err, "the IPv6 address between '[' and ']' is empty");
		for (p = hp + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return dsn_error(cfg, err, "the IPv6 address holds a character other "
				                 "than hex digits, ':' and '.'");
		d->host = xstrndup(hp + 1, (size_t)(close - hp - 1));
		p = close + 1;
		if (p < hp_end && *p != ':')
			return dsn_error(cfg, err, "unexpected characters after the IPv6 address");
	} else {
		for (p = hp; p < hp_end && *p != ':'; p++)
			if (!host_char(*p))
				return dsn_error(cfg, err, "the host holds a character not allowed in a "
				                 "host name or address");
		d->host = xstrndup(hp, (size_t)(p - hp));
	}
	if (p < hp_end) {     /* at ':' */
		unsigned long port;

		if (!parse_uint(p + 1, (size_t)(hp_end - p - 1), 1, 65535, &port))
			return dsn_error(cfg, err, "the port is not a number from 1 to 65535");
		d->port = (unsigned int)port;
	}

	if (*auth_end != '/')
		return dsn_error(cfg, err, "the dsn has no database: expected /database after "
		                 "the host");
	path = auth_end + 1;
	q = strchr(path, '?');
	{
		size_t n = q ? (size_t)(q - path) : strlen(path);

		if (n == 0)
			return dsn_error(cfg, err, "the dsn has an empty database name");
		if (memchr(path, '/', n))
			return dsn_error(cfg, err, "the database name holds a '/' (write it %2F)");
		d->db = pct_decode(path, n);
		if (!d->db)
			return dsn_error(cfg, err, "the database name holds an invalid percent-escape");
	}
	if (q && dsn_params(d, q + 1, cfg, err) < 0)
		return -1;
	if (d->host[0] == '\0' && !d->socket)
		return dsn_error(cfg, err, "the dsn has no host (an empty host needs ?socket=)");
	return 0;

bad_userinfo:
	return dsn_error(cfg, err, "the user or password holds an invalid percent-escape "
	                 "(write '%' as %25)");
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

static void mdb_set_failed(struct mdb_conn *c, enum err_kind kind)
{
	if (!c->base.failed) {
		c->base.failed = true;
		c->failed_kind = kind;
	}
}

/* Branches on the server's error number: see mariadb_int.h. */
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
static void add_name_match(struct buf *out, const char *col, const char *name)
{
	buf_addf(out, "%s = ", col);
	mdb_add_hexstr(out, name);
	buf_addf(out, " AND BINARY %s = ", col);
	mdb_add_hexstr(out, name);
}

/* Runs a statement that returns no rows (or whose rows are ignored). */
int mdb_exec(struct mdb_conn *c, const char *sql, const char *doing, const char *what,
             struct tally_err *err)
{
	if (mysql_real_query(c->my, sql, strlen(sql)) != 0)
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
	if (mysql_real_query(c->my, sql->data, sql->len) != 0)
		return mdb_fail(c, ERR_QUERY, doing, what, err);
	*res = mysql_store_result(c->my);
	if (!*res)
		return mdb_fail(c, ERR_QUERY, doing, what, err);
	return 0;
}

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

/* ---- open / close ------------------------------------------------------------ */

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

	if (mysql_real_query(c->my, sql, sizeof(sql) - 1) != 0 || !(r = mysql_store_result(c->my)))
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

	if (mysql_real_query(c->my, get_mode, sizeof(get_mode) - 1) != 0 ||
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

static void mdb_close(struct conn *base);

static int mdb_open(struct conn **out, const struct conn_cfg *cfg, struct tally_err *err)
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
	if (dsn_parse(&d, cfg, err) < 0) {
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

static void mdb_scan_close(struct conn *base);

static void mdb_close(struct conn *base)
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
			(void)mysql_real_query(c->my, "ROLLBACK", 8);
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

/* ---- describe ------------------------------------------------------------------ */

/* Parses a catalog number; `dflt` when NULL or not a number. */
static long num_or(const char *s, long dflt)
{
	char *end;
	long v;

	if (!s || !*s)
		return dflt;
	v = strtol(s, &end, 10);
	return *end == '\0' ? v : dflt;
}

static int clamp_int(long v)
{
	return v < 0 ? 0 : v > INT_MAX ? INT_MAX : (int)v;
}

/*
 * Labels of enum('a','it''s') or set(...): the body between the parentheses,
 * each label single-quoted with '' and backslash escapes, as information_schema
 * prints them.
 */
static void parse_labels(struct coldesc *cd, const char *column_type)
{
	const char *p = strchr(column_type, '(');
	struct buf lab = BUF_INIT;
	size_t cap = 0;

	if (!p)
		return;
	p++;
	while (*p == '\'') {
		buf_reset(&lab);
		for (p++; *p; p++) {
			if (*p == '\'' && p[1] == '\'') {
				buf_addch(&lab, '\'');
				p++;
			} else if (*p == '\'') {
				break;
			} else if (*p == '\\' && p[1]) {
				p++;
				switch (*p) {
				case '0': buf_addch(&lab, '\0'); break;
				case 'n': buf_addch(&lab, '\n'); break;
				case 'r': buf_addch(&lab, '\r'); break;
				case 't': buf_addch(&lab, '\t'); break;
				case 'b': buf_addch(&lab, '\b'); break;
				case 'Z': buf_addch(&lab, '\032'); break;
				default: buf_addch(&lab, *p); break;
				}
			} else {
				buf_addch(&lab, *p);
			}
		}
		if (*p != '\'')
			break;
		cd->labels = xgrow(cd->labels, &cap, cd->nlabels + 1, sizeof(*cd->labels));
		cd->labels[cd->nlabels++] = xstrndup(lab.data, lab.len);
		p++;
		if (*p != ',')
			break;
		p++;
	}
	buf_release(&lab);
}

struct mdb_typemap {
	const char *name;
	enum ltype type;
	int bits;
	bool sized;     /* CHARACTER_MAXIMUM_LENGTH is its length */
	bool fixed;
};

static const struct mdb_typemap mdb_types[] = {
	{ "tinyint", LT_INT, 8, false, false },
	{ "smallint", LT_INT, 16, false, false },
	{ "mediumint", LT_INT, 24, false, false },
	{ "int", LT_INT, 32, false, false },
	{ "integer", LT_INT, 32, false, false },
	{ "bigint", LT_INT, 64, false, false },
	{ "decimal", LT_DECIMAL, 0, false, false },
	{ "numeric", LT_DECIMAL, 0, false, false },
	{ "float", LT_FLOAT, 32, false, false },
	{ "double", LT_FLOAT, 64, false, false },
	{ "double precision", LT_FLOAT, 64, false, false },
	{ "real", LT_FLOAT, 64, false, false },
	{ "char", LT_CHAR, 0, true, true },
	{ "varchar", LT_TEXT, 0, true, false },
	{ "tinytext", LT_TEXT, 0, true, false },
	{ "text", LT_TEXT, 0, true, false },
	{ "mediumtext", LT_TEXT, 0, true, false },
	{ "longtext", LT_TEXT, 0, true, false },
	{ "binary", LT_BYTES, 0, true, true },
	{ "varbinary", LT_BYTES, 0, true, false },
	{ "tinyblob", LT_BYTES, 0, true, false },
	{ "blob", LT_BYTES, 0, true, false },
	{ "mediumblob", LT_BYTES, 0, true, false },
	{ "longblob", LT_BYTES, 0, true, false },
	{ "date", LT_DATE, 0, false, false },
	{ "time", LT_TIME, 0, false, false },
	{ "datetime", LT_TIMESTAMP, 0, false, false },
	{ "timestamp", LT_TIMESTAMPTZ, 0, false, false },
	{ "year", LT_YEAR, 0, false, false },
	{ "enum", LT_ENUM, 0, false, false },
	{ "set", LT_SET, 0, false, false },
	{ "bit", LT_BIT, 0, false, false },
	{ "uuid", LT_UUID, 0, false, false },
	{ "inet4", LT_INET, 0, false, false },
	{ "inet6", LT_INET, 0, false, false },
	{ "json", LT_JSON, 0, false, false },
};

/* EXTRA says the server computes the column ("VIRTUAL GENERATED", "PERSISTENT"...). */
static bool extra_generated(const char *extra)
{
	return extra && (strstr(extra, "VIRTUAL") || strstr(extra, "STORED GENERATED") ||
	                 strstr(extra, "PERSISTENT"));
}

/* Column of information_schema.COLUMNS, in the order the query selects them. */
enum {
	IC_NAME, IC_DATA_TYPE, IC_COLUMN_TYPE, IC_NULLABLE, IC_PRECISION, IC_SCALE,
	IC_DT_PRECISION, IC_MAXLEN, IC_CHARSET, IC_COLLATION, IC_EXTRA, IC_DEFAULT, IC_COUNT
};

static void coldesc_from_catalog(struct coldesc *cd, MYSQL_ROW r)
{
	const char *dt = r[IC_DATA_TYPE] ? r[IC_DATA_TYPE] : "";
	const char *ct = r[IC_COLUMN_TYPE] ? r[IC_COLUMN_TYPE] : dt;
	const struct mdb_typemap *m = NULL;

	memset(cd, 0, sizeof(*cd));
	cd->name = xstrdup(r[IC_NAME] ? r[IC_NAME] : "");
	cd->native = xstrdup(ct);
	cd->type = LT_OTHER;
	for (size_t i = 0; i < sizeof(mdb_types) / sizeof(mdb_types[0]); i++)
		if (strcmp(dt, mdb_types[i].name) == 0)
			m = &mdb_types[i];
	if (m) {
		cd->type = m->type;
		cd->bits = m->bits;
		cd->fixed = m->fixed;
		if (m->sized)
			cd->length = num_or(r[IC_MAXLEN], -1);
	}
	cd->nullable = r[IC_NULLABLE] && strcmp(r[IC_NULLABLE], "YES") == 0;
	cd->generated = extra_generated(r[IC_EXTRA]);
	/*
	 * COLUMN_DEFAULT is the text "NULL" for a nullable column without a
	 * DEFAULT and SQL NULL for none at all; a TIMESTAMP's implicit
	 * CURRENT_TIMESTAMP shows there too. MariaDB has no identity columns.
	 */
	cd->has_default = r[IC_DEFAULT] != NULL || cd->nullable ||
	                  (r[IC_EXTRA] && strstr(r[IC_EXTRA], "auto_increment"));
	switch (cd->type) {
	case LT_INT:
		cd->bool_hint = strcmp(ct, "tinyint(1)") == 0 || strcmp(ct, "tinyint(1) unsigned") == 0;
		/* fall through */
	case LT_DECIMAL:
	case LT_FLOAT:
		cd->is_unsigned = strstr(ct, " unsigned") != NULL;
		if (cd->type == LT_DECIMAL) {
			cd->precision = clamp_int(num_or(r[IC_PRECISION], -1));
			cd->scale = clamp_int(num_or(r[IC_SCALE], -1));
		}
		break;
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
		cd->fsp = clamp_int(num_or(r[IC_DT_PRECISION], 0));
		break;
	case LT_BIT:
		cd->bits = clamp_int(num_or(r[IC_PRECISION], 1));
		break;
	case LT_ENUM:
	case LT_SET:
		parse_labels(cd, ct);
		break;
	default:
		break;
	}
	if (r[IC_CHARSET])
		cd->charset = xstrdup(r[IC_CHARSET]);
	if (r[IC_COLLATION])
		cd->collation = xstrdup(r[IC_COLLATION]);
}

/* Levenshtein distance of two short strings, ASCII case folded; SIZE_MAX when too long. */
static size_t name_distance(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), prev[257], cur[257];

	if (na > 256 || nb > 256)
		return SIZE_MAX;
	for (size_t j = 0; j <= nb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= na; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t sub = prev[j - 1] +
			             (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (nb + 1) * sizeof(size_t));
	}
	return prev[nb];
}

/*
 * The table is missing: suggest the closest existing name (same letters in
 * another case, or at most two edits) from databases named like db.
 */
static int missing_table(struct mdb_conn *c, const char *db, const char *display,
                         struct tally_err *err)
{
	struct buf sql = BUF_INIT, best = BUF_INIT;
	size_t best_dist = 3;
	MYSQL_RES *r;
	MYSQL_ROW row;

	buf_addstr(&sql, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
	           "WHERE LOWER(TABLE_SCHEMA) = LOWER(");
	mdb_add_hexstr(&sql, db);
	buf_addstr(&sql, ") ORDER BY BINARY TABLE_SCHEMA, BINARY TABLE_NAME");
	if (mdb_catalog(c, &sql, &r, "describing", display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		char *cand;
		size_t dist;

		if (!row[0] || !row[1])
			continue;
		cand = xasprintf("%s.%s", row[0], row[1]);
		dist = name_distance(cand, display);
		if (dist < best_dist && strcmp(cand, display) != 0) {
			best_dist = dist;
			buf_reset(&best);
			buf_addstr(&best, cand);
		}
		free(cand);
	}
	mysql_free_result(r);
	buf_release(&sql);

	err_set(err, ERR_SCHEMA, "table '%s' does not exist in %s system '%s'",
	        display, c->base.side, c->base.system);
	if (best.len)
		err_hint(err, "did you mean '%s'?", best.data);
	buf_release(&best);
	return -1;
}

/* Marks the longtext columns that a json_valid(`col`) check constrains as LT_JSON. */
static int mark_json(struct mdb_conn *c, const char *db, const char *name, struct tabdesc *t,
                     struct tally_err *err)
{
	struct buf sql = BUF_INIT, want = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	bool any = false;

	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].native, "longtext") == 0)
			any = true;
	if (!any)
		return 0;
	buf_addstr(&sql, "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE ");
	add_name_match(&sql, "CONSTRAINT_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	add_name_match(&sql, "TABLE_NAME", name);
	if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		for (size_t i = 0; row[0] && i < t->ncols; i++) {
			struct coldesc *cd = &t->cols[i];

			if (cd->type != LT_TEXT || strcmp(cd->native, "longtext") != 0)
				continue;
			/* the server prints the clause in the session's quoting: `` or ANSI "" */
			for (const char *q = "`\""; *q; q++) {
				buf_reset(&want);
				buf_addf(&want, "json_valid(%c", *q);
				for (const char *p = cd->name; *p; p++) {
					if (*p == *q)
						buf_addch(&want, *q);
					buf_addch(&want, *p);
				}
				buf_addf(&want, "%c)", *q);
				if (strcmp(row[0], want.data) == 0)
					cd->type = LT_JSON;
			}
		}
	}
	mysql_free_result(r);
	buf_release(&sql);
	buf_release(&want);
	return 0;
}

static int read_pk(struct mdb_conn *c, const char *db, const char *name, struct tabdesc *t,
                   struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	MYSQL_RES *r;
	MYSQL_ROW row;
	size_t cap = 0;

	buf_addstr(&sql, "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE ");
	add_name_match(&sql, "TABLE_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	add_name_match(&sql, "TABLE_NAME", name);
	buf_addstr(&sql, " AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX");
	if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		long i = row[0] ? tabdesc_find(t, row[0]) : -1;

		if (i < 0)
			continue;
		t->pk = xgrow(t->pk, &cap, t->npk + 1, sizeof(*t->pk));
		t->pk[t->npk++] = (size_t)i;
	}
	mysql_free_result(r);
	buf_release(&sql);
	return 0;
}

/* Column of the foreign key query, in the order it selects them. */
enum {
	FK_NAME, FK_SCHEMA, FK_TABLE, FK_COLUMN, FK_REF_SCHEMA, FK_REF_TABLE, FK_REF_COLUMN,
	FK_DELETE_RULE, FK_UPDATE_RULE, FK_COUNT
};

/* Starts the fkdesc of constraint row[FK_NAME]; `other` names the table at the other end. */
static void fk_start(struct fkdesc *f, MYSQL_ROW row, const char *other_db, const char *other)
{
	struct buf q = BUF_INIT;

	memset(f, 0, sizeof(*f));
	f->name = xstrdup(row[FK_NAME]);
	f->table = xasprintf("%s.%s", other_db, other);
	mdb_quote_ident(&q, other_db);
	buf_addch(&q, '.');
	mdb_quote_ident(&q, other);
	f->sqlname = buf_detach(&q, NULL);
	if (row[FK_DELETE_RULE] && row[FK_UPDATE_RULE]) {
		f->on_delete = xstrdup(row[FK_DELETE_RULE]);
		f->on_update = xstrdup(row[FK_UPDATE_RULE]);
	}
}

/* The referential action at p ("CASCADE", "SET NULL"...), or NULL. */
static const char *fk_action(const char *p)
{
	static const char *const actions[] = {
		"RESTRICT", "CASCADE", "SET NULL", "NO ACTION", "SET DEFAULT",
	};

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strncmp(p, actions[i], strlen(actions[i])) == 0)
			return actions[i];
	return NULL;
}

/*
 * Reads the ON DELETE and ON UPDATE actions of foreign key f, declared on
 * child_db.child, from SHOW CREATE TABLE: information_schema's
 * REFERENTIAL_CONSTRAINTS shows nothing to a user whose grant on the table
 * is a database-level or table-level SELECT, which SHOW CREATE TABLE
 * needs. The constraint's line is found by its quoted name (backticks, or
 * double quotes when the server's sql_mode has ANSI_QUOTES); words inside
 * quoted names are skipped. A missing clause is RESTRICT, as
 * information_schema reports it.
 */
static int fk_rules_from_ddl(struct mdb_conn *c, const char *child_db, const char *child,
                             struct fkdesc *f, const char *what, struct tally_err *err)
{
	struct buf sql = BUF_INIT, want = BUF_INIT;
	const char *del = "RESTRICT", *upd = "RESTRICT", *line = NULL;
	MYSQL_RES *r;
	MYSQL_ROW row;

	buf_addstr(&sql, "SHOW CREATE TABLE ");
	mdb_quote_ident(&sql, child_db);
	buf_addch(&sql, '.');
	mdb_quote_ident(&sql, child);
	if (mdb_catalog(c, &sql, &r, "describing", what, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	row = mysql_fetch_row(r);
	for (const char *q = "`\""; row && mysql_num_fields(r) >= 2 && row[1] && !line && *q; q++) {
		buf_reset(&want);
		buf_addf(&want, "\n  CONSTRAINT %c", *q);
		for (const char *p = f->name; *p; p++) {
			if (*p == *q)
				buf_addch(&want, *q);
			buf_addch(&want, *p);
		}
		buf_addf(&want, "%c FOREIGN KEY ", *q);
		line = strstr(row[1], want.data);
		if (line) {
			char quote = *q;

			for (const char *p = line + want.len; *p && *p != '\n'; p++) {
				if (*p == quote) {       /* skip a quoted name, doubled quotes included */
					for (p++; *p && *p != '\n' && !(*p == quote && p[1] != quote); p++)
						if (*p == quote)
							p++;
					if (*p != quote)
						break;
					continue;
				}
				if (strncmp(p, " ON DELETE ", 11) == 0 && fk_action(p + 11))
					del = fk_action(p + 11);
				else if (strncmp(p, " ON UPDATE ", 11) == 0 && fk_action(p + 11))
					upd = fk_action(p + 11);
			}
		}
	}
	mysql_free_result(r);
	buf_release(&sql);
	buf_release(&want);
	f->on_delete = xstrdup(del);
	f->on_update = xstrdup(upd);
	return 0;
}

/*
 * The table's foreign keys (children false: t->parents, the table is the
 * child) or those that reference it (children true: t->children, a
 * self-reference included): one fkdesc per constraint, its columns in
 * ORDINAL_POSITION order. The rows of one key share (schema, table, name).
 * KEY_COLUMN_USAGE lists them to any user who can read the child table.
 */
static int read_fks(struct mdb_conn *c, const char *db, const char *name, struct tabdesc *t,
                    bool children, struct tally_err *err)
{
	struct buf sql = BUF_INIT, group = BUF_INIT, key = BUF_INIT;
	struct fkdesc **list = children ? &t->children : &t->parents;
	size_t *n = children ? &t->nchildren : &t->nparents;
	size_t cap = 0;
	MYSQL_RES *r;
	MYSQL_ROW row;
	int rc = 0;

	buf_addstr(&sql, "SELECT k.CONSTRAINT_NAME, k.TABLE_SCHEMA, k.TABLE_NAME, k.COLUMN_NAME, "
	           "k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, "
	           "r.DELETE_RULE, r.UPDATE_RULE "
	           "FROM information_schema.KEY_COLUMN_USAGE k "
	           "LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
	           "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
	           "AND BINARY r.CONSTRAINT_SCHEMA = BINARY k.CONSTRAINT_SCHEMA "
	           "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
	           "AND BINARY r.CONSTRAINT_NAME = BINARY k.CONSTRAINT_NAME "
	           "AND r.TABLE_NAME = k.TABLE_NAME AND BINARY r.TABLE_NAME = BINARY k.TABLE_NAME ");
	if (!children) {
		/* constants let the server read this one table's constraints only */
		buf_addstr(&sql, "AND ");
		add_name_match(&sql, "r.CONSTRAINT_SCHEMA", db);
		buf_addstr(&sql, " AND ");
		add_name_match(&sql, "r.TABLE_NAME", name);
	}
	/* children: every table is read, as no catalog index leads from a parent to them */
	buf_addstr(&sql, " WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND ");
	if (children) {
		add_name_match(&sql, "k.REFERENCED_TABLE_SCHEMA", db);
		buf_addstr(&sql, " AND ");
		add_name_match(&sql, "k.REFERENCED_TABLE_NAME", name);
	} else {
		add_name_match(&sql, "k.TABLE_SCHEMA", db);
		buf_addstr(&sql, " AND ");
		add_name_match(&sql, "k.TABLE_NAME", name);
	}
	buf_addstr(&sql, " ORDER BY BINARY k.TABLE_SCHEMA, BINARY k.TABLE_NAME, "
	           "BINARY k.CONSTRAINT_NAME, k.ORDINAL_POSITION");
	if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while (rc == 0 && (row = mysql_fetch_row(r))) {
		struct fkdesc *f;
		bool complete = true;

		for (int i = 0; i < FK_DELETE_RULE; i++)
			complete &= row[i] != NULL;
		if (!complete)
			continue;
		buf_reset(&key);
		buf_add(&key, row[FK_SCHEMA], strlen(row[FK_SCHEMA]) + 1);
		buf_add(&key, row[FK_TABLE], strlen(row[FK_TABLE]) + 1);
		buf_add(&key, row[FK_NAME], strlen(row[FK_NAME]) + 1);
		if (*n == 0 || key.len != group.len || memcmp(key.data, group.data, key.len) != 0) {
			*list = xgrow(*list, &cap, *n + 1, sizeof(**list));
			f = &(*list)[(*n)++];
			if (children)
				fk_start(f, row, row[FK_SCHEMA], row[FK_TABLE]);
			else
				fk_start(f, row, row[FK_REF_SCHEMA], row[FK_REF_TABLE]);
			/* the stored result stays valid while another statement runs */
			if (!f->on_delete)
				rc = fk_rules_from_ddl(c, row[FK_SCHEMA], row[FK_TABLE], f, t->display, err);
			buf_reset(&group);
			buf_add(&group, key.data, key.len);
		}
		f = &(*list)[*n - 1];
		/* a key has a handful of columns */
		f->cols = xrealloc(f->cols, (f->ncols + 1) * sizeof(*f->cols));
		f->refcols = xrealloc(f->refcols, (f->ncols + 1) * sizeof(*f->refcols));
		f->cols[f->ncols] = xstrdup(row[FK_COLUMN]);
		f->refcols[f->ncols] = xstrdup(row[FK_REF_COLUMN]);
		f->ncols++;
	}
	mysql_free_result(r);
	buf_release(&sql);
	buf_release(&group);
	buf_release(&key);
	return rc;
}

/*
 * The table's triggers, by name; MariaDB has one event per trigger and no
 * disabled state. information_schema shows a trigger only to a user with
 * the TRIGGER privilege on its table: for tally's SELECT-only user the list
 * is empty.
 */
static int read_triggers(struct mdb_conn *c, const char *db, const char *name,
                         struct tabdesc *t, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	size_t cap = 0;
	MYSQL_RES *r;
	MYSQL_ROW row;

	buf_addstr(&sql, "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION "
	           "FROM information_schema.TRIGGERS WHERE ");
	add_name_match(&sql, "EVENT_OBJECT_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	add_name_match(&sql, "EVENT_OBJECT_TABLE", name);
	buf_addstr(&sql, " ORDER BY BINARY TRIGGER_NAME");
	if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	while ((row = mysql_fetch_row(r))) {
		struct trigdesc *g;

		if (!row[0] || !row[1] || !row[2])
			continue;
		t->triggers = xgrow(t->triggers, &cap, t->ntriggers + 1, sizeof(*t->triggers));
		g = &t->triggers[t->ntriggers++];
		g->name = xstrdup(row[0]);
		g->timing = xstrdup(row[1]);
		g->events = xstrdup(row[2]);
		g->enabled = true;
	}
	mysql_free_result(r);
	/*
	 * None seen: say whether that means none. information_schema lists, for
	 * the current user, the privileges that would show them.
	 */
	if (t->ntriggers == 0) {
		buf_reset(&sql);
		buf_addstr(&sql, "SELECT (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES g "
		           "WHERE g.PRIVILEGE_TYPE = 'TRIGGER' AND g.GRANTEE = tally_me.me) + "
		           "(SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES g "
		           "WHERE g.PRIVILEGE_TYPE = 'TRIGGER' AND g.GRANTEE = tally_me.me AND ");
		add_name_match(&sql, "g.TABLE_SCHEMA", db);
		buf_addstr(&sql, ") + (SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES g "
		           "WHERE g.PRIVILEGE_TYPE = 'TRIGGER' AND g.GRANTEE = tally_me.me AND ");
		add_name_match(&sql, "g.TABLE_SCHEMA", db);
		buf_addstr(&sql, " AND ");
		add_name_match(&sql, "g.TABLE_NAME", name);
		buf_addstr(&sql, ") FROM (SELECT CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "
		           "'''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') AS me) tally_me");
		if (mdb_catalog(c, &sql, &r, "describing", t->display, err) < 0) {
			buf_release(&sql);
			return -1;
		}
		row = mysql_fetch_row(r);
		t->triggers_unknown = !row || !row[0] || strcmp(row[0], "0") == 0;
		mysql_free_result(r);
	}
	buf_release(&sql);
	return 0;
}

static int mdb_describe_table(struct conn *base, const char *table, struct tabdesc *out,
                              struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	struct tabdesc t = { 0 };
	struct buf sql = BUF_INIT;
	const char *dot = strchr(table, '.');
	char *db, *name;
	MYSQL_RES *r;
	MYSQL_ROW row;
	size_t cap = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (mdb_usable(c, err) < 0)
		return -1;
	db = dot ? xstrndup(table, (size_t)(dot - table)) : xstrdup(c->db);
	name = xstrdup(dot ? dot + 1 : table);
	t.display = xasprintf("%s.%s", db, name);
	{
		struct buf q = BUF_INIT;

		mdb_quote_ident(&q, db);
		buf_addch(&q, '.');
		mdb_quote_ident(&q, name);
		t.sqlname = buf_detach(&q, NULL);
	}

	buf_addstr(&sql, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
	           "NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, "
	           "CHARACTER_MAXIMUM_LENGTH, CHARACTER_SET_NAME, COLLATION_NAME, EXTRA, "
	           "COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE ");
	add_name_match(&sql, "TABLE_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	add_name_match(&sql, "TABLE_NAME", name);
	buf_addstr(&sql, " ORDER BY ORDINAL_POSITION");
	if (mdb_catalog(c, &sql, &r, "describing", t.display, err) < 0)
		goto out;
	if (mysql_num_fields(r) != IC_COUNT) {
		mysql_free_result(r);
		err_set(err, ERR_INTERNAL, "unexpected information_schema.COLUMNS layout on %s "
		        "system '%s'", c->base.side, c->base.system);
		goto out;
	}
	while ((row = mysql_fetch_row(r))) {
		t.cols = xgrow(t.cols, &cap, t.ncols + 1, sizeof(*t.cols));
		coldesc_from_catalog(&t.cols[t.ncols++], row);
	}
	mysql_free_result(r);
	if (t.ncols == 0) {
		missing_table(c, db, t.display, err);
		goto out;
	}
	if (mark_json(c, db, name, &t, err) < 0 || read_pk(c, db, name, &t, err) < 0 ||
	    read_fks(c, db, name, &t, false, err) < 0 || read_fks(c, db, name, &t, true, err) < 0 ||
	    read_triggers(c, db, name, &t, err) < 0)
		goto out;
	*out = t;
	memset(&t, 0, sizeof(t));
	rc = 0;
out:
	tabdesc_release(&t);
	buf_release(&sql);
	free(db);
	free(name);
	return rc;
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
static void add_subquery(struct buf *sql, const char *q)
{
	buf_addstr(sql, "(\n");
	buf_add(sql, q, query_len(q));
	buf_addstr(sql, "\n) AS tally_q");
}

/* What a scan reads: the table, or the query as a subquery. */
static void add_from(struct buf *sql, const struct tabdesc *d, const char *query)
{
	if (d->is_query)
		add_subquery(sql, query);
	else
		buf_addstr(sql, d->sqlname);
}

static const char *field_type_name(enum enum_field_types t)
{
	switch (t) {
	case MYSQL_TYPE_TINY: return "tinyint";
	case MYSQL_TYPE_SHORT: return "smallint";
	case MYSQL_TYPE_INT24: return "mediumint";
	case MYSQL_TYPE_LONG: return "int";
	case MYSQL_TYPE_LONGLONG: return "bigint";
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL: return "decimal";
	case MYSQL_TYPE_FLOAT: return "float";
	case MYSQL_TYPE_DOUBLE: return "double";
	case MYSQL_TYPE_DATE:
	case MYSQL_TYPE_NEWDATE: return "date";
	case MYSQL_TYPE_TIME: return "time";
	case MYSQL_TYPE_DATETIME: return "datetime";
	case MYSQL_TYPE_TIMESTAMP: return "timestamp";
	case MYSQL_TYPE_YEAR: return "year";
	case MYSQL_TYPE_BIT: return "bit";
	case MYSQL_TYPE_JSON: return "json";
	case MYSQL_TYPE_GEOMETRY: return "geometry";
	case MYSQL_TYPE_VARCHAR:
	case MYSQL_TYPE_VAR_STRING: return "varchar";
	case MYSQL_TYPE_STRING: return "char";
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_BLOB: return "text";
	case MYSQL_TYPE_ENUM: return "enum";
	case MYSQL_TYPE_SET: return "set";
	case MYSQL_TYPE_NULL: return "null";
	default: return "unknown";
	}
}

/* Copies a length-counted attribute, or NULL when absent. */
static bool field_attr(const MYSQL_FIELD *f, enum mariadb_field_attr_t a, char *out, size_t n)
{
	MARIADB_CONST_STRING s = { NULL, 0 };

	out[0] = '\0';
	if (mariadb_field_attr(&s, f, a) != 0 || !s.str || s.length == 0 || s.length >= n)
		return false;
	memcpy(out, s.str, s.length);
	out[s.length] = '\0';
	return true;
}

/* Maps result metadata to a coldesc, the same ltypes describe_table gives. */
static void coldesc_from_field(struct coldesc *cd, const MYSQL_FIELD *f)
{
	const MARIADB_CHARSET_INFO *cs = f->charsetnr == MDB_BINARY_CHARSET ? NULL
	                                 : mariadb_get_charset_by_nr(f->charsetnr);
	bool binary = f->charsetnr == MDB_BINARY_CHARSET;
	bool uns = (f->flags & UNSIGNED_FLAG) != 0;
	unsigned int maxlen = cs && cs->char_maxlen ? cs->char_maxlen : 1;
	char tname[64], fmt[64];
	struct buf native = BUF_INIT;
	long chars = (long)(f->length / maxlen);

	memset(cd, 0, sizeof(*cd));
	cd->name = xstrdup(f->name ? f->name : "");
	cd->nullable = (f->flags & NOT_NULL_FLAG) == 0;
	cd->type = LT_OTHER;
	if (!field_attr(f, MARIADB_FIELD_ATTR_DATA_TYPE_NAME, tname, sizeof(tname)))
		snprintf(tname, sizeof(tname), "%s", field_type_name(f->type));
	field_attr(f, MARIADB_FIELD_ATTR_FORMAT_NAME, fmt, sizeof(fmt));
	buf_addstr(&native, tname);

	switch (f->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
		cd->type = LT_INT;
		cd->bits = f->type == MYSQL_TYPE_TINY ? 8 : f->type == MYSQL_TYPE_SHORT ? 16
		           : f->type == MYSQL_TYPE_INT24 ? 24 : f->type == MYSQL_TYPE_LONG ? 32 : 64;
		cd->is_unsigned = uns;
		cd->bool_hint = f->type == MYSQL_TYPE_TINY && f->length == 1;
		buf_addf(&native, "(%lu)", f->length);
		break;
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL: {
		/* length counts the digits, a point when scaled and a sign when signed */
		long p = (long)f->length - (f->decimals > 0) - (uns ? 0 : 1);

		cd->type = LT_DECIMAL;
		cd->is_unsigned = uns;
		cd->precision = clamp_int(p);
		cd->scale = (int)f->decimals;
		buf_addf(&native, "(%d,%d)", cd->precision, cd->scale);
		break;
	}
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
		cd->type = LT_FLOAT;
		cd->bits = f->type == MYSQL_TYPE_FLOAT ? 32 : 64;
		cd->is_unsigned = uns;
		break;
	case MYSQL_TYPE_DATE:
	case MYSQL_TYPE_NEWDATE:
		cd->type = LT_DATE;
		break;
	case MYSQL_TYPE_TIME:
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
		cd->type = f->type == MYSQL_TYPE_TIME ? LT_TIME
		           : f->type == MYSQL_TYPE_DATETIME ? LT_TIMESTAMP : LT_TIMESTAMPTZ;
		cd->fsp = f->decimals <= 6 ? (int)f->decimals : 0;
		if (cd->fsp)
			buf_addf(&native, "(%d)", cd->fsp);
		break;
	case MYSQL_TYPE_YEAR:
		cd->type = LT_YEAR;
		break;
	case MYSQL_TYPE_BIT:
		cd->type = LT_BIT;
		cd->bits = (int)f->length;
		buf_addf(&native, "(%lu)", f->length);
		break;
	case MYSQL_TYPE_JSON:
		cd->type = LT_JSON;
		break;
	case MYSQL_TYPE_ENUM:
	case MYSQL_TYPE_SET:
	case MYSQL_TYPE_STRING:
	case MYSQL_TYPE_VAR_STRING:
	case MYSQL_TYPE_VARCHAR:
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_BLOB:
		if (strcmp(tname, "uuid") == 0) {
			cd->type = LT_UUID;
		} else if (strcmp(tname, "inet4") == 0 || strcmp(tname, "inet6") == 0) {
			cd->type = LT_INET;
		} else if ((f->flags & ENUM_FLAG) || f->type == MYSQL_TYPE_ENUM) {
			cd->type = LT_ENUM;
			buf_reset(&native);
			buf_addstr(&native, "enum");
		} else if ((f->flags & SET_FLAG) || f->type == MYSQL_TYPE_SET) {
			cd->type = LT_SET;
			buf_reset(&native);
			buf_addstr(&native, "set");
		} else if (strcmp(fmt, "json") == 0) {
			cd->type = LT_JSON;
			buf_reset(&native);
			buf_addstr(&native, "json");
		} else if (binary) {
			cd->type = LT_BYTES;
			cd->fixed = f->type == MYSQL_TYPE_STRING;
			cd->length = (long)f->length;
			buf_reset(&native);
			buf_addf(&native, "%s(%lu)", f->type == MYSQL_TYPE_STRING ? "binary"
			         : f->type == MYSQL_TYPE_VAR_STRING || f->type == MYSQL_TYPE_VARCHAR
			         ? "varbinary" : "blob", f->length);
		} else {
			cd->type = f->type == MYSQL_TYPE_STRING ? LT_CHAR : LT_TEXT;
			cd->fixed = f->type == MYSQL_TYPE_STRING;
			cd->length = chars;
			buf_addf(&native, "(%ld)", chars);
		}
		break;
	default:
		break;
	}
	/* as in information_schema: only the string types have a character set */
	if (!binary && cs && (cd->type == LT_TEXT || cd->type == LT_CHAR || cd->type == LT_JSON ||
	                      cd->type == LT_ENUM || cd->type == LT_SET)) {
		cd->charset = xstrdup(cs->csname);
		cd->collation = xstrdup(cs->name);
	}
	if (uns && (cd->type == LT_INT || cd->type == LT_DECIMAL || cd->type == LT_FLOAT))
		buf_addstr(&native, " unsigned");
	if ((f->flags & ZEROFILL_FLAG) && cd->type == LT_INT)
		buf_addstr(&native, " zerofill");
	cd->native = buf_detach(&native, NULL);
}

static int mdb_describe_query(struct conn *base, const char *sql_in, struct tabdesc *out,
                              struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	struct buf sql = BUF_INIT;
	struct tabdesc t = { 0 };
	MYSQL_RES *r;
	MYSQL_FIELD *f;

	memset(out, 0, sizeof(*out));
	if (mdb_usable(c, err) < 0)
		return -1;
	buf_addstr(&sql, "SELECT * FROM ");
	add_subquery(&sql, sql_in);
	buf_addstr(&sql, " LIMIT 0");
	if (mdb_catalog(c, &sql, &r, "describing", "the query", err) < 0) {
		buf_release(&sql);
		return -1;
	}
	buf_release(&sql);
	t.display = xstrdup("query");
	t.is_query = true;
	t.ncols = mysql_num_fields(r);
	t.cols = xcalloc(t.ncols, sizeof(*t.cols));
	f = mysql_fetch_fields(r);
	for (size_t i = 0; i < t.ncols; i++)
		coldesc_from_field(&t.cols[i], &f[i]);
	mysql_free_result(r);
	*out = t;
	return 0;
}

/* ---- scan ------------------------------------------------------------------------ */

static int mdb_bound_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                             struct tally_err *err);

/*
 * The tuple comparison (k1, ..., kn) > (a1, ..., an), or <= for upper, in
 * the expanded form (k1 > a1) OR (k1 = a1 AND k2 > a2) OR ...: MariaDB
 * turns it into a range of the index on (k1, ..., kn), whereas it reads a
 * row constructor (k1, k2) > (a1, a2) by a full index scan. The literals
 * lit[i] are compared in the column's own collation, so the range follows
 * the index order.
 */
static void add_tuple_cmp(struct buf *sql, const struct tabdesc *d, const size_t *key, size_t n,
                          char *const *lit, bool upper)
{
	buf_addch(sql, '(');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(sql, " OR ");
		buf_addch(sql, '(');
		for (size_t j = 0; j < i; j++) {
			mdb_quote_ident(sql, d->cols[key[j]].name);
			buf_addf(sql, " = %s AND ", lit[j]);
		}
		mdb_quote_ident(sql, d->cols[key[i]].name);
		buf_addf(sql, " %s %s)", !upper ? ">" : i + 1 < n ? "<" : "<=", lit[i]);
	}
	buf_addch(sql, ')');
}

/*
 * " WHERE (\nwhere\n) AND cond AND ..." for the user's where (NULL or "")
 * and the conditions given; the newlines keep a trailing -- comment of the
 * user's where inside its parentheses.
 */
static void add_where(struct buf *sql, const char *where, const char *const *cond, size_t ncond)
{
	bool first = true;

	if (where && *where) {
		buf_addstr(sql, " WHERE (\n");
		buf_addstr(sql, where);
		buf_addstr(sql, "\n)");
		first = false;
	}
	for (size_t i = 0; i < ncond; i++) {
		if (!cond[i])
			continue;
		buf_addstr(sql, first ? " WHERE " : " AND ");
		buf_addstr(sql, cond[i]);
		first = false;
	}
}

static void add_order_by(struct buf *sql, const struct tabdesc *d, const size_t *key, size_t n,
                         bool desc)
{
	for (size_t i = 0; i < n; i++) {
		buf_addstr(sql, i ? ", " : " ORDER BY ");
		mdb_quote_ident(sql, d->cols[key[i]].name);
		if (desc)
			buf_addstr(sql, " DESC");
	}
}

static void free_strings(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

/*
 * The range condition of req on its first n key columns ("(...) > lo" or
 * "<= hi") in *cond (owned, NULL without that bound). A bound that cannot
 * be written fails with the literal's error.
 */
static int range_cond(const struct scan_req *req, const struct sqlval *b, size_t n, bool upper,
                      char **cond, struct tally_err *err)
{
	const struct tabdesc *d = req->desc;
	char **lit;
	struct buf sql = BUF_INIT, one = BUF_INIT;
	int rc = 0;

	*cond = NULL;
	if (!b || n == 0)
		return 0;
	lit = xcalloc(n, sizeof(*lit));
	for (size_t i = 0; i < n && rc == 0; i++) {
		buf_reset(&one);
		rc = mdb_bound_literal(&one, &d->cols[req->key[i]], &b[i], err);
		lit[i] = xstrdup(one.data);
	}
	if (rc == 0) {
		add_tuple_cmp(&sql, d, req->key, n, lit, upper);
		*cond = buf_detach(&sql, NULL);
	}
	free_strings(lit, n);
	buf_release(&one);
	buf_release(&sql);
	return rc;
}

/*
 * SELECT cols FROM t WHERE (where) AND lo AND hi ORDER BY key LIMIT n:
 * the key in the server's own order, so a primary key is read in index
 * order without a sort, and a range on it is an index range (EXPLAIN
 * type=range on PRIMARY).
 */
static int mdb_scan_open(struct conn *base, const struct scan_req *req, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT;
	char *cond[2] = { NULL, NULL };
	size_t nlo = req->nlo, nhi = req->nhi;
	unsigned int nf;

	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is already open on %s system '%s'",
		               c->base.side, c->base.system);
	buf_reset(&c->what);
	if (d->is_query)
		buf_addstr(&c->what, "the query");
	else
		buf_addstr(&c->what, d->display);
	bool bad = req->ncols == 0 || (!d->is_query && !d->sqlname) || (d->is_query && !req->query) ||
	           nlo > req->nkey || nhi > req->nkey || (req->lo && nlo == 0) ||
	           (req->hi && nhi == 0);

	for (size_t i = 0; i < req->ncols; i++)
		bad |= req->cols[i] >= d->ncols;
	for (size_t i = 0; i < req->nkey; i++)
		bad |= req->key[i] >= d->ncols;
	if (bad)
		return err_set(err, ERR_INTERNAL, "invalid scan request for %s on %s system '%s'",
		               c->what.data, c->base.side, c->base.system);
	if (range_cond(req, req->lo, nlo, false, &cond[0], err) < 0 ||
	    range_cond(req, req->hi, nhi, true, &cond[1], err) < 0) {
		free(cond[0]);
		return err_context(err, "[%s pid %ld] cannot read a range of %s on %s system '%s'",
		                   c->base.side, c->base.backend_pid, c->what.data, c->base.side,
		                   c->base.system);
	}

	buf_addstr(&sql, "SELECT ");
	for (size_t i = 0; i < req->ncols; i++) {
		const struct coldesc *cd = &d->cols[req->cols[i]];

		if (i)
			buf_addstr(&sql, ", ");
		/*
		 * MariaDB prints a FLOAT with 6 significant digits, which is not
		 * the value: as DOUBLE it prints every digit of the float's exact
		 * value, which reads back as the same float.
		 */
		if (cd->type == LT_FLOAT && cd->bits == 32)
			buf_addstr(&sql, "CAST(");
		mdb_quote_ident(&sql, cd->name);
		if (cd->type == LT_FLOAT && cd->bits == 32)
			buf_addstr(&sql, " AS DOUBLE)");
	}
	buf_addstr(&sql, " FROM ");
	add_from(&sql, d, req->query);
	add_where(&sql, req->where, (const char *const *)cond, 2);
	add_order_by(&sql, d, req->key, req->nkey, false);
	if (req->limit)
		buf_addf(&sql, " LIMIT %" PRIu64, req->limit);
	free(cond[0]);
	free(cond[1]);

	if (mysql_real_query(c->my, sql.data, sql.len) != 0) {
		buf_release(&sql);
		return mdb_fail(c, ERR_QUERY, "reading", c->what.data, err);
	}
	buf_release(&sql);
	c->res = mysql_use_result(c->my);
	c->res_done = false;
	if (!c->res)
		return mdb_fail(c, ERR_QUERY, "reading", c->what.data, err);
	nf = mysql_num_fields(c->res);
	if (nf != req->ncols) {
		mdb_scan_close(base);
		return err_set(err, ERR_DATA, "[%s pid %ld] %s system '%s' returned %u columns for "
		               "%s, expected %zu", c->base.side, c->base.backend_pid, c->base.side,
		               c->base.system, nf, c->what.data, req->ncols);
	}
	if (req->ncols > c->cap) {
		size_t cap = c->cap;

		c->val = xgrow(c->val, &cap, req->ncols, sizeof(*c->val));
		cap = c->cap;
		c->len = xgrow(c->len, &cap, req->ncols, sizeof(*c->len));
		c->cap = cap;
	}
	c->row.ncols = req->ncols;
	c->row.val = c->val;
	c->row.len = c->len;
	return 0;
}

static int mdb_scan_next(struct conn *base, struct rawrow **row, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	MYSQL_ROW r;
	unsigned long *l;

	*row = NULL;
	if (mdb_usable(c, err) < 0)
		return -1;
	if (!c->res)
		return err_set(err, ERR_INTERNAL, "no scan is open on %s system '%s'",
		               c->base.side, c->base.system);
	r = mysql_fetch_row(c->res);
	if (!r) {
		c->res_done = true;
		if (mysql_errno(c->my) == 0)
			return 0;
		mdb_fail(c, ERR_QUERY, "reading", c->what.data, err);
		mdb_set_failed(c, err->kind);
		return -1;
	}
	l = mysql_fetch_lengths(c->res);
	for (size_t i = 0; i < c->row.ncols; i++) {
		c->val[i] = r[i];
		c->len[i] = l[i];
	}
	*row = &c->row;
	return 1;
}

static void mdb_scan_close(struct conn *base)
{
	struct mdb_conn *c = mdb(base);

	if (!c || !c->res)
		return;
	/* On an unfinished scan this reads and discards the rest of the result. */
	mysql_free_result(c->res);
	c->res = NULL;
	c->row.ncols = 0;
}

/* ---- repair scripts ---------------------------------------------------------- */

/* A word for sh: as is when it is safe, else in single quotes ('\'' for a quote). */
static void add_shell_word(struct buf *out, const char *s)
{
	bool plain = *s != '\0';

	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_./:-", *p))
			plain = false;
	if (plain) {
		buf_addstr(out, s);
		return;
	}
	buf_addch(out, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			buf_addstr(out, "'\\''");
		else
			buf_addch(out, *p);
	}
	buf_addch(out, '\'');
}

/*
 * script_ops.apply_command (mariadb_script.c refers to it): the client
 * command an operator runs. The dsn gives the server and the database
 * only: its user is tally's read-only one, so the account is the
 * placeholder OPERATOR, and -p makes the client ask for the password (a
 * password in the dsn is never written). --skip-force overrides a `force`
 * in an option file: a client that goes on after an error would commit the
 * steps before and after the failed one.
 */
void mdb_apply_command(struct buf *out, const char *file, const char *dsn);

void mdb_apply_command(struct buf *out, const char *file, const char *dsn)
{
	struct conn_cfg cfg = { .system = "?", .side = "?", .dsn = dsn, .dsn_shown = "?" };
	struct tally_err err;
	struct mdb_dsn d;
	char port[16];

	buf_addstr(out, "mariadb --default-character-set=utf8mb4 --skip-force ");
	if (dsn_parse(&d, &cfg, &err) < 0) {
		buf_addstr(out, "-h HOST -P PORT -u OPERATOR -p -D DATABASE < ");
	} else {
		if (d.socket) {
			buf_addstr(out, "-S ");
			add_shell_word(out, d.socket);
		} else {
			snprintf(port, sizeof(port), "%u", d.port);
			buf_addstr(out, "-h ");
			add_shell_word(out, d.host);
			buf_addstr(out, " -P ");
			buf_addstr(out, port);
		}
		buf_addstr(out, " -u OPERATOR -p -D ");
		add_shell_word(out, d.db);
		buf_addstr(out, " < ");
	}
	mdb_dsn_release(&d);
	add_shell_word(out, file);
}

/* ---- literals ------------------------------------------------------------------ */

/*
 * A literal must read back as exactly the value given, whatever the
 * session's sql_mode. Strings are never double-quoted (ANSI_QUOTES) and
 * never hold a backslash (NO_BACKSLASH_ESCAPES decides what it means):
 * text with a backslash or a control character is written as
 * _utf8mb4 X'...', which every mode reads alike. The column is checked
 * first wherever a permissive sql_mode would clip, round, pad or map the
 * value instead of failing (range, scale, fractional seconds, enum case,
 * YEAR's two-digit forms).
 */

#define MDB_TIME_MAX_US INT64_C(3020399999999)          /* 838:59:59.999999 */
#define MDB_EPOCH_US INT64_C(946684800000000)           /* 2000-01-01 - 1970-01-01 */
#define MDB_TIMESTAMP_MAX_US INT64_C(2147483647999999)  /* 2038-01-19 03:14:07.999999 */
#define MDB_DAY_US INT64_C(86400000000)

/* The failure of a literal: names the column and its type, never the value. */
static int lit_fail(const struct coldesc *col, struct tally_err *err, const char *why)
{
	return err_set(err, ERR_DATA, "cannot write a value for column '%s' (%s): %s",
	               col->name, col->native ? col->native : ltype_name(col->type), why);
}

/* What kind of value, as the subject of a sentence. */
static const char *sqlval_noun(enum sqlval_kind k)
{
	switch (k) {
	case SV_NULL: return "NULL";
	case SV_NUMBER: return "a number";
	case SV_FLOAT: return "a floating-point number";
	case SV_BOOL: return "a boolean";
	case SV_TEXT: return "text";
	case SV_BYTES: return "binary data";
	case SV_DATE: return "a date";
	case SV_TIME: return "a time";
	case SV_TIMESTAMP: return "a timestamp";
	case SV_TIMESTAMPTZ: return "a timestamp with time zone";
	case SV_UUID: return "a uuid";
	case SV_BITS: return "a bit string";
	case SV_RAW: return "a value";
	}
	return "a value";
}

static int lit_mismatch(const struct coldesc *col, const struct sqlval *v,
                        struct tally_err *err)
{
	char why[96];

	snprintf(why, sizeof(why), "%s cannot be stored in this column type", sqlval_noun(v->kind));
	return lit_fail(col, err, why);
}

/* Decodes one UTF-8 character of s[0..n): its length, 0 when invalid or overlong. */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, v = s[0] & 0x1fu, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, v = s[0] & 0x0fu, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, v = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Characters in s[0..n), or -1 when it is not valid UTF-8. */
static long utf8_count(const char *s, size_t n)
{
	long chars = 0;
	uint32_t cp;

	for (size_t i = 0, len; i < n; i += len, chars++)
		if (!(len = utf8_char((const unsigned char *)s + i, n - i, &cp)))
			return -1;
	return chars;
}

/*
 * Can valid UTF-8 text go between plain quotes? Not with a backslash or a
 * control character (sql_mode, the client's line handling), nor with a
 * character that hides or reorders what the reviewer of a script sees
 * (C1 controls, zero-width and bidirectional marks, line separators).
 */
static bool text_plain(const char *s, size_t n)
{
	uint32_t cp;

	for (size_t i = 0, len; i < n; i += len) {
		len = utf8_char((const unsigned char *)s + i, n - i, &cp);
		if (len == 0 || cp < 0x20 || cp == 0x7f || cp == '\\' ||
		    (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
		    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff)
			return false;
	}
	return true;
}

/*
 * Appends UTF-8 text as a string constant: 'it''s' when that is plain,
 * _utf8mb4 X'...' otherwise. Also used by mariadb_script.c.
 */
void mdb_add_text(struct buf *out, const char *s, size_t n);

void mdb_add_text(struct buf *out, const char *s, size_t n)
{
	if (!text_plain(s, n)) {
		buf_addstr(out, "_utf8mb4 X'");
		buf_addhex(out, s, n);
		buf_addch(out, '\'');
		return;
	}
	buf_addch(out, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			buf_addch(out, '\'');
		buf_addch(out, s[i]);
	}
	buf_addch(out, '\'');
}

static void add_bytes(struct buf *out, const char *s, size_t n)
{
	buf_addstr(out, "X'");
	buf_addhex(out, s, n);
	buf_addch(out, '\'');
}

/* TEXT types are limited in bytes of their character set, the others in characters. */
static bool text_fits(const struct coldesc *col, size_t n, long chars)
{
	const char *cs = col->charset ? col->charset : "";

	if (col->length <= 0)
		return true;
	if (chars > col->length)
		return false;
	if (!col->native || !strstr(col->native, "text"))
		return true;
	if (strcmp(cs, "utf8mb4") == 0 || strncmp(cs, "utf8", 4) == 0)
		return n <= (size_t)col->length;
	return true;   /* single-byte sets: chars counted; others: the server checks */
}

static bool is_label(const struct coldesc *col, const char *s, size_t n, size_t *idx)
{
	for (size_t i = 0; i < col->nlabels; i++)
		if (strlen(col->labels[i]) == n && memcmp(col->labels[i], s, n) == 0) {
			*idx = i;
			return true;
		}
	return false;
}

/*
 * An enum value must be one of the labels byte for byte: the server maps
 * 'SMALL' to 'small' under a _ci collation. A set value lists labels in
 * declared order, each once, as the server stores it. '' is the empty set,
 * and the invalid enum value that only a permissive sql_mode stores.
 */
static bool labels_ok(const struct coldesc *col, const char *s, size_t n)
{
	size_t idx, prev = 0;
	bool first = true;

	if (col->nlabels == 0 || n == 0)
		return true;
	if (col->type == LT_ENUM)
		return is_label(col, s, n, &idx);
	for (size_t i = 0; i <= n;) {
		const char *comma = memchr(s + i, ',', n - i);
		size_t len = comma ? (size_t)(comma - (s + i)) : n - i;

		if (!is_label(col, s + i, len, &idx) || (!first && idx <= prev))
			return false;
		prev = idx;
		first = false;
		i += len + 1;
	}
	return true;
}

/*
 * A bit string of '0'/'1' characters into BIT(n): b'...', refused when its
 * set bits do not fit the column (leading zeros beyond the width are fine).
 */
static int lit_bits(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                    struct tally_err *err)
{
	size_t first = 0;

	if (col->type != LT_BIT)
		return -2;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '0' && s[i] != '1')
			return lit_fail(col, err, "not a valid bit string");
	while (first < n && s[first] == '0')
		first++;
	if (col->bits > 0 && n - first > (size_t)col->bits)
		return lit_fail(col, err, "value is out of the column's range");
	buf_addstr(out, "b'");
	if (first == n)
		buf_addch(out, '0');
	else
		buf_add(out, s + first, n - first);
	buf_addch(out, '\'');
	return 0;
}

/* Bytes into a BINARY, VARBINARY, BLOB, BIT or geometry column: X'...'. */
static int lit_bytes(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                     struct tally_err *err)
{
	if (col->type == LT_BIT && col->bits > 0) {
		size_t i = 0, sig;
		unsigned char top;

		while (i < n && s[i] == 0)
			i++;
		sig = (n - i) * 8;
		for (top = i < n ? (unsigned char)s[i] : 0xff; sig && !(top & 0x80); top <<= 1)
			sig--;
		if (sig > (size_t)col->bits)
			return lit_fail(col, err, "value is out of the column's range");
	} else if (col->type == LT_BYTES && col->length > 0 && n > (size_t)col->length) {
		return lit_fail(col, err, "value is longer than the column holds");
	}
	add_bytes(out, s, n);
	return 0;
}

static bool text_in_charset(const char *cs, const char *s, size_t n);

/* UTF-8 text into a column the server parses text for. */
static int lit_text(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                    struct tally_err *err)
{
	long chars;

	if (col->type == LT_BYTES || col->type == LT_BIT)
		return lit_bytes(out, col, s, n, err);
	chars = utf8_count(s, n);
	if (chars < 0)
		return lit_fail(col, err, "text is not valid UTF-8");
	if ((col->type == LT_TEXT || col->type == LT_CHAR) && !text_fits(col, n, chars))
		return lit_fail(col, err, "value is longer than the column holds");
	if ((col->type == LT_TEXT || col->type == LT_CHAR) && col->charset &&
	    !text_in_charset(col->charset, s, n))
		return lit_fail(col, err, "text holds a character the column's character set cannot hold");
	if ((col->type == LT_ENUM || col->type == LT_SET) && !labels_ok(col, s, n))
		return lit_fail(col, err, col->type == LT_ENUM
		                ? "value is not one of the column's labels"
		                : "value is not a list of the column's labels in declared order");
	if (col->type == LT_INET && memchr(s, '/', n))
		return lit_fail(col, err, "an address with a prefix length cannot be stored in INET4 or INET6");
	if (col->type == LT_INET && col->native && strncmp(col->native, "inet4", 5) == 0 && memchr(s, ':', n))
		return lit_fail(col, err, "an IPv6 address cannot be stored in INET4");
	mdb_add_text(out, s, n);
	return 0;
}

/* A decimal number split into its parts, without leading or trailing zeros. */
struct num {
	bool neg;
	const char *ip;   /* integer digits, none for 0 */
	size_t nip;
	const char *fp;   /* fraction digits, none when integral */
	size_t nfp;
};

/* [-]digits[.digits], as SV_NUMBER promises; false otherwise. */
static bool num_parse(const char *s, size_t n, struct num *x)
{
	size_t i = 0, start;

	memset(x, 0, sizeof(*x));
	if (i < n && s[i] == '-') {
		x->neg = true;
		i++;
	}
	start = i;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == start)
		return false;
	x->ip = s + start;
	x->nip = i - start;
	if (i < n) {
		if (s[i] != '.' || i + 1 == n)
			return false;
		x->fp = s + ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i != n)
			return false;
		x->nfp = (size_t)(s + n - x->fp);
	}
	while (x->nip && x->ip[0] == '0') {
		x->ip++;
		x->nip--;
	}
	while (x->nfp && x->fp[x->nfp - 1] == '0')
		x->nfp--;
	if (x->nip == 0 && x->nfp == 0)
		x->neg = false;   /* -0 is 0 */
	return true;
}

static void num_add(struct buf *out, const struct num *x)
{
	if (x->neg)
		buf_addch(out, '-');
	if (x->nip)
		buf_add(out, x->ip, x->nip);
	else
		buf_addch(out, '0');
	if (x->nfp) {
		buf_addch(out, '.');
		buf_add(out, x->fp, x->nfp);
	}
}

/* Is the integer part of x within [-2^(bits-1), 2^(bits-1)-1] (or [0, 2^bits-1])? */
static bool int_fits(const struct num *x, int bits, bool is_unsigned)
{
	char lim[24];
	unsigned long long max;
	size_t len;

	if (bits <= 0 || bits > 64)
		return true;
	if (is_unsigned)
		max = bits == 64 ? ULLONG_MAX : (1ULL << bits) - 1;
	else
		max = (1ULL << (bits - 1)) - (x->neg ? 0 : 1);
	len = (size_t)snprintf(lim, sizeof(lim), "%llu", max);
	if (x->nip != len)
		return x->nip < len;
	return memcmp(x->ip, lim, len) <= 0;
}

/* e-notation from printf ("3.0000000000000004e-01") without '+' and exponent zeros. */
static void add_exp_form(struct buf *out, const char *txt)
{
	const char *e = strchr(txt, 'e'), *p;

	buf_add(out, txt, (size_t)(e - txt));
	buf_addch(out, 'e');
	p = e + 1;
	if (*p == '-')
		buf_addch(out, '-');
	if (*p == '-' || *p == '+')
		p++;
	while (*p == '0' && p[1])
		p++;
	buf_addstr(out, p);
}

/* The shortest %.*e text that strtod reads back as d (finite). */
static void shortest_e(char *txt, size_t cap, double d)
{
	for (int p = 0; p <= 16; p++) {
		snprintf(txt, cap, "%.*e", p, d);
		if (strtod(txt, NULL) == d)
			return;
	}
}

/*
 * A DOUBLE as an approximate-value literal, "3.0000000000000004e-1": the
 * server reads a literal with an exponent with a correctly rounded strtod,
 * so the shortest round-trip digits give back the same double (checked on
 * MariaDB 10.11 with the binary protocol, subnormals and extremes included).
 */
static void add_double(struct buf *out, double d)
{
	char txt[40];

	shortest_e(txt, sizeof(txt), d);
	add_exp_form(out, txt);
}

/*
 * A FLOAT column stores (float) of the double the server parses, after
 * checking that double against FLT_MAX: the shortest text that strtof
 * reads back is not enough (3.4028235e38 is above FLT_MAX as a double and
 * fails), so the text must also come back as f through a double. When no
 * short text does, the float's exact double value always does.
 */
static void add_float32(struct buf *out, float f)
{
	char txt[40];

	for (int p = 0; p <= 8; p++) {
		double back;

		snprintf(txt, sizeof(txt), "%.*e", p, (double)f);
		back = strtod(txt, NULL);
		if (fabs(back) <= FLT_MAX && (float)back == f && strtof(txt, NULL) == f) {
			add_exp_form(out, txt);
			return;
		}
	}
	add_double(out, (double)f);
}

/* A double's shortest digits as plain [-]digits[.digits], for exact columns. */
static void double_plain(struct buf *out, double d)
{
	char txt[40], digits[24];
	size_t nd = 0;
	long ex;
	const char *e;

	shortest_e(txt, sizeof(txt), d);
	e = strchr(txt, 'e');
	ex = strtol(e + 1, NULL, 10);
	for (const char *p = txt; p < e; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	if (txt[0] == '-')
		buf_addch(out, '-');
	if (ex < 0) {
		buf_addstr(out, "0.");
		for (long i = -1; i > ex; i--)
			buf_addch(out, '0');
		buf_add(out, digits, nd);
		return;
	}
	for (long i = 0; i <= ex; i++)
		buf_addch(out, (size_t)i < nd ? digits[i] : '0');
	if (nd > (size_t)ex + 1) {
		buf_addch(out, '.');
		buf_add(out, digits + ex + 1, nd - (size_t)ex - 1);
	}
}

/* A finite double into a FLOAT or DOUBLE column. */
static int lit_floatcol(struct buf *out, const struct coldesc *col, double d,
                        struct tally_err *err)
{
	if (col->is_unsigned && d < 0)
		return lit_fail(col, err, "a negative number cannot be stored in an unsigned column");
	if (col->bits == 32) {
		/* what strtof does with the same digits: round to nearest, or overflow */
		if (fabs(d) > FLT_MAX) {
			if (fabs(d) >= (double)FLT_MAX + 0x1p103)
				return lit_fail(col, err, "value is out of the column's range");
			d = copysign((double)FLT_MAX, d);
		}
		add_float32(out, (float)d);
	} else {
		add_double(out, d);
	}
	return 0;
}

/* A decimal number (SV_NUMBER's text) into an exact, float or text column. */
static int lit_number(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                      struct tally_err *err)
{
	struct num x;

	if (!num_parse(s, n, &x))
		return lit_fail(col, err, "not a valid number");
	switch (col->type) {
	case LT_INT:
	case LT_BOOL:
	case LT_YEAR:
	case LT_DECIMAL:
		if (x.neg && col->is_unsigned)
			return lit_fail(col, err, "a negative number cannot be stored in an unsigned "
			                "column");
		if (col->type == LT_DECIMAL) {
			if (col->scale >= 0 && x.nfp > (size_t)col->scale)
				return lit_fail(col, err, "value has more fractional digits than the "
				                "column holds");
			if (col->precision > 0 && col->scale >= 0 &&
			    x.nip > (size_t)(col->precision - col->scale))
				return lit_fail(col, err, "value is out of the column's range");
		} else if (x.nfp) {
			return lit_fail(col, err, "a number with a fraction cannot be stored in an "
			                "integer column");
		} else if (col->type == LT_YEAR) {
			/* a number 1..99 means 1970..2069, and 0 is the year 0000 */
			if (x.neg || (x.nip > 0 && (x.nip != 4 || memcmp(x.ip, "1901", 4) < 0 ||
			                            memcmp(x.ip, "2155", 4) > 0)))
				return lit_fail(col, err, "year outside 1901..2155 (or 0)");
		} else if (!int_fits(&x, col->bits, col->is_unsigned)) {
			return lit_fail(col, err, "value is out of the column's range");
		}
		num_add(out, &x);
		return 0;
	case LT_FLOAT: {
		/* parsed here as canon parses it, then written as a float literal */
		char *txt = xstrndup(s, n);
		double d = col->bits == 32 ? (double)strtof(txt, NULL) : strtod(txt, NULL);
		int rc;

		free(txt);
		if (isinf(d))
			return lit_fail(col, err, "value is out of the column's range");
		rc = lit_floatcol(out, col, d, err);
		return rc;
	}
	case LT_TEXT:
	case LT_CHAR:
	case LT_ENUM:
	case LT_SET:
	case LT_JSON:
		return lit_text(out, col, s, n, err);
	default:
		return -2;
	}
}

/* Digits needed for the fraction of a microsecond count: 0 for .000000, 6 for .000001. */
static int frac_digits(int64_t us)
{
	int64_t f = us % 1000000;
	int d = 6;

	if (f < 0)
		f += 1000000;
	if (f == 0)
		return 0;
	while (f % 10 == 0) {
		f /= 10;
		d--;
	}
	return d;
}

/* '0000-00-00[ 00:00:00[.f]]' from SVS_ZERO's packed y*10000+m*100+d. */
static int lit_zero_date(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                         struct tally_err *err)
{
	int64_t packed = v->i, us = 0;

	if (v->kind != SV_DATE) {
		packed = v->i / MDB_DAY_US;
		us = v->i % MDB_DAY_US;
	}
	if (packed < 0 || packed > 99991231 || us < 0)
		return lit_fail(col, err, "not a valid zero date");
	buf_addf(out, "'%04d-%02d-%02d", (int)(packed / 10000), (int)(packed / 100 % 100),
	         (int)(packed % 100));
	if (v->kind != SV_DATE) {
		struct sqlval clock = { .kind = SV_TIME, .i = us };

		buf_addch(out, ' ');
		sqlval_iso(out, &clock, col->fsp);
	}
	buf_addch(out, '\'');
	return 0;
}

/* Dates, times and timestamps: ISO text with exactly the column's fractional digits. */
static int lit_temporal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                        struct tally_err *err)
{
	bool ok;

	switch (v->kind) {
	case SV_DATE:
		ok = col->type == LT_DATE;
		break;
	case SV_TIME:
		ok = col->type == LT_TIME;
		break;
	default:
		ok = col->type == LT_TIMESTAMP || col->type == LT_TIMESTAMPTZ;
		break;
	}
	if (!ok)
		return lit_mismatch(col, v, err);
	if (v->special == SVS_PINF || v->special == SVS_NINF)
		return lit_fail(col, err, "MariaDB cannot store infinity");
	if (v->special == SVS_ZERO && v->kind != SV_TIME) {
		if (v->kind != SV_DATE && frac_digits(v->i) > col->fsp)
			return lit_fail(col, err, "value has more fractional digits than the column "
			                "holds");
		return lit_zero_date(out, col, v, err);
	}
	if (v->special != SVS_NONE)
		return lit_fail(col, err, "not a valid date or time");
	if (v->kind != SV_DATE && frac_digits(v->i) > col->fsp)
		return lit_fail(col, err, "value has more fractional digits than the column holds");
	if (v->kind == SV_TIME) {
		if (v->i < -MDB_TIME_MAX_US || v->i > MDB_TIME_MAX_US)
			return lit_fail(col, err, "time outside -838:59:59.999999..838:59:59.999999");
	} else if (col->type == LT_TIMESTAMPTZ) {
		/* the script runs with time_zone '+00:00': the text is UTC */
		if (v->i < 1 - MDB_EPOCH_US || v->i > MDB_TIMESTAMP_MAX_US - MDB_EPOCH_US)
			return lit_fail(col, err, "timestamp outside 1970-01-01 00:00:00.000001.."
			                "2038-01-19 03:14:07.999999 UTC");
	} else {
		int64_t y = sqlval_year(v);

		if (y < 1 || y > 9999)
			return lit_fail(col, err, "year outside 0001..9999");
	}
	buf_addch(out, '\'');
	sqlval_iso(out, v, v->kind == SV_DATE ? 0 : col->fsp);
	buf_addch(out, '\'');
	return 0;
}

static int lit_value(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                     struct tally_err *err)
{
	enum ltype t = col->type;
	bool text_col = t == LT_TEXT || t == LT_CHAR || t == LT_ENUM || t == LT_SET || t == LT_JSON;
	bool raw_col = t == LT_BYTES || t == LT_BIT || t == LT_OTHER;
	int rc;

	switch (v->kind) {
	case SV_NULL:
		buf_addstr(out, "NULL");
		return 0;
	case SV_NUMBER:
		if (v->special != SVS_NONE)
			return lit_fail(col, err, "MariaDB cannot store NaN or infinity");
		rc = lit_number(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		return rc == -2 ? lit_mismatch(col, v, err) : rc;
	case SV_FLOAT:
		if (isnan(v->d) || isinf(v->d))
			return lit_fail(col, err, "MariaDB cannot store NaN or infinity");
		if (t == LT_FLOAT)
			return lit_floatcol(out, col, v->d, err);
		if (t == LT_INT || t == LT_DECIMAL || t == LT_YEAR || text_col) {
			struct buf txt = BUF_INIT;

			double_plain(&txt, v->d);
			rc = lit_number(out, col, txt.data, txt.len, err);
			buf_release(&txt);
			return rc == -2 ? lit_mismatch(col, v, err) : rc;
		}
		return lit_mismatch(col, v, err);
	case SV_BOOL:
		if (t == LT_INT || t == LT_BOOL || t == LT_DECIMAL || t == LT_FLOAT)
			return lit_number(out, col, v->b ? "1" : "0", 1, err);
		if (t == LT_BIT) {
			buf_addch(out, v->b ? '1' : '0');
			return 0;
		}
		return lit_mismatch(col, v, err);
	case SV_TEXT:
		return lit_text(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
	case SV_BYTES:
		if (raw_col)
			return lit_bytes(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		if (text_col)
			return lit_text(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		return lit_mismatch(col, v, err);
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		return lit_temporal(out, col, v, err);
	case SV_UUID: {
		const unsigned char *u = (const unsigned char *)v->s;
		char txt[40];
		size_t o = 0;

		if (!u || v->len != 16)
			return lit_fail(col, err, "a uuid value must have 16 bytes");
		if (t == LT_BYTES)
			return lit_bytes(out, col, v->s, 16, err);
		if (t != LT_UUID && t != LT_TEXT && t != LT_CHAR)
			return lit_mismatch(col, v, err);
		for (size_t i = 0; i < 16; i++)
			o += (size_t)snprintf(txt + o, sizeof(txt) - o, "%s%02x",
			                      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u[i]);
		return lit_text(out, col, txt, o, err);
	}
	case SV_BITS:
		rc = lit_bits(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		return rc == -2 ? lit_mismatch(col, v, err) : rc;
	case SV_RAW:
		if (raw_col)
			return lit_bytes(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		return lit_text(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
	}
	return lit_mismatch(col, v, err);
}

/* conn_ops.literal: on failure out is left as it was. */
static int mdb_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                       struct tally_err *err)
{
	size_t start = out->len;

	if (lit_value(out, col, v, err) < 0) {
		if (out->len != start)
			buf_setlen(out, start);
		return -1;
	}
	return 0;
}

/* ---- range bounds ---------------------------------------------------------------- */

/*
 * A bound is only compared with the column, never stored, so no storage
 * check applies (length, scale, range, labels). What matters is that the
 * comparison the server makes is the one meant, in the column's own order
 * and collation, whatever the sql_mode:
 *   - text is a plain or _utf8mb4 X'..' constant: it coerces to the
 *     column's character set and collation, so a latin1 or _ci key is
 *     compared in its own collation and read through its index;
 *   - a number, date or time is first rounded toward minus infinity to
 *     what the column can hold (integer, the decimal's scale, the
 *     fractional seconds, the nearest double below): for a column value x
 *     on that grid, x > b and x <= b are unchanged, and the server never
 *     rounds or truncates the constant in its own way (a YEAR compared with
 *     5 means 2005, a DATETIME with year 10000 compares as a string);
 *   - a value beyond every value the column can hold is clamped to the
 *     largest one (same comparisons); below the smallest one it is refused;
 *   - enum and set values are compared by their index, the server's order;
 *   - NaN and infinity cannot be compared and are refused.
 */

static int bound_fail(const struct coldesc *col, struct tally_err *err, const char *why)
{
	return err_set(err, ERR_DATA, "cannot write a range bound for column '%s' (%s): %s",
	               col->name, col->native ? col->native : ltype_name(col->type), why);
}

static int bound_mismatch(const struct coldesc *col, const struct sqlval *v,
                          struct tally_err *err)
{
	char why[96];

	snprintf(why, sizeof(why), "%s cannot be compared with this column type",
	         sqlval_noun(v->kind));
	return bound_fail(col, err, why);
}

/* -1, 0 or 1 as a < b, a == b, a > b. */
static int num_cmp(const struct num *a, const struct num *b)
{
	int mag = 0;
	size_t n;

	if (a->neg != b->neg)
		return a->neg ? -1 : 1;
	if (a->nip != b->nip) {
		mag = a->nip < b->nip ? -1 : 1;
	} else if (a->nip && (mag = memcmp(a->ip, b->ip, a->nip)) != 0) {
		mag = mag < 0 ? -1 : 1;
	} else {
		n = a->nfp < b->nfp ? a->nfp : b->nfp;
		mag = n ? memcmp(a->fp, b->fp, n) : 0;
		if (mag)
			mag = mag < 0 ? -1 : 1;
		else if (a->nfp != b->nfp)   /* no trailing zeros: the longer one is larger */
			mag = a->nfp > b->nfp ? 1 : -1;
	}
	return a->neg ? -mag : mag;
}

/*
 * x rounded toward minus infinity to `scale` fractional digits, then
 * clamped to +-10^maxdig when its integer part is longer than maxdig
 * digits (the column holds nothing that large), written as a number.
 */
static void add_num_floor(struct buf *out, const struct num *x, size_t scale, size_t maxdig)
{
	struct buf digits = BUF_INIT, txt = BUF_INIT;
	struct num y;

	if (x->nip > maxdig) {
		buf_addstr(out, x->neg ? "-1" : "1");
		for (size_t i = 0; i < maxdig; i++)
			buf_addch(out, '0');
		return;
	}
	if (x->nfp <= scale) {
		num_add(out, x);
		return;
	}
	/* digits of the integer part and the kept fraction, as one number */
	buf_add(&digits, x->ip, x->nip);
	buf_add(&digits, x->fp, scale);
	if (x->neg) {
		/* a dropped digit is non-zero (no trailing zeros): one unit more in magnitude */
		size_t i = digits.len;

		while (i > 0 && digits.data[i - 1] == '9')
			digits.data[--i] = '0';
		if (i > 0) {
			digits.data[i - 1]++;
		} else {
			buf_addch(&digits, '0');
			memmove(digits.data + 1, digits.data, digits.len - 1);
			digits.data[0] = '1';
		}
		buf_addch(&txt, '-');
	}
	if (digits.len == scale)
		buf_addch(&txt, '0');
	buf_add(&txt, digits.data, digits.len - scale);
	if (scale) {
		buf_addch(&txt, '.');
		buf_add(&txt, digits.data + digits.len - scale, scale);
	}
	num_parse(txt.data, txt.len, &y);     /* drops the zeros the rounding left */
	num_add(out, &y);
	buf_release(&digits);
	buf_release(&txt);
}

/*
 * The largest double not above the decimal number x, for a FLOAT or
 * DOUBLE column (a FLOAT is compared as the double it widens to): a
 * column value d is above x exactly when it is above that double. strtod
 * rounds to nearest; glibc prints a double's exact decimal value, which
 * tells whether it rounded up. False when x is below -DBL_MAX.
 */
static bool num_floor_double(const struct num *x, double *out)
{
	struct buf txt = BUF_INIT;
	char exact[1500];
	struct num y;
	double d;

	num_add(&txt, x);
	d = strtod(txt.data, NULL);
	buf_release(&txt);
	if (isinf(d)) {
		if (d < 0)
			return false;
		*out = DBL_MAX;
		return true;
	}
	snprintf(exact, sizeof(exact), "%.1100f", d);
	if (num_parse(exact, strlen(exact), &y) && num_cmp(&y, x) > 0)
		d = nextafter(d, -INFINITY);
	if (isinf(d))
		return false;
	*out = d;
	return true;
}

/* A number bound for an integer, decimal, year or float column. */
static int bound_number(struct buf *out, const struct coldesc *col, const struct num *x,
                        struct tally_err *err)
{
	switch (col->type) {
	case LT_INT:
	case LT_BOOL:
		add_num_floor(out, x, 0, 20);     /* 2^64 has 20 digits */
		return 0;
	case LT_DECIMAL: {
		size_t scale = col->scale >= 0 ? (size_t)col->scale : 30;
		size_t maxdig = col->precision > 0 && col->precision >= col->scale
		                ? (size_t)(col->precision - (col->scale > 0 ? col->scale : 0)) : 65;

		add_num_floor(out, x, scale, maxdig);
		return 0;
	}
	case LT_YEAR: {
		/*
		 * A YEAR holds 0 and 1901..2155, and the server reads a constant
		 * 1..99 as 1970..2069 and clips others: 0 stands for any year in
		 * 0..1900, -1 for any negative one, 2155 for any later one.
		 */
		struct buf txt = BUF_INIT;
		long y;

		add_num_floor(&txt, x, 0, 6);
		y = strtol(txt.data, NULL, 10);
		buf_release(&txt);
		if (y < 0)
			buf_addstr(out, "-1");
		else if (y < 1901)
			buf_addstr(out, "0");
		else
			buf_addf(out, "%ld", y > 2155 ? 2155L : y);
		return 0;
	}
	case LT_FLOAT: {
		double d;

		if (!num_floor_double(x, &d))
			return bound_fail(col, err, "number is below the range of a double");
		add_double(out, d);
		return 0;
	}
	default:
		return -2;
	}
}

/*
 * Can the column's character set hold every character of valid UTF-8 s?
 * Known for ascii, latin1 (MariaDB's latin1 is cp1252 with the five
 * undefined bytes mapped to C1 controls) and utf8mb3; the server refuses
 * a comparison it cannot convert ("Illegal mix of collations") for the
 * others.
 */
static bool text_in_charset(const char *cs, const char *s, size_t n)
{
	static const uint16_t cp1252[] = {
		0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030,
		0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c,
		0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d,
		0x017e, 0x0178,
	};
	bool ascii = strcmp(cs, "ascii") == 0, latin1 = strcmp(cs, "latin1") == 0;
	bool mb3 = strcmp(cs, "utf8mb3") == 0 || strcmp(cs, "utf8") == 0;
	uint32_t cp;

	for (size_t i = 0, len; i < n; i += len) {
		bool ok = true;

		len = utf8_char((const unsigned char *)s + i, n - i, &cp);
		if (ascii)
			ok = cp < 0x80;
		else if (mb3)
			ok = cp <= 0xffff;
		else if (latin1 && (cp >= 0x80 && (cp < 0xa0 || cp > 0xff))) {
			ok = false;
			for (size_t k = 0; k < sizeof(cp1252) / sizeof(cp1252[0]); k++)
				ok |= cp1252[k] == cp;
		}
		if (!ok)
			return false;
	}
	return true;
}

static int bound_text(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                      struct tally_err *err)
{
	if (utf8_count(s, n) < 0)
		return bound_fail(col, err, "text is not valid UTF-8");
	if (col->charset && !text_in_charset(col->charset, s, n))
		return bound_fail(col, err, "text holds a character the column's character set "
		                  "cannot hold");
	mdb_add_text(out, s, n);
	return 0;
}

/*
 * An enum value as its index (1-based; 0 is the invalid value ''), a set
 * value as its bit mask: the numbers the server orders them by.
 */
static int bound_labels(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                        struct tally_err *err)
{
	size_t idx;
	uint64_t mask = 0;

	if (col->nlabels == 0)
		return bound_fail(col, err, "the column's labels are unknown");
	if (col->type == LT_ENUM) {
		if (n == 0) {
			if (is_label(col, s, 0, &idx))
				return bound_fail(col, err, "an empty value is ambiguous: it may be the "
				                  "declared label '' or the invalid value");
			buf_addch(out, '0');
			return 0;
		}
		if (!is_label(col, s, n, &idx))
			return bound_fail(col, err, "value is not one of the column's labels");
		buf_addf(out, "%zu", idx + 1);
		return 0;
	}
	for (size_t i = 0; n > 0 && i <= n;) {
		const char *comma = memchr(s + i, ',', n - i);
		size_t len = comma ? (size_t)(comma - (s + i)) : n - i;

		if (!is_label(col, s + i, len, &idx) || idx >= 64)
			return bound_fail(col, err, "value is not a list of the column's labels");
		mask |= UINT64_C(1) << idx;
		i += len + 1;
	}
	buf_addf(out, "%" PRIu64, mask);
	return 0;
}

/* BIT(n) compares as an unsigned integer: the big-endian bytes as a number. */
static void bound_bits(struct buf *out, const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < n && s[i] == 0)
		i++;
	if (n - i > 8) {
		buf_addstr(out, "18446744073709551615");   /* above every BIT(64) */
		return;
	}
	for (; i < n; i++)
		v = v << 8 | (unsigned char)s[i];
	buf_addf(out, "%" PRIu64, v);
}

/* Does s[0..n) hold only characters of `allowed` (and is it not empty)? */
static bool only_chars(const char *s, size_t n, const char *allowed)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(allowed, s[i]))
			return false;
	return true;
}

#define HEXDIGITS "0123456789abcdefABCDEF"

/*
 * Microseconds floored to fsp digits (toward minus infinity); a value
 * within a unit of INT64_MIN, far below anything MariaDB holds, floors to
 * INT64_MIN instead of overflowing.
 */
static int64_t floor_us(int64_t us, int fsp)
{
	int64_t unit = 1, r;

	for (int i = fsp < 0 ? 0 : fsp; i < 6; i++)
		unit *= 10;
	r = us % unit;
	if (r >= 0)
		return us - r;
	return us - r >= INT64_MIN + unit ? us - r - unit : INT64_MIN;
}

/* Days from 2000-01-01 of a proleptic Gregorian date (year 0 is 1 BC). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

static void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468 + 10957;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* YYYY-MM-DD of a day in years 0..9999, as MariaDB writes it (year 0 is 0000). */
static void add_civil_date(struct buf *out, int64_t days)
{
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	buf_addf(out, "%04d-%02u-%02u", (int)y, m, d);
}

/* HH:MM:SS[.f] of microseconds within a day, with exactly fsp digits. */
static void add_clock_of_day(struct buf *out, int64_t us, int fsp)
{
	struct sqlval t = { .kind = SV_TIME, .i = us };

	sqlval_iso(out, &t, fsp);
}

/* Dates, times and timestamps: floored to the column's fsp, clamped above. */
static int bound_temporal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                          struct tally_err *err)
{
	bool ok;
	int fsp = col->type == LT_DATE ? 0 : col->fsp;
	int64_t i = v->i;

	switch (v->kind) {
	case SV_DATE:
		ok = col->type == LT_DATE;
		break;
	case SV_TIME:
		ok = col->type == LT_TIME;
		break;
	default:
		ok = col->type == LT_TIMESTAMP || col->type == LT_TIMESTAMPTZ;
		break;
	}
	if (!ok)
		return bound_mismatch(col, v, err);
	if (v->special == SVS_PINF || v->special == SVS_NINF)
		return bound_fail(col, err, "MariaDB cannot compare infinity");
	if (v->special == SVS_ZERO && v->kind != SV_TIME) {
		struct sqlval z = *v;

		/* a zero date packs y*10000+m*100+d (times a day): never negative */
		if (v->i < 0)
			return bound_fail(col, err, "not a valid zero date");
		if (v->kind != SV_DATE) {
			int64_t packed = v->i / MDB_DAY_US;

			z.i = packed * MDB_DAY_US + floor_us(v->i - packed * MDB_DAY_US, fsp);
		}
		return lit_zero_date(out, col, &z, err) < 0 ? bound_fail(col, err, "not a valid zero "
		                                                        "date") : 0;
	}
	if (v->special != SVS_NONE)
		return bound_fail(col, err, "not a valid date or time");
	if (v->kind == SV_TIME) {
		i = floor_us(i, fsp);
		if (i < -MDB_TIME_MAX_US)
			return bound_fail(col, err, "a time below -838:59:59.999999 cannot be compared");
		if (i > MDB_TIME_MAX_US)
			i = floor_us(MDB_TIME_MAX_US, fsp);
		buf_addch(out, '\'');
		add_clock_of_day(out, i, fsp);
		buf_addch(out, '\'');
		return 0;
	}
	if (sqlval_year(v) < 0)
		return bound_fail(col, err, "a date before the year 0000 cannot be compared");
	if (v->kind == SV_DATE) {
		if (sqlval_year(v) > 9999)
			i = days_from_civil(9999, 12, 31);
		buf_addch(out, '\'');
		add_civil_date(out, i);
		buf_addch(out, '\'');
		return 0;
	}
	i = floor_us(i, fsp);
	if (sqlval_year(v) > 9999)
		i = floor_us(days_from_civil(10000, 1, 1) * MDB_DAY_US - 1, fsp);
	{
		int64_t days = i / MDB_DAY_US, us = i % MDB_DAY_US;

		if (us < 0) {
			us += MDB_DAY_US;
			days--;
		}
		buf_addch(out, '\'');
		add_civil_date(out, days);
		buf_addch(out, ' ');
		add_clock_of_day(out, us, fsp);
		buf_addch(out, '\'');
	}
	return 0;
}

/* A uuid's 16 bytes as 8-4-4-4-12 hex digits. */
static size_t uuid_text(char *txt, size_t cap, const unsigned char *u)
{
	size_t o = 0;

	for (size_t i = 0; i < 16; i++)
		o += (size_t)snprintf(txt + o, cap - o, "%s%02x",
		                      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u[i]);
	return o;
}

static int bound_value(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                       struct tally_err *err)
{
	enum ltype t = col->type;
	bool text_col = t == LT_TEXT || t == LT_CHAR || t == LT_JSON;
	bool label_col = t == LT_ENUM || t == LT_SET;
	bool raw_col = t == LT_BYTES || t == LT_OTHER;
	const char *s = v->s ? v->s : "";
	size_t n = v->s ? v->len : 0;
	struct num x;
	int rc;

	switch (v->kind) {
	case SV_NULL:
		return bound_fail(col, err, "a range bound cannot be NULL");
	case SV_NUMBER:
		if (v->special != SVS_NONE)
			return bound_fail(col, err, "MariaDB cannot compare NaN or infinity");
		if (!num_parse(s, n, &x))
			return bound_fail(col, err, "not a valid number");
		if (text_col)
			return bound_text(out, col, s, n, err);
		rc = bound_number(out, col, &x, err);
		return rc == -2 ? bound_mismatch(col, v, err) : rc;
	case SV_FLOAT:
		if (isnan(v->d) || isinf(v->d))
			return bound_fail(col, err, "MariaDB cannot compare NaN or infinity");
		if (t == LT_FLOAT) {
			add_double(out, v->d);
			return 0;
		}
		if (t == LT_INT || t == LT_BOOL || t == LT_DECIMAL || t == LT_YEAR) {
			struct buf txt = BUF_INIT;

			double_plain(&txt, v->d);
			num_parse(txt.data, txt.len, &x);
			rc = bound_number(out, col, &x, err);
			buf_release(&txt);
			return rc;
		}
		return bound_mismatch(col, v, err);
	case SV_BOOL:
		if (t == LT_INT || t == LT_BOOL || t == LT_DECIMAL || t == LT_BIT) {
			buf_addch(out, v->b ? '1' : '0');
			return 0;
		}
		if (t == LT_FLOAT) {
			buf_addstr(out, v->b ? "1e0" : "0e0");
			return 0;
		}
		return bound_mismatch(col, v, err);
	case SV_BITS:
		rc = lit_bits(out, col, s, n, err);
		return rc == -2 ? bound_mismatch(col, v, err) : rc;
	case SV_TEXT:
	case SV_BYTES:
	case SV_RAW:
		if (raw_col) {
			add_bytes(out, s, n);
			return 0;
		}
		if (t == LT_BIT) {
			bound_bits(out, s, n);
			return 0;
		}
		if (label_col)
			return bound_labels(out, col, s, n, err);
		if (t == LT_UUID || t == LT_INET) {
			if (!only_chars(s, n, t == LT_UUID ? HEXDIGITS "-" : HEXDIGITS ":."))
				return bound_fail(col, err, t == LT_UUID ? "not a valid uuid"
				                  : "not a valid address");
			mdb_add_text(out, s, n);
			return 0;
		}
		if (text_col || v->kind == SV_RAW)
			return bound_text(out, col, s, n, err);
		return bound_mismatch(col, v, err);
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		return bound_temporal(out, col, v, err);
	case SV_UUID: {
		char txt[40];
		size_t len;

		if (!v->s || v->len != 16)
			return bound_fail(col, err, "a uuid value must have 16 bytes");
		if (t == LT_BYTES) {
			add_bytes(out, v->s, 16);
			return 0;
		}
		if (t != LT_UUID && !text_col)
			return bound_mismatch(col, v, err);
		len = uuid_text(txt, sizeof(txt), (const unsigned char *)v->s);
		mdb_add_text(out, txt, len);
		return 0;
	}
	}
	return bound_mismatch(col, v, err);
}

/* conn_ops.bound_literal: on failure out is left as it was. */
static int mdb_bound_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                             struct tally_err *err)
{
	size_t start = out->len;

	if (bound_value(out, col, v, err) < 0) {
		if (out->len != start)
			buf_setlen(out, start);
		return -1;
	}
	return 0;
}

/*
 * conn_ops.order_is_bytewise. Numbers, dates and times order by value;
 * binary strings byte by byte (BINARY(n) pads with 0x00, which scan_next
 * returns, so the order is still that of the bytes returned). Text only
 * under a NO PAD binary collation of a character set whose code point
 * order is its UTF-8 byte order: utf8mb4_bin is PAD SPACE ('a\t' < 'a').
 * CHAR(n) never: the index keeps the value padded with spaces, so 'a\t'
 * (stored 'a\t   ') sorts before 'a' even under utf8mb4_nopad_bin, while
 * the server returns both stripped. UUID sorts by swapped segments, INET
 * by address bytes, ENUM and SET by index, BIT and FLOAT are left to the
 * engine. A DATE or DATETIME key with zero parts ('2024-00-00') sorts
 * among its year in the server but before every date in tally's order;
 * the engine's order check catches such a key.
 */
static bool mdb_order_is_bytewise(const struct coldesc *col)
{
	static const char nopad_bin[] = "_nopad_bin";
	const char *cs = col->charset ? col->charset : "", *co = col->collation ? col->collation : "";
	size_t n = strlen(co), k = sizeof(nopad_bin) - 1;

	switch (col->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_BOOL:
	case LT_DATE:
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
	case LT_YEAR:
	case LT_BYTES:
		return true;
	case LT_TEXT:
		return (strcmp(cs, "utf8mb4") == 0 || strcmp(cs, "utf8mb3") == 0 ||
		        strcmp(cs, "utf8") == 0 || strcmp(cs, "ascii") == 0) &&
		       n > k && strcmp(co + n - k, nopad_bin) == 0;
	default:
		return false;
	}
}

/* ---- chunk planning ------------------------------------------------------------- */

/*
 * plan_bounds cuts a table into ranges of its primary key of about
 * chunk_rows rows each, so that sessions can read them in parallel, each
 * with a bounded scan. Planning works like this:
 *
 *   - The table's size is information_schema.TABLES.TABLE_ROWS (InnoDB's
 *     estimate). A table under two chunks, a query, or a key the server
 *     cannot range over in its index order (not the primary key, a
 *     nullable column, an ENUM or SET, which compare by label text but
 *     sort by index, a FLOAT, whose text is not exact) gets no
 *     boundaries: one chunk.
 *
 *   - Bisection, when the first key column is an integer, YEAR, DATE,
 *     DATETIME or TIMESTAMP: the smallest and largest values come from
 *     the two ends of the primary key (ORDER BY k1 [DESC] LIMIT 1); the
 *     range is halved at its numeric midpoint (whole days or seconds for
 *     temporal types) while the optimizer estimates more than 1.5 chunks
 *     in it (EXPLAIN SELECT 1 FROM t WHERE k1 > a AND k1 <= b: InnoDB
 *     dives into the index, it reads no rows; the estimates are scaled
 *     so that they add up to TABLE_ROWS, see span_scale). Halving all
 *     ranges a level at a time spends the capped number of EXPLAINs (4 per
 *     expected chunk, plus 64) evenly; a skewed key is split deeper where
 *     its rows are. Neighbouring small ranges are then merged up to 1.5
 *     chunks, and a last range under half a chunk joins the one before.
 *     Boundaries are values of k1 alone.
 *     When one value of k1 alone holds more than two chunks (a composite
 *     key with a heavy leading value), it cannot be split this way and
 *     planning falls back to stepping.
 *
 *   - Stepping, for any other key: SELECT key FROM t WHERE key > last
 *     ORDER BY key LIMIT 1 OFFSET chunk_rows - 1, repeated until no row
 *     comes back. Each query walks chunk_rows entries of the primary key
 *     in the server and sends one row: planning walks the primary key (the
 *     clustered table, for InnoDB) once, without sending it. The last
 *     boundary is dropped when fewer than half a chunk follows it.
 *
 * Either way the boundaries are strictly increasing in the server's order
 * (the comparisons are the server's, in the key's collation) and are
 * values in the text format of scan_next.
 */

/* The database and table a spec's table name means; both owned. */
void mdb_split_table(struct mdb_conn *c, const char *table, char **db, char **name)
{
	const char *dot = strchr(table, '.');

	*db = dot ? xstrndup(table, (size_t)(dot - table)) : xstrdup(c->db);
	*name = xstrdup(dot ? dot + 1 : table);
}

/*
 * A key value in the server's text as a literal that compares with its
 * column; false for a type planning does not range over or unexpected text.
 */
static bool key_literal(struct buf *out, const struct coldesc *col, const char *s, size_t n)
{
	struct num x;

	switch (col->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_YEAR:
		if (!num_parse(s, n, &x))
			return false;
		num_add(out, &x);      /* YEAR 0000 is the number 0, the zero year */
		return true;
	case LT_DATE:
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
		if (!only_chars(s, n, "0123456789-:. "))
			return false;
		buf_addch(out, '\'');
		buf_add(out, s, n);
		buf_addch(out, '\'');
		return true;
	case LT_UUID:
	case LT_INET:
		if (!only_chars(s, n, col->type == LT_UUID ? HEXDIGITS "-" : HEXDIGITS ":."))
			return false;
		mdb_add_text(out, s, n);
		return true;
	case LT_TEXT:
	case LT_CHAR:
		if (utf8_count(s, n) < 0)
			return false;
		mdb_add_text(out, s, n);
		return true;
	case LT_BYTES:
		add_bytes(out, s, n);
		return true;
	case LT_BIT:
		bound_bits(out, s, n);
		return true;
	default:
		return false;
	}
}

/* Planning state: the request, its table, the boundaries found. */
struct plan {
	struct mdb_conn *c;
	const struct scan_req *req;
	const char *what;           /* "legacy.orders", for messages */
	uint64_t chunk;
	struct keybounds *out;
	size_t cap;
};

/* Appends one boundary of out->ncols values (copied). */
static void plan_push(struct plan *p, char *const *val, const size_t *len)
{
	struct keybounds *b = p->out;
	size_t cap = p->cap, at = b->n * b->ncols;

	b->val = xgrow(b->val, &cap, at + b->ncols, sizeof(*b->val));
	cap = p->cap;
	b->len = xgrow(b->len, &cap, at + b->ncols, sizeof(*b->len));
	p->cap = cap;
	for (size_t i = 0; i < b->ncols; i++) {
		b->val[at + i] = xmalloc(len[i] + 1);
		memcpy(b->val[at + i], val[i], len[i]);
		b->val[at + i][len[i]] = '\0';
		b->len[at + i] = len[i];
	}
	b->n++;
}

static void plan_pop(struct plan *p)
{
	struct keybounds *b = p->out;

	b->n--;
	for (size_t i = 0; i < b->ncols; i++)
		free(b->val[b->n * b->ncols + i]);
}

/* Runs a planning query and keeps its (small) result. */
static int plan_query(struct plan *p, const struct buf *sql, MYSQL_RES **res,
                      struct tally_err *err)
{
	return mdb_catalog(p->c, sql, res, "planning chunks of", p->what, err);
}

/* TABLE_ROWS and DATA_LENGTH of the table, 0 when unknown. */
static int plan_table_rows(struct plan *p, double *rows, double *bytes, struct tally_err *err)
{
	struct buf sql = BUF_INIT;
	char *db, *name;
	MYSQL_RES *r;
	MYSQL_ROW row;

	mdb_split_table(p->c, p->req->table, &db, &name);
	buf_addstr(&sql, "SELECT TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES WHERE ");
	add_name_match(&sql, "TABLE_SCHEMA", db);
	buf_addstr(&sql, " AND ");
	add_name_match(&sql, "TABLE_NAME", name);
	free(db);
	free(name);
	if (plan_query(p, &sql, &r, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	buf_release(&sql);
	row = mysql_fetch_row(r);
	*rows = row && row[0] ? (double)num_or(row[0], 0) : 0;
	*bytes = row && row[1] ? (double)num_or(row[1], 0) : 0;
	mysql_free_result(r);
	return 0;
}

/* ---- bisection ---- */

/*
 * The first key column's values as unsigned numbers in the same order:
 * integers biased by 2^63 (unsigned ones as they are), years, days since
 * 2000-01-01 or seconds since 2000-01-01 00:00:00 (floored).
 */
enum axis_kind { AX_INT, AX_UINT, AX_YEAR, AX_DATE, AX_SECONDS };

struct axis {
	enum axis_kind kind;
	int fsp;                    /* AX_SECONDS: fractional digits the column's text has */
	uint64_t min;               /* the smallest value: offsets count from it */
};

#define AX_BIAS (UINT64_C(1) << 63)

static uint64_t bias(int64_t v)
{
	return v < 0 ? (uint64_t)(v - INT64_MIN) : (uint64_t)v + AX_BIAS;
}

static int64_t unbias(uint64_t u)
{
	return u >= AX_BIAS ? (int64_t)(u - AX_BIAS) : INT64_MIN + (int64_t)u;
}

/* Parses digits s[0..n) exactly; false otherwise. */
static bool parse_digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* YYYY-MM-DD[ HH:MM:SS[.f]] into days and seconds of the day; false for zero dates. */
static bool parse_datetime(const char *s, size_t n, bool with_clock, int64_t *days, int64_t *secs)
{
	uint64_t y, mo, d, h = 0, mi = 0, se = 0;
	static const unsigned dim[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (n < 10 || s[4] != '-' || s[7] != '-' || !parse_digits(s, 4, &y) ||
	    !parse_digits(s + 5, 2, &mo) || !parse_digits(s + 8, 2, &d))
		return false;
	if (with_clock) {
		if (n < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
		    !parse_digits(s + 11, 2, &h) || !parse_digits(s + 14, 2, &mi) ||
		    !parse_digits(s + 17, 2, &se) || (n > 19 && s[19] != '.'))
			return false;
	} else if (n != 10) {
		return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1] || h > 23 || mi > 59 || se > 59)
		return false;
	*days = days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d);
	*secs = (int64_t)(h * 3600 + mi * 60 + se);
	return true;
}

/* A value's text into its axis number; false when it has none (a zero date). */
static bool axis_parse(const struct axis *ax, const char *s, size_t n, uint64_t *out)
{
	int64_t days, secs;
	uint64_t u;

	switch (ax->kind) {
	case AX_INT:
		if (n > 0 && s[0] == '-') {
			if (!parse_digits(s + 1, n - 1, &u) || u > AX_BIAS)
				return false;
			*out = AX_BIAS - u;
			return true;
		}
		if (!parse_digits(s, n, &u) || u >= AX_BIAS)
			return false;
		*out = u + AX_BIAS;
		return true;
	case AX_UINT:
		return parse_digits(s, n, out);
	case AX_YEAR:
		return parse_digits(s, n, out) && *out >= 1901 && *out <= 2155;
	case AX_DATE:
		if (!parse_datetime(s, n, false, &days, &secs))
			return false;
		*out = bias(days);
		return true;
	case AX_SECONDS:
		if (!parse_datetime(s, n, true, &days, &secs))
			return false;
		*out = bias(days * 86400 + secs);
		return true;
	}
	return false;
}

/* The text of the value at offset off from the minimum, as scan_next would send it. */
static void axis_text(struct buf *out, const struct axis *ax, uint64_t off)
{
	uint64_t u = ax->min + off;
	int64_t v = unbias(u), days, secs;

	switch (ax->kind) {
	case AX_INT:
		buf_addf(out, "%" PRId64, v);
		break;
	case AX_UINT:
		buf_addf(out, "%" PRIu64, u);
		break;
	case AX_YEAR:
		buf_addf(out, "%04" PRIu64, u);
		break;
	case AX_DATE:
		add_civil_date(out, v);
		break;
	case AX_SECONDS:
		days = v / 86400;
		secs = v % 86400;
		if (secs < 0) {
			secs += 86400;
			days--;
		}
		add_civil_date(out, days);
		buf_addch(out, ' ');
		add_clock_of_day(out, secs * 1000000, ax->fsp);
		break;
	}
}

/* The values (a, b] of the first key column, as offsets; [0, b] when a_none. */
struct span {
	bool a_none;
	uint64_t a, b;
	double est;
};

/*
 * The factor that brings the spans' estimates to the table's row count.
 * InnoDB counts the rows of a range exactly when it spans a few pages and
 * otherwise extrapolates and doubles the result, on purpose: a skewed key
 * gets estimates up to twice too high where its rows are. Scaling the sum
 * of disjoint spans covering the table to TABLE_ROWS corrects most of it;
 * the factor is kept within 1/4..4.
 */
static double span_scale(const struct span *list, size_t n, double rows)
{
	double sum = 0, f;

	for (size_t i = 0; i < n; i++)
		sum += list[i].est;
	if (sum <= 0 || rows <= 0)
		return 1;
	f = rows / sum;
	return f < 0.25 ? 0.25 : f > 4 ? 4 : f;
}

static bool span_splits(const struct span *s)
{
	return s->a_none ? s->b >= 1 : s->b - s->a >= 2;
}

/* The rows the optimizer expects in a span (EXPLAIN's rows; NULL is none). */
static int plan_explain(struct plan *p, const struct axis *ax, struct span *s,
                        struct tally_err *err)
{
	const struct coldesc *k1 = &p->req->desc->cols[p->req->key[0]];
	struct buf sql = BUF_INIT, txt = BUF_INIT, cond = BUF_INIT;
	const char *conds[1];
	MYSQL_RES *r;
	MYSQL_ROW row;
	MYSQL_FIELD *f;
	long col = -1;

	if (!s->a_none) {
		axis_text(&txt, ax, s->a);
		mdb_quote_ident(&cond, k1->name);
		buf_addstr(&cond, " > ");
		key_literal(&cond, k1, txt.data, txt.len);
		buf_addstr(&cond, " AND ");
		buf_reset(&txt);
	}
	axis_text(&txt, ax, s->b);
	mdb_quote_ident(&cond, k1->name);
	buf_addstr(&cond, " <= ");
	key_literal(&cond, k1, txt.data, txt.len);
	conds[0] = cond.data;

	buf_addstr(&sql, "EXPLAIN SELECT 1 FROM ");
	buf_addstr(&sql, p->req->desc->sqlname);
	add_where(&sql, p->req->where, conds, 1);
	buf_release(&txt);
	buf_release(&cond);
	if (plan_query(p, &sql, &r, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	buf_release(&sql);
	f = mysql_fetch_fields(r);
	for (unsigned int i = 0; i < mysql_num_fields(r); i++)
		if (f[i].name && strcmp(f[i].name, "rows") == 0)
			col = (long)i;
	row = mysql_fetch_row(r);
	s->est = col >= 0 && row && row[col] ? (double)num_or(row[col], 0) : 0;
	mysql_free_result(r);
	return 0;
}

/*
 * The first or last value of the first key column (at or above
 * `from`, a literal, when not NULL), into *val (owned, NULL when there is none).
 */
static int plan_end(struct plan *p, bool last, const char *from, char **val, size_t *len,
                    struct tally_err *err)
{
	const struct coldesc *k1 = &p->req->desc->cols[p->req->key[0]];
	struct buf sql = BUF_INIT, cond = BUF_INIT;
	const char *conds[1] = { NULL };
	MYSQL_RES *r;
	MYSQL_ROW row;

	*val = NULL;
	if (from) {
		mdb_quote_ident(&cond, k1->name);
		buf_addf(&cond, " >= %s", from);
		conds[0] = cond.data;
	}
	buf_addstr(&sql, "SELECT ");
	mdb_quote_ident(&sql, k1->name);
	buf_addstr(&sql, " FROM ");
	buf_addstr(&sql, p->req->desc->sqlname);
	add_where(&sql, p->req->where, conds, 1);
	add_order_by(&sql, p->req->desc, p->req->key, 1, last);
	buf_addstr(&sql, " LIMIT 1");
	buf_release(&cond);
	if (plan_query(p, &sql, &r, err) < 0) {
		buf_release(&sql);
		return -1;
	}
	buf_release(&sql);
	row = mysql_fetch_row(r);
	if (row && row[0]) {
		*len = mysql_fetch_lengths(r)[0];
		*val = xstrndup(row[0], *len);
	}
	mysql_free_result(r);
	return 0;
}

/*
 * Bisection (see above). *fallback is set when the key cannot be split
 * this way: a zero date at an end, or a heavy value of a composite key.
 */
static int plan_bisect(struct plan *p, double rows, bool *fallback, struct tally_err *err)
{
	const struct coldesc *k1 = &p->req->desc->cols[p->req->key[0]];
	struct axis ax = { .fsp = k1->fsp };
	struct span *list = NULL, *next = NULL;
	size_t n = 0, cap = 0, nn = 0, ncap = 0, calls = 0, maxcalls;
	char *lo = NULL, *hi = NULL;
	size_t lolen = 0, hilen = 0;
	uint64_t umin, umax;
	const char *from = NULL;
	double split = 1.5 * (double)p->chunk, acc = 0, scale = 1;
	int rc = -1;

	*fallback = false;
	switch (k1->type) {
	case LT_INT:
		ax.kind = k1->is_unsigned ? AX_UINT : AX_INT;
		break;
	case LT_YEAR:
		ax.kind = AX_YEAR;
		from = "1901";
		break;
	case LT_DATE:
		ax.kind = AX_DATE;
		from = "'0000-01-01'";
		break;
	case LT_TIMESTAMP:
		ax.kind = AX_SECONDS;
		from = "'0000-01-01 00:00:00'";
		break;
	default:    /* LT_TIMESTAMPTZ: TIMESTAMP's zero value sorts first */
		ax.kind = AX_SECONDS;
		from = "'1970-01-01 00:00:01'";
		break;
	}
	if (plan_end(p, false, NULL, &lo, &lolen, err) < 0)
		goto out;
	if (!lo) {              /* no rows */
		rc = 0;
		goto out;
	}
	if (!axis_parse(&ax, lo, lolen, &umin)) {
		/* the zero value sorts first: start after it */
		free(lo);
		lo = NULL;
		if (from && plan_end(p, false, from, &lo, &lolen, err) < 0)
			goto out;
		if (!lo || !axis_parse(&ax, lo, lolen, &umin)) {
			*fallback = true;
			rc = 0;
			goto out;
		}
	}
	if (plan_end(p, true, NULL, &hi, &hilen, err) < 0)
		goto out;
	if (!hi || !axis_parse(&ax, hi, hilen, &umax) || umax < umin) {
		*fallback = true;
		rc = 0;
		goto out;
	}
	ax.min = umin;

	maxcalls = (size_t)(4.0 * rows / (double)p->chunk) + 64;
	list = xgrow(list, &cap, 1, sizeof(*list));
	list[n++] = (struct span){ .a_none = true, .b = umax - umin };
	if (plan_explain(p, &ax, &list[0], err) < 0)
		goto out;
	calls++;
	for (bool more = true; more && calls + 2 <= maxcalls;) {
		scale = span_scale(list, n, rows);
		more = false;
		nn = 0;
		for (size_t i = 0; i < n; i++) {
			struct span s = list[i], l, r;

			if (s.est * scale <= split || !span_splits(&s) || calls + 2 > maxcalls) {
				next = xgrow(next, &ncap, nn + 1, sizeof(*next));
				next[nn++] = s;
				continue;
			}
			l = s;
			l.b = s.a_none ? s.b / 2 : s.a + (s.b - s.a) / 2;
			r = (struct span){ .a_none = false, .a = l.b, .b = s.b };
			if (plan_explain(p, &ax, &l, err) < 0 || plan_explain(p, &ax, &r, err) < 0)
				goto out;
			calls += 2;
			next = xgrow(next, &ncap, nn + 2, sizeof(*next));
			next[nn++] = l;
			next[nn++] = r;
			more = true;
		}
		{
			struct span *t = list;
			size_t tc = cap;

			list = next;
			cap = ncap;
			n = nn;
			next = t;
			ncap = tc;
		}
	}
	scale = span_scale(list, n, rows);
	for (size_t i = 0; i < n; i++)
		if (!span_splits(&list[i]) && list[i].est * scale > 2.0 * (double)p->chunk &&
		    p->req->nkey > 1) {
			*fallback = true;
			rc = 0;
			goto out;
		}

	/* merge neighbours up to 1.5 chunks; a small remainder joins the last chunk */
	for (size_t i = 0; i < n; i++) {
		double est = list[i].est * scale;

		if (acc > 0 && acc + est > split) {
			struct buf txt = BUF_INIT;
			char *v;
			size_t vlen;

			axis_text(&txt, &ax, list[i - 1].b);
			v = buf_detach(&txt, &vlen);
			plan_push(p, &v, &vlen);
			free(v);
			acc = 0;
		}
		acc += est;
	}
	if (p->out->n > 0 && acc < (double)p->chunk / 2)
		plan_pop(p);
	rc = 0;
out:
	free(list);
	free(next);
	free(lo);
	free(hi);
	return rc;
}

/* ---- stepping ---- */

/* SELECT key FROM t WHERE (where) AND key > last ...: the tail of a stepping query. */
static bool add_step_from(struct buf *sql, struct plan *p, char *const *last, const size_t *len)
{
	const struct scan_req *req = p->req;
	const struct tabdesc *d = req->desc;
	char **lit = NULL;
	struct buf one = BUF_INIT, cond = BUF_INIT;
	const char *conds[1] = { NULL };
	bool ok = true;

	if (last) {
		lit = xcalloc(req->nkey, sizeof(*lit));
		for (size_t i = 0; i < req->nkey; i++) {
			buf_reset(&one);
			ok &= key_literal(&one, &d->cols[req->key[i]], last[i], len[i]);
			lit[i] = xstrdup(one.data);
		}
		add_tuple_cmp(&cond, d, req->key, req->nkey, lit, false);
		conds[0] = cond.data;
	}
	buf_addstr(sql, " FROM ");
	buf_addstr(sql, d->sqlname);
	add_where(sql, req->where, conds, 1);
	free_strings(lit, req->nkey);
	buf_release(&one);
	buf_release(&cond);
	return ok;
}

static int plan_step(struct plan *p, struct tally_err *err)
{
	const struct scan_req *req = p->req;
	const struct tabdesc *d = req->desc;
	struct keybounds *b = p->out;
	struct buf sql = BUF_INIT;
	size_t *lens = xcalloc(req->nkey, sizeof(*lens));
	MYSQL_RES *r;
	MYSQL_ROW row;
	int rc = -1;

	b->ncols = req->nkey;
	for (;;) {
		char **last = b->n ? b->val + (b->n - 1) * b->ncols : NULL;
		size_t *len = b->n ? b->len + (b->n - 1) * b->ncols : NULL;
		unsigned long *l;

		buf_reset(&sql);
		buf_addstr(&sql, "SELECT ");
		for (size_t i = 0; i < req->nkey; i++) {
			if (i)
				buf_addstr(&sql, ", ");
			mdb_quote_ident(&sql, d->cols[req->key[i]].name);
		}
		if (!add_step_from(&sql, p, last, len))
			goto bad_value;
		add_order_by(&sql, d, req->key, req->nkey, false);
		buf_addf(&sql, " LIMIT 1 OFFSET %" PRIu64, p->chunk - 1);
		if (plan_query(p, &sql, &r, err) < 0)
			goto out;
		row = mysql_fetch_row(r);
		if (!row) {
			mysql_free_result(r);
			break;
		}
		l = mysql_fetch_lengths(r);
		{
			bool same = last != NULL;

			for (size_t i = 0; i < req->nkey; i++) {
				if (!row[i]) {
					mysql_free_result(r);
					goto bad_value;
				}
				lens[i] = l[i];
				if (same)
					same = lens[i] == len[i] && memcmp(row[i], last[i], lens[i]) == 0;
			}
			if (same) {         /* the server said key > last: cannot happen */
				mysql_free_result(r);
				goto bad_value;
			}
			plan_push(p, row, lens);
		}
		mysql_free_result(r);
	}
	/* fewer than half a chunk after the last boundary: it joins the chunk before */
	if (b->n > 0 && p->chunk / 2 > 0) {
		buf_reset(&sql);
		buf_addstr(&sql, "SELECT COUNT(*) FROM (SELECT 1");
		if (!add_step_from(&sql, p, b->val + (b->n - 1) * b->ncols,
		                   b->len + (b->n - 1) * b->ncols))
			goto bad_value;
		buf_addf(&sql, " LIMIT %" PRIu64 ") AS tally_rest", p->chunk / 2);
		if (plan_query(p, &sql, &r, err) < 0)
			goto out;
		row = mysql_fetch_row(r);
		if (row && row[0] && (uint64_t)num_or(row[0], 0) < p->chunk / 2)
			plan_pop(p);
		mysql_free_result(r);
	}
	rc = 0;
	goto out;
bad_value:
	err_set(err, ERR_DATA, "[%s pid %ld] unexpected key value from %s system '%s' while "
	        "planning chunks of %s", p->c->base.side, p->c->base.backend_pid, p->c->base.side,
	        p->c->base.system, p->what);
out:
	free(lens);
	buf_release(&sql);
	return rc;
}

static bool steppable(enum ltype t)
{
	switch (t) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_YEAR:
	case LT_DATE:
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
	case LT_TEXT:
	case LT_CHAR:
	case LT_BYTES:
	case LT_BIT:
	case LT_UUID:
	case LT_INET:
		return true;
	default:
		return false;
	}
}

static int mdb_plan_bounds(struct conn *base, const struct scan_req *req, uint64_t chunk_rows,
                           uint64_t max_bytes, struct keybounds *out, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	const struct tabdesc *d = req->desc;
	struct plan p = { .c = c, .req = req, .what = d->display, .chunk = chunk_rows, .out = out };
	bool bisect, fallback = false, bad;
	double rows = 0, bytes = 0;
	enum ltype t1;

	memset(out, 0, sizeof(*out));
	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s' while planning "
		               "chunks", c->base.side, c->base.system);
	bad = chunk_rows == 0 || req->nkey == 0 || (!d->is_query && (!d->sqlname || !req->table));
	for (size_t i = 0; i < req->nkey; i++)
		bad |= req->key[i] >= d->ncols;
	if (bad)
		return err_set(err, ERR_INTERNAL, "invalid planning request for %s on %s system '%s'",
		               d->display, c->base.side, c->base.system);
	if (d->is_query)
		return 0;
	if (plan_table_rows(&p, &rows, &bytes, err) < 0)
		return -1;
	out->rows = rows;
	chunk_rows = p.chunk = chunk_rows_for_bytes(chunk_rows, max_bytes, bytes, rows);
	if (rows < 2.0 * (double)chunk_rows || req->nkey != d->npk)
		return 0;
	for (size_t i = 0; i < req->nkey; i++) {
		const struct coldesc *k = &d->cols[req->key[i]];

		if (req->key[i] != d->pk[i] || k->nullable || !steppable(k->type))
			return 0;
	}
	t1 = d->cols[req->key[0]].type;
	bisect = t1 == LT_INT || t1 == LT_YEAR || t1 == LT_DATE || t1 == LT_TIMESTAMP ||
	         t1 == LT_TIMESTAMPTZ;
	if (bisect) {
		out->ncols = 1;
		if (plan_bisect(&p, rows, &fallback, err) < 0) {
			keybounds_release(out);
			return -1;
		}
		if (!fallback)
			return 0;
		keybounds_release(out);
		out->rows = rows;
		p.cap = 0;
	}
	if (plan_step(&p, err) < 0) {
		keybounds_release(out);
		return -1;
	}
	return 0;
}

/* ---- snapshot position and load ------------------------------------------------- */

/* conn_ops.position: what read_position found when the snapshot started. */
static int mdb_position(struct conn *base, char **out, struct tally_err *err)
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
static int mdb_load(struct conn *base, long *out, struct tally_err *err)
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
	if (mysql_real_query(c->my, sql, sizeof(sql) - 1) != 0 || !(r = mysql_store_result(c->my)))
		return mdb_fail(c, ERR_QUERY, "reading", "the server's load", err);
	row = mysql_fetch_row(r);
	n = row && mysql_num_fields(r) >= 2 ? num_or(row[1], -1) : -1;
	mysql_free_result(r);
	if (n < 0)
		return err_set(err, ERR_QUERY, "[%s pid %ld] %s system '%s' did not report "
		               "Threads_running", c->base.side, c->base.backend_pid, c->base.side,
		               c->base.system);
	*out = n > 0 ? n - 1 : 0;
	return 0;
}

/*
 * conn_ops.rank_bounds. The bounds are unioned below the key columns of
 * an empty scan of the table, so that they take the columns' types and
 * collations as the range condition compares them (a UUID by its swapped
 * segments, text by the column's collation, converted to its character
 * set first: a union does not mix them), and DENSE_RANK orders them.
 */
static int mdb_rank_bounds(struct conn *base, const struct scan_req *req, size_t nb,
                           const struct sqlval *vals, size_t n, uint32_t *rank, struct tally_err *err)
{
	struct mdb_conn *c = mdb(base);
	const struct tabdesc *d = req->desc;
	struct buf sql = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int rc = -1;

	if (mdb_usable(c, err) < 0)
		return -1;
	if (c->res)
		return err_set(err, ERR_INTERNAL, "a scan is open on %s system '%s'", c->base.side, c->base.system);
	if (nb == 0 || nb > req->nkey || (d->is_query ? !req->query : !d->sqlname))
		return err_set(err, ERR_INTERNAL, "ranking bounds of %zu key columns of %s", nb, d->display);
	buf_addstr(&sql, "SELECT tally_i, DENSE_RANK() OVER (ORDER BY ");
	for (size_t k = 0; k < nb; k++)
		buf_addf(&sql, "%stally_k%zu", k ? ", " : "", k);
	buf_addstr(&sql, ") FROM (SELECT ");
	for (size_t k = 0; k < nb; k++) {
		mdb_quote_ident(&sql, d->cols[req->key[k]].name);
		buf_addf(&sql, " AS tally_k%zu, ", k);
	}
	buf_addstr(&sql, "NULL AS tally_i FROM ");
	add_from(&sql, d, req->query);
	buf_addstr(&sql, " WHERE 0 UNION ALL VALUES ");
	for (size_t i = 0; i < n; i++) {
		buf_addstr(&sql, i ? ", (" : "(");
		for (size_t k = 0; k < nb; k++) {
			const struct coldesc *cd = &d->cols[req->key[k]];
			bool conv = (cd->type == LT_TEXT || cd->type == LT_CHAR) && cd->charset &&
			            strspn(cd->charset, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(cd->charset);

			if (k)
				buf_addstr(&sql, ", ");
			if (conv)
				buf_addstr(&sql, "CONVERT(");
			if (mdb_bound_literal(&sql, cd, &vals[i * nb + k], err) < 0)
				goto out;
			if (conv)
				buf_addf(&sql, " USING %s)", cd->charset);
		}
		buf_addf(&sql, ", %zu)", i + 1);
	}
	buf_addstr(&sql, ") AS tally_b WHERE tally_i IS NOT NULL");
	if (mdb_catalog(c, &sql, &res, "ranking chunk bounds of", d->display, err) < 0)
		goto out;
	if (mysql_num_fields(res) != 2 || mysql_num_rows(res) != n)
		goto bad;
	while ((row = mysql_fetch_row(res)) != NULL) {
		char *end;
		unsigned long long i, k;

		if (!row[0] || !row[1])
			goto bad;
		i = strtoull(row[0], &end, 10);
		if (*end || i < 1 || i > n)
			goto bad;
		k = strtoull(row[1], &end, 10);
		if (*end || k < 1 || k > UINT32_MAX)
			goto bad;
		rank[i - 1] = (uint32_t)k;
	}
	rc = 0;
	goto out;
bad:
	err_set(err, ERR_INTERNAL, "unexpected rank of a chunk bound from %s system '%s'", c->base.side,
	        c->base.system);
out:
	if (res)
		mysql_free_result(res);
	buf_release(&sql);
	return rc;
}

const struct conn_ops mariadb_ops = {
	.driver = "mariadb",
	.dialect = "mariadb",
	.open = mdb_open,
	.close = mdb_close,
	.describe_table = mdb_describe_table,
	.describe_query = mdb_describe_query,
	.scan_open = mdb_scan_open,
	.scan_next = mdb_scan_next,
	.scan_close = mdb_scan_close,
	.quote_ident = mdb_quote_ident,
	.literal = mdb_literal,
	.bound_literal = mdb_bound_literal,
	.script = &mariadb_script,
	.order_is_bytewise = mdb_order_is_bytewise,
	.plan_bounds = mdb_plan_bounds,
	.rank_bounds = mdb_rank_bounds,
	.export_txsnap = NULL,      /* each session has its own snapshot */
	.position = mdb_position,
	.load = mdb_load,
	.table_stamp = mdb_table_stamp,
	.watch = mdb_watch,
	.cancel = mdb_cancel,
	.keepalive = mdb_keepalive,
};
