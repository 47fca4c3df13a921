/*
 * engine/runs.h
 *   cli -> RUNS -> run, combine -> outdir: OUT as a series of runs. Each
 *   run (tally check, tally merge) writes into a directory of its own,
 *
 *     OUT/.lock                   flock(2)ed by the run in progress; holds
 *                                 its pid and start time
 *     OUT/<stamp>-<id>/           one run: report.json, diff, scripts, and
 *                                 while unfinished its .tally-work
 *     OUT/latest -> <stamp>-<id>  the newest run (replaced atomically)
 *     OUT/history.ndjson          one line per run that ended
 *
 *   <stamp> is the UTC start time, 20261205T071500Z, and <id> four hex
 *   digits; names sort in start order (a run in the same second as the
 *   newest takes an id above its id). Nothing here removes a run's files
 *   but --keep, which prunes the oldest finished runs, never the newest
 *   nor an unfinished one.
 *
 * A run is unfinished while its .tally-work/run.json exists and its
 * report.json is missing or says how to resume ("resume" not null): it
 * was killed, or stopped in trouble that --resume can get past. A shard
 * run keeps its work directory for tally merge but is finished.
 */
#ifndef TALLY_RUNS_H
#define TALLY_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "base/err.h"

#define RUNS_LATEST "latest"
#define RUNS_HISTORY "history.ndjson"
#define RUNS_LOCK ".lock"
#define RUNS_NAME_LEN 21            /* "20261205T071500Z-3fa2" */

struct runs {
	char *base;         /* owned: OUT */
	char *dir;          /* owned: OUT/<name>, this run's directory; NULL before runs_begin */
	char *name;         /* owned: <stamp>-<id> */
	int lockfd;         /* OUT/.lock, held until runs_close; -1 when not locked */
	bool resumed;       /* dir is an unfinished run taken up again */
};

/* ---- pure parts (unit tested) ----------------------------------------- */

/* Formats <stamp>-<id> for t (UTC) into out (at least RUNS_NAME_LEN + 1 bytes). */
void runs_format_name(char *out, size_t n, time_t t, unsigned id);

/* Is name a run directory's name, <stamp>-<id>? */
bool runs_is_name(const char *name);

/*
 * The id of a new run named with stamp (16 characters) when the run
 * directories names[] exist: want (a random 16-bit value) unless a run
 * of the same second exists, then one above the greatest of those ids,
 * so that names sort in start order. Returns -1 when none is left (65536
 * runs in one second).
 */
long runs_next_id(const char *stamp, char *const *names, size_t n, unsigned want);

/* ---- OUT ----------------------------------------------------------------- */

/*
 * Creates base (mode 0700) if missing and takes the lock: on a lock held
 * by another process, fails at once (ERR_LOCKED) naming its pid and start
 * time. Then records this process's pid and started (report_now() form).
 */
int runs_lock(struct runs *r, const char *base, const char *started, struct tally_err *err);

/*
 * Makes this run's directory, or with resume takes the newest one that
 * still has its work directory (ERR_USAGE when there is none): an
 * unfinished run, or a shard's, whose share is then assembled again (a
 * retried pod). Then points OUT/latest at it.
 */
int runs_begin(struct runs *r, bool resume, struct tally_err *err);

/*
 * The previous run of spec (by name) that has a diff file, from the
 * history: its run name and its checks as the history line has them
 * (name -> {"status", ...}), both owned by the caller. Returns 1 when
 * found, 0 when none.
 */
int runs_previous(const struct runs *r, const char *spec, char **name, json_t **checks);

/* report_write() hands over every report.json it writes; the last one of this run is its end. */
void runs_note_report(const json_t *report);

/*
 * The run ended with exit status: appends its history line (from the
 * last report noted; none when no report was written), under the lock,
 * O_APPEND, synced; then with keep > 0 prunes the oldest finished runs
 * until keep are left. Failures are printed as warnings on stderr: the
 * run's outputs stand.
 */
void runs_finish(struct runs *r, const char *spec_hash, int status, unsigned keep);

/* Releases the lock and what r holds; accepts a zeroed struct. */
void runs_close(struct runs *r);

/*
 * A directory given to tally merge or tally verify: OUT (then the run
 * OUT/latest points at) or a run directory. Owned by the caller.
 */
char *runs_resolve(const char *dir);

#endif
