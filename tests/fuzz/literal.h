/*
 * tests/fuzz/literal.h
 *   What the fuzz targets of both SQL literal writers share
 *   (fuzz_pg_literal.c, fuzz_my_literal.c): the input's layout, the value
 *   built from it, and the checks that do not depend on the dialect.
 *
 * Input: a byte that picks a column of the dialect's table, a byte that
 * picks how the value is made, a byte for its special (infinity, NaN,
 * zero date: '1' to '4', else none), then the payload:
 *   kind byte % 16 < 13: the sqlval kind of that number, straight from the
 *     payload: a number's digits (when it has the form the contract
 *     promises), strtod() of a float, strtoll() of a date or time, the
 *     bytes of text, binary, raw text, a uuid or a bit string, as they are
 *     (the writer must refuse what it cannot write);
 *   otherwise: the payload read by canon_encode() as the column's class
 *     would read it, and canon_decode()d back: the values a repair writes.
 * Both literal() and bound_literal() write the value. Each either writes
 * a literal, the same one twice, that the dialect's check accepts, or
 * fails with ERR_DATA, the buffer as it was, and a message without the
 * value.
 */
#ifndef TALLY_FUZZ_LITERAL_H
#define TALLY_FUZZ_LITERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"

struct literal_dialect {
	const char *driver;             /* for conn_driver() */
	const struct coldesc *cols;     /* the columns inputs pick from */
	size_t ncols;
	/*
	 * Checks one literal written for col from v (text and binary values:
	 * bytes s, n); aborts through FUZZ_ASSERT when it does not hold.
	 */
	void (*check)(const char *lit, size_t len, const struct coldesc *col,
	              const struct sqlval *v, bool bound);
};

int literal_fuzz(const struct literal_dialect *d, const uint8_t *data, size_t size);

/*
 * The bytes a literal of the form PREFIX...' stands for, into *out (the
 * caller frees it): with hex, pairs of hex digits (X'...', '\x...');
 * without, text with quotes doubled ('...'). False when lit has another
 * form.
 */
bool literal_string(const char *lit, size_t len, const char *prefix, bool hex, char **out,
                    size_t *outlen);

#endif
