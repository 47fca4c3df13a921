/*
 * engine/base/civil.c
 *   Base layer: Howard Hinnant's days_from_civil and civil_from_days,
 *   shifted to the 2000-01-01 epoch. Performs no I/O.
 */
#include "civil.h"

int64_t civil_to_days(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

/*
 * Whole 400-year eras are taken out first, so that shifting to the
 * algorithm's epoch (0000-03-01) cannot overflow: a snapshot file or a
 * damaged value may hold any int64.
 */
void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t eras = days / 146097, rest = days % 146097;
	int64_t z, era, doe, yoe, doy, mp;

	if (rest < 0) {
		rest += 146097;
		eras--;
	}
	z = rest + 719468 + 10957;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + (eras + era) * 400 + (*m <= 2);
}
