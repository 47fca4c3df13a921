/*
 * connectors/postgres_int.h
 *   Inside the PostgreSQL driver: the session struct and the helpers that
 *   postgres.c (sessions, describe, scans, literals) shares with
 *   postgres_guard.c (limits, table locks, table stamps, the monitor's
 *   watch). Only these two files include it; the engine sees
 *   connector.h alone.
 */
#ifndef TALLY_POSTGRES_INT_H
#define TALLY_POSTGRES_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "../connector.h"

#define PGC_SAVEPOINT "tally_sp"

struct pgsess {
	struct conn base;          /* first: the engine holds a struct conn * */
	PGconn *pg;
	struct tally_err fail;     /* the error that set base.failed, repeated */
	char *default_coll;        /* owned: the database's default collation, by name */
	bool monitor;              /* no transaction: every statement is its own */
	long lock_ms;              /* lock_timeout in force, milliseconds; 0: none */

	/* The scan, between scan_open() and scan_close(). */
	bool scanning;
	bool copying;              /* the COPY has not ended yet */
	bool in_savepoint;         /* SAVEPOINT tally_sp is still open */
	char *what;                /* owned: "public.orders" or "the query" */
	char *copybuf;             /* libpq's buffer for the current row */
	size_t ncols;
	size_t cap;                /* allocated length of val, len, hexcol */
	const char **val;
	size_t *len;
	bool *hexcol;              /* bytea column: decode \x hex in place */
	struct rawrow row;
};

/* postgres.c */

/* Copies s into dst without its trailing newlines and blanks. */
void pgc_trimmed(char *dst, size_t cap, const char *s);
const char *pgc_sqlstate(const PGresult *res);
/*
 * Reports a failed statement: ERR_LOST "lost connection ... while <doing>"
 * when the session broke, else the message fmt as ERR_QUERY (ERR_TIMEOUT
 * for SQLSTATE 57014, a statement cancelled by its time limit or by
 * tally; ERR_LOCKED for 55P03, a lock not granted in time). Both are
 * prefixed "[side pid N] "; detail is the server's primary message, hint
 * its hint, sqlstate its SQLSTATE. A lost session, or sticky, fails the
 * session for good.
 */
int pgc_stmt_err(struct pgsess *s, const PGresult *res, bool sticky, const char *doing,
                 struct tally_err *err, const char *fmt, ...) TALLY_PRINTF(6, 7);
void pgc_quote_ident(struct buf *out, const char *name);
/* Appends "schema"."name" (or "name") for a table as the spec names it. */
void pgc_add_table_name(struct buf *out, const char *table);
bool pgc_parse_long(const char *s, long *out);
/* Runs a statement that returns no rows; *resp holds the result on failure. */
int pgc_command(struct pgsess *s, const char *sql, PGresult **resp);
/* Runs a parameterized catalog query; ok when it returns rows. */
PGresult *pgc_query(struct pgsess *s, const char *sql, int nparams, const char *const *params);
bool pgc_rows_ok(const PGresult *res);
/* SAVEPOINT tally_sp and its ends; a failure fails the session. */
int pgc_savepoint(struct pgsess *s, const char *doing, struct tally_err *err);
int pgc_rollback_savepoint(struct pgsess *s, const char *doing, struct tally_err *err);
int pgc_release_savepoint(struct pgsess *s, const char *doing, struct tally_err *err);
/* Undoes a failed statement of the savepoint; err keeps the first failure. */
void pgc_undo(struct pgsess *s, const char *doing, struct tally_err *err);
/* Session calls other than a scan's need the connection to themselves. */
int pgc_check_idle(struct pgsess *s, const char *what, struct tally_err *err);

/* postgres_guard.c */

/*
 * Reads the role's own limits (statement_timeout, lock_timeout,
 * idle_in_transaction_session_timeout) and sets the session's from cfg
 * (see struct conn_cfg). Runs before BEGIN.
 */
int pgc_set_limits(struct pgsess *s, const struct conn_cfg *cfg, struct tally_err *err);
/*
 * LOCK TABLE ... IN ACCESS SHARE MODE on each of cfg->lock, right after
 * BEGIN and before the first statement that takes the snapshot. A table
 * that does not exist (or is not a table or view) is skipped; a lock not
 * granted within the lock timeout fails with ERR_LOCKED naming who holds
 * a conflicting one.
 */
int pgc_lock_tables(struct pgsess *s, const struct conn_cfg *cfg, struct tally_err *err);
int pgc_table_stamp(struct conn *c, const char *table, char **out, struct tally_err *err);
int pgc_watch(struct conn *c, const long *pids, size_t npids, const char *const *tables, size_t ntables,
              struct conn_watch *out, struct tally_err *err);
int pgc_cancel(struct conn *c, long pid, struct tally_err *err);
int pgc_keepalive(struct conn *c, struct tally_err *err);

#endif
