/*
 * engine/newer.h
 *   spec, plan -> NEWER -> merge: `ignore_newer_than: { column, age }`.
 *   Reads the age ("90s", "10m", "2h", "1d"), fixes the cutoff (the run's
 *   start minus the age, once per run), finds the spec's column among the
 *   plan's compared columns, and says whether one canonical value is newer
 *   than the cutoff. Performs no I/O.
 *
 * A row is newer when its column's value, as an instant, is after the
 * cutoff. The value is the canonical one (engine/canon.h): an instant
 * (timestamptz, or a naive value read through its zone) is UTC; a naive
 * timestamp without a zone is read as UTC; a date is its midnight. NULL,
 * MariaDB zero dates and -infinity are never newer; +infinity always is.
 * The merge (merge.h) skips a key when the row is newer on either side.
 */
#ifndef TALLY_NEWER_H
#define TALLY_NEWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct plan;

#define NEWER_AGE_MAX (3650LL * 86400)  /* ten years, in seconds */

/*
 * A duration: one or more digits then one unit, s, m, h or d ("90s",
 * "10m", "2h", "1d"), above zero and at most NEWER_AGE_MAX seconds.
 * Fills *seconds and returns 0; -1 (nothing filled) otherwise.
 */
int newer_parse_age(const char *s, size_t len, long long *seconds);

/*
 * The cutoff for a run started at started ("2026-12-05T23:52:25Z", as
 * report_now writes it) and age seconds, in microseconds since
 * 2000-01-01 00:00 UTC (canonical timestamps' epoch). -1 when started is
 * not in that form.
 */
int newer_cutoff(const char *started, long long age, int64_t *cutoff);

/* The cutoff as "2026-12-05T23:42:25Z" (whole seconds). */
void newer_cutoff_iso(int64_t cutoff, char out[32]);

/* Is the canonical value at p (n bytes) newer than cutoff? False for anything not a date or time. */
bool newer_value(const uint8_t *p, size_t n, int64_t cutoff);

/*
 * The compared column the check's ignore_newer_than names (by its source
 * or its target name) into p->newer_col, and p->newer_cutoff = cutoff;
 * p->newer_col stays -1 without the option. Fails with ERR_SPEC at the
 * option's position ("file:line:col: ...") when the column is not a
 * compared column, is not a date or time, when the check is match:
 * multiset, or when counts is set (--mode counts reads no row).
 */
int newer_resolve(struct plan *p, const char *file, int64_t cutoff, bool counts, struct tally_err *err);

#endif
