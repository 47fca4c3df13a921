/*
 * engine/sorter.h
 *   stream -> SORTER -> merge: puts one side's rows in bytewise key order
 *   when the server's own order is not (a text key under a linguistic or
 *   case-insensitive collation, a MariaDB UUID). The server reads the
 *   chunk's key range in whatever order is cheapest for it (no ORDER BY,
 *   scan_req.unordered); tally sorts, within a
 *   memory budget: rows beyond it are sorted into runs, written to zstd
 *   files, and merged back. So a chunk never turns into a server-side sort
 *   of the whole table, and memory stays bounded whatever the chunk size.
 *
 * Use: sorter_add() every row, sorter_finish(), then hand sorter.src to
 * the merge. Rows come back with their raw values (struct rowrec), in
 * bytewise key order; rows with equal keys in the order they were added
 * while they stay in memory. sorter_reset() (or sorter_renew()) readies
 * the same sorter, and its memory, for the next batch.
 */
#ifndef TALLY_SORTER_H
#define TALLY_SORTER_H

#include <stddef.h>
#include <stdint.h>

#include "merge.h"
#include "rowrec.h"

struct sorter;

/*
 * dir: where runs go (it must exist); budget: bytes of rows held in memory
 * before one is written; ncmp: compared columns of the rows; side: for
 * messages.
 */
struct sorter *sorter_new(const char *dir, size_t budget, size_t ncmp, const char *side);

/* Adds a row (copied). */
int sorter_add(struct sorter *s, const struct mrow *m, struct tally_err *err);

/* Ends adding; the rows can now be read through sorter_source(). */
int sorter_finish(struct sorter *s, struct tally_err *err);

/* The sorted rows as a merge source, valid until sorter_free(). */
struct msource *sorter_source(struct sorter *s);

/* How many runs went to disk (for tests and the record). */
size_t sorter_runs(const struct sorter *s);

/*
 * Empties s for another batch of rows: removes its runs and forgets its
 * rows, but keeps its memory, so that a worker sorting chunk after chunk
 * allocates (and the kernel maps) its buffers once. The source from
 * sorter_source() stays the same pointer and reads nothing until the next
 * sorter_finish().
 */
void sorter_reset(struct sorter *s);

/*
 * s reset when it was made with the same dir, budget and ncmp (side is
 * taken as given), otherwise s freed and a new sorter; s may be NULL.
 */
struct sorter *sorter_renew(struct sorter *s, const char *dir, size_t budget, size_t ncmp, const char *side);

/* Removes the runs and frees everything; accepts NULL. */
void sorter_free(struct sorter *s);

#endif
