/*
 * engine/repair.h
 *   merge -> REPAIR -> scripts: turns differences into repair.<system>.sql
 *   and rollback.<system>.sql, change orders for a reviewer to approve and
 *   an operator to run. tally itself never writes to a database.
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
 * Two stages. While chunks are compared, in parallel, a struct
 * repair_writer per part turns each difference into a record holding the
 * SQL literals of its row (conversion needs the live plan). Afterwards
 * repair_assemble() reads every part's records in chunk order, groups
 * them into steps, and writes the scripts; it needs only struct
 * repair_info, which run.json carries, so tally merge can assemble the
 * parts of several shards. Memory does not depend on the number of
 * repaired rows; only a table written by more than one check keeps a
 * small digest per row (and the literals of the columns it writes), to
 * write once a repair two checks both ask for, to combine updates of other
 * columns of one row, and to withhold two that disagree.
 *
 * The header records the XXH3-128 of the body (everything after the line
 * "-- end of tally header"), which report.json repeats, so a reviewer can
 * tell that the script run is the script approved.
 */
#ifndef TALLY_REPAIR_H
#define TALLY_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../connectors/connector.h"
#include "base/buf.h"
#include "merge.h"
#include "outdir.h"
#include "plan.h"
#include "spec.h"

/* What repairing one check takes: the written table and its column roles. */
struct repair_info {
	char *check;                /* check name */
	char *system;               /* the written system */
	char *driver;
	const struct conn_ops *ops;
	struct tabdesc t;           /* the written table, owned */
	size_t *key, nkey;          /* key columns of t */
	size_t *img, nimg;          /* every non-generated column: the before-image */
	size_t *ins, nins;          /* the columns an INSERT writes */
	size_t *cmp, ncmp;          /* the column of t of each compared column */
	/* Writers only, from a live plan; NULL when read from run.json. */
	const struct plan *plan;
	size_t *ins_pos;            /* each INSERT column's place in the other side's row */
	struct canon_col *ins_canon;
	const struct tz **ins_tz;   /* the written column's zone when it is naive local time, else NULL */
};

/*
 * From a built plan whose repair_side >= 0; the plan must outlive the
 * info's writers.
 */
void repair_info_from_plan(struct repair_info *ri, const struct plan *p, const char *system,
                           const struct conn_ops *ops);
json_t *repair_info_json(const struct repair_info *ri);
int repair_info_from_json(struct repair_info *ri, json_t *j, struct tally_err *err);
void repair_info_release(struct repair_info *ri);

/* ---- writing one part's records --------------------------------------- */

struct repair_writer;

/* Writes records to path (zstd). */
struct repair_writer *repair_writer_new(const struct repair_info *ri, const char *path,
                                        struct tally_err *err);
/*
 * merge_sink.diff, ctx the writer. A value the written column cannot hold
 * exactly is not an error here: the writer records why, and assembling
 * then writes no script for that system.
 */
int repair_row(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
               const uint8_t *changed, struct tally_err *err);
/*
 * A workflow step's record that follows is the repair of workflow key
 * wfkey (engine/wfkeys.h's encoding): assembling may leave it out (a key
 * done out of order, repair_asm.withhold).
 */
int repair_tag(struct repair_writer *w, const char *wfkey, size_t len, struct tally_err *err);
/*
 * merge_sink.copies for match: multiset: n copies of row to insert into or
 * delete from the written side, which holds the copies tally counted.
 */
int repair_copies(struct repair_writer *w, enum diff_kind kind, const struct mrow *row, uint64_t source_copies,
                  uint64_t target_copies, uint64_t n, struct tally_err *err);
/* Finishes the file; then frees. */
int repair_writer_close(struct repair_writer *w, struct tally_err *err);
/* Frees without finishing (the file is left incomplete). */
void repair_writer_free(struct repair_writer *w);

/* ---- assembling the scripts ------------------------------------------- */

/* What a check's repair came to, for report.json and the summary. */
struct repair_result {
	const char *system;         /* borrowed */
	char file[300];             /* "repair.billing.sql" ("" when none was written) */
	char rollback[300];
	char xxh128[33];            /* of the repair script's body */
	char rollback_xxh128[33];
	uint64_t inserts, updates, deletes;     /* rows, this check's share */
	uint64_t duplicates;        /* rows another check of the script repairs the same way */
	uint64_t generated;         /* changed rows whose differences are all in generated columns */
	const char *none;           /* why there is no script (borrowed or owned by the caller) */
	bool failed;                /* none because the repair could not be written exactly */
	bool withheld;              /* failed: it conflicts with another check's repair of one row */
	char *failure;              /* owned: the reason when failed */
};

struct repair_asm {
	struct outdir *out;
	const struct spec *spec;    /* name, file, reason, ticket; systems for driver and dsn_shown */
	size_t nchecks;
	struct repair_info **info;  /* per check; NULL when it repairs nothing */
	char ***parts;              /* per check: its .rep files in chunk order */
	size_t *nparts;
	bool compress;
	const char *generated_at;
	/*
	 * A workflow step's records tagged with a workflow key (repair_tag) for
	 * which this returns true are left out; NULL: none are.
	 */
	bool (*withhold)(void *ctx, size_t check, const char *wfkey);
	void *withhold_ctx;
};

/*
 * The line a script prints at its very end, after its COMMIT worked:
 * "tally: repair repair.app.sql applied: 3 rows (1 inserted, 1 updated,
 * 1 deleted)" ("tally: rollback rollback.app.sql ..." for a rollback);
 * file is the name the client runs (without .zst).
 * Characters of file other than printable ASCII, quotes and backslashes
 * become '_'. Appended to out.
 */
void repair_success_line(struct buf *out, bool rollback, const char *file, uint64_t inserted, uint64_t updated,
                         uint64_t deleted);

/*
 * Assembles every system's repair and rollback scripts into the output's
 * temporary directory (pending: outdir_commit publishes them) and
 * fills res[i] for every check with info. A system whose repair cannot be
 * written exactly gets no script, and its checks' results say why.
 */
int repair_assemble(const struct repair_asm *a, struct repair_result *res, struct tally_err *err);

#endif
