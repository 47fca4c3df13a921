/*
 * engine/canon_decode.c
 *   CANON -> repair, diffout: turns canonical encodings back into values
 *   (struct sqlval), for the repair scripts and the difference lines.
 *   Performs no I/O.
 */
#include "canon_int.h"

#include <stdlib.h>
#include <string.h>

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

/* A date, time or timestamp: microseconds (days for a date), zero, or an infinity. */
static size_t get_timed(const uint8_t *p, size_t n, struct sqlval *v)
{
	uint8_t t = p[0];

	if (t == TAG_DATE_NINF || t == TAG_DATE_PINF || t == TAG_TS_NINF || t == TAG_TS_PINF ||
	    t == TAG_TSTZ_NINF || t == TAG_TSTZ_PINF) {
		v->kind = t <= TAG_DATE_PINF ? SV_DATE : t <= TAG_TS_PINF ? SV_TIMESTAMP : SV_TIMESTAMPTZ;
		v->special = (t == TAG_DATE_NINF || t == TAG_TS_NINF || t == TAG_TSTZ_NINF)
		             ? SVS_NINF : SVS_PINF;
		return 1;
	}
	if (n < 9)
		return 0;
	v->kind = t <= TAG_DATE ? SV_DATE : t == TAG_TIME ? SV_TIME
	        : t <= TAG_TS ? SV_TIMESTAMP : SV_TIMESTAMPTZ;
	if (t == TAG_DATE_ZERO || t == TAG_TS_ZERO || t == TAG_TSTZ_ZERO)
		v->special = SVS_ZERO;
	v->i = get_i64(p + 1);
	return 9;
}

static size_t get_inet(const uint8_t *p, size_t n, struct sqlval *v, struct buf *scratch)
{
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

static size_t get_json(const uint8_t *p, size_t n, struct sqlval *v, struct buf *scratch)
{
	struct buf canon = BUF_INIT;
	size_t k = get_escaped(p + 1, n - 1, &canon);

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

static size_t get_bits(const uint8_t *p, size_t n, struct sqlval *v, struct buf *scratch)
{
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

size_t canon_decode(const uint8_t *p, size_t n, struct sqlval *v, struct buf *scratch)
{
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
		if (!canon_float_of(p, n, &v->d))
			return 0;
		v->kind = SV_FLOAT;
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
	case TAG_DATE_NINF:
	case TAG_DATE_PINF:
	case TAG_TS_NINF:
	case TAG_TS_PINF:
	case TAG_TSTZ_NINF:
	case TAG_TSTZ_PINF:
		return get_timed(p, n, v);
	case TAG_UUID:
		if (n < 17)
			return 0;
		buf_add(scratch, p + 1, 16);
		v->kind = SV_UUID;
		v->s = scratch->data;
		v->len = 16;
		return 17;
	case TAG_INET:
		return get_inet(p, n, v, scratch);
	case TAG_JSON:
		return get_json(p, n, v, scratch);
	case TAG_BITS:
		return get_bits(p, n, v, scratch);
	default:
		return 0;
	}
}
