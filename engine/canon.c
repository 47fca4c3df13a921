/*
 * engine/canon.c
 *   connector -> CANON -> rowhash, merge: parses a value's text by its
 *   logical type and appends its canonical encoding (layout in canon.h).
 *   Performs no I/O. This is the hot path: no allocation per value beyond
 *   growing the caller's buffer, no strlen, one pass over the text.
 */
#include "canon.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "base/civil.h"
#include "base/utf8.h"
#include "jsoncanon.h"
#include "tz.h"

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

#define USEC_PER_SEC INT64_C(1000000)
#define USEC_PER_DAY INT64_C(86400000000)

const char *cclass_name(enum cclass c)
{
	switch (c) {
	case CC_NUMBER: return "number";
	case CC_FLOAT64: return "float64";
	case CC_FLOAT32: return "float32";
	case CC_BOOL: return "boolean";
	case CC_TEXT: return "text";
	case CC_BYTES: return "binary";
	case CC_DATE: return "date";
	case CC_TIME: return "time";
	case CC_TIMESTAMP: return "timestamp";
	case CC_TIMESTAMPTZ: return "timestamptz";
	case CC_UUID: return "uuid";
	case CC_JSON: return "json";
	case CC_INET: return "inet";
	case CC_BITS: return "bits";
	}
	return "?";
}

struct canon_col canon_col_make(enum cclass cls, enum ltype type)
{
	struct canon_col c;

	memset(&c, 0, sizeof(c));
	c.cls = cls;
	c.type = type;
	c.scale = -1;
	c.precision = -1;
	c.trim = CANON_TRIM_NONE;
	return c;
}

struct canon_col canon_col_exact(const struct canon_col *c)
{
	struct canon_col e = canon_col_make(c->cls, c->type);

	e.raw_bits = c->raw_bits;
	e.pad_trim = c->pad_trim;     /* char(n) padding is not data */
	e.bits = c->bits;
	e.arr_elem = c->arr_elem;
	e.tz = c->tz;
	e.zero_null = c->zero_null;
	e.map = c->map;
	return e;
}

/* An int64 written so that memcmp orders it numerically. */
static inline void put_tagged_i64(struct buf *out, uint8_t tag, int64_t v)
{
	buf_grow(out, 9);
	buf_put1(out, tag);
	buf_put64(out, (uint64_t)v ^ (UINT64_C(1) << 63));
	buf_setlen(out, out->len);
}

static bool eq_nocase(const char *s, size_t n, const char *lit)
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

/* ---- numbers ---------------------------------------------------------- */

/*
 * The largest decimal exponent of a number, either way: far beyond any
 * engine's decimals (PostgreSQL: 131072 digits before the point, 16383
 * after), and small enough that the plain digits canon_decode() writes
 * for any encoding stay around a megabyte ("1e288235282" took minutes
 * and 288 MB to decode). A longer number is not valid.
 */
#define DEC_EXP_MAX 1000000L

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

/*
 * Scratch buffers reused by every encode on a thread, so that encoding
 * allocates nothing once they have grown; canon_thread_release frees them.
 */
static _Thread_local struct {
	struct buf number;    /* a decimal's significant digits */
	struct buf folded;    /* text lowercased for case: insensitive */
	struct buf json;      /* a document's canonical form */
	struct buf own;       /* a mapped value as its own column's type */
} tls = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };

void canon_thread_release(void)
{
	buf_release(&tls.number);
	buf_release(&tls.folded);
	buf_release(&tls.json);
	buf_release(&tls.own);
	json_canon_thread_release();
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

static int put_number(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	struct buf *scratch = &tls.number;
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

static int put_float(struct buf *out, const struct canon_col *col, const char *s, size_t n)
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

static int put_bool(struct buf *out, const struct canon_col *col, const char *s, size_t n)
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

/* ---- text and bytes --------------------------------------------------- */

static void put_escaped(struct buf *out, uint8_t tag, const char *s, size_t n)
{
	const char *z = n ? memchr(s, '\0', n) : NULL;
	uint8_t *p;

	if (!z) {
		/* No NUL byte: the common case, one copy. */
		buf_grow(out, n + 3);
		p = (uint8_t *)out->data + out->len;
		*p++ = tag;
		memcpy(p, s, n);
		p += n;
		*p++ = 0x00;
		*p++ = 0x01;
		buf_setlen(out, (size_t)(p - (uint8_t *)out->data));
		return;
	}
	buf_addch(out, (char)tag);
	for (const char *end = s + n; s < end;) {
		z = memchr(s, '\0', (size_t)(end - s));
		size_t run = z ? (size_t)(z - s) : (size_t)(end - s);

		buf_add(out, s, run);
		s += run;
		if (z) {
			buf_add(out, "\0\xff", 2);
			s++;
		}
	}
	buf_add(out, "\0\x01", 2);
}

/* ---- case folding ----------------------------------------------------- */

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void open_utf8_locale(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

int canon_case_ready(struct tally_err *err)
{
	pthread_once(&utf8_once, open_utf8_locale);
	if (utf8_locale == (locale_t)0)
		return err_set(err, ERR_USAGE, "case: insensitive needs the C.UTF-8 locale, which this system lacks");
	return 0;
}

/*
 * Lowercases UTF-8 text character by character (glibc's simple Unicode
 * mapping for C.UTF-8); bytes that are not UTF-8 stay as they are.
 */
static void fold_case(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	pthread_once(&utf8_once, open_utf8_locale);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(p + i, n - i, &cp);

		if (len == 0) {
			buf_addch(out, (char)p[i]);
			i++;
			continue;
		}
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		else if (cp >= 0x80 && utf8_locale != (locale_t)0)
			cp = (uint32_t)towlower_l((wint_t)cp, utf8_locale);
		utf8_encode(out, cp);
		i += len;
	}
}

static void put_text(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	struct buf *folded = &tls.folded;

	if (col->pad_trim || col->trim != CANON_TRIM_NONE)
		while (n && s[n - 1] == ' ')
			n--;
	if (col->trim == CANON_TRIM_BOTH)
		while (n && s[0] == ' ') {
			s++;
			n--;
		}
	if (col->fold_case) {
		buf_reset(folded);
		fold_case(folded, s, n);
		s = folded->data;
		n = folded->len;
	}
	put_escaped(out, TAG_TEXT, s, n);
}

/* ---- dates and times -------------------------------------------------- */

/* Reads exactly `width` digits (width 0: one or more, at most 12). */
static bool read_uint(const char **pp, const char *end, int width, int64_t *out)
{
	const char *p = *pp;
	int64_t v = 0;
	int k = 0;

	while (p < end && is_digit(*p) && (width == 0 ? k < 12 : k < width)) {
		v = v * 10 + (*p - '0');
		p++;
		k++;
	}
	if (k == 0 || (width && k != width))
		return false;
	*pp = p;
	*out = v;
	return true;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

enum date_kind { DATE_OK, DATE_ZERO };

/*
 * Parses YYYY-MM-DD at *pp (year: one or more digits) and, with bc, reads
 * it as a year before Christ (1 BC is astronomical year 0). A date with a
 * zero month or day (MariaDB's "zero dates") is DATE_ZERO and *packed
 * holds y*10000+m*100+d, so that distinct zero dates still encode
 * distinctly; otherwise *days is set. Zero dates only come from MariaDB,
 * whose years have four digits: a longer year is refused, which also
 * keeps a timestamp's packed * USEC_PER_DAY within int64.
 */
static int read_date(const char **pp, const char *end, bool bc, enum date_kind *kind,
                     int64_t *days, int64_t *packed)
{
	int64_t y, mo, d;
	const char *p = *pp;

	if (!read_uint(&p, end, 0, &y) || p >= end || *p++ != '-')
		return -1;
	if (!read_uint(&p, end, 2, &mo) || p >= end || *p++ != '-')
		return -1;
	if (!read_uint(&p, end, 2, &d))
		return -1;
	*pp = p;
	if (mo == 0 || d == 0) {
		if (bc || mo > 12 || d > 31 || y > 9999)
			return -1;
		*kind = DATE_ZERO;
		*packed = y * 10000 + mo * 100 + d;
		return 0;
	}
	if (bc) {
		if (y == 0)
			return -1;
		y = 1 - y;
	}
	if (mo > 12 || d > days_in_month(y, (unsigned)mo))
		return -1;
	*kind = DATE_OK;
	*days = civil_to_days(y, (unsigned)mo, (unsigned)d);
	return 0;
}

/* Parses [.f{1,6}] at *pp into microseconds. */
static int read_fraction(const char **pp, const char *end, int64_t *usec)
{
	const char *p = *pp;
	int64_t v = 0;
	int k = 0;

	*usec = 0;
	if (p >= end || *p != '.')
		return 0;
	p++;
	while (p < end && is_digit(*p)) {
		if (k == 6)
			return -1;
		v = v * 10 + (*p - '0');
		p++;
		k++;
	}
	if (k == 0)
		return -1;
	while (k++ < 6)
		v *= 10;
	*usec = v;
	*pp = p;
	return 0;
}

/* Parses H+:MM:SS[.f] at *pp into microseconds (hours may exceed 23). */
static int read_clock(const char **pp, const char *end, int64_t *usec)
{
	int64_t h, mi, s, f;
	const char *p = *pp;

	if (!read_uint(&p, end, 0, &h) || p >= end || *p++ != ':')
		return -1;
	if (!read_uint(&p, end, 2, &mi) || p >= end || *p++ != ':')
		return -1;
	if (!read_uint(&p, end, 2, &s))
		return -1;
	if (mi > 59 || s > 60 || h > 100000)
		return -1;
	if (read_fraction(&p, end, &f) < 0)
		return -1;
	*usec = ((h * 60 + mi) * 60 + s) * USEC_PER_SEC + f;
	*pp = p;
	return 0;
}

/* Truncates microseconds to `precision` fractional digits, toward the past. */
static int64_t truncate_usec(int64_t v, int precision)
{
	int64_t unit = 1;

	if (precision < 0 || precision >= 6)
		return v;
	for (int i = precision; i < 6; i++)
		unit *= 10;
	if (v >= 0)
		return v - v % unit;
	return v - (unit + v % unit) % unit;
}

static int put_date(struct buf *out, const char *s, size_t n, bool zero_null)
{
	const char *p = s, *end = s + n;
	enum date_kind kind;
	int64_t days = 0, packed = 0;
	bool bc = false;

	if (eq_nocase(s, n, "infinity")) {
		buf_addch(out, TAG_DATE_PINF);
		return 0;
	}
	if (eq_nocase(s, n, "-infinity")) {
		buf_addch(out, TAG_DATE_NINF);
		return 0;
	}
	if (n > 3 && memcmp(end - 3, " BC", 3) == 0) {
		bc = true;
		end -= 3;
	}
	if (read_date(&p, end, bc, &kind, &days, &packed) < 0 || p != end)
		return -1;
	if (kind == DATE_ZERO && zero_null)
		buf_addch(out, TAG_NULL);
	else if (kind == DATE_ZERO)
		put_tagged_i64(out, TAG_DATE_ZERO, packed);
	else
		put_tagged_i64(out, TAG_DATE, days);
	return 0;
}

static int put_time(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	bool neg = false;
	int64_t us;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (read_clock(&p, end, &us) < 0 || p != end)
		return -1;
	if (neg)
		us = -us;
	put_tagged_i64(out, TAG_TIME, truncate_usec(us, col->precision));
	return 0;
}

/* Parses +HH[:MM[:SS]], -HH..., or Z into seconds east of UTC. */
static int read_offset(const char **pp, const char *end, int64_t *secs)
{
	const char *p = *pp;
	int64_t h, m = 0, s = 0;
	int sign;

	if (p < end && *p == 'Z') {
		*secs = 0;
		*pp = p + 1;
		return 0;
	}
	if (p >= end || (*p != '+' && *p != '-'))
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (!read_uint(&p, end, 2, &h))
		return -1;
	if (p < end && *p == ':') {
		p++;
		if (!read_uint(&p, end, 2, &m))
			return -1;
		if (p < end && *p == ':') {
			p++;
			if (!read_uint(&p, end, 2, &s))
				return -1;
		}
	}
	if (h > 15 || m > 59 || s > 59)
		return -1;
	*secs = sign * ((h * 60 + m) * 60 + s);
	*pp = p;
	return 0;
}

static inline int dig2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static bool all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(p[i]))
			return false;
	return true;
}

/*
 * YYYY-MM-DD HH:MM:SS[.f{1,6}][+00]: what both engines print for ordinary
 * values. Returns false for anything else, which the general parser then
 * reads (or refuses) the slow way.
 */
static bool fast_timestamp(const char *s, size_t n, bool tz, int64_t *us)
{
	int y, mo, d, h, mi, sec;
	static const int32_t pad[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
	int64_t frac = 0;
	size_t end = n;

	if (tz && n >= 22 && s[n - 3] == '+' && s[n - 2] == '0' && s[n - 1] == '0')
		end = n - 3;
	if (end < 19 || end > 26 || end == 20)
		return false;
	if (s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':')
		return false;
	if (!all_digits(s, 4) || !all_digits(s + 5, 2) || !all_digits(s + 8, 2) || !all_digits(s + 11, 2) ||
	    !all_digits(s + 14, 2) || !all_digits(s + 17, 2))
		return false;
	if (end > 19) {
		if (s[19] != '.' || !all_digits(s + 20, end - 20))
			return false;
		for (size_t i = 20; i < end; i++)
			frac = frac * 10 + (s[i] - '0');
		frac *= pad[end - 20];
	}
	y = dig2(s) * 100 + dig2(s + 2);
	mo = dig2(s + 5);
	d = dig2(s + 8);
	h = dig2(s + 11);
	mi = dig2(s + 14);
	sec = dig2(s + 17);
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo) || h > 23 || mi > 59 ||
	    sec > 59)
		return false;
	*us = civil_to_days(y, (unsigned)mo, (unsigned)d) * USEC_PER_DAY +
	      ((int64_t)h * 3600 + mi * 60 + sec) * USEC_PER_SEC + frac;
	return true;
}

static int put_timestamp(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	const bool tz = col->cls == CC_TIMESTAMPTZ;
	const uint8_t tag = tz ? TAG_TSTZ : TAG_TS;
	const char *p = s, *end = s + n;
	enum date_kind kind;
	int64_t days = 0, packed = 0, clock, off = 0, us;
	bool bc = false;

	if (fast_timestamp(s, n, col->type == LT_TIMESTAMPTZ, &us)) {
		if (col->tz)
			us = tz_local_to_utc(col->tz, us);
		put_tagged_i64(out, tag, truncate_usec(us, col->precision));
		return 0;
	}
	if (eq_nocase(s, n, "infinity")) {
		buf_addch(out, (char)(tz ? TAG_TSTZ_PINF : TAG_TS_PINF));
		return 0;
	}
	if (eq_nocase(s, n, "-infinity")) {
		buf_addch(out, (char)(tz ? TAG_TSTZ_NINF : TAG_TS_NINF));
		return 0;
	}
	if (n > 3 && memcmp(end - 3, " BC", 3) == 0) {
		bc = true;
		end -= 3;
	}
	if (read_date(&p, end, bc, &kind, &days, &packed) < 0)
		return -1;
	if (p >= end || (*p != ' ' && *p != 'T'))
		return -1;
	p++;
	if (read_clock(&p, end, &clock) < 0 || clock >= USEC_PER_DAY + USEC_PER_SEC)
		return -1;
	if (p < end) {
		if (col->type != LT_TIMESTAMPTZ || read_offset(&p, end, &off) < 0 || p != end)
			return -1;
	}
	if (kind == DATE_ZERO) {
		if (off != 0)
			return -1;
		if (col->zero_null)
			buf_addch(out, TAG_NULL);
		else
			put_tagged_i64(out, tz ? TAG_TSTZ_ZERO : TAG_TS_ZERO, packed * USEC_PER_DAY + clock);
		return 0;
	}
	if (days > INT64_MAX / USEC_PER_DAY - 1 || days < INT64_MIN / USEC_PER_DAY + 1)
		return -1;
	us = days * USEC_PER_DAY + clock - off * USEC_PER_SEC;
	if (col->tz)
		us = tz_local_to_utc(col->tz, us);
	put_tagged_i64(out, tag, truncate_usec(us, col->precision));
	return 0;
}

/* ---- uuid ------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int put_uuid(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	uint8_t u[16];
	size_t k = 0;

	if (col->type == LT_BYTES) {
		/* binary(16): the uuid's bytes in their RFC 4122 order. */
		if (n != 16)
			return -1;
		buf_addch(out, TAG_UUID);
		buf_add(out, s, 16);
		return 0;
	}
	if (n != 36 && n != 32)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0 || k >= 16)
			return -1;
		u[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	if (k != 16)
		return -1;
	buf_addch(out, TAG_UUID);
	buf_add(out, u, 16);
	return 0;
}

/* ---- JSON ------------------------------------------------------------- */

/* Returns -2 with err set: json_canon's message names the byte at fault. */
static int put_json(struct buf *out, const struct canon_col *col, const char *s, size_t n,
                    struct tally_err *err)
{
	struct buf *scratch = &tls.json;
	int rc;

	buf_reset(scratch);
	if (col->type == LT_ARRAY)
		rc = pgarray_canon_json(scratch, s, n, (enum pgarray_elem)col->arr_elem, err);
	else
		rc = json_canon(scratch, s, n, err);
	if (rc < 0)
		return -2;
	put_escaped(out, TAG_JSON, scratch->data, scratch->len);
	return 0;
}

/* ---- inet ------------------------------------------------------------- */

/* Dotted quad a.b.c.d into 4 bytes; *len is what was read. */
static bool read_ipv4(const char *s, size_t n, uint8_t a[4], size_t *len)
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = 0, digits = 0;

		if (k && (i >= n || s[i++] != '.'))
			return false;
		while (i < n && is_digit(s[i]) && digits < 4) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
			return false;
		a[k] = (uint8_t)v;
	}
	*len = i;
	return true;
}

/* An IPv6 address with optional :: and an optional dotted IPv4 tail. */
static bool read_ipv6(const char *s, size_t n, uint8_t a[16])
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	size_t i = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (n && s[0] == ':') {
		return false;
	}
	while (i < n) {
		unsigned v = 0, digits = 0;
		size_t start = i;

		if (ng == 8)
			return false;
		while (i < n && hexval(s[i]) >= 0 && digits < 5) {
			v = v << 4 | (unsigned)hexval(s[i++]);
			digits++;
		}
		if (i < n && s[i] == '.') {
			/* The last 32 bits as a dotted quad. */
			uint8_t q[4];
			size_t used;

			if (ng > 6 || !read_ipv4(s + start, n - start, q, &used) || start + used != n)
				return false;
			g[ng++] = (uint16_t)(q[0] << 8 | q[1]);
			g[ng++] = (uint16_t)(q[2] << 8 | q[3]);
			i = n;
			break;
		}
		if (digits == 0 || digits > 4)
			return false;
		g[ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i++] != ':')
			return false;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return false;
			gap = ng;
			i++;
		} else if (i == n) {
			return false;       /* a trailing single ':' */
		}
	}
	if (gap < 0 && ng != 8)
		return false;
	if (gap >= 0 && ng > 7)
		return false;
	memset(a, 0, 16);
	for (int k = 0, at = 0; k < ng; k++, at++) {
		if (k == gap)
			at += 8 - ng;
		a[2 * at] = (uint8_t)(g[k] >> 8);
		a[2 * at + 1] = (uint8_t)g[k];
	}
	return true;
}

/*
 * a.b.c.d[/n] or an IPv6 address[/n], as PostgreSQL (inet, cidr), MariaDB
 * (INET4, INET6) and people print them; no prefix means the whole address.
 * An IPv4-mapped IPv6 address stays IPv6: the engines keep them apart.
 */
static int put_inet(struct buf *out, const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n, used;
	uint8_t a[16];
	int family, prefix;

	if (memchr(s, ':', alen)) {
		if (!read_ipv6(s, alen, a))
			return -1;
		family = 6;
	} else {
		if (!read_ipv4(s, alen, a, &used) || used != alen)
			return -1;
		family = 4;
	}
	prefix = family == 4 ? 32 : 128;
	if (slash) {
		const char *p = slash + 1, *end = s + n;
		int64_t v;

		if (!read_uint(&p, end, 0, &v) || p != end || v > prefix || end - (slash + 1) > 3)
			return -1;
		prefix = (int)v;
	}
	buf_addch(out, TAG_INET);
	buf_addch(out, (char)family);
	buf_add(out, a, family == 4 ? 4 : 16);
	buf_addch(out, (char)prefix);
	return 0;
}

/* ---- bit strings ------------------------------------------------------ */

/*
 * PostgreSQL prints bit and varbit as '0'/'1' characters; MariaDB sends
 * BIT(n) as raw big-endian bytes, whose low n bits are the value.
 */
static int put_bits(struct buf *out, const struct canon_col *col, const char *s, size_t n)
{
	size_t nbits, nbytes;
	uint8_t *p;

	if (col->raw_bits) {
		if (col->bits <= 0 || n * 8 < (size_t)col->bits)
			return -1;
		nbits = (size_t)col->bits;
		/* Bits above the width must be zero. */
		for (size_t i = 0; i < n * 8 - nbits; i++)
			if ((uint8_t)s[i / 8] & (0x80u >> (i % 8)))
				return -1;
	} else {
		for (size_t i = 0; i < n; i++)
			if (s[i] != '0' && s[i] != '1')
				return -1;
		nbits = n;
	}
	if (nbits > UINT32_MAX)
		return -1;
	nbytes = (nbits + 7) / 8;
	buf_grow(out, 5 + nbytes);
	buf_put1(out, TAG_BITS);
	for (int k = 3; k >= 0; k--)
		buf_put1(out, (uint8_t)(nbits >> (8 * k)));
	p = (uint8_t *)out->data + out->len;
	memset(p, 0, nbytes);
	for (size_t i = 0; i < nbits; i++) {
		bool one;

		if (col->raw_bits) {
			size_t from = n * 8 - nbits + i;

			one = ((uint8_t)s[from / 8] & (0x80u >> (from % 8))) != 0;
		} else {
			one = s[i] == '1';
		}
		if (one)
			p[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	}
	buf_setlen(out, out->len + nbytes);
	return 0;
}

/* ---- maps ------------------------------------------------------------- */

static int bufcmp(const struct buf *a, const struct buf *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->data, b->data, n) : 0;

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

bool canon_map_sort(struct canon_map *m, size_t *dup)
{
	/* Insertion sort: maps are short, and it keeps from and to together. */
	for (size_t i = 1; i < m->n; i++)
		for (size_t j = i; j > 0 && bufcmp(&m->fromv[j - 1], &m->fromv[j]) > 0; j--) {
			struct buf f = m->fromv[j], t = m->tov[j];

			m->fromv[j] = m->fromv[j - 1];
			m->tov[j] = m->tov[j - 1];
			m->fromv[j - 1] = f;
			m->tov[j - 1] = t;
		}
	for (size_t i = 1; i < m->n; i++)
		if (bufcmp(&m->fromv[i - 1], &m->fromv[i]) == 0) {
			*dup = i;
			return false;
		}
	return true;
}

void canon_map_free(struct canon_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		buf_release(&m->fromv[i]);
		buf_release(&m->tov[i]);
	}
	free(m->fromv);
	free(m->tov);
	free(m);
}

/* Returns -2 with err set when the value does not read as the map's own type. */
static int put_mapped(struct buf *out, const struct canon_col *col, const char *s, size_t n,
                      struct tally_err *err)
{
	struct buf *own = &tls.own;
	const struct canon_map *m = col->map;
	size_t lo = 0, hi = m->n;

	buf_reset(own);
	if (canon_encode(own, &m->from, s, n, err) < 0)
		return -2;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = bufcmp(&m->fromv[mid], own);

		if (c == 0) {
			buf_add(out, m->tov[mid].data, m->tov[mid].len);
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	put_escaped(out, TAG_UNMAPPED, own->data, own->len);
	return 0;
}

/* ---- dispatch --------------------------------------------------------- */

static const char *expected_form(enum cclass c)
{
	switch (c) {
	case CC_NUMBER: return "not a valid number";
	case CC_FLOAT64:
	case CC_FLOAT32: return "not a valid floating-point number";
	case CC_BOOL: return "not a valid boolean";
	case CC_DATE: return "not a valid date (expected YYYY-MM-DD)";
	case CC_TIME: return "not a valid time (expected HH:MM:SS[.ffffff])";
	case CC_TIMESTAMP: return "not a valid timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff])";
	case CC_TIMESTAMPTZ:
		return "not a valid timestamp with time zone (expected YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]])";
	case CC_UUID: return "not a valid uuid";
	case CC_INET: return "not a valid IP address (expected a.b.c.d[/n] or an IPv6 address[/n])";
	case CC_BITS: return "not a valid bit string";
	case CC_JSON: return "not valid JSON";
	case CC_TEXT:
	case CC_BYTES: break;
	}
	return "not a valid value";
}

int canon_encode(struct buf *out, const struct canon_col *col,
                 const char *val, size_t len, struct tally_err *err)
{
	size_t mark = out->len;
	int rc = 0;

	if (!val) {
		buf_addch(out, TAG_NULL);
		return 0;
	}
	if (col->map) {
		rc = put_mapped(out, col, val, len, err);
		if (rc < 0)
			buf_setlen(out, mark);
		return rc < 0 ? -1 : 0;
	}
	switch (col->cls) {
	case CC_NUMBER:
		rc = put_number(out, col, val, len);
		break;
	case CC_FLOAT64:
	case CC_FLOAT32:
		rc = put_float(out, col, val, len);
		break;
	case CC_BOOL:
		rc = put_bool(out, col, val, len);
		break;
	case CC_TEXT:
		put_text(out, col, val, len);
		break;
	case CC_BYTES:
		put_escaped(out, TAG_BYTES, val, len);
		break;
	case CC_DATE:
		rc = put_date(out, val, len, col->zero_null);
		break;
	case CC_TIME:
		rc = put_time(out, col, val, len);
		break;
	case CC_TIMESTAMP:
	case CC_TIMESTAMPTZ:
		rc = put_timestamp(out, col, val, len);
		break;
	case CC_UUID:
		rc = put_uuid(out, col, val, len);
		break;
	case CC_JSON:
		rc = put_json(out, col, val, len, err);
		break;
	case CC_INET:
		rc = put_inet(out, val, len);
		break;
	case CC_BITS:
		rc = put_bits(out, col, val, len);
		break;
	}
	if (rc == -2) {
		/* The parser said what is wrong, better than a generic form. */
		buf_setlen(out, mark);
		return -1;
	}
	if (rc < 0) {
		buf_setlen(out, mark);
		return err_set(err, ERR_DATA, "%s", expected_form(col->cls));
	}
	return 0;
}

/* ---- decoding --------------------------------------------------------- */

static int64_t get_i64(const uint8_t *p)
{
	uint64_t u = 0;

	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (int64_t)(u ^ (UINT64_C(1) << 63));
}

/* Unescapes an escaped text or binary run; returns bytes consumed or 0. */
static size_t get_escaped(const uint8_t *p, size_t n, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		const uint8_t *z = memchr(p + i, 0, n - i);
		size_t run;

		if (!z)
			return 0;
		run = (size_t)(z - (p + i));
		buf_add(out, p + i, run);
		i += run;
		if (i + 1 >= n)
			return 0;
		if (p[i + 1] == 0xFF) {
			buf_addch(out, '\0');
			i += 2;
		} else if (p[i + 1] == 0x01) {
			return i + 2;
		} else {
			return 0;
		}
	}
	return 0;
}

static size_t get_number(const uint8_t *p, size_t n, bool neg, struct sqlval *v, struct buf *out)
{
	const uint8_t flip = neg ? 0xFF : 0x00, end = neg ? 0xFF : 0x00;
	uint32_t e;
	int32_t exp;
	size_t i = 4, nd;
	const uint8_t *d;

	if (n < 5)
		return 0;
	e = (uint32_t)(p[0] ^ flip) << 24 | (uint32_t)(p[1] ^ flip) << 16 |
	    (uint32_t)(p[2] ^ flip) << 8 | (uint32_t)(p[3] ^ flip);
	exp = (int32_t)(e ^ UINT32_C(0x80000000));
	if (exp > DEC_EXP_MAX || exp < -DEC_EXP_MAX)
		return 0;   /* no encoder writes it: damaged, and its digits would not end */
	d = p + 4;
	while (i < n && p[i] != end)
		i++;
	if (i == n)
		return 0;
	nd = i - 4;
	if (neg)
		buf_addch(out, '-');
	if (exp <= 0) {
		buf_addstr(out, "0.");
		for (int32_t k = 0; k < -exp; k++)
			buf_addch(out, '0');
		for (size_t k = 0; k < nd; k++)
			buf_addch(out, (char)(d[k] ^ flip));
	} else {
		for (size_t k = 0; k < nd || (int64_t)k < exp; k++) {
			if ((int64_t)k == exp)
				buf_addch(out, '.');
			buf_addch(out, k < nd ? (char)(d[k] ^ flip) : '0');
		}
	}
	v->kind = SV_NUMBER;
	v->s = out->data;
	v->len = out->len;
	return i + 1;
}

/*
 * Canonical JSON with its numbers written the usual way (1e0 -> 1,
 * 1.25e2 -> 125, 1.5e-3 -> 0.0015) while the exponent is modest, for a
 * reviewer reading a repair script. Same document, same meaning.
 */
static void json_plain_numbers(struct buf *out, const char *s, size_t n)
{
	bool in_string = false;

	for (size_t i = 0; i < n;) {
		char c = s[i];

		if (in_string || (c != '-' && !is_digit(c))) {
			if (in_string && c == '\\' && i + 1 < n) {
				buf_add(out, s + i, 2);
				i += 2;
				continue;
			}
			if (c == '"')
				in_string = !in_string;
			buf_addch(out, c);
			i++;
			continue;
		}
		/* A canonical number: [-]D[.DDD]e[-]X, or 0. */
		size_t start = i, dstart, nd = 0;
		char digits[64];
		long exp = 0;
		bool neg = c == '-', eneg = false, fits = true;

		if (neg)
			i++;
		dstart = i;
		while (i < n && (is_digit(s[i]) || s[i] == '.')) {
			if (s[i] != '.') {
				if (nd < sizeof(digits))
					digits[nd] = s[i];
				else
					fits = false;
				nd++;
			}
			i++;
		}
		if (i < n && s[i] == 'e') {
			i++;
			if (i < n && s[i] == '-') {
				eneg = true;
				i++;
			}
			while (i < n && is_digit(s[i])) {
				if (exp < 1000000)
					exp = exp * 10 + (s[i] - '0');
				i++;
			}
		} else {
			fits = false;       /* "0" */
		}
		if (eneg)
			exp = -exp;
		if (!fits || i == dstart || exp < -6 || exp > 20) {
			buf_add(out, s + start, i - start);
			continue;
		}
		/* value = 0.digits x 10^(exp + 1) */
		long point = exp + 1;

		if (neg)
			buf_addch(out, '-');
		if (point <= 0) {
			buf_addstr(out, "0.");
			for (long k = point; k < 0; k++)
				buf_addch(out, '0');
			buf_add(out, digits, nd);
		} else if ((size_t)point >= nd) {
			buf_add(out, digits, nd);
			for (size_t k = nd; k < (size_t)point; k++)
				buf_addch(out, '0');
		} else {
			buf_add(out, digits, (size_t)point);
			buf_addch(out, '.');
			buf_add(out, digits + point, nd - (size_t)point);
		}
	}
}

/* The standard text of an address: dotted quad, or RFC 5952 IPv6; "/n" unless whole. */
static void inet_text(struct buf *out, int family, const uint8_t *a, int prefix)
{
	if (family == 4) {
		buf_addf(out, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	} else {
		int best = -1, bestlen = 1;
		bool mapped = true;

		for (int i = 0; i < 8;) {
			int j = i;

			while (j < 8 && a[2 * j] == 0 && a[2 * j + 1] == 0)
				j++;
			if (j - i > bestlen) {
				best = i;
				bestlen = j - i;
			}
			i = j > i ? j : i + 1;
		}
		for (int i = 0; i < 10; i++)
			mapped = mapped && a[i] == 0;
		if (mapped && a[10] == 0xff && a[11] == 0xff) {
			buf_addf(out, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		} else {
			for (int i = 0; i < 8; i++) {
				if (i == best) {
					buf_addstr(out, "::");
					i += bestlen - 1;
					continue;
				}
				if (i && i != best + bestlen)
					buf_addch(out, ':');
				buf_addf(out, "%x", (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
			}
		}
	}
	if (prefix != (family == 4 ? 32 : 128))
		buf_addf(out, "/%d", prefix);
}

bool canon_float_of(const uint8_t *p, size_t n, double *d)
{
	uint64_t bits;

	if (n < 9 || p[0] != TAG_FLOAT)
		return false;
	bits = (uint64_t)get_i64(p + 1) ^ (UINT64_C(1) << 63);
	bits = bits >> 63 ? bits ^ (UINT64_C(1) << 63) : ~bits;
	memcpy(d, &bits, sizeof(*d));
	return true;
}

size_t canon_decode(const uint8_t *p, size_t n, struct sqlval *v, struct buf *scratch)
{
	uint64_t bits;
	size_t k;

	memset(v, 0, sizeof(*v));
	buf_reset(scratch);
	if (n == 0)
		return 0;
	switch (p[0]) {
	case TAG_NULL:
		v->kind = SV_NULL;
		return 1;
	case TAG_NUM_ZERO:
		v->kind = SV_NUMBER;
		buf_addch(scratch, '0');
		v->s = scratch->data;
		v->len = 1;
		return 1;
	case TAG_NUM_POS:
	case TAG_NUM_NEG:
		k = get_number(p + 1, n - 1, p[0] == TAG_NUM_NEG, v, scratch);
		return k ? k + 1 : 0;
	case TAG_NUM_PINF:
	case TAG_NUM_NINF:
	case TAG_NUM_NAN:
		v->kind = SV_NUMBER;
		v->special = p[0] == TAG_NUM_PINF ? SVS_PINF : p[0] == TAG_NUM_NINF ? SVS_NINF : SVS_NAN;
		return 1;
	case TAG_FLOAT:
		if (n < 9)
			return 0;
		bits = (uint64_t)get_i64(p + 1) ^ (UINT64_C(1) << 63);
		/* undo the order transform: positives had their sign flipped */
		bits = bits >> 63 ? bits ^ (UINT64_C(1) << 63) : ~bits;
		v->kind = SV_FLOAT;
		memcpy(&v->d, &bits, sizeof(v->d));
		return 9;
	case TAG_FALSE:
	case TAG_TRUE:
		v->kind = SV_BOOL;
		v->b = p[0] == TAG_TRUE;
		return 1;
	case TAG_TEXT:
	case TAG_BYTES:
		k = get_escaped(p + 1, n - 1, scratch);
		if (!k)
			return 0;
		v->kind = p[0] == TAG_TEXT ? SV_TEXT : SV_BYTES;
		v->s = scratch->data;
		v->len = scratch->len;
		return k + 1;
	case TAG_DATE:
	case TAG_DATE_ZERO:
	case TAG_TIME:
	case TAG_TS:
	case TAG_TS_ZERO:
	case TAG_TSTZ:
	case TAG_TSTZ_ZERO:
		if (n < 9)
			return 0;
		v->kind = p[0] <= TAG_DATE ? SV_DATE : p[0] == TAG_TIME ? SV_TIME
		        : p[0] <= TAG_TS ? SV_TIMESTAMP : SV_TIMESTAMPTZ;
		if (p[0] == TAG_DATE_ZERO || p[0] == TAG_TS_ZERO || p[0] == TAG_TSTZ_ZERO)
			v->special = SVS_ZERO;
		v->i = get_i64(p + 1);
		return 9;
	case TAG_DATE_NINF:
	case TAG_DATE_PINF:
	case TAG_TS_NINF:
	case TAG_TS_PINF:
	case TAG_TSTZ_NINF:
	case TAG_TSTZ_PINF:
		v->kind = p[0] <= TAG_DATE_PINF ? SV_DATE : p[0] <= TAG_TS_PINF ? SV_TIMESTAMP : SV_TIMESTAMPTZ;
		v->special = (p[0] == TAG_DATE_NINF || p[0] == TAG_TS_NINF || p[0] == TAG_TSTZ_NINF)
		             ? SVS_NINF : SVS_PINF;
		return 1;
	case TAG_UUID:
		if (n < 17)
			return 0;
		buf_add(scratch, p + 1, 16);
		v->kind = SV_UUID;
		v->s = scratch->data;
		v->len = 16;
		return 17;
	case TAG_INET: {
		size_t alen;

		if (n < 2 || (p[1] != 4 && p[1] != 6))
			return 0;
		alen = p[1] == 4 ? 4 : 16;
		if (n < 3 + alen)
			return 0;
		inet_text(scratch, p[1], p + 2, p[2 + alen]);
		v->kind = SV_TEXT;
		v->s = scratch->data;
		v->len = scratch->len;
		return 3 + alen;
	}
	case TAG_JSON: {
		struct buf canon = BUF_INIT;

		k = get_escaped(p + 1, n - 1, &canon);
		if (k)
			json_plain_numbers(scratch, canon.data, canon.len);
		buf_release(&canon);
		if (!k)
			return 0;
		v->kind = SV_TEXT;
		v->s = scratch->data;
		v->len = scratch->len;
		return k + 1;
	}
	case TAG_BITS: {
		size_t nbits;

		if (n < 5)
			return 0;
		nbits = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
		if (n - 5 < (nbits + 7) / 8)
			return 0;
		for (size_t i = 0; i < nbits; i++)
			buf_addch(scratch, p[5 + i / 8] & (0x80u >> (i % 8)) ? '1' : '0');
		v->kind = SV_BITS;
		v->s = scratch->data;
		v->len = nbits;
		return 5 + (nbits + 7) / 8;
	}
	default:
		return 0;
	}
}
