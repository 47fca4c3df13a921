/*
 * engine/diffout.h
 *   merge -> DIFFOUT: writes each difference as one JSON line to the
 *   run's diff.ndjson.zst. A line is
 *     {"check": "orders", "kind": "missing"|"extra"|"changed",
 *      "key": {"id": 17},
 *      "columns": ["status"],            changed: the columns that differ
 *      "source": {"status": "paid"},     missing, changed: source values
 *      "target": {"status": "open"}}     extra, changed: target values
 *   Values render by type: integers as JSON numbers (strings beyond
 *   2^63), booleans as true/false, NULL as null, binary as "\\x" and hex,
 *   everything else as the server's text in a JSON string (decimals keep
 *   their digits: "1.50"). Source objects use source column names, target
 *   objects target names; key and columns use source names.
 */
#ifndef TALLY_DIFFOUT_H
#define TALLY_DIFFOUT_H

#include <jansson.h>

#include "merge.h"
#include "plan.h"
#include "base/zfile.h"

struct diffout {
	struct zfile *z;            /* borrowed */
	const struct plan *plan;    /* borrowed */
	const char *check;          /* borrowed */
	uint64_t lines;
};

void diffout_init(struct diffout *d, struct zfile *z, const struct plan *plan, const char *check);

/*
 * A row of a multiset (match: multiset) whose copies differ in number:
 *   {"check", "kind": "missing"|"extra", "key": null, "columns": [],
 *    "copies": 2, "source_copies": 3, "target_copies": 1,
 *    "source": {...} (missing) or null, "target": {...} (extra) or null}
 */
int diffout_copies(struct diffout *d, enum diff_kind kind, const struct mrow *row, uint64_t source_copies,
                   uint64_t target_copies, uint64_t copies, struct tally_err *err);

/* merge_sink.diff; ctx is the struct diffout, rows come from struct stream. */
int diffout_row(void *ctx, enum diff_kind kind, const struct mrow *src, const struct mrow *tgt,
                const uint8_t *changed, struct tally_err *err);

/*
 * The line diffout_row writes, as a new JSON object (owned by the caller):
 * for comparing a difference found again with the one first written.
 */
json_t *diffout_line(const struct plan *p, const char *check, enum diff_kind kind, const struct mrow *src,
                     const struct mrow *tgt, const uint8_t *changed);
/* Writes a line built by the caller (consumed). */
int diffout_put(struct diffout *d, json_t *line, struct tally_err *err);

/* A new JSON value for one raw value of a column read as cc says. */
json_t *diffout_value(const struct coldesc *cd, const struct canon_col *cc, const char *v, size_t len);

/* Appends a short, human rendering of a row's key: "id=17, region='eu'". */
void diffout_key_text(struct buf *out, const struct plan *p, int side, const struct mrow *row);

#endif
