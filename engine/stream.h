/*
 * engine/stream.h
 *   connector -> STREAM -> merge: one side's rows, canonicalized and
 *   hashed. Wraps a connector scan as a struct msource for the merge.
 *
 * A stream owns one reusable buffer for the current row's canonical bytes
 * and borrows the connector's row; both stay valid until the next call.
 * Memory does not grow with the number of rows.
 */
#ifndef TALLY_STREAM_H
#define TALLY_STREAM_H

#include <stdint.h>

#include "../connectors/connector.h"
#include "merge.h"
#include "plan.h"

struct stream {
	struct conn *conn;          /* borrowed */
	const struct plan *plan;    /* borrowed */
	int side;
	const char *system;         /* borrowed: spec system name */
	bool open;
	struct rawrow *raw;         /* current row, borrowed from the connector */
	struct buf bytes;
	uint32_t *off;
	struct mrow row;
	uint64_t rows;
	struct msource src;         /* ready to hand to merge_run() */
};

/* A part of the key range, and a page size; NULL in stream_open: everything. */
struct scan_range {
	size_t nlo, nhi;
	const struct sqlval *lo, *hi;
	uint64_t limit;
	bool unordered;             /* any order will do (scan_req.unordered) */
	const char *and_where;      /* a condition ANDed with the check's where (bykey.h), or NULL */
};

/* Starts streaming side `side` of plan p over c, within range (or all). */
int stream_open(struct stream *s, struct conn *c, const struct plan *p, int side,
                const char *system, const struct scan_range *range, struct tally_err *err);

/* msource.next: ctx is the struct stream. */
int stream_next(void *ctx, const struct mrow **row, struct tally_err *err);

/* Ends the scan (finished or not) and frees the stream's memory. */
void stream_close(struct stream *s);

#endif
