/*
 * engine/chunkrun_int.h
 *   Inside CHUNKRUN: what chunkrun.c lends chunkpush.c, so that a pushdown
 *   chunk streams its differing ranges exactly as stream mode streams a
 *   whole chunk, into the same part files. Not for other modules.
 */
#ifndef TALLY_CHUNKRUN_INT_H
#define TALLY_CHUNKRUN_INT_H

#include "chunkrun.h"
#include "diffout.h"
#include "merge.h"
#include "base/zfile.h"

/* A part's files as they are written: differences, repair records, leftovers. */
struct sink {
	struct diffout diff;
	struct zfile dz;
	struct repair_writer *rep;
	struct zfile left;
	bool has_left;
	bool absent;                /* expect: absent */
	size_t ncmp;
	uint64_t missing, extra, changed;
	uint64_t outside;           /* a workflow step's differences of keys outside the workflow's set */
	const struct wf_filter *wf;
	struct buf rec;
	struct buf wkey;
};

/*
 * A key range (lo, hi] inside a chunk: lo over its first nlo key columns,
 * hi over nhi (0: no such bound). Values borrowed.
 */
struct chunk_range {
	size_t nlo, nhi;
	const struct sqlval *lo, *hi;
};

/* Opens part's files under temporary names (left: with a leftovers file). */
int sink_open(struct sink *k, const struct chunk_env *env, size_t part, bool left, struct tally_err *err);
/* Finishes and renames them; the caller then commits the part. */
int sink_close(struct sink *k, const struct chunk_env *env, size_t part, struct tally_err *err);
/* Drops an unfinished part's files. */
void sink_abort(struct sink *k, const struct chunk_env *env, size_t part);

/*
 * Reads range r of chunk id on both sides (r NULL: the whole chunk),
 * merges the rows into k as stream mode does, and adds the merge's
 * counts and hashes to total. Calls on successive ranges in key order
 * write the same lines as one call over their union.
 */
int chunk_stream_range(const struct chunk_env *env, size_t id, const struct chunk_range *r, struct sink *k,
                       struct merge_stats *total, struct tally_err *err);

#endif
