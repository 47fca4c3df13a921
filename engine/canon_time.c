/*
 * engine/canon_time.c
 *   CANON: dates, times, timestamps and timestamps with time zone, read
 *   as microseconds since 2000-01-01 (naive ones through a column's zone
 *   when it has one). Performs no I/O.
 */
#include "canon_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/civil.h"
#include "tz.h"

/* ---- dates and times -------------------------------------------------- */

/* Reads exactly `width` digits (width 0: one or more, at most 12). */
bool canon_read_uint(const char **pp, const char *end, int width, int64_t *out)
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

	if (!canon_read_uint(&p, end, 0, &y) || p >= end || *p++ != '-')
		return -1;
	if (!canon_read_uint(&p, end, 2, &mo) || p >= end || *p++ != '-')
		return -1;
	if (!canon_read_uint(&p, end, 2, &d))
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

	if (!canon_read_uint(&p, end, 0, &h) || p >= end || *p++ != ':')
		return -1;
	if (!canon_read_uint(&p, end, 2, &mi) || p >= end || *p++ != ':')
		return -1;
	if (!canon_read_uint(&p, end, 2, &s))
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

int canon_put_date(struct buf *out, const char *s, size_t n, bool zero_null)
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

int canon_put_time(struct buf *out, const struct canon_col *col, const char *s, size_t n)
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
	if (!canon_read_uint(&p, end, 2, &h))
		return -1;
	if (p < end && *p == ':') {
		p++;
		if (!canon_read_uint(&p, end, 2, &m))
			return -1;
		if (p < end && *p == ':') {
			p++;
			if (!canon_read_uint(&p, end, 2, &s))
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

int canon_put_timestamp(struct buf *out, const struct canon_col *col, const char *s, size_t n)
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
	if (col->type == LT_DATE && p == end) {
		clock = 0;      /* a date compared with a timestamp: its midnight */
	} else {
		if (p >= end || (*p != ' ' && *p != 'T'))
			return -1;
		p++;
		if (read_clock(&p, end, &clock) < 0 || clock >= USEC_PER_DAY + USEC_PER_SEC)
			return -1;
	}
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

