/*
 * engine/chunkpush.h
 *   run -> CHUNKPUSH -> work: --mode pushdown for one chunk. Each side
 *   digests key ranges in its server (connector.h digest_rows: a count and
 *   two sums of hashes of a canonical row text both engines write byte
 *   for byte: MD5 slices, or PostgreSQL's hashtextextended when both sides
 *   are PostgreSQL); a range whose digests are equal is done without
 *   reading a row. The source's server first picks keys that split the chunk into
 *   parts of PUSH_PART_ROWS rows (split_range, a pass over the keys), or,
 *   for an integer key between two chunk bounds, they are computed
 *   (push_int_bounds: equal key spans, no statement);
 *   each side then digests every part in one pass (digest_rows with
 *   bounds, GROUP BY the part). Equal parts are done; a differing part is
 *   split again into PUSH_FANOUT parts and digested, until it holds at
 *   most PUSH_LEAF_ROWS rows; those are streamed and compared exactly as
 *   stream mode compares a chunk (chunkrun_int.h), into the same part
 *   files, so differences, reports and repair scripts are those of stream
 *   mode. Where most of four or more parts differ, the whole range is streamed
 *   at once. So an equal table costs one pass over the keys and one hash
 *   pass per side, and a few differing rows little more.
 *
 * Whether a check can run so is decided at planning (push_refusal,
 * push_fallback): pure functions of the plan.
 */
#ifndef TALLY_CHUNKPUSH_H
#define TALLY_CHUNKPUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "chunk.h"
#include "chunkrun.h"
#include "plan.h"

#define PUSH_PART_ROWS 1000     /* a chunk is digested in parts of this many rows, in one pass */
#define PUSH_FANOUT 16          /* parts a differing part is split into */
#define PUSH_LEAF_ROWS 64       /* a differing part this small (on both sides) is streamed */
#define PUSH_MAX_DEPTH 8        /* splits before a range is streamed whatever its size */
#define PUSH_MAX_PARTS 4096     /* boundaries computed for an integer key's chunk, at most */

/*
 * Does a compared column (or key column) keep pushdown from giving stream
 * mode's verdict? Appends the first such column and why to why ("column
 * 'price' (class float): ...") and returns true; false when every column
 * of p can be hashed in both servers. Pure.
 */
bool push_refusal(const struct plan *p, struct buf *why);

/*
 * Why a check that could be hashed still streams (a static string), or
 * NULL: no key (a multiset), or a key whose order differs between the
 * servers (the chunk plan needs reconciling), so that a range is not the
 * same rows on both sides. Pure.
 */
const char *push_fallback(const struct plan *p, const struct chunkplan *cp);

/*
 * The hash a check's digests use (connector.h enum digest_hash): the first
 * of DIGEST_PG_HASHTEXT, DIGEST_MD5 that both drivers compute
 * (conn_ops.digest_hashes), since a digest is only comparable with one of
 * the same hash. DIGEST_HASHES when they share none, or a driver cannot
 * digest at all. Pure.
 */
enum digest_hash push_hash_pick(const struct conn_ops *a, const struct conn_ops *b);

/* Should a differing range of rows[0] and rows[1] rows, split depth times already, be streamed now? */
bool push_stream_now(const uint64_t rows[2], unsigned depth);

/*
 * An integer key's chunk (lo, hi] of about rows rows cut into parts of at
 * most 7/8 PUSH_PART_ROWS rows (dense keys) of equal key span: writes the boundaries, in
 * increasing order, each above lo and below hi, to out (at most cap) and
 * returns how many; 0 for one part. Pure.
 */
size_t push_int_bounds(int64_t lo, int64_t hi, double rows, int64_t *out, size_t cap);

/* The step that splits rows into PUSH_FANOUT parts (at least 1). */
uint64_t push_step(uint64_t rows);

/* Compares chunk id by digests, streaming only what differs, and commits its part. */
int chunk_push(const struct chunk_env *env, size_t id, struct part_result *res, struct tally_err *err);

#endif
