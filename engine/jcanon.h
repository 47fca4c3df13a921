/*
 * engine/jcanon.h
 *   canon -> JCANON: the canonical text of a JSON value, so that two
 *   documents that mean the same compare equal byte for byte whatever the
 *   engine printed: key order, whitespace, escapes and number spelling do
 *   not count. Also reads PostgreSQL's array text as JSON, so that an array
 *   column can be compared with a JSON array. Performs no I/O.
 *
 * The canonical text (JCANON_VERSION 1) is itself JSON:
 *   - no whitespace outside strings;
 *   - object members sorted by the bytes of their (unescaped, UTF-8) keys,
 *     a key that is a prefix of another first; when a key repeats, the last
 *     member wins and the others are dropped (what PostgreSQL's jsonb does);
 *   - strings: escapes decoded (\uXXXX surrogate pairs joined), then
 *     written as UTF-8 with only '"' and '\' escaped as \" and \\, and
 *     control characters below 0x20 as \u00xx (lowercase hex); invalid
 *     UTF-8 and lone surrogates are refused;
 *   - numbers by value: 0 for every zero (-0, 0.0, 0e7), else an optional
 *     '-', the significant digits with a '.' after the first (left out when
 *     there is one digit), 'e' and the decimal exponent: 1 -> 1e0,
 *     -1.50 -> -1.5e0, 100 -> 1e2, 0.00120 -> 1.2e-3; any number of digits,
 *     kept exactly (no rounding through binary floating point);
 *   - true, false and null as they are.
 */
#ifndef TALLY_JCANON_H
#define TALLY_JCANON_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Deepest nesting of arrays and objects accepted; deeper input is refused. */
#define JCANON_MAX_DEPTH 512

/*
 * Appends the canonical text of the JSON document s[0..n) (one value of
 * any kind, surrounded by optional whitespace) to out. On invalid input
 * returns -1 with kind ERR_DATA and a message that gives the byte offset
 * and what was expected, never the value's text; out is then left as it
 * was.
 */
int jcanon(struct buf *out, const char *s, size_t n, struct tally_err *err);

/* Frees the calling thread's reused buffers (before the thread ends). */
void jcanon_thread_release(void);

/* How the elements of a PostgreSQL array are read. */
enum pgarray_elem {
	PGARRAY_TEXT,      /* strings: text, varchar, char, uuid, date, ... */
	PGARRAY_NUMBER,    /* integers, numeric, float: JSON numbers (NaN, Infinity refused) */
	PGARRAY_BOOL,      /* boolean: t/f become true/false */
	PGARRAY_JSON,      /* json, jsonb: each element is a JSON document */
};

/*
 * Appends, as canonical JSON, the array that PostgreSQL printed as
 * s[0..n): '{1,2,NULL}' -> [1e0,2e0,null], '{{a,b},{c,d}}' -> nested
 * arrays, '{"a b","x\"y"}' -> ["a b","x\"y"], '{}' -> []. Elements are
 * separated by ','; NULL (unquoted, any case) is null. A dimension
 * decoration ('[0:1]={...}') is refused: its lower bound has no JSON
 * form. Errors as jcanon().
 */
int jcanon_pgarray(struct buf *out, const char *s, size_t n, enum pgarray_elem elem,
                       struct tally_err *err);

#endif
