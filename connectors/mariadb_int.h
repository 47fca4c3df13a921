/*
 * connectors/mariadb_int.h
 *   Inside the MariaDB driver: the session struct and the helpers that
 *   mariadb.c (sessions, describe, scans, literals, chunks) shares with
 *   mariadb_guard.c (limits, metadata locks, table stamps, the monitor's
 *   watch). Only these two files include it; the engine sees connector.h
 *   alone.
 */
#ifndef TALLY_MARIADB_INT_H
#define TALLY_MARIADB_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <mysql.h>

#include "connector.h"

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

/* mariadb.c */

/*
 * Fills err from the session's last error, `doing` e.g. "reading" and
 * `what` e.g. "legacy.orders": ERR_LOST (and a failed session) when the
 * connection is gone, `kind` otherwise (ERR_TIMEOUT when the statement
 * ran past max_statement_time, ERR_LOCKED for a lock wait timeout). The
 * server's text goes to detail, its SQLSTATE to err->sqlstate. Returns -1.
 */
int mdb_fail(struct mdb_conn *c, enum err_kind kind, const char *doing, const char *what,
             struct tally_err *err);
/* Sticky failure: after a fatal error every call fails at once. */
int mdb_usable(struct mdb_conn *c, struct tally_err *err);
/* Runs a statement that returns no rows (or whose rows are ignored). */
int mdb_exec(struct mdb_conn *c, const char *sql, const char *doing, const char *what,
             struct tally_err *err);
/* Runs a small catalog query and keeps its result (never for data). */
int mdb_catalog(struct mdb_conn *c, const struct buf *sql, MYSQL_RES **res, const char *doing,
                const char *what, struct tally_err *err);
void mdb_quote_ident(struct buf *out, const char *name);
/* A string constant that no sql_mode can misread: _utf8mb4 X'6f72...' */
void mdb_add_hexstr(struct buf *out, const char *s);
/* The database and table a spec's table name means; both owned. */
void mdb_split_table(struct mdb_conn *c, const char *table, char **db, char **name);

/* mariadb_guard.c */

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
int mdb_table_stamp(struct conn *base, const char *table, char **out, struct tally_err *err);
int mdb_watch(struct conn *base, const long *pids, size_t npids, const char *const *tables,
              size_t ntables, struct conn_watch *out, struct tally_err *err);
int mdb_cancel(struct conn *base, long pid, struct tally_err *err);
int mdb_keepalive(struct conn *base, struct tally_err *err);

#endif
