/*
 * engine/assemble.h
 *   work -> ASSEMBLE -> outdir: a run's final outputs from its parts:
 *   diff.ndjson.zst (the parts' lines, check by check, chunk by chunk),
 *   the repair and rollback scripts (repair_assemble), and report.json.
 *   It reads only run.json and the parts, so the same code serves a
 *   finished run and tally merge of shard runs: a merged result is byte
 *   for byte what a single run writes (but for the times in it).
 */
#ifndef TALLY_ASSEMBLE_H
#define TALLY_ASSEMBLE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/err.h"
#include "outdir.h"
#include "report.h"
#include "spec.h"

struct assemble_in {
	json_t *run;                /* run.json (borrowed) */
	const char *const *dirs;    /* output directories holding the parts */
	size_t ndirs;
	size_t **chunk_dir;         /* [check][chunk]: which of dirs holds that part */
	long *recon_dir;            /* [check]: dirs index of the reconciliation part, or -1 */
	struct outdir *out;
	bool compress;
	const char *started_at;
	const char *finished_at;
	bool quiet;
	bool shard;                 /* a shard's own share: no diff file, no scripts */
	/* After a failure with the files (ERR_IO), when --resume can finish: */
	const char *resume_note;    /* the report's "resume", or NULL */
	const char *resume_hint;    /* the hint on stderr, or NULL */
	json_t *sessions;           /* report.json's "sessions" (borrowed), or NULL */
	const char *redo_note;      /* the report's "resume" when a check is in error, or NULL */
	/* The previous run of the spec (runs_previous), to count new and resolved differences: */
	const char *prev_run;       /* its name, or NULL: no previous run */
	const char *prev_diff;      /* its diff file */
	json_t *prev_checks;        /* its history line's checks (borrowed) */
};

/*
 * Builds, from run.json, the spec as far as outputs need it: name, file,
 * reason, systems (driver, dsn_shown standing in for dsn), checks (name,
 * expect, repair, systems).
 */
int spec_from_run(struct spec *s, json_t *run, struct tally_err *err);

/*
 * Writes the outputs into the temporary directory, then publishes them
 * all at once (outdir_commit: report.json last), prints the summary
 * unless quiet, and sets *status to the exit status (0, 1). When any of
 * it fails, nothing of it is published: the run ends as report_fail()
 * says (a report.json saying "error" when one can be written, the errors
 * printed), *status is 2, and it returns -1 with the first error.
 *
 * A check with an error of its own (work_write_error: a table rewritten
 * under it) is reported with its error and no counts, contributes no
 * difference line and no repair statement, and makes *status 2; the
 * others are written as usual.
 */
int assemble_outputs(const struct assemble_in *in, int *status, struct tally_err *err);

#endif
