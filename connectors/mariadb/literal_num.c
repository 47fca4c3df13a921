/*
 * connectors/mariadb/literal_num.c
 *   engine/repair, plan -> LITERAL: numbers and booleans as MariaDB
 *   literals, for literal.c, which writes every other kind and chooses.
 *   A repair's number must fit the column: range, sign, scale, YEAR's
 *   1901..2155, FLOAT's range, checked here because a permissive sql_mode
 *   would clip or round instead of failing. A bound's number is only
 *   compared: it is rounded toward minus infinity to what the column can
 *   hold (an integer, the decimal's scale, the nearest double below) and
 *   clamped above, so that for a column value x, x > b and x <= b are
 *   unchanged and the server never rounds the constant its own way.
 *   Performs no I/O.
 */
#include "my_int.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A finite double into a FLOAT or DOUBLE column. */
static int floatcol_stored(struct buf *out, const struct coldesc *col, double d,
                           struct tally_err *err)
{
	if (col->is_unsigned && d < 0)
		return mdb_lit_fail(col, false, err, "a negative number cannot be stored in an "
		                    "unsigned column");
	if (col->bits == 32) {
		/* what strtof does with the same digits: round to nearest, or overflow */
		if (fabs(d) > FLT_MAX) {
			if (fabs(d) >= (double)FLT_MAX + 0x1p103)
				return mdb_lit_fail(col, false, err, "value is out of the column's range");
			d = copysign((double)FLT_MAX, d);
		}
		add_float32(out, (float)d);
	} else {
		add_double(out, d);
	}
	return 0;
}

/* A number a repair stores in an integer, boolean, year or decimal column. */
static int number_stored(struct buf *out, const struct coldesc *col, const struct num *x,
                         struct tally_err *err)
{
	if (x->neg && col->is_unsigned)
		return mdb_lit_fail(col, false, err, "a negative number cannot be stored in an "
		                    "unsigned column");
	if (col->type == LT_DECIMAL) {
		if (col->scale >= 0 && x->nfp > (size_t)col->scale)
			return mdb_lit_fail(col, false, err, "value has more fractional digits than the "
			                    "column holds");
		if (col->precision > 0 && col->scale >= 0 &&
		    x->nip > (size_t)(col->precision - col->scale))
			return mdb_lit_fail(col, false, err, "value is out of the column's range");
	} else if (x->nfp) {
		return mdb_lit_fail(col, false, err, "a number with a fraction cannot be stored in an "
		                    "integer column");
	} else if (col->type == LT_YEAR) {
		/* a number 1..99 means 1970..2069, and 0 is the year 0000 */
		if (x->neg || (x->nip > 0 && (x->nip != 4 || memcmp(x->ip, "1901", 4) < 0 ||
		                              memcmp(x->ip, "2155", 4) > 0)))
			return mdb_lit_fail(col, false, err, "year outside 1901..2155 (or 0)");
	} else if (!int_fits(x, col->bits, col->is_unsigned)) {
		return mdb_lit_fail(col, false, err, "value is out of the column's range");
	}
	num_add(out, x);
	return 0;
}

/* A number bound for an integer, boolean, decimal or year column: floored, clamped. */
static void number_floor(struct buf *out, const struct coldesc *col, const struct num *x)
{
	switch (col->type) {
	case LT_DECIMAL: {
		size_t scale = col->scale >= 0 ? (size_t)col->scale : 30;
		size_t maxdig = col->precision > 0 && col->precision >= col->scale
		                ? (size_t)(col->precision - (col->scale > 0 ? col->scale : 0)) : 65;

		add_num_floor(out, x, scale, maxdig);
		return;
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
		return;
	}
	default:        /* LT_INT, LT_BOOL */
		add_num_floor(out, x, 0, 20);     /* 2^64 has 20 digits */
		return;
	}
}

/*
 * A number's text ([-]digits[.digits]) into an exact, float or text
 * column; -2 when the column takes no number. A repair's FLOAT value is
 * parsed as canon parses it and written as a float literal; a bound's is
 * the largest double not above the number (a FLOAT compares as the double
 * it widens to). Enum and set bounds compare by index: a number is none.
 */
static int numtext_lit(struct buf *out, const struct coldesc *col, const char *s, size_t n,
                       bool bound, struct tally_err *err)
{
	struct num x;

	if (!num_parse(s, n, &x))
		return mdb_lit_fail(col, bound, err, "not a valid number");
	switch (col->type) {
	case LT_INT:
	case LT_BOOL:
	case LT_YEAR:
	case LT_DECIMAL:
		if (!bound)
			return number_stored(out, col, &x, err);
		number_floor(out, col, &x);
		return 0;
	case LT_FLOAT: {
		char *txt;
		double d;

		if (bound) {
			if (!num_floor_double(&x, &d))
				return mdb_lit_fail(col, true, err, "number is below the range of a double");
			add_double(out, d);
			return 0;
		}
		txt = xstrndup(s, n);
		d = col->bits == 32 ? (double)strtof(txt, NULL) : strtod(txt, NULL);
		free(txt);
		if (isinf(d))
			return mdb_lit_fail(col, false, err, "value is out of the column's range");
		return floatcol_stored(out, col, d, err);
	}
	case LT_ENUM:
	case LT_SET:
		if (bound)
			return -2;
		/* fall through */
	case LT_TEXT:
	case LT_CHAR:
	case LT_JSON:
		return mdb_text_lit(out, col, s, n, bound, err);
	default:
		return -2;
	}
}

static int nan_fail(const struct coldesc *col, bool bound, struct tally_err *err)
{
	return mdb_lit_fail(col, bound, err, bound ? "MariaDB cannot compare NaN or infinity"
	                                           : "MariaDB cannot store NaN or infinity");
}

/* See my_int.h. */
int mdb_number_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v,
                   bool bound, struct tally_err *err)
{
	if (v->special != SVS_NONE)
		return nan_fail(col, bound, err);
	return numtext_lit(out, col, v->s ? v->s : "", v->s ? v->len : 0, bound, err);
}

/*
 * A double goes to a FLOAT or DOUBLE column as a float literal (a bound
 * as the double itself), and to an exact column, or a repair's text
 * column, as its shortest digits, written as that number would be.
 */
int mdb_float_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v, bool bound,
                  struct tally_err *err)
{
	enum ltype t = col->type;
	bool digits = t == LT_INT || t == LT_DECIMAL || t == LT_YEAR ||
	              (bound ? t == LT_BOOL
	                     : t == LT_TEXT || t == LT_CHAR || t == LT_ENUM || t == LT_SET ||
	                       t == LT_JSON);

	if (isnan(v->d) || isinf(v->d))
		return nan_fail(col, bound, err);
	if (t == LT_FLOAT) {
		if (!bound)
			return floatcol_stored(out, col, v->d, err);
		add_double(out, v->d);
		return 0;
	}
	if (digits) {
		struct buf txt = BUF_INIT;
		int rc;

		double_plain(&txt, v->d);
		rc = numtext_lit(out, col, txt.data, txt.len, bound, err);
		buf_release(&txt);
		return rc;
	}
	return -2;
}

/* See my_int.h: 1 or 0 as the number it is, or a BIT's single bit. */
int mdb_bool_lit(struct buf *out, const struct coldesc *col, const struct sqlval *v, bool bound,
                 struct tally_err *err)
{
	switch (col->type) {
	case LT_INT:
	case LT_BOOL:
	case LT_DECIMAL:
	case LT_FLOAT:
		return numtext_lit(out, col, v->b ? "1" : "0", 1, bound, err);
	case LT_BIT:
		buf_addch(out, v->b ? '1' : '0');
		return 0;
	default:
		return -2;
	}
}

/* See my_int.h. */
bool mdb_add_number(struct buf *out, const char *s, size_t n)
{
	struct num x;

	if (!num_parse(s, n, &x))
		return false;
	num_add(out, &x);
	return true;
}
