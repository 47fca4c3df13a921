/*
 * engine/tz.h
 *   canon -> TZ: time zones from the system's zoneinfo files (TZif,
 *   RFC 8536), to read a naive timestamp as local time in a zone and turn
 *   it into an instant. Reads a zone's file once; after that, performs no
 *   I/O.
 *
 * Zones are looked up by name ("Europe/Berlin", "America/New_York",
 * "UTC") under $TZDIR, else /usr/share/zoneinfo; a fixed offset is
 * written "+HH:MM" or "-HH:MM" (ISO 8601 sign: "+02:00" is two hours
 * east of Greenwich). A loaded zone is kept for the life of the process
 * and shared by all threads: tz_get() may be called from any thread, and
 * the zone it returns is immutable.
 *
 * Local time to UTC follows PostgreSQL's `timestamp AT TIME ZONE zone`,
 * so that tally agrees with what a PostgreSQL query would compute:
 *   - a local time that occurs twice (clocks set back) is read with the
 *     offset in force after the change;
 *   - a local time that does not exist (clocks set forward) is read with
 *     the offset in force before the change;
 *   - before the first transition of the file, the zone's first local
 *     time type (usually local mean time) applies; after the last one,
 *     the POSIX TZ rule at the end of the file.
 */
#ifndef TALLY_TZ_H
#define TALLY_TZ_H

#include <stdint.h>

#include "base/err.h"

struct tz;

/*
 * The zone called name, loaded on first use. A name with "..", a leading
 * '/', characters other than letters, digits and "/_+-", or no such TZif
 * file is refused with ERR_USAGE and a message naming it.
 */
int tz_get(const char *name, const struct tz **out, struct tally_err *err);

/* The zone's name as given to tz_get(). */
const char *tz_name(const struct tz *z);

/*
 * Microseconds since 2000-01-01 00:00 local time in z -> microseconds
 * since 2000-01-01 00:00 UTC.
 */
int64_t tz_local_to_utc(const struct tz *z, int64_t local_us);

/* The offset from UTC, in seconds east, in force at the instant utc_us. */
int32_t tz_offset_at(const struct tz *z, int64_t utc_us);

#endif
