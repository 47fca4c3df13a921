/*
 * engine/newer.c
 *   spec, plan -> NEWER -> merge: ages, cutoffs, and whether a canonical
 *   value is newer than a cutoff (newer.h says what newer means).
 *   Performs no I/O.
 */
#include "newer.h"

#include <stdio.h>
#include <string.h>

#include "base/civil.h"
#include "canon.h"
#include "plan.h"

#define USEC_PER_SEC 1000000LL
#define SEC_PER_DAY 86400LL

int newer_parse_age(const char *s, size_t len, long long *seconds)
{
	long long v = 0, unit;
	size_t i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (v > NEWER_AGE_MAX)
			return -1;
		v = v * 10 + (s[i] - '0');
		i++;
	}
	if (i == 0 || i + 1 != len)
		return -1;
	switch (s[i]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = SEC_PER_DAY; break;
	default: return -1;
	}
	if (v == 0 || v > NEWER_AGE_MAX / unit)
		return -1;
	*seconds = v * unit;
	return 0;
}

/* a / b rounded down (b > 0). */
static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* Reads exactly width digits at s. */
static bool digits(const char *s, int width, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < width; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

int newer_cutoff(const char *started, long long age, int64_t *cutoff)
{
	unsigned y, mo, d, h, mi, se;
	int64_t secs;

	if (!started || strlen(started) != 20 || !digits(started, 4, &y) || started[4] != '-' ||
	    !digits(started + 5, 2, &mo) || started[7] != '-' || !digits(started + 8, 2, &d) ||
	    started[10] != 'T' || !digits(started + 11, 2, &h) || started[13] != ':' ||
	    !digits(started + 14, 2, &mi) || started[16] != ':' || !digits(started + 17, 2, &se) ||
	    started[19] != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	secs = civil_to_days(y, mo, d) * SEC_PER_DAY + (int64_t)h * 3600 + (int64_t)mi * 60 + (int64_t)se;
	*cutoff = (secs - age) * USEC_PER_SEC;
	return 0;
}

void newer_cutoff_iso(int64_t cutoff, char out[32])
{
	int64_t secs = floor_div(cutoff, USEC_PER_SEC), days = floor_div(secs, SEC_PER_DAY), y, sod;
	unsigned m, d;

	sod = secs - days * SEC_PER_DAY;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, 32, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", (long long)y, m, d, (long long)(sod / 3600),
	         (long long)(sod / 60 % 60), (long long)(sod % 60));
}

bool newer_value(const uint8_t *p, size_t n, int64_t cutoff)
{
	struct buf scratch = BUF_INIT;
	struct sqlval v;
	size_t k = canon_decode(p, n, &v, &scratch);
	bool newer = false;

	buf_release(&scratch);
	if (k == 0)
		return false;
	switch (v.kind) {
	case SV_DATE:
	case SV_TIMESTAMP:
	case SV_TIMESTAMPTZ:
		if (v.special == SVS_PINF)
			newer = true;
		else if (v.special == SVS_NONE)
			newer = v.kind == SV_DATE ? v.i > floor_div(cutoff, SEC_PER_DAY * USEC_PER_SEC) : v.i > cutoff;
		break;
	default:
		break;
	}
	return newer;
}

static bool is_time_class(enum cclass c)
{
	return c == CC_DATE || c == CC_TIMESTAMP || c == CC_TIMESTAMPTZ;
}

int newer_resolve(struct plan *p, const char *file, int64_t cutoff, bool counts, struct tally_err *err)
{
	const struct spec_newer *nw = &p->check->newer;
	struct spec_pos at;

	p->newer_col = -1;
	if (!nw->column)
		return 0;
	at = nw->pos;
	if (p->multiset)
		return err_set(err, ERR_SPEC, "%s:%d:%d: ignore_newer_than decides per key, and match: multiset has no "
		               "key: remove one of them", file, at.line, at.col);
	if (counts)
		return err_set(err, ERR_SPEC, "%s:%d:%d: ignore_newer_than needs the rows, and --mode counts reads "
		               "none: run this check in --mode stream", file, at.line, at.col);
	at = nw->column_pos;
	for (size_t j = 0; j < p->ncmp; j++) {
		const struct plan_col *c = &p->cmp[j];

		if (strcmp(plan_colname(p, c, SIDE_SOURCE), nw->column) != 0 &&
		    strcmp(plan_colname(p, c, SIDE_TARGET), nw->column) != 0)
			continue;
		if (!is_time_class(c->canon[0].cls))
			return err_set(err, ERR_SPEC, "%s:%d:%d: ignore_newer_than: column '%s' is compared as %s, not as "
			               "a date or a timestamp", file, at.line, at.col, nw->column,
			               cclass_name(c->canon[0].cls));
		p->newer_col = (long)j;
		p->newer_cutoff = cutoff;
		return 0;
	}
	return err_set(err, ERR_SPEC, "%s:%d:%d: ignore_newer_than: column '%s' is not a compared column of "
	               "check '%s' (a key, ignored, left out of columns:, or on one side only)", file, at.line,
	               at.col, nw->column, p->check->name);
}
