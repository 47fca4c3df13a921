/*
 * engine/tz.c
 *   canon -> TZ: loads TZif files (RFC 8536, versions 1 to 4) and their
 *   POSIX TZ footer, and converts between local time and UTC the way
 *   PostgreSQL does. I/O happens once per zone, in tz_get().
 *
 * Concurrency works like this: every loaded zone sits on one
 * process-wide list, guarded by `cache_lock`. tz_get() holds the lock
 * while it searches the list and, on a miss, while it reads and parses the
 * file, so two threads asking for the same new zone load it once. A zone
 * is complete before it is linked in and is never changed or freed after
 * that, so the query functions take no lock at all.
 *
 * Inside a zone every instant is in seconds since 2000-01-01 00:00 UTC
 * (tally's epoch), not the Unix epoch of the file; offsets are seconds
 * east of Greenwich, including the footer's, whose POSIX sign is flipped
 * when it is parsed.
 */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/civil.h"
#include "canon.h"

#define SECS_PER_DAY INT64_C(86400)
#define USEC_PER_SEC INT64_C(1000000)

/* 1970-01-01 (the files' epoch) in seconds since 2000-01-01. */
#define UNIX_EPOCH_SECS INT64_C(-946684800)

/*
 * Limits that keep a hostile file harmless. Real zone files are a few
 * kilobytes; offsets stay within a day (RFC 8536 allows -25:59:59 to
 * +25:59:59); instants beyond 2^62 seconds leave room to shift epochs and
 * add offsets without overflow.
 */
#define TZ_FILE_MAX (1 << 20)
#define TZ_NAME_MAX 255
#define UTOFF_MAX 93599
#define INSTANT_MAX (INT64_C(1) << 62)
#define RULE_TIME_MAX (167 * 3600)

struct ttype {
	int32_t utoff;          /* seconds east */
	bool isdst;
};

/* A date in a POSIX TZ rule. */
enum rd_kind {
	RD_MONTH,               /* Mm.w.d: day d (0 = Sunday) of week w (5 = last) of month m */
	RD_JULIAN1,             /* Jn: 1..365, February 29 never counted */
	RD_DAY0,                /* n: 0..365, February 29 counted */
};

struct rule_date {
	enum rd_kind kind;
	int month, week, wday;
	int day;
	int32_t time;           /* local seconds after midnight: -167h..+167h */
};

/* The footer "std offset [dst [offset] [,start[/time],end[/time]]]". */
struct posix_rule {
	bool present;
	bool has_dst;
	int32_t std_off;        /* seconds east */
	int32_t dst_off;
	struct rule_date start, end;
};

/*
 * Invariants: at[] is strictly ascending; type[i] < ntype for every i;
 * ntype >= 1; |utoff| <= UTOFF_MAX. Type 0 applies before at[0] (or
 * always, without transitions and without a footer); the footer rule, when
 * present, applies from at[ntrans - 1] on (or always, without
 * transitions).
 */
struct tz {
	struct tz *next;        /* the cache list */
	char *name;
	size_t ntrans;
	int64_t *at;            /* transitions, seconds since 2000-01-01 UTC */
	uint8_t *type;          /* the type in force from at[i] */
	size_t ntype;
	struct ttype *types;
	char *footer;           /* the POSIX TZ string, "" when absent */
	struct posix_rule rule;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz *cache;

/* ---- arithmetic --------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
	if (b > 0 && a < INT64_MIN + b)
		return INT64_MIN;
	if (b < 0 && a > INT64_MAX + b)
		return INT64_MAX;
	return a - b;
}

static int64_t year_days(int64_t y)
{
	return civil_to_days(y + 1, 1, 1) - civil_to_days(y, 1, 1);
}

/* ---- POSIX TZ rules ----------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* An unsigned number of at most `maxdig` digits, no larger than max. */
static const char *parse_num(const char *p, int maxdig, int max, int *out)
{
	int v = 0, k = 0;

	while (is_digit(*p) && k < maxdig) {
		v = v * 10 + (*p - '0');
		p++;
		k++;
	}
	if (k == 0 || is_digit(*p) || v > max)
		return NULL;
	*out = v;
	return p;
}

/* A zone abbreviation: letters, or anything alphanumeric, '+' or '-' in <>. */
static const char *parse_abbr(const char *p)
{
	const char *s;

	if (*p == '<') {
		s = ++p;
		while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-')
			p++;
		if (p == s || *p != '>')
			return NULL;
		return p + 1;
	}
	s = p;
	while (is_alpha(*p))
		p++;
	return p == s ? NULL : p;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh, in seconds with its sign as written. */
static const char *parse_hms(const char *p, int maxh, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	p = parse_num(p, 3, maxh, &h);
	if (!p)
		return NULL;
	if (*p == ':') {
		p = parse_num(p + 1, 2, 59, &m);
		if (!p)
			return NULL;
		if (*p == ':') {
			p = parse_num(p + 1, 2, 59, &s);
			if (!p)
				return NULL;
		}
	}
	*out = (int32_t)(sign * (h * 3600 + m * 60 + s));
	return p;
}

/* Mm.w.d, Jn or n, then an optional /time (default 02:00:00). */
static const char *parse_rule_date(const char *p, struct rule_date *d)
{
	memset(d, 0, sizeof(*d));
	if (*p == 'M') {
		d->kind = RD_MONTH;
		p = parse_num(p + 1, 2, 12, &d->month);
		if (!p || d->month < 1 || *p != '.')
			return NULL;
		p = parse_num(p + 1, 1, 5, &d->week);
		if (!p || d->week < 1 || *p != '.')
			return NULL;
		p = parse_num(p + 1, 1, 6, &d->wday);
	} else if (*p == 'J') {
		d->kind = RD_JULIAN1;
		p = parse_num(p + 1, 3, 365, &d->day);
		if (p && d->day < 1)
			return NULL;
	} else {
		d->kind = RD_DAY0;
		p = parse_num(p, 3, 365, &d->day);
	}
	if (!p)
		return NULL;
	d->time = 2 * 3600;
	if (*p == '/')
		p = parse_hms(p + 1, 167, &d->time);
	return p;
}

static bool parse_posix_tz(const char *s, struct posix_rule *r)
{
	const char *p = s;
	int32_t off;

	memset(r, 0, sizeof(*r));
	if (!*p)
		return true;    /* an empty footer: no rule */
	p = parse_abbr(p);
	if (!p || !(p = parse_hms(p, 24, &off)))
		return false;
	r->std_off = -off;
	r->dst_off = r->std_off;
	if (*p) {
		p = parse_abbr(p);
		if (!p)
			return false;
		r->has_dst = true;
		r->dst_off = r->std_off + 3600;
		if (*p && *p != ',') {
			if (!(p = parse_hms(p, 24, &off)))
				return false;
			r->dst_off = -off;
		}
		/* No rule: tzcode's default, the US rules since 2007. */
		if (!*p)
			p = ",M3.2.0,M11.1.0";
		if (*p != ',' || !(p = parse_rule_date(p + 1, &r->start)))
			return false;
		if (*p != ',' || !(p = parse_rule_date(p + 1, &r->end)))
			return false;
	}
	if (*p)
		return false;
	r->present = true;
	return true;
}

/* Days since 2000-01-01 of a rule date in year y. */
static int64_t rule_day(const struct rule_date *d, int64_t y)
{
	int64_t jan1 = civil_to_days(y, 1, 1);
	int64_t first, next, day;

	switch (d->kind) {
	case RD_JULIAN1:
		/* February 29 is never counted: day 60 is March 1 in every year. */
		return jan1 + d->day - 1 + (d->day >= 60 && year_days(y) == 366);
	case RD_DAY0:
		return jan1 + d->day;
	case RD_MONTH:
		break;
	}
	first = civil_to_days(y, (unsigned)d->month, 1);
	next = d->month == 12 ? civil_to_days(y + 1, 1, 1)
	                      : civil_to_days(y, (unsigned)d->month + 1, 1);
	/* 2000-01-01 was a Saturday (6). */
	day = first + floor_mod(d->wday - floor_mod(first + 6, 7), 7) + 7 * (d->week - 1);
	while (day >= next)
		day -= 7;
	return day;
}

struct rtrans {
	int64_t at;             /* seconds since 2000-01-01 UTC */
	bool to_dst;
};

/*
 * The rule's transitions in year y, in order. Like tzcode's tzparse(): a
 * start after the end is a southern-hemisphere year (DST over New Year);
 * a start equal to the end, or daylight time lasting a whole year, gives
 * no transitions.
 */
static int rule_year(const struct posix_rule *r, int64_t y, struct rtrans out[2])
{
	int64_t start = rule_day(&r->start, y) * SECS_PER_DAY + r->start.time - r->std_off;
	int64_t end = rule_day(&r->end, y) * SECS_PER_DAY + r->end.time - r->dst_off;

	if (end < start) {
		out[0] = (struct rtrans){ end, false };
		out[1] = (struct rtrans){ start, true };
		return 2;
	}
	if (start < end && end - start < year_days(y) * SECS_PER_DAY) {
		out[0] = (struct rtrans){ start, true };
		out[1] = (struct rtrans){ end, false };
		return 2;
	}
	return 0;
}

/*
 * The footer's offset in force at t, and the first transition after t.
 * Three years around t's are enough: a rule time moves a transition by at
 * most a week. Returns true when *boundary and *after were set.
 */
static bool rule_next(const struct posix_rule *r, int64_t t, int32_t *before,
                      int64_t *boundary, int32_t *after)
{
	struct rtrans tr[6], tmp;
	int64_t y;
	unsigned mon, mday;
	int n = 0, i;
	bool cur;

	if (!r->has_dst) {
		*before = r->std_off;
		return false;
	}
	civil_from_days(floor_div(t, SECS_PER_DAY), &y, &mon, &mday);
	for (int64_t k = y - 1; k <= y + 1; k++)
		n += rule_year(r, k, tr + n);
	if (n == 0) {
		*before = r->dst_off;   /* perpetual daylight time */
		return false;
	}
	/* Stable: with times beyond 24h, neighbouring years may interleave. */
	for (i = 1; i < n; i++)
		for (int j = i; j > 0 && tr[j - 1].at > tr[j].at; j--) {
			tmp = tr[j];
			tr[j] = tr[j - 1];
			tr[j - 1] = tmp;
		}
	for (i = 0; i < n && tr[i].at <= t; i++)
		;
	cur = i > 0 ? tr[i - 1].to_dst : !tr[0].to_dst;
	*before = cur ? r->dst_off : r->std_off;
	if (i == n)
		return false;
	*boundary = tr[i].at;
	*after = tr[i].to_dst ? r->dst_off : r->std_off;
	return true;
}

/* ---- queries ------------------------------------------------------------ */

/* The number of transitions at or before t. */
static size_t upper_bound(const int64_t *a, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * PostgreSQL's pg_next_dst_boundary(): the offset in force at t and, when
 * there is one, the first transition after t with the offset it brings.
 */
static bool next_boundary(const struct tz *z, int64_t t, int32_t *before,
                          int64_t *boundary, int32_t *after)
{
	size_t i;

	if (z->ntrans == 0) {
		if (z->rule.present)
			return rule_next(&z->rule, t, before, boundary, after);
		*before = z->types[0].utoff;
		return false;
	}
	i = upper_bound(z->at, z->ntrans, t);
	if (i == z->ntrans) {
		if (z->rule.present)
			return rule_next(&z->rule, t, before, boundary, after);
		*before = z->types[z->type[i - 1]].utoff;
		return false;
	}
	*before = i == 0 ? z->types[0].utoff : z->types[z->type[i - 1]].utoff;
	*boundary = z->at[i];
	*after = z->types[z->type[i]].utoff;
	return true;
}

int32_t tz_offset_at(const struct tz *z, int64_t utc_us)
{
	int64_t t = floor_div(utc_us, USEC_PER_SEC), boundary;
	int32_t before, after;

	next_boundary(z, t, &before, &boundary, &after);
	return before;
}

int64_t tz_local_to_utc(const struct tz *z, int64_t local_us)
{
	int64_t mytime = floor_div(local_us, USEC_PER_SEC);
	int64_t boundary, beforetime, aftertime;
	int32_t before, after, off;

	/*
	 * PostgreSQL's DetermineTimeZoneOffset(): offsets are under a day and
	 * transitions over two days apart, so the first transition after
	 * local - 24h is the only one that can matter.
	 */
	if (!next_boundary(z, mytime - SECS_PER_DAY, &before, &boundary, &after)) {
		off = before;
	} else {
		beforetime = mytime - before;
		aftertime = mytime - after;
		if (beforetime < boundary && aftertime < boundary)
			off = before;
		else if (beforetime > boundary && aftertime >= boundary)
			off = after;
		else if (beforetime > aftertime)
			off = before;   /* a gap (spring forward): the earlier offset */
		else
			off = after;    /* a fold (fall back): the later offset */
	}
	return sat_sub(local_us, (int64_t)off * USEC_PER_SEC);
}

const char *tz_name(const struct tz *z)
{
	return z->name;
}

/* ---- loading ------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

#define TZIF_HEADER_LEN 44

static bool read_header(const uint8_t *p, size_t n, struct tzif_header *h)
{
	if (n < TZIF_HEADER_LEN || memcmp(p, "TZif", 4) != 0)
		return false;
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return true;
}

/* The data block's length; 64-bit, so no count can overflow it. */
static uint64_t block_len(const struct tzif_header *h, unsigned timesize)
{
	return (uint64_t)h->timecnt * timesize + h->timecnt + (uint64_t)h->typecnt * 6 +
	       h->charcnt + (uint64_t)h->leapcnt * (timesize + 4) + h->isstdcnt + h->isutcnt;
}

/*
 * Fills z's transitions and types from the data block at p (n bytes
 * left). On failure sets *why and frees nothing: the caller does.
 */
static bool read_block(struct tz *z, const struct tzif_header *h, unsigned timesize,
                       const uint8_t *p, size_t n, const char **why)
{
	const uint8_t *tp, *ip, *yp;

	if (h->typecnt == 0 || h->charcnt == 0) {
		*why = "no local time types";
		return false;
	}
	if (h->typecnt > 256) {
		*why = "more than 256 local time types";
		return false;
	}
	if ((h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt)) {
		*why = "inconsistent counts in the header";
		return false;
	}
	if (block_len(h, timesize) > n) {
		*why = "the file is truncated";
		return false;
	}
	tp = p;
	ip = tp + (size_t)h->timecnt * timesize;
	yp = ip + h->timecnt;
	z->ntrans = h->timecnt;
	z->ntype = h->typecnt;
	z->at = xcalloc(z->ntrans ? z->ntrans : 1, sizeof(*z->at));
	z->type = xcalloc(z->ntrans ? z->ntrans : 1, sizeof(*z->type));
	z->types = xcalloc(z->ntype, sizeof(*z->types));
	for (size_t i = 0; i < z->ntrans; i++) {
		int64_t t = timesize == 8 ? be64(tp + 8 * i) : (int64_t)(int32_t)be32(tp + 4 * i);

		if (t < -INSTANT_MAX || t > INSTANT_MAX) {
			*why = "a transition time is out of range";
			return false;
		}
		z->at[i] = t + UNIX_EPOCH_SECS;
		if (i > 0 && z->at[i] <= z->at[i - 1]) {
			*why = "transition times are not in ascending order";
			return false;
		}
		if (ip[i] >= h->typecnt) {
			*why = "a transition refers to a local time type that does not exist";
			return false;
		}
		z->type[i] = ip[i];
	}
	for (size_t i = 0; i < z->ntype; i++) {
		const uint8_t *e = yp + 6 * i;
		int32_t utoff = (int32_t)be32(e);

		if (utoff < -UTOFF_MAX || utoff > UTOFF_MAX || e[4] > 1 || e[5] >= h->charcnt) {
			*why = "a local time type is out of range";
			return false;
		}
		z->types[i].utoff = utoff;
		z->types[i].isdst = e[4] == 1;
	}
	return true;
}

/* Parses a whole TZif file into z. */
static bool parse_tzif(struct tz *z, const uint8_t *p, size_t n, const char **why)
{
	struct tzif_header h;
	const uint8_t *end = p + n, *nl;
	uint64_t v1;
	size_t flen;

	if (!read_header(p, n, &h)) {
		*why = "it does not start with a TZif header";
		return false;
	}
	if (h.version != '\0' && !(h.version >= '2' && h.version <= '4')) {
		*why = "unknown TZif version";
		return false;
	}
	p += TZIF_HEADER_LEN;
	if (h.version == '\0') {
		z->footer = xstrdup("");
		return read_block(z, &h, 4, p, (size_t)(end - p), why);
	}

	/* Version 2 and later: skip the 32-bit block, read the 64-bit one. */
	v1 = block_len(&h, 4);
	if (v1 > (uint64_t)(end - p)) {
		*why = "the file is truncated";
		return false;
	}
	p += v1;
	if (!read_header(p, (size_t)(end - p), &h)) {
		*why = "the 64-bit data has no TZif header";
		return false;
	}
	p += TZIF_HEADER_LEN;
	if (!read_block(z, &h, 8, p, (size_t)(end - p), why))
		return false;
	p += block_len(&h, 8);

	/* The footer: "\n" TZ-string "\n". */
	if (p >= end || *p != '\n' || !(nl = memchr(p + 1, '\n', (size_t)(end - p - 1)))) {
		*why = "the footer is missing or unterminated";
		return false;
	}
	flen = (size_t)(nl - p - 1);
	if (memchr(p + 1, '\0', flen)) {
		*why = "the footer holds a NUL byte";
		return false;
	}
	z->footer = xstrndup((const char *)p + 1, flen);
	if (!parse_posix_tz(z->footer, &z->rule)) {
		*why = "the footer is not a valid POSIX TZ string";
		return false;
	}
	return true;
}

static void tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->name);
	free(z->at);
	free(z->type);
	free(z->types);
	free(z->footer);
	free(z);
}

static struct tz *tz_fixed(const char *name, int32_t utoff)
{
	struct tz *z = xcalloc(1, sizeof(*z));

	z->name = xstrdup(name);
	z->ntype = 1;
	z->types = xcalloc(1, sizeof(*z->types));
	z->types[0].utoff = utoff;
	z->footer = xstrdup("");
	return z;
}

/* A copy of a user's string fit for a message: printable ASCII, bounded. */
static void printable(char *out, size_t cap, const char *s)
{
	size_t i = 0;

	for (; *s && i + 4 < cap; s++)
		out[i++] = *s >= 0x20 && *s < 0x7f ? *s : '?';
	if (*s) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static bool name_char_ok(char c)
{
	return is_alpha(c) || is_digit(c) || c == '/' || c == '_' || c == '+' || c == '-';
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/' ||
	    strstr(name, "..") || strstr(name, "//"))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(name[i]))
			return false;
	return true;
}

/*
 * "+HH:MM" or "-HH:MM": 1 if name has that shape (*utoff set, or 0 with
 * *valid false when out of range), 0 otherwise.
 */
static int fixed_offset(const char *name, int32_t *utoff, bool *valid)
{
	int h, m;

	if ((name[0] != '+' && name[0] != '-') || strlen(name) != 6 || name[3] != ':' ||
	    !is_digit(name[1]) || !is_digit(name[2]) || !is_digit(name[4]) || !is_digit(name[5]))
		return 0;
	h = (name[1] - '0') * 10 + (name[2] - '0');
	m = (name[4] - '0') * 10 + (name[5] - '0');
	*valid = h <= 15 && m <= 59;
	*utoff = (int32_t)((name[0] == '-' ? -1 : 1) * (h * 3600 + m * 60));
	return 1;
}

/* Reads a regular file of at most TZ_FILE_MAX bytes; -1 with errno. */
static int read_small_file(const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	uint8_t *d;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	if (st.st_size > TZ_FILE_MAX) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	/* Room for one byte more than expected, to notice a file that grew. */
	d = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size + 1) {
		ssize_t r = read(fd, d + n, (size_t)st.st_size + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(d);
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > (size_t)st.st_size) {
		free(d);
		errno = EFBIG;
		return -1;
	}
	*data = d;
	*len = n;
	return 0;
}

static int load_zone(const char *name, struct tz **out, struct tally_err *err)
{
	char shown[128], path[4096];
	const char *dir = getenv("TZDIR");
	bool from_env = dir && *dir;
	uint8_t *data;
	size_t len;
	const char *why = "";
	struct tz *z;
	int32_t utoff;
	bool valid;

	printable(shown, sizeof(shown), name);
	if (strcmp(name, "UTC") == 0) {
		*out = tz_fixed(name, 0);
		return 0;
	}
	if (fixed_offset(name, &utoff, &valid)) {
		if (!valid) {
			err_set(err, ERR_USAGE, "invalid time zone offset '%s'", shown);
			return err_detail(err, "a fixed offset is +HH:MM or -HH:MM, hours 00 to 15, minutes 00 to 59");
		}
		*out = tz_fixed(name, utoff);
		return 0;
	}
	if (!name_ok(name)) {
		err_set(err, ERR_USAGE, "invalid time zone name '%s'", shown);
		return err_detail(err, "a zone name is a path under the zoneinfo directory: letters, digits, "
		                  "'/', '_', '+' and '-', at most %d characters, without '..', a leading '/' "
		                  "or an empty component", TZ_NAME_MAX);
	}
	if (!from_env)
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		err_set(err, ERR_USAGE, "unknown time zone '%s'", shown);
		return err_detail(err, "the zoneinfo directory '%s' has too long a name", dir);
	}
	if (read_small_file(path, &data, &len) != 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR || errno == EINVAL) {
			err_set(err, ERR_USAGE, "unknown time zone '%s'", shown);
			return err_detail(err, "no file '%s' in the zoneinfo directory '%s'%s", name, dir,
			                  from_env ? " (from TZDIR)" : "");
		}
		if (errno == EFBIG) {
			err_set(err, ERR_USAGE, "time zone file '%s' is not a valid TZif file", path);
			return err_detail(err, "it is larger than %d bytes", TZ_FILE_MAX);
		}
		return err_set(err, ERR_IO, "could not read time zone file '%s': %s", path, strerror(errno));
	}
	z = xcalloc(1, sizeof(*z));
	if (!parse_tzif(z, data, len, &why)) {
		free(data);
		tz_free(z);
		err_set(err, ERR_USAGE, "time zone file '%s' is not a valid TZif file", path);
		return err_detail(err, "%s", why);
	}
	free(data);
	z->name = xstrdup(name);
	*out = z;
	return 0;
}

int tz_get(const char *name, const struct tz **out, struct tally_err *err)
{
	struct tz *z;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&cache_lock);
	for (z = cache; z; z = z->next)
		if (strcmp(z->name, name) == 0)
			break;
	if (!z && (rc = load_zone(name, &z, err)) == 0) {
		z->next = cache;
		cache = z;
	}
	pthread_mutex_unlock(&cache_lock);
	if (rc == 0)
		*out = z;
	return rc;
}
