/*
 * engine/repair.h
 *   merge -> REPAIR: turns differences into repair.<system>.sql and
 *   rollback.<system>.sql, change orders for a reviewer to approve and an
 *   operator to run. tally itself never writes to a database.
 *
 * What a script does: in one transaction, for each step (INSERT, UPDATE or
 * DELETE of one check on one table), it stages the rows in a temporary
 * table that copies the target's column types, then runs one guarded block
 * (written by the dialect, connector.h struct script_ops) that locks the
 * rows, checks that every row still holds the values tally read (every
 * column, NULL-safe) or that an inserted key is still absent, writes, and
 * checks the row count. Any mismatch raises an error naming the check and
 * the key, and nothing is changed.
 *
 * Order: INSERT steps parents first, then UPDATE steps, then DELETE steps
 * children first, following the foreign keys among the tables one script
 * writes. The rollback script holds the inverse steps (DELETE what was
 * inserted, INSERT the before-images of what was deleted, UPDATE back every
 * column of what was updated), guarded by what the repair wrote.
 *
 * Memory: rows go to temporary fragment files as they come from the merge;
 * scripts are assembled by copying those files, so memory does not depend
 * on the number of repaired rows. Only a table written by more than one
 * check keeps a small digest per repaired row, to drop a repair two checks
 * both ask for and to refuse two that disagree.
 *
 * The header records the XXH3-128 of the body (everything after the line
 * "-- end of tally header"), which report.json repeats, so a reviewer can
 * tell that the script run is the script approved.
 */
#ifndef TALLY_REPAIR_H
#define TALLY_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "../connectors/connector.h"
#include "merge.h"
#include "outdir.h"
#include "plan.h"
#include "spec.h"

struct repair;

/* What a check's repair came to, for report.json and the summary. */
struct repair_result {
	const char *system;         /* borrowed from the spec */
	char file[300];             /* "repair.billing.sql" ("" when none was written) */
	char rollback[300];
	char xxh128[33];            /* of the repair script's body */
	char rollback_xxh128[33];
	uint64_t inserts, updates, deletes;     /* rows, this check's share */
	uint64_t duplicates;        /* rows another check of the script repairs the same way */
	const char *none;           /* why there is no script (static or owned by repair) */
	bool failed;                /* none because the repair could not be written exactly */
};

struct repair *repair_new(const struct spec *spec, const struct outdir *out, bool compress);
void repair_free(struct repair *r);

/*
 * Registers a check's plan before any row is read, so that tables written
 * by more than one check are known. plan must live until repair_free().
 */
void repair_note_plan(struct repair *r, const struct plan *p, const struct spec_system *sys,
                      const struct conn_ops *ops);

/*
 * Begins a check: sets *ctx to pass to repair_row, or NULL when the check
 * repairs nothing (repair: none, or the written side is a query).
 */
int repair_begin(struct repair *r, const struct plan *p, void **ctx, struct tally_err *err);

/* merge_sink.diff: ctx from repair_begin. */
int repair_row(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
               const uint8_t *changed, struct tally_err *err);

/* Ends the check begun last. */
int repair_end(struct repair *r, struct tally_err *err);

/*
 * Writes and publishes every system's repair and rollback scripts. A
 * system whose repair cannot be written exactly (a value its columns
 * cannot hold) gets no script, and its checks' results say why.
 */
int repair_finish(struct repair *r, const char *generated_at, struct tally_err *err);

/* The result for a check (by plan), or NULL when it was never begun. */
const struct repair_result *repair_result_of(const struct repair *r, const struct plan *p);

#endif
