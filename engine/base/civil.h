/*
 * engine/base/civil.h
 *   Base layer: the proleptic Gregorian calendar as a count of days since
 *   2000-01-01, the epoch PostgreSQL uses (so every PostgreSQL timestamp
 *   fits an int64 of microseconds). canon reads dates with it, tz finds
 *   the days of its rules, the literal writers print dates. Pure
 *   arithmetic: no I/O, no state.
 *
 * Years are astronomical: year 0 is 1 BC, year -1 is 2 BC.
 */
#ifndef TALLY_CIVIL_H
#define TALLY_CIVIL_H

#include <stdint.h>

/*
 * Days since 2000-01-01 of year y, month m (1-12), day d (1-31; a day
 * past the month's end counts on into the next). y must stay within
 * about +-2.5e16 so that the result fits.
 */
int64_t civil_to_days(int64_t y, unsigned m, unsigned d);

/* The date of `days` since 2000-01-01, for every int64 (no overflow). */
void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
