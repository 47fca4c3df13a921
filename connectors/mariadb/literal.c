/*
 * connectors/mariadb/literal.c
 *   engine/repair, plan -> LITERAL: writes a value as a MariaDB literal of
 *   a column, for a repair script (conn_ops.literal: the value is stored)
 *   or a range bound (conn_ops.bound_literal: the value is compared, never
 *   stored). One writer per kind of value serves both, told which by
 *   `bound`; numbers and booleans are literal_num.c's. Performs no I/O
 *   and needs no session.
 *
 * A literal must read back as exactly the value given, whatever the
 * session's sql_mode. Strings are never double-quoted (ANSI_QUOTES) and
 * never hold a backslash (NO_BACKSLASH_ESCAPES decides what it means):
 * text with a backslash or a control character is written as
 * _utf8mb4 X'...', which every mode reads alike.
 *
 * A repair's value is checked against the column first wherever a
 * permissive sql_mode would clip, round, pad or map it instead of failing
 * (range, scale, length, fractional seconds, enum case, YEAR's two-digit
 * forms).
 *
 * A bound is only compared with the column, never stored, so no storage
 * check applies (length, scale, range, labels). What matters is that the
 * comparison the server makes is the one meant, in the column's own order
 * and collation, whatever the sql_mode:
 *   - text is a plain or _utf8mb4 X'..' constant: it coerces to the
 *     column's character set and collation, so a latin1 or _ci key is
 *     compared in its own collation and read through its index;
 *   - a number, date or time is first rounded toward minus infinity to
 *     what the column can hold (integer, the decimal's scale, the
 *     fractional seconds, the nearest double below): for a column value x
 *     on that grid, x > b and x <= b are unchanged, and the server never
 *     rounds or truncates the constant in its own way (a YEAR compared with
 *     5 means 2005, a DATETIME with year 10000 compares as a string);
 *   - a value beyond every value the column can hold is clamped to the
 *     largest one (same comparisons); below the smallest one it is refused;
 *   - enum and set values are compared by their index, the server's order;
 *   - NaN and infinity cannot be compared and are refused.
 *
 * The writers return 0, -1 with err filled, or -2 when the column's type
 * takes no value of this kind, which literal_of() words once.
 */
#include "my_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MDB_TIME_MAX_US INT64_C(3020399999999)          /* 838:59:59.999999 */
#define MDB_EPOCH_US INT64_C(946684800000000)           /* 2000-01-01 - 1970-01-01 */
#define MDB_TIMESTAMP_MAX_US INT64_C(2147483647999999)  /* 2038-01-19 03:14:07.999999 */
#define MDB_DAY_US INT64_C(86400000000)
#define HEXDIGITS "0123456789abcdefABCDEF"

/* ---- failures ------------------------------------------------------------------ */

/* See my_int.h: names the column and its type, never the value. */
int mdb_lit_fail(const struct coldesc *col, bool bound, struct tally_err *err, const char *why)
{
	return conn_lit_refused(err, col, bound, why);
}

/* What kind of value, as the subject of a sentence. */
static const char *sqlval_noun(enum sqlval_kind k)
{
	switch (k) {
	case SV_NULL: return "NULL";
	case SV_NUMBER: return "a number";
	case SV_FLOAT: return "a floating-point number";
	case SV_BOOL: return "a boolean";
	case SV_TEXT: return "text";
	case SV_BYTES: return "binary data";
	case SV_DATE: return "a date";
	case SV_TIME: return "a time";
	case SV_TIMESTAMP: return "a timestamp";
	case SV_TIMESTAMPTZ: return "a timestamp with time zone";
	case SV_UUID: return "a uuid";
	case SV_BITS: return "a bit string";
	case SV_RAW: return "a value";
	}
	return "a value";
}

static int lit_mismatch(const struct coldesc *col, const struct sqlval *v, bool bound,
                        struct tally_err *err)
{
	char why[96];

	snprintf(why, sizeof(why), "%s cannot be %s this column type", sqlval_noun(v->kind),
	         bound ? "compared with" : "stored in");
	return mdb_lit_fail(col, bound, err, why);
}

/* ---- text ------------------------------------------------------------------------ */

/* Decodes one UTF-8 character of s[0..n): its length, 0 when invalid or overlong. */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, v = s[0] & 0x1fu, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, v = s[0] & 0x0fu, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, v = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Characters in s[0..n), or -1 when it is not valid UTF-8. */
static long utf8_count(const char *s, size_t n)
{
	long chars = 0;
	uint32_t cp;

	for (size_t i = 0, len; i < n; i += len, chars++)
		if (!(len = utf8_char((const unsigned char *)s + i, n - i, &cp)))
			return -1;
	return chars;
}

/*
 * Can valid UTF-8 text go between plain quotes? Not with a backslash or a
 * control character (sql_mode, the client's line handling), nor with a
 * character that hides or reorders what the reviewer of a script sees
 * (C1 controls, zero-width and bidirectional marks, line separators).
 */
static bool text_plain(const char *s, size_t n)
{
	uint32_t cp;

	for (size_t i = 0, len; i < n; i += len) {
		len = utf8_char((const unsigned char *)s + i, n - i, &cp);
		if (len == 0 || cp < 0x20 || cp == 0x7f || cp == '\\' ||
		    (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
		    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff)
			return false;
	}
	return true;
}

/*
 * Appends UTF-8 text as a string constant: 'it''s' when that is plain,
 * _utf8mb4 X'...' otherwise. Also used by script.c.
 */
void mdb_add_text(struct buf *out, const char *s, size_t n)
{
	if (!text_plain(s, n)) {
		buf_addstr(out, "_utf8mb4 X'");
		buf_addhex(out, s, n);
		buf_addch(out, '\'');
		return;
	}
	buf_addch(out, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			buf_addch(out, '\'');
		buf_addch(out, s[i]);
	}
	buf_addch(out, '\'');
}

static void add_bytes(struct buf *out, const char *s, size_t n)
{
	buf_addstr(out, "X'");
	buf_addhex(out, s, n);
	buf_addch(out, '\'');
}

/* TEXT types are limited in bytes of their character set, the others in characters. */
static bool text_fits(const struct coldesc *col, size_t n, long chars)
{
	const char *cs = col->charset ? col->charset : "";

	if (col->length <= 0)
		return true;
	if (chars > col->length)
		return false;
	if (!col->native || !strstr(col->native, "text"))
		return true;
	if (strcmp(cs, "utf8mb4") == 0 || strncmp(cs, "utf8", 4) == 0)
		return n <= (size_t)col->length;
	return true;   /* single-byte sets: chars counted; others: the server checks */
}

static bool is_label(const struct coldesc *col, const char *s, size_t n, size_t *idx)
{
	for (size_t i = 0; i < col->nlabels; i++)
		if (strlen(col->labels[i]) == n && memcmp(col->labels[i], s, n) == 0) {
			*idx = i;
			return true;
		}
	return false;
}

/*
 * An enum value must be one of the labels byte for byte: the server maps
 * 'SMALL' to 'small' under a _ci collation. A set value lists labels in
 * declared order, each once, as the server stores it. '' is the empty set,
 * and the invalid enum value that only a permissive sql_mode stores.
 */
static bool labels_ok(const struct coldesc *col, const char *s, size_t n)
{
	size_t idx, prev = 0;
	bool first = true;

	if (col->nlabels == 0 || n == 0)
		return true;
	if (col->type == LT_ENUM)
		return is_label(col, s, n, &idx);
	for (size_t i = 0; i <= n;) {
		const char *comma = memchr(s + i, ',', n - i);
		size_t len = comma ? (size_t)(comma - (s + i)) : n - i;

		if (!is_label(col, s + i, len, &idx) || (!first && idx <= prev))
			return false;
		prev = idx;
		first = false;
		i += len + 1;
	}
	return true;
}

/*
 * Can the column's character set hold every character of valid UTF-8 s?
 * Known for ascii, latin1 (MariaDB's latin1 is cp1252 with the five
 * undefined bytes mapped to C1 controls) and utf8mb3; the server refuses
 * a comparison it cannot convert ("Illegal mix of collations") for the
 * others.
 */
static bool text_in_charset(const char *cs, const char *s, size_t n)
{
	static const uint16_t cp1252[] = {
		0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030,
		0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c,
		0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d,
		0x017e, 0x0178,
	};
	bool ascii = strcmp(cs, "ascii") == 0, latin1 = strcmp(cs, "latin1") == 0;
	bool mb3 = strcmp(cs, "utf8mb3") == 0 || strcmp(cs, "utf8") == 0;
	uint32_t cp;

	for (size_t i = 0, len; i < n; i += len) {
		bool ok = true;

		len = utf8_char((const unsigned char *)s + i, n - i, &cp);
		if (ascii)
			ok = cp < 0x80;
		else if (mb3)
			ok = cp <= 0xffff;
		else if (latin1 && (cp >= 0x80 && (cp < 0xa0 || cp > 0xff))) {
			ok = false;
			for (size_t k = 0; k < sizeof(cp1252) / sizeof(cp1252[0]); k++)
				ok |= cp1252[k] == cp;
		}
		if (!ok)
			return false;
	}
	return true;
}

/*
 * See my_int.h. A bound is checked only for what no literal can say: text
 * that is not UTF-8, or a character the column's character set (whatever
 * the column's type) cannot hold, which the server would refuse to compare.
 */
int mdb_text_lit(struct buf *out, const struct coldesc *col, const char *s, size_t n, bool bound,
                 struct tally_err *err)
{
	bool sized = col->type == LT_TEXT || col->type == LT_CHAR;
	long chars = utf8_count(s, n);

	if (chars < 0)
		return mdb_lit_fail(col, bound, err, "text is not valid UTF-8");
	if (!bound && sized && !text_fits(col, n, chars))
		return mdb_lit_fail(col, false, err, "value is longer than the column holds");
	if ((bound || sized) && col->charset && !text_in_charset(col->charset, s, n))
		return mdb_lit_fail(col, bound, err, "text holds a character the column's character "
		                    "set cannot hold");
	if (!bound && (col->type == LT_ENUM || col->type == LT_SET) && !labels_ok(col, s, n))
		return mdb_lit_fail(col, false, err, col->type == LT_ENUM
		                    ? "value is not one of the column's labels"
		                    : "value is not a list of the column's labels in declared order");
	if (!bound && col->type == LT_INET && memchr(s, '/', n))
		return mdb_lit_fail(col, false, err, "an address with a prefix length cannot be stored "
		                    "in INET4 or INET6");
	if (!bound && col->type == LT_INET && col->native && strncmp(col->native, "inet4", 5) == 0 &&
	    memchr(s, ':', n))
		return mdb_lit_fail(col, false, err, "an IPv6 address cannot be stored in INET4");
	mdb_add_text(out, s, n);
	return 0;
}

/*
 * An enum value as its index (1-based; 0 is the invalid value ''), a set
 * value as its bit mask: the numbers the server orders them by.
 */
static int labels_bound(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                        struct tally_err *err)
{
	size_t idx;
	uint64_t mask = 0;

	if (col->nlabels == 0)
		return mdb_lit_fail(col, true, err, "the column's labels are unknown");
	if (col->type == LT_ENUM) {
		if (n == 0) {
			if (is_label(col, s, 0, &idx))
				return mdb_lit_fail(col, true, err, "an empty value is ambiguous: it may be "
				                    "the declared label '' or the invalid value");
			buf_addch(out, '0');
			return 0;
		}
		if (!is_label(col, s, n, &idx))
			return mdb_lit_fail(col, true, err, "value is not one of the column's labels");
		buf_addf(out, "%zu", idx + 1);
		return 0;
	}
	for (size_t i = 0; n > 0 && i <= n;) {
		const char *comma = memchr(s + i, ',', n - i);
		size_t len = comma ? (size_t)(comma - (s + i)) : n - i;

		if (!is_label(col, s + i, len, &idx) || idx >= 64)
			return mdb_lit_fail(col, true, err, "value is not a list of the column's labels");
		mask |= UINT64_C(1) << idx;
		i += len + 1;
	}
	buf_addf(out, "%" PRIu64, mask);
	return 0;
}

/* Does s[0..n) hold only characters of `allowed` (and is it not empty)? */
static bool only_chars(const char *s, size_t n, const char *allowed)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(allowed, s[i]))
			return false;
	return true;
}

/* ---- bytes and bits ------------------------------------------------------------- */

/*
 * Bytes into a BINARY, VARBINARY, BLOB, BIT or geometry column: X'...'. A
 * repair's must fit (a BIT's set bits, a binary type's length); a bound's
 * is compared as it is.
 */
static int bytes_lit(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                     bool bound, struct tally_err *err)
{
	if (!bound && col->type == LT_BIT && col->bits > 0) {
		size_t i = 0, sig;
		unsigned char top;

		while (i < n && s[i] == 0)
			i++;
		sig = (n - i) * 8;
		for (top = i < n ? (unsigned char)s[i] : 0xff; sig && !(top & 0x80); top <<= 1)
			sig--;
		if (sig > (size_t)col->bits)
			return mdb_lit_fail(col, false, err, "value is out of the column's range");
	} else if (!bound && col->type == LT_BYTES && col->length > 0 && n > (size_t)col->length) {
		return mdb_lit_fail(col, false, err, "value is longer than the column holds");
	}
	add_bytes(out, s, n);
	return 0;
}

/*
 * A bit string of '0'/'1' characters into BIT(n): b'...', refused when its
 * set bits do not fit the column (leading zeros beyond the width are fine).
 * A bound is written, checked and refused the same way, in a value's words.
 */
static int bits_lit(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                    struct tally_err *err)
{
	size_t first = 0;

	if (col->type != LT_BIT)
		return -2;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '0' && s[i] != '1')
			return mdb_lit_fail(col, false, err, "not a valid bit string");
	while (first < n && s[first] == '0')
		first++;
	if (col->bits > 0 && n - first > (size_t)col->bits)
		return mdb_lit_fail(col, false, err, "value is out of the column's range");
	buf_addstr(out, "b'");
	if (first == n)
		buf_addch(out, '0');
	else
		buf_add(out, s + first, n - first);
	buf_addch(out, '\'');
	return 0;
}

/* BIT(n) compares as an unsigned integer: the big-endian bytes as a number. */
static void bits_bound(struct buf *out, const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < n && s[i] == 0)
		i++;
	if (n - i > 8) {
		buf_addstr(out, "18446744073709551615");   /* above every BIT(64) */
		return;
	}
	for (; i < n; i++)
		v = v << 8 | (unsigned char)s[i];
	buf_addf(out, "%" PRIu64, v);
}

/* A uuid's 16 bytes as 8-4-4-4-12 hex digits. */
static size_t uuid_text(char *txt, size_t cap, const unsigned char *u)
{
	size_t o = 0;

	for (size_t i = 0; i < 16; i++)
		o += (size_t)snprintf(txt + o, cap - o, "%s%02x",
		                      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u[i]);
	return o;
}

/*
 * Text, bytes or this engine's own text (SV_TEXT, SV_BYTES, SV_RAW). Binary
 * columns take the bytes; a bound compares BIT as a number, ENUM and SET
 * by index, UUID and INET as their text once it holds nothing else. Text
 * columns take the text; a repair writes text into any other column (the
 * server parses it) and raw text into any non-binary one, a bound only
 * raw text.
 */
static int string_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                      bool bound, struct tally_err *err)
{
	enum ltype t = col->type;
	const char *s = v->s ? v->s : "";
	size_t n = v->s ? v->len : 0;
	bool text_col = t == LT_TEXT || t == LT_CHAR || t == LT_JSON ||
	                (!bound && (t == LT_ENUM || t == LT_SET));

	if (t == LT_BYTES || (!bound && t == LT_BIT) ||
	    (t == LT_OTHER && (bound || v->kind != SV_TEXT)))
		return bytes_lit(out, col, s, n, bound, err);
	if (bound && t == LT_BIT) {
		bits_bound(out, s, n);
		return 0;
	}
	if (bound && (t == LT_ENUM || t == LT_SET))
		return labels_bound(out, col, s, n, err);
	if (bound && (t == LT_UUID || t == LT_INET)) {
		if (!only_chars(s, n, t == LT_UUID ? HEXDIGITS "-" : HEXDIGITS ":."))
			return mdb_lit_fail(col, true, err, t == LT_UUID ? "not a valid uuid"
			                    : "not a valid address");
		mdb_add_text(out, s, n);
		return 0;
	}
	if (!text_col && (v->kind == SV_BYTES || (bound && v->kind == SV_TEXT)))
		return -2;
	return mdb_text_lit(out, col, s, n, bound, err);
}

/* A uuid into UUID, a text type (a bound: JSON too) or a binary type. */
static int uuid_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                    bool bound, struct tally_err *err)
{
	enum ltype t = col->type;
	char txt[40];
	size_t len;

	if (!v->s || v->len != 16)
		return mdb_lit_fail(col, bound, err, "a uuid value must have 16 bytes");
	if (t == LT_BYTES)
		return bytes_lit(out, col, v->s, 16, bound, err);
	if (t != LT_UUID && t != LT_TEXT && t != LT_CHAR && !(bound && t == LT_JSON))
		return -2;
	len = uuid_text(txt, sizeof(txt), (const unsigned char *)v->s);
	return mdb_text_lit(out, col, txt, len, bound, err);
}

/* ---- dates and times ------------------------------------------------------------- */

/* Digits needed for the fraction of a microsecond count: 0 for .000000, 6 for .000001. */
static int frac_digits(int64_t us)
{
	int64_t f = us % 1000000;
	int d = 6;

	if (f < 0)
		f += 1000000;
	if (f == 0)
		return 0;
	while (f % 10 == 0) {
		f /= 10;
		d--;
	}
	return d;
}

/*
 * Microseconds floored to fsp digits (toward minus infinity); a value
 * within a unit of INT64_MIN, far below anything MariaDB holds, floors to
 * INT64_MIN instead of overflowing.
 */
static int64_t floor_us(int64_t us, int fsp)
{
	int64_t unit = 1, r;

	for (int i = fsp < 0 ? 0 : fsp; i < 6; i++)
		unit *= 10;
	r = us % unit;
	if (r >= 0)
		return us - r;
	return us - r >= INT64_MIN + unit ? us - r - unit : INT64_MIN;
}

/* Days from 2000-01-01 of a proleptic Gregorian date (year 0 is 1 BC). */
int64_t mdb_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

static void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468 + 10957;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* YYYY-MM-DD of a day in years 0..9999, as MariaDB writes it (year 0 is 0000). */
void mdb_add_civil_date(struct buf *out, int64_t days)
{
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	buf_addf(out, "%04d-%02u-%02u", (int)y, m, d);
}

/* HH:MM:SS[.f] of microseconds within a day, with exactly fsp digits. */
void mdb_add_clock_of_day(struct buf *out, int64_t us, int fsp)
{
	struct sqlval t = { .kind = SV_TIME, .i = us };

	sqlval_iso(out, &t, fsp);
}

/* Does a date, time or timestamp value go with the column's type? */
static bool temporal_matches(const struct coldesc *col, const struct sqlval *v)
{
	switch (v->kind) {
	case SV_DATE:
		return col->type == LT_DATE;
	case SV_TIME:
		return col->type == LT_TIME;
	default:
		return col->type == LT_TIMESTAMP || col->type == LT_TIMESTAMPTZ;
	}
}

/*
 * '0000-00-00[ 00:00:00[.f]]' from SVS_ZERO's packed y*10000+m*100+d
 * (times a day, plus the microseconds, for a timestamp). A repair refuses
 * more fractional digits than the column holds, a bound floors them; a
 * zero date is never negative (a bound checks that first: flooring one
 * near INT64_MIN would overflow).
 */
static int zero_date_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                         bool bound, struct tally_err *err)
{
	int64_t packed = v->i, us = 0;

	if (bound && v->i < 0)
		return mdb_lit_fail(col, true, err, "not a valid zero date");
	if (!bound && v->kind != SV_DATE && frac_digits(v->i) > col->fsp)
		return mdb_lit_fail(col, false, err, "value has more fractional digits than the "
		                    "column holds");
	if (v->kind != SV_DATE) {
		packed = v->i / MDB_DAY_US;
		us = v->i % MDB_DAY_US;
		if (bound)
			us = floor_us(us, col->fsp);
	}
	if (packed < 0 || packed > 99991231 || us < 0)
		return mdb_lit_fail(col, bound, err, "not a valid zero date");
	buf_addf(out, "'%04d-%02d-%02d", (int)(packed / 10000), (int)(packed / 100 % 100),
	         (int)(packed % 100));
	if (v->kind != SV_DATE) {
		struct sqlval clock = { .kind = SV_TIME, .i = us };

		buf_addch(out, ' ');
		sqlval_iso(out, &clock, col->fsp);
	}
	buf_addch(out, '\'');
	return 0;
}

/* A repair's date, time or timestamp: exactly the column's fractional digits, in its range. */
static int temporal_stored(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                           struct tally_err *err)
{
	if (v->kind != SV_DATE && frac_digits(v->i) > col->fsp)
		return mdb_lit_fail(col, false, err, "value has more fractional digits than the "
		                    "column holds");
	if (v->kind == SV_TIME) {
		if (v->i < -MDB_TIME_MAX_US || v->i > MDB_TIME_MAX_US)
			return mdb_lit_fail(col, false, err, "time outside -838:59:59.999999.."
			                    "838:59:59.999999");
	} else if (col->type == LT_TIMESTAMPTZ) {
		/* the script runs with time_zone '+00:00': the text is UTC */
		if (v->i < 1 - MDB_EPOCH_US || v->i > MDB_TIMESTAMP_MAX_US - MDB_EPOCH_US)
			return mdb_lit_fail(col, false, err, "timestamp outside 1970-01-01 "
			                    "00:00:00.000001..2038-01-19 03:14:07.999999 UTC");
	} else {
		int64_t y = sqlval_year(v);

		if (y < 1 || y > 9999)
			return mdb_lit_fail(col, false, err, "year outside 0001..9999");
	}
	buf_addch(out, '\'');
	sqlval_iso(out, v, v->kind == SV_DATE ? 0 : col->fsp);
	buf_addch(out, '\'');
	return 0;
}

/*
 * A bound's date, time or timestamp: floored to the column's fractional
 * digits, clamped to the largest value above, refused below the smallest.
 */
static int temporal_bound(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                          struct tally_err *err)
{
	int fsp = col->type == LT_DATE ? 0 : col->fsp;
	int64_t i = v->i, days, us;

	if (v->kind == SV_TIME) {
		i = floor_us(i, fsp);
		if (i < -MDB_TIME_MAX_US)
			return mdb_lit_fail(col, true, err, "a time below -838:59:59.999999 cannot be "
			                    "compared");
		if (i > MDB_TIME_MAX_US)
			i = floor_us(MDB_TIME_MAX_US, fsp);
		buf_addch(out, '\'');
		mdb_add_clock_of_day(out, i, fsp);
		buf_addch(out, '\'');
		return 0;
	}
	if (sqlval_year(v) < 0)
		return mdb_lit_fail(col, true, err, "a date before the year 0000 cannot be compared");
	if (v->kind == SV_DATE) {
		if (sqlval_year(v) > 9999)
			i = mdb_days_from_civil(9999, 12, 31);
		buf_addch(out, '\'');
		mdb_add_civil_date(out, i);
		buf_addch(out, '\'');
		return 0;
	}
	i = floor_us(i, fsp);
	if (sqlval_year(v) > 9999)
		i = floor_us(mdb_days_from_civil(10000, 1, 1) * MDB_DAY_US - 1, fsp);
	days = i / MDB_DAY_US;
	us = i % MDB_DAY_US;
	if (us < 0) {
		us += MDB_DAY_US;
		days--;
	}
	buf_addch(out, '\'');
	mdb_add_civil_date(out, days);
	buf_addch(out, ' ');
	mdb_add_clock_of_day(out, us, fsp);
	buf_addch(out, '\'');
	return 0;
}

static int temporal_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                        bool bound, struct tally_err *err)
{
	struct sqlval date;

	/* A date compared with a timestamp: the timestamp of its midnight, stored as the day. */
	if (col->type == LT_DATE && v->kind == SV_TIMESTAMP && !bound) {
		if (!sqlval_midnight_date(v, &date))
			return mdb_lit_fail(col, false, err, "the timestamp has a time of day, which a date "
			                    "column would lose");
		v = &date;
	}
	if (!temporal_matches(col, v))
		return -2;
	if (v->special == SVS_PINF || v->special == SVS_NINF)
		return mdb_lit_fail(col, bound, err, bound ? "MariaDB cannot compare infinity"
		                                           : "MariaDB cannot store infinity");
	if (v->special == SVS_ZERO && v->kind != SV_TIME)
		return zero_date_lit(out, col, v, bound, err);
	if (v->special != SVS_NONE)
		return mdb_lit_fail(col, bound, err, "not a valid date or time");
	return bound ? temporal_bound(out, col, v, err) : temporal_stored(out, col, v, err);
}

/* ---- the writer ------------------------------------------------------------------ */

/* v as a literal of col: stored by a repair, or with bound, compared as a range bound. */
static int literal_of(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                      bool bound, struct tally_err *err)
{
	int rc = -2;

	switch (v->kind) {
	case SV_NULL:
		if (bound)
			return mdb_lit_fail(col, true, err, "a range bound cannot be NULL");
		buf_addstr(out, "NULL");
		return 0;
	case SV_NUMBER:
		rc = mdb_number_lit(out, col, v, bound, err);
		break;
	case SV_FLOAT:
		rc = mdb_float_lit(out, col, v, bound, err);
		break;
	case SV_BOOL:
		rc = mdb_bool_lit(out, col, v, bound, err);
		break;
	case SV_TEXT:
	case SV_BYTES:
	case SV_RAW:
		rc = string_lit(out, col, v, bound, err);
		break;
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		rc = temporal_lit(out, col, v, bound, err);
		break;
	case SV_UUID:
		rc = uuid_lit(out, col, v, bound, err);
		break;
	case SV_BITS:
		rc = bits_lit(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		break;
	}
	return rc == -2 ? lit_mismatch(col, v, bound, err) : rc;
}

/* On failure out is left as it was. */
static int write_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                         bool bound, struct tally_err *err)
{
	size_t start = out->len;

	if (literal_of(out, col, v, bound, err) < 0) {
		if (out->len != start)
			buf_setlen(out, start);
		return -1;
	}
	return 0;
}

int mdb_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                struct tally_err *err)
{
	return write_literal(out, col, v, false, err);
}

int mdb_bound_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                      struct tally_err *err)
{
	return write_literal(out, col, v, true, err);
}

/*
 * A key value in the server's text as a literal that compares with its
 * column, for plan.c; false for a type planning does not range over or
 * unexpected text.
 */
bool mdb_key_literal(struct buf *out, const struct coldesc *col, const char *s, size_t n)
{
	switch (col->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_YEAR:
		return mdb_add_number(out, s, n);      /* YEAR 0000 is the number 0, the zero year */
	case LT_DATE:
	case LT_TIME:
	case LT_TIMESTAMP:
	case LT_TIMESTAMPTZ:
		if (!only_chars(s, n, "0123456789-:. "))
			return false;
		buf_addch(out, '\'');
		buf_add(out, s, n);
		buf_addch(out, '\'');
		return true;
	case LT_UUID:
	case LT_INET:
		if (!only_chars(s, n, col->type == LT_UUID ? HEXDIGITS "-" : HEXDIGITS ":."))
			return false;
		mdb_add_text(out, s, n);
		return true;
	case LT_TEXT:
	case LT_CHAR:
		if (utf8_count(s, n) < 0)
			return false;
		mdb_add_text(out, s, n);
		return true;
	case LT_BYTES:
		add_bytes(out, s, n);
		return true;
	case LT_BIT:
		bits_bound(out, s, n);
		return true;
	default:
		return false;
	}
}
