/*
 * engine/metrics.h
 *   report -> METRICS: `--metrics FILE`, how a run ended, in Prometheus'
 *   text exposition format for node_exporter's textfile collector. The
 *   file is written whole under a temporary name in FILE's directory
 *   (".NAME.XXXXXX", which the collector ignores: it reads *.prom only),
 *   synced, and renamed over FILE, so a scrape sees the previous run's
 *   metrics or this run's, never a mix.
 *
 * Every value is this run's, so every metric is a gauge (none is a
 * counter, none ends in _total): tally_run_* per run (labels spec),
 * tally_check_* per check (labels spec, check, and side or kind). A check
 * without a verdict (an error of its own, or a run that failed) has its
 * status, 2, and no counts: no series rather than a 0 nobody counted.
 * tally_run_last_success_timestamp_seconds is when a run last ended with
 * a verdict (exit status 0 or 1); a run that ends in trouble keeps the
 * value FILE held (0 when it held none).
 *
 * One run per process, so the state is the process's, as
 * tally_interrupted is: main() calls metrics_begin() when it reads
 * --metrics and metrics_end() with the exit status; in between,
 * metrics_note_spec() names the spec once it is loaded, and report_write()
 * hands over every report it writes (metrics_note_report()), the last one
 * being how the run ended. A run that ends before writing any report (a
 * bad spec, an output directory that cannot be made) still gets its run
 * metrics, exit status 2. The file is mode 0644: node_exporter reads it
 * as another user, and it holds names and counts, never a row value.
 */
#ifndef TALLY_METRICS_H
#define TALLY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct run_report;

/* One check as the metrics show it. */
struct metrics_check {
	char *name;                 /* owned */
	int status;                 /* 0 consistent, 1 differences, 2 no verdict */
	bool counted;               /* the counts below are a verdict's (status 0 or 1) */
	uint64_t rows[2];           /* read per side: source, target */
	uint64_t missing, extra, changed;
	uint64_t in_flight;         /* rows in flight (live rechecks); 0 without them */
	bool delta;                 /* new_diffs and resolved are known (a previous run, runs.h) */
	uint64_t new_diffs, resolved;
	double seconds;             /* the check's wall time */
	bool rows_only;             /* --mode counts: rows counted, no differing rows known (no differences series) */
	bool newer;                 /* the check has ignore_newer_than: skipped_newer is its count */
	uint64_t skipped_newer;     /* keys skipped as newer than the cutoff */
};

/* A run's metrics: what metrics_render() writes. */
struct metrics_run {
	char *spec;                 /* owned: the spec label */
	double started, finished;   /* Unix time, seconds */
	double last_success;        /* Unix time; 0: never */
	int exit_status;
	struct metrics_check *checks;   /* owned */
	size_t nchecks;
};

void metrics_run_release(struct metrics_run *m);

/*
 * Appends m in the text exposition format: for each metric a HELP and a
 * TYPE line, then its series; label values escaped as the format says
 * (backslash, double quote, newline).
 */
void metrics_render(struct buf *out, const struct metrics_run *m);

/* Appends s as a label value's text (without the quotes). */
void metrics_escape_label(struct buf *out, const char *s);

/*
 * Reads, in the text of an earlier metrics file, the value of
 * tally_run_last_success_timestamp_seconds for spec (any spec when spec
 * is NULL; then *label gets that series' spec label, owned by the
 * caller, when label is not NULL). Returns true when found.
 */
bool metrics_previous_success(const char *text, const char *spec, double *value, char **label);

/* ---- the process's run ------------------------------------------------ */

/*
 * --metrics FILE (borrowed: argv): the run starts now. Fails, before
 * anything is run, when FILE's directory is missing or not writable, or
 * FILE is a directory.
 */
int metrics_begin(const char *path, struct tally_err *err);

/* The spec's name, once loaded (copied). */
void metrics_note_spec(const char *name);

/* A report as written (report_write() calls it); the last one counts. No-op without --metrics. */
void metrics_note_report(const struct run_report *r);

/*
 * Writes FILE for a run that ends with status, when metrics_begin() was
 * called (but not for status 0 or 1 without a report, which is no run:
 * --help). Returns status, or 2 when FILE cannot be written (the error
 * printed on stderr).
 */
int metrics_end(int status);

/* Writes m to path atomically (temporary file, fsync, rename, directory fsync). */
int metrics_write_file(const char *path, const struct metrics_run *m, struct tally_err *err);

#endif
