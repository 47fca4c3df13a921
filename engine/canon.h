/*
 * engine/canon.h
 *   connector -> CANON -> rowhash, merge: turns a value's text, as a
 *   connector yields it, into canonical bytes, so that equal values from
 *   different engines give equal bytes ("1.5" and "1.50"; "t" and "1";
 *   "2024-01-02 03:04:05.5+00" and "2024-01-02 03:04:05.500000").
 *   Performs no I/O.
 *
 * The encoding (version CANON_VERSION) has three properties the rest of
 * tally relies on:
 *   - injective per class: two values encode equally exactly when they are
 *     equal by meaning, so the merge compares bytes, never types;
 *   - self-delimiting: a row's encoding is the plain concatenation of its
 *     values, and no concatenation is ambiguous;
 *   - order-preserving: memcmp() of two encodings orders them as the
 *     servers order the values (numbers numerically, text and bytes
 *     bytewise, times chronologically, NULL first), so a key's encoding is
 *     what the merge sorts by.
 *
 * Layout of one value: a tag byte, then a payload.
 *   0x01                  NULL
 *   0x0F / 0x13 / 0x14    number -Infinity / +Infinity / NaN
 *   0x10 E' D' 0xFF       negative number (E' and D' bitwise inverted)
 *   0x11                  zero
 *   0x12 E D 0x00         positive number: value = 0.D x 10^E, E a 4-byte
 *                         big-endian int with its sign bit flipped, D the
 *                         significant decimal digits as ASCII, no trailing 0
 *   0x20 B[8]             float: IEEE-754 binary64 bits, big-endian, made
 *                         order-preserving (sign flipped; all bits of a
 *                         negative flipped); -0 is 0, every NaN is one NaN
 *   0x30 / 0x31           false / true
 *   0x40 S 0x00 0x01      text: UTF-8 bytes, each 0x00 written 0x00 0xFF
 *   0x41 S 0x00 0x01      binary, escaped the same way
 *   0x4E / 0x4F / 0x51    date zero (0000-00-00) / -infinity / infinity
 *   0x50 N[8]             date: days since 2000-01-01, int64 big-endian,
 *                         sign bit flipped (as for every integer below)
 *   0x58 N[8]             time: microseconds (may be negative on MariaDB)
 *   0x5E / 0x5F / 0x61    timestamp zero / -infinity / infinity
 *   0x60 N[8]             timestamp: microseconds since 2000-01-01 00:00
 *   0x66 / 0x67 / 0x69    timestamptz zero / -infinity / infinity
 *   0x68 N[8]             timestamptz: microseconds since 2000-01-01 UTC
 *   0x70 U[16]            uuid: the 16 bytes
 *   0x74 F A[4|16] P      inet: family 4 or 6, the address, the prefix length
 *   0x78 S 0x00 0x01      JSON: its canonical text (engine/jcanon.h), escaped as text
 *   0x7A N[4] B[(N+7)/8]  bit string: N bits, big-endian count, then the bits packed
 *                         from the most significant bit, unused low bits zero
 *   0x7E S 0x00 0x01      a source value that a `map:` does not name: its own
 *                         canonical encoding, escaped as binary, so it equals no
 *                         target value
 * A change to any of this changes hashes: bump CANON_VERSION, which
 * reports and snapshots carry.
 */
#ifndef TALLY_CANON_H
#define TALLY_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../connectors/connector.h"
#include "base/buf.h"
#include "base/err.h"

#define CANON_VERSION 1

/* How a compared pair of columns is canonicalized; the plan picks one. */
enum cclass {
	CC_NUMBER,       /* integers and decimals, by numeric value */
	CC_FLOAT64,      /* double precision */
	CC_FLOAT32,      /* single precision on at least one side: both read as float */
	CC_BOOL,         /* booleans; tinyint(1) 0/1 (other values stay numbers) */
	CC_TEXT,         /* exact UTF-8 bytes */
	CC_BYTES,        /* exact bytes */
	CC_DATE,
	CC_TIME,
	CC_TIMESTAMP,    /* naive date and time */
	CC_TIMESTAMPTZ,  /* an instant */
	CC_UUID,         /* uuid; text parsed as one; binary(16) as its 16 bytes */
	CC_JSON,         /* JSON by meaning (json, jsonb, MariaDB JSON; arrays, text with as: json) */
	CC_INET,         /* an address and its prefix (inet, cidr, INET4, INET6; text parsed as one) */
	CC_BITS,         /* a bit string (bit, varbit, BIT(n)) */
};

const char *cclass_name(enum cclass c);

enum canon_trim { CANON_TRIM_NONE = 0, CANON_TRIM_RIGHT, CANON_TRIM_BOTH };

struct tz;
struct canon_map;

/*
 * How one side's column is read and normalized. Unset options: scale and
 * precision -1, trim CANON_TRIM_NONE. The plan fills one per side and
 * column; both sides of a pair share cls and the normalization options.
 */
struct canon_col {
	enum cclass cls;
	enum ltype type;      /* this side's logical type: how to read its text */
	bool pad_trim;        /* char(n) on this side: trailing spaces are padding */
	bool raw_bits;        /* LT_BIT arrives as raw big-endian bytes (MariaDB), not '0'/'1' text */
	int bits;             /* LT_BIT with raw_bits: the column's width */
	int arr_elem;         /* LT_ARRAY as CC_JSON: enum pgarray_elem of its elements */
	/* Conversions: they say what a value means, and a repair writes through them. */
	const struct tz *tz;  /* LT_TIMESTAMP read as local time in this zone: an instant */
	bool zero_null;       /* dates and timestamps: MariaDB zero dates read as NULL */
	const struct canon_map *map;   /* values translated (borrowed from the plan) */
	/* Relaxations: they only make comparison coarser; a repair ignores them. */
	int scale;            /* CC_NUMBER: round half away from zero to N places */
	int precision;        /* CC_TIME/TIMESTAMP*: truncate to N fractional digits */
	enum canon_trim trim; /* CC_TEXT: strip spaces (U+0020) */
	bool fold_case;       /* CC_TEXT: compare lowercased (Unicode simple case mapping) */
};

/*
 * A `map:` of one side's values to the pair's class: each of a side's
 * values is read as `from` says (its own type), looked up by its
 * canonical bytes, and replaced by the canonical bytes of the value it
 * maps to. A value the map does not name encodes as "unmapped" (tag
 * 0x7E), which equals nothing on the other side. Entries sorted by from
 * bytes, no two alike.
 */
struct canon_map {
	struct canon_col from;
	size_t n;
	struct buf *fromv;    /* n canonical encodings, sorted */
	struct buf *tov;      /* what each becomes */
};

/* Sorts m's entries; false when two from values are equal (*dup: the index of one). */
bool canon_map_sort(struct canon_map *m, size_t *dup);
void canon_map_free(struct canon_map *m);

/*
 * Is case folding available (it needs the C.UTF-8 locale)? Fails with a
 * message that says what is missing.
 */
int canon_case_ready(struct tally_err *err);

/* A canon_col for cls and type with every option unset. */
struct canon_col canon_col_make(enum cclass cls, enum ltype type);

/*
 * c without its relaxations, with its conversions: how the side's value
 * is read and what it means, not how loosely it is compared. A repair
 * writes values read this way.
 */
struct canon_col canon_col_exact(const struct canon_col *c);

/*
 * Appends the canonical encoding of one value to out. val == NULL is SQL
 * NULL. On a value that does not parse as its type, returns -1 with kind
 * ERR_DATA and a message that names the expected form but never the
 * value; out is then left as it was.
 */
int canon_encode(struct buf *out, const struct canon_col *col,
                 const char *val, size_t len, struct tally_err *err);

/*
 * Decodes the single value encoded at the start of p (at most n bytes)
 * into v, for writing it as a literal. Text and binary are unescaped into
 * scratch (reset first), which v->s then points into: v is valid until
 * the next use of scratch. Numbers come back as plain decimals without
 * exponent ("-12.5", "100"). Returns the bytes consumed, or 0 when p does
 * not start with a valid encoding.
 */
size_t canon_decode(const uint8_t *p, size_t n, struct sqlval *v, struct buf *scratch);

/* Frees the calling thread's reused encoding buffers (before the thread ends). */
void canon_thread_release(void);

/*
 * The double a float encoding at p (n bytes) holds; false when p is not
 * one (NULL, another class). NaN comes back as NaN.
 */
bool canon_float_of(const uint8_t *p, size_t n, double *d);

#endif
