/*
 * tests/unit/test_tz.c
 *   time zones: local time to UTC agrees with PostgreSQL's `timestamp AT
 *   TIME ZONE` around gaps, folds, skipped days, footer rules and local
 *   mean time; offsets at instants; fixed offsets; the cache; names that
 *   must be refused; corrupt and fuzzed TZif files fail cleanly; a footer
 *   alone answers like the full zone.
 *
 * Expected values marked "PostgreSQL 15" were taken once from the
 * PostgreSQL 15.18 server of this sandbox (Debian, system tzdata), with
 * TimeZone=UTC: `SELECT 'local'::timestamp AT TIME ZONE 'zone'` for local
 * times, and `extract(epoch from (t AT TIME ZONE z)) - extract(epoch from
 * t)` for the offset at a timestamptz t. The synthetic footers were given
 * to PostgreSQL as POSIX TZ strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../engine/base/civil.h"
#include "../../engine/base/buf.h"
#include "../../engine/canon.h"
#include "../../engine/tz.h"

#define USEC_PER_SEC INT64_C(1000000)

static char tmpdir[256];

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" -> microseconds since 2000-01-01. */
static int64_t ts(const char *s)
{
	int y, mo, d, h, mi, sec, n = 0;
	int64_t us = 0, scale = 100000;

	if (sscanf(s, "%d-%d-%d %d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		fail_msg("bad test timestamp '%s'", s);
	if (s[n] == '.')
		for (const char *p = s + n + 1; *p; p++, scale /= 10)
			us += (*p - '0') * scale;
	return civil_to_days(y, (unsigned)mo, (unsigned)d) * 86400 * USEC_PER_SEC +
	       ((int64_t)h * 3600 + mi * 60 + sec) * USEC_PER_SEC + us;
}

static void fmt_ts(char *out, size_t cap, int64_t us)
{
	int64_t days = us >= 0 ? us / (86400 * USEC_PER_SEC) : -((-us - 1) / (86400 * USEC_PER_SEC)) - 1;
	int64_t rest = us - days * 86400 * USEC_PER_SEC, y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	snprintf(out, cap, "%04lld-%02u-%02u %02lld:%02lld:%02lld.%06lld", (long long)y, m, d,
	         (long long)(rest / 3600000000), (long long)(rest / 60000000 % 60),
	         (long long)(rest / USEC_PER_SEC % 60), (long long)(rest % USEC_PER_SEC));
}

static const struct tz *zone(const char *name)
{
	const struct tz *z = NULL;
	struct tally_err err;

	if (tz_get(name, &z, &err) != 0)
		fail_msg("tz_get('%s'): %s (%s)", name, err.msg, err.detail);
	assert_non_null(z);
	assert_string_equal(tz_name(z), name);
	return z;
}

struct l2u {
	const char *zone;
	const char *local;
	const char *utc;
};

static void check_l2u(const struct l2u *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t got = tz_local_to_utc(zone(c[i].zone), ts(c[i].local));
		char buf[64];

		if (got != ts(c[i].utc)) {
			fmt_ts(buf, sizeof(buf), got);
			fail_msg("%s '%s': got %s, want %s", c[i].zone, c[i].local, buf, c[i].utc);
		}
	}
}

struct off {
	const char *zone;
	const char *utc;
	int32_t offset;
};

static void check_offsets(const struct off *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int32_t got = tz_offset_at(zone(c[i].zone), ts(c[i].utc));

		if (got != c[i].offset)
			fail_msg("%s at '%s' UTC: got %d, want %d", c[i].zone, c[i].utc, got, c[i].offset);
	}
}

/* ---- TZif files written by the tests ------------------------------------ */

struct ttype_spec {
	int32_t utoff;
	uint8_t isdst;
};

static void put32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	buf_add(b, p, 4);
}

static void put64(struct buf *b, int64_t v)
{
	put32(b, (uint32_t)((uint64_t)v >> 32));
	put32(b, (uint32_t)v);
}

static void put_header(struct buf *b, char version, uint32_t timecnt, uint32_t typecnt, uint32_t charcnt)
{
	buf_add(b, "TZif", 4);
	buf_addch(b, version);
	buf_add(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
	put32(b, 0);            /* isutcnt */
	put32(b, 0);            /* isstdcnt */
	put32(b, 0);            /* leapcnt */
	put32(b, timecnt);
	put32(b, typecnt);
	put32(b, charcnt);
}

/*
 * A TZif file: version '\0' (32-bit data only) or '2'..'4' (a minimal
 * 32-bit block, then the 64-bit data and the footer). Transition times
 * are Unix seconds; every type's designation is "XXX".
 */
static void tzif(struct buf *b, char version, const int64_t *at, const uint8_t *idx, size_t ntrans,
                 const struct ttype_spec *types, size_t ntype, const char *footer)
{
	unsigned timesize = version == '\0' ? 4 : 8;

	buf_reset(b);
	if (version != '\0') {
		put_header(b, version, 0, 1, 4);
		put32(b, 0);
		buf_add(b, "\0\0XXX\0", 6);
	}
	put_header(b, version, (uint32_t)ntrans, (uint32_t)ntype, 4);
	for (size_t i = 0; i < ntrans; i++) {
		if (timesize == 8)
			put64(b, at[i]);
		else
			put32(b, (uint32_t)(int32_t)at[i]);
	}
	if (ntrans)
		buf_add(b, idx, ntrans);
	for (size_t i = 0; i < ntype; i++) {
		put32(b, (uint32_t)types[i].utoff);
		buf_addch(b, (char)types[i].isdst);
		buf_addch(b, 0);
	}
	buf_add(b, "XXX\0", 4);
	if (version != '\0')
		buf_addf(b, "\n%s\n", footer);
}

/* Writes data under tmpdir (creating one level of directory) and points TZDIR there. */
static void write_zone(const char *name, const void *data, size_t len)
{
	char path[512];
	char *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0700);
	*slash = '/';
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(setenv("TZDIR", tmpdir, 1), 0);
}

static void footer_zone(const char *name, const char *footer)
{
	struct ttype_spec t = { 0, 0 };
	struct buf b = BUF_INIT;

	tzif(&b, '2', NULL, NULL, 0, &t, 1, footer);
	write_zone(name, b.data, b.len);
	buf_release(&b);
}

static void expect_bad_file(const char *name, const void *data, size_t len)
{
	const struct tz *z = (const struct tz *)&z;
	struct tally_err err;
	char want[600];

	write_zone(name, data, len);
	snprintf(want, sizeof(want), "time zone file '%s/%s' is not a valid TZif file", tmpdir, name);
	assert_int_equal(tz_get(name, &z, &err), -1);
	assert_null(z);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_string_equal(err.msg, want);
	assert_true(err.detail[0] != '\0');
}

/* ---- real zones against PostgreSQL -------------------------------------- */

static void test_postgres_cases(void **state)
{
	static const struct l2u c[] = {
		/* PostgreSQL 15, given in the task. */
		{ "Europe/Berlin", "2024-10-27 02:30:00", "2024-10-27 01:30:00" },     /* fold: after */
		{ "Europe/Berlin", "2024-03-31 02:30:00", "2024-03-31 01:30:00" },     /* gap: before */
		{ "America/New_York", "2024-11-03 01:30:00", "2024-11-03 06:30:00" },
		{ "America/New_York", "2024-03-10 02:30:00", "2024-03-10 07:30:00" },
		{ "Europe/Berlin", "2090-07-01 12:00:00", "2090-07-01 10:00:00" },     /* footer */
		{ "Europe/Berlin", "1800-01-01 00:00:00", "1799-12-31 23:06:32" },     /* LMT */
	};

	(void)state;
	unsetenv("TZDIR");
	check_l2u(c, sizeof(c) / sizeof(c[0]));
}

static void test_europe_berlin(void **state)
{
	/* PostgreSQL 15. */
	static const struct l2u c[] = {
		{ "Europe/Berlin", "2024-03-31 01:59:59", "2024-03-31 00:59:59" },
		{ "Europe/Berlin", "2024-03-31 03:00:00", "2024-03-31 01:00:00" },
		{ "Europe/Berlin", "2024-10-27 01:59:59", "2024-10-26 23:59:59" },
		{ "Europe/Berlin", "2024-10-27 03:00:00", "2024-10-27 02:00:00" },
		{ "Europe/Berlin", "2024-03-31 02:30:00.5", "2024-03-31 01:30:00.5" },
		{ "Europe/Berlin", "2090-03-26 02:30:00", "2090-03-26 01:30:00" },     /* footer gap */
		{ "Europe/Berlin", "2090-10-29 02:30:00", "2090-10-29 01:30:00" },     /* footer fold */
		{ "Europe/Berlin", "2090-01-15 12:00:00", "2090-01-15 11:00:00" },
		{ "Europe/Berlin", "1893-04-01 00:03:00", "1893-03-31 23:09:32" },     /* LMT -> CET gap */
	};

	(void)state;
	unsetenv("TZDIR");
	check_l2u(c, sizeof(c) / sizeof(c[0]));
}

static void test_america_new_york(void **state)
{
	/* PostgreSQL 15. */
	static const struct l2u c[] = {
		{ "America/New_York", "2024-11-03 00:59:59", "2024-11-03 04:59:59" },
		{ "America/New_York", "2024-11-03 02:00:00", "2024-11-03 07:00:00" },
		{ "America/New_York", "2024-03-10 01:59:59", "2024-03-10 06:59:59" },
		{ "America/New_York", "2024-03-10 03:00:00", "2024-03-10 07:00:00" },
		{ "America/New_York", "2100-07-01 12:00:00", "2100-07-01 16:00:00" },
		{ "America/New_York", "2100-12-01 12:00:00", "2100-12-01 17:00:00" },
		{ "America/New_York", "2100-03-14 02:30:00", "2100-03-14 07:30:00" },
		{ "America/New_York", "2100-11-07 01:30:00", "2100-11-07 06:30:00" },
		{ "America/New_York", "1850-06-01 12:00:00", "1850-06-01 16:56:02" },
	};

	(void)state;
	unsetenv("TZDIR");
	check_l2u(c, sizeof(c) / sizeof(c[0]));
}

static void test_australia_sydney(void **state)
{
	/* PostgreSQL 15: DST from October to April, over New Year. */
	static const struct l2u c[] = {
		{ "Australia/Sydney", "2024-04-07 02:30:00", "2024-04-06 16:30:00" },  /* fold */
		{ "Australia/Sydney", "2024-10-06 02:30:00", "2024-10-05 16:30:00" },  /* gap */
		{ "Australia/Sydney", "2024-01-15 12:00:00", "2024-01-15 01:00:00" },
		{ "Australia/Sydney", "2024-07-15 12:00:00", "2024-07-15 02:00:00" },
		{ "Australia/Sydney", "2090-01-15 12:00:00", "2090-01-15 01:00:00" },
		{ "Australia/Sydney", "2090-07-15 12:00:00", "2090-07-15 02:00:00" },
		{ "Australia/Sydney", "2090-04-02 02:30:00", "2090-04-01 16:30:00" },
		{ "Australia/Sydney", "2090-10-01 02:30:00", "2090-09-30 16:30:00" },
		{ "Australia/Sydney", "1850-06-01 12:00:00", "1850-06-01 01:55:08" },
	};

	(void)state;
	unsetenv("TZDIR");
	check_l2u(c, sizeof(c) / sizeof(c[0]));
}

static void test_half_hour_zones(void **state)
{
	/* PostgreSQL 15. */
	static const struct l2u c[] = {
		{ "Asia/Kolkata", "2024-06-01 12:00:00", "2024-06-01 06:30:00" },
		{ "Asia/Kolkata", "2090-06-01 12:00:00", "2090-06-01 06:30:00" },
		{ "Asia/Kolkata", "1850-06-01 12:00:00", "1850-06-01 06:06:32" },
		{ "Asia/Kolkata", "1943-06-01 12:00:00", "1943-06-01 05:30:00" },      /* war time +06:30 */
		{ "America/St_Johns", "2024-03-10 02:30:00", "2024-03-10 06:00:00" },
		{ "America/St_Johns", "2024-11-03 01:30:00", "2024-11-03 05:00:00" },
		{ "America/St_Johns", "2024-07-01 12:00:00", "2024-07-01 14:30:00" },
		{ "America/St_Johns", "2024-01-01 12:00:00", "2024-01-01 15:30:00" },
		{ "America/St_Johns", "2090-07-01 12:00:00", "2090-07-01 14:30:00" },
	};

	(void)state;
	unsetenv("TZDIR");
	check_l2u(c, sizeof(c) / sizeof(c[0]));
}

static void test_skipped_day_and_moscow(void **state)
{
	/* PostgreSQL 15. */
	static const struct l2u c[] = {
		/* Samoa moved west of the date line: 2011-12-30 did not exist. */
		{ "Pacific/Apia", "2011-12-29 12:00:00", "2011-12-29 22:00:00" },
		{ "Pacific/Apia", "2011-12-29 23:59:59", "2011-12-30 09:59:59" },
		{ "Pacific/Apia", "2011-12-30 12:00:00", "2011-12-30 22:00:00" },
		{ "Pacific/Apia", "2011-12-31 00:00:00", "2011-12-30 10:00:00" },
		/* Moscow, 2014-10-26: +04 to +03, standard time on both sides. */
		{ "Europe/Moscow", "2014-10-26 00:59:59", "2014-10-25 20:59:59" },
		{ "Europe/Moscow", "2014-10-26 01:30:00", "2014-10-25 22:30:00" },
		{ "Europe/Moscow", "2014-10-26 02:00:00", "2014-10-25 23:00:00" },
		{ "Europe/Moscow", "2014-07-01 12:00:00", "2014-07-01 08:00:00" },
		{ "Europe/Moscow", "2015-01-01 12:00:00", "2015-01-01 09:00:00" },
	};

	(void)state;
	unsetenv("TZDIR");
	check_l2u(c, sizeof(c) / sizeof(c[0]));
}

static void test_offset_at(void **state)
{
	/* PostgreSQL 15. */
	static const struct off c[] = {
		{ "Europe/Berlin", "2024-07-01 00:00:00", 7200 },
		{ "Europe/Berlin", "2024-03-31 00:59:59.999999", 3600 },
		{ "Europe/Berlin", "2024-03-31 01:00:00", 7200 },
		/* Before 2000: negative microseconds, floor division. */
		{ "Europe/Berlin", "1999-10-31 00:59:59.999999", 7200 },
		{ "Europe/Berlin", "1999-10-31 01:00:00", 3600 },
		{ "Europe/Berlin", "1999-12-31 23:59:59.5", 3600 },
		{ "Europe/Berlin", "2090-07-01 00:00:00", 7200 },
		{ "Europe/Berlin", "1800-01-01 00:00:00", 3208 },
		{ "Australia/Sydney", "2024-04-06 15:59:59", 39600 },
		{ "Australia/Sydney", "2024-04-06 16:00:00", 36000 },
		{ "America/St_Johns", "2024-07-01 00:00:00", -9000 },
		{ "Asia/Kolkata", "2024-07-01 00:00:00", 19800 },
		{ "Pacific/Apia", "2011-12-30 09:59:59", -36000 },
		{ "Pacific/Apia", "2011-12-30 10:00:00", 50400 },
		{ "America/New_York", "2200-07-01 00:00:00", -14400 },
	};

	(void)state;
	unsetenv("TZDIR");
	check_offsets(c, sizeof(c) / sizeof(c[0]));
	/* The last microsecond before the 1999 change, written out. */
	assert_int_equal(tz_offset_at(zone("Europe/Berlin"), ts("1999-10-31 01:00:00") - 1), 7200);
}

static void test_extremes_do_not_overflow(void **state)
{
	const struct tz *z;

	(void)state;
	unsetenv("TZDIR");
	z = zone("America/New_York");
	assert_int_equal(tz_offset_at(z, INT64_MIN), -17762);
	assert_int_equal(tz_offset_at(z, INT64_MAX), -18000);
	assert_int_equal(tz_local_to_utc(z, INT64_MAX), INT64_MAX);
	assert_int_equal(tz_local_to_utc(z, INT64_MIN), INT64_MIN + 17762 * USEC_PER_SEC);
}

/* ---- fixed offsets, names, cache ---------------------------------------- */

static void test_fixed_offsets(void **state)
{
	const struct tz *z;

	(void)state;
	/* None of these needs a file: TZDIR points at a directory without "UTC". */
	assert_int_equal(setenv("TZDIR", tmpdir, 1), 0);
	z = zone("+02:00");
	assert_int_equal(tz_offset_at(z, ts("2024-07-01 00:00:00")), 7200);
	assert_int_equal(tz_local_to_utc(z, ts("2024-01-01 00:00:00")), ts("2023-12-31 22:00:00"));
	z = zone("-05:30");
	assert_int_equal(tz_offset_at(z, ts("1900-01-01 00:00:00")), -19800);
	assert_int_equal(tz_local_to_utc(z, ts("2024-01-01 12:00:00")), ts("2024-01-01 17:30:00"));
	z = zone("+15:59");
	assert_int_equal(tz_offset_at(z, 0), 15 * 3600 + 59 * 60);
	z = zone("-00:00");
	assert_int_equal(tz_offset_at(z, 0), 0);
	z = zone("UTC");
	assert_int_equal(tz_offset_at(z, ts("2024-07-01 00:00:00")), 0);
	assert_int_equal(tz_local_to_utc(z, ts("2024-07-01 00:00:00")), ts("2024-07-01 00:00:00"));
	assert_int_equal(tz_local_to_utc(z, -1), -1);
}

struct thread_arg {
	const struct tz *z;
	int rc;
};

static void *get_paris(void *p)
{
	struct thread_arg *a = p;
	struct tally_err err;

	a->rc = tz_get("Europe/Paris", &a->z, &err);
	return NULL;
}

static void test_cache(void **state)
{
	pthread_t th[8];
	struct thread_arg arg[8];
	const struct tz *a, *b;

	(void)state;
	unsetenv("TZDIR");
	a = zone("Europe/Berlin");
	b = zone("Europe/Berlin");
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, zone("Europe/Moscow"));
	assert_ptr_equal(zone("+02:00"), zone("+02:00"));
	assert_ptr_equal(zone("UTC"), zone("UTC"));
	/* Threads racing for a zone not loaded yet all get the same one. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, get_paris, &arg[i]), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(arg[i].rc, 0);
		assert_ptr_equal(arg[i].z, arg[0].z);
	}
	assert_ptr_equal(arg[0].z, zone("Europe/Paris"));
}

static void test_invalid_names(void **state)
{
	static const char *const bad[] = {
		"../etc/passwd", "/etc/localtime", "Europe/../Berlin", "", "+25:00", "+02:60",
		"Europe//Berlin", "Europe/", "Europe/Berlin ", "Europe/Berlin\n", "Europe\\Berlin",
		"Europe/Berlin.gz", "Foo/Bar", "Europe", "Europe/Berlin/x",
	};
	char longname[300];
	const struct tz *z;
	struct tally_err err;

	(void)state;
	unsetenv("TZDIR");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		z = (const struct tz *)&z;
		if (tz_get(bad[i], &z, &err) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_null(z);
		assert_int_equal(err.kind, ERR_USAGE);
	}
	assert_int_equal(tz_get("Foo/Bar", &z, &err), -1);
	assert_string_equal(err.msg, "unknown time zone 'Foo/Bar'");
	assert_non_null(strstr(err.detail, "'/usr/share/zoneinfo'"));
	assert_int_equal(tz_get("../etc/passwd", &z, &err), -1);
	assert_string_equal(err.msg, "invalid time zone name '../etc/passwd'");
	assert_int_equal(tz_get("+25:00", &z, &err), -1);
	assert_string_equal(err.msg, "invalid time zone offset '+25:00'");
	/* A directory is not a zone. */
	assert_int_equal(tz_get("Europe", &z, &err), -1);
	assert_string_equal(err.msg, "unknown time zone 'Europe'");
	/* 255 characters are allowed (and absent), 256 are not. */
	memset(longname, 'a', sizeof(longname));
	longname[255] = '\0';
	assert_int_equal(tz_get(longname, &z, &err), -1);
	assert_non_null(strstr(err.msg, "unknown time zone"));
	longname[255] = 'a';
	longname[256] = '\0';
	assert_int_equal(tz_get(longname, &z, &err), -1);
	assert_non_null(strstr(err.msg, "invalid time zone name"));
	/* The detail names TZDIR's directory when it is set. */
	assert_int_equal(setenv("TZDIR", tmpdir, 1), 0);
	assert_int_equal(tz_get("Foo/Bar", &z, &err), -1);
	assert_non_null(strstr(err.detail, tmpdir));
}

/* ---- TZif files ---------------------------------------------------------- */

static void test_corrupt_files(void **state)
{
	static const struct ttype_spec two[] = { { 3600, 0 }, { 7200, 1 } };
	static const int64_t at[] = { 1000, 2000 };
	static const int64_t at_down[] = { 2000, 1000 };
	static const uint8_t idx[] = { 1, 0 };
	static const uint8_t idx_bad[] = { 1, 2 };
	static const struct ttype_spec bad_off[] = { { 3600, 0 }, { 200000, 1 } };
	static const struct ttype_spec bad_dst[] = { { 3600, 0 }, { 7200, 2 } };
	struct buf b = BUF_INIT;
	size_t good_len;

	(void)state;
	expect_bad_file("bad/empty", "", 0);
	expect_bad_file("bad/text", "Europe/Berlin\n", 14);
	expect_bad_file("bad/short", "TZif2\0\0\0", 8);
	tzif(&b, '2', at, idx, 2, two, 2, "CET-1CEST,M3.5.0,M10.5.0/3");
	good_len = b.len;
	expect_bad_file("bad/truncated", b.data, good_len - 10);
	expect_bad_file("bad/no-footer", b.data, good_len - 1);
	b.data[4] = '7';
	expect_bad_file("bad/version", b.data, good_len);
	tzif(&b, '2', at, idx_bad, 2, two, 2, "");
	expect_bad_file("bad/index", b.data, b.len);
	tzif(&b, '2', at_down, idx, 2, two, 2, "");
	expect_bad_file("bad/order", b.data, b.len);
	tzif(&b, '2', at, idx, 2, bad_off, 2, "");
	expect_bad_file("bad/utoff", b.data, b.len);
	tzif(&b, '2', at, idx, 2, bad_dst, 2, "");
	expect_bad_file("bad/isdst", b.data, b.len);
	tzif(&b, '2', NULL, NULL, 0, two, 0, "");
	expect_bad_file("bad/notypes", b.data, b.len);
	tzif(&b, '2', at, idx, 2, two, 2, "CET-1CEST,M3.5.0");
	expect_bad_file("bad/footer1", b.data, b.len);
	tzif(&b, '2', at, idx, 2, two, 2, "CET-1CEST,M13.5.0,M10.5.0");
	expect_bad_file("bad/footer2", b.data, b.len);
	tzif(&b, '2', at, idx, 2, two, 2, "CET-1CEST,M3.5.0/168,M10.5.0");
	expect_bad_file("bad/footer3", b.data, b.len);
	tzif(&b, '2', at, idx, 2, two, 2, "<CET-1");
	expect_bad_file("bad/footer4", b.data, b.len);
	tzif(&b, '2', at, idx, 2, two, 2, "CET");
	expect_bad_file("bad/footer5", b.data, b.len);
	/* Counts far beyond the file: the 64-bit block claims 2^32-1 transitions. */
	tzif(&b, '2', at, idx, 2, two, 2, "");
	memset(b.data + 44 + 10 + 32, 0xff, 4);
	expect_bad_file("bad/counts", b.data, b.len);
	buf_release(&b);
}

static void test_version1_file(void **state)
{
	/* 32-bit data only, no footer: the last type holds for ever. */
	static const struct ttype_spec t[] = { { 3000, 0 }, { 3600, 0 }, { 7200, 1 } };
	/* 2000-01-01 00:00 and 2000-06-29 00:00 UTC. */
	static const int64_t at[] = { 946684800, 946684800 + 180 * 86400 };
	static const uint8_t idx[] = { 2, 1 };
	struct buf b = BUF_INIT;
	const struct tz *z;

	(void)state;
	tzif(&b, '\0', at, idx, 2, t, 3, "");
	write_zone("v1/zone", b.data, b.len);
	buf_release(&b);
	z = zone("v1/zone");
	assert_int_equal(tz_offset_at(z, -1), 3000);
	assert_int_equal(tz_offset_at(z, 0), 7200);
	assert_int_equal(tz_offset_at(z, ts("2000-06-29 00:00:00") - 1), 7200);
	assert_int_equal(tz_offset_at(z, ts("2000-06-29 00:00:00")), 3600);
	assert_int_equal(tz_offset_at(z, ts("2090-07-01 00:00:00")), 3600);
	/* 00:50 jumps to 02:00: 01:00 does not exist and is read with the earlier offset. */
	assert_int_equal(tz_local_to_utc(z, ts("2000-01-01 01:00:00")), ts("2000-01-01 00:10:00"));
	/* 02:00 goes back to 01:00: 01:30 occurs twice and is read with the later offset. */
	assert_int_equal(tz_local_to_utc(z, ts("2000-06-29 01:30:00")), ts("2000-06-29 00:30:00"));
	assert_int_equal(tz_local_to_utc(z, ts("2050-01-01 12:00:00")), ts("2050-01-01 11:00:00"));
	assert_int_equal(tz_local_to_utc(z, ts("1999-12-31 12:00:00")), ts("1999-12-31 11:10:00"));
}

static void test_footer_only_matches_berlin(void **state)
{
	const struct tz *berlin, *rule;
	int64_t start = ts("2030-01-01 00:00:00"), end = ts("2031-01-01 00:00:00");
	int64_t step = 15 * 60 * USEC_PER_SEC;

	(void)state;
	unsetenv("TZDIR");
	berlin = zone("Europe/Berlin");
	footer_zone("footer/cet", "CET-1CEST,M3.5.0,M10.5.0/3");
	rule = zone("footer/cet");
	for (int64_t t = start; t < end; t += step) {
		if (tz_local_to_utc(rule, t) != tz_local_to_utc(berlin, t))
			fail_msg("local %lld: footer %lld, Berlin %lld", (long long)t,
			         (long long)tz_local_to_utc(rule, t), (long long)tz_local_to_utc(berlin, t));
		if (tz_offset_at(rule, t) != tz_offset_at(berlin, t))
			fail_msg("instant %lld: footer %d, Berlin %d", (long long)t,
			         tz_offset_at(rule, t), tz_offset_at(berlin, t));
	}
	/* The changes themselves, to the second. */
	assert_int_equal(tz_offset_at(rule, ts("2030-03-31 00:59:59")), 3600);
	assert_int_equal(tz_offset_at(rule, ts("2030-03-31 01:00:00")), 7200);
	assert_int_equal(tz_offset_at(rule, ts("2030-10-27 00:59:59")), 7200);
	assert_int_equal(tz_offset_at(rule, ts("2030-10-27 01:00:00")), 3600);
	assert_int_equal(tz_local_to_utc(rule, ts("2030-03-31 02:30:00")), ts("2030-03-31 01:30:00"));
	assert_int_equal(tz_local_to_utc(rule, ts("2030-10-27 02:30:00")), ts("2030-10-27 01:30:00"));
}

static void test_footer_rules(void **state)
{
	/* Expected values: PostgreSQL 15, given each footer as a POSIX TZ string. */
	static const struct {
		const char *footer;
		const char *local;
		const char *utc;
	} c[] = {
		/* A rule time beyond 24h: Thursday 26:00 is Friday 02:00. */
		{ "IST-2IDT,M3.4.4/26,M10.5.0", "2024-03-29 01:59:59", "2024-03-28 23:59:59" },
		{ "IST-2IDT,M3.4.4/26,M10.5.0", "2024-03-29 02:30:00", "2024-03-29 00:30:00" },
		{ "IST-2IDT,M3.4.4/26,M10.5.0", "2024-10-27 01:30:00", "2024-10-26 23:30:00" },
		{ "IST-2IDT,M3.4.4/26,M10.5.0", "2024-07-01 12:00:00", "2024-07-01 09:00:00" },
		/* Negative rule times, quoted names. */
		{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2024-03-30 22:30:00", "2024-03-31 00:30:00" },
		{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2024-10-26 23:30:00", "2024-10-27 01:30:00" },
		{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2024-07-01 12:00:00", "2024-07-01 13:00:00" },
		{ "<-03>3<-02>,M3.2.0/-2:30:15,M11.1.0/-0:59", "2024-03-09 21:45:00", "2024-03-10 00:45:00" },
		{ "<-03>3<-02>,M3.2.0/-2:30:15,M11.1.0/-0:59", "2024-11-02 22:30:00", "2024-11-03 01:30:00" },
		/* Southern hemisphere: start after end in the year. */
		{ "AEST-10AEDT,M10.1.0,M4.1.0/3", "2025-04-06 02:30:00", "2025-04-05 16:30:00" },
		{ "AEST-10AEDT,M10.1.0,M4.1.0/3", "2025-10-05 02:30:00", "2025-10-04 16:30:00" },
		{ "AEST-10AEDT,M10.1.0,M4.1.0/3", "2025-01-01 00:00:00", "2024-12-31 13:00:00" },
		{ "AEST-10AEDT,M10.1.0,M4.1.0/3", "2025-12-31 23:00:00", "2025-12-31 12:00:00" },
		{ "AEST-10AEDT,M10.1.0,M4.1.0/3", "2025-07-01 12:00:00", "2025-07-01 02:00:00" },
		{ "NZST-12NZDT,M9.5.0,M4.1.0/3", "2024-04-07 02:30:00", "2024-04-06 14:30:00" },
		{ "NZST-12NZDT,M9.5.0,M4.1.0/3", "2024-09-29 02:30:00", "2024-09-28 14:30:00" },
		{ "NZST-12NZDT,M9.5.0,M4.1.0/3", "2024-01-01 12:00:00", "2023-12-31 23:00:00" },
		/* Jn never counts February 29; n does. */
		{ "XXX3YYY,J60/2,J300/2", "2024-03-01 02:30:00", "2024-03-01 05:30:00" },
		{ "XXX3YYY,J60/2,J300/2", "2023-03-01 02:30:00", "2023-03-01 05:30:00" },
		{ "XXX3YYY,J60/2,J300/2", "2024-10-27 01:30:00", "2024-10-27 04:30:00" },
		{ "XXX3YYY,J60/2,J300/2", "2024-02-29 12:00:00", "2024-02-29 15:00:00" },
		{ "XXX3YYY,59/2,299/2", "2024-02-29 02:30:00", "2024-02-29 05:30:00" },
		{ "XXX3YYY,59/2,299/2", "2023-03-01 02:30:00", "2023-03-01 05:30:00" },
		{ "XXX3YYY,59/2,299/2", "2024-10-26 01:30:00", "2024-10-26 04:30:00" },
		{ "XXX3YYY,59/2,299/2", "2023-10-27 01:30:00", "2023-10-27 04:30:00" },
		/* No DST; explicit signed DST offset; the extreme rule times of RFC 8536. */
		{ "<+0530>-5:30", "2024-06-01 12:00:00", "2024-06-01 06:30:00" },
		{ "AAA+3BBB+1:30,M4.1.0/167,M9.5.6/-167", "2024-04-13 22:59:59", "2024-04-14 01:59:59" },
		{ "AAA+3BBB+1:30,M4.1.0/167,M9.5.6/-167", "2024-04-14 00:00:00", "2024-04-14 03:00:00" },
		{ "AAA+3BBB+1:30,M4.1.0/167,M9.5.6/-167", "2024-09-21 03:00:00", "2024-09-21 06:00:00" },
		{ "AAA+3BBB+1:30,M4.1.0/167,M9.5.6/-167", "2024-09-21 05:00:00", "2024-09-21 08:00:00" },
		/* DST without a rule: tzcode's default, the US rules. */
		{ "AAA8BBB", "2024-03-10 02:30:00", "2024-03-10 10:30:00" },
		{ "AAA8BBB", "2024-11-03 01:30:00", "2024-11-03 09:30:00" },
		{ "AAA8BBB", "2024-07-01 12:00:00", "2024-07-01 19:00:00" },
	};
	char name[64];
	const char *prev = "";
	int n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int64_t got;
		char buf[64];

		/* One file per footer, under a name of its own: zones are cached by name. */
		if (strcmp(prev, c[i].footer) != 0) {
			snprintf(name, sizeof(name), "rule/%d", n++);
			footer_zone(name, c[i].footer);
			prev = c[i].footer;
		}
		got = tz_local_to_utc(zone(name), ts(c[i].local));
		if (got != ts(c[i].utc)) {
			fmt_ts(buf, sizeof(buf), got);
			fail_msg("'%s' '%s': got %s, want %s", c[i].footer, c[i].local, buf, c[i].utc);
		}
	}

	/*
	 * Daylight time all year (RFC 8536, 3.3.1): -04:00 throughout, as
	 * PostgreSQL reports for instants. (Its local-time reading differs
	 * for the first day of each year, where its table holds two
	 * transitions at one instant; not pinned here.)
	 */
	footer_zone("rule/perpetual", "EST5EDT,0/0,J365/25");
	assert_int_equal(tz_offset_at(zone("rule/perpetual"), ts("2024-01-01 05:00:00")), -14400);
	assert_int_equal(tz_offset_at(zone("rule/perpetual"), ts("2024-07-01 00:00:00")), -14400);
	assert_int_equal(tz_offset_at(zone("rule/perpetual"), ts("2023-12-31 23:00:00")), -14400);
	assert_int_equal(tz_local_to_utc(zone("rule/perpetual"), ts("2024-07-01 12:00:00")),
	                 ts("2024-07-01 16:00:00"));
}

/* A deterministic xorshift, so that a failure can be replayed. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state >> 32);
}

static void test_fuzzed_files(void **state)
{
	static const int64_t probes[] = {
		INT64_MIN, -INT64_C(9000000000000000000), -INT64_C(6311433600000000), -1, 0, 1,
		INT64_C(757378800000000), INT64_C(2840140800000000), INT64_MAX,
	};
	FILE *fp = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
	uint8_t orig[8192], data[8192];
	size_t len;
	int ok = 0, refused = 0;

	(void)state;
	assert_non_null(fp);
	len = fread(orig, 1, sizeof(orig), fp);
	fclose(fp);
	assert_true(len > 100 && len < sizeof(orig));
	for (int i = 0; i < 400; i++) {
		size_t n = len;
		unsigned mode = rnd() % 3, flips = 1 + rnd() % 4;
		const struct tz *z;
		struct tally_err err;
		char name[32];

		memcpy(data, orig, len);
		if (mode != 1)
			n = rnd() % (len + 1);
		if (mode != 0 && n > 0)
			for (unsigned k = 0; k < flips; k++)
				data[rnd() % n] ^= (uint8_t)(1 + rnd() % 255);
		snprintf(name, sizeof(name), "fuzz/%03d", i);
		write_zone(name, data, n);
		if (tz_get(name, &z, &err) != 0) {
			assert_int_equal(err.kind, ERR_USAGE);
			assert_non_null(strstr(err.msg, "is not a valid TZif file"));
			refused++;
			continue;
		}
		ok++;
		for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
			int32_t off = tz_offset_at(z, probes[p]);

			assert_true(off >= -93599 && off <= 93599);
			(void)tz_local_to_utc(z, probes[p]);
		}
		for (int64_t t = ts("1890-01-01 00:00:00"); t < ts("2100-01-01 00:00:00"); t += INT64_C(86400000000) * 97) {
			int32_t off = tz_offset_at(z, t);

			assert_true(off >= -93599 && off <= 93599);
			(void)tz_local_to_utc(z, t);
		}
	}
	/* The loop exercised both outcomes. */
	assert_true(ok > 0);
	assert_true(refused > 0);
}

/* ---- setup --------------------------------------------------------------- */

/* Removes path and, for a directory, everything under it (no symlinks are made here). */
static int rm_tree(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char sub[1024];

	if (lstat(path, &st) != 0)
		return -1;
	if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
	}
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/tally-tz-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rm_tree(tmpdir);
}

/*
 * A system's zone (systems.NAME.timezone) reads a naive column through
 * canon_col.tz, as a column's timezone: option does: a date is its
 * midnight there, a DATETIME its local time, in gaps and folds as
 * PostgreSQL reads them (checked on a PostgreSQL 15 server:
 * '2018-11-04'::date::timestamp AT TIME ZONE 'America/Sao_Paulo' is
 * 03:00 UTC; '2019-02-16 23:30' there is 2019-02-17 02:30 UTC).
 */
static char *tz_enc(enum ltype t, const char *zname, const char *v)
{
	static char out[4][64];
	static int slot;
	struct canon_col c = canon_col_make(CC_TIMESTAMPTZ, t);
	struct buf b = BUF_INIT;
	struct tally_err err;
	char *o = out[slot++ % 4];

	if (zname)
		c.tz = zone(zname);
	if (canon_encode(&b, &c, v, strlen(v), &err) < 0)
		fail_msg("'%s': %s", v, err.msg);
	o[0] = '\0';
	for (size_t i = 0; i < b.len && 2 * i + 2 < sizeof(out[0]); i++)
		snprintf(o + 2 * i, 3, "%02x", (unsigned char)b.data[i]);
	buf_release(&b);
	return o;
}

static void test_system_zone_dates_and_datetimes(void **state)
{
	(void)state;
	/* Sao Paulo skipped midnight on 2018-11-04 (clocks forward): the offset before, -03. */
	assert_string_equal(tz_enc(LT_DATE, "America/Sao_Paulo", "2018-11-04"),
	                    tz_enc(LT_TIMESTAMPTZ, NULL, "2018-11-04 03:00:00+00"));
	assert_string_equal(tz_enc(LT_TIMESTAMP, "America/Sao_Paulo", "2018-11-04 00:00:00"),
	                    tz_enc(LT_TIMESTAMPTZ, NULL, "2018-11-04 03:00:00+00"));
	/* 2019-02-16 23:30 happened twice (clocks back at midnight): the later, -03. */
	assert_string_equal(tz_enc(LT_TIMESTAMP, "America/Sao_Paulo", "2019-02-16 23:30:00"),
	                    tz_enc(LT_TIMESTAMPTZ, NULL, "2019-02-17 02:30:00+00"));
	assert_string_equal(tz_enc(LT_DATE, "America/Sao_Paulo", "2019-02-17"),
	                    tz_enc(LT_TIMESTAMPTZ, NULL, "2019-02-17 03:00:00+00"));
	/* Berlin: an ordinary midnight in winter and in summer, a fold at 02:30. */
	assert_string_equal(tz_enc(LT_DATE, "Europe/Berlin", "2024-01-02"),
	                    tz_enc(LT_TIMESTAMPTZ, NULL, "2024-01-01 23:00:00+00"));
	assert_string_equal(tz_enc(LT_DATE, "Europe/Berlin", "2024-07-02"),
	                    tz_enc(LT_TIMESTAMPTZ, NULL, "2024-07-01 22:00:00+00"));
	assert_string_equal(tz_enc(LT_TIMESTAMP, "Europe/Berlin", "2024-10-27 02:30:00"),
	                    tz_enc(LT_TIMESTAMPTZ, NULL, "2024-10-27 01:30:00+00"));
	/* Gap in Berlin: 02:30 on 2024-03-31 never occurred: read with +01. */
	assert_string_equal(tz_enc(LT_TIMESTAMP, "Europe/Berlin", "2024-03-31 02:30:00"),
	                    tz_enc(LT_TIMESTAMPTZ, NULL, "2024-03-31 01:30:00+00"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_offsets),
		cmocka_unit_test(test_postgres_cases),
		cmocka_unit_test(test_system_zone_dates_and_datetimes),
		cmocka_unit_test(test_europe_berlin),
		cmocka_unit_test(test_america_new_york),
		cmocka_unit_test(test_australia_sydney),
		cmocka_unit_test(test_half_hour_zones),
		cmocka_unit_test(test_skipped_day_and_moscow),
		cmocka_unit_test(test_offset_at),
		cmocka_unit_test(test_extremes_do_not_overflow),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_corrupt_files),
		cmocka_unit_test(test_version1_file),
		cmocka_unit_test(test_footer_only_matches_berlin),
		cmocka_unit_test(test_footer_rules),
		cmocka_unit_test(test_fuzzed_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
