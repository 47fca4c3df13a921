/*
 * engine/base/dsn.h
 *   Base layer: the shapes of connection strings every driver shares, so
 *   that each driver's check_dsn and redact_dsn (connectors/connector.h)
 *   are a few lines: the scheme of a "scheme://..." uri, and masking the
 *   password of a uri ("scheme://user:PASSWORD@host", "?password=") or of
 *   libpq's "key=value" pairs. The spec loader masks any user text it
 *   quotes with dsn_redact() too. Pure: performs no I/O.
 */
#ifndef TALLY_DSN_H
#define TALLY_DSN_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the scheme when dsn starts with "scheme://" ([A-Za-z][A-Za-z0-9+.-]*), else 0. */
size_t dsn_scheme_len(const char *dsn);

/* Is dsn[0..len) exactly name (case matters, as the spec's schemes do)? */
bool dsn_scheme_is(const char *dsn, size_t len, const char *name);

/*
 * Returns a new copy of dsn (NULL reads as "") with any password removed:
 * the password in "scheme://user:PASSWORD@host" (also where such a uri
 * starts inside the text, so that any user text can be masked with it), a
 * "password=" uri parameter, and "password=" in a libpq key=value string
 * all become "***". The user info runs from the first ':' to the last '@',
 * so a password holding an unescaped '@' or '/' is masked whole: odd text
 * loses too much, never too little.
 */
char *dsn_redact(const char *dsn);

/*
 * Masks the user info of every "scheme://user:password@" in s, wherever
 * it starts (a dsn pasted into a key or a message is text around a uri).
 * Takes s (malloc'd), returns a new string.
 */
char *dsn_redact_inner_uris(char *s);

#endif
