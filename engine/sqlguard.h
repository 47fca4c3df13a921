/*
 * engine/sqlguard.h
 *   spec -> SQLGUARD -> main: `--safe-sql`. Finds every function that a
 *   spec's raw SQL (a `where`, a `query`) calls, with a small lexer of the
 *   server's dialect, and refuses any function that is not on a list of
 *   read-only built-ins. Performs no I/O.
 *
 * Why: tally's own sessions are read-only transactions, but SQL can open
 * another session (PostgreSQL dblink_exec, a MariaDB UDF such as sys_exec)
 * or change the server's state (set_config, pg_advisory_lock, nextval,
 * lo_import, GET_LOCK, LOAD_FILE...). Refusing every function but the
 * listed ones closes that door for direct calls.
 *
 * What the lexer knows, so that a call inside a string or a comment is not
 * a call and a call hidden by quoting is found:
 *   PostgreSQL  '...' with '' (standard_conforming_strings, which tally's
 *               sessions pin), E'...' with backslash escapes, $tag$...$tag$,
 *               "quoted names" with "", -- comments, nested C-style comments.
 *   MariaDB     '...' and "..." with doubled quotes and, depending on the
 *               session's sql_mode, backslash escapes; `quoted names`,
 *               # and "-- " comments, C-style comments, and executable
 *               comments (a C-style comment opened with "!" or "M!"),
 *               whose content the server runs: it is lexed as code.
 *               The sql_mode is unknown before connecting,
 *               so the text is lexed under every reading (backslash
 *               escapes in both kinds of string, in single quotes only,
 *               in neither) and each reading's calls are checked.
 *
 * A call is a name (or qualified name) followed by "(", except keywords
 * that take parentheses (IN, EXISTS, ANY, ARRAY, VALUES, CAST...; BY
 * after ORDER, GROUP or PARTITION; JOIN after a table or a condition), a
 * type after "::" or AS (numeric(10,2)), a column list after AS or WITH
 * (t(a, b)), and a name right after ")" (OVER, FILTER, an alias's column
 * list: FROM f() g(n)).
 *
 * What it cannot see, and the README says: functions the server calls for
 * an operator, a cast or a view, and which function an unqualified name
 * resolves to (PostgreSQL's search_path). It is a second fence; the first
 * is a role that may only read.
 */
#ifndef TALLY_SQLGUARD_H
#define TALLY_SQLGUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

enum sqlguard_dialect { SQLGUARD_POSTGRES, SQLGUARD_MARIADB };

/* One function call found in the text. Strings are valid for the callback only. */
struct sqlguard_call {
	const char *name;       /* as the server reads it: "lower", "public.dblink_exec" */
	const char *func;       /* the last part: "dblink_exec" */
	const char *schema;     /* the qualifier ("public", "a.b"), or NULL */
	bool quoted;            /* the last part was a quoted name: its case is kept */
	bool gap;               /* space or a comment between the name and "(" */
	size_t pos;             /* byte offset of the name's first character */
};

/*
 * Calls fn for every function call in sql, in order of position (for
 * MariaDB, reading after reading, each call once). Returns 0, or -1 when
 * fn does, or when a string, quoted name or comment does not end (under
 * every reading, for MariaDB): then err says so, after fn has seen every
 * call before it.
 */
int sqlguard_scan(enum sqlguard_dialect d, const char *sql,
                  int (*fn)(void *ctx, const struct sqlguard_call *c, struct tally_err *err), void *ctx,
                  struct tally_err *err);

/*
 * Is the call allowed? PostgreSQL: unqualified or in pg_catalog, and on
 * the list (a quoted name must match its lowercase spelling). MariaDB:
 * unqualified, unquoted, "(" right after the name (with a space, MariaDB
 * may call a stored function of that name), and on the list.
 */
bool sqlguard_allowed(enum sqlguard_dialect d, const struct sqlguard_call *c);

/*
 * Checks sql, a `what` ("where", "query"): 0 when every call is allowed;
 * else -1 and ERR_SPEC naming the first refused function ("where calls
 * dblink_exec, which is not on --safe-sql's list of read-only
 * functions"), with its place in the text as detail. The text itself is
 * never quoted (it may hold a password). The caller adds the position.
 */
int sqlguard_check(enum sqlguard_dialect d, const char *what, const char *sql, struct tally_err *err);

#endif
