/*
 * engine/canon_int.h
 *   Private to the canonical encoder (canon.c and its pieces canon_num.c,
 *   canon_text.c, canon_time.c, canon_decode.c): the tags of the encoding
 *   (their order is the encoding's order: canon.h documents the layout),
 *   the per-thread scratch buffers, small inline helpers, and each
 *   class's parser for the dispatch in canon.c. Nothing else includes it.
 */
#ifndef TALLY_CANON_INT_H
#define TALLY_CANON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "canon.h"

enum {
	TAG_NULL = 0x01,
	TAG_NUM_NINF = 0x0F,
	TAG_NUM_NEG = 0x10,
	TAG_NUM_ZERO = 0x11,
	TAG_NUM_POS = 0x12,
	TAG_NUM_PINF = 0x13,
	TAG_NUM_NAN = 0x14,
	TAG_FLOAT = 0x20,
	TAG_FALSE = 0x30,
	TAG_TRUE = 0x31,
	TAG_TEXT = 0x40,
	TAG_BYTES = 0x41,
	TAG_DATE_ZERO = 0x4E,
	TAG_DATE_NINF = 0x4F,
	TAG_DATE = 0x50,
	TAG_DATE_PINF = 0x51,
	TAG_TIME = 0x58,
	TAG_TS_ZERO = 0x5E,
	TAG_TS_NINF = 0x5F,
	TAG_TS = 0x60,
	TAG_TS_PINF = 0x61,
	TAG_TSTZ_ZERO = 0x66,
	TAG_TSTZ_NINF = 0x67,
	TAG_TSTZ = 0x68,
	TAG_TSTZ_PINF = 0x69,
	TAG_UUID = 0x70,
	TAG_INET = 0x74,
	TAG_JSON = 0x78,
	TAG_BITS = 0x7A,
	TAG_UNMAPPED = 0x7E,
};

/*
 * The largest decimal exponent of a number, either way: far beyond any
 * engine's decimals (PostgreSQL: 131072 digits before the point, 16383
 * after), and small enough that the plain digits canon_decode() writes
 * for any encoding stay around a megabyte ("1e288235282" took minutes
 * and 288 MB to decode). A longer number is not valid.
 */
#define DEC_EXP_MAX 1000000L

#define USEC_PER_SEC INT64_C(1000000)
#define USEC_PER_DAY INT64_C(86400000000)

/*
 * Scratch buffers reused by every encode on a thread, so that encoding
 * allocates nothing once they have grown; canon_thread_release frees them.
 */
struct canon_scratch {
	struct buf number;    /* a decimal's significant digits */
	struct buf folded;    /* text lowercased for case: insensitive */
	struct buf json;      /* a document's canonical form */
	struct buf own;       /* a mapped value as its own column's type */
};
extern _Thread_local struct canon_scratch canon_tls;

/* An int64 written so that memcmp orders it numerically. */
static inline void put_tagged_i64(struct buf *out, uint8_t tag, int64_t v)
{
	buf_grow(out, 9);
	buf_put1(out, tag);
	buf_put64(out, (uint64_t)v ^ (UINT64_C(1) << 63));
	buf_setlen(out, out->len);
}

static inline bool eq_nocase(const char *s, size_t n, const char *lit)
{
	size_t m = strlen(lit);

	if (n != m)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return false;
	}
	return true;
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* engine/canon_num.c */
int canon_put_number(struct buf *out, const struct canon_col *col, const char *s, size_t n);
int canon_put_float(struct buf *out, const struct canon_col *col, const char *s, size_t n);
int canon_put_bool(struct buf *out, const struct canon_col *col, const char *s, size_t n);

/* engine/canon_text.c */
void canon_put_escaped(struct buf *out, uint8_t tag, const char *s, size_t n);
void canon_put_text(struct buf *out, const struct canon_col *col, const char *s, size_t n);

/* engine/canon_time.c */
bool canon_read_uint(const char **pp, const char *end, int width, int64_t *out);
int canon_put_date(struct buf *out, const char *s, size_t n, bool zero_null);
int canon_put_time(struct buf *out, const struct canon_col *col, const char *s, size_t n);
int canon_put_timestamp(struct buf *out, const struct canon_col *col, const char *s, size_t n);

/* engine/canon_text.c */
int canon_put_uuid(struct buf *out, const struct canon_col *col, const char *s, size_t n);
int canon_put_json(struct buf *out, const struct canon_col *col, const char *s, size_t n,
                   struct tally_err *err);
int canon_put_inet(struct buf *out, const char *s, size_t n);
int canon_put_bits(struct buf *out, const struct canon_col *col, const char *s, size_t n);

#endif
