/*
 * engine/canon_num.c
 *   CANON: numbers, floats and booleans: integers and decimals of any size
 *   as one order-preserving form, IEEE floats as ordered bits, booleans
 *   from every spelling the engines use. Performs no I/O.
 */
#include "canon_int.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers ---------------------------------------------------------- */

/*
 * A decimal in scientific form: value = (neg ? -1 : 1) * 0.D * 10^exp,
 * where D is the digit string (no leading or trailing zeros). nd == 0
 * means zero.
 */
struct dec {
	bool neg;
	long exp;
	char *d;
	size_t nd;
};

/*
 * Parses [+-]digits[.digits][(e|E)[+-]digits] into *out, copying the
 * significant digits into scratch. Returns 0, or -1 when malformed.
 */
static int dec_parse(const char *s, size_t n, struct buf *scratch, struct dec *out)
{
	const char *p = s, *end = s + n;
	const char *ip, *ie, *fp = NULL, *fe = NULL;
	long e10 = 0;
	size_t lead = 0;
	bool any = false;

	out->neg = false;
	out->exp = 0;
	out->nd = 0;
	if (p < end && (*p == '-' || *p == '+')) {
		out->neg = *p == '-';
		p++;
	}
	ip = p;
	while (p < end && is_digit(*p))
		p++;
	ie = p;
	any = ie > ip;
	if (p < end && *p == '.') {
		fp = ++p;
		while (p < end && is_digit(*p))
			p++;
		fe = p;
		any = any || fe > fp;
	}
	if (!any)
		return -1;
	if (p < end && (*p == 'e' || *p == 'E')) {
		bool eneg = false;
		const char *es;

		p++;
		if (p < end && (*p == '-' || *p == '+'))
			eneg = *p++ == '-';
		es = p;
		while (p < end && is_digit(*p)) {
			if (e10 > 100000000L)
				return -1;
			e10 = e10 * 10 + (*p - '0');
			p++;
		}
		if (p == es)
			return -1;
		if (eneg)
			e10 = -e10;
	}
	if (p != end)
		return -1;

	/* Significant digits: skip leading zeros of the integer part... */
	buf_reset(scratch);
	while (ip < ie && *ip == '0')
		ip++;
	if (ip < ie) {
		out->exp = (long)(ie - ip);
		buf_add(scratch, ip, (size_t)(ie - ip));
		if (fp)
			buf_add(scratch, fp, (size_t)(fe - fp));
	} else if (fp) {
		/* ...or of the fraction, which then sets a negative exponent. */
		const char *q = fp;
		while (q < fe && *q == '0')
			q++;
		lead = (size_t)(q - fp);
		out->exp = -(long)lead;
		buf_add(scratch, q, (size_t)(fe - q));
	}
	/* Trailing zeros carry no value. */
	while (scratch->len && scratch->data[scratch->len - 1] == '0')
		scratch->len--;
	buf_setlen(scratch, scratch->len);
	out->d = scratch->data;
	out->nd = scratch->len;
	if (out->nd == 0) {
		out->neg = false;
		out->exp = 0;
	} else {
		out->exp += e10;
	}
	if (out->exp > DEC_EXP_MAX || out->exp < -DEC_EXP_MAX)
		return -1;
	return 0;
}

/* Rounds half away from zero to `scale` places after the decimal point. */
static void dec_round(struct dec *v, int scale)
{
	long keep;

	if (v->nd == 0)
		return;
	keep = v->exp + scale;            /* significant digits to keep */
	if (keep >= (long)v->nd)
		return;
	if (keep < 0) {
		v->nd = 0;
	} else if (keep == 0) {
		if (v->d[0] >= '5') {
			v->d[0] = '1';
			v->nd = 1;
			v->exp = v->exp + 1;
		} else {
			v->nd = 0;
		}
	} else {
		bool up = v->d[keep] >= '5';
		size_t k = (size_t)keep;

		v->nd = k;
		if (up) {
			size_t i = k;
			while (i > 0 && v->d[i - 1] == '9')
				i--;
			if (i == 0) {
				v->d[0] = '1';
				v->nd = 1;
				v->exp++;
			} else {
				v->d[i - 1]++;
				v->nd = i;
			}
		}
		while (v->nd && v->d[v->nd - 1] == '0')
			v->nd--;
	}
	if (v->nd == 0) {
		v->neg = false;
		v->exp = 0;
	}
}

static void dec_put(struct buf *out, const struct dec *v)
{
	uint32_t e;
	uint8_t flip;
	uint8_t *p;

	if (v->nd == 0) {
		buf_addch(out, TAG_NUM_ZERO);
		return;
	}
	buf_grow(out, v->nd + 6);
	flip = v->neg ? 0xFF : 0x00;
	e = (uint32_t)(int32_t)v->exp ^ UINT32_C(0x80000000);
	p = (uint8_t *)out->data + out->len;
	*p++ = v->neg ? TAG_NUM_NEG : TAG_NUM_POS;
	*p++ = (uint8_t)((e >> 24) ^ flip);
	*p++ = (uint8_t)(((e >> 16) & 0xff) ^ flip);
	*p++ = (uint8_t)(((e >> 8) & 0xff) ^ flip);
	*p++ = (uint8_t)((e & 0xff) ^ flip);
	if (!v->neg) {
		memcpy(p, v->d, v->nd);
		p += v->nd;
	} else {
		for (size_t i = 0; i < v->nd; i++)
			*p++ = (uint8_t)~(uint8_t)v->d[i];
	}
	*p++ = flip;
	buf_setlen(out, (size_t)(p - (uint8_t *)out->data));
}

/* Integers are common and short: encode them without the scratch copy. */
static int put_integer(struct buf *out, const char *s, size_t n)
{
	struct dec v;
	size_t i = 0;

	v.neg = false;
	if (n && (s[0] == '-' || s[0] == '+')) {
		v.neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return -1;
	for (size_t j = i; j < n; j++)
		if (!is_digit(s[j]))
			return -1;
	while (i < n && s[i] == '0')
		i++;
	v.exp = (long)(n - i);
	if (v.exp > DEC_EXP_MAX)
		return -1;
	v.d = (char *)s + i;
	v.nd = n - i;
	while (v.nd && v.d[v.nd - 1] == '0')
		v.nd--;
	if (v.nd == 0)
		v.neg = false;
	dec_put(out, &v);
	return 0;
}

int canon_put_number(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	struct buf *scratch = &canon_tls.number;
	struct dec v;

	if (col->scale < 0 && col->type == LT_INT)
		return put_integer(out, s, n);
	if (eq_nocase(s, n, "nan")) {
		buf_addch(out, TAG_NUM_NAN);
		return 0;
	}
	if (eq_nocase(s, n, "infinity") || eq_nocase(s, n, "+infinity")) {
		buf_addch(out, TAG_NUM_PINF);
		return 0;
	}
	if (eq_nocase(s, n, "-infinity")) {
		buf_addch(out, TAG_NUM_NINF);
		return 0;
	}
	if (dec_parse(s, n, scratch, &v) < 0)
		return -1;
	if (col->scale >= 0)
		dec_round(&v, col->scale);
	dec_put(out, &v);
	return 0;
}

/* ---- floats ----------------------------------------------------------- */

/*
 * Exact decimal-to-binary without strtod's arbitrary precision, for the
 * common case: at most 19 significant digits w and a decimal exponent q
 * with |q| <= 27. Then w and 10^|q| are exact in x87's 64-bit mantissa, so
 * w * 10^q (or w / 10^-q) is one correctly rounded long double operation.
 * Rounding that to double (53 bits) or float (24 bits) is a second
 * rounding, which is wrong only when the long double sits exactly on the
 * midpoint of the bits being dropped: then we cannot tell which side the
 * exact value was on, and return false so strtod decides. Also false for
 * anything unusual (NaN, infinity, more digits, other long doubles).
 */
static bool fast_float(const char *s, size_t n, bool single, double *out)
{
#if defined(__x86_64__) && LDBL_MANT_DIG == 64
	static const long double p10[] = {
		1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L, 1e11L, 1e12L, 1e13L,
		1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L,
		1e26L, 1e27L,
	};
	const char *p = s, *end = s + n;
	uint64_t w = 0;
	int digits = 0, q = 0;
	bool neg = false, seen = false;
	static volatile long double tiny_ld = 0x1p-60L;
	long double ld;
	uint64_t bits, low, half;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	for (; p < end && is_digit(*p); p++) {
		seen = true;
		if (w == 0 && *p == '0')
			continue;
		if (digits == 19)
			return false;
		w = w * 10 + (uint64_t)(*p - '0');
		digits++;
	}
	if (p < end && *p == '.') {
		for (p++; p < end && is_digit(*p); p++) {
			seen = true;
			if (w == 0 && *p == '0') {
				q--;
				continue;
			}
			if (digits == 19)
				return false;
			w = w * 10 + (uint64_t)(*p - '0');
			digits++;
			q--;
		}
	}
	if (!seen)
		return false;
	if (p < end && (*p == 'e' || *p == 'E')) {
		int x = 0;
		bool xneg = false;

		p++;
		if (p < end && (*p == '-' || *p == '+'))
			xneg = *p++ == '-';
		if (p == end)
			return false;
		for (; p < end && is_digit(*p); p++) {
			if (x > 1000)
				return false;
			x = x * 10 + (*p - '0');
		}
		q += xneg ? -x : x;
	}
	if (p != end)
		return false;
	if (w == 0) {
		*out = 0.0;
		return true;
	}
	if (q < -27 || q > 27)
		return false;
	/*
	 * Only where long double really carries 64 bits: valgrind, for one,
	 * computes it in double precision, and would round twice unseen.
	 */
	if (!(tiny_ld + 1.0L > 1.0L))
		return false;
	ld = q >= 0 ? (long double)w * p10[q] : (long double)w / p10[-q];
	/* x87 extended: the first 8 bytes are the 64-bit mantissa, integer bit included. */
	memcpy(&bits, &ld, sizeof(bits));
	if (single) {
		low = bits & ((UINT64_C(1) << 40) - 1);
		half = UINT64_C(1) << 39;
	} else {
		low = bits & 0x7FF;
		half = 0x400;
	}
	if (low == half)
		return false;
	*out = single ? (double)(float)ld : (double)ld;
	if (neg)
		*out = -*out;
	return true;
#else
	(void)s;
	(void)n;
	(void)single;
	(void)out;
	return false;
#endif
}

int canon_put_float(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	char tmp[128];
	char *end;
	double d;
	uint64_t bits;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	if (!fast_float(s, n, col->cls == CC_FLOAT32, &d)) {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		if (col->cls == CC_FLOAT32)
			d = (double)strtof(tmp, &end);
		else
			d = strtod(tmp, &end);
		if (end != tmp + n)
			return -1;
	}
	/*
	 * A finite value beyond single precision's range (a double column's
	 * 3.4e39 against a real) is not the infinity IEEE rounding makes of
	 * it: keep its double, which no single-precision value equals.
	 */
	if (col->cls == CC_FLOAT32 && isinf(d) && !memchr(s, 'i', n) && !memchr(s, 'I', n)) {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		d = strtod(tmp, &end);
	}
	if (isnan(d)) {
		bits = UINT64_C(0x7ff8000000000000);
	} else {
		if (d == 0)
			d = 0.0;    /* -0 is 0 */
		memcpy(&bits, &d, sizeof(bits));
	}
	if (bits >> 63)
		bits = ~bits;
	else
		bits ^= UINT64_C(1) << 63;
	buf_grow(out, 9);
	buf_put1(out, TAG_FLOAT);
	buf_put64(out, bits);
	buf_setlen(out, out->len);
	return 0;
}

/* ---- booleans --------------------------------------------------------- */

int canon_put_bool(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	if (col->raw_bits) {
		/* MariaDB BIT(1): one byte, 0x00 or 0x01. */
		if (n != 1 || (uint8_t)s[0] > 1)
			return -1;
		buf_addch(out, s[0] ? TAG_TRUE : TAG_FALSE);
		return 0;
	}
	if (n == 1 && (s[0] == 't' || s[0] == '1')) {
		buf_addch(out, TAG_TRUE);
		return 0;
	}
	if (n == 1 && (s[0] == 'f' || s[0] == '0')) {
		buf_addch(out, TAG_FALSE);
		return 0;
	}
	if (eq_nocase(s, n, "true")) {
		buf_addch(out, TAG_TRUE);
		return 0;
	}
	if (eq_nocase(s, n, "false")) {
		buf_addch(out, TAG_FALSE);
		return 0;
	}
	/*
	 * tinyint(1) holding 2 or -1 is not a boolean: keep it a number, which
	 * equals no boolean, so the row shows as changed instead of matching.
	 */
	if (col->type == LT_INT)
		return put_integer(out, s, n);
	return -1;
}

