/*
 * connectors/postgres/pg_int.h
 *   Inside the PostgreSQL driver: the session struct and the helpers its
 *   files share (driver.c lists the files and their jobs). Only
 *   connectors/postgres/ includes it; the engine sees connector.h alone.
 *   Every function here takes a session (struct pgsess) that session.c
 *   opened, unless it says otherwise, and reports failures as
 *   pgc_stmt_err() does.
 */
#ifndef TALLY_POSTGRES_INT_H
#define TALLY_POSTGRES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "../connector.h"

#define PGC_SAVEPOINT "tally_sp"

extern const struct conn_ops postgres_ops;     /* driver.c */
extern const struct script_ops postgres_script; /* script.c */

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

/* session.c: errors */

/* Copies s into dst without its trailing newlines and blanks. */
void pgc_trimmed(char *dst, size_t cap, const char *s);
/* The session broke: the socket is gone or the server is going away (sqlstate may be NULL). */
bool pgc_is_lost(const struct pgsess *s, const char *sqlstate);
/* res's SQLSTATE, or NULL (res may be NULL). */
const char *pgc_sqlstate(const PGresult *res);
/* Marks the session failed for good; err is repeated by every later call. Returns -1. */
int pgc_set_failed(struct pgsess *s, const struct tally_err *err);
/* Repeats the error that failed the session. Returns -1. */
int pgc_sticky(const struct pgsess *s, struct tally_err *err);
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

/* session.c: small helpers (no session needed for the first five) */

/* Appends name as a quoted identifier, inner quotes doubled. */
void pgc_quote_ident(struct buf *out, const char *name);
/* Appends "schema"."name" (or "name") for a table as the spec names it. */
void pgc_add_table_name(struct buf *out, const char *table);
/* Checked decimal conversions of a whole string; false leaves *out alone. */
bool pgc_parse_long(const char *s, long *out);
bool pgc_parse_int(const char *s, int *out);
/* Length of sql without trailing blanks and semicolons. */
size_t pgc_stripped_len(const char *sql);
/* Runs a statement that returns no rows; *resp holds the result on failure. */
int pgc_command(struct pgsess *s, const char *sql, PGresult **resp);
/* PQexec, counted in s->base.io (one query; the result's values as bytes). */
PGresult *pgc_exec(struct pgsess *s, const char *sql);
/* Adds the bytes of res's values to s->base.io.bytes. */
void pgc_count_result(struct pgsess *s, const PGresult *res);
/* Runs a parameterized catalog query; ok when it returns rows. */
PGresult *pgc_query(struct pgsess *s, const char *sql, int nparams, const char *const *params);
bool pgc_rows_ok(const PGresult *res);
/* Consumes the results left after a COPY; stops at a new COPY state. */
void pgc_drain(struct pgsess *s);

/* session.c: the savepoint */

/* SAVEPOINT tally_sp and its ends; a failure fails the session. */
int pgc_savepoint(struct pgsess *s, const char *doing, struct tally_err *err);
/* Sets the savepoint, then runs then (a SET LOCAL for it to scope) unless NULL. */
int pgc_savepoint_then(struct pgsess *s, const char *then, const char *doing,
                       struct tally_err *err);
int pgc_rollback_savepoint(struct pgsess *s, const char *doing, struct tally_err *err);
int pgc_release_savepoint(struct pgsess *s, const char *doing, struct tally_err *err);
/* Undoes a failed statement of the savepoint; err keeps the first failure. */
void pgc_undo(struct pgsess *s, const char *doing, struct tally_err *err);
/* Session calls other than a scan's need the connection to themselves. */
int pgc_check_idle(struct pgsess *s, const char *what, struct tally_err *err);

/* session.c: conn_ops entries (see connector.h) */

int pgc_open(struct conn **out, const struct conn_cfg *cfg, struct tally_err *err);
void pgc_close(struct conn *c);
int pgc_export_txsnap(struct conn *c, char **id, struct tally_err *err);
int pgc_position(struct conn *c, char **out, struct tally_err *err);
int pgc_load(struct conn *c, long *out, struct tally_err *err);

/* describe.c: conn_ops entries */

int pgc_describe_table(struct conn *c, const char *table, struct tabdesc *out,
                       struct tally_err *err);
/* catalog.c */
int pgc_list_tables(struct conn *c, const char *schema, bool include_views, struct tablist *out,
                    struct tally_err *err);
int pgc_describe_query(struct conn *c, const char *sql, struct tabdesc *out,
                       struct tally_err *err);

/* scan.c */

/* Decodes bytea hex (after its "\x") from src into dst; -1 if malformed. */
long pgc_unhex(char *dst, const char *src, size_t n);
/* The key columns, as ORDER BY and a row comparison list them. */
void pgc_add_keys(struct buf *b, const struct tabdesc *d, const size_t *key, size_t n);
/* " FROM" and what a scan reads: the table, or the query as a subquery. */
void pgc_add_from(struct buf *sql, const struct tabdesc *d, const char *query);
/* conn_ops entries */
int pgc_scan_open(struct conn *c, const struct scan_req *req, struct tally_err *err);
int pgc_scan_next(struct conn *c, struct rawrow **row, struct tally_err *err);
void pgc_scan_close(struct conn *c);
/* conn_ops.count_rows: SELECT count(*) over the scan's range, in a savepoint. */
int pgc_count_rows(struct conn *c, const struct scan_req *req, uint64_t *out, struct tally_err *err);
/* (k1, k2) op (v1, v2): the first n key columns against bound values, as a range condition. */
int pgc_add_bound(struct buf *b, const struct tabdesc *d, const size_t *key, size_t n,
                  const char *op, const struct sqlval *vals, struct tally_err *err);

/* digest.c: conn_ops entries (pushdown) */

int pgc_digest_rows(struct conn *c, const struct scan_req *req, size_t nb, const struct sqlval *bounds,
                    enum digest_hash hash, struct rangedigest *out, struct tally_err *err);
int pgc_split_range(struct conn *c, const struct scan_req *req, uint64_t step, struct keybounds *out,
                    struct tally_err *err);

/* plan.c */

/* False for types without a default btree ordering (json, xml, geometry): ordered by their text. */
bool pgc_has_order(const struct coldesc *col);
/* conn_ops entries */
bool pgc_order_is_bytewise(const struct coldesc *col);
int pgc_plan_bounds(struct conn *c, const struct scan_req *req, uint64_t chunk_rows,
                    uint64_t max_bytes, struct keybounds *out, struct tally_err *err);
int pgc_rank_bounds(struct conn *c, const struct scan_req *req, size_t nb, const struct sqlval *vals,
                    size_t n, uint32_t *rank, struct tally_err *err);

/* literal.c (no session) */

/* Appends '...' with every quote doubled; s holds no NUL. */
void pgc_add_quoted(struct buf *out, const char *s, size_t len);
/* The type a quoted range bound of col is cast to, or NULL when it needs none. */
const char *pgc_bound_cast(const struct coldesc *col);
/* conn_ops entries */
int pgc_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                struct tally_err *err);
int pgc_bound_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                      struct tally_err *err);

/* guard.c */

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
