/*
 * connectors/mariadb/literal.c
 *   engine/repair, plan -> LITERAL: writes a value as a MariaDB literal of
 *   a column, for a repair script (conn_ops.literal: the value is stored,
 *   so it must fit the column) or a range bound (conn_ops.bound_literal:
 *   only compared, so only exactness matters). Performs no I/O and needs
 *   no session.
 */
#include "my_int.h"

#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A literal must read back as exactly the value given, whatever the
 * session's sql_mode. Strings are never double-quoted (ANSI_QUOTES) and
 * never hold a backslash (NO_BACKSLASH_ESCAPES decides what it means):
 * text with a backslash or a control character is written as
 * _utf8mb4 X'...', which every mode reads alike. The column is checked
 * first wherever a permissive sql_mode would clip, round, pad or map the
 * value instead of failing (range, scale, fractional seconds, enum case,
 * YEAR's two-digit forms).
 */

#define MDB_TIME_MAX_US INT64_C(3020399999999)          /* 838:59:59.999999 */
#define MDB_EPOCH_US INT64_C(946684800000000)           /* 2000-01-01 - 1970-01-01 */
#define MDB_TIMESTAMP_MAX_US INT64_C(2147483647999999)  /* 2038-01-19 03:14:07.999999 */
#define MDB_DAY_US INT64_C(86400000000)

/* The failure of a literal: names the column and its type, never the value. */
static int lit_fail(const struct coldesc *col, struct tally_err *err, const char *why)
{
	return err_set(err, ERR_DATA, "cannot write a value for column '%s' (%s): %s",
	               col->name, col->native ? col->native : ltype_name(col->type), why);
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

static int lit_mismatch(const struct coldesc *col, const struct sqlval *v,
                        struct tally_err *err)
{
	char why[96];

	snprintf(why, sizeof(why), "%s cannot be stored in this column type", sqlval_noun(v->kind));
	return lit_fail(col, err, why);
}

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
 * A bit string of '0'/'1' characters into BIT(n): b'...', refused when its
 * set bits do not fit the column (leading zeros beyond the width are fine).
 */
static int lit_bits(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                    struct tally_err *err)
{
	size_t first = 0;

	if (col->type != LT_BIT)
		return -2;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '0' && s[i] != '1')
			return lit_fail(col, err, "not a valid bit string");
	while (first < n && s[first] == '0')
		first++;
	if (col->bits > 0 && n - first > (size_t)col->bits)
		return lit_fail(col, err, "value is out of the column's range");
	buf_addstr(out, "b'");
	if (first == n)
		buf_addch(out, '0');
	else
		buf_add(out, s + first, n - first);
	buf_addch(out, '\'');
	return 0;
}

/* Bytes into a BINARY, VARBINARY, BLOB, BIT or geometry column: X'...'. */
static int lit_bytes(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                     struct tally_err *err)
{
	if (col->type == LT_BIT && col->bits > 0) {
		size_t i = 0, sig;
		unsigned char top;

		while (i < n && s[i] == 0)
			i++;
		sig = (n - i) * 8;
		for (top = i < n ? (unsigned char)s[i] : 0xff; sig && !(top & 0x80); top <<= 1)
			sig--;
		if (sig > (size_t)col->bits)
			return lit_fail(col, err, "value is out of the column's range");
	} else if (col->type == LT_BYTES && col->length > 0 && n > (size_t)col->length) {
		return lit_fail(col, err, "value is longer than the column holds");
	}
	add_bytes(out, s, n);
	return 0;
}

static bool text_in_charset(const char *cs, const char *s, size_t n);

/* UTF-8 text into a column the server parses text for. */
static int lit_text(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                    struct tally_err *err)
{
	long chars;

	if (col->type == LT_BYTES || col->type == LT_BIT)
		return lit_bytes(out, col, s, n, err);
	chars = utf8_count(s, n);
	if (chars < 0)
		return lit_fail(col, err, "text is not valid UTF-8");
	if ((col->type == LT_TEXT || col->type == LT_CHAR) && !text_fits(col, n, chars))
		return lit_fail(col, err, "value is longer than the column holds");
	if ((col->type == LT_TEXT || col->type == LT_CHAR) && col->charset &&
	    !text_in_charset(col->charset, s, n))
		return lit_fail(col, err, "text holds a character the column's character set cannot hold");
	if ((col->type == LT_ENUM || col->type == LT_SET) && !labels_ok(col, s, n))
		return lit_fail(col, err, col->type == LT_ENUM
		                ? "value is not one of the column's labels"
		                : "value is not a list of the column's labels in declared order");
	if (col->type == LT_INET && memchr(s, '/', n))
		return lit_fail(col, err, "an address with a prefix length cannot be stored in INET4 or INET6");
	if (col->type == LT_INET && col->native && strncmp(col->native, "inet4", 5) == 0 && memchr(s, ':', n))
		return lit_fail(col, err, "an IPv6 address cannot be stored in INET4");
	mdb_add_text(out, s, n);
	return 0;
}

/* A decimal number split into its parts, without leading or trailing zeros. */
struct num {
	bool neg;
	const char *ip;   /* integer digits, none for 0 */
	size_t nip;
	const char *fp;   /* fraction digits, none when integral */
	size_t nfp;
};

/* [-]digits[.digits], as SV_NUMBER promises; false otherwise. */
static bool num_parse(const char *s, size_t n, struct num *x)
{
	size_t i = 0, start;

	memset(x, 0, sizeof(*x));
	if (i < n && s[i] == '-') {
		x->neg = true;
		i++;
	}
	start = i;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == start)
		return false;
	x->ip = s + start;
	x->nip = i - start;
	if (i < n) {
		if (s[i] != '.' || i + 1 == n)
			return false;
		x->fp = s + ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i != n)
			return false;
		x->nfp = (size_t)(s + n - x->fp);
	}
	while (x->nip && x->ip[0] == '0') {
		x->ip++;
		x->nip--;
	}
	while (x->nfp && x->fp[x->nfp - 1] == '0')
		x->nfp--;
	if (x->nip == 0 && x->nfp == 0)
		x->neg = false;   /* -0 is 0 */
	return true;
}

static void num_add(struct buf *out, const struct num *x)
{
	if (x->neg)
		buf_addch(out, '-');
	if (x->nip)
		buf_add(out, x->ip, x->nip);
	else
		buf_addch(out, '0');
	if (x->nfp) {
		buf_addch(out, '.');
		buf_add(out, x->fp, x->nfp);
	}
}

/* Is the integer part of x within [-2^(bits-1), 2^(bits-1)-1] (or [0, 2^bits-1])? */
static bool int_fits(const struct num *x, int bits, bool is_unsigned)
{
	char lim[24];
	unsigned long long max;
	size_t len;

	if (bits <= 0 || bits > 64)
		return true;
	if (is_unsigned)
		max = bits == 64 ? ULLONG_MAX : (1ULL << bits) - 1;
	else
		max = (1ULL << (bits - 1)) - (x->neg ? 0 : 1);
	len = (size_t)snprintf(lim, sizeof(lim), "%llu", max);
	if (x->nip != len)
		return x->nip < len;
	return memcmp(x->ip, lim, len) <= 0;
}

/* e-notation from printf ("3.0000000000000004e-01") without '+' and exponent zeros. */
static void add_exp_form(struct buf *out, const char *txt)
{
	const char *e = strchr(txt, 'e'), *p;

	buf_add(out, txt, (size_t)(e - txt));
	buf_addch(out, 'e');
	p = e + 1;
	if (*p == '-')
		buf_addch(out, '-');
	if (*p == '-' || *p == '+')
		p++;
	while (*p == '0' && p[1])
		p++;
	buf_addstr(out, p);
}

/* The shortest %.*e text that strtod reads back as d (finite). */
static void shortest_e(char *txt, size_t cap, double d)
{
	for (int p = 0; p <= 16; p++) {
		snprintf(txt, cap, "%.*e", p, d);
		if (strtod(txt, NULL) == d)
			return;
	}
}

/*
 * A DOUBLE as an approximate-value literal, "3.0000000000000004e-1": the
 * server reads a literal with an exponent with a correctly rounded strtod,
 * so the shortest round-trip digits give back the same double (checked on
 * MariaDB 10.11 with the binary protocol, subnormals and extremes included).
 */
static void add_double(struct buf *out, double d)
{
	char txt[40];

	shortest_e(txt, sizeof(txt), d);
	add_exp_form(out, txt);
}

/*
 * A FLOAT column stores (float) of the double the server parses, after
 * checking that double against FLT_MAX: the shortest text that strtof
 * reads back is not enough (3.4028235e38 is above FLT_MAX as a double and
 * fails), so the text must also come back as f through a double. When no
 * short text does, the float's exact double value always does.
 */
static void add_float32(struct buf *out, float f)
{
	char txt[40];

	for (int p = 0; p <= 8; p++) {
		double back;

		snprintf(txt, sizeof(txt), "%.*e", p, (double)f);
		back = strtod(txt, NULL);
		if (fabs(back) <= FLT_MAX && (float)back == f && strtof(txt, NULL) == f) {
			add_exp_form(out, txt);
			return;
		}
	}
	add_double(out, (double)f);
}

/* A double's shortest digits as plain [-]digits[.digits], for exact columns. */
static void double_plain(struct buf *out, double d)
{
	char txt[40], digits[24];
	size_t nd = 0;
	long ex;
	const char *e;

	shortest_e(txt, sizeof(txt), d);
	e = strchr(txt, 'e');
	ex = strtol(e + 1, NULL, 10);
	for (const char *p = txt; p < e; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	if (txt[0] == '-')
		buf_addch(out, '-');
	if (ex < 0) {
		buf_addstr(out, "0.");
		for (long i = -1; i > ex; i--)
			buf_addch(out, '0');
		buf_add(out, digits, nd);
		return;
	}
	for (long i = 0; i <= ex; i++)
		buf_addch(out, (size_t)i < nd ? digits[i] : '0');
	if (nd > (size_t)ex + 1) {
		buf_addch(out, '.');
		buf_add(out, digits + ex + 1, nd - (size_t)ex - 1);
	}
}

/* A finite double into a FLOAT or DOUBLE column. */
static int lit_floatcol(struct buf *out, const struct coldesc *col, double d,
                        struct tally_err *err)
{
	if (col->is_unsigned && d < 0)
		return lit_fail(col, err, "a negative number cannot be stored in an unsigned column");
	if (col->bits == 32) {
		/* what strtof does with the same digits: round to nearest, or overflow */
		if (fabs(d) > FLT_MAX) {
			if (fabs(d) >= (double)FLT_MAX + 0x1p103)
				return lit_fail(col, err, "value is out of the column's range");
			d = copysign((double)FLT_MAX, d);
		}
		add_float32(out, (float)d);
	} else {
		add_double(out, d);
	}
	return 0;
}

/* A decimal number (SV_NUMBER's text) into an exact, float or text column. */
static int lit_number(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                      struct tally_err *err)
{
	struct num x;

	if (!num_parse(s, n, &x))
		return lit_fail(col, err, "not a valid number");
	switch (col->type) {
	case LT_INT:
	case LT_BOOL:
	case LT_YEAR:
	case LT_DECIMAL:
		if (x.neg && col->is_unsigned)
			return lit_fail(col, err, "a negative number cannot be stored in an unsigned "
			                "column");
		if (col->type == LT_DECIMAL) {
			if (col->scale >= 0 && x.nfp > (size_t)col->scale)
				return lit_fail(col, err, "value has more fractional digits than the "
				                "column holds");
			if (col->precision > 0 && col->scale >= 0 &&
			    x.nip > (size_t)(col->precision - col->scale))
				return lit_fail(col, err, "value is out of the column's range");
		} else if (x.nfp) {
			return lit_fail(col, err, "a number with a fraction cannot be stored in an "
			                "integer column");
		} else if (col->type == LT_YEAR) {
			/* a number 1..99 means 1970..2069, and 0 is the year 0000 */
			if (x.neg || (x.nip > 0 && (x.nip != 4 || memcmp(x.ip, "1901", 4) < 0 ||
			                            memcmp(x.ip, "2155", 4) > 0)))
				return lit_fail(col, err, "year outside 1901..2155 (or 0)");
		} else if (!int_fits(&x, col->bits, col->is_unsigned)) {
			return lit_fail(col, err, "value is out of the column's range");
		}
		num_add(out, &x);
		return 0;
	case LT_FLOAT: {
		/* parsed here as canon parses it, then written as a float literal */
		char *txt = xstrndup(s, n);
		double d = col->bits == 32 ? (double)strtof(txt, NULL) : strtod(txt, NULL);
		int rc;

		free(txt);
		if (isinf(d))
			return lit_fail(col, err, "value is out of the column's range");
		rc = lit_floatcol(out, col, d, err);
		return rc;
	}
	case LT_TEXT:
	case LT_CHAR:
	case LT_ENUM:
	case LT_SET:
	case LT_JSON:
		return lit_text(out, col, s, n, err);
	default:
		return -2;
	}
}

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

/* '0000-00-00[ 00:00:00[.f]]' from SVS_ZERO's packed y*10000+m*100+d. */
static int lit_zero_date(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                         struct tally_err *err)
{
	int64_t packed = v->i, us = 0;

	if (v->kind != SV_DATE) {
		packed = v->i / MDB_DAY_US;
		us = v->i % MDB_DAY_US;
	}
	if (packed < 0 || packed > 99991231 || us < 0)
		return lit_fail(col, err, "not a valid zero date");
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

/* Dates, times and timestamps: ISO text with exactly the column's fractional digits. */
static int lit_temporal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                        struct tally_err *err)
{
	bool ok;

	switch (v->kind) {
	case SV_DATE:
		ok = col->type == LT_DATE;
		break;
	case SV_TIME:
		ok = col->type == LT_TIME;
		break;
	default:
		ok = col->type == LT_TIMESTAMP || col->type == LT_TIMESTAMPTZ;
		break;
	}
	if (!ok)
		return lit_mismatch(col, v, err);
	if (v->special == SVS_PINF || v->special == SVS_NINF)
		return lit_fail(col, err, "MariaDB cannot store infinity");
	if (v->special == SVS_ZERO && v->kind != SV_TIME) {
		if (v->kind != SV_DATE && frac_digits(v->i) > col->fsp)
			return lit_fail(col, err, "value has more fractional digits than the column "
			                "holds");
		return lit_zero_date(out, col, v, err);
	}
	if (v->special != SVS_NONE)
		return lit_fail(col, err, "not a valid date or time");
	if (v->kind != SV_DATE && frac_digits(v->i) > col->fsp)
		return lit_fail(col, err, "value has more fractional digits than the column holds");
	if (v->kind == SV_TIME) {
		if (v->i < -MDB_TIME_MAX_US || v->i > MDB_TIME_MAX_US)
			return lit_fail(col, err, "time outside -838:59:59.999999..838:59:59.999999");
	} else if (col->type == LT_TIMESTAMPTZ) {
		/* the script runs with time_zone '+00:00': the text is UTC */
		if (v->i < 1 - MDB_EPOCH_US || v->i > MDB_TIMESTAMP_MAX_US - MDB_EPOCH_US)
			return lit_fail(col, err, "timestamp outside 1970-01-01 00:00:00.000001.."
			                "2038-01-19 03:14:07.999999 UTC");
	} else {
		int64_t y = sqlval_year(v);

		if (y < 1 || y > 9999)
			return lit_fail(col, err, "year outside 0001..9999");
	}
	buf_addch(out, '\'');
	sqlval_iso(out, v, v->kind == SV_DATE ? 0 : col->fsp);
	buf_addch(out, '\'');
	return 0;
}

static int lit_value(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                     struct tally_err *err)
{
	enum ltype t = col->type;
	bool text_col = t == LT_TEXT || t == LT_CHAR || t == LT_ENUM || t == LT_SET || t == LT_JSON;
	bool raw_col = t == LT_BYTES || t == LT_BIT || t == LT_OTHER;
	int rc;

	switch (v->kind) {
	case SV_NULL:
		buf_addstr(out, "NULL");
		return 0;
	case SV_NUMBER:
		if (v->special != SVS_NONE)
			return lit_fail(col, err, "MariaDB cannot store NaN or infinity");
		rc = lit_number(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		return rc == -2 ? lit_mismatch(col, v, err) : rc;
	case SV_FLOAT:
		if (isnan(v->d) || isinf(v->d))
			return lit_fail(col, err, "MariaDB cannot store NaN or infinity");
		if (t == LT_FLOAT)
			return lit_floatcol(out, col, v->d, err);
		if (t == LT_INT || t == LT_DECIMAL || t == LT_YEAR || text_col) {
			struct buf txt = BUF_INIT;

			double_plain(&txt, v->d);
			rc = lit_number(out, col, txt.data, txt.len, err);
			buf_release(&txt);
			return rc == -2 ? lit_mismatch(col, v, err) : rc;
		}
		return lit_mismatch(col, v, err);
	case SV_BOOL:
		if (t == LT_INT || t == LT_BOOL || t == LT_DECIMAL || t == LT_FLOAT)
			return lit_number(out, col, v->b ? "1" : "0", 1, err);
		if (t == LT_BIT) {
			buf_addch(out, v->b ? '1' : '0');
			return 0;
		}
		return lit_mismatch(col, v, err);
	case SV_TEXT:
		return lit_text(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
	case SV_BYTES:
		if (raw_col)
			return lit_bytes(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		if (text_col)
			return lit_text(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		return lit_mismatch(col, v, err);
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		return lit_temporal(out, col, v, err);
	case SV_UUID: {
		const unsigned char *u = (const unsigned char *)v->s;
		char txt[40];
		size_t o = 0;

		if (!u || v->len != 16)
			return lit_fail(col, err, "a uuid value must have 16 bytes");
		if (t == LT_BYTES)
			return lit_bytes(out, col, v->s, 16, err);
		if (t != LT_UUID && t != LT_TEXT && t != LT_CHAR)
			return lit_mismatch(col, v, err);
		for (size_t i = 0; i < 16; i++)
			o += (size_t)snprintf(txt + o, sizeof(txt) - o, "%s%02x",
			                      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u[i]);
		return lit_text(out, col, txt, o, err);
	}
	case SV_BITS:
		rc = lit_bits(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		return rc == -2 ? lit_mismatch(col, v, err) : rc;
	case SV_RAW:
		if (raw_col)
			return lit_bytes(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
		return lit_text(out, col, v->s ? v->s : "", v->s ? v->len : 0, err);
	}
	return lit_mismatch(col, v, err);
}

/* conn_ops.literal: on failure out is left as it was. */
int mdb_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                struct tally_err *err)
{
	size_t start = out->len;

	if (lit_value(out, col, v, err) < 0) {
		if (out->len != start)
			buf_setlen(out, start);
		return -1;
	}
	return 0;
}

/* ---- range bounds ---------------------------------------------------------------- */

/*
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
 */

static int bound_fail(const struct coldesc *col, struct tally_err *err, const char *why)
{
	return err_set(err, ERR_DATA, "cannot write a range bound for column '%s' (%s): %s",
	               col->name, col->native ? col->native : ltype_name(col->type), why);
}

static int bound_mismatch(const struct coldesc *col, const struct sqlval *v,
                          struct tally_err *err)
{
	char why[96];

	snprintf(why, sizeof(why), "%s cannot be compared with this column type",
	         sqlval_noun(v->kind));
	return bound_fail(col, err, why);
}

/* -1, 0 or 1 as a < b, a == b, a > b. */
static int num_cmp(const struct num *a, const struct num *b)
{
	int mag = 0;
	size_t n;

	if (a->neg != b->neg)
		return a->neg ? -1 : 1;
	if (a->nip != b->nip) {
		mag = a->nip < b->nip ? -1 : 1;
	} else if (a->nip && (mag = memcmp(a->ip, b->ip, a->nip)) != 0) {
		mag = mag < 0 ? -1 : 1;
	} else {
		n = a->nfp < b->nfp ? a->nfp : b->nfp;
		mag = n ? memcmp(a->fp, b->fp, n) : 0;
		if (mag)
			mag = mag < 0 ? -1 : 1;
		else if (a->nfp != b->nfp)   /* no trailing zeros: the longer one is larger */
			mag = a->nfp > b->nfp ? 1 : -1;
	}
	return a->neg ? -mag : mag;
}

/*
 * x rounded toward minus infinity to `scale` fractional digits, then
 * clamped to +-10^maxdig when its integer part is longer than maxdig
 * digits (the column holds nothing that large), written as a number.
 */
static void add_num_floor(struct buf *out, const struct num *x, size_t scale, size_t maxdig)
{
	struct buf digits = BUF_INIT, txt = BUF_INIT;
	struct num y;

	if (x->nip > maxdig) {
		buf_addstr(out, x->neg ? "-1" : "1");
		for (size_t i = 0; i < maxdig; i++)
			buf_addch(out, '0');
		return;
	}
	if (x->nfp <= scale) {
		num_add(out, x);
		return;
	}
	/* digits of the integer part and the kept fraction, as one number */
	buf_add(&digits, x->ip, x->nip);
	buf_add(&digits, x->fp, scale);
	if (x->neg) {
		/* a dropped digit is non-zero (no trailing zeros): one unit more in magnitude */
		size_t i = digits.len;

		while (i > 0 && digits.data[i - 1] == '9')
			digits.data[--i] = '0';
		if (i > 0) {
			digits.data[i - 1]++;
		} else {
			buf_addch(&digits, '0');
			memmove(digits.data + 1, digits.data, digits.len - 1);
			digits.data[0] = '1';
		}
		buf_addch(&txt, '-');
	}
	if (digits.len == scale)
		buf_addch(&txt, '0');
	buf_add(&txt, digits.data, digits.len - scale);
	if (scale) {
		buf_addch(&txt, '.');
		buf_add(&txt, digits.data + digits.len - scale, scale);
	}
	num_parse(txt.data, txt.len, &y);     /* drops the zeros the rounding left */
	num_add(out, &y);
	buf_release(&digits);
	buf_release(&txt);
}

/*
 * The largest double not above the decimal number x, for a FLOAT or
 * DOUBLE column (a FLOAT is compared as the double it widens to): a
 * column value d is above x exactly when it is above that double. strtod
 * rounds to nearest; glibc prints a double's exact decimal value, which
 * tells whether it rounded up. False when x is below -DBL_MAX.
 */
static bool num_floor_double(const struct num *x, double *out)
{
	struct buf txt = BUF_INIT;
	char exact[1500];
	struct num y;
	double d;

	num_add(&txt, x);
	d = strtod(txt.data, NULL);
	buf_release(&txt);
	if (isinf(d)) {
		if (d < 0)
			return false;
		*out = DBL_MAX;
		return true;
	}
	snprintf(exact, sizeof(exact), "%.1100f", d);
	if (num_parse(exact, strlen(exact), &y) && num_cmp(&y, x) > 0)
		d = nextafter(d, -INFINITY);
	if (isinf(d))
		return false;
	*out = d;
	return true;
}

/* A number bound for an integer, decimal, year or float column. */
static int bound_number(struct buf *out, const struct coldesc *col, const struct num *x,
                        struct tally_err *err)
{
	switch (col->type) {
	case LT_INT:
	case LT_BOOL:
		add_num_floor(out, x, 0, 20);     /* 2^64 has 20 digits */
		return 0;
	case LT_DECIMAL: {
		size_t scale = col->scale >= 0 ? (size_t)col->scale : 30;
		size_t maxdig = col->precision > 0 && col->precision >= col->scale
		                ? (size_t)(col->precision - (col->scale > 0 ? col->scale : 0)) : 65;

		add_num_floor(out, x, scale, maxdig);
		return 0;
	}
	case LT_YEAR: {
		/*
		 * A YEAR holds 0 and 1901..2155, and the server reads a constant
		 * 1..99 as 1970..2069 and clips others: 0 stands for any year in
		 * 0..1900, -1 for any negative one, 2155 for any later one.
		 */
		struct buf txt = BUF_INIT;
		long y;

		add_num_floor(&txt, x, 0, 6);
		y = strtol(txt.data, NULL, 10);
		buf_release(&txt);
		if (y < 0)
			buf_addstr(out, "-1");
		else if (y < 1901)
			buf_addstr(out, "0");
		else
			buf_addf(out, "%ld", y > 2155 ? 2155L : y);
		return 0;
	}
	case LT_FLOAT: {
		double d;

		if (!num_floor_double(x, &d))
			return bound_fail(col, err, "number is below the range of a double");
		add_double(out, d);
		return 0;
	}
	default:
		return -2;
	}
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

static int bound_text(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                      struct tally_err *err)
{
	if (utf8_count(s, n) < 0)
		return bound_fail(col, err, "text is not valid UTF-8");
	if (col->charset && !text_in_charset(col->charset, s, n))
		return bound_fail(col, err, "text holds a character the column's character set "
		                  "cannot hold");
	mdb_add_text(out, s, n);
	return 0;
}

/*
 * An enum value as its index (1-based; 0 is the invalid value ''), a set
 * value as its bit mask: the numbers the server orders them by.
 */
static int bound_labels(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                        struct tally_err *err)
{
	size_t idx;
	uint64_t mask = 0;

	if (col->nlabels == 0)
		return bound_fail(col, err, "the column's labels are unknown");
	if (col->type == LT_ENUM) {
		if (n == 0) {
			if (is_label(col, s, 0, &idx))
				return bound_fail(col, err, "an empty value is ambiguous: it may be the "
				                  "declared label '' or the invalid value");
			buf_addch(out, '0');
			return 0;
		}
		if (!is_label(col, s, n, &idx))
			return bound_fail(col, err, "value is not one of the column's labels");
		buf_addf(out, "%zu", idx + 1);
		return 0;
	}
	for (size_t i = 0; n > 0 && i <= n;) {
		const char *comma = memchr(s + i, ',', n - i);
		size_t len = comma ? (size_t)(comma - (s + i)) : n - i;

		if (!is_label(col, s + i, len, &idx) || idx >= 64)
			return bound_fail(col, err, "value is not a list of the column's labels");
		mask |= UINT64_C(1) << idx;
		i += len + 1;
	}
	buf_addf(out, "%" PRIu64, mask);
	return 0;
}

/* BIT(n) compares as an unsigned integer: the big-endian bytes as a number. */
static void bound_bits(struct buf *out, const char *s, size_t n)
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

#define HEXDIGITS "0123456789abcdefABCDEF"

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

/* Dates, times and timestamps: floored to the column's fsp, clamped above. */
static int bound_temporal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                          struct tally_err *err)
{
	bool ok;
	int fsp = col->type == LT_DATE ? 0 : col->fsp;
	int64_t i = v->i;

	switch (v->kind) {
	case SV_DATE:
		ok = col->type == LT_DATE;
		break;
	case SV_TIME:
		ok = col->type == LT_TIME;
		break;
	default:
		ok = col->type == LT_TIMESTAMP || col->type == LT_TIMESTAMPTZ;
		break;
	}
	if (!ok)
		return bound_mismatch(col, v, err);
	if (v->special == SVS_PINF || v->special == SVS_NINF)
		return bound_fail(col, err, "MariaDB cannot compare infinity");
	if (v->special == SVS_ZERO && v->kind != SV_TIME) {
		struct sqlval z = *v;

		/* a zero date packs y*10000+m*100+d (times a day): never negative */
		if (v->i < 0)
			return bound_fail(col, err, "not a valid zero date");
		if (v->kind != SV_DATE) {
			int64_t packed = v->i / MDB_DAY_US;

			z.i = packed * MDB_DAY_US + floor_us(v->i - packed * MDB_DAY_US, fsp);
		}
		return lit_zero_date(out, col, &z, err) < 0 ? bound_fail(col, err, "not a valid zero "
		                                                        "date") : 0;
	}
	if (v->special != SVS_NONE)
		return bound_fail(col, err, "not a valid date or time");
	if (v->kind == SV_TIME) {
		i = floor_us(i, fsp);
		if (i < -MDB_TIME_MAX_US)
			return bound_fail(col, err, "a time below -838:59:59.999999 cannot be compared");
		if (i > MDB_TIME_MAX_US)
			i = floor_us(MDB_TIME_MAX_US, fsp);
		buf_addch(out, '\'');
		mdb_add_clock_of_day(out, i, fsp);
		buf_addch(out, '\'');
		return 0;
	}
	if (sqlval_year(v) < 0)
		return bound_fail(col, err, "a date before the year 0000 cannot be compared");
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
	{
		int64_t days = i / MDB_DAY_US, us = i % MDB_DAY_US;

		if (us < 0) {
			us += MDB_DAY_US;
			days--;
		}
		buf_addch(out, '\'');
		mdb_add_civil_date(out, days);
		buf_addch(out, ' ');
		mdb_add_clock_of_day(out, us, fsp);
		buf_addch(out, '\'');
	}
	return 0;
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

static int bound_value(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                       struct tally_err *err)
{
	enum ltype t = col->type;
	bool text_col = t == LT_TEXT || t == LT_CHAR || t == LT_JSON;
	bool label_col = t == LT_ENUM || t == LT_SET;
	bool raw_col = t == LT_BYTES || t == LT_OTHER;
	const char *s = v->s ? v->s : "";
	size_t n = v->s ? v->len : 0;
	struct num x;
	int rc;

	switch (v->kind) {
	case SV_NULL:
		return bound_fail(col, err, "a range bound cannot be NULL");
	case SV_NUMBER:
		if (v->special != SVS_NONE)
			return bound_fail(col, err, "MariaDB cannot compare NaN or infinity");
		if (!num_parse(s, n, &x))
			return bound_fail(col, err, "not a valid number");
		if (text_col)
			return bound_text(out, col, s, n, err);
		rc = bound_number(out, col, &x, err);
		return rc == -2 ? bound_mismatch(col, v, err) : rc;
	case SV_FLOAT:
		if (isnan(v->d) || isinf(v->d))
			return bound_fail(col, err, "MariaDB cannot compare NaN or infinity");
		if (t == LT_FLOAT) {
			add_double(out, v->d);
			return 0;
		}
		if (t == LT_INT || t == LT_BOOL || t == LT_DECIMAL || t == LT_YEAR) {
			struct buf txt = BUF_INIT;

			double_plain(&txt, v->d);
			num_parse(txt.data, txt.len, &x);
			rc = bound_number(out, col, &x, err);
			buf_release(&txt);
			return rc;
		}
		return bound_mismatch(col, v, err);
	case SV_BOOL:
		if (t == LT_INT || t == LT_BOOL || t == LT_DECIMAL || t == LT_BIT) {
			buf_addch(out, v->b ? '1' : '0');
			return 0;
		}
		if (t == LT_FLOAT) {
			buf_addstr(out, v->b ? "1e0" : "0e0");
			return 0;
		}
		return bound_mismatch(col, v, err);
	case SV_BITS:
		rc = lit_bits(out, col, s, n, err);
		return rc == -2 ? bound_mismatch(col, v, err) : rc;
	case SV_TEXT:
	case SV_BYTES:
	case SV_RAW:
		if (raw_col) {
			add_bytes(out, s, n);
			return 0;
		}
		if (t == LT_BIT) {
			bound_bits(out, s, n);
			return 0;
		}
		if (label_col)
			return bound_labels(out, col, s, n, err);
		if (t == LT_UUID || t == LT_INET) {
			if (!only_chars(s, n, t == LT_UUID ? HEXDIGITS "-" : HEXDIGITS ":."))
				return bound_fail(col, err, t == LT_UUID ? "not a valid uuid"
				                  : "not a valid address");
			mdb_add_text(out, s, n);
			return 0;
		}
		if (text_col || v->kind == SV_RAW)
			return bound_text(out, col, s, n, err);
		return bound_mismatch(col, v, err);
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		return bound_temporal(out, col, v, err);
	case SV_UUID: {
		char txt[40];
		size_t len;

		if (!v->s || v->len != 16)
			return bound_fail(col, err, "a uuid value must have 16 bytes");
		if (t == LT_BYTES) {
			add_bytes(out, v->s, 16);
			return 0;
		}
		if (t != LT_UUID && !text_col)
			return bound_mismatch(col, v, err);
		len = uuid_text(txt, sizeof(txt), (const unsigned char *)v->s);
		mdb_add_text(out, txt, len);
		return 0;
	}
	}
	return bound_mismatch(col, v, err);
}

/* conn_ops.bound_literal: on failure out is left as it was. */
int mdb_bound_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                      struct tally_err *err)
{
	size_t start = out->len;

	if (bound_value(out, col, v, err) < 0) {
		if (out->len != start)
			buf_setlen(out, start);
		return -1;
	}
	return 0;
}

/*
 * A key value in the server's text as a literal that compares with its
 * column, for plan.c; false for a type planning does not range over or
 * unexpected text.
 */
bool mdb_key_literal(struct buf *out, const struct coldesc *col, const char *s, size_t n)
{
	struct num x;

	switch (col->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_YEAR:
		if (!num_parse(s, n, &x))
			return false;
		num_add(out, &x);      /* YEAR 0000 is the number 0, the zero year */
		return true;
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
		bound_bits(out, s, n);
		return true;
	default:
		return false;
	}
}
