/*
 * engine/base/err.h
 *   Base layer, used by every stage: the error struct that a fallible
 *   function fills and returns up the stack. Depends on nothing.
 *
 * Convention: a fallible function returns 0 on success and -1 on failure
 * and takes `struct tally_err *err` as its last argument. The innermost
 * failure writes the message with err_set(); callers on the way up may add
 * context with err_context() ("check 'orders': ") and return -1 again; the
 * top level prints it once with err_print(). Iterators return 1 (an item),
 * 0 (the end) or -1 (an error).
 *
 * Messages are lowercase, have no final full stop, say what failed first
 * and quote the subject. They never contain a password or a row value
 * unless the user asked for values (--show-values).
 */
#ifndef TALLY_ERR_H
#define TALLY_ERR_H

#include <stdarg.h>
#include <stdio.h>

#if defined(__GNUC__)
#define TALLY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TALLY_PRINTF(f, a)
#endif

/* What kind of trouble; callers branch on this, never on message text. */
enum err_kind {
	ERR_NONE = 0,
	ERR_USAGE,       /* bad command line */
	ERR_SPEC,        /* bad spec file: message starts with file:line:col */
	ERR_CONNECT,     /* could not open a session (host, port, auth) */
	ERR_SCHEMA,      /* missing table or column, incomparable types, no key */
	ERR_QUERY,       /* the server rejected a statement */
	ERR_LOST,        /* the session broke mid-stream; a retry may succeed */
	ERR_SNAPSHOT,    /* a shared snapshot cannot be imported: its exporter is gone */
	ERR_DATA,        /* a value could not be read, keys out of order or duplicated */
	ERR_IO,          /* local files */
	ERR_LOCKED,      /* a lock: tally waited too long for one, or let go of its own
	                    for a session that waited on it; running again may succeed */
	ERR_TIMEOUT,     /* a statement ran past the time limit of its session */
	ERR_INTERRUPTED, /* SIGINT/SIGTERM */
	ERR_INTERNAL,
};

#define ERR_MSG_MAX 1024

struct tally_err {
	enum err_kind kind;
	char sqlstate[6];           /* "" unless a server reported one */
	char msg[ERR_MSG_MAX];      /* primary text */
	char detail[ERR_MSG_MAX];   /* optional, "" when absent */
	char hint[ERR_MSG_MAX];     /* optional, "" when absent */
};

/* Clears every field. */
void err_clear(struct tally_err *err);

/* Sets kind and primary text, clears detail, hint and sqlstate; returns -1. */
int err_set(struct tally_err *err, enum err_kind kind, const char *fmt, ...)
	TALLY_PRINTF(3, 4);
int err_setv(struct tally_err *err, enum err_kind kind, const char *fmt, va_list ap)
	TALLY_PRINTF(3, 0);

/* Fill the optional parts; both return -1 so they can end a failure path. */
int err_detail(struct tally_err *err, const char *fmt, ...) TALLY_PRINTF(2, 3);
int err_hint(struct tally_err *err, const char *fmt, ...) TALLY_PRINTF(2, 3);

/*
 * Prefixes the primary text with context, separated by ": ", and returns
 * -1: err_context(err, "check '%s'", name) turns "table 'x' does not exist"
 * into "check 'orders': table 'x' does not exist".
 */
int err_context(struct tally_err *err, const char *fmt, ...) TALLY_PRINTF(2, 3);

/* Prints "tally: error: msg", then "detail: …" and "hint: …" lines. */
void err_print(const struct tally_err *err, FILE *fp);

/*
 * Set by the SIGINT/SIGTERM handler; long loops check it and stop with
 * ERR_INTERRUPTED.
 */
#include <signal.h>
extern volatile sig_atomic_t tally_interrupted;

/* Prints "tally: warning: …" to stderr unless warnings are silenced. */
void warn_msg(const char *fmt, ...) TALLY_PRINTF(1, 2);
extern int warn_quiet;

#endif
