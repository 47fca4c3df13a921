/*
 * connectors/mariadb/my_int.h
 *   Inside the MariaDB driver: the session struct and what the driver's
 *   files share. Only connectors/mariadb/ includes it; the engine sees
 *   connector.h alone.
 *
 * The files, in the order a run uses them:
 *   driver.c       the conn_ops table
 *   dsn.c          mariadb://user[:password]@host[:port]/db[?...] parsed
 *   session.c      open and close, errors, small SQL helpers, position, load
 *   guard.c        limits, metadata locks, table stamps, the monitor's watch
 *   describe.c     information_schema and result metadata -> tabdesc
 *   plan.c         chunk bounds (bisection, stepping) and their ranking
 *   scan.c         SELECT ... WHERE range ORDER BY key, streamed row by row
 *   literal.c      values as literals: for a repair (stored) or a bound (compared)
 *   literal_num.c  the numbers and booleans among them
 *   script.c       the repair script dialect around the literals
 *
 * A function named after a conn_ops entry (mdb_open for .open, ...)
 * implements it as connector.h documents; only what it adds is said here.
 */
#ifndef TALLY_MY_INT_H
#define TALLY_MY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "../connector.h"

extern const struct conn_ops mariadb_ops;          /* driver.c */
extern const struct script_ops mariadb_script;     /* script.c */

struct mdb_conn {
	struct conn base;             /* first: the engine sees a struct conn */
	MYSQL *my;
	char *db;                     /* the dsn's database: default for unqualified names */
	bool no_backslash_escapes;    /* sql_mode: '\' is not an escape in literals */
	enum err_kind failed_kind;    /* what the first fatal error was */
	char *position;               /* "gtid 0-1-42" or "binlog off", read at open */
	bool monitor;                 /* no transaction: autocommit, every statement its own */
	int lock_info;                /* METADATA_LOCK_INFO: -1 not asked yet, 0 absent, 1 there */
	long lock_wait;               /* lock_wait_timeout in force, seconds */

	/* The open scan, if any; val/len grow once and are reused. */
	MYSQL_RES *res;
	bool res_done;                /* the scan has read its last row */
	struct buf what;              /* "legacy.orders" or "the query", for messages */
	const char **val;
	size_t *len;
	size_t cap;
	struct rawrow row;
};

static inline struct mdb_conn *mdb(struct conn *c)
{
	return (struct mdb_conn *)c;
}

/* ---- dsn.c --------------------------------------------------------------- */

#define MDB_DEFAULT_PORT 3306

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

/*
 * Parses cfg->dsn, mariadb://user[:password]@host[:port]/database
 * [?socket=/path&connect_timeout=N] (or mysql://), percent-decoding user,
 * password, database and parameter values. On failure ERR_CONNECT names
 * cfg->dsn_shown only; d holds what was parsed so far: release it either way.
 */
int mdb_dsn_parse(struct mdb_dsn *d, const struct conn_cfg *cfg, struct tally_err *err);
void mdb_dsn_release(struct mdb_dsn *d);
/* conn_ops.check_dsn and redact_dsn: the spec's check of a dsn's scheme, and its password masked. */
int mdb_check_dsn(const char *dsn, struct tally_err *err);
char *mdb_redact_dsn(const char *dsn);

/* ---- session.c ----------------------------------------------------------- */

/*
 * conn_ops.open and .close. A session is one MYSQL handle in one read-only
 * REPEATABLE READ transaction WITH CONSISTENT SNAPSHOT, rolled back at
 * close; a monitor session (cfg->monitor) has none.
 */
int mdb_open(struct conn **out, const struct conn_cfg *cfg, struct tally_err *err);
void mdb_close(struct conn *base);
/*
 * Fills err from the session's last error, `doing` e.g. "reading" and
 * `what` e.g. "legacy.orders": ERR_LOST (and a failed session) when the
 * connection is gone, `kind` otherwise (ERR_TIMEOUT when the statement
 * ran past max_statement_time, ERR_LOCKED for a lock wait timeout). The
 * server's text goes to detail, its SQLSTATE to err->sqlstate. Returns -1.
 */
int mdb_fail(struct mdb_conn *c, enum err_kind kind, const char *doing, const char *what,
             struct tally_err *err);
/* Marks the session failed with kind, unless it already is (the first kind stays). */
void mdb_set_failed(struct mdb_conn *c, enum err_kind kind);
/* Sticky failure: after a fatal error every call fails at once. */
int mdb_usable(struct mdb_conn *c, struct tally_err *err);
/* Runs a statement that returns no rows (or whose rows are ignored). */
/* mysql_real_query, counted in c->base.io.queries. */
int mdb_real_query(struct mdb_conn *c, const char *sql, unsigned long len);
int mdb_exec(struct mdb_conn *c, const char *sql, const char *doing, const char *what,
             struct tally_err *err);
/* Runs a small catalog query and keeps its result (never for data). */
int mdb_catalog(struct mdb_conn *c, const struct buf *sql, MYSQL_RES **res, const char *doing,
                const char *what, struct tally_err *err);
/* conn_ops.quote_ident: `name`, with ` doubled; the driver's only identifier quoting. */
void mdb_quote_ident(struct buf *out, const char *name);
/* A string constant that no sql_mode can misread: _utf8mb4 X'6f72...' */
void mdb_add_hexstr(struct buf *out, const char *s);
/* col = the name AND BINARY col = the name: exact, and the server can look the name up. */
void mdb_add_name_match(struct buf *out, const char *col, const char *name);
/* What a scan reads: the table's sqlname, or the query as "(\n query \n) AS tally_q". */
void mdb_add_from(struct buf *sql, const struct tabdesc *d, const char *query);
/* The query as a subquery "(\n query \n) AS tally_q", its trailing ';' and spaces dropped. */
void mdb_add_subquery(struct buf *sql, const char *q);
/* Parses a catalog number; `dflt` when NULL or not a number. */
long mdb_num_or(const char *s, long dflt);
/* The database and table a spec's table name means; both owned. */
void mdb_split_table(struct mdb_conn *c, const char *table, char **db, char **name);
/* conn_ops.position (read when the snapshot began) and .load (Threads_running). */
int mdb_position(struct conn *base, char **out, struct tally_err *err);
int mdb_load(struct conn *base, long *out, struct tally_err *err);

/* ---- guard.c ------------------------------------------------------------- */

/*
 * Reads the session's limits as the server and the user's account set
 * them (max_statement_time, lock_wait_timeout, net_write_timeout, the idle
 * transaction timeouts) and sets the session's from cfg (struct conn_cfg).
 */
int mdb_set_limits(struct mdb_conn *c, const struct conn_cfg *cfg, struct tally_err *err);
/*
 * Takes a metadata lock on each of cfg->lock, for the rest of the
 * transaction, by an empty read; a table that does not exist or cannot be
 * read is skipped. A lock not granted within lock_wait_timeout fails
 * with ERR_LOCKED, naming who holds it where the server can tell.
 */
int mdb_lock_tables(struct mdb_conn *c, const struct conn_cfg *cfg, struct tally_err *err);
/* conn_ops.table_stamp, .watch, .cancel and .keepalive. */
int mdb_table_stamp(struct conn *base, const char *table, char **out, struct tally_err *err);
int mdb_watch(struct conn *base, const long *pids, size_t npids, const char *const *tables,
              size_t ntables, struct conn_watch *out, struct tally_err *err);
int mdb_cancel(struct conn *base, long pid, struct tally_err *err);
int mdb_keepalive(struct conn *base, struct tally_err *err);

/* ---- describe.c ---------------------------------------------------------- */

/* conn_ops.describe_table (information_schema) and .describe_query (result metadata). */
int mdb_describe_table(struct conn *base, const char *table, struct tabdesc *out,
                       struct tally_err *err);
/* catalog.c */
int mdb_list_tables(struct conn *base, const char *schema, bool include_views, struct tablist *out,
                    struct tally_err *err);
int mdb_describe_query(struct conn *base, const char *sql_in, struct tabdesc *out,
                       struct tally_err *err);

/* ---- scan.c -------------------------------------------------------------- */

/* conn_ops.scan_open, .scan_next, .scan_close and .order_is_bytewise. */
int mdb_scan_open(struct conn *base, const struct scan_req *req, struct tally_err *err);
int mdb_scan_next(struct conn *base, struct rawrow **row, struct tally_err *err);
void mdb_scan_close(struct conn *base);
/* conn_ops.count_rows: SELECT count(*) over the scan's range. */
int mdb_count_rows(struct conn *base, const struct scan_req *req, uint64_t *out, struct tally_err *err);
/* The condition for a range bound over the first n key columns (*cond malloc'd; NULL for none). */
int mdb_range_cond(const struct scan_req *req, const struct sqlval *b, size_t n, bool upper,
                   char **cond, struct tally_err *err);

/* digest.c: conn_ops entries (pushdown) */

int mdb_digest_rows(struct conn *base, const struct scan_req *req, size_t nb, const struct sqlval *bounds,
                    enum digest_hash hash, struct rangedigest *out, struct tally_err *err);
int mdb_split_range(struct conn *base, const struct scan_req *req, uint64_t step, struct keybounds *out,
                    struct tally_err *err);
bool mdb_order_is_bytewise(const struct coldesc *col);
/*
 * (k1, ..., kn) > (lit[0], ..., lit[n-1]), or <= with upper, over the key
 * columns key[] of d, in the expanded form MariaDB reads as an index range.
 */
void mdb_add_tuple_cmp(struct buf *sql, const struct tabdesc *d, const size_t *key, size_t n,
                       char *const *lit, bool upper);
/*
 * " WHERE (\nwhere\n) AND cond AND ..." for the user's where (NULL or "")
 * and the conditions given (a NULL one is skipped).
 */
void mdb_add_where(struct buf *sql, const char *where, const char *const *cond, size_t ncond);
/* " ORDER BY k1 [DESC], ..." over the key columns key[] of d. */
void mdb_add_order_by(struct buf *sql, const struct tabdesc *d, const size_t *key, size_t n,
                      bool desc);
/* Frees n strings and the array; accepts NULL. */
void mdb_free_strings(char **s, size_t n);

/* ---- plan.c -------------------------------------------------------------- */

/* conn_ops.plan_bounds (bisection or stepping, see plan.c) and .rank_bounds. */
int mdb_plan_bounds(struct conn *base, const struct scan_req *req, uint64_t chunk_rows,
                    uint64_t max_bytes, struct keybounds *out, struct tally_err *err);
int mdb_rank_bounds(struct conn *base, const struct scan_req *req, size_t nb,
                    const struct sqlval *vals, size_t n, uint32_t *rank, struct tally_err *err);

/* ---- literal.c, literal_num.c -------------------------------------------- */

/*
 * conn_ops.literal (a value a repair stores) and bound_literal (a range
 * bound, only compared): on failure out is left as it was.
 */
int mdb_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                struct tally_err *err);
int mdb_bound_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                      struct tally_err *err);
/*
 * Appends UTF-8 text as a string constant: 'it''s' when that is plain,
 * _utf8mb4 X'...' otherwise (a backslash, a control character, or one
 * that hides or reorders what a reviewer sees).
 */
void mdb_add_text(struct buf *out, const char *s, size_t n);
/*
 * A key value in the server's text (what scan_next yields) as a literal
 * that compares with its column; false for a type planning does not range
 * over, or text that is not that type's.
 */
bool mdb_key_literal(struct buf *out, const struct coldesc *col, const char *s, size_t n);
/*
 * The writers both files share. bound says which literal: a repair's
 * value or a range bound. Each returns 0, or -1 with err filled, or -2
 * (nothing written, err untouched) when the column's type takes no value
 * of this kind: literal.c words that refusal.
 */
/* Text into a column the server parses text for; see literal.c for what a bound checks. */
int mdb_text_lit(struct buf *out, const struct coldesc *col, const char *s, size_t n, bool bound,
                 struct tally_err *err);
/* SV_NUMBER, SV_FLOAT and SV_BOOL values (literal_num.c). */
int mdb_number_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                   bool bound, struct tally_err *err);
int mdb_float_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v, bool bound,
                  struct tally_err *err);
int mdb_bool_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v, bool bound,
                 struct tally_err *err);
/*
 * The failure of a literal, ERR_DATA: "cannot write a value for column
 * 'c' (native): why", or "a range bound" with bound; never the value.
 */
int mdb_lit_fail(const struct coldesc *col, bool bound, struct tally_err *err, const char *why);
/* Appends a number's text ([-]digits[.digits]) without redundant zeros; false if it is none. */
bool mdb_add_number(struct buf *out, const char *s, size_t n);
/*
 * Calendar arithmetic on days from 2000-01-01 (proleptic Gregorian, year
 * 0 is 1 BC), shared with plan.c's bisection.
 */
int64_t mdb_days_from_civil(int64_t y, unsigned m, unsigned d);
/* YYYY-MM-DD of a day in years 0..9999, as MariaDB writes it (year 0 is 0000). */
void mdb_add_civil_date(struct buf *out, int64_t days);
/* HH:MM:SS[.f] of microseconds within a day, with exactly fsp digits. */
void mdb_add_clock_of_day(struct buf *out, int64_t us, int fsp);

/* ---- script.c ------------------------------------------------------------ */

/*
 * script_ops.apply_command: the client command an operator runs; the dsn
 * gives server and database only, never the account or a password.
 */
void mdb_apply_command(struct buf *out, const char *file, const char *dsn);

#endif
