/*
 * connectors/postgres/literal.c
 *   merge -> repair -> SCRIPT, PostgreSQL: a value as a literal of the
 *   column it is written to, for repair scripts (literal) and, with the
 *   bound flag, for the range bounds of a scan (bound_literal). Needs no
 *   session; the statements around the literals are script.c's.
 */
#include "../connector.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

/*
 * pgc_literal() writes what the repair script's session reads back as the
 * same value: the script runs with standard_conforming_strings on, so a
 * string literal is '...' with quotes doubled and nothing else special;
 * numbers go unquoted only after their syntax is checked. Every refusal
 * names the column and its type, never the value.
 */

/* PostgreSQL's range, in sqlval units (days or microseconds since 2000). */
#define PGC_DATE_MIN  INT64_C(-2451545)               /* 4714-11-24 BC */
#define PGC_DATE_MAX  INT64_C(2145031948)             /* 5874897-12-31 */
#define PGC_TS_MIN    INT64_C(-211813488000000000)    /* 4714-11-24 00:00 BC */
#define PGC_TS_END    INT64_C(9223371331200000000)    /* 294277-01-01 00:00 */
#define PGC_DAY_US    INT64_C(86400000000)

/* The reason, worded by conn_lit_refused() (connector.h) like every driver's. */
static int pgc_lit_err(struct tally_err *err, const struct coldesc *col, bool bound, const char *fmt, ...)
	TALLY_PRINTF(4, 5);

static int pgc_lit_err(struct tally_err *err, const struct coldesc *col, bool bound, const char *fmt, ...)
{
	char text[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return conn_lit_refused(err, col, bound, text);
}

static const char *pgc_kind_name(enum sqlval_kind k)
{
	switch (k) {
	case SV_NULL: return "NULL";
	case SV_NUMBER: return "number";
	case SV_FLOAT: return "floating-point";
	case SV_BOOL: return "boolean";
	case SV_TEXT: return "text";
	case SV_BYTES: return "binary";
	case SV_DATE: return "date";
	case SV_TIME: return "time";
	case SV_TIMESTAMP: return "timestamp";
	case SV_TIMESTAMPTZ: return "timestamptz";
	case SV_UUID: return "uuid";
	case SV_BITS: return "bit string";
	case SV_RAW: return "raw";
	}
	return "unknown";
}

static int pgc_lit_mismatch(struct tally_err *err, const struct coldesc *col, bool bound, const struct sqlval *v)
{
	return pgc_lit_err(err, col, bound, "a %s value cannot be stored in this column",
	                   pgc_kind_name(v->kind));
}

/*
 * Length in characters of UTF-8 text, or -1 when s is not valid UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included).
 * *nul is set when s holds a NUL byte.
 */
static long pgc_utf8_chars(const char *s, size_t len, bool *nul)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	long n = 0;

	*nul = memchr(s, '\0', len) != NULL;
	while (p < end) {
		unsigned c = *p++, need, cp, min;

		if (c < 0x80) {
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return -1;
		if ((size_t)(end - p) < need)
			return -1;
		for (unsigned k = 0; k < need; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[k] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		p += need;
		n++;
	}
	return n;
}

/* Appends '...' with every quote doubled; s holds no NUL. */
void pgc_add_quoted(struct buf *out, const char *s, size_t len)
{
	const char *end = s + len, *q;

	buf_addch(out, '\'');
	while ((q = memchr(s, '\'', (size_t)(end - s))) != NULL) {
		buf_add(out, s, (size_t)(q - s) + 1);
		buf_addch(out, '\'');
		s = q + 1;
	}
	buf_add(out, s, (size_t)(end - s));
	buf_addch(out, '\'');
}

/*
 * Text for a text-like column: valid UTF-8, no NUL, within the declared
 * length (unless bound). from_bytes: s came as SV_BYTES (said so in the
 * message).
 */
static int pgc_text_lit(struct buf *out, const struct coldesc *col, const char *s, size_t len,
                        bool from_bytes, bool bound, struct tally_err *err)
{
	bool nul;
	long chars = pgc_utf8_chars(s, len, &nul);

	if (nul)
		return pgc_lit_err(err, col, bound, "a NUL byte cannot be stored in PostgreSQL text");
	if (chars < 0)
		return pgc_lit_err(err, col, bound, "%s not valid UTF-8 cannot be stored as text",
		                   from_bytes ? "bytes that are" : "text that is");
	if (!bound && (col->type == LT_TEXT || col->type == LT_CHAR) && col->length > 0 &&
	    chars > col->length)
		return pgc_lit_err(err, col, bound, "text longer than %ld characters cannot be stored",
		                   col->length);
	pgc_add_quoted(out, s, len);
	return 0;
}

/* A decimal number split into its parts, without leading or trailing zeros. */
struct pgc_num {
	bool neg;
	const char *ip;      /* integer digits, no leading zeros; empty for 0 */
	size_t nip;
	const char *fp;      /* fraction digits, no trailing zeros */
	size_t nfp;
	size_t fzeros;       /* leading zeros of the fraction (when nip == 0) */
};

/* Parses [-]digits[.digits]; false if s is anything else. */
static bool pgc_parse_num(const char *s, size_t len, struct pgc_num *n)
{
	const char *p = s, *end = s + len, *dot;

	memset(n, 0, sizeof(*n));
	if (p < end && *p == '-') {
		n->neg = true;
		p++;
	}
	dot = memchr(p, '.', (size_t)(end - p));
	if (!dot)
		dot = end;
	if (dot == p || (dot < end && dot + 1 == end))
		return false;
	for (const char *q = p; q < end; q++)
		if (q != dot && (*q < '0' || *q > '9'))
			return false;
	while (p < dot && *p == '0')
		p++;
	n->ip = p;
	n->nip = (size_t)(dot - p);
	if (dot < end) {
		const char *f = dot + 1, *fe = end;

		while (fe > f && fe[-1] == '0')
			fe--;
		n->fp = f;
		n->nfp = (size_t)(fe - f);
		if (n->nip == 0)
			while (n->fzeros < n->nfp && f[n->fzeros] == '0')
				n->fzeros++;
	} else {
		n->fp = end;
	}
	return true;
}

static bool pgc_num_is_zero(const struct pgc_num *n)
{
	return n->nip == 0 && n->nfp == 0;
}

/* Appends an integer without leading zeros or a negative zero. */
static void pgc_add_int(struct buf *out, const struct pgc_num *n)
{
	if (n->neg && n->nip)
		buf_addch(out, '-');
	if (n->nip)
		buf_add(out, n->ip, n->nip);
	else
		buf_addch(out, '0');
}

/* An integer in the range of a PostgreSQL integer of `bits`. */
static int pgc_check_int(const struct coldesc *col, const struct pgc_num *n, struct tally_err *err)
{
	const bool bound = false;   /* only a stored value is checked against its range */
	int bits = col->bits == 16 || col->bits == 32 ? col->bits : 64;
	uint64_t mag = 0, limit;

	if (n->nfp)
		return pgc_lit_err(err, col, bound, "a number with a fraction cannot be stored exactly");
	if (n->nip > 20)
		return pgc_lit_err(err, col, bound, "the number is out of range");
	for (size_t i = 0; i < n->nip; i++) {
		unsigned d = (unsigned)(n->ip[i] - '0');

		if (mag > (UINT64_MAX - d) / 10)
			return pgc_lit_err(err, col, bound, "the number is out of range");
		mag = mag * 10 + d;
	}
	limit = (UINT64_C(1) << (bits - 1)) - (n->neg ? 0 : 1);
	if (mag > limit)
		return pgc_lit_err(err, col, bound, "the number is out of range");
	return 0;
}

/*
 * A number a numeric(p,s) holds without rounding: at most s fraction
 * digits (a negative s wants that many zeros before the point), and below
 * 10^(p-s) in magnitude, as PostgreSQL's apply_typmod() checks.
 */
static int pgc_check_decimal(const struct coldesc *col, const struct pgc_num *n,
                             struct tally_err *err)
{
	const bool bound = false;   /* only a stored value is checked against its scale */
	long p = col->precision, sc = col->scale, exp10;

	if (p <= 0 || pgc_num_is_zero(n))
		return 0;
	if (sc >= 0 && (long)n->nfp > sc)
		return pgc_lit_err(err, col, bound,
		                   "a number with more than %ld decimal places cannot be stored exactly", sc);
	if (sc < 0) {
		size_t tz = 0;

		while (tz < n->nip && n->ip[n->nip - 1 - tz] == '0')
			tz++;
		if (n->nfp || (long)tz < -sc)
			return pgc_lit_err(err, col, bound, "the number would be rounded to %ld digits before the decimal point",
			                   -sc);
	}
	/* 10^exp10 <= |x| < 10^(exp10 + 1) */
	exp10 = n->nip ? (long)n->nip - 1 : -(long)n->fzeros - 1;
	if (exp10 >= p - sc)
		return pgc_lit_err(err, col, bound, "the number is out of range");
	return 0;
}

/*
 * Expands the %g text of a finite double into plain digits in d (for the
 * numeric checks): "1.5e+03" -> "1500", "1e-05" -> "0.00001".
 */
static void pgc_plain_digits(struct buf *d, const char *g)
{
	const char *e = strchr(g, 'e');
	struct buf mant = BUF_INIT;
	long exp = 0, point;
	bool neg = *g == '-';

	if (!e) {
		buf_addstr(d, g);
		return;
	}
	pgc_parse_long(e + 1 + (e[1] == '+'), &exp);
	for (const char *p = g + neg; p < e; p++)
		if (*p != '.')
			buf_addch(&mant, *p);
	/* One digit before the point in %g's exponent form. */
	point = 1 + exp;
	if (neg)
		buf_addch(d, '-');
	if (point <= 0) {
		buf_addstr(d, "0.");
		for (long i = 0; i < -point; i++)
			buf_addch(d, '0');
		buf_add(d, mant.data, mant.len);
	} else if ((size_t)point >= mant.len) {
		buf_add(d, mant.data, mant.len);
		for (size_t i = mant.len; i < (size_t)point; i++)
			buf_addch(d, '0');
	} else {
		buf_add(d, mant.data, (size_t)point);
		buf_addch(d, '.');
		buf_add(d, mant.data + point, mant.len - (size_t)point);
	}
	buf_release(&mant);
}

/*
 * The shortest %g text that reads back as the same value: as a double, or
 * as a float for a 32-bit column (*range is cleared when the value does
 * not fit a float at all).
 */
static void pgc_shortest(char *dst, size_t cap, double d, bool single, bool *range)
{
	*range = true;
	if (single) {
		float f = (float)d;

		if (isinf(f) || (f == 0.0f && d != 0.0))
			*range = false;
		for (int prec = 1; prec <= 9; prec++) {
			snprintf(dst, cap, "%.*g", prec, (double)f);
			if (strtof(dst, NULL) == f)
				return;
		}
		snprintf(dst, cap, "%.9g", (double)f);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(dst, cap, "%.*g", prec, d);
		if (strtod(dst, NULL) == d)
			return;
	}
	snprintf(dst, cap, "%.17g", d);
}

/*
 * An integer bound, typed as the column's own integer type when it fits,
 * so that a row comparison matches the index exactly; otherwise (out of
 * the type's range, or with a fraction) a numeric literal: exact, though
 * compared as numeric.
 */
static void pgc_bound_int(struct buf *out, const struct coldesc *col, const struct pgc_num *n,
                          const char *s, size_t len)
{
	struct tally_err ignored;

	if (pgc_check_int(col, n, &ignored) < 0) {
		buf_add(out, s, len);
		return;
	}
	buf_addch(out, '\'');
	pgc_add_int(out, n);
	buf_addf(out, "'::pg_catalog.int%d", col->bits == 16 ? 2 : col->bits == 32 ? 4 : 8);
}

static int pgc_number_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                          bool bound, struct tally_err *err)
{
	const char *s = v->s ? v->s : "";
	size_t len = v->len ? v->len : strlen(s);
	struct pgc_num n;

	if (v->special != SVS_NONE) {
		const char *text = v->special == SVS_NAN ? "NaN"
		                 : v->special == SVS_PINF ? "Infinity"
		                 : v->special == SVS_NINF ? "-Infinity" : NULL;

		if (bound && text && col->type == LT_INT) {
			/* Compared as numeric, which orders NaN above every number. */
			pgc_add_quoted(out, text, strlen(text));
			buf_addstr(out, "::pg_catalog.numeric");
			return 0;
		}
		if (!text || (col->type != LT_DECIMAL && col->type != LT_FLOAT))
			return pgc_lit_err(err, col, bound, "a NaN or infinite number cannot be stored");
		if (!bound && col->type == LT_DECIMAL && v->special != SVS_NAN && col->precision > 0)
			return pgc_lit_err(err, col, bound, "an infinite number cannot be stored in a numeric with a precision");
		pgc_add_quoted(out, text, strlen(text));
		return 0;
	}
	if (!pgc_parse_num(s, len, &n))
		return pgc_lit_err(err, col, bound, "the number is malformed");
	switch (col->type) {
	case LT_INT:
		if (bound) {
			pgc_bound_int(out, col, &n, s, len);
			return 0;
		}
		if (pgc_check_int(col, &n, err) < 0)
			return -1;
		pgc_add_int(out, &n);
		return 0;
	case LT_DECIMAL:
		if (bound) {
			/* Quoted: pgc_bound_literal() types it as numeric, never numeric(p,s). */
			pgc_add_quoted(out, s, len);
			return 0;
		}
		if (pgc_check_decimal(col, &n, err) < 0)
			return -1;
		buf_add(out, s, len);
		return 0;
	case LT_FLOAT:
	case LT_YEAR:
		buf_add(out, s, len);
		return 0;
	case LT_BOOL:
		if (pgc_num_is_zero(&n))
			buf_addstr(out, "false");
		else if (!n.neg && n.nfp == 0 && n.nip == 1 && n.ip[0] == '1')
			buf_addstr(out, "true");
		else
			return pgc_lit_err(err, col, bound, "only 0 and 1 can be stored as a boolean");
		return 0;
	case LT_TEXT:
	case LT_CHAR:
	case LT_OTHER:
		return pgc_text_lit(out, col, s, len, false, bound, err);
	default:
		return pgc_lit_mismatch(err, col, bound, v);
	}
}

static int pgc_float_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                         bool bound, struct tally_err *err)
{
	char text[64];
	bool range;

	if (isnan(v->d) || isinf(v->d)) {
		const char *special = isnan(v->d) ? "NaN" : v->d > 0 ? "Infinity" : "-Infinity";

		if (bound && (col->type == LT_INT || col->type == LT_DECIMAL)) {
			pgc_add_quoted(out, special, strlen(special));
			buf_addstr(out, "::pg_catalog.numeric");
			return 0;
		}
		if (col->type != LT_FLOAT)
			return pgc_lit_err(err, col, bound, "a NaN or infinite number cannot be stored");
		pgc_add_quoted(out, special, strlen(special));
		return 0;
	}
	switch (col->type) {
	case LT_FLOAT:
		/* A bound keeps the double: it is compared as float8, never rounded to real. */
		pgc_shortest(text, sizeof(text), v->d, col->bits == 32 && !bound, &range);
		if (!range)
			return pgc_lit_err(err, col, bound, "the number is out of range");
		pgc_add_quoted(out, text, strlen(text));
		return 0;
	case LT_DECIMAL:
	case LT_INT: {
		struct buf digits = BUF_INIT;
		struct pgc_num n;
		int rc;

		pgc_shortest(text, sizeof(text), v->d, false, &range);
		pgc_plain_digits(&digits, text);
		rc = pgc_parse_num(digits.data, digits.len, &n) ? 0
		   : pgc_lit_err(err, col, bound, "the number is malformed");
		if (rc == 0 && bound) {
			if (col->type == LT_INT)
				pgc_bound_int(out, col, &n, digits.data, digits.len);
			else
				pgc_add_quoted(out, digits.data, digits.len);
			buf_release(&digits);
			return 0;
		}
		if (rc == 0)
			rc = col->type == LT_INT ? pgc_check_int(col, &n, err)
			                         : pgc_check_decimal(col, &n, err);
		if (rc == 0 && col->type == LT_INT)
			pgc_add_int(out, &n);
		else if (rc == 0)
			pgc_add_quoted(out, text, strlen(text));
		buf_release(&digits);
		return rc;
	}
	default:
		return pgc_lit_mismatch(err, col, bound, v);
	}
}

/* Date, time and timestamps: ISO text without trailing fraction zeros. */
static int pgc_datetime_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                            bool bound, struct tally_err *err)
{
	struct buf iso = BUF_INIT;
	struct sqlval date;
	enum ltype want;
	size_t end;
	bool bc;

	/* A date compared with a timestamp: the timestamp of its midnight, stored as the day. */
	if (col->type == LT_DATE && v->kind == SV_TIMESTAMP && !bound) {
		if (!sqlval_midnight_date(v, &date))
			return pgc_lit_err(err, col, bound, "the timestamp has a time of day, which a date column would lose");
		v = &date;
	}
	want = v->kind == SV_DATE ? LT_DATE : v->kind == SV_TIME ? LT_TIME
	                : v->kind == SV_TIMESTAMP ? LT_TIMESTAMP : LT_TIMESTAMPTZ;

	if (col->type != want)
		return pgc_lit_mismatch(err, col, bound, v);
	if (v->special == SVS_ZERO)
		return pgc_lit_err(err, col, bound, "a MariaDB zero date cannot be stored in PostgreSQL");
	if (v->special == SVS_PINF || v->special == SVS_NINF) {
		const char *text = v->special == SVS_PINF ? "infinity" : "-infinity";

		if (v->kind == SV_TIME)
			return pgc_lit_err(err, col, bound, "an infinite time cannot be stored");
		pgc_add_quoted(out, text, strlen(text));
		return 0;
	}
	if (v->special != SVS_NONE)
		return pgc_lit_err(err, col, bound, "a NaN %s cannot be stored", pgc_kind_name(v->kind));
	switch (v->kind) {
	case SV_DATE:
		if (v->i < PGC_DATE_MIN || v->i > PGC_DATE_MAX)
			return pgc_lit_err(err, col, bound, "the date is outside PostgreSQL's range");
		break;
	case SV_TIME:
		if (v->i < 0 || v->i > PGC_DAY_US)
			return pgc_lit_err(err, col, bound, "a time outside 00:00:00 to 24:00:00 cannot be stored");
		break;
	default:
		if (v->i < PGC_TS_MIN || v->i >= PGC_TS_END)
			return pgc_lit_err(err, col, bound, "the timestamp is outside PostgreSQL's range");
		break;
	}
	if (!bound && v->kind != SV_DATE && col->fsp >= 0 && col->fsp < 6) {
		int64_t frac = v->i % 1000000, unit = 1;

		if (frac < 0)
			frac += 1000000;
		for (int k = col->fsp; k < 6; k++)
			unit *= 10;
		if (frac % unit)
			return pgc_lit_err(err, col, bound,
			                   "a value with more than %d fractional digits of a second cannot be stored exactly",
			                   col->fsp);
	}

	sqlval_iso(&iso, v, 6);
	bc = iso.len > 3 && memcmp(iso.data + iso.len - 3, " BC", 3) == 0;
	end = bc ? iso.len - 3 : iso.len;
	if (v->kind != SV_DATE) {
		/* The fraction is the last seven bytes: drop its trailing zeros. */
		while (iso.data[end - 1] == '0')
			end--;
		if (iso.data[end - 1] == '.')
			end--;
	}
	buf_addch(out, '\'');
	buf_add(out, iso.data, end);
	if (v->kind == SV_TIMESTAMPTZ)
		buf_addstr(out, "+00");
	if (bc)
		buf_addstr(out, " BC");
	buf_addch(out, '\'');
	buf_release(&iso);
	return 0;
}

/* bound: a range bound, compared and never stored (see pgc_bound_literal()). */
static int pgc_literal_of(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                          bool bound, struct tally_err *err)
{
	const char *s = v->s ? v->s : "";

	switch (v->kind) {
	case SV_NULL:
		buf_addstr(out, "NULL");
		return 0;
	case SV_NUMBER:
		return pgc_number_lit(out, col, v, bound, err);
	case SV_FLOAT:
		return pgc_float_lit(out, col, v, bound, err);
	case SV_BOOL:
		if (col->type == LT_BOOL)
			buf_addstr(out, v->b ? "true" : "false");
		else if (col->type == LT_INT)
			buf_addstr(out, v->b ? "1" : "0");
		else
			return pgc_lit_mismatch(err, col, bound, v);
		return 0;
	case SV_TEXT:
		if (col->type == LT_BYTES) {
			/* The text's UTF-8 bytes. */
			buf_addstr(out, "'\\x");
			buf_addhex(out, s, v->len);
			buf_addch(out, '\'');
			return 0;
		}
		return pgc_text_lit(out, col, s, v->len, false, bound, err);
	case SV_BYTES:
		if (col->type == LT_BYTES) {
			buf_addstr(out, "'\\x");
			buf_addhex(out, s, v->len);
			buf_addch(out, '\'');
			return 0;
		}
		if (col->type == LT_BIT)
			return pgc_lit_mismatch(err, col, bound, v);
		return pgc_text_lit(out, col, s, v->len, true, bound, err);
	case SV_DATE:
	case SV_TIME:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		return pgc_datetime_lit(out, col, v, bound, err);
	case SV_UUID: {
		const unsigned char *u = (const unsigned char *)s;

		if (!v->s || v->len != 16)
			return pgc_lit_err(err, col, bound, "the uuid is malformed");
		if (col->type != LT_UUID && col->type != LT_TEXT && col->type != LT_CHAR &&
		    col->type != LT_OTHER)
			return pgc_lit_mismatch(err, col, bound, v);
		buf_addch(out, '\'');
		for (int i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				buf_addch(out, '-');
			buf_addhex(out, u + i, 1);
		}
		buf_addch(out, '\'');
		return 0;
	}
	case SV_BITS:
		if (col->type != LT_BIT)
			return pgc_lit_mismatch(err, col, bound, v);
		for (size_t i = 0; i < v->len; i++)
			if (s[i] != '0' && s[i] != '1')
				return pgc_lit_err(err, col, bound, "the bit string is malformed");
		if (!bound && col->bits > 0 && (col->fixed ? v->len != (size_t)col->bits : v->len > (size_t)col->bits))
			return pgc_lit_err(err, col, bound, "a bit string of %zu bits cannot be stored in this column", v->len);
		buf_addstr(out, "B'");
		buf_add(out, s, v->len);
		buf_addch(out, '\'');
		return 0;
	case SV_RAW:
		if (memchr(s, '\0', v->len))
			return pgc_lit_err(err, col, bound, "a NUL byte cannot be stored in PostgreSQL text");
		pgc_add_quoted(out, s, v->len);
		return 0;
	}
	return pgc_lit_mismatch(err, col, bound, v);
}

int pgc_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                struct tally_err *err)
{
	size_t mark = out->len;

	if (pgc_literal_of(out, col, v, false, err) == 0)
		return 0;
	/* A refused value leaves the buffer as it was. */
	if (out->len != mark)
		buf_setlen(out, mark);
	return -1;
}

/*
 * The type a quoted bound is cast to, so that it compares as the column
 * does and the planner matches it to the column's index: the base type
 * without its typmod (numeric, never numeric(12,2); timestamp, never
 * timestamp(0): either would round the bound) and never a domain (whose
 * check a bound need not pass). Text, bytea and the rest need none: an
 * untyped literal takes the column's type.
 */
const char *pgc_bound_cast(const struct coldesc *col)
{
	switch (col->type) {
	case LT_DECIMAL: return "pg_catalog.numeric";
	case LT_FLOAT: return "pg_catalog.float8";
	case LT_DATE: return "pg_catalog.date";
	case LT_TIME: return "pg_catalog.time";
	case LT_TIMESTAMP: return "pg_catalog.timestamp";
	case LT_TIMESTAMPTZ: return "pg_catalog.timestamptz";
	case LT_UUID: return "pg_catalog.uuid";
	case LT_ENUM: return col->native;   /* format_type(): quoted and qualified as needed */
	default: return NULL;
	}
}

/*
 * A range bound: written exactly and typed for comparison with the
 * column, but not checked against what the column can store (a bound
 * longer than varchar(n) or finer than timestamp(0) is still a bound).
 * What no literal of the type can say exactly is refused as for
 * pgc_literal(): text that is not UTF-8, a date outside PostgreSQL's
 * range, a MariaDB zero date, a NULL.
 */
int pgc_bound_literal(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                      struct tally_err *err)
{
	const char *cast = pgc_bound_cast(col);
	const bool bound = true;
	size_t mark = out->len;

	if (v->kind == SV_NULL)
		return pgc_lit_err(err, col, bound, "a NULL cannot bound a range");
	if (col->type == LT_ENUM && col->nlabels && (v->kind == SV_TEXT || v->kind == SV_RAW)) {
		size_t i = 0;

		while (i < col->nlabels && (strlen(col->labels[i]) != v->len ||
		                            memcmp(col->labels[i], v->s, v->len) != 0))
			i++;
		if (i == col->nlabels)
			return pgc_lit_err(err, col, bound, "the value is not a label of this enum");
	}
	if (pgc_literal_of(out, col, v, true, err) < 0) {
		if (out->len != mark)
			buf_setlen(out, mark);
		return -1;
	}
	if (cast && out->len > mark && out->data[out->len - 1] == '\'')
		buf_addf(out, "::%s", cast);
	return 0;
}
